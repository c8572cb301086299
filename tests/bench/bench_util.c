/* bench_util.c: broker process and statistics helpers for benchmarks. */
#include "bench_util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_quantile(double *v, size_t n, double q)
{
    if (n == 0) {
        return 0;
    }
    qsort(v, n, sizeof *v, s_cmp);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

int bench_data_path(const char *rel, char *out, size_t cap)
{
    const char *root = getenv("CS_SHARED_DATA");
    snprintf(out, cap, "%s/%s", root && *root ? root : "../shared/data", rel);
    return access(out, R_OK) == 0;
}

int bench_broker_start(bench_broker_t *b, const char *query_ep)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "/tmp/codeset-bench-XXXXXX");
    if (!mkdtemp(b->dir)) {
        return -1;
    }
    snprintf(b->db, sizeof b->db, "%s/db", b->dir);
    snprintf(b->query_ep, sizeof b->query_ep, "%s", query_ep);
    snprintf(b->admin_ep, sizeof b->admin_ep, "ipc://%s/admin.sock", b->db);
    const char *build = getenv("CS_BUILD_DIR");
    char exe[600];
    snprintf(exe, sizeof exe, "%s/bin/codesetd", build && *build ? build : "build");
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        char log[700];
        snprintf(log, sizeof log, "%s/codesetd.log", b->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(exe, exe, "--db", b->db, "--listen", query_ep, "--admin", b->admin_ep,
              (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    usleep(300000);
    return 0;
}

void bench_broker_stop(bench_broker_t *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
        b->pid = 0;
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", b->dir);
    }
}
