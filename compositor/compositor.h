/* The compositor: given who is in the room (participants, their tracks,
 * how loud they are), a canvas and a layout, decides the scene: which video
 * goes in which rectangle (tiles), what stands in for a participant without
 * video (a placeholder: initials on a colour), and how the audio is mixed.
 * Pure C, no media headers: the media side (pipelines/graph_composite.c)
 * applies the scene to its elements.
 *
 * Stability: a tile keeps its place when others join or leave unless the
 * layout must move it; the active speaker changes with hysteresis.
 * locality: one thread (the job's main context); no shared state.
 *
 * Order. Participants are ordered by when they joined (their first track);
 * a participant's sources are its cameras, then its screen shares, each in
 * the order they were added; a participant without video is one
 * placeholder. Leaving keeps the others' order; joining appends.
 *
 * Layouts (docs/layouts.md). grid: every source, in cells of equal size
 * chosen so that a 16:9 picture is as large as possible, the last row
 * centred. speaker: the active speaker's first source on the stage (the
 * canvas above a strip a fifth of its height), the other sources in the
 * strip, in order, as many 16:9 cells as fit (4 on 1280x720); alone, the
 * stage is the whole canvas. screenshare: the earliest added screen share
 * on the stage, every other source in the strip; grid when nobody shares.
 * single-speaker: the active speaker's first source, whole canvas. custom:
 * regions, each a grid of its own (docs/layouts.md). Cells are 4 pixels
 * apart (EGW_GRID_GAP), with no margin at the canvas edges.
 *
 * Active speaker. A participant's level is the loudest of its audio
 * tracks, smoothed (exponential moving average, time constant
 * EGW_SPEAKER_SMOOTH_MS); a level not refreshed for EGW_SPEAKER_STALE_MS
 * counts as silence. A participant speaks above EGW_SPEAKER_DB. Another
 * participant takes over when it has been the loudest speaking one for
 * EGW_SPEAKER_SUSTAIN_MS without a break and the current speaker has held
 * the role for EGW_SPEAKER_HOLD_MS: a cough never switches. Before anyone
 * spoke, the first participant to join is the speaker; when the speaker
 * leaves, the loudest speaking participant (or else the first to join)
 * takes over at once. */
#ifndef EGW_COMPOSITOR_H
#define EGW_COMPOSITOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/media.h"

#define EGW_SPEAKER_DB (-50.0)      /* dBFS: above this, a participant speaks */
#define EGW_SPEAKER_SMOOTH_MS 300   /* time constant of the level's moving average */
#define EGW_SPEAKER_STALE_MS 1000   /* an older level counts as silence */
#define EGW_SPEAKER_SUSTAIN_MS 1500 /* a challenger is the loudest this long... */
#define EGW_SPEAKER_HOLD_MS 2000    /* ...and the speaker held the role this long */
#define EGW_GRID_GAP 4              /* pixels between neighbouring cells */
#define EGW_FIT_NATIVE_PERMILLE 20  /* see egw_fit_native() */

/* ---- layouts (compositor/layout.c) ---- */

#define EGW_LAYOUT_REGIONS_MAX 16 /* regions of a custom layout */
#define EGW_LAYOUT_CELLS_MAX 10   /* max_columns and max_rows of a region */

typedef enum egw_layout_kind {
	EGW_LAYOUT_GRID = 0,
	EGW_LAYOUT_SPEAKER,
	EGW_LAYOUT_SCREENSHARE,
	EGW_LAYOUT_SINGLE_SPEAKER,
	EGW_LAYOUT_CUSTOM,
} egw_layout_kind_t;

typedef struct egw_layout egw_layout_t;

/* Parses a layout: one of the names "grid", "speaker", "screenshare",
 * "single-speaker", or the compact JSON of a custom layout object (see
 * docs/layouts.md), checked against a canvas of width x height (0x0: not
 * known; regions are then clipped to the canvas when it is used). field
 * names the layout in messages ("source.layout").
 * EGW_ERR_INVALID_REQUEST with errstr naming the field path, e.g.
 * "source.layout.regions[1].width: must be an integer between 2 and 1280". */
egw_err_t egw_layout_parse(const char *text, const char *field, int width, int height,
			   egw_layout_t **out, char *errstr, size_t errstr_size);
egw_layout_kind_t egw_layout_kind(const egw_layout_t *l);
const char *egw_layout_name(const egw_layout_t *l); /* "grid", ..., "custom" */
void egw_layout_free(egw_layout_t *l);

/* ---- the compositor (compositor/compositor.c) ---- */

typedef enum egw_mix_mode {
	EGW_MIX_EVERYONE = 0, /* every audio track, both channels */
	EGW_MIX_DUAL_CHANNEL, /* one participant left, everyone else right */
	EGW_MIX_ALTERNATE,    /* each new audio track left or right, in turn */
} egw_mix_mode_t;

typedef struct egw_compositor_options {
	int width, height;           /* canvas; 0x0 for audio only (no tiles) */
	int labels;                  /* tiles carry the participant's name */
	egw_mix_mode_t mix;
	const char *mix_participant; /* dual channel: display name or id */
} egw_compositor_options_t;

/* A track of the room as the compositor sees it. Strings are copied. */
typedef struct egw_comp_track {
	const char *track_id;       /* "<participant id>/<mid>" */
	const char *participant_id;
	const char *participant_name; /* display name (the id when none) */
	egw_media_t media;
	int screen; /* video: a screen share */
} egw_comp_track_t;

typedef enum egw_pan {
	EGW_PAN_CENTER = 0, /* both channels */
	EGW_PAN_LEFT,
	EGW_PAN_RIGHT,
} egw_pan_t;

typedef struct egw_tile {
	int x, y, width, height; /* the cell on the canvas, even numbers; the
				  * video is fitted inside, aspect kept */
	int z;                   /* higher is drawn on top */
	const char *track_id;    /* the video shown; NULL: a placeholder */
	const char *participant_id;
	const char *label;       /* the participant's name; NULL without labels */
	char initials[8];        /* placeholder text, UTF-8, e.g. "AB" */
	uint32_t color;          /* placeholder colour 0xRRGGBB, stable per participant */
} egw_tile_t;

typedef struct egw_mix_input {
	const char *track_id; /* an audio track */
	double gain;          /* 1.0 = as is */
	egw_pan_t pan;
} egw_mix_input_t;

typedef struct egw_scene {
	egw_tile_t *tiles; /* drawn in array order; z says the same */
	size_t n_tiles;
	egw_mix_input_t *mix;
	size_t n_mix;
	const char *speaker_id; /* participant id of the active speaker (in any
				 * layout), or NULL in an empty room */
} egw_scene_t;

typedef struct egw_compositor egw_compositor_t;

/* layout is taken (freed with the compositor); NULL behaves as grid. */
egw_compositor_t *egw_compositor_new(const egw_compositor_options_t *opt, egw_layout_t *layout);
/* Switches the layout (taken); the next update() applies it. */
void egw_compositor_set_layout(egw_compositor_t *c, egw_layout_t *layout);
const egw_layout_t *egw_compositor_layout(const egw_compositor_t *c);

/* The room changed. A participant is present while it has a track; its
 * join order is when its first track was added. Adding a known track_id
 * again is a no-op; removing an unknown one too. */
void egw_compositor_add_track(egw_compositor_t *c, const egw_comp_track_t *t);
void egw_compositor_remove_track(egw_compositor_t *c, const char *track_id);

/* A camera (video, not a screen share) whose pictures stopped coming
 * (stalled 1) is shown as its participant's placeholder in the same cell,
 * the layout unchanged, until its pictures come back (stalled 0). Unknown
 * tracks, audio and screen shares are ignored (a screen share may send a
 * picture only when its content changes). */
void egw_compositor_video_stalled(egw_compositor_t *c, const char *track_id, int stalled);

/* The loudness of an audio track, RMS in dBFS (-127..0), measured at
 * now_ms (a monotonic clock in milliseconds). Feeds the active speaker. */
void egw_compositor_audio_level(egw_compositor_t *c, const char *track_id, double db,
				uint64_t now_ms);

/* Recomputes the scene at now_ms. Returns 1 when it differs from the one
 * before (tiles, mix or active speaker), 0 otherwise. When memory runs out
 * the scene before stays and 0 is returned. */
int egw_compositor_update(egw_compositor_t *c, uint64_t now_ms);
/* The current scene; valid until the next call into the compositor. */
const egw_scene_t *egw_compositor_scene(const egw_compositor_t *c);
/* The scene as JSON text (tiles and mix), for golden tests and debug
 * logs; free with free(). */
char *egw_scene_to_json(const egw_scene_t *s);

void egw_compositor_free(egw_compositor_t *c);

/* ---- a render's schedule (compositor/schedule.c) ---- */

/* A track of a recording as a render sees it: when it was published, and
 * (audio) how loud it was. */
typedef struct egw_schedule_track {
	egw_comp_track_t track;
	const double *published; /* start_s, end_s pairs on the timeline, in order */
	size_t n_published;
	const float *levels_db; /* audio: its level (dBFS) every level_step_ms
	                         * from time 0; NULL: not measured (silence) */
	size_t n_levels;
} egw_schedule_track_t;

/* From at_ms on (until the next key), a lane is shown (a video in its
 * tile, a placeholder, an audio track in the mix) or not. */
typedef struct egw_schedule_key {
	uint64_t at_ms;
	int shown;
	int x, y, width, height, z; /* video, placeholder: the cell */
	double gain;                /* audio */
	egw_pan_t pan;              /* audio */
} egw_schedule_key_t;

/* One thing the render places over time: a track, or (track_id NULL) a
 * participant's placeholder. Keys are in time order, each differing from
 * the one before; the first is at 0. */
typedef struct egw_schedule_lane {
	char *track_id;
	char *participant_id;
	char *label;      /* video and placeholder tiles with labels: the name */
	char initials[8]; /* placeholder */
	uint32_t color;   /* placeholder */
	egw_schedule_key_t *keys;
	size_t n_keys, cap_keys;
} egw_schedule_lane_t;

typedef struct egw_schedule {
	egw_schedule_lane_t *lanes; /* tracks in the order given, then placeholders */
	size_t n_lanes;
	size_t n_changes; /* scenes that differed from the one before */
	size_t n_speaker_changes;
} egw_schedule_t;

/* The scenes of a recording from 0 to end_ms, as the live compositor
 * would have made them (the same layouts, stability and active speaker):
 * the compositor is fed the tracks' publications at their times and the
 * levels every level_step_ms, and re-evaluated at every change and every
 * tick_ms. Deterministic: the same input gives the same schedule. layout
 * is taken. EGW_ERR_NOMEM, or EGW_ERR_INVALID_REQUEST for a step of 0. */
egw_err_t egw_schedule_build(const egw_compositor_options_t *opt, egw_layout_t *layout,
                             const egw_schedule_track_t *tracks, size_t n_tracks,
                             uint64_t level_step_ms, uint64_t tick_ms, uint64_t end_ms,
                             egw_schedule_t **out);
void egw_schedule_free(egw_schedule_t *s);

/* ---- fitting a picture in its cell (compositor/fit.c) ---- */

/* Where a picture goes in its cell: crop (pixels taken off each side of
 * the picture) and a rectangle relative to the cell's corner. */
typedef struct egw_fit {
	int crop_left, crop_right, crop_top, crop_bottom;
	int x, y, width, height;
} egw_fit_t;

/* A picture within EGW_FIT_NATIVE_PERMILLE of its cell's size in one
 * direction, and in the other within it too or smaller, is shown at its
 * own size instead of being scaled: cropped where it is larger (a 640x360
 * camera in the 638x358 cells of a 2x2 grid at 720p loses 2 columns and 2
 * rows), centred where it is smaller (bands, as scaling with the aspect
 * kept would leave). Rescaling costs more than the whole rest of a tile's
 * compositing and blurs it. Returns 1 then; otherwise 0 and the whole cell
 * (the picture is scaled into it, aspect kept). Crops and offsets are even
 * (4:2:0 chroma). */
int egw_fit_native(int pic_w, int pic_h, int cell_w, int cell_h, egw_fit_t *out);

#endif
