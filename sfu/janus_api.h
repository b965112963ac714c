/* Janus Gateway REST client (HTTP transport), asynchronous: every request
 * is an egw_http transfer on the caller's main context, and events come
 * from a long-poll that re-arms itself.
 *
 * Errors are classified by code, never by message text: transport failures
 * are EGW_ERR_SFU_UNREACHABLE (or EGW_ERR_TIMEOUT when Janus accepted the
 * connection but did not answer); Janus's own error codes (core and
 * VideoRoom) map to EGW_ERR_NOT_FOUND (no such room, no such feed),
 * EGW_ERR_UNAUTHORIZED (wrong PIN or token) or EGW_ERR_SFU; the code
 * itself is in egw_janus_reply_t.code.
 *
 * Lifetime: every call names an owner (any pointer); the callback runs on
 * the context while the call is pending, and egw_janus_forget(js, owner)
 * cancels an owner's calls (owners forget before they go away).
 * egw_janus_free() cancels everything; it may be called from a callback.
 * locality: the http client's main context. */
#ifndef EGW_JANUS_API_H
#define EGW_JANUS_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "http/http.h"

/* Janus error codes this client maps (janus.h, janus_videoroom.c). */
#define EGW_JANUS_ERR_UNAUTHORIZED 403
#define EGW_JANUS_ERR_SESSION_NOT_FOUND 458
#define EGW_JANUS_ERR_HANDLE_NOT_FOUND 459
#define EGW_JANUS_VR_NO_SUCH_ROOM 426
#define EGW_JANUS_VR_NO_SUCH_FEED 428
#define EGW_JANUS_VR_UNAUTHORIZED 433

typedef struct egw_janus egw_janus_t;

/* The egw_err_t for a Janus (core or VideoRoom) error code. */
egw_err_t egw_janus_classify(int code);

typedef struct egw_janus_reply {
	egw_err_t err;
	int code;           /* Janus's error code when Janus said no; else 0 */
	const char *errmsg; /* with err */
	json_t *json;       /* the whole reply (borrowed); NULL with err */
	json_t *data;       /* plugindata.data when present (borrowed) */
	uint64_t id;        /* data.id of create/attach replies */
} egw_janus_reply_t;

typedef void (*egw_janus_cb)(void *owner, const egw_janus_reply_t *reply);
/* One event of the long-poll (borrowed), or NULL with error set when the
 * stream of events ended (Janus gone, session lost). */
typedef void (*egw_janus_event_cb)(void *user, json_t *event, const egw_janus_reply_t *error);

/* A client for the Janus at url (e.g. "http://127.0.0.1:8088/janus"); no
 * request is made yet. timeout_ms bounds each request. */
egw_janus_t *egw_janus_new(egw_http_t *http, const char *url, int timeout_ms,
			   const char *log_id);
void egw_janus_free(egw_janus_t *js);

uint64_t egw_janus_session(const egw_janus_t *js);

/* Creates the session (needed before anything else). */
void egw_janus_create(egw_janus_t *js, egw_janus_cb cb, void *owner);
/* Starts the event long-poll; events go to cb until free/destroy. */
void egw_janus_listen(egw_janus_t *js, egw_janus_event_cb cb, void *user);
void egw_janus_attach(egw_janus_t *js, const char *plugin, egw_janus_cb cb, void *owner);
/* {"janus":"message","body":body[,"jsep":jsep]}; body and jsep are stolen
 * (jsep may be NULL). A plugin refusal in a synchronous reply
 * (data.error_code) is an error like any other. */
void egw_janus_message(egw_janus_t *js, uint64_t handle, json_t *body, json_t *jsep,
		       egw_janus_cb cb, void *owner);
/* Trickles a candidate (NULL: {"completed":true}); cb may be NULL. */
void egw_janus_trickle(egw_janus_t *js, uint64_t handle, const char *candidate, int mline,
		       egw_janus_cb cb, void *owner);
void egw_janus_detach(egw_janus_t *js, uint64_t handle, egw_janus_cb cb, void *owner);
/* Cancels the owner's pending calls: their callbacks will not run. */
void egw_janus_forget(egw_janus_t *js, void *owner);

/* Stops listening, cancels everything, destroys the session on the server
 * (best effort, at most timeout_ms) and frees the client and http (when
 * own_http). done(user) runs on the context afterwards; may be NULL. */
void egw_janus_goodbye(egw_janus_t *js, int timeout_ms, int own_http, void (*done)(void *user),
		       void *user);

#endif
