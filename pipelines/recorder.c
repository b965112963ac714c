#include "pipelines/recorder.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pipelines/recorder_int.h"
#include "base/log.h"

#define JOB_ID(r) ((r)->job->egress_id)

/* What each container holds, and its muxer. */
static const struct container {
	egw_file_format_t format;
	const char *muxer;
	const char *codecs; /* space separated */
	const char *audio_pad, *video_pad;
} containers[] = {
	{EGW_FORMAT_MKV, "matroskamux", " opus vp8 vp9 h264 av1 ", "audio_%u", "video_%u"},
	{EGW_FORMAT_WEBM, "webmmux", " opus vp8 vp9 av1 ", "audio_%u", "video_%u"},
	{EGW_FORMAT_MP4, "mp4mux", " opus h264 ", "audio_%u", "video_%u"},
	{EGW_FORMAT_OGG, "oggmux", " opus ", "audio_%u", "video_%u"},
};

static const struct container *container_of(egw_file_format_t f)
{
	for (size_t i = 0; i < G_N_ELEMENTS(containers); i++)
		if (containers[i].format == f)
			return &containers[i];
	return NULL;
}

/* Depayloader and parser per codec. */
static const struct codec_chain {
	const char *codec, *depay, *parse;
} chains[] = {
	{"opus", "rtpopusdepay", "opusparse"},
	{"vp8", "rtpvp8depay", NULL},
	{"vp9", "rtpvp9depay", "vp9parse"},
	{"h264", "rtph264depay", "h264parse"},
	{"av1", "rtpav1depay", "av1parse"},
};

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer user)
{
	egw_recorder_t *rec = user;
	GError *gerr = NULL;
	gchar *dbg = NULL, *path, text[1024];

	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_EOS:
		EGW_LOG(JOB_ID(rec), INFO, "recording finalised: %s", rec->location);
		if (rec->ev.on_finished)
			rec->ev.on_finished(rec->opaque);
		break;
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(msg, &gerr, &dbg);
		path = gst_object_get_path_string(GST_MESSAGE_SRC(msg));
		EGW_LOG(JOB_ID(rec), ERROR, "pipeline error from %s: %s (%s)", path, gerr->message,
			dbg ? dbg : "no details");
		snprintf(text, sizeof(text), "media pipeline error in %s: %s",
			 GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), gerr->message);
		g_free(path);
		g_free(dbg);
		g_error_free(gerr);
		if (rec->ev.on_error)
			rec->ev.on_error(rec->opaque, EGW_ERR_MEDIA, text);
		break;
	case GST_MESSAGE_WARNING:
		gst_message_parse_warning(msg, &gerr, &dbg);
		EGW_LOG(JOB_ID(rec), WARN, "pipeline warning from %s: %s",
			GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), gerr->message);
		g_free(dbg);
		g_error_free(gerr);
		break;
	default:
		break;
	}
	return G_SOURCE_CONTINUE;
}

/* The first byte reaching the file; then the probe goes away. */
static GstPadProbeReturn first_media(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	egw_recorder_t *rec = user;
	if (rec->ev.on_first_media)
		rec->ev.on_first_media(rec->opaque);
	return GST_PAD_PROBE_REMOVE;
}

static egw_err_t make_dirs(const char *path, char *errstr, size_t errstr_size)
{
	gchar *dir = g_path_get_dirname(path);
	int rc = g_mkdir_with_parents(dir, 0755);
	if (rc)
		snprintf(errstr, errstr_size, "cannot create directory %s: %s", dir, strerror(errno));
	g_free(dir);
	return rc ? EGW_ERR_IO : EGW_OK;
}

static egw_err_t build(egw_recorder_t *rec, char *errstr, size_t errstr_size)
{
	const struct container *ct = container_of(rec->format);
	GstPad *pad;

	rec->pipeline = gst_pipeline_new(rec->job->egress_id);
	rec->mux = ct ? gst_element_factory_make(ct->muxer, "mux") : NULL;
	rec->sink = gst_element_factory_make("filesink", "file");
	if (!rec->pipeline || !rec->mux || !rec->sink) {
		snprintf(errstr, errstr_size, "GStreamer element %s is missing",
			 !rec->mux ? (ct ? ct->muxer : "muxer") : "filesink");
		return EGW_ERR_MEDIA;
	}
	if (rec->format == EGW_FORMAT_MP4)
		g_object_set(rec->mux, "fragment-duration", 1000, NULL); /* playable if killed */
	g_object_set(rec->sink, "location", rec->path, "async", FALSE, NULL);
	if (!gst_bin_add(GST_BIN(rec->pipeline), rec->mux) ||
	    !gst_bin_add(GST_BIN(rec->pipeline), rec->sink) || !gst_element_link(rec->mux, rec->sink)) {
		snprintf(errstr, errstr_size, "cannot link %s to the file sink", ct->muxer);
		return EGW_ERR_MEDIA;
	}
	pad = gst_element_get_static_pad(rec->sink, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, first_media, rec, NULL);
	gst_object_unref(pad);
	GstBus *bus = gst_pipeline_get_bus(GST_PIPELINE(rec->pipeline));
	rec->bus_watch = gst_bus_add_watch(bus, on_bus, rec);
	gst_object_unref(bus);
	return EGW_OK;
}

egw_recorder_t *egw_recorder_new(const egw_job_t *job, const char *storage_dir,
				 const egw_recorder_events_t *ev, void *opaque, egw_err_t *err,
				 char *errstr, size_t errstr_size)
{
	egw_recorder_t *rec = g_new0(egw_recorder_t, 1);
	char rel[1024];

	rec->job = job;
	rec->ev = *ev;
	rec->opaque = opaque;
	rec->format = job->outputs[0].format;
	egw_timeline_init(&rec->timeline);
	g_mutex_init(&rec->lock);
	g_cond_init(&rec->anchor);
	if ((*err = egw_job_expand_path(job, job->outputs[0].path, time(NULL), rel, sizeof(rel),
					errstr, errstr_size)))
		goto fail;
	rec->path = g_build_filename(storage_dir, rel, NULL);
	rec->location = g_strdup(rec->path);
	if ((*err = make_dirs(rec->path, errstr, errstr_size)) ||
	    (*err = build(rec, errstr, errstr_size)))
		goto fail;
	return rec;
fail:
	egw_recorder_free(rec);
	return NULL;
}

GstBin *egw_recorder_bin(egw_recorder_t *rec)
{
	return GST_BIN(rec->pipeline);
}

egw_err_t egw_recorder_play(egw_recorder_t *rec, char *errstr, size_t errstr_size)
{
	if (gst_element_set_state(rec->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		snprintf(errstr, errstr_size, "cannot start the pipeline (is %s writable?)", rec->path);
		return EGW_ERR_IO;
	}
	return EGW_OK;
}

static struct rec_branch *branch_for(egw_recorder_t *rec, egw_media_t media)
{
	for (size_t i = 0; i < rec->n_branches; i++)
		if (rec->branches[i].media == media)
			return &rec->branches[i];
	return NULL;
}

static int add_branch(egw_recorder_t *rec, const egw_sfu_track_t *t, char *errstr,
		      size_t errstr_size)
{
	const struct container *ct = container_of(rec->format);
	const struct codec_chain *ch = NULL;
	struct rec_branch *b = &rec->branches[rec->n_branches];
	GstElement *depay, *parse = NULL, *last;

	for (size_t i = 0; i < G_N_ELEMENTS(chains); i++)
		if (!strcmp(chains[i].codec, t->codec))
			ch = &chains[i];
	b->queue = gst_element_factory_make("queue", NULL);
	depay = ch ? gst_element_factory_make(ch->depay, NULL) : NULL;
	if (ch && ch->parse)
		parse = gst_element_factory_make(ch->parse, NULL);
	if (!b->queue || !depay || (ch->parse && !parse)) {
		snprintf(errstr, errstr_size, "no GStreamer depayloader/parser for %s", t->codec);
		return -1;
	}
	g_object_set(b->queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
		     (guint64)10 * GST_SECOND, NULL);
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(depay), "request-keyframe"))
		g_object_set(depay, "request-keyframe", TRUE, NULL);
	if (g_object_class_find_property(G_OBJECT_GET_CLASS(depay), "wait-for-keyframe"))
		g_object_set(depay, "wait-for-keyframe", TRUE, NULL);
	gst_bin_add_many(GST_BIN(rec->pipeline), b->queue, depay, parse, NULL);
	last = parse ? parse : depay;
	b->muxpad = gst_element_request_pad_simple(
		rec->mux, t->media == EGW_MEDIA_AUDIO ? ct->audio_pad : ct->video_pad);
	GstPad *src = gst_element_get_static_pad(last, "src");
	if (!gst_element_link_many(b->queue, depay, parse, NULL) || !b->muxpad ||
	    gst_pad_link(src, b->muxpad) != GST_PAD_LINK_OK) {
		gst_object_unref(src);
		snprintf(errstr, errstr_size, "cannot link %s into %s", t->codec, ct->muxer);
		return -1;
	}
	b->rec = rec;
	b->media = t->media;
	egw_retime_stream_init(&b->retime);
	snprintf(b->codec, sizeof(b->codec), "%s", t->codec);
	gst_segment_init(&b->in_seg, GST_FORMAT_UNDEFINED);
	gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
			  egw_recorder_retime_probe, b, NULL);
	gst_object_unref(src);
	b->sinkpad = gst_element_get_static_pad(b->queue, "sink");
	gst_element_sync_state_with_parent(b->queue);
	gst_element_sync_state_with_parent(depay);
	if (parse)
		gst_element_sync_state_with_parent(parse);
	rec->n_branches++;
	return 0;
}

egw_err_t egw_recorder_prepare(egw_recorder_t *rec, const egw_sfu_track_t *tracks, size_t n,
			 char *errstr, size_t errstr_size)
{
	const struct container *ct = container_of(rec->format);
	int first = rec->n_branches == 0;
	char needle[24];

	for (size_t i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), " %s ", tracks[i].codec);
		if (!strstr(ct->codecs, needle)) {
			snprintf(errstr, errstr_size,
				 "outputs[0].format: %s cannot hold %s's %s %s; use %s",
				 egw_file_format2str(rec->format), tracks[i].participant,
				 tracks[i].codec, tracks[i].media == EGW_MEDIA_AUDIO ? "audio" : "video",
				 !strcmp(tracks[i].codec, "h264") ? "mkv or mp4" : "mkv or webm");
			return EGW_ERR_INVALID_REQUEST;
		}
		struct rec_branch *b = branch_for(rec, tracks[i].media);
		if (b && strcmp(b->codec, tracks[i].codec)) {
			snprintf(errstr, errstr_size, "%s switched %s codec from %s to %s mid-recording",
				 tracks[i].participant,
				 tracks[i].media == EGW_MEDIA_AUDIO ? "audio" : "video", b->codec,
				 tracks[i].codec);
			return EGW_ERR_MEDIA;
		}
		if (!b && !first)
			EGW_LOG(JOB_ID(rec), WARN, "%s now also publishes %s; not recorded in this file",
				tracks[i].participant, tracks[i].codec);
		else if (!b && (rec->n_branches == G_N_ELEMENTS(rec->branches) ||
				add_branch(rec, &tracks[i], errstr, errstr_size)))
			return EGW_ERR_MEDIA;
	}
	/* Fragmented MP4 loses each track's start offset (see retime.h). */
	g_mutex_lock(&rec->lock);
	rec->timeline.anchor_video = rec->format == EGW_FORMAT_MP4 &&
				     branch_for(rec, EGW_MEDIA_VIDEO) != NULL;
	g_mutex_unlock(&rec->lock);
	return EGW_OK;
}

void egw_recorder_link_pad(egw_recorder_t *rec, GstPad *pad, const egw_sfu_track_t *track)
{
	g_mutex_lock(&rec->lock);
	struct rec_branch *b = rec->finishing ? NULL : branch_for(rec, track->media);
	if (b) {
		GstPad *peer = gst_pad_get_peer(b->sinkpad);
		if (peer) { /* a pad of a departed session */
			gst_pad_unlink(peer, b->sinkpad);
			gst_object_unref(peer);
		}
		if (gst_pad_link(pad, b->sinkpad) != GST_PAD_LINK_OK)
			EGW_LOG(JOB_ID(rec), ERROR, "cannot link %s %s", track->participant, track->codec);
	}
	g_mutex_unlock(&rec->lock);
	if (b)
		return;
	/* Not recorded: discard so the SFU session does not stall. */
	GstElement *sink = gst_element_factory_make("fakesink", NULL);
	if (sink && gst_bin_add(GST_BIN(rec->pipeline), sink)) {
		g_object_set(sink, "async", FALSE, "sync", FALSE, NULL);
		gst_element_sync_state_with_parent(sink);
		GstPad *sp = gst_element_get_static_pad(sink, "sink");
		gst_pad_link(pad, sp);
		gst_object_unref(sp);
	}
}

void egw_recorder_finish(egw_recorder_t *rec)
{
	g_mutex_lock(&rec->lock);
	rec->finishing = 1;
	g_cond_broadcast(&rec->anchor);
	g_mutex_unlock(&rec->lock);
	if (rec->n_branches == 0) {
		/* Nothing linked: end the muxer directly. */
		gst_element_send_event(rec->mux, gst_event_new_eos());
		return;
	}
	for (size_t i = 0; i < rec->n_branches; i++)
		gst_pad_send_event(rec->branches[i].sinkpad, gst_event_new_eos());
}

json_t *egw_recorder_outputs(egw_recorder_t *rec)
{
	struct stat stbuf;
	json_int_t size = stat(rec->path, &stbuf) == 0 ? (json_int_t)stbuf.st_size : 0;
	double duration;
	g_mutex_lock(&rec->lock);
	duration = (double)rec->timeline.max_end / GST_SECOND;
	g_mutex_unlock(&rec->lock);
	return json_pack("[{s:s, s:s, s:s, s:I, s:f}]", "kind", "file", "format",
			 egw_file_format2str(rec->format), "location", rec->location, "size", size,
			 "duration_s", (double)(gint64)(duration * 1000) / 1000.0);
}

void egw_recorder_discard(egw_recorder_t *rec)
{
	if (rec->path && g_remove(rec->path) == 0)
		EGW_LOG(JOB_ID(rec), INFO, "removed %s: nothing was recorded", rec->location);
}

void egw_recorder_free(egw_recorder_t *rec)
{
	if (!rec)
		return;
	if (rec->pipeline)
		gst_element_set_state(rec->pipeline, GST_STATE_NULL);
	if (rec->bus_watch)
		g_source_remove(rec->bus_watch);
	for (size_t i = 0; i < rec->n_branches; i++) {
		if (rec->branches[i].sinkpad)
			gst_object_unref(rec->branches[i].sinkpad);
		if (rec->branches[i].muxpad)
			gst_object_unref(rec->branches[i].muxpad);
		gst_caps_replace(&rec->branches[i].last_caps, NULL);
	}
	if (rec->pipeline)
		gst_object_unref(rec->pipeline);
	else {
		if (rec->mux)
			gst_object_unref(gst_object_ref_sink(rec->mux));
		if (rec->sink)
			gst_object_unref(gst_object_ref_sink(rec->sink));
	}
	g_mutex_clear(&rec->lock);
	g_cond_clear(&rec->anchor);
	g_free(rec->path);
	g_free(rec->location);
	g_free(rec);
}
