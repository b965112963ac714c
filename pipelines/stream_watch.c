/* The stall watchdog of a stream output's destinations (see
 * stream_int.h), on the main context every WATCH_MS: a destination is
 * active once its server takes data, and down when it takes none for
 * STALL_S while data waits. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "pipelines/stream_int.h"

static guint64 stat_u64(const GstStructure *s, const char *field)
{
	guint64 v = 0;
	const GValue *gv = s ? gst_structure_get_value(s, field) : NULL;
	if (gv && G_VALUE_HOLDS_UINT64(gv))
		v = g_value_get_uint64(gv);
	else if (gv && G_VALUE_HOLDS_UINT(gv))
		v = g_value_get_uint(gv);
	return v;
}

/* Is the destination connected and taking data? rtmp2sink has statistics
 * only while connected and publishing (it takes the FLV header and the
 * stream headers before that, so buffers taken say nothing). srtsink
 * connects before it takes any buffer, and returns from one once it is
 * sent: two taken, the first went out. */
static int dest_publishing(struct dest *d, gint rendered)
{
	GstStructure *st = NULL;
	guint64 sent;

	if (d->srt)
		return rendered >= 2;
	g_object_get(d->sink, "stats", &st, NULL);
	sent = stat_u64(st, "out-bytes-total");
	if (st)
		gst_structure_free(st);
	return sent > 0 && rendered >= 2;
}

void egw_stream_watch_dest(egw_output_t *o, struct dest *d, gint64 now)
{
	gint entered = g_atomic_int_get(&d->entered);
	gint rendered = g_atomic_int_get(&d->rendered);

	if (d->bin && d->drop_at_us && now >= d->drop_at_us) {
		d->drop_at_us = 0;
		if (d->state == D_REMOVED)
			egw_stream_dest_take_down(o, d); /* its end went out, or never will */
		else
			egw_stream_dest_end_out(o, d);
		return;
	}
	if (egw_stream_dest_past_window(o, d, now)) /* (also between attempts, waiting for the next) */
		return;
	if (!d->bin || d->state == D_REMOVED) /* failed, removed, done, or waiting */
		return;
	if (rendered != d->seen_rendered) {
		d->seen_rendered = rendered;
		d->rendered_at_us = now;
	}
	if (d->state != D_ACTIVE && dest_publishing(d, rendered)) {
		int again = d->ever_active;
		d->ever_active = 1;
		d->error[0] = '\0';
		if (!o->wrote) { /* the egress is active first, then says where */
			o->wrote = 1;
			if (o->ev.first_byte)
				o->ev.first_byte(o->opaque);
		}
		egw_stream_dest_set(o, d, D_ACTIVE, again ? "reconnected" : NULL);
	}
	if (entered != d->seen_entered && rendered == d->seen_rendered &&
	    now - d->rendered_at_us > (gint64)STALL_S * G_USEC_PER_SEC) {
		egw_stream_dest_down(o, d,
		                     d->state == D_ACTIVE ? "the server took no data for 5 s"
		                                          : "no connection within 5 s");
		return;
	}
	d->seen_entered = entered;
	if (!d->srt && d->state == D_ACTIVE && d->sink) {
		GstStructure *st = NULL;
		guint64 total, acked, window;
		g_object_get(d->sink, "stats", &st, NULL);
		total = stat_u64(st, "out-bytes-total");
		acked = stat_u64(st, "out-bytes-acked");
		window = stat_u64(st, "out-window-ack-size");
		if (st)
			gst_structure_free(st);
		if (acked != d->acked) {
			d->acked = acked;
			d->acked_at_us = now;
		}
		/* The server owes an acknowledgement and has sent none for a
		 * while: it stopped reading (frozen, or a dead link). */
		if (window && total > acked + window + window / 2 &&
		    now - d->acked_at_us > (gint64)STALL_S * G_USEC_PER_SEC)
			egw_stream_dest_down(o, d, "the server acknowledged nothing for 5 s");
	}
}
