#include "storage/local.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Lexically normalises an absolute path: no ".", "..", or empty parts.
 * ".." above "/" stays at "/". */
static char *normalise(const char *abs)
{
	gchar **parts = g_strsplit(abs, "/", -1);
	GPtrArray *keep = g_ptr_array_new();
	GString *out = g_string_new(NULL);
	for (gchar **p = parts; *p; p++) {
		if (!**p || !strcmp(*p, "."))
			continue;
		if (!strcmp(*p, "..")) {
			if (keep->len)
				g_ptr_array_remove_index(keep, keep->len - 1);
			continue;
		}
		g_ptr_array_add(keep, *p);
	}
	for (guint i = 0; i < keep->len; i++)
		g_string_append_printf(out, "/%s", (char *)g_ptr_array_index(keep, i));
	if (!out->len)
		g_string_append_c(out, '/');
	g_ptr_array_free(keep, TRUE);
	g_strfreev(parts);
	return g_string_free(out, FALSE);
}

/* Resolves symbolic links in the longest existing prefix of a normalised
 * absolute path; the rest is appended as it is. */
static char *resolve(const char *path)
{
	char *head = g_strdup(path), real[PATH_MAX];
	GString *tail = g_string_new(NULL);
	char *out;
	for (;;) {
		if (realpath(head, real)) {
			out = g_strconcat(strcmp(real, "/") ? real : "", tail->str, NULL);
			if (!*out) {
				g_free(out);
				out = g_strdup("/");
			}
			break;
		}
		char *slash = strrchr(head, '/');
		if (!slash || slash == head) { /* nothing exists below "/" */
			out = g_strdup(path);
			break;
		}
		g_string_prepend(tail, slash);
		*slash = '\0';
	}
	g_free(head);
	g_string_free(tail, TRUE);
	return out;
}

static int inside(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (!strcmp(root, "/"))
		return 1;
	return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

static char *absolute(const char *p, const char *base)
{
	char cwd[PATH_MAX];
	char *joined, *norm;
	if (p[0] == '/')
		return normalise(p);
	if (base && base[0] == '/')
		joined = g_build_filename(base, p, NULL);
	else
		joined = g_build_filename(getcwd(cwd, sizeof(cwd)) ? cwd : "/", base ? base : "",
					  p, NULL);
	norm = normalise(joined);
	g_free(joined);
	return norm;
}

egw_err_t egw_local_dir(const char *dir, const char *default_root, const char *const *roots,
			size_t n_roots, char **out, char *errstr, size_t errstr_size)
{
	char *droot = absolute(default_root, NULL), *want, *real;
	int ok = 0;

	*out = NULL;
	if (g_mkdir_with_parents(droot, 0755)) {
		snprintf(errstr, errstr_size, "storage_dir: cannot create %s: %s", droot,
			 strerror(errno));
		g_free(droot);
		return EGW_ERR_IO;
	}
	want = dir ? absolute(dir, droot) : g_strdup(droot);
	real = resolve(want);
	for (size_t i = 0; i < n_roots && !ok; i++) {
		char *r = absolute(roots[i], NULL), *rr = resolve(r);
		ok = inside(real, rr);
		g_free(r);
		g_free(rr);
	}
	g_free(droot);
	g_free(want);
	if (!ok) {
		snprintf(errstr, errstr_size,
			 "storage.dir: not inside a directory this worker may write to (its "
			 "storage_roots)");
		g_free(real);
		return EGW_ERR_INVALID_REQUEST;
	}
	*out = real;
	return EGW_OK;
}

/* mkdir -p that remembers what it made. */
static egw_err_t make_dirs(egw_local_file_t *f, const char *dir, char *errstr, size_t errstr_size)
{
	gchar **parts = g_strsplit(dir, "/", -1);
	GString *p = g_string_new(NULL);
	egw_err_t err = EGW_OK;
	for (gchar **c = parts; *c && !err; c++) {
		if (!**c)
			continue;
		g_string_append_printf(p, "/%s", *c);
		if (mkdir(p->str, 0755) == 0) {
			f->made_dirs = g_renew(char *, f->made_dirs, f->n_made_dirs + 1);
			f->made_dirs[f->n_made_dirs++] = g_strdup(p->str);
		} else if (errno != EEXIST) {
			snprintf(errstr, errstr_size, "cannot create directory %s: %s", p->str,
				 strerror(errno));
			err = EGW_ERR_IO;
		}
	}
	g_string_free(p, TRUE);
	g_strfreev(parts);
	return err;
}

static void remove_made_dirs(egw_local_file_t *f)
{
	for (size_t i = f->n_made_dirs; i > 0; i--)
		rmdir(f->made_dirs[i - 1]); /* only if empty */
}

egw_err_t egw_local_create(const char *dir, const char *rel, egw_local_file_t **out,
			   char *errstr, size_t errstr_size)
{
	egw_local_file_t *f = g_new0(egw_local_file_t, 1);
	char *parent;
	egw_err_t err;

	*out = NULL;
	f->fd = -1;
	f->path = g_build_filename(dir, rel, NULL);
	parent = g_path_get_dirname(f->path);
	err = make_dirs(f, parent, errstr, errstr_size);
	g_free(parent);
	if (err)
		goto fail;
	f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f->fd < 0) {
		err = errno == EEXIST ? EGW_ERR_OUTPUT_EXISTS : EGW_ERR_IO;
		if (err == EGW_ERR_OUTPUT_EXISTS)
			snprintf(errstr, errstr_size,
				 "%s already exists; a recording is never overwritten (use "
				 "{egress_id} or {time} in the path)",
				 f->path);
		else
			snprintf(errstr, errstr_size, "cannot create %s: %s", f->path,
				 strerror(errno));
		goto fail;
	}
	*out = f;
	return EGW_OK;
fail:
	remove_made_dirs(f);
	egw_local_free(f);
	return err;
}

void egw_local_close(egw_local_file_t *f)
{
	if (f && f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

void egw_local_discard(egw_local_file_t *f)
{
	if (!f)
		return;
	egw_local_close(f);
	if (f->path)
		unlink(f->path);
	remove_made_dirs(f);
}

void egw_local_free(egw_local_file_t *f)
{
	if (!f)
		return;
	egw_local_close(f);
	for (size_t i = 0; i < f->n_made_dirs; i++)
		g_free(f->made_dirs[i]);
	g_free(f->made_dirs);
	g_free(f->path);
	g_free(f);
}
