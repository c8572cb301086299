/* check_proto_part.c: a worker's decoding of one slice of a claims request
 * (cs_request_decode_part): the slice's claims as the whole decode gives them, the rest
 * zeroed, and what is not a slice the broker would send decoded whole, its error the whole
 * decode's. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "engine/cs_claim.h"
#include "engine/cs_op.h"
#include "wire/cs_proto.h"

#define U CS_OP_CLAIM_UNITS

static void s_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Claim k: k % 3 + 1 diagnoses, k % 2 procedures, an age of k; broken: without its date. */
static void s_claim(msgpack_packer *pk, uint32_t k, int broken)
{
    static const char *const dx[] = {"E11.9", "I10", "J45.909"};
    msgpack_pack_map(pk, broken ? 3 : 4);
    if (!broken) {
        s_str(pk, "date");
        s_str(pk, "2021-03-01");
    }
    s_str(pk, "patient");
    msgpack_pack_map(pk, 1);
    s_str(pk, "age");
    msgpack_pack_uint32(pk, k % 100);
    s_str(pk, "diagnoses");
    msgpack_pack_array(pk, k % 3 + 1);
    for (uint32_t i = 0; i < k % 3 + 1; i++) {
        msgpack_pack_map(pk, 1);
        s_str(pk, "code");
        s_str(pk, dx[(k + i) % 3]);
    }
    s_str(pk, "procedures");
    msgpack_pack_array(pk, k % 2);
    if (k % 2) {
        msgpack_pack_map(pk, 2);
        s_str(pk, "system");
        s_str(pk, "icd10pcs");
        s_str(pk, "code");
        s_str(pk, "0DTJ4ZZ");
    }
}

/* {"id": 7, "op": "claims", "claims": [n claims]} (the claims key first when first); claim
 * broken (n or more: none) has no date. */
static void s_body(msgpack_sbuffer *sb, uint32_t n, int first, uint32_t broken)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    if (!first) {
        s_str(&pk, "id");
        msgpack_pack_uint32(&pk, 7);
        s_str(&pk, "op");
        s_str(&pk, "claims");
    }
    s_str(&pk, "claims");
    msgpack_pack_array(&pk, n);
    for (uint32_t k = 0; k < n; k++) {
        s_claim(&pk, k, k == broken);
    }
    if (first) {
        s_str(&pk, "op");
        s_str(&pk, "claims");
        s_str(&pk, "id");
        msgpack_pack_uint32(&pk, 7);
    }
}

static int s_same_str(cs_str_t a, cs_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void s_same_claim(const cs_claim_t *a, const cs_claim_t *b)
{
    ck_assert_int_eq(a->date, b->date);
    ck_assert_int_eq(a->age, b->age);
    ck_assert_int_eq(a->has_age, b->has_age);
    ck_assert_uint_eq(a->n_dx, b->n_dx);
    ck_assert_uint_eq(a->n_px, b->n_px);
    for (uint32_t i = 0; i < a->n_dx; i++) {
        ck_assert(s_same_str(a->dx[i].code, b->dx[i].code));
    }
    for (uint32_t i = 0; i < a->n_px; i++) {
        ck_assert(s_same_str(a->px[i].code, b->px[i].code));
        ck_assert(s_same_str(a->px[i].system, b->px[i].system));
        ck_assert_int_eq(a->px[i].units, b->px[i].units);
    }
}

/* Every slice [lo, hi) of 9 claims, the claims key first or last: the slice's claims are
 * the whole decode's, the others zeroed, and the envelope is the same. */
START_TEST(test_slice_is_the_whole_decode)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_body(&sb, 9, _i, 99);
    cs_request_t whole, part;
    cs_request_init(&whole);
    cs_request_init_reusable(&part);
    cs_error_t err;
    ck_assert_int_eq(cs_request_decode(&whole, sb.data, sb.size, &err), CS_PERR_NONE);
    for (uint32_t lo = 0; lo <= 9; lo++) {
        for (uint32_t hi = lo; hi <= 9; hi++) {
            cs_proto_err_t e = cs_request_decode_part(&part, sb.data, sb.size, lo * U, hi * U,
                                                      &err);
            ck_assert_msg(e == CS_PERR_NONE, "[%u, %u): %s", lo, hi, err.msg);
            ck_assert_int_eq(part.op, CS_OP_CLAIMS);
            ck_assert_int_eq(part.has_id, 1);
            ck_assert_uint_eq(part.n_claims, 9);
            for (uint32_t k = 0; k < 9; k++) {
                if (k >= lo && k < hi) {
                    s_same_claim(&part.claims[k], &whole.claims[k]);
                } else {
                    ck_assert_uint_eq(part.claims[k].n_dx, 0);
                    ck_assert_int_eq(part.claims[k].date, 0);
                }
            }
            cs_request_release(&part);
        }
    }
    cs_request_release(&whole);
    cs_request_fini(&part);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* What the broker never hands over, and a slice whose own claim does not decode, are decoded
 * whole: the error is the whole decode's. */
START_TEST(test_not_a_slice)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cs_request_t whole, part;
    cs_request_init(&whole);
    cs_request_init(&part);
    cs_error_t ew, ep;
    /* a broken claim outside the slice is not this slice's to check (the one holding it is) */
    s_body(&sb, 6, 0, 4);
    ck_assert_int_eq(cs_request_decode(&whole, sb.data, sb.size, &ew), CS_PERR_BAD_REQUEST);
    ck_assert_int_eq(cs_request_decode_part(&part, sb.data, sb.size, 0, 2 * U, &ep),
                     CS_PERR_NONE);
    cs_request_release(&part);
    /* inside it: decoded whole, so the error names the claim as the whole decode does */
    ck_assert_int_eq(cs_request_decode_part(&part, sb.data, sb.size, 3 * U, 6 * U, &ep),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(ep.msg, ew.msg);
    ck_assert_msg(strstr(ep.msg, "claims[4]") != NULL, "%s", ep.msg);
    cs_request_release(&part);
    cs_request_release(&whole);
    /* too deep after the claims: the error's offset is the body's, not the rewritten one's */
    msgpack_sbuffer deep;
    msgpack_sbuffer_init(&deep);
    msgpack_sbuffer_write(&deep, "\x84", 1); /* one more key: "x", arrays nested 40 deep */
    msgpack_sbuffer_write(&deep, sb.data + 1, sb.size - 1);
    msgpack_sbuffer_write(&deep, "\xa1x", 2);
    for (int i = 0; i < 40; i++) {
        msgpack_sbuffer_write(&deep, "\x91", 1);
    }
    msgpack_sbuffer_write(&deep, "\x01", 1);
    ck_assert_int_eq(cs_request_decode(&whole, deep.data, deep.size, &ew), CS_PERR_BAD_REQUEST);
    ck_assert_int_eq(cs_request_decode_part(&part, deep.data, deep.size, 0, 0, &ep),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(ep.msg, ew.msg);
    cs_request_release(&part);
    cs_request_release(&whole);
    msgpack_sbuffer_destroy(&deep);
    /* a slice past the claims, a truncated body, "claims" twice: decoded whole */
    s_body(&sb, 6, 0, 99);
    ck_assert_int_eq(cs_request_decode_part(&part, sb.data, sb.size, 0, 7 * U, &ep),
                     CS_PERR_NONE);
    ck_assert_uint_eq(part.n_claims, 6);
    cs_request_release(&part);
    for (size_t cut = 0; cut < sb.size; cut++) {
        cs_proto_err_t a = cs_request_decode(&whole, sb.data, cut, &ew);
        cs_proto_err_t b = cs_request_decode_part(&part, sb.data, cut, 0, 3 * U, &ep);
        ck_assert_int_eq(a, b);
        ck_assert_str_eq(ew.msg, ep.msg);
        cs_request_release(&whole);
        cs_request_release(&part);
    }
    msgpack_sbuffer twice;
    msgpack_sbuffer_init(&twice);
    msgpack_sbuffer_write(&twice, "\x84", 1); /* the map of 3 becomes 4, "claims" again */
    msgpack_sbuffer_write(&twice, sb.data + 1, sb.size - 1);
    msgpack_sbuffer_write(&twice, "\xa6" "claims\x90", 8);
    ck_assert_int_eq(cs_request_decode(&whole, twice.data, twice.size, &ew),
                     CS_PERR_BAD_REQUEST);
    ck_assert_int_eq(cs_request_decode_part(&part, twice.data, twice.size, 0, U, &ep),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(ew.msg, ep.msg);
    cs_request_release(&whole);
    cs_request_release(&part);
    msgpack_sbuffer_destroy(&twice);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Any byte of a hand-over changed to any of a few values: an answer or an error, never a
 * read out of bounds (run under ASan). */
START_TEST(test_corrupt_hand_over)
{
    static const unsigned char values[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                           0xc1, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_body(&sb, 5, 1, 99);
    unsigned char *copy = malloc(sb.size);
    ck_assert_ptr_nonnull(copy);
    cs_request_t part;
    cs_request_init_reusable(&part);
    cs_error_t err;
    for (size_t at = 0; at < sb.size; at++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(copy, sb.data, sb.size);
            copy[at] = values[v];
            cs_proto_err_t e = cs_request_decode_part(&part, copy, sb.size, U, 4 * U, &err);
            ck_assert(e == CS_PERR_NONE || err.msg[0] != '\0');
            cs_request_release(&part);
        }
    }
    cs_request_fini(&part);
    free(copy);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

Suite *cs_proto_part_suite(void);
Suite *cs_proto_part_suite(void)
{
    Suite *s = suite_create("proto_part");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_slice_is_the_whole_decode, 0, 2);
    tcase_add_test(tc, test_not_a_slice);
    tcase_add_test(tc, test_corrupt_hand_over);
    suite_add_tcase(s, tc);
    return s;
}
