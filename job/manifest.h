/* The manifest of an egress (docs/manifest.md): what was recorded and when,
 * on the egress's timeline (seconds from its first media), so that its
 * files can be found and placed again (a later re-render): the room, the
 * request without its secrets, the participants and their tracks (codec,
 * when each was published and unpublished, muted intervals, which outputs
 * hold it), and the outputs. Times are taken as the job's main loop learns
 * of each change (wall clock).
 * locality: the job's main context. */
#ifndef EGW_MANIFEST_H
#define EGW_MANIFEST_H

#include <glib.h>
#include <jansson.h>

#include "contract/request.h"

#define EGW_MANIFEST_VERSION 1

typedef struct egw_manifest egw_manifest_t;

/* request: the start request as received (it is kept redacted). */
egw_manifest_t *egw_manifest_new(const egw_job_t *job, const char *request, size_t len);
/* The egress's first media: time 0 of its timeline (wall clock, µs). */
void egw_manifest_start(egw_manifest_t *m, gint64 wall_us);
void egw_manifest_participant(egw_manifest_t *m, const char *name, int present, gint64 wall_us);
/* A track of participant begins (added) or ends. */
void egw_manifest_track(egw_manifest_t *m, const char *participant, const char *track_id,
                        const char *media, const char *codec, int screen, int added,
                        gint64 wall_us);
/* The track's own file (room_tracks): where it is, relative to the
 * manifest, and where its time 0 is on the timeline. */
void egw_manifest_track_file(egw_manifest_t *m, const char *track_id, const char *file,
                             double offset_s);
void egw_manifest_mute(egw_manifest_t *m, const char *track_id, int muted, gint64 wall_us);
/* The manifest (a new reference) at the end: status, the final outputs,
 * the end of the timeline. composite: tracks were mixed into a picture
 * (not stored one by one). */
json_t *egw_manifest_build(egw_manifest_t *m, const char *status, json_t *outputs,
                           const char *started_at, const char *ended_at, int composite,
                           gint64 end_wall_us);
void egw_manifest_free(egw_manifest_t *m);

#endif
