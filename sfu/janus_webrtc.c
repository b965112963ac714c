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
#include "sfu/webrtc.h"

GST_DEBUG_CATEGORY_STATIC(egw_webrtc_debug);
#define GST_CAT_DEFAULT egw_webrtc_debug

static const struct janus_track *track_for_pad(struct janus_sub *sub, GstPad *pad)
{
	gchar *mid = egw_webrtc_pad_mid(pad);
	const struct janus_track *t = NULL;
	for (size_t i = 0; mid && i < sub->n_tracks && !t; i++)
		if (!strcmp(sub->tracks[i].sub_mid, mid))
			t = &sub->tracks[i];
	g_free(mid);
	return t;
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
		sub->discards = egw_source_discard(sub->discards, sub->src->bin, pad);
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
	egw_webrtc_make_passive(answer->sdp);
	g_signal_emit_by_name(sub->webrtc, "set-local-description", answer, NULL);
	/* Take the SDP from the answer itself: the local description is set
	 * asynchronously. */
	gchar *text = gst_sdp_message_as_text(answer->sdp);
	GST_DEBUG("answer:\n%s", text);
	egw_life_invoke(sub->life, send_answer, text, g_free);
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

int egw_janus_webrtc_answer(struct janus_sub *sub, const char *offer_sdp, char *errstr,
			    size_t errstr_size)
{
	GstSDPMessage *sdp = NULL;
	GstWebRTCSessionDescription *offer;

	if (!egw_webrtc_debug)
		GST_DEBUG_CATEGORY_INIT(egw_webrtc_debug, "egw-webrtc", 0, "Janus subscription media");
	GST_DEBUG("offer:\n%s", offer_sdp);
	if (gst_sdp_message_new_from_text(offer_sdp, &sdp) != GST_SDP_OK) {
		snprintf(errstr, errstr_size, "Janus sent an unparsable SDP offer");
		gst_sdp_message_free(sdp);
		return -1;
	}
	if (!(sub->webrtc =
	              egw_webrtc_make(sub->src->bin, JOB_ID(sub->src), errstr, errstr_size))) {
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

void egw_janus_webrtc_remove(struct janus_sub *sub)
{
	if (sub->webrtc) {
		for (int i = 0; i < 3; i++)
			if (sub->sig[i])
				g_signal_handler_disconnect(sub->webrtc, sub->sig[i]);
		memset(sub->sig, 0, sizeof(sub->sig));
		egw_element_drop(sub->src->bin, sub->webrtc);
	}
	egw_source_discards_remove(sub->discards, sub->src->bin);
	sub->discards = NULL;
}
