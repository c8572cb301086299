/* hs_assets.h: the web page's static files: compiled into the program (the default), or served
 * from one directory and never from outside it (--assets DIR, for development: it wins over
 * the compiled-in copy, whole: a file missing from DIR is a 404, never the compiled-in one).
 *
 * The compiled-in copy is http/www as it was at build time: tools/embed-assets.c writes it
 * into a generated C file (hs_embedded[]), so the program needs no file beside it.
 *
 * A URL path is accepted only when every segment is made of [A-Za-z0-9_.-], does not start
 * with '.' (so no "..", "." or hidden file; the server sees the path after percent-decoding,
 * so "%2e%2e" is caught here too), and the whole is at most HS_ASSETS_MAX_PATH bytes; "/"
 * means "/index.html". The file is opened under the directory without following a symlink at
 * its last component, must be a regular file, and its real path (as the kernel resolved it)
 * must lie under the directory's real path, so no symlink on the way leads out. The
 * compiled-in copy answers the same paths with the same rules (a name it does not hold is a
 * 404) and the same content types.
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

/* One compiled-in file; the generated table ends with a NULL path. */
typedef struct hs_embedded {
    const char *path;          /* "/name" */
    const unsigned char *data; /* its bytes */
    size_t size;               /* how many */
} hs_embedded_t;
extern const hs_embedded_t hs_embedded[];

/* Serve dir (resolved to its real path now), or the compiled-in copy when dir is NULL. NULL
 * with err set when dir is not a directory. */
hs_assets_t *hs_assets_open(const char *dir, cs_error_t *err);
void hs_assets_destroy(hs_assets_t **a);
/* The directory's real path, or "(compiled in)". */
const char *hs_assets_dir(const hs_assets_t *a);

/* One file found: from the directory an open descriptor (data NULL; the caller closes fd),
 * compiled in its bytes (fd -1; static, never freed). */
typedef struct hs_asset {
    int fd;            /* -1 when compiled in */
    const void *data;  /* NULL when from the directory */
    off_t size;        /* bytes */
    const char *ctype; /* its content type (static) */
} hs_asset_t;

/* The file for a URL path. Returns 200 with *out set; 400 for a path refused by its form;
 * 404 when there is no such file (in the directory: no regular file under it, a symlink
 * leading out counting as none). On 400 and 404 out->fd is -1 and nothing is to be freed. */
int hs_assets_get(const hs_assets_t *a, const char *url_path, hs_asset_t *out);

/* The content type of a file name, by its extension. Never NULL. */
const char *hs_assets_content_type(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* HS_ASSETS_H */
