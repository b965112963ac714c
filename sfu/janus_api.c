/* Janus Gateway REST client over the HTTP transport, asynchronous (see
 * janus_api.h). Requests carry a fresh transaction each; replies are
 * checked (envelope, transaction, plugin error) and classified by code. */
#include "sfu/janus_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"

/* Janus's HTTP transport answers a long-poll after at most 30 s. */
#define POLL_HOLD_MS 30000
#define POLL_MAXEV 10
/* Consecutive failed polls before the event stream counts as ended. */
#define POLL_TRIES 3
#define POLL_RETRY_MS 500
#define URL_MAX 900

struct call {
	egw_janus_t *js;
	egw_http_req_t *req;
	guint idle;            /* error delivered from an idle source */
	egw_err_t idle_err;
	int is_create;         /* keep the session id of the reply */
	egw_janus_cb cb;
	void *owner;
	char txn[48];
	char what[64];
	struct call *prev, *next;
};

struct egw_janus {
	egw_http_t *http;
	char *url;
	uint64_t session;
	int timeout_ms;
	char *log_id;
	struct call *calls;
	uint64_t txn_rand, txn_seq;
	/* long-poll */
	egw_http_req_t *poll;
	guint poll_retry;
	int poll_failures;
	egw_janus_event_cb on_event;
	void *event_user;
	/* teardown */
	int dispatching, dead;
	egw_http_req_t *bye;
	guint bye_idle;
	int own_http;
	void (*bye_done)(void *user);
	void *bye_user;
};

/* A timeout (0: idle) on the client's context. */
static guint later(egw_janus_t *js, guint ms, GSourceFunc fn, void *data)
{
	GSource *src = ms ? g_timeout_source_new(ms) : g_idle_source_new();
	guint id;
	g_source_set_callback(src, fn, data, NULL);
	id = g_source_attach(src, egw_http_context(js->http));
	g_source_unref(src);
	return id;
}

static void cancel_later(egw_janus_t *js, guint *id)
{
	GSource *src = *id ? g_main_context_find_source_by_id(egw_http_context(js->http), *id) : NULL;
	if (src)
		g_source_destroy(src);
	*id = 0;
}

egw_err_t egw_janus_classify(int code)
{
	switch (code) {
	case EGW_JANUS_VR_NO_SUCH_ROOM:
	case EGW_JANUS_VR_NO_SUCH_FEED:
		return EGW_ERR_NOT_FOUND;
	case EGW_JANUS_ERR_UNAUTHORIZED:
	case EGW_JANUS_VR_UNAUTHORIZED:
		return EGW_ERR_UNAUTHORIZED;
	default:
		return EGW_ERR_SFU;
	}
}

static void really_free(egw_janus_t *js)
{
	if (js->own_http)
		egw_http_free(js->http);
	g_free(js->url);
	g_free(js->log_id);
	g_free(js);
}

/* Runs a callback with the client protected from being freed under it.
 * Returns 0 when the client was freed meanwhile. */
static int enter(egw_janus_t *js)
{
	js->dispatching++;
	return 1;
}

static int leave(egw_janus_t *js)
{
	js->dispatching--;
	if (js->dead && !js->dispatching) {
		really_free(js);
		return 0;
	}
	return 1;
}

egw_janus_t *egw_janus_new(egw_http_t *http, const char *url, int timeout_ms,
			   const char *log_id)
{
	egw_janus_t *js;
	size_t len;

	if (!http || !url || !*url || strlen(url) > URL_MAX || timeout_ms <= 0)
		return NULL;
	js = g_new0(egw_janus_t, 1);
	js->http = http;
	js->url = g_strdup(url);
	len = strlen(js->url);
	while (len > 0 && js->url[len - 1] == '/')
		js->url[--len] = '\0';
	js->timeout_ms = timeout_ms;
	js->log_id = g_strdup(log_id);
	if (getrandom(&js->txn_rand, sizeof(js->txn_rand), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(js->txn_rand))
		js->txn_rand = (uint64_t)g_get_real_time() ^ (uintptr_t)js;
	return js;
}

uint64_t egw_janus_session(const egw_janus_t *js)
{
	return js ? js->session : 0;
}

/* ---- calls ---- */

static void unlink_call(struct call *c)
{
	egw_janus_t *js = c->js;
	if (c->prev)
		c->prev->next = c->next;
	else
		js->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

static void drop_call(struct call *c)
{
	unlink_call(c);
	egw_http_cancel(c->req);
	cancel_later(c->js, &c->idle);
	g_free(c);
}

/* Checks a parsed reply: the envelope, the transaction and a plugin-level
 * refusal. Fills r (err, code, errmsg into msg). */
static void check_reply(struct call *c, json_t *root, egw_janus_reply_t *r, char *msg,
			size_t msg_size)
{
	const char *kind = json_string_value(json_object_get(root, "janus"));
	const char *txn = json_string_value(json_object_get(root, "transaction"));
	json_t *pd = json_object_get(root, "plugindata");
	json_t *e;

	r->json = root;
	r->data = json_object_get(pd, "data");
	if (!kind) {
		snprintf(msg, msg_size, "%s: reply without \"janus\" field", c->what);
		r->err = EGW_ERR_SFU;
	} else if (!strcmp(kind, "error")) {
		e = json_object_get(root, "error");
		r->code = (int)json_integer_value(json_object_get(e, "code"));
		snprintf(msg, msg_size, "%s: Janus error %d: %s", c->what, r->code,
			 json_string_value(json_object_get(e, "reason")) ?: "(no reason)");
		r->err = egw_janus_classify(r->code);
	} else if (txn && strcmp(txn, c->txn)) {
		snprintf(msg, msg_size, "%s: reply for another transaction", c->what);
		r->err = EGW_ERR_SFU;
	} else if ((e = json_object_get(r->data, "error_code"))) {
		r->code = (int)json_integer_value(e);
		snprintf(msg, msg_size, "%s: %s error %d: %s", c->what,
			 json_string_value(json_object_get(pd, "plugin")) ?: "plugin", r->code,
			 json_string_value(json_object_get(r->data, "error")) ?: "(no message)");
		r->err = egw_janus_classify(r->code);
	} else {
		json_t *id = json_object_get(json_object_get(root, "data"), "id");
		r->id = json_is_integer(id) && json_integer_value(id) > 0
				? (uint64_t)json_integer_value(id)
				: 0;
		r->err = EGW_OK;
		return;
	}
	r->json = NULL;
	r->errmsg = msg;
}

static void finish_call(struct call *c, egw_janus_reply_t *r)
{
	egw_janus_t *js = c->js;
	unlink_call(c);
	if (c->is_create && !r->err) {
		js->session = r->id;
		if (!r->id) {
			r->err = EGW_ERR_SFU;
			r->errmsg = "create session: no session id in the reply";
		}
	}
	enter(js);
	if (c->cb)
		c->cb(c->owner, r);
	g_free(c);
	leave(js);
}

static void call_done(void *user, const egw_http_response_t *res)
{
	struct call *c = user;
	egw_janus_reply_t r = {0};
	json_error_t jerr;
	json_t *root = NULL;
	char msg[512];

	c->req = NULL;
	if (res->err) {
		snprintf(msg, sizeof(msg), "%s: %s", c->what, res->errmsg);
		r.err = res->err;
		r.errmsg = msg;
	} else if (!(root = json_loadb(res->body, res->body_len, 0, &jerr)) ||
		   !json_is_object(root)) {
		snprintf(msg, sizeof(msg), "%s: HTTP %ld with %s", c->what, res->status,
			 res->body_len ? "a reply that is not a JSON object" : "an empty reply");
		r.err = EGW_ERR_SFU;
		r.errmsg = msg;
	} else {
		check_reply(c, root, &r, msg, sizeof(msg));
		if (!r.err && (res->status < 200 || res->status > 299)) {
			snprintf(msg, sizeof(msg), "%s: HTTP %ld", c->what, res->status);
			r.err = EGW_ERR_SFU;
			r.errmsg = msg;
			r.json = r.data = NULL;
		}
	}
	if (r.err)
		EGW_LOG(c->js->log_id, DEBUG, "janus %s", r.errmsg);
	finish_call(c, &r);
	json_decref(root);
}

static gboolean call_failed_idle(gpointer p)
{
	struct call *c = p;
	egw_janus_reply_t r = {.err = c->idle_err, .errmsg = c->what};
	c->idle = 0;
	finish_call(c, &r);
	return G_SOURCE_REMOVE;
}

static void make_txn(egw_janus_t *js, char *out, size_t size)
{
	snprintf(out, size, "%016" PRIx64 "-%" PRIu64, js->txn_rand, ++js->txn_seq);
}

/* Sends request (stolen) to the session (handle 0) or a handle. */
static void call(egw_janus_t *js, uint64_t handle, json_t *request, const char *what,
		 egw_janus_cb cb, void *owner)
{
	struct call *c = g_new0(struct call, 1);
	char url[1024], errstr[128];
	char *body = NULL;

	c->js = js;
	c->cb = cb;
	c->owner = owner;
	snprintf(c->what, sizeof(c->what), "%s", what);
	make_txn(js, c->txn, sizeof(c->txn));
	c->next = js->calls;
	if (js->calls)
		js->calls->prev = c;
	js->calls = c;
	if (request)
		json_object_set_new(request, "transaction", json_string(c->txn));
	if (js->session && handle)
		snprintf(url, sizeof(url), "%s/%" PRIu64 "/%" PRIu64, js->url, js->session, handle);
	else if (js->session)
		snprintf(url, sizeof(url), "%s/%" PRIu64, js->url, js->session);
	else
		snprintf(url, sizeof(url), "%s", js->url);
	body = request ? json_dumps(request, JSON_COMPACT) : NULL;
	json_decref(request);
	if (body) {
		static const char *const hdrs[] = {"Content-Type: application/json", NULL};
		egw_http_request_t rq = {.method = "POST", .url = url, .body = body,
					 .body_len = strlen(body), .headers = hdrs,
					 .timeout_ms = js->timeout_ms};
		c->req = egw_http_send(js->http, &rq, call_done, c, errstr, sizeof(errstr));
	}
	free(body);
	if (!c->req) { /* report it like any failure: later, on the context */
		c->idle_err = EGW_ERR_NOMEM;
		snprintf(c->what, sizeof(c->what), "%s: cannot send the request", what);
		c->idle = later(js, 0, call_failed_idle, c);
	}
}

void egw_janus_create(egw_janus_t *js, egw_janus_cb cb, void *owner)
{
	call(js, 0, json_pack("{s:s}", "janus", "create"), "create session", cb, owner);
	js->calls->is_create = 1;
}

void egw_janus_attach(egw_janus_t *js, const char *plugin, egw_janus_cb cb, void *owner)
{
	char what[64];
	snprintf(what, sizeof(what), "attach %s", plugin);
	call(js, 0, json_pack("{s:s, s:s}", "janus", "attach", "plugin", plugin), what, cb, owner);
}

void egw_janus_message(egw_janus_t *js, uint64_t handle, json_t *body, json_t *jsep,
		       egw_janus_cb cb, void *owner)
{
	char what[64];
	json_t *rq;
	snprintf(what, sizeof(what), "%s",
		 json_string_value(json_object_get(body, "request")) ?: "message");
	rq = json_pack("{s:s, s:o}", "janus", "message", "body", body);
	if (rq && jsep)
		json_object_set_new(rq, "jsep", jsep);
	else
		json_decref(jsep);
	call(js, handle, rq, what, cb, owner);
}

void egw_janus_trickle(egw_janus_t *js, uint64_t handle, const char *candidate, int mline,
		       egw_janus_cb cb, void *owner)
{
	json_t *cand = candidate ? json_pack("{s:s, s:i}", "candidate", candidate, "sdpMLineIndex",
					     mline)
				 : json_pack("{s:b}", "completed", 1);
	call(js, handle, json_pack("{s:s, s:o}", "janus", "trickle", "candidate", cand), "trickle",
	     cb, owner);
}

void egw_janus_detach(egw_janus_t *js, uint64_t handle, egw_janus_cb cb, void *owner)
{
	call(js, handle, json_pack("{s:s}", "janus", "detach"), "detach", cb, owner);
}

void egw_janus_forget(egw_janus_t *js, void *owner)
{
	for (struct call *c = js->calls, *next; c; c = next) {
		next = c->next;
		if (c->owner == owner)
			drop_call(c);
	}
}

/* ---- events ---- */

static void poll_start(egw_janus_t *js);

static gboolean poll_retry(gpointer p)
{
	egw_janus_t *js = p;
	js->poll_retry = 0;
	poll_start(js);
	return G_SOURCE_REMOVE;
}

/* Hands one polled object to the listener unless it is a keepalive.
 * Returns 0 when the client went away meanwhile. */
static int deliver(egw_janus_t *js, json_t *ev)
{
	const char *kind = json_string_value(json_object_get(ev, "janus"));
	if (!kind || !strcmp(kind, "keepalive") || !js->on_event)
		return 1;
	enter(js);
	js->on_event(js->event_user, ev, NULL);
	return leave(js);
}

static void poll_ended(egw_janus_t *js, egw_janus_reply_t *r)
{
	EGW_LOG(js->log_id, WARN, "Janus events: %s", r->errmsg);
	if (js->on_event) {
		enter(js);
		js->on_event(js->event_user, NULL, r);
		leave(js);
	}
}

static void poll_done(void *user, const egw_http_response_t *res)
{
	egw_janus_t *js = user;
	egw_janus_reply_t r = {0};
	json_t *root = NULL, *ev;
	char msg[512];
	size_t i;

	js->poll = NULL;
	if (res->err) {
		r.err = res->err;
		snprintf(msg, sizeof(msg), "event poll: %s", res->errmsg);
	} else if (!(root = json_loadb(res->body, res->body_len, 0, NULL))) {
		r.err = EGW_ERR_SFU;
		snprintf(msg, sizeof(msg), "event poll: HTTP %ld without JSON", res->status);
	} else if (json_is_object(root) &&
		   !g_strcmp0(json_string_value(json_object_get(root, "janus")), "error")) {
		json_t *e = json_object_get(root, "error");
		r.code = (int)json_integer_value(json_object_get(e, "code"));
		r.err = egw_janus_classify(r.code);
		snprintf(msg, sizeof(msg), "event poll: Janus error %d: %s", r.code,
			 json_string_value(json_object_get(e, "reason")) ?: "(no reason)");
	}
	r.errmsg = msg;
	if (r.err) {
		json_decref(root);
		/* A lost session is final; a transport hiccup gets a few tries. */
		if (r.code == EGW_JANUS_ERR_SESSION_NOT_FOUND || ++js->poll_failures >= POLL_TRIES)
			poll_ended(js, &r);
		else
			js->poll_retry = later(js, POLL_RETRY_MS, poll_retry, js);
		return;
	}
	js->poll_failures = 0;
	enter(js);
	if (json_is_array(root)) {
		json_array_foreach(root, i, ev) {
			if (js->dead || !js->on_event)
				break;
			deliver(js, ev);
		}
	} else {
		deliver(js, root);
	}
	json_decref(root);
	if (leave(js) && js->on_event && !js->dead)
		poll_start(js);
}

static void poll_start(egw_janus_t *js)
{
	char url[1024], errstr[128];
	snprintf(url, sizeof(url), "%s/%" PRIu64 "?maxev=%d", js->url, js->session, POLL_MAXEV);
	egw_http_request_t rq = {.url = url, .timeout_ms = POLL_HOLD_MS + 5000L + js->timeout_ms,
				 .connect_timeout_ms = js->timeout_ms};
	js->poll = egw_http_send(js->http, &rq, poll_done, js, errstr, sizeof(errstr));
	if (!js->poll)
		js->poll_retry = later(js, POLL_RETRY_MS, poll_retry, js);
}

void egw_janus_listen(egw_janus_t *js, egw_janus_event_cb cb, void *user)
{
	js->on_event = cb;
	js->event_user = user;
	if (!js->poll && !js->poll_retry)
		poll_start(js);
}

static void stop_all(egw_janus_t *js)
{
	js->on_event = NULL;
	egw_http_cancel(js->poll);
	js->poll = NULL;
	cancel_later(js, &js->poll_retry);
	while (js->calls)
		drop_call(js->calls);
}

void egw_janus_free(egw_janus_t *js)
{
	if (!js || js->dead)
		return;
	stop_all(js);
	egw_http_cancel(js->bye);
	cancel_later(js, &js->bye_idle);
	js->dead = 1;
	if (!js->dispatching)
		really_free(js);
}

static void bye_finish(egw_janus_t *js)
{
	void (*done)(void *) = js->bye_done;
	void *user = js->bye_user;
	egw_janus_free(js);
	if (done)
		done(user);
}

static void bye_done(void *user, const egw_http_response_t *res)
{
	egw_janus_t *js = user;
	js->bye = NULL;
	if (res->err)
		EGW_LOG(js->log_id, WARN, "leaving Janus: %s (the session expires on its own)",
			res->errmsg);
	else
		EGW_LOG(js->log_id, DEBUG, "Janus session %" PRIu64 " destroyed", js->session);
	bye_finish(js);
}

static gboolean bye_now(gpointer p)
{
	egw_janus_t *js = p;
	js->bye_idle = 0;
	bye_finish(js);
	return G_SOURCE_REMOVE;
}

void egw_janus_goodbye(egw_janus_t *js, int timeout_ms, int own_http, void (*done)(void *user),
		       void *user)
{
	char url[1024], errstr[128], txn[48], *body;
	static const char *const hdrs[] = {"Content-Type: application/json", NULL};

	stop_all(js);
	js->own_http = own_http;
	js->bye_done = done;
	js->bye_user = user;
	if (js->session) {
		json_t *rq;
		make_txn(js, txn, sizeof(txn));
		rq = json_pack("{s:s, s:s}", "janus", "destroy", "transaction", txn);
		body = rq ? json_dumps(rq, JSON_COMPACT) : NULL;
		json_decref(rq);
		snprintf(url, sizeof(url), "%s/%" PRIu64, js->url, js->session);
		egw_http_request_t req = {.method = "POST", .url = url, .body = body,
					  .body_len = body ? strlen(body) : 0, .headers = hdrs,
					  .timeout_ms = timeout_ms};
		if (body)
			js->bye = egw_http_send(js->http, &req, bye_done, js, errstr, sizeof(errstr));
		free(body);
		if (js->bye)
			return;
	}
	js->bye_idle = later(js, 0, bye_now, js);
}
