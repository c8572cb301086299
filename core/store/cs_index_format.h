/* cs_index_format.h: how an ICD-10-CM Index set (the Index to Diseases and Injuries, the
 * External Cause Index, the Table of Drugs and Chemicals, the Neoplasm Table) is stored: the
 * one contract between its loader (loaders/icd10cm-index, through the plugin ABI's records)
 * and its query (engine/cs_index.c). Change a name or a rule here and both change with it.
 *
 * An index set is a release of its own, of the set CS_INDEX_SET ("icd10cm-index"), loaded by a
 * loader with CS_LOADER_INDEX (cs_plugin.h): its entries are ordinary entry records
 * (cs_entry.h) in CS_DB_CODES and CS_DB_CHILDREN, so it is listed, diffed, retired, dropped,
 * checksummed and purged like any release, and its terms get the release's search index
 * (cs_search_format.h) built by the host as they come.
 *
 * Table root, one per table the load holds (class chapter, kind "table", no parent):
 *   code   "INDEX", "EINDEX", "DRUG" or "NEOPLASM" (CS_INDEX_ROOT_*)
 *   title  the file's <title>, or the table's name when the file has none
 *   attrs  "version" (the file's <version>), "first_doc" (decimal: the search doc id of its
 *          first term = the terms of the load emitted before it; a table's terms are one run
 *          of doc ids, up to the next table's first_doc), "head1".."head9" (the column
 *          headings of the drug and neoplasm tables: <indexHeading><head col="N">)
 * Term, one per <mainTerm> and <term> (class code, kind "main_term" or "term"):
 *   code   CS_INDEX_KEY_LEN characters: the table's letter (I, E, D, N) and 15 hex digits of
 *          the FNV-1a 64 hash of the table letter and the term path (each title with its
 *          nonessential modifiers, 0x1f between titles), the top 60 bits; a path written
 *          twice hashes on with "#2", "#3"... So a term keeps its key from year to year while
 *          its path stays, and diff shows the terms added and removed.
 *   parent the term above it, or the table root for a main term
 *   title  the title as the file writes it, its <nemod> in place: "Abandonment (causing
 *          exposure to weather conditions) (with intent to injure or kill) NEC" (runs of
 *          white space read as one space); search reads words in parentheses as
 *          nonessential (searchable, never required)
 *   terms  the titles of its ancestors, main term first (the term path above it): search
 *          finds "fall from ladder" under Fall > from, off, out of > ladder
 *   attrs  in file order, each at most once but cells: "nemod" (the modifiers alone),
 *          "see", "see_also", "see_cat" (<seecat>), "subcat", "code", "manif", "warning",
 *          then "cell2".."cell9" (a table cell, col N, as written: "--" in the drug table
 *          and "-" in the neoplasm table mean no code; a code ending in '-' needs more
 *          characters)
 *   billable 0 (a term is not a code; its codes are resolved in the tabular at query time)
 *
 * Thread-safety: constants and pure functions.
 */
#ifndef CS_INDEX_FORMAT_H
#define CS_INDEX_FORMAT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_INDEX_SET "icd10cm-index" /* the set's name in the catalog */
#define CS_INDEX_KEY_LEN 16          /* letter + 15 hex digits */
#define CS_INDEX_MAX_LEVEL 9         /* <term level="N">: 1..9 (icd10cm_index.xsd) */
#define CS_INDEX_MAX_COLS 9          /* <head col="N">, <cell col="N">: 1..9 */
#define CS_INDEX_TABLES 4

#define CS_INDEX_ROOT_INDEX "INDEX"
#define CS_INDEX_ROOT_EINDEX "EINDEX"
#define CS_INDEX_ROOT_DRUG "DRUG"
#define CS_INDEX_ROOT_NEOPLASM "NEOPLASM"

/* The tables, in the order the engine lists them. */
typedef enum cs_index_table {
    CS_INDEX_T_INDEX = 0,
    CS_INDEX_T_EINDEX = 1,
    CS_INDEX_T_DRUG = 2,
    CS_INDEX_T_NEOPLASM = 3,
} cs_index_table_t;

/* Wire name ("index", "eindex", "drug", "neoplasm"), root code, letter of term keys, name. */
static inline const char *cs_index_table_name(int t)
{
    static const char *const n[CS_INDEX_TABLES] = {"index", "eindex", "drug", "neoplasm"};
    return t >= 0 && t < CS_INDEX_TABLES ? n[t] : "";
}
static inline const char *cs_index_table_root(int t)
{
    static const char *const n[CS_INDEX_TABLES] = {CS_INDEX_ROOT_INDEX, CS_INDEX_ROOT_EINDEX,
                                                   CS_INDEX_ROOT_DRUG, CS_INDEX_ROOT_NEOPLASM};
    return t >= 0 && t < CS_INDEX_TABLES ? n[t] : "";
}
static inline char cs_index_table_letter(int t)
{
    return t >= 0 && t < CS_INDEX_TABLES ? "IEDN"[t] : '?';
}
static inline const char *cs_index_table_title(int t)
{
    static const char *const n[CS_INDEX_TABLES] = {
        "ICD-10-CM Index to Diseases and Injuries", "ICD-10-CM External Cause of Injuries Index",
        "ICD-10-CM Table of Drugs and Chemicals", "ICD-10-CM Neoplasm Table"};
    return t >= 0 && t < CS_INDEX_TABLES ? n[t] : "";
}

/* Is s[0..n) an entry key of an index set (a root code or a term key, as stored)? The host
 * takes such keys as they are (no system plugin normalises them). */
static inline int cs_index_key_ok(const char *s, size_t n)
{
    if (n == 0 || n >= 32) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            return 0;
        }
    }
    return 1;
}

/* A cell's text that stands for no code: "--" (drug table), "-" (neoplasm table), "". */
static inline int cs_index_cell_empty(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

#ifdef __cplusplus
}
#endif
#endif /* CS_INDEX_FORMAT_H */
