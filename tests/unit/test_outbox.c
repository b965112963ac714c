/* base/outbox and worker/outbox without a broker (one that never answers:
 * messages wait, as in an outage): the file format (text and non-UTF-8
 * values, headers, the final flag), names in the order of making, the
 * bound on disk (the oldest non-final messages dropped, final ones kept),
 * and a second outbox on the same spool taking in, in order, what the
 * first left. Delivery through a broker is tested in
 * integration.kafka_outage. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/outbox.h"
#include "tests/unit/check.h"
#include "worker/config.h"
#include "worker/outbox.h"

static void file_format(const char *dir)
{
	egw_outbox_namer_t namer = {0};
	char errstr[200], *p1 = NULL, *p2 = NULL;
	const char bytes[] = {'a', (char)0xff, 0, 'b'};
	egw_outbox_rec_t in = {
	        .topic = "t.dead", .key = "EG_1", .value = (char *)"{\"x\":1}", .len = 7};
	egw_outbox_rec_t out;
	char **names;

	in.headers[0] = "error";
	in.headers[1] = "bad json";
	CHECK(egw_outbox_write(dir, &namer, &in, &p1, errstr, sizeof(errstr)) == 0);
	CHECK(egw_outbox_read(p1, &out) == 0);
	CHECK_STR(out.topic, "t.dead");
	CHECK_STR(out.key, "EG_1");
	CHECK(out.len == 7 && !memcmp(out.value, "{\"x\":1}", 7));
	CHECK_STR(out.headers[0], "error");
	CHECK_STR(out.headers[1], "bad json");
	CHECK(out.headers[2] == NULL && !out.final);
	egw_outbox_rec_clear(&out);

	/* bytes that are not text, no topic (the status topic), final */
	in = (egw_outbox_rec_t){.value = (char *)bytes, .len = sizeof(bytes), .final = 1};
	CHECK(egw_outbox_write(dir, &namer, &in, &p2, errstr, sizeof(errstr)) == 0);
	CHECK(egw_outbox_read(p2, &out) == 0);
	CHECK(out.topic == NULL && out.key == NULL && out.final);
	CHECK(out.len == sizeof(bytes) && !memcmp(out.value, bytes, sizeof(bytes)));
	egw_outbox_rec_clear(&out);

	/* made in this order, listed in this order */
	names = egw_outbox_names(dir, ".msg");
	CHECK(g_strv_length(names) == 2);
	CHECK(names[0] && g_str_has_suffix(p1, names[0]));
	CHECK(names[1] && g_str_has_suffix(p2, names[1]));
	g_strfreev(names);

	/* not a message */
	CHECK(g_file_set_contents(p1, "[1,2]", -1, NULL));
	CHECK(egw_outbox_read(p1, &out) == -1);
	g_unlink(p1);
	g_unlink(p2);
	g_free(p1);
	g_free(p2);
}

static unsigned count_files(const char *dir)
{
	char **names = egw_outbox_names(dir, ".msg");
	unsigned n = g_strv_length(names);
	g_strfreev(names);
	return n;
}

static void bounded_and_kept(const char *spool)
{
	egw_config_t *cfg = NULL;
	char errstr[300], value[201], key[32];
	char *dir = g_build_filename(spool, EGW_OUTBOX_DIR, NULL);
	egw_outbox_t *o;
	unsigned files;

	CHECK(egw_config_load(NULL, &cfg, errstr, sizeof(errstr)) == EGW_OK);
	g_free(cfg->spool_dir);
	cfg->spool_dir = g_strdup(spool);
	cfg->status_outbox_mb = 1;
	/* a broker that never answers: nothing is delivered */
	o = egw_outbox_new(cfg, "127.0.0.1:9", errstr, sizeof(errstr));
	CHECK(o != NULL);
	if (!o)
		return;
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 8000; i++) {
		snprintf(key, sizeof(key), "EG_%04d", i);
		egw_kafka_msg_t m = {.key = key,
		                     .key_len = strlen(key),
		                     .value = value,
		                     .len = strlen(value),
		                     .final = i % 500 == 0};
		egw_outbox_put(o, &m);
		egw_outbox_poll(o);
	}
	files = count_files(dir);
	/* 8000 files of ~230 bytes are 1.8 MB: the bound kept about 1 MB
	 * (the first 1000, in the producer, and the newest), and the 16
	 * final events */
	CHECK(files >= 3000 && files <= 6000);
	CHECK(egw_outbox_backlog(o) == files);
	CHECK(egw_outbox_dropped(o) == 8000 - files);
	CHECK(egw_outbox_flush(o, 100) == files);
	egw_outbox_free(o);
	CHECK(count_files(dir) == files); /* not delivered: all still there */

	{
		char **names = egw_outbox_names(dir, ".msg");
		egw_outbox_rec_t rec;
		unsigned finals = 0;
		int last = -1, ordered = 1;
		for (char **n = names; *n; n++) {
			char *path = g_build_filename(dir, *n, NULL);
			if (!egw_outbox_read(path, &rec)) {
				int i = atoi(rec.key + 3);
				finals += rec.final;
				ordered &= i > last;
				last = i;
			}
			egw_outbox_rec_clear(&rec);
			g_free(path);
		}
		g_strfreev(names);
		CHECK(finals == 16);
		CHECK(ordered);
		CHECK(last == 7999); /* the newest kept */
	}

	/* the next worker on the spool takes them in */
	o = egw_outbox_new(cfg, "127.0.0.1:9", errstr, sizeof(errstr));
	CHECK(o && egw_outbox_backlog(o) == files);
	{ /* a second worker on the same spool meanwhile: memory only */
		egw_outbox_t *o2 = egw_outbox_new(cfg, "127.0.0.1:9", errstr, sizeof(errstr));
		egw_kafka_msg_t m = {.key = "EG_x", .key_len = 4, .value = "{}", .len = 2};
		CHECK(o2 && egw_outbox_backlog(o2) == 0);
		if (o2)
			egw_outbox_put(o2, &m);
		CHECK(o2 && egw_outbox_backlog(o2) == 1);
		CHECK(count_files(dir) == files);
		egw_outbox_free(o2);
	}
	egw_outbox_free(o);
	egw_config_free(cfg);
	g_free(dir);
}

int main(void)
{
	char *tmp = g_dir_make_tmp("egw-outbox-XXXXXX", NULL);
	char *dir = g_build_filename(tmp, "one", NULL);
	char *spool = g_build_filename(tmp, "spool", NULL);
	file_format(dir);
	bounded_and_kept(spool);
	{
		char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
		CHECK(system(cmd) == 0);
		g_free(cmd);
	}
	g_free(spool);
	g_free(dir);
	g_free(tmp);
	return CHECK_DONE();
}
