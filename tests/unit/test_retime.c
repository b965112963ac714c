/* The recording timeline: zero start, per-stream monotonicity, gaps kept,
 * audio dropped rather than stacked when it lies behind, the gaps a quiet
 * stream announces; how many empty
 * frames fill an Opus hole, and the frame length of every TOC. */
#include "pipelines/retime.h"
#include "tests/unit/check.h"

#define MS 1000000ULL

#define DROPPED UINT64_MAX

static uint64_t map(egw_timeline_t *tl, egw_retime_stream_t *st, int audio, uint64_t rt_ms,
		    uint64_t *back)
{
	uint64_t out;
	*back = egw_retime(tl, st, rt_ms * MS, 20 * MS, audio, &out);
	return out == EGW_TS_NONE ? DROPPED : out / MS;
}

/* A stream that is clamped when it lies behind (video). */
static uint64_t put(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt_ms, uint64_t *back)
{
	return map(tl, st, 0, rt_ms, back);
}

/* A stream that is dropped when it lies behind (audio). */
static uint64_t put_audio(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt_ms,
			  uint64_t *back)
{
	return map(tl, st, 1, rt_ms, back);
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

/* The video branch reached the muxer first although audio started 32 ms
 * earlier: stacking that audio at 0 would make every later sample 32 ms
 * late; dropping it keeps the audio on the video's timeline. */
static void audio_before_t0_is_dropped(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a, v;
	uint64_t back;
	egw_timeline_init(&tl);
	egw_retime_stream_init(&a);
	egw_retime_stream_init(&v);
	CHECK(put(&tl, &v, 1032, &back) == 0);
	CHECK(put_audio(&tl, &a, 1000, &back) == DROPPED);
	CHECK(back == 0);
	CHECK(put_audio(&tl, &a, 1020, &back) == DROPPED); /* ends after t0: still dropped */
	CHECK(put_audio(&tl, &a, 1040, &back) == 8);
	CHECK(put_audio(&tl, &a, 1060, &back) == 28);
	CHECK(put(&tl, &v, 1065, &back) == 33);
	CHECK(a.dropped == 2 && a.clamped == 0 && v.clamped == 0);
	CHECK(tl.max_end == 53 * MS);
}

static void audio_stepping_back_is_dropped(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a;
	uint64_t back;
	egw_timeline_init(&tl);
	egw_retime_stream_init(&a);
	CHECK(put_audio(&tl, &a, 500, &back) == 0);
	CHECK(put_audio(&tl, &a, 520, &back) == 20);
	CHECK(put_audio(&tl, &a, 515, &back) == DROPPED); /* lip-sync moved it back 25 ms */
	CHECK(back == 5 * MS);
	CHECK(put_audio(&tl, &a, 535, &back) == 35);
	CHECK(back == 0);
	CHECK(a.dropped == 1 && a.clamped == 0 && a.max_back == 5 * MS);
	CHECK(tl.max_end == 55 * MS);
}

/* Fragmented MP4: the first video frame is time 0; audio that comes first
 * waits for it, then what lies before time 0 is dropped. */
static void mp4_anchors_on_video(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a, v;
	uint64_t out;
	egw_timeline_init(&tl);
	tl.anchor_video = 1;
	egw_retime_stream_init(&a);
	egw_retime_stream_init(&v);
	egw_retime(&tl, &a, 1000 * MS, 20 * MS, EGW_RETIME_AUDIO, &out);
	CHECK(out == EGW_TS_WAIT);
	egw_retime(&tl, &v, 1033 * MS, 33 * MS, 0, &out);
	CHECK(out == 0);
	egw_retime(&tl, &a, 1000 * MS, 20 * MS, EGW_RETIME_AUDIO, &out); /* the held one */
	CHECK(out == EGW_TS_NONE);
	egw_retime(&tl, &a, 1040 * MS, 20 * MS, EGW_RETIME_AUDIO, &out);
	CHECK(out == 7 * MS);
	CHECK(a.dropped == 1);
}

/* ...but not forever: when the caller gives up, audio sets time 0. */
static void mp4_without_video_gives_up(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a;
	uint64_t out;
	egw_timeline_init(&tl);
	tl.anchor_video = 1;
	egw_retime_stream_init(&a);
	egw_retime(&tl, &a, 1000 * MS, 20 * MS, EGW_RETIME_AUDIO | EGW_RETIME_GIVE_UP, &out);
	CHECK(out == 0);
	egw_retime(&tl, &a, 1020 * MS, 20 * MS, EGW_RETIME_AUDIO, &out);
	CHECK(out == 20 * MS);
}

static void opus_frame_lengths(void)
{
	/* TOC config (bits 7-3): SILK 0-11, hybrid 12-15, CELT 16-31; the
	 * stereo and code bits do not change the frame length */
	CHECK(egw_opus_frame_ns(0 << 3) == 10 * MS);
	CHECK(egw_opus_frame_ns(1 << 3) == 20 * MS);
	CHECK(egw_opus_frame_ns(11 << 3) == 60 * MS);
	CHECK(egw_opus_frame_ns(12 << 3) == 10 * MS);
	CHECK(egw_opus_frame_ns(13 << 3) == 20 * MS);
	CHECK(egw_opus_frame_ns(16 << 3) == 2500000);
	CHECK(egw_opus_frame_ns(31 << 3 | 0x7) == 20 * MS); /* fullband 20 ms, what WebRTC sends */
	CHECK(egw_opus_frame_ns(0xfc) == 20 * MS);
}

static uint64_t place(uint64_t next, uint64_t t, uint64_t *fill)
{
	return egw_audio_place(next, t, 20 * MS, fill);
}

/* Holes filled, jitter absorbed, overlaps dropped: a stream kept
 * contiguous whatever its input times do. */
static void audio_kept_contiguous(void)
{
	uint64_t fill = 9, next, t;

	CHECK(place(EGW_TS_NONE, 500 * MS, &fill) == 500 * MS && fill == 0);  /* the first */
	CHECK(place(1000 * MS, 1000 * MS, &fill) == 1000 * MS && fill == 0);  /* back to back */
	CHECK(place(1000 * MS, 1009 * MS, &fill) == 1000 * MS && fill == 0);  /* jitter */
	CHECK(place(1000 * MS, 1014 * MS, &fill) == 1000 * MS && fill == 0);  /* starved */
	CHECK(place(1000 * MS, 986 * MS, &fill) == 1000 * MS && fill == 0);   /* early */
	CHECK(place(1000 * MS, 1020 * MS, &fill) == 1020 * MS && fill == 1);  /* one lost */
	CHECK(place(1000 * MS, 1016 * MS, &fill) == 1020 * MS && fill == 1);  /* one, early */
	CHECK(place(1000 * MS, 1061 * MS, &fill) == 1060 * MS && fill == 3);  /* three */
	CHECK(place(1000 * MS, 984 * MS, &fill) == EGW_TS_NONE && fill == 0); /* overlaps */
	CHECK(place(1000 * MS, 900 * MS, &fill) == EGW_TS_NONE);
	CHECK(place(0, 60000 * MS, &fill) == 60000 * MS && fill == 3000); /* a minute away */
	CHECK(place(0, EGW_GAP_FILL_MAX_NS + 20 * MS, &fill) == EGW_GAP_FILL_MAX_NS + 20 * MS &&
	      fill == 0); /* too long: stays a hole */
	CHECK(egw_audio_place(100 * MS, 300 * MS, 0, &fill) == 300 * MS && fill == 0);

	/* A starved receiver's times: each packet 20 ms on, one of them 13 ms
	 * late, then 20 ms frames again. Before, the late one counted as a
	 * hole (filled) and the ones after it overlapped it: 20 ms of audio
	 * more than time, each time it happened. */
	next = EGW_TS_NONE;
	for (int i = 0, filled = 0; i < 200; i++) {
		t = i * 20 * MS + (i % 50 == 25 ? 13 * MS : 0);
		uint64_t at = place(next, t, &fill);
		CHECK(at != EGW_TS_NONE);
		filled += (int)fill;
		if (at != EGW_TS_NONE)
			next = at + 20 * MS;
		if (i == 199)
			CHECK(filled == 0 && next == 200 * 20 * MS);
	}
	/* A clock a little fast (+1 ms per 20): a frame dropped now and then,
	 * never more than 15 ms between a packet's time and its place. */
	next = EGW_TS_NONE;
	for (int i = 0, dropped = 0; i < 400; i++) {
		t = (uint64_t)i * 19 * MS;
		uint64_t at = place(next, t, &fill);
		if (at == EGW_TS_NONE) {
			dropped++;
			continue;
		}
		CHECK(fill == 0 && (at >= t ? at - t : t - at) <= 15 * MS);
		next = at + 20 * MS;
		if (i == 399)
			CHECK(dropped >= 18 && dropped <= 21);
	}
}

/* A camera that stops while the audio goes on: a gap is announced for it
 * once the audio is 1.5 s ahead, up to 0.5 s behind the audio, and again
 * as the audio goes on; what the camera sends late after it is clamped to
 * the gap's end; a stream that never began announces nothing. */
static void quiet_stream_announces_gaps(void)
{
	egw_timeline_t tl;
	egw_retime_stream_t a, v, never;
	uint64_t back, to = 0, rt;
	egw_timeline_init(&tl);
	egw_retime_stream_init(&a);
	egw_retime_stream_init(&v);
	egw_retime_stream_init(&never);
	CHECK(put(&tl, &v, 1000, &back) == 0);
	CHECK(put_audio(&tl, &a, 1000, &back) == 0);
	CHECK(egw_retime_gap(&tl, &v, &to) == EGW_TS_NONE); /* both at 20 ms */
	for (rt = 1020; rt <= 2500; rt += 20)               /* the camera stops at 20 ms */
		CHECK(put_audio(&tl, &a, rt, &back) == rt - 1000);
	CHECK(tl.max_end == 1520 * MS);
	CHECK(egw_retime_gap(&tl, &v, &to) == EGW_TS_NONE); /* 1.5 s ahead: not more */
	CHECK(put_audio(&tl, &a, 2520, &back) == 1520);
	CHECK(egw_retime_gap(&tl, &v, &to) == 20 * MS && to == 1040 * MS);
	CHECK(v.end == 1040 * MS);
	CHECK(egw_retime_gap(&tl, &v, &to) == EGW_TS_NONE); /* announced up to there */
	CHECK(egw_retime_gap(&tl, &a, &to) == EGW_TS_NONE); /* the audio is the newest */
	CHECK(egw_retime_gap(&tl, &never, &to) == EGW_TS_NONE);
	for (rt = 2540; rt <= 4100; rt += 20)
		put_audio(&tl, &a, rt, &back);
	CHECK(egw_retime_gap(&tl, &v, &to) == 1040 * MS && to == 2620 * MS);
	/* A frame sent before the gap's end comes late: clamped to it; the
	 * next ones keep their time. */
	CHECK(put(&tl, &v, 3500, &back) == 2620 && back == 120 * MS);
	CHECK(put(&tl, &v, 3700, &back) == 2700 && back == 0);
}

int main(void)
{
	opus_frame_lengths();
	audio_kept_contiguous();
	mp4_anchors_on_video();
	mp4_without_video_gives_up();
	first_buffer_is_zero();
	late_stream_before_t0_starts_at_zero();
	gaps_are_kept();
	audio_before_t0_is_dropped();
	audio_stepping_back_is_dropped();
	quiet_stream_announces_gaps();
	return CHECK_DONE();
}
