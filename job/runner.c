/* One egress: the state machine of a job process (see runner.h).
 *
 *   starting -> active (first byte written) -> ending -> complete
 *   failed from any state (with what was written), aborted before media
 *
 * The end always goes the same way: EOS down every stream first, the
 * outputs finalise, the final event is written, and only then does the
 * source leave the room (a frozen SFU never costs a file). */
#include "job/runner.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <malloc.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "contract/request.h"
#include "contract/status.h"
#include "job/deliver.h"
#include "job/lifeline.h"
#include "job/plan.h"
#include "pipelines/session.h"

#define MAX_JOB_BYTES (1 << 20)
#define LEAVE_WAIT_MS 3000 /* the source's goodbye, then exit anyway */

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
	egw_delivery_t *delivery; /* object storage: the spool and the uploads */
	egw_job_settings_t local_st; /* the settings, writing into the spool when delivering */
	const char *spool_root[1];
	gint64 t_start_us;
	int active, stopping, done, left;
	int n_tracks; /* tracks present now */
	egw_err_t err; /* first error, EGW_OK if none */
	char errmsg[512];
	char stop_reason[64];
	guint stop_timer, absent_timer, grace_timer, leave_timer;
} runner_t;

static void emit(runner_t *r, const char *status, json_t *outputs, json_t *details)
{
	json_t *ev = egw_status_event(&r->status, status, outputs, details, r->err,
				      r->err ? r->errmsg : NULL);
	char *line = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	if (line) {
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

static json_t *detail(const char *event, const char *key, const char *value)
{
	return json_pack("{s:{s:s, s:s}}", "details", "event", event, key, value);
}

static void cancel(guint *id)
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
	cancel(&r->leave_timer);
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
	emit(r, status, outputs, details);
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
	static const egw_delivery_events_t ev = {delivery_emit, delivery_done};
	json_t *final = json_pack("{s:s, s:s, s:s, s:O?, s:O?}", "status", status, "started_at",
				  r->status.started_at, "ended_at", r->status.ended_at, "outputs",
				  outs, "usage", json_object_get(details, "usage"));
	if (r->err)
		json_object_set_new(final, "error", json_pack("{s:s, s:s}", "code",
							      egw_err2code(r->err), "message",
							      r->errmsg));
	else
		json_object_set_new(final, "reason", json_string(r->stop_reason));
	egw_delivery_finish(r->delivery, final, &ev, r);
	json_decref(final);
	json_decref(details);
}

/* The final event: complete, failed (with what was written) or aborted. */
static void finish(runner_t *r)
{
	json_t *outs = NULL, *details = usage();
	if (r->done)
		return;
	r->done = 1;
	cancel(&r->grace_timer);
	cancel(&r->absent_timer);
	cancel(&r->stop_timer);
	egw_time_now(r->status.ended_at, sizeof(r->status.ended_at));
	if (r->active)
		outs = egw_session_outputs(r->session);
	else
		egw_plan_discard(r->plan); /* nothing was written: no empty files */
	if (!r->active)
		egw_delivery_discard(r->delivery);
	if (r->active && r->delivery) {
		deliver(r, r->err ? "failed" : "complete", outs, details);
	} else if (r->err) {
		emit(r, "failed", outs, details);
	} else if (!r->active) {
		json_object_set_new(details, "reason", json_string(r->stop_reason));
		emit(r, "aborted", NULL, details);
	} else {
		json_object_set_new(details, "reason", json_string(r->stop_reason));
		emit(r, "complete", outs, details);
	}
	json_decref(outs);
	g_idle_add(leave_room, r);
}

static gboolean grace_expired(gpointer user)
{
	runner_t *r = user;
	r->grace_timer = 0;
	EGW_LOG(r->status.egress_id, WARN, "outputs did not finalise in time; closing them as they are");
	finish(r);
	return G_SOURCE_REMOVE;
}

/* Begins the end: EOS through every stream; the room is left after. */
static void request_stop(runner_t *r, const char *reason)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", reason);
	EGW_LOG(r->status.egress_id, INFO, "stopping: %s", reason);
	if (!r->active || !r->session) {
		finish(r);
		return;
	}
	emit(r, "ending", NULL, json_pack("{s:s}", "reason", reason));
	r->grace_timer = g_timeout_add_seconds((guint)r->st->stop_grace_s, grace_expired, r);
	egw_session_finish(r->session);
}

static void fail(runner_t *r, egw_err_t err, const char *message)
{
	if (!r->err) {
		r->err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", message);
	}
	if (!r->stopping)
		request_stop(r, "error");
	else if (!r->done && err != EGW_OK && r->grace_timer == 0)
		finish(r);
}

/* ---- the media session's events ---- */

static void on_first_media(void *opaque)
{
	runner_t *r = opaque;
	if (r->active || r->stopping)
		return;
	r->active = 1;
	egw_time_now(r->status.started_at, sizeof(r->status.started_at));
	EGW_LOG(r->status.egress_id, INFO, "first media written %.0f ms after start",
		(g_get_monotonic_time() - r->t_start_us) / 1000.0);
	emit(r, "active", NULL, NULL);
	cancel(&r->absent_timer);
}

static void on_output_failed(void *opaque, size_t i, egw_err_t err, const char *message)
{
	runner_t *r = opaque;
	json_t *d = json_pack("{s:{s:s, s:s, s:{s:s, s:s}}}", "details", "event", "output_failed",
			      "output", r->plan->names[i], "error", "code", egw_err2code(err),
			      "message", message);
	if (r->active && !r->done)
		emit(r, "active", NULL, d);
	else
		json_decref(d);
}

static void on_output_event(void *opaque, size_t i, json_t *details)
{
	runner_t *r = opaque;
	/* With every output's state as it is now (a stream's destinations). */
	json_t *outs;
	if (r->done) {
		json_decref(details);
		return;
	}
	outs = r->session ? egw_session_outputs(r->session) : NULL;
	emit(r, r->active ? "active" : "starting", outs, details);
	json_decref(outs);
}

static void on_session_failed(void *opaque, egw_err_t err, const char *message)
{
	runner_t *r = opaque;
	fail(r, err, message);
	if (r->stopping && !r->done)
		finish(r); /* nothing is left to finalise */
}

static void on_file_closed(void *opaque, size_t i, const char *path)
{
	runner_t *r = opaque;
	egw_delivery_file_closed(r->delivery, path);
}

static void on_finished(void *opaque)
{
	runner_t *r = opaque;
	EGW_LOG(r->status.egress_id, INFO, "every output finalised");
	finish(r);
}

/* ---- the source's events ---- */

static gboolean absent_expired(gpointer user)
{
	runner_t *r = user;
	char msg[512];
	r->absent_timer = 0;
	if (r->active) {
		request_stop(r, r->job->source.kind == EGW_SOURCE_ROOM_COMPOSITE ? "room empty"
										  : "source absent");
		return G_SOURCE_REMOVE;
	}
	if (r->job->source.kind == EGW_SOURCE_ROOM_COMPOSITE)
		snprintf(msg, sizeof(msg), "nobody published in the room within %d s",
			 r->job->limits.empty_room_timeout_s);
	else
		snprintf(msg, sizeof(msg), "%s did not publish within %d s",
			 r->job->source.participant ? r->job->source.participant
			 : r->job->source.track_id  ? r->job->source.track_id
						    : "the source",
			 r->job->limits.empty_room_timeout_s);
	fail(r, EGW_ERR_NOT_FOUND, msg);
	return G_SOURCE_REMOVE;
}

static void start_absent(runner_t *r)
{
	if (!r->absent_timer && !r->stopping)
		r->absent_timer = g_timeout_add_seconds((guint)r->job->limits.empty_room_timeout_s,
							absent_expired, r);
}

static void src_participant(void *opaque, const egw_participant_t *p, int present)
{
	runner_t *r = opaque;
	if (r->session)
		egw_session_room_event(r->session,
				       present ? "participant_joined" : "participant_left", p->name,
				       NULL);
	if (r->active && !r->stopping)
		emit(r, "active", NULL,
		     detail(present ? "participant_published" : "participant_unpublished",
			    "participant", p->name));
}

static egw_err_t src_track_added(void *opaque, const egw_track_t *t, char *errstr,
				 size_t errstr_size)
{
	runner_t *r = opaque;
	egw_err_t err = egw_session_track_added(r->session, t, errstr, errstr_size);
	if (err == EGW_ERR_NOT_SUPPORTED) { /* the egress goes on without it */
		EGW_LOG(r->status.egress_id, WARN, "track %s skipped: %s", t->id, errstr);
		if (!r->stopping)
			emit(r, r->active ? "active" : "starting", NULL,
			     json_pack("{s:{s:s, s:s, s:s, s:s}}", "details", "event",
				       "track_skipped", "track", t->id, "participant",
				       t->participant.name, "reason", errstr));
		return err;
	}
	if (err) {
		fail(r, err, errstr);
		return err;
	}
	r->n_tracks++;
	cancel(&r->absent_timer);
	return EGW_OK;
}

static void src_track_pad(void *opaque, const egw_track_t *t, GstPad *pad)
{
	runner_t *r = opaque;
	egw_session_track_pad(r->session, t, pad);
}

static void src_track_removed(void *opaque, const egw_track_t *t)
{
	runner_t *r = opaque;
	egw_session_track_removed(r->session, t);
	if (r->n_tracks > 0 && --r->n_tracks == 0)
		start_absent(r); /* wait for them to come back */
}

static void src_error(void *opaque, egw_err_t err, const char *message)
{
	fail(opaque, err, message);
}

/* ---- requests ---- */

static char *read_job(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
	GError *gerr = NULL;
	gchar *text = NULL;
	gsize n = 0;
	if (!strcmp(path, "-")) {
		GString *s = g_string_new(NULL);
		char buf[4096];
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0 && s->len < MAX_JOB_BYTES)
			g_string_append_len(s, buf, (gssize)k);
		*len = s->len;
		return g_string_free(s, FALSE);
	}
	if (!g_file_get_contents(path, &text, &n, &gerr)) {
		snprintf(errstr, errstr_size, "cannot read %s: %s", path, gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	*len = n;
	return text;
}

/* A failure before the egress started: one final event, like any end. */
static int refuse(runner_t *r, egw_err_t err, const char *message)
{
	r->err = err;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", message);
	egw_time_now(r->status.ended_at, sizeof(r->status.ended_at));
	emit(r, "failed", NULL, NULL);
	return -1;
}

static int parse_job(runner_t *r, char *text, size_t len, const char *read_error)
{
	char errstr[512], id[EGW_EGRESS_ID_MAX + 1] = "";
	egw_err_t err = text ? egw_request_parse(text, len, &r->req, id, errstr, sizeof(errstr))
			     : EGW_ERR_INVALID_REQUEST;
	if (!text)
		snprintf(errstr, sizeof(errstr), "%s", read_error);
	snprintf(r->status.egress_id, sizeof(r->status.egress_id), "%s", id);
	if (!err && r->req->type != EGW_REQ_START) {
		snprintf(errstr, sizeof(errstr), "type: `egress run` takes a start request");
		err = EGW_ERR_INVALID_REQUEST;
	}
	if (err)
		return refuse(r, err, errstr);
	r->job = r->req->job;
	if (!r->job->limits.max_duration_s)
		r->job->limits.max_duration_s = r->st->max_duration_s;
	if (!r->job->limits.empty_room_timeout_s)
		r->job->limits.empty_room_timeout_s = r->st->empty_room_timeout_s;
	return 0;
}

static void ignore_update(runner_t *r, const char *what, const char *why)
{
	EGW_LOG(r->status.egress_id, INFO, "%s not applied: %s", what, why);
	if (!r->done)
		emit(r, r->active ? "active" : "starting", NULL,
		     json_pack("{s:{s:s, s:s, s:s}}", "details", "event", "update_ignored", "request",
			       what, "reason", why));
}

static void update_stream(runner_t *r, const egw_request_t *req)
{
	char errstr[512];
	if (!r->session || r->stopping) {
		ignore_update(r, "update_stream", "the egress is ending");
		return;
	}
	if (egw_session_update_stream(r->session, req->add_urls, req->n_add_urls, req->remove_urls,
				      req->n_remove_urls, errstr, sizeof(errstr))) {
		ignore_update(r, "update_stream", errstr);
		return;
	}
	/* Each destination added or removed reports itself (stream_state);
	 * what could not be applied is said here. */
	if (errstr[0])
		ignore_update(r, "update_stream", errstr);
}

static void update_layout(runner_t *r, const char *layout)
{
	char errstr[512];
	if (!r->session || r->stopping) {
		ignore_update(r, "update_layout", "the egress is ending");
		return;
	}
	if (egw_session_update_layout(r->session, layout, errstr, sizeof(errstr))) {
		ignore_update(r, "update_layout", errstr);
		return;
	}
	if (!r->done)
		emit(r, r->active ? "active" : "starting", NULL,
		     detail("layout_updated", "layout", layout[0] == '{' ? "custom" : layout));
}

/* A control request from the worker, through the lifeline. */
static void on_control(void *opaque, const char *line, size_t len)
{
	runner_t *r = opaque;
	char errstr[512], id[EGW_EGRESS_ID_MAX + 1];
	egw_request_t *req = NULL;

	if (egw_request_parse(line, len, &req, id, errstr, sizeof(errstr))) {
		EGW_LOG(r->status.egress_id, WARN, "control request refused: %s", errstr);
		return;
	}
	if (strcmp(req->egress_id, r->status.egress_id)) {
		EGW_LOG(r->status.egress_id, WARN, "control request for another egress ignored");
	} else if (req->type == EGW_REQ_STOP) {
		request_stop(r, "stop requested");
	} else if (req->type == EGW_REQ_UPDATE_LAYOUT) {
		update_layout(r, req->layout);
	} else if (req->type == EGW_REQ_UPDATE_STREAM) {
		update_stream(r, req);
	}
	egw_request_free(req);
}

/* Uploads interrupted (the worker is gone, or a signal): the journal and
 * the files stay in the spool for the next start of a worker. */
static int leave_uploads(runner_t *r)
{
	if (!egw_delivery_busy(r->delivery))
		return 0;
	EGW_LOG(r->status.egress_id, WARN, "uploads interrupted; they go on at the next start "
					   "of a worker with this spool (or `egress upload %s`)",
		r->status.egress_id);
	g_main_loop_quit(r->loop);
	return 1;
}

static void on_lifeline_closed(void *opaque)
{
	runner_t *r = opaque;
	if (leave_uploads(r))
		return;
	EGW_LOG(r->status.egress_id, WARN, "the worker is gone; finalising");
	request_stop(r, "worker gone");
}

/* ---- the start ---- */

static gboolean on_signal(gpointer user)
{
	if (!leave_uploads(user))
		request_stop(user, "stop requested");
	return G_SOURCE_CONTINUE;
}

/* Jobs with object storage write into their spool directory. */
static egw_err_t open_delivery(runner_t *r, char *errstr, size_t errstr_size)
{
	egw_err_t err = egw_delivery_open(r->job, r->st, &r->delivery, errstr, errstr_size);
	r->local_st = *r->st;
	if (err || !r->delivery)
		return err;
	r->spool_root[0] = egw_delivery_dir(r->delivery);
	r->local_st.storage_dir = r->spool_root[0];
	r->local_st.storage_roots = r->spool_root;
	r->local_st.n_storage_roots = 1;
	return EGW_OK;
}

static gboolean on_duration(gpointer user)
{
	runner_t *r = user;
	r->stop_timer = 0;
	request_stop(r, "duration reached");
	return G_SOURCE_REMOVE;
}

/* tls_ca_file: the CAs every TLS connection of this process trusts (GIO's
 * default database: rtmp2sink's and the websocket client's connections). */
static egw_err_t trust_tls(const char *path, char *errstr, size_t errstr_size)
{
	GError *gerr = NULL;
	GTlsDatabase *db;

	if (!path || !*path)
		return EGW_OK;
	if (!(db = g_tls_file_database_new(path, &gerr))) {
		snprintf(errstr, errstr_size, "tls_ca_file %s: %s", path, gerr->message);
		g_error_free(gerr);
		return EGW_ERR_INTERNAL;
	}
	g_tls_backend_set_default_database(g_tls_backend_get_default(), db);
	g_object_unref(db);
	return EGW_OK;
}

static int start(runner_t *r, double duration_s)
{
	static const egw_session_events_t sev = {on_first_media,   on_output_failed,
						  on_session_failed, on_finished,
						  on_output_event, on_file_closed};
	static const egw_source_events_t srcev = {src_participant, src_track_added, src_track_pad,
						  src_track_removed, src_error};
	char errstr[512], url[256];
	egw_err_t err;

	emit(r, "starting", NULL, NULL);
	if (r->job->webhook.url && !r->lifeline)
		EGW_LOG(r->status.egress_id, INFO, "webhooks are sent by the worker; `egress run` "
						   "writes its events to standard output only");
	if ((err = trust_tls(r->st->tls_ca_file, errstr, sizeof(errstr))) ||
	    (err = egw_plan_check(r->job, errstr, sizeof(errstr))) ||
	    (err = open_delivery(r, errstr, sizeof(errstr))) ||
	    (err = egw_plan_build(r->job, &r->local_st, time(NULL), &r->plan, errstr,
				  sizeof(errstr))) ||
	    !(r->session = egw_session_new(&r->plan->media, &sev, r, &err, errstr, sizeof(errstr))) ||
	    (err = egw_session_play(r->session, errstr, sizeof(errstr))))
		goto fail;
	egw_log_redact_url(r->job->room.url, url, sizeof(url));
	EGW_LOG(r->status.egress_id, INFO, "joining room %s on %s (%s)", r->job->room.room_id, url,
		r->plan->sfu->name);
	r->src = r->plan->sfu->open(&r->plan->source, egw_session_bin(r->session), NULL, &srcev, r,
				    errstr, sizeof(errstr));
	if (!r->src) {
		err = EGW_ERR_INVALID_REQUEST;
		goto fail;
	}
	start_absent(r);
	if (duration_s <= 0 || duration_s > r->job->limits.max_duration_s)
		duration_s = r->job->limits.max_duration_s;
	r->stop_timer = g_timeout_add((guint)(duration_s * 1000), on_duration, r);
	return 0;
fail:
	fail(r, err, errstr);
	return r->done ? -1 : 0;
}

static int read_request(runner_t *r, const char *job_path, int lifeline)
{
	char errstr[512] = "", *text = NULL;
	size_t len = 0;
	int rc;

	if (lifeline) {
		r->lifeline = egw_lifeline_open(0, MAX_JOB_BYTES, &text, &len);
		if (!r->lifeline)
			snprintf(errstr, sizeof(errstr), "no start request on the lifeline");
		rc = parse_job(r, text, len, errstr);
		g_free(text);
		return rc;
	}
	text = read_job(job_path, &len, errstr, sizeof(errstr));
	rc = parse_job(r, text, len, errstr);
	g_free(text);
	return rc;
}

/* webrtcbin's DTLS needs a certificate, and GStreamer makes one (an RSA
 * key: 0.1 to 1 s of CPU) the first time a process creates a DTLS decoder.
 * Made here on a thread of its own, it is ready (or nearly) when the first
 * subscription needs it, instead of starting then. */
static gpointer warm_up(gpointer unused)
{
	GstElement *dtls = gst_element_factory_make("dtlsdec", NULL);
	if (dtls)
		gst_object_unref(gst_object_ref_sink(dtls));
	return NULL;
}

/* Video frames are large (1.4 MB at 720p): glibc would map and unmap each
 * one (and trim the heap behind it), so every new frame faults its pages
 * in again; a composite measured ~9,000 page faults a second that way.
 * Frames are kept in the heap and its top is not given back: the memory
 * stays at the job's working set. One arena: a streaming thread's own
 * arena is a heap of its own, which glibc unmaps whenever it empties,
 * whatever the trim threshold; a 1080p composite whose frames landed in
 * one faulted 11,400 pages a second (half the runs, 0.15 core). */
static void tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_ARENA_MAX, 1);
}

int egw_runner_main(const egw_job_settings_t *st, const char *job_path, double duration_s,
		    int lifeline)
{
	static const egw_lifeline_events_t lev = {on_control, on_lifeline_closed};
	runner_t r = {.st = st, .t_start_us = g_get_monotonic_time()};
	guint sig_int = 0, sig_term = 0;
	GThread *warming = NULL;

	/* Status lines to a worker that died must not kill us (EPIPE instead),
	 * and the kernel tells us when it dies (the lifeline tells us too). */
	signal(SIGPIPE, SIG_IGN);
	tune_malloc();
	if (lifeline)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	snprintf(r.status.worker_id, sizeof(r.status.worker_id), "%s", st->worker_id);
	r.loop = g_main_loop_new(NULL, FALSE);
	if (read_request(&r, job_path, lifeline))
		goto out;
	gst_init(NULL, NULL);
	warming = g_thread_new("dtls-warm-up", warm_up, NULL);
	sig_int = g_unix_signal_add(SIGINT, on_signal, &r);
	sig_term = g_unix_signal_add(SIGTERM, on_signal, &r);
	if (r.lifeline)
		egw_lifeline_watch(r.lifeline, NULL, &lev, &r);
	if (start(&r, duration_s) == 0 || r.done)
		g_main_loop_run(r.loop);
out:
	if (r.src) /* only when the loop never ran to the end */
		r.plan->sfu->close(r.src, NULL, NULL);
	cancel(&sig_int);
	cancel(&sig_term);
	cancel(&r.stop_timer);
	cancel(&r.absent_timer);
	cancel(&r.grace_timer);
	cancel(&r.leave_timer);
	if (warming) /* GStreamer must not go away under it */
		g_thread_join(warming);
	egw_lifeline_free(r.lifeline);
	egw_delivery_free(r.delivery);
	egw_session_free(r.session);
	egw_plan_free(r.plan);
	egw_request_free(r.req);
	g_main_loop_unref(r.loop);
	/* Ends GStreamer's pooled threads before the process exits, so that
	 * what they hold (DTLS state, OpenSSL's per-thread data) goes with
	 * them instead of being cut off mid-way. */
	gst_deinit();
	return r.done && !r.err && r.active ? 0 : (r.err == EGW_ERR_INVALID_REQUEST ? 2 : 1);
}
