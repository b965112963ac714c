/* libFuzzer target: job requests (outside input from Kafka and the CLI).
 * Parses, and for a valid start job also checks support and expands every
 * path template. Traps when an invariant of worker/job.h is broken. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <stdlib.h>

#include "contract/redact.h"
#include "contract/request.h"

/* The dead-letter copy of any input is JSON (contract/redact.h). */
static void redact(const uint8_t *data, size_t size)
{
	size_t len = 0;
	char *copy = egw_request_redact((const char *)data, size, &len);
	json_t *j = copy ? json_loadb(copy, len, JSON_DECODE_ANY, NULL) : NULL;
	if (!j || strlen(copy) != len)
		__builtin_trap();
	json_decref(j);
	free(copy);
}

static void expand_all(const egw_job_t *job)
{
	char path[4096], err[512];

	for (size_t i = 0; i < job->n_outputs; i++) {
		const char *tmpl = job->outputs[i].path ? job->outputs[i].path : job->outputs[i].prefix;
		if (!tmpl || egw_job_expand_path(job, tmpl, 0, path, sizeof(path), err, sizeof(err)))
			continue;
		/* an expanded path stays under the storage root */
		if (path[0] == '/' || !strncmp(path, "../", 3) || strstr(path, "/../") ||
		    strstr(path, "//"))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	egw_request_t *req = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_err_t rc = egw_request_parse((const char *)data, size, &req, id, err, sizeof(err));

	if ((rc == EGW_OK) != (req != NULL) || strlen(id) > EGW_EGRESS_ID_MAX)
		__builtin_trap();
	if (rc != EGW_OK && (err[0] == '\0' || !strstr(err, ": ")))
		__builtin_trap(); /* every failure names a field */
	if (req && req->type == EGW_REQ_START) {
		if (!req->job || strcmp(req->job->egress_id, req->egress_id))
			__builtin_trap();
		expand_all(req->job);
	}
	egw_request_free(req);
	redact(data, size);
	return 0;
}
