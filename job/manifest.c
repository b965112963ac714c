/* The manifest (see manifest.h). While the egress runs, intervals are kept
 * in wall-clock microseconds ({"from_us", "to_us"}); build() puts them on
 * the egress's timeline (seconds from its first media, never negative;
 * what is still open ends with the egress). */
#include "job/manifest.h"

#include <stdlib.h>
#include <string.h>

#include "contract/redact.h"

struct egw_manifest {
	json_t *request; /* redacted */
	char egress_id[EGW_EGRESS_ID_MAX + 1];
	char *sfu, *room_id;
	json_t *participants; /* name -> {"intervals": [...], "tracks": {id -> track}} */
	json_t *track_owner;  /* track id -> participant name */
	gint64 t0_us;
};

egw_manifest_t *egw_manifest_new(const egw_job_t *job, const char *request, size_t len)
{
	egw_manifest_t *m = g_new0(egw_manifest_t, 1);
	size_t rlen = 0;
	char *red = egw_request_redact(request, len, &rlen);
	m->request = red ? json_loadb(red, rlen, 0, NULL) : NULL;
	free(red);
	snprintf(m->egress_id, sizeof(m->egress_id), "%s", job->egress_id);
	m->sfu = g_strdup(job->room.sfu);
	m->room_id = g_strdup(job->room.room_id);
	m->participants = json_object();
	m->track_owner = json_object();
	return m;
}

void egw_manifest_start(egw_manifest_t *m, gint64 wall_us)
{
	if (m && !m->t0_us)
		m->t0_us = wall_us;
}

/* Opens an interval in list (when none is open) or closes the open one. */
static void interval(json_t *list, int open, gint64 wall_us)
{
	json_t *last = json_array_get(list, json_array_size(list) - 1);
	int is_open = last && !json_object_get(last, "to_us");
	if (open && !is_open)
		json_array_append_new(list, json_pack("{s:I}", "from_us", (json_int_t)wall_us));
	else if (!open && is_open)
		json_object_set_new(last, "to_us", json_integer(wall_us));
}

static json_t *participant(egw_manifest_t *m, const char *name)
{
	json_t *p = json_object_get(m->participants, name);
	if (!p) {
		p = json_pack("{s:s, s:[], s:{}}", "participant", name, "present", "tracks");
		json_object_set_new(m->participants, name, p);
	}
	return p;
}

void egw_manifest_participant(egw_manifest_t *m, const char *name, int present, gint64 wall_us)
{
	if (m && name)
		interval(json_object_get(participant(m, name), "present"), present, wall_us);
}

void egw_manifest_track(egw_manifest_t *m, const char *who, const char *track_id, const char *media,
                        const char *codec, int screen, int added, gint64 wall_us)
{
	json_t *tracks, *t;
	if (!m || !track_id)
		return;
	who = who ? who : json_string_value(json_object_get(m->track_owner, track_id));
	if (!who)
		return;
	tracks = json_object_get(participant(m, who), "tracks");
	if (!(t = json_object_get(tracks, track_id))) {
		if (!added)
			return;
		t = json_pack("{s:s, s:s, s:s, s:b, s:[], s:[]}", "track_id", track_id, "media",
		              media ? media : "", "codec", codec ? codec : "", "screen", screen,
		              "published", "muted");
		json_object_set_new(tracks, track_id, t);
		json_object_set_new(m->track_owner, track_id, json_string(who));
	}
	interval(json_object_get(t, "published"), added, wall_us);
	if (!added) /* unpublished: no longer muted either */
		interval(json_object_get(t, "muted"), 0, wall_us);
}

void egw_manifest_track_file(egw_manifest_t *m, const char *track_id, const char *file,
                             double offset_s)
{
	const char *who = m ? json_string_value(json_object_get(m->track_owner, track_id)) : NULL;
	json_t *t = who ? json_object_get(json_object_get(participant(m, who), "tracks"), track_id)
	                : NULL;
	if (!t)
		return;
	json_object_set_new(t, "file", json_string(file));
	json_object_set_new(t, "offset_s",
	                    json_real((double)(gint64)(offset_s * 1000 + 0.5) / 1000.0));
}

void egw_manifest_mute(egw_manifest_t *m, const char *track_id, int muted, gint64 wall_us)
{
	const char *who = m ? json_string_value(json_object_get(m->track_owner, track_id)) : NULL;
	json_t *t = who ? json_object_get(json_object_get(participant(m, who), "tracks"), track_id)
	                : NULL;
	if (t)
		interval(json_object_get(t, "muted"), muted, wall_us);
}

static double offset(const egw_manifest_t *m, gint64 us)
{
	double s = m->t0_us ? (double)(us - m->t0_us) / 1e6 : 0.0;
	return s < 0 ? 0.0 : (double)(gint64)(s * 1000 + 0.5) / 1000.0;
}

/* [{"from_us", "to_us"}] -> [{"start_s", "end_s"}] on the timeline. */
static json_t *timeline(const egw_manifest_t *m, json_t *list, gint64 end_us)
{
	json_t *out = json_array(), *iv;
	size_t i;
	json_array_foreach(list, i, iv)
	{
		json_t *to = json_object_get(iv, "to_us");
		gint64 a = json_integer_value(json_object_get(iv, "from_us"));
		gint64 b = to ? json_integer_value(to) : end_us;
		json_array_append_new(out, json_pack("{s:f, s:f}", "start_s", offset(m, a), "end_s",
		                                     offset(m, b < a ? a : b)));
	}
	return out;
}

/* Which outputs hold a track: every file-like output of an egress that
 * stores tracks as they are (one stream per media in each); none when the
 * tracks were composited. */
static json_t *holders(json_t *outputs, int composite, const char *file)
{
	json_t *out = json_array(), *o;
	size_t i, flen = file ? strlen(file) : 0;
	if (composite)
		return out;
	json_array_foreach(outputs, i, o)
	{
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *loc = json_string_value(json_object_get(o, "location"));
		size_t llen = loc ? strlen(loc) : 0;
		if (!kind || strcmp(kind, "file"))
			continue;
		/* a track in its own file: that file's entry only */
		if (file && (llen < flen || strcmp(loc + llen - flen, file) ||
		             (llen > flen && loc[llen - flen - 1] != '/')))
			continue;
		json_array_append_new(out, json_sprintf("outputs[%zu]", i));
	}
	return out;
}

json_t *egw_manifest_build(egw_manifest_t *m, const char *status, json_t *outputs,
                           const char *started_at, const char *ended_at, int composite,
                           gint64 end_wall_us)
{
	json_t *people = json_array(), *p, *t;
	const char *name, *id;
	json_object_foreach(m->participants, name, p)
	{
		json_t *tracks = json_array();
		json_object_foreach(json_object_get(p, "tracks"), id, t)
		{
			const char *file = json_string_value(json_object_get(t, "file"));
			json_t *entry;
			json_array_append_new(
			        tracks,
			        entry = json_pack(
			                "{s:O, s:O, s:O, s:O, s:o, s:o, s:o}", "track_id",
			                json_object_get(t, "track_id"), "media",
			                json_object_get(t, "media"), "codec",
			                json_object_get(t, "codec"), "screen",
			                json_object_get(t, "screen"), "published",
			                timeline(m, json_object_get(t, "published"), end_wall_us),
			                "muted",
			                timeline(m, json_object_get(t, "muted"), end_wall_us),
			                "outputs", holders(outputs, composite, file)));
			if (file && entry) {
				json_object_set(entry, "file", json_object_get(t, "file"));
				json_object_set(entry, "offset_s", json_object_get(t, "offset_s"));
			}
		}
		json_array_append_new(
		        people, json_pack("{s:s, s:o, s:o}", "participant", name, "present",
		                          timeline(m, json_object_get(p, "present"), end_wall_us),
		                          "tracks", tracks));
	}
	return json_pack("{s:i, s:s, s:{s:s?, s:s?}, s:s, s:s?, s:s?, s:f, s:b, s:O?, s:o, s:O}",
	                 "manifest_version", EGW_MANIFEST_VERSION, "egress_id", m->egress_id,
	                 "room", "sfu", m->sfu, "room_id", m->room_id, "status", status,
	                 "started_at", started_at && *started_at ? started_at : NULL, "ended_at",
	                 ended_at && *ended_at ? ended_at : NULL, "duration_s",
	                 offset(m, end_wall_us), "composite", composite, "request", m->request,
	                 "participants", people, "outputs", outputs ? outputs : json_array());
}

void egw_manifest_free(egw_manifest_t *m)
{
	if (!m)
		return;
	json_decref(m->request);
	json_decref(m->participants);
	json_decref(m->track_owner);
	g_free(m->sfu);
	g_free(m->room_id);
	g_free(m);
}
