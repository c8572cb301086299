/* cs_spin.h: how long a serving loop looks for a lone client's next request before it
 * sleeps (codesetd --spin-us; broker/cs_broker.c).
 *
 * Why it adapts. A loop that spins a fixed while serves a client whose next request comes
 * within that while without a wake-up, and one whose requests come later with one. On a VM
 * whose wake-ups are dear (tens of microseconds: an idle vCPU halts at once), a client
 * whose round trip is a little longer than the spin (a cold cache, the machine coming out
 * of idle, a client that does some work between requests) finds the loop asleep at each
 * request, each wake-up adds to its round trip, and it stays above the spin. So the loop
 * looks twice as long as the client's last pause, within bounds: a client of a steady pace
 * finds it awake, and one that pauses longer than the longest spin costs only the shortest
 * (README, "The synchronous round trip and many clients").
 *
 * Thread-safety: a pure function. */
#ifndef CS_SPIN_H
#define CS_SPIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The spin after a request that came gap ns after the one before (its pause: from the end
 * of the pass that answered the one before to the start of the one that found it): twice
 * gap, within [min_ns, max_ns]; min_ns when gap is over max_ns. min_ns <= max_ns. */
uint64_t cs_spin_window(uint64_t gap, uint64_t min_ns, uint64_t max_ns);

#ifdef __cplusplus
}
#endif
#endif /* CS_SPIN_H */
