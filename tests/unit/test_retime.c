/* The recording timeline: zero start, per-stream monotonicity, gaps kept. */
#include "pipelines/retime.h"
#include "tests/unit/check.h"

#define MS 1000000ULL

static uint64_t put(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt_ms, uint64_t *back)
{
	uint64_t out;
	*back = egw_retime(tl, st, rt_ms * MS, 20 * MS, &out);
	return out / MS;
}

static void first_buffer_is_zero(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a, v;
	uint64_t back;
	egw_timeline_init(&tl);
	egw_retime_stream_init(&a);
	egw_retime_stream_init(&v);
	CHECK(put(&tl, &a, 1500, &back) == 0);
	CHECK(put(&tl, &v, 1530, &back) == 30);  /* video joins the same timeline */
	CHECK(put(&tl, &a, 1520, &back) == 20);
	CHECK(put(&tl, &v, 1510, &back) == 30); /* stepped back 20 ms: clamped */
	CHECK(back == 20 * MS);
	CHECK(v.clamped == 1 && v.max_back == 20 * MS);
	CHECK(tl.max_end == 50 * MS); /* latest end: video at 30 ms + 20 ms */
}

static void late_stream_before_t0_starts_at_zero(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a, v;
	uint64_t back;
	egw_timeline_init(&tl);
	egw_retime_stream_init(&a);
	egw_retime_stream_init(&v);
	CHECK(put(&tl, &a, 1000, &back) == 0);
	CHECK(put(&tl, &v, 900, &back) == 0); /* lip-sync put it before the file start */
	CHECK(back == 0);
	CHECK(put(&tl, &v, 1033, &back) == 33);
}

static void gaps_are_kept(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a;
	uint64_t back;
	egw_timeline_init(&tl);
	egw_retime_stream_init(&a);
	CHECK(put(&tl, &a, 100, &back) == 0);
	CHECK(put(&tl, &a, 120, &back) == 20);
	/* the participant left for 3 s and came back in a new session */
	CHECK(put(&tl, &a, 3120, &back) == 3020);
	CHECK(back == 0 && a.clamped == 0);
}

int main(void)
{
	first_buffer_is_zero();
	late_stream_before_t0_starts_at_zero();
	gaps_are_kept();
	return CHECK_DONE();
}
