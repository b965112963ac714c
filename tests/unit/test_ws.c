/* pipelines/ws_proto: the WebSocket handshake and framing against RFC
 * 6455's own examples (sections 1.3 and 5.7), and the answers a client
 * must refuse. */
#include <glib.h>
#include <stdint.h>

#include "pipelines/ws_proto.h"
#include "tests/unit/check.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static void test_handshake(void)
{
	char accept[32], why[256], *req;
	int status;

	egw_ws_accept_for(KEY, accept);
	CHECK_STR(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

	{
		char *const extra[] = {"Authorization: Bearer abc", "X-Model: general"};
		req = egw_ws_request("asr.example.test:8443", "/v1/listen?lang=en", KEY, extra, 2);
	}
	CHECK(g_str_has_prefix(
	        req, "GET /v1/listen?lang=en HTTP/1.1\r\nHost: asr.example.test:8443\r\n"));
	CHECK(strstr(req, "\r\nUpgrade: websocket\r\n") &&
	      strstr(req, "\r\nConnection: Upgrade\r\n"));
	CHECK(strstr(req, "\r\nSec-WebSocket-Key: " KEY "\r\n"));
	CHECK(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n") &&
	      g_str_has_suffix(req, "\r\n\r\n"));
	CHECK(strstr(req, "\r\nAuthorization: Bearer abc\r\nX-Model: general\r\n\r\n"));
	g_free(req);

	CHECK(egw_ws_check_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                            "Connection: keep-alive, Upgrade\r\n"
	                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
	                            KEY, &status, why, sizeof(why)) == 0);
	CHECK(status == 101);
	CHECK(egw_ws_check_response("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", KEY,
	                            &status, why, sizeof(why)) == -1);
	CHECK(status == 403);
	CHECK_STR(why, "the server answered HTTP 403 Forbidden");
	CHECK(egw_ws_check_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                            "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n",
	                            KEY, &status, why, sizeof(why)) == -1);
	CHECK_STR(why, "the server's Sec-WebSocket-Accept is wrong");
	CHECK(egw_ws_check_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
	                            "Connection: Upgrade\r\n\r\n",
	                            KEY, &status, why, sizeof(why)) == -1);
	CHECK_STR(why, "the server switched to another protocol than WebSocket");
	CHECK(egw_ws_check_response("SSH-2.0-OpenSSH\r\n\r\n", KEY, &status, why, sizeof(why)) ==
	      -1);
	CHECK(status == 0);
}

static void test_frames(void)
{
	/* 5.7: a single-frame masked text message "Hello" */
	static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
	                                       0x7f, 0x9f, 0x4d, 0x51, 0x58};
	static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t hdr[EGW_WS_HEADER_MAX], payload[5];
	uint8_t unmasked_hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
	uint8_t big[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
	uint8_t medium[] = {0x82, 0x7e, 0x01, 0x00};
	int opcode, fin;
	uint64_t len;
	size_t n;

	n = egw_ws_frame_header(hdr, EGW_WS_TEXT, 5, mask);
	CHECK(n == 6 && !memcmp(hdr, masked_hello, 6));
	memcpy(payload, "Hello", 5);
	egw_ws_mask(payload, 5, mask, 0);
	CHECK(!memcmp(payload, masked_hello + 6, 5));
	/* masking in two pieces equals masking at once */
	memcpy(payload, "Hello", 5);
	egw_ws_mask(payload, 2, mask, 0);
	egw_ws_mask(payload + 2, 3, mask, 2);
	CHECK(!memcmp(payload, masked_hello + 6, 5));

	CHECK(egw_ws_frame_header(hdr, EGW_WS_BINARY, 256, mask) == 8);
	CHECK(hdr[0] == 0x82 && hdr[1] == (0x80 | 126) && hdr[2] == 1 && hdr[3] == 0);
	CHECK(egw_ws_frame_header(hdr, EGW_WS_BINARY, 65536, mask) == 14);
	CHECK(hdr[1] == (0x80 | 127) && hdr[7] == 1 && hdr[8] == 0 && hdr[9] == 0);

	CHECK(egw_ws_parse_header(unmasked_hello, 1, &opcode, &fin, &len) == 0);
	CHECK(egw_ws_parse_header(unmasked_hello, sizeof(unmasked_hello), &opcode, &fin, &len) ==
	      2);
	CHECK(opcode == EGW_WS_TEXT && fin == 1 && len == 5);
	CHECK(egw_ws_parse_header(medium, 3, &opcode, &fin, &len) == 0);
	CHECK(egw_ws_parse_header(medium, 4, &opcode, &fin, &len) == 4 && len == 256);
	CHECK(egw_ws_parse_header(big, sizeof(big), &opcode, &fin, &len) == 10 && len == 65536);
	/* what a client must refuse from a server */
	CHECK(egw_ws_parse_header(masked_hello, sizeof(masked_hello), &opcode, &fin, &len) == -1);
	unmasked_hello[0] = 0xC1; /* RSV1 without an extension */
	CHECK(egw_ws_parse_header(unmasked_hello, sizeof(unmasked_hello), &opcode, &fin, &len) ==
	      -1);
	unmasked_hello[0] = 0x83; /* reserved opcode */
	CHECK(egw_ws_parse_header(unmasked_hello, sizeof(unmasked_hello), &opcode, &fin, &len) ==
	      -1);
	unmasked_hello[0] = 0x09; /* a fragmented ping */
	CHECK(egw_ws_parse_header(unmasked_hello, sizeof(unmasked_hello), &opcode, &fin, &len) ==
	      -1);
	medium[0] = 0x89; /* a ping longer than 125 bytes */
	CHECK(egw_ws_parse_header(medium, sizeof(medium), &opcode, &fin, &len) == -1);
}

int main(void)
{
	test_handshake();
	test_frames();
	return CHECK_DONE();
}
