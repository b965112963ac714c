/* rtp source internals; do not include outside sfu/rtp*.c.
 * Threads: the probes (rtp_elements.c) count into atomics of their stream
 * only; everything else runs on the job's main context (sfu/rtp.c). */
#ifndef EGW_RTP_INT_H
#define EGW_RTP_INT_H

#include <gst/gst.h>

#include "base/life.h"
#include "base/sdp.h"
#include "sfu/source.h"

struct rtp_party;

struct rtp_stream {
	struct rtp_party *party;
	egw_sdp_stream_t sdp; /* its key is wiped once srtpdec has it */
	char id[400];
	GstElement *rtp_src, *rtcp_src, *srtp;
	GstCaps *srtp_caps; /* what srtpdec asks for (holds the key) */
	guint session;
	int wanted;    /* the job's filter takes it */
	int refused;   /* the consumer refused it (track_added failed) */
	int announced; /* track_added given, track_removed not yet */
	GstPad *pad;   /* rtpbin's pad of the current sender */
	guint pad_ssrc;
	int pad_linked; /* given to the consumer for this announcement */
	gulong drop_id; /* while the track is gone: its packets dropped */
	/* counted by the probes (streaming threads) */
	gint arrived, passed, unlisted_pt, other_pt, rtcp;
	gint last_pt;
	guint last_ssrc;
	/* main context */
	gint seen_passed, seen_failed, seen_unlisted, warned_failed, seen_rtcp;
	gint64 last_us, failing_since_us, unlisted_since_us, warned_us;
};

struct rtp_party {
	struct egw_source *src;
	char *name;
	GstElement *rtpbin;
	struct rtp_stream streams[EGW_SDP_STREAMS_MAX];
	size_t n_streams;
	int present;
};

struct egw_source {
	GstBin *bin;
	GMainContext *ctx;
	egw_source_events_t ev;
	void *opaque;
	char *log_id;
	egw_source_filter_copy_t filter;
	egw_life_t *life;
	struct rtp_party *parties;
	size_t n_parties;
	GSList *discards; /* fakesinks of senders nobody records */
	guint tick;
	int failed;
};

/* rtp.c */
void egw_rtp_view(const struct rtp_stream *s, egw_track_t *out);
/* rtpbin's pad-added and pad-removed (streaming threads); user: the
 * source's life token. */
void egw_rtp_on_pad_added(GstElement *rtpbin, GstPad *pad, gpointer user);
void egw_rtp_on_pad_removed(GstElement *rtpbin, GstPad *pad, gpointer user);

/* rtp_elements.c: the participant's rtpbin and the elements of the streams
 * its filter takes, added to the source's bin (not yet playing). */
int egw_rtp_build_party(struct egw_source *src, struct rtp_party *p, const egw_sdp_t *sdp,
                        char *errstr, size_t errstr_size);

#endif
