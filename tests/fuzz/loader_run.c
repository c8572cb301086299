/* loader_run.c: load a loader plugin and feed it fuzz inputs as files (see loader_run.h). */
#include "loader_run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codeset/cs_error.h"
#include "load/cs_plugin_host.h"
#include "mock_host.h"

#define S_MAX_FILES 8

/* Process-wide state: a fuzz target runs one plugin for its whole life. */
static cs_plugin_host_t *s_host;            /* owns the dlopen()ed plugin */
static const cs_plugin_desc_t *s_loader;    /* the loader, inside s_host */
static char s_dir[PATH_MAX];                /* private temporary directory */
static char s_paths[S_MAX_FILES][PATH_MAX]; /* files written into s_dir */
static size_t s_n_paths;                    /* entries of s_paths ever used */

static void s_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void s_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz loader: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void s_cleanup(void)
{
    for (size_t i = 0; i < s_n_paths; i++) {
        unlink(s_paths[i]);
    }
    if (s_dir[0]) {
        rmdir(s_dir);
    }
    cs_plugin_host_destroy(&s_host);
}

/* $CS_FUZZ_PLUGINS, else <dir of this program>/../plugins. */
static void s_plugin_dir(char *out, size_t cap)
{
    const char *env = getenv("CS_FUZZ_PLUGINS");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        s_die("cannot find my own path (%s); set CS_FUZZ_PLUGINS", strerror(errno));
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
        *slash = '\0';
    }
    snprintf(out, cap, "%.*s/../plugins", (int)(cap > 16 ? cap - 16 : 0), exe);
}

void cs_fuzz_loader_init(const char *plugin)
{
    if (s_loader) {
        return;
    }
    char dir[PATH_MAX - 128];
    s_plugin_dir(dir, sizeof dir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.so", dir, plugin);
    s_host = cs_plugin_host_new();
    if (!s_host) {
        s_die("out of memory");
    }
    cs_error_t err;
    cs_error_clear(&err);
    if (cs_plugin_host_load_file(s_host, path, &err) != CS_OK) {
        s_die("cannot load the plugin: %s (set CS_FUZZ_PLUGINS to its directory)", err.msg);
    }
    s_loader = cs_plugin_host_loader(s_host, plugin, strlen(plugin));
    if (!s_loader) {
        s_die("%s is not a loader plugin", path);
    }
    /* tmpfs when there is one: a fuzz run writes its files millions of times */
    const char *base = getenv("TMPDIR");
    struct stat st;
    if (!base || !*base) {
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    }
    snprintf(s_dir, sizeof s_dir, "%s/cs-fuzz-XXXXXX", base);
    if (!mkdtemp(s_dir)) {
        s_dir[0] = '\0';
        s_die("cannot make a temporary directory under %s: %s", base, strerror(errno));
    }
    atexit(s_cleanup);
}

static void s_write(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        s_die("cannot write %s: %s", path, strerror(errno));
    }
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            s_die("cannot write %s: %s", path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

int cs_fuzz_loader_run(const char *plugin, const char *const *names, size_t n_names,
                       const uint8_t *data, size_t size)
{
    cs_fuzz_loader_init(plugin);
    if (n_names < 1 || n_names > S_MAX_FILES) {
        s_die("a target names 1 to 8 files");
    }
    const char *files[S_MAX_FILES];
    size_t n_files = 0;
    const size_t sep_len = sizeof CS_FUZZ_FILE_SEP - 1;
    const uint8_t *p = data;
    size_t left = size;
    while (n_files < n_names) {
        size_t part = left;
        const uint8_t *sep = NULL;
        if (n_files + 1 < n_names) {
            sep = memmem(p, left, CS_FUZZ_FILE_SEP, sep_len);
            if (sep) {
                part = (size_t)(sep - p);
            }
        }
        char *path = s_paths[n_files];
        snprintf(path, PATH_MAX, "%.*s/%s", PATH_MAX - 64, s_dir, names[n_files]);
        s_write(path, p, part);
        files[n_files++] = path;
        if (n_files > s_n_paths) {
            s_n_paths = n_files;
        }
        if (!sep) {
            break;
        }
        p = sep + sep_len;
        left -= part + sep_len;
    }
    cs_mock_host_t *m = cs_mock_host_new(0);
    if (!m) {
        s_die("out of memory");
    }
    cs_error_t err;
    cs_error_clear(&err);
    /* sniff reads the same files by another path through the code: run it too */
    (void)s_loader->loader->sniff(files, n_files);
    int rc = s_loader->loader->load(cs_mock_host_api(m), cs_mock_host_sink(m), files, n_files,
                                    &err);
    /* an error must say something: a silent failure leaves the admin nothing to act on */
    if (rc != CS_OK && err.msg[0] == '\0') {
        fprintf(stderr, "fuzz loader: %s failed with %d and no message\n", plugin, rc);
        abort();
    }
    if (getenv("CS_FUZZ_VERBOSE")) {
        /* to see what a seed reaches: how far it got and why it stopped */
        size_t recs = 0;
        for (int cls = CS_CLASS_CHAPTER; cls <= CS_CLASS_CODE; cls++) {
            recs += cs_mock_host_emitted(m, cls);
        }
        fprintf(stderr, "%s: %zu files, rc %d, %zu records, %zu map rows%s%s\n", plugin,
                n_files, rc, recs, cs_mock_host_map_count(m), rc ? ": " : "",
                rc ? err.msg : "");
    }
    cs_mock_host_destroy(&m);
    return rc;
}
