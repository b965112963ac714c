/* S3 requests (see s3.h). libcurl signs them (CURLOPT_AWS_SIGV4) with
 * three things it does not do itself: the x-amz-content-sha256 header
 * (required by S3, not sent by libcurl 7.88), query parameters written
 * sorted and with a value ("uploads=", "partNumber=..&uploadId=.."), since
 * libcurl signs the query as written. */
#include "storage/s3.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "storage/presign.h"

#define DEFAULT_REGION "us-east-1"
#define DEFAULT_TIMEOUT_MS 120000L

enum op { OP_PUT, OP_CREATE, OP_PART, OP_COMPLETE, OP_ABORT };

struct egw_s3_req {
	egw_http_req_t *http;
	enum op op;
	char *what; /* "PUT s3://bucket/key": for messages */
	egw_s3_done_fn done;
	void *user;
};

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

/* The text of the first <tag>...</tag> in xml into out ("" if none). */
static void xml_text(const char *xml, const char *tag, char *out, size_t out_size)
{
	char open[64], close[64];
	const char *a, *b;
	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!xml || !(a = strstr(xml, open)))
		return;
	a += strlen(open);
	if (!(b = strstr(a, close)))
		return;
	snprintf(out, out_size, "%.*s", (int)(b - a), a);
}

egw_err_t egw_s3_classify(long status, const char *body, char *code, size_t code_size,
                          char *message, size_t message_size)
{
	static const char *const transient_codes[] = {
	        "SlowDown",   "RequestTimeout",      "InternalError",        "ServiceUnavailable",
	        "Throttling", "ThrottlingException", "RequestTimeTooSkewed", NULL};
	int error_doc = body && strstr(body, "<Error>") != NULL;

	xml_text(error_doc ? body : NULL, "Code", code, code_size);
	xml_text(error_doc ? body : NULL, "Message", message, message_size);
	if (status >= 200 && status < 300 && !error_doc)
		return EGW_OK;
	for (int i = 0; transient_codes[i]; i++)
		if (!strcmp(code, transient_codes[i]))
			return EGW_ERR_STORAGE_UNREACHABLE;
	/* 200 with an error document: CompleteMultipartUpload's way of
	 * failing late (S3 says to retry). */
	if (status >= 500 || status == 429 || status == 408 || (status >= 200 && status < 300))
		return EGW_ERR_STORAGE_UNREACHABLE;
	return EGW_ERR_STORAGE;
}

static void on_http(void *user, const egw_http_response_t *res)
{
	egw_s3_req_t *r = user;
	char code[64] = "", text[256] = "", msg[640], upload_id[512] = "";
	egw_s3_result_t out = {.status = res->status};

	r->http = NULL;
	if (res->err) {
		out.err = res->err == EGW_ERR_NOMEM ? EGW_ERR_NOMEM : EGW_ERR_STORAGE_UNREACHABLE;
		snprintf(msg, sizeof(msg), "%s: %s", r->what,
		         res->errmsg ? res->errmsg : "no answer");
		out.message = msg;
	} else if ((out.err = egw_s3_classify(res->status, res->body, code, sizeof(code), text,
	                                      sizeof(text)))) {
		snprintf(msg, sizeof(msg), "%s: HTTP %ld%s%s%s%s%s", r->what, res->status,
		         code[0] ? " " : "", code, text[0] ? " (" : "", text, text[0] ? ")" : "");
		out.message = msg;
	} else {
		out.etag = res->etag;
		if (r->op == OP_CREATE) {
			xml_text(res->body, "UploadId", upload_id, sizeof(upload_id));
			if (!upload_id[0]) {
				out.err = EGW_ERR_STORAGE_UNREACHABLE;
				snprintf(msg, sizeof(msg), "%s: no UploadId in the answer",
				         r->what);
				out.message = msg;
			}
			out.upload_id = upload_id;
		}
	}
	r->done(r->user, &out);
	g_free(r->what);
	g_free(r);
}

static char *hex_digest(GChecksumType type, const char *data, size_t len)
{
	return g_compute_checksum_for_data(type, (const guchar *)(data ? data : ""), len);
}

/* Content-MD5: the body's MD5 (md5_hex when given), base64. */
static char *md5_b64(const char *data, size_t len, const char *md5_hex)
{
	guint8 d[16];
	gsize n = sizeof(d);
	if (md5_hex && strlen(md5_hex) == 32) {
		for (int i = 0; i < 16; i++) {
			unsigned v = 0;
			sscanf(md5_hex + 2 * i, "%2x", &v);
			d[i] = (guint8)v;
		}
		return g_base64_encode(d, n);
	}
	GChecksum *ck = g_checksum_new(G_CHECKSUM_MD5);
	g_checksum_update(ck, (const guchar *)(data ? data : ""), len);
	g_checksum_get_digest(ck, d, &n);
	g_checksum_free(ck);
	return g_base64_encode(d, n);
}

#define SIGNED_BODY_MAX (64 * 1024) /* larger bodies: UNSIGNED-PAYLOAD */

static egw_s3_req_t *send(egw_http_t *h, const egw_s3_conf_t *c, enum op op, const char *method,
                          const char *key, const char *query, char *body, size_t len,
                          const char *content_type, const char *md5_hex, egw_s3_done_fn done,
                          void *user)
{
	static const char *const verbs[] = {"PUT", "create multipart upload of", "upload part of",
	                                    "complete multipart upload of",
	                                    "abort multipart upload of"};
	egw_s3_req_t *r = g_new0(egw_s3_req_t, 1);
	char *url = egw_s3_url(c, key, query);
	char *sha = len > SIGNED_BODY_MAX ? g_strdup("UNSIGNED-PAYLOAD")
	                                  : hex_digest(G_CHECKSUM_SHA256, body, len);
	char *md5 = md5_b64(body, len, md5_hex);
	char *userpwd = g_strdup_printf("%s:%s", c->access_key ? c->access_key : "",
	                                c->secret_key ? c->secret_key : "");
	char *sigv4 = g_strdup_printf("aws:amz:%s:s3", region_of(c));
	char *h_sha = g_strdup_printf("x-amz-content-sha256: %s", sha);
	char *h_md5 = g_strdup_printf("Content-MD5: %s", md5);
	char *h_type = content_type ? g_strdup_printf("Content-Type: %s", content_type) : NULL;
	char *h_tok = c->session_token
	                      ? g_strdup_printf("x-amz-security-token: %s", c->session_token)
	                      : NULL;
	const char *headers[6];
	int n = 0;
	char errstr[128];

	headers[n++] = h_sha;
	if (body)
		headers[n++] = h_md5;
	if (h_type)
		headers[n++] = h_type;
	if (h_tok)
		headers[n++] = h_tok;
	headers[n] = NULL;
	r->op = op;
	r->what = g_strdup_printf("%s %s://%s/%s", verbs[op], c->scheme ? c->scheme : "s3",
				  c->bucket, key);
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
	r->http = egw_http_send(h, &rq, on_http, r, errstr, sizeof(errstr));
	if (userpwd) /* the secret leaves no copy behind */
		memset(userpwd, 0, strlen(userpwd));
	g_free(userpwd);
	g_free(sigv4);
	g_free(h_sha);
	g_free(h_md5);
	g_free(h_type);
	if (h_tok)
		memset(h_tok, 0, strlen(h_tok));
	g_free(h_tok);
	g_free(sha);
	g_free(md5);
	g_free(url);
	if (!r->http) {
		g_free(r->what);
		g_free(r);
		return NULL;
	}
	return r;
}

egw_s3_req_t *egw_s3_put(egw_http_t *h, const egw_s3_conf_t *c, const char *key, char *data,
                         size_t len, const char *content_type, const char *md5_hex,
                         egw_s3_done_fn done, void *user)
{
	return send(h, c, OP_PUT, "PUT", key, NULL, data, len, content_type, md5_hex, done, user);
}

egw_s3_req_t *egw_s3_create_multipart(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                      const char *content_type, egw_s3_done_fn done, void *user)
{
	return send(h, c, OP_CREATE, "POST", key, "uploads=", NULL, 0, content_type, NULL, done,
	            user);
}

egw_s3_req_t *egw_s3_upload_part(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                 const char *upload_id, int part, char *data, size_t len,
                                 const char *md5_hex, egw_s3_done_fn done, void *user)
{
	char *id = egw_aws_uri_encode(upload_id, 0);
	char *q = g_strdup_printf("partNumber=%d&uploadId=%s", part, id);
	egw_s3_req_t *r =
	        send(h, c, OP_PART, "PUT", key, q, data, len, NULL, md5_hex, done, user);
	g_free(q);
	g_free(id);
	return r;
}

egw_s3_req_t *egw_s3_complete_multipart(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                        const char *upload_id, char *const *etags, int n_parts,
                                        egw_s3_done_fn done, void *user)
{
	GString *xml = g_string_new("<CompleteMultipartUpload>");
	char *id = egw_aws_uri_encode(upload_id, 0);
	char *q = g_strdup_printf("uploadId=%s", id);
	egw_s3_req_t *r;
	for (int i = 0; i < n_parts; i++)
		g_string_append_printf(
		        xml, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
		        etags[i]);
	g_string_append(xml, "</CompleteMultipartUpload>");
	size_t len = xml->len;
	r = send(h, c, OP_COMPLETE, "POST", key, q, g_string_free(xml, FALSE), len,
	         "application/xml", NULL, done, user);
	g_free(q);
	g_free(id);
	return r;
}

egw_s3_req_t *egw_s3_abort_multipart(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                     const char *upload_id, egw_s3_done_fn done, void *user)
{
	char *id = egw_aws_uri_encode(upload_id, 0);
	char *q = g_strdup_printf("uploadId=%s", id);
	egw_s3_req_t *r = send(h, c, OP_ABORT, "DELETE", key, q, NULL, 0, NULL, NULL, done, user);
	g_free(q);
	g_free(id);
	return r;
}

void egw_s3_cancel(egw_s3_req_t *r)
{
	if (!r)
		return;
	egw_http_cancel(r->http);
	g_free(r->what);
	g_free(r);
}

void egw_s3_multipart_etag(char *const *md5_hex, int n_parts, char out[48])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_MD5);
	for (int i = 0; i < n_parts; i++) {
		guint8 d[16];
		for (int k = 0; k < 16; k++) {
			unsigned v = 0;
			sscanf(md5_hex[i] + 2 * k, "%2x", &v);
			d[k] = (guint8)v;
		}
		g_checksum_update(ck, d, sizeof(d));
	}
	snprintf(out, 48, "%s-%d", g_checksum_get_string(ck), n_parts);
	g_checksum_free(ck);
}
