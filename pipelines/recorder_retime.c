/* Re-timing of muxer input: every branch's timestamps are mapped from
 * pipeline running time to file time (the first buffer of any branch is
 * 0), kept monotonic per branch (RTCP sender reports may move the lip-sync
 * point backwards), and a new SFU session (participant republished) joins
 * the same timeline, leaving a gap rather than a reset. Audio that would
 * land before the file start or behind itself is dropped, not clamped
 * (see pipelines/retime.h): the branches run on their own threads, so the
 * first buffer here may be a video frame later than audio still on its
 * way, and stacking that audio at 0 delayed all audio by up to 40 ms. */
#include <gst/gst.h>

#include "pipelines/recorder_int.h"
#include "base/log.h"

/* How long audio waits for the first video frame (fragmented MP4). */
#define EGW_ANCHOR_WAIT_US (2 * G_USEC_PER_SEC)

static GstPadProbeReturn on_event(struct rec_branch *b, GstPadProbeInfo *info)
{
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	switch (GST_EVENT_TYPE(ev)) {
	case GST_EVENT_SEGMENT: {
		const GstSegment *seg;
		gst_event_parse_segment(ev, &seg);
		gst_segment_copy_into(seg, &b->in_seg);
		if (b->sent_segment)
			return GST_PAD_PROBE_DROP;
		GstSegment out;
		gst_segment_init(&out, GST_FORMAT_TIME);
		gst_event_unref(ev);
		GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_segment(&out);
		b->sent_segment = 1;
		return GST_PAD_PROBE_OK;
	}
	case GST_EVENT_STREAM_START:
		if (b->sent_stream_start)
			return GST_PAD_PROBE_DROP;
		b->sent_stream_start = 1;
		return GST_PAD_PROBE_OK;
	case GST_EVENT_CAPS: {
		GstCaps *caps;
		gst_event_parse_caps(ev, &caps);
		if (b->last_caps && gst_caps_is_equal(caps, b->last_caps))
			return GST_PAD_PROBE_DROP;
		gst_caps_replace(&b->last_caps, caps);
		return GST_PAD_PROBE_OK;
	}
	case GST_EVENT_FLUSH_START:
	case GST_EVENT_FLUSH_STOP:
		/* A flush from a departing SFU session must not reset the muxer. */
		return GST_PAD_PROBE_DROP;
	default:
		return GST_PAD_PROBE_OK;
	}
}

static GstClockTime to_running(struct rec_branch *b, GstClockTime ts)
{
	if (b->in_seg.format != GST_FORMAT_TIME)
		return ts;
	return gst_segment_to_running_time(&b->in_seg, GST_FORMAT_TIME, ts);
}

GstPadProbeReturn egw_recorder_retime_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct rec_branch *b = user;
	struct egw_recorder *rec = b->rec;
	GstBuffer *buf;
	GstClockTime ts, rt;
	uint64_t out, back;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
		return on_event(b, info);
	buf = GST_PAD_PROBE_INFO_BUFFER(info);
	/* PTS is the jitter buffer's smoothed, lip-synced time; DTS is the raw
	 * arrival time of the packet and would carry network jitter. */
	ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
	if (!GST_CLOCK_TIME_IS_VALID(ts))
		return GST_PAD_PROBE_DROP;
	rt = to_running(b, ts);
	if (!GST_CLOCK_TIME_IS_VALID(rt))
		return GST_PAD_PROBE_DROP;

	int flags = b->media == EGW_MEDIA_AUDIO ? EGW_RETIME_AUDIO : 0;
	gint64 deadline = g_get_monotonic_time() + EGW_ANCHOR_WAIT_US;
	g_mutex_lock(&rec->lock);
	for (;;) {
		back = egw_retime(&rec->timeline, &b->retime, rt,
				  GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0,
				  flags, &out);
		if (out != EGW_TS_WAIT)
			break;
		/* Hold this audio until the first video frame sets time 0. */
		if (rec->finishing || !g_cond_wait_until(&rec->anchor, &rec->lock, deadline))
			flags |= EGW_RETIME_GIVE_UP;
	}
	if (b->media == EGW_MEDIA_VIDEO)
		g_cond_broadcast(&rec->anchor);
	g_mutex_unlock(&rec->lock);
	if (back && (b->retime.clamped + b->retime.dropped) % 100 == 1)
		EGW_LOG(rec->job->egress_id, DEBUG, "%s timestamps went back %.1f ms; %s",
			b->media == EGW_MEDIA_AUDIO ? "audio" : "video", (double)back / GST_MSECOND,
			out == EGW_TS_NONE ? "dropped" : "clamped");
	if (out == EGW_TS_NONE)
		return GST_PAD_PROBE_DROP;

	buf = gst_buffer_make_writable(buf);
	GST_BUFFER_PTS(buf) = out;
	GST_BUFFER_DTS(buf) = out;
	GST_PAD_PROBE_INFO_DATA(info) = buf;
	return GST_PAD_PROBE_OK;
}
