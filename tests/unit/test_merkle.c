/* Unit tests for the Merkle tree (proto/zn_merkle.h).
 *
 * - The Certificate Transparency known answers: the eight-leaf test tree (roots for sizes 1..8,
 *   audit paths, consistency proofs) and an audit path taken from a production CT log; the same
 *   values are printed in docs/PROTOCOL.md section 10 and compared with that file here.
 * - A reference written straight from RFC 6962 §2.1 (recursive MTH, PATH and SUBPROOF over an
 *   array of leaf hashes, with its own hashing): for every size 1..1000 the incremental root,
 *   the root from stored nodes and the frontier rebuilt from stored nodes agree with it; every
 *   index at every size has an audit path that verifies and that fails once the leaf, one proof
 *   hash, the index, the size or the root is changed; consistency proofs for a sample of (m, n)
 *   likewise; proofs equal the reference byte for byte where the reference is cheap enough.
 * - The node store is in memory and checks the module's promises: nodes are emitted in order,
 *   and reads stay inside the tree size asked for and are O(log n).
 * - Trees of up to 2^63 identical leaves (every node of a level is then the same hash), for the
 *   size limits; failures of reads and of emits; the timings for a tree of 1,000,000 leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vectors.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zn_merkle.h"

#ifndef ZN_SOURCE_DIR
#define ZN_SOURCE_DIR "."
#endif

#define HL ZN_MERKLE_HASH_LEN
#define S_N 1000u           /* the reference tree */
#define S_REF_ALL 128u      /* sizes up to this are compared with the reference for every index */
#define S_PERF_N 1000000u   /* the timing tree */
#define S_PERF_PROOFS 1000u

/* ------------------------------------------------------------ hex */

static void s_unhex(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void s_tohex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void s_assert_hash_hex(const uint8_t *h, const char *hex)
{
    char got[2 * HL + 1];
    s_tohex(got, h, HL);
    assert_string_equal(got, hex);
}

/* ------------------------------------------------------------ published vectors */

/* The reference tree of the CT test suites: google/certificate-transparency
 * cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs) and
 * transparency-dev/merkle proof/verify_test.go (the same, plus the 6 -> 7 consistency proof).
 * Their leaf numbers are 1-based; the indexes below are 0-based. */
static const char *const s_ct_inputs[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const s_ct_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
#define S_CT_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    const char *doc;  /* vector name in docs/PROTOCOL.md */
    uint64_t a, b;    /* inclusion: index, size; consistency: m, n */
    size_t len;
    const char *hash[3];
} s_ct_proof;

static const s_ct_proof s_ct_paths[] = {
    {NULL, 0, 1, 0, {NULL}},
    {"merkle-inclusion-0-8", 0, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {"merkle-inclusion-5-8", 5, 8, 3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {"merkle-inclusion-2-3", 2, 3, 1,
     {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {"merkle-inclusion-1-5", 1, 5, 3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const s_ct_proof s_ct_consistency[] = {
    {NULL, 1, 1, 0, {NULL}},
    {"merkle-consistency-1-8", 1, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {"merkle-consistency-6-8", 6, 8, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {"merkle-consistency-2-5", 2, 5, 2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {"merkle-consistency-6-7", 6, 7, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

/* An audit path from a production CT log (google/certificate-transparency
 * python/ct/crypto/merkle_test.py, MerkleVerifierTest): leaf 848049 of 3630887. */
#define S_LOG_INDEX 848049u
#define S_LOG_SIZE 3630887u
#define S_LOG_LEAF "7a395c866d5ecdb0cccb623e011dbc392cd348d1d1d72776174e127a24b09c78"
#define S_LOG_ROOT "78316a05c9bcf14a3a4548f5b854a9adfcd46a4c034401b3ce7eb7ac2f1d0ecb"
static const char *const s_log_path[22] = {
    "1a208aeebcd1b39fe2de247ee8db9454e1e93a312d206b87f6ca9cc6ec6f1ddd",
    "0a1b78b383f580856f433c01a5741e160d451c185910027f6cc9f828687a40c4",
    "3d1745789bc63f2da15850de1c12a5bf46ed81e1cc90f086148b1662e79aab3d",
    "9095b61e14d8990acf390905621e62b1714fb8e399fbb71de5510e0aef45affe",
    "0a332b91b8fab564e6afd1dd452449e04619b18accc0ff9aa8393cd4928451f2",
    "2336f0181d264aed6d8f3a6507ca14a8d3b3c3a23791ac263e845d208c1ee330",
    "b4ce56e300590500360c146c6452edbede25d4ed83919278749ee5dbe178e048",
    "933f6ddc848ea562e4f9c5cfb5f176941301dad0c6fdb9d1fbbe34fac1be6966",
    "b95a6222958a86f74c030be27c44f57dbe313e5e7c7f4ffb98bcbd3a03bb52f2",
    "daeeb3ce5923defd0faeb8e0c210b753b85b809445d7d3d3cd537a9aabaa9c45",
    "7fadd0a13e9138a2aa6c3fdec4e2275af233b94812784f66bcca9aa8e989f2bc",
    "1864e6ba3e32878610546539734fb5eeae2529991f130c575c73a7e25a2a7c56",
    "12842d1202b1dc6828a17ab253c02e7ce9409b5192430feba44189f39cc02d66",
    "29af64b16fa3053c13d02ac63aa75b23aa468506e44c3a2315edc85d2dc22b11",
    "b527b99934a0bd9edd154e449b0502e2c499bba783f3bc3dfe23364b6b532009",
    "4584db8ae8e351ace08e01f306378a92bfd43611714814f3d834a2842d69faa8",
    "86a9a41573b0d6e4292f01e93243d6cc65b30f06606fc6fa57390e7e90ed580f",
    "a88b98fbe84d4c6aae8db9d1605dfac059d9f03fe0fcb0d5dff1295dacba09e6",
    "06326dc617a6d1f7021dc536026dbfd5fffc6f7c5531d48ef6ccd1ed1569f2a1",
    "f41fe8fdc3a2e4e8345e30216e7ebecffee26ff266eeced208a6c2a3cf08f960",
    "40cf5bde8abb76983f3e98ba97aa36240402975674e120f234b3448911090f8d",
    "b3222dc8658538079883d980d7fdc2bef9285344ea34338968f736b04aeb387a",
};

/* ------------------------------------------------------------ reference (RFC 6962 §2.1) */

/* Its own hashing, so a fault in zn_merkle_*_hash cannot hide in both sides. */
static void s_ref_leaf(uint8_t out[HL], const uint8_t *d, size_t n)
{
    crypto_hash_sha256_state st;
    const uint8_t prefix = 0x00;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, d, n);
    crypto_hash_sha256_final(&st, out);
}

static void s_ref_node(uint8_t out[HL], const uint8_t l[HL], const uint8_t r[HL])
{
    crypto_hash_sha256_state st;
    const uint8_t prefix = 0x01;
    uint8_t tmp[HL];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, l, HL);
    crypto_hash_sha256_update(&st, r, HL);
    crypto_hash_sha256_final(&st, tmp);
    memcpy(out, tmp, HL);
}

/* The largest power of two smaller than n (n >= 2). */
static uint64_t s_ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (k < n / 2 + n % 2 && k < (UINT64_C(1) << 62)) /* k * 2 < n, without overflow */
        k *= 2;
    return k;
}

/* MTH(D[n]) over leaf hashes. */
static void s_ref_mth(uint8_t out[HL], const uint8_t *d, uint64_t n)
{
    if (n == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    if (n == 1) {
        memcpy(out, d, HL);
        return;
    }
    uint64_t k = s_ref_split(n);
    uint8_t l[HL], r[HL];
    s_ref_mth(l, d, k);
    s_ref_mth(r, d + k * HL, n - k);
    s_ref_node(out, l, r);
}

#define S_REF_MAX 130u

/* PATH(m, D[n]), appended to path[*len...]. */
static void s_ref_path(uint64_t m, const uint8_t *d, uint64_t n, uint8_t *path, size_t *len)
{
    if (n <= 1)
        return;
    uint64_t k = s_ref_split(n);
    if (m < k) {
        s_ref_path(m, d, k, path, len);
        assert_true(*len < S_REF_MAX);
        s_ref_mth(path + *len * HL, d + k * HL, n - k);
    } else {
        s_ref_path(m - k, d + k * HL, n - k, path, len);
        assert_true(*len < S_REF_MAX);
        s_ref_mth(path + *len * HL, d, k);
    }
    (*len)++;
}

/* SUBPROOF(m, D[n], b), appended to proof[*len...]. */
static void s_ref_subproof(uint64_t m, const uint8_t *d, uint64_t n, bool b, uint8_t *proof,
                           size_t *len)
{
    if (m == n) {
        if (!b) {
            assert_true(*len < S_REF_MAX);
            s_ref_mth(proof + *len * HL, d, m);
            (*len)++;
        }
        return;
    }
    uint64_t k = s_ref_split(n);
    if (m <= k) {
        s_ref_subproof(m, d, k, b, proof, len);
        assert_true(*len < S_REF_MAX);
        s_ref_mth(proof + *len * HL, d + k * HL, n - k);
    } else {
        s_ref_subproof(m - k, d + k * HL, n - k, false, proof, len);
        assert_true(*len < S_REF_MAX);
        s_ref_mth(proof + *len * HL, d, k);
    }
    (*len)++;
}

/* The shape of PATH(m, D[n]): the turns from the root down (bit j set = step j goes right) and
 * the number of steps. Two (index, size) pairs with the same shape take the same proof hashes to
 * the same root: RFC 6962 binds the size through the signed tree head, not through the proof. */
typedef struct {
    uint64_t turns;
    unsigned steps;
    bool b;
} s_shape;

static s_shape s_incl_shape(uint64_t m, uint64_t n)
{
    s_shape s = {0, 0, true};
    while (n > 1 && s.steps < 64) {
        uint64_t k = s_ref_split(n);
        if (m >= k) {
            m -= k;
            n -= k;
            s.turns |= UINT64_C(1) << s.steps;
        } else {
            n = k;
        }
        s.steps++;
    }
    return s;
}

/* The shape of SUBPROOF(m, D[n], true). */
static s_shape s_cons_shape(uint64_t m, uint64_t n)
{
    s_shape s = {0, 0, true};
    while (m != n && s.steps < 64) {
        uint64_t k = s_ref_split(n);
        if (m > k) {
            m -= k;
            n -= k;
            s.b = false;
            s.turns |= UINT64_C(1) << s.steps;
        } else {
            n = k;
        }
        s.steps++;
    }
    return s;
}

static bool s_shape_eq(s_shape a, s_shape b)
{
    return a.turns == b.turns && a.steps == b.steps && a.b == b.b;
}

static size_t s_cons_len(uint64_t m, uint64_t n)
{
    s_shape s = s_cons_shape(m, n);
    return s.steps + (s.b ? 0 : 1);
}

/* ------------------------------------------------------------ node store in memory */

typedef struct {
    uint64_t cap;                      /* leaves it can hold */
    uint8_t *lv[ZN_MERKLE_MAX_LEVELS]; /* level l: cap >> l nodes */
    uint64_t count[ZN_MERKLE_MAX_LEVELS];
    uint64_t limit;                    /* reads must stay inside the first `limit` leaves */
    uint64_t reads, overreach, fail_read_at;
    uint64_t emits, fail_emit_at;
} s_store;

static void s_store_init(s_store *s, uint64_t cap)
{
    memset(s, 0, sizeof *s);
    s->cap = cap;
    for (unsigned l = 0; l < ZN_MERKLE_MAX_LEVELS && (cap >> l) > 0; l++) {
        s->lv[l] = malloc((size_t)(cap >> l) * HL);
        assert_non_null(s->lv[l]);
    }
}

static void s_store_free(s_store *s)
{
    for (unsigned l = 0; l < ZN_MERKLE_MAX_LEVELS; l++)
        free(s->lv[l]);
    memset(s, 0, sizeof *s);
}

static int s_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
    s_store *s = ctx;
    s->reads++;
    if (s->fail_read_at != 0 && s->reads == s->fail_read_at)
        return -1;
    /* the node must lie inside the tree asked for, and be stored */
    if (level >= ZN_MERKLE_MAX_LEVELS || index >= (s->limit >> level) || index >= s->count[level]) {
        s->overreach++;
        return -1;
    }
    memcpy(out, s->lv[level] + index * HL, HL);
    return 0;
}

static int s_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[HL])
{
    s_store *s = ctx;
    s->emits++;
    if (s->fail_emit_at != 0 && s->emits == s->fail_emit_at)
        return -1;
    assert_true(level < ZN_MERKLE_MAX_LEVELS);
    assert_true(index == s->count[level]); /* every level is written in order, no gaps */
    assert_true(index < (s->cap >> level));
    memcpy(s->lv[level] + index * HL, hash, HL);
    s->count[level]++;
    return 0;
}

/* ------------------------------------------------------------ shared fixture */

static uint8_t *s_leaves;       /* S_N leaf hashes */
static uint8_t (*s_roots)[HL];  /* reference MTH of the first s leaves, s = 0..S_N */
static s_store s_tree;          /* the S_N leaves appended through zn_merkle_append */

static void s_leaf_of(uint8_t out[HL], uint64_t i)
{
    uint8_t d[24] = "zorgnet-audit-";
    for (unsigned b = 0; b < 8; b++)
        d[14 + b] = (uint8_t)(i >> (56 - 8 * b));
    s_ref_leaf(out, d, 22);
}

static int s_setup(void **state)
{
    (void)state;
    s_leaves = malloc(S_N * HL);
    s_roots = malloc((S_N + 1) * sizeof *s_roots);
    if (!s_leaves || !s_roots)
        return -1;
    for (uint64_t i = 0; i < S_N; i++)
        s_leaf_of(s_leaves + i * HL, i);
    for (uint64_t s = 0; s <= S_N; s++)
        s_ref_mth(s_roots[s], s_leaves, s);
    zn_merkle_frontier fr;
    zn_merkle_frontier_init(&fr);
    s_store_init(&s_tree, S_N);
    for (uint64_t i = 0; i < S_N; i++)
        if (zn_merkle_append(&fr, s_leaves + i * HL, s_emit, &s_tree) != 0)
            return -1;
    s_tree.limit = S_N;
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    free(s_leaves);
    free(s_roots);
    s_store_free(&s_tree);
    return 0;
}

/* Every read of a proof stays inside the tree asked for; at most this many per proof. */
static uint64_t s_read_bound(uint64_t size)
{
    unsigned bits = 0;
    while (bits < 64 && (size >> bits) != 0)
        bits++;
    return 3u * bits + 3u;
}

/* ------------------------------------------------------------ hashing */

static void test_hashing(void **state)
{
    (void)state;
    uint8_t h[HL], l[HL], r[HL], buf[16];

    zn_merkle_empty_root(h);
    s_assert_hash_hex(h, S_CT_EMPTY);

    /* python/ct/crypto/merkle_test.py, TreeHasherTest */
    zn_merkle_leaf_hash(h, NULL, 0);
    s_assert_hash_hex(h, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    s_unhex(buf, 16, "101112131415161718191a1b1c1d1e1f");
    zn_merkle_leaf_hash(h, buf, 16);
    s_assert_hash_hex(h, "3bfb960453ebaebf33727da7a1f4db38acc051d381b6da20d6d4e88f0eabfd7a");
    s_unhex(l, HL, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    s_unhex(r, HL, "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f");
    zn_merkle_node_hash(h, l, r);
    s_assert_hash_hex(h, "1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57");

    /* out may be either input */
    uint8_t a[HL], b[HL];
    memcpy(a, l, HL);
    zn_merkle_node_hash(a, a, r);
    assert_memory_equal(a, h, HL);
    memcpy(b, r, HL);
    zn_merkle_node_hash(b, l, b);
    assert_memory_equal(b, h, HL);
    /* order matters, and the prefixes keep leaves and nodes apart */
    zn_merkle_node_hash(a, r, l);
    assert_memory_not_equal(a, h, HL);
    uint8_t cat[2 * HL];
    memcpy(cat, l, HL);
    memcpy(cat + HL, r, HL);
    zn_merkle_leaf_hash(a, cat, sizeof cat);
    assert_memory_not_equal(a, h, HL);

    /* the module's leaf hash is the reference's */
    for (uint64_t i = 0; i < 64; i++) {
        uint8_t d[24] = "zorgnet-audit-";
        for (unsigned k = 0; k < 8; k++)
            d[14 + k] = (uint8_t)(i >> (56 - 8 * k));
        zn_merkle_leaf_hash(a, d, 22);
        assert_memory_equal(a, s_leaves + i * HL, HL);
    }
}

/* ------------------------------------------------------------ CT known answers */

static void s_ct_tree(s_store *st, uint8_t leaves[8][HL])
{
    zn_merkle_frontier fr;
    zn_merkle_frontier_init(&fr);
    s_store_init(st, 8);
    for (unsigned i = 0; i < 8; i++) {
        uint8_t d[16];
        size_t n = strlen(s_ct_inputs[i]) / 2;
        s_unhex(d, n, s_ct_inputs[i]);
        zn_merkle_leaf_hash(leaves[i], d, n);
        assert_int_equal(zn_merkle_append(&fr, leaves[i], s_emit, st), 0);
    }
}

static void test_ct_roots(void **state)
{
    (void)state;
    zn_merkle_frontier fr;
    uint8_t h[HL];
    s_store st;
    s_store_init(&st, 8);
    zn_merkle_frontier_init(&fr);
    zn_merkle_frontier_root(&fr, h);
    s_assert_hash_hex(h, S_CT_EMPTY);
    assert_int_equal(zn_merkle_root(s_get, &st, 0, h), 0);
    s_assert_hash_hex(h, S_CT_EMPTY);
    for (unsigned i = 0; i < 8; i++) {
        uint8_t d[16], leaf[HL];
        size_t n = strlen(s_ct_inputs[i]) / 2;
        s_unhex(d, n, s_ct_inputs[i]);
        zn_merkle_leaf_hash(leaf, d, n);
        assert_int_equal(zn_merkle_append(&fr, leaf, s_emit, &st), 0);
        assert_int_equal(fr.size, i + 1);
        zn_merkle_frontier_root(&fr, h);
        s_assert_hash_hex(h, s_ct_roots[i]);
        /* every earlier size from the stored nodes */
        for (unsigned j = 1; j <= i + 1; j++) {
            st.limit = j;
            assert_int_equal(zn_merkle_root(s_get, &st, j, h), 0);
            s_assert_hash_hex(h, s_ct_roots[j - 1]);
        }
        /* and not a size that is not there yet */
        st.limit = i + 2;
        assert_int_equal(zn_merkle_root(s_get, &st, i + 2, h), -1);
    }
    assert_int_equal(st.overreach, 1u * 8); /* only the eight deliberate reads past the end */
    s_store_free(&st);
}

/* The probes of the CT verifier tests, for a valid audit path. */
static void s_inclusion_probes(const uint8_t leaf[HL], uint64_t index, uint64_t size,
                               const uint8_t *proof, size_t n, const uint8_t root[HL])
{
    uint8_t bad[(ZN_MERKLE_MAX_INCLUSION + 2) * HL], h[HL], empty[HL];
    zn_merkle_empty_root(empty);
    assert_true(n + 2 <= ZN_MERKLE_MAX_INCLUSION + 2);

    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n, root), 0);
    /* wrong index */
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index - 1, size, proof, n, root), -1);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index + 1, size, proof, n, root), -1);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index ^ 2, size, proof, n, root), -1);
    /* wrong size */
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size * 2, proof, n, root), -1);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size / 2, proof, n, root), -1);
    /* wrong leaf or root */
    zn_merkle_leaf_hash(h, (const uint8_t *)"WrongLeaf", 9);
    assert_int_equal(zn_merkle_verify_inclusion(h, index, size, proof, n, root), -1);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n, empty), -1);
    /* a hash added at the end or in front */
    memcpy(bad, proof, n * HL);
    memset(bad + n * HL, 0, HL);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, bad, n + 1, root), -1);
    memcpy(bad + n * HL, root, HL);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, bad, n + 1, root), -1);
    memset(bad, 0, HL);
    memcpy(bad + HL, proof, n * HL);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, bad, n + 1, root), -1);
    memcpy(bad, root, HL);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, bad, n + 1, root), -1);
    /* one bit flipped in each hash */
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, proof, n * HL);
        bad[i * HL] ^= 8;
        assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, bad, n, root), -1);
    }
    /* a hash removed, a hash inserted */
    if (n > 0)
        assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n - 1, root), -1);
    if (n > 1) {
        memcpy(bad, proof, HL);
        memset(bad + HL, 0xab, HL);
        memcpy(bad + 2 * HL, proof + HL, (n - 1) * HL);
        assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, bad, n + 1, root), -1);
    }
}

static void test_ct_inclusion(void **state)
{
    (void)state;
    uint8_t leaves[8][HL], root[HL], want[3 * HL], got[ZN_MERKLE_MAX_INCLUSION * HL];
    s_store st;
    s_ct_tree(&st, leaves);
    for (size_t v = 0; v < sizeof s_ct_paths / sizeof s_ct_paths[0]; v++) {
        const s_ct_proof *p = &s_ct_paths[v];
        for (size_t i = 0; i < p->len; i++)
            s_unhex(want + i * HL, HL, p->hash[i]);
        s_unhex(root, HL, s_ct_roots[p->b - 1]);
        size_t n = 99;
        st.limit = p->b;
        assert_int_equal(
            zn_merkle_inclusion_proof(s_get, &st, p->a, p->b, got, ZN_MERKLE_MAX_INCLUSION, &n), 0);
        assert_int_equal(n, p->len);
        if (n > 0)
            assert_memory_equal(got, want, n * HL);
        s_inclusion_probes(leaves[p->a], p->a, p->b, want, p->len, root);
    }
    /* the paths of every leaf at every size of the reference tree */
    for (uint64_t size = 1; size <= 8; size++) {
        uint8_t ref[S_REF_MAX * HL];
        s_unhex(root, HL, s_ct_roots[size - 1]);
        st.limit = size;
        for (uint64_t i = 0; i < size; i++) {
            size_t n = 0, rn = 0;
            assert_int_equal(
                zn_merkle_inclusion_proof(s_get, &st, i, size, got, ZN_MERKLE_MAX_INCLUSION, &n), 0);
            s_ref_path(i, &leaves[0][0], size, ref, &rn);
            assert_int_equal(n, rn);
            if (n > 0)
                assert_memory_equal(got, ref, n * HL);
            s_inclusion_probes(leaves[i], i, size, got, n, root);
        }
    }
    assert_int_equal(st.overreach, 0);
    s_store_free(&st);
}

/* The probes of the CT verifier tests, for a valid consistency proof with m < n. */
static void s_consistency_probes(uint64_t m, uint64_t n, const uint8_t root_m[HL],
                                 const uint8_t root_n[HL], const uint8_t *proof, size_t len)
{
    uint8_t bad[(ZN_MERKLE_MAX_CONSISTENCY + 2) * HL], wrong[HL];
    assert_true(len > 0 && len + 2 <= ZN_MERKLE_MAX_CONSISTENCY + 2);
    memset(wrong, 0x5a, HL);

    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, proof, len), 0);
    /* wrong m */
    assert_int_equal(zn_merkle_verify_consistency(m - 1, n, root_m, root_n, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m + 1, n, root_m, root_n, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m ^ 2, n, root_m, root_n, proof, len), -1);
    /* wrong n */
    assert_int_equal(zn_merkle_verify_consistency(m, n * 2, root_m, root_n, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m, n / 2, root_m, root_n, proof, len), -1);
    /* wrong, or swapped, roots */
    assert_int_equal(zn_merkle_verify_consistency(m, n, wrong, root_n, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, wrong, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_n, root_m, proof, len), -1);
    /* empty proof */
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, proof, 0), -1);
    /* a hash added at the end */
    memcpy(bad, proof, len * HL);
    memset(bad + len * HL, 0, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    memcpy(bad + len * HL, root_m, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    memcpy(bad + len * HL, root_n, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    /* a hash added in front */
    memcpy(bad + HL, proof, len * HL);
    memset(bad, 0, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    memcpy(bad, root_m, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    memcpy(bad, root_n, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    memcpy(bad, proof, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len + 1), -1);
    /* truncated */
    assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, proof, len - 1), -1);
    /* one bit flipped in each hash */
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, proof, len * HL);
        bad[i * HL] ^= 16;
        assert_int_equal(zn_merkle_verify_consistency(m, n, root_m, root_n, bad, len), -1);
    }
}

static void test_ct_consistency(void **state)
{
    (void)state;
    uint8_t leaves[8][HL], rm[HL], rn[HL], want[3 * HL], got[ZN_MERKLE_MAX_CONSISTENCY * HL];
    s_store st;
    s_ct_tree(&st, leaves);
    for (size_t v = 0; v < sizeof s_ct_consistency / sizeof s_ct_consistency[0]; v++) {
        const s_ct_proof *p = &s_ct_consistency[v];
        for (size_t i = 0; i < p->len; i++)
            s_unhex(want + i * HL, HL, p->hash[i]);
        s_unhex(rm, HL, s_ct_roots[p->a - 1]);
        s_unhex(rn, HL, s_ct_roots[p->b - 1]);
        size_t len = 99;
        st.limit = p->b;
        assert_int_equal(zn_merkle_consistency_proof(s_get, &st, p->a, p->b, got,
                                                     ZN_MERKLE_MAX_CONSISTENCY, &len), 0);
        assert_int_equal(len, p->len);
        if (len > 0) {
            assert_memory_equal(got, want, len * HL);
            s_consistency_probes(p->a, p->b, rm, rn, want, len);
        } else {
            assert_int_equal(zn_merkle_verify_consistency(p->a, p->b, rm, rn, want, 0), 0);
        }
    }
    /* every pair of sizes of the reference tree */
    for (uint64_t n = 1; n <= 8; n++) {
        s_unhex(rn, HL, s_ct_roots[n - 1]);
        st.limit = n;
        for (uint64_t m = 1; m <= n; m++) {
            uint8_t ref[S_REF_MAX * HL];
            size_t len = 0, rlen = 0;
            s_unhex(rm, HL, s_ct_roots[m - 1]);
            assert_int_equal(zn_merkle_consistency_proof(s_get, &st, m, n, got,
                                                         ZN_MERKLE_MAX_CONSISTENCY, &len), 0);
            s_ref_subproof(m, &leaves[0][0], n, true, ref, &rlen);
            assert_int_equal(len, rlen);
            if (m < n)
                s_consistency_probes(m, n, rm, rn, got, len);
            else
                assert_int_equal(len, 0);
            if (len > 0)
                assert_memory_equal(got, ref, len * HL);
        }
    }
    assert_int_equal(st.overreach, 0);
    s_store_free(&st);
}

static void test_ct_log_path(void **state)
{
    (void)state;
    uint8_t leaf[HL], root[HL], path[22 * HL], bad[23 * HL];
    s_unhex(leaf, HL, S_LOG_LEAF);
    s_unhex(root, HL, S_LOG_ROOT);
    for (size_t i = 0; i < 22; i++)
        s_unhex(path + i * HL, HL, s_log_path[i]);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, S_LOG_INDEX, S_LOG_SIZE, path, 22, root), 0);
    s_inclusion_probes(leaf, S_LOG_INDEX, S_LOG_SIZE, path, 22, root);
    /* python/ct/crypto/merkle_test.py: a leaf index 2^23 further on is out of the path's reach */
    assert_int_equal(zn_merkle_verify_inclusion(leaf, S_LOG_INDEX + (1u << 23), S_LOG_SIZE, path,
                                                22, root), -1);
    memcpy(bad, path, sizeof path);
    memset(bad + 22 * HL, 0, HL);
    assert_int_equal(zn_merkle_verify_inclusion(leaf, S_LOG_INDEX, S_LOG_SIZE, bad, 23, root), -1);
    uint8_t zeros[HL] = {0};
    assert_int_equal(zn_merkle_verify_inclusion(leaf, S_LOG_INDEX, S_LOG_SIZE, path, 22, zeros), -1);
}

/* ------------------------------------------------------------ verifier edge cases */

static void test_verify_edges(void **state)
{
    (void)state;
    uint8_t h[HL], e[HL], z[HL], proof[(ZN_MERKLE_MAX_CONSISTENCY + 1) * HL];
    zn_merkle_leaf_hash(h, (const uint8_t *)"data", 4);
    zn_merkle_empty_root(e);
    memset(z, 0, HL);
    memset(proof, 0, sizeof proof);

    /* a one-leaf tree: the root is the leaf hash, the path is empty */
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, 1, NULL, 0, h), 0);
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, 1, NULL, 0, e), -1);
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, 1, proof, 1, h), -1);
    /* size 0, and indexes at or past the size */
    const uint64_t bad_pairs[][2] = {{0, 0}, {1, 0}, {1, 1}, {2, 1}, {5, 5}, {UINT64_MAX, 7}};
    for (size_t i = 0; i < sizeof bad_pairs / sizeof bad_pairs[0]; i++) {
        assert_int_equal(zn_merkle_verify_inclusion(h, bad_pairs[i][0], bad_pairs[i][1], NULL, 0, h), -1);
        assert_int_equal(zn_merkle_verify_inclusion(h, bad_pairs[i][0], bad_pairs[i][1], NULL, 0, e), -1);
    }
    /* sizes above the limit; proofs longer than the limit; missing buffers */
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, ZN_MERKLE_MAX_SIZE + 1, proof, 63, h), -1);
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, UINT64_MAX, proof, 64, h), -1);
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, 2, proof, ZN_MERKLE_MAX_INCLUSION + 1, h), -1);
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, 2, NULL, 1, h), -1);
    assert_int_equal(zn_merkle_verify_inclusion(NULL, 0, 1, NULL, 0, h), -1);
    assert_int_equal(zn_merkle_verify_inclusion(h, 0, 1, NULL, 0, NULL), -1);

    /* consistency: m == n needs an empty proof and equal roots */
    assert_int_equal(zn_merkle_verify_consistency(1, 1, h, h, NULL, 0), 0);
    assert_int_equal(zn_merkle_verify_consistency(7, 7, h, h, NULL, 0), 0);
    assert_int_equal(zn_merkle_verify_consistency(1, 1, h, e, NULL, 0), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 1, h, h, proof, 1), -1);
    assert_int_equal(zn_merkle_verify_consistency(3, 3, h, h, h, 1), -1);
    /* the RFC defines no proof from the empty tree; time travel; empty proofs for m < n */
    assert_int_equal(zn_merkle_verify_consistency(0, 0, e, e, NULL, 0), -1);
    assert_int_equal(zn_merkle_verify_consistency(0, 1, e, h, NULL, 0), -1);
    assert_int_equal(zn_merkle_verify_consistency(0, 1, e, h, h, 1), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 0, h, e, NULL, 0), -1);
    assert_int_equal(zn_merkle_verify_consistency(2, 1, h, h, NULL, 0), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 2, h, h, NULL, 0), -1);
    /* limits */
    assert_int_equal(zn_merkle_verify_consistency(1, ZN_MERKLE_MAX_SIZE + 1, h, h, proof, 3), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 2, h, h, proof, ZN_MERKLE_MAX_CONSISTENCY + 1), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 2, h, h, NULL, 1), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 1, NULL, h, NULL, 0), -1);
    assert_int_equal(zn_merkle_verify_consistency(1, 1, h, NULL, NULL, 0), -1);
    /* a proof of the right length made of zeros does not verify */
    assert_int_equal(zn_merkle_verify_consistency(3, 8, z, z, proof, 4), -1);
    assert_int_equal(zn_merkle_verify_inclusion(z, 3, 8, proof, 3, z), -1);
}

/* ------------------------------------------------------------ frontier, every size */

static void test_frontier_every_size(void **state)
{
    (void)state;
    zn_merkle_frontier fr, loaded;
    zn_merkle_frontier *snap = malloc((S_N + 1) * sizeof *snap);
    assert_non_null(snap);
    s_store st;
    s_store_init(&st, S_N);
    zn_merkle_frontier_init(&fr);
    snap[0] = fr;
    uint8_t h[HL];
    for (uint64_t s = 1; s <= S_N; s++) {
        uint64_t emits = st.emits;
        assert_int_equal(zn_merkle_append(&fr, s_leaves + (s - 1) * HL, s_emit, &st), 0);
        assert_int_equal(fr.size, s);
        /* the leaf, then one node per trailing one bit of the old size */
        uint64_t want = 1, old = s - 1;
        while (old & 1u) {
            want++;
            old >>= 1;
        }
        assert_int_equal(st.emits - emits, want);
        snap[s] = fr;
        zn_merkle_frontier_root(&fr, h);
        assert_memory_equal(h, s_roots[s], HL);
        st.limit = s;
        assert_int_equal(zn_merkle_root(s_get, &st, s, h), 0);
        assert_memory_equal(h, s_roots[s], HL);
        assert_int_equal(zn_merkle_frontier_load(&loaded, s_get, &st, s), 0);
        assert_memory_equal(&loaded, &fr, sizeof fr);
    }
    /* all nodes of the full tree are stored: 2n - popcount(n) emits */
    assert_int_equal(st.emits, 2u * S_N - (unsigned)__builtin_popcountll(S_N));
    for (unsigned l = 0; l < ZN_MERKLE_MAX_LEVELS; l++)
        assert_int_equal(st.count[l], (uint64_t)S_N >> l);
    /* with all S_N leaves stored, every smaller size rebuilds to its own frontier and root */
    for (uint64_t s = 0; s <= S_N; s++) {
        st.limit = s;
        uint64_t reads = st.reads;
        assert_int_equal(zn_merkle_frontier_load(&loaded, s_get, &st, s), 0);
        assert_int_equal(st.reads - reads, (uint64_t)__builtin_popcountll(s));
        assert_memory_equal(&loaded, &snap[s], sizeof loaded);
        zn_merkle_frontier_root(&loaded, h);
        assert_memory_equal(h, s_roots[s], HL);
        /* a restarted frontier goes on exactly like the one that never stopped */
        if (s < S_N) {
            assert_int_equal(zn_merkle_append(&loaded, s_leaves + s * HL, NULL, NULL), 0);
            assert_memory_equal(&loaded, &snap[s + 1], sizeof loaded);
        }
    }
    assert_int_equal(st.overreach, 0);
    /* the stored nodes equal the shared fixture's */
    for (unsigned l = 0; ((uint64_t)S_N >> l) > 0; l++)
        assert_memory_equal(st.lv[l], s_tree.lv[l], ((uint64_t)S_N >> l) * HL);
    /* a node missing from the store: loading and roots fail, and leave an empty frontier */
    st.count[2] = 0;
    st.limit = S_N;
    assert_int_equal(zn_merkle_frontier_load(&loaded, s_get, &st, 4), -1);
    zn_merkle_frontier_init(&fr);
    assert_memory_equal(&loaded, &fr, sizeof fr);
    assert_int_equal(zn_merkle_root(s_get, &st, 5, h), -1);
    assert_int_equal(zn_merkle_frontier_load(&loaded, s_get, &st, ZN_MERKLE_MAX_SIZE + 1), -1);
    assert_int_equal(zn_merkle_frontier_load(&loaded, NULL, NULL, 1), -1);
    assert_int_equal(zn_merkle_frontier_load(&loaded, NULL, NULL, 0), 0);
    assert_int_equal(zn_merkle_frontier_load(NULL, s_get, &st, 0), -1);
    assert_int_equal(zn_merkle_root(NULL, NULL, 1, h), -1);
    assert_int_equal(zn_merkle_root(s_get, &st, ZN_MERKLE_MAX_SIZE + 1, h), -1);
    s_store_free(&st);
    free(snap);
}

/* An emit that fails leaves the frontier as it was, whichever call fails. */
static void test_append_failures(void **state)
{
    (void)state;
    s_store st;
    s_store_init(&st, 64);
    zn_merkle_frontier fr, before, ref;
    zn_merkle_frontier_init(&fr);
    zn_merkle_frontier_init(&ref);
    for (uint64_t i = 0; i < 64; i++) {
        const uint8_t *leaf = s_leaves + i * HL;
        /* calls this append makes: the leaf and one per trailing one bit of i */
        unsigned calls = 1;
        for (uint64_t x = i; x & 1u; x >>= 1)
            calls++;
        for (unsigned k = 1; k <= calls; k++) {
            uint64_t counts[ZN_MERKLE_MAX_LEVELS];
            memcpy(counts, st.count, sizeof counts);
            before = fr;
            st.fail_emit_at = st.emits + k;
            assert_int_equal(zn_merkle_append(&fr, leaf, s_emit, &st), -1);
            assert_memory_equal(&fr, &before, sizeof fr);
            memcpy(st.count, counts, sizeof counts); /* the caller's transaction rolls back */
        }
        st.fail_emit_at = 0;
        assert_int_equal(zn_merkle_append(&fr, leaf, s_emit, &st), 0);
        assert_int_equal(zn_merkle_append(&ref, leaf, NULL, NULL), 0);
        assert_memory_equal(&fr, &ref, sizeof fr);
    }
    /* the size limit */
    fr.size = ZN_MERKLE_MAX_SIZE;
    before = fr;
    assert_int_equal(zn_merkle_append(&fr, s_leaves, NULL, NULL), -1);
    assert_memory_equal(&fr, &before, sizeof fr);
    assert_int_equal(zn_merkle_append(NULL, s_leaves, NULL, NULL), -1);
    assert_int_equal(zn_merkle_append(&ref, NULL, NULL, NULL), -1);
    s_store_free(&st);
}

/* ------------------------------------------------------------ every index, every size */

static void test_inclusion_every_index(void **state)
{
    (void)state;
    uint8_t proof[ZN_MERKLE_MAX_INCLUSION * HL], leaf[HL], root[HL];
    uint64_t proofs = 0, size_kept = 0, size_doubled = 0, max_reads = 0;
    size_t max_len = 0;
    for (uint64_t size = 1; size <= S_N; size++) {
        s_tree.limit = size;
        memcpy(root, s_roots[size], HL);
        for (uint64_t index = 0; index < size; index++) {
            size_t n = 99;
            uint64_t reads = s_tree.reads;
            assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, index, size, proof,
                                                       ZN_MERKLE_MAX_INCLUSION, &n), 0);
            reads = s_tree.reads - reads;
            assert_true(reads <= s_read_bound(size));
            max_reads = reads > max_reads ? reads : max_reads;
            s_shape shape = s_incl_shape(index, size);
            assert_int_equal(n, shape.steps);
            max_len = n > max_len ? n : max_len;
            proofs++;

            /* verifies */
            memcpy(leaf, s_leaves + index * HL, HL);
            assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n, root), 0);
            /* one byte of the leaf */
            leaf[(index + size) % HL] ^= 0x01;
            assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n, root), -1);
            leaf[(index + size) % HL] ^= 0x01;
            /* one proof hash (one byte of it) */
            if (n > 0) {
                size_t j = (size_t)((index * 7 + size) % n);
                proof[j * HL + (index % HL)] ^= 0x80;
                assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n, root), -1);
                proof[j * HL + (index % HL)] ^= 0x80;
            }
            /* the index: a neighbour, and one past the end */
            if (size > 1) {
                uint64_t other = (index ^ 1) < size ? (index ^ 1) : index - 1;
                assert_int_equal(zn_merkle_verify_inclusion(leaf, other, size, proof, n, root), -1);
            }
            assert_int_equal(zn_merkle_verify_inclusion(leaf, size, size, proof, n, root), -1);
            /* the size. A size whose audit path for this index has the same shape takes the
             * same hashes to the same root (RFC 6962 binds the size through the signed tree
             * head, not through the proof), so the changed size is the nearest of size + 1,
             * size - 1 and size * 2 that changes the shape (size * 2 always does); every 16th
             * pair also checks that a shape-keeping size + 1 does verify. */
            bool up_kept = s_shape_eq(s_incl_shape(index, size + 1), shape);
            uint64_t other_size = size * 2;
            if (!up_kept)
                other_size = size + 1;
            else if (size - 1 > index && !s_shape_eq(s_incl_shape(index, size - 1), shape))
                other_size = size - 1;
            assert_int_equal(zn_merkle_verify_inclusion(leaf, index, other_size, proof, n, root), -1);
            if (other_size == size * 2)
                size_doubled++;
            if (up_kept && (index + size) % 16 == 0) {
                assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size + 1, proof, n, root), 0);
                size_kept++;
            }
            /* one byte of the root */
            root[index % HL] ^= 0x04;
            assert_int_equal(zn_merkle_verify_inclusion(leaf, index, size, proof, n, root), -1);
            root[index % HL] ^= 0x04;
        }
    }
    assert_int_equal(s_tree.overreach, 0);
    assert_int_equal(proofs, (uint64_t)S_N * (S_N + 1) / 2);
    assert_true(size_kept > 0 && size_doubled < proofs);
    printf("merkle: %" PRIu64 " audit paths (every index, sizes 1..%u) verified and refused when "
           "the leaf, a proof hash, the index, the size or the root changed (size doubled in %"
           PRIu64 "; shape-keeping size + 1 verified in %" PRIu64 " samples); longest path %zu, "
           "most reads %" PRIu64 "\n",
           proofs, S_N, size_doubled, size_kept, max_len, max_reads);
}

/* Audit paths equal the RFC 6962 reference byte for byte: every index up to S_REF_ALL leaves,
 * beyond that a spread of indexes at every seventh size; plus the CT verifier's probes. */
static void test_inclusion_reference(void **state)
{
    (void)state;
    uint8_t proof[ZN_MERKLE_MAX_INCLUSION * HL], ref[S_REF_MAX * HL];
    for (uint64_t size = 1; size <= S_N; size++) {
        if (size > S_REF_ALL && size % 7 != 0)
            continue;
        s_tree.limit = size;
        uint64_t picks[] = {0, 1, size / 3, size / 2, size - 2, size - 1};
        uint64_t count = size <= S_REF_ALL ? size : sizeof picks / sizeof picks[0];
        for (uint64_t i = 0; i < count; i++) {
            uint64_t index = size <= S_REF_ALL ? i : picks[i];
            if (index >= size)
                continue;
            size_t n = 0, rn = 0;
            assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, index, size, proof,
                                                       ZN_MERKLE_MAX_INCLUSION, &n), 0);
            s_ref_path(index, s_leaves, size, ref, &rn);
            assert_int_equal(n, rn);
            if (n > 0)
                assert_memory_equal(proof, ref, n * HL);
            if (size <= 64 || index == size - 1)
                s_inclusion_probes(s_leaves + index * HL, index, size, proof, n, s_roots[size]);
        }
    }
    assert_int_equal(s_tree.overreach, 0);
}

/* ------------------------------------------------------------ consistency, sampled */

static uint64_t s_rng = 0x9e3779b97f4a7c15u;

static uint64_t s_next(void) /* splitmix64 */
{
    uint64_t z = (s_rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void s_check_consistency(uint64_t m, uint64_t n, bool against_reference, uint64_t *pairs)
{
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL], ref[S_REF_MAX * HL];
    size_t len = 99;
    s_tree.limit = n;
    uint64_t reads = s_tree.reads;
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, m, n, proof,
                                                 ZN_MERKLE_MAX_CONSISTENCY, &len), 0);
    assert_true(s_tree.reads - reads <= s_read_bound(n));
    assert_int_equal(len, s_cons_len(m, n));
    if (against_reference) {
        size_t rlen = 0;
        s_ref_subproof(m, s_leaves, n, true, ref, &rlen);
        assert_int_equal(len, rlen);
        if (len > 0)
            assert_memory_equal(proof, ref, len * HL);
    }
    (*pairs)++;
    const uint8_t *rm = s_roots[m], *rn = s_roots[n];
    if (m == n) {
        assert_int_equal(len, 0);
        assert_int_equal(zn_merkle_verify_consistency(m, n, rm, rn, proof, 0), 0);
        if (n > 1)
            assert_int_equal(zn_merkle_verify_consistency(m, n, s_roots[n - 1], rn, proof, 0), -1);
        return;
    }
    assert_int_equal(zn_merkle_verify_consistency(m, n, rm, rn, proof, len), 0);
    /* one byte of one hash */
    size_t j = (size_t)((m * 5 + n) % len);
    proof[j * HL + (n % HL)] ^= 0x20;
    assert_int_equal(zn_merkle_verify_consistency(m, n, rm, rn, proof, len), -1);
    proof[j * HL + (n % HL)] ^= 0x20;
    /* either size */
    assert_int_equal(zn_merkle_verify_consistency(m + 1, n, rm, rn, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m - 1, n, rm, rn, proof, len), -1);
    int want = s_shape_eq(s_cons_shape(m, n + 1), s_cons_shape(m, n)) ? 0 : -1;
    assert_int_equal(zn_merkle_verify_consistency(m, n + 1, rm, rn, proof, len), want);
    /* either root: one byte, or the root of another size */
    uint8_t r[HL];
    memcpy(r, rm, HL);
    r[m % HL] ^= 0x01;
    assert_int_equal(zn_merkle_verify_consistency(m, n, r, rn, proof, len), -1);
    memcpy(r, rn, HL);
    r[n % HL] ^= 0x01;
    assert_int_equal(zn_merkle_verify_consistency(m, n, rm, r, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m, n, s_roots[m - 1], rn, proof, len), -1);
    assert_int_equal(zn_merkle_verify_consistency(m, n, rm, s_roots[n - 1], proof, len), -1);
    /* one hash fewer or more */
    assert_int_equal(zn_merkle_verify_consistency(m, n, rm, rn, proof, len - 1), -1);
    memcpy(proof + len * HL, rn, HL);
    assert_int_equal(zn_merkle_verify_consistency(m, n, rm, rn, proof, len + 1), -1);
}

static void test_consistency_sample(void **state)
{
    (void)state;
    uint64_t pairs = 0;
    for (uint64_t n = 1; n <= S_N; n++) {
        if (n <= S_REF_ALL) {
            for (uint64_t m = 1; m <= n; m++)
                s_check_consistency(m, n, true, &pairs);
            continue;
        }
        uint64_t p2 = s_ref_split(n);
        uint64_t picks[] = {1, 2, 3, p2 - 1, p2, p2 + 1, n / 2, n - 1, n, 1 + s_next() % n,
                            1 + s_next() % n};
        for (size_t i = 0; i < sizeof picks / sizeof picks[0]; i++)
            s_check_consistency(picks[i], n, n % 7 == 0 && i >= 6, &pairs);
    }
    /* random pairs across the whole tree */
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t n = 1 + s_next() % S_N, m = 1 + s_next() % n;
        s_check_consistency(m, n, i < 100, &pairs);
    }
    assert_int_equal(s_tree.overreach, 0);
    printf("merkle: %" PRIu64 " consistency proofs verified and refused when altered\n", pairs);
}

/* ------------------------------------------------------------ proof errors */

static void test_proof_errors(void **state)
{
    (void)state;
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL];
    size_t n = 99;
    s_tree.limit = S_N;

    /* out of range */
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 0, 0, proof, 64, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 5, 5, proof, 64, &n), -1);
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 0, ZN_MERKLE_MAX_SIZE + 1, proof, 64, &n), -1);
    assert_int_equal(zn_merkle_inclusion_proof(NULL, NULL, 0, 2, proof, 64, &n), -1);
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 0, 2, NULL, 64, &n), -1);
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 0, 2, proof, 64, NULL), -1);
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 0, 1, NULL, 0, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 0, 5, proof, 128, &n), -1);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 6, 5, proof, 128, &n), -1);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 1, ZN_MERKLE_MAX_SIZE + 1, proof, 128, &n), -1);
    assert_int_equal(zn_merkle_consistency_proof(NULL, NULL, 1, 2, proof, 128, &n), -1);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 1, 2, NULL, 128, &n), -1);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 1, 2, proof, 128, NULL), -1);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 5, 5, NULL, 0, &n), 0);
    assert_int_equal(n, 0);

    /* a buffer one hash too small */
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 700, 999, proof, 64, &n), 0);
    size_t need = n;
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 700, 999, proof, need - 1, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, 700, 999, proof, need, &n), 0);
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 333, 999, proof, 128, &n), 0);
    need = n;
    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, 333, 999, proof, need - 1, &n), -1);
    assert_int_equal(n, 0);

    /* every read failing in turn (fail the first, then the second, ...) */
    const uint64_t sizes[][2] = {{700, 999}, {0, 1000}, {999, 1000}, {511, 512}, {6, 7}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t a = sizes[s][0], b = sizes[s][1];
        for (unsigned kind = 0; kind < 3; kind++) {
            uint64_t start = s_tree.reads;
            int rc;
            uint8_t root[HL];
            if (kind == 0)
                rc = zn_merkle_inclusion_proof(s_get, &s_tree, a, b, proof, 64, &n);
            else if (kind == 1)
                rc = zn_merkle_consistency_proof(s_get, &s_tree, a + 1, b, proof, 128, &n);
            else
                rc = zn_merkle_root(s_get, &s_tree, b, root);
            assert_int_equal(rc, 0);
            uint64_t reads = s_tree.reads - start;
            assert_true(reads <= s_read_bound(b));
            for (uint64_t k = 1; k <= reads; k++) {
                s_tree.fail_read_at = s_tree.reads + k;
                if (kind == 0) {
                    assert_int_equal(zn_merkle_inclusion_proof(s_get, &s_tree, a, b, proof, 64, &n), -1);
                    assert_int_equal(n, 0);
                } else if (kind == 1) {
                    assert_int_equal(zn_merkle_consistency_proof(s_get, &s_tree, a + 1, b, proof, 128, &n), -1);
                    assert_int_equal(n, 0);
                } else {
                    assert_int_equal(zn_merkle_root(s_get, &s_tree, b, root), -1);
                }
                s_tree.fail_read_at = 0;
            }
        }
    }
    assert_int_equal(s_tree.overreach, 0);
}

/* ------------------------------------------------------------ trees of up to 2^63 leaves */

/* Every leaf is the same hash, so node (l, i) is u[l] for every i. */
typedef struct {
    uint8_t u[ZN_MERKLE_MAX_LEVELS][HL];
    uint64_t limit, reads, overreach;
} s_uniform;

static int s_uniform_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
    s_uniform *u = ctx;
    u->reads++;
    if (level >= ZN_MERKLE_MAX_LEVELS || index >= (u->limit >> level)) {
        u->overreach++;
        return -1;
    }
    memcpy(out, u->u[level], HL);
    return 0;
}

static uint64_t s_uniform_emits;

static int s_uniform_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[HL])
{
    s_uniform *u = ctx;
    s_uniform_emits++;
    assert_true(level < ZN_MERKLE_MAX_LEVELS);
    assert_memory_equal(hash, u->u[level], HL);
    assert_true(index == ((u->limit >> level) - 1)); /* the new node ends at the new size */
    return 0;
}

/* Reference MTH of n identical leaves. */
static void s_uniform_mth(const s_uniform *u, uint64_t n, uint8_t out[HL])
{
    if ((n & (n - 1)) == 0) {
        memcpy(out, u->u[__builtin_ctzll(n)], HL);
        return;
    }
    uint64_t k = s_ref_split(n);
    uint8_t r[HL];
    s_uniform_mth(u, n - k, r);
    s_ref_node(out, u->u[__builtin_ctzll(k)], r);
}

static void test_huge_trees(void **state)
{
    (void)state;
    s_uniform *u = calloc(1, sizeof *u);
    assert_non_null(u);
    s_ref_leaf(u->u[0], (const uint8_t *)"same", 4);
    for (unsigned l = 1; l < ZN_MERKLE_MAX_LEVELS; l++)
        s_ref_node(u->u[l], u->u[l - 1], u->u[l - 1]);

    const uint64_t top = ZN_MERKLE_MAX_SIZE;
    const uint64_t sizes[] = {1, 2, 3, 1000, UINT64_C(1) << 32, (UINT64_C(1) << 40) + 12345,
                              (UINT64_C(1) << 62) + 1, top - 2, top - 1, top};
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * HL], root[HL], want[HL], r2[HL];
    size_t longest_incl = 0, longest_cons = 0;
    zn_merkle_frontier fr;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint64_t size = sizes[s];
        u->limit = size;
        s_uniform_mth(u, size, want);
        assert_int_equal(zn_merkle_root(s_uniform_get, u, size, root), 0);
        assert_memory_equal(root, want, HL);
        assert_int_equal(zn_merkle_frontier_load(&fr, s_uniform_get, u, size), 0);
        zn_merkle_frontier_root(&fr, r2);
        assert_memory_equal(r2, want, HL);
        const uint64_t idx[] = {0, size / 3, size / 2, size - 2, size - 1};
        for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
            if (idx[i] >= size)
                continue;
            size_t n = 0;
            assert_int_equal(zn_merkle_inclusion_proof(s_uniform_get, u, idx[i], size, proof,
                                                       ZN_MERKLE_MAX_INCLUSION, &n), 0);
            assert_int_equal(n, s_incl_shape(idx[i], size).steps);
            longest_incl = n > longest_incl ? n : longest_incl;
            assert_int_equal(zn_merkle_verify_inclusion(u->u[0], idx[i], size, proof, n, root), 0);
            r2[0] = (uint8_t)(root[0] ^ 1);
            memcpy(r2 + 1, root + 1, HL - 1);
            assert_int_equal(zn_merkle_verify_inclusion(u->u[0], idx[i], size, proof, n, r2), -1);
            if (n > 0)
                assert_int_equal(zn_merkle_verify_inclusion(u->u[0], idx[i], size, proof, n - 1, root), -1);
        }
        const uint64_t ms[] = {1, 2, 3, size / 3, size / 2 + 1, size - 1, size};
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
            uint64_t m = ms[i];
            if (m == 0 || m > size)
                continue;
            size_t len = 0;
            assert_int_equal(zn_merkle_consistency_proof(s_uniform_get, u, m, size, proof,
                                                         ZN_MERKLE_MAX_CONSISTENCY, &len), 0);
            assert_int_equal(len, s_cons_len(m, size));
            longest_cons = len > longest_cons ? len : longest_cons;
            uint8_t rm[HL];
            s_uniform_mth(u, m, rm);
            assert_int_equal(zn_merkle_verify_consistency(m, size, rm, root, proof, len), 0);
            if (m < size) {
                proof[0] ^= 1;
                assert_int_equal(zn_merkle_verify_consistency(m, size, rm, root, proof, len), -1);
                proof[0] ^= 1;
                assert_int_equal(zn_merkle_verify_consistency(m, size, rm, root, proof, len - 1), -1);
            }
        }
    }
    assert_int_equal(u->overreach, 0);
    assert_true(longest_incl <= 63);
    assert_true(longest_cons <= 64);

    /* the last leaf a tree can take completes 63 nodes above it: 64 emits; then it is full */
    u->limit = top - 1;
    assert_int_equal(zn_merkle_frontier_load(&fr, s_uniform_get, u, top - 1), 0);
    u->limit = top;
    s_uniform_emits = 0;
    assert_int_equal(zn_merkle_append(&fr, u->u[0], s_uniform_emit, u), 0);
    assert_int_equal(s_uniform_emits, 64);
    assert_int_equal(fr.size, top);
    zn_merkle_frontier_root(&fr, root);
    assert_memory_equal(root, u->u[63], HL);
    assert_int_equal(zn_merkle_append(&fr, u->u[0], s_uniform_emit, u), -1);
    assert_int_equal(s_uniform_emits, 64);

    /* sizes past the limit */
    u->limit = UINT64_MAX;
    size_t n = 0;
    assert_int_equal(zn_merkle_root(s_uniform_get, u, top + 1, root), -1);
    assert_int_equal(zn_merkle_frontier_load(&fr, s_uniform_get, u, UINT64_MAX), -1);
    assert_int_equal(zn_merkle_inclusion_proof(s_uniform_get, u, 0, top + 1, proof, 64, &n), -1);
    assert_int_equal(zn_merkle_consistency_proof(s_uniform_get, u, 1, UINT64_MAX, proof, 128, &n), -1);
    printf("merkle: trees up to 2^63 leaves: longest audit path %zu, longest consistency proof "
           "%zu hashes\n", longest_incl, longest_cons);
    free(u);
}

/* ------------------------------------------------------------ docs/PROTOCOL.md section 10 */

static void s_check_doc(const char *name, const uint8_t *p, size_t n)
{
    zn_test_check_vector("PROTOCOL.md", name, NULL, p, n);
}

static void test_doc_vectors(void **state)
{
    (void)state;
    uint8_t leaves[8][HL], buf[8 * HL];
    s_store st;
    s_ct_tree(&st, leaves);
    zn_merkle_empty_root(buf);
    s_check_doc("merkle-empty-root", buf, HL);
    s_check_doc("merkle-leaf-hashes", &leaves[0][0], 8 * HL);
    st.limit = 8;
    for (uint64_t s = 1; s <= 8; s++)
        assert_int_equal(zn_merkle_root(s_get, &st, s, buf + (s - 1) * HL), 0);
    for (unsigned s = 0; s < 8; s++)
        s_assert_hash_hex(buf + s * HL, s_ct_roots[s]);
    s_check_doc("merkle-roots", buf, 8 * HL);
    /* the stored nodes of the eight-leaf tree, level by level */
    size_t k = 0;
    uint8_t nodes[15 * HL];
    for (unsigned l = 0; l < 4; l++)
        for (uint64_t i = 0; i < (8u >> l); i++)
            assert_int_equal(s_get(&st, l, i, nodes + HL * k++), 0);
    s_check_doc("merkle-nodes", nodes, sizeof nodes);
    for (size_t v = 1; v < sizeof s_ct_paths / sizeof s_ct_paths[0]; v++) {
        size_t n = 0;
        assert_int_equal(zn_merkle_inclusion_proof(s_get, &st, s_ct_paths[v].a, s_ct_paths[v].b,
                                                   buf, 8, &n), 0);
        s_check_doc(s_ct_paths[v].doc, buf, n * HL);
    }
    for (size_t v = 1; v < sizeof s_ct_consistency / sizeof s_ct_consistency[0]; v++) {
        size_t n = 0;
        assert_int_equal(zn_merkle_consistency_proof(s_get, &st, s_ct_consistency[v].a,
                                                     s_ct_consistency[v].b, buf, 8, &n), 0);
        s_check_doc(s_ct_consistency[v].doc, buf, n * HL);
    }
    s_store_free(&st);
}

/* ------------------------------------------------------------ timings (printed, not asserted) */

static double s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void test_performance(void **state)
{
    (void)state;
    s_store st;
    s_store_init(&st, S_PERF_N);
    zn_merkle_frontier fr, loaded;
    zn_merkle_frontier_init(&fr);
    uint8_t leaf[HL], root[HL], r2[HL], proof[ZN_MERKLE_MAX_CONSISTENCY * HL];

    double t0 = s_now_us();
    for (uint64_t i = 0; i < S_PERF_N; i++) {
        s_leaf_of(leaf, i);
        assert_int_equal(zn_merkle_append(&fr, leaf, s_emit, &st), 0);
    }
    double t_build = s_now_us() - t0;
    st.limit = S_PERF_N;
    zn_merkle_frontier_root(&fr, root);

    t0 = s_now_us();
    assert_int_equal(zn_merkle_root(s_get, &st, S_PERF_N, r2), 0);
    double t_root = s_now_us() - t0;
    assert_memory_equal(root, r2, HL);
    t0 = s_now_us();
    assert_int_equal(zn_merkle_frontier_load(&loaded, s_get, &st, S_PERF_N), 0);
    double t_load = s_now_us() - t0;
    assert_memory_equal(&loaded, &fr, sizeof fr);

    double incl_sum = 0, incl_max = 0, iv_sum = 0, cons_sum = 0, cons_max = 0, cv_sum = 0;
    uint64_t incl_reads = 0, cons_reads = 0;
    size_t incl_len = 0, cons_len = 0;
    for (unsigned k = 0; k < S_PERF_PROOFS; k++) {
        uint64_t index = s_next() % S_PERF_N;
        size_t n = 0;
        uint64_t reads = st.reads;
        t0 = s_now_us();
        assert_int_equal(zn_merkle_inclusion_proof(s_get, &st, index, S_PERF_N, proof,
                                                   ZN_MERKLE_MAX_INCLUSION, &n), 0);
        double dt = s_now_us() - t0;
        incl_sum += dt;
        incl_max = dt > incl_max ? dt : incl_max;
        incl_reads += st.reads - reads;
        incl_len = n > incl_len ? n : incl_len;
        s_leaf_of(leaf, index);
        t0 = s_now_us();
        assert_int_equal(zn_merkle_verify_inclusion(leaf, index, S_PERF_N, proof, n, root), 0);
        iv_sum += s_now_us() - t0;

        uint64_t m = 1 + s_next() % S_PERF_N;
        reads = st.reads;
        t0 = s_now_us();
        assert_int_equal(zn_merkle_consistency_proof(s_get, &st, m, S_PERF_N, proof,
                                                     ZN_MERKLE_MAX_CONSISTENCY, &n), 0);
        dt = s_now_us() - t0;
        cons_sum += dt;
        cons_max = dt > cons_max ? dt : cons_max;
        cons_reads += st.reads - reads;
        cons_len = n > cons_len ? n : cons_len;
        st.limit = m;
        assert_int_equal(zn_merkle_root(s_get, &st, m, r2), 0);
        st.limit = S_PERF_N;
        t0 = s_now_us();
        assert_int_equal(zn_merkle_verify_consistency(m, S_PERF_N, r2, root, proof, n), 0);
        cv_sum += s_now_us() - t0;
    }
    assert_int_equal(st.overreach, 0);
    printf("merkle: %u leaves: append all (leaf hashing included) %.0f ms (%.2f us/leaf); root "
           "from stored nodes %.1f us; frontier rebuilt %.1f us\n",
           S_PERF_N, t_build / 1e3, t_build / S_PERF_N, t_root, t_load);
    printf("merkle: inclusion proof avg %.2f us, max %.2f us, %.1f reads, up to %zu hashes; "
           "verify avg %.2f us\n",
           incl_sum / S_PERF_PROOFS, incl_max, (double)incl_reads / S_PERF_PROOFS, incl_len,
           iv_sum / S_PERF_PROOFS);
    printf("merkle: consistency proof avg %.2f us, max %.2f us, %.1f reads, up to %zu hashes; "
           "verify avg %.2f us\n",
           cons_sum / S_PERF_PROOFS, cons_max, (double)cons_reads / S_PERF_PROOFS, cons_len,
           cv_sum / S_PERF_PROOFS);
    s_store_free(&st);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashing),
        cmocka_unit_test(test_ct_roots),
        cmocka_unit_test(test_ct_inclusion),
        cmocka_unit_test(test_ct_consistency),
        cmocka_unit_test(test_ct_log_path),
        cmocka_unit_test(test_verify_edges),
        cmocka_unit_test(test_frontier_every_size),
        cmocka_unit_test(test_append_failures),
        cmocka_unit_test(test_inclusion_every_index),
        cmocka_unit_test(test_inclusion_reference),
        cmocka_unit_test(test_consistency_sample),
        cmocka_unit_test(test_proof_errors),
        cmocka_unit_test(test_huge_trees),
        cmocka_unit_test(test_doc_vectors),
        cmocka_unit_test(test_performance),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
