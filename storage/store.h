/* Object storage behind one ops table: the requests an upload needs, each
 * backend (S3 and S3-compatibles, Google Cloud Storage, Azure Blob Storage)
 * mapping them onto its own API:
 *
 *   put       one object in one request
 *   create    begin an upload in parts (an upload id)
 *   part      one part (1-based), any order, several in flight
 *   complete  assemble the parts, in order
 *   abort     drop the parts of an upload never completed
 *
 * Every body goes with its MD5 for the server to check, and every backend
 * compares what the server says it stored with what was sent (a mismatch
 * is a transient failure: the request is sent again). Answers are sorted
 * into what retrying may cure (EGW_ERR_STORAGE_UNREACHABLE: no connection,
 * timeouts, 5xx, throttling) and what it cannot (EGW_ERR_STORAGE:
 * signature, credentials, bucket, access). Messages name the operation and
 * the object's location and the server's error code, never a key or token.
 *
 * Lifetime rule: a request's callback runs once on the http client's
 * context, never from inside the call that started it, unless
 * egw_store_cancel() came first; the egw_store_req_t pointer is valid until
 * then. A store outlives its requests; egw_store_free() wipes its secrets.
 * locality: the http client's context. */
#ifndef EGW_STORE_H
#define EGW_STORE_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "http/http.h"

typedef struct egw_store egw_store_t;
typedef struct egw_store_req egw_store_req_t;

typedef struct egw_store_result {
	egw_err_t err;         /* EGW_OK, EGW_ERR_STORAGE, EGW_ERR_STORAGE_UNREACHABLE */
	const char *message;   /* with err */
	long status;           /* HTTP status, 0 without an answer */
	const char *etag;      /* put, complete: the object's; part: what complete needs */
	const char *upload_id; /* create */
} egw_store_result_t;

typedef void (*egw_store_done_fn)(void *user, const egw_store_result_t *res);

typedef struct egw_store_ops {
	/* data (len bytes, g_malloc'ed) is taken: freed by the request, even
	 * when NULL is returned. md5_hex: the data's MD5. NULL return: the
	 * request could not be started (done never runs). */
	egw_store_req_t *(*put)(egw_store_t *s, const char *key, char *data, size_t len,
	                        const char *content_type, const char *md5_hex,
	                        egw_store_done_fn done, void *user);
	egw_store_req_t *(*create)(egw_store_t *s, const char *key, const char *content_type,
	                           egw_store_done_fn done, void *user);
	egw_store_req_t *(*part)(egw_store_t *s, const char *key, const char *upload_id, int part,
	                         char *data, size_t len, const char *md5_hex,
	                         egw_store_done_fn done, void *user);
	/* etags[i], md5s[i]: part i+1's answer and MD5. */
	egw_store_req_t *(*complete)(egw_store_t *s, const char *key, const char *upload_id,
	                             char *const *etags, char *const *md5s, int n_parts,
	                             const char *content_type, egw_store_done_fn done, void *user);
	egw_store_req_t *(*abort)(egw_store_t *s, const char *key, const char *upload_id,
	                          egw_store_done_fn done, void *user);
	void (*cancel)(egw_store_req_t *r);
	/* "s3://bucket/key", "gs://...", the blob's URL (g_free it). */
	char *(*location)(const egw_store_t *s, const char *key);
	/* A URL that GETs the object without credentials until now + expires_s
	 * (g_free it); NULL with errstr when this store cannot make one. */
	char *(*presign_get)(const egw_store_t *s, const char *key, time_t now, int expires_s,
	                     char *errstr, size_t errstr_size);
	void (*free)(egw_store_t *s);
} egw_store_ops_t;

/* The common head of every backend's store. */
struct egw_store {
	const egw_store_ops_t *ops;
	egw_http_t *http;
	char *where; /* "s3://bucket", for messages */
};

static inline char *egw_store_location(const egw_store_t *s, const char *key)
{
	return s->ops->location(s, key);
}

static inline void egw_store_cancel(egw_store_t *s, egw_store_req_t *r)
{
	if (r)
		s->ops->cancel(r);
}

void egw_store_free(egw_store_t *s);

/* Sorts an answer with an XML error document (S3, Cloud Storage and Azure
 * all send <Error><Code>..</Code><Message>..</Message></Error>): err for the
 * HTTP status and the code; code and message get the document's ("" when
 * none). */
egw_err_t egw_store_classify(long status, const char *body, char *code, size_t code_size,
                             char *message, size_t message_size);

/* The answer to one storage request as a result: err and message set from
 * the transport error or the HTTP status and error document ("VERB
 * location: HTTP 403 Code (Message)"); msg is the buffer message points
 * into. Returns the result's err. */
egw_err_t egw_store_answer(const egw_http_response_t *res, const char *what,
                           egw_store_result_t *out, char *msg, size_t msg_size);

/* The text of the first <tag>...</tag> in xml into out ("" if none). */
void egw_store_xml_text(const char *xml, const char *tag, char *out, size_t out_size);

/* Hex digests (OpenSSL: its SHA-256 uses the CPU's SHA extensions where
 * there are some; any thread). data NULL: empty. */
void egw_md5_hex(const void *data, size_t len, char out[33]);
void egw_sha256_hex(const void *data, size_t len, char out[65]);
/* base64 of the 16 bytes md5_hex stands for (g_free it); NULL when it is
 * not 32 hex digits. */
char *egw_md5_hex_to_b64(const char *md5_hex);
/* The hex form of a base64 MD5 (a Content-MD5 header) into out; 0 when it
 * is not one. */
int egw_md5_b64_to_hex(const char *b64, char out[33]);

/* Calls done(user, res) on ctx from an idle source (for operations that
 * need no request); the returned req is cancellable with
 * egw_store_idle_cancel(). res's strings are copied. */
egw_store_req_t *egw_store_idle(GMainContext *ctx, const egw_store_result_t *res,
                                egw_store_done_fn done, void *user);
void egw_store_idle_cancel(egw_store_req_t *r);

#endif
