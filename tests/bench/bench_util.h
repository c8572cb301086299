/* bench_util.h: helpers for benchmark programs: a broker process, timing, quantiles.
 * Benchmarks print figures; they never pass or fail on time. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct bench_broker {
    pid_t pid;
    char dir[512];
    char db[600];
    char query_ep[700];
    char admin_ep[700];
} bench_broker_t;

/* Start build/bin/codesetd on a fresh temp dir, query endpoint ep (tcp://127.0.0.1:PORT). */
int bench_broker_start(bench_broker_t *b, const char *query_ep);
void bench_broker_stop(bench_broker_t *b);

uint64_t bench_now_ns(void);
/* Sort v[0..n) and return the q-quantile. */
double bench_quantile(double *v, size_t n, double q);
/* Path of a file under the official data folder; 1 if readable. */
int bench_data_path(const char *rel, char *out, size_t cap);

#endif
