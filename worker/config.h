/* Worker configuration: one declarative table (name, type, default, bounds,
 * doc) read from a JSON file and EGRESS_* environment variables under one set
 * of rules (docs/configuration.md, printed from the same table by
 * `egress config-doc`).
 * locality: built once at start-up, then read-only. */
#ifndef EGW_CONFIG_H
#define EGW_CONFIG_H

#include <stddef.h>

#include "base/err.h"

/* kafka_brokers value that asks for the in-process test broker */
#define EGW_CONFIG_EMBEDDED_BROKER "embedded"

typedef struct egw_config {
	char *worker_id;
	char *kafka_brokers; /* "host:port,...", EGW_CONFIG_EMBEDDED_BROKER, or ""
	                      * (not configured: `egress worker` refuses to start) */
	int kafka_connect_timeout_s;
	char *jobs_topic, *control_topic, *status_topic, *deadletter_topic;
	char *consumer_group;
	int max_jobs;
	int capacity_mcores; /* 0: online cores x 1000 */
	int max_utilisation_pct;
	char *storage_dir;
	char **storage_roots; /* where a job's storage.dir may point; at least one */
	size_t n_storage_roots;
	char *spool_dir;
	int status_outbox_mb; /* worker/outbox.h */
	int upload_part_size_kb;
	int upload_parallel;
	int min_free_disk_mb;
	int upload_retry_window_s;
	int webhook_retry_window_s;
	int webhook_timeout_ms;
	int max_duration_s;
	int empty_room_timeout_s;
	int sfu_timeout_ms;
	char *tls_ca_file; /* "" : the system's trust store */
	int stop_grace_s;
	int drain_timeout_s; /* 0: no drain */
	int min_free_memory_mb; /* MemAvailable below it: no new jobs */
	int spare_jobs;      /* warm job processes kept (worker/spares.h) */
	int handover;        /* hand starts over when full (worker/handover.h) */
	char *http_listen;   /* "": no health and metrics server */
	char *log_level;     /* "info", "info,sfu=debug": egw_log_check_levels() */
	int log_format;      /* 0 text, 1 json */
	int start_max_age_s; /* 0 = no limit */
	char **kafka_props;  /* "name=value" pairs from EGRESS_KAFKA_* and kafka_props */
	size_t n_kafka_props;
} egw_config_t;

/* Defaults, then the JSON file at path (may be NULL), then the environment.
 * Anything that breaks the rules (unknown key or EGRESS_ variable, wrong
 * type, duplicate key, out of bounds, empty where it makes no sense) is an
 * error: EGW_ERR_INVALID_REQUEST with the file or variable and the setting
 * named in errstr, and *out NULL. */
egw_err_t egw_config_load(const char *path, egw_config_t **out, char *errstr, size_t errstr_size);
void egw_config_free(egw_config_t *cfg);

/* Writes the configuration reference (Markdown, docs/configuration.md) to
 * file (a FILE *). */
void egw_config_write_doc(void *file);

#endif
