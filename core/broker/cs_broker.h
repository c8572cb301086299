/* cs_broker.h: the front of codesetd: the query endpoints and an admin ROUTER, served from
 * one thread.
 *
 * Shape (a measured choice, see README "Threading"): cheap query ops are answered in the
 * thread that owns the sockets, since every extra thread hop costs a cross-CPU wake-up on a
 * small machine; loads run on their own thread (cs_load.h) and never block queries.
 * The broker never closes a connection over a bad request: every request gets a reply.
 * By default (CS_BROKER_FRONT_DIRECT) the loop serves the tcp:// and ipc:// query endpoints
 * itself (cs_zmtp_front.h), without ZeroMQ's I/O thread; with CS_BROKER_FRONT_ZMQ, with CURVE,
 * and for endpoints it does not bind (interface names, wildcard ports) a libzmq ROUTER does,
 * with the same replies and bounds.
 *
 * Access (docs/SECURITY.md): the admin endpoint is ipc:// in a directory owned by the broker's
 * user and not writable by others, its socket file mode 0600; a tcp admin endpoint is refused
 * unless CURVE with a client list guards it. With curve_secret every tcp endpoint is a CURVE
 * server (cs_curve.h); with curve_clients only the listed client keys get through.
 */
#ifndef CS_BROKER_H
#define CS_BROKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_BROKER_MAX_LISTEN 8
#define CS_BROKER_INDEX_MIB 64 /* default budget of the code indexes */

typedef struct cs_broker_config {
    const char *db_dir;                          /* LMDB directory (created if missing) */
    const char *listen[CS_BROKER_MAX_LISTEN];    /* query endpoints */
    size_t n_listen;
    const char *admin;                           /* admin endpoint */
    const char *plugin_dir;                      /* where plugins are loaded from */
    int workers;                                 /* threads for slow ops (0: none) */
    int64_t max_msg;                             /* ZMQ_MAXMSGSIZE of both fronts */
    size_t map_size;                             /* initial LMDB map size, 0: default */
    uint32_t max_codes;          /* validate codes per request, 1..CS_PROTO_MAX_CODES; 0: max */
    uint32_t max_search_limit;   /* search limit ceiling, 1..CS_PROTO_MAX_LIMIT; 0: max */
    int index_mib;               /* MiB for code indexes (cs_codeidx.h); 0: the default
                                  * (CS_BROKER_INDEX_MIB); -1: none, every find reads LMDB */
    uint64_t max_peer_bytes;     /* unread replies and waiting requests one query connection
                                  * may hold before it is answered busy; 0: 64 MiB */
    size_t max_connections;      /* query connections at once; 0 (or more than the descriptor
                                  * limit allows): the soft RLIMIT_NOFILE, raised to the hard
                                  * one, less 256 */
    const char *curve_secret;    /* CURVE secret key file for tcp endpoints, or NULL */
    const char *curve_clients;   /* file or directory of allowed client keys, or NULL */
    int spin_us;                 /* after a lone client's request, the longest the loop
                                  * looks for its next (zero-timeout polls) before it
                                  * sleeps: twice that client's last pause, at least
                                  * CS_BROKER_SPIN_MIN_US (util/cs_spin.h);
                                  * 0: the default (CS_BROKER_SPIN_US); -1: never */
    int io_threads;              /* ZeroMQ I/O threads (ZMQ_IO_THREADS); 0: 1 */
    int io_affinity;             /* CS_BROKER_IO_ANY (0), _SAME or _APART: where the I/O
                                  * threads run beside the loop's thread */
    int front;                   /* CS_BROKER_FRONT_DIRECT (0): the loop serves the tcp://
                                  * and ipc:// query endpoints itself (cs_zmtp_front.h),
                                  * unless CURVE is on; _ZMQ: libzmq serves them all */
    int handshake_ms;            /* how long a direct-front connection has to finish its
                                  * ZMTP handshake; 0: CS_BROKER_HANDSHAKE_MS */
} cs_broker_config_t;

/* front: who serves the query endpoints. */
enum { CS_BROKER_FRONT_DIRECT, CS_BROKER_FRONT_ZMQ };
/* The direct front's handshake deadline by default (libzmq's ZMQ_HANDSHAKE_IVL's). */
#define CS_BROKER_HANDSHAKE_MS 30000

/* The loop's spin, in microseconds: the longest by default (cs_broker_config_t.spin_us),
 * and the shortest, whatever the client's pace. */
#define CS_BROKER_SPIN_US 300
#define CS_BROKER_SPIN_MIN_US 50
/* io_affinity: the scheduler places the threads; the loop's thread and the I/O threads
 * pinned to the CPU the loop started on; the I/O threads kept off that CPU. */
enum { CS_BROKER_IO_ANY, CS_BROKER_IO_SAME, CS_BROKER_IO_APART };

/* Run until *stop becomes non-zero (a signal handler sets it). Returns CS_OK after a clean
 * shutdown, or an error (with err set) if the broker could not start: the store, the
 * plugins or an endpoint. CS_ETERM (err says why) after a shutdown that left a load thread
 * running because it did not stop within 5 s: the caller must end the process with _exit()
 * at once, running no exit handlers (the thread still uses the store and a plugin). */
int cs_broker_run(const cs_broker_config_t *cfg, volatile sig_atomic_t *stop, cs_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CS_BROKER_H */
