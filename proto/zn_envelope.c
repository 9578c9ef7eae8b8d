/* zn_envelope — sealed, signed case messages (see zn_envelope.h and docs/PROTOCOL.md). */
#include "zn_envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_HEADER_FIELDS 10
#define S_HEADER_MAX_OBJECTS 16

size_t zn_pad_bucket(size_t len)
{
    if (len > ZN_MAX_CONTENT)
        return 0;
    size_t bucket = ZN_PAD_MIN;
    while (bucket < len + 1)
        bucket <<= 1;
    return bucket;
}

static bool s_is_bucket(size_t n)
{
    return n >= ZN_PAD_MIN && n <= ZN_MAX_CT - ZN_CT_OVERHEAD && (n & (n - 1)) == 0;
}

static int s_header_fields_check(const zn_header *h, zn_err *e)
{
    size_t hl = strnlen(h->handler, ZN_HANDLER_MAX);

    if (strnlen(h->sender, ZN_IDENT_MAX) >= ZN_IDENT_MAX || !zn_ident_valid(h->sender))
        return zn_err_set(e, ZN_E_USAGE, "the envelope's sender is not an identifier");
    if (strnlen(h->recipient, ZN_IDENT_MAX) >= ZN_IDENT_MAX || !zn_ident_valid(h->recipient))
        return zn_err_set(e, ZN_E_USAGE, "the envelope's recipient is not an identifier");
    if (hl == 0 || hl >= ZN_HANDLER_MAX || !zn_text_valid(h->handler, hl))
        return zn_err_set(e, ZN_E_USAGE,
                          "the handler must be 1 to %d bytes of text without control characters",
                          ZN_HANDLER_MAX - 1);
    if ((h->flags & ~ZN_ENVELOPE_FLAGS_KNOWN) != 0)
        return zn_err_set(e, ZN_E_USAGE, "envelope flags 0x%llx set a bit protocol version 1 does not know "
                                         "(only bit 0, i-checked, is defined)",
                          (unsigned long long)h->flags);
    return 0;
}

/* Encode the 10-field header into sb. */
static void s_header_pack(zn_buf *b, const zn_header *h)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, zn_buf_write);
    msgpack_pack_array(&pk, S_HEADER_FIELDS);
    msgpack_pack_uint64(&pk, 1);
    zn_pack_bin(&pk, h->msgid, ZN_ID_LEN);
    zn_pack_bin(&pk, h->case_id, ZN_ID_LEN);
    zn_pack_str(&pk, h->sender);
    zn_pack_str(&pk, h->handler);
    zn_pack_str(&pk, h->recipient);
    msgpack_pack_uint64(&pk, h->time_ms);
    msgpack_pack_uint64(&pk, h->convenant_version);
    msgpack_pack_uint64(&pk, h->flags);
    zn_pack_bin(&pk, h->ct_hash, ZN_HASH_LEN);
}


int zn_envelope_seal(const zn_header *h, const uint8_t *content, size_t len,
                     const uint8_t recipient_box_pk[ZN_KEY_LEN], const zn_seckeys *sender,
                     uint8_t **out, size_t *out_len, zn_err *e)
{
    uint8_t *padded = NULL, *ct = NULL;
    uint8_t sig[ZN_SIG_LEN];
    size_t bucket = 0, padded_len = 0, ct_len = 0;
    zn_buf hb = {.failed = false}, eb = {.failed = false};
    msgpack_packer pk;
    zn_header hh;
    int rc = -1;

    msgpack_sbuffer_init(&hb.sb);
    msgpack_sbuffer_init(&eb.sb);
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!h || !recipient_box_pk || !sender || !out || !out_len || (len && !content)) {
        zn_err_set(e, ZN_E_INTERNAL, "envelope seal called without its arguments");
        goto done;
    }
    if (len > ZN_MAX_CONTENT) {
        zn_err_set(e, ZN_E_TOO_LARGE, "the content is %zu bytes; at most %u bytes fit in one message",
                   len, ZN_MAX_CONTENT);
        goto done;
    }
    if (s_header_fields_check(h, e) != 0)
        goto done;

    bucket = zn_pad_bucket(len);
    ct_len = ZN_CT_OVERHEAD + bucket;
    padded = malloc(bucket);
    ct = malloc(ct_len);
    if (!padded || !ct) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while sealing an envelope");
        goto done;
    }
    if (len)
        memcpy(padded, content, len);
    if (sodium_pad(&padded_len, padded, len, bucket, bucket) != 0 || padded_len != bucket) {
        zn_err_set(e, ZN_E_INTERNAL, "padding the content failed");
        goto done;
    }
    randombytes_buf(ct, crypto_box_NONCEBYTES);
    if (crypto_box_easy(ct + crypto_box_NONCEBYTES, padded, padded_len, ct, recipient_box_pk,
                        sender->box) != 0) {
        zn_err_set(e, ZN_E_VERIFY, "the recipient's box key cannot be used for encryption");
        goto done;
    }

    hh = *h;
    if (crypto_hash_sha256(hh.ct_hash, ct, ct_len) != 0) {
        zn_err_set(e, ZN_E_INTERNAL, "hashing the ciphertext failed");
        goto done;
    }
    s_header_pack(&hb, &hh);
    if (hb.failed || hb.sb.size > ZN_MAX_HEADER) {
        zn_err_set(e, ZN_E_INTERNAL, "the envelope header could not be encoded in %u bytes",
                   ZN_MAX_HEADER);
        goto done;
    }
    if (zn_sign_ns(sig, ZN_ENVELOPE_NS, (const uint8_t *)hb.sb.data, hb.sb.size, sender->sign) != 0) {
        zn_err_set(e, ZN_E_INTERNAL, "signing the envelope header failed");
        goto done;
    }

    msgpack_packer_init(&pk, &eb, zn_buf_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_bin(&pk, hb.sb.data, hb.sb.size);
    zn_pack_bin(&pk, sig, ZN_SIG_LEN);
    zn_pack_bin(&pk, ct, ct_len);
    if (eb.failed) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while encoding an envelope");
        goto done;
    }
    *out = (uint8_t *)eb.sb.data; /* ownership moves to the caller */
    *out_len = eb.sb.size;
    eb.sb.data = NULL;
    eb.sb.size = eb.sb.alloc = 0;
    rc = 0;

done:
    if (padded) {
        sodium_memzero(padded, bucket);
        free(padded);
    }
    free(ct);
    msgpack_sbuffer_destroy(&hb.sb);
    msgpack_sbuffer_destroy(&eb.sb);
    return rc;
}

/* Parse the signed header bytes into h. */
static int s_header_parse(const uint8_t *p, size_t n, zn_header *h, zn_err *e)
{
    zn_doc doc;
    uint64_t v = 0;
    int rc = -1;

    if (zn_doc_parse(&doc, p, n, 1, S_HEADER_MAX_OBJECTS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "envelope header is not one msgpack array of %d fields",
                          S_HEADER_FIELDS);
    const msgpack_object *a = zn_obj_array(&doc.root, S_HEADER_FIELDS);
    if (!a) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header is not an array of exactly %d fields",
                   S_HEADER_FIELDS);
        goto done;
    }
    if (zn_obj_u64(&a[0], &v) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'version' is not an unsigned integer");
        goto done;
    }
    if (v != 1) {
        zn_err_set(e, ZN_E_VERSION, "envelope header version %llu is not supported (only 1 is)",
                   (unsigned long long)v);
        goto done;
    }
    if (zn_obj_bin_fixed(&a[1], h->msgid, ZN_ID_LEN) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'msgid' is not a %d-byte bin", ZN_ID_LEN);
        goto done;
    }
    if (zn_obj_bin_fixed(&a[2], h->case_id, ZN_ID_LEN) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'case' is not a %d-byte bin", ZN_ID_LEN);
        goto done;
    }
    if (zn_obj_ident(&a[3], h->sender, sizeof h->sender) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'sender' is not an identifier");
        goto done;
    }
    if (zn_obj_text(&a[4], h->handler, sizeof h->handler) != 0) {
        zn_err_set(e, ZN_E_MALFORMED,
                   "envelope header field 'handler' is not text of 1 to %d bytes", ZN_HANDLER_MAX - 1);
        goto done;
    }
    if (zn_obj_ident(&a[5], h->recipient, sizeof h->recipient) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'recipient' is not an identifier");
        goto done;
    }
    if (zn_obj_u64(&a[6], &h->time_ms) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'time' is not an unsigned integer");
        goto done;
    }
    if (zn_obj_u64(&a[7], &h->convenant_version) != 0) {
        zn_err_set(e, ZN_E_MALFORMED,
                   "envelope header field 'convenant_version' is not an unsigned integer");
        goto done;
    }
    if (zn_obj_u64(&a[8], &h->flags) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'flags' is not an unsigned integer");
        goto done;
    }
    if ((h->flags & ~ZN_ENVELOPE_FLAGS_KNOWN) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'flags' sets a bit other than bit 0 (i-checked)");
        goto done;
    }
    if (zn_obj_bin_fixed(&a[9], h->ct_hash, ZN_HASH_LEN) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "envelope header field 'ct_hash' is not a %d-byte bin",
                   ZN_HASH_LEN);
        goto done;
    }
    rc = 0;
done:
    zn_doc_free(&doc);
    return rc;
}

int zn_envelope_parse(const msgpack_object *o, zn_envelope *out, zn_err *e)
{
    zn_envelope env;

    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "envelope parse called without output");
    memset(out, 0, sizeof *out);
    memset(&env, 0, sizeof env);
    const msgpack_object *a = zn_obj_array(o, 3);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "envelope is not an array of exactly 3 fields (header, signature, ciphertext)");
    if (zn_obj_bin(&a[0], ZN_MAX_HEADER, &env.header_raw, &env.header_len) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "envelope field 'header' is not a bin of at most %u bytes",
                          ZN_MAX_HEADER);
    if (zn_obj_bin_fixed(&a[1], env.sig, ZN_SIG_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "envelope field 'signature' is not a %d-byte bin",
                          ZN_SIG_LEN);
    if (zn_obj_bin(&a[2], ZN_MAX_CT, &env.ct, &env.ct_len) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "envelope field 'ciphertext' is not a bin of at most %u bytes",
                          ZN_MAX_CT);
    if (env.ct_len < ZN_CT_OVERHEAD || !s_is_bucket(env.ct_len - ZN_CT_OVERHEAD))
        return zn_err_set(e, ZN_E_MALFORMED,
                          "envelope field 'ciphertext' has %zu bytes, which is no padding bucket",
                          env.ct_len);
    if (s_header_parse(env.header_raw, env.header_len, &env.h, e) != 0)
        return -1;
    /* No hash here: the recipient checks it when opening (zn_envelope_check_hash). */
    *out = env;
    return 0;
}

int zn_envelope_parse_bytes(const uint8_t *p, size_t n, zn_doc *doc, zn_envelope *out, zn_err *e)
{
    if (!doc)
        return zn_err_set(e, ZN_E_INTERNAL, "envelope parse called without a document");
    doc->live = false;
    if (!p || n > ZN_MAX_CT + ZN_MAX_HEADER + 64)
        return zn_err_set(e, ZN_E_TOO_LARGE, "the envelope is larger than any valid envelope");
    /* [header bin, sig bin, ct bin]: 4 objects, depth 1 */
    if (zn_doc_parse(doc, p, n, 1, 4) != 0)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "envelope is not one msgpack array of 3 bins (header, signature, ciphertext)");
    if (zn_envelope_parse(&doc->root, out, e) != 0) {
        zn_doc_free(doc);
        return -1;
    }
    return 0;
}

void zn_envelope_pack(msgpack_packer *pk, const zn_envelope *env)
{
    msgpack_pack_array(pk, 3);
    zn_pack_bin(pk, env->header_raw, env->header_len);
    zn_pack_bin(pk, env->sig, ZN_SIG_LEN);
    zn_pack_bin(pk, env->ct, env->ct_len);
}

int zn_envelope_check_hash(const zn_envelope *env, zn_err *e)
{
    uint8_t hash[ZN_HASH_LEN];
    if (!env || (!env->ct && env->ct_len))
        return zn_err_set(e, ZN_E_INTERNAL, "envelope hash check called without an envelope");
    if (crypto_hash_sha256(hash, env->ct, env->ct_len) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "hashing the ciphertext failed");
    if (sodium_memcmp(hash, env->h.ct_hash, ZN_HASH_LEN) != 0)
        return zn_err_set(e, ZN_E_HASH_MISMATCH, NULL);
    return 0;
}

int zn_envelope_verify(const zn_envelope *env, const uint8_t sender_sign_pk[ZN_KEY_LEN])
{
    if (!env || !sender_sign_pk || !env->header_raw || env->header_len > ZN_MAX_HEADER)
        return -1;
    return zn_verify_ns(env->sig, ZN_ENVELOPE_NS, env->header_raw, env->header_len, sender_sign_pk);
}

int zn_envelope_open(const zn_envelope *env, const uint8_t sender_box_pk[ZN_KEY_LEN],
                     const uint8_t recipient_box_sk[ZN_KEY_LEN], uint8_t **out, size_t *out_len,
                     zn_err *e)
{
    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!env || !sender_box_pk || !recipient_box_sk || !out || !out_len)
        return zn_err_set(e, ZN_E_INTERNAL, "envelope open called without its arguments");
    /* Before anything is decrypted: the ciphertext must be the one the signed header names. */
    if (zn_envelope_check_hash(env, e) != 0)
        return -1;
    if (!env->ct || env->ct_len < ZN_CT_OVERHEAD || !s_is_bucket(env->ct_len - ZN_CT_OVERHEAD))
        return zn_err_set(e, ZN_E_MALFORMED, "the ciphertext length is no padding bucket");

    size_t padded_len = env->ct_len - ZN_CT_OVERHEAD;
    size_t len = 0;
    uint8_t *m = malloc(padded_len);
    if (!m)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while opening an envelope");
    if (crypto_box_open_easy(m, env->ct + crypto_box_NONCEBYTES, env->ct_len - crypto_box_NONCEBYTES,
                             env->ct, sender_box_pk, recipient_box_sk) != 0) {
        sodium_memzero(m, padded_len);
        free(m);
        return zn_err_set(e, ZN_E_VERIFY,
                          "the message could not be decrypted: wrong keys, or it was altered");
    }
    if (sodium_unpad(&len, m, padded_len, padded_len) != 0) {
        sodium_memzero(m, padded_len);
        free(m);
        return zn_err_set(e, ZN_E_VERIFY, "the decrypted message has no valid padding");
    }
    sodium_memzero(m + len, padded_len - len);
    *out = m;
    *out_len = len;
    return 0;
}
