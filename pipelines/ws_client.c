/* WebSocket client connection over GIO (see ws_client.h). */
#include "pipelines/ws_client.h"

#include <stdio.h>
#include <string.h>

#include "pipelines/ws_proto.h"

#define HEAD_MAX 8192
#define RBUF_MAX (64 * 1024) /* what a server may send us in one frame */

struct egw_ws {
	GSocketConnection *conn;
	GInputStream *in;
	GOutputStream *out;
	guint8 *rbuf; /* received, not yet handled */
	size_t rlen;
	GByteArray *frame; /* the frame being sent */
};

static void set_why(char *why, size_t why_size, const char *what, const GError *err)
{
	snprintf(why, why_size, "%s%s%s", what, err ? ": " : "", err ? err->message : "");
}

static void ws_free(egw_ws_t *ws)
{
	if (!ws)
		return;
	if (ws->conn) {
		g_io_stream_close(G_IO_STREAM(ws->conn), NULL, NULL);
		g_object_unref(ws->conn);
	}
	g_free(ws->rbuf);
	if (ws->frame)
		g_byte_array_unref(ws->frame);
	g_free(ws);
}

/* Reads the response head into ws->rbuf; what follows it stays there. */
static int read_head(egw_ws_t *ws, GCancellable *cancel, char **head, char *why, size_t why_size)
{
	GError *err = NULL;
	char *end;

	for (;;) {
		gssize n;
		ws->rbuf[ws->rlen] = '\0';
		if ((end = strstr((char *)ws->rbuf, "\r\n\r\n")))
			break;
		if (ws->rlen >= HEAD_MAX) {
			snprintf(why, why_size,
			         "the server's answer is not HTTP (no end of its head)");
			return -1;
		}
		n = g_input_stream_read(ws->in, ws->rbuf + ws->rlen, HEAD_MAX - ws->rlen, cancel,
		                        &err);
		if (n <= 0) {
			set_why(why, why_size,
			        n == 0 ? "the server closed the connection during the handshake"
			               : "no answer to the handshake",
			        err);
			g_clear_error(&err);
			return -1;
		}
		ws->rlen += (size_t)n;
	}
	end += 4;
	*head = g_strndup((char *)ws->rbuf, (gsize)(end - (char *)ws->rbuf));
	ws->rlen -= (size_t)(end - (char *)ws->rbuf);
	memmove(ws->rbuf, end, ws->rlen);
	return 0;
}

static void random_key(char out[32])
{
	guint8 nonce[16];
	gchar *b64;
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (guint8)g_random_int_range(0, 256);
	b64 = g_base64_encode(nonce, sizeof(nonce));
	g_strlcpy(out, b64, 32);
	g_free(b64);
}

egw_ws_t *egw_ws_connect(const char *url, char *const *headers, size_t n_headers, int timeout_s,
                         GCancellable *cancel, int *status, char *why, size_t why_size)
{
	GError *err = NULL;
	GUri *uri = g_uri_parse(url, G_URI_FLAGS_ENCODED, &err);
	GSocketClient *client = NULL;
	GSocketConnectable *addr = NULL;
	egw_ws_t *ws = NULL;
	char key[32], *host_port = NULL, *target = NULL, *req = NULL, *head = NULL;
	int tls, port;

	*status = 0;
	if (!uri) {
		set_why(why, why_size, "not a URL", NULL);
		g_clear_error(&err);
		return NULL;
	}
	tls = !g_ascii_strcasecmp(g_uri_get_scheme(uri), "wss");
	port = g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : tls ? 443 : 80;
	client = g_socket_client_new();
	g_socket_client_set_timeout(client, (guint)timeout_s);
	g_socket_client_set_tls(client, tls);
	addr = g_network_address_new(g_uri_get_host(uri), (guint16)port);
	ws = g_new0(egw_ws_t, 1);
	ws->rbuf = g_malloc(RBUF_MAX + 1);
	ws->frame = g_byte_array_new();
	if (!(ws->conn = g_socket_client_connect(client, addr, cancel, &err))) {
		set_why(why, why_size, "could not connect", err);
		goto fail;
	}
	g_socket_set_timeout(g_socket_connection_get_socket(ws->conn), (guint)timeout_s);
	ws->in = g_io_stream_get_input_stream(G_IO_STREAM(ws->conn));
	ws->out = g_io_stream_get_output_stream(G_IO_STREAM(ws->conn));
	if (!G_IS_POLLABLE_INPUT_STREAM(ws->in) ||
	    !g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(ws->in))) {
		set_why(why, why_size, "the connection cannot be polled", NULL);
		goto fail;
	}
	random_key(key);
	host_port = strchr(g_uri_get_host(uri), ':') /* an IPv6 literal */
	                    ? g_strdup_printf("[%s]:%d", g_uri_get_host(uri), port)
	                    : g_strdup_printf("%s:%d", g_uri_get_host(uri), port);
	target = g_strdup_printf("%s%s%s", *g_uri_get_path(uri) ? g_uri_get_path(uri) : "/",
	                         g_uri_get_query(uri) ? "?" : "",
	                         g_uri_get_query(uri) ? g_uri_get_query(uri) : "");
	req = egw_ws_request(host_port, target, key, headers, n_headers);
	if (!g_output_stream_write_all(ws->out, req, strlen(req), NULL, cancel, &err)) {
		set_why(why, why_size, "could not send the handshake", err);
		goto fail;
	}
	if (read_head(ws, cancel, &head, why, why_size) ||
	    egw_ws_check_response(head, key, status, why, why_size))
		goto fail;
	goto out;
fail:
	ws_free(ws);
	ws = NULL;
out:
	g_clear_error(&err);
	g_free(head);
	g_free(req);
	g_free(target);
	g_free(host_port);
	g_object_unref(addr);
	g_object_unref(client);
	g_uri_unref(uri);
	return ws;
}

int egw_ws_send(egw_ws_t *ws, int opcode, const void *data, size_t len, GCancellable *cancel,
                char *why, size_t why_size)
{
	guint8 hdr[EGW_WS_HEADER_MAX], mask[4];
	guint32 r = g_random_int();
	GError *err = NULL;
	size_t hlen;

	memcpy(mask, &r, sizeof(mask));
	hlen = egw_ws_frame_header(hdr, opcode, len, mask);
	g_byte_array_set_size(ws->frame, 0);
	g_byte_array_append(ws->frame, hdr, (guint)hlen);
	if (len)
		g_byte_array_append(ws->frame, data, (guint)len);
	egw_ws_mask(ws->frame->data + hlen, len, mask, 0);
	if (!g_output_stream_write_all(ws->out, ws->frame->data, ws->frame->len, NULL, cancel,
	                               &err)) {
		set_why(why, why_size,
		        g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
		                ? "the server took nothing"
		                : "could not send",
		        err);
		g_error_free(err);
		return -1;
	}
	return 0;
}

/* Handles every complete frame in rbuf. */
static int handle_frames(egw_ws_t *ws, unsigned *pongs, GCancellable *cancel, char *why,
                         size_t why_size)
{
	for (;;) {
		int opcode, fin, h;
		uint64_t len;
		if ((h = egw_ws_parse_header(ws->rbuf, ws->rlen, &opcode, &fin, &len)) < 0) {
			snprintf(why, why_size, "the server broke the WebSocket protocol");
			return -1;
		}
		if (h == 0 || ws->rlen < (size_t)h + len) {
			if (h && (size_t)h + len > RBUF_MAX) {
				snprintf(why, why_size, "the server sent a message over %d bytes",
				         RBUF_MAX);
				return -1;
			}
			return 0;
		}
		const guint8 *payload = ws->rbuf + h;
		if (opcode == EGW_WS_PING &&
		    egw_ws_send(ws, EGW_WS_PONG, payload, (size_t)len, cancel, why, why_size))
			return -1;
		if (opcode == EGW_WS_PONG)
			(*pongs)++;
		if (opcode == EGW_WS_CLOSE) {
			unsigned code = len >= 2 ? ((unsigned)payload[0] << 8) | payload[1] : 1005;
			snprintf(why, why_size, "the server closed the connection (code %u)", code);
			return -1;
		}
		ws->rlen -= (size_t)h + (size_t)len;
		memmove(ws->rbuf, ws->rbuf + h + len, ws->rlen);
	}
}

int egw_ws_read(egw_ws_t *ws, unsigned *pongs, GCancellable *cancel, char *why, size_t why_size)
{
	GError *err = NULL;

	for (;;) {
		gssize n;
		if (handle_frames(ws, pongs, cancel, why, why_size))
			return -1;
		if (ws->rlen >= RBUF_MAX)
			return 0; /* handle_frames said it fits: more next time */
		n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(ws->in),
		                                             ws->rbuf + ws->rlen,
		                                             RBUF_MAX - ws->rlen, cancel, &err);
		if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			g_error_free(err);
			return 0;
		}
		if (n <= 0) {
			set_why(why, why_size, n == 0 ? "the server closed the connection" : "lost",
			        err);
			g_clear_error(&err);
			return -1;
		}
		ws->rlen += (size_t)n;
	}
}

void egw_ws_close(egw_ws_t *ws, int wait_ms, GCancellable *cancel)
{
	static const guint8 normal[2] = {1000 >> 8, 1000 & 0xff};
	char why[128];
	unsigned pongs = 0;
	gint64 until = g_get_monotonic_time() + (gint64)wait_ms * 1000;

	if (!ws)
		return;
	if (wait_ms >= 0 &&
	    !egw_ws_send(ws, EGW_WS_CLOSE, normal, sizeof(normal), cancel, why, sizeof(why)))
		while (g_get_monotonic_time() < until &&
		       !egw_ws_read(ws, &pongs, cancel, why, sizeof(why)))
			g_usleep(20 * 1000);
	ws_free(ws);
}
