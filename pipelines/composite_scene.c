/* The composite's scene applied (see composite_int.h): the compositor's
 * tiles and mix (compositor/compositor.h) made into the mixers' pad
 * properties and placeholders, on the main context. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/composite_int.h"

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static const egw_tile_t *tile_of_track(const egw_scene_t *sc, const char *track_id)
{
	for (size_t i = 0; i < sc->n_tiles; i++)
		if (sc->tiles[i].track_id && !strcmp(sc->tiles[i].track_id, track_id))
			return &sc->tiles[i];
	return NULL;
}

static const egw_mix_input_t *mix_of_track(const egw_scene_t *sc, const char *track_id)
{
	for (size_t i = 0; i < sc->n_mix; i++)
		if (!strcmp(sc->mix[i].track_id, track_id))
			return &sc->mix[i];
	return NULL;
}

static void place(GstPad *pad, const egw_tile_t *t)
{
	if (!t) {
		g_object_set(pad, "alpha", 0.0, NULL);
		return;
	}
	g_object_set(pad, "xpos", t->x, "ypos", t->y, "width", t->width, "height", t->height,
	             "zorder", (guint)(t->z + 1), "alpha", 1.0, NULL);
}

static void apply_input(struct composite *g, struct input *in, const egw_scene_t *sc)
{
	if (in->media == EGW_MEDIA_VIDEO) {
		const egw_tile_t *t = tile_of_track(sc, in->track_id);
		if (t)
			in->cell = *t;
		else
			in->cell.width = 0;
		egw_composite_input_fit(in);
		if (in->label)
			g_object_set(in->label, "text", t && t->label ? t->label : "", NULL);
		return;
	}
	const egw_mix_input_t *m = mix_of_track(sc, in->track_id);
	g_object_set(in->mixpad, "volume", m ? m->gain : 0.0, NULL);
	g_object_set(in->pan, "panorama",
	             !m || m->pan == EGW_PAN_CENTER ? 0.0f
	             : m->pan == EGW_PAN_LEFT       ? -1.0f
	                                            : 1.0f,
	             NULL);
}

/* Placeholders follow the tiles without video: made when one appears,
 * gone with it. */
static void apply_placeholders(struct composite *g, const egw_scene_t *sc)
{
	GHashTableIter it;
	gpointer key, value;
	GHashTable *wanted = g_hash_table_new(g_str_hash, g_str_equal);

	for (size_t i = 0; g->vmix && i < sc->n_tiles; i++) {
		const egw_tile_t *t = &sc->tiles[i];
		struct placeholder *ph;
		if (t->track_id || !t->participant_id)
			continue;
		g_hash_table_add(wanted, (gpointer)t->participant_id);
		if (!(ph = g_hash_table_lookup(g->placeholders, t->participant_id)) &&
		    (ph = egw_composite_placeholder_new(g, t)))
			g_hash_table_insert(g->placeholders, ph->participant_id, ph);
		if (ph)
			place(ph->mixpad, t);
	}
	g_hash_table_iter_init(&it, g->placeholders);
	while (g_hash_table_iter_next(&it, &key, &value))
		if (!g_hash_table_contains(wanted, key)) {
			g_hash_table_iter_steal(&it);
			egw_composite_placeholder_free(value);
		}
	g_hash_table_destroy(wanted);
}

/* A track composite shows its one video on the whole canvas and mixes its
 * audio as is: no layout. */
static void apply_track_mode(struct composite *g)
{
	egw_tile_t full = {.width = g->enc.width, .height = g->enc.height};
	egw_mix_input_t center = {.gain = 1.0};
	egw_scene_t sc = {0};
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, g->inputs);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct input *in = value;
		full.track_id = center.track_id = in->track_id;
		sc.tiles = &full;
		sc.n_tiles = 1;
		sc.mix = &center;
		sc.n_mix = 1;
		apply_input(g, in, &sc);
	}
}

/* JSON text on one line (for a log line): newlines and their indent go. */
static void one_line(char *s)
{
	char *w = s;
	for (char *r = s; r && *r; r++) {
		if (*r == '\n') {
			while (r[1] == ' ')
				r++;
			continue;
		}
		*w++ = *r;
	}
	if (w)
		*w = '\0';
}

void egw_composite_refresh(struct composite *g, int force)
{
	const egw_scene_t *sc;
	GHashTableIter it;
	gpointer value;

	if (g->track_mode) {
		if (force)
			apply_track_mode(g);
		return;
	}
	if (!egw_compositor_update(g->comp, now_ms()) && !force)
		return;
	sc = egw_compositor_scene(g->comp);
	g_hash_table_iter_init(&it, g->inputs);
	while (g_hash_table_iter_next(&it, NULL, &value))
		apply_input(g, value, sc);
	apply_placeholders(g, sc);
	if (egw_log_enabled(EGW_LOG_DEBUG)) {
		char *json = egw_scene_to_json(sc);
		one_line(json);
		EGW_LOG(g->log_id, DEBUG, "scene: %s", json ? json : "?");
		free(json);
	}
}

gboolean egw_composite_tick(gpointer user)
{
	egw_composite_check_stalls(user);
	egw_composite_refresh(user, 0);
	egw_composite_check_gate(user);
	egw_composite_check_mutes(user);
	return G_SOURCE_CONTINUE;
}
