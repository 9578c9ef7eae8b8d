/* Unit tests for frames and notices: roundtrips of every frame type, every field refused when
 * it has the wrong type, length or range, missing and extra fields, truncation at every length,
 * trailing bytes, size limit, unknown type, bad version; the HELLO / WELCOME / ACCEPTED / ERROR /
 * ACK vectors printed in docs/PROTOCOL.md; and the fuzz corpus (tests/fuzz/corpus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vectors.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zn_case.h"
#include "zn_frame.h"

#ifndef ZN_SOURCE_DIR
#define ZN_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------ shared material */

static zn_seckeys s_sender, s_recipient;
static uint8_t *s_env;      /* a sealed envelope */
static size_t s_env_len;
static uint8_t *s_req;      /* a signed case-new request */
static size_t s_req_len;
static uint8_t s_req_sig[ZN_SIG_LEN];
static msgpack_sbuffer s_notice; /* an envelope-dropped notice */
static uint8_t s_id_a[ZN_ID_LEN], s_id_b[ZN_ID_LEN];

static void s_keys(zn_seckeys *k, uint8_t sign_seed, uint8_t box_seed)
{
    uint8_t seed[32];
    memset(k, 0, sizeof *k);
    k->pub.kind = ZN_KIND_PARTNER;
    memset(seed, sign_seed, sizeof seed);
    if (crypto_sign_seed_keypair(k->pub.sign, k->sign, seed) != 0)
        abort();
    memset(seed, box_seed, sizeof seed);
    if (crypto_box_seed_keypair(k->pub.box, k->box, seed) != 0)
        abort();
}

static int s_setup(void **state)
{
    (void)state;
    zn_err e;
    zn_header h;
    memset(&h, 0, sizeof h);
    memset(h.msgid, 0x11, ZN_ID_LEN);
    memset(h.case_id, 0x22, ZN_ID_LEN);
    strcpy(h.sender, "basisschool-de-linde");
    strcpy(h.handler, "J. de Vries (IB)");
    strcpy(h.recipient, "wijkracht");
    h.time_ms = 1767225600000ull;
    h.convenant_version = 3;
    s_keys(&s_sender, 0x01, 0x02);
    s_keys(&s_recipient, 0x09, 0x03);
    if (zn_envelope_seal(&h, (const uint8_t *)"hallo", 5, s_recipient.pub.box, &s_sender, &s_env, &s_env_len,
                         &e) != 0)
        return -1;

    msgpack_sbuffer body;
    zn_case_new_body cn;
    memset(&cn, 0, sizeof cn);
    memcpy(cn.id, h.case_id, ZN_ID_LEN);
    strcpy(cn.network, "0-12-binnenstad");
    msgpack_sbuffer_init(&body);
    if (zn_body_case_new_enc(&body, &cn) != 0 ||
        zn_request_build("case-new", "basisschool-de-linde", "J. de Vries (IB)", 1767225600000ull, 3,
                         (const uint8_t *)body.data, body.size, &s_sender, &s_req, &s_req_len, s_req_sig,
                         &e) != 0)
        return -1;
    msgpack_sbuffer_destroy(&body);

    memset(s_id_a, 0x11, ZN_ID_LEN);
    memset(s_id_b, 0x33, ZN_ID_LEN);
    msgpack_sbuffer_init(&s_notice);
    zn_notice_dropped(&s_notice, 1767225600000ull, h.msgid, h.case_id, "wijkracht", ZN_E_NOT_IN_CONVENANT);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    free(s_env);
    free(s_req);
    msgpack_sbuffer_destroy(&s_notice);
    return 0;
}


static void s_check_vector(const char *name, const char *expected, const uint8_t *p, size_t n)
{
    zn_test_check_vector("PROTOCOL.md", name, expected, p, n);
}

/* Parse b; expect success. The frame stays live: the caller frees it. */
static void s_parse_ok(const msgpack_sbuffer *b, zn_frame *f)
{
    zn_err e;
    zn_err_clear(&e);
    if (zn_frame_parse((const uint8_t *)b->data, b->size, f, &e) != 0)
        fail_msg("frame refused: %s: %s", zn_code_name(e.code), e.text);
}

static zn_code s_parse_fail(const uint8_t *p, size_t n, zn_frame *f, zn_err *e)
{
    zn_err_clear(e);
    assert_int_equal(zn_frame_parse(p, n, f, e), -1);
    assert_false(f->doc.live);
    assert_true(e->text[0] != '\0');
    return e->code;
}

/* ------------------------------------------------------------ vectors */

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

/* The two-entry log of docs/AUDIT.md section 7: its leaves (from the commitments printed there)
 * and its tree head of size 2, signed here with the broker key (seed 32 x 0x05); the head and
 * its signature must be the bytes printed there. */
typedef struct {
    zn_seckeys broker;
    uint8_t leaf0[ZN_MERKLE_HASH_LEN], leaf1[ZN_MERKLE_HASH_LEN];
    zn_tree_head th;
    msgpack_sbuffer head;
    uint8_t sig[ZN_SIG_LEN];
} s_log;

static void s_log_init(s_log *l)
{
    uint8_t c[ZN_HASH_LEN], seed[32], want[ZN_TREE_HEAD_MAX];
    zn_err e;
    memset(l, 0, sizeof *l);
    l->broker.pub.kind = ZN_KIND_BROKER;
    memset(seed, 0x05, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(l->broker.pub.sign, l->broker.sign, seed), 0);
    s_doc_bytes("AUDIT.md", "audit-commitment-0", c, sizeof c);
    zn_merkle_leaf_hash(l->leaf0, c, sizeof c);
    s_doc_bytes("AUDIT.md", "audit-commitment-1", c, sizeof c);
    zn_merkle_leaf_hash(l->leaf1, c, sizeof c);
    l->th.size = 2;
    zn_merkle_node_hash(l->th.root, l->leaf0, l->leaf1);
    l->th.time_ms = 1767225601000ull;
    msgpack_sbuffer_init(&l->head);
    assert_int_equal(zn_tree_head_sign(&l->head, l->sig, &l->th, &l->broker, &e), 0);
    assert_true(l->head.size <= sizeof want);
    s_doc_bytes("AUDIT.md", "tree-head", want, l->head.size);
    assert_memory_equal(l->head.data, want, l->head.size);
    s_doc_bytes("AUDIT.md", "tree-head-signature", want, ZN_SIG_LEN);
    assert_memory_equal(l->sig, want, ZN_SIG_LEN);
}

static void s_log_free(s_log *l)
{
    msgpack_sbuffer_destroy(&l->head);
    sodium_memzero(&l->broker, sizeof l->broker);
}

static const char VEC_HELLO[] =
    "96010101034000";
static const char VEC_ERROR[] =
    "95010907ae71756f74612d6578636565646564d92f5468652072656369706965"
    "6e7427732071756575652069732066756c6c3b2074727920616761696e206c61"
    "7465722e";
static const char VEC_WELCOME[] =
    "9901020103b462617369737363686f6f6c2d64652d6c696e6465cf0000019b76"
    "daafd0c42e940102c4203c035ab2f507b22fffda7036e864e0e09bf015567854"
    "0677248eeba29342dbb5cf0000019b76daabe8c4402e406e59f3d1549e0d34bc"
    "598a31302a94ffd3242950241c980699b50af283d0391ee2f24159e04f79b9ad"
    "5987ebdb6b4178ce31e693f71ef928dc790a068b0191c420c3d20d877c0e913b"
    "9742c8e7deaa0cbc34cefbb83bdc6997af9f19c6a7a171da";
static const char VEC_ACCEPTED[] =
    "96010402c41011111111111111111111111111111111c2cd012c";
static const char VEC_ACK[] =
    "940106cd012c92c41011111111111111111111111111111111c4100001020304"
    "05060708090a0b0c0d0e0f";

static void test_vectors(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_frame f;

    msgpack_sbuffer_init(&b);
    zn_frame_hello(&b, 1, 3, 64, 0);
    s_check_vector("hello", VEC_HELLO, (const uint8_t *)b.data, b.size);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_HELLO);
    assert_true(f.u.hello.known_size == 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    /* WELCOME, corr 1, answering a HELLO with known_size 1: the broker's log holds the two
     * entries of docs/AUDIT.md; it sends their signed head (size 2) and the one-hash consistency
     * proof from size 1, which is leaf 1 */
    s_log log;
    s_log_init(&log);
    msgpack_sbuffer_init(&b);
    zn_frame_welcome(&b, 1, 3, "basisschool-de-linde", 1767225602000ull, (const uint8_t *)log.head.data,
                     log.head.size, log.sig, log.leaf1, 1);
    s_check_vector("welcome", VEC_WELCOME, (const uint8_t *)b.data, b.size);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_WELCOME);
    assert_string_equal(f.u.welcome.partner, "basisschool-de-linde");
    assert_int_equal(f.u.welcome.n_proof, 1);
    {
        /* what the client does: the head verifies with the broker's key, and the proof takes the
         * head it kept (size 1, root = leaf 0) to the new one; a different kept head fails */
        zn_tree_head th;
        zn_err e;
        uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * ZN_MERKLE_HASH_LEN];
        uint32_t np = 0;
        assert_int_equal(zn_tree_head_verify(f.u.welcome.head, f.u.welcome.head_len, f.u.welcome.head_sig,
                                             log.broker.pub.sign, &th, &e), 0);
        assert_true(th.size == 2 && th.time_ms == 1767225601000ull);
        assert_int_equal(zn_obj_hashes(f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, proof, &np), 0);
        assert_int_equal(np, 1);
        assert_int_equal(zn_merkle_verify_consistency(1, th.size, log.leaf0, th.root, proof, np), 0);
        assert_int_equal(zn_merkle_verify_consistency(1, th.size, log.leaf1, th.root, proof, np), -1);
        assert_int_equal(zn_merkle_verify_consistency(2, th.size, th.root, th.root, NULL, 0), 0);
    }
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
    s_log_free(&log);

    /* ACCEPTED, corr 2, msgid 16 x 0x11, not a duplicate, audit entry 300 */
    msgpack_sbuffer_init(&b);
    {
        uint8_t msgid[ZN_ID_LEN];
        memset(msgid, 0x11, sizeof msgid);
        zn_frame_accepted(&b, 2, msgid, false, 300);
    }
    s_check_vector("accepted", VEC_ACCEPTED, (const uint8_t *)b.data, b.size);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_ACCEPTED);
    assert_false(f.u.accepted.duplicate);
    assert_true(f.u.accepted.audit_index == 300);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_error(&b, 7, ZN_E_QUOTA, "The recipient's queue is full; try again later.");
    s_check_vector("error", VEC_ERROR, (const uint8_t *)b.data, b.size);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    const uint8_t ids[2][ZN_ID_LEN] = {
        {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11},
        {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}};
    zn_frame_ack(&b, 300, ids, 2);
    s_check_vector("ack", VEC_ACK, (const uint8_t *)b.data, b.size);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ roundtrips */

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_frame f;
    uint8_t id[ZN_ID_LEN];

    msgpack_sbuffer_init(&b);
    zn_frame_hello(&b, 42, 9, ZN_MAX_WINDOW, ZN_MERKLE_MAX_SIZE);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_HELLO);
    assert_int_equal(f.corr, 42);
    assert_true(f.u.hello.convenant_version == 9);
    assert_int_equal(f.u.hello.window, ZN_MAX_WINDOW);
    assert_true(f.u.hello.known_size == ZN_MERKLE_MAX_SIZE);
    zn_frame_free(&f);
    zn_frame_free(&f); /* safe twice */
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    uint8_t head[ZN_TREE_HEAD_MAX], sig[ZN_SIG_LEN], proof[3 * 32], got[3 * 32];
    uint32_t np = 0;
    memset(head, 0x94, sizeof head), memset(sig, 0x5a, sizeof sig);
    for (size_t k = 0; k < sizeof proof; k++)
        proof[k] = (uint8_t)k;
    zn_frame_welcome(&b, UINT32_MAX, UINT64_MAX, "wijkracht", 1767225600123ull, head, sizeof head, sig,
                     proof, 3);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_WELCOME);
    assert_true(f.corr == UINT32_MAX);
    assert_true(f.u.welcome.convenant_version == UINT64_MAX);
    assert_string_equal(f.u.welcome.partner, "wijkracht");
    assert_true(f.u.welcome.time_ms == 1767225600123ull);
    assert_int_equal(f.u.welcome.head_len, sizeof head);
    assert_memory_equal(f.u.welcome.head, head, sizeof head);
    assert_memory_equal(f.u.welcome.head_sig, sig, sizeof sig);
    assert_int_equal(zn_obj_hashes(f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, got, &np), 0);
    assert_int_equal(np, 3);
    assert_memory_equal(got, proof, sizeof proof);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_send(&b, 5, s_env, s_env_len);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_SEND);
    assert_string_equal(f.u.send.env.h.sender, "basisschool-de-linde");
    assert_string_equal(f.u.send.env.h.recipient, "wijkracht");
    assert_int_equal(zn_envelope_verify(&f.u.send.env, s_sender.pub.sign), 0);
    {
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        zn_err e;
        assert_int_equal(zn_envelope_open(&f.u.send.env, s_sender.pub.box, s_recipient.box, &plain, &plain_len, &e), 0);
        assert_int_equal(plain_len, 5);
        assert_memory_equal(plain, "hallo", 5);
        free(plain);
        /* re-packing the parsed envelope gives the bytes that were sent */
        msgpack_sbuffer rb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&rb);
        msgpack_packer_init(&pk, &rb, msgpack_sbuffer_write);
        zn_envelope_pack(&pk, &f.u.send.env);
        assert_int_equal(rb.size, s_env_len);
        assert_memory_equal(rb.data, s_env, s_env_len);
        msgpack_sbuffer_destroy(&rb);
    }
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_accepted(&b, 6, s_id_b, true, ZN_MERKLE_MAX_SIZE - 1);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_ACCEPTED);
    assert_memory_equal(f.u.accepted.msgid, s_id_b, ZN_ID_LEN);
    assert_true(f.u.accepted.duplicate);
    assert_true(f.u.accepted.audit_index == ZN_MERKLE_MAX_SIZE - 1);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_init(&b);
    zn_frame_accepted(&b, 6, s_id_b, false, 0);
    s_parse_ok(&b, &f);
    assert_false(f.u.accepted.duplicate);
    assert_true(f.u.accepted.audit_index == 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_deliver(&b, s_id_a, ZN_ITEM_ENVELOPE, s_env, s_env_len);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_DELIVER);
    assert_int_equal(f.corr, 0);
    assert_memory_equal(f.u.deliver.item_id, s_id_a, ZN_ID_LEN);
    assert_int_equal(f.u.deliver.kind, ZN_ITEM_ENVELOPE);
    assert_int_equal(zn_envelope_verify(&f.u.deliver.env, s_sender.pub.sign), 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_deliver(&b, s_id_b, ZN_ITEM_NOTICE, (const uint8_t *)s_notice.data, s_notice.size);
    s_parse_ok(&b, &f);
    assert_int_equal(f.u.deliver.kind, ZN_ITEM_NOTICE);
    assert_string_equal(f.u.deliver.notice.type, "envelope-dropped");
    assert_true(f.u.deliver.notice.time_ms == 1767225600000ull);
    {
        char s[ZN_IDENT_MAX];
        assert_int_equal(zn_obj_bin_fixed(zn_obj_map_get(f.u.deliver.notice.fields, "msgid"), id, ZN_ID_LEN), 0);
        assert_memory_equal(id, s_id_a, ZN_ID_LEN);
        assert_int_equal(zn_obj_bin_fixed(zn_obj_map_get(f.u.deliver.notice.fields, "case"), id, ZN_ID_LEN), 0);
        assert_int_equal(id[0], 0x22);
        assert_int_equal(zn_obj_ident(zn_obj_map_get(f.u.deliver.notice.fields, "recipient"), s, sizeof s), 0);
        assert_string_equal(s, "wijkracht");
        assert_int_equal(zn_obj_ident(zn_obj_map_get(f.u.deliver.notice.fields, "reason"), s, sizeof s), 0);
        assert_string_equal(s, "not-in-convenant");
    }
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    uint8_t ids[3][ZN_ID_LEN];
    for (int i = 0; i < 3; i++)
        memset(ids[i], 0xa0 + i, ZN_ID_LEN);
    zn_frame_ack(&b, 8, (const uint8_t(*)[ZN_ID_LEN])ids, 3);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_ACK);
    assert_int_equal(f.u.ack.n, 3);
    for (uint32_t i = 0; i < 3; i++) {
        zn_frame_ack_id(&f, i, id);
        assert_memory_equal(id, ids[i], ZN_ID_LEN);
    }
    zn_frame_ack_id(&f, 3, id); /* out of range: zeros */
    for (int i = 0; i < ZN_ID_LEN; i++)
        assert_int_equal(id[i], 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_request(&b, 9, s_req, s_req_len, s_req_sig);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_REQUEST);
    assert_int_equal(f.u.request.len, s_req_len);
    assert_memory_equal(f.u.request.req, s_req, s_req_len);
    assert_memory_equal(f.u.request.sig, s_req_sig, ZN_SIG_LEN);
    assert_int_equal(zn_request_verify(f.u.request.req, f.u.request.len, f.u.request.sig, s_sender.pub.sign), 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    {
        const uint8_t body[] = {0x91, 0xc4, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        zn_frame_result(&b, 10, "case-new", body, sizeof body);
        s_parse_ok(&b, &f);
        assert_int_equal(f.type, ZN_T_RESULT);
        assert_string_equal(f.u.result.kind, "case-new");
        assert_int_equal(zn_obj_bin_fixed(&zn_obj_array(f.u.result.body, 1)[0], id, ZN_ID_LEN), 0);
        assert_int_equal(id[15], 16);
        zn_frame_free(&f);
        msgpack_sbuffer_destroy(&b);
        /* a kind this side does not know keeps its body for the caller */
        msgpack_sbuffer_init(&b);
        const uint8_t other[] = {0x81, 0xa1, 'k', 0xc0};
        zn_frame_result(&b, 10, "consent-set", other, sizeof other);
        s_parse_ok(&b, &f);
        assert_string_equal(f.u.result.kind, "consent-set");
        assert_int_equal(f.u.result.body->type, MSGPACK_OBJECT_MAP);
        zn_frame_free(&f);
    }
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_error(&b, 11, ZN_E_CONVENANT_OLD, "Client 3, broker 4.");
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_ERROR);
    assert_int_equal(f.corr, 11);
    assert_int_equal(f.u.error.code, ZN_E_CONVENANT_OLD);
    assert_string_equal(f.u.error.name, "convenant-outdated");
    assert_string_equal(f.u.error.text, "Client 3, broker 4.");
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_bye(&b, ZN_E_SHUTDOWN, NULL);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_BYE);
    assert_int_equal(f.corr, 0);
    assert_int_equal(f.u.error.code, ZN_E_SHUTDOWN);
    assert_string_equal(f.u.error.text, zn_code_hint(ZN_E_SHUTDOWN));
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_convenant_get(&b, 12);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_CONVENANT_GET);
    assert_int_equal(f.corr, 12);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_convenant(&b, 13, (const uint8_t *)"\x94\x01\x02\x03\x04", 5);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_CONVENANT);
    assert_int_equal(f.u.convenant.len, 5);
    assert_memory_equal(f.u.convenant.raw, "\x94\x01\x02\x03\x04", 5);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    msgpack_sbuffer_init(&b);
    zn_frame_idle(&b);
    s_parse_ok(&b, &f);
    assert_int_equal(f.type, ZN_T_IDLE);
    assert_int_equal(f.corr, 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ every field refused */

enum { K_NONE, K_U64, K_WINDOW, K_SIZE, K_INDEX, K_IDENT, K_TEXT, K_BIN16, K_BIN64, K_BOOL, K_HEAD, K_PROOF,
       K_ENV, K_ITEMKIND, K_ITEM, K_IDS, K_REQ, K_KIND, K_BODY, K_CODE, K_CONV };
enum { M_NONE, M_NIL, M_TYPE, M_BAD, M_BAD2, M_BAD3, M__COUNT };

static const struct {
    uint32_t type;
    uint32_t n;
    int kinds[6];
    const char *names[6];
} s_specs[] = {
    {ZN_T_HELLO, 3, {K_U64, K_WINDOW, K_SIZE}, {"convenant_version", "window", "known_size"}},
    {ZN_T_WELCOME, 6, {K_U64, K_IDENT, K_U64, K_HEAD, K_BIN64, K_PROOF},
     {"convenant_version", "partner", "time", "tree_head", "tree_head_sig", "consistency"}},
    {ZN_T_SEND, 1, {K_ENV}, {"envelope"}},
    {ZN_T_ACCEPTED, 3, {K_BIN16, K_BOOL, K_INDEX}, {"msgid", "duplicate", "audit_index"}},
    {ZN_T_DELIVER, 3, {K_BIN16, K_ITEMKIND, K_ITEM}, {"item_id", "kind", "item"}},
    {ZN_T_ACK, 1, {K_IDS}, {"ids"}},
    {ZN_T_REQUEST, 2, {K_REQ, K_BIN64}, {"request", "signature"}},
    {ZN_T_RESULT, 2, {K_KIND, K_BODY}, {"kind", "case-new body"}},
    {ZN_T_ERROR, 2, {K_CODE, K_TEXT}, {"code", "text"}},
    {ZN_T_BYE, 2, {K_CODE, K_TEXT}, {"code", "text"}},
    {ZN_T_CONVENANT_GET, 0, {K_NONE}, {NULL}},
    {ZN_T_CONVENANT, 1, {K_CONV}, {"convenant"}},
    {ZN_T_IDLE, 0, {K_NONE}, {NULL}},
    {ZN_T_RELEASE, 1, {K_IDS}, {"ids"}},
};
#define S_NSPECS (sizeof s_specs / sizeof *s_specs)

static const char *s_type_name(uint32_t t)
{
    static const char *names[] = {"?", "HELLO", "WELCOME", "SEND", "ACCEPTED", "DELIVER", "ACK", "REQUEST",
                                  "RESULT", "ERROR", "BYE", "CONVENANT_GET", "CONVENANT", "IDLE",
                                  "RELEASE"};
    return t < sizeof names / sizeof *names ? names[t] : "?";
}

static void s_pack_notice(msgpack_packer *pk, const char *type, int keys, bool dup)
{
    uint8_t id[ZN_ID_LEN] = {0};
    msgpack_pack_array(pk, 3);
    zn_pack_str(pk, type);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_map(pk, (size_t)keys);
    const char *names[] = {"msgid", "case", "recipient", "reason"};
    for (int i = 0; i < keys; i++) {
        zn_pack_str(pk, dup && i == keys - 1 ? "msgid" : names[i]);
        if (i < 2 || (dup && i == keys - 1))
            zn_pack_bin(pk, id, ZN_ID_LEN);
        else
            zn_pack_str(pk, i == 2 ? "wijkracht" : "quota-exceeded");
    }
}

/* Pack one field value of kind k, or a wrong one. Returns the code the parser must give, ZN_E_OK
 * for a valid value, or -1 when mutation m does not apply to k. */
static int s_pack_value(msgpack_packer *pk, int k, int m)
{
    uint8_t buf[80] = {0};
    if (m == M_NIL) {
        msgpack_pack_nil(pk);
        return ZN_E_MALFORMED;
    }
    switch (k) {
    case K_U64:
        if (m == M_NONE) msgpack_pack_uint64(pk, 7);
        else if (m == M_TYPE) zn_pack_str(pk, "7");
        else if (m == M_BAD) msgpack_pack_int64(pk, -7);
        else return -1;
        break;
    case K_WINDOW:
        if (m == M_NONE) msgpack_pack_uint64(pk, 64);
        else if (m == M_TYPE) zn_pack_str(pk, "64");
        else if (m == M_BAD) msgpack_pack_uint64(pk, ZN_MAX_WINDOW + 1);
        else if (m == M_BAD2) msgpack_pack_uint64(pk, UINT64_MAX);
        else if (m == M_BAD3) msgpack_pack_int64(pk, -1);
        break;
    case K_SIZE: /* a tree size: 0..2^63 */
        if (m == M_NONE) msgpack_pack_uint64(pk, ZN_MERKLE_MAX_SIZE);
        else if (m == M_TYPE) zn_pack_str(pk, "5");
        else if (m == M_BAD) msgpack_pack_uint64(pk, ZN_MERKLE_MAX_SIZE + 1);
        else if (m == M_BAD2) msgpack_pack_int64(pk, -1);
        else if (m == M_BAD3) msgpack_pack_uint64(pk, UINT64_MAX);
        break;
    case K_INDEX: /* an audit index: 0..2^63 - 1 */
        if (m == M_NONE) msgpack_pack_uint64(pk, 300);
        else if (m == M_TYPE) zn_pack_str(pk, "300");
        else if (m == M_BAD) msgpack_pack_int64(pk, -300);
        else if (m == M_BAD2) msgpack_pack_true(pk);
        else if (m == M_BAD3) msgpack_pack_uint64(pk, ZN_MERKLE_MAX_SIZE);
        break;
    case K_HEAD: /* the tree head bytes: a bin of 1..ZN_TREE_HEAD_MAX */
        if (m == M_NONE) zn_pack_bin(pk, buf, ZN_TREE_HEAD_MAX);
        else if (m == M_TYPE) zn_pack_str(pk, "head");
        else if (m == M_BAD) zn_pack_bin(pk, buf, 0);
        else if (m == M_BAD2) zn_pack_bin(pk, buf, ZN_TREE_HEAD_MAX + 1);
        else if (m == M_BAD3) zn_pack_raw(pk, "\x94\x01\x00\xc4\x00\x00", 6); /* inline, not in a bin */
        break;
    case K_PROOF: /* [bin32, ...], at most ZN_MERKLE_MAX_CONSISTENCY */
        if (m == M_NONE) zn_pack_hashes(pk, buf, 2);
        else if (m == M_TYPE) zn_pack_bin(pk, buf, 32); /* one hash, not in an array */
        else if (m == M_BAD) {
            msgpack_pack_array(pk, 2);
            zn_pack_bin(pk, buf, 32);
            zn_pack_bin(pk, buf, 31);
        } else if (m == M_BAD2) {
            msgpack_pack_array(pk, 1);
            zn_pack_bin(pk, buf, 33);
        } else if (m == M_BAD3) {
            msgpack_pack_array(pk, ZN_MERKLE_MAX_CONSISTENCY + 1);
            for (int i = 0; i < ZN_MERKLE_MAX_CONSISTENCY + 1; i++)
                zn_pack_bin(pk, buf, 32);
        }
        break;
    case K_IDENT:
    case K_KIND:
        if (m == M_NONE) zn_pack_str(pk, k == K_IDENT ? "wijkracht" : "case-new");
        else if (m == M_TYPE) msgpack_pack_uint64(pk, 1);
        else if (m == M_BAD) zn_pack_str(pk, "Wijk kracht");
        else if (m == M_BAD2) {
            memset(buf, 'a', 64);
            msgpack_pack_str(pk, 64);
            msgpack_pack_str_body(pk, buf, 64);
        } else if (m == M_BAD3) zn_pack_bin(pk, "wijkracht", 9);
        break;
    case K_TEXT:
        if (m == M_NONE) zn_pack_str(pk, "Some text.");
        else if (m == M_TYPE) zn_pack_bin(pk, "Some text.", 10);
        else if (m == M_BAD) zn_pack_str(pk, "line\nbreak");
        else if (m == M_BAD2) zn_pack_str(pk, "");
        else if (m == M_BAD3) {
            char t[ZN_ERR_TEXT_MAX + 1];
            memset(t, 'x', ZN_ERR_TEXT_MAX);
            t[ZN_ERR_TEXT_MAX] = '\0'; /* 256 bytes: one too many */
            zn_pack_str(pk, t);
        }
        break;
    case K_BIN16:
        if (m == M_NONE) zn_pack_bin(pk, buf, 16);
        else if (m == M_TYPE) zn_pack_str(pk, "0123456789abcdef");
        else if (m == M_BAD) zn_pack_bin(pk, buf, 15);
        else if (m == M_BAD2) zn_pack_bin(pk, buf, 17);
        else if (m == M_BAD3) zn_pack_bin(pk, buf, 0);
        break;
    case K_BIN64:
        if (m == M_NONE) zn_pack_bin(pk, buf, 64);
        else if (m == M_TYPE) msgpack_pack_array(pk, 0);
        else if (m == M_BAD) zn_pack_bin(pk, buf, 63);
        else if (m == M_BAD2) zn_pack_bin(pk, buf, 65);
        else return -1;
        break;
    case K_BOOL:
        if (m == M_NONE) msgpack_pack_true(pk);
        else if (m == M_TYPE) msgpack_pack_uint64(pk, 1);
        else return -1;
        break;
    case K_ENV:
        if (m == M_NONE) zn_pack_raw(pk, s_env, s_env_len);
        else if (m == M_TYPE) zn_pack_bin(pk, s_env, s_env_len); /* wrapped in a bin */
        else if (m == M_BAD) {
            msgpack_pack_array(pk, 2);
            zn_pack_bin(pk, buf, 1);
            zn_pack_bin(pk, buf, 64);
        } else if (m == M_BAD2) { /* a ciphertext one byte short of its bucket */
            zn_doc doc;
            zn_envelope env;
            zn_err e;
            assert_int_equal(zn_envelope_parse_bytes(s_env, s_env_len, &doc, &env, &e), 0);
            msgpack_pack_array(pk, 3);
            zn_pack_bin(pk, env.header_raw, env.header_len);
            zn_pack_bin(pk, env.sig, ZN_SIG_LEN);
            zn_pack_bin(pk, env.ct, env.ct_len - 1);
            zn_doc_free(&doc);
        } else { /* M_BAD3: the last ciphertext byte altered; the hash is the recipient's check */
            uint8_t *copy = malloc(s_env_len);
            assert_non_null(copy);
            memcpy(copy, s_env, s_env_len);
            copy[s_env_len - 1] ^= 1;
            zn_pack_raw(pk, copy, s_env_len);
            free(copy);
            return ZN_E_OK;
        }
        break;
    case K_ITEMKIND:
        if (m == M_NONE) msgpack_pack_uint64(pk, ZN_ITEM_NOTICE);
        else if (m == M_TYPE) zn_pack_str(pk, "2");
        else if (m == M_BAD) msgpack_pack_uint64(pk, 3);
        else if (m == M_BAD2) msgpack_pack_uint64(pk, 0);
        else if (m == M_BAD3) msgpack_pack_uint64(pk, ZN_ITEM_ENVELOPE); /* but the item is a notice */
        break;
    case K_ITEM:
        if (m == M_NONE) zn_pack_raw(pk, s_notice.data, s_notice.size);
        else if (m == M_TYPE) zn_pack_str(pk, "envelope-dropped");
        else if (m == M_BAD) s_pack_notice(pk, "Envelope", 4, false);
        else if (m == M_BAD2) s_pack_notice(pk, "envelope-dropped", 3, false);
        else if (m == M_BAD3) s_pack_notice(pk, "envelope-dropped", 4, true);
        break;
    case K_IDS:
        if (m == M_NONE) {
            msgpack_pack_array(pk, 2);
            zn_pack_bin(pk, buf, 16);
            zn_pack_bin(pk, buf, 16);
        } else if (m == M_TYPE) zn_pack_bin(pk, buf, 16);
        else if (m == M_BAD) msgpack_pack_array(pk, 0);
        else if (m == M_BAD2) {
            msgpack_pack_array(pk, 2);
            zn_pack_bin(pk, buf, 16);
            zn_pack_bin(pk, buf, 15);
        } else if (m == M_BAD3) {
            msgpack_pack_array(pk, ZN_MAX_ACK + 1);
            for (int i = 0; i < ZN_MAX_ACK + 1; i++)
                zn_pack_bin(pk, buf, 16);
        }
        break;
    case K_REQ:
        if (m == M_NONE) zn_pack_bin(pk, s_req, s_req_len);
        else if (m == M_TYPE) zn_pack_raw(pk, s_req, s_req_len); /* not wrapped in a bin */
        else if (m == M_BAD) zn_pack_bin(pk, "\xc1", 1);
        else if (m == M_BAD2) {
            uint8_t *copy = malloc(s_req_len);
            assert_non_null(copy);
            memcpy(copy, s_req, s_req_len);
            copy[1] = 0x02; /* request version 2 */
            zn_pack_bin(pk, copy, s_req_len);
            free(copy);
            return ZN_E_VERSION;
        } else if (m == M_BAD3) {
            uint8_t *big = calloc(1, ZN_MAX_REQUEST + 1);
            assert_non_null(big);
            zn_pack_bin(pk, big, ZN_MAX_REQUEST + 1);
            free(big);
        }
        break;
    case K_BODY:
        if (m == M_NONE) {
            msgpack_pack_array(pk, 1);
            zn_pack_bin(pk, buf, 16);
        } else if (m == M_TYPE) zn_pack_bin(pk, buf, 16);
        else if (m == M_BAD) {
            msgpack_pack_array(pk, 1);
            zn_pack_bin(pk, buf, 15);
        } else if (m == M_BAD2) {
            msgpack_pack_array(pk, 2);
            zn_pack_bin(pk, buf, 16);
            msgpack_pack_nil(pk);
        } else return -1;
        break;
    case K_CODE:
        if (m == M_NONE) zn_pack_str(pk, "quota-exceeded");
        else if (m == M_TYPE) msgpack_pack_uint64(pk, ZN_E_QUOTA);
        else if (m == M_BAD) zn_pack_str(pk, "Quota exceeded");
        else if (m == M_BAD2) zn_pack_str(pk, "ok");
        else return -1;
        break;
    case K_CONV:
        if (m == M_NONE) zn_pack_bin(pk, "convenant", 9);
        else if (m == M_TYPE) zn_pack_str(pk, "convenant");
        else if (m == M_BAD) zn_pack_bin(pk, buf, 0);
        else return -1;
        break;
    default:
        return -1;
    }
    return m == M_NONE ? ZN_E_OK : ZN_E_MALFORMED;
}

/* Build a frame of spec si. pos: the position to mutate (0 version, 1 type, 2 corr, 3.. fields);
 * count_delta: -1 drops the last element, +1 adds a nil. Returns the expected code, or -1. */
static int s_build(msgpack_sbuffer *b, size_t si, int pos, int m, int count_delta)
{
    msgpack_packer pk;
    int want = ZN_E_OK;
    uint32_t n = 3 + s_specs[si].n;
    uint32_t total = (uint32_t)((int)n + count_delta);
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, total);
    for (uint32_t i = 0; i < n && i < total; i++) {
        int mm = (int)i == pos ? m : M_NONE;
        int r;
        if (i == 0) {
            r = ZN_E_OK;
            if (mm == M_NONE) msgpack_pack_uint64(&pk, 1);
            else if (mm == M_NIL) msgpack_pack_nil(&pk), r = ZN_E_MALFORMED;
            else if (mm == M_TYPE) zn_pack_str(&pk, "1"), r = ZN_E_MALFORMED;
            else if (mm == M_BAD) msgpack_pack_uint64(&pk, 2), r = ZN_E_VERSION;
            else if (mm == M_BAD2) msgpack_pack_uint64(&pk, 0), r = ZN_E_VERSION;
            else msgpack_pack_int64(&pk, -1), r = ZN_E_MALFORMED;
        } else if (i == 1) {
            r = ZN_E_OK;
            if (mm == M_NONE) msgpack_pack_uint64(&pk, s_specs[si].type);
            else if (mm == M_NIL) msgpack_pack_nil(&pk), r = ZN_E_MALFORMED;
            else if (mm == M_TYPE) zn_pack_str(&pk, "HELLO"), r = ZN_E_MALFORMED;
            else if (mm == M_BAD) msgpack_pack_uint64(&pk, 0), r = ZN_E_UNKNOWN_TYPE;
            else if (mm == M_BAD2) msgpack_pack_uint64(&pk, ZN_T_RELEASE + 1), r = ZN_E_UNKNOWN_TYPE;
            else msgpack_pack_uint64(&pk, 1ull << 40), r = ZN_E_UNKNOWN_TYPE;
        } else if (i == 2) {
            bool pushed = s_specs[si].type == ZN_T_DELIVER || s_specs[si].type == ZN_T_BYE ||
                          s_specs[si].type == ZN_T_IDLE;
            r = ZN_E_MALFORMED;
            if (mm == M_NONE) msgpack_pack_uint32(&pk, pushed ? 0 : 77), r = ZN_E_OK;
            else if (mm == M_NIL) msgpack_pack_nil(&pk);
            else if (mm == M_TYPE) zn_pack_str(&pk, "77");
            else if (mm == M_BAD) msgpack_pack_uint64(&pk, 1ull << 32);
            else if (mm == M_BAD2) msgpack_pack_int64(&pk, -1);
            else if (pushed) msgpack_pack_uint32(&pk, 1); /* pushed frames carry corr 0 */
            else return -1;
        } else {
            r = s_pack_value(&pk, s_specs[si].kinds[i - 3], mm);
            if (r < 0)
                return -1;
        }
        if (r != ZN_E_OK)
            want = r;
    }
    if (count_delta > 0)
        msgpack_pack_nil(&pk);
    if (count_delta != 0 && want == ZN_E_OK)
        want = ZN_E_MALFORMED;
    return want;
}

static void test_every_field_refused(void **state)
{
    (void)state;
    unsigned checked = 0;
    for (size_t si = 0; si < S_NSPECS; si++) {
        int npos = 3 + (int)s_specs[si].n;
        for (int pos = -1; pos < npos; pos++) {
            for (int m = M_NIL; m < M__COUNT; m++) {
                if (pos < 0 && m != M_NIL)
                    continue;
                msgpack_sbuffer b;
                msgpack_sbuffer_init(&b);
                int want = s_build(&b, si, pos, pos < 0 ? M_NONE : m, 0);
                if (want < 0) {
                    msgpack_sbuffer_destroy(&b);
                    continue;
                }
                zn_frame f;
                zn_err e;
                zn_err_clear(&e);
                int rc = zn_frame_parse((const uint8_t *)b.data, b.size, &f, &e);
                if (want == ZN_E_OK) {
                    if (rc != 0)
                        fail_msg("%s position %d mutation %d: valid frame refused: %s",
                                 s_type_name(s_specs[si].type), pos, m, e.text);
                    if (f.type == ZN_T_SEND) { /* parsed; only the recipient's check sees the change */
                        bool altered = pos == 3 && m == M_BAD3;
                        zn_err he;
                        zn_err_clear(&he);
                        assert_int_equal(zn_envelope_check_hash(&f.u.send.env, &he), altered ? -1 : 0);
                        assert_int_equal(he.code, altered ? ZN_E_HASH_MISMATCH : ZN_E_OK);
                    }
                    zn_frame_free(&f);
                } else {
                    if (rc != -1 || (int)e.code != want)
                        fail_msg("%s position %d mutation %d: rc %d code %s (%s), want %s",
                                 s_type_name(s_specs[si].type), pos, m, rc, zn_code_name(e.code), e.text,
                                 zn_code_name((zn_code)want));
                    assert_false(f.doc.live);
                    /* corr is kept when it could be read */
                    if (pos != 2 && s_specs[si].type != ZN_T_DELIVER &&
                        s_specs[si].type != ZN_T_BYE && s_specs[si].type != ZN_T_IDLE)
                        assert_int_equal(f.corr, 77);
                    if (pos == 2)
                        assert_int_equal(f.corr, s_specs[si].type == ZN_T_DELIVER || s_specs[si].type == ZN_T_BYE ||
                                                         s_specs[si].type == ZN_T_IDLE
                                                     ? (m == M_BAD3 ? 1 : 0)
                                                     : 0);
                    /* field errors start with the frame type and name the field */
                    if (pos >= 3 && want == ZN_E_MALFORMED) {
                        if (strncmp(e.text, s_type_name(s_specs[si].type), strlen(s_type_name(s_specs[si].type))) != 0)
                            fail_msg("error does not start with the frame type: %s", e.text);
                        int k = s_specs[si].kinds[pos - 3];
                        if (k != K_ENV && k != K_REQ && !(k == K_ITEMKIND && m == M_BAD3) &&
                            !strstr(e.text, s_specs[si].names[pos - 3]))
                            fail_msg("error does not name field '%s': %s", s_specs[si].names[pos - 3], e.text);
                    }
                    checked++;
                }
                msgpack_sbuffer_destroy(&b);
            }
        }
        /* one field missing, one extra */
        for (int delta = -1; delta <= 1; delta += 2) {
            if (delta < 0 && s_specs[si].n == 0)
                continue; /* would drop corr: covered by the shape tests */
            msgpack_sbuffer b;
            msgpack_sbuffer_init(&b);
            assert_int_equal(s_build(&b, si, -1, M_NONE, delta), ZN_E_MALFORMED);
            zn_frame f;
            zn_err e;
            assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
            assert_non_null(strstr(e.text, "fields"));
            msgpack_sbuffer_destroy(&b);
            checked++;
        }
    }
    assert_true(checked > 150);
}

static void test_names_the_field(void **state)
{
    (void)state;
    /* an envelope whose header names a recipient that is no identifier */
    msgpack_sbuffer hb, eb, fb;
    msgpack_packer pk;
    uint8_t id[ZN_ID_LEN] = {0}, hash[ZN_HASH_LEN], sig[ZN_SIG_LEN] = {0};
    zn_doc doc;
    zn_envelope env;
    zn_err e;
    assert_int_equal(zn_envelope_parse_bytes(s_env, s_env_len, &doc, &env, &e), 0);
    assert_int_equal(crypto_hash_sha256(hash, env.ct, env.ct_len), 0);
    msgpack_sbuffer_init(&hb);
    msgpack_packer_init(&pk, &hb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 10);
    msgpack_pack_uint64(&pk, 1);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
    zn_pack_str(&pk, "school");
    zn_pack_str(&pk, "J. de Vries");
    zn_pack_str(&pk, "Wijkracht Team");
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 0);
    zn_pack_bin(&pk, hash, ZN_HASH_LEN);
    msgpack_sbuffer_init(&eb);
    msgpack_packer_init(&pk, &eb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_bin(&pk, hb.data, hb.size);
    zn_pack_bin(&pk, sig, ZN_SIG_LEN);
    zn_pack_bin(&pk, env.ct, env.ct_len);
    msgpack_sbuffer_init(&fb);
    zn_frame_send(&fb, 3, (const uint8_t *)eb.data, eb.size);
    zn_frame f;
    assert_int_equal(s_parse_fail((const uint8_t *)fb.data, fb.size, &f, &e), ZN_E_MALFORMED);
    assert_string_equal(e.text, "SEND: envelope header field 'recipient' is not an identifier");
    assert_int_equal(f.corr, 3);
    msgpack_sbuffer_destroy(&fb);
    msgpack_sbuffer_init(&fb);
    zn_frame_deliver(&fb, id, ZN_ITEM_ENVELOPE, (const uint8_t *)eb.data, eb.size);
    assert_int_equal(s_parse_fail((const uint8_t *)fb.data, fb.size, &f, &e), ZN_E_MALFORMED);
    assert_string_equal(e.text, "DELIVER: envelope header field 'recipient' is not an identifier");
    msgpack_sbuffer_destroy(&fb);
    msgpack_sbuffer_destroy(&eb);
    msgpack_sbuffer_destroy(&hb);
    zn_doc_free(&doc);
}

/* A SEND or DELIVER whose ciphertext was changed after sealing is a valid frame: the parser checks
 * structure only. The header still verifies; the recipient's hash check and opening refuse it. */
static void test_hash_left_to_recipient(void **state)
{
    (void)state;
    uint8_t *copy = malloc(s_env_len);
    assert_non_null(copy);
    for (int where = 0; where < 2; where++) {
        memcpy(copy, s_env, s_env_len);
        copy[where == 0 ? s_env_len - 1 : s_env_len - 100] ^= 0x10; /* inside the ciphertext */
        for (int type = 0; type < 2; type++) {
            msgpack_sbuffer b;
            zn_frame f;
            zn_err e;
            uint8_t *plain = (uint8_t *)&e;
            size_t plain_len = 1;
            msgpack_sbuffer_init(&b);
            if (type == 0)
                zn_frame_send(&b, 9, copy, s_env_len);
            else
                zn_frame_deliver(&b, s_id_a, ZN_ITEM_ENVELOPE, copy, s_env_len);
            s_parse_ok(&b, &f);
            const zn_envelope *env = type == 0 ? &f.u.send.env : &f.u.deliver.env;
            assert_int_equal(f.type, type == 0 ? ZN_T_SEND : ZN_T_DELIVER);
            assert_string_equal(env->h.sender, "basisschool-de-linde");
            assert_int_equal(zn_envelope_verify(env, s_sender.pub.sign), 0);
            zn_err_clear(&e);
            assert_int_equal(zn_envelope_check_hash(env, &e), -1);
            assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
            zn_err_clear(&e);
            assert_int_equal(
                zn_envelope_open(env, s_sender.pub.box, s_recipient.box, &plain, &plain_len, &e), -1);
            assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
            assert_null(plain);
            assert_int_equal(plain_len, 0);
            /* re-packed, the bytes are relayed unchanged */
            msgpack_sbuffer rb;
            msgpack_packer pk;
            msgpack_sbuffer_init(&rb);
            msgpack_packer_init(&pk, &rb, msgpack_sbuffer_write);
            zn_envelope_pack(&pk, env);
            assert_int_equal(rb.size, s_env_len);
            assert_memory_equal(rb.data, copy, s_env_len);
            msgpack_sbuffer_destroy(&rb);
            zn_frame_free(&f);
            msgpack_sbuffer_destroy(&b);
        }
    }
    free(copy);
}

/* ------------------------------------------------------------ truncation, trailing bytes, size */

static void s_all_valid(msgpack_sbuffer *out, size_t *count)
{
    static const uint8_t sig[ZN_SIG_LEN];
    uint8_t ids[2][ZN_ID_LEN], head[46], proof[2 * ZN_MERKLE_HASH_LEN];
    memset(ids, 0x44, sizeof ids);
    memset(head, 0x94, sizeof head);
    memset(proof, 0x0e, sizeof proof);
    size_t i = 0;
    msgpack_sbuffer_init(&out[i]), zn_frame_hello(&out[i++], 1, 3, 64, 2);
    msgpack_sbuffer_init(&out[i]), zn_frame_welcome(&out[i++], 1, 3, "wijkracht", 1767225600000ull, head,
                                                    sizeof head, sig, proof, 2);
    msgpack_sbuffer_init(&out[i]), zn_frame_send(&out[i++], 2, s_env, s_env_len);
    msgpack_sbuffer_init(&out[i]), zn_frame_accepted(&out[i++], 2, s_id_a, false, 300);
    msgpack_sbuffer_init(&out[i]), zn_frame_deliver(&out[i++], s_id_a, ZN_ITEM_ENVELOPE, s_env, s_env_len);
    msgpack_sbuffer_init(&out[i]);
    zn_frame_deliver(&out[i++], s_id_b, ZN_ITEM_NOTICE, (const uint8_t *)s_notice.data, s_notice.size);
    msgpack_sbuffer_init(&out[i]), zn_frame_ack(&out[i++], 3, (const uint8_t(*)[ZN_ID_LEN])ids, 2);
    msgpack_sbuffer_init(&out[i]), zn_frame_request(&out[i++], 4, s_req, s_req_len, s_req_sig);
    msgpack_sbuffer_init(&out[i]);
    zn_frame_result(&out[i++], 4, "case-new", (const uint8_t *)"\x91\xc4\x10" "0123456789abcdef", 19);
    msgpack_sbuffer_init(&out[i]), zn_frame_error(&out[i++], 5, ZN_E_UNKNOWN_CASE, NULL);
    msgpack_sbuffer_init(&out[i]), zn_frame_bye(&out[i++], ZN_E_NOT_IN_CONVENANT, NULL);
    msgpack_sbuffer_init(&out[i]), zn_frame_convenant_get(&out[i++], 6);
    msgpack_sbuffer_init(&out[i]), zn_frame_convenant(&out[i++], 6, (const uint8_t *)"conv", 4);
    msgpack_sbuffer_init(&out[i]), zn_frame_idle(&out[i++]);
    *count = i;
}

static void test_truncated_and_trailing(void **state)
{
    (void)state;
    msgpack_sbuffer fr[16];
    size_t n = 0;
    s_all_valid(fr, &n);
    for (size_t k = 0; k < n; k++) {
        zn_frame f;
        zn_err e;
        s_parse_ok(&fr[k], &f);
        zn_frame_free(&f);
        const uint8_t *p = (const uint8_t *)fr[k].data;
        for (size_t len = 0; len < fr[k].size; len++) {
            /* a heap copy of exactly len bytes, so that ASan sees any read past the end */
            uint8_t *cut = malloc(len ? len : 1);
            assert_non_null(cut);
            memcpy(cut, p, len);
            assert_int_equal(s_parse_fail(cut, len, &f, &e), ZN_E_MALFORMED);
            free(cut);
        }
        uint8_t *longer = malloc(fr[k].size + 1);
        assert_non_null(longer);
        memcpy(longer, p, fr[k].size);
        longer[fr[k].size] = 0x00;
        assert_int_equal(s_parse_fail(longer, fr[k].size + 1, &f, &e), ZN_E_MALFORMED);
        free(longer);
        msgpack_sbuffer_destroy(&fr[k]);
    }
}

static void test_size_limit(void **state)
{
    (void)state;
    zn_frame f;
    zn_err e;
    /* a CONVENANT frame of exactly ZN_FRAME_MAX bytes: header 1+1+1+1 (corr 1), bin32 header 5 */
    size_t raw_len = ZN_FRAME_MAX - 4 - 5;
    uint8_t *raw = calloc(1, raw_len + 1);
    assert_non_null(raw);
    raw[0] = 0x90;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    zn_frame_convenant(&b, 1, raw, raw_len);
    assert_int_equal(b.size, ZN_FRAME_MAX);
    s_parse_ok(&b, &f);
    assert_int_equal(f.u.convenant.len, raw_len);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);

    /* one byte more: too-large, whatever the bytes are */
    msgpack_sbuffer_init(&b);
    zn_frame_convenant(&b, 1, raw, raw_len + 1);
    assert_int_equal(b.size, ZN_FRAME_MAX + 1);
    assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_TOO_LARGE);
    assert_int_equal(f.corr, 0); /* not parsed at all */
    msgpack_sbuffer_destroy(&b);
    uint8_t *junk = malloc(ZN_FRAME_MAX + 1);
    assert_non_null(junk);
    memset(junk, 0xc1, ZN_FRAME_MAX + 1);
    assert_int_equal(s_parse_fail(junk, ZN_FRAME_MAX + 1, &f, &e), ZN_E_TOO_LARGE);
    assert_non_null(strstr(e.text, "at most"));
    assert_int_equal(s_parse_fail(junk, SIZE_MAX, &f, &e), ZN_E_TOO_LARGE); /* never read */
    free(junk);
    free(raw);
}

static void test_shapes(void **state)
{
    (void)state;
    zn_frame f;
    zn_err e;
    const struct {
        const char *p;
        size_t n;
        zn_code want;
        uint32_t corr;
    } cases[] = {
        {"", 0, ZN_E_MALFORMED, 0},
        {"\xc0", 1, ZN_E_MALFORMED, 0},                        /* nil */
        {"\x90", 1, ZN_E_MALFORMED, 0},                        /* [] */
        {"\x92\x01\x01", 3, ZN_E_MALFORMED, 0},                /* [1,1] */
        {"\x81\x01\x01", 3, ZN_E_MALFORMED, 0},                /* a map */
        {"\x93\x01\x0b\x05", 4, ZN_E_OK, 5},                   /* CONVENANT_GET */
        {"\x93\x02\x0b\x05", 4, ZN_E_VERSION, 5},              /* version 2: corr kept */
        {"\x93\x01\x0f\x05", 4, ZN_E_UNKNOWN_TYPE, 5},         /* type 15 */
        {"\x93\x01\xcc\xff\x05", 5, ZN_E_UNKNOWN_TYPE, 5},     /* type 255 */
        {"\x93\x01\x00\x05", 4, ZN_E_UNKNOWN_TYPE, 5},         /* type 0 */
        {"\x93\x01\xff\x05", 4, ZN_E_MALFORMED, 5},            /* type -1 */
        {"\x93\x01\x0b\xce\xff\xff\xff\xff", 8, ZN_E_OK, UINT32_MAX},
        {"\x93\x01\x0b\xcf\x00\x00\x00\x01\x00\x00\x00\x00", 12, ZN_E_MALFORMED, 0}, /* corr 2^32 */
        {"\x93\x01\x0b\xca\x00\x00\x00\x00", 8, ZN_E_MALFORMED, 0},                 /* float corr */
        {"\x94\x01\x0b\x05\xc0", 5, ZN_E_MALFORMED, 5},        /* CONVENANT_GET with a field */
        {"\x93\x01\x0b\x05\x00", 5, ZN_E_MALFORMED, 0},        /* trailing byte */
        {"\x95\x01\x01\x05\x01\xcb\x40\x50\x00\x00\x00\x00\x00\x00", 14, ZN_E_MALFORMED, 0}, /* float window */
        {"\x95\x01\x01\x05\x01\xd4\x00\x00", 8, ZN_E_MALFORMED, 0},                         /* ext window */
        {"\xdd\xff\xff\xff\xff\x01\x01\x05", 8, ZN_E_MALFORMED, 0},                         /* lying count */
        {"\x93\x01\x0d\x00", 4, ZN_E_OK, 0},                   /* IDLE */
        {"\x93\x01\x0d\x01", 4, ZN_E_MALFORMED, 1},            /* IDLE with a corr */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zn_err_clear(&e);
        int rc = zn_frame_parse((const uint8_t *)cases[i].p, cases[i].n, &f, &e);
        if (cases[i].want == ZN_E_OK) {
            if (rc != 0)
                fail_msg("case %zu refused: %s", i, e.text);
            zn_frame_free(&f);
        } else {
            if (rc != -1 || e.code != cases[i].want)
                fail_msg("case %zu: rc %d code %s (%s)", i, rc, zn_code_name(e.code), e.text);
            assert_false(f.doc.live);
        }
        assert_int_equal(f.corr, cases[i].corr);
    }
    /* depth: a RESULT body nested deeper than the wire allows */
    msgpack_sbuffer b;
    msgpack_packer pk;
    for (int depth = 6; depth <= 8; depth++) {
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_uint8(&pk, ZN_T_RESULT);
        msgpack_pack_uint8(&pk, 1);
        zn_pack_str(&pk, "other");
        for (int d = 0; d < depth; d++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_nil(&pk);
        zn_err_clear(&e);
        int rc = zn_frame_parse((const uint8_t *)b.data, b.size, &f, &e);
        assert_int_equal(rc, 1 + depth <= ZN_WIRE_MAX_DEPTH ? 0 : -1);
        zn_frame_free(&f);
        msgpack_sbuffer_destroy(&b);
    }
    /* object count: a RESULT body of 5000 nils */
    msgpack_sbuffer_init(&b);
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, ZN_T_RESULT);
    msgpack_pack_uint8(&pk, 1);
    zn_pack_str(&pk, "other");
    msgpack_pack_array(&pk, 5000);
    for (int i = 0; i < 5000; i++)
        msgpack_pack_nil(&pk);
    assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
    msgpack_sbuffer_destroy(&b);
}

/* The bounds of the fields HELLO, WELCOME and ACCEPTED carry for the audit log: the values at a
 * bound pass, one beyond is refused with a sentence that names the field. */
static void test_audit_field_bounds(void **state)
{
    (void)state;
    static uint8_t hashes[(ZN_MERKLE_MAX_CONSISTENCY + 1) * ZN_MERKLE_HASH_LEN];
    uint8_t head[ZN_TREE_HEAD_MAX + 1], sig[ZN_SIG_LEN + 1], got[ZN_MERKLE_MAX_CONSISTENCY * ZN_MERKLE_HASH_LEN];
    msgpack_sbuffer b;
    zn_frame f;
    zn_err e;
    uint32_t np = 0;

    for (size_t k = 0; k < sizeof hashes; k++)
        hashes[k] = (uint8_t)(k * 7);
    memset(head, 0x94, sizeof head);
    memset(sig, 0x5a, sizeof sig);

    /* HELLO known_size: 0 (no head yet) .. 2^63 */
    const struct {
        uint64_t v;
        bool ok;
    } sizes[] = {{0, true}, {1, true}, {ZN_MERKLE_MAX_SIZE, true}, {ZN_MERKLE_MAX_SIZE + 1, false},
                 {UINT64_MAX, false}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        msgpack_sbuffer_init(&b);
        zn_frame_hello(&b, 3, 1, 8, sizes[i].v);
        if (sizes[i].ok) {
            s_parse_ok(&b, &f);
            assert_true(f.u.hello.known_size == sizes[i].v);
            zn_frame_free(&f);
        } else {
            assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
            assert_string_equal(e.text, "HELLO: field 'known_size' is not a tree size");
            assert_int_equal(f.corr, 3);
        }
        msgpack_sbuffer_destroy(&b);
    }

    /* WELCOME tree head: 1..54 bytes */
    const struct {
        size_t head_len, n_proof;
        const char *err; /* NULL: accepted */
    } welcomes[] = {
        {1, 0, NULL},
        {ZN_TREE_HEAD_MAX, 0, NULL},
        {46, 1, NULL},
        {46, ZN_MERKLE_MAX_CONSISTENCY, NULL},
        {0, 0, "WELCOME: field 'tree_head' is not a bin of 1 to 54 bytes"},
        {ZN_TREE_HEAD_MAX + 1, 0, "WELCOME: field 'tree_head' is not a bin of 1 to 54 bytes"},
        {46, ZN_MERKLE_MAX_CONSISTENCY + 1,
         "WELCOME: field 'consistency' is not an array of at most 128 32-byte bins"},
    };
    for (size_t i = 0; i < sizeof welcomes / sizeof *welcomes; i++) {
        msgpack_sbuffer_init(&b);
        zn_frame_welcome(&b, 4, 3, "wijkracht", 1767225600000ull, head, welcomes[i].head_len, sig, hashes,
                         welcomes[i].n_proof);
        if (!welcomes[i].err) {
            s_parse_ok(&b, &f);
            assert_int_equal(f.u.welcome.head_len, welcomes[i].head_len);
            assert_memory_equal(f.u.welcome.head, head, welcomes[i].head_len);
            assert_int_equal(f.u.welcome.n_proof, welcomes[i].n_proof);
            assert_int_equal(zn_obj_hashes(f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, got, &np), 0);
            assert_int_equal(np, welcomes[i].n_proof);
            if (np)
                assert_memory_equal(got, hashes, np * ZN_MERKLE_HASH_LEN);
            zn_frame_free(&f);
        } else {
            assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
            assert_string_equal(e.text, welcomes[i].err);
            assert_int_equal(f.corr, 4);
        }
        msgpack_sbuffer_destroy(&b);
    }

    /* WELCOME signature and proof shapes, written by hand */
    enum { W_SIG63, W_SIG65, W_HASH31, W_HASH33, W_MAP, W_BIN, W_NIL, W__COUNT };
    for (int w = 0; w < W__COUNT; w++) {
        msgpack_packer pk;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 9);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_uint8(&pk, ZN_T_WELCOME);
        msgpack_pack_uint8(&pk, 5);
        msgpack_pack_uint8(&pk, 3);
        zn_pack_str(&pk, "wijkracht");
        msgpack_pack_uint64(&pk, 1767225600000ull);
        zn_pack_bin(&pk, head, 46);
        zn_pack_bin(&pk, sig, w == W_SIG63 ? 63 : w == W_SIG65 ? 65 : 64);
        if (w == W_HASH31 || w == W_HASH33) {
            msgpack_pack_array(&pk, 3);
            zn_pack_bin(&pk, hashes, 32);
            zn_pack_bin(&pk, hashes + 32, w == W_HASH31 ? 31 : 33);
            zn_pack_bin(&pk, hashes + 64, 32);
        } else if (w == W_MAP) {
            msgpack_pack_map(&pk, 1);
            zn_pack_str(&pk, "h");
            zn_pack_bin(&pk, hashes, 32);
        } else if (w == W_BIN) {
            zn_pack_bin(&pk, hashes, 64); /* two hashes end to end, not an array */
        } else if (w == W_NIL) {
            msgpack_pack_nil(&pk);
        } else {
            msgpack_pack_array(&pk, 0);
        }
        assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
        assert_non_null(strstr(e.text, w <= W_SIG65 ? "'tree_head_sig'" : "'consistency'"));
        assert_int_equal(f.corr, 5);
        msgpack_sbuffer_destroy(&b);
    }

    /* ACCEPTED audit_index: 0..2^63 - 1 (an index in a tree of at most 2^63 leaves) */
    const struct {
        uint64_t v;
        bool ok;
    } idx[] = {{0, true}, {255, true}, {256, true}, {ZN_MERKLE_MAX_SIZE - 1, true}, {ZN_MERKLE_MAX_SIZE, false},
               {UINT64_MAX, false}};
    for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
        msgpack_sbuffer_init(&b);
        zn_frame_accepted(&b, 6, s_id_a, true, idx[i].v);
        if (idx[i].ok) {
            s_parse_ok(&b, &f);
            assert_true(f.u.accepted.audit_index == idx[i].v);
            assert_true(f.u.accepted.duplicate);
            zn_frame_free(&f);
        } else {
            assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
            assert_string_equal(e.text, "ACCEPTED: field 'audit_index' is not an unsigned integer");
        }
        msgpack_sbuffer_destroy(&b);
    }
    /* ACCEPTED without audit_index (the frame of before), or with a float, negative or bool one */
    const struct {
        const char *p;
        size_t n;
        const char *err;
    } bad[] = {
        {"\x95\x01\x04\x06\xc4\x10" "0123456789abcdef" "\xc3", 23, "ACCEPTED: the frame has 5 fields; it must have 6"},
        {"\x96\x01\x04\x06\xc4\x10" "0123456789abcdef" "\xc3\xff", 24,
         "ACCEPTED: field 'audit_index' is not an unsigned integer"},
        {"\x96\x01\x04\x06\xc4\x10" "0123456789abcdef" "\xc3\xd1\xfe\xd4", 26,
         "ACCEPTED: field 'audit_index' is not an unsigned integer"},
        {"\x96\x01\x04\x06\xc4\x10" "0123456789abcdef" "\xc3\xc2", 24,
         "ACCEPTED: field 'audit_index' is not an unsigned integer"},
        {"\x96\x01\x04\x06\xc4\x10" "0123456789abcdef" "\xc3\xa3" "300", 27,
         "ACCEPTED: field 'audit_index' is not an unsigned integer"},
        {"\x96\x01\x04\x06\xc4\x10" "0123456789abcdef" "\xc3\xcb\x40\x72\xc0\x00\x00\x00\x00\x00", 32, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(s_parse_fail((const uint8_t *)bad[i].p, bad[i].n, &f, &e), ZN_E_MALFORMED);
        if (bad[i].err) /* a float is refused before the frame is read at all */
            assert_string_equal(e.text, bad[i].err);
    }
}

static void test_ack_limits(void **state)
{
    (void)state;
    static uint8_t ids[ZN_MAX_ACK][ZN_ID_LEN];
    for (int i = 0; i < ZN_MAX_ACK; i++) {
        memset(ids[i], 0, ZN_ID_LEN);
        ids[i][0] = (uint8_t)i;
        ids[i][1] = (uint8_t)(i >> 8);
    }
    msgpack_sbuffer b;
    zn_frame f;
    uint8_t id[ZN_ID_LEN];
    msgpack_sbuffer_init(&b);
    zn_frame_ack(&b, 1, (const uint8_t(*)[ZN_ID_LEN])ids, ZN_MAX_ACK);
    s_parse_ok(&b, &f);
    assert_int_equal(f.u.ack.n, ZN_MAX_ACK);
    zn_frame_ack_id(&f, ZN_MAX_ACK - 1, id);
    assert_memory_equal(id, ids[ZN_MAX_ACK - 1], ZN_ID_LEN);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
    /* window boundary */
    msgpack_sbuffer_init(&b);
    zn_frame_hello(&b, 1, 1, 0, 0);
    s_parse_ok(&b, &f);
    assert_int_equal(f.u.hello.window, 0);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_init(&b);
    zn_frame_hello(&b, 1, 1, ZN_MAX_WINDOW + 1, 0);
    zn_err e;
    assert_int_equal(s_parse_fail((const uint8_t *)b.data, b.size, &f, &e), ZN_E_MALFORMED);
    assert_int_equal(f.corr, 1);
    msgpack_sbuffer_destroy(&b);
}

static void test_error_text_encoding(void **state)
{
    (void)state;
    msgpack_sbuffer b;
    zn_frame f;
    /* no text, empty text, invalid text: the code's own sentence */
    const char *texts[] = {NULL, "", "bad\ttext", "\xc3"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        msgpack_sbuffer_init(&b);
        zn_frame_error(&b, 1, ZN_E_REPLAY, texts[i]);
        s_parse_ok(&b, &f);
        assert_string_equal(f.u.error.text, zn_code_hint(ZN_E_REPLAY));
        zn_frame_free(&f);
        msgpack_sbuffer_destroy(&b);
    }
    /* a long text is cut to fit, at a character boundary */
    char longtext[600];
    size_t k = 0;
    while (k + 2 < sizeof longtext - 1) {
        longtext[k++] = (char)0xc3; /* ë, two bytes */
        longtext[k++] = (char)0xab;
    }
    longtext[k] = '\0';
    for (size_t shift = 0; shift < 2; shift++) {
        msgpack_sbuffer_init(&b);
        zn_frame_bye(&b, ZN_E_SHUTDOWN, longtext + shift); /* shift 1 starts mid-character: invalid */
        s_parse_ok(&b, &f);
        if (shift == 0) {
            assert_true(strlen(f.u.error.text) == ZN_ERR_TEXT_MAX - 2); /* 254: whole characters */
            assert_true(zn_text_valid(f.u.error.text, strlen(f.u.error.text)));
        } else {
            assert_string_equal(f.u.error.text, zn_code_hint(ZN_E_SHUTDOWN));
        }
        zn_frame_free(&f);
        msgpack_sbuffer_destroy(&b);
    }
    /* an ASCII text of exactly 255 bytes passes whole */
    char t255[256];
    memset(t255, 'y', 255);
    t255[255] = '\0';
    msgpack_sbuffer_init(&b);
    zn_frame_error(&b, 1, ZN_E_SHUTDOWN, t255);
    s_parse_ok(&b, &f);
    assert_string_equal(f.u.error.text, t255);
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
    /* a code this side does not know reads as internal, with its name kept */
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, ZN_T_ERROR);
    msgpack_pack_uint8(&pk, 9);
    zn_pack_str(&pk, "some-future-code");
    zn_pack_str(&pk, "Something new.");
    s_parse_ok(&b, &f);
    assert_int_equal(f.u.error.code, ZN_E_INTERNAL);
    assert_string_equal(f.u.error.name, "some-future-code");
    zn_frame_free(&f);
    msgpack_sbuffer_destroy(&b);
}

static void test_notices(void **state)
{
    (void)state;
    struct {
        const char *type;
        int keys;
        bool dup;
        int want;
    } cases[] = {
        {"envelope-dropped", 4, false, 0},
        {"envelope-dropped", 3, false, -1},
        {"envelope-dropped", 4, true, -1},
        {"some-later-notice", 2, false, 0}, /* other types: fields checked only for shape */
        {"some-later-notice", 2, true, -1},
        {"Bad Type", 4, false, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        s_pack_notice(&pk, cases[i].type, cases[i].keys, cases[i].dup);
        zn_doc d;
        zn_notice n;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, 8, 100), 0);
        assert_int_equal(zn_notice_parse(&d.root, &n), cases[i].want);
        if (cases[i].want == 0)
            assert_string_equal(n.type, cases[i].type);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    /* too many fields; keys that are not identifiers; an extra key on envelope-dropped */
    const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"\x93\xa1x\x01\x81\x01\x01", 7},                    /* int key */
        {"\x93\xa1x\x01\x81\xa1X\x01", 8},                   /* capital key */
        {"\x93\xa1x\x01\x90", 5},                            /* fields not a map */
        {"\x93\xa1x\xff\x80", 5},                            /* negative time */
        {"\x92\xa1x\x01", 4},                                /* two elements */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        zn_doc d;
        zn_notice n;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)bad[i].p, bad[i].n, 8, 100), 0);
        assert_int_equal(zn_notice_parse(&d.root, &n), -1);
        zn_doc_free(&d);
    }
    for (int nf = ZN_NOTICE_FIELDS_MAX; nf <= ZN_NOTICE_FIELDS_MAX + 1; nf++) {
        msgpack_sbuffer b;
        msgpack_packer pk;
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        zn_pack_str(&pk, "later");
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_map(&pk, (size_t)nf);
        for (int i = 0; i < nf; i++) {
            char key[8];
            snprintf(key, sizeof key, "k%d", i);
            zn_pack_str(&pk, key);
            msgpack_pack_nil(&pk);
        }
        zn_doc d;
        zn_notice n;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, 8, 100), 0);
        assert_int_equal(zn_notice_parse(&d.root, &n), nf <= ZN_NOTICE_FIELDS_MAX ? 0 : -1);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
    {
        msgpack_sbuffer b;
        msgpack_packer pk;
        uint8_t id[ZN_ID_LEN] = {0};
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        zn_pack_str(&pk, "envelope-dropped");
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_map(&pk, 5);
        zn_pack_str(&pk, "msgid"), zn_pack_bin(&pk, id, 16);
        zn_pack_str(&pk, "case"), zn_pack_bin(&pk, id, 16);
        zn_pack_str(&pk, "recipient"), zn_pack_str(&pk, "wijkracht");
        zn_pack_str(&pk, "reason"), zn_pack_str(&pk, "quota-exceeded");
        zn_pack_str(&pk, "extra"), msgpack_pack_nil(&pk);
        zn_doc d;
        zn_notice n;
        assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, 8, 100), 0);
        assert_int_equal(zn_notice_parse(&d.root, &n), -1);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&b);
    }
}

/* zn_notice_build: the fields that are set, in the order given; an empty or NULL str is left
 * out, a bin keeps its length (0 included), a u64 is always there; envelope-dropped is built on
 * it and parses. */
static void test_notice_build(void **state)
{
    (void)state;
    uint8_t id[ZN_ID_LEN], psn[33];
    memset(id, 0x11, sizeof id);
    memset(psn, 0x01, sizeof psn);
    const zn_notice_field f[] = {
        ZN_NF_ID("case", id),
        ZN_NF_S("by", "wijkracht"),
        ZN_NF_S("empty", ""),
        ZN_NF_S("null", NULL),
        ZN_NF_B("person", psn, sizeof psn),
        ZN_NF_B("nothing", psn, 0),
        ZN_NF_U("step", 0),
        ZN_NF_U("big", UINT64_MAX),
    };
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    zn_notice_build(&b, "case-linked", 1767225600000ull, f, sizeof f / sizeof *f);
    zn_doc d;
    zn_notice n;
    assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, 8, 100), 0);
    assert_int_equal(zn_notice_parse(&d.root, &n), 0);
    assert_string_equal(n.type, "case-linked");
    assert_true(n.time_ms == 1767225600000ull);
    const msgpack_object *m = n.fields;
    assert_int_equal(m->via.map.size, 6);
    static const char *keys[] = {"case", "by", "person", "nothing", "step", "big"};
    for (uint32_t i = 0; i < 6; i++)
        assert_true(zn_obj_str_eq(&m->via.map.ptr[i].key, keys[i]));
    uint8_t got[33];
    assert_int_equal(zn_obj_bin_fixed(zn_obj_map_get(m, "case"), got, ZN_ID_LEN), 0);
    assert_memory_equal(got, id, ZN_ID_LEN);
    assert_true(zn_obj_str_eq(zn_obj_map_get(m, "by"), "wijkracht"));
    assert_int_equal(zn_obj_bin_fixed(zn_obj_map_get(m, "person"), got, sizeof psn), 0);
    assert_memory_equal(got, psn, sizeof psn);
    const uint8_t *p = NULL;
    size_t len = 99;
    assert_int_equal(zn_obj_bin(zn_obj_map_get(m, "nothing"), 10, &p, &len), 0);
    assert_int_equal(len, 0);
    uint64_t u = 1;
    assert_int_equal(zn_obj_u64(zn_obj_map_get(m, "step"), &u), 0);
    assert_true(u == 0);
    assert_int_equal(zn_obj_u64(zn_obj_map_get(m, "big"), &u), 0);
    assert_true(u == UINT64_MAX);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&b);

    /* no fields at all: an empty map */
    msgpack_sbuffer_init(&b);
    zn_notice_build(&b, "later", 5, NULL, 0);
    assert_int_equal(b.size, 9);
    assert_memory_equal(b.data, "\x93\xa5later\x05\x80", 9);
    msgpack_sbuffer_destroy(&b);

    /* envelope-dropped is exactly the four fields, in this order */
    uint8_t mid[ZN_ID_LEN], cid[ZN_ID_LEN];
    memset(mid, 0x33, sizeof mid);
    memset(cid, 0x44, sizeof cid);
    msgpack_sbuffer_init(&b);
    zn_notice_dropped(&b, 7, mid, cid, "wijkracht", ZN_E_CONSENT_REQUIRED);
    msgpack_sbuffer want;
    msgpack_packer pk;
    msgpack_sbuffer_init(&want);
    msgpack_packer_init(&pk, &want, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_str(&pk, "envelope-dropped");
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_map(&pk, 4);
    zn_pack_str(&pk, "msgid");
    zn_pack_bin(&pk, mid, ZN_ID_LEN);
    zn_pack_str(&pk, "case");
    zn_pack_bin(&pk, cid, ZN_ID_LEN);
    zn_pack_str(&pk, "recipient");
    zn_pack_str(&pk, "wijkracht");
    zn_pack_str(&pk, "reason");
    zn_pack_str(&pk, "consent-required");
    assert_int_equal(b.size, want.size);
    assert_memory_equal(b.data, want.data, want.size);
    assert_int_equal(zn_doc_parse(&d, (const uint8_t *)b.data, b.size, 8, 100), 0);
    assert_int_equal(zn_notice_parse(&d.root, &n), 0);
    zn_doc_free(&d);
    msgpack_sbuffer_destroy(&want);
    msgpack_sbuffer_destroy(&b);
}

/* ------------------------------------------------------------ fuzz corpus */

static void s_write(const char *dir, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* With ZN_CORPUS_OUT=DIR set, (re)write the seed corpus there: valid-* frames of every type and
 * bad-* frames the parser must refuse. */
static void test_corpus_write(void **state)
{
    (void)state;
    const char *dir = getenv("ZN_CORPUS_OUT");
    if (!dir)
        skip();
    static const char *names[] = {"hello", "welcome", "send", "accepted", "deliver-envelope", "deliver-notice",
                                  "ack", "request", "result", "error", "bye", "convenant-get", "convenant",
                                  "idle"};
    msgpack_sbuffer fr[16];
    size_t n = 0;
    s_all_valid(fr, &n);
    assert_int_equal(n, sizeof names / sizeof *names);
    char name[64];
    for (size_t k = 0; k < n; k++) {
        snprintf(name, sizeof name, "valid-%s.bin", names[k]);
        s_write(dir, name, fr[k].data, fr[k].size);
        snprintf(name, sizeof name, "bad-truncated-%s.bin", names[k]);
        s_write(dir, name, fr[k].data, fr[k].size - 1);
        if (k == 0 || k == 2 || k == 6) {
            uint8_t *t = malloc(fr[k].size + 1);
            assert_non_null(t);
            memcpy(t, fr[k].data, fr[k].size);
            t[fr[k].size] = 0;
            snprintf(name, sizeof name, "bad-trailing-%s.bin", names[k]);
            s_write(dir, name, t, fr[k].size + 1);
            free(t);
        }
        msgpack_sbuffer_destroy(&fr[k]);
    }
    /* field mutations of a few kinds; a changed ciphertext is a valid frame (the hash is the
     * recipient's check), kept as a seed for the envelope checks after parsing */
    const struct {
        size_t spec;
        int pos, m;
        bool valid;
        const char *name;
    } muts[] = {
        {0, 0, M_BAD, false, "hello-version-2"},       {0, 1, M_BAD2, false, "unknown-type"},
        {0, 4, M_BAD, false, "hello-window"},          {1, 4, M_BAD, false, "welcome-partner"},
        {2, 3, M_BAD3, true, "send-hash-mismatch"},    {2, 3, M_TYPE, false, "send-envelope-in-bin"},
        {2, 3, M_BAD2, false, "send-ciphertext-length"},
        {4, 4, M_BAD, false, "deliver-kind"},          {4, 5, M_BAD3, false, "deliver-notice-dup-key"},
        {4, 2, M_BAD3, false, "deliver-corr"},         {5, 3, M_BAD2, false, "ack-short-id"},
        {6, 3, M_BAD2, false, "request-version-2"},    {6, 4, M_BAD, false, "request-short-sig"},
        {7, 4, M_BAD, false, "result-case-new-body"},  {8, 4, M_BAD, false, "error-control-char"},
        {8, 3, M_BAD2, false, "error-ok"},             {11, 3, M_BAD, false, "convenant-empty"},
        {0, 5, M_BAD, false, "hello-known-size"},      {1, 6, M_BAD, false, "welcome-head-empty"},
        {1, 7, M_BAD, false, "welcome-short-sig"},     {1, 8, M_BAD, false, "welcome-proof-short-hash"},
        {1, 8, M_BAD3, false, "welcome-proof-too-long"}, {3, 5, M_BAD, false, "accepted-index-negative"},
    };
    for (size_t i = 0; i < sizeof muts / sizeof *muts; i++) {
        msgpack_sbuffer b;
        msgpack_sbuffer_init(&b);
        int want = s_build(&b, muts[i].spec, muts[i].pos, muts[i].m, 0);
        if (muts[i].valid)
            assert_int_equal(want, ZN_E_OK);
        else
            assert_true(want > 0);
        snprintf(name, sizeof name, "%s-%s.bin", muts[i].valid ? "valid" : "bad", muts[i].name);
        s_write(dir, name, b.data, b.size);
        msgpack_sbuffer_destroy(&b);
    }
    /* the same change in a DELIVER */
    {
        msgpack_sbuffer b;
        uint8_t *copy = malloc(s_env_len);
        assert_non_null(copy);
        memcpy(copy, s_env, s_env_len);
        copy[s_env_len - 1] ^= 1;
        msgpack_sbuffer_init(&b);
        zn_frame_deliver(&b, s_id_a, ZN_ITEM_ENVELOPE, copy, s_env_len);
        s_write(dir, "valid-deliver-hash-mismatch.bin", b.data, b.size);
        msgpack_sbuffer_destroy(&b);
        free(copy);
    }
    s_write(dir, "bad-float.bin", "\x95\x01\x01\x05\x01\xcb\x40\x50\x00\x00\x00\x00\x00\x00", 14);
    s_write(dir, "bad-ext.bin", "\x95\x01\x01\x05\x01\xd4\x00\x00", 8);
    s_write(dir, "bad-c1.bin", "\x95\x01\x01\x05\x01\xc1", 6);
    s_write(dir, "bad-lying-count.bin", "\xdd\xff\xff\xff\xff\x01\x01\x05", 8);
    s_write(dir, "bad-deep.bin", "\x95\x01\x08\x01\xa1x\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 15);
    s_write(dir, "bad-empty.bin", "", 0);
    s_write(dir, "bad-map.bin", "\x81\x01\x01", 3);
}

/* Every valid-* file in tests/fuzz/corpus parses, every bad-* file is refused; files the fuzzer
 * added (other names) are left alone. */
static void test_corpus_files(void **state)
{
    (void)state;
    DIR *d = opendir(ZN_SOURCE_DIR "/tests/fuzz/corpus");
    if (!d)
        fail_msg("no tests/fuzz/corpus");
    struct dirent *de;
    unsigned valid = 0, bad = 0, hashed = 0, mismatched = 0;
    while ((de = readdir(d)) != NULL) {
        bool is_valid = strncmp(de->d_name, "valid-", 6) == 0, is_bad = strncmp(de->d_name, "bad-", 4) == 0;
        if (!is_valid && !is_bad)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", ZN_SOURCE_DIR "/tests/fuzz/corpus", de->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t *buf = malloc(1 << 16);
        assert_non_null(buf);
        size_t n = fread(buf, 1, 1 << 16, fp);
        fclose(fp);
        zn_frame f;
        zn_err e;
        zn_err_clear(&e);
        int rc = zn_frame_parse(buf, n, &f, &e);
        if (is_valid && rc != 0)
            fail_msg("%s refused: %s", de->d_name, e.text);
        if (is_bad && rc == 0)
            fail_msg("%s accepted", de->d_name);
        /* the envelope of a valid SEND or DELIVER passes the recipient's hash check, unless the
         * file is named for a hash mismatch */
        const zn_envelope *env = NULL;
        if (rc == 0 && f.type == ZN_T_SEND)
            env = &f.u.send.env;
        if (rc == 0 && f.type == ZN_T_DELIVER && f.u.deliver.kind == ZN_ITEM_ENVELOPE)
            env = &f.u.deliver.env;
        if (env) {
            bool mismatch = strstr(de->d_name, "hash-mismatch") != NULL;
            zn_err_clear(&e);
            if (zn_envelope_check_hash(env, &e) != (mismatch ? -1 : 0) ||
                e.code != (mismatch ? ZN_E_HASH_MISMATCH : ZN_E_OK))
                fail_msg("%s: hash check gave %s", de->d_name, zn_code_name(e.code));
            hashed++;
            if (mismatch)
                mismatched++;
        }
        zn_frame_free(&f);
        free(buf);
        is_valid ? valid++ : bad++;
    }
    closedir(d);
    assert_true(valid >= 16);
    assert_true(bad >= 14);
    assert_true(hashed >= 4);     /* valid-send, valid-deliver-envelope and both mismatches */
    assert_true(mismatched >= 2);
}

/* ------------------------------------------------------------ the error table in the doc */

/* Section 7 of docs/PROTOCOL.md lists every code of ZN_ERRORS, in order, as
 * "| `code` | class (status) | sentence |", and nothing else. */
static void test_doc_error_table(void **state)
{
    (void)state;
    static const char *classes[] = {"ok", "fault", "usage", "refused", "unreachable", "verify"};
    FILE *fp = fopen(ZN_SOURCE_DIR "/docs/PROTOCOL.md", "rb");
    if (!fp)
        fail_msg("no docs/PROTOCOL.md");
    char *doc = malloc(1 << 20);
    assert_non_null(doc);
    size_t n = fread(doc, 1, (1 << 20) - 1, fp);
    fclose(fp);
    doc[n] = '\0';
    char *start = strstr(doc, "\n## 7. Error codes");
    assert_non_null(start);
    char *end = strstr(start + 1, "\n## ");
    assert_non_null(end);
    *end = '\0';
    char *at = start;
    for (int i = 0; i < ZN_E__COUNT; i++) {
        char row[512];
        snprintf(row, sizeof row, "\n| `%s` | %s (%d) | %s |\n", zn_code_name((zn_code)i),
                 classes[zn_code_class((zn_code)i)], (int)zn_code_class((zn_code)i), zn_code_hint((zn_code)i));
        char *hit = strstr(at, row);
        if (!hit)
            fail_msg("docs/PROTOCOL.md section 7 lacks (or misorders) the row for '%s'", zn_code_name((zn_code)i));
        at = hit + 1;
    }
    unsigned rows = 0;
    for (char *c = start; (c = strstr(c, "\n| `")) != NULL; c++)
        rows++;
    assert_int_equal(rows, ZN_E__COUNT);
    free(doc);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_every_field_refused),
        cmocka_unit_test(test_names_the_field),
        cmocka_unit_test(test_hash_left_to_recipient),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_audit_field_bounds),
        cmocka_unit_test(test_ack_limits),
        cmocka_unit_test(test_error_text_encoding),
        cmocka_unit_test(test_notices),
        cmocka_unit_test(test_notice_build),
        cmocka_unit_test(test_corpus_write),
        cmocka_unit_test(test_corpus_files),
        cmocka_unit_test(test_doc_error_table),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
