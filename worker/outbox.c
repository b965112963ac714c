/* The worker's outbox (see outbox.h). Every message is an entry: waiting
 * (in order, in o->waiting) or in the producer (its delivery report brings
 * it back). An entry with a file holds only its name, key and size; its
 * message is read from the file when it goes to the producer. */
#include "worker/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/log.h"
#include "base/outbox.h"

#define OUTBOX_IN_FLIGHT 1000           /* messages in the producer at once */
#define MEMORY_ONLY_MAX 10000           /* messages kept without a file (the disk refused them) */
#define SCAN_US (2 * G_USEC_PER_SEC)    /* files other processes left */
#define RETRY_FIRST_US (G_USEC_PER_SEC) /* after a failed delivery */
#define RETRY_MAX_US (30 * G_USEC_PER_SEC)

typedef struct entry {
	guint64 seq;          /* the order of the queue */
	char *name;           /* its file in the directory; NULL: memory only */
	char *key;            /* for log lines */
	egw_outbox_rec_t rec; /* memory-only entries' message */
	size_t bytes;         /* its file's size */
	int final;
} entry_t;

struct egw_outbox {
	const egw_config_t *cfg;
	rd_kafka_t *rk;
	char *dir;
	char *jobs_dir; /* where orphaned job processes write (base/outbox.h) */
	egw_outbox_namer_t namer;
	GQueue waiting;    /* entry_t, oldest first */
	GHashTable *known; /* names of the files of entries (waiting or in flight) */
	guint64 seq;
	unsigned in_flight, memory_only;
	size_t bytes, max_bytes;
	gint64 next_scan_us, retry_at_us, retry_us, drop_logged_us;
	unsigned long long dropped; /* to make room */
	int disk_failing;           /* the last file could not be written */
	int lock_fd;                /* holds the directory's lock; -1: no directory (memory only) */
};

static void free_entry(entry_t *e)
{
	g_free(e->name);
	g_free(e->key);
	egw_outbox_rec_clear(&e->rec);
	g_free(e);
}

/* e leaves the outbox (delivered, refused for good, or dropped). */
static void forget(egw_outbox_t *o, entry_t *e)
{
	if (e->name) {
		char *path = g_build_filename(o->dir, e->name, NULL);
		if (g_unlink(path) && errno != ENOENT)
			EGW_LOG(NULL, WARN, "outbox: %s: %s", path, g_strerror(errno));
		g_free(path);
		g_hash_table_remove(o->known, e->name);
		o->bytes -= MIN(o->bytes, e->bytes);
	} else {
		o->memory_only--;
	}
	free_entry(e);
}

static int by_seq(gconstpointer a, gconstpointer b, gpointer user)
{
	(void)user;
	guint64 x = ((const entry_t *)a)->seq, y = ((const entry_t *)b)->seq;
	return x < y ? -1 : x > y;
}

/* Failures that waiting does not cure: the broker refused the message. */
static int refused(rd_kafka_resp_err_t err)
{
	return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
	       err == RD_KAFKA_RESP_ERR_INVALID_MSG || err == RD_KAFKA_RESP_ERR_INVALID_RECORD ||
	       err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
	       err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
}

/* Nothing goes to the producer for a while (1 s, doubling up to 30 s). */
static void back_off(egw_outbox_t *o)
{
	o->retry_us = CLAMP(o->retry_us * 2, RETRY_FIRST_US, RETRY_MAX_US);
	o->retry_at_us = g_get_monotonic_time() + o->retry_us;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	egw_outbox_t *o = opaque;
	entry_t *e = m->_private;
	(void)rk;
	o->in_flight--;
	if (!m->err) {
		o->retry_us = 0;
		forget(o, e);
	} else if (refused(m->err)) {
		EGW_LOG(e->key, ERROR, "message to %s refused by Kafka (%s): dropped",
		        rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		forget(o, e);
	} else {
		/* (the producer waits for the broker as long as it takes: this
		 * is a purge at shutdown, or a topic that does not exist) */
		if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
		    m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
			EGW_LOG(e->key, WARN,
			        "message to %s not delivered (%s): produced again later",
			        rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
		g_queue_insert_sorted(&o->waiting, e, by_seq, NULL);
		back_off(o);
	}
}

/* Hands e to the producer. 0, or -1: not now (e stays first). */
static int produce(egw_outbox_t *o, entry_t *e)
{
	egw_outbox_rec_t file_rec = {0}, *rec = &e->rec;
	rd_kafka_headers_t *hdrs = NULL;
	rd_kafka_resp_err_t err;

	if (e->name) {
		char *path = g_build_filename(o->dir, e->name, NULL);
		int bad = egw_outbox_read(path, &file_rec);
		g_free(path);
		if (bad) {
			EGW_LOG(e->key, ERROR, "outbox: %s/%s unreadable: dropped", o->dir,
			        e->name);
			g_queue_pop_head(&o->waiting);
			forget(o, e);
			return 0;
		}
		rec = &file_rec;
	}
	hdrs = rd_kafka_headers_new(2);
	for (size_t i = 0; rec->headers[i] && rec->headers[i + 1]; i += 2)
		rd_kafka_header_add(hdrs, rec->headers[i], -1, rec->headers[i + 1], -1);
	err = rd_kafka_producev(
	        o->rk, RD_KAFKA_V_TOPIC(rec->topic ? rec->topic : o->cfg->status_topic),
	        RD_KAFKA_V_KEY(rec->key, rec->key ? strlen(rec->key) : 0),
	        RD_KAFKA_V_VALUE(rec->value, rec->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(e), RD_KAFKA_V_END);
	egw_outbox_rec_clear(&file_rec);
	if (err) {
		rd_kafka_headers_destroy(hdrs);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) { /* (full: next turn) */
			EGW_LOG(e->key, WARN, "outbox: producing failed (%s): tried again later",
			        rd_kafka_err2str(err));
			back_off(o);
		}
		return -1;
	}
	g_queue_pop_head(&o->waiting);
	o->in_flight++;
	return 0;
}

static void pump(egw_outbox_t *o)
{
	entry_t *e;
	if (o->retry_at_us && g_get_monotonic_time() < o->retry_at_us)
		return;
	o->retry_at_us = 0;
	while (o->in_flight < OUTBOX_IN_FLIGHT && (e = g_queue_peek_head(&o->waiting)))
		if (produce(o, e))
			break;
}

/* Drops the oldest waiting messages that are not final events while the
 * files (or the memory-only entries) are over their bounds. */
static void make_room(egw_outbox_t *o)
{
	for (GList *l = o->waiting.head;
	     l && (o->bytes > o->max_bytes || o->memory_only > MEMORY_ONLY_MAX);) {
		entry_t *e = l->data;
		GList *next = l->next;
		if (!e->final &&
		    (e->name ? o->bytes > o->max_bytes : o->memory_only > MEMORY_ONLY_MAX)) {
			gint64 now = g_get_monotonic_time();
			o->dropped++;
			if (now - o->drop_logged_us >=
			    G_USEC_PER_SEC) { /* at most one line a second */
				EGW_LOG(e->key, WARN,
				        "outbox over its bound (status_outbox_mb %d): waiting "
				        "events "
				        "dropped, oldest first (%llu so far)",
				        o->cfg->status_outbox_mb, o->dropped);
				o->drop_logged_us = now;
			}
			g_queue_delete_link(&o->waiting, l);
			forget(o, e);
		}
		l = next;
	}
}

/* Takes in the files of from (the directory, left by an earlier worker;
 * or its jobs/ subdirectory, written by job processes whose worker is
 * gone: moved into the directory first), in order. */
static void scan(egw_outbox_t *o, const char *from, const char *whose)
{
	char **names = egw_outbox_names(from, ".msg");
	unsigned n = 0;
	for (char **name = names; *name; name++) {
		char *path = g_build_filename(o->dir, *name, NULL);
		egw_outbox_rec_t rec;
		GStatBuf st;
		if (g_hash_table_contains(o->known, *name)) {
			g_free(path);
			continue;
		}
		if (strcmp(from, o->dir)) {
			char *src = g_build_filename(from, *name, NULL);
			int moved = !g_rename(src, path);
			if (!moved)
				EGW_LOG(NULL, WARN, "outbox: %s: %s", src, g_strerror(errno));
			g_free(src);
			if (!moved) {
				g_free(path);
				continue;
			}
		}
		if (!egw_outbox_read(path, &rec) && !g_stat(path, &st)) {
			entry_t *e = g_new0(entry_t, 1);
			e->seq = ++o->seq;
			e->name = g_strdup(*name);
			e->key = g_strdup(rec.key);
			e->final = rec.final;
			e->bytes = (size_t)st.st_size;
			o->bytes += e->bytes;
			g_hash_table_add(o->known, g_strdup(*name));
			g_queue_push_tail(&o->waiting, e);
			n++;
		} else {
			EGW_LOG(NULL, WARN, "outbox: %s is not a message: removed", path);
			g_unlink(path);
		}
		egw_outbox_rec_clear(&rec);
		g_free(path);
	}
	g_strfreev(names);
	if (n)
		EGW_LOG(NULL, INFO, "outbox: %u message(s) left by %s: sending them", n, whose);
	make_room(o);
}

/* The directory is this worker's alone (a lock held while it lives): a
 * second worker on the same spool would send, and remove, the first's
 * messages. 1, or 0: memory only. */
static int take_dir(egw_outbox_t *o)
{
	char *lock = g_build_filename(o->dir, ".lock", NULL);
	int ok = 0;
	if (g_mkdir_with_parents(o->dir, 0700))
		EGW_LOG(NULL, WARN, "outbox: %s: %s (messages are kept in memory only)", o->dir,
		        g_strerror(errno));
	else if ((o->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		EGW_LOG(NULL, WARN, "outbox: %s: %s (messages are kept in memory only)", lock,
		        g_strerror(errno));
	else if (flock(o->lock_fd, LOCK_EX | LOCK_NB))
		EGW_LOG(NULL, WARN,
		        "outbox: %s is another running worker's (two workers on one spool_dir?): "
		        "this worker keeps its messages in memory only",
		        o->dir);
	else
		ok = 1;
	g_free(lock);
	if (!ok) {
		g_free(o->dir);
		o->dir = NULL;
	}
	return ok;
}

egw_outbox_t *egw_outbox_new(const egw_config_t *cfg, const char *brokers, char *errstr,
                             size_t errstr_size)
{
	egw_outbox_t *o = g_new0(egw_outbox_t, 1);
	o->cfg = cfg;
	o->lock_fd = -1;
	o->dir = g_build_filename(cfg->spool_dir, EGW_OUTBOX_DIR, NULL);
	o->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	o->max_bytes = (size_t)cfg->status_outbox_mb * 1024 * 1024;
	g_queue_init(&o->waiting);
	if (!(o->rk = egw_kafka_new_outbox(cfg, brokers, on_delivery, o, errstr, errstr_size))) {
		egw_outbox_free(o);
		return NULL;
	}
	o->jobs_dir = g_build_filename(o->dir, EGW_OUTBOX_JOBS_DIR, NULL);
	if (take_dir(o)) {
		scan(o, o->dir, "an earlier run");
		scan(o, o->jobs_dir, "job processes whose worker was gone");
	}
	o->next_scan_us = g_get_monotonic_time() + SCAN_US;
	return o;
}

void egw_outbox_put(egw_outbox_t *o, const egw_kafka_msg_t *msg)
{
	entry_t *e = g_new0(entry_t, 1);
	egw_outbox_rec_t *rec = &e->rec;
	char errstr[300], *path = NULL;
	size_t n = 0;

	e->seq = ++o->seq;
	e->final = msg->final;
	e->key = msg->key ? g_strndup(msg->key, msg->key_len) : NULL;
	rec->topic = msg->topic && strcmp(msg->topic, o->cfg->status_topic) ? g_strdup(msg->topic)
	                                                                    : NULL;
	rec->key = g_strdup(e->key);
	rec->value = g_strndup(msg->value, msg->len);
	rec->len = msg->len;
	rec->final = e->final;
	for (const char *const *h = msg->headers;
	     h && h[0] && h[1] && n + 2 < G_N_ELEMENTS(rec->headers); h += 2) {
		rec->headers[n++] = g_strdup(h[0]);
		rec->headers[n++] = g_strdup(h[1]);
	}
	if (!o->dir) {
		o->memory_only++;
	} else if (!egw_outbox_write(o->dir, &o->namer, rec, &path, errstr, sizeof(errstr))) {
		GStatBuf st;
		e->name = g_path_get_basename(path);
		e->bytes = g_stat(path, &st) ? msg->len : (size_t)st.st_size;
		o->bytes += e->bytes;
		g_hash_table_add(o->known, g_strdup(e->name));
		egw_outbox_rec_clear(rec); /* read back when produced */
		if (o->disk_failing)
			EGW_LOG(NULL, INFO, "outbox: %s writable again", o->dir);
		o->disk_failing = 0;
	} else {
		if (!o->disk_failing)
			EGW_LOG(e->key, WARN,
			        "outbox: %s (messages are kept in memory only until it "
			        "can be written)",
			        errstr);
		o->disk_failing = 1;
		o->memory_only++;
	}
	g_free(path);
	g_queue_push_tail(&o->waiting, e);
	make_room(o);
	pump(o);
}

void egw_outbox_poll(egw_outbox_t *o)
{
	rd_kafka_poll(o->rk, 0);
	if (o->dir && g_get_monotonic_time() >= o->next_scan_us) {
		scan(o, o->jobs_dir, "a job process whose worker is gone");
		o->next_scan_us = g_get_monotonic_time() + SCAN_US;
	}
	pump(o);
}

unsigned egw_outbox_backlog(const egw_outbox_t *o)
{
	return o ? o->in_flight + o->waiting.length : 0;
}

unsigned long long egw_outbox_dropped(const egw_outbox_t *o)
{
	return o ? o->dropped : 0;
}

unsigned egw_outbox_flush(egw_outbox_t *o, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	o->retry_at_us = 0;
	while (egw_outbox_backlog(o) && g_get_monotonic_time() < end) {
		pump(o);
		rd_kafka_poll(o->rk, 50);
	}
	return egw_outbox_backlog(o);
}

void egw_outbox_free(egw_outbox_t *o)
{
	entry_t *e;
	if (!o)
		return;
	if (o->rk) {
		/* what the producer still holds comes back (its files stay) */
		rd_kafka_purge(o->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 20 && o->in_flight; i++)
			rd_kafka_poll(o->rk, 50);
		rd_kafka_destroy(o->rk);
	}
	while ((e = g_queue_pop_head(&o->waiting)))
		free_entry(e);
	g_hash_table_destroy(o->known);
	if (o->lock_fd >= 0)
		close(o->lock_fd); /* (the lock goes with it) */
	g_free(o->dir);
	g_free(o->jobs_dir);
	g_free(o);
}
