/* Unit tests for the convenant: sign/decode roundtrip with every field, deterministic encoding,
 * tampering (every byte), the role rules, the sealed network key, policy and date settings,
 * validity windows, the disclosure and decision rules (roundtrip, canonical encoding, setting and
 * clearing, checks), and a body packed by hand after docs/CONVENANT.md with one rule broken at a
 * time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zn_convenant.h"
#include "zn_file.h"

/* ------------------------------------------------------------ fixture */

enum { P_SCHOOL, P_POLICE, P_COORD, P_AUDIT, P_N };

typedef struct {
    zn_seckeys auth, other_auth, broker, part[P_N];
    zn_netkey nk;
} keyring;

static keyring s_kr;

static int s_group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0 || zn_keys_generate(ZN_KIND_AUTHORITY, &s_kr.auth) != 0 ||
        zn_keys_generate(ZN_KIND_AUTHORITY, &s_kr.other_auth) != 0 ||
        zn_keys_generate(ZN_KIND_BROKER, &s_kr.broker) != 0)
        return -1;
    for (int i = 0; i < P_N; i++)
        if (zn_keys_generate(ZN_KIND_PARTNER, &s_kr.part[i]) != 0)
            return -1;
    s_kr.nk.epoch = 2;
    randombytes_buf(s_kr.nk.key, sizeof s_kr.nk.key);
    return 0;
}

static int s_group_teardown(void **state)
{
    (void)state;
    sodium_memzero(&s_kr, sizeof s_kr);
    return 0;
}

static zn_partner *s_add(zn_convenant *c, const char *id, const char *name, const char *cat, int key)
{
    zn_partner *grown = realloc(c->partners, (c->n_partners + 1) * sizeof *grown);
    assert_non_null(grown);
    c->partners = grown;
    zn_partner *p = &c->partners[c->n_partners++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->category, sizeof p->category, "%s", cat);
    p->keys = s_kr.part[key].pub;
    return p;
}

/* networks: 0-12-binnenstad (0), 0-12-thij (1), 12-18 (2).
 * school-essen: partner in 0 and 1; politie: partner in 1 and 2; coordinator: coordinator in all;
 * auditor: auditor only. Every policy number differs from its default. */
static zn_convenant *s_build(void)
{
    zn_convenant *c = zn_convenant_new();
    zn_err e;
    assert_non_null(c);
    snprintf(c->name, sizeof c->name, "Zorgnetwerken Oldenzaal (test, ë)");
    c->version = 7;
    c->valid_from = 1700000000;
    c->valid_until = 1900000000;
    memcpy(c->authority, s_kr.auth.pub.sign, 32);
    memcpy(c->broker_transport, s_kr.broker.pub.transport, 32);
    memcpy(c->broker_sign, s_kr.broker.pub.sign, 32);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:7450");
    c->n_networks = 3;
    snprintf(c->networks[0], ZN_IDENT_MAX, "0-12-binnenstad");
    snprintf(c->networks[1], ZN_IDENT_MAX, "0-12-thij");
    snprintf(c->networks[2], ZN_IDENT_MAX, "12-18");
    zn_partner *p = s_add(c, "school-essen", "Basisschool De Essen", "school", P_SCHOOL);
    p->roles[0] = p->roles[1] = ZN_ROLE_PARTNER;
    p = s_add(c, "politie", "Politie Oost-Nederland", "police", P_POLICE);
    p->roles[1] = p->roles[2] = ZN_ROLE_PARTNER;
    p = s_add(c, "coordinator", "Procesmanager gemeente", "", P_COORD);
    p->roles[0] = p->roles[1] = p->roles[2] = ZN_ROLE_COORDINATOR;
    p = s_add(c, "auditor", "Auditor", "audit", P_AUDIT);
    p->auditor = true;
    for (size_t i = 0; i < zn_policy_ndefs; i++) {
        const zn_policy_def *d = &zn_policy_defs[i];
        char v[32];
        snprintf(v, sizeof v, "%llu", (unsigned long long)(d->def == d->max ? d->min : d->def + 1));
        assert_int_equal(zn_policy_set(&c->policy, d->name, v, &e), 0);
    }
    assert_int_equal(zn_convenant_seal_netkey(c, &s_kr.nk, &e), 0);
    return c;
}

static zn_convenant *s_build_signed(void)
{
    zn_convenant *c = s_build();
    zn_err e;
    if (zn_convenant_sign(c, &s_kr.auth, &e) != 0)
        fail_msg("sign: %s", e.text);
    return c;
}

/* ------------------------------------------------------------ roundtrip */

static void test_roundtrip_every_field(void **state)
{
    (void)state;
    zn_convenant *c = s_build_signed(), *d = NULL;
    zn_err e;
    assert_non_null(c->raw);
    if (zn_convenant_decode(c->raw, c->raw_len, &d, &e) != 0)
        fail_msg("decode: %s", e.text);
    assert_string_equal(d->name, c->name);
    assert_int_equal(d->version, 7);
    assert_int_equal(d->valid_from, 1700000000);
    assert_int_equal(d->valid_until, 1900000000);
    assert_memory_equal(d->authority, s_kr.auth.pub.sign, 32);
    assert_memory_equal(d->broker_transport, s_kr.broker.pub.transport, 32);
    assert_memory_equal(d->broker_sign, s_kr.broker.pub.sign, 32);
    assert_string_equal(d->endpoint, "tcp://127.0.0.1:7450");
    assert_int_equal(d->netkey_epoch, 2);
    assert_int_equal(d->n_networks, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(d->networks[i], c->networks[i]);
    assert_int_equal(d->n_partners, 4);
    for (size_t i = 0; i < 4; i++) {
        const zn_partner *a = &c->partners[i], *b = &d->partners[i];
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->category, b->category);
        assert_int_equal(b->keys.kind, ZN_KIND_PARTNER);
        assert_memory_equal(a->keys.transport, b->keys.transport, 32);
        assert_memory_equal(a->keys.box, b->keys.box, 32);
        assert_memory_equal(a->keys.sign, b->keys.sign, 32);
        assert_memory_equal(a->roles, b->roles, sizeof a->roles);
        assert_int_equal(a->auditor, b->auditor);
        assert_int_equal(a->has_netkey, b->has_netkey);
        assert_memory_equal(a->sealed_netkey, b->sealed_netkey, ZN_SEALED_NETKEY_LEN);
    }
    assert_memory_equal(&d->policy, &c->policy, sizeof d->policy);
    assert_int_equal(d->policy.queue_quota, 10001);
    assert_int_equal(d->raw_len, c->raw_len);
    assert_memory_equal(d->raw, c->raw, c->raw_len);

    /* fixed key order: re-signing what was decoded gives the same bytes */
    assert_int_equal(zn_convenant_sign(d, &s_kr.auth, &e), 0);
    assert_int_equal(d->raw_len, c->raw_len);
    assert_memory_equal(d->raw, c->raw, c->raw_len);

    /* look-ups */
    assert_int_equal(zn_convenant_network(d, "12-18"), 2);
    assert_int_equal(zn_convenant_network(d, "18plus"), -1);
    const zn_partner *p = zn_convenant_partner(d, "politie");
    assert_non_null(p);
    assert_ptr_equal(zn_convenant_partner_by_transport(d, s_kr.part[P_POLICE].pub.transport), p);
    assert_null(zn_convenant_partner_by_transport(d, s_kr.broker.pub.transport));
    assert_null(zn_convenant_partner(d, "ggd"));
    assert_true(zn_partner_has_role(p, 2, ZN_ROLE_PARTNER));
    assert_false(zn_partner_has_role(p, 0, ZN_ROLE_PARTNER));
    assert_false(zn_partner_has_role(p, -1, ZN_ROLE_PARTNER));
    assert_false(zn_partner_has_role(p, ZN_MAX_NETWORKS, ZN_ROLE_PARTNER));
    assert_false(zn_partner_is_coordinator(p));
    assert_true(zn_partner_is_coordinator(zn_convenant_partner(d, "coordinator")));

    zn_convenant_destroy(&c);
    zn_convenant_destroy(&d);
    assert_null(d);
    zn_convenant_destroy(&d); /* safe twice */
}

static void test_save_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/zn-test-conv-XXXXXX", path[64];
    zn_convenant *c = s_build_signed(), *d = NULL;
    zn_err e;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.msgpack", dir);
    assert_int_equal(zn_convenant_save(path, c, &e), 0);
    assert_int_equal(zn_convenant_load(path, &d, &e), 0);
    assert_memory_equal(d->raw, c->raw, c->raw_len);
    zn_convenant_destroy(&d);
    /* an unsigned object cannot be saved */
    zn_convenant *u = zn_convenant_new();
    assert_int_equal(zn_convenant_save(path, u, &e), -1);
    zn_convenant_destroy(&u);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(zn_convenant_load(path, &d, &e), -1);
    assert_null(d);
    assert_int_equal(rmdir(dir), 0);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ tampering */

static void test_every_flipped_byte_refused(void **state)
{
    (void)state;
    zn_convenant *c = s_build_signed(), *d = NULL;
    zn_err e;
    uint8_t *buf = malloc(c->raw_len);
    size_t bad_sig = 0;
    assert_non_null(buf);
    for (size_t i = 0; i < c->raw_len; i++) {
        for (int bit = 0; bit < 8; bit += 7) { /* lowest and highest bit of every byte */
            memcpy(buf, c->raw, c->raw_len);
            buf[i] ^= (uint8_t)(1u << bit);
            if (zn_convenant_decode(buf, c->raw_len, &d, &e) == 0)
                fail_msg("flipping bit %d of byte %zu of %zu was accepted", bit, i, c->raw_len);
            assert_null(d);
            bad_sig += e.code == ZN_E_BAD_SIGNATURE;
        }
    }
    /* most flips inside the body or the signature still parse and must fail the signature */
    assert_true(bad_sig > c->raw_len);
    for (size_t len = 0; len < c->raw_len; len++)
        assert_int_equal(zn_convenant_decode(c->raw, len, &d, &e), -1);
    free(buf);
    zn_convenant_destroy(&c);
}

static void test_signing_needs_the_named_authority(void **state)
{
    (void)state;
    zn_convenant *c = s_build();
    zn_err e;
    assert_int_equal(zn_convenant_sign(c, &s_kr.other_auth, &e), -1);
    assert_null(c->raw);
    assert_int_equal(zn_convenant_sign(c, &s_kr.part[P_SCHOOL], &e), -1);
    assert_null(c->raw);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ role rules */

static void test_coordinator_holds_no_other_role(void **state)
{
    (void)state;
    zn_err e;
    zn_convenant *c = s_build();
    zn_partner *co = &c->partners[2];

    co->roles[1] |= ZN_ROLE_PARTNER; /* coordinator in one network, partner in another: refused */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    assert_non_null(strstr(e.text, "coordinator"));
    co->roles[1] = ZN_ROLE_COORDINATOR;
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), 0);

    co->auditor = true;
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    co->auditor = false;

    co->has_netkey = true; /* a coordinator with a sealed key */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    co->has_netkey = false;

    co->roles[5] = ZN_ROLE_COORDINATOR; /* a network index beyond the list */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    co->roles[5] = 0;

    c->partners[1].roles[1] = 0, c->partners[1].roles[2] = 0; /* no role at all */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    c->partners[1].roles[2] = ZN_ROLE_PARTNER;

    /* duplicate ids and transport keys */
    snprintf(c->partners[1].id, ZN_IDENT_MAX, "school-essen");
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    assert_non_null(strstr(e.text, "twice"));
    snprintf(c->partners[1].id, ZN_IDENT_MAX, "politie");
    memcpy(c->partners[1].keys.transport, c->partners[0].keys.transport, 32);
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    assert_non_null(strstr(e.text, "transport"));
    memcpy(c->partners[1].keys.transport, c->broker_transport, 32);
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    memcpy(c->partners[1].keys.transport, s_kr.part[P_POLICE].pub.transport, 32);
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), 0);

    snprintf(c->networks[2], ZN_IDENT_MAX, "0-12-thij"); /* duplicate network */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    snprintf(c->networks[2], ZN_IDENT_MAX, "12 18"); /* not an identifier */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ network key */

static void test_netkey_sealed_to_partners_and_auditors_only(void **state)
{
    (void)state;
    zn_convenant *c = s_build_signed(), *d = NULL;
    zn_netkey got;
    zn_err e;
    assert_int_equal(zn_convenant_decode(c->raw, c->raw_len, &d, &e), 0);

    static const struct {
        const char *id;
        int key;
        bool has;
    } who[] = {{"school-essen", P_SCHOOL, true}, {"politie", P_POLICE, true},
               {"auditor", P_AUDIT, true},       {"coordinator", P_COORD, false}};
    for (size_t i = 0; i < 4; i++) {
        const zn_partner *p = zn_convenant_partner(d, who[i].id);
        assert_non_null(p);
        assert_int_equal(p->has_netkey, who[i].has);
        int rc = zn_convenant_open_netkey(d, &s_kr.part[who[i].key], who[i].id, &got, &e);
        if (who[i].has) {
            assert_int_equal(rc, 0);
            assert_int_equal(got.epoch, 2);
            assert_memory_equal(got.key, s_kr.nk.key, 32);
        } else {
            assert_int_equal(rc, -1);
            assert_true(sodium_is_zero(got.key, 32));
            assert_true(sodium_is_zero(p->sealed_netkey, ZN_SEALED_NETKEY_LEN));
        }
    }
    /* someone else's keys under a partner's id, an unknown id, a broker key */
    assert_int_equal(zn_convenant_open_netkey(d, &s_kr.part[P_POLICE], "school-essen", &got, &e), -1);
    assert_int_equal(zn_convenant_open_netkey(d, &s_kr.part[P_SCHOOL], "ggd", &got, &e), -1);
    assert_int_equal(zn_convenant_open_netkey(d, &s_kr.broker, "school-essen", &got, &e), -1);
    /* a sealed key that was swapped between partners does not open */
    memcpy(d->partners[0].sealed_netkey, d->partners[1].sealed_netkey, ZN_SEALED_NETKEY_LEN);
    assert_int_equal(zn_convenant_open_netkey(d, &s_kr.part[P_SCHOOL], "school-essen", &got, &e), -1);

    zn_netkey bad = {.epoch = 0};
    assert_int_equal(zn_convenant_seal_netkey(d, &bad, &e), -1);
    zn_convenant_destroy(&c);
    zn_convenant_destroy(&d);
}

/* ------------------------------------------------------------ settings */

static void test_policy_set_ranges(void **state)
{
    (void)state;
    zn_policy p;
    zn_err e;
    zn_policy_defaults(&p);
    assert_int_equal(p.queue_quota, 10000);
    assert_int_equal(p.handover_timeout_h, 72);
    assert_int_equal(zn_policy_set(&p, "queue_quota", "250", &e), 0);
    assert_int_equal(p.queue_quota, 250);
    assert_int_equal(zn_policy_set(&p, "queue_quota", "1000000", &e), 0);
    assert_int_equal(zn_policy_set(&p, "signal_min_lifetime_d", "0", &e), 0); /* min 0 */

    static const char *bad[] = {"0", "1000001", "", "-1", "+5", " 5", "5 ", "1e3", "0x10", "12a",
                                "99999999999999999999", "184467440737095516160"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(zn_policy_set(&p, "queue_quota", bad[i], &e), -1);
        assert_non_null(strstr(e.text, "queue_quota"));
        assert_non_null(strstr(e.text, "1 to 1000000"));
    }
    assert_int_equal(p.queue_quota, 1000000); /* unchanged by the refusals */
    assert_int_equal(zn_policy_set(&p, "request_window_s", "29", &e), -1);
    assert_non_null(strstr(e.text, "30 to 3600"));
    assert_int_equal(zn_policy_set(&p, "no_such_rule", "5", &e), -1);
    assert_non_null(strstr(e.text, "no_such_rule"));
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_policy_set(&p, "queue_quota", NULL, &e), -1);

    /* the table and the struct agree */
    assert_int_equal(zn_policy_ndefs * sizeof(uint64_t), sizeof(zn_policy));
}

static void test_convenant_set_fields_and_dates(void **state)
{
    (void)state;
    zn_convenant *c = zn_convenant_new();
    zn_err e;
    assert_int_equal(zn_convenant_set(c, "valid_from", "2024-02-29", &e), 0);
    assert_int_equal(c->valid_from, 1709164800);
    assert_int_equal(zn_convenant_set(c, "valid_until", "2024-02-29", &e), 0);
    assert_int_equal(c->valid_until, 1709251199);
    assert_int_equal(zn_convenant_set(c, "valid_until", "1970-01-01", &e), 0);
    assert_int_equal(c->valid_until, 86399);
    assert_int_equal(zn_convenant_set(c, "valid_until", "2000-03-01", &e), 0);
    assert_int_equal(c->valid_until, 951955199);
    static const char *bad[] = {"2023-02-29", "2100-02-29", "2024-13-01", "2024-00-10", "2024-04-31",
                                "2024-1-01",  "24-01-01",   "2024/01/01", "1969-12-31", "2024-01-01T",
                                "",           "tomorrow"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(zn_convenant_set(c, "valid_until", bad[i], &e), -1);
        assert_non_null(strstr(e.text, "valid_until"));
    }
    assert_int_equal(zn_convenant_set(c, "valid_from", "2000-02-29", &e), 0); /* 2000 is a leap year */

    assert_int_equal(zn_convenant_set(c, "name", "Zorgnetwerk 18+", &e), 0);
    assert_string_equal(c->name, "Zorgnetwerk 18+");
    assert_int_equal(zn_convenant_set(c, "name", "", &e), -1);
    assert_int_equal(zn_convenant_set(c, "name", "tab\there", &e), -1);
    assert_int_equal(zn_convenant_set(c, "endpoint", "tcp://10.0.0.1:7450", &e), 0);
    assert_string_equal(c->endpoint, "tcp://10.0.0.1:7450");
    assert_int_equal(zn_convenant_set(c, "endpoint", "localhost:7450", &e), -1);
    assert_int_equal(zn_convenant_set(c, "endpoint", "tcp://a b", &e), -1);
    assert_int_equal(zn_convenant_set(c, "handover_timeout_h", "24", &e), 0);
    assert_int_equal(c->policy.handover_timeout_h, 24);
    assert_int_equal(zn_convenant_set(c, "handover_timeout_h", "721", &e), -1);
    assert_int_equal(zn_convenant_set(c, "version", "9", &e), -1);
    zn_convenant_destroy(&c);
}

static void test_check_time_window(void **state)
{
    (void)state;
    zn_convenant *c = s_build_signed();
    zn_err e;
    assert_int_equal(zn_convenant_check_time(c, 1700000000, &e), 0);
    assert_int_equal(zn_convenant_check_time(c, 1800000000, &e), 0);
    assert_int_equal(zn_convenant_check_time(c, 1900000000, &e), 0);
    assert_int_equal(zn_convenant_check_time(c, 1699999999, &e), -1);
    assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
    assert_non_null(strstr(e.text, "not valid before 2023-11-14"));
    assert_int_equal(zn_convenant_check_time(c, 1900000001, &e), -1);
    assert_non_null(strstr(e.text, "expired"));
    assert_non_null(strstr(e.text, "2030-03-17"));

    /* the relation between the two dates is checked when signing */
    c->valid_from = c->valid_until + 1;
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    c->valid_from = 0;
    c->valid_until = 0; /* valid_until is required */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ a body packed by hand */

enum {
    M_NONE = 0,
    M_EXTRA_TOP = 1 << 0,      /* unknown top-level key: ignored */
    M_EXTRA_POLICY = 1 << 1,   /* unknown policy key: ignored */
    M_NO_POLICY = 1 << 2,      /* no policy map: defaults */
    M_POLICY_STR = 1 << 3,     /* a known policy number as text */
    M_POLICY_RANGE = 1 << 4,   /* a known policy number out of range */
    M_PARTNER_EXTRA = 1 << 5,  /* unknown key in a partner map */
    M_DUP_ID = 1 << 6,
    M_DUP_TRANSPORT = 1 << 7,
    M_ROLE_BADNET = 1 << 8,    /* a role in a network not in "networks" */
    M_COORD_PARTNER = 1 << 9,  /* the coordinator also has the partner role */
    M_COORD_NETKEY = 1 << 10,  /* a sealed key for the coordinator */
    M_DUP_TOPKEY = 1 << 11,    /* "name" twice */
    M_NETKEY_SHORT = 1 << 12,
    M_BAD_CATEGORY = 1 << 13,
    M_CTRL_NAME = 1 << 14,
    M_NO_UNTIL = 1 << 15,
    M_DUP_NETWORK = 1 << 16,
    M_ROLE_UNKNOWN = 1 << 17,
    M_AUTH_SHORT = 1 << 18,
    M_VERSION_STR = 1 << 19,
    M_COORD_AUDITOR = 1 << 20,
    M_BROKER_EXTRA = 1 << 21,
};

static void s_hand_partner(msgpack_packer *pk, const char *id, int key, const char *role,
                           const char *net2, bool auditor, bool netkey, unsigned m)
{
    uint8_t sealed[ZN_SEALED_NETKEY_LEN];
    assert_int_equal(crypto_box_seal(sealed, s_kr.nk.key, 32, s_kr.part[key].pub.box), 0);
    msgpack_pack_map(pk, (m & M_PARTNER_EXTRA) ? 10 : 9);
    zn_pack_str(pk, "id");
    zn_pack_str(pk, id);
    zn_pack_str(pk, "name");
    zn_pack_str(pk, (m & M_CTRL_NAME) ? "Name\x07" : "Hand-made entry");
    zn_pack_str(pk, "category");
    zn_pack_str(pk, (m & M_BAD_CATEGORY) ? "School!" : "");
    zn_pack_str(pk, "transport");
    zn_pack_bin(pk, s_kr.part[(m & M_DUP_TRANSPORT) ? P_SCHOOL : key].pub.transport, 32);
    zn_pack_str(pk, "box");
    zn_pack_bin(pk, s_kr.part[key].pub.box, 32);
    zn_pack_str(pk, "sign");
    zn_pack_bin(pk, s_kr.part[key].pub.sign, 32);
    zn_pack_str(pk, "roles");
    if (role) {
        msgpack_pack_map(pk, net2 ? 2 : 1);
        zn_pack_str(pk, "net-a");
        msgpack_pack_array(pk, 1);
        zn_pack_str(pk, role);
        if (net2) {
            zn_pack_str(pk, net2);
            msgpack_pack_array(pk, 1);
            zn_pack_str(pk, "partner");
        }
    } else {
        msgpack_pack_map(pk, 0);
    }
    zn_pack_str(pk, "auditor");
    if (auditor)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    zn_pack_str(pk, "netkey");
    if (netkey)
        zn_pack_bin(pk, sealed, (m & M_NETKEY_SHORT) ? ZN_SEALED_NETKEY_LEN - 1 : ZN_SEALED_NETKEY_LEN);
    else
        msgpack_pack_nil(pk);
    if (m & M_PARTNER_EXTRA) {
        zn_pack_str(pk, "phone");
        zn_pack_str(pk, "0541-000000");
    }
}

/* Disclosure and decision rules in a hand-made body: absent (a file written before the rules
 * existed), valid, or with one thing broken. */
enum {
    HR_ABSENT,
    HR_VALID,
    HR_EMPTY,            /* an empty list and an empty map: no rules */
    HR_DISC_NOT_LIST,
    HR_DISC_SHORT,       /* a rule of three fields */
    HR_DISC_BAD_NAME,    /* a network name that is no identifier */
    HR_DISC_UNKNOWN_NET,
    HR_DISC_BAD_VALUE,   /* "everyone" */
    HR_DISC_VALUE_INT,   /* a number instead of a word */
    HR_DISC_DUP,         /* the same pair in the other order */
    HR_DISC_DUP_DEFAULT, /* the same pair twice, the first all "default" */
    HR_DISC_TOO_MANY,
    HR_DEC_NOT_MAP,
    HR_DEC_UNKNOWN_NET,
    HR_DEC_EMPTY,        /* a network with no categories */
    HR_DEC_NOT_LIST,
    HR_DEC_BAD_CAT,
    HR_DEC_DUP_CAT,
    HR_DEC_TOO_MANY,
    HR_DEC_DUP_NET,
    HR_DUP_TOPKEY,       /* "disclosure" twice */
};

static void s_hand_rule(msgpack_packer *pk, const char *a, const char *b, const char *person, const char *family)
{
    msgpack_pack_array(pk, 4);
    zn_pack_str(pk, a);
    zn_pack_str(pk, b);
    zn_pack_str(pk, person);
    zn_pack_str(pk, family);
}

static void s_hand_disclosure(msgpack_packer *pk, int r)
{
    zn_pack_str(pk, "disclosure");
    switch (r) {
    case HR_EMPTY: msgpack_pack_array(pk, 0); return;
    case HR_DISC_NOT_LIST: zn_pack_str(pk, "net-a net-b partners"); return;
    case HR_DISC_TOO_MANY:
        msgpack_pack_array(pk, ZN_MAX_DISCLOSURE_RULES + 1);
        for (int i = 0; i <= ZN_MAX_DISCLOSURE_RULES; i++)
            s_hand_rule(pk, "net-a", "net-a", "none", "none");
        return;
    case HR_DISC_DUP:
    case HR_DISC_DUP_DEFAULT: {
        msgpack_pack_array(pk, 3);
        s_hand_rule(pk, "net-a", "net-a", "none", "none");
        const char *v = r == HR_DISC_DUP ? "coordinators" : "default";
        s_hand_rule(pk, "net-b", "net-a", v, "default");
        s_hand_rule(pk, "net-a", "net-b", "partners", "none");
        return;
    }
    }
    msgpack_pack_array(pk, 3);
    /* rule 1: the other order of the networks, stored as net-a with net-b */
    if (r == HR_DISC_VALUE_INT) {
        msgpack_pack_array(pk, 4);
        zn_pack_str(pk, "net-b");
        zn_pack_str(pk, "net-a");
        msgpack_pack_uint64(pk, 3);
        zn_pack_str(pk, "default");
    } else {
        s_hand_rule(pk, r == HR_DISC_BAD_NAME ? "Net B" : "net-b", r == HR_DISC_UNKNOWN_NET ? "net-z" : "net-a",
                    r == HR_DISC_BAD_VALUE ? "everyone" : "partners", "default");
    }
    /* rule 2: never matched inside net-a */
    if (r == HR_DISC_SHORT) {
        msgpack_pack_array(pk, 3);
        zn_pack_str(pk, "net-a");
        zn_pack_str(pk, "net-a");
        zn_pack_str(pk, "none");
    } else {
        s_hand_rule(pk, "net-a", "net-a", "none", "none");
    }
    /* rule 3: all default, so it is dropped */
    s_hand_rule(pk, "net-b", "net-b", "default", "default");
}

static void s_hand_categories(msgpack_packer *pk, size_t n, const char *const *cats)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        zn_pack_str(pk, cats[i]);
}

static void s_hand_decision(msgpack_packer *pk, int r)
{
    static const char *const valid_b[] = {"school", "police"}, *const valid_a[] = {"youth-health"};
    zn_pack_str(pk, "decision");
    switch (r) {
    case HR_EMPTY: msgpack_pack_map(pk, 0); return;
    case HR_DEC_NOT_MAP: s_hand_categories(pk, 2, valid_b); return;
    case HR_DEC_DUP_NET:
        msgpack_pack_map(pk, 2);
        zn_pack_str(pk, "net-b");
        s_hand_categories(pk, 2, valid_b);
        zn_pack_str(pk, "net-b");
        s_hand_categories(pk, 1, valid_a);
        return;
    }
    msgpack_pack_map(pk, 2);
    /* net-b before net-a: a reader takes the networks in any order */
    zn_pack_str(pk, r == HR_DEC_UNKNOWN_NET ? "net-z" : "net-b");
    if (r == HR_DEC_EMPTY) {
        s_hand_categories(pk, 0, NULL);
    } else if (r == HR_DEC_NOT_LIST) {
        zn_pack_str(pk, "school");
    } else if (r == HR_DEC_BAD_CAT) {
        static const char *const bad[] = {"school", "Police"};
        s_hand_categories(pk, 2, bad);
    } else if (r == HR_DEC_DUP_CAT) {
        static const char *const dup[] = {"school", "police", "school"};
        s_hand_categories(pk, 3, dup);
    } else if (r == HR_DEC_TOO_MANY) {
        static const char *const many[] = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9",
                                           "c10", "c11", "c12", "c13", "c14", "c15", "c16", "c17"};
        assert_int_equal(sizeof many / sizeof many[0], ZN_MAX_DECISION + 1);
        s_hand_categories(pk, ZN_MAX_DECISION + 1, many);
    } else {
        s_hand_categories(pk, 2, valid_b);
    }
    zn_pack_str(pk, "net-a");
    s_hand_categories(pk, 1, valid_a);
}

/* The whole signed file, with the body packed field by field as docs/CONVENANT.md describes. */
static void s_hand_file(unsigned m, int rules, const zn_seckeys *signer, const char *magic, uint64_t fmt,
                        msgpack_sbuffer *file)
{
    msgpack_sbuffer body;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    size_t top = 10 + ((m & M_EXTRA_TOP) != 0) + ((m & M_DUP_TOPKEY) != 0) - ((m & M_NO_POLICY) != 0) -
                 ((m & M_NO_UNTIL) != 0) + (rules != HR_ABSENT ? 2 : 0) + (rules == HR_DUP_TOPKEY);
    msgpack_pack_map(&pk, top);
    zn_pack_str(&pk, "name");
    zn_pack_str(&pk, "Hand-made convenant");
    if (m & M_DUP_TOPKEY) {
        zn_pack_str(&pk, "name");
        zn_pack_str(&pk, "Another name");
    }
    zn_pack_str(&pk, "version");
    if (m & M_VERSION_STR)
        zn_pack_str(&pk, "3");
    else
        msgpack_pack_uint64(&pk, 3);
    zn_pack_str(&pk, "valid_from");
    msgpack_pack_uint64(&pk, 1000);
    if (!(m & M_NO_UNTIL)) {
        zn_pack_str(&pk, "valid_until");
        msgpack_pack_uint64(&pk, 2000);
    }
    if (m & M_EXTRA_TOP) {
        zn_pack_str(&pk, "future_rules");
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_map(&pk, 1);
        zn_pack_str(&pk, "x");
        msgpack_pack_nil(&pk);
    }
    zn_pack_str(&pk, "authority");
    zn_pack_bin(&pk, s_kr.auth.pub.sign, (m & M_AUTH_SHORT) ? 31 : 32);
    zn_pack_str(&pk, "broker");
    msgpack_pack_map(&pk, (m & M_BROKER_EXTRA) ? 4 : 3);
    zn_pack_str(&pk, "transport");
    zn_pack_bin(&pk, s_kr.broker.pub.transport, 32);
    zn_pack_str(&pk, "sign");
    zn_pack_bin(&pk, s_kr.broker.pub.sign, 32);
    zn_pack_str(&pk, "endpoint");
    zn_pack_str(&pk, "tcp://127.0.0.1:7450");
    if (m & M_BROKER_EXTRA) {
        zn_pack_str(&pk, "backup");
        zn_pack_str(&pk, "tcp://127.0.0.2:7450");
    }
    zn_pack_str(&pk, "netkey_epoch");
    msgpack_pack_uint64(&pk, 2);
    zn_pack_str(&pk, "networks");
    msgpack_pack_array(&pk, (m & M_DUP_NETWORK) ? 3 : 2);
    zn_pack_str(&pk, "net-a");
    zn_pack_str(&pk, "net-b");
    if (m & M_DUP_NETWORK)
        zn_pack_str(&pk, "net-a");
    zn_pack_str(&pk, "partners");
    msgpack_pack_array(&pk, 3);
    s_hand_partner(&pk, "school", P_SCHOOL, (m & M_ROLE_UNKNOWN) ? "teacher" : "partner",
                   (m & M_ROLE_BADNET) ? "net-z" : "net-b", false, true, m & (M_NETKEY_SHORT | M_BAD_CATEGORY | M_CTRL_NAME | M_PARTNER_EXTRA));
    s_hand_partner(&pk, (m & M_DUP_ID) ? "school" : "coord", P_COORD, "coordinator",
                   (m & M_COORD_PARTNER) ? "net-b" : NULL, (m & M_COORD_AUDITOR) != 0,
                   (m & M_COORD_NETKEY) != 0, m & M_DUP_TRANSPORT);
    s_hand_partner(&pk, "audit", P_AUDIT, NULL, NULL, true, true, 0);
    if (!(m & M_NO_POLICY)) {
        zn_pack_str(&pk, "policy");
        msgpack_pack_map(&pk, 2 + ((m & M_EXTRA_POLICY) != 0));
        zn_pack_str(&pk, "queue_quota");
        if (m & M_POLICY_STR)
            zn_pack_str(&pk, "77");
        else
            msgpack_pack_uint64(&pk, (m & M_POLICY_RANGE) ? 0 : 77);
        zn_pack_str(&pk, "retention_days");
        msgpack_pack_uint64(&pk, 365);
        if (m & M_EXTRA_POLICY) {
            zn_pack_str(&pk, "future_rule_h");
            msgpack_pack_uint64(&pk, 99999999);
        }
    }
    if (rules != HR_ABSENT) {
        s_hand_disclosure(&pk, rules);
        s_hand_decision(&pk, rules);
    }
    if (rules == HR_DUP_TOPKEY)
        s_hand_disclosure(&pk, HR_VALID);

    /* sign "zorgnet/v1/convenant" || body */
    size_t ns = strlen("zorgnet/v1/convenant");
    uint8_t *msg = malloc(ns + body.size), sig[64];
    assert_non_null(msg);
    memcpy(msg, "zorgnet/v1/convenant", ns);
    memcpy(msg + ns, body.data, body.size);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, ns + body.size, signer->sign), 0);
    free(msg);

    msgpack_sbuffer_init(file);
    msgpack_packer_init(&pk, file, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    zn_pack_str(&pk, magic);
    msgpack_pack_uint64(&pk, fmt);
    zn_pack_bin(&pk, body.data, body.size);
    zn_pack_bin(&pk, sig, 64);
    msgpack_sbuffer_destroy(&body);
}

static int s_hand_decode_rules(unsigned m, int rules, const zn_seckeys *signer, const char *magic, uint64_t fmt,
                               zn_convenant **out, zn_err *e)
{
    msgpack_sbuffer file;
    s_hand_file(m, rules, signer, magic, fmt, &file);
    int rc = zn_convenant_decode((const uint8_t *)file.data, file.size, out, e);
    msgpack_sbuffer_destroy(&file);
    return rc;
}

static int s_hand_decode(unsigned m, const zn_seckeys *signer, const char *magic, uint64_t fmt,
                         zn_convenant **out, zn_err *e)
{
    return s_hand_decode_rules(m, HR_ABSENT, signer, magic, fmt, out, e);
}

static void test_handmade_body_follows_the_documented_format(void **state)
{
    (void)state;
    zn_convenant *c = NULL;
    zn_netkey nk;
    zn_err e;
    if (s_hand_decode(M_NONE, &s_kr.auth, "zorgnet-convenant", 1, &c, &e) != 0)
        fail_msg("hand-made convenant refused: %s", e.text);
    assert_string_equal(c->name, "Hand-made convenant");
    assert_int_equal(c->version, 3);
    assert_int_equal(c->n_networks, 2);
    assert_int_equal(c->n_partners, 3);
    assert_int_equal(c->policy.queue_quota, 77);
    assert_int_equal(c->policy.retention_days, 365);
    assert_int_equal(c->policy.handover_timeout_h, 72); /* absent: the default */
    const zn_partner *s = zn_convenant_partner(c, "school");
    assert_int_equal(s->roles[0], ZN_ROLE_PARTNER);
    assert_int_equal(s->roles[1], ZN_ROLE_PARTNER);
    assert_string_equal(s->category, "");
    assert_int_equal(zn_convenant_open_netkey(c, &s_kr.part[P_SCHOOL], "school", &nk, &e), 0);
    assert_memory_equal(nk.key, s_kr.nk.key, 32);
    assert_int_equal(zn_convenant_open_netkey(c, &s_kr.part[P_AUDIT], "audit", &nk, &e), 0);
    assert_int_equal(zn_convenant_open_netkey(c, &s_kr.part[P_COORD], "coord", &nk, &e), -1);
    /* written before the rules existed: no rules, the defaults of the policy hold */
    assert_int_equal(c->n_disclosure, 0);
    for (size_t n = 0; n < ZN_MAX_NETWORKS; n++)
        assert_int_equal(c->decision[n].n, 0);
    zn_convenant_destroy(&c);

    /* forward compatibility: unknown top-level and policy keys are ignored; no policy: defaults */
    static const unsigned fine[] = {M_EXTRA_TOP, M_EXTRA_POLICY, M_NO_POLICY, M_EXTRA_TOP | M_EXTRA_POLICY};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        if (s_hand_decode(fine[i], &s_kr.auth, "zorgnet-convenant", 1, &c, &e) != 0)
            fail_msg("mutation %#x refused: %s", fine[i], e.text);
        assert_int_equal(c->policy.queue_quota, (fine[i] & M_NO_POLICY) ? 10000 : 77);
        zn_convenant_destroy(&c);
    }
}

static void test_handmade_body_refusals(void **state)
{
    (void)state;
    zn_convenant *c = NULL;
    zn_err e;
    static const struct {
        unsigned m;
        const char *says;
    } bad[] = {
        {M_POLICY_STR, "queue_quota"},   {M_POLICY_RANGE, "queue_quota"},
        {M_PARTNER_EXTRA, "partner 1"},  {M_DUP_ID, "twice"},
        {M_DUP_TRANSPORT, "transport"},  {M_ROLE_BADNET, "net-z"},
        {M_COORD_PARTNER, "coordinator"}, {M_COORD_NETKEY, "coordinator"},
        {M_COORD_AUDITOR, "coordinator"}, {M_DUP_TOPKEY, "name"},
        {M_NETKEY_SHORT, "netkey"},      {M_BAD_CATEGORY, "category"},
        {M_CTRL_NAME, "name"},           {M_NO_UNTIL, "valid_until"},
        {M_DUP_NETWORK, "net-a"},        {M_ROLE_UNKNOWN, "role"},
        {M_AUTH_SHORT, "authority"},     {M_VERSION_STR, "version"},
        {M_BROKER_EXTRA, "broker"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (s_hand_decode(bad[i].m, &s_kr.auth, "zorgnet-convenant", 1, &c, &e) == 0)
            fail_msg("mutation %#x was accepted", bad[i].m);
        assert_null(c);
        if (!strstr(e.text, bad[i].says))
            fail_msg("mutation %#x: \"%s\" does not mention \"%s\"", bad[i].m, e.text, bad[i].says);
    }
    /* signed by another key than the authority it names */
    assert_int_equal(s_hand_decode(M_NONE, &s_kr.other_auth, "zorgnet-convenant", 1, &c, &e), -1);
    assert_int_equal(e.code, ZN_E_BAD_SIGNATURE);
    /* wrong magic, unknown format version */
    assert_int_equal(s_hand_decode(M_NONE, &s_kr.auth, "zorgnet-konvenant", 1, &c, &e), -1);
    assert_int_equal(s_hand_decode(M_NONE, &s_kr.auth, "zorgnet-convenant", 2, &c, &e), -1);
    assert_non_null(strstr(e.text, "version"));
    /* not msgpack at all, and an empty buffer */
    static const uint8_t junk[] = "not a convenant";
    assert_int_equal(zn_convenant_decode(junk, sizeof junk - 1, &c, &e), -1);
    assert_int_equal(zn_convenant_decode(junk, 0, &c, &e), -1);
    assert_null(c);
}

/* ------------------------------------------------------------ disclosure and decision rules */

static void test_handmade_rules_decode(void **state)
{
    (void)state;
    zn_convenant *c = NULL;
    zn_err e;
    if (s_hand_decode_rules(M_NONE, HR_VALID, &s_kr.auth, "zorgnet-convenant", 1, &c, &e) != 0)
        fail_msg("hand-made rules refused: %s", e.text);
    /* the all-default rule is dropped; the rest is normalised (a <= b) and sorted */
    assert_int_equal(c->n_disclosure, 2);
    assert_int_equal(c->disclosure[0].a, 0);
    assert_int_equal(c->disclosure[0].b, 0);
    assert_int_equal(c->disclosure[0].person, ZN_DISCLOSE_NONE);
    assert_int_equal(c->disclosure[0].family, ZN_DISCLOSE_NONE);
    assert_int_equal(c->disclosure[1].a, 0);
    assert_int_equal(c->disclosure[1].b, 1);
    assert_int_equal(c->disclosure[1].person, ZN_DISCLOSE_PARTNERS);
    assert_int_equal(c->disclosure[1].family, 0);
    assert_int_equal(c->decision[0].n, 1);
    assert_string_equal(c->decision[0].category[0], "youth-health");
    assert_int_equal(c->decision[1].n, 2);
    assert_string_equal(c->decision[1].category[0], "school");
    assert_string_equal(c->decision[1].category[1], "police");
    zn_convenant_destroy(&c);

    /* rules together with unknown keys of a later version */
    assert_int_equal(s_hand_decode_rules(M_EXTRA_TOP, HR_VALID, &s_kr.auth, "zorgnet-convenant", 1, &c, &e), 0);
    assert_int_equal(c->n_disclosure, 2);
    zn_convenant_destroy(&c);
    /* an empty list and an empty map hold no rules */
    assert_int_equal(s_hand_decode_rules(M_NONE, HR_EMPTY, &s_kr.auth, "zorgnet-convenant", 1, &c, &e), 0);
    assert_int_equal(c->n_disclosure, 0);
    assert_int_equal(c->decision[0].n + c->decision[1].n, 0);
    zn_convenant_destroy(&c);
}

static void test_handmade_rules_refused(void **state)
{
    (void)state;
    zn_convenant *c = NULL;
    zn_err e;
    static const struct {
        int r;
        const char *says;
    } bad[] = {
        {HR_DISC_NOT_LIST, "disclosure must be a list"},
        {HR_DISC_SHORT, "disclosure rule 2 must be a list of network, network"},
        {HR_DISC_BAD_NAME, "disclosure rule 1 has an invalid network name"},
        {HR_DISC_UNKNOWN_NET, "names network net-z, which is not in the convenant"},
        {HR_DISC_BAD_VALUE, "disclosure rule 1 (net-b with net-a): person and family must each be default, none"},
        {HR_DISC_VALUE_INT, "disclosure rule 1 (net-b with net-a)"},
        {HR_DISC_DUP, "disclosure rule 3 (net-a with net-b) repeats a pair"},
        {HR_DISC_DUP_DEFAULT, "disclosure rule 3 (net-a with net-b) repeats a pair"},
        {HR_DISC_TOO_MANY, "at most 128 rules"},
        {HR_DEC_NOT_MAP, "decision must be a map"},
        {HR_DEC_UNKNOWN_NET, "decision rule for net-z names a network that is not in the convenant"},
        {HR_DEC_EMPTY, "decision rule for net-b must list 1 to 16"},
        {HR_DEC_NOT_LIST, "decision rule for net-b must list 1 to 16"},
        {HR_DEC_BAD_CAT, "decision rule for net-b has an invalid category at place 2"},
        {HR_DEC_DUP_CAT, "decision rule for net-b names category school twice"},
        {HR_DEC_TOO_MANY, "decision rule for net-b must list 1 to 16"},
        {HR_DEC_DUP_NET, "net-b has two decision rules"},
        {HR_DUP_TOPKEY, "disclosure appears twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (s_hand_decode_rules(M_NONE, bad[i].r, &s_kr.auth, "zorgnet-convenant", 1, &c, &e) == 0)
            fail_msg("rule mutation %d was accepted", bad[i].r);
        assert_null(c);
        assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
        if (!strstr(e.text, bad[i].says))
            fail_msg("rule mutation %d: \"%s\" does not say \"%s\"", bad[i].r, e.text, bad[i].says);
    }
}

static void s_set_ok(zn_convenant *c, const char *key, const char *value)
{
    zn_err e;
    if (zn_convenant_set(c, key, value, &e) != 0)
        fail_msg("%s=%s refused: %s", key, value, e.text);
}

/* The map header of the body in a signed file (0x8a: 10 keys, 0x8c: 12). */
static uint8_t s_body_header(const zn_convenant *c)
{
    /* 94, b1 + 17 bytes of magic, 01, c5 LL LL (bin16), body */
    assert_true(c->raw_len > 24);
    assert_int_equal(c->raw[20], 0xc5);
    return c->raw[23];
}

static void test_rules_roundtrip(void **state)
{
    (void)state;
    zn_convenant *c = s_build(), *d = NULL, *o = NULL;
    zn_err e;

    /* without rules the body keeps its 10 keys: files signed before the rules stay the same */
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), 0);
    assert_int_equal(s_body_header(c), 0x8a);

    s_set_ok(c, "disclosure:12-18:0-12-thij:person", "partners");
    s_set_ok(c, "disclosure:0-12-thij:12-18:family", "none");
    s_set_ok(c, "disclosure:0-12-binnenstad:0-12-binnenstad:family", "partners");
    s_set_ok(c, "disclosure:12-18:0-12-binnenstad:person", "coordinators");
    s_set_ok(c, "decision:12-18", "youth-health,social-work,school");
    s_set_ok(c, "decision:0-12-binnenstad", "school");
    assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), 0);
    assert_int_equal(s_body_header(c), 0x8c);
    if (zn_convenant_decode(c->raw, c->raw_len, &d, &e) != 0)
        fail_msg("decode: %s", e.text);
    assert_int_equal(d->n_disclosure, 3);
    static const zn_disclosure_rule want[] = {
        {0, 0, 0, ZN_DISCLOSE_PARTNERS},
        {0, 2, ZN_DISCLOSE_COORDINATORS, 0},
        {1, 2, ZN_DISCLOSE_PARTNERS, ZN_DISCLOSE_NONE},
    };
    assert_memory_equal(d->disclosure, want, sizeof want);
    assert_memory_equal(c->disclosure, want, sizeof want); /* kept sorted while editing */
    assert_memory_equal(d->decision, c->decision, sizeof d->decision);
    assert_int_equal(d->decision[2].n, 3);
    assert_string_equal(d->decision[2].category[0], "youth-health");
    assert_string_equal(d->decision[2].category[2], "school");
    assert_int_equal(d->decision[1].n, 0);
    /* re-signing what was decoded gives the same bytes */
    assert_int_equal(zn_convenant_sign(d, &s_kr.auth, &e), 0);
    assert_int_equal(d->raw_len, c->raw_len);
    assert_memory_equal(d->raw, c->raw, c->raw_len);

    /* canonical: rules kept in another order, with an all-default rule, encode to the same bytes */
    o = s_build();
    o->version = c->version;
    memcpy(o->decision, c->decision, sizeof o->decision);
    o->disclosure[0] = want[2];
    o->disclosure[1] = (zn_disclosure_rule){2, 2, 0, 0};
    o->disclosure[2] = want[0];
    o->disclosure[3] = want[1];
    o->n_disclosure = 4;
    memcpy(o->partners, c->partners, c->n_partners * sizeof *c->partners); /* the same seals */
    assert_int_equal(zn_convenant_sign(o, &s_kr.auth, &e), 0);
    assert_int_equal(o->raw_len, c->raw_len);
    assert_memory_equal(o->raw, c->raw, c->raw_len);

    /* clearing every rule gives the 10-key body again */
    s_set_ok(d, "disclosure:0-12-binnenstad:0-12-binnenstad:family", "default");
    s_set_ok(d, "disclosure:0-12-binnenstad:12-18:person", "default");
    s_set_ok(d, "disclosure:0-12-thij:12-18:person", "default");
    s_set_ok(d, "disclosure:0-12-thij:12-18:family", "default");
    s_set_ok(d, "decision:12-18", "");
    s_set_ok(d, "decision:0-12-binnenstad", "");
    assert_int_equal(d->n_disclosure, 0);
    assert_int_equal(zn_convenant_sign(d, &s_kr.auth, &e), 0);
    assert_int_equal(s_body_header(d), 0x8a);
    zn_convenant_destroy(&c);
    zn_convenant_destroy(&d);
    zn_convenant_destroy(&o);
}

static void test_rules_set_and_clear(void **state)
{
    (void)state;
    zn_convenant *c = s_build();
    zn_err e;

    /* one rule per pair, whichever order the networks are named in */
    s_set_ok(c, "disclosure:12-18:0-12-thij:person", "partners");
    assert_int_equal(c->n_disclosure, 1);
    s_set_ok(c, "disclosure:0-12-thij:12-18:family", "coordinators");
    assert_int_equal(c->n_disclosure, 1);
    assert_int_equal(c->disclosure[0].a, 1);
    assert_int_equal(c->disclosure[0].b, 2);
    assert_int_equal(c->disclosure[0].person, ZN_DISCLOSE_PARTNERS);
    assert_int_equal(c->disclosure[0].family, ZN_DISCLOSE_COORDINATORS);
    /* back to default half by half: the rule goes when both halves are default */
    s_set_ok(c, "disclosure:12-18:0-12-thij:person", "default");
    assert_int_equal(c->n_disclosure, 1);
    assert_int_equal(c->disclosure[0].person, 0);
    s_set_ok(c, "disclosure:12-18:0-12-thij:family", "default");
    assert_int_equal(c->n_disclosure, 0);
    s_set_ok(c, "disclosure:12-18:0-12-thij:family", "default"); /* no rule: nothing to do */
    assert_int_equal(c->n_disclosure, 0);
    /* inside one network; none */
    s_set_ok(c, "disclosure:12-18:12-18:family", "none");
    s_set_ok(c, "disclosure:0-12-binnenstad:0-12-binnenstad:person", "coordinators");
    assert_int_equal(c->n_disclosure, 2);
    assert_int_equal(c->disclosure[0].a, 0); /* sorted */
    assert_int_equal(c->disclosure[1].a, 2);
    assert_int_equal(c->disclosure[1].family, ZN_DISCLOSE_NONE);

    /* decision rules: set, replace, clear */
    s_set_ok(c, "decision:0-12-thij", "school,youth-health");
    assert_int_equal(c->decision[1].n, 2);
    s_set_ok(c, "decision:0-12-thij", "police");
    assert_int_equal(c->decision[1].n, 1);
    assert_string_equal(c->decision[1].category[0], "police");
    s_set_ok(c, "decision:0-12-thij", "c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16");
    assert_int_equal(c->decision[1].n, ZN_MAX_DECISION);
    s_set_ok(c, "decision:0-12-thij", "");
    assert_int_equal(c->decision[1].n, 0);
    s_set_ok(c, "decision:12-18", "youth-health");

    /* refusals name the key and what it accepts, and change nothing */
    zn_disclosure_rule before[ZN_MAX_DISCLOSURE_RULES];
    zn_decision_rule dbefore[ZN_MAX_NETWORKS];
    memcpy(before, c->disclosure, sizeof before);
    memcpy(dbefore, c->decision, sizeof dbefore);
    static const struct {
        const char *key, *value, *says;
    } bad[] = {
        {"disclosure:12-18:18plus:person", "partners", "network 18plus is not in the convenant"},
        {"disclosure:18plus:12-18:person", "partners", "network 18plus is not in the convenant"},
        {"disclosure:12-18:12-18:person", "everyone", "must be default, none, coordinators or partners"},
        {"disclosure:12-18:12-18:person", "", "must be default, none, coordinators or partners"},
        {"disclosure:12-18:12-18:person", "Partners", "got \"Partners\""},
        {"disclosure:12-18:12-18:child", "none", "disclosure:NET_A:NET_B:person=VALUE"},
        {"disclosure:12-18:person", "none", "disclosure:NET_A:NET_B:family=VALUE"},
        {"disclosure:12-18::person", "none", "disclosure:NET_A:NET_B:person=VALUE"},
        {"disclosure:12-18:12-18:person:x", "none", "disclosure:NET_A:NET_B:person=VALUE"},
        {"disclosure:", "none", "disclosure:NET_A:NET_B:person=VALUE"},
        {"decision:18plus", "school", "network 18plus is not in the convenant"},
        {"decision:", "school", "decision:NET=CATEGORY"},
        {"decision:12-18:x", "school", "decision:NET=CATEGORY"},
        {"decision:12-18", "School", "\"School\" is not a category"},
        {"decision:12-18", "school,,police", "an empty category"},
        {"decision:12-18", "school,", "an empty category"},
        {"decision:12-18", ",school", "an empty category"},
        {"decision:12-18", "school, police", "\" police\" is not a category"},
        {"decision:12-18", "school,police,school", "category school appears twice"},
        {"decision:12-18", "c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17", "at most 16 categories"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (zn_convenant_set(c, bad[i].key, bad[i].value, &e) == 0)
            fail_msg("%s=%s was accepted", bad[i].key, bad[i].value);
        assert_int_equal(e.code, ZN_E_USAGE);
        if (!strstr(e.text, bad[i].says))
            fail_msg("%s=%s: \"%s\" does not say \"%s\"", bad[i].key, bad[i].value, e.text, bad[i].says);
        if (strncmp(bad[i].key, "disclosure:", 11) == 0 || strncmp(bad[i].key, "decision:", 9) == 0)
            assert_non_null(strstr(e.text, bad[i].key));
    }
    assert_memory_equal(c->disclosure, before, sizeof before);
    assert_memory_equal(c->decision, dbefore, sizeof dbefore);
    assert_int_equal(zn_convenant_set(c, "disclosure", "none", &e), -1);
    assert_non_null(strstr(e.text, "disclosure:NET_A:NET_B:person|family")); /* the unknown-key hint */
    zn_convenant_destroy(&c);
}

static void test_rules_at_most_128(void **state)
{
    (void)state;
    zn_convenant *c = zn_convenant_new();
    char key[128];
    zn_err e;
    c->n_networks = ZN_MAX_NETWORKS;
    for (int n = 0; n < ZN_MAX_NETWORKS; n++)
        snprintf(c->networks[n], ZN_IDENT_MAX, "net%02d", n);
    int set = 0;
    for (int a = 0; a < ZN_MAX_NETWORKS && set < ZN_MAX_DISCLOSURE_RULES; a++)
        for (int b = a; b < ZN_MAX_NETWORKS && set < ZN_MAX_DISCLOSURE_RULES; b++, set++) {
            snprintf(key, sizeof key, "disclosure:net%02d:net%02d:person", b, a);
            s_set_ok(c, key, "none");
        }
    assert_int_equal(c->n_disclosure, ZN_MAX_DISCLOSURE_RULES);
    for (size_t i = 1; i < c->n_disclosure; i++) /* sorted by (a, b) */
        assert_true(c->disclosure[i - 1].a < c->disclosure[i].a ||
                    (c->disclosure[i - 1].a == c->disclosure[i].a && c->disclosure[i - 1].b < c->disclosure[i].b));
    assert_int_equal(zn_convenant_set(c, "disclosure:net31:net31:family", "partners", &e), -1);
    assert_non_null(strstr(e.text, "already holds 128 disclosure rules"));
    s_set_ok(c, "disclosure:net31:net31:family", "default"); /* a default needs no room */
    s_set_ok(c, "disclosure:net00:net00:family", "partners"); /* an existing rule can change */
    s_set_ok(c, "disclosure:net00:net00:person", "default");
    s_set_ok(c, "disclosure:net00:net00:family", "default"); /* gone: room for one */
    s_set_ok(c, "disclosure:net31:net31:family", "partners");
    assert_int_equal(c->n_disclosure, ZN_MAX_DISCLOSURE_RULES);
    zn_convenant_destroy(&c);
}

static void test_rules_checked_when_signing(void **state)
{
    (void)state;
    zn_err e;
    static const struct {
        int what;
        const char *says;
    } cases[] = {
        {0, "disclosure rule 1 (12-18 with 0-12-thij) must name the earlier network of the list first"},
        {1, "disclosure rule 1 names a network that is not in the convenant"}, /* b beyond */
        {2, "holds a value other than default"},
        {3, "two disclosure rules for 0-12-thij with 12-18"},
        {4, "more than 128 disclosure rules"},
        {5, "a decision rule belongs to a network that is not in the convenant"},
        {6, "names more than 16 categories"},
        {7, "names category school twice"},
        {8, "invalid category (place 2)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zn_convenant *c = s_build();
        zn_disclosure_rule r = {1, 2, ZN_DISCLOSE_PARTNERS, 0};
        switch (cases[i].what) {
        case 0: r.a = 2, r.b = 1; c->disclosure[c->n_disclosure++] = r; break;
        case 1: r.b = 3; c->disclosure[c->n_disclosure++] = r; break;
        case 2: r.family = 4; c->disclosure[c->n_disclosure++] = r; break;
        case 3: c->disclosure[c->n_disclosure++] = r; c->disclosure[c->n_disclosure++] = r; break;
        case 4: c->n_disclosure = ZN_MAX_DISCLOSURE_RULES + 1; break;
        case 5: c->decision[3] = (zn_decision_rule){.n = 1, .category = {"school"}}; break;
        case 6: c->decision[0].n = ZN_MAX_DECISION + 1; break;
        case 7: c->decision[0] = (zn_decision_rule){.n = 2, .category = {"school", "school"}}; break;
        case 8: c->decision[0] = (zn_decision_rule){.n = 2, .category = {"school", "School"}}; break;
        }
        assert_int_equal(zn_convenant_sign(c, &s_kr.auth, &e), -1);
        assert_null(c->raw);
        assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
        if (!strstr(e.text, cases[i].says))
            fail_msg("case %d: \"%s\" does not say \"%s\"", cases[i].what, e.text, cases[i].says);
        zn_convenant_destroy(&c);
    }
}

/* The file of a signed convenant with one byte of its body changed and the body signed again by
 * the authority: what a careless (or hand-written) tool could produce. */
static void s_resigned(const zn_convenant *c, const char *after, uint8_t from, uint8_t to, msgpack_sbuffer *file)
{
    zn_doc d;
    assert_int_equal(zn_doc_parse(&d, c->raw, c->raw_len, ZN_WIRE_MAX_DEPTH, 100), 0);
    assert_true(d.root.type == MSGPACK_OBJECT_ARRAY && d.root.via.array.size == 4);
    const msgpack_object *a = d.root.via.array.ptr;
    size_t n = a[2].via.bin.size;
    uint8_t *body = malloc(n);
    assert_non_null(body);
    memcpy(body, a[2].via.bin.ptr, n);
    size_t k = strlen(after);
    uint8_t *at = NULL;
    for (size_t i = 0; i + k < n && !at; i++)
        if (memcmp(body + i, after, k) == 0)
            at = body + i;
    assert_non_null(at);
    assert_int_equal(at[k], from);
    at[k] = to;
    size_t ns = strlen("zorgnet/v1/convenant");
    uint8_t *msg = malloc(ns + n), sig[64];
    assert_non_null(msg);
    memcpy(msg, "zorgnet/v1/convenant", ns);
    memcpy(msg + ns, body, n);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, ns + n, s_kr.auth.sign), 0);
    msgpack_packer pk;
    msgpack_sbuffer_init(file);
    msgpack_packer_init(&pk, file, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_object(&pk, a[0]);
    msgpack_pack_object(&pk, a[1]);
    zn_pack_bin(&pk, body, n);
    zn_pack_bin(&pk, sig, 64);
    free(msg);
    free(body);
    zn_doc_free(&d);
}

/* A safety override is reviewed while it stands: override_review_h must lie below
 * override_lifetime_d x 24, checked when signing and when loading. */
static void test_override_review_within_lifetime(void **state)
{
    (void)state;
    zn_err e;
    static const struct {
        const char *lifetime, *review;
        bool ok;
    } cases[] = {
        {"1", "23", true}, {"1", "24", false}, {"1", "48", false}, {"2", "47", true},
        {"14", "48", true}, {"14", "336", false}, {"15", "336", true}, {"90", "336", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zn_convenant *c = s_build();
        assert_int_equal(zn_policy_set(&c->policy, "override_lifetime_d", cases[i].lifetime, &e), 0);
        assert_int_equal(zn_policy_set(&c->policy, "override_review_h", cases[i].review, &e), 0);
        int rc = zn_convenant_sign(c, &s_kr.auth, &e);
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("lifetime %s d, review %s h refused: %s", cases[i].lifetime, cases[i].review, e.text);
        } else {
            assert_int_equal(rc, -1);
            assert_null(c->raw);
            assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
            char says[128];
            snprintf(says, sizeof says, "policy override_review_h (%s hours) must be less than override_lifetime_d "
                     "in hours (%s x 24", cases[i].review, cases[i].lifetime);
            if (!strstr(e.text, says))
                fail_msg("\"%s\" does not say \"%s\"", e.text, says);
        }
        zn_convenant_destroy(&c);
    }
    /* a signed file that breaks the relation does not load: the defaults + 1 of s_build are a
     * lifetime of 15 days and a review time of 49 hours; a lifetime of 1 day breaks it */
    zn_convenant *c = s_build_signed(), *got = NULL;
    assert_int_equal(c->policy.override_lifetime_d, 15);
    assert_int_equal(c->policy.override_review_h, 49);
    msgpack_sbuffer file;
    s_resigned(c, "\xb3override_lifetime_d", 15, 2, &file); /* 48 hours: not more than 49 */
    assert_int_equal(zn_convenant_decode((const uint8_t *)file.data, file.size, &got, &e), -1);
    assert_null(got);
    assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
    assert_non_null(strstr(e.text, "override_review_h (49 hours)"));
    msgpack_sbuffer_destroy(&file);
    s_resigned(c, "\xb3override_lifetime_d", 15, 3, &file); /* 72 hours: fine */
    if (zn_convenant_decode((const uint8_t *)file.data, file.size, &got, &e) != 0)
        fail_msg("refused: %s", e.text);
    assert_int_equal(got->policy.override_lifetime_d, 3);
    zn_convenant_destroy(&got);
    msgpack_sbuffer_destroy(&file);
    zn_convenant_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_field),
        cmocka_unit_test(test_save_and_load),
        cmocka_unit_test(test_every_flipped_byte_refused),
        cmocka_unit_test(test_signing_needs_the_named_authority),
        cmocka_unit_test(test_coordinator_holds_no_other_role),
        cmocka_unit_test(test_netkey_sealed_to_partners_and_auditors_only),
        cmocka_unit_test(test_policy_set_ranges),
        cmocka_unit_test(test_convenant_set_fields_and_dates),
        cmocka_unit_test(test_check_time_window),
        cmocka_unit_test(test_handmade_body_follows_the_documented_format),
        cmocka_unit_test(test_handmade_body_refusals),
        cmocka_unit_test(test_handmade_rules_decode),
        cmocka_unit_test(test_handmade_rules_refused),
        cmocka_unit_test(test_rules_roundtrip),
        cmocka_unit_test(test_rules_set_and_clear),
        cmocka_unit_test(test_rules_at_most_128),
        cmocka_unit_test(test_rules_checked_when_signing),
        cmocka_unit_test(test_override_review_within_lifetime),
    };
    return cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
}
