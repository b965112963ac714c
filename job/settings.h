/* What a job process needs to know about the worker that runs it: the
 * worker's configuration as far as one egress is concerned. Filled by the
 * command line (worker/main.c) from the worker's settings.
 * locality: read-only after start-up. */
#ifndef EGW_JOB_SETTINGS_H
#define EGW_JOB_SETTINGS_H

#include <stddef.h>

typedef struct egw_job_settings {
	const char *worker_id;
	const char *storage_dir;          /* default local storage root */
	const char *const *storage_roots; /* where storage.dir may point */
	size_t n_storage_roots;
	const char *spool_dir;    /* outputs bound for object storage, then their journals */
	int upload_part_size_kb;
	int upload_parallel;
	int upload_retry_window_s;
	int max_duration_s;       /* default limits */
	int empty_room_timeout_s;
	int sfu_timeout_ms;       /* one signalling request */
	int stop_grace_s;         /* finalising after a stop */
	const char *tls_ca_file;  /* CAs trusted by destinations' TLS; NULL or "": the system's */
} egw_job_settings_t;

#endif
