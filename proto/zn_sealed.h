/* zn_sealed — free text sealed by the client to the partners who may read it (consent
 * purposes, override justifications and review notes, handover decline reasons).
 *
 * Encoding (msgpack array of 1..ZN_SEALED_READERS_MAX entries, ascending by reader id, no
 * reader twice):
 *   [[reader str, box bin], ...]
 *   box = crypto_box_seal(text, reader's box public key from the convenant); the text is UTF-8
 *   without control characters other than newline and tab, 1..ZN_SEALED_TEXT_MAX bytes, not
 *   padded (so the broker can hold a text to a minimum length without reading it; the length
 *   of a short reason is what it learns). The same text goes to every reader, so every box
 *   has the same length.
 * Who reads a text is fixed by what it is, as a set worked out from the convenant by
 * zn_sealed_readers: the client seals to exactly that set and the broker refuses a text whose
 * reader list differs. The broker stores the encoding as it came (it is inside the signed
 * request) and never opens it.
 *
 * Ownership: zn_sealed_build appends to a caller-owned packer. A parsed zn_sealed points into
 * the msgpack object it was parsed from (box pointers); keep that alive. */
#ifndef ZN_SEALED_H
#define ZN_SEALED_H

#include "zn_convenant.h"
#include "zn_err.h"
#include "zn_keys.h"
#include "zn_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZN_SEALED_READERS_MAX 32
#define ZN_SEALED_TEXT_MAX 2048 /* bytes of text, at most */

/* Who reads: a bit set. */
#define ZN_READ_AUDITORS 1u     /* every auditor in the convenant */
#define ZN_READ_COORDINATORS 2u /* every coordinator of the given network */
#define ZN_READ_PARTNER 4u      /* the given partner */

/* The reader ids for `who` (network: index of the network for ZN_READ_COORDINATORS, else
 * ignored; partner: id for ZN_READ_PARTNER, else ignored), ascending, each once. Returns how
 * many (at most max) were written, or -1 with e set when there are more than max, when the
 * set is empty (e.g. a convenant without auditors), or when network / partner is unknown. */
int zn_sealed_readers(const zn_convenant *c, unsigned who, int network, const char *partner,
                      char out[][ZN_IDENT_MAX], size_t max, zn_err *e) __attribute__((warn_unused_result));

/* Seal text (len bytes, rules above) to each of the n readers (ids in the convenant, as
 * zn_sealed_readers gives them) and pack the array into pk. -1 with e set (ZN_E_USAGE for bad
 * text, ZN_E_UNKNOWN_PARTNER for a reader not in the convenant) before anything is packed. */
int zn_sealed_build(msgpack_packer *pk, const zn_convenant *c, const char (*readers)[ZN_IDENT_MAX],
                    size_t n, const char *text, size_t len, zn_err *e) __attribute__((warn_unused_result));

typedef struct {
    size_t n;
    char reader[ZN_SEALED_READERS_MAX][ZN_IDENT_MAX];
    const uint8_t *box[ZN_SEALED_READERS_MAX];
    size_t box_len[ZN_SEALED_READERS_MAX];
} zn_sealed;

/* Strict parse of the array above: shape, identifiers, ascending order, no duplicates, each
 * box between crypto_box_SEALBYTES + min_text and crypto_box_SEALBYTES + ZN_SEALED_TEXT_MAX
 * bytes (min_text >= 1: the shortest text the field accepts), and every box of the same length:
 * each reader gets the same text, as far as the broker can tell without opening the boxes (a
 * client can still seal different texts of one length; each reader sees only its own).
 * ZN_E_MALFORMED names what is wrong. */
int zn_sealed_parse(const msgpack_object *o, size_t min_text, zn_sealed *out, zn_err *e)
    __attribute__((warn_unused_result));

/* 0 when the reader list is exactly `want` (n ids, ascending as zn_sealed_readers gives them);
 * else -1 with ZN_E_MALFORMED naming a missing or extra reader. */
int zn_sealed_check_readers(const zn_sealed *s, const char (*want)[ZN_IDENT_MAX], size_t n, zn_err *e)
    __attribute__((warn_unused_result));

/* Open the box addressed to self_id with self's box key pair into text (NUL-terminated; cap
 * must exceed the text). 0 on success; -1 with ZN_E_FORBIDDEN when self_id is not a reader,
 * ZN_E_VERIFY when the box does not open or the text breaks the rules above. */
int zn_sealed_open(const zn_sealed *s, const char *self_id, const zn_seckeys *self, char *text, size_t cap,
                   zn_err *e) __attribute__((warn_unused_result));

#endif
