/* Unit tests for zn_signal, the wire bodies of signals and matches: roundtrips of every request
 * body, result and notice; a table of malformed bodies and results, each refused with
 * ZN_E_MALFORMED and a sentence that names the field; the body encoder refusing values that
 * break the rules (ZN_E_USAGE) without writing anything; and the signal-add-body,
 * signal-add-result and match-notice vectors printed in docs/PROTOCOL.md ("Signals").
 * Every BSN here is from the synthetic test range 999990000-999999999. */
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

#include "zn_frame.h"
#include "zn_signal.h"

#define S_NET "0-12-binnenstad"
#define S_T 1767225600000ull       /* 2026-01-01T00:00:00Z */
#define S_UNTIL 1830297600000ull   /* 2028-01-01T00:00:00Z */
#define S_SINCE 1764547200000ull   /* 2025-12-01T00:00:00Z */
#define S_NOTICE_T 1767225600250ull

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
 *   t true   f false   n nil */
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
        case 'S': {
            size_t n = (size_t)strtoul(f, &end, 10);
            f = end;
            char *s = malloc(n + 1);
            assert_non_null(s);
            memset(s, 'a', n);
            msgpack_pack_str(&pk, n);
            msgpack_pack_str_body(&pk, s, n);
            free(s);
            break;
        }
        case 'b': {
            size_t n = (size_t)strtoul(f, &end, 10);
            f = end;
            uint8_t buf[256];
            assert_true(n <= sizeof buf);
            memset(buf, 0x11, n);
            zn_pack_bin(&pk, buf, n);
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

/* The signal-add of the vector: the person, two related persons, until 2028-01-01, informed on
 * 2026-01-01, a contact. */
static void s_vector_add(zn_signal_add *s)
{
    memset(s, 0, sizeof *s);
    strcpy(s->network, S_NET);
    memcpy(s->person, s_psn[0], ZN_PSN_LEN);
    memcpy(s->related[0], s_psn[1], ZN_PSN_LEN);
    memcpy(s->related[1], s_psn[2], ZN_PSN_LEN);
    s->n_related = 2;
    s->until_ms = S_UNTIL;
    s->informed_ms = S_T;
    strcpy(s->contact, "J. de Vries (IB), ma-wo");
}

/* The match of the result vector: wijkracht registered the same person on 2025-12-01. */
static void s_vector_match(zn_match *m)
{
    memset(m, 0, sizeof *m);
    memset(m->match, 0x33, ZN_ID_LEN);
    memset(m->signal, 0x11, ZN_ID_LEN);
    strcpy(m->partner, "wijkracht");
    strcpy(m->network, S_NET);
    strcpy(m->contact, "Wijkracht, team Binnenstad");
    m->link = ZN_LINK_PERSON;
    m->since_ms = S_SINCE;
    strcpy(m->proposed, "wijkracht");
}

static void s_add_equal(const zn_signal_add *a, const zn_signal_add *b)
{
    assert_string_equal(a->network, b->network);
    assert_memory_equal(a->person, b->person, ZN_PSN_LEN);
    assert_int_equal(a->n_related, b->n_related);
    for (uint32_t i = 0; i < a->n_related; i++)
        assert_memory_equal(a->related[i], b->related[i], ZN_PSN_LEN);
    assert_true(a->until_ms == b->until_ms && a->informed_ms == b->informed_ms);
    assert_string_equal(a->contact, b->contact);
}

static void s_match_equal(const zn_match *a, const zn_match *b)
{
    assert_memory_equal(a->match, b->match, ZN_ID_LEN);
    assert_memory_equal(a->signal, b->signal, ZN_ID_LEN);
    assert_string_equal(a->partner, b->partner);
    assert_string_equal(a->network, b->network);
    assert_string_equal(a->contact, b->contact);
    assert_int_equal(a->link, b->link);
    assert_true(a->since_ms == b->since_ms);
    assert_string_equal(a->lead, b->lead);
    assert_string_equal(a->proposed, b->proposed);
}

/* ------------------------------------------------------------ vectors */

static const char VEC_SIGNAL_ADD_BODY[] =
    "96af302d31322d62696e6e656e73746164c42101e1ef000d82393320d66773da"
    "ec5fa26794329af939b8a0c742f9a18a0149938e92c421015bebe8f93d3cf60d"
    "cf72f21bf53e699dd3675b97f71a045b165fc94d034b5c43c421016d2c8c085e"
    "392b48f1ad3d2f4a41f1a518b92e57d8d715e683e18e44b3e665afcf000001aa"
    "263d0000cf0000019b76daa800b74a2e20646520567269657320284942292c20"
    "6d612d776f";
static const char VEC_SIGNAL_ADD_RESULT[] =
    "94c41011111111111111111111111111111111c2cf000001aa263d00009199c4"
    "1033333333333333333333333333333333c41011111111111111111111111111"
    "111111a977696a6b7261636874af302d31322d62696e6e656e73746164ba5769"
    "6a6b72616368742c207465616d2042696e6e656e73746164a6706572736f6ecf"
    "0000019ad7358400a0a977696a6b7261636874";
static const char VEC_MATCH_NOTICE[] =
    "93a56d61746368cf0000019b76daa8fa88a56d61746368c41033333333333333"
    "333333333333333333a67369676e616cc4102222222222222222222222222222"
    "2222a7706172746e6572b462617369737363686f6f6c2d64652d6c696e6465a7"
    "6e6574776f726baf302d31322d62696e6e656e73746164a7636f6e74616374b7"
    "4a2e20646520567269657320284942292c206d612d776fa46c696e6ba6706572"
    "736f6ea573696e6365cf0000019b76daa800a870726f706f736564a977696a6b"
    "7261636874";

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

    zn_signal_add s, t;
    s_vector_add(&s);
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_signal_add(&b, &s, &e), 0);
    s_check_vector("signal-add-body", VEC_SIGNAL_ADD_BODY, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    assert_int_equal(zn_body_signal_add_parse(&d.root, &t, &e), 0);
    s_add_equal(&s, &t);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* the answer: signal 16 x 0x11, new, expiring 2028-01-01, one match */
    zn_match m, got[2];
    s_vector_match(&m);
    uint8_t sig[ZN_ID_LEN], sig2[ZN_ID_LEN];
    memset(sig, 0x11, sizeof sig);
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    zn_result_signal_add_begin(&pk, sig, false, S_UNTIL, 1);
    zn_pack_match(&pk, &m);
    s_check_vector("signal-add-result", VEC_SIGNAL_ADD_RESULT, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    bool refreshed = true;
    uint64_t expires = 0;
    uint32_t n = 0;
    assert_int_equal(zn_result_signal_add_parse(&d.root, sig2, &refreshed, &expires, got, 2, &n, &e), 0);
    assert_memory_equal(sig, sig2, ZN_ID_LEN);
    assert_false(refreshed);
    assert_true(expires == S_UNTIL);
    assert_int_equal(n, 1);
    s_match_equal(&m, &got[0]);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* what wijkracht is told of the same match: its own signal 16 x 0x22, the other partner
     * basisschool-de-linde with the contact it gave, since its registration */
    zn_match w;
    memset(&w, 0, sizeof w);
    memset(w.match, 0x33, ZN_ID_LEN);
    memset(w.signal, 0x22, ZN_ID_LEN);
    strcpy(w.partner, "basisschool-de-linde");
    strcpy(w.network, S_NET);
    strcpy(w.contact, "J. de Vries (IB), ma-wo");
    w.link = ZN_LINK_PERSON;
    w.since_ms = S_T;
    strcpy(w.proposed, "wijkracht");
    msgpack_sbuffer_init(&b);
    zn_notice_match(&b, S_NOTICE_T, &w, NULL);
    s_check_vector("match-notice", VEC_MATCH_NOTICE, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    zn_notice no;
    assert_int_equal(zn_notice_parse(&d.root, &no), 0);
    assert_string_equal(no.type, "match");
    assert_true(no.time_ms == S_NOTICE_T);
    assert_int_equal(no.fields->via.map.size, 8); /* lead and connected_by left out */
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ roundtrips of the bodies */

static void s_add_roundtrip(const zn_signal_add *s)
{
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;
    zn_signal_add t;
    msgpack_sbuffer_init(&b);
    zn_err_clear(&e);
    if (zn_body_signal_add(&b, s, &e) != 0)
        fail_msg("encoder refused: %s", e.text);
    s_doc(&d, &b);
    if (zn_body_signal_add_parse(&d.root, &t, &e) != 0)
        fail_msg("parser refused: %s", e.text);
    s_add_equal(s, &t);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

static void test_roundtrip_signal_add(void **state)
{
    (void)state;
    zn_signal_add s;

    s_vector_add(&s);
    s_add_roundtrip(&s);

    /* nothing optional: no related persons, no dates, no contact */
    s.n_related = 0;
    s.until_ms = 0;
    s.informed_ms = 0;
    s.contact[0] = '\0';
    s_add_roundtrip(&s);

    /* the most: 16 related, the largest times, a contact of 127 bytes with non-ASCII text */
    for (uint32_t i = 0; i < ZN_SIGNAL_RELATED_MAX; i++) {
        memset(s.related[i], 0x40 + (int)i, ZN_PSN_LEN);
        s.related[i][0] = 1;
    }
    s.n_related = ZN_SIGNAL_RELATED_MAX;
    s.until_ms = UINT64_MAX;
    s.informed_ms = UINT64_MAX;
    memset(s.contact, 'x', ZN_SIGNAL_CONTACT_MAX - 1);
    memcpy(s.contact, "Zo\xc3\xab", 4); /* Zoë */
    s.contact[ZN_SIGNAL_CONTACT_MAX - 1] = '\0';
    strcpy(s.network, "a");
    s_add_roundtrip(&s);

    /* another epoch: the rules hold for any epoch 1..255 that all pseudonyms share */
    s.person[0] = 255;
    for (uint32_t i = 0; i < s.n_related; i++)
        s.related[i][0] = 255;
    memset(s.network, 'n', ZN_IDENT_MAX - 1);
    s.network[ZN_IDENT_MAX - 1] = '\0';
    s_add_roundtrip(&s);
}

static void test_roundtrip_small_bodies(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;
    uint8_t id[ZN_ID_LEN], got[ZN_ID_LEN];
    memset(id, 0x5a, sizeof id);

    const uint64_t offsets[] = {0, 1, ZN_SIGNAL_PAGE, UINT64_MAX};
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        uint64_t o = 42;
        msgpack_sbuffer_init(&b);
        zn_body_signal_list(&b, offsets[i]);
        s_doc(&d, &b);
        assert_int_equal(zn_body_signal_list_parse(&d.root, &o, &e), 0);
        assert_true(o == offsets[i]);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    const uint64_t times[] = {1, S_T, UINT64_MAX};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        uint64_t t = 0;
        memset(got, 0, sizeof got);
        msgpack_sbuffer_init(&b);
        zn_body_signal_informed(&b, id, times[i]);
        s_doc(&d, &b);
        assert_int_equal(zn_body_signal_informed_parse(&d.root, got, &t, &e), 0);
        assert_memory_equal(got, id, ZN_ID_LEN);
        assert_true(t == times[i]);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    memset(got, 0, sizeof got);
    msgpack_sbuffer_init(&b);
    zn_body_id(&b, id);
    assert_int_equal(b.size, 1 + 2 + ZN_ID_LEN); /* 91 c4 10 + id */
    s_doc(&d, &b);
    assert_int_equal(zn_body_id_parse(&d.root, got, &e), 0);
    assert_memory_equal(got, id, ZN_ID_LEN);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    char partner[ZN_IDENT_MAX];
    memset(got, 0, sizeof got);
    msgpack_sbuffer_init(&b);
    zn_body_match_lead(&b, id, "wijkracht");
    s_doc(&d, &b);
    assert_int_equal(zn_body_match_lead_parse(&d.root, got, partner, &e), 0);
    assert_memory_equal(got, id, ZN_ID_LEN);
    assert_string_equal(partner, "wijkracht");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    for (int flag = 0; flag <= 1; flag++) {
        bool f = !flag;
        memset(got, 0, sizeof got);
        msgpack_sbuffer_init(&b);
        zn_result_id_bool(&b, id, flag);
        s_doc(&d, &b);
        assert_int_equal(zn_result_id_bool_parse(&d.root, got, &f, &e), 0);
        assert_memory_equal(got, id, ZN_ID_LEN);
        assert_int_equal(f, flag);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

/* ------------------------------------------------------------ roundtrips of the results */

static void test_roundtrip_signal_add_result(void **state)
{
    (void)state;
    static zn_match in[ZN_SIGNAL_MATCHES_MAX], out[ZN_SIGNAL_MATCHES_MAX + 1];
    uint8_t sig[ZN_ID_LEN], got[ZN_ID_LEN];
    memset(sig, 0x77, sizeof sig);
    for (uint32_t i = 0; i < ZN_SIGNAL_MATCHES_MAX; i++) {
        s_vector_match(&in[i]);
        in[i].match[0] = (uint8_t)i;
        in[i].link = (i % 2) ? ZN_LINK_FAMILY : ZN_LINK_PERSON;
        in[i].since_ms = i * 1000ull;
        if (i % 3 == 0)
            in[i].contact[0] = '\0';
        if (i % 4 == 1)
            strcpy(in[i].lead, "ggd-regio");
        if (i % 5 == 2)
            in[i].proposed[0] = '\0';
    }
    const uint32_t counts[] = {0, 1, 2, ZN_SIGNAL_MATCHES_MAX};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        for (int refreshed = 0; refreshed <= 1; refreshed++) {
            msgpack_sbuffer b;
            msgpack_packer pk;
            zn_doc d;
            zn_err e;
            bool r = !refreshed;
            uint64_t x = 0;
            uint32_t n = 99;
            msgpack_sbuffer_init(&b);
            msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
            zn_result_signal_add_begin(&pk, sig, refreshed, S_UNTIL + (uint64_t)c, counts[c]);
            for (uint32_t i = 0; i < counts[c]; i++)
                zn_pack_match(&pk, &in[i]);
            s_doc(&d, &b);
            if (zn_result_signal_add_parse(&d.root, got, &r, &x, out, ZN_SIGNAL_MATCHES_MAX + 1, &n, &e) != 0)
                fail_msg("refused: %s", e.text);
            assert_memory_equal(got, sig, ZN_ID_LEN);
            assert_int_equal(r, refreshed);
            assert_true(x == S_UNTIL + c);
            assert_int_equal(n, counts[c]);
            for (uint32_t i = 0; i < n; i++)
                s_match_equal(&in[i], &out[i]);
            /* exactly as many as the caller has room for */
            if (counts[c] > 0) {
                zn_doc_free(&d);
                s_doc(&d, &b);
                assert_int_equal(zn_result_signal_add_parse(&d.root, got, &r, &x, out, counts[c], &n, &e), 0);
                assert_int_equal(n, counts[c]);
            }
            zn_doc_free(&d);
            msgpack_sbuffer_destroy(&b);
        }
    }
}

static void s_row(zn_signal_row *r, uint32_t i)
{
    memset(r, 0, sizeof *r);
    memset(r->signal, 0x10 + (int)(i & 0x3f), ZN_ID_LEN);
    r->signal[0] = (uint8_t)i;
    strcpy(r->network, i % 2 ? "12-18" : S_NET);
    memcpy(r->person, s_psn[i % 3], ZN_PSN_LEN);
    r->n_related = i % (ZN_SIGNAL_RELATED_MAX + 1);
    r->created_ms = S_T + i;
    r->expires_ms = S_UNTIL + i;
    r->informed_ms = (i % 2) ? 0 : S_T + 5;
    if (i % 3)
        strcpy(r->contact, "J. de Vries (IB), ma-wo");
    strcpy(r->handler, i % 2 ? "Zo\xc3\xab B." : "J. de Vries (IB)");
    r->overdue = (i % 2) != 0;
    r->matches = i;
}

static void test_roundtrip_signal_list_result(void **state)
{
    (void)state;
    static zn_signal_row in[ZN_SIGNAL_PAGE], out[ZN_SIGNAL_PAGE];
    for (uint32_t i = 0; i < ZN_SIGNAL_PAGE; i++)
        s_row(&in[i], i);
    const uint32_t counts[] = {0, 1, 3, ZN_SIGNAL_PAGE};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        uint64_t total = 0;
        uint32_t n = 99;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_result_signal_list_begin(&pk, 1000 + c, counts[c]);
        for (uint32_t i = 0; i < counts[c]; i++)
            zn_pack_signal_row(&pk, &in[i]);
        s_doc(&d, &b);
        if (zn_result_signal_list_parse(&d.root, &total, out, ZN_SIGNAL_PAGE, &n, &e) != 0)
            fail_msg("refused: %s", e.text);
        assert_true(total == 1000 + c);
        assert_int_equal(n, counts[c]);
        for (uint32_t i = 0; i < n; i++) {
            assert_memory_equal(out[i].signal, in[i].signal, ZN_ID_LEN);
            assert_string_equal(out[i].network, in[i].network);
            assert_memory_equal(out[i].person, in[i].person, ZN_PSN_LEN);
            assert_true(out[i].n_related == in[i].n_related);
            assert_true(out[i].created_ms == in[i].created_ms && out[i].expires_ms == in[i].expires_ms &&
                        out[i].informed_ms == in[i].informed_ms);
            assert_string_equal(out[i].contact, in[i].contact);
            assert_string_equal(out[i].handler, in[i].handler);
            assert_int_equal(out[i].overdue, in[i].overdue);
            assert_true(out[i].matches == in[i].matches);
        }
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

/* ------------------------------------------------------------ notices */

/* Parse the notice in b (also as the item of a DELIVER frame); return its field count. */
static uint32_t s_notice_ok(const msgpack_sbuffer *b, const char *type, uint64_t time_ms, zn_doc *d, zn_notice *n)
{
    s_doc(d, b);
    if (zn_notice_parse(&d->root, n) != 0)
        fail_msg("notice '%s' does not parse", type);
    assert_string_equal(n->type, type);
    assert_true(n->time_ms == time_ms);

    msgpack_sbuffer fb;
    zn_frame f;
    zn_err e;
    uint8_t item[ZN_ID_LEN];
    memset(item, 0x44, sizeof item);
    msgpack_sbuffer_init(&fb);
    zn_frame_deliver(&fb, item, ZN_ITEM_NOTICE, (const uint8_t *)b->data, b->size);
    if (zn_frame_parse((const uint8_t *)fb.data, fb.size, &f, &e) != 0)
        fail_msg("DELIVER of '%s' refused: %s", type, e.text);
    assert_string_equal(f.u.deliver.notice.type, type);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&fb);
    return n->fields->via.map.size;
}

static void s_field_str(const zn_notice *n, const char *key, const char *want)
{
    const msgpack_object *v = zn_obj_map_get(n->fields, key);
    if (!want) {
        if (v)
            fail_msg("field '%s' should be left out", key);
        return;
    }
    if (!zn_obj_str_eq(v, want))
        fail_msg("field '%s' is not '%s'", key, want);
}

static void s_field_id(const zn_notice *n, const char *key, const uint8_t want[ZN_ID_LEN])
{
    uint8_t got[ZN_ID_LEN];
    if (zn_obj_bin_fixed(zn_obj_map_get(n->fields, key), got, ZN_ID_LEN) != 0)
        fail_msg("field '%s' is not a bin16", key);
    assert_memory_equal(got, want, ZN_ID_LEN);
}

static void s_field_u64(const zn_notice *n, const char *key, uint64_t want)
{
    uint64_t got = 0;
    if (zn_obj_u64(zn_obj_map_get(n->fields, key), &got) != 0)
        fail_msg("field '%s' is not an unsigned integer", key);
    assert_true(got == want);
}

static void test_notice_match(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_doc d;
    zn_notice n;
    zn_match m;

    /* everything set: 10 fields */
    s_vector_match(&m);
    m.link = ZN_LINK_FAMILY;
    strcpy(m.lead, "ggd-regio");
    msgpack_sbuffer_init(&b);
    zn_notice_match(&b, S_T, &m, "coordinator-0-12");
    assert_int_equal(s_notice_ok(&b, "match", S_T, &d, &n), 10);
    s_field_id(&n, "match", m.match);
    s_field_id(&n, "signal", m.signal);
    s_field_str(&n, "partner", "wijkracht");
    s_field_str(&n, "network", S_NET);
    s_field_str(&n, "contact", "Wijkracht, team Binnenstad");
    s_field_str(&n, "link", "family");
    s_field_u64(&n, "since", S_SINCE);
    s_field_str(&n, "lead", "ggd-regio");
    s_field_str(&n, "proposed", "wijkracht");
    s_field_str(&n, "connected_by", "coordinator-0-12");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* empty strings and a NULL connected_by are left out */
    m.contact[0] = m.lead[0] = m.proposed[0] = '\0';
    msgpack_sbuffer_init(&b);
    zn_notice_match(&b, 0, &m, "");
    assert_int_equal(s_notice_ok(&b, "match", 0, &d, &n), 6);
    s_field_str(&n, "contact", NULL);
    s_field_str(&n, "lead", NULL);
    s_field_str(&n, "proposed", NULL);
    s_field_str(&n, "connected_by", NULL);
    s_field_str(&n, "link", "family");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

static void test_notice_match_review(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_doc d;
    zn_notice n;
    zn_match_review r;
    memset(&r, 0, sizeof r);
    memset(r.match, 0x33, ZN_ID_LEN);
    r.link = ZN_LINK_PERSON;
    r.disclosure = "coordinators";
    r.a_partner = "wijkracht";
    r.a_network = S_NET;
    r.a_contact = "Wijkracht, team Binnenstad";
    r.b_partner = "basisschool-de-linde";
    r.b_network = "12-18";
    r.b_contact = "J. de Vries (IB), ma-wo";
    r.since_ms = S_SINCE;
    r.lead = "wijkracht";
    r.proposed = "ggd-regio";
    msgpack_sbuffer_init(&b);
    zn_notice_match_review(&b, S_T, &r);
    assert_int_equal(s_notice_ok(&b, "match-review", S_T, &d, &n), 12);
    s_field_id(&n, "match", r.match);
    s_field_str(&n, "link", "person");
    s_field_str(&n, "disclosure", "coordinators");
    s_field_str(&n, "a_partner", "wijkracht");
    s_field_str(&n, "a_network", S_NET);
    s_field_str(&n, "a_contact", "Wijkracht, team Binnenstad");
    s_field_str(&n, "b_partner", "basisschool-de-linde");
    s_field_str(&n, "b_network", "12-18");
    s_field_str(&n, "b_contact", "J. de Vries (IB), ma-wo");
    s_field_u64(&n, "since", S_SINCE);
    s_field_str(&n, "lead", "wijkracht");
    s_field_str(&n, "proposed", "ggd-regio");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* no contacts, no lead, nothing proposed: left out (NULL and "" alike) */
    r.a_contact = NULL;
    r.b_contact = "";
    r.lead = NULL;
    r.proposed = "";
    r.disclosure = "partners";
    msgpack_sbuffer_init(&b);
    zn_notice_match_review(&b, S_T, &r);
    assert_int_equal(s_notice_ok(&b, "match-review", S_T, &d, &n), 8);
    s_field_str(&n, "a_contact", NULL);
    s_field_str(&n, "b_contact", NULL);
    s_field_str(&n, "lead", NULL);
    s_field_str(&n, "proposed", NULL);
    s_field_str(&n, "disclosure", "partners");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

static void test_notice_lead_and_enumeration(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_doc d;
    zn_notice n;
    uint8_t id[ZN_ID_LEN];
    memset(id, 0x33, sizeof id);

    msgpack_sbuffer_init(&b);
    zn_notice_match_lead(&b, S_T, id, "wijkracht", "coordinator-0-12");
    assert_int_equal(s_notice_ok(&b, "match-lead", S_T, &d, &n), 3);
    s_field_id(&n, "match", id);
    s_field_str(&n, "lead", "wijkracht");
    s_field_str(&n, "by", "coordinator-0-12");
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    const char *limits[] = {"partner-day", "handler-day", "look-up"};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        msgpack_sbuffer_init(&b);
        zn_notice_enumeration(&b, S_T, "basisschool-de-linde", "J. de Vries (IB)", S_NET, limits[i], 51 + i);
        assert_int_equal(s_notice_ok(&b, "enumeration-suspected", S_T, &d, &n), 5);
        s_field_str(&n, "partner", "basisschool-de-linde");
        s_field_str(&n, "handler", "J. de Vries (IB)");
        s_field_str(&n, "network", S_NET);
        s_field_str(&n, "limit", limits[i]);
        s_field_u64(&n, "count", 51 + i);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    /* no handler: left out */
    msgpack_sbuffer_init(&b);
    zn_notice_enumeration(&b, S_T, "basisschool-de-linde", NULL, S_NET, "partner-day", 0);
    assert_int_equal(s_notice_ok(&b, "enumeration-suspected", S_T, &d, &n), 4);
    s_field_str(&n, "handler", NULL);
    s_field_u64(&n, "count", 0);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ malformed bodies */

typedef struct {
    const char *what; /* what is wrong */
    const char *fmt;  /* the body, in s_build's notation */
    const char *want; /* a fragment of the sentence */
} s_bad;

/* A valid signal-add body for reference: A6 s'0-12-binnenstad' P0 A2 P1 P2 u1 u0 s'IB' */
static const s_bad s_bad_add[] = {
    {"not an array", "M0", "exactly 6 fields"},
    {"a str", "s'x'", "exactly 6 fields"},
    {"nil", "n", "exactly 6 fields"},
    {"empty array", "A0", "exactly 6 fields"},
    {"five fields", "A5 s'net' P0 A0 u0 u0", "exactly 6 fields"},
    {"a trailing field", "A7 s'net' P0 A0 u0 u0 s'' n", "exactly 6 fields"},
    {"a trailing empty str", "A7 s'net' P0 A0 u0 u0 s'' s''", "exactly 6 fields"},
    {"network an integer", "A6 u1 P0 A0 u0 u0 s''", "'network'"},
    {"network a bin", "A6 b3 P0 A0 u0 u0 s''", "'network'"},
    {"network empty", "A6 s'' P0 A0 u0 u0 s''", "'network'"},
    {"network with a capital", "A6 s'Net' P0 A0 u0 u0 s''", "'network'"},
    {"network with a space", "A6 s'0-12 binnenstad' P0 A0 u0 u0 s''", "'network'"},
    {"network starting with a dash", "A6 s'-net' P0 A0 u0 u0 s''", "'network'"},
    {"network of 64 bytes", "A6 S64 P0 A0 u0 u0 s''", "'network'"},
    {"person of 32 bytes", "A6 s'net' b32 A0 u0 u0 s''", "'person'"},
    {"person of 34 bytes", "A6 s'net' b34 A0 u0 u0 s''", "'person'"},
    {"person of 16 bytes", "A6 s'net' b16 A0 u0 u0 s''", "'person'"},
    {"person empty", "A6 s'net' b0 A0 u0 u0 s''", "'person'"},
    {"person a str", "A6 s'net' S33 A0 u0 u0 s''", "'person'"},
    {"person nil", "A6 s'net' n A0 u0 u0 s''", "'person'"},
    {"person with epoch 0", "A6 s'net' P4 A0 u0 u0 s''", "'person'"},
    {"related a bin", "A6 s'net' P0 P1 u0 u0 s''", "'related'"},
    {"related nil", "A6 s'net' P0 n u0 u0 s''", "'related'"},
    {"related a map", "A6 s'net' P0 M0 u0 u0 s''", "'related'"},
    {"17 related",
     "A6 s'net' P0 A17 X0 X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 X14 X15 X16 u0 u0 s''", "'related'"},
    {"related of 32 bytes", "A6 s'net' P0 A2 P1 b32 u0 u0 s''", "'related'"},
    {"related of 34 bytes", "A6 s'net' P0 A1 b34 u0 u0 s''", "'related'"},
    {"related nil element", "A6 s'net' P0 A1 n u0 u0 s''", "'related'"},
    {"related str element", "A6 s'net' P0 A1 S33 u0 u0 s''", "'related'"},
    {"related nested array", "A6 s'net' P0 A1 A1 P1 u0 u0 s''", "'related'"},
    {"related twice", "A6 s'net' P0 A2 P1 P1 u0 u0 s''", "appears twice"},
    {"related twice, apart", "A6 s'net' P0 A3 P1 P2 P1 u0 u0 s''", "element 2 appears twice"},
    {"related equal to person", "A6 s'net' P0 A1 P0 u0 u0 s''", "equals 'person'"},
    {"related equal to person, later", "A6 s'net' P0 A2 P1 P0 u0 u0 s''", "element 1 equals 'person'"},
    {"related of another epoch", "A6 s'net' P0 A1 P3 u0 u0 s''", "another epoch"},
    {"related of another epoch, later", "A6 s'net' P0 A2 P2 P3 u0 u0 s''", "element 1 has another epoch"},
    {"related with epoch 0", "A6 s'net' P0 A1 P5 u0 u0 s''", "another epoch"},
    {"until negative", "A6 s'net' P0 A0 i u0 s''", "'until'"},
    {"until a bool", "A6 s'net' P0 A0 t u0 s''", "'until'"},
    {"until a str", "A6 s'net' P0 A0 s'0' u0 s''", "'until'"},
    {"until nil", "A6 s'net' P0 A0 n u0 s''", "'until'"},
    {"informed negative", "A6 s'net' P0 A0 u0 i s''", "'informed'"},
    {"informed a bool", "A6 s'net' P0 A0 u0 f s''", "'informed'"},
    {"informed a bin", "A6 s'net' P0 A0 u0 b8 s''", "'informed'"},
    {"contact nil", "A6 s'net' P0 A0 u0 u0 n", "'contact'"},
    {"contact an integer", "A6 s'net' P0 A0 u0 u0 u0", "'contact'"},
    {"contact a bin", "A6 s'net' P0 A0 u0 u0 b4", "'contact'"},
    {"contact of 128 bytes", "A6 s'net' P0 A0 u0 u0 S128", "'contact'"},
    {"contact with a newline", "A6 s'net' P0 A0 u0 u0 s'IB\nma-wo'", "'contact'"},
    {"contact with a tab", "A6 s'net' P0 A0 u0 u0 s'IB\tma-wo'", "'contact'"},
    {"contact with DEL", "A6 s'net' P0 A0 u0 u0 s'IB\x7f'", "'contact'"},
    {"contact with a C1 control", "A6 s'net' P0 A0 u0 u0 s'IB\xc2\x85'", "'contact'"},
    {"contact not UTF-8", "A6 s'net' P0 A0 u0 u0 s'IB\xff'", "'contact'"},
    {"contact truncated UTF-8", "A6 s'net' P0 A0 u0 u0 s'IB\xc3'", "'contact'"},
    {"contact overlong UTF-8", "A6 s'net' P0 A0 u0 u0 s'\xc0\xaf'", "'contact'"},
    {"contact a surrogate", "A6 s'net' P0 A0 u0 u0 s'\xed\xa0\x80'", "'contact'"},
};

static void test_malformed_signal_add(void **state)
{
    (void)state;
    /* the reference body is accepted, so each case below fails for its own reason */
    const char *good[] = {
        "A6 s'0-12-binnenstad' P0 A2 P1 P2 u1 u0 s'IB'",
        "A6 s'net' P0 A0 u0 u0 s''",
        "A6 S63 P0 A0 u0 u0 S127",
        "A6 s'net' P0 A16 X0 X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11 X12 X13 X14 X15 u0 u0 s''",
        "A6 s'net' P0 A0 u18446744073709551615 u18446744073709551615 s'\xc3\xab'",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        msgpack_sbuffer b;
        zn_doc d;
        zn_err e;
        zn_signal_add s;
        msgpack_sbuffer_init(&b);
        s_build(&b, good[i]);
        s_doc(&d, &b);
        if (zn_body_signal_add_parse(&d.root, &s, &e) != 0)
            fail_msg("good body %zu refused: %s", i, e.text);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    for (size_t i = 0; i < sizeof s_bad_add / sizeof *s_bad_add; i++) {
        msgpack_sbuffer b;
        zn_doc d;
        zn_err e;
        zn_signal_add s;
        msgpack_sbuffer_init(&b);
        s_build(&b, s_bad_add[i].fmt);
        s_doc(&d, &b);
        zn_err_clear(&e);
        memset(&s, 0xee, sizeof s);
        if (zn_body_signal_add_parse(&d.root, &s, &e) != -1)
            fail_msg("signal-add body '%s' was accepted", s_bad_add[i].what);
        s_refused(s_bad_add[i].what, &e, s_bad_add[i].want);
        if (!strstr(e.text, "signal-add: "))
            fail_msg("%s: '%s' does not name the request kind", s_bad_add[i].what, e.text);
        /* nothing half-read is handed out */
        assert_int_equal(s.n_related, 0);
        assert_int_equal(s.network[0], 0);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    /* no body at all */
    zn_err e;
    zn_signal_add s;
    assert_int_equal(zn_body_signal_add_parse(NULL, &s, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
}

/* The small bodies: which parser, the body, the fragment. */
typedef enum { S_LIST, S_INFORMED, S_ID, S_LEAD, S_ID_BOOL } s_small;

static const struct {
    s_small parser;
    const char *what, *fmt, *want;
} s_bad_small[] = {
    {S_LIST, "not an array", "u0", "exactly 1 field"},
    {S_LIST, "empty", "A0", "exactly 1 field"},
    {S_LIST, "a trailing field", "A2 u0 u0", "exactly 1 field"},
    {S_LIST, "offset negative", "A1 i", "'offset'"},
    {S_LIST, "offset a str", "A1 s'0'", "'offset'"},
    {S_LIST, "offset nil", "A1 n", "'offset'"},
    {S_INFORMED, "not an array", "b16", "exactly 2 fields"},
    {S_INFORMED, "one field", "A1 b16", "exactly 2 fields"},
    {S_INFORMED, "a trailing field", "A3 b16 u1 u1", "exactly 2 fields"},
    {S_INFORMED, "signal of 15 bytes", "A2 b15 u1", "'signal'"},
    {S_INFORMED, "signal of 17 bytes", "A2 b17 u1", "'signal'"},
    {S_INFORMED, "signal a str", "A2 S16 u1", "'signal'"},
    {S_INFORMED, "informed 0", "A2 b16 u0", "'informed'"},
    {S_INFORMED, "informed negative", "A2 b16 i", "'informed'"},
    {S_INFORMED, "informed a str", "A2 b16 s'1'", "'informed'"},
    {S_ID, "not an array", "b16", "exactly 1 field"},
    {S_ID, "empty", "A0", "exactly 1 field"},
    {S_ID, "a trailing field", "A2 b16 b16", "exactly 1 field"},
    {S_ID, "a trailing bool", "A2 b16 t", "exactly 1 field"},
    {S_ID, "id of 15 bytes", "A1 b15", "'id'"},
    {S_ID, "id of 17 bytes", "A1 b17", "'id'"},
    {S_ID, "id of 33 bytes", "A1 P0", "'id'"},
    {S_ID, "id a str", "A1 S16", "'id'"},
    {S_ID, "id nil", "A1 n", "'id'"},
    {S_LEAD, "not an array", "M0", "exactly 2 fields"},
    {S_LEAD, "one field", "A1 b16", "exactly 2 fields"},
    {S_LEAD, "a trailing field", "A3 b16 s'wijkracht' s''", "exactly 2 fields"},
    {S_LEAD, "match of 15 bytes", "A2 b15 s'wijkracht'", "'match'"},
    {S_LEAD, "match a str", "A2 S16 s'wijkracht'", "'match'"},
    {S_LEAD, "partner empty", "A2 b16 s''", "'partner'"},
    {S_LEAD, "partner with a capital", "A2 b16 s'Wijkracht'", "'partner'"},
    {S_LEAD, "partner of 64 bytes", "A2 b16 S64", "'partner'"},
    {S_LEAD, "partner an integer", "A2 b16 u1", "'partner'"},
    {S_LEAD, "partner nil", "A2 b16 n", "'partner'"},
    {S_ID_BOOL, "not an array", "t", "exactly 2 fields"},
    {S_ID_BOOL, "one field", "A1 b16", "exactly 2 fields"},
    {S_ID_BOOL, "a trailing field", "A3 b16 t t", "exactly 2 fields"},
    {S_ID_BOOL, "id of 8 bytes", "A2 b8 t", "'id'"},
    {S_ID_BOOL, "flag an integer", "A2 b16 u1", "'flag'"},
    {S_ID_BOOL, "flag nil", "A2 b16 n", "'flag'"},
    {S_ID_BOOL, "flag a str", "A2 b16 s'true'", "'flag'"},
};

static void test_malformed_small_bodies(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_bad_small / sizeof *s_bad_small; i++) {
        msgpack_sbuffer b;
        zn_doc d;
        zn_err e;
        uint8_t id[ZN_ID_LEN];
        uint64_t u = 0;
        bool flag = false;
        char partner[ZN_IDENT_MAX];
        int rc = 0;
        msgpack_sbuffer_init(&b);
        s_build(&b, s_bad_small[i].fmt);
        s_doc(&d, &b);
        zn_err_clear(&e);
        switch (s_bad_small[i].parser) {
        case S_LIST: rc = zn_body_signal_list_parse(&d.root, &u, &e); break;
        case S_INFORMED: rc = zn_body_signal_informed_parse(&d.root, id, &u, &e); break;
        case S_ID: rc = zn_body_id_parse(&d.root, id, &e); break;
        case S_LEAD: rc = zn_body_match_lead_parse(&d.root, id, partner, &e); break;
        case S_ID_BOOL: rc = zn_result_id_bool_parse(&d.root, id, &flag, &e); break;
        }
        if (rc != -1)
            fail_msg("body '%s' (parser %d) was accepted", s_bad_small[i].what, (int)s_bad_small[i].parser);
        s_refused(s_bad_small[i].what, &e, s_bad_small[i].want);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

/* ------------------------------------------------------------ malformed results */

#define S_MATCH "A9 b16 b16 s'wijkracht' s'0-12-binnenstad' s'' s'person' u1 s'' s''"

static const s_bad s_bad_add_result[] = {
    {"not an array", "M0", "exactly 4 fields"},
    {"three fields", "A3 b16 f u5", "exactly 4 fields"},
    {"a trailing field", "A5 b16 f u5 A0 n", "exactly 4 fields"},
    {"signal of 15 bytes", "A4 b15 f u5 A0", "'signal'"},
    {"signal of 33 bytes", "A4 P0 f u5 A0", "'signal'"},
    {"refreshed an integer", "A4 b16 u0 u5 A0", "'refreshed'"},
    {"refreshed nil", "A4 b16 n u5 A0", "'refreshed'"},
    {"expires negative", "A4 b16 f i A0", "'expires'"},
    {"expires a bool", "A4 b16 f t A0", "'expires'"},
    {"matches nil", "A4 b16 f u5 n", "'matches'"},
    {"matches a map", "A4 b16 f u5 M0", "'matches'"},
    {"too many matches for the caller", "A4 b16 f u5 A3 " S_MATCH " " S_MATCH " " S_MATCH, "'matches'"},
    {"a match not an array", "A4 b16 f u5 A1 b16", "match 0"},
    {"a match of 8 fields", "A4 b16 f u5 A1 A8 b16 b16 s'wijkracht' s'net' s'' s'person' u1 s''",
     "exactly 9 fields"},
    {"a match of 10 fields", "A4 b16 f u5 A1 A10 b16 b16 s'wijkracht' s'net' s'' s'person' u1 s'' s'' s''",
     "exactly 9 fields"},
    {"the second match bad", "A4 b16 f u5 A2 " S_MATCH " A9 b16 b16 s'wijkracht' s'net' s'' s'person' u1 s'' u0",
     "match 1 field 'proposed'"},
    {"match id of 15 bytes", "A4 b16 f u5 A1 A9 b15 b16 s'wijkracht' s'net' s'' s'person' u1 s'' s''",
     "field 'match'"},
    {"match signal of 17 bytes", "A4 b16 f u5 A1 A9 b16 b17 s'wijkracht' s'net' s'' s'person' u1 s'' s''",
     "field 'signal'"},
    {"match partner empty", "A4 b16 f u5 A1 A9 b16 b16 s'' s'net' s'' s'person' u1 s'' s''", "field 'partner'"},
    {"match partner a capital", "A4 b16 f u5 A1 A9 b16 b16 s'Wijk' s'net' s'' s'person' u1 s'' s''",
     "field 'partner'"},
    {"match network empty", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'' s'' s'person' u1 s'' s''",
     "field 'network'"},
    {"match contact with a newline", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'a\nb' s'person' u1 s'' s''",
     "field 'contact'"},
    {"match contact of 128 bytes", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' S128 s'person' u1 s'' s''",
     "field 'contact'"},
    {"match contact nil", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' n s'person' u1 s'' s''",
     "field 'contact'"},
    {"match link both", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'both' u1 s'' s''", "field 'link'"},
    {"match link empty", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'' u1 s'' s''", "field 'link'"},
    {"match link capital", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'Person' u1 s'' s''",
     "field 'link'"},
    {"match link an integer", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' u1 u1 s'' s''", "field 'link'"},
    {"match since negative", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'family' i s'' s''",
     "field 'since'"},
    {"match lead not an identifier", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'person' u1 s'G G' s''",
     "field 'lead'"},
    {"match lead nil", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'person' u1 n s''", "field 'lead'"},
    {"match proposed of 64 bytes", "A4 b16 f u5 A1 A9 b16 b16 s'wijkracht' s'net' s'' s'person' u1 s'' S64",
     "field 'proposed'"},
};

#define S_ROW "A11 b16 s'0-12-binnenstad' P0 u2 u1 u2 u0 s'' s'J. de Vries' f u0"

static const s_bad s_bad_list_result[] = {
    {"not an array", "u0", "exactly 2 fields"},
    {"one field", "A1 u0", "exactly 2 fields"},
    {"a trailing field", "A3 u0 A0 u0", "exactly 2 fields"},
    {"total negative", "A2 i A0", "'total'"},
    {"total a str", "A2 s'1' A0", "'total'"},
    {"rows nil", "A2 u1 n", "'rows'"},
    {"rows a map", "A2 u1 M0", "'rows'"},
    {"too many rows for the caller", "A2 u3 A3 " S_ROW " " S_ROW " " S_ROW, "'rows'"},
    {"a row not an array", "A2 u1 A1 b16", "row 0"},
    {"a row of 10 fields", "A2 u1 A1 A10 b16 s'net' P0 u2 u1 u2 u0 s'' s'J.' f", "exactly 11 fields"},
    {"a row of 12 fields", "A2 u1 A1 A12 b16 s'net' P0 u2 u1 u2 u0 s'' s'J.' f u0 u0", "exactly 11 fields"},
    {"the second row bad", "A2 u2 A2 " S_ROW " A11 b16 s'net' P0 u2 u1 u2 u0 s'' s'J.' f i", "row 1 field 'matches'"},
    {"row signal of 15 bytes", "A2 u1 A1 A11 b15 s'net' P0 u2 u1 u2 u0 s'' s'J.' f u0", "field 'signal'"},
    {"row network capital", "A2 u1 A1 A11 b16 s'NET' P0 u2 u1 u2 u0 s'' s'J.' f u0", "field 'network'"},
    {"row person of 32 bytes", "A2 u1 A1 A11 b16 s'net' b32 u2 u1 u2 u0 s'' s'J.' f u0", "field 'person'"},
    {"row person epoch 0", "A2 u1 A1 A11 b16 s'net' P4 u2 u1 u2 u0 s'' s'J.' f u0", "field 'person'"},
    {"row 17 related", "A2 u1 A1 A11 b16 s'net' P0 u17 u1 u2 u0 s'' s'J.' f u0", "field 'related'"},
    {"row related an array", "A2 u1 A1 A11 b16 s'net' P0 A1 P1 u1 u2 u0 s'' s'J.' f u0", "field 'related'"},
    {"row created negative", "A2 u1 A1 A11 b16 s'net' P0 u2 i u2 u0 s'' s'J.' f u0", "field 'created'"},
    {"row expires nil", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 n u0 s'' s'J.' f u0", "field 'expires'"},
    {"row informed a bool", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 u2 f s'' s'J.' f u0", "field 'informed'"},
    {"row contact with a tab", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 u2 u0 s'a\tb' s'J.' f u0", "field 'contact'"},
    {"row handler empty", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 u2 u0 s'' s'' f u0", "field 'handler'"},
    {"row handler of 128 bytes", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 u2 u0 s'' S128 f u0", "field 'handler'"},
    {"row overdue an integer", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 u2 u0 s'' s'J.' u0 u0", "field 'overdue'"},
    {"row matches a str", "A2 u1 A1 A11 b16 s'net' P0 u2 u1 u2 u0 s'' s'J.' f s'0'", "field 'matches'"},
};

static void test_malformed_results(void **state)
{
    (void)state;
    zn_match m[2];
    zn_signal_row r[2];
    uint8_t id[ZN_ID_LEN];
    bool refreshed = false;
    uint64_t u = 0;
    uint32_t n = 0;

    /* the references parse */
    const char *good_add = "A4 b16 f u5 A2 " S_MATCH " " S_MATCH;
    const char *good_list = "A2 u9 A2 " S_ROW " " S_ROW;
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;
    msgpack_sbuffer_init(&b);
    s_build(&b, good_add);
    s_doc(&d, &b);
    assert_int_equal(zn_result_signal_add_parse(&d.root, id, &refreshed, &u, m, 2, &n, &e), 0);
    assert_int_equal(n, 2);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_init(&b);
    s_build(&b, good_list);
    s_doc(&d, &b);
    assert_int_equal(zn_result_signal_list_parse(&d.root, &u, r, 2, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_true(u == 9);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    for (size_t i = 0; i < sizeof s_bad_add_result / sizeof *s_bad_add_result; i++) {
        msgpack_sbuffer_init(&b);
        s_build(&b, s_bad_add_result[i].fmt);
        s_doc(&d, &b);
        zn_err_clear(&e);
        n = 77;
        if (zn_result_signal_add_parse(&d.root, id, &refreshed, &u, m, 2, &n, &e) != -1)
            fail_msg("signal-add result '%s' was accepted", s_bad_add_result[i].what);
        s_refused(s_bad_add_result[i].what, &e, s_bad_add_result[i].want);
        assert_int_equal(n, 0);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    for (size_t i = 0; i < sizeof s_bad_list_result / sizeof *s_bad_list_result; i++) {
        msgpack_sbuffer_init(&b);
        s_build(&b, s_bad_list_result[i].fmt);
        s_doc(&d, &b);
        zn_err_clear(&e);
        n = 77;
        if (zn_result_signal_list_parse(&d.root, &u, r, 2, &n, &e) != -1)
            fail_msg("signal-list result '%s' was accepted", s_bad_list_result[i].what);
        s_refused(s_bad_list_result[i].what, &e, s_bad_list_result[i].want);
        assert_int_equal(n, 0);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

/* More than ZN_SIGNAL_MATCHES_MAX matches or ZN_SIGNAL_PAGE rows are refused even when the caller
 * has room for more; the limits themselves pass. */
static void test_result_limits(void **state)
{
    (void)state;
    static zn_match m[ZN_SIGNAL_MATCHES_MAX + 2];
    static zn_signal_row r[ZN_SIGNAL_PAGE + 2];
    zn_match one;
    zn_signal_row row;
    uint8_t id[ZN_ID_LEN];
    bool refreshed = false;
    uint64_t u = 0;
    uint32_t n = 0;
    s_vector_match(&one);
    s_row(&row, 1);
    memset(id, 0x11, sizeof id);

    for (uint32_t k = ZN_SIGNAL_MATCHES_MAX; k <= ZN_SIGNAL_MATCHES_MAX + 1; k++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_result_signal_add_begin(&pk, id, true, 5, k);
        for (uint32_t i = 0; i < k; i++)
            zn_pack_match(&pk, &one);
        s_doc(&d, &b);
        int rc = zn_result_signal_add_parse(&d.root, id, &refreshed, &u, m, ZN_SIGNAL_MATCHES_MAX + 2, &n, &e);
        if (k == ZN_SIGNAL_MATCHES_MAX) {
            assert_int_equal(rc, 0);
            assert_int_equal(n, k);
        } else {
            assert_int_equal(rc, -1);
            s_refused("65 matches", &e, "'matches'");
        }
        zn_doc_free(&d);
        /* no room at all */
        s_doc(&d, &b);
        assert_int_equal(zn_result_signal_add_parse(&d.root, id, &refreshed, &u, NULL, 0, &n, &e), -1);
        s_refused("matches without room", &e, "'matches'");
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    for (uint32_t k = ZN_SIGNAL_PAGE; k <= ZN_SIGNAL_PAGE + 1; k++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_result_signal_list_begin(&pk, k, k);
        for (uint32_t i = 0; i < k; i++)
            zn_pack_signal_row(&pk, &row);
        s_doc(&d, &b);
        int rc = zn_result_signal_list_parse(&d.root, &u, r, ZN_SIGNAL_PAGE + 2, &n, &e);
        if (k == ZN_SIGNAL_PAGE) {
            assert_int_equal(rc, 0);
            assert_int_equal(n, k);
        } else {
            assert_int_equal(rc, -1);
            s_refused("257 rows", &e, "'rows'");
        }
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* an empty page needs no room */
    msgpack_sbuffer b;
    msgpack_packer pk;
    zn_doc d;
    zn_err e;
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    zn_result_signal_list_begin(&pk, 3, 0);
    s_doc(&d, &b);
    assert_int_equal(zn_result_signal_list_parse(&d.root, &u, NULL, 0, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_true(u == 3);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ the encoder refuses bad values */

static void test_encoder_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        int field;
    } cases[] = {
        {"network empty", 0},
        {"network with a capital", 1},
        {"network not terminated", 2},
        {"network with a space", 3},
        {"person with epoch 0", 4},
        {"17 related", 5},
        {"related twice", 6},
        {"related equal to person", 7},
        {"related of another epoch", 8},
        {"related with epoch 0", 9},
        {"contact with a newline", 10},
        {"contact not terminated", 11},
        {"contact not UTF-8", 12},
        {"contact with DEL", 13},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zn_signal_add s;
        zn_err e;
        s_vector_add(&s);
        switch (cases[i].field) {
        case 0: s.network[0] = '\0'; break;
        case 1: strcpy(s.network, "Net"); break;
        case 2: memset(s.network, 'n', sizeof s.network); break;
        case 3: strcpy(s.network, "0-12 binnenstad"); break;
        case 4: s.person[0] = 0; break;
        case 5:
            for (uint32_t k = 0; k < ZN_SIGNAL_RELATED_MAX; k++) {
                memset(s.related[k], 0x40 + (int)k, ZN_PSN_LEN);
                s.related[k][0] = 1;
            }
            s.n_related = ZN_SIGNAL_RELATED_MAX + 1;
            break;
        case 6: memcpy(s.related[1], s.related[0], ZN_PSN_LEN); break;
        case 7: memcpy(s.related[1], s.person, ZN_PSN_LEN); break;
        case 8: s.related[0][0] = 2; break;
        case 9: s.related[1][0] = 0; break;
        case 10: strcpy(s.contact, "IB\nma-wo"); break;
        case 11: memset(s.contact, 'c', sizeof s.contact); break;
        case 12: strcpy(s.contact, "IB\xff"); break;
        case 13: strcpy(s.contact, "IB\x7f"); break;
        }
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        msgpack_sbuffer_write(&b, "x", 1);
        zn_err_clear(&e);
        if (zn_body_signal_add(&b, &s, &e) != -1)
            fail_msg("encoder accepted '%s'", cases[i].what);
        if (e.code != ZN_E_USAGE)
            fail_msg("%s: code %s, not usage", cases[i].what, zn_code_name(e.code));
        assert_true(e.text[0] != '\0');
        assert_int_equal(b.size, 1); /* nothing appended */
        msgpack_sbuffer_destroy(&b);
    }

    /* the encoder appends: two bodies one after the other */
    zn_signal_add s;
    zn_err e;
    s_vector_add(&s);
    msgpack_sbuffer b1, b2;
    msgpack_sbuffer_init(&b1);
    msgpack_sbuffer_init(&b2);
    assert_int_equal(zn_body_signal_add(&b1, &s, &e), 0);
    assert_int_equal(zn_body_signal_add(&b2, &s, &e), 0);
    assert_int_equal(zn_body_signal_add(&b2, &s, &e), 0);
    assert_int_equal(b2.size, 2 * b1.size);
    assert_memory_equal(b2.data + b1.size, b1.data, b1.size);
    msgpack_sbuffer_destroy(&b1);
    msgpack_sbuffer_destroy(&b2);
}

/* ------------------------------------------------------------ inside a signed request */

static void test_in_request(void **state)
{
    (void)state;
    zn_seckeys k;
    uint8_t seed[32];
    memset(&k, 0, sizeof k);
    memset(seed, 0x01, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(k.pub.sign, k.sign, seed), 0);

    zn_signal_add s, t;
    zn_err e;
    s_vector_add(&s);
    for (uint32_t i = 0; i < ZN_SIGNAL_RELATED_MAX; i++) {
        memset(s.related[i], 0x40 + (int)i, ZN_PSN_LEN);
        s.related[i][0] = 1;
    }
    s.n_related = ZN_SIGNAL_RELATED_MAX;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    assert_int_equal(zn_body_signal_add(&body, &s, &e), 0);
    uint8_t *req = NULL, sig[ZN_SIG_LEN];
    size_t len = 0;
    assert_int_equal(zn_request_build("signal-add", "basisschool-de-linde", "J. de Vries (IB)", S_T, 3,
                                      (const uint8_t *)body.data, body.size, &k, &req, &len, sig, &e),
                     0);
    msgpack_sbuffer f;
    msgpack_sbuffer_init(&f);
    zn_frame_request(&f, 7, req, len, sig);
    zn_frame fr;
    assert_int_equal(zn_frame_parse((const uint8_t *)f.data, f.size, &fr, &e), 0);
    zn_frame_free(&fr);

    zn_doc d;
    zn_request r;
    assert_int_equal(zn_request_parse(req, len, &d, &r, &e), 0);
    assert_string_equal(r.kind, "signal-add");
    assert_int_equal(zn_body_signal_add_parse(r.body, &t, &e), 0);
    s_add_equal(&s, &t);
    zn_doc_free(&d);
    free(req);
    msgpack_sbuffer_destroy(&f);
    msgpack_sbuffer_destroy(&body);
    sodium_memzero(&k, sizeof k);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_roundtrip_signal_add),
        cmocka_unit_test(test_roundtrip_small_bodies),
        cmocka_unit_test(test_roundtrip_signal_add_result),
        cmocka_unit_test(test_roundtrip_signal_list_result),
        cmocka_unit_test(test_notice_match),
        cmocka_unit_test(test_notice_match_review),
        cmocka_unit_test(test_notice_lead_and_enumeration),
        cmocka_unit_test(test_malformed_signal_add),
        cmocka_unit_test(test_malformed_small_bodies),
        cmocka_unit_test(test_malformed_results),
        cmocka_unit_test(test_result_limits),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_in_request),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
