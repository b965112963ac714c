/* The media session of one egress: the GStreamer pipeline and its bus, a
 * graph that turns the source's tracks into the egress's streams
 * (pipelines/graph.h), and the outputs those streams feed
 * (pipelines/output.h), each behind a tee with a queue per output.
 *
 * Errors are attributed: an error raised inside an output's bin fails that
 * output only (it is cut off; the others go on); any other error fails the
 * session. The end is per output too: finish() sends EOS down every stream,
 * and finished() follows once every output still running has written its
 * end.
 * locality: job main context; the track_pad entry point runs on a
 * streaming thread. */
#ifndef EGW_SESSION_H
#define EGW_SESSION_H

#include <gst/gst.h>
#include <jansson.h>

#include "base/err.h"
#include "pipelines/flow.h"
#include "pipelines/plan.h"
#include "sfu/source.h"

typedef struct egw_session egw_session_t;

typedef struct egw_session_events {
	void (*first_media)(void *opaque); /* the first byte reached an output */
	/* Output i failed and was cut off; the session goes on when others
	 * remain (otherwise failed() follows). */
	void (*output_failed)(void *opaque, size_t i, egw_err_t err, const char *message);
	void (*failed)(void *opaque, egw_err_t err, const char *message);
	void (*finished)(void *opaque); /* every output wrote its end */
	/* Output i reports something for the status topic (e.g. a stream
	 * destination reconnecting); details: {"details": {...}}, taken. */
	void (*output_event)(void *opaque, size_t i, json_t *details);
	/* Output i closed a file it will not touch again, or rewrote one that
	 * names such files (a playlist); NULL: not wanted. */
	void (*file_closed)(void *opaque, size_t i, const char *path);
	/* A room event went to the outputs (egw_session_room_event); NULL:
	 * not wanted. */
	void (*room_event)(void *opaque, const char *event, const char *participant,
			   const char *track_id);
	/* An egress with a file per track (room_tracks): the file for track
	 * t, created now; *plan stays valid for the session's life. NULL:
	 * not such an egress. */
	egw_err_t (*track_output)(void *opaque, const egw_track_t *t,
	                          const egw_output_plan_t **plan, char *errstr, size_t errstr_size);
	/* The track's file began with media at offset_s on the egress's
	 * timeline (room_tracks); NULL: not wanted. */
	void (*track_file_started)(void *opaque, const char *track_id, double offset_s);
} egw_session_events_t;

/* Builds the pipeline, the graph and every output of the plan. */
egw_session_t *egw_session_new(const egw_media_plan_t *plan, const egw_session_events_t *ev,
			       void *opaque, egw_err_t *err, char *errstr, size_t errstr_size);
/* Where sources add their elements. */
GstBin *egw_session_bin(egw_session_t *s);
egw_err_t egw_session_play(egw_session_t *s, char *errstr, size_t errstr_size);

/* The source's events, handed to the graph (see sfu/source.h). */
egw_err_t egw_session_track_added(egw_session_t *s, const egw_track_t *t, char *errstr,
				  size_t errstr_size);
void egw_session_track_pad(egw_session_t *s, const egw_track_t *t, GstPad *pad);
void egw_session_track_removed(egw_session_t *s, const egw_track_t *t);

/* Switches a composite's layout at the next frame. EGW_ERR_NOT_SUPPORTED
 * when this egress has no layout, EGW_ERR_INVALID_REQUEST for a layout
 * that is not valid (errstr says why). */
egw_err_t egw_session_update_layout(egw_session_t *s, const char *layout, char *errstr,
				   size_t errstr_size);

/* update_stream: removes the URLs from the stream outputs that have them
 * and adds the new ones to the first stream output still running.
 * EGW_ERR_NOT_SUPPORTED when there is none; otherwise EGW_OK, with errstr
 * saying what could not be applied (empty when everything was). */
egw_err_t egw_session_update_stream(egw_session_t *s, char *const *add, size_t n_add,
				    char *const *remove, size_t n_remove, char *errstr,
				    size_t errstr_size);

/* Tells the outputs that want it (websocket text frames) what happened
 * in the room: event "muted" / "unmuted" (an audio track carried only
 * silence for a second / sound again), "participant_joined" /
 * "participant_left"; track_id NULL for participant events. */
void egw_session_room_event(egw_session_t *s, const char *event, const char *participant,
			    const char *track_id);

/* For graphs with a file per track: makes the track's output (its file
 * from the track_output event) and feeds it srcpad's stream (media,
 * codec); *index is the output's index in the session's events. Main
 * context, while the egress runs. */
egw_err_t egw_session_track_output(egw_session_t *s, const egw_track_t *t, egw_media_t media,
                                   const char *codec, GstPad *srcpad, size_t *index, char *errstr,
                                   size_t errstr_size);
/* Graphs: a track's file began at offset_s (any thread; told to the
 * events' track_file_started on the main context). */
void egw_session_track_file_started(egw_session_t *s, const char *track_id, double offset_s);
/* How far the output has got (seconds of output time). */
double egw_session_position_s(egw_session_t *s);
/* Ends every stream; finished() follows. */
void egw_session_finish(egw_session_t *s);
/* Stops the pipeline (every element to NULL, downstream first); after
 * the end, before the source leaves. Outputs stay as they are. */
void egw_session_stop(egw_session_t *s);
/* Stops the pipeline (as egw_session_stop) before the outputs finished,
 * and has each unfinished one make what it wrote playable (an MP4's cut
 * last fragment removed). */
void egw_session_abandon(egw_session_t *s);
/* Status "outputs": one entry per output that has written something,
 * with "error" on failed ones. */
json_t *egw_session_outputs(egw_session_t *s);
/* What reaches the outputs so far (pipelines/flow.h). Any thread. */
void egw_session_flow(egw_session_t *s, egw_flow_stats_t *out);
void egw_session_free(egw_session_t *s);

#endif
