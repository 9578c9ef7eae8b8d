#include "zn_wire.h"

#include <sodium.h>
#include <string.h>

int zn_wire_check(const uint8_t *p, size_t n, unsigned max_depth, size_t max_objects)
{
    size_t pending[ZN_WIRE_MAX_DEPTH + 1];
    size_t pos = 0, objects = 0;
    int depth = 0;

    if (!p || max_depth > ZN_WIRE_MAX_DEPTH)
        return -1;
    pending[0] = 1;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (pos >= n || ++objects > max_objects)
            return -1;
        uint8_t b = p[pos++];
        size_t skip = 0, lenbytes = 0, count = 0;
        int container = 0; /* 1 array, 2 map */

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if (b >= 0x80 && b <= 0x8f) {
            container = 2, count = b & 0x0f;
        } else if (b >= 0x90 && b <= 0x9f) {
            container = 1, count = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;          /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;          /* bin16, str16 */
            case 0xc6: case 0xdb: lenbytes = 4; break;          /* bin32, str32 */
            case 0xcc: case 0xd0: skip = 1; break;              /* (u)int8 */
            case 0xcd: case 0xd1: skip = 2; break;              /* (u)int16 */
            case 0xce: case 0xd2: skip = 4; break;              /* (u)int32 */
            case 0xcf: case 0xd3: skip = 8; break;              /* (u)int64 */
            case 0xdc: container = 1, lenbytes = 2; break;      /* array16 */
            case 0xdd: container = 1, lenbytes = 4; break;      /* array32 */
            case 0xde: container = 2, lenbytes = 2; break;      /* map16 */
            case 0xdf: container = 2, lenbytes = 4; break;      /* map32 */
            default: return -1; /* 0xc1, floats, ext: not part of any zorgnet format */
            }
            if (lenbytes) {
                if (n - pos < lenbytes)
                    return -1;
                size_t len = 0;
                for (size_t i = 0; i < lenbytes; i++)
                    len = (len << 8) | p[pos + i];
                pos += lenbytes;
                if (container)
                    count = len;
                else
                    skip = len;
            }
        }
        if (skip) {
            if (n - pos < skip)
                return -1;
            pos += skip;
        }
        if (container) {
            /* every element takes at least one byte: a count the bytes cannot back is a lie */
            size_t elems = container == 2 ? count * 2 : count;
            if (elems > n - pos)
                return -1;
            if (elems) {
                if ((unsigned)depth + 1 > max_depth)
                    return -1;
                pending[++depth] = elems;
            }
        }
    }
    return pos == n ? 0 : -1;
}

int zn_doc_parse(zn_doc *d, const uint8_t *p, size_t n, unsigned max_depth, size_t max_objects)
{
    d->live = false;
    if (zn_wire_check(p, n, max_depth, max_objects) != 0)
        return -1;
    if (!msgpack_zone_init(&d->zone, 2048))
        return -1;
    d->live = true;
    size_t off = 0;
    if (msgpack_unpack((const char *)p, n, &off, &d->zone, &d->root) != MSGPACK_UNPACK_SUCCESS ||
        off != n) {
        zn_doc_free(d);
        return -1;
    }
    return 0;
}

void zn_doc_free(zn_doc *d)
{
    if (d && d->live) {
        msgpack_zone_destroy(&d->zone);
        d->live = false;
    }
}

int zn_obj_u64(const msgpack_object *o, uint64_t *out)
{
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    *out = o->via.u64;
    return 0;
}

int zn_obj_u64_max(const msgpack_object *o, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (zn_obj_u64(o, &v) != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

int zn_obj_bool(const msgpack_object *o, bool *out)
{
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        return -1;
    *out = o->via.boolean;
    return 0;
}

int zn_obj_bin(const msgpack_object *o, size_t max, const uint8_t **p, size_t *n)
{
    if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > max)
        return -1;
    *p = (const uint8_t *)o->via.bin.ptr;
    *n = o->via.bin.size;
    return 0;
}

int zn_obj_bin_fixed(const msgpack_object *o, void *dst, size_t n)
{
    if (!o || o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
        return -1;
    memcpy(dst, o->via.bin.ptr, n);
    return 0;
}

size_t zn_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t extra;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        extra = 1, v = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        extra = 2, v = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        extra = 3, v = c & 0x07;
    else
        return 0;
    if (n - 1 < extra)
        return 0;
    for (size_t k = 1; k <= extra; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[k] & 0x3f);
    }
    if ((extra == 2 && v < 0x800) || (extra == 3 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return extra + 1;
}

bool zn_text_valid(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    if (len == 0)
        return false;
    for (size_t i = 0, k; i < len; i += k) {
        uint32_t cp;
        k = zn_utf8_next(p + i, len - i, &cp);
        if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return false; /* malformed, C0 or C1 control */
    }
    return true;
}

int zn_obj_hashes(const msgpack_object *o, size_t max, uint8_t *out, uint32_t *n)
{
    *n = 0;
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > max)
        return -1;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *h = &o->via.array.ptr[i];
        if (h->type != MSGPACK_OBJECT_BIN || h->via.bin.size != 32)
            return -1;
        if (out)
            memcpy(out + 32 * (size_t)i, h->via.bin.ptr, 32);
    }
    *n = o->via.array.size;
    return 0;
}

int zn_obj_text(const msgpack_object *o, char *dst, size_t cap)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size >= cap ||
        !zn_text_valid(o->via.str.ptr, o->via.str.size))
        return -1;
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

bool zn_ident_valid(const char *s)
{
    size_t n = s ? strnlen(s, ZN_IDENT_MAX) : 0;
    if (n == 0 || n >= ZN_IDENT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

int zn_obj_ident(const msgpack_object *o, char *dst, size_t cap)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size >= cap ||
        o->via.str.size >= ZN_IDENT_MAX)
        return -1;
    char tmp[ZN_IDENT_MAX];
    memcpy(tmp, o->via.str.ptr, o->via.str.size);
    tmp[o->via.str.size] = '\0';
    if (!zn_ident_valid(tmp))
        return -1;
    memcpy(dst, tmp, o->via.str.size + 1);
    return 0;
}

int zn_obj_opt_ident(const msgpack_object *o, char *dst, size_t cap)
{
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0 && cap > 0) {
        dst[0] = '\0';
        return 0;
    }
    return zn_obj_ident(o, dst, cap);
}

int zn_obj_opt_text(const msgpack_object *o, char *dst, size_t cap)
{
    if (o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0 && cap > 0) {
        dst[0] = '\0';
        return 0;
    }
    return zn_obj_text(o, dst, cap);
}

const msgpack_object *zn_obj_array(const msgpack_object *o, uint32_t n)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n)
        return NULL;
    return n ? o->via.array.ptr : o; /* non-NULL for an empty array */
}

const msgpack_object *zn_obj_array_min(const msgpack_object *o, uint32_t n, uint32_t *count)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < n)
        return NULL;
    *count = o->via.array.size;
    return o->via.array.size ? o->via.array.ptr : o;
}

bool zn_obj_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *zn_obj_map_get(const msgpack_object *o, const char *key)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        if (zn_obj_str_eq(&o->via.map.ptr[i].key, key))
            return &o->via.map.ptr[i].val;
    return NULL;
}

int zn_buf_write(void *data, const char *buf, size_t len)
{
    zn_buf *b = data;
    if (b->failed || msgpack_sbuffer_write(&b->sb, buf, len) != 0) {
        b->failed = true;
        return -1;
    }
    return 0;
}

void zn_buf_init(zn_buf *b, msgpack_packer *pk)
{
    b->failed = false;
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(pk, b, zn_buf_write);
}

int zn_buf_flush(zn_buf *b, msgpack_sbuffer *out)
{
    int rc = (b->failed || msgpack_sbuffer_write(out, b->sb.data, b->sb.size) != 0) ? -1 : 0;
    msgpack_sbuffer_destroy(&b->sb);
    return rc;
}

void zn_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void zn_pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

void zn_pack_bool(msgpack_packer *pk, bool v)
{
    if (v)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void zn_pack_hashes(msgpack_packer *pk, const uint8_t *p, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        zn_pack_bin(pk, p + 32 * i, 32);
}

void zn_pack_raw(msgpack_packer *pk, const void *p, size_t n)
{
    pk->callback(pk->data, (const char *)p, n);
}

int zn_obj_psn(const msgpack_object *o, uint8_t dst[ZN_PSN_LEN])
{
    uint8_t tmp[ZN_PSN_LEN];
    if (zn_obj_bin_fixed(o, tmp, ZN_PSN_LEN) != 0 || tmp[0] == 0)
        return -1;
    memcpy(dst, tmp, ZN_PSN_LEN);
    return 0;
}

const char *zn_psn_related_why(const uint8_t person[ZN_PSN_LEN], const uint8_t (*related)[ZN_PSN_LEN], uint32_t n,
                               uint32_t *at)
{
    for (uint32_t i = 0; i < n; i++) {
        *at = i;
        if (related[i][0] != person[0])
            return "has another epoch than 'person'";
        if (memcmp(related[i], person, ZN_PSN_LEN) == 0)
            return "equals 'person'";
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(related[i], related[j], ZN_PSN_LEN) == 0)
                return "appears twice";
    }
    return NULL;
}

int zn_obj_persons(const char *what, const msgpack_object *po, const msgpack_object *ro, uint32_t max,
                   uint8_t person[ZN_PSN_LEN], uint8_t (*related)[ZN_PSN_LEN], uint32_t *n_related, zn_err *e)
{
    uint32_t at = 0;
    const char *why = NULL;

    if (zn_obj_psn(po, person) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'person' is not a %d-byte pseudonym with an epoch of 1 to 255",
                          what, ZN_PSN_LEN);
    if (!ro || ro->type != MSGPACK_OBJECT_ARRAY || ro->via.array.size > max)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'related' is not an array of at most %u pseudonyms", what,
                          (unsigned)max);
    *n_related = ro->via.array.size;
    for (uint32_t i = 0; i < *n_related; i++)
        if (zn_obj_bin_fixed(&ro->via.array.ptr[i], related[i], ZN_PSN_LEN) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s field 'related': element %u is not a %d-byte pseudonym", what,
                              (unsigned)i, ZN_PSN_LEN);
    if ((why = zn_psn_related_why(person, (const uint8_t(*)[ZN_PSN_LEN])related, *n_related, &at)) != NULL)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'related': element %u %s", what, (unsigned)at, why);
    return 0;
}

void zn_pack_persons(msgpack_packer *pk, const uint8_t person[ZN_PSN_LEN], const uint8_t (*related)[ZN_PSN_LEN],
                     uint32_t n)
{
    zn_pack_bin(pk, person, ZN_PSN_LEN);
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        zn_pack_bin(pk, related[i], ZN_PSN_LEN);
}

int zn_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s || strlen(s) > 20)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (d > max || v > (max - d) / 10u)
            return -1;
        v = v * 10u + d;
    }
    *out = v;
    return 0;
}

void zn_hex(char *out, const uint8_t *p, size_t n)
{
    sodium_bin2hex(out, 2 * n + 1, p, n);
}

int zn_unhex(uint8_t *out, size_t n, const char *hex)
{
    size_t got = 0;
    const char *end = NULL;
    if (!hex || strlen(hex) != 2 * n)
        return -1;
    if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 || got != n)
        return -1;
    return 0;
}
