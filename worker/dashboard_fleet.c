/* The dashboard's fleet (see dashboard.h): each egress's last status
 * event, the last outputs its events listed (only `complete`, `failed` and
 * `stream_state` events list them), the outputs that failed alone
 * (`output_failed` details) and the thumbnails of its `images` output.
 * locality: the dashboard's thread. */
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract/request.h"
#include "worker/dashboard.h"

#define THUMB_SUFFIX "_%05d.jpg"
#define THUMB_PROBE_MAX 64 /* newer thumbnails looked for per call */

struct egress {
	char *id;
	json_t *last;        /* its last event */
	json_t *outputs;     /* the last non-empty `outputs` of its events */
	json_t *failed;      /* output name -> error, from output_failed details */
	uint64_t first;      /* the order of its first event */
	char *thumb_pattern; /* its images output's location (a local pattern) */
	long thumb_named;    /* how many images its events say were made */
	long thumb_n;        /* the highest number found to exist; -1: none */
};

struct egw_fleet {
	GHashTable *egresses; /* id -> struct egress */
	uint64_t seq;
};

static void egress_free(void *p)
{
	struct egress *e = p;
	g_free(e->id);
	json_decref(e->last);
	json_decref(e->outputs);
	json_decref(e->failed);
	g_free(e->thumb_pattern);
	g_free(e);
}

egw_fleet_t *egw_fleet_new(void)
{
	egw_fleet_t *f = g_new0(egw_fleet_t, 1);
	f->egresses = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, egress_free);
	return f;
}

void egw_fleet_free(egw_fleet_t *f)
{
	if (!f)
		return;
	g_hash_table_destroy(f->egresses);
	g_free(f);
}

size_t egw_fleet_size(const egw_fleet_t *f)
{
	return g_hash_table_size(f->egresses);
}

static const char *str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *string_or_null(const char *v)
{
	return v ? json_string(v) : json_null();
}

static int is_final(const char *status)
{
	return status && (!strcmp(status, "complete") || !strcmp(status, "failed") ||
	                  !strcmp(status, "aborted"));
}

char *egw_fleet_thumb_file(const char *pattern, long n)
{
	size_t len = pattern ? strlen(pattern) : 0, sfx = strlen(THUMB_SUFFIX);
	if (len <= sfx + 1 || pattern[0] != '/' || n < 0 || n > 9999999 ||
	    strcmp(pattern + len - sfx, THUMB_SUFFIX) ||
	    strchr(pattern, '%') != pattern + len - sfx + 1 || strstr(pattern, "/../") ||
	    pattern[len - sfx - 1] == '/')
		return NULL;
	return g_strdup_printf("%.*s_%05ld.jpg", (int)(len - sfx), pattern, n);
}

/* Remembers where the thumbnails of an images output are. */
static void take_images(struct egress *e, json_t *out)
{
	const char *pattern = str(out, "location");
	char *probe = egw_fleet_thumb_file(pattern, 0);
	if (!probe)
		return; /* stored away (s3://...), or not a pattern of ours */
	g_free(probe);
	if (g_strcmp0(e->thumb_pattern, pattern)) {
		g_free(e->thumb_pattern);
		e->thumb_pattern = g_strdup(pattern);
		e->thumb_n = -1;
	}
	e->thumb_named = (long)json_integer_value(json_object_get(out, "images"));
}

static void take_outputs(struct egress *e, json_t *outputs)
{
	size_t i;
	json_t *out;
	json_decref(e->outputs);
	e->outputs = json_incref(outputs);
	json_array_foreach(outputs, i, out)
	{
		if (!g_strcmp0(str(out, "kind"), "images"))
			take_images(e, out);
	}
}

/* A new egress, or one whose id starts again after it ended. */
static struct egress *egress_for(egw_fleet_t *f, const char *id, const char *status)
{
	struct egress *e = g_hash_table_lookup(f->egresses, id);
	if (e && !(is_final(str(e->last, "status")) && !strcmp(status, "starting")))
		return e;
	if (e)
		g_hash_table_remove(f->egresses, id);
	e = g_new0(struct egress, 1);
	e->id = g_strdup(id);
	e->failed = json_object();
	e->first = f->seq;
	e->thumb_n = -1;
	g_hash_table_insert(f->egresses, e->id, e);
	return e;
}

int egw_fleet_take(egw_fleet_t *f, const char *value, size_t len)
{
	json_t *ev = json_loadb(value, len, 0, NULL), *outputs, *details;
	const char *id = str(ev, "egress_id"), *status = str(ev, "status");
	struct egress *e;
	if (!json_is_object(ev) || !id || !*id || strlen(id) > EGW_EGRESS_ID_MAX || !status ||
	    !strcmp(status, "rejected")) {
		json_decref(ev);
		return -1;
	}
	f->seq++;
	e = egress_for(f, id, status);
	json_decref(e->last);
	e->last = ev;
	outputs = json_object_get(ev, "outputs");
	if (json_array_size(outputs))
		take_outputs(e, outputs);
	details = json_object_get(ev, "details");
	if (!g_strcmp0(str(details, "event"), "output_failed") && str(details, "output")) {
		json_t *error = json_object_get(details, "error");
		json_object_set(e->failed, str(details, "output"), error ? error : json_null());
	}
	return 0;
}

/* ---- thumbnails ---- */

/* The file opened (its size in *size) when it is a regular, non-empty file
 * that begins as a JPEG does; else -1. */
static int open_jpeg(const char *path, off_t *size)
{
	unsigned char magic[3];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK); /* (a FIFO: no wait) */
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 3 ||
	    pread(fd, magic, 3, 0) != 3 || magic[0] != 0xff || magic[1] != 0xd8 ||
	    magic[2] != 0xff) {
		close(fd);
		return -1;
	}
	*size = st.st_size;
	return fd;
}

static int exists(const char *pattern, long n)
{
	struct stat st;
	char *path = egw_fleet_thumb_file(pattern, n);
	int ok = path && !stat(path, &st) && S_ISREG(st.st_mode) && st.st_size > 0;
	g_free(path);
	return ok;
}

/* The number of an egress's latest thumbnail, or -1: the last its final
 * event counts; while it runs, the newest that exists (its events count
 * the thumbnails only now and then). */
static long latest_thumb(struct egress *e)
{
	int running = !is_final(str(e->last, "status"));
	long n = running ? MAX(e->thumb_n, e->thumb_named - 1) : e->thumb_named - 1;
	off_t size;
	char *path;
	int fd;
	if (!e->thumb_pattern)
		return -1;
	if (n < 0)
		n = 0;
	if (running)
		for (int k = 0; k < THUMB_PROBE_MAX && exists(e->thumb_pattern, n + 1); k++)
			n++;
	path = egw_fleet_thumb_file(e->thumb_pattern, n);
	fd = path ? open_jpeg(path, &size) : -1;
	e->thumb_n = fd < 0 ? -1 : n;
	if (fd >= 0)
		close(fd);
	g_free(path);
	return e->thumb_n;
}

int egw_fleet_thumb_open(egw_fleet_t *f, const char *egress_id, off_t *size)
{
	struct egress *e = g_hash_table_lookup(f->egresses, egress_id);
	long n = e ? latest_thumb(e) : -1;
	char *path = n < 0 ? NULL : egw_fleet_thumb_file(e->thumb_pattern, n);
	int fd = path ? open_jpeg(path, size) : -1;
	g_free(path);
	return fd;
}

/* ---- the page's view ---- */

/* Milliseconds since the epoch of an event time, or -1. */
static int64_t parse_ms(const char *text)
{
	GDateTime *t = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
	int64_t ms;
	if (!t)
		return -1;
	ms = g_date_time_to_unix(t) * 1000 + g_date_time_get_microsecond(t) / 1000;
	g_date_time_unref(t);
	return ms;
}

/* One state for a stream output's destinations: the liveliest. */
static const char *destinations_state(json_t *dests)
{
	static const char *const order[] = {"active",   "reconnecting", "connecting",
	                                    "complete", "failed",       "removed"};
	for (size_t k = 0; k < G_N_ELEMENTS(order); k++) {
		size_t i;
		json_t *d;
		json_array_foreach(dests, i, d)
		{
			if (!g_strcmp0(str(d, "state"), order[k]))
				return order[k];
		}
	}
	return NULL;
}

static json_t *copy_destinations(json_t *dests)
{
	json_t *out = json_array(), *d;
	size_t i;
	json_array_foreach(dests, i, d)
	{
		json_t *c = json_object();
		json_object_set(c, "url", json_object_get(d, "url")); /* without its key */
		json_object_set(c, "state", json_object_get(d, "state"));
		json_object_set(c, "error", json_object_get(d, "error"));
		json_array_append_new(out, c);
	}
	return out;
}

/* What the page shows of an output: the event's fields, without anything
 * that opens an object (a presigned `url`). */
static json_t *output_json(struct egress *e, json_t *out, const char *name)
{
	static const char *const fields[] = {"kind",   "format",   "location",   "size",
	                                     "images", "every_s",  "segments",   "duration_s",
	                                     "bytes",  "channels", "sample_rate"};
	json_t *o = json_object(), *failed = name ? json_object_get(e->failed, name) : NULL;
	json_t *dests = json_object_get(out, "destinations"),
	       *error = json_object_get(out, "error");
	const char *state = str(out, "state");
	for (size_t k = 0; k < G_N_ELEMENTS(fields); k++)
		if (json_object_get(out, fields[k]))
			json_object_set(o, fields[k], json_object_get(out, fields[k]));
	if (!g_strcmp0(str(out, "kind"), "websocket")) /* scheme and host */
		json_object_set(o, "url", json_object_get(out, "url"));
	if (json_is_array(dests)) {
		json_object_set_new(o, "destinations", copy_destinations(dests));
		state = state ? state : destinations_state(dests);
	}
	if (!json_is_object(error))
		error = failed; /* (it failed while the others went on) */
	if (error)
		json_object_set(o, "error", error);
	if (!state)
		state = error ? "failed" : str(e->last, "status");
	json_object_set_new(o, "state", json_string(state));
	if (name)
		json_object_set_new(o, "name", json_string(name));
	return o;
}

static json_t *outputs_json(struct egress *e)
{
	json_t *list = json_array(), *out, *error;
	const char *name;
	size_t i, named = 0;
	json_array_foreach(e->outputs, i, out)
	{
		char buf[32];
		int manifest = !g_strcmp0(str(out, "kind"), "manifest");
		if (!manifest)
			snprintf(buf, sizeof(buf), "outputs[%zu]", named++);
		json_array_append_new(list, output_json(e, out, manifest ? NULL : buf));
	}
	if (!e->outputs) /* only what output_failed details said, while it runs */
		json_object_foreach(e->failed, name, error)
		{
			json_array_append_new(list, json_pack("{s:s, s:s, s:O}", "name", name,
			                                      "state", "failed", "error", error));
		}
	return list;
}

static json_t *egress_json(struct egress *e, int64_t now_ms)
{
	static const char *const fields[] = {"egress_id",  "status",   "worker_id", "time",
	                                     "started_at", "ended_at", "reason"};
	json_t *o = json_object(), *error = json_object_get(e->last, "error");
	int64_t start = parse_ms(str(e->last, "started_at")),
	        end = parse_ms(str(e->last, "ended_at"));
	long thumb = latest_thumb(e);
	for (size_t k = 0; k < G_N_ELEMENTS(fields); k++)
		json_object_set_new(o, fields[k], string_or_null(str(e->last, fields[k])));
	json_object_set_new(o, "error",
	                    json_is_object(error)
	                            ? json_pack("{s:s?, s:s?}", "code", str(error, "code"),
	                                        "message", str(error, "message"))
	                            : json_null());
	json_object_set_new(o, "details_event",
	                    string_or_null(str(json_object_get(e->last, "details"), "event")));
	if (end < 0) /* still running */
		end = now_ms;
	json_object_set_new(o, "duration_s",
	                    start < 0 ? json_null()
	                              : json_real((double)MAX(end - start, 0) / 1000.0));
	json_object_set_new(o, "outputs", outputs_json(e));
	if (thumb >= 0) {
		char *id = g_uri_escape_string(e->id, NULL, FALSE);
		json_object_set_new(o, "thumb", json_sprintf("/thumb/%s?n=%ld", id, thumb));
		g_free(id);
	} else {
		json_object_set_new(o, "thumb", json_null());
	}
	return o;
}

/* Running egresses first, then the most recent first. */
static int by_recency(const void *a, const void *b)
{
	const struct egress *x = *(struct egress *const *)a, *y = *(struct egress *const *)b;
	int fx = is_final(str(x->last, "status")), fy = is_final(str(y->last, "status"));
	if (fx != fy)
		return fx - fy;
	return x->first < y->first ? 1 : x->first > y->first ? -1 : 0;
}

json_t *egw_fleet_json(egw_fleet_t *f, int64_t now_ms, size_t max)
{
	GPtrArray *all = g_ptr_array_new();
	json_t *list = json_array(), *by_status = json_object();
	GHashTableIter it;
	struct egress *e;
	g_hash_table_iter_init(&it, f->egresses);
	while (g_hash_table_iter_next(&it, NULL, (void **)&e)) {
		const char *status = str(e->last, "status");
		g_ptr_array_add(all, e);
		json_object_set_new(
		        by_status, status,
		        json_integer(json_integer_value(json_object_get(by_status, status)) + 1));
	}
	g_ptr_array_sort(all, by_recency);
	for (guint i = 0; i < all->len && i < max; i++)
		json_array_append_new(list, egress_json(all->pdata[i], now_ms));
	json_t *view = json_pack("{s:o, s:I, s:o}", "egresses", list, "total", (json_int_t)all->len,
	                         "by_status", by_status);
	g_ptr_array_free(all, TRUE);
	return view;
}
