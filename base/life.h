/* The one way work crosses threads here: "run this on that main context,
 * if its target still lives".
 *
 * An owner that lives on a GLib main context (a subscription, a session, a
 * job) creates an egw_life_t for itself. Other threads (GStreamer streaming
 * threads, webrtcbin's signal emissions) never touch the owner directly:
 * they hold a reference on its life and queue work with egw_life_invoke().
 * The work runs on the owner's context and only while the owner is alive;
 * the owner ends its life (egw_life_end(), on its context) before it frees
 * itself, so queued work that runs later finds it dead and is skipped (its
 * data is still freed).
 *
 * The lifetime rule, in one line: the target pointer is only dereferenced
 * on the owner's context, and only while egw_life_alive() is true there.
 * locality: egw_life_invoke/ref/unref from any thread; new/end/alive on the
 * owner's context. */
#ifndef EGW_LIFE_H
#define EGW_LIFE_H

#include <glib.h>

typedef struct egw_life egw_life_t;

/* A live token for target on ctx (NULL = the global default context).
 * The caller holds the first reference. */
egw_life_t *egw_life_new(GMainContext *ctx, void *target);

/* Marks the target dead (no queued work will touch it) and drops the
 * owner's reference. NULL ok. */
void egw_life_end(egw_life_t *life);

int egw_life_alive(const egw_life_t *life);
void *egw_life_target(const egw_life_t *life);
GMainContext *egw_life_context(const egw_life_t *life);

egw_life_t *egw_life_ref(egw_life_t *life);
void egw_life_unref(egw_life_t *life);

/* Queues fn(target, data) on the life's context. If the target is dead by
 * then, fn is skipped. free_data (may be NULL) frees data in both cases,
 * on that context (or right away if the context is gone). */
void egw_life_invoke(egw_life_t *life, void (*fn)(void *target, void *data), void *data,
		     GDestroyNotify free_data);

#endif
