/* The stream output's parts, shared by output_stream.c (the output: its
 * streams, destinations list, events, the end) and stream_dest.c (one
 * destination: building, taking down, reconnecting, the watchdog). Do not
 * include elsewhere.
 * locality: main context, except the fields marked streaming (atomics). */
#ifndef EGW_STREAM_INT_H
#define EGW_STREAM_INT_H

#include "base/life.h"
#include "pipelines/output.h"

#define DEST_QUEUE_NS (3 * GST_SECOND) /* per destination, then it drops */
#define WATCH_MS 1000
#define STALL_S 5
#define END_GRACE_S 5
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 5000
#define DEAD_KEEP_US (10 * G_USEC_PER_SEC)
#define SHOWN_MAX 512
/* SRT closes without lingering (live mode): what it has not sent yet when
 * its sink stops is lost. A destination whose end went out is kept this
 * long before it stops, so the receiver gets the last packets. */
#define SRT_LINGER_US (1 * G_USEC_PER_SEC)

typedef enum dest_state {
	D_CONNECTING = 0, /* built, nothing accepted yet */
	D_ACTIVE,
	D_RECONNECTING, /* dropped after it streamed; retried until the window ends */
	D_FAILED,
	D_REMOVED, /* update_stream took it away */
	D_DONE,    /* wrote its end */
} dest_state_t;

extern const char *const egw_stream_state_names[];

struct dest {
	egw_output_t *o;
	guint id;
	char *url; /* secret */
	char shown[SHOWN_MAX];
	int srt;
	dest_state_t state;
	/* RTMP: q[0] takes the shared FLV stream; SRT: q[0] video, q[1] audio */
	GstElement *bin, *sink, *q[2];
	GstPad *feed[2];        /* tee request pads feeding q[] */
	GstElement *fed_by[2];  /* ... of these tees */
	guint64 ts_base_ms;     /* RTMP: its tags are restamped from here (streaming) */
	int ever_active;
	gint64 down_since_us;
	guint retry;
	guint backoff_ms;
	char error[256];
	/* streaming: atomics */
	gint started;  /* a keyframe went in (audio waits for it) */
	gint eos_in;   /* the end went in: an error after it is the server closing */
	guint gen;     /* builds so far: notes of an earlier build are stale */
	gint entered;  /* buffers into the destination */
	gint rendered; /* buffers the sink took */
	/* watchdog (main) */
	gint seen_entered, seen_rendered;
	gint64 rendered_at_us;
	guint64 acked;
	gint64 acked_at_us;
	gint64 drop_at_us; /* removed, or its end went out: taken down then (0: not yet) */
};

struct dead {
	GstElement *bin;
	gint64 since_us;
};

struct egw_output {
	char *name, *log_id;
	egw_output_events_t ev;
	void *opaque;
	egw_life_t *life;
	GstElement *bin;
	GstElement *tee[2]; /* video, audio; NULL when the egress has none */
	GstPad *video_in;   /* the output's video pad: keyframe requests go up it */
	/* RTMP destinations share one muxer: tee[] -> flvmux -> flv_tee ->
	 * each destination's queue (built with the first RTMP destination). */
	GstElement *flv_mux, *flv_tee;
	GPtrArray *dests;   /* struct dest */
	GSList *dead;       /* struct dead: bins taken down, kept a while */
	guint next_id;
	int window_s;
	guint watch, end_timer;
	int ending, failed, finished, wrote;
};

/* output_stream.c */
struct dest *egw_stream_dest_by_id(egw_output_t *o, guint id);
int egw_stream_dest_live(const struct dest *d); /* connecting, active or reconnecting */
void egw_stream_emit(egw_output_t *o, struct dest *d, const char *why);
void egw_stream_check_done(egw_output_t *o); /* the output failed, or finished */

/* stream_dest.c */
egw_err_t egw_stream_dest_build(egw_output_t *o, struct dest *d, char *errstr, size_t errstr_size);
void egw_stream_dest_take_down(egw_output_t *o, struct dest *d);
void egw_stream_bury_dead(egw_output_t *o, int all);
void egw_stream_dest_set(egw_output_t *o, struct dest *d, dest_state_t st, const char *why);
/* It dropped (error or stall): reconnecting, failed or done. */
void egw_stream_dest_down(egw_output_t *o, struct dest *d, const char *why);
/* Its end went out: done (or, removed, gone). */
void egw_stream_dest_end_out(egw_output_t *o, struct dest *d);
/* Past its reconnect window: failed, whatever attempt is under way (a
 * frozen server can hold an attempt for seconds). 1 when it gave up. */
int egw_stream_dest_past_window(egw_output_t *o, struct dest *d, gint64 now);
void egw_stream_watch_dest(egw_output_t *o, struct dest *d, gint64 now);
/* update_stream took it away: cut from the tees, the end sent into its
 * queues so what it had goes out whole (a receiver gets whole frames and
 * a closed stream); taken down once the end went through, or END_GRACE_S
 * later. */
void egw_stream_dest_remove(egw_output_t *o, struct dest *d);

#endif
