/* cs_crosswalk.c: the crosswalk op. */
#include "engine/cs_crosswalk.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cs_catalog.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_maps.h"
#include "util/cs_date.h"

/* One target (or source, reversed) as the reply lists it; spans borrowed from the snapshot
 * or from the request's normalised code. */
typedef struct s_target {
    cs_span_t key;
    cs_span_t display;
    cs_span_t relationship;
    uint32_t flags;
    uint8_t scenario;
    uint8_t choice;
} s_target_t;

typedef struct s_xw {
    cs_store_t *store;  /* for the releases that failed their integrity check */
    cs_reader_t *r;
    const cs_request_t *req;
    cs_release_t *all;  /* the catalog */
    size_t n_all;
    s_target_t *t;      /* CS_CROSSWALK_MAX targets */
    s_target_t *next;   /* the same again: one conversion step's output */
    size_t n;
} s_xw_t;

static int s_str_is(cs_str_t s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* 1 when release id (of system, labelled label) failed its integrity check (cs_verify.h):
 * the corrupt_release error is then packed into out and *e set. A crosswalk reads nothing of
 * such a release, never a silently different answer. */
static int s_refused(s_xw_t *x, uint32_t id, const char *system, cs_span_t label,
                     cs_out_t *out, cs_proto_err_t *e)
{
    char why[320];
    if (!id || !cs_store_release_failed(x->store, id, why, sizeof why)) {
        return 0;
    }
    *e = cs_reply_errorf(out, x->req, CS_PERR_CORRUPT_RELEASE,
                         "%s release %.*s %s; reload it or restore the database", system,
                         (int)label.len, label.ptr, why);
    return 1;
}

/* The title of key in release id, or an empty span. */
static cs_span_t s_title(cs_reader_t *r, uint32_t id, cs_span_t key)
{
    cs_span_t none = {"", 0};
    uint8_t k[CS_KEY_MAX];
    size_t n = cs_key_code(k, id, CS_CLASS_CODE, key.ptr, key.len);
    cs_val_t v;
    cs_entry_t e;
    if (!id || n == 0 || cs_reader_get(r, CS_DB_CODES, k, n, &v) != CS_OK ||
        cs_entry_decode_head(v.data, v.len, &e) != CS_OK) {
        return none;
    }
    return e.title;
}

/* The release of system whose titles the targets carry: to_release, date, or newest. */
static uint32_t s_title_release(s_xw_t *x, const char *system, cs_span_t *label)
{
    const cs_request_t *req = x->req;
    cs_resolved_t res;
    size_t slen = strlen(system);
    int rc;
    if (req->to_release.len) {
        rc = cs_catalog_by_label(x->r, system, slen, req->to_release.ptr, req->to_release.len,
                                 &res);
    } else if (req->has_date) {
        rc = cs_catalog_by_date(x->r, system, slen, req->date, &res);
    } else {
        rc = cs_catalog_newest(x->r, system, slen, &res);
    }
    if (rc != CS_OK) {
        label->ptr = "";
        label->len = 0;
        return 0;
    }
    *label = res.label;
    return res.id;
}

/* targets (or sources): [{code, title, flags...}] */
static void s_pack_targets(s_xw_t *x, const char *key, uint32_t title_rel, cs_out_t *out)
{
    cs_out_cstr(out, key);
    cs_out_array(out, (uint32_t)x->n);
    for (size_t i = 0; i < x->n; i++) {
        const s_target_t *t = &x->t[i];
        int gem = (t->flags & CS_MAP_GEM_FLAGS) != 0;
        int no_map = (t->flags & CS_MAP_NO_MAP) != 0;
        cs_out_map(out, 2 + (gem ? 5 : (no_map ? 1 : 0)) + (t->relationship.len ? 1 : 0));
        cs_out_cstr(out, "code");
        if (t->display.len) {
            cs_out_span(out, t->display);
        } else {
            cs_out_nil(out);
        }
        cs_out_cstr(out, "title");
        cs_span_t title = t->key.len ? s_title(x->r, title_rel, t->key) : (cs_span_t){"", 0};
        if (title.len) {
            cs_out_span(out, title);
        } else {
            cs_out_nil(out);
        }
        if (gem) {
            cs_out_kv_bool(out, "approximate", (t->flags & CS_MAP_APPROXIMATE) != 0);
            cs_out_kv_bool(out, "no_map", no_map);
            cs_out_kv_bool(out, "combination", (t->flags & CS_MAP_COMBINATION) != 0);
            cs_out_kv_int(out, "scenario", t->scenario);
            cs_out_kv_int(out, "choice", t->choice);
        } else if (no_map) {
            cs_out_kv_bool(out, "no_map", 1);
        }
        if (t->relationship.len) {
            cs_out_cstr(out, "relationship");
            cs_out_span(out, t->relationship);
        }
    }
}

/* scenarios: [{scenario, choices: [{choice, codes: [...]}]}] for combination rows, in the
 * order they first appear: a combination is one code from each choice list. */
static void s_pack_scenarios(const s_xw_t *x, cs_out_t *out)
{
    uint8_t scen[256]; /* distinct u8 values */
    size_t n_scen = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (!(x->t[i].flags & CS_MAP_COMBINATION) || memchr(scen, x->t[i].scenario, n_scen)) {
            continue;
        }
        scen[n_scen++] = x->t[i].scenario;
    }
    cs_out_cstr(out, "scenarios");
    cs_out_array(out, (uint32_t)n_scen);
    for (size_t s = 0; s < n_scen; s++) {
        uint8_t ch[256];
        size_t n_ch = 0;
        for (size_t i = 0; i < x->n; i++) {
            const s_target_t *t = &x->t[i];
            if ((t->flags & CS_MAP_COMBINATION) && t->scenario == scen[s] &&
                !memchr(ch, t->choice, n_ch)) {
                ch[n_ch++] = t->choice;
            }
        }
        cs_out_map(out, 2);
        cs_out_kv_int(out, "scenario", scen[s]);
        cs_out_cstr(out, "choices");
        cs_out_array(out, (uint32_t)n_ch);
        for (size_t c = 0; c < n_ch; c++) {
            uint32_t n_codes = 0;
            for (size_t i = 0; i < x->n; i++) {
                const s_target_t *t = &x->t[i];
                n_codes += (t->flags & CS_MAP_COMBINATION) && t->scenario == scen[s] &&
                           t->choice == ch[c];
            }
            cs_out_map(out, 2);
            cs_out_kv_int(out, "choice", ch[c]);
            cs_out_cstr(out, "codes");
            cs_out_array(out, n_codes);
            for (size_t i = 0; i < x->n; i++) {
                const s_target_t *t = &x->t[i];
                if ((t->flags & CS_MAP_COMBINATION) && t->scenario == scen[s] &&
                    t->choice == ch[c]) {
                    cs_out_span(out, t->display);
                }
            }
        }
    }
}

static void s_add_hit(s_xw_t *x, const cs_map_hit_t *h)
{
    if (x->n < CS_CROSSWALK_MAX) {
        s_target_t *t = &x->t[x->n++];
        t->key = h->key;
        t->display = h->display;
        t->relationship = h->relationship;
        t->flags = h->flags;
        t->scenario = h->scenario;
        t->choice = h->choice;
    }
}

/* Does map-set release rel's map m match the request's "map" (set, set/name or name)? */
static int s_map_named(const cs_release_t *rel, uint32_t m, cs_str_t want)
{
    if (!want.len) {
        return 1;
    }
    char full[160];
    snprintf(full, sizeof full, "%s/%s", rel->system, rel->maps[m].name);
    return s_str_is(want, rel->system) || s_str_is(want, rel->maps[m].name) ||
           s_str_is(want, full);
}

/* Between two systems. */
static cs_proto_err_t s_between(s_xw_t *x, const cs_plugin_desc_t *from,
                                const cs_plugin_desc_t *to, const cs_code_t *code,
                                cs_out_t *out)
{
    const cs_request_t *req = x->req;
    const cs_release_t *best = NULL;
    uint32_t best_map = 0;
    for (size_t i = 0; i < x->n_all; i++) {
        const cs_release_t *rel = &x->all[i];
        if (rel->status != CS_REL_ACTIVE) {
            continue;
        }
        for (uint32_t m = 0; m < rel->n_maps; m++) {
            if (strcmp(rel->maps[m].from, from->name) == 0 &&
                strcmp(rel->maps[m].to, to->name) == 0 && s_map_named(rel, m, req->map) &&
                (!best || rel->effective_from >= best->effective_from)) {
                best = rel;
                best_map = m;
            }
        }
    }
    if (!best) {
        return cs_reply_errorf(out, req, CS_PERR_UNKNOWN_RELEASE,
                               "no map from %s to %s%s is loaded", from->name, to->name,
                               req->map.len ? " by that name" : "");
    }
    cs_proto_err_t e;
    if (s_refused(x, best->id, best->system, (cs_span_t){best->label, strlen(best->label)},
                  out, &e)) {
        return e;
    }
    cs_maps_iter_t it;
    cs_map_hit_t hit;
    int more = cs_maps_first(&it, x->r, best->id, (uint8_t)best_map, code->key,
                             strlen(code->key), req->reverse, &hit);
    for (; more; more = cs_maps_next(&it, &hit)) {
        s_add_hit(x, &hit);
    }
    /* Forward targets are of the "to" system; reverse ones (sources) of the "from" one. */
    cs_span_t title_label;
    const char *title_sys = req->reverse ? from->name : to->name;
    uint32_t title_rel = s_title_release(x, title_sys, &title_label);
    if (s_refused(x, title_rel, title_sys, title_label, out, &e)) {
        return e;
    }
    int has_comb = 0;
    for (size_t i = 0; i < x->n; i++) {
        has_comb |= (x->t[i].flags & CS_MAP_COMBINATION) != 0;
    }
    char map_id[160];
    snprintf(map_id, sizeof map_id, "%s/%s", best->system, best->maps[best_map].name);
    cs_reply_begin(out, req, 1, 7 + (has_comb ? 1 : 0));
    cs_out_kv_str(out, "map", map_id);
    cs_out_kv_str(out, "map_release", best->label);
    cs_out_kv_str(out, "from", from->name);
    cs_out_kv_str(out, "to", to->name);
    cs_out_kv_str(out, "code", code->display);
    cs_out_cstr(out, "release");
    if (title_rel) {
        cs_out_span(out, title_label);
    } else {
        cs_out_nil(out);
    }
    s_pack_targets(x, req->reverse ? "sources" : "targets", title_rel, out);
    if (has_comb) {
        s_pack_scenarios(x, out);
    }
    return CS_PERR_NONE;
}

/* When a map of a system onto itself takes effect: a conversion table names its maps by the
 * month their rows took effect ("oct2017" = 2017-10-01, "apr2023" = 2023-04-01) or by a full
 * date ("2023-04-15"); any other map at its release's date. */
static int s_map_effective(const cs_release_t *rel, uint32_t m)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    const char *name = rel->maps[m].name;
    size_t len = strlen(name);
    if (len == 7 && strspn(name + 3, "0123456789") == 4) {
        for (int i = 0; i < 12; i++) {
            if (strncmp(name, months + 3 * i, 3) == 0) {
                return atoi(name + 3) * 10000 + (i + 1) * 100 + 1;
            }
        }
    }
    int date;
    if (len == 10 && cs_date_parse(name, len, &date) == 0) {
        return date;
    }
    return rel->effective_from;
}

/* One system from release to to_release through its conversion tables. */
static cs_proto_err_t s_across(s_xw_t *x, const cs_plugin_desc_t *sys, const cs_code_t *code,
                               cs_out_t *out)
{
    const cs_request_t *req = x->req;
    size_t slen = strlen(sys->name);
    cs_resolved_t a, b;
    int rc = req->release.len ? cs_catalog_by_label(x->r, sys->name, slen, req->release.ptr,
                                                    req->release.len, &a)
                              : CS_ENOTFOUND;
    if (rc != CS_OK) {
        return cs_reply_errorf(out, req,
                               req->release.len ? CS_PERR_UNKNOWN_RELEASE : CS_PERR_BAD_REQUEST,
                               "a crosswalk within %s needs \"release\" and \"to_release\" "
                               "of loaded releases",
                               sys->name);
    }
    rc = req->to_release.len ? cs_catalog_by_label(x->r, sys->name, slen, req->to_release.ptr,
                                                   req->to_release.len, &b)
                             : cs_catalog_newest(x->r, sys->name, slen, &b);
    if (rc != CS_OK) {
        return cs_reply_errorf(out, req, CS_PERR_UNKNOWN_RELEASE, "%s has no such to_release",
                               sys->name);
    }
    cs_proto_err_t e;
    if (s_refused(x, a.id, sys->name, a.label, out, &e) ||
        s_refused(x, b.id, sys->name, b.label, out, &e)) {
        return e;
    }
    int forward = b.effective_from >= a.effective_from;
    int lo = forward ? a.effective_from : b.effective_from;
    int hi = forward ? b.effective_from : a.effective_from;
    /* Conversion maps that take effect after lo and by hi, oldest first going forward. */
    const cs_release_t *steps[64];
    uint32_t step_map[64];
    int step_eff[64];
    size_t n_steps = 0;
    for (size_t i = 0; i < x->n_all && n_steps < 64; i++) {
        const cs_release_t *rel = &x->all[i];
        for (uint32_t m = 0; m < rel->n_maps && n_steps < 64; m++) {
            int eff = s_map_effective(rel, m);
            /* Two tables loaded side by side repeat their older maps: apply each once. */
            int repeated = 0;
            for (size_t k = 0; k < n_steps && !repeated; k++) {
                repeated = step_eff[k] == eff &&
                           strcmp(steps[k]->maps[step_map[k]].name, rel->maps[m].name) == 0;
            }
            if (!repeated && rel->status == CS_REL_ACTIVE &&
                strcmp(rel->maps[m].from, sys->name) == 0 &&
                strcmp(rel->maps[m].to, sys->name) == 0 && eff > lo && eff <= hi) {
                size_t at = n_steps++;
                while (at > 0 && step_eff[at - 1] > eff) {
                    steps[at] = steps[at - 1];
                    step_map[at] = step_map[at - 1];
                    step_eff[at] = step_eff[at - 1];
                    at--;
                }
                steps[at] = rel;
                step_map[at] = m;
                step_eff[at] = eff;
            }
        }
    }
    /* Whole: s_pack_targets reads every field (a stray relationship span was a crash). */
    x->t[0] = (s_target_t){.key = {code->key, strlen(code->key)},
                           .display = {code->display, strlen(code->display)}};
    x->n = 1;
    for (size_t s = 0; s < n_steps; s++) {
        size_t si = forward ? s : n_steps - 1 - s;
        s_target_t *next = x->next;
        size_t n_next = 0;
        for (size_t i = 0; i < x->n; i++) {
            cs_maps_iter_t it;
            cs_map_hit_t hit;
            int found = 0;
            int more = cs_maps_first(&it, x->r, steps[si]->id, (uint8_t)step_map[si],
                                     x->t[i].key.ptr, x->t[i].key.len, !forward, &hit);
            for (; more; more = cs_maps_next(&it, &hit)) {
                found = 1;
                int dup = hit.key.len == 0;
                for (size_t k = 0; k < n_next && !dup; k++) {
                    dup = next[k].key.len == hit.key.len &&
                          memcmp(next[k].key.ptr, hit.key.ptr, hit.key.len) == 0;
                }
                if (!dup && n_next < CS_CROSSWALK_MAX) {
                    next[n_next++] = (s_target_t){.key = hit.key, .display = hit.display};
                }
            }
            if (!found && n_next < CS_CROSSWALK_MAX) {
                next[n_next++] = x->t[i];
            }
        }
        x->next = x->t;
        x->t = next;
        x->n = n_next;
    }
    cs_reply_begin(out, req, 1, 7);
    cs_out_kv_str(out, "map", "conversion");
    cs_out_kv_str(out, "from", sys->name);
    cs_out_kv_str(out, "to", sys->name);
    cs_out_kv_str(out, "code", code->display);
    cs_out_cstr(out, "release");
    cs_out_span(out, a.label);
    cs_out_cstr(out, "to_release");
    cs_out_span(out, b.label);
    s_pack_targets(x, "targets", b.id, out);
    return CS_PERR_NONE;
}

cs_proto_err_t cs_crosswalk_answer(cs_store_t *store, cs_reader_t *r,
                                   const cs_plugin_host_t *plugins,
                                   const cs_request_t *req, cs_out_t *out)
{
    const cs_plugin_desc_t *from = cs_plugin_host_system(plugins, req->from.ptr,
                                                         req->from.len);
    const cs_plugin_desc_t *to = cs_plugin_host_system(plugins, req->to.ptr, req->to.len);
    if (!from || !to) {
        cs_str_t bad = from ? req->to : req->from;
        return cs_reply_errorf(out, req, CS_PERR_UNKNOWN_SYSTEM,
                               "no code system '%.*s' is known here",
                               (int)(bad.len > 40 ? 40 : bad.len), bad.ptr);
    }
    /* The code is of "to" when reversed: which sources map to it. */
    const cs_plugin_desc_t *of = req->reverse ? to : from;
    cs_code_t code;
    cs_error_t nerr;
    cs_error_clear(&nerr);
    if (of->system->normalize(req->code.ptr, req->code.len, &code, &nerr) != CS_OK) {
        cs_reply_begin(out, req, 1, 4);
        cs_out_cstr(out, "code");
        cs_out_strn(out, req->code.ptr, req->code.len);
        cs_out_kv_str(out, "reason", "malformed");
        cs_out_kv_str(out, "message", nerr.msg);
        cs_out_cstr(out, req->reverse ? "sources" : "targets");
        cs_out_array(out, 0);
        return CS_PERR_NONE;
    }
    s_xw_t *x = calloc(1, sizeof *x);
    if (x) {
        x->t = calloc(CS_CROSSWALK_MAX, sizeof *x->t);
        x->next = calloc(CS_CROSSWALK_MAX, sizeof *x->next);
    }
    if (!x || !x->t || !x->next) {
        if (x) {
            free(x->t);
            free(x->next);
        }
        free(x);
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "out of memory");
    }
    x->store = store;
    x->r = r;
    x->req = req;
    cs_proto_err_t e;
    if (cs_catalog_list(r, NULL, 0, &x->all, &x->n_all) != CS_OK) {
        e = cs_reply_errorf(out, req, CS_PERR_INTERNAL, "out of memory listing releases");
    } else if (from == to) {
        e = s_across(x, from, &code, out);
    } else {
        e = s_between(x, from, to, &code, out);
    }
    free(x->all);
    free(x->t);
    free(x->next);
    free(x);
    return e;
}
