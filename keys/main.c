/* zorgnet-keys — key pairs and the convenant: create, edit, sign, verify, show.
 *
 * Exit status: 0 done, 1 a local fault (file, key file, memory), 2 a usage error (the command
 * line or a requested change is not acceptable), 5 a verification failure (signature, validity,
 * a key that is not the convenant's authority). docs/CONVENANT.md describes every command. */
#include "zn_convenant.h"
#include "zn_file.h"
#include "zn_keys.h"
#include "zn_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define S_PROG "zorgnet-keys"
#define S_MAX_VALUES 64
#define S_HEX_KEY (2 * ZN_KEY_LEN + 1)
#define S_SET_KEY_MAX 256 /* longer than any setting's name (disclosure:NET_A:NET_B:family) */

static const char s_usage[] =
    "usage:\n"
    "  zorgnet-keys new --kind authority|broker|partner --out NAME\n"
    "        write NAME.key (secret, mode 0600) and NAME.pub; never overwrites\n"
    "  zorgnet-keys show-pub FILE.pub\n"
    "  zorgnet-keys convenant init --authority A.key --broker B.pub --name TEXT --endpoint URL\n"
    "        [--valid-until YYYY-MM-DD] --out FILE\n"
    "        version 1, valid from today (UTC) until the date given (default: two years on);\n"
    "        the network key is kept in A.network.key beside A.key (created when absent)\n"
    "  zorgnet-keys convenant add-partner FILE --authority A.key --id ID --name TEXT --pub P.pub\n"
    "        [--category TEXT] --role partner|coordinator|auditor [--role ...]\n"
    "        --network NET [--network ...]\n"
    "        roles hold in every network named; auditor holds for the whole convenant\n"
    "  zorgnet-keys convenant remove-partner FILE --authority A.key --id ID\n"
    "  zorgnet-keys convenant set FILE --authority A.key KEY=VALUE [KEY=VALUE ...]\n"
    "        keys: name, endpoint, valid_from, valid_until (YYYY-MM-DD, UTC), the policy\n"
    "        numbers that 'convenant show' lists, and the rules for matches:\n"
    "        disclosure:NET_A:NET_B:person=VALUE, disclosure:NET_A:NET_B:family=VALUE\n"
    "          (VALUE default|none|coordinators|partners; NET_A may equal NET_B)\n"
    "        decision:NET=CATEGORY,CATEGORY,... (the lead proposal; empty clears it)\n"
    "  zorgnet-keys convenant show FILE\n"
    "  zorgnet-keys convenant verify FILE [--authority A.pub]\n"
    "  zorgnet-keys -h | --help\n"
    "exit status: 0 done, 1 fault, 2 usage error, 5 verification failed\n";

enum { S_EXIT_OK = 0, S_EXIT_FAULT = 1, S_EXIT_USAGE = 2, S_EXIT_VERIFY = 5 };

/* ---- messages ---- */

static void s_vmsg(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void s_vmsg(const char *fmt, va_list ap)
{
    fputs(S_PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void s_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vmsg(fmt, ap);
    va_end(ap);
}

static int s_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vmsg(fmt, ap);
    va_end(ap);
    fputs(s_usage, stderr);
    return S_EXIT_USAGE;
}

/* Report e and map its class to the exit status. */
static int s_fail(const zn_err *e)
{
    s_msg("%s", e->text[0] ? e->text : zn_code_hint(e->code));
    switch (zn_code_class(e->code)) {
    case ZN_CLASS_USAGE: return S_EXIT_USAGE;
    case ZN_CLASS_VERIFY: return S_EXIT_VERIFY;
    case ZN_CLASS_OK: return S_EXIT_FAULT; /* an error without a code is still an error */
    default: return S_EXIT_FAULT;
    }
}

/* ---- command-line options: --name VALUE or --name=VALUE; the rest is positional ---- */

typedef struct {
    const char *name; /* without the leading "--" */
    bool multi;
    size_t n;
    const char *vals[S_MAX_VALUES];
} s_opt;

typedef struct {
    size_t n;
    const char *vals[S_MAX_VALUES];
} s_args;

static int s_parse(int argc, char **argv, int start, s_opt *opts, size_t nopts, s_args *pos)
{
    bool rest = false;
    pos->n = 0;
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (!rest && strcmp(a, "--") == 0) {
            rest = true; /* everything after "--" is positional */
            continue;
        }
        if (rest || strncmp(a, "--", 2) != 0) {
            if (!rest && a[0] == '-' && a[1] != '\0')
                return s_usage_error("unknown option %s", a);
            if (pos->n == S_MAX_VALUES)
                return s_usage_error("too many arguments");
            pos->vals[pos->n++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        s_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0)
                o = &opts[k];
        if (!o)
            return s_usage_error("unknown option --%.*s", (int)nlen, name);
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc)
                return s_usage_error("--%s needs a value", o->name);
            val = argv[++i];
        }
        if (o->n > 0 && !o->multi)
            return s_usage_error("--%s may be given only once", o->name);
        if (o->n == S_MAX_VALUES)
            return s_usage_error("--%s given too often", o->name);
        o->vals[o->n++] = val;
    }
    return 0;
}

static const char *s_val(const s_opt *o)
{
    return o->n ? o->vals[0] : NULL;
}

static int s_require(const s_opt *opts, size_t nopts, const char *const *names, size_t nnames)
{
    for (size_t i = 0; i < nnames; i++)
        for (size_t k = 0; k < nopts; k++)
            if (strcmp(opts[k].name, names[i]) == 0 && opts[k].n == 0)
                return s_usage_error("--%s is required", names[i]);
    return 0;
}

/* ---- helpers ---- */

static void s_print_key(const char *label, const uint8_t *k)
{
    char hex[S_HEX_KEY];
    zn_hex(hex, k, ZN_KEY_LEN);
    printf("%s%s\n", label, hex);
}

static void s_print_pub(const zn_pubkeys *p)
{
    printf("kind: %s\n", zn_kind_name(p->kind));
    if (!sodium_is_zero(p->transport, ZN_KEY_LEN))
        s_print_key("transport (X25519, CurveZMQ): ", p->transport);
    if (!sodium_is_zero(p->box, ZN_KEY_LEN))
        s_print_key("box (X25519, end-to-end):     ", p->box);
    s_print_key("sign (Ed25519):               ", p->sign);
}

static void s_format_time(uint64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t > 253402300799u || (uint64_t)tt != t || !gmtime_r(&tt, &tm) ||
        strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "%llu (unix seconds)", (unsigned long long)t);
}

static bool s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A.key -> A.network.key (anything else: append ".network.key"). */
static char *s_netkey_path(const char *authority_key)
{
    size_t n = strlen(authority_key);
    if (n > 4 && strcmp(authority_key + n - 4, ".key") == 0)
        n -= 4;
    char *p = malloc(n + sizeof ".network.key");
    if (p) {
        memcpy(p, authority_key, n);
        memcpy(p + n, ".network.key", sizeof ".network.key");
    }
    return p;
}

static uint64_t s_now(void)
{
    time_t t = time(NULL);
    return t < 0 ? 0 : (uint64_t)t;
}

/* ---- new, show-pub ---- */

static int s_cmd_new(int argc, char **argv)
{
    s_opt opts[] = {{.name = "kind"}, {.name = "out"}};
    static const char *const req[] = {"kind", "out"};
    s_args pos;
    zn_seckeys k;
    zn_kind kind;
    zn_err e;
    int rc;

    zn_err_clear(&e);
    if ((rc = s_parse(argc, argv, 2, opts, 2, &pos)) != 0 || (rc = s_require(opts, 2, req, 2)) != 0)
        return rc;
    if (pos.n)
        return s_usage_error("unexpected argument %s", pos.vals[0]);
    if (zn_kind_parse(s_val(&opts[0]), &kind) != 0)
        return s_usage_error("--kind must be authority, broker or partner");
    const char *out = s_val(&opts[1]);
    size_t n = strlen(out);
    if (n == 0)
        return s_usage_error("--out needs a file name");
    char *base = malloc(n + 1);
    if (!base) {
        s_msg("out of memory");
        return S_EXIT_FAULT;
    }
    memcpy(base, out, n + 1);
    if (n > 4 && (strcmp(base + n - 4, ".key") == 0 || strcmp(base + n - 4, ".pub") == 0))
        base[n - 4] = '\0'; /* --out x.key means x */
    if (zn_keys_generate(kind, &k) != 0) {
        free(base);
        s_msg("could not generate keys");
        return S_EXIT_FAULT;
    }
    if (zn_keys_write(base, &k, &e) != 0) {
        zn_seckeys_wipe(&k);
        free(base);
        return s_fail(&e);
    }
    printf("wrote %s.key (secret, mode 0600) and %s.pub\n", base, base);
    s_print_pub(&k.pub);
    zn_seckeys_wipe(&k);
    free(base);
    return S_EXIT_OK;
}

static int s_cmd_show_pub(int argc, char **argv)
{
    s_args pos;
    zn_pubkeys p;
    zn_err e;
    int rc;

    zn_err_clear(&e);
    if ((rc = s_parse(argc, argv, 2, NULL, 0, &pos)) != 0)
        return rc;
    if (pos.n != 1)
        return s_usage_error("show-pub takes one public key file");
    if (zn_keys_load_public(pos.vals[0], 0, &p, &e) != 0)
        return s_fail(&e);
    s_print_pub(&p);
    return S_EXIT_OK;
}

/* ---- convenant: editing ---- */

typedef struct {
    const char *path;
    zn_convenant *c;
    zn_seckeys auth;
} s_edit;

/* Load and verify the convenant, load the authority key, check that it is the convenant's. */
static int s_edit_begin(s_edit *ed, const char *path, const char *authority_key, zn_err *e)
{
    char have[S_HEX_KEY], want[S_HEX_KEY];
    ed->path = path;
    ed->c = NULL;
    zn_seckeys_wipe(&ed->auth);
    if (zn_convenant_load(path, &ed->c, e) != 0)
        return -1;
    if (zn_keys_load_secret(authority_key, ZN_KIND_AUTHORITY, &ed->auth, e) != 0)
        return -1;
    if (sodium_memcmp(ed->auth.pub.sign, ed->c->authority, ZN_KEY_LEN) != 0) {
        zn_hex(have, ed->auth.pub.sign, ZN_KEY_LEN);
        zn_hex(want, ed->c->authority, ZN_KEY_LEN);
        return zn_err_set(e, ZN_E_VERIFY, "%s is not the authority of %s (key %.16s..., the convenant's "
                          "authority is %.16s...)", authority_key, path, have, want);
    }
    return 0;
}

/* Bump the version, sign, write atomically. */
static int s_edit_commit(s_edit *ed, zn_err *e)
{
    if (ed->c->version == UINT64_MAX)
        return zn_err_set(e, ZN_E_USAGE, "the convenant version cannot be raised further");
    ed->c->version++;
    if (zn_convenant_sign(ed->c, &ed->auth, e) != 0 || zn_convenant_save(ed->path, ed->c, e) != 0)
        return -1;
    printf("%s: signed version %llu\n", ed->path, (unsigned long long)ed->c->version);
    return 0;
}

static void s_edit_end(s_edit *ed)
{
    zn_convenant_destroy(&ed->c);
    zn_seckeys_wipe(&ed->auth);
}

static int s_load_or_create_netkey(const char *path, zn_netkey *k, bool *created, zn_err *e)
{
    *created = false;
    if (s_exists(path))
        return zn_netkey_load(path, k, e);
    k->epoch = 1;
    randombytes_buf(k->key, sizeof k->key);
    if (zn_netkey_write(path, k, e) != 0) {
        sodium_memzero(k, sizeof *k);
        return -1;
    }
    *created = true;
    return 0;
}

static int s_default_valid_until(char *out, size_t cap)
{
    struct tm tm;
    time_t now = time(NULL);
    if (!gmtime_r(&now, &tm))
        return -1;
    int y = tm.tm_year + 1900 + 2, m = tm.tm_mon + 1, d = tm.tm_mday;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        d = 28;
    snprintf(out, cap, "%04d-%02d-%02d", y, m, d);
    return 0;
}

static int s_cmd_init(int argc, char **argv)
{
    s_opt opts[] = {{.name = "authority"}, {.name = "broker"}, {.name = "name"},
                    {.name = "endpoint"}, {.name = "valid-until"}, {.name = "out"}};
    static const char *const req[] = {"authority", "broker", "name", "endpoint", "out"};
    enum { O_AUTH, O_BROKER, O_NAME, O_ENDPOINT, O_UNTIL, O_OUT, O_N };
    s_args pos;
    zn_seckeys auth;
    zn_pubkeys broker;
    zn_netkey nk;
    zn_convenant *c = NULL;
    char *nkpath = NULL, until[40], when[40];
    bool created = false;
    zn_err e;
    int rc;

    zn_err_clear(&e);
    zn_seckeys_wipe(&auth);
    sodium_memzero(&nk, sizeof nk);
    if ((rc = s_parse(argc, argv, 3, opts, O_N, &pos)) != 0 || (rc = s_require(opts, O_N, req, 5)) != 0)
        return rc;
    if (pos.n)
        return s_usage_error("unexpected argument %s", pos.vals[0]);
    const char *out = s_val(&opts[O_OUT]);
    if (s_exists(out)) {
        s_msg("%s already exists; refusing to overwrite it (edit it with add-partner, set, ...)", out);
        return S_EXIT_FAULT;
    }
    c = zn_convenant_new();
    nkpath = s_netkey_path(s_val(&opts[O_AUTH]));
    if (!c || !nkpath) {
        zn_err_set(&e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (zn_convenant_set(c, "name", s_val(&opts[O_NAME]), &e) != 0 ||
        zn_convenant_set(c, "endpoint", s_val(&opts[O_ENDPOINT]), &e) != 0)
        goto fail;
    c->valid_from = s_now() / 86400 * 86400; /* today, 00:00 UTC */
    if (opts[O_UNTIL].n) {
        if (zn_convenant_set(c, "valid_until", s_val(&opts[O_UNTIL]), &e) != 0)
            goto fail;
        if (c->valid_until < c->valid_from) {
            zn_err_set(&e, ZN_E_USAGE, "--valid-until %s lies before today", s_val(&opts[O_UNTIL]));
            goto fail;
        }
    } else if (s_default_valid_until(until, sizeof until) != 0 ||
               zn_convenant_set(c, "valid_until", until, &e) != 0) {
        goto fail;
    }
    if (zn_keys_load_secret(s_val(&opts[O_AUTH]), ZN_KIND_AUTHORITY, &auth, &e) != 0 ||
        zn_keys_load_public(s_val(&opts[O_BROKER]), ZN_KIND_BROKER, &broker, &e) != 0)
        goto fail;
    memcpy(c->authority, auth.pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, broker.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, broker.sign, ZN_KEY_LEN);
    if (s_load_or_create_netkey(nkpath, &nk, &created, &e) != 0)
        goto fail;
    c->netkey_epoch = nk.epoch;
    if (zn_convenant_sign(c, &auth, &e) != 0 ||
        zn_file_write(out, c->raw, c->raw_len, 0644, 1, &e) != 0)
        goto fail;
    s_format_time(c->valid_until, when, sizeof when);
    printf("wrote %s: convenant \"%s\" version 1, valid until %s\n", out, c->name, when);
    printf("network key (epoch %llu): %s (%s)\n", (unsigned long long)nk.epoch, nkpath,
           created ? "new, mode 0600; keep it with the authority key" : "reused");
    rc = S_EXIT_OK;
    goto done;
fail:
    rc = s_fail(&e);
done:
    sodium_memzero(&nk, sizeof nk);
    zn_seckeys_wipe(&auth);
    zn_convenant_destroy(&c);
    free(nkpath);
    return rc;
}

static int s_cmd_add_partner(int argc, char **argv)
{
    s_opt opts[] = {{.name = "authority"}, {.name = "id"},   {.name = "name"},
                    {.name = "pub"},       {.name = "category"},
                    {.name = "role", .multi = true}, {.name = "network", .multi = true}};
    static const char *const req[] = {"authority", "id", "name", "pub", "role"};
    enum { O_AUTH, O_ID, O_NAME, O_PUB, O_CAT, O_ROLE, O_NET, O_N };
    s_args pos;
    s_edit ed = {0};
    zn_pubkeys pk;
    zn_netkey nk;
    char *nkpath = NULL;
    bool r_partner = false, r_coord = false, r_auditor = false;
    zn_err e;
    int rc;

    zn_err_clear(&e);
    sodium_memzero(&nk, sizeof nk);
    if ((rc = s_parse(argc, argv, 3, opts, O_N, &pos)) != 0 || (rc = s_require(opts, O_N, req, 5)) != 0)
        return rc;
    if (pos.n != 1)
        return s_usage_error("add-partner takes one convenant file");

    /* Everything the command line alone decides, before any file is read. */
    const char *id = s_val(&opts[O_ID]), *name = s_val(&opts[O_NAME]), *cat = s_val(&opts[O_CAT]);
    if (!zn_ident_valid(id))
        return s_usage_error("--id %s is not an identifier (1-63 of a-z 0-9 . _ -, starting with a "
                             "letter or digit)", id);
    if (strlen(name) >= ZN_NAME_MAX || !zn_text_valid(name, strlen(name)))
        return s_usage_error("--name must be 1 to %d bytes of text", ZN_NAME_MAX - 1);
    if (cat && !zn_ident_valid(cat))
        return s_usage_error("--category %s is not an identifier (e.g. school, police)", cat);
    for (size_t i = 0; i < opts[O_ROLE].n; i++) {
        const char *r = opts[O_ROLE].vals[i];
        if (strcmp(r, "partner") == 0)
            r_partner = true;
        else if (strcmp(r, "coordinator") == 0)
            r_coord = true;
        else if (strcmp(r, "auditor") == 0)
            r_auditor = true;
        else
            return s_usage_error("--role %s: a role is partner, coordinator or auditor", r);
    }
    if (r_coord && (r_partner || r_auditor))
        return s_usage_error("a coordinator holds no other role: it learns that partners know a "
                             "person, never what they know; drop --role %s",
                             r_partner ? "partner" : "auditor");
    if ((r_partner || r_coord) && opts[O_NET].n == 0)
        return s_usage_error("the %s role needs at least one --network", r_coord ? "coordinator" : "partner");
    if (!r_partner && !r_coord && opts[O_NET].n)
        return s_usage_error("an auditor holds for the whole convenant; leave out --network");
    for (size_t i = 0; i < opts[O_NET].n; i++)
        if (!zn_ident_valid(opts[O_NET].vals[i]))
            return s_usage_error("--network %s is not an identifier (e.g. 0-12-binnenstad)",
                                 opts[O_NET].vals[i]);

    if (zn_keys_load_public(s_val(&opts[O_PUB]), ZN_KIND_PARTNER, &pk, &e) != 0)
        return s_fail(&e);
    if (s_edit_begin(&ed, pos.vals[0], s_val(&opts[O_AUTH]), &e) != 0)
        goto fail;
    zn_convenant *c = ed.c;
    if (zn_convenant_partner(c, id)) {
        zn_err_set(&e, ZN_E_USAGE, "%s already has a partner with id %s; remove it first or pick another id",
                   ed.path, id);
        goto fail;
    }
    if (memcmp(pk.transport, c->broker_transport, ZN_KEY_LEN) == 0) {
        zn_err_set(&e, ZN_E_USAGE, "%s holds the broker's transport key", s_val(&opts[O_PUB]));
        goto fail;
    }
    for (size_t i = 0; i < c->n_partners; i++) {
        const zn_partner *q = &c->partners[i];
        if (memcmp(q->keys.transport, pk.transport, ZN_KEY_LEN) == 0 ||
            memcmp(q->keys.box, pk.box, ZN_KEY_LEN) == 0 || memcmp(q->keys.sign, pk.sign, ZN_KEY_LEN) == 0) {
            zn_err_set(&e, ZN_E_USAGE, "the keys in %s already belong to partner %s; every entry has keys "
                       "of its own", s_val(&opts[O_PUB]), q->id);
            goto fail;
        }
    }
    if (c->n_partners >= ZN_MAX_PARTNERS) {
        zn_err_set(&e, ZN_E_USAGE, "the convenant already holds %d partners, the most it can", ZN_MAX_PARTNERS);
        goto fail;
    }
    size_t n_new = 0;
    for (size_t i = 0; i < opts[O_NET].n; i++) {
        bool seen = zn_convenant_network(c, opts[O_NET].vals[i]) >= 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(opts[O_NET].vals[i], opts[O_NET].vals[j]) == 0;
        n_new += !seen;
    }
    if (c->n_networks + n_new > ZN_MAX_NETWORKS) {
        zn_err_set(&e, ZN_E_USAGE, "a convenant holds at most %d networks", ZN_MAX_NETWORKS);
        goto fail;
    }
    nkpath = s_netkey_path(s_val(&opts[O_AUTH]));
    if (!nkpath) {
        zn_err_set(&e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (!s_exists(nkpath)) {
        zn_err_set(&e, ZN_E_KEY_FILE, "network key file %s is missing; 'convenant init' keeps it beside the "
                   "authority key", nkpath);
        goto fail;
    }
    if (zn_netkey_load(nkpath, &nk, &e) != 0)
        goto fail;
    if (nk.epoch != c->netkey_epoch) {
        zn_err_set(&e, ZN_E_KEY_FILE, "network key file %s holds epoch %llu, but the convenant uses epoch %llu",
                   nkpath, (unsigned long long)nk.epoch, (unsigned long long)c->netkey_epoch);
        goto fail;
    }

    zn_partner *grown = realloc(c->partners, (c->n_partners + 1) * sizeof *grown);
    if (!grown) {
        zn_err_set(&e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    c->partners = grown;
    zn_partner *p = &c->partners[c->n_partners];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->category, sizeof p->category, "%s", cat ? cat : "");
    p->keys = pk;
    p->auditor = r_auditor;
    c->n_partners++;
    for (size_t i = 0; i < opts[O_NET].n; i++) {
        int idx = zn_convenant_network(c, opts[O_NET].vals[i]);
        if (idx < 0) {
            idx = (int)c->n_networks++;
            snprintf(c->networks[idx], ZN_IDENT_MAX, "%s", opts[O_NET].vals[i]);
        }
        p->roles[idx] |= (r_partner ? ZN_ROLE_PARTNER : 0) | (r_coord ? ZN_ROLE_COORDINATOR : 0);
    }
    if (zn_convenant_seal_netkey(c, &nk, &e) != 0 || s_edit_commit(&ed, &e) != 0)
        goto fail;
    printf("added %s (%s)%s\n", id, name,
           zn_convenant_partner(c, id)->has_netkey ? "; the network key is sealed to its box key" : "");
    rc = S_EXIT_OK;
    goto done;
fail:
    rc = s_fail(&e);
done:
    sodium_memzero(&nk, sizeof nk);
    s_edit_end(&ed);
    free(nkpath);
    return rc;
}

static int s_cmd_remove_partner(int argc, char **argv)
{
    s_opt opts[] = {{.name = "authority"}, {.name = "id"}};
    static const char *const req[] = {"authority", "id"};
    s_args pos;
    s_edit ed = {0};
    zn_err e;
    int rc;

    zn_err_clear(&e);
    if ((rc = s_parse(argc, argv, 3, opts, 2, &pos)) != 0 || (rc = s_require(opts, 2, req, 2)) != 0)
        return rc;
    if (pos.n != 1)
        return s_usage_error("remove-partner takes one convenant file");
    const char *id = s_val(&opts[1]);
    if (s_edit_begin(&ed, pos.vals[0], s_val(&opts[0]), &e) != 0)
        goto fail;
    const zn_partner *p = zn_convenant_partner(ed.c, id);
    if (!p) {
        zn_err_set(&e, ZN_E_USAGE, "%s has no partner with id %s", ed.path, id);
        goto fail;
    }
    size_t i = (size_t)(p - ed.c->partners);
    memmove(&ed.c->partners[i], &ed.c->partners[i + 1], (ed.c->n_partners - i - 1) * sizeof *p);
    ed.c->n_partners--;
    if (s_edit_commit(&ed, &e) != 0)
        goto fail;
    printf("removed %s; it keeps the network key it already received (see docs/CONVENANT.md)\n", id);
    rc = S_EXIT_OK;
    goto done;
fail:
    rc = s_fail(&e);
done:
    s_edit_end(&ed);
    return rc;
}

static int s_cmd_set(int argc, char **argv)
{
    s_opt opts[] = {{.name = "authority"}};
    static const char *const req[] = {"authority"};
    s_args pos;
    s_edit ed = {0};
    zn_err e;
    int rc;

    zn_err_clear(&e);
    if ((rc = s_parse(argc, argv, 3, opts, 1, &pos)) != 0 || (rc = s_require(opts, 1, req, 1)) != 0)
        return rc;
    if (pos.n < 2)
        return s_usage_error("set takes a convenant file and at least one KEY=VALUE");
    for (size_t i = 1; i < pos.n; i++)
        if (!strchr(pos.vals[i], '=') || pos.vals[i][0] == '=')
            return s_usage_error("%s is not KEY=VALUE", pos.vals[i]);
    if (s_edit_begin(&ed, pos.vals[0], s_val(&opts[0]), &e) != 0)
        goto fail;
    for (size_t i = 1; i < pos.n; i++) {
        const char *kv = pos.vals[i], *eq = strchr(kv, '=');
        char key[S_SET_KEY_MAX];
        if ((size_t)(eq - kv) >= sizeof key) {
            zn_err_set(&e, ZN_E_USAGE, "unknown setting %.60s...", kv);
            goto fail;
        }
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        if (zn_convenant_set(ed.c, key, eq + 1, &e) != 0)
            goto fail;
    }
    if (ed.c->valid_from > ed.c->valid_until) {
        zn_err_set(&e, ZN_E_USAGE, "valid_from would lie after valid_until; set both");
        goto fail;
    }
    if (zn_policy_check_relations(&ed.c->policy, &e) != 0)
        goto fail;
    if (s_edit_commit(&ed, &e) != 0)
        goto fail;
    rc = S_EXIT_OK;
    goto done;
fail:
    rc = s_fail(&e);
done:
    s_edit_end(&ed);
    return rc;
}

/* ---- convenant: reading ---- */

static const char *s_role_word(uint32_t r)
{
    if ((r & ZN_ROLE_PARTNER) && (r & ZN_ROLE_COORDINATOR))
        return "partner+coordinator";
    return (r & ZN_ROLE_COORDINATOR) ? "coordinator" : "partner";
}

/* Who learns of a match, in words. */
static const char *s_disclosure_words(zn_disclosure d)
{
    switch (d) {
    case ZN_DISCLOSE_NONE: return "not matched";
    case ZN_DISCLOSE_COORDINATORS: return "coordinators only";
    case ZN_DISCLOSE_PARTNERS: return "both partners and the coordinators";
    }
    return "?";
}

/* The effective value of one half of a rule: the rule's own, or the default for the pair. */
static zn_disclosure s_rule_value(uint8_t v, bool same, zn_link link)
{
    if (v >= ZN_DISCLOSE_NONE && v <= ZN_DISCLOSE_PARTNERS)
        return (zn_disclosure)v;
    return same && link == ZN_LINK_PERSON ? ZN_DISCLOSE_PARTNERS : ZN_DISCLOSE_COORDINATORS;
}

static void s_print_disclosure(const zn_convenant *c)
{
    printf("\nDisclosure rules (who learns that partners registered a signal on the same person or "
           "family):\n");
    printf("  Matches: a person match inside one network is shown to both partners and the network's "
           "coordinators; a family match or a match across networks only to the coordinators of the "
           "networks involved (defaults).\n");
    if (c->n_disclosure == 0) {
        printf("  No rule for any pair of networks: the defaults hold everywhere.\n");
        return;
    }
    for (size_t i = 0; i < c->n_disclosure; i++) {
        const zn_disclosure_rule *r = &c->disclosure[i];
        bool same = r->a == r->b;
        zn_disclosure pv = s_rule_value(r->person, same, ZN_LINK_PERSON);
        zn_disclosure fv = s_rule_value(r->family, same, ZN_LINK_FAMILY);
        if (same)
            printf("  inside %s: ", c->networks[r->a]);
        else
            printf("  %s with %s: ", c->networks[r->a], c->networks[r->b]);
        if (pv == ZN_DISCLOSE_NONE && fv == ZN_DISCLOSE_NONE) {
            printf("never matched\n");
            continue;
        }
        printf("person matches \u2192 %s%s; family matches \u2192 %s%s\n", s_disclosure_words(pv),
               r->person ? "" : " (default)", s_disclosure_words(fv), r->family ? "" : " (default)");
    }
}

/* Whether some entry with this category holds the partner role in network n. */
static bool s_category_in_network(const zn_convenant *c, size_t n, const char *category)
{
    for (size_t i = 0; i < c->n_partners; i++)
        if ((c->partners[i].roles[n] & ZN_ROLE_PARTNER) && strcmp(c->partners[i].category, category) == 0)
            return true;
    return false;
}

static void s_print_decision(const zn_convenant *c)
{
    printf("\nDecision rules (the lead partner, regiehouder, proposed with every match "
           "notice):\n");
    for (size_t n = 0; n < c->n_networks; n++) {
        const zn_decision_rule *d = &c->decision[n];
        if (d->n == 0) {
            printf("  Lead proposal in %s: none (no decision rule; the coordinators name a lead "
                   "themselves)\n", c->networks[n]);
            continue;
        }
        printf("  Lead proposal in %s: ", c->networks[n]);
        for (size_t k = 0; k < d->n; k++)
            printf("%s%s", k ? ", then " : "", d->category[k]);
        printf(" (the first category among the two partners of a match; earlier "
               "registration breaks a tie)\n");
        for (size_t k = 0; k < d->n; k++)
            if (!s_category_in_network(c, n, d->category[k]))
                printf("      note: no partner of category %s takes part in %s\n", d->category[k],
                       c->networks[n]);
    }
}

static int s_cmd_show(int argc, char **argv)
{
    s_args pos;
    zn_convenant *c = NULL;
    zn_err e;
    char from[40], until[40], hex[S_HEX_KEY];
    int rc;

    zn_err_clear(&e);
    if ((rc = s_parse(argc, argv, 3, NULL, 0, &pos)) != 0)
        return rc;
    if (pos.n != 1)
        return s_usage_error("show takes one convenant file");
    if (zn_convenant_load(pos.vals[0], &c, &e) != 0)
        return s_fail(&e);
    s_format_time(c->valid_from, from, sizeof from);
    s_format_time(c->valid_until, until, sizeof until);
    zn_err te;
    bool now_ok = zn_convenant_check_time(c, s_now(), &te) == 0;
    zn_hex(hex, c->authority, ZN_KEY_LEN);
    size_t sealed = 0;
    for (size_t i = 0; i < c->n_partners; i++)
        sealed += c->partners[i].has_netkey;

    printf("Convenant \"%s\", version %llu\n", c->name, (unsigned long long)c->version);
    printf("  Signed by the authority with key %s (the signature holds).\n", hex);
    printf("  Valid from %s until %s: %s.\n", from, until, now_ok ? "valid now" : te.text);
    printf("  Broker endpoint: %s\n", c->endpoint);
    s_print_key("  Broker transport key (CurveZMQ): ", c->broker_transport);
    s_print_key("  Broker signing key (tree heads): ", c->broker_sign);
    printf("  Network key: epoch %llu, sealed to %zu of %zu entries (partners and auditors; never "
           "to coordinators).\n",
           (unsigned long long)c->netkey_epoch, sealed, c->n_partners);

    printf("\nNetworks (%zu):\n", c->n_networks);
    for (size_t n = 0; n < c->n_networks; n++) {
        size_t members = 0;
        for (size_t i = 0; i < c->n_partners; i++)
            members += c->partners[i].roles[n] != 0;
        printf("  %s: %zu member%s\n", c->networks[n], members, members == 1 ? "" : "s");
        for (size_t i = 0; i < c->n_partners; i++) {
            const zn_partner *p = &c->partners[i];
            if (!p->roles[n])
                continue;
            printf("    %-20s %-12s %s%s%s%s\n", p->id, s_role_word(p->roles[n]), p->name,
                   p->category[0] ? " [" : "", p->category, p->category[0] ? "]" : "");
        }
    }
    size_t auditors = 0;
    for (size_t i = 0; i < c->n_partners; i++)
        auditors += c->partners[i].auditor;
    printf("\nAuditors (%zu): read and verify the audit log for the whole convenant; no case traffic.\n",
           auditors);
    for (size_t i = 0; i < c->n_partners; i++) {
        const zn_partner *p = &c->partners[i];
        if (p->auditor)
            printf("    %-20s %s%s%s%s\n", p->id, p->name, p->category[0] ? " [" : "", p->category,
                   p->category[0] ? "]" : "");
    }
    s_print_disclosure(c);
    s_print_decision(c);
    printf("\nPolicy numbers:\n");
    for (size_t i = 0; i < zn_policy_ndefs; i++) {
        const zn_policy_def *d = &zn_policy_defs[i];
        uint64_t v;
        memcpy(&v, (const char *)&c->policy + d->offset, sizeof v);
        printf("  %s = %llu %s%s\n", d->name, (unsigned long long)v, d->unit,
               v == d->def ? "" : " (changed from the default)");
        printf("      %s; used by %s; allowed %llu to %llu, default %llu\n", d->meaning, d->used_by,
               (unsigned long long)d->min, (unsigned long long)d->max, (unsigned long long)d->def);
    }
    zn_convenant_destroy(&c);
    return S_EXIT_OK;
}

static int s_cmd_verify(int argc, char **argv)
{
    s_opt opts[] = {{.name = "authority"}};
    s_args pos;
    zn_convenant *c = NULL;
    zn_pubkeys pinned;
    zn_err e;
    char until[40], hex[S_HEX_KEY];
    int rc;

    zn_err_clear(&e);
    if ((rc = s_parse(argc, argv, 3, opts, 1, &pos)) != 0)
        return rc;
    if (pos.n != 1)
        return s_usage_error("verify takes one convenant file");
    if (opts[0].n && zn_keys_load_public(s_val(&opts[0]), ZN_KIND_AUTHORITY, &pinned, &e) != 0)
        return s_fail(&e);
    if (zn_convenant_load(pos.vals[0], &c, &e) != 0)
        return s_fail(&e);
    if (opts[0].n && sodium_memcmp(pinned.sign, c->authority, ZN_KEY_LEN) != 0) {
        zn_err_set(&e, ZN_E_VERIFY, "%s is signed by another authority than the one in %s", pos.vals[0],
                   s_val(&opts[0]));
        goto fail;
    }
    if (zn_convenant_check_time(c, s_now(), &e) != 0)
        goto fail;
    s_format_time(c->valid_until, until, sizeof until);
    zn_hex(hex, c->authority, ZN_KEY_LEN);
    printf("valid: convenant \"%s\" version %llu, signed by authority %s%s, valid until %s; %zu "
           "entries in %zu networks\n",
           c->name, (unsigned long long)c->version, hex,
           opts[0].n ? " (matches the given key)" : " (not pinned: pass --authority A.pub to check who signed)",
           until, c->n_partners, c->n_networks);
    rc = S_EXIT_OK;
    goto done;
fail:
    rc = s_fail(&e);
done:
    zn_convenant_destroy(&c);
    return rc;
}

/* ---- dispatch ---- */

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(s_usage, stdout);
            return S_EXIT_OK;
        }
    }
    if (argc < 2)
        return s_usage_error("no command given");
    if (strcmp(argv[1], "help") == 0) {
        fputs(s_usage, stdout);
        return S_EXIT_OK;
    }
    if (sodium_init() < 0) {
        s_msg("the crypto library could not start");
        return S_EXIT_FAULT;
    }
    if (strcmp(argv[1], "new") == 0)
        return s_cmd_new(argc, argv);
    if (strcmp(argv[1], "show-pub") == 0)
        return s_cmd_show_pub(argc, argv);
    if (strcmp(argv[1], "convenant") != 0)
        return s_usage_error("unknown command %s", argv[1]);
    if (argc < 3)
        return s_usage_error("convenant needs a subcommand");
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } subs[] = {
        {"init", s_cmd_init},       {"add-partner", s_cmd_add_partner}, {"remove-partner", s_cmd_remove_partner},
        {"set", s_cmd_set},         {"show", s_cmd_show},               {"verify", s_cmd_verify},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[2], subs[i].name) == 0)
            return subs[i].fn(argc, argv);
    return s_usage_error("unknown convenant subcommand %s", argv[2]);
}
