#include "worker/config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/log.h"
#include "worker/config_int.h"

extern char **environ;

static const char *const log_formats[] = {"text", "json", NULL};

const struct conf_prop egw_conf_props[] = {
#define OFF(n) offsetof(egw_config_t, n)
#define S(n, fl, d, doc)                                                                           \
	{                                                                                          \
#n, CT_STR, fl, OFF(n), 0, d, 0, 0, 0, NULL, doc, NULL                             \
	}
#define I(n, d, lo, hi, doc)                                                                       \
	{                                                                                          \
#n, CT_INT, 0, OFF(n), 0, NULL, d, lo, hi, NULL, doc, NULL                         \
	}
#define C(n, d, names, doc)                                                                        \
	{                                                                                          \
#n, CT_CHOICE, 0, OFF(n), 0, d, 0, 0, 0, names, doc, NULL                          \
	}
#define L(n, d, doc)                                                                               \
	{                                                                                          \
#n, CT_LIST, CF_NONEMPTY, OFF(n), OFF(n_##n), d, 0, 0, 0, NULL, doc, NULL          \
	}
#define V(n, d, check, doc) /* a string that check accepts */                                      \
	{                                                                                          \
#n, CT_STR, CF_NONEMPTY, OFF(n), 0, d, 0, 0, 0, NULL, doc, check                   \
	}
        S(worker_id, 0, "", "Name of this worker in status events. Empty: `<hostname>-<pid>`."),
        S(kafka_brokers, 0, "",
          "Kafka bootstrap servers (`host:port,...`), or `embedded`: a local broker in-process "
          "(librdkafka's mock cluster; for tests and demos only, nothing is persisted) whose "
          "address the worker prints as `bootstrap: HOST:PORT` on standard output. `egress worker` "
          "refuses to start without it (earlier versions started the embedded broker then)."),
        I(kafka_connect_timeout_s, 30, 1, 3600,
          "At start, how long the worker waits for the brokers to answer before it exits with an "
          "error saying they are unreachable. SIGTERM or SIGINT end the wait at once."),
        S(jobs_topic, CF_NONEMPTY, "egress.jobs",
          "Topic of start requests, shared by the consumer group."),
        S(control_topic, CF_NONEMPTY, "egress.control",
          "Topic of stop/update requests, read by every worker."),
        S(status_topic, CF_NONEMPTY, "egress.status", "Topic the worker writes status events to."),
        S(deadletter_topic, CF_NONEMPTY, "egress.deadletter",
          "Topic for requests that cannot be parsed."),
        S(consumer_group, CF_NONEMPTY, "egress-workers", "Consumer group of the jobs topic."),
        I(max_jobs, 2, 1, 256,
          "Recording jobs run at once, at most (uploads that outlive their media do not "
          "count). A full worker leaves the jobs group so others take new starts."),
        I(capacity_mcores, 0, 0, 1024 * 1000,
          "CPU this worker offers jobs, in thousandths of a core; 0: every online core "
          "(1000 each). Jobs are admitted by cost while the sum of the running ones stays "
          "within `max_utilisation_pct` of it (costs: docs/operations.md)."),
        I(max_utilisation_pct, 85, 1, 100,
          "The share of `capacity_mcores` that jobs' costs may fill."),
        S(storage_dir, CF_NONEMPTY, "./out",
          "Default local storage directory for jobs without `storage`."),
        L(storage_roots, "[`storage_dir`]",
          "Directories a job's `storage.dir` may point into (file: an array of strings; "
          "environment: separated by `:`). Default: just `storage_dir`."),
        S(spool_dir, CF_NONEMPTY, "./spool",
          "Where the outputs of jobs with object storage (`storage.kind` `s3`, `gcs`, "
          "`azure`) are written first, one directory per egress (`<spool_dir>/<egress_id>/`) "
          "beside its journal (`<egress_id>.json`, mode 0600: it holds the job's storage "
          "credentials). A file leaves the spool only once the storage confirmed it; a worker "
          "that starts finishes the uploads it finds there, sends the webhook events waiting in "
          "`<spool_dir>/.webhooks/` and the status events waiting in `<spool_dir>/.outbox/`."),
        I(status_outbox_mb, 256, 1, 1024 * 1024,
          "Status events and dead-letter copies wait in `<spool_dir>/.outbox/`, one file "
          "each, until Kafka acknowledged them (a broker outage, a worker restarted during "
          "one: the next worker on that spool sends them, in order). Past this many MB there, "
          "the oldest waiting events that are not final (`complete`, `failed`, `aborted`) are "
          "dropped, each logged."),
        I(upload_part_size_kb, 16384, 64, 5 * 1024 * 1024,
          "Files larger than this go up in parts of this size (KiB): multipart uploads, Azure "
          "blocks. "
          "AWS S3 wants at least 5120 (5 MiB) for every part but the last."),
        I(upload_parallel, 4, 1, 64, "Upload requests in flight at once, per egress."),
        I(min_free_disk_mb, 2048, 0, 1024 * 1024 * 1024,
          "A worker whose `spool_dir` or `storage_dir` file system has less free space than "
          "this (MB) takes no new jobs: it leaves the jobs group, and a start that reaches it "
          "anyway fails at once with `capacity`, naming the directory, instead of failing "
          "mid-recording. Running egresses go on. 0: no check."),
        I(min_free_memory_mb, 256, 0, 1024 * 1024,
          "A worker on a machine with less memory available than this (MB, MemAvailable of "
          "/proc/meminfo) takes no new jobs, as with `min_free_disk_mb`: a job that starts "
          "needs 30-150 MB (docs/operations.md). 0: no check."),
        I(upload_retry_window_s, 21600, 1, 30 * 86400,
          "How long an upload that fails for a reason that may pass (no connection, timeouts, "
          "5xx answers, throttling) is retried, with exponential backoff from 0.5 s to 60 s, "
          "from its first failure. Past it the file stays in the spool and the egress ends "
          "`failed`, naming it."),
        I(webhook_retry_window_s, 3600, 1, 7 * 86400,
          "How long one webhook event is retried (backoff from 1 s to 60 s) before it is given "
          "up and logged. The events of an egress go out in order: the next waits for this one."),
        I(webhook_timeout_ms, 10000, 100, 120000, "Timeout of one webhook request."),
        I(max_duration_s, 14400, 1, 7 * 86400, "Default `limits.max_duration_s`."),
        I(empty_room_timeout_s, 300, 1, 86400,
          "Default `limits.empty_room_timeout_s`: stop when the source is absent this long."),
        I(sfu_timeout_ms, 10000, 100, 120000, "Timeout of one SFU signalling request."),
        S(tls_ca_file, 0, "",
          "PEM file of the certificate authorities that TLS connections of jobs to their "
          "destinations (`rtmps://` streams, `wss://` websockets) trust, instead of the "
          "system's: for ingest servers with a private CA. Empty: the system's trust store."),
        I(stop_grace_s, 10, 1, 600,
          "After a stop, how long a job may take to finalise its files; then it closes them "
          "as they are (what was written stays, less an MP4's unfinished last fragment, so that "
          "it plays) and reports, "
          "and a job process still running 2 s later is killed (`failed`, `worker_lost`)."),
        S(http_listen, 0, "",
          "`IPV4:PORT` where the worker serves `/healthz` (200 while its loop runs), `/readyz` "
          "(200 while it takes jobs, else 503 saying why) and `/metrics` (Prometheus text "
          "format: docs/operations.md), e.g. `0.0.0.0:9464`. Empty: none. An address it "
          "cannot listen on stops the start."),
        I(drain_timeout_s, 300, 0, 7 * 86400,
          "On SIGTERM the worker drains: it leaves the jobs group (takes no new start), lets "
          "running egresses go on (stop and update requests still reach them) and their "
          "uploads finish, for at most this many seconds; then it stops what is left "
          "(finalised, `complete` with reason `worker shutting down`) and exits 0. A second "
          "SIGTERM (or SIGINT) ends the drain at once. 0: stop running egresses at once. "
          "Give orchestrators a grace period of this plus `stop_grace_s` and some seconds."),
        I(handover, 1, 0, 1,
          "1: a start this worker has no room for is handed over to another worker in one "
          "Kafka transaction (well under a second; needs the ACLs of a transactional "
          "producer, `transactional.id` `egress-handover-<worker_id>`). 0: the full worker "
          "leaves the jobs group and a rebalance moves the partition (seconds). See "
          "docs/operations.md."),
        I(spare_jobs, 4, 0, 256,
          "Job processes the worker keeps warm (GStreamer initialised, plugins loaded, DTLS "
          "certificate made) for the next starts, so a start only has to join its room: a "
          "burst of starts reaches its first media in well under a second instead of "
          "seconds (BENCHMARKS.md). Each spare holds about 20 MB. Set it to the largest "
          "burst one worker should absorb; 0: every start begins a process from scratch."),
        I(start_max_age_s, 300, 0, 7 * 86400,
          "A start request whose Kafka timestamp is older than this many seconds when the worker "
          "takes it is not run: it is dead-lettered and reported `failed` with `error.code` "
          "`expired` (a backlog that built up while no worker ran is stale: its rooms are over). "
          "0: no limit. The age is the worker's clock minus the message timestamp, so keep "
          "clocks in sync. A new consumer group starts at the end of the jobs topic: see "
          "docs/jobs.md."),
        V(log_level, "info", egw_log_check_levels,
          "Least severe log lines written (to standard error): `error`, `warn`, `info` or "
          "`debug`, for every module, then `,MODULE=LEVEL` items for some, e.g. "
          "`info,sfu=debug,storage=warn` (the first word may be left out: `sfu=debug` is "
          "`info` elsewhere). A module is the source folder of the code that logs: `base`, "
          "`contract`, `http`, `compositor`, `storage`, `sfu`, `pipelines`, `job`, `worker`; "
          "each line names it (text: after the level; JSON: `module`). Levels and modules in "
          "any case; an unknown one, an empty item or a module given twice is an error. A "
          "level alone means what it did before: every module at that level."),
        C(log_format, "text", log_formats, "Log lines as text, or as JSON objects one a line."),
#undef OFF
#undef S
#undef I
#undef C
#undef L
#undef V
};

const size_t egw_conf_n_props = sizeof(egw_conf_props) / sizeof(egw_conf_props[0]);

static char **str_field(egw_config_t *cfg, const struct conf_prop *p)
{
	return (char **)((char *)cfg + p->offset);
}

static int *int_field(egw_config_t *cfg, const struct conf_prop *p)
{
	return (int *)((char *)cfg + p->offset);
}

static char ***list_field(egw_config_t *cfg, const struct conf_prop *p, size_t **count)
{
	*count = (size_t *)((char *)cfg + p->count_offset);
	return (char ***)((char *)cfg + p->offset);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

const char *egw_conf_rule_of(const struct conf_prop *p, char *buf, size_t size)
{
	size_t n;

	switch (p->type) {
	case CT_STR:
		return "must be a string";
	case CT_INT:
		snprintf(buf, size, "must be an integer between %d and %d", p->min, p->max);
		return buf;
	case CT_CHOICE:
		n = (size_t)snprintf(buf, size, "must be one of ");
		for (size_t i = 0; p->choices[i] && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
			                      p->choices[i]);
		return buf;
	case CT_LIST:
		return "must be an array of strings";
	}
	return "is wrong";
}

static egw_err_t invalid(const struct conf_prop *p, const char *where, const char *what,
                         char *errstr, size_t errstr_size)
{
	char rule[128];
	snprintf(errstr, errstr_size, "%s: %s %s", where, p->name,
	         what ? what : egw_conf_rule_of(p, rule, sizeof(rule)));
	return EGW_ERR_INVALID_REQUEST;
}

static egw_err_t set_str(egw_config_t *cfg, const struct conf_prop *p, const char *s,
                         const char *where, char *errstr, size_t errstr_size)
{
	char *dup, why[256];

	if ((p->flags & CF_NONEMPTY) && !s[0])
		return invalid(p, where, "must not be empty", errstr, errstr_size);
	if (p->check && p->check(s, why, sizeof(why)))
		return invalid(p, where, why, errstr, errstr_size);
	if (!(dup = strdup(s)))
		return EGW_ERR_NOMEM;
	free(*str_field(cfg, p));
	*str_field(cfg, p) = dup;
	return EGW_OK;
}

static egw_err_t set_int(egw_config_t *cfg, const struct conf_prop *p, long long v,
                         const char *where, char *errstr, size_t errstr_size)
{
	if (v < p->min || v > p->max)
		return invalid(p, where, NULL, errstr, errstr_size);
	*int_field(cfg, p) = (int)v;
	return EGW_OK;
}

/* Index of s in the words of p, in any case ("WARN" is warn); -1 if none. */
static int choice_index(const struct conf_prop *p, const char *s)
{
	for (int i = 0; s && p->choices[i]; i++)
		if (!strcasecmp(s, p->choices[i]))
			return i;
	return -1;
}

static egw_err_t set_choice(egw_config_t *cfg, const struct conf_prop *p, const char *s,
                            const char *where, char *errstr, size_t errstr_size)
{
	int i = choice_index(p, s);
	if (i < 0)
		return invalid(p, where, NULL, errstr, errstr_size);
	*int_field(cfg, p) = i;
	return EGW_OK;
}

/* Takes v (n items) in every case. */
static egw_err_t set_list(egw_config_t *cfg, const struct conf_prop *p, char **v, size_t n,
                          const char *where, char *errstr, size_t errstr_size)
{
	size_t *count;
	char ***field = list_field(cfg, p, &count);
	egw_err_t err = EGW_OK;

	if (n == 0)
		err = invalid(p, where, "must list at least one directory", errstr, errstr_size);
	for (size_t i = 0; i < n && !err; i++)
		if (!v[i][0])
			err = invalid(p, where, "must not contain an empty string", errstr,
			              errstr_size);
	if (err) {
		free_strv(v, n);
		return err;
	}
	free_strv(*field, *count);
	*field = v;
	*count = n;
	return EGW_OK;
}

/* A value from the file: it must have the setting's JSON type. */
static egw_err_t set_from_json(egw_config_t *cfg, const struct conf_prop *p, const json_t *val,
                               const char *where, char *errstr, size_t errstr_size)
{
	size_t i, n = json_array_size(val);
	const json_t *item;
	char **v;

	switch (p->type) {
	case CT_STR:
		if (!json_is_string(val))
			return invalid(p, where, NULL, errstr, errstr_size);
		return set_str(cfg, p, json_string_value(val), where, errstr, errstr_size);
	case CT_INT:
		if (!json_is_integer(val))
			return invalid(p, where, NULL, errstr, errstr_size);
		return set_int(cfg, p, json_integer_value(val), where, errstr, errstr_size);
	case CT_CHOICE:
		return set_choice(cfg, p, json_string_value(val), where, errstr, errstr_size);
	case CT_LIST:
		if (!json_is_array(val))
			return invalid(p, where, NULL, errstr, errstr_size);
		json_array_foreach(val, i, item) if (!json_is_string(item)) return invalid(
		        p, where, NULL, errstr, errstr_size);
		if (n && !(v = calloc(n, sizeof(*v))))
			return EGW_ERR_NOMEM;
		for (i = 0; i < n; i++) {
			if (!(v[i] = strdup(json_string_value(json_array_get(val, i))))) {
				free_strv(v, i);
				return EGW_ERR_NOMEM;
			}
		}
		return set_list(cfg, p, n ? v : NULL, n, where, errstr, errstr_size);
	}
	return EGW_ERR_INTERNAL;
}

/* "a:b:c" -> {"a", "b", "c"}; "" is one empty item. */
static egw_err_t split_list(const char *text, char ***out, size_t *n)
{
	size_t count = 1;
	const char *s = text;
	char **v;

	for (const char *c = text; *c; c++)
		count += *c == ':';
	if (!(v = calloc(count, sizeof(*v))))
		return EGW_ERR_NOMEM;
	for (size_t i = 0; i < count; i++) {
		size_t len = strcspn(s, ":");
		if (!(v[i] = strndup(s, len))) {
			free_strv(v, i);
			return EGW_ERR_NOMEM;
		}
		s += len + (s[len] == ':');
	}
	*out = v;
	*n = count;
	return EGW_OK;
}

/* A value from the environment: text, read by the setting's type. */
static egw_err_t set_from_text(egw_config_t *cfg, const struct conf_prop *p, const char *text,
                               const char *where, char *errstr, size_t errstr_size)
{
	char **v, *end;
	long long ival;
	size_t n;

	switch (p->type) {
	case CT_STR:
		return set_str(cfg, p, text, where, errstr, errstr_size);
	case CT_INT:
		errno = 0;
		ival = strtoll(text, &end, 10);
		if (!isdigit((unsigned char)text[text[0] == '-']) || *end)
			return invalid(p, where, NULL, errstr, errstr_size);
		if (errno == ERANGE)
			ival = ival < 0 ? (long long)p->min - 1 : (long long)p->max + 1;
		return set_int(cfg, p, ival, where, errstr, errstr_size);
	case CT_CHOICE:
		return set_choice(cfg, p, text, where, errstr, errstr_size);
	case CT_LIST:
		if (split_list(text, &v, &n))
			return EGW_ERR_NOMEM;
		return set_list(cfg, p, v, n, where, errstr, errstr_size);
	}
	return EGW_ERR_INTERNAL;
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

static egw_err_t load_kafka_props(egw_config_t *cfg, const json_t *obj, const char *path,
                                  char *errstr, size_t errstr_size)
{
	const char *k;
	json_t *v;
	egw_err_t err;

	if (!json_is_object(obj)) {
		snprintf(errstr, errstr_size, "%s: kafka_props must be an object of strings", path);
		return EGW_ERR_INVALID_REQUEST;
	}
	json_object_foreach((json_t *)obj, k, v)
	{
		if (!json_is_string(v)) {
			snprintf(errstr, errstr_size, "%s: kafka_props.%s must be a string", path,
			         k);
			return EGW_ERR_INVALID_REQUEST;
		}
		if ((err = add_kafka_prop(cfg, k, json_string_value(v))))
			return err;
	}
	return EGW_OK;
}

static const struct conf_prop *find_prop(const char *name)
{
	for (size_t i = 0; i < egw_conf_n_props; i++)
		if (!strcmp(egw_conf_props[i].name, name))
			return &egw_conf_props[i];
	return NULL;
}

static egw_err_t load_file(egw_config_t *cfg, const char *path, char *errstr, size_t errstr_size)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *val;
	const char *key;
	egw_err_t err = EGW_OK;

	if (!root || !json_is_object(root)) {
		snprintf(errstr, errstr_size, "%s:%d: %s", path, jerr.line,
		         root ? "must be a JSON object" : jerr.text);
		json_decref(root);
		return EGW_ERR_INVALID_REQUEST;
	}
	json_object_foreach(root, key, val)
	{
		const struct conf_prop *p = find_prop(key);
		if (!strcmp(key, "kafka_props"))
			err = load_kafka_props(cfg, val, path, errstr, errstr_size);
		else if (!p) {
			snprintf(errstr, errstr_size, "%s: unknown setting \"%s\"", path, key);
			err = EGW_ERR_INVALID_REQUEST;
		} else
			err = set_from_json(cfg, p, val, path, errstr, errstr_size);
		if (err)
			break;
	}
	json_decref(root);
	return err;
}

/* The setting named by the environment variable EGRESS_<NAME> (name is
 * what follows EGRESS_, len bytes), or NULL. */
static const struct conf_prop *prop_of_env(const char *name, size_t len)
{
	for (size_t i = 0; i < egw_conf_n_props; i++) {
		const char *p = egw_conf_props[i].name;
		size_t j = 0;
		while (j < len && p[j] && name[j] == toupper((unsigned char)p[j]))
			j++;
		if (j == len && !p[j])
			return &egw_conf_props[i];
	}
	return NULL;
}

/* Every EGRESS_<NAME> names a setting, or is EGRESS_KAFKA_<PROPERTY> (upper
 * case, '_' for '.') for librdkafka, e.g. EGRESS_KAFKA_SESSION_TIMEOUT_MS. */
static egw_err_t load_env(egw_config_t *cfg, char *errstr, size_t errstr_size)
{
	char var[128], prop[128];
	egw_err_t err;

	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '='), *name = *e + 7;
		size_t len;
		if (strncmp(*e, "EGRESS_", 7) || !eq)
			continue;
		len = (size_t)(eq - name);
		snprintf(var, sizeof(var), "%.*s", (int)(eq - *e), *e);
		const struct conf_prop *p = prop_of_env(name, len);
		if (p) {
			if ((err = set_from_text(cfg, p, eq + 1, var, errstr, errstr_size)))
				return err;
			continue;
		}
		if (strncmp(name, "KAFKA_", 6) || len == 6 || len - 6 >= sizeof(prop)) {
			snprintf(errstr, errstr_size,
			         "unknown environment variable %s: no such setting "
			         "(EGRESS_<SETTING> "
			         "or EGRESS_KAFKA_<PROPERTY>; see `egress config-doc`)",
			         var);
			return EGW_ERR_INVALID_REQUEST;
		}
		for (size_t j = 0; j < len - 6; j++) {
			char c = name[6 + j];
			prop[j] = c == '_' ? '.' : (char)tolower((unsigned char)c);
		}
		prop[len - 6] = '\0';
		if ((err = add_kafka_prop(cfg, prop, eq + 1)))
			return err;
	}
	return EGW_OK;
}

static egw_err_t set_defaults(egw_config_t *cfg)
{
	for (size_t i = 0; i < egw_conf_n_props; i++) {
		const struct conf_prop *p = &egw_conf_props[i];
		if (p->type == CT_INT)
			*int_field(cfg, p) = p->idef;
		else if (p->type == CT_CHOICE)
			*int_field(cfg, p) = choice_index(p, p->sdef);
		else if (p->type == CT_STR && !(*str_field(cfg, p) = strdup(p->sdef)))
			return EGW_ERR_NOMEM;
	}
	return EGW_OK;
}

/* What depends on other settings: worker_id, storage_roots. */
static egw_err_t derive(egw_config_t *cfg)
{
	if (!cfg->worker_id[0]) {
		char host[64] = "worker", id[96];
		gethostname(host, sizeof(host) - 1);
		snprintf(id, sizeof(id), "%s-%d", host, (int)getpid());
		free(cfg->worker_id);
		if (!(cfg->worker_id = strdup(id)))
			return EGW_ERR_NOMEM;
	}
	if (!cfg->n_storage_roots) {
		if (!(cfg->storage_roots = calloc(1, sizeof(char *))) ||
		    !(cfg->storage_roots[0] = strdup(cfg->storage_dir)))
			return EGW_ERR_NOMEM;
		cfg->n_storage_roots = 1;
	}
	return EGW_OK;
}

egw_err_t egw_config_load(const char *path, egw_config_t **out, char *errstr, size_t errstr_size)
{
	egw_config_t *cfg = calloc(1, sizeof(*cfg));
	egw_err_t err = EGW_ERR_NOMEM;

	*out = NULL;
	if (!cfg || (err = set_defaults(cfg)))
		goto fail;
	if (path && (err = load_file(cfg, path, errstr, errstr_size)))
		goto fail;
	if ((err = load_env(cfg, errstr, errstr_size)) || (err = derive(cfg)))
		goto fail;
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
	for (size_t i = 0; i < egw_conf_n_props; i++)
		if (egw_conf_props[i].type == CT_STR)
			free(*str_field(cfg, &egw_conf_props[i]));
	free_strv(cfg->storage_roots, cfg->n_storage_roots);
	free_strv(cfg->kafka_props, cfg->n_kafka_props);
	free(cfg);
}
