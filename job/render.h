/* A render's input: a manifest (docs/manifest.md) read and checked, and
 * turned into the render plan of its tracks (pipelines/plan.h): each
 * track's file found (where the manifest says, or beside the manifest),
 * checked to hold the track's media, and placed on the timeline.
 * locality: the job's main thread. */
#ifndef EGW_JOB_RENDER_H
#define EGW_JOB_RENDER_H

#include "base/err.h"
#include "pipelines/plan.h"

typedef struct egw_render_input egw_render_input_t;

/* Reads the manifest at path. trim_end_s <= 0: to the end of the
 * recording. Errors name what is wrong, and the track when it is one:
 * EGW_ERR_INVALID_REQUEST (not a manifest, wrong types, a newer version,
 * a composite's manifest, a file that does not hold its track, a trim
 * outside the recording), EGW_ERR_NOT_FOUND (the manifest or a track's
 * file missing, or only in object storage: see render_fetch.h). */
egw_err_t egw_render_input_load(const char *path, double trim_start_s, double trim_end_s,
				egw_render_input_t **out, char *errstr, size_t errstr_size);
const egw_render_plan_t *egw_render_input_plan(const egw_render_input_t *in);
/* The files the tracks of the manifest at path name, each once, as the
 * manifest names them (its `file`, else its output's location), and the
 * first track naming each ("participants[0].tracks[1] (<track id>)"), for
 * fetching them (g_strfreev both). Tracks that do not say are skipped:
 * egw_render_input_load() reports them. -1: not a JSON object. */
int egw_render_manifest_files(const char *path, char ***locations, char ***whats);
/* The recording's room id and egress id (for paths and logs). */
const char *egw_render_input_room_id(const egw_render_input_t *in);
const char *egw_render_input_egress_id(const egw_render_input_t *in);
void egw_render_input_free(egw_render_input_t *in);

#endif
