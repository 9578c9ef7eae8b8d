/* zn_identifiers — find what identifies a person in free text, so the client can warn before an
 * anonymous case is sent (a pure scanner: it decides nothing and sends nothing).
 *
 * Kinds and rules (Dutch context):
 *  - BSN: nine digits, written together or grouped 3-3-3 or 4-2-3 with one single space, dot or
 *    dash between groups (the same separator twice), that pass the 11-proef (zn_bsn_valid).
 *  - Phone number: a Dutch number, ten digits starting with 0 (0612345678, 06-12345678,
 *    0541-123456, 053 487 65 43, (053) 4876543), or +31 / 0031 followed by nine digits
 *    (+31 6 12345678). Between digits at most one space or dash, optionally with one pair of
 *    parentheses around a group.
 *  - E-mail address: local@domain.tld with local [A-Za-z0-9._%+-]+, domain [A-Za-z0-9.-]+ and a
 *    last label of at least two letters (a trailing dot or dash, as at a sentence end, is not
 *    part of the address).
 *  - Postcode and house number: four digits (first not 0), an optional single space, two
 *    capital letters (not SA, SD or SS), whitespace, a house number of 1-5 digits with an
 *    optional letter suffix: "7571 AB 12", "7571AB 12a". Lower-case letters are not taken (so
 *    "2015 en 2016" passes).
 *  - Date more than a year ago: a full valid calendar date, d-m-yyyy / dd-mm-yyyy (separator
 *    '-', '/' or '.', the same twice), yyyy-mm-dd, or "12 maart 2015" (full Dutch month name,
 *    any case), that lies more than 365 days before today_days. A date within the last year or
 *    in the future is no hit (and is not looked at again as another kind).
 * A number-like match must not be part of a longer number or word: the character before it is
 * not a letter, digit or '_', nor a '.', ',', '-', '/' or ':' directly after a digit; the
 * character after it is not a digit (nor a letter, for postcodes and dates with a month name).
 * Everything else passes: amounts (€ 1.250,00, 250 euro), years (2015), school groups
 * (groep 7), times (14:30), counts, 8-digit numbers, 9 digits failing the 11-proef.
 *
 * Ownership: text is the caller's and need not be NUL-terminated; hits is the caller's array
 * of max entries (may be NULL when max is 0). Nothing is allocated. */
#ifndef ZN_IDENTIFIERS_H
#define ZN_IDENTIFIERS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ZN_ID_BSN = 1, ZN_ID_PHONE, ZN_ID_EMAIL, ZN_ID_POSTCODE, ZN_ID_BIRTHDATE } zn_id_kind;

typedef struct {
    zn_id_kind kind;
    size_t offset, len;  /* bytes into text */
} zn_id_hit;

/* "BSN", "phone number", "e-mail address", "postcode and house number",
 * "date more than a year ago"; "unknown" for any other value. Static string. */
const char *zn_id_kind_name(zn_id_kind k);

/* Scans text[0..len) with today_days = days since 1970-01-01 (UTC) as "today". Returns the
 * number of identifiers found, in text order and non-overlapping; stores the first max of them
 * in hits (the count may exceed max). */
size_t zn_identifiers_scan(const char *text, size_t len, int64_t today_days, zn_id_hit *hits,
                           size_t max);

#endif
