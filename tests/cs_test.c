/* cs_test.c: helpers shared by the Check suites. */
#include "cs_test.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *cs_test_build_dir(void)
{
    const char *dir = getenv("CS_BUILD_DIR");
    return dir && *dir ? dir : "build";
}

int cs_test_data_path(const char *rel, char *out, size_t cap)
{
    const char *root = getenv("CS_SHARED_DATA");
    snprintf(out, cap, "%s/%s", root && *root ? root : "../shared/data", rel);
    return access(out, R_OK) == 0;
}

void cs_test_fixture_path(const char *rel, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        cwd[0] = '.';
        cwd[1] = '\0';
    }
    snprintf(out, cap, "%s/tests/fixtures/%s", cwd, rel);
}

void cs_test_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, cap, "%s/codeset-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s failed", out);
}

void cs_test_rmtree(const char *dir)
{
    if (!dir || !*dir || strcmp(dir, "/") == 0) {
        return;
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", dir);
    }
}

int cs_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}
