#include "pipelines/retime.h"

void egw_timeline_init(egw_timeline_t *tl)
{
	tl->t0 = EGW_TS_NONE;
	tl->max_end = 0;
	tl->anchor_video = 0;
}

void egw_retime_stream_init(egw_retime_stream_t *st)
{
	st->last = EGW_TS_NONE;
	st->end = 0;
	st->clamped = 0;
	st->dropped = 0;
	st->max_back = 0;
}

int egw_timeline_waits(const egw_timeline_t *tl, int flags)
{
	return tl->t0 == EGW_TS_NONE && tl->anchor_video && (flags & EGW_RETIME_AUDIO) &&
	       !(flags & EGW_RETIME_GIVE_UP);
}

uint64_t egw_retime(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt, uint64_t duration,
		    int flags, uint64_t *out)
{
	int drop_late = flags & EGW_RETIME_AUDIO;
	uint64_t t, back = 0;

	if (egw_timeline_waits(tl, flags)) {
		*out = EGW_TS_WAIT;
		return 0;
	}
	if (tl->t0 == EGW_TS_NONE)
		tl->t0 = rt;
	/* A stream whose first buffers predate t0 (the streams reach the
	 * muxer on their own threads, in no particular order, and lip-sync
	 * may move one earlier) starts at 0 rather than before the file:
	 * video frames are clamped to 0, audio before t0 is dropped so that
	 * the samples after it keep their time. */
	if (rt < tl->t0 && drop_late) {
		st->dropped++;
		*out = EGW_TS_NONE;
		return 0;
	}
	t = rt > tl->t0 ? rt - tl->t0 : 0;
	if (st->last != EGW_TS_NONE && t < st->last) {
		back = st->last - t;
		if (back > st->max_back)
			st->max_back = back;
		if (drop_late) {
			st->dropped++;
			*out = EGW_TS_NONE;
			return back;
		}
		st->clamped++;
		t = st->last;
	}
	st->last = t;
	*out = t;
	if (t + duration > st->end)
		st->end = t + duration;
	if (t + duration > tl->max_end)
		tl->max_end = t + duration;
	return back;
}

uint64_t egw_retime_gap(const egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t *to)
{
	uint64_t from = st->end;

	if (st->last == EGW_TS_NONE || tl->max_end <= st->end + EGW_GAP_AFTER_NS)
		return EGW_TS_NONE;
	*to = tl->max_end - EGW_GAP_BEHIND_NS;
	st->end = *to;
	if (st->last < *to)
		st->last = *to;
	return from;
}

uint64_t egw_opus_frame_ns(uint8_t toc)
{
	static const uint64_t silk[4] = {10000000, 20000000, 40000000, 60000000};
	static const uint64_t celt[4] = {2500000, 5000000, 10000000, 20000000};
	unsigned config = toc >> 3;

	if (config < 12)
		return silk[config & 3];
	if (config < 16)
		return config & 1 ? 20000000 : 10000000; /* hybrid */
	return celt[config & 3];
}

uint64_t egw_audio_place(uint64_t next, uint64_t t, uint64_t frame_ns, uint64_t *fill)
{
	uint64_t tol = frame_ns * 3 / 4;

	*fill = 0;
	if (next == EGW_TS_NONE || !frame_ns)
		return t;
	if (t > next + tol) {
		if (t - next > EGW_GAP_FILL_MAX_NS)
			return t;
		*fill = (t - next + frame_ns / 2) / frame_ns;
		return next + *fill * frame_ns;
	}
	if (t + tol < next)
		return EGW_TS_NONE;
	return next;
}
