/* compositor/, what a scene holds besides its geometry: the three audio
 * mixes, placeholders and labels, a stalled camera shown as a placeholder,
 * the reuse policies of custom regions, update() reporting only changes.
 * (Layouts and their geometry: test_compositor.c.) */
#include "tests/unit/compositor_test_util.h"

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

int main(void)
{
	test_mix();
	test_placeholders();
	test_stalled();
	test_custom_reuse();
	test_changes();
	return CHECK_DONE();
}
