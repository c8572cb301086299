/* cs_zmtp_front.h: the query endpoint served by the broker's own thread, without libzmq
 * (codesetd --front direct).
 *
 * Why. Through libzmq every request crosses from its I/O thread to the broker's thread and
 * every reply back, through mailboxes: about 7.8 system calls and two cross-thread wake-ups
 * a lookup (issue 19 §3). This front listens on the tcp:// and ipc:// query endpoints
 * itself, accepts connections into an epoll set the broker's loop polls, and reads, answers
 * and writes in that one thread: an epoll wait shared by a batch, a read and a write.
 *
 * What a client sees is what libzmq's ROUTER gives it (ZMTP 3.x, NULL mechanism; peers
 * announcing REQ or DEALER; any other socket type gets an ERROR command and is closed): a
 * request's frames come to the broker prefixed by a routing identity of the connection's
 * own (CS_ZFRONT_ID_LEN bytes, starting 0x00 'Z', never reused while the process lives),
 * and a reply sent to that identity goes out with the envelope frames it is given, so a REQ
 * peer gets its empty delimiter back. PING is answered with PONG; other commands are
 * ignored. A peer's Identity property is ignored (libzmq would route by it).
 *
 * Bounds. A frame over max_msg bytes is a protocol error: the connection is closed and the
 * log says why. A request of more than max_frames frames (its routing identity counted) is
 * delivered with the first max_frames - 1 and the last one, overflow set, as the broker's
 * receive does. A connection's unsent replies are charged to its cs_peers entry (the broker
 * answers `busy` past its bound); past that bound and S_OUT_SLACK more the front stops
 * reading from it until it reads its replies, so memory stays bounded. At most max_conns
 * connections at once: more are accepted and closed at once (counted as refused). A
 * handshake not done within handshake_ms closes the connection. No peer can block the loop:
 * every descriptor is non-blocking, and a pass reads at most one buffer from each.
 *
 * Thread-safety: everything belongs to the broker's thread.
 */
#ifndef CS_ZMTP_FRONT_H
#define CS_ZMTP_FRONT_H

#include <stddef.h>
#include <stdint.h>

#include "broker/cs_peers.h"
#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ZFRONT_ID_LEN 10 /* 0x00 'Z', descriptor (4 bytes), generation (4 bytes) */

typedef struct cs_zfront cs_zfront_t;

/* A frame of a request: bytes the front owns, valid during the callback only. */
typedef struct cs_zframe {
    const void *data;
    size_t len;
} cs_zframe_t;

/* A complete request: frames[0] is its connection's routing identity, then the envelope
 * frames the peer sent, then the body (frames[n - 1]). The callback answers it now with
 * cs_zfront_send, or later (a worker's answer) the same way. */
typedef void (*cs_zfront_request_fn)(void *arg, const cs_zframe_t *frames, int n,
                                     int overflow);

/* A request that came in the same read behind the one being delivered, shown before its
 * turn (body valid during the callback only; seq counts this front's calls): a hint, so that
 * what answering it will read can be fetched while the requests before it are answered. The
 * request itself comes through on_request later, as ever, unless its connection closes
 * first. The front looks up to CS_ZFRONT_AHEAD requests ahead, over whole bodies in the read
 * only, and checks nothing beyond the framing: the body may be anything. */
typedef void (*cs_zfront_ahead_fn)(void *arg, uint64_t seq, const void *body, size_t len);
#define CS_ZFRONT_AHEAD 8

typedef struct cs_zfront_config {
    int64_t max_msg;          /* largest frame accepted; <= 0: 1 GiB */
    int max_frames;           /* frames a request is delivered with, at most (>= 2) */
    size_t max_conns;         /* connections at once */
    int handshake_ms;         /* time a connection has to finish its handshake */
    cs_peers_t *peers;        /* unsent replies are charged here (borrowed) */
    uint64_t peer_bytes;      /* the bound cs_peers answers busy past */
    cs_zfront_request_fn on_request;
    cs_zfront_ahead_fn on_ahead; /* NULL: no look-ahead */
    void *arg;                /* given to on_request and on_ahead */
} cs_zfront_config_t;

/* A front with no endpoint yet. NULL with err set on failure. */
cs_zfront_t *cs_zfront_new(const cs_zfront_config_t *cfg, cs_error_t *err);
/* Close every connection and listener (an ipc socket file is removed). *f becomes NULL;
 * NULL is accepted. */
void cs_zfront_destroy(cs_zfront_t **f);

/* 1 when this front can serve endpoint (tcp://host:port with a numeric port, host an
 * address, a name or *; ipc://path), else 0: leave it to libzmq. */
int cs_zfront_handles(const char *endpoint);
/* Listen on endpoint. CS_OK, or an error (err says why). */
int cs_zfront_bind(cs_zfront_t *f, const char *endpoint, cs_error_t *err);
/* Endpoints bound. */
size_t cs_zfront_n_bound(const cs_zfront_t *f);

/* The epoll descriptor: readable when a connection or a listener has something. */
int cs_zfront_fd(const cs_zfront_t *f);
/* Serve what is ready: accept, handshake, read and deliver requests, write replies; at most
 * max_events descriptors. Returns 1 when it stopped at that bound (more may be ready), else
 * 0. *requests is increased by the requests delivered. */
int cs_zfront_serve(cs_zfront_t *f, int max_events, int *requests);
/* Put descriptor fd (one of the loop's others: a ZeroMQ socket's ZMQ_FD) in the epoll set
 * under tag (0..30), so that one cs_zfront_wait covers everything the loop waits for. At most
 * 8. CS_OK, or an error. */
int cs_zfront_watch(cs_zfront_t *f, int fd, int tag, cs_error_t *err);
/* Sleep up to ms (0: only look) until a connection, a listener or a watched descriptor has
 * something. Returns the tags of the watched descriptors ready as bits (1 << tag), with
 * CS_ZFRONT_READY when a connection or a listener has something: the next cs_zfront_serve
 * serves what this wait found without a wait of its own. 0 when ms passed (or a signal
 * came); -1 when epoll failed. */
#define CS_ZFRONT_READY ((int64_t)1 << 32)
int64_t cs_zfront_wait(cs_zfront_t *f, int ms);
/* Close the connections whose handshake is overdue. Cheap when none is in a handshake. */
void cs_zfront_expire(cs_zfront_t *f);

/* 1 when id (len bytes) is a routing identity of this front's kind (whether or not its
 * connection is still open). */
int cs_zfront_owns(const void *id, size_t len);
/* Queue a reply to the connection env[0] names: env[1..n_env - 1] as frames with MORE, then
 * body. It is written at the end of the current cs_zfront_serve pass or by cs_zfront_flush.
 * 0, or -1 when that connection is gone (the reply is dropped). */
int cs_zfront_send(cs_zfront_t *f, const cs_zframe_t *env, int n_env, const void *body,
                   size_t len);
/* Write what replies wait to be written. */
void cs_zfront_flush(cs_zfront_t *f);
/* At shutdown: close the connections that have nothing left to get, stop reading, and
 * give the others up to ms to take their replies. */
void cs_zfront_linger(cs_zfront_t *f, int ms);
/* Bytes of replies queued and not yet written, over all connections. */
uint64_t cs_zfront_unsent(const cs_zfront_t *f);

/* Refuse every new connection (1), or only those over the cap (0). */
void cs_zfront_refuse_all(cs_zfront_t *f, int on);
/* Connections open now (handshakes included); refused since the start. */
size_t cs_zfront_open(const cs_zfront_t *f);
uint64_t cs_zfront_refused(const cs_zfront_t *f);
/* Writes of replies made while the rest of a read was still being answered (a pipelining
 * client's first replies of a batch, sent before its last are ready). */
uint64_t cs_zfront_streamed(const cs_zfront_t *f);

#ifdef __cplusplus
}
#endif
#endif /* CS_ZMTP_FRONT_H */
