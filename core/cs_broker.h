/* cs_broker.h: the ZeroMQ front of codesetd: a query ROUTER and an admin ROUTER, served from
 * one thread.
 *
 * Shape (a measured choice, see README "Threading"): cheap query ops are answered in the
 * thread that owns the sockets, since every extra thread hop costs a cross-CPU wake-up on a
 * small machine; loads run on their own thread (cs_load.h) and never block queries.
 * The broker never closes a connection over a bad request: every request gets a reply.
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

typedef struct cs_broker_config {
    const char *db_dir;                          /* LMDB directory (created if missing) */
    const char *listen[CS_BROKER_MAX_LISTEN];    /* query endpoints */
    size_t n_listen;
    const char *admin;                           /* admin endpoint */
    const char *plugin_dir;                      /* where plugins are loaded from */
    int workers;                                 /* threads for slow ops (reserved) */
    int64_t max_msg;                             /* ZMQ_MAXMSGSIZE of both fronts */
    size_t map_size;                             /* initial LMDB map size, 0: default */
} cs_broker_config_t;

/* Run until *stop becomes non-zero (a signal handler sets it). Returns CS_OK after a clean
 * shutdown, or an error (with err set) if the broker could not start: the store, the
 * plugins or an endpoint. */
int cs_broker_run(const cs_broker_config_t *cfg, volatile sig_atomic_t *stop, cs_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CS_BROKER_H */
