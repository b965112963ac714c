/* Janus VideoRoom as a room-wide source: joins as a hidden subscriber (it
 * never joins as a publisher, so participants never see it), lists the
 * room's publishers every WATCH_MS, subscribes to the ones the filter
 * selects (sfu/janus_sub.c) and resubscribes when they publish again.
 * When Janus goes away after the first listing (its session unknown, its
 * event stream or its API unreachable, or no answer for WATCH_SILENT_MS:
 * frozen), the tracks are removed and a new
 * session is made with backoff until Janus answers again, which then
 * resubscribes; how long to wait for it is the consumer's decision (it
 * closes the source). Everything here runs on the job's main context; no
 * call blocks it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "sfu/janus_int.h"

#define WATCH_MS 500
#define WATCH_TRIES 10 /* consecutive failures before the SFU counts as gone... */
#define WATCH_SILENT_MS                                                                            \
	5000 /* ...or a failure this long after its last answer                                    \
	      * (a frozen Janus: each listing times out) */
#define GOODBYE_MS 2000
#define RECONNECT_FIRST_MS 250 /* the first attempt after Janus was lost... */
#define RECONNECT_MAX_MS 2000  /* ...doubling up to this */

GST_DEBUG_CATEGORY_STATIC(egw_janus_debug);
#define GST_CAT_DEFAULT egw_janus_debug

void egw_janus_fail(struct egw_source *src, egw_err_t err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	egw_source_failv(&src->ev, src->opaque, JOB_ID(src), &src->failed, err, fmt, ap);
	va_end(ap);
}

void egw_janus_track_view(const struct janus_sub *sub, const struct janus_track *t,
			  egw_track_t *out)
{
	const struct janus_pub *pub = sub->pub;
	*out = (egw_track_t){
		.id = t->id,
		.participant = {pub ? pub->id : "", pub ? pub->name : ""},
		.mid = t->pub_mid,
		.media = t->media,
		.codec = t->codec,
		.screen = t->screen,
	};
}

/* ---- publishers ---- */

static struct janus_pub *find_pub(struct egw_source *src, json_t *feed)
{
	for (struct janus_pub *p = src->pubs; p; p = p->next)
		if (json_equal(p->feed, feed))
			return p;
	return NULL;
}

static struct janus_pub *add_pub(struct egw_source *src, json_t *feed, const char *display)
{
	struct janus_pub *p = g_new0(struct janus_pub, 1);
	p->src = src;
	p->feed = json_incref(feed);
	p->id = json_is_integer(feed) ? g_strdup_printf("%" JSON_INTEGER_FORMAT,
							 json_integer_value(feed))
				      : g_strdup(json_string_value(feed));
	p->name = g_strdup(display ? display : p->id);
	p->next = src->pubs;
	src->pubs = p;
	return p;
}

/* The publisher left or stopped publishing: its tracks are gone. */
static void drop_pub(struct egw_source *src, struct janus_pub *p, int notify)
{
	for (struct janus_pub **pp = &src->pubs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->sub)
		egw_janus_sub_close(p->sub, notify);
	if (notify && p->announced) {
		EGW_LOG(JOB_ID(src), INFO, "%s stopped publishing", p->name);
		if (src->ev.participant) {
			egw_participant_t view = {p->id, p->name};
			src->ev.participant(src->opaque, &view, 0);
		}
	}
	json_decref(p->feed);
	g_free(p->id);
	g_free(p->name);
	g_free(p);
}

/* One listing: follow who publishes. */
static void update_pubs(struct egw_source *src, json_t *list)
{
	size_t i;
	json_t *e;
	gint64 now = g_get_monotonic_time();

	for (struct janus_pub *p = src->pubs; p; p = p->next)
		p->seen = 0;
	json_array_foreach(list, i, e) {
		json_t *feed = json_object_get(e, "id");
		const char *display = json_string_value(json_object_get(e, "display"));
		if (!json_is_true(json_object_get(e, "publisher")) ||
		    (!json_is_integer(feed) && !json_is_string(feed)))
			continue;
		struct janus_pub *p = find_pub(src, feed);
		if (!p)
			p = add_pub(src, feed, display);
		p->seen = 1;
	}
	/* Those who left first: one who comes back as someone new (after a
	 * republish elsewhere, or Janus's restart) leaves before they join. */
	for (struct janus_pub *p = src->pubs, *next; p; p = next) {
		next = p->next;
		if (!p->seen)
			drop_pub(src, p, 1);
	}
	for (struct janus_pub *p = src->pubs; p; p = p->next) {
		egw_participant_t view = {p->id, p->name};
		if (!egw_source_filter_participant(&src->spec.filter, &view))
			continue;
		if (!p->announced) {
			p->announced = 1;
			if (src->ev.participant)
				src->ev.participant(src->opaque, &view, 1);
		}
		if (!p->sub && now >= p->retry_at_us)
			egw_janus_subscribe(p);
		if (src->failed)
			return;
	}
}

/* ---- reconnecting ---- */

static void on_created(void *owner, const egw_janus_reply_t *r);

/* A fresh client for the next session; the old one says goodbye (its
 * session is gone or going: best effort, bounded) and cancels whatever it
 * still had in flight. Without a new one (no memory for an HTTP client)
 * the source fails, keeping the old client for its close. */
static int new_client(struct egw_source *src)
{
	egw_http_t *http = egw_http_new(src->ctx);
	egw_janus_t *js =
	        http ? egw_janus_new(http, src->url, src->spec.timeout_ms, src->log_id) : NULL;
	if (!js) {
		egw_http_free(http);
		egw_janus_fail(src, EGW_ERR_INTERNAL, "cannot make an HTTP client to reconnect");
		return -1;
	}
	egw_janus_goodbye(src->js, 500, 1, NULL, NULL);
	src->http = http;
	src->js = js;
	src->ctl_handle = 0;
	src->listing = 0;
	return 0;
}

static gboolean reconnect_tick(gpointer user)
{
	struct egw_source *src = user;
	src->reconnect_timer = 0;
	src->attempts++;
	egw_janus_create(src->js, on_created, src);
	return G_SOURCE_REMOVE;
}

static void schedule_reconnect(struct egw_source *src)
{
	src->reconnect_timer =
	        egw_source_timer_add(src->ctx, (guint)src->reconnect_ms, reconnect_tick, src);
	src->reconnect_ms = MIN(src->reconnect_ms * 2, RECONNECT_MAX_MS);
}

/* Janus went away after the source had joined: its subscriptions go (the
 * consumer sees the tracks removed, the publishers stay until a listing
 * after the return says otherwise) and a new session is tried. */
static void session_lost(struct egw_source *src, const char *why)
{
	if (src->failed || src->reconnecting)
		return;
	src->reconnecting = 1;
	src->attempts = 0;
	src->lost_us = g_get_monotonic_time();
	src->reconnect_ms = RECONNECT_FIRST_MS;
	src->watch_failures = 0;
	EGW_LOG(JOB_ID(src), WARN, "lost Janus: %s; reconnecting", why);
	egw_source_timer_remove(src->ctx, &src->watch_timer);
	for (struct janus_pub *p = src->pubs; p; p = p->next) {
		if (p->sub)
			egw_janus_sub_close(p->sub, 1);
		p->retry_at_us = 0;
	}
	if (new_client(src))
		return;
	if (src->ev.connection)
		src->ev.connection(src->opaque, 0, why);
	if (!src->failed)
		schedule_reconnect(src);
}

/* An attempt failed: the next one after the backoff, on a new client. */
static void attempt_failed(struct egw_source *src, const char *why)
{
	EGW_LOG(JOB_ID(src), INFO, "Janus not back yet (attempt %d, %.1f s): %s", src->attempts,
	        (g_get_monotonic_time() - src->lost_us) / 1e6, why);
	if (!new_client(src))
		schedule_reconnect(src);
}

/* The first listing of a new session: back in the room. */
static void reconnected(struct egw_source *src)
{
	char msg[128];
	src->reconnecting = 0;
	snprintf(msg, sizeof(msg), "back in the room after %.1f s (%d attempts)",
	         (g_get_monotonic_time() - src->lost_us) / 1e6, src->attempts);
	EGW_LOG(JOB_ID(src), INFO, "Janus: %s", msg);
	if (src->ev.connection)
		src->ev.connection(src->opaque, 1, msg);
}

static void list(struct egw_source *src);

static gboolean watch_tick(gpointer user)
{
	struct egw_source *src = user;
	src->watch_timer = 0;
	list(src);
	return G_SOURCE_REMOVE;
}

static void schedule_watch(struct egw_source *src)
{
	src->watch_timer = egw_source_timer_add(src->ctx, WATCH_MS, watch_tick, src);
}

static void on_list(void *owner, const egw_janus_reply_t *r)
{
	struct egw_source *src = owner;
	json_t *list = json_object_get(r->data, "participants");

	src->listing = 0;
	if (r->err && src->reconnecting) {
		attempt_failed(src, r->errmsg); /* e.g. the room is not made again yet */
		return;
	}
	if (r->err) {
		/* Before the first listing every error is final. After it, a
		 * missing room or a refusal is final too; a lost session or an
		 * SFU that stopped answering (a few tries) is Janus gone, for
		 * now. */
		if (!src->listed_once || r->err == EGW_ERR_NOT_FOUND ||
		    r->err == EGW_ERR_UNAUTHORIZED) {
			egw_janus_fail(src, r->err, "room %s: %s", src->room_id, r->errmsg);
			return;
		}
		if (r->code == EGW_JANUS_ERR_SESSION_NOT_FOUND ||
		    ++src->watch_failures >= WATCH_TRIES ||
		    g_get_monotonic_time() - src->answered_us >= WATCH_SILENT_MS * 1000LL) {
			session_lost(src, r->errmsg);
			return;
		}
		EGW_LOG(JOB_ID(src), WARN, "room %s: %s; retrying", src->room_id, r->errmsg);
	} else {
		if (!src->listed_once)
			EGW_LOG(JOB_ID(src), INFO, "in room %s as a hidden subscriber", src->room_id);
		if (src->reconnecting)
			reconnected(src);
		src->listed_once = 1;
		src->watch_failures = 0;
		src->answered_us = g_get_monotonic_time();
		update_pubs(src, json_is_array(list) ? list : NULL);
	}
	if (!src->failed)
		schedule_watch(src);
}

static void list(struct egw_source *src)
{
	if (src->listing || src->failed)
		return;
	src->listing = 1;
	egw_janus_message(src->js, src->ctl_handle,
			  json_pack("{s:s, s:O}", "request", "listparticipants", "room", src->room),
			  NULL, on_list, src);
}

/* ---- session ---- */

static struct janus_sub *sub_of_sender(struct egw_source *src, json_t *sender)
{
	uint64_t h = json_is_integer(sender) ? (uint64_t)json_integer_value(sender) : 0;
	for (struct janus_pub *p = src->pubs; h && p; p = p->next)
		if (p->sub && p->sub->handle == h)
			return p->sub;
	return NULL;
}

static void on_event(void *user, json_t *ev, const egw_janus_reply_t *error)
{
	struct egw_source *src = user;
	if (!ev) {
		if (src->reconnecting)
			attempt_failed(src, error->errmsg);
		else if (src->listed_once)
			session_lost(src, error->errmsg);
		else
			egw_janus_fail(src,
			               error->err == EGW_ERR_NOT_FOUND ? EGW_ERR_SFU : error->err,
			               "Janus went away: %s", error->errmsg);
		return;
	}
	struct janus_sub *sub = sub_of_sender(src, json_object_get(ev, "sender"));
	if (sub)
		egw_janus_sub_event(sub, ev);
}

static void on_ctl_attached(void *owner, const egw_janus_reply_t *r)
{
	struct egw_source *src = owner;
	if (r->err && src->reconnecting) {
		attempt_failed(src, r->errmsg);
		return;
	}
	if (r->err) {
		egw_janus_fail(src, r->err, "%s", r->errmsg);
		return;
	}
	src->ctl_handle = r->id;
	list(src); /* the room must exist now; the participant may come later */
}

static void on_created(void *owner, const egw_janus_reply_t *r)
{
	struct egw_source *src = owner;
	if (r->err && src->reconnecting) {
		attempt_failed(src, r->errmsg);
		return;
	}
	if (r->err) {
		egw_janus_fail(src, r->err, "%s", r->errmsg);
		return;
	}
	egw_janus_listen(src->js, on_event, src);
	egw_janus_attach(src->js, VIDEOROOM, on_ctl_attached, src);
}

static void free_source(struct egw_source *src)
{
	json_decref(src->room);
	g_free(src->url);
	g_free(src->room_id);
	g_free(src->pin);
	egw_source_filter_copy_clear(&src->filter);
	g_free(src->log_id);
	g_free(src);
}

static egw_source_t *janus_open(const egw_source_spec_t *spec, GstBin *bin, GMainContext *ctx,
				const egw_source_events_t *ev, void *opaque, char *errstr,
				size_t errstr_size)
{
	struct egw_source *src;

	if (!egw_janus_debug)
		GST_DEBUG_CATEGORY_INIT(egw_janus_debug, "egw-janus", 0, "Janus VideoRoom source");
	if (!spec->url || !spec->room_id) {
		snprintf(errstr, errstr_size, "room: Janus needs url and room_id");
		return NULL;
	}
	src = g_new0(struct egw_source, 1);
	src->url = g_strdup(spec->url);
	src->room_id = g_strdup(spec->room_id);
	src->pin = g_strdup(spec->pin);
	egw_source_filter_copy(&src->filter, &spec->filter);
	src->log_id = g_strdup(spec->log_id);
	src->spec = *spec;
	src->spec.url = src->url;
	src->spec.room_id = src->room_id;
	src->spec.pin = src->pin;
	src->spec.filter = src->filter.filter;
	src->spec.log_id = src->log_id;
	src->room = spec->room_id_is_number ? json_integer(g_ascii_strtoll(spec->room_id, NULL, 10))
					    : json_string(spec->room_id);
	src->bin = bin;
	src->ctx = ctx ? ctx : g_main_context_default();
	src->ev = *ev;
	src->opaque = opaque;
	src->http = egw_http_new(src->ctx);
	src->js = src->http ? egw_janus_new(src->http, spec->url, spec->timeout_ms, spec->log_id)
			    : NULL;
	if (!src->js) {
		snprintf(errstr, errstr_size, "room.url: not usable for Janus");
		egw_http_free(src->http);
		free_source(src);
		return NULL;
	}
	egw_janus_create(src->js, on_created, src);
	return src;
}

static void janus_close(egw_source_t *src, void (*done)(void *user), void *user)
{
	int timeout;
	if (!src) {
		if (done)
			done(user);
		return;
	}
	src->failed = 1; /* no more events */
	egw_source_timer_remove(src->ctx, &src->watch_timer);
	egw_source_timer_remove(src->ctx, &src->reconnect_timer);
	while (src->pubs)
		drop_pub(src, src->pubs, 0);
	/* Destroying the session detaches every handle on the server. The
	 * goodbye owns the client and its http from here on. */
	timeout = src->spec.timeout_ms < GOODBYE_MS ? src->spec.timeout_ms : GOODBYE_MS;
	egw_janus_goodbye(src->js, timeout, 1, done, user);
	free_source(src);
}

const egw_source_ops_t egw_janus_source = {
	.name = "janus",
	.open = janus_open,
	.close = janus_close,
};
