/* The room of a start request: which SFU and room, and how its media is
 * reached (Janus URL and PIN, WHEP endpoints, the SDPs of forwarded RTP). */
#include "contract/request_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sdp.h"

#define REQ EGW_JSON_REQUIRED
#define SECRET EGW_JSON_SECRET
#define N(table) (sizeof(table) / sizeof((table)[0]))
#define SECTION(obj, path, table, base)                                                            \
	egw_job_section((obj), (path), (table), N(table), (base), errstr, errstr_size)
#define invalid egw_job_invalid

static const char *const sfu_names[] = {"janus", "whep", "rtp", NULL};

static const egw_json_field_t room_fields[] = {
        EGW_F_ENUM("sfu", REQ, sfu_names, egw_job_t, room.sfu),
        EGW_F_STR("url", 0, EGW_JOB_URL_MAX, egw_job_t, room.url),
        {.name = "room_id",
         .types = EGW_JSON_T_STRING | EGW_JSON_T_INT,
         .flags = REQ | EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE,
         .max_len = EGW_JOB_NAME_MAX,
         .dest = EGW_JSON_DEST_STR,
         .offset = offsetof(egw_job_t, room.room_id)},
        EGW_F_STR("pin", SECRET, EGW_JOB_NAME_MAX, egw_job_t, room.pin),
        {.name = "sdp",
         .types = EGW_JSON_T_STRING | EGW_JSON_T_NULL,
         .flags = SECRET | EGW_JSON_NONEMPTY,
         .max_len = EGW_SDP_MAX_BYTES},
        {.name = "sdps",
         .types = EGW_JSON_T_ARRAY | EGW_JSON_T_NULL,
         .flags = SECRET,
         .min = 1,
         .max = EGW_JOB_SDPS_MAX},
        {.name = "token",
         .types = EGW_JSON_T_STRING | EGW_JSON_T_NULL,
         .flags = SECRET | EGW_JSON_NONEMPTY | EGW_JSON_PRINTABLE,
         .max_len = EGW_JOB_TOKEN_MAX},
        {.name = "endpoints",
         .types = EGW_JSON_T_ARRAY | EGW_JSON_T_NULL,
         .min = 1,
         .max = EGW_JOB_SDPS_MAX},
};

/* One SDP of an rtp room, checked and copied; its ports must differ from
 * the ones of the SDPs before it, and its participant's name too. */
static egw_err_t add_sdp(egw_job_t *job, const json_t *v, const char *path, egw_sdp_t *seen,
                         char *errstr, size_t errstr_size)
{
	egw_sdp_t *s = &seen[job->room.n_sdps];
	char msg[400];
	egw_err_t err;

	if (!json_is_string(v) || !json_string_length(v) ||
	    json_string_length(v) > EGW_SDP_MAX_BYTES)
		return invalid(errstr, errstr_size, path, NULL,
		               "must be an SDP text of at most 16384 bytes");
	if ((err = egw_sdp_parse(json_string_value(v), s, msg, sizeof(msg)))) {
		egw_json_seterr(errstr, errstr_size, path, NULL, "%s", msg);
		return err;
	}
	for (size_t i = 0; i < job->room.n_sdps; i++) {
		if (!strcmp(seen[i].name, s->name))
			return invalid(errstr, errstr_size, path, NULL,
			               "names the same participant (s=) as an SDP before it");
		for (size_t a = 0; a < seen[i].n_streams; a++)
			for (size_t b = 0; b < s->n_streams; b++) {
				const egw_sdp_stream_t *x = &seen[i].streams[a],
				                       *y = &s->streams[b];
				if (x->port == y->port || x->port == y->rtcp_port ||
				    x->rtcp_port == y->port || x->rtcp_port == y->rtcp_port)
					return invalid(errstr, errstr_size, path, NULL,
					               "uses a port of an SDP before it");
			}
	}
	job->room.sdps[job->room.n_sdps++] = strdup(json_string_value(v));
	return job->room.sdps[job->room.n_sdps - 1] ? EGW_OK : EGW_ERR_NOMEM;
}

/* rtp: room.sdp (one participant) or room.sdps (a list, for composites). */
static egw_err_t parse_sdps(const json_t *room, egw_job_t *job, char *errstr, size_t errstr_size)
{
	json_t *one = egw_json_get(room, "sdp"), *list = egw_json_get(room, "sdps"), *v;
	egw_sdp_t *seen;
	char path[32];
	egw_err_t err = EGW_OK;
	size_t i;

	if (strcmp(job->room.sfu, "rtp"))
		return one || list ? invalid(errstr, errstr_size, "room", one ? "sdp" : "sdps",
		                             "is for sfu rtp only")
		                   : EGW_OK;
	if (!one == !list)
		return invalid(errstr, errstr_size, "room", "sdp",
		               one ? "give room.sdp or room.sdps, not both"
		                   : "is required for sfu rtp (or room.sdps, a list)");
	if (!(job->room.sdps = calloc(EGW_JOB_SDPS_MAX, sizeof(char *))) ||
	    !(seen = calloc(EGW_JOB_SDPS_MAX, sizeof(*seen))))
		return EGW_ERR_NOMEM;
	if (one)
		err = add_sdp(job, one, "room.sdp", seen, errstr, errstr_size);
	else
		json_array_foreach(list, i, v)
		{
			egw_json_path_index(path, sizeof(path), "room.sdps", i);
			if ((err = add_sdp(job, v, path, seen, errstr, errstr_size)))
				break;
		}
	for (i = 0; i < EGW_JOB_SDPS_MAX; i++)
		egw_sdp_wipe(&seen[i]);
	free(seen);
	return err;
}

static const egw_json_field_t endpoint_fields[] = {
        EGW_F_STR("url", REQ, EGW_JOB_URL_MAX, egw_job_endpoint_t, url),
        EGW_F_STR("token", SECRET, EGW_JOB_TOKEN_MAX, egw_job_endpoint_t, token),
        EGW_F_STR("participant", 0, EGW_JOB_NAME_MAX, egw_job_endpoint_t, participant),
};

/* whep: room.url (and room.token), or room.endpoints, a list (for
 * composites); each endpoint an http(s) URL, participants distinct. */
static egw_err_t parse_endpoints(const json_t *room, egw_job_t *job, char *errstr,
                                 size_t errstr_size)
{
	json_t *list = egw_json_get(room, "endpoints"), *tok = egw_json_get(room, "token"), *v;
	char path[48];
	egw_err_t err;
	size_t i;

	if (strcmp(job->room.sfu, "whep"))
		return list || tok ? invalid(errstr, errstr_size, "room",
		                             list ? "endpoints" : "token", "is for sfu whep only")
		                   : EGW_OK;
	if (!list == !job->room.url)
		return invalid(errstr, errstr_size, "room", "url",
		               list ? "give room.url or room.endpoints, not both"
		                    : "is required (the WHEP endpoint; or room.endpoints, a list)");
	if (list && tok)
		return invalid(errstr, errstr_size, "room", "token",
		               "goes with room.url; each of room.endpoints has its own");
	job->room.endpoints = calloc(list ? json_array_size(list) : 1, sizeof(egw_job_endpoint_t));
	if (!job->room.endpoints)
		return EGW_ERR_NOMEM;
	if (!list) {
		egw_job_endpoint_t *e = &job->room.endpoints[job->room.n_endpoints++];
		if (!(e->url = strdup(job->room.url)) ||
		    (tok && !(e->token = strdup(json_string_value(tok)))))
			return EGW_ERR_NOMEM;
		return EGW_OK;
	}
	json_array_foreach(list, i, v)
	{
		egw_job_endpoint_t *e = &job->room.endpoints[job->room.n_endpoints++];
		egw_json_path_index(path, sizeof(path), "room.endpoints", i);
		if (!json_is_object(v))
			return invalid(errstr, errstr_size, path, NULL, "must be an object");
		if ((err = SECTION(v, path, endpoint_fields, e)))
			return err;
		if (!egw_job_url_ok(e->url, egw_job_http_schemes))
			return invalid(errstr, errstr_size, path, "url",
			               "must be an http:// or https:// URL");
		if (e->participant && strchr(e->participant, '/'))
			return invalid(errstr, errstr_size, path, "participant",
			               "must not contain '/'");
		for (size_t j = 0; e->participant && j + 1 < job->room.n_endpoints; j++)
			if (job->room.endpoints[j].participant &&
			    !strcmp(job->room.endpoints[j].participant, e->participant))
				return invalid(
				        errstr, errstr_size, path, "participant",
				        "names the same participant as an endpoint before it");
	}
	return EGW_OK;
}

egw_err_t egw_job_parse_room(const json_t *room, egw_job_t *job, int render, char *errstr,
                             size_t errstr_size)
{
	json_t *id;
	int signalled = 0;
	egw_err_t err = SECTION(room, "room", room_fields, job);

	if (err)
		return err;
	id = egw_json_get(room, "room_id");
	job->room.room_id_is_number = json_is_integer(id);
	if (json_is_integer(id) && json_integer_value(id) < 1)
		return invalid(errstr, errstr_size, "room", "room_id",
		               "must be a positive integer or a non-empty string");
	/* janus and whep are signalled over HTTP; rtp only receives. */
	signalled = strcmp(job->room.sfu, "rtp") != 0;
	if (!strcmp(job->room.sfu, "janus") && !job->room.url)
		return invalid(errstr, errstr_size, "room", "url", "is required");
	if (signalled && job->room.url && !egw_job_url_ok(job->room.url, egw_job_http_schemes))
		return invalid(errstr, errstr_size, "room", "url",
		               "must be an http:// or https:// URL");
	if (!render && (err = parse_endpoints(room, job, errstr, errstr_size)))
		return err;
	/* (a render's media comes from its manifest: no SDP to receive) */
	return render ? EGW_OK : parse_sdps(room, job, errstr, errstr_size);
}

void egw_job_free_room(egw_job_t *job)
{
	free(job->room.sfu);
	free(job->room.url);
	free(job->room.room_id);
	free(job->room.pin);
	egw_job_free_strv(job->room.sdps, job->room.n_sdps);
	for (size_t i = 0; i < job->room.n_endpoints; i++) {
		free(job->room.endpoints[i].url);
		free(job->room.endpoints[i].token);
		free(job->room.endpoints[i].participant);
	}
	free(job->room.endpoints);
}
