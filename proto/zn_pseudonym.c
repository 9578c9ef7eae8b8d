/* zn_pseudonym — BSN check (11-proef) and the pseudonym derivation (see zn_pseudonym.h). */
#include "zn_pseudonym.h"

#include <sodium.h>
#include <string.h>

#define S_EPOCH_MAX 255u

_Static_assert(sizeof ZN_PSN_DOMAIN - 1 == 17, "domain string");
_Static_assert(ZN_PSN_HASH_LEN >= crypto_generichash_BYTES_MIN &&
                   ZN_PSN_HASH_LEN <= crypto_generichash_BYTES_MAX, "hash length");
_Static_assert(ZN_KEY_LEN >= crypto_generichash_KEYBYTES_MIN &&
                   ZN_KEY_LEN <= crypto_generichash_KEYBYTES_MAX, "key length");

bool zn_bsn_valid(const char *s)
{
    if (!s)
        return false;
    int sum = 0;
    bool zero = true;
    for (int i = 0; i < ZN_BSN_LEN; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false; /* also stops at the NUL of a short string */
        int d = s[i] - '0';
        zero = zero && d == 0;
        sum += (i < ZN_BSN_LEN - 1) ? (ZN_BSN_LEN - i) * d : -d;
    }
    return s[ZN_BSN_LEN] == '\0' && !zero && sum % 11 == 0;
}

/* At most this many characters of a refused BSN are repeated in the error. */
#define S_SHOW_MAX 20

int zn_pseudonym(uint8_t out[ZN_PSN_LEN], const zn_netkey *k, const char *bsn, zn_err *e)
{
    if (!out || !k)
        return zn_err_set(e, ZN_E_USAGE, "no output or network key for the pseudonym");
    if (!zn_bsn_valid(bsn)) {
        char shown[S_SHOW_MAX + 4];
        size_t n = 0;
        /* repeat what was typed, printable ASCII only, so the user sees which one was meant */
        for (const char *p = bsn; p && *p && n < S_SHOW_MAX; p++)
            shown[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        if (bsn && strlen(bsn) > S_SHOW_MAX) {
            memcpy(shown + n, "...", 3);
            n += 3;
        }
        shown[n] = '\0';
        return zn_err_set(e, ZN_E_USAGE,
                          "'%s' is not a valid BSN: a BSN has nine digits that pass the 11-proef",
                          shown);
    }
    if (k->epoch < 1 || k->epoch > S_EPOCH_MAX || sodium_is_zero(k->key, ZN_KEY_LEN))
        return zn_err_set(e, ZN_E_KEY_FILE,
                          "the network key is unusable (epoch 1 to %u, not all zero); ask the "
                          "authority for the current convenant",
                          S_EPOCH_MAX);

    crypto_generichash_state st;
    uint8_t h[ZN_PSN_HASH_LEN];
    if (crypto_generichash_init(&st, k->key, ZN_KEY_LEN, sizeof h) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)ZN_PSN_DOMAIN,
                                  sizeof ZN_PSN_DOMAIN - 1) != 0 ||
        crypto_generichash_update(&st, (const unsigned char *)bsn, ZN_BSN_LEN) != 0 ||
        crypto_generichash_final(&st, h, sizeof h) != 0) {
        sodium_memzero(&st, sizeof st);
        return zn_err_set(e, ZN_E_INTERNAL, "the pseudonym could not be computed");
    }
    sodium_memzero(&st, sizeof st); /* the state holds the keyed block */
    out[0] = (uint8_t)k->epoch;
    memcpy(out + 1, h, sizeof h);
    sodium_memzero(h, sizeof h);
    return 0;
}
