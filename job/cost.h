/* What a start request is expected to cost the worker that runs it, in
 * thousandths of a core (mc), from the request alone: the worker admits
 * jobs while the sum of their costs stays under its capacity
 * (docs/operations.md). The figures come from BENCHMARKS.md (2-core x86_64,
 * this project's benchmarks): a participant recorded as it is about 0.04 to
 * 0.05 core; a 720p30 room composite of four about 0.34 to 0.40; a first
 * RTMP destination 0.028, each further one 0.008; HLS 0.013; thumbnails
 * 0.010; a websocket 0.010.
 * locality: any thread (pure). */
#ifndef EGW_JOB_COST_H
#define EGW_JOB_COST_H

#include "contract/request.h"

#define EGW_COST_TRACK_MC 20
#define EGW_COST_PARTICIPANT_MC 50
/* A room_tracks egress is admitted as this many participants (its room
 * is not known at the start; each track costs what it does in a
 * participant egress). */
#define EGW_COST_ROOM_TRACKS_PARTICIPANTS 4
/* decode + composite + encode at 720p30; scaled by the pixel rate */
#define EGW_COST_COMPOSITE_BASE_MC 150
#define EGW_COST_COMPOSITE_720P30_MC 200
#define EGW_COST_STREAM_FIRST_MC 30
#define EGW_COST_STREAM_MORE_MC 10
#define EGW_COST_SEGMENTS_MC 15
#define EGW_COST_IMAGES_MC 10
#define EGW_COST_WEBSOCKET_MC 10
#define EGW_COST_MIN_MC EGW_COST_TRACK_MC /* the cheapest job */

/* The job's expected cost in mc (at least EGW_COST_MIN_MC). */
int egw_job_cost_mc(const egw_job_t *job);

#endif
