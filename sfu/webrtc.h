/* webrtcbin for receive-only subscriptions, shared by the WebRTC sources. */
#ifndef EGW_WEBRTC_H
#define EGW_WEBRTC_H

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <stddef.h>

/* A webrtcbin added to bin (a new reference for the caller): max-bundle,
 * 200 ms jitter buffers timed by RTP from the first packet, no UPnP, its
 * lip-sync moves logged under log_id. NULL with errstr when it cannot. */
GstElement *egw_webrtc_make(GstBin *bin, const char *log_id, char *errstr, size_t errstr_size);

/* The mid of the transceiver a webrtcbin src pad belongs to (g_free it),
 * or NULL. */
gchar *egw_webrtc_pad_mid(GstPad *pad);

/* Makes an answer take the DTLS server role (a=setup:passive). */
void egw_webrtc_make_passive(GstSDPMessage *sdp);

#endif
