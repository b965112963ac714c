/* Helpers the graphs share (see graph.h): pads that swallow what no
 * branch takes, queues guarded against a failed output, the wall clock of
 * media time 0, and for the graphs that keep tracks as they came
 * (graph_passthrough.c, graph_tracks.c, graph_render.c's inputs) the
 * depayloading chains, the re-timed streams' events, Opus holes and the
 * made-up first frame of a stream that never came. */
#include <stdio.h>
#include <string.h>

#include <gst/app/gstappsink.h>

#include "base/log.h"
#include "pipelines/graph.h"
#include "pipelines/retime.h"

static GstPadProbeReturn drop_if_broken(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	GstPad *src = user;
	(void)pad;
	(void)info;
	/* (a queue whose push failed pushes an EOS on: its last flow return
	 * may then read EOS, the pad is EOS either way) */
	return gst_pad_get_last_flow_return(src) < GST_FLOW_EOS || GST_PAD_IS_EOS(src)
	               ? GST_PAD_PROBE_DROP
	               : GST_PAD_PROBE_OK;
}

void egw_graph_guard_queue(GstElement *queue)
{
	GstPad *sink = gst_element_get_static_pad(queue, "sink");
	GstPad *src = gst_element_get_static_pad(queue, "src");
	if (sink && src)
		gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  drop_if_broken, gst_object_ref(src), gst_object_unref);
	if (sink)
		gst_object_unref(sink);
	if (src)
		gst_object_unref(src);
}

static GstPadProbeReturn drop_unlinked(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	return gst_pad_is_linked(pad) ? GST_PAD_PROBE_REMOVE : GST_PAD_PROBE_DROP;
}

void egw_graph_swallow(GstPad *pad)
{
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	                  drop_unlinked, NULL, NULL);
}

void egw_graph_log_time_zero(const char *log_id, GstPad *pad, GstClockTime t0)
{
	GstElement *e = gst_pad_get_parent_element(pad);
	GstClock *clock = e ? gst_element_get_clock(e) : NULL;
	if (clock) {
		GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(e);
		gint64 wall_us = g_get_real_time() - ((gint64)now - (gint64)t0) / 1000;
		GDateTime *dt = g_date_time_new_from_unix_utc(wall_us / G_USEC_PER_SEC);
		gchar *text = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S") : NULL;
		EGW_LOG(log_id, INFO, "outputs begin: media time 0 is %s.%06dZ (wall clock)",
		        text ? text : "?", (int)(wall_us % G_USEC_PER_SEC));
		g_free(text);
		if (dt)
			g_date_time_unref(dt);
		gst_object_unref(clock);
	}
	if (e)
		gst_object_unref(e);
}

/* Depayloader and parser per codec. */
static const struct codec_chain {
	const char *codec, *depay, *parse;
} chains[] = {
        {"opus", "rtpopusdepay", "opusparse"},
        {"vp8", "rtpvp8depay", NULL},
        {"vp9", "rtpvp9depay", "vp9parse"},
        {"h264", "rtph264depay", "h264parse"},
        {"av1", "rtpav1depay", "av1parse"},
};

GstBuffer *egw_made_up_frame(egw_media_t media, const char *codec, GstCaps **caps)
{
	const char *desc =
	        media == EGW_MEDIA_VIDEO && !strcmp(codec, "h264")
	                ? "videotestsrc pattern=black num-buffers=1 ! "
	                  "video/x-raw,format=I420,width=320,height=180,framerate=30/1 ! "
	                  "x264enc speed-preset=ultrafast tune=zerolatency key-int-max=1 ! "
	                  "h264parse ! "
	                  "video/x-h264,stream-format=avc,alignment=au ! appsink name=out "
	                  "sync=false"
	        : media == EGW_MEDIA_AUDIO && !strcmp(codec, "opus")
	                ? "audiotestsrc wave=silence num-buffers=1 samplesperbuffer=960 ! "
	                  "audio/x-raw,rate=48000,channels=2 ! opusenc ! appsink name=out "
	                  "sync=false"
	                : NULL;
	GError *err = NULL;
	GstElement *p = desc ? gst_parse_launch(desc, &err) : NULL, *sink;
	GstSample *smp = NULL;
	GstBuffer *buf = NULL;

	*caps = NULL;
	g_clear_error(&err);
	if (!p)
		return NULL;
	sink = gst_bin_get_by_name(GST_BIN(p), "out");
	if (sink && gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
		smp = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 5 * GST_SECOND);
	if (smp && gst_sample_get_buffer(smp) && gst_sample_get_caps(smp)) {
		buf = gst_buffer_ref(gst_sample_get_buffer(smp));
		*caps = gst_caps_ref(gst_sample_get_caps(smp));
	}
	if (smp)
		gst_sample_unref(smp);
	gst_element_set_state(p, GST_STATE_NULL);
	if (sink)
		gst_object_unref(sink);
	gst_object_unref(p);
	return buf;
}

GstElement *egw_graph_make(GstBin *bin, const char *factory, char *errstr, size_t errstr_size)
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	if (!e) {
		snprintf(errstr, errstr_size, "GStreamer element %s is missing", factory);
		return NULL;
	}
	if (!gst_bin_add(bin, e)) {
		snprintf(errstr, errstr_size, "cannot add %s to the pipeline", factory);
		gst_object_unref(e);
		return NULL;
	}
	return e;
}

static void set_if_exists(GstElement *e, const char *prop)
{
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop))
		g_object_set(e, prop, TRUE, NULL);
}

egw_err_t egw_graph_depay_chain(GstBin *bin, const char *codec, GstElement **first,
                                GstElement **last, char *errstr, size_t errstr_size)
{
	const struct codec_chain *ch = NULL;
	GstElement *depay = NULL, *parse = NULL;

	for (size_t i = 0; codec && i < G_N_ELEMENTS(chains); i++)
		if (!strcmp(chains[i].codec, codec))
			ch = &chains[i];
	if (!ch) {
		snprintf(errstr, errstr_size, "no depayloader for %s", codec ? codec : "?");
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (!(depay = egw_graph_make(bin, ch->depay, errstr, errstr_size)) ||
	    (ch->parse && !(parse = egw_graph_make(bin, ch->parse, errstr, errstr_size))))
		goto fail;
	set_if_exists(depay, "request-keyframe");
	set_if_exists(depay, "wait-for-keyframe");
	if (parse && !gst_element_link(depay, parse)) {
		snprintf(errstr, errstr_size, "cannot link the %s branch", codec);
		goto fail;
	}
	*first = depay;
	*last = parse ? parse : depay;
	return EGW_OK;
fail:
	if (parse)
		gst_bin_remove(bin, parse);
	if (depay)
		gst_bin_remove(bin, depay);
	return EGW_ERR_MEDIA;
}

void egw_restream_init(egw_restream_t *r)
{
	memset(r, 0, sizeof(*r));
	gst_segment_init(&r->in_seg, GST_FORMAT_UNDEFINED);
}

GstClockTime egw_restream_running(const egw_restream_t *r, GstClockTime ts)
{
	if (!GST_CLOCK_TIME_IS_VALID(ts) || r->in_seg.format != GST_FORMAT_TIME)
		return ts;
	return gst_segment_to_running_time(&r->in_seg, GST_FORMAT_TIME, ts);
}

GstPadProbeReturn egw_restream_segment(egw_restream_t *r, GstPadProbeInfo *info)
{
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	GstSegment fresh;

	if (GST_EVENT_TYPE(ev) != GST_EVENT_SEGMENT)
		return GST_PAD_PROBE_OK;
	gst_event_copy_segment(ev, &r->in_seg);
	if (r->sent_segment)
		return GST_PAD_PROBE_DROP;
	r->sent_segment = 1;
	gst_segment_init(&fresh, GST_FORMAT_TIME);
	gst_event_unref(ev);
	GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_segment(&fresh);
	return GST_PAD_PROBE_OK;
}

GstPadProbeReturn egw_restream_event(egw_restream_t *r, GstPadProbeInfo *info)
{
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	GstCaps *caps;

	switch (GST_EVENT_TYPE(ev)) {
	case GST_EVENT_SEGMENT:
		return egw_restream_segment(r, info);
	case GST_EVENT_STREAM_START:
		if (r->sent_stream_start)
			return GST_PAD_PROBE_DROP;
		r->sent_stream_start = 1;
		return GST_PAD_PROBE_OK;
	case GST_EVENT_CAPS:
		gst_event_parse_caps(ev, &caps);
		if (r->last_caps && gst_caps_is_equal(caps, r->last_caps))
			return GST_PAD_PROBE_DROP;
		gst_caps_replace(&r->last_caps, caps);
		return GST_PAD_PROBE_OK;
	case GST_EVENT_FLUSH_START:
	case GST_EVENT_FLUSH_STOP:
		return GST_PAD_PROBE_DROP;
	default:
		return GST_PAD_PROBE_OK;
	}
}

void egw_restream_clear(egw_restream_t *r)
{
	gst_caps_replace(&r->last_caps, NULL);
}

void egw_opus_holes_init(egw_opus_holes_t *h, const char *codec)
{
	h->opus = !strcmp(codec, "opus");
	h->next = EGW_TS_NONE;
	h->filled = h->dropped = 0;
}

GstBuffer *egw_opus_empty_frame(guint8 toc, uint64_t t)
{
	guint8 empty = toc & 0xfc; /* code 0: one frame, here of no bytes */
	GstBuffer *f = gst_buffer_new_memdup(&empty, 1);
	GST_BUFFER_PTS(f) = GST_BUFFER_DTS(f) = t;
	GST_BUFFER_DURATION(f) = egw_opus_frame_ns(toc);
	return f;
}

uint64_t egw_opus_place(egw_opus_holes_t *h, GstPad *pad, GstBuffer *buf, uint64_t t,
                        const char *log_id)
{
	guint8 toc;
	uint64_t frame, n, at;
	GstPad *peer;

	if (!h->opus || gst_buffer_extract(buf, 0, &toc, 1) != 1)
		return t;
	frame = egw_opus_frame_ns(toc);
	at = egw_audio_place(h->next, t, frame, &n);
	if (at == EGW_TS_NONE) {
		if (h->dropped++ % 100 == 0)
			EGW_LOG(log_id, DEBUG,
			        "audio: a packet %.1f ms behind the one before dropped "
			        "(%" G_GUINT64_FORMAT " in all)",
			        (double)(h->next - t) / GST_MSECOND, h->dropped);
		return EGW_TS_NONE;
	}
	if (n && (peer = gst_pad_get_peer(pad))) {
		for (uint64_t i = 0; i < n; i++)
			if (gst_pad_chain(peer, egw_opus_empty_frame(toc, h->next + i * frame)) !=
			    GST_FLOW_OK)
				break;
		gst_object_unref(peer);
		h->filled += n;
		if (n * frame >= 100 * GST_MSECOND)
			EGW_LOG(log_id, DEBUG,
			        "audio: a hole of %.0f ms filled with empty frames "
			        "(%" G_GUINT64_FORMAT " in all)",
			        (double)(n * frame) / GST_MSECOND, h->filled);
	}
	h->next = at + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : frame);
	return at;
}
