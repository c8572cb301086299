/* mock_host.c: the recording host of tests/mock_host.h. */
#include "mock_host.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One slot of the set of emitted (cls, code) pairs. */
typedef struct s_slot {
    char *key;    /* "<cls><code>", owned; NULL: empty */
    size_t index; /* kept record index, or SIZE_MAX when not kept */
} s_slot_t;

struct cs_mock_host {
    cs_host_api_t api;         /* the table handed to loaders */
    int keep;                  /* copy records */
    cs_mock_record_t *recs;    /* kept records */
    size_t n_recs;             /* kept */
    size_t cap_recs;           /* allocated */
    s_slot_t *set;             /* emitted pairs, open addressing */
    size_t set_cap;            /* slots, a power of two */
    size_t set_len;            /* used */
    size_t emitted[4];         /* per class */
    size_t billable;           /* billable CODE records */
    size_t emits;              /* emit calls */
    size_t fail_at;            /* emit number that fails, 0 never */
    int fail_rc;               /* its code */
    size_t cancel_at;          /* cancelled() call from which it answers 1, 0 never */
    size_t cancel_calls;       /* cancelled() calls */
    size_t progress_calls;     /* progress() calls */
    uint64_t progress_last;    /* last progress value */
    size_t violations;         /* contract violations */
    char first_violation[256]; /* the first one */
    cs_mock_map_row_t *rows;   /* emit_map rows */
    size_t n_rows;             /* kept */
    size_t cap_rows;           /* allocated */
};

static void s_violation(cs_mock_host_t *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void s_violation(cs_mock_host_t *m, const char *fmt, ...)
{
    if (m->violations++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->first_violation, sizeof m->first_violation, fmt, ap);
        va_end(ap);
    }
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static uint64_t s_hash(int cls, const char *code)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)cls;
    for (const unsigned char *p = (const unsigned char *)code; *p; p++) {
        h = (h ^ *p) * 1099511628211u;
    }
    return h;
}

static s_slot_t *s_find(const cs_mock_host_t *m, int cls, const char *code)
{
    if (!m->set) {
        return NULL;
    }
    size_t mask = m->set_cap - 1;
    size_t i = (size_t)s_hash(cls, code) & mask;
    while (m->set[i].key) {
        if (m->set[i].key[0] == (char)cls && strcmp(m->set[i].key + 1, code) == 0) {
            return &m->set[i];
        }
        i = (i + 1) & mask;
    }
    return &m->set[i];
}

static int s_grow(cs_mock_host_t *m)
{
    size_t cap = m->set_cap ? m->set_cap * 2 : 1024;
    s_slot_t *old = m->set;
    size_t old_cap = m->set_cap;
    m->set = calloc(cap, sizeof *m->set);
    if (!m->set) {
        m->set = old;
        return -1;
    }
    m->set_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key) {
            *s_find(m, old[i].key[0], old[i].key + 1) = old[i];
        }
    }
    free(old);
    return 0;
}

static void s_log(int level, const char *plugin, const char *fmt, ...)
{
    (void)level;
    (void)plugin;
    (void)fmt;
}

static int s_emit(cs_sink_t *sink, const cs_record_t *rec, cs_error_t *err)
{
    cs_mock_host_t *m = (cs_mock_host_t *)sink;
    m->emits++;
    if (m->fail_at != 0 && m->emits == m->fail_at) {
        cs_error_at(err, "", 0, 0);
        return cs_error_set(err, m->fail_rc, "mock host: emit %zu fails on purpose", m->emits);
    }
    if (!rec || rec->struct_size < offsetof(cs_record_t, attrs) || !rec->code || !rec->kind ||
        !rec->title || !rec->system || rec->cls < CS_CLASS_CHAPTER || rec->cls > CS_CLASS_CODE) {
        s_violation(m, "record %zu is incomplete", m->emits);
        return CS_OK;
    }
    if (strlen(rec->code) >= CS_CODE_MAX || rec->code[0] == '\0') {
        s_violation(m, "code '%s' is empty or too long", rec->code);
    }
    if (rec->n_notes && !rec->notes) {
        s_violation(m, "'%s' has n_notes but no notes", rec->code);
    }
    for (size_t i = 0; i < rec->n_notes; i++) {
        if (!rec->notes[i].type || !rec->notes[i].text) {
            s_violation(m, "'%s' note %zu is incomplete", rec->code, i);
        }
    }
    if (rec->parent) {
        s_slot_t *p = s_find(m, rec->parent_cls, rec->parent);
        if (!p || !p->key) {
            s_violation(m, "'%s' comes before its parent '%s'", rec->code, rec->parent);
        }
    }
    if (2 * (m->set_len + 1) > m->set_cap && s_grow(m) != 0) {
        return cs_error_set(err, CS_ENOMEM, "mock host: out of memory");
    }
    s_slot_t *slot = s_find(m, rec->cls, rec->code);
    if (slot->key) {
        s_violation(m, "'%s' (class %d) emitted twice", rec->code, rec->cls);
        return CS_OK;
    }
    size_t n = strlen(rec->code);
    slot->key = malloc(n + 2);
    if (!slot->key) {
        return cs_error_set(err, CS_ENOMEM, "mock host: out of memory");
    }
    slot->key[0] = (char)rec->cls;
    memcpy(slot->key + 1, rec->code, n + 1);
    slot->index = SIZE_MAX;
    m->set_len++;
    m->emitted[rec->cls]++;
    if (rec->cls == CS_CLASS_CODE && rec->billable) {
        m->billable++;
    }
    if (!m->keep) {
        return CS_OK;
    }
    if (m->n_recs == m->cap_recs) {
        size_t cap = m->cap_recs ? m->cap_recs * 2 : 256;
        cs_mock_record_t *p = realloc(m->recs, cap * sizeof *p);
        if (!p) {
            return cs_error_set(err, CS_ENOMEM, "mock host: out of memory");
        }
        m->recs = p;
        m->cap_recs = cap;
    }
    cs_mock_record_t *r = &m->recs[m->n_recs];
    memset(r, 0, sizeof *r);
    r->cls = rec->cls;
    r->code = s_dup(rec->code);
    r->kind = s_dup(rec->kind);
    r->billable = rec->billable;
    r->title = s_dup(rec->title);
    r->short_title = s_dup(rec->short_title);
    r->parent_cls = rec->parent ? rec->parent_cls : 0;
    r->parent = s_dup(rec->parent);
    r->order = rec->order;
    if (rec->n_notes) {
        r->notes = calloc(rec->n_notes, sizeof *r->notes);
        if (r->notes) {
            r->n_notes = rec->n_notes;
            for (size_t i = 0; i < rec->n_notes; i++) {
                r->notes[i].type = s_dup(rec->notes[i].type);
                r->notes[i].label = s_dup(rec->notes[i].label);
                r->notes[i].text = s_dup(rec->notes[i].text);
            }
        }
    }
    int v11 = rec->struct_size >= sizeof(cs_record_t);
    if (v11 && rec->n_attrs) {
        if (!rec->attrs) {
            s_violation(m, "'%s' has n_attrs but no attrs", rec->code);
        } else {
            r->attr_names = calloc(rec->n_attrs, sizeof *r->attr_names);
            r->attr_values = calloc(rec->n_attrs, sizeof *r->attr_values);
            if (r->attr_names && r->attr_values) {
                r->n_attrs = rec->n_attrs;
                for (size_t i = 0; i < rec->n_attrs; i++) {
                    if (!rec->attrs[i].name || !rec->attrs[i].value) {
                        s_violation(m, "'%s' attribute %zu is incomplete", rec->code, i);
                    }
                    r->attr_names[i] = s_dup(rec->attrs[i].name);
                    r->attr_values[i] = s_dup(rec->attrs[i].value);
                }
            }
        }
    }
    if (rec->n_terms && rec->terms) {
        r->terms = calloc(rec->n_terms, sizeof *r->terms);
        if (r->terms) {
            r->n_terms = rec->n_terms;
            for (size_t i = 0; i < rec->n_terms; i++) {
                r->terms[i] = s_dup(rec->terms[i]);
            }
        }
    }
    if (v11) {
        r->valid_from = rec->valid_from;
        r->valid_to = rec->valid_to;
    }
    slot->index = m->n_recs++;
    return CS_OK;
}

static int s_emit_map(cs_sink_t *sink, const cs_map_row_t *row, cs_error_t *err)
{
    cs_mock_host_t *m = (cs_mock_host_t *)sink;
    m->emits++;
    if (m->fail_at != 0 && m->emits == m->fail_at) {
        cs_error_at(err, "", 0, 0);
        return cs_error_set(err, m->fail_rc, "mock host: emit %zu fails on purpose", m->emits);
    }
    if (!row || row->struct_size < sizeof(cs_map_row_t) || !row->map || !row->from_system ||
        !row->to_system || !row->source || (!row->target && !(row->flags & CS_MAP_NO_MAP))) {
        s_violation(m, "map row %zu is incomplete", m->emits);
        return CS_OK;
    }
    if (m->n_rows == m->cap_rows) {
        size_t cap = m->cap_rows ? m->cap_rows * 2 : 1024;
        cs_mock_map_row_t *p = realloc(m->rows, cap * sizeof *p);
        if (!p) {
            return cs_error_set(err, CS_ENOMEM, "mock host: out of memory");
        }
        m->rows = p;
        m->cap_rows = cap;
    }
    cs_mock_map_row_t *r = &m->rows[m->n_rows++];
    r->map = s_dup(row->map);
    r->from_system = s_dup(row->from_system);
    r->to_system = s_dup(row->to_system);
    r->source = s_dup(row->source);
    r->target = s_dup(row->target);
    r->flags = row->flags;
    r->scenario = row->scenario;
    r->choice = row->choice;
    r->relationship = s_dup(row->relationship);
    return CS_OK;
}

static void s_progress(cs_sink_t *sink, uint64_t bytes)
{
    cs_mock_host_t *m = (cs_mock_host_t *)sink;
    if (bytes < m->progress_last) {
        s_violation(m, "progress went down from %llu to %llu",
                    (unsigned long long)m->progress_last, (unsigned long long)bytes);
    }
    m->progress_calls++;
    m->progress_last = bytes;
}

static int s_cancelled(cs_sink_t *sink)
{
    cs_mock_host_t *m = (cs_mock_host_t *)sink;
    m->cancel_calls++;
    return m->cancel_at != 0 && m->cancel_calls >= m->cancel_at;
}

static void *s_alloc(size_t size)
{
    return malloc(size);
}

static void s_free(void *p)
{
    free(p);
}

cs_mock_host_t *cs_mock_host_new(int keep)
{
    cs_mock_host_t *m = calloc(1, sizeof *m);
    if (!m) {
        return NULL;
    }
    m->keep = keep;
    m->api.struct_size = sizeof(cs_host_api_t);
    m->api.log = s_log;
    m->api.emit = s_emit;
    m->api.progress = s_progress;
    m->api.cancelled = s_cancelled;
    m->api.alloc = s_alloc;
    m->api.free = s_free;
    m->api.emit_map = s_emit_map;
    return m;
}

void cs_mock_host_destroy(cs_mock_host_t **pm)
{
    if (!pm || !*pm) {
        return;
    }
    cs_mock_host_t *m = *pm;
    for (size_t i = 0; i < m->n_recs; i++) {
        cs_mock_record_t *r = &m->recs[i];
        free(r->code);
        free(r->kind);
        free(r->title);
        free(r->short_title);
        free(r->parent);
        for (size_t k = 0; k < r->n_notes; k++) {
            free(r->notes[k].type);
            free(r->notes[k].label);
            free(r->notes[k].text);
        }
        free(r->notes);
        for (size_t k = 0; k < r->n_attrs; k++) {
            free(r->attr_names[k]);
            free(r->attr_values[k]);
        }
        free(r->attr_names);
        free(r->attr_values);
        for (size_t k = 0; k < r->n_terms; k++) {
            free(r->terms[k]);
        }
        free(r->terms);
    }
    free(m->recs);
    for (size_t i = 0; i < m->n_rows; i++) {
        cs_mock_map_row_t *r = &m->rows[i];
        free(r->map);
        free(r->from_system);
        free(r->to_system);
        free(r->source);
        free(r->target);
        free(r->relationship);
    }
    free(m->rows);
    for (size_t i = 0; i < m->set_cap; i++) {
        free(m->set[i].key);
    }
    free(m->set);
    free(m);
    *pm = NULL;
}

const cs_host_api_t *cs_mock_host_api(cs_mock_host_t *m)
{
    return &m->api;
}

cs_sink_t *cs_mock_host_sink(cs_mock_host_t *m)
{
    return (cs_sink_t *)m;
}

void cs_mock_host_fail_emit(cs_mock_host_t *m, size_t n, int rc)
{
    m->fail_at = n;
    m->fail_rc = rc;
}

void cs_mock_host_cancel_after(cs_mock_host_t *m, size_t n)
{
    m->cancel_at = n;
}

size_t cs_mock_host_count(const cs_mock_host_t *m)
{
    return m->n_recs;
}

const cs_mock_record_t *cs_mock_host_record(const cs_mock_host_t *m, size_t i)
{
    return i < m->n_recs ? &m->recs[i] : NULL;
}

const cs_mock_record_t *cs_mock_host_find(const cs_mock_host_t *m, int cls, const char *code)
{
    const s_slot_t *s = s_find(m, cls, code);
    if (!s || !s->key || s->index == SIZE_MAX) {
        return NULL;
    }
    return &m->recs[s->index];
}

int cs_mock_host_has(const cs_mock_host_t *m, int cls, const char *code)
{
    const s_slot_t *s = s_find(m, cls, code);
    return s && s->key;
}

size_t cs_mock_host_emitted(const cs_mock_host_t *m, int cls)
{
    return cls >= 1 && cls <= 3 ? m->emitted[cls] : 0;
}

size_t cs_mock_host_billable(const cs_mock_host_t *m)
{
    return m->billable;
}

size_t cs_mock_host_violations(const cs_mock_host_t *m, const char **first)
{
    if (first) {
        *first = m->first_violation;
    }
    return m->violations;
}

size_t cs_mock_host_progress_calls(const cs_mock_host_t *m)
{
    return m->progress_calls;
}

uint64_t cs_mock_host_progress_last(const cs_mock_host_t *m)
{
    return m->progress_last;
}

size_t cs_mock_host_map_count(const cs_mock_host_t *m)
{
    return m->n_rows;
}

const cs_mock_map_row_t *cs_mock_host_map_row(const cs_mock_host_t *m, size_t i)
{
    return i < m->n_rows ? &m->rows[i] : NULL;
}

const char *cs_mock_record_attr(const cs_mock_record_t *r, const char *name)
{
    for (size_t i = 0; r && i < r->n_attrs; i++) {
        if (r->attr_names[i] && strcmp(r->attr_names[i], name) == 0) {
            return r->attr_values[i];
        }
    }
    return NULL;
}
