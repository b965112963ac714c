/* The active speaker: audio levels smoothed per track, and the hysteresis
 * that keeps a cough or a short interjection from moving the stage. The
 * constants are in compositor.h (EGW_SPEAKER_*). */
#include "compositor/compositor_int.h"

#include <math.h>

#define SILENCE_DB (-127.0)
#define NOMINAL_INTERVAL_MS 100 /* assumed gap before a first level */

static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

static int fresh(const comp_track_t *t, uint64_t now_ms)
{
	return t->has_level && elapsed(now_ms, t->level_ms) <= EGW_SPEAKER_STALE_MS;
}

/* locality: the job's main context, like the rest of the compositor. */
void egw_compositor_audio_level(egw_compositor_t *c, const char *track_id, double db,
				uint64_t now_ms)
{
	comp_track_t *t = c ? egw_comp_find_track(c, track_id) : NULL;
	double prev, dt, alpha;

	if (!t || t->media != EGW_MEDIA_AUDIO)
		return;
	if (isnan(db) || db < SILENCE_DB)
		db = SILENCE_DB;
	if (db > 0.0)
		db = 0.0;
	/* Moving average with a time constant: alpha = dt / (tau + dt), the
	 * first-order approximation of 1 - exp(-dt / tau). After silence (or
	 * at first) it starts from silence, as if a level had come a
	 * nominal interval ago. */
	if (fresh(t, now_ms)) {
		prev = t->level;
		dt = (double)elapsed(now_ms, t->level_ms);
	} else {
		prev = SILENCE_DB;
		dt = NOMINAL_INTERVAL_MS;
	}
	alpha = dt / (EGW_SPEAKER_SMOOTH_MS + dt);
	t->level = prev + alpha * (db - prev);
	t->level_ms = now_ms > t->level_ms || !t->has_level ? now_ms : t->level_ms;
	t->has_level = 1;
	egw_comp_speaker_tick(c, now_ms);
}

/* The participant speaking loudest now (its loudest fresh track above
 * EGW_SPEAKER_DB), or NULL when nobody speaks. Ties: the one first added. */
static comp_participant_t *loudest(const egw_compositor_t *c, uint64_t now_ms)
{
	comp_participant_t *best = NULL;
	double best_db = EGW_SPEAKER_DB;

	for (size_t i = 0; i < c->n_tracks; i++) {
		const comp_track_t *t = c->tracks[i];
		if (t->media == EGW_MEDIA_AUDIO && fresh(t, now_ms) && t->level > best_db) {
			best_db = t->level;
			best = t->p;
		}
	}
	return best;
}

void egw_comp_speaker_tick(egw_compositor_t *c, uint64_t now_ms)
{
	comp_participant_t *top;

	if (!c->n_participants) {
		c->speaker = c->challenger = NULL;
		return;
	}
	top = loudest(c, now_ms);
	if (!c->speaker) {
		/* nobody yet, or the speaker left: at once */
		c->speaker = top ? top : c->participants[0];
		c->speaker_since = now_ms;
		c->challenger = NULL;
		return;
	}
	if (!top || top == c->speaker) {
		c->challenger = NULL;
		return;
	}
	if (top != c->challenger) {
		c->challenger = top;
		c->challenger_since = now_ms;
	}
	if (elapsed(now_ms, c->challenger_since) >= EGW_SPEAKER_SUSTAIN_MS &&
	    elapsed(now_ms, c->speaker_since) >= EGW_SPEAKER_HOLD_MS) {
		c->speaker = top;
		c->speaker_since = now_ms;
		c->challenger = NULL;
	}
}

void egw_comp_speaker_forget(egw_compositor_t *c, const comp_participant_t *p)
{
	if (c->speaker == p)
		c->speaker = NULL;
	if (c->challenger == p)
		c->challenger = NULL;
}
