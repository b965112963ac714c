/* The worker's state, shared by worker.c (loop, Kafka clients, admission,
 * supervision), intake.c (what each Kafka message leads to) and metrics.c
 * (what /metrics and /readyz show). Do not include outside those.
 * locality: worker thread. */
#ifndef EGW_WORKER_INT_H
#define EGW_WORKER_INT_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <time.h>

#include "base/err.h"
#include "contract/request.h"
#include "worker/config.h"
#include "worker/handover.h"
#include "worker/jobproc.h"
#include "worker/metrics.h"
#include "worker/outbox.h"
#include "worker/spares.h"
#include "worker/webhook.h"

/* A stopped job past stop_grace_s has closed its outputs as they were and
 * reported; one still there this much later is killed (worker_lost). */
#define EGW_KILL_AFTER_GRACE_S 2

#define EGW_EARLY_STOPS 64

typedef struct egw_worker {
	const egw_config_t *cfg;
	const char *config_path;
	rd_kafka_t *jobs;          /* jobs consumer (group cfg->consumer_group) */
	rd_kafka_t *control;       /* every control partition, no group: acts on stops */
	rd_kafka_t *control_group; /* group <consumer_group>.control: dead-letters */
	egw_outbox_t *outbox;      /* status events, dead-letter copies */
	egw_webhooks_t *webhooks;
	/* The webhook of the start request being taken (its refusals are
	 * sent there too); NULL otherwise. */
	const char *intake_hook_url, *intake_hook_secret;
	int subscribed;
	egw_jobproc_t *procs;
	int n_running;
	/* Stops that arrived before their start (ring buffer). */
	char early_stops[EGW_EARLY_STOPS][EGW_EGRESS_ID_MAX + 1];
	int early_next;
	time_t disk_checked; /* when the free disk space was last looked at */
	int short_said;      /* short_of was logged */
	char short_of[256];  /* why the worker takes no job, "" when it has room */
	/* Admission by cost (job/cost.h), in thousandths of a core: what jobs
	 * may use (capacity x max_utilisation_pct), and the cost of a start
	 * this worker had no room for and handed back to the group (0: none);
	 * it rejoins the jobs group when that much is free. */
	int budget_mc, need_mc;
	int intake_cost_mc; /* the cost of the start being taken */
	/* Handing starts over (handover.h): NULL when it cannot be set up;
	 * handover_off once a handover failed or found the fleet full, until
	 * the worker has room again (it leaves the group meanwhile). */
	egw_handover_t *handover;
	egw_spares_t *spares; /* warm job processes for the next starts */
	int handover_off, handover_cost_mc;
	egw_metrics_counts_t counts;
	egw_metrics_t *metrics; /* NULL without http_listen */
} egw_worker_t;

/* A start request from the jobs topic (already committed). */
void egw_intake_job(egw_worker_t *w, const rd_kafka_message_t *m);

/* A message of the control topic, as every worker reads it: acts on valid
 * stop/update requests for its own egresses, ignores the rest. */
void egw_intake_control(egw_worker_t *w, const rd_kafka_message_t *m);

/* A message of the control topic, as the one control-group member that
 * owns its partition reads it: dead-letters what is invalid or misplaced. */
void egw_intake_control_duty(egw_worker_t *w, const rd_kafka_message_t *m);

/* Produces status event ev (stolen) keyed by key; terminal events must be
 * delivered. log: also log the status line. */
void egw_worker_publish(egw_worker_t *w, const char *key, json_t *ev, int log);

/* Reports status (no outputs) for egress_id; ended_at set when terminal. */
void egw_worker_report(egw_worker_t *w, const char *egress_id, const char *status, egw_err_t err,
                       const char *message);

egw_jobproc_t *egw_worker_find_proc(egw_worker_t *w, const char *egress_id);

/* Jobs that record media (those that only upload do not count). */
int egw_worker_media_jobs(const egw_worker_t *w);

/* The expected CPU of the recording jobs running (mc). */
int egw_worker_used_mc(const egw_worker_t *w);

/* Whether the start in m fits this worker (max_jobs, budget); when it
 * does not, m is handed over to another worker (handover.h), or left for
 * the group (sought back, not committed, need_mc set). A message that is
 * no valid start fits (intake reports it). */
int egw_intake_fits(egw_worker_t *w, const rd_kafka_message_t *m);

/* Non-zero (and w->short_of says why) when the spool or storage file
 * system has less than min_free_disk_mb free, or the machine less memory
 * available than min_free_memory_mb; looked at every few seconds
 * (now: at once). */
int egw_worker_short_of(egw_worker_t *w, int now);

#endif
