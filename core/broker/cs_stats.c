/* cs_stats.c: counters and log-linear latency histograms (16 sub-buckets per power of 2). */
#include "broker/cs_stats.h"

#include <string.h>
#include <time.h>

void cs_stats_init(cs_stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->started = (int64_t)time(NULL);
}

static unsigned s_bucket(uint64_t ns)
{
    if (ns < 32) {
        return (unsigned)ns;
    }
    unsigned log2 = 63u - (unsigned)__builtin_clzll(ns);
    unsigned sub = (unsigned)(ns >> (log2 - 4)) & 15u;
    unsigned b = 32 + (log2 - 5) * 16 + sub;
    return b < CS_STATS_BUCKETS ? b : CS_STATS_BUCKETS - 1;
}

/* The smallest ns value of bucket b (its lower edge). */
static uint64_t s_bucket_low(unsigned b)
{
    if (b < 32) {
        return b;
    }
    unsigned log2 = (b - 32) / 16 + 5;
    unsigned sub = (b - 32) % 16;
    return ((uint64_t)16 + sub) << (log2 - 4);
}

void cs_stats_record(cs_stats_t *s, cs_op_t op, cs_proto_err_t e, uint64_t ns)
{
    if ((unsigned)op >= CS_OP_COUNT_) {
        op = CS_OP_UNKNOWN;
    }
    s->requests[op]++;
    if (e != CS_PERR_NONE && (unsigned)e <= CS_PERR_INTERNAL) {
        s->errors[e]++;
    }
    uint32_t *h = &s->latency[op][s_bucket(ns)];
    if (*h != UINT32_MAX) {
        (*h)++;
    }
}

double cs_stats_quantile_us(const cs_stats_t *s, cs_op_t op, double q)
{
    uint64_t total = 0;
    for (unsigned b = 0; b < CS_STATS_BUCKETS; b++) {
        total += s->latency[op][b];
    }
    if (total == 0) {
        return 0;
    }
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total) {
        want = total - 1;
    }
    uint64_t seen = 0;
    for (unsigned b = 0; b < CS_STATS_BUCKETS; b++) {
        seen += s->latency[op][b];
        if (seen > want) {
            return (double)s_bucket_low(b) / 1000.0;
        }
    }
    return 0;
}

void cs_stats_write(const cs_stats_t *s, cs_out_t *out)
{
    uint32_t n_ops = 0, n_err = 0;
    for (unsigned op = 0; op < CS_OP_COUNT_; op++) {
        n_ops += s->requests[op] ? 1 : 0;
    }
    for (unsigned e = 1; e <= CS_PERR_INTERNAL; e++) {
        n_err += s->errors[e] ? 1 : 0;
    }
    cs_out_kv_int(out, "uptime_s", (int64_t)time(NULL) - s->started);
    cs_out_cstr(out, "requests");
    cs_out_map(out, n_ops);
    for (unsigned op = 0; op < CS_OP_COUNT_; op++) {
        if (s->requests[op]) {
            cs_out_kv_int(out, cs_proto_opname((cs_op_t)op), (int64_t)s->requests[op]);
        }
    }
    cs_out_cstr(out, "errors");
    cs_out_map(out, n_err);
    for (unsigned e = 1; e <= CS_PERR_INTERNAL; e++) {
        if (s->errors[e]) {
            cs_out_kv_int(out, cs_proto_errname((cs_proto_err_t)e), (int64_t)s->errors[e]);
        }
    }
    cs_out_cstr(out, "latency_us");
    cs_out_map(out, n_ops);
    for (unsigned op = 0; op < CS_OP_COUNT_; op++) {
        if (!s->requests[op]) {
            continue;
        }
        cs_out_cstr(out, cs_proto_opname((cs_op_t)op));
        cs_out_map(out, 2);
        cs_out_cstr(out, "p50");
        cs_out_f64(out, cs_stats_quantile_us(s, (cs_op_t)op, 0.50));
        cs_out_cstr(out, "p99");
        cs_out_f64(out, cs_stats_quantile_us(s, (cs_op_t)op, 0.99));
    }
}
