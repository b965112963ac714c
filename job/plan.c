/* Request -> plan: what this build runs, and how (see plan.h). */
#include "job/plan.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "job/plan_int.h"
#include "job/render.h"
#include "pipelines/output.h"

#define FMT(f) (1u << (f))

/* Which file formats hold which media, as this build records them (as they
 * arrive, no transcoding). */
static const struct {
	unsigned media; /* EGW_SOURCE_AUDIO | EGW_SOURCE_VIDEO */
	unsigned formats;
	const char *what, *hint;
} file_support[] = {
	{EGW_SOURCE_AUDIO, FMT(EGW_FORMAT_OGG) | FMT(EGW_FORMAT_WEBM) | FMT(EGW_FORMAT_MKV),
	 "audio only", "ogg, webm or mkv"},
	{EGW_SOURCE_VIDEO, FMT(EGW_FORMAT_WEBM) | FMT(EGW_FORMAT_MKV) | FMT(EGW_FORMAT_MP4),
	 "video only", "webm, mkv or mp4"},
	{EGW_SOURCE_AUDIO | EGW_SOURCE_VIDEO,
	 FMT(EGW_FORMAT_MKV) | FMT(EGW_FORMAT_WEBM) | FMT(EGW_FORMAT_MP4), "audio and video",
	 "mkv, webm or mp4"},
};

static const egw_container_t containers[] = {
	[EGW_FORMAT_MP4] = EGW_CONTAINER_MP4,
	[EGW_FORMAT_MKV] = EGW_CONTAINER_MKV,
	[EGW_FORMAT_WEBM] = EGW_CONTAINER_WEBM,
	[EGW_FORMAT_OGG] = EGW_CONTAINER_OGG,
};

/* The media a job records (EGW_SOURCE_* mask). */
static unsigned media_of(const egw_job_t *job)
{
	if (job->source.kind == EGW_SOURCE_TRACK)
		return job->source.track_id ? 0 : 1u << job->source.media;
	if (job->source.audio_only)
		return EGW_SOURCE_AUDIO;
	if (job->source.video_only)
		return EGW_SOURCE_VIDEO;
	return EGW_SOURCE_AUDIO | EGW_SOURCE_VIDEO;
}

/* Does the egress decode and encode? Composites always; a participant or
 * a track when it has an output other than files (a live stream, segments
 * or images take H.264 and AAC, a websocket decoded audio, whatever was
 * published): then its files are encoded too (one encode for all
 * outputs). */
int egw_plan_transcodes(const egw_job_t *job)
{
	if (job->source.kind == EGW_SOURCE_ROOM_COMPOSITE ||
	    job->source.kind == EGW_SOURCE_TRACK_COMPOSITE || job->source.kind == EGW_SOURCE_RENDER)
		return 1;
	for (size_t i = 0; i < job->n_outputs; i++)
		if (job->outputs[i].kind != EGW_OUTPUT_FILE)
			return 1;
	return 0;
}

static egw_err_t check_output(const egw_job_t *job, size_t i, char *errstr, size_t errstr_size)
{
	const egw_output_t *out = &job->outputs[i];
	unsigned media = media_of(job);
	char path[32];

	snprintf(path, sizeof(path), "outputs[%zu]", i);
	if (!egw_output_find(egw_output_kind2str(out->kind))) {
		snprintf(errstr, errstr_size, "%s.kind: %s is not supported yet", path,
			 egw_output_kind2str(out->kind));
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (out->kind != EGW_OUTPUT_FILE) {
		if (job->source.kind == EGW_SOURCE_TRACK && job->source.track_id) {
			snprintf(errstr, errstr_size,
				 "%s.kind: %s needs the track's media known at the start: "
				 "give source.participant and source.media instead of "
				 "source.track_id",
				 path, egw_output_kind2str(out->kind));
			return EGW_ERR_NOT_SUPPORTED;
		}
		return EGW_OK;
	}
	if (out->format <= EGW_FORMAT_NONE || out->format > EGW_FORMAT_OGG) {
		snprintf(errstr, errstr_size, "%s.format: is required", path);
		return EGW_ERR_INVALID_REQUEST;
	}
	if (!media || egw_plan_transcodes(job)) /* track_id: known when found; transcoded: see there */
		return EGW_OK;
	for (size_t k = 0; k < sizeof(file_support) / sizeof(file_support[0]); k++) {
		if (file_support[k].media != media || (file_support[k].formats & FMT(out->format)))
			continue;
		snprintf(errstr, errstr_size, "%s.format: %s is not supported yet for %s (use %s)", path,
			 egw_file_format2str(out->format), file_support[k].what,
			 file_support[k].hint);
		return EGW_ERR_NOT_SUPPORTED;
	}
	return EGW_OK;
}

egw_err_t egw_plan_check(const egw_job_t *job, char *errstr, size_t errstr_size)
{
	egw_err_t err;

	if (errstr && errstr_size)
		errstr[0] = '\0';
	if (!job)
		return EGW_ERR_INTERNAL;
	if (job->source.kind == EGW_SOURCE_RENDER) {
		/* files, not a room: written as fast as they render */
		for (size_t i = 0; i < job->n_outputs; i++)
			if (job->outputs[i].kind == EGW_OUTPUT_STREAM ||
			    job->outputs[i].kind == EGW_OUTPUT_WEBSOCKET) {
				snprintf(errstr, errstr_size,
				         "outputs[%zu].kind: a render writes files, segments and "
				         "images, not a live %s",
				         i, egw_output_kind2str(job->outputs[i].kind));
				return EGW_ERR_INVALID_REQUEST;
			}
	} else if (job->source.kind == EGW_SOURCE_ROOM_TRACKS &&
	           (job->n_outputs != 1 || job->outputs[0].kind != EGW_OUTPUT_FILE ||
	            !job->outputs[0].path || !strstr(job->outputs[0].path, "{track}"))) {
		snprintf(errstr, errstr_size,
		         "outputs: a room_tracks egress writes each track to a file of its own: "
		         "one file output, its path with {track} (e.g. "
		         "\"{room_id}/{egress_id}/{track}.mkv\")");
		return EGW_ERR_INVALID_REQUEST;
	}
	if (job->source.kind != EGW_SOURCE_RENDER && !egw_source_find(job->room.sfu)) {
		snprintf(errstr, errstr_size, "room.sfu: %s is not supported yet (this build has %s)",
			 job->room.sfu ? job->room.sfu : "(none)", egw_source_names());
		return EGW_ERR_NOT_SUPPORTED;
	}
	for (size_t i = 0; i < job->n_outputs; i++)
		if ((err = check_output(job, i, errstr, errstr_size)))
			return err;
	if (job->n_outputs > EGW_PLAN_OUTPUTS_MAX) {
		snprintf(errstr, errstr_size, "outputs: at most %d", EGW_PLAN_OUTPUTS_MAX);
		return EGW_ERR_INVALID_REQUEST;
	}
	if (egw_plan_transcodes(job) && (err = egw_plan_composite_check(job, NULL, errstr, errstr_size)))
		return err;
	return EGW_OK; /* (webhooks: sent by the worker, worker/webhook.c) */
}

static void source_spec(const egw_job_t *job, const egw_job_settings_t *st, egw_source_spec_t *s)
{
	*s = (egw_source_spec_t){
	        .sfu = job->room.sfu,
	        .url = job->room.url,
	        .room_id = job->room.room_id,
	        .room_id_is_number = job->room.room_id_is_number,
	        .pin = job->room.pin,
	        .filter = {.participant = job->source.participant,
	                   .track_ids = {job->source.track_id},
	                   .media = media_of(job)},
	        .timeout_ms = st->sfu_timeout_ms,
	        .sdps = (const char *const *)job->room.sdps,
	        .n_sdps = job->room.n_sdps,
	        .log_id = job->egress_id,
	};
}

/* A render's manifest: absolute, or relative to the storage directory. */
static egw_err_t render_input(const egw_job_t *job, egw_job_plan_t *p, char *errstr,
                              size_t errstr_size)
{
	char *path = g_path_is_absolute(job->source.manifest)
	                     ? g_strdup(job->source.manifest)
	                     : g_build_filename(p->dir, job->source.manifest, NULL);
	egw_err_t err =
	        egw_render_input_load(path, job->source.trim_start_s, job->source.trim_end_s,
	                              &p->render, errstr, errstr_size);
	g_free(path);
	if (err)
		return err;
	p->media.graph = EGW_GRAPH_RENDER;
	p->media.render = egw_render_input_plan(p->render);
	return EGW_OK;
}

egw_err_t egw_plan_build(const egw_job_t *job, const egw_job_settings_t *st, time_t start,
			 egw_job_plan_t **out, char *errstr, size_t errstr_size)
{
	egw_job_plan_t *p = g_new0(egw_job_plan_t, 1);
	const char *dir = job->storage.kind == EGW_STORAGE_LOCAL ? job->storage.dir : NULL;
	char rel[4096], field[48];
	egw_err_t err;

	*out = NULL;
	if ((err = egw_plan_check(job, errstr, errstr_size)))
		goto fail;
	p->sfu = egw_source_find(job->room.sfu);
	source_spec(job, st, &p->source);
	p->endpoints = g_new0(egw_source_endpoint_t, job->room.n_endpoints + 1);
	for (size_t i = 0; i < job->room.n_endpoints; i++)
		p->endpoints[i] = (egw_source_endpoint_t){job->room.endpoints[i].url,
		                                          job->room.endpoints[i].token,
		                                          job->room.endpoints[i].participant};
	p->source.endpoints = p->endpoints;
	p->source.n_endpoints = job->room.n_endpoints;
	p->media.graph = EGW_GRAPH_PASSTHROUGH;
	if (egw_plan_transcodes(job) &&
	    (err = egw_plan_composite(job, &p->media, &p->source.filter, errstr, errstr_size)))
		goto fail;
	p->media.log_id = job->egress_id;
	if ((err = egw_local_dir(dir, st->storage_dir, st->storage_roots, st->n_storage_roots,
				 &p->dir, errstr, errstr_size)))
		goto fail;
	if (job->source.kind == EGW_SOURCE_RENDER &&
	    (err = render_input(job, p, errstr, errstr_size)))
		goto fail;
	if (job->source.kind == EGW_SOURCE_ROOM_TRACKS) {
		/* the files are made as the tracks come (the runner, from the
		 * template); the plan has no output of its own */
		p->media.graph = EGW_GRAPH_TRACKS;
		p->track_template = job->outputs[0].path;
		p->track_container = containers[job->outputs[0].format];
		snprintf(p->names[0], sizeof(p->names[0]), "outputs[0]");
		*out = p;
		return EGW_OK;
	}
	for (size_t i = 0; i < job->n_outputs; i++) {
		egw_output_plan_t *op = &p->media.outputs[i];
		snprintf(p->names[i], sizeof(p->names[i]), "outputs[%zu]", i);
		if (job->outputs[i].kind == EGW_OUTPUT_STREAM ||
		    job->outputs[i].kind == EGW_OUTPUT_WEBSOCKET) { /* no local file */
			*op = (egw_output_plan_t){
				.name = p->names[i],
				.kind = egw_output_kind2str(job->outputs[i].kind),
				.fd = -1,
				.urls = job->outputs[i].urls,
				.n_urls = job->outputs[i].n_urls,
				.url = job->outputs[i].url,
				.headers = job->outputs[i].headers,
				.n_headers = job->outputs[i].n_headers,
				.sample_rate = job->outputs[i].sample_rate,
				.channels = job->outputs[i].channels,
				.reconnect_window_s = job->outputs[i].reconnect_window_s,
			};
			p->media.n_outputs++;
			continue;
		}
		snprintf(field, sizeof(field), "%s.%s", p->names[i],
			 job->outputs[i].kind == EGW_OUTPUT_FILE ? "path" : "prefix");
		if ((err = egw_job_expand_path(job,
					       job->outputs[i].kind == EGW_OUTPUT_FILE
						       ? job->outputs[i].path
						       : job->outputs[i].prefix,
					       start, rel, sizeof(rel), errstr, errstr_size)))
			goto fail;
		/* Segments: the playlist is made now (claiming the prefix), the
		 * segments beside it. Images: the first one is. */
		if (job->outputs[i].kind == EGW_OUTPUT_SEGMENTS)
			g_strlcat(rel, ".m3u8", sizeof(rel));
		else if (job->outputs[i].kind == EGW_OUTPUT_IMAGES)
			g_strlcat(rel, "_00000.jpg", sizeof(rel));
		if ((err = egw_local_create(p->dir, rel, &p->files[i], errstr, errstr_size))) {
			char why[512];
			snprintf(why, sizeof(why), "%s", errstr);
			snprintf(errstr, errstr_size, "%s: %s", field, why);
			goto fail;
		}
		*op = (egw_output_plan_t){
			.name = p->names[i],
			.kind = egw_output_kind2str(job->outputs[i].kind),
			.container = containers[job->outputs[i].format],
			.fd = p->files[i]->fd,
			.location = p->files[i]->path,
			.segment_s = job->outputs[i].segment_s,
			.every_s = job->outputs[i].every_s,
			.width = job->outputs[i].width,
			.height = job->outputs[i].height,
		};
		p->media.n_outputs++;
	}
	*out = p;
	return EGW_OK;
fail:
	egw_plan_discard(p);
	egw_plan_free(p);
	return err;
}

void egw_plan_discard(egw_job_plan_t *p)
{
	/* Last made first, so shared directories empty out in order. */
	for (size_t i = EGW_PLAN_OUTPUTS_MAX; p && i > 0; i--)
		if (p->files[i - 1]) {
			EGW_LOG(p->media.log_id, INFO, "removed %s: nothing was recorded",
				p->files[i - 1]->path);
			egw_local_discard(p->files[i - 1]);
		}
}

void egw_plan_free(egw_job_plan_t *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < EGW_PLAN_OUTPUTS_MAX; i++)
		egw_local_free(p->files[i]);
	egw_render_input_free(p->render);
	g_free(p->endpoints);
	g_free(p->dir);
	g_free(p);
}
