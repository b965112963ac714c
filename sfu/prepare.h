/* What the first WebRTC subscription of a process would otherwise do on
 * its signalling thread, done once beforehand: a spare job process does it
 * while it waits for its request, a cold one on a thread beside its start. */
#ifndef EGW_SFU_PREPARE_H
#define EGW_SFU_PREPARE_H

/* Makes webrtcbin's DTLS certificate, loads the plugins of the elements
 * webrtcbin makes for its transport, and keeps the SRTP library's crypto
 * provider loaded for the life of the process. Call after gst_init; safe
 * to call from any thread, more than once. */
void egw_sfu_prepare(void);

#endif
