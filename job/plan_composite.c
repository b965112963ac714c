/* Request -> plan for egresses that transcode (room and track composites):
 * the encoding (presets, explicit fields, worker defaults), the codecs each
 * output format takes, the layout (checked here, before anything runs) and
 * the mix. See plan.h and docs/jobs.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compositor/compositor.h"
#include "job/plan_int.h"
#include "pipelines/encode.h"

static const struct preset {
	const char *name;
	int width, height, fps, video_kbps;
	const char *audio; /* audio-only presets: the codec */
} presets[] = {
        {"H264_720P_30", 1280, 720, 30, 3000, NULL},
        {"H264_720P_60", 1280, 720, 60, 4500, NULL},
        {"H264_1080P_30", 1920, 1080, 30, 4500, NULL},
        {"H264_1080P_60", 1920, 1080, 60, 6000, NULL},
        {"H264_540P_25", 960, 540, 25, 1600, NULL},
        {"OPUS_AUDIO_ONLY", 0, 0, 0, 0, "opus"},
        {"AAC_AUDIO_ONLY", 0, 0, 0, 0, "aac"},
};

/* The codecs a composite encodes for each file format. */
static const struct format_codecs {
	egw_file_format_t format;
	const char *video, *audio;
} format_codecs[] = {
        {EGW_FORMAT_MP4, "h264", "aac"},
        {EGW_FORMAT_MKV, "h264", "aac"},
        {EGW_FORMAT_WEBM, "vp8", "opus"},
        {EGW_FORMAT_OGG, NULL, "opus"},
};

static const struct preset *preset_of(const egw_job_t *job)
{
	for (size_t i = 0; job->encoding.preset && i < sizeof(presets) / sizeof(presets[0]); i++)
		if (!strcmp(presets[i].name, job->encoding.preset))
			return &presets[i];
	return NULL;
}

/* What a live stream (FLV for RTMP, MPEG-TS for SRT) and HLS segments
 * (MPEG-TS) carry: what ingest services and players take. Images are
 * decoded from the H.264 stream. */
static const struct format_codecs stream_codecs = {EGW_FORMAT_NONE, "h264", "aac"};
static const struct format_codecs images_codecs = {EGW_FORMAT_NONE, "h264", NULL};

static const struct format_codecs *codecs_of(const egw_output_t *out)
{
	if (out->kind == EGW_OUTPUT_STREAM || out->kind == EGW_OUTPUT_SEGMENTS)
		return &stream_codecs;
	if (out->kind == EGW_OUTPUT_IMAGES)
		return &images_codecs;
	for (size_t i = 0; i < sizeof(format_codecs) / sizeof(format_codecs[0]); i++)
		if (format_codecs[i].format == out->format)
			return &format_codecs[i];
	return NULL;
}

/* An output's format in messages. */
static const char *format_name(const egw_output_t *out)
{
	return out->kind == EGW_OUTPUT_FILE ? egw_file_format2str(out->format)
	                                    : egw_output_kind2str(out->kind);
}

/* Does the egress produce audio / video? */
static void media_wanted(const egw_job_t *job, int *audio, int *video)
{
	const struct preset *p = preset_of(job);
	if (job->source.kind == EGW_SOURCE_TRACK_COMPOSITE) {
		*audio = job->source.audio_track_id != NULL;
		*video = job->source.video_track_id != NULL;
	} else if (job->source.kind == EGW_SOURCE_TRACK) {
		*audio = job->source.media == EGW_MEDIA_AUDIO;
		*video = job->source.media == EGW_MEDIA_VIDEO;
	} else {
		*audio = !job->source.video_only;
		*video = !job->source.audio_only;
	}
	if (p && p->audio)
		*video = 0;
}

static egw_err_t choose_codecs(const egw_job_t *job, egw_encode_plan_t *enc, char *errstr,
                               size_t errstr_size)
{
	const struct preset *p = preset_of(job);
	int audio, video;

	media_wanted(job, &audio, &video);
	if (!audio && !video) {
		snprintf(errstr, errstr_size, "encoding.preset: %s leaves nothing to record",
		         job->encoding.preset);
		return EGW_ERR_INVALID_REQUEST;
	}
	for (size_t i = 0; i < job->n_outputs; i++) {
		const egw_output_t *out = &job->outputs[i];
		const struct format_codecs *fc = codecs_of(out);
		const char *v = video && fc ? fc->video : NULL;
		const char *a = audio && fc ? (p && p->audio ? p->audio : fc->audio) : NULL;
		const char *field = out->kind == EGW_OUTPUT_FILE ? "format" : "kind";
		if (out->kind == EGW_OUTPUT_WEBSOCKET) { /* the mix, decoded */
			if (!audio) {
				snprintf(errstr, errstr_size,
				         "outputs[%zu].kind: a websocket sends audio, and this "
				         "egress records video only",
				         i);
				return EGW_ERR_INVALID_REQUEST;
			}
			enc->pcm = 1;
			continue;
		}
		if (out->kind == EGW_OUTPUT_IMAGES && !video) {
			snprintf(errstr, errstr_size,
			         "outputs[%zu].kind: images need video, and this egress records "
			         "audio only",
			         i);
			return EGW_ERR_INVALID_REQUEST;
		}
		if (!fc || (video && !fc->video)) {
			snprintf(errstr, errstr_size,
			         "outputs[%zu].format: %s cannot hold video; use "
			         "mp4, mkv or webm",
			         i, format_name(out));
			return EGW_ERR_INVALID_REQUEST;
		}
		if ((out->kind == EGW_OUTPUT_STREAM || out->kind == EGW_OUTPUT_SEGMENTS) && a &&
		    strcmp(a, "aac")) {
			snprintf(errstr, errstr_size,
			         "outputs[%zu].kind: a %s carries AAC audio, and encoding.preset "
			         "%s is %s; use AAC_AUDIO_ONLY or a video preset",
			         i, format_name(out), p ? p->name : "", a);
			return EGW_ERR_INVALID_REQUEST;
		}
		if (a && !strcmp(a, "aac") &&
		    (out->format == EGW_FORMAT_WEBM || out->format == EGW_FORMAT_OGG)) {
			snprintf(errstr, errstr_size,
			         "outputs[%zu].format: %s cannot hold AAC; "
			         "use mp4 or mkv with encoding.preset AAC_AUDIO_ONLY",
			         i, format_name(out));
			return EGW_ERR_INVALID_REQUEST;
		}
		if (v && p && !p->audio && strcmp(v, "h264")) {
			snprintf(
			        errstr, errstr_size,
			        "outputs[%zu].format: %s holds VP8, and "
			        "encoding.preset %s is H.264; use mp4 or mkv, or explicit encoding "
			        "fields",
			        i, format_name(out), p->name);
			return EGW_ERR_INVALID_REQUEST;
		}
		if ((v && enc->video_codec && strcmp(v, enc->video_codec)) ||
		    (a && enc->audio_codec && strcmp(a, enc->audio_codec))) {
			snprintf(
			        errstr, errstr_size,
			        "outputs[%zu].%s: a composite is encoded "
			        "once, and %s needs other codecs than outputs[0]; use outputs that "
			        "share them (mp4, mkv and stream: H.264 and AAC; or webm)",
			        i, field, format_name(out));
			return EGW_ERR_NOT_SUPPORTED;
		}
		if (v)
			enc->video_codec = v;
		if (a)
			enc->audio_codec = a;
	}
	return EGW_OK;
}

static void encoding_of(const egw_job_t *job, egw_encode_plan_t *enc)
{
	const struct preset *p = preset_of(job);
	const egw_encoding_t *e = &job->encoding;

	if (p) {
		enc->width = p->width;
		enc->height = p->height;
		enc->fps = p->fps;
		enc->video_kbps = p->video_kbps;
	} else {
		enc->width = e->width;
		enc->height = e->height;
		enc->fps = e->fps;
		enc->video_kbps = e->video_bitrate_kbps;
		enc->keyframe_s = e->keyframe_interval_s;
		enc->audio_kbps = e->audio_bitrate_kbps;
		enc->sample_rate = e->audio_sample_rate;
		enc->speed_preset = e->speed_preset;
	}
}

egw_err_t egw_plan_composite_check(const egw_job_t *job, egw_encode_plan_t *enc, char *errstr,
                                   size_t errstr_size)
{
	egw_encode_plan_t local = {0};
	egw_layout_t *layout = NULL;
	egw_err_t err;

	if (!enc)
		enc = &local;
	encoding_of(job, enc);
	if ((err = choose_codecs(job, enc, errstr, errstr_size)))
		return err;
	egw_encode_defaults(enc); /* for the codecs chosen */
	if (job->source.kind != EGW_SOURCE_ROOM_COMPOSITE && job->source.kind != EGW_SOURCE_RENDER)
		return EGW_OK;
	if ((err = egw_layout_parse(job->source.layout ? job->source.layout : "grid",
	                            "source.layout", enc->width, enc->height, &layout, errstr,
	                            errstr_size)))
		return err;
	egw_layout_free(layout);
	return EGW_OK;
}

static int mix_mode(const char *name)
{
	if (name && !strcmp(name, "dual_channel"))
		return EGW_MIX_DUAL_CHANNEL;
	if (name && !strcmp(name, "alternate"))
		return EGW_MIX_ALTERNATE;
	return EGW_MIX_EVERYONE;
}

egw_err_t egw_plan_composite(const egw_job_t *job, egw_media_plan_t *media,
                             egw_source_filter_t *filter, char *errstr, size_t errstr_size)
{
	egw_composite_plan_t *cp = &media->composite;
	int audio, video;
	egw_err_t err;

	if ((err = egw_plan_composite_check(job, &media->encode, errstr, errstr_size)))
		return err;
	media->graph = EGW_GRAPH_COMPOSITE;
	media_wanted(job, &audio, &video);
	/* What no output takes is not subscribed (a websocket alone: audio). */
	video = video && media->encode.video_codec;
	audio = audio && (media->encode.audio_codec || media->encode.pcm);
	*filter = (egw_source_filter_t){
	        .media = (audio ? EGW_SOURCE_AUDIO : 0) | (video ? EGW_SOURCE_VIDEO : 0),
	};
	if (job->source.kind == EGW_SOURCE_PARTICIPANT || job->source.kind == EGW_SOURCE_TRACK) {
		/* One participant's picture on the whole canvas, its audio as is. */
		filter->participant = job->source.participant;
		cp->single = 1;
		return EGW_OK;
	}
	if (job->source.kind == EGW_SOURCE_TRACK_COMPOSITE) {
		size_t n = 0;
		cp->single = 1;
		if (job->source.video_track_id)
			cp->track_ids[n++] = filter->track_ids[0] = job->source.video_track_id;
		if (job->source.audio_track_id)
			cp->track_ids[n] = filter->track_ids[n] = job->source.audio_track_id;
		return EGW_OK;
	}
	cp->layout = job->source.layout ? job->source.layout : "grid";
	cp->background = job->source.background
	                         ? (uint32_t)strtoul(job->source.background + 1, NULL, 16)
	                         : 0x000000u;
	cp->labels = job->source.labels;
	cp->mix_mode = mix_mode(job->source.audio_mix);
	cp->mix_participant = job->source.audio_mix_participant;
	return EGW_OK;
}
