/* Encoder chains (see encode.h): convert, rate or scale to what the plan
 * says, encode, parse. Video leaves at a constant frame rate with a
 * keyframe every keyframe_s seconds; encoders are set for live use (no
 * look-ahead, no B-frames), so a frame leaves the encoder right away. */
#include "pipelines/encode.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/graph.h"

static GstElement *add(GstBin *bin, const char *factory, char *errstr, size_t errstr_size)
{
	return egw_graph_make(bin, factory, errstr, errstr_size);
}

void egw_encode_defaults(egw_encode_plan_t *p)
{
	if (p->video_codec) {
		if (!p->width || !p->height) {
			p->width = 1280;
			p->height = 720;
		}
		if (!p->fps)
			p->fps = 30;
		if (!p->keyframe_s)
			p->keyframe_s = 2;
		if (!p->video_kbps) /* about 0.1 bit per pixel at 30 fps */
			p->video_kbps = (int)((long long)p->width * p->height * 3 / 1000 / 30 *
			                      (p->fps > 30 ? 3 : 2) / 2);
		if (!p->speed_preset)
			p->speed_preset = "veryfast";
	}
	if (p->pcm && !p->sample_rate)
		p->sample_rate = 48000;
	if (p->audio_codec) {
		if (!p->audio_kbps)
			p->audio_kbps = 128;
		if (!p->sample_rate)
			p->sample_rate = 48000;
		if (!strcmp(p->audio_codec, "opus") && p->sample_rate == 44100)
			p->sample_rate = 48000; /* Opus has no 44.1 kHz */
	}
}

static int fast_preset(const char *name)
{
	static const char *const fast[] = {"ultrafast", "superfast", "veryfast"};
	for (size_t i = 0; i < G_N_ELEMENTS(fast); i++)
		if (!strcmp(name, fast[i]))
			return 1;
	return 0;
}

static GstElement *video_encoder(GstBin *bin, const egw_encode_plan_t *p, char *errstr,
                                 size_t errstr_size)
{
	int gop = p->fps * p->keyframe_s;
	GstElement *enc;

	if (!strcmp(p->video_codec, "h264")) {
		if (!(enc = add(bin, "x264enc", errstr, errstr_size)))
			return NULL;
		g_object_set(enc, "bitrate", (guint)p->video_kbps, "key-int-max", (guint)gop,
		             "bframes", 0, "b-adapt", FALSE, "vbv-buf-capacity", 1000, NULL);
		gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", p->speed_preset);
		if (!p->offline)
			gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
		/* x264enc turns trellis on whatever the preset; x264's own fast
		 * presets (and ffmpeg's) have it off. */
		g_object_set(enc, "trellis", !fast_preset(p->speed_preset), NULL);
		return enc;
	}
	if (!strcmp(p->video_codec, "vp8")) {
		if (!(enc = add(bin, "vp8enc", errstr, errstr_size)))
			return NULL;
		g_object_set(enc, "deadline", (gint64)1, "cpu-used", 8, "lag-in-frames", 0,
		             "target-bitrate", p->video_kbps * 1000, "keyframe-max-dist", gop,
		             "threads", 2, NULL);
		gst_util_set_object_arg(G_OBJECT(enc), "end-usage", "cbr");
		return enc;
	}
	snprintf(errstr, errstr_size, "no encoder for %s video", p->video_codec);
	return NULL;
}

/* AAC encoders, the first one present is used (FFmpeg's, then the
 * VisualOn one), with their priming: the samples of silence each puts
 * before the first input sample (measured: FFmpeg-decoded MP4 and MKV,
 * any sample rate). Neither muxer records it, so the graph feeds the
 * audio that much early (egw_encode_audio_delay). */
static const struct aac_encoder {
	const char *factory;
	unsigned priming;
} aac_encoders[] = {
        {"avenc_aac", 1024},
        {"voaacenc", 1600},
};

static const struct aac_encoder *aac_encoder(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(aac_encoders); i++) {
		GstElementFactory *f = gst_element_factory_find(aac_encoders[i].factory);
		if (f) {
			gst_object_unref(f);
			return &aac_encoders[i];
		}
	}
	return &aac_encoders[0]; /* missing: adding it reports so */
}

GstClockTime egw_encode_audio_delay(const egw_encode_plan_t *p)
{
	if (!p->audio_codec || strcmp(p->audio_codec, "aac") || p->sample_rate <= 0)
		return 0; /* Opus: its pre-skip is in the stream, decoders apply it */
	return gst_util_uint64_scale_int(aac_encoder()->priming, GST_SECOND, p->sample_rate);
}

static GstElement *audio_encoder(GstBin *bin, const egw_encode_plan_t *p, char *errstr,
                                 size_t errstr_size)
{
	GstElement *enc;

	if (!strcmp(p->audio_codec, "aac")) {
		if (!(enc = add(bin, aac_encoder()->factory, errstr, errstr_size)))
			return NULL;
		g_object_set(enc, "bitrate", p->audio_kbps * 1000, NULL);
		/* FFmpeg's own default coder, the one the ffmpeg baseline of
		 * bench_composite uses (gst-libav defaults to twoloop): 0.010
		 * instead of 0.018 core for 128 kbit/s stereo 48 kHz pink noise
		 * alone; within the noise of a whole composite job. */
		if (g_object_class_find_property(G_OBJECT_GET_CLASS(enc), "aac-coder"))
			gst_util_set_object_arg(G_OBJECT(enc), "aac-coder", "fast");
		return enc;
	}
	if (!strcmp(p->audio_codec, "opus")) {
		if (!(enc = add(bin, "opusenc", errstr, errstr_size)))
			return NULL;
		g_object_set(enc, "bitrate", p->audio_kbps * 1000, NULL);
		return enc;
	}
	snprintf(errstr, errstr_size, "no encoder for %s audio", p->audio_codec);
	return NULL;
}

static GstElement *caps_filter(GstBin *bin, GstCaps *caps, char *errstr, size_t errstr_size)
{
	GstElement *f = add(bin, "capsfilter", errstr, errstr_size);
	if (f)
		g_object_set(f, "caps", caps, NULL);
	gst_caps_unref(caps);
	return f;
}

void egw_encode_canvas_colours(GstCaps *caps)
{
	gst_caps_set_simple(caps, "colorimetry", G_TYPE_STRING, "bt601", "chroma-site",
	                    G_TYPE_STRING, "jpeg", NULL);
}

GstCaps *egw_encode_video_caps(const egw_encode_plan_t *p)
{
	GstCaps *caps = gst_caps_new_simple(
	        "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, p->width,
	        "height", G_TYPE_INT, p->height, "framerate", GST_TYPE_FRACTION, p->fps, 1,
	        "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, "interlace-mode", G_TYPE_STRING,
	        "progressive", NULL);
	egw_encode_canvas_colours(caps);
	return caps;
}

egw_err_t egw_encode_build(GstBin *bin, const egw_encode_plan_t *p, egw_media_t media,
                           GstPad **sink, GstPad **src, char *errstr, size_t errstr_size)
{
	GstElement *els[6] = {NULL};
	size_t n = 0;
	int video = media == EGW_MEDIA_VIDEO;
	const char *codec = video ? p->video_codec : p->audio_codec;
	const char *parser = !codec                   ? NULL
	                     : !strcmp(codec, "h264") ? "h264parse"
	                     : !strcmp(codec, "aac")  ? "aacparse"
	                     : !strcmp(codec, "opus") ? "opusparse"
	                                              : NULL;
	GstCaps *caps;

	*sink = *src = NULL;
	if (!codec) {
		snprintf(errstr, errstr_size, "no %s codec chosen", egw_media2str(media));
		return EGW_ERR_INTERNAL;
	}
	if (video) {
		/* Every field fixed: a mixer renegotiating (an input in another
		 * colorimetry joins) must not reach the encoder, whose new caps
		 * a muxer would refuse mid-stream. */
		caps = egw_encode_video_caps(p);
		if (!(els[n++] = add(bin, "videoconvert", errstr, errstr_size)) ||
		    !(els[n++] = caps_filter(bin, caps, errstr, errstr_size)) ||
		    !(els[n++] = video_encoder(bin, p, errstr, errstr_size)))
			goto fail;
	} else {
		caps = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, p->sample_rate,
		                           "channels", G_TYPE_INT, 2, NULL);
		if (!(els[n++] = add(bin, "audioconvert", errstr, errstr_size)) ||
		    !(els[n++] = add(bin, "audioresample", errstr, errstr_size)) ||
		    !(els[n++] = caps_filter(bin, caps, errstr, errstr_size)) ||
		    !(els[n++] = audio_encoder(bin, p, errstr, errstr_size)))
			goto fail;
	}
	if (parser && !(els[n++] = add(bin, parser, errstr, errstr_size)))
		goto fail;
	if (parser && !strcmp(parser, "h264parse"))
		g_object_set(els[n - 1], "config-interval", -1, NULL);
	for (size_t i = 0; i + 1 < n; i++)
		if (!gst_element_link(els[i], els[i + 1])) {
			snprintf(errstr, errstr_size, "cannot link the %s encoder", codec);
			goto fail;
		}
	*sink = gst_element_get_static_pad(els[0], "sink");
	*src = gst_element_get_static_pad(els[n - 1], "src");
	return EGW_OK;
fail:
	for (size_t i = 0; i < n; i++)
		if (els[i])
			egw_element_drop(bin, els[i]);
	return EGW_ERR_MEDIA;
}
