/* Composite graph (room and track composites): every track decoded, laid
 * out on a canvas by the compositor's scene (compositor/compositor.h),
 * audio mixed, both encoded once and handed to the outputs (see
 * composite_int.h for the shape).
 *
 * The canvas and the mix are paced by live sources of their own (the
 * background colour, silence), so the output runs at a constant rate from
 * its first frame to its last whoever is in the room; tracks are placed on
 * that timeline by their running time (the jitter buffer's lip-synced
 * time), which keeps every participant in sync. The outputs begin with the
 * first track's media ("the gate"): a room that never fills writes
 * nothing. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/composite_int.h"
#include "pipelines/encode.h"
#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC(egw_composite_debug);
#define GST_CAT_DEFAULT egw_composite_debug

/* The mixers wait this long for a frame or a sample of a given time
 * before they produce it without: the source's jitter buffer (200 ms) plus
 * decoding. Inputs plugged in later report their latency only then. */
#define MIX_LATENCY_NS (260 * GST_MSECOND)
#define TICK_MS 100 /* the active speaker is re-evaluated this often */

/* ---- building ---- */

static GstElement *add(struct composite *g, const char *factory, char *errstr, size_t errstr_size)
{
	return egw_graph_make(g->bin, factory, errstr, errstr_size);
}

/* The canvas is drawn in the encoder's own picture format: a capsfilter
 * after the compositor, so that it converts each input to it (a scaling
 * only, for what the decoders give) instead of following its inputs'
 * colours and having the whole canvas converted again for the encoder.
 * Returns the pad the canvas leaves by (a new reference), NULL on error. */
static GstPad *canvas_pin(struct composite *g, GstElement *mixer, char *errstr,
                          size_t errstr_size)
{
	GstElement *pin = add(g, "capsfilter", errstr, errstr_size);
	GstCaps *c;

	if (!pin)
		return NULL;
	c = egw_encode_video_caps(&g->enc);
	g_object_set(pin, "caps", c, NULL);
	gst_caps_unref(c);
	if (!gst_element_link(mixer, pin)) {
		snprintf(errstr, errstr_size, "cannot link the %s mix to its canvas format",
		         g->enc.video_codec);
		return NULL;
	}
	return gst_element_get_static_pad(pin, "src");
}

/* from (a reference, taken; NULL: errstr says why) -> encoder -> the
 * session's outputs. */
static egw_err_t encode_stream(struct composite *g, GstPad *from, egw_media_t media,
                               char *errstr, size_t errstr_size)
{
	const char *codec = media == EGW_MEDIA_VIDEO ? g->enc.video_codec : g->enc.audio_codec;
	GstPad *sink = NULL, *src = NULL;
	egw_err_t err;

	if (!from)
		return EGW_ERR_MEDIA;
	if (!(err = egw_encode_build(g->bin, &g->enc, media, &sink, &src, errstr, errstr_size))) {
		if (gst_pad_link(from, sink) != GST_PAD_LINK_OK) {
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
	gst_object_unref(from);
	return err;
}

/* mixer -> gate -> [canvas format] -> encoder -> the session's outputs. */
static egw_err_t add_output_stream(struct composite *g, GstElement *mixer, egw_media_t media,
                                   char *errstr, size_t errstr_size)
{
	GstPad *mixsrc = gst_element_get_static_pad(mixer, "src");
	egw_err_t err;

	egw_composite_gate(g, mixsrc);
	err = encode_stream(g,
	                    media == EGW_MEDIA_VIDEO ? canvas_pin(g, mixer, errstr, errstr_size)
	                                             : gst_object_ref(mixsrc),
	                    media, errstr, errstr_size);
	gst_object_unref(mixsrc);
	return err;
}

/* Streaming thread of a pacer: its second buffer, the first one queued in
 * the mixer. From then on the mixer may leave out the inputs that have not
 * sent anything yet (a new participant's branch before its first frame)
 * instead of waiting for them every output frame. Not before: a live mixer
 * that times out before any input has data, with inactive inputs ignored,
 * sees no input at all, takes it for the end of every stream and sends EOS
 * (GStreamer 1.22's aggregators), which ended a composite before its first
 * frame now and then. The pacer's own input, active once it has sent a
 * buffer, keeps the mixer from ever seeing none again. */
static GstPadProbeReturn pacer_started(GstPad *pad, GstPadProbeInfo *info, gpointer mixer)
{
	(void)info;
	if (!g_object_get_data(G_OBJECT(pad), "egw-pacer-sent")) {
		g_object_set_data(G_OBJECT(pad), "egw-pacer-sent", pad);
		return GST_PAD_PROBE_OK;
	}
	g_object_set(mixer, "ignore-inactive-pads", TRUE, NULL);
	return GST_PAD_PROBE_REMOVE;
}

/* A live source (background colour or silence) feeding mixer: it paces
 * the mixer whoever else is there. A black background is the compositor's
 * own fill: the pacer is then a hidden 16x16 picture (a canvas-sized one
 * is drawn, held in a pool of canvas-sized buffers and copied onto every
 * frame: 15 MB of RSS at 720p, 26 MB at 1080p); other colours need it. */
static GstElement *pacer(struct composite *g, GstElement *mixer, egw_media_t media, char *errstr,
                         size_t errstr_size)
{
	GstElement *src = add(g, media == EGW_MEDIA_VIDEO ? "videotestsrc" : "audiotestsrc", errstr,
	                      errstr_size);
	GstElement *caps = src ? add(g, "capsfilter", errstr, errstr_size) : NULL;
	int own_fill = media == EGW_MEDIA_VIDEO && g->cp.background == 0x000000;
	GstCaps *c;
	GstPad *out;

	if (!caps)
		return NULL;
	g_object_set(src, "is-live", TRUE, NULL);
	if (media == EGW_MEDIA_VIDEO) {
		gst_util_set_object_arg(G_OBJECT(src), "pattern", "solid-color");
		g_object_set(src, "foreground-color", 0xff000000u | g->cp.background, NULL);
		c = egw_encode_video_caps(&g->enc);
		if (own_fill)
			gst_caps_set_simple(c, "width", G_TYPE_INT, 16, "height", G_TYPE_INT, 16,
			                    NULL);
	} else {
		gst_util_set_object_arg(G_OBJECT(src), "wave", "silence");
		c = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate",
		                        G_TYPE_INT, 48000, "channels", G_TYPE_INT, 2, NULL);
	}
	g_object_set(caps, "caps", c, NULL);
	gst_caps_unref(c);
	out = gst_element_get_static_pad(caps, "src");
	egw_composite_guard_pad(out);
	gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, pacer_started, mixer, NULL);
	if (!gst_element_link_many(src, caps, mixer, NULL)) {
		snprintf(errstr, errstr_size, "cannot link the %s pacer", egw_media2str(media));
		src = NULL;
	} else if (own_fill) {
		GstPad *mixpad = gst_pad_get_peer(out);
		g_object_set(mixpad, "alpha", 0.0, NULL);
		gst_object_unref(mixpad);
	}
	gst_object_unref(out);
	return src;
}

static GstElement *mixer(struct composite *g, egw_media_t media, char *errstr, size_t errstr_size)
{
	GstElement *m =
	        add(g, media == EGW_MEDIA_VIDEO ? "compositor" : "audiomixer", errstr, errstr_size);
	if (!m)
		return NULL;
	/* ignore-inactive-pads once the pacer has started (see pacer_started) */
	g_object_set(m, "min-upstream-latency", (guint64)MIX_LATENCY_NS, NULL);
	if (media == EGW_MEDIA_VIDEO)
		gst_util_set_object_arg(G_OBJECT(m), "background", "black");
	return m;
}

/* audiomixer -> gate -> tee -> the mix as it is ("pcm", for outputs that
 * take raw audio) and, when something takes it encoded, -> encoder. The
 * tee's branches run in the mixer's thread, as the encoder alone does;
 * each output has its own queue after the session's tee. */
static egw_err_t add_pcm_stream(struct composite *g, char *errstr, size_t errstr_size)
{
	GstElement *tee = add(g, "tee", errstr, errstr_size);
	GstPad *mixsrc, *teepad;
	egw_err_t err;

	if (!tee)
		return EGW_ERR_MEDIA;
	g_object_set(tee, "allow-not-linked", TRUE, NULL);
	mixsrc = gst_element_get_static_pad(g->amix, "src");
	egw_composite_gate(g, mixsrc);
	gst_object_unref(mixsrc);
	if (!gst_element_link(g->amix, tee)) {
		snprintf(errstr, errstr_size, "cannot link the audio mix to its branches");
		return EGW_ERR_MEDIA;
	}
	if (g->enc.audio_codec &&
	    (err = encode_stream(g, gst_element_request_pad_simple(tee, "src_%u"), EGW_MEDIA_AUDIO,
	                         errstr, errstr_size)))
		return err;
	if (!(teepad = gst_element_request_pad_simple(tee, "src_%u")))
		return EGW_ERR_MEDIA;
	err = egw_session_add_stream(g->s, EGW_MEDIA_AUDIO, "pcm", teepad, errstr, errstr_size);
	gst_object_unref(teepad);
	return err;
}

static egw_err_t build(struct composite *g, char *errstr, size_t errstr_size)
{
	egw_err_t err;

	if (g->enc.video_codec) {
		if (!(g->vmix = mixer(g, EGW_MEDIA_VIDEO, errstr, errstr_size)) ||
		    !(g->vbg = pacer(g, g->vmix, EGW_MEDIA_VIDEO, errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		if ((err = add_output_stream(g, g->vmix, EGW_MEDIA_VIDEO, errstr, errstr_size)))
			return err;
	}
	if (g->enc.audio_codec || g->enc.pcm) {
		if (!(g->amix = mixer(g, EGW_MEDIA_AUDIO, errstr, errstr_size)) ||
		    !(g->abg = pacer(g, g->amix, EGW_MEDIA_AUDIO, errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		if (g->enc.pcm)
			return add_pcm_stream(g, errstr, errstr_size);
		if ((err = add_output_stream(g, g->amix, EGW_MEDIA_AUDIO, errstr, errstr_size)))
			return err;
	}
	return EGW_OK;
}

/* ---- the graph's operations ---- */

static void input_free(gpointer p)
{
	egw_composite_input_free(p);
}

static void placeholder_free(gpointer p)
{
	egw_composite_placeholder_free(p);
}

static void cg_free(egw_graph_t *graph);

static egw_graph_t *cg_create(egw_session_t *s, GstBin *bin, const egw_media_plan_t *plan,
                              char *errstr, size_t errstr_size)
{
	struct composite *g = g_new0(struct composite, 1);
	egw_compositor_options_t opt = {0};
	egw_layout_t *layout = NULL;

	if (!egw_composite_debug)
		GST_DEBUG_CATEGORY_INIT(egw_composite_debug, "egw-composite", 0, "composite graph");
	g->s = s;
	g->bin = bin;
	g->log_id = egw_session_log_id(s);
	g->enc = plan->encode;
	g->cp = plan->composite;
	g->track_mode = plan->composite.single;
	g->t0 = GST_CLOCK_TIME_NONE;
	g->stop_at = GST_CLOCK_TIME_NONE;
	g->last_pts[0] = g->last_pts[1] = GST_CLOCK_TIME_NONE;
	g_mutex_init(&g->lock);
	g->life = egw_life_new(NULL, g);
	g->inputs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, input_free);
	g->placeholders = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, placeholder_free);
	egw_encode_defaults(&g->enc);
	g->av_shift = egw_composite_av_shift(&g->enc);
	if (!g->track_mode) {
		if (egw_layout_parse(plan->composite.layout ? plan->composite.layout : "grid",
		                     "source.layout", g->enc.width, g->enc.height, &layout, errstr,
		                     errstr_size))
			goto fail;
		opt.width = g->enc.video_codec ? g->enc.width : 0;
		opt.height = g->enc.video_codec ? g->enc.height : 0;
		opt.labels = plan->composite.labels;
		opt.mix = (egw_mix_mode_t)plan->composite.mix_mode;
		opt.mix_participant = plan->composite.mix_participant;
		g->comp = egw_compositor_new(&opt, layout);
	}
	if (build(g, errstr, errstr_size))
		goto fail;
	g->tick = g_timeout_add(TICK_MS, egw_composite_tick, g);
	if (g->enc.video_codec)
		EGW_LOG(g->log_id, INFO, "compositing %dx%d@%d %s, audio %s%s", g->enc.width,
		        g->enc.height, g->enc.fps, g->enc.video_codec,
		        g->enc.audio_codec ? g->enc.audio_codec : "none",
		        g->track_mode ? " (one picture on the canvas)" : "");
	else
		EGW_LOG(g->log_id, INFO, "mixing audio only, %s%s",
		        g->enc.audio_codec ? g->enc.audio_codec : "decoded",
		        g->enc.audio_codec && g->enc.pcm ? " and decoded" : "");
	return (egw_graph_t *)g;
fail:
	cg_free((egw_graph_t *)g);
	return NULL;
}

static egw_err_t cg_track_added(egw_graph_t *graph, const egw_track_t *t, char *errstr,
                                size_t errstr_size)
{
	struct composite *g = (struct composite *)graph;
	struct input *in;
	egw_err_t err;

	if ((t->media == EGW_MEDIA_VIDEO && !g->vmix) ||
	    (t->media == EGW_MEDIA_AUDIO && !g->amix)) {
		snprintf(errstr, errstr_size, "this egress takes no %s", egw_media2str(t->media));
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (g_hash_table_contains(g->inputs, t->id))
		return EGW_OK;
	if ((err = egw_composite_input_new(g, t, &in, errstr, errstr_size)))
		return err == EGW_ERR_NOT_SUPPORTED ? err : EGW_ERR_NOT_SUPPORTED;
	g_mutex_lock(&g->lock);
	g_hash_table_insert(g->inputs, in->track_id, in);
	g_mutex_unlock(&g->lock);
	if (g->comp) {
		egw_comp_track_t ct = {t->id, t->participant.id, t->participant.name, t->media,
		                       t->screen};
		egw_compositor_add_track(g->comp, &ct);
	}
	egw_composite_refresh(g, 1);
	return EGW_OK;
}

/* Streaming thread. */
static void cg_track_pad(egw_graph_t *graph, const egw_track_t *t, GstPad *pad)
{
	struct composite *g = (struct composite *)graph;
	struct input *in;
	GstPad *sink = NULL;

	g_mutex_lock(&g->lock);
	in = g->finishing ? NULL : g_hash_table_lookup(g->inputs, t->id);
	if (in)
		sink = gst_object_ref(in->sinkpad);
	g->started |= in != NULL;
	g_mutex_unlock(&g->lock);
	if (!sink) {
		EGW_LOG(g->log_id, DEBUG, "%s arrived without a branch; not linked", t->id);
		egw_graph_swallow(pad);
		return;
	}
	if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
		EGW_LOG(g->log_id, ERROR, "cannot link %s (%s)", t->id, t->codec);
	else if (t->media == EGW_MEDIA_VIDEO) /* a keyframe now, not at the next interval */
		gst_pad_push_event(sink, gst_video_event_new_upstream_force_key_unit(
		                                 GST_CLOCK_TIME_NONE, TRUE, 0));
	gst_object_unref(sink);
}

static void cg_track_removed(egw_graph_t *graph, const egw_track_t *t)
{
	struct composite *g = (struct composite *)graph;
	struct input *in;

	g_mutex_lock(&g->lock);
	in = g_hash_table_lookup(g->inputs, t->id);
	if (in)
		g_hash_table_steal(g->inputs, t->id);
	g_mutex_unlock(&g->lock);
	if (!in)
		return;
	if (g->comp)
		egw_compositor_remove_track(g->comp, t->id);
	egw_composite_refresh(g, 1);
	egw_composite_input_free(in);
}

/* The stop: both mixers end their streams at the same running time, now
 * (see the gate); nothing here waits on a streaming thread. */
static int cg_finish(egw_graph_t *graph)
{
	struct composite *g = (struct composite *)graph;
	GstElement *any = g->vmix ? g->vmix : g->amix;
	GstClock *clock = any ? gst_element_get_clock(any) : NULL;
	GstClockTime now = 0;
	int started;

	if (clock) {
		now = gst_clock_get_time(clock) - gst_element_get_base_time(any);
		gst_object_unref(clock);
	}
	g_mutex_lock(&g->lock);
	g->finishing = 1;
	g->stop_at = now;
	started = g->started;
	g_mutex_unlock(&g->lock);
	if (g->tick)
		g_source_remove(g->tick);
	g->tick = 0;
	return started;
}

static double cg_duration_s(egw_graph_t *graph)
{
	struct composite *g = (struct composite *)graph;
	double d;
	g_mutex_lock(&g->lock);
	d = (double)g->end / GST_SECOND;
	g_mutex_unlock(&g->lock);
	return d;
}

static egw_err_t cg_update_layout(egw_graph_t *graph, const char *text, char *errstr,
                                  size_t errstr_size)
{
	struct composite *g = (struct composite *)graph;
	egw_layout_t *layout;
	egw_err_t err;

	if (!g->comp) {
		snprintf(errstr, errstr_size, "a track composite has no layout");
		return EGW_ERR_NOT_SUPPORTED;
	}
	if ((err = egw_layout_parse(text, "layout", g->enc.width, g->enc.height, &layout, errstr,
	                            errstr_size)))
		return err;
	EGW_LOG(g->log_id, INFO, "layout %s -> %s", egw_layout_name(egw_compositor_layout(g->comp)),
	        egw_layout_name(layout));
	egw_compositor_set_layout(g->comp, layout);
	egw_composite_refresh(g, 1);
	return EGW_OK;
}

/* An input that fails (a decoder refusing a stream...) is dropped; the
 * others go on. A placeholder that fails is made again. */
static int cg_element_error(egw_graph_t *graph, GstObject *obj, const char *message)
{
	struct composite *g = (struct composite *)graph;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, g->inputs);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct input *in = value;
		if (!egw_composite_input_has(in, obj))
			continue;
		EGW_LOG(g->log_id, WARN, "dropped %s %s (%s); the egress goes on without it",
		        egw_media2str(in->media), in->track_id, message);
		g_mutex_lock(&g->lock);
		g_hash_table_iter_steal(&it);
		g_mutex_unlock(&g->lock);
		if (g->comp)
			egw_compositor_remove_track(g->comp, in->track_id);
		egw_composite_input_free(in);
		egw_composite_refresh(g, 1);
		return 1;
	}
	g_hash_table_iter_init(&it, g->placeholders);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (egw_composite_placeholder_has(value, obj)) {
			EGW_LOG(g->log_id, WARN, "placeholder failed (%s)", message);
			g_hash_table_iter_steal(&it);
			egw_composite_placeholder_free(value);
			return 1;
		}
	return 0;
}

static void cg_free(egw_graph_t *graph)
{
	struct composite *g = (struct composite *)graph;
	if (g->tick)
		g_source_remove(g->tick);
	egw_life_end(g->life);
	/* The pipeline is stopped by now: the branches go with it. */
	g_hash_table_destroy(g->inputs);
	g_hash_table_destroy(g->placeholders);
	egw_compositor_free(g->comp);
	g_mutex_clear(&g->lock);
	g_free(g);
}

const egw_graph_ops_t egw_graph_composite = {
        .name = "composite",
        .create = cg_create,
        .track_added = cg_track_added,
        .track_pad = cg_track_pad,
        .track_removed = cg_track_removed,
        .finish = cg_finish,
        .duration_s = cg_duration_s,
        .update_layout = cg_update_layout,
        .element_error = cg_element_error,
        .free = cg_free,
};
