/* Plain RTP forwarded by an SFU (Janus rtp_forward, mediasoup
 * PlainTransport, FFmpeg...), optionally SRTP with SDES keys, as a
 * room-wide source. Nothing is signalled: each SDP of the job says where
 * one participant's streams arrive (base/sdp.h); the worker listens there.
 *
 * Per SDP (participant): one rtpbin (lip-sync across its streams by their
 * RTCP sender reports). Per m= line (track): a UDP socket for RTP and one
 * for RTCP, bound here so that a port in use is a clear error, an srtpdec
 * when the line has a key, and an rtpbin session.
 *
 * A track is published when its first packet gets through, and gone after
 * SILENT_US without one (the egress then waits empty_room_timeout_s for
 * it, as for a participant who left). Packets that arrive but never get
 * through (wrong key, payload type the SDP does not list) end the egress
 * with what is wrong after VERDICT_US, counted rather than logged one by
 * one.
 *
 * Threads: the probes count into atomics of their stream (the elements
 * stop before a stream is freed); rtpbin's pad-added and pad-removed block
 * the pad and queue the work to the main context through the source's
 * life token. Everything else runs on the job's main context. */
#include <gio/gio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/life.h"
#include "base/log.h"
#include "base/sdp.h"
#include "sfu/rtp.h"
#include "sfu/rtp_int.h"

#define TICK_MS 250
#define SILENT_US (3 * G_USEC_PER_SEC)
#define VERDICT_US (2 * G_USEC_PER_SEC)
#define WARN_EVERY_US (10 * G_USEC_PER_SEC)

GST_DEBUG_CATEGORY_STATIC(egw_rtp_debug);
#define GST_CAT_DEFAULT egw_rtp_debug
static void fail(struct egw_source *src, egw_err_t err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void fail(struct egw_source *src, egw_err_t err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	egw_source_failv(&src->ev, src->opaque, src->log_id, &src->failed, err, fmt, ap);
	va_end(ap);
}

void egw_rtp_view(const struct rtp_stream *s, egw_track_t *out)
{
	*out = (egw_track_t){
	        .id = s->id,
	        .participant = {s->party->name, s->party->name},
	        .mid = s->sdp.mid,
	        .media = s->sdp.media,
	        .codec = s->sdp.formats[0].codec,
	        .screen = s->sdp.screen,
	};
}

static GstPadProbeReturn drop_all(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	(void)pad;
	(void)user;
	return GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER ? GST_PAD_PROBE_DROP
	                                                                 : GST_PAD_PROBE_PASS;
}

static GstPadProbeReturn hold(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	(void)pad;
	(void)info;
	(void)user;
	return GST_PAD_PROBE_OK;
}

/* ---- publishing and leaving (main context) ---- */

static void set_present(struct rtp_party *p)
{
	int any = 0;
	for (size_t i = 0; i < p->n_streams; i++)
		any |= p->streams[i].announced;
	if (any != p->present && p->src->ev.participant) {
		egw_participant_t who = {p->name, p->name};
		p->present = any;
		p->src->ev.participant(p->src->opaque, &who, any);
	}
	p->present = any;
}

static void announce(struct rtp_stream *s)
{
	struct egw_source *src = s->party->src;
	char errstr[256] = "";
	egw_track_t t;
	if (s->announced || s->refused || !s->wanted || src->failed)
		return;
	egw_rtp_view(s, &t);
	s->announced = 1;
	set_present(s->party);
	if (src->ev.track_added(src->opaque, &t, errstr, sizeof(errstr))) {
		s->announced = 0;
		s->refused = 1;
		set_present(s->party);
		return;
	}
	EGW_LOG(src->log_id, INFO, "receiving %s %s of %s on %s:%d (track %s)",
	        egw_media2str(s->sdp.media), s->sdp.formats[0].codec, s->party->name,
	        s->sdp.address, s->sdp.port, s->id);
}

/* A participant's first packet publishes all of its tracks at once (a
 * recording of them starts with every track it will have); after that,
 * a track that went silent comes back on its own. */
static void publish(struct rtp_stream *s, gint64 now)
{
	struct rtp_party *p = s->party;
	if (p->present) {
		announce(s);
		return;
	}
	for (size_t i = 0; i < p->n_streams; i++) {
		p->streams[i].last_us = now;
		announce(&p->streams[i]);
	}
}

/* The announced track's pad goes to the consumer; its packets flow. */
static void link_pad(struct rtp_stream *s)
{
	struct egw_source *src = s->party->src;
	egw_track_t t;
	if (!s->announced || !s->pad || s->pad_linked)
		return;
	egw_rtp_view(s, &t);
	src->ev.track_pad(src->opaque, &t, s->pad);
	s->pad_linked = 1;
	if (s->drop_id) {
		gst_pad_remove_probe(s->pad, s->drop_id);
		s->drop_id = 0;
	}
}

/* The track is gone (silent, or its sender's pad went): its pad, if it
 * stays, drops what comes until the track is back. */
static void unannounce(struct rtp_stream *s, const char *why)
{
	struct egw_source *src = s->party->src;
	egw_track_t t;
	if (!s->announced)
		return;
	if (s->pad && s->pad_linked && !s->drop_id)
		s->drop_id = gst_pad_add_probe(s->pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, drop_all,
		                               NULL, NULL);
	if (s->pad && s->pad_linked) {
		GstPad *peer = gst_pad_get_peer(s->pad);
		if (peer) {
			gst_pad_unlink(s->pad, peer);
			gst_object_unref(peer);
		}
	}
	s->pad_linked = 0;
	s->announced = 0;
	EGW_LOG(src->log_id, INFO, "track %s of %s is gone: %s", s->id, s->party->name, why);
	egw_rtp_view(s, &t);
	src->ev.track_removed(src->opaque, &t);
	set_present(s->party);
}

/* ---- rtpbin's pads (queued from streaming threads) ---- */

struct pad_work {
	GstPad *pad;
	guint session, ssrc;
	gulong block_id;
	int added;
};

static void pad_work_free(gpointer data)
{
	struct pad_work *w = data;
	if (w->block_id)
		gst_pad_remove_probe(w->pad, w->block_id);
	gst_object_unref(w->pad);
	g_free(w);
}

static struct rtp_stream *stream_of(struct egw_source *src, GstElement *rtpbin, guint session)
{
	for (size_t i = 0; i < src->n_parties; i++)
		if (src->parties[i].rtpbin == rtpbin && session < src->parties[i].n_streams)
			return &src->parties[i].streams[session];
	return NULL;
}

static void on_pad_main(void *target, void *data)
{
	struct egw_source *src = target;
	struct pad_work *w = data;
	GstElement *rtpbin = GST_ELEMENT(gst_pad_get_parent(w->pad));
	struct rtp_stream *s = rtpbin ? stream_of(src, rtpbin, w->session) : NULL;

	if (rtpbin)
		gst_object_unref(rtpbin);
	if (!s)
		return;
	if (!w->added) { /* pad-removed */
		if (s->pad == w->pad) {
			unannounce(s, "its sender timed out");
			gst_object_unref(s->pad);
			s->pad = NULL;
		}
		return;
	}
	if (s->pad && s->pad_linked) {
		if ((guint)g_atomic_int_get(&s->last_ssrc) != w->ssrc || s->pad_ssrc == w->ssrc) {
			EGW_LOG(src->log_id, WARN,
			        "a second sender (SSRC %08x) on %s:%d is ignored while the first "
			        "one sends",
			        w->ssrc, s->sdp.address, s->sdp.port);
			src->discards = egw_source_discard(src->discards, src->bin, w->pad);
			return;
		}
		unannounce(s, "its sender changed (new SSRC)"); /* then back as the new one */
	}
	if (s->pad) {
		if (!s->drop_id) /* the old sender's pad: nobody takes it */
			src->discards = egw_source_discard(src->discards, src->bin, s->pad);
		gst_object_unref(s->pad);
	}
	s->pad = gst_object_ref(w->pad);
	s->pad_ssrc = w->ssrc;
	s->drop_id = 0;
	publish(s, g_get_monotonic_time());
	if (s->announced)
		link_pad(s);
	else {
		src->discards = egw_source_discard(src->discards, src->bin, s->pad);
		s->pad_linked = 1; /* (to the discard) */
	}
}

static void queue_pad(GstElement *rtpbin, GstPad *pad, gpointer user, int added)
{
	egw_life_t *life = user;
	guint session, ssrc, pt;
	struct pad_work *w;
	const char *name = GST_PAD_NAME(pad);
	(void)rtpbin;
	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC ||
	    sscanf(name, "recv_rtp_src_%u_%u_%u", &session, &ssrc, &pt) != 3)
		return;
	w = g_new0(struct pad_work, 1);
	w->pad = gst_object_ref(pad);
	w->session = session;
	w->ssrc = ssrc;
	w->added = added;
	if (added) /* nothing flows before the main context links it */
		w->block_id = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold,
		                                NULL, NULL);
	egw_life_invoke(life, on_pad_main, w, pad_work_free);
}

void egw_rtp_on_pad_added(GstElement *rtpbin, GstPad *pad, gpointer user)
{
	queue_pad(rtpbin, pad, user, 1);
}

void egw_rtp_on_pad_removed(GstElement *rtpbin, GstPad *pad, gpointer user)
{
	queue_pad(rtpbin, pad, user, 0);
}

/* ---- the tick: publishing, silence, verdicts (main context) ---- */

static void check_stream(struct rtp_stream *s, gint64 now)
{
	struct egw_source *src = s->party->src;
	gint passed = g_atomic_int_get(&s->passed), arrived = g_atomic_int_get(&s->arrived);
	gint unlisted = g_atomic_int_get(&s->unlisted_pt);
	gint failed = arrived - passed - unlisted - g_atomic_int_get(&s->other_pt);
	const char *media = egw_media2str(s->sdp.media);

	if (!s->seen_rtcp && (s->seen_rtcp = g_atomic_int_get(&s->rtcp)) > 0)
		EGW_LOG(src->log_id, INFO,
		        "%s of %s: RTCP arrives on port %d (its sender reports "
		        "align the streams)",
		        media, s->party->name, s->sdp.rtcp_port);
	if (passed != s->seen_passed) {
		s->seen_passed = passed;
		s->last_us = now;
		s->failing_since_us = s->unlisted_since_us = 0;
		publish(s, now);
		if (s->pad && (guint)g_atomic_int_get(&s->last_ssrc) == s->pad_ssrc)
			link_pad(s);
	} else if (s->announced && now - s->last_us > SILENT_US)
		unannounce(s, "no packet for 3 s");
	/* failed counts packets srtpdec rejected (a few in flight too) */
	if (s->srtp && failed > s->seen_failed + 2) {
		if (!s->failing_since_us)
			s->failing_since_us = now;
		s->seen_failed = failed;
	}
	if (unlisted != s->seen_unlisted) {
		if (!s->unlisted_since_us)
			s->unlisted_since_us = now;
		s->seen_unlisted = unlisted;
	}
	if (s->failing_since_us && now - s->failing_since_us > VERDICT_US)
		fail(src, EGW_ERR_UNAUTHORIZED,
		     "%s of %s on %s:%d: %d packets arrived but failed SRTP authentication "
		     "(%s): the key or suite in room.sdp is not the sender's",
		     media, s->party->name, s->sdp.address, s->sdp.port, failed,
		     egw_srtp_suite2str(s->sdp.suite));
	else if (s->unlisted_since_us && now - s->unlisted_since_us > VERDICT_US)
		fail(src, EGW_ERR_INVALID_REQUEST,
		     "%s of %s on %s:%d: %d packets arrived with payload type %d, which its m= "
		     "line does not list (it has %d)",
		     media, s->party->name, s->sdp.address, s->sdp.port, unlisted,
		     g_atomic_int_get(&s->last_pt), s->sdp.formats[0].pt);
	else if (failed > s->warned_failed + 2 && now - s->warned_us > WARN_EVERY_US &&
	         s->seen_passed > 0) {
		EGW_LOG(src->log_id, WARN,
		        "%s of %s on %s:%d: %d packets failed SRTP authentication", media,
		        s->party->name, s->sdp.address, s->sdp.port, failed);
		s->warned_failed = failed;
		s->warned_us = now;
	}
}

static gboolean on_tick(gpointer user)
{
	struct egw_source *src = user;
	gint64 now = g_get_monotonic_time();
	for (size_t i = 0; i < src->n_parties && !src->failed; i++)
		for (size_t j = 0; j < src->parties[i].n_streams && !src->failed; j++)
			check_stream(&src->parties[i].streams[j], now);
	return G_SOURCE_CONTINUE;
}

/* ---- the source ---- */

static void remove_element(GstBin *bin, GstElement **e)
{
	if (!*e)
		return;
	egw_element_drop(bin, *e);
	*e = NULL;
}

static void rtp_close(egw_source_t *src, void (*done)(void *user), void *user)
{
	if (!src) {
		if (done)
			done(user);
		return;
	}
	egw_source_timer_remove(src->ctx, &src->tick);

	egw_life_end(src->life); /* queued pad work finds it dead */
	for (size_t i = 0; i < src->n_parties; i++) {
		struct rtp_party *p = &src->parties[i];
		/* sources first: no packet enters what is being taken down */
		for (size_t j = 0; j < p->n_streams; j++) {
			remove_element(src->bin, &p->streams[j].rtp_src);
			remove_element(src->bin, &p->streams[j].rtcp_src);
		}
		remove_element(src->bin, &p->rtpbin);
		for (size_t j = 0; j < p->n_streams; j++) {
			struct rtp_stream *s = &p->streams[j];
			remove_element(src->bin, &s->srtp);
			if (s->pad)
				gst_object_unref(s->pad);
			if (s->srtp_caps)
				gst_caps_unref(s->srtp_caps);
		}
		g_free(p->name);
	}
	egw_source_discards_remove(src->discards, src->bin);
	g_free(src->parties);
	egw_source_filter_copy_clear(&src->filter);
	g_free(src->log_id);
	g_free(src);
	if (done) /* nothing to say goodbye to */
		done(user);
}

/* The job's filter names something none of the SDPs has. */
static int nothing_selected(const struct egw_source *src, const egw_source_spec_t *spec,
                            char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < src->n_parties; i++)
		if (src->parties[i].n_streams)
			return 0;
	if (spec->filter.participant)
		snprintf(errstr, errstr_size,
		         "source.participant: %s is not the session name (s=) of any room.sdp",
		         spec->filter.participant);
	else if (spec->filter.track_ids[0])
		snprintf(errstr, errstr_size,
		         "source: no m= line of room.sdp is track %s (\"<s=>/<a=mid>\")",
		         spec->filter.track_ids[0]);
	else
		snprintf(errstr, errstr_size, "room.sdp has no stream this egress records");
	return 1;
}

static egw_source_t *rtp_open(const egw_source_spec_t *spec, GstBin *bin, GMainContext *ctx,
                              const egw_source_events_t *ev, void *opaque, char *errstr,
                              size_t errstr_size)
{
	struct egw_source *src = NULL;
	egw_sdp_t *sdp = g_new0(egw_sdp_t, 1);
	char msg[400];

	if (!egw_rtp_debug)
		GST_DEBUG_CATEGORY_INIT(egw_rtp_debug, "egw-rtp", 0, "plain RTP source");
	if (!spec->n_sdps) {
		snprintf(errstr, errstr_size, "room.sdp: is required for sfu rtp");
		g_free(sdp);
		return NULL;
	}
	src = g_new0(struct egw_source, 1);
	src->bin = bin;
	src->ctx = ctx ? ctx : g_main_context_default();
	src->ev = *ev;
	src->opaque = opaque;
	src->log_id = g_strdup(spec->log_id);
	egw_source_filter_copy(&src->filter, &spec->filter);
	src->life = egw_life_new(ctx, src);
	src->parties = g_new0(struct rtp_party, spec->n_sdps);
	for (size_t i = 0; i < spec->n_sdps; i++) {
		int rc;
		if (egw_sdp_parse(spec->sdps[i], sdp, msg, sizeof(msg))) {
			snprintf(errstr, errstr_size, "room.sdps[%zu]: %s", i, msg);
			goto fail;
		}
		src->n_parties++;
		rc = egw_rtp_build_party(src, &src->parties[i], sdp, errstr, errstr_size);
		egw_sdp_wipe(sdp);
		if (rc)
			goto fail;
	}
	if (nothing_selected(src, spec, errstr, errstr_size))
		goto fail;
	for (size_t i = 0; i < src->n_parties; i++) {
		struct rtp_party *p = &src->parties[i];
		for (size_t j = 0; j < p->n_streams; j++) {
			struct rtp_stream *s = &p->streams[j];
			if (s->srtp)
				gst_element_sync_state_with_parent(s->srtp);
		}
		if (p->rtpbin)
			gst_element_sync_state_with_parent(p->rtpbin);
		for (size_t j = 0; j < p->n_streams; j++) {
			gst_element_sync_state_with_parent(p->streams[j].rtcp_src);
			gst_element_sync_state_with_parent(p->streams[j].rtp_src);
			EGW_LOG(src->log_id, INFO, "listening for %s of %s on %s:%d (RTCP %d%s%s)",
			        egw_media2str(p->streams[j].sdp.media), p->name,
			        p->streams[j].sdp.address, p->streams[j].sdp.port,
			        p->streams[j].sdp.rtcp_port, p->streams[j].srtp ? ", SRTP " : "",
			        p->streams[j].srtp ? egw_srtp_suite2str(p->streams[j].sdp.suite)
			                           : "");
		}
	}
	src->tick = egw_source_timer_add(src->ctx, TICK_MS, on_tick, src);

	g_free(sdp);
	return src;
fail:
	egw_sdp_wipe(sdp);
	g_free(sdp);
	rtp_close(src, NULL, NULL);
	return NULL;
}

const egw_source_ops_t egw_rtp_source = {
        .name = "rtp",
        .open = rtp_open,
        .close = rtp_close,
};
