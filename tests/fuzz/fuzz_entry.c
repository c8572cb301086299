/* fuzz_entry.c: fuzz target for the stored entry codec (cs_entry.c): decode arbitrary bytes
 * as a value of CS_DB_CODES and walk every span; then encode a record built from the same
 * bytes and check that it decodes to what went in. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cs_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void s_require(int ok)
{
    if (!ok) {
        abort();
    }
}

/* A span of a decoded value lies inside the value: touch each byte for the sanitizers. */
static unsigned s_span(const uint8_t *val, size_t len, cs_span_t s)
{
    if (s.len == 0) {
        return 0;
    }
    const uint8_t *p = (const uint8_t *)s.ptr;
    s_require(p >= val && s.len <= len && p + s.len <= val + len);
    unsigned sum = 0;
    for (size_t i = 0; i < s.len; i++) {
        sum += p[i];
    }
    return sum;
}

static void s_decode(const uint8_t *data, size_t size)
{
    cs_entry_t e;
    if (cs_entry_decode(data, size, &e) != CS_OK) {
        return;
    }
    volatile unsigned sink = 0;
    sink += s_span(data, size, e.display) + s_span(data, size, e.parent_key);
    sink += s_span(data, size, e.parent) + s_span(data, size, e.kind);
    sink += s_span(data, size, e.title) + s_span(data, size, e.short_title);
    const uint8_t *pos = e.notes;
    cs_span_t a, b, c;
    unsigned n = 0;
    while (cs_entry_note_next(&e, &pos, &a, &b, &c)) {
        sink += s_span(data, size, a) + s_span(data, size, b) + s_span(data, size, c);
        n++;
    }
    s_require(n == e.n_notes);
    pos = e.terms;
    n = 0;
    while (cs_entry_term_next(&e, &pos, &a)) {
        sink += s_span(data, size, a);
        n++;
    }
    s_require(n == e.n_terms);
    pos = e.attrs;
    n = 0;
    while (cs_entry_attr_next(&e, &pos, &a, &b)) {
        sink += s_span(data, size, a) + s_span(data, size, b);
        n++;
    }
    s_require(n == e.n_attrs);
    (void)sink;
}

/* Cut the input into NUL-terminated strings: each byte 0 ends one. */
static size_t s_strings(char *buf, size_t size, const char **out, size_t max)
{
    size_t n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n < max; i++) {
        if (i == size || buf[i] == '\0') {
            buf[i] = '\0';
            out[n++] = buf + start;
            start = i + 1;
        }
    }
    return n;
}

static int s_eq(cs_span_t s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

static void s_round_trip(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096) {
        return;
    }
    char *buf = malloc(size + 1);
    s_require(buf != NULL);
    memcpy(buf, data + 1, size - 1);
    const char *s[12] = {""};
    size_t n = s_strings(buf, size - 1, s, 12);
    for (size_t i = n; i < 12; i++) {
        s[i] = "";
    }
    cs_note_t note = {.type = s[5], .label = s[6], .text = s[7]};
    const char *terms[1] = {s[8]};
    cs_attr_t attr = {.name = s[9], .value = s[10]};
    cs_record_t rec = {
        .struct_size = sizeof rec,
        .system = "fuzz",
        .cls = (uint8_t)(data[0] & 3),
        .kind = s[0],
        .billable = data[0] >> 7,
        .title = s[1],
        .short_title = s[2],
        .parent_cls = (uint8_t)((data[0] >> 2) & 3),
        .notes = &note,
        .n_notes = data[0] & 0x10 ? 1 : 0,
        .terms = terms,
        .n_terms = data[0] & 0x20 ? 1 : 0,
        .attrs = &attr,
        .n_attrs = data[0] & 0x40 ? 1 : 0,
        .valid_from = (int32_t)size,
    };
    cs_code_t self = {.cls = rec.cls};
    cs_code_t parent = {.cls = rec.parent_cls};
    snprintf(self.display, sizeof self.display, "%s", s[3]);
    snprintf(parent.key, sizeof parent.key, "%s", s[4]);
    snprintf(parent.display, sizeof parent.display, "%s", s[4]);
    cs_buf_t out = {0};
    s_require(cs_entry_encode(&out, &rec, &self, &parent) == CS_OK);
    cs_entry_t e;
    s_require(cs_entry_decode(out.data, out.len, &e) == CS_OK);
    s_require(e.cls == rec.cls && e.billable == rec.billable && e.parent_cls == rec.parent_cls);
    s_require(s_eq(e.display, self.display) && s_eq(e.parent_key, parent.key));
    /* texts longer than their field are cut, so only compare short ones */
    if (strlen(rec.title) < 0xFFFF) {
        s_require(s_eq(e.title, rec.title));
    }
    if (strlen(rec.kind) < 0xFF) {
        s_require(s_eq(e.kind, rec.kind));
    }
    s_require(e.n_notes == rec.n_notes && e.n_terms == rec.n_terms &&
              e.n_attrs == rec.n_attrs && e.valid_from == rec.valid_from);
    s_decode(out.data, out.len);
    cs_buf_free(&out);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_round_trip(data, size);
    return 0;
}
