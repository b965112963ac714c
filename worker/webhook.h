/* Webhooks: every status event of an egress whose request has a `webhook`
 * is POSTed to its URL as well, signed, in order per egress, at least
 * once (retried with backoff for a window), never holding up the worker's
 * loop, the status topic or another egress's webhooks: each egress has its
 * own queue, with one request in flight.
 *
 * Body: {"event": "egress.started" | "egress.updated" | "egress.ended" |
 * "egress.failed", "id": "<egress_id>.<ms>.<n>", "egress": <the status event>}
 * (ms: when it was queued; n counts this worker's events of the egress).
 * Headers: Egress-Event, Egress-Event-Id, Egress-Timestamp (unix seconds,
 * at each attempt) and, with a secret, Egress-Signature: v1=<hex
 * HMAC-SHA256(secret, timestamp "." body)>.
 *
 * The client runs on a GLib context of its own, driven by
 * egw_webhooks_poll() from the worker's loop.
 * locality: the worker thread. */
#ifndef EGW_WEBHOOK_H
#define EGW_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>

typedef struct egw_webhooks egw_webhooks_t;

typedef struct egw_webhooks_conf {
	int retry_window_s; /* how long one event is retried */
	int timeout_ms;     /* one attempt */
	/* Events not delivered yet are kept here (one file each, 0600) and
	 * sent again by the next instance on the same directory (the retry
	 * window starts again); NULL: in memory only. */
	const char *dir;
} egw_webhooks_conf_t;

egw_webhooks_t *egw_webhooks_new(const egw_webhooks_conf_t *conf);
/* Queues status event ev (borrowed) for url; secret may be NULL. Events
 * that are no state of the egress (rejected) are not sent. */
void egw_webhooks_post(egw_webhooks_t *h, const char *url, const char *secret, json_t *ev);
/* Runs what is ready, without waiting. */
void egw_webhooks_poll(egw_webhooks_t *h);
/* Events queued or in flight. */
unsigned egw_webhooks_pending(const egw_webhooks_t *h);
/* Stops sending; what is still queued stays in the directory (logged). */
void egw_webhooks_free(egw_webhooks_t *h);

/* "v1=<hex>" for timestamp ts and body (g_free it). */
char *egw_webhook_signature(const char *secret, long long ts, const char *body, size_t len);
/* The webhook event a status is: egress.started (starting), egress.updated
 * (active, ending, uploading), egress.ended (complete, aborted),
 * egress.failed (failed); NULL for others. */
const char *egw_webhook_event(const char *status);

#endif
