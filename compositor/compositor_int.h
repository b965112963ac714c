/* Private to the files of compositor/: the parsed layout, the room as the
 * compositor keeps it, and the helpers the files share. Do not include
 * outside compositor/. */
#ifndef EGW_COMPOSITOR_INT_H
#define EGW_COMPOSITOR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "compositor/compositor.h"

/* ---- layouts (layout.c) ---- */

typedef struct egw_rect {
	int x, y, width, height;
} egw_rect_t;

/* What a custom region does with more sources than cells. */
typedef enum egw_reuse {
	EGW_REUSE_SHOW_OLDEST = 0, /* the first sources in join order */
	EGW_REUSE_SHOW_NEWEST,     /* the last sources in join order */
	EGW_REUSE_NONE,            /* each cell keeps the first source it got */
} egw_reuse_t;

/* Which sources a custom region takes. */
typedef enum egw_region_sources {
	EGW_SOURCES_ALL = 0, /* cameras, screen shares and placeholders */
	EGW_SOURCES_CAMERA,  /* cameras; a participant without one: a placeholder */
	EGW_SOURCES_SCREEN,  /* screen shares only */
} egw_region_sources_t;

typedef struct egw_region {
	char *name;       /* NULL when not given */
	int x, y;         /* even */
	int width, height; /* even; -1: to the canvas edge */
	int z;
	int max_columns, max_rows;
	char **participants; /* names or ids; "*" is everyone */
	size_t n_participants;
	char **exclude; /* names or ids */
	size_t n_exclude;
	egw_reuse_t reuse;
	egw_region_sources_t sources;
} egw_region_t;

struct egw_layout {
	egw_layout_kind_t kind;
	egw_region_t *regions; /* EGW_LAYOUT_CUSTOM */
	size_t n_regions;
};

/* ---- grid maths (layout_grid.c) ---- */

/* Columns and rows for n cells in a width x height area, at most
 * max_cols x max_rows, chosen so that a 16:9 picture fitted in a cell is as
 * wide as possible (ties: fewer empty cells, then more columns). Returns how
 * many cells fit (n, or fewer when the limits or a cell size of at least
 * 2x2 pixels do not allow n), 0 when none. */
int egw_grid_choose(int n, int width, int height, int max_cols, int max_rows, int *cols,
		    int *rows);

/* Places n cells (n <= cols * rows) in area, row by row, EGW_GRID_GAP
 * apart, all of equal size with even coordinates; the grid is centred in
 * the area and an incomplete last row centred in its width. */
void egw_grid_place(egw_rect_t area, int n, int cols, int rows, egw_rect_t *cells);

/* The stage-and-strip geometry of the speaker and screenshare layouts for
 * a width x height canvas and n_strip small sources: the stage, and up to
 * n_strip strip cells (16:9, a fifth of the canvas height, centred in a
 * row below the stage). Returns the number of strip cells placed (as many
 * as fit); with n_strip 0 the stage is the whole canvas. */
int egw_grid_stage(int width, int height, int n_strip, egw_rect_t *stage, egw_rect_t *strip);

/* ---- the room (compositor.c, speaker.c, scene_tiles.c) ---- */

typedef struct comp_participant {
	char *id;
	char *name;   /* display name (the id when none) */
	uint64_t seq; /* join order */
	size_t n_tracks;
} comp_participant_t;

typedef struct comp_track {
	char *id;
	comp_participant_t *p;
	egw_media_t media;
	int screen;
	int stalled;    /* camera: no picture for a while, a placeholder instead */
	uint64_t seq;   /* add order */
	egw_pan_t pan;  /* EGW_MIX_ALTERNATE: its side, kept for its lifetime */
	int has_level;  /* audio: a level arrived */
	double level;   /* audio: smoothed dBFS */
	uint64_t level_ms;
} comp_track_t;

/* The cells a custom region with reuse "none" handed out: keys[i] names
 * the source cell i got (its participant, kind and rank, so that a camera
 * that replaces a placeholder, or a returning participant, keeps the
 * cell). */
typedef struct comp_region_cells {
	char **keys;
	int n_used;
} comp_region_cells_t;

struct egw_compositor {
	egw_compositor_options_t opt; /* mix_participant points at our copy */
	egw_layout_t *layout;
	comp_participant_t **participants; /* join order */
	size_t n_participants, cap_participants;
	comp_track_t **tracks; /* add order */
	size_t n_tracks, cap_tracks;
	uint64_t next_seq;
	unsigned audio_added; /* EGW_MIX_ALTERNATE: audio tracks added so far */
	/* the active speaker (speaker.c) */
	comp_participant_t *speaker, *challenger;
	uint64_t speaker_since, challenger_since;
	/* per region of a custom layout with reuse "none" */
	comp_region_cells_t *cells;
	size_t n_cells;
	egw_scene_t scene;
};

/* compositor.c: lookups by id; NULL when absent. */
comp_participant_t *egw_comp_find_participant(const egw_compositor_t *c, const char *id);
comp_track_t *egw_comp_find_track(const egw_compositor_t *c, const char *id);
/* compositor.c: p is the one named (by id or display name) in names. */
int egw_comp_named(const comp_participant_t *p, char *const *names, size_t n);

/* speaker.c: re-evaluates the active speaker at now_ms. */
void egw_comp_speaker_tick(egw_compositor_t *c, uint64_t now_ms);
/* speaker.c: p is leaving; forgets it as speaker or challenger. */
void egw_comp_speaker_forget(egw_compositor_t *c, const comp_participant_t *p);

/* scene_tiles.c: builds the tiles of the current layout into s (empty on
 * entry). EGW_ERR_NOMEM when memory runs out (s then holds what was built,
 * for egw_comp_scene_clear). */
egw_err_t egw_comp_build_tiles(egw_compositor_t *c, egw_scene_t *s);
/* scene_tiles.c: drops the reuse-"none" memory of the regions. */
void egw_comp_cells_clear(egw_compositor_t *c);

/* compositor.c: frees what s holds and empties it. */
void egw_comp_scene_clear(egw_scene_t *s);

/* placeholder.c: the placeholder text and colour of a participant. */
void egw_placeholder_initials(const char *name, char *out, size_t out_size);
uint32_t egw_placeholder_color(const char *participant_id);

#endif
