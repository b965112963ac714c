/* Logging: per-module levels (log_level "info,sfu=debug"), the checks of
 * such a setting, and the module in text and JSON lines.
 * Runs in tests/unit. */

/* This file logs as if it were in sfu/ (CMake defines EGW_LOG_MODULE for the
 * folders' files only), so that the macros are tested as the code uses them. */
#undef EGW_LOG_MODULE
#define EGW_LOG_MODULE EGW_LOG_MOD_SFU

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "tests/unit/check.h"

static FILE *captured;
static int saved_stderr = -1;

/* Lines written to stderr between capture_start() and capture_end() (the
 * text, freed by the caller). */
static void capture_start(void)
{
	fflush(stderr);
	captured = tmpfile();
	saved_stderr = dup(2);
	if (captured)
		dup2(fileno(captured), 2);
}

static char *capture_end(void)
{
	char *text = calloc(1, 65536);
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	if (captured && text) {
		rewind(captured);
		size_t n = fread(text, 1, 65535, captured);
		text[n] = '\0';
	}
	if (captured)
		fclose(captured);
	captured = NULL;
	return text;
}

/* EGRESS_LOG_LEVEL takes the same syntax, before any configuration. */
static void from_environment(void)
{
	setenv("EGRESS_LOG_LEVEL", "warn,job=debug", 1);
	unsetenv("EGRESS_LOG_FORMAT");
	egw_log_init();
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_JOB, EGW_LOG_DEBUG));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_WORKER, EGW_LOG_WARN));
	CHECK(!egw_log_module_enabled(EGW_LOG_MOD_WORKER, EGW_LOG_INFO));
	CHECK(!egw_log_enabled(EGW_LOG_INFO)); /* this file: sfu, at warn */
	unsetenv("EGRESS_LOG_LEVEL");
}

static void module_levels(void)
{
	char *out;

	CHECK(egw_log_configure("info,sfu=debug,storage=warn", 0) == 0);
	CHECK(egw_log_enabled(EGW_LOG_DEBUG));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_SFU, EGW_LOG_DEBUG));
	CHECK(!egw_log_module_enabled(EGW_LOG_MOD_PIPELINES, EGW_LOG_DEBUG));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_PIPELINES, EGW_LOG_INFO));
	CHECK(!egw_log_module_enabled(EGW_LOG_MOD_STORAGE, EGW_LOG_INFO));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_STORAGE, EGW_LOG_WARN));
	CHECK(!egw_log_module_enabled(EGW_LOG_MOD_NONE, EGW_LOG_DEBUG)); /* the default */
	CHECK(!egw_log_module_enabled((egw_log_module_t)99, EGW_LOG_ERROR));

	capture_start();
	EGW_LOG("EG_one", DEBUG, "sfu detail %d", 1);
	egw_log_write(EGW_LOG_MOD_PIPELINES, "EG_one", EGW_LOG_DEBUG, "pipelines detail");
	egw_log_write(EGW_LOG_MOD_PIPELINES, NULL, EGW_LOG_INFO, "pipelines news");
	egw_log_write(EGW_LOG_MOD_STORAGE, NULL, EGW_LOG_INFO, "storage news");
	egw_log(NULL, EGW_LOG_WARN, "sfu warning");
	out = capture_end();
	CHECK(out && strstr(out, " debug sfu        [EG_one] sfu detail 1\n"));
	CHECK(out && !strstr(out, "pipelines detail"));
	CHECK(out && strstr(out, " info  pipelines  pipelines news\n"));
	CHECK(out && !strstr(out, "storage news"));
	CHECK(out && strstr(out, " warn  sfu        sfu warning\n"));
	if (out && !strstr(out, "sfu detail 1"))
		fprintf(stderr, "captured: %s\n", out);
	free(out);

	/* a bare level: every module, as before */
	CHECK(egw_log_configure("WARN", 0) == 0);
	CHECK(!egw_log_enabled(EGW_LOG_INFO));
	CHECK(!egw_log_module_enabled(EGW_LOG_MOD_WORKER, EGW_LOG_INFO));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_WORKER, EGW_LOG_WARN));
	/* modules alone: info elsewhere; spaces around items */
	CHECK(egw_log_configure(" sfu = error , Worker=debug ", 0) == 0);
	CHECK(!egw_log_enabled(EGW_LOG_WARN));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_WORKER, EGW_LOG_DEBUG));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_JOB, EGW_LOG_INFO));
	CHECK(!egw_log_module_enabled(EGW_LOG_MOD_JOB, EGW_LOG_DEBUG));
}

static void bad_settings(void)
{
	static const struct {
		const char *levels, *want;
	} cases[] = {
	        {"loud", "has an unknown level \"loud\" (levels: error, warn, info, debug)"},
	        {"info,sfuu=debug", "names an unknown module \"sfuu\" (modules: base, contract, "
	                            "http, compositor, storage, sfu, pipelines, job, worker)"},
	        {"info,sfu=", "has an unknown level \"\""},
	        {"info,sfu=verbose", "has an unknown level \"verbose\""},
	        {"info,sfu", "has an unknown level \"sfu\""},
	        {"sfu:debug", "has an unknown level \"sfu:debug\""},
	        {"=debug", "names an unknown module \"\""},
	        {"info,,sfu=debug", "has an empty item"},
	        {"info,", "has an empty item"},
	        {",info", "has an empty item"},
	        {"", "must not be empty"},
	        {"  ", "must not be empty"},
	        {"info,debug", "gives the default level twice"},
	        {"sfu=debug,storage=warn,SFU=info", "gives the level of sfu twice"},
	};
	char why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		int rc = egw_log_check_levels(cases[i].levels, why, sizeof(why));
		CHECK(rc == -1);
		if (rc != -1 || !strstr(why, cases[i].want)) {
			fprintf(stderr, "\"%s\": rc %d, got \"%s\", want \"%s\"\n", cases[i].levels,
			        rc, why, cases[i].want);
			CHECK(0);
		}
	}
	CHECK(egw_log_check_levels(NULL, why, sizeof(why)) == -1);
	CHECK(egw_log_check_levels("debug", NULL, 0) == 0);
	CHECK(egw_log_check_levels("x", NULL, 0) == -1); /* no room for why: fine */

	/* a refused setting changes nothing */
	CHECK(egw_log_configure("info,sfu=debug", 0) == 0);
	CHECK(egw_log_configure("error,sfuu=debug", 1) == -1);
	CHECK(egw_log_enabled(EGW_LOG_DEBUG));
	CHECK(egw_log_module_enabled(EGW_LOG_MOD_JOB, EGW_LOG_INFO));
}

static void json_lines(void)
{
	char *out, *nl;
	json_t *first = NULL, *second = NULL;

	CHECK(egw_log_configure("warn,sfu=debug", 1) == 0);
	capture_start();
	EGW_LOG("EG_json", DEBUG, "scene: %s", "{\"tiles\": []}");
	egw_log_write(EGW_LOG_MOD_NONE, NULL, EGW_LOG_WARN, "from a tool");
	egw_log_write(EGW_LOG_MOD_JOB, NULL, EGW_LOG_INFO, "not at info");
	out = capture_end();
	nl = out ? strchr(out, '\n') : NULL;
	CHECK(nl != NULL);
	if (nl) {
		first = json_loadb(out, (size_t)(nl - out), 0, NULL);
		second = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
	}
	CHECK(first && second);
	CHECK_STR(json_string_value(json_object_get(first, "module")), "sfu");
	CHECK_STR(json_string_value(json_object_get(first, "level")), "debug");
	CHECK_STR(json_string_value(json_object_get(first, "msg")), "scene: {\"tiles\": []}");
	CHECK_STR(json_string_value(json_object_get(first, "egress_id")), "EG_json");
	CHECK(json_is_string(json_object_get(first, "time")));
	/* code outside the folders names no module */
	CHECK(second && !json_object_get(second, "module"));
	CHECK_STR(json_string_value(json_object_get(second, "msg")), "from a tool");
	CHECK(second && !json_object_get(second, "egress_id"));
	CHECK(out && !strstr(out, "not at info"));
	json_decref(first);
	json_decref(second);
	free(out);
}

static void module_names(void)
{
	CHECK_STR(egw_log_module_name(EGW_LOG_MOD_BASE), "base");
	CHECK_STR(egw_log_module_name(EGW_LOG_MOD_COMPOSITOR), "compositor");
	CHECK_STR(egw_log_module_name(EGW_LOG_MOD_WORKER), "worker");
	CHECK(egw_log_module_name(EGW_LOG_MOD_NONE) == NULL);
	for (int m = 0; m < EGW_LOG_MOD_COUNT; m++)
		CHECK(egw_log_module_name((egw_log_module_t)m) != NULL);
}

int main(void)
{
	from_environment();
	module_levels();
	bad_settings();
	json_lines();
	module_names();
	return CHECK_DONE();
}
