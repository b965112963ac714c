/* The media session: pipeline, bus with errors attributed to outputs, the
 * graph, and the fan-out of each stream to the outputs (tee, then a queue
 * per output). See session.h. */
#include "pipelines/session.h"

#include <stdio.h>
#include <string.h>

#include "base/life.h"
#include "base/log.h"
#include "pipelines/graph.h"
#include "pipelines/output.h"

GST_DEBUG_CATEGORY_STATIC(egw_session_debug);
#define GST_CAT_DEFAULT egw_session_debug

/* Per output: how far behind the others it may fall before it drops its
 * oldest data instead of holding up the tee (live input cannot wait). */
#define OUTPUT_QUEUE_NS (10 * GST_SECOND)

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

/* ---- outputs: first byte, end, failure ---- */

static void all_finished_check(egw_session_t *s)
{
	size_t running = 0, failed = 0;
	for (size_t i = 0; i < s->n_outs; i++) {
		if (s->outs[i].failed)
			failed++;
		else if (!s->outs[i].finished)
			running++;
	}
	if (s->done)
		return;
	if (failed == s->n_outs) {
		s->done = 1;
		s->ev.failed(s->opaque, s->outs[0].err, s->outs[0].errmsg);
	} else if (!running && (s->finishing || s->plan.graph == EGW_GRAPH_RENDER)) {
		/* (a render ends by itself, at the end of what it renders) */
		s->done = 1;
		s->ev.finished(s->opaque);
	}
}

static void on_output_end(void *target, void *data)
{
	egw_session_t *s = target;
	struct out *o = data;
	o->finished = 1;
	EGW_LOG(s->log_id, INFO, "%s finalised", o->ops->kind);
	all_finished_check(s);
}

static void on_first_media(void *target, void *data)
{
	egw_session_t *s = target;
	s->ev.first_media(s->opaque);
}

/* The first buffer an output writes; then the probe goes away. */
static GstPadProbeReturn first_buffer_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct out *o = user;
	egw_session_t *s = o->s;
	o->wrote = 1;
	if (g_atomic_int_compare_and_exchange(&s->first_media, 0, 1))
		egw_life_invoke(s->life, on_first_media, NULL, NULL);
	return GST_PAD_PROBE_REMOVE;
}

/* The output's end went through its sink: its file is complete. */
static GstPadProbeReturn eos_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct out *o = user;
	if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS)
		egw_life_invoke(o->s->life, on_output_end, o, NULL);
	return GST_PAD_PROBE_OK;
}

/* Streaming thread (or right away): unlinks one feed of a failed output. */
static GstPadProbeReturn unlink_feed(GstPad *teepad, GstPadProbeInfo *info, gpointer user)
{
	GstElement *tee = gst_pad_get_parent_element(teepad);
	GstPad *peer = gst_pad_get_peer(teepad);
	if (peer) {
		gst_pad_unlink(teepad, peer);
		gst_object_unref(peer);
	}
	if (tee) {
		gst_element_release_request_pad(tee, teepad);
		gst_object_unref(tee);
	}
	return GST_PAD_PROBE_REMOVE;
}

static void fail_output(egw_session_t *s, struct out *o, egw_err_t err, const char *msg)
{
	if (o->failed)
		return;
	o->failed = 1;
	o->err = err;
	snprintf(o->errmsg, sizeof(o->errmsg), "%s: %s", o->plan->name, msg);
	EGW_LOG(s->log_id, ERROR, "%s failed: %s; the other outputs go on", o->plan->name, msg);
	/* Cut it off where it joins the tees, so it holds nobody up; its bin
	 * stays (stopped) until the session ends. */
	for (GSList *l = o->feeds; l; l = l->next)
		gst_pad_add_probe(l->data, GST_PAD_PROBE_TYPE_IDLE, unlink_feed, NULL, NULL);
	if (s->ev.output_failed)
		s->ev.output_failed(s->opaque, o->index, err, o->errmsg);
	all_finished_check(s);
}

static struct out *output_of(egw_session_t *s, GstObject *src)
{
	for (size_t i = 0; i < s->n_outs; i++) {
		if (src == GST_OBJECT(s->outs[i].bin) ||
		    gst_object_has_as_ancestor(src, GST_OBJECT(s->outs[i].bin)))
			return &s->outs[i];
		for (GSList *l = s->outs[i].queues; l; l = l->next)
			if (src == l->data || gst_object_has_as_ancestor(src, l->data))
				return &s->outs[i];
	}
	return NULL;
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer user)
{
	egw_session_t *s = user;
	GError *gerr = NULL;
	gchar *dbg = NULL, *path;
	char text[1280], clean[1024], clean_dbg[2048];
	struct out *o;

	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(msg, &gerr, &dbg);
		path = gst_object_get_path_string(GST_MESSAGE_SRC(msg));
		/* A sink's message may quote its location: a stream key. */
		egw_log_redact_text(gerr->message, clean, sizeof(clean));
		egw_log_redact_text(dbg ? dbg : "no details", clean_dbg, sizeof(clean_dbg));
		EGW_LOG(s->log_id, ERROR, "pipeline error from %s: %s (%s)", path, clean, clean_dbg);
		snprintf(text, sizeof(text), "media pipeline error in %s: %s",
			 GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), clean);
		o = output_of(s, GST_MESSAGE_SRC(msg));
		if (o && o->ops->element_error &&
		    o->ops->element_error(o->o, GST_MESSAGE_SRC(msg), clean))
			; /* one destination of the output; it goes on */
		else if (!o && s->graph && s->gops->element_error &&
		    s->gops->element_error(s->graph, GST_MESSAGE_SRC(msg), clean))
			; /* one input of the graph, dropped; the egress goes on */
		else if (o)
			fail_output(s, o, gerr->domain == GST_RESOURCE_ERROR ? EGW_ERR_IO : EGW_ERR_MEDIA,
				    clean);
		else if (!s->done) {
			s->done = 1;
			s->ev.failed(s->opaque, EGW_ERR_MEDIA, text);
		}
		g_free(path);
		g_free(dbg);
		g_error_free(gerr);
		break;
	case GST_MESSAGE_ELEMENT:
		if ((o = output_of(s, GST_MESSAGE_SRC(msg))) && o->ops->message && !o->failed)
			o->ops->message(o->o, msg);
		break;
	case GST_MESSAGE_WARNING:
		gst_message_parse_warning(msg, &gerr, &dbg);
		egw_log_redact_text(gerr->message, clean, sizeof(clean));
		EGW_LOG(s->log_id, WARN, "pipeline warning from %s: %s",
			GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), clean);
		g_free(dbg);
		g_error_free(gerr);
		break;
	default:
		break;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- streams ---- */

/* Live: a slow output drops its oldest data instead of holding up the
 * others. A render (not live) waits for it instead: nothing is lost. */
static GstElement *output_queue(int live)
{
	GstElement *q = gst_element_factory_make("queue", NULL);
	if (q)
		g_object_set(q, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
		             (guint64)OUTPUT_QUEUE_NS, "leaky",
		             live ? 2 /* downstream: drop old */ : 0, NULL);
	return q;
}

static egw_err_t feed_output(egw_session_t *s, struct out *o, GstElement *tee, egw_media_t media,
			     const char *codec, char *errstr, size_t errstr_size)
{
	GstPad *opad = NULL, *teepad = NULL, *qsink = NULL;
	GstElement *q = NULL;
	egw_err_t err;

	if (!strcmp(codec, "pcm") != !!o->ops->pcm)
		return EGW_OK; /* decoded audio goes only where it is wanted */
	if ((err = o->ops->add_stream(o->o, media, codec, &opad, errstr, errstr_size)))
		return err;
	if (!opad)
		return EGW_OK; /* not a stream this output takes */
	err = EGW_ERR_MEDIA;
	if (!(q = output_queue(s->plan.graph != EGW_GRAPH_RENDER)) ||
	    !gst_bin_add(GST_BIN(s->pipeline), q)) {
		snprintf(errstr, errstr_size, "cannot add a queue for %s", o->plan->name);
		if (q)
			gst_object_unref(q);
		goto out;
	}
	teepad = gst_element_request_pad_simple(tee, "src_%u");
	qsink = gst_element_get_static_pad(q, "sink");
	if (!teepad || gst_pad_link(teepad, qsink) != GST_PAD_LINK_OK ||
	    !gst_element_link_pads(q, "src", o->bin, GST_PAD_NAME(opad))) {
		snprintf(errstr, errstr_size, "cannot link %s %s to %s", egw_media2str(media),
		         codec, o->plan->name);
		goto out;
	}
	egw_graph_guard_queue(q);
	gst_element_sync_state_with_parent(q);
	o->feeds = g_slist_prepend(o->feeds, gst_object_ref(teepad));
	o->queues = g_slist_prepend(o->queues, gst_object_ref(q));
	err = EGW_OK;
out:
	if (teepad)
		gst_object_unref(teepad);
	if (qsink)
		gst_object_unref(qsink);
	if (opad)
		gst_object_unref(opad);
	return err;
}

static GstPadProbeReturn drop_if_broken(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	GstPad *src = user;
	(void)pad;
	(void)info;
	/* (a queue whose push failed pushes an EOS on: its last flow return
	 * may then read EOS, the pad is EOS either way) */
	return gst_pad_get_last_flow_return(src) < GST_FLOW_EOS || GST_PAD_IS_EOS(src)
	               ? GST_PAD_PROBE_DROP
	               : GST_PAD_PROBE_OK;
}

void egw_graph_guard_queue(GstElement *queue)
{
	GstPad *sink = gst_element_get_static_pad(queue, "sink");
	GstPad *src = gst_element_get_static_pad(queue, "src");
	if (sink && src)
		gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
		                  drop_if_broken, gst_object_ref(src), gst_object_unref);
	if (sink)
		gst_object_unref(sink);
	if (src)
		gst_object_unref(src);
}

static GstPadProbeReturn drop_unlinked(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	return gst_pad_is_linked(pad) ? GST_PAD_PROBE_REMOVE : GST_PAD_PROBE_DROP;
}

void egw_graph_swallow(GstPad *pad)
{
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
	                  drop_unlinked, NULL, NULL);
}

egw_err_t egw_session_add_stream(egw_session_t *s, egw_media_t media, const char *codec,
				 GstPad *srcpad, char *errstr, size_t errstr_size)
{
	GstElement *tee = gst_element_factory_make("tee", NULL);
	GstPad *teesink;
	egw_err_t err = EGW_OK;

	if (!tee || !gst_bin_add(GST_BIN(s->pipeline), tee)) {
		snprintf(errstr, errstr_size, "GStreamer element tee is missing");
		if (tee)
			gst_object_unref(tee);
		return EGW_ERR_MEDIA;
	}
	g_object_set(tee, "allow-not-linked", TRUE, NULL);
	for (size_t i = 0; i < s->n_outs && !err; i++)
		if (!s->outs[i].failed)
			err = feed_output(s, &s->outs[i], tee, media, codec, errstr, errstr_size);
	teesink = gst_element_get_static_pad(tee, "sink");
	if (!err && strcmp(codec, "pcm")) /* (the mix decoded too: the same audio) */
		egw_flow_watch(s->flow, media, teesink);
	if (!err && gst_pad_link(srcpad, teesink) != GST_PAD_LINK_OK) {
		snprintf(errstr, errstr_size, "cannot link the %s stream to its outputs",
			 egw_media2str(media));
		err = EGW_ERR_MEDIA;
	}
	gst_object_unref(teesink);
	gst_element_sync_state_with_parent(tee);
	return err;
}

void egw_session_room_event(egw_session_t *s, const char *event, const char *participant,
			    const char *track_id)
{
	for (size_t i = 0; i < s->n_outs; i++)
		if (!s->outs[i].failed && s->outs[i].ops->room_event)
			s->outs[i].ops->room_event(s->outs[i].o, event, participant, track_id);
	if (s->ev.room_event)
		s->ev.room_event(s->opaque, event, participant, track_id);
}

int egw_session_anchor_video(const egw_session_t *s)
{
	for (size_t i = 0; i < s->n_outs; i++)
		if (s->outs[i].plan->container == EGW_CONTAINER_MP4)
			return 1;
	return 0;
}

const char *egw_session_log_id(const egw_session_t *s)
{
	return s->log_id;
}

/* ---- what outputs report (main context) ---- */

static void out_event(void *opaque, json_t *details)
{
	struct out *o = opaque;
	if (o->s->ev.output_event)
		o->s->ev.output_event(o->s->opaque, o->index, details);
	else
		json_decref(details);
}

static void out_failed(void *opaque, egw_err_t err, const char *message)
{
	struct out *o = opaque;
	fail_output(o->s, o, err, message);
}

static void out_first_byte(void *opaque)
{
	struct out *o = opaque;
	o->wrote = 1;
	if (g_atomic_int_compare_and_exchange(&o->s->first_media, 0, 1))
		o->s->ev.first_media(o->s->opaque);
}

static void out_finished(void *opaque)
{
	struct out *o = opaque;
	on_output_end(o->s, o);
}

static void out_file_closed(void *opaque, const char *path)
{
	struct out *o = opaque;
	if (o->s->ev.file_closed)
		o->s->ev.file_closed(o->s->opaque, o->index, path);
}

static const egw_output_events_t out_events = {out_event, out_failed, out_first_byte,
					       out_finished, out_file_closed};

egw_err_t egw_session_update_stream(egw_session_t *s, char *const *add, size_t n_add,
				    char *const *remove, size_t n_remove, char *errstr,
				    size_t errstr_size)
{
	struct out *first = NULL;
	int any = 0;

	errstr[0] = '\0';
	for (size_t i = 0; i < s->n_outs; i++) {
		struct out *o = &s->outs[i];
		if (!o->ops->update)
			continue;
		any = 1;
		if (!o->failed && !o->finished) {
			o->ops->update(o->o, NULL, 0, remove, n_remove, errstr, errstr_size);
			if (!first)
				first = o;
		}
	}
	if (!any) {
		snprintf(errstr, errstr_size, "this egress has no stream outputs");
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (s->finishing || !first) {
		snprintf(errstr, errstr_size, "the stream outputs have ended");
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (n_add)
		first->ops->update(first->o, add, n_add, NULL, 0, errstr, errstr_size);
	return EGW_OK;
}

/* ---- life cycle ---- */

static egw_err_t add_output(egw_session_t *s, size_t i, const egw_output_plan_t *op, char *errstr,
                            size_t errstr_size)
{
	struct out *o = &s->outs[i];
	GstPad *pad;

	o->s = s;
	o->index = i;
	o->plan = op;
	if (!(o->ops = egw_output_find(op->kind))) {
		snprintf(errstr, errstr_size, "%s: no output of kind %s", op->name, op->kind);
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (!(o->o = o->ops->create(op, s->log_id, &out_events, o, errstr, errstr_size)))
		return EGW_ERR_MEDIA;
	s->n_outs = i + 1; /* freed with the session from here on */
	o->bin = o->ops->bin(o->o);
	if (!gst_bin_add(GST_BIN(s->pipeline), gst_object_ref(o->bin))) {
		gst_object_unref(o->bin);
		snprintf(errstr, errstr_size, "%s: cannot add it to the pipeline", op->name);
		return EGW_ERR_MEDIA;
	}
	if (!o->ops->sink || !o->ops->sink(o->o))
		return EGW_OK; /* it reports its first byte and its end itself */
	pad = gst_element_get_static_pad(o->ops->sink(o->o), "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, first_buffer_probe, o, NULL);
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, eos_probe, o, NULL);
	gst_object_unref(pad);
	return EGW_OK;
}

egw_session_t *egw_session_new(const egw_media_plan_t *plan, const egw_session_events_t *ev,
			       void *opaque, egw_err_t *err, char *errstr, size_t errstr_size)
{
	egw_session_t *s = g_new0(egw_session_t, 1);
	GstBus *bus;

	if (!egw_session_debug)
		GST_DEBUG_CATEGORY_INIT(egw_session_debug, "egw-session", 0, "egress media session");
	s->plan = *plan;
	s->log_id = g_strdup(plan->log_id);
	s->ev = *ev;
	s->opaque = opaque;
	s->life = egw_life_new(NULL, s);
	s->flow = egw_flow_new(plan->graph != EGW_GRAPH_PASSTHROUGH && plan->encode.video_codec
	                               ? plan->encode.fps
	                               : 0);
	s->gops = plan->graph == EGW_GRAPH_COMPOSITE ? &egw_graph_composite
	          : plan->graph == EGW_GRAPH_RENDER  ? &egw_graph_render
	          : plan->graph == EGW_GRAPH_TRACKS  ? &egw_graph_tracks
	                                             : &egw_graph_passthrough;
	*err = EGW_ERR_MEDIA;
	if (!(s->pipeline = gst_pipeline_new(s->log_id))) {
		snprintf(errstr, errstr_size, "cannot create a pipeline");
		goto fail;
	}
	bus = gst_pipeline_get_bus(GST_PIPELINE(s->pipeline));
	s->bus_watch = gst_bus_add_watch(bus, on_bus, s);
	gst_object_unref(bus);
	for (size_t i = 0; i < plan->n_outputs; i++)
		if ((*err = add_output(s, i, &s->plan.outputs[i], errstr, errstr_size)))
			goto fail;
	*err = EGW_ERR_MEDIA;
	if (!(s->graph = s->gops->create(s, GST_BIN(s->pipeline), plan, errstr, errstr_size)))
		goto fail;
	for (size_t i = 0; i < s->n_outs; i++)
		if (s->outs[i].ops->ready)
			s->outs[i].ops->ready(s->outs[i].o);
	*err = EGW_OK;
	return s;
fail:
	egw_session_free(s);
	return NULL;
}

GstBin *egw_session_bin(egw_session_t *s)
{
	return GST_BIN(s->pipeline);
}

static void give_base_time(const GValue *v, gpointer base)
{
	gst_element_set_base_time(GST_ELEMENT(g_value_get_object(v)), *(GstClockTime *)base);
}

/* The clock and time 0 are fixed before the start, and every element
 * already in the pipeline has that base time before it gets the clock.
 * Left to itself, GstPipeline hands its clock to its elements first and
 * their base time only as each of them starts playing: a live mixer that
 * runs in between computes its deadlines from base time 0 (hours in the
 * past), turns out seconds of silence at once and then waits that long
 * for the clock, and the muxer with it (about 3 in 100 composites wrote
 * nothing so). Elements added later take the pipeline's base time as they
 * start; the pipeline never pauses (live), so the base time holds. */
static void fix_time_base(GstElement *pipeline)
{
	GstClock *clock = gst_system_clock_obtain();
	GstClockTime base = gst_clock_get_time(clock);
	GstIterator *it;

	gst_pipeline_use_clock(GST_PIPELINE(pipeline), clock);
	gst_element_set_start_time(pipeline, GST_CLOCK_TIME_NONE);
	gst_element_set_base_time(pipeline, base);
	it = gst_bin_iterate_recurse(GST_BIN(pipeline));
	gst_iterator_foreach(it, give_base_time, &base);
	gst_iterator_free(it);
	gst_object_unref(clock);
}

egw_err_t egw_session_play(egw_session_t *s, char *errstr, size_t errstr_size)
{
	fix_time_base(s->pipeline);
	if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		snprintf(errstr, errstr_size, "cannot start the media pipeline");
		return EGW_ERR_MEDIA;
	}
	return EGW_OK;
}

egw_err_t egw_session_track_added(egw_session_t *s, const egw_track_t *t, char *errstr,
				  size_t errstr_size)
{
	if (s->finishing) {
		snprintf(errstr, errstr_size, "the egress is ending");
		return EGW_ERR_NOT_SUPPORTED;
	}
	return s->gops->track_added(s->graph, t, errstr, errstr_size);
}

void egw_session_track_pad(egw_session_t *s, const egw_track_t *t, GstPad *pad)
{
	s->gops->track_pad(s->graph, t, pad);
}

void egw_session_track_removed(egw_session_t *s, const egw_track_t *t)
{
	s->gops->track_removed(s->graph, t);
}

egw_err_t egw_session_update_layout(egw_session_t *s, const char *layout, char *errstr,
				   size_t errstr_size)
{
	if (!s->gops->update_layout) {
		snprintf(errstr, errstr_size, "layouts apply to composites; this egress records as is");
		return EGW_ERR_NOT_SUPPORTED;
	}
	if (s->finishing) {
		snprintf(errstr, errstr_size, "the egress is ending");
		return EGW_ERR_NOT_SUPPORTED;
	}
	return s->gops->update_layout(s->graph, layout, errstr, errstr_size);
}

void egw_session_finish(egw_session_t *s)
{
	if (s->finishing)
		return;
	s->finishing = 1;
	if (!s->gops->finish(s->graph)) {
		/* Nothing ever flowed: end the outputs directly. */
		for (size_t i = 0; i < s->n_outs; i++)
			if (!s->outs[i].failed)
				gst_element_send_event(s->outs[i].bin, gst_event_new_eos());
	}
	all_finished_check(s);
}

void egw_session_stop(egw_session_t *s)
{
	if (s && s->pipeline)
		gst_element_set_state(s->pipeline, GST_STATE_NULL);
}

json_t *egw_session_outputs(egw_session_t *s)
{
	json_t *list = json_array();
	double duration = s->gops->duration_s(s->graph);
	for (size_t i = 0; i < s->n_outs; i++) {
		struct out *o = &s->outs[i];
		json_t *d = o->ops->describe(o->o, s->gops->output_duration_s
		                                           ? s->gops->output_duration_s(s->graph, i)
		                                           : duration);
		if (!d)
			continue;
		if (o->failed) {
			json_object_del(d, "duration_s"); /* unknown: it stopped early */
			json_object_set_new(d, "error", json_pack("{s:s, s:s}", "code",
								  egw_err2code(o->err), "message",
								  o->errmsg));
		}
		json_array_append_new(list, d);
	}
	return list;
}

egw_err_t egw_session_track_output(egw_session_t *s, const egw_track_t *t, egw_media_t media,
                                   const char *codec, GstPad *srcpad, size_t *index, char *errstr,
                                   size_t errstr_size)
{
	const egw_output_plan_t *op = NULL;
	GstElement *tee;
	GstPad *teesink;
	size_t i = s->n_outs;
	egw_err_t err;

	if (s->finishing || i == EGW_SESSION_OUTPUTS_MAX || !s->ev.track_output) {
		snprintf(errstr, errstr_size, "%s",
		         s->finishing ? "the egress is ending" : "no room for another file");
		return EGW_ERR_NOT_SUPPORTED;
	}
	if ((err = s->ev.track_output(s->opaque, t, &op, errstr, errstr_size)))
		return err;
	if ((err = add_output(s, i, op, errstr, errstr_size)))
		return err;
	if (!(tee = gst_element_factory_make("tee", NULL)) ||
	    !gst_bin_add(GST_BIN(s->pipeline), tee)) {
		snprintf(errstr, errstr_size, "GStreamer element tee is missing");
		return EGW_ERR_MEDIA;
	}
	g_object_set(tee, "allow-not-linked", TRUE, NULL);
	if ((err = feed_output(s, &s->outs[i], tee, media, codec, errstr, errstr_size)))
		return err;
	if (s->outs[i].ops->ready)
		s->outs[i].ops->ready(s->outs[i].o);
	teesink = gst_element_get_static_pad(tee, "sink");
	if (gst_pad_link(srcpad, teesink) != GST_PAD_LINK_OK) {
		snprintf(errstr, errstr_size, "cannot link %s to its file", t->id);
		err = EGW_ERR_MEDIA;
	}
	gst_object_unref(teesink);
	gst_element_sync_state_with_parent(s->outs[i].bin);
	gst_element_sync_state_with_parent(tee);
	*index = i;
	return err;
}

struct file_started {
	char *track_id;
	double offset_s;
};

static void file_started_free(gpointer p)
{
	struct file_started *f = p;
	g_free(f->track_id);
	g_free(f);
}

static void on_file_started(void *target, void *data)
{
	egw_session_t *s = target;
	struct file_started *f = data;
	if (s->ev.track_file_started)
		s->ev.track_file_started(s->opaque, f->track_id, f->offset_s);
}

void egw_session_track_file_started(egw_session_t *s, const char *track_id, double offset_s)
{
	struct file_started *f = g_new0(struct file_started, 1);
	f->track_id = g_strdup(track_id);
	f->offset_s = offset_s;
	egw_life_invoke(s->life, on_file_started, f, file_started_free);
}

double egw_session_position_s(egw_session_t *s)
{
	return s && s->graph ? s->gops->duration_s(s->graph) : 0.0;
}

void egw_session_flow(egw_session_t *s, egw_flow_stats_t *out)
{
	egw_flow_read(s->flow, out);
}

void egw_session_free(egw_session_t *s)
{
	if (!s)
		return;
	if (s->pipeline)
		gst_element_set_state(s->pipeline, GST_STATE_NULL);
	if (s->bus_watch)
		g_source_remove(s->bus_watch);
	egw_life_end(s->life);
	if (s->graph)
		s->gops->free(s->graph);
	for (size_t i = 0; i < s->n_outs; i++) {
		g_slist_free_full(s->outs[i].feeds, gst_object_unref);
		g_slist_free_full(s->outs[i].queues, gst_object_unref);
		if (s->outs[i].bin)
			gst_object_unref(s->outs[i].bin);
		if (s->outs[i].o)
			s->outs[i].ops->free(s->outs[i].o);
	}
	if (s->pipeline)
		gst_object_unref(s->pipeline);
	egw_flow_free(s->flow);
	g_free(s->log_id);
	g_free(s);
}
