#include "worker/jobproc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/secret.h"
#include "job/runner.h"

extern char **environ;

/* The worker's environment with EGRESS_WORKER_ID=worker_id; *own is the one
 * string allocated here (free it and the array). */
static char **child_env(const char *worker_id, char **own)
{
	size_t n = 0, k = 0, len = strlen(worker_id) + sizeof("EGRESS_WORKER_ID=");
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	if (!(env = calloc(n + 2, sizeof(*env))) || !(*own = malloc(len))) {
		free(env);
		return NULL;
	}
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, "EGRESS_WORKER_ID=", 17))
			env[k++] = *e;
	snprintf(*own, len, "EGRESS_WORKER_ID=%s", worker_id);
	env[k] = *own;
	return env;
}

/* posix_spawn: safe in a multithreaded process (librdkafka's threads),
 * unlike fork() followed by setenv(). Stdin and stdout become the pipes;
 * every other descriptor of ours is close-on-exec. */
static int spawn(const egw_jobproc_cmd_t *cmd, int in_fd, int out_fd, pid_t *pid, char *errstr,
                 size_t errstr_size)
{
	char exe[4096], *own = NULL, **env = NULL;
	const char *argv[8];
	int argc = 0, rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;

	if (cmd->exe)
		snprintf(exe, sizeof(exe), "%s", cmd->exe);
	else {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0) {
			snprintf(errstr, errstr_size, "cannot find this program: %s",
			         strerror(errno));
			return -1;
		}
		exe[n] = '\0';
	}
	if (!(env = child_env(cmd->worker_id, &own))) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	argv[argc++] = exe;
	argv[argc++] = cmd->upload ? "upload" : "run";
	argv[argc++] = cmd->upload ? cmd->upload : "-";
	argv[argc++] = "--lifeline";
	if (cmd->spare)
		argv[argc++] = "--spare";
	if (cmd->config_path) {
		argv[argc++] = "--config";
		argv[argc++] = cmd->config_path;
	}
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawnattr_init(&attr);
	/* No signal blocked in the job. SIGPIPE stays ignored (inherited): a
	 * job whose worker died must still finalise its files. */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawn(pid, exe, &fa, &attr, (char *const *)argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(own);
	free(env);
	if (rc) {
		snprintf(errstr, errstr_size, "cannot start the job process: %s", strerror(rc));
		return -1;
	}
	return 0;
}

/* Appends len bytes (and a '\n' when nl) to the lifeline queue. */
static int enqueue(egw_jobproc_t *p, const char *data, size_t len, int nl)
{
	size_t need = p->queue_len + len + 1;
	if (need > EGW_JOBPROC_QUEUE_MAX) {
		EGW_LOG(p->egress_id, WARN,
		        "lifeline queue full (%zu bytes not taken by the job process): line of "
		        "%zu bytes dropped",
		        p->queue_len, len);
		return -1;
	}
	if (need > p->queue_cap) {
		size_t cap = p->queue_cap ? p->queue_cap : 4096;
		while (cap < need)
			cap *= 2;
		char *q = realloc(p->queue, cap);
		if (!q)
			return -1;
		p->queue = q;
		p->queue_cap = cap;
	}
	memcpy(p->queue + p->queue_len, data, len);
	p->queue_len += len;
	if (nl)
		p->queue[p->queue_len++] = '\n';
	return 0;
}

static void close_lifeline(egw_jobproc_t *p)
{
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	p->queue_len = 0;
}

int egw_jobproc_flush(egw_jobproc_t *p)
{
	size_t done = 0;
	int ret = 0;

	if (p->in_fd < 0)
		return -1;
	while (done < p->queue_len) {
		ssize_t n = write(p->in_fd, p->queue + done, p->queue_len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		ret = -1; /* EPIPE: the job process closed its end */
		break;
	}
	if (ret) {
		EGW_LOG(p->egress_id, WARN, "lifeline to job process %d broken: %s", (int)p->pid,
		        strerror(errno));
		close_lifeline(p);
		if (p->stop_at && !p->stop_signalled && !p->exited) {
			kill(p->pid, SIGTERM);
			p->stop_signalled = 1;
		}
		return -1;
	}
	if (done) /* (a spare has no queue yet) */
		memmove(p->queue, p->queue + done, p->queue_len - done);
	p->queue_len -= done;
	return 0;
}

int egw_jobproc_pending(const egw_jobproc_t *p)
{
	return p->in_fd >= 0 && p->queue_len > 0;
}

int egw_jobproc_send(egw_jobproc_t *p, const char *line, size_t len)
{
	if (p->in_fd < 0 || enqueue(p, line, len, 1))
		return -1;
	return egw_jobproc_flush(p);
}

double egw_jobproc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The request as the lifeline's first line. JSON strings cannot hold raw
 * line breaks: outside them, a space means the same. */
static int queue_request(egw_jobproc_t *p, const char *request, size_t request_len)
{
	size_t at = p->queue_len;
	if (enqueue(p, request, request_len, 1))
		return -1;
	for (size_t i = at; i < at + request_len; i++)
		if (p->queue[i] == '\r' || p->queue[i] == '\n')
			p->queue[i] = ' ';
	return 0;
}

egw_jobproc_t *egw_jobproc_spawn(const egw_jobproc_cmd_t *cmd, const char *egress_id,
                                 const char *request, size_t request_len, char *errstr,
                                 size_t errstr_size)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	egw_jobproc_t *p = calloc(1, sizeof(*p));

	if (!p || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		snprintf(errstr, errstr_size, "cannot create job process pipes: %s",
		         strerror(errno));
		goto fail;
	}
	snprintf(p->egress_id, sizeof(p->egress_id), "%s", egress_id ? egress_id : "");
	p->in_fd = p->out_fd = -1;
	p->upload = cmd->upload != NULL;
	p->spare = cmd->spare;
	p->spawned_s = egw_jobproc_now();
	if (request && queue_request(p, request, request_len)) {
		snprintf(errstr, errstr_size, "out of memory");
		goto fail;
	}
	if (spawn(cmd, in[0], out[1], &p->pid, errstr, errstr_size))
		goto fail;
	close(in[0]);
	close(out[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	if (p->spare)
		EGW_LOG(NULL, DEBUG, "spare job process %d started", (int)p->pid);
	else
		EGW_LOG(egress_id, INFO, "job process %d started", (int)p->pid);
	egw_jobproc_flush(p);
	return p;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (p)
		free(p->queue);
	free(p);
	return NULL;
}

int egw_jobproc_assign(egw_jobproc_t *p, const char *egress_id, const char *request,
                       size_t request_len)
{
	if (!p->spare || p->egress_id[0] || p->in_fd < 0 || queue_request(p, request, request_len))
		return -1;
	snprintf(p->egress_id, sizeof(p->egress_id), "%s", egress_id);
	p->spawned_s = egw_jobproc_now(); /* start latency counts from here */
	EGW_LOG(egress_id, INFO, "job process %d (a spare, %s) takes it", (int)p->pid,
	        p->spare_ready ? "warm" : "still warming up");
	return egw_jobproc_flush(p);
}

int egw_jobproc_read(egw_jobproc_t *p, void (*on_line)(void *opaque, egw_jobproc_t *p, char *line),
                     void *opaque)
{
	if (p->out_fd < 0)
		return 0;
	for (;;) {
		ssize_t n =
		        read(p->out_fd, p->line + p->line_len, sizeof(p->line) - 1 - p->line_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1; /* EAGAIN */
		if (n == 0) {
			close(p->out_fd);
			p->out_fd = -1;
			return 0;
		}
		p->line_len += (size_t)n;
		char *start = p->line, *nl;
		while ((nl = memchr(start, '\n', p->line_len - (size_t)(start - p->line)))) {
			*nl = '\0';
			on_line(opaque, p, start);
			start = nl + 1;
		}
		p->line_len -= (size_t)(start - p->line);
		memmove(p->line, start, p->line_len);
		if (p->line_len == sizeof(p->line) - 1) {
			EGW_LOG(p->egress_id, WARN, "job process line too long; dropped");
			p->line_len = 0;
		}
	}
}

void egw_jobproc_request_stop(egw_jobproc_t *p, const char *reason)
{
	json_t *req;
	char *line;

	if (p->exited || p->stop_at)
		return;
	p->stop_at = time(NULL);
	req = json_pack("{s:s, s:s}", "type", "stop", "egress_id", p->egress_id);
	if (req && reason)
		json_object_set_new(req, "reason", json_string(reason));
	line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!line || egw_jobproc_send(p, line, strlen(line))) {
		EGW_LOG(p->egress_id, INFO, "lifeline closed: stopping job process %d with SIGTERM",
		        (int)p->pid);
		if (!p->stop_signalled)
			kill(p->pid, SIGTERM);
		p->stop_signalled = 1;
	}
	free(line);
	json_decref(req);
}

int egw_jobproc_uploading(const egw_jobproc_t *p)
{
	return p->upload || !strcmp(p->last_status, "uploading");
}

void egw_jobproc_terminate(egw_jobproc_t *p)
{
	if (!p->exited)
		kill(p->pid, SIGTERM);
}

int egw_jobproc_spare_line(egw_jobproc_t *p, const char *line)
{
	if (!p->spare || strcmp(line, EGW_RUNNER_SPARE_READY))
		return 0;
	p->spare_ready = 1;
	return 1;
}

void egw_jobproc_dismiss(egw_jobproc_t *p)
{
	close_lifeline(p);
}

void egw_jobproc_kill(egw_jobproc_t *p)
{
	if (!p->exited)
		kill(p->pid, SIGKILL);
}

int egw_jobproc_reap(egw_jobproc_t *p)
{
	int status;
	if (p->exited)
		return 1;
	if (waitpid(p->pid, &status, WNOHANG) != p->pid)
		return 0;
	p->exited = 1;
	p->exit_status = status;
	close_lifeline(p);
	return 1;
}

void egw_jobproc_free(egw_jobproc_t *p)
{
	if (!p)
		return;
	close_lifeline(p);
	if (p->out_fd >= 0)
		close(p->out_fd);
	free(p->queue);
	free(p->webhook_url);
	egw_secret_wipe(p->webhook_secret);
	free(p->webhook_secret);
	free(p);
}
