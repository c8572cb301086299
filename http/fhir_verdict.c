/* fhir_verdict.c: a validate result as $validate-code's answer (fhir_ops.h): the verdict of
 * one coding, and the Parameters over several (a CodeableConcept).
 *
 * Issues carry the tx-issue-type codes tx.fhir.org uses: a code of the wrong syntax or not in
 * the release is invalid-code (OperationOutcome code "invalid" / "code-invalid"); a header
 * (not_billable) or a code not in effect on the date of service is code-rule
 * ("business-rule"): the code exists but may not stand on this claim; in a ValueSet check a
 * code outside the value set adds not-in-vs. Each issue also names our reason
 * (urn:codeset:reason). A wrong display is a warning (invalid-display) that leaves result as
 * the code decides.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fhir_ops.h"
#include "util/cs_utf8.h"

/* s lower-cased, trimmed, each run of white space one space, into out (cut at cap). */
static void s_fold(const char *s, char *out, size_t cap)
{
    size_t at = 0;
    int space = 0;
    for (; *s && at + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            space = at > 0;
            continue;
        }
        if (space && at + 2 < cap) {
            out[at++] = ' ';
        }
        space = 0;
        out[at++] = (char)tolower((unsigned char)*s);
    }
    out[at] = '\0';
}

/* Equal but for case and runs of white space. */
static int s_loose_eq(const char *a, const char *b)
{
    char fa[2048], fb[2048];
    s_fold(a, fa, sizeof fa);
    s_fold(b, fb, sizeof fb);
    return strcmp(fa, fb) == 0;
}

/* The issues a verdict may raise, in the order they are written. */
enum {
    S_HEADER_OK = 1,  /* information: a header, allowed by abstract=true */
    S_REASON = 2,     /* error: the reason the code is refused */
    S_NOT_IN_VS = 4,  /* error: not in the value set asked about */
    S_DISPLAY = 8,    /* warning: the display given is not the code's */
};

/* One issue, ready to print. */
typedef struct s_issue {
    const char *severity, *code, *tx, *reason;
    const char *text;   /* as printed: UTF-8 (fhir_str's repair) */
    char expr[96];
    char buf[1024];     /* text, when made here */
} s_issue_t;

/* s as fhir_str makes it: itself when UTF-8, else its ASCII with '?' for every other byte
 * (into buf, cut at cap). */
static const char *s_utf8(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (cs_utf8_end(s, n, 1) == n) {
        return s;
    }
    size_t i = 0;
    for (; i < n && i + 1 < cap; i++) {
        buf[i] = (unsigned char)s[i] >= 0x80 ? '?' : s[i];
    }
    buf[i] = '\0';
    return buf;
}

static void s_set(s_issue_t *is, const fhir_verdict_t *v, const char *severity,
                  const char *code, const char *tx, const char *reason, const char *field)
{
    is->severity = severity;
    is->code = code;
    is->tx = tx;
    is->reason = reason;
    snprintf(is->expr, sizeof is->expr, "%s%s", v->in.where ? v->in.where : "", field);
}

/* Issue `which` (one S_ bit) of v, its text made and repaired. */
static void s_issue(const fhir_verdict_t *v, unsigned which, s_issue_t *is)
{
    const fhir_vc_in_t *in = &v->in;
    const char *reason = in->result.reason ? in->result.reason : "unknown";
    char text[1024];
    const char *t = text;
    if (which == S_HEADER_OK) {
        s_set(is, v, "information", "business-rule", "code-rule", in->result.reason, "code");
        t = in->result.message ? in->result.message : "";
    } else if (which == S_REASON) {
        int rule = strcmp(reason, "not_billable") == 0 || strcmp(reason, "not_effective") == 0;
        s_set(is, v, "error", strcmp(reason, "malformed") == 0 ? "invalid"
                              : rule                           ? "business-rule"
                                                               : "code-invalid",
              rule ? "code-rule" : "invalid-code", reason, "code");
        if (in->result.message) {
            t = in->result.message;
        } else {
            snprintf(text, 256, "Unknown code '%.100s' in the CodeSystem '%.100s'", v->code,
                     in->uri);
        }
    } else if (which == S_NOT_IN_VS) {
        s_set(is, v, "error", "code-invalid", "not-in-vs", NULL, "code");
        snprintf(text, 768,
                 "The provided code '%.200s#%.100s' was not found in the value set '%.300s'",
                 in->uri, v->code, in->value_set);
    } else {
        s_set(is, v, "warning", "invalid", "invalid-display", NULL, "display");
        snprintf(text, sizeof text,
                 "Wrong Display Name '%.200s' for %.200s#%.100s. Valid display is '%.400s'",
                 in->display, in->uri, v->code, v->title);
    }
    is->text = s_utf8(t, is->buf, sizeof is->buf);
    if (is->text == text) {
        snprintf(is->buf, sizeof is->buf, "%s", text);
        is->text = is->buf;
    }
}

void fhir_vc_verdict(const fhir_vc_in_t *in, fhir_verdict_t *v)
{
    memset(v, 0, sizeof *v);
    v->in = *in;
    const fhir_vres_t *res = &in->result;
    /* abstract=true: the client allows a header here (a grouping, not a claim line). */
    int header_ok = !res->valid && in->abstract_ok && res->reason &&
                    strcmp(res->reason, "not_billable") == 0;
    v->result = res->valid || header_ok;
    v->code = res->code ? res->code : "";
    v->title = res->title ? res->title : in->title;
    if (header_ok) {
        v->issues |= S_HEADER_OK;
    } else if (!res->valid) {
        v->issues |= S_REASON;
        if (in->value_set && !(res->reason && strcmp(res->reason, "not_billable") == 0)) {
            v->issues |= S_NOT_IN_VS;
        }
    }
    if (in->display && v->title && !s_loose_eq(in->display, v->title) &&
        !(in->short_title && s_loose_eq(in->display, in->short_title))) {
        v->issues |= S_DISPLAY;
    }
}

/* ---- printing ---- */

static void s_lit(hs_jbuf_t *b, const char *s)
{
    hs_jbuf_lit(b, s);
}

static void s_str(hs_jbuf_t *b, const char *s)
{
    hs_jbuf_str(b, s, strlen(s));
}

/* A parameter of a Parameters, after the first: head is `,{"name":"x","valueY":` and s is
 * written as fhir_str makes it. */
#define S_PARAM(name, vkey) ",{\"name\":\"" name "\",\"" vkey "\":"
static void s_param_str(hs_jbuf_t *b, const char *head, size_t head_len, const char *s,
                        int checked)
{
    char fixed[4096];
    hs_jbuf_raw(b, head, head_len);
    s_str(b, checked ? s : s_utf8(s, fixed, sizeof fixed));
    hs_jbuf_raw(b, "}", 1);
}
/* checked: s is UTF-8 already (a reply's str: cs_out_strn repaired it; a request's: jansson
 * checked it). */
#define S_PUT(b, name, vkey, s, checked)                                                        \
    s_param_str(b, S_PARAM(name, vkey), sizeof S_PARAM(name, vkey) - 1, s, checked)

/* An issue as fhir_issue makes it. */
static void s_issue_write(hs_jbuf_t *b, const s_issue_t *is)
{
    s_lit(b, "{\"severity\":");
    s_str(b, is->severity);
    s_lit(b, ",\"code\":");
    s_str(b, is->code);
    s_lit(b, ",\"details\":{");
    if (is->tx || is->reason) {
        s_lit(b, "\"coding\":[");
        if (is->tx) {
            s_lit(b, "{\"system\":\"" FHIR_TX_ISSUE_SYSTEM "\",\"code\":");
            s_str(b, is->tx);
            s_lit(b, is->reason ? "}," : "}");
        }
        if (is->reason) {
            s_lit(b, "{\"system\":\"" FHIR_REASON_SYSTEM "\",\"code\":");
            s_str(b, is->reason);
            s_lit(b, "}");
        }
        s_lit(b, "],");
    }
    s_lit(b, "\"text\":");
    s_str(b, is->text);
    s_lit(b, "},\"location\":[");
    s_str(b, is->expr);
    s_lit(b, "],\"expression\":[");
    s_str(b, is->expr);
    s_lit(b, "]}");
}

#define S_MSG_MAX 4096 /* the message parameter, at most */

/* What the answer says: its issues and their texts, from the verdicts that speak (a valid
 * answer speaks of its own coding only). */
typedef struct s_say {
    const fhir_verdict_t *v;
    size_t n, pick;
    int any;
    /* the texts joined with "; " (cut at S_MSG_MAX) */
    char *msg;
    size_t at;
    hs_jbuf_t *b;    /* when set, the issues are printed onto it */
    int n_printed;
} s_say_t;

static void s_say_one(s_say_t *say, const s_issue_t *is)
{
    if (!say->b) {
        int k = snprintf(say->msg + say->at, S_MSG_MAX - say->at, "%s%s", say->at ? "; " : "",
                         is->text);
        say->at += k > 0 ? (size_t)k : 0;
        if (say->at >= S_MSG_MAX) {
            say->at = S_MSG_MAX - 1;
        }
        return;
    }
    s_lit(say->b, say->n_printed++ ? "," : ",{\"name\":\"issues\",\"resource\":{"
                                           "\"resourceType\":\"OperationOutcome\",\"issue\":[");
    s_issue_write(say->b, is);
}

/* Every issue that speaks, in order, through s_say_one. */
static void s_say(s_say_t *say)
{
    for (size_t i = 0; i < say->n; i++) {
        const fhir_verdict_t *v = &say->v[i];
        if ((say->any && i != say->pick) || v->issues == 0) {
            continue;
        }
        for (unsigned bit = 1; bit <= S_DISPLAY; bit <<= 1) {
            if (v->issues & bit) {
                s_issue_t is;
                s_issue(v, bit, &is);
                s_say_one(say, &is);
            }
        }
    }
}

void fhir_vc_write(hs_jbuf_t *b, const fhir_verdict_t *v, size_t n)
{
    char msg[S_MSG_MAX]; /* not zeroed: only what is written is read */
    s_say_t say = {.v = v, .n = n, .msg = msg};
    for (size_t i = 0; i < n && !say.any; i++) {
        if (v[i].result) {
            say.any = 1;
            say.pick = i;
        }
    }
    s_lit(b, "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"result\","
             "\"valueBoolean\":");
    s_lit(b, say.any ? "true}" : "false}");
    if (n > 0) {
        const fhir_verdict_t *c = &v[say.pick];
        S_PUT(b, "code", "valueCode", c->code, 1);
        S_PUT(b, "system", "valueUri", c->in.uri ? c->in.uri : "", 0);
        if (c->in.release) {
            S_PUT(b, "version", "valueString", c->in.release, 1);
        }
        if (c->title) {
            S_PUT(b, "display", "valueString", c->title, 1);
        }
    }
    s_say(&say); /* the texts first: the message precedes the issues */
    if (say.at) {
        S_PUT(b, "message", "valueString", say.msg, 0);
    }
    say.b = b;
    s_say(&say);
    s_lit(b, say.n_printed ? "]}}]}" : "]}");
}
