/* The media side of a Janus subscription: a receive-only webrtcbin that
 * answers Janus's offer, trickles its candidates and hands RTP pads to the
 * pipeline. webrtcbin calls back on its own threads; everything that
 * touches signalling is marshalled to the job's main context. */
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdio.h>
#include <string.h>

#include "sfu/janus_int.h"
#include "base/log.h"

#define JOB_ID(sub) ((sub)->conn->job->egress_id)

struct invoke {
	struct janus_sub *sub;
	void (*fn)(struct janus_sub *, char *);
	char *data;
};

static void sub_clear(gpointer p)
{
	struct janus_sub *sub = p;
	if (sub->webrtc)
		gst_object_unref(sub->webrtc);
	json_decref(sub->feed);
	g_free(sub->feed_str);
	g_free(sub->participant);
	egw_janus_tracks_clear(sub->tracks, sub->n_tracks);
}

struct janus_sub *egw_janus_sub_ref(struct janus_sub *sub)
{
	return g_atomic_rc_box_acquire(sub);
}

void egw_janus_sub_release(struct janus_sub *sub)
{
	if (sub)
		g_atomic_rc_box_release_full(sub, sub_clear);
}

static gboolean invoke_cb(gpointer p)
{
	struct invoke *iv = p;
	if (!iv->sub->closed)
		iv->fn(iv->sub, iv->data);
	return G_SOURCE_REMOVE;
}

static void invoke_free(gpointer p)
{
	struct invoke *iv = p;
	egw_janus_sub_release(iv->sub);
	g_free(iv->data);
	g_free(iv);
}

void egw_janus_sub_invoke(struct janus_sub *sub, void (*fn)(struct janus_sub *, char *), char *data)
{
	struct invoke *iv = g_new0(struct invoke, 1);
	iv->sub = egw_janus_sub_ref(sub);
	iv->fn = fn;
	iv->data = data;
	g_main_context_invoke_full(sub->conn->ctx, G_PRIORITY_DEFAULT, invoke_cb, iv, invoke_free);
}

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

/* Streaming thread: link now, data follows immediately. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer user)
{
	struct janus_sub *sub = user;
	const struct janus_track *t;

	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	t = track_for_pad(sub, pad);
	if (t && t->wanted) {
		egw_sfu_track_t info = {sub->feed_str, sub->participant, t->pub_mid, t->media,
					t->codec};
		EGW_LOG(JOB_ID(sub), INFO, "receiving %s %s of %s (mid %s)",
			t->media == EGW_MEDIA_AUDIO ? "audio" : "video", t->codec, sub->participant,
			t->sub_mid);
		sub->conn->cbs.on_pad(sub->conn->opaque, pad, &info);
		return;
	}
	/* Not wanted by this job: discard. */
	GstElement *sink = gst_element_factory_make("fakesink", NULL);
	if (!sink || !gst_bin_add(sub->conn->bin, sink)) {
		EGW_LOG(JOB_ID(sub), WARN, "cannot discard an unwanted stream");
		return;
	}
	g_object_set(sink, "async", FALSE, "sync", FALSE, NULL);
	gst_element_sync_state_with_parent(sink);
	GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
	gst_pad_link(pad, sinkpad);
	gst_object_unref(sinkpad);
}

static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *cand, gpointer user)
{
	struct janus_sub *sub = user;
	egw_janus_sub_invoke(sub, egw_janus_send_candidate, g_strdup_printf("%u\t%s", mline, cand));
}

static void on_gathering_state(GstElement *webrtc, GParamSpec *ps, gpointer user)
{
	struct janus_sub *sub = user;
	GstWebRTCICEGatheringState state;
	g_object_get(webrtc, "ice-gathering-state", &state, NULL);
	if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
		egw_janus_sub_invoke(sub, egw_janus_send_candidate, NULL);
}

static void on_answer_created(GstPromise *promise, gpointer user)
{
	struct janus_sub *sub = user;
	GstWebRTCSessionDescription *answer = NULL;
	const GstStructure *reply = gst_promise_get_reply(promise);

	if (reply)
		gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
	gst_promise_unref(promise);
	if (!answer) {
		egw_janus_sub_invoke(sub, egw_janus_send_answer, NULL);
		egw_janus_sub_release(sub);
		return;
	}
	g_signal_emit_by_name(sub->webrtc, "set-local-description", answer, NULL);
	/* Take the SDP from the answer itself: the local description is set
	 * asynchronously. */
	egw_janus_sub_invoke(sub, egw_janus_send_answer, gst_sdp_message_as_text(answer->sdp));
	gst_webrtc_session_description_free(answer);
	egw_janus_sub_release(sub);
}

static void on_remote_set(GstPromise *promise, gpointer user)
{
	struct janus_sub *sub = user;
	gst_promise_unref(promise);
	GstPromise *p = gst_promise_new_with_change_func(on_answer_created, sub, NULL);
	g_signal_emit_by_name(sub->webrtc, "create-answer", NULL, p);
}

static GstElement *make_webrtc(struct janus_sub *sub, char *errstr, size_t errstr_size)
{
	GstElement *webrtc = gst_element_factory_make("webrtcbin", NULL);
	if (!webrtc) {
		snprintf(errstr, errstr_size, "GStreamer element webrtcbin is missing");
		return NULL;
	}
	g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", 200,
		     NULL);
	if (!gst_bin_add(sub->conn->bin, webrtc)) {
		snprintf(errstr, errstr_size, "cannot add webrtcbin to the pipeline");
		return NULL;
	}
	/* Time media by its RTP timestamps from the first packet on (the
	 * sender's own clock) rather than by the jitter buffer's arrival-skew
	 * estimate. Janus restarts each stream's RTP time for a subscriber and
	 * its sender reports agree with the first packets' arrival, so
	 * rtpbin's lip-sync has nothing to move mid-recording (its offsets
	 * stay below 1 ms). The one-frame A/V skew once blamed on the skew
	 * estimate came from the recorder's timeline start (see
	 * pipelines/retime.h). */
	GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
	if (rtpbin) {
		gst_util_set_object_arg(G_OBJECT(rtpbin), "buffer-mode", "synced");
		gst_object_unref(rtpbin);
	} else
		EGW_LOG(JOB_ID(sub), WARN, "webrtcbin has no rtpbin: jitter buffer mode unchanged");
	g_signal_connect(webrtc, "pad-added", G_CALLBACK(on_pad_added), sub);
	g_signal_connect(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate), sub);
	g_signal_connect(webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state), sub);
	return gst_object_ref(webrtc);
}

int egw_janus_sub_answer(struct janus_sub *sub, const char *offer_sdp, char *errstr,
			 size_t errstr_size)
{
	GstSDPMessage *sdp = NULL;
	GstWebRTCSessionDescription *offer;

	if (gst_sdp_message_new_from_text(offer_sdp, &sdp) != GST_SDP_OK) {
		snprintf(errstr, errstr_size, "Janus sent an unparsable SDP offer");
		return -1;
	}
	if (!(sub->webrtc = make_webrtc(sub, errstr, errstr_size))) {
		gst_sdp_message_free(sdp);
		return -1;
	}
	gst_element_sync_state_with_parent(sub->webrtc);
	offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
	GstPromise *p = gst_promise_new_with_change_func(on_remote_set, egw_janus_sub_ref(sub), NULL);
	g_signal_emit_by_name(sub->webrtc, "set-remote-description", offer, p);
	gst_webrtc_session_description_free(offer);
	return 0;
}
