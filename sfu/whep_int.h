/* WHEP adapter internals; do not include outside sfu/whep*.c.
 *
 * One egw_source holds one peer per WHEP endpoint (a participant). A peer
 * is its HTTP exchanges (sfu/whep.c) and a receive-only webrtcbin
 * (sfu/whep_media.c). Everything runs on the job's main context;
 * webrtcbin's threads reach a peer only through its life token, except the
 * pad-added handler, which links synchronously under the peer's lock
 * (close takes the same lock). */
#ifndef EGW_WHEP_INT_H
#define EGW_WHEP_INT_H

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include "base/life.h"
#include "http/http.h"
#include "sfu/source.h"

#define WHEP_TRACKS_MAX 8

struct whep_track {
	char mid[64];
	char id[400];
	egw_media_t media;
	char codec[16];
	int screen;
	int wanted, announced;
};

struct whep_peer {
	struct egw_source *src;
	egw_life_t *life;
	GMutex lock; /* closed vs. the pad-added handler */
	int closed;
	char *url, *token, *name;
	char *resource; /* absolute URL of the session, once created */
	char *etag;
	egw_http_req_t *req; /* the POST or the PATCH of the answer */
	GstElement *webrtc;
	gulong sig[4];
	GSList *discards;
	struct whep_track tracks[WHEP_TRACKS_MAX]; /* read-only once media flows */
	size_t n_tracks;
	GPtrArray *candidates; /* waiting for the resource ("<mline> <candidate>") */
	GSList *trickles;      /* PATCHes of candidates in flight */
	int trickle_refused;
	int present;
	int ended;
	gint packets;      /* RTP that reached the consumer (streaming threads) */
	gint seen_packets; /* ...at the last check (main context) */
	gint64 quiet_since_us;
	char ice_ufrag[64], ice_pwd[128];
	char *mids[WHEP_TRACKS_MAX]; /* of the local description, by m-line */
	gint64 t_start_us;
};

struct egw_source {
	egw_source_spec_t spec;
	egw_source_filter_copy_t filter;
	char *log_id;
	GstBin *bin;
	GMainContext *ctx;
	egw_source_events_t ev;
	void *opaque;
	egw_http_t *http;
	struct whep_peer *peers;
	size_t n_peers;
	guint watch; /* the silence check */
	int failed;
};

#define JOB_ID(src) ((src)->log_id)

/* whep.c */
void egw_whep_fail(struct egw_source *src, egw_err_t err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* The local description's ICE credentials and mids are known (offer or
 * answer): candidates can be sent. */
void egw_whep_local_sdp(struct whep_peer *peer, const GstSDPMessage *sdp);
/* A local candidate (NULL: gathering done), on the main context. */
void egw_whep_candidate(struct whep_peer *peer, int mline, const char *candidate);
/* The answer to the server's offer (406 flow), on the main context. */
void egw_whep_send_answer(struct whep_peer *peer, const char *sdp);
/* The offer to POST, on the main context (NULL: it could not be made). */
void egw_whep_send_offer(struct whep_peer *peer, const char *sdp);
/* whep_media.c */
/* A webrtcbin for the peer: with wanted transceivers and an offer to make
 * (client offer), or empty, to answer the server's offer. */
int egw_whep_media_start(struct whep_peer *peer, int make_offer, char *errstr, size_t errstr_size);
/* Applies the remote description: the answer to our offer, or the server's
 * offer (then an answer follows through egw_whep_send_answer). */
void egw_whep_media_remote(struct whep_peer *peer, GstSDPMessage *sdp, int is_offer);
/* Uses the ICE servers of a Link header (RFC 8288, rel="ice-server"). */
void egw_whep_media_ice_servers(struct whep_peer *peer, const char *link);
void egw_whep_media_remove(struct whep_peer *peer);

/* whep_tracks.c */
/* The remote description's streams toward us become the peer's tracks
 * (-1: none); the wanted ones told to the graph. */
int egw_whep_read_tracks(struct whep_peer *peer, const GstSDPMessage *sdp);
void egw_whep_announce(struct whep_peer *peer);
/* The session ended (the server hung up, ICE or DTLS failed): its tracks
 * are gone, as if the participant left. */
void egw_whep_ended(struct whep_peer *peer, const char *why);
void egw_whep_track_view(const struct whep_peer *peer, const struct whep_track *t,
                         egw_track_t *out);
/* An SDP media attribute's value (NULL when absent). */
const char *egw_whep_sdp_attr(const GstSDPMedia *m, const char *key);

#endif
