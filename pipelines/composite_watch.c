/* What the composite watches on its inputs (see composite_int.h): each
 * audio branch's loudness (for the active speaker, and mutes), each
 * camera's last picture (stalls), and, at debug, how late buffers reach
 * the mixers. Probes run on streaming threads and hand what they find to
 * the main context (egw_life_invoke) or leave it in atomics; the checks
 * run on the main context's tick. */
#include <math.h>

#include "base/log.h"
#include "pipelines/composite_int.h"

/* Loudness is reported to the compositor every LEVEL_WINDOW samples of
 * the branch's 48 kHz mono (100 ms). */
#define LEVEL_RATE 48000
#define LEVEL_WINDOW (LEVEL_RATE / 10)

/* ---- lateness (streaming thread) ----
 * How long after its time each buffer reaches its mixer (the mixers wait
 * MIX_LATENCY for it): logged per input every LATE_REPORT_US at debug, so
 * that a tile or a voice out of step can be told from its input. */
#define LATE_REPORT_US (5 * G_USEC_PER_SEC)

/* b's running time on its mixer's timeline (pad's offset applied), or
 * GST_CLOCK_TIME_NONE when it cannot be told (no timestamp, no segment). */
static GstClockTime mixer_time(GstPad *pad, GstBuffer *b)
{
	GstEvent *ev;
	const GstSegment *seg = NULL;
	GstClockTime rt = GST_CLOCK_TIME_NONE;

	if (!GST_BUFFER_PTS_IS_VALID(b) ||
	    !(ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)))
		return GST_CLOCK_TIME_NONE;
	gst_event_parse_segment(ev, &seg);
	if (seg->format == GST_FORMAT_TIME)
		rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
	gst_event_unref(ev);
	if (!GST_CLOCK_TIME_IS_VALID(rt) || (gint64)rt + gst_pad_get_offset(pad) < 0)
		return GST_CLOCK_TIME_NONE;
	return rt + gst_pad_get_offset(pad);
}

/* How long after its time (microseconds) a buffer at mixer time t (see
 * mixer_time) is there, by the mixer's clock. 0 with *known 0 when it
 * cannot be told (t unknown, the pipeline not playing yet). */
static gint64 lateness(struct input *in, GstClockTime t, int *known)
{
	GstElement *mixer = in->media == EGW_MEDIA_VIDEO ? in->g->vmix : in->g->amix;
	GstClock *clock;
	gint64 late;

	*known = 0;
	if (!GST_CLOCK_TIME_IS_VALID(t) || !(clock = gst_element_get_clock(mixer)))
		return 0;
	late = ((gint64)(gst_clock_get_time(clock) - gst_element_get_base_time(mixer)) -
	        (gint64)t) /
	       1000;
	gst_object_unref(clock);
	*known = 1;
	return late;
}

static GstPadProbeReturn late_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct input *in = user;
	gint64 late, now_us = g_get_monotonic_time();
	int known;

	late = lateness(in, mixer_time(pad, GST_PAD_PROBE_INFO_BUFFER(info)), &known);
	if (!known)
		return GST_PAD_PROBE_OK;
	if (!in->late_n || late < in->late_min)
		in->late_min = late;
	if (!in->late_n || late > in->late_max)
		in->late_max = late;
	in->late_sum += late;
	in->late_n++;
	if (!in->late_win_end)
		in->late_win_end = now_us + LATE_REPORT_US;
	if (now_us >= in->late_win_end) {
		EGW_LOG(in->g->log_id, DEBUG,
		        "%s's %s reaches the mixer %.1f ms after its time (%.1f to %.1f ms, "
		        "%" G_GINT64_FORMAT " buffers)",
		        in->participant, egw_media2str(in->media),
		        in->late_sum / 1000.0 / in->late_n, in->late_min / 1000.0,
		        in->late_max / 1000.0, in->late_n);
		in->late_n = 0;
		in->late_sum = 0;
		in->late_win_end = now_us + LATE_REPORT_US;
	}
	return GST_PAD_PROBE_OK;
}

/* ---- pictures too late to show (streaming thread) ----
 * A camera whose packets reach its branch more than EGW_BEHIND_DROP_MS
 * after their time (a decoder slower than real time on a starved machine,
 * a backlog in the jitter buffer behind it, a sender resuming with the
 * pictures it owed) would be decoded only for the compositor to throw the
 * pictures away, and its backlog would stay: such packets are dropped
 * before the depayloader, which then waits for a key frame and asks the
 * sender for one. That tile catches up (its last picture, then its
 * placeholder meanwhile); the rest of the canvas and the machine are
 * spared the work.
 *
 * Late means late for the canvas: behind the last frame the compositor
 * made, not only behind the clock. A compositor that itself runs behind
 * real time (a starved machine) still shows pictures that late by the
 * clock, and dropping them would empty every tile at once (seen under
 * the sanitizers: nine cameras rejoining together, all of them 1.5 s
 * late, all frozen). And a short hiccup (a thread starved for a second, a
 * few packets late) is not dropped: its pictures are lost anyway, but the
 * decoder keeps its references and the next picture shows, where a drop
 * would freeze the tile until a key frame. So a camera is dropped once it
 * has been late for EGW_BEHIND_SUSTAIN_MS, or at once when more than
 * EGW_BEHIND_FAR_MS late (a burst from a sender that resumed), and until
 * it is in time again. Audio is cheap to decode and left to the mixer. */
#define EGW_BEHIND_DROP_MS 1000
#define EGW_BEHIND_SUSTAIN_MS 1000
#define EGW_BEHIND_FAR_MS 3000

/* How far (microseconds) a picture at mixer time t is behind the last
 * frame the compositor made; 0 before its first. */
static gint64 behind_canvas(struct input *in, GstClockTime t)
{
	GstClockTime made;

	g_mutex_lock(&in->g->lock);
	made = in->g->last_pts[0];
	g_mutex_unlock(&in->g->lock);
	return GST_CLOCK_TIME_IS_VALID(made) ? ((gint64)made - (gint64)t) / 1000 : 0;
}

static GstPadProbeReturn behind_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct input *in = user;
	GstClockTime t = mixer_time(pad, GST_PAD_PROBE_INFO_BUFFER(info));
	int known, behind, drop = 0;
	gint64 late = lateness(in, t, &known);
	gint64 now_us;

	/* (by the clock first: cheap, and never less than behind the canvas) */
	if (known && late > EGW_BEHIND_DROP_MS * 1000)
		late = behind_canvas(in, t);
	behind = known && late > EGW_BEHIND_DROP_MS * 1000;
	if (!behind) {
		in->behind_first_us = 0;
		in->behind_dropping = 0;
		if (!in->behind_dropped)
			return GST_PAD_PROBE_OK;
	}
	now_us = g_get_monotonic_time();
	if (behind) {
		if (!in->behind_first_us)
			in->behind_first_us = now_us;
		drop = in->behind_dropping || late > EGW_BEHIND_FAR_MS * 1000 ||
		       now_us - in->behind_first_us >= EGW_BEHIND_SUSTAIN_MS * 1000;
		in->behind_dropping = drop;
	}
	if (drop) {
		if (!in->behind_dropped++)
			in->behind_since_us = now_us;
		if (late > in->behind_worst_us)
			in->behind_worst_us = late;
	}
	/* What was dropped is told once caught up, or every LATE_REPORT_US
	 * while it lasts; at most one line per input every LATE_REPORT_US (a
	 * starved machine drops in bursts). */
	if (in->behind_dropped && now_us - in->behind_reported_us >= LATE_REPORT_US &&
	    (!drop || now_us - in->behind_since_us >= LATE_REPORT_US)) {
		EGW_LOG(in->g->log_id, INFO,
		        "%s's video came too late to be shown: %" G_GINT64_FORMAT
		        " packets up to %.1f s behind the canvas dropped before decoding in %.1f "
		        "s%s",
		        in->participant, in->behind_dropped, in->behind_worst_us / 1e6,
		        (now_us - in->behind_since_us) / 1e6, drop ? ", still behind" : "");
		in->behind_reported_us = now_us;
		in->behind_dropped = 0;
		in->behind_worst_us = 0;
	}
	return drop ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

void egw_composite_watch_entry(struct input *in, GstPad *sink)
{
	if (in->media == EGW_MEDIA_VIDEO)
		gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, behind_probe, in, NULL);
}

/* ---- loudness (streaming thread) ---- */

struct level_report {
	char *track_id;
	double db;
};

static void level_report_free(gpointer p)
{
	struct level_report *lr = p;
	g_free(lr->track_id);
	g_free(lr);
}

/* Muted: what a muted browser microphone sends (digital silence), or
 * nothing, for this long; quiet rooms are far louder than EGW_MUTE_DB. */
#define EGW_MUTE_DB (-80.0)
#define EGW_MUTE_MS 1000

static void tell_mute(struct input *in, int muted)
{
	in->muted = muted;
	EGW_LOG(in->g->log_id, INFO, "%s %s", in->track_id, muted ? "muted" : "unmuted");
	egw_session_room_event(in->g->s, muted ? "muted" : "unmuted", in->participant,
	                       in->track_id);
}

static void on_level(void *target, void *data)
{
	struct composite *g = target;
	struct level_report *lr = data;
	gint64 now_ms = g_get_monotonic_time() / 1000;
	struct input *in = g_hash_table_lookup(g->inputs, lr->track_id);

	if (g->comp)
		egw_compositor_audio_level(g->comp, lr->track_id, lr->db, (uint64_t)now_ms);
	if (!in || (lr->db <= EGW_MUTE_DB && in->heard_ms))
		return; /* silent (counted from its first data) */
	in->heard_ms = now_ms;
	if (in->muted && lr->db > EGW_MUTE_DB)
		tell_mute(in, 0);
}

void egw_composite_check_mutes(struct composite *g)
{
	gint64 now_ms = g_get_monotonic_time() / 1000;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, g->inputs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct input *in = v;
		if (in->media == EGW_MEDIA_AUDIO && !in->muted && in->heard_ms &&
		    now_ms - in->heard_ms >= EGW_MUTE_MS)
			tell_mute(in, 1);
	}
}

/* ---- stalled pictures ---- */

/* Longer than the freezes packet loss causes (up to about 2 s at 10% loss,
 * until the next keyframe): a placeholder for what will not come back
 * soon, not a flicker for every lost keyframe. */
#define EGW_STALL_MS 3000

static GstPadProbeReturn picture_seen(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct input *in = user;
	__atomic_store_n(&in->last_pic_us, g_get_monotonic_time(), __ATOMIC_RELAXED);
	return GST_PAD_PROBE_OK;
}

void egw_composite_check_stalls(struct composite *g)
{
	gint64 now_us = g_get_monotonic_time();
	GHashTableIter it;
	gpointer v;

	if (!g->comp)
		return; /* a track composite holds its one picture */
	g_hash_table_iter_init(&it, g->inputs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct input *in = v;
		gint64 last = __atomic_load_n(&in->last_pic_us, __ATOMIC_RELAXED);
		int stalled;
		if (in->media != EGW_MEDIA_VIDEO)
			continue;
		/* a camera that never sent a picture counts from its arrival */
		stalled = now_us - (last ? last : in->added_us) >= EGW_STALL_MS * 1000;
		if (stalled == in->stalled)
			continue;
		in->stalled = stalled;
		if (stalled)
			EGW_LOG(g->log_id, INFO,
			        "no picture from %s (track %s) %s %.1f s: its placeholder instead",
			        in->participant, in->track_id, last ? "for" : "yet, after",
			        (now_us - (last ? last : in->added_us)) / 1e6);
		else
			EGW_LOG(g->log_id, INFO, "pictures from %s (track %s) again",
			        in->participant, in->track_id);
		egw_compositor_video_stalled(g->comp, in->track_id, stalled);
	}
}

static GstPadProbeReturn level_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct input *in = user;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstMapInfo map;

	if (!gst_buffer_map(buf, &map, GST_MAP_READ))
		return GST_PAD_PROBE_OK;
	for (size_t i = 0; i + sizeof(float) <= map.size; i += sizeof(float)) {
		float v;
		memcpy(&v, map.data + i, sizeof(v));
		in->sum_sq += (double)v * v;
		if (++in->n_samples < LEVEL_WINDOW)
			continue;
		struct level_report *lr = g_new(struct level_report, 1);
		double rms = sqrt(in->sum_sq / (double)in->n_samples);
		lr->track_id = g_strdup(in->track_id);
		lr->db = rms > 1e-7 ? 20.0 * log10(rms) : -127.0;
		egw_life_invoke(in->g->life, on_level, lr, level_report_free);
		in->sum_sq = 0;
		in->n_samples = 0;
	}
	gst_buffer_unmap(buf, &map);
	return GST_PAD_PROBE_OK;
}

void egw_composite_watch_level(struct input *in, GstPad *pad)
{
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, level_probe, in, NULL);
}

void egw_composite_watch_output(struct input *in, GstPad *src)
{
	if (egw_log_enabled(EGW_LOG_DEBUG)) /* its only reader: no work per buffer otherwise */
		gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, late_probe, in, NULL);
	if (in->media == EGW_MEDIA_VIDEO)
		gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, picture_seen, in, NULL);
}
