/* compositor/: every layout with 1 to 25 participants against golden files
 * (tests/unit/data/layouts/<layout>_<n>.json; EGW_GOLDEN_UPDATE=1 writes
 * them), with the geometry checked in code too (inside the canvas, even,
 * no overlaps); tile stability on leave and join; the active speaker's
 * hysteresis; how a picture fits its cell. The audio mixes, placeholders,
 * stalled cameras, reuse policies and change reports are in
 * test_compositor_scene.c; the custom layout validation in test_layout.c. */
#include "tests/unit/compositor_test_util.h"

#define GOLDEN_DIR "data/layouts"

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
	return CHECK_DONE();
}
