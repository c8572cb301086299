/* cs_error.h: status codes and the positioned error record shared by the core and plugins.
 *
 * Every fallible function returns CS_OK (0) or a negative CS_E* code and, where the caller
 * passes one, fills a cs_error_t with a sentence naming the subject and the cause. Filling it
 * never allocates, so an out-of-memory condition can still be reported. The helpers here are
 * static inline so that plugins, which link no symbol of the daemon, can use them too.
 */
#ifndef CS_ERROR_H
#define CS_ERROR_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CS_OK = 0,
    CS_EINVAL = -1,     /* a caller passed something ill-formed (options, request keys) */
    CS_ENOMEM = -2,     /* allocation failed */
    CS_ENOTFOUND = -3,  /* no such code, release, job or plugin */
    CS_EMALFORMED = -4, /* input from outside is not of the expected form */
    CS_ESPACE = -5,     /* the LMDB map or the disk is full */
    CS_EAGAIN = -6,     /* try again: busy, or a resource is temporarily exhausted */
    CS_ETERM = -7,      /* the process is shutting down */
    CS_EIO = -8,        /* a file or socket could not be read or written */
    CS_EABI = -9,       /* a plugin was built for another ABI */
    CS_EEXIST = -10,    /* already present (a plugin of that name, a running load) */
    CS_ETOOMANY = -11,  /* a list or size over its limit */
    CS_EINTERNAL = -12, /* a bug or an unexpected library failure */
};

/* One error, positioned where that makes sense (a release file's line and column). */
typedef struct cs_error {
    int code;          /* a CS_E* value; CS_OK when nothing failed */
    char msg[256];     /* one sentence: what failed and why */
    char file[128];    /* the input file involved, or "" */
    unsigned line;     /* 1-based line in file, 0 if not applicable */
    unsigned column;   /* 1-based column in file, 0 if not applicable */
} cs_error_t;

/* A short constant name for a status code ("malformed input"); never NULL. */
static inline const char *cs_strerror(int code)
{
    switch (code) {
    case CS_OK: return "success";
    case CS_EINVAL: return "invalid argument";
    case CS_ENOMEM: return "out of memory";
    case CS_ENOTFOUND: return "not found";
    case CS_EMALFORMED: return "malformed input";
    case CS_ESPACE: return "no space left in the database";
    case CS_EAGAIN: return "resource temporarily unavailable";
    case CS_ETERM: return "shutting down";
    case CS_EIO: return "input/output error";
    case CS_EABI: return "plugin ABI mismatch";
    case CS_EEXIST: return "already exists";
    case CS_ETOOMANY: return "over the limit";
    case CS_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

/* Clear an error record (err may be NULL). */
static inline void cs_error_clear(cs_error_t *err)
{
    if (err) {
        memset(err, 0, sizeof *err);
    }
}

/* Set code and message; keeps file/line/column as they are. Returns code so callers can
 * write `return cs_error_set(err, CS_EINVAL, "...")`. err may be NULL. */
static inline int cs_error_set(cs_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int cs_error_set(cs_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Set the position part of an error: file (copied, truncated), line and column. */
static inline void cs_error_at(cs_error_t *err, const char *file, unsigned line, unsigned column)
{
    if (err) {
        snprintf(err->file, sizeof err->file, "%s", file ? file : "");
        err->line = line;
        err->column = column;
    }
}

#ifdef __cplusplus
}
#endif
#endif /* CS_ERROR_H */
