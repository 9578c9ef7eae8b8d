/* Unit tests for key files and whole-file I/O: roundtrips for every kind, the 0600 rule, wrong
 * kinds, public halves that do not match the secret halves, truncated and garbled files, network
 * key files, and the atomic, exclusive writes of zn_file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zn_file.h"
#include "zn_keys.h"
#include "zn_wire.h"

/* ------------------------------------------------------------ helpers */

typedef struct {
    char dir[64];
    char path[256];
} fixture;

static int s_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || sodium_init() < 0)
        return -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/zn-test-keys-XXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static const char *s_path(fixture *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

static void s_write_raw(const char *path, const void *p, size_t n, mode_t mode)
{
    FILE *fp;
    (void)unlink(path);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    if (n)
        assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static uint8_t *s_read_raw(const char *path, size_t *n)
{
    uint8_t *buf = NULL;
    zn_err e;
    assert_int_equal(zn_file_read(path, 1u << 20, 0, &buf, n, &e), 0);
    return buf;
}

static mode_t s_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* A secret key file packed by hand, following docs/CONVENANT.md ("Key files"), so the loader is
 * checked against the documented format and not only against its own writer. */
static void s_pack_keymap(msgpack_packer *pk, const uint8_t *t, const uint8_t *b, const uint8_t *s, size_t slen)
{
    msgpack_pack_map(pk, 3);
    zn_pack_str(pk, "transport");
    zn_pack_bin(pk, t, 32);
    zn_pack_str(pk, "box");
    zn_pack_bin(pk, b, 32);
    zn_pack_str(pk, "sign");
    zn_pack_bin(pk, s, slen);
}

static void s_write_keyfile(const char *path, const char *kind, const zn_seckeys *k)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5);
    zn_pack_str(&pk, "zorgnet-key");
    msgpack_pack_uint64(&pk, 1);
    zn_pack_str(&pk, kind);
    s_pack_keymap(&pk, k->pub.transport, k->pub.box, k->pub.sign, 32);
    s_pack_keymap(&pk, k->transport, k->box, k->sign, 64);
    s_write_raw(path, sb.data, sb.size, 0600);
    msgpack_sbuffer_destroy(&sb);
}

static void s_assert_keys_equal(const zn_seckeys *a, const zn_seckeys *b)
{
    assert_int_equal(a->pub.kind, b->pub.kind);
    assert_memory_equal(a->pub.transport, b->pub.transport, 32);
    assert_memory_equal(a->pub.box, b->pub.box, 32);
    assert_memory_equal(a->pub.sign, b->pub.sign, 32);
    assert_memory_equal(a->transport, b->transport, 32);
    assert_memory_equal(a->box, b->box, 32);
    assert_memory_equal(a->sign, b->sign, 64);
}

/* ------------------------------------------------------------ kinds and generation */

static void test_kind_names(void **state)
{
    (void)state;
    zn_kind k;
    assert_int_equal(zn_kind_parse("authority", &k), 0);
    assert_int_equal(k, ZN_KIND_AUTHORITY);
    assert_int_equal(zn_kind_parse("broker", &k), 0);
    assert_int_equal(k, ZN_KIND_BROKER);
    assert_int_equal(zn_kind_parse("partner", &k), 0);
    assert_int_equal(k, ZN_KIND_PARTNER);
    assert_int_equal(zn_kind_parse("Partner", &k), -1);
    assert_int_equal(zn_kind_parse("", &k), -1);
    assert_int_equal(zn_kind_parse(NULL, &k), -1);
    assert_string_equal(zn_kind_name(ZN_KIND_BROKER), "broker");
}

static void test_generate_has_only_the_pairs_of_its_kind(void **state)
{
    (void)state;
    zn_seckeys k;
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &k), 0);
    assert_true(sodium_is_zero(k.pub.transport, 32) && sodium_is_zero(k.transport, 32));
    assert_true(sodium_is_zero(k.pub.box, 32) && sodium_is_zero(k.box, 32));
    assert_false(sodium_is_zero(k.pub.sign, 32));
    assert_int_equal(zn_keys_generate(ZN_KIND_BROKER, &k), 0);
    assert_false(sodium_is_zero(k.pub.transport, 32));
    assert_true(sodium_is_zero(k.pub.box, 32));
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &k), 0);
    assert_false(sodium_is_zero(k.pub.box, 32));
    assert_memory_not_equal(k.pub.box, k.pub.transport, 32); /* kept apart */
    zn_seckeys_wipe(&k);
    assert_true(sodium_is_zero((const uint8_t *)&k, sizeof k));
    assert_int_equal(zn_keys_generate((zn_kind)7, &k), -1);
}

/* ------------------------------------------------------------ roundtrips */

static void test_roundtrip_every_kind(void **state)
{
    fixture *f = *state;
    static const zn_kind kinds[] = {ZN_KIND_AUTHORITY, ZN_KIND_BROKER, ZN_KIND_PARTNER};
    for (size_t i = 0; i < 3; i++) {
        zn_seckeys k, back;
        zn_pubkeys pub;
        zn_err e;
        char base[128], key[160], pubp[160];
        snprintf(base, sizeof base, "%s/k%zu", f->dir, i);
        snprintf(key, sizeof key, "%s.key", base);
        snprintf(pubp, sizeof pubp, "%s.pub", base);
        assert_int_equal(zn_keys_generate(kinds[i], &k), 0);
        assert_int_equal(zn_keys_write(base, &k, &e), 0);
        assert_int_equal(s_mode(key), 0600);
        assert_int_equal(s_mode(pubp), 0644);
        assert_int_equal(zn_keys_load_secret(key, kinds[i], &back, &e), 0);
        s_assert_keys_equal(&k, &back);
        assert_int_equal(zn_keys_load_secret(key, 0, &back, &e), 0); /* any kind */
        assert_int_equal(zn_keys_load_public(pubp, kinds[i], &pub, &e), 0);
        assert_memory_equal(&pub, &k.pub, sizeof pub);

        /* never overwritten: a second write fails and leaves the first keys in place */
        zn_seckeys other;
        assert_int_equal(zn_keys_generate(kinds[i], &other), 0);
        assert_int_equal(zn_keys_write(base, &other, &e), -1);
        assert_non_null(strstr(e.text, "already exists"));
        assert_int_equal(zn_keys_load_secret(key, kinds[i], &back, &e), 0);
        s_assert_keys_equal(&k, &back);
        zn_seckeys_wipe(&k);
        zn_seckeys_wipe(&other);
        zn_seckeys_wipe(&back);
    }
}

static void test_handpacked_file_matches_documented_format(void **state)
{
    fixture *f = *state;
    zn_seckeys k, back;
    zn_err e;
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &k), 0);
    s_write_keyfile(s_path(f, "hand.key"), "partner", &k);
    assert_int_equal(zn_keys_load_secret(f->path, ZN_KIND_PARTNER, &back, &e), 0);
    s_assert_keys_equal(&k, &back);

    /* and the writer produces exactly these bytes */
    size_t n1, n2;
    uint8_t *hand = s_read_raw(s_path(f, "hand.key"), &n1);
    assert_int_equal(zn_keys_write(s_path(f, "gen"), &k, &e), 0);
    uint8_t *gen = s_read_raw(s_path(f, "gen.key"), &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(hand, gen, n1);
    free(hand);
    free(gen);
    zn_seckeys_wipe(&k);
}

/* ------------------------------------------------------------ refusals */

static void test_group_readable_secret_refused(void **state)
{
    fixture *f = *state;
    zn_seckeys k, back;
    zn_err e;
    char key[160];
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &k), 0);
    assert_int_equal(zn_keys_write(s_path(f, "loose"), &k, &e), 0);
    snprintf(key, sizeof key, "%s/loose.key", f->dir);

    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(zn_keys_load_secret(key, ZN_KIND_PARTNER, &back, &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    assert_non_null(strstr(e.text, "0644"));
    assert_non_null(strstr(e.text, "chmod 600"));
    assert_non_null(strstr(e.text, key));
    assert_true(sodium_is_zero((const uint8_t *)&back, sizeof back));

    static const mode_t loose[] = {0640, 0604, 0601, 0610, 0660};
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        assert_int_equal(chmod(key, loose[i]), 0);
        assert_int_equal(zn_keys_load_secret(key, ZN_KIND_PARTNER, &back, &e), -1);
    }
    assert_int_equal(chmod(key, 0400), 0);
    assert_int_equal(zn_keys_load_secret(key, ZN_KIND_PARTNER, &back, &e), 0);
    zn_seckeys_wipe(&k);
    zn_seckeys_wipe(&back);
}

static void test_wrong_kind_refused(void **state)
{
    fixture *f = *state;
    zn_seckeys k, back;
    zn_pubkeys pub;
    zn_err e;
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &k), 0);
    assert_int_equal(zn_keys_write(s_path(f, "auth"), &k, &e), 0);
    assert_int_equal(zn_keys_load_secret(s_path(f, "auth.key"), ZN_KIND_PARTNER, &back, &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    assert_non_null(strstr(e.text, "authority"));
    assert_int_equal(zn_keys_load_public(s_path(f, "auth.pub"), ZN_KIND_BROKER, &pub, &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    /* a public file where a secret one is expected, and the other way round */
    assert_int_equal(zn_keys_load_secret(s_path(f, "auth.pub"), 0, &back, &e), -1);
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(zn_keys_load_secret(s_path(f, "auth.pub"), 0, &back, &e), -1);
    assert_non_null(strstr(e.text, "public key file"));
    assert_int_equal(zn_keys_load_public(s_path(f, "auth.key"), 0, &pub, &e), -1);
    assert_non_null(strstr(e.text, "secret key file"));

    /* a kind name that does not exist, and a kind whose pairs do not match it */
    s_write_keyfile(s_path(f, "odd.key"), "auditor", &k);
    assert_int_equal(zn_keys_load_secret(f->path, 0, &back, &e), -1);
    s_write_keyfile(s_path(f, "odd.key"), "broker", &k); /* a broker needs a transport pair */
    assert_int_equal(zn_keys_load_secret(f->path, 0, &back, &e), -1);
    zn_seckeys_wipe(&k);
}

static void test_mismatched_halves_refused(void **state)
{
    fixture *f = *state;
    zn_seckeys k, other, bad, back;
    zn_err e;
    const char *path = s_path(f, "mix.key");
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &k), 0);
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &other), 0);

    s_write_keyfile(path, "partner", &k);
    assert_int_equal(zn_keys_load_secret(path, ZN_KIND_PARTNER, &back, &e), 0);

    bad = k;
    memcpy(bad.pub.transport, other.pub.transport, 32);
    s_write_keyfile(path, "partner", &bad);
    assert_int_equal(zn_keys_load_secret(path, ZN_KIND_PARTNER, &back, &e), -1);
    assert_non_null(strstr(e.text, "transport"));
    assert_true(sodium_is_zero((const uint8_t *)&back, sizeof back));

    bad = k;
    memcpy(bad.box, other.box, 32);
    s_write_keyfile(path, "partner", &bad);
    assert_int_equal(zn_keys_load_secret(path, ZN_KIND_PARTNER, &back, &e), -1);
    assert_non_null(strstr(e.text, "box"));

    bad = k; /* transport and box swapped: each half is a real key, but not of its pair */
    memcpy(bad.transport, k.box, 32);
    memcpy(bad.box, k.transport, 32);
    s_write_keyfile(path, "partner", &bad);
    assert_int_equal(zn_keys_load_secret(path, ZN_KIND_PARTNER, &back, &e), -1);

    bad = k;
    memcpy(bad.pub.sign, other.pub.sign, 32);
    s_write_keyfile(path, "partner", &bad);
    assert_int_equal(zn_keys_load_secret(path, ZN_KIND_PARTNER, &back, &e), -1);
    assert_non_null(strstr(e.text, "sign"));

    /* Ed25519 sk = seed || pk: another seed with the right pk copy must still be refused */
    bad = k;
    memcpy(bad.sign, other.sign, 32);
    s_write_keyfile(path, "partner", &bad);
    assert_int_equal(zn_keys_load_secret(path, ZN_KIND_PARTNER, &back, &e), -1);

    /* an authority file that carries a transport pair it should not have */
    zn_seckeys a;
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &a), 0);
    memcpy(a.transport, k.transport, 32);
    memcpy(a.pub.transport, k.pub.transport, 32);
    s_write_keyfile(path, "authority", &a);
    assert_int_equal(zn_keys_load_secret(path, 0, &back, &e), -1);

    zn_seckeys_wipe(&a);
    zn_seckeys_wipe(&k);
    zn_seckeys_wipe(&other);
    zn_seckeys_wipe(&bad);
}

static void test_truncated_and_garbled_refused(void **state)
{
    fixture *f = *state;
    zn_seckeys k, back;
    zn_pubkeys pub;
    zn_err e;
    size_t n, pn;
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &k), 0);
    assert_int_equal(zn_keys_write(s_path(f, "good"), &k, &e), 0);
    uint8_t *sec = s_read_raw(s_path(f, "good.key"), &n);
    uint8_t *pb = s_read_raw(s_path(f, "good.pub"), &pn);
    uint8_t *buf = malloc(n + 2);
    assert_non_null(buf);
    const char *path = s_path(f, "bad.key");

    for (size_t len = 0; len < n; len++) {
        s_write_raw(path, sec, len, 0600);
        assert_int_equal(zn_keys_load_secret(path, 0, &back, &e), -1);
    }
    for (size_t len = 0; len < pn; len++) {
        s_write_raw(path, pb, len, 0644);
        assert_int_equal(zn_keys_load_public(path, 0, &pub, &e), -1);
    }
    /* every byte of a secret key file matters: flip each one in turn */
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, sec, n);
        buf[i] ^= 0xff;
        s_write_raw(path, buf, n, 0600);
        if (zn_keys_load_secret(path, 0, &back, &e) == 0)
            fail_msg("a secret key file with byte %zu flipped was accepted", i);
    }
    /* one byte too many, and a file beyond the size limit */
    memcpy(buf, sec, n);
    buf[n] = 0xc0;
    s_write_raw(path, buf, n + 1, 0600);
    assert_int_equal(zn_keys_load_secret(path, 0, &back, &e), -1);
    uint8_t *big = calloc(1, 4096);
    assert_non_null(big);
    s_write_raw(path, big, 4096, 0600);
    assert_int_equal(zn_keys_load_secret(path, 0, &back, &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    /* a missing file */
    assert_int_equal(zn_keys_load_secret(s_path(f, "absent.key"), 0, &back, &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    free(big);
    free(buf);
    free(sec);
    free(pb);
    zn_seckeys_wipe(&k);
}

/* ------------------------------------------------------------ network keys */

static void test_netkey_file(void **state)
{
    fixture *f = *state;
    zn_netkey k = {.epoch = 3}, back;
    zn_err e;
    char path[160];
    randombytes_buf(k.key, sizeof k.key);
    snprintf(path, sizeof path, "%s/n.network.key", f->dir);
    assert_int_equal(zn_netkey_write(path, &k, &e), 0);
    assert_int_equal(s_mode(path), 0600);
    assert_int_equal(zn_netkey_load(path, &back, &e), 0);
    assert_int_equal(back.epoch, 3);
    assert_memory_equal(back.key, k.key, 32);
    /* never replaced */
    assert_int_equal(zn_netkey_write(path, &k, &e), -1);
    /* the same 0600 rule as key files */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(zn_netkey_load(path, &back, &e), -1);
    assert_non_null(strstr(e.text, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);

    zn_netkey zero = {.epoch = 0};
    memcpy(zero.key, k.key, 32);
    assert_int_equal(zn_netkey_write(s_path(f, "e0.key"), &zero, &e), -1);
    zero.epoch = 256;
    assert_int_equal(zn_netkey_write(s_path(f, "e256.key"), &zero, &e), -1);

    /* hand-packed files: epoch out of range, short key, wrong magic */
    struct {
        const char *magic;
        uint64_t epoch;
        size_t keylen;
        int ok;
    } cases[] = {{"zorgnet-netkey", 1, 32, 0},  {"zorgnet-netkey", 0, 32, -1},
                 {"zorgnet-netkey", 256, 32, -1}, {"zorgnet-netkey", 1, 31, -1},
                 {"zorgnet-key", 1, 32, -1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 4);
        zn_pack_str(&pk, cases[i].magic);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, cases[i].epoch);
        zn_pack_bin(&pk, k.key, cases[i].keylen);
        s_write_raw(s_path(f, "hand.network.key"), sb.data, sb.size, 0600);
        msgpack_sbuffer_destroy(&sb);
        assert_int_equal(zn_netkey_load(f->path, &back, &e), cases[i].ok);
    }
    sodium_memzero(&k, sizeof k);
}

/* ------------------------------------------------------------ zn_file */

static void test_file_read_limits(void **state)
{
    fixture *f = *state;
    uint8_t data[100], *buf = NULL;
    size_t n = 0;
    zn_err e;
    memset(data, 'x', sizeof data);
    s_write_raw(s_path(f, "hundred"), data, sizeof data, 0644);
    assert_int_equal(zn_file_read(f->path, 99, 0, &buf, &n, &e), -1);
    assert_null(buf);
    assert_int_equal(zn_file_read(f->path, 100, 0, &buf, &n, &e), 0);
    assert_int_equal(n, 100);
    zn_file_free(buf, 0);
    /* a secret buffer comes from guarded memory and is freed the matching way */
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(zn_file_read(f->path, 100, ZN_FILE_SECRET, &buf, &n, &e), 0);
    zn_file_free(buf, ZN_FILE_SECRET);
    assert_int_equal(chmod(f->path, 0620), 0); /* group-writable is refused too */
    assert_int_equal(zn_file_read(f->path, 100, ZN_FILE_SECRET, &buf, &n, &e), -1);
    assert_int_equal(e.code, ZN_E_KEY_FILE);
    /* not a regular file */
    assert_int_equal(zn_file_read(f->dir, 100, 0, &buf, &n, &e), -1);
    /* empty file */
    s_write_raw(s_path(f, "empty"), data, 0, 0644);
    assert_int_equal(zn_file_read(f->path, 100, 0, &buf, &n, &e), 0);
    assert_int_equal(n, 0);
    zn_file_free(buf, 0);
}

static void test_file_write_atomic_and_exclusive(void **state)
{
    fixture *f = *state;
    zn_err e;
    char path[160], tmp[170];
    size_t n;
    snprintf(path, sizeof path, "%s/out", f->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    mode_t old = umask(077);
    assert_int_equal(zn_file_write(path, "one", 3, 0644, 1, &e), 0);
    umask(old);
    assert_int_equal(s_mode(path), 0644); /* exactly the mode asked for, whatever the umask */
    assert_int_equal(access(tmp, F_OK), -1);

    assert_int_equal(zn_file_write(path, "two", 3, 0644, 1, &e), -1);
    assert_non_null(strstr(e.text, "already exists"));
    uint8_t *b = s_read_raw(path, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "one", 3);
    free(b);

    s_write_raw(tmp, "stale leftover", 14, 0444); /* a stale tmp from a crash */
    assert_int_equal(zn_file_write(path, "three", 5, 0600, 0, &e), 0);
    assert_int_equal(s_mode(path), 0600);
    assert_int_equal(access(tmp, F_OK), -1);
    b = s_read_raw(path, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(b, "three", 5);
    free(b);

    assert_int_equal(zn_file_write(s_path(f, "no/such/dir/x"), "x", 1, 0644, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_generate_has_only_the_pairs_of_its_kind),
        cmocka_unit_test_setup_teardown(test_roundtrip_every_kind, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handpacked_file_matches_documented_format, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_group_readable_secret_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_kind_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_mismatched_halves_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_and_garbled_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_netkey_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_file_read_limits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_file_write_atomic_and_exclusive, s_setup, s_teardown),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
