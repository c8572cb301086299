/* ncci_ptp.c: loader plugin "ncci-ptp": CMS's National Correct Coding Initiative
 * procedure-to-procedure (PTP) edits, in the tab-delimited text CMS publishes, into the edit
 * set "ncci-ptp".
 *
 * The file opens with a notice (any lines, blank ones too), then a header wrapped over lines:
 *
 *     Column 1<TAB>Column 2<TAB>*=in existence prior to 1996<TAB>Effective<TAB>Deletion<TAB>
 *         Modifier<TAB>PTP Edit Rationale
 *     <TAB><TAB><TAB>Date<TAB>Date<TAB>0=not allowed ...      (continuation: column 1 empty)
 *
 * then one edit a line: column 1 code, column 2 code, "*" or nothing, effective date
 * (YYYYMMDD), deletion date (YYYYMMDD, or "*" for none), modifier indicator (0, 1 or 9) and
 * the rationale. Each edit becomes a no-map row of list "ptp-cpt" or "ptp-hcpcs" (by column
 * 1's shape: a digit first is CPT, a letter HCPCS Level II) keyed by column 1, its
 * relationship "<column 2> <effective> <deletion or 0> <indicator>".
 *
 * The xlsx twin (a file that is a zip archive) is read from its first sheet, a row of cells
 * for a line of fields (loaders/common/cs_tsv_xlsx.h), through the same row reading: the same
 * notice, header and columns, the same checks, the same rows, its faults at the sheet's row
 * and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_text.h"
#include "../common/cs_tsv.h"
#include "../common/cs_tsv_xlsx.h"
#include "codeset/cs_plugin.h"

typedef struct s_load {
    int header;    /* 0: in the notice; 1: in or after the header (first: cs_tsv.h) */
    uint64_t rows;
} s_load_t;

/* A CPT or HCPCS Level II code: 5 letters or digits. */
static int s_code(const char *s)
{
    if (strlen(s) != 5) {
        return 0;
    }
    for (int i = 0; i < 5; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
            return 0;
        }
    }
    return 1;
}

/* A date YYYYMMDD (month and day in range); *out the number. */
static int s_date(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (strlen(s) != 8 || *end || v / 10000 < 1980 || (v / 100) % 100 < 1 ||
        (v / 100) % 100 > 12 || v % 100 < 1 || v % 100 > 31) {
        return 0;
    }
    *out = v;
    return 1;
}

static int s_row(void *ud, cs_text_t *t, const cs_tsv_row_t *row)
{
    s_load_t *ld = ud;
    if (!ld->header) {
        ld->header = row->n >= 2 && strcmp(row->f[0], "Column 1") == 0 &&
                     strcmp(row->f[1], "Column 2") == 0;
        return CS_OK; /* the notice, then the header's first line */
    }
    if (!ld->rows && (row->f[0][0] == '\0' || !s_code(row->f[0]))) {
        return CS_OK; /* the header's continuation lines, before the first edit */
    }
    if (row->n != 7) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "%zu fields, expected 7: column 1, "
                            "column 2, prior to 1996, effective date, deletion date, modifier "
                            "indicator, rationale", row->n);
    }
    long eff = 0, del = 0;
    const char *bad = !s_code(row->f[0]) ? "column 1 is not a CPT or HCPCS code"
                      : !s_code(row->f[1]) ? "column 2 is not a CPT or HCPCS code"
                      : !s_date(row->f[3], &eff) ? "the effective date is not YYYYMMDD"
                      : (strcmp(row->f[4], "*") != 0 && !s_date(row->f[4], &del))
                          ? "the deletion date is neither YYYYMMDD nor *"
                      : (strlen(row->f[5]) != 1 || !strchr("019", row->f[5][0]))
                          ? "the modifier indicator is not 0, 1 or 9"
                          : NULL;
    if (bad) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "%s", bad);
    }
    char data[64];
    snprintf(data, sizeof data, "%s %ld %ld %c", row->f[1], eff, del, row->f[5][0]);
    int cpt = row->f[0][0] >= '0' && row->f[0][0] <= '9';
    ld->rows++;
    return cs_tsv_emit(t, row->line, cpt ? "ptp-cpt" : "ptp-hcpcs", cpt ? "cpt" : "hcpcs",
                       row->f[0], data);
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    return cs_tsv_load_notice_any(host, sink, files, n_files, err, '\t', 7, s_row,
                                  sizeof(s_load_t), "an NCCI PTP file (Column 1, Column 2, ...)");
}

/* Within its first lines, a line starting "Column 1<TAB>Column 2<TAB>", or, in a workbook, a
 * row starting with cells "Column 1" and "Column 2". */
static int s_sniff(const char *const *files, size_t n_files)
{
    static const char *const first[] = {"Column 1", "Column 2"};
    return cs_tsv_sniff_prefix(files, n_files, "Column 1\tColumn 2\t") ||
           cs_tsv_sniff_xlsx(files, n_files, first, 2);
}

static const char *const s_systems[] = {"ncci-ptp", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_ncci_ptp = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "ncci-ptp",
    .version = "1.0.0",
    .title = "CMS NCCI procedure-to-procedure edits (tab-delimited text or xlsx)",
    .system = NULL,
    .loader = &s_ops,
};
