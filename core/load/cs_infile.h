/* cs_infile.h: a load's input files, opened without blocking, checked, and pinned, on the load
 * thread, so that a loader reads exactly the files that were checked.
 *
 * Each path is stat()ed (anything but a regular file is refused before it is opened: opening
 * a device can have effects), then opened O_RDONLY | O_NONBLOCK | O_NOCTTY (a FIFO with no
 * writer does not block the open), and the descriptor itself is checked with fstat (a regular
 * file) and fstatfs (not on procfs, sysfs or another kernel pseudo file system, whose files
 * claim to be regular but are generated on read). The checks on the descriptor are the ones
 * that count: the path may be swapped between the stat and the open.
 *
 * Loaders open files by path (fopen, xmlReaderForFile, zip_open). Handing them the admin's
 * paths would reopen the race: a file swapped for a FIFO after the check would block the
 * loader in its open. So each file is pinned: pin_dir/<i>/<base name> is a symbolic link to
 * /proc/self/fd/<fd>, a link the kernel resolves to the very file the descriptor holds,
 * whatever happens to the admin's path since. Loaders see the original base names (they
 * use them in messages and positions). cs_infiles_unpin_text() turns pinned paths in a
 * message back into the admin's paths.
 *
 * Not thread-safe: one load thread owns a set. Every function may block on file I/O: never
 * call them on a thread that serves requests.
 */
#ifndef CS_INFILE_H
#define CS_INFILE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_infiles cs_infiles_t;

/* Check one descriptor opened on path: a regular file, not on a kernel pseudo file system.
 * CS_OK, or CS_EINVAL with err naming path and why ("is a FIFO, not a regular file"). */
int cs_infile_check_fd(int fd, const char *path, cs_error_t *err);

/* Open, check and pin the n files (absolute paths) under pin_dir (created 0700 if missing;
 * what an earlier load left there is removed first). *out gets the set (caller owns it;
 * cs_infiles_close frees it). CS_OK; CS_EINVAL (a file refused: err says which and why);
 * CS_EIO (pin_dir unusable, /proc/self/fd unavailable); CS_ENOMEM. */
int cs_infiles_open(const char *const *paths, size_t n, const char *pin_dir,
                    cs_infiles_t **out, cs_error_t *err);

/* Remove the pins, close the descriptors, free; *files becomes NULL. Accepts NULL. */
void cs_infiles_close(cs_infiles_t **files);

/* The pinned paths to hand the loader, n of them, valid until cs_infiles_close. */
const char *const *cs_infiles_pinned(const cs_infiles_t *files);
/* Size in bytes of file i, as fstat saw it. */
uint64_t cs_infiles_size(const cs_infiles_t *files, size_t i);

/* The SHA-256 of file i as 64 hex digits into hex[65], read from its descriptor. Stops with
 * CS_ETERM when *cancel becomes non-zero (cancel may be NULL); CS_EIO on a read error. */
int cs_infiles_sha256(const cs_infiles_t *files, size_t i, const atomic_int *cancel,
                      char hex[65]);

/* Replace each pinned path in text (NUL-terminated, cap bytes) by the admin's path, cutting
 * the result to fit. files may be NULL (nothing to do). */
void cs_infiles_unpin_text(const cs_infiles_t *files, char *text, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* CS_INFILE_H */
