/* Worker configuration: defaults, file, environment, the one set of rules
 * for both, and docs/configuration.md in step with the table.
 * Runs in tests/unit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "worker/config.h"

extern char **environ;

static const char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/egw-config-test-%d.json", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* The test's own environment must not leak into the cases. */
static void clear_egress_env(void)
{
	char name[256];
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; *e; e++) {
			const char *eq = strchr(*e, '=');
			if (strncmp(*e, "EGRESS_", 7) || !eq)
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
			unsetenv(name);
			again = 1;
			break;
		}
	}
}

/* Loads (file text may be NULL) with one environment variable set (name
 * may be NULL); returns the result, the config in *cfg (freed by the caller). */
static egw_err_t load(const char *file_text, const char *name, const char *value,
                      egw_config_t **cfg, char *err, size_t err_size)
{
	const char *path = file_text ? write_tmp(file_text) : NULL;
	egw_err_t rc;

	err[0] = '\0';
	if (name)
		setenv(name, value, 1);
	rc = egw_config_load(path, cfg, err, err_size);
	if (name)
		unsetenv(name);
	if (path)
		remove(path);
	return rc;
}

static void expect_error(int line, const char *file_text, const char *name, const char *value,
                         const char *want)
{
	egw_config_t *cfg = (egw_config_t *)1;
	char err[512];
	egw_err_t rc = load(file_text, name, value, &cfg, err, sizeof(err));

	CHECK(rc == EGW_ERR_INVALID_REQUEST);
	CHECK(cfg == NULL);
	if (rc != EGW_ERR_INVALID_REQUEST || !strstr(err, want)) {
		fprintf(stderr, "line %d: rc %d, got \"%s\", want \"%s\"\n", line, rc, err, want);
		CHECK(0);
	}
}

static void defaults(void)
{
	egw_config_t *cfg = NULL;
	char err[256];
	CHECK(egw_config_load(NULL, &cfg, err, sizeof(err)) == EGW_OK);
	if (!cfg)
		return;
	CHECK_STR(cfg->jobs_topic, "egress.jobs");
	CHECK_STR(cfg->consumer_group, "egress-workers");
	CHECK_STR(cfg->kafka_brokers, ""); /* `egress worker` refuses to start */
	CHECK(cfg->kafka_connect_timeout_s == 30);
	CHECK(cfg->max_jobs == 2 && cfg->stop_grace_s == 10);
	CHECK(cfg->worker_id[0] != '\0'); /* hostname-pid */
	CHECK_STR(cfg->log_level, "info");
	CHECK(cfg->log_format == 0);
	CHECK(cfg->n_storage_roots == 1);
	if (cfg->n_storage_roots == 1)
		CHECK_STR(cfg->storage_roots[0], "./out");
	egw_config_free(cfg);
}

static void file_then_env(void)
{
	egw_config_t *cfg = NULL;
	char err[256];
	const char *path = write_tmp("{\"max_jobs\": 3, \"status_topic\": \"st\", "
	                             "\"log_level\": \"debug\", \"log_format\": \"json\", "
	                             "\"storage_dir\": \"/srv/rec\", "
	                             "\"kafka_props\": {\"socket.timeout.ms\": \"5000\"}}");
	setenv("EGRESS_STATUS_TOPIC", "from-env", 1);
	setenv("EGRESS_KAFKA_SESSION_TIMEOUT_MS", "6000", 1);
	setenv("EGRESS_KAFKA_CONNECT_TIMEOUT_S", "2", 1); /* a setting, not a librdkafka property */
	setenv("EGRESS_KAFKA_BROKERS", "embedded", 1);
	setenv("EGRESS_LOG_LEVEL", "WARN", 1); /* words in any case */
	CHECK(egw_config_load(path, &cfg, err, sizeof(err)) == EGW_OK);
	if (cfg) {
		CHECK(cfg->max_jobs == 3);
		CHECK_STR(cfg->status_topic, "from-env"); /* the environment wins */
		CHECK_STR(cfg->kafka_brokers, "embedded");
		CHECK(cfg->kafka_connect_timeout_s == 2);
		CHECK_STR(cfg->log_level, "WARN"); /* checked, kept as given */
		CHECK(cfg->log_format == 1);
		int found_file = 0, found_env = 0;
		for (size_t i = 0; i < cfg->n_kafka_props; i++) {
			found_file |= !strcmp(cfg->kafka_props[i], "socket.timeout.ms=5000");
			found_env |= !strcmp(cfg->kafka_props[i], "session.timeout.ms=6000");
			CHECK(strncmp(cfg->kafka_props[i], "connect.", 8) != 0);
			CHECK(strncmp(cfg->kafka_props[i], "brokers", 7) != 0);
		}
		CHECK(found_file && found_env && cfg->n_kafka_props == 2);
		/* storage_roots follows storage_dir unless set */
		CHECK(cfg->n_storage_roots == 1);
		if (cfg->n_storage_roots == 1)
			CHECK_STR(cfg->storage_roots[0], "/srv/rec");
	} else {
		fprintf(stderr, "file_then_env: %s\n", err);
	}
	egw_config_free(cfg);
	clear_egress_env();
	remove(path);
}

/* log_level: a level, then module=level items, in the file and the
 * environment alike (the syntax itself: tests/unit/test_log.c) */
static void log_levels(void)
{
	egw_config_t *cfg = NULL;
	char err[256];

	CHECK(load("{\"log_level\": \"info,sfu=debug,storage=warn\"}", NULL, NULL, &cfg, err,
	           sizeof(err)) == EGW_OK);
	if (cfg)
		CHECK_STR(cfg->log_level, "info,sfu=debug,storage=warn");
	egw_config_free(cfg);
	cfg = NULL;
	CHECK(load("{\"log_level\": \"debug\"}", "EGRESS_LOG_LEVEL", "warn,pipelines=debug", &cfg,
	           err, sizeof(err)) == EGW_OK);
	if (cfg)
		CHECK_STR(cfg->log_level, "warn,pipelines=debug");
	egw_config_free(cfg);
}

static void storage_roots(void)
{
	egw_config_t *cfg = NULL;
	char err[256];

	CHECK(load("{\"storage_roots\": [\"/a\", \"/b\"]}", NULL, NULL, &cfg, err, sizeof(err)) ==
	      EGW_OK);
	CHECK(cfg && cfg->n_storage_roots == 2);
	if (cfg && cfg->n_storage_roots == 2) {
		CHECK_STR(cfg->storage_roots[0], "/a");
		CHECK_STR(cfg->storage_roots[1], "/b");
		CHECK_STR(cfg->storage_dir, "./out");
	}
	egw_config_free(cfg);
	cfg = NULL;
	CHECK(load("{\"storage_roots\": [\"/a\"]}", "EGRESS_STORAGE_ROOTS", "/x:/y/z:rel", &cfg,
	           err, sizeof(err)) == EGW_OK);
	CHECK(cfg && cfg->n_storage_roots == 3);
	if (cfg && cfg->n_storage_roots == 3) {
		CHECK_STR(cfg->storage_roots[0], "/x");
		CHECK_STR(cfg->storage_roots[1], "/y/z");
		CHECK_STR(cfg->storage_roots[2], "rel");
	}
	egw_config_free(cfg);
}

/* One rule for file and environment; every violation stops the start. */
static void errors(void)
{
	static const struct {
		int line;
		const char *json, *env, *value, *want;
	} cases[] = {
	        /* the file */
	        {__LINE__, "{\"max_job\": 3}", NULL, NULL, "unknown setting \"max_job\""},
	        {__LINE__, "{\"max_jobs\": 0}", NULL, NULL,
	         "max_jobs must be an integer between 1 and 256"},
	        {__LINE__, "{\"max_jobs\": \"x\"}", NULL, NULL, "max_jobs must be an integer"},
	        {__LINE__, "{\"max_jobs\": \"2\"}", NULL, NULL, "max_jobs must be an integer"},
	        {__LINE__, "{\"max_jobs\": 2.0}", NULL, NULL, "max_jobs must be an integer"},
	        {__LINE__, "{\"max_jobs\": 99999999999999999999999}", NULL, NULL, "too big"},
	        {__LINE__, "{\"jobs_topic\": 5}", NULL, NULL, "jobs_topic must be a string"},
	        {__LINE__, "{\"jobs_topic\": null}", NULL, NULL, "jobs_topic must be a string"},
	        {__LINE__, "{\"max_jobs\": 3, \"max_jobs\": 4}", NULL, NULL, "duplicate"},
	        {__LINE__, "{\"storage_dir\": \"\"}", NULL, NULL, "storage_dir must not be empty"},
	        {__LINE__, "{\"jobs_topic\": \"\"}", NULL, NULL, "jobs_topic must not be empty"},
	        {__LINE__, "{\"consumer_group\": \"\"}", NULL, NULL,
	         "consumer_group must not be empty"},
	        {__LINE__, "{\"log_level\": \"loud\"}", NULL, NULL,
	         "log_level has an unknown level \"loud\" (levels: error, warn, info, debug)"},
	        {__LINE__, "{\"log_level\": \"info,sfuu=debug\"}", NULL, NULL,
	         "log_level names an unknown module \"sfuu\" (modules: base, contract,"},
	        {__LINE__, "{\"log_level\": \"\"}", NULL, NULL, "log_level must not be empty"},
	        {__LINE__, "{\"log_level\": 3}", NULL, NULL, "log_level must be a string"},
	        {__LINE__, "{\"log_format\": 1}", NULL, NULL,
	         "log_format must be one of text, json"},
	        {__LINE__, "{\"storage_roots\": \"/a\"}", NULL, NULL,
	         "storage_roots must be an array of strings"},
	        {__LINE__, "{\"storage_roots\": [\"/a\", 1]}", NULL, NULL,
	         "storage_roots must be an array of strings"},
	        {__LINE__, "{\"storage_roots\": []}", NULL, NULL,
	         "storage_roots must list at least one directory"},
	        {__LINE__, "{\"storage_roots\": [\"/a\", \"\"]}", NULL, NULL,
	         "storage_roots must not contain an empty"},
	        {__LINE__, "{\"kafka_props\": \"x\"}", NULL, NULL, "kafka_props must be an object"},
	        {__LINE__, "{\"kafka_props\": {\"linger.ms\": 5}}", NULL, NULL,
	         "kafka_props.linger.ms must be a string"},
	        {__LINE__, "[1]", NULL, NULL, "must be a JSON object"},
	        {__LINE__, "{", NULL, NULL, "end of file"},
	        /* the environment */
	        {__LINE__, NULL, "EGRESS_MAX_JOBS", "many",
	         "EGRESS_MAX_JOBS: max_jobs must be an integer"},
	        {__LINE__, NULL, "EGRESS_MAX_JOBS", "3x",
	         "EGRESS_MAX_JOBS: max_jobs must be an integer"},
	        {__LINE__, NULL, "EGRESS_MAX_JOBS", "",
	         "EGRESS_MAX_JOBS: max_jobs must be an integer"},
	        {__LINE__, NULL, "EGRESS_MAX_JOBS", "257", "must be an integer between 1 and 256"},
	        {__LINE__, NULL, "EGRESS_MAX_JOBS", "99999999999999999999",
	         "must be an integer between 1 and 256"},
	        {__LINE__, NULL, "EGRESS_FOO", "1", "EGRESS_FOO"},
	        {__LINE__, NULL, "EGRESS_MAXJOBS", "1",
	         "unknown environment variable EGRESS_MAXJOBS"},
	        {__LINE__, NULL, "EGRESS_max_jobs", "1", "EGRESS_max_jobs"},
	        {__LINE__, NULL, "EGRESS_KAFKA_", "1", "EGRESS_KAFKA_"},
	        {__LINE__, NULL, "EGRESS_LOG_LEVEL", "loud",
	         "EGRESS_LOG_LEVEL: log_level has an unknown level \"loud\""},
	        {__LINE__, NULL, "EGRESS_LOG_LEVEL", "info,sfu=loud",
	         "EGRESS_LOG_LEVEL: log_level has an unknown level \"loud\""},
	        {__LINE__, NULL, "EGRESS_LOG_LEVEL", "info,storage=warn,storage=debug",
	         "EGRESS_LOG_LEVEL: log_level gives the level of storage twice"},
	        {__LINE__, NULL, "EGRESS_LOG_FORMAT", "xml",
	         "EGRESS_LOG_FORMAT: log_format must be one of text, json"},
	        {__LINE__, NULL, "EGRESS_STORAGE_DIR", "", "storage_dir must not be empty"},
	        {__LINE__, NULL, "EGRESS_CONSUMER_GROUP", "", "consumer_group must not be empty"},
	        {__LINE__, NULL, "EGRESS_STORAGE_ROOTS", "/a::/b",
	         "storage_roots must not contain an empty"},
	        {__LINE__, NULL, "EGRESS_STORAGE_ROOTS", "",
	         "storage_roots must not contain an empty"},
	        {__LINE__, NULL, "EGRESS_KAFKA_CONNECT_TIMEOUT_S", "0",
	         "kafka_connect_timeout_s must be an integer between 1 and 3600"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].line, cases[i].json, cases[i].env, cases[i].value,
		             cases[i].want);
}

/* docs/configuration.md is the generator's output, byte for byte. */
static void doc_in_step(void)
{
	char *generated = NULL, *checked_in = NULL;
	size_t gen_len = 0, len = 0;
	FILE *f = open_memstream(&generated, &gen_len);

	egw_config_write_doc(f);
	fclose(f);
	f = fopen("../../docs/configuration.md", "r");
	CHECK(f != NULL);
	if (f) {
		checked_in = calloc(1, gen_len + 2);
		len = fread(checked_in, 1, gen_len + 1, f);
		fclose(f);
	}
	CHECK(checked_in && len == gen_len && !memcmp(checked_in, generated, gen_len));
	if (!checked_in || len != gen_len || memcmp(checked_in, generated, gen_len))
		fprintf(stderr, "docs/configuration.md differs from `egress config-doc`: "
		                "run build/egress config-doc > docs/configuration.md\n");
	static const char *const must_mention[] = {
	        "`log_level`",     "`log_format`",
	        "`storage_roots`", "`kafka_connect_timeout_s`",
	        "`embedded`",      "EGRESS_KAFKA_<PROPERTY>",
	        "duplicate",
	};
	for (size_t i = 0; i < sizeof(must_mention) / sizeof(must_mention[0]); i++) {
		CHECK(strstr(generated, must_mention[i]) != NULL);
		if (!strstr(generated, must_mention[i]))
			fprintf(stderr, "the reference does not mention %s\n", must_mention[i]);
	}
	free(generated);
	free(checked_in);
}

int main(void)
{
	clear_egress_env();
	defaults();
	file_then_env();
	log_levels();
	storage_roots();
	errors();
	doc_in_step();
	return CHECK_DONE();
}
