/* webrtcbin as the sources use it (sfu/janus_webrtc.c, sfu/whep.c): made
 * and tuned in one place. */
#include "sfu/webrtc.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

/* libnice asks the network's UPnP gateway for port mappings by default:
 * SSDP searches on every interface and neighbour-table lookups at each
 * subscription's gathering, for a NAT a receiver on the SFU's network does
 * not have (a public address comes from STUN or TURN, not from this). */
static void no_upnp(GstElement *webrtc)
{
	GObject *ice = NULL, *agent = NULL;

	g_object_get(webrtc, "ice-agent", &ice, NULL);
	if (ice && g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
		g_object_get(ice, "agent", &agent, NULL);
	if (agent && g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
		g_object_set(agent, "upnp", FALSE, NULL);
	if (agent)
		g_object_unref(agent);
	if (ice)
		g_object_unref(ice);
}

/* rtpbin's lip-sync moves a stream (the jitter buffer's ts-offset) when
 * the sender reports disagree with the first packets' timing: told in the
 * log, since it moves that stream in the recording. */
struct jb_note {
	char *log_id;
	guint ssrc;
};

static void jb_note_free(gpointer data, GClosure *closure)
{
	struct jb_note *n = data;
	(void)closure;
	g_free(n->log_id);
	g_free(n);
}

static void on_ts_offset(GObject *jb, GParamSpec *pspec, gpointer data)
{
	struct jb_note *n = data;
	gint64 off = 0;
	(void)pspec;
	g_object_get(jb, "ts-offset", &off, NULL);
	EGW_LOG(n->log_id, DEBUG, "lip-sync: the stream of SSRC %08x moved by %.1f ms", n->ssrc,
	        off / 1e6);
}

static void free_data(gpointer data, GClosure *closure)
{
	(void)closure;
	g_free(data);
}

/* ---- receiver reports an SFU can use ----
 *
 * Janus keeps a subscriber's packets for retransmission as long as the
 * round-trip time its receiver reports give (plus 100 ms, at least its
 * min_nack_queue) and, until a report gives one, not at all. Two things in
 * rtpsession's reports kept that from happening with a bundled receiver:
 * report blocks leave only in regular reports (an early one carries an
 * empty RR and the feedback), every 2.5-7.5 s by the AVPF default and its
 * assumed 64 kbit/s session, and under loss nearly every report went out
 * early because feedback was pending when a regular one was due; and all
 * streams are reported in one RR, which Janus files under the medium of
 * its first report block. So: regular reports every 50-150 ms, early ones
 * allowed again within tens of milliseconds (a 1 Mbit/s session, 5% of it
 * RTCP: at most ~50 kbit/s; measured without loss, 11 reports a second,
 * about 10 kbit/s per subscription), and a video
 * stream's block first in each RR (the video streams taking turns), the
 * stream whose NACKs need the buffer. Measured in the impaired test world
 * (BENCHMARKS.md, "Loss and SFU restarts"). */
#define RTCP_MIN_INTERVAL_NS (100 * GST_MSECOND)
#define RTCP_SESSION_BANDWIDTH_BPS 1e6 /* of which 5% (50 kbit/s) may be RTCP */
#define RR_HEADER 8                    /* version..length, reporter's SSRC */
#define RR_BLOCK 24

static int is_video_ssrc(GObject *sess, guint32 ssrc)
{
	GObject *src = NULL;
	GstStructure *st = NULL;
	gint rate = 0;
	g_signal_emit_by_name(sess, "get-source-by-ssrc", ssrc, &src);
	if (!src)
		return 0;
	g_object_get(src, "stats", &st, NULL);
	if (st)
		gst_structure_get_int(st, "clock-rate", &rate);
	if (st)
		gst_structure_free(st);
	g_object_unref(src);
	return rate == 90000;
}

/* The session's RTCP thread, the session unlocked, the compound writable
 * and not yet encrypted. */
static gboolean on_sending_rtcp(GObject *sess, GstBuffer *buf, gboolean early, gpointer data)
{
	guint *turn = data;
	GstMapInfo map;
	(void)early;
	if (!gst_buffer_map(buf, &map, GST_MAP_READWRITE))
		return FALSE;
	guint8 *p = map.data;
	size_t count = map.size >= RR_HEADER ? p[0] & 0x1f : 0;
	if (map.size >= RR_HEADER + count * RR_BLOCK && (p[0] >> 6) == 2 && p[1] == 201 &&
	    count >= 2) {
		size_t video[31], n = 0;
		for (size_t i = 0; i < count && n < G_N_ELEMENTS(video); i++)
			if (is_video_ssrc(sess, GST_READ_UINT32_BE(p + RR_HEADER + i * RR_BLOCK)))
				video[n++] = i;
		if (n) {
			size_t k = video[(*turn)++ % n];
			guint8 tmp[RR_BLOCK], *a = p + RR_HEADER, *b = a + k * RR_BLOCK;
			memcpy(tmp, a, RR_BLOCK);
			memcpy(a, b, RR_BLOCK);
			memcpy(b, tmp, RR_BLOCK);
		}
	}
	gst_buffer_unmap(buf, &map);
	return FALSE; /* no say in suppression */
}

/* Once per session (the first of its jitter buffers). */
static void tune_session(GObject *sess)
{
	if (g_object_get_data(sess, "egw-tuned"))
		return;
	g_object_set_data(sess, "egw-tuned", GINT_TO_POINTER(1));
	g_object_set(sess, "rtcp-min-interval", (guint64)RTCP_MIN_INTERVAL_NS, "bandwidth",
	             RTCP_SESSION_BANDWIDTH_BPS, NULL);
	g_signal_connect_data(sess, "on-sending-rtcp", G_CALLBACK(on_sending_rtcp),
	                      g_new0(guint, 1), free_data, 0);
}

static void on_new_jitterbuffer(GstElement *rtpbin, GstElement *jb, guint session, guint ssrc,
                                gpointer data)
{
	struct jb_note *n = g_new0(struct jb_note, 1);
	GObject *sess = NULL;
	g_signal_emit_by_name(rtpbin, "get-internal-session", session, &sess);
	if (sess) {
		tune_session(sess);
		/* webrtcbin asks for retransmissions on every stream of a
		 * transceiver with do-nack: not on audio (see on_new_transceiver) */
		if (!is_video_ssrc(sess, ssrc))
			g_object_set(jb, "do-retransmission", FALSE, NULL);
		g_object_unref(sess);
	}
	n->log_id = g_strdup(data);
	n->ssrc = ssrc;
	g_signal_connect_data(jb, "notify::ts-offset", G_CALLBACK(on_ts_offset), n, jb_note_free,
	                      0);
}

/* Lost video packets are asked for again (RTCP NACK, retransmissions as
 * RTX when the sender offers it) within the jitter buffer's latency:
 * without this webrtcbin answers without "nack", and an SFU retransmits
 * nothing. Not audio: Janus offers no NACK for Opus, and an audio jitter
 * buffer waiting for retransmissions that never come moved the first
 * participant's sound in a composite by 10-30 ms (integration.room_tracks:
 * +33..+39 ms with audio NACK in three runs, -4..+35 ms without, as
 * before the change); so on_new_jitterbuffer() turns it off again for
 * every stream without a 90 kHz clock. */
static void on_new_transceiver(GstElement *webrtc, GstWebRTCRTPTransceiver *trans, gpointer unused)
{
	(void)webrtc;
	(void)unused;
	g_object_set(trans, "do-nack", TRUE, NULL);
}

GstElement *egw_webrtc_make(GstBin *bin, const char *log_id, char *errstr, size_t errstr_size)
{
	GstElement *webrtc = gst_element_factory_make("webrtcbin", NULL);
	GstElement *rtpbin;

	if (!webrtc) {
		snprintf(errstr, errstr_size, "GStreamer element webrtcbin is missing");
		return NULL;
	}
	g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 200,
	             NULL);
	no_upnp(webrtc);
	g_signal_connect(webrtc, "on-new-transceiver", G_CALLBACK(on_new_transceiver), NULL);
	/* Time media by its RTP timestamps from the first packet on (the
	 * sender's own clock) rather than by the jitter buffer's arrival-skew
	 * estimate: an SFU (Janus) restarts each stream's RTP time for a subscriber
	 * and its sender reports agree with the first packets' arrival, so
	 * rtpbin's lip-sync has nothing to move mid-recording. */
	rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
	if (rtpbin) {
		gst_util_set_object_arg(G_OBJECT(rtpbin), "buffer-mode", "synced");
		g_signal_connect_data(rtpbin, "new-jitterbuffer", G_CALLBACK(on_new_jitterbuffer),
		                      g_strdup(log_id), free_data, 0);
		gst_object_unref(rtpbin);
	} else
		EGW_LOG(log_id, WARN, "webrtcbin has no rtpbin: jitter buffer mode unchanged");
	if (!gst_bin_add(bin, webrtc)) {
		gst_object_unref(webrtc);
		snprintf(errstr, errstr_size, "cannot add webrtcbin to the pipeline");
		return NULL;
	}
	return gst_object_ref(webrtc);
}

/* An answer to Janus takes the DTLS server role (a=setup:passive): Janus starts
 * the handshake once its own ICE is up. As the client (webrtcbin's
 * choice) our first ClientHello can reach Janus before it has a DTLS
 * context for the handle and be dropped, which costs OpenSSL's 1 s
 * retransmission (seen in 1 of 16 subscriptions when several start at
 * once; none in 48 as the server). Passive costs nothing here: Janus
 * cannot start ICE before it has the answer anyway. */
void egw_webrtc_make_passive(GstSDPMessage *sdp)
{
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(sdp, i);
		for (guint j = 0; j < gst_sdp_media_attributes_len(m); j++) {
			const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, j);
			if (!strcmp(a->key, "setup")) {
				GstSDPAttribute na;
				gst_sdp_attribute_set(&na, "setup", "passive");
				gst_sdp_media_replace_attribute(m, j, &na);
				break;
			}
		}
	}
}

gchar *egw_webrtc_pad_mid(GstPad *pad)
{
	GstWebRTCRTPTransceiver *trans = NULL;
	gchar *mid = NULL;
	g_object_get(pad, "transceiver", &trans, NULL);
	if (trans) {
		g_object_get(trans, "mid", &mid, NULL);
		gst_object_unref(trans);
	}
	return mid;
}
