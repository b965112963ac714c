#include "worker/broker.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

egw_err_t egw_broker_set_down(egw_broker_t *b, int down)
{
	rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(b->cluster, -1)
				       : rd_kafka_mock_broker_set_up(b->cluster, -1);
	EGW_LOG(NULL, INFO, "broker %s%s%s", down ? "down" : "up", err ? ": " : "",
		err ? rd_kafka_err2str(err) : "");
	return err ? EGW_ERR_KAFKA : EGW_OK;
}

static void broker_command(egw_broker_t *b, char *line)
{
	line[strcspn(line, "\r")] = '\0';
	if (!strcmp(line, "down") || !strcmp(line, "up")) {
		if (egw_broker_set_down(b, line[0] == 'd'))
			printf("error %s failed\n", line);
		else
			printf("ok %s\n", line);
	} else if (line[0])
		printf("error unknown command (down, up)\n");
	fflush(stdout);
}

void egw_broker_serve(egw_broker_t *b, volatile sig_atomic_t *stop)
{
	char buf[256];
	size_t len = 0;
	int in_open = 1;

	while (!*stop) {
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		if (poll(&pfd, in_open ? 1 : 0, 200) <= 0 || !pfd.revents)
			continue;
		ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			in_open = 0; /* no more commands; keep serving */
			continue;
		}
		len += (size_t)n;
		buf[len] = '\0';
		char *start = buf, *nl;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			broker_command(b, start);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
		if (len == sizeof(buf) - 1)
			len = 0; /* a line too long to be a command */
	}
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
