/* Asynchronous HTTP on a GLib main context: one libcurl multi handle whose
 * sockets and timer are GSources of that context, so no request ever blocks
 * the loop that also drives media, stops and EOS.
 *
 * Lifetime rule: a request's callback runs on the client's context, at most
 * once, unless the request was cancelled first. The egw_http_req_t pointer is
 * valid until its callback starts or until egw_http_cancel(); owners keep
 * it, clear it at the start of the callback, and cancel it before they go
 * away. egw_http_free() cancels everything still in flight (no callback
 * after it returns); it may be called from inside a callback.
 * locality: the client's main context only. */
#ifndef EGW_HTTP_H
#define EGW_HTTP_H

#include <glib.h>
#include <stddef.h>

#include "base/err.h"

typedef struct egw_http egw_http_t;
typedef struct egw_http_req egw_http_req_t;

typedef struct egw_http_request {
	const char *method; /* "GET" (default), "POST", "PATCH", "DELETE", ... */
	const char *url;
	const char *body; /* with body_len; NULL: none */
	size_t body_len;
	const char *const *headers; /* "Name: value" lines, NULL-terminated */
	long timeout_ms;            /* whole transfer; 0: 30 s */
	long connect_timeout_ms;    /* 0: timeout_ms */
	size_t max_reply;           /* bytes; 0: 4 MiB */
	int take_body;              /* body was g_malloc'ed: the request owns it now (no copy) */
	const char *aws_sigv4;      /* libcurl's CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3"); NULL: none */
	const char *userpwd;        /* "user:password" (secret; the signing keys with aws_sigv4) */
	int body_fd; /* > 0: a 2xx answer's body is written to this descriptor (downloads),
	              * not kept (max_reply does not apply); other answers are kept */
} egw_http_request_t;

typedef struct egw_http_response {
	/* EGW_OK when a response arrived (whatever its status);
	 * EGW_ERR_SFU_UNREACHABLE when the server could not be reached or the
	 * connection broke; EGW_ERR_TIMEOUT when it did not answer in time;
	 * EGW_ERR_NOMEM; EGW_ERR_INTERNAL. */
	egw_err_t err;
	const char *errmsg; /* with err: what went wrong (no URL query) */
	long status;
	const char *body; /* NUL-terminated ("" when empty) */
	size_t body_len;
	const char *content_type; /* NULL when absent */
	const char *location;     /* Location header, NULL when absent */
	const char *etag;         /* ETag header without its quotes, NULL when absent */
	const char *content_md5;  /* Content-MD5 header (base64), NULL when absent */
	const char *link;         /* every Link header, joined by ", "; NULL when none */
	guint64 written;          /* with body_fd: bytes written to it */
} egw_http_response_t;

typedef void (*egw_http_done_fn)(void *user, const egw_http_response_t *res);

/* A client on ctx (NULL: the thread-default context at the time of the
 * call). */
egw_http_t *egw_http_new(GMainContext *ctx);
void egw_http_free(egw_http_t *h);

/* Starts a request; done(user, res) follows on the context. Returns NULL
 * only when the request could not even be queued: then done is never
 * called and errstr says why (a body taken with take_body is freed). */
egw_http_req_t *egw_http_send(egw_http_t *h, const egw_http_request_t *rq, egw_http_done_fn done,
			      void *user, char *errstr, size_t errstr_size);

/* Cancels a request in flight: its callback will not run. NULL ok. */
void egw_http_cancel(egw_http_req_t *r);

/* The context the client runs on. */
GMainContext *egw_http_context(const egw_http_t *h);

/* Number of requests in flight (tests, shutdown). */
unsigned egw_http_pending(const egw_http_t *h);

/* Runs one request to completion on a private context and returns when
 * done has run (for tools and tests; never on a loop that drives media). */
void egw_http_perform(const egw_http_request_t *rq, egw_http_done_fn done, void *user);

#endif
