/* Local files of an egress: where a job may write (confined to the roots
 * the worker's configuration allows), and files created exclusively, so
 * that a job never overwrites, truncates or deletes a file it did not
 * create itself.
 * locality: any thread; no shared state. */
#ifndef EGW_LOCAL_H
#define EGW_LOCAL_H

#include <stddef.h>

#include "base/err.h"

typedef struct egw_local_file {
	int fd;     /* open for writing; -1 after close */
	char *path; /* absolute */
	char **made_dirs; /* directories created for it, outermost first */
	size_t n_made_dirs;
} egw_local_file_t;

/* The absolute directory a job writes to: dir (absolute, or relative to
 * default_root; NULL means default_root itself), which must lie inside one
 * of roots once "..", "." and symbolic links of the parts that exist are
 * resolved. default_root is created if missing (it is the worker's own).
 * EGW_ERR_INVALID_REQUEST (errstr names storage.dir) otherwise. */
egw_err_t egw_local_dir(const char *dir, const char *default_root, const char *const *roots,
			size_t n_roots, char **out, char *errstr, size_t errstr_size);

/* Creates dir/rel (rel relative, no ".." segments) with O_EXCL, making the
 * directories it needs and remembering which. EGW_ERR_OUTPUT_EXISTS when
 * the path is taken, EGW_ERR_IO for other failures (errstr says which). */
egw_err_t egw_local_create(const char *dir, const char *rel, egw_local_file_t **out,
			   char *errstr, size_t errstr_size);

/* Closes the descriptor; the file stays. */
void egw_local_close(egw_local_file_t *f);
/* Deletes the file this job created and the directories made for it that
 * are empty now (nothing was recorded). */
void egw_local_discard(egw_local_file_t *f);
void egw_local_free(egw_local_file_t *f);

#endif
