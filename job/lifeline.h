/* The job's end of the lifeline (see runner.h): the start request as the
 * first line of standard input, then control requests, one per line; end
 * of input when the worker is gone.
 * locality: the job's main context. */
#ifndef EGW_LIFELINE_H
#define EGW_LIFELINE_H

#include <glib.h>
#include <stddef.h>

typedef struct egw_lifeline egw_lifeline_t;

typedef struct egw_lifeline_events {
	void (*line)(void *opaque, const char *line, size_t len); /* one request */
	void (*closed)(void *opaque);                              /* the worker is gone */
} egw_lifeline_events_t;

/* Reads the first line from fd (blocking: the worker writes it at once);
 * at most max bytes. Returns NULL at end of input or when the line is too
 * long. */
egw_lifeline_t *egw_lifeline_open(int fd, size_t max, char **first_line, size_t *len);
/* From now on, lines and the end arrive as events on ctx. */
void egw_lifeline_watch(egw_lifeline_t *l, GMainContext *ctx, const egw_lifeline_events_t *ev,
			void *opaque);
void egw_lifeline_free(egw_lifeline_t *l);

#endif
