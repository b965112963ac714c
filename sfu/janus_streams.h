/* Janus VideoRoom subscription "streams" lists (of "attached" and
 * "updated" events) as tracks. Pure (jansson only): unit-tested without
 * Janus. */
#ifndef EGW_JANUS_STREAMS_H
#define EGW_JANUS_STREAMS_H

#include <jansson.h>
#include <stddef.h>

#include "base/media.h"

struct janus_track {
	char *id;      /* "<feed id>/<publisher's mid>" */
	char *sub_mid; /* mid in our subscription */
	char *pub_mid; /* mid at the publisher */
	char *codec;
	egw_media_t media;
	int active;    /* Janus sends it (publisher still has it) */
	int screen;    /* the publisher describes it as a screen share */
	int wanted;    /* selected by the filter and taken by the consumer */
};

/* Fills out[0..max) from streams, one entry per audio/video stream (data
 * channels and malformed entries are skipped). feed_id is the publisher's
 * id as text. A stream is a screen share when its "description" contains
 * the word "screen" (any case): publishers describe their streams when
 * they publish (Janus multistream "descriptions"). Returns the number of
 * entries; strings are g_strdup'ed (free with egw_janus_tracks_clear). */
size_t egw_janus_streams_map(json_t *streams, const char *feed_id, struct janus_track *out,
			     size_t max);
void egw_janus_tracks_clear(struct janus_track *tracks, size_t n);

#endif
