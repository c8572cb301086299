/* ncci_mue.c: loader plugin "ncci-mue": CMS's medically unlikely edits (MUE), in the CSV
 * CMS publishes, into the edit set "ncci-mue".
 *
 * The file opens with a notice (any lines), then the header
 *     HCPCS/CPT Code,MUE Value,MUE Adjudication Indicator,MUE Rationale
 * then one code a line: the code, the most units of it on one date of service, the
 * adjudication indicator ("1 Line Edit", "2 Date of Service Edit: Policy", "3 Date of Service
 * Edit: Clinical") and the rationale; a field holding a comma is quoted. Each becomes a no-map
 * row of list "mue-cpt" or "mue-hcpcs" (a digit first is CPT, a letter HCPCS Level II), its
 * relationship "<value> <indicator text>".
 *
 * The xlsx twin (a file that is a zip archive) is read from its first sheet, a row of cells
 * for a line of fields (loaders/common/cs_tsv_xlsx.h), through the same row reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_text.h"
#include "../common/cs_tsv.h"
#include "../common/cs_tsv_xlsx.h"
#include "codeset/cs_plugin.h"

static const char s_header[] = "HCPCS/CPT Code";

static int s_row(void *ud, cs_text_t *t, const cs_tsv_row_t *row)
{
    int *header = ud;
    if (!*header) {
        *header = row->n == 4 && strcmp(row->f[0], s_header) == 0 &&
                  strcmp(row->f[1], "MUE Value") == 0;
        return CS_OK;
    }
    if (row->n != 4) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1, "%zu fields, expected 4: code, MUE "
                            "value, adjudication indicator, rationale", row->n);
    }
    const char *c = row->f[0];
    char *end;
    long v = strtol(row->f[1], &end, 10);
    if (strlen(c) != 5 || strspn(c, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 5) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[0], "'%.12s' is not a CPT or "
                            "HCPCS code", c);
    }
    if (!row->f[1][0] || *end || v < 0 || v > 100000) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[1], "MUE value '%.12s' is not "
                            "a whole number from 0 to 100000", row->f[1]);
    }
    if (!strchr("123", row->f[2][0]) || row->f[2][0] == '\0' || row->f[2][1] != ' ') {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[2], "adjudication indicator "
                            "'%.40s' does not start with 1, 2 or 3 and a space", row->f[2]);
    }
    char data[160];
    snprintf(data, sizeof data, "%ld %.120s", v, row->f[2]);
    int cpt = c[0] >= '0' && c[0] <= '9';
    return cs_tsv_emit(t, row->line, cpt ? "mue-cpt" : "mue-hcpcs", cpt ? "cpt" : "hcpcs", c,
                       data);
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    return cs_tsv_load_notice_any(host, sink, files, n_files, err, ',', 4, s_row, sizeof(int),
                                  "an MUE file (HCPCS/CPT Code, MUE Value, ...)");
}

/* The header line, or in a workbook a row starting with its first two cells. */
static int s_sniff(const char *const *files, size_t n_files)
{
    static const char *const first[] = {s_header, "MUE Value"};
    return cs_tsv_sniff_prefix(files, n_files, "HCPCS/CPT Code,MUE Value,") ||
           cs_tsv_sniff_xlsx(files, n_files, first, 2);
}

static const char *const s_systems[] = {"ncci-mue", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_ncci_mue = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "ncci-mue",
    .version = "1.0.0",
    .title = "CMS NCCI medically unlikely edits (CSV or xlsx)",
    .system = NULL,
    .loader = &s_ops,
};
