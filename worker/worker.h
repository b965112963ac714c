/* The worker service: Kafka job intake (consumer group), control reader,
 * status producer, CPU admission (max_jobs) and job process supervision.
 * locality: one thread. */
#ifndef EGW_WORKER_H
#define EGW_WORKER_H

#include <signal.h>

#include "worker/config.h"

/* Runs until *stop becomes non-zero (set from a signal handler); then stops
 * every job gracefully. Returns the process exit status. */
int egw_worker_run(const egw_config_t *cfg, const char *config_path, volatile sig_atomic_t *stop);

#endif
