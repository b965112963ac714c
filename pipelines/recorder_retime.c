/* Re-timing of muxer input: every branch's timestamps are mapped from
 * pipeline running time to file time (the first buffer of any branch is
 * 0), kept monotonic per branch (RTCP sender reports may move the lip-sync
 * point backwards), and a new SFU session (participant republished) joins
 * the same timeline, leaving a gap rather than a reset. */
#include <gst/gst.h>

#include "pipelines/recorder_int.h"
#include "worker/log.h"

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
	GstClockTime pts, dts, rt, out_dts, out_pts, t0;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
		return on_event(b, info);
	buf = GST_PAD_PROBE_INFO_BUFFER(info);
	pts = GST_BUFFER_PTS(buf);
	dts = GST_BUFFER_DTS(buf);
	if (!GST_CLOCK_TIME_IS_VALID(dts) && !GST_CLOCK_TIME_IS_VALID(pts))
		return GST_PAD_PROBE_DROP;
	rt = to_running(b, GST_CLOCK_TIME_IS_VALID(dts) ? dts : pts);
	if (!GST_CLOCK_TIME_IS_VALID(rt))
		return GST_PAD_PROBE_DROP;

	g_mutex_lock(&rec->lock);
	if (!rec->have_t0) {
		rec->t0 = rt;
		rec->have_t0 = 1;
	}
	t0 = rec->t0;
	g_mutex_unlock(&rec->lock);

	out_dts = rt > t0 ? rt - t0 : 0;
	if (GST_CLOCK_TIME_IS_VALID(b->last_dts) && out_dts < b->last_dts) {
		if (b->clamped++ % 100 == 0)
			EGW_LOG(rec->job->egress_id, DEBUG, "%s timestamps went back %.1f ms; clamped",
				b->media == EGW_MEDIA_AUDIO ? "audio" : "video",
				(double)(b->last_dts - out_dts) / GST_MSECOND);
		out_dts = b->last_dts;
	}
	out_pts = out_dts;
	if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(dts) && pts > dts)
		out_pts = out_dts + (pts - dts);
	b->last_dts = out_dts;

	buf = gst_buffer_make_writable(buf);
	GST_BUFFER_PTS(buf) = out_pts;
	GST_BUFFER_DTS(buf) = out_dts;
	GST_PAD_PROBE_INFO_DATA(info) = buf;

	GstClockTime end = out_pts + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
	g_mutex_lock(&rec->lock);
	if (end > rec->max_end)
		rec->max_end = end;
	g_mutex_unlock(&rec->lock);
	return GST_PAD_PROBE_OK;
}
