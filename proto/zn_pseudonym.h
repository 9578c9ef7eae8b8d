/* zn_pseudonym — the one function that turns a BSN into the pseudonym the broker sees.
 *
 *   psn = epoch (1 byte) || BLAKE2b-256(key = network key, "zorgnet/person/v1" || BSN)
 *
 * The BSN enters as its nine ASCII digits (leading zeros kept), directly after the 17 bytes of
 * the domain string, with no separator or length. BLAKE2b is libsodium's crypto_generichash
 * with the 32-byte network key as its key and a 32-byte output. The epoch byte says which
 * network key made the pseudonym (docs/CONVENANT.md, netkey_epoch). A BSN never leaves the
 * client: everything that needs a person's pseudonym calls zn_pseudonym and nothing else.
 *
 * 11-proef (zn_bsn_valid): exactly nine ASCII digits d1..d9 with
 * 9*d1 + 8*d2 + 7*d3 + 6*d4 + 5*d5 + 4*d6 + 3*d7 + 2*d8 - 1*d9 divisible by 11, and not all
 * zeros.
 *
 * Ownership: every buffer is the caller's; nothing is allocated. The network key is secret;
 * the caller wipes its zn_netkey after use. */
#ifndef ZN_PSEUDONYM_H
#define ZN_PSEUDONYM_H

#include "zn_err.h"
#include "zn_keys.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_BSN_LEN 9                       /* digits */
#define ZN_PSN_HASH_LEN 32                 /* BLAKE2b-256 */
#define ZN_PSN_LEN (1 + ZN_PSN_HASH_LEN)  /* epoch byte + hash */
#define ZN_PSN_DOMAIN "zorgnet/person/v1"

/* true when s (NUL-terminated) is nine ASCII digits that pass the 11-proef and are not all
 * zeros. NULL is not valid. */
bool zn_bsn_valid(const char *s);

/* psn = epoch || BLAKE2b-256(key, ZN_PSN_DOMAIN || bsn). Refuses (ZN_E_USAGE, naming the BSN:
 * the message stays on this computer) a BSN that fails zn_bsn_valid, and (ZN_E_KEY_FILE) a
 * network key whose epoch is not 1..255 or whose key is all zeros. out is untouched on -1. */
int zn_pseudonym(uint8_t out[ZN_PSN_LEN], const zn_netkey *k, const char *bsn, zn_err *e)
    __attribute__((warn_unused_result));

#endif
