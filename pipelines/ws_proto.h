/* WebSocket (RFC 6455), the client's pure parts: the opening handshake and
 * the framing. No I/O (pipelines/ws_client.c does that).
 * locality: any thread. */
#ifndef EGW_WS_PROTO_H
#define EGW_WS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define EGW_WS_TEXT 0x1
#define EGW_WS_BINARY 0x2
#define EGW_WS_CLOSE 0x8
#define EGW_WS_PING 0x9
#define EGW_WS_PONG 0xA

#define EGW_WS_HEADER_MAX 14

/* The Sec-WebSocket-Accept a server answers to key (28 characters). */
void egw_ws_accept_for(const char *key, char out[32]);

/* The upgrade request (g_free it): host_port as the Host header has it,
 * path_query the request target ("/" at least), then n_extra "Name: value"
 * lines of the caller's (checked by the contract). */
char *egw_ws_request(const char *host_port, const char *path_query, const char *key,
                     char *const *extra, size_t n_extra);

/* Checks a server's response head (through the blank line): 0 when it
 * switches protocols with the right accept; -1 with why otherwise ("the
 * server answered HTTP 403 Forbidden"). *status: the HTTP status (0 when
 * none could be read). */
int egw_ws_check_response(const char *head, const char *key, int *status, char *why,
                          size_t why_size);

/* A client frame's header (FIN set, masked with mask) for a payload of len
 * bytes; returns its length (6-14). The payload is then masked with
 * egw_ws_mask(). */
size_t egw_ws_frame_header(uint8_t hdr[EGW_WS_HEADER_MAX], int opcode, uint64_t len,
                           const uint8_t mask[4]);

/* XORs data with mask, data being the payload from byte offset on. */
void egw_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* A server frame's header at buf (n bytes available): its length when
 * complete (*opcode, *fin, *len set), 0 when more bytes are needed, -1 when
 * it breaks the protocol (masked, reserved bits, a control frame longer
 * than 125 bytes or fragmented, an unknown opcode). */
int egw_ws_parse_header(const uint8_t *buf, size_t n, int *opcode, int *fin, uint64_t *len);

#endif
