/* The end of an egress (see runner_int.h): EOS first, the outputs
 * finalised, the manifest and the final event (after the uploads, with
 * object storage), then the room is left. */
#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "contract/status.h"
#include "job/runner_int.h"

#define LEAVE_WAIT_MS 3000 /* the source's goodbye, then exit anyway */

static void to_outbox(runner_t *r, const char *status, char *line)
{
	char *dir = g_build_filename(r->st->spool_dir, EGW_OUTBOX_DIR, EGW_OUTBOX_JOBS_DIR, NULL);
	char errstr[300];
	egw_outbox_rec_t rec = {.key = r->status.egress_id,
	                        .value = line,
	                        .len = strlen(line),
	                        .final = egw_status_is_terminal(status)};
	if (egw_outbox_write(dir, &r->namer, &rec, NULL, errstr, sizeof(errstr)))
		EGW_LOG(r->status.egress_id, ERROR, "%s event lost: the worker is gone and %s",
		        status, errstr);
	g_free(dir);
}

int egw_runner_worker_gone(runner_t *r)
{
	if (!r->orphan && r->worker_pid > 1 && getppid() != r->worker_pid)
		r->orphan = 1;
	return r->orphan;
}

void egw_runner_emit(runner_t *r, const char *status, json_t *outputs, json_t *details)
{
	json_t *ev = egw_status_event(&r->status, status, outputs, details, r->err,
	                              r->err ? r->errmsg : NULL);
	char *line = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	if (line && egw_runner_worker_gone(r)) {
		to_outbox(r, status, line);
	} else if (line) {
		/* The worker may be gone (lifeline closed): a write error must
		 * not stop us finalising. */
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
	}
	EGW_LOG(r->status.egress_id, INFO, "status %s%s%s", status, r->err ? ": " : "",
	        r->err ? r->errmsg : "");
	free(line);
	json_decref(ev);
	json_decref(details);
}

void egw_runner_cancel(guint *id)
{
	if (*id)
		g_source_remove(*id);
	*id = 0;
}

/* ---- the end ---- */

/* The room is left: the end, unless uploads still run. */
static void quit(void *user)
{
	runner_t *r = user;
	egw_runner_cancel(&r->leave_timer);
	r->left = 1;
	if (!egw_delivery_busy(r->delivery))
		g_main_loop_quit(r->loop);
}

static gboolean leave_expired(gpointer user)
{
	runner_t *r = user;
	r->leave_timer = 0;
	EGW_LOG(r->status.egress_id, WARN, "the SFU did not answer our goodbye; leaving anyway");
	quit(r);
	return G_SOURCE_REMOVE;
}

/* After the final event: leave the room (never from inside a source
 * event, hence from an idle callback), then quit. */
static gboolean leave_room(gpointer user)
{
	runner_t *r = user;
	egw_source_t *src = r->src;
	r->src = NULL;
	r->leave_timer = g_timeout_add(LEAVE_WAIT_MS, leave_expired, r);
	/* The media stops first, downstream to upstream (mixers flush their
	 * inputs): the source's elements must not go while data they push
	 * waits in a mixer. */
	if (r->session)
		egw_session_stop(r->session);
	if (src)
		r->plan->sfu->close(src, quit, r);
	else
		quit(r);
	return G_SOURCE_REMOVE;
}

/* CPU this job process used so far, for cost accounting. */
static json_t *usage(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	             (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return json_pack("{s:{s:f}}", "usage", "cpu_s", (double)(gint64)(cpu * 1000) / 1000.0);
}

/* ---- delivery to object storage ---- */

static void delivery_emit(void *user, const char *status, json_t *outputs, json_t *details,
                          egw_err_t err, const char *message)
{
	runner_t *r = user;
	if (err && !r->err) {
		r->err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", message ? message : "");
	}
	egw_runner_emit(r, status, outputs, details);
}

/* ---- the manifest ---- */

static json_t *manifest_of(runner_t *r, const char *status, json_t *outs)
{
	int composite = r->plan && r->plan->media.graph != EGW_GRAPH_PASSTHROUGH &&
	                r->plan->media.graph != EGW_GRAPH_TRACKS;
	return egw_manifest_build(r->manifest, status, outs, r->status.started_at,
	                          r->status.ended_at, composite, g_get_real_time());
}

/* Local storage: <egress_id>.manifest.json in the storage directory, made
 * exclusively; its entry is added to outs. */
static void write_manifest(runner_t *r, const char *status, json_t *outs)
{
	char name[EGW_EGRESS_ID_MAX + 32], errstr[512];
	egw_local_file_t *f = NULL;
	json_t *m = manifest_of(r, status, outs);
	char *text = m ? json_dumps(m, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) : NULL;
	size_t len = text ? strlen(text) : 0;
	egw_err_t err;

	snprintf(name, sizeof(name), "%s.manifest.json", r->status.egress_id);
	if (!text || (err = egw_local_create(r->plan->dir, name, &f, errstr, sizeof(errstr))) ||
	    write(f->fd, text, len) != (ssize_t)len || fsync(f->fd)) {
		EGW_LOG(r->status.egress_id, WARN, "no manifest: %s",
		        !text ? "cannot encode"
		        : f   ? g_strerror(errno)
		              : errstr);
		if (f)
			egw_local_discard(f);
	} else {
		json_array_append_new(outs, json_pack("{s:s, s:s, s:s, s:I}", "kind", "manifest",
		                                      "format", "json", "location", f->path, "size",
		                                      (json_int_t)len));
		egw_local_close(f);
	}
	egw_local_free(f);
	free(text);
	json_decref(m);
}

static json_t *delivery_manifest(void *user, json_t *outputs)
{
	runner_t *r = user;
	return manifest_of(r, r->err ? "failed" : "complete", outputs);
}

static void delivery_done(void *user, egw_err_t err)
{
	runner_t *r = user;
	if (r->left)
		g_main_loop_quit(r->loop);
}

/* The media ended with files in the spool: they go to the storage, and
 * the final event follows once they are there. */
static void deliver(runner_t *r, const char *status, json_t *outs, json_t *details)
{
	static const egw_delivery_events_t ev = {delivery_emit, delivery_done, delivery_manifest};
	json_t *final = json_pack("{s:s, s:s, s:s, s:O?, s:O?}", "status", status, "started_at",
	                          r->status.started_at, "ended_at", r->status.ended_at, "outputs",
	                          outs, "usage", json_object_get(details, "usage"));
	if (r->err)
		json_object_set_new(final, "error",
		                    json_pack("{s:s, s:s}", "code", egw_err2code(r->err), "message",
		                              r->errmsg));
	else
		json_object_set_new(final, "reason", json_string(r->stop_reason));
	egw_delivery_finish(r->delivery, final, &ev, r);
	json_decref(final);
	json_decref(details);
}

/* The final event: complete, failed (with what was written) or aborted. */
void egw_runner_finish(runner_t *r)
{
	json_t *outs = NULL, *details;
	if (r->done)
		return;
	r->done = 1;
	details = usage();
	egw_runner_cancel(&r->grace_timer);
	egw_runner_cancel(&r->absent_timer);
	egw_runner_cancel(&r->stop_timer);
	egw_runner_cancel(&r->flow_timer);
	egw_runner_cancel(&r->signal_timer);
	egw_runner_cancel(&r->run_timer);
	egw_time_now(r->status.ended_at, sizeof(r->status.ended_at));
	if (r->active)
		outs = egw_session_outputs(r->session);
	else {
		egw_plan_discard(r->plan); /* nothing was written: no empty files */
		egw_runner_discard_track_files(r);
	}
	if (!r->active)
		egw_delivery_discard(r->delivery);
	if (r->active && !r->delivery && outs)
		write_manifest(r, r->err ? "failed" : "complete", outs);
	if (r->active && r->delivery) {
		deliver(r, r->err ? "failed" : "complete", outs, details);
	} else if (r->err) {
		egw_runner_emit(r, "failed", outs, details);
	} else if (!r->active) {
		json_object_set_new(details, "reason", json_string(r->stop_reason));
		egw_runner_emit(r, "aborted", NULL, details);
	} else {
		json_object_set_new(details, "reason", json_string(r->stop_reason));
		egw_runner_emit(r, "complete", outs, details);
	}
	json_decref(outs);
	g_idle_add(leave_room, r);
}

static gboolean grace_expired(gpointer user)
{
	runner_t *r = user;
	r->grace_timer = 0;
	EGW_LOG(r->status.egress_id, WARN,
	        "outputs did not finalise in time; closing them as they are");
	egw_session_abandon(r->session); /* nothing more written, then reported */
	egw_runner_finish(r);
	return G_SOURCE_REMOVE;
}

/* Begins the end: EOS through every stream; the room is left after. */
void egw_runner_request_stop(runner_t *r, const char *reason)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", reason);
	EGW_LOG(r->status.egress_id, INFO, "stopping: %s", reason);
	if (!r->active || !r->session) {
		egw_runner_finish(r);
		return;
	}
	egw_runner_emit(r, "ending", NULL, json_pack("{s:s}", "reason", reason));
	r->grace_timer = g_timeout_add_seconds((guint)r->st->stop_grace_s, grace_expired, r);
	egw_session_finish(r->session);
}

void egw_runner_fail(runner_t *r, egw_err_t err, const char *message)
{
	if (!r->err) {
		r->err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", message);
	}
	if (!r->stopping)
		egw_runner_request_stop(r, "error");
	else if (!r->done && err != EGW_OK && r->grace_timer == 0)
		egw_runner_finish(r);
}

/* Uploads interrupted (the worker is gone, or a signal): the journal and
 * the files stay in the spool for the next start of a worker. */
int egw_runner_leave_uploads(runner_t *r)
{
	if (!egw_delivery_busy(r->delivery))
		return 0;
	EGW_LOG(r->status.egress_id, WARN,
	        "uploads interrupted; they go on at the next start "
	        "of a worker with this spool (or `egress upload %s`)",
	        r->status.egress_id);
	g_main_loop_quit(r->loop);
	return 1;
}
