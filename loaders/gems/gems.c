/* gems.c: loader plugin "gems": the CMS General Equivalence Mappings (GEMs), any subset of the
 * four text files of a year, into the map set "gems".
 *
 * Every line is source, target and five flag digits, separated by blanks, CRLF (LF accepted):
 *
 *     25000 E119    10000      ICD-9-CM 250.00 -> ICD-10-CM E11.9, approximate
 *     R29700  NoDx  11000      no map (the target column says NoDx, NoPCS or NoI9)
 *     0NDB0ZZ 8628  10001      a choice digit without the combination flag (it occurs)
 *
 * Flags: approximate, no map, combination (0 or 1 each), scenario, choice list (0-9 each).
 * Each line becomes one cs_map_row_t, in file order, with CS_MAP_GEM_FLAGS set; scenario and
 * choice are passed on as the file writes them, even without the combination flag, because the
 * 2018 procedure GEMs hold three such lines (10001, 10013) and the five flags are kept as is.
 * A no-map word in the target column means no map (target NULL, CS_MAP_NO_MAP) even when the
 * no-map digit is 0: 29 lines of the 2018 ICD-10-PCS to ICD-9 GEM write "NoI9  10000". Codes
 * are passed on as written, lower case included (2018_I10gem.txt has "T8853XD v5889"): the
 * host canonicalises them through the system plugins.
 *
 * Which of the four maps a file is comes from its content, not its name: the code shapes of
 * the first S_HEAD_LINES lines leave one direction (ICD-10-PCS: 7 characters with I and O
 * excluded; ICD-10-CM: a letter and 2-6 letters or digits; ICD-9-CM: 3-5 digits, V and 2-4
 * digits, E and 3-4 digits; ICD-9 procedures: 3-4 digits). The CMS file name only breaks a tie
 * between directions the head cannot tell apart (a file of ICD-9 E codes and ICD-10-CM E
 * codes only). Every line is then checked against that direction.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_text.h"
#include "codeset/cs_plugin.h"

#define S_LINE_MAX 256         /* longest line accepted, CR excluded (real lines: ~20) */
#define S_HEAD_MAX (64 * 1024) /* bytes of a file read to tell its direction */
#define S_HEAD_LINES 2000      /* lines of a file read to tell its direction */
#define S_SNIFF_MAX 4096       /* bytes sniff() peeks at */
#define S_SNIFF_LINES 8        /* complete lines sniff() checks */
#define S_TICK 4096            /* lines between progress reports and cancel checks */
#define S_CODE_LEN_MAX 7       /* longest code of any of the four systems */
#define S_FLAGS_LEN 5          /* approximate, no map, combination, scenario, choice */

/* The four maps, in the order of s_dirs[]. */
enum s_dir {
    S_I9CM_I10CM = 0,
    S_I10CM_I9CM = 1,
    S_I9PCS_I10PCS = 2,
    S_I10PCS_I9PCS = 3,
    S_N_DIRS = 4,
};

/* Shapes a code may have, as bits. */
enum s_shape {
    S_SH_I9CM = 1u << 0,   /* ICD-9-CM diagnosis */
    S_SH_I10CM = 1u << 1,  /* ICD-10-CM */
    S_SH_I9PCS = 1u << 2,  /* ICD-9-CM procedure (volume 3) */
    S_SH_I10PCS = 1u << 3, /* ICD-10-PCS */
};

/* One map: its ids and the shapes of its two sides. */
typedef struct s_dir_info {
    const char *map;   /* map id */
    const char *from;  /* source system id */
    const char *to;    /* target system id */
    unsigned from_sh;  /* enum s_shape of sources */
    unsigned to_sh;    /* enum s_shape of targets */
    const char *title; /* for messages */
} s_dir_info_t;

static const s_dir_info_t s_dirs[S_N_DIRS] = {
    {"icd9cm-icd10cm", "icd9cm", "icd10cm", S_SH_I9CM, S_SH_I10CM, "ICD-9-CM to ICD-10-CM"},
    {"icd10cm-icd9cm", "icd10cm", "icd9cm", S_SH_I10CM, S_SH_I9CM, "ICD-10-CM to ICD-9-CM"},
    {"icd9pcs-icd10pcs", "icd9pcs", "icd10pcs", S_SH_I9PCS, S_SH_I10PCS,
     "ICD-9-CM procedures to ICD-10-PCS"},
    {"icd10pcs-icd9pcs", "icd10pcs", "icd9pcs", S_SH_I10PCS, S_SH_I9PCS,
     "ICD-10-PCS to ICD-9-CM procedures"},
};

/* One parsed line; the fields point into the line buffer, NUL-terminated in place. */
typedef struct s_gem {
    const char *source;         /* source code */
    const char *target;         /* target code or no-map word */
    char flags[S_FLAGS_LEN];    /* the five flag digits */
    unsigned col_source;        /* 1-based columns of the three fields */
    unsigned col_target;
    unsigned col_flags;
    size_t source_len;          /* lengths of source and target */
    size_t target_len;
} s_gem_t;

/* A parse failure: 1-based column and a sentence. */
typedef struct s_why {
    unsigned column; /* 1-based column of the offending field, 0 if none */
    char msg[200];   /* what is wrong */
} s_why_t;

/* The state of one load(). */
typedef struct s_load {
    cs_text_t t;               /* host, error record and the current file's lines; done
                                * counts bytes over all files */
    uint64_t rows;             /* rows emitted over all files */
} s_load_t;

static int s_fail(s_why_t *why, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(s_why_t *why, unsigned column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    why->column = column;
    vsnprintf(why->msg, sizeof why->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copy in[0..n) into out as printable ASCII, escaping other bytes as \xNN; cut at 24 bytes. */
static const char *s_show(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < 24 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
    }
    if (n > 24 && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int s_all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit(p[i])) {
            return 0;
        }
    }
    return 1;
}

/* The shapes code[0..n) fits (enum s_shape bits), letters in either case; 0 for none. */
static unsigned s_shapes(const char *code, size_t n)
{
    char up[S_CODE_LEN_MAX];
    if (n == 0 || n > S_CODE_LEN_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        up[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    unsigned sh = 0;
    if (n >= 3 && n <= 5 && s_all_digits(up, n)) {
        sh |= S_SH_I9CM;
    }
    if ((up[0] == 'V' && n >= 3 && n <= 5 && s_all_digits(up + 1, n - 1)) ||
        (up[0] == 'E' && n >= 4 && n <= 5 && s_all_digits(up + 1, n - 1))) {
        sh |= S_SH_I9CM;
    }
    if ((n == 3 || n == 4) && s_all_digits(up, n)) {
        sh |= S_SH_I9PCS;
    }
    int alnum = 1;
    int pcs_letters = 1;
    for (size_t i = 0; i < n; i++) {
        if (!s_is_upper(up[i]) && !s_is_digit(up[i])) {
            alnum = 0;
        }
        if (up[i] == 'I' || up[i] == 'O') {
            pcs_letters = 0;
        }
    }
    if (alnum && n >= 3 && s_is_upper(up[0])) {
        sh |= S_SH_I10CM;
    }
    if (alnum && pcs_letters && n == 7) {
        sh |= S_SH_I10PCS;
    }
    return sh;
}

static const char *s_shape_text(unsigned shape)
{
    switch (shape) {
    case S_SH_I9CM:
        return "an ICD-9-CM diagnosis code (3-5 digits, V and 2-4 digits, or E and 3-4 digits)";
    case S_SH_I10CM:
        return "an ICD-10-CM code (a letter and 2-6 letters or digits)";
    case S_SH_I9PCS:
        return "an ICD-9-CM procedure code (3-4 digits)";
    default:
        return "an ICD-10-PCS code (7 letters or digits, no I or O)";
    }
}

/* The word the files write in place of a target when there is none: NoDx, NoPCS, NoI9 ("No"
 * and a capital or digit; no code of the four systems is written in mixed case). */
static int s_is_no_map_word(const char *p, size_t n)
{
    if (n < 3 || p[0] != 'N' || p[1] != 'o' || !(s_is_upper(p[2]) || s_is_digit(p[2]))) {
        return 0;
    }
    for (size_t i = 3; i < n; i++) {
        if (!s_is_upper(p[i]) && !s_is_digit(p[i]) && !(p[i] >= 'a' && p[i] <= 'z')) {
            return 0;
        }
    }
    return 1;
}

/* Split line[0..len) (line[len] writable) into three fields and check their form (not yet
 * against a direction). Returns 0, or -1 with why filled. */
static int s_parse_line(char *line, size_t len, s_gem_t *g, s_why_t *why)
{
    char shown[120];
    if (len > S_LINE_MAX) {
        return s_fail(why, S_LINE_MAX + 1, "line is longer than %d characters", S_LINE_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            return s_fail(why, (unsigned)i + 1,
                          "byte 0x%02x is not text: a GEM line is printable ASCII", c);
        }
    }
    size_t start[4] = {0};
    size_t end[4] = {0};
    size_t n = 0;
    size_t i = 0;
    for (;;) {
        while (i < len && cs_text_is_blank(line[i])) {
            i++;
        }
        if (i == len) {
            break;
        }
        size_t b = i;
        while (i < len && !cs_text_is_blank(line[i])) {
            i++;
        }
        if (n < 4) {
            start[n] = b;
            end[n] = i;
        }
        n++;
    }
    if (n != 3) {
        return s_fail(why, n > 3 ? (unsigned)start[3] + 1 : (unsigned)len + 1,
                      "line has %zu field%s, expected 3: source code, target code and 5 flag "
                      "digits",
                      n, n == 1 ? "" : "s");
    }
    size_t flen = end[2] - start[2];
    const char *f = line + start[2];
    if (flen != S_FLAGS_LEN || !s_all_digits(f, flen)) {
        return s_fail(why, (unsigned)start[2] + 1,
                      "flags '%s' are not 5 digits (approximate, no map, combination, scenario, "
                      "choice list)",
                      s_show(f, flen, shown, sizeof shown));
    }
    static const char *const names[3] = {"approximate", "no map", "combination"};
    for (size_t k = 0; k < 3; k++) {
        if (f[k] != '0' && f[k] != '1') {
            return s_fail(why, (unsigned)(start[2] + k) + 1,
                          "the %s flag (digit %zu of '%s') is %c, expected 0 or 1", names[k],
                          k + 1, s_show(f, flen, shown, sizeof shown), f[k]);
        }
    }
    static const char *const sides[2] = {"source", "target"};
    for (size_t k = 0; k < 2; k++) {
        size_t cl = end[k] - start[k];
        if (cl > S_CODE_LEN_MAX && !(k == 1 && s_is_no_map_word(line + start[k], cl))) {
            return s_fail(why, (unsigned)start[k] + 1,
                          "%s '%s' is longer than %d characters", sides[k],
                          s_show(line + start[k], cl, shown, sizeof shown), S_CODE_LEN_MAX);
        }
    }
    memcpy(g->flags, f, S_FLAGS_LEN);
    g->col_source = (unsigned)start[0] + 1;
    g->col_target = (unsigned)start[1] + 1;
    g->col_flags = (unsigned)start[2] + 1;
    g->source_len = end[0] - start[0];
    g->target_len = end[1] - start[1];
    line[end[0]] = '\0';
    line[end[1]] = '\0';
    g->source = line + start[0];
    g->target = line + start[1];
    return 0;
}

/* The directions a parsed line fits, as bits (1 << enum s_dir). */
static unsigned s_fits(const s_gem_t *g)
{
    unsigned src = s_shapes(g->source, g->source_len);
    int no_map = s_is_no_map_word(g->target, g->target_len);
    unsigned dst = no_map ? ~0u : s_shapes(g->target, g->target_len);
    unsigned mask = 0;
    for (unsigned d = 0; d < S_N_DIRS; d++) {
        if ((src & s_dirs[d].from_sh) && (dst & s_dirs[d].to_sh)) {
            mask |= 1u << d;
        }
    }
    return mask;
}

/* Check a parsed line against direction d and its flags against each other. */
static int s_check(const s_gem_t *g, unsigned d, s_why_t *why)
{
    char shown[120];
    if (d >= S_N_DIRS) {
        char shown2[120];
        return s_fail(why, g->col_source,
                      "source '%s' and target '%s' fit none of the four GEMs (ICD-9-CM and "
                      "ICD-10-CM, ICD-9-CM procedures and ICD-10-PCS, either way)",
                      s_show(g->source, g->source_len, shown, sizeof shown),
                      s_show(g->target, g->target_len, shown2, sizeof shown2));
    }
    const s_dir_info_t *di = &s_dirs[d];
    int no_map_flag = g->flags[1] == '1';
    int combination = g->flags[2] == '1';
    int no_map_word = s_is_no_map_word(g->target, g->target_len);
    if (!(s_shapes(g->source, g->source_len) & di->from_sh)) {
        return s_fail(why, g->col_source, "source '%s' is not %s, as the %s GEM needs",
                      s_show(g->source, g->source_len, shown, sizeof shown),
                      s_shape_text(di->from_sh), di->title);
    }
    if (no_map_flag && !no_map_word) {
        return s_fail(why, g->col_target,
                      "the no-map flag is set but the target is the code '%s', not a no-map "
                      "word such as NoDx",
                      s_show(g->target, g->target_len, shown, sizeof shown));
    }
    /* The reverse, a no-map word without the flag, is taken as no map: 29 lines of the 2018
     * ICD-10-PCS to ICD-9 GEM write NoI9 with flags 10000. */
    if (!no_map_word && !(s_shapes(g->target, g->target_len) & di->to_sh)) {
        return s_fail(why, g->col_target, "target '%s' is not %s, as the %s GEM needs",
                      s_show(g->target, g->target_len, shown, sizeof shown),
                      s_shape_text(di->to_sh), di->title);
    }
    if ((no_map_flag || no_map_word) && combination) {
        return s_fail(why, g->col_flags + 2,
                      "the combination flag is set on a row without a target (no map): a "
                      "combination needs targets");
    }
    if (combination && (g->flags[3] == '0' || g->flags[4] == '0')) {
        return s_fail(why, g->col_flags + (g->flags[3] == '0' ? 3 : 4),
                      "the combination flag is set but the %s digit is 0 (a combination row "
                      "belongs to scenario 1-9 and choice list 1-9)",
                      g->flags[3] == '0' ? "scenario" : "choice list");
    }
    return 0;
}

/* What the head of a file says. */
typedef struct s_head {
    unsigned mask;   /* directions every good line of the head fits (before a misfit) */
    unsigned lines;  /* lines that parsed as GEM lines */
    int bad;         /* a line of the head does not parse */
} s_head_t;

/* Read up to max bytes (and max_lines complete lines) of path and see what they fit. Only
 * complete lines count, unless the file ends within max. Returns 0, or -1 if unreadable. */
static int s_read_head(const char *path, size_t max, unsigned max_lines, s_head_t *h)
{
    h->mask = (1u << S_N_DIRS) - 1;
    h->lines = 0;
    h->bad = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return -1;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(fp);
        return -1;
    }
    size_t got = fread(buf, 1, max, fp);
    int at_eof = got < max;
    fclose(fp);
    size_t pos = 0;
    unsigned lineno = 0;
    while (pos < got && lineno < max_lines) {
        char *line = buf + pos;
        char *nl = memchr(line, '\n', got - pos);
        size_t len;
        if (nl) {
            len = (size_t)(nl - line);
            pos += len + 1;
        } else if (at_eof) {
            len = got - pos;
            pos = got;
        } else {
            break;
        }
        lineno++;
        unsigned shift;
        line = cs_text_trim(line, &len, lineno, &shift);
        if (cs_text_is_empty(line, len)) {
            continue;
        }
        s_gem_t g;
        s_why_t why;
        if (s_parse_line(line, len, &g, &why) != 0) {
            h->bad = 1;
            break;
        }
        unsigned m = h->mask & s_fits(&g);
        if (m == 0) {
            break; /* the main pass reports this line against the head's direction */
        }
        h->mask = m;
        h->lines++;
    }
    free(buf);
    return 0;
}

/* The direction a CMS file name says, or -1. */
static int s_dir_by_name(const char *base)
{
    char low[128];
    size_t n = 0;
    for (; base[n] && n + 1 < sizeof low; n++) {
        char c = base[n];
        low[n] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    low[n] = '\0';
    if (strstr(low, "pcs")) {
        if (strstr(low, "i10i9") || strstr(low, "pcsi9")) {
            return S_I10PCS_I9PCS;
        }
        if (strstr(low, "i9i10") || strstr(low, "i9pcs")) {
            return S_I9PCS_I10PCS;
        }
        return -1;
    }
    if (strstr(low, "i10gem") || strstr(low, "i10i9")) {
        return S_I10CM_I9CM;
    }
    if (strstr(low, "i9gem") || strstr(low, "i9i10")) {
        return S_I9CM_I10CM;
    }
    return -1;
}

/* One direction out of a head's mask; the name breaks ties. -1 if none or still a tie. */
static int s_pick_dir(unsigned mask, const char *base)
{
    if (mask != 0 && (mask & (mask - 1)) == 0) {
        for (int d = 0; d < S_N_DIRS; d++) {
            if (mask == 1u << d) {
                return d;
            }
        }
    }
    int by_name = s_dir_by_name(base);
    if (by_name >= 0 && (mask & (1u << by_name))) {
        return by_name;
    }
    return -1;
}

/* Emit one checked line of direction d. */
static int s_emit(s_load_t *ld, const s_gem_t *g, unsigned d)
{
    uint32_t flags = CS_MAP_GEM_FLAGS;
    if (g->flags[0] == '1') {
        flags |= CS_MAP_APPROXIMATE;
    }
    if (g->flags[1] == '1' || s_is_no_map_word(g->target, g->target_len)) {
        flags |= CS_MAP_NO_MAP;
    }
    if (g->flags[2] == '1') {
        flags |= CS_MAP_COMBINATION;
    }
    cs_map_row_t row = {
        .struct_size = sizeof(cs_map_row_t),
        .map = s_dirs[d].map,
        .from_system = s_dirs[d].from,
        .to_system = s_dirs[d].to,
        .source = g->source,
        .target = (flags & CS_MAP_NO_MAP) ? NULL : g->target,
        .flags = flags,
        .scenario = (uint8_t)(g->flags[3] - '0'),
        .choice = (uint8_t)(g->flags[4] - '0'),
        .relationship = NULL,
    };
    ld->rows++;
    return ld->t.host->emit_map(ld->t.sink, &row, ld->t.err);
}

/* Read the current file (ld->t), of direction d, line by line. */
static int s_read(s_load_t *ld, unsigned d)
{
    uint64_t rows = 0;
    for (;;) {
        char *line;
        size_t len;
        unsigned shift;
        int rc = cs_text_next_filled(&ld->t, &line, &len, &shift);
        if (rc != CS_OK) {
            return rc;
        }
        if (!line) {
            break;
        }
        unsigned lineno = ld->t.lineno;
        s_gem_t g;
        s_why_t why;
        if (s_parse_line(line, len, &g, &why) != 0 || s_check(&g, d, &why) != 0) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, why.column ? why.column + shift : 0,
                                "%s", why.msg);
        }
        rc = s_emit(ld, &g, d);
        if (rc != CS_OK) {
            return rc;
        }
        rows++;
        if (rows % S_TICK == 0) {
            rc = cs_text_poll(&ld->t, lineno, ld->t.done);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    if (rows == 0) {
        unsigned lineno = ld->t.lineno;
        return cs_text_fail(&ld->t, CS_EMALFORMED, lineno ? lineno : 1, 0,
                            "the file holds no GEM lines (source, target, flags)");
    }
    if (ld->t.has_progress) {
        ld->t.host->progress(ld->t.sink, ld->t.done);
    }
    return CS_OK;
}

/* Tell the direction of every file; fails naming the file when it cannot, or when two files
 * are the same map. dirs[] gets one enum s_dir per file. */
static int s_directions(s_load_t *ld, const char *const *files, size_t n_files, unsigned *dirs)
{
    unsigned taken = 0;
    const char *taken_by[S_N_DIRS] = {NULL};
    for (size_t i = 0; i < n_files; i++) {
        ld->t.base = cs_text_base_name(files[i]);
        s_head_t h;
        if (s_read_head(files[i], S_HEAD_MAX, S_HEAD_LINES, &h) != 0) {
            return cs_text_fail(&ld->t, CS_EIO, 0, 0, "cannot open %s: %s", files[i],
                                strerror(errno));
        }
        if (h.lines == 0) {
            /* Empty, junk or a bad first line: the main pass says which, at its line. */
            dirs[i] = S_N_DIRS;
            continue;
        }
        int d = s_pick_dir(h.mask, ld->t.base);
        if (d < 0) {
            char list[200] = "";
            size_t o = 0;
            for (unsigned k = 0; k < S_N_DIRS; k++) {
                if (h.mask & (1u << k)) {
                    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? " or " : "",
                                          s_dirs[k].title);
                }
            }
            return cs_text_fail(&ld->t, CS_EMALFORMED, 1, 0,
                                "cannot tell which GEM this is: its first %u lines fit %s; name "
                                "it as CMS does (2018_I9gem.txt, 2018_gem_pcs_I10I9.txt ...)",
                                h.lines, list);
        }
        if (taken & (1u << d)) {
            return cs_text_fail(&ld->t, CS_EINVAL, 0, 0, "%s is the %s GEM, and so is %s",
                                ld->t.base, s_dirs[d].title, cs_text_base_name(taken_by[d]));
        }
        taken |= 1u << d;
        taken_by[d] = files[i];
        dirs[i] = (unsigned)d;
    }
    return CS_OK;
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit_map)) {
        return cs_error_set(err, CS_EINVAL,
                            "gems: no host table, no files, or a host without emit_map");
    }
    if (n_files < 1 || n_files > S_N_DIRS) {
        return cs_error_set(err, CS_EINVAL, "gems takes 1 to %d GEM files, got %zu", S_N_DIRS,
                            n_files);
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return cs_error_set(err, CS_EINVAL, "gems: file %zu is NULL", i + 1);
        }
    }
    s_load_t ld = {0};
    cs_text_begin(&ld.t, host, sink, err);
    unsigned dirs[S_N_DIRS];
    int rc = s_directions(&ld, files, n_files, dirs);
    if (rc != CS_OK) {
        return rc;
    }
    char *buf = malloc(CS_TEXT_BUF_SIZE + 1);
    if (!buf) {
        return cs_error_set(err, CS_ENOMEM, "gems: out of memory");
    }
    for (size_t i = 0; i < n_files && rc == CS_OK; i++) {
        ld.t.base = cs_text_base_name(files[i]);
        FILE *fp = fopen(files[i], "rb");
        if (!fp) {
            rc = cs_text_fail(&ld.t, CS_EIO, 0, 0, "cannot open %s: %s", files[i], strerror(errno));
            break;
        }
        /* A file whose head told nothing (S_N_DIRS) is empty or its first line is bad: the
         * main pass reports which, at its line. */
        cs_text_start(&ld.t, fp, buf, S_LINE_MAX);
        rc = s_read(&ld, dirs[i]);
        fclose(fp);
    }
    free(buf);
    return rc;
}

/* Every file starts with GEM lines: three fields, the last 5 flag digits. */
static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files < 1 || n_files > S_N_DIRS) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        s_head_t h;
        if (!files[i] || s_read_head(files[i], S_SNIFF_MAX, S_SNIFF_LINES, &h) != 0 || h.bad ||
            h.lines == 0) {
            return 0;
        }
    }
    return 1;
}

static const char *const s_systems[] = {"gems", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_gems = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "gems",
    .version = "1.0.0",
    .title = "CMS General Equivalence Mappings: ICD-9-CM/ICD-10-CM and ICD-9/ICD-10-PCS",
    .system = NULL,
    .loader = &s_ops,
};
