#include "zn_merkle.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#define S_LEAF_PREFIX 0x00
#define S_NODE_PREFIX 0x01
#define S_TOO_LONG SIZE_MAX /* a split count that cannot occur: the proof is refused */

/* ---- hashing ---- */

void zn_merkle_leaf_hash(uint8_t out[ZN_MERKLE_HASH_LEN], const uint8_t *data, size_t len)
{
    static const uint8_t prefix = S_LEAF_PREFIX;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len > 0)
        crypto_hash_sha256_update(&st, data, len);
    crypto_hash_sha256_final(&st, out);
}

void zn_merkle_node_hash(uint8_t out[ZN_MERKLE_HASH_LEN], const uint8_t l[ZN_MERKLE_HASH_LEN],
                         const uint8_t r[ZN_MERKLE_HASH_LEN])
{
    uint8_t buf[1 + 2 * ZN_MERKLE_HASH_LEN];
    buf[0] = S_NODE_PREFIX;
    memcpy(buf + 1, l, ZN_MERKLE_HASH_LEN);
    memcpy(buf + 1 + ZN_MERKLE_HASH_LEN, r, ZN_MERKLE_HASH_LEN);
    crypto_hash_sha256(out, buf, sizeof buf); /* inputs are copied first: out may alias them */
}

void zn_merkle_empty_root(uint8_t out[ZN_MERKLE_HASH_LEN])
{
    crypto_hash_sha256(out, NULL, 0);
}

/* ---- tree arithmetic ---- */

/* The largest power of two strictly below n (n >= 2): where RFC 6962 splits D[n]. */
static uint64_t s_split(uint64_t n)
{
    return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/* log2 of a power of two. */
static unsigned s_log2(uint64_t k)
{
    return (unsigned)__builtin_ctzll(k);
}

static bool s_bit(uint64_t x, unsigned level)
{
    return ((x >> level) & 1u) != 0;
}

/* MTH(D[lo : lo+len]) from stored nodes, for the subtrees the RFC recursion produces: len >= 1
 * and lo a multiple of the smallest power of two >= len. Then the range is a run of perfect
 * aligned subtrees, one per set bit of len, largest first; they are folded right to left. */
static int s_range_hash(zn_merkle_get_fn get, void *ctx, uint64_t lo, uint64_t len,
                        uint8_t out[ZN_MERKLE_HASH_LEN])
{
    if (len == 0 || len > ZN_MERKLE_MAX_SIZE)
        return -1;
    uint64_t span = len == 1 ? 1 : s_split(len) << 1; /* smallest power of two >= len */
    if ((lo & (span - 1)) != 0)
        return -1;
    bool have = false;
    uint8_t piece[ZN_MERKLE_HASH_LEN];
    for (unsigned level = 0; level < ZN_MERKLE_MAX_LEVELS; level++) {
        if (!s_bit(len, level))
            continue;
        /* the piece of this level starts after the larger pieces (the higher bits of len) */
        uint64_t before = level + 1 >= ZN_MERKLE_MAX_LEVELS ? 0 : (len >> (level + 1)) << (level + 1);
        if (get(ctx, level, (lo + before) >> level, piece) != 0)
            return -1;
        if (have) {
            zn_merkle_node_hash(out, piece, out);
        } else {
            memcpy(out, piece, ZN_MERKLE_HASH_LEN);
            have = true;
        }
    }
    return 0;
}

/* ---- incremental append ---- */

void zn_merkle_frontier_init(zn_merkle_frontier *fr)
{
    memset(fr, 0, sizeof *fr);
}

int zn_merkle_append(zn_merkle_frontier *fr, const uint8_t leaf_hash[ZN_MERKLE_HASH_LEN],
                     zn_merkle_emit_fn emit, void *ctx)
{
    if (!fr || !leaf_hash || fr->size >= ZN_MERKLE_MAX_SIZE)
        return -1;
    uint64_t size = fr->size;
    uint8_t carry[ZN_MERKLE_HASH_LEN];
    memcpy(carry, leaf_hash, ZN_MERKLE_HASH_LEN);
    if (emit && emit(ctx, 0, size, carry) != 0)
        return -1;
    /* Like adding one in binary: every set low bit of size is a peak that the new leaf
     * completes into a subtree twice as large. size < 2^63, so level stays below 64. */
    unsigned level = 0;
    while (s_bit(size, level)) {
        zn_merkle_node_hash(carry, fr->peak[level], carry);
        level++;
        if (emit && emit(ctx, level, ((size + 1) >> level) - 1, carry) != 0)
            return -1;
    }
    /* Every emit succeeded: commit. */
    for (unsigned l = 0; l < level; l++)
        memset(fr->peak[l], 0, ZN_MERKLE_HASH_LEN);
    memcpy(fr->peak[level], carry, ZN_MERKLE_HASH_LEN);
    fr->size = size + 1;
    return 0;
}

void zn_merkle_frontier_root(const zn_merkle_frontier *fr, uint8_t out[ZN_MERKLE_HASH_LEN])
{
    bool have = false;
    for (unsigned level = 0; level < ZN_MERKLE_MAX_LEVELS; level++) {
        if (!s_bit(fr->size, level))
            continue;
        if (have) {
            zn_merkle_node_hash(out, fr->peak[level], out);
        } else {
            memcpy(out, fr->peak[level], ZN_MERKLE_HASH_LEN);
            have = true;
        }
    }
    if (!have)
        zn_merkle_empty_root(out);
}

int zn_merkle_frontier_load(zn_merkle_frontier *fr, zn_merkle_get_fn get, void *ctx, uint64_t size)
{
    if (!fr)
        return -1;
    zn_merkle_frontier_init(fr);
    if (size > ZN_MERKLE_MAX_SIZE || (size > 0 && !get))
        return -1;
    for (unsigned level = 0; level < ZN_MERKLE_MAX_LEVELS; level++) {
        if (!s_bit(size, level))
            continue;
        if (get(ctx, level, (size >> level) - 1, fr->peak[level]) != 0) {
            zn_merkle_frontier_init(fr);
            return -1;
        }
    }
    fr->size = size;
    return 0;
}

/* ---- roots and proofs from stored nodes ---- */

int zn_merkle_root(zn_merkle_get_fn get, void *ctx, uint64_t size, uint8_t out[ZN_MERKLE_HASH_LEN])
{
    if (!out || size > ZN_MERKLE_MAX_SIZE)
        return -1;
    if (size == 0) {
        zn_merkle_empty_root(out);
        return 0;
    }
    if (!get)
        return -1;
    return s_range_hash(get, ctx, 0, size, out);
}

/* RFC 9162 §2.1.3.1, unrolled: walk from the root to the leaf through D[lo:hi]. At each split
 * the sibling of the side that holds the leaf joins the path; the RFC lists the path leaf
 * first, so the j-th step from the top is hash count-1-j. Only the first step that turns left
 * has an unbalanced sibling (the rest of the right edge); every other sibling is one node. */
static size_t s_inclusion_count(uint64_t index, uint64_t size)
{
    uint64_t lo = 0, hi = size;
    size_t count = 0;
    while (hi - lo > 1) {
        if (count == ZN_MERKLE_MAX_LEVELS) /* each split lowers ceil(log2(range)) */
            return S_TOO_LONG;
        uint64_t k = s_split(hi - lo);
        if (index < lo + k)
            hi = lo + k;
        else
            lo += k;
        count++;
    }
    return count;
}

int zn_merkle_inclusion_proof(zn_merkle_get_fn get, void *ctx, uint64_t index, uint64_t size,
                              uint8_t *out, size_t max, size_t *n)
{
    if (!n)
        return -1;
    *n = 0;
    if (!get || size > ZN_MERKLE_MAX_SIZE || index >= size)
        return -1;
    size_t count = s_inclusion_count(index, size);
    if (count > max || count > ZN_MERKLE_MAX_INCLUSION || (count > 0 && !out))
        return -1;
    uint64_t lo = 0, hi = size;
    for (size_t j = 0; j < count; j++) {
        uint64_t k = s_split(hi - lo);
        uint8_t *dst = out + (count - 1 - j) * ZN_MERKLE_HASH_LEN;
        int rc;
        if (index < lo + k) {
            rc = s_range_hash(get, ctx, lo + k, hi - (lo + k), dst); /* MTH(D[k:n]) */
            hi = lo + k;
        } else {
            rc = get(ctx, s_log2(k), lo >> s_log2(k), dst); /* MTH(D[0:k]), perfect */
            lo += k;
        }
        if (rc != 0)
            return -1;
    }
    *n = count;
    return 0;
}

/* RFC 9162 §2.1.4.1, unrolled: SUBPROOF(m, D[lo:hi], b). While m < hi: split at k; when m fits
 * in the left half, the right half MTH(D[k:n]) follows the subproof of the left; otherwise the
 * left half MTH(D[0:k]) follows the subproof of the right, and b becomes false. At m == hi the
 * subproof is empty if b still holds, else MTH(D[lo:m]). The RFC lists the innermost first. */
/* The splits SUBPROOF(m, D[n], true) makes; *b is false when the proof ends in MTH(D[lo:m]). */
static size_t s_consistency_steps(uint64_t m, uint64_t n, bool *b)
{
    uint64_t lo = 0, hi = n;
    size_t steps = 0;
    *b = true;
    while (m != hi) {
        if (steps == ZN_MERKLE_MAX_LEVELS) /* each split lowers ceil(log2(range)) */
            return S_TOO_LONG;
        uint64_t k = s_split(hi - lo);
        if (m - lo <= k) {
            hi = lo + k;
        } else {
            lo += k;
            *b = false;
        }
        steps++;
    }
    return steps;
}

int zn_merkle_consistency_proof(zn_merkle_get_fn get, void *ctx, uint64_t m, uint64_t n,
                                uint8_t *out, size_t max, size_t *len)
{
    if (!len)
        return -1;
    *len = 0;
    if (!get || n > ZN_MERKLE_MAX_SIZE || m == 0 || m > n)
        return -1;
    bool b;
    size_t steps = s_consistency_steps(m, n, &b);
    if (steps == S_TOO_LONG)
        return -1;
    size_t count = steps + (b ? 0 : 1);
    if (count > max || count > ZN_MERKLE_MAX_CONSISTENCY || (count > 0 && !out))
        return -1;
    uint64_t lo = 0, hi = n;
    for (size_t j = 0; j < steps; j++) {
        uint64_t k = s_split(hi - lo);
        uint8_t *dst = out + (count - 1 - j) * ZN_MERKLE_HASH_LEN;
        int rc;
        if (m - lo <= k) {
            rc = s_range_hash(get, ctx, lo + k, hi - (lo + k), dst); /* MTH(D[k:n]) */
            hi = lo + k;
        } else {
            rc = get(ctx, s_log2(k), lo >> s_log2(k), dst); /* MTH(D[0:k]), perfect */
            lo += k;
        }
        if (rc != 0)
            return -1;
    }
    if (!b && s_range_hash(get, ctx, lo, m - lo, out) != 0) /* MTH(D[lo:m]), first */
        return -1;
    *len = count;
    return 0;
}

/* ---- verification ---- */

static bool s_eq(const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, ZN_MERKLE_HASH_LEN) == 0;
}

/* Element i of a consistency path that has `first` (root_m) put in front when `prepended`. */
static const uint8_t *s_path_at(size_t i, bool prepended, const uint8_t *first,
                                const uint8_t *proof)
{
    if (prepended)
        return i == 0 ? first : proof + (i - 1) * ZN_MERKLE_HASH_LEN;
    return proof + i * ZN_MERKLE_HASH_LEN;
}

int zn_merkle_verify_inclusion(const uint8_t leaf_hash[ZN_MERKLE_HASH_LEN], uint64_t index,
                               uint64_t size, const uint8_t *proof, size_t n,
                               const uint8_t root[ZN_MERKLE_HASH_LEN])
{
    if (!leaf_hash || !root || (n > 0 && !proof))
        return -1;
    if (size > ZN_MERKLE_MAX_SIZE || n > ZN_MERKLE_MAX_INCLUSION)
        return -1;
    /* 1. leaf_index >= tree_size fails. */
    if (index >= size)
        return -1;
    /* 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash. */
    uint64_t fn = index, sn = size - 1;
    uint8_t r[ZN_MERKLE_HASH_LEN];
    memcpy(r, leaf_hash, ZN_MERKLE_HASH_LEN);
    /* 4. for each p in the inclusion path: */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = proof + i * ZN_MERKLE_HASH_LEN;
        /* a. sn == 0 fails. */
        if (sn == 0)
            return -1;
        /* b. LSB(fn) set or fn == sn: r = H(0x01 || p || r), then, if LSB(fn) is not set,
         * shift both until LSB(fn) is set or fn is 0; otherwise r = H(0x01 || r || p). */
        if ((fn & 1u) || fn == sn) {
            zn_merkle_node_hash(r, p, r);
            while (!(fn & 1u) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            zn_merkle_node_hash(r, r, p);
        }
        /* c. shift both once. */
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. sn == 0 and r == root_hash. */
    return (sn == 0 && s_eq(r, root)) ? 0 : -1;
}

int zn_merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t root_m[ZN_MERKLE_HASH_LEN],
                                 const uint8_t root_n[ZN_MERKLE_HASH_LEN], const uint8_t *proof,
                                 size_t len)
{
    if (!root_m || !root_n || (len > 0 && !proof))
        return -1;
    if (m == 0 || m > n || n > ZN_MERKLE_MAX_SIZE || len > ZN_MERKLE_MAX_CONSISTENCY)
        return -1;
    if (m == n)
        return (len == 0 && s_eq(root_m, root_n)) ? 0 : -1;
    /* 1. An empty consistency path fails. */
    if (len == 0)
        return -1;
    /* 2. If first is an exact power of 2, prepend first_hash to the path. */
    bool prepended = (m & (m - 1)) == 0;
    size_t total = len + (prepended ? 1 : 0);
    /* 3. fn = first - 1, sn = second - 1.  4. While LSB(fn) is set, shift both. */
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1u) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. fr = sr = the first element of the path. */
    uint8_t fr[ZN_MERKLE_HASH_LEN], sr[ZN_MERKLE_HASH_LEN];
    memcpy(fr, s_path_at(0, prepended, root_m, proof), ZN_MERKLE_HASH_LEN);
    memcpy(sr, fr, ZN_MERKLE_HASH_LEN);
    /* 6. for each subsequent c: */
    for (size_t i = 1; i < total; i++) {
        const uint8_t *c = s_path_at(i, prepended, root_m, proof);
        /* a. sn == 0 fails. */
        if (sn == 0)
            return -1;
        /* b. LSB(fn) set or fn == sn: fr = H(c || fr), sr = H(c || sr), then, if LSB(fn) is
         * not set, shift both until LSB(fn) is set or fn is 0; otherwise sr = H(sr || c). */
        if ((fn & 1u) || fn == sn) {
            zn_merkle_node_hash(fr, c, fr);
            zn_merkle_node_hash(sr, c, sr);
            while (!(fn & 1u) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            zn_merkle_node_hash(sr, sr, c);
        }
        /* c. shift both once. */
        fn >>= 1;
        sn >>= 1;
    }
    /* 7. fr == first_hash, sr == second_hash and sn == 0. */
    return (sn == 0 && s_eq(fr, root_m) && s_eq(sr, root_n)) ? 0 : -1;
}
