/* The tiles of a scene: the room's sources in order (join order, cameras
 * before screen shares, a placeholder for a participant without video),
 * placed by the current layout (compositor.h, docs/layouts.md). */
#include "compositor/compositor_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Something that can fill a cell. */
typedef struct source {
	comp_participant_t *p;
	comp_track_t *track; /* NULL: a placeholder */
	int screen;
	int rank; /* among the participant's sources of its kind (reuse "none") */
} source_t;

/* Appends p's sources that kinds accepts, cameras first; a participant with
 * no camera gets a placeholder unless only screens are wanted, or (kinds
 * all) it shares its screen. Returns how many were added. */
static size_t participant_sources(const egw_compositor_t *c, comp_participant_t *p,
				  egw_region_sources_t kinds, source_t *out)
{
	size_t n = 0;
	int ranks[2] = {0, 0};

	for (int screen = 0; screen <= 1; screen++) {
		if ((screen && kinds == EGW_SOURCES_CAMERA) ||
		    (!screen && kinds == EGW_SOURCES_SCREEN))
			continue;
		for (size_t i = 0; i < c->n_tracks; i++) {
			comp_track_t *t = c->tracks[i];
			if (t->p != p || t->media != EGW_MEDIA_VIDEO || t->screen != screen)
				continue;
			out[n++] = (source_t){p, t, screen, ranks[screen]++};
		}
	}
	if (!n && kinds != EGW_SOURCES_SCREEN)
		out[n++] = (source_t){p, NULL, 0, 0};
	return n;
}

/* The sources of every participant a region takes (all of them for the
 * built-in layouts: r NULL). out holds n_tracks + n_participants. */
static size_t room_sources(const egw_compositor_t *c, const egw_region_t *r, source_t *out)
{
	static char *const everyone[] = {"*"};
	char *const *names = r && r->n_participants ? r->participants : everyone;
	size_t n_names = r && r->n_participants ? r->n_participants : 1;
	size_t n = 0;

	for (size_t i = 0; i < c->n_participants; i++) {
		comp_participant_t *p = c->participants[i];
		int wanted = 0;
		for (size_t j = 0; j < n_names && !wanted; j++)
			wanted = !strcmp(names[j], "*") || egw_comp_named(p, &names[j], 1);
		if (!wanted || (r && egw_comp_named(p, r->exclude, r->n_exclude)))
			continue;
		n += participant_sources(c, p, r ? r->sources : EGW_SOURCES_ALL, out + n);
	}
	return n;
}

static egw_err_t add_tile(const egw_compositor_t *c, egw_scene_t *s, egw_rect_t cell, int z,
			  const source_t *src)
{
	egw_tile_t *tile = &s->tiles[s->n_tiles];
	const char *name = src->p->name;
	size_t label_size = strlen(name) + sizeof(" (screen)");
	char *label = NULL;

	memset(tile, 0, sizeof(*tile));
	if (c->opt.labels) {
		if (!(label = malloc(label_size)))
			return EGW_ERR_NOMEM;
		snprintf(label, label_size, "%s%s", name, src->screen ? " (screen)" : "");
	}
	tile->label = label;
	s->n_tiles++; /* from here on the scene frees what the tile holds */
	tile->x = cell.x;
	tile->y = cell.y;
	tile->width = cell.width;
	tile->height = cell.height;
	tile->z = z;
	if (!(tile->participant_id = strdup(src->p->id)))
		return EGW_ERR_NOMEM;
	if (src->track && !src->track->stalled && !(tile->track_id = strdup(src->track->id)))
		return EGW_ERR_NOMEM;
	egw_placeholder_initials(name, tile->initials, sizeof(tile->initials));
	tile->color = egw_placeholder_color(src->p->id);
	return EGW_OK;
}

/* n sources in a grid of at most max_cols x max_rows in area; from the
 * last ones backwards when newest (those that fit). */
static egw_err_t tiles_grid(const egw_compositor_t *c, egw_scene_t *s, const source_t *src,
			    int n, egw_rect_t area, int max_cols, int max_rows, int newest, int z)
{
	int cols, rows, k = egw_grid_choose(n, area.width, area.height, max_cols, max_rows, &cols,
					    &rows);
	egw_rect_t *cells = calloc((size_t)k + 1, sizeof(*cells));
	egw_err_t err = EGW_OK;

	if (!cells)
		return EGW_ERR_NOMEM;
	egw_grid_place(area, k, cols, rows, cells);
	for (int i = 0; i < k && !err; i++)
		err = add_tile(c, s, cells[i], z, &src[newest ? n - k + i : i]);
	free(cells);
	return err;
}

/* src[main] on the stage, the others in the strip, in order. */
static egw_err_t tiles_stage(const egw_compositor_t *c, egw_scene_t *s, const source_t *src,
			     int n, int main)
{
	egw_rect_t stage, *strip = calloc((size_t)n + 1, sizeof(*strip));
	int fit, j = 0;
	egw_err_t err;

	if (!strip)
		return EGW_ERR_NOMEM;
	fit = egw_grid_stage(c->opt.width, c->opt.height, n - 1, &stage, strip);
	err = add_tile(c, s, stage, 0, &src[main]);
	for (int i = 0; i < n && j < fit && !err; i++)
		if (i != main)
			err = add_tile(c, s, strip[j++], 0, &src[i]);
	free(strip);
	return err;
}

/* The first source of the active speaker, or -1. */
static int speaker_source(const egw_compositor_t *c, const source_t *src, int n)
{
	for (int i = 0; i < n; i++)
		if (src[i].p == c->speaker)
			return i;
	return -1;
}

/* The screen share added first, or -1. */
static int first_screen(const source_t *src, int n)
{
	int best = -1;

	for (int i = 0; i < n; i++)
		if (src[i].screen && (best < 0 || src[i].track->seq < src[best].track->seq))
			best = i;
	return best;
}

static egw_err_t tiles_builtin(const egw_compositor_t *c, egw_scene_t *s, source_t *src, int n)
{
	egw_rect_t canvas = {0, 0, c->opt.width, c->opt.height};
	int main;

	switch (egw_layout_kind(c->layout)) {
	case EGW_LAYOUT_SPEAKER:
		main = speaker_source(c, src, n);
		return main < 0 ? EGW_OK : tiles_stage(c, s, src, n, main);
	case EGW_LAYOUT_SINGLE_SPEAKER:
		main = speaker_source(c, src, n);
		return main < 0 ? EGW_OK : tiles_stage(c, s, src + main, 1, 0);
	case EGW_LAYOUT_SCREENSHARE:
		main = first_screen(src, n);
		if (main >= 0)
			return tiles_stage(c, s, src, n, main);
		/* nobody shares: a grid */
		/* fall through */
	case EGW_LAYOUT_GRID:
	case EGW_LAYOUT_CUSTOM:
	default:
		return tiles_grid(c, s, src, n, canvas, n, n, 0, 0);
	}
}

/* ---- custom regions ---- */

void egw_comp_cells_clear(egw_compositor_t *c)
{
	for (size_t i = 0; i < c->n_cells; i++) {
		for (int j = 0; j < c->cells[i].n_used; j++)
			free(c->cells[i].keys[j]);
		free(c->cells[i].keys);
	}
	free(c->cells);
	c->cells = NULL;
	c->n_cells = 0;
}

/* The region's rectangle on the canvas: "to the edge" resolved, clipped. */
static egw_rect_t region_area(const egw_region_t *r, int width, int height)
{
	egw_rect_t a = {r->x, r->y, r->width, r->height};

	if (a.width < 0 || a.x + a.width > width)
		a.width = width - a.x;
	if (a.height < 0 || a.y + a.height > height)
		a.height = height - a.y;
	if (a.width < 0)
		a.width = 0;
	if (a.height < 0)
		a.height = 0;
	return a;
}

/* A source's name for reuse "none": its participant, kind and rank, so
 * that a camera replacing a placeholder, a screen shared again or a
 * participant back in the room finds its cell again. */
static char *source_key(const source_t *src)
{
	size_t size = strlen(src->p->id) + 32;
	char *key = malloc(size);

	if (key)
		snprintf(key, size, "%c%d:%s", src->screen ? 's' : 'c', src->rank, src->p->id);
	return key;
}

/* Reuse "none": the cell of each source (-1: none), handing out unused
 * cells in order. A cell stays with the key of its first source. */
static egw_err_t assign_cells(comp_region_cells_t *cells, int cap, const source_t *src, int n,
			      int *cell_of)
{
	if (!cells->keys && !(cells->keys = calloc((size_t)cap, sizeof(*cells->keys))))
		return EGW_ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		char *key = source_key(&src[i]);
		int j = 0;

		if (!key)
			return EGW_ERR_NOMEM;
		while (j < cells->n_used && strcmp(cells->keys[j], key))
			j++;
		if (j == cells->n_used && j < cap) {
			cells->keys[cells->n_used++] = key;
			key = NULL;
		}
		free(key);
		cell_of[i] = j < cells->n_used ? j : -1;
	}
	return EGW_OK;
}

static egw_err_t tiles_fixed_cells(egw_compositor_t *c, egw_scene_t *s, const egw_region_t *r,
				   comp_region_cells_t *cells, const source_t *src, int n,
				   egw_rect_t area)
{
	int cols, rows, k, *cell_of = calloc((size_t)n + 1, sizeof(*cell_of));
	egw_rect_t *rects = calloc((size_t)(r->max_columns * r->max_rows), sizeof(*rects));
	egw_err_t err = EGW_ERR_NOMEM;

	if (!cell_of || !rects)
		goto out;
	err = assign_cells(cells, r->max_columns * r->max_rows, src, n, cell_of);
	if (err)
		goto out;
	/* the grid has every cell handed out so far, those left empty too */
	k = egw_grid_choose(cells->n_used, area.width, area.height, r->max_columns, r->max_rows,
			    &cols, &rows);
	egw_grid_place(area, k, cols, rows, rects);
	for (int i = 0; i < n && !err; i++)
		if (cell_of[i] >= 0 && cell_of[i] < k)
			err = add_tile(c, s, rects[cell_of[i]], r->z, &src[i]);
out:
	free(cell_of);
	free(rects);
	return err;
}

static egw_err_t tiles_custom(egw_compositor_t *c, egw_scene_t *s, source_t *src)
{
	const egw_layout_t *l = c->layout;
	size_t order[EGW_LAYOUT_REGIONS_MAX];
	egw_err_t err = EGW_OK;

	if (c->n_cells != l->n_regions) {
		egw_comp_cells_clear(c);
		if (!(c->cells = calloc(l->n_regions, sizeof(*c->cells))))
			return EGW_ERR_NOMEM;
		c->n_cells = l->n_regions;
	}
	/* drawn from the lowest z up; equal z in the order given */
	for (size_t i = 0; i < l->n_regions && i < EGW_LAYOUT_REGIONS_MAX; i++) {
		size_t j = i;
		for (; j > 0 && l->regions[order[j - 1]].z > l->regions[i].z; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	for (size_t i = 0; i < l->n_regions && i < EGW_LAYOUT_REGIONS_MAX && !err; i++) {
		const egw_region_t *r = &l->regions[order[i]];
		egw_rect_t area = region_area(r, c->opt.width, c->opt.height);
		int n = (int)room_sources(c, r, src);

		if (r->reuse == EGW_REUSE_NONE)
			err = tiles_fixed_cells(c, s, r, &c->cells[order[i]], src, n, area);
		else
			err = tiles_grid(c, s, src, n, area, r->max_columns, r->max_rows,
					 r->reuse == EGW_REUSE_SHOW_NEWEST, r->z);
	}
	return err;
}

egw_err_t egw_comp_build_tiles(egw_compositor_t *c, egw_scene_t *s)
{
	size_t max_sources = c->n_tracks + c->n_participants;
	size_t regions = c->layout && c->layout->n_regions ? c->layout->n_regions : 1;
	source_t *src = NULL;
	egw_err_t err;

	if (!c->opt.width || !c->opt.height || !c->n_participants)
		return EGW_OK; /* audio only, or nobody there */
	src = calloc(max_sources, sizeof(*src));
	s->tiles = calloc(max_sources * regions, sizeof(*s->tiles));
	if (!src || !s->tiles) {
		free(src);
		return EGW_ERR_NOMEM;
	}
	if (egw_layout_kind(c->layout) == EGW_LAYOUT_CUSTOM)
		err = tiles_custom(c, s, src);
	else
		err = tiles_builtin(c, s, src, (int)room_sources(c, NULL, src));
	free(src);
	return err;
}
