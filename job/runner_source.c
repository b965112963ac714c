/* The room's side of a job: the source's events (sfu/source.h) as the
 * runner takes them: participants and tracks into the session and the
 * manifest, the wait for an absent source, the SFU's connection lost and
 * regained.
 * locality: the job's main context. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "job/runner_int.h"

/* Does the egress follow the whole room (not one participant or track)? */
static int room_wide(const runner_t *r)
{
	return r->job->source.kind == EGW_SOURCE_ROOM_COMPOSITE ||
	       r->job->source.kind == EGW_SOURCE_ROOM_TRACKS;
}

static gboolean absent_expired(gpointer user)
{
	runner_t *r = user;
	char msg[512];
	r->absent_timer = 0;
	if (r->sfu_down) { /* not an empty room: the SFU is gone */
		snprintf(msg, sizeof(msg), "the SFU did not come back within %d s: %s",
		         r->job->limits.empty_room_timeout_s, r->sfu_down_msg);
		egw_runner_fail(r, EGW_ERR_SFU_UNREACHABLE, msg);
		return G_SOURCE_REMOVE;
	}
	if (r->active) {
		egw_runner_request_stop(r, room_wide(r) ? "room empty" : "source absent");
		return G_SOURCE_REMOVE;
	}
	if (room_wide(r))
		snprintf(msg, sizeof(msg), "nobody published in the room within %d s",
		         r->job->limits.empty_room_timeout_s);
	else
		snprintf(msg, sizeof(msg), "%s did not publish within %d s",
		         r->job->source.participant ? r->job->source.participant
		         : r->job->source.track_id  ? r->job->source.track_id
		                                    : "the source",
		         r->job->limits.empty_room_timeout_s);
	egw_runner_fail(r, EGW_ERR_NOT_FOUND, msg);
	return G_SOURCE_REMOVE;
}

void egw_runner_start_absent(runner_t *r)
{
	if (!r->absent_timer && !r->stopping)
		r->absent_timer = g_timeout_add_seconds((guint)r->job->limits.empty_room_timeout_s,
		                                        absent_expired, r);
}

static void src_participant(void *opaque, const egw_participant_t *p, int present)
{
	runner_t *r = opaque;
	egw_manifest_participant(r->manifest, p->name, present, g_get_real_time());
	if (r->session)
		egw_session_room_event(r->session,
		                       present ? "participant_joined" : "participant_left", p->name,
		                       NULL);
	if (r->active && !r->stopping)
		egw_runner_emit(r, "active", NULL,
		                egw_runner_detail(present ? "participant_published"
		                                          : "participant_unpublished",
		                                  "participant", p->name));
}

/* A track the egress goes on without, on the status topic. */
static void emit_skipped(runner_t *r, const char *track_id, const char *participant,
                         const char *reason)
{
	if (!r->stopping)
		egw_runner_emit(r, r->active ? "active" : "starting", NULL,
		                json_pack("{s:{s:s, s:s, s:s, s:s}}", "details", "event",
		                          "track_skipped", "track", track_id, "participant",
		                          participant, "reason", reason));
}

static egw_err_t src_track_added(void *opaque, const egw_track_t *t, char *errstr,
                                 size_t errstr_size)
{
	runner_t *r = opaque;
	egw_err_t err = egw_session_track_added(r->session, t, errstr, errstr_size);
	if (err == EGW_ERR_NOT_SUPPORTED) { /* the egress goes on without it */
		EGW_LOG(r->status.egress_id, WARN, "track %s skipped: %s", t->id, errstr);
		emit_skipped(r, t->id, t->participant.name, errstr);
		return err;
	}
	if (err) {
		egw_runner_fail(r, err, errstr);
		return err;
	}
	egw_manifest_track(r->manifest, t->participant.name, t->id, egw_media2str(t->media),
	                   t->codec, t->screen, 1, g_get_real_time());
	r->n_tracks++;
	egw_runner_cancel(&r->absent_timer);
	return EGW_OK;
}

static void src_track_pad(void *opaque, const egw_track_t *t, GstPad *pad)
{
	runner_t *r = opaque;
	egw_session_track_pad(r->session, t, pad);
}

static void src_track_removed(void *opaque, const egw_track_t *t)
{
	runner_t *r = opaque;
	egw_session_track_removed(r->session, t);
	egw_manifest_track(r->manifest, NULL, t->id, NULL, NULL, 0, 0, g_get_real_time());
	if (r->n_tracks > 0 && --r->n_tracks == 0)
		egw_runner_start_absent(r); /* wait for them to come back */
}

static void src_error(void *opaque, egw_err_t err, const char *message)
{
	egw_runner_fail(opaque, err, message);
}

static void src_connection(void *opaque, int up, const char *message)
{
	runner_t *r = opaque;
	json_t *d;
	if (!up == !!r->sfu_down)
		return;
	if (!up) {
		r->sfu_down = 1;
		r->sfu_down_us = g_get_monotonic_time();
		egw_log_redact_text(message, r->sfu_down_msg, sizeof(r->sfu_down_msg));
		EGW_LOG(r->status.egress_id, WARN,
		        "lost the SFU (%s): reconnecting; the egress goes on for up to %d s "
		        "without it",
		        r->sfu_down_msg, r->job->limits.empty_room_timeout_s);
		d = json_pack("{s:{s:s, s:s}}", "details", "event", "sfu_disconnected", "reason",
		              r->sfu_down_msg);
	} else {
		double down_s = (g_get_monotonic_time() - r->sfu_down_us) / 1e6;
		r->sfu_down = 0;
		EGW_LOG(r->status.egress_id, INFO, "the SFU is back after %.1f s", down_s);
		d = json_pack("{s:{s:s, s:f}}", "details", "event", "sfu_reconnected", "down_s",
		              (double)(gint64)(down_s * 10) / 10);
	}
	if (!r->stopping)
		egw_runner_emit(r, r->active ? "active" : "starting", NULL, d);
	else
		json_decref(d);
}

/* (The source has logged it.) */
static void src_track_missing(void *opaque, const egw_participant_t *p, const char *track_id,
                              const char *message)
{
	emit_skipped(opaque, track_id, p->name, message);
}

const egw_source_events_t *egw_runner_source_events(void)
{
	static const egw_source_events_t ev = {src_participant,   src_track_added, src_track_pad,
	                                       src_track_removed, src_error,       src_connection,
	                                       src_track_missing};
	return &ev;
}
