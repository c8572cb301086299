/* cs_text.c: the line reading the text loaders share (see cs_text.h). */
#include "cs_text.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "util/cs_utf8.h" /* core/: header-only, no core symbol linked */

void cs_text_begin(cs_text_t *t, const cs_host_api_t *host, cs_sink_t *sink, cs_error_t *err)
{
    t->host = host;
    t->sink = sink;
    t->err = err;
    t->has_progress = CS_HOST_HAS(host, progress);
    t->has_cancelled = CS_HOST_HAS(host, cancelled);
}

const char *cs_text_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int cs_text_is_empty(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!cs_text_is_blank(line[i])) {
            return 0;
        }
    }
    return 1;
}

char *cs_text_trim(char *line, size_t *len, unsigned lineno, unsigned *shift)
{
    if (*len > 0 && line[*len - 1] == '\r') {
        (*len)--;
    }
    *shift = 0;
    if (lineno == 1 && *len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3;
        *len -= 3;
        *shift = 3;
    }
    line[*len] = '\0';
    return line;
}

int cs_text_fail(cs_text_t *t, int code, unsigned line, unsigned column, const char *fmt, ...)
{
    cs_error_at(t->err, t->base, line, column);
    if (t->err) {
        va_list ap;
        va_start(ap, fmt);
        t->err->code = code;
        vsnprintf(t->err->msg, sizeof t->err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void cs_text_start(cs_text_t *t, FILE *fp, char *buf, size_t line_max)
{
    t->fp = fp;
    t->buf = buf;
    t->line_max = line_max;
    t->start = 0;
    t->end = 0;
    t->eof = 0;
    t->lineno = 0;
    t->first_blank = 0;
}

int cs_text_next(cs_text_t *t, char **out, size_t *out_len, unsigned *shift)
{
    *out = NULL;
    *out_len = 0;
    *shift = 0;
    for (;;) {
        char *line = t->buf + t->start;
        char *nl = memchr(line, '\n', t->end - t->start);
        size_t len;
        if (nl) {
            len = (size_t)(nl - line);
            t->start += len + 1;
        } else if (t->end - t->start > t->line_max + 1) {
            /* room for the CR: a line of line_max bytes may still end in CRLF */
            return cs_text_fail(t, CS_EMALFORMED, t->lineno + 1, (unsigned)t->line_max + 1,
                                "line is longer than %zu characters", t->line_max);
        } else if (!t->eof) {
            memmove(t->buf, t->buf + t->start, t->end - t->start);
            t->end -= t->start;
            t->start = 0;
            size_t got = fread(t->buf + t->end, 1, CS_TEXT_BUF_SIZE - t->end, t->fp);
            if (got == 0) {
                if (ferror(t->fp)) {
                    return cs_text_fail(t, CS_EIO, t->lineno + 1, 0, "read failed: %s",
                                        strerror(errno));
                }
                t->eof = 1;
            }
            t->end += got;
            continue;
        } else if (t->start < t->end) {
            len = t->end - t->start;
            t->start = t->end;
        } else {
            return CS_OK;
        }
        t->done += len + (nl ? 1 : 0);
        t->lineno++;
        *out = cs_text_trim(line, &len, t->lineno, shift);
        *out_len = len;
        return CS_OK;
    }
}

int cs_text_next_filled(cs_text_t *t, char **line, size_t *len, unsigned *shift)
{
    for (;;) {
        int rc = cs_text_next(t, line, len, shift);
        if (rc != CS_OK || !*line) {
            return rc;
        }
        if (!cs_text_is_empty(*line, *len)) {
            break;
        }
        if (t->first_blank == 0) {
            t->first_blank = t->lineno;
        }
    }
    if (t->first_blank != 0) {
        return cs_text_fail(t, CS_EMALFORMED, t->first_blank, 1,
                            "empty line before the end of the file");
    }
    return CS_OK;
}

int cs_text_poll(cs_text_t *t, unsigned line, uint64_t done)
{
    if (t->has_progress) {
        t->host->progress(t->sink, done);
    }
    if (t->has_cancelled && t->host->cancelled(t->sink)) {
        return cs_text_fail(t, CS_ETERM, line, 0, "load cancelled");
    }
    return CS_OK;
}

size_t cs_text_utf8_end(const char *p, size_t n, int controls)
{
    return cs_utf8_end(p, n, controls);
}
