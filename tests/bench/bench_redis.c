/* bench_redis.c: the bench's own redis-server (bench_redis.h). */
#include "bench_redis.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_find_exe(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *dir = strtok(buf, ":"); dir; dir = strtok(NULL, ":")) {
        snprintf(out, cap, "%s/%s", dir, name);
        if (access(out, X_OK) == 0) {
            return 1;
        }
    }
    return 0;
}

pid_t bench_redis_start(const char *exe, int port)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the bench */
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        execl(exe, exe, "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
              "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    return pid;
}

redisContext *bench_redis_connect(int port)
{
    for (int i = 0; i < 100; i++) {
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            if (ok) {
                return c;
            }
        }
        redisFree(c);
        usleep(50000);
    }
    return NULL;
}

long bench_redis_drain(redisContext *c)
{
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
        return -1;
    }
    long n = 1;
    freeReplyObject(reply);
    for (;;) {
        reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
            return -1;
        }
        if (!reply) {
            return n;
        }
        freeReplyObject(reply);
        n++;
    }
}

int bench_redis_fill(redisContext *c, const bench_code_t *codes, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t batch = 0;
        for (; i < n && batch < 1000; i++, batch++) {
            redisAppendCommand(c, "SET %s %s", codes[i].code, codes[i].title);
        }
        for (size_t k = 0; k < batch;) {
            long got = bench_redis_drain(c);
            if (got < 0) {
                return -1;
            }
            k += (size_t)got;
        }
    }
    return 0;
}

void bench_child_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}
