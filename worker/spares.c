/* Spare job processes (see spares.h). */
#include "worker/spares.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "base/log.h"

/* A spare that dies within this long of its start counts as a failure;
 * after FAIL_MAX in a row the pool waits PAUSE_S before the next. */
#define EARLY_S 30.0
#define FAIL_MAX 3
#define PAUSE_S 30.0
#define DISMISS_WAIT_MS 2000

struct egw_spares {
	egw_jobproc_cmd_t cmd;
	int target;
	GPtrArray *procs; /* egw_jobproc_t *, oldest first */
	int failures;     /* early deaths in a row */
	double pause_until;
};

egw_spares_t *egw_spares_new(const egw_jobproc_cmd_t *cmd, int target)
{
	egw_spares_t *s = g_new0(egw_spares_t, 1);
	s->cmd = *cmd;
	s->cmd.spare = 1;
	s->cmd.upload = NULL;
	s->target = target > 0 ? target : 0;
	s->procs = g_ptr_array_new();
	return s;
}

static void on_line(void *opaque, egw_jobproc_t *p, char *line)
{
	(void)opaque;
	if (!egw_jobproc_spare_line(p, line))
		EGW_LOG(NULL, WARN, "spare job process %d wrote: %.200s", (int)p->pid, line);
}

/* Reads a spare's lines; removes it (returns 1) once it has exited. */
static int check(egw_spares_t *s, egw_jobproc_t *p, int dismissing)
{
	int open = egw_jobproc_read(p, on_line, s);
	if (open || !egw_jobproc_reap(p))
		return 0;
	if (!dismissing) {
		int early = egw_jobproc_now() - p->spawned_s < EARLY_S;
		s->failures = early ? s->failures + 1 : 0;
		if (WIFSIGNALED(p->exit_status))
			EGW_LOG(NULL, WARN, "spare job process %d killed by signal %d before use",
			        (int)p->pid, WTERMSIG(p->exit_status));
		else
			EGW_LOG(NULL, WARN, "spare job process %d exited with status %d before use",
			        (int)p->pid, WEXITSTATUS(p->exit_status));
		if (s->failures >= FAIL_MAX) {
			s->pause_until = egw_jobproc_now() + PAUSE_S;
			s->failures = 0;
			EGW_LOG(NULL, WARN,
			        "%d spare job processes died early in a row: no new spare for %.0f "
			        "s",
			        FAIL_MAX, PAUSE_S);
		}
	}
	egw_jobproc_free(p);
	return 1;
}

void egw_spares_tend(egw_spares_t *s, int want, int starting)
{
	int warming = 0;
	char errstr[256];
	egw_jobproc_t *p;

	if (!s)
		return;
	for (guint i = 0; i < s->procs->len;) {
		p = g_ptr_array_index(s->procs, i);
		if (!want)
			egw_jobproc_dismiss(p);
		if (check(s, p, !want)) {
			g_ptr_array_remove_index(s->procs, i);
			continue;
		}
		warming += !p->spare_ready;
		i++;
	}
	/* One warming at a time, so refilling never crowds out running jobs;
	 * none while starts are on their way: a spare's warming (its RSA key
	 * alone is 0.1-1 s of CPU) would slow every one of them. */
	if (!want || warming || starting > 0 || (int)s->procs->len >= s->target ||
	    egw_jobproc_now() < s->pause_until)
		return;
	if (!(p = egw_jobproc_spawn(&s->cmd, NULL, NULL, 0, errstr, sizeof(errstr)))) {
		EGW_LOG(NULL, WARN, "no spare job process: %s", errstr);
		s->pause_until = egw_jobproc_now() + PAUSE_S;
		return;
	}
	g_ptr_array_add(s->procs, p);
}

size_t egw_spares_pollfds(const egw_spares_t *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	for (guint i = 0; s && i < s->procs->len && n < max; i++) {
		egw_jobproc_t *p = g_ptr_array_index(s->procs, i);
		if (p->out_fd >= 0)
			fds[n++] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
	}
	return n;
}

egw_jobproc_t *egw_spares_take(egw_spares_t *s, const char *egress_id, const char *request,
                               size_t request_len)
{
	guint pick = G_MAXUINT;
	egw_jobproc_t *p;

	if (!s)
		return NULL;
	for (guint i = 0; i < s->procs->len; i++) {
		p = g_ptr_array_index(s->procs, i);
		if (p->exited || p->in_fd < 0)
			continue;
		if (p->spare_ready) {
			pick = i;
			break;
		}
		if (pick == G_MAXUINT)
			pick = i; /* warming: still ahead of a new process */
	}
	if (pick == G_MAXUINT)
		return NULL;
	p = g_ptr_array_steal_index(s->procs, pick);
	if (egw_jobproc_assign(p, egress_id, request, request_len)) {
		egw_jobproc_dismiss(p);
		g_ptr_array_add(s->procs, p); /* reaped by the next tend */
		return NULL;
	}
	return p;
}

int egw_spares_count(const egw_spares_t *s, int *warm)
{
	int n = 0;
	for (guint i = 0; s && i < s->procs->len; i++)
		n += ((egw_jobproc_t *)g_ptr_array_index(s->procs, i))->spare_ready;
	if (warm)
		*warm = n;
	return s ? (int)s->procs->len : 0;
}

void egw_spares_free(egw_spares_t *s)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	if (!s)
		return;
	for (int waited = 0; s->procs->len && waited < DISMISS_WAIT_MS; waited += 20) {
		egw_spares_tend(s, 0, 0);
		if (s->procs->len)
			nanosleep(&pause, NULL);
	}
	for (guint i = 0; i < s->procs->len; i++) {
		egw_jobproc_t *p = g_ptr_array_index(s->procs, i);
		egw_jobproc_kill(p);
		waitpid(p->pid, NULL, 0);
		egw_jobproc_free(p);
	}
	g_ptr_array_free(s->procs, TRUE);
	g_free(s);
}
