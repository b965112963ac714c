/* Output timeline of a recording, as plain arithmetic (no media headers):
 * the first buffer of any stream is time 0; each stream stays monotonic
 * when its input steps back (RTCP sender reports moving the lip-sync
 * point); gaps (a participant away) are kept as gaps.
 * Input that lies before what a stream may write (before the file start,
 * or behind its previous buffer) is clamped for video, whose frames each
 * carry their own time, and dropped for audio: players play audio samples
 * back to back, so a clamped audio buffer would delay all later audio by
 * its overlap for the rest of the file.
 * locality: one egw_timeline_t shared by the streams of a recording, each
 * egw_retime_stream_t used by one streaming thread; the caller serialises
 * access to the timeline. */
#ifndef EGW_RETIME_H
#define EGW_RETIME_H

#include <stdint.h>

#define EGW_TS_NONE UINT64_MAX

typedef struct egw_timeline {
	uint64_t t0;      /* input running time mapped to 0; EGW_TS_NONE until set */
	uint64_t max_end; /* end of the latest output buffer */
} egw_timeline_t;

typedef struct egw_retime_stream {
	uint64_t last;     /* EGW_TS_NONE before the first buffer */
	uint64_t clamped;  /* buffers whose input went backwards, moved forward */
	uint64_t dropped;  /* buffers dropped (drop_late): before t0 or backwards */
	uint64_t max_back; /* largest backward step seen */
} egw_retime_stream_t;

void egw_timeline_init(egw_timeline_t *tl);
void egw_retime_stream_init(egw_retime_stream_t *st);

/* Maps one buffer. rt: input running time of its presentation time (the
 * jitter buffer's smoothed time; not the raw arrival time it leaves in
 * DTS). WebRTC streams have no frame reordering, so one timestamp serves
 * as both PTS and DTS. duration may be 0. drop_late: the stream is audio
 * (see above). Writes the output time, or EGW_TS_NONE when the buffer
 * must be dropped, and returns the backward step that was clamped or
 * dropped (0 when none; a buffer before t0 is not a step back). */
uint64_t egw_retime(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt, uint64_t duration,
		    int drop_late, uint64_t *out);

#endif
