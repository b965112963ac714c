#include "base/life.h"

struct egw_life {
	gint refs;
	gint alive; /* written on the owner's context only */
	GMainContext *ctx;
	void *target;
};

struct invocation {
	egw_life_t *life;
	void (*fn)(void *target, void *data);
	void *data;
	GDestroyNotify free_data;
};

egw_life_t *egw_life_new(GMainContext *ctx, void *target)
{
	egw_life_t *life = g_new0(egw_life_t, 1);
	life->refs = 1;
	life->alive = 1;
	life->ctx = ctx ? g_main_context_ref(ctx) : NULL;
	life->target = target;
	return life;
}

void egw_life_end(egw_life_t *life)
{
	if (!life)
		return;
	g_atomic_int_set(&life->alive, 0);
	egw_life_unref(life);
}

int egw_life_alive(const egw_life_t *life)
{
	return life && g_atomic_int_get(&life->alive);
}

void *egw_life_target(const egw_life_t *life)
{
	return life->target;
}

GMainContext *egw_life_context(const egw_life_t *life)
{
	return life->ctx;
}

egw_life_t *egw_life_ref(egw_life_t *life)
{
	g_atomic_int_inc(&life->refs);
	return life;
}

void egw_life_unref(egw_life_t *life)
{
	if (!life || !g_atomic_int_dec_and_test(&life->refs))
		return;
	if (life->ctx)
		g_main_context_unref(life->ctx);
	g_free(life);
}

static gboolean run_invocation(gpointer p)
{
	struct invocation *iv = p;
	if (egw_life_alive(iv->life))
		iv->fn(iv->life->target, iv->data);
	return G_SOURCE_REMOVE;
}

static void free_invocation(gpointer p)
{
	struct invocation *iv = p;
	if (iv->free_data && iv->data)
		iv->free_data(iv->data);
	egw_life_unref(iv->life);
	g_free(iv);
}

void egw_life_invoke(egw_life_t *life, void (*fn)(void *target, void *data), void *data,
		     GDestroyNotify free_data)
{
	struct invocation *iv = g_new0(struct invocation, 1);
	iv->life = egw_life_ref(life);
	iv->fn = fn;
	iv->data = data;
	iv->free_data = free_data;
	/* Always queued (never run inline), so that the caller's locks and
	 * the owner's state never meet on another thread. */
	GSource *src = g_idle_source_new();
	g_source_set_priority(src, G_PRIORITY_DEFAULT);
	g_source_set_callback(src, run_invocation, iv, free_invocation);
	g_source_attach(src, life->ctx);
	g_source_unref(src);
}
