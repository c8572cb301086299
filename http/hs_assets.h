/* hs_assets.h: the web page's static files, served from one directory and never from outside
 * it.
 *
 * A URL path is accepted only when every segment is made of [A-Za-z0-9_.-], does not start
 * with '.' (so no "..", "." or hidden file; the server sees the path after percent-decoding,
 * so "%2e%2e" is caught here too), and the whole is at most HS_ASSETS_MAX_PATH bytes; "/"
 * means "/index.html". The file is opened under the directory without following a symlink at
 * its last component, must be a regular file, and its real path (as the kernel resolved it)
 * must lie under the directory's real path, so no symlink on the way leads out.
 *
 * Thread-safety: an open hs_assets_t is read-only; any thread may serve from it.
 */
#ifndef HS_ASSETS_H
#define HS_ASSETS_H

#include <stddef.h>
#include <sys/types.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_ASSETS_MAX_PATH 256

typedef struct hs_assets hs_assets_t;

/* Serve dir (resolved to its real path now). NULL with err set when it is not a directory. */
hs_assets_t *hs_assets_open(const char *dir, cs_error_t *err);
void hs_assets_destroy(hs_assets_t **a);
/* The directory's real path. */
const char *hs_assets_dir(const hs_assets_t *a);

/* The default directory: the installed one beside the program (PREFIX/bin ->
 * PREFIX/share/codeset/www) when it exists, else the tree's (build/bin -> http/www). */
void hs_assets_default_dir(char *out, size_t cap);

/* Open the file for a URL path. Returns 200 with *fd (the caller closes it), *size and
 * *ctype (a static string) set; 400 for a path refused by its form; 404 when there is no such
 * regular file under the directory (a symlink leading out counts as none). */
int hs_assets_open_file(const hs_assets_t *a, const char *url_path, int *fd, off_t *size,
                        const char **ctype);

/* The content type of a file name, by its extension. Never NULL. */
const char *hs_assets_content_type(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* HS_ASSETS_H */
