/* The spool (see spool.h). */
#include "storage/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *egw_spool_dir_of(const char *spool_dir, const char *egress_id)
{
	return g_build_filename(spool_dir, egress_id, NULL);
}

char *egw_spool_journal_of(const char *spool_dir, const char *egress_id)
{
	char *name = g_strdup_printf("%s.json", egress_id);
	char *path = g_build_filename(spool_dir, name, NULL);
	g_free(name);
	return path;
}

int egw_spool_lock(const char *spool_dir, const char *egress_id)
{
	char *dir = egw_spool_dir_of(spool_dir, egress_id);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_free(dir);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static egw_err_t write_file(const char *path, json_t *journal, int excl, char *errstr,
                            size_t errstr_size)
{
	char *text = json_dumps(journal, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *tmp = g_strdup_printf("%s.tmp", path);
	size_t len = text ? strlen(text) : 0;
	egw_err_t err = EGW_ERR_IO;
	int fd = -1;

	if (!text) {
		snprintf(errstr, errstr_size, "spool journal %s: cannot encode", path);
		goto out;
	}
	if (excl && g_file_test(path, G_FILE_TEST_EXISTS)) {
		snprintf(errstr, errstr_size, "spool journal %s exists", path);
		err = EGW_ERR_OUTPUT_EXISTS;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd)) {
		snprintf(errstr, errstr_size, "spool journal %s: %s", tmp, g_strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(errstr, errstr_size, "spool journal %s: %s", path, g_strerror(errno));
		goto out;
	}
	err = EGW_OK;
out:
	if (fd >= 0)
		close(fd);
	if (err)
		g_unlink(tmp);
	free(text);
	g_free(tmp);
	return err;
}

egw_err_t egw_spool_create(const char *spool_dir, const char *egress_id, json_t *journal,
                           int *lock_fd, char *errstr, size_t errstr_size)
{
	char *dir = egw_spool_dir_of(spool_dir, egress_id);
	char *jpath = egw_spool_journal_of(spool_dir, egress_id);
	egw_err_t err = EGW_ERR_IO;

	*lock_fd = -1;
	if (g_mkdir_with_parents(spool_dir, 0700)) {
		snprintf(errstr, errstr_size, "spool_dir %s: %s", spool_dir, g_strerror(errno));
		goto out;
	}
	if (g_file_test(jpath, G_FILE_TEST_EXISTS) || mkdir(dir, 0700)) {
		int exists = errno == EEXIST || g_file_test(jpath, G_FILE_TEST_EXISTS);
		snprintf(errstr, errstr_size, "%s: %s", exists ? "spool" : dir,
		         exists ? "this egress_id ran on this worker before and its files are "
		                  "still in the spool"
		                : g_strerror(errno));
		err = exists ? EGW_ERR_OUTPUT_EXISTS : EGW_ERR_IO;
		goto out;
	}
	if ((*lock_fd = egw_spool_lock(spool_dir, egress_id)) < 0) {
		snprintf(errstr, errstr_size, "%s: cannot lock", dir);
		rmdir(dir);
		goto out;
	}
	if ((err = write_file(jpath, journal, 1, errstr, errstr_size))) {
		close(*lock_fd);
		*lock_fd = -1;
		rmdir(dir);
	}
out:
	g_free(dir);
	g_free(jpath);
	return err;
}

egw_err_t egw_spool_write(const char *spool_dir, const char *egress_id, json_t *journal,
                          char *errstr, size_t errstr_size)
{
	char *jpath = egw_spool_journal_of(spool_dir, egress_id);
	egw_err_t err = write_file(jpath, journal, 0, errstr, errstr_size);
	g_free(jpath);
	return err;
}

json_t *egw_spool_read(const char *spool_dir, const char *egress_id, char *errstr,
                       size_t errstr_size)
{
	char *jpath = egw_spool_journal_of(spool_dir, egress_id);
	json_error_t jerr;
	json_t *j = json_load_file(jpath, 0, &jerr);
	if (!j)
		snprintf(errstr, errstr_size, "spool journal %s: %s", jpath, jerr.text);
	else if (json_integer_value(json_object_get(j, "version")) != EGW_SPOOL_VERSION) {
		snprintf(errstr, errstr_size, "spool journal %s: not version %d", jpath,
		         EGW_SPOOL_VERSION);
		json_decref(j);
		j = NULL;
	}
	g_free(jpath);
	return j;
}

/* Removes dir and the empty directories below it, bottom up. */
static void prune(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, name, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			prune(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	rmdir(dir); /* fails when not empty: what is left stays */
}

void egw_spool_remove(const char *spool_dir, const char *egress_id)
{
	char *dir = egw_spool_dir_of(spool_dir, egress_id);
	char *jpath = egw_spool_journal_of(spool_dir, egress_id);
	prune(dir);
	if (!g_file_test(dir, G_FILE_TEST_EXISTS))
		g_unlink(jpath);
	g_free(dir);
	g_free(jpath);
}

#define INPUTS_SUFFIX ".inputs"

char *egw_spool_inputs_of(const char *spool_dir, const char *egress_id)
{
	return g_strdup_printf("%s/%s" INPUTS_SUFFIX, spool_dir, egress_id);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) && errno != ENOENT ? -1 : 0;
}

int egw_spool_rmtree(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -1;
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int egw_spool_sweep_inputs(const char *spool_dir)
{
	GDir *d = g_dir_open(spool_dir, 0, NULL);
	const char *name;
	int n = 0;

	while (d && (name = g_dir_read_name(d))) {
		char *id, *path, *dir;
		int fd, orphan;
		if (!g_str_has_suffix(name, INPUTS_SUFFIX) || strlen(name) == strlen(INPUTS_SUFFIX))
			continue;
		id = g_strndup(name, strlen(name) - strlen(INPUTS_SUFFIX));
		dir = egw_spool_dir_of(spool_dir, id);
		fd = egw_spool_lock(spool_dir, id);
		/* gone, or nobody holds it: its process is dead */
		orphan = fd >= 0 || !g_file_test(dir, G_FILE_TEST_IS_DIR);
		path = g_build_filename(spool_dir, name, NULL);
		if (orphan && egw_spool_rmtree(path) == 0)
			n++;
		if (fd >= 0)
			close(fd);
		g_free(path);
		g_free(dir);
		g_free(id);
	}
	if (d)
		g_dir_close(d);
	return n;
}

static void walk(const char *root, const char *rel, GPtrArray *out)
{
	char *path = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		char *r = rel ? g_build_filename(rel, name, NULL) : g_strdup(name);
		char *p = g_build_filename(root, r, NULL);
		struct stat sb;
		if (!lstat(p, &sb) && S_ISDIR(sb.st_mode))
			walk(root, r, out);
		else if (!lstat(p, &sb) && S_ISREG(sb.st_mode))
			g_ptr_array_add(out, g_strdup(r));
		g_free(p);
		g_free(r);
	}
	if (d)
		g_dir_close(d);
	g_free(path);
}

static int playlist(const char *rel)
{
	return g_str_has_suffix(rel, ".m3u8");
}

static gint by_upload_order(gconstpointer a, gconstpointer b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	if (playlist(x) != playlist(y))
		return playlist(x) - playlist(y);
	return strcmp(x, y);
}

char **egw_spool_files(const char *spool_dir, const char *egress_id)
{
	char *dir = egw_spool_dir_of(spool_dir, egress_id);
	GPtrArray *out = g_ptr_array_new();
	walk(dir, NULL, out);
	g_ptr_array_sort(out, by_upload_order);
	g_ptr_array_add(out, NULL);
	g_free(dir);
	return (char **)g_ptr_array_free(out, FALSE);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char **egw_spool_journals(const char *spool_dir)
{
	GDir *d = g_dir_open(spool_dir, 0, NULL);
	GPtrArray *out = g_ptr_array_new();
	const char *name;
	while (d && (name = g_dir_read_name(d)))
		if (g_str_has_suffix(name, ".json") && strlen(name) > 5)
			g_ptr_array_add(out, g_strndup(name, strlen(name) - 5));
	if (d)
		g_dir_close(d);
	g_ptr_array_sort(out, by_name);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

const char *egw_spool_content_type(const char *path)
{
	static const char *const types[][2] = {
	        {".mp4", "video/mp4"},
	        {".m4a", "audio/mp4"},
	        {".mkv", "video/x-matroska"},
	        {".webm", "video/webm"},
	        {".ogg", "audio/ogg"},
	        {".ts", "video/mp2t"},
	        {".m3u8", "application/vnd.apple.mpegurl"},
	        {".jpg", "image/jpeg"},
	        {".jpeg", "image/jpeg"},
	        {".json", "application/json"},
	        {".flv", "video/x-flv"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		if (g_str_has_suffix(path, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}
