/* cs_infile.c: a load's input files, opened without blocking, checked and pinned (see .h). */
#include "load/cs_infile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <nettle/sha2.h>

typedef struct s_infile {
    char *path;           /* as the admin gave it (owned) */
    char pinned[PATH_MAX]; /* pin_dir/<i>/<base name>, a link to /proc/self/fd/<fd> */
    char sub[PATH_MAX];   /* pin_dir/<i> */
    int fd;               /* the checked descriptor, -1 when not open */
    uint64_t size;        /* st_size at the check */
} s_infile_t;

struct cs_infiles {
    s_infile_t *f;         /* n files, in the admin's order */
    size_t n;
    const char **pinned;   /* f[i].pinned, for the loader */
    char pin_dir[PATH_MAX]; /* removed at close */
};

/* Kernel pseudo file systems: their files say "regular" but are made up on read, may block
 * or have effects, and are never a release. */
static const char *s_pseudo_fs(long type)
{
    switch ((unsigned long)type) {
    case PROC_SUPER_MAGIC: return "procfs (/proc)";
    case SYSFS_MAGIC: return "sysfs (/sys)";
    case DEBUGFS_MAGIC: return "debugfs";
    case TRACEFS_MAGIC: return "tracefs";
    case SECURITYFS_MAGIC: return "securityfs";
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC: return "cgroupfs";
    case BPF_FS_MAGIC: return "bpffs";
    case EFIVARFS_MAGIC: return "efivarfs";
    case PSTOREFS_MAGIC: return "pstore";
    default: return NULL;
    }
}

static const char *s_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a directory"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
                            : "not a file";
}

int cs_infile_check_fd(int fd, const char *path, cs_error_t *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return cs_error_set(err, CS_EINVAL, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return cs_error_set(err, CS_EINVAL, "%s is %s, not a regular file: refused", path,
                            s_kind(st.st_mode));
    }
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) {
        return cs_error_set(err, CS_EINVAL, "%s: cannot stat its file system: %s", path,
                            strerror(errno));
    }
    const char *pseudo = s_pseudo_fs((long)fs.f_type);
    if (pseudo) {
        return cs_error_set(err, CS_EINVAL, "%s is on %s, a kernel pseudo file system, not a "
                            "release file: refused", path, pseudo);
    }
    return CS_OK;
}

/* Open path without blocking and check the descriptor; -1 with err filled when refused. */
static int s_open_checked(const char *path, uint64_t *size, cs_error_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        cs_error_set(err, CS_EINVAL, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        cs_error_set(err, CS_EINVAL, "%s is %s, not a regular file: refused", path,
                     s_kind(st.st_mode));
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        cs_error_set(err, CS_EINVAL, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (cs_infile_check_fd(fd, path, err) != CS_OK || fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return fd;
}

/* Remove what a load left in pin_dir: <i>/<name> links and the <i> folders. */
static void s_rm_pins(const char *pin_dir)
{
    DIR *d = opendir(pin_dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *sd = sub >= 0 ? fdopendir(sub) : NULL;
        if (!sd) {
            if (sub >= 0) {
                close(sub);
            }
            unlinkat(dirfd(d), e->d_name, 0);
            continue;
        }
        struct dirent *se;
        while ((se = readdir(sd)) != NULL) {
            if (strcmp(se->d_name, ".") != 0 && strcmp(se->d_name, "..") != 0) {
                unlinkat(dirfd(sd), se->d_name, 0);
            }
        }
        closedir(sd);
        unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

/* Make pin_dir/<i>/<base> a link to the descriptor, and check that it leads there. */
static int s_pin(s_infile_t *f, size_t i, const char *pin_dir, cs_error_t *err)
{
    const char *slash = strrchr(f->path, '/');
    const char *base = slash ? slash + 1 : f->path;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        base = "file";
    }
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", f->fd);
    int n = snprintf(f->sub, sizeof f->sub, "%s/%zu", pin_dir, i);
    int m = snprintf(f->pinned, sizeof f->pinned, "%s/%zu/%s", pin_dir, i, base);
    if (n < 0 || (size_t)n >= sizeof f->sub || m < 0 || (size_t)m >= sizeof f->pinned) {
        return cs_error_set(err, CS_EINVAL, "%s: path too long to pin", f->path);
    }
    if (mkdir(f->sub, 0700) != 0 || symlink(target, f->pinned) != 0) {
        return cs_error_set(err, CS_EIO, "cannot pin %s under %s: %s", f->path, pin_dir,
                            strerror(errno));
    }
    struct stat want, got;
    if (fstat(f->fd, &want) != 0 || stat(f->pinned, &got) != 0 || want.st_dev != got.st_dev ||
        want.st_ino != got.st_ino) {
        return cs_error_set(err, CS_EIO, "cannot pin %s: %s does not lead to the file opened "
                            "(is /proc mounted?)", f->path, target);
    }
    return CS_OK;
}

int cs_infiles_open(const char *const *paths, size_t n, const char *pin_dir,
                    cs_infiles_t **out, cs_error_t *err)
{
    *out = NULL;
    cs_infiles_t *s = calloc(1, sizeof *s);
    if (!s || !(s->f = calloc(n ? n : 1, sizeof *s->f)) ||
        !(s->pinned = calloc(n ? n : 1, sizeof *s->pinned))) {
        cs_infiles_close(&s);
        return cs_error_set(err, CS_ENOMEM, "out of memory opening the files");
    }
    snprintf(s->pin_dir, sizeof s->pin_dir, "%s", pin_dir);
    s_rm_pins(pin_dir);
    if (mkdir(pin_dir, 0700) != 0 && errno != EEXIST) {
        int rc = cs_error_set(err, CS_EIO, "%s: cannot create: %s", pin_dir, strerror(errno));
        cs_infiles_close(&s);
        return rc;
    }
    int rc = CS_OK;
    for (size_t i = 0; i < n && rc == CS_OK; i++) {
        s_infile_t *f = &s->f[i];
        s->n = i + 1;
        f->fd = -1;
        f->path = strdup(paths[i]);
        if (!f->path) {
            rc = cs_error_set(err, CS_ENOMEM, "out of memory opening the files");
            break;
        }
        f->fd = s_open_checked(f->path, &f->size, err);
        rc = f->fd < 0 ? CS_EINVAL : s_pin(f, i, pin_dir, err);
        s->pinned[i] = f->pinned;
    }
    if (rc != CS_OK) {
        cs_infiles_close(&s);
        return rc;
    }
    *out = s;
    return CS_OK;
}

void cs_infiles_close(cs_infiles_t **files)
{
    if (!files || !*files) {
        return;
    }
    cs_infiles_t *s = *files;
    for (size_t i = 0; s->f && i < s->n; i++) {
        s_infile_t *f = &s->f[i];
        if (f->pinned[0]) {
            unlink(f->pinned);
        }
        if (f->sub[0]) {
            rmdir(f->sub);
        }
        if (f->fd >= 0) {
            close(f->fd);
        }
        free(f->path);
    }
    if (s->pin_dir[0]) {
        rmdir(s->pin_dir);
    }
    free(s->f);
    free(s->pinned);
    free(s);
    *files = NULL;
}

const char *const *cs_infiles_pinned(const cs_infiles_t *files)
{
    return files->pinned;
}

uint64_t cs_infiles_size(const cs_infiles_t *files, size_t i)
{
    return i < files->n ? files->f[i].size : 0;
}

int cs_infiles_sha256(const cs_infiles_t *files, size_t i, const atomic_int *cancel,
                      char hex[65])
{
    hex[0] = '\0';
    if (i >= files->n) {
        return CS_EIO;
    }
    int fd = files->f[i].fd;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    static _Thread_local uint8_t buf[1 << 16];
    off_t off = 0;
    for (;;) {
        if (cancel && atomic_load(cancel)) {
            return CS_ETERM;
        }
        ssize_t got = pread(fd, buf, sizeof buf, off);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (got < 0) {
            return CS_EIO;
        }
        if (got == 0) {
            break;
        }
        sha256_update(&ctx, (size_t)got, buf);
        off += got;
    }
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t k = 0; k < sizeof digest; k++) {
        snprintf(hex + 2 * k, 3, "%02x", digest[k]);
    }
    return CS_OK;
}

void cs_infiles_unpin_text(const cs_infiles_t *files, char *text, size_t cap)
{
    if (!files || !text || cap == 0) {
        return;
    }
    for (size_t i = 0; i < files->n; i++) {
        const char *from = files->f[i].pinned;
        const char *to = files->f[i].path;
        size_t flen = strlen(from);
        char *hit = flen ? strstr(text, from) : NULL;
        while (hit) {
            char tail[1024];
            snprintf(tail, sizeof tail, "%s", hit + flen);
            size_t at = (size_t)(hit - text);
            snprintf(hit, cap - at, "%s%s", to, tail);
            size_t next = at + strlen(to);
            hit = next < cap && next < strlen(text) ? strstr(text + next, from) : NULL;
        }
    }
}
