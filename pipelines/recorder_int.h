/* Recorder internals; do not include outside pipelines/recorder*.c. */
#ifndef EGW_RECORDER_INT_H
#define EGW_RECORDER_INT_H

#include "pipelines/recorder.h"
#include "pipelines/retime.h"

struct rec_branch {
	struct egw_recorder *rec;
	egw_media_t media;
	char codec[16];
	GstElement *queue;
	GstPad *sinkpad; /* queue's: where SFU pads link */
	GstPad *muxpad;
	/* retiming state: streaming thread of this branch only */
	GstSegment in_seg;
	int sent_segment, sent_stream_start;
	GstCaps *last_caps;
	egw_retime_stream_t retime;
};

struct egw_recorder {
	const egw_job_t *job;
	egw_recorder_events_t ev;
	void *opaque;
	GstElement *pipeline, *mux, *sink;
	guint bus_watch;
	char *path;     /* file on disk */
	char *location; /* as reported: storage dir + relative path */
	egw_file_format_t format;
	struct rec_branch branches[2];
	size_t n_branches;
	GMutex lock;         /* timeline, branches' links */
	egw_timeline_t timeline;
	GCond anchor;        /* signalled when video sets time 0 (MP4) */
	int finishing;
};

/* recorder_retime.c */
GstPadProbeReturn egw_recorder_retime_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user);

#endif
