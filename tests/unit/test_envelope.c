/* Unit tests for envelopes (seal, parse, verify, hash check, open, padding, tampering) and
 * signed requests, and the test vectors printed in docs/PROTOCOL.md (checked byte for byte
 * against the doc). */
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
#include "zn_envelope.h"
#include "zn_request.h"

#ifndef ZN_SOURCE_DIR
#define ZN_SOURCE_DIR "."
#endif

/* ------------------------------------------------------------ deterministic randomness */

/* The vectors need a fixed nonce. libsodium lets a program replace its random source; while
 * s_fixed is set every random byte is s_fill, otherwise the system source is used. */
static bool s_fixed;
static uint8_t s_fill;

static const char *s_rb_name(void) { return "zn-test"; }

static void s_rb_buf(void *buf, size_t n)
{
    if (s_fixed)
        memset(buf, s_fill, n);
    else
        randombytes_sysrandom_implementation.buf(buf, n);
}

static uint32_t s_rb_random(void)
{
    uint32_t v;
    s_rb_buf(&v, sizeof v);
    return v;
}

static struct randombytes_implementation s_rb = {
    .implementation_name = s_rb_name,
    .random = s_rb_random,
    .stir = NULL,
    .uniform = NULL,
    .buf = s_rb_buf,
    .close = NULL,
};

/* ------------------------------------------------------------ helpers */

/* The body of an anonymous case-new: [case, network]. */
static int s_case_new(msgpack_sbuffer *out, const uint8_t case_id[ZN_ID_LEN], const char *network)
{
    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    memcpy(b.id, case_id, ZN_ID_LEN);
    if (network && strlen(network) < sizeof b.network)
        strcpy(b.network, network);
    else if (network)
        return -1;
    return zn_body_case_new_enc(out, &b);
}

static void s_keys(zn_seckeys *k, uint8_t sign_seed, uint8_t box_seed)
{
    uint8_t seed[32];
    memset(k, 0, sizeof *k);
    k->pub.kind = ZN_KIND_PARTNER;
    memset(seed, sign_seed, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(k->pub.sign, k->sign, seed), 0);
    memset(seed, box_seed, sizeof seed);
    assert_int_equal(crypto_box_seed_keypair(k->pub.box, k->box, seed), 0);
}

static zn_header s_header(void)
{
    zn_header h;
    memset(&h, 0, sizeof h);
    memset(h.msgid, 0x11, ZN_ID_LEN);
    memset(h.case_id, 0x22, ZN_ID_LEN);
    strcpy(h.sender, "basisschool-de-linde");
    strcpy(h.handler, "J. de Vries (IB)");
    strcpy(h.recipient, "wijkracht");
    h.time_ms = 1767225600000ull; /* 2026-01-01T00:00:00Z */
    h.convenant_version = 3;
    h.flags = 0;
    return h;
}


static void s_check_vector(const char *name, const char *expected, const uint8_t *p, size_t n)
{
    zn_test_check_vector("PROTOCOL.md", name, expected, p, n);
}

static const char s_plain[] = "Zorgsignaal: graag overleg over gezin, zie dossier.";

/* ------------------------------------------------------------ vectors (also in docs/PROTOCOL.md) */

static const char VEC_SENDER_SIGN_PK[] =
    "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
static const char VEC_SENDER_BOX_PK[] =
    "60346e7c911a5f6ba154129174cafe75b294ac3bbd5549632f48cec6266f8410";
static const char VEC_RECIPIENT_BOX_PK[] =
    "75e270df2952c57ba8367ba8618c178f9fe50db2799d304e74e918d985686146";
static const char VEC_PLAINTEXT[] =
    "5a6f72677369676e61616c3a206772616167206f7665726c6567206f76657220"
    "67657a696e2c207a696520646f73736965722e";
static const char VEC_ENVELOPE_HEADER[] =
    "9a01c41011111111111111111111111111111111c41022222222222222222222"
    "222222222222b462617369737363686f6f6c2d64652d6c696e6465b04a2e2064"
    "652056726965732028494229a977696a6b7261636874cf0000019b76daa80003"
    "00c420b8fe3b907224e2737d4b47a340f14ea492377ca861dc7e1852663c5740"
    "2ee339";
static const char VEC_ENVELOPE_SIGNATURE[] =
    "bbf0a81c9004cb3656f07b8a2d0263176e48cf210728163952a7deb0da598930"
    "228271a507e5dece22f1c67d274d38440487f8d9b6163b44b2b41ba858f20d02";
static const char VEC_ENVELOPE_CIPHERTEXT[] =
    "040404040404040404040404040404040404040404040404f16fa98dbfc96636"
    "c8c707e0bbbed016ef468d059a47c43e6630468aa95a6225cd67f1c356d250d6"
    "74a423840a35e1d0c3ddcb7c4abdd92e7606cf9fdef94765f5739f1822b80186"
    "e5efc989a0ef8a309b24c5baf1629450b45b56c9d308eaa5c48ea12120114aed"
    "92ca50a7afab1c5908a1c778774938badfd7b488c97173d9e753ea1964ebd8a9"
    "5f626ef5d65062cf103853417b7061f7b30b0f443026de6ef943b05c3fd88527"
    "2285afada1a0164a32ee70000b53236c2520556f3592b6bafd97de4094127281"
    "6edb0500724334a1d6632f6d875115a71356cfe426e254097c4a530ab2093316"
    "305f60238f4abe0e523ad34033bee9c8988242a6ff6706b11561eab8dac35ea8"
    "f54545966144324f";
static const char VEC_ENVELOPE[] =
    "93c4839a01c41011111111111111111111111111111111c41022222222222222"
    "222222222222222222b462617369737363686f6f6c2d64652d6c696e6465b04a"
    "2e2064652056726965732028494229a977696a6b7261636874cf0000019b76da"
    "a8000300c420b8fe3b907224e2737d4b47a340f14ea492377ca861dc7e185266"
    "3c57402ee339c440bbf0a81c9004cb3656f07b8a2d0263176e48cf2107281639"
    "52a7deb0da598930228271a507e5dece22f1c67d274d38440487f8d9b6163b44"
    "b2b41ba858f20d02c50128040404040404040404040404040404040404040404"
    "040404f16fa98dbfc96636c8c707e0bbbed016ef468d059a47c43e6630468aa9"
    "5a6225cd67f1c356d250d674a423840a35e1d0c3ddcb7c4abdd92e7606cf9fde"
    "f94765f5739f1822b80186e5efc989a0ef8a309b24c5baf1629450b45b56c9d3"
    "08eaa5c48ea12120114aed92ca50a7afab1c5908a1c778774938badfd7b488c9"
    "7173d9e753ea1964ebd8a95f626ef5d65062cf103853417b7061f7b30b0f4430"
    "26de6ef943b05c3fd885272285afada1a0164a32ee70000b53236c2520556f35"
    "92b6bafd97de40941272816edb0500724334a1d6632f6d875115a71356cfe426"
    "e254097c4a530ab2093316305f60238f4abe0e523ad34033bee9c8988242a6ff"
    "6706b11561eab8dac35ea8f54545966144324f";
static const char VEC_CASE_NEW_BODY[] =
    "92c41022222222222222222222222222222222af302d31322d62696e6e656e73"
    "746164";
static const char VEC_REQUEST[] =
    "9801a8636173652d6e6577b462617369737363686f6f6c2d64652d6c696e6465"
    "b04a2e2064652056726965732028494229c41005050505050505050505050505"
    "050505cf0000019b76daa8000392c41022222222222222222222222222222222"
    "af302d31322d62696e6e656e73746164";
static const char VEC_REQUEST_SIGNATURE[] =
    "57440327f7638ca7e83db1023c97a59edaf815602f5a363eb3a23c14722e4f4c"
    "f5a0e3c826a516efa03a09933eb14011f6278d29485b691938cfb521cc833902";

static void test_vector_keys(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    s_keys(&sender, 0x01, 0x02);
    s_keys(&recipient, 0x09, 0x03);
    s_check_vector("sender-sign-pk", VEC_SENDER_SIGN_PK, sender.pub.sign, ZN_KEY_LEN);
    s_check_vector("sender-box-pk", VEC_SENDER_BOX_PK, sender.pub.box, ZN_KEY_LEN);
    s_check_vector("recipient-box-pk", VEC_RECIPIENT_BOX_PK, recipient.pub.box, ZN_KEY_LEN);
}

static void test_vector_envelope(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    zn_header h = s_header();
    zn_err e;
    uint8_t *env = NULL, *plain = NULL;
    size_t env_len = 0, plain_len = 0;

    s_keys(&sender, 0x01, 0x02);
    s_keys(&recipient, 0x09, 0x03);
    s_fixed = true;
    s_fill = 0x04; /* nonce = 24 x 0x04 */
    int rc = zn_envelope_seal(&h, (const uint8_t *)s_plain, strlen(s_plain), recipient.pub.box, &sender,
                              &env, &env_len, &e);
    s_fixed = false;
    assert_int_equal(rc, 0);

    zn_doc doc;
    zn_envelope p;
    assert_int_equal(zn_envelope_parse_bytes(env, env_len, &doc, &p, &e), 0);
    s_check_vector("envelope-plaintext", VEC_PLAINTEXT, (const uint8_t *)s_plain, strlen(s_plain));
    s_check_vector("envelope-header", VEC_ENVELOPE_HEADER, p.header_raw, p.header_len);
    s_check_vector("envelope-signature", VEC_ENVELOPE_SIGNATURE, p.sig, ZN_SIG_LEN);
    s_check_vector("envelope-ciphertext", VEC_ENVELOPE_CIPHERTEXT, p.ct, p.ct_len);
    s_check_vector("envelope", VEC_ENVELOPE, env, env_len);

    /* and the printed bytes themselves open with the printed keys */
    assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), 0);
    assert_int_equal(zn_envelope_check_hash(&p, &e), 0);
    assert_int_equal(zn_envelope_open(&p, sender.pub.box, recipient.box, &plain, &plain_len, &e), 0);
    assert_int_equal(plain_len, strlen(s_plain));
    assert_memory_equal(plain, s_plain, plain_len);
    uint8_t nonce[24];
    memset(nonce, 0x04, sizeof nonce);
    assert_memory_equal(p.ct, nonce, sizeof nonce);
    free(plain);
    zn_doc_free(&doc);
    free(env);
}

static void test_vector_request(void **state)
{
    (void)state;
    zn_seckeys signer;
    zn_err e;
    uint8_t case_id[ZN_ID_LEN], *req = NULL, sig[ZN_SIG_LEN];
    size_t req_len = 0;
    msgpack_sbuffer body;

    s_keys(&signer, 0x01, 0x02);
    memset(case_id, 0x22, sizeof case_id);
    msgpack_sbuffer_init(&body);
    assert_int_equal(s_case_new(&body, case_id, "0-12-binnenstad"), 0);
    s_check_vector("case-new-body", VEC_CASE_NEW_BODY, (const uint8_t *)body.data, body.size);
    s_fixed = true;
    s_fill = 0x05; /* request nonce = 16 x 0x05 */
    int rc = zn_request_build("case-new", "basisschool-de-linde", "J. de Vries (IB)", 1767225600000ull, 3,
                              (const uint8_t *)body.data, body.size, &signer, &req, &req_len, sig, &e);
    s_fixed = false;
    assert_int_equal(rc, 0);
    s_check_vector("request-case-new", VEC_REQUEST, req, req_len);
    s_check_vector("request-case-new-signature", VEC_REQUEST_SIGNATURE, sig, ZN_SIG_LEN);
    assert_int_equal(zn_request_verify(req, req_len, sig, signer.pub.sign), 0);
    msgpack_sbuffer_destroy(&body);
    free(req);
}

/* ------------------------------------------------------------ padding */

static void test_pad_bucket(void **state)
{
    (void)state;
    assert_int_equal(zn_pad_bucket(0), 256);
    assert_int_equal(zn_pad_bucket(1), 256);
    assert_int_equal(zn_pad_bucket(255), 256);
    assert_int_equal(zn_pad_bucket(256), 512);
    assert_int_equal(zn_pad_bucket(511), 512);
    assert_int_equal(zn_pad_bucket(512), 1024);
    assert_int_equal(zn_pad_bucket(1000), 1024);
    assert_int_equal(zn_pad_bucket(1023), 1024);
    assert_int_equal(zn_pad_bucket(1024), 2048);
    assert_int_equal(zn_pad_bucket(ZN_MAX_CONTENT), 1024u * 1024u);
    assert_int_equal(zn_pad_bucket(ZN_MAX_CONTENT + 1), 0);
    assert_int_equal(zn_pad_bucket(SIZE_MAX), 0);
}

static void s_roundtrip(size_t len, size_t bucket)
{
    zn_seckeys sender, recipient;
    zn_header h = s_header();
    zn_err e;
    uint8_t *content = malloc(len ? len : 1), *env = NULL, *plain = NULL;
    size_t env_len = 0, plain_len = 0;
    assert_non_null(content);
    randombytes_buf(content, len);
    if (len)
        content[len - 1] = 0x80; /* looks like a padding marker: must survive unpadding */

    s_keys(&sender, 0x31, 0x32);
    s_keys(&recipient, 0x33, 0x34);
    assert_int_equal(zn_envelope_seal(&h, content, len, recipient.pub.box, &sender, &env, &env_len, &e), 0);
    zn_doc doc;
    zn_envelope p;
    assert_int_equal(zn_envelope_parse_bytes(env, env_len, &doc, &p, &e), 0);
    assert_int_equal(p.ct_len, ZN_CT_OVERHEAD + bucket);
    assert_memory_equal(p.h.msgid, h.msgid, ZN_ID_LEN);
    assert_memory_equal(p.h.case_id, h.case_id, ZN_ID_LEN);
    assert_string_equal(p.h.sender, h.sender);
    assert_string_equal(p.h.handler, h.handler);
    assert_string_equal(p.h.recipient, h.recipient);
    assert_true(p.h.time_ms == h.time_ms);
    assert_true(p.h.convenant_version == h.convenant_version);
    assert_true(p.h.flags == 0);
    assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), 0);
    assert_int_equal(zn_envelope_open(&p, sender.pub.box, recipient.box, &plain, &plain_len, &e), 0);
    assert_int_equal(plain_len, len);
    if (len)
        assert_memory_equal(plain, content, len);

    /* re-encoding a parsed envelope gives the same bytes */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    zn_envelope_pack(&pk, &p);
    assert_int_equal(sb.size, env_len);
    assert_memory_equal(sb.data, env, env_len);
    msgpack_sbuffer_destroy(&sb);

    free(plain);
    zn_doc_free(&doc);
    free(env);
    free(content);
}

static void test_padding_buckets(void **state)
{
    (void)state;
    s_roundtrip(0, 256);
    s_roundtrip(1, 256);
    s_roundtrip(255, 256);
    s_roundtrip(256, 512);
    s_roundtrip(1000, 1024);
    s_roundtrip(ZN_MAX_CONTENT, 1024u * 1024u);
}

/* ------------------------------------------------------------ seal arguments */

static void test_seal_refuses_bad_input(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    zn_err e;
    uint8_t *env = (uint8_t *)&e, *big = NULL;
    size_t env_len = 1;
    s_keys(&sender, 0x41, 0x42);
    s_keys(&recipient, 0x43, 0x44);

    zn_header h = s_header();
    big = calloc(1, ZN_MAX_CONTENT + 1);
    assert_non_null(big);
    assert_int_equal(zn_envelope_seal(&h, big, ZN_MAX_CONTENT + 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_TOO_LARGE);
    assert_null(env);
    assert_int_equal(env_len, 0);
    free(big);

    h = s_header();
    strcpy(h.sender, "Basisschool");
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    h = s_header();
    h.recipient[0] = '\0';
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    h = s_header();
    memset(h.recipient, 'a', sizeof h.recipient); /* no NUL inside */
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    h = s_header();
    h.handler[0] = '\0';
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    h = s_header();
    strcpy(h.handler, "J.\tde Vries");
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    h = s_header();
    memset(h.handler, 'a', sizeof h.handler); /* 128 bytes, no NUL */
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    h = s_header();
    h.flags = 2; /* only bit 0 (i-checked) is defined */
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    h.flags = ZN_FLAG_I_CHECKED | (1ull << 63);
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    h = s_header();
    assert_int_equal(zn_envelope_seal(&h, NULL, 5, recipient.pub.box, &sender, &env, &env_len, &e), -1);
    /* a low-order recipient key gives no shared secret */
    uint8_t zero[ZN_KEY_LEN] = {0};
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, zero, &sender, &env, &env_len, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_null(env);

    /* the longest allowed names and handler still fit in the header limit */
    memset(h.sender, 'a', ZN_IDENT_MAX - 1);
    h.sender[ZN_IDENT_MAX - 1] = '\0';
    memset(h.recipient, 'b', ZN_IDENT_MAX - 1);
    h.recipient[ZN_IDENT_MAX - 1] = '\0';
    memset(h.handler, 'c', ZN_HANDLER_MAX - 1);
    h.handler[ZN_HANDLER_MAX - 1] = '\0';
    h.time_ms = UINT64_MAX;
    h.convenant_version = UINT64_MAX;
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env,
                                      &env_len, &e), 0);
    zn_doc doc;
    zn_envelope p;
    assert_int_equal(zn_envelope_parse_bytes(env, env_len, &doc, &p, &e), 0);
    assert_true(p.header_len <= ZN_MAX_HEADER);
    assert_string_equal(p.h.handler, h.handler);
    zn_doc_free(&doc);
    free(env);
}

/* ------------------------------------------------------------ tampering */

static uint8_t *s_sealed(const zn_seckeys *sender, const zn_seckeys *recipient, size_t *len)
{
    zn_header h = s_header();
    zn_err e;
    uint8_t *env = NULL;
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)s_plain, strlen(s_plain), recipient->pub.box,
                                      sender, &env, len, &e), 0);
    return env;
}

/* 1 when the bytes parse, verify and open to the original plaintext */
static int s_accepts(const uint8_t *env, size_t len, const zn_seckeys *sender, const zn_seckeys *recipient)
{
    zn_doc doc;
    zn_envelope p;
    zn_err e;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int ok = 0;
    if (zn_envelope_parse_bytes(env, len, &doc, &p, &e) != 0)
        return 0;
    if (zn_envelope_verify(&p, sender->pub.sign) == 0 &&
        zn_envelope_open(&p, sender->pub.box, recipient->box, &plain, &plain_len, &e) == 0) {
        ok = 1;
        free(plain);
    }
    zn_doc_free(&doc);
    return ok;
}

static void test_tamper_every_byte(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    size_t len = 0;
    s_keys(&sender, 0x51, 0x52);
    s_keys(&recipient, 0x53, 0x54);
    uint8_t *env = s_sealed(&sender, &recipient, &len);
    assert_int_equal(s_accepts(env, len, &sender, &recipient), 1);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            env[i] ^= (uint8_t)(1u << bit);
            if (s_accepts(env, len, &sender, &recipient))
                fail_msg("flipping bit %d of byte %zu went unnoticed", bit, i);
            env[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(env);
}

static void test_tamper_parts(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    zn_doc doc;
    zn_envelope p;
    zn_err e;
    size_t len = 0;
    s_keys(&sender, 0x61, 0x62);
    s_keys(&recipient, 0x63, 0x64);
    uint8_t *env = s_sealed(&sender, &recipient, &len);
    assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), 0);
    size_t hoff = (size_t)(p.header_raw - env), hlen = p.header_len;
    size_t coff = (size_t)(p.ct - env), clen = p.ct_len;
    /* the signature (bin8 of 64: c4 40 ...) follows the header */
    size_t soff = hoff + hlen + 2;
    assert_memory_equal(env + soff, p.sig, ZN_SIG_LEN);
    zn_doc_free(&doc);

    /* header: parse fails, or the signature does not verify */
    for (size_t i = 0; i < hlen; i++) {
        env[hoff + i] ^= 0x01;
        if (zn_envelope_parse_bytes(env, len, &doc, &p, &e) == 0) {
            assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), -1);
            zn_doc_free(&doc);
        }
        env[hoff + i] ^= 0x01;
    }
    /* signature: parses, never verifies */
    for (size_t i = 0; i < ZN_SIG_LEN; i++) {
        env[soff + i] ^= 0x20;
        assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), 0);
        assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), -1);
        zn_doc_free(&doc);
        env[soff + i] ^= 0x20;
    }
    /* ciphertext: parses (the hash is not checked there) and the header still verifies, but
     * the header's hash no longer matches, so it never opens */
    for (size_t i = 0; i < clen; i++) {
        uint8_t *plain = (uint8_t *)&e;
        size_t plain_len = 1;
        env[coff + i] ^= 0x80;
        assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), 0);
        assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), 0);
        zn_err_clear(&e);
        assert_int_equal(zn_envelope_check_hash(&p, &e), -1);
        assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
        zn_err_clear(&e);
        assert_int_equal(zn_envelope_open(&p, sender.pub.box, recipient.box, &plain, &plain_len, &e), -1);
        assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
        assert_null(plain);
        assert_int_equal(plain_len, 0);
        zn_doc_free(&doc);
        env[coff + i] ^= 0x80;
    }
    /* wrong keys */
    assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), 0);
    zn_seckeys other;
    uint8_t *plain = (uint8_t *)&e;
    size_t plain_len = 1;
    s_keys(&other, 0x65, 0x66);
    assert_int_equal(zn_envelope_verify(&p, other.pub.sign), -1);
    assert_int_equal(zn_envelope_open(&p, sender.pub.box, other.box, &plain, &plain_len, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_null(plain);
    assert_int_equal(plain_len, 0);
    assert_int_equal(zn_envelope_open(&p, other.pub.box, recipient.box, &plain, &plain_len, &e), -1);
    /* the sender's own box key does not open what it sent to someone else */
    assert_int_equal(zn_envelope_open(&p, recipient.pub.box, sender.box, &plain, &plain_len, &e), 0);
    free(plain);
    zn_doc_free(&doc);
    free(env);
}

/* Build [header, sig, ct] from parts; the header is packed by the caller. */
static uint8_t *s_assemble(const uint8_t *hdr, size_t hlen, const uint8_t *sig, size_t slen,
                           const uint8_t *ct, size_t clen, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_bin(&pk, hdr, hlen);
    zn_pack_bin(&pk, sig, slen);
    zn_pack_bin(&pk, ct, clen);
    *len = sb.size;
    return (uint8_t *)sb.data;
}

/* Box content with the vector keys into a ciphertext of nonce || box, for crafted envelopes. */
static uint8_t *s_box(const uint8_t *padded, size_t plen, const zn_seckeys *sender,
                      const zn_seckeys *recipient, size_t *clen)
{
    uint8_t *ct = malloc(ZN_CT_OVERHEAD + plen);
    assert_non_null(ct);
    randombytes_buf(ct, crypto_box_NONCEBYTES);
    assert_int_equal(crypto_box_easy(ct + crypto_box_NONCEBYTES, padded, plen, ct, recipient->pub.box,
                                     sender->box), 0);
    *clen = ZN_CT_OVERHEAD + plen;
    return ct;
}

enum { M_NONE, M_NIL, M_TYPE, M_BAD, M_BAD2 };

/* Pack header field i, or a wrong value for it. Returns false when mutation m has no meaning. */
static bool s_pack_header_field(msgpack_packer *pk, int i, int m, const uint8_t hash[ZN_HASH_LEN])
{
    uint8_t id[17] = {0};
    if (m == M_NIL) {
        msgpack_pack_nil(pk);
        return true;
    }
    switch (i) {
    case 0: /* version */
        if (m == M_NONE) msgpack_pack_uint64(pk, 1);
        else if (m == M_TYPE) zn_pack_str(pk, "1");
        else if (m == M_BAD) msgpack_pack_uint64(pk, 2);
        else msgpack_pack_int64(pk, -1);
        return true;
    case 1: case 2: /* msgid, case */
        if (m == M_NONE) zn_pack_bin(pk, id, 16);
        else if (m == M_TYPE) zn_pack_str(pk, "0123456789abcdef");
        else zn_pack_bin(pk, id, m == M_BAD ? 15 : 17);
        return true;
    case 3: case 5: /* sender, recipient */
        if (m == M_NONE) zn_pack_str(pk, i == 3 ? "school" : "wijkracht");
        else if (m == M_TYPE) zn_pack_bin(pk, "school", 6);
        else zn_pack_str(pk, m == M_BAD ? "School" : "");
        return true;
    case 4: /* handler */
        if (m == M_NONE) zn_pack_str(pk, "J. de Vries");
        else if (m == M_TYPE) msgpack_pack_uint64(pk, 7);
        else zn_pack_str(pk, m == M_BAD ? "J.\x01" : "");
        return true;
    case 6: case 7: case 8: /* time, convenant_version, flags */
        if (m == M_NONE) msgpack_pack_uint64(pk, i == 8 ? 0 : 5);
        else if (m == M_TYPE) msgpack_pack_true(pk);
        else if (m == M_BAD) msgpack_pack_int64(pk, -5);
        else if (i == 8) msgpack_pack_uint64(pk, 3); /* only bit 0 (i-checked) is defined */
        else return false;
        return true;
    case 9: /* ct_hash */
        if (m == M_NONE) zn_pack_bin(pk, hash, ZN_HASH_LEN);
        else if (m == M_TYPE) msgpack_pack_array(pk, 0);
        else if (m == M_BAD) zn_pack_bin(pk, hash, ZN_HASH_LEN - 1);
        else zn_pack_bin(pk, id, 17);
        return true;
    }
    return false;
}

static const char *s_header_names[10] = {"version", "msgid", "case", "sender", "handler",
                                         "recipient", "time", "convenant_version", "flags", "ct_hash"};

static void test_header_fields_refused(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    uint8_t padded[256] = {0x80}, hash[ZN_HASH_LEN], sig[ZN_SIG_LEN] = {0};
    size_t clen = 0;
    s_keys(&sender, 0x71, 0x72);
    s_keys(&recipient, 0x73, 0x74);
    uint8_t *ct = s_box(padded, sizeof padded, &sender, &recipient, &clen);
    assert_int_equal(crypto_hash_sha256(hash, ct, clen), 0);

    for (int field = -1; field < 10; field++) {
        for (int m = M_NIL; m <= M_BAD2; m++) {
            msgpack_sbuffer hb;
            msgpack_packer pk;
            bool meaningful = true;
            msgpack_sbuffer_init(&hb);
            msgpack_packer_init(&pk, &hb, msgpack_sbuffer_write);
            msgpack_pack_array(&pk, 10);
            for (int i = 0; i < 10; i++)
                if (!s_pack_header_field(&pk, i, i == field ? m : M_NONE, hash))
                    meaningful = false;
            if (!meaningful || (field < 0 && m != M_NIL)) {
                msgpack_sbuffer_destroy(&hb);
                continue;
            }
            size_t len = 0;
            uint8_t *env = s_assemble((const uint8_t *)hb.data, hb.size, sig, ZN_SIG_LEN, ct, clen, &len);
            zn_doc doc;
            zn_envelope p;
            zn_err e;
            int rc = zn_envelope_parse_bytes(env, len, &doc, &p, &e);
            if (field < 0) { /* the unmutated header parses */
                assert_int_equal(rc, 0);
                assert_string_equal(p.h.handler, "J. de Vries");
                zn_doc_free(&doc);
            } else {
                assert_int_equal(rc, -1);
                assert_false(doc.live);
                zn_code want = ZN_E_MALFORMED;
                if (field == 0 && m == M_BAD)
                    want = ZN_E_VERSION;
                if (field == 9 && m == M_BAD2)
                    want = ZN_E_MALFORMED; /* 17 bytes: wrong length */
                assert_int_equal(e.code, want);
                if (want == ZN_E_MALFORMED) {
                    char quoted[40];
                    snprintf(quoted, sizeof quoted, "'%s'", s_header_names[field]);
                    if (!strstr(e.text, quoted))
                        fail_msg("error for field %d mutation %d does not name it: %s", field, m, e.text);
                }
            }
            free(env);
            msgpack_sbuffer_destroy(&hb);
        }
    }

    /* a header hash that does not match the ciphertext: the envelope is well formed (it parses)
     * and the ciphertext is a good box for these keys, yet it does not open, on the hash; with
     * the right hash the same ciphertext opens */
    for (int right = 0; right <= 1; right++) {
        uint8_t wrong[ZN_HASH_LEN];
        memcpy(wrong, hash, sizeof wrong);
        if (!right)
            wrong[31] ^= 1;
        msgpack_sbuffer hb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&hb);
        msgpack_packer_init(&pk, &hb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 10);
        for (int i = 0; i < 10; i++)
            assert_true(s_pack_header_field(&pk, i, M_NONE, wrong));
        size_t len = 0;
        uint8_t *env = s_assemble((const uint8_t *)hb.data, hb.size, sig, ZN_SIG_LEN, ct, clen, &len);
        zn_doc doc;
        zn_envelope p;
        zn_err e;
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), 0);
        zn_err_clear(&e);
        int hrc = zn_envelope_check_hash(&p, &e);
        int orc = zn_envelope_open(&p, sender.pub.box, recipient.box, &plain, &plain_len, &e);
        if (right) {
            assert_int_equal(hrc, 0);
            assert_int_equal(orc, 0);
            assert_int_equal(plain_len, 0); /* the padded bucket held no content */
            free(plain);
        } else {
            assert_int_equal(hrc, -1);
            assert_int_equal(orc, -1);
            assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
            assert_null(plain);
        }
        zn_doc_free(&doc);
        free(env);
        msgpack_sbuffer_destroy(&hb);
    }
    /* 9 and 11 header fields; a header that is not one msgpack object */
    for (int count = 9; count <= 12; count++) {
        msgpack_sbuffer hb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&hb);
        msgpack_packer_init(&pk, &hb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, count == 12 ? 10 : (uint32_t)count);
        for (int i = 0; i < (count == 12 ? 10 : count); i++)
            assert_true(s_pack_header_field(&pk, i < 10 ? i : 6, M_NONE, hash));
        if (count == 12)
            msgpack_pack_uint8(&pk, 0); /* trailing byte after the header */
        if (count == 10) {
            msgpack_sbuffer_destroy(&hb);
            continue;
        }
        size_t len = 0;
        uint8_t *env = s_assemble((const uint8_t *)hb.data, hb.size, sig, ZN_SIG_LEN, ct, clen, &len);
        zn_doc doc;
        zn_envelope p;
        zn_err e;
        assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), -1);
        assert_int_equal(e.code, ZN_E_MALFORMED);
        free(env);
        msgpack_sbuffer_destroy(&hb);
    }
    free(ct);
}

static void test_envelope_shape_refused(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    zn_doc doc;
    zn_envelope p;
    zn_err e;
    size_t len = 0, elen = 0;
    s_keys(&sender, 0x81, 0x82);
    s_keys(&recipient, 0x83, 0x84);
    uint8_t *good = s_sealed(&sender, &recipient, &len);
    assert_int_equal(zn_envelope_parse_bytes(good, len, &doc, &p, &e), 0);
    const uint8_t *hdr = p.header_raw, *ct = p.ct;
    size_t hlen = p.header_len, clen = p.ct_len;
    uint8_t sig[ZN_SIG_LEN + 1];
    memcpy(sig, p.sig, ZN_SIG_LEN);
    sig[ZN_SIG_LEN] = 0;
    zn_doc_free(&doc); /* hdr and ct point into good, not into the doc */

    uint8_t *env;
    /* signature of 63 and 65 bytes */
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN - 1, ct, clen, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    assert_non_null(strstr(e.text, "'signature'"));
    free(env);
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN + 1, ct, clen, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    free(env);
    /* ciphertext one byte short, or cut to a size that is no bucket */
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN, ct, clen - 1, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
    assert_non_null(strstr(e.text, "'ciphertext'"));
    free(env);
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN, ct, ZN_CT_OVERHEAD + 128, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    free(env);
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN, ct, 0, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    free(env);
    /* ciphertext larger than any bucket */
    uint8_t *huge = calloc(1, ZN_MAX_CT + 1);
    assert_non_null(huge);
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN, huge, ZN_MAX_CT + 1, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    free(env);
    /* the largest bucket is a size that parses; its hash (of another ciphertext) does not match */
    env = s_assemble(hdr, hlen, sig, ZN_SIG_LEN, huge, ZN_MAX_CT, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), 0);
    assert_int_equal(p.ct_len, ZN_MAX_CT);
    assert_int_equal(zn_envelope_check_hash(&p, &e), -1);
    assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
    zn_doc_free(&doc);
    free(env);
    free(huge);
    /* header larger than ZN_MAX_HEADER */
    uint8_t bighdr[ZN_MAX_HEADER + 1] = {0};
    env = s_assemble(bighdr, sizeof bighdr, sig, ZN_SIG_LEN, ct, clen, &elen);
    assert_int_equal(zn_envelope_parse_bytes(env, elen, &doc, &p, &e), -1);
    assert_non_null(strstr(e.text, "'header'"));
    free(env);

    /* not an array of three bins */
    const char *shapes[] = {"\x92\xc4\x00\xc4\x00", "\x94\xc4\x00\xc4\x00\xc4\x00\xc4\x00", "\x93\xa0\xa0\xa0",
                            "\xc0", "\x93\xc0\xc0\xc0"};
    const size_t shape_len[] = {5, 9, 4, 1, 4};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        assert_int_equal(zn_envelope_parse_bytes((const uint8_t *)shapes[i], shape_len[i], &doc, &p, &e), -1);
        assert_int_equal(e.code, ZN_E_MALFORMED);
        assert_false(doc.live);
    }
    /* every truncation, and a trailing byte */
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(zn_envelope_parse_bytes(good, i, &doc, &p, &e), -1);
        assert_false(doc.live);
    }
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, good, len);
    longer[len] = 0xc0;
    assert_int_equal(zn_envelope_parse_bytes(longer, len + 1, &doc, &p, &e), -1);
    free(longer);
    free(good);
}

/* The hash is checked when opening, not when parsing: a ciphertext swapped in from another
 * envelope, genuinely sealed with the same keys, parses and its header verifies, but it does not
 * open, because the signed header names another ciphertext. */
static void test_open_checks_hash(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    zn_doc d1, d2, d3;
    zn_envelope p1, p2, p3;
    zn_err e;
    uint8_t *plain = NULL;
    size_t plain_len = 0, len1 = 0, len2 = 0, len3 = 0;
    s_keys(&sender, 0xa1, 0xa2);
    s_keys(&recipient, 0xa3, 0xa4);
    zn_header h = s_header();
    uint8_t *env1 = NULL, *env2 = NULL;
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"first", 5, recipient.pub.box, &sender, &env1,
                                      &len1, &e), 0);
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"second", 6, recipient.pub.box, &sender, &env2,
                                      &len2, &e), 0);
    assert_int_equal(zn_envelope_parse_bytes(env1, len1, &d1, &p1, &e), 0);
    assert_int_equal(zn_envelope_parse_bytes(env2, len2, &d2, &p2, &e), 0);
    assert_int_equal(zn_envelope_check_hash(&p1, &e), 0);
    assert_int_equal(zn_envelope_check_hash(&p2, &e), 0);
    assert_int_equal(p1.ct_len, p2.ct_len);

    /* header and signature of the first, ciphertext of the second */
    uint8_t *mixed = s_assemble(p1.header_raw, p1.header_len, p1.sig, ZN_SIG_LEN, p2.ct, p2.ct_len, &len3);
    assert_int_equal(zn_envelope_parse_bytes(mixed, len3, &d3, &p3, &e), 0);
    assert_int_equal(zn_envelope_verify(&p3, sender.pub.sign), 0);
    zn_err_clear(&e);
    assert_int_equal(zn_envelope_check_hash(&p3, &e), -1);
    assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
    assert_string_equal(e.text, zn_code_hint(ZN_E_HASH_MISMATCH));
    zn_err_clear(&e);
    plain = (uint8_t *)&e;
    plain_len = 1;
    assert_int_equal(zn_envelope_open(&p3, sender.pub.box, recipient.box, &plain, &plain_len, &e), -1);
    assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
    assert_null(plain);
    assert_int_equal(plain_len, 0);
    /* the same ciphertext under its own header opens */
    assert_int_equal(zn_envelope_open(&p2, sender.pub.box, recipient.box, &plain, &plain_len, &e), 0);
    assert_int_equal(plain_len, 6);
    assert_memory_equal(plain, "second", 6);
    free(plain);

    /* one bit of the parsed ct_hash is enough; the check reads the envelope as given */
    p1.h.ct_hash[ZN_HASH_LEN - 1] ^= 0x01;
    assert_int_equal(zn_envelope_check_hash(&p1, &e), -1);
    assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
    p1.h.ct_hash[ZN_HASH_LEN - 1] ^= 0x01;
    assert_int_equal(zn_envelope_check_hash(&p1, &e), 0);
    /* no envelope */
    assert_int_equal(zn_envelope_check_hash(NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_INTERNAL);
    assert_int_equal(zn_envelope_check_hash(&p1, NULL), 0);

    zn_doc_free(&d3);
    zn_doc_free(&d2);
    zn_doc_free(&d1);
    free(mixed);
    free(env2);
    free(env1);
}

static void test_open_refuses_bad_padding(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    uint8_t padded[256], hash[ZN_HASH_LEN], sig[ZN_SIG_LEN], *plain = NULL;
    size_t clen = 0, plain_len = 0, len = 0;
    zn_err e;
    s_keys(&sender, 0x91, 0x92);
    s_keys(&recipient, 0x93, 0x94);
    memset(padded, 0x00, sizeof padded); /* no 0x80 marker anywhere */
    uint8_t *ct = s_box(padded, sizeof padded, &sender, &recipient, &clen);
    assert_int_equal(crypto_hash_sha256(hash, ct, clen), 0);
    msgpack_sbuffer hb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&hb);
    msgpack_packer_init(&pk, &hb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 10);
    for (int i = 0; i < 10; i++)
        assert_true(s_pack_header_field(&pk, i, M_NONE, hash));
    uint8_t msg[sizeof ZN_ENVELOPE_NS - 1 + ZN_MAX_HEADER];
    memcpy(msg, ZN_ENVELOPE_NS, sizeof ZN_ENVELOPE_NS - 1);
    memcpy(msg + sizeof ZN_ENVELOPE_NS - 1, hb.data, hb.size);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, sizeof ZN_ENVELOPE_NS - 1 + hb.size, sender.sign), 0);
    uint8_t *env = s_assemble((const uint8_t *)hb.data, hb.size, sig, ZN_SIG_LEN, ct, clen, &len);
    zn_doc doc;
    zn_envelope p;
    assert_int_equal(zn_envelope_parse_bytes(env, len, &doc, &p, &e), 0);
    assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), 0);
    assert_int_equal(zn_envelope_open(&p, sender.pub.box, recipient.box, &plain, &plain_len, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_null(plain);
    /* signed without the namespace: does not verify */
    assert_int_equal(crypto_sign_detached(p.sig, NULL, (const uint8_t *)hb.data, hb.size, sender.sign), 0);
    assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), -1);
    zn_doc_free(&doc);
    free(env);
    free(ct);
    msgpack_sbuffer_destroy(&hb);
}

/* ------------------------------------------------------------ requests */

static uint8_t *s_request(const zn_seckeys *signer, size_t *len, uint8_t sig[ZN_SIG_LEN])
{
    uint8_t case_id[ZN_ID_LEN], *req = NULL;
    msgpack_sbuffer body;
    zn_err e;
    memset(case_id, 0x22, sizeof case_id);
    msgpack_sbuffer_init(&body);
    assert_int_equal(s_case_new(&body, case_id, "12-18"), 0);
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A. Bakker", 1000, 2, (const uint8_t *)body.data,
                                      body.size, signer, &req, len, sig, &e), 0);
    msgpack_sbuffer_destroy(&body);
    return req;
}

static void test_request_roundtrip(void **state)
{
    (void)state;
    zn_seckeys signer, other;
    uint8_t sig[ZN_SIG_LEN], sig2[ZN_SIG_LEN];
    zn_case_new_body cn;
    size_t len = 0, len2 = 0;
    zn_doc doc;
    zn_request r;
    zn_err e;
    s_keys(&signer, 0xa1, 0xa2);
    s_keys(&other, 0xa3, 0xa4);
    uint8_t *req = s_request(&signer, &len, sig);
    uint8_t *req2 = s_request(&signer, &len2, sig2);
    assert_int_equal(len, len2);
    assert_memory_not_equal(req, req2, len); /* fresh nonce each time */

    assert_int_equal(zn_request_parse(req, len, &doc, &r, &e), 0);
    assert_string_equal(r.kind, "case-new");
    assert_string_equal(r.partner, "wijkracht");
    assert_string_equal(r.handler, "A. Bakker");
    assert_true(r.time_ms == 1000 && r.convenant_version == 2);
    assert_int_equal(zn_body_case_new_dec(r.body, &cn, &e), 0);
    assert_string_equal(cn.network, "12-18");
    assert_false(cn.identified);
    for (int i = 0; i < ZN_ID_LEN; i++)
        assert_int_equal(cn.id[i], 0x22);
    zn_doc_free(&doc);

    assert_int_equal(zn_request_verify(req, len, sig, signer.pub.sign), 0);
    assert_int_equal(zn_request_verify(req, len, sig, other.pub.sign), -1);
    assert_int_equal(zn_request_verify(req, len, sig2, signer.pub.sign), -1);
    assert_int_equal(zn_request_verify(req, 0, sig, signer.pub.sign), -1);
    assert_int_equal(zn_request_verify(req, ZN_MAX_REQUEST + 1, sig, signer.pub.sign), -1);
    for (size_t i = 0; i < len; i++) {
        req[i] ^= 0x04;
        assert_int_equal(zn_request_verify(req, len, sig, signer.pub.sign), -1);
        req[i] ^= 0x04;
    }
    for (size_t i = 0; i < ZN_SIG_LEN; i++) {
        sig[i] ^= 0x04;
        assert_int_equal(zn_request_verify(req, len, sig, signer.pub.sign), -1);
        sig[i] ^= 0x04;
    }
    /* a request signature is no envelope signature: the namespaces differ */
    uint8_t msg[sizeof ZN_ENVELOPE_NS - 1 + 512];
    assert_true(len <= 512);
    memcpy(msg, ZN_ENVELOPE_NS, sizeof ZN_ENVELOPE_NS - 1);
    memcpy(msg + sizeof ZN_ENVELOPE_NS - 1, req, len);
    assert_int_equal(crypto_sign_detached(sig2, NULL, msg, sizeof ZN_ENVELOPE_NS - 1 + len, signer.sign), 0);
    assert_int_equal(zn_request_verify(req, len, sig2, signer.pub.sign), -1);

    /* every truncation and a trailing byte */
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(zn_request_parse(req, i, &doc, &r, &e), -1);
        assert_false(doc.live);
    }
    uint8_t *longer = malloc(len + 1);
    assert_non_null(longer);
    memcpy(longer, req, len);
    longer[len] = 0x00;
    assert_int_equal(zn_request_parse(longer, len + 1, &doc, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_MALFORMED);
    free(longer);
    free(req);
    free(req2);
}

static bool s_pack_request_field(msgpack_packer *pk, int i, int m)
{
    uint8_t nonce[17] = {0};
    if (m == M_NIL) {
        msgpack_pack_nil(pk);
        return true;
    }
    switch (i) {
    case 0:
        if (m == M_NONE) msgpack_pack_uint64(pk, 1);
        else if (m == M_TYPE) zn_pack_str(pk, "1");
        else if (m == M_BAD) msgpack_pack_uint64(pk, 2);
        else msgpack_pack_uint64(pk, 0);
        return true;
    case 1: case 2:
        if (m == M_NONE) zn_pack_str(pk, i == 1 ? "case-new" : "wijkracht");
        else if (m == M_TYPE) msgpack_pack_uint64(pk, 1);
        else zn_pack_str(pk, m == M_BAD ? "Case New" : "");
        return true;
    case 3:
        if (m == M_NONE) zn_pack_str(pk, "A. Bakker");
        else if (m == M_TYPE) zn_pack_bin(pk, "A", 1);
        else zn_pack_str(pk, m == M_BAD ? "A.\x7f" : "");
        return true;
    case 4:
        if (m == M_NONE) zn_pack_bin(pk, nonce, 16);
        else if (m == M_TYPE) zn_pack_str(pk, "0123456789abcdef");
        else zn_pack_bin(pk, nonce, m == M_BAD ? 15 : 17);
        return true;
    case 5: case 6:
        if (m == M_NONE) msgpack_pack_uint64(pk, 9);
        else if (m == M_TYPE) msgpack_pack_false(pk);
        else if (m == M_BAD) msgpack_pack_int64(pk, -9);
        else return false;
        return true;
    case 7: /* the body is checked per kind, not here */
        if (m == M_NONE) {
            msgpack_pack_array(pk, 2);
            zn_pack_bin(pk, nonce, 16);
            zn_pack_str(pk, "12-18");
            return true;
        }
        return false;
    }
    return false;
}

static const char *s_request_names[8] = {"version", "kind", "partner", "handler", "nonce",
                                         "time", "convenant_version", "body"};

static void test_request_fields_refused(void **state)
{
    (void)state;
    for (int field = -1; field < 8; field++) {
        for (int m = M_NIL; m <= M_BAD2; m++) {
            if (field < 0 && m != M_NIL)
                continue;
            msgpack_sbuffer sb;
            msgpack_packer pk;
            bool meaningful = true;
            msgpack_sbuffer_init(&sb);
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_array(&pk, 8);
            for (int i = 0; i < 8; i++)
                if (!s_pack_request_field(&pk, i, i == field ? m : M_NONE))
                    meaningful = false;
            zn_doc doc;
            zn_request r;
            zn_err e;
            if (field == 7 && m == M_NIL) {
                /* a nil body is structurally fine; case-new refuses it */
                assert_int_equal(zn_request_parse((const uint8_t *)sb.data, sb.size, &doc, &r, &e), 0);
                zn_case_new_body cn;
                assert_int_equal(zn_body_case_new_dec(r.body, &cn, &e), -1);
                zn_doc_free(&doc);
            } else if (meaningful) {
                int rc = zn_request_parse((const uint8_t *)sb.data, sb.size, &doc, &r, &e);
                if (field < 0) {
                    assert_int_equal(rc, 0);
                    zn_doc_free(&doc);
                } else {
                    assert_int_equal(rc, -1);
                    assert_false(doc.live);
                    bool version = field == 0 && (m == M_BAD || m == M_BAD2); /* 2, 0 */
                    assert_int_equal(e.code, version ? ZN_E_VERSION : ZN_E_MALFORMED);
                    if (!version) {
                        char quoted[40];
                        snprintf(quoted, sizeof quoted, "'%s'", s_request_names[field]);
                        if (!strstr(e.text, quoted))
                            fail_msg("request field %d mutation %d not named: %s", field, m, e.text);
                    }
                }
            }
            msgpack_sbuffer_destroy(&sb);
        }
    }
    /* 7 and 9 fields */
    for (uint32_t count = 7; count <= 9; count += 2) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, count);
        for (uint32_t i = 0; i < count; i++)
            assert_true(s_pack_request_field(&pk, (int)(i < 8 ? i : 5), M_NONE));
        zn_doc doc;
        zn_request r;
        zn_err e;
        assert_int_equal(zn_request_parse((const uint8_t *)sb.data, sb.size, &doc, &r, &e), -1);
        assert_int_equal(e.code, ZN_E_MALFORMED);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_request_build_refuses_bad_input(void **state)
{
    (void)state;
    zn_seckeys signer;
    uint8_t sig[ZN_SIG_LEN], *req = (uint8_t *)&signer;
    size_t len = 1;
    zn_err e;
    const uint8_t body[] = {0x90}; /* [] */
    s_keys(&signer, 0xb1, 0xb2);

    assert_int_equal(zn_request_build("Case", "wijkracht", "A", 1, 1, body, 1, &signer, &req, &len, sig, &e), -1);
    assert_null(req);
    assert_int_equal(len, 0);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_request_build("case-new", "wijk kracht", "A", 1, 1, body, 1, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(zn_request_build("case-new", "wijkracht", "", 1, 1, body, 1, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A\n", 1, 1, body, 1, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(zn_request_build(NULL, "wijkracht", "A", 1, 1, body, 1, &signer, &req, &len, sig, &e), -1);
    const uint8_t bad1[] = {0xc1}, bad2[] = {0x01, 0x02}, bad3[] = {0x92, 0x01};
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A", 1, 1, bad1, 1, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A", 1, 1, bad2, 2, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A", 1, 1, bad3, 2, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A", 1, 1, body, 0, &signer, &req, &len, sig, &e), -1);
    /* a body that makes the request larger than ZN_MAX_REQUEST */
    size_t blen = ZN_MAX_REQUEST - 10;
    uint8_t *big = calloc(1, blen);
    assert_non_null(big);
    big[0] = 0xc6; /* bin32 */
    uint32_t n = (uint32_t)(blen - 5);
    big[1] = (uint8_t)(n >> 24), big[2] = (uint8_t)(n >> 16), big[3] = (uint8_t)(n >> 8), big[4] = (uint8_t)n;
    assert_int_equal(zn_request_build("case-new", "wijkracht", "A", 1, 1, big, blen, &signer, &req, &len, sig, &e), -1);
    assert_int_equal(e.code, ZN_E_TOO_LARGE);
    assert_null(req);
    free(big);
    /* body limits: what build accepts, parse accepts (depth 7 and 4088 objects), one more is refused */
    for (int extra = 0; extra <= 1; extra++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        zn_doc doc;
        zn_request r;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        for (int d = 0; d < ZN_WIRE_MAX_DEPTH - 1 + extra; d++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_nil(&pk);
        int rc = zn_request_build("x", "wijkracht", "A", 1, 1, (const uint8_t *)sb.data, sb.size, &signer, &req,
                                  &len, sig, &e);
        assert_int_equal(rc, extra ? -1 : 0);
        if (rc == 0) {
            assert_int_equal(zn_request_parse(req, len, &doc, &r, &e), 0);
            zn_doc_free(&doc);
            free(req);
        }
        msgpack_sbuffer_destroy(&sb);

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, (size_t)(4087 + extra)); /* 4088 (+1) objects */
        for (int i = 0; i < 4087 + extra; i++)
            msgpack_pack_nil(&pk);
        rc = zn_request_build("x", "wijkracht", "A", 1, 1, (const uint8_t *)sb.data, sb.size, &signer, &req, &len,
                              sig, &e);
        assert_int_equal(rc, extra ? -1 : 0);
        if (rc == 0) {
            assert_int_equal(zn_request_parse(req, len, &doc, &r, &e), 0);
            zn_doc_free(&doc);
            free(req);
        }
        msgpack_sbuffer_destroy(&sb);
    }
    /* and a request over the limit is refused by parse and verify */
    uint8_t *huge = calloc(1, ZN_MAX_REQUEST + 1);
    assert_non_null(huge);
    zn_doc doc;
    zn_request r;
    assert_int_equal(zn_request_parse(huge, ZN_MAX_REQUEST + 1, &doc, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_TOO_LARGE);
    free(huge);
}

/* Bit 0 of the flags (i-checked) travels signed and parses back; any other bit is refused. */
static void test_flag_i_checked(void **state)
{
    (void)state;
    zn_seckeys sender, recipient;
    zn_header h = s_header();
    uint8_t *env = NULL, *plain = NULL;
    size_t env_len = 0, plain_len = 0;
    zn_err e;
    zn_doc doc;
    zn_envelope p;

    assert_true(ZN_FLAG_I_CHECKED == 1 && ZN_ENVELOPE_FLAGS_KNOWN == 1);
    s_keys(&sender, 0x41, 0x42);
    s_keys(&recipient, 0x43, 0x44);
    h.flags = ZN_FLAG_I_CHECKED;
    assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"groep 7, 2025", 13, recipient.pub.box, &sender, &env,
                                      &env_len, &e), 0);
    assert_int_equal(zn_envelope_parse_bytes(env, env_len, &doc, &p, &e), 0);
    assert_true(p.h.flags == ZN_FLAG_I_CHECKED);
    assert_int_equal(zn_envelope_verify(&p, sender.pub.sign), 0);
    assert_int_equal(zn_envelope_open(&p, sender.pub.box, recipient.box, &plain, &plain_len, &e), 0);
    assert_int_equal(plain_len, 13);
    free(plain);
    zn_doc_free(&doc);
    free(env);
    for (unsigned bit = 1; bit < 64; bit++) {
        h.flags = ZN_FLAG_I_CHECKED | (1ull << bit);
        env = NULL;
        assert_int_equal(zn_envelope_seal(&h, (const uint8_t *)"x", 1, recipient.pub.box, &sender, &env, &env_len,
                                          &e), -1);
        assert_int_equal(e.code, ZN_E_USAGE);
        assert_null(env);
    }
}

static void test_case_new_body(void **state)
{
    (void)state;
    uint8_t id[ZN_ID_LEN] = {1};
    zn_case_new_body out;
    msgpack_sbuffer sb;
    zn_err e;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(s_case_new(&sb, id, "Twaalf"), -1);
    assert_int_equal(s_case_new(&sb, id, ""), -1);
    assert_int_equal(zn_body_case_new_enc(&sb, NULL), -1);
    assert_int_equal(sb.size, 0);
    assert_int_equal(s_case_new(&sb, id, "18plus"), 0);
    zn_doc doc;
    assert_int_equal(zn_doc_parse(&doc, (const uint8_t *)sb.data, sb.size, 8, 10), 0);
    assert_int_equal(zn_body_case_new_dec(&doc.root, &out, &e), 0);
    assert_memory_equal(out.id, id, ZN_ID_LEN);
    assert_string_equal(out.network, "18plus");
    assert_false(out.identified);
    zn_doc_free(&doc);
    msgpack_sbuffer_destroy(&sb);

    const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"\x91\xc4\x10" "0123456789abcdef", 19},                 /* one field */
        {"\x93\xc4\x10" "0123456789abcdef\xa1x\xa1y", 23},       /* three */
        {"\x95\xc4\x10" "0123456789abcdef\xa1x\xa1y\x90\xc0", 25}, /* five */
        {"\x92\xc4\x0f" "0123456789abcde\xa1x", 20},             /* bin15 */
        {"\x92\xa2xx\xa1x", 6},                                  /* str case id */
        {"\x92\xc4\x10" "0123456789abcdef\xa1X", 21},            /* capital */
        {"\x92\xc4\x10" "0123456789abcdef\x01", 20},             /* int network */
        {"\xc0", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(zn_doc_parse(&doc, (const uint8_t *)bad[i].p, bad[i].n, 8, 10), 0);
        assert_int_equal(zn_body_case_new_dec(&doc.root, &out, &e), -1);
        assert_int_equal(e.code, ZN_E_MALFORMED);
        zn_doc_free(&doc);
    }
}

int main(void)
{
    randombytes_set_implementation(&s_rb);
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_keys),
        cmocka_unit_test(test_vector_envelope),
        cmocka_unit_test(test_vector_request),
        cmocka_unit_test(test_pad_bucket),
        cmocka_unit_test(test_padding_buckets),
        cmocka_unit_test(test_seal_refuses_bad_input),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_tamper_parts),
        cmocka_unit_test(test_header_fields_refused),
        cmocka_unit_test(test_envelope_shape_refused),
        cmocka_unit_test(test_open_checks_hash),
        cmocka_unit_test(test_open_refuses_bad_padding),
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_request_fields_refused),
        cmocka_unit_test(test_request_build_refuses_bad_input),
        cmocka_unit_test(test_flag_i_checked),
        cmocka_unit_test(test_case_new_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
