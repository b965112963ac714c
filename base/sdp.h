/* SDP (RFC 8866) describing plain RTP forwarding as its receiver sees it:
 * the address and ports to listen on, what each stream carries, and SDES
 * keys for SRTP (RFC 4568). One SDP is one participant, named by its
 * session name (s=); each m= line is one of its tracks. Pure: shared by the
 * contract (validation) and the rtp source (sfu/rtp.c).
 * Messages never quote an a=crypto line: it holds the key. */
#ifndef EGW_SDP_H
#define EGW_SDP_H

#include <stddef.h>

#include "base/err.h"
#include "base/media.h"

#define EGW_SDP_MAX_BYTES 16384
#define EGW_SDP_STREAMS_MAX 8
#define EGW_SDP_FORMATS_MAX 8
#define EGW_SRTP_KEY_MAX 46 /* master key and salt of the longest suite */

typedef enum egw_srtp_suite {
	EGW_SRTP_NONE = 0,
	EGW_SRTP_AES_CM_128_HMAC_SHA1_80,
	EGW_SRTP_AES_CM_128_HMAC_SHA1_32,
	EGW_SRTP_AEAD_AES_128_GCM,
	EGW_SRTP_AEAD_AES_256_GCM,
} egw_srtp_suite_t;

typedef struct egw_sdp_format {
	int pt;
	char codec[16];    /* lower case: "opus", "vp8", "vp9", "h264", "av1", "pcmu", ... */
	char encoding[32]; /* as a=rtpmap spells it, e.g. "VP8" */
	int clock_rate;
	int channels;   /* 0: not given */
	char fmtp[512]; /* a=fmtp parameters; "" when none */
} egw_sdp_format_t;

typedef struct egw_sdp_stream {
	egw_media_t media;
	char mid[64];     /* a=mid, else a=label, else its index among the m= lines */
	char address[64]; /* where to listen: the c= address (IPv4 or IPv6 literal) */
	int port;         /* RTP */
	int rtcp_port;    /* a=rtcp, else port + 1 */
	int screen;       /* a=content:slides (RFC 4796) */
	egw_sdp_format_t formats[EGW_SDP_FORMATS_MAX]; /* the track is formats[0] */
	size_t n_formats;
	egw_srtp_suite_t suite;
	unsigned char key[EGW_SRTP_KEY_MAX]; /* master key then salt: a secret */
	size_t key_len;
	int line; /* of its m= line, for messages */
} egw_sdp_stream_t;

typedef struct egw_sdp {
	char name[257]; /* s=: the participant */
	egw_sdp_stream_t streams[EGW_SDP_STREAMS_MAX];
	size_t n_streams;
} egw_sdp_t;

/* Parses text (NUL-terminated, at most EGW_SDP_MAX_BYTES) into *out.
 * Fails with EGW_ERR_INVALID_REQUEST and "line N: what is wrong" in errstr.
 * m= lines with port 0 are skipped (RFC 8866: not used); at least one
 * stream must remain. */
egw_err_t egw_sdp_parse(const char *text, egw_sdp_t *out, char *errstr, size_t errstr_size);

/* The suite's name in a=crypto ("AES_CM_128_HMAC_SHA1_80"...), "none". */
const char *egw_srtp_suite2str(egw_srtp_suite_t suite);
/* Master key and salt lengths of a suite, in bytes. */
size_t egw_srtp_key_len(egw_srtp_suite_t suite);
size_t egw_srtp_salt_len(egw_srtp_suite_t suite);

/* Wipes the keys of sdp (before it is freed or reused). */
void egw_sdp_wipe(egw_sdp_t *sdp);

#endif
