/* A fragmented MP4 closed before its muxer finished (a job past its stop
 * grace, closing its outputs as they are): its last fragment may be cut
 * short, which players and FFmpeg report as a broken file. What can be
 * kept is every top-level box that is whole, up to the last fragment
 * (a moof) whose media (the mdat after it) is whole too.
 * Plain C on a file descriptor (no media headers). locality: any thread,
 * on a file nobody writes any more. */
#ifndef EGW_MP4_CUT_H
#define EGW_MP4_CUT_H

#include <stdint.h>

/* The length of fd's MP4 up to its last whole box, a moof counting only
 * with the mdat that follows it; -1 when fd cannot be read or does not
 * begin with an MP4 box. */
int64_t egw_mp4_whole_length(int fd);

#endif
