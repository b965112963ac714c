/* A render's input (see render.h): the manifest read with jansson, every
 * field checked with a message naming it, each track's file found and
 * looked into (GstDiscoverer: can it be read, does it hold the track's
 * media) before anything is built. */
#include "job/render.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <gst/pbutils/pbutils.h>
#include <jansson.h>

#include "job/manifest.h"

#define DISCOVER_TIMEOUT_S 20

struct egw_render_input {
	json_t *doc;
	egw_render_plan_t plan;
	egw_render_track_t *tracks;
	GPtrArray *strings; /* what the tracks point at */
	GPtrArray *published;
	char *room_id, *egress_id;
};

static egw_err_t bad(char *errstr, size_t errstr_size, const char *what, const char *msg)
{
	snprintf(errstr, errstr_size, "manifest %s: %s", what, msg);
	return EGW_ERR_INVALID_REQUEST;
}

static int number(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return 0;
	*out = json_number_value(v);
	return 1;
}

static const char *keep(egw_render_input_t *in, char *s)
{
	g_ptr_array_add(in->strings, s);
	return s;
}

/* The local file of a location: as it is, or the file of that name
 * beside the manifest (a recording moved with its manifest). */
static char *find_file(const char *manifest_path, const char *location)
{
	char *dir, *base, *beside;

	dir = g_path_get_dirname(manifest_path);
	if (!g_path_is_absolute(location) && !strstr(location, "://")) { /* relative to it */
		beside = g_build_filename(dir, location, NULL);
		g_free(dir);
		if (g_file_test(beside, G_FILE_TEST_IS_REGULAR))
			return beside;
		g_free(beside);
		return NULL;
	}
	if (!strstr(location, "://") && g_file_test(location, G_FILE_TEST_IS_REGULAR)) {
		g_free(dir);
		return g_strdup(location);
	}
	base = g_path_get_basename(location);
	beside = g_build_filename(dir, base, NULL);
	g_free(dir);
	g_free(base);
	if (g_file_test(beside, G_FILE_TEST_IS_REGULAR))
		return beside;
	g_free(beside);
	return NULL;
}

/* Does the file hold a stream of media that can be read? */
static egw_err_t look_into(GstDiscoverer *disc, GHashTable *seen, const char *path, int media,
                           const char *what, char *errstr, size_t errstr_size)
{
	GstDiscovererInfo *info = g_hash_table_lookup(seen, path);
	GList *streams;
	char *uri;
	GError *e = NULL;
	int found;

	if (!info) {
		uri = gst_filename_to_uri(path, NULL);
		info = uri ? gst_discoverer_discover_uri(disc, uri, &e) : NULL;
		g_free(uri);
		if (!info || gst_discoverer_info_get_result(info) != GST_DISCOVERER_OK) {
			snprintf(errstr, errstr_size, "manifest %s: %s cannot be read as media (%s)",
			         what, path, e ? e->message : "not a media file");
			g_clear_error(&e);
			if (info)
				g_object_unref(info);
			return EGW_ERR_INVALID_REQUEST;
		}
		g_hash_table_insert(seen, g_strdup(path), info);
	}
	streams = media == EGW_MEDIA_VIDEO ? gst_discoverer_info_get_video_streams(info)
	                                   : gst_discoverer_info_get_audio_streams(info);
	found = streams != NULL;
	gst_discoverer_stream_info_list_free(streams);
	if (!found) {
		snprintf(errstr, errstr_size, "manifest %s: %s holds no %s", what, path,
		         egw_media2str((egw_media_t)media));
		return EGW_ERR_INVALID_REQUEST;
	}
	return EGW_OK;
}

static egw_err_t intervals(egw_render_input_t *in, const json_t *list, const char *what,
                           egw_render_track_t *t, char *errstr, size_t errstr_size)
{
	double *pairs;
	size_t i;
	json_t *iv;
	char where[320];

	if (!json_is_array(list))
		return bad(errstr, errstr_size, what, "published must be an array");
	pairs = g_new0(double, 2 * json_array_size(list) + 2);
	g_ptr_array_add(in->published, pairs);
	json_array_foreach(list, i, iv)
	{
		double a, b;
		snprintf(where, sizeof(where), "%s.published[%zu]", what, i);
		if (!number(json_object_get(iv, "start_s"), &a) ||
		    !number(json_object_get(iv, "end_s"), &b))
			return bad(errstr, errstr_size, where, "start_s and end_s must be numbers");
		if (a < 0 || b < a || (i > 0 && a < pairs[2 * i - 1]))
			return bad(errstr, errstr_size, where,
			           "must be in order, from 0, each ending after it starts");
		pairs[2 * i] = a;
		pairs[2 * i + 1] = b;
	}
	t->published = pairs;
	t->n_published = json_array_size(list);
	return EGW_OK;
}

/* The location of the track's file as the manifest has it. */
static egw_err_t location_of(const json_t *doc, const json_t *track, const char *what,
                             const char **loc, char *errstr, size_t errstr_size)
{
	const json_t *file = json_object_get(track, "file"), *outs = json_object_get(track, "outputs");
	const char *ref;
	unsigned idx;
	const json_t *o;

	if (file) {
		if (!json_is_string(file))
			return bad(errstr, errstr_size, what, "file must be a string");
		*loc = json_string_value(file);
		return EGW_OK;
	}
	if (!json_is_array(outs) || !json_array_size(outs) ||
	    !(ref = json_string_value(json_array_get(outs, 0))))
		return bad(errstr, errstr_size, what, "names no file (outputs is empty)");
	if (sscanf(ref, "outputs[%u]", &idx) != 1 ||
	    !(o = json_array_get(json_object_get(doc, "outputs"), idx)) ||
	    !(*loc = json_string_value(json_object_get(o, "location"))))
		return bad(errstr, errstr_size, what, "names an output the manifest does not list");
	return EGW_OK;
}

static egw_err_t track(egw_render_input_t *in, const char *manifest_path, GstDiscoverer *disc,
                       GHashTable *seen, const json_t *tj, const char *pname, const char *what,
                       char *errstr, size_t errstr_size)
{
	egw_render_track_t *t = &in->tracks[in->plan.n_tracks];
	const char *id = json_string_value(json_object_get(tj, "track_id"));
	const char *media = json_string_value(json_object_get(tj, "media"));
	const json_t *screen = json_object_get(tj, "screen"), *off = json_object_get(tj, "offset_s");
	const char *slash = id ? strchr(id, '/') : NULL, *loc = NULL;
	char named[256], *path;
	egw_err_t err;

	if (!json_is_object(tj))
		return bad(errstr, errstr_size, what, "must be an object");
	if (!slash || slash == id || !slash[1])
		return bad(errstr, errstr_size, what,
		           "track_id must be a string \"<participant id>/<mid>\"");
	snprintf(named, sizeof(named), "%s (%s)", what, id);
	if (!media || (strcmp(media, "audio") && strcmp(media, "video")))
		return bad(errstr, errstr_size, named, "media must be \"audio\" or \"video\"");
	if (screen && !json_is_boolean(screen))
		return bad(errstr, errstr_size, named, "screen must be true or false");
	if (off && (!number(off, &t->offset_s)))
		return bad(errstr, errstr_size, named, "offset_s must be a number");
	t->track_id = keep(in, g_strdup(id));
	t->participant_id = keep(in, g_strndup(id, (gsize)(slash - id)));
	t->participant_name = pname;
	t->media = !strcmp(media, "video") ? EGW_MEDIA_VIDEO : EGW_MEDIA_AUDIO;
	t->screen = json_is_true(screen);
	if ((err = intervals(in, json_object_get(tj, "published"), named, t, errstr, errstr_size)) ||
	    (err = location_of(in->doc, tj, named, &loc, errstr, errstr_size)))
		return err;
	/* A track is shown from its first media, not before: its file's time
	 * 0 (offset_s) may come after the job learned of the track. */
	if (off && t->n_published && t->published[0] < t->offset_s) {
		double *first = (double *)t->published;
		first[0] = t->offset_s < first[1] ? t->offset_s : first[1];
	}
	if (!(path = find_file(manifest_path, loc)) && strstr(loc, "://")) {
		snprintf(errstr, errstr_size,
		         "manifest %s: its file %s is in object storage, not beside the manifest "
		         "(give source.manifest as the manifest's location in the storage, and the "
		         "worker fetches the files)",
		         named, loc);
		return EGW_ERR_NOT_FOUND;
	}
	if (!path) {
		snprintf(errstr, errstr_size, "manifest %s: its file %s is missing", named, loc);
		return EGW_ERR_NOT_FOUND;
	}
	t->path = keep(in, path);
	if ((err = look_into(disc, seen, path, t->media, named, errstr, errstr_size)))
		return err;
	in->plan.n_tracks++;
	return EGW_OK;
}

static egw_err_t participants(egw_render_input_t *in, const char *manifest_path,
                              char *errstr, size_t errstr_size)
{
	const json_t *people = json_object_get(in->doc, "participants"), *p, *tj;
	size_t n = 0, i, k;
	GstDiscoverer *disc;
	GHashTable *seen;
	egw_err_t err = EGW_OK;
	char what[128];

	if (!json_is_array(people))
		return bad(errstr, errstr_size, "participants", "must be an array");
	json_array_foreach(people, i, p)
	{
		const json_t *tracks = json_object_get(p, "tracks");
		snprintf(what, sizeof(what), "participants[%zu]", i);
		if (!json_is_object(p) || !json_is_string(json_object_get(p, "participant")))
			return bad(errstr, errstr_size, what,
			           "must be an object with a string \"participant\"");
		if (!json_is_array(tracks))
			return bad(errstr, errstr_size, what, "tracks must be an array");
		n += json_array_size(tracks);
	}
	in->tracks = g_new0(egw_render_track_t, n + 1);
	in->plan.tracks = in->tracks;
	if (!(disc = gst_discoverer_new(DISCOVER_TIMEOUT_S * GST_SECOND, NULL))) {
		snprintf(errstr, errstr_size, "GStreamer's discoverer is missing");
		return EGW_ERR_MEDIA;
	}
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	json_array_foreach(people, i, p)
	{
		const char *pname = keep(in, g_strdup(json_string_value(json_object_get(p, "participant"))));
		json_array_foreach(json_object_get(p, "tracks"), k, tj)
		{
			snprintf(what, sizeof(what), "participants[%zu].tracks[%zu]", i, k);
			if ((err = track(in, manifest_path, disc, seen, tj, pname, what, errstr,
			                 errstr_size)))
				goto out;
		}
	}
out:
	g_hash_table_destroy(seen);
	g_object_unref(disc);
	return err;
}

static egw_err_t header(egw_render_input_t *in, double *duration, char *errstr,
                        size_t errstr_size)
{
	const json_t *v = json_object_get(in->doc, "manifest_version"), *room;
	char msg[128];

	if (!json_is_integer(v))
		return bad(errstr, errstr_size, "manifest_version", "must be an integer");
	if (json_integer_value(v) > EGW_MANIFEST_VERSION || json_integer_value(v) < 1) {
		snprintf(msg, sizeof(msg), "%" JSON_INTEGER_FORMAT " is not a version this build reads (%d)",
		         json_integer_value(v), EGW_MANIFEST_VERSION);
		return bad(errstr, errstr_size, "manifest_version", msg);
	}
	if (json_is_true(json_object_get(in->doc, "composite")))
		return bad(errstr, errstr_size, "composite",
		           "this recording is a composite (one picture and one mix), not its "
		           "tracks; a render takes track, participant or room_tracks recordings");
	if (!number(json_object_get(in->doc, "duration_s"), duration) || *duration < 0)
		return bad(errstr, errstr_size, "duration_s", "must be a number, at least 0");
	if (!json_is_array(json_object_get(in->doc, "outputs")))
		return bad(errstr, errstr_size, "outputs", "must be an array");
	room = json_object_get(in->doc, "room");
	in->room_id = g_strdup(json_string_value(json_object_get(room, "room_id")));
	in->egress_id = g_strdup(json_string_value(json_object_get(in->doc, "egress_id")));
	return EGW_OK;
}

egw_err_t egw_render_input_load(const char *path, double trim_start_s, double trim_end_s,
                                egw_render_input_t **out, char *errstr, size_t errstr_size)
{
	egw_render_input_t *in = g_new0(egw_render_input_t, 1);
	json_error_t jerr;
	double duration = 0;
	egw_err_t err;

	*out = NULL;
	in->strings = g_ptr_array_new_with_free_func(g_free);
	in->published = g_ptr_array_new_with_free_func(g_free);
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		snprintf(errstr, errstr_size, "source.manifest: %s does not exist", path);
		err = EGW_ERR_NOT_FOUND;
		goto fail;
	}
	if (!(in->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) ||
	    !json_is_object(in->doc)) {
		snprintf(errstr, errstr_size, "source.manifest: %s is not a manifest (%s, line %d)",
		         path, in->doc ? "not a JSON object" : jerr.text, in->doc ? 1 : jerr.line);
		err = EGW_ERR_INVALID_REQUEST;
		goto fail;
	}
	if ((err = header(in, &duration, errstr, errstr_size)))
		goto fail;
	if (trim_end_s <= 0 || trim_end_s > duration)
		trim_end_s = duration;
	if (trim_start_s < 0 || trim_start_s >= trim_end_s) {
		snprintf(errstr, errstr_size,
		         "source.trim_start_s: %.3f is not within the recording (0 to %.3f s)",
		         trim_start_s, trim_end_s);
		err = EGW_ERR_INVALID_REQUEST;
		goto fail;
	}
	in->plan.start_s = trim_start_s;
	in->plan.end_s = trim_end_s;
	if ((err = participants(in, path, errstr, errstr_size)))
		goto fail;
	if (!in->plan.n_tracks) {
		snprintf(errstr, errstr_size, "manifest participants: no track was recorded");
		err = EGW_ERR_INVALID_REQUEST;
		goto fail;
	}
	*out = in;
	return EGW_OK;
fail:
	egw_render_input_free(in);
	return err;
}

int egw_render_manifest_files(const char *path, char ***locations, char ***whats)
{
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL), *p, *tj;
	GPtrArray *locs = g_ptr_array_new(), *named = g_ptr_array_new();
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	size_t i, k;

	if (!json_is_object(doc)) {
		json_decref(doc);
		g_ptr_array_unref(locs);
		g_ptr_array_unref(named);
		g_hash_table_destroy(seen);
		return -1;
	}
	json_array_foreach(json_object_get(doc, "participants"), i, p)
	{
		json_array_foreach(json_object_get(p, "tracks"), k, tj)
		{
			const char *loc = NULL,
			           *id = json_string_value(json_object_get(tj, "track_id"));
			char what[160], errstr[256]; /* (not reported: such a track is skipped) */
			snprintf(what, sizeof(what), "participants[%zu].tracks[%zu] (%s)", i, k,
			         id ? id : "?");
			if (location_of(doc, tj, what, &loc, errstr, sizeof(errstr)) ||
			    g_hash_table_contains(seen, loc))
				continue;
			g_hash_table_add(seen, (gpointer)loc);
			g_ptr_array_add(locs, g_strdup(loc));
			g_ptr_array_add(named, g_strdup(what));
		}
	}
	g_ptr_array_add(locs, NULL);
	g_ptr_array_add(named, NULL);
	*locations = (char **)g_ptr_array_free(locs, FALSE);
	*whats = (char **)g_ptr_array_free(named, FALSE);
	g_hash_table_destroy(seen);
	json_decref(doc);
	return 0;
}

const egw_render_plan_t *egw_render_input_plan(const egw_render_input_t *in)
{
	return in ? &in->plan : NULL;
}

const char *egw_render_input_room_id(const egw_render_input_t *in)
{
	return in ? in->room_id : NULL;
}

const char *egw_render_input_egress_id(const egw_render_input_t *in)
{
	return in ? in->egress_id : NULL;
}

void egw_render_input_free(egw_render_input_t *in)
{
	if (!in)
		return;
	json_decref(in->doc);
	g_free(in->tracks);
	g_ptr_array_unref(in->strings);
	g_ptr_array_unref(in->published);
	g_free(in->room_id);
	g_free(in->egress_id);
	g_free(in);
}
