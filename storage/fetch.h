/* Downloads from object storage, on any store: the object's presigned GET
 * URL (every backend makes one: S3 and Cloud Storage V4 signatures, Azure
 * SAS) fetched into a local file. The file is written as <path>.part and
 * renamed to path once whole; a failed fetch leaves nothing. Transport
 * errors and 5xx are tried again (3 attempts, 1 then 3 s apart).
 *
 * Lifetime rule: done runs once on the store's http context, never from
 * inside egw_store_fetch(), unless egw_fetch_cancel() came first (which
 * removes the partial file).
 * locality: the store's http context. */
#ifndef EGW_FETCH_H
#define EGW_FETCH_H

#include <glib.h>

#include "base/err.h"
#include "storage/store.h"

typedef struct egw_fetch egw_fetch_t;

/* err: EGW_OK; EGW_ERR_NOT_FOUND (no such object); EGW_ERR_STORAGE (refused:
 * credentials, access); EGW_ERR_STORAGE_UNREACHABLE; EGW_ERR_INTERNAL (the
 * local file). message names the object's location, never a credential. */
typedef void (*egw_fetch_done_fn)(void *user, egw_err_t err, const char *message, guint64 size);

/* NULL (errstr says why; done never runs) when the file cannot be made
 * (it exists, or its directory does not) or no URL can be signed. */
egw_fetch_t *egw_store_fetch(egw_store_t *s, const char *key, const char *path,
                             egw_fetch_done_fn done, void *user, char *errstr,
                             size_t errstr_size);
void egw_fetch_cancel(egw_fetch_t *f); /* NULL ok */

#endif
