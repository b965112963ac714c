/* Logging: one macro, printf-checked, carrying the egress id.
 * Lines go to stderr, as text or as JSON lines (log_format json).
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

/* Reads EGRESS_LOG_LEVEL (error|warn|info|debug) and EGRESS_LOG_FORMAT
 * (text|json) once, so that logging works before the configuration is
 * loaded (values it does not know are left to the configuration to
 * refuse); safe to call again. */
void egw_log_init(void);

/* Applies the validated log_level and log_format settings.
 * locality: call before other threads log (start-up). */
void egw_log_configure(egw_log_level_t level, int json);

void egw_log(const char *egress_id, egw_log_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Would a line at level be written? (To skip costly message building.) */
int egw_log_enabled(egw_log_level_t level);

/* ctx is the egress id (const char *), or NULL for worker-wide lines. */
#define EGW_LOG(ctx, level, ...) egw_log((ctx), EGW_LOG_##level, __VA_ARGS__)

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
