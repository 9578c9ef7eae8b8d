/* zn_bench_audit — how long the offline verifier takes over a large audit-log export
 * (docs/AUDIT.md section 8).
 *
 * Writes, in a fresh temporary directory, a JSON-lines export of N realistic entries (default
 * 1,000,000): entry 0 loads the convenant, every other entry is a "send" by one of eight partners
 * with an envelope header as evidence (a pool of 1000 headers, each properly signed by its
 * sender, so that generating stays fast; the entries vary in index, time, case, decision and
 * msgid), a signed tree head after every 1000 entries and after the last, one convenant record
 * and the end record. Then it verifies the file twice, timing each group of checks alone:
 *   merkle+commitments   ZN_AUDITLOG_TREE: read lines, decode raw, parse records, recompute every
 *                        commitment and leaf, rebuild the tree, verify every head (the target:
 *                        under 3 s for 1,000,000 entries on two cores)
 *   signatures+fields    ZN_AUDITLOG_CONTENT: strict entry decoding, the readable fields of every
 *                        line, one Ed25519 verification per evidence signature
 * Output: one line `audit-verify entries=... file_mb=... merkle+commitments_s=...
 * signatures+fields_s=... target_s=3 ...`. Exit status: 0 when both passes verify the file
 * (whatever the times), 1 when a pass fails, 2 on a usage error.
 *
 * Options: --entries N, --threads T (0: one per CPU), --dir DIR (where the temporary directory
 * goes; default $TMPDIR or /tmp), --keep (leave the file). */
#include "zn_audit.h"
#include "zn_auditlog.h"
#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_merkle.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define B_PARTNERS 8
#define B_POOL 1000
#define B_HEAD_EVERY 1000
#define B_NET "0-12-binnenstad"
#define B_HANDLER "J. de Vries (IB)"
#define B_T0 1767225600000ull /* 2026-01-01T00:00:00Z */

typedef struct {
    uint8_t header[ZN_MAX_HEADER];
    size_t len;
    uint8_t sig[ZN_SIG_LEN];
    uint8_t case_id[ZN_ID_LEN];
    int sender, recipient;
} b_hdr;

static zn_seckeys b_auth, b_broker, b_part[B_PARTNERS];
static char b_ids[B_PARTNERS][ZN_IDENT_MAX];
static b_hdr b_pool[B_POOL];

static double b_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void b_die(const char *what, const zn_err *e)
{
    fprintf(stderr, "zn_bench_audit: %s: %s\n", what, e ? e->text : strerror(errno));
    exit(1);
}

static void b_keys(zn_seckeys *k, zn_kind kind, uint8_t seed_byte)
{
    uint8_t seed[32];
    memset(k, 0, sizeof *k);
    k->pub.kind = kind;
    memset(seed, seed_byte, sizeof seed);
    if (crypto_sign_seed_keypair(k->pub.sign, k->sign, seed) != 0)
        b_die("keys", NULL);
    seed[0] ^= 0x40;
    if (kind != ZN_KIND_AUTHORITY && crypto_box_seed_keypair(k->pub.transport, k->transport, seed) != 0)
        b_die("keys", NULL);
    seed[0] ^= 0x80;
    if (kind == ZN_KIND_PARTNER && crypto_box_seed_keypair(k->pub.box, k->box, seed) != 0)
        b_die("keys", NULL);
}

static zn_convenant *b_convenant(void)
{
    zn_convenant *c = zn_convenant_new();
    zn_err e;
    if (!c)
        b_die("convenant", NULL);
    snprintf(c->name, sizeof c->name, "Zorgnetwerk Benchmark");
    c->version = 1;
    c->valid_from = 1700000000;
    c->valid_until = 1900000000;
    memcpy(c->authority, b_auth.pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, b_broker.pub.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, b_broker.pub.sign, ZN_KEY_LEN);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:7450");
    c->n_networks = 1;
    snprintf(c->networks[0], ZN_IDENT_MAX, B_NET);
    c->partners = calloc(B_PARTNERS, sizeof *c->partners);
    if (!c->partners)
        b_die("convenant", NULL);
    c->n_partners = B_PARTNERS;
    for (int i = 0; i < B_PARTNERS; i++) {
        zn_partner *p = &c->partners[i];
        memcpy(p->id, b_ids[i], sizeof p->id);
        snprintf(p->name, sizeof p->name, "Partner %d", i);
        snprintf(p->category, sizeof p->category, "school");
        p->keys = b_part[i].pub;
        p->roles[0] = ZN_ROLE_PARTNER;
    }
    if (zn_convenant_sign(c, &b_auth, &e) != 0)
        b_die("convenant", &e);
    return c;
}

static void b_make_pool(void)
{
    for (int j = 0; j < B_POOL; j++) {
        b_hdr *h = &b_pool[j];
        uint8_t msgid[ZN_ID_LEN], ct[ZN_HASH_LEN];
        msgpack_sbuffer b;
        msgpack_packer pk;
        h->sender = j % B_PARTNERS;
        h->recipient = (j + 1 + j / B_PARTNERS % (B_PARTNERS - 1)) % B_PARTNERS;
        randombytes_buf(msgid, sizeof msgid);
        randombytes_buf(h->case_id, sizeof h->case_id);
        randombytes_buf(ct, sizeof ct);
        msgpack_sbuffer_init(&b);
        msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 10);
        msgpack_pack_uint64(&pk, 1);
        zn_pack_bin(&pk, msgid, ZN_ID_LEN);
        zn_pack_bin(&pk, h->case_id, ZN_ID_LEN);
        zn_pack_str(&pk, b_ids[h->sender]);
        zn_pack_str(&pk, B_HANDLER);
        zn_pack_str(&pk, b_ids[h->recipient]);
        msgpack_pack_uint64(&pk, B_T0 + (uint64_t)j);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_uint64(&pk, 0);
        zn_pack_bin(&pk, ct, ZN_HASH_LEN);
        if (b.size > sizeof h->header)
            b_die("header", NULL);
        memcpy(h->header, b.data, b.size);
        h->len = b.size;
        msgpack_sbuffer_destroy(&b);
        if (zn_sign_ns(h->sig, ZN_ENVELOPE_NS, h->header, h->len, b_part[h->sender].sign) != 0)
            b_die("sign", NULL);
    }
}

static void b_put(FILE *fp, msgpack_sbuffer *rec, msgpack_sbuffer *line)
{
    zn_err e;
    line->size = 0;
    if (zn_auditlog_line(line, ZN_AUDITLOG_JSONL, (const uint8_t *)rec->data, rec->size, &e) != 0)
        b_die("line", &e);
    if (fwrite(line->data, 1, line->size, fp) != line->size)
        b_die("write", NULL);
}

/* Entry i: the convenant load, or a send with evidence from the pool. */
static void b_entry(uint64_t i, msgpack_sbuffer *out)
{
    zn_audit_entry en;
    zn_audit_detail d[3];
    uint8_t msgid[ZN_ID_LEN];
    zn_err e;

    memset(&en, 0, sizeof en);
    memset(d, 0, sizeof d);
    en.index = i;
    en.time_ms = B_T0 + i * 50 + i % 7;
    en.decision = ZN_AUDIT_ALLOWED;
    if (i == 0) {
        en.action = "convenant-load";
        d[0].key = "version";
        d[0].type = ZN_AUDIT_U64;
        d[0].u64 = 1;
        en.details = d;
        en.n_details = 1;
    } else {
        const b_hdr *h = &b_pool[i % B_POOL];
        memcpy(msgid, &i, sizeof i);
        memset(msgid + sizeof i, 0x5a, sizeof msgid - sizeof i);
        en.actor = b_ids[h->sender];
        en.handler = B_HANDLER;
        en.action = "send";
        en.case_id = h->case_id;
        en.counterpart = b_ids[h->recipient];
        if (i % 50 == 0) {
            en.decision = ZN_AUDIT_REFUSED;
            en.reason = "quota-exceeded";
        }
        en.basis = "consent";
        en.evidence_kind = "envelope-header";
        en.evidence = h->header;
        en.evidence_len = h->len;
        en.evidence_sig = h->sig;
        d[0].key = "msgid";
        d[0].type = ZN_AUDIT_BIN;
        d[0].p = msgid;
        d[0].len = ZN_ID_LEN;
        d[1].key = "network";
        d[1].type = ZN_AUDIT_STR;
        d[1].p = (const uint8_t *)B_NET;
        d[1].len = strlen(B_NET);
        d[2].key = "queued";
        d[2].type = ZN_AUDIT_U64;
        d[2].u64 = i % 1000;
        en.details = d;
        en.n_details = 3;
    }
    if (zn_audit_entry_encode(out, &en, &e) != 0)
        b_die("entry", &e);
}

static void b_head(FILE *fp, const zn_merkle_frontier *fr, uint64_t time_ms, msgpack_sbuffer *rec,
                   msgpack_sbuffer *line)
{
    zn_tree_head th;
    uint8_t sig[ZN_SIG_LEN];
    msgpack_sbuffer hb;
    zn_err e;
    th.size = fr->size;
    th.time_ms = time_ms;
    zn_merkle_frontier_root(fr, th.root);
    msgpack_sbuffer_init(&hb);
    if (zn_tree_head_sign(&hb, sig, &th, &b_broker, &e) != 0)
        b_die("head", &e);
    rec->size = 0;
    if (zn_auditlog_enc_head(rec, (const uint8_t *)hb.data, hb.size, sig, &e) != 0)
        b_die("head record", &e);
    b_put(fp, rec, line);
    msgpack_sbuffer_destroy(&hb);
}

/* The export; returns its size in bytes. */
static uint64_t b_generate(const char *path, uint64_t n)
{
    FILE *fp = fopen(path, "wb");
    msgpack_sbuffer rec, line, eb;
    zn_merkle_frontier fr;
    uint64_t heads = 0;
    zn_err e;

    if (!fp)
        b_die(path, NULL);
    setvbuf(fp, NULL, _IOFBF, 1 << 20);
    msgpack_sbuffer_init(&rec);
    msgpack_sbuffer_init(&line);
    msgpack_sbuffer_init(&eb);
    zn_merkle_frontier_init(&fr);

    zn_convenant *c = b_convenant();
    if (zn_auditlog_enc_convenant(&rec, c->raw, c->raw_len, &e) != 0)
        b_die("convenant record", &e);
    b_put(fp, &rec, &line);
    zn_convenant_destroy(&c);

    for (uint64_t i = 0; i < n; i++) {
        uint8_t salt[ZN_AUDIT_SALT_LEN], d[ZN_HASH_LEN], leaf[ZN_HASH_LEN];
        eb.size = 0;
        b_entry(i, &eb);
        randombytes_buf(salt, sizeof salt);
        zn_audit_commit(d, salt, (const uint8_t *)eb.data, eb.size);
        zn_merkle_leaf_hash(leaf, d, sizeof d);
        if (zn_merkle_append(&fr, leaf, NULL, NULL) != 0)
            b_die("tree", NULL);
        rec.size = 0;
        if (zn_auditlog_enc_entry(&rec, i, d, salt, (const uint8_t *)eb.data, eb.size, &e) != 0)
            b_die("entry record", &e);
        b_put(fp, &rec, &line);
        if ((i + 1) % B_HEAD_EVERY == 0 || i + 1 == n) {
            b_head(fp, &fr, B_T0 + i * 50 + 25, &rec, &line);
            heads++;
        }
    }
    rec.size = 0;
    if (zn_auditlog_enc_end(&rec, n, heads, &e) != 0)
        b_die("end record", &e);
    b_put(fp, &rec, &line);
    /* on disk before the clock starts: no write-back competes with the verifier for the CPUs */
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || fclose(fp) != 0)
        b_die(path, NULL);
    msgpack_sbuffer_destroy(&rec);
    msgpack_sbuffer_destroy(&line);
    msgpack_sbuffer_destroy(&eb);
    struct stat st;
    if (stat(path, &st) != 0)
        b_die(path, NULL);
    return (uint64_t)st.st_size;
}

/* One verification pass with one group of checks; seconds, or -1 when it fails. */
static double b_pass(const char *path, unsigned checks, unsigned threads, uint64_t n,
                     zn_auditlog_report *r)
{
    zn_auditlog_opts o = {.authority = b_auth.pub.sign, .known = NULL, .checks = checks,
                          .threads = threads, .chunk_bytes = 0};
    zn_err e;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        b_die(path, NULL);
    double t0 = b_now();
    int rc = zn_auditlog_verify_stream(fp, &o, r, &e);
    double t = b_now() - t0;
    fclose(fp);
    if (rc != 0) {
        fprintf(stderr, "zn_bench_audit: verification failed: %s\n", e.text);
        return -1;
    }
    if (r->entries != n || r->heads != (n + B_HEAD_EVERY - 1) / B_HEAD_EVERY) {
        fprintf(stderr, "zn_bench_audit: the report counts %" PRIu64 " entries and %" PRIu64
                        " heads\n", r->entries, r->heads);
        return -1;
    }
    return t;
}

static int b_usage(void)
{
    fprintf(stderr, "usage: zn_bench_audit [--entries N] [--threads T] [--dir DIR] [--keep]\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    unsigned threads = 0;
    const char *dir = getenv("TMPDIR");
    bool keep = false;
    char tmpl[PATH_MAX], path[PATH_MAX + 32];
    zn_auditlog_report ra, rb;

    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--entries") == 0 && i + 1 < argc) {
            n = strtoull(argv[++i], &end, 10);
            if (!end || *end || n == 0 || n > 100000000)
                return b_usage();
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            unsigned long t = strtoul(argv[++i], &end, 10);
            if (!end || *end || t > 64)
                return b_usage();
            threads = (unsigned)t;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--keep") == 0) {
            keep = true;
        } else {
            return b_usage();
        }
    }
    if (sodium_init() < 0)
        b_die("libsodium", NULL);
    snprintf(tmpl, sizeof tmpl, "%s/zn-bench-audit-XXXXXX", dir && *dir ? dir : "/tmp");
    if (!mkdtemp(tmpl))
        b_die(tmpl, NULL);
    snprintf(path, sizeof path, "%s/export.jsonl", tmpl);

    b_keys(&b_auth, ZN_KIND_AUTHORITY, 0x0a);
    b_keys(&b_broker, ZN_KIND_BROKER, 0x05);
    for (int i = 0; i < B_PARTNERS; i++) {
        snprintf(b_ids[i], sizeof b_ids[i], "partner-%d", i);
        b_keys(&b_part[i], ZN_KIND_PARTNER, (uint8_t)(0x20 + i));
    }
    b_make_pool();

    double t0 = b_now();
    uint64_t bytes = b_generate(path, n);
    double gen = b_now() - t0;

    double ta = b_pass(path, ZN_AUDITLOG_TREE, threads, n, &ra);
    double tb = ta < 0 ? -1 : b_pass(path, ZN_AUDITLOG_CONTENT, threads, n, &rb);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (ta >= 0 && tb >= 0)
        printf("audit-verify entries=%" PRIu64 " file_mb=%.1f merkle+commitments_s=%.2f "
               "signatures+fields_s=%.2f target_s=3 heads=%" PRIu64 " signatures=%" PRIu64
               " threads=%u cpus=%ld generate_s=%.2f\n",
               n, (double)bytes / 1e6, ta, tb, ra.heads, rb.signatures, threads, cpus, gen);
    if (!keep) {
        unlink(path);
        rmdir(tmpl);
    } else {
        fprintf(stderr, "zn_bench_audit: kept %s\n", path);
    }
    zn_seckeys_wipe(&b_auth);
    zn_seckeys_wipe(&b_broker);
    for (int i = 0; i < B_PARTNERS; i++)
        zn_seckeys_wipe(&b_part[i]);
    return ta >= 0 && tb >= 0 ? 0 : 1;
}
