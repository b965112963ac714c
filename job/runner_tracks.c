/* room_tracks: a file per track, made as each track comes (see
 * runner_int.h). */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "job/plan.h"
#include "job/runner_int.h"


struct track_file {
	egw_local_file_t *file;
	egw_output_plan_t op;
	char *rel; /* the path under the storage directory (the manifest's "file") */
	char *track_id;
	char name[300]; /* "outputs[0]:<track id>" ('/' as '_'): names it in messages */
};

static void track_file_free(gpointer p)
{
	struct track_file *tf = p;
	egw_local_free(tf->file);
	g_free(tf->rel);
	g_free(tf->track_id);
	g_free(tf);
}

egw_err_t egw_runner_track_output(void *opaque, const egw_track_t *t,
                                  const egw_output_plan_t **plan, char *errstr,
                                  size_t errstr_size)
{
	runner_t *r = opaque;
	egw_path_track_t pt = {t->id, egw_media2str(t->media), t->participant.name};
	struct track_file *tf;
	char rel[4096], why[512];
	egw_err_t err;

	if ((err = egw_job_expand_track_path(r->job, r->plan->track_template, r->plan_time, &pt,
	                                     rel, sizeof(rel), errstr, errstr_size)))
		return err;
	tf = g_new0(struct track_file, 1);
	if ((err = egw_local_create(r->plan->dir, rel, &tf->file, why, sizeof(why)))) {
		snprintf(errstr, errstr_size, "outputs[0].path: %s", why);
		g_free(tf);
		return err;
	}
	tf->rel = g_strdup(rel);
	tf->track_id = g_strdup(t->id);
	snprintf(tf->name, sizeof(tf->name), "outputs[0]:%s", t->id);
	g_strdelimit(tf->name, "/", '_');
	tf->op = (egw_output_plan_t){
	        .name = tf->name,
	        .kind = "file",
	        .container = r->plan->track_container,
	        .fd = tf->file->fd,
	        .location = tf->file->path,
	};
	if (!r->track_files)
		r->track_files = g_ptr_array_new_with_free_func(track_file_free);
	g_ptr_array_add(r->track_files, tf);
	*plan = &tf->op;
	return EGW_OK;
}

void egw_runner_track_file_started(void *opaque, const char *track_id, double offset_s)
{
	runner_t *r = opaque;
	for (guint i = 0; r->track_files && i < r->track_files->len; i++) {
		struct track_file *tf = g_ptr_array_index(r->track_files, i);
		if (!strcmp(tf->track_id, track_id))
			egw_manifest_track_file(r->manifest, track_id, tf->rel, offset_s);
	}
}

void egw_runner_discard_track_files(runner_t *r)
{
	for (guint i = r->track_files ? r->track_files->len : 0; i > 0; i--) {
		struct track_file *tf = g_ptr_array_index(r->track_files, i - 1);
		if (tf->file) {
			EGW_LOG(r->status.egress_id, INFO, "removed %s: nothing was recorded",
			        tf->file->path);
			egw_local_discard(tf->file);
			tf->file = NULL;
		}
	}
}
