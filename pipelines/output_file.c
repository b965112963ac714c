/* File output: a muxer writing into the file the job created (exclusively:
 * a job never overwrites a file it did not create). filesink opens it
 * through /proc/self/fd/N, the very file (never a path someone could have
 * swapped), and buffers its writes in 8 KiB (fdsink would make a system
 * call per muxer chunk). Files stay playable however the process ends:
 * Matroska/WebM clusters, Ogg pages, and MP4 written as fragments. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "pipelines/mp4_cut.h"
#include "pipelines/output.h"

#define FILE_BUFFER_BYTES 8192

/* What each container holds, and its muxer. */
static const struct container {
	egw_container_t container;
	const char *muxer;
	const char *codecs; /* space separated, with spaces around */
	const char *hint_video, *hint_audio;
} containers[] = {
	{EGW_CONTAINER_MKV, "matroskamux", " opus aac vp8 vp9 h264 av1 ", "", ""},
	{EGW_CONTAINER_WEBM, "webmmux", " opus vp8 vp9 av1 ", "mkv or mp4", "mkv or ogg"},
	{EGW_CONTAINER_MP4, "mp4mux", " opus aac h264 ", "mkv or webm", "mkv or webm"},
	{EGW_CONTAINER_OGG, "oggmux", " opus ", "mkv or webm", "mkv or webm"},
};

struct egw_output {
	const struct container *ct;
	char *name, *location, *log_id;
	int fd;
	GstElement *bin, *mux, *sink;
	unsigned n_audio, n_video;
};

const char *egw_container2str(egw_container_t c)
{
	static const char *const names[] = {"none", "mkv", "webm", "mp4", "ogg"};
	return (unsigned)c < G_N_ELEMENTS(names) ? names[c] : "none";
}

static void file_free(egw_output_t *o)
{
	if (!o)
		return;
	if (o->bin)
		gst_object_unref(o->bin);
	if (o->fd >= 0)
		close(o->fd);
	g_free(o->name);
	g_free(o->location);
	g_free(o->log_id);
	g_free(o);
}

static egw_output_t *file_create(const egw_output_plan_t *plan, const char *log_id,
				 const egw_output_events_t *ev, void *opaque, char *errstr,
				 size_t errstr_size)
{
	egw_output_t *o = g_new0(egw_output_t, 1);

	o->fd = -1;
	o->name = g_strdup(plan->name);
	o->location = g_strdup(plan->location);
	o->log_id = g_strdup(log_id);
	for (size_t i = 0; i < G_N_ELEMENTS(containers); i++)
		if (containers[i].container == plan->container)
			o->ct = &containers[i];
	if (!o->ct || plan->fd < 0) {
		snprintf(errstr, errstr_size, "%s: no container or no file", plan->name);
		goto fail;
	}
	if ((o->fd = dup(plan->fd)) < 0) {
		snprintf(errstr, errstr_size, "%s: cannot use the file", plan->name);
		goto fail;
	}
	o->bin = gst_object_ref_sink(gst_bin_new(plan->name));
	o->mux = gst_element_factory_make(o->ct->muxer, NULL);
	o->sink = gst_element_factory_make("filesink", NULL);
	if (!o->mux || !o->sink) {
		snprintf(errstr, errstr_size, "GStreamer element %s is missing",
			 o->mux ? "filesink" : o->ct->muxer);
		if (o->mux)
			gst_object_unref(gst_object_ref_sink(o->mux));
		if (o->sink)
			gst_object_unref(gst_object_ref_sink(o->sink));
		goto fail;
	}
	if (plan->container == EGW_CONTAINER_MP4)
		g_object_set(o->mux, "fragment-duration", 1000, NULL); /* playable if killed */
	{
		char via[64];
		snprintf(via, sizeof(via), "/proc/self/fd/%d", o->fd);
		/* A small buffer: few system calls, and a process killed
		 * outright loses at most this much of the file's end. */
		g_object_set(o->sink, "location", via, "sync", FALSE, "async", FALSE,
			     "buffer-size", FILE_BUFFER_BYTES, NULL);
		gst_util_set_object_arg(G_OBJECT(o->sink), "buffer-mode", "full");
	}
	gst_bin_add_many(GST_BIN(o->bin), o->mux, o->sink, NULL);
	if (!gst_element_link(o->mux, o->sink)) {
		snprintf(errstr, errstr_size, "cannot link %s to the file", o->ct->muxer);
		goto fail;
	}
	return o;
fail:
	file_free(o);
	return NULL;
}

static GstElement *file_bin(egw_output_t *o)
{
	return o->bin;
}

static GstElement *file_sink(egw_output_t *o)
{
	return o->sink;
}

static egw_err_t file_add_stream(egw_output_t *o, egw_media_t media, const char *codec,
				 GstPad **pad, char *errstr, size_t errstr_size)
{
	char needle[32], name[32];
	GstPad *mpad;

	snprintf(needle, sizeof(needle), " %s ", codec);
	if (!strstr(o->ct->codecs, needle)) {
		snprintf(errstr, errstr_size, "%s.format: %s cannot hold %s %s; use %s", o->name,
			 egw_container2str(o->ct->container), codec, egw_media2str(media),
			 media == EGW_MEDIA_VIDEO ? o->ct->hint_video : o->ct->hint_audio);
		return EGW_ERR_INVALID_REQUEST;
	}
	mpad = gst_element_request_pad_simple(o->mux,
					      media == EGW_MEDIA_AUDIO ? "audio_%u" : "video_%u");
	if (!mpad) {
		snprintf(errstr, errstr_size, "%s: %s takes no more %s", o->name, o->ct->muxer,
			 egw_media2str(media));
		return EGW_ERR_MEDIA;
	}
	snprintf(name, sizeof(name), "%s_%u", egw_media2str(media),
		 media == EGW_MEDIA_AUDIO ? o->n_audio++ : o->n_video++);
	*pad = gst_ghost_pad_new(name, mpad);
	gst_object_unref(mpad);
	gst_pad_set_active(*pad, TRUE);
	gst_element_add_pad(o->bin, *pad);
	gst_object_ref(*pad); /* the caller's reference */
	return EGW_OK;
}

static json_t *file_describe(egw_output_t *o, double duration_s)
{
	struct stat st;
	json_int_t size = fstat(o->fd, &st) == 0 ? (json_int_t)st.st_size : 0;
	return json_pack("{s:s, s:s, s:s, s:I, s:f}", "kind", "file", "format",
			 egw_container2str(o->ct->container), "location", o->location, "size", size,
			 "duration_s", (double)(gint64)(duration_s * 1000) / 1000.0);
}

/* The pipeline stopped before the muxer finished: an MP4's unfinished
 * last fragment cut (a Matroska file plays as far as it got as it is). */
static void file_abandon(egw_output_t *o)
{
	struct stat st;
	int64_t whole;
	if (o->ct->container != EGW_CONTAINER_MP4 || fstat(o->fd, &st) != 0 ||
	    (whole = egw_mp4_whole_length(o->fd)) < 0 || whole >= (int64_t)st.st_size)
		return;
	if (ftruncate(o->fd, (off_t)whole) != 0)
		EGW_LOG(o->log_id, WARN, "%s: cannot cut its unfinished last fragment: %s", o->name,
		        g_strerror(errno));
	else
		EGW_LOG(o->log_id, INFO,
		        "%s closed as it was: its unfinished last fragment (%lld bytes) cut",
		        o->name, (long long)(st.st_size - whole));
}

const egw_output_ops_t egw_output_file = {
        .kind = "file",
        .create = file_create,
        .bin = file_bin,
        .add_stream = file_add_stream,
        .sink = file_sink,
        .describe = file_describe,
        .abandon = file_abandon,
        .free = file_free,
};

void egw_output_state_event(const egw_output_events_t *ev, void *opaque, const char *event,
			    const char *output, const char *url, const char *state,
			    const char *why)
{
	json_t *det = json_pack("{s:s, s:s, s:s, s:s}", "event", event, "output", output, "url",
				url, "state", state);
	if (why && *why)
		json_object_set_new(det, "reason", json_string(why));
	if (ev->event)
		ev->event(opaque, json_pack("{s:o}", "details", det));
	else
		json_decref(det);
}

const egw_output_ops_t *egw_output_find(const char *kind)
{
	static const egw_output_ops_t *const outputs[] = {&egw_output_file, &egw_output_stream,
							  &egw_output_segments, &egw_output_images,
							  &egw_output_websocket};
	for (size_t i = 0; kind && i < G_N_ELEMENTS(outputs); i++)
		if (!strcmp(outputs[i]->kind, kind))
			return outputs[i];
	return NULL;
}
