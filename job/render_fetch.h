/* A render whose manifest is in object storage (source.manifest
 * "s3://bucket/key", "gs://bucket/key" or the blob's URL, in the job's
 * storage): the manifest and every file its tracks name fetched into a
 * local directory, where the render reads them as a local recording (the
 * files beside the manifest; a track's `file` keeps its relative path).
 *
 * Lifetime rule: done runs once on the store's http context, never from
 * inside egw_render_fetch_start(), unless egw_render_fetch_free() came
 * first. The directory and what was fetched stay for the caller to remove.
 * locality: the job's main context (the store's). */
#ifndef EGW_RENDER_FETCH_H
#define EGW_RENDER_FETCH_H

#include "base/err.h"
#include "storage/store.h"

typedef struct egw_render_fetch egw_render_fetch_t;

/* err: EGW_OK (manifest: the local manifest's path); EGW_ERR_NOT_FOUND (the
 * manifest or a track's file is not in the storage: the message names the
 * track); EGW_ERR_STORAGE, EGW_ERR_STORAGE_UNREACHABLE; EGW_ERR_INTERNAL
 * (the local directory). */
typedef void (*egw_render_fetch_done_fn)(void *user, egw_err_t err, const char *message,
                                         const char *manifest);

/* Is this manifest location one in object storage? */
int egw_render_fetch_remote(const char *manifest);
/* Starts fetching the manifest at location from store into dir (created,
 * mode 0700; it must not hold the files yet). NULL (errstr says why, done
 * never runs): the location is not in store (EGW_ERR_INVALID_REQUEST in
 * *err) or dir cannot be made. */
egw_render_fetch_t *egw_render_fetch_start(egw_store_t *store, const char *location,
                                           const char *dir, const char *log_id,
                                           egw_render_fetch_done_fn done, void *user,
                                           egw_err_t *err, char *errstr, size_t errstr_size);
void egw_render_fetch_free(egw_render_fetch_t *f); /* NULL ok; cancels */

#endif
