/* Unit tests for audit entries, commitments and signed tree heads: roundtrips with every optional
 * field present and absent, every field refused when it has the wrong type, length or value,
 * missing and extra fields, unsorted and repeated detail keys (on encode and decode), trailing
 * bytes, truncation, non-canonical encodings, the size limit; commitments that change with any
 * bit of salt or entry; tree heads signed and verified, tampered, under the wrong key and the
 * wrong namespace; and the test vectors printed in docs/AUDIT.md (checked byte for byte). */
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

#include "zn_audit.h"

#ifndef ZN_SOURCE_DIR
#define ZN_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------ helpers */

static char *s_hex(const uint8_t *p, size_t n)
{
    return zn_test_hex(p, n);
}

/* Bytes from hex (test constants; spaces are skipped); the caller frees. */
static uint8_t *s_unhex(const char *hex, size_t *n)
{
    char *h = malloc(strlen(hex) + 1);
    size_t k = 0;
    assert_non_null(h);
    for (const char *c = hex; *c; c++)
        if (*c != ' ')
            h[k++] = *c;
    h[k] = '\0';
    *n = k / 2;
    uint8_t *p = malloc(*n ? *n : 1);
    assert_non_null(p);
    assert_int_equal(zn_unhex(p, *n, h), 0);
    free(h);
    return p;
}

/* The bytes computed here == the vector printed in docs/AUDIT.md. */
static void s_check_vector(const char *name, const uint8_t *p, size_t n)
{
    zn_test_check_vector("AUDIT.md", name, NULL, p, n);
}

static void s_sign_keys(zn_seckeys *k, zn_kind kind, uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(k, 0, sizeof *k);
    k->pub.kind = kind;
    memset(seed, seed_byte, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(k->pub.sign, k->sign, seed), 0);
}

/* ------------------------------------------------------------ fixtures */

/* The evidence of the full entry: the envelope header of docs/PROTOCOL.md 9.4 and the sender's
 * signature over "zorgnet/v1/envelope" || header (sender signing seed 32 x 0x01). */
static const char S_CT_HASH[] = "b8fe3b907224e2737d4b47a340f14ea492377ca861dc7e1852663c57402ee339";
static uint8_t s_header[ZN_MAX_HEADER];
static size_t s_header_len;
static uint8_t s_header_sig[ZN_SIG_LEN];
static zn_seckeys s_sender, s_broker, s_other;

static const uint8_t s_case[ZN_ID_LEN] = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                                          0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22};
static const uint8_t s_msgid[ZN_ID_LEN] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                           0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};

static int s_setup(void **state)
{
    (void)state;
    uint8_t ct_hash[ZN_HASH_LEN], msg[sizeof ZN_ENVELOPE_NS - 1 + ZN_MAX_HEADER];
    msgpack_sbuffer b;
    msgpack_packer pk;

    if (sodium_init() < 0 || zn_unhex(ct_hash, sizeof ct_hash, S_CT_HASH) != 0)
        return -1;
    s_sign_keys(&s_sender, ZN_KIND_PARTNER, 0x01);
    s_sign_keys(&s_broker, ZN_KIND_BROKER, 0x05);
    s_sign_keys(&s_other, ZN_KIND_BROKER, 0x06);

    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 10);
    msgpack_pack_uint64(&pk, 1);
    zn_pack_bin(&pk, s_msgid, ZN_ID_LEN);
    zn_pack_bin(&pk, s_case, ZN_ID_LEN);
    zn_pack_str(&pk, "basisschool-de-linde");
    zn_pack_str(&pk, "J. de Vries (IB)");
    zn_pack_str(&pk, "wijkracht");
    msgpack_pack_uint64(&pk, 1767225600000ull);
    msgpack_pack_uint64(&pk, 3);
    msgpack_pack_uint64(&pk, 0);
    zn_pack_bin(&pk, ct_hash, ZN_HASH_LEN);
    if (b.size > sizeof s_header)
        return -1;
    memcpy(s_header, b.data, b.size);
    s_header_len = b.size;
    msgpack_sbuffer_destroy(&b);
    memcpy(msg, ZN_ENVELOPE_NS, sizeof ZN_ENVELOPE_NS - 1);
    memcpy(msg + sizeof ZN_ENVELOPE_NS - 1, s_header, s_header_len);
    if (crypto_sign_detached(s_header_sig, NULL, msg, sizeof ZN_ENVELOPE_NS - 1 + s_header_len,
                             s_sender.sign) != 0)
        return -1;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    zn_seckeys_wipe(&s_sender);
    zn_seckeys_wipe(&s_broker);
    zn_seckeys_wipe(&s_other);
    return 0;
}

/* Entry 1 of the vectors: every field present. */
static void s_full(zn_audit_entry *en, zn_audit_detail d[3])
{
    memset(en, 0, sizeof *en);
    memset(d, 0, 3 * sizeof *d);
    d[0].key = "msgid";
    d[0].type = ZN_AUDIT_BIN;
    d[0].p = s_msgid;
    d[0].len = ZN_ID_LEN;
    d[1].key = "network";
    d[1].type = ZN_AUDIT_STR;
    d[1].p = (const uint8_t *)"0-12-binnenstad";
    d[1].len = strlen("0-12-binnenstad");
    d[2].key = "queued";
    d[2].type = ZN_AUDIT_U64;
    d[2].u64 = 1000;

    en->index = 1;
    en->time_ms = 1767225600123ull;
    en->actor = "basisschool-de-linde";
    en->handler = "J. de Vries (IB)";
    en->action = "send";
    en->case_id = s_case;
    en->counterpart = "wijkracht";
    en->decision = ZN_AUDIT_REFUSED;
    en->reason = "quota-exceeded";
    en->basis = "consent";
    en->evidence_kind = "envelope-header";
    en->evidence = s_header;
    en->evidence_len = s_header_len;
    en->evidence_sig = s_header_sig;
    en->details = d;
    en->n_details = 3;
}

/* Entry 0 of the vectors: the broker's own entry, everything optional absent but one detail. */
static void s_min(zn_audit_entry *en, zn_audit_detail d[1])
{
    memset(en, 0, sizeof *en);
    memset(d, 0, sizeof *d);
    d[0].key = "version";
    d[0].type = ZN_AUDIT_U64;
    d[0].u64 = 3;
    en->index = 0;
    en->time_ms = 1767225590000ull;
    en->action = "convenant-load";
    en->decision = ZN_AUDIT_ALLOWED;
    en->details = d;
    en->n_details = 1;
}

static void s_encode_ok(msgpack_sbuffer *b, const zn_audit_entry *en)
{
    zn_err e;
    zn_err_clear(&e);
    if (zn_audit_entry_encode(b, en, &e) != 0)
        fail_msg("entry refused: %s: %s", zn_code_name(e.code), e.text);
}

static void s_str_equal(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void s_entry_equal(const zn_audit_entry *a, const zn_audit_entry *b)
{
    assert_true(a->index == b->index);
    assert_true(a->time_ms == b->time_ms);
    s_str_equal(a->actor, b->actor);
    s_str_equal(a->handler, b->handler);
    s_str_equal(a->action, b->action);
    if (!a->case_id || !b->case_id)
        assert_ptr_equal(a->case_id, b->case_id);
    else
        assert_memory_equal(a->case_id, b->case_id, ZN_ID_LEN);
    s_str_equal(a->counterpart, b->counterpart);
    assert_int_equal(a->decision, b->decision);
    s_str_equal(a->reason, b->reason);
    s_str_equal(a->basis, b->basis);
    s_str_equal(a->evidence_kind, b->evidence_kind);
    assert_int_equal(a->evidence_len, b->evidence_len);
    if (a->evidence_kind) {
        assert_memory_equal(a->evidence, b->evidence, a->evidence_len);
        assert_memory_equal(a->evidence_sig, b->evidence_sig, ZN_SIG_LEN);
    } else {
        assert_null(a->evidence);
        assert_null(b->evidence);
        assert_null(a->evidence_sig);
        assert_null(b->evidence_sig);
    }
    assert_int_equal(a->n_details, b->n_details);
    for (size_t i = 0; i < a->n_details; i++) {
        const zn_audit_detail *x = &a->details[i], *y = &b->details[i];
        assert_string_equal(x->key, y->key);
        assert_int_equal(x->type, y->type);
        if (x->type == ZN_AUDIT_U64) {
            assert_true(x->u64 == y->u64);
        } else {
            assert_int_equal(x->len, y->len);
            if (x->len)
                assert_memory_equal(x->p, y->p, x->len);
        }
    }
}

/* Encode en, decode it, compare, encode the decoded entry again: the same bytes. */
static void s_roundtrip(const zn_audit_entry *en)
{
    msgpack_sbuffer b, b2;
    zn_audit_entry out;
    zn_audit_detail dd[ZN_AUDIT_DETAILS_MAX];
    zn_doc doc;
    zn_err e;

    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_init(&b2);
    s_encode_ok(&b, en);
    assert_true(b.size <= ZN_AUDIT_MAX_ENTRY);
    zn_err_clear(&e);
    if (zn_audit_entry_decode((const uint8_t *)b.data, b.size, &doc, &out, dd, &e) != 0)
        fail_msg("entry refused: %s: %s", zn_code_name(e.code), e.text);
    assert_true(doc.live);
    s_entry_equal(en, &out);
    s_encode_ok(&b2, &out);
    assert_int_equal(b2.size, b.size);
    assert_memory_equal(b2.data, b.data, b.size);
    zn_doc_free(&doc);
    zn_doc_free(&doc); /* safe twice */
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&b2);
}

/* Decoding p must fail with code; the doc is freed and the output cleared. */
static void s_decode_fails(const uint8_t *p, size_t n, zn_code code)
{
    zn_audit_entry out;
    zn_audit_detail dd[ZN_AUDIT_DETAILS_MAX];
    zn_doc doc;
    zn_err e;

    memset(&out, 0x5a, sizeof out);
    zn_err_clear(&e);
    assert_int_equal(zn_audit_entry_decode(p, n, &doc, &out, dd, &e), -1);
    assert_false(doc.live);
    assert_true(e.text[0] != '\0');
    if (e.code != code)
        fail_msg("expected %s, got %s: %s", zn_code_name(code), zn_code_name(e.code), e.text);
    assert_null(out.action);
    assert_null(out.details);
    assert_int_equal(out.n_details, 0);
}

/* ------------------------------------------------------------ vectors */

static void test_vectors(void **state)
{
    (void)state;
    zn_audit_entry en0, en1, out;
    zn_audit_detail d0[1], d1[3], dd[ZN_AUDIT_DETAILS_MAX];
    msgpack_sbuffer b0, b1, hb;
    uint8_t salt0[ZN_AUDIT_SALT_LEN], salt1[ZN_AUDIT_SALT_LEN];
    uint8_t c0[ZN_HASH_LEN], c1[ZN_HASH_LEN], leaf0[ZN_HASH_LEN], leaf1[ZN_HASH_LEN];
    uint8_t buf[1 + 2 * ZN_HASH_LEN], sig[ZN_SIG_LEN];
    zn_tree_head th, got;
    zn_doc doc;
    zn_err e;

    /* the evidence is the envelope header and signature of docs/PROTOCOL.md 9.4 */
    if (!getenv("ZN_PRINT_VECTORS")) {
        char *h = zn_test_doc_vector("PROTOCOL.md", "envelope-header");
        char *s = zn_test_doc_vector("PROTOCOL.md", "envelope-signature");
        char *gh = s_hex(s_header, s_header_len), *gs = s_hex(s_header_sig, ZN_SIG_LEN);
        assert_non_null(h);
        assert_non_null(s);
        assert_string_equal(gh, h);
        assert_string_equal(gs, s);
        free(h);
        free(s);
        free(gh);
        free(gs);
    }
    zn_envelope env;
    memset(&env, 0, sizeof env);
    env.header_raw = s_header;
    env.header_len = s_header_len;
    memcpy(env.sig, s_header_sig, ZN_SIG_LEN);
    assert_int_equal(zn_envelope_verify(&env, s_sender.pub.sign), 0);

    s_check_vector("broker-sign-pk", s_broker.pub.sign, ZN_KEY_LEN);

    for (int i = 0; i < ZN_AUDIT_SALT_LEN; i++) {
        salt0[i] = (uint8_t)i;
        salt1[i] = (uint8_t)(0x20 + i);
    }

    s_min(&en0, d0);
    msgpack_sbuffer_init(&b0);
    s_encode_ok(&b0, &en0);
    s_check_vector("audit-entry-0", (const uint8_t *)b0.data, b0.size);
    zn_audit_commit(c0, salt0, (const uint8_t *)b0.data, b0.size);
    s_check_vector("audit-commitment-0", c0, sizeof c0);

    s_full(&en1, d1);
    msgpack_sbuffer_init(&b1);
    s_encode_ok(&b1, &en1);
    s_check_vector("audit-entry-1", (const uint8_t *)b1.data, b1.size);
    zn_audit_commit(c1, salt1, (const uint8_t *)b1.data, b1.size);
    s_check_vector("audit-commitment-1", c1, sizeof c1);

    /* RFC 6962 leaves and the root of the two-leaf tree */
    buf[0] = 0x00;
    memcpy(buf + 1, c0, ZN_HASH_LEN);
    assert_int_equal(crypto_hash_sha256(leaf0, buf, 1 + ZN_HASH_LEN), 0);
    memcpy(buf + 1, c1, ZN_HASH_LEN);
    assert_int_equal(crypto_hash_sha256(leaf1, buf, 1 + ZN_HASH_LEN), 0);
    s_check_vector("audit-leaf-0", leaf0, sizeof leaf0);
    s_check_vector("audit-leaf-1", leaf1, sizeof leaf1);
    buf[0] = 0x01;
    memcpy(buf + 1, leaf0, ZN_HASH_LEN);
    memcpy(buf + 1 + ZN_HASH_LEN, leaf1, ZN_HASH_LEN);
    memset(&th, 0, sizeof th);
    th.size = 2;
    assert_int_equal(crypto_hash_sha256(th.root, buf, sizeof buf), 0);
    th.time_ms = 1767225601000ull;
    s_check_vector("audit-root", th.root, ZN_HASH_LEN);

    msgpack_sbuffer_init(&hb);
    assert_int_equal(zn_tree_head_sign(&hb, sig, &th, &s_broker, &e), 0);
    s_check_vector("tree-head", (const uint8_t *)hb.data, hb.size);
    s_check_vector("tree-head-signature", sig, sizeof sig);

    /* the decoded vectors give back what was encoded */
    assert_int_equal(zn_audit_entry_decode((const uint8_t *)b1.data, b1.size, &doc, &out, dd, &e), 0);
    s_entry_equal(&en1, &out);
    zn_doc_free(&doc);
    assert_int_equal(zn_tree_head_verify((const uint8_t *)hb.data, hb.size, sig, s_broker.pub.sign,
                                         &got, &e), 0);
    assert_true(got.size == 2 && got.time_ms == th.time_ms);
    assert_memory_equal(got.root, th.root, ZN_HASH_LEN);

    /* and the vectors as printed in the doc decode and verify on their own */
    if (!getenv("ZN_PRINT_VECTORS")) {
        char *h0 = zn_test_doc_vector("AUDIT.md", "audit-entry-0");
        char *h = zn_test_doc_vector("AUDIT.md", "tree-head");
        char *s = zn_test_doc_vector("AUDIT.md", "tree-head-signature");
        char *pk = zn_test_doc_vector("AUDIT.md", "broker-sign-pk");
        size_t n0, n, ns, npk;
        assert_non_null(h0);
        assert_non_null(h);
        assert_non_null(s);
        assert_non_null(pk);
        uint8_t *p0 = s_unhex(h0, &n0), *p = s_unhex(h, &n), *ps = s_unhex(s, &ns),
                *ppk = s_unhex(pk, &npk);
        assert_int_equal(ns, ZN_SIG_LEN);
        assert_int_equal(npk, ZN_KEY_LEN);
        assert_int_equal(zn_audit_entry_decode(p0, n0, &doc, &out, dd, &e), 0);
        s_entry_equal(&en0, &out);
        zn_doc_free(&doc);
        assert_int_equal(zn_tree_head_verify(p, n, ps, ppk, &got, &e), 0);
        assert_true(got.size == 2);
        free(p0);
        free(p);
        free(ps);
        free(ppk);
        free(h0);
        free(h);
        free(s);
        free(pk);
    }
    msgpack_sbuffer_destroy(&b0);
    msgpack_sbuffer_destroy(&b1);
    msgpack_sbuffer_destroy(&hb);
}

/* ------------------------------------------------------------ roundtrips */

enum {
    O_ACTOR = 1 << 0,
    O_HANDLER = 1 << 1,
    O_CASE = 1 << 2,
    O_COUNTERPART = 1 << 3,
    O_REASON = 1 << 4,
    O_BASIS = 1 << 5,
    O_EVIDENCE = 1 << 6,
    O_DETAILS = 1 << 7,
    O_ALL = (1 << 8) - 1,
};

static void test_roundtrip_optional_fields(void **state)
{
    (void)state;
    zn_audit_entry full, en;
    zn_audit_detail d[3];

    s_full(&full, d);
    for (unsigned mask = 0; mask <= O_ALL; mask++) {
        en = full;
        if (!(mask & O_ACTOR))
            en.actor = NULL;
        if (!(mask & O_HANDLER))
            en.handler = NULL;
        if (!(mask & O_CASE))
            en.case_id = NULL;
        if (!(mask & O_COUNTERPART))
            en.counterpart = NULL;
        if (!(mask & O_REASON))
            en.reason = NULL;
        if (!(mask & O_BASIS))
            en.basis = NULL;
        if (!(mask & O_EVIDENCE)) {
            en.evidence_kind = NULL;
            en.evidence = NULL;
            en.evidence_len = 0;
            en.evidence_sig = NULL;
        }
        if (!(mask & O_DETAILS)) {
            en.details = NULL;
            en.n_details = 0;
        }
        en.decision = (mask & 1) ? ZN_AUDIT_ALLOWED : ZN_AUDIT_REFUSED;
        s_roundtrip(&en);
    }
}

static void test_roundtrip_extremes(void **state)
{
    (void)state;
    zn_audit_entry en;
    zn_audit_detail d[ZN_AUDIT_DETAILS_MAX];
    char keys[ZN_AUDIT_DETAILS_MAX][8];
    char longid[ZN_IDENT_MAX], handler[ZN_HANDLER_MAX];
    static const uint8_t zero = 0;

    s_full(&en, d);
    en.index = UINT64_MAX;
    en.time_ms = UINT64_MAX;
    memset(longid, 'z', ZN_IDENT_MAX - 1);
    longid[ZN_IDENT_MAX - 1] = '\0';
    en.actor = longid;
    en.counterpart = "a";
    en.reason = "x.y_z-0";
    en.basis = "9";
    memset(handler, 'h', ZN_HANDLER_MAX - 1);
    handler[ZN_HANDLER_MAX - 1] = '\0';
    handler[0] = '\xc3'; /* UTF-8 "é" */
    handler[1] = '\xa9';
    en.handler = handler;
    en.evidence_kind = "request";
    en.evidence = &zero;
    en.evidence_len = 1;
    /* sixteen details of every type, keys in ascending order: "k-00" < "k-01" < ... < "k_15" */
    for (int i = 0; i < ZN_AUDIT_DETAILS_MAX; i++) {
        snprintf(keys[i], sizeof keys[i], "k%c%02d", i < 10 ? '-' : '_', i);
        d[i].key = keys[i];
        d[i].type = i % 3 == 0 ? ZN_AUDIT_U64 : i % 3 == 1 ? ZN_AUDIT_STR : ZN_AUDIT_BIN;
        d[i].u64 = i == 0 ? UINT64_MAX : (uint64_t)i;
        d[i].p = i % 3 == 1 ? (const uint8_t *)"gezin \xe2\x80\x94 0-12" : i == 2 ? NULL : s_msgid;
        d[i].len = i % 3 == 1 ? strlen("gezin \xe2\x80\x94 0-12") : i == 2 ? 0 : ZN_ID_LEN;
        if (d[i].type == ZN_AUDIT_U64)
            d[i].p = NULL, d[i].len = 0;
    }
    en.details = d;
    en.n_details = ZN_AUDIT_DETAILS_MAX;
    s_roundtrip(&en);
}

static void test_encoding_deterministic(void **state)
{
    (void)state;
    zn_audit_entry en;
    zn_audit_detail d[3];
    msgpack_sbuffer a, b;

    s_full(&en, d);
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    s_encode_ok(&a, &en);
    s_encode_ok(&b, &en);
    assert_int_equal(a.size, b.size);
    assert_memory_equal(a.data, b.data, a.size);
    /* the encoder appends: an entry after other bytes is the same entry */
    s_encode_ok(&b, &en);
    assert_int_equal(b.size, 2 * a.size);
    assert_memory_equal(b.data + a.size, a.data, a.size);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}

/* The size limit holds exactly: an entry of ZN_AUDIT_MAX_ENTRY bytes passes, one more byte not. */
static void test_size_limit(void **state)
{
    (void)state;
    zn_audit_entry en;
    zn_audit_detail d[3];
    msgpack_sbuffer b;
    zn_err e;
    uint8_t *big = calloc(ZN_AUDIT_MAX_ENTRY + 1, 1);
    assert_non_null(big);

    s_full(&en, d);
    en.evidence = big;
    en.evidence_len = 60000;
    msgpack_sbuffer_init(&b);
    s_encode_ok(&b, &en);
    assert_true(b.size < ZN_AUDIT_MAX_ENTRY);
    en.evidence_len += ZN_AUDIT_MAX_ENTRY - b.size;
    msgpack_sbuffer_clear(&b);
    s_encode_ok(&b, &en);
    assert_int_equal(b.size, ZN_AUDIT_MAX_ENTRY);
    s_roundtrip(&en);

    en.evidence_len++;
    msgpack_sbuffer_clear(&b);
    zn_err_clear(&e);
    assert_int_equal(zn_audit_entry_encode(&b, &en, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(b.size, 0);
    en.evidence_len = ZN_AUDIT_MAX_ENTRY + 1;
    assert_int_equal(zn_audit_entry_encode(&b, &en, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    /* a hand-made byte string over the limit is refused before it is parsed */
    s_decode_fails(big, ZN_AUDIT_MAX_ENTRY + 1, ZN_E_TOO_LARGE);
    msgpack_sbuffer_destroy(&b);
    free(big);
}

/* ------------------------------------------------------------ encode refuses */

static void s_encode_fails(const zn_audit_entry *en, const char *what)
{
    msgpack_sbuffer b;
    zn_err e;

    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_write(&b, "x", 1);
    zn_err_clear(&e);
    if (zn_audit_entry_encode(&b, en, &e) != -1)
        fail_msg("encode accepted %s", what);
    if (e.code != ZN_E_USAGE)
        fail_msg("%s: expected usage, got %s: %s", what, zn_code_name(e.code), e.text);
    assert_true(e.text[0] != '\0');
    assert_int_equal(b.size, 1); /* nothing appended */
    msgpack_sbuffer_destroy(&b);
}

static void test_encode_refuses(void **state)
{
    (void)state;
    zn_audit_entry base, en;
    zn_audit_detail d[3], dx[ZN_AUDIT_DETAILS_MAX + 1];
    char long_id[ZN_IDENT_MAX + 1], long_handler[ZN_HANDLER_MAX + 1];
    static const char *const bad_ids[] = {"", "Wijkracht", "-x", ".x", "_x", "a b", "a/b", "é", "a\x7f"};
    static const char *const bad_handlers[] = {"", "J.\x01", "tab\there", "\xc3\x28", "\xc2\x85",
                                               "\xed\xa0\x80", "a\x7f"};

    memset(long_id, 'a', ZN_IDENT_MAX);
    long_id[ZN_IDENT_MAX] = '\0';
    memset(long_handler, 'h', ZN_HANDLER_MAX);
    long_handler[ZN_HANDLER_MAX] = '\0';
    s_full(&base, d);
    s_roundtrip(&base);

    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        en = base, en.actor = bad_ids[i];
        s_encode_fails(&en, "a bad actor");
        en = base, en.action = bad_ids[i];
        s_encode_fails(&en, "a bad action");
        en = base, en.counterpart = bad_ids[i];
        s_encode_fails(&en, "a bad counterpart");
        en = base, en.reason = bad_ids[i];
        s_encode_fails(&en, "a bad reason");
        en = base, en.basis = bad_ids[i];
        s_encode_fails(&en, "a bad basis");
        en = base, en.evidence_kind = bad_ids[i];
        s_encode_fails(&en, "a bad evidence kind");
    }
    en = base, en.actor = long_id;
    s_encode_fails(&en, "a 64-byte actor");
    en = base, en.action = long_id;
    s_encode_fails(&en, "a 64-byte action");
    en = base, en.action = NULL;
    s_encode_fails(&en, "no action");
    for (size_t i = 0; i < sizeof bad_handlers / sizeof *bad_handlers; i++) {
        en = base, en.handler = bad_handlers[i];
        s_encode_fails(&en, "a bad handler");
    }
    en = base, en.handler = long_handler;
    s_encode_fails(&en, "a 128-byte handler");
    en = base, en.decision = 0;
    s_encode_fails(&en, "decision 0");
    en = base, en.decision = 3;
    s_encode_fails(&en, "decision 3");

    /* evidence: all or nothing */
    en = base, en.evidence = NULL;
    s_encode_fails(&en, "evidence without bytes");
    en = base, en.evidence_len = 0;
    s_encode_fails(&en, "evidence of 0 bytes");
    en = base, en.evidence_sig = NULL;
    s_encode_fails(&en, "evidence without signature");
    en = base, en.evidence_kind = NULL;
    s_encode_fails(&en, "evidence without kind");
    en = base, en.evidence_kind = NULL, en.evidence = NULL, en.evidence_len = 0;
    s_encode_fails(&en, "a signature without evidence");

    /* details */
    en = base, en.details = NULL;
    s_encode_fails(&en, "details counted but missing");
    en = base, en.n_details = ZN_AUDIT_DETAILS_MAX + 1;
    s_encode_fails(&en, "17 details");
    static const char *const bad_keys[] = {"", "Key", "a.b", "-a", "_a", "a b", "é"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
        memcpy(dx, d, sizeof d);
        dx[0].key = bad_keys[i];
        en = base, en.details = dx;
        s_encode_fails(&en, "a bad detail key");
    }
    memcpy(dx, d, sizeof d);
    dx[0].key = long_id;
    en = base, en.details = dx;
    s_encode_fails(&en, "a 64-byte detail key");
    memcpy(dx, d, sizeof d);
    dx[0].key = NULL;
    s_encode_fails(&en, "a NULL detail key");

    /* unsorted and repeated keys */
    memcpy(dx, d, sizeof d);
    dx[0] = d[1], dx[1] = d[0];
    en = base, en.details = dx;
    s_encode_fails(&en, "unsorted detail keys");
    memcpy(dx, d, sizeof d);
    dx[2] = d[0];
    s_encode_fails(&en, "unsorted detail keys (last)");
    memcpy(dx, d, sizeof d);
    dx[1].key = dx[0].key;
    s_encode_fails(&en, "a repeated detail key");
    memcpy(dx, d, sizeof d);
    dx[0].key = "a", dx[1].key = "ab", dx[2].key = "a-";
    s_encode_fails(&en, "'a-' after 'ab'");
    dx[2].key = "ac";
    en.details = dx;
    s_roundtrip(&en); /* the same keys sorted pass */

    /* values */
    memcpy(dx, d, sizeof d);
    dx[1].len = 0;
    s_encode_fails(&en, "empty text");
    memcpy(dx, d, sizeof d);
    dx[1].p = (const uint8_t *)"a\nb", dx[1].len = 3;
    s_encode_fails(&en, "text with a newline");
    memcpy(dx, d, sizeof d);
    dx[1].p = (const uint8_t *)"a\0b", dx[1].len = 3;
    s_encode_fails(&en, "text with a NUL");
    memcpy(dx, d, sizeof d);
    dx[1].p = NULL;
    s_encode_fails(&en, "text without bytes");
    memcpy(dx, d, sizeof d);
    dx[0].p = NULL;
    s_encode_fails(&en, "a bin without bytes");
    memcpy(dx, d, sizeof d);
    dx[0].len = ZN_AUDIT_MAX_ENTRY + 1;
    s_encode_fails(&en, "an oversize bin");
    memcpy(dx, d, sizeof d);
    dx[0].type = 7;
    s_encode_fails(&en, "an unknown detail type");

    /* nothing to encode */
    msgpack_sbuffer b;
    zn_err e;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_audit_entry_encode(&b, NULL, &e), -1);
    assert_int_equal(zn_audit_entry_encode(NULL, &base, &e), -1);
    assert_int_equal(zn_audit_entry_encode(&b, &base, NULL), 0); /* e may be NULL */
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ decode refuses */

static msgpack_sbuffer s_base;    /* the full entry's encoding */
static zn_doc s_base_doc;         /* parsed, to copy the other fields from */
static const msgpack_object *s_f; /* its 13 fields */

static void s_base_open(void)
{
    zn_audit_entry en;
    zn_audit_detail d[3];
    s_full(&en, d);
    msgpack_sbuffer_init(&s_base);
    s_encode_ok(&s_base, &en);
    assert_int_equal(zn_doc_parse(&s_base_doc, (const uint8_t *)s_base.data, s_base.size, 2, 64), 0);
    s_f = zn_obj_array(&s_base_doc.root, 13);
    assert_non_null(s_f);
}

static void s_base_close(void)
{
    zn_doc_free(&s_base_doc);
    msgpack_sbuffer_destroy(&s_base);
}

/* The full entry with `count` fields, field `idx` replaced by the raw msgpack bytes given (when
 * idx >= 0); fields past 13 are nil. */
static void s_build(msgpack_sbuffer *out, uint32_t count, int idx, const uint8_t *raw, size_t len)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(out);
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, count);
    for (uint32_t j = 0; j < count; j++) {
        if ((int)j == idx)
            zn_pack_raw(&pk, raw, len);
        else if (j < 13)
            msgpack_pack_object(&pk, s_f[j]);
        else
            msgpack_pack_nil(&pk);
    }
}

static void s_field_fails(int idx, const uint8_t *raw, size_t len, zn_code code)
{
    msgpack_sbuffer b;
    s_build(&b, 13, idx, raw, len);
    char *h = s_hex(raw, len);
    zn_audit_entry out;
    zn_audit_detail dd[ZN_AUDIT_DETAILS_MAX];
    zn_doc doc;
    zn_err e;
    zn_err_clear(&e);
    if (zn_audit_entry_decode((const uint8_t *)b.data, b.size, &doc, &out, dd, &e) == 0)
        fail_msg("field %d = %s was accepted", idx, h);
    assert_false(doc.live);
    if (e.code != code)
        fail_msg("field %d = %s: expected %s, got %s: %s", idx, h, zn_code_name(code),
                 zn_code_name(e.code), e.text);
    free(h);
    msgpack_sbuffer_destroy(&b);
}

static void s_field_ok(int idx, const uint8_t *raw, size_t len)
{
    msgpack_sbuffer b;
    zn_audit_entry out;
    zn_audit_detail dd[ZN_AUDIT_DETAILS_MAX];
    zn_doc doc;
    zn_err e;
    s_build(&b, 13, idx, raw, len);
    if (zn_audit_entry_decode((const uint8_t *)b.data, b.size, &doc, &out, dd, &e) != 0) {
        char *h = s_hex(raw, len);
        fail_msg("field %d = %s was refused: %s", idx, h, e.text);
    }
    zn_doc_free(&doc);
    msgpack_sbuffer_destroy(&b);
}

static void s_field_hex_fails(int idx, const char *hex, zn_code code)
{
    size_t n;
    uint8_t *p = s_unhex(hex, &n);
    s_field_fails(idx, p, n, code);
    free(p);
}

static void s_field_hex_ok(int idx, const char *hex)
{
    size_t n;
    uint8_t *p = s_unhex(hex, &n);
    s_field_ok(idx, p, n);
    free(p);
}

enum { F_VERSION, F_INDEX, F_TIME, F_ACTOR, F_HANDLER, F_ACTION, F_CASE, F_COUNTERPART,
       F_DECISION, F_REASON, F_BASIS, F_EVIDENCE, F_DETAILS };

/* Values of the wrong type for any field (each field adds its own below). */
static const char *const s_wrong_any[] = {
    "c3",             /* true */
    "ff",             /* -1 */
    "d0ff",           /* int8 -1 */
    "90",             /* [] */
    "80",             /* {} */
    "9101",           /* [1] */
};

static void test_decode_field_types(void **state)
{
    (void)state;
    s_base_open();
    s_field_ok(-1, NULL, 0); /* the base itself passes */

    for (int f = F_VERSION; f <= F_DETAILS; f++)
        for (size_t i = 0; i < sizeof s_wrong_any / sizeof *s_wrong_any; i++)
            if (!(f == F_DETAILS && strcmp(s_wrong_any[i], "80") == 0))
                s_field_hex_fails(f, s_wrong_any[i], ZN_E_MALFORMED);
    s_field_hex_fails(F_DETAILS, "80", ZN_E_MALFORMED); /* an empty map is not "no details" */

    /* integers */
    s_field_hex_fails(F_VERSION, "02", ZN_E_VERSION);
    s_field_hex_fails(F_VERSION, "00", ZN_E_VERSION);
    s_field_hex_fails(F_VERSION, "cf0000000000000002", ZN_E_VERSION);
    s_field_hex_fails(F_VERSION, "c0", ZN_E_MALFORMED);
    s_field_hex_fails(F_VERSION, "a131", ZN_E_MALFORMED);   /* "1" */
    s_field_hex_fails(F_VERSION, "cc01", ZN_E_MALFORMED);   /* 1 as uint8: not canonical */
    for (int f = F_INDEX; f <= F_TIME; f++) {
        s_field_hex_fails(f, "c0", ZN_E_MALFORMED);
        s_field_hex_fails(f, "a131", ZN_E_MALFORMED);
        s_field_hex_fails(f, "c40101", ZN_E_MALFORMED);
        s_field_hex_fails(f, "cc01", ZN_E_MALFORMED);       /* not canonical */
        s_field_hex_fails(f, "cd0001", ZN_E_MALFORMED);
        s_field_hex_fails(f, "cf0000000000000001", ZN_E_MALFORMED);
        s_field_hex_fails(f, "d001", ZN_E_MALFORMED);       /* 1 as int8 */
        s_field_hex_ok(f, "00");
        s_field_hex_ok(f, "cfffffffffffffffff");
    }

    /* identifiers: actor, counterpart, reason, basis (nil allowed), action (required) */
    static const char *const bad_ids[] = {
        "a0",             /* "" */
        "a3426164",       /* "Bad" */
        "a22e78",         /* ".x" */
        "a22d78",         /* "-x" */
        "a3612062",       /* "a b" */
        "a2c3a9",         /* "é" */
        "a26100",         /* "a\0" */
        "c40178",         /* bin "x" */
        "01",
        "d90178",         /* "x" as str8: not canonical */
    };
    static const int id_fields[] = {F_ACTOR, F_ACTION, F_COUNTERPART, F_REASON, F_BASIS};
    for (size_t k = 0; k < sizeof id_fields / sizeof *id_fields; k++) {
        for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++)
            s_field_hex_fails(id_fields[k], bad_ids[i], ZN_E_MALFORMED);
        s_field_hex_ok(id_fields[k], "a778792e7a5f2d30"); /* "xy.z_-0" */
        uint8_t id[2 + ZN_IDENT_MAX];
        id[0] = 0xd9;
        id[1] = ZN_IDENT_MAX - 1;
        memset(id + 2, 'a', ZN_IDENT_MAX);
        s_field_ok(id_fields[k], id, 2 + ZN_IDENT_MAX - 1);
        id[1] = ZN_IDENT_MAX;
        s_field_fails(id_fields[k], id, 2 + ZN_IDENT_MAX, ZN_E_MALFORMED);
        if (id_fields[k] == F_ACTION)
            s_field_hex_fails(F_ACTION, "c0", ZN_E_MALFORMED);
        else
            s_field_hex_ok(id_fields[k], "c0");
    }

    /* handler: text */
    static const char *const bad_handlers[] = {
        "a0",             /* "" */
        "a2 41 01",       /* "A\x01" */
        "a2 00 4a",       /* "\0J" */
        "a2 c3 28",       /* invalid UTF-8 */
        "a2 c2 85",       /* C1 control */
        "a3 ed a0 80",    /* a surrogate */
        "a1 7f",          /* DEL */
        "c4 01 41",       /* bin */
        "01",
        "d9 01 4a",       /* "J" as str8: not canonical */
    };
    for (size_t i = 0; i < sizeof bad_handlers / sizeof *bad_handlers; i++)
        s_field_hex_fails(F_HANDLER, bad_handlers[i], ZN_E_MALFORMED);
    s_field_hex_ok(F_HANDLER, "c0");
    s_field_hex_ok(F_HANDLER, "a6c3a9c3a9c3a9"); /* "ééé" */
    {
        uint8_t h[2 + ZN_HANDLER_MAX];
        h[0] = 0xd9;
        h[1] = ZN_HANDLER_MAX - 1;
        memset(h + 2, 'h', ZN_HANDLER_MAX);
        s_field_ok(F_HANDLER, h, 2 + ZN_HANDLER_MAX - 1);
        h[1] = ZN_HANDLER_MAX;
        s_field_fails(F_HANDLER, h, 2 + ZN_HANDLER_MAX, ZN_E_MALFORMED);
    }

    /* case: nil or bin16 */
    s_field_hex_ok(F_CASE, "c0");
    s_field_hex_ok(F_CASE, "c41000000000000000000000000000000000");
    s_field_hex_fails(F_CASE, "c40f000000000000000000000000000000", ZN_E_MALFORMED);
    s_field_hex_fails(F_CASE, "c4110000000000000000000000000000000000", ZN_E_MALFORMED);
    s_field_hex_fails(F_CASE, "c400", ZN_E_MALFORMED);
    s_field_hex_fails(F_CASE, "b061616161616161616161616161616161", ZN_E_MALFORMED);
    s_field_hex_fails(F_CASE, "01", ZN_E_MALFORMED);
    s_field_hex_fails(F_CASE, "c5001000000000000000000000000000000000", ZN_E_MALFORMED); /* bin16 */

    /* decision */
    s_field_hex_ok(F_DECISION, "a7616c6c6f776564");
    s_field_hex_fails(F_DECISION, "c0", ZN_E_MALFORMED);
    s_field_hex_fails(F_DECISION, "a7416c6c6f776564", ZN_E_MALFORMED); /* "Allowed" */
    s_field_hex_fails(F_DECISION, "a6616c6c6f7765", ZN_E_MALFORMED);   /* "allowe" */
    s_field_hex_fails(F_DECISION, "a8616c6c6f77656421", ZN_E_MALFORMED); /* "allowed!" */
    s_field_hex_fails(F_DECISION, "a56d61796265", ZN_E_MALFORMED);     /* "maybe" */
    s_field_hex_fails(F_DECISION, "c407616c6c6f776564", ZN_E_MALFORMED); /* bin */
    s_field_hex_fails(F_DECISION, "01", ZN_E_MALFORMED);
    s_field_hex_fails(F_DECISION, "d907 72656675736564", ZN_E_MALFORMED); /* str8: not canonical */
    s_base_close();
}

/* Evidence: [kind, signed bytes, signature bin64], or nil. */
static void test_decode_evidence(void **state)
{
    (void)state;
    msgpack_sbuffer r;
    msgpack_packer pk;
    uint8_t sig[ZN_SIG_LEN + 1];
    memset(sig, 0xee, sizeof sig);

    s_base_open();
    s_field_hex_ok(F_EVIDENCE, "c0");
    /* kind, bytes, sig, extra; each case packs `n` elements with one replaced */
    enum { K_OK, K_ONE, K_TWO, K_FOUR, K_KIND_NIL, K_KIND_BAD, K_KIND_INT, K_KIND_EMPTY,
           K_BYTES_STR, K_BYTES_EMPTY, K_BYTES_NIL, K_SIG_63, K_SIG_65, K_SIG_STR, K_SIG_NIL,
           K_MAP, K__COUNT };
    for (int k = K_OK; k < K__COUNT; k++) {
        msgpack_sbuffer_init(&r);
        msgpack_packer_init(&pk, &r, msgpack_sbuffer_write);
        if (k == K_MAP) {
            msgpack_pack_map(&pk, 1);
            zn_pack_str(&pk, "request");
            zn_pack_bin(&pk, "abc", 3);
        } else {
            uint32_t n = k == K_ONE ? 1 : k == K_TWO ? 2 : k == K_FOUR ? 4 : 3;
            msgpack_pack_array(&pk, n);
            if (k == K_KIND_NIL)
                msgpack_pack_nil(&pk);
            else if (k == K_KIND_BAD)
                zn_pack_str(&pk, "Request");
            else if (k == K_KIND_INT)
                msgpack_pack_uint64(&pk, 1);
            else if (k == K_KIND_EMPTY)
                zn_pack_str(&pk, "");
            else
                zn_pack_str(&pk, "request");
            if (n >= 2) {
                if (k == K_BYTES_STR)
                    zn_pack_str(&pk, "abc");
                else if (k == K_BYTES_EMPTY)
                    zn_pack_bin(&pk, "", 0);
                else if (k == K_BYTES_NIL)
                    msgpack_pack_nil(&pk);
                else
                    zn_pack_bin(&pk, "abc", 3);
            }
            if (n >= 3) {
                if (k == K_SIG_63)
                    zn_pack_bin(&pk, sig, ZN_SIG_LEN - 1);
                else if (k == K_SIG_65)
                    zn_pack_bin(&pk, sig, ZN_SIG_LEN + 1);
                else if (k == K_SIG_STR) {
                    msgpack_pack_str(&pk, ZN_SIG_LEN);
                    msgpack_pack_str_body(&pk, sig, ZN_SIG_LEN);
                } else if (k == K_SIG_NIL)
                    msgpack_pack_nil(&pk);
                else
                    zn_pack_bin(&pk, sig, ZN_SIG_LEN);
            }
            if (n >= 4)
                msgpack_pack_nil(&pk);
        }
        if (k == K_OK)
            s_field_ok(F_EVIDENCE, (const uint8_t *)r.data, r.size);
        else
            s_field_fails(F_EVIDENCE, (const uint8_t *)r.data, r.size, ZN_E_MALFORMED);
        msgpack_sbuffer_destroy(&r);
    }
    s_base_close();
}

/* Details: nil, or a map of 1..16 [a-z0-9_-] keys in ascending order to u64 | text | bin. */
static void test_decode_details(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "810101",             /* {1: 1} */
        "81c0 01",            /* {nil: 1} */
        "81a342616401",       /* {"Bad": 1} */
        "81a3612e6201",       /* {"a.b": 1} */
        "81a22d6101",         /* {"-a": 1} */
        "81a25f6101",         /* {"_a": 1} */
        "81a001",             /* {"": 1} */
        "81c4016101",         /* {bin "a": 1} */
        "81a161c0",           /* {"a": nil} */
        "81a161ff",           /* {"a": -1} */
        "81a161c3",           /* {"a": true} */
        "81a16190",           /* {"a": []} */
        "81a16180",           /* {"a": {}} */
        "81a1619101",         /* {"a": [1]}: too deep */
        "81a161a0",           /* {"a": ""} */
        "81a161a101",         /* {"a": "\x01"} */
        "81a161a10a",         /* {"a": "\n"} */
        "81a161a2c328",       /* {"a": invalid UTF-8} */
        "81a161a2c285",       /* {"a": C1 control} */
        "81a161cb3ff0000000000000", /* {"a": 1.0}: no floats */
        "81a161cc01",         /* {"a": 1 as uint8}: not canonical */
        "81d9016101",         /* {"a" as str8: 1}: not canonical */
        "81a161c50001 61",    /* {"a": bin16 "a"}: not canonical */
        "82a16201a16101",     /* {"b": 1, "a": 1}: unsorted */
        "82a16101a16102",     /* {"a": 1, "a": 2}: repeated */
        "83a16101a16301a16201", /* {"a", "c", "b"}: unsorted at the end */
        "82a2616201a16101",   /* {"ab", "a"}: a prefix sorts first */
        "de0001a16101",       /* map16 of 1: not canonical */
        "91a161",             /* ["a"] */
    };
    s_base_open();
    s_field_hex_ok(F_DETAILS, "c0");
    s_field_hex_ok(F_DETAILS, "82a2612d01a2616201");         /* "a-" < "ab" */
    s_field_hex_ok(F_DETAILS, "82a16101a2616101");           /* "a" < "aa" */
    /* {"0": bin "", "a": "é", "z": 2^64-1}: "0" < "a" < "z" */
    s_field_hex_ok(F_DETAILS, "83 a130 c400 a161 a2c3a9 a17a cfffffffffffffffff");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        s_field_hex_fails(F_DETAILS, bad[i], ZN_E_MALFORMED);

    /* 16 details pass, 17 are refused */
    msgpack_sbuffer r;
    msgpack_packer pk;
    for (uint32_t n = 16; n <= 17; n++) {
        msgpack_sbuffer_init(&r);
        msgpack_packer_init(&pk, &r, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, n);
        for (uint32_t i = 0; i < n; i++) {
            char key[8];
            snprintf(key, sizeof key, "k%02u", i);
            zn_pack_str(&pk, key);
            msgpack_pack_uint64(&pk, i);
        }
        if (n == 16)
            s_field_ok(F_DETAILS, (const uint8_t *)r.data, r.size);
        else
            s_field_fails(F_DETAILS, (const uint8_t *)r.data, r.size, ZN_E_MALFORMED);
        msgpack_sbuffer_destroy(&r);
    }
    s_base_close();
}

static void test_decode_shape(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    uint8_t *p;

    s_base_open();
    /* missing and extra fields */
    for (uint32_t count = 0; count <= 15; count++) {
        if (count == 13)
            continue;
        s_build(&b, count, -1, NULL, 0);
        s_decode_fails((const uint8_t *)b.data, b.size, ZN_E_MALFORMED);
        msgpack_sbuffer_destroy(&b);
    }
    /* array16 of 13: not canonical */
    s_build(&b, 13, -1, NULL, 0);
    p = malloc(b.size + 2);
    assert_non_null(p);
    p[0] = 0xdc, p[1] = 0x00, p[2] = 0x0d;
    memcpy(p + 3, b.data + 1, b.size - 1);
    s_decode_fails(p, b.size + 2, ZN_E_MALFORMED);
    free(p);

    /* a trailing byte, a second entry, every truncation */
    p = malloc(2 * b.size);
    assert_non_null(p);
    memcpy(p, b.data, b.size);
    p[b.size] = 0xc0;
    s_decode_fails(p, b.size + 1, ZN_E_MALFORMED);
    memcpy(p + b.size, b.data, b.size);
    s_decode_fails(p, 2 * b.size, ZN_E_MALFORMED);
    for (size_t n = 1; n < b.size; n++)
        s_decode_fails(p, n, ZN_E_MALFORMED);
    s_decode_fails(p, 0, ZN_E_MALFORMED);
    s_decode_fails(NULL, 10, ZN_E_MALFORMED);
    free(p);
    msgpack_sbuffer_destroy(&b);

    /* not an array */
    s_decode_fails((const uint8_t *)"\x80", 1, ZN_E_MALFORMED);
    s_decode_fails((const uint8_t *)"\x01", 1, ZN_E_MALFORMED);
    s_decode_fails((const uint8_t *)"\xc0", 1, ZN_E_MALFORMED);

    /* missing arguments */
    zn_audit_entry out;
    zn_audit_detail dd[ZN_AUDIT_DETAILS_MAX];
    zn_doc doc;
    zn_err e;
    assert_int_equal(zn_audit_entry_decode((const uint8_t *)s_base.data, s_base.size, NULL, &out, dd, &e), -1);
    assert_int_equal(zn_audit_entry_decode((const uint8_t *)s_base.data, s_base.size, &doc, NULL, dd, &e), -1);
    assert_int_equal(zn_audit_entry_decode((const uint8_t *)s_base.data, s_base.size, &doc, &out, NULL, &e), -1);
    assert_int_equal(zn_audit_entry_decode((const uint8_t *)s_base.data, s_base.size, &doc, &out, dd, NULL), 0);
    zn_doc_free(&doc);
    s_base_close();
}

/* Changing any one byte of a valid entry gives either a refusal or another entry that encodes to
 * exactly the changed bytes: never two byte strings for one entry. */
static void test_decode_every_byte(void **state)
{
    (void)state;
    zn_audit_entry en, out;
    zn_audit_detail d[3], dd[ZN_AUDIT_DETAILS_MAX];
    msgpack_sbuffer b, b2;
    zn_doc doc;
    zn_err e;

    s_full(&en, d);
    msgpack_sbuffer_init(&b);
    s_encode_ok(&b, &en);
    uint8_t *p = malloc(b.size);
    assert_non_null(p);
    for (size_t i = 0; i < b.size; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(p, b.data, b.size);
            p[i] ^= (uint8_t)(1u << bit);
            if (zn_audit_entry_decode(p, b.size, &doc, &out, dd, &e) != 0) {
                assert_false(doc.live);
                continue;
            }
            msgpack_sbuffer_init(&b2);
            s_encode_ok(&b2, &out);
            assert_int_equal(b2.size, b.size);
            assert_memory_equal(b2.data, p, b.size);
            msgpack_sbuffer_destroy(&b2);
            zn_doc_free(&doc);
        }
    }
    free(p);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ commitment */

static void test_commitment(void **state)
{
    (void)state;
    zn_audit_entry en;
    zn_audit_detail d[3];
    msgpack_sbuffer b;
    uint8_t salt[ZN_AUDIT_SALT_LEN], c[ZN_HASH_LEN], c2[ZN_HASH_LEN], want[ZN_HASH_LEN];

    s_full(&en, d);
    msgpack_sbuffer_init(&b);
    s_encode_ok(&b, &en);
    randombytes_buf(salt, sizeof salt);

    /* SHA-256(salt || entry) */
    uint8_t *cat = malloc(sizeof salt + b.size);
    assert_non_null(cat);
    memcpy(cat, salt, sizeof salt);
    memcpy(cat + sizeof salt, b.data, b.size);
    assert_int_equal(crypto_hash_sha256(want, cat, sizeof salt + b.size), 0);
    zn_audit_commit(c, salt, (const uint8_t *)b.data, b.size);
    assert_memory_equal(c, want, ZN_HASH_LEN);
    zn_audit_commit(c2, salt, (const uint8_t *)b.data, b.size);
    assert_memory_equal(c2, c, ZN_HASH_LEN);
    free(cat);

    /* an empty entry hashes the salt alone */
    assert_int_equal(crypto_hash_sha256(want, salt, sizeof salt), 0);
    zn_audit_commit(c2, salt, NULL, 0);
    assert_memory_equal(c2, want, ZN_HASH_LEN);

    /* one bit of salt */
    for (size_t i = 0; i < 8 * sizeof salt; i++) {
        salt[i / 8] ^= (uint8_t)(1u << (i % 8));
        zn_audit_commit(c2, salt, (const uint8_t *)b.data, b.size);
        salt[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_memory_not_equal(c2, c, ZN_HASH_LEN);
    }
    /* one bit of entry */
    uint8_t *p = malloc(b.size);
    assert_non_null(p);
    memcpy(p, b.data, b.size);
    for (size_t i = 0; i < 8 * b.size; i++) {
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
        zn_audit_commit(c2, salt, p, b.size);
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_memory_not_equal(c2, c, ZN_HASH_LEN);
    }
    /* one byte more or less */
    zn_audit_commit(c2, salt, p, b.size - 1);
    assert_memory_not_equal(c2, c, ZN_HASH_LEN);
    free(p);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ tree heads */

/* Sign arbitrary bytes as a tree head would be signed (to test the decoder behind a valid
 * signature). */
static void s_sign_raw(uint8_t sig[ZN_SIG_LEN], const uint8_t *p, size_t n, const char *ns)
{
    uint8_t msg[256];
    size_t nl = strlen(ns);
    assert_true(nl + n <= sizeof msg);
    memcpy(msg, ns, nl);
    memcpy(msg + nl, p, n);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, nl + n, s_broker.sign), 0);
}

static void s_head_fails(const uint8_t *p, size_t n, const uint8_t sig[ZN_SIG_LEN],
                         const uint8_t pk[ZN_KEY_LEN], zn_code code)
{
    zn_tree_head out;
    zn_err e;
    memset(&out, 0x5a, sizeof out);
    zn_err_clear(&e);
    assert_int_equal(zn_tree_head_verify(p, n, sig, pk, &out, &e), -1);
    if (e.code != code)
        fail_msg("expected %s, got %s: %s", zn_code_name(code), zn_code_name(e.code), e.text);
    assert_true(out.size == 0 && out.time_ms == 0);
}

static void test_tree_head_roundtrip(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {0, 1, 2, 255, 256, 65536, UINT64_MAX};
    msgpack_sbuffer b;
    uint8_t sig[ZN_SIG_LEN];
    zn_tree_head th, out;
    zn_err e;

    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        memset(&th, 0, sizeof th);
        th.size = sizes[i];
        randombytes_buf(th.root, sizeof th.root);
        th.time_ms = i ? 1767225600000ull + i : UINT64_MAX;
        msgpack_sbuffer_init(&b);
        msgpack_sbuffer_write(&b, "pre", 3);
        assert_int_equal(zn_tree_head_sign(&b, sig, &th, &s_broker, &e), 0);
        const uint8_t *h = (const uint8_t *)b.data + 3;
        size_t n = b.size - 3;
        assert_memory_equal(b.data, "pre", 3); /* appended */
        assert_int_equal(zn_tree_head_verify(h, n, sig, s_broker.pub.sign, &out, &e), 0);
        assert_true(out.size == th.size && out.time_ms == th.time_ms);
        assert_memory_equal(out.root, th.root, ZN_HASH_LEN);
        /* deterministic: the same head, the same bytes and signature (Ed25519) */
        msgpack_sbuffer b2;
        uint8_t sig2[ZN_SIG_LEN];
        msgpack_sbuffer_init(&b2);
        assert_int_equal(zn_tree_head_sign(&b2, sig2, &th, &s_broker, &e), 0);
        assert_int_equal(b2.size, n);
        assert_memory_equal(b2.data, h, n);
        assert_memory_equal(sig2, sig, ZN_SIG_LEN);
        msgpack_sbuffer_destroy(&b2);
        msgpack_sbuffer_destroy(&b);
    }
}

static void test_tree_head_tamper(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    uint8_t sig[ZN_SIG_LEN], bad[ZN_SIG_LEN], p[64];
    zn_tree_head th, out;
    zn_err e;

    memset(&th, 0, sizeof th);
    th.size = 1000;
    memset(th.root, 0xab, sizeof th.root);
    th.time_ms = 1767225601000ull;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_tree_head_sign(&b, sig, &th, &s_broker, &e), 0);
    assert_true(b.size <= sizeof p);
    size_t n = b.size;

    /* every bit of the head */
    for (size_t i = 0; i < 8 * n; i++) {
        memcpy(p, b.data, n);
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
        memset(&out, 0x5a, sizeof out);
        assert_int_equal(zn_tree_head_verify(p, n, sig, s_broker.pub.sign, &out, &e), -1);
        assert_true(e.code == ZN_E_BAD_SIGNATURE || e.code == ZN_E_MALFORMED ||
                    e.code == ZN_E_VERSION);
        assert_true(out.size == 0);
    }
    /* every bit of the signature */
    for (size_t i = 0; i < 8 * ZN_SIG_LEN; i++) {
        memcpy(bad, sig, sizeof bad);
        bad[i / 8] ^= (uint8_t)(1u << (i % 8));
        s_head_fails((const uint8_t *)b.data, n, bad, s_broker.pub.sign, ZN_E_BAD_SIGNATURE);
    }
    /* the wrong key, a key of zeros */
    s_head_fails((const uint8_t *)b.data, n, sig, s_other.pub.sign, ZN_E_BAD_SIGNATURE);
    s_head_fails((const uint8_t *)b.data, n, sig, s_sender.pub.sign, ZN_E_BAD_SIGNATURE);
    memset(bad, 0, sizeof bad);
    s_head_fails((const uint8_t *)b.data, n, sig, bad, ZN_E_BAD_SIGNATURE);
    s_head_fails((const uint8_t *)b.data, n, bad, s_broker.pub.sign, ZN_E_BAD_SIGNATURE);
    /* a signature under another namespace, or none, is not a tree-head signature */
    s_sign_raw(bad, (const uint8_t *)b.data, n, ZN_ENVELOPE_NS);
    s_head_fails((const uint8_t *)b.data, n, bad, s_broker.pub.sign, ZN_E_BAD_SIGNATURE);
    s_sign_raw(bad, (const uint8_t *)b.data, n, "");
    s_head_fails((const uint8_t *)b.data, n, bad, s_broker.pub.sign, ZN_E_BAD_SIGNATURE);
    s_sign_raw(bad, (const uint8_t *)b.data, n, ZN_TREE_HEAD_NS);
    assert_memory_equal(bad, sig, ZN_SIG_LEN);
    /* a trailing byte, truncation */
    memcpy(p, b.data, n);
    p[n] = 0xc0;
    s_sign_raw(bad, p, n + 1, ZN_TREE_HEAD_NS);
    s_head_fails(p, n + 1, bad, s_broker.pub.sign, ZN_E_MALFORMED);
    for (size_t k = 0; k < n; k++)
        s_head_fails(p, k, sig, s_broker.pub.sign, ZN_E_MALFORMED);
    /* missing arguments */
    assert_int_equal(zn_tree_head_verify(p, n, NULL, s_broker.pub.sign, &out, &e), -1);
    assert_int_equal(zn_tree_head_verify(p, n, sig, NULL, &out, &e), -1);
    assert_int_equal(zn_tree_head_verify(p, n, sig, s_broker.pub.sign, NULL, &e), -1);
    assert_int_equal(zn_tree_head_verify(NULL, n, sig, s_broker.pub.sign, &out, &e), -1);
    assert_int_equal(zn_tree_head_verify(p, n, sig, s_broker.pub.sign, &out, NULL), 0);
    msgpack_sbuffer_destroy(&b);
}

/* Heads that are well signed but not well formed are refused by the decoder. */
static void test_tree_head_shape(void **state)
{
    (void)state;
#define R16 "abababababababababababababababab"
#define R32 R16 R16
#define T "cf0000019b76daabe8" /* 1767225601000 */
    static const struct {
        const char *hex;
        zn_code code;
    } cases[] = {
        {"94 02 cd03e8 c420" R32 T, ZN_E_VERSION},
        {"94 00 cd03e8 c420" R32 T, ZN_E_VERSION},
        {"93 01 cd03e8 c420" R32, ZN_E_MALFORMED},                      /* 3 fields */
        {"95 01 cd03e8 c420" R32 T "c0", ZN_E_MALFORMED},               /* 5 fields */
        {"94 01 cd03e8 c41f" R16 "ababababababababababababababab" T, ZN_E_MALFORMED}, /* root 31 */
        {"94 01 cd03e8 c421" R32 "ab" T, ZN_E_MALFORMED},               /* root 33 */
        {"94 01 cd03e8 d920" R32 T, ZN_E_MALFORMED},                    /* root as str */
        {"94 01 c0 c420" R32 T, ZN_E_MALFORMED},                        /* size nil */
        {"94 01 ff c420" R32 T, ZN_E_MALFORMED},                        /* size -1 */
        {"94 01 cd03e8 c420" R32 "a178", ZN_E_MALFORMED},               /* time "x" */
        {"94 01 cd03e8 c420" R32 "cb41d9b76daabe8000", ZN_E_MALFORMED}, /* time as float */
        {"94 01 cf00000000000003e8 c420" R32 T, ZN_E_MALFORMED},        /* size as uint64 */
        {"94 01 ce000003e8 c420" R32 T, ZN_E_MALFORMED},                /* size as uint32 */
        {"94 cc01 cd03e8 c420" R32 T, ZN_E_MALFORMED},                  /* version as uint8 */
        {"94 01 cd03e8 c520 00" R32 T, ZN_E_MALFORMED},                 /* root as bin16 */
        {"dc0004 01 cd03e8 c420" R32 T, ZN_E_MALFORMED},                /* array16 */
        {"95 01 cf00000000000003e8 c420" R32 T "c0", ZN_E_MALFORMED},   /* 55 bytes */
        {"84 01 cd03e8 02 c0 03 01 04 01", ZN_E_MALFORMED},             /* a map */
        {"c0", ZN_E_MALFORMED},
    };
    uint8_t sig[ZN_SIG_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n;
        uint8_t *p = s_unhex(cases[i].hex, &n);
        s_sign_raw(sig, p, n, ZN_TREE_HEAD_NS);
        s_head_fails(p, n, sig, s_broker.pub.sign, cases[i].code);
        free(p);
    }
    /* the well-formed neighbour of those cases passes */
    {
        size_t n;
        zn_tree_head out;
        zn_err e;
        uint8_t *p = s_unhex("94 01 cd03e8 c420" R32 T, &n);
        s_sign_raw(sig, p, n, ZN_TREE_HEAD_NS);
        assert_int_equal(zn_tree_head_verify(p, n, sig, s_broker.pub.sign, &out, &e), 0);
        assert_true(out.size == 1000 && out.time_ms == 1767225601000ull);
        free(p);
    }
#undef R16
#undef R32
#undef T
}

static void test_tree_head_sign_refuses(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    uint8_t sig[ZN_SIG_LEN];
    zn_tree_head th;
    zn_seckeys partner;
    zn_err e;

    memset(&th, 0, sizeof th);
    s_sign_keys(&partner, ZN_KIND_PARTNER, 0x05); /* the broker's key pair, but not a broker key */
    msgpack_sbuffer_init(&b);
    zn_err_clear(&e);
    assert_int_equal(zn_tree_head_sign(&b, sig, &th, &partner, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(b.size, 0);
    partner.pub.kind = ZN_KIND_AUTHORITY;
    assert_int_equal(zn_tree_head_sign(&b, sig, &th, &partner, &e), -1);
    assert_int_equal(b.size, 0);
    assert_int_equal(zn_tree_head_sign(NULL, sig, &th, &s_broker, &e), -1);
    assert_int_equal(zn_tree_head_sign(&b, NULL, &th, &s_broker, &e), -1);
    assert_int_equal(zn_tree_head_sign(&b, sig, NULL, &s_broker, &e), -1);
    assert_int_equal(zn_tree_head_sign(&b, sig, &th, NULL, &e), -1);
    assert_int_equal(b.size, 0);
    zn_seckeys_wipe(&partner);
    msgpack_sbuffer_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_roundtrip_optional_fields),
        cmocka_unit_test(test_roundtrip_extremes),
        cmocka_unit_test(test_encoding_deterministic),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_decode_field_types),
        cmocka_unit_test(test_decode_evidence),
        cmocka_unit_test(test_decode_details),
        cmocka_unit_test(test_decode_shape),
        cmocka_unit_test(test_decode_every_byte),
        cmocka_unit_test(test_commitment),
        cmocka_unit_test(test_tree_head_roundtrip),
        cmocka_unit_test(test_tree_head_tamper),
        cmocka_unit_test(test_tree_head_shape),
        cmocka_unit_test(test_tree_head_sign_refuses),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
