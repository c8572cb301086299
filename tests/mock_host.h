/* mock_host.h: a cs_host_api_t for loader tests: records every emitted record (deep copies),
 * checks the emit contract (parents first, codes short enough, titles present), and can fail
 * emit or cancel the load on cue. No LMDB, no ZeroMQ. */
#ifndef CS_MOCK_HOST_H
#define CS_MOCK_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A copied note. */
typedef struct cs_mock_note {
    char *type;  /* note type */
    char *label; /* label or NULL */
    char *text;  /* text */
} cs_mock_note_t;

/* A copied record. */
typedef struct cs_mock_record {
    uint8_t cls;           /* enum cs_entry_class */
    char *code;            /* as emitted */
    char *kind;            /* as emitted */
    int billable;          /* as emitted */
    char *title;           /* as emitted */
    char *short_title;     /* as emitted, or NULL */
    uint8_t parent_cls;    /* as emitted (0 when parent is NULL) */
    char *parent;          /* as emitted, or NULL */
    uint32_t order;        /* as emitted */
    cs_mock_note_t *notes; /* n_notes copied notes */
    size_t n_notes;
    char **attr_names;     /* n_attrs copied attribute names (ABI 1.1) */
    char **attr_values;    /* and their values */
    size_t n_attrs;
    char **terms;          /* n_terms copied search terms */
    size_t n_terms;
    int32_t valid_from;    /* as emitted */
    int32_t valid_to;      /* as emitted */
} cs_mock_record_t;

/* A copied crosswalk row (emit_map, ABI 1.1). */
typedef struct cs_mock_map_row {
    char *map;
    char *from_system;
    char *to_system;
    char *source;
    char *target;       /* NULL for no map */
    uint32_t flags;     /* enum cs_map_flag */
    uint8_t scenario;
    uint8_t choice;
    char *relationship; /* or NULL */
} cs_mock_map_row_t;

typedef struct cs_mock_host cs_mock_host_t;

/* A new mock; keep = 1 copies every record, 0 only counts and checks them. NULL on ENOMEM. */
cs_mock_host_t *cs_mock_host_new(int keep);

/* Free the mock and every copy; *m = NULL. Accepts NULL. */
void cs_mock_host_destroy(cs_mock_host_t **m);

/* The host table and sink to pass to a loader's load(); borrowed from m. */
const cs_host_api_t *cs_mock_host_api(cs_mock_host_t *m);
cs_sink_t *cs_mock_host_sink(cs_mock_host_t *m);

/* Make the n-th emit (1-based) fail with rc (the error is filled as a host would); 0: never. */
void cs_mock_host_fail_emit(cs_mock_host_t *m, size_t n, int rc);

/* Make cancelled() return 1 from its n-th call on (1-based); 0: never. */
void cs_mock_host_cancel_after(cs_mock_host_t *m, size_t n);

/* Records kept (keep = 1), in emission order; borrowed. */
size_t cs_mock_host_count(const cs_mock_host_t *m);
const cs_mock_record_t *cs_mock_host_record(const cs_mock_host_t *m, size_t i);

/* The kept record of class cls and code, or NULL. */
const cs_mock_record_t *cs_mock_host_find(const cs_mock_host_t *m, int cls, const char *code);

/* Counters over every emit (kept or not): records of a class, billable CODE records. */
size_t cs_mock_host_emitted(const cs_mock_host_t *m, int cls);
size_t cs_mock_host_billable(const cs_mock_host_t *m);

/* Contract violations seen (0 if none) and the first one's description ("" if none). */
size_t cs_mock_host_violations(const cs_mock_host_t *m, const char **first);

/* Progress: number of calls and the last value (must never go down: counted as a violation). */
size_t cs_mock_host_progress_calls(const cs_mock_host_t *m);
uint64_t cs_mock_host_progress_last(const cs_mock_host_t *m);

/* Crosswalk rows emitted through emit_map (kept whatever keep says), in emission order. */
size_t cs_mock_host_map_count(const cs_mock_host_t *m);
const cs_mock_map_row_t *cs_mock_host_map_row(const cs_mock_host_t *m, size_t i);

/* Value of attribute name of a kept record, or NULL. */
const char *cs_mock_record_attr(const cs_mock_record_t *r, const char *name);

/* Was (cls, code) emitted? Works in both modes. */
int cs_mock_host_has(const cs_mock_host_t *m, int cls, const char *code);

#ifdef __cplusplus
}
#endif
#endif /* CS_MOCK_HOST_H */
