/* Status events of the contract (starting, active, ending, complete,
 * failed, aborted; and rejected: a request refused without touching the
 * egress it names), built with jansson. Never carry secrets: callers pass
 * only locations, sizes and redacted messages.
 * locality: any thread; an egw_status_t belongs to one job. */
#ifndef EGW_STATUS_H
#define EGW_STATUS_H

#include <jansson.h>

#include "base/err.h"

typedef struct egw_status {
	char egress_id[65];
	char worker_id[128];
	char started_at[32]; /* "" until the job started */
	char ended_at[32];
} egw_status_t;

/* One event. outputs (borrowed, may be NULL) is an array of
 * {"kind","location","size","duration_s"}; details (borrowed, may be NULL)
 * is merged into the event (e.g. {"participant":"alice"}). err/message
 * are used for "failed" and "rejected" only. Returns a new reference. */
json_t *egw_status_event(const egw_status_t *st, const char *status, json_t *outputs,
			 json_t *details, egw_err_t err, const char *message);

/* Returns 1 for the terminal states complete, failed and aborted
 * ("rejected" is not a state of the egress, so never terminal). */
int egw_status_is_terminal(const char *status);

#endif
