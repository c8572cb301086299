/* cs_conncap.h: a cap on the connections of a bound ZeroMQ socket.
 *
 * Why. ZeroMQ accepts every connection that arrives. Past the process's descriptor limit its
 * listener's accept fails with EMFILE while the connection stays pending, so the I/O thread
 * spins on it (99% of a CPU seen) and no new client is answered. The broker raises its soft
 * descriptor limit at start and keeps the connections well below it with this cap.
 *
 * How. The socket's monitor reports each accepted connection and each disconnection with its
 * descriptor. Over the cap (or while refusing every new one, during a drain), a connection
 * just accepted is shut down (shutdown(2), never close(2): the descriptor stays ZeroMQ's,
 * which sees the end of the stream and closes it). Events are read in batches and a
 * descriptor is shut down only when its latest event in the batch is its accept, so a
 * number reused by a later connection is not mistaken for an earlier one.
 *
 * Thread-safety: one thread (the broker's) owns a cap and its monitor socket.
 */
#ifndef CS_CONNCAP_H
#define CS_CONNCAP_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_conncap cs_conncap_t;

/* Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force. */
long cs_conncap_raise_nofile(void);

/* Cap sock (a bound socket of zctx) at max connections. NULL with err set on failure. */
cs_conncap_t *cs_conncap_new(void *zctx, void *sock, size_t max, cs_error_t *err);
/* Stop monitoring and free. *cap becomes NULL; NULL is accepted. Call before the socket is
 * closed. */
void cs_conncap_destroy(cs_conncap_t **cap);

/* The monitor socket, to poll for events (ZMQ_FD / ZMQ_POLLIN). */
void *cs_conncap_socket(cs_conncap_t *cap);
/* Read the pending events and act on them. Returns 1 when it stopped at its batch cap (more
 * may be waiting), else 0. */
int cs_conncap_serve(cs_conncap_t *cap);
/* Refuse every new connection from now on (1), or only those over the cap (0). */
void cs_conncap_refuse_all(cs_conncap_t *cap, int on);

/* Connections open now, and connections refused since the start. */
size_t cs_conncap_open(const cs_conncap_t *cap);
uint64_t cs_conncap_refused(const cs_conncap_t *cap);
size_t cs_conncap_max(const cs_conncap_t *cap);

#ifdef __cplusplus
}
#endif
#endif /* CS_CONNCAP_H */
