/* Resuming what an egress left in the spool (see deliver.h):
 * `egress upload EGRESS_ID`, and which journals wait for it. */
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "contract/status.h"
#include "job/deliver_int.h"
#include "storage/spool.h"

struct resume {
	egw_status_t status;
	GMainLoop *loop;
	int exit;
};

static void resume_emit(void *user, const char *status, json_t *outputs, json_t *details,
                        egw_err_t err, const char *message)
{
	struct resume *r = user;
	json_t *ev = egw_status_event(&r->status, status, outputs, details, err, message);
	char *line = ev ? json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	if (line) {
		fprintf(stdout, "%s\n", line);
		fflush(stdout);
	}
	EGW_LOG(r->status.egress_id, INFO, "status %s%s%s", status, err ? ": " : "",
	        err ? message : "");
	free(line);
	json_decref(ev);
	json_decref(details);
}

static void resume_done(void *user, egw_err_t err)
{
	struct resume *r = user;
	r->exit = err ? 1 : 0;
	if (r->loop)
		g_main_loop_quit(r->loop);
}

static gboolean resume_stop(gpointer user)
{
	struct resume *r = user;
	EGW_LOG(r->status.egress_id, WARN, "stopped: the uploads left go on at the next start");
	r->exit = 3;
	g_main_loop_quit(r->loop);
	return G_SOURCE_REMOVE;
}

static gboolean resume_lifeline(gint fd, GIOCondition cond, gpointer user)
{
	char buf[4096];
	ssize_t n = (cond & G_IO_IN) ? read(fd, buf, sizeof(buf)) : 0;
	if (n > 0)
		return G_SOURCE_CONTINUE; /* (requests are not for an upload) */
	resume_stop(user);
	return G_SOURCE_REMOVE;
}

/* A journal without a final event: its job process died before it
 * finalised; what it wrote goes up as it is, reported failed. */
static json_t *final_of_dead_job(egw_delivery_t *d)
{
	char **files = egw_spool_files(d->st->spool_dir, d->egress_id);
	json_t *outs = json_array();
	for (char **f = files; *f; f++) {
		char *path = g_build_filename(d->dir, *f, NULL);
		struct stat sb;
		if (!stat(path, &sb))
			json_array_append_new(outs, json_pack("{s:s, s:s, s:I}", "kind", "file",
			                                      "location", path, "size",
			                                      (json_int_t)sb.st_size));
		g_free(path);
	}
	g_strfreev(files);
	return json_pack("{s:s, s:{s:s, s:s}, s:o}", "status", "failed", "error", "code",
	                 egw_err2code(EGW_ERR_WORKER_LOST), "message",
	                 "the job process ended before it finalised its outputs; the files it "
	                 "wrote were uploaded as they are",
	                 "outputs", outs);
}

int egw_delivery_resume_main(const egw_job_settings_t *st, const char *egress_id, int lifeline)
{
	static const egw_delivery_events_t ev = {resume_emit, resume_done, NULL};
	struct resume r = {.exit = 2};
	egw_delivery_t *d = egw_delivery_new(st, egress_id);
	char errstr[512];
	json_t *final;
	guint sig = 0, life = 0;

	snprintf(r.status.egress_id, sizeof(r.status.egress_id), "%s", egress_id);
	snprintf(r.status.worker_id, sizeof(r.status.worker_id), "%s",
	         st->worker_id ? st->worker_id : "");
	if ((d->lock_fd = egw_spool_lock(st->spool_dir, egress_id)) < 0) {
		EGW_LOG(egress_id, WARN, "spool %s: missing, or in use by another process", d->dir);
		goto out;
	}
	if (!(d->journal = egw_spool_read(st->spool_dir, egress_id, errstr, sizeof(errstr)))) {
		EGW_LOG(egress_id, ERROR, "%s", errstr);
		goto out;
	}
	if (json_is_true(json_object_get(d->journal, "final_sent"))) {
		EGW_LOG(egress_id, INFO, "already reported; its files that failed stay in %s",
		        d->dir);
		r.exit = 0;
		goto out;
	}
	if (!json_is_object(json_object_get(d->journal, "final")))
		json_object_set_new(d->journal, "final", final_of_dead_job(d));
	final = json_object_get(d->journal, "final");
	snprintf(r.status.started_at, sizeof(r.status.started_at), "%s",
	         jstr(final, "started_at") ? jstr(final, "started_at") : "");
	if (jstr(final, "ended_at"))
		snprintf(r.status.ended_at, sizeof(r.status.ended_at), "%s",
		         jstr(final, "ended_at"));
	else
		egw_time_now(r.status.ended_at, sizeof(r.status.ended_at));
	d->ev = ev;
	d->user = &r;
	if (egw_delivery_resolve(d, errstr, sizeof(errstr))) {
		json_array_append_new(json_object_get(d->journal, "failed"),
		                      json_pack("{s:s, s:s, s:s}", "file", "", "code",
		                                egw_err2code(EGW_ERR_INVALID_REQUEST), "message",
		                                errstr));
		egw_delivery_report(d);
		goto out;
	}
	EGW_LOG(egress_id, INFO, "resuming the uploads of %s", d->dir);
	r.loop = g_main_loop_new(NULL, FALSE);
	sig = g_unix_signal_add(SIGTERM, resume_stop, &r);
	if (lifeline)
		life = g_unix_fd_add(0, G_IO_IN | G_IO_HUP | G_IO_ERR, resume_lifeline, &r);
	d->busy = 1;
	egw_delivery_upload_all(d);
	if (d->busy)
		g_main_loop_run(r.loop);
	if (sig)
		g_source_remove(sig);
	if (life)
		g_source_remove(life);
	g_main_loop_unref(r.loop);
out:
	egw_delivery_free(d);
	return r.exit;
}

int egw_delivery_webhook(const char *spool_dir, const char *egress_id, char **url,
                         char **secret)
{
	char errstr[256];
	json_t *j = egw_spool_read(spool_dir, egress_id, errstr, sizeof(errstr));
	json_t *hook = json_object_get(j, "webhook");
	*url = jstr(hook, "url") ? g_strdup(jstr(hook, "url")) : NULL;
	*secret = jstr(hook, "secret") ? g_strdup(jstr(hook, "secret")) : NULL;
	json_decref(j);
	return *url != NULL;
}

int egw_delivery_sweep_inputs(const char *spool_dir)
{
	return egw_spool_sweep_inputs(spool_dir);
}

char **egw_delivery_pending(const char *spool_dir)
{
	char **ids = egw_spool_journals(spool_dir);
	GPtrArray *out = g_ptr_array_new();
	for (char **id = ids; id && *id; id++) {
		char errstr[256];
		int fd = egw_spool_lock(spool_dir, *id);
		json_t *j = fd >= 0 ? egw_spool_read(spool_dir, *id, errstr, sizeof(errstr)) : NULL;
		if (j && !json_is_true(json_object_get(j, "final_sent")))
			g_ptr_array_add(out, g_strdup(*id));
		json_decref(j);
		if (fd >= 0)
			close(fd);
	}
	g_strfreev(ids);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}
