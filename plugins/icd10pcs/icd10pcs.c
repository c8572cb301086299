/* icd10pcs.c: the ICD-10-PCS system plugin: the syntax and canonical form of its codes and of
 * the 3-character tables that head them.
 *
 *   code   0DT30ZZ, 0dt30zz, " 0DT30ZZ "  -> key and display "0DT30ZZ"
 *   table  0dt                            -> key and display "0DT" (a header entry)
 *
 * A code has exactly seven characters, each a digit or an upper-case letter other than I and O
 * (left out so that they are never read as 1 and 0), and no dot. The first character names the
 * section; the second and third the body system and the operation, which is why the tables
 * loader emits each 3-character table as a header entry of class CS_CLASS_CODE. "NoPCS", which
 * the GEMs write where an ICD-9-CM procedure has no map, is refused with a message that says so.
 *
 * normalize() runs on every request: it allocates nothing, keeps no state and never reads past
 * len. Error messages quote the input (trimmed, cut after CS_CODE_TEXT_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) and give the 1-based position of the offending character.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/cs_code_text.h"
#include "codeset/cs_plugin.h"

#define S_CODE_LEN 7   /* every code has exactly seven characters */
#define S_TABLE_LEN 3  /* a table header: section, body system, operation */
#define S_PREFIX_MIN 2 /* shortest text looks_like_code takes for a code prefix */

/* First characters in use: sections 0-9 (medical and surgical through chiropractic), B
 * imaging, C nuclear medicine, D radiation therapy, F physical rehabilitation, G mental
 * health, H substance abuse treatment, X new technology. */
static const char s_sections[] = "0123456789BCDFGHX";

/* I and O are letters ICD-10-PCS never uses, in either case. */
static int s_is_banned_letter(unsigned char c)
{
    char u = cs_code_text_upper(c);
    return u == 'I' || u == 'O';
}

/* A character an ICD-10-PCS code may hold, in either case. */
static int s_is_pcs_char(unsigned char c)
{
    return cs_code_text_is_digit(c) || (cs_code_text_is_alpha(c) && !s_is_banned_letter(c));
}

static int s_is_section(unsigned char c)
{
    return c != '\0' && strchr(s_sections, cs_code_text_upper(c)) != NULL;
}

/* Refuse the first character that no code may hold, saying which and where. */
static int s_check_chars(const unsigned char *p, size_t n, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (s_is_pcs_char(c)) {
            continue;
        }
        if (cs_code_text_is_alpha(c)) {
            return cs_code_text_fail(err, p, n, ": the letter '%c' (position %zu) is never used in "
                                                "ICD-10-PCS, which leaves out I and O",
                                     cs_code_text_upper(c), i + 1);
        }
        if (c == '.') {
            return cs_code_text_fail(err, p, n, ": ICD-10-PCS codes have no dot (position %zu)",
                                     i + 1);
        }
        return cs_code_text_bad_char(err, p, n, i, "an ICD-10-PCS code");
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = cs_code_text_input("icd10pcs", in, len, out, &p, &n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (cs_code_text_is_word(p, n, "NoPCS")) {
        return cs_code_text_fail(err, p, n,
                                 " is the GEMs mark for a procedure without a map, not an "
                                 "ICD-10-PCS code");
    }
    rc = s_check_chars(p, n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (n > S_CODE_LEN) {
        return cs_code_text_fail(err, p, n,
                                 ": too long (%zu characters; an ICD-10-PCS code has %d)",
                                 n, S_CODE_LEN);
    }
    if (n != S_CODE_LEN && n != S_TABLE_LEN) {
        return cs_code_text_fail(err, p, n,
                                 " is too short: an ICD-10-PCS code has %d characters (a "
                                 "table %d)",
                                 S_CODE_LEN, S_TABLE_LEN);
    }
    if (!s_is_section(p[0])) {
        return cs_code_text_fail(err, p, n,
                                 ": no ICD-10-PCS section starts with '%c' (sections are 0-9, "
                                 "B, C, D, F, G, H and X)",
                                 cs_code_text_upper(p[0]));
    }
    out->cls = CS_CLASS_CODE;
    for (size_t i = 0; i < n; i++) {
        out->key[i] = cs_code_text_upper(p[i]);
    }
    out->key[n] = '\0';
    memcpy(out->display, out->key, n + 1);
    return CS_OK;
}

/* A code or a code prefix: 2 to 7 characters of the ICD-10-PCS alphabet that start with a
 * section. Words made of letters alone pass that test too ("BED"), so a shorter prefix must
 * hold a digit; only a full seven-character code may be letters alone ("DHYBFZZ"). */
static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    size_t n = len;
    const unsigned char *p = cs_code_text_trim((const unsigned char *)in, &n);
    if (n < S_PREFIX_MIN || n > S_CODE_LEN || !s_is_section(p[0])) {
        return 0;
    }
    int has_digit = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s_is_pcs_char(p[i])) {
            return 0;
        }
        has_digit |= cs_code_text_is_digit(p[i]);
    }
    return has_digit || n == S_CODE_LEN;
}

static const char *const s_kinds[] = {"section", "body_system", "table", "code", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_looks_like_code,
    .kinds = s_kinds,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10pcs = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = "icd10pcs",
    .version = "1.0.0",
    .title = "ICD-10-PCS (procedures)",
    .system = &s_ops,
    .loader = NULL,
};
