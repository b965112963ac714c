/* A render's schedule (see compositor.h): the live compositor run over a
 * recording's timeline instead of the clock. Events (publications and
 * their ends) and ticks are visited in time order; at each, the compositor
 * is told what changed and re-evaluated, and every scene that differs from
 * the one before becomes keys on the lanes it touches. */
#include "compositor/compositor_int.h"

#include <stdlib.h>
#include <string.h>

struct event {
	uint64_t at_ms;
	int add; /* 1: published, 0: its end */
	size_t track;
};

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	if (x->add != y->add) /* an end before a new start at the same time */
		return x->add - y->add;
	return x->track < y->track ? -1 : x->track > y->track;
}

static uint64_t to_ms(double s)
{
	return s <= 0 ? 0 : (uint64_t)(s * 1000.0 + 0.5);
}

static int same_key(const egw_schedule_key_t *a, const egw_schedule_key_t *b)
{
	if (a->shown != b->shown)
		return 0;
	if (!a->shown)
		return 1;
	return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height &&
	       a->z == b->z && a->gain == b->gain && a->pan == b->pan;
}

static egw_err_t push_key(egw_schedule_lane_t *l, const egw_schedule_key_t *k)
{
	if (l->n_keys && same_key(&l->keys[l->n_keys - 1], k))
		return EGW_OK;
	if (l->n_keys && l->keys[l->n_keys - 1].at_ms == k->at_ms) {
		l->keys[l->n_keys - 1] = *k; /* (the start's hidden key, at 0) */
		return EGW_OK;
	}
	if (l->n_keys == l->cap_keys) {
		size_t cap = l->cap_keys ? l->cap_keys * 2 : 8;
		egw_schedule_key_t *more = realloc(l->keys, cap * sizeof(*more));
		if (!more)
			return EGW_ERR_NOMEM;
		l->keys = more;
		l->cap_keys = cap;
	}
	l->keys[l->n_keys++] = *k;
	return EGW_OK;
}

static egw_schedule_lane_t *new_lane(egw_schedule_t *s, size_t *cap, const char *track_id,
                                     const char *participant_id)
{
	egw_schedule_lane_t *l;
	egw_schedule_key_t hidden = {0};

	if (s->n_lanes == *cap) {
		size_t want = *cap ? *cap * 2 : 8;
		egw_schedule_lane_t *more = realloc(s->lanes, want * sizeof(*more));
		if (!more)
			return NULL;
		s->lanes = more;
		*cap = want;
	}
	l = &s->lanes[s->n_lanes];
	memset(l, 0, sizeof(*l));
	if ((track_id && !(l->track_id = strdup(track_id))) ||
	    (participant_id && !(l->participant_id = strdup(participant_id)))) {
		free(l->track_id);
		return NULL;
	}
	s->n_lanes++;
	return push_key(l, &hidden) ? NULL : l;
}

static egw_schedule_key_t tile_key(uint64_t at_ms, const egw_tile_t *t)
{
	return (egw_schedule_key_t){.at_ms = at_ms, .shown = 1, .x = t->x, .y = t->y,
	                            .width = t->width, .height = t->height, .z = t->z};
}

static const egw_tile_t *tile_of(const egw_scene_t *sc, const egw_schedule_lane_t *l)
{
	for (size_t i = 0; i < sc->n_tiles; i++) {
		const egw_tile_t *t = &sc->tiles[i];
		if (l->track_id ? t->track_id && !strcmp(t->track_id, l->track_id)
		                : !t->track_id && t->participant_id &&
		                          !strcmp(t->participant_id, l->participant_id))
			return t;
	}
	return NULL;
}

static egw_err_t remember_label(egw_schedule_lane_t *l, const egw_tile_t *t)
{
	if (!l->label && t->label && !(l->label = strdup(t->label)))
		return EGW_ERR_NOMEM;
	if (!l->track_id) {
		memcpy(l->initials, t->initials, sizeof(l->initials));
		l->color = t->color;
	}
	return EGW_OK;
}

/* The scene at at_ms onto the lanes (n_tracks of them are the tracks'). */
static egw_err_t record(egw_schedule_t *s, size_t *cap, size_t n_tracks, const egw_scene_t *sc,
                        uint64_t at_ms)
{
	egw_err_t err = EGW_OK;

	/* placeholders seen for the first time get their lane */
	for (size_t i = 0; i < sc->n_tiles; i++) {
		const egw_tile_t *t = &sc->tiles[i];
		size_t k;
		if (t->track_id || !t->participant_id)
			continue;
		for (k = n_tracks; k < s->n_lanes; k++)
			if (!strcmp(s->lanes[k].participant_id, t->participant_id))
				break;
		if (k == s->n_lanes && !new_lane(s, cap, NULL, t->participant_id))
			return EGW_ERR_NOMEM;
	}
	for (size_t k = 0; k < s->n_lanes && !err; k++) {
		egw_schedule_lane_t *l = &s->lanes[k];
		egw_schedule_key_t key = {.at_ms = at_ms};
		const egw_tile_t *t = tile_of(sc, l);
		if (t) {
			key = tile_key(at_ms, t);
			err = remember_label(l, t);
		} else if (l->track_id) {
			for (size_t m = 0; m < sc->n_mix; m++)
				if (!strcmp(sc->mix[m].track_id, l->track_id)) {
					key.shown = 1;
					key.gain = sc->mix[m].gain;
					key.pan = sc->mix[m].pan;
				}
		}
		if (!err)
			err = push_key(l, &key);
	}
	return err;
}

static int same_id(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

egw_err_t egw_schedule_build(const egw_compositor_options_t *opt, egw_layout_t *layout,
                             const egw_schedule_track_t *tracks, size_t n_tracks,
                             uint64_t level_step_ms, uint64_t tick_ms, uint64_t end_ms,
                             egw_schedule_t **out)
{
	egw_schedule_t *s = calloc(1, sizeof(*s));
	egw_compositor_t *c = egw_compositor_new(opt, layout);
	struct event *ev = NULL;
	char *present = calloc(n_tracks + 1, 1), *speaker = NULL;
	size_t n_ev = 0, cap = 0, e = 0;
	uint64_t tick_at = 0;
	egw_err_t err = EGW_OK;

	*out = NULL;
	for (size_t i = 0; i < n_tracks; i++)
		n_ev += tracks[i].n_published * 2;
	if (!s || !c || !present || !(ev = calloc(n_ev + 1, sizeof(*ev)))) {
		err = EGW_ERR_NOMEM;
		goto done;
	}
	if (!tick_ms || !level_step_ms) {
		err = EGW_ERR_INVALID_REQUEST;
		goto done;
	}
	n_ev = 0;
	for (size_t i = 0; i < n_tracks; i++) {
		if (!new_lane(s, &cap, tracks[i].track.track_id, tracks[i].track.participant_id)) {
			err = EGW_ERR_NOMEM;
			goto done;
		}
		for (size_t k = 0; k < tracks[i].n_published; k++) {
			ev[n_ev++] = (struct event){to_ms(tracks[i].published[2 * k]), 1, i};
			ev[n_ev++] = (struct event){to_ms(tracks[i].published[2 * k + 1]), 0, i};
		}
	}
	qsort(ev, n_ev, sizeof(*ev), event_cmp);
	for (int first = 1;; first = 0) {
		uint64_t t = e < n_ev && ev[e].at_ms < tick_at ? ev[e].at_ms : tick_at;
		const egw_scene_t *sc;
		if (t >= end_ms && !first)
			break;
		for (; e < n_ev && ev[e].at_ms == t; e++) {
			const egw_schedule_track_t *tr = &tracks[ev[e].track];
			present[ev[e].track] = (char)ev[e].add;
			if (ev[e].add)
				egw_compositor_add_track(c, &tr->track);
			else
				egw_compositor_remove_track(c, tr->track.track_id);
		}
		if (t == tick_at) {
			for (size_t i = 0; i < n_tracks; i++) {
				uint64_t idx = t / level_step_ms;
				if (present[i] && tracks[i].track.media == EGW_MEDIA_AUDIO)
					egw_compositor_audio_level(
					        c, tracks[i].track.track_id,
					        tracks[i].levels_db && idx < tracks[i].n_levels
					                ? tracks[i].levels_db[idx]
					                : -127.0,
					        t);
			}
			tick_at += tick_ms;
		}
		if (egw_compositor_update(c, t) || first) {
			sc = egw_compositor_scene(c);
			if ((err = record(s, &cap, n_tracks, sc, t)))
				goto done;
			s->n_changes += !first;
			if (!same_id(speaker, sc->speaker_id)) {
				s->n_speaker_changes += speaker != NULL && sc->speaker_id != NULL;
				free(speaker);
				speaker = sc->speaker_id ? strdup(sc->speaker_id) : NULL;
			}
		}
	}
done:
	free(speaker);
	free(present);
	free(ev);
	egw_compositor_free(c);
	if (err) {
		egw_schedule_free(s);
		return err;
	}
	*out = s;
	return EGW_OK;
}

void egw_schedule_free(egw_schedule_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_lanes; i++) {
		free(s->lanes[i].track_id);
		free(s->lanes[i].participant_id);
		free(s->lanes[i].label);
		free(s->lanes[i].keys);
	}
	free(s->lanes);
	free(s);
}
