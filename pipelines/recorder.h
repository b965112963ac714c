/* Recording without transcoding (track and participant egress): RTP pads
 * from an SFU adapter are depayloaded, parsed, re-timed to start at zero
 * and stay monotonic, and muxed into a file that stays playable if the
 * process is killed (Matroska/WebM clusters, fragmented MP4, Ogg pages).
 * locality: job main context, except egw_recorder_link_pad (streaming
 * thread, guarded by the recorder's lock). */
#ifndef EGW_RECORDER_H
#define EGW_RECORDER_H

#include <gst/gst.h>
#include <jansson.h>

#include "sfu/sfu.h"
#include "contract/request.h"

typedef struct egw_recorder egw_recorder_t;

typedef struct egw_recorder_events {
	void (*on_first_media)(void *opaque); /* first byte written (any thread) */
	void (*on_finished)(void *opaque);    /* EOS reached the file (main context) */
	void (*on_error)(void *opaque, egw_err_t err, const char *message); /* main context */
} egw_recorder_events_t;

/* Creates the pipeline and the file of job->outputs[0] under storage_dir
 * (directories are created). */
egw_recorder_t *egw_recorder_new(const egw_job_t *job, const char *storage_dir,
				 const egw_recorder_events_t *ev, void *opaque, egw_err_t *err,
				 char *errstr, size_t errstr_size);

GstBin *egw_recorder_bin(egw_recorder_t *rec);
egw_err_t egw_recorder_play(egw_recorder_t *rec, char *errstr, size_t errstr_size);

/* SFU callbacks: announce tracks (creates the branches the first time;
 * later announcements must fit them), then link their pads. */
egw_err_t egw_recorder_prepare(egw_recorder_t *rec, const egw_sfu_track_t *tracks, size_t n,
			 char *errstr, size_t errstr_size);
void egw_recorder_link_pad(egw_recorder_t *rec, GstPad *pad, const egw_sfu_track_t *track);

/* Ends the recording: EOS down every branch; on_finished follows. */
void egw_recorder_finish(egw_recorder_t *rec);

/* [{"kind":"file","location":...,"size":...,"duration_s":...}] */
json_t *egw_recorder_outputs(egw_recorder_t *rec);
/* Deletes the file (for egresses aborted before any media). */
void egw_recorder_discard(egw_recorder_t *rec);

void egw_recorder_free(egw_recorder_t *rec);

#endif
