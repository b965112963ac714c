#include "job/lifeline.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1u << 20)

struct egw_lifeline {
	int fd;
	GString *buf;
	GSource *watch;
	egw_lifeline_events_t ev;
	void *opaque;
	int closed;
};

/* Hands every complete line in buf to the listener. */
static void split_lines(egw_lifeline_t *l)
{
	char *nl;
	while (l->ev.line && (nl = memchr(l->buf->str, '\n', l->buf->len))) {
		size_t n = (size_t)(nl - l->buf->str);
		char *line = g_strndup(l->buf->str, n);
		g_string_erase(l->buf, 0, (gssize)n + 1);
		if (n)
			l->ev.line(l->opaque, line, n);
		g_free(line);
	}
	if (l->buf->len > LINE_MAX_BYTES)
		g_string_truncate(l->buf, 0); /* a runaway line: drop it */
}

egw_lifeline_t *egw_lifeline_open(int fd, size_t max, char **first_line, size_t *len)
{
	egw_lifeline_t *l = g_new0(egw_lifeline_t, 1);
	char chunk[4096], *nl = NULL;

	l->fd = fd;
	l->buf = g_string_new(NULL);
	*first_line = NULL;
	while (!(nl = memchr(l->buf->str, '\n', l->buf->len)) && l->buf->len <= max) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		g_string_append_len(l->buf, chunk, n);
	}
	if (!nl) {
		egw_lifeline_free(l);
		return NULL;
	}
	*len = (size_t)(nl - l->buf->str);
	*first_line = g_strndup(l->buf->str, *len);
	g_string_erase(l->buf, 0, (gssize)*len + 1);
	return l;
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer user)
{
	egw_lifeline_t *l = user;
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n <= 0) {
			l->watch = NULL;
			l->closed = 1;
			split_lines(l);
			if (l->ev.closed)
				l->ev.closed(l->opaque);
			return G_SOURCE_REMOVE;
		}
		g_string_append_len(l->buf, chunk, n);
		split_lines(l);
	}
}

void egw_lifeline_watch(egw_lifeline_t *l, GMainContext *ctx, const egw_lifeline_events_t *ev,
			void *opaque)
{
	l->ev = *ev;
	l->opaque = opaque;
	fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
	split_lines(l); /* what came with the first line */
	l->watch = g_unix_fd_source_new(l->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(l->watch, G_SOURCE_FUNC(on_readable), l, NULL);
	g_source_attach(l->watch, ctx);
	g_source_unref(l->watch); /* the context keeps it until it is removed */
}

void egw_lifeline_free(egw_lifeline_t *l)
{
	if (!l)
		return;
	if (l->watch)
		g_source_destroy(l->watch);
	g_string_free(l->buf, TRUE);
	g_free(l);
}
