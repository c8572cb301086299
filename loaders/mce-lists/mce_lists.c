/* mce_lists.c: loader plugin "mce-lists": the "simple" code lists of the Medicare Code
 * Editor (MCE) as a third party (nlindner/CMS_Issued_Codes_For_SQL) derived them from CMS's
 * "Definitions of Medicare Code Edits", into the edit set "mce". It is NOT a CMS file: CMS
 * publishes the lists inside a text/PDF manual; this layout is that repository's.
 *
 * A load takes one list file and the age-ranges file (mce_age_ranges.tsv, shipped beside
 * this loader): the MCE's ages are data of each version, not constants here.
 *
 *   MCE_Simple_Code_Edits_v34.txt   MCE_Version, ICD_Version, MCE_Section, MCE_Subsection,
 *                                   MCE_Edit_Type, ICD_Code_Type (D/P), ICD_Code, ICD_Desc
 *   mce_age_ranges.tsv              MCE_Version, MCE_Edit_Type, Age_From, Age_To
 *
 * Every row becomes a no-map row of one list (a map of the set, from icd10cm for diagnoses,
 * icd10pcs for procedures), its relationship the age range where the list has one ("12-55"):
 *   Newborn_Only/Pediatric_Only/Maternity_Only/Adult_Only D   age-newborn ... age-adult
 *   Female_Only, Male_Only D | P                  sex-female-dx, sex-female-px, sex-male-...
 *   Principal_Manifestation D                     manifestation
 *   Principal_Questionable_Admit D                questionable-admission
 *   Principal_Unacceptable D                      unacceptable-principal
 *   Noncovered_Always P                           noncovered
 *   Noncovered_Over60 P                           noncovered-age (the ages it is not covered)
 *   Limited_Coverage P                            limited-coverage
 *   Wrong_Performed D                             wrong-procedure
 *   Noncovered_LOS_96hr P                         noncovered-los-96hr
 * One version a load; ICD-9 rows (ICD_Version 9) are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_text.h"
#include "../common/cs_tsv.h"
#include "codeset/cs_plugin.h"

#define S_RANGES 32

static const char *const s_list_header[] = {"MCE_Version", "ICD_Version",   "MCE_Section",
                                            "MCE_Subsection", "MCE_Edit_Type", "ICD_Code_Type",
                                            "ICD_Code",    "ICD_Desc"};
static const char *const s_range_header[] = {"MCE_Version", "MCE_Edit_Type", "Age_From",
                                             "Age_To"};

static const struct {
    const char *type;   /* MCE_Edit_Type */
    char code_type;     /* D or P */
    const char *map;    /* the list */
    int ranged;         /* 1: the ranges file gives its ages */
} s_lists[] = {
    {"Newborn_Only", 'D', "age-newborn", 1},
    {"Pediatric_Only", 'D', "age-pediatric", 1},
    {"Maternity_Only", 'D', "age-maternity", 1},
    {"Adult_Only", 'D', "age-adult", 1},
    {"Female_Only", 'D', "sex-female-dx", 0},
    {"Female_Only", 'P', "sex-female-px", 0},
    {"Male_Only", 'D', "sex-male-dx", 0},
    {"Male_Only", 'P', "sex-male-px", 0},
    {"Principal_Manifestation", 'D', "manifestation", 0},
    {"Principal_Questionable_Admit", 'D', "questionable-admission", 0},
    {"Principal_Unacceptable", 'D', "unacceptable-principal", 0},
    {"Noncovered_Always", 'P', "noncovered", 0},
    {"Noncovered_Over60", 'P', "noncovered-age", 1},
    {"Limited_Coverage", 'P', "limited-coverage", 0},
    {"Wrong_Performed", 'D', "wrong-procedure", 0},
    {"Noncovered_LOS_96hr", 'P', "noncovered-los-96hr", 0},
};
#define S_N_LISTS (sizeof s_lists / sizeof s_lists[0])

typedef struct s_range {
    char version[8];
    char type[40];
    char data[24]; /* "12-55" */
} s_range_t;

typedef struct s_load {
    s_range_t ranges[S_RANGES];
    size_t n_ranges;
    char version[8]; /* the list's MCE version, from its first row */
} s_load_t;

static int s_header_is(const cs_tsv_row_t *row, const char *const *names, size_t n)
{
    if (row->n != n) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(row->f[i], names[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static int s_age(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 150) {
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int s_range_row(void *ud, cs_text_t *t, const cs_tsv_row_t *row)
{
    s_load_t *ld = ud;
    if (row->line == 1) {
        return s_header_is(row, s_range_header, 4)
                   ? CS_OK
                   : cs_text_fail(t, CS_EMALFORMED, 1, 1, "not an MCE age-ranges file: the "
                                  "header is not MCE_Version, MCE_Edit_Type, Age_From, Age_To");
    }
    int lo, hi;
    if (row->n != 4 || !s_age(row->f[2], &lo) || !s_age(row->f[3], &hi) || lo > hi) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "expected a version, an edit type "
                            "and two ages from 0 to 150, the first not above the second");
    }
    if (ld->n_ranges == S_RANGES || strlen(row->f[0]) >= 8 || strlen(row->f[1]) >= 40) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "more than %d ranges, or a version "
                            "or edit type too long", S_RANGES);
    }
    s_range_t *r = &ld->ranges[ld->n_ranges++];
    snprintf(r->version, sizeof r->version, "%s", row->f[0]);
    snprintf(r->type, sizeof r->type, "%s", row->f[1]);
    snprintf(r->data, sizeof r->data, "%d-%d", lo, hi);
    return CS_OK;
}

static const char *s_range_of(const s_load_t *ld, const char *type)
{
    for (size_t i = 0; i < ld->n_ranges; i++) {
        if (strcmp(ld->ranges[i].version, ld->version) == 0 &&
            strcmp(ld->ranges[i].type, type) == 0) {
            return ld->ranges[i].data;
        }
    }
    return NULL;
}

/* Check one row's version fields; its list index into *li. */
static int s_list_of(s_load_t *ld, cs_text_t *t, const cs_tsv_row_t *row, size_t *li)
{
    if (row->n != 8) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "%zu fields, expected 8", row->n);
    }
    if (strcmp(row->f[1], "10") != 0) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[1], "ICD_Version '%.8s': only "
                            "the ICD-10 lists (version 10) are loaded", row->f[1]);
    }
    if (!ld->version[0]) {
        if (strlen(row->f[0]) >= sizeof ld->version || !row->f[0][0]) {
            return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "MCE_Version '%.8s' is empty or "
                                "too long", row->f[0]);
        }
        snprintf(ld->version, sizeof ld->version, "%s", row->f[0]);
    } else if (strcmp(row->f[0], ld->version) != 0) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "MCE_Version %.8s after version %s: "
                            "a load holds one version", row->f[0], ld->version);
    }
    const char *ct = row->f[5];
    for (size_t i = 0; i < S_N_LISTS; i++) {
        if (strcmp(row->f[4], s_lists[i].type) == 0 && ct[0] == s_lists[i].code_type && !ct[1]) {
            *li = i;
            return CS_OK;
        }
    }
    return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[4], "edit type '%.40s' with code "
                        "type '%.4s' is not one of the MCE's simple lists", row->f[4], ct);
}

static int s_list_row(void *ud, cs_text_t *t, const cs_tsv_row_t *row)
{
    s_load_t *ld = ud;
    if (row->line == 1) {
        return s_header_is(row, s_list_header, 8)
                   ? CS_OK
                   : cs_text_fail(t, CS_EMALFORMED, 1, 1, "not an MCE simple-edits list: the "
                                  "header is not MCE_Version, ICD_Version, MCE_Section, "
                                  "MCE_Subsection, MCE_Edit_Type, ICD_Code_Type, ICD_Code, "
                                  "ICD_Desc");
    }
    size_t li = 0;
    int rc = s_list_of(ld, t, row, &li);
    if (rc != CS_OK) {
        return rc;
    }
    const char *data = NULL;
    if (s_lists[li].ranged && !(data = s_range_of(ld, s_lists[li].type))) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[4], "the age-ranges file gives "
                            "no ages for %s in MCE version %s", s_lists[li].type, ld->version);
    }
    const char *from = s_lists[li].code_type == 'D' ? "icd10cm" : "icd10pcs";
    return cs_tsv_emit(t, row->line, s_lists[li].map, from, row->f[6], data);
}

/* Which file is the ranges file (its first line's header), or -1. */
static int s_is_ranges(const char *path)
{
    char line[256];
    return cs_tsv_first_line(path, line, sizeof line) == 0 &&
           strncmp(line, "MCE_Version\tMCE_Edit_Type\t", 26) == 0;
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit_map)) {
        return cs_error_set(err, CS_EINVAL, "mce-lists: no host, no files, or no emit_map");
    }
    if (n_files != 2 || !files[0] || !files[1]) {
        return cs_error_set(err, CS_EINVAL, "mce-lists takes two files, the list "
                            "(MCE_Simple_Code_Edits_v<NN>.txt) and the age ranges "
                            "(mce_age_ranges.tsv), got %zu", n_files);
    }
    int ri = s_is_ranges(files[0]) ? 0 : s_is_ranges(files[1]) ? 1 : -1;
    if (ri < 0) {
        return cs_error_set(err, CS_EINVAL, "mce-lists: neither file is the age-ranges file "
                            "(mce_age_ranges.tsv, header MCE_Version, MCE_Edit_Type, ...)");
    }
    s_load_t *ld = calloc(1, sizeof *ld);
    char *buf = malloc(CS_TEXT_BUF_SIZE + 1);
    int rc = CS_ENOMEM;
    if (ld && buf) {
        cs_text_t t = {0};
        cs_text_begin(&t, host, sink, err);
        rc = cs_tsv_read(&t, files[ri], buf, s_range_row, ld);
        if (rc == CS_OK) {
            rc = cs_tsv_read(&t, files[1 - ri], buf, s_list_row, ld);
        }
    } else {
        cs_error_set(err, rc, "mce-lists: out of memory");
    }
    free(buf);
    free(ld);
    return rc;
}

static int s_sniff(const char *const *files, size_t n_files)
{
    char line[256];
    if (n_files != 2 || !files) {
        return 0;
    }
    for (size_t i = 0; i < 2; i++) {
        if (cs_tsv_first_line(files[i], line, sizeof line) == 0 &&
            strncmp(line, "MCE_Version\tICD_Version\tMCE_Section\t", 36) == 0) {
            return s_is_ranges(files[1 - i]);
        }
    }
    return 0;
}

static const char *const s_systems[] = {"mce", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_mce_lists = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "mce-lists",
    .version = "1.0.0",
    .title = "Medicare Code Editor simple lists, as derived by a third party (not a CMS file)",
    .system = NULL,
    .loader = &s_ops,
};
