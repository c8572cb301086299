/* hs_assets.c: static files under one directory (hs_assets.h). */
#include "hs_assets.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct hs_assets {
    int dirfd;           /* the directory, opened once */
    char real[PATH_MAX]; /* its real path */
    size_t real_len;
};

hs_assets_t *hs_assets_open(const char *dir, cs_error_t *err)
{
    hs_assets_t *a = calloc(1, sizeof *a);
    if (a == NULL) {
        cs_error_set(err, CS_ENOMEM, "out of memory opening the assets");
        return NULL;
    }
    if (realpath(dir, a->real) == NULL) {
        cs_error_set(err, CS_EIO, "assets directory %s: %s", dir, strerror(errno));
        free(a);
        return NULL;
    }
    a->real_len = strlen(a->real);
    a->dirfd = open(a->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (a->dirfd < 0) {
        cs_error_set(err, CS_EIO, "assets directory %s: %s", a->real, strerror(errno));
        free(a);
        return NULL;
    }
    return a;
}

void hs_assets_destroy(hs_assets_t **ap)
{
    if (ap && *ap) {
        close((*ap)->dirfd);
        free(*ap);
        *ap = NULL;
    }
}

const char *hs_assets_dir(const hs_assets_t *a)
{
    return a->real;
}

static int s_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void hs_assets_default_dir(char *out, size_t cap)
{
    char exe[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash == NULL) {
        snprintf(out, cap, "/usr/local/share/codeset/www");
        return;
    }
    *slash = '\0';
    snprintf(out, cap, "%s/../share/codeset/www", exe);
    if (!s_is_dir(out)) {
        snprintf(out, cap, "%s/../../http/www", exe);
    }
}

/* 1 when every segment of path (after its leading '/') is a plain name. */
static int s_path_ok(const char *path)
{
    size_t n = strlen(path);
    if (n == 0 || n > HS_ASSETS_MAX_PATH || path[0] != '/') {
        return 0;
    }
    int seg_start = 1;
    for (size_t i = 1; i < n; i++) {
        char c = path[i];
        if (c == '/') {
            if (seg_start) {
                return 0; /* an empty segment */
            }
            seg_start = 1;
            continue;
        }
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '-' || c == '.';
        if (!plain || (seg_start && c == '.')) {
            return 0;
        }
        seg_start = 0;
    }
    return !seg_start || n == 1;
}

/* 1 when the open file fd lies under the directory, as the kernel resolved it. */
static int s_beneath(const hs_assets_t *a, int fd)
{
    char link[64], real[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof real - 1);
    if (n <= 0) {
        return 0;
    }
    real[n] = '\0';
    return (size_t)n > a->real_len && memcmp(real, a->real, a->real_len) == 0 &&
           real[a->real_len] == '/';
}

int hs_assets_open_file(const hs_assets_t *a, const char *url_path, int *fd, off_t *size,
                        const char **ctype)
{
    if (!s_path_ok(url_path)) {
        return 400;
    }
    const char *rel = strcmp(url_path, "/") == 0 ? "index.html" : url_path + 1;
    int f = openat(a->dirfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (f < 0) {
        return 404;
    }
    struct stat st;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || !s_beneath(a, f)) {
        close(f);
        return 404;
    }
    *fd = f;
    *size = st.st_size;
    *ctype = hs_assets_content_type(rel);
    return 200;
}

const char *hs_assets_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            return types[i].type;
        }
    }
    return "application/octet-stream";
}
