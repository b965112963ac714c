/* The levels pass of a render (see render_levels.h): one pipeline per
 * audio track, file -> decodebin -> mono 16 kHz -> appsink, pulled as
 * fast as it decodes. */
#include "pipelines/render_levels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gst/app/gstappsink.h>

#include "base/log.h"

#define RATE 16000

int egw_render_other_media(const GstCaps *caps, egw_media_t want)
{
	static const char *const video[] = {"video/x-vp8", "video/x-vp9", "video/x-h264",
	                                    "video/x-h265", "video/x-av1"};
	static const char *const audio[] = {"audio/x-opus", "audio/mpeg",   "audio/x-vorbis",
	                                    "audio/x-flac", "audio/x-alaw", "audio/x-mulaw"};
	const char *const *other = want == EGW_MEDIA_VIDEO ? audio : video;
	size_t n = want == EGW_MEDIA_VIDEO ? G_N_ELEMENTS(audio) : G_N_ELEMENTS(video);
	const char *name;

	if (!caps || gst_caps_get_size(caps) == 0)
		return 0;
	name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, other[i]))
			return 1;
	return 0;
}

static gboolean audio_only(GstElement *bin, GstPad *pad, GstCaps *caps, gpointer user)
{
	return !egw_render_other_media(caps, EGW_MEDIA_AUDIO);
}

static void link_audio(GstElement *dec, GstPad *pad, gpointer sink_element)
{
	GstCaps *caps = gst_pad_get_current_caps(pad);
	GstPad *sink = gst_element_get_static_pad(GST_ELEMENT(sink_element), "sink");

	if (caps && gst_caps_get_size(caps) > 0 &&
	    !strcmp(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "audio/x-raw") &&
	    !gst_pad_is_linked(sink))
		gst_pad_link(pad, sink);
	if (caps)
		gst_caps_unref(caps);
	gst_object_unref(sink);
}

/* Sums of squares per step, from samples at time ts (timeline ns). */
struct acc {
	double *sum;
	guint64 *count;
	size_t n, cap;
};

static void accumulate(struct acc *a, GstClockTime ts, const float *s, size_t n, unsigned step_ms)
{
	for (size_t i = 0; i < n; i++) {
		GstClockTime t = ts + gst_util_uint64_scale_int(i, GST_SECOND, RATE);
		size_t k = (size_t)(t / (step_ms * GST_MSECOND));
		if (k >= a->cap) {
			size_t cap = MAX(k + 1, a->cap * 2);
			a->sum = g_renew(double, a->sum, cap);
			a->count = g_renew(guint64, a->count, cap);
			memset(a->sum + a->cap, 0, (cap - a->cap) * sizeof(double));
			memset(a->count + a->cap, 0, (cap - a->cap) * sizeof(guint64));
			a->cap = cap;
		}
		a->sum[k] += (double)s[i] * s[i];
		a->count[k]++;
		if (k + 1 > a->n)
			a->n = k + 1;
	}
}

static egw_err_t measure(const egw_render_track_t *t, unsigned step_ms, float **db, size_t *n,
                         char *errstr, size_t errstr_size)
{
	GstElement *pipe = gst_pipeline_new(NULL);
	GstElement *src = gst_element_factory_make("filesrc", NULL);
	GstElement *dec = gst_element_factory_make("decodebin", NULL);
	GstElement *conv = gst_element_factory_make("audioconvert", NULL);
	GstElement *res = gst_element_factory_make("audioresample", NULL);
	GstElement *sink = gst_element_factory_make("appsink", NULL);
	GstCaps *caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "rate",
	                                    G_TYPE_INT, RATE, "channels", G_TYPE_INT, 1, NULL);
	struct acc a = {0};
	egw_err_t err = EGW_OK;
	GstSample *sample;
	GstBus *bus;
	GstMessage *msg;

	if (!pipe || !src || !dec || !conv || !res || !sink) {
		snprintf(errstr, errstr_size, "GStreamer elements for decoding audio are missing");
		gst_caps_unref(caps);
		return EGW_ERR_MEDIA;
	}
	gst_bin_add_many(GST_BIN(pipe), src, dec, conv, res, sink, NULL);
	g_object_set(src, "location", t->path, NULL);
	g_object_set(sink, "caps", caps, "sync", FALSE, NULL);
	gst_caps_unref(caps);
	g_signal_connect(dec, "autoplug-continue", G_CALLBACK(audio_only), NULL);
	g_signal_connect(dec, "pad-added", G_CALLBACK(link_audio), conv);
	gst_element_link(src, dec);
	gst_element_link_many(conv, res, sink, NULL);
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	while ((sample = gst_app_sink_pull_sample(GST_APP_SINK(sink)))) {
		GstBuffer *buf = gst_sample_get_buffer(sample);
		const GstSegment *seg = gst_sample_get_segment(sample);
		GstMapInfo map;
		GstClockTime rt = GST_BUFFER_PTS(buf);
		if (seg && GST_CLOCK_TIME_IS_VALID(rt))
			rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, rt);
		if (GST_CLOCK_TIME_IS_VALID(rt) && gst_buffer_map(buf, &map, GST_MAP_READ)) {
			gint64 at = (gint64)rt + (gint64)llround(t->offset_s * GST_SECOND);
			if (at >= 0)
				accumulate(&a, (GstClockTime)at, (const float *)map.data,
				           map.size / sizeof(float), step_ms);
			gst_buffer_unmap(buf, &map);
		}
		gst_sample_unref(sample);
	}
	bus = gst_element_get_bus(pipe);
	msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
	if (msg) {
		GError *e = NULL;
		gst_message_parse_error(msg, &e, NULL);
		snprintf(errstr, errstr_size, "%s: cannot decode %s (%s)", t->track_id, t->path,
		         e ? e->message : "error");
		g_clear_error(&e);
		gst_message_unref(msg);
		err = EGW_ERR_INVALID_REQUEST;
	}
	gst_object_unref(bus);
	gst_element_set_state(pipe, GST_STATE_NULL);
	gst_object_unref(pipe);
	*n = a.n;
	*db = g_new(float, a.n + 1);
	for (size_t k = 0; k < a.n; k++)
		(*db)[k] = a.count[k] ? (float)MAX(-127.0, 10.0 * log10(a.sum[k] / a.count[k] + 1e-13))
		                      : -127.0f;
	g_free(a.sum);
	g_free(a.count);
	return err;
}

egw_err_t egw_render_levels_measure(const egw_render_plan_t *rp, unsigned step_ms,
                                    const char *log_id, egw_render_levels_t **out, char *errstr,
                                    size_t errstr_size)
{
	egw_render_levels_t *l = g_new0(egw_render_levels_t, 1);
	gint64 t0 = g_get_monotonic_time();
	egw_err_t err = EGW_OK;

	l->n_tracks = rp->n_tracks;
	l->db = g_new0(float *, rp->n_tracks + 1);
	l->n = g_new0(size_t, rp->n_tracks + 1);
	for (size_t i = 0; i < rp->n_tracks && !err; i++)
		if (rp->tracks[i].media == EGW_MEDIA_AUDIO)
			err = measure(&rp->tracks[i], step_ms, &l->db[i], &l->n[i], errstr,
			              errstr_size);
	if (err) {
		egw_render_levels_free(l);
		*out = NULL;
		return err;
	}
	EGW_LOG(log_id, INFO, "audio levels measured in %.0f ms",
	        (g_get_monotonic_time() - t0) / 1000.0);
	*out = l;
	return EGW_OK;
}

void egw_render_levels_free(egw_render_levels_t *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_tracks; i++)
		g_free(l->db[i]);
	g_free(l->db);
	g_free(l->n);
	g_free(l);
}
