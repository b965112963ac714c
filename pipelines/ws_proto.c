/* WebSocket handshake and framing (see ws_proto.h). */
#include "pipelines/ws_proto.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void egw_ws_accept_for(const char *key, char out[32])
{
	GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA1);
	guint8 digest[20];
	gsize len = sizeof(digest);
	gchar *b64;

	g_checksum_update(sha, (const guchar *)key, (gssize)strlen(key));
	g_checksum_update(sha, (const guchar *)WS_GUID, (gssize)strlen(WS_GUID));
	g_checksum_get_digest(sha, digest, &len);
	g_checksum_free(sha);
	b64 = g_base64_encode(digest, len);
	g_strlcpy(out, b64, 32);
	g_free(b64);
}

char *egw_ws_request(const char *host_port, const char *path_query, const char *key,
                     char *const *extra, size_t n_extra)
{
	GString *req = g_string_new(NULL);

	g_string_printf(req,
	                "GET %s HTTP/1.1\r\n"
	                "Host: %s\r\n"
	                "Upgrade: websocket\r\n"
	                "Connection: Upgrade\r\n"
	                "Sec-WebSocket-Key: %s\r\n"
	                "Sec-WebSocket-Version: 13\r\n"
	                "User-Agent: egress\r\n",
	                path_query && *path_query ? path_query : "/", host_port, key);
	for (size_t i = 0; i < n_extra; i++)
		g_string_append_printf(req, "%s\r\n", extra[i]);
	g_string_append(req, "\r\n");
	return g_string_free(req, FALSE);
}

/* The value of header name in head (a new string), or NULL. */
static char *header_value(const char *head, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line && line[2];
	     line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (!strncasecmp(h, name, nlen) && h[nlen] == ':') {
			const char *v = h + nlen + 1, *end = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			if (!end)
				end = v + strlen(v);
			while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			return g_strndup(v, (gsize)(end - v));
		}
	}
	return NULL;
}

/* Does the comma-separated list hold token (case-insensitive)? */
static int has_token(const char *list, const char *token)
{
	gchar **parts = g_strsplit(list ? list : "", ",", -1);
	int found = 0;
	for (gchar **p = parts; *p && !found; p++)
		found = !g_ascii_strcasecmp(g_strstrip(*p), token);
	g_strfreev(parts);
	return found;
}

int egw_ws_check_response(const char *head, const char *key, int *status, char *why,
                          size_t why_size)
{
	char want[32], reason[64] = "";
	char *upgrade = NULL, *connection = NULL, *accept = NULL;
	int code = 0, ok = -1;

	*status = 0;
	if (sscanf(head, "HTTP/1.%*[01] %3d %63[^\r\n]", &code, reason) < 1) {
		snprintf(why, why_size, "the server did not answer in HTTP");
		return -1;
	}
	*status = code;
	if (code != 101) {
		snprintf(why, why_size, "the server answered HTTP %d%s%s", code, *reason ? " " : "",
		         reason);
		return -1;
	}
	upgrade = header_value(head, "Upgrade");
	connection = header_value(head, "Connection");
	accept = header_value(head, "Sec-WebSocket-Accept");
	egw_ws_accept_for(key, want);
	if (!upgrade || g_ascii_strcasecmp(upgrade, "websocket"))
		snprintf(why, why_size, "the server switched to another protocol than WebSocket");
	else if (!has_token(connection, "upgrade"))
		snprintf(why, why_size, "the server's answer lacks Connection: Upgrade");
	else if (!accept || strcmp(accept, want))
		snprintf(why, why_size, "the server's Sec-WebSocket-Accept is wrong");
	else
		ok = 0;
	g_free(upgrade);
	g_free(connection);
	g_free(accept);
	return ok;
}

size_t egw_ws_frame_header(uint8_t hdr[EGW_WS_HEADER_MAX], int opcode, uint64_t len,
                           const uint8_t mask[4])
{
	size_t n = 2;

	hdr[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (len < 126) {
		hdr[1] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		hdr[1] = 0x80 | 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		n = 4;
	} else {
		hdr[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	memcpy(hdr + n, mask, 4);
	return n + 4;
}

void egw_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(offset + i) & 3];
}

int egw_ws_parse_header(const uint8_t *buf, size_t n, int *opcode, int *fin, uint64_t *len)
{
	size_t need = 2;
	uint64_t l;
	int op;

	if (n < 2)
		return 0;
	op = buf[0] & 0x0f;
	if ((buf[0] & 0x70) || (buf[1] & 0x80)) /* reserved bits; masked by a server */
		return -1;
	if (op != 0 && op != EGW_WS_TEXT && op != EGW_WS_BINARY && op != EGW_WS_CLOSE &&
	    op != EGW_WS_PING && op != EGW_WS_PONG)
		return -1;
	l = buf[1] & 0x7f;
	if (l == 126)
		need = 4;
	else if (l == 127)
		need = 10;
	if (n < need)
		return 0;
	if (l == 126) {
		l = ((uint64_t)buf[2] << 8) | buf[3];
	} else if (l == 127) {
		l = 0;
		for (int i = 0; i < 8; i++)
			l = (l << 8) | buf[2 + i];
		if (l >> 63)
			return -1;
	}
	if (op >= EGW_WS_CLOSE && (l > 125 || !(buf[0] & 0x80)))
		return -1;
	*opcode = op;
	*fin = !!(buf[0] & 0x80);
	*len = l;
	return (int)need;
}
