/* Mapping of Janus VideoRoom subscription "streams" lists to the tracks a
 * job records. Pure (jansson only): unit-tested without Janus. */
#ifndef EGW_JANUS_STREAMS_H
#define EGW_JANUS_STREAMS_H

#include <jansson.h>
#include <stddef.h>

#include "contract/request.h"

struct janus_track {
	char *sub_mid; /* mid in our subscription */
	char *pub_mid; /* mid at the publisher */
	char *codec;
	egw_media_t media;
	int wanted; /* recorded by the job; otherwise discarded */
};

/* Does the job record this kind of media? */
int egw_janus_media_wanted(const egw_job_t *job, egw_media_t media);

/* Fills out[0..max) from the "streams" array of an "attached" event, one
 * entry per audio/video stream (data channels and malformed entries are
 * skipped); wanted = active, has a codec, and egw_janus_media_wanted().
 * Returns the number of entries; strings are g_strdup'ed (free with
 * egw_janus_tracks_clear). */
size_t egw_janus_streams_map(json_t *streams, const egw_job_t *job, struct janus_track *out,
			     size_t max);
void egw_janus_tracks_clear(struct janus_track *tracks, size_t n);

#endif
