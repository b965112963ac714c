/* The render graph's parts, shared by graph_render.c (the graph: the
 * canvas, the mix, the encoders, the schedule) and render_inputs.c (a
 * decoding branch per recorded track, retimed onto the output's timeline,
 * its scene applied by control bindings; placeholders). Do not include
 * outside these two. */
#ifndef EGW_RENDER_INT_H
#define EGW_RENDER_INT_H

#include "compositor/compositor.h"
#include "pipelines/encode.h"
#include "pipelines/graph.h"

struct render;

struct rinput {
	struct render *g;
	const egw_render_track_t *t;
	const egw_schedule_lane_t *lane;
	GstElement *els[6]; /* filesrc, decodebin, then the branch */
	size_t n_els;
	GstPad *mixpad;
	/* streaming threads (the decoder's, one at a time) */
	egw_restream_t rs; /* its segment */
	gint64 shift_ns; /* file running time -> output time */
	GstClockTime next_ns;
	int linked, bound, ended, eos_sent;
};

struct render {
	egw_session_t *s;
	GstBin *bin;
	const char *log_id;
	egw_encode_plan_t enc;
	egw_composite_plan_t cp;
	const egw_render_plan_t *rp;
	egw_schedule_t *sched;
	GstClockTime span_ns;
	GstElement *vmix, *amix;
	GPtrArray *sources; /* background, silence, placeholders: ended by finish() */
	struct rinput *inputs;
	size_t n_inputs;
	gint stopping;
	GMutex lock;
	GstClockTime reached_ns; /* output time mixed so far (under lock) */
};

/* render_inputs.c */
/* The branch of input in (in->t, in->lane set): file -> decodebin ->
 * [label] or [convert] -> a new pad of its mixer, retimed on the way. */
egw_err_t egw_render_input_build(struct render *g, struct rinput *in, char *errstr,
				 size_t errstr_size);
/* Ends an input's branch where it is (the mixer would wait for it). */
void egw_render_end_branch(struct rinput *in);
/* A participant without video (lane l): initials on a colour, as long as
 * the span. */
egw_err_t egw_render_placeholder(struct render *g, const egw_schedule_lane_t *l, char *errstr,
				 size_t errstr_size);

#endif
