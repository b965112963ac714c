/* egress: the egress worker's command line. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "base/log.h"
#include "job/deliver.h"
#include "job/runner.h"
#include "worker/broker.h"
#include "worker/config.h"
#include "worker/dashboard.h"
#include "worker/ops.h"
#include "worker/worker.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_flag;

#define URLS_MAX 10 /* update: --add-url, --remove-url (the contract's limit) */

/* What each command accepts: option letters (c config, d duration,
 * l lifeline, r reason, L layout, A add-url, X remove-url, t timeout,
 * a all, H listen) and how many arguments (-1: zero or one). */
static const struct command {
	const char *name, *options;
	int args;
} commands[] = {
        {"worker", "c", 0}, {"run", "cdlS", 1},       {"upload", "cl", 1},   {"broker", "c", 0},
        {"submit", "c", 1}, {"stop", "cr", 1},        {"update", "cLAX", 1}, {"watch", "ct", -1},
        {"list", "ca", 0},  {"dashboard", "cH", 0},   {"config-doc", "", 0}, {"version", "", 0},
        {"help", "", 0},    {"render", "cLoPFTs", 1},
};

struct cli {
	const struct command *cmd;
	const char *config_path, *job_path; /* job_path: the argument (a file or an id) */
	double duration, timeout;
	int lifeline, help, all;
	const char *reason, *layout, *listen;
	const char *output, *preset; /* render */
	int width, height;           /* render: --size */
	double from, to;             /* render: trim, -1 when not given */
	const char *add[URLS_MAX], *remove[URLS_MAX];
	size_t n_add, n_remove;
};

/* 1 at the first signal, 2 from the second on (the worker's drain ends). */
static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = stop_flag ? 2 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: egress COMMAND [OPTIONS]\n\n"
	        "commands:\n"
	        "  worker [--config FILE]       run the service: take start jobs from Kafka,\n"
	        "                               stop/update requests from the control topic,\n"
	        "                               report on the status topic. Needs kafka_brokers\n"
	        "                               (EGRESS_KAFKA_BROKERS): host:port,... or\n"
	        "                               'embedded' for a local test broker\n"
	        "  run JOB.json [--duration S] [--config FILE]\n"
	        "                               run one start request without Kafka until\n"
	        "                               SIGINT/SIGTERM or S seconds of media (S > 0,\n"
	        "                               counted from the first media written); status\n"
	        "                               events are JSON lines on stdout (JOB.json '-' =\n"
	        "                               stdin)\n"
	        "  upload EGRESS_ID [--config FILE]\n"
	        "                               finish the uploads an egress left in the spool\n"
	        "                               (spool_dir): status events as for run (the\n"
	        "                               worker does this itself when it starts)\n"
	        "  render MANIFEST [--layout L] [--output FILE] [--preset P | --size WxH]\n"
	        "         [--from S] [--to S]\n"
	        "                               composite a recording's tracks (its manifest,\n"
	        "                               docs/manifest.md) as fast as the machine goes:\n"
	        "                               layout grid (default), speaker, screenshare,\n"
	        "                               single-speaker or custom JSON; FILE .mp4, .mkv,\n"
	        "                               .webm or .m3u8 (HLS), default beside the\n"
	        "                               manifest; --from/--to trim (seconds); progress\n"
	        "                               on stderr, status events on stdout\n"
	        "  run - --lifeline             how the worker runs a job: the request is the\n"
	        "                               first line of stdin, control requests follow;\n"
	        "                               end of stdin (the worker gone) stops the job;\n"
	        "                               --spare: warm up first, then wait for it\n"
	        "  broker [--config FILE]       a standalone local Kafka broker; prints\n"
	        "                               'bootstrap: HOST:PORT' first. For tests, reads\n"
	        "                               'down' / 'up' lines on stdin (broker outage),\n"
	        "                               answering 'ok down' / 'ok up' on stdout\n"
	        "operator commands (over Kafka, with the worker's configuration):\n"
	        "  submit JOB.json              validate a start request as a worker would and\n"
	        "                               produce it to the jobs topic ('-' = stdin)\n"
	        "  stop EGRESS_ID [--reason TEXT]\n"
	        "                               ask the egress's worker to stop it\n"
	        "  update EGRESS_ID --layout LAYOUT | --add-url URL... --remove-url URL...\n"
	        "                               change a composite's layout (a name or JSON), or\n"
	        "                               add and remove stream destinations\n"
	        "  watch [EGRESS_ID] [--timeout S]\n"
	        "                               status events as JSON lines, from the start of\n"
	        "                               the status topic; with an id, until its end:\n"
	        "                               exit 0 complete, 1 failed, 3 aborted\n"
	        "  list [--all]                 egresses the status topic shows running (--all:\n"
	        "                               every one)\n"
	        "  dashboard [--listen HOST:PORT]\n"
	        "                               a web page of the fleet's egresses, live from\n"
	        "                               the status topic (default 127.0.0.1:8089)\n"
	        "  config-doc                   print the configuration reference (Markdown)\n"
	        "  version                      print the version (also --version)\n"
	        "  help                         this text\n\n"
	        "environment: EGRESS_<SETTING> (e.g. EGRESS_KAFKA_BROKERS, EGRESS_LOG_LEVEL),\n"
	        "             EGRESS_KAFKA_<PROPERTY> for librdkafka; other EGRESS_ variables\n"
	        "             are errors\n"
	        "docs: docs/jobs.md (job contract), docs/configuration.md (settings)\n");
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static const struct command *find_command(const char *name)
{
	if (!strcmp(name, "--version"))
		name = "version";
	else if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		name = "help";
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* --duration: seconds, a number greater than 0. */
static int parse_duration(const char *text, double *out)
{
	char *end;
	double d = strtod(text, &end);
	if (end == text || *end || !isfinite(d) || d <= 0)
		return -1;
	*out = d;
	return 0;
}

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "egress %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'egress help')\n");
	return EXIT_USAGE;
}

static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"duration", required_argument, NULL, 'd'},
        {"lifeline", no_argument, NULL, 'l'},      {"spare", no_argument, NULL, 'S'},
        {"reason", required_argument, NULL, 'r'},  {"layout", required_argument, NULL, 'L'},
        {"add-url", required_argument, NULL, 'A'}, {"remove-url", required_argument, NULL, 'X'},
        {"timeout", required_argument, NULL, 't'}, {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},          {"listen", required_argument, NULL, 'H'},
        {"output", required_argument, NULL, 'o'},  {"preset", required_argument, NULL, 'P'},
        {"from", required_argument, NULL, 'F'},    {"to", required_argument, NULL, 'T'},
        {"size", required_argument, NULL, 's'},    {NULL, 0, NULL, 0},
};

static const char *long_name(int opt)
{
	for (const struct option *o = opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* One option's value into cli; 0, or the exit status. */
static int take_option(struct cli *cli, int opt, const char *arg)
{
	const char *name = cli->cmd->name;
	switch (opt) {
	case 'c':
		cli->config_path = arg;
		break;
	case 'd':
	case 't':
		if (parse_duration(arg, opt == 'd' ? &cli->duration : &cli->timeout))
			return usage_error(name, "--%s must be a number of seconds greater than 0, "
			                   "not '%s'", long_name(opt), arg);
		break;
	case 'l':
		cli->lifeline = cli->lifeline ? cli->lifeline : 1;
		break;
	case 'S': /* the worker's spare job processes (job/runner.h) */
		cli->lifeline = EGW_RUNNER_SPARE;
		break;
	case 'a':
		cli->all = 1;
		break;
	case 'H':
		cli->listen = arg;
		break;
	case 'r':
		cli->reason = arg;
		break;
	case 'L':
		cli->layout = arg;
		break;
	case 'o':
		cli->output = arg;
		break;
	case 's': {
		char x;
		if (sscanf(arg, "%d%c%d", &cli->width, &x, &cli->height) != 3 || x != 'x' ||
		    cli->width < 16 || cli->height < 16 || cli->width > 7680 ||
		    cli->height > 4320 || cli->width % 2 || cli->height % 2)
			return usage_error(name,
			                   "--size must be WIDTHxHEIGHT (even, 16x16 to "
			                   "7680x4320), not '%s'",
			                   arg);
		break;
	}
	case 'P':
		cli->preset = arg;
		break;
	case 'F':
	case 'T': {
		char *end;
		double v = strtod(arg, &end);
		if (end == arg || *end || !isfinite(v) || v < 0)
			return usage_error(name,
			                   "--%s must be a number of seconds, at least 0, not '%s'",
			                   long_name(opt), arg);
		*(opt == 'F' ? &cli->from : &cli->to) = v;
		break;
	}
	case 'A':
	case 'X':
		if ((opt == 'A' ? cli->n_add : cli->n_remove) == URLS_MAX)
			return usage_error(name, "at most %d --%s", URLS_MAX, long_name(opt));
		if (opt == 'A')
			cli->add[cli->n_add++] = arg;
		else
			cli->remove[cli->n_remove++] = arg;
		break;
	}
	return 0;
}

/* Options and arguments after the command; 0, or the exit status. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
	const char *name = cli->cmd->name;
	int opt, ret, want = cli->cmd->args;

	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:d:lSr:L:A:X:t:aH:ho:P:F:T:s:", opts, NULL)) !=
	       -1) {
		if (opt == '?')
			return usage_error(name, "unknown option '%s'", argv[optind - 1]);
		if (opt == ':')
			return usage_error(name, "option '%s' needs a value", argv[optind - 1]);
		if (opt == 'h') {
			cli->help = 1;
			continue;
		}
		if (!strchr(cli->cmd->options, opt))
			return usage_error(name, "--%s is not an option of %s", long_name(opt), name);
		if ((ret = take_option(cli, opt, optarg)))
			return ret;
	}
	if (cli->help)
		return 0;
	if (argc - optind > (want < 0 ? 1 : want))
		return usage_error(name, "unexpected argument '%s'",
		                   argv[optind + (want < 0 ? 1 : want)]);
	if (argc - optind < want)
		return usage_error(name, !strcmp(name, "run") || !strcmp(name, "submit")
		                                 ? "missing JOB.json (or - for stdin)"
		                         : !strcmp(name, "render") ? "missing MANIFEST"
		                                                   : "missing EGRESS_ID");
	cli->job_path = argc > optind ? argv[optind] : NULL;
	if (cli->lifeline && !strcmp(name, "run") && strcmp(cli->job_path, "-"))
		return usage_error(name, "--lifeline needs the request on stdin (JOB.json -)");
	return 0;
}

static int cmd_broker(const egw_config_t *cfg)
{
	char errstr[512];
	egw_broker_t *b = egw_broker_start(cfg, errstr, sizeof(errstr));
	if (!b) {
		EGW_LOG(NULL, ERROR, "broker: %s", errstr);
		return 1;
	}
	printf("bootstrap: %s\n", egw_broker_bootstraps(b));
	fflush(stdout);
	EGW_LOG(NULL, INFO, "local Kafka broker on %s (topics %s, %s, %s, %s); Ctrl-C stops it",
	        egw_broker_bootstraps(b), cfg->jobs_topic, cfg->control_topic, cfg->status_topic,
	        cfg->deadletter_topic);
	egw_broker_serve(b, &stop_flag);
	egw_broker_stop(b);
	return 0;
}

/* Decides the brokers: the configured ones, or the embedded broker when
 * kafka_brokers is "embedded" (it then becomes the bootstrap address). */
static int cmd_worker(egw_config_t *cfg, const char *config_path)
{
	char errstr[512], *bootstraps;
	egw_broker_t *broker = NULL;
	int ret;

	if (!cfg->kafka_brokers[0]) {
		EGW_LOG(NULL, ERROR,
		        "no Kafka brokers configured: set kafka_brokers or "
		        "EGRESS_KAFKA_BROKERS, or `embedded` for a local test broker");
		return EXIT_USAGE;
	}
	if (!strcmp(cfg->kafka_brokers, EGW_CONFIG_EMBEDDED_BROKER)) {
		if (!(broker = egw_broker_start(cfg, errstr, sizeof(errstr)))) {
			EGW_LOG(NULL, ERROR, "embedded broker: %s", errstr);
			return 1;
		}
		if (!(bootstraps = strdup(egw_broker_bootstraps(broker)))) {
			egw_broker_stop(broker);
			return 1;
		}
		free(cfg->kafka_brokers);
		cfg->kafka_brokers = bootstraps;
		printf("bootstrap: %s\n", bootstraps);
		fflush(stdout);
		EGW_LOG(NULL, WARN,
		        "Kafka: the embedded broker on %s (kafka_brokers=embedded): "
		        "for tests and demos only, nothing is persisted",
		        bootstraps);
	} else {
		EGW_LOG(NULL, INFO, "Kafka brokers: %s", cfg->kafka_brokers);
	}
	ret = egw_worker_run(cfg, config_path, &stop_flag);
	egw_broker_stop(broker);
	return ret;
}

static void job_settings(const egw_config_t *cfg, egw_job_settings_t *out)
{
	*out = (egw_job_settings_t){
	        .worker_id = cfg->worker_id,
	        .storage_dir = cfg->storage_dir,
	        .storage_roots = (const char *const *)cfg->storage_roots,
	        .n_storage_roots = cfg->n_storage_roots,
	        .spool_dir = cfg->spool_dir,
	        .upload_part_size_kb = cfg->upload_part_size_kb,
	        .upload_parallel = cfg->upload_parallel,
	        .upload_retry_window_s = cfg->upload_retry_window_s,
	        .max_duration_s = cfg->max_duration_s,
	        .empty_room_timeout_s = cfg->empty_room_timeout_s,
	        .sfu_timeout_ms = cfg->sfu_timeout_ms,
	        .stop_grace_s = cfg->stop_grace_s,
	        .tls_ca_file = cfg->tls_ca_file,
	};
}

static int cmd_run(const egw_config_t *cfg, const struct cli *cli)
{
	egw_job_settings_t js;
	job_settings(cfg, &js);
	if (!strcmp(cli->cmd->name, "upload"))
		return egw_delivery_resume_main(&js, cli->job_path, cli->lifeline);
	return egw_runner_main(&js, cli->job_path, cli->duration, cli->lifeline);
}

/* `egress render MANIFEST`: a render request made from the options, run
 * as `egress run` runs one, writing into the output's directory. */
static int cmd_render(const egw_config_t *cfg, const struct cli *cli)
{
	char *manifest = g_canonicalize_filename(cli->job_path, NULL), *dir, *base, *out,
	     *tmp = NULL;
	const char *fmt, *roots[1];
	json_t *src, *job, *output;
	egw_job_settings_t js;
	char id[64];
	int fd, ret;

	if (cli->output) {
		out = g_canonicalize_filename(cli->output, NULL);
	} else { /* beside the manifest: NAME.manifest.json -> NAME.render.mp4 */
		char *stem = g_strdup(manifest), *dot = strstr(stem, ".manifest.json");
		if (dot)
			*dot = '\0';
		out = g_strdup_printf("%s.render.mp4", stem);
		g_free(stem);
	}
	dir = g_path_get_dirname(out);
	base = g_path_get_basename(out);
	fmt = g_str_has_suffix(base, ".mkv")    ? "mkv"
	      : g_str_has_suffix(base, ".webm") ? "webm"
	      : g_str_has_suffix(base, ".m3u8") ? "hls"
	      : g_str_has_suffix(base, ".mp4")  ? "mp4"
	                                        : NULL;
	if (!fmt) {
		ret = usage_error("render",
		                  "--output must end in .mp4, .mkv, .webm or .m3u8 (HLS)");
		goto out;
	}
	snprintf(id, sizeof(id), "render_%" G_GINT64_FORMAT "_%d", g_get_real_time() / 1000000,
	         (int)getpid());
	src = json_pack("{s:s, s:s}", "kind", "render", "manifest", manifest);
	if (cli->layout)
		json_object_set_new(src, "layout", json_string(cli->layout));
	if (cli->from > 0)
		json_object_set_new(src, "trim_start_s", json_real(cli->from));
	if (cli->to > 0)
		json_object_set_new(src, "trim_end_s", json_real(cli->to));
	if (!strcmp(fmt, "hls")) {
		base[strlen(base) - 5] = '\0';
		output = json_pack("{s:s, s:s}", "kind", "segments", "prefix", base);
	} else {
		output = json_pack("{s:s, s:s, s:s}", "kind", "file", "format", fmt, "path", base);
	}
	job = json_pack("{s:s, s:s, s:o, s:[o], s:{s:s, s:s}}", "type", "start", "egress_id", id,
	                "source", src, "outputs", output, "storage", "kind", "local", "dir", dir);
	if (cli->preset && cli->width) {
		ret = usage_error("render", "--preset and --size do not go together");
		json_decref(job);
		goto out;
	}
	if (cli->preset)
		json_object_set_new(job, "encoding", json_pack("{s:s}", "preset", cli->preset));
	else if (cli->width)
		json_object_set_new(
		        job, "encoding",
		        json_pack("{s:i, s:i}", "width", cli->width, "height", cli->height));
	if ((fd = g_file_open_tmp("egress-render-XXXXXX.json", &tmp, NULL)) < 0 ||
	    json_dumpfd(job, fd, JSON_COMPACT) || close(fd)) {
		fprintf(stderr, "egress render: cannot write the request to a temporary file\n");
		json_decref(job);
		ret = 1;
		goto out;
	}
	json_decref(job);
	job_settings(cfg, &js);
	roots[0] = dir; /* the output's directory, as asked */
	js.storage_dir = dir;
	js.storage_roots = roots;
	js.n_storage_roots = 1;
	ret = egw_runner_main(&js, tmp, 0, 0);
	if (ret == 0)
		fprintf(stderr, "egress render: wrote %s\n", out);
out:
	if (tmp) {
		unlink(tmp);
		g_free(tmp);
	}
	g_free(manifest);
	g_free(out);
	g_free(dir);
	g_free(base);
	return ret;
}

static int cmd_ops(const egw_config_t *cfg, const struct cli *cli)
{
	const char *name = cli->cmd->name;
	if (!strcmp(name, "submit"))
		return egw_ops_submit(cfg, cli->job_path);
	if (!strcmp(name, "stop"))
		return egw_ops_stop(cfg, cli->job_path, cli->reason);
	if (!strcmp(name, "update")) {
		egw_ops_update_t u = {.layout = cli->layout,
		                      .add_urls = cli->add,
		                      .remove_urls = cli->remove,
		                      .n_add = cli->n_add,
		                      .n_remove = cli->n_remove};
		return egw_ops_update(cfg, cli->job_path, &u);
	}
	if (!strcmp(name, "watch"))
		return egw_ops_watch(cfg, cli->job_path, cli->timeout, &stop_flag);
	if (!strcmp(name, "dashboard"))
		return egw_dashboard_run(cfg, cli->listen ? cli->listen : EGW_DASHBOARD_LISTEN,
		                         &stop_flag);
	return egw_ops_list(cfg, cli->all);
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	egw_config_t *cfg = NULL;
	char errstr[512];
	int ret;

	egw_log_init();
	cli.cmd = find_command(argc > 1 ? argv[1] : "help");
	if (!cli.cmd) {
		fprintf(stderr, "egress: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((ret = parse_args(argc, argv, &cli)))
		return ret;
	if (cli.help || !strcmp(cli.cmd->name, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cli.cmd->name, "version")) {
		printf("egress %s\n", EGW_VERSION);
		return 0;
	}
	if (!strcmp(cli.cmd->name, "config-doc")) {
		egw_config_write_doc(stdout);
		return 0;
	}
	if (egw_config_load(cli.config_path, &cfg, errstr, sizeof(errstr))) {
		fprintf(stderr, "egress: configuration: %s\n", errstr);
		return EXIT_USAGE;
	}
	egw_log_configure(cfg->log_level, cfg->log_format == 1); /* validated */
	if (!strcmp(cli.cmd->name, "worker")) {
		install_signals();
		ret = cmd_worker(cfg, cli.config_path);
	} else if (!strcmp(cli.cmd->name, "run") || !strcmp(cli.cmd->name, "upload")) {
		ret = cmd_run(cfg, &cli);
	} else if (!strcmp(cli.cmd->name, "render")) {
		ret = cmd_render(cfg, &cli);
	} else if (strcmp(cli.cmd->name, "broker")) {
		install_signals();
		ret = cmd_ops(cfg, &cli);
	} else {
		install_signals();
		ret = cmd_broker(cfg);
	}
	egw_config_free(cfg);
	return ret;
}
