/* job/cost: what a start request is expected to cost a worker (thousandths
 * of a core), from the request alone: the kinds, the canvas, the outputs. */
#include <string.h>

#include "job/cost.h"
#include "tests/unit/job_test_util.h"

static int cost_of(const char *base, const char *path1, const char *value1, const char *path2,
                   const char *value2)
{
	char id[EGW_EGRESS_ID_MAX + 1], err[512];
	egw_request_t *req = NULL;
	int mc = -1;
	if (parse_mutated2(base, path1, value1, path2, value2, &req, id, err, sizeof(err)) ==
	    EGW_OK)
		mc = egw_job_cost_mc(req->job);
	else
		fprintf(stderr, "parse: %s\n", err);
	egw_request_free(req);
	return mc;
}

int main(void)
{
	/* recorded as they are */
	CHECK(cost_of(MIN, NULL, NULL, NULL, NULL) == EGW_COST_PARTICIPANT_MC);
	CHECK(cost_of(T, NULL, NULL, NULL, NULL) == EGW_COST_TRACK_MC);
	/* a room composite at the default canvas (720p30) with thumbnails */
	CHECK(cost_of(RC, NULL, NULL, NULL, NULL) ==
	      EGW_COST_COMPOSITE_BASE_MC + EGW_COST_COMPOSITE_720P30_MC + EGW_COST_IMAGES_MC);
	/* 1080p30 costs 2.25 times the pixels */
	CHECK(cost_of(RC, "encoding", "{\"preset\": \"H264_1080P_30\"}", NULL, NULL) ==
	      EGW_COST_COMPOSITE_BASE_MC + 450 + EGW_COST_IMAGES_MC);
	/* audio only: no canvas */
	CHECK(cost_of(RC, "encoding", "{\"preset\": \"OPUS_AUDIO_ONLY\"}", "outputs",
	              "[{\"kind\": \"file\", \"format\": \"ogg\"}]") == EGW_COST_COMPOSITE_BASE_MC);
	/* a participant with three stream destinations and HLS: transcoded */
	CHECK(cost_of(MIN, "outputs",
	              "[{\"kind\": \"stream\", \"urls\": [\"rtmp://a/x/1\", \"rtmp://b/x/2\", "
	              "\"srt://c:1\"]}, {\"kind\": \"segments\", \"prefix\": \"h\"}]",
	              NULL, NULL) == EGW_COST_COMPOSITE_BASE_MC + EGW_COST_COMPOSITE_720P30_MC +
	                                     EGW_COST_STREAM_FIRST_MC +
	                                     2 * EGW_COST_STREAM_MORE_MC + EGW_COST_SEGMENTS_MC);
	CHECK(egw_job_cost_mc(NULL) == EGW_COST_MIN_MC);
	return CHECK_DONE();
}
