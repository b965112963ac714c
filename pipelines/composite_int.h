/* The composite graph's parts, shared by graph_composite.c (the graph: the
 * canvas, the mix, the encoders, applying the compositor's scene),
 * composite_gate.c (where the outputs begin and end), composite_input.c
 * (one decoding branch per track, placeholders) and composite_watch.c
 * (loudness, mutes, stalls of the branches). Do not include outside these
 * four.
 *
 *   track RTP -> depay -> decode -> [label] --------> compositor -> gate -> encode -> outputs
 *   placeholder (colour, initials) -----------------> compositor
 *   background (colour, live: paces the canvas) ----> compositor
 *   track RTP -> depay -> decode -> mono (level) -> pan -> audiomixer -> gate -> encode
 *   silence (live: paces the mix) -------------------> audiomixer
 *
 * locality: everything here belongs to the job's main context, except the
 * fields marked "streaming" (under the graph's lock, or atomics). */
#ifndef EGW_COMPOSITE_INT_H
#define EGW_COMPOSITE_INT_H

#include <gst/gst.h>

#include "base/life.h"
#include "compositor/compositor.h"
#include "pipelines/graph.h"

struct composite;

/* One subscribed track being decoded into the canvas or the mix. */
struct input {
	struct composite *g;
	char *track_id;
	egw_media_t media;
	char codec[16];
	GstElement *els[10]; /* the branch, first to last */
	size_t n_els;
	GstPad *sinkpad;   /* the depayloader's: the source's pad links here */
	GstPad *mixpad;    /* the compositor's or the audiomixer's request pad */
	GstElement *label; /* video: textoverlay, or NULL without labels */
	GstElement *crop;  /* video: videocrop (egw_fit_native) */
	egw_tile_t cell;   /* video: where the scene puts it; width 0: hidden */
	int pic_w, pic_h;  /* video: the decoded picture's size, 0 before caps */
	int cropped[4];    /* video: the crop set on crop (left, right, top, bottom) */
	GstElement *pan;   /* audio: audiopanorama */
	char *participant; /* display name */
	gint64 heard_ms;   /* audio: when it last carried sound (monotonic), 0: no data yet */
	int muted;         /* audio: silent for EGW_MUTE_MS (composite_watch.c) */
	gint64 last_pic_us; /* video: its newest picture's arrival (monotonic); 0: none
	                     * yet. Written by the streaming thread (atomic). */
	gint64 added_us;    /* when the branch was made (monotonic) */
	int stalled;        /* video: no picture for EGW_STALL_MS (main context) */
	/* audio level, streaming thread only */
	double sum_sq;
	guint64 n_samples;
	/* how late buffers reach the mixer, streaming thread only */
	gint64 late_win_end, late_min, late_max, late_sum, late_n;
	/* video: packets dropped at the branch's entry for being too late to
	 * show (composite_watch.c), streaming thread only */
	gint64 behind_first_us, behind_since_us, behind_dropped, behind_worst_us;
	gint64 behind_reported_us;
	int behind_dropping;
};

/* A participant without video: initials on a colour. */
struct placeholder {
	char *participant_id;
	GstElement *src, *caps, *text;
	GstPad *mixpad;
};

struct composite {
	egw_session_t *s;
	GstBin *bin;
	const char *log_id;
	egw_encode_plan_t enc;
	egw_composite_plan_t cp;
	int track_mode;        /* track composite: fixed scene, no compositor layouts */
	GstClockTime av_shift; /* the audio's origin is this much after t0 */
	egw_compositor_t *comp;
	GstElement *vmix, *amix;  /* compositor, audiomixer (NULL when not produced) */
	GstElement *vbg, *abg;    /* background and silence sources */
	GHashTable *inputs;       /* track id -> struct input */
	GHashTable *placeholders; /* participant id -> struct placeholder */
	egw_life_t *life;
	guint tick;
	gint64 t0_seen_us; /* main context: when the gate check first saw t0 */
	int gate_checked;
	GMutex lock; /* streaming: the fields below */
	int finishing;
	int started;          /* a track's media arrived: the outputs begin */
	GstClockTime t0;      /* running time of the outputs' time 0 */
	GstClockTime end;     /* output time reached (for duration) */
	GstClockTime stop_at; /* running time the outputs end at, once stopping */
	int video_ended, audio_ended;
	/* what reached the gate, per media (0 video, 1 audio), for the log */
	GstClockTime last_pts[2];
	guint64 passed[2];
};

/* composite_scene.c, main context: the scene worked out again from the
 * room and applied to the mixers' pads and the placeholders (force: even
 * when nothing seems to have changed); on the tick (a GSourceFunc, user
 * the composite): the active speaker, mutes, stalls, the gate. */
void egw_composite_refresh(struct composite *g, int force);
gboolean egw_composite_tick(gpointer user);

/* composite_gate.c */
/* Puts the gate on a mixer's output (mixsrc: the mixer's src pad). */
void egw_composite_gate(struct composite *g, GstPad *mixsrc);
/* How much later the audio's origin is than t0 (A/V sync). */
GstClockTime egw_composite_av_shift(const egw_encode_plan_t *enc);
/* Main context, every tick: logs, once, a mix that has sent nothing 3 s
 * after the other began. */
void egw_composite_check_gate(struct composite *g);

/* composite_input.c */
egw_err_t egw_composite_input_new(struct composite *g, const egw_track_t *t, struct input **out,
                                  char *errstr, size_t errstr_size);
void egw_composite_input_free(struct input *in); /* takes it out of the pipeline */
struct placeholder *egw_composite_placeholder_new(struct composite *g, const egw_tile_t *tile);
void egw_composite_placeholder_free(struct placeholder *ph);
/* Is obj (an element, or inside one) part of the input / placeholder? */
int egw_composite_input_has(const struct input *in, GstObject *obj);
int egw_composite_placeholder_has(const struct placeholder *ph, GstObject *obj);
/* Answers the serialized queries a mixer would make its inputs wait for
 * (see composite_input.c); on every pad that links to a mixer. */
void egw_composite_guard_pad(GstPad *pad);
/* Places a video input's picture in its cell (in->cell, in->pic_*):
 * shown at its own size when it almost fits (egw_fit_native), else scaled. */
void egw_composite_input_fit(struct input *in);
/* composite_watch.c, main context, every tick: an audio input that carried only silence (or
 * nothing) for EGW_MUTE_MS is "muted", and "unmuted" at its next sound;
 * both told to the session's outputs (egw_session_room_event). */
void egw_composite_check_mutes(struct composite *g);
/* composite_watch.c: the probes on a branch: its audio as the mixer will
 * take it (loudness, mutes), and its last pad before the mixer (pictures
 * seen; lateness at debug). */
void egw_composite_watch_level(struct input *in, GstPad *pad);
void egw_composite_watch_output(struct input *in, GstPad *src);
/* composite_watch.c: the probe on a video branch's entry (the
 * depayloader's sink pad) that drops packets too late to be shown. */
void egw_composite_watch_entry(struct input *in, GstPad *sink);
/* Main context, every tick: a camera that sent no picture for
 * EGW_STALL_MS (frozen or lost on the network) is shown as its
 * participant's placeholder, its tile keeping its place, until its next
 * picture; before that its tile holds the last picture. */
void egw_composite_check_stalls(struct composite *g);
/* Can this build decode codec? */
int egw_composite_decodes(const char *codec);

#endif
