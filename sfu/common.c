/* Helpers every source adapter uses (sfu/source.h, "adapters"). */
#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"
#include "sfu/source.h"

GSList *egw_source_discard(GSList *discards, GstBin *bin, GstPad *pad)
{
	GstElement *sink = gst_element_factory_make("fakesink", NULL);
	GstPad *sinkpad;
	if (!sink)
		return discards;
	g_object_set(sink, "async", FALSE, "sync", FALSE, NULL);
	if (!gst_bin_add(bin, sink)) {
		gst_object_unref(sink);
		return discards;
	}
	gst_element_sync_state_with_parent(sink);
	sinkpad = gst_element_get_static_pad(sink, "sink");
	gst_pad_link(pad, sinkpad);
	gst_object_unref(sinkpad);
	return g_slist_prepend(discards, gst_object_ref(sink));
}

void egw_source_discards_remove(GSList *discards, GstBin *bin)
{
	for (GSList *l = discards; l; l = l->next) {
		egw_element_drop(bin, l->data);
		gst_object_unref(l->data);
	}
	g_slist_free(discards);
}

void egw_element_drop(GstBin *bin, GstElement *e)
{
	gst_element_set_locked_state(e, TRUE);
	gst_element_set_state(e, GST_STATE_NULL);
	gst_bin_remove(bin, e);
}

void egw_source_failv(const egw_source_events_t *ev, void *opaque, const char *log_id, int *failed,
                      egw_err_t err, const char *fmt, va_list ap)
{
	char msg[512];
	if (*failed)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	*failed = 1;
	EGW_LOG(log_id, ERROR, "%s", msg);
	ev->error(opaque, err, msg);
}

GstPadProbeReturn egw_source_count_buffers(GstPad *pad, GstPadProbeInfo *info, gpointer counter)
{
	(void)pad;
	(void)info;
	g_atomic_int_inc((gint *)counter);
	return GST_PAD_PROBE_OK;
}

guint egw_source_timer_add(GMainContext *ctx, guint interval_ms, GSourceFunc fn, gpointer data)
{
	GSource *t = g_timeout_source_new(interval_ms);
	guint id;
	g_source_set_callback(t, fn, data, NULL);
	id = g_source_attach(t, ctx);
	g_source_unref(t);
	return id;
}

void egw_source_timer_remove(GMainContext *ctx, guint *id)
{
	GSource *t = *id ? g_main_context_find_source_by_id(ctx, *id) : NULL;
	if (t)
		g_source_destroy(t);
	*id = 0;
}
