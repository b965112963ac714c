/* The room-wide media source: one adapter per SFU protocol (Janus VideoRoom
 * now; WHEP and plain RTP later) behind one const ops table.
 *
 * A source joins a room without being seen (it never publishes), follows
 * every participant and each of their tracks as they publish, unpublish and
 * come back, subscribes to the tracks its filter selects, and hands their
 * media to the pipeline as RTP pads of elements it adds to the job's bin.
 * Participant and track egresses are filters over it; a composite takes the
 * whole room.
 *
 * Ordering guarantees to the consumer: track_added() for a track comes
 * before its pad, and track_removed() after it (its pad is going away);
 * participant() with present=1 comes before that participant's tracks.
 * After close() returns, no event is delivered. close() is never called
 * from inside one of the source's own events (defer it to the loop).
 * locality: every event runs on the context given to open(), except
 * track_pad() (a streaming thread, see there). */
#ifndef EGW_SOURCE_H
#define EGW_SOURCE_H

#include <gst/gst.h>
#include <stdarg.h>
#include <stddef.h>

#include "base/err.h"
#include "base/media.h"

#define EGW_SOURCE_TRACK_IDS_MAX 2

/* Which tracks of the room a source subscribes to. Every field narrows:
 * an empty filter takes every track of every participant. */
typedef struct egw_source_filter {
	const char *participant; /* display name or participant id; NULL: all */
	/* "<participant id>/<mid>": only these tracks (a track composite
	 * takes two); none given: any */
	const char *track_ids[EGW_SOURCE_TRACK_IDS_MAX];
	unsigned media;          /* EGW_SOURCE_AUDIO | EGW_SOURCE_VIDEO; 0: both */
} egw_source_filter_t;

#define EGW_SOURCE_AUDIO (1u << EGW_MEDIA_AUDIO)
#define EGW_SOURCE_VIDEO (1u << EGW_MEDIA_VIDEO)

/* A WHEP endpoint: its URL, bearer token (secret; NULL: none), and the
 * name of its participant (NULL: the URL's last path segment). */
typedef struct egw_source_endpoint {
	const char *url, *token, *participant;
} egw_source_endpoint_t;

/* What a source needs to know: where, which room, which tracks. */
typedef struct egw_source_spec {
	const char *sfu;     /* adapter name */
	const char *url;     /* signalling endpoint */
	const char *room_id; /* as text */
	int room_id_is_number;
	const char *pin; /* secret; NULL when none */
	egw_source_filter_t filter;
	int timeout_ms;     /* one signalling request */
	/* rtp: the SDPs of the forwarded streams, one per participant
	 * (base/sdp.h); they hold SRTP keys */
	const char *const *sdps;
	size_t n_sdps;
	/* whep: the endpoints, one per participant */
	const struct egw_source_endpoint *endpoints;
	size_t n_endpoints;
	const char *log_id; /* the egress id, for log lines */
} egw_source_spec_t;

typedef struct egw_participant {
	const char *id;   /* the SFU's stable id of the participant */
	const char *name; /* display name, or the id when it has none */
} egw_participant_t;

typedef struct egw_track {
	const char *id; /* stable: "<participant id>/<mid>" */
	egw_participant_t participant;
	const char *mid; /* the publisher's mid */
	egw_media_t media;
	const char *codec; /* "opus", "vp8", "vp9", "h264", "av1" */
	int screen;        /* a screen share (the SFU's description says so) */
} egw_track_t;

/* Strings in these structs belong to the source and are valid during the
 * call only. */
typedef struct egw_source_events {
	/* A participant is in the room (present=1: first seen publishing) or
	 * gone (present=0: left or stopped publishing). Optional. */
	void (*participant)(void *opaque, const egw_participant_t *p, int present);
	/* A track the filter selected is being subscribed; its pad follows.
	 * Returning an error refuses the track (it is not subscribed); the
	 * source goes on with the others. */
	egw_err_t (*track_added)(void *opaque, const egw_track_t *t, char *errstr,
				 size_t errstr_size);
	/* RTP (application/x-rtp, depayloadable) of an added track. Called from
	 * a streaming thread; the pad must be linked before returning. */
	void (*track_pad)(void *opaque, const egw_track_t *t, GstPad *pad);
	/* The track is gone (unpublished, participant left, subscription
	 * lost); the source resubscribes by itself when it comes back. */
	void (*track_removed)(void *opaque, const egw_track_t *t);
	/* The source cannot go on (SFU gone, room gone, refused...). */
	void (*error)(void *opaque, egw_err_t err, const char *message);
	/* The connection to the SFU was lost after the source had joined
	 * (up=0: every track was removed first; the source reconnects by
	 * itself, with backoff, and resubscribes) or is back (up=1). message
	 * says what happened (no secrets). Optional. */
	void (*connection)(void *opaque, int up, const char *message);
	/* A track asked for by id (`<publisher id>/<mid>`) that its publisher
	 * does not publish: told once per publisher; the source goes on with
	 * the others and asks again now and then (the track may come later).
	 * message says why (no secrets). Optional. */
	void (*track_missing)(void *opaque, const egw_participant_t *p, const char *track_id,
	                      const char *message);
} egw_source_events_t;

typedef struct egw_source egw_source_t;

typedef struct egw_source_ops {
	const char *name;
	/* Starts joining asynchronously and returns at once; what happens next
	 * arrives as events on ctx. Returns NULL with errstr only for a spec
	 * it cannot use at all. Media elements are added to bin. */
	egw_source_t *(*open)(const egw_source_spec_t *spec, GstBin *bin, GMainContext *ctx,
			      const egw_source_events_t *ev, void *opaque, char *errstr,
			      size_t errstr_size);
	/* Leaves the room and frees the source; never blocks on the network.
	 * Its elements leave the bin now. A goodbye to the SFU may still be in
	 * flight: done(user) runs on ctx once it was answered or gave up
	 * (bounded by the spec's timeout); done may be NULL. */
	void (*close)(egw_source_t *src, void (*done)(void *user), void *user);
} egw_source_ops_t;

/* ---- the registry (sfu/registry.c) ---- */

/* The adapter called name, or NULL. */
const egw_source_ops_t *egw_source_find(const char *name);
/* Names of the adapters this build has, e.g. "janus" (for messages). */
const char *egw_source_names(void);

/* ---- filters (sfu/filter.c, pure) ---- */

/* Does the filter take (any track of) this participant? */
int egw_source_filter_participant(const egw_source_filter_t *f, const egw_participant_t *p);
/* Does the filter take this track? */
int egw_source_filter_track(const egw_source_filter_t *f, const egw_track_t *t);
/* A filter that owns copies of its strings (a source keeps its job's). */
typedef struct egw_source_filter_copy {
	egw_source_filter_t filter; /* its strings are the ones below */
	char *participant, *track_ids[EGW_SOURCE_TRACK_IDS_MAX];
} egw_source_filter_copy_t;
void egw_source_filter_copy(egw_source_filter_copy_t *dst, const egw_source_filter_t *f);
void egw_source_filter_copy_clear(egw_source_filter_copy_t *c);
/* Writes the stable track id "<participant id>/<mid>" into out. */
void egw_source_track_id(char *out, size_t out_size, const char *participant_id,
			 const char *mid);

/* ---- helpers for adapters (sfu/common.c) ---- */

/* Drains pad (a stream nobody records) into a fakesink added to bin;
 * returns discards with the sink prepended (NULL-safe list). */
GSList *egw_source_discard(GSList *discards, GstBin *bin, GstPad *pad);
/* Stops and removes every sink of discards and frees the list. */
void egw_source_discards_remove(GSList *discards, GstBin *bin);
/* e, a child of bin that may be running, stopped (NULL state) and removed
 * from bin, which drops its reference. Its state is locked first, so a
 * state change of bin on another thread (a bin redoing its state after an
 * async change) cannot set it playing again in between: an element
 * disposed while playing leaves its streaming thread behind. Main loop. */
void egw_element_drop(GstBin *bin, GstElement *e);
/* The source cannot go on: logs the message and reports it through
 * ev->error, once (*failed is set; later calls do nothing). */
void egw_source_failv(const egw_source_events_t *ev, void *opaque, const char *log_id, int *failed,
                      egw_err_t err, const char *fmt, va_list ap)
        __attribute__((format(printf, 6, 0)));
/* A pad probe counting the buffers that pass into the gint at counter
 * (atomically: it runs on streaming threads). */
GstPadProbeReturn egw_source_count_buffers(GstPad *pad, GstPadProbeInfo *info, gpointer counter);

/* A timer on ctx (not the thread's default); its id, for
 * egw_source_timer_remove(), which zeroes it (0: nothing to remove). */
guint egw_source_timer_add(GMainContext *ctx, guint interval_ms, GSourceFunc fn, gpointer data);
void egw_source_timer_remove(GMainContext *ctx, guint *id);

#endif
