/* A render job's part of the runner (see runner_int.h): its recording
 * fetched from object storage first when its manifest is there
 * (render_fetch.h), its lower priority, its progress. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "job/deliver.h"
#include "job/render.h"
#include "job/render_fetch.h"
#include "job/runner_int.h"
#include "storage/spool.h"

/* A render's progress: to the status topic (an `active` event with
 * details.event "progress", at most every PROGRESS_EVENT_S or every 5 %),
 * and for `egress run`/`egress render`, a bar on a terminal or a log line
 * every PROGRESS_LINE_S otherwise. */
#define PROGRESS_EVENT_S 10
#define RENDER_NICE 10
#define PROGRESS_LINE_S 5
static gboolean report_progress(gpointer user)
{
	runner_t *r = user;
	const egw_render_plan_t *rp = r->plan->media.render;
	double span = rp->end_s - rp->start_s, at = egw_session_position_s(r->session);
	double elapsed = (g_get_monotonic_time() - r->render_t0_us) / 1e6;
	double speed = elapsed > 0 ? at / elapsed : 0, eta = speed > 0 ? (span - at) / speed : -1;
	int pct = span > 0 ? (int)(100.0 * (at < span ? at : span) / span) : 100;
	gint64 now = g_get_monotonic_time();

	if (!r->active || r->done)
		return G_SOURCE_CONTINUE;
	if (pct >= r->progress_pct + 5 ||
	    now - r->progress_emit_us >= (gint64)PROGRESS_EVENT_S * G_USEC_PER_SEC) {
		json_t *d = json_pack("{s:{s:s, s:i, s:f, s:f, s:f}}", "details", "event",
		                      "progress", "percent", pct, "position_s", at, "speed", speed,
		                      "eta_s", eta < 0 ? 0.0 : eta);
		egw_runner_emit(r, "active", NULL, d);
		r->progress_pct = pct;
		r->progress_emit_us = now;
		if (!r->lifeline && !r->progress_bar)
			EGW_LOG(r->status.egress_id, INFO,
			        "rendered %d%% (%.1f of %.1f s, %.1fx real time, %.0f s left)", pct,
			        at, span, speed, eta < 0 ? 0.0 : eta);
	}
	if (r->progress_bar) {
		char bar[41];
		int n = pct * 40 / 100;
		memset(bar, '#', (size_t)n);
		memset(bar + n, '.', (size_t)(40 - n));
		bar[40] = '\0';
		fprintf(stderr, "\r[%s] %3d%%  %.1fx  %4.0f s left ", bar, pct, speed,
		        eta < 0 ? 0.0 : eta);
		fflush(stderr);
	}
	return G_SOURCE_CONTINUE;
}

void egw_runner_render_begin(runner_t *r)
{
	r->render_t0_us = g_get_monotonic_time();
	EGW_LOG(r->status.egress_id, INFO, "rendering %s (%zu tracks of %s)",
	        r->render_from ? r->render_from : r->job->source.manifest, r->plan->media.render->n_tracks,
	        egw_render_input_egress_id(r->plan->render)
	                ? egw_render_input_egress_id(r->plan->render)
	                : "a recording");
	r->progress_bar = !r->lifeline && isatty(STDERR_FILENO);
	r->progress_emit_us = 0; /* the first report goes out at once */
	r->progress_timer = g_timeout_add(r->progress_bar ? 500 : 1000, report_progress, r);
}


void egw_runner_render_progress(runner_t *r)
{
	report_progress(r);
}

void egw_runner_render_prepare(runner_t *r)
{
	/* A render takes what CPU the live egresses beside it leave: a lower
	 * priority, before its threads are made (they inherit it). */
	if (setpriority(PRIO_PROCESS, 0, RENDER_NICE))
		EGW_LOG(r->status.egress_id, WARN, "cannot lower the render's priority");
}

static void remove_inputs(runner_t *r)
{
	if (r->inputs_dir && egw_spool_rmtree(r->inputs_dir))
		EGW_LOG(r->status.egress_id, WARN, "cannot remove %s: %s", r->inputs_dir,
		        g_strerror(errno));
}

static void on_fetched(void *user, egw_err_t err, const char *message, const char *manifest)
{
	runner_t *r = user;
	egw_render_fetch_t *f = r->fetch; /* message and manifest are its */

	r->fetch = NULL;
	if (r->stopping || r->done) {
		egw_render_fetch_free(f);
		return;
	}
	if (err) {
		egw_runner_fail(r, err, message);
		egw_render_fetch_free(f);
		return;
	}
	/* the render reads the local copy from now on */
	r->render_from = r->job->source.manifest;
	r->job->source.manifest = strdup(manifest); /* the job frees it (free()) */
	egw_render_fetch_free(f);
	if (!r->job->source.manifest) {
		r->job->source.manifest = r->render_from;
		r->render_from = NULL;
		egw_runner_fail(r, EGW_ERR_NOMEM, "out of memory");
		return;
	}
	egw_runner_start_media(r);
}

egw_err_t egw_runner_render_fetch(runner_t *r, int *fetching, char *errstr, size_t errstr_size)
{
	egw_store_t *store = egw_delivery_store(r->delivery);
	egw_err_t err;

	*fetching = 0;
	if (!egw_render_fetch_remote(r->job->source.manifest))
		return EGW_OK;
	if (!store) {
		snprintf(errstr, errstr_size,
		         "source.manifest: %s is in object storage; the job's storage must be that "
		         "storage (storage.kind s3, gcs or azure, with its bucket or container)",
		         r->job->source.manifest);
		return EGW_ERR_INVALID_REQUEST;
	}
	/* beside the egress's spool directory, not in it: what is in it is
	 * uploaded */
	r->inputs_dir = egw_spool_inputs_of(r->st->spool_dir, r->status.egress_id);
	remove_inputs(r); /* a run of this egress that was killed left them */
	r->fetch = egw_render_fetch_start(store, r->job->source.manifest, r->inputs_dir,
	                                  r->status.egress_id, on_fetched, r, &err, errstr,
	                                  errstr_size);
	if (!r->fetch)
		return err;
	*fetching = 1;
	return EGW_OK;
}

void egw_runner_render_end(runner_t *r)
{
	egw_runner_cancel(&r->progress_timer);
	if (r->progress_bar)
		fputc('\n', stderr);
	egw_render_fetch_free(r->fetch);
	r->fetch = NULL;
	remove_inputs(r);
	g_free(r->inputs_dir);
	r->inputs_dir = NULL;
	free(r->render_from); /* the job's string, malloc()ed */
	r->render_from = NULL;
}
