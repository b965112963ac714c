/* Helpers shared by the compositor's unit tests (test_compositor*.c): a
 * 1280x720 canvas, 25 named participants joining with audio and a camera
 * (or a placeholder), speaking levels, the geometry every scene keeps. */
#ifndef EGW_TEST_COMPOSITOR_UTIL_H
#define EGW_TEST_COMPOSITOR_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compositor/compositor.h"
#include "tests/unit/check.h"

#define W 1280
#define H 720

static const char *const names[] __attribute__((unused)) = {
	"Alice Brown", "bob",        "Chloé Dupont", "Dev Patel",   "Emma Lind",
	"Femi Adeyemi", "Grace Ho",  "Hugo Martin",  "Ines Costa",  "Jonas Berg",
	"Kira Novak",  "Liam Walsh", "Maya Singh",   "Noah Weber",  "Olga Smirnova",
	"Pablo Ruiz",  "Qin Wei",    "Rosa Mendes",  "Sam Lee",     "Tara Nair",
	"Umar Farouk", "Vera Klein", "Wen Zhao",     "Yuki Mori",   "Zoe Adams",
};

/* The custom layout of the golden files: the four oldest sources on the
 * left, the four newest (Alice never) in a column on the right. */
static const char *const custom_two_regions __attribute__((unused)) =
	"{\"regions\":[{\"name\":\"main\",\"x\":0,\"y\":0,\"width\":960,\"height\":720,"
	"\"max_columns\":2,\"max_rows\":2,\"reuse\":\"show_oldest\"},"
	"{\"name\":\"side\",\"x\":964,\"y\":0,\"width\":316,\"height\":720,\"z\":1,"
	"\"max_columns\":1,\"max_rows\":4,\"exclude\":[\"Alice Brown\"],"
	"\"reuse\":\"show_newest\"}]}";

static inline egw_layout_t *layout(const char *text)
{
	char err[256] = "";
	egw_layout_t *l = NULL;

	if (egw_layout_parse(text, "source.layout", W, H, &l, err, sizeof(err)))
		fprintf(stderr, "layout refused: %s\n", err);
	CHECK(l != NULL);
	return l;
}

static inline egw_compositor_t *compositor(const char *layout_text, egw_mix_mode_t mix,
				    const char *mix_participant)
{
	egw_compositor_options_t opt = {.width = W, .height = H, .labels = 1, .mix = mix,
					.mix_participant = mix_participant};
	egw_compositor_t *c = egw_compositor_new(&opt, layout(layout_text));
	CHECK(c != NULL);
	return c;
}

static inline void add(egw_compositor_t *c, int i, int mid, egw_media_t media, int screen)
{
	char pid[16], tid[32];
	egw_comp_track_t t = {.track_id = tid, .participant_id = pid,
			      .participant_name = names[(i - 1) % 25], .media = media,
			      .screen = screen};

	snprintf(pid, sizeof(pid), "p%02d", i);
	snprintf(tid, sizeof(tid), "p%02d/%d", i, mid);
	egw_compositor_add_track(c, &t);
}

static inline void drop(egw_compositor_t *c, int i, int mid)
{
	char tid[32];
	snprintf(tid, sizeof(tid), "p%02d/%d", i, mid);
	egw_compositor_remove_track(c, tid);
}

/* Participant i: audio (mid 0), a camera (mid 1) unless i % 4 == 3 (a
 * placeholder). */
static inline void join(egw_compositor_t *c, int i)
{
	add(c, i, 0, EGW_MEDIA_AUDIO, 0);
	if (i % 4 != 3)
		add(c, i, 1, EGW_MEDIA_VIDEO, 0);
}

static inline void leave(egw_compositor_t *c, int i)
{
	drop(c, i, 0);
	drop(c, i, 1);
	drop(c, i, 2);
}

/* Participant i speaks at db from `from` to `to` (ms), levels every
 * 100 ms, the scene updated after each. */
static inline void speak(egw_compositor_t *c, int i, double db, uint64_t from, uint64_t to)
{
	char tid[32];
	snprintf(tid, sizeof(tid), "p%02d/0", i);
	for (uint64_t t = from; t < to; t += 100) {
		egw_compositor_audio_level(c, tid, db, t);
		egw_compositor_update(c, t);
	}
}

static inline const char *speaker(egw_compositor_t *c)
{
	const char *id = egw_compositor_scene(c)->speaker_id;
	return id ? id : "(none)";
}

/* ---- geometry ---- */

static inline int overlap(const egw_tile_t *a, const egw_tile_t *b)
{
	return a->x < b->x + b->width && b->x < a->x + a->width && a->y < b->y + b->height &&
	       b->y < a->y + a->height;
}

/* Every tile inside the canvas with even numbers; none overlapping. */
static inline void check_geometry(const egw_scene_t *s, const char *what)
{
	int bad = 0;

	for (size_t i = 0; i < s->n_tiles; i++) {
		const egw_tile_t *t = &s->tiles[i];
		if (t->x < 0 || t->y < 0 || t->width < 2 || t->height < 2 ||
		    t->x + t->width > W || t->y + t->height > H || (t->x | t->y) & 1 ||
		    (t->width | t->height) & 1)
			bad++;
		for (size_t j = 0; j < i; j++)
			bad += overlap(t, &s->tiles[j]);
		if (i && s->tiles[i - 1].z > t->z)
			bad++; /* drawn in z order */
	}
	if (bad)
		fprintf(stderr, "%s: %d geometry problems\n", what, bad);
	CHECK(bad == 0);
}


/* The participants of the tiles, in order, as "p01 p02 ...". */
static inline const char *order(egw_compositor_t *c, char *buf, size_t size)
{
	const egw_scene_t *s = egw_compositor_scene(c);

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_tiles; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s%s", i ? " " : "", s->tiles[i].participant_id,
			 s->tiles[i].track_id && strstr(s->tiles[i].track_id, "/2") ? "s" : "");
	}
	return buf;
}

#define QUIET (-90.0)
#define NONE 1.0 /* no level sent */

/* Levels for participants 1 to 3 (their audio tracks) every 100 ms from
 * `from` to `to`, the scene updated after each. */
static inline void levels(egw_compositor_t *c, double p1, double p2, double p3, uint64_t from,
		   uint64_t to)
{
	const double db[3] = {p1, p2, p3};

	for (uint64_t t = from; t < to; t += 100) {
		for (int i = 0; i < 3; i++) {
			char tid[32];
			snprintf(tid, sizeof(tid), "p%02d/0", i + 1);
			if (db[i] <= 0.0)
				egw_compositor_audio_level(c, tid, db[i], t);
		}
		egw_compositor_update(c, t);
	}
}

#endif
