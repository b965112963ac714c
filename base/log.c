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
 * configuration at start-up (egw_log_configure); read-only after that.
 * level[m] is the least severe level written for module m;
 * level[EGW_LOG_MOD_NONE] is the default level. */
static struct {
	pthread_once_t once;
	unsigned char level[EGW_LOG_MOD_NONE + 1];
	int json;
} logcfg = {PTHREAD_ONCE_INIT, {[0 ... EGW_LOG_MOD_NONE] = EGW_LOG_INFO}, 0};

static const char *level_names[] = {"error", "warn", "info", "debug"};

static const char *const module_names[EGW_LOG_MOD_COUNT] = {
        [EGW_LOG_MOD_BASE] = "base",           [EGW_LOG_MOD_CONTRACT] = "contract",
        [EGW_LOG_MOD_HTTP] = "http",           [EGW_LOG_MOD_COMPOSITOR] = "compositor",
        [EGW_LOG_MOD_STORAGE] = "storage",     [EGW_LOG_MOD_SFU] = "sfu",
        [EGW_LOG_MOD_PIPELINES] = "pipelines", [EGW_LOG_MOD_JOB] = "job",
        [EGW_LOG_MOD_WORKER] = "worker",
};

const char *egw_log_module_name(egw_log_module_t module)
{
	return (unsigned)module < EGW_LOG_MOD_COUNT ? module_names[module] : NULL;
}

/* Index of the word (len bytes at s, any case) in names, or -1. */
static int word_index(const char *s, size_t len, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) == len && !strncasecmp(s, names[i], len))
			return i;
	return -1;
}

static void list_words(const char *const *names, int n, char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", names[i]);
}

static int refuse(char *why, size_t why_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;
	if (why && why_size) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* One item of a levels setting: "level" (the default) or "module=level"
 * (s, len bytes, trimmed) into level and given. */
static int parse_item(const char *s, size_t len, unsigned char *level, int *given, char *why,
                      size_t why_size)
{
	const char *eq = memchr(s, '=', len), *word = eq ? eq + 1 : s;
	size_t nlen = eq ? (size_t)(eq - s) : 0, wlen = len - (size_t)(word - s);
	int m = EGW_LOG_MOD_NONE, lvl;
	char names[160];

	while (nlen && s[nlen - 1] == ' ')
		nlen--;
	while (wlen && *word == ' ')
		word++, wlen--;
	if (eq && (m = word_index(s, nlen, module_names, EGW_LOG_MOD_COUNT)) < 0) {
		list_words(module_names, EGW_LOG_MOD_COUNT, names, sizeof(names));
		return refuse(why, why_size, "names an unknown module \"%.*s\" (modules: %s)",
		              (int)(nlen > 40 ? 40 : nlen), s, names);
	}
	if ((lvl = word_index(word, wlen, level_names, 4)) < 0) {
		list_words(level_names, 4, names, sizeof(names));
		return refuse(why, why_size, "has an unknown level \"%.*s\" (levels: %s)",
		              (int)(wlen > 40 ? 40 : wlen), word, names);
	}
	if (given[m])
		return m == EGW_LOG_MOD_NONE
		               ? refuse(why, why_size, "gives the default level twice")
		               : refuse(why, why_size, "gives the level of %s twice",
		                        module_names[m]);
	given[m] = 1;
	level[m] = (unsigned char)lvl;
	return 0;
}

/* "info,sfu=debug" into level[] (every module's, then the default). */
static int parse_levels(const char *text, unsigned char level[EGW_LOG_MOD_NONE + 1], char *why,
                        size_t why_size)
{
	int given[EGW_LOG_MOD_NONE + 1] = {0};
	unsigned char got[EGW_LOG_MOD_NONE + 1] = {0};
	const char *s = text ? text : "";

	if (!s[strspn(s, " ")])
		return refuse(why, why_size, "must not be empty");
	got[EGW_LOG_MOD_NONE] = EGW_LOG_INFO;
	for (;;) {
		size_t len = strcspn(s, ","), skip = strspn(s, " ");
		const char *item = s + (skip < len ? skip : len);
		size_t ilen = len - (size_t)(item - s);
		while (ilen && item[ilen - 1] == ' ')
			ilen--;
		if (!ilen)
			return refuse(why, why_size,
			              "has an empty item (items are separated by one comma)");
		if (parse_item(item, ilen, got, given, why, why_size))
			return -1;
		if (!s[len])
			break;
		s += len + 1;
	}
	for (int m = 0; m < EGW_LOG_MOD_COUNT; m++)
		level[m] = given[m] ? got[m] : got[EGW_LOG_MOD_NONE];
	level[EGW_LOG_MOD_NONE] = got[EGW_LOG_MOD_NONE];
	return 0;
}

int egw_log_check_levels(const char *levels, char *why, size_t why_size)
{
	unsigned char level[EGW_LOG_MOD_NONE + 1];
	return parse_levels(levels, level, why, why_size);
}

static void read_env(void)
{
	const char *lvl = getenv("EGRESS_LOG_LEVEL");
	const char *fmt = getenv("EGRESS_LOG_FORMAT");
	if (lvl)
		parse_levels(lvl, logcfg.level, NULL, 0); /* unchanged if not valid */
	logcfg.json = fmt && !strcasecmp(fmt, "json");
}

void egw_log_init(void)
{
	pthread_once(&logcfg.once, read_env);
}

int egw_log_configure(const char *levels, int json)
{
	egw_log_init();
	if (parse_levels(levels, logcfg.level, NULL, 0))
		return -1;
	logcfg.json = !!json;
	return 0;
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

int egw_log_module_enabled(egw_log_module_t module, egw_log_level_t level)
{
	egw_log_init();
	return (unsigned)module <= EGW_LOG_MOD_NONE && (unsigned)level <= logcfg.level[module];
}

void egw_log_write(egw_log_module_t module, const char *egress_id, egw_log_level_t level,
                   const char *fmt, ...)
{
	char msg[2048], ts[40];
	const char *mod = egw_log_module_name(module);
	va_list ap;

	if (!egw_log_module_enabled(module, level))
		return;
	if (egress_id && !egress_id[0])
		egress_id = NULL; /* not known (yet): a worker-wide line */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	egw_time_now(ts, sizeof(ts));

	if (logcfg.json) {
		/* s*: left out when NULL */
		json_t *o = json_pack("{s:s, s:s, s:s*, s:s, s:s*}", "time", ts, "level",
		                      level_names[level], "module", mod, "msg", msg, "egress_id",
		                      egress_id);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (line)
			fprintf(stderr, "%s\n", line);
		free(line);
		json_decref(o);
		return;
	}
	/* "<time> <level> <module> [<egress id>] <message>", level and module
	 * padded to the longest ("compositor") so that messages line up */
	fprintf(stderr, "%s %-5s %-*s%s%s%s%s%s\n", ts, level_names[level], mod ? 10 : 0,
	        mod ? mod : "", mod ? " " : "", egress_id ? "[" : "", egress_id ? egress_id : "",
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
	snprintf(out, out_size, "%.*s://%s%.*s%s", (int)(scheme_end - url), url, at ? "***@" : "",
	         (int)(path_end - host), host, path_end[0] ? "/***" : "");
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
