/* Unit tests for libzorgnet without a real broker: the state file, text and option helpers,
 * opening a client (convenant rollback, authority pin, own entry), local refusals that must
 * happen before anything goes on the network, and the protocol against a small in-process
 * fake broker (CURVE server on loopback) that answers HELLO, CONVENANT_GET, SEND, REQUEST and
 * pushes prepared items: valid, duplicate, forged, tampered, misaddressed, malformed. The fake
 * keeps a real audit log (entries, salts, Merkle tree): WELCOME carries a signed tree head and
 * a consistency proof, ACCEPTED the index of the send's entry, and "receipt" requests get real
 * proofs, so the client's checks of truncated, rewritten and forged logs are exercised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "zn_audit.h"
#include "zn_auditlog.h"
#include "zn_auditreq.h"
#include "zn_case.h"
#include "zn_client_internal.h"
#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_frame.h"
#include "zn_keys.h"
#include "zn_merkle.h"
#include "zn_request.h"
#include "zorgnet.h"

/* ================================================================== fixture */

enum { P_SELF, P_PEER, P_COORD, P_OUT, P__N }; /* P_OUT is in no convenant */
static const char *const s_ids[P__N] = {"school-a", "wijkracht", "mp-coord", "outsider"};

typedef struct {
    char dir[64];
    char conv_path[128];
    char key_path[128]; /* P_SELF's key file */
    zn_seckeys auth, auth2, broker, p[P__N];
} s_env;

static uint64_t s_now_s(void) { return (uint64_t)time(NULL); }

static int64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A signed convenant: networks 0-12-binnenstad and 12-18; school-a partner in 0-12, wijkracht
 * partner in both, mp-coord coordinator in 0-12. */
static zn_convenant *s_conv(const s_env *v, uint64_t version, const zn_seckeys *auth, const char *endpoint)
{
    zn_err e;
    zn_convenant *c = zn_convenant_new();
    assert_non_null(c);
    snprintf(c->name, sizeof c->name, "Convenant Oldenzaal (test)");
    c->version = version;
    c->valid_from = s_now_s() - 3600;
    c->valid_until = s_now_s() + 30 * 86400;
    memcpy(c->authority, auth->pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, v->broker.pub.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, v->broker.pub.sign, ZN_KEY_LEN);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    c->n_networks = 2;
    snprintf(c->networks[0], ZN_IDENT_MAX, "0-12-binnenstad");
    snprintf(c->networks[1], ZN_IDENT_MAX, "12-18");
    c->n_partners = 3;
    c->partners = calloc(3, sizeof *c->partners);
    assert_non_null(c->partners);
    static const char *const names[3] = {"Basisschool De Essen", "Wijkracht", "Maatschappelijk Plein"};
    static const char *const cats[3] = {"school", "social-work", "municipality"};
    for (int i = 0; i < 3; i++) {
        zn_partner *p = &c->partners[i];
        snprintf(p->id, sizeof p->id, "%s", s_ids[i]);
        snprintf(p->name, sizeof p->name, "%s", names[i]);
        snprintf(p->category, sizeof p->category, "%s", cats[i]);
        p->keys = v->p[i].pub;
    }
    c->partners[P_SELF].roles[0] = ZN_ROLE_PARTNER;
    c->partners[P_PEER].roles[0] = ZN_ROLE_PARTNER;
    c->partners[P_PEER].roles[1] = ZN_ROLE_PARTNER;
    c->partners[P_COORD].roles[0] = ZN_ROLE_COORDINATOR;
    if (zn_convenant_sign(c, auth, &e) != 0)
        fail_msg("sign: %s", e.text);
    return c;
}

static void s_save_conv(const s_env *v, uint64_t version, const zn_seckeys *auth, const char *endpoint)
{
    zn_err e;
    zn_convenant *c = s_conv(v, version, auth, endpoint);
    if (zn_convenant_save(v->conv_path, c, &e) != 0)
        fail_msg("save: %s", e.text);
    zn_convenant_destroy(&c);
}

static int s_setup(void **state)
{
    zn_err e;
    s_env *v = calloc(1, sizeof *v);
    assert_non_null(v);
    assert_true(sodium_init() >= 0);
    snprintf(v->dir, sizeof v->dir, "/tmp/zn-client-test-XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    snprintf(v->conv_path, sizeof v->conv_path, "%s/convenant", v->dir);
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &v->auth), 0);
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &v->auth2), 0);
    assert_int_equal(zn_keys_generate(ZN_KIND_BROKER, &v->broker), 0);
    for (int i = 0; i < P__N; i++)
        assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &v->p[i]), 0);
    for (int i = 0; i < P__N; i++) {
        char base[128];
        snprintf(base, sizeof base, "%s/%s", v->dir, s_ids[i]);
        if (zn_keys_write(base, &v->p[i], &e) != 0)
            fail_msg("keys: %s", e.text);
    }
    snprintf(v->key_path, sizeof v->key_path, "%s/%s.key", v->dir, s_ids[P_SELF]);
    s_save_conv(v, 1, &v->auth, "tcp://127.0.0.1:1");
    *state = v;
    return 0;
}

static int s_teardown(void **state)
{
    s_env *v = *state;
    DIR *d = opendir(v->dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char path[512];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", v->dir, de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(v->dir);
    zn_seckeys_wipe(&v->auth);
    zn_seckeys_wipe(&v->auth2);
    zn_seckeys_wipe(&v->broker);
    for (int i = 0; i < P__N; i++)
        zn_seckeys_wipe(&v->p[i]);
    free(v);
    return 0;
}

static zn_client *s_open(const s_env *v, const char *key, const char *broker, zn_err *e)
{
    zn_client_opts o = {
        .convenant_path = v->conv_path,
        .key_path = key,
        .broker = broker,
        .handler = "J. de Vries (IB)",
        .timeout_ms = 2000,
    };
    return zn_client_open(&o, e);
}

/* ================================================================== text and options */

static char *s_capture(void (*fn)(FILE *, const void *, size_t), const void *p, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    fn(f, p, n);
    fclose(f);
    return out;
}

static void s_json_fn(FILE *f, const void *p, size_t n) { zn_json_str(f, p, n); }
static void s_content_fn(FILE *f, const void *p, size_t n) { zn_text_content(f, p, n); }

static void test_utf8(void **state)
{
    (void)state;
    assert_true(zn_utf8_valid((const uint8_t *)"caf\xc3\xa9", 5, false));
    assert_true(zn_utf8_valid((const uint8_t *)"", 0, false));
    assert_false(zn_utf8_valid((const uint8_t *)"a\0b", 3, false));
    assert_true(zn_utf8_valid((const uint8_t *)"a\0b", 3, true));
    assert_false(zn_utf8_valid((const uint8_t *)"\xc0\xaf", 2, true));         /* overlong */
    assert_false(zn_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3, true));     /* surrogate */
    assert_false(zn_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4, true)); /* > U+10FFFF */
    assert_false(zn_utf8_valid((const uint8_t *)"\xe2\x82", 2, true));         /* cut short */
}

static void test_sanitize(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(zn_text_sanitize(out, sizeof out, "a\x1b[2Jb", 6), 6);
    assert_string_equal(out, "a?[2Jb");
    zn_text_sanitize(out, sizeof out, "x\xc2\x85y\xffz", 6); /* C1 NEL, invalid byte */
    assert_string_equal(out, "x?y?z");
    /* cut at a character boundary: 7 x "é" (14 bytes) + "é" does not fit in 15 + NUL */
    zn_text_sanitize(out, sizeof out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 16);
    assert_int_equal(strlen(out), 14);
    assert_true(zn_utf8_valid((const uint8_t *)out, strlen(out), false));
    assert_int_equal(zn_text_sanitize(out, 1, "abc", 3), 0);
    assert_string_equal(out, "");
}

static void test_json_str(void **state)
{
    (void)state;
    char *s = s_capture(s_json_fn, "a\"b\\c\n\t\x01\x7f\xe2\x80\xa8\xc3\xa9", 14);
    assert_string_equal(s, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\\u2028\xc3\xa9\"");
    free(s);
    s = s_capture(s_json_fn, "x\xffy", 3);
    assert_string_equal(s, "\"x\\ufffdy\"");
    free(s);
    s = s_capture(s_json_fn, "", 0);
    assert_string_equal(s, "\"\"");
    free(s);
}

static void test_text_content(void **state)
{
    (void)state;
    char *s = s_capture(s_content_fn, "line 1\n\tok \x1b[31mred\\ \xff\xc3\xa9", 24);
    assert_string_equal(s, "line 1\n\tok \\x1b[31mred\\\\ \\xff\xc3\xa9");
    free(s);
}

static void test_iso_time(void **state)
{
    (void)state;
    char t[ZN_ISO_TIME_LEN];
    zn_iso_time(t, 0);
    assert_string_equal(t, "1970-01-01T00:00:00Z");
    zn_iso_time(t, 1714566896789ull);
    assert_string_equal(t, "2024-05-01T12:34:56Z");
}

static void test_parse_seconds(void **state)
{
    (void)state;
    int ms = -1;
    assert_int_equal(zn_parse_seconds("5", 0, 3600000, &ms), 0);
    assert_int_equal(ms, 5000);
    assert_int_equal(zn_parse_seconds("0.5", 0, 3600000, &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(zn_parse_seconds("2.25", 0, 3600000, &ms), 0);
    assert_int_equal(ms, 2250);
    assert_int_equal(zn_parse_seconds("0", 0, 3600000, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(zn_parse_seconds("0", 10, 3600000, &ms), -1); /* below minimum */
    assert_int_equal(zn_parse_seconds("3601", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds("1.2345", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds("", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds(".5", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds("5.", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds("-1", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds("5s", 0, 3600000, &ms), -1);
    assert_int_equal(zn_parse_seconds("99999999999999999999", 0, 3600000, &ms), -1);
}

static void test_parse_id(void **state)
{
    (void)state;
    uint8_t id[ZN_CLIENT_ID_LEN];
    assert_int_equal(zn_parse_id("000102030405060708090a0B0c0D0e0F", id), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(id[i], i);
    assert_int_equal(zn_parse_id("000102030405060708090a0b0c0d0e0", id), -1);   /* 31 */
    assert_int_equal(zn_parse_id("000102030405060708090a0b0c0d0e0f0", id), -1); /* 33 */
    assert_int_equal(zn_parse_id("000102030405060708090a0b0c0d0e0g", id), -1);
    assert_int_equal(zn_parse_id("00010203 405060708090a0b0c0d0e0f", id), -1);
    assert_int_equal(zn_parse_id(NULL, id), -1);
}

static void test_parse_time(void **state)
{
    (void)state;
    uint64_t ms = 1;
    assert_int_equal(zn_parse_time("2026-01-31T12:34:56Z", &ms), 0);
    assert_int_equal(ms, 1769862896000ull);
    assert_int_equal(zn_parse_time("2024-02-29", &ms), 0); /* a leap day, 00:00 UTC */
    assert_int_equal(ms, 1709164800000ull);
    assert_int_equal(zn_parse_time("2000-03-01T23:59:59Z", &ms), 0);
    assert_int_equal(ms, 951955199000ull);
    assert_int_equal(zn_parse_time("1970-01-01", &ms), 0);
    assert_int_equal(ms, 0);
    static const char *const bad[] = {
        "2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-01-01T24:00:00Z",
        "2026-01-01T12:60:00Z", "2026-01-01T12:00:60Z", "2026-01-01T12:00:00", "2026-1-01",
        "2026-01-01 12:00:00Z", "1969-12-31", "26-01-01", "2026-01-01T12:00:00+01:00", "",
        "2026-01-0a", "yesterday",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (zn_parse_time(bad[i], &ms) == 0)
            fail_msg("'%s' should be refused", bad[i]);
    assert_int_equal(zn_parse_time(NULL, &ms), -1);

    uint64_t v = 0;
    assert_int_equal(zn_parse_u64("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(zn_parse_u64("9223372036854775806", UINT64_C(9223372036854775806), &v), 0);
    assert_int_equal(v, UINT64_C(9223372036854775806));
    assert_int_equal(zn_parse_u64("9223372036854775807", UINT64_C(9223372036854775806), &v), -1);
    assert_int_equal(zn_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
    assert_int_equal(zn_parse_u64("11", 10, &v), -1);
    assert_int_equal(zn_parse_u64("-1", 10, &v), -1);
    assert_int_equal(zn_parse_u64("+1", 10, &v), -1);
    assert_int_equal(zn_parse_u64(" 1", 10, &v), -1);
    assert_int_equal(zn_parse_u64("", 10, &v), -1);
    assert_int_equal(zn_parse_u64("5", 3, &v), -1);
}

static void test_type_filter(void **state)
{
    (void)state;
    zn_type_filter f;
    zn_err e;
    zn_item env = {.kind = ZN_ITEM_KIND_ENVELOPE};
    zn_item dropped = {.kind = ZN_ITEM_KIND_NOTICE};
    zn_item other = {.kind = ZN_ITEM_KIND_NOTICE};
    snprintf(dropped.notice_type, sizeof dropped.notice_type, "envelope-dropped");
    snprintf(other.notice_type, sizeof other.notice_type, "match");

    memset(&f, 0, sizeof f);
    assert_true(zn_type_filter_match(&f, &env)); /* empty filter: everything */
    assert_int_equal(zn_type_filter_parse(&f, "envelope", &e), 0);
    assert_true(zn_type_filter_match(&f, &env));
    assert_false(zn_type_filter_match(&f, &dropped));
    assert_int_equal(zn_type_filter_parse(&f, "envelope-dropped", &e), 0);
    assert_false(zn_type_filter_match(&f, &env));
    assert_true(zn_type_filter_match(&f, &dropped));
    assert_false(zn_type_filter_match(&f, &other));
    assert_int_equal(zn_type_filter_parse(&f, "notice,envelope", &e), 0);
    assert_int_equal(f.n, 2);
    assert_true(zn_type_filter_match(&f, &other));
    assert_true(zn_type_filter_match(&f, &env));
    assert_int_equal(zn_type_filter_parse(&f, "envelope,,notice", &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_type_filter_parse(&f, "Envelope", &e), -1);
    assert_int_equal(zn_type_filter_parse(&f, "", &e), -1);
    assert_int_equal(zn_type_filter_parse(&f, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &e), -1);
}

static void test_args(void **state)
{
    (void)state;
    static const zn_opt_spec specs[] = {{"key", true}, {"json", false}, {"to", true}, {"wait", true}};
    const char *val[4], *pos[4];
    size_t npos = 0;
    zn_err e;

    char *a1[] = {"send", "--key", "k.key", "--to=wijkracht", "file.txt", "--json"};
    assert_int_equal(zn_args_parse(6, a1, specs, 4, val, pos, 4, &npos, &e), 0);
    assert_string_equal(val[0], "k.key");
    assert_string_equal(val[1], "");
    assert_string_equal(val[2], "wijkracht");
    assert_null(val[3]);
    assert_int_equal(npos, 2);
    assert_string_equal(pos[0], "send");
    assert_string_equal(pos[1], "file.txt");

    char *a2[] = {"send", "-", "--", "--json"}; /* "-" and everything after "--" are arguments */
    assert_int_equal(zn_args_parse(4, a2, specs, 4, val, pos, 4, &npos, &e), 0);
    assert_int_equal(npos, 3);
    assert_string_equal(pos[1], "-");
    assert_string_equal(pos[2], "--json");
    assert_null(val[1]);

    char *a3[] = {"inbox", "--bogus"};
    assert_int_equal(zn_args_parse(2, a3, specs, 4, val, pos, 4, &npos, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    char *a4[] = {"send", "--to"};
    assert_int_equal(zn_args_parse(2, a4, specs, 4, val, pos, 4, &npos, &e), -1);
    char *a5[] = {"send", "--to", "a", "--to", "b"};
    assert_int_equal(zn_args_parse(5, a5, specs, 4, val, pos, 4, &npos, &e), -1);
    char *a6[] = {"inbox", "--json=1"};
    assert_int_equal(zn_args_parse(2, a6, specs, 4, val, pos, 4, &npos, &e), -1);
    char *a7[] = {"inbox", "-j"};
    assert_int_equal(zn_args_parse(2, a7, specs, 4, val, pos, 4, &npos, &e), -1);
    char *a8[] = {"a", "b", "c", "d", "e"};
    assert_int_equal(zn_args_parse(5, a8, specs, 4, val, pos, 4, &npos, &e), -1);
    char *a9[] = {"x", "--ke", "v"}; /* no prefix matching */
    assert_int_equal(zn_args_parse(3, a9, specs, 4, val, pos, 4, &npos, &e), -1);

    /* repeatable options: every value in order, the first also in values[] */
    bool repeat[4] = {false, false, true, false};
    zn_arg_list lists[4];
    char *r1[] = {"signal", "--to", "a", "--key", "k", "--to=b", "x", "--to", "c"};
    assert_int_equal(zn_args_parse_ex(9, r1, specs, 4, repeat, val, lists, pos, 4, &npos, &e), 0);
    assert_int_equal(lists[2].n, 3);
    assert_string_equal(lists[2].v[0], "a");
    assert_string_equal(lists[2].v[1], "b");
    assert_string_equal(lists[2].v[2], "c");
    assert_string_equal(val[2], "a");
    assert_string_equal(val[0], "k");
    assert_int_equal(npos, 2);
    char *r2[] = {"signal", "--key", "k", "--key", "l"}; /* not repeatable */
    assert_int_equal(zn_args_parse_ex(5, r2, specs, 4, repeat, val, lists, pos, 4, &npos, &e), -1);
    char *r3[ZN_ARGS_REPEAT_MAX * 2 + 3];
    int n3 = 0;
    r3[n3++] = "signal";
    for (int i = 0; i <= ZN_ARGS_REPEAT_MAX; i++)
        r3[n3++] = "--to", r3[n3++] = "v";
    assert_int_equal(zn_args_parse_ex(n3, r3, specs, 4, repeat, val, lists, pos, 4, &npos, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
}

/* What looks like a BSN in free text: nine digits passing the 11-proef, together or grouped. */
static void test_text_has_bsn(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool bsn;
    } cases[] = {
        {"999990019", true},
        {"bel 999 990 019 voor", true},
        {"9999.90.019", true},
        {"999-990-019", true},
        {"tel:999990019.", true},
        {"999990001", false},          /* fails the 11-proef */
        {"0541-123456", false},        /* a phone number */
        {"06-12345678", false},
        {"1999990019", false},         /* part of a longer number */
        {"9999900190", false},
        {"99999001", false},           /* eight digits */
        {"999  990 019", false},       /* two separators in a row */
        {"j.devries@wijkracht.example", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (zn_text_has_bsn(cases[i].s, strlen(cases[i].s)) != cases[i].bsn)
            fail_msg("zn_text_has_bsn(\"%s\") should be %s", cases[i].s, cases[i].bsn ? "true" : "false");
}

/* --scope: partner ids separated by commas, sorted for the wire, each once. */
static void test_id_list_parse(void **state)
{
    (void)state;
    zn_err e;
    char ids[3][ZN_CLIENT_IDENT_MAX];
    size_t n = 0;
    assert_int_equal(zn_id_list_parse("wijkracht,ggd", "--scope", ids, 3, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "ggd");
    assert_string_equal(ids[1], "wijkracht");
    assert_int_equal(zn_id_list_parse("politie", "--scope", ids, 3, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "politie");
    static const char *const bad[] = {"", ",", "ggd,", ",ggd", "ggd,,politie", "ggd, politie", "GGD",
                                      "ggd,ggd", "a,b,c,d", "-ggd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zn_err_clear(&e);
        if (zn_id_list_parse(bad[i], "--scope", ids, 3, &n, &e) != -1)
            fail_msg("zn_id_list_parse(\"%s\") should fail", bad[i]);
        assert_int_equal(e.code, ZN_E_USAGE);
        assert_non_null(strstr(e.text, "--scope"));
    }
    assert_int_equal(zn_id_list_parse("ggd,ggd", "--scope", ids, 3, &n, &e), -1);
    assert_non_null(strstr(e.text, "'ggd' is given twice"));
    /* a BSN typed into the list is not repeated */
    assert_int_equal(zn_id_list_parse("999990019,999990019", "--scope", ids, 3, &n, &e), -1);
    assert_null(strstr(e.text, "999990019"));
    assert_int_equal(zn_id_list_parse(NULL, "--scope", ids, 3, &n, &e), -1);
}

/* Free text: trimmed, counted in characters (a justification needs 40 of them). */
static void test_text_trim_chars(void **state)
{
    (void)state;
    size_t start = 99;
    const char *t = " \t zorgen over veiligheid \r\n";
    size_t n = zn_text_trim(t, strlen(t), &start);
    assert_int_equal(start, 3);
    assert_int_equal(n, strlen("zorgen over veiligheid"));
    assert_memory_equal(t + start, "zorgen over veiligheid", n);
    assert_int_equal(zn_text_trim("   ", 3, &start), 0);
    assert_int_equal(zn_text_trim("", 0, &start), 0);
    assert_int_equal(zn_text_trim("a", 1, &start), 1);
    assert_int_equal(start, 0);
    assert_int_equal(zn_utf8_chars("abc", 3), 3);
    assert_int_equal(zn_utf8_chars("\xc3\xa9\xc3\xa9n", 5), 3);        /* "één" */
    assert_int_equal(zn_utf8_chars("\xe2\x82\xac 5", 5), 3);           /* "€ 5" */
    assert_int_equal(zn_utf8_chars("\xf0\x9f\x99\x82", 4), 1);        /* one emoji */
    assert_int_equal(zn_utf8_chars("", 0), 0);
}

/* The anonymous-mode findings as "kind: text" lines; ordinary numbers pass. */
static void test_client_identifiers(void **state)
{
    (void)state;
    char out[512];
    const char *t = "Moeder belt 06-12345678, BSN 999990019, mail ouder@example.nl.";
    assert_int_equal(zn_client_identifiers(t, strlen(t), out, sizeof out), 3);
    assert_string_equal(out, "phone number: 06-12345678\nBSN: 999990019\ne-mail address: ouder@example.nl\n");
    const char *ok = "Groep 7, sinds 2015, EUR 1.250,00 schuld, 14:30 gesprek, 999990001";
    assert_int_equal(zn_client_identifiers(ok, strlen(ok), out, sizeof out), 0);
    assert_string_equal(out, "");
    /* a small buffer keeps whole lines only; the count is still all */
    char small[24];
    assert_int_equal(zn_client_identifiers(t, strlen(t), small, sizeof small), 3);
    assert_string_equal(small, "BSN: 999990019\n");
    assert_int_equal(zn_client_identifiers(t, strlen(t), NULL, 0), 3);
    /* more findings than one round of the scanner */
    char many[40 * 12 + 1];
    size_t k = 0;
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(many + k, sizeof many - k, "999990019. ");
    assert_int_equal(zn_client_identifiers(many, k, NULL, 0), 40);
}

/* BSN checks before anything is sent: the 11-proef, no repeats, at most 16 related. */
static void test_check_bsns(void **state)
{
    (void)state;
    zn_err e;
    const char *rel[ZN_CLIENT_RELATED_MAX + 1];
    rel[0] = "999990020";
    rel[1] = "999990032";
    assert_int_equal(zn_client_check_bsns("999990019", "the person's BSN", rel, 2, &e), 0);
    assert_int_equal(zn_client_check_bsns("999990019", "the person's BSN", NULL, 0, &e), 0);
    assert_int_equal(zn_client_check_bsns("999990001", "the person's BSN", NULL, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_string_equal(e.text, "the person's BSN 999990001 fails the 11-proef; nothing was sent");
    assert_int_equal(zn_client_check_bsns("12345", "the person's BSN", NULL, 0, &e), -1);
    assert_non_null(strstr(e.text, "is not nine digits"));
    rel[1] = "999990001";
    assert_int_equal(zn_client_check_bsns("999990019", "the person's BSN", rel, 2, &e), -1);
    assert_string_equal(e.text, "related BSN 999990001 fails the 11-proef; nothing was sent");
    rel[1] = "999990019";
    assert_int_equal(zn_client_check_bsns("999990019", "the person's BSN", rel, 2, &e), -1);
    assert_non_null(strstr(e.text, "the person's own BSN"));
    rel[1] = "999990020";
    assert_int_equal(zn_client_check_bsns("999990019", "the person's BSN", rel, 2, &e), -1);
    assert_non_null(strstr(e.text, "are the same"));
    for (int i = 0; i <= ZN_CLIENT_RELATED_MAX; i++)
        rel[i] = "999990020";
    assert_int_equal(zn_client_check_bsns("999990019", "the person's BSN", rel, ZN_CLIENT_RELATED_MAX + 1, &e), -1);
    assert_non_null(strstr(e.text, "at most 16"));
}

/* ================================================================== state file */

static void test_state_file(void **state)
{
    s_env *v = *state;
    char path[160];
    zn_state *s = NULL;
    zn_err e;
    uint64_t hi = 99;
    bool seen = true;
    uint8_t m1[16], m2[16];
    memset(m1, 1, sizeof m1);
    memset(m2, 2, sizeof m2);
    snprintf(path, sizeof path, "%s/x.state", v->dir);

    assert_int_equal(zn_state_open(path, &s, &e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(zn_state_highest(s, &hi, &e), 0);
    assert_int_equal(hi, 0);

    /* versions: record 3; 2 is refused, 3 and 4 pass; another authority is refused */
    assert_int_equal(zn_state_check_convenant(s, 3, v->auth.pub.sign, "the file", &e), 0);
    assert_int_equal(zn_state_record_convenant(s, 3, v->auth.pub.sign, &e), 0);
    assert_int_equal(zn_state_check_convenant(s, 2, v->auth.pub.sign, "the file", &e), -1);
    assert_int_equal(e.code, ZN_E_CONVENANT_OLD);
    assert_non_null(strstr(e.text, "version 2, older than version 3"));
    assert_int_equal(zn_state_check_convenant(s, 3, v->auth.pub.sign, "the file", &e), 0);
    assert_int_equal(zn_state_check_convenant(s, 4, v->auth.pub.sign, "the file", &e), 0);
    assert_int_equal(zn_state_check_convenant(s, 4, v->auth2.pub.sign, "the file", &e), -1);
    assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
    /* recording a lower version never lowers the highest */
    assert_int_equal(zn_state_record_convenant(s, 2, v->auth.pub.sign, &e), 0);
    assert_int_equal(zn_state_highest(s, &hi, &e), 0);
    assert_int_equal(hi, 3);

    /* seen */
    uint64_t now = s_now_s();
    assert_int_equal(zn_state_is_seen(s, "wijkracht", m1, &seen, &e), 0);
    assert_false(seen);
    assert_int_equal(zn_state_mark_seen(s, "wijkracht", m1, now, &e), 0);
    assert_int_equal(zn_state_mark_seen(s, "wijkracht", m1, now, &e), 0); /* again: kept */
    assert_int_equal(zn_state_is_seen(s, "wijkracht", m1, &seen, &e), 0);
    assert_true(seen);
    assert_int_equal(zn_state_is_seen(s, "school-b", m1, &seen, &e), 0); /* per sender */
    assert_false(seen);
    assert_int_equal(zn_state_mark_seen(s, "wijkracht", m2, now - 91 * 86400, &e), 0);
    zn_state_close(&s);
    assert_null(s);
    zn_state_close(&s); /* twice is fine */

    /* persists; prune drops rows older than 90 days only */
    assert_int_equal(zn_state_open(path, &s, &e), 0);
    assert_int_equal(zn_state_highest(s, &hi, &e), 0);
    assert_int_equal(hi, 3);
    assert_int_equal(zn_state_is_seen(s, "wijkracht", m2, &seen, &e), 0);
    assert_true(seen);
    assert_int_equal(zn_state_prune(s, now, &e), 0);
    assert_int_equal(zn_state_is_seen(s, "wijkracht", m2, &seen, &e), 0);
    assert_false(seen);
    assert_int_equal(zn_state_is_seen(s, "wijkracht", m1, &seen, &e), 0);
    assert_true(seen);
    zn_state_close(&s);
}

static void test_state_private_and_newer_schema(void **state)
{
    s_env *v = *state;
    char path[160];
    zn_state *s = NULL;
    zn_err e;
    struct stat st;
    snprintf(path, sizeof path, "%s/y.state", v->dir);

    /* an existing file readable by others is made private */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(zn_state_open(path, &s, &e), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    zn_state_close(&s);

    /* a schema from a newer client is refused, not overwritten */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(zn_state_open(path, &s, &e), -1);
    assert_null(s);
    assert_int_equal(e.code, ZN_E_IO);
    assert_non_null(strstr(e.text, "newer"));

    /* a directory is no state file */
    snprintf(path, sizeof path, "%s", v->dir);
    assert_int_equal(zn_state_open(path, &s, &e), -1);
}

/* A state file of schema 1 (before the audit log) keeps working: migrated to 2, rows kept. */
static void test_state_migration(void **state)
{
    s_env *v = *state;
    char path[160];
    zn_state *s = NULL;
    zn_err e;
    sqlite3 *db = NULL;
    uint8_t m1[16];
    memset(m1, 0x31, sizeof m1);
    snprintf(path, sizeof path, "%s/old.state", v->dir);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE meta(k TEXT PRIMARY KEY, v);"
                                  "CREATE TABLE seen(sender TEXT NOT NULL, msgid BLOB NOT NULL,"
                                  " at INTEGER NOT NULL, PRIMARY KEY(sender, msgid));"
                                  "CREATE INDEX seen_at ON seen(at);"
                                  "INSERT INTO meta VALUES('convenant_version', 7);"
                                  "INSERT INTO seen VALUES('wijkracht', x'31313131313131313131313131313131', "
                                  "strftime('%s','now'));"
                                  "PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(zn_state_open(path, &s, &e), 0);
    uint64_t hi = 0;
    bool seen = false, found = true;
    assert_int_equal(zn_state_highest(s, &hi, &e), 0);
    assert_int_equal(hi, 7);
    assert_int_equal(zn_state_is_seen(s, "wijkracht", m1, &seen, &e), 0);
    assert_true(seen);
    zn_state_head h, h2, none;
    assert_int_equal(zn_state_get_head(s, &h, &e), 0);
    assert_false(h.have);
    uint64_t idx = 9;
    assert_int_equal(zn_state_sent_index(s, m1, &found, &idx, &e), 0);
    assert_false(found);

    /* a head is stored only over the one the caller checked against */
    memset(&h, 0, sizeof h);
    h.have = true;
    h.head_len = 20;
    memset(h.head, 0xab, h.head_len);
    memset(h.sig, 0xcd, sizeof h.sig);
    memset(h.signer, 0xef, sizeof h.signer);
    memset(&none, 0, sizeof none);
    assert_int_equal(zn_state_put_head(s, &none, &h, s_now_s(), &e), 0);
    h2 = h;
    h2.head[0] = 0x01;
    assert_int_equal(zn_state_put_head(s, &none, &h2, s_now_s(), &e), -1); /* another run came first */
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_int_equal(zn_state_put_head(s, &h, &h2, s_now_s(), &e), 0);
    assert_int_equal(zn_state_get_head(s, &h, &e), 0);
    assert_true(h.have);
    assert_int_equal(h.head_len, 20);
    assert_memory_equal(h.head, h2.head, 20);
    assert_memory_equal(h.signer, h2.signer, 32);

    /* sent: the first index recorded stands; pruned with seen */
    uint64_t now = s_now_s();
    assert_int_equal(zn_state_record_sent(s, m1, 41, now, &e), 0);
    assert_int_equal(zn_state_record_sent(s, m1, 42, now, &e), 0);
    assert_int_equal(zn_state_sent_index(s, m1, &found, &idx, &e), 0);
    assert_true(found);
    assert_int_equal(idx, 41);
    uint8_t m2[16];
    memset(m2, 0x32, sizeof m2);
    assert_int_equal(zn_state_record_sent(s, m2, 5, now - 91 * 86400, &e), 0);
    assert_int_equal(zn_state_prune(s, now, &e), 0);
    assert_int_equal(zn_state_sent_index(s, m2, &found, &idx, &e), 0);
    assert_false(found);
    assert_int_equal(zn_state_sent_index(s, m1, &found, &idx, &e), 0);
    assert_true(found);
    zn_state_close(&s);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), ZN_STATE_SCHEMA);
    sqlite3_finalize(st);
    /* a damaged head row is refused, not taken for "no head yet" */
    assert_int_equal(sqlite3_exec(db, "UPDATE tree_head SET sig = x'00'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(zn_state_open(path, &s, &e), 0);
    assert_int_equal(zn_state_get_head(s, &h, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    zn_state_close(&s);
}

/* ================================================================== opening a client */

static void test_open(void **state)
{
    s_env *v = *state;
    zn_err e;
    zn_client *c = s_open(v, v->key_path, NULL, &e);
    if (!c)
        fail_msg("open: %s", e.text);
    assert_string_equal(zn_client_self(c), "school-a");
    assert_int_equal(zn_client_convenant_version(c), 1);
    assert_int_equal(zn_client_network_count(c), 2);
    assert_string_equal(zn_client_network_name(c, 1), "12-18");
    assert_null(zn_client_network_name(c, 2));
    assert_int_equal(zn_client_partner_count(c), 3);
    zn_partner_info p;
    assert_int_equal(zn_client_partner_get(c, 0, &p), 0);
    assert_string_equal(p.id, "school-a");
    assert_true(p.self);
    assert_false(p.coordinator);
    assert_int_equal(zn_client_partner_get(c, 2, &p), 0);
    assert_true(p.coordinator);
    assert_false(p.self);
    assert_int_equal(zn_client_partner_get(c, 3, &p), -1);
    assert_int_equal(zn_client_partner_roles(c, 1, 1), ZN_CLIENT_ROLE_PARTNER);
    assert_int_equal(zn_client_partner_roles(c, 0, 1), 0);
    assert_int_equal(zn_client_partner_roles(c, 2, 0), ZN_CLIENT_ROLE_COORDINATOR);
    zn_client_close(&c);
    assert_null(c);
    zn_client_close(&c);

    /* the state file sits beside the key, private */
    char path[200];
    struct stat st;
    snprintf(path, sizeof path, "%s.state", v->key_path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* read-only: no key, no self, no network */
    c = s_open(v, NULL, NULL, &e);
    assert_non_null(c);
    assert_null(zn_client_self(c));
    assert_int_equal(zn_client_partner_get(c, 0, &p), 0);
    assert_false(p.self);
    uint8_t id[16];
    assert_int_equal(zn_client_case_new(c, "0-12-binnenstad", id, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    zn_client_close(&c);
}

static void test_open_refusals(void **state)
{
    s_env *v = *state;
    zn_err e;
    char key[160];
    zn_client_opts o = {.convenant_path = v->conv_path, .key_path = v->key_path, .handler = "x"};

    /* a key in no entry of the convenant */
    snprintf(key, sizeof key, "%s/outsider.key", v->dir);
    assert_null(s_open(v, key, NULL, &e));
    assert_int_equal(e.code, ZN_E_NOT_IN_CONVENANT);

    /* bad handler: control characters, too long */
    o.handler = "J. de Vries\n";
    assert_null(zn_client_open(&o, &e));
    assert_int_equal(e.code, ZN_E_USAGE);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    o.handler = longname;
    assert_null(zn_client_open(&o, &e));
    assert_int_equal(e.code, ZN_E_USAGE);
    o.handler = NULL;
    o.convenant_path = NULL;
    assert_null(zn_client_open(&o, &e));
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_null(zn_client_open(NULL, &e));

    /* missing convenant file */
    o.convenant_path = "/nonexistent/convenant";
    assert_null(zn_client_open(&o, &e));
    assert_int_not_equal(e.code, ZN_E_OK);
}

static void test_convenant_rollback(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_save_conv(v, 5, &v->auth, "tcp://127.0.0.1:1");
    zn_client *c = s_open(v, v->key_path, NULL, &e);
    if (!c)
        fail_msg("open: %s", e.text);
    zn_client_close(&c);

    /* an older file is refused once version 5 has been seen */
    s_save_conv(v, 4, &v->auth, "tcp://127.0.0.1:1");
    assert_null(s_open(v, v->key_path, NULL, &e));
    assert_int_equal(e.code, ZN_E_CONVENANT_OLD);
    assert_int_equal(zn_code_class(e.code), ZN_CLASS_VERIFY);
    assert_non_null(strstr(e.text, "version 4, older than version 5"));

    /* a newer one signed by another authority is refused too */
    s_save_conv(v, 6, &v->auth2, "tcp://127.0.0.1:1");
    assert_null(s_open(v, v->key_path, NULL, &e));
    assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);

    /* a newer one by the same authority is accepted and recorded */
    s_save_conv(v, 6, &v->auth, "tcp://127.0.0.1:1");
    c = s_open(v, v->key_path, NULL, &e);
    assert_non_null(c);
    zn_client_close(&c);
    s_save_conv(v, 5, &v->auth, "tcp://127.0.0.1:1");
    assert_null(s_open(v, v->key_path, NULL, &e));
    assert_int_equal(e.code, ZN_E_CONVENANT_OLD);
}

/* Refusals that must come before anything goes on the network: the endpoint points at a port
 * nobody listens on, so touching the network would end in "unreachable" instead. */
static void test_local_refusals(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t case_id[16] = {1}, msgid[16] = {0}, zero[16] = {0};
    zn_client *c = s_open(v, v->key_path, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    int64_t t0 = s_mono_ms();

    assert_int_equal(zn_client_send(c, "nobody", case_id, "hi", 2, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_memory_equal(msgid, zero, 16); /* nothing made, nothing sent */
    assert_int_equal(zn_client_send(c, "Not An Id", case_id, "hi", 2, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, NULL, ZN_CLIENT_CONTENT_MAX + 1, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    static uint8_t big[ZN_CLIENT_CONTENT_MAX + 1];
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, big, sizeof big, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_TOO_LARGE);

    assert_int_equal(zn_client_case_new(c, "18plus", case_id, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_NETWORK);
    assert_int_equal(zn_client_case_new(c, "12-18", case_id, &e), -1); /* school-a: 0-12 only */
    assert_int_equal(e.code, ZN_E_NOT_PARTNER);
    assert_true(s_mono_ms() - t0 < 1000);
    zn_client_close(&c);

    /* no handler: send and case new are usage errors */
    zn_client_opts o = {.convenant_path = v->conv_path, .key_path = v->key_path};
    c = zn_client_open(&o, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, "hi", 2, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_client_case_new(c, "0-12-binnenstad", case_id, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    zn_client_close(&c);

    /* the coordinator may not open cases where it only coordinates */
    char key[160];
    snprintf(key, sizeof key, "%s/mp-coord.key", v->dir);
    c = s_open(v, key, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    assert_int_equal(zn_client_case_new(c, "0-12-binnenstad", case_id, &e), -1);
    assert_int_equal(e.code, ZN_E_NOT_PARTNER);
    zn_client_close(&c);
}

/* The case calls refuse, before anything goes on the network, what the client can judge. */
static void test_case_local_refusals(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t case_id[16] = {1}, id[16] = {2}, msgid[16] = {0};
    zn_client *c = s_open(v, v->key_path, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    int64_t t0 = s_mono_ms();

    /* case new */
    const char *rel[1] = {"999990020"};
    zn_case_opts co = {.network = "0-12-binnenstad", .bsn = NULL, .related = rel, .n_related = 1};
    assert_int_equal(zn_client_case_new_ex(c, &co, case_id, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE); /* related without the person */
    co.bsn = "999990001";
    assert_int_equal(zn_client_case_new_ex(c, &co, case_id, &e), -1);
    assert_string_equal(e.text, "the person's BSN 999990001 fails the 11-proef; nothing was sent");
    co.bsn = "999990019";
    co.network = "18plus";
    assert_int_equal(zn_client_case_new_ex(c, &co, case_id, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_NETWORK);
    assert_int_equal(zn_client_case_link(c, case_id, "999990001", NULL, 0, NULL, 0, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    /* consent: names, scope, capacity, until */
    const char *scope[2] = {"wijkracht", "nobody"};
    zn_consent_opts o = {.state = "granted", .scope = scope, .n_scope = 1, .given_by = "parent",
                         .age_band = "0-11"};
    o.state = "maybe";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    o.state = "none";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    o.state = "granted";
    o.n_scope = 2;
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    scope[1] = "wijkracht";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE); /* named twice */
    o.n_scope = 1;
    o.given_by = "client";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_CAPACITY); /* under 12: a parent, guardian or representative */
    assert_int_equal(zn_code_class(e.code), ZN_CLASS_REFUSED);
    o.age_band = "12-15";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_CAPACITY); /* 12-15: the client and a parent or guardian */
    o.given_by = "client,client";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    o.given_by = "client,parent";
    o.age_band = "11-12";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    o.age_band = "12-15";
    o.until_ms = 1000;
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE); /* until lies in the past */
    o.until_ms = 0;
    o.purpose = "bad\x01text";
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    static char long_text[ZN_CLIENT_SEALED_MAX + 2];
    memset(long_text, 'a', ZN_CLIENT_SEALED_MAX + 1);
    o.purpose = long_text;
    assert_int_equal(zn_client_consent_set(c, case_id, &o, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_non_null(strstr(e.text, "nothing was sent"));

    /* override: recipient, step, justification of at least 40 characters (not bytes) */
    const char *why = "Vermoeden van mishandeling; moeder meldt geweld thuis door partner.";
    assert_int_equal(zn_client_override(c, case_id, "nobody", 3, why, id, NULL, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_int_equal(zn_client_override(c, case_id, "school-a", 3, why, id, NULL, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE); /* not to itself */
    assert_int_equal(zn_client_override(c, case_id, "wijkracht", 0, why, id, NULL, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_client_override(c, case_id, "wijkracht", 6, why, id, NULL, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    /* 39 characters of 2 bytes each (78 bytes) are too few; padding does not count */
    char short_why[256] = "   ";
    for (int i = 0; i < 39; i++)
        strcat(short_why, "\xc3\xa9");
    strcat(short_why, "   \n");
    assert_int_equal(zn_client_override(c, case_id, "wijkracht", 3, short_why, id, NULL, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_non_null(strstr(e.text, "has 39 characters; at least 40"));
    assert_int_equal(zn_client_override(c, case_id, "wijkracht", 3, NULL, id, NULL, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    /* review: coordinators only; handovers: a dossier, a reason */
    assert_int_equal(zn_client_override_review(c, id, true, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_NOT_COORDINATOR);
    assert_int_equal(zn_client_handover_offer(c, case_id, "wijkracht", "", 0, 0, id, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_client_handover_offer(c, case_id, "nobody", "d", 1, 0, id, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_PARTNER);
    assert_int_equal(zn_client_handover_offer(c, case_id, "school-a", "d", 1, 0, id, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_client_handover_decline(c, id, "", &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_client_handover_decline(c, id, " \n ", &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);

    /* send flags: only i-checked is known */
    assert_int_equal(zn_client_send_flags(c, "wijkracht", case_id, "hi", 2, 2, msgid, NULL, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_true(s_mono_ms() - t0 < 1000); /* none of it waited for the (absent) broker */
    zn_client_close(&c);

    /* the coordinator holds no network key and reviews but never records overrides of its own */
    char key[160];
    snprintf(key, sizeof key, "%s/mp-coord.key", v->dir);
    c = s_open(v, key, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    co.network = "0-12-binnenstad";
    assert_int_equal(zn_client_case_new_ex(c, &co, case_id, &e), -1);
    assert_int_equal(e.code, ZN_E_NOT_PARTNER);
    assert_int_equal(zn_client_override_review(c, id, true, "te\x02kst", &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    zn_client_close(&c);
}

static void test_unreachable(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t case_id[16] = {1}, msgid[16] = {0};
    zn_client_opts o = {.convenant_path = v->conv_path, .key_path = v->key_path,
                        .broker = "tcp://127.0.0.1:1", .handler = "J.", .timeout_ms = 300};
    zn_client *c = zn_client_open(&o, &e);
    assert_non_null(c);
    int64_t t0 = s_mono_ms();
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, "hi", 2, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_UNREACHABLE);
    assert_int_equal(zn_code_class(e.code), ZN_CLASS_UNREACHABLE);
    int64_t took = s_mono_ms() - t0;
    assert_true(took >= 250 && took < 3000);
    zn_client_close(&c);

    o.broker = "nonsense://x";
    c = zn_client_open(&o, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    zn_client_close(&c);
}

/* ================================================================== fake broker */

typedef struct {
    uint8_t id[16];
    uint32_t kind;
    uint8_t *bytes;
    size_t len;
} s_fitem;

/* The fake broker's audit log: real entries, salts derived from a seed (so two fakes with the
 * same seed hold the same history, and another seed is a rewritten one), the Merkle tree's
 * stored nodes. */
#define S_LOG_MAX 64
#define S_LOG_LEVELS 7 /* 2^6 = 64 leaves */

typedef struct {
    uint8_t seed;
    size_t n;
    uint8_t d[S_LOG_MAX][32];
    uint8_t salt[S_LOG_MAX][32];
    uint8_t *entry[S_LOG_MAX]; /* NULL: redacted */
    size_t entry_len[S_LOG_MAX];
    uint8_t node[S_LOG_LEVELS][S_LOG_MAX][32];
    bool have[S_LOG_LEVELS][S_LOG_MAX];
    zn_merkle_frontier fr;
} s_log;

static int s_log_get(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
    s_log *l = ctx;
    if (level >= S_LOG_LEVELS || index >= S_LOG_MAX || !l->have[level][index])
        return -1;
    memcpy(out, l->node[level][index], 32);
    return 0;
}

static int s_log_emit(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
    s_log *l = ctx;
    if (level >= S_LOG_LEVELS || index >= S_LOG_MAX)
        return -1;
    memcpy(l->node[level][index], hash, 32);
    l->have[level][index] = true;
    return 0;
}

/* Append an entry (action, actor, evidence optional); returns its index. */
static uint64_t s_log_append(s_log *l, const char *action, const char *actor, const char *counterpart,
                             const uint8_t *ev, size_t ev_len, const uint8_t *ev_sig)
{
    zn_err e;
    zn_audit_entry en;
    msgpack_sbuffer b;
    assert_true(l->n < S_LOG_MAX);
    memset(&en, 0, sizeof en);
    en.index = l->n;
    en.time_ms = 1767225590000ull + l->n;
    en.actor = actor;
    en.handler = actor ? "J. de Vries (IB)" : NULL;
    en.action = action;
    en.counterpart = counterpart;
    en.decision = ZN_AUDIT_ALLOWED;
    if (ev) {
        en.evidence_kind = "envelope-header";
        en.evidence = ev;
        en.evidence_len = ev_len;
        en.evidence_sig = ev_sig;
    }
    msgpack_sbuffer_init(&b);
    if (zn_audit_entry_encode(&b, &en, &e) != 0)
        fail_msg("entry: %s", e.text);
    size_t i = l->n;
    uint8_t seedin[2] = {l->seed, (uint8_t)i};
    crypto_hash_sha256(l->salt[i], seedin, sizeof seedin);
    l->entry[i] = (uint8_t *)b.data;
    l->entry_len[i] = b.size;
    zn_audit_commit(l->d[i], l->salt[i], l->entry[i], l->entry_len[i]);
    uint8_t leaf[32];
    zn_merkle_leaf_hash(leaf, l->d[i], 32);
    assert_int_equal(zn_merkle_append(&l->fr, leaf, s_log_emit, l), 0);
    l->n++;
    return i;
}

static void s_log_init(s_log *l, uint8_t seed, size_t n)
{
    memset(l, 0, sizeof *l);
    l->seed = seed;
    zn_merkle_frontier_init(&l->fr);
    for (size_t i = 0; i < n; i++)
        s_log_append(l, i == 0 ? "convenant-load" : "hello", i == 0 ? NULL : "wijkracht", NULL, NULL, 0, NULL);
}

static void s_log_free(s_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->entry[i]);
    memset(l, 0, sizeof *l);
}

/* The signed head of the first `size` entries, signed with `signer`. */
static void s_log_head(s_log *l, uint64_t size, const zn_seckeys *signer, msgpack_sbuffer *head,
                       uint8_t sig[64])
{
    zn_err e;
    zn_tree_head th;
    th.size = size;
    th.time_ms = 1767225600000ull + size;
    assert_int_equal(zn_merkle_root(s_log_get, l, size, th.root), 0);
    if (zn_tree_head_sign(head, sig, &th, signer, &e) != 0)
        fail_msg("head: %s", e.text);
}

typedef struct {
    /* set before s_fake_start */
    const zn_seckeys *keys;
    char partner[ZN_IDENT_MAX];
    uint64_t version;
    uint8_t *conv_raw;
    size_t conv_len;
    s_fitem items[16];
    size_t n_items;
    bool deny;
    bool silent;
    zn_code send_error;
    bool bye_on_hello;
    const uint8_t *req_sign_pk;
    s_log log;
    uint64_t head_size;          /* the size of the heads it signs; 0: the whole log */
    const zn_seckeys *head_keys; /* who signs heads; NULL: keys */
    bool bad_consistency;        /* flip a bit in every consistency proof */
    bool bad_inclusion;          /* flip a bit in every inclusion proof */
    bool tamper_entry;           /* flip a bit in the entry a receipt carries */
    bool redact;                 /* receipts come without entry and salt */
    zn_code receipt_error;       /* answer receipts with this error */
    uint64_t last_known;         /* known_size of the last HELLO or receipt */
    uint64_t read_head_size;     /* an audit-read answers with the head of this size */
    bool case_identified;        /* case-show: the case is identified (else anonymous) */
    zn_code case_show_error;     /* answer case-show with this error (and case_show_text) */
    const char *case_show_text;
    bool withdraw_other_id;      /* answer handover-withdraw naming another handover */
    size_t n_case_show, n_withdraw;
    uint8_t withdrawn[16];       /* the handover id of the last handover-withdraw */
    /* read after s_fake_stop */
    char endpoint[64];
    size_t n_hello, n_send, n_request, n_convget, n_ack, n_zap;
    uint32_t last_window;
    uint8_t acked[32][16];
    uint8_t *sent;
    size_t sent_len;
    bool request_ok;
    /* thread */
    void *ctx, *router, *zap;
    pthread_t th;
    atomic_bool stop;
} s_fake;

static void s_fake_reply(s_fake *f, const zmq_msg_t *rid, const msgpack_sbuffer *b)
{
    zmq_send(f->router, zmq_msg_data((zmq_msg_t *)rid), zmq_msg_size((zmq_msg_t *)rid), ZMQ_SNDMORE);
    zmq_send(f->router, b->data, b->size, 0);
}

static void s_fake_welcome(s_fake *f, msgpack_sbuffer *b, uint32_t corr, uint64_t known);
static void s_fake_case_show(s_fake *f, msgpack_sbuffer *b, uint32_t corr, const zn_request *r);
static void s_fake_receipt(s_fake *f, msgpack_sbuffer *b, uint32_t corr, uint64_t index, uint64_t known);

static void s_fake_frame(s_fake *f, const zmq_msg_t *rid, const uint8_t *p, size_t n)
{
    zn_frame fr;
    zn_err e;
    msgpack_sbuffer b;
    if (zn_frame_parse(p, n, &fr, &e) != 0)
        return;
    msgpack_sbuffer_init(&b);
    switch (fr.type) {
    case ZN_T_HELLO:
        f->n_hello++;
        f->last_window = fr.u.hello.window;
        if (f->silent)
            break;
        if (f->bye_on_hello) {
            zn_frame_bye(&b, ZN_E_NOT_IN_CONVENANT, "partner school-a was removed from the convenant");
            s_fake_reply(f, rid, &b);
            break;
        }
        f->last_known = fr.u.hello.known_size;
        s_fake_welcome(f, &b, fr.corr, fr.u.hello.known_size);
        s_fake_reply(f, rid, &b);
        if (fr.u.hello.window > 0) {
            for (size_t i = 0; i < f->n_items; i++) {
                msgpack_sbuffer_clear(&b);
                zn_frame_deliver(&b, f->items[i].id, f->items[i].kind, f->items[i].bytes, f->items[i].len);
                s_fake_reply(f, rid, &b);
            }
            msgpack_sbuffer_clear(&b);
            zn_frame_idle(&b);
            s_fake_reply(f, rid, &b);
        }
        break;
    case ZN_T_CONVENANT_GET:
        f->n_convget++;
        zn_frame_convenant(&b, fr.corr, f->conv_raw, f->conv_len);
        s_fake_reply(f, rid, &b);
        break;
    case ZN_T_SEND: {
        f->n_send++;
        if (f->send_error != ZN_E_OK) {
            zn_frame_error(&b, fr.corr, f->send_error, "the recipient's queue is full (test)");
            s_fake_reply(f, rid, &b);
            break;
        }
        msgpack_sbuffer eb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&eb);
        msgpack_packer_init(&pk, &eb, msgpack_sbuffer_write);
        zn_envelope_pack(&pk, &fr.u.send.env);
        free(f->sent);
        f->sent = (uint8_t *)eb.data;
        f->sent_len = eb.size;
        uint64_t index = s_log_append(&f->log, "send", fr.u.send.env.h.sender, fr.u.send.env.h.recipient,
                                      fr.u.send.env.header_raw, fr.u.send.env.header_len, fr.u.send.env.sig);
        zn_frame_accepted(&b, fr.corr, fr.u.send.env.h.msgid, false, index);
        s_fake_reply(f, rid, &b);
        break;
    }
    case ZN_T_REQUEST: {
        zn_doc doc;
        zn_request r;
        uint8_t case_id[16];
        f->n_request++;
        if (zn_request_parse(fr.u.request.req, fr.u.request.len, &doc, &r, &e) != 0)
            break;
        if (strcmp(r.kind, "audit-read") == 0) { /* only what=head: one head record */
            zn_doc_free(&doc);
            msgpack_sbuffer head, rec, body;
            uint8_t sig[64];
            msgpack_sbuffer_init(&head), msgpack_sbuffer_init(&rec), msgpack_sbuffer_init(&body);
            s_log_head(&f->log, f->read_head_size, f->keys, &head, sig);
            assert_int_equal(zn_auditlog_enc_head(&rec, (const uint8_t *)head.data, head.size, sig, &e), 0);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
            zn_result_audit_read_begin(&pk, f->log.n, f->read_head_size, 1);
            zn_pack_bin(&pk, rec.data, rec.size);
            zn_frame_result(&b, fr.corr, "audit-read", (const uint8_t *)body.data, body.size);
            s_fake_reply(f, rid, &b);
            msgpack_sbuffer_destroy(&head), msgpack_sbuffer_destroy(&rec), msgpack_sbuffer_destroy(&body);
            break;
        }
        if (strcmp(r.kind, "receipt") == 0) {
            uint64_t index = 0, known = 0;
            f->request_ok = zn_request_verify(fr.u.request.req, fr.u.request.len, fr.u.request.sig,
                                              f->req_sign_pk) == 0 &&
                            zn_body_receipt_parse(r.body, &index, &known, &e) == 0;
            zn_doc_free(&doc);
            f->last_known = known;
            s_fake_receipt(f, &b, fr.corr, index, known);
            s_fake_reply(f, rid, &b);
            break;
        }
        if (strcmp(r.kind, "case-show") == 0) {
            s_fake_case_show(f, &b, fr.corr, &r);
            zn_doc_free(&doc);
            s_fake_reply(f, rid, &b);
            break;
        }
        if (strcmp(r.kind, "handover-withdraw") == 0) {
            f->n_withdraw++;
            f->request_ok = zn_request_verify(fr.u.request.req, fr.u.request.len, fr.u.request.sig,
                                              f->req_sign_pk) == 0 &&
                            zn_body_id_dec(r.body, f->withdrawn, &e) == 0;
            zn_doc_free(&doc);
            uint8_t id[16];
            memcpy(id, f->withdrawn, 16);
            id[0] ^= f->withdraw_other_id ? 0xff : 0;
            msgpack_sbuffer body;
            msgpack_packer pk;
            msgpack_sbuffer_init(&body);
            msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
            msgpack_pack_array(&pk, 1);
            zn_pack_bin(&pk, id, 16);
            zn_frame_result(&b, fr.corr, "handover-withdraw", (const uint8_t *)body.data, body.size);
            msgpack_sbuffer_destroy(&body);
            s_fake_reply(f, rid, &b);
            break;
        }
        zn_case_new_body cb;
        memset(&cb, 0, sizeof cb);
        f->request_ok = zn_request_verify(fr.u.request.req, fr.u.request.len, fr.u.request.sig,
                                          f->req_sign_pk) == 0 &&
                        strcmp(r.kind, "case-new") == 0 && strcmp(r.partner, "school-a") == 0 &&
                        zn_body_case_new_dec(r.body, &cb, &e) == 0 && strcmp(cb.network, "0-12-binnenstad") == 0 &&
                        !cb.identified;
        memcpy(case_id, cb.id, 16);
        zn_doc_free(&doc);
        msgpack_sbuffer body;
        msgpack_packer pk;
        msgpack_sbuffer_init(&body);
        msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 1);
        zn_pack_bin(&pk, case_id, 16);
        zn_frame_result(&b, fr.corr, "case-new", (const uint8_t *)body.data, body.size);
        msgpack_sbuffer_destroy(&body);
        s_fake_reply(f, rid, &b);
        break;
    }
    case ZN_T_ACK:
        for (uint32_t i = 0; i < fr.u.ack.n && f->n_ack < 32; i++)
            zn_frame_ack_id(&fr, i, f->acked[f->n_ack++]);
        break;
    default:
        break;
    }
    msgpack_sbuffer_destroy(&b);
    zn_frame_free(&fr);
}

/* The head of the fake's log and, when known_size is below it, the consistency proof. */
static void s_fake_head(s_fake *f, uint64_t known, msgpack_sbuffer *head, uint8_t sig[64],
                        uint8_t *proof, size_t *n_proof)
{
    uint64_t size = f->head_size ? f->head_size : f->log.n;
    s_log_head(&f->log, size, f->head_keys ? f->head_keys : f->keys, head, sig);
    *n_proof = 0;
    if (known > 0 && known < size) {
        assert_int_equal(zn_merkle_consistency_proof(s_log_get, &f->log, known, size, proof,
                                                     ZN_MERKLE_MAX_CONSISTENCY, n_proof), 0);
        if (f->bad_consistency && *n_proof > 0)
            proof[0] ^= 0x01;
    }
}

static void s_fake_welcome(s_fake *f, msgpack_sbuffer *b, uint32_t corr, uint64_t known)
{
    msgpack_sbuffer head;
    uint8_t sig[64], proof[ZN_MERKLE_MAX_CONSISTENCY * 32];
    size_t n_proof = 0;
    msgpack_sbuffer_init(&head);
    s_fake_head(f, known, &head, sig, proof, &n_proof);
    zn_frame_welcome(b, corr, f->version, f->partner, 1000, (const uint8_t *)head.data, head.size, sig,
                     proof, n_proof);
    msgpack_sbuffer_destroy(&head);
}

/* case-show: a case of school-a in 0-12-binnenstad, identified or anonymous as set. */
static void s_fake_case_show(s_fake *f, msgpack_sbuffer *b, uint32_t corr, const zn_request *r)
{
    zn_err e;
    zn_case_view *cv = calloc(1, sizeof *cv);
    assert_non_null(cv);
    f->n_case_show++;
    if (f->case_show_error != ZN_E_OK) {
        zn_frame_error(b, corr, f->case_show_error, f->case_show_text ? f->case_show_text : "refused (test)");
        free(cv);
        return;
    }
    if (zn_body_id_dec(r->body, cv->id, &e) != 0) {
        zn_frame_error(b, corr, ZN_E_MALFORMED, "case-show body (test)");
        free(cv);
        return;
    }
    snprintf(cv->network, sizeof cv->network, "0-12-binnenstad");
    snprintf(cv->regisseur, sizeof cv->regisseur, "school-a");
    cv->created_ms = 1767225600000ull;
    cv->identified = f->case_identified;
    cv->n_members = 1;
    snprintf(cv->members[0].partner, sizeof cv->members[0].partner, "school-a");
    snprintf(cv->members[0].how, sizeof cv->members[0].how, "regisseur");
    cv->members[0].since_ms = cv->created_ms;
    msgpack_sbuffer body;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    zn_pack_case_view(&pk, cv);
    zn_frame_result(b, corr, "case-show", (const uint8_t *)body.data, body.size);
    msgpack_sbuffer_destroy(&body);
    free(cv);
}

static void s_fake_receipt(s_fake *f, msgpack_sbuffer *b, uint32_t corr, uint64_t index, uint64_t known)
{
    uint64_t size = f->head_size ? f->head_size : f->log.n;
    if (f->receipt_error != ZN_E_OK) {
        zn_frame_error(b, corr, f->receipt_error, "not yours to read (test)");
        return;
    }
    if (index >= size) {
        zn_frame_error(b, corr, ZN_E_UNKNOWN_ENTRY, "no such entry (test)");
        return;
    }
    msgpack_sbuffer head, body;
    zn_receipt r;
    size_t n = 0;
    memset(&r, 0, sizeof r);
    msgpack_sbuffer_init(&head);
    msgpack_sbuffer_init(&body);
    uint8_t sig[64];
    s_fake_head(f, known, &head, sig, r.consistency, &n);
    r.n_consistency = (uint32_t)n;
    assert_int_equal(zn_merkle_inclusion_proof(s_log_get, &f->log, index, size, r.inclusion,
                                               ZN_MERKLE_MAX_INCLUSION, &n), 0);
    r.n_inclusion = (uint32_t)n;
    if (f->bad_inclusion && n > 0)
        r.inclusion[0] ^= 0x01;
    uint8_t *entry = malloc(f->log.entry_len[index]);
    assert_non_null(entry);
    memcpy(entry, f->log.entry[index], f->log.entry_len[index]);
    if (f->tamper_entry)
        entry[f->log.entry_len[index] - 1] ^= 0x01;
    r.d = f->log.d[index];
    r.salt = f->redact ? NULL : f->log.salt[index];
    r.entry = f->redact ? NULL : entry;
    r.entry_len = f->redact ? 0 : f->log.entry_len[index];
    r.head = (const uint8_t *)head.data;
    r.head_len = head.size;
    r.head_sig = sig;
    zn_result_receipt(&body, &r);
    zn_frame_result(b, corr, "receipt", (const uint8_t *)body.data, body.size);
    free(entry);
    msgpack_sbuffer_destroy(&head);
    msgpack_sbuffer_destroy(&body);
}

static void s_fake_zap(s_fake *f)
{
    zmq_msg_t parts[8];
    int n = 0, more = 1;
    while (more && n < 8) {
        zmq_msg_init(&parts[n]);
        if (zmq_msg_recv(&parts[n], f->zap, 0) < 0)
            break;
        more = zmq_msg_more(&parts[n]);
        n++;
    }
    f->n_zap++;
    if (n >= 2) {
        zmq_send(f->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(f->zap, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), ZMQ_SNDMORE);
        zmq_send(f->zap, "400", 3, ZMQ_SNDMORE);
        zmq_send(f->zap, "not in the convenant", 20, ZMQ_SNDMORE);
        zmq_send(f->zap, "", 0, ZMQ_SNDMORE);
        zmq_send(f->zap, "", 0, 0);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

static void *s_fake_run(void *arg)
{
    s_fake *f = arg;
    while (!atomic_load(&f->stop)) {
        zmq_pollitem_t it[2] = {{f->router, 0, ZMQ_POLLIN, 0}, {f->zap, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, f->zap ? 2 : 1, 20) <= 0)
            continue;
        if (f->zap && (it[1].revents & ZMQ_POLLIN))
            s_fake_zap(f);
        if (it[0].revents & ZMQ_POLLIN) {
            zmq_msg_t rid, m;
            zmq_msg_init(&rid);
            zmq_msg_init(&m);
            if (zmq_msg_recv(&rid, f->router, 0) >= 0 && zmq_msg_more(&rid) &&
                zmq_msg_recv(&m, f->router, 0) >= 0)
                s_fake_frame(f, &rid, zmq_msg_data(&m), zmq_msg_size(&m));
            zmq_msg_close(&rid);
            zmq_msg_close(&m);
        }
    }
    zmq_close(f->router);
    if (f->zap)
        zmq_close(f->zap);
    return NULL;
}

static void s_fake_start(s_fake *f)
{
    int one = 1, zero = 0;
    size_t len = sizeof f->endpoint;
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    if (f->deny) {
        f->zap = zmq_socket(f->ctx, ZMQ_REP);
        assert_int_equal(zmq_setsockopt(f->zap, ZMQ_LINGER, &zero, sizeof zero), 0);
        assert_int_equal(zmq_bind(f->zap, "inproc://zeromq.zap.01"), 0);
    }
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(f->router, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(f->router, ZMQ_CURVE_SECRETKEY, f->keys->transport, 32), 0);
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
    atomic_store(&f->stop, false);
    assert_int_equal(pthread_create(&f->th, NULL, s_fake_run, f), 0);
}

static void s_fake_stop(s_fake *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    zmq_ctx_term(f->ctx);
}

static void s_fake_free(s_fake *f)
{
    s_log_free(&f->log);
    for (size_t i = 0; i < f->n_items; i++)
        free(f->items[i].bytes);
    free(f->sent);
    free(f->conv_raw);
}

static s_fake *s_fake_new(const s_env *v, uint64_t version)
{
    s_fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->keys = &v->broker;
    snprintf(f->partner, sizeof f->partner, "school-a");
    f->version = version;
    f->send_error = ZN_E_OK;
    f->receipt_error = ZN_E_OK;
    f->req_sign_pk = v->p[P_SELF].pub.sign;
    s_log_init(&f->log, 1, 3);
    return f;
}

/* Seal content from `from` (whose keys may be mixed to forge) naming `sender`, to `recipient`
 * sealed for box key `to_box`; adds it as an item to deliver. Returns the item index. */
static size_t s_fake_add_envelope(s_fake *f, const zn_seckeys *from, const char *sender,
                                  const char *recipient, const uint8_t to_box[32],
                                  const uint8_t msgid[16], const char *content)
{
    zn_header h;
    zn_err e;
    memset(&h, 0, sizeof h);
    memcpy(h.msgid, msgid, 16);
    memset(h.case_id, 0xca, 16);
    snprintf(h.sender, sizeof h.sender, "%s", sender);
    snprintf(h.handler, sizeof h.handler, "A. Bakker");
    snprintf(h.recipient, sizeof h.recipient, "%s", recipient);
    h.time_ms = 1714566896789ull;
    h.convenant_version = 1;
    size_t i = f->n_items++;
    s_fitem *it = &f->items[i];
    randombytes_buf(it->id, 16);
    it->kind = ZN_ITEM_ENVELOPE;
    if (zn_envelope_seal(&h, (const uint8_t *)content, strlen(content), to_box, from, &it->bytes,
                         &it->len, &e) != 0)
        fail_msg("seal: %s", e.text);
    return i;
}

static void s_fake_add_notice(s_fake *f)
{
    msgpack_sbuffer b;
    uint8_t m[16], cs[16];
    memset(m, 0x11, 16);
    memset(cs, 0xca, 16);
    msgpack_sbuffer_init(&b);
    zn_notice_dropped(&b, 1714566896789ull, m, cs, "wijkracht", ZN_E_NOT_IN_CONVENANT);
    s_fitem *it = &f->items[f->n_items++];
    randombytes_buf(it->id, 16);
    it->kind = ZN_ITEM_NOTICE;
    it->bytes = (uint8_t *)b.data;
    it->len = b.size;
}

/* ================================================================== protocol tests */

static void test_send_and_case_new(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);

    uint8_t case_id[16], msgid[16] = {0}, zero[16] = {0};
    if (zn_client_case_new(c, "0-12-binnenstad", case_id, &e) != 0)
        fail_msg("case new: %s", e.text);
    assert_memory_not_equal(case_id, zero, 16);

    const char *text = "Zorgen over Sem (groep 5): vaak afwezig sinds de herfstvakantie.";
    if (zn_client_send(c, "wijkracht", case_id, text, strlen(text), msgid, &e) != 0)
        fail_msg("send: %s", e.text);
    assert_memory_not_equal(msgid, zero, 16);

    /* retry with the same id: the same id goes out again */
    uint8_t again[16];
    memcpy(again, msgid, 16);
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, "x", 1, again, &e), 0);
    assert_memory_equal(again, msgid, 16);
    zn_client_close(&c);
    s_fake_stop(f);

    assert_int_equal(f->n_hello, 1);
    assert_int_equal(f->last_window, 0); /* one-shot commands take no deliveries */
    assert_int_equal(f->n_request, 1);
    assert_true(f->request_ok);
    assert_int_equal(f->n_send, 2);

    /* the broker saw a sealed envelope that only the recipient opens */
    zn_doc doc;
    zn_envelope env;
    assert_int_equal(zn_envelope_parse_bytes(f->sent, f->sent_len, &doc, &env, &e), 0);
    assert_string_equal(env.h.sender, "school-a");
    assert_string_equal(env.h.recipient, "wijkracht");
    assert_string_equal(env.h.handler, "J. de Vries (IB)");
    assert_memory_equal(env.h.msgid, msgid, 16);
    assert_memory_equal(env.h.case_id, case_id, 16);
    assert_int_equal(env.h.convenant_version, 1);
    assert_int_equal(zn_envelope_verify(&env, v->p[P_SELF].pub.sign), 0);
    uint8_t *pt = NULL;
    size_t ptn = 0;
    assert_int_equal(zn_envelope_open(&env, v->p[P_SELF].pub.box, v->p[P_PEER].box, &pt, &ptn, &e), 0);
    assert_int_equal(ptn, 1);
    assert_memory_equal(pt, "x", 1);
    free(pt);
    zn_doc_free(&doc);
    s_fake_free(f);
    free(f);
}

/* Anonymous mode: text with identifiers is refused on an anonymous case (the case's mode is asked
 * only when the scan found something), sent with the i-checked flag when the professional says
 * so, and sent as it is on an identified case. */
static void test_send_flags(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t case_id[16], msgid[16] = {0};
    uint64_t index = 0;
    memset(case_id, 0xca, 16);
    const char *clean = "Zorgen over Sem (groep 5) sinds 2015; EUR 1.250,00 schuld, gesprek om 14:30.";
    const char *ids = "Moeder is bereikbaar op 06-12345678 of moeder@example.nl.";
    for (int identified = 0; identified < 2; identified++) {
        s_fake *f = s_fake_new(v, 1);
        f->case_identified = identified == 1;
        s_fake_start(f);
        zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
        assert_non_null(c);
        memset(msgid, 0, 16);
        if (zn_client_send_flags(c, "wijkracht", case_id, clean, strlen(clean), 0, msgid, &index, &e) != 0)
            fail_msg("send clean text: %s", e.text);
        memset(msgid, 0, 16);
        int rc = zn_client_send_flags(c, "wijkracht", case_id, ids, strlen(ids), 0, msgid, &index, &e);
        if (identified) {
            assert_int_equal(rc, 0);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(e.code, ZN_E_IDENTIFIERS);
            assert_int_equal(zn_code_class(e.code), ZN_CLASS_USAGE);
            assert_non_null(strstr(e.text, "2 things"));
            assert_non_null(strstr(e.text, "phone number, e-mail address"));
            assert_non_null(strstr(e.text, "nothing was sent"));
            assert_null(strstr(e.text, "06-12345678")); /* the error names kinds, not the text */
            memset(msgid, 0, 16);
            if (zn_client_send_flags(c, "wijkracht", case_id, ids, strlen(ids), ZN_CLIENT_SEND_I_CHECKED, msgid,
                                     &index, &e) != 0)
                fail_msg("send with i-checked: %s", e.text);
        }
        zn_client_close(&c);
        s_fake_stop(f);
        assert_int_equal(f->n_case_show, 1); /* only for the text with identifiers */
        assert_int_equal(f->n_send, 2);
        zn_doc doc;
        zn_envelope env;
        assert_int_equal(zn_envelope_parse_bytes(f->sent, f->sent_len, &doc, &env, &e), 0);
        assert_int_equal(env.h.flags, identified ? 0 : ZN_FLAG_I_CHECKED);
        zn_doc_free(&doc);
        s_fake_free(f);
        free(f);
    }
}

/* Every send is checked: zn_client_send and zn_client_send_ex are zn_client_send_flags with
 * flags 0, so they too refuse identifiers on an anonymous case. */
static void test_send_plain_checked(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t case_id[16], msgid[16] = {0};
    uint64_t index = 7;
    memset(case_id, 0xcb, 16);
    const char *ids = "Vader belt vanaf 06-12345678.";
    s_fake *f = s_fake_new(v, 1);
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, ids, strlen(ids), msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_IDENTIFIERS);
    assert_int_equal(zn_client_send_ex(c, "wijkracht", case_id, ids, strlen(ids), msgid, &index, &e), -1);
    assert_int_equal(e.code, ZN_E_IDENTIFIERS);
    assert_int_equal(index, 0);
    assert_memory_equal(msgid, (uint8_t[16]){0}, 16); /* nothing was sent: no id was drawn */
    if (zn_client_send_ex(c, "wijkracht", case_id, "Geen namen.", 11, msgid, &index, &e) != 0)
        fail_msg("send clean text: %s", e.text);
    assert_true(index > 0);
    zn_client_close(&c);
    s_fake_stop(f);
    assert_int_equal(f->n_case_show, 2); /* the two texts with identifiers; not the clean one */
    assert_int_equal(f->n_send, 1);
    s_fake_free(f);
    free(f);
}

/* A case-show the broker refuses before a send leaves a clear sentence and sends nothing: a
 * partner that is no member, an unknown case, and any other refusal with the broker's text
 * (cut at a word when it would not fit, never mid-sentence unseen). */
static void test_send_probe_refused(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t case_id[16], msgid[16] = {0};
    memset(case_id, 0xcc, 16);
    const char *ids = "Het gezin woont op 7571 AB 12.";
    char long_text[241];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    for (size_t k = 20; k < sizeof long_text - 1; k += 21)
        long_text[k] = ' ';
    static const struct {
        zn_code code;
        const char *text, *want;
    } cases[] = {
        {ZN_E_NOT_MEMBER, "school-a is neither a member of this case nor a coordinator (test)",
         "school-a is not a member of this case and may not send on it, so nothing was sent; members are its "
         "regisseur"},
        {ZN_E_UNKNOWN_CASE, "no such case (test)", "no case with this id exists, so nothing was sent"},
        {ZN_E_STORE, "the store is busy (test)",
         "nothing was sent (the case's mode could not be asked): the store is busy (test)"},
        {ZN_E_STORE, NULL, "nothing was sent (the case's mode could not be asked): xxxxxxxxxxxxxxxxxxxx xxx"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_fake *f = s_fake_new(v, 1);
        f->case_show_error = cases[i].code;
        f->case_show_text = cases[i].text ? cases[i].text : long_text;
        s_fake_start(f);
        zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
        assert_non_null(c);
        zn_err_clear(&e);
        assert_int_equal(zn_client_send(c, "wijkracht", case_id, ids, strlen(ids), msgid, &e), -1);
        zn_client_close(&c);
        s_fake_stop(f);
        assert_int_equal(e.code, cases[i].code);
        if (!strstr(e.text, cases[i].want))
            fail_msg("case %zu: '%s'", i, e.text);
        assert_non_null(strstr(e.text, "nothing was sent"));
        if (!cases[i].text) { /* cut at a word, marked */
            size_t n = strlen(e.text);
            assert_true(n < ZN_ERR_TEXT_MAX);
            assert_string_equal(e.text + n - 3, "...");
            assert_int_not_equal(e.text[n - 4], ' ');
        }
        assert_int_equal(f->n_case_show, 1);
        assert_int_equal(f->n_send, 0);
        s_fake_free(f);
        free(f);
    }
}

/* handover withdraw: one signed request [handover id]; the answer must name that handover. */
static void test_handover_withdraw(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t id[16];
    memset(id, 0x5a, 16);
    for (int other = 0; other < 2; other++) {
        s_fake *f = s_fake_new(v, 1);
        f->withdraw_other_id = other == 1;
        s_fake_start(f);
        zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
        assert_non_null(c);
        int rc = zn_client_handover_withdraw(c, id, &e);
        zn_client_close(&c);
        s_fake_stop(f);
        assert_int_equal(f->n_withdraw, 1);
        assert_true(f->request_ok);
        assert_memory_equal(f->withdrawn, id, 16);
        if (other) {
            assert_int_equal(rc, -1);
            assert_int_equal(e.code, ZN_E_VERIFY);
            assert_non_null(strstr(e.text, "handover-withdraw for another id"));
        } else if (rc != 0) {
            fail_msg("withdraw: %s", e.text);
        }
        s_fake_free(f);
        free(f);
    }
    assert_int_equal(zn_client_handover_withdraw(NULL, id, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
}

static void test_broker_error(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    f->send_error = ZN_E_QUOTA;
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    uint8_t case_id[16] = {7}, msgid[16] = {0};
    assert_int_equal(zn_client_send(c, "wijkracht", case_id, "hi", 2, msgid, &e), -1);
    assert_int_equal(e.code, ZN_E_QUOTA);
    assert_string_equal(e.text, "the recipient's queue is full (test)");
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);

    /* BYE ends the connection with the broker's code */
    f = s_fake_new(v, 1);
    f->bye_on_hello = true;
    s_fake_start(f);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_NOT_IN_CONVENANT);
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);

    /* a broker that never answers: unreachable after the time-out */
    f = s_fake_new(v, 1);
    f->silent = true;
    s_fake_start(f);
    zn_client_opts o = {.convenant_path = v->conv_path, .key_path = v->key_path,
                        .broker = f->endpoint, .timeout_ms = 300};
    c = zn_client_open(&o, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_UNREACHABLE);
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);
}

static void test_handshake_refused(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    f->deny = true;
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    int64_t t0 = s_mono_ms();
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_HANDSHAKE);
    assert_non_null(strstr(e.text, "refused this key"));
    assert_true(s_mono_ms() - t0 < 1500); /* told at once, not after the time-out */
    zn_client_close(&c);
    s_fake_stop(f);
    assert_true(f->n_zap >= 1);
    assert_int_equal(f->n_hello, 0);
    s_fake_free(f);
    free(f);

    /* the convenant names another broker key than the one the broker has */
    zn_seckeys other;
    assert_int_equal(zn_keys_generate(ZN_KIND_BROKER, &other), 0);
    f = s_fake_new(v, 1);
    f->keys = &other;
    s_fake_start(f);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_true(e.code == ZN_E_HANDSHAKE || e.code == ZN_E_UNREACHABLE);
    assert_int_equal(zn_code_class(e.code), ZN_CLASS_UNREACHABLE);
    zn_client_close(&c);
    s_fake_stop(f);
    assert_int_equal(f->n_hello, 0);
    s_fake_free(f);
    free(f);
    zn_seckeys_wipe(&other);
}

static void test_inbox_checks(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    const uint8_t *self_box = v->p[P_SELF].pub.box;
    uint8_t m1[16], m2[16], m3[16], m4[16], m5[16], m6[16], m7[16];
    memset(m1, 1, 16), memset(m2, 2, 16), memset(m3, 3, 16);
    memset(m4, 4, 16), memset(m5, 5, 16), memset(m6, 6, 16), memset(m7, 7, 16);

    /* 0: valid */
    s_fake_add_envelope(f, &v->p[P_PEER], "wijkracht", "school-a", self_box, m1, "Warme overdracht: gesprek 12 mei.");
    /* 1: the same message again (new item id): acknowledged and skipped */
    s_fake_add_envelope(f, &v->p[P_PEER], "wijkracht", "school-a", self_box, m1, "Warme overdracht: gesprek 12 mei.");
    /* 2: claims wijkracht, signed by mp-coord */
    zn_seckeys forged = v->p[P_PEER];
    memcpy(forged.sign, v->p[P_COORD].sign, sizeof forged.sign);
    s_fake_add_envelope(f, &forged, "wijkracht", "school-a", self_box, m2, "forged");
    /* 3: ciphertext altered after sealing: relayed as a valid frame, refused when opened */
    size_t k = s_fake_add_envelope(f, &v->p[P_PEER], "wijkracht", "school-a", self_box, m3, "tampered");
    {
        zn_doc doc;
        zn_envelope env;
        assert_int_equal(zn_envelope_parse_bytes(f->items[k].bytes, f->items[k].len, &doc, &env, &e), 0);
        size_t off = (size_t)(env.ct - f->items[k].bytes);
        zn_doc_free(&doc);
        f->items[k].bytes[off + 40] ^= 0x01;
    }
    /* 4: signed by wijkracht, but boxed with mp-coord's box key */
    zn_seckeys mixed = v->p[P_PEER];
    memcpy(mixed.box, v->p[P_COORD].box, sizeof mixed.box);
    memcpy(mixed.pub.box, v->p[P_COORD].pub.box, sizeof mixed.pub.box);
    s_fake_add_envelope(f, &mixed, "wijkracht", "school-a", self_box, m4, "wrong box");
    /* 5: addressed to someone else */
    s_fake_add_envelope(f, &v->p[P_PEER], "wijkracht", "mp-coord", self_box, m5, "misaddressed");
    /* 6: a sender that is not in the convenant */
    s_fake_add_envelope(f, &v->p[P_OUT], "outsider", "school-a", self_box, m6, "who am I");
    /* 7: a notice */
    s_fake_add_notice(f);
    /* 8: malformed: kind envelope, but the item is a notice (the frame parser refuses it) */
    s_fake_add_notice(f);
    f->items[8].kind = ZN_ITEM_ENVELOPE;
    /* 9: forged and altered: the signature is checked before the hash */
    k = s_fake_add_envelope(f, &forged, "wijkracht", "school-a", self_box, m7, "forged, then altered");
    {
        zn_doc doc;
        zn_envelope env;
        assert_int_equal(zn_envelope_parse_bytes(f->items[k].bytes, f->items[k].len, &doc, &env, &e), 0);
        size_t off = (size_t)(env.ct - f->items[k].bytes);
        zn_doc_free(&doc);
        f->items[k].bytes[off + 40] ^= 0x01;
    }
    s_fake_start(f);

    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    zn_item it;
    struct {
        bool valid;
        zn_code code;
        size_t item;
    } want[] = {
        {true, ZN_E_OK, 0},
        {false, ZN_E_BAD_SIGNATURE, 2},
        {false, ZN_E_HASH_MISMATCH, 3},
        {false, ZN_E_VERIFY, 4},
        {false, ZN_E_VERIFY, 5},
        {false, ZN_E_UNKNOWN_PARTNER, 6},
        {true, ZN_E_OK, 7},
        {false, ZN_E_MALFORMED, 8},
        {false, ZN_E_BAD_SIGNATURE, 9},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int rc = zn_client_next(c, 0, &it, &e);
        if (rc != 1)
            fail_msg("item %zu: rc %d: %s", i, rc, e.text);
        if (memcmp(it.item_id, f->items[want[i].item].id, 16) != 0)
            fail_msg("item %zu: another item came (valid %d, %s)", i, it.valid, it.reason);
        assert_int_equal(it.valid, want[i].valid);
        assert_int_equal(it.reason_code, want[i].code);
        if (!it.valid) {
            assert_null(it.content);
            assert_true(it.reason[0] != '\0');
        }
        if (i == 0) {
            assert_int_equal(it.kind, ZN_ITEM_KIND_ENVELOPE);
            assert_string_equal(it.sender, "wijkracht");
            assert_string_equal(it.sender_name, "Wijkracht");
            assert_string_equal(it.handler, "A. Bakker");
            assert_int_equal(it.time_ms, 1714566896789ull);
            assert_memory_equal(it.msgid, m1, 16);
            assert_int_equal(it.content_len, strlen("Warme overdracht: gesprek 12 mei."));
            assert_memory_equal(it.content, "Warme overdracht: gesprek 12 mei.", it.content_len);
        }
        if (i == 2) { /* the frame parsed: the header is read, the content never shown */
            assert_int_equal(it.kind, ZN_ITEM_KIND_ENVELOPE);
            assert_string_equal(it.sender, "wijkracht");
            assert_memory_equal(it.msgid, m3, 16);
            assert_non_null(strstr(it.reason, "altered"));
        }
        if (i == 7) { /* salvaged: only the item id is known */
            assert_int_equal(it.kind, ZN_ITEM_KIND_ENVELOPE);
            assert_string_equal(it.sender, "");
            assert_non_null(strstr(it.reason, "malformed"));
        }
        if (i == 6) {
            assert_int_equal(it.kind, ZN_ITEM_KIND_NOTICE);
            assert_string_equal(it.notice_type, "envelope-dropped");
            assert_int_equal(it.n_fields, 4);
            bool saw_reason = false;
            for (size_t j = 0; j < it.n_fields; j++)
                if (strcmp(it.fields[j].key, "reason") == 0) {
                    assert_string_equal(it.fields[j].value, "not-in-convenant");
                    assert_int_equal(it.fields[j].type, ZN_FIELD_TEXT);
                    saw_reason = true;
                } else if (strcmp(it.fields[j].key, "msgid") == 0) {
                    assert_string_equal(it.fields[j].value, "11111111111111111111111111111111");
                    assert_int_equal(it.fields[j].type, ZN_FIELD_HEX);
                }
            assert_true(saw_reason);
        }
        if (zn_client_ack(c, &it, &e) != 0)
            fail_msg("ack %zu: %s", i, e.text);
        zn_item_clear(&it);
        assert_null(it.content);
    }
    /* drained: IDLE came, nothing more */
    assert_int_equal(zn_client_next(c, 0, &it, &e), 0);
    /* --wait: nothing comes within 200 ms */
    int64_t t0 = s_mono_ms();
    assert_int_equal(zn_client_next(c, 200, &it, &e), 0);
    assert_true(s_mono_ms() - t0 >= 190);
    zn_client_close(&c);
    s_fake_stop(f);

    assert_int_equal(f->last_window, ZN_CLIENT_DEFAULT_WINDOW);
    assert_int_equal(f->n_ack, 10); /* every item, the skipped duplicate included */
    for (size_t i = 0; i < 10; i++) {
        bool found = false;
        for (size_t j = 0; j < f->n_ack; j++)
            found = found || memcmp(f->acked[j], f->items[i].id, 16) == 0;
        assert_true(found);
    }

    /* the shown message stays shown: delivered again on a new connection, it is skipped */
    s_fake *g = s_fake_new(v, 1);
    s_fake_add_envelope(g, &v->p[P_PEER], "wijkracht", "school-a", self_box, m1, "again");
    s_fake_start(g);
    c = s_open(v, v->key_path, g->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_next(c, 0, &it, &e), 0);
    zn_client_close(&c);
    s_fake_stop(g);
    assert_int_equal(g->n_ack, 1);
    s_fake_free(g);
    free(g);
    s_fake_free(f);
    free(f);
    sodium_memzero(&forged, sizeof forged);
    sodium_memzero(&mixed, sizeof mixed);
}

/* Items the caller does not acknowledge (filtered out by `inbox --type`) are not acknowledged
 * behind its back, and the inbox still drains. */
static void test_inbox_unacked(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    uint8_t m[16];
    for (int i = 0; i < 3; i++) {
        memset(m, 0x20 + i, 16);
        s_fake_add_envelope(f, &v->p[P_PEER], "wijkracht", "school-a", v->p[P_SELF].pub.box, m, "x");
    }
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    zn_item it;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(zn_client_next(c, 0, &it, &e), 1);
        zn_item_clear(&it);
    }
    assert_int_equal(zn_client_next(c, 0, &it, &e), 0);
    zn_client_close(&c);
    s_fake_stop(f);
    assert_int_equal(f->n_ack, 0);
    s_fake_free(f);
    free(f);
}

static void test_convenant_from_broker(void **state)
{
    s_env *v = *state;
    zn_err e;

    /* the broker runs version 3 by the same authority: fetched, checked, saved, used */
    s_fake *f = s_fake_new(v, 3);
    zn_convenant *nc = s_conv(v, 3, &v->auth, "tcp://127.0.0.1:2");
    f->conv_raw = nc->raw;
    f->conv_len = nc->raw_len;
    nc->raw = NULL;
    zn_convenant_destroy(&nc);
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_convenant_version(c), 1);
    if (zn_client_connect(c, 0, &e) != 0)
        fail_msg("connect: %s", e.text);
    assert_int_equal(zn_client_convenant_version(c), 3);
    zn_client_close(&c);
    s_fake_stop(f);
    assert_int_equal(f->n_convget, 1);
    s_fake_free(f);
    free(f);
    zn_convenant *disk = NULL;
    assert_int_equal(zn_convenant_load(v->conv_path, &disk, &e), 0);
    assert_int_equal(disk->version, 3);
    assert_string_equal(disk->endpoint, "tcp://127.0.0.1:2");
    zn_convenant_destroy(&disk);

    /* a broker on version 2 is now refused: older than the version seen */
    f = s_fake_new(v, 2);
    s_fake_start(f);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_CONVENANT_OLD);
    assert_non_null(strstr(e.text, "the broker runs convenant version 2, older than version 3"));
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);

    /* a broker offering version 4 signed by another authority: refused, file untouched */
    f = s_fake_new(v, 4);
    nc = s_conv(v, 4, &v->auth2, "tcp://127.0.0.1:2");
    f->conv_raw = nc->raw;
    f->conv_len = nc->raw_len;
    nc->raw = NULL;
    zn_convenant_destroy(&nc);
    s_fake_start(f);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_CONVENANT_INVALID);
    assert_int_equal(zn_client_convenant_version(c), 3);
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);
    assert_int_equal(zn_convenant_load(v->conv_path, &disk, &e), 0);
    assert_int_equal(disk->version, 3);
    zn_convenant_destroy(&disk);

    /* a broker announcing version 5 but sending version 3 (a replay): refused */
    f = s_fake_new(v, 5);
    nc = s_conv(v, 3, &v->auth, "tcp://127.0.0.1:2");
    f->conv_raw = nc->raw;
    f->conv_len = nc->raw_len;
    nc->raw = NULL;
    zn_convenant_destroy(&nc);
    s_fake_start(f);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_CONVENANT_OLD);
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);

    /* the broker takes this key for another partner */
    f = s_fake_new(v, 3);
    snprintf(f->partner, sizeof f->partner, "wijkracht");
    s_fake_start(f);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_connect(c, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);
}

/* ================================================================== signed tree heads */

/* The head this client keeps (size, root), read without contacting anyone. */
static uint64_t s_known(const s_env *v, uint8_t root[32])
{
    zn_err e;
    bool have = false;
    uint64_t size = 0, t = 0;
    uint8_t r[32];
    zn_client *c = s_open(v, v->key_path, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    if (zn_client_known_head(c, &have, &size, r, &t, &e) != 0)
        fail_msg("known head: %s", e.text);
    zn_client_close(&c);
    if (root)
        memcpy(root, r, 32);
    return have ? size : 0;
}

/* Connect once to the running fake; 0 or -1 with *e. */
static int s_connect_once(const s_env *v, const s_fake *f, zn_err *e)
{
    zn_client *c = s_open(v, v->key_path, f->endpoint, e);
    assert_non_null(c);
    int rc = zn_client_connect(c, 0, e);
    zn_client_close(&c);
    return rc;
}

static void test_tree_heads(void **state)
{
    s_env *v = *state;
    zn_err e;
    uint8_t root[32], root9[32];
    s_fake *f = s_fake_new(v, 1);
    for (int i = 3; i < 20; i++)
        s_log_append(&f->log, "hello", "wijkracht", NULL, NULL, 0, NULL);
    s_fake *g = s_fake_new(v, 1); /* the same number of entries, another history */
    s_log_free(&g->log);
    s_log_init(&g->log, 2, 20);
    zn_seckeys other;
    assert_int_equal(zn_keys_generate(ZN_KIND_BROKER, &other), 0);
    s_fake_start(f);
    s_fake_start(g);

    /* first connect: the head is kept (trust on first use) */
    f->head_size = 5;
    if (s_connect_once(v, f, &e) != 0)
        fail_msg("connect: %s", e.text);
    assert_int_equal(f->last_known, 0);
    assert_int_equal(s_known(v, NULL), 5);
    /* a consistent bigger head: proven from 5 and kept */
    f->head_size = 9;
    if (s_connect_once(v, f, &e) != 0)
        fail_msg("connect: %s", e.text);
    assert_int_equal(f->last_known, 5);
    assert_int_equal(s_known(v, root9), 9);
    /* the same head again */
    assert_int_equal(s_connect_once(v, f, &e), 0);
    assert_int_equal(f->last_known, 9);

    /* truncated or rolled back: refused, on every try, and the kept head stays */
    f->head_size = 7;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s_connect_once(v, f, &e), -1);
        assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
        assert_int_equal(zn_code_class(e.code), ZN_CLASS_VERIFY);
        assert_non_null(strstr(e.text, "the broker's log has 7 entries, fewer than the 9 this client saw signed"));
        assert_non_null(strstr(e.text, "truncated or rolled back"));
    }
    assert_int_equal(s_known(v, root), 9);
    assert_memory_equal(root, root9, 32);

    /* another history of the same size: another root */
    g->head_size = 9;
    assert_int_equal(s_connect_once(v, g, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    assert_non_null(strstr(e.text, "two different roots for its log of 9 entries"));
    /* another history, larger: its own proof does not lead from the root seen */
    g->head_size = 12;
    assert_int_equal(s_connect_once(v, g, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    assert_non_null(strstr(e.text, "does not extend the 9 entries"));
    assert_int_equal(g->last_known, 9);
    /* the right history with a damaged proof */
    f->head_size = 12;
    f->bad_consistency = true;
    assert_int_equal(s_connect_once(v, f, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    assert_non_null(strstr(e.text, "consistency proof fails"));
    f->bad_consistency = false;
    /* a head signed by another key */
    f->head_keys = &other;
    assert_int_equal(s_connect_once(v, f, &e), -1);
    assert_int_equal(e.code, ZN_E_BAD_SIGNATURE);
    assert_non_null(strstr(e.text, "not signed by the broker key"));
    f->head_keys = NULL;
    assert_int_equal(s_known(v, root), 9);
    assert_memory_equal(root, root9, 32);

    /* the honest broker, grown: accepted and kept */
    if (s_connect_once(v, f, &e) != 0)
        fail_msg("connect: %s", e.text);
    assert_int_equal(f->last_known, 9);
    assert_int_equal(s_known(v, NULL), 12);

    s_fake_stop(f);
    s_fake_stop(g);

    /* a state file whose head was altered: refused before anything is believed */
    char path[200];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s.state", v->key_path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE tree_head SET sig = zeroblob(64)",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    zn_client *c = s_open(v, v->key_path, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    bool have;
    uint64_t sz, t;
    assert_int_equal(zn_client_known_head(c, &have, &sz, root, &t, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_non_null(strstr(e.text, "state file"));
    zn_client_close(&c);

    s_fake_free(f);
    free(f);
    s_fake_free(g);
    free(g);
    zn_seckeys_wipe(&other);
}

/* An export is pinned to the broker's current head; a broker that answers the read with an older
 * head than this client accepted on connect is refused, not exported as a shorter log. */
static void test_export_refuses_older_head(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    for (int i = 3; i < 20; i++)
        s_log_append(&f->log, "hello", "wijkracht", NULL, NULL, 0, NULL);
    s_fake_start(f);
    f->head_size = 9; /* WELCOME: a head of 9 entries, kept */
    f->read_head_size = 5;
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    if (zn_client_connect(c, 0, &e) != 0)
        fail_msg("connect: %s", e.text);
    char path[200];
    snprintf(path, sizeof path, "%s.export.jsonl", v->key_path);
    zn_client_export_report r;
    memset(&r, 0, sizeof r);
    assert_int_equal(zn_client_audit_export(c, path, ZN_AUDITLOG_JSONL, 0, 0, true, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    assert_non_null(strstr(e.text, "(5 entries) does not extend the one of 9 entries"));
    assert_int_equal(access(path, F_OK), -1); /* nothing written */
    zn_client_close(&c);
    s_fake_stop(f);
    s_fake_free(f);
    free(f);
}

/* Two runs with the same key: one asked while knowing 5 entries, the other has kept 9 since.
 * A head checked against the 5 is accepted, but replaces the 9 only with a proof from it. */
static void test_tree_heads_concurrent(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    for (int i = 3; i < 20; i++)
        s_log_append(&f->log, "hello", "wijkracht", NULL, NULL, 0, NULL);
    s_fake_start(f);
    f->head_size = 9;
    if (s_connect_once(v, f, &e) != 0)
        fail_msg("connect: %s", e.text);
    s_fake_stop(f);
    uint8_t root5[32], root9[32], root[32];
    assert_int_equal(zn_merkle_root(s_log_get, &f->log, 5, root5), 0);
    assert_int_equal(s_known(v, root9), 9);

    zn_client *c = s_open(v, v->key_path, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    zn_tree_head th;
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * 32];
    size_t n = 0;
    for (uint64_t size = 7; size <= 12; size += 5) { /* 7: older than the head kept; 12: newer */
        msgpack_sbuffer head;
        uint8_t sig[64];
        msgpack_sbuffer_init(&head);
        s_log_head(&f->log, size, &v->broker, &head, sig);
        assert_int_equal(zn_merkle_consistency_proof(s_log_get, &f->log, 5, size, proof,
                                                     ZN_MERKLE_MAX_CONSISTENCY, &n), 0);
        if (zn_client_accept_head(c, (const uint8_t *)head.data, head.size, sig, proof, n, 5, root5,
                                  "the test", &th, &e) != 0)
            fail_msg("head %llu: %s", (unsigned long long)size, e.text);
        assert_int_equal(th.size, size);
        msgpack_sbuffer_destroy(&head);
    }
    zn_client_close(&c);
    assert_int_equal(s_known(v, root), 9);
    assert_memory_equal(root, root9, 32);

    /* but another history is refused all the same */
    s_log other;
    s_log_init(&other, 2, 20);
    msgpack_sbuffer head;
    uint8_t sig[64];
    msgpack_sbuffer_init(&head);
    s_log_head(&other, 12, &v->broker, &head, sig);
    assert_int_equal(zn_merkle_consistency_proof(s_log_get, &other, 5, 12, proof, ZN_MERKLE_MAX_CONSISTENCY, &n), 0);
    c = s_open(v, v->key_path, "tcp://127.0.0.1:1", &e);
    assert_non_null(c);
    assert_int_equal(zn_client_accept_head(c, (const uint8_t *)head.data, head.size, sig, proof, n, 5, root5,
                                           "the test", &th, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    msgpack_sbuffer_clear(&head);
    s_log_head(&other, 9, &v->broker, &head, sig); /* same size as kept, other root */
    assert_int_equal(zn_client_accept_head(c, (const uint8_t *)head.data, head.size, sig, NULL, 0, 9, root9,
                                           "the test", &th, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    zn_client_close(&c);
    msgpack_sbuffer_destroy(&head);
    s_log_free(&other);
    s_fake_free(f);
    free(f);
}

static void test_receipts(void **state)
{
    s_env *v = *state;
    zn_err e;
    s_fake *f = s_fake_new(v, 1);
    s_fake_start(f);
    zn_client *c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);

    uint8_t case_id[16], msgid[16] = {0};
    memset(case_id, 0x5a, sizeof case_id);
    uint64_t index = 0;
    if (zn_client_send_ex(c, "wijkracht", case_id, "x", 1, msgid, &index, &e) != 0)
        fail_msg("send: %s", e.text);
    assert_int_equal(index, 3); /* after the fake's three entries */
    bool found = false;
    uint64_t got = 0;
    assert_int_equal(zn_client_sent_index(c, msgid, &found, &got, &e), 0);
    assert_true(found);
    assert_int_equal(got, 3);

    /* by message id: every check, and the head grows from 3 to 4 */
    zn_receipt_info r;
    if (zn_client_receipt_msgid(c, msgid, &r, &e) != 0)
        fail_msg("receipt: %s", e.text);
    assert_int_equal(f->last_known, 3);
    assert_int_equal(r.index, 3);
    assert_false(r.redacted);
    assert_string_equal(r.action, "send");
    assert_string_equal(r.actor, "school-a");
    assert_string_equal(r.counterpart, "wijkracht");
    assert_string_equal(r.evidence, "envelope-header");
    assert_true(r.has_msgid);
    assert_memory_equal(r.msgid, msgid, 16);
    assert_true(r.evidence_signed_by_self);
    assert_true(r.allowed);
    assert_int_equal(r.tree_size, 4);
    assert_int_equal(r.known_size, 3);
    assert_int_equal(s_known(v, NULL), 4);

    /* by index: someone else's entry (the broker lets this one through) */
    if (zn_client_receipt(c, 1, &r, &e) != 0)
        fail_msg("receipt 1: %s", e.text);
    assert_string_equal(r.actor, "wijkracht");
    assert_string_equal(r.action, "hello");
    assert_false(r.evidence_signed_by_self);
    assert_int_equal(r.known_size, 4);

    /* a message this client has no record of */
    uint8_t other[16];
    memset(other, 0x77, sizeof other);
    assert_int_equal(zn_client_receipt_msgid(c, other, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_ENTRY);
    /* the entry's bytes altered: they no longer hash to the commitment */
    f->tamper_entry = true;
    assert_int_equal(zn_client_receipt(c, 3, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
    assert_int_equal(zn_code_class(e.code), ZN_CLASS_VERIFY);
    f->tamper_entry = false;
    /* a damaged inclusion proof */
    f->bad_inclusion = true;
    assert_int_equal(zn_client_receipt(c, 2, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_non_null(strstr(e.text, "inclusion proof of entry 2"));
    f->bad_inclusion = false;
    /* redacted: inclusion only */
    f->redact = true;
    if (zn_client_receipt_msgid(c, msgid, &r, &e) != 0)
        fail_msg("redacted receipt: %s", e.text);
    assert_true(r.redacted);
    assert_string_equal(r.action, "");
    f->redact = false;
    /* refusals of the broker come through with their code */
    f->receipt_error = ZN_E_FORBIDDEN;
    assert_int_equal(zn_client_receipt(c, 1, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_FORBIDDEN);
    assert_int_equal(zn_code_class(e.code), ZN_CLASS_REFUSED);
    f->receipt_error = ZN_E_OK;
    assert_int_equal(zn_client_receipt(c, 99, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_UNKNOWN_ENTRY);
    /* a receipt under a head smaller than the one kept: the log was rolled back */
    f->head_size = 2;
    assert_int_equal(zn_client_receipt(c, 1, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_LOG_INCONSISTENT);
    f->head_size = 0;
    assert_int_equal(s_known(v, NULL), 4);
    zn_client_close(&c);

    /* a recorded id whose entry is another one: not the acceptance of that message */
    char path[200];
    zn_state *st = NULL;
    snprintf(path, sizeof path, "%s.state", v->key_path);
    assert_int_equal(zn_state_open(path, &st, &e), 0);
    assert_int_equal(zn_state_record_sent(st, other, 1, s_now_s(), &e), 0);
    zn_state_close(&st);
    c = s_open(v, v->key_path, f->endpoint, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_receipt_msgid(c, other, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_VERIFY);
    assert_non_null(strstr(e.text, "is not the acceptance of message 7777"));
    /* receipts are signed requests: a handler is needed */
    zn_client_close(&c);
    zn_client_opts o = {.convenant_path = v->conv_path, .key_path = v->key_path, .broker = f->endpoint};
    c = zn_client_open(&o, &e);
    assert_non_null(c);
    assert_int_equal(zn_client_receipt(c, 1, &r, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    zn_client_close(&c);
    s_fake_stop(f);
    assert_true(f->request_ok);
    s_fake_free(f);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_text_content),
        cmocka_unit_test(test_iso_time),
        cmocka_unit_test(test_parse_seconds),
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_type_filter),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_text_has_bsn),
        cmocka_unit_test(test_id_list_parse),
        cmocka_unit_test(test_text_trim_chars),
        cmocka_unit_test(test_client_identifiers),
        cmocka_unit_test(test_check_bsns),
        cmocka_unit_test_setup_teardown(test_state_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_private_and_newer_schema, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_state_migration, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_open_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_convenant_rollback, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_local_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_local_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_and_case_new, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_flags, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_plain_checked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_send_probe_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handover_withdraw, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_broker_error, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_inbox_checks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_inbox_unacked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_convenant_from_broker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tree_heads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_export_refuses_older_head, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tree_heads_concurrent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_receipts, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
