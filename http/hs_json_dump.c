/* hs_json_dump.c: a jansson value as compact JSON text (hs_json_dump.h). */
#include "hs_json_dump.h"

#include "hs_arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef hs_jbuf_t s_buf_t;

static inline int s_room(s_buf_t *b, size_t n)
{
    if (b->failed) {
        return 0;
    }
    if (b->len + n + 1 <= b->cap) {
        return 1;
    }
    /* a one-code answer fits at once; under 1 KiB, glibc serves it without first merging
     * its fast bins (a larger first block cost 2% of a one-code request) */
    size_t cap = b->cap ? b->cap : 1000;
    while (cap < b->len + n + 1) {
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->failed = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

static void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (s_room(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static void s_putc(s_buf_t *b, char c)
{
    if (s_room(b, 1)) {
        b->p[b->len++] = c;
    }
}

/* A string, quoted and escaped as jansson escapes it: room for the worst case (every byte
 * \u00XX) is made once, then bytes are copied without a call each. */
static void s_string(s_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (n > (SIZE_MAX - 2) / 6 || !s_room(b, n * 6 + 2)) {
        b->failed = 1;
        return;
    }
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

/* A real, as jansson writes it. */
static void s_real(s_buf_t *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        b->failed = 1;
        return;
    }
    s_put(b, text, strlen(text));
    hs_arena_free(text); /* jansson's memory: its free, arena or not */
}

static void s_value(s_buf_t *b, const json_t *v, int depth)
{
    if (depth > HS_JSON_DUMP_MAX_DEPTH) {
        b->failed = 1;
        return;
    }
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        json_t *x;
        int first = 1;
        s_putc(b, '{');
        json_object_keylen_foreach((json_t *)v, key, klen, x) {
            if (!first) {
                s_putc(b, ',');
            }
            first = 0;
            s_string(b, key, klen);
            s_putc(b, ':');
            s_value(b, x, depth + 1);
        }
        s_putc(b, '}');
        return;
    }
    case JSON_ARRAY:
        s_putc(b, '[');
        for (size_t i = 0, n = json_array_size(v); i < n; i++) {
            if (i) {
                s_putc(b, ',');
            }
            s_value(b, json_array_get(v, i), depth + 1);
        }
        s_putc(b, ']');
        return;
    case JSON_STRING: s_string(b, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER:
        s_put(b, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                                       json_integer_value(v)));
        return;
    case JSON_REAL: s_real(b, v); return;
    case JSON_TRUE: s_put(b, "true", 4); return;
    case JSON_FALSE: s_put(b, "false", 5); return;
    case JSON_NULL: s_put(b, "null", 4); return;
    default: b->failed = 1; return;
    }
}

char *hs_json_dump(const json_t *v, size_t *len)
{
    s_buf_t b = {0};
    if (v == NULL) {
        return NULL;
    }
    s_value(&b, v, 0);
    if (hs_jbuf_text(&b) == NULL) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void hs_jbuf_raw(hs_jbuf_t *b, const char *s, size_t n)
{
    s_put(b, s, n);
}

void hs_jbuf_str(hs_jbuf_t *b, const char *s, size_t n)
{
    s_string(b, s ? s : "", s ? n : 0);
}

void hs_jbuf_value(hs_jbuf_t *b, const json_t *v)
{
    if (v == NULL) {
        b->failed = 1;
        return;
    }
    s_value(b, v, 0);
}

void hs_jbuf_insert(hs_jbuf_t *b, size_t at, const char *s, size_t n)
{
    if (at > b->len || !s_room(b, n)) {
        b->failed = 1;
        return;
    }
    memmove(b->p + at + n, b->p + at, b->len - at);
    memcpy(b->p + at, s, n);
    b->len += n;
}

void hs_jbuf_cut(hs_jbuf_t *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
    }
}

const char *hs_jbuf_text(hs_jbuf_t *b)
{
    if (b->failed || !s_room(b, 0)) {
        return NULL;
    }
    b->p[b->len] = '\0';
    return b->p;
}

void hs_jbuf_free(hs_jbuf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
