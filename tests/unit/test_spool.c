/* storage/spool: the sweep of render inputs left by killed jobs. An
 * inputs directory is removed when its egress directory is gone or held by
 * no process, kept while a process holds the lock; egw_spool_rmtree()
 * removes nested files and directories, leaves what a symbolic link points
 * at, and takes a missing path as done. */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "storage/spool.h"
#include "tests/unit/check.h"

static void touch(const char *dir, const char *rel)
{
	char *path = g_build_filename(dir, rel, NULL);
	char *parent = g_path_get_dirname(path);
	CHECK(g_mkdir_with_parents(parent, 0700) == 0);
	CHECK(g_file_set_contents(path, "x", 1, NULL));
	g_free(parent);
	g_free(path);
}

static int exists(const char *dir, const char *rel)
{
	char *path = g_build_filename(dir, rel, NULL);
	int yes = g_file_test(path, G_FILE_TEST_EXISTS);
	g_free(path);
	return yes;
}

int main(void)
{
	char *spool = g_dir_make_tmp("egw-spool-XXXXXX", NULL);
	char *kept = g_build_filename(spool, "kept.txt", NULL);
	char *link = g_build_filename(spool, "C.inputs", "link", NULL);
	char *held_dir = g_build_filename(spool, "B", NULL);
	char *inputs = egw_spool_inputs_of(spool, "A");
	char *expect_inputs = g_build_filename(spool, "A.inputs", NULL);
	int fd;

	CHECK_STR(inputs, expect_inputs);
	touch(spool, "A.inputs/tracks/a.mkv"); /* its egress directory is gone */
	touch(spool, "A.inputs/m.json");
	touch(spool, "B/out.mp4");             /* held by a running job */
	touch(spool, "B.inputs/m.json");
	touch(spool, "C/out.mp4");             /* its job was killed */
	touch(spool, "C.inputs/m.json");
	touch(spool, "kept.txt");
	CHECK(symlink(kept, link) == 0);
	touch(spool, ".inputs/x"); /* no egress id: not ours */
	fd = open(held_dir, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);

	CHECK(egw_spool_sweep_inputs(spool) == 2);
	CHECK(!exists(spool, "A.inputs"));
	CHECK(exists(spool, "B.inputs/m.json"));
	CHECK(!exists(spool, "C.inputs"));
	CHECK(exists(spool, "C/out.mp4") && exists(spool, "B/out.mp4"));
	CHECK(exists(spool, "kept.txt")); /* the link went, not its target */
	CHECK(exists(spool, ".inputs/x"));

	close(fd); /* the job ends without removing them: the next sweep does */
	CHECK(egw_spool_sweep_inputs(spool) == 1);
	CHECK(!exists(spool, "B.inputs"));
	CHECK(egw_spool_sweep_inputs(spool) == 0);
	CHECK(egw_spool_rmtree(inputs) == 0); /* missing: done */
	CHECK(egw_spool_rmtree(spool) == 0 && !g_file_test(spool, G_FILE_TEST_EXISTS));

	g_free(kept);
	g_free(link);
	g_free(held_dir);
	g_free(inputs);
	g_free(expect_inputs);
	g_free(spool);
	return CHECK_DONE();
}
