/* Requests of the job contract: decoding, the request envelope (type,
 * egress_id), control requests, and names.
 * Start-request sections are in job_start.c, path templates in job_path.c. */
#include "contract/request_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N(table) (sizeof(table) / sizeof((table)[0]))

const char *const egw_job_source_kinds[] = {
        "track", "participant", "track_composite", "room_composite", "render", "room_tracks", NULL,
};
const char *const egw_job_output_kinds[] = {"file",   "stream",    "segments",
                                            "images", "websocket", NULL};
const char *const egw_job_formats[] = {"mp4", "mkv", "webm", "ogg", NULL};
const char *const egw_job_storage_kinds[] = {"local", "s3", "gcs", "azure", NULL};
const char *const egw_job_layouts[] = {"grid", "speaker", "screenshare", "single-speaker", NULL};

static const char *const request_types[] = {
	"start", "stop", "update_layout", "update_stream", NULL,
};
static const char *const stream_schemes[] = {"rtmp", "rtmps", "srt", NULL};

static const egw_json_field_t type_field[] = {
	EGW_F_CHOICE("type", EGW_JSON_REQUIRED, request_types),
};
static const egw_json_field_t stop_fields[] = {
	EGW_F_STR("reason", 0, 256, egw_request_t, reason),
};
static const egw_json_field_t update_layout_fields[] = {
	{.name = "layout", .types = EGW_JSON_T_STRING | EGW_JSON_T_OBJECT,
	 .flags = EGW_JSON_REQUIRED, .one_of = egw_job_layouts, .dest = EGW_JSON_DEST_STR,
	 .offset = offsetof(egw_request_t, layout)},
};
static const egw_json_field_t update_stream_fields[] = {
	{.name = "add_urls", .types = EGW_JSON_T_ARRAY | EGW_JSON_T_NULL, .max = EGW_JOB_URLS_MAX},
	{.name = "remove_urls", .types = EGW_JSON_T_ARRAY | EGW_JSON_T_NULL,
	 .max = EGW_JOB_URLS_MAX},
};

int egw_job_name_index(const char *const *names, const char *s)
{
	for (int i = 0; s && names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static const char *name_of(const char *const *names, size_t n, int index)
{
	return index >= 0 && (size_t)index < n - 1 ? names[index] : "unknown";
}

const char *egw_source_kind2str(egw_source_kind_t kind)
{
	return name_of(egw_job_source_kinds, N(egw_job_source_kinds), (int)kind);
}

const char *egw_output_kind2str(egw_output_kind_t kind)
{
	return name_of(egw_job_output_kinds, N(egw_job_output_kinds), (int)kind);
}

const char *egw_file_format2str(egw_file_format_t fmt)
{
	return name_of(egw_job_formats, N(egw_job_formats), (int)fmt - 1);
}

const char *egw_storage_kind2str(egw_storage_kind_t kind)
{
	if (kind == EGW_STORAGE_DEFAULT)
		return "default";
	return name_of(egw_job_storage_kinds, N(egw_job_storage_kinds), (int)kind - 1);
}

/* ---- URLs ---- */

int egw_job_url_ok(const char *url, const char *const *schemes)
{
	const char *sep, *host, *host_end;
	size_t scheme_len;
	int known = 0;

	if (!url)
		return 0;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	sep = strstr(url, "://");
	if (!sep)
		return 0;
	scheme_len = (size_t)(sep - url);
	for (size_t i = 0; schemes[i] && !known; i++)
		known = strlen(schemes[i]) == scheme_len && !strncasecmp(url, schemes[i], scheme_len);
	host = sep + 3;
	host_end = host + strcspn(host, "/?#");
	for (const char *p = host; p < host_end; p++) /* skip user:password@ */
		if (*p == '@')
			host = p + 1;
	return known && host < host_end && *host != ':';
}

void egw_job_free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

egw_err_t egw_job_copy_stream_urls(const json_t *urls, const char *path, char ***out, size_t *n,
				   char *errstr, size_t errstr_size)
{
	size_t count = json_array_size(urls);
	char **v = NULL;
	char item[64];
	egw_err_t err = EGW_ERR_INVALID_REQUEST;

	*out = NULL;
	*n = 0;
	v = count ? calloc(count, sizeof(*v)) : NULL;
	if (count && !v)
		goto nomem;
	for (size_t i = 0; i < count; i++) {
		const json_t *u = json_array_get(urls, i);
		const char *s = json_string_value(u);

		egw_json_path_index(item, sizeof(item), path, i);
		if (s && json_string_length(u) > EGW_JOB_URL_MAX) {
			egw_json_seterr(errstr, errstr_size, item, NULL, "must be at most %d bytes long",
					EGW_JOB_URL_MAX);
			goto fail;
		}
		if (!s || strlen(s) != json_string_length(u) || !egw_job_url_ok(s, stream_schemes)) {
			egw_json_seterr(errstr, errstr_size, item, NULL,
					"must be an rtmp://, rtmps:// or srt:// URL");
			goto fail;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(v[j], s)) {
				egw_json_seterr(errstr, errstr_size, item, NULL, "same URL as %s[%zu]",
						path, j);
				goto fail;
			}
		}
		v[i] = strdup(s);
		if (!v[i])
			goto nomem;
	}
	*out = v;
	*n = count;
	return EGW_OK;
nomem:
	err = EGW_ERR_NOMEM;
	egw_json_seterr(errstr, errstr_size, path, NULL, "out of memory");
fail:
	egw_job_free_strv(v, count);
	return err;
}

/* ---- the request envelope ---- */

/* jansson's messages quote the text near the error, which may be a secret:
 * only our own words and the position go into errstr. */
static egw_err_t decode_error(const json_error_t *jerr, char *errstr, size_t errstr_size)
{
	const char *what;

	switch (json_error_code(jerr)) {
	case json_error_out_of_memory:
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "out of memory");
		return EGW_ERR_NOMEM;
	case json_error_invalid_utf8:
		what = "not valid UTF-8";
		break;
	case json_error_duplicate_key:
		what = "not valid JSON: duplicate key";
		break;
	case json_error_premature_end_of_input:
		what = "not valid JSON: premature end of input";
		break;
	case json_error_end_of_input_expected:
		what = "not valid JSON: unexpected text after the object";
		break;
	case json_error_stack_overflow:
		what = "not valid JSON: nested too deeply";
		break;
	case json_error_numeric_overflow:
		what = "not valid JSON: number out of range";
		break;
	case json_error_null_character:
	case json_error_null_byte_in_key:
		what = "not valid JSON: contains a NUL character";
		break;
	default:
		what = "not valid JSON";
		break;
	}
	egw_json_seterr(errstr, errstr_size, NULL, NULL, "%s (line %d, column %d)", what,
			jerr->line, jerr->column);
	return EGW_ERR_INVALID_REQUEST;
}

/* ---- integers beyond 64 bits ----
 * jansson stops at the first one ("numeric overflow") without saying where.
 * Parsed again with every integer as a real, the document is mended: what
 * was an integer in the text becomes one again, and one beyond 64 bits the
 * nearest 64-bit integer, so that the field's own rule names the problem
 * ("limits.max_duration_s: must be an integer between 1 and 604800") and
 * the egress id is still known. big gets the path of the first one, for
 * fields without bounds (see egw_request_parse). */

/* The integer the real v stands for (v itself when it has a fraction);
 * NULL when out of memory. */
static json_t *mend_real(json_t *v, const char *path, char *big, size_t big_size)
{
	double d = json_real_value(v);

	if (d >= 0x1p63 || d < -0x1p63) {
		if (!big[0])
			snprintf(big, big_size, "%s", path[0] ? path : "request");
		return json_integer(d > 0 ? LLONG_MAX : LLONG_MIN);
	}
	if ((double)(json_int_t)d != d)
		return json_incref(v);
	return json_integer((json_int_t)d);
}

/* Mends the numbers in v in place; -1 when out of memory. */
static int mend_numbers(json_t *v, const char *path, char *big, size_t big_size)
{
	char item[256];
	const char *key;
	json_t *child;
	size_t i;

	json_object_foreach(v, key, child) {
		egw_json_path_key(item, sizeof(item), path, key);
		if (json_is_real(child)
			    ? json_object_set_new(v, key, mend_real(child, item, big, big_size))
			    : mend_numbers(child, item, big, big_size))
			return -1;
	}
	json_array_foreach(v, i, child) {
		egw_json_path_index(item, sizeof(item), path, i);
		if (json_is_real(child) ? json_array_set_new(v, i, mend_real(child, item, big, big_size))
					: mend_numbers(child, item, big, big_size))
			return -1;
	}
	return 0;
}

/* The document of a numeric overflow, mended; NULL when it has another
 * problem too (a real beyond double, say) or memory is short. */
static json_t *decode_mended(const char *text, size_t len, char *big, size_t big_size)
{
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
						     JSON_DECODE_INT_AS_REAL, NULL);
	json_t *top = json_array(); /* the root may be a number: mend it as an item */

	if (!root || !top || json_array_append(top, root) || mend_numbers(top, "", big, big_size)) {
		json_decref(top);
		json_decref(root);
		return NULL;
	}
	json_decref(root);
	root = json_incref(json_array_get(top, 0));
	json_decref(top);
	return root;
}

static egw_err_t decode(const char *text, size_t len, json_t **root, char *big, size_t big_size,
			char *errstr, size_t errstr_size)
{
	json_error_t jerr;

	*root = NULL;
	if (!text || !len) {
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "empty");
		return EGW_ERR_INVALID_REQUEST;
	}
	if (len > EGW_JOB_REQUEST_MAX_BYTES) {
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "too large (%zu bytes, at most %d)",
				len, EGW_JOB_REQUEST_MAX_BYTES);
		return EGW_ERR_INVALID_REQUEST;
	}
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!*root && json_error_code(&jerr) == json_error_numeric_overflow)
		*root = decode_mended(text, len, big, big_size);
	if (!*root)
		return decode_error(&jerr, errstr, errstr_size);
	if (!json_is_object(*root)) {
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "must be a JSON object");
		return EGW_ERR_INVALID_REQUEST;
	}
	return EGW_OK;
}

static int egress_id_ok(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!s || len < 1 || len > EGW_EGRESS_ID_MAX || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static egw_err_t parse_update_stream(const json_t *root, egw_request_t *req, char *errstr,
				     size_t errstr_size)
{
	egw_err_t err = egw_json_validate(root, "", update_stream_fields, N(update_stream_fields),
					  errstr, errstr_size);
	if (!err)
		err = egw_job_copy_stream_urls(egw_json_get(root, "add_urls"), "add_urls",
					       &req->add_urls, &req->n_add_urls, errstr, errstr_size);
	if (!err)
		err = egw_job_copy_stream_urls(egw_json_get(root, "remove_urls"), "remove_urls",
					       &req->remove_urls, &req->n_remove_urls, errstr,
					       errstr_size);
	if (!err && !req->n_add_urls && !req->n_remove_urls) {
		egw_json_seterr(errstr, errstr_size, "add_urls", NULL, "is required (or remove_urls)");
		err = EGW_ERR_INVALID_REQUEST;
	}
	return err;
}

static egw_err_t parse_body(const json_t *root, egw_request_t *req, char *errstr,
			    size_t errstr_size)
{
	egw_err_t err;

	switch (req->type) {
	case EGW_REQ_START:
		return egw_job_parse_start(root, req->egress_id, &req->job, errstr, errstr_size);
	case EGW_REQ_STOP:
		err = egw_json_validate(root, "", stop_fields, 1, errstr, errstr_size);
		if (!err && egw_json_fill(root, stop_fields, 1, req)) {
			egw_json_seterr(errstr, errstr_size, NULL, NULL, "out of memory");
			err = EGW_ERR_NOMEM;
		}
		return err;
	case EGW_REQ_UPDATE_LAYOUT:
		err = egw_json_validate(root, "", update_layout_fields, 1, errstr, errstr_size);
		if (!err && egw_json_fill(root, update_layout_fields, 1, req)) {
			egw_json_seterr(errstr, errstr_size, NULL, NULL, "out of memory");
			err = EGW_ERR_NOMEM;
		}
		return err;
	case EGW_REQ_UPDATE_STREAM:
		return parse_update_stream(root, req, errstr, errstr_size);
	}
	return EGW_ERR_INTERNAL;
}

egw_err_t egw_request_parse(const char *text, size_t len, egw_request_t **out,
			    char *egress_id_out, char *errstr, size_t errstr_size)
{
	json_t *root = NULL, *id;
	egw_request_t *req = NULL;
	char big[256] = "";
	egw_err_t err;

	if (egress_id_out)
		egress_id_out[0] = '\0';
	if (errstr && errstr_size)
		errstr[0] = '\0';
	if (!out) {
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "no place for the result");
		return EGW_ERR_INTERNAL;
	}
	*out = NULL;
	err = decode(text, len, &root, big, sizeof(big), errstr, errstr_size);
	if (err)
		goto fail;
	id = json_object_get(root, "egress_id");
	if (!egress_id_ok(id)) {
		egw_json_seterr(errstr, errstr_size, "egress_id", NULL, "%s",
				id ? "must be 1-64 characters of A-Z, a-z, 0-9, _ and -"
				   : "is required");
		err = EGW_ERR_INVALID_REQUEST;
		goto fail;
	}
	if (egress_id_out)
		snprintf(egress_id_out, EGW_EGRESS_ID_MAX + 1, "%s", json_string_value(id));
	err = egw_json_validate(root, "", type_field, 1, errstr, errstr_size);
	if (err)
		goto fail;
	req = calloc(1, sizeof(*req));
	if (!req) {
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "out of memory");
		err = EGW_ERR_NOMEM;
		goto fail;
	}
	req->type = (egw_request_type_t)egw_job_name_index(
		request_types, json_string_value(json_object_get(root, "type")));
	snprintf(req->egress_id, sizeof(req->egress_id), "%s", json_string_value(id));
	err = parse_body(root, req, errstr, errstr_size);
	if (!err && big[0]) { /* in a field without bounds, or an unknown one */
		egw_json_seterr(errstr, errstr_size, big, NULL, "number out of range");
		err = EGW_ERR_INVALID_REQUEST;
	}
	if (err)
		goto fail;
	*out = req;
	json_decref(root);
	return EGW_OK;
fail:
	egw_request_free(req);
	json_decref(root);
	return err;
}

void egw_request_free(egw_request_t *req)
{
	if (!req)
		return;
	egw_job_free(req->job);
	free(req->layout);
	free(req->reason);
	egw_job_free_strv(req->add_urls, req->n_add_urls);
	egw_job_free_strv(req->remove_urls, req->n_remove_urls);
	free(req);
}
