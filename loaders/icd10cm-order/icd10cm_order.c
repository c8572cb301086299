/* icd10cm_order.c: loader plugin "icd10cm-order": an ICD-10-CM release from the CMS/CDC order
 * file alone, for years where no tabular XML is at hand.
 *
 * The order file is fixed width, one code a line, CRLF (LF accepted):
 *
 *     00001 A00     0 Cholera                                                      Cholera
 *     ^order ^code  ^flag (0 header, 1 billable) ^short title (60)                 ^long title
 *
 * Columns (1-based): order 1-5, code 7-13 (no dot, space padded), flag 15, short title 17-76,
 * long title 78 to the end of the line. A code is a letter and two to six letters or digits
 * (the second character is a digit in every year up to FY2025; FY2026 added QA0). Every line
 * becomes one CS_CLASS_CODE record, in file order; its parent is the longest proper prefix of
 * the code seen earlier in the file (a code with a placeholder X, S7200XA, may skip a level).
 * Codes are not sorted (U07.1 comes after Z99.89), so a hash set of the codes seen so far
 * answers the prefix and duplicate questions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_order.h"
#include "../common/cs_text.h"
#include "codeset/cs_plugin.h"

#define S_SNIFF_MAX 4096       /* bytes sniff() peeks at */
#define S_TICK 4096            /* lines between progress reports and cancel checks */
#define S_SET_MIN 2048         /* codes the set holds before it first grows */

/* The state of one load(). */
typedef struct s_load {
    cs_text_t t;   /* host, error record and the file's lines */
    cs_hset_t set; /* codes seen: packed code -> line first seen on */
} s_load_t;

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* cs_order_check_fn of the order file alone: a letter, then letters or digits (no rule on the
 * second character: FY2026 brought QA0, letter, letter, digit); flag 0 or 1. */
static unsigned s_order_code(const char *code, size_t n, const char *shown, char flag, char *msg,
                             size_t cap)
{
    if (n < 3) {
        snprintf(msg, cap, "code '%s' is shorter than 3 characters", shown);
        return CS_ORDER_COL_CODE;
    }
    if (!s_is_upper(code[0])) {
        snprintf(msg, cap, "code '%s' does not start with a letter A-Z", shown);
        return CS_ORDER_COL_CODE;
    }
    for (size_t i = 1; i < n; i++) {
        if (!s_is_upper(code[i]) && !s_is_digit(code[i])) {
            snprintf(msg, cap, "code '%s' has a character that is not A-Z or 0-9", shown);
            return CS_ORDER_COL_CODE + (unsigned)i;
        }
    }
    if (flag != '0' && flag != '1') {
        char shown_flag[8];
        snprintf(msg, cap, "flag is '%s', expected 0 or 1",
                 cs_order_show(&flag, 1, shown_flag, sizeof shown_flag));
        return CS_ORDER_COL_FLAG;
    }
    return 0;
}

static int s_error_at(s_load_t *ld, int code, unsigned line, unsigned column, const char *msg)
{
    return cs_text_fail(&ld->t, code, line, column, "%s", msg);
}

/* Validate one parsed line against what came before, and emit it. */
static int s_take(s_load_t *ld, const cs_order_entry_t *ln, unsigned lineno, uint32_t *prev_order)
{
    char msg[200];
    char disp[CS_ORDER_CODE_MAX + 2];
    cs_order_display(ln->code, ln->len, 1, disp);
    if (*prev_order != 0 && ln->order <= *prev_order) {
        snprintf(msg, sizeof msg, "order number %05u is not greater than the one before, %05u",
                 ln->order, *prev_order);
        return s_error_at(ld, CS_EMALFORMED, lineno, 1, msg);
    }
    if (ln->order == 0) {
        return s_error_at(ld, CS_EMALFORMED, lineno, 1,
                          "order number is 00000, expected 1 or more");
    }
    uint32_t *first = cs_hset_get(&ld->set, ln->key);
    if (first) {
        snprintf(msg, sizeof msg, "code '%s' appears twice (first on line %u)", disp, *first);
        return s_error_at(ld, CS_EMALFORMED, lineno, CS_ORDER_COL_CODE, msg);
    }
    char parent[CS_ORDER_CODE_MAX + 2];
    const char *parent_p = NULL;
    if (ln->len > 3) {
        size_t k = ln->len - 1;
        while (k >= 3 && !cs_hset_get(&ld->set, cs_hset_pack(ln->code, k))) {
            k--;
        }
        if (k < 3) {
            char cat[4];
            cs_order_display(ln->code, 3, 1, cat);
            snprintf(msg, sizeof msg, "code '%s' has no category '%s' (nor any other prefix) "
                     "earlier in the file", disp, cat);
            return s_error_at(ld, CS_EMALFORMED, lineno, CS_ORDER_COL_CODE, msg);
        }
        parent_p = cs_order_display(ln->code, k, 1, parent);
    }
    if (cs_hset_add(&ld->set, ln->key, lineno, NULL) < 0) {
        return s_error_at(ld, CS_ENOMEM, lineno, 0, "out of memory for the code set");
    }
    *prev_order = ln->order;

    const char *kind = "code";
    if (ln->len == 3) {
        kind = "category";
    } else if (!ln->billable) {
        kind = "subcategory";
    }
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = "icd10cm",
        .cls = CS_CLASS_CODE,
        .code = disp,
        .kind = kind,
        .billable = ln->billable,
        .title = ln->title,
        .short_title = ln->short_title,
        .parent_cls = CS_CLASS_CODE,
        .parent = parent_p,
        .order = ln->order,
        .notes = NULL,
        .n_notes = 0,
        .terms = NULL,
        .n_terms = 0,
    };
    return ld->t.host->emit(ld->t.sink, &rec, ld->t.err);
}

/* Read the file line by line and take every line. */
static int s_read(s_load_t *ld)
{
    uint32_t prev_order = 0;
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
        cs_order_entry_t ln;
        char msg[200];
        unsigned column = cs_order_parse(line, len, s_order_code, &ln, msg, sizeof msg);
        if (column != 0) {
            return s_error_at(ld, CS_EMALFORMED, lineno, column + shift, msg);
        }
        rc = s_take(ld, &ln, lineno, &prev_order);
        if (rc != CS_OK) {
            return rc;
        }
        if (lineno % S_TICK == 0) {
            rc = cs_text_poll(&ld->t, lineno, ld->t.done);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    if (ld->set.len == 0) {
        return s_error_at(ld, CS_EMALFORMED, ld->t.lineno, 0, "the file holds no codes");
    }
    if (ld->t.has_progress) {
        ld->t.host->progress(ld->t.sink, ld->t.done);
    }
    return CS_OK;
}

#define S_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(cs_host_api_t, field) + sizeof((host)->field) &&       \
     (host)->field != NULL)

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !S_HAS(host, emit)) {
        return cs_error_set(err, CS_EINVAL, "icd10cm-order: no host table or no files");
    }
    if (n_files != 1 || !files[0]) {
        return cs_error_set(err, CS_EINVAL,
                            "icd10cm-order takes exactly one order file, got %zu files", n_files);
    }
    s_load_t ld = {0};
    cs_text_begin(&ld.t, host, sink, err);
    ld.t.base = cs_text_base_name(files[0]);
    int rc = CS_OK;
    char *buf = NULL;
    FILE *fp = fopen(files[0], "rb");
    if (!fp) {
        cs_error_at(err, ld.t.base, 0, 0);
        rc = cs_error_set(err, CS_EIO, "cannot open %s: %s", files[0], strerror(errno));
        goto fail;
    }
    buf = malloc(CS_TEXT_BUF_SIZE + 1);
    if (!buf || cs_hset_reserve(&ld.set, S_SET_MIN) != CS_OK) {
        cs_error_at(err, ld.t.base, 0, 0);
        rc = cs_error_set(err, CS_ENOMEM, "out of memory loading %s", ld.t.base);
        goto fail;
    }
    cs_text_start(&ld.t, fp, buf, CS_ORDER_LINE_MAX);
    rc = s_read(&ld);
fail:
    cs_hset_free(&ld.set);
    free(buf);
    if (fp) {
        fclose(fp);
    }
    return rc;
}

/* One file whose first line has the order-file layout. */
static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files != 1 || !files[0]) {
        return 0;
    }
    FILE *fp = fopen(files[0], "rb");
    if (!fp) {
        return 0;
    }
    char buf[S_SNIFF_MAX + 1];
    size_t got = fread(buf, 1, S_SNIFF_MAX, fp);
    fclose(fp);
    return cs_order_sniff(buf, got, S_SNIFF_MAX, s_order_code);
}

static const char *const s_systems[] = {"icd10cm", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10cm_order = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "icd10cm-order",
    .version = "1.0.0",
    .title = "ICD-10-CM from the CMS/CDC order file alone (no tabular XML)",
    .system = NULL,
    .loader = &s_ops,
};
