/* Janus "attached" streams lists as tracks (sfu/janus_streams.c), and the
 * filters that pick a job's tracks from a room (sfu/filter.c). */
#include <jansson.h>
#include <string.h>

#include "sfu/janus_streams.h"
#include "sfu/source.h"
#include "tests/unit/check.h"

/* A browser-like publisher seen through Janus: audio, simulcast VP8 video
 * (one layer forwarded), a data channel, an inactive stream, a screen
 * share, and malformed entries. */
static const char *streams_json =
	"[{\"type\":\"audio\",\"active\":true,\"mindex\":0,\"mid\":\"0\",\"ready\":false,"
	"\"send\":true,\"feed_id\":42,\"feed_display\":\"alice\",\"feed_mid\":\"0\",\"codec\":\"opus\"},"
	"{\"type\":\"video\",\"active\":true,\"mindex\":1,\"mid\":\"1\",\"feed_id\":42,"
	"\"feed_mid\":\"1\",\"codec\":\"vp8\",\"simulcast\":[{\"rid\":\"h\"},{\"rid\":\"l\"}]},"
	"{\"type\":\"data\",\"active\":true,\"mindex\":2,\"mid\":\"2\"},"
	"{\"type\":\"video\",\"active\":false,\"mindex\":3,\"mid\":\"3\",\"feed_mid\":\"2\",\"codec\":\"h264\"},"
	"{\"type\":\"video\",\"active\":true,\"mindex\":4,\"mid\":\"4\",\"feed_mid\":\"3\",\"codec\":\"vp8\","
	"\"feed_description\":\"My Screen share\"},"
	"{\"type\":\"audio\",\"mid\":4},"
	"\"junk\"]";

static void test_map(void)
{
	json_t *streams = json_loads(streams_json, 0, NULL);
	struct janus_track t[8];
	size_t n = egw_janus_streams_map(streams, "42", t, 8);

	CHECK(n == 4); /* audio, video, inactive video, screen; data, non-text mid, junk skipped */
	CHECK_STR(t[0].id, "42/0");
	CHECK(t[0].media == EGW_MEDIA_AUDIO && t[0].active && !t[0].screen);
	CHECK_STR(t[0].codec, "opus");
	CHECK_STR(t[1].id, "42/1");
	CHECK(t[1].media == EGW_MEDIA_VIDEO && t[1].active);
	CHECK_STR(t[2].sub_mid, "3");
	CHECK_STR(t[2].pub_mid, "2");
	CHECK_STR(t[2].id, "42/2");
	CHECK(!t[2].active);
	CHECK(t[3].screen && t[3].active);
	CHECK(egw_janus_streams_map(streams, "42", t + 4, 0) == 0);
	egw_janus_tracks_clear(t, n);
	CHECK(t[0].id == NULL);
	json_decref(streams);
	/* no "streams" at all */
	CHECK(egw_janus_streams_map(NULL, "42", t, 8) == 0);
}

static egw_track_t track(const char *pid, const char *name, const char *mid, egw_media_t media)
{
	return (egw_track_t){.participant = {pid, name}, .mid = mid, .media = media,
			     .codec = "opus"};
}

static void test_filters(void)
{
	egw_track_t a = track("42", "alice", "0", EGW_MEDIA_AUDIO);
	egw_track_t v = track("42", "alice", "1", EGW_MEDIA_VIDEO);
	egw_track_t b = track("77", "bob", "0", EGW_MEDIA_AUDIO);
	egw_track_t d = track("42", "alice", "2", EGW_MEDIA_NONE);
	egw_source_filter_t all = {0};
	egw_source_filter_t alice = {.participant = "alice"};
	egw_source_filter_t by_id = {.participant = "77"};
	egw_source_filter_t alice_audio = {.participant = "alice", .media = EGW_SOURCE_AUDIO};
	egw_source_filter_t alice_video = {.participant = "alice", .media = EGW_SOURCE_VIDEO};
	egw_source_filter_t tid = {.track_ids = {"42/1"}};
	egw_source_filter_t tid_other = {.track_ids = {"4/1"}};
	char id[64];

	/* the whole room */
	CHECK(egw_source_filter_track(&all, &a) && egw_source_filter_track(&all, &v) &&
	      egw_source_filter_track(&all, &b));
	CHECK(!egw_source_filter_track(&all, &d)); /* data channels are not tracks */
	/* a participant, by name or by id */
	CHECK(egw_source_filter_track(&alice, &a) && egw_source_filter_track(&alice, &v));
	CHECK(!egw_source_filter_track(&alice, &b));
	CHECK(egw_source_filter_participant(&alice, &a.participant));
	CHECK(!egw_source_filter_participant(&alice, &b.participant));
	CHECK(egw_source_filter_track(&by_id, &b) && !egw_source_filter_track(&by_id, &a));
	/* one media kind of a participant */
	CHECK(egw_source_filter_track(&alice_audio, &a) && !egw_source_filter_track(&alice_audio, &v));
	CHECK(!egw_source_filter_track(&alice_video, &a) && egw_source_filter_track(&alice_video, &v));
	/* one track by id: its participant is subscribed, only that track taken */
	CHECK(egw_source_filter_participant(&tid, &v.participant));
	CHECK(!egw_source_filter_participant(&tid, &b.participant));
	CHECK(egw_source_filter_track(&tid, &v) && !egw_source_filter_track(&tid, &a));
	CHECK(!egw_source_filter_participant(&tid_other, &v.participant)); /* "4" is not "42" */
	egw_source_track_id(id, sizeof(id), "42", "1");
	CHECK_STR(id, "42/1");
}

int main(void)
{
	test_map();
	test_filters();
	return CHECK_DONE();
}
