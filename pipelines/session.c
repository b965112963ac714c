/* The media session: pipeline, bus with errors attributed to outputs, the
 * graph, and the life cycle; the fan-out of each stream to the outputs
 * (tee, then a queue per output) is in session_outputs.c. See session.h. */
#include "pipelines/session.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/session_int.h"

GST_DEBUG_CATEGORY_STATIC(egw_session_debug);
#define GST_CAT_DEFAULT egw_session_debug

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
		o = egw_session_output_of(s, GST_MESSAGE_SRC(msg));
		if (o && o->ops->element_error &&
		    o->ops->element_error(o->o, GST_MESSAGE_SRC(msg), clean))
			; /* one destination of the output; it goes on */
		else if (!o && s->graph && s->gops->element_error &&
		    s->gops->element_error(s->graph, GST_MESSAGE_SRC(msg), clean))
			; /* one input of the graph, dropped; the egress goes on */
		else if (o)
			egw_session_fail_output(s, o,
			                        gerr->domain == GST_RESOURCE_ERROR ? EGW_ERR_IO
			                                                           : EGW_ERR_MEDIA,
			                        clean);
		else if (GST_MESSAGE_SRC(msg) != GST_OBJECT(s->pipeline) &&
		         !gst_object_has_as_ancestor(GST_MESSAGE_SRC(msg), GST_OBJECT(s->pipeline)))
			/* From an element taken out since (a placeholder or a
			 * branch gone): its error came too late to matter. */
			EGW_LOG(s->log_id, WARN,
			        "%s came from %s, no longer in the pipeline; ignored", clean, path);
		else if (!s->done) {
			s->done = 1;
			s->ev.failed(s->opaque, EGW_ERR_MEDIA, text);
		}
		g_free(path);
		g_free(dbg);
		g_error_free(gerr);
		break;
	case GST_MESSAGE_ELEMENT:
		if ((o = egw_session_output_of(s, GST_MESSAGE_SRC(msg))) && o->ops->message &&
		    !o->failed)
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

/* ---- life cycle ---- */

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
		if ((*err = egw_session_add_output(s, i, &s->plan.outputs[i], errstr, errstr_size)))
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
	egw_session_check_done(s);
}

void egw_session_stop(egw_session_t *s)
{
	if (s && s->pipeline)
		gst_element_set_state(s->pipeline, GST_STATE_NULL);
}

void egw_session_abandon(egw_session_t *s)
{
	if (!s)
		return;
	egw_session_stop(s);
	for (size_t i = 0; i < s->n_outs; i++) {
		struct out *o = &s->outs[i];
		if (o->wrote && !o->finished && !o->failed && o->ops->abandon)
			o->ops->abandon(o->o);
	}
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
