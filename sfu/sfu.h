/* The media-source interface: one adapter per SFU protocol (Janus
 * VideoRoom now; WHEP and plain RTP later) behind one const ops table.
 * An adapter joins a room as a hidden subscriber, follows who publishes,
 * and hands subscribed media to the pipeline as RTP pads of elements it
 * adds to the job's GstBin. Room events in, media out.
 * locality: the job's GLib main context: callbacks are invoked there, except
 * on_pad (see below). */
#ifndef EGW_SFU_H
#define EGW_SFU_H

#include <gst/gst.h>

#include "base/err.h"
#include "contract/request.h"

/* One subscribed track. Strings are owned by the adapter and valid during
 * the callback. */
typedef struct egw_sfu_track {
	const char *publisher_id; /* SFU's id of the publisher ("feed") */
	const char *participant;  /* display name, or the id when it has none */
	const char *mid;          /* publisher's mid */
	egw_media_t media;
	const char *codec; /* "opus", "vp8", "h264", "vp9", "av1" */
} egw_sfu_track_t;

typedef struct egw_sfu_callbacks {
	/* Announces the tracks about to be subscribed, before any pad appears
	 * (muxers need all their pads before data flows). Return non-zero to
	 * refuse (EGW_ERR_INVALID_REQUEST: a codec the output cannot hold;
	 * EGW_ERR_MEDIA: the pipeline could not be built): the adapter reports
	 * it through on_error. */
	egw_err_t (*on_tracks)(void *opaque, const egw_sfu_track_t *tracks, size_t n, char *errstr,
			 size_t errstr_size);
	/* A source pad carrying depayloadable RTP (application/x-rtp) for
	 * track. Called from a streaming thread, and must link the pad before
	 * returning (data flows right after). */
	void (*on_pad)(void *opaque, GstPad *pad, const egw_sfu_track_t *track);
	/* The publisher of these tracks left or unpublished; their pads are
	 * going away. The adapter keeps watching and resubscribes when the
	 * participant publishes again (on_tracks + on_pad again). */
	void (*on_unpublished)(void *opaque, const char *participant);
	/* Fatal for the subscription (SFU gone, room gone, refused...). */
	void (*on_error)(void *opaque, egw_err_t err, const char *message);
} egw_sfu_callbacks_t;

typedef struct egw_sfu_conn egw_sfu_conn_t;

typedef struct egw_sfu_ops {
	const char *name;
	/* Starts connecting asynchronously; media elements are added to bin. */
	egw_sfu_conn_t *(*connect)(const egw_job_t *job, GstBin *bin, GMainContext *ctx,
				   const egw_sfu_callbacks_t *cbs, void *opaque, int timeout_ms,
				   char *errstr, size_t errstr_size);
	/* Leaves the room and frees; its elements are removed from the bin. */
	void (*close)(egw_sfu_conn_t *conn);
} egw_sfu_ops_t;

/* The adapter for job->room.sfu, or NULL. */
const egw_sfu_ops_t *egw_sfu_find(const char *name);

#endif
