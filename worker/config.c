#include "worker/config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

typedef enum { CT_STR, CT_INT } conf_type_t;

/* The one table of settings. Every setting can be given in the JSON file
 * under `name` or in the environment as EGRESS_<NAME upper-cased>. */
static const struct conf_prop {
	const char *name;
	conf_type_t type;
	size_t offset;
	const char *sdef;
	int idef, min, max;
	const char *doc;
} props[] = {
#define S(n, d, doc) {#n, CT_STR, offsetof(egw_config_t, n), d, 0, 0, 0, doc}
#define I(n, d, lo, hi, doc) {#n, CT_INT, offsetof(egw_config_t, n), NULL, d, lo, hi, doc}
	S(worker_id, "", "Name of this worker in status events. Default: `<hostname>-<pid>`."),
	S(kafka_brokers, "",
	  "Kafka bootstrap servers (`host:port,...`). Empty: start the embedded broker "
	  "in-process and log its address."),
	S(jobs_topic, "egress.jobs", "Topic of start requests, shared by the consumer group."),
	S(control_topic, "egress.control", "Topic of stop/update requests, read by every worker."),
	S(status_topic, "egress.status", "Topic the worker writes status events to."),
	S(deadletter_topic, "egress.deadletter", "Topic for requests that cannot be parsed."),
	S(consumer_group, "egress-workers", "Consumer group of the jobs topic."),
	I(max_jobs, 2, 1, 256,
	  "Jobs run at once. A full worker leaves the jobs group so others take new starts."),
	S(storage_dir, "./out", "Default local storage directory for jobs without `storage`."),
	I(max_duration_s, 14400, 1, 7 * 86400, "Default `limits.max_duration_s`."),
	I(empty_room_timeout_s, 300, 1, 86400,
	  "Default `limits.empty_room_timeout_s`: stop when the source is absent this long."),
	I(sfu_timeout_ms, 10000, 100, 120000, "Timeout of one SFU signalling request."),
	I(stop_grace_s, 10, 1, 600,
	  "After a stop, how long a job may take to finalise its files before it is killed."),
	I(start_max_age_s, 300, 0, 7 * 86400,
	  "A start request whose Kafka timestamp is older than this many seconds when the worker "
	  "takes it is not run: it is dead-lettered and reported `failed` with `error.code` "
	  "`expired` (a backlog that built up while no worker ran is stale: its rooms are over). "
	  "0: no limit. The age is the worker's clock minus the message timestamp, so keep "
	  "clocks in sync. With `auto.offset.reset=latest` a new consumer group also starts at "
	  "the end of the jobs topic: see docs/jobs.md."),
#undef S
#undef I
};

#define NPROPS (sizeof(props) / sizeof(props[0]))

static char **str_field(egw_config_t *cfg, const struct conf_prop *p)
{
	return (char **)((char *)cfg + p->offset);
}

static int *int_field(egw_config_t *cfg, const struct conf_prop *p)
{
	return (int *)((char *)cfg + p->offset);
}

static egw_err_t set_prop(egw_config_t *cfg, const struct conf_prop *p, const char *sval,
			  json_int_t ival, int is_int, const char *where, char *errstr,
			  size_t errstr_size)
{
	if (p->type == CT_STR) {
		if (is_int) {
			snprintf(errstr, errstr_size, "%s: %s must be a string", where, p->name);
			return EGW_ERR_INVALID_REQUEST;
		}
		char *dup = strdup(sval);
		if (!dup)
			return EGW_ERR_NOMEM;
		free(*str_field(cfg, p));
		*str_field(cfg, p) = dup;
		return EGW_OK;
	}
	if (!is_int) {
		char *end;
		errno = 0;
		ival = strtoll(sval, &end, 10);
		if (errno || end == sval || *end) {
			snprintf(errstr, errstr_size, "%s: %s must be an integer", where, p->name);
			return EGW_ERR_INVALID_REQUEST;
		}
	}
	if (ival < p->min || ival > p->max) {
		snprintf(errstr, errstr_size, "%s: %s must be between %d and %d", where, p->name,
			 p->min, p->max);
		return EGW_ERR_INVALID_REQUEST;
	}
	*int_field(cfg, p) = (int)ival;
	return EGW_OK;
}

static egw_err_t add_kafka_prop(egw_config_t *cfg, const char *name, const char *value)
{
	char **n = realloc(cfg->kafka_props, (cfg->n_kafka_props + 1) * sizeof(*n));
	if (!n)
		return EGW_ERR_NOMEM;
	cfg->kafka_props = n;
	size_t len = strlen(name) + strlen(value) + 2;
	if (!(n[cfg->n_kafka_props] = malloc(len)))
		return EGW_ERR_NOMEM;
	snprintf(n[cfg->n_kafka_props++], len, "%s=%s", name, value);
	return EGW_OK;
}

static egw_err_t load_file(egw_config_t *cfg, const char *path, char *errstr, size_t errstr_size)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *val;
	const char *key;
	egw_err_t err = EGW_OK;

	if (!root || !json_is_object(root)) {
		snprintf(errstr, errstr_size, "%s:%d: %s", path, jerr.line,
			 root ? "must be a JSON object" : jerr.text);
		json_decref(root);
		return EGW_ERR_INVALID_REQUEST;
	}
	json_object_foreach(root, key, val) {
		const struct conf_prop *p = NULL;
		for (size_t i = 0; i < NPROPS && !p; i++)
			if (!strcmp(props[i].name, key))
				p = &props[i];
		if (!strcmp(key, "kafka_props") && json_is_object(val)) {
			const char *k;
			json_t *v;
			json_object_foreach(val, k, v) {
				if (!json_is_string(v)) {
					snprintf(errstr, errstr_size, "%s: kafka_props.%s must be a string", path, k);
					err = EGW_ERR_INVALID_REQUEST;
				} else
					err = add_kafka_prop(cfg, k, json_string_value(v));
				if (err)
					break;
			}
		} else if (!p) {
			snprintf(errstr, errstr_size, "%s: unknown setting \"%s\"", path, key);
			err = EGW_ERR_INVALID_REQUEST;
		} else if (json_is_string(val))
			err = set_prop(cfg, p, json_string_value(val), 0, 0, path, errstr, errstr_size);
		else if (json_is_integer(val))
			err = set_prop(cfg, p, NULL, json_integer_value(val), 1, path, errstr, errstr_size);
		else {
			snprintf(errstr, errstr_size, "%s: %s has the wrong type", path, key);
			err = EGW_ERR_INVALID_REQUEST;
		}
		if (err)
			break;
	}
	json_decref(root);
	return err;
}

/* EGRESS_<SETTING> for table settings, EGRESS_KAFKA_<PROP> (upper case, '_'
 * for '.') for librdkafka properties, e.g. EGRESS_KAFKA_SESSION_TIMEOUT_MS. */
static egw_err_t load_env(egw_config_t *cfg, char *errstr, size_t errstr_size)
{
	char name[128];
	egw_err_t err;
	for (size_t i = 0; i < NPROPS; i++) {
		snprintf(name, sizeof(name), "EGRESS_%s", props[i].name);
		for (char *c = name; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		const char *v = getenv(name);
		if (v && (err = set_prop(cfg, &props[i], v, 0, 0, name, errstr, errstr_size)))
			return err;
	}
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (strncmp(*e, "EGRESS_KAFKA_", 13) || !eq || !strncmp(*e, "EGRESS_KAFKA_BROKERS=", 21))
			continue;
		size_t n = (size_t)(eq - (*e + 13));
		if (n == 0 || n >= sizeof(name))
			continue;
		for (size_t j = 0; j < n; j++) {
			char c = (*e)[13 + j];
			name[j] = c == '_' ? '.' : (char)tolower((unsigned char)c);
		}
		name[n] = '\0';
		if ((err = add_kafka_prop(cfg, name, eq + 1)))
			return err;
	}
	return EGW_OK;
}

egw_err_t egw_config_load(const char *path, egw_config_t **out, char *errstr, size_t errstr_size)
{
	egw_config_t *cfg = calloc(1, sizeof(*cfg));
	egw_err_t err = EGW_ERR_NOMEM;

	*out = NULL;
	if (!cfg)
		goto fail;
	for (size_t i = 0; i < NPROPS; i++) {
		if (props[i].type == CT_INT)
			*int_field(cfg, &props[i]) = props[i].idef;
		else if (!(*str_field(cfg, &props[i]) = strdup(props[i].sdef)))
			goto fail;
	}
	/* EGRESS_KAFKA_BROKERS is the table's kafka_brokers via load_env. */
	if (path && (err = load_file(cfg, path, errstr, errstr_size)))
		goto fail;
	if ((err = load_env(cfg, errstr, errstr_size)))
		goto fail;
	if (!cfg->worker_id[0]) {
		char host[64] = "worker", id[96];
		gethostname(host, sizeof(host) - 1);
		snprintf(id, sizeof(id), "%s-%d", host, (int)getpid());
		free(cfg->worker_id);
		if (!(cfg->worker_id = strdup(id))) {
			err = EGW_ERR_NOMEM;
			goto fail;
		}
	}
	*out = cfg;
	return EGW_OK;
fail:
	if (err == EGW_ERR_NOMEM)
		snprintf(errstr, errstr_size, "out of memory");
	egw_config_free(cfg);
	return err;
}

void egw_config_free(egw_config_t *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NPROPS; i++)
		if (props[i].type == CT_STR)
			free(*str_field(cfg, &props[i]));
	for (size_t i = 0; i < cfg->n_kafka_props; i++)
		free(cfg->kafka_props[i]);
	free(cfg->kafka_props);
	free(cfg);
}

void egw_config_write_doc(void *file)
{
	FILE *f = file;
	fprintf(f, "# Worker configuration\n\n"
		   "Generated by `egress config-doc` from the settings table in "
		   "`worker/config.c`.\n\n"
		   "Settings come from a JSON file (`egress worker --config FILE`), then from "
		   "the environment as `EGRESS_<NAME>` (upper case), which wins. Any librdkafka "
		   "property can be set as `EGRESS_KAFKA_<PROPERTY>` (upper case, `_` for `.`, "
		   "e.g. `EGRESS_KAFKA_SESSION_TIMEOUT_MS=6000`) or in the file's "
		   "`kafka_props` object.\n\n"
		   "| setting | type | default | bounds | description |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < NPROPS; i++) {
		const struct conf_prop *p = &props[i];
		if (p->type == CT_STR)
			fprintf(f, "| `%s` | string | `%s` | | %s |\n", p->name, p->sdef, p->doc);
		else
			fprintf(f, "| `%s` | integer | `%d` | %d..%d | %s |\n", p->name, p->idef,
				p->min, p->max, p->doc);
	}
}
