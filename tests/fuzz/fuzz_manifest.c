/* libFuzzer target: a render's manifest (outside input: a manifest in
 * object storage or on a volume, perhaps edited by hand). The input is
 * written as a manifest in an empty directory and read as a render would
 * read it (job/render.c), whole and for its files to fetch. A load that
 * succeeds must give a plan whose tracks lie within the recording; one
 * that fails must say why. Traps otherwise. Inputs naming anything under
 * /proc, /sys or /dev, or going up a directory, are skipped: the media
 * probe would read such a file for its whole timeout (a manifest's files
 * must be regular files, so /dev never gets that far). */
#include <glib.h>
#include <gst/gst.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "job/render.h"

static char dir[64], path[96];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	gst_init(NULL, NULL);
	snprintf(dir, sizeof(dir), "/tmp/egw-fuzz-manifest-%d", (int)getpid());
	g_mkdir_with_parents(dir, 0700);
	snprintf(path, sizeof(path), "%s/EG_fuzz.manifest.json", dir);
	return 0;
}

/* Any string (key or value) reaching outside the directory's files. */
static int reaches_out(const json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		return strstr(s, "/proc") || strstr(s, "/sys") || strstr(s, "/dev") ||
		       strstr(s, "..");
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) if (reaches_out(x)) return 1;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x) if (reaches_out(x) || strstr(key, ".."))
		        return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	int skip = doc && reaches_out(doc);
	json_decref(doc);
	if (skip)
		return 0;
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	egw_render_input_t *in = NULL;
	char errstr[512] = "";
	egw_err_t err = egw_render_input_load(path, 0, 0, &in, errstr, sizeof(errstr));
	if (err == EGW_OK) {
		const egw_render_plan_t *p = egw_render_input_plan(in);
		if (!in || !p || p->n_tracks == 0 || p->end_s < p->start_s)
			__builtin_trap();
	} else if (in || !errstr[0]) {
		__builtin_trap();
	}
	egw_render_input_free(in);

	char **locs = NULL, **whats = NULL;
	if (egw_render_manifest_files(path, &locs, &whats) == 0) {
		for (size_t i = 0; locs && locs[i]; i++)
			if (!whats || !whats[i])
				__builtin_trap();
	}
	g_strfreev(locs);
	g_strfreev(whats);
	unlink(path);
	return 0;
}
