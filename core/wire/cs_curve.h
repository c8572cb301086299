/* cs_curve.h: ZeroMQ CURVE for codesetd's tcp endpoints: key files, and a ZAP handler that
 * admits only the client public keys an admin listed.
 *
 * What is protected: every tcp:// (any non-ipc) endpoint of the query and admin sockets is
 * bound as a CURVE server with the broker's secret key, so traffic is encrypted and a client
 * must know the broker's public key. With a client list, the ZAP handler also refuses every
 * client whose public key is not listed: its handshake fails and it never gets an answer.
 * ipc:// endpoints stay NULL-mechanism: the socket file's mode and its directory guard them.
 *
 * Key files hold Z85 text (40 characters for 32 bytes). A line is either the bare key, or
 * `public-key = "..."` / `secret-key = "..."` as in a czmq certificate; empty lines and lines
 * starting with '#' are skipped. A secret key file must be a regular file that the group and
 * others can neither read nor write (mode 0600 or 0400), or it is refused.
 *
 * The ZAP handler is a REP socket on inproc://zeromq.zap.01 in the broker's context; the
 * broker polls it in its own loop (no extra thread) and calls cs_curve_zap_serve when it is
 * readable. Thread-safety: one thread uses a cs_curve_t.
 */
#ifndef CS_CURVE_H
#define CS_CURVE_H

#include <stddef.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CURVE_Z85_LEN 40 /* Z85 characters of a 32-byte key */

typedef struct cs_curve cs_curve_t;

/* Read one key from path into out[CS_CURVE_Z85_LEN + 1] (NUL-terminated Z85). want is
 * "secret-key" or "public-key" (the certificate line to take); with secret = 1 the file must
 * not be group- or world-accessible. CS_OK, CS_EIO (cannot read, bad mode), CS_EMALFORMED
 * (no valid key in the file); err names the file and the reason. */
int cs_curve_read_key(const char *path, const char *want, int secret, char *out,
                      cs_error_t *err);

/* Write a new key pair: the secret key to path (created 0600, must not exist) and the public
 * key to path.pub (0644). CS_OK or CS_EIO/CS_EEXIST with err filled. */
int cs_curve_keygen(const char *path, cs_error_t *err);

/* The broker's CURVE set-up from its secret key file and, optionally (clients may be NULL),
 * a file or a directory of files listing the client public keys allowed. Returns a new
 * object (the caller owns it) or NULL with err filled; a list that names no key is refused.
 * Without a list, any client that knows the broker's public key is served (encryption and
 * server authentication only). */
cs_curve_t *cs_curve_new(const char *secret_file, const char *clients, cs_error_t *err);

/* Close the ZAP socket, wipe the keys and free; *c = NULL. Accepts NULL. */
void cs_curve_destroy(cs_curve_t **c);

/* The broker's public key, Z85 (borrowed, lives as long as c). */
const char *cs_curve_public(const cs_curve_t *c);

/* Number of client keys allowed (0: no list, every client with the server key is served). */
size_t cs_curve_n_clients(const cs_curve_t *c);

/* Make the next binds of sock CURVE-server binds (on = 1) or plain NULL binds (on = 0).
 * ZeroMQ takes a socket's security options at bind time, so one socket can have a CURVE tcp
 * endpoint and a NULL ipc one. CS_OK or CS_EINTERNAL. */
int cs_curve_server(const cs_curve_t *c, void *sock, int on, cs_error_t *err);

/* Bind the ZAP handler in zctx when there is a client list; else do nothing. CS_OK or CS_EIO.
 * Must run before any CURVE endpoint is bound, so no handshake slips past it. */
int cs_curve_zap_start(cs_curve_t *c, void *zctx, cs_error_t *err);

/* The ZAP socket to poll for ZMQ_POLLIN, or NULL when there is none. */
void *cs_curve_zap_socket(const cs_curve_t *c);

/* Answer the ZAP requests waiting on the socket, at most 64 (never blocks): 200 for a listed
 * client key, 400 for any other key, mechanism or malformed request. Returns 1 when it
 * stopped at the cap with requests possibly left, else 0. */
int cs_curve_zap_serve(cs_curve_t *c);

/* Is the endpoint one CURVE applies to (anything but ipc:// and inproc://)? */
int cs_curve_applies(const char *endpoint);

#ifdef __cplusplus
}
#endif
#endif /* CS_CURVE_H */
