/* cs_listcheck.c: the codes of an edit set's lists against their systems' releases. */
#include "load/cs_listcheck.h"

#include <stdio.h>
#include <string.h>

#include "store/cs_catalog.h"
#include "store/cs_key.h"

void cs_listcheck_init(cs_listcheck_t *lc, int effective_from)
{
    memset(lc, 0, sizeof *lc);
    lc->effective = effective_from;
}

static cs_listcheck_sys_t *s_sys(cs_listcheck_t *lc, cs_writer_t *w, const char *system)
{
    for (size_t i = 0; i < lc->n; i++) {
        if (strcmp(lc->sys[i].system, system) == 0) {
            return &lc->sys[i];
        }
    }
    if (lc->n == CS_LISTCHECK_SYSTEMS || strlen(system) >= sizeof lc->sys[0].system) {
        return NULL;
    }
    cs_listcheck_sys_t *s = &lc->sys[lc->n++];
    snprintf(s->system, sizeof s->system, "%s", system);
    s->resolved = 1;
    if (cs_catalog_in_effect_w(w, system, lc->effective, &s->release, s->label) != CS_OK) {
        s->release = 0;
    }
    return s;
}

void cs_listcheck_row(cs_listcheck_t *lc, cs_writer_t *w, const char *system,
                      const cs_code_t *code)
{
    cs_listcheck_sys_t *s = s_sys(lc, w, system);
    if (!s) {
        return;
    }
    s->rows++;
    if (!s->release) {
        return;
    }
    uint8_t k[CS_KEY_MAX];
    size_t n = cs_key_code(k, s->release, code->cls, code->key, strlen(code->key));
    cs_val_t v;
    if (n && cs_writer_get(w, CS_DB_CODES, k, n, &v) == CS_OK) {
        return;
    }
    if (s->missing < CS_LISTCHECK_EXAMPLES) {
        snprintf(s->examples[s->missing], sizeof s->examples[0], "%s", code->display);
    }
    s->missing++;
}

size_t cs_listcheck_summary(const cs_listcheck_t *lc, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < lc->n && at < cap; i++) {
        const cs_listcheck_sys_t *s = &lc->sys[i];
        const char *sep = i ? "; " : "";
        if (!s->release) {
            at += (size_t)snprintf(out + at, cap - at, "%s%llu %s rows unchecked (no %s release "
                                   "in effect)", sep, (unsigned long long)s->rows, s->system,
                                   s->system);
            continue;
        }
        at += (size_t)snprintf(out + at, cap - at, "%s%llu %s rows, %llu naming a code %s "
                               "release %s does not hold", sep, (unsigned long long)s->rows,
                               s->system, (unsigned long long)s->missing, s->system, s->label);
        for (uint64_t e = 0; e < s->missing && e < CS_LISTCHECK_EXAMPLES && at < cap; e++) {
            at += (size_t)snprintf(out + at, cap - at, "%s%s", e ? ", " : " (e.g. ",
                                   s->examples[e]);
        }
        if (s->missing && at < cap) {
            at += (size_t)snprintf(out + at, cap - at, ")");
        }
    }
    return at < cap ? at : cap - 1;
}
