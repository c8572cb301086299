/* check_csclient_fastread.c: libcsclient's reading of replies straight from their bytes
 * (csc_fastread.h) held to the general path (cs_client_prescan, msgpack-c, csc_decode.c):
 * every reply it decodes is decoded the same by the general path, whatever bytes it is given,
 * and it skips exactly what the pre-scan accepts. */
#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "codeset_client.h"
#include "csc_decode.h"
#include "csc_fastread.h"

static void s_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Replies of each shape a lookup gets, packed into sb; kind picks one. */
static void s_reply(msgpack_sbuffer *sb, int kind)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    switch (kind) {
    case 0: /* found, every scalar key */
        msgpack_pack_map(&pk, 11);
        s_str(&pk, "ok"), msgpack_pack_true(&pk);
        s_str(&pk, "found"), msgpack_pack_true(&pk);
        s_str(&pk, "code"), s_str(&pk, "E11.9");
        s_str(&pk, "system"), s_str(&pk, "icd10cm");
        s_str(&pk, "release"), s_str(&pk, "2021");
        s_str(&pk, "kind"), s_str(&pk, "code");
        s_str(&pk, "billable"), msgpack_pack_true(&pk);
        s_str(&pk, "title"), s_str(&pk, "Type 2 diabetes mellitus without complications, "
                                        "a title longer than thirty-one bytes");
        s_str(&pk, "parent"), s_str(&pk, "E11");
        s_str(&pk, "short"), s_str(&pk, "Type 2 diabetes mellitus without complications");
        s_str(&pk, "input"), s_str(&pk, "E119");
        return;
    case 1: /* a chapter: parent nil, no short title */
        msgpack_pack_map(&pk, 9);
        s_str(&pk, "ok"), msgpack_pack_true(&pk);
        s_str(&pk, "found"), msgpack_pack_true(&pk);
        s_str(&pk, "code"), s_str(&pk, "4");
        s_str(&pk, "system"), s_str(&pk, "icd10cm");
        s_str(&pk, "release"), s_str(&pk, "2021");
        s_str(&pk, "kind"), s_str(&pk, "chapter");
        s_str(&pk, "billable"), msgpack_pack_false(&pk);
        s_str(&pk, "title"), s_str(&pk, "Endocrine, nutritional and metabolic diseases (E00-E89)");
        s_str(&pk, "parent"), msgpack_pack_nil(&pk);
        return;
    case 2: /* malformed */
        msgpack_pack_map(&pk, 7);
        s_str(&pk, "ok"), msgpack_pack_true(&pk);
        s_str(&pk, "found"), msgpack_pack_false(&pk);
        s_str(&pk, "code"), s_str(&pk, "XYZ");
        s_str(&pk, "input"), s_str(&pk, "XYZ");
        s_str(&pk, "reason"), s_str(&pk, "malformed");
        s_str(&pk, "message"), s_str(&pk, "an ICD-10-CM code starts with a letter");
        s_str(&pk, "release"), s_str(&pk, "2021");
        return;
    case 3: /* notes: the general path's */
        msgpack_pack_map(&pk, 4);
        s_str(&pk, "ok"), msgpack_pack_true(&pk);
        s_str(&pk, "found"), msgpack_pack_true(&pk);
        s_str(&pk, "code"), s_str(&pk, "E11");
        s_str(&pk, "notes"), msgpack_pack_map(&pk, 0);
        return;
    default: /* an error reply: the general path's */
        msgpack_pack_map(&pk, 2);
        s_str(&pk, "ok"), msgpack_pack_false(&pk);
        s_str(&pk, "error"), msgpack_pack_map(&pk, 2);
        s_str(&pk, "code"), s_str(&pk, "unknown_system");
        s_str(&pk, "message"), s_str(&pk, "no code system 'x' is known here");
        return;
    }
}

static int s_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* If the fast reader decodes buf[0..len), the general path decodes its bytes alike. Returns 1
 * when the fast reader decoded it. */
static int s_check(const unsigned char *buf, size_t len)
{
    csc_rd_t r = {buf, buf + len};
    cs_client_lookup_t *fast = NULL;
    static _Alignas(max_align_t) unsigned char room[512];
    int in_room = (len & 1) != 0; /* both ways: in the caller's memory, in an arena */
    if (csc_rd_lookup(&r, in_room ? room : NULL, sizeof room, &fast) != 1) {
        ck_assert_ptr_eq(r.p, buf); /* left as it was */
        return 0;
    }
    size_t used = (size_t)(r.p - buf);
    ck_assert_int_eq(cs_client_prescan(buf, used), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, (const char *)buf, used, &off),
                     MSGPACK_UNPACK_SUCCESS);
    cs_client_error_t err;
    ck_assert_int_eq(cs_client_decode_status(&u.data, &err), CS_CLIENT_OK);
    cs_client_lookup_t *gen = NULL;
    ck_assert_int_eq(cs_client_decode_lookup(&u.data, &gen), CS_CLIENT_OK);
    ck_assert(fast->found == gen->found && fast->billable == gen->billable);
    ck_assert(s_same(fast->code, gen->code) && s_same(fast->input, gen->input));
    ck_assert(s_same(fast->system, gen->system) && s_same(fast->release, gen->release));
    ck_assert(s_same(fast->reason, gen->reason) && s_same(fast->message, gen->message));
    ck_assert(s_same(fast->kind, gen->kind) && s_same(fast->title, gen->title));
    ck_assert(s_same(fast->short_title, gen->short_title) && s_same(fast->parent, gen->parent));
    ck_assert(gen->n_children == 0 && gen->n_ancestors == 0 && gen->n_notes == 0);
    cs_client_lookup_destroy(&gen);
    if (fast->arena) {
        cs_client_lookup_destroy(&fast);
    }
    msgpack_unpacked_destroy(&u);
    return 1;
}

START_TEST(test_shapes)
{
    static const int fast[5] = {1, 1, 1, 0, 0};
    for (int kind = 0; kind < 5; kind++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        s_reply(&sb, kind);
        ck_assert_int_eq(s_check((const unsigned char *)sb.data, sb.size), fast[kind]);
        msgpack_sbuffer_destroy(&sb);
    }
}
END_TEST

/* Bytes changed at random, and cut short: never a read past the end (ASan), never a decode
 * the general path would not make, and csc_rd_skip takes a whole body exactly when the
 * pre-scan accepts it. */
START_TEST(test_mutations)
{
    unsigned seed = 19;
    int decoded = 0;
    for (int round = 0; round < 30000; round++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        s_reply(&sb, round % 5);
        unsigned char *buf = malloc(sb.size);
        memcpy(buf, sb.data, sb.size);
        size_t len = sb.size;
        int changes = 1 + rand_r(&seed) % 3;
        for (int i = 0; i < changes; i++) {
            buf[(size_t)rand_r(&seed) % len] = (unsigned char)rand_r(&seed);
        }
        if (rand_r(&seed) % 4 == 0) {
            len = (size_t)rand_r(&seed) % len;
        }
        unsigned char *exact = malloc(len ? len : 1); /* so ASan sees a read past len */
        memcpy(exact, buf, len);
        decoded += s_check(exact, len);
        csc_rd_t r = {exact, exact + len};
        int whole = csc_rd_skip(&r) == 0 && r.p == exact + len;
        ck_assert_int_eq(whole, cs_client_prescan(exact, len) == 0);
        free(exact);
        free(buf);
        msgpack_sbuffer_destroy(&sb);
    }
    ck_assert_int_gt(decoded, 100); /* the mutations left many readable */
}
END_TEST

Suite *cs_csclient_fastread_suite(void);
Suite *cs_csclient_fastread_suite(void)
{
    Suite *s = suite_create("csclient_fastread");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}
