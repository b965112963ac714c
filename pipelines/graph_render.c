/* Render graph: recorded tracks (files) composited on the timeline of
 * their manifest, not live, as fast as the machine goes.
 *
 *   file -> decodebin -> [retime] -> [label] ---------> compositor -> canvas -> encode -> outputs
 *   placeholder (colour, initials; 5 fps) ------------> compositor
 *   background (colour; as many frames as the span) -> compositor
 *   file -> decodebin -> [retime] -> convert ---------> audiomixer -> encode -> outputs
 *   silence (as long as the span) --------------------> audiomixer
 *
 * The scene is decided before anything runs (compositor/schedule.c: the
 * live compositor over the recording's timeline) and applied by control
 * bindings on the mixers' pads, which the mixers sync at each output
 * frame's time: every frame shows exactly the scene of its time, however
 * fast or slow the inputs decode, so two renders of the same inputs place
 * the same tiles in the same frames. Each file is decoded by its own
 * streaming threads (decoding runs in parallel), and every mixer pad
 * exists before the start: a non-live mixer waits for each of its inputs,
 * so none starts late.
 *
 * Each input's buffers are put on the output's timeline by a probe where
 * the decoded stream enters its branch: the file's time plus its offset
 * on the timeline, minus the trim start (audio also minus the encoder's
 * priming, see egw_encode_audio_delay); what falls before the start is
 * dropped, and the stream ends at the trim end. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "compositor/compositor.h"
#include "pipelines/encode.h"
#include "pipelines/graph.h"
#include "pipelines/render_int.h"
#include "pipelines/render_levels.h"

GST_DEBUG_CATEGORY_STATIC(egw_render_debug);
#define GST_CAT_DEFAULT egw_render_debug

#define LEVEL_STEP_MS 100
#define TICK_MS 100
#define SILENCE_SAMPLES 1024

static GstElement *add(struct render *g, const char *factory, char *errstr, size_t errstr_size)
{
	return egw_graph_make(g->bin, factory, errstr, errstr_size);
}

/* ---- the canvas, the mix, the encoders ---- */

/* A mixer's output (its streaming thread): how far it got, and its end
 * at the end of the span, whatever an input still holds (a mixer goes on
 * until every input's last frame has run its duration). */
static GstPadProbeReturn reached(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct render *g = user;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	if (GST_BUFFER_PTS_IS_VALID(buf) && GST_BUFFER_PTS(buf) >= g->span_ns) {
		if (!g_object_get_data(G_OBJECT(pad), "egw-ended")) {
			g_object_set_data(G_OBJECT(pad), "egw-ended", pad);
			gst_pad_push_event(pad, gst_event_new_eos());
		}
		gst_buffer_unref(buf);
		GST_PAD_PROBE_INFO_FLOW_RETURN(info) = GST_FLOW_EOS;
		return GST_PAD_PROBE_HANDLED;
	}
	if (GST_BUFFER_PTS_IS_VALID(buf)) {
		GstClockTime end = GST_BUFFER_PTS(buf) + (GST_BUFFER_DURATION_IS_VALID(buf)
		                                                  ? GST_BUFFER_DURATION(buf)
		                                                  : 0);
		g_mutex_lock(&g->lock);
		if (end > g->reached_ns)
			g->reached_ns = end;
		g_mutex_unlock(&g->lock);
	}
	return GST_PAD_PROBE_OK;
}

/* The pacer of a mixer: the background (or, black, the compositor's own
 * fill behind a hidden 16x16 picture) or silence, exactly as long as the
 * span; the output is that long whatever the inputs. */
static egw_err_t pacer(struct render *g, GstElement *mixer, egw_media_t media, char *errstr,
                       size_t errstr_size)
{
	int video = media == EGW_MEDIA_VIDEO;
	GstElement *src = add(g, video ? "videotestsrc" : "audiotestsrc", errstr, errstr_size);
	GstElement *caps = src ? add(g, "capsfilter", errstr, errstr_size) : NULL;
	int own_fill = video && g->cp.background == 0x000000;
	GstCaps *c;

	if (!caps)
		return EGW_ERR_MEDIA;
	if (video) {
		gst_util_set_object_arg(G_OBJECT(src), "pattern", "solid-color");
		g_object_set(src, "foreground-color", 0xff000000u | g->cp.background, "num-buffers",
		             (gint)gst_util_uint64_scale_ceil(g->span_ns, g->enc.fps, GST_SECOND),
		             NULL);
		c = egw_encode_video_caps(&g->enc);
		if (own_fill)
			gst_caps_set_simple(c, "width", G_TYPE_INT, 16, "height", G_TYPE_INT, 16,
			                    NULL);
	} else {
		gst_util_set_object_arg(G_OBJECT(src), "wave", "silence");
		g_object_set(src, "samplesperbuffer", SILENCE_SAMPLES, "num-buffers",
		             (gint)gst_util_uint64_scale_ceil(g->span_ns, 48000,
		                                              (guint64)SILENCE_SAMPLES * GST_SECOND),
		             NULL);
		c = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate",
		                        G_TYPE_INT, 48000, "channels", G_TYPE_INT, 2, NULL);
	}
	g_object_set(caps, "caps", c, NULL);
	gst_caps_unref(c);
	if (!gst_element_link_many(src, caps, mixer, NULL)) {
		snprintf(errstr, errstr_size, "cannot link the %s pacer", egw_media2str(media));
		return EGW_ERR_MEDIA;
	}
	if (own_fill) {
		GstPad *out = gst_element_get_static_pad(caps, "src");
		GstPad *mixpad = gst_pad_get_peer(out);
		g_object_set(mixpad, "alpha", 0.0, NULL);
		gst_object_unref(mixpad);
		gst_object_unref(out);
	}
	g_ptr_array_add(g->sources, gst_object_ref(src));
	return EGW_OK;
}

/* mixer -> [canvas format] -> encoder -> the session's outputs. */
static egw_err_t encode(struct render *g, GstElement *mixer, egw_media_t media, char *errstr,
                        size_t errstr_size)
{
	const char *codec = media == EGW_MEDIA_VIDEO ? g->enc.video_codec : g->enc.audio_codec;
	GstElement *from = mixer;
	GstPad *sink = NULL, *src = NULL, *out;
	egw_err_t err;

	if (media == EGW_MEDIA_VIDEO) {
		GstElement *pin = add(g, "capsfilter", errstr, errstr_size);
		GstCaps *c = egw_encode_video_caps(&g->enc);
		if (!pin)
			return EGW_ERR_MEDIA;
		g_object_set(pin, "caps", c, NULL);
		gst_caps_unref(c);
		if (!gst_element_link(mixer, pin)) {
			snprintf(errstr, errstr_size, "cannot link the canvas to its format");
			return EGW_ERR_MEDIA;
		}
		from = pin;
	}
	out = gst_element_get_static_pad(from, "src");
	gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, reached, g, NULL);
	if (!(err = egw_encode_build(g->bin, &g->enc, media, &sink, &src, errstr, errstr_size))) {
		if (gst_pad_link(out, sink) != GST_PAD_LINK_OK) {
			snprintf(errstr, errstr_size, "cannot link the %s mix to its encoder", codec);
			err = EGW_ERR_MEDIA;
		} else {
			err = egw_session_add_stream(g->s, media, codec, src, errstr, errstr_size);
		}
	}
	if (sink)
		gst_object_unref(sink);
	if (src)
		gst_object_unref(src);
	gst_object_unref(out);
	return err;
}

static egw_err_t build(struct render *g, char *errstr, size_t errstr_size)
{
	egw_err_t err;

	if (g->enc.video_codec) {
		if (!(g->vmix = add(g, "compositor", errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		gst_util_set_object_arg(G_OBJECT(g->vmix), "background", "black");
		if ((err = pacer(g, g->vmix, EGW_MEDIA_VIDEO, errstr, errstr_size)) ||
		    (err = encode(g, g->vmix, EGW_MEDIA_VIDEO, errstr, errstr_size)))
			return err;
	}
	if (g->enc.audio_codec) {
		if (!(g->amix = add(g, "audiomixer", errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		if ((err = pacer(g, g->amix, EGW_MEDIA_AUDIO, errstr, errstr_size)) ||
		    (err = encode(g, g->amix, EGW_MEDIA_AUDIO, errstr, errstr_size)))
			return err;
	}
	g->inputs = g_new0(struct rinput, g->rp->n_tracks);
	for (size_t i = 0; i < g->rp->n_tracks; i++) {
		const egw_render_track_t *t = &g->rp->tracks[i];
		struct rinput *in = &g->inputs[g->n_inputs];
		if ((t->media == EGW_MEDIA_VIDEO && !g->vmix) ||
		    (t->media == EGW_MEDIA_AUDIO && !g->amix))
			continue;
		in->t = t;
		in->lane = &g->sched->lanes[i];
		g->n_inputs++;
		if ((err = egw_render_input_build(g, in, errstr, errstr_size)))
			return err;
	}
	for (size_t i = g->rp->n_tracks; g->vmix && i < g->sched->n_lanes; i++)
		if ((err = egw_render_placeholder(g, &g->sched->lanes[i], errstr, errstr_size)))
			return err;
	return EGW_OK;
}

/* ---- the schedule ---- */

/* One line per key (debug), e.g. "schedule: video a/1 (Alice) at 2.000 s:
 * 642,181 638x358 z 0" or "... hidden". */
static void log_schedule(struct render *g)
{
	EGW_LOG(g->log_id, INFO, "render schedule: %zu scene changes, %zu of the speaker",
	        g->sched->n_changes, g->sched->n_speaker_changes);
	if (!egw_log_enabled(EGW_LOG_DEBUG))
		return;
	for (size_t i = 0; i < g->sched->n_lanes; i++) {
		const egw_schedule_lane_t *l = &g->sched->lanes[i];
		const char *kind = !l->track_id
		                           ? "placeholder"
		                           : egw_media2str((egw_media_t)g->rp->tracks[i].media);
		for (size_t k = 0; k < l->n_keys; k++) {
			const egw_schedule_key_t *key = &l->keys[k];
			if (!key->shown)
				EGW_LOG(g->log_id, DEBUG, "schedule: %s %s (%s) at %.3f s: hidden",
				        kind, l->track_id ? l->track_id : l->participant_id,
				        l->track_id ? g->rp->tracks[i].participant_name
				                    : l->participant_id,
				        key->at_ms / 1000.0);
			else
				EGW_LOG(g->log_id, DEBUG,
				        "schedule: %s %s (%s) at %.3f s: %d,%d %dx%d z %d gain "
				        "%.2f",
				        kind, l->track_id ? l->track_id : l->participant_id,
				        l->track_id ? g->rp->tracks[i].participant_name
				                    : l->participant_id,
				        key->at_ms / 1000.0, key->x, key->y, key->width,
				        key->height, key->z, key->gain);
		}
	}
}

static egw_err_t schedule(struct render *g, char *errstr, size_t errstr_size)
{
	const egw_render_plan_t *rp = g->rp;
	egw_schedule_track_t *st = g_new0(egw_schedule_track_t, rp->n_tracks + 1);
	double **pub = g_new0(double *, rp->n_tracks + 1);
	egw_render_levels_t *levels = NULL;
	egw_compositor_options_t opt = {0};
	egw_layout_t *layout = NULL;
	egw_err_t err;

	if ((err = egw_layout_parse(g->cp.layout ? g->cp.layout : "grid", "source.layout",
	                            g->enc.width, g->enc.height, &layout, errstr, errstr_size)))
		goto out;
	/* the layouts that follow the active speaker need the levels first */
	if ((egw_layout_kind(layout) == EGW_LAYOUT_SPEAKER ||
	     egw_layout_kind(layout) == EGW_LAYOUT_SINGLE_SPEAKER) &&
	    (err = egw_render_levels_measure(rp, LEVEL_STEP_MS, g->log_id, &levels, errstr,
	                                     errstr_size)))
		goto out;
	for (size_t i = 0; i < rp->n_tracks; i++) {
		const egw_render_track_t *t = &rp->tracks[i];
		size_t n = 0;
		/* publications on the output's timeline: shifted by the trim */
		pub[i] = g_new0(double, 2 * t->n_published + 2);
		for (size_t k = 0; k < t->n_published; k++) {
			double a = t->published[2 * k] - rp->start_s;
			double b = t->published[2 * k + 1] - rp->start_s;
			if (b <= 0 || a >= rp->end_s - rp->start_s)
				continue;
			pub[i][2 * n] = a < 0 ? 0 : a;
			pub[i][2 * n + 1] = b;
			n++;
		}
		st[i] = (egw_schedule_track_t){
		        .track = {t->track_id, t->participant_id, t->participant_name,
		                  (egw_media_t)t->media, t->screen},
		        .published = pub[i],
		        .n_published = n,
		};
		if (levels && levels->db[i]) {
			/* levels are on the timeline from 0: skip the trimmed part */
			size_t skip = (size_t)(rp->start_s * 1000 / LEVEL_STEP_MS);
			st[i].levels_db = skip < levels->n[i] ? levels->db[i] + skip : NULL;
			st[i].n_levels = skip < levels->n[i] ? levels->n[i] - skip : 0;
		}
	}
	opt.width = g->enc.video_codec ? g->enc.width : 0;
	opt.height = g->enc.video_codec ? g->enc.height : 0;
	opt.labels = g->cp.labels;
	opt.mix = (egw_mix_mode_t)g->cp.mix_mode;
	opt.mix_participant = g->cp.mix_participant;
	err = egw_schedule_build(&opt, layout, st, rp->n_tracks, LEVEL_STEP_MS, TICK_MS,
	                         (uint64_t)(g->span_ns / GST_MSECOND), &g->sched);
	layout = NULL;
	if (err)
		snprintf(errstr, errstr_size, "cannot lay out the render (%s)", egw_err2code(err));
	else
		log_schedule(g);
out:
	egw_layout_free(layout);
	egw_render_levels_free(levels);
	for (size_t i = 0; i < rp->n_tracks; i++)
		g_free(pub[i]);
	g_free(pub);
	g_free(st);
	return err;
}

/* ---- the graph's operations ---- */

static void rg_free(egw_graph_t *graph);

static egw_graph_t *rg_create(egw_session_t *s, GstBin *bin, const egw_media_plan_t *plan,
                              char *errstr, size_t errstr_size)
{
	struct render *g = g_new0(struct render, 1);

	if (!egw_render_debug)
		GST_DEBUG_CATEGORY_INIT(egw_render_debug, "egw-render", 0, "render graph");
	g->s = s;
	g->bin = bin;
	g->log_id = egw_session_log_id(s);
	g->enc = plan->encode;
	g->enc.offline = 1;
	g->cp = plan->composite;
	g->rp = plan->render;
	g->sources = g_ptr_array_new_with_free_func(gst_object_unref);
	g_mutex_init(&g->lock);
	egw_encode_defaults(&g->enc);
	if (!g->rp || g->rp->end_s <= g->rp->start_s) {
		snprintf(errstr, errstr_size, "nothing to render");
		goto fail;
	}
	g->span_ns = (GstClockTime)llround((g->rp->end_s - g->rp->start_s) * GST_SECOND);
	if (schedule(g, errstr, errstr_size) || build(g, errstr, errstr_size))
		goto fail;
	EGW_LOG(g->log_id, INFO, "rendering %zu tracks, %.3f s (from %.3f s), %dx%d@%d %s, audio %s",
	        g->n_inputs, (double)g->span_ns / GST_SECOND, g->rp->start_s, g->enc.width,
	        g->enc.height, g->enc.fps, g->enc.video_codec ? g->enc.video_codec : "none",
	        g->enc.audio_codec ? g->enc.audio_codec : "none");
	return (egw_graph_t *)g;
fail:
	rg_free((egw_graph_t *)g);
	return NULL;
}

static egw_err_t rg_track_added(egw_graph_t *graph, const egw_track_t *t, char *errstr,
                                size_t errstr_size)
{
	snprintf(errstr, errstr_size, "a render takes no live tracks");
	return EGW_ERR_NOT_SUPPORTED;
}

static void rg_track_pad(egw_graph_t *graph, const egw_track_t *t, GstPad *pad)
{
	egw_graph_swallow(pad);
}

static void rg_track_removed(egw_graph_t *graph, const egw_track_t *t)
{
}

/* A stop before the end: every input and pacer ends where it is (the
 * outputs are finalised with what was rendered). */
static int rg_finish(egw_graph_t *graph)
{
	struct render *g = (struct render *)graph;
	g_atomic_int_set(&g->stopping, 1);
	for (guint i = 0; i < g->sources->len; i++)
		gst_element_send_event(g_ptr_array_index(g->sources, i), gst_event_new_eos());
	return 1;
}

static double rg_duration_s(egw_graph_t *graph)
{
	struct render *g = (struct render *)graph;
	GstClockTime t;
	g_mutex_lock(&g->lock);
	t = g->reached_ns;
	g_mutex_unlock(&g->lock);
	return (double)t / GST_SECOND;
}

/* A file that fails while it is read (damaged inside; a file that is cut
 * short just ends): its track ends there and the render goes on with
 * what it had; the error names the track. */
static int rg_element_error(egw_graph_t *graph, GstObject *obj, const char *message)
{
	struct render *g = (struct render *)graph;

	for (size_t i = 0; i < g->n_inputs; i++) {
		struct rinput *in = &g->inputs[i];
		int mine = 0;
		for (size_t k = 0; k < 2 && k < in->n_els && !mine; k++) /* filesrc, decodebin */
			mine = obj == GST_OBJECT(in->els[k]) ||
			       gst_object_has_as_ancestor(obj, GST_OBJECT(in->els[k]));
		if (!mine)
			continue;
		EGW_LOG(g->log_id, WARN, "%s (%s): %s; rendered as far as it could be read",
		        in->t->track_id, in->t->path, message);
		egw_render_end_branch(in);
		return 1;
	}
	return 0;
}

static void rg_free(egw_graph_t *graph)
{
	struct render *g = (struct render *)graph;
	for (size_t i = 0; i < g->n_inputs; i++)
		if (g->inputs[i].mixpad)
			gst_object_unref(g->inputs[i].mixpad);
	g_free(g->inputs);
	g_ptr_array_unref(g->sources);
	egw_schedule_free(g->sched);
	g_mutex_clear(&g->lock);
	g_free(g);
}

const egw_graph_ops_t egw_graph_render = {
        .name = "render",
        .create = rg_create,
        .track_added = rg_track_added,
        .track_pad = rg_track_pad,
        .track_removed = rg_track_removed,
        .finish = rg_finish,
        .duration_s = rg_duration_s,
        .element_error = rg_element_error,
        .free = rg_free,
};
