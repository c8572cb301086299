/* cs_log.h: the one logging entry point of the core (stderr, one line per event).
 * Thread-safe: each line is written with a single write(2). */
#ifndef CS_LOG_H
#define CS_LOG_H

#include "codeset/cs_plugin.h" /* enum cs_log_level */

#ifdef __cplusplus
extern "C" {
#endif

/* Lines above this level are dropped before formatting. Default CS_LOG_NOTICE. */
void cs_log_set_level(int level);
int cs_log_level(void);
/* Parse "error|warning|notice|info|debug"; returns the level or -1. */
int cs_log_parse_level(const char *name);

/* A hook that sees every line (tests count errors with it); NULL restores stderr only. */
typedef void (*cs_log_hook_fn)(int level, const char *line, void *user);
void cs_log_set_hook(cs_log_hook_fn hook, void *user);

void cs_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As cs_log, prefixed "<who>: " (plugins log through this via the host table). */
void cs_log_from(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CS_ERROR(...) cs_log(CS_LOG_ERROR, __VA_ARGS__)
#define CS_WARN(...) cs_log(CS_LOG_WARNING, __VA_ARGS__)
#define CS_NOTICE(...) cs_log(CS_LOG_NOTICE, __VA_ARGS__)
#define CS_INFO(...) cs_log(CS_LOG_INFO, __VA_ARGS__)
#define CS_DEBUG(...)                                                                      \
    do {                                                                                   \
        if (cs_log_level() >= CS_LOG_DEBUG) {                                              \
            cs_log(CS_LOG_DEBUG, __VA_ARGS__);                                             \
        }                                                                                  \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif /* CS_LOG_H */
