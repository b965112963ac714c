/* Delivery internals shared by deliver.c (the journal, the uploads, the
 * final event) and deliver_resume.c (`egress upload`). Do not include
 * outside job/deliver*.c.
 * locality: the job's main context. */
#ifndef EGW_DELIVER_INT_H
#define EGW_DELIVER_INT_H

#include <glib.h>
#include <jansson.h>

#include "http/http.h"
#include "job/deliver.h"
#include "storage/store.h"
#include "storage/upload.h"

struct egw_delivery {
	const egw_job_settings_t *st;
	char egress_id[EGW_EGRESS_ID_MAX + 1];
	char *dir;
	int lock_fd;
	json_t *journal;  /* owned */
	egw_http_t *http;
	egw_store_t *store; /* from the journal's storage (and the environment) */
	const char *prefix;
	int presign_s;
	egw_uploader_t *up;
	egw_delivery_events_t ev;
	void *user;
	GPtrArray *names;   /* struct name: the uploader's tags */
	GHashTable *queued; /* names of files (not playlists) in the uploader */
	char *manifest_rel;
	int busy, manifest_tried;
};

struct name { /* what an upload is of */
	char *rel;
	int live_playlist; /* a playlist uploaded while the egress records */
};

static inline const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A delivery without a journal yet (the caller reads or makes one). */
egw_delivery_t *egw_delivery_new(const egw_job_settings_t *st, const char *egress_id);
/* The store of the journal's storage settings (completed from the
 * environment: AWS_*, AZURE_STORAGE_KEY), d->http and d->store made
 * (deliver_store.c). */
egw_err_t egw_delivery_resolve(egw_delivery_t *d, char *errstr, size_t errstr_size);
/* Uploads every file of the spool directory not stored yet (d->busy set). */
void egw_delivery_upload_all(egw_delivery_t *d);
/* The final event, from the journal, and the spool cleared or kept. */
void egw_delivery_report(egw_delivery_t *d);

#endif
