/* Unit tests for zn_case, the wire bodies of cases, consent, safety overrides and warm
 * handovers: the name tables; the consent rules (every age band against every set of givers,
 * the outcome written out by hand below); zn_consent_covers at its boundaries; roundtrips of
 * every request body, row and the case-view; a table of malformed bodies and rows, each refused
 * with ZN_E_MALFORMED and a sentence naming the field; sealed fields taken from the input only
 * in their shortest encoding; sealed text travelling inside a body; and the vectors printed in
 * docs/PROTOCOL.md ("Cases, consent, overrides and handovers"). With ZN_CORPUS_OUT=DIR set, the
 * fuzz seeds of these bodies are (re)written there. Every BSN is from the synthetic test range
 * 999990000-999999999. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vectors.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zn_case.h"
#include "zn_frame.h"
#include "zn_request.h"
#include "zn_sealed.h"

#define S_NET "0-12-binnenstad"
#define S_T 1767225600000ull     /* 2026-01-01T00:00:00Z */
#define S_UNTIL 1830297600000ull /* 2028-01-01T00:00:00Z */
#define S_SEAL 48                /* crypto_box_SEALBYTES, as the formats below spell it */

_Static_assert(crypto_box_SEALBYTES == S_SEAL, "the tables below spell the seal overhead as 48");

/* ------------------------------------------------------------ shared material */

/* Pseudonyms under the network key 00 01 ... 1f, epoch 1 (docs/PROTOCOL.md, pseudonym-1):
 *   0 the person (999990007), 1 and 2 related (999990019, 999990020),
 *   3 = 1 with epoch 2, 4 = 0 with epoch 0, 5 = 1 with epoch 0. */
static uint8_t s_psn[6][ZN_PSN_LEN];

static int s_setup(void **state)
{
    (void)state;
    zn_netkey k;
    zn_err e;
    if (sodium_init() < 0)
        return -1;
    for (int i = 0; i < ZN_KEY_LEN; i++)
        k.key[i] = (uint8_t)i;
    k.epoch = 1;
    if (zn_pseudonym(s_psn[0], &k, "999990007", &e) != 0 || zn_pseudonym(s_psn[1], &k, "999990019", &e) != 0 ||
        zn_pseudonym(s_psn[2], &k, "999990020", &e) != 0)
        return -1;
    sodium_memzero(&k, sizeof k);
    memcpy(s_psn[3], s_psn[1], ZN_PSN_LEN);
    s_psn[3][0] = 2;
    memcpy(s_psn[4], s_psn[0], ZN_PSN_LEN);
    s_psn[4][0] = 0;
    memcpy(s_psn[5], s_psn[1], ZN_PSN_LEN);
    s_psn[5][0] = 0;
    return 0;
}

static void s_check_vector(const char *name, const char *expected, const uint8_t *p, size_t n)
{
    zn_test_check_vector("PROTOCOL.md", name, expected, p, n);
}

static void s_doc(zn_doc *d, const msgpack_sbuffer *b)
{
    if (zn_doc_parse(d, (const uint8_t *)b->data, b->size, ZN_WIRE_MAX_DEPTH, 100000) != 0)
        fail_msg("test body is not one msgpack object");
}

/* A fixed sealed array [[r1, box], [r2, box]] (r2 NULL: one reader) whose boxes hold
 * crypto_box_SEALBYTES + text_len bytes of fill1 and fill2: what a sealed text of text_len bytes
 * looks like on the wire, without the randomness of sealing. */
static void s_fixed_sealed(msgpack_sbuffer *b, const char *r1, uint8_t fill1, const char *r2, uint8_t fill2,
                           size_t text_len)
{
    uint8_t box[S_SEAL + ZN_SEALED_TEXT_MAX];
    msgpack_packer pk;
    msgpack_sbuffer_init(b);
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, r2 ? 2 : 1);
    msgpack_pack_array(&pk, 2);
    zn_pack_str(&pk, r1);
    memset(box, fill1, sizeof box);
    zn_pack_bin(&pk, box, S_SEAL + text_len);
    if (r2) {
        msgpack_pack_array(&pk, 2);
        zn_pack_str(&pk, r2);
        memset(box, fill2, sizeof box);
        zn_pack_bin(&pk, box, S_SEAL + text_len);
    }
}

/* e holds a malformed error whose sentence contains `want`. */
static void s_refused(const char *what, const zn_err *e, const char *want)
{
    if (e->code != ZN_E_MALFORMED)
        fail_msg("%s: code %s, not malformed ('%s')", what, zn_code_name(e->code), e->text);
    if (!strstr(e->text, want))
        fail_msg("%s: error '%s' does not say '%s'", what, e->text, want);
}

/* A small msgpack writer for the tables below; tokens separated by spaces:
 *   A<n> array of n   M<n> map of n   s'<bytes>' str   S<n> str of n 'a'   b<n> bin of n bytes 0x11
 *   P<i> pseudonym s_psn[i]   X<i> a distinct pseudonym of epoch 1   u<n> unsigned   i  -1
 *   t true   f false   n nil   Z<n> a sealed array [["auditor", box]] for a text of n bytes */
static void s_build(msgpack_sbuffer *b, const char *fmt)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    const char *f = fmt;
    char *end = NULL;
    while (*f) {
        char c = *f++;
        if (c == ' ')
            continue;
        switch (c) {
        case 'A':
            msgpack_pack_array(&pk, (size_t)strtoul(f, &end, 10));
            f = end;
            break;
        case 'M':
            msgpack_pack_map(&pk, (size_t)strtoul(f, &end, 10));
            f = end;
            break;
        case 's': {
            if (*f != '\'')
                fail_msg("bad format '%s'", fmt);
            const char *close = strchr(f + 1, '\'');
            if (!close)
                fail_msg("bad format '%s'", fmt);
            msgpack_pack_str(&pk, (size_t)(close - f - 1));
            msgpack_pack_str_body(&pk, f + 1, (size_t)(close - f - 1));
            f = close + 1;
            break;
        }
        case 'S':
        case 'b':
        case 'Z': {
            size_t n = (size_t)strtoul(f, &end, 10);
            f = end;
            size_t len = c == 'Z' ? S_SEAL + n : n;
            uint8_t *buf = malloc(len + 1);
            assert_non_null(buf);
            memset(buf, c == 'S' ? 'a' : 0x11, len + 1);
            if (c == 'S') {
                msgpack_pack_str(&pk, n);
                msgpack_pack_str_body(&pk, buf, n);
            } else if (c == 'b') {
                zn_pack_bin(&pk, buf, n);
            } else {
                msgpack_pack_array(&pk, 1);
                msgpack_pack_array(&pk, 2);
                zn_pack_str(&pk, "auditor");
                zn_pack_bin(&pk, buf, len);
            }
            free(buf);
            break;
        }
        case 'P': {
            size_t i = (size_t)strtoul(f, &end, 10);
            f = end;
            assert_true(i < 6);
            zn_pack_bin(&pk, s_psn[i], ZN_PSN_LEN);
            break;
        }
        case 'X': {
            uint8_t p[ZN_PSN_LEN];
            memset(p, (int)(0x40 + strtoul(f, &end, 10)), sizeof p);
            f = end;
            p[0] = 1;
            zn_pack_bin(&pk, p, sizeof p);
            break;
        }
        case 'u':
            msgpack_pack_uint64(&pk, strtoull(f, &end, 10));
            f = end;
            break;
        case 'i':
            msgpack_pack_int64(&pk, -1);
            break;
        case 't':
            msgpack_pack_true(&pk);
            break;
        case 'f':
            msgpack_pack_false(&pk);
            break;
        case 'n':
            msgpack_pack_nil(&pk);
            break;
        default:
            fail_msg("bad format '%s' at '%c'", fmt, c);
        }
    }
}

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
    (void)state;
    zn_consent_state cs;
    zn_age_band ab;
    zn_override_state os;
    zn_handover_state hs;

    static const char *const consent[] = {"none", "requested", "granted", "refused", "withdrawn"};
    for (int i = 0; i <= ZN_CONSENT_WITHDRAWN; i++) {
        assert_string_equal(zn_consent_state_name((zn_consent_state)i), consent[i]);
        if (i == ZN_CONSENT_NONE) {
            assert_int_equal(zn_consent_state_parse("none", &cs), -1); /* never recorded */
        } else {
            assert_int_equal(zn_consent_state_parse(consent[i], &cs), 0);
            assert_int_equal(cs, i);
        }
    }
    assert_string_equal(zn_consent_state_name((zn_consent_state)5), "?");
    assert_int_equal(zn_consent_state_parse("Granted", &cs), -1);
    assert_int_equal(zn_consent_state_parse("", &cs), -1);
    assert_int_equal(zn_consent_state_parse(NULL, &cs), -1);

    static const char *const ages[] = {"", "0-11", "12-15", "16+"};
    for (int i = 0; i <= ZN_AGE_16_PLUS; i++) {
        assert_string_equal(zn_age_band_name((zn_age_band)i), ages[i]);
        assert_int_equal(zn_age_band_parse(ages[i], &ab), 0);
        assert_int_equal(ab, i);
    }
    assert_string_equal(zn_age_band_name((zn_age_band)4), "?");
    assert_int_equal(zn_age_band_parse("16", &ab), -1);
    assert_int_equal(zn_age_band_parse("12-16", &ab), -1);
    assert_int_equal(zn_age_band_parse(NULL, &ab), -1);

    assert_string_equal(zn_given_name(ZN_GIVEN_CLIENT), "client");
    assert_string_equal(zn_given_name(ZN_GIVEN_PARENT), "parent");
    assert_string_equal(zn_given_name(ZN_GIVEN_GUARDIAN), "guardian");
    assert_string_equal(zn_given_name(ZN_GIVEN_REPRESENTATIVE), "representative");
    assert_string_equal(zn_given_name(0), "?");
    assert_string_equal(zn_given_name(3), "?");
    assert_string_equal(zn_given_name(16), "?");

    static const struct {
        const char *list;
        int rc;
        unsigned bits;
    } given[] = {
        {"", 0, 0},
        {"client", 0, ZN_GIVEN_CLIENT},
        {"client,parent", 0, ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT},
        {"parent,client", 0, ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT},
        {"representative,guardian,parent,client", 0, 15},
        {"client,client", -1, 0},
        {"client,", -1, 0},
        {",client", -1, 0},
        {"client,,parent", -1, 0},
        {"client parent", -1, 0},
        {"Client", -1, 0},
        {"mother", -1, 0},
        {"clients", -1, 0},
        {"clien", -1, 0},
    };
    for (size_t i = 0; i < sizeof given / sizeof *given; i++) {
        unsigned bits = 99;
        assert_int_equal(zn_given_parse(given[i].list, &bits), given[i].rc);
        if (given[i].rc == 0)
            assert_int_equal(bits, given[i].bits);
    }
    unsigned bits = 0;
    assert_int_equal(zn_given_parse(NULL, &bits), -1);

    char out[64];
    zn_given_format(0, out, sizeof out);
    assert_string_equal(out, "");
    zn_given_format(15, out, sizeof out);
    assert_string_equal(out, "client,parent,guardian,representative");
    zn_given_format(ZN_GIVEN_GUARDIAN | ZN_GIVEN_PARENT | 0x30, out, sizeof out);
    assert_string_equal(out, "parent,guardian");
    zn_given_format(3, out, 7); /* room for "client" only: no half names */
    assert_string_equal(out, "client");
    zn_given_format(3, out, 6);
    assert_string_equal(out, "");
    zn_given_format(3, out, 0); /* nothing written */
    zn_given_format(3, NULL, 10);

    static const char *const steps[] = {
        "?",
        "signalen in kaart brengen",
        "collegiale consultatie (en Veilig Thuis raadplegen)",
        "gesprek met de cli\xc3\xabnt",
        "weeg het geweld of de kindermishandeling",
        "beslissen: hulp organiseren en/of melden",
        "?",
    };
    for (uint64_t s = 0; s <= 6; s++)
        assert_string_equal(zn_meldcode_step_name(s), steps[s]);
    assert_string_equal(zn_meldcode_step_name(UINT64_MAX), "?");

    static const char *const overrides[] = {"none", "pending", "approved", "rejected", "expired"};
    for (int i = 0; i <= ZN_OVERRIDE_EXPIRED; i++) {
        assert_string_equal(zn_override_state_name((zn_override_state)i), overrides[i]);
        assert_int_equal(zn_override_state_parse(overrides[i], &os), i == 0 ? -1 : 0);
        if (i)
            assert_int_equal(os, i);
    }
    assert_string_equal(zn_override_state_name((zn_override_state)5), "?");
    assert_int_equal(zn_override_state_parse("open", &os), -1);

    static const char *const handovers[] = {"?", "open", "accepted", "declined", "withdrawn", "?"};
    for (int i = 0; i <= 5; i++) {
        assert_string_equal(zn_handover_state_name((zn_handover_state)i), handovers[i]);
        if (i >= ZN_HANDOVER_OPEN && i <= ZN_HANDOVER_WITHDRAWN) {
            assert_int_equal(zn_handover_state_parse(handovers[i], &hs), 0);
            assert_int_equal(hs, i);
        }
    }
    assert_int_equal(zn_handover_state_parse("?", &hs), -1);
    assert_int_equal(zn_handover_state_parse("pending", &hs), -1);
}

/* ------------------------------------------------------------ consent rules */

static void s_consent(zn_consent *c, zn_consent_state st, zn_age_band band, unsigned given)
{
    memset(c, 0, sizeof *c);
    c->state = st;
    c->age_band = band;
    c->given_by = given;
    c->n_scope = 2;
    strcpy(c->scope[0], "basisschool-de-linde");
    strcpy(c->scope[1], "wijkracht");
}

/* Every age band against every set of givers (bit 1 client, 2 parent, 4 guardian,
 * 8 representative; the index is the set), for a granted consent. Written out by hand from the
 * rules: '.' holds, 'C' refused for capacity, 'U' refused as incomplete (no age band). */
static const char *const s_capacity_expect[4] = {
    /*                  0123456789abcdef */
    [ZN_AGE_NONE] =    "UUUUUUUUUUUUUUUU",
    [ZN_AGE_0_11] =    "CC..............", /* a parent, guardian or representative */
    [ZN_AGE_12_15] =   "CCC.C.C.CCC.C.C.", /* the client and a parent or guardian */
    [ZN_AGE_16_PLUS] = "C.C.C.C.C.C.C.C.", /* the client */
};

static void test_capacity_table(void **state)
{
    (void)state;
    zn_consent c;
    zn_err e;
    for (int band = ZN_AGE_NONE; band <= ZN_AGE_16_PLUS; band++) {
        for (unsigned g = 0; g < 16; g++) {
            s_consent(&c, ZN_CONSENT_GRANTED, (zn_age_band)band, g);
            zn_err_clear(&e);
            int rc = zn_consent_check(&c, S_T, &e);
            char want = s_capacity_expect[band][g];
            char got = rc == 0 ? '.' : e.code == ZN_E_CAPACITY ? 'C' : e.code == ZN_E_USAGE ? 'U' : '?';
            if (got != want)
                fail_msg("age band '%s', given_by %u: got '%c' (%s), want '%c'", zn_age_band_name((zn_age_band)band),
                         g, got, e.text, want);
            if (got == 'C') {
                /* the sentence says what the band needs and what was given */
                char given[64];
                zn_given_format(g, given, sizeof given);
                assert_non_null(strstr(e.text, zn_age_band_name((zn_age_band)band)));
                assert_non_null(strstr(e.text, g ? given : "nobody"));
                assert_non_null(strstr(e.text, band == ZN_AGE_0_11    ? "a parent, guardian or representative"
                                               : band == ZN_AGE_12_15 ? "the client and a parent or guardian"
                                                                      : "the client"));
            }
            /* other states are recorded as given */
            for (int st = ZN_CONSENT_REQUESTED; st <= ZN_CONSENT_WITHDRAWN; st++) {
                if (st == ZN_CONSENT_GRANTED)
                    continue;
                s_consent(&c, (zn_consent_state)st, (zn_age_band)band, g);
                assert_int_equal(zn_consent_check(&c, S_T, &e), 0);
            }
        }
    }
}

static void test_consent_check(void **state)
{
    (void)state;
    zn_consent c;
    zn_err e;

    s_consent(&c, ZN_CONSENT_GRANTED, ZN_AGE_16_PLUS, ZN_GIVEN_CLIENT);
    assert_int_equal(zn_consent_check(&c, S_T, &e), 0);
    /* the end: after now, or none */
    c.until_ms = S_T + 1;
    assert_int_equal(zn_consent_check(&c, S_T, &e), 0);
    c.until_ms = S_T;
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    c.until_ms = 1;
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    c.state = ZN_CONSENT_WITHDRAWN;
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    c.until_ms = 0;
    assert_int_equal(zn_consent_check(&c, S_T, &e), 0);

    /* granted needs a scope */
    s_consent(&c, ZN_CONSENT_GRANTED, ZN_AGE_16_PLUS, ZN_GIVEN_CLIENT);
    c.n_scope = 0;
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_non_null(strstr(e.text, "scope"));
    c.state = ZN_CONSENT_REFUSED;
    assert_int_equal(zn_consent_check(&c, S_T, &e), 0);

    /* the scope: identifiers, ascending, each once, at most 32 */
    const struct {
        const char *a, *b;
    } scopes[] = {{"wijkracht", "basisschool-de-linde"}, {"wijkracht", "wijkracht"}, {"Wijkracht", "x"},
                  {"", "x"},
                  {"a", "b c"}};
    for (size_t i = 0; i < sizeof scopes / sizeof *scopes; i++) {
        s_consent(&c, ZN_CONSENT_REQUESTED, ZN_AGE_NONE, 0);
        strcpy(c.scope[0], scopes[i].a);
        strcpy(c.scope[1], scopes[i].b);
        assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
        assert_int_equal(e.code, ZN_E_USAGE);
    }
    s_consent(&c, ZN_CONSENT_REQUESTED, ZN_AGE_NONE, 0);
    memset(c.scope[1], 'w', sizeof c.scope[1]); /* no terminator */
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    for (size_t i = 0; i < ZN_CONSENT_SCOPE_MAX; i++)
        snprintf(c.scope[i], sizeof c.scope[i], "partner-%02zu", i);
    c.n_scope = ZN_CONSENT_SCOPE_MAX;
    assert_int_equal(zn_consent_check(&c, S_T, &e), 0);
    c.n_scope = ZN_CONSENT_SCOPE_MAX + 1;
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    /* states, givers and bands outside the tables */
    s_consent(&c, ZN_CONSENT_NONE, ZN_AGE_NONE, 0);
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    s_consent(&c, (zn_consent_state)5, ZN_AGE_NONE, 0);
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    s_consent(&c, ZN_CONSENT_REQUESTED, ZN_AGE_NONE, 16);
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    s_consent(&c, ZN_CONSENT_REQUESTED, (zn_age_band)4, 0);
    assert_int_equal(zn_consent_check(&c, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_consent_check(NULL, S_T, &e), -1);
    assert_int_equal(e.code, ZN_E_INTERNAL);
}

static void test_consent_covers(void **state)
{
    (void)state;
    zn_consent c;
    s_consent(&c, ZN_CONSENT_GRANTED, ZN_AGE_12_15, ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT);

    assert_true(zn_consent_covers(&c, "basisschool-de-linde", S_T)); /* first of the scope */
    assert_true(zn_consent_covers(&c, "wijkracht", S_T));            /* last */
    assert_false(zn_consent_covers(&c, "wijkrach", S_T));
    assert_false(zn_consent_covers(&c, "wijkracht2", S_T));
    assert_false(zn_consent_covers(&c, "politie", S_T));
    assert_false(zn_consent_covers(&c, "", S_T));
    assert_false(zn_consent_covers(&c, NULL, S_T));
    assert_false(zn_consent_covers(NULL, "wijkracht", S_T));

    /* until 0: until withdrawn, at any time */
    assert_true(zn_consent_covers(&c, "wijkracht", UINT64_MAX));
    /* until set: covers strictly before it */
    c.until_ms = S_UNTIL;
    assert_true(zn_consent_covers(&c, "wijkracht", 0));
    assert_true(zn_consent_covers(&c, "wijkracht", S_UNTIL - 1));
    assert_false(zn_consent_covers(&c, "wijkracht", S_UNTIL));
    assert_false(zn_consent_covers(&c, "wijkracht", S_UNTIL + 1));
    assert_false(zn_consent_covers(&c, "wijkracht", UINT64_MAX));
    c.until_ms = 1;
    assert_true(zn_consent_covers(&c, "wijkracht", 0));
    assert_false(zn_consent_covers(&c, "wijkracht", 1));

    /* only granted covers */
    c.until_ms = 0;
    for (int st = ZN_CONSENT_NONE; st <= ZN_CONSENT_WITHDRAWN; st++) {
        c.state = (zn_consent_state)st;
        assert_int_equal(zn_consent_covers(&c, "wijkracht", S_T), st == ZN_CONSENT_GRANTED);
    }
    /* an empty scope covers nobody */
    c.state = ZN_CONSENT_GRANTED;
    c.n_scope = 0;
    assert_false(zn_consent_covers(&c, "wijkracht", S_T));
    /* the 32nd partner of a full scope */
    for (size_t i = 0; i < ZN_CONSENT_SCOPE_MAX; i++)
        snprintf(c.scope[i], sizeof c.scope[i], "partner-%02zu", i);
    c.n_scope = ZN_CONSENT_SCOPE_MAX;
    assert_true(zn_consent_covers(&c, "partner-31", S_T));
    assert_false(zn_consent_covers(&c, "partner-32", S_T));
}

/* ------------------------------------------------------------ fixtures */

static void s_vector_case_new(zn_case_new_body *b)
{
    memset(b, 0, sizeof *b);
    memset(b->id, 0x22, ZN_ID_LEN);
    strcpy(b->network, S_NET);
    b->identified = true;
    memcpy(b->person, s_psn[0], ZN_PSN_LEN);
    memcpy(b->related[0], s_psn[1], ZN_PSN_LEN);
    b->n_related = 1;
}

static void s_vector_consent(zn_consent *c)
{
    s_consent(c, ZN_CONSENT_GRANTED, ZN_AGE_12_15, ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT);
    c->until_ms = S_UNTIL;
}

static void s_vector_override(zn_override_new_body *b)
{
    memset(b, 0, sizeof *b);
    memset(b->id, 0x44, ZN_ID_LEN);
    memset(b->case_id, 0x22, ZN_ID_LEN);
    strcpy(b->to, "wijkracht");
    b->step = 4;
}

static void s_vector_handover(zn_handover_offer_body *b)
{
    memset(b, 0, sizeof *b);
    memset(b->id, 0x55, ZN_ID_LEN);
    memset(b->case_id, 0x22, ZN_ID_LEN);
    strcpy(b->to, "wijkracht");
    memset(b->msgid, 0x11, ZN_ID_LEN);
}

/* the handover-row vector: declined an hour after the offer, with a reason (reason: the sealed
 * array, kept alive by the caller) */
static void s_vector_handover_row(zn_handover_row *r, const msgpack_sbuffer *reason)
{
    memset(r, 0, sizeof *r);
    memset(r->id, 0x55, ZN_ID_LEN);
    memset(r->case_id, 0x22, ZN_ID_LEN);
    strcpy(r->from, "basisschool-de-linde");
    strcpy(r->handler, "J. de Vries (IB)");
    strcpy(r->to, "wijkracht");
    memset(r->msgid, 0x11, ZN_ID_LEN);
    r->offered_ms = S_T;
    r->timeout_ms = S_T + 72ull * 3600 * 1000;
    r->state = ZN_HANDOVER_DECLINED;
    r->decided_ms = S_T + 3600ull * 1000;
    r->escalated = false;
    r->reason = (const uint8_t *)reason->data;
    r->reason_len = reason->size;
}

static void s_override_row(zn_override_row *r, int i, const msgpack_sbuffer *just, const msgpack_sbuffer *note)
{
    memset(r, 0, sizeof *r);
    memset(r->id, 0x44 + i, ZN_ID_LEN);
    memset(r->case_id, 0x22, ZN_ID_LEN);
    strcpy(r->network, S_NET);
    strcpy(r->from, "basisschool-de-linde");
    strcpy(r->handler, "J. de Vries (IB)");
    strcpy(r->to, i ? "politie" : "wijkracht");
    r->step = (uint64_t)(i % 5) + 1;
    r->created_ms = S_T + (uint64_t)i;
    r->expires_ms = S_T + 14ull * 86400 * 1000;
    r->review_by_ms = S_T + 48ull * 3600 * 1000;
    r->state = i ? ZN_OVERRIDE_APPROVED : ZN_OVERRIDE_PENDING;
    if (i)
        strcpy(r->reviewed_by, "coordinator-binnenstad");
    r->reviewed_ms = i ? S_T + 1000 : 0;
    r->escalated = i == 2;
    r->justification = (const uint8_t *)just->data;
    r->justification_len = just->size;
    if (note) {
        r->note = (const uint8_t *)note->data;
        r->note_len = note->size;
    }
}

static void s_consent_equal(const zn_consent *a, const zn_consent *b)
{
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->n_scope, b->n_scope);
    for (size_t i = 0; i < a->n_scope; i++)
        assert_string_equal(a->scope[i], b->scope[i]);
    assert_int_equal(a->given_by, b->given_by);
    assert_int_equal(a->age_band, b->age_band);
    assert_true(a->until_ms == b->until_ms);
}

static void s_sealed_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    assert_int_equal(an, bn);
    if (an)
        assert_memory_equal(a, b, an);
    else
        assert_null(b);
}

static void s_hrow_equal(const zn_handover_row *a, const zn_handover_row *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_memory_equal(a->case_id, b->case_id, ZN_ID_LEN);
    assert_string_equal(a->from, b->from);
    assert_string_equal(a->handler, b->handler);
    assert_string_equal(a->to, b->to);
    assert_memory_equal(a->msgid, b->msgid, ZN_ID_LEN);
    assert_true(a->offered_ms == b->offered_ms && a->timeout_ms == b->timeout_ms && a->decided_ms == b->decided_ms);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->escalated, b->escalated);
    s_sealed_equal(a->reason, a->reason_len, b->reason, b->reason_len);
}

static void s_vrow_equal(const zn_override_row *a, const zn_override_row *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_memory_equal(a->case_id, b->case_id, ZN_ID_LEN);
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->from, b->from);
    assert_string_equal(a->handler, b->handler);
    assert_string_equal(a->to, b->to);
    assert_true(a->step == b->step && a->created_ms == b->created_ms && a->expires_ms == b->expires_ms &&
                a->review_by_ms == b->review_by_ms && a->reviewed_ms == b->reviewed_ms);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->reviewed_by, b->reviewed_by);
    assert_int_equal(a->escalated, b->escalated);
    s_sealed_equal(a->justification, a->justification_len, b->justification, b->justification_len);
    s_sealed_equal(a->note, a->note_len, b->note, b->note_len);
}

/* ------------------------------------------------------------ vectors */

/* The vectors printed in docs/PROTOCOL.md, 13.8. */
static const char VEC_CASE_NEW_IDENTIFIED[] =
    "94c41022222222222222222222222222222222af302d31322d62696e6e656e73"
    "746164c42101e1ef000d82393320d66773daec5fa26794329af939b8a0c742f9"
    "a18a0149938e91c421015bebe8f93d3cf60dcf72f21bf53e699dd3675b97f71a"
    "045b165fc94d034b5c43";
static const char VEC_CONSENT_SET[] =
    "97c41022222222222222222222222222222222a76772616e74656492b4626173"
    "69737363686f6f6c2d64652d6c696e6465a977696a6b726163687492a6636c69"
    "656e74a6706172656e74a531322d3135cf000001aa263d0000c0";
static const char VEC_OVERRIDE_NEW[] =
    "95c41044444444444444444444444444444444c4102222222222222222222222"
    "2222222222a977696a6b7261636874049292a761756469746f72c458a1a1a1a1"
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a192b6636f6f7264696e61746f"
    "722d62696e6e656e73746164c458c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
    "c1c1c1c1c1c1";
static const char VEC_HANDOVER_OFFER[] =
    "94c41055555555555555555555555555555555c4102222222222222222222222"
    "2222222222a977696a6b7261636874c410111111111111111111111111111111"
    "11";
static const char VEC_HANDOVER_ROW[] =
    "9cc41055555555555555555555555555555555c4102222222222222222222222"
    "2222222222b462617369737363686f6f6c2d64652d6c696e6465b04a2e206465"
    "2056726965732028494229a977696a6b7261636874c410111111111111111111"
    "11111111111111cf0000019b76daa800cf0000019b864dbc00a86465636c696e"
    "6564cf0000019b77119680c29292a761756469746f72c43ca2a2a2a2a2a2a2a2"
    "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
    "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a292b462617369737363686f6f"
    "6c2d64652d6c696e6465c43cb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
    "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"
    "b2b2b2b2b2b2b2b2";

static const char VEC_HANDOVER_WITHDRAW[] = "91c41055555555555555555555555555555555";

static void test_vectors(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;

    /* the pseudonyms are those of section 9.11's key */
    char *p1 = zn_test_doc_vector("PROTOCOL.md", "pseudonym-1");
    assert_non_null(p1);
    char *hex = zn_test_hex(s_psn[0], ZN_PSN_LEN);
    assert_string_equal(hex, p1);
    free(hex);
    free(p1);

    zn_case_new_body cn, cn2;
    s_vector_case_new(&cn);
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_case_new_enc(&b, &cn), 0);
    s_check_vector("case-new-identified-body", VEC_CASE_NEW_IDENTIFIED, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_case_new_dec(&d.root, &cn2, &e), 0);
    assert_true(cn2.identified && cn2.n_related == 1);
    assert_memory_equal(cn2.related[0], s_psn[1], ZN_PSN_LEN);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    zn_consent c, c2;
    uint8_t id[ZN_ID_LEN], id2[ZN_ID_LEN];
    static const msgpack_object dummy = {.type = MSGPACK_OBJECT_NIL};
    const msgpack_object *purpose = &dummy; /* the parser sets NULL for nil */
    memset(id, 0x22, sizeof id);
    s_vector_consent(&c);
    msgpack_sbuffer_init(&b);
    zn_body_consent_set_enc(&b, id, &c, NULL, 0);
    s_check_vector("consent-set-body", VEC_CONSENT_SET, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_consent_set_dec(&d.root, id2, &c2, &purpose, &e), 0);
    assert_memory_equal(id, id2, ZN_ID_LEN);
    s_consent_equal(&c, &c2);
    assert_null(purpose);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* the justification: sealed to the network's coordinator and the auditor, a text of 40
     * bytes; the boxes are fixed bytes here (sealing is random) */
    msgpack_sbuffer just;
    s_fixed_sealed(&just, "auditor", 0xa1, "coordinator-binnenstad", 0xc1, ZN_JUSTIFICATION_MIN);
    zn_override_new_body ov, ov2;
    const msgpack_object *j = NULL;
    s_vector_override(&ov);
    msgpack_sbuffer_init(&b);
    zn_body_override_new_enc(&b, &ov, (const uint8_t *)just.data, just.size);
    s_check_vector("override-new-body", VEC_OVERRIDE_NEW, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_override_new_dec(&d.root, &ov2, &j, &e), 0);
    assert_true(ov2.step == 4);
    assert_string_equal(ov2.to, "wijkracht");
    zn_sealed s;
    assert_int_equal(zn_sealed_parse(j, ZN_JUSTIFICATION_MIN, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.reader[1], "coordinator-binnenstad");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&just);

    zn_handover_offer_body ho, ho2;
    s_vector_handover(&ho);
    msgpack_sbuffer_init(&b);
    zn_body_handover_offer_enc(&b, &ho);
    s_check_vector("handover-offer-body", VEC_HANDOVER_OFFER, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_handover_offer_dec(&d.root, &ho2, &e), 0);
    assert_memory_equal(&ho, &ho2, sizeof ho);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* handover-withdraw: the [id] body of handover-accept, here the handover above */
    uint8_t hid[ZN_ID_LEN], hid2[ZN_ID_LEN];
    memset(hid, 0x55, sizeof hid);
    msgpack_sbuffer_init(&b);
    zn_body_id_enc(&b, hid);
    s_check_vector("handover-withdraw-body", VEC_HANDOVER_WITHDRAW, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_id_dec(&d.root, hid2, &e), 0);
    assert_memory_equal(hid, hid2, ZN_ID_LEN);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* the decline reason: sealed to the auditor and the offering partner, a text of 12 bytes */
    msgpack_sbuffer reason;
    s_fixed_sealed(&reason, "auditor", 0xa2, "basisschool-de-linde", 0xb2, 12);
    zn_handover_row hr, hr2;
    s_vector_handover_row(&hr, &reason);
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    zn_pack_handover_row(&pk, &hr);
    s_check_vector("handover-row", VEC_HANDOVER_ROW, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_handover_row_dec(&d.root, &hr2, &e), 0);
    s_hrow_equal(&hr, &hr2);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&reason);
}

/* ------------------------------------------------------------ roundtrips of the bodies */

static void s_case_new_roundtrip(const zn_case_new_body *in)
{
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;
    zn_case_new_body out;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_case_new_enc(&b, in), 0);
    s_doc(&d, &b);
    if (zn_body_case_new_dec(&d.root, &out, &e) != 0)
        fail_msg("case-new refused: %s", e.text);
    assert_memory_equal(out.id, in->id, ZN_ID_LEN);
    assert_string_equal(out.network, in->network);
    assert_int_equal(out.identified, in->identified);
    if (in->identified) {
        assert_memory_equal(out.person, in->person, ZN_PSN_LEN);
        assert_int_equal(out.n_related, in->n_related);
        for (uint32_t i = 0; i < in->n_related; i++)
            assert_memory_equal(out.related[i], in->related[i], ZN_PSN_LEN);
    } else {
        assert_int_equal(out.n_related, 0);
    }
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

static void test_roundtrip_case_bodies(void **state)
{
    (void)state;
    zn_case_new_body cn;
    s_vector_case_new(&cn);
    s_case_new_roundtrip(&cn);
    /* anonymous: two fields, the person ignored */
    cn.identified = false;
    s_case_new_roundtrip(&cn);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_case_new_enc(&b, &cn), 0);
    assert_int_equal((uint8_t)b.data[0], 0x92);
    msgpack_sbuffer_destroy(&b);
    /* identified without related persons, and with the most, of another epoch */
    cn.identified = true;
    cn.n_related = 0;
    s_case_new_roundtrip(&cn);
    for (uint32_t i = 0; i < ZN_CASE_RELATED_MAX; i++) {
        memset(cn.related[i], 0x40 + (int)i, ZN_PSN_LEN);
        cn.related[i][0] = 255;
    }
    cn.person[0] = 255;
    cn.n_related = ZN_CASE_RELATED_MAX;
    memset(cn.network, 'n', ZN_IDENT_MAX - 1);
    cn.network[ZN_IDENT_MAX - 1] = '\0';
    s_case_new_roundtrip(&cn);

    /* the encoder refuses what breaks the rules, writing nothing */
    const struct {
        const char *what;
        int field;
    } bad[] = {{"network not an identifier", 0}, {"network empty", 1}, {"person epoch 0", 2},
               {"17 related", 3},                {"related of another epoch", 4},
               {"related equal to person", 5},   {"related twice", 6}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s_vector_case_new(&cn);
        cn.n_related = 2;
        memcpy(cn.related[1], s_psn[2], ZN_PSN_LEN);
        switch (bad[i].field) {
        case 0: strcpy(cn.network, "Binnenstad"); break;
        case 1: cn.network[0] = '\0'; break;
        case 2: cn.person[0] = 0; break;
        case 3: cn.n_related = ZN_CASE_RELATED_MAX + 1; break;
        case 4: memcpy(cn.related[1], s_psn[3], ZN_PSN_LEN); break;
        case 5: memcpy(cn.related[1], s_psn[0], ZN_PSN_LEN); break;
        case 6: memcpy(cn.related[1], s_psn[1], ZN_PSN_LEN); break;
        }
        msgpack_sbuffer_init(&b);
        if (zn_body_case_new_enc(&b, &cn) != -1)
            fail_msg("encoder accepted %s", bad[i].what);
        assert_int_equal(b.size, 0);
        msgpack_sbuffer_destroy(&b);
    }
    /* an anonymous case is not held to the person's rules: they are not sent */
    s_vector_case_new(&cn);
    cn.identified = false;
    cn.person[0] = 0;
    cn.n_related = 99;
    s_case_new_roundtrip(&cn);
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_case_new_enc(NULL, &cn), -1);
    assert_int_equal(zn_body_case_new_enc(&b, NULL), -1);
    msgpack_sbuffer_destroy(&b);

    /* [id]: case-show, case-close, consent-show, handover-accept */
    zn_doc d;
    zn_err e;
    uint8_t id[ZN_ID_LEN], got[ZN_ID_LEN];
    memset(id, 0x5a, sizeof id);
    msgpack_sbuffer_init(&b);
    zn_body_id_enc(&b, id);
    assert_int_equal(b.size, 3 + ZN_ID_LEN);
    s_doc(&d, &b);
    assert_int_equal(zn_body_id_dec(&d.root, got, &e), 0);
    assert_memory_equal(got, id, ZN_ID_LEN);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* case-link */
    zn_case_link_body cl, cl2;
    memset(&cl, 0, sizeof cl);
    memset(cl.case_id, 0x22, ZN_ID_LEN);
    memcpy(cl.person, s_psn[0], ZN_PSN_LEN);
    for (uint32_t n = 0; n <= 2; n++) {
        cl.n_related = n;
        if (n)
            memcpy(cl.related[n - 1], s_psn[n], ZN_PSN_LEN);
        msgpack_sbuffer_init(&b);
        zn_body_case_link_enc(&b, &cl);
        s_doc(&d, &b);
        assert_int_equal(zn_body_case_link_dec(&d.root, &cl2, &e), 0);
        assert_memory_equal(cl2.case_id, cl.case_id, ZN_ID_LEN);
        assert_memory_equal(cl2.person, cl.person, ZN_PSN_LEN);
        assert_int_equal(cl2.n_related, n);
        for (uint32_t i = 0; i < n; i++)
            assert_memory_equal(cl2.related[i], cl.related[i], ZN_PSN_LEN);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* override-list, handover-list */
    const uint64_t offsets[] = {0, 1, ZN_CASE_PAGE, UINT64_MAX};
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        for (int all = 0; all <= 1; all++) {
            bool a = !all;
            uint64_t o = 42;
            msgpack_sbuffer_init(&b);
            zn_body_override_list_enc(&b, all, offsets[i]);
            s_doc(&d, &b);
            assert_int_equal(zn_body_override_list_dec(&d.root, &a, &o, &e), 0);
            assert_int_equal(a, all);
            assert_true(o == offsets[i]);
            zn_doc_free(&d);
            msgpack_sbuffer_destroy(&b);
        }
        uint64_t o = 42;
        msgpack_sbuffer_init(&b);
        zn_body_offset_enc(&b, offsets[i]);
        s_doc(&d, &b);
        assert_int_equal(zn_body_offset_dec(&d.root, &o, &e), 0);
        assert_true(o == offsets[i]);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* handover-offer */
    zn_handover_offer_body ho, ho2;
    s_vector_handover(&ho);
    memset(ho.to, 'w', ZN_IDENT_MAX - 1);
    ho.to[ZN_IDENT_MAX - 1] = '\0';
    msgpack_sbuffer_init(&b);
    zn_body_handover_offer_enc(&b, &ho);
    s_doc(&d, &b);
    assert_int_equal(zn_body_handover_offer_dec(&d.root, &ho2, &e), 0);
    assert_memory_equal(&ho, &ho2, sizeof ho);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

/* the packed sealed object equals the sealed bytes given to the encoder */
static void s_sealed_obj_equal(const msgpack_object *o, const msgpack_sbuffer *want)
{
    msgpack_sbuffer b;
    msgpack_packer pk;
    assert_non_null(o);
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    assert_int_equal(b.size, want->size);
    assert_memory_equal(b.data, want->data, want->size);
    msgpack_sbuffer_destroy(&b);
}

static void test_roundtrip_sealed_bodies(void **state)
{
    (void)state;
    msgpack_sbuffer b, one, two, longest;
    zn_doc d;
    zn_err e;
    uint8_t id[ZN_ID_LEN], got[ZN_ID_LEN];
    memset(id, 0x22, sizeof id);
    s_fixed_sealed(&one, "auditor", 0x01, NULL, 0, 1);
    s_fixed_sealed(&two, "auditor", 0x02, "coordinator-binnenstad", 0x03, ZN_JUSTIFICATION_MIN);
    s_fixed_sealed(&longest, "a", 0x04, "b", 0x05, ZN_SEALED_TEXT_MAX);

    /* consent-set: every state, nil and sealed purposes, empty and full lists */
    zn_consent c, c2;
    const msgpack_object *purpose = NULL;
    for (int st = ZN_CONSENT_REQUESTED; st <= ZN_CONSENT_WITHDRAWN; st++) {
        for (unsigned g = 0; g < 16; g += 5) {
            for (int band = ZN_AGE_NONE; band <= ZN_AGE_16_PLUS; band++) {
                const msgpack_sbuffer *p = (band == 1) ? &one : (band == 2) ? &longest : NULL;
                s_consent(&c, (zn_consent_state)st, (zn_age_band)band, g);
                c.until_ms = band == 3 ? (uint64_t)INT64_MAX : (uint64_t)band; /* the latest time stored */
                c.n_scope = (size_t)band % 3;
                msgpack_sbuffer_init(&b);
                zn_body_consent_set_enc(&b, id, &c, p ? (const uint8_t *)p->data : NULL, p ? p->size : 0);
                s_doc(&d, &b);
                if (zn_body_consent_set_dec(&d.root, got, &c2, &purpose, &e) != 0)
                    fail_msg("consent-set refused: %s", e.text);
                assert_memory_equal(got, id, ZN_ID_LEN);
                s_consent_equal(&c, &c2);
                if (p)
                    s_sealed_obj_equal(purpose, p);
                else
                    assert_null(purpose);
                zn_doc_free(&d);
                msgpack_sbuffer_destroy(&b);
            }
        }
    }
    s_consent(&c, ZN_CONSENT_GRANTED, ZN_AGE_16_PLUS, ZN_GIVEN_CLIENT);
    for (size_t i = 0; i < ZN_CONSENT_SCOPE_MAX; i++)
        snprintf(c.scope[i], sizeof c.scope[i], "partner-%02zu", i);
    c.n_scope = ZN_CONSENT_SCOPE_MAX;
    msgpack_sbuffer_init(&b);
    zn_body_consent_set_enc(&b, id, &c, (const uint8_t *)one.data, one.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_consent_set_dec(&d.root, got, &c2, &purpose, &e), 0);
    s_consent_equal(&c, &c2);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* override-new, every step */
    zn_override_new_body ov, ov2;
    const msgpack_object *j = NULL;
    for (uint64_t step = 1; step <= ZN_MELDCODE_STEPS; step++) {
        s_vector_override(&ov);
        ov.step = step;
        const msgpack_sbuffer *p = step == 5 ? &longest : &two;
        msgpack_sbuffer_init(&b);
        zn_body_override_new_enc(&b, &ov, (const uint8_t *)p->data, p->size);
        s_doc(&d, &b);
        assert_int_equal(zn_body_override_new_dec(&d.root, &ov2, &j, &e), 0);
        assert_memory_equal(&ov, &ov2, sizeof ov);
        s_sealed_obj_equal(j, p);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* override-review with and without a note */
    for (int k = 0; k < 2; k++) {
        bool approve = !k;
        const msgpack_object *note = NULL;
        msgpack_sbuffer_init(&b);
        zn_body_override_review_enc(&b, id, k == 0, k ? (const uint8_t *)one.data : NULL, k ? one.size : 0);
        s_doc(&d, &b);
        assert_int_equal(zn_body_override_review_dec(&d.root, got, &approve, &note, &e), 0);
        assert_memory_equal(got, id, ZN_ID_LEN);
        assert_int_equal(approve, k == 0);
        if (k)
            s_sealed_obj_equal(note, &one);
        else
            assert_null(note);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* handover-decline */
    const msgpack_object *reason = NULL;
    msgpack_sbuffer_init(&b);
    zn_body_handover_decline_enc(&b, id, (const uint8_t *)two.data, two.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_handover_decline_dec(&d.root, got, &reason, &e), 0);
    assert_memory_equal(got, id, ZN_ID_LEN);
    s_sealed_obj_equal(reason, &two);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    /* without a reason: the encoder writes nil, the parser refuses it */
    msgpack_sbuffer_init(&b);
    zn_body_handover_decline_enc(&b, id, NULL, 0);
    s_doc(&d, &b);
    assert_int_equal(zn_body_handover_decline_dec(&d.root, got, &reason, &e), -1);
    s_refused("decline without reason", &e, "'reason'");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
    msgpack_sbuffer_destroy(&longest);
}

/* ------------------------------------------------------------ roundtrips of rows and views */

static void test_roundtrip_rows(void **state)
{
    (void)state;
    msgpack_sbuffer b, one, two;
    msgpack_packer pk;
    zn_doc d;
    zn_err e;
    s_fixed_sealed(&one, "auditor", 0x01, NULL, 0, 1);
    s_fixed_sealed(&two, "auditor", 0x02, "coordinator-binnenstad", 0x03, ZN_JUSTIFICATION_MIN);

    /* consent-row: with and without a purpose, every state */
    for (int st = ZN_CONSENT_REQUESTED; st <= ZN_CONSENT_WITHDRAWN; st++) {
        zn_consent_row r, r2;
        memset(&r, 0, sizeof r);
        r.seq = (uint64_t)st;
        s_consent(&r.c, (zn_consent_state)st, (zn_age_band)(st - 1), (unsigned)st * 3 % 16);
        r.c.until_ms = st == 4 ? 0 : S_UNTIL;
        r.at_ms = S_T;
        strcpy(r.handler, "J. de Vries (IB)");
        if (st % 2) {
            r.purpose = (const uint8_t *)one.data;
            r.purpose_len = one.size;
        }
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_pack_consent_row(&pk, &r);
        s_doc(&d, &b);
        if (zn_consent_row_dec(&d.root, &r2, &e) != 0)
            fail_msg("consent-row refused: %s", e.text);
        assert_true(r2.seq == r.seq && r2.at_ms == r.at_ms);
        s_consent_equal(&r.c, &r2.c);
        assert_string_equal(r2.handler, r.handler);
        s_sealed_equal(r.purpose, r.purpose_len, r2.purpose, r2.purpose_len);
        if (r2.purpose) /* points into the parsed input */
            assert_true(r2.purpose >= (const uint8_t *)b.data && r2.purpose + r2.purpose_len <= (const uint8_t *)b.data + b.size);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* override-row: pending without a note, approved with one */
    for (int i = 0; i < 3; i++) {
        zn_override_row r, r2;
        s_override_row(&r, i, &two, i ? &one : NULL);
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_pack_override_row(&pk, &r);
        s_doc(&d, &b);
        if (zn_override_row_dec(&d.root, &r2, &e) != 0)
            fail_msg("override-row refused: %s", e.text);
        s_vrow_equal(&r, &r2);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* handover-row: every state, with and without a reason */
    for (int st = ZN_HANDOVER_OPEN; st <= ZN_HANDOVER_WITHDRAWN; st++) {
        zn_handover_row r, r2;
        s_vector_handover_row(&r, &two);
        r.state = (zn_handover_state)st;
        if (st != ZN_HANDOVER_DECLINED) {
            r.reason = NULL;
            r.reason_len = 0;
        }
        r.escalated = st == ZN_HANDOVER_OPEN;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_pack_handover_row(&pk, &r);
        s_doc(&d, &b);
        if (zn_handover_row_dec(&d.root, &r2, &e) != 0)
            fail_msg("handover-row refused: %s", e.text);
        s_hrow_equal(&r, &r2);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    msgpack_sbuffer_destroy(&one);
    msgpack_sbuffer_destroy(&two);
}

static zn_case_view s_view, s_view2;

static void s_view_fill(zn_case_view *v, const msgpack_sbuffer *just, const msgpack_sbuffer *note)
{
    static const char *const how[] = {"regisseur", "received", "handover", "consent", "override", "handed-over"};
    memset(v, 0, sizeof *v);
    memset(v->id, 0x22, ZN_ID_LEN);
    strcpy(v->network, S_NET);
    strcpy(v->regisseur, "basisschool-de-linde");
    v->created_ms = S_T;
    v->closed_ms = 0;
    v->identified = true;
    v->n_members = 6;
    for (size_t i = 0; i < v->n_members; i++) {
        snprintf(v->members[i].partner, sizeof v->members[i].partner, "partner-%zu", i);
        strcpy(v->members[i].how, how[i]);
        v->members[i].since_ms = S_T + i;
    }
    v->consent_seq = 3;
    s_consent(&v->consent, ZN_CONSENT_GRANTED, ZN_AGE_NONE, 0); /* the view carries no band or givers */
    v->consent.until_ms = S_UNTIL;
    v->consent_at_ms = S_T + 5;
    v->n_handovers = 1;
    s_vector_handover_row(&v->handovers[0], note);
    v->handovers[0].state = ZN_HANDOVER_OPEN;
    v->n_overrides = 2;
    s_override_row(&v->overrides[0], 0, just, NULL);
    s_override_row(&v->overrides[1], 1, just, note);
}

static void s_view_equal(const zn_case_view *a, const zn_case_view *b)
{
    assert_memory_equal(a->id, b->id, ZN_ID_LEN);
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->regisseur, b->regisseur);
    assert_true(a->created_ms == b->created_ms && a->closed_ms == b->closed_ms);
    assert_int_equal(a->identified, b->identified);
    assert_int_equal(a->n_members, b->n_members);
    for (size_t i = 0; i < a->n_members; i++) {
        assert_string_equal(a->members[i].partner, b->members[i].partner);
        assert_string_equal(a->members[i].how, b->members[i].how);
        assert_true(a->members[i].since_ms == b->members[i].since_ms);
    }
    assert_true(a->consent_seq == b->consent_seq && a->consent_at_ms == b->consent_at_ms);
    s_consent_equal(&a->consent, &b->consent);
    assert_int_equal(a->n_handovers, b->n_handovers);
    for (size_t i = 0; i < a->n_handovers; i++)
        s_hrow_equal(&a->handovers[i], &b->handovers[i]);
    assert_int_equal(a->n_overrides, b->n_overrides);
    for (size_t i = 0; i < a->n_overrides; i++)
        s_vrow_equal(&a->overrides[i], &b->overrides[i]);
}

static void s_view_roundtrip(const zn_case_view *v)
{
    msgpack_sbuffer b;
    msgpack_packer pk;
    zn_doc d;
    zn_err e;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    zn_pack_case_view(&pk, v);
    s_doc(&d, &b);
    if (zn_case_view_dec(&d.root, &s_view2, &e) != 0)
        fail_msg("case-view refused: %s", e.text);
    s_view_equal(v, &s_view2);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

static void test_roundtrip_case_view(void **state)
{
    (void)state;
    msgpack_sbuffer just, note;
    s_fixed_sealed(&just, "auditor", 0x02, "coordinator-binnenstad", 0x03, ZN_JUSTIFICATION_MIN);
    s_fixed_sealed(&note, "auditor", 0x01, NULL, 0, 1);

    s_view_fill(&s_view, &just, &note);
    s_view_roundtrip(&s_view);

    /* a new anonymous case: only its regisseur, no consent recorded */
    s_view.identified = false;
    s_view.n_members = 1;
    s_view.consent_seq = 0;
    memset(&s_view.consent, 0, sizeof s_view.consent);
    s_view.consent_at_ms = 0;
    s_view.n_handovers = 0;
    s_view.n_overrides = 0;
    s_view_roundtrip(&s_view);

    /* closed, with the most the view holds */
    s_view_fill(&s_view, &just, &note);
    s_view.closed_ms = S_T + 1;
    s_view.n_members = ZN_CASE_PAGE;
    for (size_t i = 0; i < ZN_CASE_PAGE; i++) {
        snprintf(s_view.members[i].partner, sizeof s_view.members[i].partner, "p%03zu", i);
        strcpy(s_view.members[i].how, "received");
    }
    s_view.n_handovers = 16;
    for (size_t i = 0; i < 16; i++)
        s_vector_handover_row(&s_view.handovers[i], &note);
    s_view.n_overrides = 16;
    for (size_t i = 0; i < 16; i++)
        s_override_row(&s_view.overrides[i], (int)i, &just, (i % 2) ? &note : NULL);
    s_view_roundtrip(&s_view);

    /* the encoder never writes more than the view holds */
    s_view.n_members = ZN_CASE_PAGE + 5;
    s_view.n_handovers = 17;
    s_view.n_overrides = 99;
    msgpack_sbuffer b;
    msgpack_packer pk;
    zn_doc d;
    zn_err e;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    zn_pack_case_view(&pk, &s_view);
    s_doc(&d, &b);
    assert_int_equal(zn_case_view_dec(&d.root, &s_view2, &e), 0);
    assert_int_equal(s_view2.n_members, ZN_CASE_PAGE);
    assert_int_equal(s_view2.n_handovers, 16);
    assert_int_equal(s_view2.n_overrides, 16);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_destroy(&just);
    msgpack_sbuffer_destroy(&note);
}

/* ------------------------------------------------------------ malformed */

typedef enum {
    K_CASE_NEW, K_ID, K_CASE_LINK, K_CONSENT_SET, K_OVERRIDE_NEW, K_OVERRIDE_LIST, K_OFFSET, K_OVERRIDE_REVIEW,
    K_HANDOVER_OFFER, K_HANDOVER_DECLINE, K_CONSENT_ROW, K_OVERRIDE_ROW, K_HANDOVER_ROW, K_CASE_VIEW,
} s_kind;

static const char *const s_kind_names[] = {
    "case-new", "id", "case-link", "consent-set", "override-new", "override-list", "offset", "override-review",
    "handover-offer", "handover-decline", "consent-row", "override-row", "handover-row", "case-view",
};

/* Decode o as the body, row or view k. */
static int s_decode(s_kind k, const msgpack_object *o, zn_err *e)
{
    static zn_case_view v;
    uint8_t id[ZN_ID_LEN];
    uint64_t u;
    bool flag;
    const msgpack_object *sealed;
    switch (k) {
    case K_CASE_NEW: {
        zn_case_new_body b;
        return zn_body_case_new_dec(o, &b, e);
    }
    case K_ID:
        return zn_body_id_dec(o, id, e);
    case K_CASE_LINK: {
        zn_case_link_body b;
        return zn_body_case_link_dec(o, &b, e);
    }
    case K_CONSENT_SET: {
        zn_consent c;
        return zn_body_consent_set_dec(o, id, &c, &sealed, e);
    }
    case K_OVERRIDE_NEW: {
        zn_override_new_body b;
        return zn_body_override_new_dec(o, &b, &sealed, e);
    }
    case K_OVERRIDE_LIST:
        return zn_body_override_list_dec(o, &flag, &u, e);
    case K_OFFSET:
        return zn_body_offset_dec(o, &u, e);
    case K_OVERRIDE_REVIEW:
        return zn_body_override_review_dec(o, id, &flag, &sealed, e);
    case K_HANDOVER_OFFER: {
        zn_handover_offer_body b;
        return zn_body_handover_offer_dec(o, &b, e);
    }
    case K_HANDOVER_DECLINE:
        return zn_body_handover_decline_dec(o, id, &sealed, e);
    case K_CONSENT_ROW: {
        zn_consent_row r;
        return zn_consent_row_dec(o, &r, e);
    }
    case K_OVERRIDE_ROW: {
        zn_override_row r;
        return zn_override_row_dec(o, &r, e);
    }
    case K_HANDOVER_ROW: {
        zn_handover_row r;
        return zn_handover_row_dec(o, &r, e);
    }
    case K_CASE_VIEW:
        return zn_case_view_dec(o, &v, e);
    }
    return -1;
}

/* bodies that hold */
#define CS_BASE "A7 b16 s'granted' A2 s'a' s'b' A2 s'client' s'parent' s'12-15' u0 "
#define ON_BASE "A5 b16 b16 s'wijkracht' u4 "
#define CR_BASE "A9 u1 s'granted' A1 s'a' A1 s'client' s'16+' u0 u5 s'J. de Vries' "
#define HROW "A12 b16 b16 s'school' s'J. de Vries' s'wijkracht' b16 u1 u2 s'open' u0 f n"
#define VROW "A16 b16 b16 s'net' s'school' s'J. de Vries' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 n"
#define VIEW_HEAD "A10 b16 s'net' s'school' u1 u0 t "
#define MEMBERS "A1 A3 s'school' s'regisseur' u1 "
#define NO_CONSENT "A5 u0 s'none' A0 u0 u0 "
#define X16 "X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 X14 X15 X16"

static const struct {
    s_kind kind;
    const char *fmt;
    const char *why; /* NULL: it holds */
} s_table[] = {
    /* case-new */
    {K_CASE_NEW, "A2 b16 s'0-12-binnenstad'", NULL},
    {K_CASE_NEW, "A4 b16 s'net' P0 A0", NULL},
    {K_CASE_NEW, "A4 b16 s'net' P0 A2 P1 P2", NULL},
    {K_CASE_NEW, "A4 b16 s'net' P0 A16 " X16, NULL},
    {K_CASE_NEW, "n", "array of 2 fields"},
    {K_CASE_NEW, "A0", "array of 2 fields"},
    {K_CASE_NEW, "A1 b16", "array of 2 fields"},
    {K_CASE_NEW, "A3 b16 s'net' P0", "array of 2 fields"},
    {K_CASE_NEW, "A5 b16 s'net' P0 A0 n", "array of 2 fields"},
    {K_CASE_NEW, "M1 s'case' b16", "array of 2 fields"},
    {K_CASE_NEW, "A2 b15 s'net'", "'case'"},
    {K_CASE_NEW, "A2 b17 s'net'", "'case'"},
    {K_CASE_NEW, "A2 s'0123456789abcdef' s'net'", "'case'"},
    {K_CASE_NEW, "A2 b16 s'Net'", "'network'"},
    {K_CASE_NEW, "A2 b16 s''", "'network'"},
    {K_CASE_NEW, "A2 b16 S64", "'network'"},
    {K_CASE_NEW, "A2 b16 u1", "'network'"},
    {K_CASE_NEW, "A2 b16 s'-net'", "'network'"},
    {K_CASE_NEW, "A4 b16 s'net' P4 A0", "'person'"},
    {K_CASE_NEW, "A4 b16 s'net' b32 A0", "'person'"},
    {K_CASE_NEW, "A4 b16 s'net' b34 A0", "'person'"},
    {K_CASE_NEW, "A4 b16 s'net' n A0", "'person'"},
    {K_CASE_NEW, "A4 b16 s'net' P0 n", "'related' is not an array"},
    {K_CASE_NEW, "A4 b16 s'net' P0 P1", "'related' is not an array"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A17 " X16 " X17", "'related' is not an array of at most 16"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A1 b32", "'related': element 0 is not"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A2 P1 s'x'", "'related': element 1 is not"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A1 P0", "equals 'person'"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A3 P1 P2 P1", "element 2 appears twice"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A1 P3", "another epoch"},
    {K_CASE_NEW, "A4 b16 s'net' P0 A1 P5", "another epoch"},
    /* [id] */
    {K_ID, "A1 b16", NULL},
    {K_ID, "A0", "exactly 1 field"},
    {K_ID, "A2 b16 b16", "exactly 1 field"},
    {K_ID, "b16", "exactly 1 field"},
    {K_ID, "A1 b15", "'id'"},
    {K_ID, "A1 s'x'", "'id'"},
    {K_ID, "A1 n", "'id'"},
    /* case-link */
    {K_CASE_LINK, "A3 b16 P0 A0", NULL},
    {K_CASE_LINK, "A3 b16 P0 A2 P1 P2", NULL},
    {K_CASE_LINK, "A2 b16 P0", "exactly 3 fields"},
    {K_CASE_LINK, "A4 b16 P0 A0 n", "exactly 3 fields"},
    {K_CASE_LINK, "A3 b15 P0 A0", "'case'"},
    {K_CASE_LINK, "A3 b16 P4 A0", "'person'"},
    {K_CASE_LINK, "A3 b16 s'999990007' A0", "'person'"},
    {K_CASE_LINK, "A3 b16 P0 A1 P3", "another epoch"},
    {K_CASE_LINK, "A3 b16 P0 A1 P0", "equals 'person'"},
    {K_CASE_LINK, "A3 b16 P0 A2 P1 P1", "appears twice"},
    {K_CASE_LINK, "A3 b16 P0 M0", "'related'"},
    /* consent-set */
    {K_CONSENT_SET, CS_BASE "n", NULL},
    {K_CONSENT_SET, CS_BASE "Z1", NULL},
    {K_CONSENT_SET, CS_BASE "Z2048", NULL},
    {K_CONSENT_SET, "A7 b16 s'withdrawn' A0 A0 s'' u0 n", NULL},
    {K_CONSENT_SET, "A7 b16 s'requested' A0 A4 s'client' s'parent' s'guardian' s'representative' s'0-11' u9 n", NULL},
    {K_CONSENT_SET, "A7 b16 s'refused' A1 s'a' A1 s'guardian' s'16+' u9223372036854775807 n", NULL},
    /* an end the broker cannot store (above INT64_MAX) is refused, not clamped */
    {K_CONSENT_SET, "A7 b16 s'refused' A1 s'a' A1 s'guardian' s'16+' u9223372036854775808 n",
     "'until' is 9223372036854775808 ms, later than the latest time the broker stores"},
    {K_CONSENT_SET, "A7 b16 s'granted' A1 s'a' A1 s'client' s'16+' u18446744073709551615 n", "'until'"},
    {K_CONSENT_SET, "A6 b16 s'granted' A0 A0 s'' u0", "exactly 7 fields"},
    {K_CONSENT_SET, "A8 b16 s'granted' A2 s'a' s'b' A2 s'client' s'parent' s'12-15' u0 n n", "exactly 7 fields"},
    {K_CONSENT_SET, "A7 b15 s'granted' A2 s'a' s'b' A2 s'client' s'parent' s'12-15' u0 n", "'case'"},
    {K_CONSENT_SET, "A7 b16 s'none' A0 A0 s'' u0 n", "'state'"},
    {K_CONSENT_SET, "A7 b16 s'Granted' A0 A0 s'' u0 n", "'state'"},
    {K_CONSENT_SET, "A7 b16 s'' A0 A0 s'' u0 n", "'state'"},
    {K_CONSENT_SET, "A7 b16 u2 A0 A0 s'' u0 n", "'state'"},
    {K_CONSENT_SET, "A7 b16 s'granted' n A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A2 s'b' s'a' A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A2 s'a' s'a' A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A1 s'A' A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A1 s'' A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A1 u1 A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A1 S64 A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' s'a' A0 s'' u0 n", "'scope'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A2 s'parent' s'client' s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A2 s'client' s'client' s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A1 s'mother' s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A1 s'Client' s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A5 s'client' s'parent' s'guardian' s'representative' s'client' s'' u0 n",
     "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 s'client' s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A1 u1 s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A2 s'representative' s'guardian' s'' u0 n", "'given_by'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 s'12' u0 n", "'age_band'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 s'16-' u0 n", "'age_band'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 u12 u0 n", "'age_band'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 n u0 n", "'age_band'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 s'' i n", "'until'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 s'' s'0' n", "'until'"},
    {K_CONSENT_SET, "A7 b16 s'granted' A0 A0 s'' n n", "'until'"},
    {K_CONSENT_SET, CS_BASE "A0", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "Z0", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "Z2049", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "s'om te overleggen'", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "b49", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "t", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "A1 A2 s'Auditor' b49", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "A2 A2 s'b' b49 A2 s'a' b49", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "A2 A2 s'a' b49 A2 s'a' b49", "'purpose'"},
    {K_CONSENT_SET, CS_BASE "A1 A3 s'a' b49 n", "'purpose'"},
    /* override-new */
    {K_OVERRIDE_NEW, ON_BASE "Z40", NULL},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' u1 Z40", NULL},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' u5 Z2048", NULL},
    {K_OVERRIDE_NEW, "A4 b16 b16 s'wijkracht' u4", "exactly 5 fields"},
    {K_OVERRIDE_NEW, "A6 b16 b16 s'wijkracht' u4 Z40 n", "exactly 5 fields"},
    {K_OVERRIDE_NEW, "A5 b15 b16 s'wijkracht' u4 Z40", "'override'"},
    {K_OVERRIDE_NEW, "A5 b16 b17 s'wijkracht' u4 Z40", "'case'"},
    {K_OVERRIDE_NEW, "A5 b16 n s'wijkracht' u4 Z40", "'case'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'Wijkracht' u4 Z40", "'to'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'' u4 Z40", "'to'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 n u4 Z40", "'to'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' u0 Z40", "'step'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' u6 Z40", "'step'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' i Z40", "'step'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' s'4' Z40", "'step'"},
    {K_OVERRIDE_NEW, "A5 b16 b16 s'wijkracht' u18446744073709551615 Z40", "'step'"},
    {K_OVERRIDE_NEW, ON_BASE "n", "'justification'"},
    {K_OVERRIDE_NEW, ON_BASE "Z39", "'justification'"},
    {K_OVERRIDE_NEW, ON_BASE "Z1", "'justification'"},
    {K_OVERRIDE_NEW, ON_BASE "Z2049", "'justification'"},
    {K_OVERRIDE_NEW, ON_BASE "A0", "'justification'"},
    {K_OVERRIDE_NEW, ON_BASE "s'het kind is niet veilig thuis, melding is nodig'", "'justification'"},
    {K_OVERRIDE_NEW, ON_BASE "A2 A2 s'b' b88 A2 s'a' b88", "'justification'"},
    /* override-list, offset */
    {K_OVERRIDE_LIST, "A2 t u0", NULL},
    {K_OVERRIDE_LIST, "A2 f u18446744073709551615", NULL},
    {K_OVERRIDE_LIST, "A1 t", "exactly 2 fields"},
    {K_OVERRIDE_LIST, "A3 t u0 u0", "exactly 2 fields"},
    {K_OVERRIDE_LIST, "A2 u1 u0", "'all'"},
    {K_OVERRIDE_LIST, "A2 n u0", "'all'"},
    {K_OVERRIDE_LIST, "A2 t i", "'offset'"},
    {K_OVERRIDE_LIST, "A2 t s'0'", "'offset'"},
    {K_OFFSET, "A1 u0", NULL},
    {K_OFFSET, "A0", "exactly 1 field"},
    {K_OFFSET, "A2 u0 u0", "exactly 1 field"},
    {K_OFFSET, "u0", "exactly 1 field"},
    {K_OFFSET, "A1 i", "'offset'"},
    {K_OFFSET, "A1 t", "'offset'"},
    /* override-review */
    {K_OVERRIDE_REVIEW, "A3 b16 t n", NULL},
    {K_OVERRIDE_REVIEW, "A3 b16 f Z1", NULL},
    {K_OVERRIDE_REVIEW, "A2 b16 t", "exactly 3 fields"},
    {K_OVERRIDE_REVIEW, "A4 b16 t n n", "exactly 3 fields"},
    {K_OVERRIDE_REVIEW, "A3 b15 t n", "'override'"},
    {K_OVERRIDE_REVIEW, "A3 b16 u1 n", "'approve'"},
    {K_OVERRIDE_REVIEW, "A3 b16 n n", "'approve'"},
    {K_OVERRIDE_REVIEW, "A3 b16 t Z0", "'note'"},
    {K_OVERRIDE_REVIEW, "A3 b16 t s'akkoord'", "'note'"},
    {K_OVERRIDE_REVIEW, "A3 b16 t A0", "'note'"},
    {K_OVERRIDE_REVIEW, "A3 b16 t b60", "'note'"},
    /* handover-offer */
    {K_HANDOVER_OFFER, "A4 b16 b16 s'wijkracht' b16", NULL},
    {K_HANDOVER_OFFER, "A3 b16 b16 s'wijkracht'", "exactly 4 fields"},
    {K_HANDOVER_OFFER, "A5 b16 b16 s'wijkracht' b16 n", "exactly 4 fields"},
    {K_HANDOVER_OFFER, "A4 b15 b16 s'wijkracht' b16", "'handover'"},
    {K_HANDOVER_OFFER, "A4 b16 s'x' s'wijkracht' b16", "'case'"},
    {K_HANDOVER_OFFER, "A4 b16 b16 s'wijk kracht' b16", "'to'"},
    {K_HANDOVER_OFFER, "A4 b16 b16 S64 b16", "'to'"},
    {K_HANDOVER_OFFER, "A4 b16 b16 s'wijkracht' b15", "'msgid'"},
    {K_HANDOVER_OFFER, "A4 b16 b16 s'wijkracht' n", "'msgid'"},
    /* handover-decline */
    {K_HANDOVER_DECLINE, "A2 b16 Z1", NULL},
    {K_HANDOVER_DECLINE, "A2 b16 n", "'reason'"},
    {K_HANDOVER_DECLINE, "A1 b16", "exactly 2 fields"},
    {K_HANDOVER_DECLINE, "A3 b16 Z1 n", "exactly 2 fields"},
    {K_HANDOVER_DECLINE, "A2 b17 Z1", "'handover'"},
    {K_HANDOVER_DECLINE, "A2 b16 Z0", "'reason'"},
    {K_HANDOVER_DECLINE, "A2 b16 s'geen plek'", "'reason'"},
    /* consent-row */
    {K_CONSENT_ROW, CR_BASE "n", NULL},
    {K_CONSENT_ROW, CR_BASE "Z1", NULL},
    {K_CONSENT_ROW, "A9 u1 s'withdrawn' A0 A0 s'' u0 u5 s'J.' n", NULL},
    {K_CONSENT_ROW, "A8 u1 s'granted' A1 s'a' A1 s'client' s'16+' u0 u5 s'J.'", "exactly 9 fields"},
    {K_CONSENT_ROW, "A10 u1 s'granted' A1 s'a' A1 s'client' s'16+' u0 u5 s'J. de Vries' n n", "exactly 9 fields"},
    {K_CONSENT_ROW, "A9 i s'granted' A0 A0 s'' u0 u5 s'J.' n", "'seq'"},
    {K_CONSENT_ROW, "A9 u1 s'none' A0 A0 s'' u0 u5 s'J.' n", "'state'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A2 s'b' s'a' A0 s'' u0 u5 s'J.' n", "'scope'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A2 s'guardian' s'parent' s'' u0 u5 s'J.' n", "'given_by'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A0 s'17+' u0 u5 s'J.' n", "'age_band'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A0 s'' s'0' u5 s'J.' n", "'until'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A0 s'' u0 i s'J.' n", "'at'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A0 s'' u0 u5 s'' n", "'handler'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A0 s'' u0 u5 s'J.\tde Vries' n", "'handler'"},
    {K_CONSENT_ROW, "A9 u1 s'granted' A0 A0 s'' u0 u5 S128 n", "'handler'"},
    {K_CONSENT_ROW, CR_BASE "s'om te overleggen'", "'purpose'"},
    {K_CONSENT_ROW, CR_BASE "Z0", "'purpose'"},
    /* override-row */
    {K_OVERRIDE_ROW, VROW, NULL},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u5 u1 u2 u3 s'approved' s'coord' u9 t Z40 Z1",
     NULL},
    {K_OVERRIDE_ROW, "A15 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40",
     "exactly 16 fields"},
    {K_OVERRIDE_ROW, "A16 b15 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 n",
     "'override'"},
    {K_OVERRIDE_ROW, "A16 b16 n s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 n", "'case'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 n",
     "'network'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'School' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 n",
     "'from'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 n",
     "'handler'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' n u4 u1 u2 u3 s'pending' s'' u0 f Z40 n", "'to'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u0 u1 u2 u3 s'pending' s'' u0 f Z40 n",
     "'step'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u6 u1 u2 u3 s'pending' s'' u0 f Z40 n",
     "'step'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 i u2 u3 s'pending' s'' u0 f Z40 n",
     "'created'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 s'' u3 s'pending' s'' u0 f Z40 n",
     "'expires'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 n s'pending' s'' u0 f Z40 n",
     "'review_by'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'none' s'' u0 f Z40 n",
     "'state'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'open' s'' u0 f Z40 n",
     "'state'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'approved' s'Coord' u0 f Z40 n",
     "'reviewed_by'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' i f Z40 n",
     "'reviewed'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 u0 Z40 n",
     "'escalated'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f n n",
     "'justification'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z39 n",
     "'justification'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 Z0",
     "'note'"},
    {K_OVERRIDE_ROW, "A16 b16 b16 s'net' s'school' s'J.' s'wijkracht' u4 u1 u2 u3 s'pending' s'' u0 f Z40 A0",
     "'note'"},
    /* handover-row */
    {K_HANDOVER_ROW, HROW, NULL},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'declined' u3 t Z1", NULL},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'withdrawn' u3 t n", NULL},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'Withdrawn' u3 t n",
     "'state' is not one of open, accepted, declined, withdrawn"},
    {K_HANDOVER_ROW, "A11 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 f", "exactly 12 fields"},
    {K_HANDOVER_ROW, "A12 b15 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 f n", "'handover'"},
    {K_HANDOVER_ROW, "A12 b16 n s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 f n", "'case'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 f n", "'from'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' u1 s'wijkracht' b16 u1 u2 s'open' u0 f n", "'handler'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'W' b16 u1 u2 s'open' u0 f n", "'to'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b17 u1 u2 s'open' u0 f n", "'msgid'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 i u2 s'open' u0 f n", "'offered'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 t s'open' u0 f n", "'timeout'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'pending' u0 f n", "'state'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 u1 u0 f n", "'state'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' i f n", "'decided'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 n n", "'escalated'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 f s'nee'", "'reason'"},
    {K_HANDOVER_ROW, "A12 b16 b16 s'school' s'J.' s'wijkracht' b16 u1 u2 s'open' u0 f Z0", "'reason'"},
    /* case-view */
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "A0 A0", NULL},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A5 u3 s'granted' A2 s'a' s'b' u0 u9 A1 " HROW " A1 " VROW, NULL},
    {K_CASE_VIEW, VIEW_HEAD "A0 " NO_CONSENT "A0 A0", NULL},
    {K_CASE_VIEW, "A9 b16 s'net' s'school' u1 u0 t " MEMBERS NO_CONSENT "A0", "exactly 10 fields"},
    {K_CASE_VIEW, "A10 b15 s'net' s'school' u1 u0 t " MEMBERS NO_CONSENT "A0 A0", "'case'"},
    {K_CASE_VIEW, "A10 b16 s'' s'school' u1 u0 t " MEMBERS NO_CONSENT "A0 A0", "'network'"},
    {K_CASE_VIEW, "A10 b16 s'net' n u1 u0 t " MEMBERS NO_CONSENT "A0 A0", "'regisseur'"},
    {K_CASE_VIEW, "A10 b16 s'net' s'school' i u0 t " MEMBERS NO_CONSENT "A0 A0", "'created'"},
    {K_CASE_VIEW, "A10 b16 s'net' s'school' u1 s'' t " MEMBERS NO_CONSENT "A0 A0", "'closed'"},
    {K_CASE_VIEW, "A10 b16 s'net' s'school' u1 u0 u1 " MEMBERS NO_CONSENT "A0 A0", "'identified'"},
    {K_CASE_VIEW, VIEW_HEAD "n " NO_CONSENT "A0 A0", "'members'"},
    {K_CASE_VIEW, VIEW_HEAD "A1 A2 s'school' s'regisseur' " NO_CONSENT "A0 A0", "'members': row 0"},
    {K_CASE_VIEW, VIEW_HEAD "A2 A3 s'school' s'regisseur' u1 A3 s'wijk' s'boss' u1 " NO_CONSENT "A0 A0",
     "'members': row 1 field 'how'"},
    {K_CASE_VIEW, VIEW_HEAD "A1 A3 s'School' s'received' u1 " NO_CONSENT "A0 A0", "'members': row 0 field 'partner'"},
    {K_CASE_VIEW, VIEW_HEAD "A1 A3 s'school' s'received' i " NO_CONSENT "A0 A0", "'members': row 0 field 'since'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A4 u0 s'none' A0 u0 A0 A0", "'consent'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A5 u0 s'granted' A0 u0 u0 A0 A0", "'consent'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A5 u1 s'none' A0 u0 u0 A0 A0", "'consent'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A5 u1 s'maybe' A0 u0 u0 A0 A0", "'consent' field 'state'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A5 u1 s'granted' A2 s'b' s'a' u0 u0 A0 A0", "'consent' field 'scope'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS "A5 u1 s'granted' A0 i u0 A0 A0", "'consent' field 'until'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "n A0", "'handovers'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "A1 A0 A0", "'handovers': row 0"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "A2 " HROW " " HROW " A0", NULL},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "A0 n", "'overrides'"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "A0 A1 " HROW, "'overrides': row 0"},
    {K_CASE_VIEW, VIEW_HEAD MEMBERS NO_CONSENT "A0 A2 " VROW " A0", "'overrides': row 1"},
};

static void test_malformed_table(void **state)
{
    (void)state;
    size_t refused = 0;
    for (size_t i = 0; i < sizeof s_table / sizeof *s_table; i++) {
        msgpack_sbuffer b;
        zn_doc d;
        zn_err e;
        char what[64];
        snprintf(what, sizeof what, "%s case %zu", s_kind_names[s_table[i].kind], i);
        msgpack_sbuffer_init(&b);
        s_build(&b, s_table[i].fmt);
        if (zn_doc_parse(&d, (const uint8_t *)b.data, b.size, ZN_WIRE_MAX_DEPTH, 100000) != 0)
            fail_msg("%s: '%s' is not one msgpack object", what, s_table[i].fmt);
        zn_err_clear(&e);
        int rc = s_decode(s_table[i].kind, &d.root, &e);
        if (!s_table[i].why) {
            if (rc != 0)
                fail_msg("%s (%s) refused: %s", what, s_table[i].fmt, e.text);
        } else {
            if (rc != -1)
                fail_msg("%s (%s) accepted", what, s_table[i].fmt);
            s_refused(what, &e, s_table[i].why);
            refused++;
        }
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    assert_true(refused >= 100);
}

/* Sizes at the limits, built in code: 32 / 33 scope partners, 256 / 257 members, 16 / 17
 * handovers and overrides. */
static void test_limits(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        uint8_t id[ZN_ID_LEN] = {0};
        char name[16];

        /* consent-set scope */
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 7);
        zn_pack_bin(&pk, id, ZN_ID_LEN);
        zn_pack_str(&pk, "granted");
        msgpack_pack_array(&pk, ZN_CONSENT_SCOPE_MAX + extra);
        for (int i = 0; i < ZN_CONSENT_SCOPE_MAX + extra; i++) {
            snprintf(name, sizeof name, "p%02d", i);
            zn_pack_str(&pk, name);
        }
        msgpack_pack_array(&pk, 0);
        zn_pack_str(&pk, "");
        msgpack_pack_uint64(&pk, 0);
        msgpack_pack_nil(&pk);
        s_doc(&d, &b);
        zn_consent c;
        const msgpack_object *purpose;
        assert_int_equal(zn_body_consent_set_dec(&d.root, id, &c, &purpose, &e), extra ? -1 : 0);
        if (extra)
            s_refused("33 in scope", &e, "'scope'");
        else
            assert_int_equal(c.n_scope, ZN_CONSENT_SCOPE_MAX);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);

        /* case-view members, handovers, overrides */
        for (int part = 0; part < 3; part++) {
            msgpack_sbuffer_init(&b);
            s_build(&b, VIEW_HEAD);
            msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
            int n = part == 0 ? ZN_CASE_PAGE + extra : 0;
            msgpack_pack_array(&pk, (size_t)n);
            for (int i = 0; i < n; i++) {
                msgpack_pack_array(&pk, 3);
                snprintf(name, sizeof name, "p%03d", i);
                zn_pack_str(&pk, name);
                zn_pack_str(&pk, "received");
                msgpack_pack_uint64(&pk, 1);
            }
            s_build(&b, NO_CONSENT);
            n = part == 1 ? 16 + extra : 0;
            msgpack_pack_array(&pk, (size_t)n);
            for (int i = 0; i < n; i++)
                s_build(&b, HROW);
            n = part == 2 ? 16 + extra : 0;
            msgpack_pack_array(&pk, (size_t)n);
            for (int i = 0; i < n; i++)
                s_build(&b, VROW);
            s_doc(&d, &b);
            assert_int_equal(zn_case_view_dec(&d.root, &s_view2, &e), extra ? -1 : 0);
            if (extra)
                s_refused("view beyond its arrays", &e, part == 0 ? "'members'" : part == 1 ? "'handovers'" : "'overrides'");
            zn_doc_free(&d);
            msgpack_sbuffer_destroy(&b);
        }
    }
}

/* A sealed field of a row is taken from the input only in its shortest encoding (the bytes the
 * row then points at are exactly that encoding); a longer one is refused. */
static void test_row_sealed_encoding(void **state)
{
    (void)state;
    msgpack_sbuffer b, sealed;
    zn_doc d;
    zn_err e;
    zn_consent_row r;

    s_fixed_sealed(&sealed, "auditor", 0x01, "basisschool-de-linde", 0x02, 3);
    msgpack_sbuffer_init(&b);
    s_build(&b, CR_BASE);
    msgpack_sbuffer_write(&b, sealed.data, sealed.size);
    s_doc(&d, &b);
    assert_int_equal(zn_consent_row_dec(&d.root, &r, &e), 0);
    assert_int_equal(r.purpose_len, sealed.size);
    assert_memory_equal(r.purpose, sealed.data, sealed.size);
    assert_ptr_equal(r.purpose, (const uint8_t *)b.data + b.size - sealed.size);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* the same sealed array with a longer header in each of its places */
    const struct {
        const char *what;
        int place;
    } longer[] = {{"array16 outer", 0}, {"array16 pair", 1}, {"str8 reader", 2}, {"bin16 box", 3}};
    for (size_t k = 0; k < sizeof longer / sizeof *longer; k++) {
        msgpack_sbuffer_init(&b);
        s_build(&b, CR_BASE);
        uint8_t box[S_SEAL + 3];
        memset(box, 0x01, sizeof box);
        if (longer[k].place == 0)
            msgpack_sbuffer_write(&b, "\xdc\x00\x01", 3);
        else
            msgpack_sbuffer_write(&b, "\x91", 1);
        if (longer[k].place == 1)
            msgpack_sbuffer_write(&b, "\xdc\x00\x02", 3);
        else
            msgpack_sbuffer_write(&b, "\x92", 1);
        if (longer[k].place == 2)
            msgpack_sbuffer_write(&b, "\xd9\x07" "auditor", 9);
        else
            msgpack_sbuffer_write(&b, "\xa7" "auditor", 8);
        if (longer[k].place == 3)
            msgpack_sbuffer_write(&b, "\xc5\x00\x33", 3);
        else
            msgpack_sbuffer_write(&b, "\xc4\x33", 2);
        msgpack_sbuffer_write(&b, (const char *)box, sizeof box);
        s_doc(&d, &b);
        assert_int_equal(zn_consent_row_dec(&d.root, &r, &e), -1);
        s_refused(longer[k].what, &e, "shortest encoding");
        assert_null(r.purpose);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    msgpack_sbuffer_destroy(&sealed);
}

/* ------------------------------------------------------------ sealed text inside a body */

/* The client seals the purpose to the auditors of the convenant, the body carries it, the
 * broker checks its readers without opening it, and the auditor opens it. */
static void test_sealed_purpose_in_body(void **state)
{
    (void)state;
    zn_seckeys aud, school;
    uint8_t seed[32];
    memset(&aud, 0, sizeof aud);
    memset(&school, 0, sizeof school);
    memset(seed, 0x71, sizeof seed);
    assert_int_equal(crypto_box_seed_keypair(aud.pub.box, aud.box, seed), 0);
    memset(seed, 0x72, sizeof seed);
    assert_int_equal(crypto_box_seed_keypair(school.pub.box, school.box, seed), 0);
    zn_convenant *conv = zn_convenant_new();
    assert_non_null(conv);
    conv->n_networks = 1;
    strcpy(conv->networks[0], S_NET);
    conv->partners = calloc(2, sizeof *conv->partners);
    assert_non_null(conv->partners);
    conv->n_partners = 2;
    strcpy(conv->partners[0].id, "auditor");
    conv->partners[0].keys = aud.pub;
    conv->partners[0].auditor = true;
    strcpy(conv->partners[1].id, "basisschool-de-linde");
    conv->partners[1].keys = school.pub;
    conv->partners[1].roles[0] = ZN_ROLE_PARTNER;

    char readers[ZN_SEALED_READERS_MAX][ZN_IDENT_MAX];
    zn_err e;
    int n = zn_sealed_readers(conv, ZN_READ_AUDITORS, -1, NULL, readers, ZN_SEALED_READERS_MAX, &e);
    assert_int_equal(n, 1);
    static const char purpose_text[] = "Overleg over schoolverzuim en thuissituatie.";
    msgpack_sbuffer sealed;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sealed);
    msgpack_packer_init(&pk, &sealed, msgpack_sbuffer_write);
    assert_int_equal(zn_sealed_build(&pk, conv, (const char(*)[ZN_IDENT_MAX])readers, (size_t)n, purpose_text,
                                     strlen(purpose_text), &e), 0);

    zn_consent c, c2;
    uint8_t id[ZN_ID_LEN], got[ZN_ID_LEN];
    memset(id, 0x22, sizeof id);
    s_vector_consent(&c);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    zn_body_consent_set_enc(&b, id, &c, (const uint8_t *)sealed.data, sealed.size);
    zn_doc d;
    s_doc(&d, &b);
    const msgpack_object *po = NULL;
    assert_int_equal(zn_body_consent_set_dec(&d.root, got, &c2, &po, &e), 0);
    zn_sealed s;
    assert_int_equal(zn_sealed_parse(po, 1, &s, &e), 0);
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])readers, (size_t)n, &e), 0);
    char text[ZN_SEALED_TEXT_MAX + 1];
    assert_int_equal(zn_sealed_open(&s, "auditor", &aud, text, sizeof text, &e), 0);
    assert_string_equal(text, purpose_text);
    assert_int_equal(zn_sealed_open(&s, "basisschool-de-linde", &school, text, sizeof text, &e), -1);
    assert_int_equal(e.code, ZN_E_FORBIDDEN);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&sealed);
    zn_convenant_destroy(&conv);
}

/* ------------------------------------------------------------ fuzz seeds */

static void s_write(const char *dir, const char *name, const msgpack_sbuffer *b)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b->data, 1, b->size, fp), b->size);
    assert_int_equal(fclose(fp), 0);
}

/* A REQUEST frame of kind with the body in b (signed with the vector key, seed 32 x 0x01). */
static void s_write_request(const char *dir, const char *name, const char *kind, const msgpack_sbuffer *body)
{
    zn_seckeys k;
    uint8_t seed[32], *req = NULL, sig[ZN_SIG_LEN];
    size_t len = 0;
    zn_err e;
    memset(&k, 0, sizeof k);
    memset(seed, 0x01, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(k.pub.sign, k.sign, seed), 0);
    assert_int_equal(zn_request_build(kind, "basisschool-de-linde", "J. de Vries (IB)", S_T, 3,
                                      (const uint8_t *)body->data, body->size, &k, &req, &len, sig, &e), 0);
    msgpack_sbuffer f;
    msgpack_sbuffer_init(&f);
    zn_frame_request(&f, 7, req, len, sig);
    s_write(dir, name, &f);
    msgpack_sbuffer_destroy(&f);
    free(req);
}

static void s_write_result(const char *dir, const char *name, const char *kind, const msgpack_sbuffer *body)
{
    msgpack_sbuffer f;
    msgpack_sbuffer_init(&f);
    zn_frame_result(&f, 7, kind, (const uint8_t *)body->data, body->size);
    s_write(dir, name, &f);
    msgpack_sbuffer_destroy(&f);
}

/* With ZN_CORPUS_OUT=DIR set, (re)write the fuzz seeds of these bodies there (ok-*: requests and
 * results whose bodies hold). */
static void test_corpus_write(void **state)
{
    (void)state;
    const char *dir = getenv("ZN_CORPUS_OUT");
    if (!dir)
        skip();
    msgpack_sbuffer b, just, reason;
    msgpack_packer pk;
    uint8_t id[ZN_ID_LEN];
    memset(id, 0x22, sizeof id);
    s_fixed_sealed(&just, "auditor", 0xa1, "coordinator-binnenstad", 0xc1, ZN_JUSTIFICATION_MIN);
    s_fixed_sealed(&reason, "auditor", 0xa2, "basisschool-de-linde", 0xb2, 12);

    zn_case_new_body cn;
    s_vector_case_new(&cn);
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_case_new_enc(&b, &cn), 0);
    s_write_request(dir, "ok-request-case-new-identified.bin", "case-new", &b);
    msgpack_sbuffer_destroy(&b);

    zn_case_link_body cl;
    memset(&cl, 0, sizeof cl);
    memcpy(cl.case_id, id, ZN_ID_LEN);
    memcpy(cl.person, s_psn[0], ZN_PSN_LEN);
    memcpy(cl.related[0], s_psn[2], ZN_PSN_LEN);
    cl.n_related = 1;
    msgpack_sbuffer_init(&b);
    zn_body_case_link_enc(&b, &cl);
    s_write_request(dir, "ok-request-case-link.bin", "case-link", &b);
    msgpack_sbuffer_destroy(&b);

    zn_consent c;
    s_vector_consent(&c);
    msgpack_sbuffer_init(&b);
    zn_body_consent_set_enc(&b, id, &c, (const uint8_t *)reason.data, reason.size);
    s_write_request(dir, "ok-request-consent-set.bin", "consent-set", &b);
    msgpack_sbuffer_destroy(&b);

    zn_override_new_body ov;
    s_vector_override(&ov);
    msgpack_sbuffer_init(&b);
    zn_body_override_new_enc(&b, &ov, (const uint8_t *)just.data, just.size);
    s_write_request(dir, "ok-request-override-new.bin", "override-new", &b);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_body_override_review_enc(&b, ov.id, false, (const uint8_t *)reason.data, reason.size);
    s_write_request(dir, "ok-request-override-review.bin", "override-review", &b);
    msgpack_sbuffer_destroy(&b);

    zn_handover_offer_body ho;
    s_vector_handover(&ho);
    msgpack_sbuffer_init(&b);
    zn_body_handover_offer_enc(&b, &ho);
    s_write_request(dir, "ok-request-handover-offer.bin", "handover-offer", &b);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_body_handover_decline_enc(&b, ho.id, (const uint8_t *)reason.data, reason.size);
    s_write_request(dir, "ok-request-handover-decline.bin", "handover-decline", &b);
    msgpack_sbuffer_destroy(&b);

    s_view_fill(&s_view, &just, &reason);
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    zn_pack_case_view(&pk, &s_view);
    s_write_result(dir, "ok-result-case-show.bin", "case-show", &b);
    msgpack_sbuffer_destroy(&b);

    zn_consent_row cr;
    memset(&cr, 0, sizeof cr);
    cr.seq = 1;
    s_vector_consent(&cr.c);
    cr.at_ms = S_T;
    strcpy(cr.handler, "J. de Vries (IB)");
    cr.purpose = (const uint8_t *)reason.data;
    cr.purpose_len = reason.size;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
    msgpack_pack_array(&pk, 2);
    zn_pack_consent_row(&pk, &cr);
    cr.seq = 2;
    cr.c.state = ZN_CONSENT_WITHDRAWN;
    cr.purpose = NULL;
    cr.purpose_len = 0;
    zn_pack_consent_row(&pk, &cr);
    s_write_result(dir, "ok-result-consent-show.bin", "consent-show", &b);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, 2);
    msgpack_pack_array(&pk, 2);
    zn_pack_override_row(&pk, &s_view.overrides[0]);
    zn_pack_override_row(&pk, &s_view.overrides[1]);
    s_write_result(dir, "ok-result-override-list.bin", "override-list", &b);
    msgpack_sbuffer_destroy(&b);

    zn_handover_row hr;
    s_vector_handover_row(&hr, &reason);
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_array(&pk, 1);
    zn_pack_handover_row(&pk, &hr);
    s_write_result(dir, "ok-result-handover-list.bin", "handover-list", &b);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_destroy(&just);
    msgpack_sbuffer_destroy(&reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_capacity_table),
        cmocka_unit_test(test_consent_check),
        cmocka_unit_test(test_consent_covers),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_roundtrip_case_bodies),
        cmocka_unit_test(test_roundtrip_sealed_bodies),
        cmocka_unit_test(test_roundtrip_rows),
        cmocka_unit_test(test_roundtrip_case_view),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_row_sealed_encoding),
        cmocka_unit_test(test_sealed_purpose_in_body),
        cmocka_unit_test(test_corpus_write),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
