/* cli_json.c: msgpack object -> JSON text, one line (see cli_json.h). */
#include "cli_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char s_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t s_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return len;
}

int cs_cli_json_write_str(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (fputc('"', out) == EOF) {
        return -1;
    }
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        int rc = 0;
        if (c == '"') {
            rc = fputs("\\\"", out);
        } else if (c == '\\') {
            rc = fputs("\\\\", out);
        } else if (c == '\n') {
            rc = fputs("\\n", out);
        } else if (c == '\r') {
            rc = fputs("\\r", out);
        } else if (c == '\t') {
            rc = fputs("\\t", out);
        } else if (c == '\b') {
            rc = fputs("\\b", out);
        } else if (c == '\f') {
            rc = fputs("\\f", out);
        } else if (c < 0x20 || c == 0x7F) {
            rc = fprintf(out, "\\u%04x", c);
        } else if (c < 0x80) {
            rc = fputc(c, out);
        } else {
            size_t len = s_utf8_len(p + i, n - i);
            if (len == 0) {
                rc = fputs("\\ufffd", out);
                i++;
            } else {
                rc = fwrite(p + i, 1, len, out) == len ? 0 : EOF;
                i += len;
            }
            if (rc == EOF || rc < 0) {
                return -1;
            }
            continue;
        }
        if (rc == EOF || rc < 0) {
            return -1;
        }
        i++;
    }
    return fputc('"', out) == EOF ? -1 : 0;
}

static int s_write_base64(FILE *out, const unsigned char *p, size_t n)
{
    if (fputc('"', out) == EOF) {
        return -1;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t left = n - i;
        if (left > 1) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (left > 2) {
            v |= p[i + 2];
        }
        char quad[4];
        quad[0] = s_b64[(v >> 18) & 63];
        quad[1] = s_b64[(v >> 12) & 63];
        quad[2] = left > 1 ? s_b64[(v >> 6) & 63] : '=';
        quad[3] = left > 2 ? s_b64[v & 63] : '=';
        if (fwrite(quad, 1, 4, out) != 4) {
            return -1;
        }
    }
    return fputc('"', out) == EOF ? -1 : 0;
}

/* Shortest %g form that reads back as the same value; NaN and infinities are null. */
static int s_write_float(FILE *out, double v, int is_float32)
{
    if (isnan(v) || isinf(v)) {
        return fputs("null", out) == EOF ? -1 : 0;
    }
    char buf[40];
    int max_prec = is_float32 ? 9 : 17;
    for (int prec = 1; prec <= max_prec; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        double back = strtod(buf, NULL);
        if (is_float32 ? (float)back == (float)v : back == v) {
            break;
        }
    }
    /* Keep a float recognisable as one: 2.0 prints "2.0", not "2". */
    if (strpbrk(buf, ".eE") == NULL) {
        strcat(buf, ".0");
    }
    return fputs(buf, out) == EOF ? -1 : 0;
}

static int s_write_key(FILE *out, const msgpack_object *key)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        return cs_cli_json_write_str(out, key->via.str.ptr, key->via.str.size);
    }
    if (key->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return fprintf(out, "\"%" PRIu64 "\"", key->via.u64) < 0 ? -1 : 0;
    }
    if (key->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return fprintf(out, "\"%" PRId64 "\"", key->via.i64) < 0 ? -1 : 0;
    }
    if (key->type == MSGPACK_OBJECT_BIN) {
        return s_write_base64(out, (const unsigned char *)key->via.bin.ptr, key->via.bin.size);
    }
    char *text = cs_cli_json_dup(key);
    if (text == NULL) {
        return -1;
    }
    int rc = cs_cli_json_write_str(out, text, strlen(text));
    free(text);
    return rc;
}

int cs_cli_json_write(FILE *out, const msgpack_object *obj)
{
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        return fputs("null", out) == EOF ? -1 : 0;
    case MSGPACK_OBJECT_BOOLEAN:
        return fputs(obj->via.boolean ? "true" : "false", out) == EOF ? -1 : 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return fprintf(out, "%" PRIu64, obj->via.u64) < 0 ? -1 : 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return fprintf(out, "%" PRId64, obj->via.i64) < 0 ? -1 : 0;
    case MSGPACK_OBJECT_FLOAT32:
        return s_write_float(out, obj->via.f64, 1);
    case MSGPACK_OBJECT_FLOAT64:
        return s_write_float(out, obj->via.f64, 0);
    case MSGPACK_OBJECT_STR:
        return cs_cli_json_write_str(out, obj->via.str.ptr, obj->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return s_write_base64(out, (const unsigned char *)obj->via.bin.ptr, obj->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return s_write_base64(out, (const unsigned char *)obj->via.ext.ptr, obj->via.ext.size);
    case MSGPACK_OBJECT_ARRAY:
        if (fputc('[', out) == EOF) {
            return -1;
        }
        for (uint32_t i = 0; i < obj->via.array.size; i++) {
            if (i > 0 && fputc(',', out) == EOF) {
                return -1;
            }
            if (cs_cli_json_write(out, &obj->via.array.ptr[i]) != 0) {
                return -1;
            }
        }
        return fputc(']', out) == EOF ? -1 : 0;
    case MSGPACK_OBJECT_MAP:
        if (fputc('{', out) == EOF) {
            return -1;
        }
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            const msgpack_object_kv *kv = &obj->via.map.ptr[i];
            if (i > 0 && fputc(',', out) == EOF) {
                return -1;
            }
            if (s_write_key(out, &kv->key) != 0 || fputc(':', out) == EOF) {
                return -1;
            }
            if (cs_cli_json_write(out, &kv->val) != 0) {
                return -1;
            }
        }
        return fputc('}', out) == EOF ? -1 : 0;
    }
    return fputs("null", out) == EOF ? -1 : 0;
}

char *cs_cli_json_dup(const msgpack_object *obj)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem == NULL) {
        return NULL;
    }
    int rc = cs_cli_json_write(mem, obj);
    if (fclose(mem) != 0 || rc != 0) {
        free(text);
        return NULL;
    }
    return text;
}
