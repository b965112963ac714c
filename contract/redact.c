#include "contract/redact.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "contract/request_int.h"

#define MASK "***"

/* Secrets of the contract, by field name (room.pin, storage.*, webhook.secret). */
static const char *const secret_fields[] = {
        "pin",         "access_key", "secret_key", "session_token", "credentials_json",
        "account_key", "secret",
};

/* Arrays of stream URLs (they carry stream keys). */
static const char *const url_lists[] = {"urls", "add_urls", "remove_urls"};

/* The safety net: a field whose name contains one of these is a secret. */
static const char *const secret_words[] = {"key",      "secret", "token",      "pin",
                                           "password", "passwd", "credential", "auth"};

/* Contract fields the safety net would catch but that are not secrets. */
static const char *const not_secret[] = {"keyframe_interval_s"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}

static int is_secret_name(const char *name)
{
	char lower[128];
	size_t i;

	if (in_list(name, secret_fields, N(secret_fields)))
		return 1;
	if (in_list(name, not_secret, N(not_secret)))
		return 0;
	for (i = 0; name[i] && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	for (i = 0; i < N(secret_words); i++)
		if (strstr(lower, secret_words[i]))
			return 1;
	return 0;
}

static int is_scheme_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '.' || c == '-';
}

/* s with the first URL in it (and everything after it) reduced by
 * egw_log_redact_url(); NULL when s holds no URL or the URL is harmless
 * (scheme, host and at most one path segment). Caller frees. */
static char *reduce_url(const char *s)
{
	const char *sep = strstr(s, "://"), *start;
	char *out, *reduced;
	size_t prefix, cap;

	if (!sep)
		return NULL;
	for (start = sep; start > s && is_scheme_char(start[-1]); start--)
		;
	if (start == sep)
		return NULL; /* "://" without a scheme: not a URL */
	cap = strlen(start) + 16;
	if (!(reduced = malloc(cap)))
		return NULL;
	egw_log_redact_url(start, reduced, cap);
	if (!strcmp(reduced, start)) {
		free(reduced);
		return NULL;
	}
	prefix = (size_t)(start - s);
	if ((out = malloc(prefix + strlen(reduced) + 1))) {
		memcpy(out, s, prefix);
		strcpy(out + prefix, reduced);
	}
	free(reduced);
	return out;
}

/* A stream URL: scheme, user-info mask and host only. Stricter than the
 * log rule (egw_log_redact_url keeps the first path segment): a request is
 * dead-lettered because something in it is wrong, and a malformed stream
 * URL may well hold its key in that first segment. */
static json_t *reduce_stream_url(const char *url)
{
	char buf[4096];

	egw_log_redact_url_host(url, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *redact_value(json_t *v);

/* SDES keys in an SDP (a=crypto:... inline:<key>): masked in place. */
static char *mask_sdes_keys(const char *s)
{
	size_t len = strlen(s);
	char *out = NULL, *at;
	/* each "inline:" (7 bytes) grows by at most 3: a short key becomes *** */
	if (!strstr(s, "inline:") || !(out = malloc(len + 3 * (len / 7) + 4)))
		return NULL;
	memcpy(out, s, len + 1);
	for (at = strstr(out, "inline:"); at; at = strstr(at, "inline:")) {
		char *key = at + 7;
		size_t n = strcspn(key, " \t\r\n|");
		memmove(key + 3, key + n, strlen(key + n) + 1);
		memcpy(key, MASK, 3);
		at = key + 3;
	}
	return out;
}

/* A string with its SDES keys masked, then reduced when it holds a URL; a
 * new reference. */
static json_t *redact_string(json_t *v)
{
	char *masked = mask_sdes_keys(json_string_value(v));
	char *reduced = reduce_url(masked ? masked : json_string_value(v));
	json_t *out;

	if (!reduced && masked) {
		reduced = masked;
		masked = NULL;
	}
	free(masked);
	if (!reduced)
		return json_incref(v);
	out = json_string(reduced);
	free(reduced);
	return out;
}

static json_t *redact_member(const char *name, json_t *v)
{
	if (json_is_null(v))
		return json_null();
	if (is_secret_name(name))
		return json_string(MASK);
	/* Stream URLs: always reduced, whatever they look like. */
	if (json_is_array(v) && in_list(name, url_lists, N(url_lists))) {
		json_t *out = json_array(), *item;
		size_t i;
		json_array_foreach(v, i, item)
		{
			if (json_is_string(item))
				json_array_append_new(out,
				                      reduce_stream_url(json_string_value(item)));
			else
				json_array_append_new(out, redact_value(item));
		}
		return out;
	}
	/* A websocket output's handshake headers: every value. */
	if (json_is_object(v) && !strcmp(name, "headers")) {
		json_t *out = json_object(), *item;
		const char *key;
		json_object_foreach(v, key, item) json_object_set_new(out, key, json_string(MASK));
		return out;
	}
	/* A websocket output's URL (it may carry a token anywhere). */
	if (json_is_string(v) && !strcmp(name, "url") &&
	    (!strncasecmp(json_string_value(v), "ws://", 5) ||
	     !strncasecmp(json_string_value(v), "wss://", 6)))
		return reduce_stream_url(json_string_value(v));
	return redact_value(v);
}

/* A redacted deep copy of v (a new reference). */
static json_t *redact_value(json_t *v)
{
	json_t *out, *item;
	const char *name;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		out = json_object();
		json_object_foreach(v, name, item)
		{
			char *reduced = reduce_url(name); /* a URL as a field name */
			json_object_set_new(out, reduced ? reduced : name,
			                    redact_member(name, item));
			free(reduced);
		}
		return out;
	case JSON_ARRAY:
		out = json_array();
		json_array_foreach(v, i, item) json_array_append_new(out, redact_value(item));
		return out;
	case JSON_STRING:
		return redact_string(v);
	default:
		return json_incref(v);
	}
}

static uint64_t fnv1a64(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* What is kept of a text that cannot be copied: why, its size, a hash. */
static json_t *summary(const char *why, const char *text, size_t len)
{
	char hash[17];
	snprintf(hash, sizeof(hash), "%016" PRIx64, fnv1a64(text, len));
	return json_pack("{s:s, s:I, s:s}", "redacted", why, "size", (json_int_t)len, "fnv1a64",
	                 hash);
}

char *egw_request_redact(const char *text, size_t len, size_t *out_len)
{
	json_t *parsed = NULL, *copy;
	json_error_t jerr;
	char *out;

	if (!text)
		text = "";
	if (len > EGW_JOB_REQUEST_MAX_BYTES)
		copy = summary("request too large", text, len);
	else if (!(parsed = json_loadb(text, len, JSON_DECODE_ANY, &jerr)))
		copy = summary("not valid JSON", text, len);
	else
		copy = redact_value(parsed);
	json_decref(parsed);
	out = copy ? json_dumps(copy, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(copy);
	if (out && out_len)
		*out_len = strlen(out);
	return out;
}
