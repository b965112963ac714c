/* Worker configuration: defaults, file, environment, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "worker/config.h"

static const char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/egw-config-test-%d.json", (int)getpid());
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void defaults(void)
{
	egw_config_t *cfg = NULL;
	char err[256];
	CHECK(egw_config_load(NULL, &cfg, err, sizeof(err)) == EGW_OK);
	CHECK_STR(cfg->jobs_topic, "egress.jobs");
	CHECK_STR(cfg->consumer_group, "egress-workers");
	CHECK_STR(cfg->kafka_brokers, "");
	CHECK(cfg->max_jobs == 2 && cfg->stop_grace_s == 10);
	CHECK(cfg->worker_id[0] != '\0'); /* hostname-pid */
	egw_config_free(cfg);
}

static void file_then_env(void)
{
	egw_config_t *cfg = NULL;
	char err[256];
	const char *path = write_tmp("{\"max_jobs\": 3, \"status_topic\": \"st\", "
				     "\"kafka_props\": {\"socket.timeout.ms\": \"5000\"}}");
	setenv("EGRESS_STATUS_TOPIC", "from-env", 1);
	setenv("EGRESS_KAFKA_SESSION_TIMEOUT_MS", "6000", 1);
	CHECK(egw_config_load(path, &cfg, err, sizeof(err)) == EGW_OK);
	CHECK(cfg->max_jobs == 3);
	CHECK_STR(cfg->status_topic, "from-env"); /* the environment wins */
	int found_file = 0, found_env = 0;
	for (size_t i = 0; i < cfg->n_kafka_props; i++) {
		found_file |= !strcmp(cfg->kafka_props[i], "socket.timeout.ms=5000");
		found_env |= !strcmp(cfg->kafka_props[i], "session.timeout.ms=6000");
	}
	CHECK(found_file && found_env);
	egw_config_free(cfg);
	unsetenv("EGRESS_STATUS_TOPIC");
	unsetenv("EGRESS_KAFKA_SESSION_TIMEOUT_MS");
	remove(path);
}

static void errors(void)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{"{\"max_job\": 3}", "unknown setting \"max_job\""},
		{"{\"max_jobs\": 0}", "max_jobs must be between 1 and 256"},
		{"{\"max_jobs\": \"x\"}", "max_jobs must be an integer"},
		{"{\"jobs_topic\": 5}", "jobs_topic must be a string"},
		{"[1]", "must be a JSON object"},
		{"{", "end of file"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		egw_config_t *cfg = NULL;
		char err[256] = "";
		const char *path = write_tmp(cases[i].json);
		CHECK(egw_config_load(path, &cfg, err, sizeof(err)) == EGW_ERR_INVALID_REQUEST);
		CHECK(cfg == NULL);
		if (!strstr(err, cases[i].want)) {
			fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err, cases[i].want);
			CHECK(0);
		}
		remove(path);
	}
	egw_config_t *cfg = NULL;
	char err[256] = "";
	setenv("EGRESS_MAX_JOBS", "many", 1);
	CHECK(egw_config_load(NULL, &cfg, err, sizeof(err)) == EGW_ERR_INVALID_REQUEST);
	CHECK(strstr(err, "EGRESS_MAX_JOBS") != NULL);
	unsetenv("EGRESS_MAX_JOBS");
}

int main(void)
{
	defaults();
	file_then_env();
	errors();
	return CHECK_DONE();
}
