/* cs_resolve_memo.c: a resolution kept while nothing is committed (see cs_resolve_memo.h). */
#include "engine/cs_resolve_memo.h"

#include <string.h>

/* Copy len bytes of s into a field of CS_RESOLVE_MEMO_STR bytes (len checked by the caller). */
static void s_copy(char *field, size_t *field_len, const char *s, size_t len)
{
    if (len) {
        memcpy(field, s, len);
    }
    *field_len = len;
}

void cs_resolve_memo_keep(cs_resolve_memo_t *m, uint64_t snapshot, const char *system,
                          size_t system_len, const char *release, size_t release_len,
                          int date, const cs_plugin_desc_t *sys, uint32_t rel,
                          const char *label, size_t label_len)
{
    m->commit = 0;
    if (snapshot == 0 || system_len > CS_RESOLVE_MEMO_STR ||
        release_len > CS_RESOLVE_MEMO_STR || label_len > CS_RESOLVE_MEMO_STR) {
        return;
    }
    s_copy(m->system, &m->system_len, system, system_len);
    s_copy(m->release, &m->release_len, release, release_len);
    s_copy(m->label, &m->label_len, label, label_len);
    m->date = date;
    m->sys = sys;
    m->rel = rel;
    m->commit = snapshot;
}

int cs_resolve_memo_match(const cs_resolve_memo_t *m, const char *system, size_t system_len,
                          const char *release, size_t release_len, int date)
{
    return m->commit != 0 && m->date == date && m->system_len == system_len &&
           m->release_len == release_len &&
           (system_len == 0 || memcmp(m->system, system, system_len) == 0) &&
           (release_len == 0 || memcmp(m->release, release, release_len) == 0);
}

const cs_codeidx_t *cs_resolve_memo_index(const cs_resolve_memo_t *m,
                                          cs_codeidx_holder_t *holder, cs_store_t *store)
{
    cs_codeidx_holder_unpin(holder);
    const cs_codeidx_t *idx = cs_codeidx_holder_get(holder, m->rel);
    return idx && cs_store_last_commit(store) == m->commit ? idx : NULL;
}
