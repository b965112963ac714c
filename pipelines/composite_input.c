/* The composite's inputs (see composite_int.h): a decoding branch per
 * track, ending on a request pad of the compositor (video) or the
 * audiomixer (audio), and placeholders for participants without video.
 * What the branches are watched for (loudness, mutes, stalls, lateness) is
 * in composite_watch.c. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/composite_int.h"
#include "pipelines/encode.h"

#include <gst/video/video.h>

/* Audio branches end in 48 kHz mono (composite_watch.c measures it). */
#define LEVEL_RATE 48000
#define PLACEHOLDER_W 320
#define PLACEHOLDER_H 180

static const struct decoder {
	const char *codec;
	egw_media_t media;
	const char *depay, *parse, *decode;
} decoders[] = {
        {"opus", EGW_MEDIA_AUDIO, "rtpopusdepay", NULL, "opusdec"},
        {"vp8", EGW_MEDIA_VIDEO, "rtpvp8depay", NULL, "vp8dec"},
        {"vp9", EGW_MEDIA_VIDEO, "rtpvp9depay", NULL, "vp9dec"},
        {"h264", EGW_MEDIA_VIDEO, "rtph264depay", "h264parse", "avdec_h264"},
        {"av1", EGW_MEDIA_VIDEO, "rtpav1depay", "av1parse", "av1dec"},
};

static const struct decoder *decoder_for(const char *codec)
{
	for (size_t i = 0; codec && i < G_N_ELEMENTS(decoders); i++)
		if (!strcmp(decoders[i].codec, codec))
			return &decoders[i];
	return NULL;
}

int egw_composite_decodes(const char *codec)
{
	const struct decoder *d = decoder_for(codec);
	GstElementFactory *f;
	if (!d || !(f = gst_element_factory_find(d->decode)))
		return 0;
	gst_object_unref(f);
	return 1;
}

static GstElement *add(struct input *in, const char *factory, char *errstr, size_t errstr_size)
{
	GstElement *e = egw_graph_make(in->g->bin, factory, errstr, errstr_size);
	if (e)
		in->els[in->n_els++] = e;
	return e;
}

static void set_if_exists(GstElement *e, const char *prop)
{
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop))
		g_object_set(e, prop, TRUE, NULL);
}

/* ---- the picture in its cell ---- */

struct picture_report {
	char *track_id;
	int width, height;
};

static void picture_report_free(gpointer p)
{
	struct picture_report *pr = p;
	g_free(pr->track_id);
	g_free(pr);
}

static void on_picture(void *target, void *data)
{
	struct composite *g = target;
	struct picture_report *pr = data;
	struct input *in = g_hash_table_lookup(g->inputs, pr->track_id);
	if (!in || in->media != EGW_MEDIA_VIDEO)
		return;
	in->pic_w = pr->width;
	in->pic_h = pr->height;
	egw_composite_input_fit(in);
}

/* The decoded picture's size, from the caps reaching the crop (streaming
 * thread): handed to the main context, which places it. */
static GstPadProbeReturn picture_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct input *in = user;
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	GstVideoInfo vi;
	GstCaps *caps;

	if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
		return GST_PAD_PROBE_OK;
	gst_event_parse_caps(ev, &caps);
	if (gst_video_info_from_caps(&vi, caps)) {
		struct picture_report *pr = g_new(struct picture_report, 1);
		pr->track_id = g_strdup(in->track_id);
		pr->width = GST_VIDEO_INFO_WIDTH(&vi);
		pr->height = GST_VIDEO_INFO_HEIGHT(&vi);
		egw_life_invoke(in->g->life, on_picture, pr, picture_report_free);
	}
	return GST_PAD_PROBE_OK;
}

void egw_composite_input_fit(struct input *in)
{
	const egw_tile_t *c = &in->cell;
	egw_fit_t f;
	int want[4];

	if (!c->width) {
		g_object_set(in->mixpad, "alpha", 0.0, NULL);
		return;
	}
	egw_fit_native(in->pic_w, in->pic_h, c->width, c->height, &f);
	want[0] = f.crop_left;
	want[1] = f.crop_right;
	want[2] = f.crop_top;
	want[3] = f.crop_bottom;
	if (in->crop && memcmp(want, in->cropped, sizeof(want))) {
		g_object_set(in->crop, "left", want[0], "right", want[1], "top", want[2], "bottom",
		             want[3], NULL);
		memcpy(in->cropped, want, sizeof(want));
	}
	g_object_set(in->mixpad, "xpos", c->x + f.x, "ypos", c->y + f.y, "width", f.width,
	             "height", f.height, "zorder", (guint)(c->z + 1), "alpha", 1.0, NULL);
}

/* ---- branches ---- */

/* Serialized queries (allocation, drain) to a mixer wait for its thread;
 * a mixer stopping while a decoder waits there leaves that decoder stuck
 * holding its stream lock, and the pipeline cannot stop. The mixers need
 * nothing from them: answered here, the decoders allocate on their own. */
static GstPadProbeReturn answer_serialized(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
	if (GST_QUERY_TYPE(q) == GST_QUERY_ALLOCATION || GST_QUERY_TYPE(q) == GST_QUERY_DRAIN)
		return GST_PAD_PROBE_HANDLED;
	return GST_PAD_PROBE_OK;
}

void egw_composite_video_pad(GstPad *mixpad)
{
	/* Tiles are scaled every frame (a cell is rarely the picture's own
	 * size): bilinear, without dithering, is a fraction of the default
	 * (cubic) cost and looks the same at these ratios. */
	GstStructure *cfg = gst_structure_new(
	        "GstVideoConverter", GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD,
	        GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_LINEAR,
	        GST_VIDEO_CONVERTER_OPT_CHROMA_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
	        GST_VIDEO_RESAMPLER_METHOD_LINEAR, GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
	        GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE, NULL);
	gst_util_set_object_arg(G_OBJECT(mixpad), "sizing-policy", "keep-aspect-ratio");
	g_object_set(mixpad, "converter-config", cfg, NULL);
	gst_structure_free(cfg);
}

void egw_composite_guard_pad(GstPad *pad)
{
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, answer_serialized, NULL, NULL);
}

static egw_err_t video_tail(struct input *in, char *errstr, size_t errstr_size)
{
	GstPad *pad;

	if (!add(in, "videoconvert", errstr, errstr_size) ||
	    !(in->crop = add(in, "videocrop", errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	pad = gst_element_get_static_pad(in->crop, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, picture_probe, in, NULL);
	gst_object_unref(pad);
	if (in->g->cp.labels && !in->g->track_mode) {
		if (!(in->label = add(in, "textoverlay", errstr, errstr_size)))
			return EGW_ERR_MEDIA;
		g_object_set(in->label, "font-desc", "Sans 16", "shaded-background", TRUE,
		             "auto-resize", FALSE, NULL);
		gst_util_set_object_arg(G_OBJECT(in->label), "valignment", "bottom");
		gst_util_set_object_arg(G_OBJECT(in->label), "halignment", "left");
	}
	return EGW_OK;
}

static egw_err_t audio_tail(struct input *in, char *errstr, size_t errstr_size)
{
	GstElement *caps;
	GstPad *pad;

	if (!add(in, "audioconvert", errstr, errstr_size) ||
	    !add(in, "audioresample", errstr, errstr_size) ||
	    !(caps = add(in, "capsfilter", errstr, errstr_size)) ||
	    !(in->pan = add(in, "audiopanorama", errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	{
		GstCaps *c = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE",
		                                 "rate", G_TYPE_INT, LEVEL_RATE, "channels",
		                                 G_TYPE_INT, 1, NULL);
		g_object_set(caps, "caps", c, NULL);
		gst_caps_unref(c);
	}
	gst_util_set_object_arg(G_OBJECT(in->pan), "method", "simple");
	pad = gst_element_get_static_pad(caps, "src");
	egw_composite_watch_level(in, pad);
	gst_object_unref(pad);
	return EGW_OK;
}

static egw_err_t link_branch(struct input *in, char *errstr, size_t errstr_size)
{
	GstElement *mixer = in->media == EGW_MEDIA_VIDEO ? in->g->vmix : in->g->amix;
	GstPad *src;

	for (size_t i = 0; i + 1 < in->n_els; i++)
		if (!gst_element_link(in->els[i], in->els[i + 1]))
			goto fail;
	if (!(in->mixpad = gst_element_request_pad_simple(mixer, "sink_%u")))
		goto fail;
	/* Hidden until the scene places it. */
	if (in->media == EGW_MEDIA_VIDEO) {
		g_object_set(in->mixpad, "alpha", 0.0, NULL);
		egw_composite_video_pad(in->mixpad);
	} else {
		g_object_set(in->mixpad, "volume", 0.0, NULL);
	}
	src = gst_element_get_static_pad(in->els[in->n_els - 1], "src");
	egw_composite_guard_pad(src);
	if (gst_pad_link(src, in->mixpad) != GST_PAD_LINK_OK) {
		gst_object_unref(src);
		goto fail;
	}
	egw_composite_watch_output(in, src);
	gst_object_unref(src);
	in->sinkpad = gst_element_get_static_pad(in->els[0], "sink");
	egw_composite_watch_entry(in, in->sinkpad);
	return EGW_OK;
fail:
	snprintf(errstr, errstr_size, "cannot link the %s %s branch", in->codec,
	         egw_media2str(in->media));
	return EGW_ERR_MEDIA;
}

egw_err_t egw_composite_input_new(struct composite *g, const egw_track_t *t, struct input **out,
                                  char *errstr, size_t errstr_size)
{
	const struct decoder *d = decoder_for(t->codec);
	struct input *in;
	GstElement *e;
	egw_err_t err;

	*out = NULL;
	if (!d || d->media != t->media || !egw_composite_decodes(t->codec)) {
		snprintf(errstr, errstr_size, "cannot decode %s %s of %s", t->codec,
		         egw_media2str(t->media), t->participant.name);
		return EGW_ERR_NOT_SUPPORTED;
	}
	in = g_new0(struct input, 1);
	in->g = g;
	in->track_id = g_strdup(t->id);
	in->participant = g_strdup(t->participant.name);
	in->media = t->media;
	in->added_us = g_get_monotonic_time();
	snprintf(in->codec, sizeof(in->codec), "%s", t->codec);
	err = EGW_ERR_MEDIA;
	if (!(e = add(in, d->depay, errstr, errstr_size)))
		goto fail;
	set_if_exists(e, "request-keyframe");
	set_if_exists(e, "wait-for-keyframe");
	if ((d->parse && !add(in, d->parse, errstr, errstr_size)) ||
	    !add(in, d->decode, errstr, errstr_size))
		goto fail;
	err = t->media == EGW_MEDIA_VIDEO ? video_tail(in, errstr, errstr_size)
	                                  : audio_tail(in, errstr, errstr_size);
	if (err || (err = link_branch(in, errstr, errstr_size)))
		goto fail;
	for (size_t i = in->n_els; i > 0; i--)
		gst_element_sync_state_with_parent(in->els[i - 1]);
	*out = in;
	return EGW_OK;
fail:
	egw_composite_input_free(in);
	return err;
}

int egw_composite_input_has(const struct input *in, GstObject *obj)
{
	for (size_t i = 0; i < in->n_els; i++)
		if (obj == GST_OBJECT(in->els[i]) ||
		    gst_object_has_as_ancestor(obj, GST_OBJECT(in->els[i])))
			return 1;
	return 0;
}

int egw_composite_placeholder_has(const struct placeholder *ph, GstObject *obj)
{
	GstElement *els[] = {ph->src, ph->caps, ph->text};
	for (size_t i = 0; i < G_N_ELEMENTS(els); i++)
		if (els[i] && obj == GST_OBJECT(els[i]))
			return 1;
	return 0;
}

void egw_composite_input_free(struct input *in)
{
	GstElement *mixer;
	GstPad *peer;

	if (!in)
		return;
	mixer = in->media == EGW_MEDIA_VIDEO ? in->g->vmix : in->g->amix;
	if (in->sinkpad && (peer = gst_pad_get_peer(in->sinkpad))) {
		/* The source may still push a little: swallowed, not an error. */
		egw_graph_swallow(peer);
		gst_pad_unlink(peer, in->sinkpad);
		gst_object_unref(peer);
	}
	/* The mixer's pad first: that flushes it, so a branch blocked on it
	 * lets go, and the elements can stop. */
	if (in->mixpad) {
		gst_element_release_request_pad(mixer, in->mixpad);
		gst_object_unref(in->mixpad);
	}
	for (size_t i = 0; i < in->n_els; i++)
		egw_element_drop(in->g->bin, in->els[i]);
	if (in->sinkpad)
		gst_object_unref(in->sinkpad);
	g_free(in->track_id);
	g_free(in->participant);
	g_free(in);
}

/* ---- placeholders ---- */

static GstElement *ph_add(struct composite *g, const char *factory)
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	if (e && !gst_bin_add(g->bin, e)) {
		gst_object_unref(e);
		return NULL;
	}
	return e;
}

char *egw_composite_placeholder_markup(const char *initials_text, const char *label)
{
	char *initials = g_markup_escape_text(initials_text, -1), *out;
	if (label) {
		char *name = g_markup_escape_text(label, -1);
		out = g_strdup_printf("<span size=\"xx-large\" weight=\"bold\">%s</span>\n"
		                      "<span size=\"small\">%s</span>",
		                      initials, name);
		g_free(name);
	} else {
		out = g_strdup_printf("<span size=\"xx-large\" weight=\"bold\">%s</span>",
		                      initials);
	}
	g_free(initials);
	return out;
}

struct placeholder *egw_composite_placeholder_new(struct composite *g, const egw_tile_t *tile)
{
	struct placeholder *ph = g_new0(struct placeholder, 1);
	GstCaps *caps;
	char *markup;

	ph->participant_id = g_strdup(tile->participant_id);
	if (!(ph->src = ph_add(g, "videotestsrc")) || !(ph->caps = ph_add(g, "capsfilter")) ||
	    !(ph->text = ph_add(g, "textoverlay")))
		goto fail;
	g_object_set(ph->src, "is-live", TRUE, "foreground-color", 0xff000000u | tile->color, NULL);
	gst_util_set_object_arg(G_OBJECT(ph->src), "pattern", "solid-color");
	/* A still picture: a few frames a second keep it current. */
	caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
	                           G_TYPE_INT, PLACEHOLDER_W, "height", G_TYPE_INT, PLACEHOLDER_H,
	                           "framerate", GST_TYPE_FRACTION, 5, 1, NULL);
	egw_encode_canvas_colours(caps);
	g_object_set(ph->caps, "caps", caps, NULL);
	gst_caps_unref(caps);
	markup = egw_composite_placeholder_markup(tile->initials, tile->label);
	g_object_set(ph->text, "text", markup, "font-desc", "Sans 18", "auto-resize", FALSE, NULL);
	g_free(markup);
	gst_util_set_object_arg(G_OBJECT(ph->text), "valignment", "center");
	gst_util_set_object_arg(G_OBJECT(ph->text), "halignment", "center");
	if (!gst_element_link_many(ph->src, ph->caps, ph->text, NULL) ||
	    !(ph->mixpad = gst_element_request_pad_simple(g->vmix, "sink_%u")))
		goto fail;
	g_object_set(ph->mixpad, "alpha", 0.0, NULL);
	egw_composite_video_pad(ph->mixpad);
	{
		GstPad *src = gst_element_get_static_pad(ph->text, "src");
		egw_composite_guard_pad(src);
		gst_object_unref(src);
	}
	if (!gst_element_link_pads(ph->text, "src", g->vmix, GST_PAD_NAME(ph->mixpad)))
		goto fail;
	gst_element_sync_state_with_parent(ph->text);
	gst_element_sync_state_with_parent(ph->caps);
	gst_element_sync_state_with_parent(ph->src);
	return ph;
fail:
	EGW_LOG(g->log_id, WARN,
	        "cannot make a placeholder tile (GStreamer's pango plugin missing?)");
	egw_composite_placeholder_free(ph);
	return NULL;
}

void egw_composite_placeholder_free(struct placeholder *ph)
{
	GstElement *els[3], *parent;

	if (!ph)
		return;
	els[0] = ph->src;
	els[1] = ph->caps;
	els[2] = ph->text;
	/* The source stops first: its thread must not push into a pad that
	 * is gone (not-linked is an error for a source). Locked, so that the
	 * bin cannot set them playing again before they are removed. */
	for (size_t i = 0; i < G_N_ELEMENTS(els); i++)
		if (els[i]) {
			gst_element_set_locked_state(els[i], TRUE);
			gst_element_set_state(els[i], GST_STATE_NULL);
		}
	if (ph->mixpad) {
		parent = GST_ELEMENT(gst_object_get_parent(GST_OBJECT(ph->mixpad)));
		if (parent) {
			gst_element_release_request_pad(parent, ph->mixpad);
			gst_object_unref(parent);
		}
		gst_object_unref(ph->mixpad);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(els); i++) {
		if (!els[i] || !(parent = GST_ELEMENT(gst_object_get_parent(GST_OBJECT(els[i])))))
			continue;
		gst_bin_remove(GST_BIN(parent), els[i]);
		gst_object_unref(parent);
	}
	g_free(ph->participant_id);
	g_free(ph);
}
