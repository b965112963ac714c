/* What the session's two files share: session.c (the pipeline, its bus,
 * the graph, the life cycle) and session_outputs.c (the outputs: their
 * feeds from the streams' tees, first byte, end and failure, what they
 * report). Main context unless a function says otherwise. */
#ifndef EGW_SESSION_INT_H
#define EGW_SESSION_INT_H

#include "base/life.h"
#include "pipelines/graph.h"
#include "pipelines/output.h"
#include "pipelines/session.h"

struct out {
	egw_session_t *s;
	size_t index;
	const egw_output_plan_t *plan;
	const egw_output_ops_t *ops;
	egw_output_t *o;
	GstElement *bin;
	GSList *feeds;  /* tee request pads feeding it */
	GSList *queues; /* its queues (after the tees): errors there are its own */
	int failed, finished, wrote;
	egw_err_t err;
	char errmsg[256];
};

struct egw_session {
	egw_media_plan_t plan;
	char *log_id;
	GstElement *pipeline;
	guint bus_watch;
	egw_life_t *life;
	const egw_graph_ops_t *gops;
	egw_graph_t *graph;
	struct out outs[EGW_SESSION_OUTPUTS_MAX]; /* the plan's, then per-track ones */
	size_t n_outs;
	egw_session_events_t ev;
	void *opaque;
	gint first_media;
	int finishing, done;
	egw_flow_t *flow; /* what reaches the outputs (flow.h) */
};

/* The session's end, once every output finished (or the egress is
 * finishing and none runs) or all of them failed. */
void egw_session_check_done(egw_session_t *s);
/* Output o failed: cut off from the tees, reported; the others go on. */
void egw_session_fail_output(egw_session_t *s, struct out *o, egw_err_t err, const char *msg);
/* The output whose bin (or feeding queue) holds src; NULL when none. */
struct out *egw_session_output_of(egw_session_t *s, GstObject *src);
/* Creates output i from its plan and adds it to the pipeline. */
egw_err_t egw_session_add_output(egw_session_t *s, size_t i, const egw_output_plan_t *op,
                                 char *errstr, size_t errstr_size);

#endif
