/* check_icd10cm_order.c: the icd10cm-order loader plugin, dlopened and driven through a small
 * recording host: a hand-written fixture (hierarchy, parents, kinds, titles, display forms,
 * order), broken fixtures (each error at its line), sniff, emit/cancel/progress plumbing, and
 * golden tests on the official order files when ../shared/data is present. */
#include <check.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codeset/cs_plugin.h"
#include "cs_test.h"
#include "load/cs_plugin_host.h"
#include "loader_test.h"

#define S_SEEN_CAP (1u << 18) /* slots of the recorder's set of emitted codes */
#define S_WATCH_MAX 8         /* codes whose records a recorder keeps */

static void *s_dl;
static const cs_plugin_desc_t *s_desc;
static const cs_loader_ops_t *s_ops;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("icd10cm-order", &s_dl);
    s_ops = s_desc->loader;
    ck_assert_ptr_nonnull(s_ops);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
    s_ops = NULL;
}

/* ---- the recording host --------------------------------------------------------------- */

/* A copy of one emitted record. */
typedef struct s_rec {
    char system[16];      /* rec->system */
    uint8_t cls;          /* rec->cls */
    char code[16];        /* rec->code */
    char kind[16];        /* rec->kind */
    int billable;         /* rec->billable */
    char title[320];      /* rec->title */
    char short_title[80]; /* rec->short_title, "" if NULL */
    int has_short;        /* rec->short_title != NULL */
    uint8_t parent_cls;   /* rec->parent_cls */
    char parent[16];      /* rec->parent, "" if NULL */
    int has_parent;       /* rec->parent != NULL */
    uint32_t order;       /* rec->order */
    uint32_t struct_size; /* rec->struct_size */
    size_t n_notes;       /* rec->n_notes */
    size_t n_terms;       /* rec->n_terms */
} s_rec_t;

/* What a load did, as the host saw it. */
typedef struct s_recorder {
    int keep_all;              /* copy every record into recs */
    s_rec_t *recs;             /* copies, n_recs of them (keep_all) */
    size_t n_recs;             /* records copied */
    size_t cap_recs;           /* slots of recs */
    size_t count;              /* emit calls */
    size_t billable;           /* of those, billable */
    size_t categories;         /* of those, 3-character codes */
    char first[16];            /* first code emitted */
    char last[16];             /* last code emitted */
    char (*seen)[12];          /* open-addressing set of codes emitted so far */
    size_t orphans;            /* records whose parent had not been emitted before them */
    char first_orphan[64];     /* the first such, "code -> parent" */
    size_t bad_parentless;     /* non-category records without a parent */
    size_t bad_order;          /* records whose order did not increase */
    size_t bad_records;        /* records without code, title or kind */
    uint32_t prev_order;       /* order of the record before */
    const char *watch[S_WATCH_MAX]; /* codes to keep a copy of */
    s_rec_t watched[S_WATCH_MAX];   /* their copies */
    int watched_hit[S_WATCH_MAX];   /* 1 once seen */
    size_t stop_at;            /* emit call (1-based) that fails, 0 never */
    int stop_rc;               /* what that call returns */
    size_t n_progress;         /* progress calls */
    uint64_t last_progress;    /* bytes at the last one */
    int progress_backwards;    /* a report went down */
    int cancel_after_progress; /* cancelled() answers 1 once progress was reported */
    size_t n_cancel_checks;    /* cancelled calls */
} s_recorder_t;

static uint32_t s_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

/* Add code to the set (add=1) or look it up (add=0); returns 1 if it was there. */
static int s_seen(s_recorder_t *r, const char *code, int add)
{
    if (!r->seen) {
        r->seen = calloc(S_SEEN_CAP, sizeof *r->seen);
        if (!r->seen) {
            abort();
        }
    }
    if (strlen(code) >= sizeof r->seen[0]) {
        return 0;
    }
    uint32_t i = s_hash(code) & (S_SEEN_CAP - 1);
    while (r->seen[i][0] != '\0') {
        if (strcmp(r->seen[i], code) == 0) {
            return 1;
        }
        i = (i + 1) & (S_SEEN_CAP - 1);
    }
    if (add) {
        snprintf(r->seen[i], sizeof r->seen[i], "%s", code);
    }
    return 0;
}

static void s_copy(s_rec_t *out, const cs_record_t *rec)
{
    memset(out, 0, sizeof *out);
    snprintf(out->system, sizeof out->system, "%s", rec->system ? rec->system : "");
    out->cls = rec->cls;
    snprintf(out->code, sizeof out->code, "%s", rec->code);
    snprintf(out->kind, sizeof out->kind, "%s", rec->kind ? rec->kind : "");
    out->billable = rec->billable;
    snprintf(out->title, sizeof out->title, "%s", rec->title ? rec->title : "(null)");
    out->has_short = rec->short_title != NULL;
    snprintf(out->short_title, sizeof out->short_title, "%s",
             rec->short_title ? rec->short_title : "");
    out->parent_cls = rec->parent_cls;
    out->has_parent = rec->parent != NULL;
    snprintf(out->parent, sizeof out->parent, "%s", rec->parent ? rec->parent : "");
    out->order = rec->order;
    out->struct_size = rec->struct_size;
    out->n_notes = rec->n_notes;
    out->n_terms = rec->n_terms;
}

static int s_emit(cs_sink_t *sink, const cs_record_t *rec, cs_error_t *err)
{
    s_recorder_t *r = (s_recorder_t *)sink;
    r->count++;
    if (!rec || !rec->code || !rec->title || !rec->kind) {
        r->bad_records++;
        return CS_OK;
    }
    if (r->stop_at != 0 && r->count == r->stop_at) {
        cs_error_set(err, r->stop_rc, "recorder refuses record %zu", r->count);
        return r->stop_rc;
    }
    if (r->count == 1) {
        snprintf(r->first, sizeof r->first, "%s", rec->code);
    }
    snprintf(r->last, sizeof r->last, "%s", rec->code);
    if (rec->billable) {
        r->billable++;
    }
    size_t len = strlen(rec->code);
    if (len == 3) {
        r->categories++;
    }
    if (rec->parent) {
        if (!s_seen(r, rec->parent, 0)) {
            if (r->orphans++ == 0) {
                snprintf(r->first_orphan, sizeof r->first_orphan, "%s -> %s", rec->code,
                         rec->parent);
            }
        }
    } else if (len != 3) {
        r->bad_parentless++;
    }
    s_seen(r, rec->code, 1);
    if (rec->order <= r->prev_order) {
        r->bad_order++;
    }
    r->prev_order = rec->order;
    for (size_t i = 0; i < S_WATCH_MAX && r->watch[i]; i++) {
        if (strcmp(r->watch[i], rec->code) == 0) {
            s_copy(&r->watched[i], rec);
            r->watched_hit[i] = 1;
        }
    }
    if (r->keep_all) {
        if (r->n_recs == r->cap_recs) {
            r->cap_recs = r->cap_recs ? 2 * r->cap_recs : 64;
            r->recs = realloc(r->recs, r->cap_recs * sizeof *r->recs);
            if (!r->recs) {
                abort();
            }
        }
        s_copy(&r->recs[r->n_recs++], rec);
    }
    return CS_OK;
}

static void s_progress(cs_sink_t *sink, uint64_t bytes_done)
{
    s_recorder_t *r = (s_recorder_t *)sink;
    if (bytes_done < r->last_progress) {
        r->progress_backwards = 1;
    }
    r->last_progress = bytes_done;
    r->n_progress++;
}

static int s_cancelled(cs_sink_t *sink)
{
    s_recorder_t *r = (s_recorder_t *)sink;
    r->n_cancel_checks++;
    return r->cancel_after_progress && r->n_progress > 0;
}

/* The host table has no sink pointer of its own, so s_log cannot count; it only prints. */
static void s_log(int level, const char *plugin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_log(int level, const char *plugin, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%d] %s: ", level, plugin ? plugin : "?");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const cs_host_api_t s_host = {
    .struct_size = sizeof(cs_host_api_t),
    .log = s_log,
    .emit = s_emit,
    .progress = s_progress,
    .cancelled = s_cancelled,
    .alloc = malloc,
    .free = free,
};

static void s_recorder_free(s_recorder_t *r)
{
    free(r->recs);
    free(r->seen);
    memset(r, 0, sizeof *r);
}

/* Load one file through the recorder. */
static int s_load_file(const char *path, s_recorder_t *r, cs_error_t *err)
{
    const char *files[] = {path};
    cs_error_clear(err);
    return s_ops->load(&s_host, (cs_sink_t *)r, files, 1, err);
}

static int s_load_fixture(const char *name, s_recorder_t *r, cs_error_t *err)
{
    char path[PATH_MAX];
    char rel[128];
    snprintf(rel, sizeof rel, "icd10cm-order/%s", name);
    cs_test_fixture_path(rel, path, sizeof path);
    return s_load_file(path, r, err);
}

/* ---- descriptor --------------------------------------------------------------------- */

START_TEST(test_descriptor)
{
    ck_assert_uint_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_uint_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "icd10cm-order");
    ck_assert_ptr_nonnull(s_desc->version);
    ck_assert_ptr_nonnull(s_desc->title);
    ck_assert_ptr_null(s_desc->system);
    ck_assert_ptr_nonnull(s_ops->sniff);
    ck_assert_ptr_nonnull(s_ops->load);
    ck_assert_ptr_nonnull(s_ops->systems);
    ck_assert_str_eq(s_ops->systems[0], "icd10cm");
    ck_assert_ptr_null(s_ops->systems[1]);
}
END_TEST

/* The daemon's plugin host accepts the descriptor, and its sniff picks this loader for one
 * order file alone, also with the tabular loader beside it when that one is built. */
START_TEST(test_plugin_host)
{
    cs_plugin_host_t *host = cs_plugin_host_new();
    ck_assert_ptr_nonnull(host);
    char path[PATH_MAX];
    cs_error_t err;
    cs_error_clear(&err);
    snprintf(path, sizeof path, "%s/plugins/icd10cm-order.so", cs_test_build_dir());
    int rc = cs_plugin_host_load_file(host, path, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    ck_assert_ptr_nonnull(cs_plugin_host_loader(host, "icd10cm-order", 13));
    snprintf(path, sizeof path, "%s/plugins/icd10cm-tabular.so", cs_test_build_dir());
    struct stat st;
    if (stat(path, &st) == 0) {
        rc = cs_plugin_host_load_file(host, path, &err);
        ck_assert_msg(rc == CS_OK, "%s", err.msg);
    }
    char order[PATH_MAX];
    cs_test_fixture_path("icd10cm-order/small.txt", order, sizeof order);
    const char *files[] = {order};
    const cs_plugin_desc_t *picked = cs_plugin_host_sniff(host, files, 1, &err);
    ck_assert_msg(picked != NULL, "sniff: %s", err.msg);
    ck_assert_str_eq(picked->name, "icd10cm-order");
    cs_plugin_host_destroy(&host);
    ck_assert_ptr_null(host);
}
END_TEST

/* ---- the small fixture ---------------------------------------------------------------- */

/* What each line of small.txt must become. */
static const struct {
    const char *code;
    const char *kind;
    int billable;
    const char *parent; /* NULL: none */
    uint32_t order;
} s_small[] = {
    {"A00", "category", 0, NULL, 1},
    {"A00.0", "code", 1, "A00", 2},
    {"A00.1", "code", 1, "A00", 3},
    {"A00.9", "code", 1, "A00", 4},
    {"A01", "category", 0, NULL, 5},
    {"A01.0", "subcategory", 0, "A01", 6},
    {"A01.00", "code", 1, "A01.0", 7},
    {"A01.01", "code", 1, "A01.0", 8},
    {"A09", "category", 1, NULL, 94},
    {"C4A", "category", 0, NULL, 1566},
    {"C4A.0", "code", 1, "C4A", 1567},
    {"M1A", "category", 0, NULL, 16278},
    {"M1A.9", "subcategory", 0, "M1A", 16679},
    {"M1A.9XX0", "code", 1, "M1A.9", 16680},
    {"M1A.9XX1", "code", 1, "M1A.9", 16681},
    {"T07", "category", 0, NULL, 69399},
    {"T07.XXXA", "code", 1, "T07", 69400},
    {"W21", "category", 0, NULL, 89631},
    {"W21.0", "subcategory", 0, "W21", 89632},
    {"W21.00", "subcategory", 0, "W21.0", 89633},
    {"W21.00XA", "code", 1, "W21.00", 89634},
    {"Z99", "category", 0, NULL, 95346},
    {"Z99.8", "subcategory", 0, "Z99", 95353},
    {"Z99.89", "code", 1, "Z99.8", 95355},
    {"U07", "category", 0, NULL, 95356},
    {"U07.1", "code", 1, "U07", 95358},
};

START_TEST(test_small_fixture)
{
    s_recorder_t r = {.keep_all = 1};
    cs_error_t err;
    int rc = s_load_fixture("small.txt", &r, &err);
    ck_assert_msg(rc == CS_OK, "load: %d %s:%u: %s", rc, err.file, err.line, err.msg);
    size_t n = sizeof s_small / sizeof s_small[0];
    ck_assert_uint_eq(r.n_recs, n);
    for (size_t i = 0; i < n; i++) {
        const s_rec_t *got = &r.recs[i];
        ck_assert_str_eq(got->code, s_small[i].code);
        ck_assert_msg(strcmp(got->kind, s_small[i].kind) == 0, "%s: kind %s, want %s",
                      got->code, got->kind, s_small[i].kind);
        ck_assert_int_eq(got->billable, s_small[i].billable);
        ck_assert_uint_eq(got->order, s_small[i].order);
        ck_assert_str_eq(got->system, "icd10cm");
        ck_assert_uint_eq(got->cls, CS_CLASS_CODE);
        ck_assert_uint_eq(got->struct_size, sizeof(cs_record_t));
        ck_assert_uint_eq(got->n_notes, 0);
        ck_assert_uint_eq(got->n_terms, 0);
        ck_assert_int_eq(got->has_short, 1);
        if (s_small[i].parent) {
            ck_assert_msg(got->has_parent && strcmp(got->parent, s_small[i].parent) == 0,
                          "%s: parent '%s', want %s", got->code, got->parent,
                          s_small[i].parent);
            ck_assert_uint_eq(got->parent_cls, CS_CLASS_CODE);
        } else {
            ck_assert_msg(!got->has_parent, "%s has parent %s", got->code, got->parent);
        }
    }
    /* titles: trimmed, short from columns 17-76, long from 78 on */
    ck_assert_str_eq(r.recs[0].title, "Cholera");
    ck_assert_str_eq(r.recs[0].short_title, "Cholera");
    ck_assert_str_eq(r.recs[1].title, "Cholera due to Vibrio cholerae 01, biovar cholerae");
    ck_assert_str_eq(r.recs[20].short_title,
                     "Struck by hit or thrown ball, unspecified type, init encntr");
    ck_assert_str_eq(r.recs[20].title,
                     "Struck by hit or thrown ball, unspecified type, initial encounter");
    ck_assert_str_eq(r.recs[25].title, "COVID-19");
    ck_assert_uint_eq(r.orphans, 0);
    ck_assert_uint_eq(r.billable, 13);
    ck_assert_uint_eq(r.bad_records, 0);
    /* one progress report at least, the last one at the file size */
    char path[PATH_MAX];
    cs_test_fixture_path("icd10cm-order/small.txt", path, sizeof path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_ge(r.n_progress, 1);
    ck_assert_uint_eq(r.last_progress, (uint64_t)st.st_size);
    s_recorder_free(&r);
}
END_TEST

START_TEST(test_bom_lf_no_final_newline)
{
    s_recorder_t r = {.keep_all = 1};
    cs_error_t err;
    int rc = s_load_fixture("bom_lf.txt", &r, &err);
    ck_assert_msg(rc == CS_OK, "load: %d %s:%u: %s", rc, err.file, err.line, err.msg);
    ck_assert_uint_eq(r.n_recs, 3);
    ck_assert_str_eq(r.recs[0].code, "A00");
    ck_assert_str_eq(r.recs[0].title, "Cholera");
    ck_assert_str_eq(r.recs[2].code, "A00.1");
    ck_assert_str_eq(r.recs[2].title, "Cholera due to Vibrio cholerae 01, biovar eltor");
    ck_assert_str_eq(r.recs[2].parent, "A00");
    s_recorder_free(&r);
}
END_TEST

/* ---- broken fixtures ---------------------------------------------------------------- */

static const struct {
    const char *file;
    unsigned line;
    unsigned column; /* 0: not checked */
    const char *want;
} s_broken[] = {
    {"bad_flag.txt", 3, 15, "flag is 'x', expected 0 or 1"},
    {"short_line.txt", 2, 0, "characters long, expected at least 78"},
    {"bad_order_number.txt", 3, 2, "order number '0a003' is not 5 digits"},
    {"order_not_increasing.txt", 4, 1, "order number 00002 is not greater than the one before"},
    {"duplicate.txt", 4, 7, "code 'A00.0' appears twice (first on line 2)"},
    {"bad_code_letter.txt", 2, 7, "code '1A00' does not start with a letter"},
    {"bad_code_char.txt", 2, 8, "code 'A-00' has a character that is not A-Z or 0-9"},
    {"bad_code_short.txt", 3, 7, "code 'A0' is shorter than 3 characters"},
    {"bad_code_lower.txt", 3, 9, "code 'A0a1' has a character that is not A-Z or 0-9"},
    {"no_parent.txt", 4, 7, "code 'B01.1' has no category 'B01'"},
    {"empty_inside.txt", 3, 1, "empty line before the end of the file"},
    {"bad_separator.txt", 2, 14, "expected a space at column 14, found 'X'"},
    {"control_char.txt", 4, 0, "long title has byte 0x01"},
    {"bad_utf8.txt", 2, 0, "long title has byte 0xc3"},
    {"long_line.txt", 2, 0, "line is longer than 4096 characters"},
    {"blank_only.txt", 2, 0, "the file holds no codes"},
    {"short_title_empty.txt", 2, 17, "short title is empty"},
    {"garbage.txt", 1, 0, "order number 'This ' is not 5 digits"},
    {"empty.txt", 0, 0, "the file holds no codes"},
};

START_TEST(test_broken_fixture)
{
    s_recorder_t r = {0};
    cs_error_t err;
    int rc = s_load_fixture(s_broken[_i].file, &r, &err);
    ck_assert_msg(rc == CS_EMALFORMED, "%s: rc %d (%s)", s_broken[_i].file, rc, err.msg);
    ck_assert_int_eq(err.code, CS_EMALFORMED);
    ck_assert_str_eq(err.file, s_broken[_i].file);
    ck_assert_msg(err.line == s_broken[_i].line, "%s: line %u, want %u (%s)", s_broken[_i].file,
                  err.line, s_broken[_i].line, err.msg);
    if (s_broken[_i].column) {
        ck_assert_msg(err.column == s_broken[_i].column, "%s: column %u, want %u (%s)",
                      s_broken[_i].file, err.column, s_broken[_i].column, err.msg);
    }
    ck_assert_msg(strstr(err.msg, s_broken[_i].want) != NULL, "%s: message \"%s\" lacks \"%s\"",
                  s_broken[_i].file, err.msg, s_broken[_i].want);
    for (const char *c = err.msg; *c; c++) {
        ck_assert_msg(*c >= 0x20 && *c < 0x7f, "raw byte 0x%02x in \"%s\"", (unsigned char)*c,
                      err.msg);
    }
    /* everything before the bad line was emitted, nothing after */
    ck_assert_uint_le(r.count, s_broken[_i].line ? s_broken[_i].line - 1 : 0);
    s_recorder_free(&r);
}
END_TEST

START_TEST(test_bad_arguments)
{
    char path[PATH_MAX];
    cs_test_fixture_path("icd10cm-order/small.txt", path, sizeof path);
    const char *two[] = {path, path};
    s_recorder_t r = {0};
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(s_ops->load(&s_host, (cs_sink_t *)&r, two, 2, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "exactly one"));
    cs_error_clear(&err);
    ck_assert_int_eq(s_ops->load(&s_host, (cs_sink_t *)&r, two, 0, &err), CS_EINVAL);
    ck_assert_uint_eq(r.count, 0);

    int rc = s_load_file("/nonexistent/dir/icd10cm_order_1999.txt", &r, &err);
    ck_assert_int_eq(rc, CS_EIO);
    ck_assert_str_eq(err.file, "icd10cm_order_1999.txt");
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot open"));

    /* a directory opens but cannot be read */
    char dir[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    rc = s_load_file(dir, &r, &err);
    ck_assert_int_eq(rc, CS_EIO);
    cs_test_rmtree(dir);
    s_recorder_free(&r);
}
END_TEST

/* Write len bytes of data into dir/name and load it; returns the load's status. */
static int s_load_bytes(const char *dir, const char *name, const char *data, size_t len,
                        s_recorder_t *r, cs_error_t *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    return s_load_file(path, r, err);
}

START_TEST(test_hostile_bytes)
{
    char dir[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    s_recorder_t r = {0};
    cs_error_t err;

    /* 100 KB without a newline: refused without reading it whole */
    size_t big = 100 * 1024;
    char *blob = malloc(big);
    ck_assert_ptr_nonnull(blob);
    memset(blob, 'x', big);
    int rc = s_load_bytes(dir, "noline.txt", blob, big, &r, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_uint_eq(err.line, 1);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than 4096"));
    free(blob);

    /* order number zero */
    char line[256];
    int n = snprintf(line, sizeof line, "00000 %-7s 0 %-60s %s\r\n", "A00", "Cholera", "Cholera");
    rc = s_load_bytes(dir, "zero.txt", line, (size_t)n, &r, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "00000"));

    /* a NUL byte inside the code */
    char nul[] = "00001 A\0000     0 Cholera                                                      "
                 "Cholera\r\n";
    rc = s_load_bytes(dir, "nul.txt", nul, sizeof nul - 1, &r, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, "\\x00") != NULL, "%s", err.msg);

    /* UTF-8 in titles is fine; the 2-byte form of e-acute */
    n = snprintf(line, sizeof line, "00001 %-7s 0 %-60s %s\n", "C84", "Sezary",
                 "S\xc3\xa9zary disease");
    rc = s_load_bytes(dir, "utf8.txt", line, (size_t)n, &r, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    ck_assert_uint_eq(r.count, 1);
    ck_assert_uint_eq(r.bad_records, 0);
    s_recorder_free(&r);
    cs_test_rmtree(dir);
}
END_TEST

/* ---- host plumbing: emit failure, cancel, progress --------------------------------------- */

/* Write a valid order file of 2,600 categories A00..Z99 with ten codes each (28,600 lines). */
static void s_write_big(const char *path)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    unsigned order = 0;
    for (char letter = 'A'; letter <= 'Z'; letter++) {
        for (int cat = 0; cat < 100; cat++) {
            char code[8];
            snprintf(code, sizeof code, "%c%02d", letter, cat);
            fprintf(fp, "%05u %-7s 0 %-60s %s\r\n", ++order, code, "Category", "Category");
            for (int sub = 0; sub < 10; sub++) {
                snprintf(code, sizeof code, "%c%02d%d", letter, cat, sub);
                fprintf(fp, "%05u %-7s 1 %-60s Code %s\r\n", ++order, code, "Code", code);
            }
        }
    }
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_emit_failure_stops)
{
    s_recorder_t r = {.stop_at = 5, .stop_rc = CS_ESPACE};
    cs_error_t err;
    int rc = s_load_fixture("small.txt", &r, &err);
    ck_assert_int_eq(rc, CS_ESPACE);
    ck_assert_uint_eq(r.count, 5);
    ck_assert_str_eq(err.msg, "recorder refuses record 5");
    s_recorder_free(&r);
}
END_TEST

START_TEST(test_cancel_and_progress)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/big.txt", dir);
    s_write_big(path);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);

    s_recorder_t r = {0};
    cs_error_t err;
    int rc = s_load_file(path, &r, &err);
    ck_assert_msg(rc == CS_OK, "load: %s", err.msg);
    ck_assert_uint_eq(r.count, 28600);
    ck_assert_uint_eq(r.billable, 26000);
    ck_assert_uint_eq(r.orphans, 0);
    ck_assert_uint_ge(r.n_progress, 5);
    ck_assert_int_eq(r.progress_backwards, 0);
    ck_assert_uint_eq(r.last_progress, (uint64_t)st.st_size);
    ck_assert_uint_ge(r.n_cancel_checks, 5);
    s_recorder_free(&r);

    s_recorder_t c = {.cancel_after_progress = 1};
    rc = s_load_file(path, &c, &err);
    ck_assert_int_eq(rc, CS_ETERM);
    ck_assert_int_eq(err.code, CS_ETERM);
    ck_assert_uint_lt(c.count, 28600);
    ck_assert_uint_ge(c.count, 1);
    s_recorder_free(&c);
    cs_test_rmtree(dir);
}
END_TEST

/* An older, shorter host table without progress/cancelled is still served. */
START_TEST(test_short_host_table)
{
    cs_host_api_t old = s_host;
    old.struct_size = (uint32_t)offsetof(cs_host_api_t, progress);
    old.progress = NULL;
    old.cancelled = NULL;
    char path[PATH_MAX];
    cs_test_fixture_path("icd10cm-order/small.txt", path, sizeof path);
    const char *files[] = {path};
    s_recorder_t r = {0};
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(s_ops->load(&old, (cs_sink_t *)&r, files, 1, &err), CS_OK);
    ck_assert_uint_eq(r.count, 26);
    ck_assert_uint_eq(r.n_progress, 0);
    s_recorder_free(&r);
}
END_TEST

/* ---- sniff ------------------------------------------------------------------------- */

static int s_sniff_fixtures(const char *a, const char *b)
{
    char pa[PATH_MAX];
    char pb[PATH_MAX];
    char rel[128];
    snprintf(rel, sizeof rel, "icd10cm-order/%s", a);
    cs_test_fixture_path(rel, pa, sizeof pa);
    if (b) {
        snprintf(rel, sizeof rel, "icd10cm-order/%s", b);
        cs_test_fixture_path(rel, pb, sizeof pb);
    }
    const char *files[] = {pa, b ? pb : NULL};
    return s_ops->sniff(files, b ? 2 : 1);
}

START_TEST(test_sniff)
{
    ck_assert_int_eq(s_sniff_fixtures("small.txt", NULL), 1);
    ck_assert_int_eq(s_sniff_fixtures("bom_lf.txt", NULL), 1);
    ck_assert_int_eq(s_sniff_fixtures("not_order.xml", NULL), 0);
    ck_assert_int_eq(s_sniff_fixtures("garbage.txt", NULL), 0);
    ck_assert_int_eq(s_sniff_fixtures("empty.txt", NULL), 0);
    ck_assert_int_eq(s_sniff_fixtures("blank_only.txt", NULL), 0);
    ck_assert_int_eq(s_sniff_fixtures("long_line.txt", NULL), 1); /* first line is fine */
    ck_assert_int_eq(s_sniff_fixtures("small.txt", "small.txt"), 0);
    ck_assert_int_eq(s_sniff_fixtures("small.txt", "not_order.xml"), 0);
    ck_assert_int_eq(s_sniff_fixtures("missing.txt", NULL), 0);
    ck_assert_int_eq(s_ops->sniff(NULL, 0), 0);
    char dir[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    const char *files[] = {dir};
    ck_assert_int_eq(s_ops->sniff(files, 1), 0);
    cs_test_rmtree(dir);
}
END_TEST

START_TEST(test_sniff_official)
{
    char order[PATH_MAX];
    char xml[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order) &&
             cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021");
    const char *one[] = {order};
    ck_assert_int_eq(s_ops->sniff(one, 1), 1);
    const char *x[] = {xml};
    ck_assert_int_eq(s_ops->sniff(x, 1), 0);
    const char *both[] = {xml, order};
    ck_assert_int_eq(s_ops->sniff(both, 2), 0);
}
END_TEST

/* ---- golden tests on the official order files ----------------------------------------- */

static const struct {
    const char *rel;
    size_t records;
    size_t billable;
    const char *last;
    int t07_7th; /* T07.XXXA exists */
    int qa0;     /* FY2026 chapter 6 genetic codes, second character a letter */
} s_golden[] = {
    {"icd10cm/2016/icd10cm_order_2016.txt", 91737, 69823, "Z99.89", 0, 0},
    {"icd10cm/2017/icd10cm_order_2017.txt", 93830, 71486, "Z99.89", 0, 0},
    {"icd10cm/2021/icd10cm_order_2021.txt", 95358, 72621, "U07.1", 1, 0},
    {"icd10cm/order/icd10cm_order_2022.txt", 95528, 72750, "U09.9", 1, 0},
    {"icd10cm/2023/icd10cm_order_2023.txt", 96795, 73674, "U09.9", 1, 0},
    {"icd10cm/order/icd10cm_order_2024.txt", 97296, 74044, "U09.9", 1, 0},
    {"icd10cm/order/icd10cm_order_2025.txt", 97584, 74260, "U09.9", 1, 0},
    {"icd10cm/order/icd10cm_order_2026.txt", 98186, 74719, "U09.9", 1, 1},
};

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_golden)
{
    char path[PATH_MAX];
    CS_SKIP_UNLESS_DATA(cs_test_data_path(s_golden[_i].rel, path, sizeof path),
                        s_golden[_i].rel);
    s_recorder_t r = {.watch = {"A00.0", "T36.0X1A", "W21.00XA", "T07.XXXA", "M1A.9XX1",
                                  "QA0.0101"}};
    cs_error_t err;
    double t0 = s_now();
    int rc = s_load_file(path, &r, &err);
    double secs = s_now() - t0;
    ck_assert_msg(rc == CS_OK, "%s: %d %s:%u:%u: %s", path, rc, err.file, err.line, err.column,
                  err.msg);
    fprintf(stderr, "icd10cm-order: %s: %zu records, %zu billable in %.3f s\n",
            s_golden[_i].rel, r.count, r.billable, secs);
    /* about 0.05 s at -O2; the bound only catches a pathological slowdown (ASan, valgrind) */
    ck_assert_msg(secs < 5.0, "load took %.3f s", secs);
    ck_assert_uint_eq(r.count, s_golden[_i].records);
    ck_assert_uint_eq(r.billable, s_golden[_i].billable);
    ck_assert_str_eq(r.first, "A00");
    ck_assert_str_eq(r.last, s_golden[_i].last);
    ck_assert_msg(r.orphans == 0, "%zu records before their parent, first %s", r.orphans,
                  r.first_orphan);
    ck_assert_uint_eq(r.bad_parentless, 0);
    ck_assert_uint_eq(r.bad_order, 0);
    ck_assert_uint_eq(r.bad_records, 0);
    ck_assert_uint_gt(r.categories, 1800);
    /* known rows, present in every year */
    const s_rec_t *a000 = &r.watched[0];
    ck_assert_int_eq(r.watched_hit[0], 1);
    ck_assert_str_eq(a000->parent, "A00");
    ck_assert_str_eq(a000->kind, "code");
    ck_assert_uint_eq(a000->order, 2);
    ck_assert_str_eq(a000->title, "Cholera due to Vibrio cholerae 01, biovar cholerae");
    ck_assert_int_eq(r.watched_hit[1], 1);
    ck_assert_str_eq(r.watched[1].parent, "T36.0X1");
    ck_assert_int_eq(r.watched[1].billable, 1);
    ck_assert_int_eq(r.watched_hit[2], 1);
    ck_assert_str_eq(r.watched[2].parent, "W21.00");
    /* T07 took 7th characters after FY2017; before, it was a billable category */
    ck_assert_int_eq(r.watched_hit[3], s_golden[_i].t07_7th);
    if (s_golden[_i].t07_7th) {
        ck_assert_str_eq(r.watched[3].parent, "T07");
        ck_assert_str_eq(r.watched[3].title, "Unspecified multiple injuries, initial encounter");
    }
    ck_assert_int_eq(r.watched_hit[4], 1);
    ck_assert_str_eq(r.watched[4].parent, "M1A.9");
    ck_assert_int_eq(r.watched_hit[5], s_golden[_i].qa0);
    if (s_golden[_i].qa0) {
        ck_assert_str_eq(r.watched[5].parent, "QA0.010");
        ck_assert_str_eq(r.watched[5].kind, "code");
        ck_assert_str_eq(r.watched[5].title, "SCN2A-related neurodevelopmental disorder");
    }
    s_recorder_free(&r);
}
END_TEST

Suite *cs_icd10cm_order_suite(void);
Suite *cs_icd10cm_order_suite(void)
{
    Suite *s = suite_create("icd10cm_order");

    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_plugin_host);
    tcase_add_test(tc, test_small_fixture);
    tcase_add_test(tc, test_bom_lf_no_final_newline);
    tcase_add_loop_test(tc, test_broken_fixture, 0, (int)(sizeof s_broken / sizeof s_broken[0]));
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_hostile_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("host plumbing");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_emit_failure_stops);
    tcase_add_test(tc, test_cancel_and_progress);
    tcase_add_test(tc, test_short_host_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("sniff");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_sniff_official);
    suite_add_tcase(s, tc);

    tc = tcase_create("official order files");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_golden, 0, (int)(sizeof s_golden / sizeof s_golden[0]));
    suite_add_tcase(s, tc);
    return s;
}
