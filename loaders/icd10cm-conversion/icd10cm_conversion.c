/* icd10cm_conversion.c: loader plugin "icd10cm-conversion": the CMS/NCHS ICD-10-CM conversion
 * tables (which codes a new code replaced) into the map set "icd10cm-conversion".
 *
 * A table is a CSV file (FY2020) or the first sheet of an .xlsx workbook (FY2023 on). After a
 * preamble comes a header row naming three columns, found by their texts wherever they stand:
 *
 *     Current code assignment,Effective October 1,Previous Code(s) Assignment
 *     A04.71,2017,A04.7
 *     M84.750A,2016,"S72.8X1A, S72.8X2A, S72.8X9A"
 *     Z91.158 ,45017,Z91.15          (xlsx: a date typed as an Excel serial, 2023-04-01)
 *
 * Each row says that the current code took effect on October 1 of the year given (or on the
 * date given) and that its previous codes were those listed. Every (previous, current) pair
 * becomes one cs_map_row_t of the system icd10cm onto itself, in a map named after the date
 * the change took effect: "oct2017" for 2017-10-01 (that is FY2018: the column gives the year
 * of the October, not the fiscal year), "apr2023" for 2023-04-01. A map set holds at most 16
 * maps; should a table span more dates, the oldest are merged into the 16th newest.
 *
 * What the previous-code column holds, as found in the five official tables:
 *  - codes separated by ',', ';', '&' or the word "and" (any case);
 *  - "None" and prose ("Codes in Categories T15-T19", "a code from R11-"): no row, since a
 *    new code without a previous one simply has no row;
 *  - ranges: "H44.20-H44.23" (the ends differ in one digit) becomes H44.20, H44.21, H44.22,
 *    H44.23; a range whose ends differ otherwise ("Y93.01-Y93.9", "I63.-") names no code list
 *    the loader could write out, and gives no row either.
 * Codes keep their text as written, trailing blanks removed (the host normalises them through
 * the icd10cm system plugin); FY2026 writes one code without its dot (W453XXA). A cell of a
 * code column that looks like a code but is not one is a load error, as is a header row
 * without all three columns. Pairs are emitted in table order, each once per map even when
 * several files of one load repeat it.
 *
 * Error positions: file = base name; CSV: line = the line the record starts on, column = the
 * field (1 = the first) or, for a syntax error, the byte column; xlsx: line = the sheet row,
 * column = the spreadsheet column (1 = A).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cs_text.h"
#include "../common/xlsx.h"
#include "codeset/cs_plugin.h"

#define S_NAME "icd10cm-conversion"
#define S_MAP_SET "icd10cm-conversion"
#define S_SYSTEM "icd10cm"

#define S_BUF_SIZE (64 * 1024)      /* CSV read buffer */
#define S_RECORD_MAX (256 * 1024)   /* longest CSV record (all its fields) */
#define S_FIELDS_MAX 64             /* fields in a CSV record */
#define S_SNIFF_BYTES (64 * 1024)   /* bytes of a CSV that sniff() reads at most */
#define S_HEADER_ROWS 50            /* non-blank rows searched for the header */
#define S_LABEL_MAX 80              /* longest cell text taken for a column label */
#define S_CODE_LEN 16               /* room for a code's text (real ones: 8 characters) */
#define S_PAIRS_MAX 1000000u        /* pairs one load keeps (the tables hold ~6,000) */
#define S_MAPS_MAX 16               /* maps the host accepts in one load */
#define S_RANGE_MAX 10              /* codes a range may expand to (one digit position) */
#define S_TICK 256                  /* rows or pairs between progress and cancel checks */
#define S_STOP 1                    /* sniff: the header was found, stop reading */

enum { S_COL_CUR, S_COL_EFF, S_COL_PREV, S_N_COLS };

static const char *const s_col_names[S_N_COLS] = {
    "Current code assignment",
    "Effective",
    "Previous Code(s) Assignment",
};

/* One (previous, current) pair and the date it took effect. */
typedef struct s_pair {
    int32_t date;              /* yyyymmdd */
    char source[S_CODE_LEN];   /* previous code as written */
    char target[S_CODE_LEN];   /* current code as written */
} s_pair_t;

/* A span of text inside a cell. */
typedef struct s_span {
    const char *p; /* first byte */
    size_t n;      /* length */
} s_span_t;

/* The state of one load() or sniff(). */
typedef struct s_load {
    const cs_host_api_t *host; /* borrowed for the call; NULL in sniff */
    cs_sink_t *sink;           /* borrowed for the call */
    cs_error_t *err;           /* caller's error record */
    int sniff;                 /* 1: only look for the header row */
    int has_progress;          /* host table has progress() */
    int has_cancelled;         /* host table has cancelled() */
    int has_log;               /* host table has log() */
    const char *base;          /* base name of the current file */
    int is_csv;                /* the current file is CSV (positions are lines) */
    uint64_t bytes_before;     /* bytes of the files before the current one */
    uint64_t file_bytes;       /* size of the current file */
    int have_header;           /* the current file's header row was seen */
    unsigned header_row;       /* its row (line) */
    size_t col[S_N_COLS];      /* 0-based columns of the three fields */
    size_t rows_before;        /* non-blank rows before the header */
    size_t file_rows;          /* data rows of the current file */
    unsigned last_row;         /* row (line) of the last record read */
    size_t ticks;              /* rows since the last progress report */
    s_pair_t *pairs;           /* pairs kept, in table order */
    size_t n_pairs;            /* used */
    size_t cap_pairs;          /* allocated */
    uint32_t *index;           /* open addressing over pairs: index + 1, 0 empty */
    size_t index_cap;          /* slots, a power of two */
    size_t rows;               /* data rows over all files */
    size_t skipped;            /* previous-code entries that name no code */
    size_t repeats;            /* pairs dropped as already seen */
} s_load_t;

/* ---- small text helpers ----------------------------------------------------------------- */

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int s_is_alnum(char c)
{
    return s_is_digit(c) || s_is_alpha(c);
}

static int s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char s_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char s_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Trim blanks (and a no-break space, which spreadsheets leave behind) around p[0..n). */
static s_span_t s_trim(const char *p, size_t n)
{
    for (;;) {
        if (n > 0 && s_is_space(p[0])) {
            p++;
            n--;
        } else if (n > 1 && (unsigned char)p[0] == 0xc2 && (unsigned char)p[1] == 0xa0) {
            p += 2;
            n -= 2;
        } else if (n > 0 && s_is_space(p[n - 1])) {
            n--;
        } else if (n > 1 && (unsigned char)p[n - 2] == 0xc2 && (unsigned char)p[n - 1] == 0xa0) {
            n -= 2;
        } else {
            return (s_span_t){p, n};
        }
    }
}

/* Copy in[0..n) into out as printable ASCII, escaping other bytes as \xNN; cut long text. */
static const char *s_show(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
        if (i + 1 < n && o + 8 >= cap) {
            memcpy(out + o, "...", 3);
            o += 3;
        }
    }
    out[o] = '\0';
    return out;
}

/* Is t[0..n) an ICD-10-CM code as the tables write it: a letter, two letters or digits, then
 * a dot and one to four more, or up to four more without the dot? Any case: the host
 * canonicalises. */
static int s_is_code(const char *t, size_t n)
{
    if (n < 3 || n >= S_CODE_LEN || !s_is_alpha(t[0]) || !s_is_alnum(t[1]) ||
        !s_is_alnum(t[2])) {
        return 0;
    }
    size_t i = 3;
    if (n > 3 && t[3] == '.') {
        if (n == 4 || n > 8) {
            return 0;
        }
        i = 4;
    } else if (n > 7) {
        return 0;
    }
    for (; i < n; i++) {
        if (!s_is_alnum(t[i])) {
            return 0;
        }
    }
    return 1;
}

static int s_has(const char *t, size_t n, int (*pred)(char))
{
    for (size_t i = 0; i < n; i++) {
        if (pred(t[i])) {
            return 1;
        }
    }
    return 0;
}

/* ---- errors, progress, cancel ------------------------------------------------------------ */

static int s_fail(s_load_t *ld, int code, unsigned line, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int s_fail(s_load_t *ld, int code, unsigned line, unsigned column, const char *fmt, ...)
{
    if (ld->sniff) {
        return code;
    }
    char msg[sizeof ld->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cs_error_at(ld->err, ld->base, line, column);
    return cs_error_set(ld->err, code, "%s", msg);
}

static void s_log(s_load_t *ld, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_log(s_load_t *ld, int level, const char *fmt, ...)
{
    if (ld->sniff || !ld->has_log) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ld->host->log(level, S_NAME, "%s", msg);
}

/* "line" for CSV, "row" for a sheet: what the position of a message counts. */
static const char *s_row_word(const s_load_t *ld)
{
    return ld->is_csv ? "line" : "row";
}

/* Report bytes done within the current file, and say whether the load was cancelled. */
static int s_tick(s_load_t *ld, uint64_t done_in_file, unsigned row)
{
    if (ld->sniff) {
        return CS_OK;
    }
    if (ld->has_progress) {
        uint64_t d = done_in_file > ld->file_bytes ? ld->file_bytes : done_in_file;
        ld->host->progress(ld->sink, ld->bytes_before + d);
    }
    if (ld->has_cancelled && ld->host->cancelled(ld->sink)) {
        return s_fail(ld, CS_ETERM, row, 0, "load cancelled");
    }
    return CS_OK;
}

/* ---- dates ------------------------------------------------------------------------------ */

static int s_days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Civil date of day number z counted from 1970-01-01 (proleptic Gregorian). */
static int32_t s_civil(long z)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    return (int32_t)(y * 10000 + m * 100 + d);
}

/* Parse up to max digits at t[*i]; returns the value, or -1 if there are none. */
static long s_number(const char *t, size_t n, size_t *i, size_t max)
{
    long v = 0;
    size_t start = *i;
    while (*i < n && s_is_digit(t[*i]) && *i - start < max) {
        v = v * 10 + (t[*i] - '0');
        (*i)++;
    }
    return *i == start ? -1 : v;
}

static int s_ymd(long y, long m, long d, int32_t *out)
{
    if (y < 1990 || y > 2099 || m < 1 || m > 12 || d < 1 || d > s_days_in_month((int)y, (int)m)) {
        return -1;
    }
    *out = (int32_t)(y * 10000 + m * 100 + d);
    return 0;
}

/* The effective column: a year (the October 1 of it), an Excel date serial as an .xlsx stores
 * a date cell (45017 = 2023-04-01), or a date written 2023-04-01 or 4/1/2023. */
static int s_parse_date(const char *t, size_t n, int32_t *out)
{
    size_t i = 0;
    long a = s_number(t, n, &i, 9);
    if (a < 0) {
        return -1;
    }
    size_t digits = i;
    if (i < n && t[i] == '.') { /* "2017.0", "45017.0": a number cell */
        i++;
        while (i < n && t[i] == '0') {
            i++;
        }
    }
    if (i == n) {
        if (digits == 4) {
            return s_ymd(a, 10, 1, out);
        }
        /* Serial days from 1899-12-30 (Excel's 1900 system past its 1900-02-29); the range
         * keeps to 1990-2099 like the years. */
        if (a >= 32874 && a <= 73050) {
            *out = s_civil(a - 25569);
            return 0;
        }
        return -1;
    }
    if (digits == 4 && t[i] == '-') {
        i++;
        long m = s_number(t, n, &i, 2);
        if (m < 0 || i >= n || t[i] != '-') {
            return -1;
        }
        i++;
        long d = s_number(t, n, &i, 2);
        return d < 0 || i != n ? -1 : s_ymd(a, m, d, out);
    }
    if (digits <= 2 && t[i] == '/') {
        i++;
        long d = s_number(t, n, &i, 2);
        if (d < 0 || i >= n || t[i] != '/') {
            return -1;
        }
        i++;
        size_t ystart = i;
        long y = s_number(t, n, &i, 4);
        return y < 0 || i != n || i - ystart != 4 ? -1 : s_ymd(y, a, d, out);
    }
    return -1;
}

/* The map a date's changes go into: "oct2017" for 2017-10-01, "2023-04-15" off the 1st. */
static void s_map_name(int32_t date, char *out, size_t cap)
{
    static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                         "jul", "aug", "sep", "oct", "nov", "dec"};
    int y = date / 10000;
    int m = date / 100 % 100;
    int d = date % 100;
    if (d == 1) {
        snprintf(out, cap, "%s%04d", months[m - 1], y);
    } else {
        snprintf(out, cap, "%04d-%02d-%02d", y, m, d);
    }
}

/* ---- the pair set ----------------------------------------------------------------------- */

/* Codes compare as the host will store them: case and dots do not count. */
static int s_code_eq(const char *a, const char *b)
{
    for (;;) {
        while (*a == '.') {
            a++;
        }
        while (*b == '.') {
            b++;
        }
        if (s_upper(*a) != s_upper(*b)) {
            return 0;
        }
        if (!*a) {
            return 1;
        }
        a++;
        b++;
    }
}

static uint64_t s_hash_code(uint64_t h, const char *c)
{
    for (; *c; c++) {
        if (*c != '.') {
            h = (h ^ (unsigned char)s_upper(*c)) * UINT64_C(0x100000001b3);
        }
    }
    return (h ^ 0xff) * UINT64_C(0x100000001b3);
}

static uint64_t s_hash_pair(const s_pair_t *p)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (uint64_t)(uint32_t)p->date;
    h *= UINT64_C(0x100000001b3);
    return s_hash_code(s_hash_code(h, p->source), p->target);
}

/* The index slot of pair p, or the empty slot where it would go. */
static uint32_t *s_index_find(const s_load_t *ld, const s_pair_t *p)
{
    size_t mask = ld->index_cap - 1;
    size_t i = (size_t)s_hash_pair(p) & mask;
    while (ld->index[i] != 0) {
        const s_pair_t *q = &ld->pairs[ld->index[i] - 1];
        if (q->date == p->date && s_code_eq(q->source, p->source) &&
            s_code_eq(q->target, p->target)) {
            break;
        }
        i = (i + 1) & mask;
    }
    return &ld->index[i];
}

static int s_grow(s_load_t *ld)
{
    if (ld->n_pairs == ld->cap_pairs) {
        size_t cap = ld->cap_pairs ? ld->cap_pairs * 2 : 1024;
        s_pair_t *p = realloc(ld->pairs, cap * sizeof *p);
        if (!p) {
            return CS_ENOMEM;
        }
        ld->pairs = p;
        ld->cap_pairs = cap;
    }
    if (2 * (ld->n_pairs + 1) > ld->index_cap) {
        size_t cap = ld->index_cap ? ld->index_cap * 2 : 2048;
        uint32_t *idx = calloc(cap, sizeof *idx);
        if (!idx) {
            return CS_ENOMEM;
        }
        free(ld->index);
        ld->index = idx;
        ld->index_cap = cap;
        for (size_t i = 0; i < ld->n_pairs; i++) {
            *s_index_find(ld, &ld->pairs[i]) = (uint32_t)i + 1;
        }
    }
    return CS_OK;
}

/* Keep the pair (source -> target, effective date), once. */
static int s_add_pair(s_load_t *ld, const char *src, size_t src_n, s_span_t target,
                      int32_t date, unsigned row)
{
    s_pair_t p = {.date = date};
    memcpy(p.source, src, src_n);
    memcpy(p.target, target.p, target.n);
    if (s_code_eq(p.source, p.target)) {
        return CS_OK; /* a code that replaced itself says nothing */
    }
    if (ld->n_pairs >= S_PAIRS_MAX) {
        return s_fail(ld, CS_ETOOMANY, row, 0, "the table gives more than %u code pairs",
                      S_PAIRS_MAX);
    }
    if (s_grow(ld) != CS_OK) {
        return s_fail(ld, CS_ENOMEM, row, 0, "out of memory for the code pairs");
    }
    uint32_t *slot = s_index_find(ld, &p);
    if (*slot != 0) {
        ld->repeats++;
        return CS_OK;
    }
    ld->pairs[ld->n_pairs] = p;
    *slot = (uint32_t)++ld->n_pairs;
    return CS_OK;
}

/* ---- rows ------------------------------------------------------------------------------- */

/* Which column label a header cell is, or -1. Labels are compared by their start, in lower
 * case with white space collapsed: "Effective October 1" (FY2020) and "Effective" (xlsx). */
static int s_label(const char *cell)
{
    char norm[S_LABEL_MAX + 1];
    size_t o = 0;
    int space = 0;
    s_span_t t = s_trim(cell, strlen(cell));
    if (t.n > S_LABEL_MAX) {
        return -1;
    }
    for (size_t i = 0; i < t.n; i++) {
        if (s_is_space(t.p[i])) {
            space = 1;
            continue;
        }
        if (space) {
            norm[o++] = ' ';
            space = 0;
        }
        norm[o++] = s_lower(t.p[i]);
    }
    norm[o] = '\0';
    static const char *const starts[S_N_COLS] = {"current code", "effective", "previous code"};
    for (int c = 0; c < S_N_COLS; c++) {
        if (strncmp(norm, starts[c], strlen(starts[c])) == 0) {
            return c;
        }
    }
    return -1;
}

static s_span_t s_cell(const char *const *cells, size_t n_cells, size_t col)
{
    return col < n_cells ? s_trim(cells[col], strlen(cells[col])) : (s_span_t){"", 0};
}

/* A row before the header: is it the header, a preamble row, or data too early? */
static int s_header(s_load_t *ld, unsigned row, const char *const *cells, size_t n_cells)
{
    size_t col[S_N_COLS];
    int seen[S_N_COLS] = {0, 0, 0};
    for (size_t c = 0; c < n_cells; c++) {
        int l = s_label(cells[c]);
        if (l >= 0 && !seen[l]) {
            seen[l] = 1;
            col[l] = c;
        }
    }
    if (seen[S_COL_CUR] || seen[S_COL_PREV]) {
        char missing[160] = "";
        size_t n_missing = 0;
        for (int l = 0; l < S_N_COLS; l++) {
            if (!seen[l]) {
                size_t len = strlen(missing);
                snprintf(missing + len, sizeof missing - len, "%s'%s'", n_missing ? " and " : "",
                         s_col_names[l]);
                n_missing++;
            }
        }
        if (n_missing) {
            return s_fail(ld, CS_EMALFORMED, row, 0,
                          "the header row has no %s column: a conversion table needs the "
                          "columns '%s', '%s' and '%s'",
                          missing, s_col_names[0], s_col_names[1], s_col_names[2]);
        }
        memcpy(ld->col, col, sizeof col);
        ld->have_header = 1;
        ld->header_row = row;
        return ld->sniff ? S_STOP : CS_OK;
    }
    s_span_t first = n_cells ? s_trim(cells[0], strlen(cells[0])) : (s_span_t){"", 0};
    if (s_is_code(first.p, first.n) && memchr(first.p, '.', first.n)) {
        char shown[40];
        return s_fail(ld, CS_EMALFORMED, row, 1,
                      "%s %u starts with the code '%s' before any header row naming the "
                      "columns '%s', '%s' and '%s'",
                      s_row_word(ld), row, s_show(first.p, first.n, shown, sizeof shown),
                      s_col_names[0], s_col_names[1], s_col_names[2]);
    }
    if (++ld->rows_before >= S_HEADER_ROWS) {
        return s_fail(ld, CS_EMALFORMED, row, 0,
                      "no header row naming the columns '%s', '%s' and '%s' in the first %d "
                      "rows", s_col_names[0], s_col_names[1], s_col_names[2], S_HEADER_ROWS);
    }
    return CS_OK;
}

/* Take one previous-code entry (a code, a range, or prose) of a row. */
static int s_take_prev(s_load_t *ld, s_span_t tok, s_span_t cur, int32_t date, unsigned row,
                       unsigned column)
{
    char shown[80];
    if (tok.n == 0) {
        return CS_OK;
    }
    if (s_has(tok.p, tok.n, s_is_space) || !s_has(tok.p, tok.n, s_is_digit)) {
        ld->skipped++; /* "None", "Codes in Categories T15-T19": no code to map from */
        return CS_OK;
    }
    const char *dash = memchr(tok.p, '-', tok.n);
    if (!dash) {
        if (!s_is_code(tok.p, tok.n)) {
            return s_fail(ld, CS_EMALFORMED, row, column,
                          "previous code '%s' (of %.*s) is not an ICD-10-CM code",
                          s_show(tok.p, tok.n, shown, sizeof shown), (int)cur.n, cur.p);
        }
        return s_add_pair(ld, tok.p, tok.n, cur, date, row);
    }
    /* A range: written out when its ends differ in one digit, else it names no list. */
    s_span_t lo = s_trim(tok.p, (size_t)(dash - tok.p));
    s_span_t hi = s_trim(dash + 1, tok.n - (size_t)(dash - tok.p) - 1);
    size_t diff = 0;
    size_t at = 0;
    if (s_is_code(lo.p, lo.n) && s_is_code(hi.p, hi.n) && lo.n == hi.n) {
        for (size_t i = 0; i < lo.n; i++) {
            if (s_upper(lo.p[i]) != s_upper(hi.p[i])) {
                diff++;
                at = i;
            }
        }
    }
    if (diff != 1 || !s_is_digit(lo.p[at]) || !s_is_digit(hi.p[at]) || lo.p[at] > hi.p[at]) {
        ld->skipped++;
        s_log(ld, CS_LOG_DEBUG, "%s:%u: previous codes '%s' of %.*s are a range with no "
              "list of codes to write out; no row", ld->base, row,
              s_show(tok.p, tok.n, shown, sizeof shown), (int)cur.n, cur.p);
        return CS_OK;
    }
    char code[S_CODE_LEN];
    memcpy(code, lo.p, lo.n);
    for (char d = lo.p[at]; d <= hi.p[at]; d++) {
        code[at] = d;
        int rc = s_add_pair(ld, code, lo.n, cur, date, row);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* Split the previous-code cell at ',', ';', '&' and the word "and", and take each entry. */
static int s_take_prevs(s_load_t *ld, s_span_t prev, s_span_t cur, int32_t date, unsigned row,
                        unsigned column)
{
    size_t start = 0;
    for (size_t i = 0; i <= prev.n; i++) {
        size_t skip = 0;
        if (i == prev.n || prev.p[i] == ',' || prev.p[i] == ';' || prev.p[i] == '&') {
            skip = 1;
        } else if (s_is_space(prev.p[i]) && i + 4 < prev.n && s_lower(prev.p[i + 1]) == 'a' &&
                   s_lower(prev.p[i + 2]) == 'n' && s_lower(prev.p[i + 3]) == 'd' &&
                   s_is_space(prev.p[i + 4])) {
            skip = 5;
        }
        if (skip) {
            int rc = s_take_prev(ld, s_trim(prev.p + start, i - start), cur, date, row, column);
            if (rc != CS_OK) {
                return rc;
            }
            start = i + skip;
            i = start - 1;
        }
    }
    return CS_OK;
}

/* One row of the table (CSV record or sheet row). Returns CS_OK, S_STOP (sniff found the
 * header) or an error. */
static int s_row(s_load_t *ld, unsigned row, const char *const *cells, size_t n_cells)
{
    ld->last_row = row;
    int blank = 1;
    for (size_t c = 0; c < n_cells && blank; c++) {
        blank = s_trim(cells[c], strlen(cells[c])).n == 0;
    }
    if (blank) {
        return CS_OK;
    }
    if (!ld->have_header) {
        return s_header(ld, row, cells, n_cells);
    }
    s_span_t cur = s_cell(cells, n_cells, ld->col[S_COL_CUR]);
    s_span_t eff = s_cell(cells, n_cells, ld->col[S_COL_EFF]);
    s_span_t prev = s_cell(cells, n_cells, ld->col[S_COL_PREV]);
    unsigned cur_col = (unsigned)ld->col[S_COL_CUR] + 1;
    unsigned eff_col = (unsigned)ld->col[S_COL_EFF] + 1;
    char shown[80];
    if (cur.n == 0 && eff.n == 0 && prev.n == 0) {
        return CS_OK; /* a note in some other column */
    }
    if (cur.n == 0) {
        return s_fail(ld, CS_EMALFORMED, row, cur_col,
                      "the '%s' cell is empty, but the row has an effective date or previous "
                      "codes", s_col_names[S_COL_CUR]);
    }
    if (!s_is_code(cur.p, cur.n)) {
        return s_fail(ld, CS_EMALFORMED, row, cur_col,
                      "current code '%s' is not an ICD-10-CM code",
                      s_show(cur.p, cur.n, shown, sizeof shown));
    }
    int32_t date = 0;
    if (s_parse_date(eff.p, eff.n, &date) != 0) {
        return s_fail(ld, CS_EMALFORMED, row, eff_col,
                      "effective date '%s' of %.*s is not a year (2017), a date (2023-04-01, "
                      "4/1/2023) or a spreadsheet date, 1990 to 2099",
                      s_show(eff.p, eff.n, shown, sizeof shown), (int)cur.n, cur.p);
    }
    ld->rows++;
    ld->file_rows++;
    return s_take_prevs(ld, prev, cur, date, row, (unsigned)ld->col[S_COL_PREV] + 1);
}

/* ---- CSV -------------------------------------------------------------------------------- */

enum s_csv_state {
    S_FIELD_START, /* at the start of a field */
    S_UNQUOTED,    /* inside a field that does not start with a quote */
    S_QUOTED,      /* inside a quoted field */
    S_QUOTE_SEEN,  /* a quote inside a quoted field: its end, or the first of "" */
    S_CR,          /* after a CR outside quotes: LF must follow */
};

/* The CSV reader's state. */
typedef struct s_csv {
    enum s_csv_state state; /* where in a record the reader is */
    char *rec;              /* the record's fields, each NUL-terminated */
    size_t len;             /* bytes used in rec */
    size_t starts[S_FIELDS_MAX]; /* offset of each field in rec */
    size_t n_fields;        /* fields finished plus the open one */
    unsigned line;          /* current line, 1-based */
    unsigned column;        /* current byte column, 1-based */
    unsigned rec_line;      /* line the record started on */
    unsigned quote_line;    /* where the open quoted field started */
    unsigned quote_column;
} s_csv_t;

static int s_csv_put(s_load_t *ld, s_csv_t *cv, char c)
{
    if (cv->len + 1 >= S_RECORD_MAX) {
        return s_fail(ld, CS_EMALFORMED, cv->rec_line, 0,
                      "record is longer than %d bytes (an unclosed quote?)", S_RECORD_MAX);
    }
    cv->rec[cv->len++] = c;
    return CS_OK;
}

static int s_csv_end_field(s_load_t *ld, s_csv_t *cv)
{
    const char *f = cv->rec + cv->starts[cv->n_fields - 1];
    size_t n = cv->len - cv->starts[cv->n_fields - 1];
    size_t bad = cs_text_utf8_end(f, n, 1);
    if (bad != n) {
        return s_fail(ld, CS_EMALFORMED, cv->rec_line, (unsigned)cv->n_fields,
                      "field %zu has byte 0x%02x, which is not UTF-8 text", cv->n_fields,
                      (unsigned char)f[bad]);
    }
    int rc = s_csv_put(ld, cv, '\0');
    if (rc != CS_OK) {
        return rc;
    }
    cv->state = S_FIELD_START;
    return CS_OK;
}

static int s_csv_new_field(s_load_t *ld, s_csv_t *cv)
{
    if (cv->n_fields == S_FIELDS_MAX) {
        return s_fail(ld, CS_EMALFORMED, cv->rec_line, cv->column,
                      "record has more than %d fields", S_FIELDS_MAX);
    }
    if (cv->n_fields == 0) {
        cv->rec_line = cv->line;
    }
    cv->starts[cv->n_fields++] = cv->len;
    return CS_OK;
}

static int s_csv_end_record(s_load_t *ld, s_csv_t *cv)
{
    int rc = s_csv_end_field(ld, cv);
    if (rc != CS_OK) {
        return rc;
    }
    const char *cells[S_FIELDS_MAX];
    for (size_t i = 0; i < cv->n_fields; i++) {
        cells[i] = cv->rec + cv->starts[i];
    }
    rc = s_row(ld, cv->rec_line, cells, cv->n_fields);
    cv->n_fields = 0;
    cv->len = 0;
    return rc;
}

/* Feed one byte. */
static int s_csv_byte(s_load_t *ld, s_csv_t *cv, char c)
{
    unsigned char u = (unsigned char)c;
    if (u == 0 || u == 0x7f || (u < 0x20 && c != '\t' && c != '\r' && c != '\n')) {
        return s_fail(ld, CS_EMALFORMED, cv->line, cv->column,
                      "byte 0x%02x is a control character: this is not a CSV text file", u);
    }
    int rc = CS_OK;
    if (cv->state == S_FIELD_START && cv->n_fields == 0) { /* a record starts */
        rc = s_csv_new_field(ld, cv);
        if (rc != CS_OK) {
            return rc;
        }
    }
    switch (cv->state) {
    case S_FIELD_START:
        if (c == '"') {
            cv->quote_line = cv->line;
            cv->quote_column = cv->column;
            cv->state = S_QUOTED;
        } else if (c == ',') {
            rc = s_csv_end_field(ld, cv);
            if (rc == CS_OK) {
                rc = s_csv_new_field(ld, cv);
            }
        } else if (c == '\r') {
            cv->state = S_CR;
        } else if (c == '\n') {
            rc = s_csv_end_record(ld, cv);
        } else {
            cv->state = S_UNQUOTED;
            rc = s_csv_put(ld, cv, c);
        }
        break;
    case S_UNQUOTED:
        if (c == ',') {
            rc = s_csv_end_field(ld, cv);
            if (rc == CS_OK) {
                rc = s_csv_new_field(ld, cv);
            }
        } else if (c == '\r') {
            cv->state = S_CR;
        } else if (c == '\n') {
            rc = s_csv_end_record(ld, cv);
        } else if (c == '"') {
            rc = s_fail(ld, CS_EMALFORMED, cv->line, cv->column,
                        "a quote inside field %zu, which does not start with one (a field "
                        "that holds quotes must be quoted, its quotes doubled)", cv->n_fields);
        } else {
            rc = s_csv_put(ld, cv, c);
        }
        break;
    case S_QUOTED:
        if (c == '"') {
            cv->state = S_QUOTE_SEEN;
        } else {
            rc = s_csv_put(ld, cv, c);
        }
        break;
    case S_QUOTE_SEEN:
        if (c == '"') {
            cv->state = S_QUOTED;
            rc = s_csv_put(ld, cv, c);
        } else if (c == ',') {
            rc = s_csv_end_field(ld, cv);
            if (rc == CS_OK) {
                rc = s_csv_new_field(ld, cv);
            }
        } else if (c == '\r') {
            cv->state = S_CR;
        } else if (c == '\n') {
            rc = s_csv_end_record(ld, cv);
        } else {
            char shown[16];
            rc = s_fail(ld, CS_EMALFORMED, cv->line, cv->column,
                        "'%s' after the closing quote of field %zu (opened at line %u, "
                        "column %u): a quote inside a quoted field must be doubled",
                        s_show(&c, 1, shown, sizeof shown), cv->n_fields, cv->quote_line,
                        cv->quote_column);
        }
        break;
    case S_CR:
        if (c == '\n') {
            rc = s_csv_end_record(ld, cv);
        } else {
            rc = s_fail(ld, CS_EMALFORMED, cv->line, cv->column - 1,
                        "a carriage return not followed by a line feed");
        }
        break;
    }
    if (c == '\n') {
        cv->line++;
        cv->column = 1;
    } else {
        cv->column++;
    }
    return rc;
}

/* The end of the input: close the last record. */
static int s_csv_finish(s_load_t *ld, s_csv_t *cv)
{
    if (cv->state == S_QUOTED) {
        return s_fail(ld, CS_EMALFORMED, cv->quote_line, cv->quote_column,
                      "the quoted field that starts here is not closed before the end of the "
                      "file");
    }
    if (cv->n_fields == 0) {
        return CS_OK;
    }
    return s_csv_end_record(ld, cv);
}

/* Read a CSV table; in sniff mode at most S_SNIFF_BYTES. */
static int s_read_csv(s_load_t *ld, FILE *fp)
{
    int rc = CS_OK;
    s_csv_t cv = {.state = S_FIELD_START, .line = 1, .column = 1};
    char *buf = malloc(S_BUF_SIZE);
    cv.rec = malloc(S_RECORD_MAX);
    if (!buf || !cv.rec) {
        rc = s_fail(ld, CS_ENOMEM, 0, 0, "out of memory reading %s", ld->base);
        goto done;
    }
    uint64_t done = 0;
    int first = 1;
    size_t got;
    while ((got = fread(buf, 1, S_BUF_SIZE, fp)) > 0) {
        size_t i = 0;
        if (first && got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
            i = 3; /* a byte order mark */
        }
        first = 0;
        for (; i < got; i++) {
            rc = s_csv_byte(ld, &cv, buf[i]);
            if (rc != CS_OK) {
                goto done;
            }
        }
        done += got;
        if (ld->sniff && done >= S_SNIFF_BYTES) {
            goto done;
        }
        rc = s_tick(ld, done, cv.line);
        if (rc != CS_OK) {
            goto done;
        }
    }
    if (ferror(fp)) {
        rc = s_fail(ld, CS_EIO, cv.line, 0, "read failed: %s", strerror(errno));
        goto done;
    }
    if (done == 0) {
        rc = s_fail(ld, CS_EMALFORMED, 0, 0, "the file is empty");
        goto done;
    }
    rc = s_csv_finish(ld, &cv);
done:
    free(cv.rec);
    free(buf);
    return rc;
}

/* ---- xlsx ------------------------------------------------------------------------------- */

/* The xlsx row callback's argument. */
typedef struct s_sheet {
    s_load_t *ld;  /* the load */
    cs_xlsx_t *x;  /* the workbook, for progress */
} s_sheet_t;

static int s_on_sheet_row(void *arg, uint32_t row, const char *const *cells, size_t n_cells,
                          cs_error_t *err)
{
    (void)err; /* s_fail fills ld->err, which is the same record */
    s_sheet_t *sh = arg;
    s_load_t *ld = sh->ld;
    int rc = s_row(ld, row, cells, n_cells);
    if (rc != CS_OK || ld->sniff) {
        return rc;
    }
    if (++ld->ticks >= S_TICK) {
        ld->ticks = 0;
        uint64_t total = cs_xlsx_bytes_total(sh->x);
        uint64_t done = cs_xlsx_bytes_done(sh->x);
        uint64_t in_file = total ? (uint64_t)((double)ld->file_bytes * (double)done /
                                              (double)total)
                                 : 0;
        return s_tick(ld, in_file, row);
    }
    return CS_OK;
}

static int s_read_xlsx(s_load_t *ld, const char *path)
{
    cs_error_t xerr;
    cs_error_clear(&xerr);
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, ld->sniff ? &xerr : ld->err);
    if (!x) {
        return ld->sniff ? xerr.code : ld->err->code;
    }
    s_sheet_t sh = {.ld = ld, .x = x};
    int rc = cs_xlsx_rows(x, 0, s_on_sheet_row, &sh, ld->sniff ? &xerr : ld->err);
    cs_xlsx_destroy(&x);
    return rc;
}

/* ---- load ------------------------------------------------------------------------------- */

static const char *s_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Read one table file into the pair set. */
static int s_read_file(s_load_t *ld, const char *path)
{
    ld->base = s_base_name(path);
    ld->have_header = 0;
    ld->rows_before = 0;
    ld->file_rows = 0;
    ld->last_row = 0;
    ld->ticks = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        return s_fail(ld, CS_EIO, 0, 0, "cannot read %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return s_fail(ld, CS_EIO, 0, 0, "%s is not a regular file", path);
    }
    ld->file_bytes = (uint64_t)st.st_size;
    int rc;
    if (cs_xlsx_is_zip(path)) {
        ld->is_csv = 0;
        rc = s_read_xlsx(ld, path);
    } else {
        ld->is_csv = 1;
        FILE *fp = fopen(path, "rb");
        if (!fp) {
            return s_fail(ld, CS_EIO, 0, 0, "cannot open %s: %s", path, strerror(errno));
        }
        rc = s_read_csv(ld, fp);
        fclose(fp);
    }
    if (ld->sniff) {
        return rc == S_STOP ? S_STOP : CS_EMALFORMED;
    }
    if (rc != CS_OK) {
        return rc;
    }
    if (!ld->have_header) {
        return s_fail(ld, CS_EMALFORMED, ld->last_row, 0,
                      "no header row naming the columns '%s', '%s' and '%s' (%zu rows read)",
                      s_col_names[0], s_col_names[1], s_col_names[2], ld->rows_before);
    }
    if (ld->file_rows == 0) {
        return s_fail(ld, CS_EMALFORMED, ld->header_row, 0,
                      "the header row is not followed by any row of codes");
    }
    ld->bytes_before += ld->file_bytes;
    return s_tick(ld, 0, ld->last_row);
}

static int s_date_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a;
    int32_t y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The dates the maps are named after: each pair's own, except that past S_MAPS_MAX dates
 * the oldest are moved to the S_MAPS_MAX-th newest. Fills *floor with that date (0: none). */
static int s_plan_maps(s_load_t *ld, int32_t *floor)
{
    *floor = 0;
    int32_t *dates = malloc((ld->n_pairs ? ld->n_pairs : 1) * sizeof *dates);
    if (!dates) {
        return s_fail(ld, CS_ENOMEM, 0, 0, "out of memory sorting the dates");
    }
    for (size_t i = 0; i < ld->n_pairs; i++) {
        dates[i] = ld->pairs[i].date;
    }
    qsort(dates, ld->n_pairs, sizeof *dates, s_date_cmp);
    size_t n = 0;
    for (size_t i = 0; i < ld->n_pairs; i++) {
        if (n == 0 || dates[n - 1] != dates[i]) {
            dates[n++] = dates[i];
        }
    }
    if (n > S_MAPS_MAX) {
        *floor = dates[n - S_MAPS_MAX];
        char from[16], to[16];
        s_map_name(dates[0], from, sizeof from);
        s_map_name(*floor, to, sizeof to);
        s_log(ld, CS_LOG_WARNING, "the tables span %zu dates, more than the %d maps a load "
              "may hold: the changes from %s up to %s all go into the map %s", n, S_MAPS_MAX,
              from, to, to);
    }
    free(dates);
    return CS_OK;
}

static int s_emit_all(s_load_t *ld)
{
    int32_t floor;
    int rc = s_plan_maps(ld, &floor);
    if (rc != CS_OK) {
        return rc;
    }
    for (size_t i = 0; i < ld->n_pairs; i++) {
        const s_pair_t *p = &ld->pairs[i];
        char map[16];
        s_map_name(p->date < floor ? floor : p->date, map, sizeof map);
        cs_map_row_t row = {
            .struct_size = sizeof(cs_map_row_t),
            .map = map,
            .from_system = S_SYSTEM,
            .to_system = S_SYSTEM,
            .source = p->source,
            .target = p->target,
            .flags = 0,
            .scenario = 0,
            .choice = 0,
            .relationship = NULL,
        };
        rc = ld->host->emit_map(ld->sink, &row, ld->err);
        if (rc != CS_OK) {
            return rc;
        }
        if ((i + 1) % S_TICK == 0 && ld->has_cancelled && ld->host->cancelled(ld->sink)) {
            cs_error_at(ld->err, "", 0, 0);
            return cs_error_set(ld->err, CS_ETERM, "load cancelled");
        }
    }
    return CS_OK;
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit_map)) {
        return cs_error_set(err, CS_EINVAL, S_NAME ": no host table, no emit_map (a host "
                            "older than ABI 1.1) or no files");
    }
    if (n_files == 0) {
        return cs_error_set(err, CS_EINVAL, S_NAME " takes one or more conversion tables, "
                            "got no file");
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return cs_error_set(err, CS_EINVAL, S_NAME ": file %zu is NULL", i + 1);
        }
    }
    s_load_t ld = {
        .host = host,
        .sink = sink,
        .err = err,
        .has_progress = CS_HOST_HAS(host, progress),
        .has_cancelled = CS_HOST_HAS(host, cancelled),
        .has_log = CS_HOST_HAS(host, log),
    };
    int rc = CS_OK;
    for (size_t i = 0; i < n_files && rc == CS_OK; i++) {
        size_t pairs_before = ld.n_pairs;
        size_t rows_before = ld.rows;
        size_t skipped_before = ld.skipped;
        rc = s_read_file(&ld, files[i]);
        if (rc == CS_OK) {
            s_log(&ld, CS_LOG_INFO, "%s: %zu rows, %zu new code pairs, %zu previous-code "
                  "entries that name no code (None, prose, open ranges)", ld.base,
                  ld.rows - rows_before, ld.n_pairs - pairs_before,
                  ld.skipped - skipped_before);
        }
    }
    if (rc == CS_OK) {
        rc = s_emit_all(&ld);
    }
    free(ld.pairs);
    free(ld.index);
    return rc;
}

/* Every file is a CSV whose header row (within the first rows) names the three columns, or an
 * .xlsx whose first sheet has such a row. */
static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files == 0) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return 0;
        }
        cs_error_t err;
        cs_error_clear(&err);
        s_load_t ld = {.err = &err, .sniff = 1};
        if (s_read_file(&ld, files[i]) != S_STOP) {
            return 0;
        }
    }
    return 1;
}

static const char *const s_systems[] = {S_MAP_SET, NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10cm_conversion = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = S_NAME,
    .version = "1.0.0",
    .title = "ICD-10-CM conversion tables (new codes and the codes they replaced), CSV or xlsx",
    .system = NULL,
    .loader = &s_ops,
};
