/* egw-publish marker pattern: pad probes on the raw branches.
 *
 * Every 2 s of running time, for 100 ms, every video stream (camera and
 * screen share) shows a whole-white frame and the audio carries the marker
 * beep (a sine at --beep-hz, 3000 Hz by default) instead of the tone. The
 * media checker (tests/tools/check_media.py) measures A/V sync from them.
 * While muted a video stream is black and the audio silent.
 *
 * The volume control scales the tone by X (audiotestsrc makes it at 0.25:
 * X = 4 is full scale) and the beep by min(X, 1) (0.8 at X >= 1): a quiet
 * participant is quiet beep included, a loud one does not clip its beep.
 *
 * The raw video is BGRx so that "white" and "black" are a memset whatever
 * the stride or padding; the audio is S16LE mono at 48 kHz. */
#include "tests/tools/egw_publish.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MARK_PERIOD (2 * GST_SECOND)
#define MARK_LENGTH (100 * GST_MSECOND)
#define RATE 48000
#define BEEP_AMPLITUDE 0.8

/* One per probe, owned by it. */
struct video_pattern {
	atomic_int *muted;
	atomic_int *off; /* or NULL */
	int fps;
	int was_off; /* the previous frame was dropped */
	int marks;   /* report the wall-clock time of each flash (stdout) */
	GstClockTime phase; /* markers at running times phase + k * MARK_PERIOD */
};

struct audio_pattern {
	struct pub_controls *ctl;
	double beep_hz;
	uint64_t phase; /* in samples */
};

/* Makes the probed buffer writable and puts it on its stream's grid: index
 * n (frame or sample) since running time 0, PTS exactly n / rate. Live
 * test sources stamp their first buffer with the running time at which
 * they started (about 1 ms), not 0; without this the 2 s marks would not
 * fall on frame boundaries. Returns NULL without a time segment. */
static GstBuffer *snap_to_grid(GstPad *pad, GstPadProbeInfo *info, guint64 rate, uint64_t *index)
{
	GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	const GstSegment *seg = NULL;
	GstClockTime rt = GST_CLOCK_TIME_NONE;

	if (ev) {
		gst_event_parse_segment(ev, &seg);
		if (seg->format == GST_FORMAT_TIME)
			rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
	}
	if (!GST_CLOCK_TIME_IS_VALID(rt)) {
		gst_clear_event(&ev);
		return NULL;
	}
	buf = gst_buffer_make_writable(buf);
	GST_PAD_PROBE_INFO_DATA(info) = buf;
	*index = gst_util_uint64_scale_round(rt, rate, GST_SECOND);
	GST_BUFFER_PTS(buf) = gst_segment_position_from_running_time(
		seg, GST_FORMAT_TIME, gst_util_uint64_scale(*index, GST_SECOND, rate));
	gst_event_unref(ev);
	return buf;
}

/* Video: whole frame white during a marker, black while muted, no frame
 * at all while off.
 * locality: video streaming thread. */
static GstPadProbeReturn on_video_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct video_pattern *pat = data;
	int muted = atomic_load(pat->muted);
	GstBuffer *buf;
	uint64_t frame;
	GstClockTime t;
	GstMapInfo map;

	if (pat->off && atomic_load(pat->off)) {
		pat->was_off = 1;
		return GST_PAD_PROBE_DROP;
	}
	if (pat->was_off) {
		/* Back on: a key frame first, or subscribers wait for the next
		 * one (what GstVideoEncoder takes from
		 * gst_video_event_new_downstream_force_key_unit()). */
		pat->was_off = 0;
		gst_pad_push_event(pad, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
							     gst_structure_new("GstForceKeyUnit",
									       "all-headers",
									       G_TYPE_BOOLEAN, TRUE,
									       NULL)));
	}
	if (!(buf = snap_to_grid(pad, info, (guint64)pat->fps, &frame)))
		return GST_PAD_PROBE_OK;
	GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(1, GST_SECOND, (guint64)pat->fps);
	t = gst_util_uint64_scale(frame, GST_SECOND, (guint64)pat->fps);
	t = (t + MARK_PERIOD - pat->phase) % MARK_PERIOD; /* time into the marker period */
	if (!muted && pat->marks && t < GST_BUFFER_DURATION(buf)) {
		/* The first frame of a flash leaves the source now (one line,
		 * written whole: stdio locks the stream). */
		printf("mark %" G_GINT64_FORMAT "\n", g_get_real_time());
		fflush(stdout);
	}
	if (!muted && t >= MARK_LENGTH)
		return GST_PAD_PROBE_OK;
	if (gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
		memset(map.data, muted ? 0x00 : 0xff, map.size);
		gst_buffer_unmap(buf, &map);
	}
	return GST_PAD_PROBE_OK;
}

static int16_t clip16(double v)
{
	return (int16_t)(v > 32767.0 ? 32767 : v < -32768.0 ? -32768 : lrint(v));
}

/* Audio: audiotestsrc makes the tone; each sample whose own running time
 * (sample index n since running time 0) falls in a marker becomes the beep,
 * whose phase follows n so that every marker starts the same way; every
 * sample is silence while muted; nothing goes on while the mic is off.
 * locality: audio streaming thread. */
static GstPadProbeReturn on_audio_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct audio_pattern *pat = data;
	int muted = atomic_load(&pat->ctl->audio_muted);
	double volume = atomic_load(&pat->ctl->volume);
	const uint64_t period = RATE * (MARK_PERIOD / GST_MSECOND) / 1000;
	const uint64_t length = RATE * (MARK_LENGTH / GST_MSECOND) / 1000;
	double beep_amp = 32767.0 * BEEP_AMPLITUDE * (volume < 1.0 ? volume : 1.0);
	uint64_t n0, samples;
	GstBuffer *buf;
	GstMapInfo map;

	if (atomic_load(&pat->ctl->mic_off))
		return GST_PAD_PROBE_DROP; /* nothing to encode, nothing sent */
	if (!(buf = snap_to_grid(pad, info, RATE, &n0)))
		return GST_PAD_PROBE_OK;
	n0 += period - pat->phase; /* sample index into the marker periods */
	samples = gst_buffer_get_size(buf) / sizeof(int16_t);
	/* Untouched unless muted, scaled or overlapping a marker. */
	if (!muted && volume == 1.0 && n0 % period >= length && (n0 % period) + samples <= period)
		return GST_PAD_PROBE_OK;
	if (!gst_buffer_map(buf, &map, GST_MAP_WRITE))
		return GST_PAD_PROBE_OK;
	int16_t *s = (int16_t *)map.data;
	for (uint64_t i = 0; i < samples; i++) {
		uint64_t n = n0 + i;
		if (muted)
			s[i] = 0;
		else if (n % period < length)
			s[i] = clip16(beep_amp *
				      sin(2.0 * G_PI * fmod((double)n * pat->beep_hz / RATE, 1.0)));
		else if (volume != 1.0)
			s[i] = clip16(s[i] * volume);
	}
	gst_buffer_unmap(buf, &map);
	return GST_PAD_PROBE_OK;
}

static int add_probe(GstElement *pipeline, const char *name, GstPadProbeCallback cb,
		     gpointer pat)
{
	GstElement *el = gst_bin_get_by_name(GST_BIN(pipeline), name);
	GstPad *pad = el ? gst_element_get_static_pad(el, "src") : NULL;
	int rc = -1;

	if (pad) {
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, cb, pat, g_free);
		rc = 0;
	} else {
		g_free(pat);
	}
	gst_clear_object(&pad);
	gst_clear_object(&el);
	return rc;
}

int pub_pattern_video(GstElement *pipeline, const char *name, atomic_int *muted, atomic_int *off,
		      int fps, int marks, GstClockTime phase)
{
	struct video_pattern *pat = g_new0(struct video_pattern, 1);
	pat->marks = marks;
	pat->phase = phase % MARK_PERIOD;
	pat->muted = muted;
	pat->off = off;
	pat->fps = fps;
	return add_probe(pipeline, name, on_video_buffer, pat);
}

int pub_pattern_audio(GstElement *pipeline, const char *name, struct pub_controls *ctl,
		      double beep_hz, GstClockTime phase)
{
	struct audio_pattern *pat = g_new0(struct audio_pattern, 1);
	pat->ctl = ctl;
	pat->phase = gst_util_uint64_scale(phase % MARK_PERIOD, RATE, GST_SECOND);
	pat->beep_hz = beep_hz;
	return add_probe(pipeline, name, on_audio_buffer, pat);
}
