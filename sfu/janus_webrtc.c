/* The media side of a Janus subscription: a receive-only webrtcbin that
 * answers Janus's offer, trickles its candidates and hands RTP pads to the
 * consumer. webrtcbin calls back on its own threads: signalling goes to the
 * main context through the subscription's life token; pad-added links
 * synchronously under the subscription's lock. */
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "sfu/janus_int.h"

GST_DEBUG_CATEGORY_STATIC(egw_webrtc_debug);
#define GST_CAT_DEFAULT egw_webrtc_debug

static const struct janus_track *track_for_pad(struct janus_sub *sub, GstPad *pad)
{
	GstWebRTCRTPTransceiver *trans = NULL;
	gchar *mid = NULL;
	const struct janus_track *t = NULL;

	g_object_get(pad, "transceiver", &trans, NULL);
	if (trans)
		g_object_get(trans, "mid", &mid, NULL);
	for (size_t i = 0; mid && i < sub->n_tracks && !t; i++)
		if (!strcmp(sub->tracks[i].sub_mid, mid))
			t = &sub->tracks[i];
	g_free(mid);
	if (trans)
		gst_object_unref(trans);
	return t;
}

/* A stream nobody asked for (Janus sent it anyway): drain it into a
 * fakesink that leaves with the subscription. Called with sub->lock. */
static void discard(struct janus_sub *sub, GstPad *pad)
{
	GstElement *sink = gst_element_factory_make("fakesink", NULL);
	GstPad *sinkpad;
	if (!sink)
		return;
	g_object_set(sink, "async", FALSE, "sync", FALSE, NULL);
	if (!gst_bin_add(sub->src->bin, sink)) {
		gst_object_unref(sink);
		return;
	}
	sub->discards = g_slist_prepend(sub->discards, gst_object_ref(sink));
	gst_element_sync_state_with_parent(sink);
	sinkpad = gst_element_get_static_pad(sink, "sink");
	gst_pad_link(pad, sinkpad);
	gst_object_unref(sinkpad);
}

/* Streaming thread: link now, data follows immediately. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer user)
{
	struct janus_sub *sub = user;
	const struct janus_track *t;

	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	g_mutex_lock(&sub->lock);
	if (sub->closed) {
		g_mutex_unlock(&sub->lock);
		return;
	}
	t = track_for_pad(sub, pad);
	if (t && t->wanted) {
		egw_track_t view;
		egw_janus_track_view(sub, t, &view);
		EGW_LOG(JOB_ID(sub->src), INFO, "receiving %s %s of %s (track %s)",
			egw_media2str(t->media), t->codec, view.participant.name, t->id);
		sub->src->ev.track_pad(sub->src->opaque, &view, pad);
	} else {
		GST_INFO("discarding a stream this job does not record");
		discard(sub, pad);
	}
	g_mutex_unlock(&sub->lock);
}

struct candidate {
	int mline;
	char *text; /* NULL: gathering done */
};

static void candidate_free(gpointer p)
{
	struct candidate *c = p;
	g_free(c->text);
	g_free(c);
}

static void send_candidate(void *target, void *data)
{
	struct candidate *c = data;
	struct janus_sub *sub = target;
	EGW_LOG(JOB_ID(sub->src), DEBUG, "candidate %s %.0f ms after join", c->text ? c->text : "(done)",
		(g_get_monotonic_time() - sub->t_join_us) / 1000.0);
	egw_janus_sub_send_candidate(target, c->text, c->mline);
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *cand, gpointer user)
{
	struct janus_sub *sub = user;
	struct candidate *c = g_new0(struct candidate, 1);
	c->mline = (int)mline;
	c->text = g_strdup(cand);
	egw_life_invoke(sub->life, send_candidate, c, candidate_free);
}

static void on_gathering_state(GstElement *webrtc, GParamSpec *ps, gpointer user)
{
	struct janus_sub *sub = user;
	GstWebRTCICEGatheringState state;
	g_object_get(webrtc, "ice-gathering-state", &state, NULL);
	if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
		egw_life_invoke(sub->life, send_candidate, g_new0(struct candidate, 1),
				candidate_free);
}

static void send_answer(void *target, void *data)
{
	egw_janus_sub_send_answer(target, data);
}

/* The promise callbacks hold a reference on the subscription (released
 * with the promise's user data). */
static void sub_unref_notify(gpointer p)
{
	egw_janus_sub_unref(p);
}

/* Emits signal (arg may be NULL) with a promise that webrtcbin owns from
 * then on: if webrtcbin drops it unanswered (stopped first), the promise
 * and its reference on the subscription go with it instead of leaking. */
static void emit_promised(struct janus_sub *sub, const char *signal, gpointer arg,
			  GstPromiseChangeFunc func)
{
	GstPromise *p = gst_promise_new_with_change_func(func, egw_janus_sub_ref(sub),
							 sub_unref_notify);
	g_signal_emit_by_name(sub->webrtc, signal, arg, p);
	gst_promise_unref(p);
}

/* The answer takes the DTLS server role (a=setup:passive): Janus starts
 * the handshake once its own ICE is up. As the client (webrtcbin's
 * choice) our first ClientHello can reach Janus before it has a DTLS
 * context for the handle and be dropped, which costs OpenSSL's 1 s
 * retransmission (seen in 1 of 16 subscriptions when several start at
 * once; none in 48 as the server). Passive costs nothing here: Janus
 * cannot start ICE before it has the answer anyway. */
static void make_passive(GstSDPMessage *sdp)
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

static void on_answer_created(GstPromise *promise, gpointer user)
{
	struct janus_sub *sub = user;
	GstWebRTCSessionDescription *answer = NULL;
	const GstStructure *reply = gst_promise_get_reply(promise);

	if (reply)
		gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
	if (!answer) {
		egw_life_invoke(sub->life, send_answer, NULL, NULL);
		return;
	}
	make_passive(answer->sdp);
	g_signal_emit_by_name(sub->webrtc, "set-local-description", answer, NULL);
	/* Take the SDP from the answer itself: the local description is set
	 * asynchronously. */
	egw_life_invoke(sub->life, send_answer, gst_sdp_message_as_text(answer->sdp), g_free);
	gst_webrtc_session_description_free(answer);
}

static void on_remote_set(GstPromise *promise, gpointer user)
{
	struct janus_sub *sub = user;
	if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
		return; /* interrupted or expired: the subscription is going away */
	emit_promised(sub, "create-answer", NULL, on_answer_created);
}

static void connect_handlers(struct janus_sub *sub)
{
	GCallback fns[3] = {G_CALLBACK(on_pad_added), G_CALLBACK(on_ice_candidate),
			    G_CALLBACK(on_gathering_state)};
	const char *names[3] = {"pad-added", "on-ice-candidate", "notify::ice-gathering-state"};
	for (int i = 0; i < 3; i++)
		sub->sig[i] = g_signal_connect_data(sub->webrtc, names[i], fns[i],
						    egw_janus_sub_ref(sub),
						    (GClosureNotify)(void (*)(void))sub_unref_notify,
						    0);
}

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

static GstElement *make_webrtc(struct janus_sub *sub, char *errstr, size_t errstr_size)
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
	/* Time media by its RTP timestamps from the first packet on (the
	 * sender's own clock) rather than by the jitter buffer's arrival-skew
	 * estimate: Janus restarts each stream's RTP time for a subscriber and
	 * its sender reports agree with the first packets' arrival, so
	 * rtpbin's lip-sync has nothing to move mid-recording. */
	rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
	if (rtpbin) {
		gst_util_set_object_arg(G_OBJECT(rtpbin), "buffer-mode", "synced");
		g_signal_connect_data(rtpbin, "new-jitterbuffer", G_CALLBACK(on_new_jitterbuffer),
		                      g_strdup(JOB_ID(sub->src)), free_string, 0);
		gst_object_unref(rtpbin);
	} else
		EGW_LOG(JOB_ID(sub->src), WARN, "webrtcbin has no rtpbin: jitter buffer mode unchanged");
	if (!gst_bin_add(sub->src->bin, webrtc)) {
		gst_object_unref(webrtc);
		snprintf(errstr, errstr_size, "cannot add webrtcbin to the pipeline");
		return NULL;
	}
	return gst_object_ref(webrtc);
}

int egw_janus_webrtc_answer(struct janus_sub *sub, const char *offer_sdp, char *errstr,
			    size_t errstr_size)
{
	GstSDPMessage *sdp = NULL;
	GstWebRTCSessionDescription *offer;

	if (!egw_webrtc_debug)
		GST_DEBUG_CATEGORY_INIT(egw_webrtc_debug, "egw-webrtc", 0, "Janus subscription media");
	if (gst_sdp_message_new_from_text(offer_sdp, &sdp) != GST_SDP_OK) {
		snprintf(errstr, errstr_size, "Janus sent an unparsable SDP offer");
		gst_sdp_message_free(sdp);
		return -1;
	}
	if (!(sub->webrtc = make_webrtc(sub, errstr, errstr_size))) {
		gst_sdp_message_free(sdp);
		return -1;
	}
	connect_handlers(sub);
	gst_element_sync_state_with_parent(sub->webrtc);
	offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
	emit_promised(sub, "set-remote-description", offer, on_remote_set);
	gst_webrtc_session_description_free(offer);
	return 0;
}

static void remove_element(GstBin *bin, GstElement *e)
{
	gst_element_set_state(e, GST_STATE_NULL);
	gst_bin_remove(bin, e);
}

void egw_janus_webrtc_remove(struct janus_sub *sub)
{
	if (sub->webrtc) {
		for (int i = 0; i < 3; i++)
			if (sub->sig[i])
				g_signal_handler_disconnect(sub->webrtc, sub->sig[i]);
		memset(sub->sig, 0, sizeof(sub->sig));
		remove_element(sub->src->bin, sub->webrtc);
	}
	for (GSList *l = sub->discards; l; l = l->next) {
		remove_element(sub->src->bin, l->data);
		gst_object_unref(l->data);
	}
	g_slist_free(sub->discards);
	sub->discards = NULL;
}
