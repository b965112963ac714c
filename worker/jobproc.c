#include "worker/jobproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void child_exec(int in_fd, int out_fd, const char *config_path, const char *worker_id)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		_exit(127);
	exe[n] = '\0';
	dup2(in_fd, 0);
	dup2(out_fd, 1);
	if (in_fd > 2)
		close(in_fd);
	if (out_fd > 2)
		close(out_fd);
	setenv("EGRESS_WORKER_ID", worker_id, 1);
	if (config_path)
		execl(exe, exe, "run", "-", "--config", config_path, (char *)NULL);
	else
		execl(exe, exe, "run", "-", (char *)NULL);
	_exit(127);
}

egw_jobproc_t *egw_jobproc_spawn(const char *config_path, const char *worker_id,
				 const char *egress_id, const char *job, size_t job_len,
				 char *errstr, size_t errstr_size)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	egw_jobproc_t *p = calloc(1, sizeof(*p));

	if (!p || pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		snprintf(errstr, errstr_size, "cannot create job process pipes: %s", strerror(errno));
		goto fail;
	}
	snprintf(p->egress_id, sizeof(p->egress_id), "%s", egress_id);
	p->pid = fork();
	if (p->pid < 0) {
		snprintf(errstr, errstr_size, "fork: %s", strerror(errno));
		goto fail;
	}
	if (p->pid == 0) {
		close(in[1]);
		close(out[0]);
		child_exec(in[0], out[1], config_path, worker_id);
	}
	close(in[0]);
	close(out[1]);
	/* The request is small (Kafka message); the child reads it at once. */
	if (write_all(in[1], job, job_len))
		EGW_LOG(egress_id, WARN, "could not hand the request to the job process");
	close(in[1]);
	p->out_fd = out[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	EGW_LOG(egress_id, INFO, "job process %d started", (int)p->pid);
	return p;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(p);
	return NULL;
}

int egw_jobproc_read(egw_jobproc_t *p, void (*on_line)(void *opaque, egw_jobproc_t *p, char *line),
		     void *opaque)
{
	if (p->out_fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(p->out_fd, p->line + p->line_len, sizeof(p->line) - 1 - p->line_len);
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

void egw_jobproc_signal_stop(egw_jobproc_t *p, int force)
{
	if (p->exited)
		return;
	kill(p->pid, force ? SIGKILL : SIGTERM);
	if (!p->stop_at)
		p->stop_at = time(NULL);
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
	return 1;
}

void egw_jobproc_free(egw_jobproc_t *p)
{
	if (!p)
		return;
	if (p->out_fd >= 0)
		close(p->out_fd);
	free(p);
}
