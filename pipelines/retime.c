#include "pipelines/retime.h"

void egw_timeline_init(egw_timeline_t *tl)
{
	tl->t0 = EGW_TS_NONE;
	tl->max_end = 0;
}

void egw_retime_stream_init(egw_retime_stream_t *st)
{
	st->last_dts = EGW_TS_NONE;
	st->clamped = 0;
	st->max_back = 0;
}

uint64_t egw_retime(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt_dts,
		    uint64_t pts_delta, uint64_t duration, uint64_t *out_dts, uint64_t *out_pts)
{
	uint64_t dts, back = 0, end;

	if (tl->t0 == EGW_TS_NONE)
		tl->t0 = rt_dts;
	/* A stream whose first buffer predates t0 (its lip-sync offset moved
	 * it earlier) starts at 0 rather than before the file. */
	dts = rt_dts > tl->t0 ? rt_dts - tl->t0 : 0;
	if (st->last_dts != EGW_TS_NONE && dts < st->last_dts) {
		back = st->last_dts - dts;
		st->clamped++;
		if (back > st->max_back)
			st->max_back = back;
		dts = st->last_dts;
	}
	st->last_dts = dts;
	*out_dts = dts;
	*out_pts = dts + pts_delta;
	end = *out_pts + duration;
	if (end > tl->max_end)
		tl->max_end = end;
	return back;
}
