/* Requests of the job contract (start, stop, update_layout, update_stream):
 * parsing and field-by-field validation with jansson, and path templates.
 * Pure module: no media headers. See docs/jobs.md.
 * locality: any thread; objects are not shared between threads. */
#ifndef EGW_JOB_H
#define EGW_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"
#include "base/media.h"

#define EGW_EGRESS_ID_MAX 64

typedef enum egw_request_type {
	EGW_REQ_START = 0,
	EGW_REQ_STOP,
	EGW_REQ_UPDATE_LAYOUT,
	EGW_REQ_UPDATE_STREAM,
} egw_request_type_t;

typedef enum egw_source_kind {
	EGW_SOURCE_TRACK = 0,
	EGW_SOURCE_PARTICIPANT,
	EGW_SOURCE_TRACK_COMPOSITE,
	EGW_SOURCE_ROOM_COMPOSITE,
	EGW_SOURCE_RENDER,
	EGW_SOURCE_ROOM_TRACKS, /* every track of the room, each in its own file */
} egw_source_kind_t;

typedef enum egw_output_kind {
	EGW_OUTPUT_FILE = 0,
	EGW_OUTPUT_STREAM,
	EGW_OUTPUT_SEGMENTS,
	EGW_OUTPUT_IMAGES,
	EGW_OUTPUT_WEBSOCKET,
} egw_output_kind_t;

typedef enum egw_file_format {
	EGW_FORMAT_NONE = 0,
	EGW_FORMAT_MP4,
	EGW_FORMAT_MKV,
	EGW_FORMAT_WEBM,
	EGW_FORMAT_OGG,
} egw_file_format_t;

typedef enum egw_storage_kind {
	EGW_STORAGE_DEFAULT = 0, /* absent in the request: worker default */
	EGW_STORAGE_LOCAL,
	EGW_STORAGE_S3,
	EGW_STORAGE_GCS,
	EGW_STORAGE_AZURE,
} egw_storage_kind_t;

typedef struct egw_output {
	egw_output_kind_t kind;
	/* file */
	egw_file_format_t format;
	char *path; /* template, e.g. "{room_id}/{egress_id}.mkv" */
	/* stream: secret (stream keys) */
	char **urls;
	size_t n_urls;
	int reconnect_window_s; /* 0: the default (30); also websocket */
	/* segments */
	char *prefix; /* also images */
	int segment_s;
	/* images */
	int every_s, width, height;
	/* websocket: url is secret (it may carry a token); headers: "Name:
	 * value" lines of the handshake, secret; PCM rate, channels */
	char *url;
	char **headers;
	size_t n_headers;
	int sample_rate, channels;
} egw_output_t;

typedef struct egw_encoding {
	char *preset; /* NULL when explicit fields are used */
	int width, height, fps;
	int video_bitrate_kbps, keyframe_interval_s;
	int audio_bitrate_kbps, audio_sample_rate;
	char *speed_preset;
} egw_encoding_t;

typedef struct egw_storage {
	egw_storage_kind_t kind;
	char *dir; /* local */
	char *bucket, *region, *endpoint, *container, *account;
	char *access_key, *secret_key, *session_token; /* secrets */
	char *credentials_json;                      /* gcs; secret */
	char *prefix;  /* s3: key prefix, "" when none */
	int presign_s; /* s3: presigned GET URLs valid this long in events; 0: none */
	int path_style;
} egw_storage_t;

/* A WHEP endpoint of a room (room.url, room.endpoints[]). */
typedef struct egw_job_endpoint {
	char *url;
	char *token;       /* bearer token; secret; NULL when none */
	char *participant; /* its name; NULL: the URL's last path segment */
} egw_job_endpoint_t;

typedef struct egw_job {
	char egress_id[EGW_EGRESS_ID_MAX + 1];
	struct {
		char *sfu;     /* "janus", "whep", "rtp" */
		char *url;
		char *room_id; /* as text; room_id_is_number says how it came */
		int room_id_is_number;
		char *pin;     /* secret; NULL when absent or null */
		/* rtp: one SDP per participant (room.sdp is sdps[0]); each
		 * holds its SRTP keys: secrets */
		char **sdps;
		size_t n_sdps;
		/* whep: one endpoint per participant (room.url and room.token
		 * are endpoints[0]) */
		egw_job_endpoint_t *endpoints;
		size_t n_endpoints;
	} room;
	struct {
		egw_source_kind_t kind;
		char *participant;    /* track, participant */
		egw_media_t media;    /* track */
		char *track_id;       /* track: "<publisher id>/<mid>" */
		int audio_only, video_only;
		char *audio_track_id, *video_track_id; /* track_composite */
		char *layout;         /* room_composite/render: name, or compact JSON of a custom object */
		char *background;
		int labels;
		char *audio_mix;      /* "everyone" (NULL too), "dual_channel", "alternate" */
		char *audio_mix_participant; /* dual_channel: the one on the left */
		char *manifest;       /* render */
		double trim_start_s, trim_end_s; /* render: 0, 0: the whole recording */
	} source;
	egw_encoding_t encoding;
	egw_output_t *outputs;
	size_t n_outputs;
	egw_storage_t storage;
	struct {
		int max_duration_s;      /* 0: worker default */
		int empty_room_timeout_s; /* 0: worker default */
	} limits;
	struct {
		char *url;
		char *secret; /* secret */
	} webhook;
} egw_job_t;

typedef struct egw_request {
	egw_request_type_t type;
	char egress_id[EGW_EGRESS_ID_MAX + 1];
	egw_job_t *job;         /* EGW_REQ_START */
	char *layout;           /* EGW_REQ_UPDATE_LAYOUT */
	char *reason;           /* EGW_REQ_STOP: NULL when not given */
	char **add_urls, **remove_urls; /* EGW_REQ_UPDATE_STREAM */
	size_t n_add_urls, n_remove_urls;
} egw_request_t;

/* Parses and validates one request (UTF-8 JSON object).
 * On success returns EGW_OK and *out (free with egw_request_free()).
 * On failure returns EGW_ERR_INVALID_REQUEST, *out NULL, and errstr names the
 * field and what is wrong, e.g. "outputs[0].format: must be one of mp4, mkv,
 * webm, ogg". egress_id_out (size >= EGW_EGRESS_ID_MAX+1, may be NULL) gets
 * the request's egress_id whenever it is present and valid, even if another
 * field fails, so the failure can be reported under that id; "" otherwise.
 * errstr never contains secret values. */
egw_err_t egw_request_parse(const char *text, size_t len, egw_request_t **out,
			    char *egress_id_out, char *errstr, size_t errstr_size);
void egw_request_free(egw_request_t *req);

/* Expands {room_id}, {egress_id}, {participant} and {time} (UTC,
 * 20261125T201500Z, from t) in tmpl. Fails with EGW_ERR_INVALID_REQUEST when
 * the result would escape the storage root (absolute, "..", empty segment)
 * or does not fit. */
egw_err_t egw_job_expand_path(const egw_job_t *job, const char *tmpl, time_t t,
			      char *out, size_t out_size, char *errstr, size_t errstr_size);

/* A track a room_tracks egress writes: what {track}, {media} and
 * {participant} expand to in its path. */
typedef struct egw_path_track {
	const char *track_id; /* "<publisher id>/<mid>" ('/' becomes '_') */
	const char *media;    /* "audio", "video" */
	const char *participant;
} egw_path_track_t;

egw_err_t egw_job_expand_track_path(const egw_job_t *job, const char *tmpl, time_t t,
                                    const egw_path_track_t *track, char *out, size_t out_size,
                                    char *errstr, size_t errstr_size);

const char *egw_source_kind2str(egw_source_kind_t kind);
const char *egw_file_format2str(egw_file_format_t fmt);
const char *egw_output_kind2str(egw_output_kind_t kind);
const char *egw_storage_kind2str(egw_storage_kind_t kind); /* "default" when absent */

#endif
