#include "pipelines/retime.h"

void egw_timeline_init(egw_timeline_t *tl)
{
	tl->t0 = EGW_TS_NONE;
	tl->max_end = 0;
}

void egw_retime_stream_init(egw_retime_stream_t *st)
{
	st->last = EGW_TS_NONE;
	st->clamped = 0;
	st->max_back = 0;
}

uint64_t egw_retime(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt, uint64_t duration,
		    uint64_t *out)
{
	uint64_t t, back = 0;

	if (tl->t0 == EGW_TS_NONE)
		tl->t0 = rt;
	/* A stream whose first buffer predates t0 (its lip-sync offset moved
	 * it earlier) starts at 0 rather than before the file. */
	t = rt > tl->t0 ? rt - tl->t0 : 0;
	if (st->last != EGW_TS_NONE && t < st->last) {
		back = st->last - t;
		st->clamped++;
		if (back > st->max_back)
			st->max_back = back;
		t = st->last;
	}
	st->last = t;
	*out = t;
	if (t + duration > tl->max_end)
		tl->max_end = t + duration;
	return back;
}
