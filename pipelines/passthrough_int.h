/* The passthrough graph's parts, shared by graph_passthrough.c (the
 * branches: depayloading, parsing and re-timing each track onto the
 * egress's timeline) and passthrough_fill.c (what stands in for a stream:
 * over a quiet gap, before a stream's late first buffer, or from the start
 * for one that never came). Do not include outside these two.
 *
 * locality: see the fields; the streaming thread of a branch owns its
 * retiming state, the main context the rest, under the graph's lock where
 * both meet. */
#ifndef EGW_PASSTHROUGH_INT_H
#define EGW_PASSTHROUGH_INT_H

#include <gst/gst.h>

#include "pipelines/graph.h"
#include "pipelines/retime.h"

/* A stream of the participant's that has sent nothing at all while the
 * others have this much in the files (a camera off from the start): it is
 * ended, so that the outputs (which wait for every stream) write the
 * others, or, where an output cannot do without it (MP4 writes a track it
 * never had caps for as one no player reads), a made-up start stands in
 * for it (a black picture, silence) and the quiet stream's stand-ins go
 * on from there; either way what it sends later is not recorded. Until
 * then the others wait in the outputs' queues, which lose nothing for
 * EGW_OUTPUT_QUEUE_NS: a camera that starts a few seconds after the
 * microphone is recorded whole (in MP4 with a lead-in: egw_passthrough_lead_in). */
#define EGW_NEVER_CAME_NS (EGW_OUTPUT_QUEUE_NS - 2 * GST_SECOND)

/* What became of a stream that never came (branch.given_up). */
enum {
	NEVER_CAME_NO = 0,    /* it came, or it is not time yet */
	NEVER_CAME_ENDING,    /* its EOS is on the way */
	NEVER_CAME_ENDED,     /* EOS sent; nothing more passes */
	NEVER_CAME_STANDS_IN, /* a made-up start and stand-ins; only EOS passes */
	NEVER_CAME_WAITED,    /* waited for: no start could be made */
};

struct passthrough;

struct branch {
	struct passthrough *g;
	egw_media_t media;
	char codec[16];
	char track_id[256]; /* the track it takes now (main context, under lock) */
	int present;
	GstPad *sinkpad; /* the depayloader's: where source pads link */
	GstPad *srcpad;  /* the last parser's: retimed here */
	/* retiming state: this branch's streaming thread only */
	egw_restream_t rs;
	egw_retime_stream_t retime;
	GQueue held;            /* audio waiting for the video anchor */
	GstClockTime held_from; /* running time of the first held buffer */
	egw_opus_holes_t holes;
	/* under the graph's lock: the end of the gap last stood in for, for
	 * the streaming thread to move the Opus holes' state past; when the
	 * quiet began (output time; EGW_TS_NONE: not quiet); the stand-ins:
	 * the latest video key frame, the latest Opus TOC byte */
	uint64_t gap_end, quiet_from;
	GstBuffer *last_key;
	int has_toc;
	guint8 toc;
	/* NEVER_CAME_*: nothing came while the rest had EGW_NEVER_CAME_NS;
	 * told_late: what came after was logged (atomics) */
	gint given_up, told_late;
	int began; /* its first buffer went out (streaming thread: lead_in) */
};

struct passthrough {
	egw_session_t *s;
	GstBin *bin;
	const char *log_id;
	struct branch branches[2];
	size_t n_branches;
	GMutex lock; /* timeline; branch links */
	egw_timeline_t timeline;
	gint flowing; /* data reached a branch: no new branches */
	/* an MP4 output: its tracks begin at their first sample (set with
	 * the first branch, before any data flows) */
	int mp4;
	int finishing;
	guint quiet_tick; /* main context */
};

/* Streaming thread: b's first buffer, buf, goes out at t (see
 * passthrough_fill.c). */
void egw_passthrough_lead_in(struct branch *b, GstBuffer *buf, uint64_t t);
/* Main context, every QUIET_TICK_MS: stand-ins for quiet streams, and for
 * streams that never came. */
gboolean egw_passthrough_quiet_tick(gpointer user);
/* Main context, finishing: a made-up start stood in for up to the end. */
void egw_passthrough_stand_in_to_end(struct passthrough *g, struct branch *b);

#endif
