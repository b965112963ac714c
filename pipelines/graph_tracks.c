/* Tracks graph (room_tracks egresses): every track of the room as it
 * arrives, depayloaded and parsed, never decoded, each into a file of its
 * own (an output the session makes for it, egw_session_track_output).
 *
 * Each file begins at 0 with its track's first media; where that is on
 * the egress's timeline (from the first media of any track) is told to
 * the session (egw_session_track_file_started), for the manifest's
 * offset_s. A track that is unpublished and published again continues its
 * file, with a gap. Timestamps are the jitter buffer's lip-synced running
 * times, so a participant's audio and video files stay in sync through
 * their offsets. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/graph.h"
#include "pipelines/retime.h"

GST_DEBUG_CATEGORY_STATIC(egw_tracks_debug);
#define GST_CAT_DEFAULT egw_tracks_debug

struct tracks;

struct tbranch {
	struct tracks *g;
	char *track_id;
	egw_media_t media;
	char codec[16];
	GstPad *sinkpad; /* the depayloader's: where source pads link */
	GstPad *srcpad;  /* the last parser's: retimed here */
	size_t out_index;
	/* streaming thread of the branch (and the graph's lock for the ends) */
	egw_restream_t rs;
	GstClockTime first_rt, last_out, end_out; /* end_out: under the lock */
	egw_opus_holes_t holes;
};

struct tracks {
	egw_session_t *s;
	GstBin *bin;
	const char *log_id;
	GHashTable *branches; /* track id -> struct tbranch (main context) */
	GPtrArray *by_index;  /* out index -> struct tbranch (main context) */
	GMutex lock;          /* t0, end_out, finishing */
	GstClockTime t0;      /* running time of the egress's first media */
	int finishing;
};

/* ---- retiming (the branch's streaming thread) ---- */

static GstPadProbeReturn on_event(struct tbranch *b, GstPadProbeInfo *info)
{
	return egw_restream_event(&b->rs, info);
}

static GstPadProbeReturn retime(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct tbranch *b = user;
	struct tracks *g = b->g;
	GstBuffer *buf;
	GstClockTime ts, rt, out, dur;
	int first = 0;
	double offset = 0;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM)
		return on_event(b, info);
	buf = GST_PAD_PROBE_INFO_BUFFER(info);
	/* PTS: the jitter buffer's smoothed, lip-synced time */
	ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
	rt = egw_restream_running(&b->rs, ts);
	if (!GST_CLOCK_TIME_IS_VALID(rt))
		return GST_PAD_PROBE_DROP;
	dur = GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0;
	if (!GST_CLOCK_TIME_IS_VALID(b->first_rt)) {
		b->first_rt = rt;
		first = 1;
	}
	out = rt >= b->first_rt ? rt - b->first_rt : 0;
	if (GST_CLOCK_TIME_IS_VALID(b->last_out) && out < b->last_out)
		out = b->last_out; /* never back: the muxers want them in order */
	if ((out = egw_opus_place(&b->holes, b->srcpad, buf, out, g->log_id)) == EGW_TS_NONE)
		return GST_PAD_PROBE_DROP;
	b->last_out = out;
	g_mutex_lock(&g->lock);
	if (first) {
		if (!GST_CLOCK_TIME_IS_VALID(g->t0))
			g->t0 = rt;
		offset = rt > g->t0 ? (double)(rt - g->t0) / GST_SECOND : 0.0;
	}
	if (!GST_CLOCK_TIME_IS_VALID(b->end_out) || out + dur > b->end_out)
		b->end_out = out + dur;
	g_mutex_unlock(&g->lock);
	if (first)
		egw_session_track_file_started(g->s, b->track_id, offset);
	buf = gst_buffer_make_writable(buf);
	GST_BUFFER_PTS(buf) = out;
	GST_BUFFER_DTS(buf) = out;
	GST_PAD_PROBE_INFO_DATA(info) = buf;
	return GST_PAD_PROBE_OK;
}

/* ---- branches ---- */

static void branch_free(gpointer p)
{
	struct tbranch *b = p;
	if (b->sinkpad)
		gst_object_unref(b->sinkpad);
	if (b->srcpad)
		gst_object_unref(b->srcpad);
	egw_restream_clear(&b->rs);
	g_free(b->track_id);
	g_free(b);
}

static egw_err_t add_branch(struct tracks *g, const egw_track_t *t, char *errstr,
                            size_t errstr_size)
{
	struct tbranch *b;
	GstElement *depay, *last;
	egw_err_t err;

	if ((err = egw_graph_depay_chain(g->bin, t->codec, &depay, &last, errstr, errstr_size)))
		return err;
	b = g_new0(struct tbranch, 1);
	b->g = g;
	b->track_id = g_strdup(t->id);
	b->media = t->media;
	snprintf(b->codec, sizeof(b->codec), "%s", t->codec);
	b->first_rt = b->last_out = b->end_out = GST_CLOCK_TIME_NONE;
	egw_restream_init(&b->rs);
	egw_opus_holes_init(&b->holes, t->codec);
	b->sinkpad = gst_element_get_static_pad(depay, "sink");
	b->srcpad = gst_element_get_static_pad(last, "src");
	gst_pad_add_probe(b->srcpad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
	                  retime, b, NULL);
	g_hash_table_insert(g->branches, b->track_id, b);
	if ((err = egw_session_track_output(g->s, t, t->media, t->codec, b->srcpad, &b->out_index,
	                                    errstr, errstr_size))) {
		g_hash_table_remove(g->branches, t->id);
		return err;
	}
	while (g->by_index->len <= b->out_index)
		g_ptr_array_add(g->by_index, NULL);
	g_ptr_array_index(g->by_index, b->out_index) = b;
	if (last != depay)
		gst_element_sync_state_with_parent(last);
	gst_element_sync_state_with_parent(depay);
	EGW_LOG(g->log_id, INFO, "recording %s %s (%s, %s) in its own file", t->participant.name,
	        egw_media2str(t->media), t->id, t->codec);
	return EGW_OK;
}

/* ---- the graph's operations ---- */

static egw_graph_t *tg_create(egw_session_t *s, GstBin *bin, const egw_media_plan_t *plan,
                              char *errstr, size_t errstr_size)
{
	struct tracks *g = g_new0(struct tracks, 1);
	if (!egw_tracks_debug)
		GST_DEBUG_CATEGORY_INIT(egw_tracks_debug, "egw-tracks", 0, "tracks graph");
	g->s = s;
	g->bin = bin;
	g->log_id = egw_session_log_id(s);
	g->branches = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, branch_free);
	g->by_index = g_ptr_array_new();
	g->t0 = GST_CLOCK_TIME_NONE;
	g_mutex_init(&g->lock);
	return (egw_graph_t *)g;
}

static egw_err_t tg_track_added(egw_graph_t *graph, const egw_track_t *t, char *errstr,
                                size_t errstr_size)
{
	struct tracks *g = (struct tracks *)graph;
	struct tbranch *b = g_hash_table_lookup(g->branches, t->id);

	if (!b)
		return add_branch(g, t, errstr, errstr_size);
	if (strcmp(b->codec, t->codec)) { /* published again in another codec */
		snprintf(errstr, errstr_size, "%s came back in %s, its file holds %s", t->id, t->codec,
		         b->codec);
		return EGW_ERR_NOT_SUPPORTED;
	}
	return EGW_OK; /* published again: the same file goes on */
}

/* Streaming thread. */
static void tg_track_pad(egw_graph_t *graph, const egw_track_t *t, GstPad *pad)
{
	struct tracks *g = (struct tracks *)graph;
	struct tbranch *b;
	GstPad *sink = NULL, *peer;

	g_mutex_lock(&g->lock);
	b = g->finishing ? NULL : g_hash_table_lookup(g->branches, t->id);
	if (b)
		sink = gst_object_ref(b->sinkpad);
	g_mutex_unlock(&g->lock);
	if (!sink) {
		egw_graph_swallow(pad);
		return;
	}
	if ((peer = gst_pad_get_peer(sink))) { /* a pad of a departed subscription */
		gst_pad_unlink(peer, sink);
		gst_object_unref(peer);
	}
	if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
		EGW_LOG(g->log_id, ERROR, "cannot link %s (%s)", t->id, t->codec);
	gst_object_unref(sink);
}

static void tg_track_removed(egw_graph_t *graph, const egw_track_t *t)
{
	/* the file waits for the track to come back */
}

static int tg_finish(egw_graph_t *graph)
{
	struct tracks *g = (struct tracks *)graph;
	GHashTableIter it;
	gpointer value;

	g_mutex_lock(&g->lock);
	g->finishing = 1;
	g_mutex_unlock(&g->lock);
	g_hash_table_iter_init(&it, g->branches);
	while (g_hash_table_iter_next(&it, NULL, &value))
		gst_pad_send_event(((struct tbranch *)value)->sinkpad, gst_event_new_eos());
	return g_hash_table_size(g->branches) > 0;
}

/* The egress's timeline: from its first media to the last end of any
 * track's file, placed at its offset. */
static double tg_duration_s(egw_graph_t *graph)
{
	struct tracks *g = (struct tracks *)graph;
	GHashTableIter it;
	gpointer value;
	GstClockTime end = 0;

	g_mutex_lock(&g->lock);
	g_hash_table_iter_init(&it, g->branches);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct tbranch *b = value;
		if (GST_CLOCK_TIME_IS_VALID(b->end_out) && GST_CLOCK_TIME_IS_VALID(b->first_rt) &&
		    b->first_rt >= g->t0 && b->first_rt - g->t0 + b->end_out > end)
			end = b->first_rt - g->t0 + b->end_out;
	}
	g_mutex_unlock(&g->lock);
	return (double)end / GST_SECOND;
}

static double tg_output_duration_s(egw_graph_t *graph, size_t i)
{
	struct tracks *g = (struct tracks *)graph;
	struct tbranch *b = i < g->by_index->len ? g_ptr_array_index(g->by_index, i) : NULL;
	double d = 0;
	g_mutex_lock(&g->lock);
	if (b && GST_CLOCK_TIME_IS_VALID(b->end_out))
		d = (double)b->end_out / GST_SECOND;
	g_mutex_unlock(&g->lock);
	return d;
}

static void tg_free(egw_graph_t *graph)
{
	struct tracks *g = (struct tracks *)graph;
	g_ptr_array_free(g->by_index, TRUE);
	g_hash_table_destroy(g->branches);
	g_mutex_clear(&g->lock);
	g_free(g);
}

const egw_graph_ops_t egw_graph_tracks = {
        .name = "tracks",
        .create = tg_create,
        .track_added = tg_track_added,
        .track_pad = tg_track_pad,
        .track_removed = tg_track_removed,
        .finish = tg_finish,
        .duration_s = tg_duration_s,
        .output_duration_s = tg_output_duration_s,
        .free = tg_free,
};
