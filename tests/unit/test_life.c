/* base/life: work queued from other threads runs on the owner's context
 * while the owner lives, is skipped once it ended, and its data is freed
 * either way. */
#include <glib.h>

#include "base/life.h"
#include "tests/unit/check.h"

struct owner {
	int runs;
	int last;
};

static gint freed;

static void work(void *target, void *data)
{
	struct owner *o = target;
	o->runs++;
	o->last = GPOINTER_TO_INT(*(gpointer *)data);
}

static void free_data(gpointer p)
{
	g_atomic_int_inc(&freed);
	g_free(p);
}

static gpointer queue_from_thread(gpointer life)
{
	for (int i = 1; i <= 100; i++) {
		gpointer *d = g_new(gpointer, 1);
		*d = GINT_TO_POINTER(i);
		egw_life_invoke(life, work, d, free_data);
	}
	egw_life_unref(life);
	return NULL;
}

static void drain(GMainContext *ctx)
{
	while (g_main_context_iteration(ctx, FALSE))
		;
}

int main(void)
{
	GMainContext *ctx = g_main_context_new();
	struct owner o = {0};
	egw_life_t *life = egw_life_new(ctx, &o);

	/* Alive: every queued call runs, in order, on the owner's context. */
	g_thread_join(g_thread_new("queue", queue_from_thread, egw_life_ref(life)));
	CHECK(o.runs == 0); /* never inline */
	drain(ctx);
	CHECK(o.runs == 100 && o.last == 100);
	CHECK(g_atomic_int_get(&freed) == 100);
	CHECK(egw_life_alive(life) && egw_life_target(life) == &o);

	/* Ended: queued calls are skipped, their data still freed. */
	g_thread_join(g_thread_new("queue", queue_from_thread, egw_life_ref(life)));
	egw_life_end(life); /* the owner's reference goes */
	drain(ctx);
	CHECK(o.runs == 100);
	CHECK(g_atomic_int_get(&freed) == 200);

	egw_life_end(NULL); /* NULL is fine */
	g_main_context_unref(ctx);
	return CHECK_DONE();
}
