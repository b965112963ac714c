/* `egress dashboard`: a small web page of the fleet's egresses, served by
 * the operator's CLI from the status topic (read from its start, then
 * continuously, with the worker's configuration):
 *
 *   GET /                 the page (HTML, CSS and JS in the binary: no
 *                         external assets); it polls /api/egresses every
 *                         second
 *   GET /api/egresses     JSON: every egress's last state (below)
 *   GET /thumb/EGRESS_ID  the latest thumbnail (JPEG) of an egress whose
 *                         status events name an `images` output on this
 *                         machine's disk
 *   GET /healthz          200 ok
 *
 * What is shown comes from status events only (already redacted; presigned
 * URLs are left out); nothing comes from the requests of the page. One
 * thread: the loop polls the Kafka consumer and runs the HTTP daemon.
 * locality: the command's thread (a process of its own). */
#ifndef EGW_DASHBOARD_H
#define EGW_DASHBOARD_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker/config.h"

#define EGW_DASHBOARD_LISTEN "127.0.0.1:8089"

/* Serves the page on listen ("IPV4:PORT") until *stop. Returns an
 * EGW_OPS_* exit status (worker/ops.h): INVALID when listen is not an
 * address to listen on, UNREACHABLE when the status topic cannot be read. */
int egw_dashboard_run(const egw_config_t *cfg, const char *listen, volatile sig_atomic_t *stop);

/* ---- the fleet: egresses by id, from their status events (exposed for
 * tests) ---- */

typedef struct egw_fleet egw_fleet_t;

egw_fleet_t *egw_fleet_new(void);
void egw_fleet_free(egw_fleet_t *f);

/* Takes one message value of the status topic; 0 when it changed an
 * egress, -1 when it was ignored (not JSON, no egress_id or status, or a
 * `rejected` event, which is no state of the egress). */
int egw_fleet_take(egw_fleet_t *f, const char *value, size_t len);

/* How many egresses are known. */
size_t egw_fleet_size(const egw_fleet_t *f);

/* The egresses as the page shows them (json_decref), running ones first,
 * then the most recently seen, at most max: {"egresses": [...], "total",
 * "by_status": {status: n}}. Each egress: egress_id, status, worker_id,
 * time, started_at, ended_at, duration_s (started_at to ended_at, or to
 * now_ms; null before media), reason, error, details_event (of its last
 * event), outputs (below) and thumb (the /thumb URL, or null). Each output:
 * name ("outputs[i]"; the manifest has none), kind, format, location, the
 * sizes and counts the event gives, state (its own, its destinations',
 * `failed` when it failed alone, else the egress's status), error and
 * destinations. */
json_t *egw_fleet_json(egw_fleet_t *f, int64_t now_ms, size_t max);

/* An egress's latest thumbnail opened for reading (close it; its size in
 * *size), or -1: the file of the `..._%05d.jpg` pattern its events name
 * (an absolute path) with the highest number that exists, when it is a
 * regular file (not a link) that begins as a JPEG does. No other file is
 * ever opened: the id only selects an egress. */
int egw_fleet_thumb_open(egw_fleet_t *f, const char *egress_id, off_t *size);

/* The file of pattern number n (g_free), or NULL when pattern is not an
 * absolute `<path>_%05d.jpg` without other conversions or `..` parts. */
char *egw_fleet_thumb_file(const char *pattern, long n);

#endif
