/* cs_stats.h: request counters and latency histograms for the stats op.
 * Not thread-safe: owned by the thread that serves requests. */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <stdint.h>

#include "engine/cs_out.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_STATS_BUCKETS 512

typedef struct cs_stats {
    uint64_t requests[CS_OP_COUNT_];                    /* by op */
    uint64_t errors[CS_PERR_INTERNAL + 1];              /* by error code */
    uint32_t latency[CS_OP_COUNT_][CS_STATS_BUCKETS];   /* log-linear histogram, in ns */
    int64_t started;                                    /* unix time of start */
} cs_stats_t;

void cs_stats_init(cs_stats_t *s);
/* Count one request of op that took ns nanoseconds and ended with error e (NONE if ok). */
void cs_stats_record(cs_stats_t *s, cs_op_t op, cs_proto_err_t e, uint64_t ns);
/* The q-quantile (0..1) of op's latency in microseconds; 0 if no request yet. */
double cs_stats_quantile_us(const cs_stats_t *s, cs_op_t op, double q);
/* Pack the stats keys (uptime_s, requests, errors, latency_us) into out: 4 map entries. */
void cs_stats_write(const cs_stats_t *s, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_STATS_H */
