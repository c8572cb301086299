/* poa_exempt.c: loader plugin "poa-exempt": the CDC's list of ICD-10-CM codes exempt from
 * present-on-admission reporting (POAexemptCodesFY26.txt), as the edit set "poa-exempt": one
 * list, "exempt", of ICD-10-CM codes. Loaded with the effective date of its fiscal year
 * (October 1), it answers the claim op's poa edit.
 *
 * The file is tab-delimited text, CRLF, with a header and three fields a row:
 *
 *     Order26<TAB>POAexemptCode<TAB>Description
 *     01238<TAB>B90.0<TAB>Sequelae of central nervous system tuberculosis
 *
 * The order number is digits; the code is passed on as written (the host canonicalises it
 * through the icd10cm plugin and refuses what is not a code); the title, quoted when it holds
 * a comma, is not kept (the ICD-10-CM release has it). The zip's other lists (codes added,
 * deleted, revised since the last year) are changes, not the list: they are refused, saying
 * which file to load instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_text.h"
#include "../common/cs_tsv.h"
#include "codeset/cs_plugin.h"

#define S_MAX_FILES 4

/* The header of the full list (and, alas, of the add list: told apart by name). */
static int s_is_header(char *const *f, size_t n)
{
    return n == 3 && strncmp(f[0], "Ord", 3) == 0 && strcmp(f[1], "POAexemptCode") == 0 &&
           strcmp(f[2], "Description") == 0;
}

static int s_digits(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
    }
    return 1;
}

static int s_row(void *ud, cs_text_t *t, const cs_tsv_row_t *row)
{
    (void)ud;
    if (row->line == 1) {
        if (!s_is_header(row->f, row->n)) {
            return cs_text_fail(t, CS_EMALFORMED, 1, 1,
                                "not a POA-exempt list: the header is not Order<NN>, "
                                "POAexemptCode, Description (load POAexemptCodesFY<NN>.txt, not "
                                "its lists of changes)");
        }
        return CS_OK;
    }
    if (row->n != 3) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, 1,
                            "%zu fields, expected 3: order number, code, description", row->n);
    }
    if (!s_digits(row->f[0])) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[0],
                            "order number '%.20s' is not digits", row->f[0]);
    }
    if (!row->f[1][0] || strlen(row->f[1]) > 8) {
        return cs_text_fail(t, CS_EMALFORMED, row->line, row->col[1],
                            "code '%.20s' is empty or longer than an ICD-10-CM code",
                            row->f[1]);
    }
    return cs_tsv_emit(t, row->line, "exempt", "icd10cm", row->f[1], NULL);
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit_map)) {
        return cs_error_set(err, CS_EINVAL, "poa-exempt: no host, no files, or no emit_map");
    }
    if (n_files != 1 || !files[0]) {
        return cs_error_set(err, CS_EINVAL, "poa-exempt takes one file, the full list "
                            "(POAexemptCodesFY<NN>.txt), got %zu", n_files);
    }
    cs_text_t t = {0};
    cs_text_begin(&t, host, sink, err);
    t.base = cs_text_base_name(files[0]);
    if (strstr(t.base, "Add") || strstr(t.base, "Delete") || strstr(t.base, "Revise")) {
        return cs_text_fail(&t, CS_EINVAL, 0, 0, "a list of the changes from last year's list, "
                            "not the list: load POAexemptCodesFY<NN>.txt");
    }
    char *buf = malloc(CS_TEXT_BUF_SIZE + 1);
    if (!buf) {
        return cs_error_set(err, CS_ENOMEM, "poa-exempt: out of memory");
    }
    int rc = cs_tsv_read(&t, files[0], buf, s_row, NULL);
    free(buf);
    return rc;
}

static int s_sniff(const char *const *files, size_t n_files)
{
    char line[256];
    char *f[4];
    if (n_files != 1 || !files || cs_tsv_first_line(files[0], line, sizeof line) != 0) {
        return 0;
    }
    size_t n = 0;
    for (char *p = line, *tok; n < 4 && (tok = strsep(&p, "\t")) != NULL;) {
        f[n++] = tok;
    }
    return s_is_header(f, n);
}

static const char *const s_systems[] = {"poa-exempt", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_poa_exempt = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "poa-exempt",
    .version = "1.0.0",
    .title = "CDC list of ICD-10-CM codes exempt from present-on-admission reporting",
    .system = NULL,
    .loader = &s_ops,
};
