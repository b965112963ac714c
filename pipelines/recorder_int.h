/* Recorder internals; do not include outside pipelines/recorder*.c. */
#ifndef EGW_RECORDER_INT_H
#define EGW_RECORDER_INT_H

#include "pipelines/recorder.h"

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
	GstClockTime last_dts;
	guint64 clamped; /* buffers whose timestamps went backwards */
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
	GMutex lock;         /* t0, max_end, branches' links */
	int have_t0;
	GstClockTime t0;     /* running time mapped to 0 in the file */
	GstClockTime max_end;
	gint first_media;    /* atomic */
	guint64 bytes;       /* atomic */
	int finishing;
};

/* recorder_retime.c */
GstPadProbeReturn egw_recorder_retime_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user);

#endif
