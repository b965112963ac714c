/* The job runner's state, shared by runner.c (the start, the session's
 * and the source's events, requests) and runner_end.c (the end: finalising,
 * delivery, the manifest, the final event, leaving the room). Do not
 * include outside job/runner*.c.
 * locality: the job's main context. */
#ifndef EGW_RUNNER_INT_H
#define EGW_RUNNER_INT_H

#include <glib.h>
#include <jansson.h>
#include <sys/types.h>

#include "base/outbox.h"
#include "contract/request.h"
#include "contract/status.h"
#include "job/deliver.h"
#include "job/lifeline.h"
#include "job/manifest.h"
#include "job/plan.h"
#include "job/settings.h"
#include "pipelines/session.h"

typedef struct runner {
	const egw_job_settings_t *st;
	egw_request_t *req;
	egw_job_t *job;
	egw_status_t status;
	GMainLoop *loop;
	egw_job_plan_t *plan;
	egw_session_t *session;
	egw_source_t *src;
	egw_lifeline_t *lifeline;
	egw_delivery_t *delivery;    /* object storage: the spool and the uploads */
	egw_manifest_t *manifest;    /* what was recorded when */
	GPtrArray *track_files;      /* room_tracks: a file per track (runner.c) */
	time_t plan_time;            /* {time} in paths */
	egw_job_settings_t local_st; /* the settings, writing into the spool when delivering */
	const char *spool_root[1];
	gint64 t_start_us;
	int active, stopping, done, left;
	int orphan;               /* the worker is gone: events go to the outbox */
	pid_t worker_pid;         /* with a lifeline: the parent that started us */
	int gone_handled;         /* on_lifeline_closed() ran */
	egw_outbox_namer_t namer; /* (base/outbox.h) */
	int n_tracks;  /* tracks present now */
	int sfu_down;  /* the source lost the SFU and is reconnecting (runner_source.c) */
	gint64 sfu_down_us;
	char sfu_down_msg[256];
	egw_err_t err; /* first error, EGW_OK if none */
	char errmsg[512];
	char stop_reason[260]; /* a stop request's reason: up to 256 bytes */
	guint stop_timer, absent_timer, grace_timer, leave_timer;
	guint flow_timer;   /* with a worker: what reaches the outputs, for its metrics */
	guint signal_timer; /* a signal's meaning is being settled (runner.c on_signal) */
	guint run_timer;    /* `egress run --duration`: from the first media */
	guint progress_timer; /* a render: how far it has got */
	gint64 progress_emit_us;
	gint64 render_t0_us;            /* the render began (after any fetching) */
	struct egw_render_fetch *fetch; /* a render's recording coming from object storage */
	char *inputs_dir;               /* where it goes, removed at the end */
	char *render_from;              /* the manifest's location in the storage */
	double arg_duration_s;          /* `egress run --duration` */
	int progress_pct, progress_bar; /* last percent told; drawing a bar on stderr */
	double run_s;
} runner_t;

/* With a lifeline: has the worker that started us died? (Noticed by its
 * lifeline's end or by PR_SET_PDEATHSIG's signal, whichever comes first,
 * or here, by the parent having changed.) */
int egw_runner_worker_gone(runner_t *r);

/* A status event on stdout (details taken), with the first error; once
 * the worker is gone, into the spool's outbox instead, for the next worker
 * on that spool to deliver (base/outbox.h). */
void egw_runner_emit(runner_t *r, const char *status, json_t *outputs, json_t *details);
/* runner_tracks.c, room_tracks: a track's file made (the session's
 * on_track_output, opaque the runner); a track's file begun offset_s
 * after the recording (into the manifest); the tracks' files deleted
 * (nothing was recorded). */
egw_err_t egw_runner_track_output(void *opaque, const egw_track_t *t,
                                  const egw_output_plan_t **plan, char *errstr, size_t errstr_size);
void egw_runner_track_file_started(void *opaque, const char *track_id, double offset_s);
void egw_runner_discard_track_files(runner_t *r);
/* The start once the job's inputs are at hand (runner.c): the plan, the
 * session, the room or the render. Returns -1 when the job is over. */
int egw_runner_start_media(runner_t *r);

/* runner_render.c: a render job's part. */
void egw_runner_render_prepare(runner_t *r); /* before anything: its priority */
/* A manifest in object storage: its recording fetched, *fetching set, and
 * egw_runner_start_media() called when it is here (or the job failed). */
egw_err_t egw_runner_render_fetch(runner_t *r, int *fetching, char *errstr, size_t errstr_size);
void egw_runner_render_begin(runner_t *r);    /* the session plays: progress reports */
void egw_runner_render_progress(runner_t *r); /* one report now */
void egw_runner_render_end(runner_t *r);      /* at exit: timers, fetched files */

/* runner_source.c: the source's events. */
const egw_source_events_t *egw_runner_source_events(void);
/* Waits empty_room_timeout_s for the source to come (back). */
void egw_runner_start_absent(runner_t *r);
/* {"details": {"event": event, key: value}} */
json_t *egw_runner_detail(const char *event, const char *key, const char *value);

/* Removes a GLib source by id and zeroes the id. */
void egw_runner_cancel(guint *id);
/* Begins the end (EOS through every stream), for reason. */
void egw_runner_request_stop(runner_t *r, const char *reason);
/* Records the first error and ends the egress. */
void egw_runner_fail(runner_t *r, egw_err_t err, const char *message);
/* Everything is finalised: the final event (or the uploads first). */
void egw_runner_finish(runner_t *r);
/* While uploading: the uploads stop, the journal stays for a resume;
 * returns 1 then (the loop quits), 0 when there is nothing to upload. */
int egw_runner_leave_uploads(runner_t *r);

#endif
