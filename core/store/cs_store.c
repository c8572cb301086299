/* cs_store.c: LMDB environment, named databases, readers and the batched writer. */
#include "store/cs_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "util/cs_log.h"

#if MDB_VERSION_FULL < MDB_VERINT(0, 9, 24)
#error "codeset needs LMDB 0.9.24 or later (Debian 12: liblmdb-dev)"
#endif

#define CS_STORE_DEFAULT_MAP ((size_t)1 << 30)
/* A write that came up short (LMDB says EIO) with less than this free is a full disk. */
#define S_DISK_LOW ((uint64_t)16 << 20)

static const char *const s_db_names[CS_DB_COUNT_] = {"meta", "codes", "children", "search",
                                                      "maps", "rmaps", "noterefs",
                                                      "codeidx"};

struct cs_store {
    MDB_env *env;              /* the one environment of the process */
    MDB_dbi dbi[CS_DB_COUNT_]; /* handles opened at start, never closed while open */
    uint8_t absent[CS_DB_COUNT_]; /* an optional database a read-only open did not find */
    pthread_rwlock_t quiesce;  /* readers hold it shared inside a snapshot; remaps take it */
    atomic_size_t map_size;    /* current map size in bytes */
    unsigned map_gen;          /* remaps so far (under quiesce: written exclusive) */
    int lock_fd;               /* CS_STORE_LOCK_FILE, flock()ed by a writable store; or -1 */
    const uint8_t *map_lo;     /* where the file is mapped (NULL: unknown, not checked) */
    size_t map_len;            /* bytes mapped from map_lo */
    atomic_size_t file_bytes;  /* the data file's size when last looked at */
    pthread_mutex_t health_mu; /* guards failed[] */
    atomic_uint n_failed;      /* releases in failed[] */
    struct {
        uint32_t id;           /* a release found corrupt */
        char why[300];         /* the sentence its queries are refused with */
    } failed[CS_STORE_FAILED_MAX];
    char dir[4096];            /* the directory */
};

struct cs_reader {
    cs_store_t *store;              /* owner */
    MDB_txn *txn;                   /* read-only, reset between snapshots */
    MDB_cursor *cur[CS_DB_COUNT_];  /* one cursor per database, renewed with txn on first use */
    unsigned renewed;               /* bit db: cur[db] is bound to the current snapshot */
    int active;                     /* 1 between begin and end */
    int corrupt;                    /* 1 once a call of this snapshot met a corrupt page */
};

struct cs_writer {
    cs_store_t *store;  /* owner */
    MDB_txn *txn;       /* the open write transaction, or NULL after a failure */
    MDB_cursor *cur;    /* cursor for seek/next, bound to cur_db */
    int cur_db;         /* database of cur, -1 if none */
    int status;         /* sticky error */
};

static int s_map_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return CS_OK;
    case MDB_NOTFOUND: return CS_ENOTFOUND;
    case MDB_KEYEXIST: return CS_EEXIST;
    case MDB_MAP_FULL: return CS_ESPACE;
    case ENOMEM: return CS_ENOMEM;
    case MDB_READERS_FULL: return CS_EAGAIN;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND: return CS_EMALFORMED;
    case ENOSPC: /* the disk, not the map: growing the map cannot help */
    case EIO:
    case EACCES:
    case ENOENT: return CS_EIO;
    default: return CS_EINTERNAL;
    }
}

/* ---- the fault guard (see cs_store.h): a reader's LMDB calls run under it ---- */

static __thread sigjmp_buf *s_guard __attribute__((tls_model("initial-exec")));
static struct sigaction s_prev_segv, s_prev_bus;
static pthread_once_t s_guard_once = PTHREAD_ONCE_INIT;

/* What the guard caught last on this thread, for messages. */
static __thread const char *s_guard_what __attribute__((tls_model("initial-exec")));

static void s_on_fault(int sig, siginfo_t *si, void *ctx)
{
    sigjmp_buf *g = s_guard;
    if (g) {
        s_guard = NULL;
        s_guard_what = sig == SIGBUS ? "read past the end of the file" : "read outside a page";
        siglongjmp(*g, 1);
    }
    const struct sigaction *prev = sig == SIGBUS ? &s_prev_bus : &s_prev_segv;
    if (prev->sa_flags & SA_SIGINFO) {
        prev->sa_sigaction(sig, si, ctx);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        signal(sig, SIG_DFL); /* the default action: the process dies, as it would have */
        raise(sig);
    }
}

/* LMDB checks some of its pages' invariants with assertions, and aborts when one fails. Under
 * the guard, a failed assertion is a corrupt page like a fault; elsewhere LMDB aborts, as it
 * always did. */
static void s_on_assert(MDB_env *env, const char *msg)
{
    (void)env;
    (void)msg;
    sigjmp_buf *g = s_guard;
    if (g) {
        s_guard = NULL;
        s_guard_what = "found a page that breaks its invariants";
        siglongjmp(*g, 1);
    }
}

/* SA_NODEFER: the guard jumps out without restoring a signal mask (sigsetjmp(.., 0) costs no
 * system call), so the signal must not be blocked while its handler runs. */
static void s_guard_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = s_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &s_prev_segv);
    sigaction(SIGBUS, &sa, &s_prev_bus);
}

/* A guarded call faulted: the snapshot is bad from here on. */
static int s_reader_faulted(cs_reader_t *r)
{
    if (!r->corrupt) {
        CS_WARN("store %s: a read met a corrupt page of the data file (LMDB %s); the request "
                "fails", r->store->dir, s_guard_what);
    }
    r->corrupt = 1;
    r->renewed = 0; /* the cursors' state is lost: renew them with the next snapshot */
    return CS_EMALFORMED;
}

/* Run `call` (LMDB work that sets rc) under the fault guard; on a fault or a failed LMDB
 * assertion, rc = on_fault instead. */
#define S_GUARD_RUN(rc, call, on_fault)                                                        \
    do {                                                                                       \
        sigjmp_buf jb_;                                                                        \
        if (sigsetjmp(jb_, 0) == 0) {                                                          \
            s_guard = &jb_;                                                                    \
            (rc) = (call);                                                                     \
            s_guard = NULL;                                                                    \
        } else {                                                                               \
            (rc) = (on_fault);                                                                 \
        }                                                                                      \
    } while (0)
/* The same for a reader's call: the snapshot is marked corrupt. */
#define S_GUARDED(r, rc, call) S_GUARD_RUN(rc, call, s_reader_faulted(r))

/* Where the data file is mapped, from /proc/self/maps (the mapping of data.mdb's inode); NULL
 * when it cannot be told, and then values are not checked. Called with no reader inside a
 * snapshot (at open, and under the exclusive lock after a remap). */
static void s_locate_map(cs_store_t *st)
{
    st->map_lo = NULL;
    st->map_len = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", st->dir);
    struct stat sb;
    FILE *f = stat(path, &sb) == 0 ? fopen("/proc/self/maps", "r") : NULL;
    if (!f) {
        return;
    }
    st->file_bytes = (size_t)sb.st_size;
    char line[4400];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off, ino;
        char perms[8];
        unsigned maj, min;
        if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perms, &off, &maj, &min,
                   &ino) == 7 &&
            ino == (unsigned long)sb.st_ino && off == 0 && strstr(line, "/data.mdb")) {
            st->map_lo = (const uint8_t *)lo;
            st->map_len = hi - lo;
            break;
        }
    }
    fclose(f);
}

/* 1 if [p, p + len) lies inside the data file's pages (checked against the file's size,
 * looked up again when it seems to have grown). */
static int s_in_file(cs_store_t *st, const void *p, size_t len)
{
    const uint8_t *b = p;
    if (!st->map_lo) {
        return 1;
    }
    if (b < st->map_lo || len > st->map_len || (size_t)(b - st->map_lo) > st->map_len - len) {
        return 0;
    }
    size_t end = (size_t)(b - st->map_lo) + len;
    if (end <= atomic_load_explicit(&st->file_bytes, memory_order_relaxed)) {
        return 1;
    }
    int fd;
    struct stat sb;
    if (mdb_env_get_fd(st->env, &fd) == MDB_SUCCESS && fstat(fd, &sb) == 0) {
        atomic_store(&st->file_bytes, (size_t)sb.st_size);
    }
    return end <= atomic_load(&st->file_bytes);
}

void cs_store_prefetch(cs_store_t *st, cs_pace_t *pace)
{
    int fd;
    struct stat sb;
    if (!st || mdb_env_get_fd(st->env, &fd) != MDB_SUCCESS || fstat(fd, &sb) != 0) {
        return;
    }
    /* One step read at a time, not the whole file asked for at once: a query's read then
     * waits behind at most one step, not behind the rest of the file. */
    enum { S_STEP = 1 << 20 };
    void *buf = mmap(NULL, S_STEP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        return;
    }
    for (off_t off = 0; off < sb.st_size && cs_pace_step(pace); off += S_STEP) {
        if (pread(fd, buf, S_STEP, off) <= 0) {
            break;
        }
    }
    munmap(buf, S_STEP);
}

void cs_store_read_in(cs_store_t *st, uint64_t off, uint64_t len, size_t step, atomic_int *stop)
{
    char path[sizeof st->dir + 16];
    snprintf(path, sizeof path, "%s/data.mdb", st->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM); /* each read as asked, nothing around */
    void *buf = step ? mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0)
                     : MAP_FAILED;
    for (uint64_t at = off; buf != MAP_FAILED && at < off + len && !(stop && atomic_load(stop));
         at += step) {
        size_t n = off + len - at < step ? (size_t)(off + len - at) : step;
        if (pread(fd, buf, n, (off_t)at) <= 0) {
            break;
        }
    }
    if (buf != MAP_FAILED) {
        munmap(buf, step);
    }
    close(fd);
}

/* ---- release health ---- */

void cs_store_release_fail(cs_store_t *st, uint32_t id, const char *why)
{
    pthread_mutex_lock(&st->health_mu);
    unsigned n = atomic_load(&st->n_failed);
    unsigned i = 0;
    while (i < n && st->failed[i].id != id) {
        i++;
    }
    if (!why && i < n) {
        st->failed[i] = st->failed[n - 1];
        atomic_store(&st->n_failed, n - 1);
    } else if (why && i == CS_STORE_FAILED_MAX) {
        CS_ERROR("store %s: release %u %s (not held: %d releases failed already)", st->dir, id,
                 why, CS_STORE_FAILED_MAX);
    } else if (why) {
        st->failed[i].id = id;
        snprintf(st->failed[i].why, sizeof st->failed[i].why, "%s", why);
        if (i == n) {
            atomic_store(&st->n_failed, n + 1);
        }
    }
    pthread_mutex_unlock(&st->health_mu);
}

int cs_store_release_failed(cs_store_t *st, uint32_t id, char *why, size_t cap)
{
    if (atomic_load_explicit(&st->n_failed, memory_order_acquire) == 0) {
        return 0;
    }
    int found = 0;
    pthread_mutex_lock(&st->health_mu);
    for (unsigned i = 0; i < atomic_load(&st->n_failed) && !found; i++) {
        if (st->failed[i].id == id) {
            found = 1;
            if (why && cap) {
                snprintf(why, cap, "%s", st->failed[i].why);
            }
        }
    }
    pthread_mutex_unlock(&st->health_mu);
    return found;
}

static int s_mkdir_p(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static int s_check_schema(cs_store_t *st, MDB_txn *txn, int rdonly, cs_error_t *err)
{
    MDB_val key = {.mv_size = 6, .mv_data = (void *)"schema"};
    MDB_val val;
    int rc = mdb_get(txn, st->dbi[CS_DB_META], &key, &val);
    if (rc == MDB_NOTFOUND && rdonly) {
        return cs_error_set(err, CS_EMALFORMED, "%s: not a codeset database (no schema version)",
                            st->dir);
    }
    if (rc == MDB_NOTFOUND) {
        uint8_t v[4] = {0, 0, 0, CS_STORE_SCHEMA};
        val.mv_size = 4;
        val.mv_data = v;
        rc = mdb_put(txn, st->dbi[CS_DB_META], &key, &val, 0);
        if (rc != MDB_SUCCESS) {
            return cs_error_set(err, s_map_err(rc), "%s: cannot write the schema version: %s",
                                st->dir, mdb_strerror(rc));
        }
        return CS_OK;
    }
    if (rc != MDB_SUCCESS) {
        return cs_error_set(err, s_map_err(rc), "%s: cannot read the schema version: %s",
                            st->dir, mdb_strerror(rc));
    }
    const uint8_t *b = val.mv_data;
    if (val.mv_size != 4 || b[0] || b[1] || b[2] || b[3] != CS_STORE_SCHEMA) {
        return cs_error_set(err, CS_EMALFORMED,
                            "%s: database schema is not version %d (made by another codeset?)",
                            st->dir, CS_STORE_SCHEMA);
    }
    return CS_OK;
}

/* What a failed commit says: a full disk is called so, with the database's path. */
static int s_commit_failed(const char *dir, int rc, const char *what, cs_error_t *err)
{
    struct statvfs vs;
    uint64_t avail = 0;
    int known = statvfs(dir, &vs) == 0;
    if (known) {
        avail = (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize;
    }
    if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && known && avail < S_DISK_LOW)) {
        return cs_error_set(err, CS_EIO, "disk full: cannot %s in %s (%s; %llu bytes free "
                            "there): free some space and try again", what, dir,
                            rc == EDQUOT   ? "over the disk quota"
                            : rc == ENOSPC ? "no space left on device"
                                           : "a write came up short",
                            (unsigned long long)avail);
    }
    int code = s_map_err(rc);
    return cs_error_set(err, code == CS_EINTERNAL ? CS_EIO : code, "%s: cannot %s: %s", dir,
                        what, mdb_strerror(rc));
}

/* One writable store per directory: a second broker on the same database would purge the
 * first one's load in progress as a half-written release. Readers (CS_STORE_RDONLY) never
 * take this lock, so they are never kept out. */
static int s_lock_dir(cs_store_t *st, cs_error_t *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", st->dir, CS_STORE_LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return cs_error_set(err, CS_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[24] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK) {
            return cs_error_set(err, CS_EEXIST, "%s is in use by another codesetd%s%s, which "
                                "holds %s: one broker per database", st->dir,
                                pid[0] ? ", pid " : "", pid, path);
        }
        return cs_error_set(err, CS_EIO, "%s: cannot lock: %s", path, strerror(e));
    }
    char line[24];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
        CS_WARN("%s: cannot write this process's id: %s", path, strerror(errno));
    }
    st->lock_fd = fd;
    return CS_OK;
}

/* A writable store: create the directory, check it, and take its lock. */
static int s_writable_dir(cs_store_t *st, cs_error_t *err)
{
    if (s_mkdir_p(st->dir) != 0) {
        return cs_error_set(err, CS_EIO, "%s: cannot create the directory: %s", st->dir,
                            strerror(errno));
    }
    struct stat sb;
    if (stat(st->dir, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
        access(st->dir, R_OK | W_OK | X_OK) != 0) {
        return cs_error_set(err, CS_EIO, "%s: not a directory this user can read and write",
                            st->dir);
    }
    return s_lock_dir(st, err);
}

/* The set-up transaction of cs_store_open_ex: open (or create) the named databases and check
 * the schema. MDB_SUCCESS with *txn left open for the caller to commit; an LMDB code (*step
 * says what failed), or S_ERR_SET with err set, the transaction aborted. */
#define S_ERR_SET INT_MIN
static int s_setup_dbs(cs_store_t *st, int rdonly, const char **step, MDB_txn **txnp,
                       cs_error_t *err)
{
    MDB_txn *txn = NULL;
    *step = "begin the set-up transaction";
    int rc = mdb_txn_begin(st->env, NULL, rdonly ? MDB_RDONLY : 0, &txn);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    *step = "open the named databases";
    for (int i = 0; i < CS_DB_COUNT_; i++) {
        rc = mdb_dbi_open(txn, s_db_names[i], rdonly ? 0 : MDB_CREATE, &st->dbi[i]);
        if (rdonly && rc == MDB_NOTFOUND && (i == CS_DB_NOTEREFS || i == CS_DB_CODEIDX)) {
            /* a store made before it: its releases parse notes as read, build indexes */
            st->absent[i] = 1;
            continue;
        }
        if (rdonly && (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)) {
            cs_error_set(err, CS_EMALFORMED, "%s: not a codeset database (no '%s' database)",
                         st->dir, s_db_names[i]);
            mdb_txn_abort(txn);
            return S_ERR_SET;
        }
        if (rc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    if (s_check_schema(st, txn, rdonly, err) != CS_OK) {
        mdb_txn_abort(txn);
        return S_ERR_SET;
    }
    *txnp = txn;
    return MDB_SUCCESS;
}

/* s_setup_dbs under the fault guard: S_FAULTED when LMDB faulted or failed an assertion. */
#define S_FAULTED (INT_MIN + 1)
static int s_setup_guarded(cs_store_t *st, int rdonly, const char **step, MDB_txn **txn,
                           cs_error_t *err)
{
    int rc;
    S_GUARD_RUN(rc, s_setup_dbs(st, rdonly, step, txn, err), S_FAULTED);
    return rc;
}

cs_store_t *cs_store_open(const char *dir, size_t map_size, unsigned max_readers,
                          cs_error_t *err)
{
    return cs_store_open_ex(dir, map_size, max_readers, 0, err);
}

/* Read-only: the directory must already hold an LMDB file (checked first, for a clear
 * message rather than LMDB's ENOENT). */
static int s_check_rdonly_dir(const char *dir, cs_error_t *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(dir, R_OK | X_OK) != 0) {
        return cs_error_set(err, CS_EIO, "%s: not a directory this user can read", dir);
    }
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    if (access(data, R_OK) != 0) {
        return cs_error_set(err, CS_EIO, "%s: no codeset database here (no readable data.mdb)",
                            dir);
    }
    return CS_OK;
}

cs_store_t *cs_store_open_ex(const char *dir, size_t map_size, unsigned max_readers,
                             unsigned flags, cs_error_t *err)
{
    int rdonly = (flags & CS_STORE_RDONLY) != 0;
    const char *step = "create the directory";
    int rc = 0;
    cs_store_t *st = calloc(1, sizeof *st);
    if (!st) {
        cs_error_set(err, CS_ENOMEM, "out of memory opening the store");
        return NULL;
    }
    snprintf(st->dir, sizeof st->dir, "%s", dir);
    st->lock_fd = -1;
    pthread_rwlock_init(&st->quiesce, NULL);
    pthread_mutex_init(&st->health_mu, NULL);
    pthread_once(&s_guard_once, s_guard_install);
    if (rdonly && s_check_rdonly_dir(dir, err) != CS_OK) {
        goto fail_nodb;
    }
    if (!rdonly && s_writable_dir(st, err) != CS_OK) {
        goto fail_nodb;
    }
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        page = 4096;
    }
    st->map_size = map_size ? map_size : CS_STORE_DEFAULT_MAP;
    st->map_size = (st->map_size + (size_t)page - 1) / (size_t)page * (size_t)page;

    step = "create the environment";
    rc = mdb_env_create(&st->env);
    if (rc != MDB_SUCCESS) {
        goto fail;
    }
    step = "set the map size";
    rc = rdonly && !map_size ? MDB_SUCCESS : mdb_env_set_mapsize(st->env, st->map_size);
    if (rc != MDB_SUCCESS) {
        goto fail;
    }
    mdb_env_set_assert(st->env, s_on_assert);
    step = "set the number of databases";
    rc = mdb_env_set_maxdbs(st->env, CS_DB_COUNT_ + 4);
    if (rc != MDB_SUCCESS) {
        goto fail;
    }
    step = "set the number of readers";
    rc = mdb_env_set_maxreaders(st->env, max_readers ? max_readers : 126);
    if (rc != MDB_SUCCESS) {
        goto fail;
    }
    /* MDB_NOTLS: a reader's transaction belongs to its cs_reader_t, not to the thread.
     * MDB_NORDAHEAD: a page fault in the map reads its page, not the megabytes around it that
     * the disk's read-ahead setting asks for (8 MiB on the reference VM: 6 ms a fault, and
     * the opening's few faults held up a cold start by as much). What the first queries
     * need is read ahead in steps instead: the code index images at start
     * (cs_codeidx_warm), then the whole file by the verifier (cs_store_prefetch). */
    step = "open the environment";
    rc = mdb_env_open(st->env, dir, MDB_NOTLS | MDB_NORDAHEAD | (rdonly ? MDB_RDONLY : 0), 0600);
    if (rc != MDB_SUCCESS) {
        goto fail;
    }
    int dead = 0;
    if (!rdonly) {
        mdb_reader_check(st->env, &dead);
    }
    /* A larger map set by an earlier run (after growth) is kept. */
    MDB_envinfo info;
    if (mdb_env_info(st->env, &info) == MDB_SUCCESS &&
        (info.me_mapsize > st->map_size || rdonly)) {
        st->map_size = info.me_mapsize;
    }
    MDB_txn *txn = NULL;
    rc = s_setup_guarded(st, rdonly, &step, &txn, err);
    if (rc == S_FAULTED) {
        /* LMDB was inside a transaction: the environment is left open (leaked), not closed
         * under it; the caller refuses to start or reports the error. */
        cs_error_set(err, CS_EMALFORMED, "%s: the database file is corrupt: LMDB %s while "
                     "opening its databases; restore it from a copy, or move it away and "
                     "load the releases again", dir, s_guard_what);
        goto fail_nodb;
    }
    if (rc == S_ERR_SET) {
        goto fail_env;
    }
    if (rc != MDB_SUCCESS) {
        goto fail;
    }
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS) {
        s_commit_failed(dir, rc, "commit the set-up transaction", err);
        goto fail_env;
    }
    s_locate_map(st);
    return st;

fail:
    cs_error_set(err, s_map_err(rc) == CS_EINTERNAL ? CS_EIO : s_map_err(rc),
                 "%s: cannot %s: %s", dir, step, mdb_strerror(rc));
fail_env:
    if (st->env) {
        mdb_env_close(st->env);
    }
fail_nodb:
    if (st->lock_fd >= 0) {
        close(st->lock_fd);
    }
    pthread_rwlock_destroy(&st->quiesce);
    pthread_mutex_destroy(&st->health_mu);
    free(st);
    return NULL;
}

void cs_store_destroy(cs_store_t **store)
{
    if (!store || !*store) {
        return;
    }
    cs_store_t *st = *store;
    mdb_env_close(st->env);
    if (st->lock_fd >= 0) {
        close(st->lock_fd); /* releases the lock, after the environment is closed */
    }
    pthread_rwlock_destroy(&st->quiesce);
    pthread_mutex_destroy(&st->health_mu);
    free(st);
    *store = NULL;
}

const char *cs_store_dir(const cs_store_t *store)
{
    return store->dir;
}

size_t cs_store_map_size(const cs_store_t *store)
{
    return atomic_load(&((cs_store_t *)store)->map_size);
}

uint64_t cs_store_used_bytes(cs_store_t *store)
{
    MDB_envinfo info;
    MDB_stat stat;
    if (mdb_env_info(store->env, &info) != MDB_SUCCESS ||
        mdb_env_stat(store->env, &stat) != MDB_SUCCESS) {
        return 0;
    }
    return (uint64_t)(info.me_last_pgno + 1) * stat.ms_psize;
}

int cs_store_grow(cs_store_t *store, size_t min_size, cs_error_t *err)
{
    size_t target = atomic_load(&store->map_size) * 2;
    if (target < min_size) {
        target = min_size;
    }
    pthread_rwlock_wrlock(&store->quiesce);
    int rc = mdb_env_set_mapsize(store->env, target);
    if (rc == MDB_SUCCESS) {
        MDB_envinfo info;
        store->map_size = mdb_env_info(store->env, &info) == MDB_SUCCESS ? info.me_mapsize
                                                                         : target;
        store->map_gen++;
        s_locate_map(store);
    }
    pthread_rwlock_unlock(&store->quiesce);
    if (rc != MDB_SUCCESS) {
        return cs_error_set(err, s_map_err(rc), "%s: cannot grow the map to %zu bytes: %s",
                            store->dir, target, mdb_strerror(rc));
    }
    CS_NOTICE("store %s: map grown to %zu MiB", store->dir, atomic_load(&store->map_size) >> 20);
    return CS_OK;
}

/* ---- readers ---- */

/* Another process grew the map past this one's (MDB_MAP_RESIZED): adopt its size. Adopting
 * remaps the file, which moves the map under every reader of this process, so it happens
 * under the exclusive lock, as cs_store_grow does; gen (read under the shared lock) tells
 * whether another thread adopted it meanwhile. */
static int s_adopt_grown_map(cs_store_t *st, unsigned gen)
{
    int rc = MDB_SUCCESS;
    pthread_rwlock_wrlock(&st->quiesce);
    if (st->map_gen == gen) {
        rc = mdb_env_set_mapsize(st->env, 0);
        MDB_envinfo info;
        if (rc == MDB_SUCCESS && mdb_env_info(st->env, &info) == MDB_SUCCESS) {
            st->map_size = info.me_mapsize;
        }
        st->map_gen++;
        s_locate_map(st);
    }
    pthread_rwlock_unlock(&st->quiesce);
    return rc;
}

/* Begin (renew) a read transaction under the shared lock, adopting a map grown by another
 * process first when LMDB asks for it. Returns with the shared lock held on MDB_SUCCESS. */
static int s_read_txn_begin(cs_store_t *st, MDB_txn **txn, int renew)
{
    for (int tries = 0;; tries++) {
        pthread_rwlock_rdlock(&st->quiesce);
        int rc = renew ? mdb_txn_renew(*txn) : mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
        if (rc == MDB_READERS_FULL && !renew) {
            int dead = 0;
            mdb_reader_check(st->env, &dead);
            rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, txn);
        }
        if (rc == MDB_SUCCESS) {
            return rc;
        }
        unsigned gen = st->map_gen;
        pthread_rwlock_unlock(&st->quiesce);
        if (rc != MDB_MAP_RESIZED || tries == 8) {
            return rc;
        }
        rc = s_adopt_grown_map(st, gen);
        if (rc != MDB_SUCCESS) {
            return rc;
        }
    }
}

uint64_t cs_store_last_commit(cs_store_t *store)
{
    MDB_envinfo info;
    int rc;
    /* The meta pages are in the map: read under the lock a remap takes, and the guard. */
    pthread_rwlock_rdlock(&store->quiesce);
    S_GUARD_RUN(rc, mdb_env_info(store->env, &info), MDB_CORRUPTED);
    pthread_rwlock_unlock(&store->quiesce);
    return rc == MDB_SUCCESS ? (uint64_t)info.me_last_txnid : 0;
}

cs_reader_t *cs_reader_new(cs_store_t *store, cs_error_t *err)
{
    cs_reader_t *r = calloc(1, sizeof *r);
    if (!r) {
        cs_error_set(err, CS_ENOMEM, "out of memory creating a reader");
        return NULL;
    }
    r->store = store;
    int rc = s_read_txn_begin(store, &r->txn, 0);
    if (rc != MDB_SUCCESS) {
        cs_error_set(err, s_map_err(rc), "cannot begin a read transaction: %s",
                     mdb_strerror(rc));
        free(r);
        return NULL;
    }
    for (int i = 0; i < CS_DB_COUNT_; i++) {
        if (store->absent[i]) {
            continue;
        }
        rc = mdb_cursor_open(r->txn, store->dbi[i], &r->cur[i]);
        if (rc != MDB_SUCCESS) {
            cs_error_set(err, s_map_err(rc), "cannot open a cursor: %s", mdb_strerror(rc));
            mdb_txn_reset(r->txn);
            pthread_rwlock_unlock(&store->quiesce);
            cs_reader_destroy(&r);
            return NULL;
        }
    }
    mdb_txn_reset(r->txn);
    pthread_rwlock_unlock(&store->quiesce);
    return r;
}

void cs_reader_destroy(cs_reader_t **reader)
{
    if (!reader || !*reader) {
        return;
    }
    cs_reader_t *r = *reader;
    cs_reader_end(r);
    for (int i = 0; i < CS_DB_COUNT_; i++) {
        if (r->cur[i]) {
            mdb_cursor_close(r->cur[i]);
        }
    }
    if (r->txn) {
        mdb_txn_abort(r->txn);
    }
    free(r);
    *reader = NULL;
}

int cs_reader_begin(cs_reader_t *r)
{
    if (r->active) {
        return CS_OK;
    }
    int rc = s_read_txn_begin(r->store, &r->txn, 1);
    if (rc != MDB_SUCCESS) {
        CS_ERROR("store %s: cannot renew a read transaction: %s", r->store->dir,
                 mdb_strerror(rc));
        return CS_EINTERNAL;
    }
    /* Cursors are renewed when a request first moves one (s_reader_cursor): renewing all
     * six here cost more than a lookup that uses none of them. */
    r->renewed = 0;
    r->corrupt = 0;
    r->active = 1;
    return CS_OK;
}

int cs_reader_corrupt(const cs_reader_t *r)
{
    return r->corrupt;
}

uint64_t cs_reader_snapshot(const cs_reader_t *r)
{
    return r->active ? (uint64_t)mdb_txn_id(r->txn) : 0;
}

unsigned cs_reader_map_gen(const cs_reader_t *r)
{
    /* written only under the exclusive lock; an active reader holds the shared one */
    return r->store->map_gen;
}

/* db's cursor, bound to the current snapshot. */
static MDB_cursor *s_reader_cursor(cs_reader_t *r, int db)
{
    if (!(r->renewed & (1u << db))) {
        mdb_cursor_renew(r->txn, r->cur[db]);
        r->renewed |= 1u << db;
    }
    return r->cur[db];
}

/* A key or value LMDB returned: inside the file, or the page that pointed at it is corrupt. */
static int s_reader_checked(cs_reader_t *r, const MDB_val *k, const MDB_val *v)
{
    if ((k && !s_in_file(r->store, k->mv_data, k->mv_size)) ||
        (v && !s_in_file(r->store, v->mv_data, v->mv_size))) {
        if (!r->corrupt) {
            CS_WARN("store %s: a record points outside the data file: a page is corrupt; the "
                    "request fails", r->store->dir);
        }
        r->corrupt = 1;
        return CS_EMALFORMED;
    }
    return CS_OK;
}

void cs_reader_end(cs_reader_t *r)
{
    if (!r->active) {
        return;
    }
    mdb_txn_reset(r->txn);
    r->active = 0;
    pthread_rwlock_unlock(&r->store->quiesce);
}

int cs_reader_get(cs_reader_t *r, int db, const void *key, size_t klen, cs_val_t *val)
{
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {0, NULL};
    if (r->corrupt) {
        return CS_EMALFORMED;
    }
    if (r->store->absent[db]) {
        return CS_ENOTFOUND;
    }
    int rc;
    S_GUARDED(r, rc, s_map_err(mdb_get(r->txn, r->store->dbi[db], &k, &v)));
    if (rc == CS_OK) {
        rc = s_reader_checked(r, NULL, &v);
    }
    if (rc != CS_OK) {
        return rc;
    }
    val->data = v.mv_data;
    val->len = v.mv_size;
    return CS_OK;
}

int cs_reader_map(cs_reader_t *r, const cs_val_t *v, cs_mapping_t *m, const void **data)
{
    m->addr = NULL;
    m->len = 0;
    int fd;
    cs_store_t *st = r->store;
    /* r holds the quiesce lock: LMDB's map, located at open and after each remap (LMDB
     * tells its address only for a fixed map), cannot move while we read it */
    if (!r->active || !st->map_lo || mdb_env_get_fd(st->env, &fd) != MDB_SUCCESS) {
        return CS_EIO;
    }
    const uint8_t *p = v->data;
    if (!s_in_file(st, p, v->len)) {
        return CS_EMALFORMED;
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t off = (size_t)(p - st->map_lo);
    size_t start = off - off % page;
    size_t len = off - start + v->len;
    void *a = mmap(NULL, len ? len : 1, PROT_READ, MAP_SHARED, fd, (off_t)start);
    if (a == MAP_FAILED) {
        return CS_EIO;
    }
    m->addr = a;
    m->len = len ? len : 1;
    m->offset = start;
    *data = (const uint8_t *)a + (off - start);
    return CS_OK;
}

void cs_mapping_unmap(cs_mapping_t *m)
{
    if (m->addr) {
        munmap(m->addr, m->len);
    }
    m->addr = NULL;
    m->len = 0;
}

/* Hand a cursor's key and value out (either may be NULL). */
static void s_out(const MDB_val *mk, const MDB_val *mv, cs_val_t *k, cs_val_t *v)
{
    if (k) {
        k->data = mk->mv_data;
        k->len = mk->mv_size;
    }
    if (v) {
        v->data = mv->mv_data;
        v->len = mv->mv_size;
    }
}

static int s_cursor(MDB_cursor *cur, MDB_cursor_op op, const void *key, size_t klen,
                    cs_val_t *k, cs_val_t *v)
{
    MDB_val mk = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val mv = {0, NULL};
    int rc;
    S_GUARD_RUN(rc, mdb_cursor_get(cur, &mk, &mv, op), MDB_CORRUPTED);
    if (rc != MDB_SUCCESS) {
        return s_map_err(rc);
    }
    s_out(&mk, &mv, k, v);
    return CS_OK;
}

/* A reader's cursor move, under the guard, with what it returns checked. */
static int s_reader_move(cs_reader_t *r, int db, MDB_cursor_op op, const void *key, size_t klen,
                         cs_val_t *k, cs_val_t *v)
{
    if (r->corrupt) {
        return CS_EMALFORMED;
    }
    if (r->store->absent[db]) {
        return CS_ENOTFOUND;
    }
    MDB_val mk = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val mv = {0, NULL};
    int rc;
    S_GUARDED(r, rc, s_map_err(mdb_cursor_get(s_reader_cursor(r, db), &mk, &mv, op)));
    if (rc == CS_OK) {
        rc = s_reader_checked(r, &mk, &mv);
    }
    if (rc != CS_OK) {
        return rc;
    }
    s_out(&mk, &mv, k, v);
    return CS_OK;
}

int cs_reader_seek(cs_reader_t *r, int db, const void *key, size_t klen, cs_val_t *k,
                   cs_val_t *v)
{
    return s_reader_move(r, db, MDB_SET_RANGE, key, klen, k, v);
}

int cs_reader_next(cs_reader_t *r, int db, cs_val_t *k, cs_val_t *v)
{
    return s_reader_move(r, db, MDB_NEXT, NULL, 0, k, v);
}

int cs_reader_prev(cs_reader_t *r, int db, cs_val_t *k, cs_val_t *v)
{
    return s_reader_move(r, db, MDB_PREV, NULL, 0, k, v);
}

int cs_reader_last(cs_reader_t *r, int db, cs_val_t *k, cs_val_t *v)
{
    return s_reader_move(r, db, MDB_LAST, NULL, 0, k, v);
}

/* ---- the writer ---- */

static int s_writer_open_txn(cs_writer_t *w)
{
    w->cur = NULL;
    w->cur_db = -1;
    int rc = mdb_txn_begin(w->store->env, NULL, 0, &w->txn);
    if (rc != MDB_SUCCESS) {
        w->txn = NULL;
        w->status = s_map_err(rc);
        CS_ERROR("store %s: cannot begin a write transaction: %s", w->store->dir,
                 mdb_strerror(rc));
    }
    return w->status;
}

cs_writer_t *cs_writer_new(cs_store_t *store, cs_error_t *err)
{
    cs_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        cs_error_set(err, CS_ENOMEM, "out of memory creating the writer");
        return NULL;
    }
    w->store = store;
    if (s_writer_open_txn(w) != CS_OK) {
        cs_error_set(err, w->status, "%s: cannot begin a write transaction", store->dir);
        free(w);
        return NULL;
    }
    return w;
}

void cs_writer_destroy(cs_writer_t **writer)
{
    if (!writer || !*writer) {
        return;
    }
    cs_writer_t *w = *writer;
    if (w->txn) {
        mdb_txn_abort(w->txn);
    }
    free(w);
    *writer = NULL;
}

static int s_writer_fail(cs_writer_t *w, int rc)
{
    if (w->status == CS_OK) {
        w->status = s_map_err(rc);
    }
    return w->status;
}

static int s_put(cs_writer_t *w, int db, const void *key, size_t klen, const void *val,
                 size_t vlen, unsigned flags)
{
    if (w->status != CS_OK) {
        return w->status;
    }
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
    int rc;
    S_GUARD_RUN(rc, mdb_put(w->txn, w->store->dbi[db], &k, &v, flags), MDB_CORRUPTED);
    if (rc == MDB_KEYEXIST) {
        return CS_EEXIST;
    }
    if (rc != MDB_SUCCESS) {
        return s_writer_fail(w, rc);
    }
    return CS_OK;
}

int cs_writer_put(cs_writer_t *w, int db, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    return s_put(w, db, key, klen, val, vlen, 0);
}

int cs_writer_reserve(cs_writer_t *w, int db, const void *key, size_t klen, size_t vlen,
                      void **val)
{
    if (w->status != CS_OK) {
        return w->status;
    }
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = vlen, .mv_data = NULL};
    int rc;
    S_GUARD_RUN(rc, mdb_put(w->txn, w->store->dbi[db], &k, &v, MDB_RESERVE), MDB_CORRUPTED);
    if (rc != MDB_SUCCESS) {
        return s_writer_fail(w, rc);
    }
    *val = v.mv_data;
    return CS_OK;
}

int cs_writer_add(cs_writer_t *w, int db, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    return s_put(w, db, key, klen, val, vlen, MDB_NOOVERWRITE);
}

int cs_writer_get(cs_writer_t *w, int db, const void *key, size_t klen, cs_val_t *val)
{
    if (w->status != CS_OK) {
        return w->status;
    }
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {0, NULL};
    int rc;
    S_GUARD_RUN(rc, mdb_get(w->txn, w->store->dbi[db], &k, &v), MDB_CORRUPTED);
    if (rc != MDB_SUCCESS) {
        return rc == MDB_NOTFOUND ? CS_ENOTFOUND : s_writer_fail(w, rc);
    }
    val->data = v.mv_data;
    val->len = v.mv_size;
    return CS_OK;
}

int cs_writer_del(cs_writer_t *w, int db, const void *key, size_t klen)
{
    if (w->status != CS_OK) {
        return w->status;
    }
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    int rc;
    S_GUARD_RUN(rc, mdb_del(w->txn, w->store->dbi[db], &k, NULL), MDB_CORRUPTED);
    if (rc == MDB_NOTFOUND) {
        return CS_ENOTFOUND;
    }
    return rc == MDB_SUCCESS ? CS_OK : s_writer_fail(w, rc);
}

static int s_writer_cursor(cs_writer_t *w, int db)
{
    if (w->cur && w->cur_db == db) {
        return CS_OK;
    }
    if (w->cur) {
        mdb_cursor_close(w->cur);
        w->cur = NULL;
    }
    int rc = mdb_cursor_open(w->txn, w->store->dbi[db], &w->cur);
    if (rc != MDB_SUCCESS) {
        w->cur = NULL;
        return s_writer_fail(w, rc);
    }
    w->cur_db = db;
    return CS_OK;
}

int cs_writer_seek(cs_writer_t *w, int db, const void *key, size_t klen, cs_val_t *k,
                   cs_val_t *v)
{
    if (w->status != CS_OK || s_writer_cursor(w, db) != CS_OK) {
        return w->status;
    }
    int rc = s_cursor(w->cur, MDB_SET_RANGE, key, klen, k, v);
    return rc == CS_EMALFORMED ? s_writer_fail(w, MDB_CORRUPTED) : rc;
}

int cs_writer_next(cs_writer_t *w, int db, cs_val_t *k, cs_val_t *v)
{
    if (w->status != CS_OK || s_writer_cursor(w, db) != CS_OK) {
        return w->status;
    }
    int rc = s_cursor(w->cur, MDB_NEXT, NULL, 0, k, v);
    return rc == CS_EMALFORMED ? s_writer_fail(w, MDB_CORRUPTED) : rc;
}

/* The deletions of cs_writer_del_prefix: an LMDB code (EINVAL and MDB_NOTFOUND: done). */
static int s_del_prefix(cs_writer_t *w, const void *prefix, size_t plen, size_t max_keys,
                        int *more)
{
    MDB_val k = {.mv_size = plen, .mv_data = (void *)prefix};
    MDB_val v;
    int rc = mdb_cursor_get(w->cur, &k, &v, MDB_SET_RANGE);
    size_t n = 0;
    while (rc == MDB_SUCCESS && k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
        if (n == max_keys) {
            *more = 1;
            return MDB_SUCCESS;
        }
        rc = mdb_cursor_del(w->cur, 0);
        if (rc != MDB_SUCCESS) {
            return rc;
        }
        n++;
        /* After deleting the last item the cursor has no current position (EINVAL). */
        rc = mdb_cursor_get(w->cur, &k, &v, MDB_GET_CURRENT);
    }
    return rc;
}

int cs_writer_del_prefix(cs_writer_t *w, int db, const void *prefix, size_t plen,
                         size_t max_keys, int *more)
{
    *more = 0;
    if (w->status != CS_OK || s_writer_cursor(w, db) != CS_OK) {
        return w->status;
    }
    int rc;
    S_GUARD_RUN(rc, s_del_prefix(w, prefix, plen, max_keys, more), MDB_CORRUPTED);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND && rc != EINVAL) {
        return s_writer_fail(w, rc);
    }
    return CS_OK;
}

int cs_writer_commit(cs_writer_t *w, cs_error_t *err)
{
    if (w->status != CS_OK) {
        return cs_error_set(err, w->status, "%s: write failed: %s", w->store->dir,
                            cs_strerror(w->status));
    }
    if (w->cur) {
        mdb_cursor_close(w->cur);
        w->cur = NULL;
    }
    int rc = mdb_txn_commit(w->txn);
    w->txn = NULL;
    if (rc != MDB_SUCCESS) {
        s_writer_fail(w, rc);
        return s_commit_failed(w->store->dir, rc, "commit a write", err);
    }
    return s_writer_open_txn(w);
}

int cs_writer_abort(cs_writer_t *w)
{
    if (w->cur) {
        mdb_cursor_close(w->cur);
        w->cur = NULL;
    }
    if (w->txn) {
        mdb_txn_abort(w->txn);
        w->txn = NULL;
    }
    w->status = CS_OK;
    return s_writer_open_txn(w);
}

int cs_writer_status(const cs_writer_t *w)
{
    return w->status;
}
