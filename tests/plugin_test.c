/* plugin_test.c: the scaffolding the system plugin suites share (see plugin_test.h). */
#include "plugin_test.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"

const cs_plugin_desc_t *cs_plugin_test_load(cs_plugin_host_t *host, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plugins/%s.so", cs_test_build_dir(), name);
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_plugin_host_load_file(host, path, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    const cs_plugin_desc_t *desc = cs_plugin_host_system(host, name, strlen(name));
    ck_assert_ptr_nonnull(desc);
    return desc;
}

/* The current plugin (cs_plugin_test_use). */
static cs_plugin_host_t *s_host;
static const cs_plugin_desc_t *s_desc;

const cs_system_ops_t *cs_plugin_test_use(const char *name)
{
    s_host = cs_plugin_host_new();
    ck_assert_ptr_nonnull(s_host);
    s_desc = cs_plugin_test_load(s_host, name);
    ck_assert_ptr_nonnull(s_desc->system);
    return s_desc->system;
}

void cs_plugin_test_teardown(void)
{
    cs_plugin_host_destroy(&s_host);
    s_desc = NULL;
}

cs_plugin_host_t *cs_plugin_test_host(void)
{
    return s_host;
}

const cs_plugin_desc_t *cs_plugin_test_desc(void)
{
    return s_desc;
}

int cs_plugin_test_try(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    return cs_plugin_test_norm(s_desc->system, in, len, out, err);
}

void cs_plugin_test_refuse(const char *in, const char *want)
{
    cs_plugin_test_bad(s_desc->system, in, strlen(in), want);
}

int cs_plugin_test_looks(const char *in)
{
    return s_desc->system->looks_like_code(in, strlen(in));
}

int cs_plugin_test_norm(const cs_system_ops_t *ops, const char *in, size_t len, cs_code_t *out,
                        cs_error_t *err)
{
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        ck_abort_msg("out of memory");
    }
    memcpy(copy, in, len);
    memset(out, 0x5a, sizeof *out);
    cs_error_clear(err);
    int rc = ops->normalize(copy, len, out, err);
    free(copy);
    return rc;
}

void cs_plugin_test_ok(const cs_system_ops_t *ops, const char *in, size_t len, int cls,
                       const char *key, const char *display)
{
    cs_code_t out;
    cs_error_t err;
    int rc = cs_plugin_test_norm(ops, in, len, &out, &err);
    ck_assert_msg(rc == CS_OK, "'%.*s': %s", (int)len, in, err.msg);
    ck_assert_int_eq(out.cls, cls);
    ck_assert_str_eq(out.key, key);
    ck_assert_str_eq(out.display, display);
}

void cs_plugin_test_bad(const cs_system_ops_t *ops, const char *in, size_t len, const char *want)
{
    cs_code_t out;
    cs_error_t err;
    int rc = cs_plugin_test_norm(ops, in, len, &out, &err);
    ck_assert_msg(rc == CS_EMALFORMED, "'%.*s' accepted or wrong code %d", (int)len, in, rc);
    ck_assert_int_eq(err.code, CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks \"%s\": \"%s\"", want, err.msg);
    /* messages are printable ASCII only */
    for (const char *c = err.msg; *c; c++) {
        ck_assert_msg(*c >= 0x20 && *c < 0x7f, "raw byte 0x%02x in \"%s\"",
                      (unsigned char)*c, err.msg);
    }
}

void cs_plugin_test_descriptor(const cs_plugin_desc_t *desc, const char *name, const char *title,
                               const char *const *kinds)
{
    const cs_system_ops_t *ops = desc->system;
    ck_assert_str_eq(desc->name, name);
    ck_assert_str_eq(desc->title, title);
    ck_assert_uint_eq(desc->kind, CS_PLUGIN_SYSTEM);
    ck_assert_ptr_null(desc->loader);
    ck_assert_ptr_nonnull(ops->looks_like_code);
    size_t i = 0;
    for (; kinds[i]; i++) {
        ck_assert_ptr_nonnull(ops->kinds[i]);
        ck_assert_str_eq(ops->kinds[i], kinds[i]);
    }
    ck_assert_ptr_null(ops->kinds[i]);
}

void cs_plugin_test_long_input(const cs_system_ops_t *ops, char first, char fill,
                               const char *too_long, const char *code, const char *key,
                               const char *display, unsigned seed)
{
    size_t len = 1 << 20;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);

    /* 1 MB of a code-like run: too long, and the message stays short and cut */
    big[0] = first;
    memset(big + 1, fill, len - 1);
    cs_code_t out;
    cs_error_t err;
    ck_assert_int_eq(cs_plugin_test_norm(ops, big, len, &out, &err), CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, too_long) != NULL, "message lacks \"%s\": \"%s\"", too_long,
                  err.msg);
    ck_assert_ptr_nonnull(strstr(err.msg, "...'"));
    ck_assert_uint_lt(strlen(err.msg), sizeof err.msg - 1);

    /* 1 MB of white space: empty */
    memset(big, ' ', len);
    ck_assert_int_eq(cs_plugin_test_norm(ops, big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty code"));

    /* a valid code padded by 1 MB of white space on both sides */
    memcpy(big + len / 2, code, strlen(code));
    cs_plugin_test_ok(ops, big, len, CS_CLASS_CODE, key, display);

    /* 1 MB of pseudo-random bytes */
    unsigned x = seed;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
    }
    ck_assert_int_eq(cs_plugin_test_norm(ops, big, len, &out, &err), CS_EMALFORMED);
    for (const char *m = err.msg; *m; m++) {
        ck_assert(*m >= 0x20 && *m < 0x7f);
    }
    ck_assert_int_eq(ops->looks_like_code(big, len), 0);

    /* a long escaped quote still ends inside the message buffer */
    memset(big, 0x01, 200);
    ck_assert_int_eq(cs_plugin_test_norm(ops, big, 200, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "\\x01\\x01"));
    free(big);
}

void cs_plugin_test_null_args(const cs_system_ops_t *ops, const char *name,
                              const char *short_bad, const char *bad, const char *good)
{
    cs_code_t out;
    ck_assert_int_eq(ops->normalize(short_bad, strlen(short_bad), &out, NULL), CS_EMALFORMED);
    if (bad) {
        ck_assert_int_eq(ops->normalize(bad, strlen(bad), &out, NULL), CS_EMALFORMED);
    }
    ck_assert_int_eq(ops->normalize(good, strlen(good), &out, NULL), CS_OK);
    ck_assert_int_eq(ops->normalize(NULL, 0, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(ops->normalize(NULL, 3, &out, NULL), CS_EINVAL);
    ck_assert_int_eq(ops->normalize(good, strlen(good), NULL, NULL), CS_EINVAL);
    ck_assert_int_eq(ops->looks_like_code(NULL, 0), 0);
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(ops->normalize(NULL, 3, &out, &err), CS_EINVAL);
    char want[64];
    snprintf(want, sizeof want, "%s: normalize called without input", name);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks \"%s\": \"%s\"", want, err.msg);
}
