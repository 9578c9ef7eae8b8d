/* zn_audit — audit log entries, their commitments, and signed tree heads (the pure part of the
 * audit log; the broker appends entries inside the transaction of the change they record).
 *
 * Entry (msgpack array, exactly 13 fields, canonical: encoded only by zn_audit_entry_encode):
 *   [1, index u64, time_ms u64, actor str|nil, handler str|nil, action str, case bin16|nil,
 *    counterpart str|nil, decision str ("allowed"|"refused"), reason str|nil (an error code),
 *    basis str|nil (legal basis, filled in by later capabilities), evidence, details]
 *   evidence: nil, or [kind str ("envelope-header"|"request"), signed bytes bin, signature bin64]
 *   details:  nil, or a map of at most 16 str keys to u64 | str | bin values, keys in ascending
 *             byte order, no duplicates (canonical)
 * Commitment: d = SHA-256(salt || entry bytes), salt = 32 random bytes stored beside the entry;
 *   the Merkle leaf is zn_merkle_leaf_hash(d) = SHA-256(0x00 || d). Redaction deletes entry and
 *   salt and keeps d, so proofs still verify.
 * Signed tree head (msgpack array): [1, size u64, root bin32, time_ms u64]; signature = Ed25519
 *   by the broker's signing key over "zorgnet/v1/tree-head" || tree head bytes.
 *
 * Ownership: encoders append to a caller-owned sbuffer. A decoded zn_audit_entry points into its
 * zn_doc, which points into the input buffer: keep both alive, free the doc with zn_doc_free. */
#ifndef ZN_AUDIT_H
#define ZN_AUDIT_H

#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_keys.h"
#include "zn_wire.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_AUDIT_VERSION 1
#define ZN_AUDIT_SALT_LEN 32
#define ZN_AUDIT_DETAILS_MAX 16
#define ZN_AUDIT_MAX_ENTRY 65536u
#define ZN_TREE_HEAD_NS "zorgnet/v1/tree-head"
#define ZN_TREE_HEAD_MAX 54 /* bytes of an encoded tree head, at most */

typedef enum { ZN_AUDIT_ALLOWED = 1, ZN_AUDIT_REFUSED = 2 } zn_audit_decision;

typedef struct {
    const char *key; /* identifier-like: [a-z0-9_-], 1..63 bytes */
    enum { ZN_AUDIT_U64, ZN_AUDIT_STR, ZN_AUDIT_BIN } type;
    uint64_t u64;
    const uint8_t *p; /* STR (text) or BIN */
    size_t len;
} zn_audit_detail;

typedef struct {
    uint64_t index;
    uint64_t time_ms;
    const char *actor;       /* partner id, or NULL (the broker itself) */
    const char *handler;     /* professional's name, or NULL */
    const char *action;      /* identifier, e.g. "send", "case-new", "hello", "deliver" */
    const uint8_t *case_id;  /* ZN_ID_LEN bytes, or NULL */
    const char *counterpart; /* partner id (recipient, ...), or NULL */
    zn_audit_decision decision;
    const char *reason;      /* error code name when refused (or a note), or NULL */
    const char *basis;       /* legal basis, or NULL */
    const char *evidence_kind;       /* NULL: no evidence */
    const uint8_t *evidence;         /* the signed bytes */
    size_t evidence_len;
    const uint8_t *evidence_sig;     /* ZN_SIG_LEN bytes */
    const zn_audit_detail *details;  /* sorted by key; n_details <= ZN_AUDIT_DETAILS_MAX */
    size_t n_details;
} zn_audit_entry;

/* Encode canonically; -1 (ZN_E_USAGE) when a field breaks the rules above (unsorted details,
 * bad identifiers, invalid text, oversize). */
int zn_audit_entry_encode(msgpack_sbuffer *out, const zn_audit_entry *en, zn_err *e)
    __attribute__((warn_unused_result));
/* Strict decode (exact shape, types, identifier/text rules, sorted unique detail keys, no
 * trailing bytes). Pointers in *out point into doc / the input. */
int zn_audit_entry_decode(const uint8_t *p, size_t n, zn_doc *doc, zn_audit_entry *out,
                          zn_audit_detail details[ZN_AUDIT_DETAILS_MAX], zn_err *e)
    __attribute__((warn_unused_result));

/* d = SHA-256(salt || entry). */
void zn_audit_commit(uint8_t d[ZN_HASH_LEN], const uint8_t salt[ZN_AUDIT_SALT_LEN],
                     const uint8_t *entry, size_t len);

typedef struct {
    uint64_t size;
    uint8_t root[ZN_HASH_LEN];
    uint64_t time_ms;
} zn_tree_head;

/* Encode and sign with the broker's signing key (kind broker). */
int zn_tree_head_sign(msgpack_sbuffer *out, uint8_t sig[ZN_SIG_LEN], const zn_tree_head *th,
                      const zn_seckeys *broker, zn_err *e) __attribute__((warn_unused_result));
/* Decode strictly and verify the signature with the broker's public signing key. */
int zn_tree_head_verify(const uint8_t *p, size_t n, const uint8_t sig[ZN_SIG_LEN],
                        const uint8_t broker_sign_pk[ZN_KEY_LEN], zn_tree_head *out, zn_err *e)
    __attribute__((warn_unused_result));

#endif
