/* compositor/schedule.c: a recording's publications and levels become
 * keys at the right times (grid: tiles appear, move and go as participants
 * publish, leave and come back; placeholders for a participant without
 * video; speaker: the stage follows the loudest participant after the
 * hysteresis, not before); the same input gives the same schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compositor/compositor.h"
#include "tests/unit/check.h"

#define W 1280
#define H 720

/* A: 0-10 s. B: 2-6 s, then 8-10 s. C: audio only, 4-10 s. */
static const double a_pub[] = {0.0, 10.0};
static const double b_pub[] = {2.0, 6.0, 8.0, 10.0};
static const double c_pub[] = {4.0, 10.0};

static float a_levels[100], b_levels[100];

static egw_schedule_track_t tracks[] = {
	{{"a/0", "a", "Alice", EGW_MEDIA_AUDIO, 0}, a_pub, 1, a_levels, 100},
	{{"a/1", "a", "Alice", EGW_MEDIA_VIDEO, 0}, a_pub, 1, NULL, 0},
	{{"b/0", "b", "Bob", EGW_MEDIA_AUDIO, 0}, b_pub, 2, b_levels, 100},
	{{"b/1", "b", "Bob", EGW_MEDIA_VIDEO, 0}, b_pub, 2, NULL, 0},
	{{"c/0", "c", "Chloe", EGW_MEDIA_AUDIO, 0}, c_pub, 1, NULL, 0},
};
#define N_TRACKS (sizeof(tracks) / sizeof(tracks[0]))

static egw_schedule_t *build(const char *layout_text)
{
	egw_compositor_options_t opt = {.width = W, .height = H, .labels = 1};
	egw_layout_t *layout = NULL;
	egw_schedule_t *s = NULL;
	char err[256];

	CHECK(egw_layout_parse(layout_text, "source.layout", W, H, &layout, err, sizeof(err)) ==
	      EGW_OK);
	CHECK(egw_schedule_build(&opt, layout, tracks, N_TRACKS, 100, 100, 10000, &s) == EGW_OK);
	CHECK(s != NULL);
	return s;
}

/* The key in force at ms. */
static const egw_schedule_key_t *at(const egw_schedule_lane_t *l, uint64_t ms)
{
	const egw_schedule_key_t *k = NULL;
	for (size_t i = 0; i < l->n_keys && l->keys[i].at_ms <= ms; i++)
		k = &l->keys[i];
	return k;
}

static const egw_schedule_lane_t *lane(const egw_schedule_t *s, const char *track_id,
                                       const char *participant_id)
{
	for (size_t i = 0; i < s->n_lanes; i++) {
		const egw_schedule_lane_t *l = &s->lanes[i];
		if (track_id ? l->track_id && !strcmp(l->track_id, track_id)
		             : !l->track_id && !strcmp(l->participant_id, participant_id))
			return l;
	}
	return NULL;
}

static void test_grid(void)
{
	egw_schedule_t *s = build("grid");
	const egw_schedule_lane_t *av = lane(s, "a/1", NULL), *bv = lane(s, "b/1", NULL),
	                          *ba = lane(s, "b/0", NULL), *cp = lane(s, NULL, "c");

	CHECK(av && bv && ba && cp);
	if (!av || !bv || !ba || !cp)
		goto out;
	/* keys in time order, the first at 0 */
	for (size_t i = 0; i < s->n_lanes; i++) {
		CHECK(s->lanes[i].n_keys > 0 && s->lanes[i].keys[0].at_ms == 0);
		for (size_t k = 1; k < s->lanes[i].n_keys; k++)
			CHECK(s->lanes[i].keys[k].at_ms > s->lanes[i].keys[k - 1].at_ms);
	}
	/* Alice alone: the whole canvas */
	CHECK(at(av, 0)->shown && at(av, 0)->width == W && at(av, 0)->height == H);
	CHECK(!at(bv, 1999)->shown && at(bv, 2000)->shown);
	CHECK(at(av, 2000)->width < W); /* two cells */
	CHECK(at(ba, 2000)->shown && at(ba, 2000)->gain == 1.0);
	/* Bob leaves at 6 s and comes back at 8 s: gone between */
	CHECK(at(bv, 5999)->shown && !at(bv, 6000)->shown && !at(bv, 7999)->shown);
	CHECK(!at(ba, 7000)->shown && at(ba, 8000)->shown);
	CHECK(at(bv, 8000)->shown);
	/* Chloé, audio only: a placeholder from 4 s, with her initials */
	CHECK(!at(cp, 3999)->shown && at(cp, 4000)->shown);
	CHECK_STR(cp->initials, "C");
	CHECK_STR(cp->label, "Chloe");
	CHECK(cp->color != 0);
	/* Alice's tile kept its place when Bob left (first cell of two, then
	 * of three with Chloé's placeholder, then of two again) */
	CHECK(at(av, 6500)->shown && at(av, 6500)->x == 0);
out:
	egw_schedule_free(s);
}

static void test_speaker(void)
{
	egw_schedule_t *s;
	const egw_schedule_lane_t *av, *bv;

	/* Alice speaks 0-3 s, Bob from 3 s (he leaves at 6 s). */
	for (int i = 0; i < 100; i++) {
		a_levels[i] = i < 30 ? -20.0f : -90.0f;
		b_levels[i] = i < 30 ? -90.0f : -20.0f;
	}
	s = build("speaker");
	av = lane(s, "a/1", NULL);
	bv = lane(s, "b/1", NULL);
	CHECK(av && bv);
	if (av && bv) {
		/* the stage is the larger tile: Alice's until Bob has spoken
		 * for the sustain time (and Alice held it long enough) */
		CHECK(at(av, 2900)->width > at(bv, 2900)->width);
		CHECK(at(av, 3000 + EGW_SPEAKER_SUSTAIN_MS - 200)->width >
		      at(bv, 3000 + EGW_SPEAKER_SUSTAIN_MS - 200)->width);
		CHECK(at(bv, 3000 + EGW_SPEAKER_SUSTAIN_MS + 600)->width >
		      at(av, 3000 + EGW_SPEAKER_SUSTAIN_MS + 600)->width);
		/* Bob leaves at 6 s: Alice at once */
		CHECK(at(av, 6000)->width == W);
		/* ...and he takes it again once back and speaking for the
		 * sustain time: 3 changes in all */
		CHECK(at(av, 8000 + EGW_SPEAKER_SUSTAIN_MS - 200)->width == W ||
		      at(av, 8000 + EGW_SPEAKER_SUSTAIN_MS - 200)->width >
		              at(bv, 8000 + EGW_SPEAKER_SUSTAIN_MS - 200)->width);
		CHECK(at(bv, 9900)->width > at(av, 9900)->width);
		CHECK(s->n_speaker_changes == 3);
	}
	/* deterministic */
	{
		egw_schedule_t *again = build("speaker");
		CHECK(again->n_lanes == s->n_lanes);
		for (size_t i = 0; i < s->n_lanes && i < again->n_lanes; i++) {
			CHECK(again->lanes[i].n_keys == s->lanes[i].n_keys);
			if (again->lanes[i].n_keys == s->lanes[i].n_keys)
				CHECK(!memcmp(again->lanes[i].keys, s->lanes[i].keys,
				              s->lanes[i].n_keys * sizeof(egw_schedule_key_t)));
		}
		egw_schedule_free(again);
	}
	egw_schedule_free(s);
}

static void test_bad(void)
{
	egw_compositor_options_t opt = {.width = W, .height = H};
	egw_layout_t *layout = NULL;
	egw_schedule_t *s = (egw_schedule_t *)1;
	char err[64];

	CHECK(egw_layout_parse("grid", "source.layout", W, H, &layout, err, sizeof(err)) == 0);
	CHECK(egw_schedule_build(&opt, layout, tracks, N_TRACKS, 0, 100, 1000, &s) ==
	      EGW_ERR_INVALID_REQUEST);
	CHECK(s == NULL);
	/* nothing at all: one empty scene */
	CHECK(egw_layout_parse("grid", "source.layout", W, H, &layout, err, sizeof(err)) == 0);
	CHECK(egw_schedule_build(&opt, layout, NULL, 0, 100, 100, 0, &s) == EGW_OK);
	CHECK(s && s->n_lanes == 0);
	egw_schedule_free(s);
}

int main(void)
{
	test_grid();
	test_speaker();
	test_bad();
	return CHECK_DONE();
}
