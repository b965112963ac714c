/* Track selection: participant and track egresses are filters over the
 * room. Pure: unit-tested in tests/unit/test_filter.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/source.h"

void egw_source_track_id(char *out, size_t out_size, const char *participant_id,
			 const char *mid)
{
	snprintf(out, out_size, "%s/%s", participant_id ? participant_id : "",
		 mid ? mid : "");
}

/* The participant part of a track id ("<participant id>/<mid>"). */
static int track_id_names(const char *track_id, const char *participant_id)
{
	const char *slash = strrchr(track_id, '/');
	size_t n = slash ? (size_t)(slash - track_id) : strlen(track_id);
	return participant_id && strlen(participant_id) == n && !strncmp(track_id, participant_id, n);
}

static int has_track_ids(const egw_source_filter_t *f)
{
	return f->track_ids[0] != NULL;
}

int egw_source_filter_participant(const egw_source_filter_t *f, const egw_participant_t *p)
{
	int named = 0;
	for (size_t i = 0; i < EGW_SOURCE_TRACK_IDS_MAX && f->track_ids[i]; i++)
		named |= track_id_names(f->track_ids[i], p->id);
	if (has_track_ids(f) && !named)
		return 0;
	if (f->participant && !(p->name && !strcmp(f->participant, p->name)) &&
	    !(p->id && !strcmp(f->participant, p->id)))
		return 0;
	return 1;
}

int egw_source_filter_track(const egw_source_filter_t *f, const egw_track_t *t)
{
	char id[512];
	if (!egw_source_filter_participant(f, &t->participant))
		return 0;
	if (f->media && !(f->media & (1u << t->media)))
		return 0;
	if (t->media != EGW_MEDIA_AUDIO && t->media != EGW_MEDIA_VIDEO)
		return 0;
	if (!has_track_ids(f))
		return 1;
	egw_source_track_id(id, sizeof(id), t->participant.id, t->mid);
	for (size_t i = 0; i < EGW_SOURCE_TRACK_IDS_MAX && f->track_ids[i]; i++)
		if (!strcmp(id, f->track_ids[i]))
			return 1;
	return 0;
}

static char *copy(const char *s)
{
	return s ? strdup(s) : NULL;
}

void egw_source_filter_copy(egw_source_filter_copy_t *dst, const egw_source_filter_t *f)
{
	dst->filter = *f;
	dst->filter.participant = dst->participant = copy(f->participant);
	for (size_t i = 0; i < EGW_SOURCE_TRACK_IDS_MAX; i++)
		dst->filter.track_ids[i] = dst->track_ids[i] = copy(f->track_ids[i]);
}

void egw_source_filter_copy_clear(egw_source_filter_copy_t *c)
{
	free(c->participant);
	for (size_t i = 0; i < EGW_SOURCE_TRACK_IDS_MAX; i++)
		free(c->track_ids[i]);
	*c = (egw_source_filter_copy_t){0};
}
