/* Segments output: HLS, MPEG-TS segments of segment_s beside a playlist
 * (GStreamer's hlssink2: splitmuxsink + mpegtsmux).
 *
 *   video_0 -> h264parse -> hlssink2 (video)     prefix.m3u8
 *   audio_0 --------------> hlssink2 (audio)     prefix_00000.ts, prefix_00001.ts...
 *
 * The playlist grows as segments close (every segment stays listed: a
 * live playlist of the whole egress) and gets its end tag with the last
 * segment, which makes it a complete VOD playlist. hlssink2 asks the
 * encoder for a keyframe at each segment boundary, so segments are
 * segment_s long and each starts on a keyframe. A segment is complete on
 * disk when the playlist lists it. The playlist file was made by the job
 * (it claims the prefix); hlssink2 rewrites it whole each time.
 * The end: hlssink2 writes the last playlist when its EOS arrives, then
 * forwards the EOS as a message (message-forward), which the session hands
 * to message(): finished.
 * locality: main context, except the first-buffer probe (streaming). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/life.h"
#include "base/log.h"
#include "pipelines/output.h"

struct egw_output {
	char *name, *log_id, *location;
	egw_output_events_t ev;
	void *opaque;
	egw_life_t *life;
	GstElement *bin, *hls;
	int have[2]; /* video, audio */
	int wrote, finished;
	guint segments;
};

static void seg_free(egw_output_t *o)
{
	if (!o)
		return;
	egw_life_end(o->life);
	if (o->bin)
		gst_object_unref(o->bin);
	g_free(o->name);
	g_free(o->log_id);
	g_free(o->location);
	g_free(o);
}

static egw_output_t *seg_create(const egw_output_plan_t *plan, const char *log_id,
                                const egw_output_events_t *ev, void *opaque, char *errstr,
                                size_t errstr_size)
{
	egw_output_t *o = g_new0(egw_output_t, 1);
	size_t len = plan->location ? strlen(plan->location) : 0;
	char *pattern;

	o->name = g_strdup(plan->name);
	o->log_id = g_strdup(log_id);
	o->location = g_strdup(plan->location);
	if (ev)
		o->ev = *ev;
	o->opaque = opaque;
	o->life = egw_life_new(NULL, o);
	if (len < 6 || strcmp(plan->location + len - 5, ".m3u8")) {
		snprintf(errstr, errstr_size, "%s: no playlist", plan->name);
		seg_free(o);
		return NULL;
	}
	o->bin = gst_object_ref_sink(gst_bin_new(plan->name));
	if (!(o->hls = gst_element_factory_make("hlssink2", NULL))) {
		snprintf(errstr, errstr_size, "GStreamer element hlssink2 is missing");
		seg_free(o);
		return NULL;
	}
	pattern = g_strdup_printf("%.*s_%%05d.ts", (int)(len - 5), plan->location);
	g_object_set(o->hls, "location", pattern, "playlist-location", plan->location,
	             "target-duration", (guint)(plan->segment_s > 0 ? plan->segment_s : 4),
	             "playlist-length", 0u, "max-files", 0u, "message-forward", TRUE, NULL);
	g_free(pattern);
	gst_bin_add(GST_BIN(o->bin), o->hls);
	return o;
}

static GstElement *seg_bin(egw_output_t *o)
{
	return o->bin;
}

static GstElement *seg_sink(egw_output_t *o)
{
	return NULL; /* the end is known from hlssink2's forwarded EOS */
}

static void on_first(void *target, void *data)
{
	egw_output_t *o = target;
	if (o->wrote)
		return;
	o->wrote = 1;
	if (o->ev.first_byte)
		o->ev.first_byte(o->opaque);
}

static GstPadProbeReturn first_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	egw_output_t *o = user;
	egw_life_invoke(o->life, on_first, NULL, NULL);
	return GST_PAD_PROBE_REMOVE;
}

static egw_err_t seg_add_stream(egw_output_t *o, egw_media_t media, const char *codec, GstPad **pad,
                                char *errstr, size_t errstr_size)
{
	int m = media == EGW_MEDIA_AUDIO;
	GstElement *parse = NULL;
	GstPad *target, *hpad;

	if (strcmp(codec, m ? "aac" : "h264")) {
		snprintf(errstr, errstr_size, "%s: HLS segments carry H.264 and AAC, not %s",
		         o->name, codec);
		return EGW_ERR_INVALID_REQUEST;
	}
	if (o->have[m]) {
		snprintf(errstr, errstr_size, "%s: segments carry one %s track", o->name,
		         egw_media2str(media));
		return EGW_ERR_INVALID_REQUEST;
	}
	if (!(hpad = gst_element_request_pad_simple(o->hls, m ? "audio" : "video"))) {
		snprintf(errstr, errstr_size, "%s: hlssink2 takes no %s", o->name,
		         egw_media2str(media));
		return EGW_ERR_MEDIA;
	}
	if (!m) { /* MPEG-TS wants H.264 as a byte stream */
		if (!(parse = gst_element_factory_make("h264parse", NULL))) {
			gst_object_unref(hpad);
			snprintf(errstr, errstr_size, "GStreamer element h264parse is missing");
			return EGW_ERR_MEDIA;
		}
		gst_bin_add(GST_BIN(o->bin), parse);
		gst_element_link_pads(parse, "src", o->hls, GST_PAD_NAME(hpad));
		target = gst_element_get_static_pad(parse, "sink");
	} else {
		target = gst_object_ref(hpad);
	}
	gst_object_unref(hpad);
	o->have[m] = 1;
	*pad = gst_ghost_pad_new(m ? "audio_0" : "video_0", target);
	gst_object_unref(target);
	gst_pad_set_active(*pad, TRUE);
	gst_element_add_pad(o->bin, *pad);
	gst_pad_add_probe(*pad, GST_PAD_PROBE_TYPE_BUFFER, first_buffer, o, NULL);
	gst_object_ref(*pad); /* the caller's reference */
	if (parse)
		gst_element_sync_state_with_parent(parse);
	return EGW_OK;
}

/* Segment number o->segments is complete: hlssink2 (whose own sink has no
 * location: it opens the files itself, numbered from 0 by the pattern)
 * rewrote the playlist before passing this on. */
static void seg_fragment_closed(egw_output_t *o)
{
	size_t len = strlen(o->location) - 5; /* the playlist's name without .m3u8 */
	char *seg = g_strdup_printf("%.*s_%05u.ts", (int)len, o->location, o->segments);
	o->segments++;
	if (o->ev.file_closed) {
		o->ev.file_closed(o->opaque, seg);
		o->ev.file_closed(o->opaque, o->location);
	}
	g_free(seg);
}

static void seg_message(egw_output_t *o, GstMessage *msg)
{
	const GstStructure *st = gst_message_get_structure(msg);
	GstMessage *inner = NULL;

	if (!st)
		return;
	if (gst_structure_has_name(st, "splitmuxsink-fragment-closed")) {
		seg_fragment_closed(o);
		return;
	}
	/* with message-forward, hlssink2's children's messages come wrapped */
	if (!gst_structure_has_name(st, "GstBinForwarded") ||
	    !gst_structure_get(st, "message", GST_TYPE_MESSAGE, &inner, NULL))
		return;
	const GstStructure *ist = gst_message_get_structure(inner);
	if (GST_MESSAGE_TYPE(inner) == GST_MESSAGE_ELEMENT && ist &&
	    gst_structure_has_name(ist, "splitmuxsink-fragment-closed"))
		seg_fragment_closed(o);
	if (GST_MESSAGE_TYPE(inner) == GST_MESSAGE_EOS && !o->finished) {
		o->finished = 1;
		if (o->ev.finished)
			o->ev.finished(o->opaque);
	}
	gst_message_unref(inner);
}

static json_t *seg_describe(egw_output_t *o, double duration_s)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:f}", "kind", "segments", "format", "hls",
	                 "location", o->location, "segments", (int)o->segments, "duration_s",
	                 (double)(gint64)(duration_s * 1000) / 1000.0);
}

const egw_output_ops_t egw_output_segments = {
        .kind = "segments",
        .create = seg_create,
        .bin = seg_bin,
        .add_stream = seg_add_stream,
        .sink = seg_sink,
        .describe = seg_describe,
        .message = seg_message,
        .free = seg_free,
};
