/* S3 and S3-compatible object storage: the requests an upload needs
 * (PutObject, and a multipart upload's Create, UploadPart, Complete and
 * Abort), sent through an egw_http client and signed by libcurl's
 * CURLOPT_AWS_SIGV4, with the body's SHA-256 and MD5 sent along so that the
 * server checks what it received. Answers are sorted into what retrying may
 * cure (EGW_ERR_STORAGE_UNREACHABLE: no connection, timeouts, 5xx,
 * throttling) and what it cannot (EGW_ERR_STORAGE: signature, credentials,
 * bucket, access). Messages name the operation, the bucket and key and the
 * server's error code, never a key or token.
 *
 * Lifetime rule: as egw_http's: a request's callback runs once on the
 * client's context unless egw_s3_cancel() came first; the egw_s3_req_t
 * pointer is valid until then.
 * locality: the http client's context. */
#ifndef EGW_S3_H
#define EGW_S3_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "http/http.h"

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

typedef struct egw_s3_result {
	egw_err_t err;         /* EGW_OK, EGW_ERR_STORAGE, EGW_ERR_STORAGE_UNREACHABLE */
	const char *message;   /* with err */
	long status;           /* HTTP status, 0 without an answer */
	const char *etag;      /* PUT, UploadPart, Complete: the server's ETag (no quotes) */
	const char *upload_id; /* CreateMultipartUpload */
} egw_s3_result_t;

typedef struct egw_s3_req egw_s3_req_t;
typedef void (*egw_s3_done_fn)(void *user, const egw_s3_result_t *res);

/* PutObject of data (len bytes, g_malloc'ed: taken, freed by the request). */
/* md5_hex: the data's MD5 when known (NULL: computed). Bodies over 64 KiB
 * are signed with an unsigned payload: their integrity is Content-MD5's,
 * which the server checks. */
egw_s3_req_t *egw_s3_put(egw_http_t *h, const egw_s3_conf_t *c, const char *key, char *data,
                         size_t len, const char *content_type, const char *md5_hex,
                         egw_s3_done_fn done, void *user);
egw_s3_req_t *egw_s3_create_multipart(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                      const char *content_type, egw_s3_done_fn done, void *user);
/* part: 1..10000; data taken as for egw_s3_put. */
egw_s3_req_t *egw_s3_upload_part(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                 const char *upload_id, int part, char *data, size_t len,
                                 const char *md5_hex, egw_s3_done_fn done, void *user);
/* etags[i] is part i+1's. */
egw_s3_req_t *egw_s3_complete_multipart(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                        const char *upload_id, char *const *etags, int n_parts,
                                        egw_s3_done_fn done, void *user);
egw_s3_req_t *egw_s3_abort_multipart(egw_http_t *h, const egw_s3_conf_t *c, const char *key,
                                     const char *upload_id, egw_s3_done_fn done, void *user);
void egw_s3_cancel(egw_s3_req_t *r);

/* "s3://bucket/key" (g_free it). */
char *egw_s3_location(const egw_s3_conf_t *c, const char *key);
/* The object's URL (g_free it); query appended when not NULL. */
char *egw_s3_url(const egw_s3_conf_t *c, const char *key, const char *query);
/* A presigned GET URL valid for expires_s from now (g_free it); NULL with
 * errstr when it cannot be made. */
char *egw_s3_presigned_get(const egw_s3_conf_t *c, const char *key, time_t now, int expires_s,
                           char *errstr, size_t errstr_size);

/* Sorts an answer (exposed for unit tests): err for HTTP status and the
 * error document body; code gets the server's <Code> ("" when none). */
egw_err_t egw_s3_classify(long status, const char *body, char *code, size_t code_size,
                          char *message, size_t message_size);

/* The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s,
 * "-" and the number of parts (md5_hex: n_parts hex digests). */
void egw_s3_multipart_etag(char *const *md5_hex, int n_parts, char out[48]);

#endif
