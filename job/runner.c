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
#include <gst/gst.h>
#include <malloc.h>
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
#include "job/render.h"
#include "job/runner_int.h"
#include "pipelines/session.h"
#include "sfu/prepare.h"

#define MAX_JOB_BYTES (1 << 20)
#define FLOW_EVERY_S 5       /* report_flow() */
#define SIGNAL_SETTLE_MS 300 /* on_signal() */
json_t *egw_runner_detail(const char *event, const char *key, const char *value)
{
	return json_pack("{s:{s:s, s:s}}", "details", "event", event, key, value);
}

/* ---- the media session's events ---- */

static gboolean on_run_over(gpointer user)
{
	runner_t *r = user;
	r->run_timer = 0;
	egw_runner_request_stop(r, "duration reached");
	return G_SOURCE_REMOVE;
}

static void on_first_media(void *opaque)
{
	runner_t *r = opaque;
	if (r->active || r->stopping)
		return;
	r->active = 1;
	egw_time_now(r->status.started_at, sizeof(r->status.started_at));
	egw_manifest_start(r->manifest, g_get_real_time());
	EGW_LOG(r->status.egress_id, INFO, "first media written %.0f ms after start",
	        (g_get_monotonic_time() - r->t_start_us) / 1000.0);
	{ /* the outputs as they start (where they are written) */
		json_t *outs = r->session ? egw_session_outputs(r->session) : NULL;
		egw_runner_emit(r, "active", outs, NULL);
		json_decref(outs);
	}
	egw_runner_cancel(&r->absent_timer);
	if (r->progress_timer) /* a render: its first progress, whatever its speed */
		egw_runner_render_progress(r);
	if (r->run_s > 0) /* `egress run --duration`: that much media */
		r->run_timer = g_timeout_add((guint)(r->run_s * 1000), on_run_over, r);
}

static void on_output_failed(void *opaque, size_t i, egw_err_t err, const char *message)
{
	runner_t *r = opaque;
	json_t *d = json_pack(
	        "{s:{s:s, s:s, s:{s:s, s:s}}}", "details", "event", "output_failed", "output",
	        i < EGW_PLAN_OUTPUTS_MAX && r->plan->names[i][0] ? r->plan->names[i] : "outputs[0]",
	        "error", "code", egw_err2code(err), "message", message);
	if (r->active && !r->done)
		egw_runner_emit(r, "active", NULL, d);
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
	egw_runner_emit(r, r->active ? "active" : "starting", outs, details);
	json_decref(outs);
}

static void on_session_failed(void *opaque, egw_err_t err, const char *message)
{
	runner_t *r = opaque;
	egw_runner_fail(r, err, message);
	if (r->stopping && !r->done)
		egw_runner_finish(r); /* nothing is left to finalise */
}

static void on_room_event(void *opaque, const char *event, const char *participant,
                          const char *track_id)
{
	runner_t *r = opaque;
	if (track_id && (!strcmp(event, "muted") || !strcmp(event, "unmuted")))
		egw_manifest_mute(r->manifest, track_id, !strcmp(event, "muted"),
		                  g_get_real_time());
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
	if (!r->stopping) { /* a render at its end */
		r->stopping = 1;
		snprintf(r->stop_reason, sizeof(r->stop_reason), "rendered");
	}
	egw_runner_finish(r);
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
	egw_runner_emit(r, "failed", NULL, NULL);
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
	r->manifest = egw_manifest_new(r->job, text, len);
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
		egw_runner_emit(r, r->active ? "active" : "starting", NULL,
		                json_pack("{s:{s:s, s:s, s:s}}", "details", "event",
		                          "update_ignored", "request", what, "reason", why));
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
		egw_runner_emit(r, r->active ? "active" : "starting", NULL,
		                egw_runner_detail("layout_updated", "layout",
		                                  layout[0] == '{' ? "custom" : layout));
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
		egw_runner_request_stop(r, req->reason ? req->reason : "stop requested");
	} else if (req->type == EGW_REQ_UPDATE_LAYOUT) {
		update_layout(r, req->layout);
	} else if (req->type == EGW_REQ_UPDATE_STREAM) {
		update_stream(r, req);
	}
	egw_request_free(req);
}

/* To the worker (a line that is not a status event, for its metrics:
 * worker/metrics.c): {"flow": {"av_skew_s", "video_frames",
 * "video_frames_dropped"}}, each only where the pipeline knows it. */
static gboolean report_flow(gpointer user)
{
	runner_t *r = user;
	egw_flow_stats_t fs;
	json_t *j;
	char *line;
	if (r->orphan || !r->session)
		return G_SOURCE_CONTINUE;
	egw_session_flow(r->session, &fs);
	j = json_object();
	if (fs.has_skew)
		json_object_set_new(j, "av_skew_s", json_real(fs.av_skew_s));
	if (fs.has_frames) {
		json_object_set_new(j, "video_frames", json_integer(fs.video_frames));
		json_object_set_new(j, "video_frames_dropped",
		                    json_integer(fs.video_frames_dropped));
	}
	j = json_pack("{s:o}", "flow", j);
	line = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(j);
	if (line) {
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
	}
	free(line);
	return G_SOURCE_CONTINUE;
}

static void on_lifeline_closed(void *opaque)
{
	runner_t *r = opaque;
	if (r->gone_handled)
		return; /* (the signal came first) */
	r->gone_handled = 1;
	r->orphan = 1;
	if (egw_runner_leave_uploads(r))
		return;
	EGW_LOG(r->status.egress_id, WARN,
	        "the worker is gone; finalising (the next events wait in the spool's outbox)");
	egw_runner_request_stop(r, "worker gone");
}

/* ---- the start ---- */

static gboolean on_signal_settled(gpointer user)
{
	runner_t *r = user;
	r->signal_timer = 0;
	if (egw_runner_worker_gone(r))
		on_lifeline_closed(r);
	else if (!egw_runner_leave_uploads(r))
		egw_runner_request_stop(r, "stop requested");
	return G_SOURCE_REMOVE;
}

/* SIGINT, SIGTERM. With a lifeline, SIGTERM is mostly PR_SET_PDEATHSIG's:
 * it comes while the worker's last threads are still exiting (our parent
 * is still its process, our lifeline still open), so whether the worker
 * is gone is decided a moment later; events made before that would go to
 * a worker that reads no more. */
static gboolean on_signal(gpointer user)
{
	runner_t *r = user;
	if (r->worker_pid && !r->signal_timer && !r->gone_handled)
		r->signal_timer = g_timeout_add(SIGNAL_SETTLE_MS, on_signal_settled, r);
	else if (!r->worker_pid)
		on_signal_settled(r);
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
	egw_runner_request_stop(r, "duration reached");
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

/* The rest of the start, once a render's recording is local: the plan,
 * the session, and the room joined or the render begun. */
int egw_runner_start_media(runner_t *r)
{
	static const egw_session_events_t sev = {
	        on_first_media, on_output_failed,        on_session_failed,
	        on_finished,    on_output_event,         on_file_closed,
	        on_room_event,  egw_runner_track_output, egw_runner_track_file_started};
	char errstr[512], url[256];
	egw_err_t err;

	if ((err = egw_plan_build(r->job, &r->local_st, r->plan_time = time(NULL), &r->plan, errstr,
	                          sizeof(errstr))) ||
	    !(r->session =
	              egw_session_new(&r->plan->media, &sev, r, &err, errstr, sizeof(errstr))) ||
	    (err = egw_session_play(r->session, errstr, sizeof(errstr))))
		goto fail;
	if (r->job->source.kind == EGW_SOURCE_RENDER) {
		egw_runner_render_begin(r);
	} else {
		egw_log_redact_url(r->job->room.url, url, sizeof(url));
		EGW_LOG(r->status.egress_id, INFO, "joining room %s on %s (%s)",
		        r->job->room.room_id, url, r->plan->sfu->name);
		r->src = r->plan->sfu->open(&r->plan->source, egw_session_bin(r->session), NULL,
		                            egw_runner_source_events(), r, errstr, sizeof(errstr));
		if (!r->src) {
			err = EGW_ERR_INVALID_REQUEST;
			goto fail;
		}
		egw_runner_start_absent(r);
	}
	/* max_duration_s counts from the start; --duration from the first
	 * media (on_first_media), so that a slow join shortens nothing */
	r->run_s = r->arg_duration_s > 0 && r->arg_duration_s < r->job->limits.max_duration_s
	                   ? r->arg_duration_s
	                   : 0;
	r->stop_timer =
	        g_timeout_add((guint)(r->job->limits.max_duration_s * 1000.0), on_duration, r);
	if (r->lifeline)
		r->flow_timer = g_timeout_add_seconds(FLOW_EVERY_S, report_flow, r);
	return 0;
fail:
	egw_runner_fail(r, err, errstr);
	return r->done ? -1 : 0;
}

static int start(runner_t *r, double duration_s)
{
	char errstr[512];
	egw_err_t err;
	int fetching = 0;

	r->arg_duration_s = duration_s;
	egw_runner_emit(r, "starting", NULL, NULL);
	if (r->job->source.kind == EGW_SOURCE_RENDER)
		egw_runner_render_prepare(r);
	if (r->job->webhook.url && !r->lifeline)
		EGW_LOG(r->status.egress_id, INFO,
		        "webhooks are sent by the worker; `egress run` "
		        "writes its events to standard output only");
	if ((err = trust_tls(r->st->tls_ca_file, errstr, sizeof(errstr))) ||
	    (err = egw_plan_check(r->job, errstr, sizeof(errstr))) ||
	    (err = open_delivery(r, errstr, sizeof(errstr))) ||
	    (r->job->source.kind == EGW_SOURCE_RENDER &&
	     (err = egw_runner_render_fetch(r, &fetching, errstr, sizeof(errstr)))))
		goto fail;
	if (fetching) /* egw_runner_start_media() follows */
		return 0;
	return egw_runner_start_media(r);
fail:
	egw_runner_fail(r, err, errstr);
	return r->done ? -1 : 0;
}

static int read_request(runner_t *r, const char *job_path, int lifeline)
{
	char errstr[512] = "", *text = NULL;
	size_t len = 0;
	int rc;

	if (lifeline) {
		r->lifeline = egw_lifeline_open(0, MAX_JOB_BYTES, &text, &len);
		if (!r->lifeline && lifeline == EGW_RUNNER_SPARE && !text) {
			EGW_LOG(NULL, DEBUG, "spare job process dismissed");
			r->done = r->active = 1; /* nothing asked, nothing failed */
			return -1;
		}
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

/* The WebRTC side's one-time work (sfu/prepare.h), on a thread of its own:
 * ready (or nearly) when the first subscription needs it. */
static gpointer warm_up(gpointer unused)
{
	egw_sfu_prepare();
	return NULL;
}

/* A spare job process (the worker keeps a few, for bursts of starts)
 * does, before its request comes, what every job does first: GStreamer's
 * initialisation, the DTLS certificate, and the plugins (and their
 * libraries) of the elements jobs make, so that a start handed to it
 * only joins the room. Then it says so on stdout (a line that is not a
 * status event: the worker counts it as warm). */
static void warm_spare(void)
{
	static const char *const factories[] = {
	        "webrtcbin",   "rtpvp8depay", "rtpvp9depay", "rtph264depay", "rtpopusdepay",
	        "matroskamux", "webmmux",     "mp4mux",      "oggmux",       "h264parse",
	        "opusparse",   "vp8dec",      "opusdec",     "queue",        "filesink",
	};
	GThread *dtls;

	gst_init(NULL, NULL);
	dtls = g_thread_new("dtls-warm-up", warm_up, NULL);
	for (size_t i = 0; i < sizeof(factories) / sizeof(factories[0]); i++) {
		GstElement *e = gst_element_factory_make(factories[i], NULL);
		if (e)
			gst_object_unref(gst_object_ref_sink(e));
	}
	g_thread_join(dtls);
	fputs(EGW_RUNNER_SPARE_READY "\n", stdout);
	fflush(stdout);
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
	if (lifeline) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		r.worker_pid = getppid(); /* (1 already: the lifeline's end says so) */
	}
	snprintf(r.status.worker_id, sizeof(r.status.worker_id), "%s", st->worker_id);
	r.loop = g_main_loop_new(NULL, FALSE);
	if (lifeline == EGW_RUNNER_SPARE)
		warm_spare();
	if (read_request(&r, job_path, lifeline))
		goto out;
	if (lifeline == EGW_RUNNER_SPARE)
		r.t_start_us = g_get_monotonic_time(); /* the job starts now */
	else {
		gst_init(NULL, NULL);
		warming = g_thread_new("dtls-warm-up", warm_up, NULL);
	}
	sig_int = g_unix_signal_add(SIGINT, on_signal, &r);
	sig_term = g_unix_signal_add(SIGTERM, on_signal, &r);
	if (r.lifeline)
		egw_lifeline_watch(r.lifeline, NULL, &lev, &r);
	if (start(&r, duration_s) == 0 || r.done)
		g_main_loop_run(r.loop);
out:
	if (r.src) /* only when the loop never ran to the end */
		r.plan->sfu->close(r.src, NULL, NULL);
	egw_runner_cancel(&sig_int);
	egw_runner_cancel(&sig_term);
	egw_runner_cancel(&r.stop_timer);
	egw_runner_cancel(&r.absent_timer);
	egw_runner_cancel(&r.grace_timer);
	egw_runner_cancel(&r.leave_timer);
	egw_runner_render_end(&r);
	if (warming) /* GStreamer must not go away under it */
		g_thread_join(warming);
	egw_lifeline_free(r.lifeline);
	egw_delivery_free(r.delivery);
	egw_session_free(r.session);
	if (r.track_files)
		g_ptr_array_unref(r.track_files);
	egw_plan_free(r.plan);
	egw_manifest_free(r.manifest);
	egw_request_free(r.req);
	g_main_loop_unref(r.loop);
	/* Ends GStreamer's pooled threads before the process exits, so that
	 * what they hold (DTLS state, OpenSSL's per-thread data) goes with
	 * them instead of being cut off mid-way. */
	gst_deinit();
	return r.done && !r.err && r.active ? 0 : (r.err == EGW_ERR_INVALID_REQUEST ? 2 : 1);
}
