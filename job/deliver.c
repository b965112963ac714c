/* Delivery to object storage (see deliver.h). The journal
 * (<spool_dir>/<egress_id>.json):
 *
 *   {"version": 1, "egress_id", "worker_id",
 *    "storage": {"kind": "s3", "bucket", "region", "endpoint", "path_style",
 *                "prefix", "presign_s", and the job's own credentials},
 *    "final": null until the media ended, then the final event's fields,
 *    "stored": {"<file>": {"size", "sha256", "etag", "parts"}},
 *    "multipart": {"<file>": "<upload id>"}   (begun, not finished),
 *    "failed": [{"file", "code", "message"}], "final_sent": bool}
 *
 * Files are named relative to the egress's spool directory; their object
 * keys are storage.prefix + that name. */
#include "job/deliver.h"

#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "contract/status.h"
#include "http/http.h"
#include "job/deliver_int.h"

#include "storage/spool.h"
#include "storage/upload.h"

static void free_name(gpointer p)
{
	struct name *n = p;
	g_free(n->rel);
	g_free(n);
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static json_t *journal_of(const egw_job_t *job, const egw_job_settings_t *st)
{
	const egw_storage_t *s = &job->storage;
	json_t *storage = json_pack("{s:s, s:b, s:s}", "kind", egw_storage_kind2str(s->kind),
	                            "path_style", s->path_style, "prefix", s->prefix ? s->prefix : "");
	set_str(storage, "bucket", s->bucket);
	set_str(storage, "region", s->region);
	set_str(storage, "endpoint", s->endpoint);
	set_str(storage, "access_key", s->access_key);
	set_str(storage, "secret_key", s->secret_key);
	set_str(storage, "session_token", s->session_token);
	set_str(storage, "account", s->account);
	set_str(storage, "container", s->container);
	set_str(storage, "credentials_json", s->credentials_json);
	if (s->presign_s)
		json_object_set_new(storage, "presign_s", json_integer(s->presign_s));
	json_t *j = json_pack("{s:i, s:s, s:s, s:o, s:n, s:{}, s:{}, s:[], s:b}", "version",
	                      EGW_SPOOL_VERSION, "egress_id", job->egress_id, "worker_id",
	                      st->worker_id ? st->worker_id : "", "storage", storage, "final",
	                      "stored", "multipart", "failed", "final_sent", 0);
	if (job->webhook.url) { /* (a resuming worker sends the events there too) */
		json_t *hook = json_pack("{s:s}", "url", job->webhook.url);
		set_str(hook, "secret", job->webhook.secret);
		json_object_set_new(j, "webhook", hook);
	}
	return j;
}

egw_delivery_t *egw_delivery_new(const egw_job_settings_t *st, const char *egress_id)
{
	egw_delivery_t *d = g_new0(egw_delivery_t, 1);
	d->st = st;
	d->lock_fd = -1;
	d->names = g_ptr_array_new_with_free_func(free_name);
	d->queued = g_hash_table_new(g_str_hash, g_str_equal);
	snprintf(d->egress_id, sizeof(d->egress_id), "%s", egress_id);
	d->dir = egw_spool_dir_of(st->spool_dir, egress_id);
	return d;
}

egw_err_t egw_delivery_open(const egw_job_t *job, const egw_job_settings_t *st,
                            egw_delivery_t **out, char *errstr, size_t errstr_size)
{
	egw_delivery_t *d;
	egw_err_t err;

	*out = NULL;
	if (job->storage.kind == EGW_STORAGE_DEFAULT || job->storage.kind == EGW_STORAGE_LOCAL)
		return EGW_OK;
	d = egw_delivery_new(st, job->egress_id);
	d->journal = journal_of(job, st);
	if ((err = egw_delivery_resolve(d, errstr, errstr_size)) ||
	    (err = egw_spool_create(st->spool_dir, job->egress_id, d->journal, &d->lock_fd, errstr,
	                            errstr_size))) {
		egw_delivery_free(d);
		return err;
	}
	*out = d;
	return EGW_OK;
}

struct egw_store *egw_delivery_store(const egw_delivery_t *d)
{
	return d ? d->store : NULL;
}

const char *egw_delivery_dir(const egw_delivery_t *d)
{
	return d->dir;
}

int egw_delivery_busy(const egw_delivery_t *d)
{
	return d && d->busy;
}

static void save(egw_delivery_t *d)
{
	char errstr[512];
	if (egw_spool_write(d->st->spool_dir, d->egress_id, d->journal, errstr, sizeof(errstr)))
		EGW_LOG(d->egress_id, ERROR, "%s", errstr);
}

/* ---- the final event ---- */

static char *key_of(const egw_delivery_t *d, const char *rel)
{
	const char *p = d->prefix;
	size_t n = strlen(p);
	return g_strdup_printf("%s%s%s", p, n && p[n - 1] != '/' ? "/" : "", rel);
}

/* Whether a failed file belongs to the output whose local file is rel: the
 * file itself, or one named like it (segments and images share the stem
 * of the playlist or of the name pattern). */
static int output_failed(json_t *failed, const char *rel)
{
	size_t stem = strcspn(rel, "%");
	if (g_str_has_suffix(rel, ".m3u8"))
		stem = strlen(rel) - 5;
	size_t i;
	json_t *f;
	json_array_foreach(failed, i, f)
	{
		const char *name = jstr(f, "file");
		if (name && !strncmp(name, rel, stem))
			return 1;
	}
	return 0;
}

/* Whether some file named like rel (a pattern, or a playlist) is stored. */
static int stem_stored(json_t *stored, const char *rel)
{
	size_t stem = strcspn(rel, "%");
	const char *name;
	json_t *v;
	if (!rel[stem])
		return 0;
	json_object_foreach(stored, name, v)
	{
		if (!strncmp(name, rel, stem))
			return 1;
	}
	return 0;
}

/* The outputs with their storage locations (those stored), presigned URLs
 * when asked, and the local file's SHA-256. */
static json_t *stored_outputs(egw_delivery_t *d, json_t *outputs)
{
	json_t *outs = json_deep_copy(outputs ? outputs : json_array());
	json_t *stored = json_object_get(d->journal, "stored");
	json_t *failed = json_object_get(d->journal, "failed");
	size_t prefix_len = strlen(d->dir), i;
	json_t *o;

	json_array_foreach(outs, i, o)
	{
		const char *loc = jstr(o, "location");
		if (!loc || strncmp(loc, d->dir, prefix_len) || loc[prefix_len] != '/')
			continue;
		const char *rel = loc + prefix_len + 1;
		json_t *info = json_object_get(stored, rel);
		if (output_failed(failed, rel) || !(info || stem_stored(stored, rel)))
			continue; /* stays local, in the spool */
		char *key = key_of(d, rel), *where = egw_store_location(d->store, key);
		json_object_set_new(o, "location", json_string(where));
		if (jstr(info, "sha256"))
			json_object_set(o, "sha256", json_object_get(info, "sha256"));
		if (d->presign_s && info) {
			char errstr[256];
			char *url = d->store->ops->presign_get(d->store, key, time(NULL),
			                                       d->presign_s, errstr, sizeof(errstr));
			if (url)
				json_object_set_new(o, "url", json_string(url));
			else
				EGW_LOG(d->egress_id, WARN, "no presigned URL: %s", errstr);
			g_free(url);
		}
		g_free(where);
		g_free(key);
	}
	return outs;
}

static egw_err_t code2err(const char *code)
{
	for (int e = 1; e < 64; e++)
		if (code && !strcmp(egw_err2code((egw_err_t)e), code))
			return (egw_err_t)e;
	return code ? EGW_ERR_INTERNAL : EGW_OK;
}

/* outputs, and the manifest's entry when there is one (a new reference). */
static json_t *with_manifest(egw_delivery_t *d, json_t *outputs)
{
	json_t *outs = json_deep_copy(outputs ? outputs : json_array());
	char *path;
	struct stat sb;
	if (!d->manifest_rel)
		return outs;
	path = g_build_filename(d->dir, d->manifest_rel, NULL);
	json_t *info = json_object_get(json_object_get(d->journal, "stored"), d->manifest_rel);
	json_array_append_new(outs,
	                      json_pack("{s:s, s:s, s:s, s:I}", "kind", "manifest", "format",
	                                "json", "location", path, "size",
	                                info ? json_integer_value(json_object_get(info, "size"))
	                                : !stat(path, &sb) ? (json_int_t)sb.st_size
	                                                   : 0));
	g_free(path);
	return outs;
}

void egw_delivery_report(egw_delivery_t *d)
{
	json_t *final = json_object_get(d->journal, "final");
	json_t *failed = json_object_get(d->journal, "failed");
	json_t *all = with_manifest(d, json_object_get(final, "outputs"));
	json_t *outs = stored_outputs(d, all);
	json_t *details = json_object();
	const char *status = jstr(final, "status");
	egw_err_t err = code2err(jstr(json_object_get(final, "error"), "code"));
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s",
	         jstr(json_object_get(final, "error"), "message")
	                 ? jstr(json_object_get(final, "error"), "message")
	                 : "");
	if (json_array_size(failed)) {
		json_t *f0 = json_array_get(failed, 0);
		if (!err) {
			err = code2err(jstr(f0, "code"));
			snprintf(msg, sizeof(msg),
			         "%zu file(s) not stored, kept in the spool (%s): %s",
			         json_array_size(failed), d->dir, jstr(f0, "message"));
		}
		status = "failed";
	}
	if (json_object_get(final, "usage"))
		json_object_set(details, "usage", json_object_get(final, "usage"));
	if (jstr(final, "reason") && strcmp(status, "failed"))
		json_object_set(details, "reason", json_object_get(final, "reason"));
	json_object_set_new(d->journal, "final_sent", json_true());
	if (json_array_size(failed))
		save(d); /* kept: the files stay, and their story */
	else
		egw_spool_remove(d->st->spool_dir, d->egress_id);
	d->busy = 0;
	d->ev.emit(d->user, status, outs, details, err, err ? msg : NULL);
	json_decref(outs);
	json_decref(all);
	if (d->ev.done)
		d->ev.done(d->user, err);
}

/* ---- uploads ---- */

static void add_file(egw_delivery_t *d, const char *rel, int live);

/* The manifest (when there is one), written beside the files once they
 * are stored: uploaded last. Returns 1 when it went into the uploader. */
static int add_manifest(egw_delivery_t *d)
{
	json_t *final = json_object_get(d->journal, "final");
	json_t *outs = stored_outputs(d, json_object_get(final, "outputs"));
	json_t *m = d->ev.manifest(d->user, outs);
	char *text = m ? json_dumps(m, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) : NULL;
	char *name = g_strdup_printf("%s.manifest.json", d->egress_id);
	char *path = g_build_filename(d->dir, name, NULL);
	GError *gerr = NULL;
	int added = 0;

	if (text && g_file_set_contents(path, text, -1, &gerr)) {
		d->manifest_rel = g_strdup(name);
		add_file(d, name, 0);
		added = 1;
	} else {
		EGW_LOG(d->egress_id, WARN, "no manifest: %s",
		        gerr ? gerr->message : "cannot encode");
		g_clear_error(&gerr);
	}
	free(text);
	json_decref(m);
	json_decref(outs);
	g_free(path);
	g_free(name);
	return added;
}

/* After the last file: the manifest, then the final event. */
static void settled(egw_delivery_t *d)
{
	if (!d->busy || egw_uploader_pending(d->up))
		return;
	if (d->ev.manifest && !d->manifest_tried) {
		d->manifest_tried = 1;
		if (add_manifest(d))
			return; /* its upload comes back here */
	}
	egw_delivery_report(d);
}

static void on_file_done(void *user, const egw_upload_file_t *f, egw_err_t err, const char *message)
{
	egw_delivery_t *d = user;
	const struct name *n = f->tag;
	const char *rel = n->rel;

	if (n->live_playlist) { /* the final one goes up at the end */
		settled(d);
		return;
	}
	g_hash_table_remove(d->queued, rel);
	json_object_del(json_object_get(d->journal, "multipart"), rel);
	if (err) {
		json_array_append_new(json_object_get(d->journal, "failed"),
		                      json_pack("{s:s, s:s, s:s}", "file", rel, "code",
		                                egw_err2code(err), "message", message));
	} else {
		json_object_set_new(json_object_get(d->journal, "stored"), rel,
		                    json_pack("{s:I, s:s, s:s, s:i}", "size", (json_int_t)f->size,
		                              "sha256", f->sha256, "etag", f->etag, "parts",
		                              f->parts));
		EGW_LOG(d->egress_id, INFO, "stored %s (%lld bytes%s%.0d%s)", f->key, f->size,
		        f->parts ? ", " : "", f->parts, f->parts ? " parts" : "");
	}
	save(d);
	settled(d);
}

static void on_multipart(void *user, const egw_upload_file_t *f, const char *upload_id)
{
	egw_delivery_t *d = user;
	const struct name *n = f->tag;
	json_object_set_new(json_object_get(d->journal, "multipart"), n->rel,
	                    json_string(upload_id));
	save(d);
}

/* The uploader, made on the first file (on the caller's context). */
static void ensure_uploader(egw_delivery_t *d)
{
	static const egw_upload_events_t uev = {on_file_done, NULL, on_multipart};
	egw_upload_conf_t conf = {
	        .part_size = (size_t)d->st->upload_part_size_kb * 1024,
	        .parallel = d->st->upload_parallel,
	        .retry_window_s = d->st->upload_retry_window_s,
	        .log_id = d->egress_id,
	};
	if (d->up)
		return;
	d->up = egw_uploader_new(d->store, &conf, &uev, d);
}

static void add_file(egw_delivery_t *d, const char *rel, int live)
{
	struct name *n = g_new0(struct name, 1);
	char *path = g_build_filename(d->dir, rel, NULL), *key = key_of(d, rel);
	int playlist = g_str_has_suffix(rel, ".m3u8");
	n->rel = g_strdup(rel);
	n->live_playlist = live && playlist;
	g_ptr_array_add(d->names, n);
	if (!playlist)
		g_hash_table_add(d->queued, n->rel);
	egw_uploader_add(d->up, path, key, egw_spool_content_type(rel),
	                 (playlist ? EGW_UPLOAD_AFTER_PREVIOUS : 0) |
	                         (n->live_playlist ? EGW_UPLOAD_KEEP_LOCAL : 0),
	                 n);
	g_free(key);
	g_free(path);
}

void egw_delivery_file_closed(egw_delivery_t *d, const char *path)
{
	size_t len = d ? strlen(d->dir) : 0;
	const char *rel;
	if (d)
		EGW_LOG(d->egress_id, DEBUG, "closed: %s", path);
	if (!d || d->busy || strncmp(path, d->dir, len) || path[len] != '/')
		return;
	rel = path + len + 1;
	if (g_hash_table_contains(d->queued, rel) ||
	    json_object_get(json_object_get(d->journal, "stored"), rel))
		return;
	ensure_uploader(d);
	add_file(d, rel, 1);
}

void egw_delivery_upload_all(egw_delivery_t *d)
{
	json_t *stored = json_object_get(d->journal, "stored"), *stale, *id;
	char **files = egw_spool_files(d->st->spool_dir, d->egress_id);
	const char *rel;
	long long bytes = 0;
	int n = 0;

	ensure_uploader(d);
	/* Multipart uploads an earlier run began and did not finish: aborted
	 * (their files start again from the first part). */
	stale = json_deep_copy(json_object_get(d->journal, "multipart"));
	json_object_foreach(stale, rel, id)
	{
		char *key = key_of(d, rel);
		egw_uploader_abort(d->up, key, json_string_value(id));
		json_object_del(json_object_get(d->journal, "multipart"), rel);
		g_free(key);
	}
	json_decref(stale);
	json_array_clear(json_object_get(d->journal, "failed"));
	save(d);
	for (char **f = files; *f; f++) {
		char *path = g_build_filename(d->dir, *f, NULL);
		struct stat sb;
		if (json_object_get(stored, *f) || g_hash_table_contains(d->queued, *f) ||
		    stat(path, &sb)) {
			g_free(path);
			continue; /* stored, or on its way since it closed */
		}
		bytes += sb.st_size;
		n++;
		add_file(d, *f, 0);
		g_free(path);
	}
	g_strfreev(files);
	EGW_LOG(d->egress_id, INFO, "uploading %d file(s), %lld bytes, to %s%s%s", n, bytes,
	        d->store->where, g_str_has_suffix(d->store->where, "/") ? "" : "/", d->prefix);
	json_t *final = json_object_get(d->journal, "final");
	d->ev.emit(d->user, "uploading", json_object_get(final, "outputs"),
	           json_pack("{s:{s:s, s:i, s:I}}", "details", "event", "uploading", "files", n,
	                     "bytes", (json_int_t)bytes),
	           EGW_OK, NULL);
	settled(d);
}

void egw_delivery_finish(egw_delivery_t *d, json_t *final, const egw_delivery_events_t *ev,
                         void *user)
{
	d->ev = *ev;
	d->user = user;
	d->busy = 1;
	json_object_set(d->journal, "final", final);
	save(d);
	egw_delivery_upload_all(d);
}

void egw_delivery_discard(egw_delivery_t *d)
{
	if (!d)
		return;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
	egw_spool_remove(d->st->spool_dir, d->egress_id);
}

void egw_delivery_free(egw_delivery_t *d)
{
	if (!d)
		return;
	egw_uploader_free(d->up);
	egw_store_free(d->store);
	egw_http_free(d->http);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	json_decref(d->journal);
	g_ptr_array_free(d->names, TRUE);
	g_hash_table_destroy(d->queued);
	g_free(d->manifest_rel);
	g_free(d->dir);
	g_free(d);
}
