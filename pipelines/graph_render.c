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

#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>

#include "base/log.h"
#include "compositor/compositor.h"
#include "pipelines/encode.h"
#include "pipelines/graph.h"
#include "pipelines/render_levels.h"

GST_DEBUG_CATEGORY_STATIC(egw_render_debug);
#define GST_CAT_DEFAULT egw_render_debug

#define LEVEL_STEP_MS 100
#define TICK_MS 100
#define SILENCE_SAMPLES 1024
#define PLACEHOLDER_W 320
#define PLACEHOLDER_H 180
#define GAP_NS (30 * GST_MSECOND) /* audio later than this after the last: a gap */

struct render;

struct rinput {
	struct render *g;
	const egw_render_track_t *t;
	const egw_schedule_lane_t *lane;
	GstElement *els[6]; /* filesrc, decodebin, then the branch */
	size_t n_els;
	GstPad *mixpad;
	/* streaming threads (the decoder's, one at a time) */
	GstSegment seg;
	gint64 shift_ns; /* file running time -> output time */
	GstClockTime next_ns;
	int linked, bound, ended, eos_sent, sent_segment;
};

struct render {
	egw_session_t *s;
	GstBin *bin;
	const char *log_id;
	egw_encode_plan_t enc;
	egw_composite_plan_t cp;
	const egw_render_plan_t *rp;
	egw_schedule_t *sched;
	GstClockTime span_ns;
	GstElement *vmix, *amix;
	GPtrArray *sources; /* background, silence, placeholders: ended by finish() */
	struct rinput *inputs;
	size_t n_inputs;
	gint stopping;
	GMutex lock;
	GstClockTime reached_ns; /* output time mixed so far (under lock) */
};

static GstElement *add(struct render *g, const char *factory, char *errstr, size_t errstr_size)
{
	return egw_graph_make(g->bin, factory, errstr, errstr_size);
}

/* ---- control bindings: the schedule on a mixer pad ---- */

enum prop { P_X, P_Y, P_W, P_H, P_Z, P_ALPHA, P_VOLUME };

static const char *const prop_names[] = {"xpos", "ypos", "width", "height", "zorder", "alpha",
                                         "volume"};

/* Where a video of pic_w x pic_h goes in the key's cell: at its own size,
 * centred, when it nearly fits (egw_fit_native; a pixel or two cut off at
 * the cell's edges), else the whole cell (scaled, aspect kept). */
static void place(const egw_schedule_key_t *k, int pic_w, int pic_h, int rect[4])
{
	egw_fit_t fit;
	if (pic_w > 0 && pic_h > 0 && egw_fit_native(pic_w, pic_h, k->width, k->height, &fit)) {
		rect[0] = k->x + (k->width - pic_w) / 2;
		rect[1] = k->y + (k->height - pic_h) / 2;
		rect[2] = pic_w;
		rect[3] = pic_h;
		return;
	}
	rect[0] = k->x;
	rect[1] = k->y;
	rect[2] = k->width;
	rect[3] = k->height;
}

static double value_of(enum prop p, const egw_schedule_key_t *k, const int rect[4])
{
	switch (p) {
	case P_X:
	case P_Y:
	case P_W:
	case P_H:
		return rect[p - P_X];
	case P_Z:
		return k->z + 1;
	case P_ALPHA:
		return k->shown ? 1.0 : 0.0;
	case P_VOLUME:
	default:
		return k->shown ? k->gain : 0.0;
	}
}

/* The lane's keys as steps of property p of pad (hidden keys keep the
 * place of the last shown one). */
static void bind(GstPad *pad, enum prop p, const egw_schedule_lane_t *l, int pic_w, int pic_h)
{
	GstControlSource *cs = gst_interpolation_control_source_new();
	GstTimedValueControlSource *tv = GST_TIMED_VALUE_CONTROL_SOURCE(cs);
	int rect[4] = {0, 0, 16, 16};

	g_object_set(cs, "mode", GST_INTERPOLATION_MODE_NONE, NULL);
	for (size_t i = 0; i < l->n_keys; i++)
		if (l->keys[i].shown) { /* before the first shown: its place */
			place(&l->keys[i], pic_w, pic_h, rect);
			break;
		}
	for (size_t i = 0; i < l->n_keys; i++) {
		const egw_schedule_key_t *k = &l->keys[i];
		if (k->shown && p != P_VOLUME)
			place(k, pic_w, pic_h, rect);
		gst_timed_value_control_source_set(tv, k->at_ms * GST_MSECOND,
		                                   value_of(p, k, rect));
	}
	gst_object_add_control_binding(
	        GST_OBJECT(pad),
	        gst_direct_control_binding_new_absolute(GST_OBJECT(pad), prop_names[p], cs));
	gst_object_unref(cs);
}

static void bind_video(GstPad *pad, const egw_schedule_lane_t *l, int pic_w, int pic_h)
{
	for (enum prop p = P_X; p <= P_ALPHA; p++)
		bind(pad, p, l, pic_w, pic_h);
}

/* ---- retiming (an input's streaming thread) ---- */

static GstPadProbeReturn end_input(struct rinput *in, GstPad *pad, GstPadProbeInfo *info)
{
	if (!in->ended)
		EGW_LOG(in->g->log_id, DEBUG, "%s %s ends here", egw_media2str(in->t->media),
		        in->t->track_id);
	in->ended = 1;
	if (!in->eos_sent) /* (through this probe, which passes it once) */
		gst_pad_send_event(pad, gst_event_new_eos());
	gst_mini_object_unref(GST_PAD_PROBE_INFO_DATA(info));
	GST_PAD_PROBE_INFO_FLOW_RETURN(info) = GST_FLOW_EOS;
	return GST_PAD_PROBE_HANDLED;
}

static GstPadProbeReturn on_event(struct rinput *in, GstPad *pad, GstPadProbeInfo *info)
{
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);

	switch (GST_EVENT_TYPE(ev)) {
	case GST_EVENT_SEGMENT: {
		GstSegment fresh;
		gst_event_copy_segment(ev, &in->seg);
		if (in->sent_segment)
			return GST_PAD_PROBE_DROP;
		in->sent_segment = 1;
		gst_segment_init(&fresh, GST_FORMAT_TIME);
		gst_event_unref(ev);
		GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_segment(&fresh);
		return GST_PAD_PROBE_OK;
	}
	case GST_EVENT_EOS:
		if (in->eos_sent)
			return GST_PAD_PROBE_DROP;
		in->ended = in->eos_sent = 1;
		return GST_PAD_PROBE_OK;
	default:
		return GST_PAD_PROBE_OK;
	}
}

static GstPadProbeReturn on_caps(struct rinput *in, GstEvent *ev)
{
	GstCaps *caps = NULL;
	int w = 0, h = 0;

	gst_event_parse_caps(ev, &caps);
	if (caps && gst_caps_get_size(caps) > 0) {
		const GstStructure *st = gst_caps_get_structure(caps, 0);
		gst_structure_get_int(st, "width", &w);
		gst_structure_get_int(st, "height", &h);
	}
	in->bound = 1;
	bind_video(in->mixpad, in->lane, w, h);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn retime(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct rinput *in = user;
	GstBuffer *buf;
	GstClockTime ts, dur;
	gint64 out;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
		if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS && in->t->media == EGW_MEDIA_VIDEO &&
		    !in->bound)
			return on_caps(in, ev);
		return on_event(in, pad, info);
	}
	buf = GST_PAD_PROBE_INFO_BUFFER(info);
	if (in->ended || g_atomic_int_get(&in->g->stopping))
		return end_input(in, pad, info);
	ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
	if (!GST_CLOCK_TIME_IS_VALID(ts))
		return GST_PAD_PROBE_DROP;
	if (in->seg.format == GST_FORMAT_TIME) {
		GstClockTime rt = gst_segment_to_running_time(&in->seg, GST_FORMAT_TIME, ts);
		if (!GST_CLOCK_TIME_IS_VALID(rt))
			return GST_PAD_PROBE_DROP; /* outside the file's segment */
		ts = rt;
	}
	out = (gint64)ts + in->shift_ns;
	dur = GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0;
	if (out + (gint64)dur <= 0 || (in->t->media == EGW_MEDIA_AUDIO && out < 0))
		return GST_PAD_PROBE_DROP; /* before the start */
	if (out >= (gint64)in->g->span_ns)
		return end_input(in, pad, info);
	buf = gst_buffer_make_writable(buf);
	GST_BUFFER_PTS(buf) = out < 0 ? 0 : (GstClockTime)out;
	GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
	/* The last frame before a gap lasts the whole gap (its duration runs
	 * to the next frame's time): it must not carry the canvas past the
	 * end of the span. */
	if (dur && out + (gint64)dur > (gint64)in->g->span_ns)
		GST_BUFFER_DURATION(buf) = in->g->span_ns - GST_BUFFER_PTS(buf);
	/* a mixer places audio after a discontinuity by its time, otherwise
	 * right after what came before */
	if (!GST_CLOCK_TIME_IS_VALID(in->next_ns) || (GstClockTime)out > in->next_ns + GAP_NS)
		GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
	in->next_ns = (GstClockTime)out + dur;
	GST_PAD_PROBE_INFO_DATA(info) = buf;
	return GST_PAD_PROBE_OK;
}

/* ---- inputs ---- */

/* Elementary streams of the other media are left undecoded (and
 * unlinked: a demuxer goes on while one of its streams is taken). */
static gboolean autoplug_continue(GstElement *bin, GstPad *pad, GstCaps *caps, gpointer user)
{
	struct rinput *in = user;
	return !egw_render_other_media(caps, (egw_media_t)in->t->media);
}

static GstPad *branch_sink(struct rinput *in)
{
	return gst_element_get_static_pad(in->els[2], "sink");
}

static void pad_added(GstElement *dec, GstPad *pad, gpointer user)
{
	struct rinput *in = user;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	const char *want = in->t->media == EGW_MEDIA_VIDEO ? "video/x-raw" : "audio/x-raw";
	GstPad *sink;

	if (!caps)
		caps = gst_pad_query_caps(pad, NULL);
	if (in->linked || !caps || gst_caps_get_size(caps) == 0 ||
	    strcmp(gst_structure_get_name(gst_caps_get_structure(caps, 0)), want)) {
		if (caps)
			gst_caps_unref(caps);
		return;
	}
	gst_caps_unref(caps);
	sink = branch_sink(in);
	if (gst_pad_link(pad, sink) == GST_PAD_LINK_OK)
		in->linked = 1;
	else
		EGW_LOG(in->g->log_id, ERROR, "cannot link the %s of %s", egw_media2str(in->t->media),
		        in->t->track_id);
	gst_object_unref(sink);
}

/* Ends an input's branch where it is (the mixer would wait for it);
 * before any data, with the events a stream begins with. */
static void end_branch(struct rinput *in)
{
	GstPad *sink = branch_sink(in);

	if (!in->linked) {
		GstSegment seg;
		gst_segment_init(&seg, GST_FORMAT_TIME);
		gst_pad_send_event(sink, gst_event_new_stream_start(in->t->track_id));
		gst_pad_send_event(sink, gst_event_new_segment(&seg));
	}
	gst_pad_send_event(sink, gst_event_new_eos());
	gst_object_unref(sink);
}

/* The file has no stream of the track's media: its branch ends at once. */
static void no_more_pads(GstElement *dec, gpointer user)
{
	struct rinput *in = user;

	if (in->linked)
		return;
	EGW_LOG(in->g->log_id, WARN, "%s: %s holds no %s; rendered without it", in->t->track_id,
	        in->t->path, egw_media2str(in->t->media));
	end_branch(in);
}

static GstElement *in_add(struct rinput *in, const char *factory, char *errstr,
                          size_t errstr_size)
{
	GstElement *e = add(in->g, factory, errstr, errstr_size);
	if (e)
		in->els[in->n_els++] = e;
	return e;
}

static egw_err_t input_build(struct render *g, struct rinput *in, char *errstr,
                             size_t errstr_size)
{
	GstElement *src, *dec, *last;
	GstPad *pad;
	int video = in->t->media == EGW_MEDIA_VIDEO;

	in->g = g;
	in->next_ns = GST_CLOCK_TIME_NONE;
	gst_segment_init(&in->seg, GST_FORMAT_UNDEFINED);
	/* The mixer shows a frame from the first output frame its time falls
	 * in, up to a frame period early; half a period later, it is shown at
	 * the output frame nearest its time (within half a period either
	 * way): recorded frames are rarely on the output's grid. */
	in->shift_ns = (gint64)llround((in->t->offset_s - g->rp->start_s) * GST_SECOND) +
	               (video ? (gint64)(GST_SECOND / (2 * (g->enc.fps > 0 ? g->enc.fps : 30)))
	                      : -(gint64)egw_encode_audio_delay(&g->enc));
	if (!(src = in_add(in, "filesrc", errstr, errstr_size)) ||
	    !(dec = in_add(in, "decodebin", errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	g_object_set(src, "location", in->t->path, NULL);
	g_signal_connect(dec, "autoplug-continue", G_CALLBACK(autoplug_continue), in);
	g_signal_connect(dec, "pad-added", G_CALLBACK(pad_added), in);
	g_signal_connect(dec, "no-more-pads", G_CALLBACK(no_more_pads), in);
	if (!gst_element_link(src, dec))
		goto fail;
	if (video) {
		if (!(last = in_add(in, "identity", errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		if (g->cp.labels && in->lane->label) {
			GstElement *label = in_add(in, "textoverlay", errstr, errstr_size);
			if (!label)
				return EGW_ERR_MEDIA;
			g_object_set(label, "font-desc", "Sans 16", "shaded-background", TRUE,
			             "auto-resize", FALSE, "text", in->lane->label, NULL);
			gst_util_set_object_arg(G_OBJECT(label), "valignment", "bottom");
			gst_util_set_object_arg(G_OBJECT(label), "halignment", "left");
			if (!gst_element_link(last, label))
				goto fail;
			last = label;
		}
	} else {
		GstElement *conv = in_add(in, "audioconvert", errstr, errstr_size);
		GstElement *res = conv ? in_add(in, "audioresample", errstr, errstr_size) : NULL;
		GstElement *caps = res ? in_add(in, "capsfilter", errstr, errstr_size) : NULL;
		GstCaps *c;
		if (!caps)
			return EGW_ERR_MEDIA;
		c = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate",
		                        G_TYPE_INT, 48000, "channels", G_TYPE_INT, 2, NULL);
		g_object_set(caps, "caps", c, NULL);
		gst_caps_unref(c);
		if (!gst_element_link_many(conv, res, caps, NULL))
			goto fail;
		last = caps;
	}
	pad = branch_sink(in);
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
	                  retime, in, NULL);
	gst_object_unref(pad);
	if (!(in->mixpad = gst_element_request_pad_simple(video ? g->vmix : g->amix, "sink_%u")))
		goto fail;
	if (video) {
		g_object_set(in->mixpad, "alpha", 0.0, NULL);
		egw_composite_video_pad(in->mixpad);
	} else {
		bind(in->mixpad, P_VOLUME, in->lane, 0, 0);
	}
	if (!gst_element_link_pads(last, "src", video ? g->vmix : g->amix,
	                           GST_PAD_NAME(in->mixpad)))
		goto fail;
	return EGW_OK;
fail:
	snprintf(errstr, errstr_size, "cannot link the %s branch of %s",
	         egw_media2str(in->t->media), in->t->track_id);
	return EGW_ERR_MEDIA;
}

/* A participant without video: initials on a colour, a few frames a
 * second, as long as the span. */
static egw_err_t placeholder(struct render *g, const egw_schedule_lane_t *l, char *errstr,
                             size_t errstr_size)
{
	GstElement *src = add(g, "videotestsrc", errstr, errstr_size);
	GstElement *caps = src ? add(g, "capsfilter", errstr, errstr_size) : NULL;
	GstElement *text = caps ? add(g, "textoverlay", errstr, errstr_size) : NULL;
	GstPad *mixpad;
	GstCaps *c;
	char *markup;

	if (!text)
		return EGW_ERR_MEDIA;
	g_object_set(src, "foreground-color", 0xff000000u | l->color, "num-buffers",
	             (gint)(gst_util_uint64_scale_ceil(g->span_ns, 5, GST_SECOND) + 1), NULL);
	gst_util_set_object_arg(G_OBJECT(src), "pattern", "solid-color");
	c = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT,
	                        PLACEHOLDER_W, "height", G_TYPE_INT, PLACEHOLDER_H, "framerate",
	                        GST_TYPE_FRACTION, 5, 1, NULL);
	egw_encode_canvas_colours(c);
	g_object_set(caps, "caps", c, NULL);
	gst_caps_unref(c);
	markup = egw_composite_placeholder_markup(l->initials, g->cp.labels ? l->label : NULL);
	g_object_set(text, "text", markup, "font-desc", "Sans 18", "auto-resize", FALSE, NULL);
	g_free(markup);
	gst_util_set_object_arg(G_OBJECT(text), "valignment", "center");
	gst_util_set_object_arg(G_OBJECT(text), "halignment", "center");
	if (!gst_element_link_many(src, caps, text, NULL) ||
	    !(mixpad = gst_element_request_pad_simple(g->vmix, "sink_%u"))) {
		snprintf(errstr, errstr_size, "cannot link a placeholder");
		return EGW_ERR_MEDIA;
	}
	egw_composite_video_pad(mixpad);
	bind_video(mixpad, l, 0, 0);
	if (!gst_element_link_pads(text, "src", g->vmix, GST_PAD_NAME(mixpad))) {
		gst_object_unref(mixpad);
		snprintf(errstr, errstr_size, "cannot link a placeholder");
		return EGW_ERR_MEDIA;
	}
	gst_object_unref(mixpad);
	g_ptr_array_add(g->sources, gst_object_ref(src));
	return EGW_OK;
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
		if ((err = input_build(g, in, errstr, errstr_size)))
			return err;
	}
	for (size_t i = g->rp->n_tracks; g->vmix && i < g->sched->n_lanes; i++)
		if ((err = placeholder(g, &g->sched->lanes[i], errstr, errstr_size)))
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
		end_branch(in);
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
