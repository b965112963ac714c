/* TEMPORARY adapter, for as long as job/runner.c does not implement the
 * lifeline itself (egw_runner_main(..., lifeline=1), see job/runner.h).
 *
 * Called by `egress run - --lifeline` before the runner, in the job
 * process: it reads the start request (the lifeline's first line), makes
 * it the runner's whole standard input (a memfd), and watches the rest of
 * the lifeline in a thread. A stop line, or the end of the lifeline (the
 * worker is gone), becomes SIGTERM, which the runner handles as a stop;
 * update lines are logged and ignored (the runner cannot apply them yet).
 * The job process also gets SIGTERM when the worker dies
 * (PR_SET_PDEATHSIG).
 *
 * Remove this file and its call in worker/main.c when the runner reads the
 * lifeline itself: both reading standard input would break every job.
 * locality: main thread before the runner starts; then its own thread. */
#ifndef EGW_LIFELINE_COMPAT_H
#define EGW_LIFELINE_COMPAT_H

#include <stddef.h>

/* Returns 0, or -1 with errstr set (standard input is then unusable). */
int egw_lifeline_compat_start(char *errstr, size_t errstr_size);

#endif
