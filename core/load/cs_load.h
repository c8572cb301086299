/* cs_load.h: load jobs: one background thread runs a loader plugin into a new release,
 * then publishes it in one transaction (or leaves nothing behind).
 *
 * At most one load runs at a time (the store has one writer). A job that fails for lack of
 * map space is retried after the map doubles (up to 16 times). A job's state can be read from
 * any thread. Every file of a load is opened, checked (a regular file, not on /proc or /sys),
 * pinned and digested on the load thread (cs_infile.h), and the loader is sniffed there when
 * the admin named none: nothing here touches a file on the caller's thread. Cancellation (the
 * cancel op, or cs_jobs_stop at shutdown) makes the load stop at its next record or its
 * loader's next check; the partial release is purged then, or at the next start if the
 * process dies first.
 */
#ifndef CS_LOAD_H
#define CS_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"
#include "load/cs_plugin_host.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_JOB_ID_MAX 24

typedef enum cs_job_state {
    CS_JOB_RUNNING = 1,
    CS_JOB_DONE = 2,
    CS_JOB_FAILED = 3,
} cs_job_state_t;

/* A load request. Strings are copied by cs_jobs_start. */
typedef struct cs_load_spec {
    const cs_plugin_desc_t *loader; /* the loader plugin to run; NULL: sniffed on the load
                                     * thread (the one loader that recognises the files) */
    const char *system;             /* system filled; NULL: the loader's first */
    const char *label;              /* release label */
    int effective_from;             /* yyyymmdd */
    const char *const *files;       /* absolute paths */
    size_t n_files;
} cs_load_spec_t;

/* A snapshot of a job. */
typedef struct cs_job_status {
    char id[CS_JOB_ID_MAX];
    cs_job_state_t state;
    uint64_t bytes_done;
    uint64_t bytes_total;
    uint64_t records;
    uint64_t codes;
    uint64_t billable;
    double seconds;      /* elapsed (so far, or in all) */
    char system[32];     /* "" until the loader is known */
    char label[64];
    char loader[64];     /* the loader's id; "" until sniffed */
    int cancelled;       /* 1: failed because the admin or a shutdown cancelled it */
    cs_error_t error;    /* code CS_OK unless failed */
    char lists[512];     /* done: an edit set's lists against their systems' releases
                          * (cs_listcheck_summary); "" for other loads */
} cs_job_status_t;

typedef struct cs_jobs cs_jobs_t;

/* New job table over store, using plugins for systems and loaders. Caller owns it. */
cs_jobs_t *cs_jobs_new(cs_store_t *store, const cs_plugin_host_t *plugins);
/* Cancel a running load, join its thread, free; *jobs becomes NULL. Waits for as long as the
 * load takes to stop: at shutdown, call cs_jobs_stop first. */
void cs_jobs_destroy(cs_jobs_t **jobs);
/* Shutdown: cancel a running load and wait up to timeout_ms for its thread to end. CS_OK when
 * no load thread is left (then cs_jobs_destroy returns at once); CS_EAGAIN when the load did
 * not stop in time (blocked in a read, or a loader that never checks): its thread still uses
 * the store and the plugins, so the caller must leave them, and jobs, alone and end the
 * process with _exit(). Its partial release is purged at the next start. */
int cs_jobs_stop(cs_jobs_t *jobs, int timeout_ms);

/* Start a load in the background; id_out gets the job id. Only the request is checked here
 * (label, absolute paths, the loader and system when a loader is named); the files are
 * opened and checked on the load thread, so a missing file or a FIFO fails the job, not this
 * call. CS_OK; CS_EEXIST when a load is already running (busy); CS_EINVAL for a bad spec
 * (err says why); CS_ENOMEM. */
int cs_jobs_start(cs_jobs_t *jobs, const cs_load_spec_t *spec, char id_out[CS_JOB_ID_MAX],
                  cs_error_t *err);
/* Copy the state of job id (len bytes). CS_OK or CS_ENOTFOUND. */
int cs_jobs_status(cs_jobs_t *jobs, const char *id, size_t len, cs_job_status_t *out);
/* Ask the running job id (len bytes) to stop; it ends soon after as failed, with cancelled
 * set. Returns at once with its state before the cancel in *out. CS_OK; CS_ENOTFOUND (no such
 * job); CS_EINVAL (the job has already ended: err says how). */
int cs_jobs_cancel(cs_jobs_t *jobs, const char *id, size_t len, cs_job_status_t *out,
                   cs_error_t *err);
/* Retire (drop 0) or drop (drop 1) the release (system, label) on the calling thread, between
 * loads: CS_EEXIST (busy) while a load runs, CS_ENOTFOUND for no such release, else the
 * store's status; err says why. *codes gets the release's code count (drop). */
int cs_jobs_retire_or_drop(cs_jobs_t *jobs, const char *system, const char *label, int drop,
                           uint64_t *codes, cs_error_t *err);
/* Block until no load runs (tests, shutdown). */
void cs_jobs_wait(cs_jobs_t *jobs);

#ifdef __cplusplus
}
#endif
#endif /* CS_LOAD_H */
