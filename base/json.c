#include "base/json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_MAX 512

void egw_json_path_key(char *out, size_t out_size, const char *prefix, const char *key)
{
	int has_prefix = prefix && *prefix;
	if (!out || !out_size)
		return;
	snprintf(out, out_size, "%s%s%s", has_prefix ? prefix : "", has_prefix && key ? "." : "",
		 key ? key : "");
}

void egw_json_path_index(char *out, size_t out_size, const char *prefix, size_t index)
{
	if (!out || !out_size)
		return;
	snprintf(out, out_size, "%s[%zu]", prefix ? prefix : "", index);
}

void egw_json_seterr(char *errstr, size_t errstr_size, const char *prefix, const char *key,
		     const char *fmt, ...)
{
	char path[256];
	va_list ap;
	int n;

	if (!errstr || !errstr_size)
		return;
	egw_json_path_key(path, sizeof(path), prefix, key);
	n = snprintf(errstr, errstr_size, "%s: ", path[0] ? path : "request");
	if (n < 0 || (size_t)n >= errstr_size)
		return;
	va_start(ap, fmt);
	vsnprintf(errstr + n, errstr_size - (size_t)n, fmt, ap);
	va_end(ap);
}

json_t *egw_json_get(const json_t *obj, const char *name)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
	return v && !json_is_null(v) ? v : NULL;
}

/* Integer bounds actually enforced for f; 0 when there are none. */
static int int_bounds(const egw_json_field_t *f, json_int_t *min, json_int_t *max)
{
	if (f->min || f->max) {
		*min = f->min;
		*max = f->max;
		return 1;
	}
	if (f->dest == EGW_JSON_DEST_INT) {
		*min = INT_MIN;
		*max = INT_MAX;
		return 1;
	}
	return 0;
}

static void append(char *buf, size_t size, const char *s)
{
	size_t len = strlen(buf);
	if (len < size)
		snprintf(buf + len, size - len, "%s", s);
}

/* "must be ..." for f: the message used when a value has the wrong type. */
static void describe(const egw_json_field_t *f, char *buf, size_t size)
{
	static const struct {
		unsigned type;
		const char *name;
	} names[] = {
		{EGW_JSON_T_STRING, "a string"}, {EGW_JSON_T_INT, "an integer"},
		{EGW_JSON_T_NUMBER, "a number"}, {EGW_JSON_T_BOOL, "true or false"},
		{EGW_JSON_T_OBJECT, "an object"}, {EGW_JSON_T_ARRAY, "an array"},
	};
	json_int_t min, max;
	unsigned types = f->types & ~EGW_JSON_T_NULL;
	int first = 1;

	buf[0] = '\0';
	if ((types & EGW_JSON_T_STRING) && f->one_of) {
		append(buf, size, "must be one of ");
		for (size_t i = 0; f->one_of[i]; i++) {
			append(buf, size, i ? ", " : "");
			append(buf, size, f->one_of[i]);
		}
		types &= ~EGW_JSON_T_STRING;
		first = 0;
	} else if (types == EGW_JSON_T_INT && int_bounds(f, &min, &max)) {
		snprintf(buf, size, "must be an integer between %" JSON_INTEGER_FORMAT
			 " and %" JSON_INTEGER_FORMAT, min, max);
		return;
	} else if (types == EGW_JSON_T_ARRAY && (f->min || f->max)) {
		snprintf(buf, size, "must be an array of %" JSON_INTEGER_FORMAT
			 " to %" JSON_INTEGER_FORMAT " items", f->min, f->max);
		return;
	} else {
		append(buf, size, "must be ");
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(types & names[i].type))
			continue;
		append(buf, size, first ? "" : (f->one_of ? ", or " : " or "));
		append(buf, size, names[i].name);
		first = 0;
	}
}

static int type_ok(const json_t *v, unsigned types)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return !!(types & EGW_JSON_T_STRING);
	case JSON_INTEGER:
		return !!(types & (EGW_JSON_T_INT | EGW_JSON_T_NUMBER));
	case JSON_REAL:
		return !!(types & EGW_JSON_T_NUMBER);
	case JSON_TRUE:
	case JSON_FALSE:
		return !!(types & EGW_JSON_T_BOOL);
	case JSON_OBJECT:
		return !!(types & EGW_JSON_T_OBJECT);
	case JSON_ARRAY:
		return !!(types & EGW_JSON_T_ARRAY);
	case JSON_NULL:
		return !!(types & EGW_JSON_T_NULL);
	}
	return 0;
}

/* Why the string v does not fit f, or NULL when it does. */
static const char *string_problem(const json_t *v, const egw_json_field_t *f, char *buf,
				  size_t size)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if ((f->flags & EGW_JSON_NONEMPTY) && len == 0)
		return "must not be empty";
	if (f->max_len && len > f->max_len) {
		snprintf(buf, size, "must be at most %zu bytes long", f->max_len);
		return buf;
	}
	if (memchr(s, '\0', len))
		return "must not contain NUL characters";
	if (f->flags & EGW_JSON_PRINTABLE) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return "must not contain control characters";
	}
	if (f->one_of) {
		for (size_t i = 0; f->one_of[i]; i++)
			if (!strcmp(s, f->one_of[i]))
				return NULL;
		describe(f, buf, size);
		return buf;
	}
	return NULL;
}

static const char *value_problem(const json_t *v, const egw_json_field_t *f, char *buf,
				 size_t size)
{
	json_int_t min, max;

	if (!type_ok(v, f->types)) {
		describe(f, buf, size);
		return buf;
	}
	if (json_is_string(v))
		return string_problem(v, f, buf, size);
	if (json_is_integer(v) && int_bounds(f, &min, &max) &&
	    (json_integer_value(v) < min || json_integer_value(v) > max)) {
		if ((f->types & ~EGW_JSON_T_NULL) == EGW_JSON_T_INT)
			describe(f, buf, size);
		else
			snprintf(buf, size, "must be between %" JSON_INTEGER_FORMAT
				 " and %" JSON_INTEGER_FORMAT, min, max);
		return buf;
	}
	if (json_is_array(v) && (f->min || f->max) &&
	    ((json_int_t)json_array_size(v) < f->min || (json_int_t)json_array_size(v) > f->max)) {
		snprintf(buf, size, "must have %" JSON_INTEGER_FORMAT " to %" JSON_INTEGER_FORMAT
			 " items", f->min, f->max);
		return buf;
	}
	return NULL;
}

egw_err_t egw_json_validate(const json_t *obj, const char *path, const egw_json_field_t *table,
			    size_t n, char *errstr, size_t errstr_size)
{
	char buf[DESC_MAX];

	if (!json_is_object(obj)) {
		egw_json_seterr(errstr, errstr_size, path, NULL, "must be an object");
		return EGW_ERR_INVALID_REQUEST;
	}
	for (size_t i = 0; i < n; i++) {
		const egw_json_field_t *f = &table[i];
		json_t *v = json_object_get(obj, f->name);
		const char *problem;

		if (!v || (json_is_null(v) && (f->types & EGW_JSON_T_NULL))) {
			if (!(f->flags & EGW_JSON_REQUIRED))
				continue;
			egw_json_seterr(errstr, errstr_size, path, f->name, "is required");
			return EGW_ERR_INVALID_REQUEST;
		}
		problem = value_problem(v, f, buf, sizeof(buf));
		if (problem) {
			egw_json_seterr(errstr, errstr_size, path, f->name, "%s", problem);
			return EGW_ERR_INVALID_REQUEST;
		}
	}
	return EGW_OK;
}

/* A malloc'ed text form of v for a string member. */
static char *text_of(const json_t *v)
{
	char num[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(num);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return strdup(num);
	case JSON_TRUE:
	case JSON_FALSE:
		return strdup(json_is_true(v) ? "true" : "false");
	case JSON_OBJECT:
	case JSON_ARRAY:
		return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	case JSON_NULL:
		break;
	}
	return NULL;
}

static int int_of(const json_t *v)
{
	json_int_t i = json_integer_value(v);
	if (i < INT_MIN)
		return INT_MIN;
	return i > INT_MAX ? INT_MAX : (int)i;
}

egw_err_t egw_json_fill(const json_t *obj, const egw_json_field_t *table, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		const egw_json_field_t *f = &table[i];
		char *member = (char *)base + f->offset;
		json_t *v = egw_json_get(obj, f->name);
		char *copy;

		if (!v || f->dest == EGW_JSON_DEST_NONE)
			continue;
		switch (f->dest) {
		case EGW_JSON_DEST_STR:
			copy = text_of(v);
			if (!copy)
				return EGW_ERR_NOMEM;
			free(*(char **)member);
			*(char **)member = copy;
			break;
		case EGW_JSON_DEST_INT:
			*(int *)member = int_of(v);
			break;
		case EGW_JSON_DEST_BOOL:
			*(int *)member = json_is_true(v);
			break;
		case EGW_JSON_DEST_NONE:
			break;
		}
	}
	return EGW_OK;
}
