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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cs_log.h"

#define S_HOST_MAGIC 0x43535048u /* "CSPH" */
#define S_NAME_MAX 64            /* longest plugin name accepted from a file name */

/* The descriptor fields this host reads, i.e. everything of ABI 1.0. */
#define S_DESC_NEEDED (offsetof(cs_plugin_desc_t, loader) + sizeof(const cs_loader_ops_t *))

typedef struct s_plugin {
    void *handle;                 /* from dlopen; dlclose()d by destroy */
    const cs_plugin_desc_t *desc; /* the checked descriptor, inside handle */
    char *path;                   /* the file it was loaded from (owned) */
} s_plugin_t;

struct cs_plugin_host {
    uint32_t magic;       /* S_HOST_MAGIC while alive */
    s_plugin_t *plugins;  /* loaded plugins, in load order */
    size_t count;         /* entries used in plugins */
    size_t cap;           /* entries allocated in plugins */
};

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
    for (size_t i = 0; i < host->count; i++) {
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
    host->plugins[host->count++] = (s_plugin_t){.handle = handle, .desc = d, .path = copy};
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

int cs_plugin_host_load_dir(cs_plugin_host_t *host, const char *dir, size_t *n_loaded,
                            cs_error_t *err)
{
    if (n_loaded) {
        *n_loaded = 0;
    }
    if (!host || host->magic != S_HOST_MAGIC || !dir) {
        return cs_error_set(err, CS_EINVAL, "plugin host: no host or no directory");
    }
    int rc = s_check_dir(dir, err);
    if (rc != CS_OK) {
        return rc;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return cs_error_set(err, CS_EIO, "%s: cannot open plugin directory: %s", dir,
                            strerror(errno));
    }

    char **names = NULL;
    size_t n = 0;
    size_t cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 3 || strcmp(e->d_name + len - 3, ".so") != 0) {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **grown = realloc(names, ncap * sizeof *grown);
            if (!grown) {
                rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory listing plugins", dir);
                goto done;
            }
            names = grown;
            cap = ncap;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory listing plugins", dir);
            goto done;
        }
        n++;
    }
    if (errno != 0) {
        rc = cs_error_set(err, CS_EIO, "%s: cannot read plugin directory: %s", dir,
                          strerror(errno));
        goto done;
    }
    if (n > 1) {
        qsort(names, n, sizeof *names, s_strcmp_p);
    }

    size_t loaded = 0;
    for (size_t i = 0; i < n; i++) {
        size_t dlen = strlen(dir);
        const char *sep = dlen > 0 && dir[dlen - 1] == '/' ? "" : "/";
        size_t need = dlen + strlen(sep) + strlen(names[i]) + 1;
        char *path = malloc(need);
        if (!path) {
            rc = cs_error_set(err, CS_ENOMEM, "%s: out of memory loading plugins", dir);
            goto done;
        }
        snprintf(path, need, "%s%s%s", dir, sep, names[i]);
        cs_error_t one;
        cs_error_clear(&one);
        int r = cs_plugin_host_load_file(host, path, &one);
        free(path);
        if (r == CS_ENOMEM) {
            rc = cs_error_set(err, CS_ENOMEM, "%s", one.msg);
            goto done;
        }
        if (r != CS_OK) {
            CS_ERROR("plugin skipped: %s", one.msg);
            continue;
        }
        loaded++;
        if (n_loaded) {
            *n_loaded = loaded;
        }
    }

done:
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    closedir(d);
    return rc;
}

static const cs_plugin_desc_t *s_by_kind(const cs_plugin_host_t *host, uint32_t kind,
                                         const char *id, size_t len)
{
    if (!host || host->magic != S_HOST_MAGIC || !id) {
        return NULL;
    }
    const s_plugin_t *p = s_find(host, id, len);
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
    for (size_t i = 0; i < host->count; i++) {
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
    return host && host->magic == S_HOST_MAGIC ? host->count : 0;
}

const cs_plugin_desc_t *cs_plugin_host_at(const cs_plugin_host_t *host, size_t i)
{
    if (!host || host->magic != S_HOST_MAGIC || i >= host->count) {
        return NULL;
    }
    return host->plugins[i].desc;
}

const char *cs_plugin_host_path_at(const cs_plugin_host_t *host, size_t i)
{
    if (!host || host->magic != S_HOST_MAGIC || i >= host->count) {
        return NULL;
    }
    return host->plugins[i].path;
}
