/* The S3 store (see store.h): S3 and S3-compatible object storage, and
 * Google Cloud Storage's XML API (S3's protocol), requests signed by
 * libcurl's CURLOPT_AWS_SIGV4 or, for Cloud Storage with a service
 * account, carrying an OAuth2 access token. put is PutObject, the parts a
 * multipart upload; ETags are MD5s there and are compared with what was
 * sent (a multipart object's with the MD5 of its parts' MD5s).
 * locality: the http client's context. */
#ifndef EGW_S3_H
#define EGW_S3_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "http/http.h"
#include "storage/store.h"

typedef struct egw_s3_conf {
	const char *bucket;
	const char *region; /* NULL: us-east-1 */
	const char *
	        endpoint; /* "http(s)://host[:port]"; NULL: AWS (https://s3.REGION.amazonaws.com) */
	const char *access_key, *secret_key, *session_token; /* secrets */
	int path_style;  /* https://host/bucket/key instead of https://bucket.host/key */
	const char *scheme; /* of locations: "s3" (NULL), "gs" for Google Cloud Storage */
	long timeout_ms; /* one request; 0: 120 s */
} egw_s3_conf_t;

/* A store on h for c (copied). */
egw_store_t *egw_store_s3_new(egw_http_t *h, const egw_s3_conf_t *c);
/* From now on, requests carry "Authorization: Bearer token" instead of a
 * SigV4 signature (Cloud Storage with OAuth2); token is copied. */
void egw_store_s3_set_bearer(egw_store_t *s, const char *token);

/* "s3://bucket/key" (g_free it). */
char *egw_s3_location(const egw_s3_conf_t *c, const char *key);
/* The object's URL (g_free it); query appended when not NULL. */
char *egw_s3_url(const egw_s3_conf_t *c, const char *key, const char *query);
/* A presigned GET URL valid for expires_s from now (g_free it); NULL with
 * errstr when it cannot be made. */
char *egw_s3_presigned_get(const egw_s3_conf_t *c, const char *key, time_t now, int expires_s,
                           char *errstr, size_t errstr_size);

/* The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s,
 * "-" and the number of parts (md5_hex: n_parts hex digests). */
void egw_s3_multipart_etag(char *const *md5_hex, int n_parts, char out[48]);

#endif
