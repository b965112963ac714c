/* The media side of a WHEP session: a receive-only webrtcbin that makes the
 * offer (or answers the server's), hands its candidates and descriptions to
 * the signalling (sfu/whep.c) on the main context, and its RTP pads to the
 * consumer. */
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "sfu/webrtc.h"
#include "sfu/whep_int.h"

/* Codecs offered, per medium (what the pipelines depayload). */
static const char *const audio_caps =
        "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111";
static const char *const video_caps =
        "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=96;"
        "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=102,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f;"
        "application/x-rtp,media=video,encoding-name=VP9,clock-rate=90000,payload=98";

/* ---- from webrtcbin's threads to the main context ---- */

struct text_msg {
	int mline;
	char *text;
	int kind; /* 0 candidate, 1 offer, 2 answer, 3 connection state */
};

static void text_msg_free(gpointer p)
{
	struct text_msg *m = p;
	g_free(m->text);
	g_free(m);
}

static void deliver(void *target, void *data)
{
	struct whep_peer *peer = target;
	struct text_msg *m = data;
	switch (m->kind) {
	case 0:
		egw_whep_candidate(peer, m->mline, m->text);
		break;
	case 1:
		egw_whep_send_offer(peer, m->text);
		break;
	case 2:
		egw_whep_send_answer(peer, m->text);
		break;
	default:
		egw_whep_ended(peer, m->text);
	}
}

static void post(struct whep_peer *peer, int kind, int mline, char *text)
{
	struct text_msg *m = g_new0(struct text_msg, 1);
	m->kind = kind;
	m->mline = mline;
	m->text = text;
	egw_life_invoke(peer->life, deliver, m, text_msg_free);
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *cand, gpointer user)
{
	(void)webrtc;
	post(user, 0, (int)mline, g_strdup(cand));
}

static void on_gathering_state(GstElement *webrtc, GParamSpec *ps, gpointer user)
{
	GstWebRTCICEGatheringState state;
	(void)ps;
	g_object_get(webrtc, "ice-gathering-state", &state, NULL);
	if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
		post(user, 0, 0, NULL);
}

static void on_connection_state(GstElement *webrtc, GParamSpec *ps, gpointer user)
{
	GstWebRTCPeerConnectionState state;
	(void)ps;
	g_object_get(webrtc, "connection-state", &state, NULL);
	if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
		post(user, 3, 0, g_strdup("the connection failed"));
	else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
		post(user, 3, 0, g_strdup("the server closed the session"));
}

static const struct whep_track *track_for_pad(struct whep_peer *peer, GstPad *pad)
{
	gchar *mid = egw_webrtc_pad_mid(pad);
	const struct whep_track *t = NULL;
	for (size_t i = 0; mid && i < peer->n_tracks && !t; i++)
		if (!strcmp(peer->tracks[i].mid, mid))
			t = &peer->tracks[i];
	g_free(mid);
	return t;
}

/* Streaming thread: link now, data follows immediately. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer user)
{
	struct whep_peer *peer = user;
	const struct whep_track *t;
	(void)webrtc;
	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	g_mutex_lock(&peer->lock);
	if (!peer->closed) {
		t = track_for_pad(peer, pad);
		if (t && t->announced) {
			egw_track_t view;
			egw_whep_track_view(peer, t, &view);
			EGW_LOG(JOB_ID(peer->src), INFO, "receiving %s %s of %s (track %s)",
			        egw_media2str(t->media), t->codec, peer->name, t->id);
			gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, egw_source_count_buffers,
			                  &peer->packets, NULL);
			peer->src->ev.track_pad(peer->src->opaque, &view, pad);
		} else
			peer->discards = egw_source_discard(peer->discards, peer->src->bin, pad);
	}
	g_mutex_unlock(&peer->lock);
}

/* ---- descriptions ---- */

/* The offer or answer was made: set it, and send it (with its ICE
 * credentials noted for trickling) from the main context. */
static void described(GstPromise *promise, gpointer user, const char *field, int kind)
{
	struct whep_peer *peer = user;
	GstWebRTCSessionDescription *desc = NULL;
	const GstStructure *reply = gst_promise_get_reply(promise);

	if (reply)
		gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, NULL);
	if (!desc) {
		post(peer, kind, 0, NULL);
		return;
	}
	if (kind == 2)
		egw_webrtc_make_passive(desc->sdp);
	g_signal_emit_by_name(peer->webrtc, "set-local-description", desc, NULL);
	post(peer, kind, 0, gst_sdp_message_as_text(desc->sdp));
	gst_webrtc_session_description_free(desc);
}

static void on_offer_created(GstPromise *promise, gpointer user)
{
	described(promise, user, "offer", 1);
}

static void on_answer_created(GstPromise *promise, gpointer user)
{
	described(promise, user, "answer", 2);
}

/* The promise's callback runs on webrtcbin's thread with the peer, which
 * outlives webrtcbin (see egw_whep_media_start). */
static void emit_promised(struct whep_peer *peer, const char *signal, gpointer arg,
                          GstPromiseChangeFunc func)
{
	GstPromise *p = gst_promise_new_with_change_func(func, peer, NULL);
	g_signal_emit_by_name(peer->webrtc, signal, arg, p);
	gst_promise_unref(p);
}

static void on_remote_set(GstPromise *promise, gpointer user)
{
	struct whep_peer *peer = user;
	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
		return;
	emit_promised(peer, "create-answer", NULL, on_answer_created);
}

void egw_whep_media_remote(struct whep_peer *peer, GstSDPMessage *sdp, int is_offer)
{
	GstWebRTCSessionDescription *desc = gst_webrtc_session_description_new(
	        is_offer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
	if (is_offer)
		emit_promised(peer, "set-remote-description", desc, on_remote_set);
	else
		g_signal_emit_by_name(peer->webrtc, "set-remote-description", desc, NULL);
	gst_webrtc_session_description_free(desc);
}

static int add_transceiver(struct whep_peer *peer, const char *caps_text)
{
	GstCaps *caps = gst_caps_from_string(caps_text);
	GstWebRTCRTPTransceiver *trans = NULL;
	g_signal_emit_by_name(peer->webrtc, "add-transceiver",
	                      GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &trans);
	gst_caps_unref(caps);
	if (!trans)
		return -1;
	gst_object_unref(trans);
	return 0;
}

int egw_whep_media_start(struct whep_peer *peer, int make_offer, char *errstr, size_t errstr_size)
{
	GCallback fns[4] = {G_CALLBACK(on_pad_added), G_CALLBACK(on_ice_candidate),
	                    G_CALLBACK(on_gathering_state), G_CALLBACK(on_connection_state)};
	const char *names[4] = {"pad-added", "on-ice-candidate", "notify::ice-gathering-state",
	                        "notify::connection-state"};
	unsigned media = peer->src->filter.filter.media;

	if (!(peer->webrtc =
	              egw_webrtc_make(peer->src->bin, JOB_ID(peer->src), errstr, errstr_size)))
		return -1;
	/* The handlers' data is the peer itself: it outlives webrtcbin, whose
	 * handlers are disconnected and which leaves the bin (its threads
	 * stopped) before the peer is freed. Cross-thread work goes through
	 * the peer's life token. */
	for (int i = 0; i < 4; i++)
		peer->sig[i] = g_signal_connect(peer->webrtc, names[i], fns[i], peer);
	if (make_offer &&
	    (((!media || (media & EGW_SOURCE_AUDIO)) && add_transceiver(peer, audio_caps)) ||
	     ((!media || (media & EGW_SOURCE_VIDEO)) && add_transceiver(peer, video_caps)))) {
		snprintf(errstr, errstr_size, "webrtcbin refused a receive-only transceiver");
		return -1;
	}
	gst_element_sync_state_with_parent(peer->webrtc);
	if (make_offer)
		emit_promised(peer, "create-offer", NULL, on_offer_created);
	return 0;
}

/* <uri>; rel="ice-server"; username="u"; credential="c" (a list, comma
 * separated). STUN URIs become webrtcbin's stun-server, TURN ones are
 * added with their credentials. */
void egw_whep_media_ice_servers(struct whep_peer *peer, const char *link)
{
	gchar **links = g_strsplit(link, ",", -1);
	int n = 0;
	for (gchar **l = links; *l; l++) {
		char uri[512] = "", user[256] = "", cred[256] = "";
		const char *lt = strchr(*l, '<'), *gt = lt ? strchr(lt, '>') : NULL, *p;
		if (!gt || !strstr(gt, "ice-server") || (size_t)(gt - lt - 1) >= sizeof(uri))
			continue;
		memcpy(uri, lt + 1, (size_t)(gt - lt - 1));
		if ((p = strstr(gt, "username=\"")))
			sscanf(p + 10, "%255[^\"]", user);
		if ((p = strstr(gt, "credential=\"")))
			sscanf(p + 12, "%255[^\"]", cred);
		if (!strncmp(uri, "stun:", 5)) {
			gchar *s = g_strdup_printf("stun://%s", uri + 5);
			g_object_set(peer->webrtc, "stun-server", s, NULL);
			g_free(s);
			n++;
		} else if (!strncmp(uri, "turn:", 5) || !strncmp(uri, "turns:", 6)) {
			int tls = uri[4] == 's';
			char *q = strchr(uri, '?');
			gchar *s, *ue = g_uri_escape_string(user, NULL, FALSE),
			          *ce = g_uri_escape_string(cred, NULL, FALSE);
			gboolean ok = FALSE;
			if (q)
				*q = '\0';
			s = g_strdup_printf("%s://%s:%s@%s", tls ? "turns" : "turn", ue, ce,
			                    uri + (tls ? 6 : 5));
			g_signal_emit_by_name(peer->webrtc, "add-turn-server", s, &ok);
			n += ok ? 1 : 0;
			g_free(s);
			g_free(ue);
			g_free(ce);
		}
	}
	g_strfreev(links);
	if (n)
		EGW_LOG(JOB_ID(peer->src), INFO, "%s: %d ICE server%s from the WHEP server",
		        peer->name, n, n == 1 ? "" : "s");
}

void egw_whep_media_remove(struct whep_peer *peer)
{
	if (peer->webrtc) {
		for (int i = 0; i < 4; i++)
			if (peer->sig[i])
				g_signal_handler_disconnect(peer->webrtc, peer->sig[i]);
		memset(peer->sig, 0, sizeof(peer->sig));
		egw_element_drop(peer->src->bin, peer->webrtc);
		gst_object_unref(peer->webrtc);
		peer->webrtc = NULL;
	}
	egw_source_discards_remove(peer->discards, peer->src->bin);
	peer->discards = NULL;
}
