/* The elements of an rtp source (sfu/rtp.c): per participant an rtpbin,
 * per m= line its sockets (bound here: a port in use is an error at the
 * start), srtpdec when keyed, and the probes that count packets. */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

#include "sfu/rtp_int.h"

#define LATENCY_MS 200
#define SOCKET_BUFFER (2 * 1024 * 1024)

/* ---- probes (streaming threads: atomics only) ---- */

/* Raw packets off the RTP socket: counted; payload types other than the
 * track's dropped here (rtpbin would only drop them later). */
static GstPadProbeReturn on_arrival(GstPad *pad, GstPadProbeInfo *info, gpointer user)
{
	struct rtp_stream *s = user;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	guint8 head[12];
	int pt;
	(void)pad;
	g_atomic_int_inc(&s->arrived);
	if (gst_buffer_extract(buf, 0, head, sizeof(head)) < sizeof(head) || (head[0] >> 6) != 2) {
		g_atomic_int_inc(&s->unlisted_pt); /* not RTP at all */
		return GST_PAD_PROBE_DROP;
	}
	pt = head[1] & 0x7f;
	g_atomic_int_set(&s->last_ssrc, (gint)GST_READ_UINT32_BE(head + 8));
	if (pt == s->sdp.formats[0].pt) {
		if (!s->srtp)
			g_atomic_int_inc(&s->passed);
		return GST_PAD_PROBE_OK;
	}
	g_atomic_int_set(&s->last_pt, pt);
	for (size_t i = 1; i < s->sdp.n_formats; i++)
		if (s->sdp.formats[i].pt == pt) {
			g_atomic_int_inc(&s->other_pt);
			return GST_PAD_PROBE_DROP;
		}
	g_atomic_int_inc(&s->unlisted_pt);
	return GST_PAD_PROBE_DROP;
}

/* ---- elements ---- */

static const char *srtp_cipher(egw_srtp_suite_t s)
{
	return s == EGW_SRTP_AEAD_AES_128_GCM   ? "aes-128-gcm"
	       : s == EGW_SRTP_AEAD_AES_256_GCM ? "aes-256-gcm"
	                                        : "aes-128-icm";
}

static const char *srtp_auth(egw_srtp_suite_t s)
{
	return s == EGW_SRTP_AES_CM_128_HMAC_SHA1_80   ? "hmac-sha1-80"
	       : s == EGW_SRTP_AES_CM_128_HMAC_SHA1_32 ? "hmac-sha1-32"
	                                               : "null";
}

/* srtpdec asks for the key of each new SSRC: the one of the SDP. */
static GstCaps *on_request_key(GstElement *srtpdec, guint ssrc, gpointer user)
{
	struct rtp_stream *s = user;
	(void)srtpdec;
	(void)ssrc;
	return gst_caps_ref(s->srtp_caps);
}

static GstCaps *on_request_pt_map(GstElement *rtpbin, guint session, guint pt, gpointer user)
{
	struct rtp_party *p = user;
	const egw_sdp_format_t *f;
	GstCaps *caps;
	char *encoding;
	(void)rtpbin;
	if (session >= p->n_streams || (int)pt != p->streams[session].sdp.formats[0].pt)
		return NULL;
	f = &p->streams[session].sdp.formats[0];
	/* depayloaders want the encoding name in capitals (RFC 4855) */
	encoding = g_ascii_strup(f->encoding, -1);
	caps = gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING,
	                           egw_media2str(p->streams[session].sdp.media), "clock-rate",
	                           G_TYPE_INT, f->clock_rate, "encoding-name", G_TYPE_STRING,
	                           encoding, "payload", G_TYPE_INT, (int)pt, NULL);
	g_free(encoding);
	if (f->channels) {
		char ch[8];
		snprintf(ch, sizeof(ch), "%d", f->channels);
		gst_caps_set_simple(caps, "encoding-params", G_TYPE_STRING, ch, NULL);
	}
	return caps;
}

/* A UDP socket bound to address:port, or NULL with why. */
static GSocket *bind_port(const char *address, int port, char *errstr, size_t errstr_size,
                          const char *what)
{
	GInetAddress *ia = g_inet_address_new_from_string(address);
	GSocketAddress *sa = NULL;
	GSocket *sock = NULL;
	GError *gerr = NULL;

	if (!ia) {
		snprintf(errstr, errstr_size, "%s: %s is not an address", what, address);
		return NULL;
	}
	sa = g_inet_socket_address_new(ia, (guint16)port);
	sock = g_socket_new(g_inet_address_get_family(ia), G_SOCKET_TYPE_DATAGRAM,
	                    G_SOCKET_PROTOCOL_UDP, &gerr);
	if (sock && !g_socket_bind(sock, sa, FALSE, &gerr))
		g_clear_object(&sock);
	if (!sock)
		snprintf(errstr, errstr_size, "%s: cannot listen on %s port %d: %s", what, address,
		         port, gerr ? gerr->message : "no socket");
	g_clear_error(&gerr);
	g_object_unref(sa);
	g_object_unref(ia);
	return sock;
}

static GstElement *make(struct egw_source *src, const char *factory, char *errstr,
                        size_t errstr_size)
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	if (!e)
		snprintf(errstr, errstr_size, "GStreamer element %s is missing", factory);
	else if (!gst_bin_add(src->bin, e)) {
		gst_object_unref(e);
		snprintf(errstr, errstr_size, "cannot add %s to the pipeline", factory);
		e = NULL;
	}
	return e;
}

static GstElement *udp_source(struct egw_source *src, GSocket *sock, const char *caps_text,
                              char *errstr, size_t errstr_size)
{
	GstElement *e = make(src, "udpsrc", errstr, errstr_size);
	GstCaps *caps = gst_caps_from_string(caps_text);
	if (e)
		g_object_set(e, "socket", sock, "close-socket", TRUE, "buffer-size", SOCKET_BUFFER,
		             "caps", caps, NULL);
	gst_caps_unref(caps);
	g_object_unref(sock);
	return e;
}

static int link_pads(GstElement *a, const char *a_pad, GstElement *b, const char *b_pad)
{
	return gst_element_link_pads(a, a_pad, b, b_pad) ? 0 : -1;
}

/* The elements of one m= line: sockets, SRTP, its rtpbin session. */
static int build_stream(struct rtp_stream *s, char *errstr, size_t errstr_size)
{
	struct egw_source *src = s->party->src;
	GstElement *rtpbin = s->party->rtpbin;
	char what[128], rtp_sink[32], rtcp_sink[32];
	GSocket *rtp = NULL, *rtcp = NULL;
	GstPad *pad;
	int secure = s->sdp.suite != EGW_SRTP_NONE;

	snprintf(what, sizeof(what), "%s of %s", egw_media2str(s->sdp.media), s->party->name);
	if (!(rtp = bind_port(s->sdp.address, s->sdp.port, errstr, errstr_size, what)) ||
	    !(rtcp = bind_port(s->sdp.address, s->sdp.rtcp_port, errstr, errstr_size, what))) {
		if (rtp)
			g_object_unref(rtp);
		return -1;
	}
	s->rtp_src = udp_source(src, rtp, secure ? "application/x-srtp" : "application/x-rtp",
	                        errstr, errstr_size);
	s->rtcp_src = udp_source(src, rtcp, secure ? "application/x-srtcp" : "application/x-rtcp",
	                         errstr, errstr_size);
	if (!s->rtp_src || !s->rtcp_src)
		return -1;
	pad = gst_element_get_static_pad(s->rtp_src, "src");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_arrival, s, NULL);
	gst_object_unref(pad);
	pad = gst_element_get_static_pad(s->rtcp_src, "src");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, egw_source_count_buffers, &s->rtcp, NULL);
	gst_object_unref(pad);
	snprintf(rtp_sink, sizeof(rtp_sink), "recv_rtp_sink_%u", s->session);
	snprintf(rtcp_sink, sizeof(rtcp_sink), "recv_rtcp_sink_%u", s->session);
	if (!secure)
		return link_pads(s->rtp_src, "src", rtpbin, rtp_sink) ||
		                       link_pads(s->rtcp_src, "src", rtpbin, rtcp_sink)
		               ? (snprintf(errstr, errstr_size, "%s: cannot link its RTP", what),
		                  -1)
		               : 0;
	if (!(s->srtp = make(src, "srtpdec", errstr, errstr_size)))
		return -1;
	{
		GstBuffer *key = gst_buffer_new_memdup(s->sdp.key, s->sdp.key_len);
		s->srtp_caps = gst_caps_new_simple(
		        "application/x-srtp", "srtp-key", GST_TYPE_BUFFER, key, "srtp-cipher",
		        G_TYPE_STRING, srtp_cipher(s->sdp.suite), "srtp-auth", G_TYPE_STRING,
		        srtp_auth(s->sdp.suite), "srtcp-cipher", G_TYPE_STRING,
		        srtp_cipher(s->sdp.suite), "srtcp-auth", G_TYPE_STRING,
		        srtp_auth(s->sdp.suite), NULL);
		gst_buffer_unref(key);
	}
	g_signal_connect(s->srtp, "request-key", G_CALLBACK(on_request_key), s);
	pad = gst_element_get_static_pad(s->srtp, "rtp_src");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, egw_source_count_buffers, &s->passed,
	                  NULL); /* what srtpdec authenticated and decrypted */
	gst_object_unref(pad);
	if (link_pads(s->rtp_src, "src", s->srtp, "rtp_sink") ||
	    link_pads(s->rtcp_src, "src", s->srtp, "rtcp_sink") ||
	    link_pads(s->srtp, "rtp_src", rtpbin, rtp_sink) ||
	    link_pads(s->srtp, "rtcp_src", rtpbin, rtcp_sink)) {
		snprintf(errstr, errstr_size, "%s: cannot link its SRTP", what);
		return -1;
	}
	return 0;
}

/* A participant: its rtpbin and the streams the filter takes. */
int egw_rtp_build_party(struct egw_source *src, struct rtp_party *p, const egw_sdp_t *sdp,
                       char *errstr, size_t errstr_size)
{
	p->src = src;
	p->name = g_strdup(sdp->name);
	for (size_t i = 0; i < sdp->n_streams; i++) {
		struct rtp_stream *s = &p->streams[p->n_streams];
		egw_track_t t;
		s->party = p;
		s->sdp = sdp->streams[i];
		egw_source_track_id(s->id, sizeof(s->id), p->name, s->sdp.mid);
		egw_rtp_view(s, &t);
		if (!egw_source_filter_track(&src->filter.filter, &t)) {
			memset(s, 0, sizeof(*s)); /* (its key too) */
			continue;
		}
		s->wanted = 1;
		s->session = (guint)p->n_streams++;
	}
	if (!p->n_streams)
		return 0;
	if (!(p->rtpbin = make(src, "rtpbin", errstr, errstr_size)))
		return -1;
	g_object_set(p->rtpbin, "latency", LATENCY_MS, NULL);
	gst_util_set_object_arg(G_OBJECT(p->rtpbin), "buffer-mode", "synced");
	g_signal_connect(p->rtpbin, "request-pt-map", G_CALLBACK(on_request_pt_map), p);
	g_signal_connect_data(p->rtpbin, "pad-added", G_CALLBACK(egw_rtp_on_pad_added),
	                      egw_life_ref(src->life),
	                      (GClosureNotify)(void (*)(void))egw_life_unref, 0);
	g_signal_connect_data(p->rtpbin, "pad-removed", G_CALLBACK(egw_rtp_on_pad_removed),
	                      egw_life_ref(src->life),
	                      (GClosureNotify)(void (*)(void))egw_life_unref, 0);
	for (size_t i = 0; i < p->n_streams; i++) {
		int rc = build_stream(&p->streams[i], errstr, errstr_size);
		/* the key lives on in srtp_caps only */
		memset(p->streams[i].sdp.key, 0, sizeof(p->streams[i].sdp.key));
		if (rc)
			return -1;
	}
	return 0;
}
