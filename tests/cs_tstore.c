/* cs_tstore.c: see cs_tstore.h. */
#include "cs_tstore.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>

#include "cs_test.h"

void cs_tstore_open(cs_tstore_t *t, const char *db)
{
    cs_error_t err;
    t->store = cs_store_open_ex(db, 0, 0, CS_STORE_RDONLY, &err);
    ck_assert_msg(t->store != NULL, "open %s: %s", db, err.msg);
    t->reader = cs_reader_new(t->store, &err);
    ck_assert_msg(t->reader != NULL, "reader: %s", err.msg);
    t->plugins = cs_plugin_host_new();
    ck_assert_ptr_nonnull(t->plugins);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/plugins", cs_test_build_dir());
    size_t n = 0;
    ck_assert_msg(cs_plugin_host_load_dir(t->plugins, dir, &n, &err) == CS_OK, "plugins: %s",
                  err.msg);
}

void cs_tstore_close(cs_tstore_t *t)
{
    if (t->reader) {
        cs_reader_destroy(&t->reader);
    }
    if (t->store) {
        cs_store_destroy(&t->store);
    }
    if (t->plugins) {
        cs_plugin_host_destroy(&t->plugins);
    }
}
