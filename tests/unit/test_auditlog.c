/* Unit tests for audit-log export records, their line formats and the offline verifier
 * (proto/zn_auditlog.h, docs/AUDIT.md section 8).
 *
 * - Records: every encoder round-trips through the strict parser; encoders refuse what breaks the
 *   rules and append nothing; the parser refuses every malformed shape (wrong type, arity, field
 *   types and lengths, salt without entry, non-canonical forms, nesting, trailing bytes).
 * - Lines: exact JSON and CSV lines for known records (the entry of docs/AUDIT.md 7.1, a redacted
 *   entry, an end record), escaping and quoting of text.
 * - Verifier: small logs built with the real codecs (entries with envelope-header and request
 *   evidence, signed tree heads, convenants signed by an authority key from a seed), written as
 *   JSON lines and CSV, verified with one thread and with several over tiny chunks (the same
 *   outcome and error text every time) and record by record through the feed API; then one
 *   tamper at a time, each refused with a text that names the line and the entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vectors.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zn_auditlog.h"
#include "zn_case.h"
#include "zn_merkle.h"
#include "zn_request.h"

#define T_NET "0-12-binnenstad"
#define T_HANDLER "J. \"Jan\" de Vries, IB\\2"
#define T_TIME0 1767225600000ull /* 2026-01-01T00:00:00Z */
#define T_MAX_RECS 256
#define T_MAX_LINES 260

/* ------------------------------------------------------------ keys and convenants */

static zn_seckeys s_auth, s_auth2, s_broker, s_school1, s_school2, s_wijk;

static void s_keys(zn_seckeys *k, zn_kind kind, uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(k, 0, sizeof *k);
    k->pub.kind = kind;
    memset(seed, seed_byte, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(k->pub.sign, k->sign, seed), 0);
    if (kind != ZN_KIND_AUTHORITY) {
        seed[0] ^= 0x40;
        assert_int_equal(crypto_box_seed_keypair(k->pub.transport, k->transport, seed), 0);
    }
    if (kind == ZN_KIND_PARTNER) {
        seed[0] ^= 0x80;
        assert_int_equal(crypto_box_seed_keypair(k->pub.box, k->box, seed), 0);
    }
}

static void s_add_partner(zn_convenant *c, const char *id, const char *name, const zn_seckeys *k)
{
    zn_partner *grown = realloc(c->partners, (c->n_partners + 1) * sizeof *grown);
    assert_non_null(grown);
    c->partners = grown;
    zn_partner *p = &c->partners[c->n_partners++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->category, sizeof p->category, "school");
    p->keys = k->pub;
    p->roles[0] = ZN_ROLE_PARTNER;
}

/* A signed convenant: school (with the given key) and wijkracht in one network. */
static zn_convenant *s_conv(uint64_t version, const zn_seckeys *school, const zn_seckeys *auth)
{
    zn_convenant *c = zn_convenant_new();
    zn_err e;
    assert_non_null(c);
    snprintf(c->name, sizeof c->name, "Zorgnetwerk \"Test\", Oldenzaal");
    c->version = version;
    c->valid_from = 1700000000;
    c->valid_until = 1900000000;
    memcpy(c->authority, auth->pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, s_broker.pub.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, s_broker.pub.sign, ZN_KEY_LEN);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:7450");
    c->n_networks = 1;
    snprintf(c->networks[0], ZN_IDENT_MAX, T_NET);
    s_add_partner(c, "school", "Basisschool De Linde", school);
    s_add_partner(c, "wijkracht", "Wijkracht", &s_wijk);
    if (zn_convenant_sign(c, auth, &e) != 0)
        fail_msg("convenant: %s", e.text);
    return c;
}

static int s_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    s_keys(&s_auth, ZN_KIND_AUTHORITY, 0x0a);
    s_keys(&s_auth2, ZN_KIND_AUTHORITY, 0x0b);
    s_keys(&s_broker, ZN_KIND_BROKER, 0x05);
    s_keys(&s_school1, ZN_KIND_PARTNER, 0x01);
    s_keys(&s_school2, ZN_KIND_PARTNER, 0x03);
    s_keys(&s_wijk, ZN_KIND_PARTNER, 0x02);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    zn_seckeys_wipe(&s_auth);
    zn_seckeys_wipe(&s_auth2);
    zn_seckeys_wipe(&s_broker);
    zn_seckeys_wipe(&s_school1);
    zn_seckeys_wipe(&s_school2);
    zn_seckeys_wipe(&s_wijk);
    return 0;
}

/* ------------------------------------------------------------ building a log */

typedef struct {
    int n;              /* entries 0 .. n-1 */
    int head_every;     /* a head after every k entries (0: none on the way) */
    bool no_final_head; /* no head after the last entry */
    int leaves_upto;    /* entries [0, leaves_upto) only as leaves records */
    int redact;         /* entry exported redacted, or -1 */
    int forge;          /* entry whose evidence is signed by the wrong key (all else consistent) */
    int rotate_at;      /* -1: one convenant; else convenant 2 (a new school key) loaded here */
    int old_key_at;     /* entry after the rotation still signed with the old key, or -1 */
    bool other_authority; /* convenant 1 signed by another authority */
    int bad_head_sig;   /* head (0-based) whose signature is altered, or -1 */
    uint64_t head_time; /* when not 0: the time of the first head */
} s_spec;

static s_spec s_default(void)
{
    s_spec s = {.n = 24, .head_every = 5, .no_final_head = false, .leaves_upto = 0, .redact = -1,
                .forge = -1, .rotate_at = -1, .old_key_at = -1, .other_authority = false,
                .bad_head_sig = -1, .head_time = 0};
    return s;
}

typedef struct {
    uint8_t *p[T_MAX_RECS];
    size_t n[T_MAX_RECS];
    size_t count;
    uint64_t size; /* leaves */
    uint8_t root[ZN_HASH_LEN];
    uint8_t root_at[64][ZN_HASH_LEN]; /* root after i + 1 entries, for known heads */
} s_log;

static void s_log_add(s_log *L, const msgpack_sbuffer *b)
{
    assert_true(L->count < T_MAX_RECS);
    L->p[L->count] = malloc(b->size);
    assert_non_null(L->p[L->count]);
    memcpy(L->p[L->count], b->data, b->size);
    L->n[L->count++] = b->size;
}

static void s_log_free(s_log *L)
{
    for (size_t i = 0; i < L->count; i++)
        free(L->p[i]);
    L->count = 0;
}

static void s_header(msgpack_sbuffer *b, int i, uint64_t time, uint64_t cv)
{
    uint8_t msgid[ZN_ID_LEN], cs[ZN_ID_LEN], ct[ZN_HASH_LEN];
    msgpack_packer pk;
    memset(msgid, 0x11, sizeof msgid);
    msgid[0] = (uint8_t)i;
    memset(cs, 0x22, sizeof cs);
    cs[0] = (uint8_t)(i / 7);
    memset(ct, 0x33, sizeof ct);
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 10);
    msgpack_pack_uint64(&pk, 1);
    zn_pack_bin(&pk, msgid, ZN_ID_LEN);
    zn_pack_bin(&pk, cs, ZN_ID_LEN);
    zn_pack_str(&pk, "school");
    zn_pack_str(&pk, T_HANDLER);
    zn_pack_str(&pk, "wijkracht");
    msgpack_pack_uint64(&pk, time);
    msgpack_pack_uint64(&pk, cv);
    msgpack_pack_uint64(&pk, 0);
    zn_pack_bin(&pk, ct, ZN_HASH_LEN);
}

/* The bytes of entry i of the spec. */
static void s_entry(const s_spec *sp, int i, msgpack_sbuffer *out)
{
    zn_audit_entry en;
    zn_audit_detail d[3];
    uint8_t cs[ZN_ID_LEN], msgid[ZN_ID_LEN], sig[ZN_SIG_LEN];
    msgpack_sbuffer ev, body;
    uint8_t *req = NULL;
    size_t req_len = 0;
    zn_err e;
    bool rotated = sp->rotate_at >= 0 && i > sp->rotate_at;
    const zn_seckeys *signer = rotated && i != sp->old_key_at ? &s_school2 : &s_school1;
    uint64_t cv = rotated ? 2 : 1, time = T_TIME0 + (uint64_t)i * 1000 + 123;

    if (i == sp->forge)
        signer = &s_wijk;
    memset(&en, 0, sizeof en);
    memset(d, 0, sizeof d);
    msgpack_sbuffer_init(&ev);
    msgpack_sbuffer_init(&body);
    memset(cs, 0x22, sizeof cs);
    cs[0] = (uint8_t)(i / 7);
    memset(msgid, 0x11, sizeof msgid);
    msgid[0] = (uint8_t)i;
    en.index = (uint64_t)i;
    en.time_ms = time;
    if (i == 0 || i == sp->rotate_at) {
        en.action = "convenant-load";
        en.decision = ZN_AUDIT_ALLOWED;
        d[0].key = "version";
        d[0].type = ZN_AUDIT_U64;
        d[0].u64 = i == 0 ? 1 : 2;
        en.details = d;
        en.n_details = 1;
    } else if (i % 5 == 3) {
        zn_case_new_body cb = {.network = T_NET};
        memcpy(cb.id, cs, ZN_ID_LEN);
        assert_int_equal(zn_body_case_new_enc(&body, &cb), 0);
        if (zn_request_build("case-new", "school", T_HANDLER, time, cv, (const uint8_t *)body.data,
                             body.size, signer, &req, &req_len, sig, &e) != 0)
            fail_msg("request: %s", e.text);
        en.actor = "school";
        en.handler = T_HANDLER;
        en.action = "case-new";
        en.case_id = cs;
        en.decision = ZN_AUDIT_ALLOWED;
        en.evidence_kind = "request";
        en.evidence = req;
        en.evidence_len = req_len;
        en.evidence_sig = sig;
        d[0].key = "network";
        d[0].type = ZN_AUDIT_STR;
        d[0].p = (const uint8_t *)T_NET;
        d[0].len = strlen(T_NET);
        en.details = d;
        en.n_details = 1;
    } else {
        s_header(&ev, i, time - 100, cv);
        assert_int_equal(zn_sign_ns(sig, ZN_ENVELOPE_NS, (const uint8_t *)ev.data, ev.size,
                                    signer->sign), 0);
        en.actor = "school";
        en.handler = T_HANDLER;
        en.action = "send";
        en.case_id = cs;
        en.counterpart = "wijkracht";
        en.decision = i % 4 == 1 ? ZN_AUDIT_REFUSED : ZN_AUDIT_ALLOWED;
        en.reason = i % 4 == 1 ? "quota-exceeded" : NULL;
        en.basis = "consent";
        en.evidence_kind = "envelope-header";
        en.evidence = (const uint8_t *)ev.data;
        en.evidence_len = ev.size;
        en.evidence_sig = sig;
        d[0].key = "msgid";
        d[0].type = ZN_AUDIT_BIN;
        d[0].p = msgid;
        d[0].len = ZN_ID_LEN;
        d[1].key = "network";
        d[1].type = ZN_AUDIT_STR;
        d[1].p = (const uint8_t *)T_NET;
        d[1].len = strlen(T_NET);
        d[2].key = "queued";
        d[2].type = ZN_AUDIT_U64;
        d[2].u64 = (uint64_t)i * 3;
        en.details = d;
        en.n_details = 3;
    }
    if (zn_audit_entry_encode(out, &en, &e) != 0)
        fail_msg("entry %d: %s", i, e.text);
    free(req);
    msgpack_sbuffer_destroy(&ev);
    msgpack_sbuffer_destroy(&body);
}

static void s_flush_leaves(s_log *L, uint8_t *ds, size_t *k, uint64_t first)
{
    msgpack_sbuffer b;
    zn_err e;
    if (*k == 0)
        return;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_auditlog_enc_leaves(&b, first, ds, *k, &e), 0);
    s_log_add(L, &b);
    msgpack_sbuffer_destroy(&b);
    *k = 0;
}

static void s_build(const s_spec *sp, s_log *L)
{
    zn_merkle_frontier fr;
    uint8_t ds[64 * ZN_HASH_LEN];
    size_t k = 0;
    uint64_t first = 0, heads = 0;
    msgpack_sbuffer b;
    zn_err e;

    assert_true(sp->n <= 64);
    memset(L, 0, sizeof *L);
    zn_merkle_frontier_init(&fr);
    msgpack_sbuffer_init(&b);

    zn_convenant *c1 = s_conv(1, &s_school1, sp->other_authority ? &s_auth2 : &s_auth);
    assert_int_equal(zn_auditlog_enc_convenant(&b, c1->raw, c1->raw_len, &e), 0);
    s_log_add(L, &b);
    zn_convenant_destroy(&c1);
    if (sp->rotate_at >= 0) {
        zn_convenant *c2 = s_conv(2, &s_school2, &s_auth);
        b.size = 0;
        assert_int_equal(zn_auditlog_enc_convenant(&b, c2->raw, c2->raw_len, &e), 0);
        s_log_add(L, &b);
        zn_convenant_destroy(&c2);
    }

    for (int i = 0; i < sp->n; i++) {
        uint8_t salt[ZN_AUDIT_SALT_LEN], d[ZN_HASH_LEN], leaf[ZN_HASH_LEN];
        msgpack_sbuffer eb;
        msgpack_sbuffer_init(&eb);
        s_entry(sp, i, &eb);
        randombytes_buf(salt, sizeof salt);
        zn_audit_commit(d, salt, (const uint8_t *)eb.data, eb.size);
        zn_merkle_leaf_hash(leaf, d, ZN_HASH_LEN);
        assert_int_equal(zn_merkle_append(&fr, leaf, NULL, NULL), 0);
        zn_merkle_frontier_root(&fr, L->root_at[i]);
        b.size = 0;
        if (i < sp->leaves_upto) {
            if (k == 0)
                first = (uint64_t)i;
            memcpy(ds + k++ * ZN_HASH_LEN, d, ZN_HASH_LEN);
        } else {
            s_flush_leaves(L, ds, &k, first);
            if (i == sp->redact)
                assert_int_equal(zn_auditlog_enc_entry(&b, (uint64_t)i, d, NULL, NULL, 0, &e), 0);
            else
                assert_int_equal(zn_auditlog_enc_entry(&b, (uint64_t)i, d, salt,
                                                       (const uint8_t *)eb.data, eb.size, &e), 0);
            s_log_add(L, &b);
        }
        msgpack_sbuffer_destroy(&eb);
        if ((sp->head_every && (i + 1) % sp->head_every == 0) || (i == sp->n - 1 && !sp->no_final_head)) {
            zn_tree_head th;
            uint8_t sig[ZN_SIG_LEN];
            msgpack_sbuffer hb;
            s_flush_leaves(L, ds, &k, first);
            th.size = (uint64_t)i + 1;
            zn_merkle_frontier_root(&fr, th.root);
            th.time_ms = heads == 0 && sp->head_time ? sp->head_time : T_TIME0 + (uint64_t)i * 1000 + 500;
            msgpack_sbuffer_init(&hb);
            assert_int_equal(zn_tree_head_sign(&hb, sig, &th, &s_broker, &e), 0);
            if ((int)heads == sp->bad_head_sig)
                sig[7] ^= 0x01;
            b.size = 0;
            assert_int_equal(zn_auditlog_enc_head(&b, (const uint8_t *)hb.data, hb.size, sig, &e), 0);
            s_log_add(L, &b);
            msgpack_sbuffer_destroy(&hb);
            heads++;
        }
    }
    s_flush_leaves(L, ds, &k, first);
    b.size = 0;
    assert_int_equal(zn_auditlog_enc_end(&b, (uint64_t)sp->n, heads, &e), 0);
    s_log_add(L, &b);
    msgpack_sbuffer_destroy(&b);
    L->size = (uint64_t)sp->n;
    zn_merkle_frontier_root(&fr, L->root);
}

/* ------------------------------------------------------------ lines and files */

typedef struct {
    char *line[T_MAX_LINES]; /* without '\n'; for CSV line[0] is the header */
    size_t n;
    zn_auditlog_format fmt;
} s_lines;

static void s_render(const s_log *L, zn_auditlog_format fmt, s_lines *out)
{
    memset(out, 0, sizeof *out);
    out->fmt = fmt;
    if (fmt == ZN_AUDITLOG_CSV)
        out->line[out->n++] = strdup(ZN_AUDITLOG_CSV_HEADER);
    for (size_t i = 0; i < L->count; i++) {
        msgpack_sbuffer b;
        zn_err e;
        msgpack_sbuffer_init(&b);
        if (zn_auditlog_line(&b, fmt, L->p[i], L->n[i], &e) != 0)
            fail_msg("line: %s", e.text);
        assert_true(b.size > 1 && b.data[b.size - 1] == '\n');
        assert_null(memchr(b.data, '\n', b.size - 1));
        assert_true(out->n < T_MAX_LINES);
        out->line[out->n] = malloc(b.size);
        assert_non_null(out->line[out->n]);
        memcpy(out->line[out->n], b.data, b.size - 1);
        out->line[out->n++][b.size - 1] = '\0';
        msgpack_sbuffer_destroy(&b);
    }
}

static void s_lines_free(s_lines *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->line[i]);
    x->n = 0;
}

/* Index of the line of entry idx (or of another record type), or fail. */
static size_t s_find(const s_lines *x, const char *type, uint64_t idx)
{
    char pre[64];
    if (x->fmt == ZN_AUDITLOG_CSV)
        snprintf(pre, sizeof pre, "%s,%llu,", type, (unsigned long long)idx);
    else
        snprintf(pre, sizeof pre, "{\"record\":\"%s\",\"index\":%llu,", type, (unsigned long long)idx);
    for (size_t i = 0; i < x->n; i++)
        if (strncmp(x->line[i], pre, strlen(pre)) == 0)
            return i;
    fail_msg("no line starts with %s", pre);
    return 0;
}

/* Index of the k-th line (0-based) whose record type is `type`. */
static size_t s_find_nth(const s_lines *x, const char *type, int k)
{
    char pre[64];
    if (x->fmt == ZN_AUDITLOG_CSV)
        snprintf(pre, sizeof pre, "%s,", type);
    else
        snprintf(pre, sizeof pre, "{\"record\":\"%s\"", type);
    for (size_t i = 0; i < x->n; i++)
        if (strncmp(x->line[i], pre, strlen(pre)) == 0 && k-- == 0)
            return i;
    fail_msg("no %s line number %d", type, k);
    return 0;
}

static void s_delete(s_lines *x, size_t i)
{
    free(x->line[i]);
    memmove(&x->line[i], &x->line[i + 1], (x->n - i - 1) * sizeof x->line[0]);
    x->n--;
}

static void s_replace(s_lines *x, size_t i, const char *from, const char *to)
{
    char *at = strstr(x->line[i], from);
    assert_non_null(at);
    size_t n = strlen(x->line[i]) - strlen(from) + strlen(to) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%.*s%s%s", (int)(at - x->line[i]), x->line[i], to, at + strlen(from));
    free(x->line[i]);
    x->line[i] = s;
}

/* The whole file; `cut` bytes removed from its end. */
static char *s_text(const s_lines *x, size_t cut, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < x->n; i++)
        n += strlen(x->line[i]) + 1;
    char *t = malloc(n + 1);
    assert_non_null(t);
    size_t k = 0;
    for (size_t i = 0; i < x->n; i++) {
        size_t l = strlen(x->line[i]);
        memcpy(t + k, x->line[i], l);
        k += l;
        t[k++] = '\n';
    }
    assert_true(cut <= n);
    *len = n - cut;
    return t;
}

static char *s_tmpfile(const char *text, size_t len)
{
    char *path = strdup("/tmp/zn-test-auditlog-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    return path;
}

typedef struct {
    int rc;
    zn_err e;
    zn_auditlog_report r;
} s_result;

static s_result s_verify_text(const char *text, size_t len, const zn_tree_head *known,
                              unsigned checks, unsigned threads, size_t chunk)
{
    s_result res;
    char *path = s_tmpfile(text, len);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    zn_auditlog_opts o = {.authority = s_auth.pub.sign, .known = known, .checks = checks,
                          .threads = threads, .chunk_bytes = chunk};
    memset(&res, 0, sizeof res);
    zn_err_clear(&res.e);
    res.rc = zn_auditlog_verify_stream(fp, &o, &res.r, &res.e);
    fclose(fp);
    unlink(path);
    free(path);
    return res;
}

/* Verify with one thread, with several over tiny chunks, and with the defaults: the same outcome
 * and the same text every time. */
static s_result s_verify_cut(const s_lines *x, size_t cut, const zn_tree_head *known, unsigned checks)
{
    size_t len;
    char *text = s_text(x, cut, &len);
    s_result a = s_verify_text(text, len, known, checks, 1, 0);
    s_result b = s_verify_text(text, len, known, checks, 2, 700);
    s_result c = s_verify_text(text, len, known, checks, 3, 64);
    s_result d = s_verify_text(text, len, known, checks, 0, 0);
    free(text);
    assert_int_equal(a.rc, b.rc);
    assert_int_equal(a.rc, c.rc);
    assert_int_equal(a.rc, d.rc);
    if (a.rc != 0) {
        assert_string_equal(a.e.text, b.e.text);
        assert_string_equal(a.e.text, c.e.text);
        assert_string_equal(a.e.text, d.e.text);
        assert_int_equal(a.e.code, ZN_E_VERIFY);
    } else {
        assert_memory_equal(&a.r, &b.r, sizeof a.r);
        assert_memory_equal(&a.r, &c.r, sizeof a.r);
    }
    return a;
}

static s_result s_verify(const s_lines *x, const zn_tree_head *known)
{
    return s_verify_cut(x, 0, known, ZN_AUDITLOG_ALL);
}

static void s_expect_ok(const s_result *r)
{
    if (r->rc != 0)
        fail_msg("verification failed: %s", r->e.text);
}

/* The error text holds every one of the fragments (NULL-terminated). */
static void s_expect_fail(const s_result *r, ...)
{
    va_list ap;
    if (r->rc == 0)
        fail_msg("verification passed; a failure was expected");
    va_start(ap, r);
    for (const char *f = va_arg(ap, const char *); f; f = va_arg(ap, const char *))
        if (!strstr(r->e.text, f)) {
            va_end(ap);
            fail_msg("error text \"%s\" lacks \"%s\"", r->e.text, f);
        }
    va_end(ap);
}

static char *s_at(size_t line_index)
{
    static char buf[32];
    snprintf(buf, sizeof buf, "line %zu", line_index + 1);
    return buf;
}

/* ------------------------------------------------------------ records */

static void test_records_roundtrip(void **state)
{
    (void)state;
    uint8_t d[ZN_HASH_LEN], salt[ZN_AUDIT_SALT_LEN], entry[300], ds[3 * ZN_HASH_LEN], sig[ZN_SIG_LEN];
    msgpack_sbuffer b, hb;
    zn_auditlog_rec r;
    zn_doc doc;
    zn_err e;
    zn_tree_head th = {.size = 9, .time_ms = T_TIME0};

    randombytes_buf(d, sizeof d);
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(entry, sizeof entry);
    randombytes_buf(ds, sizeof ds);
    randombytes_buf(th.root, sizeof th.root);
    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_init(&hb);

    assert_int_equal(zn_auditlog_enc_entry(&b, 70000, d, salt, entry, sizeof entry, &e), 0);
    assert_int_equal(zn_auditlog_parse((const uint8_t *)b.data, b.size, &doc, &r, &e), 0);
    assert_false(doc.live); /* nothing kept: the record points into its bytes */
    assert_int_equal(r.type, ZN_AUDITLOG_ENTRY);
    assert_true(r.index == 70000);
    assert_memory_equal(r.d, d, sizeof d);
    assert_memory_equal(r.salt, salt, sizeof salt);
    assert_int_equal(r.len, sizeof entry);
    assert_memory_equal(r.bytes, entry, sizeof entry);
    zn_doc_free(&doc);

    b.size = 0;
    assert_int_equal(zn_auditlog_enc_entry(&b, 0, d, NULL, NULL, 0, &e), 0);
    assert_int_equal(zn_auditlog_parse((const uint8_t *)b.data, b.size, &doc, &r, &e), 0);
    assert_null(r.salt);
    assert_null(r.bytes);
    assert_int_equal(r.len, 0);
    zn_doc_free(&doc);

    b.size = 0;
    assert_int_equal(zn_auditlog_enc_leaves(&b, 5, ds, 3, &e), 0);
    assert_int_equal(zn_auditlog_parse((const uint8_t *)b.data, b.size, &doc, &r, &e), 0);
    assert_int_equal(r.type, ZN_AUDITLOG_LEAVES);
    assert_true(r.index == 5);
    assert_int_equal(r.count, 3);
    assert_memory_equal(r.d, ds, sizeof ds);
    zn_doc_free(&doc);

    assert_int_equal(zn_tree_head_sign(&hb, sig, &th, &s_broker, &e), 0);
    b.size = 0;
    assert_int_equal(zn_auditlog_enc_head(&b, (const uint8_t *)hb.data, hb.size, sig, &e), 0);
    assert_int_equal(zn_auditlog_parse((const uint8_t *)b.data, b.size, &doc, &r, &e), 0);
    assert_int_equal(r.type, ZN_AUDITLOG_HEAD);
    assert_int_equal(r.len, hb.size);
    assert_memory_equal(r.bytes, hb.data, hb.size);
    assert_memory_equal(r.sig, sig, sizeof sig);
    assert_true(r.head.size == 9 && r.head.time_ms == T_TIME0);
    assert_memory_equal(r.head.root, th.root, ZN_HASH_LEN);
    zn_doc_free(&doc);

    b.size = 0;
    assert_int_equal(zn_auditlog_enc_end(&b, UINT64_MAX, 7, &e), 0);
    assert_int_equal(zn_auditlog_parse((const uint8_t *)b.data, b.size, &doc, &r, &e), 0);
    assert_int_equal(r.type, ZN_AUDITLOG_END);
    assert_true(r.entries == UINT64_MAX && r.heads == 7);
    zn_doc_free(&doc);

    zn_convenant *c = s_conv(4, &s_school1, &s_auth);
    b.size = 0;
    assert_int_equal(zn_auditlog_enc_convenant(&b, c->raw, c->raw_len, &e), 0);
    assert_int_equal(zn_auditlog_parse((const uint8_t *)b.data, b.size, &doc, &r, &e), 0);
    assert_int_equal(r.type, ZN_AUDITLOG_CONVENANT);
    assert_int_equal(r.len, c->raw_len);
    assert_memory_equal(r.bytes, c->raw, c->raw_len);
    zn_doc_free(&doc);
    zn_doc_free(&doc); /* safe twice */
    zn_convenant_destroy(&c);

    /* encoders refuse and append nothing */
    b.size = 0;
    assert_int_equal(zn_auditlog_enc_entry(&b, 1, d, salt, NULL, 0, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_auditlog_enc_entry(&b, 1, d, NULL, entry, sizeof entry, &e), -1);
    assert_int_equal(zn_auditlog_enc_entry(&b, 1, d, salt, entry, 0, &e), -1);
    assert_int_equal(zn_auditlog_enc_entry(&b, 1, d, salt, entry, ZN_AUDIT_MAX_ENTRY + 1, &e), -1);
    assert_int_equal(zn_auditlog_enc_entry(&b, 1, NULL, NULL, NULL, 0, &e), -1);
    assert_int_equal(zn_auditlog_enc_entry(&b, ZN_MERKLE_MAX_SIZE, d, NULL, NULL, 0, &e), -1);
    assert_int_equal(zn_auditlog_enc_leaves(&b, 0, ds, 0, &e), -1);
    assert_int_equal(zn_auditlog_enc_leaves(&b, 0, ds, ZN_AUDITLOG_LEAVES_MAX + 1, &e), -1);
    assert_int_equal(zn_auditlog_enc_leaves(&b, ZN_MERKLE_MAX_SIZE - 2, ds, 3, &e), -1);
    assert_int_equal(zn_auditlog_enc_head(&b, entry, 20, sig, &e), -1);
    assert_int_equal(e.code, ZN_E_USAGE);
    assert_int_equal(zn_auditlog_enc_head(&b, (const uint8_t *)hb.data, hb.size, NULL, &e), -1);
    assert_int_equal(zn_auditlog_enc_convenant(&b, entry, 0, &e), -1);
    assert_int_equal(b.size, 0);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&hb);
}

static void s_expect_malformed(const char *hex, const char *what)
{
    size_t n = strlen(hex) / 2;
    uint8_t *p = malloc(n ? n : 1);
    zn_auditlog_rec r;
    zn_doc doc;
    zn_err e;
    assert_non_null(p);
    if (n)
        assert_int_equal(zn_unhex(p, n, hex), 0);
    zn_err_clear(&e);
    if (zn_auditlog_parse(p, n, &doc, &r, &e) == 0)
        fail_msg("accepted: %s", hex);
    assert_int_equal(e.code, ZN_E_MALFORMED);
    assert_false(doc.live);
    assert_int_equal(r.type, 0);
    if (what && !strstr(e.text, what))
        fail_msg("\"%s\" lacks \"%s\" (%s)", e.text, what, hex);
    free(p);
}

static void s_expect_parses(const char *hex)
{
    size_t n = strlen(hex) / 2;
    uint8_t *p = malloc(n);
    zn_auditlog_rec r;
    zn_doc doc;
    zn_err e;
    assert_non_null(p);
    assert_int_equal(zn_unhex(p, n, hex), 0);
    if (zn_auditlog_parse(p, n, &doc, &r, &e) != 0)
        fail_msg("refused %s: %s", hex, e.text);
    zn_doc_free(&doc);
    free(p);
}

/* a || b || c || d (NULL parts are empty), kept until s_cat_free() */
static char *s_cat_kept[64];
static size_t s_cat_n;

static char *s_cat(const char *a, const char *b, const char *c, const char *d)
{
    const char *part[4] = {a, b, c, d};
    size_t n = 0, k = 0;
    for (int i = 0; i < 4; i++)
        n += part[i] ? strlen(part[i]) : 0;
    char *o = malloc(n + 1);
    assert_non_null(o);
    for (int i = 0; i < 4; i++)
        if (part[i]) {
            memcpy(o + k, part[i], strlen(part[i]));
            k += strlen(part[i]);
        }
    o[k] = '\0';
    assert_true(s_cat_n < 64);
    s_cat_kept[s_cat_n++] = o;
    return o;
}

static void s_cat_free(void)
{
    while (s_cat_n)
        free(s_cat_kept[--s_cat_n]);
}

static void test_records_malformed(void **state)
{
    (void)state;
    char b32[2 * 32 + 5], b31[2 * 31 + 5], b33[2 * 33 + 5], b64[2 * 64 + 5], b63[2 * 63 + 5];
    char big[2 * (32 * 1025) + 64];
    const char *E = "a5656e747279"; /* "entry" */
    snprintf(b32, sizeof b32, "c420%064d", 0);
    snprintf(b31, sizeof b31, "c41f%062d", 0);
    snprintf(b33, sizeof b33, "c421%066d", 0);
    snprintf(b64, sizeof b64, "c440%0128d", 0);
    snprintf(b63, sizeof b63, "c43f%0126d", 0);
    /* a canonical tree head: [1, 2, root 32 x 0x00, 1767225601000] */
    const char *head = "940102c4200000000000000000000000000000000000000000000000000000000000000000cf0000019b76daabe8";
    char headbin[2 * 60];
    snprintf(headbin, sizeof headbin, "c42e%s", head);

    /* the baselines parse */
    s_expect_parses(s_cat("95", E, "01", s_cat(b32, "c0c0", NULL, NULL)));
    s_expect_parses(s_cat("95", E, "01", s_cat(b32, b32, "c40199", NULL)));
    s_expect_parses(s_cat("93a6", "6c6561766573", "05", b64));
    s_expect_parses(s_cat("93a4", "68656164", headbin, b64));
    s_expect_parses("93a3656e640502");
    s_expect_parses("92a9636f6e76656e616e74c40199");

    s_expect_malformed("", "empty");
    s_expect_malformed("c0", NULL);
    s_expect_malformed("90", "type");
    s_expect_malformed("81a16101", NULL);                                   /* a map */
    s_expect_malformed(s_cat("91", E, NULL, NULL), "exactly 5 fields");
    s_expect_malformed(s_cat("96", E, "01", s_cat(b32, "c0c0c0", NULL, NULL)), "exactly 5 fields");
    s_expect_malformed("92a3666f6fc0", "type");                             /* unknown type */
    s_expect_malformed("92c405656e747279c0", "type");                       /* type as bin */
    s_expect_malformed(s_cat("95", E, "ff", s_cat(b32, "c0c0", NULL, NULL)), "index");
    s_expect_malformed(s_cat("95", E, "a131", s_cat(b32, "c0c0", NULL, NULL)), "index");
    s_expect_malformed(s_cat("95", E, "cf8000000000000000", s_cat(b32, "c0c0", NULL, NULL)),
                       "beyond");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b31, "c0c0", NULL, NULL)), "commitment");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b33, "c0c0", NULL, NULL)), "commitment");
    s_expect_malformed(s_cat("95", E, "01", s_cat("c0", "c0c0", NULL, NULL)), "commitment");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, b32, "c0", NULL)), "both or neither");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, "c0", "c40199", NULL)), "both or neither");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, b31, "c40199", NULL)), "salt");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, b32, "c400", NULL)), "entry");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, b32, "a3616263", NULL)), "entry");
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, b32, "9101", NULL)), NULL); /* nested */
    /* non-canonical: cc 01 for 1, str8 for the type, array16, bin16 for 32 bytes */
    s_expect_malformed(s_cat("95", E, "cc01", s_cat(b32, "c0c0", NULL, NULL)), "canonical");
    s_expect_malformed(s_cat("95d905656e747279", "01", s_cat(b32, "c0c0", NULL, NULL), NULL),
                       "canonical");
    s_expect_malformed(s_cat("dc0005", E, "01", s_cat(b32, "c0c0", NULL, NULL)), "canonical");
    s_expect_malformed(s_cat("95", E, "01", s_cat("c50020", b32 + 4, "c0c0", NULL)), "canonical");
    /* trailing and missing bytes */
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, "c0c0", "00", NULL)), NULL);
    s_expect_malformed(s_cat("95", E, "01", s_cat(b32, "c0", NULL, NULL)), NULL);
    /* floats are no part of any record */
    s_expect_malformed(s_cat("95", E, "ca3f800000", s_cat(b32, "c0c0", NULL, NULL)), NULL);

    /* leaves */
    s_expect_malformed("93a66c656176657305c400", "commitments");
    s_expect_malformed(s_cat("93a66c656176657305", b33, NULL, NULL), "commitments");
    s_expect_malformed(s_cat("93a66c6561766573a130", b64, NULL, NULL), "first index");
    s_expect_malformed(s_cat("93a66c6561766573cf7fffffffffffffff", b64, NULL, NULL), "beyond");
    s_expect_malformed(s_cat("92a66c6561766573", b64, NULL, NULL), "exactly 3 fields");
    snprintf(big, sizeof big, "93a66c656176657305c60000%04x", 32 * 1025);
    {
        size_t k = strlen(big);
        memset(big + k, '0', 2 * 32 * 1025);
        big[k + 2 * 32 * 1025] = '\0';
    }
    s_expect_malformed(big, "commitments");

    /* heads */
    s_expect_malformed(s_cat("93a468656164", b32, b64, NULL), "tree head");
    s_expect_malformed(s_cat("93a468656164", headbin, b63, NULL), "signature");
    s_expect_malformed(s_cat("93a468656164", headbin, "c0", NULL), "signature");
    s_expect_malformed(s_cat("93a468656164c42e940202", headbin + 10, b64, NULL), "tree head"); /* v2 */
    s_expect_malformed(s_cat("93a468656164c4309401cd0002", headbin + 10, b64, NULL), "tree head");
    s_expect_malformed(s_cat("92a468656164", headbin, NULL, NULL), "exactly 3 fields");

    /* end and convenant */
    s_expect_malformed("92a3656e6405", "exactly 3 fields");
    s_expect_malformed("93a3656e6405a178", "counts");
    s_expect_malformed("93a3656e64ff00", "counts");
    s_expect_malformed("93a3656e64cd000502", "canonical");
    s_expect_malformed("92a9636f6e76656e616e74c400", "convenant");
    s_expect_malformed("92a9636f6e76656e616e74a3616263", "convenant");
    s_expect_malformed("93a9636f6e76656e616e74c40199c0", "exactly 2 fields");
    s_cat_free();
}

/* ------------------------------------------------------------ lines */

static void test_line_formats(void **state)
{
    (void)state;
    /* entry 0 of docs/AUDIT.md 7.1 with its salt 00 01 .. 1f */
    static const char entry0[] =
        "9d0100cf0000019b76da80f0c0c0ae636f6e76656e616e742d6c6f6164c0c0a7616c6c6f776564c0c0c081a7"
        "76657273696f6e03";
    uint8_t entry[sizeof entry0 / 2], salt[ZN_AUDIT_SALT_LEN], d[ZN_HASH_LEN];
    msgpack_sbuffer b, line;
    zn_err e;
    char expect[1024];

    assert_int_equal(zn_unhex(entry, sizeof entry, entry0), 0);
    for (int i = 0; i < ZN_AUDIT_SALT_LEN; i++)
        salt[i] = (uint8_t)i;
    zn_audit_commit(d, salt, entry, sizeof entry);
    msgpack_sbuffer_init(&b);
    msgpack_sbuffer_init(&line);
    assert_int_equal(zn_auditlog_enc_entry(&b, 0, d, salt, entry, sizeof entry, &e), 0);
    char *raw = zn_test_hex((const uint8_t *)b.data, b.size);
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_JSONL, (const uint8_t *)b.data, b.size, &e), 0);
    snprintf(expect, sizeof expect,
             "{\"record\":\"entry\",\"index\":0,\"time\":\"2025-12-31T23:59:50.000Z\",\"actor\":null,"
             "\"handler\":null,\"action\":\"convenant-load\",\"case\":null,\"counterpart\":null,"
             "\"decision\":\"allowed\",\"reason\":null,\"basis\":null,\"evidence\":null,"
             "\"details\":{\"version\":3},\"raw\":\"%s\"}\n",
             raw);
    assert_int_equal(line.size, strlen(expect));
    assert_memory_equal(line.data, expect, line.size);
    line.size = 0;
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_CSV, (const uint8_t *)b.data, b.size, &e), 0);
    snprintf(expect, sizeof expect,
             "entry,0,2025-12-31T23:59:50.000Z,,,convenant-load,,,allowed,,,\"{\"\"version\"\":3}\",%s\n",
             raw);
    assert_int_equal(line.size, strlen(expect));
    assert_memory_equal(line.data, expect, line.size);
    free(raw);

    /* redacted */
    b.size = line.size = 0;
    assert_int_equal(zn_auditlog_enc_entry(&b, 7, d, NULL, NULL, 0, &e), 0);
    raw = zn_test_hex((const uint8_t *)b.data, b.size);
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_JSONL, (const uint8_t *)b.data, b.size, &e), 0);
    snprintf(expect, sizeof expect, "{\"record\":\"entry\",\"index\":7,\"redacted\":true,\"raw\":\"%s\"}\n",
             raw);
    assert_int_equal(line.size, strlen(expect));
    assert_memory_equal(line.data, expect, line.size);
    line.size = 0;
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_CSV, (const uint8_t *)b.data, b.size, &e), 0);
    snprintf(expect, sizeof expect, "entry,7,,,,,,,,,,\"{\"\"redacted\"\":true}\",%s\n", raw);
    assert_int_equal(line.size, strlen(expect));
    assert_memory_equal(line.data, expect, line.size);
    free(raw);

    /* end */
    b.size = line.size = 0;
    assert_int_equal(zn_auditlog_enc_end(&b, 5, 2, &e), 0);
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_JSONL, (const uint8_t *)b.data, b.size, &e), 0);
    static const char end_j[] = "{\"record\":\"end\",\"entries\":5,\"heads\":2,\"raw\":\"93a3656e640502\"}\n";
    assert_int_equal(line.size, strlen(end_j));
    assert_memory_equal(line.data, end_j, line.size);
    line.size = 0;
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_CSV, (const uint8_t *)b.data, b.size, &e), 0);
    static const char end_c[] = "end,,,,,,,,,,,\"{\"\"entries\"\":5,\"\"heads\"\":2}\",93a3656e640502\n";
    assert_int_equal(line.size, strlen(end_c));
    assert_memory_equal(line.data, end_c, line.size);

    /* a refused record appends nothing */
    line.size = 0;
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_JSONL, (const uint8_t *)"\x90", 1, &e), -1);
    assert_int_equal(line.size, 0);

    /* an entry that does not decode cannot be written */
    b.size = 0;
    entry[sizeof entry - 1] = 0x04; /* still canonical bytes of the record, but the entry... */
    entry[1] = 0x02;                /* ... has version 2 */
    zn_audit_commit(d, salt, entry, sizeof entry);
    assert_int_equal(zn_auditlog_enc_entry(&b, 0, d, salt, entry, sizeof entry, &e), 0);
    assert_int_equal(zn_auditlog_line(&line, ZN_AUDITLOG_JSONL, (const uint8_t *)b.data, b.size, &e), -1);
    assert_int_equal(line.size, 0);

    /* the lines of a whole log: text escaped and quoted, times in UTC with milliseconds */
    s_spec sp = s_default();
    sp.head_time = 1709210096789ull; /* 2024-02-29T12:34:56.789Z */
    s_log L;
    s_lines J, C;
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &J);
    s_render(&L, ZN_AUDITLOG_CSV, &C);
    size_t k = s_find(&J, "entry", 2);
    assert_non_null(strstr(J.line[k], ",\"time\":\"2026-01-01T00:00:02.123Z\",\"actor\":\"school\","
                                      "\"handler\":\"J. \\\"Jan\\\" de Vries, IB\\\\2\",\"action\":\"send\","));
    assert_non_null(strstr(J.line[k], "\"evidence\":\"envelope-header\",\"details\":{\"msgid\":\"02111111"));
    k = s_find(&C, "entry", 2);
    assert_non_null(strstr(C.line[k], ",2026-01-01T00:00:02.123Z,school,\"J. \"\"Jan\"\" de Vries, IB\\2\",send,"));
    assert_non_null(strstr(J.line[s_find_nth(&J, "head", 0)], "\"time\":\"2024-02-29T12:34:56.789Z\""));
    assert_non_null(strstr(C.line[s_find_nth(&C, "head", 0)], "head,,2024-02-29T12:34:56.789Z,,,,,,,,,\"{\"\"root\"\":\""));
    assert_non_null(strstr(J.line[0], "{\"record\":\"convenant\",\"version\":1,"
                                      "\"name\":\"Zorgnetwerk \\\"Test\\\", Oldenzaal\",\"raw\":\""));
    assert_non_null(strstr(C.line[1], "convenant,,,,,,,,,,,\"{\"\"name\"\":\"\"Zorgnetwerk \\\"\"Test\\\"\", "
                                      "Oldenzaal\"\",\"\"version\"\":1}\","));
    s_lines_free(&J);
    s_lines_free(&C);
    s_log_free(&L);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&line);
}

/* ------------------------------------------------------------ verifying */

static void test_verify_ok(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_build(&sp, &L);
    for (int f = ZN_AUDITLOG_JSONL; f <= ZN_AUDITLOG_CSV; f++) {
        s_lines x;
        s_render(&L, (zn_auditlog_format)f, &x);
        s_result r = s_verify(&x, NULL);
        s_expect_ok(&r);
        assert_int_equal(r.r.format, f);
        assert_true(r.r.lines == x.n);
        assert_true(r.r.convenants == 1);
        assert_true(r.r.entries == 24 && r.r.redacted == 0 && r.r.leaves == 0);
        assert_true(r.r.heads == 5);   /* after 5, 10, 15, 20 and 24 entries */
        assert_true(r.r.signatures == 23); /* every entry but the convenant load */
        assert_true(r.r.size == 24);
        assert_memory_equal(r.r.root, L.root, ZN_HASH_LEN);
        /* each group of checks alone passes too */
        r = s_verify_cut(&x, 0, NULL, ZN_AUDITLOG_TREE);
        s_expect_ok(&r);
        assert_true(r.r.signatures == 0);
        r = s_verify_cut(&x, 0, NULL, ZN_AUDITLOG_CONTENT);
        s_expect_ok(&r);
        assert_true(r.r.signatures == 23);
        s_lines_free(&x);
    }

    /* the same records fed one by one */
    zn_err e;
    zn_auditlog_report rep;
    zn_auditlog_verifier *v = zn_auditlog_verify_new(s_auth.pub.sign, NULL, ZN_AUDITLOG_ALL, &e);
    assert_non_null(v);
    for (size_t i = 0; i < L.count; i++) {
        zn_doc doc;
        zn_auditlog_rec rec;
        assert_int_equal(zn_auditlog_parse(L.p[i], L.n[i], &doc, &rec, &e), 0);
        if (zn_auditlog_verify_feed(v, i + 1, &rec, &e) != 0)
            fail_msg("feed: %s", e.text);
        zn_doc_free(&doc);
    }
    assert_int_equal(zn_auditlog_verify_finish(v, &rep, &e), 0);
    assert_true(rep.entries == 24 && rep.heads == 5 && rep.signatures == 23 && rep.lines == L.count);
    assert_memory_equal(rep.root, L.root, ZN_HASH_LEN);
    zn_auditlog_verify_destroy(&v);
    zn_auditlog_verify_destroy(&v); /* safe twice */
    assert_null(v);

    /* zn_auditlog_verify_file: both groups in one pass */
    {
        s_lines x;
        size_t len;
        s_render(&L, ZN_AUDITLOG_CSV, &x);
        char *text = s_text(&x, 0, &len);
        char *path = s_tmpfile(text, len);
        assert_int_equal(zn_auditlog_verify_file(path, s_auth.pub.sign, NULL, 2, &rep, &e), 0);
        assert_true(rep.signatures == 23 && rep.format == ZN_AUDITLOG_CSV);
        /* the wrong authority pinned */
        assert_int_equal(zn_auditlog_verify_file(path, s_auth2.pub.sign, NULL, 2, &rep, &e), -1);
        assert_non_null(strstr(e.text, "line 2: convenant version 1 is signed by another authority"));
        unlink(path);
        free(path);
        free(text);
        s_lines_free(&x);
        assert_int_equal(zn_auditlog_verify_file("/nonexistent/x.jsonl", s_auth.pub.sign, NULL, 1,
                                                 &rep, &e), -1);
        assert_int_equal(e.code, ZN_E_IO);
    }
    s_log_free(&L);
}

static void test_tamper_raw_byte(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_build(&sp, &L);
    for (int f = ZN_AUDITLOG_JSONL; f <= ZN_AUDITLOG_CSV; f++) {
        s_lines x;
        s_render(&L, (zn_auditlog_format)f, &x);
        size_t k = s_find(&x, "entry", 9);
        /* a digit near the end of raw: inside the entry bytes (its last detail) */
        char *t = x.line[k];
        size_t pos = strlen(t) - (f == ZN_AUDITLOG_JSONL ? 3 : 1) - 4;
        t[pos] = t[pos] == '0' ? '1' : '0';
        s_result r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k), "entry 9:", "the commitment does not match (entry or salt changed)",
                      NULL);
        /* a digit that is no hex digit */
        t[pos] = 'g';
        r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k), "raw field is not the lowercase hex", NULL);
        s_lines_free(&x);

        /* the neighbours of the digit ranges and upper case, at the start, in the middle and at
         * the end of raw (the decoder takes sixteen digits at a time, then one by one) */
        static const char not_hex[] = "/:`gAF";
        s_render(&L, (zn_auditlog_format)f, &x);
        k = s_find(&x, "entry", 10);
        t = x.line[k];
        size_t end = strlen(t) - (f == ZN_AUDITLOG_JSONL ? 2 : 0);
        size_t start = (size_t)(strrchr(t, f == ZN_AUDITLOG_JSONL ? ':' : ',') - t) +
                       (f == ZN_AUDITLOG_JSONL ? 2 : 1);
        const size_t at[] = {start, start + 1, start + 17, (start + end) / 2, end - 9, end - 1};
        for (size_t a = 0; a < sizeof at / sizeof at[0]; a++)
            for (size_t c = 0; c < sizeof not_hex - 1; c++) {
                char keep = t[at[a]];
                t[at[a]] = not_hex[c];
                size_t len;
                char *text = s_text(&x, 0, &len);
                r = s_verify_text(text, len, NULL, ZN_AUDITLOG_TREE, 1, 0);
                free(text);
                s_expect_fail(&r, s_at(k), "raw field is not the lowercase hex", NULL);
                t[at[a]] = keep;
            }
        r = s_verify(&x, NULL);
        s_expect_ok(&r);
        s_lines_free(&x);
    }
    s_log_free(&L);
}

static void test_tamper_readable_field(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_build(&sp, &L);
    s_lines x;
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    size_t k = s_find(&x, "entry", 6);
    s_replace(&x, k, "\"counterpart\":\"wijkracht\"", "\"counterpart\":\"politie\"");
    s_result r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), ": the readable fields do not match the raw record", NULL);
    /* the tree checks alone do not look at the readable fields */
    r = s_verify_cut(&x, 0, NULL, ZN_AUDITLOG_TREE);
    s_expect_ok(&r);
    r = s_verify_cut(&x, 0, NULL, ZN_AUDITLOG_CONTENT);
    s_expect_fail(&r, s_at(k), "readable fields", NULL);
    s_lines_free(&x);

    s_render(&L, ZN_AUDITLOG_CSV, &x);
    k = s_find(&x, "entry", 9);
    s_replace(&x, k, ",refused,", ",allowed,");
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "readable fields do not match", NULL);
    s_lines_free(&x);

    /* every record type is rendered and compared: a head's time, the convenant's name */
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    k = s_find_nth(&x, "head", 1);
    s_replace(&x, k, "\"time\":\"2026", "\"time\":\"2025");
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "readable fields", NULL);
    s_lines_free(&x);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    s_replace(&x, 0, "Oldenzaal", "Hengelo");
    r = s_verify(&x, NULL);
    s_expect_fail(&r, "line 1: the readable fields", NULL);
    s_lines_free(&x);
    s_log_free(&L);
}

static void test_tamper_lines(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_build(&sp, &L);
    for (int f = ZN_AUDITLOG_JSONL; f <= ZN_AUDITLOG_CSV; f++) {
        s_lines x;
        s_result r;
        size_t k;

        /* a deleted entry line */
        s_render(&L, (zn_auditlog_format)f, &x);
        k = s_find(&x, "entry", 7);
        s_delete(&x, k);
        r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k), ": entry 7 is missing (found entry 8)", NULL);
        s_lines_free(&x);

        /* two entry lines swapped */
        s_render(&L, (zn_auditlog_format)f, &x);
        k = s_find(&x, "entry", 11);
        char *t = x.line[k];
        x.line[k] = x.line[k + 1];
        x.line[k + 1] = t;
        r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k), ": entry 11 is missing (found entry 12)", NULL);
        s_lines_free(&x);

        /* an entry line repeated */
        s_render(&L, (zn_auditlog_format)f, &x);
        k = s_find(&x, "entry", 16);
        x.line[x.n] = x.line[x.n - 1];
        memmove(&x.line[k + 2], &x.line[k + 1], (x.n - k - 1) * sizeof x.line[0]);
        x.line[k + 1] = strdup(x.line[k]);
        x.n++;
        r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k + 1), ": entries out of order: found entry 16 after entry 16", NULL);
        s_lines_free(&x);

        /* an entry removed with the head after it */
        s_render(&L, (zn_auditlog_format)f, &x);
        k = s_find(&x, "entry", 4);
        s_delete(&x, k); /* entry 4 */
        s_delete(&x, k); /* head of size 5 */
        r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k), "entry 4 is missing (found entry 5)", NULL);
        s_lines_free(&x);

        /* an empty line, a line that is no record */
        s_render(&L, (zn_auditlog_format)f, &x);
        k = s_find(&x, "entry", 3);
        x.line[k][0] = '\0';
        r = s_verify(&x, NULL);
        s_expect_fail(&r, s_at(k), "the line is empty", NULL);
        s_lines_free(&x);
    }
    s_log_free(&L);
}

static void test_truncated(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_build(&sp, &L);
    for (int f = ZN_AUDITLOG_JSONL; f <= ZN_AUDITLOG_CSV; f++) {
        s_lines x;
        size_t total, k, cut;
        s_result r;
        s_render(&L, (zn_auditlog_format)f, &x);
        free(s_text(&x, 0, &total));

        /* (a) in the middle of a line */
        k = s_find(&x, "entry", 13);
        cut = strlen(x.line[k]) / 2 + 1;
        for (size_t i = k + 1; i < x.n; i++)
            cut += strlen(x.line[i]) + 1;
        r = s_verify_cut(&x, cut, NULL, ZN_AUDITLOG_ALL);
        s_expect_fail(&r, s_at(k), "the file ends in the middle of it (truncated)", NULL);
        r = s_verify_cut(&x, cut, NULL, ZN_AUDITLOG_TREE);
        s_expect_fail(&r, s_at(k), "truncated", NULL);

        /* (a') at the end of a line in the middle */
        cut -= strlen(x.line[k]) / 2 + 1;
        r = s_verify_cut(&x, cut, NULL, ZN_AUDITLOG_ALL);
        s_expect_fail(&r, "the file ends without its end record: it is truncated", NULL);

        /* (b) right after a head line */
        k = s_find_nth(&x, "head", 3);
        cut = 0;
        for (size_t i = k + 1; i < x.n; i++)
            cut += strlen(x.line[i]) + 1;
        r = s_verify_cut(&x, cut, NULL, ZN_AUDITLOG_ALL);
        s_expect_fail(&r, "the file ends without its end record: it is truncated", NULL);
        assert_true(r.r.entries == 20 && r.r.heads == 4);

        /* only the last byte, the '\n' of the end record */
        r = s_verify_cut(&x, 1, NULL, ZN_AUDITLOG_ALL);
        s_expect_fail(&r, s_at(x.n - 1), "truncated", NULL);

        /* everything */
        r = s_verify_cut(&x, total, NULL, ZN_AUDITLOG_ALL);
        s_expect_fail(&r, "the file is empty", NULL);
        s_lines_free(&x);
    }
    s_log_free(&L);
}

static void test_head_signature(void **state)
{
    (void)state;
    s_spec sp = s_default();
    sp.bad_head_sig = 2;
    s_log L;
    s_lines x;
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    size_t k = s_find_nth(&x, "head", 2);
    s_result r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k),
                  ": the signature of the tree head of size 15 signed at 2026-01-01T00:00:14.500Z does "
                  "not verify with the broker key of convenant version 1",
                  NULL);
    /* the content checks alone do not verify heads */
    r = s_verify_cut(&x, 0, NULL, ZN_AUDITLOG_CONTENT);
    s_expect_ok(&r);
    s_lines_free(&x);
    s_log_free(&L);
}

static void test_head_mismatch(void **state)
{
    (void)state;
    /* a lying broker: entry 7's bytes replaced by those of another log, commitment recomputed,
     * the head after it signed anew by the broker's real key... the old head before it still
     * stands, but the rebuilt tree shows it; here: heads of one log over the entries of another */
    s_spec sp = s_default();
    s_log A, B;
    s_build(&sp, &A);
    s_build(&sp, &B); /* the same entries with fresh salts: other commitments */
    /* A's records with B's entry 7 (consistent in itself: its commitment holds) */
    size_t ia = 0, ib = 0;
    for (size_t i = 0; i < A.count; i++) {
        zn_doc d1;
        zn_auditlog_rec r1;
        zn_err e;
        assert_int_equal(zn_auditlog_parse(A.p[i], A.n[i], &d1, &r1, &e), 0);
        if (r1.type == ZN_AUDITLOG_ENTRY && r1.index == 7)
            ia = i;
        zn_doc_free(&d1);
        assert_int_equal(zn_auditlog_parse(B.p[i], B.n[i], &d1, &r1, &e), 0);
        if (r1.type == ZN_AUDITLOG_ENTRY && r1.index == 7)
            ib = i;
        zn_doc_free(&d1);
    }
    uint8_t *t = A.p[ia];
    size_t tn = A.n[ia];
    A.p[ia] = B.p[ib];
    A.n[ia] = B.n[ib];
    s_lines x;
    s_render(&A, ZN_AUDITLOG_JSONL, &x);
    size_t k = s_find_nth(&x, "head", 1);
    s_result r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k),
                  ": tree head of size 10 signed at 2026-01-01T00:00:09.500Z does not match the entries: "
                  "an entry was changed, removed or reordered before index 10",
                  NULL);
    A.p[ia] = t;
    A.n[ia] = tn;
    s_lines_free(&x);
    s_log_free(&A);
    s_log_free(&B);
}

static void test_forged_evidence(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_lines x;
    s_result r;

    sp.forge = 7; /* a send: its envelope header signed by another key than school's */
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    size_t k = s_find(&x, "entry", 7);
    r = s_verify_cut(&x, 0, NULL, ZN_AUDITLOG_TREE); /* commitments, tree and heads all hold */
    s_expect_ok(&r);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "entry 7:",
                  "the evidence signature does not verify with the key of school in convenant version 1 "
                  "in force (forged or altered evidence)",
                  NULL);
    s_lines_free(&x);
    s_log_free(&L);

    sp.forge = 13; /* a case-new: its signed request */
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_CSV, &x);
    k = s_find(&x, "entry", 13);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "entry 13:", "does not verify with the key of school", NULL);
    s_lines_free(&x);
    s_log_free(&L);

    /* without a convenant-load entry in the export the key comes from any convenant */
    sp.forge = 12;
    sp.leaves_upto = 3;
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    k = s_find(&x, "entry", 12);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "entry 12:", "does not verify with any key the convenants list for school",
                  NULL);
    s_lines_free(&x);
    s_log_free(&L);
}

static void test_key_rotation(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_lines x;
    s_result r;

    sp.rotate_at = 10; /* convenant 2 (school's new key) loaded by entry 10 */
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    r = s_verify(&x, NULL);
    s_expect_ok(&r);
    assert_true(r.r.convenants == 2 && r.r.signatures == 22);
    s_lines_free(&x);
    s_log_free(&L);

    /* after the rotation the old key no longer counts */
    sp.old_key_at = 14;
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_CSV, &x);
    size_t k = s_find(&x, "entry", 14);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "entry 14:", "school in convenant version 2 in force", NULL);
    s_lines_free(&x);

    /* convenants out of order, or after the entries */
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    char *t = x.line[0];
    x.line[0] = x.line[1];
    x.line[1] = t;
    r = s_verify(&x, NULL);
    s_expect_fail(&r, "line 2: convenant versions must ascend: version 1 follows version 2", NULL);
    t = x.line[0];
    memmove(&x.line[0], &x.line[1], 3 * sizeof x.line[0]);
    x.line[3] = t; /* convenant 2 after entries 0 and 1 */
    r = s_verify(&x, NULL);
    s_expect_fail(&r, "line 4: a convenant record after the first entry", NULL);
    s_delete(&x, 3);
    s_delete(&x, 0); /* no convenant at all */
    r = s_verify(&x, NULL);
    s_expect_fail(&r, "line 1: the file holds no convenant record before its first entry record", NULL);
    s_lines_free(&x);
    s_log_free(&L);
}

static void test_other_authority(void **state)
{
    (void)state;
    s_spec sp = s_default();
    sp.other_authority = true;
    s_log L;
    s_lines x;
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    s_result r = s_verify(&x, NULL);
    s_expect_fail(&r, "line 1: convenant version 1 is signed by another authority than the one this "
                      "client pins",
                  NULL);
    s_lines_free(&x);
    s_log_free(&L);

    /* a convenant record whose bytes were altered: its signature fails */
    sp.other_authority = false;
    s_build(&sp, &L);
    L.p[0][L.n[0] - 70] ^= 0x01; /* inside the body, before the 64-byte signature */
    msgpack_sbuffer b;
    zn_err e;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_auditlog_line(&b, ZN_AUDITLOG_JSONL, L.p[0], L.n[0], &e), -1);
    msgpack_sbuffer_destroy(&b);
    zn_auditlog_verifier *v = zn_auditlog_verify_new(s_auth.pub.sign, NULL, ZN_AUDITLOG_ALL, &e);
    zn_doc doc;
    zn_auditlog_rec rec;
    assert_int_equal(zn_auditlog_parse(L.p[0], L.n[0], &doc, &rec, &e), 0);
    assert_int_equal(zn_auditlog_verify_feed(v, 1, &rec, &e), -1);
    assert_non_null(strstr(e.text, "line 1: the convenant does not decode or its signature does not hold"));
    zn_doc_free(&doc);
    /* after a failure the verifier refuses everything */
    assert_int_equal(zn_auditlog_parse(L.p[1], L.n[1], &doc, &rec, &e), 0);
    assert_int_equal(zn_auditlog_verify_feed(v, 2, &rec, &e), -1);
    assert_int_equal(zn_auditlog_verify_finish(v, NULL, &e), -1);
    zn_doc_free(&doc);
    zn_auditlog_verify_destroy(&v);
    s_log_free(&L);
}

static void test_redacted_and_leaves(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_lines x;
    s_result r;

    sp.redact = 6;
    sp.leaves_upto = 3; /* entries 0, 1, 2 outside the export: one leaves record */
    s_build(&sp, &L);
    for (int f = ZN_AUDITLOG_JSONL; f <= ZN_AUDITLOG_CSV; f++) {
        s_render(&L, (zn_auditlog_format)f, &x);
        r = s_verify(&x, NULL);
        s_expect_ok(&r);
        assert_true(r.r.entries == 20 && r.r.redacted == 1 && r.r.leaves == 3);
        assert_true(r.r.signatures == 20);
        assert_memory_equal(r.r.root, L.root, ZN_HASH_LEN);
        s_lines_free(&x);
    }
    s_log_free(&L);

    /* leaves across heads: one record per run between heads */
    sp = s_default();
    sp.leaves_upto = 12;
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    r = s_verify(&x, NULL);
    s_expect_ok(&r);
    assert_true(r.r.leaves == 12 && r.r.entries == 12);
    /* a leaves record whose first index is off */
    size_t k = s_find_nth(&x, "leaves", 1);
    s_delete(&x, k); /* leaves 5 .. 9 */
    s_delete(&x, k); /* the head of size 10 */
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(k), "entry 5 is missing (found leaves from entry 10)", NULL);
    s_lines_free(&x);
    s_log_free(&L);
}

static void test_known_head(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_lines x;
    s_result r;
    zn_tree_head known;

    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    /* consistent: the root after 13 entries */
    known.size = 13;
    known.time_ms = 0;
    memcpy(known.root, L.root_at[12], ZN_HASH_LEN);
    r = s_verify(&x, &known);
    s_expect_ok(&r);
    /* the whole log */
    known.size = 24;
    memcpy(known.root, L.root, ZN_HASH_LEN);
    r = s_verify(&x, &known);
    s_expect_ok(&r);
    /* inconsistent */
    known.size = 13;
    memcpy(known.root, L.root_at[11], ZN_HASH_LEN);
    size_t k = s_find(&x, "entry", 12);
    r = s_verify(&x, &known);
    s_expect_fail(&r, s_at(k), "the log is not consistent with the tree head of size 13 this client accepted "
                               "before",
                  NULL);
    /* larger than the file (rolled back, or an export of an older log) */
    known.size = 30;
    r = s_verify(&x, &known);
    s_expect_fail(&r, "the export is shorter than the tree head of size 30 this client accepted before "
                      "(truncated or rolled back)",
                  NULL);
    /* an empty known head */
    known.size = 0;
    zn_merkle_empty_root(known.root);
    r = s_verify(&x, &known);
    s_expect_ok(&r);
    known.root[0] ^= 1;
    r = s_verify(&x, &known);
    s_expect_fail(&r, "tree head of size 0", NULL);
    s_lines_free(&x);
    s_log_free(&L);
}

static void test_coverage_and_end(void **state)
{
    (void)state;
    s_spec sp = s_default();
    s_log L;
    s_lines x;
    s_result r;

    sp.no_final_head = true; /* entries 20 .. 23 come after the last head */
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(x.n - 1),
                  "entry 20 and the entries after it are not covered by the last signed tree head", NULL);
    s_lines_free(&x);
    s_log_free(&L);

    sp = s_default();
    sp.head_every = 0;
    sp.no_final_head = true; /* no head at all */
    s_build(&sp, &L);
    s_render(&L, ZN_AUDITLOG_CSV, &x);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, "entry 0 and the entries after it are not covered by any signed tree head", NULL);
    s_lines_free(&x);
    s_log_free(&L);

    /* an end record that counts wrong, a record after the end */
    sp = s_default();
    s_build(&sp, &L);
    msgpack_sbuffer b;
    zn_err e;
    msgpack_sbuffer_init(&b);
    assert_int_equal(zn_auditlog_enc_end(&b, 25, 5, &e), 0);
    free(L.p[L.count - 1]);
    L.count--;
    s_log_add(&L, &b);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(x.n - 1), "the end record counts 25 entries but the file holds 24", NULL);
    s_lines_free(&x);
    b.size = 0;
    assert_int_equal(zn_auditlog_enc_end(&b, 24, 5, &e), 0);
    free(L.p[L.count - 1]);
    L.count--;
    s_log_add(&L, &b);
    s_log_add(&L, &b);
    s_render(&L, ZN_AUDITLOG_JSONL, &x);
    r = s_verify(&x, NULL);
    s_expect_fail(&r, s_at(x.n - 1), "a record follows the end record", NULL);
    s_lines_free(&x);
    msgpack_sbuffer_destroy(&b);
    s_log_free(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_roundtrip),
        cmocka_unit_test(test_records_malformed),
        cmocka_unit_test(test_line_formats),
        cmocka_unit_test(test_verify_ok),
        cmocka_unit_test(test_tamper_raw_byte),
        cmocka_unit_test(test_tamper_readable_field),
        cmocka_unit_test(test_tamper_lines),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_head_signature),
        cmocka_unit_test(test_head_mismatch),
        cmocka_unit_test(test_forged_evidence),
        cmocka_unit_test(test_key_rotation),
        cmocka_unit_test(test_other_authority),
        cmocka_unit_test(test_redacted_and_leaves),
        cmocka_unit_test(test_known_head),
        cmocka_unit_test(test_coverage_and_end),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
