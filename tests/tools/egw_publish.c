/* egw-publish: a synthetic WebRTC publisher for the tests.
 *
 * Joins a Janus VideoRoom as a publisher and sends a fixed test pattern
 * (see egw_publish_media.c and egw_publish_pattern.c), optionally with a
 * second video stream described to Janus as a screen share. Commands on
 * stdin, one per line: leave, join, mute audio|video|screen,
 * unmute audio|video|screen, screen on|off, camera on|off, mic on|off,
 * volume X, quit. Reports on stdout, one line each: joined <id>, webrtcup,
 * media audio|video, left, muted <kind>, unmuted <kind>, screen on|off,
 * camera on|off, mic on|off, volume <X>, error <message>.
 * Logs go to stderr.
 *
 * One thread: the GLib main loop owns all state, and Janus is spoken to
 * with the service's own asynchronous client (sfu/janus_api.h). Every
 * publication (join .. leave) has its own videoroom handle and pipeline,
 * so events of an old handle are simply ignored. */
#include "tests/tools/egw_publish.h"

#include <getopt.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sfu/janus_api.h"

#define REQUEST_TIMEOUT_MS 5000
#define MAX_VOLUME 4.0

struct publisher {
	struct pub_options opt;
	struct pub_controls ctl;
	egw_http_t *http;
	egw_janus_t *janus;
	GMainLoop *loop;
	uint64_t handle;         /* videoroom handle of the publication, 0: none */
	int attaching;           /* an attach is in flight */
	struct pub_media *media; /* its pipeline, once joined */
	int published;           /* the first offer went out: later ones renegotiate */
	char *screen_mid;        /* the screen share's mid, once offered */
	int screen_pending;      /* screen on/off waiting for Janus's answer: 1/0, or -1 */
	gint64 join_sent_us;     /* monotonic time the join was sent */
	int quitting;
	int exit_code;
	GIOChannel *input;
	guint input_watch;
};

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static double since_join_ms(const struct publisher *pub)
{
	return (double)(g_get_monotonic_time() - pub->join_sent_us) / 1000.0;
}

static void ignore_reply(void *owner, const egw_janus_reply_t *r)
{
	struct publisher *pub = owner;
	if (r->err)
		EGW_LOG(pub->opt.display, WARN, "%s", r->errmsg);
}

/* Ends the publication: leave the room, stop the pipeline, detach. */
static void leave_room(struct publisher *pub, int say_left)
{
	if (!pub->handle)
		return;
	egw_janus_message(pub->janus, pub->handle, json_pack("{s:s}", "request", "leave"), NULL,
			  ignore_reply, pub);
	pub_media_free(pub->media);
	pub->media = NULL;
	egw_janus_detach(pub->janus, pub->handle, ignore_reply, pub);
	pub->handle = 0;
	pub->published = 0;
	pub->screen_pending = -1;
	atomic_store(&pub->ctl.screen_off, 0);
	g_clear_pointer(&pub->screen_mid, g_free);
	if (say_left)
		report("left");
}

/* Reports a failure of the publication and ends it. */
static void fail_publication(struct publisher *pub, const char *what, const char *message)
{
	char *line = g_strdelimit(g_strdup(message), "\r\n", ' '); /* one line per report */

	EGW_LOG(pub->opt.display, ERROR, "%s: %s", what, line);
	report("error %s: %s", what, line);
	g_free(line);
	leave_room(pub, 0);
}

static void on_join_sent(void *owner, const egw_janus_reply_t *r)
{
	if (r->err)
		fail_publication(owner, "join", r->errmsg);
}

static void on_attached(void *owner, const egw_janus_reply_t *r)
{
	struct publisher *pub = owner;
	json_t *body;

	pub->attaching = 0;
	if (r->err) {
		report("error join: %s", r->errmsg);
		return;
	}
	pub->handle = r->id;
	body = json_pack("{s:s, s:I, s:s, s:s}", "request", "join", "room", (json_int_t)pub->opt.room,
			 "ptype", "publisher", "display", pub->opt.display);
	if (pub->opt.pin)
		json_object_set_new(body, "pin", json_string(pub->opt.pin));
	pub->join_sent_us = g_get_monotonic_time();
	egw_janus_message(pub->janus, pub->handle, body, NULL, on_join_sent, pub);
}

/* Attaches a fresh videoroom handle and asks to join as a publisher; the
 * "joined" event continues in on_joined(). */
static void join_room(struct publisher *pub)
{
	if (pub->handle || pub->attaching) {
		report("error join: already in the room");
		return;
	}
	pub->attaching = 1;
	egw_janus_attach(pub->janus, "janus.plugin.videoroom", on_attached, pub);
}

static void on_published(void *owner, const egw_janus_reply_t *r)
{
	if (r->err)
		fail_publication(owner, "publish", r->errmsg);
}

/* With a screen share, both video streams are described (Janus relays the
 * descriptions to subscribers; the worker knows a screen share by the word
 * "screen" in it). The first offer publishes, later ones (screen on/off)
 * renegotiate with "configure". */
static void on_offer(void *user, const char *sdp, const char *camera_mid, const char *screen_mid)
{
	struct publisher *pub = user;
	json_t *body = json_pack("{s:s}", "request", pub->published ? "configure" : "publish");
	char *munged = NULL;

	EGW_LOG(pub->opt.display, DEBUG, "offer:\n%s", sdp);
	if (pub->opt.screen && !screen_mid) {
		fail_publication(pub, "media", "no screen share m-line in the offer");
		json_decref(body);
		return;
	}
	if (screen_mid) {
		json_t *desc = json_array();
		if (camera_mid)
			json_array_append_new(desc, json_pack("{s:s, s:s}", "mid", camera_mid,
							      "description", "camera"));
		json_array_append_new(desc, json_pack("{s:s, s:s}", "mid", screen_mid,
						      "description", "screen"));
		json_object_set_new(body, "descriptions", desc);
		EGW_LOG(pub->opt.display, INFO, "camera mid %s, screen share mid %s",
			camera_mid ? camera_mid : "-", screen_mid);
		if (!pub->screen_mid)
			pub->screen_mid = g_strdup(screen_mid);
		if (atomic_load(&pub->ctl.screen_off))
			sdp = munged = pub_sdp_set_direction(sdp, screen_mid, "inactive");
	}
	pub->published = 1;
	egw_janus_message(pub->janus, pub->handle, body,
			  json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp), on_published, pub);
	g_free(munged);
}

static void on_candidate(void *user, const char *candidate, unsigned mline_index)
{
	struct publisher *pub = user;
	EGW_LOG(pub->opt.display, DEBUG, "local candidate %u: %s", mline_index, candidate);
	egw_janus_trickle(pub->janus, pub->handle, candidate, (int)mline_index, ignore_reply, pub);
}

static void on_gathering_done(void *user)
{
	struct publisher *pub = user;
	egw_janus_trickle(pub->janus, pub->handle, NULL, 0, ignore_reply, pub);
}

static void on_media_error(void *user, const char *message)
{
	fail_publication(user, "media", message);
}

static const struct pub_media_events media_events = {
	.offer = on_offer,
	.candidate = on_candidate,
	.gathering_done = on_gathering_done,
	.error = on_media_error,
};

/* In the room: build and start the pipeline; webrtcbin's offer continues
 * in on_offer(). */
static void on_joined(struct publisher *pub, json_t *data)
{
	json_t *id = json_object_get(data, "id");
	char errstr[256], *idtext = json_is_string(id) ? g_strdup(json_string_value(id))
						      : g_strdup_printf("%" JSON_INTEGER_FORMAT,
									json_integer_value(id));

	EGW_LOG(pub->opt.display, INFO, "joined room %" PRId64 " as %s after %.0f ms",
		pub->opt.room, idtext, since_join_ms(pub));
	report("joined %s", idtext);
	g_free(idtext);
	pub->media = pub_media_new(&pub->opt, &pub->ctl, &media_events, pub, errstr,
				   sizeof(errstr));
	if (!pub->media || pub_media_start(pub->media, errstr, sizeof(errstr)))
		fail_publication(pub, "media", errstr);
}

/* A videoroom event of the current handle. */
static void on_plugin_event(struct publisher *pub, json_t *ev)
{
	json_t *data = json_object_get(json_object_get(ev, "plugindata"), "data");
	json_t *jsep = json_object_get(ev, "jsep");
	const char *videoroom = json_string_value(json_object_get(data, "videoroom"));
	const char *sdp = json_string_value(json_object_get(jsep, "sdp"));
	const char *type = json_string_value(json_object_get(jsep, "type"));
	char errstr[256];

	if (json_object_get(data, "error_code")) {
		snprintf(errstr, sizeof(errstr), "%" JSON_INTEGER_FORMAT ": %s",
			 json_integer_value(json_object_get(data, "error_code")),
			 json_string_value(json_object_get(data, "error")) ?: "?");
		fail_publication(pub, "videoroom", errstr);
		return;
	}
	if (videoroom && !strcmp(videoroom, "joined")) {
		on_joined(pub, data);
		return;
	}
	if (sdp && type && !strcmp(type, "answer") && pub->media) {
		char *munged = NULL;
		EGW_LOG(pub->opt.display, DEBUG, "answer:\n%s", sdp);
		if (pub->screen_mid && atomic_load(&pub->ctl.screen_off))
			sdp = munged = pub_sdp_set_direction(sdp, pub->screen_mid, "recvonly");
		int rc = pub_media_set_answer(pub->media, sdp, errstr, sizeof(errstr));
		g_free(munged);
		if (rc) {
			fail_publication(pub, "answer", errstr);
		} else if (pub->screen_pending >= 0) {
			report("screen %s", pub->screen_pending ? "on" : "off");
			pub->screen_pending = -1;
		}
	}
}

static void on_janus_event(void *user, json_t *ev, const egw_janus_reply_t *error)
{
	struct publisher *pub = user;
	const char *kind, *type, *reason;
	json_int_t sender;

	if (!ev) {
		report("error poll: %s", error->errmsg);
		pub->exit_code = 1;
		g_main_loop_quit(pub->loop);
		return;
	}
	kind = json_string_value(json_object_get(ev, "janus"));
	sender = json_integer_value(json_object_get(ev, "sender"));
	type = json_string_value(json_object_get(ev, "type"));
	reason = json_string_value(json_object_get(ev, "reason"));
	if (!kind || !pub->handle || (uint64_t)sender != pub->handle)
		return; /* an event of a handle we already left */
	if (!strcmp(kind, "event")) {
		on_plugin_event(pub, ev);
	} else if (!strcmp(kind, "webrtcup")) {
		EGW_LOG(pub->opt.display, INFO, "webrtcup %.0f ms after join", since_join_ms(pub));
		report("webrtcup");
	} else if (!strcmp(kind, "media") && type) {
		int receiving = json_is_true(json_object_get(ev, "receiving"));
		EGW_LOG(pub->opt.display, INFO, "Janus %s receiving %s (%.0f ms after join)",
			receiving ? "is" : "stopped", type, since_join_ms(pub));
		if (receiving)
			report("media %s", type);
	} else if (!strcmp(kind, "hangup")) {
		fail_publication(pub, "hangup", reason ? reason : "?");
	} else if (!strcmp(kind, "slowlink")) {
		EGW_LOG(pub->opt.display, WARN, "slowlink reported by Janus");
	}
}

static void on_session(void *owner, const egw_janus_reply_t *r)
{
	struct publisher *pub = owner;
	if (r->err) {
		report("error session: %s", r->errmsg);
		pub->exit_code = 1;
		g_main_loop_quit(pub->loop);
		return;
	}
	egw_janus_listen(pub->janus, on_janus_event, pub);
	join_room(pub);
}

static void set_mute(struct publisher *pub, const char *kind, int muted)
{
	atomic_int *flag = !strcmp(kind, "audio")    ? &pub->ctl.audio_muted
			   : !strcmp(kind, "video")  ? &pub->ctl.video_muted
			   : !strcmp(kind, "screen") ? &pub->ctl.screen_muted
						     : NULL;
	if (!flag) {
		report("error %smute: expected audio, video or screen", muted ? "" : "un");
		return;
	}
	atomic_store(flag, muted);
	report("%s %s", muted ? "muted" : "unmuted", kind);
}

/* volume X: the tone's amplitude multiplier, 0 to 4 (see
 * egw_publish_pattern.c); applies to the next audio buffer. */
static void set_volume(struct publisher *pub, const char *arg)
{
	char *end;
	double v = g_ascii_strtod(arg, &end);

	if (!*arg || *end || !(v >= 0.0 && v <= MAX_VOLUME)) {
		report("error volume: expected a number from 0 to %g", MAX_VOLUME);
		return;
	}
	atomic_store(&pub->ctl.volume, v);
	report("volume %g", v);
}

/* screen on|off: the screen branch stops or resumes sending, and a
 * renegotiation tells Janus the stream is inactive or sendonly again (see
 * pub_sdp_set_direction()); "screen on|off" is reported once Janus
 * answered. */
static void set_screen(struct publisher *pub, const char *arg)
{
	int on = !strcmp(arg, "on");

	if (!on && strcmp(arg, "off")) {
		report("error screen: expected on or off");
		return;
	}
	if (!pub->opt.screen || !pub->media || !pub->screen_mid || pub->screen_pending >= 0) {
		report("error screen: %s", !pub->opt.screen ? "no --screen-color"
					   : pub->screen_pending >= 0 ? "a change is under way"
								     : "not published");
		return;
	}
	atomic_store(&pub->ctl.screen_off, !on);
	pub->screen_pending = on;
	pub_media_renegotiate(pub->media);
}

/* camera|mic on|off: the camera's or the audio's stream stops or resumes
 * sending, without telling Janus (a browser's track replaced by none, or
 * a device that stops delivering): its packets just stop, the other
 * stream goes on. */
static void set_device(const char *name, atomic_int *off, const char *arg)
{
	int on = !strcmp(arg, "on");

	if (!on && strcmp(arg, "off")) {
		report("error %s: expected on or off", name);
		return;
	}
	atomic_store(off, !on);
	report("%s %s", name, on ? "on" : "off");
}

static void quit_loop(void *user)
{
	struct publisher *pub = user;
	g_main_loop_quit(pub->loop);
}

/* Leaves the room, then destroys the session (bounded), then quits. */
static void quit(struct publisher *pub)
{
	if (pub->quitting)
		return;
	pub->quitting = 1;
	leave_room(pub, 1);
	egw_janus_goodbye(pub->janus, 2000, 1, quit_loop, pub);
	pub->janus = NULL;
}

static void run_command(struct publisher *pub, char *line)
{
	if (pub->quitting)
		return;
	char *arg = line + strcspn(line, " \t");
	if (*arg)
		*arg++ = '\0';
	arg = g_strstrip(arg);

	if (!strcmp(line, "leave")) {
		if (pub->handle)
			leave_room(pub, 1);
		else
			report("error leave: not in the room");
	} else if (!strcmp(line, "join")) {
		join_room(pub);
	} else if (!strcmp(line, "mute") || !strcmp(line, "unmute")) {
		set_mute(pub, arg, !strcmp(line, "mute"));
	} else if (!strcmp(line, "screen")) {
		set_screen(pub, arg);
	} else if (!strcmp(line, "camera")) {
		set_device("camera", &pub->ctl.camera_off, arg);
	} else if (!strcmp(line, "mic")) {
		set_device("mic", &pub->ctl.mic_off, arg);
	} else if (!strcmp(line, "volume")) {
		set_volume(pub, arg);
	} else if (!strcmp(line, "quit")) {
		quit(pub);
	} else if (*line) {
		report("error unknown command: %s", line);
	}
}

/* EOF on stdin is not a quit: the tool may run with stdin from /dev/null.
 * locality: main thread. */
static gboolean on_input(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	struct publisher *pub = data;
	gchar *line = NULL;
	GIOStatus st = g_io_channel_read_line(ch, &line, NULL, NULL, NULL);

	if (st == G_IO_STATUS_NORMAL && line) {
		run_command(pub, g_strstrip(line));
		g_free(line);
		return G_SOURCE_CONTINUE;
	}
	g_free(line);
	if (st == G_IO_STATUS_AGAIN)
		return G_SOURCE_CONTINUE;
	EGW_LOG(pub->opt.display, INFO, "stdin closed; still running until quit or a signal");
	pub->input_watch = 0;
	return G_SOURCE_REMOVE;
}

static gboolean on_signal(gpointer data)
{
	quit(data);
	return G_SOURCE_CONTINUE;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: egw-publish --janus URL --room ID --display NAME [--color RRGGBB]\n"
	        "       [--freq HZ] [--beep-hz HZ] [--video vp8|h264|none] [--audio "
	        "opus|pcmu|none]\n"
	        "       [--width W] [--height H] [--fps N] [--pin PIN]\n"
	        "       [--screen-color RRGGBB [--screen-size WxH] [--screen-fps N]] [--marks]\n"
	        "       [--mark-phase MS]\n"
	        "  --color, --freq     camera background (ff0000), tone (440 Hz, amplitude 0.25)\n"
	        "  --beep-hz           marker beep (3000 Hz): every 2 s a 100 ms white flash on\n"
	        "                      every video stream and this beep in place of the tone\n"
	        "  --mark-phase        the markers at running times MS + k * 2 s (0; a multiple\n"
	        "                      of the frame duration), so that publishers started\n"
	        "                      together do not beep together\n"
	        "  --screen-color      also publish a screen share: a second video stream of\n"
	        "                      this solid colour (with the flashes), same codec, "
	        "described\n"
	        "                      to Janus as \"screen\" (the camera as \"camera\");\n"
	        "                      --screen-size 960x540, --screen-fps 15 by default\n"
	        "  --marks             print \"mark <unix_us>\" as each camera flash leaves the\n"
	        "                      source (wall clock, for latency measurements)\n"
	        "stdin: leave | join | mute audio|video|screen | unmute audio|video|screen\n"
	        "       | screen on|off (stops/resumes the screen share: renegotiated, the\n"
	        "         stream inactive / sendonly for Janus)\n"
	        "       | camera on|off, mic on|off (stop/resume the camera's or the\n"
	        "         audio's packets, Janus not told)\n"
	        "       | volume X (tone x X, 0-4, default 1; the beep x min(X, 1)) | quit\n");
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_color(const char *arg, uint32_t *out)
{
	char *end;
	long v = strtol(arg, &end, 16);
	if (strlen(arg) != 6 || *end || v < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_size(const char *arg, int *w, int *h)
{
	char *end, *end2;
	long vw = strtol(arg, &end, 10), vh;

	if (end == arg || *end != 'x')
		return -1;
	vh = strtol(end + 1, &end2, 10);
	if (end2 == end + 1 || *end2 || vw < 16 || vw > 4096 || vh < 16 || vh > 4096)
		return -1;
	*w = (int)vw;
	*h = (int)vh;
	return 0;
}

static int parse_hz(const char *arg, double *out)
{
	char *end;
	*out = g_ascii_strtod(arg, &end);
	return !*arg || *end || !(*out >= 20 && *out <= 20000) ? -1 : 0;
}

static int parse_option(struct pub_options *opt, int c, const char *arg)
{
	long v;

	switch (c) {
	case 'j': opt->janus_url = arg; return 0;
	case 'd': opt->display = arg; return 0;
	case 'p': opt->pin = arg; return 0;
	case 'r': return parse_int(arg, 1, INT64_MAX, &v) ? -1 : (opt->room = v, 0);
	case 'W': return parse_int(arg, 16, 4096, &v) ? -1 : (opt->width = (int)v, 0);
	case 'H': return parse_int(arg, 16, 4096, &v) ? -1 : (opt->height = (int)v, 0);
	case 'F': return parse_int(arg, 1, 120, &v) ? -1 : (opt->fps = (int)v, 0);
	case 'c': return parse_color(arg, &opt->color);
	case 'f': return parse_hz(arg, &opt->freq);
	case 'b': return parse_hz(arg, &opt->beep_hz);
	case 's': return parse_color(arg, &opt->screen_color) ? -1 : (opt->screen = 1, 0);
	case 'S': return parse_size(arg, &opt->screen_width, &opt->screen_height);
	case 'R': return parse_int(arg, 1, 120, &v) ? -1 : (opt->screen_fps = (int)v, 0);
	case 'm': opt->marks = 1; return 0;
	case 'M': return parse_int(arg, 0, 1999, &v) ? -1 : (opt->mark_phase_ms = (int)v, 0);
	case 'v':
		if (strcmp(arg, "vp8") && strcmp(arg, "h264") && strcmp(arg, "none"))
			return -1;
		opt->video = strcmp(arg, "none") ? arg : NULL;
		return 0;
	case 'a':
		if (strcmp(arg, "opus") && strcmp(arg, "pcmu") && strcmp(arg, "none"))
			return -1;
		opt->audio = strcmp(arg, "none") ? arg : NULL;
		return 0;
	}
	return -1;
}

static int parse_args(int argc, char **argv, struct pub_options *opt)
{
	static const struct option longopts[] = {
		{"janus", required_argument, NULL, 'j'}, {"room", required_argument, NULL, 'r'},
		{"display", required_argument, NULL, 'd'}, {"color", required_argument, NULL, 'c'},
		{"freq", required_argument, NULL, 'f'}, {"video", required_argument, NULL, 'v'},
		{"audio", required_argument, NULL, 'a'}, {"width", required_argument, NULL, 'W'},
		{"height", required_argument, NULL, 'H'}, {"fps", required_argument, NULL, 'F'},
		{"pin", required_argument, NULL, 'p'}, {"beep-hz", required_argument, NULL, 'b'},
		{"screen-color", required_argument, NULL, 's'},
		{"screen-size", required_argument, NULL, 'S'},
		{"screen-fps", required_argument, NULL, 'R'}, {"marks", no_argument, NULL, 'm'},
		{"mark-phase", required_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	int c, idx = 0;

	*opt = (struct pub_options){.color = 0xff0000, .freq = 440, .beep_hz = 3000,
				    .video = "vp8", .audio = "opus", .width = 640, .height = 360,
				    .fps = 30, .screen_width = 960, .screen_height = 540,
				    .screen_fps = 15};
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		if (c == '?')
			return -1;
		if (parse_option(opt, c, optarg)) {
			fprintf(stderr, "egw-publish: bad value for --%s: %s\n", longopts[idx].name,
				optarg);
			return -1;
		}
	}
	if (optind != argc || !opt->janus_url || !opt->room || !opt->display ||
	    (!opt->video && !opt->audio))
		return -1;
	if (opt->screen && !opt->video) {
		fprintf(stderr, "egw-publish: --screen-color needs a video codec\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct publisher pub = {0};

	gst_init(&argc, &argv);
	egw_log_init();
	atomic_init(&pub.ctl.volume, 1.0);
	pub.screen_pending = -1;
	if (parse_args(argc, argv, &pub.opt)) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pub.loop = g_main_loop_new(NULL, FALSE);
	pub.http = egw_http_new(NULL);
	pub.janus = egw_janus_new(pub.http, pub.opt.janus_url, REQUEST_TIMEOUT_MS, pub.opt.display);
	if (!pub.janus) {
		report("error session: bad Janus URL");
		return 1;
	}
	pub.input = g_io_channel_unix_new(0);
	pub.input_watch = g_io_add_watch(pub.input, G_IO_IN | G_IO_HUP | G_IO_ERR, on_input, &pub);
	g_unix_signal_add(SIGINT, on_signal, &pub);
	g_unix_signal_add(SIGTERM, on_signal, &pub);

	egw_janus_create(pub.janus, on_session, &pub);
	g_main_loop_run(pub.loop);

	if (pub.input_watch)
		g_source_remove(pub.input_watch);
	pub_media_free(pub.media);
	if (pub.janus) { /* ended without quit (session lost) */
		egw_janus_free(pub.janus);
		egw_http_free(pub.http);
	}
	g_free(pub.screen_mid);
	g_io_channel_unref(pub.input);
	g_main_loop_unref(pub.loop);
	gst_deinit(); /* its pooled threads end before the process does */
	return pub.exit_code;
}
