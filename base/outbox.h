/* Messages waiting for Kafka, one file each in an outbox directory
 * (<spool_dir>/.outbox/), from the moment they are made until the broker
 * acknowledged them. The worker keeps its status events and dead-letter
 * copies there (worker/outbox.h); a job process whose worker is gone
 * writes its last events into its jobs/ subdirectory, for the next worker
 * on that spool to deliver. A file holds one JSON object:
 *   {"topic": "..." (absent: the status topic), "key": "..." (may be absent),
 *    "value": "text" or "value_b64": "base64" (bytes that are not UTF-8),
 *    "headers": ["name", "value", ...] (may be absent),
 *    "final": true (a final status event: never dropped to make room)}
 * Names sort in the order the messages were made, across processes:
 * <unix ms, 13 digits>-<pid, 7 digits>-<n, 6 digits>.msg (a process's
 * milliseconds never go back, whatever the clock does).
 * locality: any thread; an egw_outbox_namer_t belongs to one thread. */
#ifndef EGW_BASE_OUTBOX_H
#define EGW_BASE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define EGW_OUTBOX_DIR ".outbox" /* under the spool ("." is in no egress id) */
/* Under it, where job processes whose worker is gone write (the worker
 * moves their files into the outbox; it alone writes there). */
#define EGW_OUTBOX_JOBS_DIR "jobs"
#define EGW_OUTBOX_HEADERS_MAX 8 /* name/value pairs */

typedef struct egw_outbox_rec {
	char *topic; /* NULL: the status topic */
	char *key;   /* NULL: none */
	char *value;
	size_t len;
	char *headers[2 * EGW_OUTBOX_HEADERS_MAX + 1]; /* name, value, ..., NULL */
	int final;
} egw_outbox_rec_t;

/* Names the files one process writes. */
typedef struct egw_outbox_namer {
	int64_t last_ms;
	unsigned n;
} egw_outbox_namer_t;

/* Writes rec into dir (created 0700 if needed) as a new file (0600,
 * complete or absent); *path (may be NULL) gets its path (g_free). 0 or -1
 * with the reason in errstr. */
int egw_outbox_write(const char *dir, egw_outbox_namer_t *namer, const egw_outbox_rec_t *rec,
                     char **path, char *errstr, size_t errstr_size);

/* Reads a file written by egw_outbox_write(). 0, or -1 (not such a file). */
int egw_outbox_read(const char *path, egw_outbox_rec_t *rec);

/* Frees what rec holds (not rec). */
void egw_outbox_rec_clear(egw_outbox_rec_t *rec);

/* The names in dir ending in suffix, sorted (strcmp), NULL-terminated
 * (g_strfreev); an empty list when dir cannot be read. */
char **egw_outbox_names(const char *dir, const char *suffix);

#endif
