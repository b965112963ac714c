/* compositor/: every layout with 1 to 25 participants against golden files
 * (tests/unit/data/layouts/<layout>_<n>.json; EGW_GOLDEN_UPDATE=1 writes
 * them), with the geometry checked in code too (inside the canvas, even,
 * no overlaps); tile stability on leave and join; the active speaker's
 * hysteresis; the three audio mixes; placeholders and labels; a stalled
 * camera shown as a placeholder; reuse
 * policies of custom regions; update() reporting only changes. The custom
 * layout validation is in test_layout.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compositor/compositor.h"
#include "tests/unit/check.h"

#define W 1280
#define H 720
#define GOLDEN_DIR "data/layouts"

static const char *const names[] = {
	"Alice Brown", "bob",        "Chloé Dupont", "Dev Patel",   "Emma Lind",
	"Femi Adeyemi", "Grace Ho",  "Hugo Martin",  "Ines Costa",  "Jonas Berg",
	"Kira Novak",  "Liam Walsh", "Maya Singh",   "Noah Weber",  "Olga Smirnova",
	"Pablo Ruiz",  "Qin Wei",    "Rosa Mendes",  "Sam Lee",     "Tara Nair",
	"Umar Farouk", "Vera Klein", "Wen Zhao",     "Yuki Mori",   "Zoe Adams",
};

/* The custom layout of the golden files: the four oldest sources on the
 * left, the four newest (Alice never) in a column on the right. */
static const char *const custom_two_regions =
	"{\"regions\":[{\"name\":\"main\",\"x\":0,\"y\":0,\"width\":960,\"height\":720,"
	"\"max_columns\":2,\"max_rows\":2,\"reuse\":\"show_oldest\"},"
	"{\"name\":\"side\",\"x\":964,\"y\":0,\"width\":316,\"height\":720,\"z\":1,"
	"\"max_columns\":1,\"max_rows\":4,\"exclude\":[\"Alice Brown\"],"
	"\"reuse\":\"show_newest\"}]}";

static egw_layout_t *layout(const char *text)
{
	char err[256] = "";
	egw_layout_t *l = NULL;

	if (egw_layout_parse(text, "source.layout", W, H, &l, err, sizeof(err)))
		fprintf(stderr, "layout refused: %s\n", err);
	CHECK(l != NULL);
	return l;
}

static egw_compositor_t *compositor(const char *layout_text, egw_mix_mode_t mix,
				    const char *mix_participant)
{
	egw_compositor_options_t opt = {.width = W, .height = H, .labels = 1, .mix = mix,
					.mix_participant = mix_participant};
	egw_compositor_t *c = egw_compositor_new(&opt, layout(layout_text));
	CHECK(c != NULL);
	return c;
}

static void add(egw_compositor_t *c, int i, int mid, egw_media_t media, int screen)
{
	char pid[16], tid[32];
	egw_comp_track_t t = {.track_id = tid, .participant_id = pid,
			      .participant_name = names[(i - 1) % 25], .media = media,
			      .screen = screen};

	snprintf(pid, sizeof(pid), "p%02d", i);
	snprintf(tid, sizeof(tid), "p%02d/%d", i, mid);
	egw_compositor_add_track(c, &t);
}

static void drop(egw_compositor_t *c, int i, int mid)
{
	char tid[32];
	snprintf(tid, sizeof(tid), "p%02d/%d", i, mid);
	egw_compositor_remove_track(c, tid);
}

/* Participant i: audio (mid 0), a camera (mid 1) unless i % 4 == 3 (a
 * placeholder). */
static void join(egw_compositor_t *c, int i)
{
	add(c, i, 0, EGW_MEDIA_AUDIO, 0);
	if (i % 4 != 3)
		add(c, i, 1, EGW_MEDIA_VIDEO, 0);
}

static void leave(egw_compositor_t *c, int i)
{
	drop(c, i, 0);
	drop(c, i, 1);
	drop(c, i, 2);
}

/* Participant i speaks at db from `from` to `to` (ms), levels every
 * 100 ms, the scene updated after each. */
static void speak(egw_compositor_t *c, int i, double db, uint64_t from, uint64_t to)
{
	char tid[32];
	snprintf(tid, sizeof(tid), "p%02d/0", i);
	for (uint64_t t = from; t < to; t += 100) {
		egw_compositor_audio_level(c, tid, db, t);
		egw_compositor_update(c, t);
	}
}

static const char *speaker(egw_compositor_t *c)
{
	const char *id = egw_compositor_scene(c)->speaker_id;
	return id ? id : "(none)";
}

/* ---- geometry ---- */

static int overlap(const egw_tile_t *a, const egw_tile_t *b)
{
	return a->x < b->x + b->width && b->x < a->x + a->width && a->y < b->y + b->height &&
	       b->y < a->y + a->height;
}

/* Every tile inside the canvas with even numbers; none overlapping. */
static void check_geometry(const egw_scene_t *s, const char *what)
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

/* ---- golden files ---- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = calloc(1, (size_t)size + 1)) &&
	    fread(text, 1, (size_t)size, f) != (size_t)size) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static void golden(const char *name, int n, const egw_scene_t *s)
{
	char path[256], *want, *got = egw_scene_to_json(s);
	FILE *f;

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s_%d.json", name, n);
	CHECK(got != NULL);
	if (!got)
		return;
	if (getenv("EGW_GOLDEN_UPDATE") && !strcmp(getenv("EGW_GOLDEN_UPDATE"), "1")) {
		f = fopen(path, "wb");
		CHECK(f && fprintf(f, "%s\n", got) > 0);
		if (f)
			fclose(f);
	}
	want = read_file(path);
	if (!want || strncmp(want, got, strlen(got)) || strcmp(want + strlen(got), "\n")) {
		fprintf(stderr, "%s differs from the scene (EGW_GOLDEN_UPDATE=1 rewrites it):"
			"\n%s\n", path, got);
		CHECK(0);
	}
	free(want);
	free(got);
}

/* A room of n for the layout; for the speaker layouts participant
 * min(n, 3) talks from 1 s to 5 s; for screenshare participant min(n, 2)
 * shares its screen. */
static void golden_room(const char *file, const char *layout_text, int n)
{
	egw_compositor_t *c = compositor(layout_text, EGW_MIX_EVERYONE, NULL);
	int talker = n < 3 ? n : 3;
	const egw_scene_t *s;

	for (int i = 1; i <= n; i++)
		join(c, i);
	if (!strcmp(file, "screenshare"))
		add(c, n < 2 ? n : 2, 2, EGW_MEDIA_VIDEO, 1);
	egw_compositor_update(c, 0);
	if (strstr(file, "speaker"))
		speak(c, talker, -20.0, 1000, 5000);
	egw_compositor_update(c, 5000);
	s = egw_compositor_scene(c);
	check_geometry(s, file);
	golden(file, n, s);
	if (strstr(file, "speaker")) {
		char want[16];
		snprintf(want, sizeof(want), "p%02d", talker);
		CHECK_STR(speaker(c), want);
	}
	egw_compositor_free(c);
}

static void test_goldens(void)
{
	static const int sizes[] = {1, 2, 3, 4, 5, 9, 16, 25};
	static const struct {
		const char *file, *layout;
	} layouts[] = {
		{"grid", "grid"},
		{"speaker", "speaker"},
		{"screenshare", "screenshare"},
		{"single_speaker", "single-speaker"},
		{"custom", NULL},
	};

	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			golden_room(layouts[l].file,
				    layouts[l].layout ? layouts[l].layout : custom_two_regions,
				    sizes[i]);
}

/* More grids than the golden sizes: the geometry, and cells of one size. */
static void test_grid_properties(void)
{
	egw_compositor_t *c = compositor("grid", EGW_MIX_EVERYONE, NULL);

	for (int n = 1; n <= 40; n++) {
		const egw_scene_t *s;
		join(c, n);
		egw_compositor_update(c, 0);
		s = egw_compositor_scene(c);
		CHECK(s->n_tiles == (size_t)n);
		check_geometry(s, "grid");
		for (size_t i = 1; i < s->n_tiles; i++)
			CHECK(s->tiles[i].width == s->tiles[0].width &&
			      s->tiles[i].height == s->tiles[0].height);
	}
	egw_compositor_free(c);
}

/* ---- stability ---- */

/* The participants of the tiles, in order, as "p01 p02 ...". */
static const char *order(egw_compositor_t *c, char *buf, size_t size)
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

static void test_stability(void)
{
	egw_compositor_t *c = compositor("grid", EGW_MIX_EVERYONE, NULL);
	char buf[256];

	for (int i = 1; i <= 5; i++)
		join(c, i);
	add(c, 2, 2, EGW_MEDIA_VIDEO, 1); /* p02 shares its screen: after its camera */
	egw_compositor_update(c, 0);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02 p02s p03 p04 p05");
	leave(c, 3); /* a leave in the middle: the others keep their order */
	egw_compositor_update(c, 100);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02 p02s p04 p05");
	join(c, 6); /* a join appends */
	join(c, 3); /* and one who comes back joins anew, at the end */
	egw_compositor_update(c, 200);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02 p02s p04 p05 p06 p03");
	/* a participant stays while it has a track: p01 without its camera is
	 * a placeholder in the same place */
	drop(c, 1, 1);
	egw_compositor_update(c, 300);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02 p02s p04 p05 p06 p03");
	CHECK(egw_compositor_scene(c)->tiles[0].track_id == NULL);
	egw_compositor_free(c);

	/* speaker: the strip keeps join order around the speaker */
	c = compositor("speaker", EGW_MIX_EVERYONE, NULL);
	for (int i = 1; i <= 4; i++)
		join(c, i);
	egw_compositor_update(c, 0);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02 p03 p04");
	speak(c, 3, -20.0, 100, 4000);
	CHECK_STR(order(c, buf, sizeof(buf)), "p03 p01 p02 p04");
	leave(c, 2);
	join(c, 5);
	egw_compositor_update(c, 4100);
	CHECK_STR(order(c, buf, sizeof(buf)), "p03 p01 p04 p05");
	egw_compositor_free(c);
}

/* ---- the active speaker ---- */

#define QUIET (-90.0)
#define NONE 1.0 /* no level sent */

/* Levels for participants 1 to 3 (their audio tracks) every 100 ms from
 * `from` to `to`, the scene updated after each. */
static void levels(egw_compositor_t *c, double p1, double p2, double p3, uint64_t from,
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

static void test_hysteresis(void)
{
	egw_compositor_t *c = compositor("speaker", EGW_MIX_EVERYONE, NULL);

	for (int i = 1; i <= 3; i++)
		join(c, i);
	egw_compositor_update(c, 0);
	CHECK_STR(speaker(c), "p01"); /* nobody spoke: the first to join */

	/* p02 talks for 3 s: takes over after 1.5 s of being the loudest */
	levels(c, QUIET, -25.0, QUIET, 1000, 2400);
	CHECK_STR(speaker(c), "p01");
	levels(c, QUIET, -25.0, QUIET, 2400, 4000);
	CHECK_STR(speaker(c), "p02");
	levels(c, QUIET, QUIET, QUIET, 4000, 6000); /* a pause keeps the speaker */
	CHECK_STR(speaker(c), "p02");

	/* p01 coughs (0.5 s, loud) while p02 is quiet, then while p02 talks */
	levels(c, -5.0, QUIET, QUIET, 6000, 6500);
	levels(c, QUIET, QUIET, QUIET, 6500, 9000);
	CHECK_STR(speaker(c), "p02");
	levels(c, QUIET, -35.0, QUIET, 9000, 10000);
	levels(c, -5.0, -35.0, QUIET, 10000, 10500);
	levels(c, QUIET, -35.0, QUIET, 10500, 12000);
	CHECK_STR(speaker(c), "p02");

	/* levels that stop count as silence after a second */
	levels(c, NONE, NONE, -10.0, 12000, 12400);
	egw_compositor_update(c, 14000);
	CHECK_STR(speaker(c), "p02");

	/* p03 talks for 3 s: switches, no sooner than 1.5 s */
	levels(c, QUIET, QUIET, -20.0, 20000, 21500);
	CHECK_STR(speaker(c), "p02");
	levels(c, QUIET, QUIET, -20.0, 21500, 23000);
	CHECK_STR(speaker(c), "p03");

	/* a speaker holds for 2 s: p03 takes over from p02 while p01 talks
	 * too; p03 stops at once, p01 is the loudest 0.1 s later but waits
	 * for the hold (2 s), not only for its 1.5 s */
	levels(c, QUIET, -30.0, QUIET, 23000, 30000); /* p02 back on stage */
	CHECK_STR(speaker(c), "p02");
	uint64_t t = 30000;
	for (; t < 35000 && strcmp(speaker(c), "p03"); t += 100)
		levels(c, -25.0, -30.0, -20.0, t, t + 100);
	CHECK_STR(speaker(c), "p03");
	levels(c, -25.0, QUIET, QUIET, t, t + 1800);
	CHECK_STR(speaker(c), "p03");
	levels(c, -25.0, QUIET, QUIET, t + 1800, t + 2200);
	CHECK_STR(speaker(c), "p01");

	/* the speaker leaves: the loudest one takes over at once */
	levels(c, QUIET, -30.0, QUIET, 40000, 40500);
	levels(c, QUIET, -30.0, -20.0, 40500, 43000);
	CHECK_STR(speaker(c), "p03");
	leave(c, 3);
	CHECK(egw_compositor_update(c, 43000) == 1);
	CHECK_STR(speaker(c), "p02");
	/* and with nobody talking, the first to join */
	levels(c, QUIET, QUIET, NONE, 43000, 50000);
	leave(c, 2);
	CHECK(egw_compositor_update(c, 50000) == 1);
	CHECK_STR(speaker(c), "p01");
	leave(c, 1);
	egw_compositor_update(c, 50100);
	CHECK(egw_compositor_scene(c)->speaker_id == NULL);
	CHECK(egw_compositor_scene(c)->n_tiles == 0);
	egw_compositor_free(c);
}

/* ---- the audio mix ---- */

/* The pans of the mix, in order, as "LRC...". */
static const char *pans(egw_compositor_t *c, char *buf)
{
	const egw_scene_t *s = egw_compositor_scene(c);
	size_t i = 0;

	for (; i < s->n_mix && i < 31; i++) {
		buf[i] = "CLR"[s->mix[i].pan];
		CHECK(s->mix[i].gain == 1.0);
	}
	buf[i] = '\0';
	return buf;
}

static void test_mix(void)
{
	egw_compositor_t *c = compositor("grid", EGW_MIX_EVERYONE, NULL);
	char buf[32];

	for (int i = 1; i <= 3; i++)
		join(c, i);
	egw_compositor_update(c, 0);
	CHECK_STR(pans(c, buf), "CCC");
	CHECK_STR(egw_compositor_scene(c)->mix[1].track_id, "p02/0");
	egw_compositor_free(c);

	/* dual channel: the named participant (display name or id) left */
	c = compositor("grid", EGW_MIX_DUAL_CHANNEL, "bob");
	for (int i = 1; i <= 3; i++)
		join(c, i);
	add(c, 2, 3, EGW_MEDIA_AUDIO, 0); /* a second microphone of bob */
	egw_compositor_update(c, 0);
	CHECK_STR(pans(c, buf), "RLRL");
	egw_compositor_free(c);
	c = compositor("grid", EGW_MIX_DUAL_CHANNEL, "p03");
	for (int i = 1; i <= 3; i++)
		join(c, i);
	egw_compositor_update(c, 0);
	CHECK_STR(pans(c, buf), "RRL");
	egw_compositor_free(c);

	/* alternate: sides in arrival order, kept; a returning track is new */
	c = compositor("grid", EGW_MIX_ALTERNATE, NULL);
	for (int i = 1; i <= 3; i++)
		join(c, i);
	egw_compositor_update(c, 0);
	CHECK_STR(pans(c, buf), "LRL");
	drop(c, 1, 0);
	egw_compositor_update(c, 100);
	CHECK_STR(pans(c, buf), "RL");
	add(c, 1, 0, EGW_MEDIA_AUDIO, 0); /* the fourth audio track added */
	join(c, 4);
	egw_compositor_update(c, 200);
	CHECK_STR(pans(c, buf), "RLRL");
	CHECK_STR(egw_compositor_scene(c)->mix[2].track_id, "p01/0");
	egw_compositor_free(c);
}

/* ---- placeholders, labels, audio only ---- */

static void test_placeholders(void)
{
	egw_compositor_t *c = compositor("grid", EGW_MIX_EVERYONE, NULL);
	egw_compositor_options_t opt = {.width = 0, .height = 0};
	const egw_scene_t *s;
	uint32_t color;

	join(c, 1);
	add(c, 2, 0, EGW_MEDIA_AUDIO, 0);
	add(c, 2, 2, EGW_MEDIA_VIDEO, 1); /* bob shares a screen, no camera */
	join(c, 3);
	egw_compositor_update(c, 0);
	s = egw_compositor_scene(c);
	CHECK(s->n_tiles == 3);
	CHECK_STR(s->tiles[0].label, "Alice Brown");
	CHECK_STR(s->tiles[0].track_id, "p01/1");
	CHECK_STR(s->tiles[1].label, "bob (screen)");
	CHECK_STR(s->tiles[1].track_id, "p02/2");
	CHECK(s->tiles[2].track_id == NULL); /* Chloé: audio only */
	CHECK_STR(s->tiles[2].initials, "CD");
	CHECK_STR(s->tiles[2].label, "Chloé Dupont");
	color = s->tiles[2].color;
	CHECK(color != 0 && color <= 0xffffff);
	leave(c, 2);
	egw_compositor_update(c, 100);
	CHECK(egw_compositor_scene(c)->tiles[1].color == color); /* stable per participant */
	egw_compositor_free(c);

	/* initials */
	static const struct {
		const char *name, *initials;
	} cases[] = {
		{"Alice Brown", "AB"}, {"bob", "B"}, {"  jean-luc  de la tour ", "JT"},
		{"Émile Zola", "ÉZ"}, {"(max)", "M"}, {"", "?"}, {"!!!", "?"},
		/* two 4-byte letters do not fit in initials[8] */
		{"\xf0\x9f\x98\x80 \xf0\x9f\x98\x81", "\xf0\x9f\x98\x80"},
		{"bad \xc3", "B"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		egw_comp_track_t t = {.track_id = "x/0", .participant_id = "x",
				      .participant_name = cases[i].name, .media = EGW_MEDIA_AUDIO};
		c = compositor("grid", EGW_MIX_EVERYONE, NULL);
		egw_compositor_add_track(c, &t);
		egw_compositor_update(c, 0);
		if (strcmp(cases[i].name, ""))
			CHECK_STR(egw_compositor_scene(c)->tiles[0].initials, cases[i].initials);
		else /* no display name: the id stands in */
			CHECK_STR(egw_compositor_scene(c)->tiles[0].initials, "X");
		egw_compositor_free(c);
	}

	/* without labels, none */
	opt.width = W;
	opt.height = H;
	c = egw_compositor_new(&opt, layout("grid"));
	join(c, 1);
	egw_compositor_update(c, 0);
	CHECK(egw_compositor_scene(c)->tiles[0].label == NULL);
	egw_compositor_free(c);

	/* audio only: no tiles, the mix */
	opt.width = opt.height = 0;
	c = egw_compositor_new(&opt, layout("speaker"));
	for (int i = 1; i <= 3; i++)
		join(c, i);
	CHECK(egw_compositor_update(c, 0) == 1);
	CHECK(egw_compositor_scene(c)->n_tiles == 0 && egw_compositor_scene(c)->n_mix == 3);
	egw_compositor_free(c);
}

/* A camera that stops sending: its participant's placeholder in the same
 * cell, everything else as it was; the picture again when it is back.
 * Screen shares, audio and unknown tracks are not affected. */
static void test_stalled(void)
{
	egw_compositor_t *c = compositor("grid", EGW_MIX_EVERYONE, NULL);
	const egw_scene_t *s;
	egw_tile_t before[3];

	join(c, 1);
	join(c, 2);
	add(c, 2, 2, EGW_MEDIA_VIDEO, 1); /* bob's screen */
	egw_compositor_update(c, 0);
	s = egw_compositor_scene(c);
	CHECK(s->n_tiles == 3);
	memcpy(before, s->tiles, sizeof(before));

	egw_compositor_video_stalled(c, "p02/1", 1);
	CHECK(egw_compositor_update(c, 100) == 1);
	s = egw_compositor_scene(c);
	CHECK(s->n_tiles == 3);
	CHECK_STR(s->tiles[0].track_id, "p01/1");
	CHECK(s->tiles[1].track_id == NULL); /* bob's camera: a placeholder */
	CHECK_STR(s->tiles[1].participant_id, "p02");
	CHECK_STR(s->tiles[1].initials, "B");
	CHECK_STR(s->tiles[2].track_id, "p02/2"); /* his screen still shown */
	for (int i = 0; i < 3; i++)
		CHECK(s->tiles[i].x == before[i].x && s->tiles[i].y == before[i].y &&
		      s->tiles[i].width == before[i].width);
	CHECK(s->n_mix == 2);

	/* ignored: screen shares, audio, unknown tracks, a second report */
	egw_compositor_video_stalled(c, "p02/2", 1);
	egw_compositor_video_stalled(c, "p01/0", 1);
	egw_compositor_video_stalled(c, "p09/1", 1);
	egw_compositor_video_stalled(c, "p02/1", 1);
	CHECK(egw_compositor_update(c, 200) == 0);

	egw_compositor_video_stalled(c, "p02/1", 0);
	CHECK(egw_compositor_update(c, 300) == 1);
	CHECK_STR(egw_compositor_scene(c)->tiles[1].track_id, "p02/1");
	egw_compositor_free(c);
}

/* ---- custom regions ---- */

static void test_custom_reuse(void)
{
	char buf[256];
	egw_compositor_t *c;

	/* none: a cell keeps its source; a cell left empty is not reused,
	 * the source coming back finds it again */
	c = compositor("{\"regions\":[{\"width\":1280,\"height\":720,\"max_columns\":2,"
		       "\"max_rows\":1,\"reuse\":\"none\"}]}",
		       EGW_MIX_EVERYONE, NULL);
	add(c, 1, 0, EGW_MEDIA_AUDIO, 0); /* a placeholder first */
	join(c, 2);
	join(c, 3);
	egw_compositor_update(c, 0);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02");
	egw_tile_t first = egw_compositor_scene(c)->tiles[0];
	add(c, 1, 1, EGW_MEDIA_VIDEO, 0); /* its camera replaces the placeholder */
	leave(c, 2);
	egw_compositor_update(c, 100);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01");
	CHECK(egw_compositor_scene(c)->tiles[0].x == first.x);
	CHECK_STR(egw_compositor_scene(c)->tiles[0].track_id, "p01/1");
	join(c, 2);
	egw_compositor_update(c, 200);
	CHECK_STR(order(c, buf, sizeof(buf)), "p01 p02");
	egw_compositor_free(c);

	/* show_newest and show_oldest, participants by name or id, sources */
	c = compositor("{\"regions\":[{\"name\":\"a\",\"width\":640,\"max_columns\":2,"
		       "\"max_rows\":1,\"reuse\":\"show_newest\"},"
		       "{\"name\":\"b\",\"x\":640,\"max_rows\":1,"
		       "\"participants\":[\"bob\",\"p04\"],"
		       "\"z\":-1},"
		       "{\"name\":\"c\",\"x\":640,\"y\":360,\"sources\":\"screen\",\"z\":2},"
		       "{\"name\":\"d\",\"x\":640,\"y\":360,\"sources\":\"camera\",\"z\":2,"
		       "\"exclude\":[\"p01\",\"Dev Patel\"]}]}",
		       EGW_MIX_EVERYONE, NULL);
	for (int i = 1; i <= 4; i++)
		join(c, i);
	add(c, 4, 2, EGW_MEDIA_VIDEO, 1);
	egw_compositor_update(c, 0);
	/* b (z -1): bob, Dev's camera and screen; a: the two newest (Chloé
	 * and Dev's screen... in join order: p04 camera, p04 screen); c: the
	 * screen; d: cameras of bob and Chloé (a placeholder) */
	CHECK_STR(order(c, buf, sizeof(buf)), "p02 p04 p04s p04 p04s p04s p02 p03");
	egw_compositor_free(c);

	/* overlapping regions: allowed, drawn by z */
	c = compositor("{\"regions\":[{\"z\":5},{\"x\":960,\"y\":540,\"width\":320,"
		       "\"height\":180,\"max_columns\":1,\"max_rows\":1}]}",
		       EGW_MIX_EVERYONE, NULL);
	join(c, 1);
	egw_compositor_update(c, 0);
	const egw_tile_t *tiles = egw_compositor_scene(c)->tiles;
	CHECK(egw_compositor_scene(c)->n_tiles == 2);
	CHECK(tiles[0].z == 0 && tiles[0].x == 960);
	CHECK(tiles[1].z == 5 && tiles[1].width == 1280);
	egw_compositor_free(c);
}

/* ---- changes ---- */

static void test_changes(void)
{
	egw_compositor_t *c = compositor("speaker", EGW_MIX_EVERYONE, NULL);

	CHECK(egw_compositor_update(c, 0) == 0); /* empty, as before */
	join(c, 1);
	join(c, 2);
	CHECK(egw_compositor_update(c, 0) == 1);
	CHECK(egw_compositor_update(c, 100) == 0);
	add(c, 1, 1, EGW_MEDIA_VIDEO, 0); /* known track: nothing */
	egw_compositor_remove_track(c, "nobody/0");
	egw_compositor_audio_level(c, "p02/0", -60.0, 200); /* too quiet to matter */
	egw_compositor_audio_level(c, "nobody/0", -10.0, 200);
	CHECK(egw_compositor_update(c, 200) == 0);
	levels(c, QUIET, -20.0, NONE, 300, 3000);
	CHECK_STR(speaker(c), "p02"); /* that update said 1 */
	CHECK(egw_compositor_update(c, 3000) == 0);
	egw_compositor_set_layout(c, layout("grid"));
	CHECK_STR(egw_layout_name(egw_compositor_layout(c)), "grid");
	CHECK(egw_compositor_update(c, 3100) == 1);
	CHECK(egw_compositor_update(c, 3200) == 0);
	join(c, 3);
	CHECK(egw_compositor_update(c, 3300) == 1);
	egw_compositor_free(c);

	/* the scene stays valid while the room changes until the next update */
	c = compositor("grid", EGW_MIX_EVERYONE, NULL);
	join(c, 1);
	egw_compositor_update(c, 0);
	leave(c, 1);
	CHECK_STR(egw_compositor_scene(c)->tiles[0].participant_id, "p01");
	egw_compositor_free(c);
	egw_compositor_free(NULL);
}

static void check_fit(int pw, int ph, int cw, int ch, int native, int cl, int cr, int ct, int cb,
                      int x, int y, int w, int h)
{
	egw_fit_t f;
	CHECK(egw_fit_native(pw, ph, cw, ch, &f) == native);
	CHECK(f.crop_left == cl && f.crop_right == cr && f.crop_top == ct && f.crop_bottom == cb);
	CHECK(f.x == x && f.y == y && f.width == w && f.height == h);
	/* what is left of the picture is what the rectangle shows */
	if (native)
		CHECK(pw - cl - cr == w && ph - ct - cb == h && x >= 0 && y >= 0 && x + w <= cw &&
		      y + h <= ch);
}

static void test_fit(void)
{
	/* 2x2 grid at 720p: a 640x360 camera cropped into its 638x358 cell */
	check_fit(640, 360, 638, 358, 1, 0, 2, 0, 2, 0, 0, 638, 358);
	check_fit(640, 360, 640, 360, 1, 0, 0, 0, 0, 0, 0, 640, 360);
	/* 1x2 grid at 720p: the cell is 638x720, the picture in its middle */
	check_fit(640, 360, 638, 720, 1, 0, 2, 0, 0, 0, 180, 638, 360);
	/* 3x3 grid at 1080p */
	check_fit(640, 360, 636, 356, 1, 2, 2, 2, 2, 0, 0, 636, 356);
	/* a little smaller than the cell: centred at its own size */
	check_fit(636, 356, 640, 360, 1, 0, 0, 0, 0, 2, 2, 636, 356);
	/* larger one way, smaller the other */
	check_fit(642, 356, 636, 360, 1, 2, 4, 0, 0, 0, 2, 636, 356);
	/* 2% of the picture is the limit */
	check_fit(1000, 500, 980, 490, 1, 10, 10, 4, 6, 0, 0, 980, 490);
	check_fit(1000, 500, 978, 490, 0, 0, 0, 0, 0, 0, 0, 978, 490);
	/* anything else is scaled into the whole cell */
	check_fit(1280, 720, 636, 358, 0, 0, 0, 0, 0, 0, 0, 636, 358);
	check_fit(640, 480, 636, 358, 0, 0, 0, 0, 0, 0, 0, 636, 358);
	check_fit(320, 180, 636, 358, 0, 0, 0, 0, 0, 0, 0, 636, 358);
	check_fit(0, 0, 636, 358, 0, 0, 0, 0, 0, 0, 0, 636, 358);
}

int main(void)
{
	test_fit();
	test_goldens();
	test_grid_properties();
	test_stability();
	test_hysteresis();
	test_mix();
	test_placeholders();
	test_stalled();
	test_custom_reuse();
	test_changes();
	return CHECK_DONE();
}
