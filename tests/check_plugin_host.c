/* check_plugin_host.c: the plugin host loads the real plugins and refuses bad ones.
 *
 * The bad plugins are compiled at test time from tests/fixtures/plugins/fixture_plugin.c with
 * `cc` into one temporary directory (an unchecked fixture, built once, removed at exit).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_test.h"
#include "load/cs_plugin_host.h"
#include "util/cs_log.h"

static char s_tmp[1024];  /* root of the fixture plugins, "" until built */
static char s_repo[1024]; /* repository root (the tests run from it) */
static pid_t s_owner;     /* the process that made s_tmp and removes it */
static int s_errors;      /* CS_ERROR lines seen by s_count_errors */

static void s_count_errors(int level, const char *line, void *user)
{
    (void)line;
    (void)user;
    if (level == CS_LOG_ERROR) {
        s_errors++;
    }
}

static void s_cleanup(void)
{
    if (s_tmp[0] && getpid() == s_owner) {
        cs_test_rmtree(s_tmp);
    }
}

/* Compile the fixture with defs into <s_tmp>/<file>, mode 0755. */
static void s_cc(const char *file, const char *defs)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "cc -shared -fPIC -std=c11 -I'%s/core/include' %s -o '%s/fx/%s' "
             "'%s/tests/fixtures/plugins/fixture_plugin.c'",
             s_repo, defs, s_tmp, file, s_repo);
    ck_assert_msg(system(cmd) == 0, "could not build fixture: %s", cmd);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fx/%s", s_tmp, file);
    ck_assert_int_eq(chmod(path, 0755), 0);
}

/* Copy the built plugin <build>/plugins/<name> to <s_tmp>/<sub>/<name> with mode. */
static void s_copy_plugin(const char *name, const char *sub, mode_t mode)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s' && cp '%s/plugins/%s' '%s/%s/%s'", s_tmp, sub,
             cs_test_build_dir(), name, s_tmp, sub, name);
    ck_assert_msg(system(cmd) == 0, "could not copy: %s", cmd);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", s_tmp, sub, name);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void s_write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void s_build_fixtures(void)
{
    if (s_tmp[0]) {
        return;
    }
    ck_assert_msg(getcwd(s_repo, sizeof s_repo) != NULL, "getcwd failed");
    cs_test_tmpdir(s_tmp, sizeof s_tmp);
    s_owner = getpid();
    atexit(s_cleanup);

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fx", s_tmp);
    ck_assert_int_eq(mkdir(path, 0755), 0);

    /* good ones */
    s_cc("fixsys.so", "-DFIX_ID=fixsys");
    s_cc("fix-loader-a.so", "-DFIX_ID=fix_loader_a -DFIX_NAME='\"fix-loader-a\"' -DFIX_LOADER "
                            "-DFIX_TAG='\"a\"'");
    s_cc("fix-loader-b.so", "-DFIX_ID=fix_loader_b -DFIX_NAME='\"fix-loader-b\"' -DFIX_LOADER "
                            "-DFIX_TAG='\"b\"'");
    /* bad ones */
    s_cc("abi2.so", "-DFIX_ID=abi2 -DFIX_MAJOR=2");
    s_cc("newer.so", "-DFIX_ID=newer -DFIX_MINOR='(CS_ABI_MINOR + 1)'");
    s_cc("misnamed.so", "-DFIX_ID=misnamed -DFIX_NAME='\"other\"'");
    s_cc("no-normalize.so", "-DFIX_ID=no_normalize -DFIX_NAME='\"no-normalize\"' "
                            "-DFIX_NO_CALLBACK");
    s_cc("no-sniff.so", "-DFIX_ID=no_sniff -DFIX_NAME='\"no-sniff\"' -DFIX_LOADER "
                        "-DFIX_NO_CALLBACK");
    s_cc("small.so", "-DFIX_ID=small -DFIX_SIZE=12");
    s_cc("oddkind.so", "-DFIX_ID=oddkind -DFIX_KIND=7");
    s_cc("nosym.so", "-DFIX_ID=something_else");
    s_cc("notitle.so", "-DFIX_ID=notitle -DFIX_NO_TITLE");

    snprintf(path, sizeof path, "%s/fx/notelf.so", s_tmp);
    s_write_file(path, "this is not an ELF file\n", 0644);
    snprintf(path, sizeof path, "%s/fx/readme.txt", s_tmp);
    s_write_file(path, "not a plugin: load_dir ignores it\n", 0644);
    snprintf(path, sizeof path, "%s/fx/x.so", s_tmp);
    ck_assert_int_eq(mkdir(path, 0755), 0);

    /* copies of the real plugin: world-writable (in fx/), group-writable, a clean duplicate */
    s_copy_plugin("icd10cm.so", "fx", 0666);
    s_copy_plugin("icd10cm.so", "gw", 0664);
    s_copy_plugin("icd10cm.so", "dup", 0644);
}

static void s_fixture_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", s_tmp, rel);
}

/* Loading rel (under the fixture dir) fails with code and a message naming path and want. */
static void s_expect_refused(cs_plugin_host_t *host, const char *rel, int code, const char *want)
{
    char path[PATH_MAX];
    s_fixture_path(path, sizeof path, rel);
    cs_error_t err;
    cs_error_clear(&err);
    size_t before = cs_plugin_host_count(host);
    int rc = cs_plugin_host_load_file(host, path, &err);
    ck_assert_msg(rc == code, "%s: expected %s, got %s (%s)", rel, cs_strerror(code),
                  cs_strerror(rc), err.msg);
    ck_assert_int_eq(err.code, code);
    ck_assert_msg(strstr(err.msg, path) == err.msg, "message does not start with the path: %s",
                  err.msg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks '%s': %s", want, err.msg);
    ck_assert_uint_eq(cs_plugin_host_count(host), before);
}

static void s_real_path(char *out, size_t cap, const char *file)
{
    snprintf(out, cap, "%s/plugins/%s", cs_test_build_dir(), file);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

START_TEST(test_new_destroy)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    ck_assert_ptr_nonnull(host);
    ck_assert_uint_eq(cs_plugin_host_count(host), 0);
    ck_assert_ptr_null(cs_plugin_host_at(host, 0));
    ck_assert_ptr_null(cs_plugin_host_path_at(host, 0));
    ck_assert_ptr_null(cs_plugin_host_system(host, "icd10cm", 7));
    cs_plugin_host_destroy(&host);
    ck_assert_ptr_null(host);
    cs_plugin_host_destroy(&host);
    cs_plugin_host_destroy(NULL);
}
END_TEST

/* ---- the real plugins ------------------------------------------------------------------ */

START_TEST(test_load_real_icd10cm)
{
    char path[PATH_MAX];
    s_real_path(path, sizeof path, "icd10cm.so");
    cs_plugin_host_t *host = cs_plugin_host_new();
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_plugin_host_load_file(host, path, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    ck_assert_uint_eq(cs_plugin_host_count(host), 1);

    const cs_plugin_desc_t *d = cs_plugin_host_system(host, "icd10cm", 7);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(cs_plugin_host_at(host, 0), d);
    ck_assert_str_eq(cs_plugin_host_path_at(host, 0), path);
    ck_assert_str_eq(d->name, "icd10cm");
    ck_assert_str_eq(d->title, "ICD-10-CM (diagnoses)");
    ck_assert_uint_eq(d->kind, CS_PLUGIN_SYSTEM);
    /* lookups compare the whole id, by kind */
    ck_assert_ptr_eq(cs_plugin_host_system(host, "icd10cm-tabular", 7), d);
    ck_assert_ptr_null(cs_plugin_host_system(host, "icd10", 5));
    ck_assert_ptr_null(cs_plugin_host_system(host, "icd10cmx", 8));
    ck_assert_ptr_null(cs_plugin_host_loader(host, "icd10cm", 7));
    ck_assert_ptr_null(cs_plugin_host_at(host, 1));

    /* the same file twice: refused by name, the first stays usable */
    cs_error_clear(&err);
    ck_assert_int_eq(cs_plugin_host_load_file(host, path, &err), CS_EEXIST);
    ck_assert_ptr_nonnull(strstr(err.msg, "already loaded"));
    ck_assert_uint_eq(cs_plugin_host_count(host), 1);
    cs_code_t out;
    ck_assert_int_eq(d->system->normalize("e119", 4, &out, NULL), CS_OK);
    ck_assert_str_eq(out.display, "E11.9");
    cs_plugin_host_destroy(&host);
}
END_TEST

/* A host with every plugin of the build's directory (dir) loaded at once; *n of them. */
static cs_plugin_host_t *s_real_host(char *dir, size_t cap, size_t *n)
{
    snprintf(dir, cap, "%s/plugins", cs_test_build_dir());
    cs_plugin_host_t *host = cs_plugin_host_new();
    cs_error_t err;
    cs_error_clear(&err);
    /* other plugins of the tree may be half-built; they are logged and skipped */
    ck_assert_msg(cs_plugin_host_load_dir(host, dir, n, &err) == CS_OK, "%s", err.msg);
    return host;
}

START_TEST(test_load_dir_real)
{
    char dir[PATH_MAX];
    size_t n = 0;
    cs_plugin_host_t *host = s_real_host(dir, sizeof dir, &n);
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_eq(cs_plugin_host_count(host), n);
    ck_assert_ptr_nonnull(cs_plugin_host_system(host, "icd10cm", 7));
    /* name order */
    for (size_t i = 1; i < n; i++) {
        const char *a = cs_plugin_host_path_at(host, i - 1);
        const char *b = cs_plugin_host_path_at(host, i);
        ck_assert_msg(strcmp(a, b) < 0, "%s loaded before %s", a, b);
    }
    cs_plugin_host_destroy(&host);
}
END_TEST

/* Only the named plugins load before it returns; lookups of the others, the count and the
 * listing wait for the host's thread, and the listing is cs_plugin_host_load_dir's. */
START_TEST(test_load_dir_first_real)
{
    char dir[PATH_MAX];
    size_t n_all = 0;
    cs_plugin_host_t *all = s_real_host(dir, sizeof dir, &n_all);
    cs_error_t err;
    cs_error_clear(&err);

    cs_plugin_host_t *host = cs_plugin_host_new();
    const char *const first[] = {"icd10cm", "no-such-plugin", "hcpcs"};
    size_t n = 99;
    ck_assert_msg(cs_plugin_host_load_dir_first(host, dir, first, 3, &n, &err) == CS_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(n, 2); /* the others are the thread's */
    ck_assert_ptr_nonnull(cs_plugin_host_system(host, "icd10cm", 7));
    ck_assert_ptr_nonnull(cs_plugin_host_loader(host, "icd10cm-tabular", 15));
    ck_assert_ptr_null(cs_plugin_host_system(host, "no-such-plugin", 14));
    ck_assert_uint_eq(cs_plugin_host_count(host), n_all);
    for (size_t i = 0; i < n_all; i++) {
        ck_assert_str_eq(cs_plugin_host_path_at(host, i), cs_plugin_host_path_at(all, i));
        ck_assert_str_eq(cs_plugin_host_at(host, i)->name, cs_plugin_host_at(all, i)->name);
    }
    ck_assert_ptr_null(cs_plugin_host_at(host, n_all));
    ck_assert_int_eq(cs_plugin_host_load_dir_first(host, dir, NULL, 0, NULL, &err), CS_EINVAL);
    cs_plugin_host_destroy(&host);

    /* destroyed while its thread may still load (it waits for it), or before it started */
    host = cs_plugin_host_new();
    ck_assert_int_eq(cs_plugin_host_load_dir_first(host, dir, NULL, 0, &n, &err), CS_OK);
    ck_assert_uint_eq(n, 0);
    cs_plugin_host_load_rest(host, NULL);
    cs_plugin_host_load_rest(host, NULL);
    cs_plugin_host_destroy(&host);
    host = cs_plugin_host_new();
    ck_assert_int_eq(cs_plugin_host_load_dir_first(host, dir, first, 1, &n, &err), CS_OK);
    ck_assert_uint_eq(n, 1);
    cs_plugin_host_destroy(&host);
    cs_plugin_host_destroy(&all);
}
END_TEST

/* ---- refusals -------------------------------------------------------------------------- */

START_TEST(test_refuse_writable)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    s_expect_refused(host, "fx/icd10cm.so", CS_EIO, "writable by group or others");
    s_expect_refused(host, "gw/icd10cm.so", CS_EIO, "writable by group or others");
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_refuse_not_regular)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    s_expect_refused(host, "fx/x.so", CS_EIO, "not a regular file");
    s_expect_refused(host, "fx/missing.so", CS_EIO, "cannot stat");
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_refuse_not_elf)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    s_expect_refused(host, "fx/notelf.so", CS_EIO, "dlopen failed");
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_refuse_abi)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    char want[64];
    snprintf(want, sizeof want, "built for plugin ABI 2.%d, this broker speaks %d.%d",
             CS_ABI_MINOR, CS_ABI_MAJOR, CS_ABI_MINOR);
    s_expect_refused(host, "fx/abi2.so", CS_EABI, want);
    snprintf(want, sizeof want, "built for plugin ABI %d.%d, this broker speaks %d.%d",
             CS_ABI_MAJOR, CS_ABI_MINOR + 1, CS_ABI_MAJOR, CS_ABI_MINOR);
    s_expect_refused(host, "fx/newer.so", CS_EABI, want);
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_refuse_mangled)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    s_expect_refused(host, "fx/misnamed.so", CS_EMALFORMED,
                     "descriptor name 'other' differs from the file name 'misnamed'");
    s_expect_refused(host, "fx/no-normalize.so", CS_EMALFORMED, "without a normalize callback");
    s_expect_refused(host, "fx/no-sniff.so", CS_EMALFORMED, "without a sniff callback");
    s_expect_refused(host, "fx/small.so", CS_EMALFORMED, "struct_size 12");
    s_expect_refused(host, "fx/oddkind.so", CS_EMALFORMED, "unknown plugin kind 7");
    s_expect_refused(host, "fx/nosym.so", CS_EMALFORMED, "no symbol cs_plugin_nosym");
    s_expect_refused(host, "fx/notitle.so", CS_EMALFORMED, "descriptor has no title");
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_refuse_bad_file_name)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    char path[PATH_MAX];
    s_fixture_path(path, sizeof path, "fx/readme.txt");
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(cs_plugin_host_load_file(host, path, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    ck_assert_int_eq(cs_plugin_host_load_file(host, NULL, &err), CS_EINVAL);
    ck_assert_int_eq(cs_plugin_host_load_file(NULL, path, NULL), CS_EINVAL);
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_refuse_duplicate)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    char path[PATH_MAX];
    s_real_path(path, sizeof path, "icd10cm.so");
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(cs_plugin_host_load_file(host, path, &err), CS_OK);
    s_expect_refused(host, "dup/icd10cm.so", CS_EEXIST, "a plugin named 'icd10cm' is already");
    /* the first one still works after the copy was dlclose()d */
    const cs_plugin_desc_t *d = cs_plugin_host_system(host, "icd10cm", 7);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->system->looks_like_code("E11", 3), 1);
    cs_plugin_host_destroy(&host);
}
END_TEST

/* The three good plugins of the fixture directory, listed in name order: fix-loader-a,
 * fix-loader-b, fixsys ('-' sorts before 's'). */
static void s_assert_fx_listing(const cs_plugin_host_t *host)
{
    ck_assert_uint_eq(cs_plugin_host_count(host), 3);
    ck_assert_str_eq(cs_plugin_host_at(host, 0)->name, "fix-loader-a");
    ck_assert_str_eq(cs_plugin_host_at(host, 1)->name, "fix-loader-b");
    ck_assert_str_eq(cs_plugin_host_at(host, 2)->name, "fixsys");
}

/* A new host, dir the fixture directory, and the error lines counted from now. */
static cs_plugin_host_t *s_fx_host(char *dir, size_t cap)
{
    s_fixture_path(dir, cap, "fx");
    s_errors = 0;
    cs_log_set_hook(s_count_errors, NULL);
    return cs_plugin_host_new();
}

START_TEST(test_load_dir_skips_bad)
{
    char dir[PATH_MAX];
    cs_plugin_host_t *host = s_fx_host(dir, sizeof dir);
    cs_error_t err;
    cs_error_clear(&err);
    size_t n = 99;
    int rc = cs_plugin_host_load_dir(host, dir, &n, &err);
    cs_log_set_hook(NULL, NULL);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 3);
    s_assert_fx_listing(host);
    /* abi2 newer misnamed no-normalize no-sniff small oddkind nosym notitle notelf x, and
     * icd10cm (mode 0666) */
    ck_assert_int_eq(s_errors, 12);
    ck_assert_ptr_nonnull(cs_plugin_host_loader(host, "fix-loader-a", 12));
    ck_assert_ptr_null(cs_plugin_host_system(host, "fix-loader-a", 12));
    ck_assert_ptr_nonnull(cs_plugin_host_system(host, "fixsys", 6));
    ck_assert_ptr_null(cs_plugin_host_system(host, "icd10cm", 7));

    /* again: everything is a duplicate or bad now */
    s_errors = 0;
    cs_log_set_hook(s_count_errors, NULL);
    ck_assert_int_eq(cs_plugin_host_load_dir(host, dir, &n, &err), CS_OK);
    cs_log_set_hook(NULL, NULL);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(s_errors, 15);
    cs_plugin_host_destroy(&host);
}
END_TEST

/* The bad files of a directory are refused on the host's thread as they would be at once;
 * a sniff waits for every loader. */
START_TEST(test_load_dir_first_skips_bad)
{
    char dir[PATH_MAX];
    cs_plugin_host_t *host = s_fx_host(dir, sizeof dir);
    cs_error_t err;
    cs_error_clear(&err);
    size_t n = 99;
    const char *const first[] = {"fixsys", "icd10cm"};
    int rc = cs_plugin_host_load_dir_first(host, dir, first, 2, &n, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 1); /* icd10cm.so is refused (mode 0666) */
    const char *const both[] = {"/rel/2025.fixboth"};
    ck_assert_ptr_null(cs_plugin_host_sniff(host, both, 1, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "fix-loader-a, fix-loader-b"));
    cs_log_set_hook(NULL, NULL);
    ck_assert_int_eq(s_errors, 12);
    s_assert_fx_listing(host);
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_load_dir_missing)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    char dir[PATH_MAX];
    s_fixture_path(dir, sizeof dir, "no-such-dir");
    cs_error_t err;
    cs_error_clear(&err);
    size_t n = 99;
    ck_assert_int_eq(cs_plugin_host_load_dir(host, dir, &n, &err), CS_EIO);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, dir));
    cs_error_clear(&err);
    ck_assert_int_eq(cs_plugin_host_load_dir_first(host, dir, NULL, 0, &n, &err), CS_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, dir));
    ck_assert_uint_eq(cs_plugin_host_count(host), 0);
    cs_plugin_host_destroy(&host);
}
END_TEST

/* ---- sniff ----------------------------------------------------------------------------- */

static cs_plugin_host_t *s_sniff_host(void)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    const char *const files[] = {"fx/fixsys.so", "fx/fix-loader-a.so", "fx/fix-loader-b.so"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[PATH_MAX];
        s_fixture_path(path, sizeof path, files[i]);
        cs_error_t err;
        cs_error_clear(&err);
        ck_assert_msg(cs_plugin_host_load_file(host, path, &err) == CS_OK, "%s", err.msg);
    }
    return host;
}

START_TEST(test_sniff)
{
    cs_plugin_host_t *host = s_sniff_host();
    cs_error_t err;

    const char *const one[] = {"/rel/2025.fixa"};
    cs_error_clear(&err);
    const cs_plugin_desc_t *d = cs_plugin_host_sniff(host, one, 1, &err);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, "fix-loader-a");

    const char *const two[] = {"/rel/2025.fixb", "/rel/order.fixb"};
    d = cs_plugin_host_sniff(host, two, 2, &err);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->name, "fix-loader-b");

    const char *const none[] = {"/rel/2025.xml"};
    cs_error_clear(&err);
    ck_assert_ptr_null(cs_plugin_host_sniff(host, none, 1, &err));
    ck_assert_int_eq(err.code, CS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "/rel/2025.xml"));

    const char *const mixed[] = {"/rel/2025.fixa", "/rel/order.fixb"};
    cs_error_clear(&err);
    ck_assert_ptr_null(cs_plugin_host_sniff(host, mixed, 2, &err));
    ck_assert_int_eq(err.code, CS_ENOTFOUND);

    const char *const both[] = {"/rel/2025.fixboth"};
    cs_error_clear(&err);
    ck_assert_ptr_null(cs_plugin_host_sniff(host, both, 1, &err));
    ck_assert_int_eq(err.code, CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "fix-loader-a, fix-loader-b"));

    cs_error_clear(&err);
    ck_assert_ptr_null(cs_plugin_host_sniff(host, one, 0, &err));
    ck_assert_int_eq(err.code, CS_EINVAL);
    cs_plugin_host_destroy(&host);
}
END_TEST

START_TEST(test_sniff_no_loaders)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    const char *const one[] = {"/rel/2025.fixa"};
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_ptr_null(cs_plugin_host_sniff(host, one, 1, &err));
    ck_assert_int_eq(err.code, CS_ENOTFOUND);
    cs_plugin_host_destroy(&host);
}
END_TEST

/* With the real ICD-10-CM tabular loader, when it is built: it takes the official tabular XML
 * and nothing else. */
START_TEST(test_sniff_real_tabular)
{
    char path[PATH_MAX];
    s_real_path(path, sizeof path, "icd10cm-tabular.so");
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "SKIP %s: %s not built\n", __func__, path);
        return;
    }
    cs_plugin_host_t *host = cs_plugin_host_new();
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_msg(cs_plugin_host_load_file(host, path, &err) == CS_OK, "%s", err.msg);
    const cs_plugin_desc_t *tab = cs_plugin_host_loader(host, "icd10cm-tabular", 15);
    ck_assert_ptr_nonnull(tab);

    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s/tests/fixtures/plugins/fixture_plugin.c", s_repo);
    const char *const not_xml[] = {src};
    cs_error_clear(&err);
    ck_assert_ptr_null(cs_plugin_host_sniff(host, not_xml, 1, &err));
    ck_assert_int_eq(err.code, CS_ENOTFOUND);

    char xml[PATH_MAX];
    int have = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml);
    if (have) {
        const char *const files[] = {xml};
        cs_error_clear(&err);
        ck_assert_msg(cs_plugin_host_sniff(host, files, 1, &err) == tab, "%s", err.msg);
    } else {
        fprintf(stderr, "SKIP %s (XML part): %s not found\n", __func__, xml);
    }
    cs_plugin_host_destroy(&host);
}
END_TEST

Suite *cs_plugin_host_suite(void);
Suite *cs_plugin_host_suite(void)
{
    Suite *s = suite_create("plugin_host");

    TCase *tc = tcase_create("lifecycle");
    tcase_add_test(tc, test_new_destroy);
    suite_add_tcase(s, tc);

    tc = tcase_create("real plugins");
    tcase_add_test(tc, test_load_real_icd10cm);
    tcase_add_test(tc, test_load_dir_real);
    tcase_add_test(tc, test_load_dir_first_real);
    suite_add_tcase(s, tc);

    tc = tcase_create("refusals");
    tcase_add_unchecked_fixture(tc, s_build_fixtures, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_refuse_writable);
    tcase_add_test(tc, test_refuse_not_regular);
    tcase_add_test(tc, test_refuse_not_elf);
    tcase_add_test(tc, test_refuse_abi);
    tcase_add_test(tc, test_refuse_mangled);
    tcase_add_test(tc, test_refuse_bad_file_name);
    tcase_add_test(tc, test_refuse_duplicate);
    tcase_add_test(tc, test_load_dir_skips_bad);
    tcase_add_test(tc, test_load_dir_first_skips_bad);
    tcase_add_test(tc, test_load_dir_missing);
    suite_add_tcase(s, tc);

    tc = tcase_create("sniff");
    tcase_add_unchecked_fixture(tc, s_build_fixtures, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_sniff_no_loaders);
    tcase_add_test(tc, test_sniff_real_tabular);
    suite_add_tcase(s, tc);
    return s;
}
