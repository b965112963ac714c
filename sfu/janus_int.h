/* Janus VideoRoom adapter internals; do not include outside sfu/janus*.c. */
#ifndef EGW_JANUS_INT_H
#define EGW_JANUS_INT_H

#include <gst/gst.h>
#include <jansson.h>

#include "sfu/janus_api.h"
#include "sfu/janus_streams.h"
#include "sfu/sfu.h"

#define EGW_JANUS_MAX_TRACKS 16


/* One subscription: a Janus subscriber handle plus its webrtcbin.
 * Reference counted (g_atomic_rc_box) because webrtcbin callbacks may
 * outlive it; `closed` is only read and written in the main context. */
struct janus_sub {
	struct egw_sfu_conn *conn;
	uint64_t handle;
	json_t *feed;        /* publisher id as Janus gave it */
	char *feed_str;      /* ...as text */
	char *participant;   /* display name */
	GstElement *webrtc;
	struct janus_track tracks[EGW_JANUS_MAX_TRACKS];
	size_t n_tracks;
	int closed;
	gint64 t_join_us;    /* monotonic time of the join request */
};

struct egw_sfu_conn {
	const egw_job_t *job;
	GstBin *bin;
	GMainContext *ctx;
	egw_sfu_callbacks_t cbs;
	void *opaque;
	egw_janus_t *js;
	uint64_t ctl_handle;     /* for synchronous requests (listparticipants) */
	json_t *room;            /* room id as the job gave it */
	GThread *poll_thread;
	gint stopping;
	GSource *watch;
	int watch_failures;
	struct janus_sub *sub;   /* current subscription or NULL */
	int failed;
};

/* janus_webrtc.c: the media side of a subscription. */
int egw_janus_sub_answer(struct janus_sub *sub, const char *offer_sdp, char *errstr,
			 size_t errstr_size);
void egw_janus_sub_release(struct janus_sub *sub);
struct janus_sub *egw_janus_sub_ref(struct janus_sub *sub);
/* Runs fn(sub, data) in the main context if the subscription is still open. */
void egw_janus_sub_invoke(struct janus_sub *sub, void (*fn)(struct janus_sub *, char *),
			  char *data);

/* janus.c: signalling helpers used by janus_webrtc.c (main context). */
void egw_janus_send_answer(struct janus_sub *sub, char *sdp);
void egw_janus_send_candidate(struct janus_sub *sub, char *cand);
void egw_janus_fail(struct egw_sfu_conn *c, egw_err_t err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
