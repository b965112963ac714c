/* One egress in this process (`egress run`, and every job process the
 * worker supervises): parse, join the room, record, finalise, and report
 * each state change as a JSON line on stdout.
 *
 * The lifeline (`egress run - --lifeline`, how the worker starts a job):
 * standard input carries the start request as its first line (the worker
 * replaces CR and LF in the request by spaces; JSON strings cannot hold raw
 * line breaks, so the request means the same), then control requests of
 * the contract (`stop`, `update_layout`, `update_stream`), one JSON object
 * per line, for as long as the egress runs. End of input means the worker
 * is gone: the egress stops and finalises its outputs as for a stop. The
 * job process also asks the kernel for SIGTERM when its parent dies
 * (PR_SET_PDEATHSIG), as a backstop. Without --lifeline, standard input
 * ("-") or the file is the whole request.
 * locality: the process's main thread and GLib main context. */
#ifndef EGW_RUNNER_H
#define EGW_RUNNER_H

#include "job/settings.h"

/* lifeline: a spare, warmed up before its request comes (the worker's pool
 * of job processes for bursts of starts; worker/spares.h). */
#define EGW_RUNNER_SPARE 2
/* The line a spare writes on its stdout once it is warm. */
#define EGW_RUNNER_SPARE_READY "{\"spare\":\"ready\"}"

/* job_path: a file, or "-" for stdin. duration_s > 0 stops after that long.
 * lifeline: 0, 1 (see above; job_path must be "-") or EGW_RUNNER_SPARE.
 * Returns the exit status: 0 when the egress ended complete. */
int egw_runner_main(const egw_job_settings_t *settings, const char *job_path, double duration_s,
                    int lifeline);

#endif
