/* cs_tsv.c: tab-delimited edit-set lists. */
#include "cs_tsv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A quoted field of a CSV line starting at line[i] (the opening quote): its text unquoted in
 * place ("" becomes "), NUL-terminated; *end gets the offset after the closing quote. */
static int s_quoted(cs_text_t *t, char *line, size_t len, size_t i, unsigned lineno,
                    size_t *end)
{
    size_t o = i;
    for (size_t p = i + 1; p < len; p++) {
        if (line[p] == '"' && p + 1 < len && line[p + 1] == '"') {
            line[o++] = '"';
            p++;
        } else if (line[p] == '"') {
            line[o] = '\0';
            *end = p + 1;
            return CS_OK;
        } else {
            line[o++] = line[p];
        }
    }
    return cs_text_fail(t, CS_EMALFORMED, lineno, (unsigned)i + 1, "a quoted field is not "
                        "closed on its line");
}

/* Split line[0..len) at sep; a field wrapped in double quotes loses them (and, for ',', may
 * hold the separator). */
static int s_split(cs_text_t *t, char *line, size_t len, char sep, cs_tsv_row_t *row)
{
    row->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (sep == ',' && i == start && i < len && line[i] == '"') {
            size_t end = 0;
            int rc = s_quoted(t, line, len, i, row->line, &end);
            if (rc != CS_OK) {
                return rc;
            }
            if (end < len && line[end] != sep) {
                return cs_text_fail(t, CS_EMALFORMED, row->line, (unsigned)end + 1,
                                    "text after a quoted field");
            }
            if (row->n == CS_TSV_FIELDS) {
                break;
            }
            row->f[row->n] = line + i;
            row->col[row->n++] = (unsigned)i + 1;
            i = end;
            start = end + 1;
            continue;
        }
        if (i < len && line[i] != sep) {
            continue;
        }
        if (row->n == CS_TSV_FIELDS) {
            return cs_text_fail(t, CS_EMALFORMED, row->line, (unsigned)start + 1,
                                "more than %d fields", CS_TSV_FIELDS);
        }
        line[i] = '\0';
        char *f = line + start;
        size_t fl = i - start;
        if (fl >= 2 && f[0] == '"' && f[fl - 1] == '"') {
            f[fl - 1] = '\0';
            f++;
        }
        row->f[row->n] = f;
        row->col[row->n++] = (unsigned)start + 1;
        start = i + 1;
    }
    return CS_OK;
}

int cs_tsv_read(cs_text_t *t, const char *path, char *buf, cs_tsv_fn fn, void *ud)
{
    return cs_tsv_read_sep(t, path, buf, '\t', 0, fn, ud);
}

int cs_tsv_read_sep(cs_text_t *t, const char *path, char *buf, char sep, int blank_ok,
                    cs_tsv_fn fn, void *ud)
{
    t->base = cs_text_base_name(path);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return cs_text_fail(t, CS_EIO, 0, 0, "cannot open %s: %s", path, strerror(errno));
    }
    cs_text_start(t, fp, buf, CS_TSV_LINE_MAX);
    int rc = CS_OK;
    for (;;) {
        char *line;
        size_t len;
        unsigned shift;
        rc = blank_ok ? cs_text_next(t, &line, &len, &shift)
                      : cs_text_next_filled(t, &line, &len, &shift);
        if (rc != CS_OK || !line) {
            break;
        }
        if (blank_ok && cs_text_is_empty(line, len)) {
            continue;
        }
        size_t bad = cs_text_utf8_end(line, len, 1);
        if (bad < len) {
            rc = cs_text_fail(t, CS_EMALFORMED, t->lineno, (unsigned)(bad + shift) + 1,
                              "not UTF-8 text");
            break;
        }
        cs_tsv_row_t row = {.line = t->lineno};
        if ((rc = s_split(t, line, len, sep, &row)) != CS_OK ||
            (rc = fn(ud, t, &row)) != CS_OK ||
            (t->lineno % 4096 == 0 && (rc = cs_text_poll(t, t->lineno, t->done)) != CS_OK)) {
            break;
        }
    }
    fclose(fp);
    return rc;
}

int cs_tsv_first_line(const char *path, char *out, size_t cap)
{
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (!fp || cap == 0) {
        if (fp) {
            fclose(fp);
        }
        return -1;
    }
    size_t n = fread(out, 1, cap - 1, fp);
    fclose(fp);
    out[n] = '\0';
    char *nl = strpbrk(out, "\r\n");
    if (nl) {
        *nl = '\0';
    }
    if ((unsigned char)out[0] == 0xEF && (unsigned char)out[1] == 0xBB &&
        (unsigned char)out[2] == 0xBF) {
        memmove(out, out + 3, strlen(out + 3) + 1);
    }
    return 0;
}

int cs_tsv_emit(cs_text_t *t, unsigned line, const char *map, const char *from,
                const char *code, const char *data)
{
    cs_map_row_t row = {
        .struct_size = sizeof row,
        .map = map,
        .from_system = from,
        .to_system = "edit-set",
        .source = code,
        .target = NULL,
        .flags = CS_MAP_NO_MAP,
        .relationship = data,
    };
    int rc = t->host->emit_map(t->sink, &row, t->err);
    if (rc != CS_OK && rc != CS_ETERM && t->err) {
        char why[sizeof t->err->msg];
        snprintf(why, sizeof why, "%s", t->err->msg);
        cs_text_fail(t, rc, line, 0, "%s", why);
    }
    return rc;
}

/* A CMS text file: fields split at *(const char *)how, blank lines allowed. */
static int s_read_text(cs_text_t *t, const char *path, char *buf, const void *how,
                       cs_tsv_fn fn, void *ud)
{
    return cs_tsv_read_sep(t, path, buf, *(const char *)how, 1, fn, ud);
}

int cs_tsv_load_notice(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                       size_t n_files, cs_error_t *err, char sep, cs_tsv_fn fn,
                       size_t state_size, const char *what)
{
    return cs_tsv_load_notice_with(host, sink, files, n_files, err, s_read_text, &sep, fn,
                                   state_size, what);
}

int cs_tsv_load_notice_with(const cs_host_api_t *host, cs_sink_t *sink,
                            const char *const *files, size_t n_files, cs_error_t *err,
                            cs_tsv_file_fn read, const void *how, cs_tsv_fn fn,
                            size_t state_size, const char *what)
{
    if (!host || !files || !CS_HOST_HAS(host, emit_map)) {
        return cs_error_set(err, CS_EINVAL, "%s: no host, no files, or no emit_map", what);
    }
    char *buf = malloc(CS_TEXT_BUF_SIZE + 1);
    void *state = malloc(state_size < sizeof(int) ? sizeof(int) : state_size);
    int rc = buf && state ? CS_OK : cs_error_set(err, CS_ENOMEM, "%s: out of memory", what);
    for (size_t i = 0; i < n_files && rc == CS_OK; i++) {
        cs_text_t t = {0};
        memset(state, 0, state_size < sizeof(int) ? sizeof(int) : state_size);
        cs_text_begin(&t, host, sink, err);
        rc = files[i] ? read(&t, files[i], buf, how, fn, state)
                      : cs_error_set(err, CS_EINVAL, "%s: file %zu is NULL", what, i + 1);
        if (rc == CS_OK && !*(int *)state) {
            rc = cs_text_fail(&t, CS_EMALFORMED, 0, 0, "no header line: not %s", what);
        }
    }
    free(state);
    free(buf);
    return rc;
}

int cs_tsv_sniff_prefix(const char *const *files, size_t n_files, const char *prefix)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < n_files; i++) {
        FILE *fp = files && files[i] ? fopen(files[i], "r") : NULL;
        char line[512];
        int found = 0;
        for (int k = 0; fp && k < 40 && !found && fgets(line, sizeof line, fp); k++) {
            found = strncmp(line, prefix, plen) == 0;
        }
        if (fp) {
            fclose(fp);
        }
        if (!found) {
            return 0;
        }
    }
    return n_files > 0;
}
