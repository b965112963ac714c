/* What every storage backend shares (see store.h): sorting answers, MD5
 * forms, and operations answered without a request. */
#include "storage/store.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

void egw_store_free(egw_store_t *s)
{
	if (s)
		s->ops->free(s);
}

void egw_store_xml_text(const char *xml, const char *tag, char *out, size_t out_size)
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

egw_err_t egw_store_classify(long status, const char *body, char *code, size_t code_size,
                             char *message, size_t message_size)
{
	static const char *const transient_codes[] = {"SlowDown",
	                                              "RequestTimeout",
	                                              "InternalError",
	                                              "ServiceUnavailable",
	                                              "Throttling",
	                                              "ThrottlingException",
	                                              "RequestTimeTooSkewed",
	                                              "ServerBusy",
	                                              "OperationTimedOut", /* Azure */
	                                              NULL};
	int error_doc = body && strstr(body, "<Error>") != NULL;

	egw_store_xml_text(error_doc ? body : NULL, "Code", code, code_size);
	egw_store_xml_text(error_doc ? body : NULL, "Message", message, message_size);
	/* Azure's messages run on with a request id and a time: first line */
	message[strcspn(message, "\r\n")] = '\0';
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

egw_err_t egw_store_answer(const egw_http_response_t *res, const char *what,
                           egw_store_result_t *out, char *msg, size_t msg_size)
{
	char code[64] = "", text[256] = "";
	out->status = res->status;
	out->message = NULL;
	if (res->err) {
		out->err = res->err == EGW_ERR_NOMEM ? EGW_ERR_NOMEM : EGW_ERR_STORAGE_UNREACHABLE;
		snprintf(msg, msg_size, "%s: %s", what, res->errmsg ? res->errmsg : "no answer");
		out->message = msg;
	} else if ((out->err = egw_store_classify(res->status, res->body, code, sizeof(code), text,
	                                          sizeof(text)))) {
		snprintf(msg, msg_size, "%s: HTTP %ld%s%s%s%s%s", what, res->status,
		         code[0] ? " " : "", code, text[0] ? " (" : "", text, text[0] ? ")" : "");
		out->message = msg;
	}
	return out->err;
}

/* ---- MD5 forms ---- */

static void hex_digest(const EVP_MD *md, const void *data, size_t len, char *out, unsigned size)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_Digest(data ? data : "", len, d, &n, md, NULL);
	for (unsigned i = 0; i < size; i++)
		snprintf(out + 2 * i, 3, "%02x", i < n ? d[i] : 0);
}

void egw_md5_hex(const void *data, size_t len, char out[33])
{
	hex_digest(EVP_md5(), data, len, out, 16);
}

void egw_sha256_hex(const void *data, size_t len, char out[65])
{
	hex_digest(EVP_sha256(), data, len, out, 32);
}

char *egw_md5_hex_to_b64(const char *md5_hex)
{
	guint8 d[16];
	if (!md5_hex || strlen(md5_hex) != 32)
		return NULL;
	for (int i = 0; i < 16; i++) {
		if (!g_ascii_isxdigit(md5_hex[2 * i]) || !g_ascii_isxdigit(md5_hex[2 * i + 1]))
			return NULL;
		d[i] = (guint8)(g_ascii_xdigit_value(md5_hex[2 * i]) * 16 +
		                g_ascii_xdigit_value(md5_hex[2 * i + 1]));
	}
	return g_base64_encode(d, sizeof(d));
}

int egw_md5_b64_to_hex(const char *b64, char out[33])
{
	gsize n = 0;
	guchar *d;
	if (!b64 || strlen(b64) != 24)
		return 0;
	d = g_base64_decode(b64, &n);
	if (n == 16)
		for (int i = 0; i < 16; i++)
			snprintf(out + 2 * i, 3, "%02x", d[i]);
	g_free(d);
	return n == 16;
}

/* ---- answers without a request ---- */

typedef struct idle_req {
	GSource *src;
	egw_store_result_t res;
	char *message, *etag, *upload_id;
	egw_store_done_fn done;
	void *user;
} idle_req_t;

static void idle_free(idle_req_t *r)
{
	g_free(r->message);
	g_free(r->etag);
	g_free(r->upload_id);
	g_free(r);
}

static gboolean idle_fire(gpointer user)
{
	idle_req_t *r = user;
	g_source_destroy(r->src);
	g_source_unref(r->src);
	r->done(r->user, &r->res);
	idle_free(r);
	return G_SOURCE_REMOVE;
}

egw_store_req_t *egw_store_idle(GMainContext *ctx, const egw_store_result_t *res,
                                egw_store_done_fn done, void *user)
{
	idle_req_t *r = g_new0(idle_req_t, 1);
	r->res = *res;
	r->res.message = r->message = g_strdup(res->message);
	r->res.etag = r->etag = g_strdup(res->etag);
	r->res.upload_id = r->upload_id = g_strdup(res->upload_id);
	r->done = done;
	r->user = user;
	r->src = g_idle_source_new();
	g_source_set_callback(r->src, idle_fire, r, NULL);
	g_source_attach(r->src, ctx);
	return (egw_store_req_t *)r;
}

void egw_store_idle_cancel(egw_store_req_t *req)
{
	idle_req_t *r = (idle_req_t *)req;
	if (!r)
		return;
	g_source_destroy(r->src);
	g_source_unref(r->src);
	idle_free(r);
}
