/* The Azure Blob Storage store (see azure.h). Every request carries
 * x-ms-date and x-ms-version and an explicit Content-Length and
 * Content-Type (libcurl would otherwise add a form Content-Type of its own,
 * which the signature would not cover). */
#include "storage/azure.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/secret.h"
#include "storage/azure_sign.h"
#include "storage/presign.h"

#define API_VERSION "2021-12-02"
#define DEFAULT_TIMEOUT_MS 120000L
#define N_HEADERS_MAX 8

enum op { OP_PUT, OP_CREATE, OP_PART, OP_COMPLETE, OP_ABORT };

typedef struct az_store {
	egw_store_t base;
	egw_azure_conf_t c;
	char *account, *account_key, *container, *endpoint;
} az_store_t;

typedef struct az_req {
	egw_http_req_t *http;
	egw_store_req_t *idle; /* create and abort: answered without a request */
	enum op op;
	char *what;     /* "PUT https://.../container/key": for messages */
	char md5[33];   /* what was sent: compared with the service's */
	char *block_id; /* a part's */
	egw_store_done_fn done;
	void *user;
} az_req_t;

char *egw_azure_url(const egw_azure_conf_t *c, const char *key, const char *query)
{
	char *enc = egw_aws_uri_encode(key, 1), *url;
	if (c->endpoint && *c->endpoint) {
		size_t n = strlen(c->endpoint);
		while (n && c->endpoint[n - 1] == '/')
			n--;
		url = g_strdup_printf("%.*s/%s/%s%s%s", (int)n, c->endpoint, c->container, enc,
		                      query ? "?" : "", query ? query : "");
	} else {
		url = g_strdup_printf("https://%s.blob.core.windows.net/%s/%s%s%s", c->account,
		                      c->container, enc, query ? "?" : "", query ? query : "");
	}
	g_free(enc);
	return url;
}

/* The path of url as sent (between host and query). */
static char *url_path(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p += strcspn(p, "/?");
	return g_strndup(p, strcspn(p, "?"));
}

static void rfc1123_now(char out[40])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
	         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void free_req(az_req_t *r)
{
	g_free(r->what);
	g_free(r->block_id);
	g_free(r);
}

static void on_http(void *user, const egw_http_response_t *res)
{
	az_req_t *r = user;
	char msg[768], theirs[33];
	egw_store_result_t out = {0};

	r->http = NULL;
	if (!egw_store_answer(res, r->what, &out, msg, sizeof(msg))) {
		out.etag = r->op == OP_PART ? r->block_id : res->etag;
		if (r->md5[0] && res->content_md5 && egw_md5_b64_to_hex(res->content_md5, theirs) &&
		    g_ascii_strcasecmp(theirs, r->md5)) {
			out.err = EGW_ERR_STORAGE_UNREACHABLE;
			snprintf(msg, sizeof(msg), "%s: the storage's checksum %s is not ours (%s)",
			         r->what, theirs, r->md5);
			out.message = msg;
		}
	}
	r->done(r->user, &out);
	free_req(r);
}

static egw_store_req_t *send(az_store_t *s, enum op op, const char *key, const char *query,
                             char *body, size_t len, const char *content_type, const char *md5_hex,
                             const egw_azure_header_t *extra, size_t n_extra,
                             egw_store_done_fn done, void *user)
{
	static const char *const verbs[] = {"PUT", "", "put block of", "put block list of", ""};
	az_req_t *r = g_new0(az_req_t, 1);
	char *url = egw_azure_url(&s->c, key, query), *path = url_path(url), *md5b64 = NULL;
	char date[40], length[24], errstr[256], *auth;
	egw_azure_header_t hs[N_HEADERS_MAX + 4];
	const char *lines[N_HEADERS_MAX + 6];
	size_t n = 0;

	rfc1123_now(date);
	snprintf(length, sizeof(length), "%zu", len);
	if (md5_hex && strlen(md5_hex) == 32)
		snprintf(r->md5, sizeof(r->md5), "%s", md5_hex);
	else
		egw_md5_hex(body, len, r->md5);
	md5b64 = egw_md5_hex_to_b64(r->md5);
	hs[n++] = (egw_azure_header_t){"x-ms-date", date};
	hs[n++] = (egw_azure_header_t){"x-ms-version", API_VERSION};
	hs[n++] = (egw_azure_header_t){"Content-Length", length};
	hs[n++] = (egw_azure_header_t){"Content-Type", content_type};
	hs[n++] = (egw_azure_header_t){"Content-MD5", md5b64};
	for (size_t i = 0; i < n_extra && n < G_N_ELEMENTS(hs); i++)
		hs[n++] = extra[i];
	egw_azure_request_t rq = {.method = "PUT",
	                          .account = s->c.account,
	                          .path = path,
	                          .query = query,
	                          .headers = hs,
	                          .n_headers = n};
	auth = egw_azure_authorization(&rq, s->c.account_key, errstr, sizeof(errstr));
	r->op = op;
	{
		char *loc = egw_store_location(&s->base, key); /* (no query) */
		r->what = g_strdup_printf("%s %s", verbs[op], loc);
		g_free(loc);
	}
	r->done = done;
	r->user = user;
	if (auth) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			lines[k++] = g_strdup_printf("%s: %s", hs[i].name, hs[i].value);
		lines[k++] = g_strdup_printf("Authorization: %s", auth);
		lines[k] = NULL;
		egw_http_request_t hr = {.method = "PUT",
		                         .url = url,
		                         .body = body ? body : "",
		                         .body_len = len,
		                         .take_body = body != NULL,
		                         .headers = lines,
		                         .timeout_ms = s->c.timeout_ms > 0 ? s->c.timeout_ms
		                                                           : DEFAULT_TIMEOUT_MS,
		                         .connect_timeout_ms = 10000};
		body = NULL; /* taken */
		r->http = egw_http_send(s->base.http, &hr, on_http, r, errstr, sizeof(errstr));
		for (size_t i = 0; i < k; i++)
			g_free((char *)lines[i]);
		egw_secret_wipe(auth);
		g_free(auth);
	}
	g_free(body);
	g_free(md5b64);
	g_free(path);
	g_free(url);
	if (!r->http) {
		free_req(r);
		return NULL;
	}
	return (egw_store_req_t *)r;
}

static egw_store_req_t *az_put(egw_store_t *st, const char *key, char *data, size_t len,
                               const char *content_type, const char *md5_hex,
                               egw_store_done_fn done, void *user)
{
	static const egw_azure_header_t blob_type = {"x-ms-blob-type", "BlockBlob"};
	return send((az_store_t *)st, OP_PUT, key, NULL, data, len,
	            content_type ? content_type : "application/octet-stream", md5_hex, &blob_type,
	            1, done, user);
}

/* ---- create and abort: nothing to ask the service ---- */

static void on_idle(void *user, const egw_store_result_t *res)
{
	az_req_t *r = user;
	r->idle = NULL;
	r->done(r->user, res);
	free_req(r);
}

static egw_store_req_t *answer_now(az_store_t *s, enum op op, const char *upload_id,
                                   egw_store_done_fn done, void *user)
{
	az_req_t *r = g_new0(az_req_t, 1);
	egw_store_result_t res = {.upload_id = upload_id};
	r->op = op;
	r->done = done;
	r->user = user;
	r->idle = egw_store_idle(egw_http_context(s->base.http), &res, on_idle, r);
	return (egw_store_req_t *)r;
}

static egw_store_req_t *az_create(egw_store_t *st, const char *key, const char *content_type,
                                  egw_store_done_fn done, void *user)
{
	char id[17];
	(void)key, (void)content_type; /* given at commit */
	snprintf(id, sizeof(id), "%08x%08x", g_random_int(), g_random_int());
	return answer_now((az_store_t *)st, OP_CREATE, id, done, user);
}

static egw_store_req_t *az_abort(egw_store_t *st, const char *key, const char *upload_id,
                                 egw_store_done_fn done, void *user)
{
	(void)key, (void)upload_id; /* the service discards uncommitted blocks */
	return answer_now((az_store_t *)st, OP_ABORT, NULL, done, user);
}

/* ---- parts: blocks ---- */

/* A block id: base64 of "<upload id>-<part, 5 digits>" (every id of a blob
 * has the same length, as the service wants). */
static char *block_id(const char *upload_id, int part)
{
	char *raw = g_strdup_printf("%.16s-%05d", upload_id, part);
	char *id = g_base64_encode((const guchar *)raw, strlen(raw));
	g_free(raw);
	return id;
}

static egw_store_req_t *az_part(egw_store_t *st, const char *key, const char *upload_id, int part,
                                char *data, size_t len, const char *md5_hex, egw_store_done_fn done,
                                void *user)
{
	char *id = block_id(upload_id, part), *enc = egw_aws_uri_encode(id, 0);
	char *q = g_strdup_printf("blockid=%s&comp=block", enc);
	az_req_t *r = (az_req_t *)send((az_store_t *)st, OP_PART, key, q, data, len,
	                               "application/octet-stream", md5_hex, NULL, 0, done, user);
	if (r)
		r->block_id = g_strdup(id);
	g_free(q);
	g_free(enc);
	g_free(id);
	return (egw_store_req_t *)r;
}

static egw_store_req_t *az_complete(egw_store_t *st, const char *key, const char *upload_id,
                                    char *const *etags, char *const *md5s, int n_parts,
                                    const char *content_type, egw_store_done_fn done, void *user)
{
	GString *xml = g_string_new("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	egw_azure_header_t type = {"x-ms-blob-content-type",
	                           content_type ? content_type : "application/octet-stream"};
	(void)upload_id, (void)md5s;
	for (int i = 0; i < n_parts; i++)
		g_string_append_printf(xml, "<Latest>%s</Latest>", etags[i]);
	g_string_append(xml, "</BlockList>");
	size_t len = xml->len;
	return send((az_store_t *)st, OP_COMPLETE, key, "comp=blocklist", g_string_free(xml, FALSE),
	            len, "application/xml", NULL, &type, 1, done, user);
}

static void az_cancel(egw_store_req_t *req)
{
	az_req_t *r = (az_req_t *)req;
	egw_http_cancel(r->http);
	egw_store_idle_cancel(r->idle);
	free_req(r);
}

/* ---- locations ---- */

static char *az_location(const egw_store_t *st, const char *key)
{
	return egw_azure_url(&((const az_store_t *)st)->c, key, NULL);
}

static char *az_presign_get(const egw_store_t *st, const char *key, time_t now, int expires_s,
                            char *errstr, size_t errstr_size)
{
	const az_store_t *s = (const az_store_t *)st;
	char *sas = egw_azure_blob_sas(s->c.account, s->c.account_key, s->c.container, key,
	                               now + expires_s, errstr, errstr_size);
	char *url = sas ? egw_azure_url(&s->c, key, sas) : NULL;
	g_free(sas);
	return url;
}

static void az_free(egw_store_t *st)
{
	az_store_t *s = (az_store_t *)st;
	g_free(s->account);
	egw_secret_wipe(s->account_key);
	g_free(s->account_key);
	g_free(s->container);
	g_free(s->endpoint);
	g_free(s->base.where);
	g_free(s);
}

static const egw_store_ops_t az_ops = {
        .put = az_put,
        .create = az_create,
        .part = az_part,
        .complete = az_complete,
        .abort = az_abort,
        .cancel = az_cancel,
        .location = az_location,
        .presign_get = az_presign_get,
        .free = az_free,
};

egw_store_t *egw_store_azure_new(egw_http_t *h, const egw_azure_conf_t *c, char *errstr,
                                 size_t errstr_size)
{
	if (!c->account || !*c->account || !c->container || !*c->container) {
		snprintf(errstr, errstr_size, "storage: an Azure account and container are needed");
		return NULL;
	}
	if (!c->account_key || !*c->account_key) {
		snprintf(errstr, errstr_size,
		         "storage: no credentials: give storage.account_key, or set "
		         "AZURE_STORAGE_KEY for the worker");
		return NULL;
	}
	/* a key that is not base64 fails now, not at the first request */
	char err[256];
	char *sas = egw_azure_blob_sas(c->account, c->account_key, c->container, "-", 0, err,
	                               sizeof(err));
	if (!sas) {
		snprintf(errstr, errstr_size, "storage.account_key: %s", err);
		return NULL;
	}
	g_free(sas);
	az_store_t *s = g_new0(az_store_t, 1);
	s->base.ops = &az_ops;
	s->base.http = h;
	s->c = *c;
	s->c.account = s->account = g_strdup(c->account);
	s->c.account_key = s->account_key = g_strdup(c->account_key);
	s->c.container = s->container = g_strdup(c->container);
	s->c.endpoint = s->endpoint = g_strdup(c->endpoint);
	s->base.where = egw_azure_url(&s->c, "", NULL);
	return &s->base;
}
