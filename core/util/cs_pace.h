/* cs_pace.h: how a background task (the verifier's read-ahead of the data file and its
 * checksums) gives way to the thread that answers queries. Between two steps of its work the
 * task calls cs_pace_step: while a query was answered in the last CS_PACE_QUIET_MS (or the
 * task's own quiet spell) it waits, a millisecond at a time, but never more than
 * CS_PACE_MAX_WAIT_MS (or the task's own bound) since its last step, so that it still
 * finishes under a load that never pauses.
 *
 * Why. On two cores, with the kernel not preempting kernel code (PREEMPT_NONE) and a serving
 * thread that has used more than its share of the CPU (it spins between requests), a thread
 * reading or hashing kept the core a query's thread was woken on for up to a scheduler tick
 * (4 ms) while the other core idled: the first thousand lookups after a cold start had a
 * dozen of 1-4 ms, every one while the verifier worked (sched_switch traces, issue 19 §6).
 * Lowering the task's priority (nice 10, SCHED_IDLE) did not help; not running it did.
 *
 * Thread-safety: a cs_pace_t belongs to the task's thread; busy_ns is written by the serving
 * thread and read here. */
#ifndef CS_PACE_H
#define CS_PACE_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_PACE_QUIET_MS 2      /* a query this recent: the serving thread is busy */
#define CS_PACE_MAX_WAIT_MS 100 /* a step at least this often, however busy */

typedef struct cs_pace {
    atomic_int *stop;                  /* set: stop at the next step (may be NULL) */
    const _Atomic uint64_t *busy_ns;   /* CLOCK_MONOTONIC ns of the last query answered, or
                                        * NULL: never wait */
    uint64_t last_step_ns;             /* when the task last went on (0: not yet) */
    unsigned quiet_ms;                 /* how long without a query is quiet; 0: CS_PACE_QUIET_MS */
    unsigned max_wait_ms;              /* the most it waits for a step; 0: CS_PACE_MAX_WAIT_MS */
} cs_pace_t;

/* The monotonic clock in ns, as busy_ns is written. */
uint64_t cs_pace_now_ns(void);

/* Before the task's next step: 1 to go on (having waited while the serving thread was
 * busy, within the bounds above), 0 to stop (*stop set, or set while it waited). pace may
 * be NULL: go on at once. */
int cs_pace_step(cs_pace_t *pace);

#ifdef __cplusplus
}
#endif
#endif /* CS_PACE_H */
