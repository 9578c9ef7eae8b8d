#include "zn_keys.h"

#include "zn_file.h"
#include "zn_wire.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PUB_MAGIC "zorgnet-pub"
#define S_KEY_MAGIC "zorgnet-key"
#define S_NETKEY_MAGIC "zorgnet-netkey"
#define S_FORMAT_VERSION 1
#define S_KEYFILE_MAX 1024u  /* a key file is under 300 bytes */
#define S_NETKEY_MAX 128u
#define S_NETKEY_EPOCH_MAX 255u /* the epoch is one byte of every pseudonym */

/* ---- packing secrets into guarded memory (msgpack_sbuffer would realloc and leave copies) ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool overflow;
} s_fixbuf;

static int s_fixbuf_write(void *data, const char *buf, size_t len)
{
    s_fixbuf *b = data;
    if (b->overflow || len > b->cap - b->n) {
        b->overflow = true;
        return -1;
    }
    memcpy(b->p + b->n, buf, len);
    b->n += len;
    return 0;
}

/* ---- kinds ---- */

const char *zn_kind_name(zn_kind kind)
{
    switch (kind) {
    case ZN_KIND_AUTHORITY: return "authority";
    case ZN_KIND_BROKER: return "broker";
    case ZN_KIND_PARTNER: return "partner";
    }
    return "unknown";
}

int zn_kind_parse(const char *s, zn_kind *out)
{
    static const zn_kind kinds[] = {ZN_KIND_AUTHORITY, ZN_KIND_BROKER, ZN_KIND_PARTNER};
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(s, zn_kind_name(kinds[i])) == 0) {
            *out = kinds[i];
            return 0;
        }
    return -1;
}

static bool s_kind_valid(int k)
{
    return k == ZN_KIND_AUTHORITY || k == ZN_KIND_BROKER || k == ZN_KIND_PARTNER;
}

static bool s_has_transport(zn_kind k) { return k == ZN_KIND_BROKER || k == ZN_KIND_PARTNER; }
static bool s_has_box(zn_kind k) { return k == ZN_KIND_PARTNER; }

/* ---- generation ---- */

void zn_seckeys_wipe(zn_seckeys *k)
{
    if (k)
        sodium_memzero(k, sizeof *k);
}

int zn_keys_generate(zn_kind kind, zn_seckeys *out)
{
    if (!out)
        return -1;
    zn_seckeys_wipe(out);
    if (!s_kind_valid((int)kind))
        return -1;
    out->pub.kind = kind;
    if (sodium_init() < 0)
        return -1;
    if (s_has_transport(kind) && crypto_box_keypair(out->pub.transport, out->transport) != 0)
        goto fail;
    if (s_has_box(kind) && crypto_box_keypair(out->pub.box, out->box) != 0)
        goto fail;
    if (crypto_sign_keypair(out->pub.sign, out->sign) != 0)
        goto fail;
    return 0;
fail:
    zn_seckeys_wipe(out);
    return -1;
}

/* ---- checks shared by both loaders ---- */

/* Which pairs the kind has must be non-zero, the others all zero; signing keys must be points. */
static int s_check_pub(const zn_pubkeys *pk, const char *path, zn_err *e)
{
    struct {
        const char *name;
        const uint8_t *key;
        bool want;
    } pairs[] = {
        {"transport", pk->transport, s_has_transport(pk->kind)},
        {"box", pk->box, s_has_box(pk->kind)},
        {"sign", pk->sign, true},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        bool zero = sodium_is_zero(pairs[i].key, ZN_KEY_LEN) != 0;
        if (pairs[i].want && zero)
            return zn_err_set(e, ZN_E_KEY_FILE, "key file %s: the %s key of this %s is missing", path,
                              pairs[i].name, zn_kind_name(pk->kind));
        if (!pairs[i].want && !zero)
            return zn_err_set(e, ZN_E_KEY_FILE, "key file %s: a %s has no %s key, but the file holds one",
                              path, zn_kind_name(pk->kind), pairs[i].name);
    }
    if (crypto_core_ed25519_is_valid_point(pk->sign) != 1)
        return zn_err_set(e, ZN_E_KEY_FILE, "key file %s: the sign key is not a valid Ed25519 public key",
                          path);
    return 0;
}

/* Parse a {"transport", "box", "sign"} map: exactly these three keys, each once, bin of the sizes
 * given. Values are copied into t, b, s. */
static int s_parse_keymap(const msgpack_object *o, size_t sign_len, uint8_t *t, uint8_t *b, uint8_t *s)
{
    static const char *names[3] = {"transport", "box", "sign"};
    uint8_t *dst[3] = {t, b, s};
    size_t lens[3] = {ZN_KEY_LEN, ZN_KEY_LEN, sign_len};
    bool seen[3] = {false, false, false};

    if (!o || o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 3)
        return -1;
    for (uint32_t i = 0; i < 3; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        size_t k = 0;
        while (k < 3 && !zn_obj_str_eq(&kv->key, names[k]))
            k++;
        if (k == 3 || seen[k])
            return -1;
        seen[k] = true;
        if (zn_obj_bin_fixed(&kv->val, dst[k], lens[k]) != 0)
            return -1;
    }
    return 0;
}

static void s_pack_keymap(msgpack_packer *pk, const uint8_t *t, const uint8_t *b, const uint8_t *s,
                          size_t sign_len)
{
    msgpack_pack_map(pk, 3);
    zn_pack_str(pk, "transport");
    zn_pack_bin(pk, t, ZN_KEY_LEN);
    zn_pack_str(pk, "box");
    zn_pack_bin(pk, b, ZN_KEY_LEN);
    zn_pack_str(pk, "sign");
    zn_pack_bin(pk, s, sign_len);
}

/* Reads the common head [magic, 1, kind, ...] of a key file with n elements. */
static int s_parse_head(const msgpack_object *root, const char *magic, uint32_t n, const char *path,
                        const msgpack_object **items, zn_kind *kind, zn_err *e)
{
    const msgpack_object *a = zn_obj_array(root, n);
    uint64_t version;
    char kname[ZN_IDENT_MAX];

    if (!a) {
        if (root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size >= 1) {
            const msgpack_object *m = &root->via.array.ptr[0];
            if (zn_obj_str_eq(m, S_PUB_MAGIC) && strcmp(magic, S_KEY_MAGIC) == 0)
                return zn_err_set(e, ZN_E_KEY_FILE,
                                  "%s is a public key file; give the secret key file (.key)", path);
            if (zn_obj_str_eq(m, S_KEY_MAGIC) && strcmp(magic, S_PUB_MAGIC) == 0)
                return zn_err_set(e, ZN_E_KEY_FILE,
                                  "%s is a secret key file; give the public key file (.pub)", path);
        }
        return zn_err_set(e, ZN_E_KEY_FILE, "%s is not a zorgnet %s file", path,
                          strcmp(magic, S_PUB_MAGIC) == 0 ? "public key" : "secret key");
    }
    if (!zn_obj_str_eq(&a[0], magic))
        return zn_err_set(e, ZN_E_KEY_FILE, "%s is not a zorgnet %s file (wrong magic)", path,
                          strcmp(magic, S_PUB_MAGIC) == 0 ? "public key" : "secret key");
    if (zn_obj_u64(&a[1], &version) != 0 || version != S_FORMAT_VERSION)
        return zn_err_set(e, ZN_E_KEY_FILE, "key file %s has an unsupported format version", path);
    if (zn_obj_ident(&a[2], kname, sizeof kname) != 0 || zn_kind_parse(kname, kind) != 0)
        return zn_err_set(e, ZN_E_KEY_FILE, "key file %s names an unknown kind of key", path);
    *items = a;
    return 0;
}

static int s_check_kind(zn_kind got, zn_kind want, const char *path, zn_err *e)
{
    if (want != 0 && got != want)
        return zn_err_set(e, ZN_E_KEY_FILE, "key file %s holds %s keys, but %s keys are needed here",
                          path, zn_kind_name(got), zn_kind_name(want));
    return 0;
}

/* ---- public key files ---- */

static void s_pack_pub(msgpack_packer *pk, const zn_pubkeys *p)
{
    msgpack_pack_array(pk, 4);
    zn_pack_str(pk, S_PUB_MAGIC);
    msgpack_pack_uint64(pk, S_FORMAT_VERSION);
    zn_pack_str(pk, zn_kind_name(p->kind));
    s_pack_keymap(pk, p->transport, p->box, p->sign, ZN_KEY_LEN);
}

int zn_keys_load_public(const char *path, zn_kind want, zn_pubkeys *out, zn_err *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    zn_doc doc;
    const msgpack_object *a = NULL;
    zn_pubkeys pk;
    int rc = -1;

    memset(out, 0, sizeof *out);
    memset(&pk, 0, sizeof pk);
    if (sodium_init() < 0)
        return zn_err_set(e, ZN_E_INTERNAL, "the crypto library could not start");
    if (zn_file_read(path, S_KEYFILE_MAX, 0, &buf, &len, e) != 0) {
        if (e && e->code == ZN_E_IO)
            e->code = ZN_E_KEY_FILE;
        return -1;
    }
    if (zn_doc_parse(&doc, buf, len, 3, 64) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE, "%s is not a zorgnet public key file (unreadable)", path);
        goto done;
    }
    if (s_parse_head(&doc.root, S_PUB_MAGIC, 4, path, &a, &pk.kind, e) != 0)
        goto done_doc;
    if (s_parse_keymap(&a[3], ZN_KEY_LEN, pk.transport, pk.box, pk.sign) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE,
                   "key file %s: the keys must be a map of transport, box and sign, 32 bytes each", path);
        goto done_doc;
    }
    if (s_check_pub(&pk, path, e) != 0 || s_check_kind(pk.kind, want, path, e) != 0)
        goto done_doc;
    *out = pk;
    rc = 0;
done_doc:
    zn_doc_free(&doc);
done:
    free(buf);
    return rc;
}

/* ---- secret key files ---- */


/* An X25519 pair the kind has must match; a pair it does not have must be all zero. */
static int s_check_x25519(const char *path, zn_kind kind, const char *what, bool has, const uint8_t *sk,
                          const uint8_t *pk, uint8_t derived[ZN_KEY_LEN], zn_err *e)
{
    if (has) {
        if (crypto_scalarmult_base(derived, sk) != 0 || sodium_memcmp(derived, pk, ZN_KEY_LEN) != 0)
            return zn_err_set(e, ZN_E_KEY_FILE, "key file %s: the %s secret key does not match its public key",
                              path, what);
    } else if (!sodium_is_zero(sk, ZN_KEY_LEN)) {
        return zn_err_set(e, ZN_E_KEY_FILE, "key file %s: a %s has no %s key, but the file holds one", path,
                          zn_kind_name(kind), what);
    }
    return 0;
}

static int s_check_halves(const zn_seckeys *k, const char *path, zn_err *e)
{
    uint8_t derived[ZN_KEY_LEN];
    uint8_t pk2[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk2[crypto_sign_SECRETKEYBYTES];
    int rc = -1;

    if (s_check_x25519(path, k->pub.kind, "transport", s_has_transport(k->pub.kind), k->transport,
                       k->pub.transport, derived, e) != 0 ||
        s_check_x25519(path, k->pub.kind, "box", s_has_box(k->pub.kind), k->box, k->pub.box, derived, e) != 0)
        goto done;
    /* An Ed25519 secret key is seed || public key: check the stored copy and the one the seed
     * derives, so neither half can be swapped on its own. */
    if (crypto_sign_ed25519_sk_to_pk(derived, k->sign) != 0 ||
        sodium_memcmp(derived, k->pub.sign, ZN_KEY_LEN) != 0 ||
        crypto_sign_seed_keypair(pk2, sk2, k->sign) != 0 ||
        sodium_memcmp(pk2, k->pub.sign, ZN_KEY_LEN) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE, "key file %s: the sign secret key does not match its public key", path);
        goto done;
    }
    rc = 0;
done:
    sodium_memzero(derived, sizeof derived);
    sodium_memzero(sk2, sizeof sk2);
    return rc;
}

int zn_keys_load_secret(const char *path, zn_kind want, zn_seckeys *out, zn_err *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    zn_doc doc;
    const msgpack_object *a = NULL;
    int rc = -1;

    zn_seckeys_wipe(out);
    if (sodium_init() < 0)
        return zn_err_set(e, ZN_E_INTERNAL, "the crypto library could not start");
    if (zn_file_read(path, S_KEYFILE_MAX, ZN_FILE_SECRET, &buf, &len, e) != 0) {
        if (e && e->code == ZN_E_IO)
            e->code = ZN_E_KEY_FILE;
        return -1;
    }
    if (zn_doc_parse(&doc, buf, len, 3, 64) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE, "%s is not a zorgnet secret key file (unreadable)", path);
        goto done;
    }
    if (s_parse_head(&doc.root, S_KEY_MAGIC, 5, path, &a, &out->pub.kind, e) != 0)
        goto done_doc;
    if (s_parse_keymap(&a[3], ZN_KEY_LEN, out->pub.transport, out->pub.box, out->pub.sign) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE,
                   "key file %s: the public keys must be a map of transport, box and sign, 32 bytes each",
                   path);
        goto done_doc;
    }
    if (s_parse_keymap(&a[4], ZN_SIGN_SK_LEN, out->transport, out->box, out->sign) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE,
                   "key file %s: the secret keys must be a map of transport (32 bytes), box (32 bytes) "
                   "and sign (64 bytes)",
                   path);
        goto done_doc;
    }
    if (s_check_pub(&out->pub, path, e) != 0 || s_check_halves(out, path, e) != 0 ||
        s_check_kind(out->pub.kind, want, path, e) != 0)
        goto done_doc;
    rc = 0;
done_doc:
    zn_doc_free(&doc);
done:
    zn_file_free(buf, ZN_FILE_SECRET);
    if (rc != 0)
        zn_seckeys_wipe(out);
    return rc;
}

static char *s_path_with(const char *base, const char *suffix)
{
    size_t a = strlen(base), b = strlen(suffix);
    char *p = malloc(a + b + 1);
    if (p) {
        memcpy(p, base, a);
        memcpy(p + a, suffix, b + 1);
    }
    return p;
}

int zn_keys_write(const char *base, const zn_seckeys *k, zn_err *e)
{
    uint8_t *sec = NULL;
    char *keypath = NULL, *pubpath = NULL;
    msgpack_sbuffer pub;
    msgpack_packer pk;
    struct stat st;
    int rc = -1;

    msgpack_sbuffer_init(&pub);
    if (!base || !*base || !k)
        return zn_err_set(e, ZN_E_USAGE, "no key file name given");
    if (!s_kind_valid((int)k->pub.kind))
        return zn_err_set(e, ZN_E_INTERNAL, "unknown kind of key");
    if (s_check_pub(&k->pub, base, e) != 0 || s_check_halves(k, base, e) != 0)
        return -1;
    keypath = s_path_with(base, ".key");
    pubpath = s_path_with(base, ".pub");
    sec = sodium_malloc(S_KEYFILE_MAX);
    if (!keypath || !pubpath || !sec) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory writing %s.key", base);
        goto done;
    }
    if (lstat(keypath, &st) == 0 || lstat(pubpath, &st) == 0) {
        zn_err_set(e, ZN_E_IO, "%s already exists; refusing to overwrite a key",
                   lstat(keypath, &st) == 0 ? keypath : pubpath);
        goto done;
    }

    s_fixbuf fb = {sec, 0, S_KEYFILE_MAX, false};
    msgpack_packer_init(&pk, &fb, s_fixbuf_write);
    msgpack_pack_array(&pk, 5);
    zn_pack_str(&pk, S_KEY_MAGIC);
    msgpack_pack_uint64(&pk, S_FORMAT_VERSION);
    zn_pack_str(&pk, zn_kind_name(k->pub.kind));
    s_pack_keymap(&pk, k->pub.transport, k->pub.box, k->pub.sign, ZN_KEY_LEN);
    s_pack_keymap(&pk, k->transport, k->box, k->sign, ZN_SIGN_SK_LEN);
    if (fb.overflow) {
        zn_err_set(e, ZN_E_INTERNAL, "secret key encoding does not fit");
        goto done;
    }
    msgpack_packer_init(&pk, &pub, msgpack_sbuffer_write);
    s_pack_pub(&pk, &k->pub);

    if (zn_file_write(keypath, sec, fb.n, 0600, 1, e) != 0)
        goto done;
    if (zn_file_write(pubpath, pub.data, pub.size, 0644, 1, e) != 0) {
        (void)unlink(keypath); /* never leave a secret without its public half */
        goto done;
    }
    rc = 0;
done:
    if (sec)
        sodium_free(sec);
    msgpack_sbuffer_destroy(&pub);
    free(keypath);
    free(pubpath);
    return rc;
}

/* ---- network key files ---- */

int zn_netkey_write(const char *path, const zn_netkey *k, zn_err *e)
{
    uint8_t *sec;
    msgpack_packer pk;
    int rc;

    if (!k || k->epoch < 1 || k->epoch > S_NETKEY_EPOCH_MAX)
        return zn_err_set(e, ZN_E_INTERNAL, "a network key epoch lies between 1 and %u",
                          S_NETKEY_EPOCH_MAX);
    if (sodium_is_zero(k->key, ZN_KEY_LEN))
        return zn_err_set(e, ZN_E_INTERNAL, "refusing to write an all-zero network key");
    sec = sodium_malloc(S_NETKEY_MAX);
    if (!sec)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory writing %s", path);
    s_fixbuf fb = {sec, 0, S_NETKEY_MAX, false};
    msgpack_packer_init(&pk, &fb, s_fixbuf_write);
    msgpack_pack_array(&pk, 4);
    zn_pack_str(&pk, S_NETKEY_MAGIC);
    msgpack_pack_uint64(&pk, S_FORMAT_VERSION);
    msgpack_pack_uint64(&pk, k->epoch);
    zn_pack_bin(&pk, k->key, ZN_KEY_LEN);
    if (fb.overflow)
        rc = zn_err_set(e, ZN_E_INTERNAL, "network key encoding does not fit");
    else
        rc = zn_file_write(path, sec, fb.n, 0600, 1, e);
    sodium_free(sec);
    return rc;
}

int zn_netkey_load(const char *path, zn_netkey *out, zn_err *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    zn_doc doc;
    const msgpack_object *a;
    uint64_t version = 0;
    int rc = -1;

    sodium_memzero(out, sizeof *out);
    if (zn_file_read(path, S_NETKEY_MAX, ZN_FILE_SECRET, &buf, &len, e) != 0) {
        if (e && e->code == ZN_E_IO)
            e->code = ZN_E_KEY_FILE;
        return -1;
    }
    if (zn_doc_parse(&doc, buf, len, 2, 16) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE, "%s is not a zorgnet network key file (unreadable)", path);
        goto done;
    }
    a = zn_obj_array(&doc.root, 4);
    if (!a || !zn_obj_str_eq(&a[0], S_NETKEY_MAGIC)) {
        zn_err_set(e, ZN_E_KEY_FILE, "%s is not a zorgnet network key file", path);
        goto done_doc;
    }
    if (zn_obj_u64(&a[1], &version) != 0 || version != S_FORMAT_VERSION) {
        zn_err_set(e, ZN_E_KEY_FILE, "network key file %s has an unsupported format version", path);
        goto done_doc;
    }
    if (zn_obj_u64(&a[2], &out->epoch) != 0 || out->epoch < 1 || out->epoch > S_NETKEY_EPOCH_MAX) {
        zn_err_set(e, ZN_E_KEY_FILE, "network key file %s: the epoch must lie between 1 and %u", path,
                   S_NETKEY_EPOCH_MAX);
        goto done_doc;
    }
    if (zn_obj_bin_fixed(&a[3], out->key, ZN_KEY_LEN) != 0 || sodium_is_zero(out->key, ZN_KEY_LEN)) {
        zn_err_set(e, ZN_E_KEY_FILE, "network key file %s: the key must be 32 bytes, not all zero", path);
        goto done_doc;
    }
    rc = 0;
done_doc:
    zn_doc_free(&doc);
done:
    zn_file_free(buf, ZN_FILE_SECRET);
    if (rc != 0)
        sodium_memzero(out, sizeof *out);
    return rc;
}

/* ns || m, malloc'd (Ed25519 signs one contiguous message). */
static uint8_t *s_ns_message(const char *ns, const uint8_t *m, size_t n, size_t *len)
{
    size_t k = strlen(ns);
    if (n > SIZE_MAX - k)
        return NULL;
    uint8_t *msg = malloc(k + n ? k + n : 1);
    if (!msg)
        return NULL;
    memcpy(msg, ns, k);
    if (n)
        memcpy(msg + k, m, n);
    *len = k + n;
    return msg;
}

int zn_sign_ns(uint8_t sig[ZN_SIG_LEN], const char *ns, const uint8_t *m, size_t n,
               const uint8_t sk[ZN_SIGN_SK_LEN])
{
    size_t len = 0;
    uint8_t *msg = s_ns_message(ns, m, n, &len);
    int rc = msg && crypto_sign_detached(sig, NULL, msg, len, sk) == 0 ? 0 : -1;
    free(msg);
    return rc;
}

int zn_verify_ns(const uint8_t sig[ZN_SIG_LEN], const char *ns, const uint8_t *m, size_t n,
                 const uint8_t pk[ZN_KEY_LEN])
{
    size_t len = 0;
    uint8_t *msg = s_ns_message(ns, m, n, &len);
    int rc = msg && crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
    free(msg);
    return rc;
}
