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

/* Fragmented MP4 starts every track at its first sample: a track's offset
 * from the file start is lost. With anchor_video the first video frame
 * defines time 0: audio that reaches the timeline first is told to wait
 * (EGW_TS_WAIT; the caller holds it until video came or it gave up), then
 * audio before time 0 is dropped, so both tracks begin at the same instant
 * (within one audio packet). */
#define EGW_TS_WAIT (UINT64_MAX - 1)
#define EGW_RETIME_AUDIO 1   /* drop, don't clamp (see above) */
#define EGW_RETIME_GIVE_UP 2 /* audio stops waiting for the video anchor */

typedef struct egw_timeline {
	uint64_t t0;      /* input running time mapped to 0; EGW_TS_NONE until set */
	uint64_t max_end; /* end of the latest output buffer */
	int anchor_video; /* see above */
} egw_timeline_t;

typedef struct egw_retime_stream {
	uint64_t last;     /* EGW_TS_NONE before the first buffer */
	uint64_t end;      /* end of its latest buffer, or of the gap it announced */
	uint64_t clamped;  /* buffers whose input went backwards, moved forward */
	uint64_t dropped;  /* buffers dropped (drop_late): before t0 or backwards */
	uint64_t max_back; /* largest backward step seen */
} egw_retime_stream_t;

void egw_timeline_init(egw_timeline_t *tl);
/* Would a buffer with these flags be told to wait (EGW_TS_WAIT) now? */
int egw_timeline_waits(const egw_timeline_t *tl, int flags);
void egw_retime_stream_init(egw_retime_stream_t *st);

/* Maps one buffer. rt: input running time of its presentation time (the
 * jitter buffer's smoothed time; not the raw arrival time it leaves in
 * DTS). WebRTC streams have no frame reordering, so one timestamp serves
 * as both PTS and DTS. duration may be 0. flags: EGW_RETIME_*. Writes
 * the output time, EGW_TS_NONE when the buffer must be dropped, or
 * EGW_TS_WAIT (audio, anchoring on video). Returns the backward step that
 * was clamped or dropped (0 when none; a buffer before t0 is not one). */
uint64_t egw_retime(egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t rt, uint64_t duration,
		    int flags, uint64_t *out);

/* A stream gone quiet while the others go on (a camera that stopped
 * sending, a track unpublished for a while): the muxers interleave by time
 * and would wait for it, and the outputs' queues would drop the others'
 * data after 10 s. Once the timeline's newest end (max_end) is more than
 * EGW_GAP_AFTER_NS past the stream's own end, the stream announces a gap
 * (a GAP event: nothing of it before the gap's end) up to
 * EGW_GAP_BEHIND_NS before that newest end. What the stream sends later
 * that lies before the gap's end is a backward step (video clamped, audio
 * dropped). Returns the gap's start with *to its end (the stream's end
 * moves there), or EGW_TS_NONE when no gap is due (the stream has not
 * begun, or is not that far behind). */
#define EGW_GAP_AFTER_NS (1500 * 1000000ull)
#define EGW_GAP_BEHIND_NS (500 * 1000000ull)
uint64_t egw_retime_gap(const egw_timeline_t *tl, egw_retime_stream_t *st, uint64_t *to);

/* Audio frames that never came (lost on the network and not resent, or
 * not sent: a silence with DTX). Players play audio back to back, so a
 * hole would bring all the audio after it early; the graphs that keep
 * tracks as they came fill it with empty Opus frames instead (a TOC byte
 * alone, RFC 6716 3.2.1: a lost frame, which decoders conceal and fade to
 * silence). */
#define EGW_GAP_FILL_MAX_NS (300 * 1000000000ull) /* a longer hole stays one */

/* Duration of one frame of the Opus packet whose TOC byte is toc (2.5 to
 * 60 ms), in ns. */
uint64_t egw_opus_frame_ns(uint8_t toc);
/* Where an audio packet goes in a stream kept contiguous, as players play
 * it (sample after sample, whatever the timestamps say). next: where the
 * stream's next packet is due (the end of the one before; EGW_TS_NONE
 * before the first); t: where the timeline puts this one; frame_ns: one
 * frame of it. Within 3/4 of a frame of next (jitter of the smoothed
 * arrival times, up to ~15 ms on a starved machine) it goes at next; a
 * later one goes after *fill frames that never came (returned: next + the
 * fill); one that would overlap the packet before by more than 3/4 of a
 * frame is dropped (EGW_TS_NONE: its audio is already in, or a fill stood
 * for it). A hole longer than EGW_GAP_FILL_MAX_NS stays one: t. So the
 * samples before any packet never differ from its time by more than 3/4
 * of a frame, however long the recording and however jittery its input. */
uint64_t egw_audio_place(uint64_t next, uint64_t t, uint64_t frame_ns, uint64_t *fill);

#endif
