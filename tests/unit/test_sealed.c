/* Unit tests for zn_sealed, free text sealed to the partners who may read it: the reader sets
 * worked out from a small in-memory convenant (auditors, the coordinators of a network, one
 * partner, unions, empty sets refused); build and open for every reader; a non-reader refused
 * (forbidden); a tampered box or a wrong key refused (verification-failed); the reader check
 * (missing and extra readers); the text rules; and the strict parse (order, duplicates, sizes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zn_sealed.h"

/* ------------------------------------------------------------ a small convenant */

/* networks: 0 "0-12-binnenstad", 1 "12-18", 2 "18plus" (no coordinator) */
enum { P_AUD_A, P_AUD_B, P_COORD_0, P_COORD_01, P_COORD_1, P_SCHOOL, P_WIJK, P_COUNT };
static const char *const s_ids[P_COUNT] = {
    "auditor-a", "auditor-b", "coord-0", "coord-01", "coord-1", "basisschool-de-linde", "wijkracht",
};
static zn_seckeys s_keys[P_COUNT];
static zn_convenant *s_conv;

static void s_key(zn_seckeys *k, uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(k, 0, sizeof *k);
    k->pub.kind = ZN_KIND_PARTNER;
    memset(seed, seed_byte, sizeof seed);
    if (crypto_box_seed_keypair(k->pub.box, k->box, seed) != 0)
        abort();
}

static zn_convenant *s_convenant(bool with_auditors)
{
    zn_convenant *c = zn_convenant_new();
    assert_non_null(c);
    c->n_networks = 3;
    strcpy(c->networks[0], "0-12-binnenstad");
    strcpy(c->networks[1], "12-18");
    strcpy(c->networks[2], "18plus");
    c->partners = calloc(P_COUNT, sizeof *c->partners);
    assert_non_null(c->partners);
    /* stored in another order than the ids sort, so the readers must be sorted */
    static const int order[P_COUNT] = {P_WIJK, P_COORD_1, P_AUD_B, P_SCHOOL, P_COORD_01, P_AUD_A, P_COORD_0};
    for (int k = 0; k < P_COUNT; k++) {
        int i = order[k];
        zn_partner *p = &c->partners[c->n_partners++];
        strcpy(p->id, s_ids[i]);
        strcpy(p->name, s_ids[i]);
        p->keys = s_keys[i].pub;
        p->auditor = with_auditors && (i == P_AUD_A || i == P_AUD_B);
        if (i == P_COORD_0 || i == P_COORD_01)
            p->roles[0] |= ZN_ROLE_COORDINATOR;
        if (i == P_COORD_1 || i == P_COORD_01)
            p->roles[1] |= ZN_ROLE_COORDINATOR;
        if (i == P_SCHOOL || i == P_WIJK)
            p->roles[0] |= ZN_ROLE_PARTNER;
        if (i == P_WIJK)
            p->roles[1] |= ZN_ROLE_PARTNER;
    }
    return c;
}

static int s_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    for (int i = 0; i < P_COUNT; i++)
        s_key(&s_keys[i], (uint8_t)(0x61 + i));
    s_conv = s_convenant(true);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    zn_convenant_destroy(&s_conv);
    for (int i = 0; i < P_COUNT; i++)
        zn_seckeys_wipe(&s_keys[i]);
    return 0;
}

/* ------------------------------------------------------------ helpers */

/* out holds exactly the ids named in want ("a,b,c"). */
static void s_expect_ids(char (*out)[ZN_IDENT_MAX], int n, const char *want)
{
    char list[1024] = "";
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(list, ",");
        strcat(list, out[i]);
    }
    if (strcmp(list, want) != 0)
        fail_msg("readers '%s', want '%s'", list, want);
}

/* Seal text to readers and parse the result: the encoding stays in *b (caller destroys it). */
static void s_build(msgpack_sbuffer *b, zn_doc *d, zn_sealed *s, const char (*readers)[ZN_IDENT_MAX], size_t n,
                    const char *text)
{
    msgpack_packer pk;
    zn_err e;
    msgpack_sbuffer_init(b);
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    if (zn_sealed_build(&pk, s_conv, readers, n, text, strlen(text), &e) != 0)
        fail_msg("build refused: %s", e.text);
    assert_int_equal(zn_doc_parse(d, (const uint8_t *)b->data, b->size, ZN_WIRE_MAX_DEPTH, 1000), 0);
    if (zn_sealed_parse(&d->root, 1, s, &e) != 0)
        fail_msg("parse refused: %s", e.text);
}

/* ------------------------------------------------------------ readers */

static void test_readers(void **state)
{
    (void)state;
    char out[ZN_SEALED_READERS_MAX][ZN_IDENT_MAX];
    zn_err e;
    int n;

    n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS, -1, NULL, out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "auditor-a,auditor-b");
    n = zn_sealed_readers(s_conv, ZN_READ_COORDINATORS, 0, NULL, out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "coord-0,coord-01");
    n = zn_sealed_readers(s_conv, ZN_READ_COORDINATORS, 1, NULL, out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "coord-01,coord-1");
    n = zn_sealed_readers(s_conv, ZN_READ_PARTNER, 7, "wijkracht", out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "wijkracht");
    /* the override justification: coordinators of the case's network and the auditors */
    n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_COORDINATORS, 0, NULL, out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "auditor-a,auditor-b,coord-0,coord-01");
    /* the handover decline reason: the offering partner and the auditors */
    n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_PARTNER, -1, "basisschool-de-linde", out,
                          ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "auditor-a,auditor-b,basisschool-de-linde");
    /* the review note: the override's partner, the coordinators and the auditors */
    n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_COORDINATORS | ZN_READ_PARTNER, 1, "wijkracht", out,
                          ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "auditor-a,auditor-b,coord-01,coord-1,wijkracht");
    /* a partner in two sets is named once */
    n = zn_sealed_readers(s_conv, ZN_READ_COORDINATORS | ZN_READ_PARTNER, 0, "coord-01", out, ZN_SEALED_READERS_MAX,
                          &e);
    s_expect_ids(out, n, "coord-0,coord-01");
    n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_PARTNER, 0, "auditor-b", out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "auditor-a,auditor-b");
    /* exactly max fits; one fewer does not */
    n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_COORDINATORS, 0, NULL, out, 4, &e);
    assert_int_equal(n, 4);
    assert_int_equal(zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_COORDINATORS, 0, NULL, out, 3, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    /* empty sets, unknown networks and partners, nonsense asks */
    assert_int_equal(zn_sealed_readers(s_conv, ZN_READ_COORDINATORS, 2, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_non_null(strstr(e.text, "coordinator"));
    assert_int_equal(zn_sealed_readers(s_conv, ZN_READ_COORDINATORS, 3, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_NETWORK);
    assert_int_equal(zn_sealed_readers(s_conv, ZN_READ_COORDINATORS, -1, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_NETWORK);
    assert_int_equal(zn_sealed_readers(s_conv, ZN_READ_PARTNER, 0, "politie", out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_int_equal(zn_sealed_readers(s_conv, ZN_READ_PARTNER, 0, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_int_equal(zn_sealed_readers(s_conv, 0, 0, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(zn_sealed_readers(s_conv, 8, 0, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(zn_sealed_readers(NULL, ZN_READ_AUDITORS, 0, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);

    zn_convenant *none = s_convenant(false);
    assert_int_equal(zn_sealed_readers(none, ZN_READ_AUDITORS, 0, NULL, out, ZN_SEALED_READERS_MAX, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_non_null(strstr(e.text, "auditor"));
    /* the coordinators alone still make a set */
    n = zn_sealed_readers(none, ZN_READ_AUDITORS | ZN_READ_COORDINATORS, 0, NULL, out, ZN_SEALED_READERS_MAX, &e);
    s_expect_ids(out, n, "coord-0,coord-01");
    zn_convenant_destroy(&none);
}

/* ------------------------------------------------------------ build and open */

static void test_build_open_every_reader(void **state)
{
    (void)state;
    char r[ZN_SEALED_READERS_MAX][ZN_IDENT_MAX];
    static const char text[] = "Veiligheid van het kind staat op het spel:\n\tmelding bij Veilig Thuis, "
                               "stap 5 van de meldcode. Caf\xc3\xa9 \xe2\x82\xac 0.";
    zn_err e;
    int n = zn_sealed_readers(s_conv, ZN_READ_AUDITORS | ZN_READ_COORDINATORS | ZN_READ_PARTNER, 0,
                              "basisschool-de-linde", r, ZN_SEALED_READERS_MAX, &e);
    assert_int_equal(n, 5);
    msgpack_sbuffer b;
    zn_doc d;
    zn_sealed s;
    s_build(&b, &d, &s, (const char(*)[ZN_IDENT_MAX])r, (size_t)n, text);
    assert_int_equal(s.n, 5);
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])r, (size_t)n, &e), 0);
    for (int i = 0; i < P_COUNT; i++) {
        char out[ZN_SEALED_TEXT_MAX + 1];
        bool reader = false;
        for (int k = 0; k < n; k++)
            reader |= strcmp(r[k], s_ids[i]) == 0;
        zn_err_clear(&e);
        int rc = zn_sealed_open(&s, s_ids[i], &s_keys[i], out, sizeof out, &e);
        if (reader) {
            if (rc != 0)
                fail_msg("%s cannot open: %s", s_ids[i], e.text);
            assert_string_equal(out, text);
            assert_int_equal(s.box_len[0], crypto_box_SEALBYTES + strlen(text)); /* not padded */
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(e.code, ZN_E_FORBIDDEN);
            assert_string_equal(out, "");
        }
    }
    /* a reader's id with another partner's key: the box does not open, nothing is left */
    char out[ZN_SEALED_TEXT_MAX + 1];
    assert_int_equal(zn_sealed_open(&s, "auditor-a", &s_keys[P_WIJK], out, sizeof out, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_string_equal(out, "");
    /* no room for the text */
    assert_int_equal(zn_sealed_open(&s, "auditor-a", &s_keys[P_AUD_A], out, strlen(text), &e), -1);
    assert_int_equal(zn_sealed_open(&s, "auditor-a", &s_keys[P_AUD_A], out, strlen(text) + 1, &e), 0);
    zn_doc_free(&d);

    /* every byte of a box tampered with: refused */
    for (size_t i = 0; i < s.box_len[0]; i += 7) {
        uint8_t *copy = malloc(b.size);
        assert_non_null(copy);
        memcpy(copy, b.data, b.size);
        zn_sealed t;
        assert_int_equal(zn_doc_parse(&d, copy, b.size, ZN_WIRE_MAX_DEPTH, 1000), 0);
        assert_int_equal(zn_sealed_parse(&d.root, 1, &t, &e), 0);
        ((uint8_t *)t.box[0])[i] ^= 0x01; /* the box points into copy */
        assert_int_equal(zn_sealed_open(&t, t.reader[0], &s_keys[P_AUD_A], out, sizeof out, &e), -1);
        assert_int_equal(e.code, ZN_E_VERIFY);
        zn_doc_free(&d);
        free(copy);
    }
    msgpack_sbuffer_destroy(&b);

    /* the longest text, and one of a single byte */
    char *big = malloc(ZN_SEALED_TEXT_MAX + 1);
    assert_non_null(big);
    memset(big, 'x', ZN_SEALED_TEXT_MAX);
    big[ZN_SEALED_TEXT_MAX] = '\0';
    s_build(&b, &d, &s, (const char(*)[ZN_IDENT_MAX])r, 1, big);
    char *got = malloc(ZN_SEALED_TEXT_MAX + 1);
    assert_non_null(got);
    assert_int_equal(zn_sealed_open(&s, r[0], &s_keys[P_AUD_A], got, ZN_SEALED_TEXT_MAX + 1, &e), 0);
    assert_string_equal(got, big);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    s_build(&b, &d, &s, (const char(*)[ZN_IDENT_MAX])r, 1, "!");
    assert_int_equal(zn_sealed_open(&s, r[0], &s_keys[P_AUD_A], got, 2, &e), 0);
    assert_string_equal(got, "!");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    free(got);
    free(big);
}

static void test_build_refused(void **state)
{
    (void)state;
    char r[3][ZN_IDENT_MAX] = {"auditor-a", "auditor-b", "wijkracht"};
    const char (*rr)[ZN_IDENT_MAX] = (const char(*)[ZN_IDENT_MAX])r;
    msgpack_sbuffer b;
    msgpack_packer pk;
    zn_err e;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);

    static const struct {
        const char *text;
        size_t len;
        bool ok;
    } texts[] = {
        {"regel een\nregel twee\tmet tab", 28, true},
        {"", 0, false},
        {"a\rb", 3, false},             /* carriage return */
        {"a\x01" "b", 3, false},        /* C0 */
        {"a\x7f" "b", 3, false},        /* DEL */
        {"a\xc2\x85" "b", 4, false},    /* C1 (NEL) */
        {"a\xff" "b", 3, false},        /* not UTF-8 */
        {"a\xc3", 2, false},            /* cut in a character */
        {"a\xed\xa0\x80", 4, false},    /* a surrogate */
        {"a\0b", 3, false},             /* NUL */
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        zn_err_clear(&e);
        int rc = zn_sealed_build(&pk, s_conv, rr, 3, texts[i].text, texts[i].len, &e);
        if (texts[i].ok) {
            assert_int_equal(rc, 0);
            msgpack_sbuffer_clear(&b);
        } else {
            if (rc != -1)
                fail_msg("text %zu accepted", i);
            assert_int_equal(e.code, ZN_E_USAGE);
            assert_int_equal(b.size, 0);
        }
    }
    char *big = malloc(ZN_SEALED_TEXT_MAX + 1);
    assert_non_null(big);
    memset(big, 'x', ZN_SEALED_TEXT_MAX + 1);
    assert_int_equal(zn_sealed_build(&pk, s_conv, rr, 3, big, ZN_SEALED_TEXT_MAX + 1, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    free(big);
    assert_int_equal(zn_sealed_build(&pk, s_conv, rr, 3, NULL, 3, &e), -1);

    /* reader lists: none, too many, unsorted, twice, unknown, not an identifier */
    assert_int_equal(zn_sealed_build(&pk, s_conv, rr, 0, "tekst", 5, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_sealed_build(&pk, s_conv, rr, ZN_SEALED_READERS_MAX + 1, "tekst", 5, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    char un[2][ZN_IDENT_MAX] = {"auditor-b", "auditor-a"};
    assert_int_equal(zn_sealed_build(&pk, s_conv, (const char(*)[ZN_IDENT_MAX])un, 2, "tekst", 5, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    char dup[2][ZN_IDENT_MAX] = {"auditor-a", "auditor-a"};
    assert_int_equal(zn_sealed_build(&pk, s_conv, (const char(*)[ZN_IDENT_MAX])dup, 2, "tekst", 5, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    char unknown[2][ZN_IDENT_MAX] = {"auditor-a", "politie"};
    assert_int_equal(zn_sealed_build(&pk, s_conv, (const char(*)[ZN_IDENT_MAX])unknown, 2, "tekst", 5, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_non_null(strstr(e.text, "politie"));
    char bad[1][ZN_IDENT_MAX] = {"Auditor"};
    assert_int_equal(zn_sealed_build(&pk, s_conv, (const char(*)[ZN_IDENT_MAX])bad, 1, "tekst", 5, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(b.size, 0); /* nothing packed by any refusal */
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ reader check */

static void test_check_readers(void **state)
{
    (void)state;
    char r[3][ZN_IDENT_MAX] = {"auditor-a", "coord-0", "coord-01"};
    msgpack_sbuffer b;
    zn_doc d;
    zn_sealed s;
    zn_err e;
    s_build(&b, &d, &s, (const char(*)[ZN_IDENT_MAX])r, 3, "tekst");

    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])r, 3, &e), 0);
    /* one missing: the want list names one more */
    char more[4][ZN_IDENT_MAX] = {"auditor-a", "auditor-b", "coord-0", "coord-01"};
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])more, 4, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
    assert_non_null(strstr(e.text, "not sealed to 'auditor-b'"));
    char more_end[4][ZN_IDENT_MAX] = {"auditor-a", "coord-0", "coord-01", "coord-1"};
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])more_end, 4, &e), -1);
    assert_non_null(strstr(e.text, "not sealed to 'coord-1'"));
    /* one extra: the want list names one fewer */
    char fewer[2][ZN_IDENT_MAX] = {"auditor-a", "coord-01"};
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])fewer, 2, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
    assert_non_null(strstr(e.text, "sealed to 'coord-0', who may not"));
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])fewer, 1, &e), -1);
    assert_non_null(strstr(e.text, "sealed to 'coord-0', who may not"));
    assert_int_equal(zn_sealed_check_readers(&s, NULL, 0, &e), -1);
    assert_non_null(strstr(e.text, "'auditor-a'"));
    /* one swapped for another */
    char other[3][ZN_IDENT_MAX] = {"auditor-a", "coord-0", "coord-1"};
    assert_int_equal(zn_sealed_check_readers(&s, (const char(*)[ZN_IDENT_MAX])other, 3, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ parse */

/* [[reader, bin of len bytes], ...] from "reader:len,reader:len" (len 0: a str box; len -1: nil) */
static void s_pack_pairs(msgpack_sbuffer *b, const char *spec)
{
    msgpack_packer pk;
    char copy[1024], *save = NULL;
    size_t n = 0;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    strcpy(copy, spec);
    for (const char *c = spec; *c; c++)
        n += *c == ',';
    msgpack_pack_array(&pk, spec[0] ? n + 1 : 0);
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        assert_non_null(colon);
        *colon = '\0';
        long len = strtol(colon + 1, NULL, 10);
        msgpack_pack_array(&pk, 2);
        zn_pack_str(&pk, t);
        if (len > 0) {
            uint8_t *box = calloc(1, (size_t)len);
            assert_non_null(box);
            zn_pack_bin(&pk, box, (size_t)len);
            free(box);
        } else if (len == 0) {
            zn_pack_str(&pk, "box");
        } else {
            msgpack_pack_nil(&pk);
        }
    }
}

static void test_parse(void **state)
{
    (void)state;
    const int S = crypto_box_SEALBYTES;
    char spec[4096];
    static const struct {
        const char *spec; /* %d is crypto_box_SEALBYTES + the number after it */
        size_t min_text;
        bool ok;
        const char *why;
    } cases[] = {
        {"a:%d1", 1, true, NULL},
        {"a:%d1,b:%d1", 1, true, NULL},
        {"a:%d40", 40, true, NULL},
        {"a:%d2048", 1, true, NULL},
        {"a:%d2048", 2048, true, NULL},
        {"a:%d39", 40, false, "entry 1: the box for 'a'"},      /* too short for the field's minimum */
        {"a:%d40,b:%d39", 40, false, "entry 2: the box for 'b'"},
        {"a:%d0", 1, false, "the box for 'a'"},                 /* an empty text */
        {"a:%d2049", 1, false, "the box for 'a'"},              /* too long */
        {"a:%d1,a:%d1", 1, false, "entry 2: reader 'a' does not come after 'a'"},
        {"b:%d1,a:%d1", 1, false, "entry 2: reader 'a' does not come after 'b'"},
        {"a:%d1,c:%d1,b:%d1", 1, false, "entry 3"},
        {"A:%d1", 1, false, "entry 1: the reader is not an identifier"},
        {"a:0", 1, false, "the box for 'a'"},                   /* a str, not a bin */
        {"a:-1", 1, false, "the box for 'a'"},                  /* nil */
        {"", 1, false, "not an array of 1 to 32"},
        /* the same text to every reader: every box of one length */
        {"a:%d2048,b:%d2048,c:%d2048", 1, true, NULL},
        {"a:%d40,b:%d41", 40, false, "entry 2: the box for 'b' is 89 bytes, the one for 'a' 88; every reader gets "
                                     "the same text, so every box has the same length"},
        {"a:%d5,b:%d5,c:%d4", 1, false, "entry 3: the box for 'c' is 52 bytes"},
        {"a:%d6,b:%d5", 1, false, "entry 2: the box for 'b'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* expand %dN into S + N */
        const char *f = cases[i].spec;
        size_t k = 0;
        while (*f) {
            if (f[0] == '%' && f[1] == 'd') {
                char *end = NULL;
                long v = strtol(f + 2, &end, 10);
                k += (size_t)snprintf(spec + k, sizeof spec - k, "%ld", S + v);
                f = end;
            } else {
                spec[k++] = *f++;
            }
        }
        spec[k] = '\0';
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        s_pack_pairs(&b, spec);
        zn_doc d;
        zn_sealed s;
        zn_err e;
        zn_err_clear(&e);
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, ZN_WIRE_MAX_DEPTH, 1000), 0);
        int rc = zn_sealed_parse(&d.root, cases[i].min_text, &s, &e);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("case %zu (%s) refused: %s", i, spec, e.text);
        } else {
            if (rc != -1)
                fail_msg("case %zu (%s) accepted", i, spec);
            assert_int_equal(e.code, ZN_E_MALFORMED);
            if (!strstr(e.text, cases[i].why))
                fail_msg("case %zu: '%s' does not say '%s'", i, e.text, cases[i].why);
            assert_int_equal(s.n, 0);
        }
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* 32 readers parse; 33 do not */
    for (int n = ZN_SEALED_READERS_MAX; n <= ZN_SEALED_READERS_MAX + 1; n++) {
        size_t k = 0;
        for (int i = 0; i < n; i++)
            k += (size_t)snprintf(spec + k, sizeof spec - k, "%sr%02d:%d", i ? "," : "", i, S + 1);
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        s_pack_pairs(&b, spec);
        zn_doc d;
        zn_sealed s;
        zn_err e;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, ZN_WIRE_MAX_DEPTH, 1000), 0);
        assert_int_equal(zn_sealed_parse(&d.root, 1, &s, &e), n <= ZN_SEALED_READERS_MAX ? 0 : -1);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* shapes: not an array, an entry that is no pair */
    static const struct {
        const char *p;
        size_t n;
    } shapes[] = {
        {"\xc0", 1},                         /* nil */
        {"\xa1" "a", 2},                     /* str */
        {"\x81\xa1" "a\x01", 4},             /* map */
        {"\x91\xc0", 2},                     /* [nil] */
        {"\x91\x91\xa1" "a", 4},             /* [[a]] */
        {"\x91\x93\xa1" "a\xc4\x01\x00\xc0", 8}, /* [[a, box, nil]] */
        {"\x91\x92\x01\xc4\x01\x00", 6},     /* [[1, box]] */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        zn_doc d;
        zn_sealed s;
        zn_err e;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)shapes[i].p, shapes[i].n, ZN_WIRE_MAX_DEPTH, 100), 0);
        assert_int_equal(zn_sealed_parse(&d.root, 1, &s, &e), -1);
        assert_int_equal(e.code, ZN_E_MALFORMED);
        zn_doc_free(&d);
    }
    zn_sealed s;
    zn_err e;
    assert_int_equal(zn_sealed_parse(NULL, 1, &s, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
}

/* A box that opens to text breaking the rules is refused as if it did not open. */
static void test_open_refuses_bad_text(void **state)
{
    (void)state;
    static const char *const bad[] = {("a\x01" "b"), "a\xff", "regel\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t box[64];
        size_t len = strlen(bad[i]);
        assert_int_equal(crypto_box_seal(box, (const uint8_t *)bad[i], len, s_keys[P_AUD_A].pub.box), 0);
        zn_sealed s;
        memset(&s, 0, sizeof s);
        s.n = 1;
        strcpy(s.reader[0], "auditor-a");
        s.box[0] = box;
        s.box_len[0] = crypto_box_SEALBYTES + len;
        char out[64];
        zn_err e;
        assert_int_equal(zn_sealed_open(&s, "auditor-a", &s_keys[P_AUD_A], out, sizeof out, &e), -1);
        assert_int_equal(e.code, ZN_E_VERIFY);
        assert_string_equal(out, "");
        /* a box of no text at all */
        s.box_len[0] = crypto_box_SEALBYTES;
        assert_int_equal(zn_sealed_open(&s, "auditor-a", &s_keys[P_AUD_A], out, sizeof out, &e), -1);
        assert_int_equal(e.code, ZN_E_VERIFY);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers),
        cmocka_unit_test(test_build_open_every_reader),
        cmocka_unit_test(test_build_refused),
        cmocka_unit_test(test_check_readers),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_open_refuses_bad_text),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
