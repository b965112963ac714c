/* Start requests: the room, source, encoding, storage, limits and webhook
 * sections, each checked against its field table (docs/jobs.md); the
 * room is in request_room.c, the outputs in request_outputs.c. */
#include "contract/request_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ EGW_JSON_REQUIRED
#define SECRET EGW_JSON_SECRET
#define N(table) (sizeof(table) / sizeof((table)[0]))
#define SECTION(obj, path, table, base) \
	egw_job_section((obj), (path), (table), N(table), (base), errstr, errstr_size)

#define TABLE(t) { (t), N(t) }
#define invalid egw_job_invalid

const char *const egw_job_http_schemes[] = {"http", "https", NULL};
static const char *const media_names[] = {"audio", "video", NULL};
static const char *const preset_names[] = {
	"H264_720P_30", "H264_720P_60", "H264_1080P_30", "H264_1080P_60",
	"H264_540P_25", "OPUS_AUDIO_ONLY", "AAC_AUDIO_ONLY", NULL,
};
static const char *const speed_presets[] = {
	"ultrafast", "superfast", "veryfast", "faster", "fast",
	"medium", "slow", "slower", "veryslow", NULL,
};
static const int sample_rates[] = {8000, 12000, 16000, 24000, 32000, 44100, 48000};

static const egw_json_field_t start_fields[] = {
        EGW_F_OBJ("room", 0), /* required but for render (parse_start) */
        EGW_F_OBJ("source", REQ),
        EGW_F_OBJ("encoding", 0),
        {.name = "outputs",
         .types = EGW_JSON_T_ARRAY,
         .flags = REQ,
         .min = 1,
         .max = EGW_JOB_OUTPUTS_MAX},
        EGW_F_OBJ("storage", 0),
        EGW_F_OBJ("limits", 0),
        EGW_F_OBJ("webhook", 0),
};

egw_err_t egw_job_section(const json_t *obj, const char *path, const egw_json_field_t *table,
			  size_t n, void *base, char *errstr, size_t errstr_size)
{
	egw_err_t err = egw_json_validate(obj, path, table, n, errstr, errstr_size);
	if (err)
		return err;
	err = egw_json_fill(obj, table, n, base);
	if (err)
		egw_json_seterr(errstr, errstr_size, path, NULL, "out of memory");
	return err;
}

egw_err_t egw_job_invalid(char *errstr, size_t errstr_size, const char *path, const char *key,
                          const char *msg)
{
	egw_json_seterr(errstr, errstr_size, path, key, "%s", msg);
	return EGW_ERR_INVALID_REQUEST;
}

/* ---- source ---- */

#define F_LAYOUT(fl)                                                                          \
	{.name = "layout",                                                                     \
	 .types = EGW_JSON_T_STRING | EGW_JSON_T_OBJECT | EGW_F_OPT((fl) & REQ), .flags = (fl), \
	 .one_of = egw_job_layouts, .dest = EGW_JSON_DEST_STR,                                 \
	 .offset = offsetof(egw_job_t, source.layout)}
#define F_AV_ONLY                                                            \
	EGW_F_BOOL("audio_only", egw_job_t, source.audio_only),             \
	EGW_F_BOOL("video_only", egw_job_t, source.video_only)
#define F_COMPOSITE                                                          \
	F_AV_ONLY, EGW_F_STR("background", 0, 16, egw_job_t, source.background), \
	EGW_F_BOOL("labels", egw_job_t, source.labels),                          \
	EGW_F_ENUM("audio_mix", 0, audio_mixes, egw_job_t, source.audio_mix),    \
	EGW_F_STR("audio_mix_participant", 0, EGW_JOB_NAME_MAX, egw_job_t,       \
		  source.audio_mix_participant)

static const char *const audio_mixes[] = {"everyone", "dual_channel", "alternate", NULL};

static const egw_json_field_t source_kind_field[] = {
	EGW_F_CHOICE("kind", REQ, egw_job_source_kinds),
};
static const egw_json_field_t track_fields[] = {
	EGW_F_STR("participant", 0, EGW_JOB_NAME_MAX, egw_job_t, source.participant),
	EGW_F_CHOICE("media", 0, media_names),
	EGW_F_STR("track_id", 0, EGW_JOB_NAME_MAX, egw_job_t, source.track_id),
};
static const egw_json_field_t participant_fields[] = {
	EGW_F_STR("participant", REQ, EGW_JOB_NAME_MAX, egw_job_t, source.participant),
	F_AV_ONLY,
};
static const egw_json_field_t track_composite_fields[] = {
	EGW_F_STR("audio_track_id", 0, EGW_JOB_NAME_MAX, egw_job_t, source.audio_track_id),
	EGW_F_STR("video_track_id", 0, EGW_JOB_NAME_MAX, egw_job_t, source.video_track_id),
};
static const egw_json_field_t room_composite_fields[] = {F_LAYOUT(REQ), F_COMPOSITE};
static const egw_json_field_t render_fields[] = {
        EGW_F_STR("manifest", REQ, EGW_JOB_TEMPLATE_MAX, egw_job_t, source.manifest),
        F_LAYOUT(0),
        F_COMPOSITE,
        {.name = "trim_start_s", .types = EGW_JSON_T_NUMBER | EGW_JSON_T_NULL},
        {.name = "trim_end_s", .types = EGW_JSON_T_NUMBER | EGW_JSON_T_NULL},
};

/* A render's trim: seconds on the recording's timeline, end after start. */
static egw_err_t check_trim(const json_t *src, egw_job_t *job, char *errstr, size_t errstr_size)
{
	const json_t *a = egw_json_get(src, "trim_start_s"), *b = egw_json_get(src, "trim_end_s");
	job->source.trim_start_s = a ? json_number_value(a) : 0.0;
	job->source.trim_end_s = b ? json_number_value(b) : 0.0;
	if (job->source.trim_start_s < 0 || job->source.trim_start_s > 604800.0)
		return invalid(errstr, errstr_size, "source", "trim_start_s",
		               "must be between 0 and 604800");
	if (b && (job->source.trim_end_s <= job->source.trim_start_s ||
	          job->source.trim_end_s > 604800.0))
		return invalid(errstr, errstr_size, "source", "trim_end_s",
		               "must be after trim_start_s, at most 604800");
	return EGW_OK;
}
static const egw_json_field_t room_tracks_fields[] = {F_AV_ONLY};
static const egw_field_table_t source_tables[] = {
        [EGW_SOURCE_TRACK] = TABLE(track_fields),
        [EGW_SOURCE_PARTICIPANT] = TABLE(participant_fields),
        [EGW_SOURCE_TRACK_COMPOSITE] = TABLE(track_composite_fields),
        [EGW_SOURCE_ROOM_COMPOSITE] = TABLE(room_composite_fields),
        [EGW_SOURCE_RENDER] = TABLE(render_fields),
        [EGW_SOURCE_ROOM_TRACKS] = TABLE(room_tracks_fields),
};

/* "<publisher id>/<mid>", both parts non-empty. */
static int track_id_ok(const char *s)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	return slash && slash != s && slash[1] && !strchr(slash + 1, '/');
}

static int colour_ok(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return 0;
	for (int i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static egw_err_t check_track(const json_t *src, egw_job_t *job, char *errstr, size_t errstr_size)
{
	json_t *media = egw_json_get(src, "media");

	if (media)
		job->source.media =
			(egw_media_t)(egw_job_name_index(media_names, json_string_value(media)) + 1);
	if (job->source.track_id) {
		if (job->source.participant || media)
			return invalid(errstr, errstr_size, "source", "track_id",
				       "cannot be combined with source.participant or source.media");
		if (!track_id_ok(job->source.track_id))
			return invalid(errstr, errstr_size, "source", "track_id",
				       "must be <publisher id>/<mid>");
		return EGW_OK;
	}
	if (!job->source.participant)
		return invalid(errstr, errstr_size, "source", "participant",
			       "is required (or source.track_id)");
	if (!media)
		return invalid(errstr, errstr_size, "source", "media",
			       "is required with source.participant");
	return EGW_OK;
}

static egw_err_t check_source_ids(egw_job_t *job, char *errstr, size_t errstr_size)
{
	const char *audio = job->source.audio_track_id, *video = job->source.video_track_id;

	if (!audio && !video)
		return invalid(errstr, errstr_size, "source", "audio_track_id",
			       "is required (or source.video_track_id)");
	if (audio && !track_id_ok(audio))
		return invalid(errstr, errstr_size, "source", "audio_track_id",
			       "must be <publisher id>/<mid>");
	if (video && !track_id_ok(video))
		return invalid(errstr, errstr_size, "source", "video_track_id",
			       "must be <publisher id>/<mid>");
	return EGW_OK;
}

static egw_err_t check_av(egw_job_t *job, char *errstr, size_t errstr_size)
{
	int dual;

	if (job->source.audio_only && job->source.video_only)
		return invalid(errstr, errstr_size, "source", "video_only",
			       "cannot be combined with source.audio_only");
	if (job->source.background && !colour_ok(job->source.background))
		return invalid(errstr, errstr_size, "source", "background",
			       "must be a colour #RRGGBB");
	dual = job->source.audio_mix && !strcmp(job->source.audio_mix, "dual_channel");
	if (dual && !job->source.audio_mix_participant)
		return invalid(errstr, errstr_size, "source", "audio_mix_participant",
			       "is required with source.audio_mix dual_channel");
	if (!dual && job->source.audio_mix_participant)
		return invalid(errstr, errstr_size, "source", "audio_mix_participant",
			       "only goes with source.audio_mix dual_channel");
	return EGW_OK;
}

static egw_err_t parse_source(const json_t *src, egw_job_t *job, char *errstr, size_t errstr_size)
{
	int kind;
	egw_err_t err = egw_json_validate(src, "source", source_kind_field, 1, errstr, errstr_size);

	if (err)
		return err;
	kind = egw_job_name_index(egw_job_source_kinds,
				  json_string_value(json_object_get(src, "kind")));
	job->source.kind = (egw_source_kind_t)kind;
	err = egw_job_section(src, "source", source_tables[kind].fields, source_tables[kind].n, job, errstr,
		      errstr_size);
	if (err)
		return err;
	switch (job->source.kind) {
	case EGW_SOURCE_TRACK:
		return check_track(src, job, errstr, errstr_size);
	case EGW_SOURCE_TRACK_COMPOSITE:
		return check_source_ids(job, errstr, errstr_size);
	case EGW_SOURCE_RENDER:
		if ((err = check_trim(src, job, errstr, errstr_size)))
			return err;
		break;
	case EGW_SOURCE_PARTICIPANT:
	case EGW_SOURCE_ROOM_COMPOSITE:
	case EGW_SOURCE_ROOM_TRACKS:
		break;
	}
	return check_av(job, errstr, errstr_size);
}

/* ---- encoding ---- */

static const egw_json_field_t encoding_fields[] = {
	EGW_F_ENUM("preset", 0, preset_names, egw_encoding_t, preset),
	EGW_F_INT("width", 16, 7680, egw_encoding_t, width),
	EGW_F_INT("height", 16, 4320, egw_encoding_t, height),
	EGW_F_INT("fps", 1, 120, egw_encoding_t, fps),
	EGW_F_INT("video_bitrate_kbps", 50, 100000, egw_encoding_t, video_bitrate_kbps),
	EGW_F_INT("keyframe_interval_s", 1, 30, egw_encoding_t, keyframe_interval_s),
	EGW_F_INT("audio_bitrate_kbps", 8, 512, egw_encoding_t, audio_bitrate_kbps),
	{.name = "audio_sample_rate", .types = EGW_JSON_T_INT | EGW_JSON_T_NULL},
	EGW_F_ENUM("speed_preset", 0, speed_presets, egw_encoding_t, speed_preset),
};

int egw_job_sample_rate_ok(json_int_t rate)
{
	for (size_t i = 0; i < N(sample_rates); i++)
		if (rate == sample_rates[i])
			return 1;
	return 0;
}

static egw_err_t check_sample_rate(const json_t *v, egw_encoding_t *enc, char *errstr,
				   size_t errstr_size)
{
	if (v && egw_job_sample_rate_ok(json_integer_value(v))) {
		enc->audio_sample_rate = (int)json_integer_value(v);
		return EGW_OK;
	}
	return v ? invalid(errstr, errstr_size, "encoding", "audio_sample_rate",
			   "must be one of 8000, 12000, 16000, 24000, 32000, 44100, 48000")
		 : EGW_OK;
}

static egw_err_t parse_encoding(const json_t *obj, egw_encoding_t *enc, char *errstr,
				size_t errstr_size)
{
	egw_err_t err = SECTION(obj, "encoding", encoding_fields, enc);

	if (err)
		return err;
	/* A preset, or explicit fields: not both (entry 0 is "preset"). */
	for (size_t i = 1; enc->preset && i < N(encoding_fields); i++) {
		if (egw_json_get(obj, encoding_fields[i].name)) {
			egw_json_seterr(errstr, errstr_size, "encoding", encoding_fields[i].name,
					"cannot be combined with encoding.preset");
			return EGW_ERR_INVALID_REQUEST;
		}
	}
	if (enc->width && !enc->height)
		return invalid(errstr, errstr_size, "encoding", "height",
			       "is required with encoding.width");
	if (enc->height && !enc->width)
		return invalid(errstr, errstr_size, "encoding", "width",
			       "is required with encoding.height");
	if (enc->width % 2)
		return invalid(errstr, errstr_size, "encoding", "width", "must be even");
	if (enc->height % 2)
		return invalid(errstr, errstr_size, "encoding", "height", "must be even");
	return check_sample_rate(egw_json_get(obj, "audio_sample_rate"), enc, errstr, errstr_size);
}

/* ---- storage, limits, webhook ---- */

#define F_BUCKET EGW_F_STR("bucket", REQ, EGW_JOB_NAME_MAX, egw_storage_t, bucket)
#define F_ENDPOINT EGW_F_STR("endpoint", 0, EGW_JOB_URL_MAX, egw_storage_t, endpoint)

static const egw_json_field_t storage_kind_field[] = {
	EGW_F_CHOICE("kind", REQ, egw_job_storage_kinds),
};
static const egw_json_field_t local_fields[] = {
	EGW_F_STR("dir", 0, EGW_JOB_TEMPLATE_MAX, egw_storage_t, dir),
};
static const egw_json_field_t s3_fields[] = {
	F_BUCKET,
	EGW_F_STR("region", 0, 64, egw_storage_t, region),
	F_ENDPOINT,
	EGW_F_STR("access_key", SECRET, EGW_JOB_NAME_MAX, egw_storage_t, access_key),
	EGW_F_STR("secret_key", SECRET, EGW_JOB_NAME_MAX, egw_storage_t, secret_key),
	EGW_F_STR("session_token", SECRET, 8192, egw_storage_t, session_token),
	EGW_F_BOOL("path_style", egw_storage_t, path_style),
	EGW_F_STR("prefix", 0, EGW_JOB_TEMPLATE_MAX, egw_storage_t, prefix),
	EGW_F_INT("presign_s", 1, 604800, egw_storage_t, presign_s),
};
static const egw_json_field_t gcs_fields[] = {
	F_BUCKET,
	F_ENDPOINT,
	EGW_F_STR("access_key", SECRET, EGW_JOB_NAME_MAX, egw_storage_t, access_key),
	EGW_F_STR("secret_key", SECRET, EGW_JOB_NAME_MAX, egw_storage_t, secret_key),
	EGW_F_STR("prefix", 0, EGW_JOB_TEMPLATE_MAX, egw_storage_t, prefix),
	EGW_F_INT("presign_s", 1, 604800, egw_storage_t, presign_s),
	{.name = "credentials_json",
	 .types = EGW_JSON_T_STRING | EGW_JSON_T_OBJECT | EGW_JSON_T_NULL,
	 .flags = SECRET | EGW_JSON_NONEMPTY, .max_len = 65536, .dest = EGW_JSON_DEST_STR,
	 .offset = offsetof(egw_storage_t, credentials_json)},
};
static const egw_json_field_t azure_fields[] = {
	EGW_F_STR("account", REQ, EGW_JOB_NAME_MAX, egw_storage_t, account),
	EGW_F_STR("container", REQ, EGW_JOB_NAME_MAX, egw_storage_t, container),
	EGW_F_STR("account_key", SECRET, EGW_JOB_NAME_MAX, egw_storage_t, secret_key),
	F_ENDPOINT,
	EGW_F_STR("prefix", 0, EGW_JOB_TEMPLATE_MAX, egw_storage_t, prefix),
	EGW_F_INT("presign_s", 1, 604800, egw_storage_t, presign_s),
};
static const egw_field_table_t storage_tables[] = {
	[EGW_STORAGE_LOCAL] = TABLE(local_fields),
	[EGW_STORAGE_S3] = TABLE(s3_fields),
	[EGW_STORAGE_GCS] = TABLE(gcs_fields),
	[EGW_STORAGE_AZURE] = TABLE(azure_fields),
};

static egw_err_t check_storage(const egw_storage_t *st, char *errstr, size_t errstr_size)
{
	if (st->bucket && strchr(st->bucket, '/'))
		return invalid(errstr, errstr_size, "storage", "bucket", "must not contain /");
	if (st->endpoint && !egw_job_url_ok(st->endpoint, egw_job_http_schemes))
		return invalid(errstr, errstr_size, "storage", "endpoint",
			       "must be an http:// or https:// URL");
	if (st->kind == EGW_STORAGE_LOCAL)
		return EGW_OK;
	if (st->kind == EGW_STORAGE_GCS && st->credentials_json && st->access_key)
		return invalid(errstr, errstr_size, "storage", "credentials_json",
			       "give either HMAC keys (access_key, secret_key) or credentials_json");
	if (st->prefix && egw_job_key_prefix_problem(st->prefix))
		return invalid(errstr, errstr_size, "storage", "prefix",
			       egw_job_key_prefix_problem(st->prefix));
	if (st->container && strchr(st->container, '/'))
		return invalid(errstr, errstr_size, "storage", "container", "must not contain /");
	if (st->account && (strlen(st->account) < 3 || strlen(st->account) > 24 ||
			    strspn(st->account, "abcdefghijklmnopqrstuvwxyz0123456789") !=
				    strlen(st->account)))
		return invalid(errstr, errstr_size, "storage", "account",
			       "must be 3 to 24 lower-case letters and digits");
	if (st->kind == EGW_STORAGE_AZURE) /* (account_key is its secret_key) */
		return EGW_OK;
	if (st->access_key && !st->secret_key)
		return invalid(errstr, errstr_size, "storage", "secret_key",
			       "is required with storage.access_key");
	if (!st->access_key && (st->secret_key || st->session_token))
		return invalid(errstr, errstr_size, "storage", "access_key",
			       "is required with storage.secret_key and storage.session_token");
	return EGW_OK;
}

static egw_err_t parse_storage(const json_t *obj, egw_storage_t *st, char *errstr,
			       size_t errstr_size)
{
	int kind;
	egw_err_t err = egw_json_validate(obj, "storage", storage_kind_field, 1, errstr, errstr_size);

	if (err)
		return err;
	kind = egw_job_name_index(egw_job_storage_kinds,
				  json_string_value(json_object_get(obj, "kind"))) + 1;
	st->kind = (egw_storage_kind_t)kind;
	err = egw_job_section(obj, "storage", storage_tables[kind].fields, storage_tables[kind].n, st,
		      errstr, errstr_size);
	return err ? err : check_storage(st, errstr, errstr_size);
}

static const egw_json_field_t limits_fields[] = {
	EGW_F_INT("max_duration_s", 1, 604800, egw_job_t, limits.max_duration_s),
	EGW_F_INT("empty_room_timeout_s", 1, 86400, egw_job_t, limits.empty_room_timeout_s),
};
static const egw_json_field_t webhook_fields[] = {
	EGW_F_STR("url", REQ, EGW_JOB_URL_MAX, egw_job_t, webhook.url),
	EGW_F_STR("secret", SECRET, EGW_JOB_NAME_MAX, egw_job_t, webhook.secret),
};

static egw_err_t parse_webhook(const json_t *obj, egw_job_t *job, char *errstr,
			       size_t errstr_size)
{
	egw_err_t err = SECTION(obj, "webhook", webhook_fields, job);
	if (!err && !egw_job_url_ok(job->webhook.url, egw_job_http_schemes))
		return invalid(errstr, errstr_size, "webhook", "url",
			       "must be an http:// or https:// URL");
	return err;
}

/* ---- the whole job ---- */

static int is_render(const json_t *root)
{
	const char *kind =
	        json_string_value(json_object_get(json_object_get(root, "source"), "kind"));
	return kind && !strcmp(kind, "render");
}

egw_err_t egw_job_parse_start(const json_t *root, const char *egress_id, egw_job_t **out,
			      char *errstr, size_t errstr_size)
{
	egw_job_t *job = NULL;
	json_t *v;
	egw_err_t err;

	*out = NULL;
	/* room first, as when it was required of every kind */
	if (json_is_object(root) && !egw_json_get(root, "room") && !is_render(root)) {
		err = invalid(errstr, errstr_size, "", "room", "is required");
		goto fail;
	}
	err = egw_json_validate(root, "", start_fields, N(start_fields), errstr, errstr_size);
	if (err)
		goto fail;
	job = calloc(1, sizeof(*job));
	if (!job) {
		err = EGW_ERR_NOMEM;
		egw_json_seterr(errstr, errstr_size, NULL, NULL, "out of memory");
		goto fail;
	}
	snprintf(job->egress_id, sizeof(job->egress_id), "%s", egress_id);
	/* A render's room is its manifest's: room may be left out. */
	if ((v = egw_json_get(root, "room")))
		err = egw_job_parse_room(v, job, is_render(root), errstr, errstr_size);
	if (!err)
		err = parse_source(json_object_get(root, "source"), job, errstr, errstr_size);
	if (!err && (v = egw_json_get(root, "encoding")))
		err = parse_encoding(v, &job->encoding, errstr, errstr_size);
	if (!err)
		err = egw_job_parse_outputs(json_object_get(root, "outputs"), job, errstr, errstr_size);
	if (!err && (v = egw_json_get(root, "storage")))
		err = parse_storage(v, &job->storage, errstr, errstr_size);
	if (!err && (v = egw_json_get(root, "limits")))
		err = SECTION(v, "limits", limits_fields, job);
	if (!err && (v = egw_json_get(root, "webhook")))
		err = parse_webhook(v, job, errstr, errstr_size);
	if (err)
		goto fail;
	*out = job;
	return EGW_OK;
fail:
	egw_job_free(job);
	return err;
}

void egw_job_free(egw_job_t *job)
{
	if (!job)
		return;
	egw_job_free_room(job);
	free(job->source.participant);
	free(job->source.track_id);
	free(job->source.audio_track_id);
	free(job->source.audio_mix);
	free(job->source.audio_mix_participant);
	free(job->source.video_track_id);
	free(job->source.layout);
	free(job->source.background);
	free(job->source.manifest);
	free(job->encoding.preset);
	free(job->encoding.speed_preset);
	for (size_t i = 0; i < job->n_outputs; i++)
		egw_job_free_output(&job->outputs[i]);
	free(job->outputs);
	free(job->storage.dir);
	free(job->storage.bucket);
	free(job->storage.region);
	free(job->storage.endpoint);
	free(job->storage.container);
	free(job->storage.account);
	free(job->storage.access_key);
	free(job->storage.secret_key);
	free(job->storage.session_token);
	free(job->storage.prefix);
	free(job->storage.credentials_json);
	free(job->webhook.url);
	free(job->webhook.secret);
	free(job);
}
