#include "contract/status.h"

#include <string.h>

#include "base/log.h"

static json_t *opt_time(const char *t)
{
	return t[0] ? json_string(t) : json_null();
}

json_t *egw_status_event(const egw_status_t *st, const char *status, json_t *outputs,
			 json_t *details, egw_err_t err, const char *message)
{
	char now[32];
	json_t *ev, *error = json_null();

	egw_time_now(now, sizeof(now));
	if (!strcmp(status, "failed") || !strcmp(status, "rejected"))
		error = json_pack("{s:s, s:s}", "code", egw_err2code(err), "message",
				  message ? message : egw_err2str(err));
	ev = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "egress_id", st->egress_id,
		       "status", status, "worker_id", st->worker_id, "time", now, "started_at",
		       opt_time(st->started_at), "ended_at", opt_time(st->ended_at), "outputs",
		       outputs ? json_incref(outputs) : json_array(), "error", error);
	if (ev && details)
		json_object_update_missing(ev, details);
	return ev;
}

int egw_status_is_terminal(const char *status)
{
	return status && (!strcmp(status, "complete") || !strcmp(status, "failed") ||
			  !strcmp(status, "aborted"));
}
