#include "base/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

/* Process-wide settings read from the environment once, then set from the
 * configuration at start-up (egw_log_configure); read-only after that. */
static struct {
	pthread_once_t once;
	egw_log_level_t level;
	int json;
} logcfg = {PTHREAD_ONCE_INIT, EGW_LOG_INFO, 0};

static const char *level_names[] = {"error", "warn", "info", "debug"};

static void read_env(void)
{
	const char *lvl = getenv("EGRESS_LOG_LEVEL");
	const char *fmt = getenv("EGRESS_LOG_FORMAT");
	for (int i = 0; lvl && i < 4; i++)
		if (!strcasecmp(lvl, level_names[i]))
			logcfg.level = (egw_log_level_t)i;
	logcfg.json = fmt && !strcasecmp(fmt, "json");
}

void egw_log_init(void)
{
	pthread_once(&logcfg.once, read_env);
}

void egw_log_configure(egw_log_level_t level, int json)
{
	egw_log_init();
	if (level >= EGW_LOG_ERROR && level <= EGW_LOG_DEBUG)
		logcfg.level = level;
	logcfg.json = !!json;
}

void egw_time_now(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n < size)
		snprintf(buf + n, size - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

int egw_log_enabled(egw_log_level_t level)
{
	egw_log_init();
	return level <= logcfg.level;
}

void egw_log(const char *egress_id, egw_log_level_t level, const char *fmt, ...)
{
	char msg[2048], ts[40];
	va_list ap;

	egw_log_init();
	if (level > logcfg.level)
		return;
	if (egress_id && !egress_id[0])
		egress_id = NULL; /* not known (yet): a worker-wide line */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	egw_time_now(ts, sizeof(ts));

	if (logcfg.json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "time", ts, "level",
				      level_names[level], "msg", msg);
		if (o && egress_id)
			json_object_set_new(o, "egress_id", json_string(egress_id));
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line)
			fprintf(stderr, "%s\n", line);
		free(line);
		json_decref(o);
		return;
	}
	fprintf(stderr, "%s %-5s %s%s%s%s\n", ts, level_names[level],
		egress_id ? "[" : "", egress_id ? egress_id : "",
		egress_id ? "] " : "", msg);
}

void egw_log_redact_url(const char *url, char *out, unsigned long out_size)
{
	const char *scheme_end, *host, *host_end, *at, *path_end;
	if (!out_size)
		return;
	if (!url) {
		snprintf(out, out_size, "(none)");
		return;
	}
	scheme_end = strstr(url, "://");
	if (!scheme_end) {
		snprintf(out, out_size, "***");
		return;
	}
	host = scheme_end + 3;
	host_end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(host_end - host));
	if (at)
		host = at + 1;
	/* Keep the first path segment (an application name such as "live" or
	 * "janus"); anything after it may be a stream key. */
	path_end = host_end;
	if (*path_end == '/')
		path_end += 1 + strcspn(path_end + 1, "/?#");
	snprintf(out, out_size, "%.*s://%s%.*s%s", (int)(scheme_end - url), url,
		 at ? "***@" : "", (int)(path_end - host), host,
		 path_end[0] ? "/***" : "");
}

void egw_log_redact_url_host(const char *url, char *out, unsigned long out_size)
{
	char *sep, *end;

	egw_log_redact_url(url, out, out_size);
	if ((sep = strstr(out, "://")) && *(end = sep + 3 + strcspn(sep + 3, "/?#")))
		snprintf(end, out_size - (unsigned long)(end - out), "/***");
}

static int url_char(char c)
{
	return c && c != ' ' && c != '\t' && c != '\n' && c != '\'' && c != '"' && c != '<' &&
	       c != '>' && c != ')';
}

static int scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '.' || c == '-';
}

void egw_log_redact_text(const char *text, char *out, unsigned long out_size)
{
	size_t n = 0;
	const char *p = text ? text : "";

	if (!out_size)
		return;
	while (*p && n + 1 < out_size) {
		const char *sep = strstr(p, "://"), *start, *end;
		char url[2048], red[2048];
		size_t len;
		if (!sep)
			break;
		for (start = sep; start > p && scheme_char(start[-1]); start--)
			;
		for (end = sep + 3; url_char(*end); end++)
			;
		/* text before the URL (all of it up to "://" when no scheme) */
		len = (size_t)((start == sep ? end : start) - p);
		if (len > out_size - 1 - n)
			len = out_size - 1 - n;
		memcpy(out + n, p, len);
		n += len;
		p = end;
		if (start == sep)
			continue;
		len = (size_t)(end - start);
		if (len >= sizeof(url))
			len = sizeof(url) - 1;
		memcpy(url, start, len);
		url[len] = '\0';
		egw_log_redact_url(url, red, sizeof(red));
		len = strlen(red);
		if (len > out_size - 1 - n)
			len = out_size - 1 - n;
		memcpy(out + n, red, len);
		n += len;
	}
	if (*p && n + 1 < out_size) {
		size_t len = strlen(p);
		if (len > out_size - 1 - n)
			len = out_size - 1 - n;
		memcpy(out + n, p, len);
		n += len;
	}
	out[n] = '\0';
}
