/* Delivery of an egress's files to object storage (storage.kind s3): the
 * spool directory the outputs are written to, its journal, and the upload
 * phase after the media ended (status `uploading`), which reports the
 * final event only once every file is in its storage (or failed for good,
 * kept in the spool with its local path). `egress upload` resumes a
 * journal a dead job or worker left.
 *
 * Lifetime rule: events run on the thread-default main context of the
 * caller of egw_delivery_finish(); after egw_delivery_free() none runs
 * (uploads in flight are dropped, the journal and files stay for a resume).
 * locality: the job's main context. */
#ifndef EGW_DELIVER_H
#define EGW_DELIVER_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "contract/request.h"
#include "job/settings.h"

typedef struct egw_delivery egw_delivery_t;

typedef struct egw_delivery_events {
	/* A status event: "uploading", then the final one. err/message: the
	 * final event's error (EGW_OK for none). */
	void (*emit)(void *user, const char *status, json_t *outputs, json_t *details,
	             egw_err_t err, const char *message);
	/* Everything reported; err is the final event's. */
	void (*done)(void *user, egw_err_t err);
	/* The manifest (a new reference) for the outputs as stored, written
	 * and uploaded after every other file; NULL (or no such event): none. */
	json_t *(*manifest)(void *user, json_t *outputs);
} egw_delivery_events_t;

/* For a job with object storage: resolves the credentials (the job's, or
 * the AWS_* environment), creates the egress's spool directory and journal
 * and locks it. *out stays NULL for other jobs. */
egw_err_t egw_delivery_open(const egw_job_t *job, const egw_job_settings_t *st,
                            egw_delivery_t **out, char *errstr, size_t errstr_size);
/* The job's object storage (NULL d: none). */
struct egw_store *egw_delivery_store(const egw_delivery_t *d);
/* The local directory the outputs are written to. */
const char *egw_delivery_dir(const egw_delivery_t *d);

/* A file the egress will not touch again (an HLS segment), or a playlist
 * naming such files, while it records: uploaded now (a playlist after the
 * files before it, and kept locally). NULL d, or a path outside the
 * egress's directory: nothing. */
void egw_delivery_file_closed(egw_delivery_t *d, const char *path);

/* The media ended. final: {"status": "complete" or "failed", "reason",
 * "error": {code, message} or null, "outputs", "usage"} (borrowed). Writes
 * it to the journal, then uploads (see above). */
void egw_delivery_finish(egw_delivery_t *d, json_t *final, const egw_delivery_events_t *ev,
                         void *user);
/* Non-zero between egw_delivery_finish() and the final event. */
int egw_delivery_busy(const egw_delivery_t *d);
/* Nothing was recorded: the journal and the empty directories go. */
void egw_delivery_discard(egw_delivery_t *d);
void egw_delivery_free(egw_delivery_t *d);

/* Egress ids whose journals in spool_dir wait for their uploads and that
 * no process holds (g_strfreev). */
char **egw_delivery_pending(const char *spool_dir);
/* Removes what killed render jobs fetched into the spool
 * (<egress_id>.inputs, held by no process); how many went. */
int egw_delivery_sweep_inputs(const char *spool_dir);
/* The webhook of egress_id's request, from its journal: 1 and *url (and
 * *secret, may be NULL; g_free both) when it has one. */
int egw_delivery_webhook(const char *spool_dir, const char *egress_id, char **url,
                         char **secret);

/* `egress upload EGRESS_ID`: finishes what the journal of egress_id in the
 * spool holds, writing status events as JSON lines on stdout. lifeline:
 * stdin is the worker's lifeline (its end stops the uploads, the journal
 * stays). Returns the exit status (0: nothing left to do). */
int egw_delivery_resume_main(const egw_job_settings_t *st, const char *egress_id, int lifeline);

#endif
