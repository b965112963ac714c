/* The receive side of plain RTP forwarding, from its SDP. Pure. */
#include "base/sdp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 2048

static const struct {
	const char *name;
	egw_srtp_suite_t suite;
	size_t key, salt;
} suites[] = {
        {"AES_CM_128_HMAC_SHA1_80", EGW_SRTP_AES_CM_128_HMAC_SHA1_80, 16, 14},
        {"AES_CM_128_HMAC_SHA1_32", EGW_SRTP_AES_CM_128_HMAC_SHA1_32, 16, 14},
        {"AEAD_AES_128_GCM", EGW_SRTP_AEAD_AES_128_GCM, 16, 12},
        {"AEAD_AES_256_GCM", EGW_SRTP_AEAD_AES_256_GCM, 32, 12},
};

#define N_SUITES (sizeof(suites) / sizeof(suites[0]))

/* Codecs a track may carry, by their a=rtpmap encoding name. */
static const struct {
	const char *encoding;
	egw_media_t media;
} codecs[] = {
        {"opus", EGW_MEDIA_AUDIO}, {"pcmu", EGW_MEDIA_AUDIO}, {"pcma", EGW_MEDIA_AUDIO},
        {"g722", EGW_MEDIA_AUDIO}, {"vp8", EGW_MEDIA_VIDEO},  {"vp9", EGW_MEDIA_VIDEO},
        {"h264", EGW_MEDIA_VIDEO}, {"av1", EGW_MEDIA_VIDEO},
};

const char *egw_srtp_suite2str(egw_srtp_suite_t suite)
{
	for (size_t i = 0; i < N_SUITES; i++)
		if (suites[i].suite == suite)
			return suites[i].name;
	return "none";
}

size_t egw_srtp_key_len(egw_srtp_suite_t suite)
{
	for (size_t i = 0; i < N_SUITES; i++)
		if (suites[i].suite == suite)
			return suites[i].key;
	return 0;
}

size_t egw_srtp_salt_len(egw_srtp_suite_t suite)
{
	for (size_t i = 0; i < N_SUITES; i++)
		if (suites[i].suite == suite)
			return suites[i].salt;
	return 0;
}

void egw_sdp_wipe(egw_sdp_t *sdp)
{
	for (size_t i = 0; sdp && i < EGW_SDP_STREAMS_MAX; i++) {
		volatile unsigned char *k = sdp->streams[i].key;
		for (size_t j = 0; j < sizeof(sdp->streams[i].key); j++)
			k[j] = 0;
		sdp->streams[i].key_len = 0;
	}
}

struct parser {
	egw_sdp_t *out;
	egw_sdp_stream_t *cur; /* NULL at session level; a skipped stream: &skipped */
	egw_sdp_stream_t skipped;
	char session_address[64];
	int rtcp_mux;
	int line;
	int savp;    /* the current m= line's profile is a secure one */
	int has_mid; /* the current m= line has an a=mid (a=label yields) */
	char *errstr;
	size_t errstr_size;
};

static egw_err_t fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static egw_err_t fail(struct parser *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line > 0)
		snprintf(p->errstr, p->errstr_size, "line %d: %s", p->line, msg);
	else
		snprintf(p->errstr, p->errstr_size, "%s", msg);
	return EGW_ERR_INVALID_REQUEST;
}

/* A decimal in [lo, hi] spanning the whole of s up to end (or NUL). */
static int parse_int(const char *s, const char *end, long lo, long hi, long *out)
{
	char buf[16];
	size_t n = end ? (size_t)(end - s) : strlen(s);
	char *e;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)buf[i]))
			return -1;
	*out = strtol(buf, &e, 10);
	return *out >= lo && *out <= hi ? 0 : -1;
}

/* "IN IP4 <address>" (no multicast TTL, no names): copies the address. */
static egw_err_t parse_connection(struct parser *p, const char *v, char *addr, size_t addr_size)
{
	char nettype[8], addrtype[8], a[64];
	unsigned char bin[16];
	if (sscanf(v, "%7s %7s %63s", nettype, addrtype, a) != 3 || strcmp(nettype, "IN"))
		return fail(p, "c= must be \"IN IP4 <address>\" or \"IN IP6 <address>\"");
	if (strchr(a, '/'))
		return fail(p, "c=: multicast addresses are not supported");
	if (!((!strcmp(addrtype, "IP4") && inet_pton(AF_INET, a, bin) == 1) ||
	      (!strcmp(addrtype, "IP6") && inet_pton(AF_INET6, a, bin) == 1)))
		return fail(p, "c=: the address must be a literal %s address (no host names)",
		            !strcmp(addrtype, "IP6") ? "IPv6" : "IPv4");
	snprintf(addr, addr_size, "%s", a);
	return EGW_OK;
}

static egw_sdp_format_t *find_format(egw_sdp_stream_t *s, long pt)
{
	for (size_t i = 0; i < s->n_formats; i++)
		if (s->formats[i].pt == pt)
			return &s->formats[i];
	return NULL;
}

/* "m=<media> <port> <proto> <fmt> ..." */
static egw_err_t parse_media(struct parser *p, char *v)
{
	egw_sdp_t *o = p->out;
	char *save = NULL, *media = strtok_r(v, " ", &save), *port = strtok_r(NULL, " ", &save);
	char *proto = strtok_r(NULL, " ", &save), *fmt;
	egw_sdp_stream_t *s;
	long n;

	if (!media || !port || !proto)
		return fail(p, "m= must be \"<media> <port> <proto> <payload types>\"");
	if (strchr(port, '/'))
		return fail(p, "m=%s: one port per stream (no port counts)", media);
	if (parse_int(port, NULL, 0, 65535, &n))
		return fail(p, "m=%s: the port must be a number from 1 to 65535", media);
	if (strcmp(media, "audio") && strcmp(media, "video"))
		return fail(p, "m=%s: only audio and video streams can be recorded", media);
	if (strcmp(proto, "RTP/AVP") && strcmp(proto, "RTP/AVPF") && strcmp(proto, "RTP/SAVP") &&
	    strcmp(proto, "RTP/SAVPF"))
		return fail(p, "m=%s: the profile must be RTP/AVP, RTP/AVPF, RTP/SAVP or RTP/SAVPF",
		            media);
	if (n == 0) { /* not used (RFC 8866 5.14) */
		memset(&p->skipped, 0, sizeof(p->skipped));
		p->cur = &p->skipped;
		return EGW_OK;
	}
	if (o->n_streams == EGW_SDP_STREAMS_MAX)
		return fail(p, "at most %d m= lines", EGW_SDP_STREAMS_MAX);
	s = p->cur = &o->streams[o->n_streams++];
	memset(s, 0, sizeof(*s));
	s->media = !strcmp(media, "audio") ? EGW_MEDIA_AUDIO : EGW_MEDIA_VIDEO;
	s->port = (int)n;
	s->line = p->line;
	p->savp = !strncmp(proto, "RTP/SAVP", 8);
	p->has_mid = 0;
	snprintf(s->mid, sizeof(s->mid), "%zu", o->n_streams - 1);
	while ((fmt = strtok_r(NULL, " ", &save))) {
		if (parse_int(fmt, NULL, 0, 127, &n))
			return fail(p, "m=%s: payload types are numbers from 0 to 127", media);
		if (find_format(s, n))
			continue;
		if (s->n_formats == EGW_SDP_FORMATS_MAX)
			return fail(p, "m=%s: at most %d payload types", media,
			            EGW_SDP_FORMATS_MAX);
		s->formats[s->n_formats++].pt = (int)n;
	}
	if (!s->n_formats)
		return fail(p, "m=%s: no payload type", media);
	return EGW_OK;
}

/* "a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]" */
static egw_err_t parse_rtpmap(struct parser *p, const char *v)
{
	const char *sp = strchr(v, ' '), *slash, *slash2;
	egw_sdp_format_t *f;
	long pt, rate, ch = 0;

	if (!sp || parse_int(v, sp, 0, 127, &pt) || !(slash = strchr(sp + 1, '/')))
		return fail(p, "a=rtpmap must be \"<payload type> <encoding>/<clock rate>\"");
	if (!(f = find_format(p->cur, pt)))
		return EGW_OK; /* a format the m= line does not list: unused */
	if ((size_t)(slash - sp - 1) >= sizeof(f->encoding) || slash == sp + 1)
		return fail(p, "a=rtpmap:%ld: the encoding name is empty or too long", pt);
	slash2 = strchr(slash + 1, '/');
	if (parse_int(slash + 1, slash2, 1, 1000000, &rate) ||
	    (slash2 && parse_int(slash2 + 1, NULL, 1, 8, &ch)))
		return fail(p, "a=rtpmap:%ld: the clock rate (and channels) must be numbers", pt);
	memcpy(f->encoding, sp + 1, (size_t)(slash - sp - 1));
	f->encoding[slash - sp - 1] = '\0';
	f->clock_rate = (int)rate;
	f->channels = (int)ch;
	return EGW_OK;
}

static egw_err_t parse_fmtp(struct parser *p, const char *v)
{
	const char *sp = strchr(v, ' ');
	egw_sdp_format_t *f;
	long pt;
	if (!sp || parse_int(v, sp, 0, 127, &pt))
		return fail(p, "a=fmtp must be \"<payload type> <parameters>\"");
	if (!(f = find_format(p->cur, pt)))
		return EGW_OK;
	if (strlen(sp + 1) >= sizeof(f->fmtp))
		return fail(p, "a=fmtp:%ld: the parameters are longer than %zu bytes", pt,
		            sizeof(f->fmtp) - 1);
	snprintf(f->fmtp, sizeof(f->fmtp), "%s", sp + 1);
	return EGW_OK;
}

/* "a=crypto:<tag> <suite> inline:<key||salt base64>[|lifetime] [params]"
 * (RFC 4568). The first line with a suite this build has wins. */
static egw_err_t parse_crypto(struct parser *p, const char *v)
{
	egw_sdp_stream_t *s = p->cur;
	char suite[32], keyparams[256];
	const egw_srtp_suite_t *found = NULL;
	size_t i, klen = 0;
	guchar *key;
	char *bar;

	if (s->suite != EGW_SRTP_NONE)
		return EGW_OK;
	if (sscanf(v, "%*d %31s %255s", suite, keyparams) != 2 || strncmp(keyparams, "inline:", 7))
		return fail(p, "a=crypto must be \"<tag> <suite> inline:<key>\"");
	for (i = 0; i < N_SUITES && !found; i++)
		if (!strcmp(suite, suites[i].name))
			found = &suites[i].suite;
	if (!found)
		return fail(p, "a=crypto: the suite must be one of AES_CM_128_HMAC_SHA1_80, "
		               "AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM");
	i--;
	if ((bar = strchr(keyparams, '|'))) {
		if (strchr(bar + 1, ':'))
			return fail(p, "a=crypto: MKI is not supported");
		*bar = '\0';
	}
	key = g_base64_decode(keyparams + 7, &klen);
	if (klen != suites[i].key + suites[i].salt) {
		if (key)
			memset(key, 0, klen);
		g_free(key);
		explicit_bzero(keyparams, sizeof(keyparams));
		return fail(p,
		            "a=crypto: the %s key must be %zu bytes of key and salt in base64 "
		            "(it is %zu)",
		            suites[i].name, suites[i].key + suites[i].salt, klen);
	}
	memcpy(s->key, key, klen);
	s->key_len = klen;
	s->suite = *found;
	memset(key, 0, klen);
	g_free(key);
	explicit_bzero(keyparams, sizeof(keyparams));
	return EGW_OK;
}

static egw_err_t set_name(struct parser *p, char *dst, size_t dst_size, const char *v,
                          const char *what)
{
	size_t n = strlen(v);
	if (!n || n >= dst_size)
		return fail(p, "%s must be 1 to %zu bytes", what, dst_size - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == '/')
			return fail(p, "%s must not contain '/' or control characters", what);
	memcpy(dst, v, n + 1);
	return EGW_OK;
}

static egw_err_t parse_attribute(struct parser *p, char *v)
{
	char *colon = strchr(v, ':');
	const char *name = v, *value = colon ? colon + 1 : "";
	egw_sdp_stream_t *s = p->cur;
	long n;

	if (colon)
		*colon = '\0';
	if (!s) { /* session level */
		if (!strcmp(name, "rtcp-mux"))
			p->rtcp_mux = 1;
		return EGW_OK;
	}
	if (s == &p->skipped)
		return EGW_OK;
	if (!strcmp(name, "rtpmap"))
		return parse_rtpmap(p, value);
	if (!strcmp(name, "fmtp"))
		return parse_fmtp(p, value);
	if (!strcmp(name, "crypto"))
		return parse_crypto(p, value);
	if (!strcmp(name, "mid")) {
		p->has_mid = 1;
		return set_name(p, s->mid, sizeof(s->mid), value, "a=mid");
	}
	if (!strcmp(name, "label") && !p->has_mid)
		return set_name(p, s->mid, sizeof(s->mid), value, "a=label");
	if (!strcmp(name, "rtcp")) {
		const char *sp = strchr(value, ' ');
		if (parse_int(value, sp, 1, 65535, &n))
			return fail(p, "a=rtcp: the port must be a number from 1 to 65535");
		s->rtcp_port = (int)n;
	} else if (!strcmp(name, "rtcp-mux"))
		p->rtcp_mux = 1;
	else if (!strcmp(name, "content") && strstr(value, "slides"))
		s->screen = 1;
	return EGW_OK;
}

static const char *static_codec(int pt, int *rate)
{
	*rate = 8000;
	return pt == 0 ? "PCMU" : pt == 8 ? "PCMA" : pt == 9 ? "G722" : NULL;
}

/* The m= line ended: complete and check what it said. */
static egw_err_t end_stream(struct parser *p)
{
	egw_sdp_stream_t *s = p->cur;
	const char *media;
	if (!s || s == &p->skipped)
		return EGW_OK;
	media = egw_media2str(s->media);
	p->line = s->line;
	if (!s->address[0] && !p->session_address[0])
		return fail(p, "m=%s: no c= line gives the address to listen on", media);
	if (!s->address[0])
		snprintf(s->address, sizeof(s->address), "%s", p->session_address);
	if (p->savp && s->suite == EGW_SRTP_NONE)
		return fail(p, "m=%s: an RTP/SAVP stream needs an a=crypto line", media);
	if (!s->rtcp_port) {
		if (s->port == 65535)
			return fail(p, "m=%s: port 65535 leaves no port for RTCP (give a=rtcp)",
			            media);
		s->rtcp_port = s->port + 1;
	}
	if (s->rtcp_port == s->port)
		return fail(p,
		            "m=%s: RTCP on the RTP port (rtcp-mux) is not supported: give "
		            "RTCP a port of its own",
		            media);
	for (size_t i = 0; i < s->n_formats; i++) {
		egw_sdp_format_t *f = &s->formats[i];
		const char *name = f->encoding;
		size_t c, j;
		if (!name[0] && !(name = static_codec(f->pt, &f->clock_rate)))
			return fail(p, "m=%s: payload type %d has no a=rtpmap", media, f->pt);
		if (name != f->encoding)
			snprintf(f->encoding, sizeof(f->encoding), "%s", name);
		for (j = 0; f->encoding[j] && j < sizeof(f->codec) - 1; j++)
			f->codec[j] = (char)tolower((unsigned char)f->encoding[j]);
		f->codec[j] = '\0';
		if (i > 0)
			continue; /* only the first format is the track's */
		for (c = 0; c < sizeof(codecs) / sizeof(codecs[0]); c++)
			if (!strcmp(codecs[c].encoding, f->codec))
				break;
		if (c == sizeof(codecs) / sizeof(codecs[0]) || codecs[c].media != s->media)
			return fail(p,
			            "m=%s: payload type %d is %s, not an %s codec this worker "
			            "records (%s)",
			            media, f->pt, f->encoding, media,
			            s->media == EGW_MEDIA_AUDIO ? "opus, PCMU, PCMA, G722"
			                                        : "VP8, VP9, H264, AV1");
	}
	return EGW_OK;
}

static egw_err_t parse_line(struct parser *p, char *line)
{
	char type = line[0];
	char *v = line + 2;
	egw_err_t err;

	if (p->line == 1 && strcmp(line, "v=0"))
		return fail(p, "an SDP starts with \"v=0\"");
	if (!isalpha((unsigned char)type) || line[1] != '=')
		return fail(p, "not an SDP line (\"<letter>=<value>\")");
	switch (type) {
	case 's':
		if (p->cur)
			return fail(p, "s= belongs before the first m= line");
		return set_name(p, p->out->name, sizeof(p->out->name), v,
		                "s= (the participant's name)");
	case 'c':
		if (p->cur == &p->skipped)
			return EGW_OK;
		return p->cur ? parse_connection(p, v, p->cur->address, sizeof(p->cur->address))
		              : parse_connection(p, v, p->session_address,
		                                 sizeof(p->session_address));
	case 'm':
		if ((err = end_stream(p)))
			return err;
		return parse_media(p, v);
	case 'a':
		return parse_attribute(p, v);
	default:
		return EGW_OK;
	}
}

egw_err_t egw_sdp_parse(const char *text, egw_sdp_t *out, char *errstr, size_t errstr_size)
{
	struct parser p = {.out = out, .errstr = errstr, .errstr_size = errstr_size};
	char line[LINE_MAX_BYTES];
	const char *at = text;
	egw_err_t err = EGW_OK;
	size_t len = strnlen(text, EGW_SDP_MAX_BYTES + 1);

	memset(out, 0, sizeof(*out));
	if (len > EGW_SDP_MAX_BYTES)
		return fail(&p, "longer than %d bytes", EGW_SDP_MAX_BYTES);
	while (*at && !err) {
		const char *nl = strchr(at, '\n');
		size_t n = nl ? (size_t)(nl - at) : strlen(at);
		const char *next = nl ? nl + 1 : at + n;
		p.line++;
		if (n && at[n - 1] == '\r')
			n--;
		if (n >= sizeof(line))
			err = fail(&p, "longer than %d bytes", LINE_MAX_BYTES - 1);
		else if (n > 0) {
			memcpy(line, at, n);
			line[n] = '\0';
			err = parse_line(&p, line);
			explicit_bzero(line, sizeof(line)); /* a=crypto holds a key */
		} else if (nl && nl[1])
			err = fail(&p, "empty line");
		at = next;
	}
	if (!err && p.line == 0)
		err = fail(&p, "empty");
	if (!err)
		err = end_stream(&p);
	p.line = 0;
	if (!err && !out->name[0])
		err = fail(&p, "no s= line names the participant");
	if (!err && !out->n_streams)
		err = fail(&p, "no m= line with a port");
	if (!err && p.rtcp_mux)
		err = fail(&p, "a=rtcp-mux is not supported: give RTCP a port of its own");
	for (size_t i = 0; !err && i < out->n_streams; i++)
		for (size_t j = 0; !err && j < i; j++) {
			const egw_sdp_stream_t *a = &out->streams[j], *b = &out->streams[i];
			if (!strcmp(a->mid, b->mid))
				err = fail(&p, "two m= lines are named %s (a=mid)", a->mid);
			else if (a->port == b->port || a->port == b->rtcp_port ||
			         a->rtcp_port == b->port || a->rtcp_port == b->rtcp_port)
				err = fail(&p, "the m= lines of lines %d and %d share a port",
				           a->line, b->line);
		}
	if (err)
		egw_sdp_wipe(out);
	return err;
}
