/* The media plan: what one egress builds, decided before anything is
 * built (job/plan.c turns a request into it). Plain data, no media
 * headers.
 * locality: built once, read-only afterwards. */
#ifndef EGW_PLAN_H
#define EGW_PLAN_H

#include <stddef.h>
#include <stdint.h>

#define EGW_PLAN_OUTPUTS_MAX 16
/* Outputs of one session: the plan's, and a file per track for an egress
 * that records every track of a room in its own file (room_tracks). */
#define EGW_SESSION_OUTPUTS_MAX 256

typedef enum egw_graph_kind {
	EGW_GRAPH_PASSTHROUGH = 0, /* tracks as they arrive, no transcoding */
	EGW_GRAPH_COMPOSITE,       /* decoded, laid out, mixed, encoded once */
	EGW_GRAPH_RENDER,          /* recorded files composited, as fast as it goes */
	EGW_GRAPH_TRACKS,          /* every track as it arrives, each in its own file */
} egw_graph_kind_t;

/* How a graph that transcodes encodes (one rendition). */
typedef struct egw_encode_plan {
	const char *video_codec; /* "h264", "vp8"; NULL: no video */
	const char *audio_codec; /* "aac", "opus"; NULL: no audio */
	int width, height, fps;
	int video_kbps, keyframe_s;
	const char *speed_preset; /* x264's, e.g. "veryfast" */
	int audio_kbps, sample_rate;
	/* Also hand the mix on decoded (codec "pcm"), for outputs that take
	 * raw audio (websocket); audio_codec may then be NULL. */
	int pcm;
	/* Not live (a render): the encoder may buffer frames for throughput
	 * (x264 without its zero-latency tuning). */
	int offline;
} egw_encode_plan_t;

/* What a composite shows and mixes (compositor/compositor.h). */
typedef struct egw_composite_plan {
	const char *layout;  /* a layout name or custom layout JSON */
	uint32_t background; /* 0xRRGGBB */
	int labels;
	int mix_mode;                /* egw_mix_mode_t */
	const char *mix_participant; /* dual channel */
	const char *track_ids[2];    /* track composite: just these; else NULL */
	int single; /* no layout: the video on the whole canvas, the audio as is
		     * (track composites; participants and tracks transcoded) */
} egw_composite_plan_t;

/* A recorded track a render places on its timeline. */
typedef struct egw_render_track {
	const char *path;     /* a local file holding the track (one stream of its media) */
	const char *track_id; /* "<participant id>/<mid>" */
	const char *participant_id, *participant_name;
	int media;               /* egw_media_t */
	int screen;              /* video: a screen share */
	double offset_s;         /* where the file's time 0 is on the timeline */
	const double *published; /* start_s, end_s pairs on the timeline */
	size_t n_published;
} egw_render_track_t;

typedef struct egw_render_plan {
	const egw_render_track_t *tracks;
	size_t n_tracks;
	double start_s, end_s; /* the part of the timeline rendered (trim) */
} egw_render_plan_t;

typedef enum egw_container {
	EGW_CONTAINER_NONE = 0,
	EGW_CONTAINER_MKV,
	EGW_CONTAINER_WEBM,
	EGW_CONTAINER_MP4, /* fragmented: playable however the process ends */
	EGW_CONTAINER_OGG,
} egw_container_t;

typedef struct egw_output_plan {
	const char *name; /* "outputs[0]": names the output in messages */
	const char *kind; /* the output's ops (pipelines/output.h): "file" */
	egw_container_t container;
	int fd;               /* file: where to write, created by the job */
	const char *location; /* file: where it is, as reported */
	char *const *urls;    /* stream: destinations (secret: they hold keys) */
	const char *url;      /* websocket: where (secret: it may hold a token) */
	char *const *headers; /* websocket: "Name: value" lines (secret) */
	size_t n_headers;
	int sample_rate, channels; /* websocket: the PCM it sends */
	size_t n_urls;
	int reconnect_window_s; /* stream, websocket: how long a lost one is retried */
	int segment_s;          /* segments: target length (location: the playlist) */
	int every_s;            /* images: cadence (location: the first image) */
	int width, height;      /* images: size, 0 = the canvas's */
} egw_output_plan_t;

typedef struct egw_media_plan {
	egw_graph_kind_t graph;
	egw_encode_plan_t encode;       /* EGW_GRAPH_COMPOSITE */
	egw_composite_plan_t composite; /* EGW_GRAPH_COMPOSITE */
	const egw_render_plan_t *render; /* EGW_GRAPH_RENDER */
	const char *log_id; /* egress id for log lines */
	egw_output_plan_t outputs[EGW_PLAN_OUTPUTS_MAX];
	size_t n_outputs;
} egw_media_plan_t;

/* "mkv", "webm", "mp4", "ogg". */
const char *egw_container2str(egw_container_t c);

#endif
