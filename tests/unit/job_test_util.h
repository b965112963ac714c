/* Helpers shared by the request-parser unit tests (test_job*.c): sample
 * requests from data/, JSON mutation by path, error expectations. */
#ifndef EGW_TEST_JOB_UTIL_H
#define EGW_TEST_JOB_UTIL_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "contract/request.h"

#define P "data/start_participant.json"
#define MIN "data/start_minimal.json"
#define T "data/start_track.json"
#define TI "data/start_track_id.json"
#define TC "data/start_track_composite.json"
#define RC "data/start_room_composite.json"
#define RCJ "data/start_room_composite_janus.json" /* runnable here */
#define R "data/start_render.json"
#define STOP "data/stop.json"
#define UL "data/update_layout.json"
#define US "data/update_stream.json"
#define DELETE NULL
#define SECRET_MARK "s3cr3t"
#define T_2026 ((time_t)1795637700) /* 2026-11-25T20:15:00Z */

static int bad_cases __attribute__((unused));

static inline char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		text = calloc(1, (size_t)size + 1);
		if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
			free(text);
			text = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	return text;
}

static inline egw_err_t parse_file(const char *path, egw_request_t **req, char *id, char *err,
			    size_t err_size)
{
	size_t len = 0;
	char *text = read_text(path, &len);
	egw_err_t rc;

	if (!text) {
		fprintf(stderr, "cannot read %s (run in tests/unit)\n", path);
		exit(2);
	}
	rc = egw_request_parse(text, len, req, id, err, err_size);
	free(text);
	return rc;
}

static inline egw_request_t *parse_ok(const char *path)
{
	egw_request_t *req = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_err_t rc = parse_file(path, &req, id, err, sizeof(err));

	CHECK(rc == EGW_OK);
	if (rc != EGW_OK)
		fprintf(stderr, "%s: unexpected error: %s\n", path, err);
	return req;
}

/* Sets (value non-NULL, stolen) or removes the member at a dotted path such
 * as "outputs.0.format" ("" is the root itself). */
static inline json_t *set_path(json_t *root, const char *path, json_t *value)
{
	char buf[256], *key, *next;
	json_t *parent = root;

	if (!*path) {
		json_decref(root);
		return value;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	for (key = buf; (next = strchr(key, '.')); key = next + 1) {
		*next = '\0';
		parent = json_is_array(parent) ? json_array_get(parent, strtoul(key, NULL, 10))
					       : json_object_get(parent, key);
	}
	if (json_is_array(parent) && value && strtoul(key, NULL, 10) >= json_array_size(parent))
		json_array_append_new(parent, value);
	else if (json_is_array(parent) && value)
		json_array_set_new(parent, strtoul(key, NULL, 10), value);
	else if (json_is_array(parent))
		json_array_remove(parent, strtoul(key, NULL, 10));
	else if (value)
		json_object_set_new(parent, key, value);
	else
		json_object_del(parent, key);
	return root;
}

/* base with up to two members set to JSON text values (NULL: removed);
 * the parse result, and the request in *keep when keep is not NULL. */
static inline egw_err_t parse_mutated2(const char *base, const char *path1, const char *value1,
				const char *path2, const char *value2, egw_request_t **keep,
				char *id, char *err, size_t err_size)
{
	json_t *root = json_load_file(base, 0, NULL);
	const char *paths[2] = {path1, path2}, *values[2] = {value1, value2};
	egw_request_t *req = NULL;
	char *text;
	egw_err_t rc;

	for (int i = 0; i < 2 && root && paths[i]; i++) {
		json_t *v = values[i] ? json_loads(values[i], JSON_DECODE_ANY, NULL) : NULL;
		if (values[i] && !v) {
			fprintf(stderr, "bad test value: %s\n", values[i]);
			exit(2);
		}
		root = set_path(root, paths[i], v);
	}
	if (!root) {
		fprintf(stderr, "cannot load %s\n", base);
		exit(2);
	}
	text = json_dumps(root, JSON_COMPACT);
	rc = egw_request_parse(text, strlen(text), &req, id, err, err_size);
	CHECK((rc == EGW_OK) == (req != NULL));
	if (keep)
		*keep = req;
	else
		egw_request_free(req);
	free(text);
	json_decref(root);
	return rc;
}

static inline egw_err_t parse_mutated(const char *base, const char *path, const char *value, char *id,
			       char *err, size_t err_size)
{
	return parse_mutated2(base, path, value, NULL, NULL, NULL, id, err, err_size);
}

/* case: a line of this file, or an index in data/job_bad_requests.json */
static inline void expect_error(int line, egw_err_t rc, const char *err, const char *want)
{
	bad_cases++;
	CHECK(rc == EGW_ERR_INVALID_REQUEST);
	CHECK(strstr(err, want) != NULL);
	CHECK(strstr(err, SECRET_MARK) == NULL);
	if (rc != EGW_ERR_INVALID_REQUEST || !strstr(err, want))
		fprintf(stderr, "  case %d: rc %d, got \"%s\", want \"%s\"\n", line, rc, err, want);
}

#endif
