/* loader_test.c: the scaffolding the loader suites share (see loader_test.h). */
#include "loader_test.h"

#include <check.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>

#include "cs_test.h"

const cs_plugin_desc_t *cs_loader_test_open(const char *name, void **dl)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plugins/%s.so", cs_test_build_dir(), name);
    *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(*dl != NULL, "dlopen %s: %s", path, dlerror());
    char symbol[128];
    int n = snprintf(symbol, sizeof symbol, "cs_plugin_%s", name);
    ck_assert(n > 0 && (size_t)n < sizeof symbol);
    for (char *c = symbol; *c; c++) {
        if (*c == '-') {
            *c = '_';
        }
    }
    const cs_plugin_desc_t *desc = dlsym(*dl, symbol);
    ck_assert_msg(desc != NULL, "no %s in %s", symbol, path);
    ck_assert_ptr_nonnull(desc->loader);
    return desc;
}

void cs_loader_test_close(void **dl)
{
    if (*dl) {
        dlclose(*dl);
    }
    *dl = NULL;
}

int cs_loader_test_run(const cs_plugin_desc_t *desc, cs_mock_host_t *m, const char *const *files,
                       size_t n, cs_error_t *err)
{
    cs_error_clear(err);
    return desc->loader->load(cs_mock_host_api(m), cs_mock_host_sink(m), files, n, err);
}

void cs_loader_test_fixture(const char *dir, const char *name, char *out, size_t cap)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s", dir, name);
    cs_test_fixture_path(rel, out, cap);
}
