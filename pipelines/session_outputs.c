/* The session's outputs (see session_int.h): each fed from the streams'
 * tees through its own queue, its first byte, end and failure, what it
 * reports, per-track files, and stream updates. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/session_int.h"

/* ---- outputs: first byte, end, failure ---- */

void egw_session_check_done(egw_session_t *s)
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
	egw_session_check_done(s);
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

void egw_session_fail_output(egw_session_t *s, struct out *o, egw_err_t err, const char *msg)
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
	egw_session_check_done(s);
}

struct out *egw_session_output_of(egw_session_t *s, GstObject *src)
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

/* ---- streams ---- */

/* Live: a slow output drops its oldest data instead of holding up the
 * others. A render (not live) waits for it instead: nothing is lost. */
static GstElement *output_queue(int live)
{
	GstElement *q = gst_element_factory_make("queue", NULL);
	if (q)
		g_object_set(q, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
		             (guint64)EGW_OUTPUT_QUEUE_NS, "leaky",
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
	egw_session_fail_output(o->s, o, err, message);
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

egw_err_t egw_session_add_output(egw_session_t *s, size_t i, const egw_output_plan_t *op,
                                 char *errstr, size_t errstr_size)
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
	if ((err = egw_session_add_output(s, i, op, errstr, errstr_size)))
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
