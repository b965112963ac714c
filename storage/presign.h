/* S3 presigned URLs: AWS Signature Version 4 in the query string, for GET
 * links to stored outputs (what libcurl's CURLOPT_AWS_SIGV4 cannot make:
 * it signs requests it sends, in headers). Pure: GLib only.
 * locality: any thread. */
#ifndef EGW_PRESIGN_H
#define EGW_PRESIGN_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"

#define EGW_PRESIGN_MAX_S 604800 /* S3's limit: 7 days */

typedef struct egw_s3_presign {
	const char *method; /* "GET" */
	const char *scheme; /* "https" or "http" */
	const char *host;   /* as in the Host header: "bucket.s3.amazonaws.com", "127.0.0.1:4569" */
	const char *path;   /* the object's path, not encoded: "/test.txt", "/bucket/a b.mp4" */
	const char *region; /* "us-east-1" */
	const char *access_key, *secret_key; /* secret_key: secret */
	const char *session_token;           /* secret; NULL when none */
	time_t now;                          /* the signing time */
	int expires_s;                       /* 1..EGW_PRESIGN_MAX_S */
} egw_s3_presign_t;

/* The presigned URL (g_free it), or NULL with errstr (which never quotes a
 * key) for a request that cannot be signed. */
char *egw_s3_presign(const egw_s3_presign_t *p, char *errstr, size_t errstr_size);

/* The string to sign of a query-string signed GET in the V4 style that
 * S3 (AWS4-HMAC-SHA256) and Cloud Storage (GOOG4-RSA-SHA256) share:
 * algorithm, stamp ("20261205T080000Z"), scope, and the hex SHA-256 of the
 * canonical request (method, the encoded path, the sorted query, the host
 * as the only signed header, an unsigned payload). g_free it. */
char *egw_v4_string_to_sign(const char *algorithm, const char *method, const char *encoded_path,
                            const char *query, const char *host, const char *stamp,
                            const char *scope);

/* AWS's URI encoding of s (RFC 3986 unreserved characters kept, '/' kept
 * when keep_slash), g_free it. */
char *egw_aws_uri_encode(const char *s, int keep_slash);

#endif
