/* The render graph's inputs (see render_int.h and graph_render.c): for
 * each recorded track a branch that decodes its file, puts its buffers on
 * the output's timeline (retime: the file's time plus its offset, minus
 * the trim start; what falls before the start is dropped, the stream ends
 * at the trim end) and has its scene (place, size, volume) applied by
 * control bindings on its mixer pad; and the placeholders. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>

#include "base/log.h"
#include "pipelines/render_int.h"
#include "pipelines/render_levels.h"

#define PLACEHOLDER_W 320
#define PLACEHOLDER_H 180
#define GAP_NS (30 * GST_MSECOND) /* audio later than this after the last: a gap */

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
	case GST_EVENT_SEGMENT:
		return egw_restream_segment(&in->rs, info);
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
	ts = egw_restream_running(&in->rs, ts);
	if (!GST_CLOCK_TIME_IS_VALID(ts))
		return GST_PAD_PROBE_DROP; /* outside the file's segment */
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
void egw_render_end_branch(struct rinput *in)
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
	egw_render_end_branch(in);
}

static GstElement *in_add(struct rinput *in, const char *factory, char *errstr,
                          size_t errstr_size)
{
	GstElement *e = egw_graph_make(in->g->bin, factory, errstr, errstr_size);
	if (e)
		in->els[in->n_els++] = e;
	return e;
}

egw_err_t egw_render_input_build(struct render *g, struct rinput *in, char *errstr,
                                 size_t errstr_size)
{
	GstElement *src, *dec, *last;
	GstPad *pad;
	int video = in->t->media == EGW_MEDIA_VIDEO;

	in->g = g;
	in->next_ns = GST_CLOCK_TIME_NONE;
	egw_restream_init(&in->rs);
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
egw_err_t egw_render_placeholder(struct render *g, const egw_schedule_lane_t *l, char *errstr,
                                 size_t errstr_size)
{
	GstElement *src = egw_graph_make(g->bin, "videotestsrc", errstr, errstr_size);
	GstElement *caps = src ? egw_graph_make(g->bin, "capsfilter", errstr, errstr_size) : NULL;
	GstElement *text = caps ? egw_graph_make(g->bin, "textoverlay", errstr, errstr_size) : NULL;
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
