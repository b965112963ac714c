/* From a start request to what the job builds: checks that this build can
 * run it (asking the source and output registries), the source's narrow
 * specification (where, which room, which tracks), the media plan (graph,
 * outputs, containers) and the output files, created exclusively in a
 * storage directory the worker allows.
 * locality: the job's main thread. */
#ifndef EGW_JOB_PLAN_H
#define EGW_JOB_PLAN_H

#include <time.h>

#include "contract/request.h"
#include "job/settings.h"
#include "pipelines/plan.h"
#include "sfu/source.h"
#include "storage/local.h"

typedef struct egw_job_plan {
	const egw_source_ops_t *sfu;
	egw_source_spec_t source; /* strings borrowed from the job */
	egw_source_endpoint_t *endpoints; /* source.endpoints (whep) */
	egw_media_plan_t media;
	char *dir; /* the storage directory, absolute */
	struct egw_render_input *render; /* a render's manifest, read */
	const char *track_template;      /* room_tracks: the file path template */
	egw_container_t track_container; /* room_tracks: its container */
	egw_local_file_t *files[EGW_PLAN_OUTPUTS_MAX];
	char names[EGW_PLAN_OUTPUTS_MAX][32]; /* "outputs[i]" */
} egw_job_plan_t;

/* EGW_OK when this build can run job; otherwise EGW_ERR_NOT_SUPPORTED with
 * errstr naming the field, e.g. "source.kind: room_composite is not
 * supported yet". No side effects. */
egw_err_t egw_plan_check(const egw_job_t *job, char *errstr, size_t errstr_size);

/* Does the egress decode and encode? Composites always; a participant or
 * a track when it has an output other than files (then its files are
 * encoded too: one encode for all outputs). */
int egw_plan_transcodes(const egw_job_t *job);

/* Checks, then builds the plan: resolves the storage directory within the
 * allowed roots and creates every output file (paths expanded at start).
 * On failure nothing it created is left behind. */
egw_err_t egw_plan_build(const egw_job_t *job, const egw_job_settings_t *settings, time_t start,
			 egw_job_plan_t **out, char *errstr, size_t errstr_size);

/* Deletes the output files (and directories made for them): for an egress
 * that ended before any media was written. */
void egw_plan_discard(egw_job_plan_t *plan);
void egw_plan_free(egw_job_plan_t *plan);

#endif
