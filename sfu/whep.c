/* WHEP (the IETF WISH working group's WebRTC-HTTP Egress Protocol) as a
 * room-wide source: one WHEP endpoint is one participant. The signalling,
 * all on the job's main context and never blocking it:
 *   POST <endpoint> (application/sdp, our receive-only offer, the bearer
 *   token when given) -> 201 with the answer and the session's Location;
 *   or 406 with the server's own offer (servers whose backend only offers,
 *   e.g. Janus's VideoRoom behind janus-whep-server), answered with a PATCH
 *   of application/sdp to the session;
 *   PATCH <session> (application/trickle-ice-sdpfrag, RFC 8840) for each
 *   local candidate, until the server says it does not take them;
 *   Link headers rel="ice-server" -> webrtcbin's STUN/TURN servers;
 *   DELETE <session> when the egress ends.
 * The server ending the session (its connection closed or failed) is the
 * participant leaving. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sfu/whep.h"
#include "sfu/whep_int.h"

#define GOODBYE_MS 2000
#define WATCH_MS 1000
/* A session whose media stopped this long is over: WHEP has no way for the
 * server to say so (Janus keeps the subscription of a publisher who left
 * open, silent). */
#define SILENT_US (5 * G_USEC_PER_SEC)

void egw_whep_fail(struct egw_source *src, egw_err_t err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	egw_source_failv(&src->ev, src->opaque, JOB_ID(src), &src->failed, err, fmt, ap);
	va_end(ap);
}

/* The endpoint for messages: scheme, host and first path segment. */
static void where(const struct whep_peer *peer, char *out, size_t out_size)
{
	egw_log_redact_url(peer->url, out, out_size);
}

/* ---- HTTP ---- */

/* Request headers: content type, the token, the session's ETag. */
static void headers(const struct whep_peer *peer, const char *type, char bufs[3][4200],
                    const char *out[4])
{
	size_t n = 0;
	snprintf(bufs[0], sizeof(bufs[0]), "Content-Type: %s", type);
	out[n++] = bufs[0];
	if (peer->token) {
		snprintf(bufs[1], sizeof(bufs[1]), "Authorization: Bearer %s", peer->token);
		out[n++] = bufs[1];
	}
	if (peer->etag && strcmp(type, "application/sdp")) {
		snprintf(bufs[2], sizeof(bufs[2]), "If-Match: \"%s\"", peer->etag);
		out[n++] = bufs[2];
	}
	out[n] = NULL;
}

static egw_http_req_t *send_req(struct whep_peer *peer, const char *method, const char *url,
                                const char *type, const char *body, egw_http_done_fn done,
                                void *user)
{
	char bufs[3][4200], errstr[256];
	const char *hdrs[4];
	egw_http_request_t rq = {.method = method,
	                         .url = url,
	                         .body = body,
	                         .body_len = body ? strlen(body) : 0,
	                         .timeout_ms = peer->src->spec.timeout_ms};
	egw_http_req_t *r;
	headers(peer, type, bufs, hdrs);
	rq.headers = hdrs;
	r = egw_http_send(peer->src->http, &rq, done, user, errstr, sizeof(errstr));
	explicit_bzero(bufs, sizeof(bufs));
	if (!r)
		EGW_LOG(JOB_ID(peer->src), WARN, "%s: %s", peer->name, errstr);
	return r;
}

/* Why a WHEP answer is not what was asked, as an error of the egress. */
static void refused(struct whep_peer *peer, const char *what, const egw_http_response_t *res)
{
	char url[256];
	where(peer, url, sizeof(url));
	if (res->err)
		egw_whep_fail(peer->src,
		              res->err == EGW_ERR_TIMEOUT ? EGW_ERR_TIMEOUT
		                                          : EGW_ERR_SFU_UNREACHABLE,
		              "%s: WHEP endpoint %s: %s", peer->name, url, res->errmsg);
	else if (res->status == 401 || res->status == 403)
		egw_whep_fail(peer->src, EGW_ERR_UNAUTHORIZED,
		              "%s: WHEP endpoint %s refused the %s (HTTP %ld)%s", peer->name, url,
		              what, res->status,
		              peer->token ? ": check room.token" : ": it wants a token");
	else if (res->status == 404)
		egw_whep_fail(peer->src, EGW_ERR_NOT_FOUND,
		              "%s: WHEP endpoint %s: HTTP 404 (no such "
		              "endpoint or session)",
		              peer->name, url);
	else
		egw_whep_fail(peer->src, EGW_ERR_SFU,
		              "%s: WHEP endpoint %s answered the %s with HTTP %ld", peer->name, url,
		              what, res->status);
}

/* The session's URL: the Location, resolved against the endpoint. */
static char *resolve(const char *base, const char *location)
{
	GUri *b = g_uri_parse(base, G_URI_FLAGS_NONE, NULL), *r;
	char *out = NULL;
	if (b && (r = g_uri_parse_relative(b, location, G_URI_FLAGS_NONE, NULL))) {
		out = g_uri_to_string(r);
		g_uri_unref(r);
	}
	if (b)
		g_uri_unref(b);
	return out;
}

static void send_candidates(struct whep_peer *peer);

static void on_answer_patched(void *user, const egw_http_response_t *res)
{
	struct whep_peer *peer = user;
	peer->req = NULL;
	if (res->err || res->status / 100 != 2) {
		refused(peer, "answer", res);
		return;
	}
	EGW_LOG(JOB_ID(peer->src), DEBUG, "%s: answer taken %.0f ms after the start", peer->name,
	        (g_get_monotonic_time() - peer->t_start_us) / 1000.0);
	send_candidates(peer);
}

void egw_whep_send_answer(struct whep_peer *peer, const char *sdp)
{
	if (!sdp) {
		egw_whep_fail(peer->src, EGW_ERR_MEDIA, "%s: no answer to the WHEP server's offer",
		              peer->name);
		return;
	}
	{
		GstSDPMessage *msg = NULL;
		if (gst_sdp_message_new_from_text(sdp, &msg) == GST_SDP_OK)
			egw_whep_local_sdp(peer, msg);
		gst_sdp_message_free(msg);
	}
	peer->req = send_req(peer, "PATCH", peer->resource, "application/sdp", sdp,
	                     on_answer_patched, peer);
}

/* An answer must choose its DTLS role (RFC 8842); one that says actpass
 * (Janus's Streaming plugin answering a subscriber's offer) takes the
 * answerer's usual one, active: we are the DTLS server. */
static void settle_setup(struct whep_peer *peer, GstSDPMessage *sdp)
{
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(sdp, i);
		for (guint j = 0; j < gst_sdp_media_attributes_len(m); j++) {
			const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, j);
			if (!strcmp(a->key, "setup") && a->value && !strcmp(a->value, "actpass")) {
				GstSDPAttribute na;
				gst_sdp_attribute_set(&na, "setup", "active");
				gst_sdp_media_replace_attribute(m, j, &na);
				if (i == 0)
					EGW_LOG(JOB_ID(peer->src), DEBUG,
					        "%s: the answer's a=setup:actpass taken as active",
					        peer->name);
			}
		}
	}
}

/* 201 (our offer answered) or 406 (the server's offer). */
static void on_posted(void *user, const egw_http_response_t *res)
{
	struct whep_peer *peer = user;
	int offer = !res->err && res->status == 406;
	GstSDPMessage *sdp = NULL;
	char errstr[256], url[256];

	peer->req = NULL;
	if (res->err || (res->status != 201 && !offer) || !res->location) {
		if (!res->err && (res->status == 201 || offer))
			egw_whep_fail(peer->src, EGW_ERR_SFU, "%s: the WHEP answer has no Location",
			              peer->name);
		else
			refused(peer, "offer", res);
		return;
	}
	where(peer, url, sizeof(url));
	if (!(peer->resource = resolve(peer->url, res->location))) {
		egw_whep_fail(peer->src, EGW_ERR_SFU, "%s: WHEP endpoint %s: unusable Location",
		              peer->name, url);
		return;
	}
	g_free(peer->etag);
	peer->etag = g_strdup(res->etag);
	if (gst_sdp_message_new_from_text(res->body, &sdp) != GST_SDP_OK ||
	    gst_sdp_message_medias_len(sdp) == 0 || egw_whep_read_tracks(peer, sdp)) {
		egw_whep_fail(peer->src, EGW_ERR_SFU,
		              "%s: WHEP endpoint %s answered with %s that has no audio or video "
		              "stream (HTTP %ld)",
		              peer->name, url, offer ? "an offer" : "an SDP", res->status);
		gst_sdp_message_free(sdp);
		return;
	}
	EGW_LOG(JOB_ID(peer->src), INFO,
	        "%s: WHEP session created (%s, %zu tracks) %.0f ms after the start", peer->name,
	        offer ? "the server offers" : "answered", peer->n_tracks,
	        (g_get_monotonic_time() - peer->t_start_us) / 1000.0);
	EGW_LOG(JOB_ID(peer->src), DEBUG, "%s: the server's %s:\n%s", peer->name,
	        offer ? "offer" : "answer", res->body);
	if (!offer)
		settle_setup(peer, sdp);
	if (offer) { /* start again as the answerer */
		g_mutex_lock(&peer->lock);
		egw_whep_media_remove(peer);
		g_mutex_unlock(&peer->lock);
		if (egw_whep_media_start(peer, 0, errstr, sizeof(errstr))) {
			egw_whep_fail(peer->src, EGW_ERR_MEDIA, "%s: %s", peer->name, errstr);
			gst_sdp_message_free(sdp);
			return;
		}
	}
	if (res->link)
		egw_whep_media_ice_servers(peer, res->link);
	egw_whep_announce(peer);
	egw_whep_media_remote(peer, sdp, offer); /* takes sdp */
	if (!offer)
		send_candidates(peer);
}

void egw_whep_send_offer(struct whep_peer *peer, const char *sdp)
{
	GstSDPMessage *msg = NULL;
	if (!sdp) {
		egw_whep_fail(peer->src, EGW_ERR_MEDIA, "%s: webrtcbin made no offer", peer->name);
		return;
	}
	if (gst_sdp_message_new_from_text(sdp, &msg) == GST_SDP_OK)
		egw_whep_local_sdp(peer, msg);
	gst_sdp_message_free(msg);
	peer->req = send_req(peer, "POST", peer->url, "application/sdp", sdp, on_posted, peer);
}

/* ---- trickle (RFC 8840 fragments) ---- */

void egw_whep_local_sdp(struct whep_peer *peer, const GstSDPMessage *sdp)
{
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp) && i < WHEP_TRACKS_MAX; i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
		const char *u = egw_whep_sdp_attr(m, "ice-ufrag"),
		           *p = egw_whep_sdp_attr(m, "ice-pwd");
		g_free(peer->mids[i]);
		peer->mids[i] = g_strdup(egw_whep_sdp_attr(m, "mid"));
		if (u && p && !peer->ice_ufrag[0]) {
			snprintf(peer->ice_ufrag, sizeof(peer->ice_ufrag), "%s", u);
			snprintf(peer->ice_pwd, sizeof(peer->ice_pwd), "%s", p);
		}
	}
}

struct trickle {
	struct whep_peer *peer;
	egw_http_req_t *req;
};

static void on_trickled(void *user, const egw_http_response_t *res)
{
	struct trickle *t = user;
	struct whep_peer *peer = t->peer;
	peer->trickles = g_slist_remove(peer->trickles, t);
	g_free(t);
	EGW_LOG(JOB_ID(peer->src), DEBUG, "%s: candidate sent: HTTP %ld", peer->name, res->status);
	if (res->err || res->status / 100 == 2 || peer->trickle_refused)
		return;
	peer->trickle_refused = 1; /* 405, 422, 501...: it finds us by our checks */
	EGW_LOG(JOB_ID(peer->src), INFO,
	        "%s: the WHEP server takes no trickled candidates (HTTP %ld)", peer->name,
	        res->status);
}

static void patch_candidate(struct whep_peer *peer, const char *cand, int mline)
{
	GString *frag = g_string_new(NULL);
	const char *mid = mline >= 0 && mline < WHEP_TRACKS_MAX && peer->mids[mline]
	                          ? peer->mids[mline]
	                          : "0";
	g_string_append_printf(frag,
	                       "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=audio 9 RTP/AVP 0\r\n"
	                       "a=mid:%s\r\n",
	                       peer->ice_ufrag, peer->ice_pwd, mid);
	if (cand)
		g_string_append_printf(frag, "a=%s\r\n", cand);
	else
		g_string_append(frag, "a=end-of-candidates\r\n");
	{
		struct trickle *t = g_new0(struct trickle, 1);
		t->peer = peer;
		t->req = send_req(peer, "PATCH", peer->resource, "application/trickle-ice-sdpfrag",
		                  frag->str, on_trickled, t);
		if (t->req)
			peer->trickles = g_slist_prepend(peer->trickles, t);
		else
			g_free(t);
	}
	g_string_free(frag, TRUE);
}

void egw_whep_candidate(struct whep_peer *peer, int mline, const char *candidate)
{
	if (!peer->candidates)
		peer->candidates = g_ptr_array_new_with_free_func(g_free);
	if (!peer->resource || !peer->ice_ufrag[0] || peer->req) {
		g_ptr_array_add(peer->candidates,
		                g_strdup_printf("%d %s", mline, candidate ? candidate : ""));
		return;
	}
	if (!peer->trickle_refused)
		patch_candidate(peer, candidate, mline);
}

static void send_candidates(struct whep_peer *peer)
{
	GPtrArray *c = peer->candidates;
	peer->candidates = NULL;
	for (guint i = 0; c && i < c->len; i++) {
		const char *s = g_ptr_array_index(c, i), *sp = strchr(s, ' ');
		egw_whep_candidate(peer, atoi(s), sp && sp[1] ? sp + 1 : NULL);
	}
	if (c)
		g_ptr_array_free(c, TRUE);
}

/* ---- the source ---- */

static gboolean on_watch(gpointer user)
{
	struct egw_source *src = user;
	gint64 now = g_get_monotonic_time();
	for (size_t i = 0; i < src->n_peers && !src->failed; i++) {
		struct whep_peer *peer = &src->peers[i];
		gint n = g_atomic_int_get(&peer->packets);
		if (peer->ended || !n)
			continue; /* (before the first packet: the absent timer's) */
		if (n != peer->seen_packets) {
			peer->seen_packets = n;
			peer->quiet_since_us = now;
		} else if (now - peer->quiet_since_us > SILENT_US)
			egw_whep_ended(peer, "no media for 5 s");
	}
	return G_SOURCE_CONTINUE;
}

/* The endpoint's participant: its name in the job, else the URL's last
 * path segment. */
static char *peer_name(const egw_source_endpoint_t *e)
{
	GUri *u;
	char *path, *slash, *name;
	if (e->participant)
		return g_strdup(e->participant);
	u = g_uri_parse(e->url, G_URI_FLAGS_NONE, NULL);
	path = g_strdup(u ? g_uri_get_path(u) : "");
	if (u)
		g_uri_unref(u);
	while (*path && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	slash = strrchr(path, '/');
	name = g_uri_unescape_string(slash ? slash + 1 : path, NULL);
	g_free(path);
	if (!name || !*name || strchr(name, '/')) {
		g_free(name);
		name = g_strdup("whep");
	}
	return name;
}

static void peer_free(struct whep_peer *peer)
{
	g_mutex_lock(&peer->lock);
	peer->closed = 1;
	g_mutex_unlock(&peer->lock);
	egw_life_end(peer->life);
	egw_http_cancel(peer->req);
	for (GSList *l = peer->trickles; l; l = l->next) {
		struct trickle *t = l->data;
		egw_http_cancel(t->req);
		g_free(t);
	}
	g_slist_free(peer->trickles);
	egw_whep_media_remove(peer);
	if (peer->candidates)
		g_ptr_array_free(peer->candidates, TRUE);
	for (size_t i = 0; i < WHEP_TRACKS_MAX; i++)
		g_free(peer->mids[i]);
	if (peer->token)
		explicit_bzero(peer->token, strlen(peer->token));
	g_free(peer->token);
	g_free(peer->url);
	g_free(peer->name);
	g_free(peer->resource);
	g_free(peer->etag);
	g_mutex_clear(&peer->lock);
}

/* DELETEs of the sessions, answered after the source is gone: they own the
 * HTTP client from then on. */
struct goodbye {
	egw_http_t *http;
	int pending;
	void (*done)(void *user);
	void *user;
};

static void goodbye_done(void *user, const egw_http_response_t *res)
{
	struct goodbye *g = user;
	(void)res;
	if (--g->pending > 0)
		return;
	egw_http_free(g->http);
	if (g->done)
		g->done(g->user);
	g_free(g);
}

static void whep_close(egw_source_t *src, void (*done)(void *user), void *user)
{
	struct goodbye *g;
	if (!src) {
		if (done)
			done(user);
		return;
	}
	src->failed = 1; /* no more events */
	egw_source_timer_remove(src->ctx, &src->watch);
	g = g_new0(struct goodbye, 1);
	g->http = src->http;
	g->done = done;
	g->user = user;
	g->pending = 1; /* this function's own, released below */
	for (size_t i = 0; i < src->n_peers; i++) {
		struct whep_peer *peer = &src->peers[i];
		char bufs[3][4200], errstr[256];
		const char *hdrs[4];
		egw_http_request_t rq = {.method = "DELETE",
		                         .url = peer->resource,
		                         .timeout_ms = src->spec.timeout_ms < GOODBYE_MS
		                                               ? src->spec.timeout_ms
		                                               : GOODBYE_MS};
		if (peer->resource && g->http) {
			headers(peer, "application/sdp", bufs, hdrs);
			rq.headers = hdrs;
			if (egw_http_send(g->http, &rq, goodbye_done, g, errstr, sizeof(errstr)))
				g->pending++;
			explicit_bzero(bufs, sizeof(bufs));
		}
		peer_free(peer);
	}
	g_free(src->peers);
	egw_source_filter_copy_clear(&src->filter);
	g_free(src->log_id);
	g_free(src);
	goodbye_done(g, NULL);
}

static egw_source_t *whep_open(const egw_source_spec_t *spec, GstBin *bin, GMainContext *ctx,
                               const egw_source_events_t *ev, void *opaque, char *errstr,
                               size_t errstr_size)
{
	struct egw_source *src;
	size_t chosen = 0;

	if (!spec->n_endpoints) {
		snprintf(errstr, errstr_size, "room.url: the WHEP endpoint is required");
		return NULL;
	}
	src = g_new0(struct egw_source, 1);
	src->spec = *spec;
	egw_source_filter_copy(&src->filter, &spec->filter);
	src->spec.filter = src->filter.filter;
	src->log_id = g_strdup(spec->log_id);
	src->spec.log_id = src->log_id;
	src->spec.endpoints = NULL;
	src->bin = bin;
	src->ctx = ctx ? ctx : g_main_context_default();
	src->ev = *ev;
	src->opaque = opaque;
	src->http = egw_http_new(src->ctx);
	src->peers = g_new0(struct whep_peer, spec->n_endpoints);
	for (size_t i = 0; i < spec->n_endpoints; i++) {
		struct whep_peer *peer = &src->peers[src->n_peers];
		egw_participant_t who;
		peer->name = peer_name(&spec->endpoints[i]);
		who = (egw_participant_t){peer->name, peer->name};
		if (!egw_source_filter_participant(&src->filter.filter, &who)) {
			g_free(peer->name);
			memset(peer, 0, sizeof(*peer));
			continue;
		}
		g_mutex_init(&peer->lock);
		peer->src = src;
		peer->life = egw_life_new(src->ctx, peer);
		peer->url = g_strdup(spec->endpoints[i].url);
		peer->token = g_strdup(spec->endpoints[i].token);
		peer->t_start_us = g_get_monotonic_time();
		src->n_peers++;
		chosen++;
	}
	if (!chosen) {
		snprintf(errstr, errstr_size,
		         "source: %s is not the participant of any WHEP endpoint",
		         spec->filter.participant ? spec->filter.participant : "the track");
		whep_close(src, NULL, NULL);
		return NULL;
	}
	for (size_t i = 0; i < src->n_peers; i++) {
		char url[256];
		where(&src->peers[i], url, sizeof(url));
		EGW_LOG(src->log_id, INFO, "%s: WHEP endpoint %s", src->peers[i].name, url);
		if (egw_whep_media_start(&src->peers[i], 1, errstr, errstr_size)) {
			whep_close(src, NULL, NULL);
			return NULL;
		}
	}
	src->watch = egw_source_timer_add(src->ctx, WATCH_MS, on_watch, src);
	return src;
}

const egw_source_ops_t egw_whep_source = {
        .name = "whep",
        .open = whep_open,
        .close = whep_close,
};
