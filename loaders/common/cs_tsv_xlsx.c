/* cs_tsv_xlsx.c: a workbook's first sheet as cs_tsv rows (cs_tsv_xlsx.h). */
#include "cs_tsv_xlsx.h"

#include <string.h>

#include "xlsx.h"

typedef struct s_sheet {
    cs_text_t *t;
    char *buf;        /* the row's fields, copied (CS_TEXT_BUF_SIZE + 1 bytes) */
    size_t width;
    cs_tsv_fn fn;
    void *ud;
    cs_xlsx_t *x;
    unsigned rows;    /* rows handed to fn */
} s_sheet_t;

/* The cells past the last non-empty one are dropped down to width. */
static size_t s_used(const char *const *cells, size_t n, size_t width)
{
    while (n > width && cells[n - 1][0] == '\0') {
        n--;
    }
    return n;
}

static int s_on_row(void *arg, uint32_t rowno, const char *const *cells, size_t n_cells,
                    cs_error_t *err)
{
    (void)err; /* failures go through st->t, whose err is the load's */
    s_sheet_t *st = arg;
    size_t n = s_used(cells, n_cells, st->width);
    size_t filled = 0;
    for (size_t k = 0; k < n; k++) {
        filled += cells[k][0] != '\0';
    }
    if (filled == 0) {
        return CS_OK; /* an empty row, as a blank line */
    }
    if (n > CS_TSV_FIELDS || n > st->width) {
        return cs_text_fail(st->t, CS_EMALFORMED, rowno, (unsigned)n, "a value in column %zu: "
                            "the rows of this sheet have %zu columns", n, st->width);
    }
    cs_tsv_row_t row = {.line = rowno, .n = st->width};
    size_t at = 0;
    for (size_t k = 0; k < st->width; k++) {
        const char *c = k < n ? cells[k] : "";
        size_t len = strlen(c);
        if (at + len + 1 > CS_TSV_LINE_MAX) {
            return cs_text_fail(st->t, CS_EMALFORMED, rowno, (unsigned)k + 1, "the row is "
                                "longer than %d characters", CS_TSV_LINE_MAX);
        }
        memcpy(st->buf + at, c, len + 1);
        row.f[k] = st->buf + at;
        row.col[k] = (unsigned)k + 1;
        at += len + 1;
    }
    int rc = st->fn(st->ud, st->t, &row);
    if (rc == CS_OK && ++st->rows % 4096 == 0) {
        rc = cs_text_poll(st->t, rowno, cs_xlsx_bytes_done(st->x));
    }
    return rc;
}

int cs_tsv_read_xlsx(cs_text_t *t, const char *path, char *buf, size_t width, cs_tsv_fn fn,
                     void *ud)
{
    t->base = cs_text_base_name(path);
    cs_error_t own;
    cs_error_clear(&own);
    cs_error_t *err = t->err ? t->err : &own;
    if (width == 0 || width > CS_TSV_FIELDS) {
        return cs_text_fail(t, CS_EINVAL, 0, 0, "a sheet row of %zu fields", width);
    }
    s_sheet_t st = {.t = t, .buf = buf, .width = width, .fn = fn, .ud = ud};
    st.x = cs_xlsx_new(path, NULL, err);
    if (!st.x) {
        return err->code ? err->code : CS_EMALFORMED;
    }
    int rc = cs_xlsx_rows(st.x, 0, s_on_row, &st, err);
    cs_xlsx_destroy(&st.x);
    return rc;
}

/* The format of cs_tsv_load_notice_any. */
typedef struct s_any {
    char sep;
    size_t width;
} s_any_t;

static int s_read_any(cs_text_t *t, const char *path, char *buf, const void *how, cs_tsv_fn fn,
                      void *ud)
{
    const s_any_t *a = how;
    if (cs_xlsx_is_zip(path)) {
        return cs_tsv_read_xlsx(t, path, buf, a->width, fn, ud);
    }
    return cs_tsv_read_sep(t, path, buf, a->sep, 1, fn, ud);
}

int cs_tsv_load_notice_any(const cs_host_api_t *host, cs_sink_t *sink,
                           const char *const *files, size_t n_files, cs_error_t *err, char sep,
                           size_t width, cs_tsv_fn fn, size_t state_size, const char *what)
{
    s_any_t how = {sep, width};
    return cs_tsv_load_notice_with(host, sink, files, n_files, err, s_read_any, &how, fn,
                                   state_size, what);
}

/* Sniffing: the first cells of a row sought, and whether one was met. */
typedef struct s_seek {
    const char *const *want;
    size_t n_want;
    unsigned rows;
    int found;
} s_seek_t;

static int s_seek_row(void *arg, uint32_t rowno, const char *const *cells, size_t n_cells,
                      cs_error_t *err)
{
    (void)rowno;
    s_seek_t *s = arg;
    int match = n_cells >= s->n_want;
    for (size_t k = 0; match && k < s->n_want; k++) {
        match = strcmp(cells[k], s->want[k]) == 0;
    }
    s->found = match;
    if (match || ++s->rows >= 40) {
        return cs_error_set(err, CS_ETERM, "enough rows read"); /* stops the read */
    }
    return CS_OK;
}

int cs_tsv_sniff_xlsx(const char *const *files, size_t n_files, const char *const *first,
                      size_t n_first)
{
    for (size_t i = 0; i < n_files; i++) {
        cs_error_t err;
        cs_error_clear(&err);
        cs_xlsx_t *x = files && files[i] && cs_xlsx_is_zip(files[i])
                           ? cs_xlsx_new(files[i], NULL, &err)
                           : NULL;
        s_seek_t s = {.want = first, .n_want = n_first};
        if (x) {
            cs_xlsx_rows(x, 0, s_seek_row, &s, &err);
            cs_xlsx_destroy(&x);
        }
        if (!s.found) {
            return 0;
        }
    }
    return n_files > 0;
}
