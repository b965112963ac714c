/* Graphs: what turns a source's tracks into an egress's streams
 * (passthrough now; composite and transcode next), behind one const ops
 * table. A graph builds its elements in the session's bin and hands every
 * stream it makes to the session (egw_session_add_stream), which fans it
 * out to the outputs. Private to pipelines/.
 * locality: job main context, except track_pad (a streaming thread). */
#ifndef EGW_GRAPH_H
#define EGW_GRAPH_H

#include <gst/gst.h>

#include "base/err.h"
#include "pipelines/plan.h"
#include "pipelines/session.h"
#include "sfu/source.h"

typedef struct egw_graph egw_graph_t;

typedef struct egw_graph_ops {
	const char *name;
	egw_graph_t *(*create)(egw_session_t *s, GstBin *bin, const egw_media_plan_t *plan,
			       char *errstr, size_t errstr_size);
	/* A track is coming: build what it needs, before its pad. Errors:
	 * EGW_ERR_NOT_SUPPORTED when the graph cannot take it now (the egress
	 * goes on without it); others fail the egress. */
	egw_err_t (*track_added)(egw_graph_t *g, const egw_track_t *t, char *errstr,
				 size_t errstr_size);
	void (*track_pad)(egw_graph_t *g, const egw_track_t *t, GstPad *pad);
	void (*track_removed)(egw_graph_t *g, const egw_track_t *t);
	/* EOS down every stream. Returns 0 when there was nothing to end. */
	int (*finish)(egw_graph_t *g);
	double (*duration_s)(egw_graph_t *g);
	/* How long output i is, when outputs differ (a file per track); NULL:
	 * every output is duration_s long. */
	double (*output_duration_s)(egw_graph_t *g, size_t i);
	/* Switches the layout (text: a name or custom layout JSON) at the
	 * next frame. NULL for graphs without layouts. */
	egw_err_t (*update_layout)(egw_graph_t *g, const char *layout, char *errstr,
				   size_t errstr_size);
	/* An error was raised by obj: returns 1 when the graph took care of
	 * it (e.g. dropped one participant's input; the egress goes on), 0 to
	 * let it fail the egress. NULL: never handled. */
	int (*element_error)(egw_graph_t *g, GstObject *obj, const char *message);
	void (*free)(egw_graph_t *g);
} egw_graph_ops_t;

extern const egw_graph_ops_t egw_graph_passthrough;
extern const egw_graph_ops_t egw_graph_composite;
extern const egw_graph_ops_t egw_graph_render;
extern const egw_graph_ops_t egw_graph_tracks;

/* ---- what the session offers graphs (pipelines/session_outputs.c) ---- */

/* How much a live output's queue holds (running time) before it drops its
 * oldest data, so that a slow output does not hold up the others. */
#define EGW_OUTPUT_QUEUE_NS (10 * GST_SECOND)
/* A stream of the egress, leaving at srcpad (an element of the session's
 * bin): tees it to every output, each through its own queue. Call before
 * data flows on srcpad. EGW_ERR_INVALID_REQUEST when an output cannot hold
 * it. */
egw_err_t egw_session_add_stream(egw_session_t *s, egw_media_t media, const char *codec,
				 GstPad *srcpad, char *errstr, size_t errstr_size);
/* Does any output need streams anchored on the first video frame
 * (fragmented MP4 drops each track's start offset, see retime.h)? */
int egw_session_anchor_video(const egw_session_t *s);
const char *egw_session_log_id(const egw_session_t *s);

/* ---- helpers for every graph (graph_chain.c) ---- */

/* A source pad no branch takes (any more): its data is dropped, not
 * refused (not-linked would be an error in the source), until the pad is
 * linked again, when the probe goes. Any thread. */
void egw_graph_swallow(GstPad *pad);
/* What comes into queue (a branch behind a tee) is dropped once its
 * output failed for good (a sink's fatal flow error): the error stays in
 * the branch, which the main loop cuts off when the error message reaches
 * it, instead of going back up the tee and stopping every branch. */
void egw_graph_guard_queue(GstElement *queue);
/* Logs the wall-clock time of media time 0 (running time t0 of the
 * pipeline pad's parent is in), to align a recording with other clocks:
 * the room's events, other recordings, a publisher's own log. Any thread. */
void egw_graph_log_time_zero(const char *log_id, GstPad *pad, GstClockTime t0);

/* ---- shared by the graphs that keep tracks as they came (graph_chain.c) ---- */

/* The events of a stream re-timed onto an egress's one timeline on its
 * way to the outputs (one streaming thread): the input's segment is kept
 * (in_seg: for running times) and one fresh TIME segment goes on instead,
 * once; one stream-start; caps only when they change; no flush (a
 * departing SFU session must not reset a muxer). */
typedef struct egw_restream {
	GstSegment in_seg; /* format UNDEFINED before the first */
	int sent_segment, sent_stream_start;
	GstCaps *last_caps;
} egw_restream_t;

void egw_restream_init(egw_restream_t *r);
/* The running time of ts in the input's segment; ts itself before a TIME
 * segment came. */
GstClockTime egw_restream_running(const egw_restream_t *r, GstClockTime ts);
/* The probe's answer for the event in info: passed, dropped, or replaced
 * (the fresh segment). */
GstPadProbeReturn egw_restream_event(egw_restream_t *r, GstPadProbeInfo *info);
/* The segments only (every other event passes): for inputs whose other
 * events are their own (a render's files). */
GstPadProbeReturn egw_restream_segment(egw_restream_t *r, GstPadProbeInfo *info);
void egw_restream_clear(egw_restream_t *r);

/* An Opus stream on its way to the outputs kept contiguous (retime.h,
 * egw_audio_place): holes (frames lost and not resent, or never sent:
 * DTX) filled with empty frames, jitter absorbed, overlaps dropped. */
typedef struct egw_opus_holes {
	int opus;         /* the stream is Opus: otherwise nothing is done */
	uint64_t next;    /* output time the next frame is due at */
	uint64_t filled;  /* empty frames put in */
	uint64_t dropped; /* packets dropped as overlapping */
} egw_opus_holes_t;

void egw_opus_holes_init(egw_opus_holes_t *h, const char *codec);
/* One empty Opus frame (a TOC byte alone, the frame size of toc: decoders
 * conceal it as lost, fading to silence) at output time t. */
GstBuffer *egw_opus_empty_frame(guint8 toc, uint64_t t);
/* The first frame of a made-up start for a stream that never came, and
 * its caps (*caps, the caller's): a black H.264 key frame (320x180), or
 * an Opus frame of silence (its TOC is what empty frames are then made
 * from). NULL when it cannot be made (another codec). An encoder run over
 * one small frame on the calling thread: milliseconds. */
GstBuffer *egw_made_up_frame(egw_media_t media, const char *codec, GstCaps **caps);
/* Before the buffer buf leaves pad at output time t: for an Opus stream,
 * the hole since the one before filled (empty frames chained into pad's
 * peer); returns the time to stamp buf with (t for other streams), or
 * EGW_TS_NONE when buf must be dropped. Its streaming thread. */
uint64_t egw_opus_place(egw_opus_holes_t *h, GstPad *pad, GstBuffer *buf, uint64_t t,
                        const char *log_id);

/* factory made and added to bin; NULL with errstr ("GStreamer element X
 * is missing"). */
GstElement *egw_graph_make(GstBin *bin, const char *factory, char *errstr, size_t errstr_size);
/* A track's RTP made into its codec's stream without decoding: the
 * codec's depayloader (asking for key frames and waiting for one) and its
 * parser when it has one, added to bin and linked; *first (the
 * depayloader) and *last (the parser, or the depayloader). On failure
 * nothing stays in bin: EGW_ERR_NOT_SUPPORTED (no depayloader for codec)
 * or EGW_ERR_MEDIA, with errstr. */
egw_err_t egw_graph_depay_chain(GstBin *bin, const char *codec, GstElement **first,
                                GstElement **last, char *errstr, size_t errstr_size);

/* ---- shared by the graphs that composite (composite_input.c) ---- */

/* Scaling and fitting of a compositor pad (video inputs, placeholders). */
void egw_composite_video_pad(GstPad *mixpad);
/* A placeholder's text (Pango markup): the initials, and the name under
 * them when label is not NULL; free with g_free(). */
char *egw_composite_placeholder_markup(const char *initials, const char *label);

#endif
