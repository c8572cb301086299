/* cs_plugin.h: the plugin ABI between codesetd (the host) and its plugins.
 *
 * A plugin is a shared object that exports exactly one symbol, `cs_plugin_<name>` (the file
 * name `<name>.so` with '-' turned into '_'), a const cs_plugin_desc_t. The host reads
 * abi_major, abi_minor and struct_size first and nothing else until they check out:
 * it accepts a plugin only if abi_major == CS_ABI_MAJOR and abi_minor <= CS_ABI_MINOR.
 *
 * Two kinds:
 *  - a system plugin describes one code system: its canonical form and syntax check;
 *  - a loader plugin reads one official release format and streams records into a sink
 *    through host->emit. It never writes the store itself, starts no threads, installs no
 *    signal handlers, never calls exit/abort, and keeps no host pointer after a call returns.
 *
 * Thread-safety: every callback may be called from any thread; callbacks must not keep
 * mutable global state. `load` runs on the host's loader thread, one load at a time per
 * system.
 *
 * ABI change log:
 *   1.0 (2026-11-22)  first version: system and loader plugins, host table with log/emit/
 *                     progress/alloc/free.
 *   1.1 (2026-11-30)  cs_record_t: attrs, valid_from, valid_to; cs_host_api_t: emit_map
 *                     (crosswalk rows); cs_loader_ops_t: flags (CS_LOADER_MAPS). A plugin
 *                     built for 1.0 keeps working: the host reads the appended fields only
 *                     when struct_size (records) or abi_minor (loader ops) says they exist,
 *                     and a loader checks CS_HOST_HAS before it calls emit_map.
 *   1.2 (2026-12-03)  cs_loader_ops_t flags: CS_LOADER_INDEX (an index set: entries whose
 *                     codes are keys of core/store/cs_index_format.h, taken as they are, with
 *                     no system plugin). Nothing else changes; a 1.1 host refuses a 1.2
 *                     plugin (abi_minor too new), so it never misreads the flag.
 */
#ifndef CS_PLUGIN_H
#define CS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ABI_MAJOR 1 /* bump when anything is removed or changed */
#define CS_ABI_MINOR 2 /* bump when anything is appended */

enum cs_plugin_kind {
    CS_PLUGIN_SYSTEM = 1,
    CS_PLUGIN_LOADER = 2,
};

/* What sort of entry a record is; it scopes the code (block "B10" and category "B10" are
 * different entries). */
enum cs_entry_class {
    CS_CLASS_CHAPTER = 1,
    CS_CLASS_BLOCK = 2,
    CS_CLASS_CODE = 3,
};

/* Longest key or display form of any code, chapter or block, NUL included. */
#define CS_CODE_MAX 32

/* Log levels for host->log (as cs_log). */
enum cs_log_level {
    CS_LOG_ERROR = 0,
    CS_LOG_WARNING = 1,
    CS_LOG_NOTICE = 2,
    CS_LOG_INFO = 3,
    CS_LOG_DEBUG = 4,
};

/* A code in its two canonical forms, as a system plugin's normalize() produces them. */
typedef struct cs_code {
    uint8_t cls;                /* enum cs_entry_class the text looks like */
    char key[CS_CODE_MAX];      /* storage form: upper case, no dot ("E119", "M45-M49", "13") */
    char display[CS_CODE_MAX];  /* display form ("E11.9", "M45-M49", "13") */
} cs_code_t;

/* One note attached to an entry. Types used by ICD-10-CM: "includes", "inclusion_terms",
 * "excludes1", "excludes2", "code_first", "use_additional_code", "code_also", "notes",
 * "seven_chr_note", "seven_chr_def" (label = the character, text = its meaning). */
typedef struct cs_note {
    const char *type;  /* note type, one of the above or a loader's own */
    const char *label; /* NULL except for seven_chr_def: the 7th character */
    const char *text;  /* the note's text, UTF-8 */
} cs_note_t;

/* A named value of an entry that is not a note: an axis meaning of an ICD-10-PCS code
 * ("operation" -> "Excision: Cutting out or off, without replacement, a portion of a body
 * part"), an HCPCS action code or BETOS code, a FHIR property. lookup shows them under
 * "attributes" in emission order. */
typedef struct cs_attr {
    const char *name;  /* lower-case identifier: "operation", "betos", "added_date" */
    const char *value; /* UTF-8 text */
} cs_attr_t;

/* One entry of a release, handed to host->emit. Everything is borrowed for the duration of
 * the call only; the host copies what it keeps. Records are emitted parents first. */
typedef struct cs_record {
    uint32_t struct_size;     /* sizeof(cs_record_t) as the loader was built */
    const char *system;       /* system id the entry belongs to ("icd10cm") */
    uint8_t cls;              /* enum cs_entry_class */
    const char *code;         /* as the release writes it ("E11.9", "13", "M45-M49") */
    const char *kind;         /* "chapter", "block", "category", "subcategory", "code" ... */
    int billable;             /* 1: may stand on a claim; 0: not */
    const char *title;        /* full description, UTF-8; never NULL */
    const char *short_title;  /* short description, or NULL */
    uint8_t parent_cls;       /* class of the parent; ignored when parent is NULL */
    const char *parent;       /* the parent's code as the release writes it, or NULL */
    uint32_t order;           /* position among its siblings, ascending; 0: emission order */
    const cs_note_t *notes;   /* n_notes notes, in release order */
    size_t n_notes;
    const char *const *terms; /* n_terms extra search terms (index entries), or NULL */
    size_t n_terms;
    /* ABI 1.1 (the host reads these only when struct_size covers them) */
    const cs_attr_t *attrs;   /* n_attrs named values, or NULL */
    size_t n_attrs;
    int32_t valid_from;       /* yyyymmdd the code took effect, when it differs from its
                               * release's start (0: with the release) */
    int32_t valid_to;         /* yyyymmdd of its last valid day (an HCPCS termination date);
                               * after it validate answers not_effective (0: none) */
} cs_record_t;

/* Flags of a crosswalk row: those of the CMS General Equivalence Mappings. */
enum cs_map_flag {
    CS_MAP_APPROXIMATE = 1u << 0, /* the target is not an exact equivalent */
    CS_MAP_NO_MAP = 1u << 1,      /* the source has no target (target is NULL) */
    CS_MAP_COMBINATION = 1u << 2, /* the target is one of several that together match */
    CS_MAP_GEM_FLAGS = 1u << 7,   /* the map carries GEM flags: show all five in replies */
};

/* One row of a crosswalk (a GEMs line, a ConceptMap element/target, a conversion table
 * pair), handed to host->emit_map. Borrowed for the call only. Rows of one source may come
 * in any order; the host keeps them in emission order. */
typedef struct cs_map_row {
    uint32_t struct_size;     /* sizeof(cs_map_row_t) as the loader was built */
    const char *map;          /* id of the map inside the load ("icd9cm-icd10cm") */
    const char *from_system;  /* system of the source codes ("icd9cm") */
    const char *to_system;    /* system of the targets ("icd10cm") */
    const char *source;       /* the source code as the file writes it */
    const char *target;       /* the target code, or NULL with CS_MAP_NO_MAP */
    uint32_t flags;           /* enum cs_map_flag */
    uint8_t scenario;         /* GEM scenario (0 when not a combination) */
    uint8_t choice;           /* GEM choice list (0 when not a combination) */
    const char *relationship; /* a ConceptMap's relationship/equivalence, or NULL */
} cs_map_row_t;

typedef struct cs_sink cs_sink_t; /* opaque: the host's side of one running load */

/* The host API, passed to every loader call. It only grows at its end (check struct_size). */
typedef struct cs_host_api {
    uint32_t struct_size;
    /* Log one line, prefixed by the plugin's name. */
    void (*log)(int level, const char *plugin, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* Store one record. Returns CS_OK, or a negative CS_E* code: the loader must stop and
     * return that code unchanged (err is already filled by the host). */
    int (*emit)(cs_sink_t *sink, const cs_record_t *rec, cs_error_t *err);
    /* Report progress: bytes read so far over all files of the load. */
    void (*progress)(cs_sink_t *sink, uint64_t bytes_done);
    /* Non-zero once the load should stop (shutdown); the loader returns CS_ETERM. */
    int (*cancelled)(cs_sink_t *sink);
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);
    /* ABI 1.1: store one crosswalk row (loaders with CS_LOADER_MAPS). Returns like emit. */
    int (*emit_map)(cs_sink_t *sink, const cs_map_row_t *row, cs_error_t *err);
} cs_host_api_t;

/* Does the host table have member m? (A host built for an older ABI has a shorter table.) */
#define CS_HOST_HAS(host, m) \
    ((host)->struct_size >= offsetof(cs_host_api_t, m) + sizeof((host)->m) && (host)->m)

/* System plugin operations. */
typedef struct cs_system_ops {
    /* Canonicalise user or release text: any case, with or without the dot, surrounding white
     * space allowed. On success fill *out and return CS_OK; otherwise return CS_EMALFORMED
     * and say why in err->msg ("'E1' is too short: ..."). Never reads past len. */
    int (*normalize)(const char *in, size_t len, cs_code_t *out, cs_error_t *err);
    /* Does a string look like a code or code prefix (for search)? 1 yes, 0 no. */
    int (*looks_like_code)(const char *in, size_t len);
    const char *const *kinds; /* NULL-terminated list of the kinds its entries use */
} cs_system_ops_t;

/* Loader plugin operations. files[] are absolute paths, in the order the admin gave them: the
 * host hands links it made (same base names) to the regular files it opened and checked, so
 * opening one never blocks and always reaches the file checked. */
typedef struct cs_loader_ops {
    const char *const *systems; /* NULL-terminated ids of the systems it fills */
    /* 1 if this loader recognises the set of files (by peeking at their starts), else 0. */
    int (*sniff)(const char *const *files, size_t n_files);
    /* Stream the release into sink through host->emit. Returns CS_OK, or a negative code with
     * err filled: file, line, column where known, and a sentence. */
    int (*load)(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                size_t n_files, cs_error_t *err);
    /* ABI 1.1 (read only when the descriptor's abi_minor >= 1): enum cs_loader_flag. */
    uint32_t flags;
} cs_loader_ops_t;

enum cs_loader_flag {
    /* The loader fills a map set, not a code system: systems[0] names the set ("gems"), it
     * calls emit_map, never emit, and its releases answer crosswalk. */
    CS_LOADER_MAPS = 1u << 0,
    /* The loader fills whatever system the admin names in the load request's "system" (a
     * FHIR CodeSystem). The host files every record under that system and ignores
     * rec->system. With CS_LOADER_MAPS, "system" names the map set instead of systems[0]. */
    CS_LOADER_ANY_SYSTEM = 1u << 1,
    /* ABI 1.2. The loader fills an index set (the ICD-10-CM Index and its tables), not a code
     * system: systems[0] names the set ("icd10cm-index"), no system plugin is involved, and
     * it emits records (never map rows) whose code and parent are keys as
     * core/store/cs_index_format.h lays them out (upper-case letters and digits, taken as they
     * are). Its releases answer the index op. */
    CS_LOADER_INDEX = 1u << 2,
};

/* The descriptor every plugin exports as `const cs_plugin_desc_t cs_plugin_<name>`. */
typedef struct cs_plugin_desc {
    uint32_t abi_major; /* CS_ABI_MAJOR at build time: must stay first */
    uint32_t abi_minor; /* CS_ABI_MINOR at build time */
    uint32_t struct_size; /* sizeof(cs_plugin_desc_t) at build time */
    uint32_t kind;        /* enum cs_plugin_kind */
    const char *name;     /* id: "icd10cm", "icd10cm-tabular"; matches the file name */
    const char *version;  /* the plugin's own version string */
    const char *title;    /* one line for people */
    const cs_system_ops_t *system; /* kind == CS_PLUGIN_SYSTEM, else NULL */
    const cs_loader_ops_t *loader; /* kind == CS_PLUGIN_LOADER, else NULL */
} cs_plugin_desc_t;

/* Fill the version fields; use as the first initialiser of a descriptor. */
#define CS_PLUGIN_HEADER \
    .abi_major = CS_ABI_MAJOR, .abi_minor = CS_ABI_MINOR, .struct_size = sizeof(cs_plugin_desc_t)

/* Export the descriptor (plugins build with -fvisibility=hidden). */
#define CS_PLUGIN_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
}
#endif
#endif /* CS_PLUGIN_H */
