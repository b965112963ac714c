/* The compositor's state: the room's participants and tracks in join and
 * add order, the layout, and the scene rebuilt by update() (tiles from
 * scene_tiles.c, the audio mix here), compared with the one before so that
 * the media side re-applies only what changed. */
#include "compositor/compositor_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- lookups ---- */

comp_participant_t *egw_comp_find_participant(const egw_compositor_t *c, const char *id)
{
	for (size_t i = 0; id && i < c->n_participants; i++)
		if (!strcmp(c->participants[i]->id, id))
			return c->participants[i];
	return NULL;
}

comp_track_t *egw_comp_find_track(const egw_compositor_t *c, const char *id)
{
	for (size_t i = 0; id && i < c->n_tracks; i++)
		if (!strcmp(c->tracks[i]->id, id))
			return c->tracks[i];
	return NULL;
}

int egw_comp_named(const comp_participant_t *p, char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && (!strcmp(names[i], p->id) || !strcmp(names[i], p->name)))
			return 1;
	return 0;
}

/* Makes room for one more item of size bytes in the array whose address
 * is at arrp (n items, capacity *cap). memcpy keeps it free of aliasing
 * assumptions about the array's type. */
static int grow(void *arrp, size_t n, size_t *cap, size_t size)
{
	void *arr, *bigger;
	size_t want = *cap ? *cap * 2 : 8;

	if (n < *cap)
		return 0;
	memcpy(&arr, arrp, sizeof(arr));
	bigger = realloc(arr, want * size);
	if (!bigger)
		return -1;
	memcpy(arrp, &bigger, sizeof(bigger));
	*cap = want;
	return 0;
}

/* Removes item i of an array of n items of size bytes, keeping the order. */
static void remove_at(void *arr, size_t *n, size_t i, size_t size)
{
	char *base = arr;

	memmove(base + i * size, base + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

/* ---- life ---- */

egw_compositor_t *egw_compositor_new(const egw_compositor_options_t *opt, egw_layout_t *layout)
{
	egw_compositor_t *c = calloc(1, sizeof(*c));

	if (!c || !opt)
		goto fail;
	c->opt = *opt;
	c->opt.mix_participant = NULL;
	if (opt->mix_participant && !(c->opt.mix_participant = strdup(opt->mix_participant)))
		goto fail;
	/* A canvas without area is audio only; cells need even sizes. */
	if (c->opt.width < 2 || c->opt.height < 2)
		c->opt.width = c->opt.height = 0;
	c->opt.width &= ~1;
	c->opt.height &= ~1;
	c->layout = layout;
	return c;
fail:
	egw_layout_free(layout);
	if (c)
		free((char *)c->opt.mix_participant);
	free(c);
	return NULL;
}

static void track_free(comp_track_t *t)
{
	if (!t)
		return;
	free(t->id);
	free(t);
}

static void participant_free(comp_participant_t *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->name);
	free(p);
}

void egw_compositor_free(egw_compositor_t *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_tracks; i++)
		track_free(c->tracks[i]);
	for (size_t i = 0; i < c->n_participants; i++)
		participant_free(c->participants[i]);
	free(c->tracks);
	free(c->participants);
	egw_comp_cells_clear(c);
	egw_comp_scene_clear(&c->scene);
	egw_layout_free(c->layout);
	free((char *)c->opt.mix_participant);
	free(c);
}

void egw_compositor_set_layout(egw_compositor_t *c, egw_layout_t *layout)
{
	if (!c) {
		egw_layout_free(layout);
		return;
	}
	if (layout == c->layout)
		return;
	egw_layout_free(c->layout);
	c->layout = layout;
	egw_comp_cells_clear(c); /* the cells of the old regions mean nothing now */
}

const egw_layout_t *egw_compositor_layout(const egw_compositor_t *c)
{
	return c ? c->layout : NULL;
}

/* ---- the room ---- */

/* The participant of t, joining now when it is new; NULL without memory. */
static comp_participant_t *participant_for(egw_compositor_t *c, const egw_comp_track_t *t,
					   int *created)
{
	comp_participant_t *p = egw_comp_find_participant(c, t->participant_id);
	const char *name = t->participant_name && *t->participant_name ? t->participant_name
									 : t->participant_id;
	char *copy;

	*created = 0;
	if (p) {
		/* a later track may carry the name the first one lacked */
		if (strcmp(p->name, name) && (copy = strdup(name))) {
			free(p->name);
			p->name = copy;
		}
		return p;
	}
	if (grow(&c->participants, c->n_participants, &c->cap_participants,
		 sizeof(*c->participants)))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->id = strdup(t->participant_id)) || !(p->name = strdup(name))) {
		participant_free(p);
		return NULL;
	}
	p->seq = c->next_seq++;
	c->participants[c->n_participants++] = p;
	*created = 1;
	return p;
}

static void participant_leave(egw_compositor_t *c, comp_participant_t *p)
{
	for (size_t i = 0; i < c->n_participants; i++) {
		if (c->participants[i] != p)
			continue;
		remove_at(c->participants, &c->n_participants, i, sizeof(*c->participants));
		break;
	}
	egw_comp_speaker_forget(c, p);
	participant_free(p);
}

void egw_compositor_add_track(egw_compositor_t *c, const egw_comp_track_t *t)
{
	comp_participant_t *p;
	comp_track_t *track = NULL;
	int created = 0;

	if (!c || !t || !t->track_id || !t->participant_id ||
	    egw_comp_find_track(c, t->track_id))
		return;
	p = participant_for(c, t, &created);
	if (!p || grow(&c->tracks, c->n_tracks, &c->cap_tracks, sizeof(*c->tracks)))
		goto fail;
	track = calloc(1, sizeof(*track));
	if (!track || !(track->id = strdup(t->track_id)))
		goto fail;
	track->p = p;
	track->media = t->media;
	track->screen = t->media == EGW_MEDIA_VIDEO && t->screen;
	track->seq = c->next_seq++;
	track->level = -127.0;
	if (t->media == EGW_MEDIA_AUDIO)
		track->pan = c->audio_added++ % 2 ? EGW_PAN_RIGHT : EGW_PAN_LEFT;
	c->tracks[c->n_tracks++] = track;
	p->n_tracks++;
	return;
fail:
	/* Out of memory: the track is not seen, as if it never came. */
	track_free(track);
	if (created)
		participant_leave(c, p);
}

void egw_compositor_remove_track(egw_compositor_t *c, const char *track_id)
{
	comp_participant_t *p;

	for (size_t i = 0; c && track_id && i < c->n_tracks; i++) {
		if (strcmp(c->tracks[i]->id, track_id))
			continue;
		p = c->tracks[i]->p;
		track_free(c->tracks[i]);
		remove_at(c->tracks, &c->n_tracks, i, sizeof(*c->tracks));
		if (--p->n_tracks == 0)
			participant_leave(c, p);
		return;
	}
}

void egw_compositor_video_stalled(egw_compositor_t *c, const char *track_id, int stalled)
{
	comp_track_t *t = c ? egw_comp_find_track(c, track_id) : NULL;

	if (t && t->media == EGW_MEDIA_VIDEO && !t->screen)
		t->stalled = !!stalled;
}

/* ---- the scene ---- */

void egw_comp_scene_clear(egw_scene_t *s)
{
	for (size_t i = 0; i < s->n_tiles; i++) {
		free((char *)s->tiles[i].track_id);
		free((char *)s->tiles[i].participant_id);
		free((char *)s->tiles[i].label);
	}
	for (size_t i = 0; i < s->n_mix; i++)
		free((char *)s->mix[i].track_id);
	free(s->tiles);
	free(s->mix);
	free((char *)s->speaker_id);
	memset(s, 0, sizeof(*s));
}

/* Every audio track, in the order they were added. */
static egw_err_t build_mix(const egw_compositor_t *c, egw_scene_t *s)
{
	const char *named = c->opt.mix_participant;

	s->mix = calloc(c->n_tracks + 1, sizeof(*s->mix));
	if (!s->mix)
		return EGW_ERR_NOMEM;
	for (size_t i = 0; i < c->n_tracks; i++) {
		const comp_track_t *t = c->tracks[i];
		egw_mix_input_t *in = &s->mix[s->n_mix];

		if (t->media != EGW_MEDIA_AUDIO)
			continue;
		if (!(in->track_id = strdup(t->id)))
			return EGW_ERR_NOMEM;
		s->n_mix++;
		in->gain = 1.0;
		switch (c->opt.mix) {
		case EGW_MIX_DUAL_CHANNEL:
			in->pan = named && egw_comp_named(t->p, (char *const *)&named, 1)
					  ? EGW_PAN_LEFT
					  : EGW_PAN_RIGHT;
			break;
		case EGW_MIX_ALTERNATE:
			in->pan = t->pan;
			break;
		case EGW_MIX_EVERYONE:
		default:
			in->pan = EGW_PAN_CENTER;
			break;
		}
	}
	return EGW_OK;
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int same_scene(const egw_scene_t *a, const egw_scene_t *b)
{
	if (a->n_tiles != b->n_tiles || a->n_mix != b->n_mix ||
	    !same_str(a->speaker_id, b->speaker_id))
		return 0;
	for (size_t i = 0; i < a->n_tiles; i++) {
		const egw_tile_t *x = &a->tiles[i], *y = &b->tiles[i];
		if (x->x != y->x || x->y != y->y || x->width != y->width ||
		    x->height != y->height || x->z != y->z || x->color != y->color ||
		    !same_str(x->track_id, y->track_id) ||
		    !same_str(x->participant_id, y->participant_id) ||
		    !same_str(x->label, y->label) || strcmp(x->initials, y->initials))
			return 0;
	}
	for (size_t i = 0; i < a->n_mix; i++) {
		const egw_mix_input_t *x = &a->mix[i], *y = &b->mix[i];
		if (x->gain != y->gain || x->pan != y->pan || !same_str(x->track_id, y->track_id))
			return 0;
	}
	return 1;
}

int egw_compositor_update(egw_compositor_t *c, uint64_t now_ms)
{
	egw_scene_t next = {0};
	int changed;

	if (!c)
		return 0;
	egw_comp_speaker_tick(c, now_ms);
	if (egw_comp_build_tiles(c, &next) || build_mix(c, &next) ||
	    (c->speaker && !(next.speaker_id = strdup(c->speaker->id)))) {
		egw_comp_scene_clear(&next);
		return 0;
	}
	changed = !same_scene(&c->scene, &next);
	egw_comp_scene_clear(&c->scene);
	c->scene = next;
	return changed;
}

const egw_scene_t *egw_compositor_scene(const egw_compositor_t *c)
{
	return c ? &c->scene : NULL;
}
