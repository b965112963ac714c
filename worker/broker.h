/* The local Kafka broker: librdkafka's mock cluster, a real Kafka wire
 * protocol server on a loopback port. `egress broker` runs it standalone;
 * the worker runs it in-process when kafka_brokers is "embedded" (tests,
 * demos: nothing is persisted).
 * locality: created and destroyed by one thread; the cluster runs its own. */
#ifndef EGW_BROKER_H
#define EGW_BROKER_H

#include <signal.h>
#include <stddef.h>

#include "worker/config.h"
#include "base/err.h"

typedef struct egw_broker egw_broker_t;

/* Starts the cluster and creates the configured topics (the jobs topic with
 * several partitions so a consumer group can share it). */
egw_broker_t *egw_broker_start(const egw_config_t *cfg, char *errstr, size_t errstr_size);

/* "127.0.0.1:PORT" */
const char *egw_broker_bootstraps(const egw_broker_t *b);

/* Takes every broker of the cluster down (down != 0: connections are
 * closed and refused) or brings them back. A test facility. */
egw_err_t egw_broker_set_down(egw_broker_t *b, int down);

/* `egress broker`: runs until *stop, serving test commands read as lines
 * from stdin: "down" and "up" (egw_broker_set_down()), answered on stdout
 * "ok down" / "ok up" ("error ..." for anything else). End of stdin ends
 * the commands, not the broker. */
void egw_broker_serve(egw_broker_t *b, volatile sig_atomic_t *stop);

void egw_broker_stop(egw_broker_t *b);

#endif
