/* The Google Cloud Storage store for service accounts (see store.h): the
 * S3 store on Cloud Storage's XML API, its requests carrying an OAuth2
 * access token instead of an HMAC signature. The token comes from the
 * account's token_uri for a JWT assertion signed with the account's key
 * (gcs_jwt.c), is fetched when the first request needs it and again five
 * minutes before it expires; requests wait for it. A token endpoint that
 * cannot be reached, or answers 5xx, fails the waiting requests as
 * transient (storage_unreachable); one that refuses the assertion
 * (invalid_grant, a disabled account) as permanent (storage_error).
 * Presigned URLs are V4 signed URLs (GOOG4-RSA-SHA256) signed with the
 * account's key.
 * locality: the http client's context. */
#ifndef EGW_GCS_H
#define EGW_GCS_H

#include <stddef.h>

#include "http/http.h"
#include "storage/store.h"

typedef struct egw_gcs_conf {
	const char *bucket;
	const char *endpoint;         /* "https://storage.googleapis.com" */
	const char *credentials_json; /* the service account's key file (secret) */
	const char *log_id;           /* the egress, for the log */
	long timeout_ms;              /* one request; 0: 120 s */
} egw_gcs_conf_t;

/* A store on h for c (copied); NULL with errstr (never quoting the key
 * file) when the key file is not a usable service account key. */
egw_store_t *egw_store_gcs_new(egw_http_t *h, const egw_gcs_conf_t *c, char *errstr,
                               size_t errstr_size);

#endif
