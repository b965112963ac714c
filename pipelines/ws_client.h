/* A WebSocket client connection (ws:// and wss://) for one thread: blocking
 * calls bounded by a timeout and a GCancellable, and a read that never
 * blocks (it answers the server's pings). Framing: ws_proto.h. Messages
 * (why) never quote the URL: it may carry a token.
 * locality: the thread that connected, until egw_ws_close(). */
#ifndef EGW_WS_CLIENT_H
#define EGW_WS_CLIENT_H

#include <gio/gio.h>
#include <stddef.h>

typedef struct egw_ws egw_ws_t;

/* Connects and does the opening handshake (with the n_headers "Name:
 * value" lines of headers), each step bounded by timeout_s. NULL with why
 * on failure; *status is then the HTTP status when the server answered
 * but refused the upgrade (0 otherwise). */
egw_ws_t *egw_ws_connect(const char *url, char *const *headers, size_t n_headers, int timeout_s,
                         GCancellable *cancel, int *status, char *why, size_t why_size);

/* Sends one frame (opcode from ws_proto.h). 0, or -1 with why (a server
 * that takes nothing for timeout_s: timed out). */
int egw_ws_send(egw_ws_t *ws, int opcode, const void *data, size_t len, GCancellable *cancel,
                char *why, size_t why_size);

/* Handles what the server sent so far, without waiting: pings are
 * answered, pongs counted in *pongs, text and binary messages ignored.
 * 0, or -1 with why when the server closed the connection or broke the
 * protocol. */
int egw_ws_read(egw_ws_t *ws, unsigned *pongs, GCancellable *cancel, char *why, size_t why_size);

/* Sends a close frame (1000, normal), waits up to wait_ms for the
 * server's, and frees; wait_ms < 0: drops the connection without a close
 * frame (it is lost already). NULL ok. */
void egw_ws_close(egw_ws_t *ws, int wait_ms, GCancellable *cancel);

#endif
