/* The worker's messages to Kafka (status events, dead-letter copies): each
 * is a file in <spool_dir>/.outbox/ (base/outbox.h) from the moment it is
 * made until the broker acknowledged it, and they are produced in the
 * order they were made. An outage of any length, a full producer queue or
 * a worker killed in the middle loses none: at most OUTBOX_IN_FLIGHT are in
 * the producer's memory (which waits for the broker as long as it takes),
 * the rest wait on disk, and a worker that starts on the spool sends what
 * an earlier one (or an orphaned job process) left there, oldest first.
 * Delivery is at least once: a worker killed between an acknowledgement
 * and the file's removal sends that message again.
 * Bounded: past status_outbox_mb on disk the oldest waiting messages that
 * are not final events are dropped, each logged.
 * locality: worker thread (delivery reports come in egw_outbox_poll()). */
#ifndef EGW_WORKER_OUTBOX_H
#define EGW_WORKER_OUTBOX_H

#include "worker/config.h"
#include "worker/kafka.h"

typedef struct egw_outbox egw_outbox_t;

/* The outbox of cfg->spool_dir with its producer to brokers; it takes in
 * (and will send) what earlier instances left there. NULL with the reason
 * in errstr when the producer cannot be made. */
egw_outbox_t *egw_outbox_new(const egw_config_t *cfg, const char *brokers, char *errstr,
                             size_t errstr_size);

/* Queues msg (copied; msg->topic NULL: the status topic). Kept in memory
 * only, with a warning, when its file cannot be written. */
void egw_outbox_put(egw_outbox_t *o, const egw_kafka_msg_t *msg);

/* Delivery reports, the next messages to the producer, and (every few
 * seconds) files other processes left in the directory. */
void egw_outbox_poll(egw_outbox_t *o);

/* Messages not yet acknowledged (in the producer or waiting). */
unsigned egw_outbox_backlog(const egw_outbox_t *o);

/* Messages dropped to keep within status_outbox_mb. */
unsigned long long egw_outbox_dropped(const egw_outbox_t *o);

/* Gives the broker up to timeout_ms to take the backlog (at shutdown);
 * what it did not take stays on disk. Returns the backlog left. */
unsigned egw_outbox_flush(egw_outbox_t *o, int timeout_ms);

void egw_outbox_free(egw_outbox_t *o);

#endif
