/* zn_case — the wire bodies of cases, consent, safety overrides and warm handovers, and the
 * consent rules (see zn_case.h and docs/PROTOCOL.md, "Cases, consent, overrides and
 * handovers"). */
#include "zn_case.h"

#include "zn_sealed.h"
#include "zn_signal.h"

#include <stdio.h>
#include <string.h>

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define S_GIVEN_ALL (ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT | ZN_GIVEN_GUARDIAN | ZN_GIVEN_REPRESENTATIVE)

/* ---------------------------------------------------------------- names */

static const char *const s_consent_names[] = {
    [ZN_CONSENT_NONE] = "none",         [ZN_CONSENT_REQUESTED] = "requested", [ZN_CONSENT_GRANTED] = "granted",
    [ZN_CONSENT_REFUSED] = "refused",   [ZN_CONSENT_WITHDRAWN] = "withdrawn",
};

static const char *const s_age_names[] = {
    [ZN_AGE_NONE] = "", [ZN_AGE_0_11] = "0-11", [ZN_AGE_12_15] = "12-15", [ZN_AGE_16_PLUS] = "16+",
};

/* in the order the wire and the lists use */
static const struct {
    unsigned bit;
    const char *name;
} s_given[] = {
    {ZN_GIVEN_CLIENT, "client"},
    {ZN_GIVEN_PARENT, "parent"},
    {ZN_GIVEN_GUARDIAN, "guardian"},
    {ZN_GIVEN_REPRESENTATIVE, "representative"},
};

static const char *const s_override_names[] = {
    [ZN_OVERRIDE_NONE] = "none",         [ZN_OVERRIDE_PENDING] = "pending", [ZN_OVERRIDE_APPROVED] = "approved",
    [ZN_OVERRIDE_REJECTED] = "rejected", [ZN_OVERRIDE_EXPIRED] = "expired",
};

static const char *const s_handover_names[] = {
    [ZN_HANDOVER_OPEN] = "open",           [ZN_HANDOVER_ACCEPTED] = "accepted",
    [ZN_HANDOVER_DECLINED] = "declined",   [ZN_HANDOVER_WITHDRAWN] = "withdrawn",
};

/* The meldcode huiselijk geweld en kindermishandeling, in its five steps. */
static const char *const s_meldcode[ZN_MELDCODE_STEPS + 1] = {
    [1] = "signalen in kaart brengen",
    [2] = "collegiale consultatie (en Veilig Thuis raadplegen)",
    [3] = "gesprek met de cli\xc3\xabnt",
    [4] = "weeg het geweld of de kindermishandeling",
    [5] = "beslissen: hulp organiseren en/of melden",
};

static const char *const s_member_how[] = {"regisseur", "received", "handover", "consent", "override", "handed-over"};

/* index of s in names[lo..n), or -1 */
static int s_find(const char *const *names, size_t lo, size_t n, const char *s)
{
    if (!s)
        return -1;
    for (size_t i = lo; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* the same for a msgpack str */
static int s_find_obj(const char *const *names, size_t lo, size_t n, const msgpack_object *o)
{
    for (size_t i = lo; i < n; i++)
        if (names[i] && zn_obj_str_eq(o, names[i]))
            return (int)i;
    return -1;
}

const char *zn_consent_state_name(zn_consent_state s)
{
    return (unsigned)s < S_COUNT(s_consent_names) ? s_consent_names[s] : "?";
}

int zn_consent_state_parse(const char *s, zn_consent_state *out)
{
    int i = s_find(s_consent_names, ZN_CONSENT_REQUESTED, S_COUNT(s_consent_names), s);
    if (i < 0 || !out)
        return -1;
    *out = (zn_consent_state)i;
    return 0;
}

const char *zn_age_band_name(zn_age_band a)
{
    return (unsigned)a < S_COUNT(s_age_names) ? s_age_names[a] : "?";
}

int zn_age_band_parse(const char *s, zn_age_band *out)
{
    int i = s_find(s_age_names, 0, S_COUNT(s_age_names), s);
    if (i < 0 || !out)
        return -1;
    *out = (zn_age_band)i;
    return 0;
}

const char *zn_given_name(unsigned bit)
{
    for (size_t i = 0; i < S_COUNT(s_given); i++)
        if (s_given[i].bit == bit)
            return s_given[i].name;
    return "?";
}

int zn_given_parse(const char *list, unsigned *out)
{
    unsigned bits = 0;

    if (!list || !out)
        return -1;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        size_t i = 0;
        while (i < S_COUNT(s_given) && !(strlen(s_given[i].name) == n && memcmp(s_given[i].name, p, n) == 0))
            i++;
        if (i == S_COUNT(s_given) || (bits & s_given[i].bit))
            return -1; /* unknown, empty or repeated */
        bits |= s_given[i].bit;
        if (!end)
            break;
        p = end + 1;
        if (*p == '\0')
            return -1; /* a trailing comma */
    }
    *out = bits;
    return 0;
}

void zn_given_format(unsigned bits, char *out, size_t cap)
{
    size_t used = 0;

    if (!out || cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < S_COUNT(s_given); i++) {
        if (!(bits & s_given[i].bit))
            continue;
        int k = snprintf(out + used, cap - used, "%s%s", used ? "," : "", s_given[i].name);
        if (k < 0 || (size_t)k >= cap - used) {
            out[used] = '\0'; /* no half names */
            return;
        }
        used += (size_t)k;
    }
}

const char *zn_meldcode_step_name(uint64_t step)
{
    return step >= 1 && step <= ZN_MELDCODE_STEPS ? s_meldcode[step] : "?";
}

const char *zn_override_state_name(zn_override_state s)
{
    return (unsigned)s < S_COUNT(s_override_names) ? s_override_names[s] : "?";
}

int zn_override_state_parse(const char *s, zn_override_state *out)
{
    int i = s_find(s_override_names, ZN_OVERRIDE_PENDING, S_COUNT(s_override_names), s);
    if (i < 0 || !out)
        return -1;
    *out = (zn_override_state)i;
    return 0;
}

const char *zn_handover_state_name(zn_handover_state s)
{
    return (unsigned)s < S_COUNT(s_handover_names) && s_handover_names[s] ? s_handover_names[s] : "?";
}

int zn_handover_state_parse(const char *s, zn_handover_state *out)
{
    int i = s_find(s_handover_names, ZN_HANDOVER_OPEN, S_COUNT(s_handover_names), s);
    if (i < 0 || !out)
        return -1;
    *out = (zn_handover_state)i;
    return 0;
}

/* ---------------------------------------------------------------- consent rules */

/* The capacity in which consent must be given, per age band (Dutch youth care: the WGBO and the
 * Jeugdwet). A granted consent holds when every `required` giver and at least one of `any_of`
 * (when not 0) gave it; others may have given it too. */
static const struct {
    zn_age_band band;
    unsigned required;
    unsigned any_of;
    const char *needs;
} s_capacity[] = {
    {ZN_AGE_0_11, 0, ZN_GIVEN_PARENT | ZN_GIVEN_GUARDIAN | ZN_GIVEN_REPRESENTATIVE,
     "a parent, guardian or representative"},
    {ZN_AGE_12_15, ZN_GIVEN_CLIENT, ZN_GIVEN_PARENT | ZN_GIVEN_GUARDIAN, "the client and a parent or guardian"},
    {ZN_AGE_16_PLUS, ZN_GIVEN_CLIENT, 0, "the client"},
};

/* ascending, distinct partner ids: NULL when they are, else what is wrong with scope[*at] */
static const char *s_scope_why(const char (*scope)[ZN_IDENT_MAX], size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        *at = i;
        if (!zn_ident_valid(scope[i]))
            return "is not an identifier";
        if (i > 0 && strcmp(scope[i - 1], scope[i]) >= 0)
            return "does not come after the one before it (ascending, each partner once)";
    }
    return NULL;
}

int zn_consent_check(const zn_consent *c, uint64_t now_ms, zn_err *e)
{
    const char *why = NULL;
    size_t at = 0;

    if (!c)
        return zn_err_set(e, ZN_E_INTERNAL, "consent check called without a consent");
    if (c->state < ZN_CONSENT_REQUESTED || c->state > ZN_CONSENT_WITHDRAWN)
        return zn_err_set(e, ZN_E_USAGE, "the consent state must be requested, granted, refused or withdrawn");
    if (c->n_scope > ZN_CONSENT_SCOPE_MAX)
        return zn_err_set(e, ZN_E_USAGE, "the consent's scope names %zu partners; at most %d are allowed",
                          c->n_scope, ZN_CONSENT_SCOPE_MAX);
    if ((why = s_scope_why(c->scope, c->n_scope, &at)) != NULL)
        return zn_err_set(e, ZN_E_USAGE, "partner %zu of the consent's scope %s", at + 1, why);
    if ((c->given_by & ~S_GIVEN_ALL) != 0)
        return zn_err_set(e, ZN_E_USAGE, "consent is given by the client, a parent, a guardian or a representative");
    if ((unsigned)c->age_band >= S_COUNT(s_age_names))
        return zn_err_set(e, ZN_E_USAGE, "the age band must be 0-11, 12-15 or 16+");
    if (c->until_ms != 0 && c->until_ms <= now_ms)
        return zn_err_set(e, ZN_E_USAGE, "the consent's end date lies in the past; give a later one or none");
    if (c->state != ZN_CONSENT_GRANTED)
        return 0;
    if (c->n_scope == 0)
        return zn_err_set(e, ZN_E_USAGE, "a granted consent names the partners it covers (its scope)");
    if (c->age_band == ZN_AGE_NONE)
        return zn_err_set(e, ZN_E_USAGE, "a granted consent names the client's age band (0-11, 12-15 or 16+)");
    for (size_t i = 0; i < S_COUNT(s_capacity); i++) {
        if (s_capacity[i].band != c->age_band)
            continue;
        unsigned g = c->given_by;
        bool ok = g != 0 && (g & s_capacity[i].required) == s_capacity[i].required &&
                  (s_capacity[i].any_of == 0 || (g & s_capacity[i].any_of) != 0);
        if (ok)
            return 0;
        char given[64];
        zn_given_format(g, given, sizeof given);
        return zn_err_set(e, ZN_E_CAPACITY, "consent at age %s must be given by %s; it was given by %s",
                          zn_age_band_name(c->age_band), s_capacity[i].needs, g ? given : "nobody");
    }
    return zn_err_set(e, ZN_E_INTERNAL, "no capacity rule for age band %s", zn_age_band_name(c->age_band));
}

bool zn_consent_covers(const zn_consent *c, const char *partner, uint64_t now_ms)
{
    if (!c || !partner || c->state != ZN_CONSENT_GRANTED || (c->until_ms != 0 && c->until_ms <= now_ms))
        return false;
    for (size_t i = 0; i < c->n_scope && i < ZN_CONSENT_SCOPE_MAX; i++)
        if (strncmp(c->scope[i], partner, ZN_IDENT_MAX) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- shared wire helpers */

/* What the sentences below say of the fields' rules. */
_Static_assert(ZN_ID_LEN == 16 && ZN_PSN_LEN == 33 && ZN_CASE_RELATED_MAX == 16 && ZN_CONSENT_SCOPE_MAX == 32 &&
                   ZN_HANDLER_MAX == 128 && ZN_MELDCODE_STEPS == 5,
               "the sentences name these sizes");
#define S_BAD_ID "is not a 16-byte bin"
#define S_BAD_IDENT "is not an identifier"
#define S_BAD_OPT_IDENT "is neither empty nor an identifier"
#define S_BAD_TIME "is not a time in ms"
#define S_BAD_BOOL "is not a boolean"
#define S_BAD_STEP "is not a meldcode step of 1 to 5"
#define S_BAD_HANDLER "is not text of 1 to 127 bytes without control characters"
#define S_BAD_SCOPE "is not an array of at most 32 partner ids, ascending, each once"
#define S_BAD_GIVEN "is not an array of client, parent, guardian, representative (in that order, each once)"
#define S_BAD_AGE "is not one of \"\", 0-11, 12-15, 16+"
#define S_BAD_CONSENT_STATE "is not one of requested, granted, refused, withdrawn"

/* An encoded sealed array as it is, or nil. */
static void s_pack_sealed(msgpack_packer *pk, const uint8_t *p, size_t n)
{
    if (p && n)
        zn_pack_raw(pk, p, n);
    else
        msgpack_pack_nil(pk);
}

static int s_obj_step(const msgpack_object *o, uint64_t *step)
{
    uint64_t v = 0;
    if (zn_obj_u64_max(o, ZN_MELDCODE_STEPS, &v) != 0 || v == 0)
        return -1;
    *step = v;
    return 0;
}

static void s_pack_scope(msgpack_packer *pk, const zn_consent *c)
{
    size_t n = c->n_scope < ZN_CONSENT_SCOPE_MAX ? c->n_scope : ZN_CONSENT_SCOPE_MAX;
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        zn_pack_str(pk, c->scope[i]);
}

static void s_pack_given(msgpack_packer *pk, unsigned bits)
{
    uint32_t n = 0;
    for (size_t i = 0; i < S_COUNT(s_given); i++)
        n += (bits & s_given[i].bit) != 0;
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < S_COUNT(s_given); i++)
        if (bits & s_given[i].bit)
            zn_pack_str(pk, s_given[i].name);
}

/* [str ...]: 0..ZN_CONSENT_SCOPE_MAX partner ids, ascending, distinct. */
static int s_dec_scope(const msgpack_object *o, zn_consent *c)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > ZN_CONSENT_SCOPE_MAX)
        return -1;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (zn_obj_ident(&o->via.array.ptr[i], c->scope[i], ZN_IDENT_MAX) != 0)
            return -1;
        if (i > 0 && strcmp(c->scope[i - 1], c->scope[i]) >= 0)
            return -1;
    }
    c->n_scope = o->via.array.size;
    return 0;
}

/* [str ...]: given_by names in the table's order, each once. */
static int s_dec_given(const msgpack_object *o, unsigned *bits)
{
    size_t next = 0; /* the first table entry the next name may be */
    unsigned b = 0;
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > S_COUNT(s_given))
        return -1;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        size_t k = next;
        while (k < S_COUNT(s_given) && !zn_obj_str_eq(&o->via.array.ptr[i], s_given[k].name))
            k++;
        if (k == S_COUNT(s_given))
            return -1; /* unknown, repeated or out of order */
        b |= s_given[k].bit;
        next = k + 1;
    }
    *bits = b;
    return 0;
}

static int s_dec_age(const msgpack_object *o, zn_age_band *a)
{
    int i = s_find_obj(s_age_names, 0, S_COUNT(s_age_names), o);
    if (i < 0)
        return -1;
    *a = (zn_age_band)i;
    return 0;
}

/* A state name in names[lo..n). */
static int s_dec_state(const msgpack_object *o, const char *const *names, size_t lo, size_t n, int *out)
{
    int i = s_find_obj(names, lo, n, o);
    if (i < 0)
        return -1;
    *out = i;
    return 0;
}

/* A sealed field of a request body: nil (when nil_ok) gives NULL; else the array must pass
 * zn_sealed_parse with texts of at least min_text bytes. */
static int s_dec_sealed_obj(const char *what, const char *field, const msgpack_object *o, size_t min_text,
                            bool nil_ok, const msgpack_object **out, zn_err *e)
{
    zn_sealed s;
    zn_err why;

    *out = NULL;
    if (nil_ok && o && o->type == MSGPACK_OBJECT_NIL)
        return 0;
    zn_err_clear(&why);
    if (zn_sealed_parse(o, min_text, &s, &why) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field '%s' is %snot a sealed text: %s", what, field,
                          nil_ok ? "neither nil nor " : "", why.text);
    *out = o;
    return 0;
}

/* A sealed field of a row: the bytes of its encoding inside the parsed input (NULL, 0 for nil).
 * msgpack-c keeps no position of an array, so the span is taken as the shortest encoding of the
 * parsed array (what every zorgnet encoder writes) ending where its last box ends; a field that
 * was not written that way is refused. 0 when it holds, else -1. */
static int s_dec_sealed_span(const msgpack_object *o, size_t min_text, bool nil_ok, const uint8_t **p, size_t *n)
{
    zn_sealed s;
    int rc = -1;

    *p = NULL;
    *n = 0;
    if (nil_ok && o && o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (zn_sealed_parse(o, min_text, &s, NULL) != 0)
        return -1;
    zn_buf b = {.failed = false};
    msgpack_packer pk;
    msgpack_sbuffer_init(&b.sb);
    msgpack_packer_init(&pk, &b, zn_buf_write);
    msgpack_pack_object(&pk, *o);
    const uint8_t *end = s.box[s.n - 1] + s.box_len[s.n - 1];
    /* the input holds the whole encoding before `end`, and it is never shorter than the shortest
     * one: end - size lies inside the input */
    if (!b.failed && memcmp(end - b.sb.size, b.sb.data, b.sb.size) == 0) {
        *p = end - b.sb.size;
        *n = b.sb.size;
        rc = 0;
    }
    msgpack_sbuffer_destroy(&b.sb);
    return rc;
}

/* ---------------------------------------------------------------- case-new, case-link */

int zn_body_case_new_enc(msgpack_sbuffer *out, const zn_case_new_body *b)
{
    uint32_t at = 0;

    if (!out || !b || !zn_ident_valid(b->network))
        return -1;
    if (b->identified &&
        (b->person[0] == 0 || b->n_related > ZN_CASE_RELATED_MAX ||
         zn_psn_related_why(b->person, b->related, b->n_related, &at) != NULL))
        return -1;
    zn_buf buf;
    msgpack_packer pk;
    zn_buf_init(&buf, &pk);
    msgpack_pack_array(&pk, b->identified ? 4 : 2);
    zn_pack_bin(&pk, b->id, ZN_ID_LEN);
    zn_pack_str(&pk, b->network);
    if (b->identified)
        zn_pack_persons(&pk, b->person, b->related, b->n_related);
    return zn_buf_flush(&buf, out);
}

int zn_body_case_new_dec(const msgpack_object *body, zn_case_new_body *out, zn_err *e)
{
    static const char what[] = "case-new: body";
    zn_case_new_body v;

    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "case-new: body parser called without its arguments");
    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    if (!body || body->type != MSGPACK_OBJECT_ARRAY || (body->via.array.size != 2 && body->via.array.size != 4))
        return zn_err_set(e, ZN_E_MALFORMED, "case-new: body is not an array of 2 fields (case, network: an "
                                             "anonymous case) or 4 (case, network, person, related)");
    const msgpack_object *a = body->via.array.ptr;
    if (zn_obj_bin_fixed(&a[0], v.id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'case' " S_BAD_ID, what);
    if (zn_obj_ident(&a[1], v.network, sizeof v.network) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'network' " S_BAD_IDENT, what);
    if (body->via.array.size == 4) {
        v.identified = true;
        if (zn_obj_persons(what, &a[2], &a[3], ZN_CASE_RELATED_MAX, v.person, v.related, &v.n_related, e) != 0)
            return -1;
    }
    *out = v;
    return 0;
}

/* The same body as the signal kinds' [id bin16] (zn_signal.h). */
void zn_body_id_enc(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN])
{
    zn_body_id(out, id);
}

int zn_body_id_dec(const msgpack_object *body, uint8_t id[ZN_ID_LEN], zn_err *e)
{
    return zn_body_id_parse(body, id, e);
}

void zn_body_case_link_enc(msgpack_sbuffer *out, const zn_case_link_body *b)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_bin(&pk, b->case_id, ZN_ID_LEN);
    zn_pack_persons(&pk, b->person, b->related,
                    b->n_related < ZN_CASE_RELATED_MAX ? b->n_related : ZN_CASE_RELATED_MAX);
}

int zn_body_case_link_dec(const msgpack_object *body, zn_case_link_body *out, zn_err *e)
{
    static const char what[] = "case-link: body";
    zn_case_link_body v;

    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "case-link: body parser called without its arguments");
    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    const msgpack_object *a = zn_obj_array(body, 3);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "case-link: body is not an array of exactly 3 fields "
                                             "(case, person, related)");
    if (zn_obj_bin_fixed(&a[0], v.case_id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'case' " S_BAD_ID, what);
    if (zn_obj_persons(what, &a[1], &a[2], ZN_CASE_RELATED_MAX, v.person, v.related, &v.n_related, e) != 0)
        return -1;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- consent-set */

void zn_body_consent_set_enc(msgpack_sbuffer *out, const uint8_t case_id[ZN_ID_LEN], const zn_consent *c,
                             const uint8_t *purpose, size_t purpose_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 7);
    zn_pack_bin(&pk, case_id, ZN_ID_LEN);
    zn_pack_str(&pk, zn_consent_state_name(c->state));
    s_pack_scope(&pk, c);
    s_pack_given(&pk, c->given_by);
    zn_pack_str(&pk, zn_age_band_name(c->age_band));
    msgpack_pack_uint64(&pk, c->until_ms);
    s_pack_sealed(&pk, purpose, purpose_len);
}

int zn_body_consent_set_dec(const msgpack_object *body, uint8_t case_id[ZN_ID_LEN], zn_consent *out,
                            const msgpack_object **purpose, zn_err *e)
{
    static const char what[] = "consent-set: body";
    uint8_t id[ZN_ID_LEN];
    zn_consent c;
    int st = 0;
    const msgpack_object *pp = NULL;

    if (!case_id || !out || !purpose)
        return zn_err_set(e, ZN_E_INTERNAL, "consent-set: body parser called without its arguments");
    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    *purpose = NULL;
    const msgpack_object *a = zn_obj_array(body, 7);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "consent-set: body is not an array of exactly 7 fields "
                                             "(case, state, scope, given_by, age_band, until, purpose)");
    if (zn_obj_bin_fixed(&a[0], id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'case' " S_BAD_ID, what);
    if (s_dec_state(&a[1], s_consent_names, ZN_CONSENT_REQUESTED, S_COUNT(s_consent_names), &st) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'state' " S_BAD_CONSENT_STATE, what);
    c.state = (zn_consent_state)st;
    if (s_dec_scope(&a[2], &c) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'scope' " S_BAD_SCOPE, what);
    if (s_dec_given(&a[3], &c.given_by) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'given_by' " S_BAD_GIVEN, what);
    if (s_dec_age(&a[4], &c.age_band) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'age_band' " S_BAD_AGE, what);
    if (zn_obj_u64(&a[5], &c.until_ms) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'until' " S_BAD_TIME, what);
    if (c.until_ms > (uint64_t)INT64_MAX) /* the broker stores times as sqlite's signed integers */
        return zn_err_set(e, ZN_E_MALFORMED,
                          "%s field 'until' is %llu ms, later than the latest time the broker stores (%lld); "
                          "give a real end date, or 0 for until withdrawn",
                          what, (unsigned long long)c.until_ms, (long long)INT64_MAX);
    if (s_dec_sealed_obj(what, "purpose", &a[6], 1, true, &pp, e) != 0)
        return -1;
    memcpy(case_id, id, ZN_ID_LEN);
    *out = c;
    *purpose = pp;
    return 0;
}

/* ---------------------------------------------------------------- overrides */

void zn_body_override_new_enc(msgpack_sbuffer *out, const zn_override_new_body *b, const uint8_t *justification,
                              size_t justification_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 5);
    zn_pack_bin(&pk, b->id, ZN_ID_LEN);
    zn_pack_bin(&pk, b->case_id, ZN_ID_LEN);
    zn_pack_str(&pk, b->to);
    msgpack_pack_uint64(&pk, b->step);
    s_pack_sealed(&pk, justification, justification_len);
}

int zn_body_override_new_dec(const msgpack_object *body, zn_override_new_body *out,
                             const msgpack_object **justification, zn_err *e)
{
    static const char what[] = "override-new: body";
    zn_override_new_body v;
    const msgpack_object *j = NULL;

    if (!out || !justification)
        return zn_err_set(e, ZN_E_INTERNAL, "override-new: body parser called without its arguments");
    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    *justification = NULL;
    const msgpack_object *a = zn_obj_array(body, 5);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "override-new: body is not an array of exactly 5 fields "
                                             "(override, case, to, step, justification)");
    if (zn_obj_bin_fixed(&a[0], v.id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'override' " S_BAD_ID, what);
    if (zn_obj_bin_fixed(&a[1], v.case_id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'case' " S_BAD_ID, what);
    if (zn_obj_ident(&a[2], v.to, sizeof v.to) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'to' " S_BAD_IDENT, what);
    if (s_obj_step(&a[3], &v.step) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'step' " S_BAD_STEP, what);
    if (s_dec_sealed_obj(what, "justification", &a[4], ZN_JUSTIFICATION_MIN, false, &j, e) != 0)
        return -1;
    *out = v;
    *justification = j;
    return 0;
}

void zn_body_override_list_enc(msgpack_sbuffer *out, bool all, uint64_t offset)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_bool(&pk, all);
    msgpack_pack_uint64(&pk, offset);
}

int zn_body_override_list_dec(const msgpack_object *body, bool *all, uint64_t *offset, zn_err *e)
{
    bool a0 = false;
    uint64_t o = 0;
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "override-list: body is not an array of exactly 2 fields (all, offset)");
    if (zn_obj_bool(&a[0], &a0) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "override-list: body field 'all' " S_BAD_BOOL);
    if (zn_obj_u64(&a[1], &o) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "override-list: body field 'offset' is not an unsigned integer");
    *all = a0;
    *offset = o;
    return 0;
}

void zn_body_offset_enc(msgpack_sbuffer *out, uint64_t offset)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint64(&pk, offset);
}

int zn_body_offset_dec(const msgpack_object *body, uint64_t *offset, zn_err *e)
{
    const msgpack_object *a = zn_obj_array(body, 1);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "body is not an array of exactly 1 field (offset)");
    if (zn_obj_u64(&a[0], offset) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "body field 'offset' is not an unsigned integer");
    return 0;
}

void zn_body_override_review_enc(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN], bool approve,
                                 const uint8_t *note, size_t note_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
    zn_pack_bool(&pk, approve);
    s_pack_sealed(&pk, note, note_len);
}

int zn_body_override_review_dec(const msgpack_object *body, uint8_t id[ZN_ID_LEN], bool *approve,
                                const msgpack_object **note, zn_err *e)
{
    static const char what[] = "override-review: body";
    uint8_t v[ZN_ID_LEN];
    bool ap = false;
    const msgpack_object *n = NULL;

    if (!id || !approve || !note)
        return zn_err_set(e, ZN_E_INTERNAL, "override-review: body parser called without its arguments");
    *note = NULL;
    const msgpack_object *a = zn_obj_array(body, 3);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "override-review: body is not an array of exactly 3 fields "
                                             "(override, approve, note)");
    if (zn_obj_bin_fixed(&a[0], v, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'override' " S_BAD_ID, what);
    if (zn_obj_bool(&a[1], &ap) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'approve' " S_BAD_BOOL, what);
    if (s_dec_sealed_obj(what, "note", &a[2], 1, true, &n, e) != 0)
        return -1;
    memcpy(id, v, ZN_ID_LEN);
    *approve = ap;
    *note = n;
    return 0;
}

/* ---------------------------------------------------------------- handovers */

void zn_body_handover_offer_enc(msgpack_sbuffer *out, const zn_handover_offer_body *b)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    zn_pack_bin(&pk, b->id, ZN_ID_LEN);
    zn_pack_bin(&pk, b->case_id, ZN_ID_LEN);
    zn_pack_str(&pk, b->to);
    zn_pack_bin(&pk, b->msgid, ZN_ID_LEN);
}

int zn_body_handover_offer_dec(const msgpack_object *body, zn_handover_offer_body *out, zn_err *e)
{
    static const char what[] = "handover-offer: body";
    zn_handover_offer_body v;

    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "handover-offer: body parser called without its arguments");
    memset(out, 0, sizeof *out);
    memset(&v, 0, sizeof v);
    const msgpack_object *a = zn_obj_array(body, 4);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "handover-offer: body is not an array of exactly 4 fields "
                                             "(handover, case, to, msgid)");
    if (zn_obj_bin_fixed(&a[0], v.id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'handover' " S_BAD_ID, what);
    if (zn_obj_bin_fixed(&a[1], v.case_id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'case' " S_BAD_ID, what);
    if (zn_obj_ident(&a[2], v.to, sizeof v.to) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'to' " S_BAD_IDENT, what);
    if (zn_obj_bin_fixed(&a[3], v.msgid, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'msgid' " S_BAD_ID, what);
    *out = v;
    return 0;
}

void zn_body_handover_decline_enc(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN], const uint8_t *reason,
                                  size_t reason_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
    s_pack_sealed(&pk, reason, reason_len);
}

int zn_body_handover_decline_dec(const msgpack_object *body, uint8_t id[ZN_ID_LEN], const msgpack_object **reason,
                                 zn_err *e)
{
    static const char what[] = "handover-decline: body";
    uint8_t v[ZN_ID_LEN];
    const msgpack_object *r = NULL;

    if (!id || !reason)
        return zn_err_set(e, ZN_E_INTERNAL, "handover-decline: body parser called without its arguments");
    *reason = NULL;
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "handover-decline: body is not an array of exactly 2 fields "
                                             "(handover, reason)");
    if (zn_obj_bin_fixed(&a[0], v, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "%s field 'handover' " S_BAD_ID, what);
    if (s_dec_sealed_obj(what, "reason", &a[1], 1, false, &r, e) != 0)
        return -1;
    memcpy(id, v, ZN_ID_LEN);
    *reason = r;
    return 0;
}

/* ---------------------------------------------------------------- rows */

/* The end of a row decoder: bad is what its parser found wrong with the row (NULL: nothing),
 * and a bad row leaves out (of size bytes) zeroed. */
static int s_row_done(const char *row, const char *bad, void *out, size_t size, zn_err *e)
{
    if (!bad)
        return 0;
    memset(out, 0, size);
    return zn_err_set(e, ZN_E_MALFORMED, "%s %s", row, bad);
}

void zn_pack_consent_row(msgpack_packer *pk, const zn_consent_row *r)
{
    msgpack_pack_array(pk, 9);
    msgpack_pack_uint64(pk, r->seq);
    zn_pack_str(pk, zn_consent_state_name(r->c.state));
    s_pack_scope(pk, &r->c);
    s_pack_given(pk, r->c.given_by);
    zn_pack_str(pk, zn_age_band_name(r->c.age_band));
    msgpack_pack_uint64(pk, r->c.until_ms);
    msgpack_pack_uint64(pk, r->at_ms);
    zn_pack_str(pk, r->handler);
    s_pack_sealed(pk, r->purpose, r->purpose_len);
}

/* One consent-row; NULL when it holds, else what is wrong with it. */
static const char *s_consent_row_parse(const msgpack_object *o, zn_consent_row *r)
{
    int st = 0;

    memset(r, 0, sizeof *r);
    const msgpack_object *a = zn_obj_array(o, 9);
    if (!a)
        return "is not an array of exactly 9 fields";
    if (zn_obj_u64(&a[0], &r->seq) != 0)
        return "field 'seq' is not an unsigned integer";
    if (s_dec_state(&a[1], s_consent_names, ZN_CONSENT_REQUESTED, S_COUNT(s_consent_names), &st) != 0)
        return "field 'state' " S_BAD_CONSENT_STATE;
    r->c.state = (zn_consent_state)st;
    if (s_dec_scope(&a[2], &r->c) != 0)
        return "field 'scope' " S_BAD_SCOPE;
    if (s_dec_given(&a[3], &r->c.given_by) != 0)
        return "field 'given_by' " S_BAD_GIVEN;
    if (s_dec_age(&a[4], &r->c.age_band) != 0)
        return "field 'age_band' " S_BAD_AGE;
    if (zn_obj_u64(&a[5], &r->c.until_ms) != 0)
        return "field 'until' " S_BAD_TIME;
    if (zn_obj_u64(&a[6], &r->at_ms) != 0)
        return "field 'at' " S_BAD_TIME;
    if (zn_obj_text(&a[7], r->handler, sizeof r->handler) != 0)
        return "field 'handler' " S_BAD_HANDLER;
    if (s_dec_sealed_span(&a[8], 1, true, &r->purpose, &r->purpose_len) != 0)
        return "field 'purpose' is neither nil nor a sealed text in its shortest encoding";
    return NULL;
}

int zn_consent_row_dec(const msgpack_object *o, zn_consent_row *out, zn_err *e)
{
    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "consent-row parser called without its arguments");
    return s_row_done("consent-row", s_consent_row_parse(o, out), out, sizeof *out, e);
}

void zn_pack_override_row(msgpack_packer *pk, const zn_override_row *r)
{
    msgpack_pack_array(pk, 16);
    zn_pack_bin(pk, r->id, ZN_ID_LEN);
    zn_pack_bin(pk, r->case_id, ZN_ID_LEN);
    zn_pack_str(pk, r->network);
    zn_pack_str(pk, r->from);
    zn_pack_str(pk, r->handler);
    zn_pack_str(pk, r->to);
    msgpack_pack_uint64(pk, r->step);
    msgpack_pack_uint64(pk, r->created_ms);
    msgpack_pack_uint64(pk, r->expires_ms);
    msgpack_pack_uint64(pk, r->review_by_ms);
    zn_pack_str(pk, zn_override_state_name(r->state));
    zn_pack_str(pk, r->reviewed_by);
    msgpack_pack_uint64(pk, r->reviewed_ms);
    zn_pack_bool(pk, r->escalated);
    s_pack_sealed(pk, r->justification, r->justification_len);
    s_pack_sealed(pk, r->note, r->note_len);
}

static const char *s_override_row_parse(const msgpack_object *o, zn_override_row *r)
{
    int st = 0;

    memset(r, 0, sizeof *r);
    const msgpack_object *a = zn_obj_array(o, 16);
    if (!a)
        return "is not an array of exactly 16 fields";
    if (zn_obj_bin_fixed(&a[0], r->id, ZN_ID_LEN) != 0)
        return "field 'override' " S_BAD_ID;
    if (zn_obj_bin_fixed(&a[1], r->case_id, ZN_ID_LEN) != 0)
        return "field 'case' " S_BAD_ID;
    if (zn_obj_ident(&a[2], r->network, sizeof r->network) != 0)
        return "field 'network' " S_BAD_IDENT;
    if (zn_obj_ident(&a[3], r->from, sizeof r->from) != 0)
        return "field 'from' " S_BAD_IDENT;
    if (zn_obj_text(&a[4], r->handler, sizeof r->handler) != 0)
        return "field 'handler' " S_BAD_HANDLER;
    if (zn_obj_ident(&a[5], r->to, sizeof r->to) != 0)
        return "field 'to' " S_BAD_IDENT;
    if (s_obj_step(&a[6], &r->step) != 0)
        return "field 'step' " S_BAD_STEP;
    if (zn_obj_u64(&a[7], &r->created_ms) != 0)
        return "field 'created' " S_BAD_TIME;
    if (zn_obj_u64(&a[8], &r->expires_ms) != 0)
        return "field 'expires' " S_BAD_TIME;
    if (zn_obj_u64(&a[9], &r->review_by_ms) != 0)
        return "field 'review_by' " S_BAD_TIME;
    if (s_dec_state(&a[10], s_override_names, ZN_OVERRIDE_PENDING, S_COUNT(s_override_names), &st) != 0)
        return "field 'state' is not one of pending, approved, rejected, expired";
    r->state = (zn_override_state)st;
    if (zn_obj_opt_ident(&a[11], r->reviewed_by, sizeof r->reviewed_by) != 0)
        return "field 'reviewed_by' " S_BAD_OPT_IDENT;
    if (zn_obj_u64(&a[12], &r->reviewed_ms) != 0)
        return "field 'reviewed' " S_BAD_TIME;
    if (zn_obj_bool(&a[13], &r->escalated) != 0)
        return "field 'escalated' " S_BAD_BOOL;
    if (s_dec_sealed_span(&a[14], ZN_JUSTIFICATION_MIN, false, &r->justification, &r->justification_len) != 0)
        return "field 'justification' is not a sealed text of at least 40 bytes in its shortest encoding";
    if (s_dec_sealed_span(&a[15], 1, true, &r->note, &r->note_len) != 0)
        return "field 'note' is neither nil nor a sealed text in its shortest encoding";
    return NULL;
}

int zn_override_row_dec(const msgpack_object *o, zn_override_row *out, zn_err *e)
{
    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "override-row parser called without its arguments");
    return s_row_done("override-row", s_override_row_parse(o, out), out, sizeof *out, e);
}

void zn_pack_handover_row(msgpack_packer *pk, const zn_handover_row *r)
{
    msgpack_pack_array(pk, 12);
    zn_pack_bin(pk, r->id, ZN_ID_LEN);
    zn_pack_bin(pk, r->case_id, ZN_ID_LEN);
    zn_pack_str(pk, r->from);
    zn_pack_str(pk, r->handler);
    zn_pack_str(pk, r->to);
    zn_pack_bin(pk, r->msgid, ZN_ID_LEN);
    msgpack_pack_uint64(pk, r->offered_ms);
    msgpack_pack_uint64(pk, r->timeout_ms);
    zn_pack_str(pk, zn_handover_state_name(r->state));
    msgpack_pack_uint64(pk, r->decided_ms);
    zn_pack_bool(pk, r->escalated);
    s_pack_sealed(pk, r->reason, r->reason_len);
}

static const char *s_handover_row_parse(const msgpack_object *o, zn_handover_row *r)
{
    int st = 0;

    memset(r, 0, sizeof *r);
    const msgpack_object *a = zn_obj_array(o, 12);
    if (!a)
        return "is not an array of exactly 12 fields";
    if (zn_obj_bin_fixed(&a[0], r->id, ZN_ID_LEN) != 0)
        return "field 'handover' " S_BAD_ID;
    if (zn_obj_bin_fixed(&a[1], r->case_id, ZN_ID_LEN) != 0)
        return "field 'case' " S_BAD_ID;
    if (zn_obj_ident(&a[2], r->from, sizeof r->from) != 0)
        return "field 'from' " S_BAD_IDENT;
    if (zn_obj_text(&a[3], r->handler, sizeof r->handler) != 0)
        return "field 'handler' " S_BAD_HANDLER;
    if (zn_obj_ident(&a[4], r->to, sizeof r->to) != 0)
        return "field 'to' " S_BAD_IDENT;
    if (zn_obj_bin_fixed(&a[5], r->msgid, ZN_ID_LEN) != 0)
        return "field 'msgid' " S_BAD_ID;
    if (zn_obj_u64(&a[6], &r->offered_ms) != 0)
        return "field 'offered' " S_BAD_TIME;
    if (zn_obj_u64(&a[7], &r->timeout_ms) != 0)
        return "field 'timeout' " S_BAD_TIME;
    if (s_dec_state(&a[8], s_handover_names, ZN_HANDOVER_OPEN, S_COUNT(s_handover_names), &st) != 0)
        return "field 'state' is not one of open, accepted, declined, withdrawn";
    r->state = (zn_handover_state)st;
    if (zn_obj_u64(&a[9], &r->decided_ms) != 0)
        return "field 'decided' " S_BAD_TIME;
    if (zn_obj_bool(&a[10], &r->escalated) != 0)
        return "field 'escalated' " S_BAD_BOOL;
    if (s_dec_sealed_span(&a[11], 1, true, &r->reason, &r->reason_len) != 0)
        return "field 'reason' is neither nil nor a sealed text in its shortest encoding";
    return NULL;
}

int zn_handover_row_dec(const msgpack_object *o, zn_handover_row *out, zn_err *e)
{
    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "handover-row parser called without its arguments");
    return s_row_done("handover-row", s_handover_row_parse(o, out), out, sizeof *out, e);
}

/* ---------------------------------------------------------------- case-view */

#define S_VIEW_HANDOVERS S_COUNT(((zn_case_view *)0)->handovers)
#define S_VIEW_OVERRIDES S_COUNT(((zn_case_view *)0)->overrides)

void zn_pack_case_view(msgpack_packer *pk, const zn_case_view *v)
{
    size_t nm = v->n_members < ZN_CASE_PAGE ? v->n_members : ZN_CASE_PAGE;
    size_t nh = v->n_handovers < S_VIEW_HANDOVERS ? v->n_handovers : S_VIEW_HANDOVERS;
    size_t no = v->n_overrides < S_VIEW_OVERRIDES ? v->n_overrides : S_VIEW_OVERRIDES;

    msgpack_pack_array(pk, 10);
    zn_pack_bin(pk, v->id, ZN_ID_LEN);
    zn_pack_str(pk, v->network);
    zn_pack_str(pk, v->regisseur);
    msgpack_pack_uint64(pk, v->created_ms);
    msgpack_pack_uint64(pk, v->closed_ms);
    zn_pack_bool(pk, v->identified);
    msgpack_pack_array(pk, nm);
    for (size_t i = 0; i < nm; i++) {
        msgpack_pack_array(pk, 3);
        zn_pack_str(pk, v->members[i].partner);
        zn_pack_str(pk, v->members[i].how);
        msgpack_pack_uint64(pk, v->members[i].since_ms);
    }
    msgpack_pack_array(pk, 5);
    msgpack_pack_uint64(pk, v->consent_seq);
    zn_pack_str(pk, zn_consent_state_name(v->consent.state));
    s_pack_scope(pk, &v->consent);
    msgpack_pack_uint64(pk, v->consent.until_ms);
    msgpack_pack_uint64(pk, v->consent_at_ms);
    msgpack_pack_array(pk, nh);
    for (size_t i = 0; i < nh; i++)
        zn_pack_handover_row(pk, &v->handovers[i]);
    msgpack_pack_array(pk, no);
    for (size_t i = 0; i < no; i++)
        zn_pack_override_row(pk, &v->overrides[i]);
}

static const char *s_member_parse(const msgpack_object *o, zn_member_row *m)
{
    int how = 0;
    const msgpack_object *a = zn_obj_array(o, 3);
    if (!a)
        return "is not an array of exactly 3 fields (partner, how, since)";
    if (zn_obj_ident(&a[0], m->partner, sizeof m->partner) != 0)
        return "field 'partner' " S_BAD_IDENT;
    if (s_dec_state(&a[1], s_member_how, 0, S_COUNT(s_member_how), &how) != 0)
        return "field 'how' is not one of regisseur, received, handover, consent, override, handed-over";
    _Static_assert(sizeof m->how > sizeof "regisseur", "every 'how' fits");
    memcpy(m->how, s_member_how[how], strlen(s_member_how[how]) + 1);
    if (zn_obj_u64(&a[2], &m->since_ms) != 0)
        return "field 'since' " S_BAD_TIME;
    return NULL;
}

/* [seq, state, scope, until, at]; state "none" exactly when seq is 0 */
static const char *s_view_consent_parse(const msgpack_object *o, zn_case_view *v)
{
    int st = 0;
    const msgpack_object *a = zn_obj_array(o, 5);
    if (!a)
        return "is not an array of exactly 5 fields (seq, state, scope, until, at)";
    if (zn_obj_u64(&a[0], &v->consent_seq) != 0)
        return "field 'seq' is not an unsigned integer";
    if (s_dec_state(&a[1], s_consent_names, ZN_CONSENT_NONE, S_COUNT(s_consent_names), &st) != 0)
        return "field 'state' is not one of none, requested, granted, refused, withdrawn";
    v->consent.state = (zn_consent_state)st;
    if ((v->consent_seq == 0) != (v->consent.state == ZN_CONSENT_NONE))
        return "field 'state' is 'none' but 'seq' is not 0, or the other way round";
    if (s_dec_scope(&a[2], &v->consent) != 0)
        return "field 'scope' " S_BAD_SCOPE;
    if (zn_obj_u64(&a[3], &v->consent.until_ms) != 0)
        return "field 'until' " S_BAD_TIME;
    if (zn_obj_u64(&a[4], &v->consent_at_ms) != 0)
        return "field 'at' " S_BAD_TIME;
    return NULL;
}

static int s_view_fail(zn_case_view *out, zn_err *e, const char *field, long row, const char *bad)
{
    if (row >= 0)
        zn_err_set(e, ZN_E_MALFORMED, "case-view field '%s': row %ld %s", field, row, bad);
    else
        zn_err_set(e, ZN_E_MALFORMED, "case-view field '%s' %s", field, bad);
    memset(out, 0, sizeof *out);
    return -1;
}

int zn_case_view_dec(const msgpack_object *o, zn_case_view *out, zn_err *e)
{
    const char *bad = NULL;

    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "case-view parser called without its arguments");
    memset(out, 0, sizeof *out);
    const msgpack_object *a = zn_obj_array(o, 10);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "case-view is not an array of exactly 10 fields (case, network, "
                                             "regisseur, created, closed, identified, members, consent, "
                                             "handovers, overrides)");
    if (zn_obj_bin_fixed(&a[0], out->id, ZN_ID_LEN) != 0)
        return s_view_fail(out, e, "case", -1, S_BAD_ID);
    if (zn_obj_ident(&a[1], out->network, sizeof out->network) != 0)
        return s_view_fail(out, e, "network", -1, S_BAD_IDENT);
    if (zn_obj_ident(&a[2], out->regisseur, sizeof out->regisseur) != 0)
        return s_view_fail(out, e, "regisseur", -1, S_BAD_IDENT);
    if (zn_obj_u64(&a[3], &out->created_ms) != 0)
        return s_view_fail(out, e, "created", -1, S_BAD_TIME);
    if (zn_obj_u64(&a[4], &out->closed_ms) != 0)
        return s_view_fail(out, e, "closed", -1, S_BAD_TIME);
    if (zn_obj_bool(&a[5], &out->identified) != 0)
        return s_view_fail(out, e, "identified", -1, S_BAD_BOOL);
    if (a[6].type != MSGPACK_OBJECT_ARRAY || a[6].via.array.size > ZN_CASE_PAGE)
        return s_view_fail(out, e, "members", -1, "is not an array of at most 256 members");
    for (uint32_t i = 0; i < a[6].via.array.size; i++)
        if ((bad = s_member_parse(&a[6].via.array.ptr[i], &out->members[i])) != NULL)
            return s_view_fail(out, e, "members", i, bad);
    out->n_members = a[6].via.array.size;
    if ((bad = s_view_consent_parse(&a[7], out)) != NULL)
        return s_view_fail(out, e, "consent", -1, bad);
    if (a[8].type != MSGPACK_OBJECT_ARRAY || a[8].via.array.size > S_VIEW_HANDOVERS)
        return s_view_fail(out, e, "handovers", -1, "is not an array of at most 16 handover-rows");
    for (uint32_t i = 0; i < a[8].via.array.size; i++)
        if ((bad = s_handover_row_parse(&a[8].via.array.ptr[i], &out->handovers[i])) != NULL)
            return s_view_fail(out, e, "handovers", i, bad);
    out->n_handovers = a[8].via.array.size;
    if (a[9].type != MSGPACK_OBJECT_ARRAY || a[9].via.array.size > S_VIEW_OVERRIDES)
        return s_view_fail(out, e, "overrides", -1, "is not an array of at most 16 override-rows");
    for (uint32_t i = 0; i < a[9].via.array.size; i++)
        if ((bad = s_override_row_parse(&a[9].via.array.ptr[i], &out->overrides[i])) != NULL)
            return s_view_fail(out, e, "overrides", i, bad);
    out->n_overrides = a[9].via.array.size;
    return 0;
}
