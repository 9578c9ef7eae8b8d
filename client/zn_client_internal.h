/* zn_client_internal — pieces of libzorgnet shared by the library, the zorgnet CLI and the unit
 * tests. Not part of the public API (that is zorgnet.h); may change at any time.
 *
 * zn_state: the client's state file (sqlite3, mode 0600, beside the key file):
 *   meta(k TEXT PRIMARY KEY, v)   "convenant_version" (highest seen), "authority" (the key that
 *                                 signed the first convenant this client accepted)
 *   seen(sender, msgid, at)       messages already shown, kept ZN_CLIENT_SEEN_DAYS days
 * Ownership: zn_state_open returns a handle released with zn_state_close(&s) (NULLs it).
 *
 * Text helpers write into caller-owned buffers or FILE streams. */
#ifndef ZN_CLIENT_INTERNAL_H
#define ZN_CLIENT_INTERNAL_H

#include "zn_err.h"
#include "zorgnet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- state file ---- */

#define ZN_STATE_SCHEMA 1

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
/* Delete seen rows older than ZN_CLIENT_SEEN_DAYS before now_s. */
int zn_state_prune(zn_state *s, uint64_t now_s, zn_err *e) __attribute__((warn_unused_result));

/* ---- text ---- */

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
 * "--" ends options. Each option is given at most once. Unknown options are a usage error. */
typedef struct {
    const char *name;  /* without the dashes */
    bool has_arg;
} zn_opt_spec;
int zn_args_parse(int argc, char **argv, const zn_opt_spec *specs, size_t nspecs,
                  const char **values, const char **pos, size_t maxpos, size_t *npos, zn_err *e)
    __attribute__((warn_unused_result));

#endif
