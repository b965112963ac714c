/* The operator's commands over Kafka, with the worker's configuration
 * (brokers, topics, librdkafka properties): submit a start, stop or update
 * an egress, watch status events, list egresses. Requests are validated
 * as a worker would before anything is produced: a bad job file never
 * reaches Kafka.
 * locality: the command's thread (a process of its own). */
#ifndef EGW_OPS_H
#define EGW_OPS_H

#include <signal.h>
#include <stddef.h>

#include "worker/config.h"

/* Exit statuses of the commands. */
#define EGW_OPS_OK 0
#define EGW_OPS_FAILED 1      /* watch: the egress failed */
#define EGW_OPS_INVALID 2     /* a request that a worker would refuse */
#define EGW_OPS_ABORTED 3     /* watch: the egress was aborted */
#define EGW_OPS_UNREACHABLE 4 /* the brokers, or a timeout */

typedef struct egw_ops_update {
	const char *layout; /* a name, or a custom layout's JSON */
	const char *const *add_urls, *const *remove_urls;
	size_t n_add, n_remove;
} egw_ops_update_t;

/* Produces the start request in path ("-": stdin) to the jobs topic, keyed
 * by its egress_id. */
int egw_ops_submit(const egw_config_t *cfg, const char *path);
/* A stop request (reason may be NULL) to the control topic. */
int egw_ops_stop(const egw_config_t *cfg, const char *egress_id, const char *reason);
/* An update_layout or update_stream request to the control topic. */
int egw_ops_update(const egw_config_t *cfg, const char *egress_id, const egw_ops_update_t *u);
/* Status events as JSON lines on stdout, from the start of the status
 * topic. With an egress_id: that egress's, until its final event (exit
 * EGW_OPS_OK complete, EGW_OPS_FAILED, EGW_OPS_ABORTED); without: every
 * one, until *stop. timeout_s > 0: give up after that long
 * (EGW_OPS_UNREACHABLE). */
int egw_ops_watch(const egw_config_t *cfg, const char *egress_id, double timeout_s,
                  volatile sig_atomic_t *stop);
/* The egresses the status topic shows running (all: every one), one line
 * each: id, status, worker, started_at, outputs. */
int egw_ops_list(const egw_config_t *cfg, int all);

#endif
