/* Unit tests of worker/job.h, part two: path templates and escapes, what
 * this build supports, and the enum names. Runs in tests/unit. */
#include "tests/unit/job_test_util.h"

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

/* room_tracks: {track}, {media} and {participant} from each track; a
 * stand-in when checked before any track is known. */
static void test_track_paths(egw_job_t *job)
{
	egw_path_track_t t = {"8812345/video0", "video", "Zoë ../x"};
	char out[256], err[256];

	job->source.kind = EGW_SOURCE_ROOM_TRACKS;
	CHECK(egw_job_expand_track_path(job, "{room_id}/{participant}-{media}-{track}.mkv", T_2026,
	                                &t, out, sizeof(out), err, sizeof(err)) == EGW_OK);
	CHECK_STR(out, "9/Zo__.._x-video-8812345_video0.mkv");
	EXPAND_OK(job, "{egress_id}/{track}.{media}.mkv", "EG_rc/track.audio.mkv");
	job->source.kind = EGW_SOURCE_ROOM_COMPOSITE;
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
	EXPAND_BAD(job, "{track}.mkv", "path: {track} is only for room_tracks egresses");
	EXPAND_BAD(job, "{media}.mkv", "path: {media} is only for room_tracks egresses");
	test_track_paths(req_rc->job);
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

static void test_names(void)
{
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_TRACK), "track");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_PARTICIPANT), "participant");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_TRACK_COMPOSITE), "track_composite");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_ROOM_COMPOSITE), "room_composite");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_RENDER), "render");
	CHECK_STR(egw_source_kind2str(EGW_SOURCE_ROOM_TRACKS), "room_tracks");
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
	test_expand();
	test_names();
	return CHECK_DONE();
}
