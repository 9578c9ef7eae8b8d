/* zn_keys — key pairs and key files.
 *
 * Kinds: an authority has one Ed25519 signing pair (it signs the convenant); a broker has an
 * X25519 transport pair (CurveZMQ) and an Ed25519 signing pair (tree heads); a partner has three
 * pairs: X25519 transport, X25519 end-to-end box (kept apart from transport), Ed25519 signing.
 * Pairs a kind does not have are all zero.
 *
 * Files (msgpack, see docs/PROTOCOL.md "Key files"):
 *   NAME.pub  ["zorgnet-pub", 1, kind, {"transport": bin32, "box": bin32, "sign": bin32}]
 *   NAME.key  ["zorgnet-key", 1, kind, {public keys as above}, {"transport": bin32,
 *              "box": bin32, "sign": bin64}]   mode 0600; refused when group/others can read it
 *   network key ["zorgnet-netkey", 1, epoch, bin32]  mode 0600, same rule
 *
 * Ownership: zn_seckeys is caller storage; call zn_seckeys_wipe() when done (sodium_memzero). */
#ifndef ZN_KEYS_H
#define ZN_KEYS_H

#include "zn_err.h"
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#define ZN_KEY_LEN 32
#define ZN_SIGN_SK_LEN 64
#define ZN_SIG_LEN 64

typedef enum { ZN_KIND_AUTHORITY = 1, ZN_KIND_BROKER = 2, ZN_KIND_PARTNER = 3 } zn_kind;

typedef struct {
    zn_kind kind;
    uint8_t transport[ZN_KEY_LEN]; /* X25519 (CurveZMQ) */
    uint8_t box[ZN_KEY_LEN];       /* X25519 (crypto_box) */
    uint8_t sign[ZN_KEY_LEN];      /* Ed25519 */
} zn_pubkeys;

typedef struct {
    zn_pubkeys pub;
    uint8_t transport[ZN_KEY_LEN];
    uint8_t box[ZN_KEY_LEN];
    uint8_t sign[ZN_SIGN_SK_LEN];
} zn_seckeys;

typedef struct {
    uint64_t epoch;
    uint8_t key[ZN_KEY_LEN];
} zn_netkey;

const char *zn_kind_name(zn_kind kind); /* "authority" | "broker" | "partner" */
int zn_kind_parse(const char *s, zn_kind *out) __attribute__((warn_unused_result));

/* Fresh pairs for the kind (libsodium's randombytes). */
int zn_keys_generate(zn_kind kind, zn_seckeys *out) __attribute__((warn_unused_result));
void zn_seckeys_wipe(zn_seckeys *k);

/* Write base.key (0600, refused when it exists) and base.pub. */
int zn_keys_write(const char *base, const zn_seckeys *k, zn_err *e) __attribute__((warn_unused_result));
/* Load a secret key file; refuses a file that group or others can read, a wrong kind (when
 * want != 0), and public halves that do not match the secret halves. */
int zn_keys_load_secret(const char *path, zn_kind want, zn_seckeys *out, zn_err *e)
    __attribute__((warn_unused_result));
int zn_keys_load_public(const char *path, zn_kind want, zn_pubkeys *out, zn_err *e)
    __attribute__((warn_unused_result));

/* Ed25519 over ns || m (the namespace string without its NUL), so that a signature made for one
 * purpose ("zorgnet/v1/envelope", "zorgnet/v1/request", ...) never passes for another. 0 or -1. */
int zn_sign_ns(uint8_t sig[ZN_SIG_LEN], const char *ns, const uint8_t *m, size_t n,
               const uint8_t sk[ZN_SIGN_SK_LEN]) __attribute__((warn_unused_result));
int zn_verify_ns(const uint8_t sig[ZN_SIG_LEN], const char *ns, const uint8_t *m, size_t n,
                 const uint8_t pk[ZN_KEY_LEN]) __attribute__((warn_unused_result));

int zn_netkey_write(const char *path, const zn_netkey *k, zn_err *e) __attribute__((warn_unused_result));
int zn_netkey_load(const char *path, zn_netkey *out, zn_err *e) __attribute__((warn_unused_result));

#endif
