/* libFuzzer target: the SDP of an rtp room (room.sdp, outside input).
 * Invariants of base/sdp.h when it parses: 1 to EGW_SDP_STREAMS_MAX
 * streams, each with ports in range, RTCP on a port of its own, a first
 * format with a codec, a key exactly as long as its suite wants; on
 * failure a message and no key left behind. Traps otherwise. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[256] = "";
	egw_sdp_t sdp;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (egw_sdp_parse(text, &sdp, err, sizeof(err)) == EGW_OK) {
		if (!sdp.n_streams || sdp.n_streams > EGW_SDP_STREAMS_MAX || !sdp.name[0])
			__builtin_trap();
		for (size_t i = 0; i < sdp.n_streams; i++) {
			const egw_sdp_stream_t *s = &sdp.streams[i];
			if (s->port < 1 || s->port > 65535 || s->rtcp_port < 1 ||
			    s->rtcp_port > 65535 || s->rtcp_port == s->port || !s->n_formats ||
			    !s->formats[0].codec[0] || !s->address[0] || !s->mid[0] ||
			    s->key_len != (s->suite ? egw_srtp_key_len(s->suite) +
			                                      egw_srtp_salt_len(s->suite)
			                            : 0))
				__builtin_trap();
		}
	} else {
		if (!err[0])
			__builtin_trap();
		for (size_t i = 0; i < EGW_SDP_STREAMS_MAX; i++)
			if (sdp.streams[i].key_len)
				__builtin_trap();
	}
	egw_sdp_wipe(&sdp);
	free(text);
	return 0;
}
