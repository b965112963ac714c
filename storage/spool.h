/* The spool: where the outputs of an egress bound for object storage are
 * written first, and its journal, so that a restarted worker can finish
 * what a dead one left.
 *
 *   <spool_dir>/<egress_id>/...    the egress's files (its path templates)
 *   <spool_dir>/<egress_id>.json   its journal (mode 0600: it may hold the
 *                                  job's storage credentials)
 *   <spool_dir>/<egress_id>.inputs/  a render's recording, fetched from
 *                                  object storage (removed when it ends)
 *
 * The process that owns an egress holds an exclusive flock() on its
 * directory for as long as it runs, so that a worker scanning the spool
 * leaves running egresses alone. A journal is replaced atomically (written
 * beside, synced, renamed).
 * locality: any thread; no shared state. */
#ifndef EGW_SPOOL_H
#define EGW_SPOOL_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

#define EGW_SPOOL_VERSION 1

/* g_free the results. */
char *egw_spool_dir_of(const char *spool_dir, const char *egress_id);
char *egw_spool_journal_of(const char *spool_dir, const char *egress_id);

/* Creates the egress's directory (and spool_dir) and writes its first
 * journal; EGW_ERR_OUTPUT_EXISTS when either is there already (the same
 * egress ran before and its uploads are pending), EGW_ERR_IO otherwise.
 * *lock_fd: the directory, locked (close it to unlock). */
egw_err_t egw_spool_create(const char *spool_dir, const char *egress_id, json_t *journal,
                           int *lock_fd, char *errstr, size_t errstr_size);
/* Locks an existing egress directory without waiting: the fd, or -1 when
 * another process holds it (or it cannot be opened). */
int egw_spool_lock(const char *spool_dir, const char *egress_id);

egw_err_t egw_spool_write(const char *spool_dir, const char *egress_id, json_t *journal,
                          char *errstr, size_t errstr_size);
/* The journal, or NULL with errstr. */
json_t *egw_spool_read(const char *spool_dir, const char *egress_id, char *errstr,
                       size_t errstr_size);
/* Removes the journal and the egress's directories that are empty. */
void egw_spool_remove(const char *spool_dir, const char *egress_id);

/* The files under the egress's directory, relative paths, sorted, with
 * playlists (.m3u8) after everything else (NULL-terminated; g_strfreev). */
char **egw_spool_files(const char *spool_dir, const char *egress_id);
/* Egress ids that have a journal in spool_dir (g_strfreev; NULL if none). */
char **egw_spool_journals(const char *spool_dir);

/* <spool_dir>/<egress_id>.inputs (g_free it). */
char *egw_spool_inputs_of(const char *spool_dir, const char *egress_id);
/* Removes a directory and everything under it (symbolic links are not
 * followed); 0, or -1 with errno. A missing directory is 0. */
int egw_spool_rmtree(const char *path);
/* Removes the inputs directories that no running egress holds: those
 * whose egress directory is gone or not locked (its process was killed).
 * Returns how many went. */
int egw_spool_sweep_inputs(const char *spool_dir);

/* Content-Type for an output file by its extension. */
const char *egw_spool_content_type(const char *path);

#endif
