/* What stands in for a passthrough stream (see passthrough_int.h and the
 * top of graph_passthrough.c): over a gap while it is quiet, before its
 * first buffer when that comes late (an MP4 output), and from the start
 * when it never came. */
#include <stdio.h>

#include "base/log.h"
#include "pipelines/passthrough_int.h"

/* A key frame again at t for duration d: a still (its memory shared, not
 * copied). */
static GstBuffer *still(GstBuffer *key, uint64_t t, uint64_t d)
{
	GstBuffer *f = gst_buffer_copy(key);
	GST_BUFFER_FLAG_UNSET(f, GST_BUFFER_FLAG_DISCONT);
	GST_BUFFER_PTS(f) = GST_BUFFER_DTS(f) = t;
	GST_BUFFER_DURATION(f) = d;
	return f;
}

/* The stand-ins for the gap [from, to) of b (see the top), on a list
 * (NULL when it has none: a GAP event is all it gets); *end: where they
 * end. A made-up start's first stand-in (seconds of the others waiting in
 * the outputs' queues) goes in one-second pieces: mp4mux takes audio only
 * up to the latest video frame it has seen beyond the one before, so one
 * long frame would leave that audio waiting until the next stand-in, seconds
 * later, and the queue would overflow meanwhile. Under the graph's lock. */
static GSList *stand_ins(struct branch *b, uint64_t from, uint64_t to, uint64_t *end)
{
	GSList *l = NULL;

	*end = to;
	if (b->media == EGW_MEDIA_VIDEO && b->last_key) {
		uint64_t piece = to - from, t;
		if (!from && g_atomic_int_get(&b->given_up) == NEVER_CAME_STANDS_IN)
			piece = GST_SECOND;
		for (t = from; t < to; t += piece)
			l = g_slist_prepend(l, still(b->last_key, t, MIN(piece, to - t)));
		return g_slist_reverse(l);
	}
	if (b->media == EGW_MEDIA_AUDIO && b->has_toc) {
		uint64_t frame = egw_opus_frame_ns(b->toc), t;
		for (t = from; frame && t < to; t += frame)
			l = g_slist_prepend(l, egw_opus_empty_frame(b->toc, t));
		*end = t;
		return g_slist_reverse(l);
	}
	return NULL;
}

/* Main context: b never came and an output cannot begin without it (an
 * MP4 output): its stream is begun with a made-up first frame, which the
 * quiet stream's stand-ins then go on from (from the outputs' time 0: a
 * black picture held, silence). Its own data, should it come later, is
 * dropped (another encoder's parameters than the ones the outputs took).
 * When no start can be made, the stream is waited for, as before. */
static void stand_in_start(struct passthrough *g, struct branch *b)
{
	GstCaps *caps = NULL;
	GstBuffer *first = egw_made_up_frame(b->media, b->codec, &caps);
	GstPad *peer = gst_pad_get_peer(b->srcpad);
	GstSegment seg;
	guint8 toc;

	if (!first || !peer || gst_pad_has_current_caps(peer)) {
		EGW_LOG(g->log_id, WARN,
		        "no %s at all in the first %.0f s while the rest came: an MP4 output "
		        "cannot begin without it and waits; what the others send beyond %.0f s "
		        "before it comes is lost",
		        egw_media2str(b->media), (double)EGW_NEVER_CAME_NS / GST_SECOND,
		        (double)EGW_OUTPUT_QUEUE_NS / GST_SECOND);
		goto out;
	}
	g_mutex_lock(&g->lock);
	if (b->retime.last != EGW_TS_NONE) { /* it came meanwhile */
		g_mutex_unlock(&g->lock);
		goto out;
	}
	if (b->media == EGW_MEDIA_VIDEO) {
		gst_buffer_replace(&b->last_key, first);
	} else if (gst_buffer_extract(first, 0, &toc, 1) == 1) {
		b->toc = toc;
		b->has_toc = 1;
	}
	/* As if it had ended at time 0: the stand-ins cover it from there
	 * (quiet since 0, so no "no video since" line of its own). From now
	 * on its own data is dropped. */
	b->retime.last = b->retime.end = 0;
	b->quiet_from = 0;
	g_atomic_int_set(&b->given_up, NEVER_CAME_STANDS_IN);
	g_mutex_unlock(&g->lock);
	gst_pad_send_event(peer, gst_event_new_stream_start("egw-made-up-start"));
	gst_pad_send_event(peer, gst_event_new_caps(caps));
	gst_segment_init(&seg, GST_FORMAT_TIME);
	gst_pad_send_event(peer, gst_event_new_segment(&seg));
	EGW_LOG(g->log_id, WARN,
	        "no %s at all in the first %.0f s while the rest came: %s stands in for it "
	        "from the start (an MP4 output cannot begin without it; what it sends later "
	        "is not recorded)",
	        egw_media2str(b->media), (double)EGW_NEVER_CAME_NS / GST_SECOND,
	        b->media == EGW_MEDIA_VIDEO ? "a black picture" : "silence");
out:
	if (first)
		gst_buffer_unref(first);
	if (caps)
		gst_caps_unref(caps);
	if (peer)
		gst_object_unref(peer);
}

/* Main context: b never came; its stream is ended so the outputs go on
 * without it. */
static void end_never_came(struct passthrough *g, struct branch *b)
{
	EGW_LOG(g->log_id, WARN,
	        "no %s at all in the first %.0f s while the rest came: the files go on "
	        "without it (what it sends later is not recorded)",
	        egw_media2str(b->media), (double)EGW_NEVER_CAME_NS / GST_SECOND);
	gst_pad_push_event(b->srcpad, gst_event_new_eos());
	g_atomic_int_set(&b->given_up, NEVER_CAME_ENDED);
}

/* Stand-ins (from stand_ins, egw_passthrough_lead_in) chained into b's peer as the
 * streaming thread would push them: from the main context, the tee's
 * stream lock keeps the two apart (every output's queue is leaky, so this
 * does not wait); from the streaming thread, before the buffer it pushes. */
static void chain_fill(struct branch *b, GSList *fill)
{
	GstPad *peer = fill ? gst_pad_get_peer(b->srcpad) : NULL;
	GstFlowReturn fr = GST_FLOW_OK;

	for (GSList *l = fill; l; l = l->next)
		if (peer && fr == GST_FLOW_OK)
			fr = gst_pad_chain(peer, l->data);
		else
			gst_buffer_unref(l->data);
	g_slist_free(fill);
	if (peer)
		gst_object_unref(peer);
}

/* Main context, every QUIET_TICK_MS: the stand-ins for each stream that
 * has fallen behind the others (egw_retime_gap), chained into the
 * branch's peer (chain_fill). */
gboolean egw_passthrough_quiet_tick(gpointer user)
{
	struct passthrough *g = user;

	for (size_t i = 0; i < g->n_branches; i++) {
		struct branch *b = &g->branches[i];
		uint64_t from, to = 0, end = 0, quiet_from;
		GSList *fill = NULL;

		g_mutex_lock(&g->lock);
		if (!g->finishing && b->retime.last == EGW_TS_NONE &&
		    g->timeline.max_end > EGW_NEVER_CAME_NS &&
		    g_atomic_int_get(&b->given_up) == NEVER_CAME_NO) {
			int mp4 = g->mp4;
			g_atomic_int_set(&b->given_up, mp4 ? NEVER_CAME_WAITED : NEVER_CAME_ENDING);
			g_mutex_unlock(&g->lock);
			if (mp4)
				stand_in_start(g, b);
			else
				end_never_came(g, b);
			continue;
		}
		from = g->finishing ? EGW_TS_NONE : egw_retime_gap(&g->timeline, &b->retime, &to);
		quiet_from = b->quiet_from;
		if (from != EGW_TS_NONE) {
			fill = stand_ins(b, from, to, &end);
			b->gap_end = end;
			if (quiet_from == EGW_TS_NONE)
				b->quiet_from = from;
		}
		g_mutex_unlock(&g->lock);
		if (from == EGW_TS_NONE)
			continue;
		if (quiet_from == EGW_TS_NONE)
			EGW_LOG(g->log_id, INFO,
			        "no %s since %.1f s into the recording while the rest goes on: %s "
			        "stands in until it comes back",
			        egw_media2str(b->media), (double)from / GST_SECOND,
			        !fill                         ? "a gap"
			        : b->media == EGW_MEDIA_VIDEO ? "its last key frame"
			                                      : "silence");
		if (!fill) {
			gst_pad_push_event(b->srcpad, gst_event_new_gap(from, to - from));
			continue;
		}
		chain_fill(b, fill);
	}
	return G_SOURCE_CONTINUE;
}

/* Main context, finishing: a stream begun with a made-up start is stood in
 * for up to the others' end, so that its track ends with them. */
void egw_passthrough_stand_in_to_end(struct passthrough *g, struct branch *b)
{
	GSList *fill = NULL;
	uint64_t end;

	g_mutex_lock(&g->lock);
	if (g_atomic_int_get(&b->given_up) == NEVER_CAME_STANDS_IN &&
	    g->timeline.max_end > b->retime.end) {
		fill = stand_ins(b, b->retime.end, g->timeline.max_end, &end);
		b->retime.end = end;
	}
	g_mutex_unlock(&g->lock);
	chain_fill(b, fill);
}

/* Streaming thread: b's first buffer, buf, goes out at t. With an MP4
 * output a track begins at its first sample (see retime.h): a stream
 * whose first buffer comes after the file's time 0 (a camera that came
 * after the audio stopped waiting for it, a microphone that came after
 * the camera) would be early by that much for the whole file. What stands
 * in for it from 0 goes first: a copy of this first (key) frame, held, or
 * empty Opus frames (silence) ending where it begins. */
void egw_passthrough_lead_in(struct branch *b, GstBuffer *buf, uint64_t t)
{
	GSList *fill = NULL;
	guint8 toc;

	if (b->began)
		return;
	b->began = 1;
	if (!t || !b->g->mp4)
		return;
	if (b->media == EGW_MEDIA_VIDEO &&
	    !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT)) {
		fill = g_slist_prepend(fill, still(buf, 0, t));
	} else if (b->media == EGW_MEDIA_AUDIO && b->holes.opus &&
	           gst_buffer_extract(buf, 0, &toc, 1) == 1) {
		uint64_t frame = egw_opus_frame_ns(toc);
		for (uint64_t k = frame ? t / frame : 0; k > 0; k--)
			fill = g_slist_prepend(fill, egw_opus_empty_frame(toc, t - k * frame));
		fill = g_slist_reverse(fill);
	}
	if (!fill && t >= 20 * GST_MSECOND)
		EGW_LOG(b->g->log_id, WARN,
		        "%s began %.2f s into the recording with nothing to stand in before it; "
		        "an MP4 player may play it that much early",
		        egw_media2str(b->media), (double)t / GST_SECOND);
	if (!fill)
		return;
	EGW_LOG(b->g->log_id, INFO, "%s began %.2f s into the recording: %s stands in before it",
	        egw_media2str(b->media), (double)t / GST_SECOND,
	        b->media == EGW_MEDIA_VIDEO ? "its first picture" : "silence");
	chain_fill(b, fill);
}
