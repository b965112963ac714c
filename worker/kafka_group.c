/* Group consumers (jobs, control dead-letter): rebalances under both
 * protocols, and where a partition starts the first time the group gets it.
 * locality: worker thread (callbacks run in rd_kafka_consumer_poll()). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "worker/kafka_int.h"

#define OFFSETS_TIMEOUT_MS 5000

/* One per group consumer, its rd_kafka opaque. */
struct egw_kafka_group {
	char label[32];
	/* Start offsets (partition ends) not known to be committed yet. */
	rd_kafka_topic_partition_list_t *pending;
	time_t next_try;
	int warned;
};

void egw_kafka_list_partitions(const rd_kafka_topic_partition_list_t *parts, char *list,
                               size_t size)
{
	size_t n = 0;
	list[0] = '\0';
	for (int i = 0; i < parts->cnt && n + 16 < size; i++)
		n += (size_t)snprintf(list + n, size - n, "%s%d", i ? "," : "",
		                      (int)parts->elems[i].partition);
}

static void pending_remove(egw_kafka_group_t *g, const char *topic, int32_t partition)
{
	if (g->pending)
		rd_kafka_topic_partition_list_del(g->pending, topic, partition);
}

/* Commits the pending start offsets (asynchronously; offset_commit_cb
 * clears those that made it). A partition from which a message has been
 * consumed since is dropped: take() commits it, and an older offset must
 * never overwrite that. */
static void commit_pending(rd_kafka_t *rk, egw_kafka_group_t *g)
{
	rd_kafka_topic_partition_list_t *pos;
	rd_kafka_resp_err_t err;

	if (!g->pending || !g->pending->cnt)
		return;
	pos = rd_kafka_topic_partition_list_copy(g->pending);
	if (!rd_kafka_position(rk, pos))
		for (int i = 0; i < pos->cnt; i++)
			if (pos->elems[i].offset >= 0)
				pending_remove(g, pos->elems[i].topic, pos->elems[i].partition);
	rd_kafka_topic_partition_list_destroy(pos);
	g->next_try = time(NULL) + 1;
	if (g->pending->cnt && (err = rd_kafka_commit(rk, g->pending, 1)))
		EGW_LOG(NULL, WARN, "%s: committing start offsets: %s", g->label,
		        rd_kafka_err2str(err));
}

static void offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	egw_kafka_group_t *g = opaque;
	rd_kafka_topic_partition_t *p;

	for (int i = 0; offsets && i < offsets->cnt; i++) {
		const rd_kafka_topic_partition_t *c = &offsets->elems[i];
		if (!g->pending || c->err || err)
			continue;
		p = rd_kafka_topic_partition_list_find(g->pending, c->topic, c->partition);
		if (p && p->offset == c->offset)
			pending_remove(g, c->topic, c->partition);
	}
	if (g->pending && g->pending->cnt && !g->warned) {
		g->warned = 1;
		EGW_LOG(NULL, INFO, "%s: start offsets not committed yet (%s); retrying", g->label,
		        rd_kafka_err2str(err ? err : RD_KAFKA_RESP_ERR__FAIL));
	}
}

void egw_kafka_group_poll(rd_kafka_t *rk)
{
	egw_kafka_group_t *g = rd_kafka_opaque(rk);
	if (g && g->pending && g->pending->cnt && time(NULL) >= g->next_try)
		commit_pending(rk, g);
}

/* Where each newly assigned partition starts: at the group's committed
 * offset; a partition the group never committed starts at its end (the
 * policy of docs/jobs.md: a new group does not replay old starts), and that
 * end is committed (retried until it is), so the partition's later messages
 * are not skipped even if every member leaves the group before reading
 * them. Done here rather than by auto.offset.reset so that, once
 * "assigned" is logged, every message produced after it will be read. */
static void set_start_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts,
                              egw_kafka_group_t *g)
{
	rd_kafka_resp_err_t err;
	char list[256];
	int fresh = 0;

	if (parts->cnt == 0)
		return;
	if ((err = rd_kafka_committed(rk, parts, OFFSETS_TIMEOUT_MS))) {
		EGW_LOG(NULL, WARN, "%s: committed offsets unknown (%s); auto.offset.reset applies",
		        g->label, rd_kafka_err2str(err));
		return;
	}
	if (!g->pending)
		g->pending = rd_kafka_topic_partition_list_new(parts->cnt);
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *p = &parts->elems[i], *mine;
		int64_t lo, hi;
		if (!p->err && p->offset >= 0)
			continue;
		p->err = RD_KAFKA_RESP_ERR_NO_ERROR;
		/* Assigned again before our start offset was committed: keep
		 * it (the end may have moved past unread messages since). */
		if ((mine = rd_kafka_topic_partition_list_find(g->pending, p->topic,
		                                               p->partition))) {
			p->offset = mine->offset;
			continue;
		}
		p->offset = RD_KAFKA_OFFSET_INVALID;
		if (rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi,
		                                     OFFSETS_TIMEOUT_MS))
			continue; /* auto.offset.reset (latest) applies */
		p->offset = hi;
		pending_remove(g, p->topic, p->partition);
		rd_kafka_topic_partition_list_add(g->pending, p->topic, p->partition)->offset = hi;
		fresh = 1;
	}
	if (fresh) {
		egw_kafka_list_partitions(g->pending, list, sizeof(list));
		EGW_LOG(NULL, INFO, "%s: partitions [%s] start at their end (no committed offset)",
		        g->label, list);
		g->warned = 0;
	}
}

/* Logs what the group gives and takes, then applies it with the calls of
 * the group's rebalance protocol: incremental for COOPERATIVE (e.g.
 * partition.assignment.strategy=cooperative-sticky), else eager. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	egw_kafka_group_t *g = opaque;
	const char *proto = rd_kafka_rebalance_protocol(rk);
	int coop = proto && !strcmp(proto, "COOPERATIVE");
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;
	char list[256];

	egw_kafka_list_partitions(parts, list, sizeof(list));
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		set_start_offsets(rk, parts, g);
		if (coop)
			error = rd_kafka_incremental_assign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, parts);
		EGW_LOG(NULL, INFO, "%s partitions assigned: [%s]%s", g->label, list,
		        coop ? " (incremental)" : "");
		commit_pending(rk, g);
	} else {
		for (int i = 0; i < parts->cnt; i++)
			pending_remove(g, parts->elems[i].topic, parts->elems[i].partition);
		if (coop)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			aerr = rd_kafka_assign(rk, NULL);
		EGW_LOG(NULL, INFO, "%s partitions revoked: [%s]%s", g->label, list,
		        rd_kafka_assignment_lost(rk) ? " (lost)" : "");
	}
	if (error) {
		EGW_LOG(NULL, ERROR, "%s: applying the rebalance: %s", g->label,
		        rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	} else if (aerr)
		EGW_LOG(NULL, ERROR, "%s: applying the rebalance: %s", g->label,
		        rd_kafka_err2str(aerr));
}

egw_kafka_group_t *egw_kafka_group_conf(rd_kafka_conf_t *conf, const char *label)
{
	egw_kafka_group_t *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->label, sizeof(g->label), "%s", label);
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(conf, offset_commit_cb);
	rd_kafka_conf_set_opaque(conf, g);
	return g;
}

void egw_kafka_group_free(egw_kafka_group_t *g)
{
	if (!g)
		return;
	if (g->pending)
		rd_kafka_topic_partition_list_destroy(g->pending);
	free(g);
}
