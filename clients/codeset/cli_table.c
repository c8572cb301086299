/* cli_table.c: aligned text tables (see cli_table.h). */
#include "cli_table.h"

#include <stdlib.h>
#include <string.h>

typedef struct s_row {
    char **cells;        /* ncols owned strings */
    const char **colors; /* ncols borrowed SGR strings or NULL */
    char **notes;        /* owned note lines */
    size_t n_notes;      /* entries in notes */
    int header;          /* 1 for a header row */
} s_row_t;

struct cs_cli_table {
    size_t ncols;  /* columns per row */
    s_row_t *rows; /* rows in order */
    size_t n_rows; /* rows used */
    size_t cap;    /* rows allocated */
};

size_t cs_cli_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p & 0xC0) != 0x80) {
            w++;
        }
    }
    return w;
}

static char *s_clean_dup(const char *s)
{
    char *copy = strdup(s != NULL ? s : "");
    if (copy == NULL) {
        return NULL;
    }
    for (char *p = copy; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7F) {
            *p = ' ';
        }
    }
    return copy;
}

static void s_row_free(s_row_t *row, size_t ncols)
{
    if (row->cells != NULL) {
        for (size_t i = 0; i < ncols; i++) {
            free(row->cells[i]);
        }
    }
    for (size_t i = 0; i < row->n_notes; i++) {
        free(row->notes[i]);
    }
    free(row->cells);
    free(row->colors);
    free(row->notes);
    memset(row, 0, sizeof *row);
}

cs_cli_table_t *cs_cli_table_new(size_t ncols)
{
    if (ncols == 0) {
        return NULL;
    }
    cs_cli_table_t *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return NULL;
    }
    t->ncols = ncols;
    return t;
}

static int s_add(cs_cli_table_t *t, const char *const *cells, int header)
{
    if (t->n_rows == t->cap) {
        size_t cap = t->cap == 0 ? 16 : t->cap * 2;
        s_row_t *rows = realloc(t->rows, cap * sizeof *rows);
        if (rows == NULL) {
            return -1;
        }
        t->rows = rows;
        t->cap = cap;
    }
    s_row_t row = {0};
    row.header = header;
    row.cells = calloc(t->ncols, sizeof *row.cells);
    row.colors = calloc(t->ncols, sizeof *row.colors);
    if (row.cells == NULL || row.colors == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        row.cells[i] = s_clean_dup(cells[i]);
        if (row.cells[i] == NULL) {
            goto fail;
        }
    }
    t->rows[t->n_rows++] = row;
    return 0;
fail:
    s_row_free(&row, t->ncols);
    return -1;
}

int cs_cli_table_add(cs_cli_table_t *t, const char *const *cells)
{
    return s_add(t, cells, 0);
}

int cs_cli_table_header(cs_cli_table_t *t, const char *const *cells)
{
    return s_add(t, cells, 1);
}

int cs_cli_table_color(cs_cli_table_t *t, size_t col, const char *sgr)
{
    if (t->n_rows == 0 || col >= t->ncols) {
        return -1;
    }
    t->rows[t->n_rows - 1].colors[col] = sgr;
    return 0;
}

int cs_cli_table_note(cs_cli_table_t *t, const char *text)
{
    if (t->n_rows == 0) {
        return -1;
    }
    s_row_t *row = &t->rows[t->n_rows - 1];
    char **notes = realloc(row->notes, (row->n_notes + 1) * sizeof *notes);
    if (notes == NULL) {
        return -1;
    }
    row->notes = notes;
    notes[row->n_notes] = s_clean_dup(text);
    if (notes[row->n_notes] == NULL) {
        return -1;
    }
    row->n_notes++;
    return 0;
}

size_t cs_cli_table_rows(const cs_cli_table_t *t)
{
    return t->n_rows;
}

void cs_cli_table_print(const cs_cli_table_t *t, FILE *out, int color)
{
    cs_cli_table_print_indent(t, out, color, 0);
}

void cs_cli_table_print_indent(const cs_cli_table_t *t, FILE *out, int color, int indent)
{
    size_t *widths = calloc(t->ncols, sizeof *widths);
    if (widths == NULL) {
        return;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = cs_cli_text_width(t->rows[r].cells[c]);
            if (w > widths[c]) {
                widths[c] = w;
            }
        }
    }
    /* Trailing empty columns are not padded either. */
    for (size_t r = 0; r < t->n_rows; r++) {
        const s_row_t *row = &t->rows[r];
        size_t last = t->ncols;
        while (last > 1 && row->cells[last - 1][0] == '\0') {
            last--;
        }
        fprintf(out, "%*s", indent, "");
        for (size_t c = 0; c < last; c++) {
            const char *sgr = row->header ? CS_CLI_BOLD : row->colors[c];
            int painted = color && sgr != NULL && row->cells[c][0] != '\0';
            if (c > 0) {
                fputs("  ", out);
            }
            if (painted) {
                fprintf(out, "\033[%sm", sgr);
            }
            fputs(row->cells[c], out);
            if (painted) {
                fputs("\033[0m", out);
            }
            if (c + 1 < last) {
                size_t pad = widths[c] - cs_cli_text_width(row->cells[c]);
                fprintf(out, "%*s", (int)pad, "");
            }
        }
        fputc('\n', out);
        for (size_t i = 0; i < row->n_notes; i++) {
            fprintf(out, "%*s    %s\n", indent, "", row->notes[i]);
        }
    }
    free(widths);
}

void cs_cli_table_destroy(cs_cli_table_t **t)
{
    if (t == NULL || *t == NULL) {
        return;
    }
    for (size_t r = 0; r < (*t)->n_rows; r++) {
        s_row_free(&(*t)->rows[r], (*t)->ncols);
    }
    free((*t)->rows);
    free(*t);
    *t = NULL;
}
