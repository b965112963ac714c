/* The local Kafka broker: librdkafka's mock cluster, a real Kafka wire
 * protocol server on a loopback port. `egress broker` runs it standalone;
 * the worker runs it in-process when no brokers are configured.
 * locality: created and destroyed by one thread; the cluster runs its own. */
#ifndef EGW_BROKER_H
#define EGW_BROKER_H

#include <stddef.h>

#include "worker/config.h"
#include "base/err.h"

typedef struct egw_broker egw_broker_t;

/* Starts the cluster and creates the configured topics (the jobs topic with
 * several partitions so a consumer group can share it). */
egw_broker_t *egw_broker_start(const egw_config_t *cfg, char *errstr, size_t errstr_size);

/* "127.0.0.1:PORT" */
const char *egw_broker_bootstraps(const egw_broker_t *b);

void egw_broker_stop(egw_broker_t *b);

#endif
