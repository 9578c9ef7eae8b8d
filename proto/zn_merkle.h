/* zn_merkle — the RFC 6962 Merkle tree under the audit log (see docs/PROTOCOL.md, "Merkle tree").
 *
 * Hashing (RFC 6962 §2.1, SHA-256): leaf = H(0x00 || data), node = H(0x01 || left || right),
 * the root of the empty tree = H(""). A tree of n > 1 leaves splits at k, the largest power of
 * two below n: MTH(D[n]) = H(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
 *
 * Stored nodes: the tree is kept as the hashes of its perfect, aligned subtrees. Node
 * (level, index) is the root of leaves [index * 2^level, (index + 1) * 2^level); level 0 holds
 * the leaf hashes. Node (level, index) exists in a tree of `size` leaves exactly when
 * (index + 1) * 2^level <= size, and never changes once it exists. Every subtree that a root or
 * a proof needs is made of such nodes (an unbalanced right edge is folded from its perfect
 * pieces, right to left), so a root or a proof reads O(log n) nodes, never the whole log.
 *
 * Proofs are RFC 6962 audit paths and consistency proofs, in the order of RFC 9162 §2.1.3.1
 * and §2.1.4.1 (the hash nearest the leaves first); the verifiers follow RFC 9162 §2.1.3.2 and
 * §2.1.4.2 step by step. A proof is `n` hashes of ZN_MERKLE_HASH_LEN bytes laid end to end.
 *
 * Pure: no I/O, no globals, no allocation. Storage belongs to the caller and is reached through
 * zn_merkle_get_fn (reads) and zn_merkle_emit_fn (new nodes after an append). Hashes are public;
 * comparisons are exact but not constant-time.
 *
 * Ownership: every buffer is the caller's. zn_merkle_frontier is a plain value the caller owns
 * (on the stack or in a struct); nothing to free. Treat its fields as read-only: unused slots are
 * kept zero, so two frontiers of the same tree compare equal with memcmp. */
#ifndef ZN_MERKLE_H
#define ZN_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define ZN_MERKLE_HASH_LEN 32
#define ZN_MERKLE_MAX_LEVELS 64                   /* levels 0..63 */
#define ZN_MERKLE_MAX_SIZE (UINT64_C(1) << 63)    /* leaves in a tree, at most */
#define ZN_MERKLE_MAX_INCLUSION 64                /* hashes in an inclusion proof, at most */
#define ZN_MERKLE_MAX_CONSISTENCY 128             /* hashes in a consistency proof, at most */

/* Read stored node (level, index) into out: 0 when found, -1 when missing or on a store error.
 * The module only asks for nodes that exist in the tree size it was given. */
typedef int (*zn_merkle_get_fn)(void *ctx, unsigned level, uint64_t index,
                                uint8_t out[ZN_MERKLE_HASH_LEN]);

/* Receive a node that became complete (hash is valid during the call only): 0 to go on, -1 to
 * abort the append. */
typedef int (*zn_merkle_emit_fn)(void *ctx, unsigned level, uint64_t index,
                                 const uint8_t hash[ZN_MERKLE_HASH_LEN]);

/* ---- hashing ---- */

/* out = SHA-256(0x00 || data[0..len)). data may be NULL when len is 0. */
void zn_merkle_leaf_hash(uint8_t out[ZN_MERKLE_HASH_LEN], const uint8_t *data, size_t len);
/* out = SHA-256(0x01 || l || r). out may be the same buffer as l or r. */
void zn_merkle_node_hash(uint8_t out[ZN_MERKLE_HASH_LEN], const uint8_t l[ZN_MERKLE_HASH_LEN],
                         const uint8_t r[ZN_MERKLE_HASH_LEN]);
/* out = SHA-256(""), the root of the empty tree. */
void zn_merkle_empty_root(uint8_t out[ZN_MERKLE_HASH_LEN]);

/* ---- incremental append ---- */

typedef struct {
    uint64_t size; /* leaves appended so far */
    /* peak[l] is node (l, (size >> l) - 1) when bit l of size is set, else all zero: the perfect
     * subtrees along the right edge, largest first in the tree, one per set bit of size. */
    uint8_t peak[ZN_MERKLE_MAX_LEVELS][ZN_MERKLE_HASH_LEN];
} zn_merkle_frontier;

/* The frontier of the empty tree. */
void zn_merkle_frontier_init(zn_merkle_frontier *fr);

/* Append one leaf hash (see zn_merkle_leaf_hash). emit (may be NULL) is called, in this order,
 * for the leaf as node (0, size) and for every node the leaf completes, level by level upwards
 * (at most 64 calls), so the caller can store them in the transaction that adds the entry.
 * On -1 (emit refused, or the tree holds ZN_MERKLE_MAX_SIZE leaves) the frontier is unchanged. */
int zn_merkle_append(zn_merkle_frontier *fr, const uint8_t leaf_hash[ZN_MERKLE_HASH_LEN],
                     zn_merkle_emit_fn emit, void *ctx) __attribute__((warn_unused_result));

/* Root of the tree the frontier describes (the empty root for size 0). */
void zn_merkle_frontier_root(const zn_merkle_frontier *fr, uint8_t out[ZN_MERKLE_HASH_LEN]);

/* Rebuild the frontier of the first `size` leaves from stored nodes (one read per set bit of
 * size), e.g. after a restart. On -1 *fr is left as the empty frontier. */
int zn_merkle_frontier_load(zn_merkle_frontier *fr, zn_merkle_get_fn get, void *ctx, uint64_t size)
    __attribute__((warn_unused_result));

/* ---- roots and proofs from stored nodes ---- */

/* Root of the first `size` leaves (0 <= size <= ZN_MERKLE_MAX_SIZE). */
int zn_merkle_root(zn_merkle_get_fn get, void *ctx, uint64_t size, uint8_t out[ZN_MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));

/* Audit path of leaf `index` in the tree of the first `size` leaves (index < size): *n hashes
 * into out, which has room for `max` hashes (ZN_MERKLE_MAX_INCLUSION always suffices). -1 when
 * the index or size is out of range, out is too small or a read fails; then *n is 0 and out
 * may hold partial data. */
int zn_merkle_inclusion_proof(zn_merkle_get_fn get, void *ctx, uint64_t index, uint64_t size,
                              uint8_t *out, size_t max, size_t *n)
    __attribute__((warn_unused_result));

/* Consistency proof between the trees of the first m and the first n leaves (1 <= m <= n;
 * empty when m == n): *len hashes into out, room for `max` hashes
 * (ZN_MERKLE_MAX_CONSISTENCY always suffices). Errors as for zn_merkle_inclusion_proof. */
int zn_merkle_consistency_proof(zn_merkle_get_fn get, void *ctx, uint64_t m, uint64_t n,
                                uint8_t *out, size_t max, size_t *len)
    __attribute__((warn_unused_result));

/* ---- verification (needs no storage) ---- */

/* 0 when `proof` (n hashes) proves leaf_hash at `index` in the tree of `size` leaves with root
 * `root` (RFC 9162 §2.1.3.2), else -1: also for index >= size (so always for size 0), a size
 * above ZN_MERKLE_MAX_SIZE, more than ZN_MERKLE_MAX_INCLUSION hashes, or a wrong length. */
int zn_merkle_verify_inclusion(const uint8_t leaf_hash[ZN_MERKLE_HASH_LEN], uint64_t index,
                               uint64_t size, const uint8_t *proof, size_t n,
                               const uint8_t root[ZN_MERKLE_HASH_LEN])
    __attribute__((warn_unused_result));

/* 0 when `proof` (len hashes) proves that the tree of m leaves with root root_m is a prefix of
 * the tree of n leaves with root root_n, else -1. 1 <= m < n: RFC 9162 §2.1.4.2 (an empty
 * proof fails). m == n: valid only for an empty proof and equal roots. m == 0 (the RFC defines
 * no proof from the empty tree; every tree extends it), m > n, n above ZN_MERKLE_MAX_SIZE, or
 * more than ZN_MERKLE_MAX_CONSISTENCY hashes: -1. */
int zn_merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[ZN_MERKLE_HASH_LEN],
                                 const uint8_t root_n[ZN_MERKLE_HASH_LEN], const uint8_t *proof,
                                 size_t len) __attribute__((warn_unused_result));

#endif
