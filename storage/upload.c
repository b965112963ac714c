/* Uploads (see upload.h). Each file moves QUEUED -> (one PUT | CREATE ->
 * PARTS -> COMPLETE) -> DONE or FAILED; pump() starts whatever may start
 * now, within the uploader's budget of requests in flight. A transient
 * failure puts its step back and the file waits (backoff with jitter);
 * any answer that succeeds ends the file's run of failures. */
#include "storage/upload.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/log.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 60000
#define PARTS_MAX 10000

enum fstate { QUEUED, SINGLE, CREATING, PARTS, COMPLETING, DONE, FAILED };
enum pstate { P_TODO, P_SENDING, P_STORED };

typedef struct ufile ufile_t;

typedef struct flight { /* one request in flight */
	egw_uploader_t *u;
	ufile_t *f; /* NULL: nobody waits for the answer (an abort) */
	int part;   /* 0-based; -1 when not a part */
	char md5[33];
	egw_store_req_t *req;
} flight_t;

struct ufile {
	egw_uploader_t *u;
	egw_upload_file_t pub;
	char *path, *key, *content_type, *upload_id;
	char sha256[65], md5[33], etag[80];
	enum fstate state;
	int after_previous, keep_local, waiting, busy; /* busy: requests in flight */
	long long size;
	int n_parts;
	EVP_MD_CTX *sha; /* the whole file's SHA-256, fed by the parts in order */
	int hashed_parts;
	unsigned char *part_state;
	char **part_md5, **part_etag;
	gint64 failing_since_us; /* 0: the last answer succeeded */
	int failures;            /* in a row */
	guint retry_timer;
	ufile_t *next;
};

struct egw_uploader {
	egw_store_t *store;
	egw_upload_conf_t conf;
	char *log_id;
	egw_upload_events_t ev;
	void *user;
	ufile_t *files, *last;
	GList *flights;
	int in_flight;
	unsigned pending;
	int pumping;
};

static void pump(egw_uploader_t *u);

/* ---- local file ---- */

/* MD5 (hex) of data; with sha (not NULL), data also goes into it. OpenSSL:
 * its SHA-256 uses the CPU's SHA extensions where there are some (1.7 GB/s
 * here, against 0.5 for GLib's). */
static void digest(const char *data, size_t len, char md5[33], EVP_MD_CTX *sha)
{
	egw_md5_hex(data, len, md5);
	if (sha)
		EVP_DigestUpdate(sha, data, len);
}

static void sha_done(ufile_t *f)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	EVP_DigestFinal_ex(f->sha, d, &n);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(f->sha256 + 2 * i, 3, "%02x", d[i]);
}

/* Bytes [off, off+len) of the file, g_malloc'ed (len + 1 so that an empty
 * body is not NULL). */
static char *read_range(const char *path, long long off, size_t len, char *err, size_t err_size)
{
	char *buf = g_malloc(len + 1);
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (fd < 0 || got < len) {
		snprintf(err, err_size, "%s: %s", path,
		         fd < 0 || errno ? g_strerror(errno) : "shorter than expected");
		g_free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

/* ---- the end of a file ---- */

static void drop_flights(egw_uploader_t *u, ufile_t *f)
{
	for (GList *l = u->flights; l;) {
		GList *next = l->next;
		flight_t *fl = l->data;
		if (fl->f == f) {
			egw_store_cancel(u->store, fl->req);
			u->flights = g_list_delete_link(u->flights, l);
			u->in_flight--;
			g_free(fl);
		}
		l = next;
	}
	f->busy = 0;
}

static void on_abort(void *user, const egw_store_result_t *res);

static void abort_multipart(egw_uploader_t *u, const char *key, const char *upload_id)
{
	flight_t *fl;
	if (!upload_id)
		return;
	fl = g_new0(flight_t, 1);
	fl->u = u;
	fl->part = -1;
	fl->req = u->store->ops->abort(u->store, key, upload_id, on_abort, fl);
	if (!fl->req) {
		g_free(fl);
		return;
	}
	u->flights = g_list_prepend(u->flights, fl);
	u->in_flight++;
}

static void file_end(egw_uploader_t *u, ufile_t *f, egw_err_t err, const char *message)
{
	if (f->retry_timer)
		g_source_remove(f->retry_timer);
	f->retry_timer = 0;
	drop_flights(u, f);
	if (err) {
		f->state = FAILED;
		abort_multipart(u, f->key, f->upload_id); /* no orphaned parts left behind */
		EGW_LOG(u->log_id, ERROR, "upload of %s failed: %s (the file stays at %s)", f->key,
		        message, f->path);
	} else {
		f->state = DONE;
		if (!u->conf.keep_local && !f->keep_local && unlink(f->path))
			EGW_LOG(u->log_id, WARN, "%s stored, but not deleted: %s", f->path,
			        g_strerror(errno));
	}
	f->pub.size = f->size;
	f->pub.sha256 = f->sha256;
	f->pub.etag = f->etag;
	f->pub.parts = f->n_parts;
	u->pending--;
	if (u->ev.file_done)
		u->ev.file_done(u->user, &f->pub, err, message);
}

static gboolean retry_fire(gpointer user)
{
	ufile_t *f = user;
	f->retry_timer = 0;
	f->waiting = 0;
	pump(f->u);
	return G_SOURCE_REMOVE;
}

/* A request failed: permanent failures end the file; transient ones wait
 * and retry while the window lasts. */
static void failed(egw_uploader_t *u, ufile_t *f, const egw_store_result_t *res)
{
	gint64 now = g_get_monotonic_time();
	if (res->err != EGW_ERR_STORAGE_UNREACHABLE) {
		file_end(u, f, res->err, res->message);
		return;
	}
	if (!f->failing_since_us)
		f->failing_since_us = now;
	if (now - f->failing_since_us >= (gint64)u->conf.retry_window_s * G_USEC_PER_SEC) {
		char msg[768];
		snprintf(msg, sizeof(msg), "gave up after %d s of failures: %s",
		         u->conf.retry_window_s, res->message);
		file_end(u, f, EGW_ERR_STORAGE_UNREACHABLE, msg);
		return;
	}
	f->pub.attempts++;
	if (f->waiting)
		return; /* another request of the file failed already */
	int shift = f->failures < 10 ? f->failures : 10;
	double delay = MIN((double)BACKOFF_FIRST_MS * (1 << shift), (double)BACKOFF_MAX_MS);
	delay *= g_random_double_range(0.5, 1.5);
	f->failures++;
	f->waiting = 1;
	f->retry_timer = g_timeout_add((guint)delay, retry_fire, f);
	if (u->ev.retrying)
		u->ev.retrying(u->user, &f->pub, res->message, (int)delay);
	EGW_LOG(u->log_id, WARN, "upload of %s: %s; retrying in %.1f s", f->key, res->message,
	        delay / 1000.0);
}

/* ---- answers ---- */

static flight_t *landed(void *user, egw_uploader_t **u)
{
	flight_t *fl = user;
	*u = fl->u;
	fl->u->flights = g_list_remove(fl->u->flights, fl);
	fl->u->in_flight--;
	fl->req = NULL;
	if (fl->f)
		fl->f->busy--;
	return fl;
}

static void on_abort(void *user, const egw_store_result_t *res)
{
	egw_uploader_t *u;
	flight_t *fl = landed(user, &u);
	if (res->err)
		EGW_LOG(u->log_id, WARN, "%s", res->message);
	g_free(fl);
	pump(u);
}

/* The answer: 1 when it succeeded (the file's run of failures ends). */
static int checked(egw_uploader_t *u, ufile_t *f, const egw_store_result_t *res)
{
	if (res->err) {
		failed(u, f, res);
		return 0;
	}
	f->failing_since_us = 0;
	f->failures = 0;
	return 1;
}

static void on_answer(void *user, const egw_store_result_t *res)
{
	egw_uploader_t *u;
	flight_t *fl = landed(user, &u);
	ufile_t *f = fl->f;

	if (f->state == SINGLE || f->state == COMPLETING) {
		if (checked(u, f, res)) {
			snprintf(f->etag, sizeof(f->etag), "%s", res->etag ? res->etag : "");
			file_end(u, f, EGW_OK, NULL);
		}
	} else if (f->state == CREATING) {
		if (checked(u, f, res)) {
			f->upload_id = g_strdup(res->upload_id);
			f->state = PARTS;
			if (u->ev.multipart)
				u->ev.multipart(u->user, &f->pub, f->upload_id);
		}
	} else if (f->state == PARTS) {
		if (checked(u, f, res)) {
			f->part_state[fl->part] = P_STORED;
			f->part_etag[fl->part] = g_strdup(res->etag ? res->etag : fl->md5);
			f->part_md5[fl->part] = g_strdup(fl->md5);
		} else if (f->state == PARTS) {
			f->part_state[fl->part] = P_TODO;
		}
	}
	g_free(fl);
	pump(u);
}

/* ---- starting requests ---- */

/* Starts one request of f; -1 when it could not start (f failed or
 * waits). A start function returns NULL with err set when the local file
 * cannot be read (the file fails at once: retrying will not bring it back),
 * NULL with err "" when the request could not be queued. */
typedef egw_store_req_t *(*start_fn)(egw_uploader_t *, ufile_t *, flight_t *, char *, size_t);

static int fly(egw_uploader_t *u, ufile_t *f, int part, start_fn start)
{
	flight_t *fl = g_new0(flight_t, 1);
	char err[512] = "";
	fl->u = u;
	fl->f = f;
	fl->part = part;
	u->flights = g_list_prepend(u->flights, fl);
	u->in_flight++;
	f->busy++;
	if (!(fl->req = start(u, f, fl, err, sizeof(err)))) {
		egw_store_result_t res = {.err = EGW_ERR_STORAGE_UNREACHABLE,
		                          .message = "cannot start the request"};
		landed(fl, &u);
		g_free(fl);
		if (err[0])
			file_end(u, f, EGW_ERR_IO, err);
		else
			failed(u, f, &res);
		return -1;
	}
	return 0;
}

static egw_store_req_t *start_put(egw_uploader_t *u, ufile_t *f, flight_t *fl, char *err,
                                  size_t err_size)
{
	char *body = read_range(f->path, 0, (size_t)f->size, err, err_size);
	if (!body)
		return NULL;
	if (!f->sha256[0]) {
		digest(body, (size_t)f->size, f->md5, f->sha);
		sha_done(f);
	}
	return u->store->ops->put(u->store, f->key, body, (size_t)f->size, f->content_type,
	                          f->md5, on_answer, fl);
}

static egw_store_req_t *start_create(egw_uploader_t *u, ufile_t *f, flight_t *fl, char *err,
                                     size_t err_size)
{
	(void)err, (void)err_size;
	return u->store->ops->create(u->store, f->key, f->content_type, on_answer, fl);
}

static egw_store_req_t *start_part(egw_uploader_t *u, ufile_t *f, flight_t *fl, char *err,
                                   size_t err_size)
{
	long long off = (long long)fl->part * (long long)u->conf.part_size;
	size_t len = (size_t)MIN((long long)u->conf.part_size, f->size - off);
	char *body = read_range(f->path, off, len, err, err_size);
	if (!body)
		return NULL;
	/* parts start in order: each feeds the file's SHA-256 once */
	digest(body, len, fl->md5, fl->part == f->hashed_parts ? f->sha : NULL);
	if (fl->part == f->hashed_parts && ++f->hashed_parts == f->n_parts)
		sha_done(f);
	f->part_state[fl->part] = P_SENDING;
	return u->store->ops->part(u->store, f->key, f->upload_id, fl->part + 1, body, len, fl->md5,
	                           on_answer, fl);
}

static egw_store_req_t *start_complete(egw_uploader_t *u, ufile_t *f, flight_t *fl, char *err,
                                       size_t err_size)
{
	(void)err, (void)err_size;
	return u->store->ops->complete(u->store, f->key, f->upload_id, f->part_etag, f->part_md5,
	                               f->n_parts, f->content_type, on_answer, fl);
}

/* Decides how a queued file goes up. */
static void begin(egw_uploader_t *u, ufile_t *f)
{
	char err[512];
	struct stat sb;
	if (stat(f->path, &sb)) {
		snprintf(err, sizeof(err), "%s: %s", f->path, g_strerror(errno));
		file_end(u, f, EGW_ERR_IO, err);
		return;
	}
	f->size = sb.st_size;
	f->sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(f->sha, EVP_sha256(), NULL);
	if ((size_t)f->size <= u->conf.part_size) {
		f->state = SINGLE;
		return;
	}
	f->n_parts =
	        (int)((f->size + (long long)u->conf.part_size - 1) / (long long)u->conf.part_size);
	if (f->n_parts > PARTS_MAX) {
		snprintf(err, sizeof(err), "%s: %lld bytes need more than %d parts of %zu bytes",
		         f->path, f->size, PARTS_MAX, u->conf.part_size);
		file_end(u, f, EGW_ERR_STORAGE, err);
		return;
	}
	f->part_state = g_new0(unsigned char, f->n_parts);
	f->part_md5 = g_new0(char *, f->n_parts + 1);
	f->part_etag = g_new0(char *, f->n_parts + 1);
	f->state = CREATING;
	EGW_LOG(u->log_id, INFO, "uploading %s (%lld bytes) in %d parts", f->key, f->size,
	        f->n_parts);
}

/* Starts what file f can start now. */
static void step(egw_uploader_t *u, ufile_t *f)
{
	if (f->state == QUEUED)
		begin(u, f);
	if (f->waiting || f->state == DONE || f->state == FAILED)
		return;
	if ((f->state == SINGLE || f->state == CREATING) && !f->busy) {
		fly(u, f, -1, f->state == SINGLE ? start_put : start_create);
		return;
	}
	if (f->state != PARTS)
		return;
	int stored = 0;
	for (int i = 0;
	     i < f->n_parts && u->in_flight < u->conf.parallel && !f->waiting && f->state == PARTS;
	     i++)
		if (f->part_state[i] == P_TODO && fly(u, f, i, start_part))
			return;
	for (int i = 0; i < f->n_parts; i++)
		stored += f->part_state[i] == P_STORED;
	if (stored == f->n_parts && !f->busy) {
		f->state = COMPLETING;
		fly(u, f, -1, start_complete);
	}
}

static void pump(egw_uploader_t *u)
{
	int earlier_open = 0;
	ufile_t *earlier_failed = NULL;
	if (u->pumping)
		return;
	u->pumping = 1;
	for (ufile_t *f = u->files; f && u->in_flight < u->conf.parallel; f = f->next) {
		if (f->after_previous && earlier_open)
			break;
		if (f->after_previous && earlier_failed && f->state == QUEUED) {
			/* a playlist must not name what is not there */
			char msg[512];
			snprintf(msg, sizeof(msg), "not uploaded: %s, uploaded before it, failed",
			         earlier_failed->key);
			file_end(u, f, EGW_ERR_STORAGE_UNREACHABLE, msg);
		}
		step(u, f);
		if (f->state != DONE && f->state != FAILED)
			earlier_open = 1;
		if (f->state == FAILED && !earlier_failed)
			earlier_failed = f;
	}
	u->pumping = 0;
}

/* ---- API ---- */

egw_uploader_t *egw_uploader_new(egw_store_t *store, const egw_upload_conf_t *conf,
                                 const egw_upload_events_t *ev, void *user)
{
	egw_uploader_t *u = g_new0(egw_uploader_t, 1);
	u->store = store;
	u->conf = *conf;
	u->conf.parallel = MAX(conf->parallel, 1);
	u->conf.part_size = MAX(conf->part_size, (size_t)EGW_UPLOAD_PART_MIN);
	u->log_id = g_strdup(conf->log_id ? conf->log_id : "");
	u->conf.log_id = u->log_id;
	if (ev)
		u->ev = *ev;
	u->user = user;
	return u;
}

void egw_uploader_add(egw_uploader_t *u, const char *path, const char *key,
                      const char *content_type, int flags, void *tag)
{
	ufile_t *f = g_new0(ufile_t, 1);
	f->u = u;
	f->path = g_strdup(path);
	f->key = g_strdup(key);
	f->content_type = g_strdup(content_type);
	f->after_previous = !!(flags & EGW_UPLOAD_AFTER_PREVIOUS);
	f->keep_local = !!(flags & EGW_UPLOAD_KEEP_LOCAL);
	f->pub = (egw_upload_file_t){
	        .path = f->path, .key = f->key, .content_type = f->content_type, .tag = tag};
	if (u->last)
		u->last->next = f;
	else
		u->files = f;
	u->last = f;
	u->pending++;
	pump(u);
}

unsigned egw_uploader_pending(const egw_uploader_t *u)
{
	return u ? u->pending : 0;
}

static void free_file(ufile_t *f)
{
	if (f->retry_timer)
		g_source_remove(f->retry_timer);
	if (f->part_md5)
		g_strfreev(f->part_md5);
	if (f->part_etag)
		g_strfreev(f->part_etag);
	g_free(f->part_state);
	EVP_MD_CTX_free(f->sha);
	g_free(f->upload_id);
	g_free(f->path);
	g_free(f->key);
	g_free(f->content_type);
	g_free(f);
}

void egw_uploader_free(egw_uploader_t *u)
{
	if (!u)
		return;
	for (GList *l = u->flights; l; l = l->next) {
		flight_t *fl = l->data;
		egw_store_cancel(u->store, fl->req);
		g_free(fl);
	}
	g_list_free(u->flights);
	while (u->files) {
		ufile_t *f = u->files;
		u->files = f->next;
		free_file(f);
	}
	g_free(u->log_id);
	g_free(u);
}

void egw_uploader_abort(egw_uploader_t *u, const char *key, const char *upload_id)
{
	abort_multipart(u, key, upload_id);
}
