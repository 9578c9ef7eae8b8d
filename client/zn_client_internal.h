/* zn_client_internal — pieces of libzorgnet shared by the library, the zorgnet CLI and the unit
 * tests. Not part of the public API (that is zorgnet.h); may change at any time.
 *
 * zn_state: the client's state file (sqlite3, mode 0600, beside the key file):
 *   meta(k TEXT PRIMARY KEY, v)   "convenant_version" (highest seen), "authority" (the key that
 *                                 signed the first convenant this client accepted)
 *   seen(sender, msgid, at)       messages already shown, kept ZN_CLIENT_SEEN_DAYS days
 *   tree_head(one = 1, head, sig, signer, at)   (schema 2) the last signed tree head this
 *                                 client accepted: its bytes, the broker's 64-byte signature and
 *                                 the broker signing key that verified it (so it can be decoded
 *                                 again with zn_tree_head_verify after a key change)
 *   sent(msgid, audit_index, at)  (schema 2) the audit log entry of each message this client
 *                                 sent, for `zorgnet receipt verify MSGID`; kept as long as seen
 * Schema changes are forward migrations on PRAGMA user_version (0 -> 1 -> 2), each in its own
 * transaction; rows already there are kept.
 * Ownership: zn_state_open returns a handle released with zn_state_close(&s) (NULLs it).
 *
 * Text helpers write into caller-owned buffers or FILE streams. */
#ifndef ZN_CLIENT_INTERNAL_H
#define ZN_CLIENT_INTERNAL_H

#include "zn_audit.h"
#include "zn_auditlog.h"
#include "zn_auditreq.h"
#include "zn_convenant.h"
#include "zn_err.h"
#include "zn_frame.h"
#include "zn_keys.h"
#include "zorgnet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- state file ---- */

#define ZN_STATE_SCHEMA 2
#define ZN_STATE_HEAD_MAX 64 /* >= ZN_TREE_HEAD_MAX */
#define ZN_STATE_SIG_LEN 64
#define ZN_STATE_KEY_LEN 32

typedef struct zn_state zn_state;

int zn_state_open(const char *path, zn_state **out, zn_err *e) __attribute__((warn_unused_result));
void zn_state_close(zn_state **s);
/* Highest convenant version recorded (0 when none). */
int zn_state_highest(zn_state *s, uint64_t *version, zn_err *e) __attribute__((warn_unused_result));
/* Refuse a convenant older than the highest version seen (ZN_E_CONVENANT_OLD) or signed by
 * another authority than the one first accepted (ZN_E_CONVENANT_INVALID). `what` names the
 * convenant's origin in the error ("the convenant file", "the broker"). */
int zn_state_check_convenant(zn_state *s, uint64_t version, const uint8_t authority[32],
                             const char *what, zn_err *e) __attribute__((warn_unused_result));
/* Record version as the highest seen (when higher) and pin the authority (when not yet). */
int zn_state_record_convenant(zn_state *s, uint64_t version, const uint8_t authority[32], zn_err *e)
    __attribute__((warn_unused_result));
int zn_state_is_seen(zn_state *s, const char *sender, const uint8_t msgid[ZN_CLIENT_ID_LEN],
                     bool *seen, zn_err *e) __attribute__((warn_unused_result));
/* Insert (sender, msgid, now_s) in one transaction; a row already there is kept. */
int zn_state_mark_seen(zn_state *s, const char *sender, const uint8_t msgid[ZN_CLIENT_ID_LEN],
                       uint64_t now_s, zn_err *e) __attribute__((warn_unused_result));
/* Delete seen and sent rows older than ZN_CLIENT_SEEN_DAYS before now_s. */
int zn_state_prune(zn_state *s, uint64_t now_s, zn_err *e) __attribute__((warn_unused_result));

/* The last signed tree head accepted; have == false when none yet. */
typedef struct {
    bool have;
    uint8_t head[ZN_STATE_HEAD_MAX];
    size_t head_len;
    uint8_t sig[ZN_STATE_SIG_LEN];
    uint8_t signer[ZN_STATE_KEY_LEN]; /* the broker signing key it verified with */
} zn_state_head;
/* A damaged row is ZN_E_VERIFY (the client must not go on as if it had seen nothing). */
int zn_state_get_head(zn_state *s, zn_state_head *out, zn_err *e) __attribute__((warn_unused_result));
/* Store next in one transaction, only when the stored head is still prev (NULL or !have:
 * none stored); otherwise ZN_E_VERIFY (another run with the same key got there first) and
 * nothing changes. The caller has checked next against prev (signature, consistency). */
int zn_state_put_head(zn_state *s, const zn_state_head *prev, const zn_state_head *next,
                      uint64_t now_s, zn_err *e) __attribute__((warn_unused_result));
/* Remember the audit index of a message sent (the first one recorded for a msgid stands). */
int zn_state_record_sent(zn_state *s, const uint8_t msgid[ZN_CLIENT_ID_LEN], uint64_t audit_index,
                         uint64_t now_s, zn_err *e) __attribute__((warn_unused_result));
int zn_state_sent_index(zn_state *s, const uint8_t msgid[ZN_CLIENT_ID_LEN], bool *found,
                        uint64_t *audit_index, zn_err *e) __attribute__((warn_unused_result));

/* ---- library internals shared with the audit commands ---- */

/* The convenant in use (it may be replaced by any call that contacts the broker). */
const zn_convenant *zn_client_convenant(const zn_client *c);
/* Open the network key sealed to this client in the convenant (partners and auditors); the
 * caller wipes *out after use. */
int zn_client_open_netkey(const zn_client *c, zn_netkey *out, zn_err *e) __attribute__((warn_unused_result));
/* Connect (window 0) unless connected already. */
int zn_client_ensure_connected(zn_client *c, zn_err *e) __attribute__((warn_unused_result));
/* The audit index recorded for a message this client sent (*found false: none). */
int zn_client_sent_index(zn_client *c, const uint8_t msgid[ZN_CLIENT_ID_LEN], bool *found,
                         uint64_t *audit_index, zn_err *e) __attribute__((warn_unused_result));
/* This client's public signing key (NULL when read-only). */
const uint8_t *zn_client_sign_pk(const zn_client *c);
/* Sign a request of `kind` with this body (connecting on demand), send it and wait for the
 * RESULT of the same kind. On success *f is the parsed RESULT and *fbuf owns the bytes it points
 * into: zn_frame_free(f) and free(*fbuf). An ERROR answer fails with the broker's code. */
int zn_client_request(zn_client *c, const char *kind, const uint8_t *body, size_t body_len,
                      zn_frame *f, uint8_t **fbuf, zn_err *e) __attribute__((warn_unused_result));
/* The key file and the handler every signed request needs (ZN_E_USAGE naming the option). */
int zn_client_need_actor(const zn_client *c, zn_err *e) __attribute__((warn_unused_result));
/* Open free text sealed to this client (enc: the encoded zn_sealed array, len bytes) into text
 * (NUL-terminated, cap > ZN_CLIENT_SEALED_MAX). 1: opened; 0: this client is not one of its
 * readers (text ""); -1: the encoding cannot be read, or the box addressed to this client does
 * not open (text "", e set: ZN_E_VERIFY). The secret box key never leaves zn_client.c. */
int zn_client_open_sealed(const zn_client *c, const uint8_t *enc, size_t len, char *text, size_t cap,
                          zn_err *e) __attribute__((warn_unused_result));

/* ---- BSNs (shared by the signal and case calls) ---- */

/* The checks every call taking BSNs makes before anything is sent, each a ZN_E_USAGE error
 * ending in "nothing was sent": the person's BSN (`what` names it, e.g. "the person's BSN")
 * and every related BSN pass the 11-proef (the error repeats a bad one: it stays on this
 * computer), at most ZN_CLIENT_RELATED_MAX related, none equal to the person's, none twice. */
int zn_client_check_bsns(const char *bsn, const char *what, const char *const *related, size_t n_related,
                         zn_err *e) __attribute__((warn_unused_result));
/* The pseudonyms of the person and the related (checked BSNs) with the convenant's network key,
 * which is opened for this and wiped. person: ZN_CLIENT_PSN_LEN bytes; related: n_related of
 * them. Coordinators hold no network key (ZN_E_NOT_PARTNER). */
int zn_client_pseudonyms(const zn_client *c, const char *bsn, const char *const *related, size_t n_related,
                         uint8_t *person, uint8_t (*rel)[ZN_CLIENT_PSN_LEN], zn_err *e)
    __attribute__((warn_unused_result));

/* ---- cases ---- */

/* The case a call is about to act on, read first with case-show (which the broker records in
 * the audit log like any read), so that what the broker would refuse anyway is said before
 * anything goes out: the send scan's question whether the case is anonymous, and the checks
 * before an override or a handover offer. Returns the case (malloc'd; the caller frees it), or
 * NULL with e set to one sentence that says "nothing was sent": a partner that is no member is
 * told it may not `act` ("send on it", "hand it over"); an unknown case is named as such;
 * any other failure keeps its code and reads "nothing was sent (`unread`): WHY", the broker's
 * or the connection's sentence cut at a word to fit. closed_why: NULL when a closed case is no
 * error here, else a closed case fails with ZN_E_CASE_CLOSED "the case is closed; CLOSED_WHY;
 * nothing was sent". */
zn_case_info *zn_client_case_probe(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *act,
                                   const char *unread, const char *closed_why, zn_err *e)
    __attribute__((warn_unused_result));

/* zn_client_send_flags when the caller may already know the case's mode: anonymous 1 (an
 * anonymous case: content with identifiers is refused unless ZN_CLIENT_SEND_I_CHECKED), 0 (an
 * identified case: no scan), -1 (unknown: scan, and read the case when something was found, as
 * zn_client_send_flags does). */
int zn_client_send_mode(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                        const void *content, size_t len, unsigned flags, int anonymous,
                        uint8_t msgid[ZN_CLIENT_ID_LEN], uint64_t *audit_index, zn_err *e)
    __attribute__((warn_unused_result));

/* The tree head this client accepted last (*have false: none yet). */
int zn_client_known_head(zn_client *c, bool *have, uint64_t *size, uint8_t root[ZN_CLIENT_HASH_LEN],
                         uint64_t *time_ms, zn_err *e) __attribute__((warn_unused_result));
/* Check a signed tree head that arrived in `origin` (for the error text) and keep it when it
 * is newer than the head kept: the signature by the convenant's broker key
 * (ZN_E_BAD_SIGNATURE); then, against the head this client held when it asked (from_size and
 * from_root; from_size 0: none), no fewer entries, the same root at the same size, and at a
 * larger size the consistency proof (n_proof hashes) from from_size (ZN_E_LOG_INCONSISTENT).
 * Another run with the same key may have kept a head meanwhile: at the same size the roots must
 * agree (ZN_E_LOG_INCONSISTENT); a smaller head is not kept. On any failure the kept head stays
 * as it was. *out is the decoded new head. */
int zn_client_accept_head(zn_client *c, const uint8_t *head, size_t head_len,
                          const uint8_t sig[ZN_SIG_LEN], const uint8_t *proof, size_t n_proof,
                          uint64_t from_size, const uint8_t from_root[ZN_CLIENT_HASH_LEN],
                          const char *origin, zn_tree_head *out, zn_err *e) __attribute__((warn_unused_result));

/* ---- audit log (auditors; the broker refuses others with ZN_E_FORBIDDEN) ---- */

/* One record of an "audit-read" reply (the bytes of one zn_auditlog record, valid during the
 * call): 0 to go on, -1 (e set) to stop the read. */
typedef int (*zn_audit_record_fn)(void *ctx, const uint8_t *rec, size_t n, zn_err *e);
/* Run one "audit-read" with `filter` (from: where to start), paging with the reply's `next`
 * until the read is complete: for entries once `next` reaches `bound` (0: the log's size in the
 * first reply, which then also becomes the filter's upto), for convenants and heads at the
 * first empty page; "head" is one page. *log_size (may be NULL) gets the first reply's size. */
int zn_client_audit_read(zn_client *c, const zn_audit_filter *filter, uint64_t bound,
                         zn_audit_record_fn fn, void *ctx, uint64_t *log_size, zn_err *e)
    __attribute__((warn_unused_result));

typedef struct {
    uint64_t size;       /* N: entries under the pinned head */
    uint64_t convenants, entries, redacted, leaves, heads;
    uint64_t millis;     /* time taken */
} zn_client_export_report;

/* Export the log to `path` in file order (docs/AUDIT.md): the broker's current signed head pins
 * N; then every convenant, then entries 0..N-1 (those outside [since_ms, until_ms) as leaves;
 * 0 means open) with every signed head of size <= N right after the entry at index size-1, then
 * the end record. Written to path.tmp (0600) and renamed; an existing path is refused
 * (ZN_E_USAGE) unless force. */
int zn_client_audit_export(zn_client *c, const char *path, zn_auditlog_format fmt, uint64_t since_ms,
                           uint64_t until_ms, bool force, zn_client_export_report *r, zn_err *e)
    __attribute__((warn_unused_result));
/* Verify an export file offline against the convenant's authority key and, when this client
 * has a state file with a tree head, that head (*with_known tells whether it was used). A file
 * whose end record claims fewer entries than that head (an older export) is verified on its
 * own; *later_known is then the size of the head this client accepted since (else 0). */
int zn_client_audit_verify_file(zn_client *c, const char *path, zn_auditlog_report *r, bool *with_known,
                                uint64_t *later_known, zn_err *e) __attribute__((warn_unused_result));
/* Export the whole log to a private temporary file (0600, removed afterwards) and verify it. */
int zn_client_audit_verify_live(zn_client *c, zn_client_export_report *xr, zn_auditlog_report *r,
                                bool *with_known, zn_err *e) __attribute__((warn_unused_result));

/* ---- clocks ---- */

/* The time now (CLOCK_REALTIME) in Unix milliseconds. */
uint64_t zn_client_now_ms(void);
/* A monotonic clock in milliseconds, for time-outs and durations. */
int64_t zn_client_mono_ms(void);

/* ---- text ---- */

/* Copy src (NULL: "") into dst (cap >= 1), cut to fit; always NUL-terminated. */
void zn_text_copy(char *dst, size_t cap, const char *src);
/* A network or partner name to show back in an error: v itself, unless it looks like a BSN
 * typed in the wrong option ("(a number that looks like a BSN)"; a BSN is shown only by the
 * 11-proef error). */
const char *zn_shown_name(const char *v);

/* true when p[0..n) is well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF);
 * NUL bytes are refused when allow_nul is false. */
bool zn_utf8_valid(const uint8_t *p, size_t n, bool allow_nul);
/* Copy src[0..n) as printable text into dst (cap >= 1, always NUL-terminated): well-formed
 * UTF-8 without control characters is copied; every other byte becomes '?'; when it does not
 * fit, it is cut at a character boundary. Returns the length written. */
size_t zn_text_sanitize(char *dst, size_t cap, const char *src, size_t n);
/* Write s[0..n) as a JSON string literal (quotes included). Bytes that are not well-formed
 * UTF-8 are written as U+FFFD; control characters as escapes. */
void zn_json_str(FILE *f, const char *s, size_t n);
/* Write content for a terminal: newline and tab pass, other control characters and bytes that
 * are not well-formed UTF-8 are written as \xNN, a backslash as "\\". */
void zn_text_content(FILE *f, const uint8_t *p, size_t n);
/* "2024-05-01T12:34:56Z" (UTC) into out[ZN_ISO_TIME_LEN]. */
#define ZN_ISO_TIME_LEN 32
void zn_iso_time(char out[ZN_ISO_TIME_LEN], uint64_t unix_ms);

/* ---- command-line helpers ---- */

/* "5", "0.5", "2.25": seconds with up to three decimals, in [min_ms, max_ms]. */
int zn_parse_seconds(const char *s, int min_ms, int max_ms, int *ms) __attribute__((warn_unused_result));
/* A time on the command line: "2026-01-31" (00:00:00 UTC that day) or "2026-01-31T12:34:56Z"
 * (UTC), a real calendar date from 1970 on; Unix milliseconds. -1 otherwise. */
int zn_parse_time(const char *s, uint64_t *unix_ms) __attribute__((warn_unused_result));
/* 32 hex characters (either case) to 16 bytes. */
int zn_parse_id(const char *s, uint8_t out[ZN_CLIENT_ID_LEN]) __attribute__((warn_unused_result));

/* Item types for `inbox --type`: "envelope", "notice" (every notice) or a notice type. */
#define ZN_TYPE_FILTER_MAX 16
typedef struct {
    size_t n; /* 0: everything */
    char types[ZN_TYPE_FILTER_MAX][ZN_CLIENT_IDENT_MAX];
} zn_type_filter;
/* Comma-separated list of identifiers. */
int zn_type_filter_parse(zn_type_filter *f, const char *list, zn_err *e) __attribute__((warn_unused_result));
bool zn_type_filter_match(const zn_type_filter *f, const zn_item *it);

/* Generic option parser: options may stand anywhere; "--name value", "--name=value";
 * "--" ends options. Each option is given at most once (see zn_args_parse_ex for options that
 * may repeat). Unknown options are a usage error. */
typedef struct {
    const char *name;  /* without the dashes */
    bool has_arg;
} zn_opt_spec;
int zn_args_parse(int argc, char **argv, const zn_opt_spec *specs, size_t nspecs,
                  const char **values, const char **pos, size_t maxpos, size_t *npos, zn_err *e)
    __attribute__((warn_unused_result));
/* The values of a repeatable option, in the order given (pointers into argv). */
#define ZN_ARGS_REPEAT_MAX 32
typedef struct {
    size_t n;
    const char *v[ZN_ARGS_REPEAT_MAX];
} zn_arg_list;
/* zn_args_parse, where option k may be given up to ZN_ARGS_REPEAT_MAX times when repeat[k] is
 * true and it takes a value: lists[k] gets every value in order and values[k] the first.
 * repeat and lists have nspecs entries (caller-owned); repeat NULL: no option repeats. */
int zn_args_parse_ex(int argc, char **argv, const zn_opt_spec *specs, size_t nspecs, const bool *repeat,
                     const char **values, zn_arg_list *lists, const char **pos, size_t maxpos,
                     size_t *npos, zn_err *e) __attribute__((warn_unused_result));

/* true when s[0..n) holds what looks like a BSN by the rules of zn_identifiers_scan
 * (zn_identifiers.h): nine digits that pass the 11-proef, together or grouped 3-3-3 or 4-2-3
 * ("999990019", "9999.90.019", "999 990 019"), not part of a longer number. Used to keep BSNs
 * out of text the broker stores in the clear (a signal's contact). */
bool zn_text_has_bsn(const char *s, size_t n);

/* A comma-separated list of partner ids ("ggd,wijkracht"; no spaces) for --scope: each an
 * identifier, none twice, at most max; out gets them sorted ascending (the order the wire
 * wants), *n their count. ZN_E_USAGE naming `what` (the option) on an empty item, a bad id, a
 * repeat or too many; nothing is repeated from the list but valid ids. */
int zn_id_list_parse(const char *list, const char *what, char (*out)[ZN_CLIENT_IDENT_MAX], size_t max, size_t *n,
                     zn_err *e) __attribute__((warn_unused_result));
/* The text without leading and trailing white space (space, tab, newline, carriage return):
 * returns its length, *start its offset into s. */
size_t zn_text_trim(const char *s, size_t n, size_t *start);
/* Characters (code points) in well-formed UTF-8 s[0..n) (every byte that does not continue a
 * sequence counts one). */
size_t zn_utf8_chars(const char *s, size_t n);

#endif
