/* Outputs: where an egress's streams go (a file now; live streams, HLS
 * segments and images next), behind one const ops table. An output is a
 * GstBin in the session's pipeline with one sink pad per stream it takes;
 * the session feeds each pad from the stream's tee through a queue of the
 * output's own, so a slow or failing output never holds up the others.
 * locality: job main context, except where noted. */
#ifndef EGW_OUTPUT_H
#define EGW_OUTPUT_H

#include <gst/gst.h>
#include <jansson.h>

#include "base/err.h"
#include "base/media.h"
#include "pipelines/plan.h"

typedef struct egw_output egw_output_t;

typedef struct egw_output_ops {
	const char *kind;
	/* Builds the output's bin (not yet in a pipeline). */
	egw_output_t *(*create)(const egw_output_plan_t *plan, const char *log_id, char *errstr,
				size_t errstr_size);
	GstElement *(*bin)(egw_output_t *o);
	/* A sink pad for one more stream (media + codec, as it arrives).
	 * EGW_ERR_INVALID_REQUEST when the output cannot hold it (errstr names
	 * the output and what would work). */
	egw_err_t (*add_stream)(egw_output_t *o, egw_media_t media, const char *codec,
				GstPad **pad, char *errstr, size_t errstr_size);
	/* The element whose sink pad sees everything the output writes (for
	 * first-byte and end detection). */
	GstElement *(*sink)(egw_output_t *o);
	/* Its entry in status events ("outputs"): kind, location, size... */
	json_t *(*describe)(egw_output_t *o, double duration_s);
	void (*free)(egw_output_t *o);
} egw_output_ops_t;

const egw_output_ops_t *egw_output_find(const char *kind);

extern const egw_output_ops_t egw_output_file;

#endif
