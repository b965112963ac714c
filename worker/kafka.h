/* Kafka clients of the worker: the jobs consumer (group member), the
 * control reader (every partition, no group), the control dead-letter
 * consumer (a small group: one member dead-letters each bad control
 * message) and the producer (status events, dead-letter copies).
 * locality: worker thread. Callbacks (rebalance, delivery reports) run in
 * rd_kafka_consumer_poll()/rd_kafka_poll() on that thread. */
#ifndef EGW_KAFKA_H
#define EGW_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "base/err.h"
#include "worker/config.h"

typedef enum egw_kafka_role {
	EGW_KAFKA_JOBS = 0,
	EGW_KAFKA_CONTROL,
	EGW_KAFKA_CONTROL_GROUP,
	EGW_KAFKA_PRODUCER,
	EGW_KAFKA_READER,   /* the operator commands: no group, end of partition reported */
	EGW_KAFKA_HANDOVER, /* transactional producer of handovers (worker/handover.h) */
	EGW_KAFKA_OUTBOX,   /* the worker's producer, under worker/outbox.h */
} egw_kafka_role_t;

/* A producer's delivery report callback (librdkafka's); opaque is the one
 * given to egw_kafka_new_outbox(). */
typedef void egw_kafka_dr_cb_t(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* Room for a message key in log lines ("<egress_id>/rejected"). */
#define EGW_KAFKA_KEY_LOG_MAX 80

/* One message to produce. */
typedef struct egw_kafka_msg {
	const char *topic;
	const char *key; /* NULL: no key */
	size_t key_len;
	const char *value;
	size_t len;
	const char *const *headers; /* name, value, name, value, ..., NULL; may be NULL */
	int final;                  /* a final status event (worker/outbox.h keeps it) */
} egw_kafka_msg_t;

/* A client for role, configured from cfg (brokers, extra properties).
 * Group consumers (jobs, control group) start a partition the group never
 * committed at its end, and commit that position at once (see docs/jobs.md). */
rd_kafka_t *egw_kafka_new(const egw_config_t *cfg, const char *brokers, egw_kafka_role_t role,
                          char *errstr, size_t errstr_size);

/* The outbox's producer: idempotent, acks from all replicas, and a message
 * never times out (message.timeout.ms 0, whatever the operator set):
 * delivery reports, success or a failure that waiting cannot cure, go to
 * dr_cb with opaque, in rd_kafka_poll(). */
rd_kafka_t *egw_kafka_new_outbox(const egw_config_t *cfg, const char *brokers,
                                 egw_kafka_dr_cb_t *dr_cb, void *opaque, char *errstr,
                                 size_t errstr_size);

/* Group consumers: retries what rebalances left to do (committing the
 * start offsets of partitions new to the group). Call it from the loop. */
void egw_kafka_group_poll(rd_kafka_t *rk);

/* Closes (consumers) and destroys a client made by egw_kafka_new(). */
void egw_kafka_destroy(rd_kafka_t *rk);

/* Assigns every partition of topic to the (group-less) consumer rk, from
 * the end of each partition. */
egw_err_t egw_kafka_assign_all(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                               size_t errstr_size);
/* The same from offset (RD_KAFKA_OFFSET_BEGINNING, _END); *n_partitions
 * (may be NULL) gets how many were assigned. */
egw_err_t egw_kafka_assign_all_at(rd_kafka_t *rk, const char *topic, int64_t offset,
                                  int timeout_ms, int *n_partitions, char *errstr,
                                  size_t errstr_size);

/* Queues msg (copied) on a producer made by egw_kafka_new(); delivery
 * failures are logged. */
egw_err_t egw_kafka_produce(rd_kafka_t *rk, const egw_kafka_msg_t *msg);

#endif
