/* check_install.c: `make install DESTDIR=... PREFIX=/usr/local` from the source tree, once:
 * the shared libraries carry a SONAME and a version with their links, csclient.pc and
 * codeset.pc compile and link programs against the installed copies, which then run and talk
 * to a real codesetd, the Python client lands where Debian's python3 looks for /usr/local's
 * modules and imports from there, the systemd unit and the sysusers entry are where systemd
 * reads them under /usr/local; `make uninstall` takes every file away again. */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_OUT 8192

Suite *cs_install_suite(void);

static char s_root[PATH_MAX];    /* the source tree (the tests run from it) */
static char s_dest[PATH_MAX];    /* DESTDIR */
static char s_pfx[PATH_MAX + 16]; /* DESTDIR/usr/local */
static char s_work[PATH_MAX];     /* the test's programs */

/* Run cmd with sh; its stdout and stderr into out. Returns the exit status (-1: not run). */
static int s_run(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    if (!p) {
        return -1;
    }
    size_t got = fread(out, 1, cap - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The build directory as make's BUILD: relative to the source tree when inside it. */
static const char *s_build_arg(void)
{
    const char *b = cs_test_build_dir();
    size_t n = strlen(s_root);
    return strncmp(b, s_root, n) == 0 && b[n] == '/' ? b + n + 1 : b;
}

/* make TARGET DESTDIR=... PREFIX=/usr/local, quietly, outside any make that runs the tests. */
static void s_make(const char *target)
{
    char out[T_OUT];
    int st = s_run(out, sizeof out,
                   "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C '%s' %s BUILD='%s' "
                   "DESTDIR='%s' PREFIX=/usr/local",
                   s_root, target, s_build_arg(), s_dest);
    ck_assert_msg(st == 0, "make %s exited %d:\n%s", target, st, out);
}

static void s_setup(void)
{
    ck_assert_ptr_nonnull(getcwd(s_root, sizeof s_root));
    cs_test_tmpdir(s_dest, sizeof s_dest);
    cs_test_tmpdir(s_work, sizeof s_work);
    snprintf(s_pfx, sizeof s_pfx, "%s/usr/local", s_dest);
    s_make("install");
}

static void s_teardown(void)
{
    cs_test_rmtree(s_dest);
    cs_test_rmtree(s_work);
}

/* lib/NAME.so.0.x.y exists with SONAME NAME.so.0; NAME.so.0 and NAME.so lead to it. */
static void s_check_library(const char *name)
{
    char out[T_OUT], path[PATH_MAX * 2], want[128];
    snprintf(path, sizeof path, "%s/lib/%s.so.0", s_pfx, name);
    char real[PATH_MAX];
    ck_assert_msg(realpath(path, real) != NULL, "%s is missing", path);
    snprintf(want, sizeof want, "/%s.so.0.", name);
    ck_assert_msg(strstr(real, want) != NULL, "%s leads to %s, not a versioned file", path, real);
    struct stat st;
    ck_assert_int_eq(lstat(real, &st), 0);
    ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", real);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_msg(S_ISLNK(st.st_mode), "%s is not a link", path);
    snprintf(path, sizeof path, "%s/lib/%s.so", s_pfx, name);
    char dev[PATH_MAX];
    ck_assert_msg(realpath(path, dev) != NULL && strcmp(dev, real) == 0, "%s does not lead to %s",
                  path, real);
    ck_assert_int_eq(s_run(out, sizeof out, "readelf -d '%s'", real), 0);
    snprintf(want, sizeof want, "Library soname: [%s.so.0]", name);
    ck_assert_msg(strstr(out, want) != NULL, "%s has no SONAME %s.so.0:\n%s", real, name, out);
}

START_TEST(test_shared_libraries_versioned)
{
    s_check_library("libcodeset");
    s_check_library("libcsclient");
}
END_TEST

/* Compile src with the flags pkg-config gives for module (from the installed .pc, its prefix
 * moved to the DESTDIR copy); the program's path into exe. Checks the .pc names /usr/local. */
static void s_build_with_pc(const char *module, const char *src, char *exe, size_t cap)
{
    char out[T_OUT], flags[T_OUT], c[PATH_MAX * 2];
    ck_assert_int_eq(s_run(out, sizeof out,
                           "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --variable=prefix %s",
                           s_pfx, module),
                     0);
    ck_assert_msg(strcmp(out, "/usr/local\n") == 0, "%s.pc's prefix: %s", module, out);
    int st = s_run(flags, sizeof flags,
                   "PKG_CONFIG_PATH='%s/lib/pkgconfig' pkg-config --define-variable=prefix='%s' "
                   "--cflags --libs %s",
                   s_pfx, s_pfx, module);
    ck_assert_msg(st == 0, "pkg-config %s: %s", module, flags);
    flags[strcspn(flags, "\n")] = '\0';
    snprintf(c, sizeof c, "%s/%s.c", s_work, module);
    FILE *f = fopen(c, "w");
    ck_assert_ptr_nonnull(f);
    fputs(src, f);
    fclose(f);
    snprintf(exe, cap, "%s/%s-prog", s_work, module);
    /* a sanitized build's libraries need the sanitizer runtimes loaded first */
    int san = s_run(out, sizeof out, "readelf -d '%s/lib/lib%s.so.0' | grep -q libasan", s_pfx,
                    strcmp(module, "codeset") == 0 ? "codeset" : "csclient") == 0;
    st = s_run(out, sizeof out, "cc -std=c11 -Wall -Werror %s -o '%s' '%s' %s",
               san ? "-fsanitize=address,undefined" : "", exe, c, flags);
    ck_assert_msg(st == 0, "cc with `pkg-config %s` (%s) failed:\n%s", module, flags, out);
}

static const char s_client_src[] =
    "#include <stdio.h>\n"
    "#include <codeset_client.h>\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    const char *eps[] = {argv[argc - 1]};\n"
    "    cs_client_opts_t o = {.timeout_ms = 5000, .tries = 2};\n"
    "    cs_client_t *c = cs_client_new(eps, 1, &o, NULL);\n"
    "    cs_client_ping_t p;\n"
    "    int rc = c ? cs_client_ping(c, &p) : -1;\n"
    "    if (rc == 0) {\n"
    "        printf(\"protocol %d\\n\", p.protocol);\n"
    "    }\n"
    "    cs_client_destroy(&c);\n"
    "    return rc == 0 ? 0 : 1;\n"
    "}\n";

static const char s_embed_src[] =
    "#include <stdio.h>\n"
    "#include <codeset/codeset.h>\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    cs_error_t err;\n"
    "    cs_db_t *db = cs_db_open(argv[argc - 2], argv[argc - 1], &err);\n"
    "    if (!db) {\n"
    "        printf(\"open: %s\\n\", err.msg);\n"
    "        return 1;\n"
    "    }\n"
    "    cs_db_entry_t e;\n"
    "    int rc = cs_db_lookup(db, \"icd10cm\", \"E11.9\", NULL, &e, &err);\n"
    "    printf(\"%d %s\\n\", rc, err.msg);\n"
    "    cs_db_close(&db);\n"
    "    return 0;\n"
    "}\n";

START_TEST(test_pkg_config_builds_and_runs)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    char exe[PATH_MAX * 2], out[T_OUT];

    /* csclient.pc: a client program linked against the installed libcsclient.so.0 pings */
    s_build_with_pc("csclient", s_client_src, exe, sizeof exe);
    ck_assert_int_eq(s_run(out, sizeof out, "readelf -d '%s'", exe), 0);
    ck_assert_msg(strstr(out, "Shared library: [libcsclient.so.0]") != NULL,
                  "the program does not need libcsclient.so.0:\n%s", out);
    int st = s_run(out, sizeof out, "LD_LIBRARY_PATH='%s/lib' '%s' '%s'", s_pfx, exe, d.query_ep);
    ck_assert_msg(st == 0 && strcmp(out, "protocol 1\n") == 0, "client program: %d %s", st, out);

    /* codeset.pc: the embedded API over the broker's database, with the installed plugins */
    s_build_with_pc("codeset", s_embed_src, exe, sizeof exe);
    ck_assert_int_eq(s_run(out, sizeof out, "readelf -d '%s'", exe), 0);
    ck_assert_msg(strstr(out, "Shared library: [libcodeset.so.0]") != NULL,
                  "the program does not need libcodeset.so.0:\n%s", out);
    st = s_run(out, sizeof out, "LD_LIBRARY_PATH='%s/lib' '%s' '%s' '%s/lib/codeset/plugins'",
               s_pfx, exe, d.db, s_pfx);
    ck_assert_msg(st == 0 && strstr(out, "no release of icd10cm is loaded") != NULL,
                  "embedded program: %d %s", st, out);

    /* the installed Python client, from where Debian's python3 looks (PYTHONPATH stands in for
     * DESTDIR), answers too */
    const char *py = getenv("PYTHON3") ? getenv("PYTHON3") : "/usr/bin/python3";
    st = s_run(out, sizeof out,
               "cd / && '%s' -c 'import sys, sysconfig\n"
               "v = \"python%%d.%%d\" %% sys.version_info[:2]\n"
               "d = \"/usr/local/lib/%%s/dist-packages\" %% v\n"
               "print(d if d in sys.path else \"not in sys.path: \" + d)'",
               py);
    ck_assert_msg(st == 0 && strncmp(out, "/usr/local/lib/", 15) == 0, "python3: %s", out);
    char site[512], file[PATH_MAX * 2];
    snprintf(site, sizeof site, "%s", out);
    site[strcspn(site, "\n")] = '\0';
    snprintf(file, sizeof file, "%s%s/codeset_client.py", s_dest, site);
    ck_assert_msg(access(file, R_OK) == 0, "%s is missing", file);
    st = s_run(out, sizeof out,
               "cd / && PYTHONPATH='%s%s' PYTHONDONTWRITEBYTECODE=1 '%s' -c '"
               "import codeset_client\n"
               "print(codeset_client.__file__)\n"
               "with codeset_client.Client(\"%s\") as c:\n"
               "    print(c.ping()[\"protocol\"])'",
               s_dest, site, py, d.query_ep);
    char want[PATH_MAX * 2 + 8];
    snprintf(want, sizeof want, "%s\n1\n", file);
    ck_assert_msg(st == 0 && strcmp(out, want) == 0, "python3 import: %d %s", st, out);

    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_systemd_files_and_uninstall)
{
    char path[PATH_MAX * 2], out[T_OUT];
    /* systemd reads units from /usr/local/lib/systemd/system and sysusers entries from
     * /usr/local/lib/sysusers.d */
    snprintf(path, sizeof path, "%s/lib/sysusers.d/codeset.conf", s_pfx);
    ck_assert_msg(access(path, R_OK) == 0, "%s is missing", path);
    snprintf(path, sizeof path, "%s/lib/systemd/system/codesetd.service", s_pfx);
    ck_assert_int_eq(s_run(out, sizeof out, "grep '^ExecStart=' '%s'", path), 0);
    ck_assert_msg(strstr(out, "ExecStart=/usr/local/bin/codesetd") != NULL, "%s", out);

    s_make("uninstall");
    ck_assert_int_eq(s_run(out, sizeof out, "find '%s' -type f -o -type l", s_dest), 0);
    ck_assert_msg(out[0] == '\0', "make uninstall left:\n%s", out);
}
END_TEST

Suite *cs_install_suite(void)
{
    Suite *s = suite_create("install");
    TCase *tc = tcase_create("make install");
    /* one install for the case; the uninstall test runs last */
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shared_libraries_versioned);
    tcase_add_test(tc, test_pkg_config_builds_and_runs);
    tcase_add_test(tc, test_systemd_files_and_uninstall);
    suite_add_tcase(s, tc);
    return s;
}
