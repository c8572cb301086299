/* cs_log.c: leveled one-line logging to stderr. */
#include "util/cs_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int s_level = CS_LOG_NOTICE;
static cs_log_hook_fn s_hook;
static void *s_hook_user;

static const char *const s_names[] = {"error", "warning", "notice", "info", "debug"};

void cs_log_set_level(int level)
{
    s_level = level;
}

int cs_log_level(void)
{
    return s_level;
}

int cs_log_parse_level(const char *name)
{
    for (int i = 0; i < (int)(sizeof s_names / sizeof s_names[0]); i++) {
        if (strcmp(name, s_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void cs_log_set_hook(cs_log_hook_fn hook, void *user)
{
    s_hook = hook;
    s_hook_user = user;
}

static void s_vlog(int level, const char *who, const char *fmt, va_list ap)
{
    if (level > s_level) {
        return;
    }
    if (level < 0) {
        level = 0;
    }
    if (level > CS_LOG_DEBUG) {
        level = CS_LOG_DEBUG;
    }
    char line[1024];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02dZ %s: %s%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, s_names[level], who ? who : "", who ? ": " : "");
    if (n < 0) {
        return;
    }
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    vsnprintf(line + used, sizeof line - used, fmt, ap);
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len++] = '\n';
        line[len] = '\0';
    }
    if (s_hook) {
        s_hook(level, line, s_hook_user);
    }
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void cs_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void cs_log_from(int level, const char *who, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vlog(level, who, fmt, ap);
    va_end(ap);
}
