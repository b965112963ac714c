/* storage/s3 and storage/spool without a server: how answers are sorted
 * (retry or give up), object URLs in both addressing styles, the ETag of a
 * multipart object, content types, and the spool's journal, lock and
 * upload order (playlists last). */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/s3.h"
#include "storage/spool.h"
#include "tests/unit/check.h"

static void test_classify(void)
{
	char code[64], msg[256];
	CHECK(egw_store_classify(200, "", code, sizeof(code), msg, sizeof(msg)) == EGW_OK);
	CHECK(egw_store_classify(403,
	                      "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
	                      "signature we calculated does not match</Message></Error>",
	                      code, sizeof(code), msg, sizeof(msg)) == EGW_ERR_STORAGE);
	CHECK_STR(code, "SignatureDoesNotMatch");
	CHECK_STR(msg, "The request signature we calculated does not match");
	CHECK(egw_store_classify(404, "<Error><Code>NoSuchBucket</Code></Error>", code, sizeof(code),
	                      msg, sizeof(msg)) == EGW_ERR_STORAGE);
	CHECK(egw_store_classify(403, "", code, sizeof(code), msg, sizeof(msg)) == EGW_ERR_STORAGE);
	CHECK_STR(code, "");
	/* what may pass: 5xx, throttling, timeouts, clock skew */
	CHECK(egw_store_classify(500, "", code, sizeof(code), msg, sizeof(msg)) ==
	      EGW_ERR_STORAGE_UNREACHABLE);
	CHECK(egw_store_classify(503, "<Error><Code>SlowDown</Code></Error>", code, sizeof(code), msg,
	                      sizeof(msg)) == EGW_ERR_STORAGE_UNREACHABLE);
	CHECK(egw_store_classify(429, "", code, sizeof(code), msg, sizeof(msg)) ==
	      EGW_ERR_STORAGE_UNREACHABLE);
	CHECK(egw_store_classify(400, "<Error><Code>RequestTimeout</Code></Error>", code, sizeof(code),
	                      msg, sizeof(msg)) == EGW_ERR_STORAGE_UNREACHABLE);
	/* CompleteMultipartUpload can fail with 200 and an error document */
	CHECK(egw_store_classify(200, "<?xml?><Error><Code>InternalError</Code></Error>", code,
	                      sizeof(code), msg, sizeof(msg)) == EGW_ERR_STORAGE_UNREACHABLE);
}

static void test_urls(void)
{
	egw_s3_conf_t c = {.bucket = "rec", .endpoint = "http://127.0.0.1:9000/", .path_style = 1};
	char *u = egw_s3_url(&c, "a b/EG_1.mkv", NULL);
	CHECK_STR(u, "http://127.0.0.1:9000/rec/a%20b/EG_1.mkv");
	g_free(u);
	u = egw_s3_url(&c, "k.mp4", "partNumber=2&uploadId=x");
	CHECK_STR(u, "http://127.0.0.1:9000/rec/k.mp4?partNumber=2&uploadId=x");
	g_free(u);
	c = (egw_s3_conf_t){.bucket = "rec", .region = "eu-west-1"};
	u = egw_s3_url(&c, "k.mp4", NULL);
	CHECK_STR(u, "https://rec.s3.eu-west-1.amazonaws.com/k.mp4");
	g_free(u);
	u = egw_s3_location(&c, "1234/k.mp4");
	CHECK_STR(u, "s3://rec/1234/k.mp4");
	g_free(u);
}

static void test_multipart_etag(void)
{
	/* python3: md5(bytes.fromhex(md5(b"part one")) + bytes.fromhex(md5(b"part two"))) */
	char *parts[] = {"3303e12af474ca11d85ed2966a932992", "3ea4e15b91a17dc76052c56cfcdf67a2"};
	char out[48];
	egw_s3_multipart_etag(parts, 2, out);
	CHECK_STR(out, "0732917abc3288784e318ac0aab1757a-2");
}

static void test_content_types(void)
{
	CHECK_STR(egw_spool_content_type("a/b.mkv"), "video/x-matroska");
	CHECK_STR(egw_spool_content_type("hls/x.m3u8"), "application/vnd.apple.mpegurl");
	CHECK_STR(egw_spool_content_type("hls/x_00001.ts"), "video/mp2t");
	CHECK_STR(egw_spool_content_type("t_00001.jpg"), "image/jpeg");
	CHECK_STR(egw_spool_content_type("noext"), "application/octet-stream");
}

static void touch(const char *dir, const char *rel)
{
	char *p = g_build_filename(dir, rel, NULL), *d = g_path_get_dirname(p);
	g_mkdir_with_parents(d, 0700);
	g_file_set_contents(p, "x", 1, NULL);
	g_free(d);
	g_free(p);
}

static void test_spool(void)
{
	char *root = g_dir_make_tmp("egw-spool-XXXXXX", NULL),
	     *spool = g_build_filename(root, "s", NULL);
	char err[512];
	int fd = -1, fd2;
	json_t *j = json_pack("{s:i, s:s}", "version", EGW_SPOOL_VERSION, "egress_id", "EG_1");
	struct stat sb;

	CHECK(egw_spool_create(spool, "EG_1", j, &fd, err, sizeof(err)) == EGW_OK && fd >= 0);
	char *jpath = egw_spool_journal_of(spool, "EG_1");
	CHECK(!stat(jpath, &sb) && (sb.st_mode & 0777) == 0600);
	/* the same egress again: taken */
	CHECK(egw_spool_create(spool, "EG_1", j, &fd2, err, sizeof(err)) == EGW_ERR_OUTPUT_EXISTS);
	CHECK(strstr(err, "still in the spool") != NULL);
	/* locked while the owner runs */
	CHECK(egw_spool_lock(spool, "EG_1") < 0);
	char **ids = egw_spool_journals(spool);
	CHECK(ids && ids[0] && !strcmp(ids[0], "EG_1") && !ids[1]);
	g_strfreev(ids);

	char *dir = egw_spool_dir_of(spool, "EG_1");
	touch(dir, "hls/x.m3u8");
	touch(dir, "hls/x_00001.ts");
	touch(dir, "a.mkv");
	touch(dir, "hls/x_00000.ts");
	char **files = egw_spool_files(spool, "EG_1");
	CHECK(g_strv_length(files) == 4);
	CHECK_STR(files[0], "a.mkv");
	CHECK_STR(files[1], "hls/x_00000.ts");
	CHECK_STR(files[2], "hls/x_00001.ts");
	CHECK_STR(files[3], "hls/x.m3u8"); /* playlists last */
	g_strfreev(files);

	json_object_set_new(j, "final_sent", json_true());
	CHECK(egw_spool_write(spool, "EG_1", j, err, sizeof(err)) == EGW_OK);
	json_t *back = egw_spool_read(spool, "EG_1", err, sizeof(err));
	CHECK(back && json_is_true(json_object_get(back, "final_sent")));
	json_decref(back);
	close(fd);
	fd = egw_spool_lock(spool, "EG_1");
	CHECK(fd >= 0); /* free once its owner is gone */
	close(fd);

	/* files left: the journal stays with them */
	egw_spool_remove(spool, "EG_1");
	CHECK(g_file_test(jpath, G_FILE_TEST_EXISTS));
	for (const char *const *r = (const char *const[]){"a.mkv", "hls/x.m3u8", "hls/x_00000.ts",
	                                                  "hls/x_00001.ts", NULL};
	     *r; r++) {
		char *p = g_build_filename(dir, *r, NULL);
		g_unlink(p);
		g_free(p);
	}
	egw_spool_remove(spool, "EG_1");
	CHECK(!g_file_test(jpath, G_FILE_TEST_EXISTS) && !g_file_test(dir, G_FILE_TEST_EXISTS));
	CHECK(egw_spool_read(spool, "EG_1", err, sizeof(err)) == NULL);

	json_decref(j);
	g_free(dir);
	g_free(jpath);
	rmdir(spool);
	rmdir(root);
	g_free(spool);
	g_free(root);
}

int main(void)
{
	test_classify();
	test_urls();
	test_multipart_etag();
	test_content_types();
	test_spool();
	return CHECK_DONE();
}
