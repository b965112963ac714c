#include "worker/kafka.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "worker/kafka_int.h"

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
               size_t errstr_size)
{
	if (rd_kafka_conf_set(conf, name, value, errstr, errstr_size) != RD_KAFKA_CONF_OK)
		return -1;
	return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	EGW_LOG(NULL, WARN, "kafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* The egress a message is about, for logs: its key when that is printable. */
static void key_text(const rd_kafka_message_t *m, char *out, size_t size)
{
	size_t n = m->key ? m->key_len : 0;
	out[0] = '\0';
	if (n == 0 || n >= size)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)((const char *)m->key)[i] < 0x21 ||
		    (unsigned char)((const char *)m->key)[i] > 0x7e)
			return;
	memcpy(out, m->key, n);
	out[n] = '\0';
}

/* Delivery reports of the operator commands' producer (the worker's own
 * messages go through worker/outbox.h): failures are logged. */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	char key[EGW_KAFKA_KEY_LOG_MAX];
	(void)rk;
	(void)opaque;
	if (!m->err)
		return;
	key_text(m, key, sizeof(key));
	EGW_LOG(key[0] ? key : NULL, WARN, "message to %s not delivered: %s",
	        rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

/* Operator properties that only make sense for some roles: skipped for the
 * others (librdkafka would warn about each). */
static int applies(egw_kafka_role_t role, const char *name)
{
	static const char *const consumer_only[] = {
	        "session.",    "heartbeat.", "auto.offset", "partition.assignment", "fetch.",
	        "enable.auto", "max.poll",   "group.",      "auto.commit.",         "isolation.",
	};
	static const char *const producer_only[] = {
	        "message.timeout",
	        "enable.idempotence",
	        "acks",
	        "linger.",
	        "queue.buffering",
	        "batch.",
	        "compression",
	        "retries",
	        "retry.",
	        "delivery.",
	        "request.required.acks",
	};
	if (!strncmp(name, "transactional.", 14))
		return 0; /* the handover producer's own (kafka.c) */
	if (role == EGW_KAFKA_OUTBOX && !strncmp(name, "message.timeout", 15))
		return 0; /* never: see set_role() */
	if (role == EGW_KAFKA_PRODUCER || role == EGW_KAFKA_HANDOVER || role == EGW_KAFKA_OUTBOX) {
		for (size_t i = 0; i < sizeof(consumer_only) / sizeof(consumer_only[0]); i++)
			if (!strncmp(name, consumer_only[i], strlen(consumer_only[i])))
				return 0;
		return 1;
	}
	for (size_t i = 0; i < sizeof(producer_only) / sizeof(producer_only[0]); i++)
		if (!strncmp(name, producer_only[i], strlen(producer_only[i])))
			return 0;
	/* Only the jobs consumer takes group settings: the control group has
	 * its own group.id, the control reader none. */
	return role == EGW_KAFKA_JOBS || strncmp(name, "group.", 6);
}

static int set_group(rd_kafka_conf_t *conf, const egw_config_t *cfg, egw_kafka_role_t role,
                     egw_kafka_group_t **g, char *errstr, size_t errstr_size)
{
	char group[300];

	if (role == EGW_KAFKA_JOBS)
		snprintf(group, sizeof(group), "%s", cfg->consumer_group);
	else
		snprintf(group, sizeof(group), "%s.control", cfg->consumer_group);
	if (!(*g = egw_kafka_group_conf(conf,
	                                role == EGW_KAFKA_JOBS ? "jobs" : "control dead-letter"))) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	return set(conf, "group.id", group, errstr, errstr_size) ||
	       set(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
	       set(conf, "auto.offset.reset", "latest", errstr, errstr_size) ||
	       set(conf, "session.timeout.ms", "10000", errstr, errstr_size) ||
	       set(conf, "heartbeat.interval.ms", "1000", errstr, errstr_size) ||
	       /* handed-over starts count once their transaction commits */
	       set(conf, "isolation.level", "read_committed", errstr, errstr_size);
}

static int set_role(rd_kafka_conf_t *conf, const egw_config_t *cfg, egw_kafka_role_t role,
                    egw_kafka_group_t **g, char *errstr, size_t errstr_size)
{
	switch (role) {
	case EGW_KAFKA_JOBS:
	case EGW_KAFKA_CONTROL_GROUP:
		return set_group(conf, cfg, role, g, errstr, errstr_size);
	case EGW_KAFKA_CONTROL:
		/* No group: every worker reads every control message. */
		return set(conf, "group.id", "egress-control-unused", errstr, errstr_size) ||
		       set(conf, "enable.auto.commit", "false", errstr, errstr_size);
	case EGW_KAFKA_READER:
		return set(conf, "group.id", "egress-reader-unused", errstr, errstr_size) ||
		       set(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
		       set(conf, "enable.partition.eof", "true", errstr, errstr_size);
	case EGW_KAFKA_PRODUCER:
		/* (the operator commands) Idempotence: retries inside
		 * librdkafka never duplicate or reorder. */
		rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
		return set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
		       set(conf, "acks", "all", errstr, errstr_size) ||
		       set(conf, "linger.ms", "5", errstr, errstr_size) ||
		       set(conf, "message.timeout.ms", "300000", errstr, errstr_size);
	case EGW_KAFKA_OUTBOX:
		/* As the producer, but a message waits for the broker as long as
		 * it takes, in order: the outbox bounds how many are queued. */
		return set(conf, "enable.idempotence", "true", errstr, errstr_size) ||
		       set(conf, "acks", "all", errstr, errstr_size) ||
		       set(conf, "linger.ms", "5", errstr, errstr_size) ||
		       set(conf, "message.timeout.ms", "0", errstr, errstr_size);
	case EGW_KAFKA_HANDOVER: {
		/* One transactional id per worker: a second process with the same
		 * worker_id fences the first (its handovers stop, see handover.h).
		 * A transaction left open by a crash is aborted by the broker
		 * after 10 s, which also bounds how long it can hold back the
		 * partition it wrote to from read_committed consumers. */
		char id[300];
		snprintf(id, sizeof(id), "egress-handover-%s", cfg->worker_id);
		return set(conf, "transactional.id", id, errstr, errstr_size) ||
		       set(conf, "transaction.timeout.ms", "10000", errstr, errstr_size) ||
		       set(conf, "linger.ms", "0", errstr, errstr_size);
	}
	}
	return 0;
}

static rd_kafka_t *new_client(const egw_config_t *cfg, const char *brokers, egw_kafka_role_t role,
                              egw_kafka_dr_cb_t *dr_cb, void *opaque, char *errstr,
                              size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk = NULL;
	egw_kafka_group_t *g = NULL;
	char client_id[200];

	snprintf(client_id, sizeof(client_id), "egress-%s", cfg->worker_id);
	/* reconnect.backoff.max.ms: after a broker outage, reconnect within
	 * a second (the default backoff delays delivery by up to 10 s). */
	if (set(conf, "bootstrap.servers", brokers, errstr, errstr_size) ||
	    set(conf, "client.id", client_id, errstr, errstr_size) ||
	    set(conf, "log_level", "4", errstr, errstr_size) ||
	    set(conf, "reconnect.backoff.max.ms", "1000", errstr, errstr_size))
		goto fail;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	/* Stops and starts are latency-sensitive and tiny: do not let the
	 * broker hold fetches for the default 500 ms. */
	int producer = role == EGW_KAFKA_PRODUCER || role == EGW_KAFKA_HANDOVER ||
	               role == EGW_KAFKA_OUTBOX;
	if (!producer && set(conf, "fetch.wait.max.ms", "50", errstr, errstr_size))
		goto fail;
	if (set_role(conf, cfg, role, &g, errstr, errstr_size))
		goto fail;
	if (dr_cb) {
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
		rd_kafka_conf_set_opaque(conf, opaque);
	}
	/* Operator overrides last (EGRESS_KAFKA_*, kafka_props). */
	for (size_t i = 0; i < cfg->n_kafka_props; i++) {
		char name[256];
		const char *eq = strchr(cfg->kafka_props[i], '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - cfg->kafka_props[i]),
		         cfg->kafka_props[i]);
		if (applies(role, name) && set(conf, name, eq + 1, errstr, errstr_size))
			goto fail;
	}
	rk = rd_kafka_new(producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, errstr,
	                  errstr_size);
	if (!rk)
		goto fail;
	if (!producer)
		rd_kafka_poll_set_consumer(rk);
	return rk;
fail:
	rd_kafka_conf_destroy(conf);
	egw_kafka_group_free(g);
	return NULL;
}

rd_kafka_t *egw_kafka_new(const egw_config_t *cfg, const char *brokers, egw_kafka_role_t role,
                          char *errstr, size_t errstr_size)
{
	return new_client(cfg, brokers, role, NULL, NULL, errstr, errstr_size);
}

rd_kafka_t *egw_kafka_new_outbox(const egw_config_t *cfg, const char *brokers,
                                 egw_kafka_dr_cb_t *dr_cb, void *opaque, char *errstr,
                                 size_t errstr_size)
{
	return new_client(cfg, brokers, EGW_KAFKA_OUTBOX, dr_cb, opaque, errstr, errstr_size);
}

void egw_kafka_destroy(rd_kafka_t *rk)
{
	egw_kafka_group_t *g;
	if (!rk)
		return;
	/* (a group consumer's opaque is its group state; a producer's is
	 * its owner's) */
	g = rd_kafka_type(rk) == RD_KAFKA_CONSUMER ? rd_kafka_opaque(rk) : NULL;
	if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER)
		rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	egw_kafka_group_free(g);
}

egw_err_t egw_kafka_assign_all(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                               size_t errstr_size)
{
	return egw_kafka_assign_all_at(rk, topic, RD_KAFKA_OFFSET_END, timeout_ms, NULL, errstr,
	                               errstr_size);
}

egw_err_t egw_kafka_assign_all_at(rd_kafka_t *rk, const char *topic, int64_t offset, int timeout_ms,
                                  int *n_partitions, char *errstr, size_t errstr_size)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_topic_partition_list_t *parts = NULL;
	egw_err_t ret = EGW_ERR_KAFKA;
	rd_kafka_resp_err_t err;

	err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (err || md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1) {
		snprintf(errstr, errstr_size, "metadata for topic %s: %s", topic,
		         rd_kafka_err2str(err             ? err
		                          : md->topic_cnt ? md->topics[0].err
		                                          : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
		goto out;
	}
	parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (int i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)
		        ->offset = offset;
	if (n_partitions)
		*n_partitions = md->topics[0].partition_cnt;
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

egw_err_t egw_kafka_produce(rd_kafka_t *rk, const egw_kafka_msg_t *msg)
{
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
	rd_kafka_resp_err_t err;
	char key[EGW_KAFKA_KEY_LOG_MAX] = "";

	for (const char *const *h = msg->headers; h && h[0] && h[1]; h += 2)
		rd_kafka_header_add(hdrs, h[0], -1, h[1], -1);
	err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(msg->topic),
	                        RD_KAFKA_V_KEY(msg->key, msg->key ? msg->key_len : 0),
	                        RD_KAFKA_V_VALUE((void *)msg->value, msg->len),
	                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
	                        RD_KAFKA_V_END);
	if (err) {
		rd_kafka_headers_destroy(hdrs);
		if (msg->key && msg->key_len < sizeof(key))
			snprintf(key, sizeof(key), "%.*s", (int)msg->key_len, msg->key);
		EGW_LOG(key[0] ? key : NULL, ERROR, "producing to %s failed: %s", msg->topic,
		        rd_kafka_err2str(err));
		return EGW_ERR_KAFKA;
	}
	return EGW_OK;
}
