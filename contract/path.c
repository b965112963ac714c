/* Output path templates: {room_id}, {egress_id}, {participant}, {time};
 * for room_tracks egresses also {track} and {media}.
 * Values are reduced to a safe file name charset; the result must stay under
 * the storage root. */
#include "contract/request_int.h"

#include <stdio.h>
#include <string.h>

#define VALUE_MAX 129 /* a placeholder expands to at most 128 bytes */

static const char placeholders_hint[] =
        "unknown placeholder (use {room_id}, {egress_id}, {participant}, {time}, and for "
        "room_tracks {track} and {media})";

/* Copies in to out keeping A-Z, a-z, 0-9, '_', '-' and '.'; any other
 * character (a whole UTF-8 sequence) becomes '_', and so does a leading '.',
 * so that a value is never ".", ".." or a hidden file, and never has a '/'. */
static void sanitise(const char *in, char *out, size_t out_size)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && n + 1 < out_size; p++) {
		unsigned char c = *p;
		int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && n > 0);

		if ((c & 0xc0) == 0x80)
			continue; /* UTF-8 continuation byte: the lead byte wrote '_' */
		out[n++] = keep ? (char)c : '_';
	}
	out[n] = '\0';
}

/* The participant a path can name: the source's participant, or the
 * publisher id of its track_id. NULL when the source has none. */
static const char *participant_of(const egw_job_t *job, char *buf, size_t size)
{
	const char *slash;

	if (job->source.kind != EGW_SOURCE_TRACK && job->source.kind != EGW_SOURCE_PARTICIPANT)
		return NULL;
	if (job->source.participant)
		return job->source.participant;
	if (!job->source.track_id)
		return NULL;
	slash = strchr(job->source.track_id, '/');
	snprintf(buf, size, "%.*s",
		 (int)(slash ? (size_t)(slash - job->source.track_id) : strlen(job->source.track_id)),
		 job->source.track_id);
	return buf;
}

static int is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && !memcmp(name, want, len);
}

static egw_err_t placeholder(const egw_job_t *job, const egw_path_track_t *tr, const char *name,
                             size_t len, time_t t, char *value, size_t size, const char *field,
                             char *errstr, size_t errstr_size)
{
	char raw[EGW_JOB_NAME_MAX + 1];
	const char *participant;
	struct tm tm;
	int per_track = job->source.kind == EGW_SOURCE_ROOM_TRACKS;

	if (is(name, len, "track") || is(name, len, "media")) {
		if (!per_track) {
			egw_json_seterr(errstr, errstr_size, field, NULL,
			                "{%.*s} is only for room_tracks egresses", (int)len, name);
			return EGW_ERR_INVALID_REQUEST;
		}
		/* (checked before any track is known: a stand-in) */
		sanitise(!tr                      ? (is(name, len, "track") ? "track" : "audio")
		         : is(name, len, "track") ? tr->track_id
		                                  : tr->media,
		         value, size);
	} else if (is(name, len, "participant") && per_track) {
		sanitise(tr && tr->participant ? tr->participant : "participant", value, size);
	} else if (is(name, len, "egress_id")) {
		sanitise(job->egress_id, value, size);
	} else if (is(name, len, "room_id")) {
		sanitise(job->room.room_id ? job->room.room_id : "", value, size);
	} else if (is(name, len, "participant")) {
		participant = participant_of(job, raw, sizeof(raw));
		if (!participant) {
			egw_json_seterr(errstr, errstr_size, field, NULL,
					"{participant} needs a track or participant source");
			return EGW_ERR_INVALID_REQUEST;
		}
		sanitise(participant, value, size);
	} else if (is(name, len, "time")) {
		if (!gmtime_r(&t, &tm) || !strftime(value, size, "%Y%m%dT%H%M%SZ", &tm)) {
			egw_json_seterr(errstr, errstr_size, field, NULL, "{time} is out of range");
			return EGW_ERR_INVALID_REQUEST;
		}
	} else {
		egw_json_seterr(errstr, errstr_size, field, NULL, "%s", placeholders_hint);
		return EGW_ERR_INVALID_REQUEST;
	}
	return EGW_OK;
}

/* Why the expanded path would leave the storage root, or NULL. */
static const char *escape_problem(const char *path)
{
	if (!path[0])
		return "expands to an empty path";
	if (path[0] == '/')
		return "must be a relative path (no leading /)";
	for (const char *seg = path; seg;) {
		size_t len = strcspn(seg, "/");
		if (len == 0)
			return "must not contain empty segments (// or a trailing /)";
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return "must not contain . or .. segments";
		seg = seg[len] ? seg + len + 1 : NULL;
	}
	return NULL;
}

const char *egw_job_key_prefix_problem(const char *prefix)
{
	char buf[EGW_JOB_TEMPLATE_MAX + 1];
	size_t len = strlen(prefix);
	if (!len)
		return NULL;
	if (len > EGW_JOB_TEMPLATE_MAX)
		return "is too long";
	snprintf(buf, sizeof(buf), "%s", prefix);
	if (buf[len - 1] == '/') /* "recordings/" is a folder */
		buf[len - 1] = '\0';
	return escape_problem(buf);
}

static egw_err_t expand(const egw_job_t *job, const egw_path_track_t *tr, const char *tmpl,
                        time_t t, const char *field, char *out, size_t out_size, char *errstr,
                        size_t errstr_size)
{
	char value[VALUE_MAX];
	const char *next, *problem = NULL;
	size_t n = 0, len;
	egw_err_t err;

	if (out && out_size)
		out[0] = '\0';
	if (!job || !tmpl || !out || !out_size) {
		egw_json_seterr(errstr, errstr_size, field, NULL, "is required");
		return EGW_ERR_INVALID_REQUEST;
	}
	for (const char *p = tmpl; *p; p = next) {
		if (*p == '{') {
			const char *close = strchr(p + 1, '}');
			if (!close) {
				problem = "has a { without }";
				break;
			}
			err = placeholder(job, tr, p + 1, (size_t)(close - p - 1), t, value,
			                  sizeof(value), field, errstr, errstr_size);
			if (err)
				return err;
			next = close + 1;
		} else if (*p == '}') {
			problem = "has a } without {";
			break;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\') {
			problem = "must not contain control characters or backslashes";
			break;
		} else {
			value[0] = *p;
			value[1] = '\0';
			next = p + 1;
		}
		len = strlen(value);
		if (n + len >= out_size) {
			egw_json_seterr(errstr, errstr_size, field, NULL,
					"expands to more than %zu bytes", out_size - 1);
			out[0] = '\0';
			return EGW_ERR_INVALID_REQUEST;
		}
		memcpy(out + n, value, len);
		n += len;
	}
	out[n] = '\0';
	if (!problem)
		problem = escape_problem(out);
	if (problem) {
		out[0] = '\0';
		egw_json_seterr(errstr, errstr_size, field, NULL, "%s", problem);
		return EGW_ERR_INVALID_REQUEST;
	}
	return EGW_OK;
}

egw_err_t egw_job_expand(const egw_job_t *job, const char *tmpl, time_t t, const char *field,
                         char *out, size_t out_size, char *errstr, size_t errstr_size)
{
	return expand(job, NULL, tmpl, t, field, out, out_size, errstr, errstr_size);
}

egw_err_t egw_job_expand_track_path(const egw_job_t *job, const char *tmpl, time_t t,
                                    const egw_path_track_t *tr, char *out, size_t out_size,
                                    char *errstr, size_t errstr_size)
{
	return expand(job, tr, tmpl, t, "path", out, out_size, errstr, errstr_size);
}

egw_err_t egw_job_expand_path(const egw_job_t *job, const char *tmpl, time_t t, char *out,
			      size_t out_size, char *errstr, size_t errstr_size)
{
	return egw_job_expand(job, tmpl, t, "path", out, out_size, errstr, errstr_size);
}
