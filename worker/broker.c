#include "worker/broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"

#define JOBS_PARTITIONS 4

struct egw_broker {
	rd_kafka_t *rk; /* owns the mock cluster */
	rd_kafka_mock_cluster_t *cluster;
};

egw_broker_t *egw_broker_start(const egw_config_t *cfg, char *errstr, size_t errstr_size)
{
	egw_broker_t *b = calloc(1, sizeof(*b));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const struct {
		const char *topic;
		int partitions;
	} topics[] = {
		{cfg->jobs_topic, JOBS_PARTITIONS},
		{cfg->control_topic, 1},
		{cfg->status_topic, JOBS_PARTITIONS},
		{cfg->deadletter_topic, 1},
	};

	if (!b || !conf) {
		snprintf(errstr, errstr_size, "out of memory");
		goto fail;
	}
	rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
	if (!(b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size)))
		goto fail;
	conf = NULL;
	if (!(b->cluster = rd_kafka_mock_cluster_new(b->rk, 1))) {
		snprintf(errstr, errstr_size, "could not start the mock Kafka cluster");
		goto fail;
	}
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		rd_kafka_resp_err_t err =
			rd_kafka_mock_topic_create(b->cluster, topics[i].topic, topics[i].partitions, 1);
		if (err) {
			snprintf(errstr, errstr_size, "creating topic %s: %s", topics[i].topic,
				 rd_kafka_err2str(err));
			goto fail;
		}
	}
	return b;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	egw_broker_stop(b);
	return NULL;
}

const char *egw_broker_bootstraps(const egw_broker_t *b)
{
	return rd_kafka_mock_cluster_bootstraps(b->cluster);
}

void egw_broker_stop(egw_broker_t *b)
{
	if (!b)
		return;
	if (b->cluster)
		rd_kafka_mock_cluster_destroy(b->cluster);
	if (b->rk)
		rd_kafka_destroy(b->rk);
	free(b);
}
