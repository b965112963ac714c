/* Health and metrics over HTTP (see metrics.h). Metric names follow
 * Prometheus conventions: the egress_ prefix, units in the name, _total
 * for counters. */
#include "worker/metrics.h"

#include <arpa/inet.h>
#include <glib.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/log.h"
#include "worker/worker_int.h"

static const double latency_bounds[EGW_METRICS_LATENCY_BUCKETS] = {0.25, 0.5, 0.75, 1,
                                                                   1.5,  2,   5,    10};

struct egw_metrics {
	struct MHD_Daemon *daemon;
	egw_worker_t *w;
};

void egw_metrics_count_status(egw_metrics_counts_t *c, const char *status)
{
	if (!status)
		return;
	if (!strcmp(status, "starting"))
		c->started++;
	else if (!strcmp(status, "complete"))
		c->complete++;
	else if (!strcmp(status, "failed"))
		c->failed++;
	else if (!strcmp(status, "aborted"))
		c->aborted++;
}

void egw_metrics_count_latency(egw_metrics_counts_t *c, double seconds)
{
	for (int i = 0; i < EGW_METRICS_LATENCY_BUCKETS; i++)
		if (seconds <= latency_bounds[i]) {
			c->latency_bucket[i]++;
			break;
		}
	c->latency_count++;
	c->latency_sum += seconds;
}

static const char *const output_kinds[EGW_METRICS_OUTPUT_KINDS] = {"stream", "websocket"};
static const char *const output_states[EGW_METRICS_OUTPUT_STATES] = {
        "connecting", "active", "reconnecting", "failed", "removed", "complete"};

void egw_metrics_count_output(egw_metrics_counts_t *c, const char *event, const char *state)
{
	int kind = -1;
	if (!event)
		return;
	if (!strcmp(event, "output_failed")) {
		c->output_failures++;
		return;
	}
	for (int k = 0; k < EGW_METRICS_OUTPUT_KINDS; k++)
		if (!strncmp(event, output_kinds[k], strlen(output_kinds[k])) &&
		    !strcmp(event + strlen(output_kinds[k]), "_state"))
			kind = k;
	for (int s = 0; kind >= 0 && state && s < EGW_METRICS_OUTPUT_STATES; s++)
		if (!strcmp(state, output_states[s]))
			c->output_states[kind][s]++;
}

void egw_metrics_count_handover(egw_metrics_counts_t *c, int ok, double seconds)
{
	if (!ok) {
		c->handover_failures++;
		return;
	}
	c->handovers++;
	c->handover_sum += seconds;
}

/* CPU seconds (user + system) and resident bytes of a process; 0 when it
 * cannot be read. */
static void proc_usage(pid_t pid, double *cpu_s, double *rss)
{
	char path[64], buf[1024];
	unsigned long utime = 0, stime = 0, pages = 0;
	FILE *f;
	*cpu_s = *rss = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r"))) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		const char *p = strrchr(buf, ')'); /* the name may hold spaces */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		                &utime, &stime) == 2)
			*cpu_s = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%*u %lu", &pages) == 1)
			*rss = (double)pages * (double)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
}

static double free_bytes(const char *path)
{
	struct statvfs sv;
	return statvfs(path, &sv) ? -1 : (double)sv.f_bavail * (double)sv.f_frsize;
}

static void metric(GString *s, const char *name, const char *type, const char *help)
{
	g_string_append_printf(s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* What a job process last said of its outputs (job/runner.c report_flow):
 * 0 when it has no such figure. */
static int av_skew(const egw_jobproc_t *p, double *v)
{
	*v = p->av_skew_s;
	return p->has_skew;
}

static int video_frames(const egw_jobproc_t *p, double *v)
{
	*v = (double)p->video_frames;
	return p->has_frames;
}

static int video_frames_dropped(const egw_jobproc_t *p, double *v)
{
	*v = (double)p->video_frames_dropped;
	return p->has_frames;
}

/* A family with a sample per running egress that has the figure. */
static void per_egress(GString *s, const egw_worker_t *w, const char *name, const char *type,
                       const char *help, int decimals, int (*get)(const egw_jobproc_t *, double *))
{
	double v;
	metric(s, name, type, help);
	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		if (get(p, &v))
			g_string_append_printf(s, "%s{egress_id=\"%s\"} %.*f\n", name, p->egress_id,
			                       decimals, v);
}

char *egw_metrics_render(egw_worker_t *w)
{
	GString *s = g_string_new(NULL);
	const egw_metrics_counts_t *c = &w->counts;
	int recording = 0, uploading = 0;
	unsigned long long cum = 0;

	for (egw_jobproc_t *p = w->procs; p; p = p->next)
		egw_jobproc_uploading(p) ? uploading++ : recording++;
	metric(s, "egress_info", "gauge", "The worker: its id and version.");
	g_string_append_printf(s, "egress_info{worker_id=\"%s\",version=\"%s\"} 1\n",
	                       w->cfg->worker_id, EGW_VERSION);
	metric(s, "egress_jobs", "gauge", "Job processes running, by what they do.");
	g_string_append_printf(s, "egress_jobs{state=\"recording\"} %d\n", recording);
	g_string_append_printf(s, "egress_jobs{state=\"uploading\"} %d\n", uploading);
	metric(s, "egress_jobs_max", "gauge",
	       "Recording jobs this worker takes at most (max_jobs).");
	g_string_append_printf(s, "egress_jobs_max %d\n", w->cfg->max_jobs);
	metric(s, "egress_capacity_mcores", "gauge",
	       "CPU jobs may use here (capacity x max_utilisation_pct), thousandths of a core.");
	g_string_append_printf(s, "egress_capacity_mcores %d\n", w->budget_mc);
	metric(s, "egress_capacity_used_mcores", "gauge",
	       "Expected CPU of the recording jobs running (their costs), thousandths of a core.");
	g_string_append_printf(s, "egress_capacity_used_mcores %d\n", egw_worker_used_mc(w));
	metric(s, "egress_accepting", "gauge", "1 while the worker is in the jobs group.");
	g_string_append_printf(s, "egress_accepting %d\n", w->subscribed);
	metric(s, "egress_draining", "gauge", "1 while the worker drains (after SIGTERM).");
	g_string_append_printf(s, "egress_draining %d\n", c->draining);
	metric(s, "egress_jobs_started_total", "counter", "Egresses started by this worker.");
	g_string_append_printf(s, "egress_jobs_started_total %llu\n", c->started);
	metric(s, "egress_jobs_ended_total", "counter", "Egresses ended, by final status.");
	g_string_append_printf(s, "egress_jobs_ended_total{status=\"complete\"} %llu\n",
	                       c->complete);
	g_string_append_printf(s, "egress_jobs_ended_total{status=\"failed\"} %llu\n", c->failed);
	g_string_append_printf(s, "egress_jobs_ended_total{status=\"aborted\"} %llu\n", c->aborted);
	metric(s, "egress_start_latency_seconds", "histogram",
	       "From taking a start to the job's first media written.");
	for (int i = 0; i < EGW_METRICS_LATENCY_BUCKETS; i++) {
		cum += c->latency_bucket[i];
		g_string_append_printf(s, "egress_start_latency_seconds_bucket{le=\"%g\"} %llu\n",
		                       latency_bounds[i], cum);
	}
	g_string_append_printf(s, "egress_start_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
	                       c->latency_count);
	g_string_append_printf(s, "egress_start_latency_seconds_sum %.6f\n", c->latency_sum);
	g_string_append_printf(s, "egress_start_latency_seconds_count %llu\n", c->latency_count);
	{ /* each job's /proc read once, for both families */
		GString *mem = g_string_new(NULL);
		metric(s, "egress_job_cpu_seconds_total", "counter",
		       "CPU time (user + system) of each running egress's job process.");
		metric(mem, "egress_job_memory_bytes", "gauge",
		       "Resident memory of each running egress's job process.");
		for (egw_jobproc_t *p = w->procs; p; p = p->next) {
			double cpu, rss;
			proc_usage(p->pid, &cpu, &rss);
			g_string_append_printf(
			        s, "egress_job_cpu_seconds_total{egress_id=\"%s\"} %.3f\n",
			        p->egress_id, cpu);
			g_string_append_printf(mem,
			                       "egress_job_memory_bytes{egress_id=\"%s\"} %.0f\n",
			                       p->egress_id, rss);
		}
		g_string_append_len(s, mem->str, (gssize)mem->len);
		g_string_free(mem, TRUE);
	}
	per_egress(s, w, "egress_job_av_skew_seconds", "gauge",
	           "Running time of the newest video frame minus that of the newest audio frame "
	           "reaching each egress's outputs (where it has both).",
	           3, av_skew);
	per_egress(s, w, "egress_job_video_frames_total", "counter",
	           "Frames of each egress's encoded video (a composite) that reached its outputs.",
	           0, video_frames);
	per_egress(s, w, "egress_job_video_frames_dropped_total", "counter",
	           "Frames an egress's encoded video (a composite) should have had by its running "
	           "time and did not get.",
	           0, video_frames_dropped);
	metric(s, "egress_status_backlog_messages", "gauge",
	       "Status events and dead-letter copies not yet delivered to Kafka.");
	g_string_append_printf(s, "egress_status_backlog_messages %u\n",
	                       egw_outbox_backlog(w->outbox));
	metric(s, "egress_status_dropped_total", "counter",
	       "Waiting status events dropped to keep the outbox within status_outbox_mb.");
	g_string_append_printf(s, "egress_status_dropped_total %llu\n",
	                       egw_outbox_dropped(w->outbox));
	metric(s, "egress_output_state_changes_total", "counter",
	       "Changes of state of stream destinations and websocket outputs (reconnecting: "
	       "a connection lost and being made again).");
	for (int k = 0; k < EGW_METRICS_OUTPUT_KINDS; k++)
		for (int st = 0; st < EGW_METRICS_OUTPUT_STATES; st++)
			g_string_append_printf(s,
			                       "egress_output_state_changes_total{kind=\"%s\","
			                       "state=\"%s\"} %llu\n",
			                       output_kinds[k], output_states[st],
			                       w->counts.output_states[k][st]);
	metric(s, "egress_output_failures_total", "counter",
	       "Outputs that stopped while their egress went on.");
	g_string_append_printf(s, "egress_output_failures_total %llu\n", w->counts.output_failures);
	metric(s, "egress_spare_processes", "gauge",
	       "Job processes kept for the next starts (spare_jobs), by state.");
	{
		int warm, all = egw_spares_count(w->spares, &warm);
		g_string_append_printf(s, "egress_spare_processes{state=\"warm\"} %d\n", warm);
		g_string_append_printf(s, "egress_spare_processes{state=\"warming\"} %d\n",
		                       all - warm);
	}
	metric(s, "egress_handovers_total", "counter",
	       "Starts this worker had no room for, by what became of them: handed over to "
	       "another worker, or left for the group.");
	g_string_append_printf(s, "egress_handovers_total{result=\"handed_over\"} %llu\n",
	                       w->counts.handovers);
	g_string_append_printf(s, "egress_handovers_total{result=\"left\"} %llu\n",
	                       w->counts.handover_failures);
	metric(s, "egress_handover_seconds_total", "counter",
	       "Time spent handing starts over (with egress_handovers_total: the mean).");
	g_string_append_printf(s, "egress_handover_seconds_total %.6f\n", w->counts.handover_sum);
	metric(s, "egress_webhooks_pending", "gauge", "Webhook events queued or in flight.");
	g_string_append_printf(s, "egress_webhooks_pending %u\n",
	                       egw_webhooks_pending(w->webhooks));
	metric(s, "egress_spool_free_bytes", "gauge", "Free space of spool_dir's file system.");
	g_string_append_printf(s, "egress_spool_free_bytes %.0f\n", free_bytes(w->cfg->spool_dir));
	return g_string_free(s, FALSE);
}

/* Why the worker takes no job now; NULL when it does. */
static const char *not_ready(const egw_worker_t *w, char *buf, size_t size)
{
	if (w->counts.draining)
		return "draining";
	if (w->short_of[0])
		return w->short_of;
	if (!w->subscribed) {
		snprintf(buf, size,
		         "not in the jobs group (%d/%d jobs running, %d of %d mc in use)",
		         w->n_running, w->cfg->max_jobs, egw_worker_used_mc(w), w->budget_mc);
		return buf;
	}
	return NULL;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
	egw_metrics_t *m = cls;
	unsigned status = MHD_HTTP_OK;
	const char *type = "text/plain; charset=utf-8";
	char *body, why[256];
	(void)version, (void)upload, (void)upload_size, (void)con_cls;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		body = g_strdup("GET only\n");
	} else if (!strcmp(url, "/healthz")) {
		body = g_strdup("ok\n");
	} else if (!strcmp(url, "/readyz")) {
		const char *no = not_ready(m->w, why, sizeof(why));
		status = no ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
		body = no ? g_strdup_printf("not ready: %s\n", no) : g_strdup("ready\n");
	} else if (!strcmp(url, "/metrics")) {
		body = egw_metrics_render(m->w);
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		status = MHD_HTTP_NOT_FOUND;
		body = g_strdup("not found: /healthz, /readyz, /metrics\n");
	}
	struct MHD_Response *r =
	        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

egw_metrics_t *egw_metrics_start(egw_worker_t *w, const char *listen, char *errstr,
                                 size_t errstr_size)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const char *colon = strrchr(listen, ':');
	char host[64];
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;
	snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - listen) : 0, listen);
	if (!colon || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(errstr, errstr_size, "http_listen: '%s' is not IPV4:PORT", listen);
		return NULL;
	}
	sa.sin_port = htons((uint16_t)port);
	egw_metrics_t *m = g_new0(egw_metrics_t, 1);
	m->w = w;
	/* no thread flag: the worker's loop runs it (egw_metrics_poll) */
	m->daemon = MHD_start_daemon(MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, answer, m,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)32, MHD_OPTION_END);
	if (!m->daemon) {
		snprintf(errstr, errstr_size, "http_listen: cannot listen on %s", listen);
		g_free(m);
		return NULL;
	}
	EGW_LOG(NULL, INFO, "health and metrics on http://%s (/healthz, /readyz, /metrics)",
	        listen);
	return m;
}

void egw_metrics_poll(egw_metrics_t *m)
{
	if (m)
		MHD_run(m->daemon);
}

void egw_metrics_stop(egw_metrics_t *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	g_free(m);
}
