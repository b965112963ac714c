/* Spare job processes, for bursts of starts. A job process spends most of
 * its way to the first media byte initialising GStreamer, loading plugins
 * and making its DTLS certificate; fifty of them doing it at once on two
 * cores take seconds each. The worker keeps `spare_jobs` processes that
 * have done all that already (`egress run - --lifeline --spare`) and
 * wait for a request on their lifeline; a start goes to a warm spare, so
 * it only joins the room. Each egress still has a process of its own.
 *
 * Spares are made one at a time, the next only once the last is warm, so
 * that refilling the pool takes at most one core's worth of warming from
 * the jobs that run; and none begins warming while a start taken in the
 * last few seconds is still on its way to its first media byte (a burst's
 * starts first, the pool after them). A spare that dies is replaced (after a
 * pause when they keep dying); spares are dismissed (their lifeline
 * closed) when the worker stops taking jobs.
 * locality: worker thread. */
#ifndef EGW_SPARES_H
#define EGW_SPARES_H

#include <poll.h>
#include <stddef.h>

#include "worker/jobproc.h"

typedef struct egw_spares egw_spares_t;

/* A pool of up to target spares of the job command cmd (copied; its
 * strings must outlive the pool). target 0: none. */
egw_spares_t *egw_spares_new(const egw_jobproc_cmd_t *cmd, int target);

/* Reads what the spares say, replaces those that died and tops the pool up
 * to target (want) or dismisses every spare (!want). starting: how many
 * starts taken in the last EGW_SPARES_QUIET_S seconds have not reached
 * their first media byte yet; while there are any no spare begins warming.
 * Call it from the loop. */
void egw_spares_tend(egw_spares_t *s, int want, int starting);

/* How long after a start it holds the pool's refill (at most). */
#define EGW_SPARES_QUIET_S 5.0

/* Descriptors to poll for the spares' output (at most max); how many. */
size_t egw_spares_pollfds(const egw_spares_t *s, struct pollfd *fds, size_t max);

/* A spare (a warm one if any) given egress_id and its request, taken out
 * of the pool; NULL when there is none (spawn one as before). */
egw_jobproc_t *egw_spares_take(egw_spares_t *s, const char *egress_id, const char *request,
                               size_t request_len);

/* Spares in the pool, and how many of them are warm. */
int egw_spares_count(const egw_spares_t *s, int *warm);

/* Dismisses every spare, waits a moment for them to exit, kills the rest. */
void egw_spares_free(egw_spares_t *s);

#endif
