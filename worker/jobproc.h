/* One supervised process per job: `egress run - --lifeline`. Its standard
 * input is the lifeline (job/runner.h): the start request as the first
 * line, then control requests (stop, update_layout, update_stream) as JSON
 * lines for the job's whole life. Its standard output carries its status
 * events (JSON lines). Writes to the lifeline never block: what the pipe
 * cannot take now waits in a per-job queue, flushed by egw_jobproc_flush().
 * locality: worker thread. */
#ifndef EGW_JOBPROC_H
#define EGW_JOBPROC_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"

/* Bytes a job's lifeline queue may hold before lines are dropped. */
#define EGW_JOBPROC_QUEUE_MAX (4 * 1024 * 1024)

typedef struct egw_jobproc {
	char egress_id[65];
	pid_t pid;
	int in_fd;  /* lifeline (write end, non-blocking); -1 once closed */
	int out_fd; /* status lines (read end, non-blocking); -1 after EOF */
	char line[65536];
	size_t line_len;
	char *queue; /* lifeline bytes not written yet */
	size_t queue_len, queue_cap;
	char last_status[16]; /* last status the process reported */
	time_t stop_at;       /* when the stop was requested, 0 if not */
	int stop_signalled;   /* SIGTERM sent (the lifeline was broken) */
	int exited, exit_status;
	int upload;                         /* resuming uploads left in the spool */
	int spare;                          /* started ahead of its request (worker/spares.h) */
	int spare_ready;                    /* a spare that said it is warm */
	double spawned_s;                   /* monotonic clock at the spawn */
	int active_seen;                    /* its first `active` came */
	/* what reaches its outputs, as it last said (job/runner.c report_flow) */
	int has_skew, has_frames;
	double av_skew_s;
	long long video_frames, video_frames_dropped;
	int cost_mc;                        /* its expected CPU (job/cost.h); 0 for uploads */
	char *webhook_url, *webhook_secret; /* the request's webhook (secret: may be NULL) */
	struct egw_jobproc *next;
} egw_jobproc_t;

/* What to start: exe NULL means this program (/proc/self/exe).
 * config_path may be NULL. The child's environment is the worker's with
 * EGRESS_WORKER_ID set to worker_id. */
typedef struct egw_jobproc_cmd {
	const char *exe;
	const char *config_path;
	const char *worker_id;
	const char *upload; /* not NULL: `egress upload EGRESS_ID --lifeline` (resumes uploads) */
	int spare;          /* `egress run - --lifeline --spare`: warms up, then waits */
} egw_jobproc_cmd_t;

/* Seconds on the monotonic clock (spawned_s's). */
double egw_jobproc_now(void);

/* Starts the job process (posix_spawn) and queues the request, with every
 * CR and LF replaced by a space, as the lifeline's first line. A spare
 * (cmd->spare) has neither egress_id nor request (NULL) until
 * egw_jobproc_assign(). */
egw_jobproc_t *egw_jobproc_spawn(const egw_jobproc_cmd_t *cmd, const char *egress_id,
                                 const char *request, size_t request_len, char *errstr,
                                 size_t errstr_size);

/* Gives a spare its egress and request (the lifeline's first line); 0, or
 * -1 when p is no unassigned spare or its lifeline is closed. */
int egw_jobproc_assign(egw_jobproc_t *p, const char *egress_id, const char *request,
                       size_t request_len);

/* Queues one line (a '\n' is added; line must not contain one) and writes
 * what the pipe takes now. Returns 0, or -1 when the lifeline is closed or
 * broken (the line is not delivered). */
int egw_jobproc_send(egw_jobproc_t *p, const char *line, size_t len);

/* Writes queued lifeline bytes. Returns -1 when the lifeline broke. */
int egw_jobproc_flush(egw_jobproc_t *p);

/* Non-zero while lifeline bytes wait for the pipe (poll for POLLOUT). */
int egw_jobproc_pending(const egw_jobproc_t *p);

/* Reads what the process wrote; calls on_line for each complete line.
 * Returns 0 at EOF, 1 otherwise. */
int egw_jobproc_read(egw_jobproc_t *p, void (*on_line)(void *opaque, egw_jobproc_t *p, char *line),
                     void *opaque);

/* Asks the process to stop and finalise: a stop line on the lifeline, or
 * SIGTERM when the lifeline is broken. Records when (stop_at). */
/* reason: the final event's (NULL: "stop requested"). */
void egw_jobproc_request_stop(egw_jobproc_t *p, const char *reason);

/* Non-zero while the process only uploads (resumed, or its media ended
 * and its status is uploading): no media to lose, nothing to finalise. */
int egw_jobproc_uploading(const egw_jobproc_t *p);

/* SIGTERM: a job that uploads leaves the rest to the next worker. */
void egw_jobproc_terminate(egw_jobproc_t *p);

/* Whether line is a spare's "warm" line ({"spare":"ready"}); if so, p is
 * marked spare_ready. (It may come after the spare was given its job.) */
int egw_jobproc_spare_line(egw_jobproc_t *p, const char *line);

/* Closes the lifeline: a spare without a request exits quietly. */
void egw_jobproc_dismiss(egw_jobproc_t *p);
/* SIGKILL (the stop grace period is over). */
void egw_jobproc_kill(egw_jobproc_t *p);

/* Non-blocking reap; returns 1 once the process has exited (the lifeline
 * is closed then). */
int egw_jobproc_reap(egw_jobproc_t *p);

void egw_jobproc_free(egw_jobproc_t *p);

#endif
