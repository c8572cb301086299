/* cs_claim_ncci.c: the National Correct Coding Initiative's edits over a claim's CPT and
 * HCPCS procedure lines, from the edit sets "ncci-ptp" (loader ncci-ptp) and "ncci-mue"
 * (loader ncci-mue), on the date of service:
 *   ncci_ptp  a column 1 and a column 2 code billed together while their edit is in effect
 *             (effective date to deletion date): modifier indicator 0, never; 1, only with an
 *             NCCI-associated modifier on either line; 9, the edit does not apply;
 *   mue       more units of a code than its MUE value: per line for a line edit (indicator
 *             1), summed over the date of service otherwise (2, 3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_claim_int.h"
#include "store/cs_maps.h"

/* The modifiers that let a pair with indicator 1 through (NCCI policy manual, ch. I). */
static int s_ncci_modifier(cs_str_t m)
{
    static const char *const list[] = {"59", "XE", "XS", "XP", "XU", "LT", "RT", "FA", "TA",
                                       "LC", "LD", "LM", "RC", "RI", "24", "25", "57", "58",
                                       "78", "79", "91"};
    if (m.len != 2) {
        return 0;
    }
    if ((m.ptr[0] == 'E' && m.ptr[1] >= '1' && m.ptr[1] <= '4') ||
        ((m.ptr[0] == 'F' || m.ptr[0] == 'T') && m.ptr[1] >= '1' && m.ptr[1] <= '9')) {
        return 1;
    }
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        if (memcmp(m.ptr, list[i], 2) == 0) {
            return 1;
        }
    }
    return 0;
}

static int s_has_ncci_modifier(const cs_claim_px_t *p)
{
    for (uint32_t i = 0; i < p->n_modifiers; i++) {
        if (s_ncci_modifier(p->modifiers[i])) {
            return 1;
        }
    }
    return 0;
}

/* The list of kind ("ptp" or "mue") for line a's system: literals, as cs_claim_set_list
 * remembers lists by pointer. */
static const char *s_list(const cs_claim_run_t *run, uint32_t a, int mue)
{
    int cpt = strcmp(run->info[a].sys->name, "cpt") == 0;
    return mue ? (cpt ? "mue-cpt" : "mue-hcpcs") : (cpt ? "ptp-cpt" : "ptp-hcpcs");
}

/* A CPT or HCPCS line that is in its release. */
static int s_ncci_line(const cs_claim_run_t *run, uint32_t i)
{
    const cs_claim_lineinfo_t *inf = &run->info[i];
    return inf->found && inf->sys &&
           (strcmp(inf->sys->name, "cpt") == 0 || strcmp(inf->sys->name, "hcpcs") == 0);
}

/* One PTP row of column 1 line a ("<column 2> <effective> <deletion or 0> <indicator>"):
 * the edit over a and the line holding column 2, if any and in effect. */
static void s_ptp_row(cs_claim_run_t *run, const cs_claim_set_t *set, const char *list,
                      uint32_t a, const char *data)
{
    const cs_claim_t *c = run->claim;
    char col2[16];
    long eff = 0, del = 0;
    char ind = 0;
    if (sscanf(data, "%15s %ld %ld %c", col2, &eff, &del, &ind) != 4 || c->date < eff ||
        (del && c->date > del) || ind == '9') {
        return;
    }
    for (uint32_t b = c->n_dx; b < c->n_dx + c->n_px; b++) {
        if (b == a || !s_ncci_line(run, b) || strcmp(run->info[b].code.key, col2) != 0) {
            continue;
        }
        const cs_claim_px_t *pa = &c->px[a - c->n_dx], *pb = &c->px[b - c->n_dx];
        if (ind == '1' && (s_has_ncci_modifier(pa) || s_has_ncci_modifier(pb))) {
            continue;
        }
        uint32_t ln[2] = {a, b};
        cs_claim_edit_t *e = cs_claim_add_edit(
            run, "ncci_ptp", CS_SEV_ERROR, ln, 2,
            ind == '0' ? "%s is not paid with %s on one date of service (NCCI PTP edit, "
                         "modifier indicator 0: no modifier allows the pair)"
                       : "%s is not paid with %s on one date of service unless a modifier "
                         "such as 59, XS or LT/RT shows a distinct service (NCCI PTP edit, "
                         "modifier indicator 1)",
            run->info[b].code.display, run->info[a].code.display);
        char detail[64];
        snprintf(detail, sizeof detail, "column 1 %s, column 2 %s, modifier indicator %c",
                 run->info[a].code.display, run->info[b].code.display, ind);
        cs_claim_list_source(set, list, detail, e);
        return;
    }
}

static void s_ptp(cs_claim_run_t *run, const cs_claim_set_t *set)
{
    const cs_claim_t *c = run->claim;
    for (uint32_t a = c->n_dx; a < c->n_dx + c->n_px; a++) {
        if (!s_ncci_line(run, a)) {
            continue;
        }
        const char *sys = run->info[a].sys->name;
        const char *list = s_list(run, a, 0);
        int m = cs_claim_set_list(set, list, sys);
        cs_maps_iter_t it;
        cs_map_hit_t hit;
        const char *key = run->info[a].code.key;
        for (int more = m >= 0 && cs_maps_first(&it, run->env->reader, set->rel.id, (uint8_t)m,
                                                key, strlen(key), 0, &hit);
             more; more = cs_maps_next(&it, &hit)) {
            char data[64];
            cs_claim_copy(data, sizeof data, hit.relationship.ptr, hit.relationship.len);
            s_ptp_row(run, set, list, a, data);
        }
    }
}

/* The MUE row of line a's code: its value and adjudication text; 0 when none. */
static int s_mue_of(cs_claim_run_t *run, const cs_claim_set_t *set, uint32_t a, long *value,
                    char *adj, size_t cap)
{
    const char *sys = run->info[a].sys->name;
    int m = cs_claim_set_list(set, s_list(run, a, 1), sys);
    cs_maps_iter_t it;
    cs_map_hit_t hit;
    const char *key = run->info[a].code.key;
    if (m < 0 || !cs_maps_first(&it, run->env->reader, set->rel.id, (uint8_t)m, key,
                                strlen(key), 0, &hit)) {
        return 0;
    }
    char data[160];
    int off = 0;
    cs_claim_copy(data, sizeof data, hit.relationship.ptr, hit.relationship.len);
    if (sscanf(data, "%ld %n", value, &off) != 1) {
        return 0;
    }
    snprintf(adj, cap, "%s", data + off);
    return 1;
}

static void s_mue(cs_claim_run_t *run, const cs_claim_set_t *set)
{
    const cs_claim_t *c = run->claim;
    char d[11];
    cs_claim_date(c->date, d);
    for (uint32_t a = c->n_dx; a < c->n_dx + c->n_px; a++) {
        long value = 0;
        char adj[128];
        if (!s_ncci_line(run, a) || !s_mue_of(run, set, a, &value, adj, sizeof adj)) {
            continue;
        }
        int per_line = adj[0] == '1';
        int64_t units = c->px[a - c->n_dx].units;
        uint32_t ln[2] = {a, a};
        int first = 1;
        for (uint32_t b = c->n_dx; b < c->n_dx + c->n_px && !per_line; b++) {
            int same = b != a && s_ncci_line(run, b) && run->info[b].sys == run->info[a].sys &&
                       strcmp(run->info[b].code.key, run->info[a].code.key) == 0;
            first &= !(same && b < a);
            if (same && b > a) {
                units += c->px[b - c->n_dx].units;
                ln[1] = b;
            }
        }
        if (!first || units <= value) {
            continue; /* reported at the code's first line */
        }
        cs_claim_edit_t *e = cs_claim_add_edit(
            run, "mue", CS_SEV_ERROR, ln, ln[1] != a ? 2 : 1,
            "%s: %lld units %s, over its medically unlikely edit of %ld (%s)",
            run->info[a].code.display, (long long)units, per_line ? "on one line" : "on one date",
            value, adj);
        cs_claim_list_source(set, s_list(run, a, 1), adj, e);
    }
}

void cs_claim_ncci(cs_claim_run_t *run)
{
    const cs_claim_t *c = run->claim;
    int any = 0;
    for (uint32_t a = c->n_dx; a < c->n_dx + c->n_px && !any; a++) {
        any = s_ncci_line(run, a);
    }
    if (!any) {
        return; /* no CPT or HCPCS line: nothing for the NCCI to say */
    }
    char d[11];
    cs_claim_date(c->date, d);
    const cs_claim_set_t *ptp = cs_claim_set_open(run, "ncci-ptp", CS_CLAIM_SET_PTP);
    if (ptp) {
        s_ptp(run, ptp);
    } else {
        cs_claim_add_skip(run, "ncci_ptp", "no ncci-ptp edit set is in effect on %s", d);
    }
    const cs_claim_set_t *mue = cs_claim_set_open(run, "ncci-mue", CS_CLAIM_SET_MUE);
    if (mue) {
        s_mue(run, mue);
    } else {
        cs_claim_add_skip(run, "mue", "no ncci-mue edit set is in effect on %s", d);
    }
}
