/* egress: the egress worker's command line. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/broker.h"
#include "worker/config.h"
#include "worker/lifeline_compat.h"
#include "base/log.h"
#include "job/runner.h"
#include "worker/worker.h"

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: egress COMMAND [OPTIONS]\n\n"
		"commands:\n"
		"  worker [--config FILE]       run the service: take start jobs from Kafka,\n"
		"                               stop/update requests from the control topic,\n"
		"                               report on the status topic. Without brokers\n"
		"                               configured, starts the embedded broker.\n"
		"  run JOB.json [--duration S] [--config FILE]\n"
		"                               run one start request without Kafka until\n"
		"                               SIGINT/SIGTERM or S seconds; status events\n"
		"                               are JSON lines on stdout (JOB.json '-' = stdin)\n"
		"  run - --lifeline             how the worker runs a job: the request is the\n"
		"                               first line of stdin, control requests follow\n"
		"  broker [--config FILE]       a standalone local Kafka broker; prints\n"
		"                               'bootstrap: HOST:PORT' first. For tests, reads\n"
		"                               'down' / 'up' lines on stdin (broker outage),\n"
		"                               answering 'ok down' / 'ok up' on stdout\n"
		"  config-doc                   print the configuration reference (Markdown)\n"
		"  help                         this text\n\n"
		"environment: EGRESS_KAFKA_BROKERS, EGRESS_<SETTING>, EGRESS_KAFKA_<PROPERTY>,\n"
		"             EGRESS_LOG_LEVEL (error|warn|info|debug), EGRESS_LOG_FORMAT (text|json)\n"
		"docs: docs/jobs.md (job contract), docs/configuration.md\n");
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
	install_signals();
	egw_broker_serve(b, &stop_flag);
	egw_broker_stop(b);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"lifeline", no_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argc > 1 ? argv[1] : "help", *config_path = NULL;
	double duration = 0;
	egw_config_t *cfg = NULL;
	char errstr[512];
	int opt, ret, lifeline = 0;

	egw_log_init();
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			lifeline = 1;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(cmd, "config-doc")) {
		egw_config_write_doc(stdout);
		return 0;
	}
	if (egw_config_load(config_path, &cfg, errstr, sizeof(errstr))) {
		fprintf(stderr, "egress: configuration: %s\n", errstr);
		return 2;
	}
	if (!strcmp(cmd, "worker")) {
		install_signals();
		ret = egw_worker_run(cfg, config_path, &stop_flag);
	} else if (!strcmp(cmd, "run")) {
		if (optind >= argc) {
			fprintf(stderr, "egress run: missing JOB.json (or - for stdin)\n");
			ret = 2;
		} else {
			const char *roots[] = {cfg->storage_dir};
			egw_job_settings_t js = {
				.worker_id = cfg->worker_id,
				.storage_dir = cfg->storage_dir,
				.storage_roots = roots,
				.n_storage_roots = 1,
				.max_duration_s = cfg->max_duration_s,
				.empty_room_timeout_s = cfg->empty_room_timeout_s,
				.sfu_timeout_ms = cfg->sfu_timeout_ms,
				.stop_grace_s = cfg->stop_grace_s,
			};
			/* Until job/runner.c reads the lifeline itself, it is
			 * adapted here (worker/lifeline_compat.h): the runner
			 * then sees the request as its whole stdin (lifeline 0). */
			if (lifeline && egw_lifeline_compat_start(errstr, sizeof(errstr))) {
				fprintf(stderr, "egress run: %s\n", errstr);
				ret = 2;
			} else
				ret = egw_runner_main(&js, argv[optind], duration, 0);
		}
	} else if (!strcmp(cmd, "broker")) {
		ret = cmd_broker(cfg);
	} else {
		fprintf(stderr, "egress: unknown command '%s'\n\n", cmd);
		usage(stderr);
		ret = 2;
	}
	egw_config_free(cfg);
	return ret;
}
