/* codeset_client.h: C client library for codesetd (wire protocol version 1, PROTOCOL.md).
 *
 * One client handle holds one ZeroMQ DEALER socket connected to every endpoint it was given;
 * ZeroMQ spreads requests over the brokers that are up (ZMQ_IMMEDIATE: nothing is queued for
 * an endpoint that is not connected). Every request carries an "id" and replies are matched
 * by it, so they may arrive in any order.
 *
 * Build with `pkg-config --cflags --libs csclient` (installed by `make install`): the header is
 * PREFIX/include/codeset/codeset_client.h, the library libcsclient.so.0.
 *
 * Calls:
 *   synchronous   cs_client_ping, _lookup, _validate, _search, _crosswalk, _releases
 *   pipelined     a cs_client_batch_t of many requests, sent by cs_client_batch_run with up to
 *                 `window` requests in flight, replies collected by id.
 *   asynchronous  cs_client_lookup_async, _validate_async: a handle to wait on; calls
 *                 outstanding together go out coalesced into one "batch" message.
 *
 * Timeouts and retries (the "Lazy Pirate" pattern of the ZeroMQ guide): when no reply arrives
 * for timeout_ms, the client closes its socket, opens a new one to every endpoint and resends
 * every request still unanswered. After `tries` such timeouts in a row with no reply at all in
 * between, it gives up with CS_CLIENT_ETIMEOUT. So a synchronous call returns within about
 * tries * timeout_ms even when every broker is down. Every query op is read-only, so a request
 * that reaches a broker twice does no harm; a duplicate reply is recognised by its id and
 * dropped.
 *
 * Errors: every call returns CS_CLIENT_OK (0) or a negative CS_CLIENT_E* status. An error
 * reply from the broker is CS_CLIENT_ESERVER, and cs_client_last_error() then holds the
 * broker's code ("unknown_system", "no_release_for_date", ...) and message. Answers that are
 * not errors in the protocol's sense (a code not found, an invalid code in a validate) are
 * CS_CLIENT_OK with the fact in the result.
 *
 * Ownership: a result (cs_client_lookup_t, ...) is allocated by the library and owned by the
 * caller, who frees it, with every string and array it points to, by the matching
 * cs_client_*_destroy(). Strings in results are NUL-terminated UTF-8 copies; a key the reply
 * left out is NULL (strings), false or 0. Results stay valid after the client is destroyed.
 * Strings passed in are only read during the call; the library keeps no pointer to them.
 *
 * Thread-safety: a cs_client_t, a cs_client_batch_t and a cs_client_call_t must be used by one
 * thread at a time, and a call with its client (the simplest rule: one client handle per
 * thread). Different clients may be used from different threads at once. Results are plain data:
 * any thread may read or free them. cs_client_strerror is thread-safe.
 *
 * Example:
 *     const char *eps[] = {"tcp://127.0.0.1:5555"};
 *     cs_client_t *c = cs_client_new(eps, 1, NULL, NULL);
 *     cs_client_lookup_t *r = NULL;
 *     if (c && cs_client_lookup(c, "icd10cm", "e119", 0, NULL, &r) == CS_CLIENT_OK) {
 *         printf("%s %s\n", r->code, r->found ? r->title : "not found");
 *     }
 *     cs_client_lookup_destroy(&r);
 *     cs_client_destroy(&c);
 */
#ifndef CS_CODESET_CLIENT_H
#define CS_CODESET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statuses returned by every call (and per request of a batch). */
enum {
    CS_CLIENT_OK = 0,
    CS_CLIENT_ESERVER = -1,  /* the broker answered with an error reply: see the error's code */
    CS_CLIENT_ETIMEOUT = -2, /* no reply after `tries` timeouts in a row (brokers down?) */
    CS_CLIENT_EINVAL = -3,   /* a bad argument (NULL where a value is needed, bad endpoint) */
    CS_CLIENT_ENOMEM = -4,   /* out of memory */
    CS_CLIENT_EIO = -5,      /* a ZeroMQ call failed for another reason than a timeout */
    CS_CLIENT_EPROTO = -6,   /* the reply is not a well-formed protocol-1 reply */
};

/* Details of the last failure: status, the broker's error code (for CS_CLIENT_ESERVER, else
 * "") and one sentence. */
typedef struct cs_client_error {
    int status;        /* CS_CLIENT_* */
    char code[48];     /* the protocol's error code, e.g. "unknown_system"; "" if not ESERVER */
    char message[256]; /* the broker's message, or the library's own sentence */
} cs_client_error_t;

/* A short fixed sentence for a status ("timed out", ...); never NULL; thread-safe. */
const char *cs_client_strerror(int status);

/* ---- the client handle ---- */

/* Options; zero-initialise and set what you need. A zero field takes its default. */
typedef struct cs_client_opts {
    int timeout_ms;    /* wait for a reply before reconnecting and resending; default 2500 */
    int tries;         /* timeouts in a row before CS_CLIENT_ETIMEOUT; default 3 */
    unsigned window;   /* requests in flight at once (a batch run's, asynchronous calls);
                        * default 256 */
    size_t max_reply;  /* largest reply accepted, in bytes; default 64 MiB. ZeroMQ drops the
                        * connection on a larger one, so it shows as a timeout */
    void *zmq_ctx;     /* a ZeroMQ context to share (borrowed, must outlive the client), or
                        * NULL for one of the client's own */
    int spin_us;       /* after sending, how long a call looks for its reply without
                        * sleeping (non-blocking receives, yielding the CPU between them)
                        * before it waits in zmq_poll: a reply that comes within it saves a
                        * wake-up, for a core's time meanwhile; a wait for asynchronous
                        * calls too. Default (0): CS_CLIENT_SPIN_US for a synchronous call,
                        * CS_CLIENT_ASYNC_SPIN_US for a wait on asynchronous ones; N: both
                        * N; -1: every wait at once */
    int via_zmq;       /* 1: synchronous and asynchronous calls go through the ZeroMQ
                        * socket like the rest. By default a client of one tcp:// or ipc://
                        * endpoint makes them over a connection of its own on which the
                        * calling thread speaks ZMTP itself (no hand-over to ZeroMQ's I/O
                        * thread and back: about 0.6x the round trip); batches, and any call
                        * that connection cannot make (no broker yet, a timeout), use the
                        * ZeroMQ socket: two connections to the broker */
} cs_client_opts_t;

/* cs_client_opts_t.spin_us by default, in microseconds: 0, wait at once (README, Benchmarks:
 * on two shared cores the spin did not pay for itself). */
#define CS_CLIENT_SPIN_US 0
/* The same for cs_client_wait and the calls that wait on asynchronous calls: 20. With calls
 * out their replies keep coming microseconds apart, and a thread that slept for each paid a
 * wake-up for it (README, "Asynchronous lookups, profiled": 1.35-1.43x Redis's pipelined
 * GETs without it, 1.82-2.14x with it, alternating on one machine). */
#define CS_CLIENT_ASYNC_SPIN_US 20

typedef struct cs_client cs_client_t;

/* Create a client whose DEALER socket connects to the n endpoints (ZeroMQ endpoint strings:
 * "tcp://host:port", "ipc:///path"). Connecting never waits for a broker: a broker that is
 * down only shows later, as a timeout. opts may be NULL (defaults).
 * Returns an owned handle (free with cs_client_destroy), or NULL with err filled (err may be
 * NULL): CS_CLIENT_EINVAL (no endpoint, or one ZeroMQ refuses), CS_CLIENT_ENOMEM,
 * CS_CLIENT_EIO. */
cs_client_t *cs_client_new(const char *const *endpoints, size_t n, const cs_client_opts_t *opts,
                           cs_client_error_t *err);

/* Close the socket (unsent requests are dropped: linger 0) and free the handle. Accepts NULL
 * and *c == NULL; sets *c to NULL. */
void cs_client_destroy(cs_client_t **c);

/* The last failure of a call on c (status CS_CLIENT_OK after a success). Borrowed: valid until
 * the next call on c. Never NULL. */
const cs_client_error_t *cs_client_last_error(const cs_client_t *c);

/* How many times c gave up on its socket after a timeout and opened a new one (Lazy Pirate),
 * over its life: a broker that is down or lost requests shows here. */
uint64_t cs_client_reconnects(const cs_client_t *c);

/* Which release answers: release (a label, e.g. "2025") wins over date ("YYYY-MM-DD", the
 * date of service). Both NULL, or passing NULL for the whole struct: the newest release. */
typedef struct cs_client_when {
    const char *release; /* a release label, or NULL */
    const char *date;    /* YYYY-MM-DD, or NULL */
} cs_client_when_t;

/* ---- ping ---- */

typedef struct cs_client_ping {
    char version[64]; /* the broker's version string */
    int protocol;     /* protocol version the broker speaks (1) */
} cs_client_ping_t;

/* Ask a broker whether it is up. out (caller-provided, may be NULL) receives its version.
 * Returns CS_CLIENT_OK or an error status. */
int cs_client_ping(cs_client_t *c, cs_client_ping_t *out);

/* ---- lookup ---- */

/* Extra parts a lookup may ask for (bit flags). */
enum {
    CS_CLIENT_INCLUDE_NOTES = 1u << 0,
    CS_CLIENT_INCLUDE_CHILDREN = 1u << 1,
    CS_CLIENT_INCLUDE_ANCESTORS = 1u << 2,
};

typedef struct cs_client_child {
    const char *code;  /* canonical code */
    const char *title; /* its title */
    bool billable;     /* may stand on a claim */
} cs_client_child_t;

typedef struct cs_client_ancestor {
    const char *code;  /* canonical code, chapter number or block range */
    const char *kind;  /* "category", "block", "chapter", ... */
    const char *title; /* its title */
} cs_client_ancestor_t;

/* One kind of note: "includes", "excludes1", "seven_chr_def", ... as the release has them. */
typedef struct cs_client_note {
    const char *type;          /* the note type */
    size_t n;                  /* entries in texts (and labels) */
    const char *const *texts;  /* the notes' texts, in release order */
    const char *const *labels; /* for seven_chr_def: the 7th character of each text; else NULL */
} cs_client_note_t;

typedef struct cs_client_arena cs_client_arena_t; /* internal: holds a result's memory */

typedef struct cs_client_lookup {
    bool found;          /* true if the release holds the code */
    const char *code;    /* canonical form (the caller's text when malformed) */
    const char *input;   /* the caller's text where it differed from code, else NULL */
    const char *system;  /* code-system id */
    const char *release; /* label of the release that answered */
    const char *reason;  /* "malformed" when the code is not of this system's syntax, else NULL */
    const char *message; /* why it is malformed, else NULL */
    const char *kind;    /* "chapter", "block", "category", "code", ... (found only) */
    bool billable;       /* may stand on a claim (found only) */
    const char *title;   /* full description (found only) */
    const char *short_title; /* short description, where the release has one */
    const char *parent;  /* canonical code of the parent, NULL at the top */
    size_t n_children;   /* CS_CLIENT_INCLUDE_CHILDREN: children in release order */
    const cs_client_child_t *children;
    size_t n_ancestors;  /* CS_CLIENT_INCLUDE_ANCESTORS: nearest first, up to the chapter */
    const cs_client_ancestor_t *ancestors;
    size_t n_notes;      /* CS_CLIENT_INCLUDE_NOTES: note types */
    const cs_client_note_t *notes;
    cs_client_arena_t *arena; /* internal: owns everything above */
} cs_client_lookup_t;

/* Look one code up in system ("icd10cm", ...). include: CS_CLIENT_INCLUDE_* bits; when may be
 * NULL. On CS_CLIENT_OK, *out is an owned result (found or not); free it with
 * cs_client_lookup_destroy. On failure *out is NULL. */
int cs_client_lookup(cs_client_t *c, const char *system, const char *code, unsigned include,
                     const cs_client_when_t *when, cs_client_lookup_t **out);
void cs_client_lookup_destroy(cs_client_lookup_t **r);

/* ---- validate ---- */

/* Why a code is not valid on a claim. */
typedef enum cs_client_reason {
    CS_CLIENT_VALID = 0,         /* valid and billable */
    CS_CLIENT_MALFORMED,         /* not a code of this system's syntax */
    CS_CLIENT_UNKNOWN,           /* well formed, not in the release */
    CS_CLIENT_NOT_BILLABLE,      /* a header: see hint for billable codes under it */
    CS_CLIENT_NOT_EFFECTIVE,     /* not in the release in effect: see valid_in, replaced_by */
    CS_CLIENT_OTHER_REASON,      /* a reason added after this library: read `reason` */
} cs_client_reason_t;

typedef struct cs_client_verdict {
    const char *input;       /* the caller's text */
    const char *code;        /* canonical form, NULL when malformed */
    bool valid;              /* may stand on a claim */
    bool billable;           /* valid ones: billable */
    const char *title;       /* valid ones: the title */
    cs_client_reason_t why;  /* CS_CLIENT_VALID or why not */
    const char *reason;      /* the wire reason ("not_billable", ...), NULL when valid */
    const char *message;     /* a sentence a person can act on, NULL when valid */
    const char *kind;        /* not_billable: the header's kind */
    size_t n_hint;           /* not_billable: up to 20 billable codes under it */
    const char *const *hint;
    size_t n_valid_in;       /* not_effective: labels of releases that hold it */
    const char *const *valid_in;
    size_t n_replaced_by;    /* not_effective: codes a conversion map gives */
    const char *const *replaced_by;
} cs_client_verdict_t;

typedef struct cs_client_validation {
    const char *system;                  /* code-system id */
    const char *release;                 /* label of the release that answered */
    size_t n;                            /* results, one per input code, in order */
    const cs_client_verdict_t *results;
    size_t n_invalid;                    /* results with valid == false */
    cs_client_arena_t *arena;            /* internal: owns everything above */
} cs_client_validation_t;

/* Validate n codes (at most 10,000: the broker answers more with "too_many") against the
 * release when selects (NULL: newest). On CS_CLIENT_OK *out is owned; free it with
 * cs_client_validation_destroy. On failure *out is NULL. */
int cs_client_validate(cs_client_t *c, const char *system, const char *const *codes, size_t n,
                       const cs_client_when_t *when, cs_client_validation_t **out);
void cs_client_validation_destroy(cs_client_validation_t **r);

/* ---- search ---- */

typedef struct cs_client_search_opts {
    const char *release; /* a release label, or NULL */
    const char *date;    /* YYYY-MM-DD, or NULL */
    unsigned limit;      /* hits wanted; 0: the broker's default (20); at most 500 */
    unsigned offset;     /* hits to skip, for paging */
    bool billable_only;  /* only codes that may stand on a claim */
} cs_client_search_opts_t;

typedef struct cs_client_hit {
    const char *code;  /* canonical code */
    const char *title; /* its title */
    bool billable;     /* may stand on a claim */
    int64_t score;     /* rank score, higher is better */
} cs_client_hit_t;

typedef struct cs_client_search {
    const char *release;         /* label of the release that answered */
    uint64_t total;              /* all matches, beyond this page */
    size_t n;                    /* hits on this page, best first */
    const cs_client_hit_t *hits;
    cs_client_arena_t *arena;    /* internal: owns everything above */
} cs_client_search_t;

/* Search system for q (words matching word starts, or a code prefix). opts may be NULL.
 * On CS_CLIENT_OK *out is owned: cs_client_search_destroy. */
int cs_client_search(cs_client_t *c, const char *system, const char *q,
                     const cs_client_search_opts_t *opts, cs_client_search_t **out);
void cs_client_search_destroy(cs_client_search_t **r);

/* ---- crosswalk ---- */

typedef struct cs_client_crosswalk_opts {
    const char *map;        /* one map id where several join the systems, or NULL */
    const char *release;    /* source release label (year-to-year conversions), or NULL */
    const char *to_release; /* target release label, or NULL */
} cs_client_crosswalk_opts_t;

/* One target. The flags are those of the CMS GEMs: -1 where the map has no such flag. */
typedef struct cs_client_target {
    const char *code;  /* target code */
    const char *title; /* its title, NULL if the reply left it out */
    int approximate;   /* 1, 0, or -1 (absent) */
    int no_map;        /* 1, 0, or -1 */
    int combination;   /* 1, 0, or -1 */
    int64_t scenario;  /* scenario number, or -1 */
    int64_t choice;    /* choice list number, or -1 */
} cs_client_target_t;

typedef struct cs_client_crosswalk {
    const char *map;                  /* id of the map used */
    const char *code;                 /* the source code, canonical */
    size_t n;                         /* targets */
    const cs_client_target_t *targets;
    cs_client_arena_t *arena;         /* internal: owns everything above */
} cs_client_crosswalk_t;

/* Map code from system `from` to system `to`. opts may be NULL. On CS_CLIENT_OK *out is owned:
 * cs_client_crosswalk_destroy. A broker without crosswalks answers CS_CLIENT_ESERVER with
 * code "unknown_op". */
int cs_client_crosswalk(cs_client_t *c, const char *from, const char *to, const char *code,
                        const cs_client_crosswalk_opts_t *opts, cs_client_crosswalk_t **out);
void cs_client_crosswalk_destroy(cs_client_crosswalk_t **r);

/* ---- claim ---- */

typedef struct cs_client_claim_dx {
    const char *code;
    const char *poa;         /* "Y", "N", "U", "W", "1", or NULL for blank */
} cs_client_claim_dx_t;

typedef struct cs_client_claim_px {
    const char *system;      /* "icd10pcs", "hcpcs", "cpt" */
    const char *code;
    const char *const *modifiers;
    size_t n_modifiers;      /* at most 4 */
    int64_t units;           /* 0: not given (1) */
} cs_client_claim_px_t;

/* A claim as docs/PROTOCOL.md's claim op takes it. */
typedef struct cs_client_claim {
    const char *date;        /* date of service YYYY-MM-DD (required) */
    const char *setting;     /* "inpatient", "outpatient", "professional", or NULL */
    int age;                 /* whole years, or -1 when not known */
    const char *sex;         /* "F", "M", "U", or NULL */
    const cs_client_claim_dx_t *dx; /* at least one; the first is the principal */
    size_t n_dx;
    const cs_client_claim_px_t *px;
    size_t n_px;
} cs_client_claim_t;

typedef struct cs_client_edit {
    const char *edit;         /* "excludes1", "age", "poa", ... */
    bool error;               /* severity "error" (else "warning") */
    size_t n_lines;           /* lines of the claim: diagnoses, then procedures */
    const int64_t *lines;
    const char *const *codes; /* their codes, canonical (n_lines of them) */
    const char *message;
    const char *source_set;   /* the system or edit set that answered */
    const char *source_release;
} cs_client_edit_t;

typedef struct cs_client_skip {
    const char *edit;
    const char *why;
} cs_client_skip_t;

typedef struct cs_client_claim_result {
    bool clean;                    /* no edit has severity error */
    size_t n_lines;                /* lines checked: diagnoses, then procedures */
    size_t n_invalid;              /* lines not valid */
    size_t n_edits;
    const cs_client_edit_t *edits;
    size_t n_skipped;
    const cs_client_skip_t *skipped;
    cs_client_arena_t *arena;      /* internal: owns everything above and below */
    const cs_client_verdict_t *lines; /* n_lines: each what validate says of its code on the
                                       * date (why, hint, valid_in, replaced_by); a line with
                                       * the claim's own reason "unchecked" has why
                                       * CS_CLIENT_OTHER_REASON */
} cs_client_claim_result_t;

/* Scrub one claim. On CS_CLIENT_OK *out is owned: cs_client_claim_destroy. A claim the broker
 * refuses (a bad shape, no release on the date) is CS_CLIENT_ESERVER with its code. */
int cs_client_claim(cs_client_t *c, const cs_client_claim_t *claim,
                    cs_client_claim_result_t **out);
void cs_client_claim_destroy(cs_client_claim_result_t **r);

/* ---- releases ---- */

typedef struct cs_client_file {
    const char *name;   /* file name as loaded */
    const char *sha256; /* hex digest, or NULL */
    uint64_t bytes;     /* size */
} cs_client_file_t;

typedef struct cs_client_release {
    const char *system;         /* code-system id */
    const char *release;        /* label */
    const char *effective_from; /* YYYY-MM-DD */
    const char *effective_to;   /* YYYY-MM-DD, NULL for a system's newest release */
    const char *status;         /* "active" or "retired" */
    uint64_t codes;             /* entries */
    uint64_t billable;          /* billable codes */
    int64_t loaded_at;          /* Unix time of the load */
    const char *loader;         /* loader id */
    size_t n_files;             /* source files */
    const cs_client_file_t *files;
} cs_client_release_t;

typedef struct cs_client_releases {
    size_t n;                              /* releases */
    const cs_client_release_t *releases;
    cs_client_arena_t *arena;              /* internal: owns everything above */
} cs_client_releases_t;

/* List the releases of system (NULL: of every system). On CS_CLIENT_OK *out is owned:
 * cs_client_releases_destroy. */
int cs_client_releases(cs_client_t *c, const char *system, cs_client_releases_t **out);
void cs_client_releases_destroy(cs_client_releases_t **r);

/* ---- pipelined batches ----
 *
 * A batch is a list of requests, added with cs_client_batch_add_*; each add returns the
 * request's index (0, 1, 2, ... in add order). cs_client_batch_run sends them all on a client,
 * pipelined, and collects the replies by id in whatever order they come, resending the
 * unanswered ones after a timeout as described at the top. Afterwards each index has its own
 * status and typed result. A batch may be run again (every request is sent again, and the
 * previous results are freed). Results read from a batch are borrowed: valid until the batch is
 * run again or destroyed.
 */
typedef struct cs_client_batch cs_client_batch_t;

/* An empty batch (owned; cs_client_batch_destroy), or NULL when out of memory. */
cs_client_batch_t *cs_client_batch_new(void);
void cs_client_batch_destroy(cs_client_batch_t **b);
/* Requests in the batch. */
size_t cs_client_batch_size(const cs_client_batch_t *b);

/* Add one request; the arguments are as for the synchronous calls and are copied. *index
 * (may be NULL) receives its index. Return CS_CLIENT_OK, CS_CLIENT_EINVAL or CS_CLIENT_ENOMEM. */
int cs_client_batch_add_ping(cs_client_batch_t *b, size_t *index);
int cs_client_batch_add_lookup(cs_client_batch_t *b, const char *system, const char *code,
                               unsigned include, const cs_client_when_t *when, size_t *index);
int cs_client_batch_add_validate(cs_client_batch_t *b, const char *system,
                                 const char *const *codes, size_t n,
                                 const cs_client_when_t *when, size_t *index);
int cs_client_batch_add_search(cs_client_batch_t *b, const char *system, const char *q,
                               const cs_client_search_opts_t *opts, size_t *index);
int cs_client_batch_add_crosswalk(cs_client_batch_t *b, const char *from, const char *to,
                                  const char *code, const cs_client_crosswalk_opts_t *opts,
                                  size_t *index);
int cs_client_batch_add_releases(cs_client_batch_t *b, const char *system, size_t *index);

/* Send every request of b on c and wait for all the replies. Returns CS_CLIENT_OK when every
 * request got a reply (each may still be an error reply: check its status), or the status
 * that stopped the run (CS_CLIENT_ETIMEOUT: the requests without a reply have that status;
 * CS_CLIENT_EIO, CS_CLIENT_ENOMEM). cs_client_last_error(c) says more. */
int cs_client_batch_run(cs_client_t *c, cs_client_batch_t *b);

/* Requests of the last run that got a reply (success or error reply). */
size_t cs_client_batch_answered(const cs_client_batch_t *b);

/* Status of request i after a run: CS_CLIENT_OK, CS_CLIENT_ESERVER (error reply),
 * CS_CLIENT_ETIMEOUT (no reply), CS_CLIENT_EPROTO; CS_CLIENT_EINVAL if i is out of range or
 * the batch has not run. If err is not NULL, *err receives the details (borrowed). */
int cs_client_batch_status(const cs_client_batch_t *b, size_t i, const cs_client_error_t **err);

/* The typed result of request i: NULL unless its status is CS_CLIENT_OK and it is a request of
 * that kind. Borrowed from the batch. */
const cs_client_ping_t *cs_client_batch_ping(const cs_client_batch_t *b, size_t i);
const cs_client_lookup_t *cs_client_batch_lookup(const cs_client_batch_t *b, size_t i);
const cs_client_validation_t *cs_client_batch_validation(const cs_client_batch_t *b, size_t i);
const cs_client_search_t *cs_client_batch_search(const cs_client_batch_t *b, size_t i);
const cs_client_crosswalk_t *cs_client_batch_crosswalk(const cs_client_batch_t *b, size_t i);
const cs_client_releases_t *cs_client_batch_releases(const cs_client_batch_t *b, size_t i);

/* ---- asynchronous calls ----
 *
 * cs_client_lookup_async and cs_client_validate_async return at once with a call handle; the
 * request waits in the client until cs_client_flush or a wait sends it. Calls waiting
 * together go out coalesced: up to cs_client_set_coalesce() of them (default 64) in one
 * "batch" message (docs/PROTOCOL.md), whose reply holds each call's reply, byte for byte what
 * the call would get alone; a lone call goes out as a plain request. Several such messages
 * may be in flight at once (at most `window` calls in all), so the broker answers one while
 * the client reads another; calls that need several messages are shared out evenly among
 * them (100 calls, 64 a batch: two of 50). They go over the client's own ZMTP connection
 * when it has one (via_zmq), else over the ZeroMQ socket.
 *
 * Why a handle to wait on and not a callback: the caller keeps control of when and where
 * results are read (no code of the caller runs inside the library's receive loop, so no
 * re-entrancy rules); a result is owned like a synchronous one; and waiting on a call that
 * is already answered costs nothing, so an application that keeps N calls outstanding
 * waits on the oldest, reads it, and makes a new one: the new ones gather in the client and
 * go out together when it next has to wait. A callback style is a loop over handles.
 *
 * Order and errors: every call gets its own reply, whatever order the broker's replies come
 * in; each has its own status (an error reply for one call, "unknown_system" say, is that
 * call's CS_CLIENT_ESERVER only). Timeouts and retries are as for the synchronous calls:
 * when no reply at all arrives for timeout_ms, the socket is reopened and every call in
 * flight sent again; after `tries` timeouts in a row every call not answered ends with
 * CS_CLIENT_ETIMEOUT, so a broker that dies never leaves a call waiting for ever.
 *
 * Older brokers: a broker without the batch op answers it "unknown_op". The client then
 * remembers (cs_client_coalescing() turns false), sends the calls of that message again as
 * plain requests, and sends plain requests from then on; nothing changes for the caller but
 * one round trip. A batch the broker refuses as too long ("too_many", under a --max-codes
 * below the client's) is sent again as plain requests too.
 *
 * Thread-safety: as for the synchronous calls: a client and the calls made on it are used
 * by one thread at a time (one client per thread; calls of different clients may be used
 * from different threads at once). Results are plain data.
 */
typedef struct cs_client_call cs_client_call_t;

/* Start a lookup or a validate (arguments as for cs_client_lookup / cs_client_validate, copied).
 * On CS_CLIENT_OK *call is an owned handle (free it with cs_client_call_destroy, answered or
 * not). Returns CS_CLIENT_EINVAL (a NULL argument) or CS_CLIENT_ENOMEM, *call NULL. Nothing
 * is sent yet. */
int cs_client_lookup_async(cs_client_t *c, const char *system, const char *code,
                           unsigned include, const cs_client_when_t *when,
                           cs_client_call_t **call);
int cs_client_validate_async(cs_client_t *c, const char *system, const char *const *codes,
                             size_t n, const cs_client_when_t *when, cs_client_call_t **call);

/* Send the calls waiting in c now (coalesced), as far as the window and the socket allow,
 * without waiting for replies; replies already arrived are read. Returns CS_CLIENT_OK or
 * CS_CLIENT_EIO / CS_CLIENT_ENOMEM. */
int cs_client_flush(cs_client_t *c);

/* Send what waits and read replies until call is answered (at once if it is). Returns the
 * call's status: CS_CLIENT_OK, CS_CLIENT_ESERVER (an error reply: cs_client_call_status
 * gives its code), CS_CLIENT_ETIMEOUT, CS_CLIENT_EPROTO, CS_CLIENT_EIO; CS_CLIENT_EINVAL if
 * call is NULL or not a call of c. Other calls answered meanwhile are answered too. */
int cs_client_wait(cs_client_t *c, cs_client_call_t *call);
/* The same until every call of c is answered. Returns CS_CLIENT_OK, or the status that
 * ended the wait early (CS_CLIENT_EIO); calls that timed out have their own status. */
int cs_client_wait_all(cs_client_t *c);

/* Calls of c not answered yet (waiting in the client or in flight). */
size_t cs_client_outstanding(const cs_client_t *c);

/* Most calls coalesced into one message (1: every call goes out alone; at most 1,000).
 * Returns CS_CLIENT_OK or CS_CLIENT_EINVAL. */
int cs_client_set_coalesce(cs_client_t *c, unsigned max_calls);
/* false once a broker of c answered that it has no batch op (calls then go out alone). */
bool cs_client_coalescing(const cs_client_t *c);

/* true once the call is answered (whatever its status). */
bool cs_client_call_done(const cs_client_call_t *call);
/* The call's status (CS_CLIENT_ETIMEOUT while not answered); err (may be NULL) receives its
 * details, borrowed from the call. */
int cs_client_call_status(const cs_client_call_t *call, const cs_client_error_t **err);
/* The typed result of an answered call of that kind with status CS_CLIENT_OK, else NULL.
 * Borrowed: valid until cs_client_call_destroy. */
const cs_client_lookup_t *cs_client_call_lookup(const cs_client_call_t *call);
const cs_client_validation_t *cs_client_call_validation(const cs_client_call_t *call);

/* Free a call (NULL and *call == NULL are fine; sets *call to NULL). A call not answered yet
 * is forgotten: its reply, when it comes, is dropped. A call may outlive its client (it then
 * ended with CS_CLIENT_EIO, "the client was destroyed"), but must still be destroyed. */
void cs_client_call_destroy(cs_client_call_t **call);

#ifdef __cplusplus
}
#endif
#endif /* CS_CODESET_CLIENT_H */
