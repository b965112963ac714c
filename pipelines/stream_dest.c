/* One destination of a stream output (see output_stream.c and
 * stream_int.h): its elements, its state, reconnecting with backoff (the
 * stall watchdog is stream_watch.c). */
#include <stdio.h>
#include <string.h>

#include <gst/video/video.h>

#include "base/log.h"
#include "pipelines/graph.h"
#include "pipelines/stream_int.h"

/* ---- streaming threads ---- */

/* A destination's sink saw the end: which one, and which build of it. */
struct eos_note {
	guint id, gen;
};

void egw_stream_dest_end_out(egw_output_t *o, struct dest *d)
{
	if (d->state == D_REMOVED) {
		egw_stream_dest_take_down(o, d);
		return;
	}
	if (!egw_stream_dest_live(d))
		return;
	egw_stream_dest_set(o, d, D_DONE, NULL);
	egw_stream_check_done(o);
}

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

#define RTMP_CHUNK 4096

/* A destination whose first tag is this late restamps its tags. */
#define RESTAMP_FROM_MS 1000

/* FLV tag timestamps: 24 bits at bytes 4-6, their upper 8 bits at 7. */
static guint64 tag_time(const guint8 *h)
{
	return ((guint64)h[7] << 24) | ((guint64)h[4] << 16) | ((guint64)h[5] << 8) | h[6];
}

/* The shared muxer stamps its tags from its own start; a destination that
 * joined later (reconnected, added) starts its own at 0 instead: its tags
 * are copied with their timestamps moved back (a copy of each tag, about
 * 0.4 MB/s at 3 Mbit/s; the first destinations take them as they are). */
static GstBuffer *restamp(GstBuffer *in, guint64 base_ms)
{
	GstBuffer *out = gst_buffer_copy_deep(in);
	GstMapInfo map;

	gst_buffer_unref(in);
	if (!gst_buffer_map(out, &map, GST_MAP_READWRITE))
		return out;
	if (map.size >= 11) {
		guint64 t = tag_time(map.data);
		t = t > base_ms ? t - base_ms : 0;
		map.data[4] = (guint8)(t >> 16);
		map.data[5] = (guint8)(t >> 8);
		map.data[6] = (guint8)t;
		map.data[7] = (guint8)(t >> 24);
	}
	gst_buffer_unmap(out, &map);
	return out;
}

/* RTMP: the shared FLV stream into the destination's queue. It starts on
 * a video keyframe tag (the muxer's headers reach rtmp2sink in its caps). */
static GstPadProbeReturn flv_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct dest *d = user;
	GstBuffer *b;
	guint8 h[11];

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
			g_atomic_int_set(&d->eos_in, 1);
		return GST_PAD_PROBE_OK;
	}
	b = GST_PAD_PROBE_INFO_BUFFER(info);
	if (gst_buffer_extract(b, 0, h, sizeof(h)) < sizeof(h))
		return GST_PAD_PROBE_DROP; /* the FLV header: rtmp2sink drops it anyway */
	if (!g_atomic_int_get(&d->started)) {
		int want = d->o->tee[0] ? 9 /* video */ : 8 /* audio */;
		if ((h[0] & 0x1f) != want || GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT))
			return GST_PAD_PROBE_DROP;
		/* From the muxer's start: as they are (no copies). */
		d->ts_base_ms = tag_time(h) >= RESTAMP_FROM_MS ? tag_time(h) : 0;
		g_atomic_int_set(&d->started, 1);
	}
	g_atomic_int_inc(&d->entered);
	if (d->ts_base_ms)
		GST_PAD_PROBE_INFO_DATA(info) = restamp(b, d->ts_base_ms);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn sink_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct dest *d = user;
	if (info->type & (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)) {
		g_atomic_int_inc(&d->rendered); /* (mpegtsmux pushes lists) */
	} else if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
		struct eos_note *n = g_new0(struct eos_note, 1);
		n->id = d->id;
		n->gen = d->gen;
		egw_life_invoke(d->o->life, on_note, n, g_free);
	}
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

/* Links tee to the destination's queue m (through a ghost pad of its
 * bin), with probe on the queue's input. */
static int feed(struct dest *d, int m, GstElement *tee, GstPadProbeCallback probe)
{
	GstPad *sink = gst_element_get_static_pad(d->q[m], "sink");
	GstPad *ghost = gst_ghost_pad_new(m ? "audio" : "video", sink);
	int ok;

	gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
	                  probe, d, NULL);
	gst_object_unref(sink);
	egw_graph_guard_queue(d->q[m]); /* a dropped server stops only its destination */
	gst_pad_set_active(ghost, TRUE);
	gst_element_add_pad(d->bin, ghost);
	d->fed_by[m] = tee;
	ok = (d->feed[m] = gst_element_request_pad_simple(tee, "src_%u")) &&
	     gst_pad_link(d->feed[m], ghost) == GST_PAD_LINK_OK;
	return ok;
}

/* Asks the encoder for a keyframe (upstream from the output's video pad)
 * so a destination that (re)starts on one does not wait for the next. */
static void ask_keyframe(egw_output_t *o)
{
	if (o->video_in)
		gst_pad_push_event(o->video_in, gst_video_event_new_upstream_force_key_unit(
		                                        GST_CLOCK_TIME_NONE, TRUE, 0));
}

/* The muxer every RTMP destination shares (see stream_int.h): FLV is
 * muxed once whatever the number of destinations. */
static egw_err_t flv_ensure(egw_output_t *o, char *errstr, size_t errstr_size)
{
	GstElement *mux, *tee;

	if (o->flv_tee)
		return EGW_OK;
	if (!(mux = make(o->bin, "flvmux", errstr, errstr_size)) ||
	    !(tee = make(o->bin, "tee", errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	g_object_set(mux, "streamable", TRUE, NULL);
	g_object_set(tee, "allow-not-linked", TRUE, NULL);
	if (!gst_element_link(mux, tee))
		goto link;
	gst_element_sync_state_with_parent(tee);
	gst_element_sync_state_with_parent(mux);
	for (int m = 0; m < 2; m++) {
		GstPad *from, *to;
		int ok;
		if (!o->tee[m])
			continue;
		from = gst_element_request_pad_simple(o->tee[m], "src_%u");
		/* (by name: linking by caps, its video pad would be tried first) */
		to = gst_element_request_pad_simple(mux, m ? "audio" : "video");
		ok = from && to && gst_pad_link(from, to) == GST_PAD_LINK_OK;
		if (from)
			gst_object_unref(from);
		if (to)
			gst_object_unref(to);
		if (!ok)
			goto link;
	}
	o->flv_mux = mux;
	o->flv_tee = tee;
	return EGW_OK;
link:
	snprintf(errstr, errstr_size, "cannot link the FLV muxer of the RTMP destinations");
	return EGW_ERR_MEDIA;
}

/* SRT: its own queues and MPEG-TS muxer, from the output's tees. */
static egw_err_t build_srt(egw_output_t *o, struct dest *d, char *errstr, size_t errstr_size)
{
	GstElement *mux = make(d->bin, "mpegtsmux", errstr, errstr_size), *vparse, *q;

	if (!mux || !gst_element_link(mux, d->sink))
		goto link;
	g_object_set(mux, "alignment", 7, NULL); /* whole UDP payloads */
	for (int m = 0; m < 2; m++) {
		if (!o->tee[m])
			continue;
		if (!(q = d->q[m] = leaky_queue(d->bin, errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		if (!m) {
			/* MPEG-TS: a byte stream, parameter sets before every
			 * keyframe (what its readers need). */
			if (!(vparse = make(d->bin, "h264parse", errstr, errstr_size)))
				return EGW_ERR_MEDIA;
			g_object_set(vparse, "config-interval", -1, NULL);
			if (!gst_element_link_many(q, vparse, mux, NULL))
				goto link;
		} else if (!gst_element_link(q, mux)) {
			goto link;
		}
	}
	return EGW_OK;
link:
	snprintf(errstr, errstr_size, "cannot link the SRT destination");
	return EGW_ERR_MEDIA;
}

egw_err_t egw_stream_dest_build(egw_output_t *o, struct dest *d, char *errstr, size_t errstr_size)
{
	GstPad *pad;
	egw_err_t err;

	if (!d->srt && (err = flv_ensure(o, errstr, errstr_size)))
		return err;
	d->bin = gst_bin_new(NULL);
	gst_bin_add(GST_BIN(o->bin), d->bin);
	if (!(d->sink = make(d->bin, d->srt ? "srtsink" : "rtmp2sink", errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	if (d->srt)
		g_object_set(d->sink, "uri", d->url, "auto-reconnect", FALSE, NULL);
	else /* RTMP chunks of 4 KiB (rtmp2sink's default, 128 bytes, the
	      * protocol's initial size, takes about a third more CPU) */
		g_object_set(d->sink, "location", d->url, "chunk-size", RTMP_CHUNK, NULL);
	g_object_set(d->sink, "sync", FALSE, "async", FALSE, NULL);
	d->gen++;
	d->ts_base_ms = 0;
	g_atomic_int_set(&d->started, d->srt && !o->tee[0]);
	d->drop_at_us = 0;
	g_atomic_int_set(&d->eos_in, 0);
	g_atomic_int_set(&d->entered, 0);
	g_atomic_int_set(&d->rendered, 0);
	d->seen_entered = d->seen_rendered = 0;
	d->rendered_at_us = g_get_monotonic_time();
	d->acked = 0;
	d->acked_at_us = d->rendered_at_us;
	if (d->srt) {
		if ((err = build_srt(o, d, errstr, errstr_size)))
			return err;
	} else if (!(d->q[0] = leaky_queue(d->bin, errstr, errstr_size))) {
		return EGW_ERR_MEDIA;
	} else if (!gst_element_link(d->q[0], d->sink)) {
		goto link;
	}
	pad = gst_element_get_static_pad(d->sink, "sink");
	gst_pad_add_probe(pad,
	                  GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
	                          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
	                  sink_in, d, NULL);
	gst_object_unref(pad);
	/* Running before the tees feed it. */
	gst_element_sync_state_with_parent(d->bin);
	if (!d->srt && !feed(d, 0, o->flv_tee, flv_in))
		goto link;
	for (int m = 0; d->srt && m < 2; m++)
		if (o->tee[m] && !feed(d, m, o->tee[m], m ? audio_in : video_in))
			goto link;
	ask_keyframe(o);
	return EGW_OK;
link:
	snprintf(errstr, errstr_size, "cannot link the %s destination", d->srt ? "SRT" : "RTMP");
	return EGW_ERR_MEDIA;
}

/* Unlinks a destination from the tees and stops it; its bin stays in the
 * output a while (an error it posted before may still be on the bus, and
 * must find its way here), then goes. */
static void unfeed(egw_output_t *o, struct dest *d)
{
	for (int m = 0; m < 2; m++) {
		if (!d->feed[m])
			continue;
		GstPad *peer = gst_pad_get_peer(d->feed[m]);
		if (peer) {
			gst_pad_unlink(d->feed[m], peer);
			gst_object_unref(peer);
		}
		gst_element_release_request_pad(d->fed_by[m], d->feed[m]);
		gst_object_unref(d->feed[m]);
		d->feed[m] = NULL;
		d->fed_by[m] = NULL;
	}
}

void egw_stream_dest_take_down(egw_output_t *o, struct dest *d)
{
	struct dead *dd;

	unfeed(o, d);
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

void egw_stream_bury_dead(egw_output_t *o, int all)
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

void egw_stream_dest_set(egw_output_t *o, struct dest *d, dest_state_t st, const char *why)
{
	if (d->state == st)
		return;
	d->state = st;
	if (why && why != d->error)
		g_strlcpy(d->error, why, sizeof(d->error)); /* (cut to fit) */
	egw_log(o->log_id, st == D_FAILED || st == D_RECONNECTING ? EGW_LOG_WARN : EGW_LOG_INFO,
	        "%s %s: %s%s%s", o->name, d->shown, egw_stream_state_names[st],
	        why && *why ? ": " : "", why ? why : "");
	egw_stream_emit(o, d, why);
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

/* What a failure before the first byte most likely means, from the
 * sinks' messages (the message itself follows it). */
static const char *first_failure(const char *why)
{
	static const struct {
		const char *says, *means;
	} known[] = {
	        {"'publish' cmd failed",
	         " (the server refused the stream: its key or application)"},
	        {"Connection refused", " (nothing listens there)"},
	        {"resolv", " (unknown host)"},
	        {"TLS", " (TLS)"},
	        {"certificate", " (TLS)"},
	};
	for (size_t i = 0; why && i < G_N_ELEMENTS(known); i++)
		if (strstr(why, known[i].says))
			return known[i].means;
	return "";
}

/* The destination dropped (error or stall). */
void egw_stream_dest_down(egw_output_t *o, struct dest *d, const char *why)
{
	gint64 now = g_get_monotonic_time();
	char errstr[256];

	if (!egw_stream_dest_live(d))
		return;
	egw_stream_dest_take_down(o, d);
	if (g_atomic_int_get(&d->eos_in) && d->state == D_ACTIVE) {
		/* The end went out; a server closes the connection after it. */
		egw_stream_dest_set(o, d, D_DONE, NULL);
		egw_stream_check_done(o);
		return;
	}
	if (o->ending) {
		egw_stream_dest_set(o, d, D_DONE, why);
		egw_stream_check_done(o);
		return;
	}
	if (!d->ever_active) {
		/* Never streamed (refused key, unknown host, TLS): not retried. */
		snprintf(errstr, sizeof(errstr), "could not start streaming%s: %s",
		         first_failure(why), why);
		egw_stream_dest_set(o, d, D_FAILED, errstr);
		egw_stream_check_done(o);
		return;
	}
	if (d->state != D_RECONNECTING) {
		d->down_since_us = now;
		d->backoff_ms = BACKOFF_FIRST_MS;
		egw_stream_dest_set(o, d, D_RECONNECTING, why);
	} else {
		snprintf(d->error, sizeof(d->error), "%s", why);
	}
	if (now - d->down_since_us >= (gint64)o->window_s * G_USEC_PER_SEC) {
		snprintf(errstr, sizeof(errstr), "still failing after %d s of reconnecting: %s",
		         o->window_s, why);
		egw_stream_dest_set(o, d, D_FAILED, errstr);
		egw_stream_check_done(o);
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

int egw_stream_dest_past_window(egw_output_t *o, struct dest *d, gint64 now)
{
	char why[sizeof(d->error)], errstr[sizeof(d->error) + 64];
	if (d->state != D_RECONNECTING ||
	    now - d->down_since_us < (gint64)o->window_s * G_USEC_PER_SEC)
		return 0;
	snprintf(why, sizeof(why), "%s", d->error[0] ? d->error : "no connection");
	egw_stream_dest_take_down(o, d);
	snprintf(errstr, sizeof(errstr), "still failing after %d s of reconnecting: %s",
	         o->window_s, why);
	egw_stream_dest_set(o, d, D_FAILED, errstr);
	egw_stream_check_done(o);
	return 1;
}

static gboolean retry_now(gpointer user)
{
	struct retry *r = user;
	egw_output_t *o;
	struct dest *d;
	char errstr[256];

	if (!egw_life_alive(r->life) || !(o = egw_life_target(r->life)) ||
	    !(d = egw_stream_dest_by_id(o, r->id)))
		return G_SOURCE_REMOVE;
	d->retry = 0;
	if (d->state != D_RECONNECTING || o->ending ||
	    egw_stream_dest_past_window(o, d, g_get_monotonic_time()))
		return G_SOURCE_REMOVE;
	EGW_LOG(o->log_id, INFO, "%s %s: reconnecting", o->name, d->shown);
	if (egw_stream_dest_build(o, d, errstr, sizeof(errstr)))
		egw_stream_dest_down(o, d, errstr);
	return G_SOURCE_REMOVE;
}

static void on_note(void *target, void *data)
{
	egw_output_t *o = target;
	struct eos_note *n = data;
	struct dest *d = egw_stream_dest_by_id(o, n->id);
	if (!d || n->gen != d->gen || !d->bin)
		return;
	if (d->srt) { /* its end went out; SRT needs a moment to send it */
		d->drop_at_us = g_get_monotonic_time() + SRT_LINGER_US;
		return;
	}
	egw_stream_dest_end_out(o, d);
}

void egw_stream_dest_remove(egw_output_t *o, struct dest *d)
{
	if (d->retry) {
		g_source_remove(d->retry);
		d->retry = 0;
	}
	unfeed(o, d);
	if (d->bin) {
		for (int m = 0; m < 2; m++) {
			GstPad *pad = d->q[m] ? gst_element_get_static_pad(d->q[m], "sink") : NULL;
			if (pad) {
				gst_pad_send_event(pad, gst_event_new_eos());
				gst_object_unref(pad);
			}
		}
		d->drop_at_us = g_get_monotonic_time() + (gint64)END_GRACE_S * G_USEC_PER_SEC;
	}
	egw_stream_dest_set(o, d, D_REMOVED, "update_stream");
}
