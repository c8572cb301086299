/* cs_plugin_host.c: finds, checks and keeps the plugins (system and loader kinds).
 *
 * Every check of cs_plugin_host_load_file() runs before the descriptor is trusted, in the order
 * cs_plugin_host.h states: stat, dlopen, dlsym, version fields, size, name, kind and callbacks,
 * duplicates. Nothing of the descriptor beyond abi_major/abi_minor/struct_size is read until
 * those three check out (STYLE P1, P2, P4, P5).
 */
#include "load/cs_plugin_host.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cs_log.h"
#include "util/cs_pace.h"

#define S_HOST_MAGIC 0x43535048u /* "CSPH" */
#define S_NAME_MAX 64            /* longest plugin name accepted from a file name */

/* The descriptor fields this host reads, i.e. everything of ABI 1.0. */
#define S_DESC_NEEDED (offsetof(cs_plugin_desc_t, loader) + sizeof(const cs_loader_ops_t *))

typedef struct s_plugin {
    void *handle;                 /* from dlopen; dlclose()d by destroy */
    const cs_plugin_desc_t *desc; /* the checked descriptor, inside handle */
    char *path;                   /* the file it was loaded from (owned) */
} s_plugin_t;

/* The plugins of a directory that cs_plugin_host_load_dir_first left to a thread. */
typedef struct s_rest {
    pthread_mutex_t mu;
    pthread_cond_t done_cv; /* signalled when pending drops to 0 */
    atomic_int pending;     /* 1 while the rest is unloaded; dropped under mu */
    int started;            /* its thread was started (or it loaded them inline); under mu */
    atomic_int hurry;       /* someone waits for the rest: no more giving way to queries */
    atomic_int quit;        /* the host is being destroyed: load no more */
    cs_pace_t pace;         /* how the thread gives way to queries (cs_pace.h) */
    int joinable;           /* thread is to be joined by destroy */
    pthread_t thread;
    char *dir;              /* the directory (owned) */
    char **names;           /* its plugin file names, in name order (owned) */
    size_t n_names;
    unsigned char *first;   /* first[i]: names[i] was loaded before the thread started */
    size_t *order;          /* plugin indexes in name order, set before pending drops */
} s_rest_t;

struct cs_plugin_host {
    uint32_t magic;       /* S_HOST_MAGIC while alive */
    s_plugin_t *plugins;  /* loaded plugins, in load order */
    size_t count;         /* entries used in plugins (atomic: the rest's thread appends) */
    size_t cap;           /* entries allocated in plugins (never grown while the rest load) */
    s_rest_t *rest;       /* a directory's rest loading or loaded, or NULL */
};

static void s_free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static void s_rest_free(s_rest_t *rest)
{
    if (!rest) {
        return;
    }
    pthread_cond_destroy(&rest->done_cv);
    pthread_mutex_destroy(&rest->mu);
    free(rest->dir);
    s_free_names(rest->names, rest->n_names);
    free(rest->first);
    free(rest->order);
    free(rest);
}

cs_plugin_host_t *cs_plugin_host_new(void)
{
    cs_plugin_host_t *host = calloc(1, sizeof *host);
    if (!host) {
        return NULL;
    }
    host->magic = S_HOST_MAGIC;
    return host;
}

void cs_plugin_host_destroy(cs_plugin_host_t **host)
{
    if (!host || !*host) {
        return;
    }
    cs_plugin_host_t *self = *host;
    if (self->rest && self->rest->joinable) {
        atomic_store(&self->rest->quit, 1);
        atomic_store(&self->rest->hurry, 1);
        pthread_join(self->rest->thread, NULL);
    }
    if (self->rest) {
        s_rest_free(self->rest);
    }
    /* Unload in reverse order: a later plugin never outlives an earlier one. */
    for (size_t i = self->count; i > 0; i--) {
        s_plugin_t *p = &self->plugins[i - 1];
        dlclose(p->handle);
        free(p->path);
    }
    free(self->plugins);
    self->magic = 0;
    free(self);
    *host = NULL;
}

/* The file name part of path. */
static const char *s_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Take the plugin name from the file name "<name>.so" into name (NUL-terminated) and the
 * descriptor symbol "cs_plugin_<name with '-' as '_'>" into sym. */
static int s_names_from_path(const char *path, char *name, size_t name_cap, char *sym,
                             size_t sym_cap, cs_error_t *err)
{
    const char *base = s_basename(path);
    size_t len = strlen(base);
    if (len <= 3 || strcmp(base + len - 3, ".so") != 0) {
        return cs_error_set(err, CS_EINVAL, "%s: a plugin file is named <name>.so", path);
    }
    len -= 3;
    if (len >= name_cap || len > S_NAME_MAX) {
        return cs_error_set(err, CS_EINVAL, "%s: plugin name longer than %d characters", path,
                            S_NAME_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        char c = base[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok) {
            return cs_error_set(err, CS_EINVAL,
                                "%s: a plugin name uses only letters, digits, '-' and '_'", path);
        }
    }
    memcpy(name, base, len);
    name[len] = '\0';
    int n = snprintf(sym, sym_cap, "cs_plugin_%s", name);
    if (n < 0 || (size_t)n >= sym_cap) {
        return cs_error_set(err, CS_EINVAL, "%s: plugin name too long", path);
    }
    for (char *c = sym; *c; c++) {
        if (*c == '-') {
            *c = '_';
        }
    }
    return CS_OK;
}

static const s_plugin_t *s_find(const cs_plugin_host_t *host, const char *name, size_t len)
{
    size_t n = __atomic_load_n(&host->count, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++) {
        const char *have = host->plugins[i].desc->name;
        if (strlen(have) == len && memcmp(have, name, len) == 0) {
            return &host->plugins[i];
        }
    }
    return NULL;
}

static const char *s_kind_name(uint32_t kind)
{
    return kind == CS_PLUGIN_SYSTEM ? "system" : "loader";
}

/* Check a descriptor whose version fields are already known to be good. */
static int s_check_desc(const cs_plugin_desc_t *d, const char *path, const char *name,
                        cs_error_t *err)
{
    if (d->struct_size < S_DESC_NEEDED) {
        return cs_error_set(err, CS_EMALFORMED,
                            "%s: descriptor is mangled (struct_size %u, this broker needs %zu)",
                            path, (unsigned)d->struct_size, (size_t)S_DESC_NEEDED);
    }
    if (!d->name) {
        return cs_error_set(err, CS_EMALFORMED, "%s: descriptor has no name", path);
    }
    /* Bounded compare: a name longer than the file's cannot match, read no further. */
    size_t want = strlen(name);
    if (strncmp(d->name, name, want + 1) != 0) {
        return cs_error_set(err, CS_EMALFORMED,
                            "%s: descriptor name '%.*s' differs from the file name '%s'", path,
                            S_NAME_MAX, d->name, name);
    }
    /* Consumers print these (admin "plugins" reply, logs) without checking. */
    if (!d->version || !d->title) {
        return cs_error_set(err, CS_EMALFORMED, "%s: descriptor has no %s", path,
                            d->version ? "title" : "version");
    }
    switch (d->kind) {
    case CS_PLUGIN_SYSTEM:
        if (!d->system) {
            return cs_error_set(err, CS_EMALFORMED,
                                "%s: system plugin without system operations", path);
        }
        if (!d->system->normalize) {
            return cs_error_set(err, CS_EMALFORMED,
                                "%s: system plugin without a normalize callback", path);
        }
        break;
    case CS_PLUGIN_LOADER:
        if (!d->loader) {
            return cs_error_set(err, CS_EMALFORMED,
                                "%s: loader plugin without loader operations", path);
        }
        if (!d->loader->systems) {
            return cs_error_set(err, CS_EMALFORMED,
                                "%s: loader plugin without a list of systems", path);
        }
        if (!d->loader->sniff) {
            return cs_error_set(err, CS_EMALFORMED, "%s: loader plugin without a sniff callback",
                                path);
        }
        if (!d->loader->load) {
            return cs_error_set(err, CS_EMALFORMED, "%s: loader plugin without a load callback",
                                path);
        }
        break;
    default:
        return cs_error_set(err, CS_EMALFORMED, "%s: unknown plugin kind %u", path,
                            (unsigned)d->kind);
    }
    return CS_OK;
}

int cs_plugin_host_load_file(cs_plugin_host_t *host, const char *path, cs_error_t *err)
{
    if (!host || host->magic != S_HOST_MAGIC || !path) {
        return cs_error_set(err, CS_EINVAL, "plugin host: no host or no path");
    }
    char name[S_NAME_MAX + 1];
    char sym[S_NAME_MAX + 16];
    int rc = s_names_from_path(path, name, sizeof name, sym, sizeof sym, err);
    if (rc != CS_OK) {
        return rc;
    }

    struct stat st;
    if (stat(path, &st) != 0) {
        return cs_error_set(err, CS_EIO, "%s: cannot stat: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return cs_error_set(err, CS_EIO, "%s: not a regular file", path);
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return cs_error_set(err, CS_EIO,
                            "%s: writable by group or others (mode %04o); refusing to load it",
                            path, (unsigned)(st.st_mode & 07777));
    }

    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return cs_error_set(err, CS_EIO, "%s: dlopen failed: %s", path, why ? why : "?");
    }

    dlerror();
    const cs_plugin_desc_t *d = dlsym(handle, sym);
    if (!d) {
        rc = cs_error_set(err, CS_EMALFORMED, "%s: no symbol %s (not a codeset plugin?)", path,
                          sym);
        goto fail;
    }
    if (d->abi_major != CS_ABI_MAJOR || d->abi_minor > CS_ABI_MINOR) {
        rc = cs_error_set(err, CS_EABI, "%s: built for plugin ABI %u.%u, this broker speaks %d.%d",
                          path, (unsigned)d->abi_major, (unsigned)d->abi_minor, CS_ABI_MAJOR,
                          CS_ABI_MINOR);
        goto fail;
    }
    rc = s_check_desc(d, path, name, err);
    if (rc != CS_OK) {
        goto fail;
    }
    const s_plugin_t *dup = s_find(host, name, strlen(name));
    if (dup) {
        rc = cs_error_set(err, CS_EEXIST, "%s: a plugin named '%s' is already loaded from %s",
                          path, name, dup->path);
        goto fail;
    }

    if (host->count == host->cap) {
        size_t cap = host->cap ? host->cap * 2 : 8;
        s_plugin_t *grown = realloc(host->plugins, cap * sizeof *grown);
        if (!grown) {
            rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        host->plugins = grown;
        host->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) {
        rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    host->plugins[host->count] = (s_plugin_t){.handle = handle, .desc = d, .path = copy};
    __atomic_store_n(&host->count, host->count + 1, __ATOMIC_RELEASE); /* lookups see it whole */
    CS_INFO("plugin %s (%s plugin, version %s) loaded from %s", d->name, s_kind_name(d->kind),
            d->version, path);
    return CS_OK;

fail:
    dlclose(handle);
    return rc;
}

static int s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each plugin file is checked (cs_plugin_host_load_file); the directory must be closed too,
 * or anyone who can write there could drop in a file of their own before the next start. */
static int s_check_dir(const char *dir, cs_error_t *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        return cs_error_set(err, CS_EIO, "plugin directory %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return cs_error_set(err, CS_EIO, "plugin directory %s: not a directory", dir);
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return cs_error_set(err, CS_EIO,
                            "plugin directory %s is writable by group or others (mode %04o); "
                            "refusing to load plugins from it", dir,
                            (unsigned)(st.st_mode & 07777));
    }
    return CS_OK;
}

/* The "*.so" files of dir (checked first), in name order, into *names (owned by the caller,
 * s_free_names). CS_OK, CS_EIO, CS_ENOMEM. */
static int s_list_dir(const char *dir, char ***names, size_t *n_names, cs_error_t *err)
{
    *names = NULL;
    *n_names = 0;
    int rc = s_check_dir(dir, err);
    if (rc != CS_OK) {
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return cs_error_set(err, CS_EIO, "%s: cannot open plugin directory: %s", dir,
                            strerror(errno));
    }
    char **list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 3 || strcmp(e->d_name + len - 3, ".so") != 0) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(list, ncap * sizeof *grown);
            if (!grown) {
                rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory listing plugins", dir);
                break;
            }
            list = grown;
            cap = ncap;
        }
        list[n] = strdup(e->d_name);
        if (!list[n]) {
            rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory listing plugins", dir);
            break;
        }
        n++;
        errno = 0;
    }
    if (rc == CS_OK && errno != 0) {
        rc = cs_error_set(err, CS_EIO, "%s: cannot read plugin directory: %s", dir,
                          strerror(errno));
    }
    closedir(d);
    if (rc != CS_OK) {
        s_free_names(list, n);
        return rc;
    }
    if (n > 1) {
        qsort(list, n, sizeof *list, s_strcmp_p);
    }
    *names = list;
    *n_names = n;
    return CS_OK;
}

/* Load dir/name. 1 loaded, 0 refused (logged, skipped), -1 out of memory (err filled). */
static int s_load_named(cs_plugin_host_t *host, const char *dir, const char *name,
                        cs_error_t *err)
{
    size_t dlen = strlen(dir);
    const char *sep = dlen > 0 && dir[dlen - 1] == '/' ? "" : "/";
    size_t need = dlen + strlen(sep) + strlen(name) + 1;
    char *path = malloc(need);
    if (!path) {
        cs_error_set(err, CS_ENOMEM, "%s: out of memory loading plugins", dir);
        return -1;
    }
    snprintf(path, need, "%s%s%s", dir, sep, name);
    cs_error_t one;
    cs_error_clear(&one);
    int r = cs_plugin_host_load_file(host, path, &one);
    free(path);
    if (r == CS_ENOMEM) {
        cs_error_set(err, CS_ENOMEM, "%s", one.msg);
        return -1;
    }
    if (r != CS_OK) {
        CS_ERROR("plugin skipped: %s", one.msg);
        return 0;
    }
    return 1;
}

int cs_plugin_host_load_dir(cs_plugin_host_t *host, const char *dir, size_t *n_loaded,
                            cs_error_t *err)
{
    if (n_loaded) {
        *n_loaded = 0;
    }
    if (!host || host->magic != S_HOST_MAGIC || !dir) {
        return cs_error_set(err, CS_EINVAL, "plugin host: no host or no directory");
    }
    char **names;
    size_t n;
    int rc = s_list_dir(dir, &names, &n, err);
    size_t loaded = 0;
    for (size_t i = 0; rc == CS_OK && i < n; i++) {
        int r = s_load_named(host, dir, names[i], err);
        rc = r < 0 ? CS_ENOMEM : CS_OK;
        loaded += r > 0;
    }
    if (n_loaded) {
        *n_loaded = loaded;
    }
    s_free_names(names, n);
    return rc;
}

/* Is name ("<id>.so") one of the n ids of first? */
static int s_named_first(const char *name, const char *const *first, size_t n)
{
    size_t len = strlen(name) - 3;
    for (size_t i = 0; i < n; i++) {
        if (first[i] && strlen(first[i]) == len && memcmp(first[i], name, len) == 0) {
            return 1;
        }
    }
    return 0;
}

static int s_cmp_path(const cs_plugin_host_t *host, size_t a, size_t b)
{
    return strcmp(s_basename(host->plugins[a].path), s_basename(host->plugins[b].path));
}

/* The rest's thread: the plugins not loaded first, in name order, then the listing order
 * (name order, as cs_plugin_host_load_dir's) and the end of the wait. */
static void *s_rest_main(void *arg)
{
    cs_plugin_host_t *host = arg;
    s_rest_t *rest = host->rest;
    size_t loaded = 0;
    for (size_t i = 0; i < rest->n_names && !atomic_load(&rest->quit); i++) {
        if (rest->first[i]) {
            continue;
        }
        cs_pace_step(&rest->pace); /* 0 once hurried: then it just goes on */
        cs_error_t err;
        cs_error_clear(&err);
        int r = s_load_named(host, rest->dir, rest->names[i], &err);
        if (r < 0) {
            CS_ERROR("plugins: %s", err.msg);
            break;
        }
        loaded += (size_t)r;
    }
    size_t n = host->count;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; order && i < n; i++) { /* insertion sort: a few dozen at most */
        size_t j = i;
        for (; j > 0 && s_cmp_path(host, order[j - 1], i) > 0; j--) {
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
    CS_INFO("plugins: %zu more loaded from %s", loaded, rest->dir);
    pthread_mutex_lock(&rest->mu);
    rest->order = order; /* NULL when out of memory: load order, as good */
    atomic_store(&rest->pending, 0);
    pthread_cond_broadcast(&rest->done_cv);
    pthread_mutex_unlock(&rest->mu);
    return NULL;
}

int cs_plugin_host_load_dir_first(cs_plugin_host_t *host, const char *dir,
                                  const char *const *first, size_t n_first, size_t *n_loaded,
                                  cs_error_t *err)
{
    if (n_loaded) {
        *n_loaded = 0;
    }
    if (!host || host->magic != S_HOST_MAGIC || !dir || host->rest || (n_first && !first)) {
        return cs_error_set(err, CS_EINVAL, "plugin host: no host, no directory, or a second "
                                            "directory");
    }
    s_rest_t *rest = calloc(1, sizeof *rest);
    if (!rest) {
        return cs_error_set(err, CS_ENOMEM, "%s: out of memory loading plugins", dir);
    }
    pthread_mutex_init(&rest->mu, NULL);
    pthread_cond_init(&rest->done_cv, NULL);
    int rc = s_list_dir(dir, &rest->names, &rest->n_names, err);
    rest->first = rc == CS_OK ? calloc(rest->n_names + 1, 1) : NULL;
    rest->dir = strdup(dir);
    /* room for every file now: the array never moves under the lookups of other threads */
    size_t cap = host->count + rest->n_names;
    s_plugin_t *grown = cap > host->cap ? realloc(host->plugins, cap * sizeof *grown) : NULL;
    if (grown) {
        host->plugins = grown;
        host->cap = cap;
    }
    if (rc == CS_OK && (!rest->first || !rest->dir || host->cap < cap)) {
        rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory loading plugins", dir);
    }
    size_t loaded = 0;
    for (size_t i = 0; rc == CS_OK && i < rest->n_names; i++) {
        rest->first[i] = (unsigned char)s_named_first(rest->names[i], first, n_first);
        int r = rest->first[i] ? s_load_named(host, dir, rest->names[i], err) : 0;
        rc = r < 0 ? CS_ENOMEM : CS_OK;
        loaded += r > 0;
    }
    if (n_loaded) {
        *n_loaded = loaded;
    }
    if (rc != CS_OK) {
        s_rest_free(rest);
        return rc;
    }
    atomic_store(&rest->pending, 1);
    host->rest = rest;
    return CS_OK;
}

/* Start the rest's thread unless it was; under rest->mu. Without a thread, this one loads
 * them. */
static void s_rest_start_locked(const cs_plugin_host_t *host)
{
    s_rest_t *rest = host->rest;
    if (rest->started) {
        return;
    }
    rest->started = 1;
    /* the host is the caller's to change only while no rest loads: the rest's thread is the
     * one writer now, and lookups read what it publishes (count, release/acquire) */
    cs_plugin_host_t *self = (cs_plugin_host_t *)host;
    int rc = pthread_create(&rest->thread, NULL, s_rest_main, self);
    rest->joinable = rc == 0;
    if (rc != 0) {
        CS_WARN("plugins: no thread to load the rest (%s): loading them now", strerror(rc));
        pthread_mutex_unlock(&rest->mu);
        s_rest_main(self);
        pthread_mutex_lock(&rest->mu);
    }
}

void cs_plugin_host_load_rest(const cs_plugin_host_t *host, const _Atomic uint64_t *busy_ns)
{
    if (!host || host->magic != S_HOST_MAGIC || !host->rest) {
        return;
    }
    pthread_mutex_lock(&host->rest->mu);
    if (!host->rest->started) {
        host->rest->pace = (cs_pace_t){.stop = &host->rest->hurry, .busy_ns = busy_ns,
                                       .quiet_ms = CS_PLUGIN_HOST_REST_QUIET_MS,
                                       .max_wait_ms = CS_PLUGIN_HOST_REST_WAIT_MS};
    }
    s_rest_start_locked(host);
    pthread_mutex_unlock(&host->rest->mu);
}

size_t cs_plugin_host_wait(const cs_plugin_host_t *host)
{
    if (!host || host->magic != S_HOST_MAGIC) {
        return 0;
    }
    s_rest_t *rest = host->rest;
    if (rest && atomic_load(&rest->pending)) {
        atomic_store(&rest->hurry, 1);
        pthread_mutex_lock(&rest->mu);
        s_rest_start_locked(host); /* a wait never waits on a thread nobody started */
        while (rest->pending) {
            pthread_cond_wait(&rest->done_cv, &rest->mu);
        }
        pthread_mutex_unlock(&rest->mu);
    }
    return __atomic_load_n(&host->count, __ATOMIC_ACQUIRE);
}


static const cs_plugin_desc_t *s_by_kind(const cs_plugin_host_t *host, uint32_t kind,
                                         const char *id, size_t len)
{
    if (!host || host->magic != S_HOST_MAGIC || !id) {
        return NULL;
    }
    const s_plugin_t *p = s_find(host, id, len);
    if (!p && host->rest && atomic_load(&host->rest->pending)) {
        cs_plugin_host_wait(host); /* it may be among those still loading */
        p = s_find(host, id, len);
    }
    return p && p->desc->kind == kind ? p->desc : NULL;
}

const cs_plugin_desc_t *cs_plugin_host_system(const cs_plugin_host_t *host, const char *id,
                                              size_t len)
{
    return s_by_kind(host, CS_PLUGIN_SYSTEM, id, len);
}

const cs_plugin_desc_t *cs_plugin_host_loader(const cs_plugin_host_t *host, const char *id,
                                              size_t len)
{
    return s_by_kind(host, CS_PLUGIN_LOADER, id, len);
}

const cs_plugin_desc_t *cs_plugin_host_sniff(const cs_plugin_host_t *host,
                                             const char *const *files, size_t n_files,
                                             cs_error_t *err)
{
    if (!host || host->magic != S_HOST_MAGIC || !files || n_files == 0) {
        cs_error_set(err, CS_EINVAL, "sniff: no files given");
        return NULL;
    }
    const cs_plugin_desc_t *found = NULL;
    char names[192] = "";
    size_t used = 0;
    size_t hits = 0;
    size_t n = cs_plugin_host_wait(host); /* every loader has its say */
    for (size_t i = 0; i < n; i++) {
        const cs_plugin_desc_t *d = host->plugins[i].desc;
        if (d->kind != CS_PLUGIN_LOADER || d->loader->sniff(files, n_files) != 1) {
            continue;
        }
        hits++;
        if (!found) {
            found = d;
        }
        if (used < sizeof names) {
            int w = snprintf(names + used, sizeof names - used, "%s%s", hits > 1 ? ", " : "",
                             d->name);
            used = w < 0 ? sizeof names : used + (size_t)w;
        }
    }
    const char *more = n_files > 1 ? " and the other files" : "";
    if (hits == 0) {
        cs_error_set(err, CS_ENOTFOUND, "%s%s: no loader recognises this release; name one",
                     files[0] ? files[0] : "(null)", more);
        return NULL;
    }
    if (hits > 1) {
        cs_error_set(err, CS_EINVAL, "%s%s: several loaders recognise this release (%s); name one",
                     files[0] ? files[0] : "(null)", more, names);
        return NULL;
    }
    return found;
}

size_t cs_plugin_host_count(const cs_plugin_host_t *host)
{
    return cs_plugin_host_wait(host);
}

/* The i-th plugin in listing order, every plugin loaded; NULL if i is out of range. */
static const s_plugin_t *s_at(const cs_plugin_host_t *host, size_t i)
{
    if (i >= cs_plugin_host_wait(host)) {
        return NULL;
    }
    return &host->plugins[host->rest && host->rest->order ? host->rest->order[i] : i];
}

const cs_plugin_desc_t *cs_plugin_host_at(const cs_plugin_host_t *host, size_t i)
{
    const s_plugin_t *p = s_at(host, i);
    return p ? p->desc : NULL;
}

const char *cs_plugin_host_path_at(const cs_plugin_host_t *host, size_t i)
{
    const s_plugin_t *p = s_at(host, i);
    return p ? p->path : NULL;
}
