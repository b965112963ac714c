#include "worker/worker.h"

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "contract/request.h"
#include "job/plan.h"
#include "worker/jobproc.h"
#include "worker/kafka.h"
#include "base/log.h"
#include "contract/status.h"

#define EARLY_STOPS 64
#define POLL_MS 50

typedef struct egw_worker {
	const egw_config_t *cfg;
	const char *config_path;
	rd_kafka_t *jobs, *control, *producer;
	int subscribed;
	egw_jobproc_t *procs;
	int n_running;
	/* Stops that arrived before their start (ring buffer). */
	char early_stops[EARLY_STOPS][EGW_EGRESS_ID_MAX + 1];
	int early_next;
} egw_worker_t;

/* Publishes ev (stolen). Events of job processes were logged there. */
static void publish_status(egw_worker_t *w, const char *egress_id, json_t *ev, int log)
{
	char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	if (text) {
		egw_kafka_produce(w->producer, w->cfg->status_topic, egress_id, text, strlen(text),
				  NULL, NULL);
		if (log)
			EGW_LOG(egress_id, INFO, "status %s",
				json_string_value(json_object_get(ev, "status")));
	}
	free(text);
	json_decref(ev);
}

static void report(egw_worker_t *w, const char *egress_id, const char *status, egw_err_t err,
		   const char *message)
{
	egw_status_t st;
	memset(&st, 0, sizeof(st));
	snprintf(st.egress_id, sizeof(st.egress_id), "%s", egress_id);
	snprintf(st.worker_id, sizeof(st.worker_id), "%s", w->cfg->worker_id);
	if (egw_status_is_terminal(status))
		egw_time_now(st.ended_at, sizeof(st.ended_at));
	publish_status(w, egress_id, egw_status_event(&st, status, NULL, NULL, err, message), 1);
}

static egw_jobproc_t *find_proc(egw_worker_t *w, const char *egress_id)
{
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		if (!strcmp(p->egress_id, egress_id))
			return p;
	return NULL;
}

static int take_early_stop(egw_worker_t *w, const char *egress_id)
{
	for (int i = 0; i < EARLY_STOPS; i++)
		if (!strcmp(w->early_stops[i], egress_id)) {
			w->early_stops[i][0] = '\0';
			return 1;
		}
	return 0;
}

static void handle_control(egw_worker_t *w, const egw_request_t *req)
{
	egw_jobproc_t *p = find_proc(w, req->egress_id);
	if (req->type == EGW_REQ_STOP) {
		if (p) {
			EGW_LOG(req->egress_id, INFO, "stop requested");
			egw_jobproc_signal_stop(p, 0);
		} else {
			/* Maybe its start is still queued: remember, abort it then. */
			snprintf(w->early_stops[w->early_next], EGW_EGRESS_ID_MAX + 1, "%s",
				 req->egress_id);
			w->early_next = (w->early_next + 1) % EARLY_STOPS;
		}
		return;
	}
	if (p)
		EGW_LOG(req->egress_id, WARN, "%s is not supported yet; ignored",
			req->type == EGW_REQ_UPDATE_LAYOUT ? "update_layout" : "update_stream");
}

static void dead_letter(egw_worker_t *w, const rd_kafka_message_t *m, const char *reason)
{
	egw_kafka_produce(w->producer, w->cfg->deadletter_topic, m->key ? (const char *)m->key : NULL,
			  m->payload, m->len, "error", reason);
}

static void start_job(egw_worker_t *w, const rd_kafka_message_t *m, const egw_request_t *req)
{
	char errstr[512];
	egw_err_t err;
	egw_jobproc_t *p;

	if (find_proc(w, req->egress_id)) {
		EGW_LOG(req->egress_id, WARN, "start for an egress already running; ignored");
		dead_letter(w, m, "duplicate start: egress already running");
		return;
	}
	if (take_early_stop(w, req->egress_id)) {
		report(w, req->egress_id, "aborted", EGW_OK, NULL);
		return;
	}
	if ((err = egw_plan_check(req->job, errstr, sizeof(errstr)))) {
		report(w, req->egress_id, "failed", err, errstr);
		return;
	}
	p = egw_jobproc_spawn(w->config_path, w->cfg->worker_id, req->egress_id, m->payload, m->len,
			      errstr, sizeof(errstr));
	if (!p) {
		report(w, req->egress_id, "failed", EGW_ERR_INTERNAL, errstr);
		return;
	}
	p->next = w->procs;
	w->procs = p;
	w->n_running++;
}

/* A message from the jobs or the control topic. */
static void handle_message(egw_worker_t *w, const rd_kafka_message_t *m, int from_jobs)
{
	char errstr[512], egress_id[EGW_EGRESS_ID_MAX + 1];
	egw_request_t *req = NULL;
	egw_err_t err;

	err = egw_request_parse(m->payload ? m->payload : "", m->len, &req, egress_id, errstr,
				sizeof(errstr));
	if (err) {
		EGW_LOG(egress_id[0] ? egress_id : NULL, WARN, "rejected request: %s", errstr);
		dead_letter(w, m, errstr);
		if (!egress_id[0] && m->key && m->key_len > 0 && m->key_len <= EGW_EGRESS_ID_MAX)
			snprintf(egress_id, sizeof(egress_id), "%.*s", (int)m->key_len, (char *)m->key);
		if (egress_id[0] && from_jobs)
			report(w, egress_id, "failed", EGW_ERR_INVALID_REQUEST, errstr);
		return;
	}
	if (req->type == EGW_REQ_START && from_jobs)
		start_job(w, m, req);
	else if (req->type == EGW_REQ_START) {
		EGW_LOG(req->egress_id, WARN, "start request on the control topic; ignored");
		dead_letter(w, m, "start requests belong on the jobs topic");
	} else
		handle_control(w, req);
	egw_request_free(req);
}

static void on_job_line(void *opaque, egw_jobproc_t *p, char *line)
{
	egw_worker_t *w = opaque;
	json_error_t jerr;
	json_t *ev = json_loads(line, 0, &jerr);
	const char *status = json_string_value(json_object_get(ev, "status"));

	if (!ev || !status) {
		EGW_LOG(p->egress_id, WARN, "job process wrote a non-event line: %.200s", line);
		json_decref(ev);
		return;
	}
	snprintf(p->last_status, sizeof(p->last_status), "%s", status);
	publish_status(w, p->egress_id, ev, 0);
}

static void finish_proc(egw_worker_t *w, egw_jobproc_t *p)
{
	char msg[160];
	if (!egw_status_is_terminal(p->last_status)) {
		if (WIFSIGNALED(p->exit_status))
			snprintf(msg, sizeof(msg), "job process killed by signal %d%s",
				 WTERMSIG(p->exit_status),
				 p->stop_at ? " after the stop grace period" : "");
		else
			snprintf(msg, sizeof(msg), "job process exited with status %d without a result",
				 WEXITSTATUS(p->exit_status));
		report(w, p->egress_id, "failed", EGW_ERR_WORKER_LOST, msg);
	}
	EGW_LOG(p->egress_id, INFO, "job process %d ended (%s)", (int)p->pid,
		p->last_status[0] ? p->last_status : "no status");
}

/* Reads job output, reaps ended jobs, enforces the stop grace period. */
static void supervise(egw_worker_t *w, int timeout_ms)
{
	struct pollfd fds[256];
	int n = 0;
	for (egw_jobproc_t *p = w->procs; p && n < 256; p = p->next)
		if (p->out_fd >= 0)
			fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
	poll(fds, (nfds_t)n, timeout_ms);
	for (egw_jobproc_t **pp = &w->procs; *pp;) {
		egw_jobproc_t *p = *pp;
		int open = egw_jobproc_read(p, on_job_line, w);
		if (p->stop_at && time(NULL) - p->stop_at > w->cfg->stop_grace_s)
			egw_jobproc_signal_stop(p, 1);
		if (!open && egw_jobproc_reap(p)) {
			finish_proc(w, p);
			*pp = p->next;
			egw_jobproc_free(p);
			w->n_running--;
			continue;
		}
		pp = &p->next;
	}
}

/* A full worker leaves the group so that other workers take new starts. */
static void admission(egw_worker_t *w, int accepting)
{
	int want = accepting && w->n_running < w->cfg->max_jobs;
	if (want == w->subscribed)
		return;
	if (want) {
		rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(t, w->cfg->jobs_topic, RD_KAFKA_PARTITION_UA);
		rd_kafka_resp_err_t err = rd_kafka_subscribe(w->jobs, t);
		rd_kafka_topic_partition_list_destroy(t);
		if (err) {
			EGW_LOG(NULL, ERROR, "subscribe %s: %s", w->cfg->jobs_topic, rd_kafka_err2str(err));
			return;
		}
	} else {
		rd_kafka_unsubscribe(w->jobs);
	}
	w->subscribed = want;
	EGW_LOG(NULL, INFO, "%s the jobs group (%d/%d jobs running)",
		want ? "joined" : "left", w->n_running, w->cfg->max_jobs);
}

/* Commits a start before running it, so that no other worker runs it too
 * (a group rebalance hands the partition over from the committed offset).
 * When the commit fails the message is left for redelivery: to this
 * worker after a seek back, or to the partition's next owner. */
static int take(egw_worker_t *w, const rd_kafka_message_t *m)
{
	rd_kafka_resp_err_t err = rd_kafka_commit_message(w->jobs, m, 0);
	if (!err)
		return 1;
	EGW_LOG(NULL, WARN, "could not commit the start at %s[%d]@%lld (%s); leaving it for redelivery",
		rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
		rd_kafka_err2str(err));
	rd_kafka_seek(m->rkt, m->partition, m->offset, 1000);
	return 0;
}

static void poll_kafka(egw_worker_t *w)
{
	rd_kafka_message_t *m;
	if (w->subscribed && (m = rd_kafka_consumer_poll(w->jobs, 0))) {
		if (!m->err) {
			if (take(w, m))
				handle_message(w, m, 1);
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			EGW_LOG(NULL, WARN, "jobs consumer: %s", rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
	}
	while ((m = rd_kafka_consumer_poll(w->control, 0))) {
		if (!m->err)
			handle_message(w, m, 0);
		rd_kafka_message_destroy(m);
	}
	rd_kafka_poll(w->producer, 0);
}

/* brokers: as configured (main.c has replaced "embedded" by the embedded
 * broker's address). Waits for them in short attempts, so that a stop
 * signal ends the wait within a second, up to kafka_connect_timeout_s. */
static int connect_kafka(egw_worker_t *w, volatile sig_atomic_t *stop)
{
	char errstr[512];
	const char *brokers = w->cfg->kafka_brokers;
	time_t deadline = time(NULL) + w->cfg->kafka_connect_timeout_s;

	if (!(w->producer = egw_kafka_new(w->cfg, brokers, EGW_KAFKA_PRODUCER, errstr, sizeof(errstr))) ||
	    !(w->jobs = egw_kafka_new(w->cfg, brokers, EGW_KAFKA_JOBS, errstr, sizeof(errstr))) ||
	    !(w->control = egw_kafka_new(w->cfg, brokers, EGW_KAFKA_CONTROL, errstr, sizeof(errstr)))) {
		EGW_LOG(NULL, ERROR, "kafka: %s", errstr);
		return -1;
	}
	for (int tries = 0; egw_kafka_assign_all(w->control, w->cfg->control_topic, 500, errstr,
						 sizeof(errstr)); tries++) {
		if (*stop) {
			EGW_LOG(NULL, INFO, "stopped while waiting for Kafka brokers %s", brokers);
			return -1;
		}
		if (time(NULL) >= deadline) {
			EGW_LOG(NULL, ERROR, "Kafka brokers %s unreachable (or without topic %s): no "
					     "answer within %d s (kafka_connect_timeout_s); last error: %s",
				brokers, w->cfg->control_topic, w->cfg->kafka_connect_timeout_s, errstr);
			return -1;
		}
		if (tries == 0)
			EGW_LOG(NULL, WARN, "waiting up to %d s for Kafka brokers %s: %s",
				w->cfg->kafka_connect_timeout_s, brokers, errstr);
		poll(NULL, 0, 200); /* a failed attempt may return at once */
	}
	return 0;
}

static void shutdown_jobs(egw_worker_t *w)
{
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		egw_jobproc_signal_stop(p, 0);
	while (w->procs)
		supervise(w, POLL_MS);
}

int egw_worker_run(const egw_config_t *cfg, const char *config_path, volatile sig_atomic_t *stop)
{
	egw_worker_t w = {.cfg = cfg, .config_path = config_path};
	int ret = 1;

	if (connect_kafka(&w, stop)) {
		ret = *stop ? 0 : 1; /* stopped while waiting: not a failure */
		goto out;
	}
	EGW_LOG(NULL, INFO, "worker %s ready: jobs %s (group %s), control %s, status %s, max %d jobs",
		cfg->worker_id, cfg->jobs_topic, cfg->consumer_group, cfg->control_topic,
		cfg->status_topic, cfg->max_jobs);
	while (!*stop) {
		admission(&w, 1);
		poll_kafka(&w);
		supervise(&w, POLL_MS);
	}
	EGW_LOG(NULL, INFO, "shutting down: stopping %d job(s)", w.n_running);
	admission(&w, 0);
	shutdown_jobs(&w);
	ret = 0;
out:
	if (w.producer)
		rd_kafka_flush(w.producer, 5000);
	if (w.jobs) {
		rd_kafka_consumer_close(w.jobs);
		rd_kafka_destroy(w.jobs);
	}
	if (w.control) {
		rd_kafka_consumer_close(w.control);
		rd_kafka_destroy(w.control);
	}
	if (w.producer)
		rd_kafka_destroy(w.producer);
	return ret;
}
