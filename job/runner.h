/* One egress in this process (`egress run`, and every job process the
 * worker supervises): parse, join the room, record, finalise, and report
 * each state change as a JSON line on stdout.
 * locality: the process's main thread and GLib main context. */
#ifndef EGW_RUNNER_H
#define EGW_RUNNER_H

#include "job/settings.h"

/* job_path: a file, or "-" for stdin. duration_s > 0 stops after that long.
 * Returns the exit status: 0 when the egress ended complete. */
int egw_runner_main(const egw_job_settings_t *cfg, const char *job_path, double duration_s);

#endif
