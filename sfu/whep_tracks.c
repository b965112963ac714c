/* A WHEP peer's tracks (see whep_int.h): read from the remote
 * description, announced to the graph, and taken back when the session
 * ends. Main context. */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "sfu/whep_int.h"

void egw_whep_track_view(const struct whep_peer *peer, const struct whep_track *t, egw_track_t *out)
{
	*out = (egw_track_t){
	        .id = t->id,
	        .participant = {peer->name, peer->name},
	        .mid = t->mid,
	        .media = t->media,
	        .codec = t->codec,
	        .screen = t->screen,
	};
}

const char *egw_whep_sdp_attr(const GstSDPMedia *m, const char *key)
{
	return gst_sdp_media_get_attribute_val(m, key);
}

int egw_whep_read_tracks(struct whep_peer *peer, const GstSDPMessage *sdp)
{
	peer->n_tracks = 0;
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp) && peer->n_tracks < WHEP_TRACKS_MAX;
	     i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
		const char *media = gst_sdp_media_get_media(m), *mid = egw_whep_sdp_attr(m, "mid"), *fmt, *map;
		struct whep_track *t = &peer->tracks[peer->n_tracks];
		egw_track_t view;
		size_t j;
		if (!media || (strcmp(media, "audio") && strcmp(media, "video")) ||
		    gst_sdp_media_get_port(m) == 0 || egw_whep_sdp_attr(m, "recvonly") || egw_whep_sdp_attr(m, "inactive") ||
		    !mid || !(fmt = gst_sdp_media_get_format(m, 0)))
			continue;
		memset(t, 0, sizeof(*t));
		snprintf(t->mid, sizeof(t->mid), "%s", mid);
		egw_source_track_id(t->id, sizeof(t->id), peer->name, t->mid);
		t->media = !strcmp(media, "audio") ? EGW_MEDIA_AUDIO : EGW_MEDIA_VIDEO;
		t->screen = egw_whep_sdp_attr(m, "content") && strstr(egw_whep_sdp_attr(m, "content"), "slides");
		for (j = 0; (map = gst_sdp_media_get_attribute_val_n(m, "rtpmap", (guint)j)); j++) {
			size_t n = strlen(fmt);
			if (!strncmp(map, fmt, n) && map[n] == ' ') {
				size_t k = 0;
				for (const char *c = map + n + 1;
				     *c && *c != '/' && k + 1 < sizeof(t->codec); c++)
					t->codec[k++] = (char)g_ascii_tolower(*c);
				break;
			}
		}
		if (!t->codec[0])
			continue;
		egw_whep_track_view(peer, t, &view);
		t->wanted = egw_source_filter_track(&peer->src->filter.filter, &view);
		peer->n_tracks++;
	}
	return peer->n_tracks > 0 ? 0 : -1;
}

void egw_whep_announce(struct whep_peer *peer)
{
	struct egw_source *src = peer->src;
	egw_participant_t who = {peer->name, peer->name};
	if (!peer->present && src->ev.participant)
		src->ev.participant(src->opaque, &who, 1);
	peer->present = 1;
	for (size_t i = 0; i < peer->n_tracks && !src->failed; i++) {
		struct whep_track *t = &peer->tracks[i];
		char errstr[256];
		egw_track_t view;
		if (!t->wanted || t->announced)
			continue;
		egw_whep_track_view(peer, t, &view);
		if (src->ev.track_added(src->opaque, &view, errstr, sizeof(errstr)) == EGW_OK)
			t->announced = 1;
	}
}

void egw_whep_ended(struct whep_peer *peer, const char *why)
{
	struct egw_source *src = peer->src;
	egw_participant_t who = {peer->name, peer->name};
	if (peer->ended)
		return;
	peer->ended = 1;
	EGW_LOG(JOB_ID(src), INFO, "%s: the WHEP session ended: %s", peer->name, why);
	g_mutex_lock(&peer->lock);
	peer->closed = 1; /* no pad-added handler links past this point */
	g_mutex_unlock(&peer->lock);
	/* The graph lets go of the tracks first (it unlinks their pads), then
	 * webrtcbin stops: no streaming thread of it waits inside the graph. */
	for (size_t i = 0; i < peer->n_tracks; i++) {
		struct whep_track *t = &peer->tracks[i];
		egw_track_t view;
		if (!t->announced)
			continue;
		t->announced = 0;
		egw_whep_track_view(peer, t, &view);
		src->ev.track_removed(src->opaque, &view);
	}
	egw_whep_media_remove(peer);
	if (peer->present && src->ev.participant)
		src->ev.participant(src->opaque, &who, 0);
	peer->present = 0;
}
