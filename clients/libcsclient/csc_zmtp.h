/* csc_zmtp.h: internal to libcsclient: a DEALER peer that speaks ZMTP 3.0 (the NULL
 * mechanism: no CURVE) on the calling thread, over a tcp:// or ipc:// connection of its own.
 * A synchronous call through libzmq hands its request to the context's I/O thread and its
 * reply back, two wake-ups of other threads each way; over this connection the caller writes
 * the request and reads the reply itself (README, Benchmarks: 0.55-0.66x the libzmq round
 * trip to the same broker). ZMTP: https://rfc.zeromq.org/spec/23/ and 37/.
 * Not thread-safe: one connection belongs to one client handle. */
#ifndef CS_CSC_ZMTP_H
#define CS_CSC_ZMTP_H

#include <stddef.h>
#include <stdint.h>

#include "csc_internal.h"

/* Whether endpoint is one this transport can reach: tcp://HOST:PORT (a name, an IPv4
 * address or a bracketed IPv6 one; no source address, no wildcard) or ipc://PATH (not an
 * abstract name). */
int csc_zmtp_usable(const char *endpoint);

/* Connect to endpoint and complete the ZMTP handshake as a DEALER by deadline_ms
 * (csc_now_ms's clock). The connected descriptor, or -1 (refused, unreachable, timed out, or
 * the peer is no ZMTP 3 NULL-mechanism peer). The descriptor blocks, each receive for at
 * most the time the connect had left (SO_RCVTIMEO): a later call's deadline may be passed by
 * that much. */
int csc_zmtp_connect(const char *endpoint, int64_t deadline_ms);

/* Send one single-frame message by deadline_ms. 0, or -1 when the connection failed or the
 * deadline passed (close it). */
int csc_zmtp_send(int fd, const void *data, size_t len, int64_t deadline_ms);

/* Receive the next message's last frame into body (replaced), skipping ZMTP commands and any
 * frames before the last; before it sleeps, it looks for the reply for spin_ns (0: none).
 * Returns 1 with a message; 0 when deadline_ms passed first, -1 when the
 * connection failed or broke the protocol, or a frame is longer than max: close it then
 * (it may stand mid-frame). */
int csc_zmtp_recv(int fd, csc_buf_t *body, size_t max, int64_t deadline_ms, uint64_t spin_ns);
/* Look whether fd is readable (or at its end, or in error), without sleeping, for up to
 * spin_ns: 1 when it is, 0 when spin_ns passed first. */
int csc_zmtp_spin(int fd, uint64_t spin_ns);

#endif /* CS_CSC_ZMTP_H */
