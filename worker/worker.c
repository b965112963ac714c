#include "worker/worker.h"

#include <glib.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/secret.h"
#include "contract/status.h"
#include "job/cost.h"
#include "job/deliver.h"
#include "worker/kafka.h"
#include "worker/worker_int.h"

#define POLL_MS 50
#define JOBS_PER_TURN 64 /* starts taken in one turn of the loop, at most */
#define SHUTDOWN_FLUSH_MS 5000
#define WEBHOOK_FLUSH_S 5
#define RESUME_SCAN_S 30 /* how often the spool is looked at for uploads left */

egw_jobproc_t *egw_worker_find_proc(egw_worker_t *w, const char *egress_id)
{
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		if (!strcmp(p->egress_id, egress_id))
			return p;
	return NULL;
}

static void on_job_line(void *opaque, egw_jobproc_t *p, char *line)
{
	egw_worker_t *w = opaque;
	json_error_t jerr;
	json_t *ev;
	const char *status;

	if (egw_jobproc_spare_line(p, line)) /* its warm-up, done after it was taken */
		return;
	ev = json_loads(line, 0, &jerr);
	if (json_is_object(json_object_get(ev, "flow"))) { /* for the metrics */
		json_t *f = json_object_get(ev, "flow");
		json_t *skew = json_object_get(f, "av_skew_s");
		json_t *dropped = json_object_get(f, "video_frames_dropped");
		if ((p->has_skew = json_is_number(skew)))
			p->av_skew_s = json_number_value(skew);
		if ((p->has_frames = json_is_integer(dropped))) {
			p->video_frames_dropped = json_integer_value(dropped);
			p->video_frames = json_integer_value(json_object_get(f, "video_frames"));
		}
		json_decref(ev);
		return;
	}
	status = json_string_value(json_object_get(ev, "status"));
	if (!ev || !status) {
		EGW_LOG(p->egress_id, WARN, "job process wrote a non-event line: %.200s", line);
		json_decref(ev);
		return;
	}
	snprintf(p->last_status, sizeof(p->last_status), "%s", status);
	{
		json_t *d = json_object_get(ev, "details");
		egw_metrics_count_output(&w->counts, json_string_value(json_object_get(d, "event")),
		                         json_string_value(json_object_get(d, "state")));
	}
	if (!strcmp(status, "active") && !p->active_seen && !p->upload) {
		p->active_seen = 1;
		egw_metrics_count_latency(&w->counts, egw_jobproc_now() - p->spawned_s);
	}
	egw_worker_publish(w, p->egress_id, ev, 0);
}

static void finish_proc(egw_worker_t *w, egw_jobproc_t *p)
{
	char msg[160];
	if (egw_jobproc_uploading(p) && !egw_status_is_terminal(p->last_status)) {
		/* its recording is safe in the spool, and its journal tells
		 * the next worker (or the next scan) what is left */
		EGW_LOG(p->egress_id, WARN,
		        "uploads of job process %d interrupted; resumed from "
		        "the spool later",
		        (int)p->pid);
	} else if (!egw_status_is_terminal(p->last_status)) {
		if (WIFSIGNALED(p->exit_status))
			snprintf(msg, sizeof(msg), "job process killed by signal %d%s",
			         WTERMSIG(p->exit_status),
			         p->stop_at ? " after the stop grace period" : "");
		else
			snprintf(msg, sizeof(msg),
			         "job process exited with status %d without a result",
			         WEXITSTATUS(p->exit_status));
		egw_worker_report(w, p->egress_id, "failed", EGW_ERR_WORKER_LOST, msg);
	}
	EGW_LOG(p->egress_id, INFO, "job process %d ended (%s)", (int)p->pid,
	        p->last_status[0] ? p->last_status : "no status");
}

/* Job processes given their start less than EGW_SPARES_QUIET_S ago that
 * have not reported their first media byte yet. */
static int starting_jobs(const egw_worker_t *w)
{
	int n = 0;
	double now = egw_jobproc_now();
	for (const egw_jobproc_t *p = w->procs; p; p = p->next)
		n += !p->active_seen && !p->upload && !p->exited &&
		     now - p->spawned_s < EGW_SPARES_QUIET_S;
	return n;
}

/* Reads job output, feeds lifelines, reaps ended jobs, enforces the stop
 * grace period. */
static void supervise(egw_worker_t *w, int timeout_ms)
{
	struct pollfd fds[2 * 256 + 2];
	nfds_t n = 0;
	for (egw_jobproc_t *p = w->procs; p && n + 2 <= sizeof(fds) / sizeof(fds[0]); p = p->next) {
		if (p->out_fd >= 0)
			fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
		if (egw_jobproc_pending(p))
			fds[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
	}
	poll(fds, n, timeout_ms);
	for (egw_jobproc_t **pp = &w->procs; *pp;) {
		egw_jobproc_t *p = *pp;
		if (egw_jobproc_pending(p))
			egw_jobproc_flush(p);
		int open = egw_jobproc_read(p, on_job_line, w);
		/* The job's own deadline is stop_grace_s (then it closes its
		 * outputs as they are and reports): killed only when that, too,
		 * did not end it. */
		if (p->stop_at &&
		    time(NULL) - p->stop_at > w->cfg->stop_grace_s + EGW_KILL_AFTER_GRACE_S &&
		    !egw_jobproc_uploading(p))
			egw_jobproc_kill(p);
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

#define DISK_CHECK_S 5

/* Free MB of the file system holding path (or its nearest existing
 * parent, for a directory jobs have not made yet); -1 if unknown. */
static long long free_mb(const char *path)
{
	char buf[4096];
	struct statvfs sv;
	snprintf(buf, sizeof(buf), "%s", path);
	while (statvfs(buf, &sv)) {
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf) {
			if (statvfs(slash ? "/" : ".", &sv))
				return -1;
			break;
		}
		*slash = '\0';
	}
	return (long long)sv.f_bavail * sv.f_frsize >> 20;
}

/* MemAvailable of /proc/meminfo (MB); -1 if unknown. */
static long long available_memory_mb(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

int egw_worker_short_of(egw_worker_t *w, int now)
{
	const char *dirs[] = {w->cfg->spool_dir, w->cfg->storage_dir};
	time_t t = time(NULL);
	if (!w->cfg->min_free_disk_mb && !w->cfg->min_free_memory_mb)
		return 0;
	if (!now && w->disk_checked && t - w->disk_checked < DISK_CHECK_S)
		return w->short_of[0] != '\0';
	w->disk_checked = t;
	w->short_of[0] = '\0';
	for (size_t i = 0; i < 2; i++) {
		long long mb = free_mb(dirs[i]);
		if (mb >= 0 && mb < w->cfg->min_free_disk_mb) {
			snprintf(w->short_of, sizeof(w->short_of),
			         "%s %s: %lld MB free, less than min_free_disk_mb %d: this worker "
			         "takes no new jobs",
			         i ? "storage_dir" : "spool_dir", dirs[i], mb,
			         w->cfg->min_free_disk_mb);
			break;
		}
	}
	long long avail = available_memory_mb();
	if (!w->short_of[0] && avail >= 0 && avail < w->cfg->min_free_memory_mb)
		snprintf(w->short_of, sizeof(w->short_of),
		         "memory: %lld MB available, less than min_free_memory_mb %d: this worker "
		         "takes no new jobs",
		         avail, w->cfg->min_free_memory_mb);
	return w->short_of[0] != '\0';
}

int egw_worker_media_jobs(const egw_worker_t *w)
{
	int n = 0;
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		n += !egw_jobproc_uploading(p);
	return n;
}

int egw_worker_used_mc(const egw_worker_t *w)
{
	int used = 0; /* jobs that only upload do not count */
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		if (!egw_jobproc_uploading(p))
			used += p->cost_mc;
	return used;
}

/* A worker takes starts while it has room for them, or while it can hand
 * those it has no room for over to another worker (handover.h); otherwise
 * it leaves the group, so that other workers take new starts: full by
 * count (max_jobs), or by cost (the start it handed back, or the cheapest
 * job, would not fit its budget), with too little disk, or draining. */
static void admission(egw_worker_t *w, int accepting)
{
	int media = egw_worker_media_jobs(w);
	int low = egw_worker_short_of(w, 0);
	int used = egw_worker_used_mc(w);
	int room = !media || used + (w->need_mc ? w->need_mc : EGW_COST_MIN_MC) <= w->budget_mc;
	int takes = media < w->cfg->max_jobs && room;
	if (takes)
		w->handover_off = 0;
	int hands_over = !w->handover_off && !egw_handover_broken(w->handover);
	int want = accepting && !low && (takes || hands_over);
	if (low && !w->subscribed && !w->short_said) /* (never joined: say why once) */
		EGW_LOG(NULL, WARN, "not joining the jobs group: %s", w->short_of);
	w->short_said = low;
	if (want == w->subscribed)
		return;
	if (want) {
		rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(t, w->cfg->jobs_topic, RD_KAFKA_PARTITION_UA);
		rd_kafka_resp_err_t err = rd_kafka_subscribe(w->jobs, t);
		rd_kafka_topic_partition_list_destroy(t);
		if (err) {
			EGW_LOG(NULL, ERROR, "subscribe %s: %s", w->cfg->jobs_topic,
			        rd_kafka_err2str(err));
			return;
		}
	} else {
		rd_kafka_unsubscribe(w->jobs);
	}
	w->subscribed = want;
	if (low)
		EGW_LOG(NULL, WARN, "left the jobs group (%d/%d jobs running): %s", w->n_running,
		        w->cfg->max_jobs, w->short_of);
	else
		EGW_LOG(NULL, INFO, "%s the jobs group (%d/%d jobs running, %d of %d mc in use)",
		        want ? "joined" : "left", w->n_running, w->cfg->max_jobs, used,
		        w->budget_mc);
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
	EGW_LOG(NULL, WARN,
	        "could not commit the start at %s[%d]@%lld (%s); leaving it for redelivery",
	        rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
	        rd_kafka_err2str(err));
	rd_kafka_seek(m->rkt, m->partition, m->offset, 1000);
	return 0;
}

/* A handover's end (handover.h). One that did not happen leaves the start
 * where it was, for this worker's group to hand it on: the worker leaves
 * the group until it has room (admission). When the transaction's outcome
 * is unknown, the start is not sought back either: the next owner of its
 * partition reads from the committed offset, whichever it is. */
static void handover_done(void *opaque, const egw_handover_result_t *r)
{
	egw_worker_t *w = opaque;
	rd_kafka_topic_t *rkt;

	egw_metrics_count_handover(&w->counts, r->ok, r->seconds);
	if (r->ok) {
		EGW_LOG(r->egress_id, INFO, "handed over to %s[%d] in %.0f ms (handover %d)",
		        w->cfg->jobs_topic, (int)r->target, r->seconds * 1000, r->hops);
		return;
	}
	EGW_LOG(r->egress_id, INFO,
	        "not handed over (%s); left at %s[%d]@%lld for the group: this worker leaves "
	        "the group until it has room",
	        r->error, w->cfg->jobs_topic, (int)r->partition, (long long)r->offset);
	w->handover_off = 1;
	w->need_mc = w->handover_cost_mc;
	if (egw_handover_broken(w->handover))
		return;
	rkt = rd_kafka_topic_new(w->jobs, w->cfg->jobs_topic, NULL);
	rd_kafka_seek(rkt, r->partition, r->offset, 1000);
	rd_kafka_topic_destroy(rkt);
}

static void poll_kafka(egw_worker_t *w)
{
	rd_kafka_message_t *m;
	egw_handover_poll(w->handover);
	/* Every start that is there (a burst is taken at once, not one per
	 * turn of the loop), until one is not taken here; none while a
	 * handover's transaction runs (see handover.h). */
	for (int n = 0; n < JOBS_PER_TURN && w->subscribed && !egw_handover_busy(w->handover) &&
	                (m = rd_kafka_consumer_poll(w->jobs, 0));
	     n++) {
		int taken = 1; /* (sought back when not: read again next turn) */
		if (!m->err) {
			if ((taken = egw_intake_fits(w, m) && take(w, m)))
				egw_intake_job(w, m);
		} else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			EGW_LOG(NULL, WARN, "jobs consumer: %s", rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
		if (!taken)
			break;
	}
	while ((m = rd_kafka_consumer_poll(w->control, 0))) {
		if (!m->err)
			egw_intake_control(w, m);
		rd_kafka_message_destroy(m);
	}
	while ((m = rd_kafka_consumer_poll(w->control_group, 0))) {
		if (!m->err) {
			egw_intake_control_duty(w, m);
			rd_kafka_commit_message(w->control_group, m, 1);
		}
		rd_kafka_message_destroy(m);
	}
	egw_outbox_poll(w->outbox);
	egw_kafka_group_poll(w->jobs);
	egw_kafka_group_poll(w->control_group);
}

static int subscribe_control_group(egw_worker_t *w)
{
	rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
	rd_kafka_resp_err_t err;

	rd_kafka_topic_partition_list_add(t, w->cfg->control_topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(w->control_group, t);
	rd_kafka_topic_partition_list_destroy(t);
	if (err)
		EGW_LOG(NULL, ERROR, "subscribe %s: %s", w->cfg->control_topic,
		        rd_kafka_err2str(err));
	return err ? -1 : 0;
}

/* brokers: as configured (main.c has replaced "embedded" by the embedded
 * broker's address). Waits for them in short attempts, so that a stop
 * signal ends the wait within a second, up to kafka_connect_timeout_s. */
static int connect_kafka(egw_worker_t *w, volatile sig_atomic_t *stop)
{
	char errstr[512];
	const char *brokers = w->cfg->kafka_brokers;
	time_t deadline = time(NULL) + w->cfg->kafka_connect_timeout_s;

	if (!(w->outbox = egw_outbox_new(w->cfg, brokers, errstr, sizeof(errstr))) ||
	    !(w->jobs = egw_kafka_new(w->cfg, brokers, EGW_KAFKA_JOBS, errstr, sizeof(errstr))) ||
	    !(w->control =
	              egw_kafka_new(w->cfg, brokers, EGW_KAFKA_CONTROL, errstr, sizeof(errstr))) ||
	    !(w->control_group = egw_kafka_new(w->cfg, brokers, EGW_KAFKA_CONTROL_GROUP, errstr,
	                                       sizeof(errstr)))) {
		EGW_LOG(NULL, ERROR, "kafka: %s", errstr);
		return -1;
	}
	if (w->cfg->handover &&
	    !(w->handover = egw_handover_new(w->cfg, brokers, w->jobs, handover_done, w, errstr,
	                                     sizeof(errstr))))
		EGW_LOG(NULL, WARN, "no handovers (a full worker leaves the group instead): %s",
		        errstr);
	for (int tries = 0;
	     egw_kafka_assign_all(w->control, w->cfg->control_topic, 500, errstr, sizeof(errstr));
	     tries++) {
		if (*stop) {
			EGW_LOG(NULL, INFO, "stopped while waiting for Kafka brokers %s", brokers);
			return -1;
		}
		if (time(NULL) >= deadline) {
			EGW_LOG(NULL, ERROR,
			        "Kafka brokers %s unreachable (or without topic %s): no answer "
			        "within "
			        "%d s (kafka_connect_timeout_s); last error: %s",
			        brokers, w->cfg->control_topic, w->cfg->kafka_connect_timeout_s,
			        errstr);
			return -1;
		}
		if (tries == 0)
			EGW_LOG(NULL, WARN, "waiting up to %d s for Kafka brokers %s: %s",
			        w->cfg->kafka_connect_timeout_s, brokers, errstr);
		poll(NULL, 0, 200); /* a failed attempt may return at once */
	}
	return subscribe_control_group(w);
}

/* Uploads an earlier run (or a job process that died) left in the spool:
 * one `egress upload` process each, at start and every RESUME_SCAN_S. */
static void resume_uploads(egw_worker_t *w, time_t *last_scan)
{
	time_t now = time(NULL);
	char **ids;
	int swept;
	if (*last_scan && now - *last_scan < RESUME_SCAN_S)
		return;
	*last_scan = now;
	if ((swept = egw_delivery_sweep_inputs(w->cfg->spool_dir)))
		EGW_LOG(NULL, INFO, "removed %d render input directories left by killed jobs",
		        swept);
	ids = egw_delivery_pending(w->cfg->spool_dir);
	for (char **id = ids; id && *id; id++) {
		egw_jobproc_cmd_t cmd = {NULL, w->config_path, w->cfg->worker_id, *id, 0};
		char errstr[256];
		egw_jobproc_t *p;
		if (egw_worker_find_proc(w, *id))
			continue;
		if (!(p = egw_jobproc_spawn(&cmd, *id, "{}", 2, errstr, sizeof(errstr)))) {
			EGW_LOG(*id, ERROR, "cannot resume its uploads: %s", errstr);
			continue;
		}
		EGW_LOG(*id, INFO, "resuming the uploads left in the spool (process %d)",
		        (int)p->pid);
		char *url = NULL, *secret = NULL;
		if (egw_delivery_webhook(w->cfg->spool_dir, *id, &url, &secret)) {
			p->webhook_url = strdup(url);
			p->webhook_secret = secret ? strdup(secret) : NULL;
		}
		g_free(url);
		egw_secret_wipe(secret);
		g_free(secret);
		p->next = w->procs;
		w->procs = p;
		w->n_running++;
	}
	g_strfreev(ids);
}

/* Webhooks still queued get a few seconds; what is left is logged. */
static void flush_webhooks(egw_worker_t *w)
{
	time_t until = time(NULL) + WEBHOOK_FLUSH_S;
	while (egw_webhooks_pending(w->webhooks) && time(NULL) < until) {
		egw_webhooks_poll(w->webhooks);
		poll(NULL, 0, 20);
	}
}

/* The drain: no new starts (the jobs group left at once), while running
 * egresses go on, for at most drain_timeout_s or until a second signal.
 * Control requests, webhooks and supervision go on meanwhile; so do
 * uploads (no new resumption is started). */
static void drain(egw_worker_t *w, volatile sig_atomic_t *stop)
{
	time_t until = time(NULL) + w->cfg->drain_timeout_s;
	if (!w->procs || w->cfg->drain_timeout_s <= 0)
		return;
	EGW_LOG(NULL, INFO,
	        "draining: %d job(s) run on for at most %d s (another SIGTERM ends them now)",
	        w->n_running, w->cfg->drain_timeout_s);
	w->counts.draining = 1;
	while (w->procs && *stop < 2 && time(NULL) < until) {
		egw_metrics_poll(w->metrics);
		egw_webhooks_poll(w->webhooks);
		poll_kafka(w);
		supervise(w, POLL_MS);
	}
	if (w->procs)
		EGW_LOG(NULL, INFO, "drain over (%s): stopping %d job(s)",
		        *stop >= 2 ? "second signal" : "deadline", w->n_running);
	else
		EGW_LOG(NULL, INFO, "drained: every job ended");
}

static void shutdown_jobs(egw_worker_t *w)
{
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		if (egw_jobproc_uploading(p))
			egw_jobproc_terminate(p); /* the next start goes on */
		else
			egw_jobproc_request_stop(p, "worker shutting down");
	while (w->procs) {
		egw_metrics_poll(w->metrics);
		egw_webhooks_poll(w->webhooks);
		supervise(w, POLL_MS);
		egw_outbox_poll(w->outbox);
	}
}

int egw_worker_run(const egw_config_t *cfg, const char *config_path, volatile sig_atomic_t *stop)
{
	egw_worker_t w = {.cfg = cfg, .config_path = config_path};
	time_t last_scan = 0;
	char errstr[512];
	int ret = 1;

	if (connect_kafka(&w, stop)) {
		ret = *stop ? 0 : 1; /* stopped while waiting: not a failure */
		goto out;
	}
	EGW_LOG(NULL, INFO,
	        "worker %s ready: jobs %s (group %s), control %s (dead-letter group %s.control), "
	        "status %s, max %d jobs",
	        cfg->worker_id, cfg->jobs_topic, cfg->consumer_group, cfg->control_topic,
	        cfg->consumer_group, cfg->status_topic, cfg->max_jobs);
	{ /* ("." is in no egress id: no egress's spool directory) */
		char *hooks_dir = g_build_filename(cfg->spool_dir, ".webhooks", NULL);
		w.webhooks = egw_webhooks_new(&(egw_webhooks_conf_t){
		        cfg->webhook_retry_window_s, cfg->webhook_timeout_ms, hooks_dir});
		g_free(hooks_dir);
	}
	{
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		long cap = cfg->capacity_mcores ? cfg->capacity_mcores
		                                : (cores > 0 ? cores : 1) * 1000;
		w.budget_mc = (int)(cap * cfg->max_utilisation_pct / 100);
		EGW_LOG(NULL, INFO,
		        "admission: jobs' costs up to %d mc (%ld mc x %d %%), at most %d "
		        "jobs",
		        w.budget_mc, cap, cfg->max_utilisation_pct, cfg->max_jobs);
	}
	if (cfg->http_listen[0] &&
	    !(w.metrics = egw_metrics_start(&w, cfg->http_listen, errstr, sizeof(errstr)))) {
		EGW_LOG(NULL, ERROR, "%s", errstr);
		goto out;
	}
	{
		egw_jobproc_cmd_t spare = {NULL, config_path, cfg->worker_id, NULL, 1};
		w.spares = egw_spares_new(&spare, cfg->spare_jobs);
	}
	while (!*stop) {
		/* (spares cost memory) */
		egw_spares_tend(w.spares, !w.short_of[0], starting_jobs(&w));
		egw_metrics_poll(w.metrics);
		egw_webhooks_poll(w.webhooks);
		resume_uploads(&w, &last_scan);
		admission(&w, 1);
		poll_kafka(&w);
		supervise(&w, POLL_MS);
	}
	w.counts.draining = 1;
	EGW_LOG(NULL, INFO, "shutting down: %d job(s) running", w.n_running);
	admission(&w, 0);
	egw_spares_free(w.spares); /* no more starts: dismissed */
	w.spares = NULL;
	drain(&w, stop);
	shutdown_jobs(&w);
	flush_webhooks(&w);
	ret = 0;
out:
	if (w.outbox && egw_outbox_flush(w.outbox, SHUTDOWN_FLUSH_MS))
		EGW_LOG(NULL, WARN,
		        "shutting down: %u message(s) not yet delivered to Kafka: kept in the "
		        "outbox for the next worker on this spool",
		        egw_outbox_backlog(w.outbox));
	egw_spares_free(w.spares);
	egw_handover_free(w.handover);
	egw_kafka_destroy(w.jobs);
	egw_kafka_destroy(w.control);
	egw_kafka_destroy(w.control_group);
	egw_outbox_free(w.outbox);
	egw_webhooks_free(w.webhooks);
	egw_metrics_stop(w.metrics);
	return ret;
}
