#include "sfu/janus_streams.h"

#include <glib.h>
#include <string.h>

static egw_media_t media_of(const char *type)
{
	return !type ? EGW_MEDIA_NONE
	       : !strcmp(type, "audio") ? EGW_MEDIA_AUDIO
	       : !strcmp(type, "video") ? EGW_MEDIA_VIDEO
					 : EGW_MEDIA_NONE;
}

static int says_screen(const char *description)
{
	gchar *lower = description ? g_ascii_strdown(description, -1) : NULL;
	int screen = lower && strstr(lower, "screen") != NULL;
	g_free(lower);
	return screen;
}

size_t egw_janus_streams_map(json_t *streams, const char *feed_id, struct janus_track *out,
			     size_t max)
{
	size_t i, n = 0;
	json_t *s;

	json_array_foreach(streams, i, s) {
		const char *mid = json_string_value(json_object_get(s, "mid"));
		const char *feed_mid = json_string_value(json_object_get(s, "feed_mid"));
		egw_media_t media = media_of(json_string_value(json_object_get(s, "type")));
		json_t *active = json_object_get(s, "active");
		if (n == max)
			break;
		if (!mid || media == EGW_MEDIA_NONE)
			continue;
		struct janus_track *t = &out[n++];
		memset(t, 0, sizeof(*t));
		t->sub_mid = g_strdup(mid);
		t->pub_mid = g_strdup(feed_mid ? feed_mid : mid);
		t->id = g_strdup_printf("%s/%s", feed_id ? feed_id : "", t->pub_mid);
		t->codec = g_strdup(json_string_value(json_object_get(s, "codec")));
		t->media = media;
		/* Janus omits "active" on older versions: absent means active. */
		t->active = t->codec && (!active || json_is_true(active));
		t->screen = says_screen(json_string_value(json_object_get(s, "feed_description"))) ||
			    says_screen(json_string_value(json_object_get(s, "description")));
	}
	return n;
}

void egw_janus_tracks_clear(struct janus_track *tracks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		g_free(tracks[i].id);
		g_free(tracks[i].sub_mid);
		g_free(tracks[i].pub_mid);
		g_free(tracks[i].codec);
		memset(&tracks[i], 0, sizeof(tracks[i]));
	}
}
