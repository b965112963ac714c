/* The Azure Blob Storage store (see store.h): block blobs, requests
 * authorized with Shared Key (azure_sign.c). put is Put Blob; an upload in
 * parts is Put Block for each part (block ids made of a random upload id
 * and the part number) and Put Block List to commit them in order; the
 * service's Content-MD5 of every body it stored is compared with what was
 * sent. Azure has no way to drop uncommitted blocks: abort does nothing,
 * and the blocks of an upload never committed are discarded by the
 * service when another upload of the same blob commits, or after a week.
 * Presigned URLs are service SAS (read only, one blob).
 * locality: the http client's context. */
#ifndef EGW_AZURE_H
#define EGW_AZURE_H

#include <stddef.h>

#include "http/http.h"
#include "storage/store.h"

typedef struct egw_azure_conf {
	const char *account;
	const char *account_key; /* base64, as the portal shows it (secret) */
	const char *container;
	/* The Blob service's URL ("http://127.0.0.1:10000/devstoreaccount1" for
	 * Azurite); NULL: https://ACCOUNT.blob.core.windows.net */
	const char *endpoint;
	long timeout_ms; /* one request; 0: 120 s */
} egw_azure_conf_t;

/* A store on h for c (copied); NULL with errstr (never quoting the key)
 * when the key is not base64 or a field is missing. */
egw_store_t *egw_store_azure_new(egw_http_t *h, const egw_azure_conf_t *c, char *errstr,
                                 size_t errstr_size);

/* The blob's URL (g_free it), query appended when not NULL. */
char *egw_azure_url(const egw_azure_conf_t *c, const char *key, const char *query);

#endif
