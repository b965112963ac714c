/* Stream output: the egress live to one or more destinations, rtmp:// and
 * rtmps:// (FLV: flvmux + rtmp2sink) or srt:// (MPEG-TS: mpegtsmux +
 * srtsink, caller mode).
 *
 *   video_0 -> h264parse -> tee -+-> queue -> [h264parse] -> mux -> sink   destination 1
 *   audio_0 ----------------> tee -+-> queue ---------------->  ^
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

#include "base/log.h"
#include "base/secret.h"
#include "pipelines/stream_int.h"

const char *const egw_stream_state_names[] = {"connecting", "active",  "reconnecting",
                                              "failed",     "removed", "complete"};

/* ---- helpers ---- */

struct dest *egw_stream_dest_by_id(egw_output_t *o, guint id)
{
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (d->id == id)
			return d;
	}
	return NULL;
}

int egw_stream_dest_live(const struct dest *d)
{
	return d->state == D_CONNECTING || d->state == D_ACTIVE || d->state == D_RECONNECTING;
}

void egw_stream_emit(egw_output_t *o, struct dest *d, const char *why)
{
	egw_output_state_event(&o->ev, o->opaque, "stream_state", o->name, d->shown,
	                       egw_stream_state_names[d->state], why);
}

void egw_stream_check_done(egw_output_t *o)
{
	guint live = 0, failed = 0;

	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		live += egw_stream_dest_live(d);
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

/* The end reached the output: destinations get END_GRACE_S to write it. */
static void on_end_arrived(void *target, void *data);

static GstPadProbeReturn end_in(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	egw_output_t *o = user;
	if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
		egw_life_invoke(o->life, on_end_arrived, NULL, NULL);
	return GST_PAD_PROBE_OK;
}

static gboolean watch(gpointer user)
{
	egw_output_t *o = user;
	gint64 now = g_get_monotonic_time();
	for (guint i = 0; i < o->dests->len; i++)
		egw_stream_watch_dest(o, g_ptr_array_index(o->dests, i), now);
	egw_stream_bury_dead(o, 0);
	return G_SOURCE_CONTINUE;
}

/* ---- the end ---- */

static gboolean end_overdue(gpointer user)
{
	egw_output_t *o = user;
	o->end_timer = 0;
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (egw_stream_dest_live(d))
			egw_stream_dest_down(o, d, "did not take the end within 5 s; closed");
	}
	egw_stream_check_done(o);
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
			egw_stream_dest_set(o, d, D_FAILED, d->error);
		}
	}
	o->end_timer = g_timeout_add_seconds(END_GRACE_S, end_overdue, o);
	egw_stream_check_done(o);
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
		egw_secret_wipe(d->url);
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
	if (o->video_in)
		gst_object_unref(o->video_in);
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

/* Every destination is built once the streams are known, before the
 * pipeline starts: they connect while the source joins the room, and take
 * the first keyframe. */
static void build_all(egw_output_t *o)
{
	char errstr[256];
	for (guint i = 0; i < o->dests->len; i++) {
		struct dest *d = g_ptr_array_index(o->dests, i);
		if (d->state != D_CONNECTING || d->bin)
			continue;
		if (egw_stream_dest_build(o, d, errstr, sizeof(errstr)))
			egw_stream_dest_down(o, d, errstr);
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
	teesink = gst_element_get_static_pad(o->tee[m], "sink");
	gst_pad_add_probe(teesink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, end_in, o, NULL);
	if (!m) {
		/* H.264 parsed once for every destination, as FLV wants it
		 * (AVC, whole access units); SRT destinations convert. */
		GstElement *parse = gst_element_factory_make("h264parse", NULL);
		GstElement *caps = gst_element_factory_make("capsfilter", NULL);
		GstCaps *c = gst_caps_from_string("video/x-h264,stream-format=avc,alignment=au");
		if (!parse || !caps) {
			gst_caps_unref(c);
			if (parse)
				gst_object_unref(gst_object_ref_sink(parse));
			if (caps)
				gst_object_unref(gst_object_ref_sink(caps));
			gst_object_unref(teesink);
			snprintf(errstr, errstr_size, "GStreamer element h264parse is missing");
			return EGW_ERR_MEDIA;
		}
		g_object_set(caps, "caps", c, NULL);
		gst_caps_unref(c);
		gst_bin_add_many(GST_BIN(o->bin), parse, caps, NULL);
		gst_element_link_many(parse, caps, o->tee[m], NULL);
		gst_object_unref(teesink);
		teesink = gst_element_get_static_pad(parse, "sink");
		gst_element_sync_state_with_parent(parse);
		gst_element_sync_state_with_parent(caps);
	}
	*pad = gst_ghost_pad_new(m ? "audio_0" : "video_0", teesink);
	gst_object_unref(teesink);
	gst_pad_set_active(*pad, TRUE);
	gst_element_add_pad(o->bin, *pad);
	gst_object_ref(*pad); /* the caller's reference */
	if (!m)
		o->video_in = gst_object_ref(*pad);
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
		egw_stream_dest_down(o, d, message);
		return 1;
	}
	for (GSList *l = o->dead; l; l = l->next) {
		struct dead *dd = l->data;
		if (src == GST_OBJECT(dd->bin) ||
		    gst_object_has_as_ancestor(src, GST_OBJECT(dd->bin)))
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
			if (strcmp(d->url, remove[i]) || !egw_stream_dest_live(d))
				continue;
			egw_stream_dest_remove(o, d);
			applied++;
		}
	}
	for (size_t i = 0; i < n_add; i++) {
		int known = 0;
		for (guint k = 0; k < o->dests->len; k++) {
			struct dest *d = g_ptr_array_index(o->dests, k);
			known |= !strcmp(d->url, add[i]) && egw_stream_dest_live(d);
		}
		if (known || o->ending || o->failed) {
			egw_log_redact_url(add[i], shown, sizeof(shown));
			snprintf(errstr, errstr_size, "%s: %s %s", o->name, shown,
			         known ? "is streamed already" : "has ended");
			continue;
		}
		struct dest *d = dest_new(o, add[i]);
		egw_stream_emit(o, d, "update_stream");
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
		json_t *e = json_pack("{s:s, s:s}", "url", d->shown, "state",
		                      egw_stream_state_names[d->state]);
		if (d->error[0] && (d->state == D_FAILED || d->state == D_RECONNECTING))
			json_object_set_new(
			        e, "error",
			        json_pack("{s:s, s:s}", "code", "io_error", "message", d->error));
		json_array_append_new(list, e);
	}
	return json_pack("{s:s, s:o, s:f}", "kind", "stream", "destinations", list, "duration_s",
	                 (double)(gint64)(duration_s * 1000) / 1000.0);
}

const egw_output_ops_t egw_output_stream = {
        .kind = "stream",
        .create = stream_create,
        .bin = stream_bin,
        .add_stream = stream_add_stream,
        .ready = build_all,
        .sink = stream_sink,
        .describe = stream_describe,
        .element_error = stream_element_error,
        .update = stream_update,
        .free = stream_free,
};
