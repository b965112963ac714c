/* Janus Gateway REST client over the HTTP transport (libcurl + jansson).
 *
 * Every request runs on its own curl easy handle, so the long-poll and the
 * requests of other threads never share transfer state. The only shared
 * mutable fields are atomics (interrupt flag, transaction counter).
 * locality: any thread. */
#include "sfu/janus_api.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

/* Janus's HTTP transport answers a long-poll after at most 30 s. */
#define POLL_HOLD_MS 30000
/* Replies larger than this are refused (an SDP is a few kB). */
#define REPLY_MAX (4u << 20)
/* Longest base URL: request URLs append "/<session>/<handle>?maxev=N". */
#define URL_MAX 900
/* How often an interruptible transfer looks at the interrupt flag. */
#define INTERRUPT_SLICE_MS 50

struct egw_janus {
	char *url;          /* base URL, no trailing '/' */
	uint64_t session_id;
	int timeout_ms;
	atomic_int interrupted;
	atomic_uint_fast64_t txn_seq;
};

struct reply_buf {
	char *data;
	size_t len;
	int overflow;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	va_list ap;
	if (!errstr || !errstr_size)
		return;
	va_start(ap, fmt);
	vsnprintf(errstr, errstr_size, fmt, ap);
	va_end(ap);
}

/* Random 64 bits plus a per-session counter: unique even if getrandom()
 * fails. */
static void make_transaction(egw_janus_t *js, char *out, size_t size)
{
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)js;
	uint64_t seq = atomic_fetch_add(&js->txn_seq, 1);
	snprintf(out, size, "%016" PRIx64 "-%" PRIu64, rnd, seq);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply_buf *buf = userdata;
	size_t n = size * nmemb;
	if (buf->len + n > REPLY_MAX) {
		buf->overflow = 1;
		return 0;
	}
	char *grown = realloc(buf->data, buf->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + buf->len, ptr, n);
	buf->len += n;
	grown[buf->len] = '\0';
	buf->data = grown;
	return n;
}

/* Aborts the transfer once egw_janus_interrupt() was called. */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	egw_janus_t *js = clientp;
	return atomic_load(&js->interrupted) ? 1 : 0;
}

/* Drives one transfer through a private multi handle in short slices so
 * that on_progress() runs at least every INTERRUPT_SLICE_MS (an easy
 * perform only calls it about once a second while the socket is idle). */
static CURLcode perform_interruptible(CURL *curl)
{
	CURLM *multi = curl_multi_init();
	CURLcode result = CURLE_OUT_OF_MEMORY;
	int running = 1, queued;
	CURLMsg *msg;

	if (!multi || curl_multi_add_handle(multi, curl) != CURLM_OK)
		goto out;
	result = CURLE_RECV_ERROR;
	while (running) {
		if (curl_multi_perform(multi, &running) != CURLM_OK)
			goto out_remove;
		if (running && curl_multi_poll(multi, NULL, 0, INTERRUPT_SLICE_MS, NULL) != CURLM_OK)
			goto out_remove;
	}
	while ((msg = curl_multi_info_read(multi, &queued)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == curl)
			result = msg->data.result;
out_remove:
	curl_multi_remove_handle(multi, curl);
out:
	curl_multi_cleanup(multi);
	return result;
}

static CURL *new_handle(egw_janus_t *js, const char *url, long timeout_ms, struct reply_buf *buf,
			struct curl_slist *headers, char *curlerr)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return NULL;
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* ignore *_proxy variables */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)js->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, js);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	return curl;
}

/* Janus indents its JSON by default: log it on one line. */
static void log_reply(const char *what, const json_t *reply)
{
	char *line = json_dumps(reply, JSON_COMPACT);
	EGW_LOG(NULL, DEBUG, "janus %s: %.600s", what, line ? line : "?");
	free(line);
}

/* Describes a failed transfer. */
static egw_err_t transfer_error(CURLcode rc, const struct reply_buf *buf, const char *curlerr,
				const char *what, char *errstr, size_t errstr_size)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		seterr(errstr, errstr_size, "%s: interrupted", what);
		return EGW_ERR_TIMEOUT;
	}
	if (buf->overflow) {
		seterr(errstr, errstr_size, "%s: reply larger than %u bytes", what, REPLY_MAX);
		return EGW_ERR_SFU;
	}
	seterr(errstr, errstr_size, "%s: %s (%s)", what, curl_easy_strerror(rc),
	       curlerr[0] ? curlerr : "no details");
	return EGW_ERR_SFU_UNREACHABLE;
}

/* Parses a completed reply. A non-2xx status is an error unless the body
 * is a Janus error object, whose code and reason check_envelope() reports. */
static egw_err_t parse_reply(long status, const struct reply_buf *buf, const char *what,
			     json_t **reply, char *errstr, size_t errstr_size)
{
	json_error_t jerr;

	*reply = buf->data ? json_loads(buf->data, 0, &jerr) : NULL;
	if (status >= 200 && status <= 299 && *reply)
		return EGW_OK;
	if (*reply && json_object_get(*reply, "error"))
		return EGW_OK;
	if (status < 200 || status > 299)
		seterr(errstr, errstr_size, "%s: HTTP %ld: %.200s", what, status,
		       buf->data ? buf->data : "(empty body)");
	else
		seterr(errstr, errstr_size, "%s: HTTP %ld with invalid JSON: %s", what, status,
		       buf->data ? jerr.text : "empty body");
	json_decref(*reply);
	*reply = NULL;
	return EGW_ERR_SFU;
}

/* One HTTP exchange: POST body (or GET when body is NULL), parse the reply
 * as JSON into *reply. what names the request in error messages. */
static egw_err_t http_exchange(egw_janus_t *js, const char *url, const json_t *body,
			       long timeout_ms, int interruptible, const char *what,
			       json_t **reply, char *errstr, size_t errstr_size)
{
	struct reply_buf buf = {0};
	struct curl_slist *headers = NULL;
	char curlerr[CURL_ERROR_SIZE] = "";
	char *payload = NULL;
	CURL *curl = NULL;
	egw_err_t err = EGW_ERR_NOMEM;
	long status = 0;
	CURLcode rc;

	*reply = NULL;
	/* No "Expect: 100-continue" round trip before an SDP-sized body. */
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!headers || !curl_slist_append(headers, "Expect:") ||
	    !(curl = new_handle(js, url, timeout_ms, &buf, headers, curlerr)))
		goto out;
	if (body) {
		if (!(payload = json_dumps(body, JSON_COMPACT)))
			goto out;
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	}
	if (interruptible) {
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		rc = perform_interruptible(curl);
	} else {
		rc = curl_easy_perform(curl);
	}
	if (rc != CURLE_OK) {
		err = transfer_error(rc, &buf, curlerr, what, errstr, errstr_size);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	err = parse_reply(status, &buf, what, reply, errstr, errstr_size);
	if (err == EGW_OK)
		log_reply(what, *reply);
out:
	if (err == EGW_ERR_NOMEM)
		seterr(errstr, errstr_size, "%s: out of memory", what);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(payload);
	free(buf.data);
	return err;
}

/* Checks Janus's envelope: {"janus":"error"} becomes EGW_ERR_SFU with the
 * code and reason; a foreign transaction is refused. */
static egw_err_t check_envelope(const json_t *reply, const char *txn, const char *what,
				char *errstr, size_t errstr_size)
{
	const char *kind = json_string_value(json_object_get(reply, "janus"));
	const char *rtxn = json_string_value(json_object_get(reply, "transaction"));

	if (!kind) {
		seterr(errstr, errstr_size, "%s: reply without \"janus\" field", what);
		return EGW_ERR_SFU;
	}
	if (!strcmp(kind, "error")) {
		json_t *e = json_object_get(reply, "error");
		const char *reason = json_string_value(json_object_get(e, "reason"));
		seterr(errstr, errstr_size, "%s: Janus error %" JSON_INTEGER_FORMAT ": %s", what,
		       json_integer_value(json_object_get(e, "code")), reason ? reason : "(no reason)");
		return EGW_ERR_SFU;
	}
	if (txn && rtxn && strcmp(txn, rtxn)) {
		seterr(errstr, errstr_size, "%s: reply for transaction %s, expected %s", what, rtxn,
		       txn);
		return EGW_ERR_SFU;
	}
	return EGW_OK;
}

/* Sends request (stolen) to the session (handle_id 0) or to a handle, with
 * a fresh transaction, and returns the checked reply. */
static egw_err_t janus_call(egw_janus_t *js, uint64_t handle_id, json_t *request, const char *what,
			    json_t **reply, char *errstr, size_t errstr_size)
{
	char url[1024], txn[64];
	egw_err_t err = EGW_ERR_NOMEM;

	*reply = NULL;
	make_transaction(js, txn, sizeof(txn));
	if (!request || json_object_set_new(request, "transaction", json_string(txn)))
		goto out;
	if (!js->session_id)
		snprintf(url, sizeof(url), "%s", js->url);
	else if (!handle_id)
		snprintf(url, sizeof(url), "%s/%" PRIu64, js->url, js->session_id);
	else
		snprintf(url, sizeof(url), "%s/%" PRIu64 "/%" PRIu64, js->url, js->session_id,
			 handle_id);
	err = http_exchange(js, url, request, js->timeout_ms, 0, what, reply, errstr, errstr_size);
	if (err == EGW_OK)
		err = check_envelope(*reply, txn, what, errstr, errstr_size);
	if (err != EGW_OK) {
		json_decref(*reply);
		*reply = NULL;
	}
out:
	if (err == EGW_ERR_NOMEM)
		seterr(errstr, errstr_size, "%s: out of memory", what);
	json_decref(request);
	return err;
}

/* Reads data.id of a "success" reply (create, attach). */
static egw_err_t success_id(const json_t *reply, const char *what, uint64_t *id, char *errstr,
			    size_t errstr_size)
{
	const char *kind = json_string_value(json_object_get(reply, "janus"));
	json_t *jid = json_object_get(json_object_get(reply, "data"), "id");
	if (!kind || strcmp(kind, "success") || !json_is_integer(jid) ||
	    json_integer_value(jid) <= 0) {
		seterr(errstr, errstr_size, "%s: unexpected reply (no data.id)", what);
		return EGW_ERR_SFU;
	}
	*id = (uint64_t)json_integer_value(jid);
	return EGW_OK;
}

egw_janus_t *egw_janus_session_create(const char *url, int timeout_ms, egw_err_t *err,
				      char *errstr, size_t errstr_size)
{
	egw_janus_t *js = NULL;
	json_t *reply = NULL;
	egw_err_t e = EGW_ERR_NOMEM;
	size_t len;

	pthread_once(&curl_once, curl_init_once);
	if (!url || !*url || strlen(url) > URL_MAX || timeout_ms <= 0) {
		e = EGW_ERR_INVALID_REQUEST;
		seterr(errstr, errstr_size,
		       "create session: need a URL (at most %d characters) and a positive timeout",
		       URL_MAX);
		goto fail;
	}
	if (!(js = calloc(1, sizeof(*js))) || !(js->url = strdup(url))) {
		seterr(errstr, errstr_size, "create session: out of memory");
		goto fail;
	}
	len = strlen(js->url);
	while (len > 0 && js->url[len - 1] == '/')
		js->url[--len] = '\0';
	js->timeout_ms = timeout_ms;
	atomic_init(&js->interrupted, 0);
	atomic_init(&js->txn_seq, 1);

	e = janus_call(js, 0, json_pack("{s:s}", "janus", "create"), "create session", &reply,
		       errstr, errstr_size);
	if (e == EGW_OK)
		e = success_id(reply, "create session", &js->session_id, errstr, errstr_size);
	if (e != EGW_OK)
		goto fail;
	json_decref(reply);
	if (err)
		*err = EGW_OK;
	EGW_LOG(NULL, DEBUG, "janus session %" PRIu64 " created", js->session_id);
	return js;

fail:
	json_decref(reply);
	if (js)
		js->session_id = 0; /* nothing to destroy on the server */
	egw_janus_session_destroy(js);
	if (err)
		*err = e;
	return NULL;
}

void egw_janus_session_destroy(egw_janus_t *js)
{
	char errstr[256];
	json_t *reply = NULL;

	if (!js)
		return;
	if (js->session_id) {
		egw_err_t e = janus_call(js, 0, json_pack("{s:s}", "janus", "destroy"),
					 "destroy session", &reply, errstr, sizeof(errstr));
		if (e != EGW_OK)
			EGW_LOG(NULL, WARN, "%s", errstr);
		json_decref(reply);
	}
	free(js->url);
	free(js);
}

uint64_t egw_janus_session_id(const egw_janus_t *js)
{
	return js ? js->session_id : 0;
}

egw_err_t egw_janus_attach(egw_janus_t *js, const char *plugin, uint64_t *handle_id,
			   char *errstr, size_t errstr_size)
{
	json_t *reply = NULL;
	char what[128];
	egw_err_t err;

	if (!js || !plugin || !handle_id) {
		seterr(errstr, errstr_size, "attach: invalid arguments");
		return EGW_ERR_INTERNAL;
	}
	snprintf(what, sizeof(what), "attach %s", plugin);
	err = janus_call(js, 0, json_pack("{s:s, s:s}", "janus", "attach", "plugin", plugin),
			 what, &reply, errstr, errstr_size);
	if (err == EGW_OK)
		err = success_id(reply, what, handle_id, errstr, errstr_size);
	json_decref(reply);
	return err;
}

egw_err_t egw_janus_detach(egw_janus_t *js, uint64_t handle_id)
{
	json_t *reply = NULL;
	char errstr[256];
	egw_err_t err;

	if (!js || !handle_id)
		return EGW_ERR_INTERNAL;
	err = janus_call(js, handle_id, json_pack("{s:s}", "janus", "detach"), "detach", &reply,
			 errstr, sizeof(errstr));
	if (err != EGW_OK)
		EGW_LOG(NULL, WARN, "%s", errstr);
	json_decref(reply);
	return err;
}

/* A synchronous plugin reply may still be a refusal: plugindata.data
 * carries "error_code" and "error". */
static egw_err_t check_plugin_error(const json_t *reply, char *errstr, size_t errstr_size)
{
	json_t *pd = json_object_get(reply, "plugindata");
	json_t *data = json_object_get(pd, "data");
	json_t *code = json_object_get(data, "error_code");
	const char *plugin = json_string_value(json_object_get(pd, "plugin"));
	const char *msg = json_string_value(json_object_get(data, "error"));

	if (!code)
		return EGW_OK;
	seterr(errstr, errstr_size, "%s error %" JSON_INTEGER_FORMAT ": %s",
	       plugin ? plugin : "plugin", json_integer_value(code), msg ? msg : "(no message)");
	return EGW_ERR_SFU;
}

egw_err_t egw_janus_message(egw_janus_t *js, uint64_t handle_id, json_t *body, json_t *jsep,
			    json_t **response, char *errstr, size_t errstr_size)
{
	json_t *request = NULL, *reply = NULL;
	const char *req = json_string_value(json_object_get(body, "request"));
	char what[128];
	egw_err_t err;

	if (response)
		*response = NULL;
	if (!js || !handle_id || !json_is_object(body)) {
		seterr(errstr, errstr_size, "message: invalid arguments");
		return EGW_ERR_INTERNAL;
	}
	snprintf(what, sizeof(what), "message %s", req ? req : "(no request)");
	request = json_pack("{s:s, s:O}", "janus", "message", "body", body);
	if (request && jsep && json_object_set(request, "jsep", jsep)) {
		json_decref(request);
		request = NULL;
	}
	err = janus_call(js, handle_id, request, what, &reply, errstr, errstr_size);
	if (err == EGW_OK)
		err = check_plugin_error(reply, errstr, errstr_size);
	if (err == EGW_OK && response)
		*response = json_incref(reply);
	json_decref(reply);
	return err;
}

egw_err_t egw_janus_trickle(egw_janus_t *js, uint64_t handle_id, const char *candidate,
			    const char *sdp_mid, int sdp_mline_index)
{
	json_t *cand = NULL, *reply = NULL;
	char errstr[256];
	egw_err_t err;

	if (!js || !handle_id)
		return EGW_ERR_INTERNAL;
	if (!candidate) {
		cand = json_pack("{s:b}", "completed", 1);
	} else {
		cand = json_pack("{s:s, s:i}", "candidate", candidate, "sdpMLineIndex",
				 sdp_mline_index);
		if (cand && sdp_mid)
			json_object_set_new(cand, "sdpMid", json_string(sdp_mid));
	}
	err = janus_call(js, handle_id, cand ? json_pack("{s:s, s:o}", "janus", "trickle",
							 "candidate", cand)
					     : NULL,
			 "trickle", &reply, errstr, sizeof(errstr));
	if (err != EGW_OK)
		EGW_LOG(NULL, WARN, "%s", errstr);
	json_decref(reply);
	return err;
}

/* Appends one polled object to events unless it is a keepalive. An error
 * object (e.g. 458 "No such session") fails the poll. */
static egw_err_t take_event(json_t *events, json_t *ev, char *errstr, size_t errstr_size)
{
	const char *kind = json_string_value(json_object_get(ev, "janus"));
	egw_err_t err = check_envelope(ev, NULL, "poll", errstr, errstr_size);
	if (err != EGW_OK)
		return err;
	if (!strcmp(kind, "keepalive"))
		return EGW_OK;
	return json_array_append(events, ev) ? EGW_ERR_NOMEM : EGW_OK;
}

egw_err_t egw_janus_poll(egw_janus_t *js, int max_events, json_t **events, char *errstr,
			 size_t errstr_size)
{
	json_t *reply = NULL, *list = NULL, *ev;
	char url[1024];
	egw_err_t err = EGW_ERR_INTERNAL;
	size_t i;

	if (events)
		*events = NULL;
	if (!js || !events || !js->session_id) {
		seterr(errstr, errstr_size, "poll: invalid arguments");
		return err;
	}
	if (atomic_load(&js->interrupted)) {
		seterr(errstr, errstr_size, "poll: interrupted");
		return EGW_ERR_TIMEOUT;
	}
	snprintf(url, sizeof(url), "%s/%" PRIu64 "?maxev=%d", js->url, js->session_id,
		 max_events > 0 ? max_events : 1);
	err = http_exchange(js, url, NULL, POLL_HOLD_MS + 5000L + js->timeout_ms, 1, "poll", &reply,
			    errstr, errstr_size);
	if (err != EGW_OK)
		goto out;
	err = EGW_ERR_NOMEM;
	if (!(list = json_array()))
		goto out;
	/* maxev=1 answers one object, larger values an array. */
	if (json_is_array(reply)) {
		json_array_foreach(reply, i, ev)
			if ((err = take_event(list, ev, errstr, errstr_size)) != EGW_OK)
				goto out;
	} else if ((err = take_event(list, reply, errstr, errstr_size)) != EGW_OK) {
		goto out;
	}
	*events = list;
	list = NULL;
	err = EGW_OK;
out:
	json_decref(list);
	json_decref(reply);
	return err;
}

void egw_janus_interrupt(egw_janus_t *js)
{
	if (js)
		atomic_store(&js->interrupted, 1);
}
