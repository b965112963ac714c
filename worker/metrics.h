/* The worker's health and metrics over HTTP (libmicrohttpd), when
 * http_listen is set:
 *
 *   GET /healthz   200 while the worker's loop runs (it answers from it)
 *   GET /readyz    200 when it takes jobs (in the jobs group), else 503
 *                  saying why (full, draining, disk low, connecting)
 *   GET /metrics   Prometheus text format (docs/operations.md)
 *
 * The daemon has no thread of its own: egw_metrics_poll(), called from the
 * worker's loop, serves what is ready without waiting, so every handler
 * reads the worker's state on the worker's thread.
 * locality: worker thread. */
#ifndef EGW_METRICS_H
#define EGW_METRICS_H

#include <stddef.h>

struct egw_worker;
typedef struct egw_metrics egw_metrics_t;

/* Output kinds and states counted from the jobs' state events. */
#define EGW_METRICS_OUTPUT_KINDS 2 /* stream, websocket */
#define EGW_METRICS_OUTPUT_STATES                                                                  \
	6 /* connecting, active, reconnecting, failed, removed, complete */

/* Buckets of the start latency histogram (seconds). */
#define EGW_METRICS_LATENCY_BUCKETS 8

/* Counters the worker keeps (in egw_worker_t). */
typedef struct egw_metrics_counts {
	unsigned long long started, complete, failed, aborted;
	unsigned long long latency_bucket[EGW_METRICS_LATENCY_BUCKETS]; /* cumulative at render */
	unsigned long long latency_count;
	double latency_sum;
	unsigned long long handovers, handover_failures;
	unsigned long long output_states[EGW_METRICS_OUTPUT_KINDS][EGW_METRICS_OUTPUT_STATES];
	unsigned long long output_failures; /* outputs that stopped while the egress went on */
	double handover_sum;
	int draining;
} egw_metrics_counts_t;

/* Listens on listen ("HOST:PORT"); NULL with errstr when it cannot. */
egw_metrics_t *egw_metrics_start(struct egw_worker *w, const char *listen, char *errstr,
                                 size_t errstr_size);
/* Serves what is ready, without waiting. */
void egw_metrics_poll(egw_metrics_t *m);
void egw_metrics_stop(egw_metrics_t *m);

/* Counts a status event the worker publishes. */
void egw_metrics_count_status(egw_metrics_counts_t *c, const char *status);
/* Counts the time from a job's start to its first media. */
void egw_metrics_count_latency(egw_metrics_counts_t *c, double seconds);

/* Counts what a job's status event says about its outputs (details of
 * active events: stream_state, websocket_state, output_failed). */
void egw_metrics_count_output(egw_metrics_counts_t *c, const char *event, const char *state);

/* Counts a handover (handover.h) and how long it took. */
void egw_metrics_count_handover(egw_metrics_counts_t *c, int ok, double seconds);

/* The /metrics text for w (g_free it); exposed for tests. */
char *egw_metrics_render(struct egw_worker *w);

#endif
