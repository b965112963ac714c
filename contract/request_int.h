/* Private to worker/job*.c: do not include outside the job module. */
#ifndef EGW_JOB_INT_H
#define EGW_JOB_INT_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "contract/request.h"
#include "base/json.h"

/* Limits of the contract (docs/jobs.md). */
#define EGW_JOB_REQUEST_MAX_BYTES (256 * 1024)
#define EGW_JOB_TEMPLATE_MAX 1024 /* path templates and prefixes */
#define EGW_JOB_URL_MAX 2048
#define EGW_JOB_URLS_MAX 10 /* per stream output, and per update_stream list */
#define EGW_JOB_OUTPUTS_MAX 16
#define EGW_JOB_HEADERS_MAX 16 /* per websocket output */
#define EGW_JOB_NAME_MAX 256 /* participant names, ids, pins, bucket names */
#define EGW_JOB_SDPS_MAX 16  /* room.sdps, room.endpoints: participants of an rtp or whep room */
#define EGW_JOB_TOKEN_MAX 4096 /* bearer tokens */

/* Table helpers. Optional fields also accept null, meaning absent; strings
 * (EGW_F_STR) must be non-empty and free of control characters. */
#define EGW_F_OPT(req) ((req) ? 0u : EGW_JSON_T_NULL)
#define EGW_F_STR(n, fl, len, st, m)                                                        \
	{ .name = (n), .types = EGW_JSON_T_STRING | EGW_F_OPT((fl) & EGW_JSON_REQUIRED),     \
	  .flags = (fl) | EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE, .max_len = (len),         \
	  .dest = EGW_JSON_DEST_STR, .offset = offsetof(st, m) }
#define EGW_F_ENUM(n, fl, names, st, m)                                                     \
	{ .name = (n), .types = EGW_JSON_T_STRING | EGW_F_OPT((fl) & EGW_JSON_REQUIRED),     \
	  .flags = (fl), .one_of = (names), .dest = EGW_JSON_DEST_STR, .offset = offsetof(st, m) }
#define EGW_F_CHOICE(n, fl, names)                                                          \
	{ .name = (n), .types = EGW_JSON_T_STRING | EGW_F_OPT((fl) & EGW_JSON_REQUIRED),     \
	  .flags = (fl), .one_of = (names) }
#define EGW_F_INT(n, lo, hi, st, m)                                                         \
	{ .name = (n), .types = EGW_JSON_T_INT | EGW_JSON_T_NULL, .min = (lo), .max = (hi),  \
	  .dest = EGW_JSON_DEST_INT, .offset = offsetof(st, m) }
#define EGW_F_BOOL(n, st, m)                                                                \
	{ .name = (n), .types = EGW_JSON_T_BOOL | EGW_JSON_T_NULL, .dest = EGW_JSON_DEST_BOOL, \
	  .offset = offsetof(st, m) }
#define EGW_F_OBJ(n, fl)                                                                    \
	{ .name = (n), .types = EGW_JSON_T_OBJECT | EGW_F_OPT((fl) & EGW_JSON_REQUIRED), .flags = (fl) }

/* Names in enum order (NULL-terminated, for one_of tables). Formats and
 * storage kinds start at enum value 1. */
extern const char *const egw_job_source_kinds[];
extern const char *const egw_job_output_kinds[];
extern const char *const egw_job_formats[];
extern const char *const egw_job_storage_kinds[];
extern const char *const egw_job_layouts[];

/* Index of s in the NULL-terminated names, or -1. */
int egw_job_name_index(const char *const *names, const char *s);

/* ---- shared by the start-request files (request_start.c, request_outputs.c) ---- */

typedef struct egw_field_table {
	const egw_json_field_t *fields;
	size_t n;
} egw_field_table_t;

/* "http" and "https", NULL-terminated (for egw_job_url_ok). */
extern const char *const egw_job_http_schemes[];

/* Writes "path.key: msg" into errstr; returns EGW_ERR_INVALID_REQUEST. */
egw_err_t egw_job_invalid(char *errstr, size_t errstr_size, const char *path, const char *key,
                          const char *msg);

/* The room section (request_room.c); render: a render request (whose
 * media comes from its manifest). */
egw_err_t egw_job_parse_room(const json_t *room, egw_job_t *job, int render, char *errstr,
                             size_t errstr_size);
void egw_job_free_room(egw_job_t *job);

/* Validates obj (at path) against table and fills base from it. */
egw_err_t egw_job_section(const json_t *obj, const char *path, const egw_json_field_t *table,
			  size_t n, void *base, char *errstr, size_t errstr_size);
/* One of the contract's audio sample rates? */
int egw_job_sample_rate_ok(json_int_t rate);
/* The outputs array of a start request into job->outputs. */
egw_err_t egw_job_parse_outputs(const json_t *arr, egw_job_t *job, char *errstr,
				size_t errstr_size);
void egw_job_free_output(egw_output_t *out);

/* Parses and validates the start-request part of root into a new job
 * (egress_id already checked and copied by the caller). */
egw_err_t egw_job_parse_start(const json_t *root, const char *egress_id, egw_job_t **out,
			      char *errstr, size_t errstr_size);
void egw_job_free(egw_job_t *job);

/* Validates an array of stream URLs (rtmp, rtmps, srt) found at path and
 * copies it. The URLs are secrets: messages name only their index. */
egw_err_t egw_job_copy_stream_urls(const json_t *urls, const char *path, char ***out, size_t *n,
				   char *errstr, size_t errstr_size);
void egw_job_free_strv(char **v, size_t n);

/* Non-zero when url is scheme://host... for one of the NULL-terminated
 * schemes (case-insensitive), with a non-empty host and no spaces or control
 * characters. */
int egw_job_url_ok(const char *url, const char *const *schemes);

/* Why an object key prefix (storage.prefix) would leave the bucket's
 * folder it names ("..", "//", a leading "/"), or NULL when it is fine. */
const char *egw_job_key_prefix_problem(const char *prefix);

/* egw_job_expand_path() with the field path used in messages. */
egw_err_t egw_job_expand(const egw_job_t *job, const char *tmpl, time_t t, const char *field,
			 char *out, size_t out_size, char *errstr, size_t errstr_size);

#endif
