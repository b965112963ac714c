/* pipelines: egw_graph_guard_queue. A tee feeds two queued branches; one
 * branch's element fails with a fatal flow error after 5 buffers (as an
 * RTMP sink whose server went away); the source is live, as the egress's
 * are. Unguarded, the error goes back up the
 * tee and the source stops: the healthy branch gets only part of the 100
 * buffers (checked, so that this test shows what it guards against).
 * Guarded, the failed branch's input is dropped and the healthy branch
 * gets all 100. */
#include <gst/gst.h>

#include "pipelines/graph.h"
#include "tests/unit/check.h"

#define BUFFERS 100

static GstPadProbeReturn count(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	(void)pad;
	(void)info;
	g_atomic_int_inc((gint *)user);
	return GST_PAD_PROBE_OK;
}

/* Buffers the healthy branch got. */
static int run(int guarded)
{
	GError *err = NULL;
	GstElement *p = gst_parse_launch(
	        "videotestsrc is-live=true num-buffers=" G_STRINGIFY(BUFFERS)
	        " ! video/x-raw,width=64,height=36,framerate=100/1 "
	        "! tee name=t t. ! queue name=bad ! identity error-after=5 ! fakesink "
	        "t. ! queue name=good ! fakesink name=healthy",
	        &err);
	GstElement *sink;
	GstPad *pad;
	GstBus *bus;
	gint got = 0;
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	CHECK(p != NULL);
	if (!p) {
		g_clear_error(&err);
		return -1;
	}
	if (guarded) {
		for (const char *const *n = (const char *const[]){"bad", "good", NULL}; *n; n++) {
			GstElement *q = gst_bin_get_by_name(GST_BIN(p), *n);
			egw_graph_guard_queue(q);
			gst_object_unref(q);
		}
	}
	sink = gst_bin_get_by_name(GST_BIN(p), "healthy");
	pad = gst_element_get_static_pad(sink, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count, &got, NULL);
	gst_object_unref(pad);
	gst_object_unref(sink);
	bus = gst_element_get_bus(p);
	gst_element_set_state(p, GST_STATE_PLAYING);
	/* until every buffer came, or none came for a second (the source
	 * stopped), or the end */
	for (gint last = -1, n; (n = g_atomic_int_get(&got)) < BUFFERS &&
	                        g_get_monotonic_time() < deadline;
	     last = n) {
		GstMessage *m = gst_bus_timed_pop_filtered(bus, GST_SECOND, GST_MESSAGE_EOS);
		if (m) {
			gst_message_unref(m);
			break;
		}
		if (n == last)
			break;
	}
	g_usleep(200 * 1000); /* (anything still in the healthy queue) */
	gst_element_set_state(p, GST_STATE_NULL);
	gst_object_unref(bus);
	gst_object_unref(p);
	return g_atomic_int_get(&got);
}

int main(int argc, char **argv)
{
	int unguarded, guarded;
	gst_init(&argc, &argv);
	unguarded = run(0);
	guarded = run(1);
	printf("healthy branch: %d of %d buffers unguarded, %d guarded\n", unguarded, BUFFERS,
	       guarded);
	CHECK(unguarded >= 0 && unguarded < BUFFERS);
	CHECK(guarded == BUFFERS);
	return CHECK_DONE();
}
