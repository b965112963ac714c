/* Unit tests of worker/job.h: request parsing and validation, and secrets
 * kept out of messages (path templates and support: test_job_paths.c).
 * Runs in tests/unit (sample requests in data/). */
#include "tests/unit/job_test_util.h"

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
	TEXT("{\"type\":\"stop\",\"egress_id\":\"EG_1\",\"n\":1e999}",
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

/* room.sfu rtp: room.sdp or room.sdps, checked by the SDP parser, ports and
 * participants distinct across them; never for another SFU. */
#define SDP_A "\"v=0\\r\\ns=alice\\r\\nc=IN IP4 127.0.0.1\\r\\nm=audio 5000 RTP/AVP 0\\r\\n\""
#define SDP_B                                                                                      \
	"\"v=0\\r\\ns=bob\\r\\nc=IN IP4 127.0.0.1\\r\\nm=audio 5002 RTP/SAVP 0\\r\\n"              \
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:s3cr3tMDEy\""

#define SDP_C                                                                                      \
	"\"v=0\\r\\ns=carol\\r\\nc=IN IP4 127.0.0.1\\r\\nm=video 5001 RTP/AVP 96\\r\\n"            \
	"a=rtpmap:96 VP8/90000\\r\\n\""

static void test_rtp_room(void)
{
	char id[80], err[512];
	egw_request_t *req = NULL;
	egw_err_t rc;

	rc = parse_mutated2(P, "room", "{\"sfu\":\"rtp\",\"room_id\":\"f\",\"sdp\":" SDP_A "}",
	                    NULL, NULL, &req, id, err, sizeof(err));
	CHECK(rc == EGW_OK && req && req->job->room.n_sdps == 1);
	if (req)
		CHECK(strstr(req->job->room.sdps[0], "s=alice") != NULL);
	egw_request_free(req);
	req = NULL;
#define RTP_BAD(room, want)                                                                        \
	expect_error(__LINE__, parse_mutated(P, "room", room, id, err, sizeof(err)), err, want)
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1}", "room.sdp: is required for sfu rtp");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdp\":" SDP_A ",\"sdps\":[" SDP_A "]}",
	        "room.sdp: give room.sdp or room.sdps, not both");
	RTP_BAD("{\"sfu\":\"janus\",\"url\":\"http://h/janus\",\"room_id\":1,\"sdp\":" SDP_A "}",
	        "room.sdp: is for sfu rtp only");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdp\":\"v=0\\r\\ns=x\\r\\n\"}",
	        "room.sdp: no m= line with a port");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdps\":[" SDP_A "," SDP_B "]}",
	        "room.sdps[1]: line 5: a=crypto: the AES_CM_128_HMAC_SHA1_80 key must be 30 bytes");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdps\":[" SDP_A "," SDP_A "]}",
	        "room.sdps[1]: names the same participant (s=) as an SDP before it");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdps\":[" SDP_A "," SDP_C "]}",
	        "room.sdps[1]: uses a port of an SDP before it");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdps\":[]}", "room.sdps");
	RTP_BAD("{\"sfu\":\"rtp\",\"room_id\":1,\"sdps\":[5]}",
	        "room.sdps[0]: must be an SDP text");
#undef RTP_BAD
}

/* room.sfu whep: room.url (+ token) or room.endpoints, never both. */
static void test_whep_room(void)
{
	char id[80], err[512];
	egw_request_t *req = NULL;
	egw_err_t rc =
	        parse_mutated2(RC, "room",
	                       "{\"sfu\":\"whep\",\"room_id\":1,\"endpoints\":["
	                       "{\"url\":\"http://h/whep/endpoint/alice\",\"token\":\"s3cr3t\"},"
	                       "{\"url\":\"https://h/e/2\",\"participant\":\"bob\"}]}",
	                       NULL, NULL, &req, id, err, sizeof(err));
	CHECK(rc == EGW_OK && req && req->job->room.n_endpoints == 2);
	if (req && req->job->room.n_endpoints == 2) {
		CHECK_STR(req->job->room.endpoints[0].token, "s3cr3t");
		CHECK(req->job->room.endpoints[0].participant == NULL);
		CHECK_STR(req->job->room.endpoints[1].participant, "bob");
	}
	egw_request_free(req);
	req = NULL;
	rc = parse_mutated2(RC, "room",
	                    "{\"sfu\":\"whep\",\"room_id\":1,\"url\":\"http://h/e/a\","
	                    "\"token\":\"s3cr3t\"}",
	                    NULL, NULL, &req, id, err, sizeof(err));
	CHECK(rc == EGW_OK && req && req->job->room.n_endpoints == 1);
	if (req && req->job->room.n_endpoints == 1)
		CHECK_STR(req->job->room.endpoints[0].token, "s3cr3t");
	egw_request_free(req);
#define WHEP_BAD(room, want)                                                                       \
	expect_error(__LINE__, parse_mutated(RC, "room", room, id, err, sizeof(err)), err, want)
	WHEP_BAD("{\"sfu\":\"whep\",\"room_id\":1}", "room.url: is required (the WHEP endpoint");
	WHEP_BAD("{\"sfu\":\"whep\",\"room_id\":1,\"url\":\"http://h/e\",\"endpoints\":[{\"url\":"
	         "\"http://h/e\"}]}",
	         "room.url: give room.url or room.endpoints, not both");
	WHEP_BAD("{\"sfu\":\"whep\",\"room_id\":1,\"endpoints\":[{\"url\":\"ftp://h/e\"}]}",
	         "room.endpoints[0].url: must be an http:// or https:// URL");
	WHEP_BAD("{\"sfu\":\"whep\",\"room_id\":1,\"endpoints\":[{\"url\":\"http://h/a\","
	         "\"participant\":\"x\"},{\"url\":\"http://h/b\",\"participant\":\"x\"}]}",
	         "room.endpoints[1].participant: names the same participant");
	WHEP_BAD("{\"sfu\":\"whep\",\"room_id\":1,\"endpoints\":[{\"token\":\"s3cr3t\"}]}",
	         "room.endpoints[0].url: is required");
	WHEP_BAD("{\"sfu\":\"whep\",\"room_id\":1,\"endpoints\":[{\"url\":\"http://h/a\"}],"
	         "\"token\":\"s3cr3t\"}",
	         "room.token: goes with room.url");
	WHEP_BAD("{\"sfu\":\"janus\",\"room_id\":1,\"url\":\"http://h/j\",\"token\":\"s3cr3t\"}",
	         "room.token: is for sfu whep only");
#undef WHEP_BAD
}

static void test_websocket(void)
{
	egw_request_t *req = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_err_t rc = parse_mutated2(P, "outputs.1",
	                              "{\"kind\": \"websocket\", \"url\": \"wss://asr.example.test/"
	                              "v1?token=s3cr3t\", \"sample_rate\": 16000}",
	                              "outputs.2", "{\"kind\": \"websocket\", \"url\": \"ws://a/\", "
	                              "\"channels\": 2, \"reconnect_window_s\": 5, \"headers\": "
	                              "{\"Authorization\": \"Bearer s3cr3t\", \"X-Model\": \"nova\"}}",
	                              &req, id, err, sizeof(err));

	CHECK(rc == EGW_OK && req && req->job->n_outputs == 3);
	if (rc || !req)
		return;
	CHECK(req->job->outputs[1].kind == EGW_OUTPUT_WEBSOCKET);
	CHECK_STR(req->job->outputs[1].url, "wss://asr.example.test/v1?token=s3cr3t");
	CHECK(req->job->outputs[1].sample_rate == 16000 && req->job->outputs[1].channels == 1);
	CHECK(req->job->outputs[1].reconnect_window_s == 30);
	CHECK(req->job->outputs[2].sample_rate == 48000 && req->job->outputs[2].channels == 2);
	CHECK(req->job->outputs[2].reconnect_window_s == 5);
	CHECK(req->job->outputs[2].n_headers == 2 && req->job->outputs[1].n_headers == 0);
	if (req->job->outputs[2].n_headers == 2) {
		CHECK_STR(req->job->outputs[2].headers[0], "Authorization: Bearer s3cr3t");
		CHECK_STR(req->job->outputs[2].headers[1], "X-Model: nova");
	}
	egw_request_free(req);
}

static void test_control(void)
{
	egw_request_t *stop = parse_ok(STOP), *ul = parse_ok(UL), *us = parse_ok(US), *custom = NULL;
	char id[EGW_EGRESS_ID_MAX + 1], err[512];

	CHECK(stop && stop->type == EGW_REQ_STOP && !stop->job);
	CHECK(stop && !strcmp(stop->egress_id, "EG_2f9c1a"));
	CHECK(stop && stop->reason == NULL);
	{ /* a stop may say why; the final event carries it */
		egw_request_t *why = NULL;
		CHECK(parse_mutated2(STOP, "reason", "\"meeting ended\"", NULL, NULL, &why, id, err,
		                     sizeof(err)) == EGW_OK);
		CHECK(why && why->reason && !strcmp(why->reason, "meeting ended"));
		egw_request_free(why);
		CHECK(parse_mutated(STOP, "reason", "\"\"", id, err, sizeof(err)) ==
		      EGW_ERR_INVALID_REQUEST);
		CHECK(parse_mutated(STOP, "reason", "7", id, err, sizeof(err)) ==
		      EGW_ERR_INVALID_REQUEST);
	}
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
	static const char *const unknown[] = {"future",    "room.x",   "source.x",  "outputs.0.x",
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

/* Integers beyond 64 bits (jansson: "numeric overflow", no field): the
 * message names the field by its own rule, the egress id is kept, and the
 * number itself is never echoed. */
static void test_big_numbers(void)
{
	static const struct {
		const char *base, *from, *to, *want;
	} cases[] = {
		{P, "14400", "99999999999999999999999",
		 "limits.max_duration_s: must be an integer between 1 and 604800"},
		{P, "14400", "-99999999999999999999999",
		 "limits.max_duration_s: must be an integer between 1 and 604800"},
		{P, "300", "18446744073709551616",
		 "limits.empty_room_timeout_s: must be an integer between 1 and 86400"},
		{P, "\"pin\": null", "\"pin\": 99999999999999999999999", "room.pin: must be a string"},
		{P, "\"room_id\": 1234", "\"room_id\": 99999999999999999999999",
		 "room.room_id: number out of range"},
		{P, "\"path\"", "\"x\": [1, 99999999999999999999999], \"path\"",
		 "outputs[0].x[1]: number out of range"},
		{P, "\"type\"", "\"future\": {\"n\": 99999999999999999999999}, \"type\"",
		 "future.n: number out of range"},
		{STOP, "\"type\"", "\"n\": 123456789012345678901234567890, \"type\"",
		 "n: number out of range"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = 0;
		char *text = read_text(cases[i].base, &len), *at, *mutated, id[EGW_EGRESS_ID_MAX + 1];
		char err[512];
		egw_request_t *req = NULL;
		egw_err_t rc;

		at = text ? strstr(text, cases[i].from) : NULL;
		if (!at) {
			fprintf(stderr, "bad test case %zu\n", i);
			exit(2);
		}
		mutated = malloc(len + strlen(cases[i].to) + 1);
		sprintf(mutated, "%.*s%s%s", (int)(at - text), text, cases[i].to,
			at + strlen(cases[i].from));
		rc = egw_request_parse(mutated, strlen(mutated), &req, id, err, sizeof(err));
		CHECK(req == NULL);
		expect_error((int)i, rc, err, cases[i].want);
		CHECK_STR(id, "EG_2f9c1a");
		CHECK(strstr(err, "99999") == NULL && strstr(err, "1234567890") == NULL &&
		      strstr(err, "18446744") == NULL);
		free(mutated);
		free(text);
	}
}

/* Secrets in bad places: the message names the field, never the value. */
static void test_secrets(void)
{
	char long_secret[400], value[420], id[EGW_EGRESS_ID_MAX + 1], err[512];
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
	snprintf(value, sizeof(value), "{\"kind\": \"websocket\", \"url\": \"http://%s\"}",
	         SECRET_MARK);
	CHECK(parse_mutated(P, "outputs.0", value, id, err, sizeof(err)) == EGW_ERR_INVALID_REQUEST);
	CHECK(strstr(err, "outputs[0].url: ") == err && !strstr(err, SECRET_MARK));
	CHECK(parse_mutated(TC, "storage.session_token", "[\"s3cr3t\"]", id, err, sizeof(err)) != EGW_OK);
	CHECK(strstr(err, "storage.session_token: must be a string") && !strstr(err, SECRET_MARK));
}

int main(void)
{
	test_participant();
	test_tracks();
	test_track_composite();
	test_composites();
	test_control();
	test_websocket();
	test_rtp_room();
	test_whep_room();
	test_lenient();
	test_bad_requests();
	test_bad_text();
	test_egress_id_out();
	test_big_numbers();
	test_secrets();
	printf("%d bad requests rejected with the expected message\n", bad_cases);
	CHECK(bad_cases >= 30);
	return CHECK_DONE();
}
