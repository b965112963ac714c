/* The S3 store (see s3.h). libcurl signs its requests (CURLOPT_AWS_SIGV4)
 * with three things it does not do itself: the x-amz-content-sha256 header
 * (required by S3, not sent by libcurl 7.88), query parameters written
 * sorted and with a value ("uploads=", "partNumber=..&uploadId=.."), since
 * libcurl signs the query as written. */
#include "storage/s3.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "base/secret.h"
#include "storage/presign.h"

#define DEFAULT_REGION "us-east-1"
#define DEFAULT_TIMEOUT_MS 120000L

enum op { OP_PUT, OP_CREATE, OP_PART, OP_COMPLETE, OP_ABORT };

static const char *region_of(const egw_s3_conf_t *c)
{
	return c->region && *c->region ? c->region : DEFAULT_REGION;
}

/* scheme ("http"/"https") and host[:port] of the endpoint. */
static void endpoint_parts(const egw_s3_conf_t *c, char *scheme, size_t scheme_size, char *host,
                           size_t host_size)
{
	if (!c->endpoint || !*c->endpoint) {
		snprintf(scheme, scheme_size, "https");
		snprintf(host, host_size, "s3.%s.amazonaws.com", region_of(c));
		return;
	}
	const char *p = strstr(c->endpoint, "://");
	size_t n = p ? (size_t)(p - c->endpoint) : 0;
	snprintf(scheme, scheme_size, "%.*s", (int)n, c->endpoint);
	p = p ? p + 3 : c->endpoint;
	n = strcspn(p, "/?#");
	snprintf(host, host_size, "%.*s", (int)n, p);
}

/* The host the request goes to and the object's path on it (not encoded). */
static void host_and_path(const egw_s3_conf_t *c, const char *key, char *scheme, char *host,
                          size_t host_size, char **path)
{
	char base[256];
	endpoint_parts(c, scheme, 8, base, sizeof(base));
	if (c->path_style) {
		snprintf(host, host_size, "%s", base);
		*path = g_strdup_printf("/%s/%s", c->bucket, key);
	} else {
		snprintf(host, host_size, "%s.%s", c->bucket, base);
		*path = g_strdup_printf("/%s", key);
	}
}

char *egw_s3_url(const egw_s3_conf_t *c, const char *key, const char *query)
{
	char scheme[8], host[320], *path, *enc, *url;
	host_and_path(c, key, scheme, host, sizeof(host), &path);
	enc = egw_aws_uri_encode(path, 1);
	url = g_strdup_printf("%s://%s%s%s%s", scheme, host, enc, query ? "?" : "",
	                      query ? query : "");
	g_free(enc);
	g_free(path);
	return url;
}

char *egw_s3_location(const egw_s3_conf_t *c, const char *key)
{
	return g_strdup_printf("%s://%s/%s", c->scheme ? c->scheme : "s3", c->bucket, key);
}

char *egw_s3_presigned_get(const egw_s3_conf_t *c, const char *key, time_t now, int expires_s,
                           char *errstr, size_t errstr_size)
{
	char scheme[8], host[320], *path, *url;
	host_and_path(c, key, scheme, host, sizeof(host), &path);
	egw_s3_presign_t p = {.method = "GET",
	                      .scheme = scheme,
	                      .host = host,
	                      .path = path,
	                      .region = region_of(c),
	                      .access_key = c->access_key,
	                      .secret_key = c->secret_key,
	                      .session_token = c->session_token,
	                      .now = now,
	                      .expires_s = expires_s};
	url = egw_s3_presign(&p, errstr, errstr_size);
	g_free(path);
	return url;
}

#define SIGNED_BODY_MAX (64 * 1024) /* larger bodies: UNSIGNED-PAYLOAD */

typedef struct s3_store {
	egw_store_t base;
	egw_s3_conf_t c;
	char *bucket, *region, *endpoint, *access_key, *secret_key, *session_token;
	char *bearer; /* an OAuth2 access token, instead of SigV4 (secret) */
} s3_store_t;

typedef struct s3_req {
	egw_http_req_t *http;
	enum op op;
	char *what;    /* "PUT s3://bucket/key": for messages */
	char want[48]; /* the ETag an MD5-shaped answer must have; "" when unchecked */
	egw_store_done_fn done;
	void *user;
} s3_req_t;

/* An ETag that is an MD5 (32 hex digits, or "MD5-N" for multipart) and
 * differs from want: the server stored something else. */
static int etag_differs(const char *etag, const char *want)
{
	if (!etag || !want || !*want)
		return 0;
	size_t n = strcspn(etag, "-");
	if (n != 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isxdigit(etag[i]))
			return 0;
	return g_ascii_strcasecmp(etag, want) != 0;
}

static void on_http(void *user, const egw_http_response_t *res)
{
	s3_req_t *r = user;
	char msg[768], upload_id[512] = "";
	egw_store_result_t out = {0};

	r->http = NULL;
	if (!egw_store_answer(res, r->what, &out, msg, sizeof(msg))) {
		out.etag = res->etag;
		if (r->op == OP_CREATE) {
			egw_store_xml_text(res->body, "UploadId", upload_id, sizeof(upload_id));
			if (!upload_id[0]) {
				out.err = EGW_ERR_STORAGE_UNREACHABLE;
				snprintf(msg, sizeof(msg), "%s: no UploadId in the answer",
				         r->what);
				out.message = msg;
			}
			out.upload_id = upload_id;
		} else if ((r->op != OP_COMPLETE || (res->etag && strchr(res->etag, '-'))) &&
		           etag_differs(res->etag, r->want)) {
			/* (a multipart object's ETag: S3's form; some compatibles
			 * give the object's MD5, which the parts' checks covered) */
			out.err = EGW_ERR_STORAGE_UNREACHABLE;
			snprintf(msg, sizeof(msg), "%s: the storage's checksum %s is not ours (%s)",
			         r->what, res->etag, r->want);
			out.message = msg;
		} else if (r->op == OP_PART && !res->etag) {
			out.etag = r->want; /* complete names parts by ETag */
		}
	}
	r->done(r->user, &out);
	g_free(r->what);
	g_free(r);
}

static egw_store_req_t *send(s3_store_t *s, enum op op, const char *method, const char *key,
                             const char *query, char *body, size_t len,
                             const char *content_type, const char *md5_hex,
                             egw_store_done_fn done, void *user)
{
	static const char *const verbs[] = {"PUT", "create multipart upload of", "upload part of",
	                                    "complete multipart upload of",
	                                    "abort multipart upload of"};
	const egw_s3_conf_t *c = &s->c;
	s3_req_t *r = g_new0(s3_req_t, 1);
	char *url = egw_s3_url(c, key, query);
	char md5[33] = "", sha[65] = "UNSIGNED-PAYLOAD";
	char *md5b64, *userpwd = NULL, *sigv4 = NULL, *h_sha = NULL, *h_md5 = NULL, *h_type = NULL;
	char *h_auth = NULL;
	const char *headers[6];
	int n = 0;
	char errstr[128];

	if (body && md5_hex && strlen(md5_hex) == 32)
		snprintf(md5, sizeof(md5), "%s", md5_hex);
	else if (body)
		egw_md5_hex(body, len, md5);
	md5b64 = egw_md5_hex_to_b64(md5);
	if (body)
		headers[n++] = h_md5 = g_strdup_printf("Content-MD5: %s", md5b64);
	if (content_type)
		headers[n++] = h_type = g_strdup_printf("Content-Type: %s", content_type);
	if (s->bearer) { /* Cloud Storage with an OAuth2 token */
		headers[n++] = h_auth = g_strdup_printf("Authorization: Bearer %s", s->bearer);
	} else {
		if (len <= SIGNED_BODY_MAX)
			egw_sha256_hex(body, len, sha);
		headers[n++] = h_sha = g_strdup_printf("x-amz-content-sha256: %s", sha);
		if (c->session_token)
			headers[n++] = h_auth = g_strdup_printf("x-amz-security-token: %s",
			                                        c->session_token);
		userpwd = g_strdup_printf("%s:%s", c->access_key ? c->access_key : "",
		                          c->secret_key ? c->secret_key : "");
		sigv4 = g_strdup_printf("aws:amz:%s:s3", region_of(c));
	}
	headers[n] = NULL;
	r->op = op;
	r->what = g_strdup_printf("%s %s://%s/%s", verbs[op], c->scheme ? c->scheme : "s3",
	                          c->bucket, key);
	if (op == OP_PUT || op == OP_PART)
		snprintf(r->want, sizeof(r->want), "%s", md5);
	r->done = done;
	r->user = user;
	egw_http_request_t rq = {
	        .method = method,
	        .url = url,
	        .body = body ? body : (op == OP_CREATE || op == OP_COMPLETE ? "" : NULL),
	        .body_len = len,
	        .take_body = body != NULL,
	        .headers = headers,
	        .timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : DEFAULT_TIMEOUT_MS,
	        .connect_timeout_ms = 10000,
	        .aws_sigv4 = sigv4,
	        .userpwd = userpwd};
	r->http = egw_http_send(s->base.http, &rq, on_http, r, errstr, sizeof(errstr));
	egw_secret_wipe(userpwd);
	egw_secret_wipe(h_auth);
	g_free(userpwd);
	g_free(h_auth);
	g_free(sigv4);
	g_free(h_sha);
	g_free(h_md5);
	g_free(h_type);
	g_free(md5b64);
	g_free(url);
	if (!r->http) {
		g_free(r->what);
		g_free(r);
		return NULL;
	}
	return (egw_store_req_t *)r;
}

static egw_store_req_t *s3_put(egw_store_t *st, const char *key, char *data, size_t len,
                               const char *content_type, const char *md5_hex,
                               egw_store_done_fn done, void *user)
{
	return send((s3_store_t *)st, OP_PUT, "PUT", key, NULL, data, len, content_type, md5_hex,
	            done, user);
}

static egw_store_req_t *s3_create(egw_store_t *st, const char *key, const char *content_type,
                                  egw_store_done_fn done, void *user)
{
	return send((s3_store_t *)st, OP_CREATE, "POST", key, "uploads=", NULL, 0, content_type,
	            NULL, done, user);
}

static egw_store_req_t *s3_part(egw_store_t *st, const char *key, const char *upload_id,
                                int part, char *data, size_t len, const char *md5_hex,
                                egw_store_done_fn done, void *user)
{
	char *id = egw_aws_uri_encode(upload_id, 0);
	char *q = g_strdup_printf("partNumber=%d&uploadId=%s", part, id);
	egw_store_req_t *r = send((s3_store_t *)st, OP_PART, "PUT", key, q, data, len, NULL,
	                          md5_hex, done, user);
	g_free(q);
	g_free(id);
	return r;
}

static egw_store_req_t *s3_complete(egw_store_t *st, const char *key, const char *upload_id,
                                    char *const *etags, char *const *md5s, int n_parts,
                                    const char *content_type, egw_store_done_fn done,
                                    void *user)
{
	GString *xml = g_string_new("<CompleteMultipartUpload>");
	char *id = egw_aws_uri_encode(upload_id, 0);
	char *q = g_strdup_printf("uploadId=%s", id);
	s3_req_t *r;
	(void)content_type; /* given at create */
	for (int i = 0; i < n_parts; i++)
		g_string_append_printf(
		        xml, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
		        etags[i]);
	g_string_append(xml, "</CompleteMultipartUpload>");
	size_t len = xml->len;
	r = (s3_req_t *)send((s3_store_t *)st, OP_COMPLETE, "POST", key, q,
	                     g_string_free(xml, FALSE), len, "application/xml", NULL, done, user);
	if (r)
		egw_s3_multipart_etag(md5s, n_parts, r->want);
	g_free(q);
	g_free(id);
	return (egw_store_req_t *)r;
}

static egw_store_req_t *s3_abort(egw_store_t *st, const char *key, const char *upload_id,
                                 egw_store_done_fn done, void *user)
{
	char *id = egw_aws_uri_encode(upload_id, 0);
	char *q = g_strdup_printf("uploadId=%s", id);
	egw_store_req_t *r = send((s3_store_t *)st, OP_ABORT, "DELETE", key, q, NULL, 0, NULL,
	                          NULL, done, user);
	g_free(q);
	g_free(id);
	return r;
}

static void s3_cancel(egw_store_req_t *req)
{
	s3_req_t *r = (s3_req_t *)req;
	egw_http_cancel(r->http);
	g_free(r->what);
	g_free(r);
}

static char *s3_location(const egw_store_t *st, const char *key)
{
	return egw_s3_location(&((const s3_store_t *)st)->c, key);
}

static char *s3_presign_get(const egw_store_t *st, const char *key, time_t now, int expires_s,
                            char *errstr, size_t errstr_size)
{
	const s3_store_t *s = (const s3_store_t *)st;
	if (s->bearer) {
		snprintf(errstr, errstr_size,
		         "presigned URLs need HMAC keys (storage.access_key, storage.secret_key)");
		return NULL;
	}
	return egw_s3_presigned_get(&s->c, key, now, expires_s, errstr, errstr_size);
}

static void s3_free(egw_store_t *st)
{
	s3_store_t *s = (s3_store_t *)st;
	g_free(s->bucket);
	g_free(s->region);
	g_free(s->endpoint);
	g_free(s->access_key);
	egw_secret_wipe(s->secret_key);
	g_free(s->secret_key);
	egw_secret_wipe(s->session_token);
	g_free(s->session_token);
	egw_secret_wipe(s->bearer);
	g_free(s->bearer);
	g_free(s->base.where);
	g_free(s);
}

static const egw_store_ops_t s3_ops = {
        .put = s3_put,
        .create = s3_create,
        .part = s3_part,
        .complete = s3_complete,
        .abort = s3_abort,
        .cancel = s3_cancel,
        .location = s3_location,
        .presign_get = s3_presign_get,
        .free = s3_free,
};

egw_store_t *egw_store_s3_new(egw_http_t *h, const egw_s3_conf_t *c)
{
	s3_store_t *s = g_new0(s3_store_t, 1);
	s->base.ops = &s3_ops;
	s->base.http = h;
	s->c = *c;
	s->c.bucket = s->bucket = g_strdup(c->bucket);
	s->c.region = s->region = g_strdup(c->region);
	s->c.endpoint = s->endpoint = g_strdup(c->endpoint);
	s->c.access_key = s->access_key = g_strdup(c->access_key);
	s->c.secret_key = s->secret_key = g_strdup(c->secret_key);
	s->c.session_token = s->session_token = g_strdup(c->session_token);
	s->c.scheme = !g_strcmp0(c->scheme, "gs") ? "gs" : "s3";
	s->base.where = g_strdup_printf("%s://%s", s->c.scheme, c->bucket);
	return &s->base;
}

void egw_store_s3_set_bearer(egw_store_t *st, const char *token)
{
	s3_store_t *s = (s3_store_t *)st;
	egw_secret_wipe(s->bearer);
	g_free(s->bearer);
	s->bearer = g_strdup(token);
}

void egw_s3_multipart_etag(char *const *md5_hex, int n_parts, char out[48])
{
	guint8 *d = g_malloc0((size_t)n_parts * 16 + 1);
	char md5[33];
	for (int i = 0; i < n_parts; i++)
		for (int k = 0; k < 16 && md5_hex[i] && strlen(md5_hex[i]) == 32; k++)
			d[16 * i + k] = (guint8)(g_ascii_xdigit_value(md5_hex[i][2 * k]) * 16 +
			                         g_ascii_xdigit_value(md5_hex[i][2 * k + 1]));
	egw_md5_hex(d, (size_t)n_parts * 16, md5);
	snprintf(out, 48, "%s-%d", md5, n_parts);
	g_free(d);
}
