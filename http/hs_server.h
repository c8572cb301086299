/* hs_server.h: codeset-http's server: libmicrohttpd over the store opened read-only.
 *
 * Routes (docs/HTTP.md):
 *   POST /api/v1/<op>            the wire request (docs/PROTOCOL.md) minus "op", as JSON
 *   GET  /api/v1/<op>?k=v...     the read ops (ping, lookup, validate, search, crosswalk,
 *                                releases, diff), keys as in hs_query_add
 *   /v1/<op>                     the same as /api/v1/<op>
 *   GET  /v1/<system>/<code>     lookup (with include=notes,children,ancestors by default)
 *   /fhir, /fhir/...             the FHIR facade (fhir.h: fhir_handle)
 *   GET  /, /<file>              the web page's files (hs_assets.h)
 * Only ops the query engine answers alone (CS_OPF_ENGINE) are served: admin ops and stats get
 * 403 forbidden. Protocol errors map to HTTP statuses (hs_server_status); a reply's body is
 * the wire reply as JSON either way.
 *
 * Threads: libmicrohttpd's internal pool, per listen address; each pool thread builds its own
 * query engine (and JSON writer) on its first request, over the one read-only store, so a
 * release that codesetd publishes into the same directory is answered from the next request.
 *
 * Thread-safety: start and stop from one thread; the handlers run on the pool's threads.
 */
#ifndef HS_SERVER_H
#define HS_SERVER_H

#include <stddef.h>

#include "codeset/cs_error.h"
#include "engine/cs_request.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_MAX_LISTEN 8
#define HS_MAX_SYSTEM_URIS 16
#define HS_DEFAULT_LISTEN "127.0.0.1:8080"
#define HS_DEFAULT_MAX_BODY (1u << 20)  /* 1 MiB: 10,000 codes of a validate fit */
#define HS_DEFAULT_MAX_CONNECTIONS 1000 /* per listen address */
#define HS_DEFAULT_TIMEOUT 10           /* seconds a connection may stay idle */

typedef struct hs_conf {
    const char *db;                             /* --db DIR */
    const char *plugins;                        /* --plugins DIR */
    const char *assets;                         /* --assets DIR */
    const char *listen[HS_MAX_LISTEN];          /* --listen HOST:PORT (port 0: any free) */
    int n_listen;
    unsigned threads;                           /* --threads N per listen address */
    size_t max_body;                            /* --max-body BYTES */
    unsigned max_connections;                   /* --max-connections N */
    unsigned timeout;                           /* --timeout SECONDS */
    const char *uri_names[HS_MAX_SYSTEM_URIS];  /* --system-uri NAME=URI */
    const char *uri_values[HS_MAX_SYSTEM_URIS];
    int n_uris;
} hs_conf_t;

typedef struct hs_server hs_server_t;

/* Open the store, the plugins and the assets, bind every address and start serving. Logs
 * "codeset-http: listening on http://HOST:PORT" (the bound port) for each. NULL with err set
 * on failure. conf's strings are borrowed for the server's life. */
hs_server_t *hs_server_start(const hs_conf_t *conf, cs_error_t *err);
/* Stop accepting, finish the requests in flight, free everything. */
void hs_server_stop(hs_server_t **s);

/* The HTTP status of a protocol error: none 200; bad_request, unsupported_version, too_many
 * 400; forbidden 403; unknown_op, unknown_system, unknown_release, no_release_for_date 404;
 * busy, corrupt_release 503; anything else 500. */
unsigned hs_server_status(cs_proto_err_t e);

#ifdef __cplusplus
}
#endif
#endif /* HS_SERVER_H */
