/* egw-publish: a synthetic WebRTC publisher for the tests.
 *
 * Joins a Janus VideoRoom as a publisher and sends a fixed test pattern
 * (see egw_publish_media.c). Commands on stdin, one per line: leave, join,
 * mute audio|video, unmute audio|video, quit. Reports on stdout, one line
 * each: joined <id>, webrtcup, media audio|video, left, muted <kind>,
 * unmuted <kind>, error <message>. Logs go to stderr.
 *
 * Threads: the main thread runs the GLib main loop and owns all state; a
 * poll thread long-polls Janus and hands each batch of events to the main
 * loop. Every publication (join .. leave) has its own videoroom handle and
 * pipeline, so events of an old handle are simply ignored. */
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

#include "sfu/janus_api.h"
#include "base/log.h"

#define REQUEST_TIMEOUT_MS 5000
#define POLL_FAILURES_MAX 3

struct publisher {
	struct pub_options opt;
	struct pub_mute mute;
	egw_janus_t *janus;
	GMainLoop *loop;
	GThread *poll_thread;
	uint64_t handle;         /* videoroom handle of the publication, 0: none */
	struct pub_media *media; /* its pipeline, once joined */
	gint64 join_sent_us;     /* monotonic time the join was sent */
	int quitting;
	int exit_code;
	GIOChannel *input;
	guint input_watch;
};

/* A batch of events (or a poll failure) for the main thread. */
struct delivery {
	struct publisher *pub;
	json_t *events;
	char *failure;
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

/* Ends the publication: leave the room, stop the pipeline, detach.
 * locality: main thread. */
static void leave_room(struct publisher *pub, int say_left)
{
	char errstr[256];
	json_t *body;

	if (!pub->handle)
		return;
	body = json_pack("{s:s}", "request", "leave");
	if (egw_janus_message(pub->janus, pub->handle, body, NULL, NULL, errstr, sizeof(errstr)))
		EGW_LOG(pub->opt.display, WARN, "leave: %s", errstr);
	json_decref(body);
	pub_media_free(pub->media);
	pub->media = NULL;
	egw_janus_detach(pub->janus, pub->handle);
	pub->handle = 0;
	if (say_left)
		report("left");
}

/* Reports a failure of the publication and ends it. locality: main thread. */
static void fail_publication(struct publisher *pub, const char *what, const char *message)
{
	char *line = g_strdelimit(g_strdup(message), "\r\n", ' '); /* one line per report */

	EGW_LOG(pub->opt.display, ERROR, "%s: %s", what, line);
	report("error %s: %s", what, line);
	g_free(line);
	leave_room(pub, 0);
}

/* Attaches a fresh videoroom handle and asks to join as a publisher; the
 * "joined" event continues in on_joined(). locality: main thread. */
static void join_room(struct publisher *pub)
{
	char errstr[256];
	json_t *body = NULL;
	egw_err_t err;

	if (pub->handle) {
		report("error join: already in the room");
		return;
	}
	err = egw_janus_attach(pub->janus, "janus.plugin.videoroom", &pub->handle, errstr,
			       sizeof(errstr));
	if (err != EGW_OK) {
		pub->handle = 0;
		report("error join: %s", errstr);
		return;
	}
	body = json_pack("{s:s, s:I, s:s, s:s}", "request", "join", "room", (json_int_t)pub->opt.room,
			 "ptype", "publisher", "display", pub->opt.display);
	pub->join_sent_us = g_get_monotonic_time();
	err = egw_janus_message(pub->janus, pub->handle, body, NULL, NULL, errstr, sizeof(errstr));
	json_decref(body);
	if (err != EGW_OK)
		fail_publication(pub, "join", errstr);
}

static void on_offer(void *user, const char *sdp)
{
	struct publisher *pub = user;
	json_t *body = json_pack("{s:s}", "request", "publish");
	json_t *jsep = json_pack("{s:s, s:s}", "type", "offer", "sdp", sdp);
	char errstr[256];

	EGW_LOG(pub->opt.display, DEBUG, "offer:\n%s", sdp);
	if (egw_janus_message(pub->janus, pub->handle, body, jsep, NULL, errstr, sizeof(errstr)))
		fail_publication(pub, "publish", errstr);
	json_decref(body);
	json_decref(jsep);
}

static void on_candidate(void *user, const char *candidate, unsigned mline_index)
{
	struct publisher *pub = user;
	EGW_LOG(pub->opt.display, DEBUG, "local candidate %u: %s", mline_index, candidate);
	egw_janus_trickle(pub->janus, pub->handle, candidate, NULL, (int)mline_index);
}

static void on_gathering_done(void *user)
{
	struct publisher *pub = user;
	egw_janus_trickle(pub->janus, pub->handle, NULL, NULL, 0);
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
 * in on_offer(). locality: main thread. */
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
	pub->media = pub_media_new(&pub->opt, &pub->mute, &media_events, pub, errstr,
				   sizeof(errstr));
	if (!pub->media || pub_media_start(pub->media, errstr, sizeof(errstr)))
		fail_publication(pub, "media", errstr);
}

/* A videoroom event of the current handle. locality: main thread. */
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
		EGW_LOG(pub->opt.display, DEBUG, "answer:\n%s", sdp);
		if (pub_media_set_answer(pub->media, sdp, errstr, sizeof(errstr)))
			fail_publication(pub, "answer", errstr);
	}
}

/* locality: main thread. */
static void on_janus_event(struct publisher *pub, json_t *ev)
{
	const char *kind = json_string_value(json_object_get(ev, "janus"));
	json_int_t sender = json_integer_value(json_object_get(ev, "sender"));
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *reason = json_string_value(json_object_get(ev, "reason"));

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

static gboolean deliver(gpointer data)
{
	struct delivery *d = data;
	struct publisher *pub = d->pub;
	size_t i;
	json_t *ev;

	if (pub->quitting)
		return G_SOURCE_REMOVE;
	if (d->failure) {
		report("error %s", d->failure); /* "poll: ..." */
		pub->exit_code = 1;
		g_main_loop_quit(pub->loop);
		return G_SOURCE_REMOVE;
	}
	json_array_foreach(d->events, i, ev)
		on_janus_event(pub, ev);
	return G_SOURCE_REMOVE;
}

static void free_delivery(gpointer data)
{
	struct delivery *d = data;
	json_decref(d->events);
	g_free(d->failure);
	g_free(d);
}

/* locality: poll thread; touches only pub->janus (thread-safe). */
static gpointer poll_events(gpointer data)
{
	struct publisher *pub = data;
	char errstr[256];
	int failures = 0;

	for (;;) {
		struct delivery *d = g_new0(struct delivery, 1);
		egw_err_t err = egw_janus_poll(pub->janus, 10, &d->events, errstr, sizeof(errstr));
		d->pub = pub;
		if (err == EGW_ERR_TIMEOUT) { /* interrupted: we are quitting */
			free_delivery(d);
			break;
		}
		if (err != EGW_OK && ++failures < POLL_FAILURES_MAX) {
			EGW_LOG(pub->opt.display, WARN, "%s", errstr);
			free_delivery(d);
			g_usleep(500 * 1000);
			continue;
		}
		if (err != EGW_OK)
			d->failure = g_strdup(errstr);
		else
			failures = 0;
		g_idle_add_full(G_PRIORITY_DEFAULT, deliver, d, free_delivery);
		if (err != EGW_OK)
			break;
	}
	return NULL;
}

static void set_mute(struct publisher *pub, const char *kind, int muted)
{
	atomic_int *flag = !strcmp(kind, "audio") ? &pub->mute.audio
			   : !strcmp(kind, "video") ? &pub->mute.video
						    : NULL;
	if (!flag) {
		report("error %smute: expected audio or video", muted ? "" : "un");
		return;
	}
	atomic_store(flag, muted);
	report("%s %s", muted ? "muted" : "unmuted", kind);
}

static void quit(struct publisher *pub)
{
	leave_room(pub, 1);
	g_main_loop_quit(pub->loop);
}

static void run_command(struct publisher *pub, char *line)
{
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
		"       [--freq HZ] [--video vp8|h264|none] [--audio opus|none]\n"
		"       [--width W] [--height H] [--fps N]\n"
		"stdin: leave | join | mute audio|video | unmute audio|video | quit\n");
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

static int parse_option(struct pub_options *opt, int c, const char *arg)
{
	long v;
	char *end;

	switch (c) {
	case 'j': opt->janus_url = arg; return 0;
	case 'd': opt->display = arg; return 0;
	case 'r': return parse_int(arg, 1, INT64_MAX, &v) ? -1 : (opt->room = v, 0);
	case 'W': return parse_int(arg, 16, 4096, &v) ? -1 : (opt->width = (int)v, 0);
	case 'H': return parse_int(arg, 16, 4096, &v) ? -1 : (opt->height = (int)v, 0);
	case 'F': return parse_int(arg, 1, 120, &v) ? -1 : (opt->fps = (int)v, 0);
	case 'c':
		v = strtol(arg, &end, 16);
		if (strlen(arg) != 6 || *end || v < 0)
			return -1;
		opt->color = (uint32_t)v;
		return 0;
	case 'f':
		opt->freq = strtod(arg, &end);
		return *end || opt->freq < 20 || opt->freq > 20000 ? -1 : 0;
	case 'v':
		if (strcmp(arg, "vp8") && strcmp(arg, "h264") && strcmp(arg, "none"))
			return -1;
		opt->video = strcmp(arg, "none") ? arg : NULL;
		return 0;
	case 'a':
		if (strcmp(arg, "opus") && strcmp(arg, "none"))
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
		{NULL, 0, NULL, 0},
	};
	int c, idx = 0;

	*opt = (struct pub_options){.color = 0xff0000, .freq = 440, .video = "vp8",
				    .audio = "opus", .width = 640, .height = 360, .fps = 30};
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
	return 0;
}

int main(int argc, char **argv)
{
	struct publisher pub = {0};
	char errstr[256];
	egw_err_t err;

	gst_init(&argc, &argv);
	egw_log_init();
	if (parse_args(argc, argv, &pub.opt)) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pub.janus = egw_janus_session_create(pub.opt.janus_url, REQUEST_TIMEOUT_MS, &err, errstr,
					     sizeof(errstr));
	if (!pub.janus) {
		report("error session: %s", errstr);
		return 1;
	}
	pub.loop = g_main_loop_new(NULL, FALSE);
	pub.poll_thread = g_thread_new("janus-poll", poll_events, &pub);
	pub.input = g_io_channel_unix_new(0);
	pub.input_watch = g_io_add_watch(pub.input, G_IO_IN | G_IO_HUP | G_IO_ERR, on_input, &pub);
	g_unix_signal_add(SIGINT, on_signal, &pub);
	g_unix_signal_add(SIGTERM, on_signal, &pub);

	join_room(&pub);
	g_main_loop_run(pub.loop);

	pub.quitting = 1;
	if (pub.input_watch)
		g_source_remove(pub.input_watch);
	leave_room(&pub, 0);
	egw_janus_interrupt(pub.janus);
	g_thread_join(pub.poll_thread);
	while (g_main_context_iteration(NULL, FALSE))
		; /* run the queued deliveries' destructors */
	g_io_channel_unref(pub.input);
	egw_janus_session_destroy(pub.janus);
	g_main_loop_unref(pub.loop);
	return pub.exit_code;
}
