/* The composite's gate (see composite_int.h): a probe on each mixer's
 * output that lets the outputs begin with the first track's media, places
 * the audio for A/V sync, ends both streams at the stop, and a check, on
 * the main context, that both mixes got through. */
#include "base/log.h"
#include "pipelines/composite_int.h"
#include "pipelines/encode.h"
#include <gst/audio/audio.h>
#include <gst/base/gstaggregator.h>

/* The stream's end, at the stop: straight into the encoder, from the
 * mixer's own thread (the inputs are not drained: they are live, and what
 * they would add lies after the stop). */
static void end_stream(GstPad *mixsrc)
{
	GstPad *peer = gst_pad_get_peer(mixsrc);
	if (peer) {
		gst_pad_send_event(peer, gst_event_new_eos());
		gst_object_unref(peer);
	}
}

/* The mix's first buffer at output time t > 0 (the audio mixer's output
 * runs behind the canvas by up to its latency when the gate opens): the
 * same samples, preceded by t of silence, at time 0. MP4 (fragmented)
 * keeps no track start offset: without this a player would start the
 * audio with the picture, that much early, for the whole file. Returns a
 * new buffer, or NULL when buf's format is unknown (buf is not taken). */
static GstBuffer *lead_in_silence(struct composite *g, GstPad *pad, GstBuffer *buf, GstClockTime t)
{
	GstCaps *caps = gst_pad_get_current_caps(pad);
	GstAudioInfo info;
	GstBuffer *out;
	GstMapInfo map;
	gsize n, size = gst_buffer_get_size(buf);
	int ok = caps && gst_audio_info_from_caps(&info, caps);

	if (caps)
		gst_caps_unref(caps);
	if (!ok || !GST_AUDIO_INFO_BPF(&info))
		return NULL;
	n = (gsize)gst_util_uint64_scale_round(t, (guint64)GST_AUDIO_INFO_RATE(&info), GST_SECOND) *
	    (gsize)GST_AUDIO_INFO_BPF(&info);
	out = gst_buffer_new_allocate(NULL, n + size, NULL);
	if (!out || !gst_buffer_map(out, &map, GST_MAP_WRITE)) {
		if (out)
			gst_buffer_unref(out);
		return NULL;
	}
	gst_audio_format_info_fill_silence(info.finfo, map.data, n);
	gst_buffer_extract(buf, 0, map.data + n, size);
	gst_buffer_unmap(out, &map);
	GST_BUFFER_PTS(out) = 0;
	GST_BUFFER_DURATION(out) = gst_util_uint64_scale(n + size, GST_SECOND,
	                                                 (guint64)GST_AUDIO_INFO_RATE(&info) *
	                                                         GST_AUDIO_INFO_BPF(&info));
	EGW_LOG(g->log_id, DEBUG, "the mix begins %.1f ms after the picture: silence before it",
	        t / 1e6);
	return out;
}

static GstPadProbeReturn gate_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct composite *g = user;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstClockTime pts = GST_BUFFER_PTS(buf), t, origin;
	GstBuffer *padded;
	int first = 0, first_audio, is_video;

	if (!GST_CLOCK_TIME_IS_VALID(pts))
		return GST_PAD_PROBE_DROP;
	is_video = GST_PAD_PARENT(pad) == g->vmix;
	g_mutex_lock(&g->lock);
	g->last_pts[!is_video] = pts;
	/* Time 0 is the canvas's first frame (or the mix's, audio only); the
	 * audio's origin is later by the A/V correction (see egw_composite_av_shift). */
	origin = !GST_CLOCK_TIME_IS_VALID(g->t0) ? GST_CLOCK_TIME_NONE
	         : is_video                      ? g->t0
	                                         : g->t0 + g->av_shift;
	if (!g->started || (GST_CLOCK_TIME_IS_VALID(origin) && pts < origin) ||
	    (!GST_CLOCK_TIME_IS_VALID(origin) && g->vmix && !is_video)) {
		g_mutex_unlock(&g->lock);
		return GST_PAD_PROBE_DROP;
	}
	if (GST_CLOCK_TIME_IS_VALID(g->stop_at) && pts >= g->stop_at) {
		int *ended = is_video ? &g->video_ended : &g->audio_ended;
		int end_now = !*ended;
		*ended = 1;
		g_mutex_unlock(&g->lock);
		if (end_now)
			end_stream(pad);
		return GST_PAD_PROBE_DROP;
	}
	if (!GST_CLOCK_TIME_IS_VALID(g->t0)) {
		g->t0 = origin = pts;
		first = 1;
	}
	t = pts - origin;
	first_audio = !is_video && g->vmix && !g->passed[1];
	g->passed[!is_video]++;
	if (GST_BUFFER_DURATION_IS_VALID(buf) && t + GST_BUFFER_DURATION(buf) > g->end)
		g->end = t + GST_BUFFER_DURATION(buf);
	g_mutex_unlock(&g->lock);
	if (first)
		egw_graph_log_time_zero(g->log_id, pad, pts);
	if (first_audio && t > 0 && (padded = lead_in_silence(g, pad, buf, t))) {
		gst_buffer_unref(buf);
		buf = padded;
		t = 0;
	}
	buf = gst_buffer_make_writable(buf);
	GST_BUFFER_PTS(buf) = t;
	GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
	GST_PAD_PROBE_INFO_DATA(info) = buf;
	return GST_PAD_PROBE_OK;
}

void egw_composite_gate(struct composite *g, GstPad *mixsrc)
{
	gst_pad_add_probe(mixsrc, GST_PAD_PROBE_TYPE_BUFFER, gate_probe, g, NULL);
}

/* A camera's frame period as WebRTC clients send it (30 fps). */
#define CAMERA_FRAME_NS (GST_SECOND / 30)

/* How much earlier the audio is placed than the canvas, for A/V sync:
 * - the live compositor shows a camera's picture early: for the output
 *   frame at T it takes a frame that starts after T. Measured with a
 *   30 fps camera (flash-to-beep against the same participant's own
 *   recording): about a camera frame early on a 30 fps canvas, a few ms on
 *   average on a 15 fps one (each run anywhere within half a canvas frame
 *   either way, by the phase of the camera's frames against the
 *   canvas's). Half a frame, of the canvas or of the camera whichever is
 *   shorter, centres both: mean +3 ms at 30 fps, about -10 ms at 15 fps
 *   (half a canvas frame there measured -27 ms, over-corrected);
 * - the audio encoder's priming (AAC), which plays before the first
 *   sample and which the muxers do not record.
 * (Applied to the audio: fragmented MP4 loses a track's start offset, so
 * the video keeps time 0 and the mix starts that far into the audio.)
 * Audio only: nothing to be in sync with, 0. */
GstClockTime egw_composite_av_shift(const egw_encode_plan_t *enc)
{
	GstClockTime half;

	if (!enc->video_codec || enc->fps <= 0)
		return 0;
	half = MIN(GST_SECOND / enc->fps, CAMERA_FRAME_NS) / 2;
	return half + egw_encode_audio_delay(enc);
}

/* The mixer's latency and which of its inputs hold data, for the log. */
static void log_stuck_mix(struct composite *g, GstElement *mix, const char *media, GstClockTime pts,
                          GstClockTime t0)
{
	GString *inputs = g_string_new(NULL);
	GstQuery *q = gst_query_new_latency();
	GstClockTime min = GST_CLOCK_TIME_NONE, max = GST_CLOCK_TIME_NONE;
	gboolean live = FALSE;

	if (gst_element_query(mix, q))
		gst_query_parse_latency(q, &live, &min, &max);
	gst_query_unref(q);
	GST_OBJECT_LOCK(mix);
	for (GList *l = GST_ELEMENT(mix)->sinkpads; l; l = l->next) {
		GstAggregatorPad *pad = l->data;
		g_string_append_printf(inputs, "%s%s %s", inputs->len ? ", " : "",
		                       GST_OBJECT_NAME(pad),
		                       gst_aggregator_pad_is_eos(pad)        ? "ended"
		                       : gst_aggregator_pad_has_buffer(pad)  ? "has data"
		                       : gst_aggregator_pad_is_inactive(pad) ? "inactive"
		                                                             : "empty");
	}
	GST_OBJECT_UNLOCK(mix);
	EGW_LOG(g->log_id, WARN,
	        "no %s reached the outputs 3 s after they began: its mix is at %" GST_TIME_FORMAT
	        ", the outputs' time 0 at %" GST_TIME_FORMAT "; mixer latency %s "
	        "%" GST_TIME_FORMAT ", inputs: %s",
	        media, GST_TIME_ARGS(pts), GST_TIME_ARGS(t0), live ? "live" : "not live",
	        GST_TIME_ARGS(min), inputs->str);
	g_string_free(inputs, TRUE);
}

/* A mix that has not passed the gate 3 s after the outputs began (the
 * other one has) is logged once with what it did send: the muxers wait
 * for both, so nothing would be written. */
void egw_composite_check_gate(struct composite *g)
{
	static const char *const media[2] = {"video", "audio"};
	GstElement *mix[2] = {g->vmix, g->amix};
	GstClockTime pts[2], t0;
	guint64 passed[2];
	int stuck = -1;

	if (g->gate_checked)
		return;
	g_mutex_lock(&g->lock);
	t0 = g->t0;
	for (int i = 0; i < 2; i++) {
		pts[i] = g->last_pts[i];
		passed[i] = g->passed[i];
	}
	g_mutex_unlock(&g->lock);
	if (!GST_CLOCK_TIME_IS_VALID(t0))
		return;
	if (!g->t0_seen_us)
		g->t0_seen_us = g_get_monotonic_time();
	if (g_get_monotonic_time() - g->t0_seen_us < 3 * G_USEC_PER_SEC)
		return;
	g->gate_checked = 1;
	for (int i = 0; i < 2; i++)
		if (mix[i] && !passed[i])
			stuck = i;
	if (stuck >= 0)
		log_stuck_mix(g, mix[stuck], media[stuck], pts[stuck], t0);
}
