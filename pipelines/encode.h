/* Encoders for graphs that transcode: raw video or audio in, one encoded,
 * parsed stream out, set up from the egress's encode plan (x264 or VP8;
 * AAC or Opus). Private to pipelines/.
 * locality: job main context. */
#ifndef EGW_ENCODE_H
#define EGW_ENCODE_H

#include <gst/gst.h>

#include "base/err.h"
#include "base/media.h"
#include "pipelines/plan.h"

/* Builds the encoder chain for media in bin. *sink is where raw data goes
 * in (convert first: any raw format is taken), *src the encoded stream's
 * pad; both are new references. The chain is left in the NULL state. */
egw_err_t egw_encode_build(GstBin *bin, const egw_encode_plan_t *plan, egw_media_t media,
                           GstPad **sink, GstPad **src, char *errstr, size_t errstr_size);

/* The raw picture the video encoders take: I420 of the plan's size and
 * rate, every field fixed, in the canvas colours. New caps. */
GstCaps *egw_encode_video_caps(const egw_encode_plan_t *plan);

/* Sets the canvas colours on raw video caps: BT.601, chroma sited at the
 * centre, which is what the WebRTC decoders give (VP8, and H.264 without
 * colour information). A composite draws in them, so that a tile is only
 * scaled, never converted, and the encoder takes the canvas as it is; the
 * H.264 stream says so in its VUI. */
void egw_encode_canvas_colours(GstCaps *caps);

/* How late the encoded audio plays its first input sample: the encoder's
 * priming that the containers here do not record (AAC), 0 if none. */
GstClockTime egw_encode_audio_delay(const egw_encode_plan_t *plan);

/* Fills the plan's empty fields with defaults (720p30, 2 s keyframes,
 * veryfast, ...), for the codecs already chosen. */
void egw_encode_defaults(egw_encode_plan_t *plan);

#endif
