/* WebSocket output: the egress's audio, decoded (s16le at the job's rate
 * and channel count), streamed live to a ws:// or wss:// URL in binary
 * frames, with text frames for what happens in the room (JSON: start,
 * muted, unmuted, participant_joined, participant_left, end). What
 * transcription and AI-agent services consume.
 *
 *   pcm (the mix, or the one track) -> queue (the session's, leaky)
 *       -> audioconvert -> audioresample -> [s16le, rate, channels] -> appsink
 *
 * One thread per output owns the connection: it pulls the audio from the
 * appsink (bounded, dropping the oldest: a slow server never holds up the
 * pipeline), sends it, answers pings and pings the server every
 * PING_EVERY_US. Like a stream destination: a connection that fails before
 * it ever streamed fails the output at once; one that drops later (closed,
 * refused writes for CONNECT_TIMEOUT_S, no pong for PONG_STALE_US: a frozen
 * server) is reconnected after 0.5, 1, 2, 4, then every 5 s for
 * reconnect_window_s, the audio meanwhile dropped (what is sent is always
 * live). The thread reports to the main context through the output's
 * life (base/life.h); free() stops and joins it (every blocking call it
 * makes is cancellable or bounded by 50 ms).
 * locality: main context, except ws_thread and what it alone touches (the
 * thread's fields below). */
#include <gst/app/gstappsink.h>
#include <stdio.h>
#include <string.h>

#include "base/life.h"
#include "base/log.h"
#include "pipelines/output.h"
#include "pipelines/ws_client.h"
#include "pipelines/ws_proto.h"

#define CONNECT_TIMEOUT_S 5
#define PING_EVERY_US (2 * G_USEC_PER_SEC)
#define PONG_STALE_US (6 * G_USEC_PER_SEC)
#define PULL_WAIT_NS (50 * GST_MSECOND)
#define TEXTS_MAX 256       /* room events waiting for a connection */
#define APPSINK_BUFFERS 200 /* about 2 s of the mixer's 10 ms buffers */

enum ws_state { WS_CONNECTING, WS_ACTIVE, WS_RECONNECTING, WS_FAILED, WS_COMPLETE };
static const char *const state_names[] = {"connecting", "active", "reconnecting", "failed",
                                          "complete"};

struct egw_output {
	/* set at create, read-only afterwards (both threads) */
	char *name, *log_id, *url, shown[256];
	char **headers; /* "Name: value" lines (secret) */
	size_t n_headers;
	int rate, channels, window_s;
	GstElement *bin, *sink;
	GCancellable *cancel;
	GAsyncQueue *texts; /* char *: text frames to send */
	gint stop;          /* atomic */
	egw_life_t *life;
	/* main context */
	egw_output_events_t ev;
	void *opaque;
	GThread *thread;
	enum ws_state state;
	char error[256];
	guint64 bytes;
	int first_sent, done, taken;
};

/* What the thread tells the main context. */
struct report {
	enum ws_state state;
	char why[256];
	guint64 bytes;
	int first, ended; /* first audio sent; the media ended (last report) */
};

/* ---- main context ---- */

static void emit_state(egw_output_t *o, const char *why)
{
	egw_output_state_event(&o->ev, o->opaque, "websocket_state", o->name, o->shown,
	                       state_names[o->state], why);
}

static void on_report(void *target, void *data)
{
	egw_output_t *o = target;
	struct report *r = data;
	enum ws_state was = o->state;

	o->bytes = r->bytes;
	if (r->state != was || r->why[0]) {
		o->state = r->state;
		if (r->why[0])
			g_strlcpy(o->error, r->why, sizeof(o->error));
		egw_log(o->log_id,
		        r->state == WS_FAILED || r->state == WS_RECONNECTING ? EGW_LOG_WARN
		                                                             : EGW_LOG_INFO,
		        "%s %s: %s%s%s", o->name, o->shown, state_names[r->state],
		        r->why[0] ? ": " : "", r->why);
		if (r->state != was)
			emit_state(o, r->why);
	}
	if (r->first && !o->first_sent) {
		o->first_sent = 1;
		if (o->ev.first_byte)
			o->ev.first_byte(o->opaque);
	}
	if (o->done)
		return;
	if (r->state == WS_FAILED && !r->ended) {
		char msg[512];
		o->done = 1;
		snprintf(msg, sizeof(msg), "%s: %s", o->first_sent ? "lost" : "could not stream",
		         r->why);
		if (o->ev.failed)
			o->ev.failed(o->opaque, EGW_ERR_IO, msg);
	} else if (r->ended) {
		o->done = 1;
		if (o->ev.finished)
			o->ev.finished(o->opaque);
	}
}

/* ---- the connection's thread ---- */

struct link {
	egw_output_t *o;
	egw_ws_t *ws;
	int streamed; /* it was connected once */
	int given_up; /* failed: only drains until the end */
	gint64 lost_at, next_try, last_ping, last_pong;
	unsigned pongs, attempt;
	guint64 bytes;
	int first;
};

static void report(struct link *l, enum ws_state state, const char *why, int ended)
{
	struct report *r = g_new0(struct report, 1);
	r->state = state;
	g_strlcpy(r->why, why ? why : "", sizeof(r->why));
	r->bytes = l->bytes;
	r->first = l->first;
	r->ended = ended;
	egw_life_invoke(l->o->life, on_report, r, g_free);
}

static gint64 backoff_us(unsigned attempt)
{
	static const gint64 steps_ms[] = {500, 1000, 2000, 4000, 5000};
	return steps_ms[MIN(attempt, G_N_ELEMENTS(steps_ms) - 1)] * 1000;
}

static int send_text(struct link *l, const char *text, char *why, size_t why_size)
{
	return egw_ws_send(l->ws, EGW_WS_TEXT, text, strlen(text), l->o->cancel, why, why_size);
}

static void lose(struct link *l, const char *why)
{
	egw_ws_close(l->ws, -1, NULL);
	l->ws = NULL;
	l->lost_at = g_get_monotonic_time();
	l->next_try = l->lost_at + backoff_us(0);
	l->attempt = 1;
	report(l, WS_RECONNECTING, why, 0);
}

static void try_connect(struct link *l)
{
	egw_output_t *o = l->o;
	char why[256], *start;
	gint64 now;
	int status;

	l->ws = egw_ws_connect(o->url, o->headers, o->n_headers, CONNECT_TIMEOUT_S, o->cancel,
	                       &status, why, sizeof(why));
	start = g_strdup_printf("{\"event\":\"start\",\"egress_id\":\"%s\",\"format\":\"s16le\","
	                        "\"sample_rate\":%d,\"channels\":%d}",
	                        o->log_id, o->rate, o->channels);
	if (l->ws && send_text(l, start, why, sizeof(why))) {
		egw_ws_close(l->ws, -1, NULL);
		l->ws = NULL;
	}
	g_free(start);
	now = g_get_monotonic_time();
	if (l->ws) {
		l->streamed = 1;
		l->attempt = 0;
		l->last_ping = l->last_pong = now;
		report(l, WS_ACTIVE, NULL, 0);
	} else if (g_atomic_int_get(&o->stop)) {
		return;
	} else if (!l->streamed || now - l->lost_at > (gint64)o->window_s * G_USEC_PER_SEC) {
		l->given_up = 1;
		report(l, WS_FAILED, why, 0);
	} else {
		l->next_try = now + backoff_us(l->attempt++);
		report(l, WS_RECONNECTING, why, 0);
	}
}

/* Sends the room's events, pings, reads what the server sent. */
static void service(struct link *l)
{
	char why[256], *text;
	gint64 now = g_get_monotonic_time();
	unsigned pongs = l->pongs;

	while (l->ws && (text = g_async_queue_try_pop(l->o->texts))) {
		if (send_text(l, text, why, sizeof(why)))
			lose(l, why);
		g_free(text);
	}
	if (l->ws && egw_ws_read(l->ws, &l->pongs, l->o->cancel, why, sizeof(why)))
		lose(l, why);
	if (!l->ws)
		return;
	if (l->pongs != pongs)
		l->last_pong = now;
	if (now - l->last_pong > PONG_STALE_US) {
		lose(l, "the server answered no ping for 6 s (frozen?)");
	} else if (now - l->last_ping >= PING_EVERY_US) {
		l->last_ping = now;
		if (egw_ws_send(l->ws, EGW_WS_PING, "egw", 3, l->o->cancel, why, sizeof(why)))
			lose(l, why);
	}
}

static void send_audio(struct link *l, GstSample *sample)
{
	GstBuffer *buf = gst_sample_get_buffer(sample);
	GstMapInfo map;
	char why[256];

	if (!l->ws || !buf || !gst_buffer_map(buf, &map, GST_MAP_READ))
		return; /* not connected: live audio only, this is dropped */
	if (egw_ws_send(l->ws, EGW_WS_BINARY, map.data, map.size, l->o->cancel, why, sizeof(why))) {
		lose(l, why);
	} else {
		l->bytes += map.size;
		if (!l->first) {
			l->first = 1;
			report(l, WS_ACTIVE, NULL, 0);
		}
	}
	gst_buffer_unmap(buf, &map);
}

static void finish(struct link *l)
{
	char why[256], *text;

	if (!l->ws) {
		if (!l->given_up)
			report(l, WS_FAILED, "the media ended while reconnecting", 1);
		return;
	}
	while ((text = g_async_queue_try_pop(l->o->texts))) {
		send_text(l, text, why, sizeof(why));
		g_free(text);
	}
	send_text(l, "{\"event\":\"end\"}", why, sizeof(why));
	egw_ws_close(l->ws, 1000, l->o->cancel);
	l->ws = NULL;
	report(l, WS_COMPLETE, NULL, 1);
}

static gpointer ws_thread(gpointer data)
{
	struct link l = {.o = data};
	egw_output_t *o = data;
	GstAppSink *sink = GST_APP_SINK(o->sink);

	while (!g_atomic_int_get(&o->stop)) {
		GstSample *sample;
		if (!l.ws && !l.given_up && g_get_monotonic_time() >= l.next_try)
			try_connect(&l);
		if ((sample = gst_app_sink_try_pull_sample(sink, PULL_WAIT_NS))) {
			send_audio(&l, sample);
			gst_sample_unref(sample);
		} else if (gst_app_sink_is_eos(sink)) {
			if (!l.given_up)
				finish(&l);
			break;
		}
		if (l.ws)
			service(&l);
	}
	egw_ws_close(l.ws, -1, NULL);
	return NULL;
}

/* ---- the output's operations (main context) ---- */

static void ws_free(egw_output_t *o)
{
	char *text;

	if (!o)
		return;
	g_atomic_int_set(&o->stop, 1);
	g_cancellable_cancel(o->cancel);
	if (o->thread)
		g_thread_join(o->thread);
	egw_life_end(o->life);
	while ((text = g_async_queue_try_pop(o->texts)))
		g_free(text);
	g_async_queue_unref(o->texts);
	g_object_unref(o->cancel);
	if (o->bin)
		gst_object_unref(o->bin);
	g_free(o->name);
	g_free(o->log_id);
	g_free(o->url);
	g_strfreev(o->headers);
	g_free(o);
}

static egw_output_t *ws_create(const egw_output_plan_t *plan, const char *log_id,
                               const egw_output_events_t *ev, void *opaque, char *errstr,
                               size_t errstr_size)
{
	static const char *const chain[] = {"audioconvert", "audioresample", "capsfilter",
	                                    "appsink"};
	GstElement *els[G_N_ELEMENTS(chain)];
	egw_output_t *o = g_new0(egw_output_t, 1);
	GstPad *pad;
	GstCaps *caps;

	o->name = g_strdup(plan->name);
	o->log_id = g_strdup(log_id ? log_id : "");
	o->url = g_strdup(plan->url);
	o->headers = g_new0(char *, plan->n_headers + 1);
	for (size_t i = 0; i < plan->n_headers; i++)
		o->headers[i] = g_strdup(plan->headers[i]);
	o->n_headers = plan->n_headers;
	/* scheme and host only: a token may be anywhere in the path */
	egw_log_redact_url_host(plan->url, o->shown, sizeof(o->shown));
	o->rate = plan->sample_rate > 0 ? plan->sample_rate : 48000;
	o->channels = plan->channels > 0 ? plan->channels : 1;
	o->window_s = plan->reconnect_window_s > 0 ? plan->reconnect_window_s : 30;
	o->cancel = g_cancellable_new();
	o->texts = g_async_queue_new();
	o->life = egw_life_new(NULL, o);
	o->ev = *ev;
	o->opaque = opaque;
	o->bin = gst_object_ref_sink(gst_bin_new(plan->name));
	for (size_t i = 0; i < G_N_ELEMENTS(chain); i++) {
		if (!(els[i] = gst_element_factory_make(chain[i], NULL))) {
			snprintf(errstr, errstr_size, "GStreamer element %s is missing", chain[i]);
			ws_free(o);
			return NULL;
		}
		gst_bin_add(GST_BIN(o->bin), els[i]);
		if (i && !gst_element_link(els[i - 1], els[i])) {
			snprintf(errstr, errstr_size, "%s: cannot link %s", plan->name, chain[i]);
			ws_free(o);
			return NULL;
		}
	}
	caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "rate",
	                           G_TYPE_INT, o->rate, "channels", G_TYPE_INT, o->channels,
	                           "layout", G_TYPE_STRING, "interleaved", NULL);
	g_object_set(els[2], "caps", caps, NULL);
	gst_caps_unref(caps);
	o->sink = els[3];
	g_object_set(o->sink, "sync", FALSE, "async", FALSE, "max-buffers", APPSINK_BUFFERS, "drop",
	             TRUE, "emit-signals", FALSE, NULL);
	pad = gst_element_get_static_pad(els[0], "sink");
	gst_element_add_pad(o->bin, gst_ghost_pad_new("audio", pad));
	gst_object_unref(pad);
	return o;
}

static GstElement *ws_bin(egw_output_t *o)
{
	return o->bin;
}

static egw_err_t ws_add_stream(egw_output_t *o, egw_media_t media, const char *codec, GstPad **pad,
                               char *errstr, size_t errstr_size)
{
	(void)codec;
	(void)errstr;
	(void)errstr_size;
	*pad = NULL;
	if (media != EGW_MEDIA_AUDIO || o->taken)
		return EGW_OK; /* one audio stream: the mix, or the track */
	o->taken = 1;
	*pad = gst_element_get_static_pad(o->bin, "audio");
	return EGW_OK;
}

/* Connects while the pipeline starts. */
static void ws_ready(egw_output_t *o)
{
	if (!o->thread)
		o->thread = g_thread_new("egw-websocket", ws_thread, o);
}

static void ws_room_event(egw_output_t *o, const char *event, const char *participant,
                          const char *track_id)
{
	char at[32];
	json_t *j;
	char *text;

	egw_time_now(at, sizeof(at));
	j = json_pack("{s:s, s:s, s:s}", "event", event, "participant",
	              participant ? participant : "", "at", at);
	if (track_id)
		json_object_set_new(j, "track", json_string(track_id));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return;
	while (g_async_queue_length(o->texts) >= TEXTS_MAX)
		g_free(g_async_queue_try_pop(o->texts)); /* nobody is reading: the oldest go */
	g_async_queue_push(o->texts, g_strdup(text));
	free(text);
}

static json_t *ws_describe(egw_output_t *o, double duration_s)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:f}", "kind", "websocket",
	                      "url", o->shown, "state", state_names[o->state], "format", "s16le",
	                      "sample_rate", o->rate, "channels", o->channels, "bytes",
	                      (json_int_t)o->bytes, "duration_s",
	                      (double)(gint64)(duration_s * 1000) / 1000.0);
	if (o->error[0] && (o->state == WS_FAILED || o->state == WS_RECONNECTING))
		json_object_set_new(
		        j, "error",
		        json_pack("{s:s, s:s}", "code", "io_error", "message", o->error));
	return j;
}

const egw_output_ops_t egw_output_websocket = {
        .kind = "websocket",
        .pcm = 1,
        .create = ws_create,
        .bin = ws_bin,
        .add_stream = ws_add_stream,
        .ready = ws_ready,
        .room_event = ws_room_event,
        .describe = ws_describe,
        .free = ws_free,
};
