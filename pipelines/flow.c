/* Flow measurements (see flow.h): a buffer probe per stream keeps the
 * newest running time per media and counts the video frames. */
#include "pipelines/flow.h"

struct egw_flow {
	int fps;
	gint n_video;          /* video streams watched */
	gint64 newest_rt[3];   /* by egw_media_t, ns; -1: none yet */
	gint64 first_video_rt; /* ns; -1: none yet */
	gint64 frames;
};

typedef struct watch {
	egw_flow_t *f;
	egw_media_t media;
} watch_t;

static void raise_to(gint64 *at, gint64 v)
{
	gint64 cur = __atomic_load_n(at, __ATOMIC_RELAXED);
	while (v > cur &&
	       !__atomic_compare_exchange_n(at, &cur, v, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void count(watch_t *w, const GstSegment *seg, GstBuffer *buf)
{
	guint64 rt;
	if (!GST_BUFFER_PTS_IS_VALID(buf) || GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_HEADER))
		return;
	rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	if (rt == GST_CLOCK_TIME_NONE || rt > G_MAXINT64)
		return;
	raise_to(&w->f->newest_rt[w->media], (gint64)rt);
	if (w->media == EGW_MEDIA_VIDEO) {
		gint64 none = -1;
		__atomic_compare_exchange_n(&w->f->first_video_rt, &none, (gint64)rt, 0,
		                            __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->f->frames, 1, __ATOMIC_RELAXED);
	}
}

static GstPadProbeReturn on_data(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	const GstSegment *seg = NULL;
	if (!ev)
		return GST_PAD_PROBE_OK;
	gst_event_parse_segment(ev, &seg);
	if (seg->format == GST_FORMAT_TIME) {
		if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
			count(user, seg, GST_PAD_PROBE_INFO_BUFFER(info));
		} else {
			GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
			for (guint i = 0; list && i < gst_buffer_list_length(list); i++)
				count(user, seg, gst_buffer_list_get(list, i));
		}
	}
	gst_event_unref(ev);
	return GST_PAD_PROBE_OK;
}

egw_flow_t *egw_flow_new(int fps)
{
	egw_flow_t *f = g_new0(egw_flow_t, 1);
	f->fps = fps;
	for (size_t i = 0; i < G_N_ELEMENTS(f->newest_rt); i++)
		f->newest_rt[i] = -1;
	f->first_video_rt = -1;
	return f;
}

void egw_flow_watch(egw_flow_t *f, egw_media_t media, GstPad *pad)
{
	watch_t *w;
	if (media != EGW_MEDIA_AUDIO && media != EGW_MEDIA_VIDEO)
		return;
	w = g_new0(watch_t, 1);
	w->f = f;
	w->media = media;
	if (media == EGW_MEDIA_VIDEO)
		g_atomic_int_inc(&f->n_video);
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_data,
	                  w, g_free);
}

void egw_flow_read(egw_flow_t *f, egw_flow_stats_t *out)
{
	gint64 audio = __atomic_load_n(&f->newest_rt[EGW_MEDIA_AUDIO], __ATOMIC_RELAXED);
	gint64 video = __atomic_load_n(&f->newest_rt[EGW_MEDIA_VIDEO], __ATOMIC_RELAXED);
	gint64 first = __atomic_load_n(&f->first_video_rt, __ATOMIC_RELAXED);
	gint64 frames = __atomic_load_n(&f->frames, __ATOMIC_RELAXED);

	*out = (egw_flow_stats_t){0};
	if (audio >= 0 && video >= 0) {
		out->has_skew = 1;
		out->av_skew_s = (double)(video - audio) / GST_SECOND;
	}
	if (f->fps > 0 && g_atomic_int_get(&f->n_video) == 1 && first >= 0) {
		/* frames due from the first one's running time to the newest's */
		long long due =
		        (long long)((double)(video - first) * f->fps / GST_SECOND + 0.5) + 1;
		out->has_frames = 1;
		out->video_frames = frames;
		out->video_frames_dropped = due > frames ? due - frames : 0;
	}
}

void egw_flow_free(egw_flow_t *f)
{
	g_free(f);
}
