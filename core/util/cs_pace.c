/* cs_pace.c: background work that gives way to queries (cs_pace.h). */
#include "util/cs_pace.h"

#include <time.h>

uint64_t cs_pace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int s_stopped(const cs_pace_t *p)
{
    return p->stop && atomic_load(p->stop);
}

int cs_pace_step(cs_pace_t *p)
{
    if (!p) {
        return 1;
    }
    const uint64_t quiet = (uint64_t)(p->quiet_ms ? p->quiet_ms : CS_PACE_QUIET_MS) * 1000000u;
    const uint64_t most =
        (uint64_t)(p->max_wait_ms ? p->max_wait_ms : CS_PACE_MAX_WAIT_MS) * 1000000u;
    uint64_t now = cs_pace_now_ns();
    if (p->last_step_ns == 0) {
        p->last_step_ns = now;
    }
    while (!s_stopped(p) && p->busy_ns && now - p->last_step_ns < most &&
           now - atomic_load_explicit(p->busy_ns, memory_order_relaxed) < quiet) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        now = cs_pace_now_ns();
    }
    p->last_step_ns = now;
    return !s_stopped(p);
}
