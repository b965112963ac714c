/* One Janus subscription: attach a subscriber handle, join the room with
 * ptype "subscriber" (subscribers are not participants: nobody sees us),
 * take Janus's offer ("attached"), keep the streams the filter and the
 * consumer want, switch the others off, answer through webrtcbin. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "sfu/janus_int.h"

#define RETRY_US (1 * G_USEC_PER_SEC)      /* after a failed subscription */
#define NOTHING_US (5 * G_USEC_PER_SEC)    /* publisher has nothing we record */
#define MISSING_US (5 * G_USEC_PER_SEC)    /* a track asked for by id is not there */

static void sub_clear(gpointer p)
{
	struct janus_sub *sub = p;
	if (sub->webrtc)
		gst_object_unref(sub->webrtc);
	egw_life_unref(sub->life);
	egw_janus_tracks_clear(sub->tracks, sub->n_tracks);
	g_mutex_clear(&sub->lock);
}

struct janus_sub *egw_janus_sub_ref(struct janus_sub *sub)
{
	return g_atomic_rc_box_acquire(sub);
}

void egw_janus_sub_unref(struct janus_sub *sub)
{
	if (sub)
		g_atomic_rc_box_release_full(sub, sub_clear);
}

static void on_detached(void *owner, const egw_janus_reply_t *r)
{
	(void)owner;
	(void)r; /* best effort: the session's end detaches it anyway */
}

void egw_janus_sub_close(struct janus_sub *sub, int notify)
{
	struct egw_source *src = sub->src;
	struct janus_pub *pub = sub->pub;

	g_mutex_lock(&sub->lock);
	sub->closed = 1; /* no pad-added handler runs past this point */
	g_mutex_unlock(&sub->lock);
	egw_life_end(sub->life); /* the subscription keeps its own reference */
	egw_janus_forget(src->js, sub);
	/* The graph lets go of the tracks first (it unlinks their pads and
	 * swallows what still comes): webrtcbin then stops without one of
	 * its streaming threads waiting inside the graph (a mixer's pad). */
	for (size_t i = 0; notify && i < sub->n_tracks; i++) {
		if (!sub->tracks[i].wanted)
			continue;
		egw_track_t view;
		egw_janus_track_view(sub, &sub->tracks[i], &view);
		src->ev.track_removed(src->opaque, &view);
	}
	egw_janus_webrtc_remove(sub);
	if (sub->handle && !src->failed)
		egw_janus_detach(src->js, sub->handle, on_detached, src);
	if (pub)
		pub->sub = NULL;
	sub->pub = NULL;
	egw_janus_sub_unref(sub);
}

/* Give up on this subscription for now; the watch tries again later. */
static void retry_later(struct janus_sub *sub, gint64 delay_us)
{
	if (sub->pub)
		sub->pub->retry_at_us = g_get_monotonic_time() + delay_us;
	egw_janus_sub_close(sub, 1);
}

static void on_joined(void *owner, const egw_janus_reply_t *r)
{
	struct janus_sub *sub = owner;
	struct egw_source *src = sub->src;
	if (!r->err)
		return; /* "ack": the offer comes as an "attached" event */
	if (r->err == EGW_ERR_UNAUTHORIZED) {
		egw_janus_fail(src, r->err, "room %s: subscription refused: %s", src->room_id,
			       r->errmsg);
		return;
	}
	/* No such feed: the publisher just left; the watch sees it. */
	EGW_LOG(JOB_ID(src), WARN, "subscribing to %s: %s", sub->pub->name, r->errmsg);
	retry_later(sub, RETRY_US);
}

/* The mid of track id tid (`<publisher id>/<mid>`) when it is one of pub's,
 * else NULL. */
static const char *mid_of(const struct janus_pub *pub, const char *tid)
{
	size_t idlen = strlen(pub->id);
	return strncmp(tid, pub->id, idlen) || tid[idlen] != '/' ? NULL : tid + idlen + 1;
}

/* The streams to ask for: the whole feed, or, for tracks given by id,
 * just their streams (mids) of this publisher. */
static json_t *join_streams(struct janus_sub *sub)
{
	struct egw_source *src = sub->src;
	json_t *list = json_array();

	for (size_t i = 0; i < EGW_SOURCE_TRACK_IDS_MAX && src->filter.track_ids[i]; i++) {
		const char *mid = mid_of(sub->pub, src->filter.track_ids[i]);
		if (mid)
			json_array_append_new(
			        list, json_pack("{s:O, s:s}", "feed", sub->pub->feed, "mid", mid));
	}
	if (!json_array_size(list))
		json_array_append_new(list, json_pack("{s:O}", "feed", sub->pub->feed));
	return list;
}

static void on_attached(void *owner, const egw_janus_reply_t *r)
{
	struct janus_sub *sub = owner;
	struct egw_source *src = sub->src;
	json_t *body, *streams;

	if (r->err) {
		EGW_LOG(JOB_ID(src), WARN, "subscribing to %s: %s", sub->pub->name, r->errmsg);
		retry_later(sub, RETRY_US);
		return;
	}
	sub->handle = r->id;
	streams = join_streams(sub);
	body = json_pack("{s:s, s:s, s:O, s:o}", "request", "join", "ptype", "subscriber", "room",
			 src->room, "streams", streams);
	if (src->pin)
		json_object_set_new(body, "pin", json_string(src->pin));
	egw_janus_message(src->js, sub->handle, body, NULL, on_joined, sub);
}

void egw_janus_subscribe(struct janus_pub *pub)
{
	struct egw_source *src = pub->src;
	struct janus_sub *sub = g_atomic_rc_box_new0(struct janus_sub);

	g_mutex_init(&sub->lock);
	sub->src = src;
	sub->pub = pub;
	sub->life = egw_life_ref(egw_life_new(src->ctx, sub)); /* owner's + ours */
	sub->t_join_us = g_get_monotonic_time();
	pub->sub = sub;
	EGW_LOG(JOB_ID(src), INFO, "subscribing to %s (feed %s)", pub->name, pub->id);
	egw_janus_attach(src->js, VIDEOROOM, on_attached, sub);
}

/* ---- the offer ---- */

static void on_configured(void *owner, const egw_janus_reply_t *r)
{
	struct janus_sub *sub = owner;
	if (r->err)
		EGW_LOG(JOB_ID(sub->src), WARN, "switching off unwanted streams: %s", r->errmsg);
}

/* Decides which streams this job takes; returns how many. Streams the
 * filter selects go to the consumer (which may refuse them); Janus is
 * asked not to send the rest. */
static size_t choose_tracks(struct janus_sub *sub)
{
	struct egw_source *src = sub->src;
	json_t *off = json_array();
	size_t n = 0;
	char errstr[512];

	for (size_t i = 0; i < sub->n_tracks; i++) {
		struct janus_track *t = &sub->tracks[i];
		egw_track_t view;
		egw_janus_track_view(sub, t, &view);
		t->wanted = t->active && egw_source_filter_track(&src->spec.filter, &view);
		if (t->wanted && src->ev.track_added(src->opaque, &view, errstr, sizeof(errstr))) {
			EGW_LOG(JOB_ID(src), WARN, "%s %s of %s not recorded: %s",
				egw_media2str(t->media), t->codec, sub->pub->name, errstr);
			t->wanted = 0;
		}
		if (t->wanted)
			n++;
		else if (t->active)
			json_array_append_new(off, json_pack("{s:s, s:b}", "mid", t->sub_mid, "send", 0));
	}
	if (n && json_array_size(off))
		egw_janus_message(src->js, sub->handle,
				  json_pack("{s:s, s:o}", "request", "configure", "streams", off),
				  NULL, on_configured, sub);
	else
		json_decref(off);
	return n;
}

static void take_offer(struct janus_sub *sub, json_t *data, json_t *jsep)
{
	struct egw_source *src = sub->src;
	EGW_LOG(JOB_ID(src), DEBUG, "offer for %s %.0f ms after join", sub->pub->name,
		(g_get_monotonic_time() - sub->t_join_us) / 1000.0);
	const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
	char errstr[512];

	if (!sdp || sub->webrtc) {
		/* Janus renegotiates (the publisher changed its streams): the
		 * simplest correct answer is a new subscription. */
		EGW_LOG(JOB_ID(src), INFO, "subscription of %s changed; resubscribing",
			sub->pub->name);
		retry_later(sub, 0);
		return;
	}
	sub->n_tracks = egw_janus_streams_map(json_object_get(data, "streams"), sub->pub->id,
					      sub->tracks, EGW_JANUS_MAX_TRACKS);
	if (!choose_tracks(sub)) {
		EGW_LOG(JOB_ID(src), INFO, "%s publishes nothing this job records", sub->pub->name);
		retry_later(sub, NOTHING_US);
		return;
	}
	if (egw_janus_webrtc_answer(sub, sdp, errstr, sizeof(errstr)))
		egw_janus_fail(src, EGW_ERR_MEDIA, "%s", errstr);
}

/* ---- signalling for the media side ---- */

static void on_started(void *owner, const egw_janus_reply_t *r)
{
	struct janus_sub *sub = owner;
	if (r->err) {
		EGW_LOG(JOB_ID(sub->src), WARN, "start of the subscription to %s refused: %s",
			sub->pub->name, r->errmsg);
		retry_later(sub, RETRY_US);
	}
}

void egw_janus_sub_send_answer(struct janus_sub *sub, const char *sdp)
{
	struct egw_source *src = sub->src;
	if (!sdp) {
		egw_janus_fail(src, EGW_ERR_MEDIA, "webrtcbin could not answer Janus's offer");
		return;
	}
	EGW_LOG(JOB_ID(src), DEBUG, "answer for %s %.0f ms after join", sub->pub->name,
		(g_get_monotonic_time() - sub->t_join_us) / 1000.0);
	egw_janus_message(src->js, sub->handle, json_pack("{s:s}", "request", "start"),
			  json_pack("{s:s, s:s}", "type", "answer", "sdp", sdp), on_started, sub);
}

void egw_janus_sub_send_candidate(struct janus_sub *sub, const char *candidate, int mline)
{
	egw_janus_trickle(sub->src->js, sub->handle, candidate, mline, NULL, sub);
}

/* ---- events ---- */

/* Janus refused the subscription because a track asked for by id is not
 * among the publisher's streams ("No such mid 'x' in feed (...)"): a
 * wrong id, or a track not published yet. Told once per publisher (a
 * warning and the consumer's track_missing), then asked again quietly. */
static void no_such_track(struct janus_sub *sub, const char *msg)
{
	struct egw_source *src = sub->src;
	struct janus_pub *pub = sub->pub;
	const char *track = NULL;

	if (!pub)
		return;
	if (pub->missing_told) {
		EGW_LOG(JOB_ID(src), DEBUG, "subscription to %s: %s; asking again in %d s",
		        pub->name, msg, (int)(MISSING_US / G_USEC_PER_SEC));
		return;
	}
	pub->missing_told = 1;
	for (size_t i = 0; i < EGW_SOURCE_TRACK_IDS_MAX && src->filter.track_ids[i]; i++) {
		const char *tid = src->filter.track_ids[i], *mid = mid_of(pub, tid);
		char *quoted;
		int named;
		if (!mid)
			continue;
		quoted = g_strdup_printf("'%s'", mid);
		named = strstr(msg, quoted) != NULL;
		g_free(quoted);
		if (named || !track)
			track = tid;
		if (named)
			break;
	}
	EGW_LOG(JOB_ID(src), WARN,
	        "%s does not publish track %s (Janus: %s); going on without it, asking again "
	        "every %d s",
	        pub->name, track ? track : pub->id, msg, (int)(MISSING_US / G_USEC_PER_SEC));
	if (src->ev.track_missing) {
		egw_participant_t view = {pub->id, pub->name};
		char why[256];
		snprintf(why, sizeof(why), "%s does not publish this track (Janus: %s)", pub->name,
		         msg);
		src->ev.track_missing(src->opaque, &view, track ? track : pub->id, why);
	}
}

void egw_janus_sub_event(struct janus_sub *sub, json_t *ev)
{
	struct egw_source *src = sub->src;
	const char *type = json_string_value(json_object_get(ev, "janus"));
	json_t *data = json_object_get(json_object_get(ev, "plugindata"), "data");
	const char *vr = json_string_value(json_object_get(data, "videoroom"));

	if (!type)
		return;
	if (!strcmp(type, "event") && vr && !strcmp(vr, "attached")) {
		take_offer(sub, data, json_object_get(ev, "jsep"));
	} else if (!strcmp(type, "event") && json_object_get(data, "error")) {
		int code = (int)json_integer_value(json_object_get(data, "error_code"));
		const char *msg = json_string_value(json_object_get(data, "error"));
		if (egw_janus_classify(code) == EGW_ERR_UNAUTHORIZED) {
			egw_janus_fail(src, EGW_ERR_UNAUTHORIZED,
				       "room %s: subscription refused: Janus error %d: %s",
				       src->room_id, code, msg ? msg : "(no message)");
			return;
		}
		if (msg && strstr(msg, "No such mid")) {
			no_such_track(sub, msg);
			retry_later(sub, MISSING_US);
			return;
		}
		EGW_LOG(JOB_ID(src), WARN, "subscription to %s: %s", sub->pub->name, msg);
		retry_later(sub, RETRY_US);
	} else if (!strcmp(type, "event") && json_object_get(ev, "jsep")) {
		take_offer(sub, data, json_object_get(ev, "jsep"));
	} else if (!strcmp(type, "webrtcup")) {
		/* The element count shows that nothing piles up across
		 * resubscriptions (tests read it). */
		EGW_LOG(JOB_ID(src), INFO,
			"subscribed to %s: PeerConnection up %.0f ms after join (pipeline: %d elements)",
			sub->pub->name, (g_get_monotonic_time() - sub->t_join_us) / 1000.0,
			GST_BIN_NUMCHILDREN(src->bin));
	} else if (!strcmp(type, "hangup") || !strcmp(type, "detached")) {
		EGW_LOG(JOB_ID(src), INFO, "Janus hung up the subscription to %s (%s)",
			sub->pub->name, json_string_value(json_object_get(ev, "reason")) ?: type);
		retry_later(sub, 0);
	}
}
