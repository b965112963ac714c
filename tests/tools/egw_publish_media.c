/* egw-publish media side: one pipeline per publication.
 *
 *   videotestsrc (ball on a solid colour, BGRx) -> [marker/mute probe]
 *     -> videoconvert -> I420 -> vp8enc|x264enc -> payloader -> webrtcbin
 *   videotestsrc (solid colour, BGRx) -> [marker/mute probe]   (--screen-color)
 *     -> videoconvert -> I420 -> vp8enc|x264enc -> payloader -> webrtcbin
 *   audiotestsrc (sine, 0.25) -> [beep marker/volume/mute probe]
 *     -> opusenc -> rtpopuspay -> webrtcbin
 *
 * The probes (egw_publish_pattern.c) write the pattern the media checker
 * expects. The screen share uses the camera's codec with its own payload
 * type, which is how its m-line (and so its mid) is found in the offer.
 *
 * webrtcbin signals arrive on its own threads; they are forwarded to the
 * main context through a reference-counted link that pub_media_free() marks
 * dead, so nothing reaches the caller after the media is gone. */
#include "tests/tools/egw_publish.h"

#define GST_USE_UNSTABLE_API
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

/* RTP payload types; the screen share's tell its m-line apart. */
#define PT_CAMERA_VP8 96
#define PT_CAMERA_H264 97
#define PT_SCREEN_VP8 98
#define PT_SCREEN_H264 99
#define PT_OPUS 111

struct pub_link {
	gint refs;
	gboolean dead; /* main thread only */
	gint offered;  /* atomic: the first negotiation-needed was handled */
	gint gathered; /* atomic: gathering completion was forwarded */
	struct pub_media_events events;
	void *user;
};

/* How late each stream's packets leave for webrtcbin after their capture
 * time (the encoder's delay): a publisher that falls behind sends its own
 * A/V offset, which no receiver can see or undo. Streaming threads add,
 * the main context reports every SEND_REPORT_S and resets. */
#define SEND_REPORT_S 2
struct send_delay {
	char name[16];
	atomic_llong sum_us, max_us, count;
	/* the RTP clock against the wall clock, from the first packet on (us):
	 * how far the stream's RTP time ran ahead (+) or behind */
	int rtp_started; /* streaming thread */
	uint32_t rtp_last;
	long long rtp_ext, rtp0, wall0;
	atomic_llong drift_min, drift_max;
};

struct pub_media {
	GstElement *pipeline;
	GstElement *webrtc;
	struct pub_link *link;
	guint bus_watch;
	guint report;
	struct send_delay delays[3];
	int n_delays;
};

enum call_kind { CALL_OFFER, CALL_CANDIDATE, CALL_GATHERED, CALL_ERROR };

struct call {
	struct pub_link *link;
	enum call_kind kind;
	char *text;
	unsigned mline;
	char *camera_mid, *screen_mid; /* CALL_OFFER */
};

static struct pub_link *link_ref(struct pub_link *link)
{
	g_atomic_int_inc(&link->refs);
	return link;
}

static void link_unref(gpointer data)
{
	struct pub_link *link = data;
	if (link && g_atomic_int_dec_and_test(&link->refs))
		g_free(link);
}

static void link_closure_unref(gpointer data, GClosure *closure)
{
	link_unref(data);
}

static gboolean run_call(gpointer data)
{
	struct call *c = data;
	const struct pub_media_events *ev = &c->link->events;

	if (c->link->dead)
		return G_SOURCE_REMOVE;
	switch (c->kind) {
	case CALL_OFFER:
		ev->offer(c->link->user, c->text, c->camera_mid, c->screen_mid);
		break;
	case CALL_CANDIDATE:
		ev->candidate(c->link->user, c->text, c->mline);
		break;
	case CALL_GATHERED:
		ev->gathering_done(c->link->user);
		break;
	case CALL_ERROR:
		ev->error(c->link->user, c->text);
		break;
	}
	return G_SOURCE_REMOVE;
}

static void free_call(gpointer data)
{
	struct call *c = data;
	link_unref(c->link);
	g_free(c->text);
	g_free(c->camera_mid);
	g_free(c->screen_mid);
	g_free(c);
}

static struct call *new_call(struct pub_link *link, enum call_kind kind, const char *text,
			     unsigned mline)
{
	struct call *c = g_new0(struct call, 1);
	c->link = link_ref(link);
	c->kind = kind;
	c->text = g_strdup(text);
	c->mline = mline;
	return c;
}

/* locality: any thread; the call runs on the default main context. */
static void post(struct call *c)
{
	g_idle_add_full(G_PRIORITY_DEFAULT, run_call, c, free_call);
}

static void post_call(struct pub_link *link, enum call_kind kind, const char *text, unsigned mline)
{
	post(new_call(link, kind, text, mline));
}

/* An encoder, payloader and RTP caps for a raw I420 branch into "wb". */
static void append_encoder(GString *d, const char *codec, int pt, int gop, int kbps)
{
	if (!strcmp(codec, "vp8"))
		g_string_append_printf(d,
			"vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=%d "
			"lag-in-frames=0 keyframe-max-dist=%d ! "
			"rtpvp8pay pt=%d picture-id-mode=15-bit mtu=1200 ! "
			"application/x-rtp,media=video,encoding-name=VP8,payload=%d,"
			"clock-rate=90000 ! wb. ",
			kbps * 1000, gop, pt, pt);
	else
		g_string_append_printf(d,
			"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d "
			"bitrate=%d ! rtph264pay pt=%d config-interval=-1 "
			"aggregate-mode=zero-latency mtu=1200 ! "
			"application/x-rtp,media=video,encoding-name=H264,payload=%d,"
			"clock-rate=90000,packetization-mode=(string)1 ! wb. ",
			gop, kbps, pt, pt);
}

/* The launch description: one branch per stream into webrtcbin "wb", in
 * the order camera, screen share, audio. */
static char *describe(const struct pub_options *opt)
{
	GString *d = g_string_new("webrtcbin name=wb bundle-policy=max-bundle ");
	uint32_t c = opt->color & 0xffffff;
	unsigned luma = (299 * (c >> 16) + 587 * ((c >> 8) & 0xff) + 114 * (c & 0xff)) / 1000;
	uint32_t ball = luma >= 128 ? 0x000000 : 0x808080;
	char freq[G_ASCII_DTOSTR_BUF_SIZE];
	int h264 = opt->video && !strcmp(opt->video, "h264");

	if (opt->video) {
		g_string_append_printf(d,
			"videotestsrc is-live=true pattern=ball background-color=0x%08x "
			"foreground-color=0x%08x ! capsfilter name=vraw caps=\"video/x-raw,"
			"format=BGRx,width=%d,height=%d,framerate=%d/1\" ! queue ! videoconvert ! "
			"video/x-raw,format=I420 ! ",
			0xff000000u | c, 0xff000000u | ball, opt->width, opt->height, opt->fps);
		append_encoder(d, opt->video, h264 ? PT_CAMERA_H264 : PT_CAMERA_VP8, 2 * opt->fps,
			       800);
	}
	if (opt->video && opt->screen) {
		g_string_append_printf(d,
			"videotestsrc is-live=true pattern=solid-color foreground-color=0x%08x ! "
			"capsfilter name=sraw caps=\"video/x-raw,format=BGRx,width=%d,height=%d,"
			"framerate=%d/1\" ! queue ! videoconvert ! video/x-raw,format=I420 ! ",
			0xff000000u | (opt->screen_color & 0xffffff), opt->screen_width,
			opt->screen_height, opt->screen_fps);
		append_encoder(d, opt->video, h264 ? PT_SCREEN_H264 : PT_SCREEN_VP8,
			       2 * opt->screen_fps, 600);
	}
	if (opt->audio && !strcmp(opt->audio, "pcmu")) /* G.711 at 8 kHz */
		g_string_append_printf(d,
			"audiotestsrc is-live=true wave=sine freq=%s volume=0.25 "
			"samplesperbuffer=960 ! "
			"capsfilter name=araw caps=\"audio/x-raw,format=S16LE,rate=48000,"
			"channels=1,layout=interleaved\" ! queue ! audioresample ! "
			"audio/x-raw,rate=8000 ! mulawenc ! rtppcmupay pt=0 mtu=1200 ! "
			"application/x-rtp,media=audio,encoding-name=PCMU,payload=0,"
			"clock-rate=8000 ! wb. ",
			g_ascii_formatd(freq, sizeof(freq), "%.3f", opt->freq));
	else if (opt->audio)
		g_string_append_printf(d,
			"audiotestsrc is-live=true wave=sine freq=%s volume=0.25 "
			"samplesperbuffer=960 ! "
			"capsfilter name=araw caps=\"audio/x-raw,format=S16LE,rate=48000,"
			"channels=1,layout=interleaved\" ! queue ! opusenc bitrate=64000 "
			"frame-size=20 ! rtpopuspay pt=%d mtu=1200 ! application/x-rtp,media=audio,"
			"encoding-name=OPUS,payload=%d,clock-rate=48000 ! wb. ",
			g_ascii_formatd(freq, sizeof(freq), "%.3f", opt->freq), PT_OPUS, PT_OPUS);
	return g_string_free(d, FALSE);
}

static gboolean set_sendonly(GstElement *webrtc, GstPad *pad, gpointer data)
{
	GstWebRTCRTPTransceiver *trans = NULL;
	g_object_get(pad, "transceiver", &trans, NULL);
	if (trans)
		g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
			     NULL);
	gst_clear_object(&trans);
	return TRUE;
}

static GstPadProbeReturn send_delay_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct send_delay *d = data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstElement *el = gst_pad_get_parent_element(pad);
	GstClock *clock = el ? gst_element_get_clock(el) : NULL;

	GstEvent *seg_ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	const GstSegment *seg = NULL;
	GstClockTime rt = GST_CLOCK_TIME_NONE;

	if (seg_ev)
		gst_event_parse_segment(seg_ev, &seg);
	if (seg && GST_BUFFER_PTS_IS_VALID(buf))
		rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	if (seg_ev)
		gst_event_unref(seg_ev);
	if (clock && GST_CLOCK_TIME_IS_VALID(rt)) {
		GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(el);
		long long late = ((gint64)now - (gint64)rt) / 1000;
		long long max = atomic_load(&d->max_us);
		atomic_fetch_add(&d->sum_us, late);
		atomic_fetch_add(&d->count, 1);
		while (late > max && !atomic_compare_exchange_weak(&d->max_us, &max, late))
			;
	}
	{
		guint8 hdr[8];
		if (gst_buffer_extract(buf, 0, hdr, 8) == 8) {
			uint32_t ts = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 |
			              (uint32_t)hdr[6] << 8 | hdr[7];
			int pt = hdr[1] & 0x7f;
			long long rate = pt == PT_OPUS ? 48000 : pt == 0 ? 8000 : 90000;
			long long now_us = g_get_monotonic_time(), drift, v;
			if (!d->rtp_started) {
				d->rtp_started = 1;
				d->rtp_last = ts;
				d->rtp_ext = d->rtp0 = ts;
				d->wall0 = now_us;
			}
			d->rtp_ext += (int32_t)(ts - d->rtp_last);
			d->rtp_last = ts;
			drift = (d->rtp_ext - d->rtp0) * 1000000 / rate - (now_us - d->wall0);
			v = atomic_load(&d->drift_min);
			while (drift < v && !atomic_compare_exchange_weak(&d->drift_min, &v, drift))
				;
			v = atomic_load(&d->drift_max);
			while (drift > v && !atomic_compare_exchange_weak(&d->drift_max, &v, drift))
				;
		}
	}
	if (clock)
		gst_object_unref(clock);
	if (el)
		gst_object_unref(el);
	return GST_PAD_PROBE_OK;
}

static gboolean watch_send_delay(GstElement *webrtc, GstPad *pad, gpointer data)
{
	struct pub_media *media = data;
	struct send_delay *d;

	if (media->n_delays >= (int)G_N_ELEMENTS(media->delays))
		return FALSE;
	d = &media->delays[media->n_delays++];
	atomic_store(&d->drift_min, LLONG_MAX);
	atomic_store(&d->drift_max, LLONG_MIN);
	snprintf(d->name, sizeof(d->name), "%s", GST_PAD_NAME(pad));
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, send_delay_probe, d, NULL);
	return TRUE;
}

/* locality: main thread. */
static gboolean report_send_delay(gpointer data)
{
	struct pub_media *media = data;
	GString *line = g_string_new("send delay after capture:");

	for (int i = 0; i < media->n_delays; i++) {
		struct send_delay *d = &media->delays[i];
		long long n = atomic_exchange(&d->count, 0);
		long long sum = atomic_exchange(&d->sum_us, 0);
		long long max = atomic_exchange(&d->max_us, 0);
		long long dmin = atomic_exchange(&d->drift_min, LLONG_MAX);
		long long dmax = atomic_exchange(&d->drift_max, LLONG_MIN);
		if (n)
			g_string_append_printf(
			        line, " %s mean %.1f ms max %.1f ms (RTP clock %+.1f..%+.1f ms);",
			        d->name, sum / 1000.0 / n, max / 1000.0, dmin / 1000.0,
			        dmax / 1000.0);
	}
	EGW_LOG(NULL, INFO, "%s", line->str);
	g_string_free(line, TRUE);
	return G_SOURCE_CONTINUE;
}

/* What a promise callback needs: the link, and the element to talk to. */
struct promise_ctx {
	struct pub_link *link;
	GstElement *webrtc;
	const char *what;
};

static void emit_promised(GstElement *webrtc, const char *signal, gpointer arg,
			  struct pub_link *link, const char *what, GstPromiseChangeFunc func);

/* Reports a failed promise as an error. Returns 0 on success with *reply
 * set (possibly NULL: set-*-description replies nothing), or -1. */
static int promise_result(GstPromise *promise, struct promise_ctx *ctx,
			  const GstStructure **reply)
{
	GError *error = NULL;
	char *text;

	*reply = NULL;
	if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
		*reply = gst_promise_get_reply(promise);
		if (!*reply || !gst_structure_has_field(*reply, "error"))
			return 0;
		gst_structure_get(*reply, "error", G_TYPE_ERROR, &error, NULL);
	}
	text = g_strdup_printf("%s: %s", ctx->what, error ? error->message : "no reply");
	post_call(ctx->link, CALL_ERROR, text, 0);
	g_free(text);
	g_clear_error(&error);
	*reply = NULL;
	return -1;
}

/* locality: webrtcbin thread. */
static void on_description_set(GstPromise *promise, gpointer data)
{
	const GstStructure *reply;
	if (!promise_result(promise, data, &reply))
		EGW_LOG(NULL, DEBUG, "%s: done", ((struct promise_ctx *)data)->what);
}

/* The mid of the first m-line whose first format is payload type pt, or
 * NULL. */
static char *mid_of(const GstSDPMessage *sdp, int pt)
{
	char want[16];
	snprintf(want, sizeof(want), "%d", pt);
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
		const char *fmt = gst_sdp_media_formats_len(m) ? gst_sdp_media_get_format(m, 0) : NULL;
		if (fmt && !strcmp(fmt, want))
			return g_strdup(gst_sdp_media_get_attribute_val(m, "mid"));
	}
	return NULL;
}

/* locality: webrtcbin thread. */
static void on_offer_created(GstPromise *promise, gpointer data)
{
	struct promise_ctx *ctx = data;
	GstWebRTCSessionDescription *offer = NULL;
	const GstStructure *reply;
	struct call *call;
	char *sdp = NULL;

	if (promise_result(promise, ctx, &reply))
		goto out;
	if (reply)
		gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, NULL);
	if (!offer) {
		post_call(ctx->link, CALL_ERROR, "create-offer: reply without offer", 0);
		goto out;
	}
	/* webrtcbin applies the local description asynchronously (the SDP to
	 * send is the one of the offer itself), in the order the operations
	 * were queued: queue it before the offer can reach Janus, whose answer
	 * may come back within a millisecond. */
	emit_promised(ctx->webrtc, "set-local-description", offer, ctx->link,
		      "set-local-description", on_description_set);
	sdp = gst_sdp_message_as_text(offer->sdp);
	call = new_call(ctx->link, CALL_OFFER, sdp, 0);
	call->camera_mid = mid_of(offer->sdp, PT_CAMERA_VP8);
	if (!call->camera_mid)
		call->camera_mid = mid_of(offer->sdp, PT_CAMERA_H264);
	call->screen_mid = mid_of(offer->sdp, PT_SCREEN_VP8);
	if (!call->screen_mid)
		call->screen_mid = mid_of(offer->sdp, PT_SCREEN_H264);
	post(call);
out:
	g_free(sdp);
	if (offer)
		gst_webrtc_session_description_free(offer);
}

static void free_promise_ctx(gpointer data)
{
	struct promise_ctx *ctx = data;
	link_unref(ctx->link);
	gst_object_unref(ctx->webrtc);
	g_free(ctx);
}

/* Emits signal (arg may be NULL) with a promise that webrtcbin owns from
 * then on: if webrtcbin drops it unanswered (it was stopped first), the
 * promise and its context are freed with it instead of leaking. */
static void emit_promised(GstElement *webrtc, const char *signal, gpointer arg,
			  struct pub_link *link, const char *what, GstPromiseChangeFunc func)
{
	struct promise_ctx *ctx = g_new0(struct promise_ctx, 1);
	GstPromise *p;
	ctx->link = link_ref(link);
	ctx->webrtc = gst_object_ref(webrtc);
	ctx->what = what;
	p = gst_promise_new_with_change_func(func, ctx, free_promise_ctx);
	g_signal_emit_by_name(webrtc, signal, arg, p);
	gst_promise_unref(p);
}

/* locality: webrtcbin thread. */
static void on_negotiation_needed(GstElement *webrtc, gpointer data)
{
	struct pub_link *link = data;

	if (!g_atomic_int_compare_and_exchange(&link->offered, 0, 1)) {
		EGW_LOG(NULL, WARN, "webrtcbin asked for renegotiation; ignored");
		return;
	}
	emit_promised(webrtc, "create-offer", NULL, link, "create-offer", on_offer_created);
}

/* locality: webrtcbin thread. */
static void on_ice_candidate(GstElement *webrtc, guint mline, gchar *candidate, gpointer data)
{
	post_call(data, CALL_CANDIDATE, candidate, mline);
}

/* locality: webrtcbin thread. */
static void on_gathering_state(GstElement *webrtc, GParamSpec *pspec, gpointer data)
{
	struct pub_link *link = data;
	GstWebRTCICEGatheringState state;

	g_object_get(webrtc, "ice-gathering-state", &state, NULL);
	if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE &&
	    g_atomic_int_compare_and_exchange(&link->gathered, 0, 1))
		post_call(link, CALL_GATHERED, NULL, 0);
}

/* locality: webrtcbin thread. */
static void on_connection_state(GstElement *webrtc, GParamSpec *pspec, gpointer data)
{
	static const char *const names[] = {"new",          "connecting", "connected",
					    "disconnected", "failed",     "closed"};
	GstWebRTCPeerConnectionState state;

	g_object_get(webrtc, "connection-state", &state, NULL);
	EGW_LOG(NULL, INFO, "peer connection %s",
		(unsigned)state < G_N_ELEMENTS(names) ? names[state] : "?");
	if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
		post_call(data, CALL_ERROR, "peer connection failed (ICE or DTLS)", 0);
}

/* locality: main thread. */
static gboolean on_bus_message(GstBus *bus, GstMessage *msg, gpointer data)
{
	struct pub_media *media = data;
	GError *error = NULL;
	gchar *debug = NULL, *path, *text;

	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_LATENCY) {
		gst_bin_recalculate_latency(GST_BIN(media->pipeline));
		return G_SOURCE_CONTINUE;
	}
	if (GST_MESSAGE_TYPE(msg) != GST_MESSAGE_ERROR &&
	    GST_MESSAGE_TYPE(msg) != GST_MESSAGE_WARNING)
		return G_SOURCE_CONTINUE;
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
		gst_message_parse_error(msg, &error, &debug);
	else
		gst_message_parse_warning(msg, &error, &debug);
	path = gst_object_get_path_string(msg->src);
	text = g_strdup_printf("%s: %s", path, error->message);
	egw_log(NULL, GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR ? EGW_LOG_ERROR : EGW_LOG_WARN,
		"%s (%s)", text, debug ? debug : "no debug info");
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR && !media->link->dead)
		media->link->events.error(media->link->user, text);
	g_free(text);
	g_free(path);
	g_free(debug);
	g_clear_error(&error);
	return G_SOURCE_CONTINUE;
}

static void connect_webrtc(struct pub_media *media)
{
	struct pub_link *link = media->link;
	GstElement *wb = media->webrtc;

	g_signal_connect_data(wb, "on-negotiation-needed", G_CALLBACK(on_negotiation_needed),
			      link_ref(link), link_closure_unref, 0);
	g_signal_connect_data(wb, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
			      link_ref(link), link_closure_unref, 0);
	g_signal_connect_data(wb, "notify::ice-gathering-state", G_CALLBACK(on_gathering_state),
			      link_ref(link), link_closure_unref, 0);
	g_signal_connect_data(wb, "notify::connection-state", G_CALLBACK(on_connection_state),
			      link_ref(link), link_closure_unref, 0);
}

struct pub_media *pub_media_new(const struct pub_options *opt, struct pub_controls *ctl,
				const struct pub_media_events *events, void *user, char *errstr,
				size_t errstr_size)
{
	struct pub_media *media = g_new0(struct pub_media, 1);
	GstClockTime phase = (GstClockTime)opt->mark_phase_ms * GST_MSECOND;
	GError *error = NULL;
	GstBus *bus = NULL;
	char *desc = describe(opt);

	media->link = g_new0(struct pub_link, 1);
	media->link->refs = 1;
	media->link->events = *events;
	media->link->user = user;
	media->pipeline = gst_parse_launch(desc, &error);
	if (!media->pipeline || error) {
		snprintf(errstr, errstr_size, "pipeline: %s", error ? error->message : "?");
		goto fail;
	}
	media->webrtc = gst_bin_get_by_name(GST_BIN(media->pipeline), "wb");
	if (!media->webrtc ||
	    (opt->video && pub_pattern_video(media->pipeline, "vraw", &ctl->video_muted,
	                                     &ctl->camera_off, opt->fps, opt->marks, phase)) ||
	    (opt->video && opt->screen &&
	     pub_pattern_video(media->pipeline, "sraw", &ctl->screen_muted, &ctl->screen_off,
	                       opt->screen_fps, 0, phase)) ||
	    (opt->audio && pub_pattern_audio(media->pipeline, "araw", ctl, opt->beep_hz, phase))) {
		snprintf(errstr, errstr_size, "pipeline: missing webrtcbin or raw capsfilter");
		goto fail;
	}
	gst_element_foreach_sink_pad(media->webrtc, set_sendonly, NULL);
	gst_element_foreach_sink_pad(media->webrtc, watch_send_delay, media);
	media->report = g_timeout_add_seconds(SEND_REPORT_S, report_send_delay, media);
	connect_webrtc(media);
	bus = gst_pipeline_get_bus(GST_PIPELINE(media->pipeline));
	media->bus_watch = gst_bus_add_watch(bus, on_bus_message, media);
	gst_object_unref(bus);
	g_free(desc);
	return media;

fail:
	g_clear_error(&error);
	g_free(desc);
	pub_media_free(media);
	return NULL;
}

int pub_media_start(struct pub_media *media, char *errstr, size_t errstr_size)
{
	if (gst_element_set_state(media->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		snprintf(errstr, errstr_size, "pipeline refused to play");
		return -1;
	}
	return 0;
}

int pub_media_set_answer(struct pub_media *media, const char *sdp, char *errstr,
			 size_t errstr_size)
{
	GstWebRTCSessionDescription *answer;
	GstSDPMessage *msg = NULL;

	if (gst_sdp_message_new_from_text(sdp, &msg) != GST_SDP_OK) {
		snprintf(errstr, errstr_size, "answer: unparsable SDP");
		if (msg)
			gst_sdp_message_free(msg);
		return -1;
	}
	answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, msg);
	emit_promised(media->webrtc, "set-remote-description", answer, media->link,
		      "set-remote-description", on_description_set);
	gst_webrtc_session_description_free(answer);
	return 0;
}

void pub_media_renegotiate(struct pub_media *media)
{
	emit_promised(media->webrtc, "create-offer", NULL, media->link, "create-offer",
		      on_offer_created);
}

static int is_direction(const char *line)
{
	return !strcmp(line, "a=sendrecv") || !strcmp(line, "a=sendonly") ||
	       !strcmp(line, "a=recvonly") || !strcmp(line, "a=inactive");
}

char *pub_sdp_set_direction(const char *sdp, const char *mid, const char *direction)
{
	gchar **lines = g_strsplit(sdp, "\r\n", -1);
	char *want = g_strdup_printf("a=mid:%s", mid);
	guint n = g_strv_length(lines), start = 0;

	/* Each m-section runs from its m= line to the next one. */
	for (guint i = 0; i <= n; i++) {
		if (i < n && (strncmp(lines[i], "m=", 2) || i == 0))
			continue;
		int ours = 0;
		for (guint j = start; j < i && !ours; j++)
			ours = !strcmp(lines[j], want);
		for (guint j = start; ours && j < i; j++) {
			if (is_direction(lines[j])) {
				g_free(lines[j]);
				lines[j] = g_strdup_printf("a=%s", direction);
			}
		}
		start = i;
	}
	char *out = g_strjoinv("\r\n", lines);
	g_strfreev(lines);
	g_free(want);
	return out;
}

void pub_media_free(struct pub_media *media)
{
	if (!media)
		return;
	media->link->dead = TRUE;
	if (media->bus_watch)
		g_source_remove(media->bus_watch);
	if (media->report)
		g_source_remove(media->report);
	if (media->pipeline)
		gst_element_set_state(media->pipeline, GST_STATE_NULL);
	gst_clear_object(&media->webrtc);
	gst_clear_object(&media->pipeline);
	link_unref(media->link);
	g_free(media);
}
