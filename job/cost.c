/* Expected costs of jobs (see cost.h). */
#include "job/cost.h"

#include "job/plan.h"
#include "job/plan_int.h"

/* The encode's canvas as the job will run it (its preset, its fields, or
 * the defaults); 0 x 0 for audio only. */
static double pixel_rate_vs_720p30(const egw_job_t *job)
{
	egw_encode_plan_t enc = {0};
	char errstr[256];
	if (egw_plan_composite_check(job, &enc, errstr, sizeof(errstr)) || !enc.video_codec)
		return 0;
	return (double)enc.width * enc.height * (enc.fps > 0 ? enc.fps : 30) / (1280.0 * 720 * 30);
}

int egw_job_cost_mc(const egw_job_t *job)
{
	int mc, streams = 0;
	if (!job)
		return EGW_COST_MIN_MC;
	if (egw_plan_transcodes(job))
		mc = EGW_COST_COMPOSITE_BASE_MC +
		     (int)(EGW_COST_COMPOSITE_720P30_MC * pixel_rate_vs_720p30(job) + 0.5);
	else if (job->source.kind == EGW_SOURCE_TRACK)
		mc = EGW_COST_TRACK_MC;
	else if (job->source.kind == EGW_SOURCE_ROOM_TRACKS) /* how many: not known at the start */
		mc = EGW_COST_ROOM_TRACKS_PARTICIPANTS * EGW_COST_PARTICIPANT_MC;
	else
		mc = EGW_COST_PARTICIPANT_MC;
	for (size_t i = 0; i < job->n_outputs; i++) {
		const egw_output_t *o = &job->outputs[i];
		if (o->kind == EGW_OUTPUT_STREAM)
			for (size_t k = 0; k < o->n_urls; k++)
				mc += streams++ ? EGW_COST_STREAM_MORE_MC : EGW_COST_STREAM_FIRST_MC;
		else if (o->kind == EGW_OUTPUT_SEGMENTS)
			mc += EGW_COST_SEGMENTS_MC;
		else if (o->kind == EGW_OUTPUT_IMAGES)
			mc += EGW_COST_IMAGES_MC;
		else if (o->kind == EGW_OUTPUT_WEBSOCKET)
			mc += EGW_COST_WEBSOCKET_MC;
	}
	return mc < EGW_COST_MIN_MC ? EGW_COST_MIN_MC : mc;
}
