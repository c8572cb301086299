/* check_infile.c: a load's files are opened without blocking, checked, and pinned: the loader
 * reads the very file checked even when its path is swapped for a FIFO afterwards. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_test.h"
#include "load/cs_infile.h"

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Open one file; the status, with err's message in msg. */
static int s_open_one(const char *path, const char *pins, cs_infiles_t **out, char *msg,
                      size_t cap)
{
    cs_error_t err;
    cs_error_clear(&err);
    const char *files[] = {path};
    int rc = cs_infiles_open(files, 1, pins, out, &err);
    snprintf(msg, cap, "%s", err.msg);
    return rc;
}

START_TEST(test_pinned_through_a_swap)
{
    char dir[PATH_MAX], path[PATH_MAX + 16], fifo[PATH_MAX + 16], pins[PATH_MAX + 16];
    char msg[300], buf[PATH_MAX + 32]; /* buf: the expected message, a path in it */
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/release.txt", dir);
    snprintf(fifo, sizeof fifo, "%s/swap.fifo", dir);
    snprintf(pins, sizeof pins, "%s/pins", dir);
    s_write(path, "abc");
    cs_infiles_t *in = NULL;
    ck_assert_int_eq(s_open_one(path, pins, &in, msg, sizeof msg), CS_OK);
    const char *pinned = cs_infiles_pinned(in)[0];
    ck_assert_ptr_nonnull(strstr(pinned, "/release.txt")); /* the base name is kept */
    ck_assert_uint_eq(cs_infiles_size(in, 0), 3);
    /* the path now leads to a FIFO nobody writes: the pin still reaches the file checked */
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(rename(fifo, path), 0);
    FILE *f = fopen(pinned, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_str_eq(buf, "abc");
    char hex[65];
    ck_assert_int_eq(cs_infiles_sha256(in, 0, NULL, hex), CS_OK);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    atomic_int cancel = 1;
    ck_assert_int_eq(cs_infiles_sha256(in, 0, &cancel, hex), CS_ETERM);
    /* messages name the admin's path, never the pin */
    snprintf(msg, sizeof msg, "%s:3: bad line", pinned);
    cs_infiles_unpin_text(in, msg, sizeof msg);
    snprintf(buf, sizeof buf, "%s:3: bad line", path);
    ck_assert_str_eq(msg, buf);
    cs_infiles_close(&in);
    ck_assert_ptr_null(in);
    struct stat st;
    ck_assert_int_ne(stat(pins, &st), 0); /* nothing left behind */
    cs_test_rmtree(dir);
}
END_TEST

START_TEST(test_refused)
{
    char dir[PATH_MAX], fifo[PATH_MAX + 16], pins[PATH_MAX + 16], msg[300];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/release.fifo", dir);
    snprintf(pins, sizeof pins, "%s/pins", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    cs_infiles_t *in = NULL;
    ck_assert_int_eq(s_open_one(fifo, pins, &in, msg, sizeof msg), CS_EINVAL);
    ck_assert_ptr_null(in);
    ck_assert_msg(strstr(msg, fifo) && strstr(msg, "a FIFO, not a regular file"), "%s", msg);
    ck_assert_int_eq(s_open_one(dir, pins, &in, msg, sizeof msg), CS_EINVAL);
    ck_assert_msg(strstr(msg, "a directory"), "%s", msg);
    ck_assert_int_eq(s_open_one("/dev/null", pins, &in, msg, sizeof msg), CS_EINVAL);
    ck_assert_msg(strstr(msg, "a character device"), "%s", msg);
    ck_assert_int_eq(s_open_one("/proc/self/status", pins, &in, msg, sizeof msg), CS_EINVAL);
    ck_assert_msg(strstr(msg, "procfs"), "%s", msg);
    const char *sys = "/sys/kernel/mm/transparent_hugepage/enabled";
    if (access(sys, R_OK) == 0) {
        ck_assert_int_eq(s_open_one(sys, pins, &in, msg, sizeof msg), CS_EINVAL);
        ck_assert_msg(strstr(msg, "sysfs"), "%s", msg);
    }
    ck_assert_int_eq(s_open_one("/nonexistent/x.txt", pins, &in, msg, sizeof msg), CS_EINVAL);
    ck_assert_msg(strstr(msg, "No such file"), "%s", msg);
    /* a descriptor swapped in after the path check is caught by the descriptor's check */
    int fd = open(fifo, O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(fd, 0);
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(cs_infile_check_fd(fd, fifo, &err), CS_EINVAL);
    close(fd);
    cs_test_rmtree(dir);
}
END_TEST

Suite *cs_infile_suite(void);
Suite *cs_infile_suite(void)
{
    Suite *s = suite_create("infile");
    TCase *tc = tcase_create("open, check and pin");
    tcase_add_test(tc, test_pinned_through_a_swap);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}
