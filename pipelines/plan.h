/* The media plan: what one egress builds, decided before anything is
 * built (job/plan.c turns a request into it). Plain data, no media
 * headers.
 * locality: built once, read-only afterwards. */
#ifndef EGW_PLAN_H
#define EGW_PLAN_H

#include <stddef.h>

#define EGW_PLAN_OUTPUTS_MAX 16

typedef enum egw_graph_kind {
	EGW_GRAPH_PASSTHROUGH = 0, /* tracks as they arrive, no transcoding */
} egw_graph_kind_t;

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
} egw_output_plan_t;

typedef struct egw_media_plan {
	egw_graph_kind_t graph;
	const char *log_id; /* egress id for log lines */
	egw_output_plan_t outputs[EGW_PLAN_OUTPUTS_MAX];
	size_t n_outputs;
} egw_media_plan_t;

/* "mkv", "webm", "mp4", "ogg". */
const char *egw_container2str(egw_container_t c);

#endif
