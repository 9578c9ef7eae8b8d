/* Unit tests for zn_identifiers: the scanner that flags identifying details in anonymous cases.
 * Every BSN here is from the synthetic test range 999990000-999999999; phone numbers and
 * e-mail addresses are invented (example domains). "Today" is 2026-11-29 (day 20786). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "zn_identifiers.h"

#define TODAY 20786 /* 2026-11-29 */

enum { B = ZN_ID_BSN, P = ZN_ID_PHONE, E = ZN_ID_EMAIL, C = ZN_ID_POSTCODE, D = ZN_ID_BIRTHDATE };

typedef struct {
    const char *text;
    int kinds[6]; /* expected kinds in order, 0-terminated */
} s_case;

static const s_case s_cases[] = {
    /* BSN */
    {"BSN 999990007", {B}},
    {"bsn: 999990019.", {B}},
    {"999 990 007", {B}},
    {"999.990.019", {B}},
    {"9999-90-007", {B}},
    {"999990001 is geen BSN", {0}},
    {"kenmerk 9999900070", {0}},
    {"ref 1999990007", {0}},
    {"999 990-007", {0}},
    {"code ab999990007", {0}},
    /* phone */
    {"bel 06-12345678", {P}},
    {"tel 0541-123456 ", {P}},
    {"053 487 65 43", {P}},
    {"0612345678", {P}},
    {"(053) 4876543", {P}},
    {"+31 6 12345678", {P}},
    {"+31612345678", {P}},
    {"0031 6 12345678", {P}},
    {"06-1234567", {0}},
    {"061234567890", {0}},
    /* e-mail */
    {"mail jan.jansen@example.nl.", {E}},
    {"(a+b@mail.example.com)", {E}},
    {"x@example", {0}},
    {"@example.nl", {0}},
    {"jan@.nl", {0}},
    /* postcode and house number */
    {"Hengelosestraat 1, 7571 AB 12", {C}},
    {"7571AB 12a, Oldenzaal", {C}},
    {"7571 AB\t3", {C}},
    {"7571 SS 12", {0}},
    {"0571 AB 12", {0}},
    {"2015 en 2016", {0}},
    {"7571 AB", {0}},
    /* dates */
    {"geboren 12-03-2015", {D}},
    {"op 1-2-2019 gezien", {D}},
    {"3/4/2010", {D}},
    {"12.03.2015", {D}},
    {"2015-03-12", {D}},
    {"12 maart 2015", {D}},
    {"1 DECEMBER 2001", {D}},
    {"28-11-2025", {D}},   /* 366 days ago */
    {"29-11-2025", {0}},   /* exactly 365 days ago */
    {"01-02-2026 12:30", {0}},
    {"5 januari 2027", {0}},
    {"31-02-2015", {0}},
    {"29-02-2016", {D}},
    {"29-02-2015", {0}},
    {"12 maartje 2015", {0}},
    /* ordinary numbers pass */
    {"€ 1.250,00", {0}},
    {"250 euro", {0}},
    {"in 2015 verhuisd", {0}},
    {"groep 7", {0}},
    {"om 14:30 uur", {0}},
    {"3 kinderen, 12 gesprekken", {0}},
    {"12345678", {0}},
    {"€ 1.250.000,00", {0}},
    {"", {0}},
    /* several */
    {"BSN 999990007, tel 06-12345678, jan@example.org, 7571 AB 12, geb. 12-03-2015",
     {B, P, E, C, D}},
    {"groep 7, 999990019 en 1 mei 1990", {B, D}},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof s_cases / sizeof s_cases[0]; c++) {
        const s_case *k = &s_cases[c];
        zn_id_hit hits[8];
        size_t n = zn_identifiers_scan(k->text, strlen(k->text), TODAY, hits, 8);
        size_t want = 0;
        while (want < 6 && k->kinds[want])
            want++;
        if (n != want)
            fail_msg("\"%s\": %zu hits, expected %zu", k->text, n, want);
        for (size_t i = 0; i < want; i++)
            if ((int)hits[i].kind != k->kinds[i])
                fail_msg("\"%s\": hit %zu is %s, expected %s", k->text, i,
                         zn_id_kind_name(hits[i].kind), zn_id_kind_name((zn_id_kind)k->kinds[i]));
    }
}

static void s_expect(const char *text, size_t idx, zn_id_kind kind, const char *span)
{
    zn_id_hit hits[8];
    size_t n = zn_identifiers_scan(text, strlen(text), TODAY, hits, 8);
    assert_true(idx < n);
    assert_int_equal(hits[idx].kind, kind);
    assert_true(hits[idx].offset + hits[idx].len <= strlen(text));
    char got[64];
    assert_true(hits[idx].len < sizeof got);
    memcpy(got, text + hits[idx].offset, hits[idx].len);
    got[hits[idx].len] = '\0';
    assert_string_equal(got, span);
}

static void test_offsets(void **state)
{
    (void)state;
    const char *t = "BSN 999 990 007, tel 06-12345678, jan@example.org, 7571 AB 12a, "
                    "geb. 12 maart 2015, +31 6 12345678.";
    s_expect(t, 0, ZN_ID_BSN, "999 990 007");
    s_expect(t, 1, ZN_ID_PHONE, "06-12345678");
    s_expect(t, 2, ZN_ID_EMAIL, "jan@example.org");
    s_expect(t, 3, ZN_ID_POSTCODE, "7571 AB 12a");
    s_expect(t, 4, ZN_ID_BIRTHDATE, "12 maart 2015");
    s_expect(t, 5, ZN_ID_PHONE, "+31 6 12345678");
    s_expect("(053) 4876543 bellen", 0, ZN_ID_PHONE, "(053) 4876543");
    s_expect("zie info@example.com.", 0, ZN_ID_EMAIL, "info@example.com");
}

static void test_max(void **state)
{
    (void)state;
    const char *t = "999990007 999990019 06-12345678 a@example.nl";
    zn_id_hit hits[2];
    memset(hits, 0, sizeof hits);
    assert_int_equal(zn_identifiers_scan(t, strlen(t), TODAY, hits, 2), 4);
    assert_int_equal(hits[0].kind, ZN_ID_BSN);
    assert_int_equal(hits[0].offset, 0);
    assert_int_equal(hits[0].len, 9);
    assert_int_equal(hits[1].kind, ZN_ID_BSN);
    assert_int_equal(hits[1].offset, 10);
    assert_int_equal(zn_identifiers_scan(t, strlen(t), TODAY, NULL, 0), 4);
}

static void test_empty_and_bounds(void **state)
{
    (void)state;
    zn_id_hit h;
    assert_int_equal(zn_identifiers_scan("", 0, TODAY, &h, 1), 0);
    assert_int_equal(zn_identifiers_scan(NULL, 0, TODAY, NULL, 0), 0);
    /* len cuts the text: only what lies inside it counts */
    const char *t = "999990007";
    assert_int_equal(zn_identifiers_scan(t, 8, TODAY, &h, 1), 0);
    assert_int_equal(zn_identifiers_scan(t, 9, TODAY, &h, 1), 1);
    assert_int_equal(zn_identifiers_scan("jan@example.nl!", 14, TODAY, &h, 1), 1);
    assert_int_equal(h.len, 14);
    assert_int_equal(zn_identifiers_scan("jan@example.nl", 13, TODAY, &h, 1), 0); /* ".n" */
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(zn_id_kind_name(ZN_ID_BSN), "BSN");
    assert_string_equal(zn_id_kind_name(ZN_ID_PHONE), "phone number");
    assert_string_equal(zn_id_kind_name(ZN_ID_EMAIL), "e-mail address");
    assert_string_equal(zn_id_kind_name(ZN_ID_POSTCODE), "postcode and house number");
    assert_string_equal(zn_id_kind_name(ZN_ID_BIRTHDATE), "date more than a year ago");
    assert_string_equal(zn_id_kind_name((zn_id_kind)0), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),      cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_max),        cmocka_unit_test(test_empty_and_bounds),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
