/* One supervised process per job: `egress run -` with the start request on
 * its stdin and its status events (JSON lines) on its stdout.
 * locality: worker thread. */
#ifndef EGW_JOBPROC_H
#define EGW_JOBPROC_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"

typedef struct egw_jobproc {
	char egress_id[65];
	pid_t pid;
	int out_fd; /* -1 after EOF */
	char line[65536];
	size_t line_len;
	char last_status[16]; /* last status the process reported */
	time_t stop_at;       /* when SIGTERM was sent, 0 if not */
	int exited, exit_status;
	struct egw_jobproc *next;
} egw_jobproc_t;

/* Starts the job process. config_path may be NULL. */
egw_jobproc_t *egw_jobproc_spawn(const char *config_path, const char *worker_id,
				 const char *egress_id, const char *job, size_t job_len,
				 char *errstr, size_t errstr_size);

/* Reads what the process wrote; calls on_line for each complete line.
 * Returns 0 at EOF, 1 otherwise. */
int egw_jobproc_read(egw_jobproc_t *p, void (*on_line)(void *opaque, egw_jobproc_t *p, char *line),
		     void *opaque);

/* Asks the process to stop and finalise (SIGTERM); SIGKILL when force. */
void egw_jobproc_signal_stop(egw_jobproc_t *p, int force);

/* Non-blocking reap; returns 1 once the process has exited. */
int egw_jobproc_reap(egw_jobproc_t *p);

void egw_jobproc_free(egw_jobproc_t *p);

#endif
