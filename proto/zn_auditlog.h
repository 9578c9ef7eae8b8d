/* zn_auditlog — the records of an audit-log export, its two line formats, and the offline
 * verifier (docs/AUDIT.md section 8).
 *
 * Records (msgpack arrays, canonical as docs/AUDIT.md section 1: shortest forms, nothing after):
 *   ["convenant", file bin]                  a signed convenant file the broker loaded
 *   ["entry", index u64, d bin32, salt bin32|nil, entry bin|nil]
 *                                            one entry; d = SHA-256(salt || entry); salt and
 *                                            entry are both present or both nil (redacted)
 *   ["leaves", first u64, ds bin]            the commitments of k consecutive entries that are
 *                                            not in the export, 1 <= k <= 1024, ds = 32 * k bytes
 *   ["head", head bin, sig bin64]            a signed tree head as the broker stored it
 *   ["end", entries u64, heads u64]          the last record: leaves and heads in the file
 * The same record bytes travel in the broker's replies and in export files.
 *
 * Export files: one record per line ('\n'), as JSON lines (ZN_AUDITLOG_JSONL) or CSV with a fixed
 * header line (ZN_AUDITLOG_CSV). Each line holds readable fields derived from the record and, last,
 * the lowercase hex of the record bytes ("raw"). A reader decodes raw, parses it, renders the line
 * again and compares it byte for byte: an edited readable field is found as well.
 *
 * Verifier: pinned to the authority's Ed25519 key (and optionally to a tree head the client
 * accepted before); it takes the records in file order and keeps O(1) state besides the
 * convenants. Two groups of checks, which can run as separate passes:
 *   ZN_AUDITLOG_TREE     commitments, the rebuilt Merkle tree, signed tree heads, the known head
 *   ZN_AUDITLOG_CONTENT  strict entry decoding, evidence signatures, readable fields of the lines
 * Both also check the order of the records (convenants first, indexes without gaps, the end
 * record last with matching counts, every leaf under the last head). Every failure is ZN_E_VERIFY
 * with a sentence that names the line (and the entry index) and what is wrong.
 *
 * Ownership: encoders append to a caller-owned sbuffer (whole or not at all). A parsed
 * zn_auditlog_rec points into the input bytes: keep them alive. zn_auditlog_parse takes a zn_doc
 * like the other parsers but reads the record without one and leaves it empty (zn_doc_free on it
 * is safe), so parsing a record allocates nothing. A verifier is a heap object:
 * zn_auditlog_verify_destroy(&v) frees it, NULLs the pointer and is safe to call twice. Records
 * fed to it may be freed after each call. */
#ifndef ZN_AUDITLOG_H
#define ZN_AUDITLOG_H

#include "zn_audit.h"
#include "zn_convenant.h"
#include "zn_err.h"
#include "zn_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ZN_AUDITLOG_LEAVES_MAX 1024
/* The largest record: a convenant file of ZN_CONVENANT_MAX_BYTES and its record header. */
#define ZN_AUDITLOG_MAX_RECORD (ZN_CONVENANT_MAX_BYTES + 64u)
/* The longest line: the hex of the largest record and its readable fields. */
#define ZN_AUDITLOG_MAX_LINE (2u * ZN_AUDITLOG_MAX_RECORD + 4096u)
/* Convenant records a verifier keeps, and distinct signing keys one partner may have in them. */
#define ZN_AUDITLOG_MAX_CONVENANTS 256
#define ZN_AUDITLOG_MAX_PARTNER_KEYS 64

#define ZN_AUDITLOG_CSV_HEADER                                                                     \
    "record,index,time,actor,handler,action,case,counterpart,decision,reason,basis,details,raw"

typedef enum {
    ZN_AUDITLOG_CONVENANT = 1,
    ZN_AUDITLOG_ENTRY = 2,
    ZN_AUDITLOG_LEAVES = 3,
    ZN_AUDITLOG_HEAD = 4,
    ZN_AUDITLOG_END = 5,
} zn_auditlog_type;

typedef enum { ZN_AUDITLOG_JSONL = 1, ZN_AUDITLOG_CSV = 2 } zn_auditlog_format;

typedef struct {
    zn_auditlog_type type;
    uint64_t index;        /* entry: its index; leaves: the first index */
    size_t count;          /* leaves: k */
    const uint8_t *d;      /* entry: ZN_HASH_LEN bytes; leaves: ZN_HASH_LEN * count bytes */
    const uint8_t *salt;   /* entry: ZN_AUDIT_SALT_LEN bytes, or NULL when redacted */
    const uint8_t *bytes;  /* entry bytes (NULL when redacted), the convenant file, or the head */
    size_t len;
    const uint8_t *sig;    /* head: ZN_SIG_LEN bytes */
    zn_tree_head head;     /* head: its fields, decoded strictly but NOT verified */
    uint64_t entries;      /* end: leaves in the file */
    uint64_t heads;        /* end: head records in the file */
} zn_auditlog_rec;

/* ---- records ---- */

/* Encoders: append one canonical record to out, or nothing (-1, ZN_E_USAGE for arguments that
 * break the rules above, ZN_E_INTERNAL when out of memory). The head is checked to be a canonical
 * tree head; nothing is verified. */
int zn_auditlog_enc_convenant(msgpack_sbuffer *out, const uint8_t *file, size_t len, zn_err *e)
    __attribute__((warn_unused_result));
/* salt and entry both NULL: a redacted entry. */
int zn_auditlog_enc_entry(msgpack_sbuffer *out, uint64_t index, const uint8_t d[ZN_HASH_LEN],
                          const uint8_t *salt, const uint8_t *entry, size_t len, zn_err *e)
    __attribute__((warn_unused_result));
int zn_auditlog_enc_leaves(msgpack_sbuffer *out, uint64_t first, const uint8_t *ds, size_t count,
                           zn_err *e) __attribute__((warn_unused_result));
int zn_auditlog_enc_head(msgpack_sbuffer *out, const uint8_t *head, size_t len,
                         const uint8_t sig[ZN_SIG_LEN], zn_err *e) __attribute__((warn_unused_result));
int zn_auditlog_enc_end(msgpack_sbuffer *out, uint64_t entries, uint64_t heads, zn_err *e)
    __attribute__((warn_unused_result));

/* Strict parse of one record: exact shape, types and lengths, canonical bytes (re-encoded and
 * compared), nothing after it. -1 with ZN_E_MALFORMED and a sentence saying what is wrong; then
 * *out is zeroed. On success *out points into p. doc is left empty either way (see above). */
int zn_auditlog_parse(const uint8_t *p, size_t n, zn_doc *doc, zn_auditlog_rec *out, zn_err *e)
    __attribute__((warn_unused_result));

/* ---- lines ---- */

/* Append the line of one record (readable fields, then raw; '\n' included). The record is parsed
 * strictly; an entry with content is decoded strictly and a convenant decoded and its signature
 * checked, because their readable fields come from there. The verifier renders with this same code
 * and compares. */
int zn_auditlog_line(msgpack_sbuffer *out, zn_auditlog_format fmt, const uint8_t *rec, size_t n,
                     zn_err *e) __attribute__((warn_unused_result));
/* Write the start of a file (the CSV header line; nothing for JSON lines), then one line per
 * record. ZN_E_IO when the stream refuses the bytes. */
int zn_auditlog_write_start(FILE *fp, zn_auditlog_format fmt, zn_err *e)
    __attribute__((warn_unused_result));
int zn_auditlog_write(FILE *fp, zn_auditlog_format fmt, const uint8_t *rec, size_t n, zn_err *e)
    __attribute__((warn_unused_result));

/* ---- verifier ---- */

#define ZN_AUDITLOG_TREE 1u
#define ZN_AUDITLOG_CONTENT 2u
#define ZN_AUDITLOG_ALL (ZN_AUDITLOG_TREE | ZN_AUDITLOG_CONTENT)

typedef struct {
    uint64_t lines;       /* lines read (files; the CSV header included) or records fed */
    uint64_t convenants;  /* convenant records decoded, verified and pinned */
    uint64_t entries;     /* entry records with content */
    uint64_t redacted;    /* entry records without salt and entry */
    uint64_t leaves;      /* leaves given only by their commitment (leaves records) */
    uint64_t heads;       /* head records */
    uint64_t signatures;  /* evidence signatures verified (CONTENT) */
    uint64_t size;        /* leaves in the log: entries + redacted + leaves */
    uint8_t root[ZN_HASH_LEN]; /* the rebuilt root over them (TREE; else zero) */
    zn_auditlog_format format; /* files: the format found; 0 for fed records */
} zn_auditlog_report;

typedef struct zn_auditlog_verifier zn_auditlog_verifier;

/* authority: the pinned Ed25519 key. known: NULL, or a tree head this client accepted before
 * (size and root; its time is ignored). checks: ZN_AUDITLOG_TREE and/or ZN_AUDITLOG_CONTENT. */
zn_auditlog_verifier *zn_auditlog_verify_new(const uint8_t authority[ZN_KEY_LEN],
                                             const zn_tree_head *known, unsigned checks, zn_err *e);
void zn_auditlog_verify_destroy(zn_auditlog_verifier **v);
/* Feed the next record in file order; `line` names it in error texts (a line or record number).
 * After the first failure the verifier refuses everything. Lines are not rendered here. */
int zn_auditlog_verify_feed(zn_auditlog_verifier *v, uint64_t line, const zn_auditlog_rec *rec,
                            zn_err *e) __attribute__((warn_unused_result));
/* After the last record: the end record must have been seen and the known head reached. r (may
 * be NULL) gets the counts, also on failure (then up to the failing record). */
int zn_auditlog_verify_finish(zn_auditlog_verifier *v, zn_auditlog_report *r, zn_err *e)
    __attribute__((warn_unused_result));

typedef struct {
    const uint8_t *authority;  /* ZN_KEY_LEN bytes, pinned */
    const zn_tree_head *known; /* NULL, or the head accepted before */
    unsigned checks;           /* ZN_AUDITLOG_TREE and/or ZN_AUDITLOG_CONTENT */
    unsigned threads;          /* worker threads; 0: one per online CPU; 1: all on the caller's */
    size_t chunk_bytes;        /* lines per unit of work, in bytes; 0: 1 MiB */
} zn_auditlog_opts;

/* Verify an export file read from fp (its format found from the first line: a CSV file starts
 * with ZN_AUDITLOG_CSV_HEADER). The caller's thread reads the convenants at the start; then worker
 * threads take turns reading the next chunk of lines and each decodes, parses and checks its own
 * chunk, while the caller's thread folds the tree and applies the order rules, chunk by chunk in
 * file order. Memory: a few chunks and the convenants. r (may be NULL) as for verify_finish. */
int zn_auditlog_verify_stream(FILE *fp, const zn_auditlog_opts *o, zn_auditlog_report *r,
                              zn_err *e) __attribute__((warn_unused_result));
/* Everything (both groups of checks, one pass) on the file at path. */
int zn_auditlog_verify_file(const char *path, const uint8_t authority[ZN_KEY_LEN],
                            const zn_tree_head *known, unsigned threads, zn_auditlog_report *r,
                            zn_err *e) __attribute__((warn_unused_result));

#endif
