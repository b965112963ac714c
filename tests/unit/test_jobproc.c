/* Job processes: posix_spawn with an explicit environment, and the lifeline
 * (request as the first line, then control lines; writes never block). A
 * shell script stands in for `egress run - --lifeline`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/check.h"
#include "worker/jobproc.h"
#include "worker/spares.h"

#define REQ_LEN 300000 /* more than a pipe holds */

static char first_line[512];

static void on_line(void *opaque, egw_jobproc_t *p, char *line)
{
	if (!first_line[0])
		snprintf(first_line, sizeof(first_line), "%s", line);
}

static void write_script(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
}

/* Runs until p exited (reading and flushing as the worker does). */
static int wait_exit(egw_jobproc_t *p)
{
	for (int i = 0; i < 400; i++) {
		if (egw_jobproc_pending(p))
			egw_jobproc_flush(p);
		egw_jobproc_read(p, on_line, NULL);
		if (egw_jobproc_reap(p))
			return 1;
		usleep(25000);
	}
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(2 * REQ_LEN);
	*len = f ? fread(buf, 1, 2 * REQ_LEN - 1, f) : 0;
	buf[*len] = '\0';
	if (f)
		fclose(f);
	return buf;
}

/* The child sleeps before reading: the request and the stop line wait in
 * the queue, spawn and stop return at once, and both arrive in order. */
static void test_lifeline(const char *dir)
{
	char script[256], out[256], errstr[256], body[512];
	char *req = malloc(REQ_LEN);
	size_t len;

	snprintf(script, sizeof(script), "%s/job.sh", dir);
	snprintf(out, sizeof(out), "%s/stdin.txt", dir);
	snprintf(body, sizeof(body),
	         "echo \"args=$* worker=$EGRESS_WORKER_ID\"\nsleep 0.3\nhead -n 2 > '%s'", out);
	write_script(script, body);
	memset(req, 'x', REQ_LEN);
	memcpy(req, "{\"a\":\r\n1,", 9);
	req[REQ_LEN - 2] = '\n';
	req[REQ_LEN - 1] = '}';

	setenv("EGRESS_WORKER_ID", "inherited", 1);
	egw_jobproc_cmd_t cmd = {script, "/etc/egress.json", "w-test", NULL, 0};
	egw_jobproc_t *p = egw_jobproc_spawn(&cmd, "EG_t", req, REQ_LEN, errstr, sizeof(errstr));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(egw_jobproc_pending(p)); /* did not block on a full pipe */
	egw_jobproc_request_stop(p, NULL);
	CHECK(p->stop_at != 0 && !p->stop_signalled);
	CHECK(wait_exit(p));
	CHECK(WIFEXITED(p->exit_status) && WEXITSTATUS(p->exit_status) == 0);
	CHECK(p->in_fd < 0); /* the lifeline is closed with the process */
	CHECK_STR(first_line, "args=run - --lifeline --config /etc/egress.json worker=w-test");

	char *got = slurp(out, &len);
	char *nl = memchr(got, '\n', len);
	CHECK(nl && (size_t)(nl - got) == REQ_LEN);
	CHECK(!strncmp(got, "{\"a\":  1,", 9));      /* CR and LF became spaces */
	CHECK(nl && nl[-2] == ' ' && nl[-1] == '}'); /* so did the last LF */
	CHECK(nl && !strcmp(nl + 1, "{\"type\":\"stop\",\"egress_id\":\"EG_t\"}\n"));
	free(got);
	free(req);
	egw_jobproc_free(p);
}

/* A job process that closed its standard input is stopped by SIGTERM. */
static void test_broken_lifeline(const char *dir)
{
	char script[256], errstr[256];
	snprintf(script, sizeof(script), "%s/deaf.sh", dir);
	write_script(script, "exec 0<&-\necho closed\nexec sleep 30");
	egw_jobproc_cmd_t cmd = {script, NULL, "w-test", NULL, 0};
	egw_jobproc_t *p = egw_jobproc_spawn(&cmd, "EG_deaf", "{}", 2, errstr, sizeof(errstr));
	CHECK(p != NULL);
	if (!p)
		return;
	first_line[0] = '\0';
	for (int i = 0; i < 200 && !first_line[0]; i++) {
		egw_jobproc_read(p, on_line, NULL);
		usleep(25000);
	}
	CHECK_STR(first_line, "closed");
	egw_jobproc_request_stop(p, NULL);
	CHECK(p->stop_signalled);
	CHECK(wait_exit(p));
	CHECK(WIFSIGNALED(p->exit_status) && WTERMSIG(p->exit_status) == SIGTERM);
	egw_jobproc_free(p);
}

/* Spares: the pool starts one at a time, the next once the last is warm;
 * a taken spare gets its request (after --spare in its arguments) and
 * the pool refills, though not while starts are on their way; dismissed
 * spares exit quietly. */
static void test_spares(const char *dir)
{
	char script[256], out[256], body[512];
	int warm = 0;
	snprintf(script, sizeof(script), "%s/spare.sh", dir);
	snprintf(out, sizeof(out), "%s/spare-stdin.txt", dir);
	snprintf(body, sizeof(body),
	         "echo '{\"spare\":\"ready\"}'\nread line || exit 0\n"
	         "echo \"$* $line\" > '%s'\nexec sleep 30",
	         out);
	write_script(script, body);
	egw_jobproc_cmd_t cmd = {script, NULL, "w-test", NULL, 0};
	egw_spares_t *s = egw_spares_new(&cmd, 2);

	egw_spares_tend(s, 1, 1);
	CHECK(egw_spares_count(s, NULL) == 0); /* a start on its way: none yet */
	egw_spares_tend(s, 1, 0);
	CHECK(egw_spares_count(s, &warm) == 1 && warm == 0); /* one at a time */
	for (int i = 0; i < 200 && (egw_spares_count(s, &warm) < 2 || warm < 2); i++) {
		usleep(25000);
		egw_spares_tend(s, 1, 0);
	}
	CHECK(egw_spares_count(s, &warm) == 2 && warm == 2);

	egw_jobproc_t *p = egw_spares_take(s, "EG_sp", "{\"x\":\n1}", 8);
	CHECK(p != NULL && !strcmp(p->egress_id, "EG_sp") && p->spare_ready);
	CHECK(egw_spares_count(s, NULL) == 1);
	char *got = NULL;
	size_t len = 0;
	for (int i = 0; i < 200; i++) {
		free(got);
		got = slurp(out, &len);
		if (len)
			break;
		usleep(25000);
	}
	CHECK_STR(got, "run - --lifeline --spare {\"x\": 1}\n");
	free(got);
	egw_jobproc_kill(p);
	CHECK(wait_exit(p));
	egw_jobproc_free(p);

	/* the pool refills once no start is on its way */
	for (int i = 0; i < 4; i++) {
		usleep(25000);
		egw_spares_tend(s, 1, 3);
	}
	CHECK(egw_spares_count(s, NULL) == 1);
	egw_spares_tend(s, 1, 0);
	for (int i = 0; i < 200 && (egw_spares_count(s, &warm) < 2 || warm < 2); i++) {
		usleep(25000);
		egw_spares_tend(s, 1, 0);
	}
	CHECK(egw_spares_count(s, &warm) == 2 && warm == 2);
	egw_spares_free(s); /* dismissed: they read EOF and exit */
}

int main(void)
{
	char dir[] = "/tmp/egw-jobproc-XXXXXX";
	signal(SIGPIPE, SIG_IGN); /* as the worker does */
	if (!mkdtemp(dir))
		return 1;
	test_lifeline(dir);
	test_broken_lifeline(dir);
	test_spares(dir);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		return 1;
	return CHECK_DONE();
}
