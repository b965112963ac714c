/* egress: the egress worker's command line. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "job/deliver.h"
#include "job/runner.h"
#include "worker/broker.h"
#include "worker/config.h"
#include "worker/worker.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_flag;

/* What each command accepts: option letters (c config, d duration,
 * l lifeline) and how many arguments. */
static const struct command {
	const char *name, *options;
	int args;
} commands[] = {
        {"worker", "c", 0},    {"run", "cdl", 1},  {"upload", "cl", 1}, {"broker", "c", 0},
        {"config-doc", "", 0}, {"version", "", 0}, {"help", "", 0},
};

struct cli {
	const struct command *cmd;
	const char *config_path, *job_path;
	double duration;
	int lifeline, help;
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
	        "                               SIGINT/SIGTERM or S seconds (S > 0); status\n"
	        "                               events are JSON lines on stdout (JOB.json '-' =\n"
	        "                               stdin)\n"
	        "  upload EGRESS_ID [--config FILE]\n"
	        "                               finish the uploads an egress left in the spool\n"
	        "                               (spool_dir): status events as for run (the\n"
	        "                               worker does this itself when it starts)\n"
	        "  run - --lifeline             how the worker runs a job: the request is the\n"
	        "                               first line of stdin, control requests follow;\n"
	        "                               end of stdin (the worker gone) stops the job\n"
	        "  broker [--config FILE]       a standalone local Kafka broker; prints\n"
	        "                               'bootstrap: HOST:PORT' first. For tests, reads\n"
	        "                               'down' / 'up' lines on stdin (broker outage),\n"
	        "                               answering 'ok down' / 'ok up' on stdout\n"
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

/* Options and arguments after the command; 0, or the exit status. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"duration", required_argument, NULL, 'd'},
	        {"lifeline", no_argument, NULL, 'l'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *name = cli->cmd->name;
	int opt;

	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:d:lh", opts, NULL)) != -1) {
		if (opt == '?')
			return usage_error(name, "unknown option '%s'", argv[optind - 1]);
		if (opt == ':')
			return usage_error(name, "option '%s' needs a value", argv[optind - 1]);
		if (opt == 'h') {
			cli->help = 1;
			continue;
		}
		if (!strchr(cli->cmd->options, opt))
			return usage_error(name, "--%s is not an option of %s",
			                   opt == 'c'   ? "config"
			                   : opt == 'd' ? "duration"
			                                : "lifeline",
			                   name);
		if (opt == 'c')
			cli->config_path = optarg;
		else if (opt == 'd' && parse_duration(optarg, &cli->duration))
			return usage_error(name,
			                   "--duration must be a number of seconds greater "
			                   "than 0, not '%s'",
			                   optarg);
		else if (opt == 'l')
			cli->lifeline = 1;
	}
	if (cli->help)
		return 0;
	if (argc - optind > cli->cmd->args)
		return usage_error(name, "unexpected argument '%s'", argv[optind + cli->cmd->args]);
	if (argc - optind < cli->cmd->args)
		return usage_error(name, strcmp(name, "upload") ? "missing JOB.json (or - for stdin)"
		                                                : "missing EGRESS_ID");
	cli->job_path = cli->cmd->args ? argv[optind] : NULL;
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

static int cmd_run(const egw_config_t *cfg, const struct cli *cli)
{
	egw_job_settings_t js = {
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
	if (!strcmp(cli->cmd->name, "upload"))
		return egw_delivery_resume_main(&js, cli->job_path, cli->lifeline);
	return egw_runner_main(&js, cli->job_path, cli->duration, cli->lifeline);
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
	egw_log_configure((egw_log_level_t)cfg->log_level, cfg->log_format == 1);
	if (!strcmp(cli.cmd->name, "worker")) {
		install_signals();
		ret = cmd_worker(cfg, cli.config_path);
	} else if (!strcmp(cli.cmd->name, "run") || !strcmp(cli.cmd->name, "upload")) {
		ret = cmd_run(cfg, &cli);
	} else {
		install_signals();
		ret = cmd_broker(cfg);
	}
	egw_config_free(cfg);
	return ret;
}
