/* Handing a start this worker has no room for to another worker in well
 * under a second, without a group rebalance: the start is produced again
 * to a partition of the jobs topic that another member of the group owns,
 * and its offset here is committed, both in one Kafka transaction (the
 * copy is visible, to read_committed consumers, exactly when the original
 * is taken; a crash in between leaves the original, uncommitted). See
 * docs/architecture.md, "Handover".
 *
 * The transaction's calls wait on the network, so they run on a thread of
 * their own, one handover at a time; the worker does not read the jobs
 * topic meanwhile (a later offset committed before the transaction would
 * lose the start if it aborted). The result comes back through an
 * egw_life_t on a context the worker's loop iterates
 * (egw_handover_poll()), so the worker's state is only touched on the
 * worker's thread.
 * locality: worker thread (the transaction: the handover thread). */
#ifndef EGW_HANDOVER_H
#define EGW_HANDOVER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "worker/config.h"

/* Headers of a handed-over start: how many times it was handed over, and
 * the partitions whose owners had no room for it ("0,2,3"): each worker
 * adds its own, and hands over only to a partition not in the list, so a
 * start asks each member at most once; when none is left, the fleet is
 * full and the start stays in the group's hands. */
#define EGW_HANDOVER_HOPS_HEADER "egress-handover-hops"
#define EGW_HANDOVER_TRIED_HEADER "egress-handover-tried"

typedef struct egw_handover egw_handover_t;

typedef struct egw_handover_result {
	char egress_id[128];
	int ok;            /* handed over (the copy and the commit are in) */
	int fleet_full;    /* not tried: every other partition's owner had no room */
	int32_t partition; /* where it came from */
	int64_t offset;
	int32_t target; /* ok: where it went */
	int hops;       /* ok: the copy's hop count */
	double seconds; /* from begin to the transaction's end */
	char error[256];
} egw_handover_result_t;

typedef void (*egw_handover_done_fn)(void *opaque, const egw_handover_result_t *res);

/* A handover for the jobs consumer `jobs` (a group member), with its own
 * transactional producer (transactional.id egress-handover-<worker_id>). */
egw_handover_t *egw_handover_new(const egw_config_t *cfg, const char *brokers, rd_kafka_t *jobs,
                                 egw_handover_done_fn done, void *opaque, char *errstr,
                                 size_t errstr_size);

/* Non-zero while a handover runs (do not read the jobs topic). */
int egw_handover_busy(const egw_handover_t *h);

/* Non-zero once the producer failed for good (fenced by another worker
 * with the same worker_id, or a fatal error): no more handovers. */
int egw_handover_broken(const egw_handover_t *h);

/* Hands start m (of egress_id) over: its hop count (header) + 1, to a
 * partition neither this member owns nor a member that had no room for it
 * (header), chosen from egress_id and the hops (so a duplicate start, seen
 * by the same full workers, reaches the worker that runs the original).
 * 0: begun (done is called from egw_handover_poll() later); -1: busy or
 * broken, nothing begun. */
int egw_handover_begin(egw_handover_t *h, const rd_kafka_message_t *m, const char *egress_id);

/* Delivers a finished handover's result to done, without waiting. */
void egw_handover_poll(egw_handover_t *h);

/* Waits for a running handover (bounded by its timeouts) and frees. */
void egw_handover_free(egw_handover_t *h);

/* The hop count a start carries (0 without the header). */
int egw_handover_hops(const rd_kafka_message_t *m);

/* The partition a start with egress_id and hops goes to, among the n
 * candidate partitions in others (sorted); exposed for tests. */
int32_t egw_handover_pick(const char *egress_id, int hops, const int32_t *others, int n);

#endif
