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

static void free_string(gpointer data, GClosure *closure)
{
	(void)closure;
	g_free(data);
}

static void on_new_jitterbuffer(GstElement *rtpbin, GstElement *jb, guint session, guint ssrc,
                                gpointer data)
{
	struct jb_note *n = g_new0(struct jb_note, 1);
	(void)rtpbin;
	(void)session;
	n->log_id = g_strdup(data);
	n->ssrc = ssrc;
	g_signal_connect_data(jb, "notify::ts-offset", G_CALLBACK(on_ts_offset), n, jb_note_free,
	                      0);
}

/* Lost packets are asked for again (RTCP NACK, retransmissions as RTX
 * when the sender offers it) within the jitter buffer's latency: without
 * this webrtcbin answers without "nack", and an SFU retransmits nothing. */
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
		                      g_strdup(log_id), free_string, 0);
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
