/* Unit tests of worker/job.h: request parsing and validation, secrets kept
 * out of messages, path templates, and what this build supports.
 * Runs in tests/unit (sample requests in data/). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/check.h"
#include "worker/job.h"

#define P "data/start_participant.json"
#define MIN "data/start_minimal.json"
#define T "data/start_track.json"
#define TI "data/start_track_id.json"
#define TC "data/start_track_composite.json"
#define RC "data/start_room_composite.json"
#define R "data/start_render.json"
#define STOP "data/stop.json"
#define UL "data/update_layout.json"
#define US "data/update_stream.json"
#define DELETE NULL
#define SECRET_MARK "s3cr3t"
#define T_2026 ((time_t)1795637700) /* 2026-11-25T20:15:00Z */

static int bad_cases;

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		text = calloc(1, (size_t)size + 1);
		if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
			free(text);
			text = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	return text;
}

static egw_err_t parse_file(const char *path, egw_request_t **req, char *id, char *err,
			    size_t err_size)
{
	size_t len = 0;
	char *text = read_text(path, &len);
	egw_err_t rc;

	if (!text) {
		fprintf(stderr, "cannot read %s (run in tests/unit)\n", path);
		exit(2);
	}
	rc = egw_request_parse(text, len, req, id, err, err_size);
	free(text);
	return rc;
}

static egw_request_t *parse_ok(const char *path)
{
	egw_request_t *req = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_err_t rc = parse_file(path, &req, id, err, sizeof(err));

	CHECK(rc == EGW_OK);
	if (rc != EGW_OK)
		fprintf(stderr, "%s: unexpected error: %s\n", path, err);
	return req;
}

/* Sets (value non-NULL, stolen) or removes the member at a dotted path such
 * as "outputs.0.format" ("" is the root itself). */
static json_t *set_path(json_t *root, const char *path, json_t *value)
{
	char buf[256], *key, *next;
	json_t *parent = root;

	if (!*path) {
		json_decref(root);
		return value;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	for (key = buf; (next = strchr(key, '.')); key = next + 1) {
		*next = '\0';
		parent = json_is_array(parent) ? json_array_get(parent, strtoul(key, NULL, 10))
					       : json_object_get(parent, key);
	}
	if (json_is_array(parent) && value && strtoul(key, NULL, 10) >= json_array_size(parent))
		json_array_append_new(parent, value);
	else if (json_is_array(parent) && value)
		json_array_set_new(parent, strtoul(key, NULL, 10), value);
	else if (json_is_array(parent))
		json_array_remove(parent, strtoul(key, NULL, 10));
	else if (value)
		json_object_set_new(parent, key, value);
	else
		json_object_del(parent, key);
	return root;
}

/* base with up to two members set to JSON text values (NULL: removed);
 * the parse result, and the request in *keep when keep is not NULL. */
static egw_err_t parse_mutated2(const char *base, const char *path1, const char *value1,
				const char *path2, const char *value2, egw_request_t **keep,
				char *id, char *err, size_t err_size)
{
	json_t *root = json_load_file(base, 0, NULL);
	const char *paths[2] = {path1, path2}, *values[2] = {value1, value2};
	egw_request_t *req = NULL;
	char *text;
	egw_err_t rc;

	for (int i = 0; i < 2 && root && paths[i]; i++) {
		json_t *v = values[i] ? json_loads(values[i], JSON_DECODE_ANY, NULL) : NULL;
		if (values[i] && !v) {
			fprintf(stderr, "bad test value: %s\n", values[i]);
			exit(2);
		}
		root = set_path(root, paths[i], v);
	}
	if (!root) {
		fprintf(stderr, "cannot load %s\n", base);
		exit(2);
	}
	text = json_dumps(root, JSON_COMPACT);
	rc = egw_request_parse(text, strlen(text), &req, id, err, err_size);
	CHECK((rc == EGW_OK) == (req != NULL));
	if (keep)
		*keep = req;
	else
		egw_request_free(req);
	free(text);
	json_decref(root);
	return rc;
}

static egw_err_t parse_mutated(const char *base, const char *path, const char *value, char *id,
			       char *err, size_t err_size)
{
	return parse_mutated2(base, path, value, NULL, NULL, NULL, id, err, err_size);
}

/* case: a line of this file, or an index in data/job_bad_requests.json */
static void expect_error(int line, egw_err_t rc, const char *err, const char *want)
{
	bad_cases++;
	CHECK(rc == EGW_ERR_INVALID_REQUEST);
	CHECK(strstr(err, want) != NULL);
	CHECK(strstr(err, SECRET_MARK) == NULL);
	if (rc != EGW_ERR_INVALID_REQUEST || !strstr(err, want))
		fprintf(stderr, "  case %d: rc %d, got \"%s\", want \"%s\"\n", line, rc, err, want);
}

static void bad_text(int line, const char *text, size_t len, const char *want)
{
	egw_request_t *req = (egw_request_t *)1;
	char err[512];
	egw_err_t rc = egw_request_parse(text, len, &req, NULL, err, sizeof(err));

	CHECK(req == NULL);
	expect_error(line, rc, err, want);
}

/* data/job_bad_requests.json: [{"base", "path", "value" or "delete", "want"}]:
 * a sample request with one member changed, and the error it must give. */
static void test_bad_requests(void)
{
	json_error_t jerr;
	json_t *cases = json_load_file("data/job_bad_requests.json", 0, &jerr), *c;
	char base[128], id[EGW_EGRESS_ID_MAX + 1], err[512];
	size_t i;

	CHECK(json_array_size(cases) >= 30);
	if (!cases)
		fprintf(stderr, "data/job_bad_requests.json: %s\n", jerr.text);
	json_array_foreach(cases, i, c) {
		json_t *value = json_object_get(c, "value");
		char *text = value ? json_dumps(value, JSON_ENCODE_ANY) : NULL;
		egw_err_t rc;

		snprintf(base, sizeof(base), "data/%s.json", json_string_value(json_object_get(c, "base")));
		rc = parse_mutated(base, json_string_value(json_object_get(c, "path")), text, id, err,
				   sizeof(err));
		expect_error((int)i, rc, err, json_string_value(json_object_get(c, "want")));
		free(text);
	}
	json_decref(cases);
}

static void test_bad_text(void)
{
	static const char deep_prefix[] = "{\"type\":\"stop\",\"egress_id\":\"EG_1\",\"x\":";
	size_t huge_len = 300 * 1024, depth = 5000, n = 0;
	char *huge = malloc(huge_len), *deep = malloc(sizeof(deep_prefix) + 2 * depth + 2);
	static const char raw_nul[] = "{\"type\":\"stop\",\0\"egress_id\":\"EG_1\"}";

	bad_text(__LINE__, NULL, 0, "request: empty");
	bad_text(__LINE__, "", 0, "request: empty");
	bad_text(__LINE__, "not json", 8, "request: not valid JSON (line 1, column");
	bad_text(__LINE__, "null", 4, "request: must be a JSON object");
	bad_text(__LINE__, "\"stop\"", 6, "request: must be a JSON object");
#define TEXT(s, want) bad_text(__LINE__, (s), sizeof(s) - 1, (want))
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_1\"", "request: not valid JSON: premature end of input");
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_1\"} {}", "request: not valid JSON: unexpected text after");
	TEXT("{\"type\":\"stop\",\"type\":\"stop\",\"egress_id\":\"EG_1\"}", "request: not valid JSON: duplicate key");
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_\xff\"}", "request: not valid UTF-8");
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_\xc0\xaf\"}", "request: not valid UTF-8");
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_\xed\xa0\x80\"}", "request: not valid UTF-8");
	TEXT("{\"type\":\"st\\u0000op\",\"egress_id\":\"EG_1\"}", "request: not valid JSON: contains a NUL");
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_1\",\"n\":123456789012345678901234567890}",
	     "request: not valid JSON: number out of range");
	TEXT(raw_nul, "request: not valid JSON");
	/* jansson would quote the text near the error: here a stream key */
	TEXT("{\"type\":\"start\",\"egress_id\":\"EG_1\",\"outputs\":[{\"urls\":[\"rtmp://h/app/KEY-s3cr3t\"}]}",
	     "request: not valid JSON");
	TEXT("{\"type\":\"start\",\"egress_id\":\"EG_1\",\"pin\":s3cr3t}", "request: not valid JSON");
#undef TEXT
	if (!huge || !deep)
		exit(2);
	memset(huge, ' ', huge_len);
	memcpy(huge, "{\"type\":\"stop\",\"egress_id\":\"EG_1\"}", 34);
	bad_text(__LINE__, huge, huge_len, "request: too large (307200 bytes, at most 262144)");
	memcpy(deep, deep_prefix, sizeof(deep_prefix) - 1);
	n = sizeof(deep_prefix) - 1;
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	n += 2 * depth;
	deep[n++] = '}';
	bad_text(__LINE__, deep, n, "request: not valid JSON: nested too deeply");
	free(huge);
	free(deep);
}

static void test_participant(void)
{
	egw_request_t *req = parse_ok(P);
	egw_job_t *job = req ? req->job : NULL;

	CHECK(req && req->type == EGW_REQ_START && job);
	if (!job)
		return;
	CHECK_STR(req->egress_id, "EG_2f9c1a");
	CHECK_STR(job->egress_id, "EG_2f9c1a");
	CHECK_STR(job->room.sfu, "janus");
	CHECK_STR(job->room.url, "http://127.0.0.1:8088/janus");
	CHECK_STR(job->room.room_id, "1234");
	CHECK(job->room.room_id_is_number == 1);
	CHECK(job->room.pin == NULL);
	CHECK(job->source.kind == EGW_SOURCE_PARTICIPANT);
	CHECK_STR(job->source.participant, "alice");
	CHECK(job->source.audio_only == 0 && job->source.video_only == 0);
	CHECK_STR(job->encoding.preset, "H264_720P_30");
	CHECK(job->encoding.width == 0 && job->encoding.fps == 0);
	CHECK(job->n_outputs == 1);
	CHECK(job->outputs[0].kind == EGW_OUTPUT_FILE);
	CHECK(job->outputs[0].format == EGW_FORMAT_MKV);
	CHECK_STR(job->outputs[0].path, "{room_id}/{egress_id}.mkv");
	CHECK(job->storage.kind == EGW_STORAGE_LOCAL);
	CHECK_STR(job->storage.dir, "./out");
	CHECK(job->limits.max_duration_s == 14400);
	CHECK(job->limits.empty_room_timeout_s == 300);
	CHECK_STR(job->webhook.url, "https://example.test/hooks/egress");
	CHECK(job->webhook.secret == NULL);
	CHECK(req->layout == NULL && req->n_add_urls == 0);
	egw_request_free(req);
}

static void test_tracks(void)
{
	egw_request_t *req = parse_ok(T), *req2 = parse_ok(TI);
	egw_job_t *job = req ? req->job : NULL, *job2 = req2 ? req2->job : NULL;

	CHECK(job && job2);
	if (job) {
		CHECK_STR(job->egress_id, "EG_track-audio_1");
		CHECK_STR(job->room.room_id, "lobby");
		CHECK(job->room.room_id_is_number == 0);
		CHECK_STR(job->room.pin, "p1n-s3cr3t");
		CHECK(job->source.kind == EGW_SOURCE_TRACK);
		CHECK_STR(job->source.participant, "bob");
		CHECK(job->source.media == EGW_MEDIA_AUDIO);
		CHECK(job->source.track_id == NULL);
		CHECK(job->outputs[0].format == EGW_FORMAT_OGG);
		CHECK(job->storage.kind == EGW_STORAGE_DEFAULT);
		CHECK(job->encoding.preset == NULL);
		CHECK(job->limits.max_duration_s == 0 && job->webhook.url == NULL);
	}
	if (job2) {
		CHECK(job2->source.kind == EGW_SOURCE_TRACK);
		CHECK_STR(job2->source.track_id, "8812345/1");
		CHECK(job2->source.participant == NULL);
		CHECK(job2->source.media == EGW_MEDIA_NONE);
		CHECK(job2->outputs[0].format == EGW_FORMAT_WEBM);
		CHECK_STR(job2->outputs[0].path, "{room_id}/{egress_id}.webm"); /* default */
	}
	egw_request_free(req);
	egw_request_free(req2);
}

static void test_track_composite(void)
{
	egw_request_t *req = parse_ok(TC);
	egw_job_t *job = req ? req->job : NULL;
	const egw_encoding_t *enc = job ? &job->encoding : NULL;

	CHECK(job != NULL);
	if (!job)
		return;
	CHECK(job->source.kind == EGW_SOURCE_TRACK_COMPOSITE);
	CHECK_STR(job->source.audio_track_id, "111/0");
	CHECK_STR(job->source.video_track_id, "222/1");
	CHECK(enc->preset == NULL && enc->width == 1280 && enc->height == 720 && enc->fps == 30);
	CHECK(enc->video_bitrate_kbps == 3000 && enc->keyframe_interval_s == 2);
	CHECK(enc->audio_bitrate_kbps == 128 && enc->audio_sample_rate == 48000);
	CHECK_STR(enc->speed_preset, "veryfast");
	CHECK(job->n_outputs == 2);
	CHECK(job->outputs[0].kind == EGW_OUTPUT_STREAM && job->outputs[0].n_urls == 2);
	CHECK_STR(job->outputs[0].urls[0], "rtmp://live.example.test/app/STREAMKEY-s3cr3t");
	CHECK_STR(job->outputs[0].urls[1], "srt://10.0.0.1:9000?streamid=s3cr3t");
	CHECK(job->outputs[1].kind == EGW_OUTPUT_SEGMENTS && job->outputs[1].segment_s == 6);
	CHECK_STR(job->outputs[1].prefix, "hls/{egress_id}/seg");
	CHECK(job->storage.kind == EGW_STORAGE_S3);
	CHECK_STR(job->storage.bucket, "recordings");
	CHECK_STR(job->storage.region, "eu-west-1");
	CHECK_STR(job->storage.endpoint, "http://127.0.0.1:4569");
	CHECK_STR(job->storage.access_key, "AKIA-s3cr3t");
	CHECK_STR(job->storage.secret_key, "SK-s3cr3t");
	CHECK_STR(job->storage.session_token, "ST-s3cr3t");
	CHECK(job->storage.path_style == 1);
	CHECK_STR(job->webhook.secret, "wh-s3cr3t");
	egw_request_free(req);
}

static void test_composites(void)
{
	egw_request_t *req = parse_ok(RC), *req2 = parse_ok(R);
	egw_job_t *job = req ? req->job : NULL, *job2 = req2 ? req2->job : NULL;

	CHECK(job && job2);
	if (job) {
		CHECK_STR(job->room.sfu, "whep");
		CHECK(job->source.kind == EGW_SOURCE_ROOM_COMPOSITE);
		CHECK_STR(job->source.layout, "speaker");
		CHECK_STR(job->source.background, "#202020");
		CHECK(job->source.labels == 1 && job->source.audio_only == 0);
		CHECK(job->outputs[0].kind == EGW_OUTPUT_IMAGES && job->outputs[0].every_s == 5);
		CHECK(job->outputs[0].width == 320 && job->outputs[0].height == 180);
		CHECK_STR(job->outputs[0].prefix, "thumbs/{room_id}");
		CHECK(job->outputs[1].format == EGW_FORMAT_MP4);
		CHECK(job->storage.kind == EGW_STORAGE_GCS);
		CHECK_STR(job->storage.credentials_json,
			  "{\"private_key\":\"s3cr3t\",\"type\":\"service_account\"}");
		CHECK(job->limits.max_duration_s == 3600 && job->limits.empty_room_timeout_s == 0);
	}
	if (job2) {
		CHECK_STR(job2->room.sfu, "rtp");
		CHECK(job2->room.url == NULL);
		CHECK_STR(job2->room.room_id, "7");
		CHECK(job2->source.kind == EGW_SOURCE_RENDER);
		CHECK_STR(job2->source.manifest, "manifests/EG_rc.json");
		CHECK_STR(job2->source.layout,
			  "{\"regions\":[{\"h\":1,\"participant\":\"alice\",\"w\":1,\"x\":0,\"y\":0}]}");
		CHECK(job2->storage.kind == EGW_STORAGE_AZURE);
		CHECK_STR(job2->storage.account, "acct");
		CHECK_STR(job2->storage.container, "rec");
		CHECK_STR(job2->storage.secret_key, "AZ-s3cr3t");
	}
	egw_request_free(req);
	egw_request_free(req2);
}

static void test_control(void)
{
	egw_request_t *stop = parse_ok(STOP), *ul = parse_ok(UL), *us = parse_ok(US), *custom = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];

	CHECK(stop && stop->type == EGW_REQ_STOP && !stop->job);
	CHECK(stop && !strcmp(stop->egress_id, "EG_2f9c1a"));
	CHECK(ul && ul->type == EGW_REQ_UPDATE_LAYOUT && ul->layout && !strcmp(ul->layout, "speaker"));
	CHECK(us && us->type == EGW_REQ_UPDATE_STREAM && us->n_add_urls == 2 && us->n_remove_urls == 1);
	if (us && us->n_add_urls == 2 && us->n_remove_urls == 1) {
		CHECK_STR(us->add_urls[0], "rtmp://a.example.test/live/KEY1-s3cr3t");
		CHECK_STR(us->add_urls[1], "rtmps://b.example.test:443/live/KEY2-s3cr3t");
		CHECK_STR(us->remove_urls[0], "srt://c.example.test:9000");
	}
	CHECK(parse_mutated2(UL, "layout", "{\"regions\": []}", NULL, NULL, &custom, id, err,
			     sizeof(err)) == EGW_OK);
	CHECK(custom && custom->layout && !strcmp(custom->layout, "{\"regions\":[]}"));
	CHECK(parse_mutated(US, "add_urls", "null", id, err, sizeof(err)) == EGW_OK);
	CHECK(parse_mutated(US, "remove_urls", DELETE, id, err, sizeof(err)) == EGW_OK);
	egw_request_free(stop);
	egw_request_free(ul);
	egw_request_free(us);
	egw_request_free(custom);
	egw_request_free(NULL);
}

/* null means absent; unknown fields are ignored at every level. */
static void test_lenient(void)
{
	static const char *const nullable[] = {
		"encoding", "storage", "limits", "webhook", "room.pin", "source.audio_only",
		"outputs.0.path", "webhook.secret", "limits.max_duration_s", "encoding.preset",
	};
	static const char *const unknown[] = {"future", "room.token", "source.x", "outputs.0.x",
					      "storage.x", "limits.x", "webhook.x", "encoding.x"};
	egw_request_t *req = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];

	for (size_t i = 0; i < sizeof(nullable) / sizeof(nullable[0]); i++) {
		egw_err_t rc = parse_mutated(P, nullable[i], "null", id, err, sizeof(err));
		CHECK(rc == EGW_OK);
		if (rc)
			fprintf(stderr, "  %s: null: %s\n", nullable[i], err);
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		egw_err_t rc = parse_mutated(P, unknown[i], "{\"any\": [1, \"x\"]}", id, err, sizeof(err));
		CHECK(rc == EGW_OK);
		if (rc)
			fprintf(stderr, "  %s: unknown field: %s\n", unknown[i], err);
	}
	CHECK(parse_mutated2(P, "storage", "null", "outputs.0.path", "null", &req, id, err,
			     sizeof(err)) == EGW_OK);
	CHECK(req && req->job->storage.kind == EGW_STORAGE_DEFAULT);
	CHECK(req && !strcmp(req->job->outputs[0].path, "{room_id}/{egress_id}.mkv"));
	egw_request_free(req);
}

static void test_egress_id_out(void)
{
	char id[EGW_EGRESS_ID_MAX + 1], err[512];

	CHECK(parse_mutated(P, "outputs.0.format", "\"avi\"", id, err, sizeof(err)) != EGW_OK);
	CHECK_STR(id, "EG_2f9c1a");
	CHECK(parse_mutated(STOP, "type", "\"nope\"", id, err, sizeof(err)) != EGW_OK);
	CHECK_STR(id, "EG_2f9c1a");
	CHECK(parse_mutated(P, "egress_id", "\"EG 1\"", id, err, sizeof(err)) != EGW_OK);
	CHECK_STR(id, "");
	strcpy(id, "stale");
	CHECK(egw_request_parse("{", 1, NULL, id, err, sizeof(err)) != EGW_OK);
	CHECK_STR(id, "");
	CHECK(parse_mutated(STOP, "egress_id", "\"EG-_09azAZ\"", id, err, sizeof(err)) == EGW_OK);
	CHECK_STR(id, "EG-_09azAZ");
	/* a tiny errstr is truncated, never overrun */
	CHECK(parse_mutated(P, "outputs.0.format", "\"avi\"", id, err, 8) != EGW_OK);
	CHECK(strlen(err) == 7);
	CHECK(parse_mutated(P, "outputs.0.format", "\"avi\"", id, NULL, 0) != EGW_OK);
}

/* Secrets in bad places: the message names the field, never the value. */
static void test_secrets(void)
{
	char long_secret[400], value[420], id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_request_t *req = NULL;
	static const char *const fields[] = {"room.pin", "webhook.secret", "webhook.url"};

	memset(long_secret, 'x', sizeof(long_secret) - 1);
	long_secret[sizeof(long_secret) - 1] = '\0';
	memcpy(long_secret + 100, SECRET_MARK, strlen(SECRET_MARK));
	snprintf(value, sizeof(value), "\"%s\"", long_secret);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		CHECK(parse_mutated(P, fields[i], value, id, err, sizeof(err)) == EGW_ERR_INVALID_REQUEST);
		CHECK(strstr(err, fields[i]) == err);
		CHECK(strstr(err, SECRET_MARK) == NULL);
	}
	CHECK(parse_mutated(TC, "storage.session_token", "[\"s3cr3t\"]", id, err, sizeof(err)) != EGW_OK);
	CHECK(strstr(err, "storage.session_token: must be a string") && !strstr(err, SECRET_MARK));
	/* a valid job full of secrets that this build cannot run */
	CHECK(parse_mutated2(TC, "source", "{\"kind\": \"participant\", \"participant\": \"s3cr3t\"}",
			     NULL, NULL, &req, id, err, sizeof(err)) == EGW_OK);
	CHECK(req && egw_job_check_supported(req->job, err, sizeof(err)) == EGW_ERR_NOT_SUPPORTED);
	CHECK_STR(err, "outputs[0].kind: stream is not supported yet");
	egw_request_free(req);
}

static void expand_case(int line, const egw_job_t *job, const char *tmpl, const char *want,
			const char *want_err)
{
	char out[256], err[256];
	egw_err_t rc = egw_job_expand_path(job, tmpl, T_2026, out, sizeof(out), err, sizeof(err));

	CHECK(want ? rc == EGW_OK : rc == EGW_ERR_INVALID_REQUEST);
	if (want && (rc != EGW_OK || strcmp(out, want)))
		fprintf(stderr, "  line %d: got \"%s\" (%s), want \"%s\"\n", line,
			rc ? "" : out, rc ? err : "ok", want);
	if (want)
		CHECK(rc == EGW_OK && !strcmp(out, want));
	if (want_err) {
		CHECK(strstr(err, want_err) != NULL && out[0] == '\0');
		if (!strstr(err, want_err))
			fprintf(stderr, "  line %d: got \"%s\", want \"%s\"\n", line, err, want_err);
	}
}

#define EXPAND_OK(job, tmpl, want) expand_case(__LINE__, (job), (tmpl), (want), NULL)
#define EXPAND_BAD(job, tmpl, want_err) expand_case(__LINE__, (job), (tmpl), NULL, (want_err))

static void set_str(char **member, const char *value)
{
	free(*member);
	*member = value ? strdup(value) : NULL;
}

static void test_expand_escapes(egw_job_t *job)
{
	char long_name[300];

	EXPAND_BAD(job, "/abs/{egress_id}.mkv", "path: must be a relative path (no leading /)");
	EXPAND_BAD(job, "../{egress_id}.mkv", "path: must not contain . or .. segments");
	EXPAND_BAD(job, "a/../../x.mkv", "path: must not contain . or .. segments");
	EXPAND_BAD(job, "./x.mkv", "path: must not contain . or .. segments");
	EXPAND_BAD(job, "{egress_id}/..", "path: must not contain . or .. segments");
	EXPAND_BAD(job, "", "path: expands to an empty path");
	EXPAND_BAD(job, "a//b.mkv", "path: must not contain empty segments");
	EXPAND_BAD(job, "a/", "path: must not contain empty segments");
	EXPAND_BAD(job, "{bogus}.mkv", "path: unknown placeholder");
	EXPAND_BAD(job, "{}.mkv", "path: unknown placeholder");
	EXPAND_BAD(job, "{ROOM_ID}.mkv", "path: unknown placeholder");
	EXPAND_BAD(job, "{room_id.mkv", "path: has a { without }");
	EXPAND_BAD(job, "room_id}.mkv", "path: has a } without {");
	EXPAND_BAD(job, "a\\b.mkv", "path: must not contain control characters or backslashes");
	EXPAND_BAD(job, "a\nb.mkv", "path: must not contain control characters");
	/* values from the request are made safe, whatever they contain */
	set_str(&job->source.participant, "../../etc/passwd");
	EXPAND_OK(job, "{participant}.mkv", "_._.._etc_passwd.mkv");
	set_str(&job->source.participant, "..");
	EXPAND_OK(job, "x/{participant}", "x/_.");
	set_str(&job->source.participant, ".");
	EXPAND_OK(job, "{participant}", "_");
	set_str(&job->source.participant, "/");
	EXPAND_OK(job, "{participant}", "_");
	set_str(&job->source.participant, "Zo\xc3\xab \xc3\x9c\\x");
	EXPAND_OK(job, "{participant}", "Zo____x");
	set_str(&job->source.participant, "");
	EXPAND_BAD(job, "{participant}", "path: expands to an empty path");
	EXPAND_BAD(job, "x/{participant}/y", "path: must not contain empty segments");
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	set_str(&job->source.participant, long_name);
	EXPAND_OK(job, "{participant}",
		  "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		  "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	set_str(&job->room.room_id, "../up");
	EXPAND_OK(job, "{room_id}/x", "_._up/x");
	set_str(&job->room.room_id, "1234");
	set_str(&job->source.participant, "alice");
}

static void test_expand(void)
{
	egw_request_t *req = parse_ok(P), *req_tid = parse_ok(TI), *req_rc = parse_ok(RC);
	egw_job_t *job = req ? req->job : NULL;
	char out[17], err[128];

	CHECK(job && req_tid && req_rc);
	if (!job || !req_tid || !req_rc)
		return;
	EXPAND_OK(job, "{room_id}/{egress_id}.mkv", "1234/EG_2f9c1a.mkv");
	EXPAND_OK(job, "{participant}-{time}.mkv", "alice-20261125T201500Z.mkv");
	EXPAND_OK(job, "rec/{room_id}/{participant}/{egress_id}_{time}.webm",
		  "rec/1234/alice/EG_2f9c1a_20261125T201500Z.webm");
	EXPAND_OK(job, "plain.mkv", "plain.mkv");
	EXPAND_OK(job, ".hidden/a..b/c.", ".hidden/a..b/c.");
	EXPAND_OK(req_tid->job, "{participant}/{room_id}.webm", "8812345/42.webm");
	EXPAND_BAD(req_rc->job, "{participant}.mp4",
		   "path: {participant} needs a track or participant source");
	test_expand_escapes(job);
	CHECK(egw_job_expand_path(job, "{time}", 0, out, sizeof(out), err, sizeof(err)) == EGW_OK);
	CHECK_STR(out, "19700101T000000Z"); /* exactly fits */
	CHECK(egw_job_expand_path(job, "{egress_id}/{egress_id}", 0, out, sizeof(out), err,
				  sizeof(err)) == EGW_ERR_INVALID_REQUEST);
	CHECK_STR(err, "path: expands to more than 16 bytes");
	CHECK_STR(out, "");
	CHECK(egw_job_expand_path(NULL, "x", 0, out, sizeof(out), err, sizeof(err)) != EGW_OK);
	CHECK(egw_job_expand_path(job, NULL, 0, out, sizeof(out), err, sizeof(err)) != EGW_OK);
	egw_request_free(req);
	egw_request_free(req_tid);
	egw_request_free(req_rc);
}

static const struct support_case {
	int line;
	const char *base, *path1, *value1, *path2, *value2;
	egw_err_t rc;
	const char *want;
} support_cases[] = {
#define S(base, p1, v1, p2, v2, rc, want) {__LINE__, base, p1, v1, p2, v2, rc, want}
	S(MIN, NULL, NULL, NULL, NULL, EGW_OK, ""),
	S(P, NULL, NULL, NULL, NULL, EGW_OK, ""), /* webhook accepted, not delivered yet */
	S(P, "webhook", "null", NULL, NULL, EGW_OK, ""),
	S(MIN, "outputs.0.format", "\"webm\"", NULL, NULL, EGW_OK, ""),
	S(MIN, "outputs.0.format", "\"mp4\"", "storage", "null", EGW_OK, ""),
	S(MIN, "outputs.0.format", "\"ogg\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
	  "outputs[0].format: ogg is not supported yet for participant sources (use mkv, webm or mp4)"),
	S(T, NULL, NULL, NULL, NULL, EGW_OK, ""),
	S(T, "outputs.0.format", "\"webm\"", NULL, NULL, EGW_OK, ""),
	S(T, "outputs.0.format", "\"mkv\"", NULL, NULL, EGW_OK, ""),
	S(T, "outputs.0.format", "\"mp4\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
	  "outputs[0].format: mp4 is not supported yet for audio tracks (use ogg, webm or mkv)"),
	S(T, "source.media", "\"video\"", "outputs.0.format", "\"mp4\"", EGW_OK, ""),
	S(T, "source.media", "\"video\"", "outputs.0.format", "\"webm\"", EGW_OK, ""),
	S(T, "source.media", "\"video\"", "outputs.0.format", "\"mkv\"", EGW_OK, ""),
	S(T, "source.media", "\"video\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
	  "outputs[0].format: ogg is not supported yet for video tracks (use webm, mkv or mp4)"),
	S(TI, NULL, NULL, NULL, NULL, EGW_ERR_NOT_SUPPORTED,
	  "source.track_id: is not supported yet (use source.participant and source.media)"),
	S(TC, NULL, NULL, NULL, NULL, EGW_ERR_NOT_SUPPORTED,
	  "source.kind: track_composite is not supported yet"),
	S(RC, NULL, NULL, NULL, NULL, EGW_ERR_NOT_SUPPORTED, "room.sfu: whep is not supported yet"),
	S(RC, "room.sfu", "\"janus\"", NULL, NULL, EGW_ERR_NOT_SUPPORTED,
	  "source.kind: room_composite is not supported yet"),
	S(R, NULL, NULL, NULL, NULL, EGW_ERR_NOT_SUPPORTED, "room.sfu: rtp is not supported yet"),
	S(R, "room", "{\"sfu\": \"janus\", \"url\": \"http://h/janus\", \"room_id\": 1}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "source.kind: render is not supported yet"),
	S(MIN, "outputs.0", "{\"kind\": \"stream\", \"urls\": [\"rtmp://h/app/s3cr3t\"]}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "outputs[0].kind: stream is not supported yet"),
	S(MIN, "outputs.1", "{\"kind\": \"segments\", \"prefix\": \"hls/{egress_id}\"}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "outputs[1].kind: segments is not supported yet"),
	S(MIN, "outputs.1", "{\"kind\": \"images\", \"prefix\": \"img/{egress_id}\"}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "outputs[1].kind: images is not supported yet"),
	S(MIN, "storage", "{\"kind\": \"s3\", \"bucket\": \"b\", \"access_key\": \"AK\", \"secret_key\": \"s3cr3t\"}",
	  NULL, NULL, EGW_ERR_NOT_SUPPORTED, "storage.kind: s3 is not supported yet"),
	S(MIN, "storage", "{\"kind\": \"azure\", \"account\": \"a\", \"container\": \"c\"}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "storage.kind: azure is not supported yet"),
	S(MIN, "storage", "{\"kind\": \"local\"}", NULL, NULL, EGW_OK, ""),
	S(MIN, "outputs.1", "{\"kind\": \"file\", \"format\": \"webm\"}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "outputs[1]: more than one output is not supported yet"),
	S(MIN, "outputs.1", "{\"kind\": \"file\", \"format\": \"ogg\"}", NULL, NULL,
	  EGW_ERR_NOT_SUPPORTED, "outputs[1].format: ogg is not supported yet for participant sources"
	  " (use mkv, webm or mp4)"),
#undef S
};

static void test_supported(void)
{
	char id[EGW_EGRESS_ID_MAX + 1], err[512];

	for (size_t i = 0; i < sizeof(support_cases) / sizeof(support_cases[0]); i++) {
		const struct support_case *c = &support_cases[i];
		egw_request_t *req = NULL;
		egw_err_t rc = parse_mutated2(c->base, c->path1, c->value1, c->path2, c->value2, &req,
					      id, err, sizeof(err));

		CHECK(rc == EGW_OK);
		if (rc) {
			fprintf(stderr, "  line %d: parse: %s\n", c->line, err);
			continue;
		}
		rc = egw_job_check_supported(req->job, err, sizeof(err));
		CHECK(rc == c->rc && !strcmp(err, c->want));
		if (rc != c->rc || strcmp(err, c->want))
			fprintf(stderr, "  line %d: rc %d \"%s\", want rc %d \"%s\"\n", c->line, rc, err,
				c->rc, c->want);
		egw_request_free(req);
	}
	CHECK(egw_job_check_supported(NULL, err, sizeof(err)) != EGW_OK);
}

static void test_names(void)
{
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_TRACK), "track");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_PARTICIPANT), "participant");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_TRACK_COMPOSITE), "track_composite");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_ROOM_COMPOSITE), "room_composite");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_RENDER), "render");
	CHECK_STR(egw_source_kind2str((egw_source_kind_t)99), "unknown");
	CHECK_STR(egw_file_format2str(EGW_FORMAT_MP4), "mp4");
	CHECK_STR(egw_file_format2str(EGW_FORMAT_MKV), "mkv");
	CHECK_STR(egw_file_format2str(EGW_FORMAT_WEBM), "webm");
	CHECK_STR(egw_file_format2str(EGW_FORMAT_OGG), "ogg");
	CHECK_STR(egw_file_format2str(EGW_FORMAT_NONE), "unknown");
	CHECK_STR(egw_output_kind2str(EGW_OUTPUT_FILE), "file");
	CHECK_STR(egw_output_kind2str(EGW_OUTPUT_STREAM), "stream");
	CHECK_STR(egw_output_kind2str(EGW_OUTPUT_SEGMENTS), "segments");
	CHECK_STR(egw_output_kind2str(EGW_OUTPUT_IMAGES), "images");
	CHECK_STR(egw_output_kind2str((egw_output_kind_t)-1), "unknown");
}

int main(void)
{
	test_participant();
	test_tracks();
	test_track_composite();
	test_composites();
	test_control();
	test_lenient();
	test_bad_requests();
	test_bad_text();
	test_egress_id_out();
	test_secrets();
	test_expand();
	test_supported();
	test_names();
	printf("%d bad requests rejected with the expected message\n", bad_cases);
	CHECK(bad_cases >= 30);
	return CHECK_DONE();
}
