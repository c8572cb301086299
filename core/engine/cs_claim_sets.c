/* cs_claim_sets.c: the edits that edit sets answer: the Medicare Code Editor's lists ("mce",
 * loader mce-lists: age, sex, manifestation_principal, unacceptable_principal,
 * questionable_admission, noncovered_procedure, limited_coverage) and the POA-exempt list
 * ("poa-exempt", loader poa-exempt: poa).
 *
 * An edit set is a map-set release: each list a map of no-map rows keyed by code, a row's
 * relationship its data (an age list's range "12-55"). The set in effect on the date of
 * service answers; without one, its edits are skipped, saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_claim_int.h"
#include "store/cs_maps.h"

typedef cs_claim_set_t s_set_t;

const cs_claim_set_t *cs_claim_set_open(cs_claim_run_t *run, const char *name, int which)
{
    s_set_t *set = &run->sets[which];
    uint64_t snap = cs_reader_snapshot(run->env->reader);
    if (!set->cached || set->reader != run->env->reader || set->snapshot != snap ||
        set->date != run->claim->date) {
        cs_resolved_t r;
        set->ok = cs_catalog_in_effect(run->env->reader, run->memo, name, strlen(name),
                                       run->claim->date, &r) == CS_OK &&
                  cs_catalog_read(run->env->reader, r.id, &set->rel) == CS_OK &&
                  set->rel.n_maps > 0;
        set->cached = 1;
        set->reader = run->env->reader;
        set->snapshot = snap;
        set->date = run->claim->date;
        set->derived = which == CS_CLAIM_SET_MCE;
        set->n_found = 0;
    }
    if (!set->ok) {
        return NULL;
    }
    cs_claim_add_used(run, name, set->rel.label, strlen(set->rel.label));
    return set;
}

/* Look map m of set up for the code of line i, into its cache slot e. */
static void s_lookup(cs_claim_run_t *run, const s_set_t *set, uint32_t m,
                     const cs_claim_lineinfo_t *inf, cs_claim_centry_t *e)
{
    cs_maps_iter_t it;
    cs_map_hit_t hit;
    e->checked |= 1u << m;
    e->lo[m] = e->hi[m] = -1;
    if (!cs_maps_first(&it, run->env->reader, set->rel.id, (uint8_t)m, inf->code.key,
                       strlen(inf->code.key), 0, &hit)) {
        return;
    }
    e->hit |= 1u << m;
    int lo, hi;
    char range[32];
    cs_claim_copy(range, sizeof range, hit.relationship.ptr, hit.relationship.len);
    if (sscanf(range, "%d-%d", &lo, &hi) == 2 && lo >= 0 && hi >= lo && hi < 1000) {
        e->lo[m] = (int16_t)lo;
        e->hi[m] = (int16_t)hi;
    }
}

/* Is line i's code on list of set? *lo and *hi (when lo is not NULL) get the row's age range
 * ("12-55"), -1 for none: numbers, not text, as every diagnosis asks four age lists. Each
 * code is looked up once a list for all the claims of a snapshot (the run's cache). */
static int s_on_list(cs_claim_run_t *run, const s_set_t *set, const char *list, uint32_t i,
                     int *lo, int *hi)
{
    cs_claim_lineinfo_t *inf = &run->info[i];
    if (!set->ok || !inf->found) {
        return 0;
    }
    int mi = cs_claim_set_list(set, list, inf->sys->name);
    if (mi >= 0) {
        uint32_t m = (uint32_t)mi;
        cs_claim_centry_t *e;
        if (inf->list_ent && inf->list_rel == set->rel.id) {
            e = &run->cache.ents[inf->list_ent - 1];
        } else {
            int fresh;
            e = cs_claim_cache_get(&run->cache, CS_CENTRY_LIST, set->rel.id,
                                   i < run->claim->n_dx ? 0 : 1, inf->code.key, &fresh);
            if (!e) {
                run->failed = 1;
                return 0;
            }
            inf->list_rel = set->rel.id;
            inf->list_ent = (uint32_t)(e - run->cache.ents) + 1;
        }
        if (!(e->checked & (1u << m))) {
            s_lookup(run, set, m, inf, e);
        }
        if (lo) {
            *lo = e->lo[m];
            *hi = e->hi[m];
        }
        return (e->hit >> m) & 1u;
    }
    return 0;
}

cs_claim_edit_t *cs_claim_list_source(const cs_claim_set_t *set, const char *list,
                                      const char *detail, cs_claim_edit_t *e)
{
    cs_claim_source(e, set->rel.system, set->rel.label, "list", list, NULL, detail,
                    detail ? strlen(detail) : 0, set->derived);
    return e;
}

int cs_claim_set_list(const cs_claim_set_t *set, const char *list, const char *system)
{
    /* every line asks for a few lists: a pointer compare instead of strcmp over every map */
    cs_claim_set_t *memo = (cs_claim_set_t *)set;
    for (uint32_t k = 0; k < memo->n_found; k++) {
        if (memo->found[k].list == list && memo->found[k].system == system) {
            return memo->found[k].map;
        }
    }
    int m = -1;
    for (uint32_t j = 0; j < set->rel.n_maps && m < 0; j++) {
        if (strcmp(set->rel.maps[j].name, list) == 0 &&
            strcmp(set->rel.maps[j].from, system) == 0) {
            m = (int)j;
        }
    }
    if (memo->n_found < sizeof memo->found / sizeof memo->found[0]) {
        memo->found[memo->n_found].list = list;
        memo->found[memo->n_found].system = system;
        memo->found[memo->n_found++].map = m;
    }
    return m;
}

/* ---- MCE ---- */

static const struct {
    const char *list; /* the map of the mce set */
    const char *what; /* for the message */
} s_ages[] = {
    {"age-newborn", "newborn"},
    {"age-pediatric", "pediatric"},
    {"age-maternity", "maternity"},
    {"age-adult", "adult"},
};

static void s_age(cs_claim_run_t *run, const s_set_t *set)
{
    const cs_claim_t *c = run->claim;
    if (!c->has_age) {
        cs_claim_add_skip(run, "age", "the patient's age is not given");
        return;
    }
    for (uint32_t i = 0; i < c->n_dx; i++) {
        for (size_t a = 0; a < sizeof s_ages / sizeof s_ages[0]; a++) {
            int lo = -1, hi = -1;
            if (!s_on_list(run, set, s_ages[a].list, i, &lo, &hi) || lo < 0 ||
                (c->age >= lo && c->age <= hi)) {
                continue;
            }
            cs_claim_list_source(set, s_ages[a].list, NULL,
                        cs_claim_add_edit(run, "age", CS_SEV_ERROR, &i, 1,
                                          "%s is a %s diagnosis (ages %d to %d in MCE %s), but "
                                          "the patient is %d: check the code or the age",
                                          run->info[i].code.display, s_ages[a].what, lo, hi,
                                          set->rel.label, c->age));
        }
    }
}

static void s_sex(cs_claim_run_t *run, const s_set_t *set)
{
    const cs_claim_t *c = run->claim;
    if (c->sex != CS_SEX_FEMALE && c->sex != CS_SEX_MALE) {
        cs_claim_add_skip(run, "sex", c->sex == CS_SEX_UNKNOWN ? "the patient's sex is unknown"
                                                                : "the patient's sex is not given");
        return;
    }
    int female = c->sex == CS_SEX_FEMALE;
    for (uint32_t i = 0; i < c->n_dx + c->n_px; i++) {
        int dx = i < c->n_dx;
        const char *list = female ? (dx ? "sex-male-dx" : "sex-male-px")
                                  : (dx ? "sex-female-dx" : "sex-female-px");
        if (!s_on_list(run, set, list, i, NULL, NULL)) {
            continue;
        }
        cs_claim_list_source(set, list, NULL,
                    cs_claim_add_edit(run, "sex", CS_SEV_ERROR, &i, 1,
                                      "%s is a %s for %s patients only, and the patient is %s: "
                                      "check the code or the sex",
                                      run->info[i].code.display, dx ? "diagnosis" : "procedure",
                                      female ? "male" : "female", female ? "female" : "male"));
    }
}

/* The principal diagnosis on a list of the MCE. */
static void s_principal(cs_claim_run_t *run, const s_set_t *set, const char *list,
                        const char *edit, cs_claim_severity_t sev, const char *fmt)
{
    uint32_t l0 = 0;
    if (s_on_list(run, set, list, 0, NULL, NULL)) {
        cs_claim_edit_t *e = cs_claim_add_edit(run, edit, sev, &l0, 1, "%s %s",
                                               run->info[0].code.display, fmt);
        cs_claim_list_source(set, list, NULL, e);
    }
}

static void s_coverage(cs_claim_run_t *run, const s_set_t *set)
{
    const cs_claim_t *c = run->claim;
    for (uint32_t i = c->n_dx; i < c->n_dx + c->n_px; i++) {
        const char *code = run->info[i].code.display;
        int lo = -1, hi = -1;
        if (s_on_list(run, set, "noncovered", i, NULL, NULL)) {
            cs_claim_list_source(set, "noncovered", NULL,
                        cs_claim_add_edit(run, "noncovered_procedure", CS_SEV_ERROR, &i, 1,
                                          "%s is never covered by Medicare", code));
        } else if (s_on_list(run, set, "noncovered-age", i, &lo, &hi) && lo >= 0) {
            if (!c->has_age) {
                cs_claim_add_skip(run, "noncovered_procedure", "the patient's age is not given "
                                  "(%s is not covered at ages %d to %d)", code, lo, hi);
            } else if (c->age >= lo && c->age <= hi) {
                cs_claim_list_source(set, "noncovered-age", NULL,
                            cs_claim_add_edit(run, "noncovered_procedure", CS_SEV_ERROR, &i, 1,
                                              "%s is not covered by Medicare for a patient of "
                                              "%d (ages %d to %d)", code, c->age, lo, hi));
            }
        }
        if (s_on_list(run, set, "limited-coverage", i, NULL, NULL)) {
            cs_claim_list_source(set, "limited-coverage", NULL,
                        cs_claim_add_edit(run, "limited_coverage", CS_SEV_WARNING, &i, 1,
                                          "%s has limited coverage: Medicare pays it only "
                                          "under conditions the claim must show", code));
        }
    }
}

static const char *const s_mce_edits[] = {"age", "sex", "unacceptable_principal",
                                          "questionable_admission", "noncovered_procedure",
                                          "limited_coverage"};

/* The edits only an inpatient claim gets. */
static void s_inpatient(cs_claim_run_t *run, const s_set_t *set)
{
    s_principal(run, set, "unacceptable-principal", "unacceptable_principal", CS_SEV_ERROR,
                "is not acceptable as the principal diagnosis: list the condition chiefly "
                "responsible for the admission first");
    s_principal(run, set, "questionable-admission", "questionable_admission", CS_SEV_WARNING,
                "as the principal diagnosis is a questionable reason for an inpatient "
                "admission: be ready to show why the stay was needed");
    s_coverage(run, set);
}

int cs_claim_mce(cs_claim_run_t *run)
{
    int answered = 0;
    char d[11];
    cs_claim_date(run->claim->date, d);
    const s_set_t *set = cs_claim_set_open(run, "mce", CS_CLAIM_SET_MCE);
    if (!set) {
        for (size_t k = 0; k < sizeof s_mce_edits / sizeof s_mce_edits[0]; k++) {
            cs_claim_add_skip(run, s_mce_edits[k], "no mce edit set is in effect on %s", d);
        }
    } else {
        s_age(run, set);
        s_sex(run, set);
        uint32_t l0 = 0;
        if (s_on_list(run, set, "manifestation", 0, NULL, NULL)) {
            cs_claim_list_source(set, "manifestation", NULL,
                        cs_claim_add_edit(run, "manifestation_principal", CS_SEV_ERROR, &l0, 1,
                                          "%s is a manifestation code: it cannot be the "
                                          "principal diagnosis; list the underlying condition "
                                          "first", run->info[0].code.display));
        }
        answered = 1;
        if (run->claim->setting == CS_SETTING_INPATIENT) {
            s_inpatient(run, set);
        } else if (run->claim->setting == CS_SETTING_NONE) {
            for (size_t k = 2; k < sizeof s_mce_edits / sizeof s_mce_edits[0]; k++) {
                cs_claim_add_skip(run, s_mce_edits[k], "the setting is not given (an "
                                  "inpatient edit)");
            }
        }
    }
    return answered;
}

/* ---- POA ---- */

static int s_poa_value(cs_str_t p)
{
    return p.len == 1 && (p.ptr[0] == 'Y' || p.ptr[0] == 'N' || p.ptr[0] == 'U' ||
                          p.ptr[0] == 'W');
}

static void s_poa_line(cs_claim_run_t *run, const s_set_t *set, uint32_t i)
{
    cs_str_t p = run->claim->dx[i].poa;
    int exempt = s_on_list(run, set, "exempt", i, NULL, NULL);
    int blank = p.len == 0 || (p.len == 1 && p.ptr[0] == '1');
    const char *code = run->info[i].code.display;
    char shown[16];
    cs_str_printable(p, shown, sizeof shown);
    cs_claim_edit_t *e = NULL;
    if (!blank && !s_poa_value(p)) {
        e = cs_claim_add_edit(run, "poa", CS_SEV_ERROR, &i, 1,
                              "%s: '%s' is not a POA indicator: use Y, N, U or W, or leave it "
                              "blank for a code exempt from POA reporting", code, shown);
    } else if (exempt && !blank) {
        e = cs_claim_add_edit(run, "poa", CS_SEV_ERROR, &i, 1,
                              "%s is exempt from POA reporting: leave its indicator blank, not "
                              "'%s'", code, shown);
    } else if (!exempt && blank) {
        e = cs_claim_add_edit(run, "poa", CS_SEV_ERROR, &i, 1,
                              "%s needs a POA indicator (Y, N, U or W): it is not on the "
                              "POA-exempt list", code);
    }
    if (e) {
        cs_claim_list_source(set, "exempt", NULL, e);
    }
}

void cs_claim_poa(cs_claim_run_t *run)
{
    const cs_claim_t *c = run->claim;
    if (c->setting != CS_SETTING_INPATIENT) {
        if (c->setting == CS_SETTING_NONE) {
            cs_claim_add_skip(run, "poa", "the setting is not given (POA is an inpatient "
                              "edit)");
        }
        return;
    }
    char d[11];
    cs_claim_date(c->date, d);
    const s_set_t *set = cs_claim_set_open(run, "poa-exempt", CS_CLAIM_SET_POA);
    if (!set) {
        cs_claim_add_skip(run, "poa", "no poa-exempt edit set is in effect on %s", d);
    } else {
        for (uint32_t i = 0; i < c->n_dx; i++) {
            if (run->info[i].found) {
                s_poa_line(run, set, i);
            }
        }
    }
}
