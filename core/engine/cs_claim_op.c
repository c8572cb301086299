/* cs_claim_op.c: the ops claim and claims (docs/PROTOCOL.md): a decoded claim checked by
 * cs_claim_check inside one snapshot, and its result written through cs_out. */
#include <string.h>

#include "engine/cs_claim.h"
#include "engine/cs_op.h"
#include "engine/cs_query.h"

/* What the source of an edit from a third party's list says of it. */
static const char s_derived[] =
    "a third party's lists (nlindner/CMS_Issued_Codes_For_SQL), derived from CMS's "
    "Definitions of Medicare Code Edits; not a CMS file";

/* rows[0 .. n) of width w as an array under key. */
static void s_write_rows(cs_out_t *out, const char *key, const char *rows, size_t w, uint32_t n)
{
    cs_out_cstr(out, key);
    cs_out_array(out, n);
    for (uint32_t k = 0; k < n; k++) {
        cs_out_cstr(out, rows + k * w);
    }
}

/* A line: validate's result for the code (engine/cs_out.c, cs_out_validation_tree: the same
 * keys in the same order) with line and system first; unchecked is the claim's own reason. */
static void s_write_line(cs_out_t *out, const cs_claim_result_t *res, uint32_t i)
{
    static const cs_claim_detail_t none; /* the empty lists */
    const cs_claim_line_t *l = &res->lines[i];
    const cs_claim_detail_t *d = l->detail ? &res->details[l->detail - 1] : &none;
    int valid = l->reason == CS_CLAIM_VALID;
    int has_code = l->code[0] != '\0';
    int nb = l->reason == CS_CLAIM_NOT_BILLABLE, ne = l->reason == CS_CLAIM_NOT_EFFECTIVE;
    uint32_t n = 4 + (uint32_t)has_code + (valid ? 2 : 2 + (uint32_t)(2 * nb + 2 * ne));
    cs_out_map(out, n);
    cs_out_kv_int(out, "line", i);
    cs_out_kv_str(out, "system", l->system);
    cs_out_kv_str(out, "input", l->input);
    if (has_code) {
        cs_out_kv_str(out, "code", l->code);
    }
    cs_out_kv_bool(out, "valid", valid);
    if (valid) {
        cs_out_kv_bool(out, "billable", 1);
        cs_out_kv_str(out, "title", l->title);
        return;
    }
    cs_out_kv_str(out, "reason", cs_claim_reason_name(l->reason));
    if (nb) {
        cs_out_kv_str(out, "kind", l->kind);
    }
    cs_out_kv_str(out, "message", l->message);
    if (nb) {
        s_write_rows(out, "hint", &d->hint[0][0], sizeof d->hint[0], d->n_hint);
    }
    if (ne) {
        s_write_rows(out, "valid_in", &d->valid_in[0][0], sizeof d->valid_in[0], d->n_valid_in);
        s_write_rows(out, "replaced_by", &d->replaced_by[0][0], sizeof d->replaced_by[0],
                     d->n_replaced_by);
    }
}

static void s_write_source(cs_out_t *out, const cs_claim_source_t *s)
{
    int note = strcmp(s->what, "note") == 0, title = strcmp(s->what, "title") == 0;
    int list = strcmp(s->what, "list") == 0;
    uint32_t n = 2 + (s->name[0] && !title ? 1 : 0) + (s->on[0] ? 1 : 0) +
                 ((note || title || (list && s->text[0])) ? 1 : 0) + (s->derived ? 1 : 0);
    cs_out_map(out, n);
    cs_out_kv_str(out, "set", s->set);
    cs_out_kv_str(out, "release", s->release);
    if (s->name[0] && !title) {
        cs_out_kv_str(out, note ? "note" : list ? "list" : "check", s->name);
    }
    if (s->on[0]) {
        cs_out_kv_str(out, "on", s->on);
    }
    if (note || title || (list && s->text[0])) {
        cs_out_kv_str(out, note ? "text" : title ? "title" : "detail", s->text);
    }
    if (s->derived) {
        cs_out_kv_str(out, "derived", s_derived);
    }
}

static void s_write_edit(cs_out_t *out, const cs_claim_edit_t *e)
{
    cs_out_map(out, 6);
    cs_out_kv_str(out, "edit", e->edit);
    cs_out_kv_str(out, "severity", cs_claim_severity_name(e->severity));
    cs_out_cstr(out, "lines");
    cs_out_array(out, e->n_lines);
    for (uint32_t i = 0; i < e->n_lines; i++) {
        cs_out_int(out, e->lines[i]);
    }
    cs_out_cstr(out, "codes");
    cs_out_array(out, e->n_lines);
    for (uint32_t i = 0; i < e->n_lines; i++) {
        cs_out_cstr(out, e->codes[i]);
    }
    cs_out_kv_str(out, "message", e->message);
    cs_out_cstr(out, "source");
    s_write_source(out, &e->source);
}

void cs_claim_write(cs_out_t *out, const cs_claim_result_t *res)
{
    cs_out_kv_bool(out, "clean", res->clean);
    cs_out_cstr(out, "releases");
    cs_out_map(out, res->n_used);
    for (uint32_t i = 0; i < res->n_used; i++) {
        cs_out_kv_str(out, res->used[i].set, res->used[i].label);
    }
    cs_out_cstr(out, "lines");
    cs_out_array(out, res->n_lines);
    for (uint32_t i = 0; i < res->n_lines; i++) {
        s_write_line(out, res, i);
    }
    cs_out_cstr(out, "edits");
    cs_out_array(out, res->n_edits);
    for (uint32_t i = 0; i < res->n_edits; i++) {
        s_write_edit(out, &res->edits[i]);
    }
    cs_out_cstr(out, "skipped");
    cs_out_array(out, res->n_skipped);
    for (uint32_t i = 0; i < res->n_skipped; i++) {
        cs_out_map(out, 2);
        cs_out_kv_str(out, "edit", res->skipped[i].edit);
        cs_out_kv_str(out, "why", res->skipped[i].why);
    }
}

static cs_claim_env_t s_env(const cs_engine_view_t *v)
{
    return (cs_claim_env_t){v->reader, v->plugins, v->index, v->memo};
}

/* One claim's reply: req (NULL inside a batch: no id) its ok or error map. */
static cs_proto_err_t s_answer(const cs_claim_env_t *env, const cs_request_t *req,
                               const cs_claim_t *claim, cs_claim_result_t *res, cs_out_t *out)
{
    if (cs_claim_check(env, claim, res) != CS_PERR_NONE) {
        cs_reply_error(out, req, res->err, res->err_msg);
        return res->err;
    }
    cs_reply_begin(out, req, 1, CS_CLAIM_REPLY_KEYS);
    cs_claim_write(out, res);
    return CS_PERR_NONE;
}

/* A codec that does not decode the nested claim shape leaves req->claims NULL. */
static cs_proto_err_t s_not_decoded(cs_out_t *out, const cs_request_t *req)
{
    return cs_reply_errorf(out, req, CS_PERR_BAD_REQUEST, "%s: this interface does not decode "
                           "claims (send them over the wire protocol)", cs_proto_opname(req->op));
}

/* The result to check with: the one the engine keeps (what earlier requests read is
 * reused), else tmp. */
static cs_claim_result_t *s_result(const cs_engine_view_t *v, cs_claim_result_t *tmp)
{
    cs_claim_result_init(tmp);
    return v->claim ? v->claim : tmp;
}

/* After the reply: a kept result gives back what a large claim grew; one that met a corrupt
 * page is dropped whole, as what it read in this snapshot cannot be trusted. */
static void s_result_done(const cs_engine_view_t *v, cs_claim_result_t *res)
{
    if (res != v->claim || cs_reader_corrupt(v->reader)) {
        cs_claim_result_fini(res);
    } else {
        cs_claim_result_trim(res);
    }
}

static cs_proto_err_t s_claim(const cs_engine_view_t *v, const cs_request_t *req, cs_out_t *out)
{
    if (req->n_claims != 1 || !req->claims) {
        return s_not_decoded(out, req);
    }
    cs_claim_env_t env = s_env(v);
    cs_claim_result_t tmp;
    cs_claim_result_t *res = s_result(v, &tmp);
    cs_proto_err_t e = s_answer(&env, req, req->claims, res, out);
    s_result_done(v, res);
    return e;
}

cs_proto_err_t cs_claims_part(const cs_engine_view_t *v, const cs_request_t *req, uint32_t lo,
                              uint32_t hi, int header, cs_out_t *out)
{
    if (!req->claims) {
        return s_not_decoded(out, req);
    }
    cs_claim_env_t env = s_env(v);
    cs_claim_result_t tmp;
    cs_claim_result_t *res = s_result(v, &tmp);
    if (header) {
        cs_reply_begin(out, req, 1, 1);
        cs_out_cstr(out, "results");
        cs_out_array(out, req->n_claims);
    }
    for (uint32_t i = lo; i < hi && i < req->n_claims; i++) {
        s_answer(&env, NULL, &req->claims[i], res, out);
    }
    s_result_done(v, res);
    return CS_PERR_NONE;
}

/* A batch: one reply per claim, in order; a claim that fails is an error map in its place,
 * and the batch is still ok. A long one reaching a broker with workers is answered by them
 * together in slices (cs_engine_part), the same bytes. */
static cs_proto_err_t s_claims(const cs_engine_view_t *v, const cs_request_t *req,
                               cs_out_t *out)
{
    return cs_claims_part(v, req, 0, req->n_claims, 1, out);
}

cs_proto_err_t cs_op_claim(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return cs_engine_read(ctx->engine, s_claim, req, out);
}

cs_proto_err_t cs_op_claims(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return cs_engine_read(ctx->engine, s_claims, req, out);
}
