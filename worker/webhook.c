/* Webhooks (see webhook.h). Per egress a FIFO of events; its head is in
 * flight or waiting for its retry, the rest wait behind it. A queue goes
 * away once empty. With a directory, each event is also a file there
 * (<ms>-<n>.json, mode 0600: it holds the secret) from the moment it is
 * queued until it is delivered or given up; a new instance on the same
 * directory queues them again, in their order. */
#include "worker/webhook.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/outbox.h"
#include "base/secret.h"
#include "http/http.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 60000

typedef struct hook_event {
	char *url, *secret, *body, *id;
	char *path; /* its file; NULL when not kept */
	const char *event;
	gint64 first_failure_us;
	int failures;
} hook_event_t;

typedef struct hook_queue {
	egw_webhooks_t *h;
	char *egress_id;
	GQueue events;
	egw_http_req_t *req; /* the head's attempt in flight */
	guint retry;         /* the head waits for its retry */
	unsigned seq;
} hook_queue_t;

struct egw_webhooks {
	egw_webhooks_conf_t conf;
	GMainContext *ctx;
	egw_http_t *http;
	GHashTable *queues; /* egress id -> hook_queue_t */
	GHashTable *seqs;   /* egress id -> last event number (kept: ids stay unique) */
	unsigned pending;
	char *dir;        /* where events wait to be delivered; NULL: memory only */
	unsigned counter; /* names the files */
};

const char *egw_webhook_event(const char *status)
{
	if (!status)
		return NULL;
	if (!strcmp(status, "starting"))
		return "egress.started";
	if (!strcmp(status, "active") || !strcmp(status, "ending") || !strcmp(status, "uploading"))
		return "egress.updated";
	if (!strcmp(status, "complete") || !strcmp(status, "aborted"))
		return "egress.ended";
	if (!strcmp(status, "failed"))
		return "egress.failed";
	return NULL;
}

char *egw_webhook_signature(const char *secret, long long ts, const char *body, size_t len)
{
	GHmac *mac = g_hmac_new(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret));
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "%lld.", ts);
	g_hmac_update(mac, (const guchar *)prefix, (gssize)strlen(prefix));
	g_hmac_update(mac, (const guchar *)body, (gssize)len);
	char *out = g_strdup_printf("v1=%s", g_hmac_get_string(mac));
	g_hmac_unref(mac);
	return out;
}

static void free_event(hook_event_t *e)
{
	if (!e)
		return;
	g_free(e->url);
	egw_secret_wipe(e->secret);
	g_free(e->secret);
	g_free(e->body);
	g_free(e->id);
	g_free(e->path);
	g_free(e);
}

/* An event name as one of the static strings. */
static const char *event_name(const char *s)
{
	static const char *const names[] = {"egress.started", "egress.updated", "egress.ended",
	                                    "egress.failed"};
	for (size_t i = 0; s && i < G_N_ELEMENTS(names); i++)
		if (!strcmp(s, names[i]))
			return names[i];
	return NULL;
}

/* Writes e to its file in the directory (0600, replaced atomically). */
static void keep(egw_webhooks_t *h, hook_event_t *e, const char *egress_id)
{
	GError *err = NULL;
	char *name, *data;
	json_t *j;
	if (!h->dir)
		return;
	name = g_strdup_printf("%013lld-%06u.json", (long long)(g_get_real_time() / 1000),
	                       ++h->counter % 1000000);
	e->path = g_build_filename(h->dir, name, NULL);
	g_free(name);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "egress_id", egress_id, "url", e->url, "event",
	              e->event, "id", e->id, "body", e->body);
	if (e->secret)
		json_object_set_new(j, "secret", json_string(e->secret));
	data = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!g_file_set_contents_full(e->path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
	                              &err)) {
		EGW_LOG(egress_id, WARN, "webhook %s kept in memory only: %s", e->id, err->message);
		g_error_free(err);
		g_free(e->path);
		e->path = NULL;
	}
	egw_secret_wipe(data);
	free(data);
}

static void forget(hook_event_t *e)
{
	if (e && e->path && g_unlink(e->path) && errno != ENOENT)
		EGW_LOG(NULL, WARN, "%s: %s", e->path, g_strerror(errno));
}

static void free_queue(gpointer p)
{
	hook_queue_t *q = p;
	hook_event_t *e;
	egw_http_cancel(q->req);
	if (q->retry)
		g_source_destroy(g_main_context_find_source_by_id(q->h->ctx, q->retry));
	while ((e = g_queue_pop_head(&q->events))) {
		if (e->path)
			EGW_LOG(q->egress_id, WARN,
			        "webhook %s (%s) not delivered yet: kept for the next start (%s)",
			        e->id, e->event, e->path);
		else
			EGW_LOG(q->egress_id, WARN,
			        "webhook %s (%s) not delivered: the worker stops", e->id, e->event);
		q->h->pending--;
		free_event(e);
	}
	g_free(q->egress_id);
	g_free(q);
}

static void send_head(hook_queue_t *q);

static gboolean on_retry(gpointer user)
{
	hook_queue_t *q = user;
	q->retry = 0;
	send_head(q);
	return G_SOURCE_REMOVE;
}

/* The head is done (delivered, or given up): the next one goes. */
static void next(hook_queue_t *q)
{
	hook_event_t *e = g_queue_pop_head(&q->events);
	forget(e);
	free_event(e);
	q->h->pending--;
	if (g_queue_is_empty(&q->events))
		g_hash_table_remove(q->h->queues, q->egress_id); /* frees q */
	else
		send_head(q);
}

static void on_answer(void *user, const egw_http_response_t *res)
{
	hook_queue_t *q = user;
	hook_event_t *e = g_queue_peek_head(&q->events);
	gint64 now = g_get_monotonic_time();
	char why[256];

	q->req = NULL;
	if (!res->err && res->status >= 200 && res->status < 300) {
		if (e->failures)
			EGW_LOG(q->egress_id, INFO,
			        "webhook %s delivered after %d failed attempt(s)", e->id,
			        e->failures);
		next(q);
		return;
	}
	if (res->err)
		snprintf(why, sizeof(why), "%s", res->errmsg ? res->errmsg : "no answer");
	else
		snprintf(why, sizeof(why), "HTTP %ld", res->status);
	if (!e->first_failure_us)
		e->first_failure_us = now;
	if (now - e->first_failure_us >= (gint64)q->h->conf.retry_window_s * G_USEC_PER_SEC) {
		EGW_LOG(q->egress_id, ERROR, "webhook %s (%s) given up after %d attempts: %s",
		        e->id, e->event, e->failures + 1, why);
		next(q);
		return;
	}
	int shift = MIN(e->failures, 10);
	double delay = MIN((double)BACKOFF_FIRST_MS * (1 << shift), (double)BACKOFF_MAX_MS) *
	               g_random_double_range(0.75, 1.25);
	e->failures++;
	EGW_LOG(q->egress_id, WARN, "webhook %s (%s): %s; retrying in %.1f s", e->id, e->event, why,
	        delay / 1000.0);
	GSource *t = g_timeout_source_new((guint)delay);
	g_source_set_callback(t, on_retry, q, NULL);
	q->retry = g_source_attach(t, q->h->ctx);
	g_source_unref(t);
}

static void send_head(hook_queue_t *q)
{
	hook_event_t *e = g_queue_peek_head(&q->events);
	long long ts = (long long)time(NULL);
	char *h_event = g_strdup_printf("Egress-Event: %s", e->event);
	char *h_id = g_strdup_printf("Egress-Event-Id: %s", e->id);
	char *h_ts = g_strdup_printf("Egress-Timestamp: %lld", ts);
	char *sig =
	        e->secret ? egw_webhook_signature(e->secret, ts, e->body, strlen(e->body)) : NULL;
	char *h_sig = sig ? g_strdup_printf("Egress-Signature: %s", sig) : NULL;
	const char *headers[] = {
	        "Content-Type: application/json", h_event, h_id, h_ts, h_sig, NULL};
	egw_http_request_t rq = {.method = "POST",
	                         .url = e->url,
	                         .body = e->body,
	                         .body_len = strlen(e->body),
	                         .headers = headers,
	                         .timeout_ms = q->h->conf.timeout_ms,
	                         .max_reply = 64 * 1024};
	char errstr[128];
	if (!(q->req = egw_http_send(q->h->http, &rq, on_answer, q, errstr, sizeof(errstr)))) {
		egw_http_response_t res = {.err = EGW_ERR_INTERNAL, .errmsg = errstr, .body = ""};
		on_answer(q, &res);
	}
	g_free(h_event);
	g_free(h_id);
	g_free(h_ts);
	g_free(sig);
	g_free(h_sig);
}

static void enqueue(egw_webhooks_t *h, const char *eid, hook_event_t *e)
{
	hook_queue_t *q = g_hash_table_lookup(h->queues, eid);
	if (!q) {
		q = g_new0(hook_queue_t, 1);
		q->h = h;
		q->egress_id = g_strdup(eid);
		g_queue_init(&q->events);
		g_hash_table_insert(h->queues, q->egress_id, q);
	}
	g_queue_push_tail(&q->events, e);
	h->pending++;
	if (g_queue_get_length(&q->events) == 1)
		send_head(q);
}

/* Queues the events an earlier instance left in the directory, oldest
 * first. */
static void reload(egw_webhooks_t *h)
{
	char **names = egw_outbox_names(h->dir, ".json"); /* (sorted the same way) */
	for (char **n = names; *n; n++) {
		char *path = g_build_filename(h->dir, *n, NULL);
		json_t *j = json_load_file(path, 0, NULL);
		const char *eid = json_string_value(json_object_get(j, "egress_id"));
		const char *event = event_name(json_string_value(json_object_get(j, "event")));
		const char *url = json_string_value(json_object_get(j, "url"));
		const char *id = json_string_value(json_object_get(j, "id"));
		const char *body = json_string_value(json_object_get(j, "body"));
		const char *secret = json_string_value(json_object_get(j, "secret"));
		if (!eid || !event || !url || !id || !body) {
			EGW_LOG(NULL, WARN, "%s: not a webhook event: removed", path);
			g_unlink(path);
		} else {
			hook_event_t *e = g_new0(hook_event_t, 1);
			e->url = g_strdup(url);
			e->secret = secret ? g_strdup(secret) : NULL;
			e->event = event;
			e->id = g_strdup(id);
			e->body = g_strdup(body);
			e->path = g_strdup(path);
			EGW_LOG(eid, INFO, "webhook %s (%s) left by an earlier run: sending it", id,
			        event);
			enqueue(h, eid, e);
		}
		if (secret)
			egw_secret_wipe((char *)secret);
		json_decref(j);
		g_free(path);
	}
	g_strfreev(names);
}

egw_webhooks_t *egw_webhooks_new(const egw_webhooks_conf_t *conf)
{
	egw_webhooks_t *h = g_new0(egw_webhooks_t, 1);
	h->conf = *conf;
	h->ctx = g_main_context_new();
	h->http = egw_http_new(h->ctx);
	h->queues = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, free_queue);
	h->seqs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (conf->dir && g_mkdir_with_parents(conf->dir, 0700))
		EGW_LOG(NULL, WARN, "webhooks: %s: %s (events are kept in memory only)", conf->dir,
		        g_strerror(errno));
	else if (conf->dir)
		h->dir = g_strdup(conf->dir);
	h->conf.dir = h->dir;
	if (h->dir)
		reload(h);
	return h;
}

void egw_webhooks_post(egw_webhooks_t *h, const char *url, const char *secret, json_t *ev)
{
	const char *status = json_string_value(json_object_get(ev, "status"));
	const char *eid = json_string_value(json_object_get(ev, "egress_id"));
	const char *name = egw_webhook_event(status);
	hook_event_t *e;
	json_t *body;

	if (!h || !url || !eid || !name)
		return;
	unsigned seq = GPOINTER_TO_UINT(g_hash_table_lookup(h->seqs, eid)) + 1;
	g_hash_table_replace(h->seqs, g_strdup(eid), GUINT_TO_POINTER(seq));
	e = g_new0(hook_event_t, 1);
	e->url = g_strdup(url);
	e->secret = secret && *secret ? g_strdup(secret) : NULL;
	e->event = name;
	/* unique across workers too (a resuming worker counts from 1 again) */
	e->id = g_strdup_printf("%s.%lld.%u", eid, (long long)(g_get_real_time() / 1000), seq);
	body = json_pack("{s:s, s:s, s:O}", "event", name, "id", e->id, "egress", ev);
	e->body = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(body);
	keep(h, e, eid);
	enqueue(h, eid, e);
}

void egw_webhooks_poll(egw_webhooks_t *h)
{
	if (h)
		while (g_main_context_iteration(h->ctx, FALSE))
			;
}

unsigned egw_webhooks_pending(const egw_webhooks_t *h)
{
	return h ? h->pending : 0;
}

void egw_webhooks_free(egw_webhooks_t *h)
{
	if (!h)
		return;
	g_hash_table_destroy(h->queues);
	g_hash_table_destroy(h->seqs);
	egw_http_free(h->http);
	g_main_context_unref(h->ctx);
	g_free(h->dir);
	g_free(h);
}
