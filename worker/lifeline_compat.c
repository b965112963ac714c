#include "worker/lifeline_compat.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/log.h"

#define REQUEST_MAX (1024 * 1024)

/* The watcher thread's state (it owns it). */
typedef struct lifeline {
	int fd;
	char buf[65536];
	size_t len;
	int stopped;
} lifeline_t;

/* Reads the first line of the lifeline into *req (without its '\n'); what
 * follows it stays in l->buf. */
static int read_request(lifeline_t *l, char **req, size_t *req_len)
{
	size_t cap = 0, n = 0;
	char *r = NULL, *nl = NULL;

	for (;;) {
		ssize_t k = read(l->fd, l->buf, sizeof(l->buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		nl = memchr(l->buf, '\n', (size_t)k);
		size_t take = nl ? (size_t)(nl - l->buf) : (size_t)k;
		if (n + take > REQUEST_MAX)
			break;
		if (n + take > cap) {
			cap = (n + take) * 2;
			char *g = realloc(r, cap);
			if (!g)
				break;
			r = g;
		}
		memcpy(r + n, l->buf, take);
		n += take;
		if (nl) {
			l->len = (size_t)k - take - 1;
			memmove(l->buf, nl + 1, l->len);
			*req = r;
			*req_len = n;
			return 0;
		}
	}
	free(r);
	return -1;
}

/* One SIGTERM, which the runner handles as a stop, once it has installed
 * its handler (SIGTERM is ignored until then: a stop that arrives while the
 * request is still being parsed waits for it). */
static void stop_self(lifeline_t *l, const char *why)
{
	struct sigaction sa;

	if (l->stopped)
		return;
	l->stopped = 1;
	EGW_LOG(NULL, INFO, "lifeline: %s: stopping", why);
	for (;;) {
		if (sigaction(SIGTERM, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN) {
			usleep(50000);
			continue;
		}
		kill(getpid(), SIGTERM);
		return;
	}
}

static void on_line(lifeline_t *l, char *line)
{
	json_t *req = json_loads(line, 0, NULL);
	const char *type = json_string_value(json_object_get(req, "type"));

	if (type && !strcmp(type, "stop"))
		stop_self(l, "stop requested");
	else
		EGW_LOG(NULL, WARN,
		        "lifeline: %s request not supported by this job runner; ignored",
		        type && strlen(type) < 32 ? type : "unknown");
	json_decref(req);
}

static void *watch(void *arg)
{
	lifeline_t *l = arg;

	for (;;) {
		char *nl;
		while ((nl = memchr(l->buf, '\n', l->len))) {
			*nl = '\0';
			on_line(l, l->buf);
			l->len -= (size_t)(nl + 1 - l->buf);
			memmove(l->buf, nl + 1, l->len);
		}
		if (l->len == sizeof(l->buf))
			l->len = 0; /* a line longer than any control request */
		ssize_t k = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			stop_self(l, "end of input, the worker is gone");
			close(l->fd);
			free(l);
			return NULL;
		}
		l->len += (size_t)k;
	}
	return NULL;
}

int egw_lifeline_compat_start(char *errstr, size_t errstr_size)
{
	lifeline_t *l = calloc(1, sizeof(*l));
	char *req = NULL;
	size_t req_len = 0;
	int mfd = -1;
	pthread_t t;

	if (!l || (l->fd = fcntl(0, F_DUPFD_CLOEXEC, 3)) < 0) {
		snprintf(errstr, errstr_size, "lifeline: %s",
		         l ? strerror(errno) : "out of memory");
		goto fail;
	}
	if (read_request(l, &req, &req_len)) {
		snprintf(errstr, errstr_size, "lifeline: no request line on standard input");
		goto fail;
	}
	if ((mfd = memfd_create("egress-request", MFD_CLOEXEC)) < 0 ||
	    write(mfd, req, req_len) != (ssize_t)req_len || lseek(mfd, 0, SEEK_SET) ||
	    dup2(mfd, 0) < 0) {
		snprintf(errstr, errstr_size, "lifeline: request: %s", strerror(errno));
		goto fail;
	}
	close(mfd);
	free(req);
	signal(SIGTERM, SIG_IGN); /* until the runner installs its handler */
	signal(SIGPIPE, SIG_IGN); /* the worker may be gone: still finalise */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (pthread_create(&t, NULL, watch, l)) {
		snprintf(errstr, errstr_size, "lifeline: cannot start its thread");
		signal(SIGTERM, SIG_DFL);
		return -1; /* l and its fd stay: stdin is already the request */
	}
	pthread_detach(t);
	return 0;
fail:
	if (mfd >= 0)
		close(mfd);
	free(req);
	if (l && l->fd >= 0)
		close(l->fd);
	free(l);
	return -1;
}
