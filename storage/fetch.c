/* Downloads from object storage (see fetch.h). */
#include "storage/fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PRESIGN_S 3600
#define ATTEMPTS 3
#define FETCH_TIMEOUT_MS (60L * 60 * 1000) /* a whole file */
#define CONNECT_TIMEOUT_MS (10L * 1000)

struct egw_fetch {
	egw_store_t *store;
	char *key, *path, *part, *where;
	int fd;
	int attempt;
	egw_http_req_t *req;
	guint retry;
	egw_fetch_done_fn done;
	void *user;
};

static void fetch_free(egw_fetch_t *f, int remove_part)
{
	if (f->fd >= 0)
		close(f->fd);
	if (remove_part)
		unlink(f->part);
	g_free(f->key);
	g_free(f->path);
	g_free(f->part);
	g_free(f->where);
	g_free(f);
}

static int attempt(egw_fetch_t *f, char *errstr, size_t errstr_size);

static void finish(egw_fetch_t *f, egw_err_t err, const char *message, guint64 size)
{
	egw_fetch_done_fn done = f->done;
	void *user = f->user;

	if (!err && rename(f->part, f->path)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "GET %s: cannot keep it as %s: %s", f->where, f->path,
		         g_strerror(errno));
		fetch_free(f, 1);
		done(user, EGW_ERR_INTERNAL, msg, 0);
		return;
	}
	fetch_free(f, err != EGW_OK);
	done(user, err, message, size);
}

static gboolean on_retry(gpointer data)
{
	egw_fetch_t *f = data;
	char errstr[512];

	f->retry = 0;
	if (attempt(f, errstr, sizeof(errstr)))
		finish(f, EGW_ERR_STORAGE_UNREACHABLE, errstr, 0);
	return G_SOURCE_REMOVE;
}

static void on_answer(void *user, const egw_http_response_t *res)
{
	egw_fetch_t *f = user;
	egw_store_result_t out;
	char what[400], msg[768];

	f->req = NULL;
	snprintf(what, sizeof(what), "GET %s", f->where);
	if (!egw_store_answer(res, what, &out, msg, sizeof(msg))) {
		finish(f, EGW_OK, NULL, res->written);
		return;
	}
	if (out.err == EGW_ERR_STORAGE_UNREACHABLE && f->attempt < ATTEMPTS) {
		/* start the file again */
		if (ftruncate(f->fd, 0) == 0 && lseek(f->fd, 0, SEEK_SET) == 0) {
			GSource *t = g_timeout_source_new(f->attempt == 1 ? 1000 : 3000);
			g_source_set_callback(t, on_retry, f, NULL);
			f->retry = g_source_attach(t, egw_http_context(f->store->http));
			g_source_unref(t);
			return;
		}
	}
	if (res->status == 404)
		out.err = EGW_ERR_NOT_FOUND;
	finish(f, out.err, msg, 0);
}

static int attempt(egw_fetch_t *f, char *errstr, size_t errstr_size)
{
	char *url = f->store->ops->presign_get(f->store, f->key, time(NULL), PRESIGN_S, errstr,
	                                       errstr_size);
	egw_http_request_t rq = {.method = "GET",
	                         .timeout_ms = FETCH_TIMEOUT_MS,
	                         .connect_timeout_ms = CONNECT_TIMEOUT_MS,
	                         .body_fd = f->fd};

	if (!url)
		return -1;
	rq.url = url;
	f->attempt++;
	f->req = egw_http_send(f->store->http, &rq, on_answer, f, errstr, errstr_size);
	g_free(url);
	return f->req ? 0 : -1;
}

egw_fetch_t *egw_store_fetch(egw_store_t *s, const char *key, const char *path,
                             egw_fetch_done_fn done, void *user, char *errstr,
                             size_t errstr_size)
{
	egw_fetch_t *f = g_new0(egw_fetch_t, 1);

	f->store = s;
	f->key = g_strdup(key);
	f->path = g_strdup(path);
	f->part = g_strconcat(path, ".part", NULL);
	f->where = egw_store_location(s, key);
	f->done = done;
	f->user = user;
	if (g_file_test(path, G_FILE_TEST_EXISTS)) {
		snprintf(errstr, errstr_size, "cannot fetch %s: %s exists", f->where, path);
		f->fd = -1;
		fetch_free(f, 0);
		return NULL;
	}
	f->fd = open(f->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		snprintf(errstr, errstr_size, "cannot fetch %s into %s: %s", f->where, f->part,
		         g_strerror(errno));
		fetch_free(f, 0);
		return NULL;
	}
	if (attempt(f, errstr, errstr_size)) {
		fetch_free(f, 1);
		return NULL;
	}
	return f;
}

void egw_fetch_cancel(egw_fetch_t *f)
{
	if (!f)
		return;
	if (f->req)
		egw_http_cancel(f->req);
	if (f->retry) {
		GSource *t = g_main_context_find_source_by_id(egw_http_context(f->store->http),
		                                              f->retry);
		if (t)
			g_source_destroy(t);
	}
	fetch_free(f, 1);
}
