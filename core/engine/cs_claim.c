/* cs_claim.c: one claim's run: its lines validated, duplicates, and the other families of
 * edits called in turn (cs_claim_notes.c, cs_claim_sets.c). */
#include "engine/cs_claim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_claim_int.h"
#include "engine/cs_resolve.h"
#include "engine/cs_validate.h"
#include "util/cs_date.h"

void cs_claim_result_init(cs_claim_result_t *res)
{
    memset(res, 0, sizeof *res);
}

void cs_claim_result_fini(cs_claim_result_t *res)
{
    free(res->lines);
    free(res->details);
    free(res->edits);
    free(res->skipped);
    cs_claim_run_t *run = res->run_;
    if (run) {
        free(run->notes);
        cs_claim_cache_fini(&run->cache);
        cs_codeidx_holder_fini(&run->own_index);
        free(run);
    }
    memset(res, 0, sizeof *res);
}

#define S_KEEP_EDITS 256 /* edits a kept result holds room for (340 KB) */

void cs_claim_result_trim(cs_claim_result_t *res)
{
    if (res->cap_edits > S_KEEP_EDITS) {
        free(res->edits);
        res->edits = NULL;
        res->n_edits = res->cap_edits = 0;
        res->n_lines = 0; /* the result is no longer whole */
    }
}

size_t cs_claim_result_bytes(const cs_claim_result_t *res)
{
    size_t n = (size_t)res->cap_lines_ * sizeof *res->lines +
               (size_t)res->cap_edits * sizeof *res->edits +
               (size_t)res->cap_skipped * sizeof *res->skipped;
    const cs_claim_run_t *run = res->run_;
    if (run) {
        n += sizeof *run + (size_t)run->cap_notes * sizeof *run->notes +
             cs_claim_cache_bytes(&run->cache);
    }
    return n;
}

const char *cs_claim_reason_name(cs_claim_reason_t r)
{
    static const char *const names[] = {"valid",        "malformed",     "unknown",
                                        "not_billable", "not_effective", "unchecked"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

const char *cs_claim_severity_name(cs_claim_severity_t s)
{
    return s == CS_SEV_ERROR ? "error" : "warning";
}

/* ---- helpers shared with the other files (cs_claim_int.h) ---- */

void cs_claim_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (cap == 0) {
        return;
    }
    if (!s) {
        n = 0;
    }
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--; /* never cut a UTF-8 sequence */
        }
    }
    if (n) {
        memcpy(dst, s, n);
    }
    dst[n] = '\0';
}

void cs_claim_date(int d, char out[11])
{
    cs_date_format(d, out);
}

int cs_claim_has_edit(const cs_claim_run_t *run, const char *edit, uint32_t line)
{
    for (uint32_t i = 0; i < run->res->n_edits; i++) {
        const cs_claim_edit_t *e = &run->res->edits[i];
        if (strcmp(e->edit, edit) == 0 && e->n_lines > 0 && e->lines[0] == line) {
            return 1;
        }
    }
    return 0;
}

int cs_claim_grow(void **arr, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap) {
        return 1;
    }
    uint32_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)nc * size);
    if (!p) {
        return 0;
    }
    *arr = p;
    *cap = nc;
    return 1;
}

cs_claim_edit_t *cs_claim_add_edit(cs_claim_run_t *run, const char *edit,
                                   cs_claim_severity_t sev, const uint32_t *lines, uint32_t n,
                                   const char *fmt, ...)
{
    cs_claim_result_t *res = run->res;
    if (!cs_claim_grow((void **)&res->edits, &res->cap_edits, res->n_edits, sizeof *res->edits)) {
        run->failed = 1;
        return NULL;
    }
    cs_claim_edit_t *e = &res->edits[res->n_edits++];
    memset(e, 0, sizeof *e);
    e->edit = edit;
    e->severity = sev;
    for (uint32_t i = 0; i < n && i < CS_CLAIM_EDIT_LINES; i++) {
        e->lines[e->n_lines++] = lines[i];
        const cs_claim_line_t *l = &res->lines[lines[i]];
        const char *c = l->code[0] ? l->code : l->input;
        cs_claim_copy(e->codes[i], sizeof e->codes[i], c, strlen(c));
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    if (sev == CS_SEV_ERROR) {
        res->clean = 0;
    }
    return e;
}

void cs_claim_add_skip(cs_claim_run_t *run, const char *edit, const char *fmt, ...)
{
    cs_claim_result_t *res = run->res;
    for (uint32_t i = 0; i < res->n_skipped; i++) {
        if (strcmp(res->skipped[i].edit, edit) == 0) {
            return; /* one why per edit is enough */
        }
    }
    if (!cs_claim_grow((void **)&res->skipped, &res->cap_skipped, res->n_skipped,
                sizeof *res->skipped)) {
        run->failed = 1;
        return;
    }
    cs_claim_skip_t *s = &res->skipped[res->n_skipped++];
    s->edit = edit;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
}

void cs_claim_add_used(cs_claim_run_t *run, const char *set, const char *label, size_t llen)
{
    cs_claim_result_t *res = run->res;
    for (uint32_t i = 0; i < res->n_used; i++) {
        if (strcmp(res->used[i].set, set) == 0) {
            return;
        }
    }
    if (res->n_used < CS_CLAIM_MAX_USED) {
        cs_claim_used_t *u = &res->used[res->n_used++];
        cs_claim_strcpy(u->set, sizeof u->set, set);
        cs_claim_copy(u->label, sizeof u->label, label, llen);
    }
}

void cs_claim_source(cs_claim_edit_t *e, const char *set, const char *release, const char *what,
                     const char *name, const char *on, const char *text, size_t tlen,
                     int derived)
{
    if (!e) {
        return;
    }
    cs_claim_source_t *s = &e->source;
    cs_claim_strcpy(s->set, sizeof s->set, set);
    cs_claim_strcpy(s->release, sizeof s->release, release);
    cs_claim_strcpy(s->what, sizeof s->what, what);
    cs_claim_strcpy(s->name, sizeof s->name, name ? name : "");
    cs_claim_strcpy(s->on, sizeof s->on, on ? on : "");
    cs_claim_copy(s->text, sizeof s->text, text, text ? tlen : 0);
    s->derived = derived;
}

/* ---- lines ---- */

static const char *s_line_name(const cs_claim_t *c, uint32_t i, char *buf, size_t cap)
{
    if (i < c->n_dx) {
        snprintf(buf, cap, "diagnosis %u", i + 1);
    } else {
        snprintf(buf, cap, "procedure %u", i - c->n_dx + 1);
    }
    return buf;
}

/* The release of system in effect on the date, for line i. 0 when there is one; else the
 * resolver's error (for a diagnosis, the whole claim's). */
static cs_proto_err_t s_line_release(cs_claim_run_t *run, uint32_t i, cs_str_t system,
                                     cs_resolution_t *rs)
{
    const cs_claim_env_t *env = run->env;
    cs_resolve(env->reader, run->memo, env->plugins, system, (cs_str_t){0}, run->claim->date,
               rs);
    if (rs->err == CS_PERR_NONE) {
        cs_claim_add_used(run, rs->sys->name, rs->rel.label.ptr, rs->rel.label.len);
        run->info[i].sys = rs->sys;
        run->info[i].rel = rs->rel.id;
    }
    return rs->err;
}

/* Copy up to cap of spans into rows of width w; the count. */
static uint32_t s_copy_spans(char *rows, size_t w, uint32_t cap, const cs_span_t *src,
                             uint32_t n)
{
    uint32_t k = 0;
    for (; k < n && k < cap; k++) {
        cs_claim_copy(rows + k * w, w, src[k].ptr, src[k].len);
    }
    return k;
}

/* A not_billable or not_effective line's lists, into a detail of the result. */
static void s_line_detail(cs_claim_run_t *run, cs_claim_line_t *l, const cs_validation_t *v)
{
    cs_claim_result_t *res = run->res;
    if (v->n_hint + v->n_valid_in + v->n_replaced_by == 0) {
        return; /* the lists are written empty */
    }
    if (!cs_claim_grow((void **)&res->details, &res->cap_details, res->n_details,
                       sizeof *res->details)) {
        run->failed = 1;
        return;
    }
    cs_claim_detail_t *d = &res->details[res->n_details++];
    l->detail = res->n_details;
    d->n_hint = s_copy_spans(&d->hint[0][0], sizeof d->hint[0], CS_HINT_MAX, v->hint, v->n_hint);
    d->n_replaced_by = s_copy_spans(&d->replaced_by[0][0], sizeof d->replaced_by[0],
                                    CS_REPLACED_MAX, v->replaced_by, v->n_replaced_by);
    d->n_valid_in = 0;
    for (uint32_t k = 0; k < v->n_valid_in && k < CS_VALID_IN_MAX; k++) {
        const char *lb = v->valid_in[k];
        cs_claim_copy(d->valid_in[d->n_valid_in++], CS_CLAIM_LABEL, lb, strlen(lb));
    }
}

/* Validate line i (system and code as sent) into res->lines[i], as the validate op answers
 * the code on the date of service (engine/cs_validate.h). */
static void s_check_code(cs_claim_run_t *run, uint32_t i, const cs_resolution_t *rs,
                         cs_str_t code)
{
    static const cs_claim_reason_t reasons[] = {
        [CS_REASON_VALID] = CS_CLAIM_VALID,
        [CS_REASON_MALFORMED] = CS_CLAIM_MALFORMED,
        [CS_REASON_UNKNOWN] = CS_CLAIM_UNKNOWN,
        [CS_REASON_NOT_BILLABLE] = CS_CLAIM_NOT_BILLABLE,
        [CS_REASON_NOT_EFFECTIVE] = CS_CLAIM_NOT_EFFECTIVE,
    };
    cs_claim_line_t *l = &run->res->lines[i];
    cs_claim_lineinfo_t *inf = &run->info[i];
    cs_validator_t vx;
    cs_validator_init(&vx, run->env->reader, run->index, rs->sys, &rs->rel, 1, run->claim->date);
    cs_validate_buf_t buf;
    cs_validation_t v;
    cs_validate_code(&vx, code, NULL, &buf, &v);
    l->reason = reasons[v.reason];
    if (v.reason != CS_REASON_MALFORMED) {
        inf->code = buf.code;
        inf->found = buf.in_release;
        cs_claim_copy(l->code, sizeof l->code, v.code.ptr, v.code.len);
    }
    if (v.reason == CS_REASON_VALID) {
        cs_claim_copy(l->title, sizeof l->title, v.title.ptr, v.title.len);
    } else {
        cs_claim_copy(l->kind, sizeof l->kind, v.kind.ptr, v.kind.len);
        cs_claim_copy(l->message, sizeof l->message, v.message, strlen(v.message));
        s_line_detail(run, l, &v);
    }
    cs_validator_fini(&vx);
}

/* Line i: its release, then its code. A procedure system without a release on the date
 * leaves the line unchecked (skipped); ICD-10-CM without one fails the claim. */
static int s_check_line(cs_claim_run_t *run, uint32_t i, cs_str_t system, cs_str_t code)
{
    cs_claim_result_t *res = run->res;
    cs_claim_line_t *l = &res->lines[i];
    memset(l, 0, sizeof *l);
    memset(&run->info[i], 0, sizeof run->info[i]);
    cs_claim_copy(l->input, sizeof l->input, code.ptr, code.len);
    cs_claim_copy(l->system, sizeof l->system, system.ptr, system.len);
    cs_resolution_t rs;
    cs_proto_err_t e = s_line_release(run, i, system, &rs);
    if (e == CS_PERR_UNKNOWN_SYSTEM || (e != CS_PERR_NONE && i < run->claim->n_dx)) {
        char nm[32];
        res->err = e;
        char msg[sizeof rs.msg + 40];
        snprintf(msg, sizeof msg, "%s: %s", s_line_name(run->claim, i, nm, sizeof nm), rs.msg);
        cs_claim_copy(res->err_msg, sizeof res->err_msg, msg, strlen(msg));
        return -1;
    }
    if (e != CS_PERR_NONE) {
        l->reason = CS_CLAIM_UNCHECKED;
        snprintf(l->message, sizeof l->message, "not checked: %s", rs.msg);
        cs_claim_add_skip(run, "invalid_code", "%s", rs.msg);
        return 0;
    }
    if (i == 0) {
        cs_claim_copy(run->cm_label, sizeof run->cm_label, rs.rel.label.ptr, rs.rel.label.len);
        run->cm_rel = rs.rel.id;
    }
    s_check_code(run, i, &rs, code);
    if (l->reason != CS_CLAIM_VALID) {
        char nm[32];
        cs_claim_edit_t *ed = cs_claim_add_edit(run, "invalid_code", CS_SEV_ERROR, &i, 1,
                                                "%s, %s: %s",
                                                s_line_name(run->claim, i, nm, sizeof nm),
                                                l->input, l->message);
        char label[64];
        cs_claim_copy(label, sizeof label, rs.rel.label.ptr, rs.rel.label.len);
        cs_claim_source(ed, rs.sys->name, label, "release", cs_claim_reason_name(l->reason), NULL,
                        NULL, 0, 0);
    }
    return 0;
}

static const cs_str_t s_icd10cm = {"icd10cm", 7};

static int s_check_lines(cs_claim_run_t *run)
{
    const cs_claim_t *c = run->claim;
    for (uint32_t i = 0; i < c->n_dx; i++) {
        if (s_check_line(run, i, s_icd10cm, c->dx[i].code) != 0) {
            return -1;
        }
    }
    for (uint32_t j = 0; j < c->n_px; j++) {
        if (s_check_line(run, c->n_dx + j, c->px[j].system, c->px[j].code) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- duplicates ---- */

static const char *s_label_of(const cs_claim_result_t *res, const char *set)
{
    for (uint32_t i = 0; i < res->n_used; i++) {
        if (strcmp(res->used[i].set, set) == 0) {
            return res->used[i].label;
        }
    }
    return "";
}

static int s_same_modifiers(const cs_claim_px_t *a, const cs_claim_px_t *b)
{
    if (a->n_modifiers != b->n_modifiers) {
        return 0;
    }
    for (uint32_t m = 0; m < a->n_modifiers; m++) {
        if (a->modifiers[m].len != b->modifiers[m].len ||
            memcmp(a->modifiers[m].ptr, b->modifiers[m].ptr, a->modifiers[m].len) != 0) {
            return 0;
        }
    }
    return 1;
}

/* The same code twice: a diagnosis is an error; a procedure a warning, and only with the
 * same modifiers (the same code on two lines with different modifiers is how a biller
 * reports two sites). Each repeat is reported against the first occurrence. */
static void s_duplicates(cs_claim_run_t *run)
{
    const cs_claim_t *c = run->claim;
    uint32_t n = c->n_dx + c->n_px;
    for (uint32_t j = 1; j < n; j++) {
        const cs_claim_lineinfo_t *b = &run->info[j];
        if (!b->sys || !run->res->lines[j].code[0]) {
            continue;
        }
        int dx = j < c->n_dx;
        for (uint32_t i = dx ? 0 : c->n_dx; i < j; i++) {
            const cs_claim_lineinfo_t *a = &run->info[i];
            if (a->sys != b->sys || strcmp(a->code.key, b->code.key) != 0 ||
                (!dx && !s_same_modifiers(&c->px[i - c->n_dx], &c->px[j - c->n_dx]))) {
                continue;
            }
            uint32_t ln[2] = {i, j};
            cs_claim_edit_t *e = cs_claim_add_edit(
                run, "duplicate_code", dx ? CS_SEV_ERROR : CS_SEV_WARNING, ln, 2,
                dx ? "%s is listed twice (lines %u and %u): list each diagnosis once"
                   : "%s is billed twice with the same modifiers (lines %u and %u): combine "
                     "the units on one line or add a modifier that tells them apart",
                b->code.display, i, j);
            cs_claim_source(e, b->sys->name, s_label_of(run->res, b->sys->name), "claim",
                            "each code once a claim", NULL, NULL, 0, 0);
            break;
        }
    }
}

/* ---- the run ---- */

static int s_prepare(cs_claim_run_t *run, cs_claim_result_t *res, const cs_claim_t *c)
{
    uint32_t n = c->n_dx + c->n_px;
    if (c->n_dx == 0 || c->n_dx > CS_CLAIM_MAX_DX || c->n_px > CS_CLAIM_MAX_PX) {
        res->err = c->n_dx == 0 ? CS_PERR_BAD_REQUEST : CS_PERR_TOO_MANY;
        snprintf(res->err_msg, sizeof res->err_msg,
                 c->n_dx == 0 ? "a claim needs at least one diagnosis"
                              : "a claim holds at most %d diagnoses and %d procedures",
                 CS_CLAIM_MAX_DX, CS_CLAIM_MAX_PX);
        return -1;
    }
    if (n > res->cap_lines_) {
        void *p = realloc(res->lines, (size_t)n * sizeof *res->lines);
        if (!p) {
            res->err = CS_PERR_INTERNAL;
            snprintf(res->err_msg, sizeof res->err_msg, "out of memory");
            return -1;
        }
        res->lines = p;
        res->cap_lines_ = n;
    }
    res->n_lines = n;
    run->memo = run->env->memo ? run->env->memo : &run->own_memo;
    run->index = run->env->index ? run->env->index : &run->own_index;
    cs_claim_cache_begin(&run->cache, run->env->reader);
    return 0;
}

static void s_reset(cs_claim_result_t *res)
{
    res->err = CS_PERR_NONE;
    res->err_msg[0] = '\0';
    res->n_lines = res->n_edits = res->n_skipped = res->n_used = res->n_details = 0;
    res->clean = 1;
}

static void s_edits(cs_claim_run_t *run)
{
    s_duplicates(run);
    cs_claim_collect_notes(run);
    cs_claim_excludes1(run);
    if (!cs_claim_mce(run)) {
        cs_claim_manifestation_tabular(run);
    }
    cs_claim_code_first(run);
    cs_claim_poa(run);
    cs_claim_ncci(run);
}

cs_proto_err_t cs_claim_check(const cs_claim_env_t *env, const cs_claim_t *claim,
                              cs_claim_result_t *res)
{
    s_reset(res);
    cs_claim_run_t *run = res->run_;
    if (!run) {
        /* zeroed once: the holder (no index set: LMDB only) and the memo start empty */
        run = res->run_ = calloc(1, sizeof *run);
        if (!run) {
            res->err = CS_PERR_INTERNAL;
            snprintf(res->err_msg, sizeof res->err_msg, "out of memory");
            return res->err;
        }
    }
    memset(run, 0, offsetof(cs_claim_run_t, notes));
    run->env = env;
    run->claim = claim;
    run->res = res;
    if (s_prepare(run, res, claim) == 0 && s_check_lines(run) == 0) {
        s_edits(run);
    }
    if (run->failed && res->err == CS_PERR_NONE) {
        res->err = CS_PERR_INTERNAL;
        snprintf(res->err_msg, sizeof res->err_msg, "out of memory checking the claim");
    }
    return res->err;
}
