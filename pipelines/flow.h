/* What reaches an egress's outputs, measured where each of its streams
 * enters them (the session's tees), for the worker's metrics:
 *  - A/V skew: the running time of the newest video frame minus that of
 *    the newest audio frame. Near zero (within a frame or two) while both
 *    flow; it grows when one stream stalls or drifts against the other.
 *  - dropped video frames, for an encoded video of a known frame rate (a
 *    composite): the frames its running time calls for since its first
 *    frame, minus the frames that came. A live encoder that cannot keep
 *    up shows here before it shows in the file.
 * locality: egw_flow_watch() and egw_flow_read() on any thread; the
 * counters are updated on streaming threads (atomics). The flow must
 * outlive the pads it watches' data (free it after the pipeline is in
 * NULL). */
#ifndef EGW_FLOW_H
#define EGW_FLOW_H

#include <gst/gst.h>

#include "base/media.h"

typedef struct egw_flow egw_flow_t;

typedef struct egw_flow_stats {
	int has_skew; /* audio and video both seen */
	double av_skew_s;
	int has_frames; /* one encoded video stream of a known frame rate */
	long long video_frames, video_frames_dropped;
} egw_flow_stats_t;

/* fps: the frame rate of the egress's encoded video; 0 when it has none
 * or passes the sources' frames through (no count of dropped frames). */
egw_flow_t *egw_flow_new(int fps);

/* Measures what flows through pad (a stream of the given media). */
void egw_flow_watch(egw_flow_t *f, egw_media_t media, GstPad *pad);

void egw_flow_read(egw_flow_t *f, egw_flow_stats_t *out);

void egw_flow_free(egw_flow_t *f);

#endif
