/* Passthrough graph (track and participant egresses): each track is
 * depayloaded and parsed, never decoded, re-timed onto the egress's one
 * timeline (pipelines/retime.h) and handed to the outputs as it is. One
 * branch per media kind; a participant who leaves and publishes again
 * continues the same branches (a gap, not a new file).
 *
 * Muxers need every stream before data flows: branches are built when
 * their tracks are announced (track_added comes before any pad), and a
 * media kind that first appears after data flowed is not taken. They also
 * interleave by time and wait for data on every stream (GAP events do not
 * move matroskamux or mp4mux): a stream gone quiet (a camera that stopped
 * sending, a track unpublished for a while) would hold the others up in
 * the outputs' queues until those dropped them. A tick of the main context
 * finds such a stream (egw_retime_gap) and puts a stand-in over its gap:
 * for video, its last key frame again (a still of what was last seen), for
 * Opus, empty frames (silence); so the other streams go on into the
 * files (passthrough_fill.c). */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/passthrough_int.h"

GST_DEBUG_CATEGORY_STATIC(egw_passthrough_debug);
#define GST_CAT_DEFAULT egw_passthrough_debug

/* How much audio (in its own time) waits for the first video frame when
 * an output needs both to start together (fragmented MP4) before it
 * starts without it. */
#define ANCHOR_WAIT_NS (2 * GST_SECOND)
/* How often quiet streams are looked for. */
#define QUIET_TICK_MS 250

static struct branch *branch_for(struct passthrough *g, egw_media_t media)
{
	for (size_t i = 0; i < g->n_branches; i++)
		if (g->branches[i].media == media)
			return &g->branches[i];
	return NULL;
}

/* ---- retiming (streaming thread of the branch) ---- */

static GstPadProbeReturn on_event(struct branch *b, GstPadProbeInfo *info);
static int release_held(struct branch *b, GstPad *pad, int give_up);

static GstClockTime running_time(struct branch *b, GstBuffer *buf)
{
	/* PTS is the jitter buffer's smoothed, lip-synced time; DTS is the raw
	 * arrival time of the packet and would carry network jitter. */
	GstClockTime ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
	return egw_restream_running(&b->rs, ts);
}

/* Would buf still wait for the video anchor? (No state changes.) */
static int retime_peek_waits(struct branch *b)
{
	int waits;
	g_mutex_lock(&b->g->lock);
	waits = egw_timeline_waits(&b->g->timeline,
				   b->media == EGW_MEDIA_AUDIO ? EGW_RETIME_AUDIO : 0);
	g_mutex_unlock(&b->g->lock);
	return waits;
}

/* What stands in for the stream over a gap (see the top): its latest key
 * frame, its Opus TOC. Under the graph's lock. */
static void keep_stand_in(struct branch *b, GstBuffer *buf)
{
	if (b->media == EGW_MEDIA_VIDEO && !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
		gst_buffer_replace(&b->last_key, buf);
	else if (b->holes.opus && gst_buffer_extract(buf, 0, &b->toc, 1) == 1)
		b->has_toc = 1;
}

/* Maps buf onto the timeline: returns its output time, EGW_TS_NONE to drop
 * it, or EGW_TS_WAIT (audio before the video anchor); *rt_out gets its
 * running time. */
static uint64_t retime(struct branch *b, GstBuffer *buf, int give_up, GstClockTime *rt_out)
{
	struct passthrough *g = b->g;
	GstClockTime rt = running_time(b, buf);
	int flags = (b->media == EGW_MEDIA_AUDIO ? EGW_RETIME_AUDIO : 0) |
		    (give_up ? EGW_RETIME_GIVE_UP : 0);
	uint64_t out, back, t0 = EGW_TS_NONE, gap_end, quiet_from;
	int had_t0;

	*rt_out = rt;
	if (!GST_CLOCK_TIME_IS_VALID(rt))
		return EGW_TS_NONE;
	g_mutex_lock(&g->lock);
	if (g_atomic_int_get(&b->given_up) == NEVER_CAME_STANDS_IN) {
		g_mutex_unlock(&g->lock); /* (came as the start was made up) */
		return EGW_TS_NONE;
	}
	had_t0 = g->timeline.t0 != EGW_TS_NONE;
	back = egw_retime(&g->timeline, &b->retime, rt,
			  GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0, flags,
			  &out);
	if (!had_t0)
		t0 = g->timeline.t0; /* this buffer set it (still none when it waits) */
	gap_end = b->gap_end;
	quiet_from = b->quiet_from;
	if (out != EGW_TS_NONE && out != EGW_TS_WAIT) {
		b->quiet_from = EGW_TS_NONE;
		keep_stand_in(b, buf);
	}
	g_mutex_unlock(&g->lock);
	/* Audio after an announced gap: its holes are counted from the gap's
	 * end (the muxers were told nothing comes before it). */
	if (gap_end != EGW_TS_NONE && b->holes.next != EGW_TS_NONE && b->holes.next < gap_end)
		b->holes.next = gap_end;
	if (quiet_from != EGW_TS_NONE && out != EGW_TS_NONE && out != EGW_TS_WAIT)
		EGW_LOG(g->log_id, INFO, "%s again after %.1f s without it",
		        egw_media2str(b->media), (double)(out - quiet_from) / GST_SECOND);
	if (t0 != EGW_TS_NONE)
		egw_graph_log_time_zero(g->log_id, b->srcpad, t0);
	if (back && (b->retime.clamped + b->retime.dropped) % 100 == 1)
		EGW_LOG(g->log_id, DEBUG, "%s timestamps went back %.1f ms; %s",
			egw_media2str(b->media), (double)back / GST_MSECOND,
			out == EGW_TS_NONE ? "dropped" : "clamped");
	return out;
}

static GstBuffer *stamp(GstBuffer *buf, uint64_t t)
{
	buf = gst_buffer_make_writable(buf);
	GST_BUFFER_PTS(buf) = t;
	GST_BUFFER_DTS(buf) = t;
	return buf;
}

/* Sends held audio on, oldest first, once the anchor is known (or when
 * giving up). Runs on the branch's streaming thread, before the buffer
 * being pushed: chained straight into the peer, as that push would.
 * Returns 0 when the anchor is still unknown (everything stays held). */
static int release_held(struct branch *b, GstPad *pad, int give_up)
{
	GstPad *peer;
	GstClockTime rt;
	GstBuffer *buf;

	if (!b->held.length)
		return 1;
	if (!give_up && retime_peek_waits(b))
		return 0;
	peer = gst_pad_get_peer(pad);
	while ((buf = g_queue_pop_head(&b->held))) {
		uint64_t t = retime(b, buf, give_up, &rt);
		if (t != EGW_TS_NONE && t != EGW_TS_WAIT && peer)
			t = egw_opus_place(&b->holes, pad, buf, t, b->g->log_id);
		if (t == EGW_TS_NONE || t == EGW_TS_WAIT || !peer) {
			gst_buffer_unref(buf);
			continue;
		}
		egw_passthrough_lead_in(b, buf, t);
		gst_pad_chain(peer, stamp(buf, t));
	}
	if (peer)
		gst_object_unref(peer);
	return 1;
}

static GstPadProbeReturn retime_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct branch *b = user;
	GstClockTime rt;
	GstBuffer *buf;
	uint64_t t;
	int given_up;

	given_up = g_atomic_int_get(&b->given_up);
	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstEventType type = GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info));
		if (given_up == NEVER_CAME_ENDED ||
		    (given_up == NEVER_CAME_STANDS_IN && type != GST_EVENT_EOS))
			return GST_PAD_PROBE_DROP;
		return on_event(b, info);
	}
	buf = GST_PAD_PROBE_INFO_BUFFER(info);
	if (given_up == NEVER_CAME_ENDING || given_up == NEVER_CAME_ENDED ||
	    given_up == NEVER_CAME_STANDS_IN) {
		if (g_atomic_int_compare_and_exchange(&b->told_late, 0, 1))
			EGW_LOG(b->g->log_id, WARN,
			        "%s came after its stream was %s (it sent nothing at first); "
			        "not in this recording",
			        egw_media2str(b->media),
			        given_up == NEVER_CAME_STANDS_IN ? "begun without it" : "ended");
		return GST_PAD_PROBE_DROP;
	}
	if (b->held.length && !release_held(b, pad, 0)) {
		/* Still no video: hold this one too, up to a limit. */
		rt = running_time(b, buf);
		if (!GST_CLOCK_TIME_IS_VALID(rt) || rt <= b->held_from + ANCHOR_WAIT_NS) {
			g_queue_push_tail(&b->held, gst_buffer_ref(buf));
			return GST_PAD_PROBE_DROP; /* our reference lives on in held */
		}
		release_held(b, pad, 1); /* waited long enough: start without video */
	}
	t = retime(b, buf, 0, &rt);
	if (t == EGW_TS_WAIT) {
		b->held_from = rt;
		g_queue_push_tail(&b->held, gst_buffer_ref(buf));
		return GST_PAD_PROBE_DROP;
	}
	if (t != EGW_TS_NONE)
		t = egw_opus_place(&b->holes, pad, buf, t, b->g->log_id);
	if (t == EGW_TS_NONE)
		return GST_PAD_PROBE_DROP;
	egw_passthrough_lead_in(b, buf, t);
	GST_PAD_PROBE_INFO_DATA(info) = stamp(buf, t);
	return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn on_event(struct branch *b, GstPadProbeInfo *info)
{
	if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
		release_held(b, b->srcpad, 1); /* before the end goes on */
	return egw_restream_event(&b->rs, info);
}

/* ---- branches ---- */

static egw_err_t add_branch(struct passthrough *g, const egw_track_t *t, char *errstr,
			    size_t errstr_size)
{
	struct branch *b = &g->branches[g->n_branches];
	GstElement *depay = NULL, *last = NULL, *els[2];
	size_t n = 0;
	egw_err_t err;

	memset(b, 0, sizeof(*b));
	/* No queue of its own: the source's jitter buffer pushes from its
	 * own thread, and every output has a queue after the tee. */
	if ((err = egw_graph_depay_chain(g->bin, t->codec, &depay, &last, errstr, errstr_size)))
		return err == EGW_ERR_NOT_SUPPORTED ? EGW_ERR_MEDIA : err;
	els[n++] = depay;
	if (last != depay)
		els[n++] = last;
	b->g = g;
	b->media = t->media;
	snprintf(b->codec, sizeof(b->codec), "%s", t->codec);
	egw_retime_stream_init(&b->retime);
	egw_restream_init(&b->rs);
	g_queue_init(&b->held);
	egw_opus_holes_init(&b->holes, t->codec);
	b->gap_end = b->quiet_from = EGW_TS_NONE;
	b->srcpad = gst_element_get_static_pad(last, "src");
	b->sinkpad = gst_element_get_static_pad(depay, "sink");
	gst_pad_add_probe(b->srcpad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
			  retime_probe, b, NULL);
	if ((err = egw_session_add_stream(g->s, t->media, t->codec, b->srcpad, errstr,
					  errstr_size))) {
		gst_object_unref(b->srcpad);
		gst_object_unref(b->sinkpad);
		n = 0; /* linked into the session now: freed with the pipeline */
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		gst_element_sync_state_with_parent(els[i]);
	g->n_branches++;
	return EGW_OK;
fail:
	for (size_t i = 0; i < n; i++)
		egw_element_drop(g->bin, els[i]);
	memset(b, 0, sizeof(*b));
	return err;
}

static void take(struct passthrough *g, struct branch *b, const egw_track_t *t)
{
	g_mutex_lock(&g->lock);
	snprintf(b->track_id, sizeof(b->track_id), "%s", t->id);
	b->present = 1;
	g_mutex_unlock(&g->lock);
}

static egw_err_t pt_track_added(egw_graph_t *graph, const egw_track_t *t, char *errstr,
				size_t errstr_size)
{
	struct passthrough *g = (struct passthrough *)graph;
	struct branch *b = branch_for(g, t->media);
	egw_err_t err;

	if (b && b->present && strcmp(b->track_id, t->id)) {
		/* e.g. a screen share next to the camera: one video per file */
		snprintf(errstr, errstr_size, "%s also publishes %s %s; this recording takes %s only",
			 t->participant.name, egw_media2str(t->media), t->id, b->track_id);
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (b && strcmp(b->codec, t->codec)) {
		snprintf(errstr, errstr_size, "%s switched %s codec from %s to %s mid-recording",
			 t->participant.name, egw_media2str(t->media), b->codec, t->codec);
		return EGW_ERR_MEDIA;
	}
	if (b) { /* published again: same branch, same file */
		take(g, b, t);
		return EGW_OK;
	}
	if (g_atomic_int_get(&g->flowing) || g->n_branches == G_N_ELEMENTS(g->branches)) {
		snprintf(errstr, errstr_size, "%s now also publishes %s; not in this recording",
			 t->participant.name, egw_media2str(t->media));
		return EGW_ERR_NOT_SUPPORTED;
	}
	if ((err = add_branch(g, t, errstr, errstr_size)))
		return err;
	take(g, &g->branches[g->n_branches - 1], t);
	/* Fragmented MP4 loses each track's start offset (see retime.h). */
	g_mutex_lock(&g->lock);
	g->mp4 = egw_session_anchor_video(g->s);
	g->timeline.anchor_video = g->mp4 && branch_for(g, EGW_MEDIA_VIDEO) != NULL;
	g_mutex_unlock(&g->lock);
	return EGW_OK;
}

/* Streaming thread. */
static void pt_track_pad(egw_graph_t *graph, const egw_track_t *t, GstPad *pad)
{
	struct passthrough *g = (struct passthrough *)graph;
	struct branch *b;

	g_mutex_lock(&g->lock);
	b = g->finishing ? NULL : branch_for(g, t->media);
	if (b && strcmp(b->track_id, t->id))
		b = NULL; /* not the track this branch takes */
	if (b) {
		GstPad *peer = gst_pad_get_peer(b->sinkpad);
		if (peer) { /* a pad of a departed session */
			gst_pad_unlink(peer, b->sinkpad);
			gst_object_unref(peer);
		}
		if (gst_pad_link(pad, b->sinkpad) != GST_PAD_LINK_OK)
			EGW_LOG(g->log_id, ERROR, "cannot link %s %s", t->participant.name, t->codec);
		g_atomic_int_set(&g->flowing, 1);
	}
	g_mutex_unlock(&g->lock);
	if (!b) {
		EGW_LOG(g->log_id, DEBUG, "%s %s arrived while ending; not linked",
			egw_media2str(t->media), t->codec);
		egw_graph_swallow(pad);
	}
}

static void pt_track_removed(egw_graph_t *graph, const egw_track_t *t)
{
	struct passthrough *g = (struct passthrough *)graph;
	struct branch *b = branch_for(g, t->media);
	/* The branch waits for a track of its kind to come back. */
	g_mutex_lock(&g->lock);
	if (b && !strcmp(b->track_id, t->id))
		b->present = 0;
	g_mutex_unlock(&g->lock);
}

static int pt_finish(egw_graph_t *graph)
{
	struct passthrough *g = (struct passthrough *)graph;
	g_mutex_lock(&g->lock);
	g->finishing = 1;
	g_mutex_unlock(&g->lock);
	if (g->quiet_tick)
		g_source_remove(g->quiet_tick);
	g->quiet_tick = 0;
	for (size_t i = 0; i < g->n_branches; i++)
		egw_passthrough_stand_in_to_end(g, &g->branches[i]);
	for (size_t i = 0; i < g->n_branches; i++)
		gst_pad_send_event(g->branches[i].sinkpad, gst_event_new_eos());
	return g->n_branches > 0;
}

static double pt_duration_s(egw_graph_t *graph)
{
	struct passthrough *g = (struct passthrough *)graph;
	double d;
	g_mutex_lock(&g->lock);
	d = (double)g->timeline.max_end / GST_SECOND;
	g_mutex_unlock(&g->lock);
	return d;
}

static egw_graph_t *pt_create(egw_session_t *s, GstBin *bin, const egw_media_plan_t *plan,
			      char *errstr, size_t errstr_size)
{
	struct passthrough *g = g_new0(struct passthrough, 1);
	if (!egw_passthrough_debug)
		GST_DEBUG_CATEGORY_INIT(egw_passthrough_debug, "egw-passthrough", 0,
					"passthrough graph");
	g->s = s;
	g->bin = bin;
	g->log_id = egw_session_log_id(s);
	g_mutex_init(&g->lock);
	egw_timeline_init(&g->timeline);
	g->quiet_tick = g_timeout_add(QUIET_TICK_MS, egw_passthrough_quiet_tick, g);
	return (egw_graph_t *)g;
}

static void pt_free(egw_graph_t *graph)
{
	struct passthrough *g = (struct passthrough *)graph;
	if (g->quiet_tick)
		g_source_remove(g->quiet_tick);
	for (size_t i = 0; i < g->n_branches; i++) {
		struct branch *b = &g->branches[i];
		gst_object_unref(b->sinkpad);
		gst_object_unref(b->srcpad);
		egw_restream_clear(&b->rs);
		g_queue_clear_full(&b->held, (GDestroyNotify)gst_buffer_unref);
		gst_buffer_replace(&b->last_key, NULL);
	}
	g_mutex_clear(&g->lock);
	g_free(g);
}

const egw_graph_ops_t egw_graph_passthrough = {
	.name = "passthrough",
	.create = pt_create,
	.track_added = pt_track_added,
	.track_pad = pt_track_pad,
	.track_removed = pt_track_removed,
	.finish = pt_finish,
	.duration_s = pt_duration_s,
	.free = pt_free,
};
