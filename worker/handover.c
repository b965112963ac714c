/* Handing a start over to another worker in one Kafka transaction (see
 * handover.h). */
#include "worker/handover.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/life.h"
#include "base/log.h"
#include "worker/kafka.h"

/* Each transactional call waits at most this long; the transaction itself
 * is aborted by the broker after transaction.timeout.ms (kafka.c). */
#define TXN_CALL_MS 5000

struct egw_handover {
	rd_kafka_t *producer; /* transactional; used by the handover thread only */
	rd_kafka_t *jobs;     /* the group member whose offsets are committed */
	char *topic;
	GMainContext *ctx;
	egw_life_t *life;
	GThread *thread; /* the running handover, joined when its result is in */
	int inited;      /* init_transactions done (handover thread, one at a time) */
	int broken;
	egw_handover_done_fn done;
	void *opaque;
};

/* One handover's request and result: made on the worker's thread, run on
 * the handover thread, handed back through the life. */
typedef struct job {
	egw_handover_t *h; /* on the thread: only producer, jobs, topic, inited */
	egw_life_t *life;
	void *payload, *key;
	size_t len, key_len;
	rd_kafka_headers_t *headers;
	int64_t timestamp; /* the original's, so the age limit still holds */
	rd_kafka_consumer_group_metadata_t *cgmd;
	int32_t *mine;
	int n_mine;
	char *tried; /* the header's value, "" when none */
	gint64 t0;
	egw_handover_result_t res;
	int fatal; /* the producer cannot go on */
} job_t;

static void job_free(void *data)
{
	job_t *j = data;
	g_free(j->payload);
	g_free(j->key);
	if (j->headers)
		rd_kafka_headers_destroy(j->headers);
	if (j->cgmd)
		rd_kafka_consumer_group_metadata_destroy(j->cgmd);
	g_free(j->mine);
	g_free(j->tried);
	egw_life_unref(j->life);
	g_free(j);
}

/* Header name's last value as a string (g_free), "" when absent. */
static char *header(const rd_kafka_message_t *m, const char *name)
{
	rd_kafka_headers_t *hdrs;
	const void *v;
	size_t n;

	if (rd_kafka_message_headers(m, &hdrs) || rd_kafka_header_get_last(hdrs, name, &v, &n) ||
	    !v || n > 4096)
		return g_strdup("");
	return g_strndup(v, n);
}

int egw_handover_hops(const rd_kafka_message_t *m)
{
	char *v = header(m, EGW_HANDOVER_HOPS_HEADER);
	int hops = atoi(v);
	g_free(v);
	return hops > 0 ? hops : 0;
}

int32_t egw_handover_pick(const char *egress_id, int hops, const int32_t *others, int n)
{
	uint32_t hash = 2166136261u; /* FNV-1a */
	for (const char *c = egress_id; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 16777619u;
	return n > 0 ? others[(hash + (uint32_t)hops) % (uint32_t)n] : -1;
}

static int owned(const job_t *j, int32_t partition)
{
	for (int i = 0; i < j->n_mine; i++)
		if (j->mine[i] == partition)
			return 1;
	return 0;
}

/* Whether partition is in the comma-separated list. */
static int listed(const char *list, int32_t partition)
{
	for (const char *c = list; *c;) {
		char *end;
		long v = strtol(c, &end, 10);
		if (end == c)
			return 0;
		if (v == partition)
			return 1;
		c = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* The tried list with this member's partitions added. */
static char *tried_with_mine(const job_t *j)
{
	GString *s = g_string_new(j->tried);
	for (int i = 0; i < j->n_mine; i++)
		if (!listed(j->tried, j->mine[i]))
			g_string_append_printf(s, "%s%d", s->len ? "," : "", (int)j->mine[i]);
	return g_string_free(s, FALSE);
}

/* The topic's partitions whose owners may have room (neither this member's
 * nor tried), sorted; -1 with res.error when the metadata cannot be had. */
static int others(job_t *j, int32_t **out, int *n_total)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(j->h->producer, j->h->topic, NULL);
	rd_kafka_resp_err_t err = rd_kafka_metadata(j->h->producer, 0, rkt, &md, TXN_CALL_MS);
	int n = 0;

	rd_kafka_topic_destroy(rkt);
	if (err || md->topic_cnt != 1 || md->topics[0].err) {
		snprintf(j->res.error, sizeof(j->res.error), "metadata of %s: %s", j->h->topic,
		         rd_kafka_err2str(err ? err : md->topics[0].err));
		if (md)
			rd_kafka_metadata_destroy(md);
		return -1;
	}
	*n_total = md->topics[0].partition_cnt;
	*out = g_new(int32_t, *n_total > 0 ? *n_total : 1);
	for (int id = 0; id < *n_total; id++) /* partition ids are 0..count-1 */
		if (!owned(j, id) && !listed(j->tried, id))
			(*out)[n++] = id;
	rd_kafka_metadata_destroy(md);
	return n;
}

/* err's text into res.error, and whether the producer is done for. */
static void failed(job_t *j, const char *what, rd_kafka_error_t *err)
{
	snprintf(j->res.error, sizeof(j->res.error), "%s: %s", what, rd_kafka_error_string(err));
	if (rd_kafka_error_is_fatal(err))
		j->fatal = 1;
	if (rd_kafka_error_txn_requires_abort(err)) {
		rd_kafka_error_t *a = rd_kafka_abort_transaction(j->h->producer, TXN_CALL_MS);
		if (a) { /* the outcome is unknown: the worker leaves the group */
			snprintf(j->res.error + strlen(j->res.error),
			         sizeof(j->res.error) - strlen(j->res.error), "; abort: %s",
			         rd_kafka_error_string(a));
			j->fatal = 1;
			rd_kafka_error_destroy(a);
		}
	}
	rd_kafka_error_destroy(err);
}

static void transact(job_t *j)
{
	rd_kafka_t *p = j->h->producer;
	rd_kafka_error_t *e;
	rd_kafka_resp_err_t err;
	rd_kafka_topic_partition_list_t *offsets;
	int32_t *cand = NULL;
	int n_total = 0, n;
	char hops[16], *tried;

	if (!j->h->inited) {
		if ((e = rd_kafka_init_transactions(p, TXN_CALL_MS)))
			return failed(j, "initialising transactions", e);
		j->h->inited = 1;
	}
	if ((n = others(j, &cand, &n_total)) < 0)
		return;
	if (n == 0) {
		j->res.fleet_full = j->tried[0] != '\0';
		snprintf(j->res.error, sizeof(j->res.error), "%s",
		         j->res.fleet_full ? "every other worker had no room for it either"
		                           : "this worker owns every partition of the jobs topic");
		g_free(cand);
		return;
	}
	j->res.target = egw_handover_pick(j->res.egress_id, j->res.hops, cand, n);
	g_free(cand);
	if ((e = rd_kafka_begin_transaction(p)))
		return failed(j, "beginning a transaction", e);
	snprintf(hops, sizeof(hops), "%d", j->res.hops);
	tried = tried_with_mine(j);
	rd_kafka_header_remove(j->headers, EGW_HANDOVER_HOPS_HEADER);
	rd_kafka_header_remove(j->headers, EGW_HANDOVER_TRIED_HEADER);
	rd_kafka_header_add(j->headers, EGW_HANDOVER_HOPS_HEADER, -1, hops, -1);
	rd_kafka_header_add(j->headers, EGW_HANDOVER_TRIED_HEADER, -1, tried, -1);
	g_free(tried);
	err = rd_kafka_producev(
	        p, RD_KAFKA_V_TOPIC(j->h->topic), RD_KAFKA_V_PARTITION(j->res.target),
	        RD_KAFKA_V_KEY(j->key, j->key_len), RD_KAFKA_V_VALUE(j->payload, j->len),
	        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(j->timestamp),
	        RD_KAFKA_V_HEADERS(j->headers), RD_KAFKA_V_END);
	if (err) { /* nothing was queued: the headers stay ours */
		snprintf(j->res.error, sizeof(j->res.error), "producing the copy: %s",
		         rd_kafka_err2str(err));
		if ((e = rd_kafka_abort_transaction(p, TXN_CALL_MS))) {
			j->fatal = 1;
			rd_kafka_error_destroy(e);
		}
		return;
	}
	j->headers = NULL; /* owned by the message now */
	offsets = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(offsets, j->h->topic, j->res.partition)->offset =
	        j->res.offset + 1;
	e = rd_kafka_send_offsets_to_transaction(p, offsets, j->cgmd, TXN_CALL_MS);
	rd_kafka_topic_partition_list_destroy(offsets);
	if (e)
		return failed(j, "committing the offset in the transaction", e);
	if ((e = rd_kafka_commit_transaction(p, TXN_CALL_MS)))
		return failed(j, "committing the transaction", e);
	j->res.ok = 1;
	/* The same offset committed the ordinary way: a no-op for a Kafka
	 * broker, which committed it with the transaction; librdkafka's mock
	 * cluster (the test world's broker) acknowledges transactional offset
	 * commits without storing them. */
	offsets = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(offsets, j->h->topic, j->res.partition)->offset =
	        j->res.offset + 1;
	if ((err = rd_kafka_commit(j->h->jobs, offsets, 0)))
		EGW_LOG(j->res.egress_id, WARN, "handed over; the offset's plain commit: %s",
		        rd_kafka_err2str(err));
	rd_kafka_topic_partition_list_destroy(offsets);
}

static void deliver(void *target, void *data)
{
	egw_handover_t *h = target;
	job_t *j = data;

	g_thread_join(h->thread); /* it queued this as its last act */
	h->thread = NULL;
	if (j->fatal)
		h->broken = 1;
	h->done(h->opaque, &j->res);
}

static gpointer run(gpointer data)
{
	job_t *j = data;
	transact(j);
	j->res.seconds = (double)(g_get_monotonic_time() - j->t0) / 1e6;
	egw_life_invoke(j->life, deliver, j, job_free);
	return NULL;
}

egw_handover_t *egw_handover_new(const egw_config_t *cfg, const char *brokers, rd_kafka_t *jobs,
                                 egw_handover_done_fn done, void *opaque, char *errstr,
                                 size_t errstr_size)
{
	egw_handover_t *h = g_new0(egw_handover_t, 1);
	if (!(h->producer = egw_kafka_new(cfg, brokers, EGW_KAFKA_HANDOVER, errstr, errstr_size))) {
		g_free(h);
		return NULL;
	}
	h->jobs = jobs;
	h->topic = g_strdup(cfg->jobs_topic);
	h->ctx = g_main_context_new();
	h->life = egw_life_new(h->ctx, h);
	h->done = done;
	h->opaque = opaque;
	return h;
}

int egw_handover_busy(const egw_handover_t *h)
{
	return h && h->thread;
}

int egw_handover_broken(const egw_handover_t *h)
{
	return !h || h->broken;
}

int egw_handover_begin(egw_handover_t *h, const rd_kafka_message_t *m, const char *egress_id)
{
	rd_kafka_topic_partition_list_t *mine = NULL;
	rd_kafka_headers_t *hdrs;
	job_t *j;

	if (!h || h->thread || h->broken)
		return -1;
	j = g_new0(job_t, 1);
	j->h = h;
	j->life = egw_life_ref(h->life);
	j->payload = g_memdup2(m->payload, m->len);
	j->len = m->len;
	j->key = m->key ? g_memdup2(m->key, m->key_len) : NULL;
	j->key_len = m->key ? m->key_len : 0;
	j->headers = rd_kafka_message_headers(m, &hdrs) ? rd_kafka_headers_new(1)
	                                                : rd_kafka_headers_copy(hdrs);
	j->timestamp = rd_kafka_message_timestamp(m, NULL);
	if (j->timestamp < 0)
		j->timestamp = 0; /* the producer's clock */
	j->cgmd = rd_kafka_consumer_group_metadata(h->jobs);
	if (!rd_kafka_assignment(h->jobs, &mine)) {
		j->mine = g_new(int32_t, mine->cnt > 0 ? mine->cnt : 1);
		for (int i = 0; i < mine->cnt; i++)
			if (!strcmp(mine->elems[i].topic, h->topic))
				j->mine[j->n_mine++] = mine->elems[i].partition;
	}
	if (mine)
		rd_kafka_topic_partition_list_destroy(mine);
	snprintf(j->res.egress_id, sizeof(j->res.egress_id), "%s", egress_id);
	j->res.partition = m->partition;
	j->res.offset = m->offset;
	j->res.target = -1;
	j->res.hops = egw_handover_hops(m) + 1;
	j->tried = header(m, EGW_HANDOVER_TRIED_HEADER);
	j->t0 = g_get_monotonic_time();
	h->thread = g_thread_new("egw-handover", run, j);
	return 0;
}

void egw_handover_poll(egw_handover_t *h)
{
	if (h)
		while (g_main_context_iteration(h->ctx, FALSE))
			;
}

void egw_handover_free(egw_handover_t *h)
{
	if (!h)
		return;
	if (h->thread) { /* its result is dropped with the life */
		g_thread_join(h->thread);
		h->thread = NULL;
	}
	egw_life_end(h->life);
	egw_handover_poll(h); /* runs the queued result's free */
	egw_kafka_destroy(h->producer);
	g_free(h->topic);
	g_main_context_unref(h->ctx);
	g_free(h);
}
