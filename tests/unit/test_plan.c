/* What this build runs (job/plan.c), and the files a plan creates:
 * confined to the storage roots, created exclusively, removed with the
 * directories made for them when nothing was recorded. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/plan.h"
#undef MIN /* GLib's; the test's MIN is a request file */
#include "tests/unit/job_test_util.h"

static const struct support_case {
	int line;
	const char *base, *path1, *value1, *path2, *value2;
	egw_err_t rc;
	const char *want;
} support_cases[] = {
#define S(base, p1, v1, p2, v2, rc, want)                                                          \
	{                                                                                          \
		__LINE__, base, p1, v1, p2, v2, rc, want                                           \
	}
        S(MIN, NULL, NULL, NULL, NULL, EGW_OK, ""),
        S(P, NULL, NULL, NULL, NULL, EGW_OK, ""), /* webhook accepted, not delivered yet */
        S(P, "webhook", "null", NULL, NULL, EGW_OK, ""),
        S(MIN, "outputs.0.format", "\"webm\"", NULL, NULL, EGW_OK, ""),
        S(MIN, "outputs.0.format", "\"mp4\"", "storage", "null", EGW_OK, ""),
        S(MIN, "outputs.0.format", "\"ogg\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
          "outputs[0].format: ogg is not supported yet for audio and video (use mkv, webm or mp4)"),
        S(T, NULL, NULL, NULL, NULL, EGW_OK, ""),
        S(T, "outputs.0.format", "\"webm\"", NULL, NULL, EGW_OK, ""),
        S(T, "outputs.0.format", "\"mkv\"", NULL, NULL, EGW_OK, ""),
        S(T, "outputs.0.format", "\"mp4\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
          "outputs[0].format: mp4 is not supported yet for audio only (use ogg, webm or mkv)"),
        S(T, "source.media", "\"video\"", "outputs.0.format", "\"mp4\"", EGW_OK, ""),
        S(T, "source.media", "\"video\"", "outputs.0.format", "\"webm\"", EGW_OK, ""),
        S(T, "source.media", "\"video\"", "outputs.0.format", "\"mkv\"", EGW_OK, ""),
        S(T, "source.media", "\"video\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
          "outputs[0].format: ogg is not supported yet for video only (use webm, mkv or mp4)"),
        S(TI, NULL, NULL, NULL, NULL, EGW_OK, ""), /* by <publisher id>/<mid> */
        S(TC, NULL, NULL, NULL, NULL, EGW_OK, ""), /* the contract's example, S3 storage included */
        S(TC, "storage", "null", NULL, NULL, EGW_OK, ""), /* a stream and HLS segments */
        S(TC, "outputs.1", "{\"kind\": \"images\", \"prefix\": \"i/{egress_id}\"}", "storage",
          "null", EGW_OK, ""),
        S(TC, "outputs.1", "{\"kind\": \"images\", \"prefix\": \"i/{egress_id}\"}", "encoding",
          "{\"preset\": \"AAC_AUDIO_ONLY\"}", EGW_ERR_INVALID_REQUEST,
          "outputs[1].kind: images need video, and this egress records audio only"),
        S(TC, "outputs.1", "{\"kind\": \"file\", \"format\": \"mp4\"}", "storage", "null", EGW_OK,
          ""), /* a stream and a file, H.264 + AAC encoded once */
        S(TC, "outputs.1", "{\"kind\": \"file\", \"format\": \"webm\"}", "storage", "null",
          EGW_ERR_NOT_SUPPORTED,
          "outputs[1].format: a composite is encoded once, and webm needs "
          "other codecs than outputs[0]; use outputs that share them (mp4, mkv and stream: H.264 "
          "and AAC; or webm)"),
        S(TC, "outputs.1", "{\"kind\": \"file\", \"format\": \"mp4\"}", "encoding",
          "{\"preset\": \"OPUS_AUDIO_ONLY\"}", EGW_ERR_INVALID_REQUEST,
          "outputs[0].kind: a stream carries AAC audio, and encoding.preset OPUS_AUDIO_ONLY is "
          "opus; use AAC_AUDIO_ONLY or a video preset"),
        S(TC, "outputs", "[{\"kind\": \"file\", \"format\": \"mp4\"}]", "storage", "null", EGW_OK,
          ""),
        S(TC, "outputs", "[{\"kind\": \"file\", \"format\": \"webm\"}]", "storage", "null", EGW_OK,
          ""),
        S(RC, NULL, NULL, NULL, NULL, EGW_OK, ""), /* (whep: every SFU of the contract runs) */
        /* composites: codecs follow the formats, encoded once */
        S(RCJ, NULL, NULL, NULL, NULL, EGW_OK, ""),
        S(RCJ, "outputs.1", "{\"kind\": \"file\", \"format\": \"mkv\", \"path\": \"b.mkv\"}", NULL,
          NULL, EGW_OK, ""),
        S(RCJ, "outputs.1", "{\"kind\": \"file\", \"format\": \"webm\", \"path\": \"b.webm\"}",
          NULL, NULL, EGW_ERR_NOT_SUPPORTED,
          "outputs[1].format: a composite is encoded once, and webm "
          "needs other codecs than outputs[0]; use outputs that share them (mp4, mkv and stream: "
          "H.264 and AAC; or webm)"),
        S(RCJ, "outputs.0.format", "\"ogg\"", NULL, NULL, EGW_ERR_INVALID_REQUEST,
          "outputs[0].format: ogg cannot hold video; use mp4, mkv or webm"),
        S(RCJ, "outputs.0.format", "\"ogg\"", "source.audio_only", "true", EGW_OK, ""),
        S(RCJ, "outputs.0.format", "\"webm\"", "encoding", "{\"preset\": \"H264_720P_30\"}",
          EGW_ERR_INVALID_REQUEST,
          "outputs[0].format: webm holds VP8, and encoding.preset "
          "H264_720P_30 is H.264; use mp4 or mkv, or explicit encoding fields"),
        S(RCJ, "outputs.0.format", "\"webm\"", "encoding", "{\"preset\": \"AAC_AUDIO_ONLY\"}",
          EGW_ERR_INVALID_REQUEST,
          "outputs[0].format: webm cannot hold AAC; use mp4 or mkv with "
          "encoding.preset AAC_AUDIO_ONLY"),
        S(RCJ, "outputs.0.format", "\"ogg\"", "encoding", "{\"preset\": \"OPUS_AUDIO_ONLY\"}",
          EGW_OK, ""),
        S(RCJ, "source.layout", "\"speaker\"", NULL, NULL, EGW_OK, ""),
        S(RCJ, "source.layout", "{\"regions\": []}", NULL, NULL, EGW_ERR_INVALID_REQUEST, NULL),
        S(RCJ, "source.layout",
          "{\"regions\": [{\"x\": 0, \"y\": 0, \"width\": 2000, \"height\": 100}]}", NULL, NULL,
          EGW_ERR_INVALID_REQUEST, NULL),
        /* a render: no room (its sfu is not asked), a layout checked as a
         * room composite's, files but no live outputs */
        S(R, NULL, NULL, NULL, NULL, EGW_ERR_INVALID_REQUEST,
          "source.layout.regions[0].h: is not a known field"),
        S(R, "source.layout", "\"grid\"", NULL, NULL, EGW_OK, ""),
        S(R, "source.layout", "\"grid\"", "outputs.0",
          "{\"kind\": \"stream\", \"urls\": [\"rtmp://h/app/k\"]}", EGW_ERR_INVALID_REQUEST,
          "outputs[0].kind: a render writes files, segments and images, not a live stream"),
        /* a participant streamed: transcoded, its files too (H.264 + AAC) */
        S(MIN, "outputs.0", "{\"kind\": \"stream\", \"urls\": [\"rtmp://h/app/s3cr3t\"]}", NULL,
          NULL, EGW_OK, ""),
        S(MIN, "outputs.1", "{\"kind\": \"file\", \"format\": \"webm\", \"path\": \"b.webm\"}",
          "outputs.0", "{\"kind\": \"stream\", \"urls\": [\"rtmp://h/app/s3cr3t\"]}",
          EGW_ERR_NOT_SUPPORTED,
          "outputs[1].format: a composite is encoded once, and webm needs "
          "other codecs than outputs[0]; use outputs that share them (mp4, mkv and stream: H.264 "
          "and AAC; or webm)"),
        S(TI, "outputs.0", "{\"kind\": \"stream\", \"urls\": [\"rtmp://h/app/s3cr3t\"]}", NULL,
          NULL, EGW_ERR_NOT_SUPPORTED,
          "outputs[0].kind: stream needs the track's media known at the "
          "start: give source.participant and source.media instead of source.track_id"),
        S(MIN, "outputs.1", "{\"kind\": \"segments\", \"prefix\": \"hls/{egress_id}\"}", NULL, NULL,
          EGW_OK, ""),
        S(MIN, "outputs.1", "{\"kind\": \"images\", \"prefix\": \"img/{egress_id}\"}", NULL, NULL,
          EGW_OK, ""),
        /* a websocket: the decoded audio, with files or alone */
        S(MIN, "outputs.1", "{\"kind\": \"websocket\", \"url\": \"ws://h/asr?token=s3cr3t\"}", NULL,
          NULL, EGW_OK, ""),
        S(MIN, "outputs.0", "{\"kind\": \"websocket\", \"url\": \"wss://h/asr\"}", NULL, NULL,
          EGW_OK, ""),
        S(T, "source.media", "\"video\"", "outputs.0",
          "{\"kind\": \"websocket\", \"url\": \"wss://h/asr\"}", EGW_ERR_INVALID_REQUEST,
          "outputs[0].kind: a websocket sends audio, and this egress records video only"),
        S(MIN, "storage",
          "{\"kind\": \"s3\", \"bucket\": \"b\", \"access_key\": \"AK\", \"secret_key\": "
          "\"s3cr3t\"}",
          NULL, NULL, EGW_OK, ""),
        S(MIN, "storage", "{\"kind\": \"gcs\", \"bucket\": \"b\"}", NULL, NULL, EGW_OK, ""),
        S(MIN, "storage", "{\"kind\": \"gcs\", \"bucket\": \"b\", \"credentials_json\": {}}", NULL,
          NULL, EGW_OK, ""), /* (the key file is read when the spool is made) */
        S(MIN, "storage", "{\"kind\": \"azure\", \"account\": \"acct1\", \"container\": \"c\"}",
          NULL, NULL, EGW_OK, ""),
        S(MIN, "storage", "{\"kind\": \"local\"}", NULL, NULL, EGW_OK, ""),
        S(MIN, "outputs.1", "{\"kind\": \"file\", \"format\": \"webm\", \"path\": \"b.webm\"}",
          NULL, NULL, EGW_OK, ""), /* several files from one egress */
        S(MIN, "outputs.1", "{\"kind\": \"file\", \"format\": \"ogg\"}", NULL, NULL,
          EGW_ERR_NOT_SUPPORTED,
          "outputs[1].format: ogg is not supported yet for audio and video"
          " (use mkv, webm or mp4)"),
#undef S
};

static void test_supported(void)
{
	char id[EGW_EGRESS_ID_MAX + 1], err[512];

	for (size_t i = 0; i < sizeof(support_cases) / sizeof(support_cases[0]); i++) {
		const struct support_case *c = &support_cases[i];
		egw_request_t *req = NULL;
		egw_err_t rc = parse_mutated2(c->base, c->path1, c->value1, c->path2, c->value2,
		                              &req, id, err, sizeof(err));

		CHECK(rc == EGW_OK);
		if (rc) {
			fprintf(stderr, "  line %d: parse: %s\n", c->line, err);
			continue;
		}
		rc = egw_plan_check(req->job, err, sizeof(err));
		/* want NULL: any message that names the field */
		int same = c->want ? !strcmp(err, c->want) : !strncmp(err, "source.layout", 13);
		CHECK(rc == c->rc && same);
		if (rc != c->rc || !same)
			fprintf(stderr, "  line %d: rc %d \"%s\", want rc %d \"%s\"\n", c->line, rc,
			        err, c->rc, c->want ? c->want : "source.layout...");
		egw_request_free(req);
	}
	CHECK(egw_plan_check(NULL, err, sizeof(err)) != EGW_OK);
}

/* A valid job full of secrets that this build cannot run: the message
 * names the field, never the value. */
static void test_secret_refusal(void)
{
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_request_t *req = NULL;
	CHECK(parse_mutated2(MIN, "source",
	                     "{\"kind\": \"participant\", \"participant\": \"s3cr3t\", "
	                     "\"audio_only\": true}",
	                     "outputs.0", "{\"kind\": \"file\", \"format\": \"mp4\", \"path\": \"s3cr3t.mp4\"}",
	                     &req, id, err, sizeof(err)) == EGW_OK);
	CHECK(req && egw_plan_check(req->job, err, sizeof(err)) == EGW_ERR_NOT_SUPPORTED);
	CHECK(strncmp(err, "outputs[0].format: mp4", 22) == 0);
	CHECK(!strstr(err, "s3cr3t"));
	egw_request_free(req);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static egw_request_t *job_with(const char *path1, const char *value1, const char *path2,
                               const char *value2)
{
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_request_t *req = NULL;
	CHECK(parse_mutated2(MIN, path1, value1, path2, value2, &req, id, err, sizeof(err)) ==
	      EGW_OK);
	return req;
}

static void test_files(void)
{
	char tmpl[] = "/tmp/egw-plan-XXXXXX", err[512], root[600], other[600], taken[700];
	char *base = mkdtemp(tmpl);
	const char *roots[1];
	egw_job_settings_t st = {.worker_id = "w",
	                         .storage_dir = root,
	                         .storage_roots = roots,
	                         .n_storage_roots = 1,
	                         .max_duration_s = 10,
	                         .empty_room_timeout_s = 10,
	                         .sfu_timeout_ms = 1000,
	                         .stop_grace_s = 5};
	egw_job_plan_t *plan = NULL;
	egw_request_t *req;

	CHECK(base != NULL);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(other, sizeof(other), "%s/other", base);
	roots[0] = root;
	CHECK(mkdir(other, 0755) == 0);

	/* A plan creates its file (and the directories on the way). */
	req = job_with("outputs.0.path", "\"a/b/{egress_id}.mkv\"", NULL, NULL);
	CHECK(egw_plan_build(req->job, &st, 0, &plan, err, sizeof(err)) == EGW_OK);
	snprintf(taken, sizeof(taken), "%s/a/b/EG_2f9c1a.mkv", root);
	CHECK(plan && plan->media.n_outputs == 1 && plan->media.outputs[0].fd >= 0);
	CHECK(plan && !strcmp(plan->media.outputs[0].location, taken) && exists(taken));
	CHECK(plan && plan->media.outputs[0].container == EGW_CONTAINER_MKV);
	CHECK(plan && !strcmp(plan->source.filter.participant, "alice"));
	CHECK(plan && plan->source.filter.media == (EGW_SOURCE_AUDIO | EGW_SOURCE_VIDEO));

	/* The same path again: a clear error, and the first file is untouched. */
	{
		egw_job_plan_t *again = NULL;
		CHECK(write(plan->media.outputs[0].fd, "data", 4) == 4);
		CHECK(egw_plan_build(req->job, &st, 0, &again, err, sizeof(err)) ==
		      EGW_ERR_OUTPUT_EXISTS);
		CHECK(again == NULL && strstr(err, "outputs[0].path: ") == err);
		CHECK(strstr(err, "already exists") != NULL);
		struct stat sb;
		CHECK(stat(taken, &sb) == 0 && sb.st_size == 4);
	}
	egw_plan_free(plan);
	plan = NULL;

	/* Nothing recorded: the file goes, and the directories made for it. */
	egw_request_free(req);
	req = job_with("outputs.0.path", "\"x/y/{egress_id}.mkv\"", NULL, NULL);
	CHECK(egw_plan_build(req->job, &st, 0, &plan, err, sizeof(err)) == EGW_OK);
	egw_plan_discard(plan);
	egw_plan_free(plan);
	plan = NULL;
	snprintf(taken, sizeof(taken), "%s/x", root);
	CHECK(!exists(taken));
	snprintf(taken, sizeof(taken), "%s/a/b/EG_2f9c1a.mkv", root);
	CHECK(exists(taken)); /* another job's file is never touched */
	egw_request_free(req);

	/* storage.dir outside the roots: refused, nothing created. */
	const char *outside[] = {"\"/\"", "\"../other\"", "\"../../..\"", "\"/etc\""};
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		char dir[64];
		snprintf(dir, sizeof(dir), "{\"kind\": \"local\", \"dir\": %s}", outside[i]);
		req = job_with("storage", dir, NULL, NULL);
		CHECK(egw_plan_build(req->job, &st, 0, &plan, err, sizeof(err)) ==
		      EGW_ERR_INVALID_REQUEST);
		CHECK(plan == NULL && strstr(err, "storage.dir: ") == err);
		egw_request_free(req);
	}
	snprintf(taken, sizeof(taken), "%s/EG_2f9c1a.mkv", other);
	CHECK(!exists(taken));

	/* A symbolic link out of the root does not get out either. */
	snprintf(taken, sizeof(taken), "%s/escape", root);
	CHECK(symlink(other, taken) == 0);
	req = job_with("storage", "{\"kind\": \"local\", \"dir\": \"escape\"}", NULL, NULL);
	CHECK(egw_plan_build(req->job, &st, 0, &plan, err, sizeof(err)) == EGW_ERR_INVALID_REQUEST);
	egw_request_free(req);

	/* Inside the root, relative: fine. */
	req = job_with("storage", "{\"kind\": \"local\", \"dir\": \"sub/dir\"}", NULL, NULL);
	CHECK(egw_plan_build(req->job, &st, 0, &plan, err, sizeof(err)) == EGW_OK);
	snprintf(taken, sizeof(taken), "%s/sub/dir/1234/EG_2f9c1a.mkv", root);
	CHECK(plan && !strcmp(plan->media.outputs[0].location, taken));
	egw_plan_discard(plan);
	egw_plan_free(plan);
	egw_request_free(req);
	snprintf(taken, sizeof(taken), "rm -rf '%s'", base);
	CHECK(system(taken) == 0);
}

int main(void)
{
	test_supported();
	test_secret_refusal();
	test_files();
	return CHECK_DONE();
}
