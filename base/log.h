/* Logging: one macro, printf-checked, carrying the egress id and the module
 * (source folder) that logs, each module with its own level. Lines go to
 * stderr, as text or as JSON lines (log_format json).
 * locality: any thread. */
#ifndef EGW_LOG_H
#define EGW_LOG_H

#include <stddef.h>

typedef enum egw_log_level {
	EGW_LOG_ERROR = 0,
	EGW_LOG_WARN = 1,
	EGW_LOG_INFO = 2,
	EGW_LOG_DEBUG = 3,
} egw_log_level_t;

/* The module of a log line: the source folder of the code that writes it.
 * CMake defines EGW_LOG_MODULE as EGW_LOG_MOD_<FOLDER> for the files of each
 * folder (scripts/layers.txt), so the module is a constant of every call site;
 * code outside the folders (test tools, fuzz targets) is EGW_LOG_MOD_NONE,
 * which follows the default level and names no module. A new folder needs
 * its entry here and in the names of base/log.c. */
typedef enum egw_log_module {
	EGW_LOG_MOD_BASE,
	EGW_LOG_MOD_CONTRACT,
	EGW_LOG_MOD_HTTP,
	EGW_LOG_MOD_COMPOSITOR,
	EGW_LOG_MOD_STORAGE,
	EGW_LOG_MOD_SFU,
	EGW_LOG_MOD_PIPELINES,
	EGW_LOG_MOD_JOB,
	EGW_LOG_MOD_WORKER,
	EGW_LOG_MOD_NONE,
} egw_log_module_t;

#define EGW_LOG_MOD_COUNT EGW_LOG_MOD_NONE /* the real modules */

#ifndef EGW_LOG_MODULE
#define EGW_LOG_MODULE EGW_LOG_MOD_NONE
#endif

/* Reads EGRESS_LOG_LEVEL (levels, as egw_log_check_levels() reads them) and
 * EGRESS_LOG_FORMAT (text|json) once, so that logging works before the
 * configuration is loaded (values it does not know are left to the
 * configuration to refuse); safe to call again. */
void egw_log_init(void);

/* Checks a log_level setting: a level (error, warn, info, debug) for every
 * module, then ",module=level" items for some, e.g. "info,sfu=debug,storage=warn";
 * the default level may be left out ("sfu=debug": info elsewhere). Levels
 * and modules in any case, spaces around items allowed. Returns 0, or -1
 * with why a phrase to follow the setting's name ("has an unknown level ..."). */
int egw_log_check_levels(const char *levels, char *why, size_t why_size);

/* Applies the validated log_level (levels as above) and log_format
 * settings; returns -1, changing nothing, when levels is not valid.
 * locality: call before other threads log (start-up). */
int egw_log_configure(const char *levels, int json);

/* Name of a module ("sfu"); NULL for EGW_LOG_MOD_NONE. */
const char *egw_log_module_name(egw_log_module_t module);

void egw_log_write(egw_log_module_t module, const char *egress_id, egw_log_level_t level,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Would a line of module at level be written? */
int egw_log_module_enabled(egw_log_module_t module, egw_log_level_t level);

/* Would a line at level be written here (the caller's module)? To skip
 * costly message building: a call and an array look-up. */
#define egw_log_enabled(level) egw_log_module_enabled(EGW_LOG_MODULE, (level))

/* A line at a level known at run time (EGW_LOG_WARN, ...), of the caller's
 * module. */
#define egw_log(ctx, level, ...) egw_log_write(EGW_LOG_MODULE, (ctx), (level), __VA_ARGS__)

/* ctx is the egress id (const char *), or NULL for worker-wide lines. The
 * line is of the caller's module (EGW_LOG_MODULE). */
#define EGW_LOG(ctx, level, ...) egw_log_write(EGW_LOG_MODULE, (ctx), EGW_LOG_##level, __VA_ARGS__)

/* Current UTC time as "2026-11-25T20:15:12.345Z": the one timestamp format
 * of log lines and status events. */
void egw_time_now(char *buf, size_t size);

/* Copies s into out with the user-info and query of any URL replaced by
 * "***", so stream keys and credentials never reach a log line. */
void egw_log_redact_url(const char *url, char *out, unsigned long out_size);

/* Stricter: scheme, user-info mask and host only, then a slash and three
 * stars when anything followed (for URLs that may hold a secret in their first path
 * segment too: websocket tokens, malformed stream URLs). */
void egw_log_redact_url_host(const char *url, char *out, unsigned long out_size);

/* Copies text into out with every URL in it (a scheme, "://", up to the
 * next space or quote) redacted as egw_log_redact_url() does: for messages
 * that come from libraries and may quote a URL (a GStreamer sink's error
 * naming its location). */
void egw_log_redact_text(const char *text, char *out, unsigned long out_size);

#endif
