/* A scene as JSON (sorted keys, one space of indent): the golden files of
 * the layout tests and the compositor's debug log lines. */
#include "compositor/compositor_int.h"

#include <jansson.h>
#include <stdio.h>

static const char *pan_name(egw_pan_t pan)
{
	return pan == EGW_PAN_LEFT ? "left" : pan == EGW_PAN_RIGHT ? "right" : "center";
}

/* A tile: its cell, z, participant and track (null: a placeholder, then
 * with its initials and colour), label when there is one. */
static json_t *tile_json(const egw_tile_t *t)
{
	char color[8];
	json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:s?, s:s?}", "x", t->x, "y", t->y,
			      "width", t->width, "height", t->height, "z", t->z, "participant",
			      t->participant_id, "track", t->track_id);

	if (!o)
		return NULL;
	if (t->label && json_object_set_new(o, "label", json_string(t->label)))
		goto fail;
	if (!t->track_id) {
		snprintf(color, sizeof(color), "#%06x", (unsigned)(t->color & 0xffffff));
		if (json_object_set_new(o, "initials", json_string(t->initials)) ||
		    json_object_set_new(o, "color", json_string(color)))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

char *egw_scene_to_json(const egw_scene_t *s)
{
	json_t *root = NULL, *tiles, *mix;
	char *text = NULL;

	if (!s)
		return NULL;
	root = json_pack("{s:[], s:[], s:s?}", "tiles", "mix", "speaker", s->speaker_id);
	if (!root)
		goto out;
	tiles = json_object_get(root, "tiles");
	mix = json_object_get(root, "mix");
	for (size_t i = 0; i < s->n_tiles; i++)
		if (json_array_append_new(tiles, tile_json(&s->tiles[i])))
			goto out;
	for (size_t i = 0; i < s->n_mix; i++) {
		const egw_mix_input_t *m = &s->mix[i];
		if (json_array_append_new(mix, json_pack("{s:s?, s:f, s:s}", "track", m->track_id,
							 "gain", m->gain, "pan",
							 pan_name(m->pan))))
			goto out;
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
out:
	json_decref(root);
	return text;
}
