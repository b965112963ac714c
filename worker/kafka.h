/* Kafka clients of the worker: the jobs consumer (group member), the
 * control reader (every partition, no group) and the status producer.
 * locality: worker thread. */
#ifndef EGW_KAFKA_H
#define EGW_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "worker/config.h"
#include "base/err.h"

typedef enum egw_kafka_role {
	EGW_KAFKA_JOBS = 0,
	EGW_KAFKA_CONTROL,
	EGW_KAFKA_PRODUCER,
} egw_kafka_role_t;

/* A client for role, configured from cfg (brokers, extra properties). */
rd_kafka_t *egw_kafka_new(const egw_config_t *cfg, const char *brokers, egw_kafka_role_t role,
			  char *errstr, size_t errstr_size);

/* Assigns every partition of topic to the (group-less) consumer rk, from
 * the end of each partition. */
egw_err_t egw_kafka_assign_all(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
			       size_t errstr_size);

/* Produces value under key to topic; header (name, value) optional. */
egw_err_t egw_kafka_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *value,
			    size_t len, const char *header_name, const char *header_value);

#endif
