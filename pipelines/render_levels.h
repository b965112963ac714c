/* A render's first pass, for layouts that follow the active speaker: the
 * loudness of every audio track on the recording's timeline, measured
 * from the files (decoded to mono, not rendered). Private to pipelines/.
 * locality: the caller's thread; runs its own pipelines to the end. */
#ifndef EGW_RENDER_LEVELS_H
#define EGW_RENDER_LEVELS_H

#include <gst/gst.h>

#include "base/err.h"
#include "base/media.h"
#include "pipelines/plan.h"

typedef struct egw_render_levels {
	float **db; /* per track of the plan: RMS dBFS per step from time 0, NULL: not audio */
	size_t *n;
	size_t n_tracks;
} egw_render_levels_t;

/* Measures every audio track of rp in steps of step_ms on the timeline
 * (a step without data is -127 dBFS). A file that cannot be decoded is
 * an error naming its track. */
egw_err_t egw_render_levels_measure(const egw_render_plan_t *rp, unsigned step_ms,
                                    const char *log_id, egw_render_levels_t **out, char *errstr,
                                    size_t errstr_size);
void egw_render_levels_free(egw_render_levels_t *l);

/* Is caps an elementary stream of the media other than want (a decoder
 * need not be plugged for it)? For decodebin's autoplug-continue. */
int egw_render_other_media(const GstCaps *caps, egw_media_t want);

#endif
