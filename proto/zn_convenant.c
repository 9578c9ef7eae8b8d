/* zn_convenant — encoding, signing, decoding and checking of the convenant.
 *
 * Signed file (msgpack array of 4):
 *   ["zorgnet-convenant", 1, body bin, signature bin64]
 *   signature = Ed25519(authority, "zorgnet/v1/convenant" || body)
 *
 * Body (msgpack map; the encoder writes the keys in exactly this order, so the same convenant
 * always encodes to the same bytes):
 *   "name"         str     display name
 *   "version"      uint    >= 1, bumped by every edit
 *   "valid_from"   uint    unix seconds
 *   "valid_until"  uint    unix seconds, >= valid_from
 *   "authority"    bin32   Ed25519 public key that signs the file
 *   "broker"       map     {"transport": bin32, "sign": bin32, "endpoint": str}
 *   "netkey_epoch" uint    1..255
 *   "networks"     array   of identifiers, at most 32, no duplicates
 *   "partners"     array   of maps, at most 512:
 *       {"id": ident, "name": str, "category": ident or "", "transport": bin32, "box": bin32,
 *        "sign": bin32, "roles": {network: ["partner" | "coordinator"]}, "auditor": bool,
 *        "netkey": bin80 (crypto_box_seal of the network key to "box") or nil}
 *   "policy"       map     {name: uint}, in the order of ZN_POLICY
 *   "disclosure"   array   optional, of [net_a str, net_b str, person str, family str], each
 *                          value "default" | "none" | "coordinators" | "partners"; written with
 *                          net_a <= net_b in the order of "networks", sorted by (net_a, net_b),
 *                          at most one rule per pair, at most ZN_MAX_DISCLOSURE_RULES; a rule
 *                          that is "default" twice is left out; absent when there is none
 *   "decision"     map     optional, {network: [category ident, ...]}: 1..ZN_MAX_DECISION
 *                          distinct categories per network, keys in the order of "networks";
 *                          networks without a rule are left out; absent when there is none
 *
 * Decoding: unknown keys at the top level and in "policy" are ignored (later versions add rules);
 * everything known must be well-formed; a policy key that is absent takes its default, and a
 * convenant without "disclosure" or "decision" has no rules (the defaults of broker/policy.h
 * hold). The "broker" and partner maps are closed: an unknown key there is an error. A
 * disclosure rule may name its networks in either order; it is kept as a <= b. */
#include "zn_convenant.h"

#include "zn_file.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAGIC "zorgnet-convenant"
#define S_NS "zorgnet/v1/convenant"
#define S_FORMAT_VERSION 1
#define S_EPOCH_MAX 255u
#define S_BODY_MAX_OBJECTS (1u << 18)
#define S_ROLE_PARTNER "partner"
#define S_ROLE_COORDINATOR "coordinator"

/* ---- policy ---- */

const zn_policy_def zn_policy_defs[] = {
#define ZN_X_DEF(name, def, min, max, unit, user, meaning)                                        \
    {#name, def, min, max, unit, user, meaning, offsetof(zn_policy, name)},
    ZN_POLICY(ZN_X_DEF)
#undef ZN_X_DEF
};
const size_t zn_policy_ndefs = sizeof zn_policy_defs / sizeof zn_policy_defs[0];

static uint64_t *s_policy_field(zn_policy *p, const zn_policy_def *d)
{
    return (uint64_t *)(void *)((char *)p + d->offset);
}

static uint64_t s_policy_get(const zn_policy *p, const zn_policy_def *d)
{
    uint64_t v;
    memcpy(&v, (const char *)p + d->offset, sizeof v);
    return v;
}

static const zn_policy_def *s_policy_def(const char *name, size_t len)
{
    for (size_t i = 0; i < zn_policy_ndefs; i++)
        if (strlen(zn_policy_defs[i].name) == len && memcmp(zn_policy_defs[i].name, name, len) == 0)
            return &zn_policy_defs[i];
    return NULL;
}

void zn_policy_defaults(zn_policy *p)
{
    for (size_t i = 0; i < zn_policy_ndefs; i++)
        *s_policy_field(p, &zn_policy_defs[i]) = zn_policy_defs[i].def;
}

int zn_policy_set(zn_policy *p, const char *key, const char *value, zn_err *e)
{
    const zn_policy_def *d = key ? s_policy_def(key, strlen(key)) : NULL;
    uint64_t v;

    if (!d)
        return zn_err_set(e, ZN_E_USAGE,
                          "unknown setting \"%.60s\"; 'zorgnet-keys convenant show' lists the policy "
                          "numbers; name, endpoint, valid_from, valid_until, "
                          "disclosure:NET_A:NET_B:person|family and decision:NET can be set too",
                          key ? key : "");
    if (zn_parse_u64(value, UINT64_MAX, &v) != 0 || v < d->min || v > d->max)
        return zn_err_set(e, ZN_E_USAGE, "%s must be a whole number from %llu to %llu (%s); got \"%s\"",
                          d->name, (unsigned long long)d->min, (unsigned long long)d->max, d->unit,
                          value ? value : "");
    *s_policy_field(p, d) = v;
    return 0;
}

/* ---- dates (proleptic Gregorian, UTC) ---- */

static int64_t s_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool s_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD", 1970..9999, a day that exists; unix seconds of 00:00:00 UTC. */
static int s_parse_date(const char *s, uint64_t *out)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = 0, m = 0, d = 0;

    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned digit = (unsigned)(s[i] - '0');
        if (i < 4)
            y = y * 10 + digit;
        else if (i < 7)
            m = m * 10 + digit;
        else
            d = d * 10 + digit;
    }
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return -1;
    unsigned maxd = mdays[m - 1] + (m == 2 && s_leap(y) ? 1 : 0);
    if (d > maxd)
        return -1;
    *out = (uint64_t)s_days_from_civil((int64_t)y, m, d) * 86400u;
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS UTC" */
static void s_format_time(uint64_t t, char *out, size_t cap)
{
    int64_t z = (int64_t)(t / 86400u) + 719468;
    uint64_t secs = t % 86400u;
    const int64_t era = z / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, cap, "%04lld-%02u-%02u %02u:%02u:%02u UTC", (long long)y, m, d,
             (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

/* ---- object ---- */

zn_convenant *zn_convenant_new(void)
{
    zn_convenant *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->version = 1;
    c->netkey_epoch = 1;
    zn_policy_defaults(&c->policy);
    return c;
}

void zn_convenant_destroy(zn_convenant **c)
{
    if (!c || !*c)
        return;
    free((*c)->partners);
    free((*c)->raw);
    free(*c);
    *c = NULL;
}

/* ---- look-ups ---- */

const zn_partner *zn_convenant_partner(const zn_convenant *c, const char *id)
{
    if (!c || !id)
        return NULL;
    for (size_t i = 0; i < c->n_partners; i++)
        if (strcmp(c->partners[i].id, id) == 0)
            return &c->partners[i];
    return NULL;
}

const zn_partner *zn_convenant_partner_by_transport(const zn_convenant *c, const uint8_t key[ZN_KEY_LEN])
{
    if (!c || !key)
        return NULL;
    for (size_t i = 0; i < c->n_partners; i++)
        if (memcmp(c->partners[i].keys.transport, key, ZN_KEY_LEN) == 0)
            return &c->partners[i];
    return NULL;
}

int zn_convenant_network(const zn_convenant *c, const char *name)
{
    if (!c || !name)
        return -1;
    for (size_t i = 0; i < c->n_networks && i < ZN_MAX_NETWORKS; i++)
        if (strcmp(c->networks[i], name) == 0)
            return (int)i;
    return -1;
}

bool zn_partner_has_role(const zn_partner *p, int network, uint32_t role)
{
    return p && network >= 0 && network < ZN_MAX_NETWORKS && (p->roles[network] & role) != 0;
}

bool zn_partner_is_coordinator(const zn_partner *p)
{
    if (!p)
        return false;
    for (size_t i = 0; i < ZN_MAX_NETWORKS; i++)
        if (p->roles[i] & ZN_ROLE_COORDINATOR)
            return true;
    return false;
}

const char *zn_link_name(zn_link l)
{
    return l == ZN_LINK_PERSON ? "person" : l == ZN_LINK_FAMILY ? "family" : "?";
}

const char *zn_disclosure_name(zn_disclosure d)
{
    switch (d) {
    case ZN_DISCLOSE_NONE: return "none";
    case ZN_DISCLOSE_COORDINATORS: return "coordinators";
    case ZN_DISCLOSE_PARTNERS: return "partners";
    }
    return "default";
}

/* ---- disclosure and decision rules ---- */

/* The words of zn_disclosure, indexed by its value (0: the default). */
static const char *const s_disclosure_words[] = {"default", "none", "coordinators", "partners"};
#define S_DISCLOSURE_WORDS (sizeof s_disclosure_words / sizeof s_disclosure_words[0])

static int s_disclosure_parse(const char *s, uint8_t *out)
{
    for (size_t i = 0; s && i < S_DISCLOSURE_WORDS; i++)
        if (strcmp(s, s_disclosure_words[i]) == 0)
            return (*out = (uint8_t)i), 0;
    return -1;
}

static int s_disclosure_parse_obj(const msgpack_object *o, uint8_t *out)
{
    for (size_t i = 0; i < S_DISCLOSURE_WORDS; i++)
        if (zn_obj_str_eq(o, s_disclosure_words[i]))
            return (*out = (uint8_t)i), 0;
    return -1;
}

static bool s_rule_before(const zn_disclosure_rule *x, const zn_disclosure_rule *y)
{
    return x->a < y->a || (x->a == y->a && x->b < y->b);
}

/* Insertion sort by (a, b): at most ZN_MAX_DISCLOSURE_RULES rules. */
static void s_rules_sort(zn_disclosure_rule *r, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        zn_disclosure_rule x = r[i];
        size_t j = i;
        for (; j > 0 && s_rule_before(&x, &r[j - 1]); j--)
            r[j] = r[j - 1];
        r[j] = x;
    }
}

static bool s_rule_is_default(const zn_disclosure_rule *r)
{
    return r->person == 0 && r->family == 0;
}

/* The rules that are written: without the all-default ones, sorted. out has room for
 * ZN_MAX_DISCLOSURE_RULES; returns the count. */
static size_t s_rules_canonical(const zn_convenant *c, zn_disclosure_rule *out)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_disclosure && i < ZN_MAX_DISCLOSURE_RULES; i++)
        if (!s_rule_is_default(&c->disclosure[i]))
            out[n++] = c->disclosure[i];
    s_rules_sort(out, n);
    return n;
}

static size_t s_decision_count(const zn_convenant *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_networks && i < ZN_MAX_NETWORKS; i++)
        n += c->decision[i].n > 0;
    return n;
}

static bool s_has_partner_role(const zn_partner *p)
{
    for (size_t i = 0; i < ZN_MAX_NETWORKS; i++)
        if (p->roles[i] & ZN_ROLE_PARTNER)
            return true;
    return false;
}

/* ---- validation (the same rules for what is signed and what is decoded) ---- */

static bool s_cstr_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static bool s_endpoint_valid(const char *s)
{
    size_t n = strlen(s);
    const char *sep = strstr(s, "://");
    if (n == 0 || n >= ZN_ENDPOINT_MAX || !zn_text_valid(s, n) || !sep || sep == s || sep[3] == '\0')
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ')
            return false;
    return true;
}

static bool s_text_ok(const char *s, size_t cap)
{
    return s_cstr_ok(s, cap) && zn_text_valid(s, strlen(s));
}

static bool s_sign_key_ok(const uint8_t k[ZN_KEY_LEN])
{
    return crypto_core_ed25519_is_valid_point(k) == 1;
}

static int s_validate_partner(const zn_convenant *c, size_t i, zn_err *e)
{
    const zn_partner *p = &c->partners[i];
    const char *id = s_cstr_ok(p->id, sizeof p->id) && zn_ident_valid(p->id) ? p->id : NULL;
    uint32_t any = 0;

    if (!id)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "partner %zu has an invalid id (1-63 of a-z 0-9 . _ -, starting with a letter "
                          "or digit)",
                          i + 1);
    if (!s_text_ok(p->name, sizeof p->name))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s has an empty or invalid name", id);
    if (!s_cstr_ok(p->category, sizeof p->category) || (p->category[0] && !zn_ident_valid(p->category)))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "partner %s has an invalid category (an identifier such as \"school\")", id);
    if (p->keys.kind != ZN_KIND_PARTNER)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s does not hold partner keys", id);
    if (sodium_is_zero(p->keys.transport, ZN_KEY_LEN) || sodium_is_zero(p->keys.box, ZN_KEY_LEN) ||
        !s_sign_key_ok(p->keys.sign))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s has a missing or invalid public key", id);
    if (memcmp(p->keys.transport, c->broker_transport, ZN_KEY_LEN) == 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s uses the broker's transport key", id);
    for (size_t j = 0; j < i; j++) {
        const zn_partner *q = &c->partners[j];
        if (strcmp(q->id, p->id) == 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner id %s appears twice", id);
        if (memcmp(q->keys.transport, p->keys.transport, ZN_KEY_LEN) == 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partners %s and %s share one transport key",
                              q->id, id);
        if (memcmp(q->keys.box, p->keys.box, ZN_KEY_LEN) == 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partners %s and %s share one box key", q->id, id);
        if (memcmp(q->keys.sign, p->keys.sign, ZN_KEY_LEN) == 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partners %s and %s share one sign key", q->id,
                              id);
    }
    for (size_t n = 0; n < ZN_MAX_NETWORKS; n++) {
        if (p->roles[n] & ~(ZN_ROLE_PARTNER | ZN_ROLE_COORDINATOR))
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s holds an unknown role", id);
        if (p->roles[n] && n >= c->n_networks)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "partner %s holds a role in a network that is not in the convenant", id);
        any |= p->roles[n];
    }
    if ((any & ZN_ROLE_COORDINATOR) && ((any & ZN_ROLE_PARTNER) || p->auditor))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "%s is a coordinator and also a %s; a coordinator holds no other role", id,
                          (any & ZN_ROLE_PARTNER) ? "partner" : "auditor");
    if ((any & ZN_ROLE_COORDINATOR) && p->has_netkey)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "coordinator %s has a sealed network key; coordinators never receive it", id);
    if (!any && !p->auditor)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s holds no role in any network", id);
    return 0;
}

/* Networks are valid before this runs (names unique, n_networks in range). */
static int s_validate_rules(const zn_convenant *c, zn_err *e)
{
    if (c->n_disclosure > ZN_MAX_DISCLOSURE_RULES)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant holds more than %d disclosure rules",
                          ZN_MAX_DISCLOSURE_RULES);
    for (size_t i = 0; i < c->n_disclosure; i++) {
        const zn_disclosure_rule *r = &c->disclosure[i];
        if (r->a >= c->n_networks || r->b >= c->n_networks)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "disclosure rule %zu names a network that is not in the convenant", i + 1);
        if (r->a > r->b)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "disclosure rule %zu (%s with %s) must name the earlier network of the list first",
                              i + 1, c->networks[r->a], c->networks[r->b]);
        if (r->person >= S_DISCLOSURE_WORDS || r->family >= S_DISCLOSURE_WORDS)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "disclosure rule %zu (%s with %s) holds a value other than default, none, "
                              "coordinators or partners",
                              i + 1, c->networks[r->a], c->networks[r->b]);
        for (size_t j = 0; j < i; j++)
            if (c->disclosure[j].a == r->a && c->disclosure[j].b == r->b)
                return zn_err_set(e, ZN_E_CONVENANT_INVALID, "there are two disclosure rules for %s with %s",
                                  c->networks[r->a], c->networks[r->b]);
    }
    for (size_t n = 0; n < ZN_MAX_NETWORKS; n++) {
        const zn_decision_rule *d = &c->decision[n];
        if (d->n == 0)
            continue;
        if (n >= c->n_networks)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "a decision rule belongs to a network that is not in the convenant");
        if (d->n > ZN_MAX_DECISION)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the decision rule for %s names more than %d categories",
                              c->networks[n], ZN_MAX_DECISION);
        for (size_t k = 0; k < d->n; k++) {
            if (!s_cstr_ok(d->category[k], ZN_IDENT_MAX) || !zn_ident_valid(d->category[k]))
                return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                                  "the decision rule for %s has an invalid category (place %zu)", c->networks[n],
                                  k + 1);
            for (size_t j = 0; j < k; j++)
                if (strcmp(d->category[j], d->category[k]) == 0)
                    return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the decision rule for %s names category %s twice",
                                      c->networks[n], d->category[k]);
        }
    }
    return 0;
}

static int s_validate(const zn_convenant *c, zn_err *e)
{
    if (!s_text_ok(c->name, sizeof c->name) || strlen(c->name) >= ZN_NAME_MAX)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant has an empty or invalid name");
    if (c->version < 1)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant version must be 1 or more");
    if (c->valid_until == 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant has no end of validity (valid_until)");
    if (c->valid_from > c->valid_until)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "the convenant's valid_from lies after its valid_until");
    if (!s_sign_key_ok(c->authority))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the authority key is not a valid Ed25519 key");
    if (sodium_is_zero(c->broker_transport, ZN_KEY_LEN) || !s_sign_key_ok(c->broker_sign))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the broker's keys are missing or invalid");
    if (!s_cstr_ok(c->endpoint, sizeof c->endpoint) || !s_endpoint_valid(c->endpoint))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "the broker endpoint is missing or invalid (e.g. tcp://127.0.0.1:7450)");
    if (c->netkey_epoch < 1 || c->netkey_epoch > S_EPOCH_MAX)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the network key epoch must lie between 1 and %u",
                          S_EPOCH_MAX);
    if (c->n_networks > ZN_MAX_NETWORKS)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant names more than %d networks",
                          ZN_MAX_NETWORKS);
    for (size_t i = 0; i < c->n_networks; i++) {
        if (!s_cstr_ok(c->networks[i], ZN_IDENT_MAX) || !zn_ident_valid(c->networks[i]))
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "network %zu has an invalid name", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->networks[i], c->networks[j]) == 0)
                return zn_err_set(e, ZN_E_CONVENANT_INVALID, "network %s appears twice", c->networks[i]);
    }
    if (c->n_partners > ZN_MAX_PARTNERS)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant names more than %d partners",
                          ZN_MAX_PARTNERS);
    if (c->n_partners && !c->partners)
        return zn_err_set(e, ZN_E_INTERNAL, "partner list missing");
    for (size_t i = 0; i < c->n_partners; i++)
        if (s_validate_partner(c, i, e) != 0)
            return -1;
    if (s_validate_rules(c, e) != 0)
        return -1;
    for (size_t i = 0; i < zn_policy_ndefs; i++) {
        const zn_policy_def *d = &zn_policy_defs[i];
        uint64_t v = s_policy_get(&c->policy, d);
        if (v < d->min || v > d->max)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "policy %s is %llu; it must lie from %llu to %llu",
                              d->name, (unsigned long long)v, (unsigned long long)d->min,
                              (unsigned long long)d->max);
    }
    if (zn_policy_check_relations(&c->policy, e) != 0) {
        if (e)
            e->code = ZN_E_CONVENANT_INVALID;
        return -1;
    }
    return 0;
}

/* Relations between numbers: a safety override is reviewed (or escalated) while it stands. */
int zn_policy_check_relations(const zn_policy *p, zn_err *e)
{
    if (p->override_review_h >= p->override_lifetime_d * 24)
        return zn_err_set(e, ZN_E_USAGE,
                          "policy override_review_h (%llu hours) must be less than override_lifetime_d in hours "
                          "(%llu x 24 = %llu): coordinators must be able to review a safety override before it ends",
                          (unsigned long long)p->override_review_h, (unsigned long long)p->override_lifetime_d,
                          (unsigned long long)(p->override_lifetime_d * 24));
    return 0;
}

/* ---- encoding ---- */

static void s_pack_partner(msgpack_packer *pk, const zn_convenant *c, const zn_partner *p)
{
    size_t nroles = 0;
    for (size_t n = 0; n < c->n_networks; n++)
        nroles += p->roles[n] != 0;

    msgpack_pack_map(pk, 9);
    zn_pack_str(pk, "id");
    zn_pack_str(pk, p->id);
    zn_pack_str(pk, "name");
    zn_pack_str(pk, p->name);
    zn_pack_str(pk, "category");
    zn_pack_str(pk, p->category);
    zn_pack_str(pk, "transport");
    zn_pack_bin(pk, p->keys.transport, ZN_KEY_LEN);
    zn_pack_str(pk, "box");
    zn_pack_bin(pk, p->keys.box, ZN_KEY_LEN);
    zn_pack_str(pk, "sign");
    zn_pack_bin(pk, p->keys.sign, ZN_KEY_LEN);
    zn_pack_str(pk, "roles");
    msgpack_pack_map(pk, nroles);
    for (size_t n = 0; n < c->n_networks; n++) {
        uint32_t r = p->roles[n];
        if (!r)
            continue;
        zn_pack_str(pk, c->networks[n]);
        msgpack_pack_array(pk, (size_t)((r & ZN_ROLE_PARTNER) != 0) + ((r & ZN_ROLE_COORDINATOR) != 0));
        if (r & ZN_ROLE_PARTNER)
            zn_pack_str(pk, S_ROLE_PARTNER);
        if (r & ZN_ROLE_COORDINATOR)
            zn_pack_str(pk, S_ROLE_COORDINATOR);
    }
    zn_pack_str(pk, "auditor");
    if (p->auditor)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    zn_pack_str(pk, "netkey");
    if (p->has_netkey)
        zn_pack_bin(pk, p->sealed_netkey, ZN_SEALED_NETKEY_LEN);
    else
        msgpack_pack_nil(pk);
}

static void s_pack_rules(msgpack_packer *pk, const zn_convenant *c, const zn_disclosure_rule *rules, size_t nrules,
                         size_t ndecision)
{
    if (nrules) {
        zn_pack_str(pk, "disclosure");
        msgpack_pack_array(pk, nrules);
        for (size_t i = 0; i < nrules; i++) {
            msgpack_pack_array(pk, 4);
            zn_pack_str(pk, c->networks[rules[i].a]);
            zn_pack_str(pk, c->networks[rules[i].b]);
            zn_pack_str(pk, s_disclosure_words[rules[i].person]);
            zn_pack_str(pk, s_disclosure_words[rules[i].family]);
        }
    }
    if (ndecision) {
        zn_pack_str(pk, "decision");
        msgpack_pack_map(pk, ndecision);
        for (size_t n = 0; n < c->n_networks; n++) {
            const zn_decision_rule *d = &c->decision[n];
            if (d->n == 0)
                continue;
            zn_pack_str(pk, c->networks[n]);
            msgpack_pack_array(pk, d->n);
            for (size_t k = 0; k < d->n; k++)
                zn_pack_str(pk, d->category[k]);
        }
    }
}

/* c has passed s_validate. */
static void s_pack_body(msgpack_packer *pk, const zn_convenant *c)
{
    zn_disclosure_rule rules[ZN_MAX_DISCLOSURE_RULES];
    size_t nrules = s_rules_canonical(c, rules), ndecision = s_decision_count(c);

    msgpack_pack_map(pk, 10 + (nrules > 0) + (ndecision > 0));
    zn_pack_str(pk, "name");
    zn_pack_str(pk, c->name);
    zn_pack_str(pk, "version");
    msgpack_pack_uint64(pk, c->version);
    zn_pack_str(pk, "valid_from");
    msgpack_pack_uint64(pk, c->valid_from);
    zn_pack_str(pk, "valid_until");
    msgpack_pack_uint64(pk, c->valid_until);
    zn_pack_str(pk, "authority");
    zn_pack_bin(pk, c->authority, ZN_KEY_LEN);
    zn_pack_str(pk, "broker");
    msgpack_pack_map(pk, 3);
    zn_pack_str(pk, "transport");
    zn_pack_bin(pk, c->broker_transport, ZN_KEY_LEN);
    zn_pack_str(pk, "sign");
    zn_pack_bin(pk, c->broker_sign, ZN_KEY_LEN);
    zn_pack_str(pk, "endpoint");
    zn_pack_str(pk, c->endpoint);
    zn_pack_str(pk, "netkey_epoch");
    msgpack_pack_uint64(pk, c->netkey_epoch);
    zn_pack_str(pk, "networks");
    msgpack_pack_array(pk, c->n_networks);
    for (size_t i = 0; i < c->n_networks; i++)
        zn_pack_str(pk, c->networks[i]);
    zn_pack_str(pk, "partners");
    msgpack_pack_array(pk, c->n_partners);
    for (size_t i = 0; i < c->n_partners; i++)
        s_pack_partner(pk, c, &c->partners[i]);
    zn_pack_str(pk, "policy");
    msgpack_pack_map(pk, zn_policy_ndefs);
    for (size_t i = 0; i < zn_policy_ndefs; i++) {
        zn_pack_str(pk, zn_policy_defs[i].name);
        msgpack_pack_uint64(pk, s_policy_get(&c->policy, &zn_policy_defs[i]));
    }
    s_pack_rules(pk, c, rules, nrules, ndecision);
}


int zn_convenant_sign(zn_convenant *c, const zn_seckeys *authority, zn_err *e)
{
    msgpack_sbuffer body, file;
    msgpack_packer pk;
    uint8_t sig[ZN_SIG_LEN];
    uint8_t *raw = NULL;
    int rc = -1;

    if (!c || !authority)
        return zn_err_set(e, ZN_E_INTERNAL, "nothing to sign");
    if (authority->pub.kind != ZN_KIND_AUTHORITY)
        return zn_err_set(e, ZN_E_KEY_FILE, "a convenant is signed with an authority key, not a %s key",
                          zn_kind_name(authority->pub.kind));
    if (sodium_memcmp(authority->pub.sign, c->authority, ZN_KEY_LEN) != 0)
        return zn_err_set(e, ZN_E_VERIFY,
                          "this authority key is not the authority named in the convenant");
    if (s_validate(c, e) != 0)
        return -1;

    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&file);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    s_pack_body(&pk, c);
    if (!body.data || body.size > ZN_CONVENANT_MAX_BYTES - 128) {
        zn_err_set(e, ZN_E_INTERNAL, "the convenant is larger than %u bytes", ZN_CONVENANT_MAX_BYTES);
        goto done;
    }
    if (zn_sign_ns(sig, S_NS, (const uint8_t *)body.data, body.size, authority->sign) != 0) {
        zn_err_set(e, ZN_E_INTERNAL, "signing the convenant failed");
        goto done;
    }
    msgpack_packer_init(&pk, &file, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    zn_pack_str(&pk, S_MAGIC);
    msgpack_pack_uint64(&pk, S_FORMAT_VERSION);
    zn_pack_bin(&pk, body.data, body.size);
    zn_pack_bin(&pk, sig, sizeof sig);
    raw = malloc(file.size);
    if (!file.data || !raw) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory signing the convenant");
        goto done;
    }
    memcpy(raw, file.data, file.size);
    free(c->raw);
    c->raw = raw;
    c->raw_len = file.size;
    raw = NULL;
    rc = 0;
done:
    free(raw);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&file);
    return rc;
}

int zn_convenant_save(const char *path, const zn_convenant *c, zn_err *e)
{
    if (!c || !c->raw)
        return zn_err_set(e, ZN_E_INTERNAL, "the convenant is not signed; nothing to save");
    return zn_file_write(path, c->raw, c->raw_len, 0644, 0, e);
}

/* ---- decoding ---- */

/* The value of key in map o, which must appear at most once; *val is NULL when absent. All map
 * keys must be strings. */
static int s_map_get1(const msgpack_object *o, const char *key, const msgpack_object **val)
{
    *val = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return -1;
        if (zn_obj_str_eq(k, key)) {
            if (*val)
                return -1;
            *val = &o->via.map.ptr[i].val;
        }
    }
    return 0;
}

/* A closed map: exactly the keys given, each once. vals[i] receives the value of keys[i]. */
static int s_map_closed(const msgpack_object *o, const char *const *keys, size_t n,
                        const msgpack_object **vals)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP || o->via.map.size != n)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s_map_get1(o, keys[i], &vals[i]) != 0 || !vals[i])
            return -1;
    return 0;
}

static int s_decode_roles(const msgpack_object *o, zn_convenant *c, zn_partner *p, zn_err *e)
{
    char net[ZN_IDENT_MAX];
    if (!o || o->type != MSGPACK_OBJECT_MAP || o->via.map.size > ZN_MAX_NETWORKS)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s: roles must be a map of networks",
                          p->id);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (zn_obj_ident(&kv->key, net, sizeof net) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s: a role names an invalid network",
                              p->id);
        int idx = zn_convenant_network(c, net);
        if (idx < 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "partner %s has a role in network %s, which is not in the convenant's "
                              "networks",
                              p->id, net);
        if (p->roles[idx])
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s: network %s appears twice in roles",
                              p->id, net);
        uint32_t count = 0;
        const msgpack_object *r = zn_obj_array_min(&kv->val, 1, &count);
        if (!r || count > 2)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "partner %s: roles in network %s must be a list of one or two roles", p->id,
                              net);
        for (uint32_t k = 0; k < count; k++) {
            uint32_t bit = zn_obj_str_eq(&r[k], S_ROLE_PARTNER)       ? ZN_ROLE_PARTNER
                           : zn_obj_str_eq(&r[k], S_ROLE_COORDINATOR) ? ZN_ROLE_COORDINATOR
                                                                      : 0;
            if (!bit || (p->roles[idx] & bit))
                return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                                  "partner %s: unknown or repeated role in network %s", p->id, net);
            p->roles[idx] |= bit;
        }
    }
    return 0;
}

static int s_decode_partner(const msgpack_object *o, size_t i, zn_convenant *c, zn_partner *p, zn_err *e)
{
    static const char *const keys[] = {"id", "name", "category", "transport", "box", "sign",
                                       "roles", "auditor", "netkey"};
    enum { K_ID, K_NAME, K_CATEGORY, K_TRANSPORT, K_BOX, K_SIGN, K_ROLES, K_AUDITOR, K_NETKEY, K_N };
    const msgpack_object *v[K_N];

    memset(p, 0, sizeof *p);
    if (s_map_closed(o, keys, K_N, v) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "partner %zu must be a map of exactly id, name, category, transport, box, sign, "
                          "roles, auditor and netkey",
                          i + 1);
    if (zn_obj_ident(v[K_ID], p->id, sizeof p->id) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %zu has an invalid id", i + 1);
    if (zn_obj_text(v[K_NAME], p->name, sizeof p->name) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s has an empty or invalid name", p->id);
    if (v[K_CATEGORY]->type != MSGPACK_OBJECT_STR ||
        (v[K_CATEGORY]->via.str.size > 0 && zn_obj_ident(v[K_CATEGORY], p->category, sizeof p->category) != 0))
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s has an invalid category", p->id);
    p->keys.kind = ZN_KIND_PARTNER;
    if (zn_obj_bin_fixed(v[K_TRANSPORT], p->keys.transport, ZN_KEY_LEN) != 0 ||
        zn_obj_bin_fixed(v[K_BOX], p->keys.box, ZN_KEY_LEN) != 0 ||
        zn_obj_bin_fixed(v[K_SIGN], p->keys.sign, ZN_KEY_LEN) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s: every public key must be 32 bytes", p->id);
    if (s_decode_roles(v[K_ROLES], c, p, e) != 0)
        return -1;
    if (zn_obj_bool(v[K_AUDITOR], &p->auditor) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s: auditor must be true or false", p->id);
    if (v[K_NETKEY]->type == MSGPACK_OBJECT_NIL) {
        p->has_netkey = false;
    } else if (zn_obj_bin_fixed(v[K_NETKEY], p->sealed_netkey, ZN_SEALED_NETKEY_LEN) == 0) {
        p->has_netkey = true;
    } else {
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "partner %s: netkey must be %u bytes or nil", p->id,
                          (unsigned)ZN_SEALED_NETKEY_LEN);
    }
    return 0;
}

static int s_decode_policy(const msgpack_object *o, zn_policy *pol, zn_err *e)
{
    zn_policy_defaults(pol);
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "policy must be a map of numbers");
    for (size_t i = 0; i < zn_policy_ndefs; i++) {
        const zn_policy_def *d = &zn_policy_defs[i];
        const msgpack_object *v;
        uint64_t x;
        if (s_map_get1(o, d->name, &v) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "policy: %s appears twice, or a key is not text",
                              d->name);
        if (!v)
            continue; /* written before this rule existed: the default holds */
        if (zn_obj_u64(v, &x) != 0 || x < d->min || x > d->max)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "policy %s must be a whole number from %llu to %llu", d->name,
                              (unsigned long long)d->min, (unsigned long long)d->max);
        *s_policy_field(pol, d) = x;
    }
    return 0;
}

/* "disclosure": networks must be decoded first. */
static int s_decode_disclosure(const msgpack_object *o, zn_convenant *c, zn_err *e)
{
    uint32_t count = 0, seen[ZN_MAX_NETWORKS] = {0}; /* seen[a] bit b: the pair was set */
    char na[ZN_IDENT_MAX], nb[ZN_IDENT_MAX];

    c->n_disclosure = 0;
    if (!o)
        return 0;
    const msgpack_object *rules = zn_obj_array_min(o, 0, &count);
    if (!rules || count > ZN_MAX_DISCLOSURE_RULES)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: disclosure must be a list of at most %d rules",
                          ZN_MAX_DISCLOSURE_RULES);
    for (uint32_t i = 0; i < count; i++) {
        const msgpack_object *f = zn_obj_array(&rules[i], 4);
        zn_disclosure_rule r = {0};
        if (!f)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "convenant: disclosure rule %u must be a list of network, network, person value "
                              "and family value",
                              i + 1);
        if (zn_obj_ident(&f[0], na, sizeof na) != 0 || zn_obj_ident(&f[1], nb, sizeof nb) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: disclosure rule %u has an invalid network name",
                              i + 1);
        int ia = zn_convenant_network(c, na), ib = zn_convenant_network(c, nb);
        if (ia < 0 || ib < 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "convenant: disclosure rule %u (%s with %s) names network %s, which is not in the "
                              "convenant's networks",
                              i + 1, na, nb, ia < 0 ? na : nb);
        if (s_disclosure_parse_obj(&f[2], &r.person) != 0 || s_disclosure_parse_obj(&f[3], &r.family) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "convenant: disclosure rule %u (%s with %s): person and family must each be "
                              "default, none, coordinators or partners",
                              i + 1, na, nb);
        r.a = (uint8_t)(ia < ib ? ia : ib);
        r.b = (uint8_t)(ia < ib ? ib : ia);
        if (seen[r.a] & (1u << r.b))
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "convenant: disclosure rule %u (%s with %s) repeats a pair of networks an earlier "
                              "rule sets",
                              i + 1, na, nb);
        seen[r.a] |= 1u << r.b;
        if (!s_rule_is_default(&r))
            c->disclosure[c->n_disclosure++] = r;
    }
    s_rules_sort(c->disclosure, c->n_disclosure);
    return 0;
}

/* "decision": networks must be decoded first. */
static int s_decode_decision(const msgpack_object *o, zn_convenant *c, zn_err *e)
{
    char net[ZN_IDENT_MAX];

    memset(c->decision, 0, sizeof c->decision);
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size > ZN_MAX_NETWORKS)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "convenant: decision must be a map from network to a list of partner categories");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        uint32_t count = 0;
        if (zn_obj_ident(&kv->key, net, sizeof net) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: decision rule %u has an invalid network name",
                              i + 1);
        int idx = zn_convenant_network(c, net);
        if (idx < 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "convenant: the decision rule for %s names a network that is not in the "
                              "convenant's networks",
                              net);
        zn_decision_rule *d = &c->decision[idx];
        if (d->n)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: network %s has two decision rules", net);
        const msgpack_object *cats = zn_obj_array_min(&kv->val, 1, &count);
        if (!cats || count > ZN_MAX_DECISION)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                              "convenant: the decision rule for %s must list 1 to %d partner categories", net,
                              ZN_MAX_DECISION);
        for (uint32_t k = 0; k < count; k++) {
            if (zn_obj_ident(&cats[k], d->category[k], ZN_IDENT_MAX) != 0)
                return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                                  "convenant: the decision rule for %s has an invalid category at place %u (an "
                                  "identifier such as \"school\")",
                                  net, k + 1);
            for (uint32_t j = 0; j < k; j++)
                if (strcmp(d->category[j], d->category[k]) == 0)
                    return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                                      "convenant: the decision rule for %s names category %s twice", net,
                                      d->category[k]);
        }
        d->n = count;
    }
    return 0;
}

static int s_decode_body(const msgpack_object *root, zn_convenant *c, zn_err *e)
{
    static const char *const top[] = {"name",     "version",  "valid_from", "valid_until",
                                      "broker",   "netkey_epoch", "networks", "partners",
                                      "policy",   "disclosure", "decision"};
    enum {
        T_NAME, T_VERSION, T_FROM, T_UNTIL, T_BROKER, T_EPOCH, T_NETWORKS, T_PARTNERS,
        T_POLICY, T_DISCLOSURE, T_DECISION, T_N,
        T_FIRST_OPTIONAL = T_POLICY /* from here on a key may be absent */
    };
    static const char *const bkeys[] = {"transport", "sign", "endpoint"};
    const msgpack_object *v[T_N], *b[3];
    uint32_t count = 0;

    for (size_t i = 0; i < T_N; i++) {
        if (s_map_get1(root, top[i], &v[i]) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: %s appears twice", top[i]);
        if (!v[i] && i < T_FIRST_OPTIONAL)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: %s is missing", top[i]);
    }
    if (zn_obj_text(v[T_NAME], c->name, sizeof c->name) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: the name is empty, too long or not text");
    if (zn_obj_u64(v[T_VERSION], &c->version) != 0 || zn_obj_u64(v[T_FROM], &c->valid_from) != 0 ||
        zn_obj_u64(v[T_UNTIL], &c->valid_until) != 0 || zn_obj_u64(v[T_EPOCH], &c->netkey_epoch) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "convenant: version, valid_from, valid_until and netkey_epoch must be whole numbers");
    if (s_map_closed(v[T_BROKER], bkeys, 3, b) != 0 ||
        zn_obj_bin_fixed(b[0], c->broker_transport, ZN_KEY_LEN) != 0 ||
        zn_obj_bin_fixed(b[1], c->broker_sign, ZN_KEY_LEN) != 0 ||
        zn_obj_text(b[2], c->endpoint, sizeof c->endpoint) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "convenant: broker must be a map of transport (32 bytes), sign (32 bytes) and "
                          "endpoint (text)");

    const msgpack_object *nets = zn_obj_array_min(v[T_NETWORKS], 0, &count);
    if (!nets || count > ZN_MAX_NETWORKS)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: networks must be a list of at most %d names",
                          ZN_MAX_NETWORKS);
    c->n_networks = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (zn_obj_ident(&nets[i], c->networks[i], ZN_IDENT_MAX) != 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: network %u has an invalid name", i + 1);
        if (zn_convenant_network(c, c->networks[i]) >= 0)
            return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: network %s appears twice",
                              c->networks[i]);
        c->n_networks = i + 1;
    }

    const msgpack_object *parts = zn_obj_array_min(v[T_PARTNERS], 0, &count);
    if (!parts || count > ZN_MAX_PARTNERS)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant: partners must be a list of at most %d",
                          ZN_MAX_PARTNERS);
    if (count) {
        c->partners = calloc(count, sizeof *c->partners);
        if (!c->partners)
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory reading the convenant");
    }
    for (uint32_t i = 0; i < count; i++) {
        if (s_decode_partner(&parts[i], i, c, &c->partners[i], e) != 0)
            return -1;
        c->n_partners = i + 1;
    }
    if (s_decode_policy(v[T_POLICY], &c->policy, e) != 0 || s_decode_disclosure(v[T_DISCLOSURE], c, e) != 0 ||
        s_decode_decision(v[T_DECISION], c, e) != 0)
        return -1;
    return s_validate(c, e);
}

int zn_convenant_decode(const uint8_t *file, size_t len, zn_convenant **out, zn_err *e)
{
    zn_doc outer, body;
    const msgpack_object *a, *auth;
    const uint8_t *bp = NULL, *sp = NULL;
    size_t bn = 0, sn = 0;
    uint64_t version = 0;
    zn_convenant *c = NULL;
    int rc = -1;

    *out = NULL;
    body.live = false;
    if (sodium_init() < 0)
        return zn_err_set(e, ZN_E_INTERNAL, "the crypto library could not start");
    if (!file || len > ZN_CONVENANT_MAX_BYTES)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant file is empty or too large");
    if (zn_doc_parse(&outer, file, len, 1, 8) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "this is not a readable convenant file");
    a = zn_obj_array(&outer.root, 4);
    if (!a || !zn_obj_str_eq(&a[0], S_MAGIC)) {
        zn_err_set(e, ZN_E_CONVENANT_INVALID, "this is not a zorgnet convenant file");
        goto done;
    }
    if (zn_obj_u64(&a[1], &version) != 0 || version != S_FORMAT_VERSION) {
        zn_err_set(e, ZN_E_CONVENANT_INVALID, "this convenant file has an unsupported format version");
        goto done;
    }
    if (zn_obj_bin(&a[2], ZN_CONVENANT_MAX_BYTES, &bp, &bn) != 0 || zn_obj_bin(&a[3], ZN_SIG_LEN, &sp, &sn) != 0 ||
        sn != ZN_SIG_LEN) {
        zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant file must hold a body and a 64-byte signature");
        goto done;
    }
    if (zn_doc_parse(&body, bp, bn, ZN_WIRE_MAX_DEPTH, S_BODY_MAX_OBJECTS) != 0 ||
        body.root.type != MSGPACK_OBJECT_MAP) {
        zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant body is not a readable map");
        goto done;
    }
    c = zn_convenant_new();
    if (!c) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory reading the convenant");
        goto done;
    }
    /* The signature first: nothing else in the body is looked at before it verifies. */
    if (s_map_get1(&body.root, "authority", &auth) != 0 || !auth ||
        zn_obj_bin_fixed(auth, c->authority, ZN_KEY_LEN) != 0) {
        zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant does not name one 32-byte authority key");
        goto done;
    }
    if (zn_verify_ns(sp, S_NS, bp, bn, c->authority) != 0) {
        zn_err_set(e, ZN_E_BAD_SIGNATURE,
                   "the convenant's signature does not verify with the authority key it names; it was "
                   "changed or damaged");
        goto done;
    }
    if (s_decode_body(&body.root, c, e) != 0)
        goto done;
    c->raw = malloc(len);
    if (!c->raw) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory reading the convenant");
        goto done;
    }
    memcpy(c->raw, file, len);
    c->raw_len = len;
    *out = c;
    c = NULL;
    rc = 0;
done:
    zn_convenant_destroy(&c);
    zn_doc_free(&body);
    zn_doc_free(&outer);
    return rc;
}

int zn_convenant_load(const char *path, zn_convenant **out, zn_err *e)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    if (zn_file_read(path, ZN_CONVENANT_MAX_BYTES, 0, &buf, &len, e) != 0)
        return -1;
    int rc = zn_convenant_decode(buf, len, out, e);
    if (rc != 0 && e) {
        char text[ZN_ERR_TEXT_MAX];
        snprintf(text, sizeof text, "%s", e->text);
        zn_err_set(e, e->code, "%s: %s", path, text);
    }
    free(buf);
    return rc;
}

int zn_convenant_check_time(const zn_convenant *c, uint64_t now, zn_err *e)
{
    char when[40];
    if (now < c->valid_from) {
        s_format_time(c->valid_from, when, sizeof when);
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant version %llu is not valid before %s",
                          (unsigned long long)c->version, when);
    }
    if (now > c->valid_until) {
        s_format_time(c->valid_until, when, sizeof when);
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "convenant version %llu expired at %s",
                          (unsigned long long)c->version, when);
    }
    return 0;
}

/* ---- editing ---- */

#define S_SET_DISCLOSURE "disclosure:"
#define S_SET_DECISION "decision:"

/* The next ':'-separated part of *p (which moves past it) copied into out; -1 when it is empty,
 * too long for an identifier, or (last = false) not followed by ':'. */
static int s_key_part(const char **p, bool last, char out[ZN_IDENT_MAX])
{
    const char *s = *p, *colon = strchr(s, ':');
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    if (n == 0 || n >= ZN_IDENT_MAX || (last ? colon != NULL : colon == NULL))
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + n + (colon ? 1 : 0);
    return 0;
}

/* disclosure:NET_A:NET_B:person=VALUE, disclosure:NET_A:NET_B:family=VALUE */
static int s_set_disclosure(zn_convenant *c, const char *key, const char *value, zn_err *e)
{
    char na[ZN_IDENT_MAX], nb[ZN_IDENT_MAX], kind[ZN_IDENT_MAX];
    const char *p = key + strlen(S_SET_DISCLOSURE);
    uint8_t v;

    if (s_key_part(&p, false, na) != 0 || s_key_part(&p, false, nb) != 0 || s_key_part(&p, true, kind) != 0 ||
        (strcmp(kind, "person") != 0 && strcmp(kind, "family") != 0))
        return zn_err_set(e, ZN_E_USAGE,
                          "%.80s: a disclosure setting is disclosure:NET_A:NET_B:person=VALUE or "
                          "disclosure:NET_A:NET_B:family=VALUE (NET_A may equal NET_B)",
                          key);
    int ia = zn_convenant_network(c, na), ib = zn_convenant_network(c, nb);
    if (ia < 0 || ib < 0)
        return zn_err_set(e, ZN_E_USAGE,
                          "%.140s: network %s is not in the convenant; 'zorgnet-keys convenant show' lists the "
                          "networks",
                          key, ia < 0 ? na : nb);
    if (s_disclosure_parse(value, &v) != 0)
        return zn_err_set(e, ZN_E_USAGE, "%.140s must be default, none, coordinators or partners; got \"%.40s\"",
                          key, value);
    uint8_t a = (uint8_t)(ia < ib ? ia : ib), b = (uint8_t)(ia < ib ? ib : ia);
    size_t i = 0;
    while (i < c->n_disclosure && (c->disclosure[i].a != a || c->disclosure[i].b != b))
        i++;
    if (i == c->n_disclosure) {
        if (v == 0)
            return 0; /* already the default */
        if (c->n_disclosure >= ZN_MAX_DISCLOSURE_RULES)
            return zn_err_set(e, ZN_E_USAGE,
                              "%.140s: the convenant already holds %d disclosure rules, the most it can; set "
                              "another pair back to default first",
                              key, ZN_MAX_DISCLOSURE_RULES);
        c->disclosure[c->n_disclosure++] = (zn_disclosure_rule){.a = a, .b = b};
    }
    zn_disclosure_rule *r = &c->disclosure[i];
    if (kind[0] == 'p')
        r->person = v;
    else
        r->family = v;
    if (s_rule_is_default(r)) {
        memmove(r, r + 1, (c->n_disclosure - i - 1) * sizeof *r);
        c->n_disclosure--;
    }
    s_rules_sort(c->disclosure, c->n_disclosure);
    return 0;
}

/* decision:NET=cat1,cat2,... (an empty value clears the rule) */
static int s_set_decision(zn_convenant *c, const char *key, const char *value, zn_err *e)
{
    char net[ZN_IDENT_MAX];
    const char *p = key + strlen(S_SET_DECISION);
    zn_decision_rule d;

    if (s_key_part(&p, true, net) != 0)
        return zn_err_set(e, ZN_E_USAGE, "%.80s: a decision setting is decision:NET=CATEGORY,CATEGORY,...", key);
    int idx = zn_convenant_network(c, net);
    if (idx < 0)
        return zn_err_set(e, ZN_E_USAGE,
                          "%.80s: network %s is not in the convenant; 'zorgnet-keys convenant show' lists the "
                          "networks",
                          key, net);
    memset(&d, 0, sizeof d);
    const char *s = value;
    bool more = *value != '\0'; /* "" leaves d empty: the rule is cleared */
    while (more) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (d.n == ZN_MAX_DECISION)
            return zn_err_set(e, ZN_E_USAGE, "%.80s: a decision rule lists at most %d categories", key,
                              ZN_MAX_DECISION);
        if (n < ZN_IDENT_MAX) {
            memcpy(d.category[d.n], s, n);
            d.category[d.n][n] = '\0';
        }
        if (n == 0)
            return zn_err_set(e, ZN_E_USAGE,
                              "%.80s: an empty category (a comma at the start or end, or two together); give "
                              "categories separated by commas, e.g. school,youth-health",
                              key);
        if (n >= ZN_IDENT_MAX || !zn_ident_valid(d.category[d.n]))
            return zn_err_set(e, ZN_E_USAGE,
                              "%.80s: \"%.*s\" is not a category (1-63 of a-z 0-9 . _ -); give categories "
                              "separated by commas, e.g. school,youth-health",
                              key, (int)(n < 40 ? n : 40), s);
        for (size_t j = 0; j < d.n; j++)
            if (strcmp(d.category[j], d.category[d.n]) == 0)
                return zn_err_set(e, ZN_E_USAGE, "%.80s: category %s appears twice", key, d.category[d.n]);
        d.n++;
        more = comma != NULL;
        s = comma ? comma + 1 : s + n;
    }
    c->decision[idx] = d;
    return 0;
}

int zn_convenant_set(zn_convenant *c, const char *key, const char *value, zn_err *e)
{
    uint64_t t;
    if (!c || !key || !value)
        return zn_err_set(e, ZN_E_USAGE, "a setting needs a key and a value");
    if (strncmp(key, S_SET_DISCLOSURE, strlen(S_SET_DISCLOSURE)) == 0)
        return s_set_disclosure(c, key, value, e);
    if (strncmp(key, S_SET_DECISION, strlen(S_SET_DECISION)) == 0)
        return s_set_decision(c, key, value, e);
    if (strcmp(key, "name") == 0) {
        size_t n = strlen(value);
        if (n == 0 || n >= ZN_NAME_MAX || !zn_text_valid(value, n))
            return zn_err_set(e, ZN_E_USAGE, "name must be 1 to %d bytes of text without control characters",
                              ZN_NAME_MAX - 1);
        memcpy(c->name, value, n + 1);
        return 0;
    }
    if (strcmp(key, "endpoint") == 0) {
        if (!s_endpoint_valid(value))
            return zn_err_set(e, ZN_E_USAGE,
                              "endpoint must be an address such as tcp://127.0.0.1:7450 (no spaces, under "
                              "%d bytes)",
                              ZN_ENDPOINT_MAX);
        memcpy(c->endpoint, value, strlen(value) + 1);
        return 0;
    }
    if (strcmp(key, "valid_from") == 0 || strcmp(key, "valid_until") == 0) {
        if (s_parse_date(value, &t) != 0)
            return zn_err_set(e, ZN_E_USAGE,
                              "%s must be a date YYYY-MM-DD (UTC, from 1970 to 9999) that exists; got \"%s\"",
                              key, value);
        if (key[6] == 'f')
            c->valid_from = t;
        else
            c->valid_until = t + 86399; /* the end of that day */
        return 0;
    }
    return zn_policy_set(&c->policy, key, value, e);
}

int zn_convenant_seal_netkey(zn_convenant *c, const zn_netkey *k, zn_err *e)
{
    if (!c || !k)
        return zn_err_set(e, ZN_E_INTERNAL, "no network key to seal");
    if (k->epoch < 1 || k->epoch > S_EPOCH_MAX || sodium_is_zero(k->key, ZN_KEY_LEN))
        return zn_err_set(e, ZN_E_KEY_FILE, "the network key is invalid (epoch 1 to %u, not all zero)",
                          S_EPOCH_MAX);
    if (sodium_init() < 0)
        return zn_err_set(e, ZN_E_INTERNAL, "the crypto library could not start");
    for (size_t i = 0; i < c->n_partners; i++) {
        zn_partner *p = &c->partners[i];
        bool wants = !zn_partner_is_coordinator(p) && (p->auditor || s_has_partner_role(p));
        if (!wants) {
            p->has_netkey = false;
            memset(p->sealed_netkey, 0, sizeof p->sealed_netkey);
            continue;
        }
        if (crypto_box_seal(p->sealed_netkey, k->key, ZN_KEY_LEN, p->keys.box) != 0) {
            p->has_netkey = false;
            return zn_err_set(e, ZN_E_KEY_FILE, "could not seal the network key to %s's box key", p->id);
        }
        p->has_netkey = true;
    }
    c->netkey_epoch = k->epoch;
    return 0;
}

int zn_convenant_open_netkey(const zn_convenant *c, const zn_seckeys *self, const char *self_id,
                             zn_netkey *out, zn_err *e)
{
    const zn_partner *p = zn_convenant_partner(c, self_id);
    sodium_memzero(out, sizeof *out);
    if (!p)
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "%s is not in the convenant", self_id ? self_id : "");
    if (!self || self->pub.kind != ZN_KIND_PARTNER ||
        sodium_memcmp(self->pub.box, p->keys.box, ZN_KEY_LEN) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "these keys are not the keys of %s in the convenant", p->id);
    if (!p->has_netkey)
        return zn_err_set(e, ZN_E_NOT_PARTNER,
                          "no network key is sealed to %s (coordinators never receive it)", p->id);
    if (crypto_box_seal_open(out->key, p->sealed_netkey, ZN_SEALED_NETKEY_LEN, self->pub.box, self->box) != 0) {
        sodium_memzero(out, sizeof *out);
        return zn_err_set(e, ZN_E_VERIFY, "the network key sealed to %s does not open with its box key",
                          p->id);
    }
    out->epoch = c->netkey_epoch;
    return 0;
}
