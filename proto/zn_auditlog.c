/* zn_auditlog — export records, their two line formats and the offline verifier (see
 * zn_auditlog.h and docs/AUDIT.md section 8). */
#include "zn_auditlog.h"

#include "zn_merkle.h"
#include "zn_request.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define S_HEAD_MAX 54           /* [1, size, root bin32, time]: see zn_audit.c */
#define S_HEAD_FIELDS 4
#define S_HEADER_FIELDS 10      /* envelope header, docs/PROTOCOL.md section 4 */
#define S_CHUNK_BYTES (1u << 20)
#define S_MAX_THREADS 64
#define S_CONV_LOAD "convenant-load"

/* ================================================================ small helpers */

static const char s_hexdig[] = "0123456789abcdef";

/* Lowercase hex digit -> value; 0x80 for every other byte. The data is public: no need for the
 * constant-time (and much slower) decoder of libsodium. */
static const uint8_t s_unhex_tab[256] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* out[0..n) from 2n lowercase hex digits; -1 when any is not one. Sixteen digits at a time where
 * SSE2 is there, a table lookup per digit for the rest; no branch per byte. */
static int s_unhex(uint8_t *out, const uint8_t *hex, size_t n)
{
    uint8_t bad = 0;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i c0 = _mm_set1_epi8('0'), ca = _mm_set1_epi8('a'), nine = _mm_set1_epi8(9);
    const __m128i five = _mm_set1_epi8(5), ten = _mm_set1_epi8(10), zero = _mm_setzero_si128();
    const __m128i low = _mm_set1_epi16(0x00ff);
    int ok = 0xffff;
    for (; i + 8 <= n; i += 8) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(hex + 2 * i));
        __m128i d = _mm_sub_epi8(x, c0), l = _mm_sub_epi8(x, ca);
        __m128i isd = _mm_cmpeq_epi8(_mm_subs_epu8(d, nine), zero); /* '0'..'9' */
        __m128i isl = _mm_cmpeq_epi8(_mm_subs_epu8(l, five), zero); /* 'a'..'f' */
        ok &= _mm_movemask_epi8(_mm_or_si128(isd, isl));
        __m128i v = _mm_or_si128(_mm_and_si128(isd, d), _mm_and_si128(isl, _mm_add_epi8(l, ten)));
        /* 16-bit lane j holds digit 2j (low byte) and digit 2j + 1: one output byte each */
        __m128i w = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, low), 4), _mm_srli_epi16(v, 8));
        _mm_storel_epi64((__m128i *)(void *)(out + i), _mm_packus_epi16(w, w));
    }
    if (ok != 0xffff)
        return -1;
#endif
    for (; i < n; i++) {
        uint8_t hi = s_unhex_tab[hex[2 * i]], lo = s_unhex_tab[hex[2 * i + 1]];
        bad |= hi | lo;
        out[i] = (uint8_t)((hi << 4) | (lo & 0x0f));
    }
    return (bad & 0x80) ? -1 : 0;
}

/* The last byte c in p[0..n), or NULL; sixteen (or eight) bytes at a time: hex runs are long. */
static const uint8_t *s_rfind(const uint8_t *p, size_t n, uint8_t c)
{
#if defined(__SSE2__)
    const __m128i pat = _mm_set1_epi8((char)c);
    while (n >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, pat));
        if (m)
            return p + n - 16 + (31 - __builtin_clz(m));
        n -= 16;
    }
#else
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    const uint64_t pat = ones * c;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p + n - 8, 8);
        w ^= pat;
        if ((w - ones) & ~w & highs)
            break; /* some byte of this word is c */
        n -= 8;
    }
#endif
    while (n > 0) {
        if (p[n - 1] == c)
            return p + n - 1;
        n--;
    }
    return NULL;
}

static int s_fail(zn_err *e, uint64_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_fail(zn_err *e, uint64_t line, const char *fmt, ...)
{
    char what[ZN_ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return zn_err_set(e, ZN_E_VERIFY, "line %" PRIu64 ": %s", line, what);
}

static int s_fail_entry(zn_err *e, uint64_t line, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail_entry(zn_err *e, uint64_t line, uint64_t index, const char *fmt, ...)
{
    char what[ZN_ERR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return zn_err_set(e, ZN_E_VERIFY, "line %" PRIu64 ", entry %" PRIu64 ": %s", line, index, what);
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian, H. Hinnant's algorithm). */
static void s_civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "2026-01-01T00:00:00.123Z" (UTC, always milliseconds). */
static void s_time_text(char out[64], uint64_t ms)
{
    uint64_t s = ms / 1000, days = s / 86400, sod = s % 86400;
    int64_t y;
    unsigned mo, d;
    s_civil((int64_t)days, &y, &mo, &d);
    snprintf(out, 64, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, mo, d, (unsigned)(sod / 3600),
             (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), (unsigned)(ms % 1000));
}

/* ================================================================ records */

static const char *const s_type_name[] = {NULL, "convenant", "entry", "leaves", "head", "end"};
static const unsigned s_type_fields[] = {0, 2, 5, 3, 3, 3};
static const size_t s_type_len[] = {0, 9, 5, 6, 4, 3}; /* strlen of the names */
static const char *const s_type_shape[] = {
    NULL,
    "type, convenant file",
    "type, index, commitment, salt, entry",
    "type, first index, commitments",
    "type, tree head, signature",
    "type, entries, heads",
};

static bool s_type_ok(zn_auditlog_type t)
{
    return t >= ZN_AUDITLOG_CONVENANT && t <= ZN_AUDITLOG_END;
}

/* The one encoding of a record. */
static void s_rec_pack(msgpack_packer *pk, const zn_auditlog_rec *r)
{
    msgpack_pack_array(pk, s_type_fields[r->type]);
    zn_pack_str(pk, s_type_name[r->type]);
    switch (r->type) {
    case ZN_AUDITLOG_CONVENANT:
        zn_pack_bin(pk, r->bytes, r->len);
        break;
    case ZN_AUDITLOG_ENTRY:
        msgpack_pack_uint64(pk, r->index);
        zn_pack_bin(pk, r->d, ZN_HASH_LEN);
        if (r->salt) {
            zn_pack_bin(pk, r->salt, ZN_AUDIT_SALT_LEN);
            zn_pack_bin(pk, r->bytes, r->len);
        } else {
            msgpack_pack_nil(pk);
            msgpack_pack_nil(pk);
        }
        break;
    case ZN_AUDITLOG_LEAVES:
        msgpack_pack_uint64(pk, r->index);
        zn_pack_bin(pk, r->d, ZN_HASH_LEN * r->count);
        break;
    case ZN_AUDITLOG_HEAD:
        zn_pack_bin(pk, r->bytes, r->len);
        zn_pack_bin(pk, r->sig, ZN_SIG_LEN);
        break;
    case ZN_AUDITLOG_END:
        msgpack_pack_uint64(pk, r->entries);
        msgpack_pack_uint64(pk, r->heads);
        break;
    }
}

/* A packer sink that compares with the expected bytes instead of writing: the canonical check
 * without a second buffer. */
typedef struct {
    const uint8_t *p;
    size_t n, pos;
    bool bad;
} s_cmp;

static int s_cmp_write(void *data, const char *buf, size_t len)
{
    s_cmp *c = data;
    if (c->bad || len > c->n - c->pos || (len && memcmp(c->p + c->pos, buf, len) != 0)) {
        c->bad = true;
        return -1;
    }
    c->pos += len;
    return 0;
}

/* A packer sink that appends to a caller's sbuffer and remembers a failed write. */
typedef struct {
    msgpack_sbuffer *sb;
    bool failed;
} s_out;

static int s_out_write(void *data, const char *buf, size_t len)
{
    s_out *o = data;
    if (o->failed || msgpack_sbuffer_write(o->sb, buf, len) != 0) {
        o->failed = true;
        return -1;
    }
    return 0;
}

static void s_head_pack(msgpack_packer *pk, const zn_tree_head *th)
{
    msgpack_pack_array(pk, S_HEAD_FIELDS);
    msgpack_pack_uint64(pk, 1);
    msgpack_pack_uint64(pk, th->size);
    zn_pack_bin(pk, th->root, ZN_HASH_LEN);
    msgpack_pack_uint64(pk, th->time_ms);
}

/* Strict decode of tree head bytes (docs/AUDIT.md section 5), without the signature. */
static int s_head_decode(const uint8_t *p, size_t n, zn_tree_head *th, zn_err *e)
{
    zn_doc doc;
    uint64_t v = 0;
    msgpack_packer pk;
    s_cmp cmp = {.p = p, .n = n, .pos = 0, .bad = false};

    memset(th, 0, sizeof *th);
    if (!p || n == 0 || n > S_HEAD_MAX)
        return zn_err_set(e, ZN_E_MALFORMED, "the tree head is not 1 to %d bytes", S_HEAD_MAX);
    if (zn_doc_parse(&doc, p, n, 1, 1 + S_HEAD_FIELDS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "the tree head is not one msgpack array of %d fields",
                          S_HEAD_FIELDS);
    const msgpack_object *a = zn_obj_array(&doc.root, S_HEAD_FIELDS);
    int bad = !a || zn_obj_u64(&a[0], &v) != 0 || v != 1 || zn_obj_u64(&a[1], &th->size) != 0 ||
              zn_obj_bin_fixed(&a[2], th->root, ZN_HASH_LEN) != 0 ||
              zn_obj_u64(&a[3], &th->time_ms) != 0;
    zn_doc_free(&doc);
    if (bad)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the tree head is not [1, size, root (32-byte bin), time] (version 1)");
    msgpack_packer_init(&pk, &cmp, s_cmp_write);
    s_head_pack(&pk, th);
    if (cmp.bad || cmp.pos != n)
        return zn_err_set(e, ZN_E_MALFORMED, "the tree head is not in its canonical encoding");
    return 0;
}

/* The rules an encoder checks (a parser checks the same while it reads). */
static int s_rec_check(zn_auditlog_rec *r, zn_err *e)
{
    switch (r->type) {
    case ZN_AUDITLOG_CONVENANT:
        if (!r->bytes || r->len == 0 || r->len > ZN_CONVENANT_MAX_BYTES)
            return zn_err_set(e, ZN_E_USAGE, "a convenant record holds a convenant file of 1 to %u bytes",
                              ZN_CONVENANT_MAX_BYTES);
        return 0;
    case ZN_AUDITLOG_ENTRY:
        if (!r->d)
            return zn_err_set(e, ZN_E_USAGE, "an entry record needs the entry's commitment");
        if (!r->salt != !r->bytes)
            return zn_err_set(e, ZN_E_USAGE,
                              "an entry record holds both the salt and the entry, or neither (redacted)");
        if (r->bytes && (r->len == 0 || r->len > ZN_AUDIT_MAX_ENTRY))
            return zn_err_set(e, ZN_E_USAGE, "an entry is 1 to %u bytes", ZN_AUDIT_MAX_ENTRY);
        if (r->index >= ZN_MERKLE_MAX_SIZE)
            return zn_err_set(e, ZN_E_USAGE, "entry index %" PRIu64 " lies beyond the largest tree",
                              r->index);
        return 0;
    case ZN_AUDITLOG_LEAVES:
        if (!r->d || r->count == 0 || r->count > ZN_AUDITLOG_LEAVES_MAX)
            return zn_err_set(e, ZN_E_USAGE, "a leaves record holds 1 to %d commitments",
                              ZN_AUDITLOG_LEAVES_MAX);
        if (r->index > ZN_MERKLE_MAX_SIZE - r->count)
            return zn_err_set(e, ZN_E_USAGE, "the leaves record reaches beyond the largest tree");
        return 0;
    case ZN_AUDITLOG_HEAD:
        if (!r->sig)
            return zn_err_set(e, ZN_E_USAGE, "a head record needs the head's signature");
        if (s_head_decode(r->bytes, r->len, &r->head, e) != 0) {
            if (e)
                e->code = ZN_E_USAGE;
            return -1;
        }
        return 0;
    case ZN_AUDITLOG_END:
        return 0;
    }
    return zn_err_set(e, ZN_E_USAGE, "unknown audit-log record type");
}

static int s_rec_append(msgpack_sbuffer *out, zn_auditlog_rec *r, zn_err *e)
{
    msgpack_packer pk;
    s_out o = {.sb = out, .failed = false};

    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log record encode called without a buffer");
    if (s_rec_check(r, e) != 0)
        return -1;
    size_t before = out->size;
    msgpack_packer_init(&pk, &o, s_out_write);
    s_rec_pack(&pk, r);
    if (o.failed) {
        out->size = before; /* appended whole or not at all */
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while encoding an audit-log record");
    }
    return 0;
}

int zn_auditlog_enc_convenant(msgpack_sbuffer *out, const uint8_t *file, size_t len, zn_err *e)
{
    zn_auditlog_rec r = {.type = ZN_AUDITLOG_CONVENANT, .bytes = file, .len = len};
    return s_rec_append(out, &r, e);
}

int zn_auditlog_enc_entry(msgpack_sbuffer *out, uint64_t index, const uint8_t d[ZN_HASH_LEN],
                          const uint8_t *salt, const uint8_t *entry, size_t len, zn_err *e)
{
    zn_auditlog_rec r = {.type = ZN_AUDITLOG_ENTRY, .index = index, .d = d, .salt = salt,
                         .bytes = entry, .len = entry ? len : 0};
    return s_rec_append(out, &r, e);
}

int zn_auditlog_enc_leaves(msgpack_sbuffer *out, uint64_t first, const uint8_t *ds, size_t count,
                           zn_err *e)
{
    zn_auditlog_rec r = {.type = ZN_AUDITLOG_LEAVES, .index = first, .d = ds, .count = count};
    return s_rec_append(out, &r, e);
}

int zn_auditlog_enc_head(msgpack_sbuffer *out, const uint8_t *head, size_t len,
                         const uint8_t sig[ZN_SIG_LEN], zn_err *e)
{
    zn_auditlog_rec r = {.type = ZN_AUDITLOG_HEAD, .bytes = head, .len = len, .sig = sig};
    return s_rec_append(out, &r, e);
}

int zn_auditlog_enc_end(msgpack_sbuffer *out, uint64_t entries, uint64_t heads, zn_err *e)
{
    zn_auditlog_rec r = {.type = ZN_AUDITLOG_END, .entries = entries, .heads = heads};
    return s_rec_append(out, &r, e);
}

/* A strict reader of plain msgpack values: every length checked against the bytes left. Records
 * are read with it directly (no msgpack-c document: this runs once per line of an export). */
typedef enum { S_V_END = 0, S_V_NIL, S_V_UINT, S_V_STR, S_V_BIN, S_V_ARRAY, S_V_OTHER } s_vkind;

typedef struct {
    s_vkind kind; /* S_V_END: no value, or the bytes end inside it */
    uint64_t u;   /* UINT: the value; ARRAY: the element count (the elements follow) */
    const uint8_t *p; /* STR, BIN */
    size_t len;
} s_val;

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} s_rd;

static uint64_t s_be(const uint8_t *p, size_t k)
{
    uint64_t v = 0;
    for (size_t i = 0; i < k; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The next value. Maps, negative integers, floats, booleans and extensions are S_V_OTHER (their
 * bodies unread): no record holds one. */
static s_val s_rd_val(s_rd *r)
{
    s_val v = {.kind = S_V_END, .u = 0, .p = NULL, .len = 0};
    size_t left = r->n - r->pos, hdr = 1, lenb = 0;
    s_vkind k;

    if (left == 0)
        return v;
    uint8_t b = r->p[r->pos];
    if (b <= 0x7f || b == 0xc0 || (b >= 0x90 && b <= 0x9f)) {
        r->pos++;
        v.kind = b <= 0x7f ? S_V_UINT : b == 0xc0 ? S_V_NIL : S_V_ARRAY;
        v.u = b <= 0x7f ? b : (uint64_t)(b & 0x0f);
        return v;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        k = S_V_STR;
        v.len = b & 0x1f;
    } else {
        switch (b) {
        case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xdc: case 0xdd: {
            size_t w = b == 0xdc ? 2 : b == 0xdd ? 4 : (size_t)1 << (b - 0xcc);
            if (left < 1 + w)
                return v;
            v.kind = b >= 0xdc ? S_V_ARRAY : S_V_UINT;
            v.u = s_be(r->p + r->pos + 1, w);
            r->pos += 1 + w;
            return v;
        }
        case 0xd9: k = S_V_STR, lenb = 1; break;
        case 0xda: k = S_V_STR, lenb = 2; break;
        case 0xdb: k = S_V_STR, lenb = 4; break;
        case 0xc4: k = S_V_BIN, lenb = 1; break;
        case 0xc5: k = S_V_BIN, lenb = 2; break;
        case 0xc6: k = S_V_BIN, lenb = 4; break;
        default:
            r->pos++;
            v.kind = S_V_OTHER;
            return v;
        }
        if (left < 1 + lenb)
            return v;
        v.len = (size_t)s_be(r->p + r->pos + 1, lenb);
        hdr = 1 + lenb;
    }
    if (v.len > left - hdr)
        return v;
    v.kind = k;
    v.p = r->p + r->pos + hdr;
    r->pos += hdr + v.len;
    return v;
}

static bool s_is_bin(const s_val *v, size_t min, size_t max)
{
    return v->kind == S_V_BIN && v->len >= min && v->len <= max;
}

static int s_rec_fields(const s_val *f, zn_auditlog_rec *r, zn_err *e)
{
    zn_err he;

    switch (r->type) {
    case ZN_AUDITLOG_CONVENANT:
        if (!s_is_bin(&f[1], 1, ZN_CONVENANT_MAX_BYTES))
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the convenant record does not hold a bin of 1 to %u bytes",
                              ZN_CONVENANT_MAX_BYTES);
        r->bytes = f[1].p;
        r->len = f[1].len;
        return 0;
    case ZN_AUDITLOG_ENTRY:
        if (f[1].kind != S_V_UINT)
            return zn_err_set(e, ZN_E_MALFORMED, "the entry record's index is not an unsigned integer");
        if (f[1].u >= ZN_MERKLE_MAX_SIZE)
            return zn_err_set(e, ZN_E_MALFORMED, "the entry record's index lies beyond the largest tree");
        if (!s_is_bin(&f[2], ZN_HASH_LEN, ZN_HASH_LEN))
            return zn_err_set(e, ZN_E_MALFORMED, "the entry record's commitment is not a %d-byte bin",
                              ZN_HASH_LEN);
        r->index = f[1].u;
        r->d = f[2].p;
        if (f[3].kind == S_V_NIL && f[4].kind == S_V_NIL)
            return 0; /* redacted */
        if (f[3].kind == S_V_NIL || f[4].kind == S_V_NIL)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the entry record holds %s without %s: both or neither (redacted)",
                              f[3].kind == S_V_NIL ? "the entry" : "the salt",
                              f[3].kind == S_V_NIL ? "its salt" : "the entry");
        if (!s_is_bin(&f[3], ZN_AUDIT_SALT_LEN, ZN_AUDIT_SALT_LEN))
            return zn_err_set(e, ZN_E_MALFORMED, "the entry record's salt is neither nil nor a %d-byte bin",
                              ZN_AUDIT_SALT_LEN);
        if (!s_is_bin(&f[4], 1, ZN_AUDIT_MAX_ENTRY))
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the entry record's entry is neither nil nor a bin of 1 to %u bytes",
                              ZN_AUDIT_MAX_ENTRY);
        r->salt = f[3].p;
        r->bytes = f[4].p;
        r->len = f[4].len;
        return 0;
    case ZN_AUDITLOG_LEAVES:
        if (f[1].kind != S_V_UINT)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the leaves record's first index is not an unsigned integer");
        if (!s_is_bin(&f[2], ZN_HASH_LEN, (size_t)ZN_HASH_LEN * ZN_AUDITLOG_LEAVES_MAX) ||
            f[2].len % ZN_HASH_LEN != 0)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the leaves record's commitments are not a bin of 1 to %d times %d bytes",
                              ZN_AUDITLOG_LEAVES_MAX, ZN_HASH_LEN);
        r->index = f[1].u;
        r->d = f[2].p;
        r->count = f[2].len / ZN_HASH_LEN;
        if (r->index > ZN_MERKLE_MAX_SIZE - r->count)
            return zn_err_set(e, ZN_E_MALFORMED, "the leaves record reaches beyond the largest tree");
        return 0;
    case ZN_AUDITLOG_HEAD:
        if (!s_is_bin(&f[1], 1, S_HEAD_MAX) || s_head_decode(f[1].p, f[1].len, &r->head, &he) != 0)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the head record does not hold a canonical tree head of at most %d bytes",
                              S_HEAD_MAX);
        if (!s_is_bin(&f[2], ZN_SIG_LEN, ZN_SIG_LEN))
            return zn_err_set(e, ZN_E_MALFORMED, "the head record's signature is not a %d-byte bin",
                              ZN_SIG_LEN);
        r->bytes = f[1].p;
        r->len = f[1].len;
        r->sig = f[2].p;
        return 0;
    case ZN_AUDITLOG_END:
        if (f[1].kind != S_V_UINT || f[2].kind != S_V_UINT)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "the end record's counts are not two unsigned integers");
        r->entries = f[1].u;
        r->heads = f[2].u;
        return 0;
    }
    return zn_err_set(e, ZN_E_MALFORMED, "unknown audit-log record type");
}

static int s_rec_read(const uint8_t *p, size_t n, zn_auditlog_rec *r, zn_err *e)
{
    s_rd rd = {.p = p, .n = n, .pos = 0};
    s_val f[5];

    if (n > ZN_AUDITLOG_MAX_RECORD)
        return zn_err_set(e, ZN_E_MALFORMED, "the audit-log record is %zu bytes; at most %u are allowed",
                          n, ZN_AUDITLOG_MAX_RECORD);
    s_val a = s_rd_val(&rd);
    if (a.kind != S_V_ARRAY || a.u == 0)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the audit-log record is not an array that starts with its type");
    f[0] = s_rd_val(&rd);
    for (int t = ZN_AUDITLOG_CONVENANT; t <= ZN_AUDITLOG_END; t++)
        if (f[0].kind == S_V_STR && f[0].len == s_type_len[t] &&
            memcmp(f[0].p, s_type_name[t], f[0].len) == 0)
            r->type = (zn_auditlog_type)t;
    if (!r->type)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the audit-log record type is not convenant, entry, leaves, head or end");
    if (a.u != s_type_fields[r->type])
        return zn_err_set(e, ZN_E_MALFORMED, "a %s record has exactly %u fields (%s), not %" PRIu64,
                          s_type_name[r->type], s_type_fields[r->type], s_type_shape[r->type], a.u);
    for (unsigned i = 1; i < s_type_fields[r->type]; i++)
        if ((f[i] = s_rd_val(&rd)).kind == S_V_END)
            return zn_err_set(e, ZN_E_MALFORMED, "the %s record ends in the middle of a field",
                              s_type_name[r->type]);
    if (s_rec_fields(f, r, e) != 0)
        return -1;
    if (rd.pos != n)
        return zn_err_set(e, ZN_E_MALFORMED, "bytes follow the %s record", s_type_name[r->type]);
    return 0;
}

int zn_auditlog_parse(const uint8_t *p, size_t n, zn_doc *doc, zn_auditlog_rec *out, zn_err *e)
{
    zn_auditlog_rec r;
    msgpack_packer pk;
    s_cmp cmp = {.p = p, .n = n, .pos = 0, .bad = false};

    if (!doc || !out)
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log record parse called without its arguments");
    doc->live = false; /* the record is read from p directly; nothing to keep */
    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    if (!p || n == 0)
        return zn_err_set(e, ZN_E_MALFORMED, "the audit-log record is empty");
    if (s_rec_read(p, n, &r, e) != 0)
        return -1;
    msgpack_packer_init(&pk, &cmp, s_cmp_write);
    s_rec_pack(&pk, &r);
    if (cmp.bad || cmp.pos != n)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the %s record is not in its canonical encoding (shortest forms only)",
                          s_type_name[r.type]);
    *out = r;
    return 0;
}

/* ================================================================ lines */

/* Appends to an sbuffer; remembers a failed allocation. */
typedef struct {
    msgpack_sbuffer *sb;
    bool failed;
} s_w;

static char *s_room(s_w *w, size_t need)
{
    msgpack_sbuffer *sb = w->sb;
    if (w->failed)
        return NULL;
    if (sb->alloc - sb->size < need) {
        size_t cap = sb->alloc ? sb->alloc : 256;
        while (cap - sb->size < need) {
            if (cap > SIZE_MAX / 2) {
                w->failed = true;
                return NULL;
            }
            cap *= 2;
        }
        char *p = realloc(sb->data, cap);
        if (!p) {
            w->failed = true;
            return NULL;
        }
        sb->data = p;
        sb->alloc = cap;
    }
    return sb->data + sb->size;
}

static void s_put(s_w *w, const void *p, size_t n)
{
    char *d = s_room(w, n);
    if (d && n) {
        memcpy(d, p, n);
        w->sb->size += n;
    }
}

static void s_puts(s_w *w, const char *s)
{
    s_put(w, s, strlen(s));
}

static void s_put_u64(s_w *w, uint64_t v)
{
    char tmp[20];
    int k = 20;
    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    s_put(w, tmp + k, (size_t)(20 - k));
}

static void s_put_hex(s_w *w, const uint8_t *p, size_t n)
{
    char *d = s_room(w, 2 * n);
    if (!d)
        return;
    for (size_t i = 0; i < n; i++) {
        d[2 * i] = s_hexdig[p[i] >> 4];
        d[2 * i + 1] = s_hexdig[p[i] & 0x0f];
    }
    w->sb->size += 2 * n;
}

static void s_put_time(s_w *w, uint64_t ms)
{
    char t[64];
    s_time_text(t, ms);
    s_puts(w, t);
}

/* A JSON string: quotes, backslashes and control characters escaped; everything else (valid UTF-8
 * in every field that gets here) as it is. */
static void s_put_jstr(s_w *w, const char *s, size_t n)
{
    size_t run = 0;
    s_put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_put(w, s + run, i - run);
        run = i + 1;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            s_put(w, esc, 2);
        } else {
            char esc[7] = {'\\', 'u', '0', '0', s_hexdig[c >> 4], s_hexdig[c & 0x0f], 0};
            s_put(w, esc, 6);
        }
    }
    s_put(w, s + run, n - run);
    s_put(w, "\"", 1);
}

static void s_put_jopt(s_w *w, const char *s)
{
    if (s)
        s_put_jstr(w, s, strlen(s));
    else
        s_puts(w, "null");
}

/* A CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, quote or line end. */
static void s_put_csv(s_w *w, const char *s, size_t n)
{
    if (!s)
        return;
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        s_put(w, s, n);
        return;
    }
    size_t run = 0;
    s_put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"')
            continue;
        s_put(w, s + run, i + 1 - run); /* up to and including the quote ... */
        s_put(w, "\"", 1);              /* ... which is doubled */
        run = i + 1;
    }
    s_put(w, s + run, n - run);
    s_put(w, "\"", 1);
}

static void s_put_csv_opt(s_w *w, const char *s)
{
    if (s)
        s_put_csv(w, s, strlen(s));
}

/* {"key":value,...} of an entry's details (u64 as a number, text as a string, bin as hex). */
static void s_put_details(s_w *w, const zn_audit_entry *en)
{
    s_put(w, "{", 1);
    for (size_t i = 0; i < en->n_details; i++) {
        const zn_audit_detail *d = &en->details[i];
        if (i)
            s_put(w, ",", 1);
        s_put_jstr(w, d->key, strlen(d->key));
        s_put(w, ":", 1);
        if (d->type == ZN_AUDIT_U64) {
            s_put_u64(w, d->u64);
        } else if (d->type == ZN_AUDIT_STR) {
            s_put_jstr(w, (const char *)d->p, d->len);
        } else {
            s_put(w, "\"", 1);
            s_put_hex(w, d->p, d->len);
            s_put(w, "\"", 1);
        }
    }
    s_put(w, "}", 1);
}

/* The readable object of records other than entries, as JSON members without braces. */
static void s_put_members(s_w *w, const zn_auditlog_rec *r, const zn_convenant *c, bool csv)
{
    switch (r->type) {
    case ZN_AUDITLOG_CONVENANT:
        /* keys in ascending order in CSV's details object, in the documented order in JSON */
        if (csv) {
            s_puts(w, "\"name\":");
            s_put_jstr(w, c->name, strlen(c->name));
            s_puts(w, ",\"version\":");
            s_put_u64(w, c->version);
        } else {
            s_puts(w, "\"version\":");
            s_put_u64(w, c->version);
            s_puts(w, ",\"name\":");
            s_put_jstr(w, c->name, strlen(c->name));
        }
        break;
    case ZN_AUDITLOG_LEAVES:
        s_puts(w, "\"count\":");
        s_put_u64(w, r->count);
        break;
    case ZN_AUDITLOG_HEAD:
        s_puts(w, "\"root\":\"");
        s_put_hex(w, r->head.root, ZN_HASH_LEN);
        s_puts(w, "\",\"size\":");
        s_put_u64(w, r->head.size);
        break;
    case ZN_AUDITLOG_END:
        s_puts(w, "\"entries\":");
        s_put_u64(w, r->entries);
        s_puts(w, ",\"heads\":");
        s_put_u64(w, r->heads);
        break;
    default:
        break;
    }
}

static void s_render_jsonl(s_w *w, const zn_auditlog_rec *r, const zn_audit_entry *en,
                           const zn_convenant *c)
{
    s_puts(w, "{\"record\":\"");
    s_puts(w, s_type_name[r->type]);
    s_puts(w, "\"");
    switch (r->type) {
    case ZN_AUDITLOG_ENTRY:
        s_puts(w, ",\"index\":");
        s_put_u64(w, r->index);
        if (!en) {
            s_puts(w, ",\"redacted\":true");
            break;
        }
        s_puts(w, ",\"time\":\"");
        s_put_time(w, en->time_ms);
        s_puts(w, "\",\"actor\":");
        s_put_jopt(w, en->actor);
        s_puts(w, ",\"handler\":");
        s_put_jopt(w, en->handler);
        s_puts(w, ",\"action\":");
        s_put_jopt(w, en->action);
        s_puts(w, ",\"case\":");
        if (en->case_id) {
            s_put(w, "\"", 1);
            s_put_hex(w, en->case_id, ZN_ID_LEN);
            s_put(w, "\"", 1);
        } else {
            s_puts(w, "null");
        }
        s_puts(w, ",\"counterpart\":");
        s_put_jopt(w, en->counterpart);
        s_puts(w, ",\"decision\":");
        s_puts(w, en->decision == ZN_AUDIT_ALLOWED ? "\"allowed\"" : "\"refused\"");
        s_puts(w, ",\"reason\":");
        s_put_jopt(w, en->reason);
        s_puts(w, ",\"basis\":");
        s_put_jopt(w, en->basis);
        s_puts(w, ",\"evidence\":");
        s_put_jopt(w, en->evidence_kind);
        s_puts(w, ",\"details\":");
        if (en->n_details)
            s_put_details(w, en);
        else
            s_puts(w, "null");
        break;
    case ZN_AUDITLOG_LEAVES:
        s_puts(w, ",\"first\":");
        s_put_u64(w, r->index);
        s_puts(w, ",");
        s_put_members(w, r, c, false);
        break;
    case ZN_AUDITLOG_HEAD:
        s_puts(w, ",\"size\":");
        s_put_u64(w, r->head.size);
        s_puts(w, ",\"root\":\"");
        s_put_hex(w, r->head.root, ZN_HASH_LEN);
        s_puts(w, "\",\"time\":\"");
        s_put_time(w, r->head.time_ms);
        s_puts(w, "\"");
        break;
    default:
        s_puts(w, ",");
        s_put_members(w, r, c, false);
        break;
    }
    s_puts(w, ",\"raw\":\"");
}

static void s_render_csv(s_w *w, const zn_auditlog_rec *r, const zn_audit_entry *en,
                         const zn_convenant *c, msgpack_sbuffer *tmp)
{
    s_w t = {.sb = tmp, .failed = false};
    tmp->size = 0;

    s_puts(w, s_type_name[r->type]);
    s_puts(w, ",");
    if (r->type == ZN_AUDITLOG_ENTRY || r->type == ZN_AUDITLOG_LEAVES)
        s_put_u64(w, r->index);
    s_puts(w, ",");
    if (r->type == ZN_AUDITLOG_ENTRY && en) {
        char cs[2 * ZN_ID_LEN + 1];
        s_put_time(w, en->time_ms);
        s_puts(w, ",");
        s_put_csv_opt(w, en->actor);
        s_puts(w, ",");
        s_put_csv_opt(w, en->handler);
        s_puts(w, ",");
        s_put_csv_opt(w, en->action);
        s_puts(w, ",");
        if (en->case_id) {
            zn_hex(cs, en->case_id, ZN_ID_LEN);
            s_puts(w, cs);
        }
        s_puts(w, ",");
        s_put_csv_opt(w, en->counterpart);
        s_puts(w, en->decision == ZN_AUDIT_ALLOWED ? ",allowed," : ",refused,");
        s_put_csv_opt(w, en->reason);
        s_puts(w, ",");
        s_put_csv_opt(w, en->basis);
        s_puts(w, ",");
        if (en->n_details)
            s_put_details(&t, en);
    } else {
        if (r->type == ZN_AUDITLOG_HEAD)
            s_put_time(w, r->head.time_ms);
        s_puts(w, ",,,,,,,,,");
        s_puts(&t, "{");
        if (r->type == ZN_AUDITLOG_ENTRY)
            s_puts(&t, "\"redacted\":true");
        else
            s_put_members(&t, r, c, true);
        s_puts(&t, "}");
    }
    if (t.failed)
        w->failed = true;
    else
        s_put_csv(w, tmp->data, tmp->size);
    s_puts(w, ",");
}

/* The line of a record: readable fields from r (en: the decoded entry when r is an entry with
 * content; c: the decoded convenant when r is a convenant record), then the hex of the record
 * bytes, then '\n'. Writer and reader both come here. */
static void s_render(s_w *w, zn_auditlog_format fmt, const zn_auditlog_rec *r, const uint8_t *raw,
                     size_t raw_len, const zn_audit_entry *en, const zn_convenant *c,
                     msgpack_sbuffer *tmp)
{
    if (fmt == ZN_AUDITLOG_CSV) {
        s_render_csv(w, r, en, c, tmp);
        s_put_hex(w, raw, raw_len);
        s_puts(w, "\n");
    } else {
        s_render_jsonl(w, r, en, c);
        s_put_hex(w, raw, raw_len);
        s_puts(w, "\"}\n");
    }
}

static bool s_fmt_ok(zn_auditlog_format fmt)
{
    return fmt == ZN_AUDITLOG_JSONL || fmt == ZN_AUDITLOG_CSV;
}

int zn_auditlog_line(msgpack_sbuffer *out, zn_auditlog_format fmt, const uint8_t *rec, size_t n,
                     zn_err *e)
{
    zn_doc doc, edoc = {.live = false};
    zn_auditlog_rec r;
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
    zn_convenant *c = NULL;
    msgpack_sbuffer tmp;
    s_w w = {.sb = out, .failed = false};
    zn_err de;
    int rc = -1;

    memset(&en, 0, sizeof en);
    if (!out || !s_fmt_ok(fmt))
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log line called without a buffer or a format");
    if (zn_auditlog_parse(rec, n, &doc, &r, e) != 0)
        return -1;
    msgpack_sbuffer_init(&tmp);
    if (r.type == ZN_AUDITLOG_ENTRY && r.bytes &&
        zn_audit_entry_decode(r.bytes, r.len, &edoc, &en, det, &de) != 0) {
        zn_err_set(e, de.code, "entry %" PRIu64 ": %s", r.index, de.text);
        goto done;
    }
    if (r.type == ZN_AUDITLOG_CONVENANT && zn_convenant_decode(r.bytes, r.len, &c, e) != 0)
        goto done;
    size_t before = out->size;
    s_render(&w, fmt, &r, rec, n, r.bytes && r.type == ZN_AUDITLOG_ENTRY ? &en : NULL, c, &tmp);
    if (w.failed) {
        out->size = before;
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while writing an audit-log line");
        goto done;
    }
    rc = 0;
done:
    zn_convenant_destroy(&c);
    zn_doc_free(&edoc);
    zn_doc_free(&doc);
    msgpack_sbuffer_destroy(&tmp);
    return rc;
}

int zn_auditlog_write_start(FILE *fp, zn_auditlog_format fmt, zn_err *e)
{
    if (!fp || !s_fmt_ok(fmt))
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log write called without a stream or a format");
    if (fmt == ZN_AUDITLOG_CSV && fputs(ZN_AUDITLOG_CSV_HEADER "\n", fp) == EOF)
        return zn_err_set(e, ZN_E_IO, "the audit-log export could not be written: %s", strerror(errno));
    return 0;
}

int zn_auditlog_write(FILE *fp, zn_auditlog_format fmt, const uint8_t *rec, size_t n, zn_err *e)
{
    msgpack_sbuffer line;
    int rc = -1;

    if (!fp)
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log write called without a stream");
    msgpack_sbuffer_init(&line);
    if (zn_auditlog_line(&line, fmt, rec, n, e) != 0)
        goto done;
    if (fwrite(line.data, 1, line.size, fp) != line.size) {
        zn_err_set(e, ZN_E_IO, "the audit-log export could not be written: %s", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    msgpack_sbuffer_destroy(&line);
    return rc;
}

/* ================================================================ verifier */

typedef struct {
    char id[ZN_IDENT_MAX];
    unsigned nkeys;
    uint8_t (*keys)[ZN_KEY_LEN]; /* distinct signing keys, oldest convenant first */
    int8_t *kid;                 /* per convenant record: index into keys, or -1 (not listed) */
} s_signer;

typedef struct {
    uint8_t *p; /* n leaf hashes of ZN_HASH_LEN bytes */
    size_t n, cap;
} s_leaves;

/* Per thread: the decoded raw field, a rendered line, a scratch buffer for CSV details. */
typedef struct {
    uint8_t *raw;
    size_t raw_cap;
    msgpack_sbuffer line, tmp;
} s_scratch;

struct zn_auditlog_verifier {
    uint8_t authority[ZN_KEY_LEN];
    bool has_known;
    zn_tree_head known;
    unsigned checks;
    zn_convenant *conv[ZN_AUDITLOG_MAX_CONVENANTS];
    size_t nconv;
    s_signer *signers; /* sorted by id */
    size_t nsigners;
    bool closed;       /* the convenants are complete (an entry, leaves or head was seen) */
    bool ended;        /* the end record was seen */
    bool failed;
    uint64_t next;     /* index of the next leaf = leaves so far */
    zn_merkle_frontier fr;
    bool has_head;
    uint64_t head_size; /* size of the last head */
    bool inforce;       /* a convenant-load entry named a version */
    uint64_t inforce_version;
    int inforce_ci;     /* its convenant record, or -1 */
    zn_auditlog_report rep;
    s_leaves lv;        /* feed(): the leaf hashes of one record */
    s_scratch sc;
};

/* What the parallel part found out about one record; the in-order part uses only this. */
typedef struct {
    zn_auditlog_type type;
    bool content;      /* entry: salt and bytes present */
    bool conv_load;    /* entry: an allowed convenant-load naming a version */
    bool evidence;     /* CONTENT: an evidence signature was tried: signer, mask */
    uint8_t head_len;
    uint32_t signer;   /* index into the verifier's signers */
    uint64_t mask;     /* bit k: the signature verifies with the signer's keys[k] */
    uint64_t index;    /* entry index, leaves first */
    uint64_t count;    /* leaves in the record (entry: 1) */
    uint64_t version;  /* conv_load */
    uint64_t entries, heads; /* end */
    size_t leaf_off;   /* TREE: its first leaf hash in the leaf array */
    zn_tree_head th;
    uint8_t head[S_HEAD_MAX];
    uint8_t sig[ZN_SIG_LEN];
} s_res;

static void s_scratch_free(s_scratch *sc)
{
    free(sc->raw);
    sc->raw = NULL;
    sc->raw_cap = 0;
    msgpack_sbuffer_destroy(&sc->line);
    msgpack_sbuffer_destroy(&sc->tmp);
}

static int s_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (*cap >= need)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Room for k more leaf hashes; NULL when out of memory. */
static uint8_t *s_leaves_add(s_leaves *lv, size_t k)
{
    void *p = lv->p;
    if (s_grow(&p, &lv->cap, lv->n + k, ZN_HASH_LEN) != 0)
        return NULL;
    lv->p = p;
    uint8_t *at = lv->p + lv->n * ZN_HASH_LEN;
    lv->n += k;
    return at;
}

zn_auditlog_verifier *zn_auditlog_verify_new(const uint8_t authority[ZN_KEY_LEN],
                                             const zn_tree_head *known, unsigned checks, zn_err *e)
{
    if (!authority || checks == 0 || (checks & ~ZN_AUDITLOG_ALL)) {
        zn_err_set(e, ZN_E_INTERNAL, "audit-log verifier needs the authority key and its checks");
        return NULL;
    }
    if (sodium_init() < 0) {
        zn_err_set(e, ZN_E_INTERNAL, "the crypto library could not start");
        return NULL;
    }
    zn_auditlog_verifier *v = calloc(1, sizeof *v);
    if (!v) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while starting the audit-log verifier");
        return NULL;
    }
    memcpy(v->authority, authority, ZN_KEY_LEN);
    if (known) {
        v->has_known = true;
        v->known = *known;
    }
    v->checks = checks;
    v->inforce_ci = -1;
    zn_merkle_frontier_init(&v->fr);
    msgpack_sbuffer_init(&v->sc.line);
    msgpack_sbuffer_init(&v->sc.tmp);
    return v;
}

void zn_auditlog_verify_destroy(zn_auditlog_verifier **pv)
{
    if (!pv || !*pv)
        return;
    zn_auditlog_verifier *v = *pv;
    for (size_t i = 0; i < v->nconv; i++)
        zn_convenant_destroy(&v->conv[i]);
    for (size_t i = 0; i < v->nsigners; i++) {
        free(v->signers[i].keys);
        free(v->signers[i].kid);
    }
    free(v->signers);
    free(v->lv.p);
    s_scratch_free(&v->sc);
    free(v);
    *pv = NULL;
}

/* ---------------------------------------------------------------- convenants and signers */

static int s_conv_add(zn_auditlog_verifier *v, uint64_t line, const zn_auditlog_rec *rec, zn_err *e)
{
    zn_convenant *c = NULL;
    zn_err ce;

    if (v->nconv == ZN_AUDITLOG_MAX_CONVENANTS)
        return s_fail(e, line, "more than %d convenant records", ZN_AUDITLOG_MAX_CONVENANTS);
    if (zn_convenant_decode(rec->bytes, rec->len, &c, &ce) != 0)
        return s_fail(e, line, "the convenant does not decode or its signature does not hold: %s",
                      ce.text);
    if (sodium_memcmp(c->authority, v->authority, ZN_KEY_LEN) != 0) {
        uint64_t version = c->version;
        zn_convenant_destroy(&c);
        return s_fail(e, line,
                      "convenant version %" PRIu64 " is signed by another authority than the one "
                      "this client pins",
                      version);
    }
    if (v->nconv && c->version <= v->conv[v->nconv - 1]->version) {
        uint64_t version = c->version;
        zn_convenant_destroy(&c);
        return s_fail(e, line,
                      "convenant versions must ascend: version %" PRIu64 " follows version %" PRIu64,
                      version, v->conv[v->nconv - 1]->version);
    }
    v->conv[v->nconv++] = c;
    v->rep.convenants++;
    return 0;
}

typedef struct {
    const char *id;
    size_t ci;
    const uint8_t *key;
} s_listing;

static int s_listing_cmp(const void *a, const void *b)
{
    const s_listing *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->ci > y->ci) - (x->ci < y->ci);
}

static int s_signer_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const s_signer *)elem)->id);
}

/* Every partner id of every convenant record, with its distinct signing keys and which key each
 * convenant lists: read-only once the entries start, so worker threads share it. */
static int s_signers_build(zn_auditlog_verifier *v, uint64_t line, zn_err *e)
{
    size_t total = 0, k = 0;
    for (size_t ci = 0; ci < v->nconv; ci++)
        total += v->conv[ci]->n_partners;
    s_listing *all = calloc(total ? total : 1, sizeof *all);
    v->signers = calloc(total ? total : 1, sizeof *v->signers);
    if (!all || !v->signers) {
        free(all);
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the convenants");
    }
    for (size_t ci = 0; ci < v->nconv; ci++)
        for (size_t i = 0; i < v->conv[ci]->n_partners; i++) {
            const zn_partner *p = &v->conv[ci]->partners[i];
            all[k++] = (s_listing){.id = p->id, .ci = ci, .key = p->keys.sign};
        }
    qsort(all, total, sizeof *all, s_listing_cmp);
    for (size_t i = 0; i < total;) {
        size_t j = i;
        while (j < total && strcmp(all[j].id, all[i].id) == 0)
            j++;
        s_signer *s = &v->signers[v->nsigners++];
        snprintf(s->id, sizeof s->id, "%s", all[i].id);
        s->keys = calloc(j - i, ZN_KEY_LEN);
        s->kid = malloc(v->nconv * sizeof *s->kid);
        if (!s->keys || !s->kid) {
            free(all);
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the convenants");
        }
        memset(s->kid, -1, v->nconv * sizeof *s->kid);
        for (size_t m = i; m < j; m++) {
            unsigned q = 0;
            while (q < s->nkeys && memcmp(s->keys[q], all[m].key, ZN_KEY_LEN) != 0)
                q++;
            if (q == s->nkeys) {
                if (s->nkeys == ZN_AUDITLOG_MAX_PARTNER_KEYS) {
                    free(all);
                    return s_fail(e, line, "partner %s has more than %d signing keys in the convenants",
                                  s->id, ZN_AUDITLOG_MAX_PARTNER_KEYS);
                }
                memcpy(s->keys[s->nkeys++], all[m].key, ZN_KEY_LEN);
            }
            s->kid[all[m].ci] = (int8_t)q;
        }
        i = j;
    }
    free(all);
    return 0;
}

static void s_inforce_set(zn_auditlog_verifier *v, uint64_t version)
{
    v->inforce = true;
    v->inforce_version = version;
    v->inforce_ci = -1;
    for (size_t ci = 0; ci < v->nconv; ci++)
        if (v->conv[ci]->version == version)
            v->inforce_ci = (int)ci;
}

/* True for an allowed convenant-load entry that names the version it loaded. */
static bool s_conv_load_of(const zn_audit_entry *en, uint64_t *version)
{
    if (en->decision != ZN_AUDIT_ALLOWED || strcmp(en->action, S_CONV_LOAD) != 0)
        return false;
    for (size_t i = 0; i < en->n_details; i++)
        if (strcmp(en->details[i].key, "version") == 0 && en->details[i].type == ZN_AUDIT_U64) {
            *version = en->details[i].u64;
            return true;
        }
    return false;
}

/* Skip one plain msgpack value (integer, nil, str) at p[*pos..n); false for anything else. */
static bool s_skip_plain(const uint8_t *p, size_t n, size_t *pos)
{
    if (*pos >= n)
        return false;
    uint8_t b = p[(*pos)++];
    size_t skip = 0;
    if (b <= 0x7f || b == 0xc0)
        return true;
    if (b >= 0xa0 && b <= 0xbf)
        skip = b & 0x1f;
    else if (b == 0xd9 && *pos < n)
        skip = (size_t)1 + p[*pos];
    else if (b >= 0xcc && b <= 0xcf)
        skip = (size_t)1 << (b - 0xcc);
    else
        return false;
    if (skip > n - *pos)
        return false;
    *pos += skip;
    return true;
}

/* Whether the entry bytes name the action convenant-load (field 5), without decoding them. */
static bool s_peek_conv_load(const uint8_t *p, size_t n)
{
    static const char act[] = S_CONV_LOAD;
    const size_t alen = sizeof act - 1;
    size_t pos = 1;
    if (n < 1 || p[0] != 0x9d)
        return false;
    for (int f = 0; f < 5; f++)
        if (!s_skip_plain(p, n, &pos))
            return false;
    return n - pos > alen && p[pos] == (0xa0 | alen) && memcmp(p + pos + 1, act, alen) == 0;
}

/* ---------------------------------------------------------------- evidence */

/* The sender of an envelope header (docs/PROTOCOL.md section 4), read strictly. */
static int s_header_sender(const uint8_t *p, size_t n, char sender[ZN_IDENT_MAX], zn_err *e)
{
    zn_doc doc;
    zn_header h;
    uint64_t v = 0;

    if (n > ZN_MAX_HEADER)
        return zn_err_set(e, ZN_E_MALFORMED, "it is larger than %u bytes", ZN_MAX_HEADER);
    if (zn_doc_parse(&doc, p, n, 1, 1 + S_HEADER_FIELDS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "it is not one msgpack array of %d fields",
                          S_HEADER_FIELDS);
    const msgpack_object *a = zn_obj_array(&doc.root, S_HEADER_FIELDS);
    int bad = !a || zn_obj_u64(&a[0], &v) != 0 || v != 1 ||
              zn_obj_bin_fixed(&a[1], h.msgid, ZN_ID_LEN) != 0 ||
              zn_obj_bin_fixed(&a[2], h.case_id, ZN_ID_LEN) != 0 ||
              zn_obj_ident(&a[3], h.sender, sizeof h.sender) != 0 ||
              zn_obj_text(&a[4], h.handler, sizeof h.handler) != 0 ||
              zn_obj_ident(&a[5], h.recipient, sizeof h.recipient) != 0 ||
              zn_obj_u64(&a[6], &h.time_ms) != 0 || zn_obj_u64(&a[7], &h.convenant_version) != 0 ||
              zn_obj_u64(&a[8], &h.flags) != 0 || (h.flags & ~(uint64_t)ZN_ENVELOPE_FLAGS_KNOWN) != 0 ||
              zn_obj_bin_fixed(&a[9], h.ct_hash, ZN_HASH_LEN) != 0;
    zn_doc_free(&doc);
    if (bad)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "its fields are not [1, msgid, case, sender, handler, recipient, time, "
                          "convenant_version, flags (only known bits), ct_hash]");
    memcpy(sender, h.sender, ZN_IDENT_MAX);
    return 0;
}

/* Find the signer the evidence names, check that it is the entry's actor, and try the
 * signature with each of its keys (newest first, the first that verifies). The key in force is
 * chosen later, in file order (s_evidence_resolve). */
static int s_evidence(const zn_auditlog_verifier *v, const zn_audit_entry *en, uint64_t line,
                      s_res *r, zn_err *e)
{
    char signer[ZN_IDENT_MAX];
    const char *ns;
    zn_err pe;

    if (strcmp(en->evidence_kind, "envelope-header") == 0) {
        if (s_header_sender(en->evidence, en->evidence_len, signer, &pe) != 0)
            return s_fail_entry(e, line, en->index, "the evidence is not an envelope header: %s",
                                pe.text);
        ns = ZN_ENVELOPE_NS;
    } else if (strcmp(en->evidence_kind, "request") == 0) {
        zn_doc doc;
        zn_request q;
        if (zn_request_parse(en->evidence, en->evidence_len, &doc, &q, &pe) != 0)
            return s_fail_entry(e, line, en->index, "the evidence is not a signed request: %s",
                                pe.text);
        memcpy(signer, q.partner, sizeof signer);
        zn_doc_free(&doc);
        ns = ZN_REQUEST_NS;
    } else {
        return s_fail_entry(e, line, en->index,
                            "evidence of kind %s cannot be checked (known: envelope-header, request)",
                            en->evidence_kind);
    }
    if (!en->actor || strcmp(en->actor, signer) != 0)
        return s_fail_entry(e, line, en->index,
                            "the evidence is signed by %s, not by the entry's actor %s", signer,
                            en->actor ? en->actor : "(none: the broker)");
    const s_signer *s = v->nsigners
        ? bsearch(signer, v->signers, v->nsigners, sizeof *v->signers, s_signer_cmp)
        : NULL;
    if (!s)
        return s_fail_entry(e, line, en->index,
                            "the evidence is signed by %s, who is in no convenant of the file", signer);
    r->evidence = true;
    r->signer = (uint32_t)(s - v->signers);
    r->mask = 0;
    for (unsigned k = s->nkeys; k-- > 0;)
        if (zn_verify_ns(en->evidence_sig, ns, en->evidence, en->evidence_len, s->keys[k]) == 0) {
            r->mask = UINT64_C(1) << k;
            break;
        }
    return 0;
}

static int s_evidence_resolve(zn_auditlog_verifier *v, uint64_t line, const s_res *r, zn_err *e)
{
    const s_signer *s = &v->signers[r->signer];
    if (v->inforce && v->inforce_ci >= 0) {
        int k = s->kid[v->inforce_ci];
        if (k < 0)
            return s_fail_entry(e, line, r->index,
                                "the evidence is signed by %s, who is not in convenant version %" PRIu64
                                " in force",
                                s->id, v->inforce_version);
        if (!((r->mask >> k) & 1))
            return s_fail_entry(e, line, r->index,
                                "the evidence signature does not verify with the key of %s in "
                                "convenant version %" PRIu64 " in force (forged or altered evidence)",
                                s->id, v->inforce_version);
    } else if (!r->mask) {
        return s_fail_entry(e, line, r->index,
                            "the evidence signature does not verify with any key the convenants "
                            "list for %s (forged or altered evidence)",
                            s->id);
    }
    v->rep.signatures++;
    return 0;
}

/* ---------------------------------------------------------------- one record */

/* The fields the in-order part needs that parsing already gave. */
static void s_res_base(s_res *r, const zn_auditlog_rec *rec)
{
    memset(r, 0, offsetof(s_res, th));
    r->type = rec->type;
    r->index = rec->index;
    switch (rec->type) {
    case ZN_AUDITLOG_ENTRY:
        r->count = 1;
        r->content = rec->bytes != NULL;
        break;
    case ZN_AUDITLOG_LEAVES:
        r->count = rec->count;
        break;
    case ZN_AUDITLOG_HEAD:
        r->th = rec->head;
        r->head_len = (uint8_t)rec->len;
        memcpy(r->head, rec->bytes, rec->len);
        memcpy(r->sig, rec->sig, ZN_SIG_LEN);
        break;
    case ZN_AUDITLOG_END:
        r->entries = rec->entries;
        r->heads = rec->heads;
        break;
    default:
        break;
    }
}

/* The parallel part of one record: commitments and leaf hashes (TREE), strict decoding, the
 * readable fields of its line (when text is given) and evidence signatures (CONTENT). Reads only
 * the verifier's fixed tables. raw/raw_len: the record bytes; lv: where leaf hashes go. */
static int s_work(const zn_auditlog_verifier *v, const zn_auditlog_rec *rec, const uint8_t *raw,
                  size_t raw_len, uint64_t line, zn_auditlog_format fmt, const uint8_t *text,
                  size_t text_len, s_scratch *sc, s_res *r, s_leaves *lv, zn_err *e)
{
    const bool tree = v->checks & ZN_AUDITLOG_TREE, content = v->checks & ZN_AUDITLOG_CONTENT;
    zn_doc edoc = {.live = false};
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
    zn_convenant *c = NULL;
    bool decoded = false;
    zn_err de;
    int rc = -1;

    if (tree && (rec->type == ZN_AUDITLOG_ENTRY || rec->type == ZN_AUDITLOG_LEAVES)) {
        uint8_t *out = s_leaves_add(lv, r->count);
        if (!out)
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory while verifying the audit log");
        r->leaf_off = lv->n - r->count;
        if (rec->type == ZN_AUDITLOG_ENTRY && rec->bytes) {
            uint8_t d[ZN_HASH_LEN];
            zn_audit_commit(d, rec->salt, rec->bytes, rec->len);
            if (memcmp(d, rec->d, ZN_HASH_LEN) != 0)
                return s_fail_entry(e, line, rec->index,
                                    "the commitment does not match (entry or salt changed)");
        }
        for (size_t k = 0; k < r->count; k++)
            zn_merkle_leaf_hash(out + k * ZN_HASH_LEN, rec->d + k * ZN_HASH_LEN, ZN_HASH_LEN);
    }

    if (rec->type == ZN_AUDITLOG_ENTRY && rec->bytes) {
        if (content || s_peek_conv_load(rec->bytes, rec->len)) {
            if (zn_audit_entry_decode(rec->bytes, rec->len, &edoc, &en, det, &de) == 0)
                decoded = true;
            else if (content)
                return s_fail_entry(e, line, rec->index, "the entry does not decode: %s", de.text);
        }
        if (decoded && content && en.index != rec->index) {
            s_fail_entry(e, line, rec->index, "the entry itself says it is entry %" PRIu64, en.index);
            goto done;
        }
        if (decoded)
            r->conv_load = s_conv_load_of(&en, &r->version);
    }

    if (content && text) {
        s_w w = {.sb = &sc->line, .failed = false};
        sc->line.size = 0;
        if (rec->type == ZN_AUDITLOG_CONVENANT && zn_convenant_decode(rec->bytes, rec->len, &c, &de) != 0) {
            s_fail(e, line, "the convenant does not decode or its signature does not hold: %s", de.text);
            goto done;
        }
        s_render(&w, fmt, rec, raw, raw_len, decoded ? &en : NULL, c, &sc->tmp);
        if (w.failed) {
            zn_err_set(e, ZN_E_INTERNAL, "out of memory while verifying the audit log");
            goto done;
        }
        if (sc->line.size != text_len + 1 || memcmp(sc->line.data, text, text_len) != 0) {
            s_fail(e, line, "the readable fields do not match the raw record");
            goto done;
        }
    }

    if (content && decoded && en.evidence_kind && s_evidence(v, &en, line, r, e) != 0)
        goto done;
    rc = 0;
done:
    zn_convenant_destroy(&c);
    zn_doc_free(&edoc);
    return rc;
}

/* In file order, before s_work's results: where the record may stand. */
static int s_seq_order(zn_auditlog_verifier *v, uint64_t line, const s_res *r,
                       const zn_auditlog_rec *rec, zn_err *e)
{
    if (v->ended)
        return s_fail(e, line, "a record follows the end record");
    if (r->type == ZN_AUDITLOG_CONVENANT) {
        if (v->closed)
            return s_fail(e, line,
                          "a convenant record after the first entry, leaves or head record "
                          "(convenants come first)");
        if (!rec)
            return zn_err_set(e, ZN_E_INTERNAL, "convenant record without its bytes");
        return s_conv_add(v, line, rec, e);
    }
    if (!v->closed) {
        if (v->nconv == 0)
            return s_fail(e, line, "the file holds no convenant record before its first %s record",
                          s_type_name[r->type]);
        if (s_signers_build(v, line, e) != 0)
            return -1;
        v->closed = true;
        if ((v->checks & ZN_AUDITLOG_TREE) && v->has_known && v->known.size == 0) {
            uint8_t root[ZN_HASH_LEN];
            zn_merkle_empty_root(root);
            if (memcmp(root, v->known.root, ZN_HASH_LEN) != 0)
                return s_fail(e, line,
                              "the log is not consistent with the tree head of size 0 this client "
                              "accepted before");
        }
    }
    if (r->type == ZN_AUDITLOG_ENTRY || r->type == ZN_AUDITLOG_LEAVES) {
        if (r->index > v->next)
            return s_fail(e, line, "entry %" PRIu64 " is missing (found %s %" PRIu64 ")", v->next,
                          r->type == ZN_AUDITLOG_ENTRY ? "entry" : "leaves from entry", r->index);
        if (r->index < v->next)
            return s_fail(e, line, "entries out of order: found %s %" PRIu64 " after entry %" PRIu64,
                          r->type == ZN_AUDITLOG_ENTRY ? "entry" : "leaves from entry", r->index,
                          v->next - 1);
    }
    return 0;
}

static int s_head_check(zn_auditlog_verifier *v, uint64_t line, const s_res *r, zn_err *e)
{
    char when[64];
    zn_tree_head th;
    zn_err he;
    uint8_t root[ZN_HASH_LEN];

    s_time_text(when, r->th.time_ms);
    if (v->checks & ZN_AUDITLOG_TREE) {
        if (v->inforce && v->inforce_ci >= 0) {
            if (zn_tree_head_verify(r->head, r->head_len, r->sig, v->conv[v->inforce_ci]->broker_sign,
                                    &th, &he) != 0)
                return s_fail(e, line,
                              "the signature of the tree head of size %" PRIu64 " signed at %s does "
                              "not verify with the broker key of convenant version %" PRIu64 " in force",
                              r->th.size, when, v->inforce_version);
        } else {
            size_t ci = v->nconv;
            while (ci-- > 0)
                if (zn_tree_head_verify(r->head, r->head_len, r->sig, v->conv[ci]->broker_sign, &th,
                                        &he) == 0)
                    break;
            if (ci == SIZE_MAX)
                return s_fail(e, line,
                              "the signature of the tree head of size %" PRIu64 " signed at %s does "
                              "not verify with the broker key of any convenant in the file",
                              r->th.size, when);
        }
    }
    if (r->th.size != v->next)
        return s_fail(e, line,
                      "the tree head of size %" PRIu64 " signed at %s stands after %" PRIu64
                      " leaves (a head follows the entry at index size - 1)",
                      r->th.size, when, v->next);
    if (v->checks & ZN_AUDITLOG_TREE) {
        zn_merkle_frontier_root(&v->fr, root);
        if (memcmp(root, r->th.root, ZN_HASH_LEN) != 0)
            return s_fail(e, line,
                          "tree head of size %" PRIu64 " signed at %s does not match the entries: an "
                          "entry was changed, removed or reordered before index %" PRIu64,
                          r->th.size, when, r->th.size);
    }
    return 0;
}

/* In file order, with s_work's results: fold the tree, check heads, the key in force, the end. */
static int s_seq_apply(zn_auditlog_verifier *v, uint64_t line, const s_res *r,
                       const uint8_t *leaves, zn_err *e)
{
    const bool tree = v->checks & ZN_AUDITLOG_TREE;

    switch (r->type) {
    case ZN_AUDITLOG_ENTRY:
    case ZN_AUDITLOG_LEAVES:
        /* the entry's own evidence was signed under the convenant in force before it */
        if (r->evidence && s_evidence_resolve(v, line, r, e) != 0)
            return -1;
        for (uint64_t k = 0; k < r->count; k++) {
            if (tree) {
                if (zn_merkle_append(&v->fr, leaves + k * ZN_HASH_LEN, NULL, NULL) != 0)
                    return s_fail(e, line, "the log holds more entries than a tree can");
                if (v->has_known && v->fr.size == v->known.size) {
                    uint8_t root[ZN_HASH_LEN];
                    zn_merkle_frontier_root(&v->fr, root);
                    if (memcmp(root, v->known.root, ZN_HASH_LEN) != 0)
                        return s_fail(e, line,
                                      "the log is not consistent with the tree head of size %" PRIu64
                                      " this client accepted before",
                                      v->known.size);
                }
            }
            v->next++;
        }
        if (r->type == ZN_AUDITLOG_LEAVES)
            v->rep.leaves += r->count;
        else if (r->content)
            v->rep.entries++;
        else
            v->rep.redacted++;
        if (r->conv_load)
            s_inforce_set(v, r->version);
        return 0;
    case ZN_AUDITLOG_HEAD:
        if (s_head_check(v, line, r, e) != 0)
            return -1;
        v->has_head = true;
        v->head_size = r->th.size;
        v->rep.heads++;
        return 0;
    case ZN_AUDITLOG_END:
        if (r->entries != v->next)
            return s_fail(e, line, "the end record counts %" PRIu64 " entries but the file holds %" PRIu64,
                          r->entries, v->next);
        if (r->heads != v->rep.heads)
            return s_fail(e, line, "the end record counts %" PRIu64 " tree heads but the file holds %" PRIu64,
                          r->heads, v->rep.heads);
        if (v->next > (v->has_head ? v->head_size : 0))
            return s_fail(e, line,
                          "entry %" PRIu64 " and the entries after it are not covered by %s signed tree "
                          "head",
                          v->has_head ? v->head_size : 0, v->has_head ? "the last" : "any");
        v->ended = true;
        return 0;
    case ZN_AUDITLOG_CONVENANT:
        return 0;
    }
    return zn_err_set(e, ZN_E_INTERNAL, "unknown audit-log record type");
}

static void s_report(const zn_auditlog_verifier *v, zn_auditlog_report *r)
{
    if (!r)
        return;
    *r = v->rep;
    r->size = v->next;
    if (v->checks & ZN_AUDITLOG_TREE)
        zn_merkle_frontier_root(&v->fr, r->root);
    else
        memset(r->root, 0, sizeof r->root);
}

int zn_auditlog_verify_feed(zn_auditlog_verifier *v, uint64_t line, const zn_auditlog_rec *rec,
                            zn_err *e)
{
    s_res r;

    if (!v || !rec || !s_type_ok(rec->type))
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log verify feed called without a record");
    if (v->failed)
        return zn_err_set(e, ZN_E_VERIFY, "the audit-log verifier stopped at an earlier failure");
    v->rep.lines++;
    v->lv.n = 0;
    s_res_base(&r, rec);
    if (s_seq_order(v, line, &r, rec, e) != 0 ||
        s_work(v, rec, NULL, 0, line, 0, NULL, 0, &v->sc, &r, &v->lv, e) != 0 ||
        s_seq_apply(v, line, &r, v->lv.p, e) != 0) {
        v->failed = true;
        return -1;
    }
    return 0;
}

int zn_auditlog_verify_finish(zn_auditlog_verifier *v, zn_auditlog_report *r, zn_err *e)
{
    if (!v)
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log verify finish called without a verifier");
    s_report(v, r);
    if (v->failed)
        return zn_err_set(e, ZN_E_VERIFY, "the audit-log verifier stopped at an earlier failure");
    if (!v->ended)
        return zn_err_set(e, ZN_E_VERIFY, "the file ends without its end record: it is truncated");
    if ((v->checks & ZN_AUDITLOG_TREE) && v->has_known && v->known.size > v->next)
        return zn_err_set(e, ZN_E_VERIFY,
                          "the export is shorter than the tree head of size %" PRIu64
                          " this client accepted before (truncated or rolled back)",
                          v->known.size);
    return 0;
}

/* ================================================================ files */

enum { S_FREE = 0, S_DONE };
enum { S_STAGE_RECORD = 1, S_STAGE_CHECK = 2 };

typedef struct {
    uint8_t *buf; /* whole lines, each ending in '\n' */
    size_t len, cap;
    size_t *off;  /* line i is buf[off[i] .. off[i + 1] - 1) */
    size_t nlines, off_cap;
    size_t start; /* lines before it were verified in the caller's thread */
    uint64_t first_line;
    s_res *res;
    size_t res_cap;
    s_leaves lv;
    size_t err_at; /* the line whose check failed, or SIZE_MAX */
    int err_stage;
    zn_err err;
    int state;
} s_chunk;

typedef struct {
    FILE *fp;
    uint8_t *carry; /* the start of a line the previous chunk could not hold */
    size_t carry_len, carry_cap;
    bool eof;
    size_t tail; /* bytes of a last line without its '\n' */
} s_reader;

/* Chunks get sequence numbers in file order: fill_seq is the next to be read, take_seq the next to
 * be checked, consume_seq the next to be folded. A worker that finds nothing to check reads the next
 * chunk itself (one reader at a time), so a chunk is read, split and checked on one core. */
typedef struct {
    zn_auditlog_verifier *v;
    zn_auditlog_format fmt;
    s_reader rd;
    size_t target;  /* bytes per chunk */
    uint64_t line;  /* the number of the next line to read */
    s_chunk *slots;
    size_t nslots;
    uint64_t fill_seq, take_seq, consume_seq;
    bool rd_busy;   /* a worker is reading */
    bool rd_done;   /* the end of the file, or a read failure (rd_err) */
    bool rd_failed;
    zn_err rd_err;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    bool quit;
    atomic_bool stop;
} s_pipe;

/* Fill c with the carried partial line and whole lines after it, about `target` bytes. At the end
 * of the file c->len is 0; a last line without '\n' is left in rd->tail. */
static int s_read_chunk(s_reader *rd, s_chunk *c, size_t target, uint64_t line, zn_err *e)
{
    const uint8_t *nl = NULL;
    size_t scanned = 0;
    void *p = c->buf;

    c->len = 0;
    if (s_grow(&p, &c->cap, (target > rd->carry_len ? target : rd->carry_len + 1), 1) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the audit log");
    c->buf = p;
    if (rd->carry_len)
        memcpy(c->buf, rd->carry, rd->carry_len);
    c->len = rd->carry_len;
    rd->carry_len = 0;
    for (;;) {
        while (!rd->eof && c->len < c->cap) {
            size_t got = fread(c->buf + c->len, 1, c->cap - c->len, rd->fp);
            c->len += got;
            if (got == 0) {
                if (ferror(rd->fp))
                    return zn_err_set(e, ZN_E_IO, "the audit-log export could not be read: %s",
                                      strerror(errno));
                rd->eof = true;
            }
        }
        nl = s_rfind(c->buf + scanned, c->len - scanned, '\n');
        if (nl || rd->eof)
            break;
        scanned = c->len;
        if (c->len > ZN_AUDITLOG_MAX_LINE)
            return s_fail(e, line, "the line is longer than %u bytes: this is not an audit-log export",
                          ZN_AUDITLOG_MAX_LINE);
        p = c->buf;
        if (s_grow(&p, &c->cap, c->cap * 2, 1) != 0)
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the audit log");
        c->buf = p;
    }
    size_t whole = nl ? (size_t)(nl - c->buf) + 1 : 0, rest = c->len - whole;
    if (rest && rd->eof) {
        rd->tail = rest;
    } else if (rest) {
        p = rd->carry;
        if (s_grow(&p, &rd->carry_cap, rest, 1) != 0)
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the audit log");
        rd->carry = p;
        memcpy(rd->carry, c->buf + whole, rest);
        rd->carry_len = rest;
    }
    c->len = whole;
    return 0;
}

static int s_split(s_chunk *c)
{
    void *p;
    size_t pos = 0;
    c->nlines = 0;
    while (pos < c->len) {
        p = c->off;
        if (s_grow(&p, &c->off_cap, c->nlines + 2, sizeof *c->off) != 0)
            return -1;
        c->off = p;
        c->off[c->nlines++] = pos;
        const uint8_t *nl = memchr(c->buf + pos, '\n', c->len - pos);
        pos = (size_t)(nl - c->buf) + 1; /* every line of a chunk ends in '\n' */
    }
    if (c->nlines == 0) {
        p = c->off;
        if (s_grow(&p, &c->off_cap, 1, sizeof *c->off) != 0)
            return -1;
        c->off = p;
    }
    c->off[c->nlines] = c->len;
    p = c->res;
    if (s_grow(&p, &c->res_cap, c->nlines ? c->nlines : 1, sizeof *c->res) != 0)
        return -1;
    c->res = p;
    return 0;
}

/* The raw field of a line (the end of it), decoded into sc->raw and parsed. */
static int s_line_record(zn_auditlog_format fmt, const uint8_t *text, size_t len, uint64_t line,
                         s_scratch *sc, zn_doc *doc, zn_auditlog_rec *rec, size_t *raw_len, zn_err *e)
{
    const uint8_t *hex, *q;
    size_t hn;
    zn_err pe;

    doc->live = false;
    if (len == 0)
        return s_fail(e, line, "the line is empty");
    if (fmt == ZN_AUDITLOG_JSONL) {
        if (len < 2 || text[len - 2] != '"' || text[len - 1] != '}' ||
            !(q = s_rfind(text, len - 2, '"')) || q - text < 6 || memcmp(q - 6, "\"raw\":", 6) != 0)
            return s_fail(e, line, "the line does not end with its raw field (\"raw\":\"...\"})");
        hex = q + 1;
        hn = (size_t)(text + len - 2 - hex);
    } else {
        if (!(q = s_rfind(text, len, ',')))
            return s_fail(e, line, "the line has no raw column");
        hex = q + 1;
        hn = (size_t)(text + len - hex);
    }
    if (hn == 0 || hn % 2 != 0 || hn / 2 > ZN_AUDITLOG_MAX_RECORD)
        return s_fail(e, line, "the raw field is not the lowercase hex of a record");
    void *p = sc->raw;
    if (s_grow(&p, &sc->raw_cap, hn / 2, 1) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the audit log");
    sc->raw = p;
    if (s_unhex(sc->raw, hex, hn / 2) != 0)
        return s_fail(e, line, "the raw field is not the lowercase hex of a record");
    *raw_len = hn / 2;
    if (zn_auditlog_parse(sc->raw, hn / 2, doc, rec, &pe) != 0)
        return s_fail(e, line, "%s", pe.text);
    return 0;
}

/* One line, entirely in the caller's thread (the convenants at the start of a file). */
static int s_line_inline(s_pipe *p, s_chunk *c, size_t i, s_scratch *sc, s_leaves *lv, zn_err *e)
{
    const uint8_t *text = c->buf + c->off[i];
    size_t len = c->off[i + 1] - c->off[i] - 1, raw_len = 0;
    uint64_t line = c->first_line + i;
    zn_doc doc;
    zn_auditlog_rec rec;
    s_res r;
    int rc;

    p->v->rep.lines++;
    lv->n = 0;
    if (s_line_record(p->fmt, text, len, line, sc, &doc, &rec, &raw_len, e) != 0)
        return -1;
    s_res_base(&r, &rec);
    rc = s_seq_order(p->v, line, &r, &rec, e) != 0 ||
         s_work(p->v, &rec, sc->raw, raw_len, line, p->fmt, text, len, sc, &r, lv, e) != 0 ||
         s_seq_apply(p->v, line, &r, lv->p, e) != 0
        ? -1 : 0;
    zn_doc_free(&doc);
    return rc;
}

/* The parallel part of a chunk: every line from c->start on, up to the first failure. */
static void s_chunk_work(s_pipe *p, s_chunk *c, s_scratch *sc)
{
    c->lv.n = 0;
    c->err_at = SIZE_MAX;
    for (size_t i = c->start; i < c->nlines; i++) {
        const uint8_t *text = c->buf + c->off[i];
        size_t len = c->off[i + 1] - c->off[i] - 1, raw_len = 0;
        uint64_t line = c->first_line + i;
        zn_doc doc;
        zn_auditlog_rec rec;

        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            c->err_at = i; /* never consumed: the run already failed */
            c->err_stage = S_STAGE_RECORD;
            zn_err_set(&c->err, ZN_E_INTERNAL, "stopped");
            return;
        }
        if (i + 1 < c->nlines) /* start fetching the next line while this one is hashed */
            for (size_t k = c->off[i + 1]; k < c->off[i + 2]; k += 64)
                __builtin_prefetch(c->buf + k);
        if (s_line_record(p->fmt, text, len, line, sc, &doc, &rec, &raw_len, &c->err) != 0) {
            c->err_at = i;
            c->err_stage = S_STAGE_RECORD;
            return;
        }
        s_res_base(&c->res[i], &rec);
        int rc = s_work(p->v, &rec, sc->raw, raw_len, line, p->fmt, text, len, sc, &c->res[i], &c->lv,
                        &c->err);
        zn_doc_free(&doc);
        if (rc != 0) {
            c->err_at = i;
            c->err_stage = S_STAGE_CHECK;
            return;
        }
    }
}

/* The in-order part of a chunk. */
static int s_chunk_consume(zn_auditlog_verifier *v, s_chunk *c, zn_err *e)
{
    for (size_t i = c->start; i < c->nlines; i++) {
        uint64_t line = c->first_line + i;
        const s_res *r = &c->res[i];
        v->rep.lines++;
        if (i == c->err_at) {
            if (c->err_stage == S_STAGE_CHECK && s_seq_order(v, line, r, NULL, e) != 0)
                return -1;
            if (e)
                *e = c->err;
            return -1;
        }
        const uint8_t *leaves = c->lv.p ? c->lv.p + r->leaf_off * ZN_HASH_LEN : NULL;
        if (s_seq_order(v, line, r, NULL, e) != 0 || s_seq_apply(v, line, r, leaves, e) != 0)
            return -1;
    }
    return 0;
}

/* Read the next chunk into c and split it into lines (by the one reader of the moment). c->len is
 * 0 at the end of the file. */
static int s_read_next(s_pipe *p, s_chunk *c, zn_err *e)
{
    if (s_read_chunk(&p->rd, c, p->target, p->line, e) != 0)
        return -1;
    if (c->len == 0)
        return 0;
    if (s_split(c) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the audit log");
    c->first_line = p->line;
    c->start = 0;
    p->line += c->nlines;
    return 0;
}

static void *s_worker(void *arg)
{
    s_pipe *p = arg;
    s_scratch sc;

    memset(&sc, 0, sizeof sc);
    msgpack_sbuffer_init(&sc.line);
    msgpack_sbuffer_init(&sc.tmp);
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        s_chunk *c;
        if (p->take_seq < p->fill_seq) {
            c = &p->slots[p->take_seq++ % p->nslots];
        } else if (!p->rd_busy && !p->rd_done && p->fill_seq - p->consume_seq < p->nslots) {
            zn_err re;
            c = &p->slots[p->fill_seq % p->nslots];
            p->rd_busy = true;
            pthread_mutex_unlock(&p->mu);
            int rc = s_read_next(p, c, &re);
            pthread_mutex_lock(&p->mu);
            p->rd_busy = false;
            pthread_cond_broadcast(&p->work_cv); /* the next reader may go */
            if (rc != 0 || c->len == 0) {
                p->rd_done = true;
                if (rc != 0) {
                    p->rd_failed = true;
                    p->rd_err = re;
                }
                pthread_cond_broadcast(&p->done_cv);
                continue;
            }
            p->fill_seq++;
            p->take_seq++;
        } else {
            pthread_cond_wait(&p->work_cv, &p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        s_chunk_work(p, c, &sc);
        pthread_mutex_lock(&p->mu);
        c->state = S_DONE;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    s_scratch_free(&sc);
    return NULL;
}

static bool s_is_csv_header(const uint8_t *text, size_t len)
{
    static const char h[] = ZN_AUDITLOG_CSV_HEADER;
    return len == sizeof h - 1 && memcmp(text, h, len) == 0;
}

/* The start of the file in the caller's thread: the format from the first line, then every line
 * up to the first one after the convenants, so that the workers start with the signers known.
 * The rest of that chunk is left for the workers (fill_seq 1), or nothing when the file ends. */
static int s_prologue(s_pipe *p, s_scratch *sc, s_leaves *lv, zn_err *e)
{
    zn_auditlog_verifier *v = p->v;
    bool first = true;

    for (;;) {
        s_chunk *c = &p->slots[0];
        if (s_read_next(p, c, e) != 0)
            return -1;
        if (c->len == 0) {
            p->rd_done = true;
            if (first && !p->rd.tail)
                return zn_err_set(e, ZN_E_VERIFY, "the file is empty: it holds no audit-log records");
            return 0;
        }
        if (first) {
            const uint8_t *t = c->buf;
            size_t tl = c->off[1] - 1;
            first = false;
            if (s_is_csv_header(t, tl)) {
                p->fmt = ZN_AUDITLOG_CSV;
                c->start = 1;
                v->rep.lines++;
            } else if (tl > 0 && t[0] == '{') {
                p->fmt = ZN_AUDITLOG_JSONL;
            } else {
                return s_fail(e, 1, "neither a JSON object nor the CSV header: this is not an "
                                    "audit-log export");
            }
            v->rep.format = p->fmt;
        }
        while (!v->closed && c->start < c->nlines) {
            if (s_line_inline(p, c, c->start, sc, lv, e) != 0)
                return -1;
            c->start++;
        }
        if (c->start < c->nlines) {
            p->fill_seq = 1;
            return 0;
        }
    }
}

static int s_run(FILE *fp, const zn_auditlog_opts *o, zn_auditlog_verifier *v, zn_err *e)
{
    s_pipe p;
    s_scratch sc;
    s_leaves lv = {0};
    pthread_t tid[S_MAX_THREADS];
    unsigned nthreads = o->threads, started = 0;
    bool failed = false;

    if (nthreads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (unsigned)n : 1;
    }
    if (nthreads > S_MAX_THREADS)
        nthreads = S_MAX_THREADS;
    memset(&p, 0, sizeof p);
    p.v = v;
    p.rd.fp = fp;
    p.target = o->chunk_bytes ? o->chunk_bytes : S_CHUNK_BYTES;
    p.line = 1;
    memset(&sc, 0, sizeof sc);
    msgpack_sbuffer_init(&sc.line);
    msgpack_sbuffer_init(&sc.tmp);
    atomic_init(&p.stop, false);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.work_cv, NULL);
    pthread_cond_init(&p.done_cv, NULL);
    p.nslots = nthreads > 1 ? 2 * (size_t)nthreads + 2 : 1;
    p.slots = calloc(p.nslots, sizeof *p.slots);
    if (!p.slots) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the audit log");
        failed = true;
    }
    if (!failed && s_prologue(&p, &sc, &lv, e) != 0)
        failed = true;
    if (!failed && nthreads > 1 && (p.fill_seq || !p.rd_done))
        for (; started < nthreads; started++)
            if (pthread_create(&tid[started], NULL, s_worker, &p) != 0)
                break;

    pthread_mutex_lock(&p.mu);
    while (!failed) {
        s_chunk *c = &p.slots[p.consume_seq % p.nslots];
        if (!started) {
            /* no workers: read, check and fold each chunk here */
            if (p.take_seq < p.fill_seq) {
                p.take_seq++; /* what the prologue left of its chunk */
            } else {
                zn_err re;
                if (p.rd_done)
                    break;
                if (s_read_next(&p, c, &re) != 0) {
                    p.rd_done = p.rd_failed = true;
                    p.rd_err = re;
                    break;
                }
                if (c->len == 0) {
                    p.rd_done = true;
                    break;
                }
                p.fill_seq++;
                p.take_seq++;
            }
            s_chunk_work(&p, c, &sc);
            c->state = S_DONE;
        }
        while (c->state != S_DONE && !(p.rd_done && !p.rd_busy && p.consume_seq == p.fill_seq))
            pthread_cond_wait(&p.done_cv, &p.mu);
        if (p.consume_seq == p.fill_seq)
            break; /* everything read is folded, and nothing more comes */
        pthread_mutex_unlock(&p.mu);
        int rc = s_chunk_consume(v, c, e);
        pthread_mutex_lock(&p.mu);
        c->state = S_FREE;
        p.consume_seq++;
        pthread_cond_broadcast(&p.work_cv); /* a slot is free */
        if (rc != 0)
            failed = true;
    }
    atomic_store(&p.stop, true);
    p.quit = true;
    pthread_cond_broadcast(&p.work_cv);
    pthread_mutex_unlock(&p.mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);

    if (!failed && p.rd_failed) {
        if (e)
            *e = p.rd_err;
        failed = true;
    }
    if (!failed && p.rd.tail) {
        s_fail(e, p.line, "the line has no end: the file ends in the middle of it (truncated)");
        failed = true;
    }
    for (size_t i = 0; p.slots && i < p.nslots; i++) {
        free(p.slots[i].buf);
        free(p.slots[i].off);
        free(p.slots[i].res);
        free(p.slots[i].lv.p);
    }
    free(p.slots);
    free(p.rd.carry);
    free(lv.p);
    s_scratch_free(&sc);
    pthread_cond_destroy(&p.work_cv);
    pthread_cond_destroy(&p.done_cv);
    pthread_mutex_destroy(&p.mu);
    if (failed)
        v->failed = true;
    return failed ? -1 : 0;
}

int zn_auditlog_verify_stream(FILE *fp, const zn_auditlog_opts *o, zn_auditlog_report *r, zn_err *e)
{
    if (r)
        memset(r, 0, sizeof *r);
    if (!fp || !o || !o->authority)
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log verify called without a file or a key");
    zn_auditlog_verifier *v = zn_auditlog_verify_new(o->authority, o->known, o->checks, e);
    if (!v)
        return -1;
    int rc = s_run(fp, o, v, e);
    if (rc == 0)
        rc = zn_auditlog_verify_finish(v, r, e);
    else
        s_report(v, r);
    zn_auditlog_verify_destroy(&v);
    return rc;
}

int zn_auditlog_verify_file(const char *path, const uint8_t authority[ZN_KEY_LEN],
                            const zn_tree_head *known, unsigned threads, zn_auditlog_report *r,
                            zn_err *e)
{
    zn_auditlog_opts o = {.authority = authority, .known = known, .checks = ZN_AUDITLOG_ALL,
                          .threads = threads, .chunk_bytes = 0};
    if (r)
        memset(r, 0, sizeof *r);
    if (!path)
        return zn_err_set(e, ZN_E_INTERNAL, "audit-log verify called without a path");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return zn_err_set(e, ZN_E_IO, "%s: %s", path, strerror(errno));
    int rc = zn_auditlog_verify_stream(fp, &o, r, e);
    fclose(fp);
    return rc;
}
