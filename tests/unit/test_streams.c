/* Janus "attached" streams list -> the tracks a job records. */
#include <jansson.h>
#include <string.h>

#include "sfu/janus_streams.h"
#include "tests/unit/check.h"

/* A browser-like publisher seen through Janus: audio, simulcast VP8 video
 * (one layer forwarded), a data channel, and an inactive stream. */
static const char *streams_json =
	"[{\"type\":\"audio\",\"active\":true,\"mindex\":0,\"mid\":\"0\",\"ready\":false,"
	"\"send\":true,\"feed_id\":42,\"feed_display\":\"alice\",\"feed_mid\":\"0\",\"codec\":\"opus\"},"
	"{\"type\":\"video\",\"active\":true,\"mindex\":1,\"mid\":\"1\",\"feed_id\":42,"
	"\"feed_mid\":\"1\",\"codec\":\"vp8\",\"simulcast\":[{\"rid\":\"h\"},{\"rid\":\"l\"}]},"
	"{\"type\":\"data\",\"active\":true,\"mindex\":2,\"mid\":\"2\"},"
	"{\"type\":\"video\",\"active\":false,\"mindex\":3,\"mid\":\"3\",\"feed_mid\":\"2\",\"codec\":\"h264\"},"
	"{\"type\":\"audio\",\"mid\":4},"
	"\"junk\"]";

static egw_job_t *job_of(const char *source, egw_request_t **req)
{
	char text[1024], err[256], id[80];
	snprintf(text, sizeof(text),
		 "{\"type\":\"start\",\"egress_id\":\"EG_t\",\"room\":{\"sfu\":\"janus\","
		 "\"url\":\"http://127.0.0.1:8088/janus\",\"room_id\":1234},\"source\":%s,"
		 "\"outputs\":[{\"kind\":\"file\",\"format\":\"mkv\",\"path\":\"a.mkv\"}]}",
		 source);
	if (egw_request_parse(text, strlen(text), req, id, err, sizeof(err))) {
		fprintf(stderr, "job did not parse: %s\n", err);
		return NULL;
	}
	return (*req)->job;
}

static size_t wanted_count(const char *source, egw_media_t *first_media, char *first_codec)
{
	egw_request_t *req = NULL;
	egw_job_t *job = job_of(source, &req);
	json_t *streams = json_loads(streams_json, 0, NULL);
	struct janus_track t[8];
	size_t n = 0, w = 0;
	if (job && streams)
		n = egw_janus_streams_map(streams, job, t, 8);
	CHECK(n == 3); /* audio, video, inactive video; data, non-text mid and junk skipped */
	for (size_t i = 0; i < n; i++) {
		if (!t[i].wanted)
			continue;
		if (w++ == 0) {
			*first_media = t[i].media;
			strcpy(first_codec, t[i].codec);
		}
	}
	egw_janus_tracks_clear(t, n);
	json_decref(streams);
	egw_request_free(req);
	return w;
}

int main(void)
{
	egw_media_t m = EGW_MEDIA_NONE;
	char codec[16] = "";

	CHECK(wanted_count("{\"kind\":\"participant\",\"participant\":\"alice\"}", &m, codec) == 2);
	CHECK(m == EGW_MEDIA_AUDIO);
	CHECK_STR(codec, "opus");
	CHECK(wanted_count("{\"kind\":\"participant\",\"participant\":\"alice\",\"video_only\":true}",
			   &m, codec) == 1);
	CHECK(m == EGW_MEDIA_VIDEO);
	CHECK_STR(codec, "vp8");
	CHECK(wanted_count("{\"kind\":\"track\",\"participant\":\"alice\",\"media\":\"audio\"}", &m,
			   codec) == 1);
	CHECK(m == EGW_MEDIA_AUDIO);
	CHECK(wanted_count("{\"kind\":\"participant\",\"participant\":\"alice\",\"audio_only\":true}",
			   &m, codec) == 1);
	CHECK(m == EGW_MEDIA_AUDIO);

	/* The pub/sub mid mapping is kept. */
	egw_request_t *req = NULL;
	egw_job_t *job = job_of("{\"kind\":\"participant\",\"participant\":\"alice\"}", &req);
	json_t *streams = json_loads(streams_json, 0, NULL);
	struct janus_track t[2];
	size_t n = egw_janus_streams_map(streams, job, t, 2); /* bounded by max */
	CHECK(n == 2);
	CHECK_STR(t[1].sub_mid, "1");
	CHECK_STR(t[1].pub_mid, "1");
	CHECK(t[1].media == EGW_MEDIA_VIDEO);
	egw_janus_tracks_clear(t, n);
	json_decref(streams);
	egw_request_free(req);
	return CHECK_DONE();
}
