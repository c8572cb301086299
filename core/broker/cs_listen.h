/* cs_listen.h: listening sockets for the tcp:// and ipc:// endpoints the broker's own front
 * serves (cs_zmtp_front.h), bound as libzmq would bind them.
 *
 * tcp://HOST:PORT: HOST is * (every IPv4 interface), an IPv4 address, localhost, or a
 * bracketed IPv6 address; PORT a number. SO_REUSEADDR is set, as libzmq does. ipc://PATH: a
 * Unix stream socket; a file already at PATH (a socket left by a killed broker) is removed
 * first, as libzmq does. Anything else (a wildcard port, an interface name, a host name,
 * an abstract socket) is left to libzmq: cs_listen_handles says 0.
 *
 * Thread-safety: plain functions; the descriptors are the caller's.
 */
#ifndef CS_LISTEN_H
#define CS_LISTEN_H

#include <stddef.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when endpoint is one cs_listen_open binds, else 0. */
int cs_listen_handles(const char *endpoint);

/* A non-blocking listening socket (close-on-exec) bound to endpoint. For ipc://, the socket
 * file's path is copied into ipc_path (cap bytes) for the caller to remove when it closes;
 * otherwise ipc_path is set to "". The descriptor, or -1 with err set. */
int cs_listen_open(const char *endpoint, char *ipc_path, size_t cap, cs_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CS_LISTEN_H */
