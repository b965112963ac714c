/* The receive SDP of plain RTP forwarding (base/sdp.c): what a Janus
 * rtp_forward, FFmpeg and mediasoup receiver SDP says, and clear errors for
 * what it must not say. No message quotes a key. */
#include <string.h>

#include "base/sdp.h"
#include "tests/unit/check.h"

/* 30 bytes (AES_CM_128 key and salt), base64 */
#define KEY30 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNk"
/* 28 bytes (AEAD_AES_128_GCM) */
#define KEY28 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYg=="

static const char *janus_fwd = "v=0\r\n"
                               "o=- 0 0 IN IP4 127.0.0.1\r\n"
                               "s=alice\r\n"
                               "c=IN IP4 127.0.0.1\r\n"
                               "t=0 0\r\n"
                               "m=audio 5002 RTP/AVP 111\r\n"
                               "a=rtpmap:111 opus/48000/2\r\n"
                               "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
                               "a=mid:0\r\n"
                               "m=video 5004 RTP/SAVP 96 97\r\n"
                               "c=IN IP4 0.0.0.0\r\n"
                               "a=rtpmap:96 VP8/90000\r\n"
                               "a=rtpmap:97 rtx/90000\r\n"
                               "a=rtcp:5010\r\n"
                               "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^31\r\n"
                               "a=content:slides\r\n"
                               "a=mid:1\r\n";

static void test_good(void)
{
	egw_sdp_t s;
	char err[256] = "";
	CHECK(egw_sdp_parse(janus_fwd, &s, err, sizeof(err)) == EGW_OK);
	CHECK_STR(err, "");
	CHECK_STR(s.name, "alice");
	CHECK(s.n_streams == 2);
	CHECK(s.streams[0].media == EGW_MEDIA_AUDIO && s.streams[0].port == 5002 &&
	      s.streams[0].rtcp_port == 5003 && s.streams[0].suite == EGW_SRTP_NONE);
	CHECK_STR(s.streams[0].address, "127.0.0.1");
	CHECK_STR(s.streams[0].mid, "0");
	CHECK_STR(s.streams[0].formats[0].codec, "opus");
	CHECK(s.streams[0].formats[0].pt == 111 && s.streams[0].formats[0].clock_rate == 48000 &&
	      s.streams[0].formats[0].channels == 2);
	CHECK_STR(s.streams[0].formats[0].fmtp, "minptime=10;useinbandfec=1");
	CHECK(s.streams[1].media == EGW_MEDIA_VIDEO && s.streams[1].port == 5004 &&
	      s.streams[1].rtcp_port == 5010 && s.streams[1].screen);
	CHECK_STR(s.streams[1].address, "0.0.0.0");
	CHECK_STR(s.streams[1].formats[0].codec, "vp8");
	CHECK_STR(s.streams[1].formats[0].encoding, "VP8");
	CHECK(s.streams[1].n_formats == 2);
	CHECK(s.streams[1].suite == EGW_SRTP_AES_CM_128_HMAC_SHA1_80 && s.streams[1].key_len == 30);
	CHECK(!memcmp(s.streams[1].key, "0123456789abcdef0123456789abcd", 30));
	egw_sdp_wipe(&s);
	CHECK(s.streams[1].key_len == 0 && s.streams[1].key[0] == 0);
}

/* FFmpeg's style (LF only, static payload type, a=label) and GCM. */
static void test_other_senders(void)
{
	egw_sdp_t s;
	char err[256] = "";
	const char *ff = "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nc=IN IP6 ::1\nt=0 0\n"
	                 "m=audio 6000 RTP/AVP 0\na=label:mic\n"
	                 "m=video 0 RTP/AVP 96\na=rtpmap:96 H264/90000\n" /* port 0: unused */
	                 "m=video 6002 RTP/SAVPF 102\na=rtpmap:102 H264/90000\n"
	                 "a=crypto:2 AEAD_AES_128_GCM inline:" KEY28 "\na=label:cam\na=mid:v\n";
	CHECK(egw_sdp_parse(ff, &s, err, sizeof(err)) == EGW_OK);
	CHECK_STR(err, "");
	CHECK_STR(s.name, "No Name");
	CHECK(s.n_streams == 2);
	CHECK_STR(s.streams[0].mid, "mic");
	CHECK_STR(s.streams[0].formats[0].codec, "pcmu");
	CHECK(s.streams[0].formats[0].clock_rate == 8000);
	CHECK_STR(s.streams[0].address, "::1");
	CHECK_STR(s.streams[1].mid, "v"); /* a=mid wins over a=label */
	CHECK(s.streams[1].suite == EGW_SRTP_AEAD_AES_128_GCM && s.streams[1].key_len == 28);
	CHECK(egw_srtp_key_len(EGW_SRTP_AEAD_AES_256_GCM) == 32 &&
	      egw_srtp_salt_len(EGW_SRTP_AEAD_AES_256_GCM) == 12);
}

static void bad(const char *sdp, const char *want)
{
	egw_sdp_t s;
	char err[256] = "";
	egw_err_t e = egw_sdp_parse(sdp, &s, err, sizeof(err));
	CHECK(e == EGW_ERR_INVALID_REQUEST);
	if (!strstr(err, want))
		fprintf(stderr, "  error \"%s\" lacks \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
	CHECK(!strstr(err, KEY30) && !strstr(err, "MDEy")); /* never the key */
	CHECK(s.streams[0].key_len == 0);
}

#define HEAD "v=0\r\ns=bob\r\nc=IN IP4 127.0.0.1\r\n"

static void test_bad(void)
{
	bad("", "empty");
	bad("hello", "line 1: an SDP starts with \"v=0\"");
	bad("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\n", "no s= line");
	bad(HEAD, "no m= line");
	bad("v=0\r\ns=bob\r\nm=audio 5000 RTP/AVP 0\r\n", "line 3: m=audio: no c= line");
	bad(HEAD "m=audio 5000 RTP/AVP 111\r\n",
	    "line 4: m=audio: payload type 111 has no a=rtpmap");
	bad(HEAD "m=video 5000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",
	    "payload type 111 is opus, not an video codec");
	bad(HEAD "m=audio 99999 RTP/AVP 0\r\n", "port must be a number from 1 to 65535");
	bad(HEAD "m=audio 5000/2 RTP/AVP 0\r\n", "one port per stream");
	bad(HEAD "m=application 5000 UDP/DTLS/SCTP webrtc-datachannel\r\n", "only audio and video");
	bad(HEAD "m=audio 5000 UDP/TLS/RTP/SAVPF 0\r\n", "the profile must be");
	bad(HEAD "m=audio 5000 RTP/SAVP 0\r\n", "needs an a=crypto line");
	bad(HEAD "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 inline:" KEY30 "\r\n",
	    "the suite must be one of");
	bad(HEAD "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AEAD_AES_256_GCM inline:" KEY30 "\r\n",
	    "key must be 44 bytes of key and salt in base64 (it is 30)");
	bad(HEAD "m=audio 5000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30
	         "|2^20|1:4\r\n",
	    "MKI is not supported");
	bad(HEAD "m=audio 5000 RTP/AVP 0\r\nm=video 5001 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n",
	    "share a port");
	bad(HEAD "m=audio 5000 RTP/AVP 0\r\na=mid:a\r\nm=video 5002 RTP/AVP 96\r\n"
	         "a=rtpmap:96 VP8/90000\r\na=mid:a\r\n",
	    "two m= lines are named a");
	bad(HEAD "a=rtcp-mux\r\nm=audio 5000 RTP/AVP 0\r\n", "rtcp-mux is not supported");
	bad(HEAD "m=audio 5000 RTP/AVP 0\r\na=rtcp:5000\r\n", "rtcp-mux) is not supported");
	bad("v=0\r\ns=bob\r\nc=IN IP4 example.com\r\nm=audio 5000 RTP/AVP 0\r\n", "no host names");
	bad("v=0\r\ns=bob\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 5000 RTP/AVP 0\r\n", "multicast");
	bad("v=0\r\ns=a/b\r\n", "must not contain '/'");
	bad("v=0\r\ns=x\r", "no m= line"); /* a last line without its \n (found by fuzz_sdp) */
	bad(HEAD "m=audio 5000 RTP/AVP 0\r\n\r\nm=video 5002 RTP/AVP 0\r\n", "line 5: empty line");
}

int main(void)
{
	test_good();
	test_other_senders();
	test_bad();
	return CHECK_DONE();
}
