/* Outbox files (see outbox.h). Written through a temporary name and a
 * rename (g_file_set_contents_full), so a reader never sees half a file;
 * not synced: they outlive the process (kill -9 included), a crash of the
 * machine may take the newest ones. */
#include "base/outbox.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static json_t *rec_json(const egw_outbox_rec_t *rec)
{
	json_t *j = json_object(), *v = json_stringn(rec->value, rec->len);
	if (rec->topic)
		json_object_set_new(j, "topic", json_string(rec->topic));
	if (rec->key)
		json_object_set_new(j, "key", json_string(rec->key));
	if (v) {
		json_object_set_new(j, "value", v);
	} else { /* not UTF-8 (a dead-letter copy of bad input) */
		gchar *b64 = g_base64_encode((const guchar *)rec->value, rec->len);
		json_object_set_new(j, "value_b64", json_string(b64));
		g_free(b64);
	}
	if (rec->final)
		json_object_set_new(j, "final", json_true());
	if (rec->headers[0]) {
		json_t *h = json_array();
		for (size_t i = 0; rec->headers[i] && rec->headers[i + 1]; i += 2) {
			json_array_append_new(h, json_string(rec->headers[i]));
			json_array_append_new(h, json_string(rec->headers[i + 1]));
		}
		json_object_set_new(j, "headers", h);
	}
	return j;
}

int egw_outbox_write(const char *dir, egw_outbox_namer_t *namer, const egw_outbox_rec_t *rec,
                     char **path, char *errstr, size_t errstr_size)
{
	GError *gerr = NULL;
	int64_t ms = g_get_real_time() / 1000;
	char name[64], *file = NULL, *text = NULL;
	json_t *j = NULL;
	int ret = -1;

	if (path)
		*path = NULL;
	if (g_mkdir_with_parents(dir, 0700)) {
		snprintf(errstr, errstr_size, "%s: %s", dir, g_strerror(errno));
		goto out;
	}
	if (ms <= namer->last_ms)
		ms = namer->last_ms; /* the clock went back: keep the order */
	namer->last_ms = ms;
	snprintf(name, sizeof(name), "%013lld-%07d-%06u.msg", (long long)ms, (int)getpid(),
	         namer->n++ % 1000000);
	file = g_build_filename(dir, name, NULL);
	if (!(j = rec_json(rec)) || !(text = json_dumps(j, JSON_COMPACT))) {
		snprintf(errstr, errstr_size, "out of memory");
		goto out;
	}
	/* (ONLY_EXISTING: no fsync, the name is new) */
	if (!g_file_set_contents_full(file, text, -1,
	                              G_FILE_SET_CONTENTS_CONSISTENT |
	                                      G_FILE_SET_CONTENTS_ONLY_EXISTING,
	                              0600, &gerr)) {
		snprintf(errstr, errstr_size, "%s", gerr->message);
		g_error_free(gerr);
		goto out;
	}
	ret = 0;
	if (path) {
		*path = file;
		file = NULL;
	}
out:
	g_free(file);
	free(text);
	json_decref(j);
	return ret;
}

static char *dup_or_null(json_t *v)
{
	return json_is_string(v) ? g_strdup(json_string_value(v)) : NULL;
}

int egw_outbox_read(const char *path, egw_outbox_rec_t *rec)
{
	json_t *j = json_load_file(path, 0, NULL);
	json_t *v = json_object_get(j, "value"), *b64 = json_object_get(j, "value_b64");
	json_t *h = json_object_get(j, "headers");
	size_t n = 0;

	memset(rec, 0, sizeof(*rec));
	if (!json_is_object(j) || (!json_is_string(v) && !json_is_string(b64))) {
		json_decref(j);
		return -1;
	}
	rec->topic = dup_or_null(json_object_get(j, "topic"));
	rec->key = dup_or_null(json_object_get(j, "key"));
	rec->final = json_is_true(json_object_get(j, "final"));
	if (json_is_string(v)) {
		rec->len = json_string_length(v);
		rec->value = g_memdup2(json_string_value(v), rec->len + 1);
	} else {
		gsize len = 0;
		rec->value = (char *)g_base64_decode(json_string_value(b64), &len);
		rec->len = len;
	}
	for (size_t i = 0;
	     json_is_array(h) && i + 1 < json_array_size(h) && n + 2 < G_N_ELEMENTS(rec->headers);
	     i += 2) {
		char *name = dup_or_null(json_array_get(h, i));
		char *value = dup_or_null(json_array_get(h, i + 1));
		if (!name || !value) {
			g_free(name);
			g_free(value);
			continue;
		}
		rec->headers[n++] = name;
		rec->headers[n++] = value;
	}
	json_decref(j);
	return 0;
}

void egw_outbox_rec_clear(egw_outbox_rec_t *rec)
{
	if (!rec)
		return;
	g_free(rec->topic);
	g_free(rec->key);
	g_free(rec->value);
	for (size_t i = 0; rec->headers[i]; i++)
		g_free(rec->headers[i]);
	memset(rec, 0, sizeof(*rec));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **egw_outbox_names(const char *dir, const char *suffix)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	GPtrArray *names = g_ptr_array_new();
	const char *n;
	while (d && (n = g_dir_read_name(d)))
		if (g_str_has_suffix(n, suffix))
			g_ptr_array_add(names, g_strdup(n));
	if (d)
		g_dir_close(d);
	g_ptr_array_sort(names, by_name);
	g_ptr_array_add(names, NULL);
	return (char **)g_ptr_array_free(names, FALSE);
}
