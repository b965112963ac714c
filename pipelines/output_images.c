/* Images output: a JPEG thumbnail of the video every every_s seconds,
 * prefix_00000.jpg, prefix_00001.jpg...
 *
 *   video_0 -> queue (leaky) -> [keyframes, one per every_s] -> avdec_h264
 *           -> videoconvert -> videoscale -> [size] -> jpegenc -> multifilesink
 *
 * Taken from the encoded H.264 stream the other outputs get, so the canvas
 * is not copied out for it: only keyframes are decoded, one per every_s
 * (a keyframe decodes on its own), and the encoder is asked for one at each
 * next image's time (upstream, through the tees) so that thumbnails keep
 * their cadence whatever the keyframe interval. Each image is written
 * whole when it is encoded; the first file was made by the job (it claims
 * the prefix) and is overwritten by the first image.
 * locality: main context, except the gate probe (streaming; `due` is only
 * touched there). */
#include <stdio.h>
#include <string.h>

#include <gst/video/video.h>

#include "base/log.h"
#include "pipelines/output.h"

#define IMAGE_QUEUE_NS (2 * GST_SECOND)

struct egw_output {
	char *name, *location, *pattern;
	int every_s, width, height;
	GstElement *bin, *queue, *sink;
	GstPad *in; /* the ghost pad: keyframe requests go up through it */
	/* streaming (the gate probe) */
	GstClockTime due; /* running time of the next image */
	/* main */
	guint images;
};

static void img_free(egw_output_t *o)
{
	if (!o)
		return;
	if (o->bin)
		gst_object_unref(o->bin);
	g_free(o->name);
	g_free(o->location);
	g_free(o->pattern);
	g_free(o);
}

static egw_output_t *img_create(const egw_output_plan_t *plan, const char *log_id,
                                const egw_output_events_t *ev, void *opaque, char *errstr,
                                size_t errstr_size)
{
	static const char *const chain[] = {"queue",        "avdec_h264", "videoconvert",
	                                    "videoscale",   "capsfilter", "jpegenc",
	                                    "multifilesink"};
	const char *suffix = "_00000.jpg";
	size_t len = plan->location ? strlen(plan->location) : 0;
	GstElement *els[G_N_ELEMENTS(chain)];
	egw_output_t *o = g_new0(egw_output_t, 1);

	o->name = g_strdup(plan->name);
	o->location = g_strdup(plan->location);
	o->every_s = plan->every_s > 0 ? plan->every_s : 10;
	o->width = plan->width;
	o->height = plan->height;
	o->due = GST_CLOCK_TIME_NONE;
	if (len <= strlen(suffix) || strcmp(plan->location + len - strlen(suffix), suffix)) {
		snprintf(errstr, errstr_size, "%s: no first image", plan->name);
		img_free(o);
		return NULL;
	}
	o->pattern = g_strdup_printf("%.*s_%%05d.jpg", (int)(len - strlen(suffix)), plan->location);
	o->bin = gst_object_ref_sink(gst_bin_new(plan->name));
	for (size_t i = 0; i < G_N_ELEMENTS(chain); i++) {
		if (!(els[i] = gst_element_factory_make(chain[i], NULL))) {
			snprintf(errstr, errstr_size, "GStreamer element %s is missing", chain[i]);
			img_free(o);
			return NULL;
		}
		gst_bin_add(GST_BIN(o->bin), els[i]);
		if (i && !gst_element_link(els[i - 1], els[i])) {
			snprintf(errstr, errstr_size, "%s: cannot link %s", plan->name, chain[i]);
			img_free(o);
			return NULL;
		}
	}
	o->queue = els[0];
	o->sink = els[G_N_ELEMENTS(chain) - 1];
	g_object_set(o->queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
	             (guint64)IMAGE_QUEUE_NS, "leaky", 2, NULL);
	if (o->width || o->height) { /* square pixels: one of the two keeps the other */
		GstCaps *caps = gst_caps_new_simple("video/x-raw", "pixel-aspect-ratio",
		                                    GST_TYPE_FRACTION, 1, 1, NULL);
		if (o->width)
			gst_caps_set_simple(caps, "width", G_TYPE_INT, o->width, NULL);
		if (o->height)
			gst_caps_set_simple(caps, "height", G_TYPE_INT, o->height, NULL);
		g_object_set(els[4], "caps", caps, NULL);
		gst_caps_unref(caps);
	}
	g_object_set(o->sink, "location", o->pattern, "index", 0, "post-messages", TRUE, "sync",
	             FALSE, "async", FALSE, NULL);
	return o;
}

static GstElement *img_bin(egw_output_t *o)
{
	return o->bin;
}

static GstElement *img_sink(egw_output_t *o)
{
	return o->sink;
}

/* The running time of a buffer at pad (the encoder's too: nothing on the
 * way changes segments). */
static GstClockTime running_time(GstPad *pad, GstClockTime pts)
{
	GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	const GstSegment *seg;
	GstClockTime t = GST_CLOCK_TIME_NONE;

	if (ev) {
		gst_event_parse_segment(ev, &seg);
		t = gst_segment_to_running_time(seg, GST_FORMAT_TIME, pts);
		gst_event_unref(ev);
	}
	return t;
}

/* Keyframes only, and of those the first at or after each due time; the
 * encoder is asked (upstream, through the tees) for a keyframe at the next
 * due time, so images come every every_s whatever its keyframe interval. */
static GstPadProbeReturn gate(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	egw_output_t *o = user;
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	GstClockTime t;

	if (GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT) ||
	    !GST_CLOCK_TIME_IS_VALID(t = running_time(pad, GST_BUFFER_PTS(b))))
		return GST_PAD_PROBE_DROP;
	if (GST_CLOCK_TIME_IS_VALID(o->due) && t + GST_SECOND / 10 < o->due)
		return GST_PAD_PROBE_DROP;
	o->due = t + (GstClockTime)o->every_s * GST_SECOND;
	gst_pad_push_event(
	        o->in, /* upstream, to the encoder */ gst_video_event_new_upstream_force_key_unit(
	                o->due, TRUE, 0));
	return GST_PAD_PROBE_OK;
}

static egw_err_t img_add_stream(egw_output_t *o, egw_media_t media, const char *codec, GstPad **pad,
                                char *errstr, size_t errstr_size)
{
	GstPad *target, *src;

	*pad = NULL;
	if (media == EGW_MEDIA_AUDIO)
		return EGW_OK; /* not taken */
	if (strcmp(codec, "h264") || o->in) {
		snprintf(errstr, errstr_size, "%s: images are made from one H.264 video, not %s",
		         o->name, codec);
		return EGW_ERR_INVALID_REQUEST;
	}
	target = gst_element_get_static_pad(o->queue, "sink");
	*pad = o->in = gst_ghost_pad_new("video_0", target);
	gst_object_unref(target);
	gst_pad_set_active(*pad, TRUE);
	gst_element_add_pad(o->bin, *pad);
	src = gst_element_get_static_pad(o->queue, "src");
	gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, gate, o, NULL);
	gst_object_unref(src);
	gst_object_ref(*pad); /* the caller's reference */
	return EGW_OK;
}

static void img_message(egw_output_t *o, GstMessage *msg)
{
	const GstStructure *st = gst_message_get_structure(msg);
	if (st && gst_structure_has_name(st, "GstMultiFileSink"))
		o->images++;
}

static json_t *img_describe(egw_output_t *o, double duration_s)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:f}", "kind", "images", "format", "jpeg",
	                 "location", o->pattern, "images", (int)o->images, "every_s", o->every_s,
	                 "duration_s", (double)(gint64)(duration_s * 1000) / 1000.0);
}

const egw_output_ops_t egw_output_images = {
        .kind = "images",
        .create = img_create,
        .bin = img_bin,
        .add_stream = img_add_stream,
        .sink = img_sink,
        .describe = img_describe,
        .message = img_message,
        .free = img_free,
};
