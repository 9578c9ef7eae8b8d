/* Unit tests for zn_pseudonym: the 11-proef and the pseudonym derivation, with fixed vectors.
 * Every BSN here is from the synthetic test range 999990000-999999999; none is a real one.
 *
 * Vectors (hex; BLAKE2b-256 keyed, as libsodium's crypto_generichash):
 *   network key 00 01 02 ... 1f, epoch 1, BSN 999990007:
 *     01e1ef000d82393320d66773daec5fa26794329af939b8a0c742f9a18a0149938e
 *   network key 32 x 0x42, epoch 7, BSN 999990019:
 *     07f3d8c3d3892d309823b94dae0a17b98a994168ea1aad943fb606606465acfa92 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "vectors.h"
#include "zn_pseudonym.h"
#include "zn_wire.h"

static void s_key_seq(zn_netkey *k, uint64_t epoch)
{
    for (int i = 0; i < ZN_KEY_LEN; i++)
        k->key[i] = (uint8_t)i;
    k->epoch = epoch;
}

static void s_expect_hex(const uint8_t *p, size_t n, const char *hex)
{
    char got[2 * ZN_PSN_LEN + 1];
    assert_true(n <= ZN_PSN_LEN);
    zn_hex(got, p, n);
    assert_string_equal(got, hex);
}

static void test_bsn_valid(void **state)
{
    (void)state;
    static const char *const good[] = {"999990007", "999990019", "999990020", "999990032",
                                       "999990044", "999990056", "999990068", "999990081"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!zn_bsn_valid(good[i]))
            fail_msg("%s should pass the 11-proef", good[i]);
    static const char *const bad[] = {
        "999990001",  /* fails the 11-proef */
        "999990008",  /* one off */
        "000000000",  /* passes the sum, but all zeros */
        "99999000",   /* eight digits */
        "9999900070", /* ten digits */
        "99999000a",  /* a letter */
        " 999990007", /* leading space */
        "999990007 ", /* trailing space */
        "999 990 007",
        "",
        "+99999000",
        "\331\25199990007", /* an Arabic-Indic digit (U+0669) is no ASCII digit */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zn_bsn_valid(bad[i]))
            fail_msg("'%s' should be refused", bad[i]);
    assert_false(zn_bsn_valid(NULL));
}

static void test_vectors(void **state)
{
    (void)state;
    zn_netkey k;
    uint8_t psn[ZN_PSN_LEN];
    zn_err e;

    s_key_seq(&k, 1);
    assert_int_equal(zn_pseudonym(psn, &k, "999990007", &e), 0);
    s_expect_hex(psn, sizeof psn, "01e1ef000d82393320d66773daec5fa26794329af939b8a0c742f9a18a0149938e");
    zn_test_check_vector("PROTOCOL.md", "pseudonym-1", NULL, psn, sizeof psn);

    memset(k.key, 0x42, sizeof k.key);
    k.epoch = 7;
    assert_int_equal(zn_pseudonym(psn, &k, "999990019", &e), 0);
    s_expect_hex(psn, sizeof psn, "07f3d8c3d3892d309823b94dae0a17b98a994168ea1aad943fb606606465acfa92");
    zn_test_check_vector("PROTOCOL.md", "pseudonym-2", NULL, psn, sizeof psn);

    /* the same as a one-shot keyed BLAKE2b over the domain string and the nine digits */
    uint8_t want[ZN_PSN_HASH_LEN];
    const char msg[] = ZN_PSN_DOMAIN "999990019";
    assert_int_equal(crypto_generichash(want, sizeof want, (const unsigned char *)msg, sizeof msg - 1,
                                        k.key, sizeof k.key), 0);
    assert_memory_equal(psn + 1, want, sizeof want);
    sodium_memzero(&k, sizeof k);
}

static void test_properties(void **state)
{
    (void)state;
    zn_netkey k, k2;
    uint8_t a[ZN_PSN_LEN], b[ZN_PSN_LEN];
    zn_err e;
    s_key_seq(&k, 1);

    /* deterministic */
    assert_int_equal(zn_pseudonym(a, &k, "999990020", &e), 0);
    assert_int_equal(zn_pseudonym(b, &k, "999990020", &e), 0);
    assert_memory_equal(a, b, sizeof a);
    /* another person, another pseudonym */
    assert_int_equal(zn_pseudonym(b, &k, "999990032", &e), 0);
    assert_memory_not_equal(a + 1, b + 1, ZN_PSN_HASH_LEN);
    /* another key, another pseudonym: without the key nobody links them */
    k2 = k;
    k2.key[31] ^= 0x01;
    assert_int_equal(zn_pseudonym(b, &k2, "999990020", &e), 0);
    assert_memory_not_equal(a + 1, b + 1, ZN_PSN_HASH_LEN);
    /* the epoch is the first byte and only that */
    k2 = k;
    k2.epoch = 2;
    assert_int_equal(zn_pseudonym(b, &k2, "999990020", &e), 0);
    assert_int_equal(a[0], 1);
    assert_int_equal(b[0], 2);
    assert_memory_equal(a + 1, b + 1, ZN_PSN_HASH_LEN);
    /* nothing but the nine digits counts: the hash is not of the string with its NUL */
    uint8_t h[ZN_PSN_HASH_LEN];
    const char withnul[] = ZN_PSN_DOMAIN "999990020";
    assert_int_equal(crypto_generichash(h, sizeof h, (const unsigned char *)withnul, sizeof withnul,
                                        k.key, sizeof k.key), 0);
    assert_memory_not_equal(a + 1, h, sizeof h);
    sodium_memzero(&k, sizeof k);
    sodium_memzero(&k2, sizeof k2);
}

static void test_refusals(void **state)
{
    (void)state;
    zn_netkey k;
    uint8_t psn[ZN_PSN_LEN], untouched[ZN_PSN_LEN];
    zn_err e;
    s_key_seq(&k, 1);
    memset(psn, 0xee, sizeof psn);
    memcpy(untouched, psn, sizeof psn);

    assert_int_equal(zn_pseudonym(psn, &k, "999990001", &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_non_null(strstr(e.text, "'999990001' is not a valid BSN"));
    assert_non_null(strstr(e.text, "11-proef"));
    assert_memory_equal(psn, untouched, sizeof psn);

    assert_int_equal(zn_pseudonym(psn, &k, "9999\n0007", &e), -1); /* shown without the newline */
    assert_non_null(strstr(e.text, "'9999?0007'"));
    assert_int_equal(zn_pseudonym(psn, &k, "99999000799999000799999000799", &e), -1);
    assert_non_null(strstr(e.text, "..."));
    assert_int_equal(zn_pseudonym(psn, &k, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    k.epoch = 0;
    assert_int_equal(zn_pseudonym(psn, &k, "999990007", &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    k.epoch = 256;
    assert_int_equal(zn_pseudonym(psn, &k, "999990007", &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    k.epoch = 1;
    memset(k.key, 0, sizeof k.key);
    assert_int_equal(zn_pseudonym(psn, &k, "999990007", &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    assert_memory_equal(psn, untouched, sizeof psn);
    assert_int_equal(zn_pseudonym(psn, NULL, "999990007", &e), -1);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bsn_valid),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
