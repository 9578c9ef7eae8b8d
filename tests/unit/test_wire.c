/* Unit tests for the msgpack layer: zn_wire_check limits, zn_doc_parse, typed getters, text and
 * identifier rules, hex helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "zn_wire.h"

#define CHECK(buf, depth, objs) zn_wire_check((const uint8_t *)(buf), sizeof(buf) - 1, (depth), (objs))

/* ------------------------------------------------------------ zn_wire_check */

static void test_check_accepts_plain_objects(void **state)
{
    (void)state;
    assert_int_equal(CHECK("\x00", 8, 10), 0);                      /* fixint 0 */
    assert_int_equal(CHECK("\xff", 8, 10), 0);                      /* negative fixint -1 */
    assert_int_equal(CHECK("\xc0", 8, 10), 0);                      /* nil */
    assert_int_equal(CHECK("\xc2", 8, 10), 0);                      /* false */
    assert_int_equal(CHECK("\xc3", 8, 10), 0);                      /* true */
    assert_int_equal(CHECK("\xa3" "abc", 8, 10), 0);                /* fixstr */
    assert_int_equal(CHECK("\xc4\x02" "ab", 8, 10), 0);             /* bin8 */
    assert_int_equal(CHECK("\xcf\x01\x02\x03\x04\x05\x06\x07\x08", 8, 10), 0); /* uint64 */
    assert_int_equal(CHECK("\xd3\x01\x02\x03\x04\x05\x06\x07\x08", 8, 10), 0); /* int64 */
    assert_int_equal(CHECK("\x93\x01\x02\x03", 8, 10), 0);          /* [1,2,3] */
    assert_int_equal(CHECK("\x81\xa1" "a\x01", 8, 10), 0);          /* {"a":1} */
    assert_int_equal(CHECK("\x90", 8, 10), 0);                      /* [] */
    assert_int_equal(CHECK("\x80", 8, 10), 0);                      /* {} */
    assert_int_equal(CHECK("\xdc\x00\x02\x01\x02", 8, 10), 0);      /* array16 of 2 */
    assert_int_equal(CHECK("\xdd\x00\x00\x00\x01\xc0", 8, 10), 0);  /* array32 of 1 */
}

static void test_check_refuses_empty_and_trailing(void **state)
{
    (void)state;
    uint8_t b[2] = {0x01, 0x02};
    assert_int_equal(zn_wire_check(b, 0, 8, 10), -1);
    assert_int_equal(zn_wire_check(b, 2, 8, 10), -1); /* two objects: trailing byte */
    assert_int_equal(zn_wire_check(NULL, 0, 8, 10), -1);
    assert_int_equal(CHECK("\x91\x01\x02", 8, 10), -1); /* [1] + trailing 2 */
}

static void test_check_refuses_lying_counts(void **state)
{
    (void)state;
    /* containers and strings that claim more than the buffer holds */
    assert_int_equal(CHECK("\xdd\xff\xff\xff\xff\x01", 8, 100), -1);     /* array32 of 2^32-1 */
    assert_int_equal(CHECK("\xdf\xff\xff\xff\xff\x01\x01", 8, 100), -1); /* map32 */
    assert_int_equal(CHECK("\xdc\xff\xff\x01", 8, 100), -1);             /* array16 */
    assert_int_equal(CHECK("\xde\x00\x02\x01\x01\x01", 8, 100), -1);     /* map16 of 2, 3 bytes */
    assert_int_equal(CHECK("\xdb\xff\xff\xff\xff" "abc", 8, 100), -1);   /* str32 */
    assert_int_equal(CHECK("\xc6\x00\x01\x00\x00" "abc", 8, 100), -1);   /* bin32 of 65536 */
    assert_int_equal(CHECK("\xc4\x05" "abc", 8, 100), -1);               /* bin8 short */
    assert_int_equal(CHECK("\xa5" "abc", 8, 100), -1);                   /* fixstr short */
    assert_int_equal(CHECK("\x95\x01\x02", 8, 100), -1);                 /* fixarray short */
    assert_int_equal(CHECK("\xcd\x01", 8, 100), -1);                     /* uint16 short */
    assert_int_equal(CHECK("\xcf\x01\x02\x03", 8, 100), -1);             /* uint64 short */
    assert_int_equal(CHECK("\xdd\x00\x00", 8, 100), -1);                 /* length itself short */
    assert_int_equal(CHECK("\xc5\x00", 8, 100), -1);
}

static void test_check_depth(void **state)
{
    (void)state;
    uint8_t b[32];
    /* n nested fixarrays of one element around a 0: depth n */
    for (unsigned n = 1; n <= 10; n++) {
        memset(b, 0x91, n);
        b[n] = 0x00;
        int want = n <= ZN_WIRE_MAX_DEPTH ? 0 : -1;
        assert_int_equal(zn_wire_check(b, n + 1, ZN_WIRE_MAX_DEPTH, 100), want);
        assert_int_equal(zn_wire_check(b, n + 1, 3, 100), n <= 3 ? 0 : -1);
    }
    /* empty containers do not add a level */
    memset(b, 0x91, 8);
    b[8] = 0x90;
    assert_int_equal(zn_wire_check(b, 9, 8, 100), 0);
    /* a depth limit above the compiled maximum is refused outright */
    assert_int_equal(CHECK("\x01", ZN_WIRE_MAX_DEPTH + 1, 10), -1);
    /* maps count as a level too */
    assert_int_equal(CHECK("\x81\x01\x81\x01\x01", 1, 10), -1);
    assert_int_equal(CHECK("\x81\x01\x81\x01\x01", 2, 10), 0);
}

static void test_check_object_count(void **state)
{
    (void)state;
    /* [1,2,3,4,5,6,7,8,9,10]: 11 objects */
    const char *a = "\x9a\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a";
    assert_int_equal(zn_wire_check((const uint8_t *)a, 11, 8, 11), 0);
    assert_int_equal(zn_wire_check((const uint8_t *)a, 11, 8, 10), -1);
    assert_int_equal(zn_wire_check((const uint8_t *)a, 11, 8, 1), -1);
    /* a map of n pairs is 2n+1 objects */
    assert_int_equal(CHECK("\x82\x01\x02\x03\x04", 8, 5), 0);
    assert_int_equal(CHECK("\x82\x01\x02\x03\x04", 8, 4), -1);
}

static void test_check_refuses_floats_ext_and_c1(void **state)
{
    (void)state;
    assert_int_equal(CHECK("\xca\x3f\x80\x00\x00", 8, 10), -1);                 /* float32 1.0 */
    assert_int_equal(CHECK("\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 8, 10), -1); /* float64 */
    assert_int_equal(CHECK("\xd4\x01\x00", 8, 10), -1);                         /* fixext1 */
    assert_int_equal(CHECK("\xd5\x01\x00\x00", 8, 10), -1);                     /* fixext2 */
    assert_int_equal(CHECK("\xd6\xff\x00\x00\x00\x00", 8, 10), -1);             /* timestamp32 */
    assert_int_equal(CHECK("\xd7\x01\x00\x00\x00\x00\x00\x00\x00\x00", 8, 10), -1);
    assert_int_equal(CHECK("\xd8\x01" "0123456789abcdef", 8, 10), -1);          /* fixext16 */
    assert_int_equal(CHECK("\xc7\x01\x01\x00", 8, 10), -1);                     /* ext8 */
    assert_int_equal(CHECK("\xc8\x00\x01\x01\x00", 8, 10), -1);                 /* ext16 */
    assert_int_equal(CHECK("\xc9\x00\x00\x00\x01\x01\x00", 8, 10), -1);         /* ext32 */
    assert_int_equal(CHECK("\xc1", 8, 10), -1);                                 /* never used */
    /* ... also when nested */
    assert_int_equal(CHECK("\x92\x01\xca\x3f\x80\x00\x00", 8, 10), -1);
    assert_int_equal(CHECK("\x81\xa1" "a\xc1", 8, 10), -1);
}

static void test_check_every_prefix_of_a_valid_object(void **state)
{
    (void)state;
    static const char v[] = "\x94\x01\xa3" "abc\x92\xc4\x02" "xy\xcd\x01\x00\x81\xa1" "k\xc3";
    size_t n = sizeof v - 1;
    assert_int_equal(zn_wire_check((const uint8_t *)v, n, 8, 100), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(zn_wire_check((const uint8_t *)v, i, 8, 100), -1);
}

/* ------------------------------------------------------------ zn_doc_parse and getters */

static void test_doc_parse_and_getters(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_true(&pk);
    zn_pack_bin(&pk, "0123456789abcdef", 16);
    zn_pack_str(&pk, "J. de Vries");
    zn_pack_str(&pk, "wijkracht");
    msgpack_pack_map(&pk, 1);
    zn_pack_str(&pk, "k");
    msgpack_pack_nil(&pk);
    msgpack_pack_array(&pk, 0);

    zn_doc d;
    assert_int_equal(zn_doc_parse(&d, (const uint8_t *)sb.data, sb.size, 8, 100), 0);
    const msgpack_object *a = zn_obj_array(&d.root, 8);
    assert_non_null(a);
    assert_null(zn_obj_array(&d.root, 7));
    uint32_t count = 0;
    assert_non_null(zn_obj_array_min(&d.root, 8, &count));
    assert_int_equal(count, 8);
    assert_null(zn_obj_array_min(&d.root, 9, &count));

    uint64_t u = 0;
    assert_int_equal(zn_obj_u64(&a[0], &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(zn_obj_u64_max(&a[0], UINT32_MAX, &u), -1);
    assert_int_equal(zn_obj_u64(&a[1], &u), -1); /* negative */
    assert_int_equal(zn_obj_u64(&a[2], &u), -1); /* bool */
    bool bv = false;
    assert_int_equal(zn_obj_bool(&a[2], &bv), 0);
    assert_true(bv);
    assert_int_equal(zn_obj_bool(&a[0], &bv), -1);

    uint8_t id[16];
    const uint8_t *bp = NULL;
    size_t bn = 0;
    assert_int_equal(zn_obj_bin_fixed(&a[3], id, 16), 0);
    assert_memory_equal(id, "0123456789abcdef", 16);
    assert_int_equal(zn_obj_bin_fixed(&a[3], id, 15), -1);
    assert_int_equal(zn_obj_bin(&a[3], 16, &bp, &bn), 0);
    assert_int_equal(bn, 16);
    assert_int_equal(zn_obj_bin(&a[3], 15, &bp, &bn), -1);
    assert_int_equal(zn_obj_bin(&a[4], 100, &bp, &bn), -1); /* str is not bin */

    char s[64];
    assert_int_equal(zn_obj_text(&a[4], s, sizeof s), 0);
    assert_string_equal(s, "J. de Vries");
    assert_int_equal(zn_obj_text(&a[4], s, 11), -1); /* does not fit with its NUL */
    assert_int_equal(zn_obj_text(&a[4], s, 12), 0);
    assert_int_equal(zn_obj_ident(&a[4], s, sizeof s), -1); /* capitals, space */
    assert_int_equal(zn_obj_ident(&a[5], s, sizeof s), 0);
    assert_string_equal(s, "wijkracht");
    assert_int_equal(zn_obj_text(&a[3], s, sizeof s), -1); /* bin is not str */

    assert_non_null(zn_obj_map_get(&a[6], "k"));
    assert_null(zn_obj_map_get(&a[6], "x"));
    assert_null(zn_obj_map_get(&a[5], "k"));
    assert_non_null(zn_obj_array(&a[7], 0));
    assert_true(zn_obj_str_eq(&a[5], "wijkracht"));
    assert_false(zn_obj_str_eq(&a[5], "wijk"));
    zn_doc_free(&d);
    zn_doc_free(&d); /* safe twice */

    /* a failed parse leaves the doc freed */
    assert_int_equal(zn_doc_parse(&d, (const uint8_t *)sb.data, sb.size - 1, 8, 100), -1);
    assert_false(d.live);
    zn_doc_free(&d);
    assert_int_equal(zn_doc_parse(&d, (const uint8_t *)sb.data, sb.size, 8, 5), -1);
    assert_false(d.live);
    msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------ text and identifiers */

#define TV(lit) zn_text_valid((lit), sizeof(lit) - 1)

static void test_text_valid(void **state)
{
    (void)state;
    assert_true(TV("J. de Vries (IB)"));
    assert_true(TV("Zo\xc3\xab Janssen"));          /* ë */
    assert_true(TV("\xe2\x82\xac 5"));              /* € */
    assert_true(TV("\xf0\x9f\x98\x80"));            /* U+1F600 */
    assert_true(TV("\xc2\xa0"));                    /* U+00A0: first after C1 */
    assert_true(TV("\xed\x9f\xbf"));                /* U+D7FF: just below surrogates */
    assert_true(TV("\xee\x80\x80"));                /* U+E000: just above */
    assert_true(TV("\xf4\x8f\xbf\xbf"));            /* U+10FFFF */
    assert_true(TV("~"));

    assert_false(zn_text_valid("", 0));
    assert_false(TV("a\x01"));
    assert_false(TV("a\tb"));
    assert_false(TV("a\nb"));
    assert_false(TV("\x1f"));
    assert_false(TV("\x7f"));                       /* DEL */
    assert_false(zn_text_valid("a\0b", 3));         /* NUL inside */
    assert_false(TV("\xc2\x80"));                   /* U+0080 (C1) */
    assert_false(TV("\xc2\x85"));                   /* NEL */
    assert_false(TV("\xc2\x9f"));                   /* U+009F (C1) */
    assert_false(TV("\xc0\x80"));                   /* overlong NUL */
    assert_false(TV("\xc1\xbf"));                   /* overlong */
    assert_false(TV("\xe0\x80\x80"));               /* overlong 3-byte */
    assert_false(TV("\xe0\x9f\xbf"));               /* overlong U+07FF */
    assert_false(TV("\xf0\x80\x80\x80"));           /* overlong 4-byte */
    assert_false(TV("\xf0\x8f\xbf\xbf"));           /* overlong U+FFFF */
    assert_false(TV("\xed\xa0\x80"));               /* U+D800 surrogate */
    assert_false(TV("\xed\xbf\xbf"));               /* U+DFFF surrogate */
    assert_false(TV("\xf4\x90\x80\x80"));           /* U+110000 */
    assert_false(TV("\xf5\x80\x80\x80"));
    assert_false(TV("\xff"));
    assert_false(TV("\x80"));                       /* lone continuation */
    assert_false(TV("\xc3"));                       /* truncated */
    assert_false(TV("\xe2\x82"));
    assert_false(TV("\xf0\x9f\x98"));
    assert_false(TV("\xc3\x28"));                   /* bad continuation */
    assert_false(TV("\xe2\x28\xa1"));
}

static void test_ident_valid(void **state)
{
    (void)state;
    const char *good[] = {"a", "0", "wijkracht", "12-18", "0-12-binnenstad", "18plus", "a.b_c-d",
                          "envelope-dropped", "z9"};
    const char *bad[] = {"", "-a", ".a", "_a", "A", "Wijkracht", "a b", "a/b", "a:b", "a\xc3\xab",
                         "a\n", "a@b", "a+b"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(zn_ident_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(zn_ident_valid(bad[i]));
    assert_false(zn_ident_valid(NULL));

    char s[ZN_IDENT_MAX + 1];
    memset(s, 'a', sizeof s);
    s[ZN_IDENT_MAX - 1] = '\0'; /* 63 characters */
    assert_true(zn_ident_valid(s));
    s[ZN_IDENT_MAX - 1] = 'a';
    s[ZN_IDENT_MAX] = '\0'; /* 64 characters */
    assert_false(zn_ident_valid(s));
}

static void test_obj_ident_lengths(void **state)
{
    (void)state;
    char name[70], out[ZN_IDENT_MAX];
    for (size_t len = 62; len <= 65; len++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        memset(name, 'x', len);
        msgpack_pack_str(&pk, len);
        msgpack_pack_str_body(&pk, name, len);
        zn_doc d;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)sb.data, sb.size, 8, 10), 0);
        assert_int_equal(zn_obj_ident(&d.root, out, sizeof out), len < ZN_IDENT_MAX ? 0 : -1);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];
    zn_hex(hex, in, 3);
    assert_string_equal(hex, "00abff");
    assert_int_equal(zn_unhex(out, 3, "00abff"), 0);
    assert_memory_equal(out, in, 3);
    assert_int_equal(zn_unhex(out, 3, "00ABFF"), 0);
    assert_memory_equal(out, in, 3);
    assert_int_equal(zn_unhex(out, 3, "00abf"), -1);
    assert_int_equal(zn_unhex(out, 3, "00abffee"), -1);
    assert_int_equal(zn_unhex(out, 3, "00abfg"), -1);
    assert_int_equal(zn_unhex(out, 3, NULL), -1);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_plain_objects),
        cmocka_unit_test(test_check_refuses_empty_and_trailing),
        cmocka_unit_test(test_check_refuses_lying_counts),
        cmocka_unit_test(test_check_depth),
        cmocka_unit_test(test_check_object_count),
        cmocka_unit_test(test_check_refuses_floats_ext_and_c1),
        cmocka_unit_test(test_check_every_prefix_of_a_valid_object),
        cmocka_unit_test(test_doc_parse_and_getters),
        cmocka_unit_test(test_text_valid),
        cmocka_unit_test(test_ident_valid),
        cmocka_unit_test(test_obj_ident_lengths),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
