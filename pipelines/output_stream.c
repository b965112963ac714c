/* Stream output: the egress live to one or more destinations, rtmp:// and
 * rtmps:// (FLV: flvmux + rtmp2sink) or srt:// (MPEG-TS: mpegtsmux +
 * srtsink, caller mode).
 *
 *   video_0 -> tee -+-> queue -> h264parse -> mux -> sink   destination 1
 *   audio_0 -> tee -+-> queue ------------->  ^
 *                   +-> ... destination 2, 3...
 *
 * Every destination has its own queue (leaky: a destination that falls
 * behind loses its own oldest data, never holds up the tee), muxer and
 * connection. What GStreamer's sinks do not do, this file does:
 *  - reconnect: a destination that drops after it streamed is rebuilt with
 *    a growing delay for reconnect_window_s, starting again on a keyframe
 *    (the encoder is asked for one); past the window it has failed;
 *  - fail fast: a destination that fails before it ever streamed (refused
 *    key, unknown host, TLS) is not retried;
 *  - a stall watchdog: rtmp2sink neither notices a frozen server (its
 *    kernel keeps acknowledging TCP until a receive buffer of up to tens of
 *    megabytes is full) nor ever times out. A destination is stalled when
 *    its sink took no buffer for STALL_S while data waited, or when the
 *    server owes an RTMP acknowledgement (more than its acknowledgement
 *    window sent since the last one) and none came for STALL_S;
 *  - an end that cannot hang: destinations that have not written their end
 *    END_GRACE_S after it arrived are closed.
 * Destination URLs are secret (stream keys): logs and events show them
 * through egw_log_redact_url().
 * locality: main context, except the pad probes (streaming threads), which
 * only touch atomics and hand the rest over through the output's life,
 * naming a destination by its id. */
#include <stdio.h>
#include <string.h>

#include <gst/video/video.h>

#include "base/life.h"
#include "base/log.h"
#include "pipelines/output.h"

#define DEST_QUEUE_NS (3 * GST_SECOND) /* per destination, then it drops */
#define WATCH_MS 1000
#define STALL_S 5
#define END_GRACE_S 5
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 5000
#define DEAD_KEEP_US (10 * G_USEC_PER_SEC)
#define SHOWN_MAX 512

typedef enum dest_state {
	D_CONNECTING = 0, /* built, nothing accepted yet */
	D_ACTIVE,
	D_RECONNECTING, /* dropped after it streamed; retried until the window ends */
	D_FAILED,
	D_REMOVED, /* update_stream took it away */
	D_DONE,    /* wrote its end */
} dest_state_t;

static const char *const state_names[] = {"connecting", "active",  "reconnecting",
					  "failed",     "removed", "complete"};

struct dest {
	egw_output_t *o;
	guint id;
	char *url; /* secret */
	char shown[SHOWN_MAX];
	int srt;
	dest_state_t state;
	GstElement *bin, *sink, *q[2]; /* queues: video, audio */
	GstPad *feed[2]; /* tee request pads: video, audio */
	int ever_active;
	gint64 down_since_us;
	guint retry;
	guint backoff_ms;
	char error[256];
	/* streaming: atomics */
	gint started;  /* a keyframe went in (audio waits for it) */
	gint eos_in;   /* the end went in: an error after it is the server closing */
	guint gen;     /* builds so far: notes of an earlier build are stale */
	gint entered;  /* buffers into the destination */
	gint rendered; /* buffers the sink took */
	/* watchdog (main) */
	gint seen_entered, seen_rendered;
	gint64 rendered_at_us;
	guint64 acked;
	gint64 acked_at_us;
};

struct dead {
	GstElement *bin;
	gint64 since_us;
};

struct egw_output {
	char *name, *log_id;
	egw_output_events_t ev;
	void *opaque;
	egw_life_t *life;
	GstElement *bin;
	GstElement *tee[2]; /* video, audio; NULL when the egress has none */
	char codec[2][16];
	GPtrArray *dests; /* struct dest */
	GSList *dead;     /* struct dead: bins taken down, kept a while */
	guint next_id;
	int window_s;
	guint watch, end_timer;
	int ending, failed, finished, wrote;
};

/* ---- helpers ---- */

static struct dest *dest_by_id(egw_output_t *o, guint id)
{
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (d->id == id)
			return d;
	}
	return NULL;
}

static int dest_live(const struct dest *d)
{
	return d->state == D_CONNECTING || d->state == D_ACTIVE || d->state == D_RECONNECTING;
}

static void emit(egw_output_t *o, struct dest *d, const char *why)
{
	json_t *det = json_pack("{s:s, s:s, s:s, s:s}", "event", "stream_state", "output", o->name,
				"url", d->shown, "state", state_names[d->state]);
	if (why && *why)
		json_object_set_new(det, "reason", json_string(why));
	if (o->ev.event)
		o->ev.event(o->opaque, json_pack("{s:o}", "details", det));
	else
		json_decref(det);
}

static void check_done(egw_output_t *o)
{
	guint live = 0, failed = 0;

	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		live += dest_live(d);
		failed += d->state == D_FAILED;
	}
	if (!o->failed && !live && failed && !o->ending) {
		o->failed = 1;
		if (o->ev.failed)
			o->ev.failed(o->opaque, EGW_ERR_IO, "every destination failed");
		return;
	}
	if (o->ending && !live && !o->finished) {
		o->finished = 1;
		if (o->end_timer) {
			g_source_remove(o->end_timer);
			o->end_timer = 0;
		}
		if (o->ev.finished)
			o->ev.finished(o->opaque);
	}
}

/* ---- streaming threads ---- */

struct note {
	guint id, gen;
	int what; /* NOTE_* */
};
enum { NOTE_EOS = 1 };

static void on_note(void *target, void *data);

static GstPadProbeReturn video_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct dest *d = user;
	GstBuffer *b;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
			g_atomic_int_set(&d->eos_in, 1);
		return GST_PAD_PROBE_OK;
	}
	b = GST_PAD_PROBE_INFO_BUFFER(info);
	if (!g_atomic_int_get(&d->started)) {
		if (GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT))
			return GST_PAD_PROBE_DROP;
		g_atomic_int_set(&d->started, 1);
	}
	g_atomic_int_inc(&d->entered);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn audio_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct dest *d = user;
	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
			g_atomic_int_set(&d->eos_in, 1);
		return GST_PAD_PROBE_OK;
	}
	if (!g_atomic_int_get(&d->started))
		return GST_PAD_PROBE_DROP;
	g_atomic_int_inc(&d->entered);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn sink_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct dest *d = user;
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		g_atomic_int_inc(&d->rendered);
	} else if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
		struct note *n = g_new0(struct note, 1);
		n->id = d->id;
		n->gen = d->gen;
		n->what = NOTE_EOS;
		egw_life_invoke(d->o->life, on_note, n, g_free);
	}
	return GST_PAD_PROBE_OK;
}

/* The end reached the output: destinations get END_GRACE_S to write it. */
static void on_end_arrived(void *target, void *data);

static GstPadProbeReturn end_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	egw_output_t *o = user;
	if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
		egw_life_invoke(o->life, on_end_arrived, NULL, NULL);
	return GST_PAD_PROBE_OK;
}

/* ---- building and taking down a destination (main) ---- */

static GstElement *make(GstElement *bin, const char *factory, char *errstr, size_t errstr_size)
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	if (!e) {
		snprintf(errstr, errstr_size, "GStreamer element %s is missing", factory);
		return NULL;
	}
	gst_bin_add(GST_BIN(bin), e);
	return e;
}

static GstElement *leaky_queue(GstElement *bin, char *errstr, size_t errstr_size)
{
	GstElement *q = make(bin, "queue", errstr, errstr_size);
	if (q)
		g_object_set(q, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
			     (guint64)DEST_QUEUE_NS, "leaky", 2 /* downstream: drop old */, NULL);
	return q;
}

/* Links tee m to the destination's queue (through a ghost pad of its bin). */
static int feed(egw_output_t *o, struct dest *d, int m)
{
	GstPad *sink = gst_element_get_static_pad(d->q[m], "sink");
	GstPad *ghost = gst_ghost_pad_new(m ? "audio" : "video", sink);
	int ok;

	gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
			  m ? audio_in : video_in, d, NULL);
	gst_object_unref(sink);
	gst_pad_set_active(ghost, TRUE);
	gst_element_add_pad(d->bin, ghost);
	ok = (d->feed[m] = gst_element_request_pad_simple(o->tee[m], "src_%u")) &&
	     gst_pad_link(d->feed[m], ghost) == GST_PAD_LINK_OK;
	return ok;
}

/* Asks the encoder for a keyframe (upstream, through the tee) so a
 * destination that (re)starts on one does not wait for the next. */
static void ask_keyframe(struct dest *d)
{
	if (d->feed[0])
		gst_pad_send_event(d->feed[0], gst_video_event_new_upstream_force_key_unit(
						       GST_CLOCK_TIME_NONE, TRUE, 0));
}

static egw_err_t dest_build(egw_output_t *o, struct dest *d, char *errstr, size_t errstr_size)
{
	GstElement *mux, *vparse = NULL, *q;
	GstPad *pad;

	d->bin = gst_bin_new(NULL);
	gst_bin_add(GST_BIN(o->bin), d->bin);
	if (!(mux = make(d->bin, d->srt ? "mpegtsmux" : "flvmux", errstr, errstr_size)) ||
	    !(d->sink = make(d->bin, d->srt ? "srtsink" : "rtmp2sink", errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	if (d->srt) {
		g_object_set(mux, "alignment", 7, NULL); /* whole UDP payloads */
		g_object_set(d->sink, "uri", d->url, "auto-reconnect", FALSE, NULL);
	} else {
		g_object_set(mux, "streamable", TRUE, NULL);
		g_object_set(d->sink, "location", d->url, NULL);
	}
	g_object_set(d->sink, "sync", FALSE, "async", FALSE, NULL);
	d->gen++;
	g_atomic_int_set(&d->started, o->tee[0] ? 0 : 1);
	g_atomic_int_set(&d->eos_in, 0);
	g_atomic_int_set(&d->entered, 0);
	g_atomic_int_set(&d->rendered, 0);
	d->seen_entered = d->seen_rendered = 0;
	d->rendered_at_us = g_get_monotonic_time();
	d->acked = 0;
	d->acked_at_us = d->rendered_at_us;
	if (!gst_element_link(mux, d->sink))
		goto link;
	for (int m = 0; m < 2; m++) {
		if (!o->tee[m])
			continue;
		if (!(q = d->q[m] = leaky_queue(d->bin, errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		if (!m) {
			if (!(vparse = make(d->bin, "h264parse", errstr, errstr_size)))
				return EGW_ERR_MEDIA;
			/* Parameter sets before every keyframe: what MPEG-TS
			 * readers need, and harmless in FLV. */
			g_object_set(vparse, "config-interval", -1, NULL);
			if (!gst_element_link_many(q, vparse, mux, NULL))
				goto link;
		} else if (!gst_element_link_pads(q, "src", mux, d->srt ? NULL : "audio")) {
			goto link; /* (flvmux: by name, its video pad would be tried first) */
		}
	}
	pad = gst_element_get_static_pad(d->sink, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
			  sink_in, d, NULL);
	gst_object_unref(pad);
	/* Running before the tees feed it. */
	gst_element_sync_state_with_parent(d->bin);
	for (int m = 0; m < 2; m++)
		if (o->tee[m] && !feed(o, d, m))
			goto link;
	ask_keyframe(d);
	return EGW_OK;
link:
	snprintf(errstr, errstr_size, "cannot link the %s destination", d->srt ? "SRT" : "RTMP");
	return EGW_ERR_MEDIA;
}

/* Unlinks a destination from the tees and stops it; its bin stays in the
 * output a while (an error it posted before may still be on the bus, and
 * must find its way here), then goes. */
static void dest_take_down(egw_output_t *o, struct dest *d)
{
	struct dead *dd;

	for (int m = 0; m < 2; m++) {
		if (!d->feed[m])
			continue;
		GstPad *peer = gst_pad_get_peer(d->feed[m]);
		if (peer) {
			gst_pad_unlink(d->feed[m], peer);
			gst_object_unref(peer);
		}
		gst_element_release_request_pad(o->tee[m], d->feed[m]);
		gst_object_unref(d->feed[m]);
		d->feed[m] = NULL;
	}
	if (!d->bin)
		return;
	gst_element_set_locked_state(d->bin, TRUE);
	gst_element_set_state(d->bin, GST_STATE_NULL);
	dd = g_new(struct dead, 1);
	dd->bin = d->bin;
	dd->since_us = g_get_monotonic_time();
	o->dead = g_slist_prepend(o->dead, dd);
	d->bin = d->sink = d->q[0] = d->q[1] = NULL;
}

static void bury_dead(egw_output_t *o, int all)
{
	gint64 now = g_get_monotonic_time();
	GSList *keep = NULL;
	for (GSList *l = o->dead; l; l = l->next) {
		struct dead *dd = l->data;
		if (all || now - dd->since_us > DEAD_KEEP_US) {
			gst_bin_remove(GST_BIN(o->bin), dd->bin);
			g_free(dd);
		} else {
			keep = g_slist_prepend(keep, dd);
		}
	}
	g_slist_free(o->dead);
	o->dead = keep;
}

static void dest_set(egw_output_t *o, struct dest *d, dest_state_t st, const char *why)
{
	if (d->state == st)
		return;
	d->state = st;
	if (why && why != d->error)
		snprintf(d->error, sizeof(d->error), "%s", why);
	egw_log(o->log_id, st == D_FAILED || st == D_RECONNECTING ? EGW_LOG_WARN : EGW_LOG_INFO,
		"%s %s: %s%s%s", o->name, d->shown, state_names[st], why && *why ? ": " : "",
		why ? why : "");
	emit(o, d, why);
}

/* A retry timer: the destination by id, the output through its life. */
struct retry {
	egw_life_t *life;
	guint id;
};

static void retry_free(gpointer p)
{
	struct retry *r = p;
	egw_life_unref(r->life);
	g_free(r);
}

static gboolean retry_now(gpointer user);

/* The destination dropped (error or stall). */
static void dest_down(egw_output_t *o, struct dest *d, const char *why)
{
	gint64 now = g_get_monotonic_time();
	char errstr[256];

	if (!dest_live(d))
		return;
	dest_take_down(o, d);
	if (g_atomic_int_get(&d->eos_in) && d->state == D_ACTIVE) {
		/* The end went out; a server closes the connection after it. */
		dest_set(o, d, D_DONE, NULL);
		check_done(o);
		return;
	}
	if (o->ending) {
		dest_set(o, d, D_DONE, why);
		check_done(o);
		return;
	}
	if (!d->ever_active) {
		/* Never streamed (refused key, unknown host, TLS): not retried. */
		snprintf(errstr, sizeof(errstr), "could not start streaming: %s", why);
		dest_set(o, d, D_FAILED, errstr);
		check_done(o);
		return;
	}
	if (d->state != D_RECONNECTING) {
		d->down_since_us = now;
		d->backoff_ms = BACKOFF_FIRST_MS;
		dest_set(o, d, D_RECONNECTING, why);
	} else {
		snprintf(d->error, sizeof(d->error), "%s", why);
	}
	if (now - d->down_since_us >= (gint64)o->window_s * G_USEC_PER_SEC) {
		snprintf(errstr, sizeof(errstr), "still failing after %d s of reconnecting: %s",
			 o->window_s, why);
		dest_set(o, d, D_FAILED, errstr);
		check_done(o);
		return;
	}
	if (!d->retry) {
		struct retry *r = g_new(struct retry, 1);
		r->life = egw_life_ref(o->life);
		r->id = d->id;
		d->retry = g_timeout_add_full(G_PRIORITY_DEFAULT, d->backoff_ms, retry_now, r,
					      retry_free);
		d->backoff_ms = MIN(d->backoff_ms * 2, BACKOFF_MAX_MS);
	}
}

static gboolean retry_now(gpointer user)
{
	struct retry *r = user;
	egw_output_t *o;
	struct dest *d;
	char errstr[256];

	if (!egw_life_alive(r->life) || !(o = egw_life_target(r->life)) ||
	    !(d = dest_by_id(o, r->id)))
		return G_SOURCE_REMOVE;
	d->retry = 0;
	if (d->state != D_RECONNECTING || o->ending)
		return G_SOURCE_REMOVE;
	EGW_LOG(o->log_id, INFO, "%s %s: reconnecting", o->name, d->shown);
	if (dest_build(o, d, errstr, sizeof(errstr)))
		dest_down(o, d, errstr);
	return G_SOURCE_REMOVE;
}

/* ---- watchdog (main, every WATCH_MS) ---- */

static guint64 stat_u64(const GstStructure *s, const char *field)
{
	guint64 v = 0;
	const GValue *gv = s ? gst_structure_get_value(s, field) : NULL;
	if (gv && G_VALUE_HOLDS_UINT64(gv))
		v = g_value_get_uint64(gv);
	else if (gv && G_VALUE_HOLDS_UINT(gv))
		v = g_value_get_uint(gv);
	return v;
}

/* Is the destination connected and taking data? rtmp2sink has statistics
 * only while connected and publishing (it takes the FLV header and the
 * stream headers before that, so buffers taken say nothing). srtsink
 * connects before it takes any buffer, and returns from one once it is
 * sent: two taken, the first went out. */
static int dest_publishing(struct dest *d, gint rendered)
{
	GstStructure *st = NULL;
	guint64 sent;

	if (d->srt)
		return rendered >= 2;
	g_object_get(d->sink, "stats", &st, NULL);
	sent = stat_u64(st, "out-bytes-total");
	if (st)
		gst_structure_free(st);
	return sent > 0 && rendered >= 2;
}

static void watch_dest(egw_output_t *o, struct dest *d, gint64 now)
{
	gint entered = g_atomic_int_get(&d->entered);
	gint rendered = g_atomic_int_get(&d->rendered);

	if (!d->bin) /* failed, removed, done, or waiting to reconnect */
		return;
	if (rendered != d->seen_rendered) {
		d->seen_rendered = rendered;
		d->rendered_at_us = now;
	}
	if (d->state != D_ACTIVE && dest_publishing(d, rendered)) {
		int again = d->ever_active;
		d->ever_active = 1;
		d->error[0] = '\0';
		if (!o->wrote) { /* the egress is active first, then says where */
			o->wrote = 1;
			if (o->ev.first_byte)
				o->ev.first_byte(o->opaque);
		}
		dest_set(o, d, D_ACTIVE, again ? "reconnected" : NULL);
	}
	if (entered != d->seen_entered && rendered == d->seen_rendered &&
	    now - d->rendered_at_us > (gint64)STALL_S * G_USEC_PER_SEC) {
		dest_down(o, d, d->state == D_ACTIVE
					? "the server took no data for 5 s"
					: "no connection within 5 s");
		return;
	}
	d->seen_entered = entered;
	if (!d->srt && d->state == D_ACTIVE && d->sink) {
		GstStructure *st = NULL;
		guint64 total, acked, window;
		g_object_get(d->sink, "stats", &st, NULL);
		total = stat_u64(st, "out-bytes-total");
		acked = stat_u64(st, "out-bytes-acked");
		window = stat_u64(st, "out-window-ack-size");
		if (st)
			gst_structure_free(st);
		if (acked != d->acked) {
			d->acked = acked;
			d->acked_at_us = now;
		}
		/* The server owes an acknowledgement and has sent none for a
		 * while: it stopped reading (frozen, or a dead link). */
		if (window && total > acked + window + window / 2 &&
		    now - d->acked_at_us > (gint64)STALL_S * G_USEC_PER_SEC)
			dest_down(o, d, "the server acknowledged nothing for 5 s");
	}
}

static gboolean watch(gpointer user)
{
	egw_output_t *o = user;
	gint64 now = g_get_monotonic_time();
	for (guint i = 0; i < o->dests->len; i++)
		watch_dest(o, g_ptr_array_index(o->dests, i), now);
	bury_dead(o, 0);
	return G_SOURCE_CONTINUE;
}

/* ---- the end ---- */

static gboolean end_overdue(gpointer user)
{
	egw_output_t *o = user;
	o->end_timer = 0;
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (dest_live(d))
			dest_down(o, d, "did not take the end within 5 s; closed");
	}
	check_done(o);
	return G_SOURCE_REMOVE;
}

static void on_end_arrived(void *target, void *data)
{
	egw_output_t *o = target;
	if (o->ending)
		return;
	o->ending = 1;
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (d->state == D_RECONNECTING) {
			if (d->retry) {
				g_source_remove(d->retry);
				d->retry = 0;
			}
			dest_set(o, d, D_FAILED, d->error);
		}
	}
	o->end_timer = g_timeout_add_seconds(END_GRACE_S, end_overdue, o);
	check_done(o);
}

static void on_note(void *target, void *data)
{
	egw_output_t *o = target;
	struct note *n = data;
	struct dest *d = dest_by_id(o, n->id);
	if (!d || n->gen != d->gen || n->what != NOTE_EOS || !dest_live(d) || !d->bin)
		return;
	dest_set(o, d, D_DONE, NULL);
	check_done(o);
}

/* ---- ops ---- */

static struct dest *dest_new(egw_output_t *o, const char *url)
{
	struct dest *d = g_new0(struct dest, 1);
	d->o = o;
	d->id = ++o->next_id;
	d->url = g_strdup(url);
	d->srt = !g_ascii_strncasecmp(url, "srt://", 6);
	egw_log_redact_url(url, d->shown, sizeof(d->shown));
	g_ptr_array_add(o->dests, d);
	return d;
}

static void dest_free(gpointer p)
{
	struct dest *d = p;
	if (d->retry)
		g_source_remove(d->retry);
	if (d->url) {
		memset(d->url, 0, strlen(d->url));
		g_free(d->url);
	}
	g_free(d);
}

static void stream_free(egw_output_t *o)
{
	if (!o)
		return;
	if (o->watch)
		g_source_remove(o->watch);
	if (o->end_timer)
		g_source_remove(o->end_timer);
	egw_life_end(o->life);
	for (guint i = 0; o->dests && i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		for (int m = 0; m < 2; m++)
			if (d->feed[m])
				gst_object_unref(d->feed[m]);
	}
	for (GSList *l = o->dead; l; l = l->next)
		g_free(l->data);
	g_slist_free(o->dead);
	if (o->dests)
		g_ptr_array_free(o->dests, TRUE);
	if (o->bin)
		gst_object_unref(o->bin);
	g_free(o->name);
	g_free(o->log_id);
	g_free(o);
}

static egw_output_t *stream_create(const egw_output_plan_t *plan, const char *log_id,
				   const egw_output_events_t *ev, void *opaque, char *errstr,
				   size_t errstr_size)
{
	egw_output_t *o = g_new0(egw_output_t, 1);

	o->name = g_strdup(plan->name);
	o->log_id = g_strdup(log_id);
	if (ev)
		o->ev = *ev;
	o->opaque = opaque;
	o->life = egw_life_new(NULL, o);
	o->window_s = plan->reconnect_window_s > 0 ? plan->reconnect_window_s : 30;
	o->dests = g_ptr_array_new_with_free_func(dest_free);
	o->bin = gst_object_ref_sink(gst_bin_new(plan->name));
	if (!plan->n_urls) {
		snprintf(errstr, errstr_size, "%s.urls: no destination", plan->name);
		stream_free(o);
		return NULL;
	}
	for (size_t i = 0; i < plan->n_urls; i++)
		dest_new(o, plan->urls[i]);
	return o;
}

static GstElement *stream_bin(egw_output_t *o)
{
	return o->bin;
}

static GstElement *stream_sink(egw_output_t *o)
{
	return NULL;
}

/* Every destination is built once the streams are known: the tees exist
 * then. Called as the second stream arrives, or by the first media. */
static void build_all(egw_output_t *o)
{
	char errstr[256];
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (d->state != D_CONNECTING || d->bin)
			continue;
		if (dest_build(o, d, errstr, sizeof(errstr)))
			dest_down(o, d, errstr);
	}
	if (!o->watch)
		o->watch = g_timeout_add(WATCH_MS, watch, o);
}

static egw_err_t stream_add_stream(egw_output_t *o, egw_media_t media, const char *codec,
				   GstPad **pad, char *errstr, size_t errstr_size)
{
	int m = media == EGW_MEDIA_AUDIO;
	const char *want = m ? "aac" : "h264";
	GstPad *teesink;

	if (strcmp(codec, want)) {
		snprintf(errstr, errstr_size, "%s: a stream carries H.264 and AAC, not %s", o->name,
			 codec);
		return EGW_ERR_INVALID_REQUEST;
	}
	if (o->tee[m]) {
		snprintf(errstr, errstr_size, "%s: a stream carries one %s track", o->name,
			 egw_media2str(media));
		return EGW_ERR_INVALID_REQUEST;
	}
	if (!(o->tee[m] = gst_element_factory_make("tee", NULL))) {
		snprintf(errstr, errstr_size, "GStreamer element tee is missing");
		return EGW_ERR_MEDIA;
	}
	g_object_set(o->tee[m], "allow-not-linked", TRUE, NULL);
	gst_bin_add(GST_BIN(o->bin), o->tee[m]);
	snprintf(o->codec[m], sizeof(o->codec[m]), "%s", codec);
	teesink = gst_element_get_static_pad(o->tee[m], "sink");
	gst_pad_add_probe(teesink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, end_in, o, NULL);
	*pad = gst_ghost_pad_new(m ? "audio_0" : "video_0", teesink);
	gst_object_unref(teesink);
	gst_pad_set_active(*pad, TRUE);
	gst_element_add_pad(o->bin, *pad);
	gst_object_ref(*pad); /* the caller's reference */
	gst_element_sync_state_with_parent(o->tee[m]);
	return EGW_OK;
}

static struct dest *dest_of(egw_output_t *o, GstObject *src)
{
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (d->bin && (src == GST_OBJECT(d->bin) ||
			       gst_object_has_as_ancestor(src, GST_OBJECT(d->bin))))
			return d;
	}
	return NULL;
}

static int stream_element_error(egw_output_t *o, GstObject *src, const char *message)
{
	struct dest *d = dest_of(o, src);
	if (d) {
		dest_down(o, d, message);
		return 1;
	}
	for (GSList *l = o->dead; l; l = l->next) {
		struct dead *dd = l->data;
		if (src == GST_OBJECT(dd->bin) || gst_object_has_as_ancestor(src, GST_OBJECT(dd->bin)))
			return 1; /* from a destination already taken down */
	}
	return 0;
}

static size_t stream_update(egw_output_t *o, char *const *add, size_t n_add, char *const *remove,
			    size_t n_remove, char *errstr, size_t errstr_size)
{
	size_t applied = 0;
	char shown[SHOWN_MAX];

	for (size_t i = 0; i < n_remove; i++) {
		for (guint k = 0; k < o->dests->len; k++) {
			struct dest *d = g_ptr_array_index(o->dests, k);
			if (strcmp(d->url, remove[i]) || !dest_live(d))
				continue;
			if (d->retry) {
				g_source_remove(d->retry);
				d->retry = 0;
			}
			dest_take_down(o, d);
			dest_set(o, d, D_REMOVED, "update_stream");
			applied++;
		}
	}
	for (size_t i = 0; i < n_add; i++) {
		int known = 0;
		for (guint k = 0; k < o->dests->len; k++) {
			struct dest *d = g_ptr_array_index(o->dests, k);
			known |= !strcmp(d->url, add[i]) && dest_live(d);
		}
		if (known || o->ending || o->failed) {
			egw_log_redact_url(add[i], shown, sizeof(shown));
			snprintf(errstr, errstr_size, "%s: %s %s", o->name, shown,
				 known ? "is streamed already" : "has ended");
			continue;
		}
		struct dest *d = dest_new(o, add[i]);
		emit(o, d, "update_stream");
		applied++;
	}
	if (o->watch)
		build_all(o);
	return applied;
}

static json_t *stream_describe(egw_output_t *o, double duration_s)
{
	json_t *list = json_array();
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		json_t *e = json_pack("{s:s, s:s}", "url", d->shown, "state", state_names[d->state]);
		if (d->error[0] && (d->state == D_FAILED || d->state == D_RECONNECTING))
			json_object_set_new(e, "error", json_pack("{s:s, s:s}", "code", "io_error",
								   "message", d->error));
		json_array_append_new(list, e);
	}
	return json_pack("{s:s, s:o, s:f}", "kind", "stream", "destinations", list, "duration_s",
			 (double)(gint64)(duration_s * 1000) / 1000.0);
}

/* The session links the streams, then data flows: the destinations are
 * built when the first buffer reaches a tee (both tees exist by then). */
static GstPadProbeReturn first_in(GstPad *pad, GstPadProbeInfo *info, gpointer user);

static void on_first_in(void *target, void *data)
{
	build_all(target);
}

static GstPadProbeReturn first_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	egw_output_t *o = user;
	egw_life_invoke(o->life, on_first_in, NULL, NULL);
	return GST_PAD_PROBE_REMOVE;
}

static egw_err_t stream_add_stream_watched(egw_output_t *o, egw_media_t media, const char *codec,
					   GstPad **pad, char *errstr, size_t errstr_size)
{
	egw_err_t err = stream_add_stream(o, media, codec, pad, errstr, errstr_size);
	if (!err)
		gst_pad_add_probe(*pad, GST_PAD_PROBE_TYPE_BUFFER, first_in, o, NULL);
	return err;
}

const egw_output_ops_t egw_output_stream = {
	.kind = "stream",
	.create = stream_create,
	.bin = stream_bin,
	.add_stream = stream_add_stream_watched,
	.sink = stream_sink,
	.describe = stream_describe,
	.element_error = stream_element_error,
	.update = stream_update,
	.free = stream_free,
};
