/* Redacted copies of requests (dead-letter topic): no secret survives. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "contract/redact.h"
#include "tests/unit/check.h"

/* Every secret below contains "SEKRIT" so one search finds any leak. */
static const char *full_of_secrets =
        "{\"type\":\"start\",\"egress_id\":\"EG_sec\","
        "\"room\":{\"sfu\":\"janus\",\"url\":\"http://u:SEKRIT1@127.0.0.1:8088/janus\","
        "\"room_id\":1234,\"pin\":\"SEKRIT2\"},"
        "\"source\":{\"kind\":\"participant\",\"participant\":\"alice\"},"
        "\"encoding\":{\"keyframe_interval_s\":2},"
        "\"outputs\":[{\"kind\":\"file\",\"format\":\"avi\",\"path\":\"{egress_id}.mkv\"},"
        "{\"kind\":\"stream\",\"urls\":[\"rtmp://live.example.test/app/SEKRIT3\","
        "\"srt://10.0.0.1:9000?streamid=SEKRIT4\",\"SEKRIT5-not-a-url\"]},"
        "{\"kind\":\"websocket\",\"url\":\"wss://asr.example.test/SEKRIT17\","
        "\"headers\":{\"X-Project\":\"SEKRIT18\"}}],"
        "\"storage\":{\"kind\":\"s3\",\"bucket\":\"b\",\"access_key\":\"SEKRIT6\","
        "\"secret_key\":\"SEKRIT7\",\"session_token\":\"SEKRIT8\"},"
        "\"webhook\":{\"url\":\"https://hooks.example.test/h/SEKRIT9\",\"secret\":\"SEKRIT10\"},"
        "\"extra\":{\"api_token\":\"SEKRIT11\",\"Password\":[\"SEKRIT12\"],\"pin\":4321,"
        "\"note\":\"see rtmp://x.test/app/SEKRIT13 now\",\"rtmp://h/a/SEKRIT14\":1},"
        "\"gcs\":{\"credentials_json\":{\"private_key\":\"SEKRIT15\"}},"
        "\"azure\":{\"account_key\":\"SEKRIT16\"},"
        "\"rtp\":{\"sdp\":\"v=0\\r\\ns=x\\r\\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
        "inline:SEKRIT19|2^31\\r\\na=crypto:2 AEAD_AES_128_GCM inline:S\\r\\n\","
        "\"sdps\":[\"a=crypto:1 X inline:SEKRIT20\","
        "\"see rtmp://h/app/SEKRIT21 and a=crypto:1 X inline:SEKRIT22\"]}}";

static json_t *redact_json(const char *text, char **out)
{
	size_t n = 0;
	json_error_t jerr;
	*out = egw_request_redact(text, strlen(text), &n);
	CHECK(*out && strlen(*out) == n);
	return *out ? json_loads(*out, 0, &jerr) : NULL;
}

static void test_secrets(void)
{
	char *out;
	json_t *j = redact_json(full_of_secrets, &out);
	CHECK(j != NULL);
	CHECK(out && !strstr(out, "SEKRIT"));
	if (out && strstr(out, "SEKRIT"))
		fprintf(stderr, "leak: %s\n", out);
	/* What is not secret stays, so operators can see what was sent. */
	CHECK_STR(json_string_value(json_object_get(j, "egress_id")), "EG_sec");
	CHECK_STR(json_string_value(json_object_get(j, "type")), "start");
	json_t *room = json_object_get(j, "room");
	CHECK(json_integer_value(json_object_get(room, "room_id")) == 1234);
	CHECK_STR(json_string_value(json_object_get(room, "pin")), "***");
	/* SDES keys masked, the rest of the SDP kept */
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "rtp"), "sdp")),
	          "v=0\r\ns=x\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:***|2^31\r\n"
	          "a=crypto:2 AEAD_AES_128_GCM inline:***\r\n");
	CHECK_STR(json_string_value(json_object_get(room, "url")),
	          "http://***@127.0.0.1:8088/janus");
	json_t *outs = json_object_get(j, "outputs");
	CHECK_STR(json_string_value(json_object_get(json_array_get(outs, 0), "format")), "avi");
	CHECK_STR(json_string_value(json_object_get(json_array_get(outs, 0), "path")),
	          "{egress_id}.mkv");
	json_t *urls = json_object_get(json_array_get(outs, 1), "urls");
	CHECK(json_array_size(urls) == 3);
	CHECK_STR(json_string_value(json_array_get(urls, 0)), "rtmp://live.example.test/***");
	CHECK_STR(json_string_value(json_array_get(urls, 1)), "srt://10.0.0.1:9000/***");
	CHECK_STR(json_string_value(json_array_get(urls, 2)), "***");
	/* a websocket's URL: even its first path segment may be a token */
	CHECK_STR(json_string_value(json_object_get(json_array_get(outs, 2), "url")),
	          "wss://asr.example.test/***");
	CHECK_STR(json_string_value(json_object_get(
	                  json_object_get(json_array_get(outs, 2), "headers"), "X-Project")),
	          "***");
	CHECK(json_integer_value(
	              json_object_get(json_object_get(j, "encoding"), "keyframe_interval_s")) == 2);
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "storage"), "bucket")), "b");
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "extra"), "pin")), "***");
	json_decref(j);
	free(out);
}

static void test_control(void)
{
	char *out;
	json_t *j = redact_json("{\"type\":\"update_stream\",\"egress_id\":\"EG_1\","
	                        "\"add_urls\":[\"rtmps://a.test/live/SEKRIT_A\"],"
	                        "\"remove_urls\":[\"rtmp://user:SEKRIT_B@b.test/SEKRIT_C\"],"
	                        "\"layout\":null}",
	                        &out);
	CHECK(out && !strstr(out, "SEKRIT"));
	CHECK_STR(json_string_value(json_array_get(json_object_get(j, "add_urls"), 0)),
	          "rtmps://a.test/***");
	CHECK_STR(json_string_value(json_array_get(json_object_get(j, "remove_urls"), 0)),
	          "rtmp://***@b.test/***");
	CHECK(json_is_null(json_object_get(j, "layout")));
	json_decref(j);
	free(out);
}

static void test_unparsable(void)
{
	const char *bad[] = {
	        "{\"pin\":\"SEKRIT\", truncated",
	        "not json at all SEKRIT",
	        "{\"pin\":\"SEKRIT\xff\"}", /* not UTF-8 */
	        "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out;
		json_t *j = redact_json(bad[i], &out);
		CHECK(out && !strstr(out, "SEKRIT"));
		CHECK_STR(json_string_value(json_object_get(j, "redacted")), "not valid JSON");
		CHECK(json_integer_value(json_object_get(j, "size")) == (json_int_t)strlen(bad[i]));
		CHECK(strlen(json_string_value(json_object_get(j, "fnv1a64"))) == 16);
		json_decref(j);
		free(out);
	}
	/* The same text gives the same hash; another text another one. */
	size_t n;
	char *a = egw_request_redact("x{", 2, &n), *b = egw_request_redact("x{", 2, &n),
	     *c = egw_request_redact("y{", 2, &n);
	CHECK(a && b && c && !strcmp(a, b) && strcmp(a, c));
	free(a);
	free(b);
	free(c);
}

static void test_too_large(void)
{
	size_t len = 300000, n = 0;
	char *big = malloc(len + 1);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, ' ', len);
	memcpy(big, "{\"pin\":\"SEKRIT\"", 15);
	big[len - 1] = '}';
	big[len] = '\0';
	char *out = egw_request_redact(big, len, &n);
	CHECK(out && n < 200 && !strstr(out, "SEKRIT"));
	CHECK(out && strstr(out, "\"redacted\":\"request too large\"") &&
	      strstr(out, "\"size\":300000"));
	free(out);
	free(big);
	/* Not NUL-terminated input is read only up to len. */
	out = egw_request_redact("{\"a\":1}GARBAGE", 7, &n);
	CHECK_STR(out, "{\"a\":1}");
	free(out);
}

int main(void)
{
	test_secrets();
	test_control();
	test_unparsable();
	test_too_large();
	return CHECK_DONE();
}
