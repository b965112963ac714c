/* libcurl's multi interface driven by a GLib main context: curl tells us
 * which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it up
 * (CURLMOPT_TIMERFUNCTION); both become GSources of the client's context,
 * and finished transfers are handed to their callbacks from there. */
#include "http/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_REPLY (4u << 20)

struct egw_http {
	GMainContext *ctx;
	CURLM *multi;
	GSource *timer;
	egw_http_req_t *reqs; /* in flight */
	unsigned n_reqs;
	int dispatching; /* inside a callback */
	int dead;        /* freed while dispatching: finish later */
};

struct egw_http_req {
	egw_http_t *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	GString *reply;
	size_t max_reply;
	int overflow;
	int body_fd;      /* > 0: 2xx bodies go here */
	guint64 written;  /* to body_fd */
	int write_failed; /* errno of a failed write to body_fd, 0: none */
	char *location;
	char *etag;
	char *content_md5;
	GString *link; /* every Link header, joined by ", " */
	char errbuf[CURL_ERROR_SIZE];
	egw_http_done_fn done;
	void *user;
	egw_http_req_t *prev, *next;
};

struct sock {
	GSource *src;
};

static gsize curl_ready;

static void curl_once(void)
{
	if (g_once_init_enter(&curl_ready)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&curl_ready, 1);
	}
}

static int check_done(egw_http_t *h);

static void really_free(egw_http_t *h)
{
	if (h->timer) {
		g_source_destroy(h->timer);
		g_source_unref(h->timer);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi); /* sockets go through on_socket REMOVE */
	if (h->ctx)
		g_main_context_unref(h->ctx);
	g_free(h);
}

/* ---- sockets and timer ---- */

static gboolean on_fd(gint fd, GIOCondition cond, gpointer user)
{
	egw_http_t *h = user;
	int flags = 0, running = 0;
	if (cond & G_IO_IN)
		flags |= CURL_CSELECT_IN;
	if (cond & G_IO_OUT)
		flags |= CURL_CSELECT_OUT;
	if (cond & (G_IO_ERR | G_IO_HUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	check_done(h);
	return G_SOURCE_CONTINUE;
}

static void drop_sock(struct sock *s)
{
	g_source_destroy(s->src);
	g_source_unref(s->src);
	g_free(s);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	egw_http_t *h = userp;
	struct sock *s = socketp;
	GIOCondition cond = 0;

	if (s) { /* a new wish replaces the old watch */
		drop_sock(s);
		curl_multi_assign(h->multi, fd, NULL);
	}
	if (what == CURL_POLL_REMOVE)
		return 0;
	if (what & CURL_POLL_IN)
		cond |= G_IO_IN;
	if (what & CURL_POLL_OUT)
		cond |= G_IO_OUT;
	s = g_new0(struct sock, 1);
	s->src = g_unix_fd_source_new(fd, cond | G_IO_ERR | G_IO_HUP);
	g_source_set_callback(s->src, G_SOURCE_FUNC(on_fd), h, NULL);
	g_source_attach(s->src, h->ctx);
	curl_multi_assign(h->multi, fd, s);
	return 0;
}

static gboolean on_timeout(gpointer user)
{
	egw_http_t *h = user;
	int running = 0;
	g_source_unref(h->timer);
	h->timer = NULL; /* curl may set a new one right away */
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
	return G_SOURCE_REMOVE;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	egw_http_t *h = userp;
	if (h->timer) {
		g_source_destroy(h->timer);
		g_source_unref(h->timer);
		h->timer = NULL;
	}
	if (timeout_ms < 0)
		return 0;
	h->timer = g_timeout_source_new((guint)timeout_ms);
	g_source_set_callback(h->timer, on_timeout, h, NULL);
	g_source_attach(h->timer, h->ctx);
	return 0;
}

/* ---- requests ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
	egw_http_req_t *r = user;
	size_t n = size * nmemb;
	long status = 0;

	if (r->body_fd > 0 &&
	    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status >= 200 && status < 300) {
		for (size_t done = 0; done < n;) {
			ssize_t k = write(r->body_fd, ptr + done, n - done);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				r->write_failed = k < 0 ? errno : EIO;
				return 0;
			}
			done += (size_t)k;
		}
		r->written += n;
		return n;
	}
	if (r->reply->len + n > r->max_reply) {
		r->overflow = 1;
		return 0;
	}
	g_string_append_len(r->reply, ptr, (gssize)n);
	return n;
}

/* The value of header line buf (n bytes) when it is name (with its
 * colon), trimmed, and quotes removed when unquote; NULL otherwise. */
static char *header_value(const char *buf, size_t n, const char *name, int unquote)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(buf, name, k))
		return NULL;
	const char *v = buf + k;
	size_t len = n - k;
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (unquote && len >= 2 && v[0] == '"' && v[len - 1] == '"')
		v++, len -= 2;
	return g_strndup(v, len);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *user)
{
	egw_http_req_t *r = user;
	size_t n = size * nitems;
	char *v;
	if ((v = header_value(buf, n, "location:", 0))) {
		g_free(r->location);
		r->location = v;
	} else if ((v = header_value(buf, n, "etag:", 1))) {
		g_free(r->etag);
		r->etag = v;
	} else if ((v = header_value(buf, n, "content-md5:", 0))) {
		g_free(r->content_md5);
		r->content_md5 = v;
	} else if ((v = header_value(buf, n, "link:", 0))) {
		if (!r->link)
			r->link = g_string_new(v);
		else
			g_string_append_printf(r->link, ", %s", v);
		g_free(v);
	}
	return n;
}

static void unlink_req(egw_http_req_t *r)
{
	egw_http_t *h = r->h;
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	h->n_reqs--;
	curl_multi_remove_handle(h->multi, r->easy);
}

static void free_req(egw_http_req_t *r)
{
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	g_free(r->body);
	g_free(r->location);
	g_free(r->etag);
	g_free(r->content_md5);
	if (r->link)
		g_string_free(r->link, TRUE);
	if (r->reply)
		g_string_free(r->reply, TRUE);
	g_free(r);
}

static void describe(egw_http_req_t *r, CURLcode rc, egw_http_response_t *res, char *msg,
		     size_t msg_size)
{
	if (rc == CURLE_OK) {
		res->err = EGW_OK;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res->status);
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &res->content_type);
		res->body = r->reply->str;
		res->body_len = r->reply->len;
		res->location = r->location;
		res->etag = r->etag;
		res->content_md5 = r->content_md5;
		res->link = r->link ? r->link->str : NULL;
		res->written = r->written;
		return;
	}
	if (r->write_failed) {
		res->err = EGW_ERR_INTERNAL;
		snprintf(msg, msg_size, "cannot write the answer to its file: %s",
		         g_strerror(r->write_failed));
	} else if (r->overflow) {
		res->err = EGW_ERR_INTERNAL;
		snprintf(msg, msg_size, "reply larger than %zu bytes", r->max_reply);
	} else {
		res->err = rc == CURLE_OPERATION_TIMEDOUT  ? EGW_ERR_TIMEOUT
			   : rc == CURLE_OUT_OF_MEMORY ? EGW_ERR_NOMEM
						       : EGW_ERR_SFU_UNREACHABLE;
		snprintf(msg, msg_size, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
	}
	res->errmsg = msg;
	res->body = "";
}

/* Hands finished transfers to their callbacks. Returns 0 when the client
 * was freed by one of them. */
static int check_done(egw_http_t *h)
{
	CURLMsg *m;
	int left;
	h->dispatching++;
	while (!h->dead && (m = curl_multi_info_read(h->multi, &left))) {
		egw_http_req_t *r = NULL;
		char msg[CURL_ERROR_SIZE + 64];
		egw_http_response_t res = {0};
		if (m->msg != CURLMSG_DONE)
			continue;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		unlink_req(r);
		describe(r, rc, &res, msg, sizeof(msg));
		r->done(r->user, &res);
		free_req(r);
	}
	h->dispatching--;
	if (h->dead && !h->dispatching) {
		really_free(h);
		return 0;
	}
	return 1;
}

egw_http_t *egw_http_new(GMainContext *ctx)
{
	egw_http_t *h = g_new0(egw_http_t, 1);
	curl_once();
	h->ctx = g_main_context_ref(ctx ? ctx : g_main_context_ref_thread_default());
	if (!ctx)
		g_main_context_unref(h->ctx); /* ref_thread_default gave one already */
	h->multi = curl_multi_init();
	if (!h->multi) {
		really_free(h);
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

void egw_http_free(egw_http_t *h)
{
	if (!h || h->dead)
		return;
	while (h->reqs) {
		egw_http_req_t *r = h->reqs;
		unlink_req(r);
		free_req(r);
	}
	h->dead = 1;
	if (!h->dispatching)
		really_free(h);
}

static int set_request(egw_http_req_t *r, const egw_http_request_t *rq)
{
	CURL *e = r->easy;
	long timeout = rq->timeout_ms > 0 ? rq->timeout_ms : DEFAULT_TIMEOUT_MS;
	const char *method = rq->method ? rq->method : "GET";

	if (rq->body) /* first: a taken body is ours from here on, whatever fails */
		r->body = rq->take_body ? (char *)rq->body : g_memdup2(rq->body, rq->body_len);
	for (const char *const *hd = rq->headers; hd && *hd; hd++)
		if (!(r->headers = curl_slist_append(r->headers, *hd)))
			return -1;
	/* No "Expect: 100-continue" round trip before a small body. Not with
	 * SigV4: libcurl 7.88 signs the emptied "Expect:" as a header it then
	 * does not send, and the server finds the signature wrong; those
	 * requests keep libcurl's own rule (100-continue above 1 MiB). */
	if (!rq->aws_sigv4 && !(r->headers = curl_slist_append(r->headers, "Expect:")))
		return -1;
	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, ""); /* ignore *_proxy variables */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : timeout);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	if (rq->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	if (!strcmp(method, "POST") && !rq->body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	if (strcmp(method, "GET") && strcmp(method, "POST"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (rq->aws_sigv4)
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, rq->aws_sigv4);
	if (rq->userpwd)
		curl_easy_setopt(e, CURLOPT_USERPWD, rq->userpwd);
	return 0;
}

egw_http_req_t *egw_http_send(egw_http_t *h, const egw_http_request_t *rq, egw_http_done_fn done,
			      void *user, char *errstr, size_t errstr_size)
{
	egw_http_req_t *r = g_new0(egw_http_req_t, 1);

	if (!h || h->dead || !rq || !rq->url || !done) {
		snprintf(errstr, errstr_size, "http: invalid request");
		if (rq && rq->take_body)
			g_free((char *)rq->body);
		goto fail;
	}
	r->h = h;
	r->done = done;
	r->user = user;
	r->reply = g_string_new(NULL);
	r->max_reply = rq->max_reply ? rq->max_reply : DEFAULT_MAX_REPLY;
	r->body_fd = rq->body_fd;
	if (!(r->easy = curl_easy_init())) {
		if (rq->take_body)
			g_free((char *)rq->body);
		snprintf(errstr, errstr_size, "http: out of memory");
		goto fail;
	}
	if (set_request(r, rq)) {
		snprintf(errstr, errstr_size, "http: out of memory");
		goto fail;
	}
	if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		snprintf(errstr, errstr_size, "http: cannot start the transfer");
		goto fail;
	}
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	h->n_reqs++;
	return r;
fail:
	if (r->easy)
		curl_easy_cleanup(r->easy);
	r->easy = NULL;
	curl_slist_free_all(r->headers);
	g_free(r->body);
	if (r->reply)
		g_string_free(r->reply, TRUE);
	g_free(r);
	return NULL;
}

void egw_http_cancel(egw_http_req_t *r)
{
	if (!r)
		return;
	unlink_req(r);
	free_req(r);
}

GMainContext *egw_http_context(const egw_http_t *h)
{
	return h->ctx;
}

unsigned egw_http_pending(const egw_http_t *h)
{
	return h ? h->n_reqs : 0;
}

struct perform {
	egw_http_done_fn done;
	void *user;
	int finished;
};

static void perform_done(void *user, const egw_http_response_t *res)
{
	struct perform *p = user;
	p->done(p->user, res);
	p->finished = 1;
}

void egw_http_perform(const egw_http_request_t *rq, egw_http_done_fn done, void *user)
{
	GMainContext *ctx = g_main_context_new();
	struct perform p = {done, user, 0};
	char errstr[128];
	egw_http_t *h;

	g_main_context_push_thread_default(ctx);
	h = egw_http_new(ctx);
	if (!h || !egw_http_send(h, rq, perform_done, &p, errstr, sizeof(errstr))) {
		egw_http_response_t res = {.err = EGW_ERR_INTERNAL, .errmsg = "cannot start", .body = ""};
		done(user, &res);
		p.finished = 1;
	}
	while (!p.finished)
		g_main_context_iteration(ctx, TRUE);
	egw_http_free(h);
	g_main_context_pop_thread_default(ctx);
	g_main_context_unref(ctx);
}
