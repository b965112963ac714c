/* Janus VideoRoom adapter internals; do not include outside sfu/janus*.c.
 *
 * One egw_source is a Janus session with a control handle (listparticipants
 * every WATCH_MS) and one subscriber handle per followed publisher. All of
 * it lives on the job's main context; webrtcbin's threads reach a
 * subscription only through its life token (base/life.h), except the
 * pad-added handler, which must link synchronously and holds the
 * subscription's lock instead (close takes the same lock). */
#ifndef EGW_JANUS_INT_H
#define EGW_JANUS_INT_H

#include <gst/gst.h>
#include <jansson.h>

#include "base/life.h"
#include "sfu/janus.h"
#include "sfu/janus_api.h"
#include "sfu/janus_streams.h"

#define EGW_JANUS_MAX_TRACKS 16
#define VIDEOROOM "janus.plugin.videoroom"

struct janus_pub;

/* A subscription: a subscriber handle and its webrtcbin. Reference counted
 * (g_atomic_rc_box): webrtcbin's signal handlers and promises hold
 * references. tracks[] is written before webrtcbin exists and read-only
 * after. */
struct janus_sub {
	struct egw_source *src;
	struct janus_pub *pub; /* NULL once closed */
	egw_life_t *life;
	GMutex lock;           /* closed vs. the pad-added handler */
	int closed;
	uint64_t handle;
	GstElement *webrtc;
	gulong sig[3];
	GSList *discards;      /* fakesinks for pads nobody asked for */
	struct janus_track tracks[EGW_JANUS_MAX_TRACKS];
	size_t n_tracks;
	gint64 t_join_us;
};

/* A publisher the source follows. */
struct janus_pub {
	struct egw_source *src;
	json_t *feed;       /* its id as Janus gave it */
	char *id;           /* ...as text */
	char *name;         /* display name, or the id */
	int seen;           /* in the latest listing */
	int announced;      /* participant(present=1) was sent */
	struct janus_sub *sub;
	gint64 retry_at_us; /* no new subscription before this */
	int missing_told;   /* told that a track asked for by id is not published */
	struct janus_pub *next;
};

struct egw_source {
	egw_source_spec_t spec; /* strings owned below */
	char *url, *room_id, *pin, *log_id;
	egw_source_filter_copy_t filter;
	json_t *room;           /* room id as the request gave it */
	GstBin *bin;
	GMainContext *ctx;
	egw_source_events_t ev;
	void *opaque;
	egw_http_t *http;
	egw_janus_t *js;
	uint64_t ctl_handle;
	guint watch_timer;
	int listing;            /* a listparticipants is in flight */
	int listed_once;
	int watch_failures;
	gint64 answered_us; /* the last listing Janus answered (monotonic) */
	int failed;
	/* Janus was lost after the first listing: a new session is being
	 * made (janus.c reconnect), every reconnect_ms at most */
	int reconnecting;
	guint reconnect_timer;
	int reconnect_ms, attempts;
	gint64 lost_us;
	struct janus_pub *pubs;
};

#define JOB_ID(src) ((src)->log_id)

/* janus.c */
void egw_janus_fail(struct egw_source *src, egw_err_t err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fills an egw_track_t view of one of a subscription's tracks. */
void egw_janus_track_view(const struct janus_sub *sub, const struct janus_track *t,
			  egw_track_t *out);

/* janus_sub.c: one subscription's signalling. */
void egw_janus_subscribe(struct janus_pub *pub);
/* Ends a subscription: removes its media, tells the consumer its tracks
 * are gone when notify, detaches the handle (when the session goes on). */
void egw_janus_sub_close(struct janus_sub *sub, int notify);
/* An event of the long-poll whose sender is this subscription's handle. */
void egw_janus_sub_event(struct janus_sub *sub, json_t *ev);
struct janus_sub *egw_janus_sub_ref(struct janus_sub *sub);
void egw_janus_sub_unref(struct janus_sub *sub);

/* janus_webrtc.c: the media side. */
int egw_janus_webrtc_answer(struct janus_sub *sub, const char *offer_sdp, char *errstr,
			    size_t errstr_size);
/* Disconnects webrtcbin's handlers and removes it (and the discards) from
 * the bin. */
void egw_janus_webrtc_remove(struct janus_sub *sub);
/* Signalling answers for janus_webrtc.c, on the main context. */
void egw_janus_sub_send_answer(struct janus_sub *sub, const char *sdp);
void egw_janus_sub_send_candidate(struct janus_sub *sub, const char *candidate, int mline);

#endif
