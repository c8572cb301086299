/* bench_redis.h: a redis-server of the bench's own (a free port, no persistence) holding the
 * same code -> title pairs as the broker, for the benchmarks that set codeset beside Redis.
 * Links hiredis. */
#ifndef BENCH_REDIS_H
#define BENCH_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench_util.h"

/* name found on PATH into out; 1 if found. */
int bench_find_exe(const char *name, char *out, size_t cap);
/* Start exe (redis-server) on 127.0.0.1:port; it dies with the bench. Its pid. */
pid_t bench_redis_start(const char *exe, int port);
/* Connect, retrying for up to 5 s until it answers PING; NULL if it never does. */
redisContext *bench_redis_connect(int port);
/* Read one reply, then every reply already buffered: how many, or -1. */
long bench_redis_drain(redisContext *c);
/* SET every code to its title, pipelined; 0 or -1. */
int bench_redis_fill(redisContext *c, const bench_code_t *codes, size_t n);
/* SIGTERM a child and reap it (pid <= 0: nothing). */
void bench_child_stop(pid_t pid);

#endif
