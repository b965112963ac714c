#include "worker/kafka.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
	       size_t errstr_size)
{
	if (rd_kafka_conf_set(conf, name, value, errstr, errstr_size) != RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

/* Jobs consumer: log what the group gives and takes, then apply it. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	char list[256] = "";
	size_t n = 0;
	for (int i = 0; i < parts->cnt && n < sizeof(list) - 8; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", i ? "," : "",
				      (int)parts->elems[i].partition);
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		EGW_LOG(NULL, INFO, "jobs partitions assigned: [%s]", list);
		rd_kafka_assign(rk, parts);
	} else {
		EGW_LOG(NULL, INFO, "jobs partitions revoked: [%s]", list);
		rd_kafka_assign(rk, NULL);
	}
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	EGW_LOG(NULL, WARN, "kafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_t *egw_kafka_new(const egw_config_t *cfg, const char *brokers, egw_kafka_role_t role,
			  char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk = NULL;
	char client_id[200];

	snprintf(client_id, sizeof(client_id), "egress-%s", cfg->worker_id);
	if (set(conf, "bootstrap.servers", brokers, errstr, errstr_size) ||
	    set(conf, "client.id", client_id, errstr, errstr_size) ||
	    set(conf, "log_level", "4", errstr, errstr_size) ||
	    set(conf, "reconnect.backoff.max.ms", "1000", errstr, errstr_size))
		goto fail;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	/* Stops and starts are latency-sensitive and tiny: do not let the
	 * broker hold fetches for the default 500 ms. */
	if (role != EGW_KAFKA_PRODUCER && set(conf, "fetch.wait.max.ms", "50", errstr, errstr_size))
		goto fail;
	if (role == EGW_KAFKA_JOBS) {
		rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
		if (set(conf, "group.id", cfg->consumer_group, errstr, errstr_size) ||
		    set(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
		    set(conf, "auto.offset.reset", "earliest", errstr, errstr_size) ||
		    set(conf, "session.timeout.ms", "10000", errstr, errstr_size) ||
		    set(conf, "heartbeat.interval.ms", "1000", errstr, errstr_size))
			goto fail;
	} else if (role == EGW_KAFKA_CONTROL) {
		/* No group: every worker reads every control message. */
		if (set(conf, "group.id", "egress-control-unused", errstr, errstr_size) ||
		    set(conf, "enable.auto.commit", "false", errstr, errstr_size))
			goto fail;
	} else {
		if (set(conf, "acks", "all", errstr, errstr_size) ||
		    set(conf, "linger.ms", "5", errstr, errstr_size))
			goto fail;
	}
	/* Operator overrides last (EGRESS_KAFKA_*, kafka_props). */
	for (size_t i = 0; i < cfg->n_kafka_props; i++) {
		char name[256];
		const char *eq = strchr(cfg->kafka_props[i], '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - cfg->kafka_props[i]), cfg->kafka_props[i]);
		if (role != EGW_KAFKA_JOBS && strstr(name, "group."))
			continue;
		if (role == EGW_KAFKA_PRODUCER && (!strncmp(name, "session.", 8) ||
						   !strncmp(name, "heartbeat.", 10) ||
						   !strncmp(name, "auto.offset", 11)))
			continue;
		if (set(conf, name, eq + 1, errstr, errstr_size))
			goto fail;
	}
	rk = rd_kafka_new(role == EGW_KAFKA_PRODUCER ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf,
			  errstr, errstr_size);
	if (!rk)
		goto fail;
	if (role != EGW_KAFKA_PRODUCER)
		rd_kafka_poll_set_consumer(rk);
	return rk;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

egw_err_t egw_kafka_assign_all(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
			       size_t errstr_size)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_topic_partition_list_t *parts = NULL;
	egw_err_t ret = EGW_ERR_KAFKA;
	rd_kafka_resp_err_t err;

	err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (err || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
		snprintf(errstr, errstr_size, "metadata for topic %s: %s", topic,
			 rd_kafka_err2str(err ? err : md->topic_cnt ? md->topics[0].err
								     : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
		goto out;
	}
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)
			->offset = RD_KAFKA_OFFSET_END;
	if ((err = rd_kafka_assign(rk, parts))) {
		snprintf(errstr, errstr_size, "assigning %s: %s", topic, rd_kafka_err2str(err));
		goto out;
	}
	ret = EGW_OK;
out:
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	return ret;
}

egw_err_t egw_kafka_produce(rd_kafka_t *rk, const char *topic, const char *key, const char *value,
			    size_t len, const char *header_name, const char *header_value)
{
	rd_kafka_headers_t *hdrs;
	rd_kafka_resp_err_t err;

	hdrs = rd_kafka_headers_new(1);
	if (header_name)
		rd_kafka_header_add(hdrs, header_name, -1, header_value, -1);
	err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
				RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
				RD_KAFKA_V_VALUE((void *)value, len),
				RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
	if (err) {
		rd_kafka_headers_destroy(hdrs);
		EGW_LOG(key, ERROR, "producing to %s failed: %s", topic, rd_kafka_err2str(err));
		return EGW_ERR_KAFKA;
	}
	return EGW_OK;
}
