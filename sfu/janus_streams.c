#include "sfu/janus_streams.h"

#include <stdlib.h>
#include <string.h>

static egw_media_t media_of(const char *type)
{
	return !strcmp(type, "audio") ? EGW_MEDIA_AUDIO
	       : !strcmp(type, "video") ? EGW_MEDIA_VIDEO
					 : EGW_MEDIA_NONE;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int egw_janus_media_wanted(const egw_job_t *job, egw_media_t media)
{
	if (media == EGW_MEDIA_NONE)
		return 0;
	if (job->source.kind == EGW_SOURCE_TRACK)
		return job->source.media == media;
	if (job->source.audio_only)
		return media == EGW_MEDIA_AUDIO;
	if (job->source.video_only)
		return media == EGW_MEDIA_VIDEO;
	return 1;
}

size_t egw_janus_streams_map(json_t *streams, const egw_job_t *job, struct janus_track *out,
			     size_t max)
{
	size_t i, n = 0;
	json_t *s;

	json_array_foreach(streams, i, s) {
		const char *type = json_string_value(json_object_get(s, "type"));
		const char *mid = json_string_value(json_object_get(s, "mid"));
		const char *codec = json_string_value(json_object_get(s, "codec"));
		if (n == max)
			break;
		if (!type || !mid || media_of(type) == EGW_MEDIA_NONE)
			continue;
		struct janus_track *t = &out[n++];
		t->sub_mid = strdup(mid);
		t->pub_mid = dup_or_null(json_string_value(json_object_get(s, "feed_mid")));
		t->codec = dup_or_null(codec);
		t->media = media_of(type);
		/* Janus omits "active" on older versions: absent means active. */
		json_t *active = json_object_get(s, "active");
		t->wanted = codec && (!active || json_is_true(active)) &&
			    egw_janus_media_wanted(job, t->media);
	}
	return n;
}

void egw_janus_tracks_clear(struct janus_track *tracks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tracks[i].sub_mid);
		free(tracks[i].pub_mid);
		free(tracks[i].codec);
		memset(&tracks[i], 0, sizeof(tracks[i]));
	}
}
