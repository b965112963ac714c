/* Uploads of local files to object storage (any store, see store.h), never
 * losing one: small files in one put, larger ones in parts in parallel;
 * each request's body checked by the server (its MD5) and what the server
 * says it stored compared with what was sent (by the store). A local file is
 * deleted only after the storage confirmed all of it. Failures the storage
 * may get over (no connection, timeouts, 5xx, throttling) are retried with
 * exponential backoff and jitter for retry_window_s after the first one;
 * others (signature, credentials, bucket, access) fail the file at once.
 * A failed file stays where it is.
 *
 * Files start in the order they were added, up to `parallel` requests in
 * flight in all; a file added with EGW_UPLOAD_AFTER_PREVIOUS (an HLS
 * playlist) starts only once every file added before it is stored, and
 * fails without a request when one of them failed.
 *
 * Lifetime rule: file_done runs on the http client's context, once per
 * file, never after egw_uploader_free() (which cancels what is in flight
 * and leaves the files in place).
 * locality: the http client's context. */
#ifndef EGW_UPLOAD_H
#define EGW_UPLOAD_H

#include <stddef.h>

#include "base/err.h"
#include "http/http.h"
#include "storage/store.h"

#define EGW_UPLOAD_PART_MIN (64 * 1024)
#define EGW_UPLOAD_PART_MAX (5LL << 30)

typedef struct egw_upload_conf {
	size_t part_size;   /* bytes; files larger than this go up in parts of this size */
	int parallel;       /* requests in flight, at least 1 */
	int retry_window_s; /* how long transient failures are retried */
	int keep_local;     /* do not delete the local file once stored */
	const char *log_id; /* the egress, for the log */
} egw_upload_conf_t;

typedef struct egw_upload_file {
	const char *path; /* local */
	const char *key;  /* object key */
	const char *content_type;
	long long size;     /* bytes stored */
	const char *sha256; /* hex digest of the local file */
	const char *etag;   /* the storage's */
	int parts;          /* 0: one PUT */
	int attempts;       /* requests retried */
	void *tag;          /* the caller's */
} egw_upload_file_t;

typedef struct egw_upload_events {
	/* err EGW_OK: stored (and deleted locally unless keep_local).
	 * Otherwise EGW_ERR_STORAGE (refused), EGW_ERR_STORAGE_UNREACHABLE
	 * (retry window over) or EGW_ERR_IO (local file unreadable). */
	void (*file_done)(void *user, const egw_upload_file_t *f, egw_err_t err,
	                  const char *message);
	/* a transient failure, about to be retried after delay_ms */
	void (*retrying)(void *user, const egw_upload_file_t *f, const char *message, int delay_ms);
	/* a multipart upload began (to abort it after a crash); may be NULL */
	void (*multipart)(void *user, const egw_upload_file_t *f, const char *upload_id);
} egw_upload_events_t;

typedef struct egw_uploader egw_uploader_t;

#define EGW_UPLOAD_AFTER_PREVIOUS 1 /* starts once every file added before is stored */
#define EGW_UPLOAD_KEEP_LOCAL 2     /* the local file stays (it changes still: a live playlist) */

/* store: borrowed; it outlives the uploader. */
egw_uploader_t *egw_uploader_new(egw_store_t *store, const egw_upload_conf_t *conf,
                                 const egw_upload_events_t *ev, void *user);
/* flags: EGW_UPLOAD_*. */
void egw_uploader_add(egw_uploader_t *u, const char *path, const char *key,
                      const char *content_type, int flags, void *tag);
/* Aborts a multipart upload left by an earlier run (fire and forget: a
 * failure is logged). */
void egw_uploader_abort(egw_uploader_t *u, const char *key, const char *upload_id);
/* Files added and not done yet. */
unsigned egw_uploader_pending(const egw_uploader_t *u);
void egw_uploader_free(egw_uploader_t *u);

#endif
