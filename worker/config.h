/* Worker configuration: one declarative table (name, type, default, bounds,
 * doc) read from a JSON file and EGRESS_* environment variables. The same
 * table prints docs/configuration.md (`egress config-doc`).
 * locality: built once at start-up, then read-only. */
#ifndef EGW_CONFIG_H
#define EGW_CONFIG_H

#include <stddef.h>

#include "base/err.h"

typedef struct egw_config {
	char *worker_id;
	char *kafka_brokers; /* "" = start the embedded broker */
	char *jobs_topic, *control_topic, *status_topic, *deadletter_topic;
	char *consumer_group;
	int max_jobs;
	char *storage_dir;
	int max_duration_s;
	int empty_room_timeout_s;
	int sfu_timeout_ms;
	int stop_grace_s;
	int start_max_age_s; /* 0 = no limit */
	char **kafka_props; /* "name=value" pairs from EGRESS_KAFKA_* and kafka_props */
	size_t n_kafka_props;
} egw_config_t;

/* Defaults, then the JSON file at path (may be NULL), then the environment.
 * Unknown keys in the file are errors (a typo must not pass silently). */
egw_err_t egw_config_load(const char *path, egw_config_t **out, char *errstr, size_t errstr_size);
void egw_config_free(egw_config_t *cfg);

/* Writes the configuration reference (Markdown) to f. */
void egw_config_write_doc(void *file);

#endif
