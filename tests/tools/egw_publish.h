/* egw-publish internals, shared by egw_publish*.c only (a test tool, not a
 * module of the service): options, the live controls (mute switches,
 * volume), the marker pattern and the media side (one GStreamer pipeline
 * with webrtcbin per publication). */
#ifndef EGW_PUBLISH_H
#define EGW_PUBLISH_H

#include <gst/gst.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct pub_options {
	const char *janus_url;
	int64_t room;
	const char *display;
	const char *pin; /* room PIN, or NULL */
	uint32_t color;    /* background, 0xRRGGBB */
	double freq;       /* tone in Hz */
	double beep_hz;    /* marker beep in Hz */
	int mark_phase_ms; /* markers at running times phase + k * 2 s */
	const char *video; /* "vp8", "h264" or NULL (none) */
	const char *audio; /* "opus" or NULL (none) */
	int width, height, fps;
	/* A second video stream, declared to Janus as a screen share. */
	int screen;
	uint32_t screen_color; /* 0xRRGGBB */
	int screen_width, screen_height, screen_fps;
	int marks; /* report the wall-clock time of each white flash */
};

/* Written by the main thread, read by the streaming threads' pad probes. */
struct pub_controls {
	atomic_int audio_muted;
	atomic_int video_muted;  /* the camera stream */
	atomic_int screen_muted; /* the screen share stream */
	atomic_int screen_off;   /* the screen share sends nothing */
	atomic_int camera_off;   /* the camera stream sends nothing (no renegotiation) */
	atomic_int mic_off;      /* the audio stream sends nothing (no renegotiation) */
	_Atomic double volume;   /* tone amplitude multiplier, 1 = normal */
};

/* Called on the thread running the default GLib main context, never after
 * pub_media_free(). offer() names the mids of the camera and screen share
 * streams (NULL: no such stream). */
struct pub_media_events {
	void (*offer)(void *user, const char *sdp, const char *camera_mid, const char *screen_mid);
	void (*candidate)(void *user, const char *candidate, unsigned mline_index);
	void (*gathering_done)(void *user);
	void (*error)(void *user, const char *message);
};

struct pub_media;

/* Builds the pipeline (sources, pattern probes, encoders, payloaders,
 * webrtcbin with sendonly transceivers) in the NULL state.
 * locality: main thread. */
struct pub_media *pub_media_new(const struct pub_options *opt, struct pub_controls *ctl,
				const struct pub_media_events *events, void *user, char *errstr,
				size_t errstr_size);

/* Sets the pipeline PLAYING (running time 0 = now); webrtcbin then asks for
 * negotiation and events->offer() delivers the offer's SDP. Returns 0 or -1
 * with errstr set. locality: main thread. */
int pub_media_start(struct pub_media *media, char *errstr, size_t errstr_size);

/* Applies the remote answer. Returns 0 or -1 with errstr set.
 * locality: main thread. */
int pub_media_set_answer(struct pub_media *media, const char *sdp, char *errstr,
			 size_t errstr_size);

/* Creates a new offer, delivered by events->offer() (to be sent to Janus
 * as a renegotiation). locality: main thread. */
void pub_media_renegotiate(struct pub_media *media);

/* A copy of sdp whose m-section with a=mid:<mid> has the direction
 * attribute `direction` ("inactive", "recvonly", ...). webrtcbin 1.22
 * cannot turn an inactive transceiver active again, so a screen share is
 * switched off and on in the SDP that Janus sees only: webrtcbin keeps a
 * sendonly transceiver (and receives its answers as recvonly) while the
 * screen branch sends nothing. */
char *pub_sdp_set_direction(const char *sdp, const char *mid, const char *direction);

/* Stops and frees the pipeline; no event is delivered afterwards. NULL ok.
 * locality: main thread. */
void pub_media_free(struct pub_media *media);

/* The marker pattern (egw_publish_pattern.c): probes on the src pad of the
 * raw capsfilter `name` of a branch. Return 0, or -1 without such an
 * element. While *off (off may be NULL) a video branch drops its frames.
 * With marks, "mark <unix_us>" goes to stdout as each flash leaves. The
 * markers come at running times phase + k * 2 s.
 * locality: main thread (the probes run on streaming threads). */
int pub_pattern_video(GstElement *pipeline, const char *name, atomic_int *muted, atomic_int *off,
		      int fps, int marks, GstClockTime phase);
int pub_pattern_audio(GstElement *pipeline, const char *name, struct pub_controls *ctl,
		      double beep_hz, GstClockTime phase);

#endif
