#include "job/runner.h"

#include <glib-unix.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "pipelines/recorder.h"
#include "sfu/sfu.h"
#include "contract/request.h"
#include "base/log.h"
#include "contract/status.h"

#define MAX_JOB_BYTES (1 << 20)

typedef struct runner {
	const egw_job_settings_t *cfg;
	egw_job_t *job;
	egw_status_t st;
	GMainLoop *loop;
	egw_recorder_t *rec;
	const egw_sfu_ops_t *sfu;
	egw_sfu_conn_t *conn;
	gint64 t_start_us;
	int active, stopping, done;
	egw_err_t err;       /* first error, EGW_OK if none */
	char errmsg[512];
	char stop_reason[64];
	guint stop_timer, absent_timer, grace_timer;
} runner_t;

static void emit(runner_t *r, const char *status, json_t *outputs, json_t *details)
{
	json_t *ev = egw_status_event(&r->st, status, outputs, details, r->err,
				      r->err ? r->errmsg : NULL);
	char *line = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	if (line) {
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
	}
	EGW_LOG(r->st.egress_id, INFO, "status %s%s%s", status, r->err ? ": " : "",
		r->err ? r->errmsg : "");
	free(line);
	json_decref(ev);
	json_decref(details);
}

static void finish(runner_t *r);
static gboolean grace_expired(gpointer user);

/* Begins the end: leave the room, then EOS through the recording. */
static void request_stop(runner_t *r, const char *reason)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	snprintf(r->stop_reason, sizeof(r->stop_reason), "%s", reason);
	EGW_LOG(r->st.egress_id, INFO, "stopping: %s", reason);
	if (r->sfu && r->conn) {
		r->sfu->close(r->conn);
		r->conn = NULL;
	}
	if (!r->active) {
		finish(r);
		return;
	}
	emit(r, "ending", NULL, json_pack("{s:s}", "reason", reason));
	egw_recorder_finish(r->rec);
	r->grace_timer = g_timeout_add_seconds((guint)r->cfg->stop_grace_s, grace_expired, r);
}

static gboolean grace_expired(gpointer user)
{
	runner_t *r = user;
	r->grace_timer = 0;
	EGW_LOG(r->st.egress_id, WARN, "recording did not finalise in time; closing it as it is");
	finish(r);
	return G_SOURCE_REMOVE;
}

static void fail(runner_t *r, egw_err_t err, const char *message)
{
	if (!r->err) {
		r->err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", message);
	}
	if (!r->stopping) {
		request_stop(r, "error");
	} else if (r->active && !r->done) {
		finish(r); /* the error came while finalising */
	}
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

/* Final event: complete, failed (with what was recorded) or aborted. */
static void finish(runner_t *r)
{
	if (r->done)
		return;
	r->done = 1;
	egw_time_now(r->st.ended_at, sizeof(r->st.ended_at));
	if (r->rec && !r->active)
		egw_recorder_discard(r->rec);
	if (r->err) {
		json_t *outs = r->active ? egw_recorder_outputs(r->rec) : NULL;
		emit(r, "failed", outs, usage());
		json_decref(outs);
	}
	else if (!r->active)
		emit(r, "aborted", NULL, json_pack("{s:s}", "reason", r->stop_reason));
	else {
		json_t *outs = egw_recorder_outputs(r->rec), *details = usage();
		json_object_set_new(details, "reason", json_string(r->stop_reason));
		emit(r, "complete", outs, details);
		json_decref(outs);
	}
	g_main_loop_quit(r->loop);
}

static void cancel_absent(runner_t *r)
{
	if (r->absent_timer)
		g_source_remove(r->absent_timer);
	r->absent_timer = 0;
}

static gboolean on_first_media_main(gpointer user)
{
	runner_t *r = user;
	if (r->active || r->stopping)
		return G_SOURCE_REMOVE;
	r->active = 1;
	egw_time_now(r->st.started_at, sizeof(r->st.started_at));
	EGW_LOG(r->st.egress_id, INFO, "first media written %.0f ms after start",
		(g_get_monotonic_time() - r->t_start_us) / 1000.0);
	emit(r, "active", NULL, NULL);
	cancel_absent(r);
	return G_SOURCE_REMOVE;
}

static void rec_first_media(void *opaque)
{
	g_idle_add(on_first_media_main, opaque);
}

static void rec_finished(void *opaque)
{
	finish(opaque);
}

static void rec_error(void *opaque, egw_err_t err, const char *message)
{
	fail(opaque, err, message);
}

static gboolean absent_expired(gpointer user)
{
	runner_t *r = user;
	char msg[256];
	r->absent_timer = 0;
	if (r->active) {
		request_stop(r, "source absent");
		return G_SOURCE_REMOVE;
	}
	snprintf(msg, sizeof(msg), "%s did not publish within %d s",
		 r->job->source.participant ? r->job->source.participant : "the source",
		 r->job->limits.empty_room_timeout_s);
	fail(r, EGW_ERR_NOT_FOUND, msg);
	return G_SOURCE_REMOVE;
}

static egw_err_t sfu_tracks(void *opaque, const egw_sfu_track_t *tracks, size_t n, char *errstr,
		      size_t errstr_size)
{
	runner_t *r = opaque;
	cancel_absent(r);
	if (r->active)
		emit(r, "active", NULL,
		     json_pack("{s:{s:s, s:s}}", "details", "event", "participant_published",
			       "participant", tracks[0].participant));
	return egw_recorder_prepare(r->rec, tracks, n, errstr, errstr_size);
}

static void sfu_pad(void *opaque, GstPad *pad, const egw_sfu_track_t *track)
{
	runner_t *r = opaque;
	egw_recorder_link_pad(r->rec, pad, track);
}

static void sfu_unpublished(void *opaque, const char *participant)
{
	runner_t *r = opaque;
	if (r->stopping)
		return;
	if (r->active)
		emit(r, "active", NULL,
		     json_pack("{s:{s:s, s:s}}", "details", "event", "participant_unpublished",
			       "participant", participant));
	/* Wait for them to come back, up to the empty-room timeout. */
	if (!r->absent_timer)
		r->absent_timer = g_timeout_add_seconds((guint)r->job->limits.empty_room_timeout_s,
							absent_expired, r);
}

static void sfu_error(void *opaque, egw_err_t err, const char *message)
{
	fail(opaque, err, message);
}

static gboolean on_signal(gpointer user)
{
	request_stop(user, "stop requested");
	return G_SOURCE_CONTINUE;
}

static gboolean on_duration(gpointer user)
{
	runner_t *r = user;
	r->stop_timer = 0;
	request_stop(r, "duration reached");
	return G_SOURCE_REMOVE;
}

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

/* Validation failures are reported like any other end of an egress. */
static int parse_job(runner_t *r, const char *path, egw_request_t **req)
{
	char errstr[512], id[EGW_EGRESS_ID_MAX + 1] = "";
	size_t len = 0;
	char *text = read_job(path, &len, errstr, sizeof(errstr));
	egw_err_t err = text ? egw_request_parse(text, len, req, id, errstr, sizeof(errstr))
			     : EGW_ERR_INVALID_REQUEST;
	g_free(text);
	snprintf(r->st.egress_id, sizeof(r->st.egress_id), "%s", id);
	if (!err && (*req)->type != EGW_REQ_START) {
		snprintf(errstr, sizeof(errstr), "type: `egress run` takes a start request");
		err = EGW_ERR_INVALID_REQUEST;
	}
	if (!err)
		err = egw_job_check_supported((*req)->job, errstr, sizeof(errstr));
	if (err) {
		r->err = err;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", errstr);
		egw_time_now(r->st.ended_at, sizeof(r->st.ended_at));
		emit(r, "failed", NULL, NULL);
		return -1;
	}
	r->job = (*req)->job;
	if (!r->job->limits.max_duration_s)
		r->job->limits.max_duration_s = r->cfg->max_duration_s;
	if (!r->job->limits.empty_room_timeout_s)
		r->job->limits.empty_room_timeout_s = r->cfg->empty_room_timeout_s;
	return 0;
}

static int start(runner_t *r, double duration_s)
{
	static const egw_sfu_callbacks_t cbs = {sfu_tracks, sfu_pad, sfu_unpublished, sfu_error};
	static const egw_recorder_events_t rev = {rec_first_media, rec_finished, rec_error};
	const char *dir = r->job->storage.kind == EGW_STORAGE_LOCAL && r->job->storage.dir
				  ? r->job->storage.dir
				  : r->cfg->storage_dir;
	char errstr[512], url[256];
	egw_err_t err;

	emit(r, "starting", NULL, NULL);
	if (r->job->webhook.url)
		EGW_LOG(r->st.egress_id, WARN, "webhook delivery is not implemented yet; status "
					       "events go to the status topic only");
	if (!(r->rec = egw_recorder_new(r->job, dir, &rev, r, &err, errstr, sizeof(errstr))) ||
	    (err = egw_recorder_play(r->rec, errstr, sizeof(errstr))))
		goto fail;
	r->sfu = egw_sfu_find(r->job->room.sfu);
	egw_log_redact_url(r->job->room.url, url, sizeof(url));
	EGW_LOG(r->st.egress_id, INFO, "joining room %s on %s (%s)", r->job->room.room_id, url,
		r->sfu->name);
	r->conn = r->sfu->connect(r->job, egw_recorder_bin(r->rec), NULL, &cbs, r,
				  r->cfg->sfu_timeout_ms, errstr, sizeof(errstr));
	if (!r->conn) {
		err = strstr(errstr, "room") ? EGW_ERR_NOT_FOUND : EGW_ERR_SFU_UNREACHABLE;
		goto fail;
	}
	r->absent_timer = g_timeout_add_seconds((guint)r->job->limits.empty_room_timeout_s,
						absent_expired, r);
	if (duration_s <= 0 || duration_s > r->job->limits.max_duration_s)
		duration_s = r->job->limits.max_duration_s;
	r->stop_timer = g_timeout_add((guint)(duration_s * 1000), on_duration, r);
	return 0;
fail:
	fail(r, err, errstr);
	return r->done ? -1 : 0;
}

int egw_runner_main(const egw_job_settings_t *cfg, const char *job_path, double duration_s,
		    int lifeline)
{
	runner_t r = {.cfg = cfg, .t_start_us = g_get_monotonic_time()};
	egw_request_t *req = NULL;
	guint sig_int = 0, sig_term = 0;

	snprintf(r.st.worker_id, sizeof(r.st.worker_id), "%s", cfg->worker_id);
	r.loop = g_main_loop_new(NULL, FALSE);
	if (parse_job(&r, job_path, &req))
		goto out;
	gst_init(NULL, NULL);
	sig_int = g_unix_signal_add(SIGINT, on_signal, &r);
	sig_term = g_unix_signal_add(SIGTERM, on_signal, &r);
	if (start(&r, duration_s) == 0 && !r.done)
		g_main_loop_run(r.loop);
out:
	if (r.conn)
		r.sfu->close(r.conn);
	if (sig_int)
		g_source_remove(sig_int);
	if (sig_term)
		g_source_remove(sig_term);
	if (r.stop_timer)
		g_source_remove(r.stop_timer);
	cancel_absent(&r);
	if (r.grace_timer)
		g_source_remove(r.grace_timer);
	egw_recorder_free(r.rec);
	egw_request_free(req);
	g_main_loop_unref(r.loop);
	return r.done && !r.err && r.active ? 0 : (r.err == EGW_ERR_INVALID_REQUEST ? 2 : 1);
}
