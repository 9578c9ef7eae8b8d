/* zn_wire — the msgpack layer every other module reads and writes through.
 *
 * Reading: zn_doc_parse() first checks the whole buffer with zn_wire_check() (one object, no
 * trailing bytes, no floats or extension types, every container count backed by enough bytes,
 * bounded depth and object count) and only then lets msgpack-c build objects. msgpack-c would
 * otherwise trust a container header claiming 2^32 elements and allocate for it. Typed getters
 * then check type, size and range of every field before anything uses it.
 *
 * Ownership: a zn_doc owns its zone; objects inside point into the zone AND into the input
 * buffer (str/bin are not copied), so keep the input alive until zn_doc_free(). Getters that
 * return pointers (zn_obj_bin) point into that same input. Getters that copy (zn_obj_str,
 * zn_obj_bin_fixed) write into caller-owned storage. */
#ifndef ZN_WIRE_H
#define ZN_WIRE_H

#include "zn_err.h"
#include "zn_pseudonym.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZN_WIRE_MAX_DEPTH 8

/* 0 if p[0..n) is exactly one well-formed msgpack object within the limits, else -1. */
int zn_wire_check(const uint8_t *p, size_t n, unsigned max_depth, size_t max_objects);

typedef struct {
    msgpack_zone zone;
    msgpack_object root;
    bool live;
} zn_doc;

/* Check and unpack. On failure the doc is left freed (zn_doc_free is still safe). */
int zn_doc_parse(zn_doc *d, const uint8_t *p, size_t n, unsigned max_depth, size_t max_objects)
    __attribute__((warn_unused_result));
void zn_doc_free(zn_doc *d);

/* Typed getters: 0 on success, -1 when the object is not what is asked for. */
int zn_obj_u64(const msgpack_object *o, uint64_t *out) __attribute__((warn_unused_result));
int zn_obj_u64_max(const msgpack_object *o, uint64_t max, uint64_t *out)
    __attribute__((warn_unused_result));
int zn_obj_bool(const msgpack_object *o, bool *out) __attribute__((warn_unused_result));
/* bin of length 0..max; *p points into the parsed input. */
int zn_obj_bin(const msgpack_object *o, size_t max, const uint8_t **p, size_t *n)
    __attribute__((warn_unused_result));
/* bin of exactly n bytes, copied to dst. */
int zn_obj_bin_fixed(const msgpack_object *o, void *dst, size_t n) __attribute__((warn_unused_result));
/* array of at most max 32-byte bins (hashes): *n set; when out is not NULL the hashes are copied
 * there end to end (room for max * 32 bytes). */
int zn_obj_hashes(const msgpack_object *o, size_t max, uint8_t *out, uint32_t *n)
    __attribute__((warn_unused_result));
/* str that is valid UTF-8 without control characters, 1..cap-1 bytes, copied NUL-terminated. */
int zn_obj_text(const msgpack_object *o, char *dst, size_t cap) __attribute__((warn_unused_result));
/* str that is an identifier (see zn_ident_valid), copied NUL-terminated. */
int zn_obj_ident(const msgpack_object *o, char *dst, size_t cap) __attribute__((warn_unused_result));
/* str that is empty or an identifier (as zn_obj_ident), copied NUL-terminated. */
int zn_obj_opt_ident(const msgpack_object *o, char *dst, size_t cap) __attribute__((warn_unused_result));
/* str that is empty or text as for zn_obj_text (0..cap-1 bytes), copied NUL-terminated. */
int zn_obj_opt_text(const msgpack_object *o, char *dst, size_t cap) __attribute__((warn_unused_result));
/* array with exactly n elements (or, for _min, at least n). Returns the element pointer or NULL. */
const msgpack_object *zn_obj_array(const msgpack_object *o, uint32_t n);
const msgpack_object *zn_obj_array_min(const msgpack_object *o, uint32_t n, uint32_t *count);
/* map lookup by string key; NULL when absent or when o is not a map. */
const msgpack_object *zn_obj_map_get(const msgpack_object *o, const char *key);
/* true when o is a str equal to s. */
bool zn_obj_str_eq(const msgpack_object *o, const char *s);

/* An identifier (partner id, network name, role, notice type): 1..63 bytes of [a-z0-9._-],
 * starting with a letter or digit. zn_ident_valid reads at most ZN_IDENT_MAX bytes of s (a
 * fixed field without its NUL is not valid); NULL is not valid. */
#define ZN_IDENT_MAX 64
bool zn_ident_valid(const char *s);
/* Human text (names, handler): 1..max-1 bytes of UTF-8 without C0/C1 control characters. */
bool zn_text_valid(const char *s, size_t len);
/* Length of the well-formed UTF-8 sequence at p[0..n) (n >= 1), or 0 when it is not one
 * (overlong, surrogate, beyond U+10FFFF, truncated); *cp gets the code point. */
size_t zn_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

/* An sbuffer that remembers a failed write, so a short encoding is never handed out: pack with
 * msgpack_packer_init(&pk, &buf, zn_buf_write) and check buf.failed afterwards. */
typedef struct {
    msgpack_sbuffer sb;
    bool failed;
} zn_buf;
int zn_buf_write(void *data, const char *buf, size_t len);

/* Start packing into b: pk writes through zn_buf_write. */
void zn_buf_init(zn_buf *b, msgpack_packer *pk);
/* Append what was packed into b to out and destroy b: 0, or -1 when a write failed (out of
 * memory) and nothing was appended. */
int zn_buf_flush(zn_buf *b, msgpack_sbuffer *out) __attribute__((warn_unused_result));

/* Packing helpers (msgpack-c does the encoding; these only fix str/bin pairs). */
void zn_pack_str(msgpack_packer *pk, const char *s);
void zn_pack_bin(msgpack_packer *pk, const void *p, size_t n);
void zn_pack_bool(msgpack_packer *pk, bool v);
/* an array of n 32-byte bins taken from p (n * 32 bytes end to end) */
void zn_pack_hashes(msgpack_packer *pk, const uint8_t *p, size_t n);
/* Append already-encoded msgpack bytes as one element. */
void zn_pack_raw(msgpack_packer *pk, const void *p, size_t n);

/* Pseudonyms (zn_pseudonym.h) on the wire: the person and the related persons of a signal or a
 * case. */
/* bin of exactly ZN_PSN_LEN bytes whose epoch byte is 1..255, copied to dst. */
int zn_obj_psn(const msgpack_object *o, uint8_t dst[ZN_PSN_LEN]) __attribute__((warn_unused_result));
/* The rules for the related persons of person: each with person's epoch, none equal to person,
 * none twice. NULL when they hold, else what is wrong with related[*at]. */
const char *zn_psn_related_why(const uint8_t person[ZN_PSN_LEN], const uint8_t (*related)[ZN_PSN_LEN], uint32_t n,
                               uint32_t *at);
/* person (po: zn_obj_psn) and related (ro: an array of 0..max pseudonyms under the rules above)
 * into the caller's fields (related has room for max). -1 with e set (ZN_E_MALFORMED), its text
 * starting with `what` (the body's name, e.g. "case-new: body") and the field. */
int zn_obj_persons(const char *what, const msgpack_object *po, const msgpack_object *ro, uint32_t max,
                   uint8_t person[ZN_PSN_LEN], uint8_t (*related)[ZN_PSN_LEN], uint32_t *n_related, zn_err *e)
    __attribute__((warn_unused_result));
/* person as a bin, then an array of the n related pseudonyms. */
void zn_pack_persons(msgpack_packer *pk, const uint8_t person[ZN_PSN_LEN], const uint8_t (*related)[ZN_PSN_LEN],
                     uint32_t n);

/* Hex helpers for ids on the command line and in logs: 2n chars + NUL. */
/* A plain decimal: digits only (no sign, no spaces), value <= max, no overflow. */
int zn_parse_u64(const char *s, uint64_t max, uint64_t *out) __attribute__((warn_unused_result));

void zn_hex(char *out, const uint8_t *p, size_t n);
int zn_unhex(uint8_t *out, size_t n, const char *hex) __attribute__((warn_unused_result));

#endif
