/* Start requests: the outputs section (file, stream, segments, images,
 * websocket), each kind checked against its field table (docs/jobs.md). */
#include "contract/request_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQ EGW_JSON_REQUIRED
#define N(table) (sizeof(table) / sizeof((table)[0]))
#define TABLE(t)                                                                                   \
	{                                                                                          \
		(t), N(t)                                                                          \
	}
#define EXPANDED_MAX 4096

static const char *const segment_formats[] = {"hls", NULL};

static const egw_json_field_t output_kind_field[] = {
        EGW_F_CHOICE("kind", REQ, egw_job_output_kinds),
};
static const egw_json_field_t file_fields[] = {
        EGW_F_CHOICE("format", REQ, egw_job_formats),
        EGW_F_STR("path", 0, EGW_JOB_TEMPLATE_MAX, egw_output_t, path),
};
static const egw_json_field_t stream_fields[] = {
        {.name = "urls",
         .types = EGW_JSON_T_ARRAY,
         .flags = REQ,
         .min = 1,
         .max = EGW_JOB_URLS_MAX},
        EGW_F_INT("reconnect_window_s", 1, 3600, egw_output_t, reconnect_window_s),
};
static const egw_json_field_t segments_fields[] = {
        EGW_F_CHOICE("format", 0, segment_formats),
        EGW_F_STR("prefix", REQ, EGW_JOB_TEMPLATE_MAX, egw_output_t, prefix),
        EGW_F_INT("segment_s", 1, 60, egw_output_t, segment_s),
};
static const egw_json_field_t images_fields[] = {
        EGW_F_STR("prefix", REQ, EGW_JOB_TEMPLATE_MAX, egw_output_t, prefix),
        EGW_F_INT("every_s", 1, 3600, egw_output_t, every_s),
        EGW_F_INT("width", 16, 7680, egw_output_t, width),
        EGW_F_INT("height", 16, 4320, egw_output_t, height),
};
static const egw_json_field_t websocket_fields[] = {
        EGW_F_STR("url", REQ, EGW_JOB_URL_MAX, egw_output_t, url),
        {.name = "headers", .types = EGW_JSON_T_OBJECT | EGW_JSON_T_NULL},
        {.name = "sample_rate", .types = EGW_JSON_T_INT | EGW_JSON_T_NULL},
        EGW_F_INT("channels", 1, 2, egw_output_t, channels),
        EGW_F_INT("reconnect_window_s", 1, 3600, egw_output_t, reconnect_window_s),
};
static const egw_field_table_t output_tables[] = {
        [EGW_OUTPUT_FILE] = TABLE(file_fields),
        [EGW_OUTPUT_STREAM] = TABLE(stream_fields),
        [EGW_OUTPUT_SEGMENTS] = TABLE(segments_fields),
        [EGW_OUTPUT_IMAGES] = TABLE(images_fields),
        [EGW_OUTPUT_WEBSOCKET] = TABLE(websocket_fields),
};

/* Expands tmpl once (at time 0) so that a template that can never work fails
 * now, naming path.key. */
static egw_err_t check_template(const egw_job_t *job, const char *tmpl, const char *path,
                                const char *key, char *errstr, size_t errstr_size)
{
	char field[64], expanded[EXPANDED_MAX];

	egw_json_path_key(field, sizeof(field), path, key);
	return egw_job_expand(job, tmpl, 0, field, expanded, sizeof(expanded), errstr, errstr_size);
}

static egw_err_t default_path(egw_output_t *out, char *errstr, size_t errstr_size)
{
	char path[64];

	snprintf(path, sizeof(path), "{room_id}/{egress_id}.%s", egw_file_format2str(out->format));
	out->path = strdup(path);
	if (!out->path)
		egw_json_seterr(errstr, errstr_size, "outputs", NULL, "out of memory");
	return out->path ? EGW_OK : EGW_ERR_NOMEM;
}

/* A header name: an HTTP token, not one the handshake sets itself. */
static int header_name_ok(const char *name)
{
	static const char *const own[] = {
	        "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
	        NULL};
	size_t len = strlen(name);

	if (!len || len > 128)
		return 0;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c))
			return 0;
	for (size_t i = 0; own[i]; i++)
		if (!strcasecmp(name, own[i]))
			return 0;
	return 1;
}

/* headers: {"Name": "value"}, the values secret (messages name the
 * header, never its value). */
static egw_err_t websocket_headers(const json_t *obj, const char *path, egw_output_t *out,
                                   char *errstr, size_t errstr_size)
{
	char field[96];
	const char *name;
	json_t *v;
	size_t i = 0;

	egw_json_path_key(field, sizeof(field), path, "headers");
	if (!obj || json_is_null(obj))
		return EGW_OK;
	if (json_object_size(obj) > EGW_JOB_HEADERS_MAX) {
		egw_json_seterr(errstr, errstr_size, field, NULL, "at most %d headers",
		                EGW_JOB_HEADERS_MAX);
		return EGW_ERR_INVALID_REQUEST;
	}
	out->headers = calloc(json_object_size(obj) + 1, sizeof(char *));
	if (!out->headers)
		return EGW_ERR_NOMEM;
	json_object_foreach((json_t *)obj, name, v)
	{
		const char *value = json_string_value(v);
		if (!header_name_ok(name)) {
			egw_json_seterr(
			        errstr, errstr_size, field, NULL,
			        "a header name must be an HTTP token, and not one the "
			        "handshake sets (Host, Upgrade, Connection, Sec-WebSocket-*)");
			return EGW_ERR_INVALID_REQUEST;
		}
		if (!value || !json_string_length(v) || json_string_length(v) > EGW_JOB_URL_MAX ||
		    strlen(value) != json_string_length(v) || strpbrk(value, "\r\n") ||
		    strchr(value, 0x7f)) {
			egw_json_seterr(
			        errstr, errstr_size, field, name,
			        "must be a non-empty string of at most %d bytes, on one line",
			        EGW_JOB_URL_MAX);
			return EGW_ERR_INVALID_REQUEST;
		}
		for (const char *c = value; *c; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t') {
				egw_json_seterr(errstr, errstr_size, field, name,
				                "must not hold control characters");
				return EGW_ERR_INVALID_REQUEST;
			}
		size_t len = strlen(name) + 2 + strlen(value) + 1;
		if (!(out->headers[i] = malloc(len)))
			return EGW_ERR_NOMEM;
		snprintf(out->headers[i], len, "%s: %s", name, value);
		out->n_headers = ++i;
	}
	return EGW_OK;
}

/* The URL is a secret: messages name the field only. */
static egw_err_t websocket_output(const json_t *obj, const char *path, egw_output_t *out,
                                  char *errstr, size_t errstr_size)
{
	static const char *const ws_schemes[] = {"ws", "wss", NULL};
	const json_t *rate = egw_json_get(obj, "sample_rate");
	egw_err_t err;

	if (!egw_job_url_ok(out->url, ws_schemes)) {
		egw_json_seterr(errstr, errstr_size, path, "url",
		                "must be a ws:// or wss:// URL with a host");
		return EGW_ERR_INVALID_REQUEST;
	}
	out->sample_rate = 48000;
	if (rate && !egw_job_sample_rate_ok(json_integer_value(rate))) {
		egw_json_seterr(errstr, errstr_size, path, "sample_rate",
		                "must be one of 8000, 12000, 16000, 24000, 32000, 44100, 48000");
		return EGW_ERR_INVALID_REQUEST;
	}
	if (rate)
		out->sample_rate = (int)json_integer_value(rate);
	out->channels = out->channels ? out->channels : 1;
	out->reconnect_window_s = out->reconnect_window_s ? out->reconnect_window_s : 30;
	if ((err = websocket_headers(egw_json_get(obj, "headers"), path, out, errstr, errstr_size)))
		return err;
	return EGW_OK;
}

static egw_err_t parse_output(const json_t *obj, const char *path, const egw_job_t *job,
                              egw_output_t *out, char *errstr, size_t errstr_size)
{
	char urls_path[64];
	int kind;
	egw_err_t err = egw_json_validate(obj, path, output_kind_field, 1, errstr, errstr_size);

	if (err)
		return err;
	kind = egw_job_name_index(egw_job_output_kinds,
	                          json_string_value(json_object_get(obj, "kind")));
	out->kind = (egw_output_kind_t)kind;
	err = egw_job_section(obj, path, output_tables[kind].fields, output_tables[kind].n, out,
	                      errstr, errstr_size);
	if (err)
		return err;
	switch (out->kind) {
	case EGW_OUTPUT_FILE:
		out->format =
		        (egw_file_format_t)(egw_job_name_index(egw_job_formats,
		                                               json_string_value(json_object_get(
		                                                       obj, "format"))) +
		                            1);
		err = out->path ? EGW_OK : default_path(out, errstr, errstr_size);
		return err ? err
		           : check_template(job, out->path, path, "path", errstr, errstr_size);
	case EGW_OUTPUT_STREAM:
		out->reconnect_window_s = out->reconnect_window_s ? out->reconnect_window_s : 30;
		egw_json_path_key(urls_path, sizeof(urls_path), path, "urls");
		return egw_job_copy_stream_urls(json_object_get(obj, "urls"), urls_path, &out->urls,
		                                &out->n_urls, errstr, errstr_size);
	case EGW_OUTPUT_SEGMENTS:
		out->segment_s = out->segment_s ? out->segment_s : 4;
		return check_template(job, out->prefix, path, "prefix", errstr, errstr_size);
	case EGW_OUTPUT_IMAGES:
		out->every_s = out->every_s ? out->every_s : 10;
		return check_template(job, out->prefix, path, "prefix", errstr, errstr_size);
	case EGW_OUTPUT_WEBSOCKET:
		return websocket_output(obj, path, out, errstr, errstr_size);
	}
	return EGW_ERR_INTERNAL;
}

egw_err_t egw_job_parse_outputs(const json_t *arr, egw_job_t *job, char *errstr, size_t errstr_size)
{
	char path[32];
	egw_err_t err;

	job->outputs = calloc(json_array_size(arr), sizeof(*job->outputs));
	if (!job->outputs) {
		egw_json_seterr(errstr, errstr_size, "outputs", NULL, "out of memory");
		return EGW_ERR_NOMEM;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		egw_json_path_index(path, sizeof(path), "outputs", i);
		job->n_outputs = i + 1;
		err = parse_output(json_array_get(arr, i), path, job, &job->outputs[i], errstr,
		                   errstr_size);
		if (err)
			return err;
	}
	/* Two files from one template would overwrite each other. */
	for (size_t i = 0; i < job->n_outputs; i++) {
		for (size_t j = 0; j < i; j++) {
			const char *a = job->outputs[i].path, *b = job->outputs[j].path;
			if (a && b && !strcmp(a, b)) {
				egw_json_path_index(path, sizeof(path), "outputs", i);
				egw_json_seterr(errstr, errstr_size, path, "path",
				                "same as outputs[%zu].path", j);
				return EGW_ERR_INVALID_REQUEST;
			}
		}
	}
	return EGW_OK;
}

void egw_job_free_output(egw_output_t *out)
{
	free(out->path);
	egw_job_free_strv(out->urls, out->n_urls);
	free(out->prefix);
	free(out->url);
	egw_job_free_strv(out->headers, out->n_headers);
}
