/* zn_envelope — sealed, signed case messages.
 *
 * Header (msgpack array, exactly these 10 fields in this order):
 *   [1, msgid bin16, case bin16, sender str, handler str, recipient str, time u64 (unix ms),
 *    convenant_version u64, flags u64, ct_hash bin32]
 * flags: a bit set; bit 0 (ZN_FLAG_I_CHECKED) says the sender checked the identifiers its
 *   client flagged in the content of a message on an anonymous case and sends it all the same
 *   (the broker records it). Every other bit must be 0: ZN_ENVELOPE_FLAGS_KNOWN holds the bits
 *   protocol version 1 knows.
 * Signature: Ed25519 by the sender over "zorgnet/v1/envelope" || header bytes.
 * Ciphertext: nonce (24 random bytes) || crypto_box_easy(padded plaintext, nonce,
 *   recipient box public key, sender box secret key). The plaintext is padded with sodium_pad
 *   (ISO/IEC 7816-4) to its bucket: the smallest power of two >= len+1, at least 256 bytes.
 *   ct_hash = SHA-256(ciphertext, nonce included); checked by the recipient before decrypting
 *   (zn_envelope_open), not by parsing, so the broker relays without hashing.
 * Envelope (msgpack array): [header bin, signature bin64, ciphertext bin].
 *
 * Ownership: zn_envelope_seal returns a malloc'd encoding the caller frees. A parsed
 * zn_envelope points into the buffer it was parsed from (header_raw, ct); keep it alive. */
#ifndef ZN_ENVELOPE_H
#define ZN_ENVELOPE_H

#include "zn_err.h"
#include "zn_keys.h"
#include "zn_wire.h"
#include <stddef.h>
#include <stdint.h>

#define ZN_ID_LEN 16
#define ZN_HASH_LEN 32
#define ZN_HANDLER_MAX 128
#define ZN_MAX_CONTENT (1024u * 1024u - 1u)     /* plaintext bytes */
#define ZN_PAD_MIN 256u
#define ZN_CT_OVERHEAD (crypto_box_NONCEBYTES + crypto_box_MACBYTES)
#define ZN_MAX_CT (1024u * 1024u + ZN_CT_OVERHEAD)
#define ZN_MAX_HEADER 512u
#define ZN_ENVELOPE_NS "zorgnet/v1/envelope"

#define ZN_FLAG_I_CHECKED 1u /* the sender checked the identifiers flagged on an anonymous case */
#define ZN_ENVELOPE_FLAGS_KNOWN ((uint64_t)ZN_FLAG_I_CHECKED)

typedef struct {
    uint8_t msgid[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN];
    char sender[ZN_IDENT_MAX];
    char handler[ZN_HANDLER_MAX];
    char recipient[ZN_IDENT_MAX];
    uint64_t time_ms;
    uint64_t convenant_version;
    uint64_t flags; /* ZN_FLAG_* bits; only ZN_ENVELOPE_FLAGS_KNOWN may be set */
    uint8_t ct_hash[ZN_HASH_LEN];
} zn_header;

typedef struct {
    zn_header h;
    const uint8_t *header_raw; /* the signed bytes */
    size_t header_len;
    uint8_t sig[ZN_SIG_LEN];
    const uint8_t *ct; /* nonce || box */
    size_t ct_len;
} zn_envelope;

/* Padded size for a plaintext length (the bucket). */
size_t zn_pad_bucket(size_t len);

/* Seal content for the recipient and sign the header. h supplies msgid, case_id, sender,
 * handler, recipient, time_ms, convenant_version, flags; ct_hash is computed here. */
int zn_envelope_seal(const zn_header *h, const uint8_t *content, size_t len,
                     const uint8_t recipient_box_pk[ZN_KEY_LEN], const zn_seckeys *sender,
                     uint8_t **out, size_t *out_len, zn_err *e) __attribute__((warn_unused_result));

/* Structural parse of an envelope object (from a parsed frame or file): field types, lengths,
 * header fields, and that the ciphertext length is 40 + a padding bucket. It neither hashes the
 * ciphertext nor verifies the signature: a parsed envelope may still fail
 * zn_envelope_check_hash (the broker relays it anyway; the recipient refuses it). */
int zn_envelope_parse(const msgpack_object *o, zn_envelope *out, zn_err *e)
    __attribute__((warn_unused_result));
/* Same, from the envelope's own encoding. doc keeps the parse alive; free it with zn_doc_free. */
int zn_envelope_parse_bytes(const uint8_t *p, size_t n, zn_doc *doc, zn_envelope *out, zn_err *e)
    __attribute__((warn_unused_result));

/* Re-encode a parsed envelope as [header bin, sig bin64, ct bin] into pk. */
void zn_envelope_pack(msgpack_packer *pk, const zn_envelope *env);

/* SHA-256 of the ciphertext against the header's ct_hash, compared in constant time:
 * 0 when they match, else -1 with ZN_E_HASH_MISMATCH. zn_envelope_open calls it first. */
int zn_envelope_check_hash(const zn_envelope *env, zn_err *e) __attribute__((warn_unused_result));

/* Ed25519 verification of the header signature with the sender's signing key. This covers the
 * header only (ct_hash included), not the ciphertext: a recipient must both verify and open,
 * and only opening checks that the ciphertext is the one the signed header commits to. */
int zn_envelope_verify(const zn_envelope *env, const uint8_t sender_sign_pk[ZN_KEY_LEN])
    __attribute__((warn_unused_result));

/* Check the ciphertext hash (zn_envelope_check_hash: ZN_E_HASH_MISMATCH), then decrypt and unpad.
 * *out is malloc'd (caller frees); fails with ZN_E_VERIFY when the keys do not fit or the box or
 * its padding does not hold. Nothing is decrypted from a ciphertext the header does not name. */
int zn_envelope_open(const zn_envelope *env, const uint8_t sender_box_pk[ZN_KEY_LEN],
                     const uint8_t recipient_box_sk[ZN_KEY_LEN], uint8_t **out, size_t *out_len,
                     zn_err *e) __attribute__((warn_unused_result));

#endif
