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

/* What an output tells its session (main context). */
typedef struct egw_output_events {
	/* Something the status topic shows happened (details: taken). */
	void (*event)(void *opaque, json_t *details);
	/* The output can write nothing more (e.g. every destination of a
	 * stream failed); the session cuts it off. */
	void (*failed)(void *opaque, egw_err_t err, const char *message);
	/* Outputs without sink(): the first byte went out; the end is
	 * written (or given up on). */
	void (*first_byte)(void *opaque);
	void (*finished)(void *opaque);
	/* A file of the output is complete on disk while the output goes on
	 * (an HLS segment; then its playlist, which names it). */
	void (*file_closed)(void *opaque, const char *path);
} egw_output_events_t;

typedef struct egw_output_ops {
	const char *kind;
	/* Takes decoded audio (streams of codec "pcm") and nothing else;
	 * 0: takes encoded streams and never "pcm". */
	int pcm;
	/* Builds the output's bin (not yet in a pipeline). ev/opaque stay
	 * valid for the output's life. */
	egw_output_t *(*create)(const egw_output_plan_t *plan, const char *log_id,
				const egw_output_events_t *ev, void *opaque, char *errstr,
				size_t errstr_size);
	GstElement *(*bin)(egw_output_t *o);
	/* A sink pad for one more stream (media + codec, as it arrives); EGW_OK
	 * with *pad NULL when the output does not take that stream (images:
	 * audio). EGW_ERR_INVALID_REQUEST when the output cannot hold it
	 * (errstr names the output and what would work). */
	egw_err_t (*add_stream)(egw_output_t *o, egw_media_t media, const char *codec,
				GstPad **pad, char *errstr, size_t errstr_size);
	/* The element whose sink pad sees everything the output writes (for
	 * first-byte and end detection); NULL (or no such op): the output
	 * reports both through its events. */
	GstElement *(*sink)(egw_output_t *o);
	/* An error was posted from inside the output's bin: 1 when the output
	 * dealt with it (one destination of several reconnects or fails) and
	 * goes on; 0 fails the whole output. NULL: always 0. */
	int (*element_error)(egw_output_t *o, GstObject *src, const char *message);
	/* update_stream: adds and removes destinations (NULL for outputs
	 * without). Returns how many URLs it applied; errstr says why others
	 * were not. */
	size_t (*update)(egw_output_t *o, char *const *add, size_t n_add, char *const *remove,
			 size_t n_remove, char *errstr, size_t errstr_size);
	/* Every stream has been added (the graph is built), the pipeline is
	 * about to start (NULL: nothing to do then). */
	void (*ready)(egw_output_t *o);
	/* An element message from inside the output's bin (NULL: not
	 * wanted). */
	void (*message)(egw_output_t *o, GstMessage *msg);
	/* Something happened in the room (egw_session_room_event); NULL:
	 * not wanted. */
	void (*room_event)(egw_output_t *o, const char *event, const char *participant,
			   const char *track_id);
	/* Its entry in status events ("outputs"): kind, location, size... */
	json_t *(*describe)(egw_output_t *o, double duration_s);
	/* The pipeline was stopped before the output finished (a job closing
	 * its outputs as they are): what it wrote made as playable as it can
	 * be. NULL: nothing to do. */
	void (*abandon)(egw_output_t *o);
	void (*free)(egw_output_t *o);
} egw_output_ops_t;

const egw_output_ops_t *egw_output_find(const char *kind);

/* Tells ev that one connection of an output changed state: an event with
 * details {"event": event, "output", "url" (as shown), "state", "reason"
 * (when why is not empty)}. */
void egw_output_state_event(const egw_output_events_t *ev, void *opaque, const char *event,
			    const char *output, const char *url, const char *state,
			    const char *why);

extern const egw_output_ops_t egw_output_file;
extern const egw_output_ops_t egw_output_stream;
extern const egw_output_ops_t egw_output_segments;
extern const egw_output_ops_t egw_output_images;
extern const egw_output_ops_t egw_output_websocket;

#endif
