/* Janus Gateway REST (HTTP transport) client: sessions, plugin handles,
 * messages, trickle and the long-poll event stream. Used by the Janus
 * adapter (sfu/janus.c) and by the test publisher.
 *
 * Every call uses its own libcurl easy handle, so one thread may block in
 * egw_janus_poll() while others send messages on the same session.
 * locality: any thread. */
#ifndef EGW_JANUS_API_H
#define EGW_JANUS_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct egw_janus egw_janus_t;

/* Creates a Janus session at url (e.g. "http://127.0.0.1:8088/janus").
 * timeout_ms bounds each request (connect + reply); the long-poll is bounded
 * separately. Returns NULL with errstr set (EGW_ERR_SFU_UNREACHABLE or
 * EGW_ERR_SFU in *err when err != NULL). */
egw_janus_t *egw_janus_session_create(const char *url, int timeout_ms, egw_err_t *err,
				      char *errstr, size_t errstr_size);

/* Destroys the session on the server (best effort) and frees it. NULL ok. */
void egw_janus_session_destroy(egw_janus_t *js);

uint64_t egw_janus_session_id(const egw_janus_t *js);

/* Attaches to plugin (e.g. "janus.plugin.videoroom"). */
egw_err_t egw_janus_attach(egw_janus_t *js, const char *plugin, uint64_t *handle_id,
			   char *errstr, size_t errstr_size);
egw_err_t egw_janus_detach(egw_janus_t *js, uint64_t handle_id);

/* Sends {"janus":"message","body":body[,"jsep":jsep]} to the handle (body
 * and jsep are borrowed; jsep may be NULL). On success *response (new
 * reference, may be NULL if not wanted) is Janus's whole reply: "success"
 * with "plugindata" for synchronous plugin requests, "ack" for asynchronous
 * ones (their result arrives as an event). A plugin-level error in a
 * synchronous reply ("error_code" in plugindata.data) is returned as
 * EGW_ERR_SFU with the plugin's message in errstr. */
egw_err_t egw_janus_message(egw_janus_t *js, uint64_t handle_id, json_t *body, json_t *jsep,
			    json_t **response, char *errstr, size_t errstr_size);

/* Trickles one ICE candidate; candidate == NULL sends {"completed":true}. */
egw_err_t egw_janus_trickle(egw_janus_t *js, uint64_t handle_id, const char *candidate,
			    const char *sdp_mid, int sdp_mline_index);

/* Long-polls GET <url>/<session>?maxev=N. Blocks until Janus has events or
 * its own ~30 s timeout (then *events is an empty array; Janus's
 * "keepalive" is filtered out), or until egw_janus_interrupt().
 * *events is a new JSON array of event objects, each as Janus sent it
 * ("event", "webrtcup", "media", "slowlink", "hangup", "detached", ...). */
egw_err_t egw_janus_poll(egw_janus_t *js, int max_events, json_t **events, char *errstr,
			 size_t errstr_size);

/* Makes a blocked egw_janus_poll() return EGW_ERR_TIMEOUT promptly, and every
 * later one too. Thread-safe. */
void egw_janus_interrupt(egw_janus_t *js);

#endif
