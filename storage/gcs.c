/* The Cloud Storage store for service accounts (see gcs.h). A request is
 * a gcs_req: waiting for a token (in the store's queue, its arguments
 * kept), then carried by the S3 store (inner). */
#include "storage/gcs.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/secret.h"
#include "storage/gcs_jwt.h"
#include "storage/s3.h"

#define REFRESH_MARGIN_S 300 /* a token this close to its end is not used */
#define TOKEN_TIMEOUT_MS 30000

enum op { OP_PUT, OP_CREATE, OP_PART, OP_COMPLETE, OP_ABORT };

typedef struct gcs_store {
	egw_store_t base;
	egw_store_t *inner; /* the XML API, carrying the token */
	egw_gcs_account_t *account;
	char *bucket, *log_id;
	char *scheme, *host; /* of the endpoint: signed URLs */
	egw_http_req_t *token_req;
	gint64 token_end_us; /* monotonic; 0: no token */
	GSource *fetch_src;  /* a token fetch about to start */
	GQueue waiting;      /* gcs_req_t */
} gcs_store_t;

typedef struct gcs_req {
	gcs_store_t *s;
	egw_store_req_t *inner; /* once started */
	int queued;
	enum op op;
	char *key, *upload_id, *content_type, *md5;
	char *data; /* taken; until started */
	size_t len;
	int part, n_parts;
	char **etags, **md5s;
	egw_store_done_fn done;
	void *user;
} gcs_req_t;

static void free_req(gcs_req_t *r)
{
	g_free(r->key);
	g_free(r->upload_id);
	g_free(r->content_type);
	g_free(r->md5);
	g_free(r->data);
	g_strfreev(r->etags);
	g_strfreev(r->md5s);
	g_free(r);
}

static void on_inner(void *user, const egw_store_result_t *res)
{
	gcs_req_t *r = user;
	r->inner = NULL;
	r->done(r->user, res);
	free_req(r);
}

/* Hands r to the S3 store; 0 when it could not start. */
static int start(gcs_req_t *r)
{
	egw_store_t *in = r->s->inner;
	char *data = r->data;
	r->data = NULL;
	switch (r->op) {
	case OP_PUT:
		r->inner = in->ops->put(in, r->key, data, r->len, r->content_type, r->md5, on_inner,
		                        r);
		break;
	case OP_CREATE:
		r->inner = in->ops->create(in, r->key, r->content_type, on_inner, r);
		break;
	case OP_PART:
		r->inner = in->ops->part(in, r->key, r->upload_id, r->part, data, r->len, r->md5,
		                         on_inner, r);
		break;
	case OP_COMPLETE:
		r->inner = in->ops->complete(in, r->key, r->upload_id, r->etags, r->md5s,
		                             r->n_parts, r->content_type, on_inner, r);
		break;
	case OP_ABORT:
		r->inner = in->ops->abort(in, r->key, r->upload_id, on_inner, r);
		break;
	}
	return r->inner != NULL;
}

/* ---- the token ---- */

static void release(gcs_store_t *s, egw_err_t err, const char *message)
{
	gcs_req_t *r;
	while ((r = g_queue_pop_head(&s->waiting))) {
		r->queued = 0;
		if (!err && start(r))
			continue;
		egw_store_result_t res = {.err = err ? err : EGW_ERR_STORAGE_UNREACHABLE,
		                          .message = err ? message : "cannot start the request"};
		r->done(r->user, &res);
		free_req(r);
	}
}

static void on_token(void *user, const egw_http_response_t *res)
{
	gcs_store_t *s = user;
	egw_gcs_token_t tok = {0};
	char err[256], msg[512];
	egw_err_t e = EGW_OK;

	s->token_req = NULL;
	if (res->err) {
		e = EGW_ERR_STORAGE_UNREACHABLE;
		snprintf(msg, sizeof(msg), "%s: token endpoint: %s", s->base.where,
		         res->errmsg ? res->errmsg : "no answer");
	} else if (res->status >= 500 || res->status == 429 || res->status == 408) {
		e = EGW_ERR_STORAGE_UNREACHABLE;
		snprintf(msg, sizeof(msg), "%s: token endpoint: HTTP %ld", s->base.where,
		         res->status);
	} else if (egw_gcs_token_parse(res->body, res->body_len, &tok, err, sizeof(err))) {
		e = EGW_ERR_STORAGE;
		snprintf(msg, sizeof(msg), "%s: token endpoint (HTTP %ld): %s", s->base.where,
		         res->status, err);
	} else {
		egw_store_s3_set_bearer(s->inner, tok.access_token);
		s->token_end_us = g_get_monotonic_time() + (gint64)tok.expires_in * G_USEC_PER_SEC;
		EGW_LOG(s->log_id, INFO, "%s: access token for %s, valid %d s", s->base.where,
		        egw_gcs_account_email(s->account), tok.expires_in);
	}
	egw_gcs_token_clear(&tok);
	if (e)
		EGW_LOG(s->log_id, WARN, "%s", msg);
	release(s, e, msg);
}

static void fetch_token(gcs_store_t *s)
{
	char err[256], msg[512];
	char *jwt, *body;
	static const char *const headers[] = {"Content-Type: application/x-www-form-urlencoded",
	                                      NULL};

	if (s->token_req)
		return;
	if (!(jwt = egw_gcs_jwt_assertion(s->account, NULL, time(NULL), err, sizeof(err)))) {
		snprintf(msg, sizeof(msg), "%s: %s", s->base.where, err);
		release(s, EGW_ERR_STORAGE, msg);
		return;
	}
	body = egw_gcs_token_request_body(jwt);
	egw_secret_wipe(jwt);
	g_free(jwt);
	egw_http_request_t rq = {.method = "POST",
	                         .url = egw_gcs_account_token_uri(s->account),
	                         .body = body,
	                         .body_len = strlen(body),
	                         .take_body = 1,
	                         .headers = headers,
	                         .timeout_ms = TOKEN_TIMEOUT_MS,
	                         .connect_timeout_ms = 10000};
	/* (the body, an assertion good for an hour, is freed by the client) */
	s->token_req = egw_http_send(s->base.http, &rq, on_token, s, err, sizeof(err));
	if (!s->token_req) {
		snprintf(msg, sizeof(msg), "%s: token endpoint: %s", s->base.where, err);
		release(s, EGW_ERR_STORAGE_UNREACHABLE, msg);
	}
}

static gboolean fetch_fire(gpointer user)
{
	gcs_store_t *s = user;
	g_source_unref(s->fetch_src);
	s->fetch_src = NULL;
	fetch_token(s);
	return G_SOURCE_REMOVE;
}

/* A request: started now with a fresh token, or queued for one. Never
 * answered from inside this call. */
static egw_store_req_t *submit(gcs_store_t *s, gcs_req_t *r)
{
	gint64 margin = (gint64)REFRESH_MARGIN_S * G_USEC_PER_SEC;
	r->s = s;
	if (s->token_end_us && g_get_monotonic_time() + margin < s->token_end_us) {
		if (!start(r)) {
			free_req(r);
			return NULL;
		}
		return (egw_store_req_t *)r;
	}
	r->queued = 1;
	g_queue_push_tail(&s->waiting, r);
	if (!s->token_req && !s->fetch_src) { /* (fetching may fail the queue: not from here) */
		s->token_end_us = 0;
		s->fetch_src = g_idle_source_new();
		g_source_set_callback(s->fetch_src, fetch_fire, s, NULL);
		g_source_attach(s->fetch_src, egw_http_context(s->base.http));
	}
	return (egw_store_req_t *)r;
}

static egw_store_req_t *gcs_put(egw_store_t *st, const char *key, char *data, size_t len,
                                const char *content_type, const char *md5_hex,
                                egw_store_done_fn done, void *user)
{
	gcs_req_t *r = g_new0(gcs_req_t, 1);
	*r = (gcs_req_t){.op = OP_PUT,
	                 .key = g_strdup(key),
	                 .data = data,
	                 .len = len,
	                 .content_type = g_strdup(content_type),
	                 .md5 = g_strdup(md5_hex),
	                 .done = done,
	                 .user = user};
	return submit((gcs_store_t *)st, r);
}

static egw_store_req_t *gcs_create(egw_store_t *st, const char *key, const char *content_type,
                                   egw_store_done_fn done, void *user)
{
	gcs_req_t *r = g_new0(gcs_req_t, 1);
	*r = (gcs_req_t){.op = OP_CREATE,
	                 .key = g_strdup(key),
	                 .content_type = g_strdup(content_type),
	                 .done = done,
	                 .user = user};
	return submit((gcs_store_t *)st, r);
}

static egw_store_req_t *gcs_part(egw_store_t *st, const char *key, const char *upload_id, int part,
                                 char *data, size_t len, const char *md5_hex,
                                 egw_store_done_fn done, void *user)
{
	gcs_req_t *r = g_new0(gcs_req_t, 1);
	*r = (gcs_req_t){.op = OP_PART,
	                 .key = g_strdup(key),
	                 .upload_id = g_strdup(upload_id),
	                 .part = part,
	                 .data = data,
	                 .len = len,
	                 .md5 = g_strdup(md5_hex),
	                 .done = done,
	                 .user = user};
	return submit((gcs_store_t *)st, r);
}

static egw_store_req_t *gcs_complete(egw_store_t *st, const char *key, const char *upload_id,
                                     char *const *etags, char *const *md5s, int n_parts,
                                     const char *content_type, egw_store_done_fn done, void *user)
{
	gcs_req_t *r = g_new0(gcs_req_t, 1);
	*r = (gcs_req_t){.op = OP_COMPLETE,
	                 .key = g_strdup(key),
	                 .upload_id = g_strdup(upload_id),
	                 .n_parts = n_parts,
	                 .content_type = g_strdup(content_type),
	                 .done = done,
	                 .user = user};
	r->etags = g_new0(char *, n_parts + 1);
	r->md5s = g_new0(char *, n_parts + 1);
	for (int i = 0; i < n_parts; i++) {
		r->etags[i] = g_strdup(etags[i]);
		r->md5s[i] = g_strdup(md5s[i]);
	}
	return submit((gcs_store_t *)st, r);
}

static egw_store_req_t *gcs_abort(egw_store_t *st, const char *key, const char *upload_id,
                                  egw_store_done_fn done, void *user)
{
	gcs_req_t *r = g_new0(gcs_req_t, 1);
	*r = (gcs_req_t){.op = OP_ABORT,
	                 .key = g_strdup(key),
	                 .upload_id = g_strdup(upload_id),
	                 .done = done,
	                 .user = user};
	return submit((gcs_store_t *)st, r);
}

static void gcs_cancel(egw_store_req_t *req)
{
	gcs_req_t *r = (gcs_req_t *)req;
	if (r->queued)
		g_queue_remove(&r->s->waiting, r);
	egw_store_cancel(r->s->inner, r->inner);
	free_req(r);
}

static char *gcs_location(const egw_store_t *st, const char *key)
{
	const gcs_store_t *s = (const gcs_store_t *)st;
	return egw_store_location(s->inner, key);
}

static char *gcs_presign_get(const egw_store_t *st, const char *key, time_t now, int expires_s,
                             char *errstr, size_t errstr_size)
{
	const gcs_store_t *s = (const gcs_store_t *)st;
	char *path = g_strdup_printf("/%s/%s", s->bucket, key);
	char *url = egw_gcs_signed_url(s->account, s->scheme, s->host, path, now, expires_s, errstr,
	                               errstr_size);
	g_free(path);
	return url;
}

static void gcs_free(egw_store_t *st)
{
	gcs_store_t *s = (gcs_store_t *)st;
	gcs_req_t *r;
	egw_http_cancel(s->token_req);
	if (s->fetch_src) {
		g_source_destroy(s->fetch_src);
		g_source_unref(s->fetch_src);
	}
	while ((r = g_queue_pop_head(&s->waiting)))
		free_req(r);
	egw_store_free(s->inner);
	egw_gcs_account_free(s->account);
	g_free(s->bucket);
	g_free(s->log_id);
	g_free(s->scheme);
	g_free(s->host);
	g_free(s->base.where);
	g_free(s);
}

static const egw_store_ops_t gcs_ops = {
        .put = gcs_put,
        .create = gcs_create,
        .part = gcs_part,
        .complete = gcs_complete,
        .abort = gcs_abort,
        .cancel = gcs_cancel,
        .location = gcs_location,
        .presign_get = gcs_presign_get,
        .free = gcs_free,
};

egw_store_t *egw_store_gcs_new(egw_http_t *h, const egw_gcs_conf_t *c, char *errstr,
                               size_t errstr_size)
{
	egw_gcs_account_t *account = NULL;
	const char *json = c->credentials_json ? c->credentials_json : "";
	if (!c->bucket || !*c->bucket) {
		snprintf(errstr, errstr_size, "storage.bucket: is required");
		return NULL;
	}
	char err[256];
	if (egw_gcs_account_parse(json, strlen(json), &account, err, sizeof(err))) {
		snprintf(errstr, errstr_size, "storage.credentials_json: %s", err);
		return NULL;
	}
	gcs_store_t *s = g_new0(gcs_store_t, 1);
	egw_s3_conf_t s3 = {.bucket = c->bucket,
	                    .region = "auto",
	                    .endpoint = c->endpoint,
	                    .path_style = 1,
	                    .scheme = "gs",
	                    .timeout_ms = c->timeout_ms};
	s->base.ops = &gcs_ops;
	s->base.http = h;
	s->inner = egw_store_s3_new(h, &s3);
	egw_store_s3_set_bearer(s->inner, ""); /* no SigV4, ever */
	s->account = account;
	s->bucket = g_strdup(c->bucket);
	{ /* "https://storage.googleapis.com" -> https, storage.googleapis.com */
		const char *e = c->endpoint ? c->endpoint : "https://storage.googleapis.com";
		const char *p = strstr(e, "://");
		s->scheme = p ? g_strndup(e, (gsize)(p - e)) : g_strdup("https");
		p = p ? p + 3 : e;
		s->host = g_strndup(p, strcspn(p, "/?#"));
	}
	s->log_id = g_strdup(c->log_id ? c->log_id : "");
	s->base.where = g_strdup_printf("gs://%s", c->bucket);
	g_queue_init(&s->waiting);
	return &s->base;
}
