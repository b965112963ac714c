/* Shared by worker/kafka*.c only. locality: worker thread. */
#ifndef EGW_KAFKA_INT_H
#define EGW_KAFKA_INT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>

typedef struct egw_kafka_group egw_kafka_group_t;

/* Installs the rebalance and offset-commit callbacks of a group consumer
 * on conf, with a new state (labelled for logs) as the client's opaque.
 * Free it with egw_kafka_group_free() after the client is destroyed. */
egw_kafka_group_t *egw_kafka_group_conf(rd_kafka_conf_t *conf, const char *label);
void egw_kafka_group_free(egw_kafka_group_t *g);

/* "0,1,3" */
void egw_kafka_list_partitions(const rd_kafka_topic_partition_list_t *parts, char *list,
                               size_t size);

#endif
