/* worker/dashboard: the fleet table the page is built from (which events
 * count, the order, each output's state, what is left out) and the
 * thumbnails it serves: only files of the pattern an images output names,
 * never a link or a file that is not a JPEG. The page in a browser is
 * tested by integration.dashboard. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "worker/dashboard.h"

static void take(egw_fleet_t *f, const char *json)
{
	CHECK(egw_fleet_take(f, json, strlen(json)) == 0);
}

static json_t *egress(json_t *view, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(view, "egresses"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "egress_id")), id))
			return e;
	}
	return NULL;
}

static const char *field(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void test_thumb_file(void)
{
	char *p = egw_fleet_thumb_file("/out/img/EG_a_%05d.jpg", 7);
	CHECK_STR(p, "/out/img/EG_a_00007.jpg");
	g_free(p);
	CHECK(!egw_fleet_thumb_file("img/EG_a_%05d.jpg", 0));      /* relative */
	CHECK(!egw_fleet_thumb_file("/out/EG_a_%05d.png", 0));     /* not ours */
	CHECK(!egw_fleet_thumb_file("/out/%s/EG_a_%05d.jpg", 0));  /* another conversion */
	CHECK(!egw_fleet_thumb_file("/out/../etc/x_%05d.jpg", 0)); /* .. */
	CHECK(!egw_fleet_thumb_file("/out/_%05d.jpg", 0));         /* no name */
	CHECK(!egw_fleet_thumb_file("/out/a_%05d.jpg", -1));
	CHECK(!egw_fleet_thumb_file(NULL, 0));
}

static void test_events(void)
{
	egw_fleet_t *f = egw_fleet_new();
	json_t *view, *e, *outs;
	const char *bad[] = {"not json", "[]", "{\"status\":\"active\"}",
	                     "{\"egress_id\":\"EG_x\"}",
	                     "{\"egress_id\":\"EG_x\",\"status\":\"rejected\"}"};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		CHECK(egw_fleet_take(f, bad[i], strlen(bad[i])) == -1);
	CHECK(egw_fleet_size(f) == 0);

	take(f, "{\"egress_id\":\"EG_old\",\"status\":\"starting\",\"worker_id\":\"w1\"}");
	take(f, "{\"egress_id\":\"EG_old\",\"status\":\"complete\",\"worker_id\":\"w1\","
	        "\"started_at\":\"2026-01-01T00:00:00.000Z\",\"ended_at\":\"2026-01-01T00:01:30."
	        "500Z\","
	        "\"reason\":\"stop requested\",\"outputs\":["
	        "{\"kind\":\"file\",\"format\":\"mp4\",\"location\":\"s3://b/k.mp4\","
	        "\"url\":\"https://b.example/k.mp4?X-Amz-Signature=abc\",\"size\":10},"
	        "{\"kind\":\"stream\",\"format\":\"flv\",\"destinations\":["
	        "{\"url\":\"rtmp://live.example/app/***\",\"state\":\"failed\"},"
	        "{\"url\":\"rtmp://b.example/app/***\",\"state\":\"complete\"}]},"
	        "{\"kind\":\"manifest\",\"format\":\"json\",\"location\":\"s3://b/m.json\"}]}");
	take(f, "{\"egress_id\":\"EG_run\",\"status\":\"active\",\"worker_id\":\"w2\","
	        "\"started_at\":\"2026-01-01T00:00:00.000Z\",\"outputs\":[]}");
	take(f, "{\"egress_id\":\"EG_run\",\"status\":\"active\",\"worker_id\":\"w2\","
	        "\"started_at\":\"2026-01-01T00:00:00.000Z\",\"outputs\":[],\"details\":{"
	        "\"event\":\"output_failed\",\"output\":\"outputs[1]\",\"error\":{\"code\":"
	        "\"io_error\",\"message\":\"disk full\"}}}");
	take(f, "{\"egress_id\":\"EG_bad\",\"status\":\"failed\",\"worker_id\":\"w1\","
	        "\"error\":{\"code\":\"not_found\",\"message\":\"no room\"}}");
	{ /* a refusal naming EG_bad leaves its state alone */
		const char *refusal = "{\"egress_id\":\"EG_bad\",\"status\":\"rejected\"}";
		CHECK(egw_fleet_take(f, refusal, strlen(refusal)) == -1);
	}
	CHECK(egw_fleet_size(f) == 3);

	view = egw_fleet_json(f, 1767225610000LL /* 2026-01-01T00:00:10Z */, 10);
	CHECK(json_integer_value(json_object_get(view, "total")) == 3);
	CHECK(json_integer_value(json_object_get(json_object_get(view, "by_status"), "failed")) ==
	      1);
	/* running first, then the newest */
	e = json_array_get(json_object_get(view, "egresses"), 0);
	CHECK_STR(field(e, "egress_id"), "EG_run");
	CHECK_STR(field(json_array_get(json_object_get(view, "egresses"), 1), "egress_id"),
	          "EG_bad");
	CHECK(json_real_value(json_object_get(e, "duration_s")) == 10.0); /* to now */
	CHECK_STR(field(e, "details_event"), "output_failed");
	outs = json_object_get(e, "outputs"); /* only what the details said */
	CHECK(json_array_size(outs) == 1);
	CHECK_STR(field(json_array_get(outs, 0), "name"), "outputs[1]");
	CHECK_STR(field(json_array_get(outs, 0), "state"), "failed");
	CHECK(json_is_null(json_object_get(e, "thumb")));

	e = egress(view, "EG_old");
	CHECK(json_real_value(json_object_get(e, "duration_s")) == 90.5);
	CHECK_STR(field(e, "reason"), "stop requested");
	outs = json_object_get(e, "outputs");
	CHECK(json_array_size(outs) == 3);
	CHECK_STR(field(json_array_get(outs, 0), "state"), "complete");
	CHECK(!json_object_get(json_array_get(outs, 0), "url"));        /* presigned: left out */
	CHECK_STR(field(json_array_get(outs, 1), "state"), "complete"); /* its destinations' */
	CHECK(json_array_size(json_object_get(json_array_get(outs, 1), "destinations")) == 2);
	CHECK_STR(field(json_array_get(outs, 2), "kind"), "manifest");
	CHECK(!json_object_get(json_array_get(outs, 2), "name"));

	e = egress(view, "EG_bad");
	CHECK_STR(field(json_object_get(e, "error"), "code"), "not_found");
	CHECK(json_is_null(json_object_get(e, "duration_s")));
	json_decref(view);

	view = egw_fleet_json(f, 0, 1); /* at most one shown, all counted */
	CHECK(json_array_size(json_object_get(view, "egresses")) == 1);
	CHECK(json_integer_value(json_object_get(view, "total")) == 3);
	json_decref(view);

	/* an id that starts again after it ended is a new egress */
	take(f, "{\"egress_id\":\"EG_old\",\"status\":\"starting\",\"worker_id\":\"w3\"}");
	view = egw_fleet_json(f, 0, 10);
	CHECK(json_array_size(json_object_get(egress(view, "EG_old"), "outputs")) == 0);
	json_decref(view);
	egw_fleet_free(f);
}

static void write_file(const char *dir, const char *name, const char *bytes, size_t len)
{
	char *path = g_build_filename(dir, name, NULL);
	CHECK(g_file_set_contents(path, bytes, (gssize)len, NULL));
	g_free(path);
}

static void remove_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		g_unlink(path);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
	CHECK(g_rmdir(dir) == 0);
}

static long thumb_size(egw_fleet_t *f, const char *id)
{
	off_t size = -1;
	int fd = egw_fleet_thumb_open(f, id, &size);
	if (fd < 0)
		return -1;
	close(fd);
	return (long)size;
}

static void test_thumbs(void)
{
	static const char jpeg[] = "\xff\xd8\xff\xe0 a JPEG";
	char *dir = g_dir_make_tmp("egw-dash-XXXXXX", NULL), *ev, *link, *target;
	egw_fleet_t *f = egw_fleet_new();
	json_t *view;

	write_file(dir, "EG_t_00000.jpg", jpeg, sizeof(jpeg) - 1);
	write_file(dir, "EG_t_00001.jpg", "\xff\xd8\xff 1", 5);
	write_file(dir, "EG_t_00002.jpg", "\xff\xd8\xff 22", 6);
	write_file(dir, "passwd_00000.jpg", "root:x:0:0", 10); /* not a JPEG */
	ev = g_strdup_printf("{\"egress_id\":\"EG_t\",\"status\":\"active\",\"outputs\":[{\"kind\":"
	                     "\"images\",\"format\":\"jpeg\",\"location\":\"%s/EG_t_%%05d.jpg\","
	                     "\"images\":1}]}",
	                     dir);
	take(f, ev);
	g_free(ev);
	/* running: the newest that exists, beyond what the event counted */
	CHECK(thumb_size(f, "EG_t") == 6);
	view = egw_fleet_json(f, 0, 10);
	CHECK_STR(field(egress(view, "EG_t"), "thumb"), "/thumb/EG_t?n=2");
	json_decref(view);
	CHECK(thumb_size(f, "EG_nobody") == -1);
	CHECK(thumb_size(f, "../EG_t") == -1);

	ev = g_strdup_printf(
	        "{\"egress_id\":\"EG_p\",\"status\":\"complete\",\"outputs\":[{\"kind\":"
	        "\"images\",\"location\":\"%s/passwd_%%05d.jpg\",\"images\":1}]}",
	        dir);
	take(f, ev);
	g_free(ev);
	CHECK(thumb_size(f, "EG_p") == -1);

	/* a link is not served, even to a JPEG */
	link = g_build_filename(dir, "EG_l_00000.jpg", NULL);
	target = g_build_filename(dir, "EG_t_00000.jpg", NULL);
	CHECK(symlink(target, link) == 0);
	ev = g_strdup_printf(
	        "{\"egress_id\":\"EG_l\",\"status\":\"complete\",\"outputs\":[{\"kind\":"
	        "\"images\",\"location\":\"%s/EG_l_%%05d.jpg\",\"images\":1}]}",
	        dir);
	take(f, ev);
	g_free(ev);
	CHECK(thumb_size(f, "EG_l") == -1);

	/* ended: the last one its final event counts */
	ev = g_strdup_printf(
	        "{\"egress_id\":\"EG_t\",\"status\":\"complete\",\"outputs\":[{\"kind\":"
	        "\"images\",\"location\":\"%s/EG_t_%%05d.jpg\",\"images\":2}]}",
	        dir);
	take(f, ev);
	g_free(ev);
	CHECK(thumb_size(f, "EG_t") == 5); /* _00001.jpg, not the newer file */

	egw_fleet_free(f);
	remove_dir(dir);
	g_free(link);
	g_free(target);
	g_free(dir);
}

int main(void)
{
	test_thumb_file();
	test_events();
	test_thumbs();
	return CHECK_DONE();
}
