/* Unit tests for the bodies of the audit-log read requests ("receipt", "audit-read") and their
 * RESULT bodies: roundtrips of every body and result, every malformed shape refused with a
 * sentence that names what is wrong, the bounds (limit 1..4096, handler 1..127 bytes, subject
 * 1..64 bytes, 64 inclusion and 128 consistency hashes, entries up to 65 536 bytes), the filter
 * conditions over audit entries (half-open time range, case, partner as actor or counterpart,
 * handler, action, basis, decision, subject detail), and the receipt-body / audit-read-body /
 * receipt-result vectors printed in docs/PROTOCOL.md. */
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

#include "zn_auditreq.h"
#include "zn_frame.h"

#ifndef ZN_SOURCE_DIR
#define ZN_SOURCE_DIR "."
#endif

#define S_T 1767225600123ull      /* time of the full entry below (2026-01-01T00:00:00.123Z) */
#define S_T_BARE 1767225590000ull /* time of the broker's own entry */
#define S_C22 {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22}

/* ------------------------------------------------------------ helpers */

static void s_check_vector(const char *name, const char *expected, const uint8_t *p, size_t n)
{
    zn_test_check_vector("PROTOCOL.md", name, expected, p, n);
}

/* The n bytes of vector NAME in docs/FILE. */
static void s_doc_bytes(const char *file, const char *name, uint8_t *out, size_t n)
{
    char *hex = zn_test_doc_vector(file, name);
    if (!hex)
        fail_msg("docs/%s has no vector '%s'", file, name);
    if (zn_unhex(out, n, hex) != 0)
        fail_msg("docs/%s: vector '%s' is not %zu bytes", file, name, n);
    free(hex);
}

/* Read b as one msgpack document (must succeed: these tests are about the bodies, not the wire). */
static void s_doc(zn_doc *d, const msgpack_sbuffer *b)
{
    if (zn_doc_parse(d, (const uint8_t *)b->data, b->size, ZN_WIRE_MAX_DEPTH, 10000) != 0)
        fail_msg("test body is not one msgpack object");
}

/* e holds a malformed error whose sentence contains `want`. */
static void s_refused(const zn_err *e, const char *want)
{
    assert_int_equal(e->code, ZN_E_MALFORMED);
    if (!strstr(e->text, want))
        fail_msg("error '%s' does not say '%s'", e->text, want);
}

/* ------------------------------------------------------------ vectors */

static const char VEC_RECEIPT_BODY[] =
    "920002";
static const char VEC_AUDIT_READ_BODY[] =
    "85a477686174a7656e7472696573a573696e6365cf0000019b76daa800a46361"
    "7365c41022222222222222222222222222222222a6616374696f6ea473656e64"
    "a86465636973696f6ea772656675736564";
static const char VEC_RECEIPT_RESULT[] =
    "97c420dadeedc9ab4b5f2c127770a0078143ea33bc8c62b502c0ce1df742ab78"
    "f3fcd0c0c0c42e940102c4203c035ab2f507b22fffda7036e864e0e09bf01556"
    "78540677248eeba29342dbb5cf0000019b76daabe8c4402e406e59f3d1549e0d"
    "34bc598a31302a94ffd3242950241c980699b50af283d0391ee2f24159e04f79"
    "b9ad5987ebdb6b4178ce31e693f71ef928dc790a068b0191c420c3d20d877c0e"
    "913b9742c8e7deaa0cbc34cefbb83bdc6997af9f19c6a7a171da90";

static void test_vectors(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;

    /* receipt of entry 0, asked by a client that holds the head of size 2 */
    msgpack_sbuffer_init(&b);
    zn_body_receipt(&b, 0, 2);
    s_check_vector("receipt-body", VEC_RECEIPT_BODY, (const uint8_t *)b.data, b.size);
    msgpack_sbuffer_destroy(&b);

    /* every refused send on case 16 x 0x22 since 2026-01-01T00:00:00Z */
    zn_audit_filter f, g;
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    f.since_ms = 1767225600000ull;
    f.has_case = true;
    memset(f.case_id, 0x22, ZN_ID_LEN);
    strcpy(f.action, "send");
    f.decision = ZN_AUDIT_REFUSED;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_audit_read(&b, &f), 0);
    s_check_vector("audit-read-body", VEC_AUDIT_READ_BODY, (const uint8_t *)b.data, b.size);
    s_doc(&d, &b);
    zn_err_clear(&e);
    assert_int_equal(zn_body_audit_read_parse(&d.root, &g, &e), 0);
    assert_int_equal(g.what, ZN_READ_ENTRIES);
    assert_true(g.since_ms == 1767225600000ull && g.until_ms == 0 && g.from == 0 && g.upto == 0);
    assert_int_equal(g.limit, ZN_READ_LIMIT); /* the default */
    assert_true(g.has_case);
    assert_memory_equal(g.case_id, f.case_id, ZN_ID_LEN);
    assert_string_equal(g.action, "send");
    assert_int_equal(g.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(g.partner, "");
    assert_int_equal(g.subject_len, 0);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* the receipt of entry 0 of docs/AUDIT.md after its redaction: d is commitment 0, salt and
     * entry are gone; the head of size 2, the audit path of leaf 0 (leaf 1) and no consistency
     * hashes, the client holding that same head */
    zn_seckeys broker;
    uint8_t seed[32], c[ZN_HASH_LEN], leaf0[ZN_HASH_LEN], leaf1[ZN_HASH_LEN], want[ZN_TREE_HEAD_MAX];
    zn_tree_head th;
    msgpack_sbuffer head;
    uint8_t sig[ZN_SIG_LEN];
    memset(&broker, 0, sizeof broker);
    broker.pub.kind = ZN_KIND_BROKER;
    memset(seed, 0x05, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(broker.pub.sign, broker.sign, seed), 0);
    s_doc_bytes("AUDIT.md", "audit-commitment-1", c, sizeof c);
    zn_merkle_leaf_hash(leaf1, c, sizeof c);
    s_doc_bytes("AUDIT.md", "audit-commitment-0", c, sizeof c);
    zn_merkle_leaf_hash(leaf0, c, sizeof c);
    memset(&th, 0, sizeof th);
    th.size = 2;
    zn_merkle_node_hash(th.root, leaf0, leaf1);
    th.time_ms = 1767225601000ull;
    msgpack_sbuffer_init(&head);
    assert_int_equal(zn_tree_head_sign(&head, sig, &th, &broker, &e), 0);
    s_doc_bytes("AUDIT.md", "tree-head", want, head.size);
    assert_memory_equal(head.data, want, head.size);
    s_doc_bytes("AUDIT.md", "tree-head-signature", want, ZN_SIG_LEN);
    assert_memory_equal(sig, want, ZN_SIG_LEN);

    zn_receipt r, got;
    memset(&r, 0, sizeof r);
    r.d = c;
    r.head = (const uint8_t *)head.data;
    r.head_len = head.size;
    r.head_sig = sig;
    memcpy(r.inclusion, leaf1, ZN_HASH_LEN);
    r.n_inclusion = 1;
    msgpack_sbuffer_init(&b);
    zn_result_receipt(&b, &r);
    s_check_vector("receipt-result", VEC_RECEIPT_RESULT, (const uint8_t *)b.data, b.size);

    /* as the client reads it: in a RESULT frame, then the body, the head, the path */
    msgpack_sbuffer fb;
    zn_frame fr;
    msgpack_sbuffer_init(&fb);
    zn_frame_result(&fb, 9, "receipt", (const uint8_t *)b.data, b.size);
    zn_err_clear(&e);
    if (zn_frame_parse((const uint8_t *)fb.data, fb.size, &fr, &e) != 0)
        fail_msg("RESULT refused: %s", e.text);
    assert_string_equal(fr.u.result.kind, "receipt");
    assert_int_equal(zn_result_receipt_parse(fr.u.result.body, &got, &e), 0);
    assert_memory_equal(got.d, c, ZN_HASH_LEN);
    assert_null(got.salt);
    assert_null(got.entry);
    assert_int_equal(got.entry_len, 0);
    assert_int_equal(got.n_inclusion, 1);
    assert_int_equal(got.n_consistency, 0);
    zn_tree_head gth;
    assert_int_equal(zn_tree_head_verify(got.head, got.head_len, got.head_sig, broker.pub.sign, &gth, &e), 0);
    uint8_t leaf[ZN_HASH_LEN];
    zn_merkle_leaf_hash(leaf, got.d, ZN_HASH_LEN);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, 0, gth.size, got.inclusion, got.n_inclusion, gth.root), 0);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, 1, gth.size, got.inclusion, got.n_inclusion, gth.root), -1);
    zn_frame_free(&fr);
    msgpack_sbuffer_destroy(&fb);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&head);
    sodium_memzero(&broker, sizeof broker);
}

/* ------------------------------------------------------------ receipt body */

static void test_receipt_body(void **state)
{
    (void)state;
    const struct {
        uint64_t index, known;
    } ok[] = {{0, 0}, {0, 1}, {255, 256}, {300, 65536}, {ZN_MERKLE_MAX_SIZE - 1, ZN_MERKLE_MAX_SIZE}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        msgpack_sbuffer b;
        zn_doc d;
        zn_err e;
        uint64_t index = 1, known = 1;
        msgpack_sbuffer_init(&b);
        zn_body_receipt(&b, ok[i].index, ok[i].known);
        s_doc(&d, &b);
        zn_err_clear(&e);
        assert_int_equal(zn_body_receipt_parse(&d.root, &index, &known, &e), 0);
        assert_true(index == ok[i].index && known == ok[i].known);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    const struct {
        const char *p;
        size_t n;
        const char *want;
    } bad[] = {
        {"\x91\x00", 2, "exactly 2 fields"},
        {"\x93\x00\x00\x00", 4, "exactly 2 fields"},
        {"\x90", 1, "exactly 2 fields"},
        {"\x82\x00\x00\x01\x01", 5, "exactly 2 fields"},
        {"\xc0", 1, "exactly 2 fields"},
        {"\x92\xff\x00", 3, "'index'"},                                             /* -1 */
        {"\x92\xa1" "0\x00", 4, "'index'"},                                         /* "0" */
        {"\x92\xc0\x00", 3, "'index'"},                                             /* nil */
        {"\x92\xc3\x00", 3, "'index'"},                                             /* true */
        {"\x92\xcf\x80\x00\x00\x00\x00\x00\x00\x00\x00", 11, "'index'"},            /* 2^63 */
        {"\x92\x00\xff", 3, "'known_size'"},                                        /* -1 */
        {"\x92\x00\xc2", 3, "'known_size'"},                                        /* false */
        {"\x92\x00\xc4\x01\x02", 5, "'known_size'"},                                /* a bin */
        {"\x92\x00\xcf\x80\x00\x00\x00\x00\x00\x00\x01", 11, "'known_size'"},       /* 2^63 + 1 */
        {"\x92\x00\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 11, "'known_size'"},       /* 2^64 - 1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        zn_doc d;
        zn_err e;
        uint64_t index, known;
        if (zn_doc_parse(&d, (const uint8_t *)bad[i].p, bad[i].n, ZN_WIRE_MAX_DEPTH, 100) != 0)
            fail_msg("case %zu is not msgpack", i);
        zn_err_clear(&e);
        assert_int_equal(zn_body_receipt_parse(&d.root, &index, &known, &e), -1);
        s_refused(&e, bad[i].want);
        assert_non_null(strstr(e.text, "receipt: "));
        zn_doc_free(&d);
    }
}

/* ------------------------------------------------------------ receipt result */

enum { R_D, R_SALT, R_ENTRY, R_HEAD, R_SIG, R_INCL, R_CONS, R__COUNT };
typedef enum { X_NIL, X_BIN, X_STR, X_U64, X_MAP, X_HASHES, X_HASHES_ODD } s_x;

static uint8_t s_big[ZN_AUDIT_MAX_ENTRY + 1];

/* Pack one value: a bin of n bytes, n hashes, or two hashes the second of which has n bytes. */
static void s_val(msgpack_packer *pk, s_x x, size_t n)
{
    switch (x) {
    case X_NIL: msgpack_pack_nil(pk); break;
    case X_BIN: zn_pack_bin(pk, s_big, n); break;
    case X_STR: zn_pack_str(pk, "x"); break;
    case X_U64: msgpack_pack_uint64(pk, n); break;
    case X_MAP: msgpack_pack_map(pk, 0); break;
    case X_HASHES: zn_pack_hashes(pk, s_big, n); break;
    case X_HASHES_ODD:
        msgpack_pack_array(pk, 2);
        zn_pack_bin(pk, s_big, 32);
        zn_pack_bin(pk, s_big + 32, n);
        break;
    }
}

/* A receipt result of `count` fields: d, salt, a 10-byte entry, a 46-byte head, a signature, one
 * inclusion hash, no consistency hashes; field `which` (if < R__COUNT) replaced by (x, n). */
static void s_receipt_with(msgpack_sbuffer *b, uint32_t count, int which, s_x x, size_t n)
{
    static const struct {
        s_x x;
        size_t n;
    } dflt[R__COUNT] = {{X_BIN, 32}, {X_BIN, 32}, {X_BIN, 10}, {X_BIN, 46}, {X_BIN, 64}, {X_HASHES, 1},
                        {X_HASHES, 0}};
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, count);
    for (uint32_t i = 0; i < count; i++) {
        if ((int)i == which)
            s_val(&pk, x, n);
        else
            s_val(&pk, i < R__COUNT ? dflt[i].x : X_NIL, i < R__COUNT ? dflt[i].n : 0);
    }
}

static void test_receipt_result(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof s_big; k++)
        s_big[k] = (uint8_t)(k * 13 + 1);

    /* roundtrip: every field present, then redacted; proofs at their bounds */
    uint8_t d[ZN_HASH_LEN], salt[ZN_AUDIT_SALT_LEN], head[ZN_TREE_HEAD_MAX], sig[ZN_SIG_LEN];
    memset(d, 0xd0, sizeof d);
    memset(salt, 0x5a, sizeof salt);
    memset(head, 0x94, sizeof head);
    memset(sig, 0x51, sizeof sig);
    const struct {
        bool redacted;
        size_t entry_len, head_len;
        uint32_t n_incl, n_cons;
    } rt[] = {
        {false, 43, 46, 3, 2},
        {true, 0, 46, 1, 0},
        {false, 1, 1, 0, 0},
        {false, ZN_AUDIT_MAX_ENTRY, ZN_TREE_HEAD_MAX, ZN_MERKLE_MAX_INCLUSION, ZN_MERKLE_MAX_CONSISTENCY},
    };
    for (size_t i = 0; i < sizeof rt / sizeof *rt; i++) {
        static zn_receipt r, got;
        msgpack_sbuffer b;
        zn_doc doc;
        zn_err e;
        memset(&r, 0, sizeof r);
        r.d = d;
        if (!rt[i].redacted) {
            r.salt = salt;
            r.entry = s_big;
            r.entry_len = rt[i].entry_len;
        }
        r.head = head;
        r.head_len = rt[i].head_len;
        r.head_sig = sig;
        memcpy(r.inclusion, s_big, rt[i].n_incl * ZN_HASH_LEN);
        r.n_inclusion = rt[i].n_incl;
        memcpy(r.consistency, s_big + 7, rt[i].n_cons * ZN_HASH_LEN);
        r.n_consistency = rt[i].n_cons;
        msgpack_sbuffer_init(&b);
        zn_result_receipt(&b, &r);
        s_doc(&doc, &b);
        zn_err_clear(&e);
        if (zn_result_receipt_parse(&doc.root, &got, &e) != 0)
            fail_msg("receipt %zu refused: %s", i, e.text);
        assert_memory_equal(got.d, d, ZN_HASH_LEN);
        if (rt[i].redacted) {
            assert_null(got.salt);
            assert_null(got.entry);
        } else {
            assert_non_null(got.salt);
            assert_memory_equal(got.salt, salt, ZN_AUDIT_SALT_LEN);
            assert_int_equal(got.entry_len, rt[i].entry_len);
            assert_memory_equal(got.entry, s_big, rt[i].entry_len);
        }
        assert_int_equal(got.head_len, rt[i].head_len);
        assert_memory_equal(got.head, head, rt[i].head_len);
        assert_memory_equal(got.head_sig, sig, ZN_SIG_LEN);
        assert_int_equal(got.n_inclusion, rt[i].n_incl);
        assert_int_equal(got.n_consistency, rt[i].n_cons);
        assert_memory_equal(got.inclusion, r.inclusion, sizeof r.inclusion);
        assert_memory_equal(got.consistency, r.consistency, sizeof r.consistency);
        zn_doc_free(&doc);
        msgpack_sbuffer_destroy(&b);
    }

    /* the defaults of s_receipt_with, and both salt and entry nil, are valid */
    const struct {
        uint32_t count;
        int which;
        s_x x;
        size_t n;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {7, -1, X_NIL, 0, NULL},
        {7, R_INCL, X_HASHES, 0, NULL},
        {7, R_CONS, X_HASHES, 1, NULL},
        {6, -1, X_NIL, 0, "not an array of exactly 7 fields"},
        {8, -1, X_NIL, 0, "not an array of exactly 7 fields"},
        {0, -1, X_NIL, 0, "not an array of exactly 7 fields"},
        {7, R_D, X_BIN, 31, "field 'd' is not a 32-byte bin"},
        {7, R_D, X_BIN, 33, "field 'd' is not a 32-byte bin"},
        {7, R_D, X_NIL, 0, "field 'd' is not a 32-byte bin"},
        {7, R_D, X_HASHES, 1, "field 'd' is not a 32-byte bin"},
        {7, R_SALT, X_NIL, 0, "'salt' and 'entry' are neither both nil"},  /* entry without salt */
        {7, R_ENTRY, X_NIL, 0, "'salt' and 'entry' are neither both nil"}, /* salt without entry */
        {7, R_SALT, X_BIN, 31, "'salt' and 'entry'"},
        {7, R_SALT, X_BIN, 33, "'salt' and 'entry'"},
        {7, R_SALT, X_STR, 0, "'salt' and 'entry'"},
        {7, R_ENTRY, X_BIN, 0, "'salt' and 'entry'"},
        {7, R_ENTRY, X_BIN, ZN_AUDIT_MAX_ENTRY + 1, "'salt' and 'entry'"},
        {7, R_ENTRY, X_STR, 0, "'salt' and 'entry'"},
        {7, R_ENTRY, X_MAP, 0, "'salt' and 'entry'"},
        {7, R_HEAD, X_BIN, 0, "field 'tree_head' is not a bin of 1 to 54 bytes"},
        {7, R_HEAD, X_BIN, ZN_TREE_HEAD_MAX + 1, "field 'tree_head'"},
        {7, R_HEAD, X_NIL, 0, "field 'tree_head'"},
        {7, R_HEAD, X_STR, 0, "field 'tree_head'"},
        {7, R_SIG, X_BIN, 63, "field 'tree_head_sig' is not a 64-byte bin"},
        {7, R_SIG, X_BIN, 65, "field 'tree_head_sig'"},
        {7, R_SIG, X_NIL, 0, "field 'tree_head_sig'"},
        {7, R_INCL, X_HASHES, ZN_MERKLE_MAX_INCLUSION + 1, "field 'inclusion' is not an array of at most 64"},
        {7, R_INCL, X_HASHES_ODD, 31, "field 'inclusion'"},
        {7, R_INCL, X_HASHES_ODD, 33, "field 'inclusion'"},
        {7, R_INCL, X_BIN, 32, "field 'inclusion'"},
        {7, R_INCL, X_NIL, 0, "field 'inclusion'"},
        {7, R_CONS, X_HASHES, ZN_MERKLE_MAX_CONSISTENCY + 1, "field 'consistency' is not an array of at most 128"},
        {7, R_CONS, X_HASHES_ODD, 31, "field 'consistency'"},
        {7, R_CONS, X_HASHES_ODD, 0, "field 'consistency'"},
        {7, R_CONS, X_MAP, 0, "field 'consistency'"},
        {7, R_CONS, X_U64, 0, "field 'consistency'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        static zn_receipt got;
        msgpack_sbuffer b;
        zn_doc doc;
        zn_err e;
        msgpack_sbuffer_init(&b);
        s_receipt_with(&b, cases[i].count, cases[i].which, cases[i].x, cases[i].n);
        s_doc(&doc, &b);
        zn_err_clear(&e);
        int rc = zn_result_receipt_parse(&doc.root, &got, &e);
        if (!cases[i].want) {
            if (rc != 0)
                fail_msg("case %zu refused: %s", i, e.text);
        } else {
            if (rc != -1)
                fail_msg("case %zu accepted", i);
            s_refused(&e, cases[i].want);
            assert_non_null(strstr(e.text, "receipt: "));
        }
        zn_doc_free(&doc);
        msgpack_sbuffer_destroy(&b);
    }
    /* both nil: a redacted entry */
    {
        static zn_receipt got;
        msgpack_sbuffer b;
        zn_doc doc;
        zn_err e;
        msgpack_packer pk;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 7);
        s_val(&pk, X_BIN, 32);
        s_val(&pk, X_NIL, 0);
        s_val(&pk, X_NIL, 0);
        s_val(&pk, X_BIN, 46);
        s_val(&pk, X_BIN, 64);
        s_val(&pk, X_HASHES, 2);
        s_val(&pk, X_HASHES, 3);
        s_doc(&doc, &b);
        assert_int_equal(zn_result_receipt_parse(&doc.root, &got, &e), 0);
        assert_null(got.salt);
        assert_null(got.entry);
        assert_int_equal(got.n_inclusion, 2);
        assert_int_equal(got.n_consistency, 3);
        zn_doc_free(&doc);
        msgpack_sbuffer_destroy(&b);
    }
}

/* ------------------------------------------------------------ audit-read body */

static void s_filter_equal(const zn_audit_filter *a, const zn_audit_filter *b)
{
    assert_int_equal(a->what, b->what);
    assert_true(a->from == b->from && a->upto == b->upto);
    assert_int_equal(a->limit ? a->limit : ZN_READ_LIMIT, b->limit);
    assert_true(a->since_ms == b->since_ms && a->until_ms == b->until_ms);
    assert_int_equal(a->leaves, b->leaves);
    assert_int_equal(a->has_case, b->has_case);
    if (a->has_case)
        assert_memory_equal(a->case_id, b->case_id, ZN_ID_LEN);
    assert_string_equal(a->partner, b->partner);
    assert_string_equal(a->handler, b->handler);
    assert_string_equal(a->action, b->action);
    assert_string_equal(a->basis, b->basis);
    assert_int_equal(a->decision, b->decision);
    assert_int_equal(a->subject_len, b->subject_len);
    assert_memory_equal(a->subject, b->subject, a->subject_len);
}

static void s_roundtrip(const zn_audit_filter *f)
{
    msgpack_sbuffer b;
    zn_doc d;
    zn_err e;
    zn_audit_filter g;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_audit_read(&b, f), 0);
    s_doc(&d, &b);
    zn_err_clear(&e);
    if (zn_body_audit_read_parse(&d.root, &g, &e) != 0)
        fail_msg("audit-read body refused: %s", e.text);
    s_filter_equal(f, &g);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);
}

static void test_audit_read_roundtrip(void **state)
{
    (void)state;
    zn_audit_filter f;

    /* each kind alone: a map of one key */
    for (int w = ZN_READ_ENTRIES; w <= ZN_READ_HEAD; w++) {
        memset(&f, 0, sizeof f);
        f.what = (zn_read_what)w;
        s_roundtrip(&f);
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        assert_int_equal(zn_body_audit_read(&b, &f), 0);
        assert_int_equal((uint8_t)b.data[0], 0x81);
        msgpack_sbuffer_destroy(&b);
    }
    assert_string_equal(zn_read_what_name(ZN_READ_ENTRIES), "entries");
    assert_string_equal(zn_read_what_name(ZN_READ_HEADS), "heads");
    assert_string_equal(zn_read_what_name(ZN_READ_CONVENANTS), "convenants");
    assert_string_equal(zn_read_what_name(ZN_READ_HEAD), "head");
    assert_string_equal(zn_read_what_name((zn_read_what)0), "?");
    assert_string_equal(zn_read_what_name((zn_read_what)5), "?");

    /* every key, at its bounds */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    f.from = 1;
    f.upto = UINT64_MAX;
    f.limit = ZN_READ_LIMIT;
    f.since_ms = 1767225600000ull;
    f.until_ms = UINT64_MAX;
    f.leaves = true;
    f.has_case = true;
    memset(f.case_id, 0x22, ZN_ID_LEN);
    memset(f.partner, 'p', ZN_IDENT_MAX - 1); /* 63 bytes */
    memset(f.handler, 'h', ZN_HANDLER_MAX - 1); /* 127 bytes */
    strcpy(f.action, "envelope-dropped");
    strcpy(f.basis, "consent");
    f.decision = ZN_AUDIT_ALLOWED;
    f.subject_len = ZN_SUBJECT_MAX;
    memset(f.subject, 0x01, ZN_SUBJECT_MAX);
    s_roundtrip(&f);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_body_audit_read(&b, &f), 0);
    assert_int_equal((uint8_t)b.data[0], 0x8e); /* 14 keys */
    msgpack_sbuffer_destroy(&b);

    /* the smallest values */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_HEADS;
    f.limit = 1;
    f.subject_len = 1;
    strcpy(f.handler, "\xc3\xab"); /* one character, two bytes */
    f.decision = ZN_AUDIT_REFUSED;
    strcpy(f.partner, "0");
    s_roundtrip(&f);
}

/* The encoder refuses a filter that breaks a rule and appends nothing. */
static void test_audit_read_encode_refused(void **state)
{
    (void)state;
    for (int k = 0; k < 11; k++) {
        zn_audit_filter f;
        memset(&f, 0, sizeof f);
        f.what = ZN_READ_ENTRIES;
        switch (k) {
        case 0: f.what = (zn_read_what)0; break;
        case 1: f.what = (zn_read_what)(ZN_READ_HEAD + 1); break;
        case 2: f.limit = ZN_READ_LIMIT + 1; break;
        case 3: f.subject_len = ZN_SUBJECT_MAX + 1; break;
        case 4: f.decision = 3; break;
        case 5: f.decision = -1; break;
        case 6: strcpy(f.partner, "Wijkracht"); break;
        case 7: strcpy(f.action, "send message"); break;
        case 8: strcpy(f.basis, "-consent"); break;
        case 9: strcpy(f.handler, "J. de Vries\n"); break;
        case 10: strcpy(f.handler, "\xc3"); break; /* truncated UTF-8 */
        }
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        if (zn_body_audit_read(&b, &f) != -1)
            fail_msg("filter %d encoded", k);
        assert_int_equal(b.size, 0);
        msgpack_sbuffer_destroy(&b);
    }
}

/* One key and value of a hand-made body. */
typedef enum { V_END, V_U64, V_NEG, V_STR, V_BIN, V_TRUE, V_NIL, V_ARR } s_vt;
typedef struct {
    const char *key;
    s_vt t;
    uint64_t u;     /* V_U64 */
    const char *s;  /* V_STR; V_BIN: the bytes (NULL: zeros) */
    size_t n;       /* V_BIN length */
} s_kv;

#define S_WHAT {"what", V_STR, 0, "entries", 0}

static void s_pack_kv(msgpack_packer *pk, const s_kv *kv)
{
    static const uint8_t zeros[ZN_SUBJECT_MAX + 2];
    zn_pack_str(pk, kv->key);
    switch (kv->t) {
    case V_U64: msgpack_pack_uint64(pk, kv->u); break;
    case V_NEG: msgpack_pack_int64(pk, -1); break;
    case V_STR: zn_pack_str(pk, kv->s); break;
    case V_BIN: zn_pack_bin(pk, kv->s ? (const void *)kv->s : zeros, kv->n); break;
    case V_TRUE: msgpack_pack_true(pk); break;
    case V_NIL: msgpack_pack_nil(pk); break;
    case V_ARR: msgpack_pack_array(pk, 0); break;
    case V_END: break;
    }
}

static void test_audit_read_refused(void **state)
{
    (void)state;
    char h127[ZN_HANDLER_MAX], h128[ZN_HANDLER_MAX + 1], id64[ZN_IDENT_MAX + 1];
    memset(h127, 'x', sizeof h127 - 1);
    h127[sizeof h127 - 1] = '\0';
    memset(h128, 'x', sizeof h128 - 1);
    h128[sizeof h128 - 1] = '\0';
    memset(id64, 'a', sizeof id64 - 1);
    id64[sizeof id64 - 1] = '\0';

    const struct {
        s_kv kv[3];
        const char *want; /* NULL: accepted */
    } cases[] = {
        /* accepted at the bounds */
        {{S_WHAT, {"limit", V_U64, 1, NULL, 0}}, NULL},
        {{S_WHAT, {"limit", V_U64, ZN_READ_LIMIT, NULL, 0}}, NULL},
        {{S_WHAT, {"handler", V_STR, 0, h127, 0}}, NULL},
        {{S_WHAT, {"subject", V_BIN, 0, NULL, ZN_SUBJECT_MAX}}, NULL},
        {{S_WHAT, {"from", V_U64, 0, NULL, 0}, {"until", V_U64, 0, NULL, 0}}, NULL},
        {{{"what", V_STR, 0, "head", 0}, {"leaves", V_TRUE, 0, NULL, 0}}, NULL},
        {{{"decision", V_STR, 0, "refused", 0}, {"what", V_STR, 0, "convenants", 0}}, NULL}, /* any order */
        /* what */
        {{{"from", V_U64, 1, NULL, 0}}, "key 'what' is missing"},
        {{{"what", V_STR, 0, "everything", 0}}, "'what' is none of entries, heads, convenants, head"},
        {{{"what", V_STR, 0, "Entries", 0}}, "'what' is none of"},
        {{{"what", V_U64, 1, NULL, 0}}, "'what' is none of"},
        {{{"what", V_BIN, 0, "entries", 7}}, "'what' is none of"},
        {{{"what", V_NIL, 0, NULL, 0}}, "'what' is none of"},
        /* keys */
        {{S_WHAT, {"foo", V_U64, 1, NULL, 0}}, "unknown key 'foo'"},
        {{S_WHAT, {"index", V_U64, 1, NULL, 0}}, "unknown key 'index'"},
        {{S_WHAT, {"Case", V_BIN, 0, NULL, 16}}, "a key is not an identifier"},
        {{S_WHAT, S_WHAT}, "key 'what' appears twice"},
        {{S_WHAT, {"limit", V_U64, 5, NULL, 0}, {"limit", V_U64, 5, NULL, 0}}, "key 'limit' appears twice"},
        {{S_WHAT, {"case", V_BIN, 0, NULL, 16}, {"case", V_BIN, 0, NULL, 16}}, "key 'case' appears twice"},
        /* integers */
        {{S_WHAT, {"from", V_NEG, 0, NULL, 0}}, "'from' is not an unsigned integer"},
        {{S_WHAT, {"from", V_STR, 0, "1", 0}}, "'from' is not an unsigned integer"},
        {{S_WHAT, {"upto", V_TRUE, 0, NULL, 0}}, "'upto' is not an unsigned integer"},
        {{S_WHAT, {"upto", V_NIL, 0, NULL, 0}}, "'upto' is not an unsigned integer"},
        {{S_WHAT, {"since", V_NEG, 0, NULL, 0}}, "'since' is not a time in ms"},
        {{S_WHAT, {"until", V_STR, 0, "2026", 0}}, "'until' is not a time in ms"},
        {{S_WHAT, {"limit", V_U64, 0, NULL, 0}}, "'limit' is not 1 to 4096"},
        {{S_WHAT, {"limit", V_U64, ZN_READ_LIMIT + 1, NULL, 0}}, "'limit' is not 1 to 4096"},
        {{S_WHAT, {"limit", V_U64, UINT64_MAX, NULL, 0}}, "'limit' is not 1 to 4096"},
        {{S_WHAT, {"limit", V_NEG, 0, NULL, 0}}, "'limit' is not 1 to 4096"},
        {{S_WHAT, {"limit", V_STR, 0, "10", 0}}, "'limit' is not 1 to 4096"},
        /* leaves, case */
        {{S_WHAT, {"leaves", V_U64, 1, NULL, 0}}, "'leaves' is not a boolean"},
        {{S_WHAT, {"leaves", V_NIL, 0, NULL, 0}}, "'leaves' is not a boolean"},
        {{S_WHAT, {"case", V_BIN, 0, NULL, 15}}, "'case' is not a 16-byte bin"},
        {{S_WHAT, {"case", V_BIN, 0, NULL, 17}}, "'case' is not a 16-byte bin"},
        {{S_WHAT, {"case", V_STR, 0, "0123456789abcdef", 0}}, "'case' is not a 16-byte bin"},
        /* identifiers */
        {{S_WHAT, {"partner", V_STR, 0, "Wijk kracht", 0}}, "'partner' is not an identifier"},
        {{S_WHAT, {"partner", V_STR, 0, id64, 0}}, "'partner' is not an identifier"},
        {{S_WHAT, {"partner", V_STR, 0, "", 0}}, "'partner' is not an identifier"},
        {{S_WHAT, {"action", V_U64, 3, NULL, 0}}, "'action' is not an identifier"},
        {{S_WHAT, {"action", V_STR, 0, "-send", 0}}, "'action' is not an identifier"},
        {{S_WHAT, {"basis", V_BIN, 0, "consent", 7}}, "'basis' is not an identifier"},
        /* handler */
        {{S_WHAT, {"handler", V_STR, 0, "", 0}}, "'handler' is not text"},
        {{S_WHAT, {"handler", V_STR, 0, h128, 0}}, "'handler' is not text"},
        {{S_WHAT, {"handler", V_STR, 0, "J. de\tVries", 0}}, "'handler' is not text"},
        {{S_WHAT, {"handler", V_STR, 0, "\xc2\x85", 0}}, "'handler' is not text"}, /* U+0085, C1 */
        {{S_WHAT, {"handler", V_BIN, 0, "J. de Vries", 11}}, "'handler' is not text"},
        /* decision */
        {{S_WHAT, {"decision", V_STR, 0, "maybe", 0}}, "'decision' is neither allowed nor refused"},
        {{S_WHAT, {"decision", V_STR, 0, "Allowed", 0}}, "'decision' is neither allowed nor refused"},
        {{S_WHAT, {"decision", V_STR, 0, "allowed ", 0}}, "'decision' is neither allowed nor refused"},
        {{S_WHAT, {"decision", V_U64, 1, NULL, 0}}, "'decision' is neither allowed nor refused"},
        {{S_WHAT, {"decision", V_TRUE, 0, NULL, 0}}, "'decision' is neither allowed nor refused"},
        /* subject */
        {{S_WHAT, {"subject", V_BIN, 0, NULL, 0}}, "'subject' is not a bin of 1 to 64 bytes"},
        {{S_WHAT, {"subject", V_BIN, 0, NULL, ZN_SUBJECT_MAX + 1}}, "'subject' is not a bin of 1 to 64 bytes"},
        {{S_WHAT, {"subject", V_STR, 0, "999990007", 0}}, "'subject' is not a bin of 1 to 64 bytes"},
        {{S_WHAT, {"subject", V_ARR, 0, NULL, 0}}, "'subject' is not a bin of 1 to 64 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        zn_audit_filter f;
        size_t n = 0;
        while (n < 3 && cases[i].kv[n].key)
            n++;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, n);
        for (size_t k = 0; k < n; k++)
            s_pack_kv(&pk, &cases[i].kv[k]);
        s_doc(&d, &b);
        zn_err_clear(&e);
        int rc = zn_body_audit_read_parse(&d.root, &f, &e);
        if (!cases[i].want) {
            if (rc != 0)
                fail_msg("case %zu refused: %s", i, e.text);
            assert_true(f.what >= ZN_READ_ENTRIES && f.what <= ZN_READ_HEAD);
            assert_true(f.limit >= 1 && f.limit <= ZN_READ_LIMIT);
        } else {
            if (rc != -1)
                fail_msg("case %zu accepted", i);
            s_refused(&e, cases[i].want);
            if (strncmp(e.text, "audit-read: ", 12) != 0)
                fail_msg("case %zu: '%s' does not start with the request kind", i, e.text);
        }
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }

    /* shapes the table cannot make: not a map, more than 16 keys, a key that is no string */
    const struct {
        const char *p;
        size_t n;
        const char *want;
    } raw[] = {
        {"\x91\xa4what", 6, "body is not a map of at most 16 keys"},
        {"\xc0", 1, "body is not a map"},
        {"\xa7" "entries", 8, "body is not a map"},
        {"\x80", 1, "key 'what' is missing"},
        {"\x82\xa4what\xa7" "entries\x01\x01", 16, "a key is not an identifier"},
        {"\x82\xa4what\xa7" "entries\xc4\x04what\x01", 21, "a key is not an identifier"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
        zn_doc d;
        zn_err e;
        zn_audit_filter f;
        if (zn_doc_parse(&d, (const uint8_t *)raw[i].p, raw[i].n, ZN_WIRE_MAX_DEPTH, 100) != 0)
            fail_msg("raw case %zu is not msgpack", i);
        zn_err_clear(&e);
        assert_int_equal(zn_body_audit_read_parse(&d.root, &f, &e), -1);
        s_refused(&e, raw[i].want);
        zn_doc_free(&d);
    }
    for (uint32_t keys = 16; keys <= 17; keys++) {
        /* "what" and then distinct unknown keys: 16 reach the unknown key, 17 are refused first */
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        zn_audit_filter f;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, keys);
        zn_pack_str(&pk, "what");
        zn_pack_str(&pk, "entries");
        for (uint32_t k = 1; k < keys; k++) {
            char key[8];
            snprintf(key, sizeof key, "k%u", k);
            zn_pack_str(&pk, key);
            msgpack_pack_nil(&pk);
        }
        s_doc(&d, &b);
        zn_err_clear(&e);
        assert_int_equal(zn_body_audit_read_parse(&d.root, &f, &e), -1);
        s_refused(&e, keys == 16 ? "unknown key 'k1'" : "at most 16 keys");
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

/* ------------------------------------------------------------ audit-read result */

static void test_audit_read_result(void **state)
{
    (void)state;
    const uint8_t rec[3][5] = {{1}, {2, 2}, {3, 3, 3, 3, 3}};
    const size_t len[3] = {1, 2, 5};
    for (uint32_t n = 0; n <= 3; n++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        uint64_t size = 0, next = 0;
        const msgpack_object *records = NULL;
        uint32_t got = 99;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_result_audit_read_begin(&pk, 1000 + n, n == 0 ? 1000 : 10 + n, n);
        for (uint32_t i = 0; i < n; i++)
            zn_pack_bin(&pk, rec[i], len[i]);
        s_doc(&d, &b);
        zn_err_clear(&e);
        assert_int_equal(zn_result_audit_read_parse(&d.root, &size, &next, &records, &got, &e), 0);
        assert_true(size == 1000 + n);
        assert_true(next == (n == 0 ? 1000 : 10 + n));
        assert_int_equal(got, n);
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(records[i].type, MSGPACK_OBJECT_BIN);
            assert_int_equal(records[i].via.bin.size, len[i]);
            assert_memory_equal(records[i].via.bin.ptr, rec[i], len[i]);
        }
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    /* big numbers, and the empty last page */
    {
        msgpack_sbuffer b;
        msgpack_packer pk;
        zn_doc d;
        zn_err e;
        uint64_t size = 0, next = 0;
        const msgpack_object *records = NULL;
        uint32_t got = 99;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        zn_result_audit_read_begin(&pk, ZN_MERKLE_MAX_SIZE, UINT64_MAX, 0);
        s_doc(&d, &b);
        assert_int_equal(zn_result_audit_read_parse(&d.root, &size, &next, &records, &got, &e), 0);
        assert_true(size == ZN_MERKLE_MAX_SIZE && next == UINT64_MAX && got == 0);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    const struct {
        const char *p;
        size_t n;
        const char *want;
    } bad[] = {
        {"\x92\x01\x01", 3, "result is not [size, next, records]"},
        {"\x94\x01\x01\x90\xc0", 5, "result is not [size, next, records]"},
        {"\x93\xff\x01\x90", 4, "result is not [size, next, records]"},
        {"\x93\x01\xa1" "1\x90", 5, "result is not [size, next, records]"},
        {"\x93\x01\x01\x80", 4, "result is not [size, next, records]"},
        {"\x93\x01\x01\xc4\x01\x01", 6, "result is not [size, next, records]"},
        {"\x83\x01\x01\x02\x02\x03\x90", 7, "result is not [size, next, records]"},
        {"\x93\x01\x01\x92\xc4\x01\x01\xc0", 8, "record 1 is not a bin"},
        {"\x93\x01\x01\x91\xc4\x00", 6, "record 0 is not a bin"},
        {"\x93\x01\x01\x91\xa1x", 6, "record 0 is not a bin"},
        {"\x93\x01\x01\x91\x91\xc4\x01\x01", 8, "record 0 is not a bin"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        zn_doc d;
        zn_err e;
        uint64_t size, next;
        const msgpack_object *records;
        uint32_t got;
        if (zn_doc_parse(&d, (const uint8_t *)bad[i].p, bad[i].n, ZN_WIRE_MAX_DEPTH, 100) != 0)
            fail_msg("case %zu is not msgpack", i);
        zn_err_clear(&e);
        assert_int_equal(zn_result_audit_read_parse(&d.root, &size, &next, &records, &got, &e), -1);
        s_refused(&e, bad[i].want);
        assert_non_null(strstr(e.text, "audit-read: "));
        zn_doc_free(&d);
    }
}

/* ------------------------------------------------------------ filter over entries */

static const uint8_t s_case[ZN_ID_LEN] = S_C22;
static const uint8_t s_msgid[ZN_ID_LEN] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                           0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
/* a pseudonym: epoch byte, then 32 bytes */
static const uint8_t s_psn[33] = {0x01, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
                                  0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4,
                                  0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* The full entry: a refused send with every field, details {"msgid": bin16, "subject": psn}. */
static void s_full_entry(zn_audit_entry *en, zn_audit_detail det[2])
{
    memset(det, 0, 2 * sizeof *det);
    det[0].key = "msgid";
    det[0].type = ZN_AUDIT_BIN;
    det[0].p = s_msgid;
    det[0].len = sizeof s_msgid;
    det[1].key = "subject";
    det[1].type = ZN_AUDIT_BIN;
    det[1].p = s_psn;
    det[1].len = sizeof s_psn;
    memset(en, 0, sizeof *en);
    en->index = 5;
    en->time_ms = S_T;
    en->actor = "basisschool-de-linde";
    en->handler = "J. de Vries (IB)";
    en->action = "send";
    en->case_id = s_case;
    en->counterpart = "wijkracht";
    en->decision = ZN_AUDIT_REFUSED;
    en->reason = "quota-exceeded";
    en->basis = "consent";
    en->details = det;
    en->n_details = 2;
}

/* The broker's own entry: only time, action and decision. */
static void s_bare_entry(zn_audit_entry *en)
{
    memset(en, 0, sizeof *en);
    en->time_ms = S_T_BARE;
    en->action = "convenant-load";
    en->decision = ZN_AUDIT_ALLOWED;
}

/* The decoded form of en (encoded canonically, then decoded), so the filter also sees entries
 * as the broker reads them back from its store. */
static void s_decoded(const zn_audit_entry *en, msgpack_sbuffer *b, zn_doc *doc, zn_audit_entry *out,
                      zn_audit_detail det[ZN_AUDIT_DETAILS_MAX])
{
    zn_err e;
    msgpack_sbuffer_init(b);
    if (zn_audit_entry_encode(b, en, &e) != 0)
        fail_msg("entry not encoded: %s", e.text);
    if (zn_audit_entry_decode((const uint8_t *)b->data, b->size, doc, out, det, &e) != 0)
        fail_msg("entry not decoded: %s", e.text);
}

static void test_filter_match(void **state)
{
    (void)state;
    zn_audit_entry full, bare, full_d, bare_d;
    zn_audit_detail det[2], det_f[ZN_AUDIT_DETAILS_MAX], det_b[ZN_AUDIT_DETAILS_MAX];
    msgpack_sbuffer bf, bb;
    zn_doc df, db;
    s_full_entry(&full, det);
    s_bare_entry(&bare);
    s_decoded(&full, &bf, &df, &full_d, det_f);
    s_decoded(&bare, &bb, &db, &bare_d, det_b);

    const struct {
        zn_audit_filter f;
        bool full, bare;
    } cases[] = {
        {{.what = ZN_READ_ENTRIES}, true, true},
        /* time: [since, until), until 0 is open */
        {{.since_ms = S_T}, true, false},
        {{.since_ms = S_T + 1}, false, false},
        {{.since_ms = S_T_BARE}, true, true},
        {{.until_ms = S_T}, false, true},
        {{.until_ms = S_T + 1}, true, true},
        {{.until_ms = S_T_BARE}, false, false},
        {{.until_ms = S_T_BARE + 1}, false, true},
        {{.since_ms = S_T, .until_ms = S_T}, false, false},
        {{.since_ms = S_T, .until_ms = S_T + 1}, true, false},
        {{.since_ms = S_T_BARE, .until_ms = S_T}, false, true},
        {{.since_ms = S_T + 1, .until_ms = S_T}, false, false},
        {{.since_ms = 0, .until_ms = UINT64_MAX}, true, true},
        /* case */
        {{.has_case = true, .case_id = S_C22}, true, false},
        {{.has_case = true, .case_id = {0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                                        0x22, 0x22, 0x22, 0x23}},
         false, false},
        {{.has_case = true}, false, false}, /* the all-zero case id */
        /* partner: actor or counterpart */
        {{.partner = "basisschool-de-linde"}, true, false},
        {{.partner = "wijkracht"}, true, false},
        {{.partner = "ggd-twente"}, false, false},
        {{.partner = "wijk"}, false, false},
        /* handler, action, basis: exact */
        {{.handler = "J. de Vries (IB)"}, true, false},
        {{.handler = "J. de Vries"}, false, false},
        {{.handler = "j. de vries (ib)"}, false, false},
        {{.action = "send"}, true, false},
        {{.action = "convenant-load"}, false, true},
        {{.action = "sen"}, false, false},
        {{.basis = "consent"}, true, false},
        {{.basis = "vital-interest"}, false, false},
        /* decision */
        {{.decision = ZN_AUDIT_REFUSED}, true, false},
        {{.decision = ZN_AUDIT_ALLOWED}, false, true},
        /* subject: a bin detail under "subject", equal in length and bytes */
        {{.subject_len = sizeof s_psn, .subject = {0x01, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
                                                   0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4,
                                                   0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf}},
         true, false},
        {{.subject_len = 32, .subject = {0x01, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
                                         0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4,
                                         0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe}},
         false, false}, /* a prefix */
        {{.subject_len = sizeof s_psn, .subject = {0x02, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
                                                   0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4,
                                                   0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf}},
         false, false}, /* another epoch */
        {{.subject_len = ZN_ID_LEN, .subject = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                                0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11}},
         false, false}, /* the bytes of another detail (msgid) */
        /* every condition at once; then each one of them off by one thing */
        {{.since_ms = S_T, .until_ms = S_T + 1, .has_case = true, .case_id = S_C22, .partner = "wijkracht",
          .handler = "J. de Vries (IB)", .action = "send", .basis = "consent", .decision = ZN_AUDIT_REFUSED},
         true, false},
        {{.since_ms = S_T, .until_ms = S_T + 1, .has_case = true, .case_id = S_C22, .partner = "wijkracht",
          .handler = "J. de Vries (IB)", .action = "send", .basis = "consent", .decision = ZN_AUDIT_ALLOWED},
         false, false},
        {{.since_ms = S_T, .until_ms = S_T + 1, .has_case = true, .case_id = S_C22, .partner = "ggd-twente",
          .handler = "J. de Vries (IB)", .action = "send", .basis = "consent", .decision = ZN_AUDIT_REFUSED},
         false, false},
        {{.since_ms = S_T, .until_ms = S_T, .has_case = true, .case_id = S_C22, .partner = "wijkracht",
          .handler = "J. de Vries (IB)", .action = "send", .basis = "consent", .decision = ZN_AUDIT_REFUSED},
         false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const zn_audit_filter *f = &cases[i].f;
        if (zn_audit_filter_match(f, &full) != cases[i].full || zn_audit_filter_match(f, &full_d) != cases[i].full)
            fail_msg("case %zu: the full entry should %smatch", i, cases[i].full ? "" : "not ");
        if (zn_audit_filter_match(f, &bare) != cases[i].bare || zn_audit_filter_match(f, &bare_d) != cases[i].bare)
            fail_msg("case %zu: the broker's entry should %smatch", i, cases[i].bare ? "" : "not ");
    }
    zn_doc_free(&df);
    zn_doc_free(&db);
    msgpack_sbuffer_destroy(&bf);
    msgpack_sbuffer_destroy(&bb);

    /* partner as counterpart only; the subject only under its own key and only as a bin */
    zn_audit_filter f;
    zn_audit_entry en;
    s_full_entry(&en, det);
    en.actor = NULL;
    memset(&f, 0, sizeof f);
    strcpy(f.partner, "wijkracht");
    assert_true(zn_audit_filter_match(&f, &en));
    strcpy(f.partner, "basisschool-de-linde");
    assert_false(zn_audit_filter_match(&f, &en));
    en.actor = "wijkracht";
    en.counterpart = NULL;
    strcpy(f.partner, "wijkracht");
    assert_true(zn_audit_filter_match(&f, &en));

    memset(&f, 0, sizeof f);
    f.subject_len = sizeof s_psn;
    memcpy(f.subject, s_psn, sizeof s_psn);
    s_full_entry(&en, det);
    assert_true(zn_audit_filter_match(&f, &en));
    det[1].key = "parent"; /* the same bytes under another key */
    assert_false(zn_audit_filter_match(&f, &en));
    det[1].key = "subject";
    det[1].type = ZN_AUDIT_STR; /* the same bytes as text */
    assert_false(zn_audit_filter_match(&f, &en));
    det[1].type = ZN_AUDIT_BIN;
    en.n_details = 1; /* no subject detail at all */
    assert_false(zn_audit_filter_match(&f, &en));
    en.details = NULL;
    en.n_details = 0;
    assert_false(zn_audit_filter_match(&f, &en));

    /* related persons: pseudonyms end to end under "related", matched only on whole ones */
    {
        uint8_t rel[3 * sizeof s_psn];
        memset(rel, 0x55, sizeof rel);
        memcpy(rel + 2 * sizeof s_psn, s_psn, sizeof s_psn);
        zn_audit_detail rd[] = {{.key = "related", .type = ZN_AUDIT_BIN, .p = rel, .len = sizeof rel}};
        s_full_entry(&en, det);
        en.details = rd;
        en.n_details = 1;
        assert_true(zn_audit_filter_match(&f, &en));
        memcpy(rel + 2 * sizeof s_psn, rel, sizeof s_psn); /* no longer listed */
        memcpy(rel + 1, s_psn, sizeof s_psn);              /* present, but not at a boundary */
        assert_false(zn_audit_filter_match(&f, &en));
        rd[0].len = sizeof rel - 1; /* not a whole number of pseudonyms */
        assert_false(zn_audit_filter_match(&f, &en));
        memcpy(rel, s_psn, sizeof s_psn);
        rd[0].key = "subject"; /* under "subject" only the exact length counts */
        rd[0].len = sizeof rel;
        assert_false(zn_audit_filter_match(&f, &en));
    }

    /* a filter read from a body selects like the one it was written from */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    f.since_ms = S_T;
    f.has_case = true;
    memcpy(f.case_id, s_case, ZN_ID_LEN);
    strcpy(f.action, "send");
    f.decision = ZN_AUDIT_REFUSED;
    f.subject_len = sizeof s_psn;
    memcpy(f.subject, s_psn, sizeof s_psn);
    {
        msgpack_sbuffer b;
        zn_doc d;
        zn_err e;
        zn_audit_filter g;
        msgpack_sbuffer_init(&b);
        assert_int_equal(zn_body_audit_read(&b, &f), 0);
        s_doc(&d, &b);
        assert_int_equal(zn_body_audit_read_parse(&d.root, &g, &e), 0);
        s_full_entry(&en, det);
        assert_true(zn_audit_filter_match(&g, &en));
        en.time_ms = S_T - 1;
        assert_false(zn_audit_filter_match(&g, &en));
        s_bare_entry(&en);
        assert_false(zn_audit_filter_match(&g, &en));
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_receipt_body),
        cmocka_unit_test(test_receipt_result),
        cmocka_unit_test(test_audit_read_roundtrip),
        cmocka_unit_test(test_audit_read_encode_refused),
        cmocka_unit_test(test_audit_read_refused),
        cmocka_unit_test(test_audit_read_result),
        cmocka_unit_test(test_filter_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
