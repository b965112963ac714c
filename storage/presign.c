/* S3 presigned URLs (see presign.h): AWS Signature Version 4, query-string
 * authentication, as AWS documents it ("Authenticating Requests: Using
 * Query Parameters"): a canonical request over the URL's path, its sorted
 * query and the host header, an unsigned payload, and a key derived from
 * the secret by date, region and service. */
#include "storage/presign.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "base/secret.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

char *egw_aws_uri_encode(const char *s, int keep_slash)
{
	GString *out = g_string_new(NULL);

	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (g_ascii_isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~' ||
		    (keep_slash && *c == '/'))
			g_string_append_c(out, (char)*c);
		else
			g_string_append_printf(out, "%%%02X", *c);
	}
	return g_string_free(out, FALSE);
}

/* HMAC-SHA256 of data with key into out (32 bytes). */
static void hmac(const guint8 *key, gsize key_len, const char *data, guint8 out[32])
{
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, key_len);
	gsize len = 32;

	g_hmac_update(h, (const guchar *)data, (gssize)strlen(data));
	g_hmac_get_digest(h, out, &len);
	g_hmac_unref(h);
}

static void hex(const guint8 *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int usable(const char *s)
{
	return s && *s;
}

char *egw_v4_string_to_sign(const char *algorithm, const char *method, const char *encoded_path,
                            const char *query, const char *host, const char *stamp,
                            const char *scope)
{
	char *canonical = g_strdup_printf("%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", method,
	                                  encoded_path, query, host);
	char *hashed = g_compute_checksum_for_string(G_CHECKSUM_SHA256, canonical, -1);
	char *to_sign = g_strdup_printf("%s\n%s\n%s\n%s", algorithm, stamp, scope, hashed);
	g_free(hashed);
	g_free(canonical);
	return to_sign;
}

char *egw_s3_presign(const egw_s3_presign_t *p, char *errstr, size_t errstr_size)
{
	char date[9], stamp[17], sig_hex[65], *key0, *scope, *credential, *token = NULL, *query,
	        *uri, *to_sign, *url;
	guint8 k[32], sig[32];
	struct tm tm;

	if (!usable(p->method) || !usable(p->scheme) || !usable(p->host) || !usable(p->path) ||
	    p->path[0] != '/' || !usable(p->region) || !usable(p->access_key) ||
	    !usable(p->secret_key)) {
		snprintf(errstr, errstr_size,
		         "a presigned URL needs a method, scheme, host, path, region and keys");
		return NULL;
	}
	if (p->expires_s < 1 || p->expires_s > EGW_PRESIGN_MAX_S) {
		snprintf(errstr, errstr_size, "a presigned URL lasts 1 to %d s, not %d",
		         EGW_PRESIGN_MAX_S, p->expires_s);
		return NULL;
	}
	gmtime_r(&p->now, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	scope = g_strdup_printf("%s/%s/s3/aws4_request", date, p->region);
	{
		char *raw = g_strdup_printf("%s/%s", p->access_key, scope);
		credential = egw_aws_uri_encode(raw, 0);
		g_free(raw);
	}
	if (p->session_token)
		token = egw_aws_uri_encode(p->session_token, 0);
	/* Sorted by name (Security-Token before SignedHeaders). */
	query = g_strdup_printf("X-Amz-Algorithm=" ALGORITHM "&X-Amz-Credential=%s"
	                        "&X-Amz-Date=%s&X-Amz-Expires=%d%s%s&X-Amz-SignedHeaders=host",
	                        credential, stamp, p->expires_s,
	                        token ? "&X-Amz-Security-Token=" : "", token ? token : "");
	uri = egw_aws_uri_encode(p->path, 1);
	to_sign = egw_v4_string_to_sign(ALGORITHM, p->method, uri, query, p->host, stamp, scope);

	key0 = g_strdup_printf("AWS4%s", p->secret_key);
	hmac((const guint8 *)key0, strlen(key0), date, k);
	hmac(k, sizeof(k), p->region, k);
	hmac(k, sizeof(k), "s3", k);
	hmac(k, sizeof(k), "aws4_request", k);
	hmac(k, sizeof(k), to_sign, sig);
	hex(sig, sizeof(sig), sig_hex);
	url = g_strdup_printf("%s://%s%s?%s&X-Amz-Signature=%s", p->scheme, p->host, uri, query,
	                      sig_hex);

	egw_secret_wipe(key0);
	memset(k, 0, sizeof(k));
	g_free(key0);
	g_free(to_sign);
	g_free(uri);
	g_free(query);
	g_free(token);
	g_free(credential);
	g_free(scope);
	return url;
}
