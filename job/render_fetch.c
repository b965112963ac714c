/* Fetching a render's recording from object storage (see render_fetch.h):
 * the manifest first, then the files its tracks name, one at a time. */
#include "job/render_fetch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "base/log.h"
#include "job/render.h"
#include "storage/fetch.h"

struct egw_render_fetch {
	egw_store_t *store;
	char *prefix;    /* the store's locations begin so: "s3://bucket/" */
	char *key;       /* the manifest's */
	char *dir;       /* where they go */
	char *manifest;  /* the local manifest */
	char *log_id;
	char **locs, **whats; /* the tracks' files, as the manifest names them */
	size_t next;          /* the file being fetched */
	size_t n_files;       /* fetched, the manifest too */
	egw_fetch_t *fetch;
	guint64 bytes;
	gint64 began_us;
	egw_render_fetch_done_fn done;
	void *user;
};

int egw_render_fetch_remote(const char *manifest)
{
	return manifest && strstr(manifest, "://") != NULL;
}

static void finish(egw_render_fetch_t *f, egw_err_t err, const char *message)
{
	f->fetch = NULL;
	if (!err)
		EGW_LOG(f->log_id, INFO, "fetched the recording: %zu files, %.1f MB in %.1f s",
		        f->n_files, f->bytes / 1e6, (g_get_monotonic_time() - f->began_us) / 1e6);
	f->done(f->user, err, message, err ? NULL : f->manifest);
}

/* A relative name that stays inside the directory (no "..", no "/" first). */
static int contained(const char *rel)
{
	char **parts;
	int ok = rel[0] && rel[0] != '/';

	parts = g_strsplit(rel, "/", -1);
	for (int i = 0; ok && parts[i]; i++)
		if (!strcmp(parts[i], "..") || !parts[i][0])
			ok = 0;
	g_strfreev(parts);
	return ok;
}

static void on_file(void *user, egw_err_t err, const char *message, guint64 size);

/* Starts fetching the next file the manifest names; done when none is left. */
static void next_file(egw_render_fetch_t *f)
{
	char errstr[512];

	for (; f->locs[f->next]; f->next++) {
		const char *loc = f->locs[f->next];
		char *key, *path, *parent;

		if (strstr(loc, "://")) { /* an output's location: beside the manifest */
			if (!g_str_has_prefix(loc, f->prefix))
				continue; /* elsewhere: the render says it is missing */
			key = g_strdup(loc + strlen(f->prefix));
			path = g_build_filename(f->dir, strrchr(key, '/') ? strrchr(key, '/') + 1 : key,
			                        NULL);
		} else if (contained(loc)) { /* relative to the manifest */
			char *kdir = g_path_get_dirname(f->key);
			key = strcmp(kdir, ".") ? g_strconcat(kdir, "/", loc, NULL) : g_strdup(loc);
			g_free(kdir);
			path = g_build_filename(f->dir, loc, NULL);
		} else {
			continue; /* a path on some machine: the render looks beside the manifest */
		}
		if (g_file_test(path, G_FILE_TEST_EXISTS)) {
			/* two objects of one name put beside the manifest: the
			 * render could not tell them apart */
			snprintf(errstr, sizeof(errstr),
			         "manifest %s: its file %s has the name of another track's file; a "
			         "render from storage needs the files' names to differ",
			         f->whats[f->next], loc);
			g_free(key);
			g_free(path);
			finish(f, EGW_ERR_INVALID_REQUEST, errstr);
			return;
		}
		parent = g_path_get_dirname(path);
		if (g_mkdir_with_parents(parent, 0700)) {
			snprintf(errstr, sizeof(errstr), "cannot make %s: %s", parent,
			         g_strerror(errno));
			g_free(parent);
			g_free(key);
			g_free(path);
			finish(f, EGW_ERR_INTERNAL, errstr);
			return;
		}
		g_free(parent);
		f->fetch = egw_store_fetch(f->store, key, path, on_file, f, errstr, sizeof(errstr));
		g_free(key);
		g_free(path);
		if (!f->fetch) {
			finish(f, EGW_ERR_INTERNAL, errstr);
			return;
		}
		return;
	}
	finish(f, EGW_OK, NULL);
}

static void on_file(void *user, egw_err_t err, const char *message, guint64 size)
{
	egw_render_fetch_t *f = user;
	char msg[1024];

	f->fetch = NULL;
	if (err) {
		snprintf(msg, sizeof(msg), "manifest %s: %s%s", f->whats[f->next],
		         err == EGW_ERR_NOT_FOUND ? "its file is not in the storage: " : "", message);
		finish(f, err, msg);
		return;
	}
	f->bytes += size;
	f->n_files++;
	EGW_LOG(f->log_id, DEBUG, "fetched %s (%" G_GUINT64_FORMAT " bytes)", f->locs[f->next],
	        size);
	f->next++;
	next_file(f);
}

static void on_manifest(void *user, egw_err_t err, const char *message, guint64 size)
{
	egw_render_fetch_t *f = user;
	char msg[1024];

	f->fetch = NULL;
	if (err) {
		snprintf(msg, sizeof(msg), "source.manifest: %s", message);
		finish(f, err, msg);
		return;
	}
	f->bytes += size;
	f->n_files++;
	if (egw_render_manifest_files(f->manifest, &f->locs, &f->whats)) {
		/* not a manifest: the render's own reading says what is wrong */
		f->locs = g_new0(char *, 1);
		f->whats = g_new0(char *, 1);
	}
	next_file(f);
}

egw_render_fetch_t *egw_render_fetch_start(egw_store_t *store, const char *location,
                                           const char *dir, const char *log_id,
                                           egw_render_fetch_done_fn done, void *user,
                                           egw_err_t *err, char *errstr, size_t errstr_size)
{
	egw_render_fetch_t *f = g_new0(egw_render_fetch_t, 1);
	const char *base;

	f->store = store;
	f->prefix = egw_store_location(store, "");
	f->dir = g_strdup(dir);
	f->log_id = g_strdup(log_id);
	f->done = done;
	f->user = user;
	f->began_us = g_get_monotonic_time();
	*err = EGW_ERR_INVALID_REQUEST;
	if (!g_str_has_prefix(location, f->prefix) || !location[strlen(f->prefix)]) {
		snprintf(errstr, errstr_size,
		         "source.manifest: %s is not in the job's storage (%s...): a render reads "
		         "its recording from the storage it writes to",
		         location, f->prefix);
		goto fail;
	}
	f->key = g_strdup(location + strlen(f->prefix));
	base = strrchr(f->key, '/') ? strrchr(f->key, '/') + 1 : f->key;
	if (!base[0]) {
		snprintf(errstr, errstr_size, "source.manifest: %s names no object", location);
		goto fail;
	}
	*err = EGW_ERR_INTERNAL;
	if (g_mkdir_with_parents(dir, 0700)) {
		snprintf(errstr, errstr_size, "cannot make %s: %s", dir, g_strerror(errno));
		goto fail;
	}
	f->manifest = g_build_filename(dir, base, NULL);
	EGW_LOG(log_id, INFO, "fetching the recording of %s into %s", location, dir);
	if (!(f->fetch = egw_store_fetch(store, f->key, f->manifest, on_manifest, f, errstr,
	                                 errstr_size)))
		goto fail;
	*err = EGW_OK;
	return f;
fail:
	egw_render_fetch_free(f);
	return NULL;
}

void egw_render_fetch_free(egw_render_fetch_t *f)
{
	if (!f)
		return;
	egw_fetch_cancel(f->fetch);
	g_free(f->prefix);
	g_free(f->key);
	g_free(f->dir);
	g_free(f->manifest);
	g_free(f->log_id);
	g_strfreev(f->locs);
	g_strfreev(f->whats);
	g_free(f);
}
