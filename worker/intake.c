/* What each Kafka message leads to: a job process, a stop or update for a
 * running one, a status event, a dead-letter copy. The rules are those of
 * docs/jobs.md ("Validation errors", "Status events").
 * locality: worker thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/log.h"
#include "contract/redact.h"
#include "contract/status.h"
#include "job/cost.h"
#include "job/plan.h"
#include "worker/kafka.h"
#include "worker/worker_int.h"

static const char *type_name(egw_request_type_t t)
{
	switch (t) {
	case EGW_REQ_START:
		return "start";
	case EGW_REQ_STOP:
		return "stop";
	case EGW_REQ_UPDATE_LAYOUT:
		return "update_layout";
	case EGW_REQ_UPDATE_STREAM:
		return "update_stream";
	}
	return "?";
}

/* The message key as an egress id, or "" when it is not a valid one. */
static void key_as_id(const rd_kafka_message_t *m, char *id)
{
	const char *k = m->key;
	id[0] = '\0';
	if (!k || m->key_len == 0 || m->key_len > EGW_EGRESS_ID_MAX)
		return;
	for (size_t i = 0; i < m->key_len; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return;
	memcpy(id, k, m->key_len);
	id[m->key_len] = '\0';
}

/* A copy of m without its secrets (contract/redact.h), keyed by egress_id
 * (or none), with the reason and where it came from in headers. */
static void dead_letter(egw_worker_t *w, const rd_kafka_message_t *m, const char *egress_id,
                        const char *reason)
{
	size_t len = 0;
	char source[320];
	char *copy = egw_request_redact(m->payload, m->len, &len);
	const char *headers[] = {"error", reason, "source", source, NULL};

	snprintf(source, sizeof(source), "%s[%d]@%lld", rd_kafka_topic_name(m->rkt),
	         (int)m->partition, (long long)m->offset);
	if (!copy) {
		EGW_LOG(egress_id[0] ? egress_id : NULL, ERROR, "dead-letter copy: out of memory");
		return;
	}
	egw_kafka_msg_t msg = {
	        .topic = w->cfg->deadletter_topic,
	        .key = egress_id[0] ? egress_id : NULL,
	        .key_len = strlen(egress_id),
	        .value = copy,
	        .len = len,
	        .headers = headers,
	};
	egw_outbox_put(w->outbox, &msg);
	free(copy);
}

/* The event to the egress's webhook too, if its request has one. */
static void post_webhook(egw_worker_t *w, json_t *ev)
{
	const char *eid = json_string_value(json_object_get(ev, "egress_id"));
	egw_jobproc_t *p = eid ? egw_worker_find_proc(w, eid) : NULL;
	if (p && p->webhook_url)
		egw_webhooks_post(w->webhooks, p->webhook_url, p->webhook_secret, ev);
	else if (!p && w->intake_hook_url)
		egw_webhooks_post(w->webhooks, w->intake_hook_url, w->intake_hook_secret, ev);
}

void egw_worker_publish(egw_worker_t *w, const char *key, json_t *ev, int log)
{
	const char *status = json_string_value(json_object_get(ev, "status"));
	char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;

	if (text) {
		egw_kafka_msg_t msg = {
		        .topic = w->cfg->status_topic,
		        .key = key,
		        .key_len = strlen(key),
		        .value = text,
		        .len = strlen(text),
		        .final = egw_status_is_terminal(status),
		};
		egw_outbox_put(w->outbox, &msg);
		egw_metrics_count_status(&w->counts, status);
		post_webhook(w, ev);
		if (log)
			EGW_LOG(json_string_value(json_object_get(ev, "egress_id")), INFO,
			        "status %s", status);
	}
	free(text);
	json_decref(ev);
}

void egw_worker_report(egw_worker_t *w, const char *egress_id, const char *status, egw_err_t err,
                       const char *message)
{
	egw_status_t st;
	memset(&st, 0, sizeof(st));
	snprintf(st.egress_id, sizeof(st.egress_id), "%s", egress_id);
	snprintf(st.worker_id, sizeof(st.worker_id), "%s", w->cfg->worker_id);
	if (egw_status_is_terminal(status))
		egw_time_now(st.ended_at, sizeof(st.ended_at));
	egw_worker_publish(w, egress_id, egw_status_event(&st, status, NULL, NULL, err, message),
	                   1);
}

/* A request refused without touching the egress it names: keyed
 * "<egress_id>/rejected" (no egress id has a '/'), so that a compacted
 * status topic keeps the egress's own last state. */
static void report_rejected(egw_worker_t *w, const char *egress_id, egw_err_t err,
                            const char *message)
{
	char key[EGW_EGRESS_ID_MAX + 16];
	egw_status_t st;

	memset(&st, 0, sizeof(st));
	snprintf(st.egress_id, sizeof(st.egress_id), "%s", egress_id);
	snprintf(st.worker_id, sizeof(st.worker_id), "%s", w->cfg->worker_id);
	snprintf(key, sizeof(key), "%s/rejected", egress_id);
	egw_worker_publish(w, key, egw_status_event(&st, "rejected", NULL, NULL, err, message), 1);
}

/* An invalid request on the jobs topic: failed, unless that would end an
 * egress this worker runs. */
static void refuse(egw_worker_t *w, const char *egress_id, egw_err_t err, const char *message)
{
	if (egw_worker_find_proc(w, egress_id))
		report_rejected(w, egress_id, err, message);
	else
		egw_worker_report(w, egress_id, "failed", err, message);
}

static int take_early_stop(egw_worker_t *w, const char *egress_id)
{
	for (int i = 0; i < EGW_EARLY_STOPS; i++)
		if (!strcmp(w->early_stops[i], egress_id)) {
			w->early_stops[i][0] = '\0';
			return 1;
		}
	return 0;
}

/* Non-zero (with why in errstr) when m is older than start_max_age_s. */
static int expired(egw_worker_t *w, const rd_kafka_message_t *m, char *errstr, size_t size)
{
	rd_kafka_timestamp_type_t type;
	int64_t ts = rd_kafka_message_timestamp(m, &type), now_ms;
	struct timeval tv;

	if (w->cfg->start_max_age_s <= 0 || ts <= 0 || type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
		return 0;
	gettimeofday(&tv, NULL);
	now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (now_ms - ts <= (int64_t)w->cfg->start_max_age_s * 1000)
		return 0;
	snprintf(errstr, size, "request: expired: produced %lld s ago, start_max_age_s is %d",
	         (long long)((now_ms - ts) / 1000), w->cfg->start_max_age_s);
	return 1;
}

static void start_job(egw_worker_t *w, const rd_kafka_message_t *m, const egw_request_t *req)
{
	char errstr[512];
	egw_err_t err;
	egw_jobproc_t *p;
	egw_jobproc_cmd_t cmd = {NULL, w->config_path, w->cfg->worker_id, NULL, 0};

	if (egw_worker_find_proc(w, req->egress_id)) {
		snprintf(
		        errstr, sizeof(errstr),
		        "egress_id: duplicate start: the egress is already running on this worker");
		EGW_LOG(req->egress_id, WARN, "%s; not acted on", errstr);
		dead_letter(w, m, req->egress_id, errstr);
		report_rejected(w, req->egress_id, EGW_ERR_INVALID_REQUEST, errstr);
		return;
	}
	if (expired(w, m, errstr, sizeof(errstr))) {
		EGW_LOG(req->egress_id, WARN, "%s; not run", errstr);
		dead_letter(w, m, req->egress_id, errstr);
		egw_worker_report(w, req->egress_id, "failed", EGW_ERR_EXPIRED, errstr);
		return;
	}
	if (egw_worker_short_of(w, 1)) {
		EGW_LOG(req->egress_id, WARN, "not run: %s", w->short_of);
		egw_worker_report(w, req->egress_id, "failed", EGW_ERR_CAPACITY, w->short_of);
		return;
	}
	if (take_early_stop(w, req->egress_id)) {
		egw_worker_report(w, req->egress_id, "aborted", EGW_OK, NULL);
		return;
	}
	if ((err = egw_plan_check(req->job, errstr, sizeof(errstr)))) {
		egw_worker_report(w, req->egress_id, "failed", err, errstr);
		return;
	}
	if (!(p = egw_spares_take(w->spares, req->egress_id, m->payload, m->len)) &&
	    !(p = egw_jobproc_spawn(&cmd, req->egress_id, m->payload, m->len, errstr,
	                            sizeof(errstr)))) {
		egw_worker_report(w, req->egress_id, "failed", EGW_ERR_INTERNAL, errstr);
		return;
	}
	if (req->job->webhook.url) {
		p->webhook_url = strdup(req->job->webhook.url);
		p->webhook_secret =
		        req->job->webhook.secret ? strdup(req->job->webhook.secret) : NULL;
	}
	p->cost_mc = w->intake_cost_mc;
	p->next = w->procs;
	w->procs = p;
	w->n_running++;
}

int egw_intake_fits(egw_worker_t *w, const rd_kafka_message_t *m)
{
	egw_request_t *req = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], errstr[256];
	int used = egw_worker_used_mc(w), cost, fits, hops = egw_handover_hops(m);

	w->intake_cost_mc = 0;
	if (egw_request_parse(m->payload ? m->payload : "", m->len, &req, id, errstr,
	                      sizeof(errstr)) ||
	    req->type != EGW_REQ_START) {
		egw_request_free(req);
		return 1;
	}
	if (egw_worker_find_proc(w, req->egress_id)) {
		egw_request_free(req); /* a duplicate: refused by start_job */
		return 1;
	}
	cost = egw_job_cost_mc(req->job);
	/* an idle worker takes any job: one larger than a whole worker would
	 * otherwise go round the group for ever */
	fits = egw_worker_media_jobs(w) < w->cfg->max_jobs &&
	       (used + cost <= w->budget_mc || used == 0);
	if (fits) {
		w->intake_cost_mc = cost;
		w->need_mc = 0;
		if (hops)
			EGW_LOG(req->egress_id, INFO,
			        "taken over from a full worker (%d handover(s)), from %s[%d]@%lld",
			        hops, rd_kafka_topic_name(m->rkt), (int)m->partition,
			        (long long)m->offset);
	} else if (!w->handover_off && !egw_handover_begin(w->handover, m, req->egress_id)) {
		EGW_LOG(req->egress_id, INFO,
		        "no room here: it costs %d mc, %d of %d mc and %d of %d jobs are in use; "
		        "handing it over to another worker",
		        cost, used, w->budget_mc, egw_worker_media_jobs(w), w->cfg->max_jobs);
		w->handover_cost_mc = cost;
	} else {
		EGW_LOG(req->egress_id, INFO,
		        "no room here: it costs %d mc, %d of %d mc and %d of %d jobs are in use; "
		        "left to another worker",
		        cost, used, w->budget_mc, egw_worker_media_jobs(w), w->cfg->max_jobs);
		w->need_mc = cost;
		rd_kafka_seek(m->rkt, m->partition, m->offset, 1000);
	}
	egw_request_free(req);
	return fits;
}

/* Parses m; a request that does not parse is logged and dead-lettered
 * (under its egress id, or its key), and NULL returned with id set. */
static egw_request_t *parse_or_dead_letter(egw_worker_t *w, const rd_kafka_message_t *m,
                                           const char *what, char *id, char *errstr,
                                           size_t errstr_size)
{
	egw_request_t *req = NULL;
	if (!egw_request_parse(m->payload ? m->payload : "", m->len, &req, id, errstr, errstr_size))
		return req;
	if (!id[0])
		key_as_id(m, id);
	EGW_LOG(id[0] ? id : NULL, WARN, "rejected %s: %s", what, errstr);
	dead_letter(w, m, id, errstr);
	return NULL;
}

void egw_intake_job(egw_worker_t *w, const rd_kafka_message_t *m)
{
	char errstr[512], id[EGW_EGRESS_ID_MAX + 1];
	egw_request_t *req = parse_or_dead_letter(w, m, "request", id, errstr, sizeof(errstr));

	if (!req) {
		if (id[0])
			refuse(w, id, EGW_ERR_INVALID_REQUEST, errstr);
		return;
	}
	if (req->type == EGW_REQ_START) {
		/* (a refusal of a duplicate goes to the running egress's hook) */
		w->intake_hook_url = req->job->webhook.url;
		w->intake_hook_secret = req->job->webhook.secret;
		start_job(w, m, req);
		w->intake_hook_url = w->intake_hook_secret = NULL;
	} else {
		/* Stops and updates act only from the control topic, which every
		 * worker reads; here only the one worker that took the message
		 * would see it. */
		snprintf(errstr, sizeof(errstr),
		         "type: %s requests belong on the control topic (%s); not acted on",
		         type_name(req->type), w->cfg->control_topic);
		EGW_LOG(req->egress_id, WARN, "%s", errstr);
		dead_letter(w, m, req->egress_id, errstr);
		report_rejected(w, req->egress_id, EGW_ERR_INVALID_REQUEST, errstr);
	}
	egw_request_free(req);
}

/* update_layout/update_stream for a running egress: forwarded on its
 * lifeline, re-serialised compactly (one line). Never logged with URLs. */
static void forward_update(egw_worker_t *w, egw_jobproc_t *p, const rd_kafka_message_t *m,
                           const egw_request_t *req)
{
	json_t *j = json_loadb(m->payload, m->len, 0, NULL);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (line && !egw_jobproc_send(p, line, strlen(line)))
		EGW_LOG(req->egress_id, INFO, "%s forwarded to the job process",
		        type_name(req->type));
	else
		EGW_LOG(req->egress_id, WARN, "%s could not be forwarded to the job process",
		        type_name(req->type));
	free(line);
	json_decref(j);
}

void egw_intake_control(egw_worker_t *w, const rd_kafka_message_t *m)
{
	egw_request_t *req = NULL;
	egw_jobproc_t *p;
	char errstr[512];

	/* Invalid or misplaced requests are the control group's to report. */
	if (egw_request_parse(m->payload ? m->payload : "", m->len, &req, NULL, errstr,
	                      sizeof(errstr)))
		return;
	p = egw_worker_find_proc(w, req->egress_id);
	if (req->type == EGW_REQ_STOP) {
		if (p) {
			EGW_LOG(req->egress_id, INFO, "stop requested%s%s", req->reason ? ": " : "",
			        req->reason ? req->reason : "");
			egw_jobproc_request_stop(p, req->reason);
		} else {
			/* Maybe its start is still queued: remember, abort it then. */
			snprintf(w->early_stops[w->early_next], EGW_EGRESS_ID_MAX + 1, "%s",
			         req->egress_id);
			w->early_next = (w->early_next + 1) % EGW_EARLY_STOPS;
		}
	} else if (req->type != EGW_REQ_START && p)
		forward_update(w, p, m, req);
	egw_request_free(req);
}

void egw_intake_control_duty(egw_worker_t *w, const rd_kafka_message_t *m)
{
	char errstr[512], id[EGW_EGRESS_ID_MAX + 1];
	egw_request_t *req =
	        parse_or_dead_letter(w, m, "control request", id, errstr, sizeof(errstr));

	if (!req)
		return;
	if (req->type == EGW_REQ_START) {
		snprintf(errstr, sizeof(errstr),
		         "type: start requests belong on the jobs topic (%s); not run",
		         w->cfg->jobs_topic);
		EGW_LOG(req->egress_id, WARN, "%s", errstr);
		dead_letter(w, m, req->egress_id, errstr);
	}
	egw_request_free(req);
}
