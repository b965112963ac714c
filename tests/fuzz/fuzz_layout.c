/* libFuzzer target: layouts (outside input: source.layout of a request).
 * Parses against a 1280x720 canvas and an unknown one; a layout that
 * parses is run through a compositor with a small room, and every tile
 * must lie inside the canvas with even coordinates, the scene's JSON must
 * parse. Traps when an invariant of compositor/compositor.h is broken. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compositor/compositor.h"

static void check_scene(const egw_scene_t *s, int width, int height)
{
	char *text = egw_scene_to_json(s);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	if (!j)
		__builtin_trap();
	json_decref(j);
	free(text);
	for (size_t i = 0; i < s->n_tiles; i++) {
		const egw_tile_t *t = &s->tiles[i];
		if (t->x < 0 || t->y < 0 || t->width < 2 || t->height < 2 ||
		    t->x + t->width > width || t->y + t->height > height ||
		    ((t->x | t->y | t->width | t->height) & 1) || !t->participant_id)
			__builtin_trap();
	}
}

/* A room of five: cameras, a placeholder, a screen share; one leaves. */
static void run(egw_layout_t *l)
{
	static const char *const names[] = {"Alice Brown", "bob", "p3", "Dev", "Eve"};
	egw_compositor_options_t opt = {.width = 1280, .height = 720, .labels = 1};
	egw_compositor_t *c = egw_compositor_new(&opt, l);
	char pid[8], tid[16];

	for (int i = 0; i < 5; i++) {
		egw_comp_track_t t = {.track_id = tid, .participant_id = pid,
				      .participant_name = names[i], .media = EGW_MEDIA_AUDIO};
		snprintf(pid, sizeof(pid), "p%d", i);
		snprintf(tid, sizeof(tid), "p%d/0", i);
		egw_compositor_add_track(c, &t);
		t.media = EGW_MEDIA_VIDEO;
		t.screen = i == 3;
		snprintf(tid, sizeof(tid), "p%d/1", i);
		if (i != 2)
			egw_compositor_add_track(c, &t);
	}
	egw_compositor_update(c, 0);
	check_scene(egw_compositor_scene(c), 1280, 720);
	egw_compositor_remove_track(c, "p1/0");
	egw_compositor_remove_track(c, "p1/1");
	egw_compositor_update(c, 100);
	check_scene(egw_compositor_scene(c), 1280, 720);
	egw_compositor_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	egw_layout_t *l = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (egw_layout_parse(text, "source.layout", 1280, 720, &l, err, sizeof(err)) == EGW_OK)
		run(l);
	else if (l || strncmp(err, "source.layout", 13))
		__builtin_trap(); /* a refusal names the field and returns nothing */
	l = NULL;
	if (egw_layout_parse(text, "source.layout", 0, 0, &l, err, sizeof(err)) == EGW_OK)
		run(l); /* regions not checked against a canvas are cut at its edges */
	free(text);
	return 0;
}
