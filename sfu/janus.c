/* Janus VideoRoom adapter: joins a room as a hidden subscriber (it never
 * joins as a publisher, so participants never see it), follows the target
 * participant with listparticipants, subscribes to its feed and
 * resubscribes when it publishes again. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sfu/janus_int.h"
#include "base/log.h"

#define WATCH_MS 500
#define WATCH_TRIES 10 /* consecutive failures before the SFU counts as gone */
#define VIDEOROOM "janus.plugin.videoroom"

#define JOB_ID(c) ((c)->job->egress_id)

void egw_janus_fail(struct egw_sfu_conn *c, egw_err_t err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->failed)
		return;
	c->failed = 1;
	EGW_LOG(JOB_ID(c), ERROR, "%s", msg);
	c->cbs.on_error(c->opaque, err, msg);
}

static void sub_close(struct egw_sfu_conn *c, int notify)
{
	struct janus_sub *sub = c->sub;
	if (!sub)
		return;
	c->sub = NULL;
	sub->closed = 1;
	if (sub->handle)
		egw_janus_detach(c->js, sub->handle);
	if (sub->webrtc) {
		gst_element_set_state(sub->webrtc, GST_STATE_NULL);
		gst_bin_remove(c->bin, sub->webrtc);
	}
	if (notify && c->cbs.on_unpublished)
		c->cbs.on_unpublished(c->opaque, sub->participant);
	egw_janus_sub_release(sub);
}

static egw_err_t subscribe(struct egw_sfu_conn *c, json_t *feed, const char *display)
{
	char errstr[512];
	struct janus_sub *sub = g_atomic_rc_box_new0(struct janus_sub);
	json_t *body;
	egw_err_t err;

	sub->conn = c;
	sub->feed = json_incref(feed);
	sub->feed_str = json_is_integer(feed)
				? g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(feed))
				: g_strdup(json_string_value(feed));
	sub->participant = g_strdup(display ? display : sub->feed_str);
	sub->t_join_us = g_get_monotonic_time();
	c->sub = sub;
	if ((err = egw_janus_attach(c->js, VIDEOROOM, &sub->handle, errstr, sizeof(errstr)))) {
		egw_janus_fail(c, err, "attaching a subscriber: %s", errstr);
		return err;
	}
	body = json_pack("{s:s, s:s, s:O, s:[{s:O}]}", "request", "join", "ptype", "subscriber",
			 "room", c->room, "streams", "feed", feed);
	if (c->job->room.pin)
		json_object_set_new(body, "pin", json_string(c->job->room.pin));
	err = egw_janus_message(c->js, sub->handle, body, NULL, NULL, errstr, sizeof(errstr));
	json_decref(body);
	if (err) {
		/* The publisher may have just left; the watch retries. */
		EGW_LOG(JOB_ID(c), WARN, "subscribing to %s failed: %s", sub->participant, errstr);
		sub_close(c, 0);
		return err;
	}
	EGW_LOG(JOB_ID(c), INFO, "subscribing to %s (feed %s)", sub->participant, sub->feed_str);
	return EGW_OK;
}

static int matches(const egw_job_t *job, json_t *p)
{
	const char *want = job->source.participant;
	const char *display = json_string_value(json_object_get(p, "display"));
	json_t *id = json_object_get(p, "id");
	char idbuf[64];

	if (!want)
		return 0;
	if (display && !strcmp(display, want))
		return 1;
	if (json_is_integer(id)) {
		snprintf(idbuf, sizeof(idbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		return !strcmp(idbuf, want);
	}
	return json_is_string(id) && !strcmp(json_string_value(id), want);
}

/* Janus's publishers in the room (a new reference) or NULL with errstr. */
static json_t *list_publishers(struct egw_sfu_conn *c, egw_err_t *err, char *errstr,
			       size_t errstr_size)
{
	json_t *body = json_pack("{s:s, s:O}", "request", "listparticipants", "room", c->room);
	json_t *resp = NULL, *list;

	*err = egw_janus_message(c->js, c->ctl_handle, body, NULL, &resp, errstr, errstr_size);
	json_decref(body);
	if (*err) {
		if (*err == EGW_ERR_SFU && strstr(errstr, "room"))
			*err = EGW_ERR_NOT_FOUND;
		json_decref(resp);
		return NULL;
	}
	list = json_object_get(json_object_get(json_object_get(resp, "plugindata"), "data"),
			       "participants");
	list = json_is_array(list) ? json_incref(list) : json_array();
	json_decref(resp);
	return list;
}

/* Main context, every WATCH_MS: is the participant publishing? */
static gboolean watch(gpointer user)
{
	struct egw_sfu_conn *c = user;
	char errstr[512];
	json_t *list, *p, *found = NULL;
	size_t i;
	egw_err_t err;

	if (c->failed)
		return G_SOURCE_REMOVE;
	if (!(list = list_publishers(c, &err, errstr, sizeof(errstr)))) {
		/* A missing room is final; an unreachable SFU gets a few tries. */
		if (err == EGW_ERR_NOT_FOUND || ++c->watch_failures >= WATCH_TRIES) {
			egw_janus_fail(c, err, "room %s: %s", c->job->room.room_id, errstr);
			return G_SOURCE_REMOVE;
		}
		EGW_LOG(JOB_ID(c), WARN, "room %s: %s; retrying", c->job->room.room_id, errstr);
		return G_SOURCE_CONTINUE;
	}
	c->watch_failures = 0;
	json_array_foreach(list, i, p) {
		if (json_is_true(json_object_get(p, "publisher")) && matches(c->job, p))
			found = p;
	}
	if (c->sub && (!found || !json_equal(json_object_get(found, "id"), c->sub->feed))) {
		EGW_LOG(JOB_ID(c), INFO, "%s stopped publishing", c->sub->participant);
		sub_close(c, 1);
	}
	if (found && !c->sub)
		subscribe(c, json_object_get(found, "id"),
			  json_string_value(json_object_get(found, "display")));
	json_decref(list);
	return G_SOURCE_CONTINUE;
}

static int collect_tracks(struct janus_sub *sub, json_t *streams, egw_sfu_track_t *out,
			  size_t *n_out)
{
	sub->n_tracks = egw_janus_streams_map(streams, sub->conn->job, sub->tracks,
					      EGW_JANUS_MAX_TRACKS);
	*n_out = 0;
	for (size_t i = 0; i < sub->n_tracks; i++) {
		const struct janus_track *t = &sub->tracks[i];
		if (t->wanted)
			out[(*n_out)++] = (egw_sfu_track_t){sub->feed_str, sub->participant,
							    t->pub_mid, t->media, t->codec};
	}
	return *n_out > 0;
}

/* "attached": Janus's offer for our subscription. */
static void on_attached(struct egw_sfu_conn *c, struct janus_sub *sub, json_t *data, json_t *jsep)
{
	egw_sfu_track_t tracks[EGW_JANUS_MAX_TRACKS];
	size_t n;
	char errstr[512];
	const char *sdp = json_string_value(json_object_get(jsep, "sdp"));

	if (!sdp || sub->webrtc) {
		EGW_LOG(JOB_ID(c), WARN, "unexpected subscriber offer; resubscribing");
		sub_close(c, 1);
		return;
	}
	if (!collect_tracks(sub, json_object_get(data, "streams"), tracks, &n)) {
		EGW_LOG(JOB_ID(c), INFO, "%s publishes nothing this job records yet", sub->participant);
		sub_close(c, 0);
		return;
	}
	egw_err_t err = c->cbs.on_tracks(c->opaque, tracks, n, errstr, sizeof(errstr));
	if (err) {
		egw_janus_fail(c, err, "%s", errstr);
		return;
	}
	if (egw_janus_sub_answer(sub, sdp, errstr, sizeof(errstr)))
		egw_janus_fail(c, EGW_ERR_MEDIA, "%s", errstr);
}

void egw_janus_send_answer(struct janus_sub *sub, char *sdp)
{
	struct egw_sfu_conn *c = sub->conn;
	char errstr[512];
	json_t *body, *jsep;
	egw_err_t err;

	if (!sdp) {
		egw_janus_fail(c, EGW_ERR_MEDIA, "webrtcbin could not answer Janus's offer");
		return;
	}
	body = json_pack("{s:s}", "request", "start");
	jsep = json_pack("{s:s, s:s}", "type", "answer", "sdp", sdp);
	err = egw_janus_message(c->js, sub->handle, body, jsep, NULL, errstr, sizeof(errstr));
	json_decref(body);
	json_decref(jsep);
	if (err)
		EGW_LOG(JOB_ID(c), WARN, "start of subscription refused: %s", errstr);
}

void egw_janus_send_candidate(struct janus_sub *sub, char *data)
{
	char *tab = data ? strchr(data, '\t') : NULL;
	int mline = data ? atoi(data) : 0;
	egw_janus_trickle(sub->conn->js, sub->handle, tab ? tab + 1 : NULL, NULL, mline);
}

/* Main context: one event from the long-poll. */
static void dispatch(struct egw_sfu_conn *c, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "janus"));
	json_t *sender = json_object_get(ev, "sender");
	struct janus_sub *sub = c->sub;
	json_t *data = json_object_get(json_object_get(ev, "plugindata"), "data");
	const char *vr = json_string_value(json_object_get(data, "videoroom"));

	if (!type || !sub || !json_is_integer(sender) || (uint64_t)json_integer_value(sender) != sub->handle)
		return;
	if (!strcmp(type, "event") && vr && !strcmp(vr, "attached"))
		on_attached(c, sub, data, json_object_get(ev, "jsep"));
	else if (!strcmp(type, "event") && json_object_get(data, "error")) {
		EGW_LOG(JOB_ID(c), WARN, "subscription error: %s",
			json_string_value(json_object_get(data, "error")));
		sub_close(c, 1);
	} else if (!strcmp(type, "event") && json_object_get(ev, "jsep")) {
		/* Janus renegotiates (publisher changed its streams): start over. */
		EGW_LOG(JOB_ID(c), INFO, "subscription of %s changed; resubscribing", sub->participant);
		sub_close(c, 1);
	} else if (!strcmp(type, "webrtcup"))
		EGW_LOG(JOB_ID(c), INFO, "subscribed to %s: PeerConnection up %.0f ms after join",
			sub->participant, (g_get_monotonic_time() - sub->t_join_us) / 1000.0);
	else if (!strcmp(type, "hangup") || !strcmp(type, "detached")) {
		EGW_LOG(JOB_ID(c), INFO, "Janus hung up the subscription to %s (%s)", sub->participant,
			json_string_value(json_object_get(ev, "reason")) ?: type);
		sub_close(c, 1);
	}
}

struct poll_batch {
	struct egw_sfu_conn *conn;
	json_t *events;
};

static gboolean dispatch_batch(gpointer p)
{
	struct poll_batch *b = p;
	size_t i;
	json_t *ev;
	json_array_foreach(b->events, i, ev) {
		if (!g_atomic_int_get(&b->conn->stopping))
			dispatch(b->conn, ev);
	}
	return G_SOURCE_REMOVE;
}

static void batch_free(gpointer p)
{
	struct poll_batch *b = p;
	json_decref(b->events);
	g_free(b);
}

static gpointer poll_thread(gpointer user)
{
	struct egw_sfu_conn *c = user;
	char errstr[512];
	int failures = 0;
	while (!g_atomic_int_get(&c->stopping)) {
		json_t *events = NULL;
		egw_err_t err = egw_janus_poll(c->js, 10, &events, errstr, sizeof(errstr));
		if (err) {
			if (g_atomic_int_get(&c->stopping))
				break;
			EGW_LOG(JOB_ID(c), WARN, "Janus event poll: %s", errstr);
			if (++failures >= 10)
				break; /* the watch reports the SFU as gone */
			g_usleep(500 * 1000);
			continue;
		}
		failures = 0;
		struct poll_batch *b = g_new0(struct poll_batch, 1);
		b->conn = c;
		b->events = events;
		g_main_context_invoke_full(c->ctx, G_PRIORITY_DEFAULT, dispatch_batch, b, batch_free);
	}
	return NULL;
}

static void janus_close(egw_sfu_conn_t *c);

static gboolean watch_once(gpointer user)
{
	struct egw_sfu_conn *c = user;
	if (!c->failed && watch(c) == G_SOURCE_REMOVE)
		g_source_destroy(c->watch);
	return G_SOURCE_REMOVE;
}

static egw_sfu_conn_t *janus_connect(const egw_job_t *job, GstBin *bin, GMainContext *ctx,
				     const egw_sfu_callbacks_t *cbs, void *opaque, int timeout_ms,
				     char *errstr, size_t errstr_size)
{
	struct egw_sfu_conn *c = g_new0(struct egw_sfu_conn, 1);
	egw_err_t err;

	c->job = job;
	c->bin = bin;
	c->ctx = ctx;
	c->cbs = *cbs;
	c->opaque = opaque;
	c->room = job->room.room_id_is_number ? json_integer(g_ascii_strtoll(job->room.room_id, NULL, 10))
					      : json_string(job->room.room_id);
	if (!(c->js = egw_janus_session_create(job->room.url, timeout_ms, &err, errstr, errstr_size)))
		goto fail;
	if (egw_janus_attach(c->js, VIDEOROOM, &c->ctl_handle, errstr, errstr_size))
		goto fail;
	/* The room must exist now; the participant may come later. */
	json_t *list = list_publishers(c, &err, errstr, errstr_size);
	if (!list)
		goto fail;
	json_decref(list);
	c->poll_thread = g_thread_new("janus-poll", poll_thread, c);
	c->watch = g_timeout_source_new(WATCH_MS);
	g_source_set_callback(c->watch, watch, c, NULL);
	g_source_attach(c->watch, ctx); /* c keeps its reference until close */
	/* First look right away, then every WATCH_MS. */
	watch_once(c);
	return c;
fail:
	janus_close(c);
	return NULL;
}

static void janus_close(egw_sfu_conn_t *c)
{
	if (!c)
		return;
	g_atomic_int_set(&c->stopping, 1);
	if (c->watch) {
		g_source_destroy(c->watch);
		g_source_unref(c->watch);
	}
	sub_close(c, 0);
	if (c->js)
		egw_janus_interrupt(c->js);
	if (c->poll_thread)
		g_thread_join(c->poll_thread);
	egw_janus_session_destroy(c->js);
	json_decref(c->room);
	g_free(c);
}

static const egw_sfu_ops_t janus_ops = {
	.name = "janus",
	.connect = janus_connect,
	.close = janus_close,
};

const egw_sfu_ops_t *egw_sfu_find(const char *name)
{
	static const egw_sfu_ops_t *const adapters[] = {&janus_ops};
	for (size_t i = 0; name && i < sizeof(adapters) / sizeof(adapters[0]); i++)
		if (!strcmp(adapters[i]->name, name))
			return adapters[i];
	return NULL;
}
