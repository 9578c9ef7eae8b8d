#include "signals.h"

#include "audit_detail.h"
#include "policy.h"
#include "zn_signal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_MS (24u * 3600u * 1000u)

/* An entry the requesting partner caused: its signed request is the evidence. */
static int s_entry(const zn_signals_env *env, const zn_signals_actor *a, const char *action,
                   const char *counterpart, const char *reason, const zn_audit_detail *det, size_t n)
{
    zn_audit_entry en = {.action = action, .counterpart = counterpart, .decision = ZN_AUDIT_ALLOWED,
                         .reason = reason, .details = det, .n_details = n};
    if (a)
        zn_entry_request(&en, a->p->id, a->handler, a->req, a->req_len, a->sig);
    return env->audit(env->ctx, &en);
}

/* Queue a notice for one recipient and record the disclosure. */
static int s_tell(const zn_signals_env *env, const char *recipient, const msgpack_sbuffer *notice,
                  const uint8_t match[ZN_ID_LEN], const char *type)
{
    zn_audit_detail det[] = {zn_det_id("match", match), zn_det_str("notice", type)};
    if (!zn_convenant_partner(env->conv, recipient))
        return 0; /* left the convenant: nobody to tell */
    if (env->notify(env->ctx, recipient, (const uint8_t *)notice->data, notice->size) != 0)
        return -1;
    return s_entry(env, NULL, "disclose", recipient, NULL, det, 2);
}

/* A signal counts only while its partner holds the partner role in its network (a reload may
 * have removed either; its signals then wait for expiry, unmatched). */
static bool s_in_force(const zn_convenant *c, const zn_signal_rec *r)
{
    const zn_partner *p = zn_convenant_partner(c, r->partner);
    int net = zn_convenant_network(c, r->network);
    return p && net >= 0 && zn_partner_has_role(p, net, ZN_ROLE_PARTNER);
}

static bool s_coordinates(const zn_convenant *c, const zn_partner *p, const char *net_a, const char *net_b)
{
    int a = zn_convenant_network(c, net_a), b = zn_convenant_network(c, net_b);
    return (a >= 0 && zn_partner_has_role(p, a, ZN_ROLE_COORDINATOR)) ||
           (b >= 0 && zn_partner_has_role(p, b, ZN_ROLE_COORDINATOR));
}

/* ---- matches ------------------------------------------------------------------------------ */

static const char *s_proposed(const zn_convenant *c, const zn_match_rec *m, uint64_t a_ms, uint64_t b_ms)
{
    zn_lead_candidate v[] = {
        {m->a_partner, zn_convenant_network(c, m->a_network), a_ms},
        {m->b_partner, zn_convenant_network(c, m->b_network), b_ms},
    };
    const char *p = zn_policy_propose_lead(c, v, 2);
    return p ? p : "";
}

/* What a match tells one side (`self`: its own signal) about the other. */
static void s_view(zn_match *out, const zn_match_rec *m, const zn_signal_rec *self, const zn_signal_rec *other,
                   const char *proposed)
{
    memset(out, 0, sizeof *out);
    memcpy(out->match, m->id, ZN_ID_LEN);
    memcpy(out->signal, self->id, ZN_ID_LEN);
    snprintf(out->partner, sizeof out->partner, "%s", other->partner);
    snprintf(out->network, sizeof out->network, "%s", other->network);
    snprintf(out->contact, sizeof out->contact, "%s", other->contact);
    out->link = m->link;
    out->since_ms = other->created_ms;
    snprintf(out->lead, sizeof out->lead, "%s", m->lead);
    snprintf(out->proposed, sizeof out->proposed, "%s", proposed);
}

/* Both partners may know of a match: a coordinator connected them, or the rule it was made
 * under and the rule in force now both show it to partners (a narrower convenant hides it). */
static bool s_partners_know(const zn_convenant *c, const zn_match_rec *m)
{
    if (m->connected_ms != 0)
        return true;
    return m->disclosure == ZN_DISCLOSE_PARTNERS &&
           zn_policy_disclosure(c, zn_convenant_network(c, m->a_network), zn_convenant_network(c, m->b_network),
                                m->link) == ZN_DISCLOSE_PARTNERS;
}

/* Tell both partners of a match about each other ("match" notices). */
static int s_tell_partners(const zn_signals_env *env, const zn_match_rec *m, const zn_signal_rec *a,
                           const zn_signal_rec *b, const char *proposed, const char *connected_by)
{
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    int rc = 0;
    for (int side = 0; side < 2 && rc == 0; side++) {
        const zn_signal_rec *self = side ? b : a, *other = side ? a : b;
        zn_match v;
        s_view(&v, m, self, other, proposed);
        msgpack_sbuffer_clear(&nb);
        zn_notice_match(&nb, env->now, &v, connected_by);
        rc = s_tell(env, self->partner, &nb, m->id, "match");
    }
    msgpack_sbuffer_destroy(&nb);
    return rc;
}

/* Tell the coordinators of both networks ("match-review"). */
static int s_tell_coordinators(const zn_signals_env *env, const zn_match_rec *m, const zn_signal_rec *a,
                               const zn_signal_rec *b, const char *proposed)
{
    zn_match_review r = {.link = m->link, .disclosure = zn_disclosure_name(m->disclosure),
                         .a_partner = a->partner, .a_network = a->network, .a_contact = a->contact,
                         .b_partner = b->partner, .b_network = b->network, .b_contact = b->contact,
                         .since_ms = m->created_ms, .lead = m->lead, .proposed = proposed};
    memcpy(r.match, m->id, ZN_ID_LEN);
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    zn_notice_match_review(&nb, env->now, &r);
    int rc = 0;
    for (size_t i = 0; i < env->conv->n_partners && rc == 0; i++) {
        const zn_partner *p = &env->conv->partners[i];
        if (s_coordinates(env->conv, p, a->network, b->network))
            rc = s_tell(env, p->id, &nb, m->id, "match-review");
    }
    msgpack_sbuffer_destroy(&nb);
    return rc;
}

/* A new match between an earlier signal `a` and the new one `b`: record it, tell who may know. */
static int s_match_new(const zn_signals_env *env, zn_match_rec *m, const zn_signal_rec *a, const zn_signal_rec *b,
                       zn_link link, const uint8_t *shared, zn_disclosure d)
{
    memset(m, 0, sizeof *m);
    randombytes_buf(m->id, ZN_ID_LEN);
    memcpy(m->a_signal, a->id, ZN_ID_LEN);
    memcpy(m->b_signal, b->id, ZN_ID_LEN);
    snprintf(m->a_partner, sizeof m->a_partner, "%s", a->partner);
    snprintf(m->b_partner, sizeof m->b_partner, "%s", b->partner);
    snprintf(m->a_network, sizeof m->a_network, "%s", a->network);
    snprintf(m->b_network, sizeof m->b_network, "%s", b->network);
    memcpy(m->shared, shared, ZN_PSN_LEN);
    m->link = link;
    m->disclosure = d;
    m->created_ms = env->now;
    const char *proposed = s_proposed(env->conv, m, a->created_ms, b->created_ms);
    zn_audit_detail det[9];
    size_t n = 0;
    det[n++] = zn_det_str("a_partner", a->partner);
    det[n++] = zn_det_id("a_signal", a->id);
    det[n++] = zn_det_str("b_partner", b->partner);
    det[n++] = zn_det_id("b_signal", b->id);
    det[n++] = zn_det_str("disclosure", zn_disclosure_name(d));
    det[n++] = zn_det_str("link", zn_link_name(link));
    det[n++] = zn_det_id("match", m->id);
    if (*proposed)
        det[n++] = zn_det_str("proposed", proposed);
    det[n++] = zn_det_bin("subject", shared, ZN_PSN_LEN);
    if (zn_store_match_put(env->store, m) != 0 || s_entry(env, NULL, "match", b->partner, NULL, det, n) != 0)
        return -1;
    if (d == ZN_DISCLOSE_PARTNERS) { /* the registering partner learns it from the reply */
        zn_match v;
        s_view(&v, m, a, b, proposed);
        msgpack_sbuffer nb;
        msgpack_sbuffer_init(&nb);
        zn_notice_match(&nb, env->now, &v, NULL);
        int rc = s_tell(env, a->partner, &nb, m->id, "match");
        msgpack_sbuffer_destroy(&nb);
        if (rc != 0)
            return -1;
    }
    return s_tell_coordinators(env, m, a, b, proposed);
}

/* ---- signal-add ---------------------------------------------------------------------------- */

typedef struct {
    zn_signal_rec *v;
    zn_link *link;
    uint8_t (*shared)[ZN_PSN_LEN];
    size_t n;
} s_found;

static int s_found_cb(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    s_found *f = ctx;
    if (f->n >= ZN_SIGNALS_CANDIDATES)
        return 1;
    f->v[f->n] = *r;
    f->link[f->n] = link;
    memcpy(f->shared[f->n], shared, ZN_PSN_LEN);
    f->n++;
    return 0;
}

/* Match a signal against every other partner's, record new matches, and list in `out` what the
 * registering partner may see. */
static int s_match_all(const zn_signals_env *env, const zn_signal_rec *mine, zn_match *out, uint32_t *n_out)
{
    s_found f = {.v = malloc(ZN_SIGNALS_CANDIDATES * sizeof *f.v),
                 .link = malloc(ZN_SIGNALS_CANDIDATES * sizeof *f.link),
                 .shared = malloc(ZN_SIGNALS_CANDIDATES * sizeof *f.shared)};
    int rc = -1;
    *n_out = 0;
    if (!f.v || !f.link || !f.shared || zn_store_signal_matches(env->store, mine, env->now, s_found_cb, &f) < 0)
        goto out;
    int mine_net = zn_convenant_network(env->conv, mine->network);
    for (size_t i = 0; i < f.n; i++) {
        const zn_signal_rec *other = &f.v[i];
        if (!s_in_force(env->conv, other))
            continue;
        zn_disclosure d = zn_policy_disclosure(env->conv, zn_convenant_network(env->conv, other->network),
                                               mine_net, f.link[i]);
        if (d == ZN_DISCLOSE_NONE)
            continue;
        zn_match_rec m;
        int found = zn_store_match_find(env->store, other->id, mine->id, &m);
        if (found < 0 || (found == 0 && s_match_new(env, &m, other, mine, f.link[i], f.shared[i], d) != 0))
            goto out;
        if (!s_partners_know(env->conv, &m) || *n_out >= ZN_SIGNAL_MATCHES_MAX)
            continue;
        bool mine_is_a = memcmp(m.a_signal, mine->id, ZN_ID_LEN) == 0;
        const char *proposed = mine_is_a ? s_proposed(env->conv, &m, mine->created_ms, other->created_ms)
                                         : s_proposed(env->conv, &m, other->created_ms, mine->created_ms);
        s_view(&out[(*n_out)++], &m, mine, other, proposed);
        zn_audit_detail det[] = {zn_det_id("match", m.id), zn_det_str("notice", "result")};
        if (s_entry(env, NULL, "disclose", mine->partner, NULL, det, 2) != 0)
            goto out;
    }
    rc = 0;
out:
    free(f.v), free(f.link), free(f.shared);
    return rc;
}

static int s_limit(const zn_signals_env *env, zn_signals_actor *a, const char *network, zn_err *e)
{
    uint64_t pc = 0, hc = 0, since = env->now > S_DAY_MS ? env->now - S_DAY_MS : 0;
    const zn_policy *pol = &env->conv->policy;
    if (zn_store_rate_count(env->store, a->p->id, NULL, since, pol->signal_rate_day, &pc) != 0 ||
        zn_store_rate_count(env->store, a->p->id, a->handler, since, pol->signal_rate_handler_day, &hc) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    const char *limit = NULL;
    if (zn_policy_signal_rate(env->conv, pc, hc, &limit, e) == ZN_E_OK)
        return 0;
    snprintf(a->limited_network, sizeof a->limited_network, "%s", network);
    a->limit = limit ? limit : "partner-day";
    a->count = limit && strcmp(limit, "handler-day") == 0 ? hc : pc;
    return -1;
}

static bool s_holds(const zn_signal_rec *r, const uint8_t psn[ZN_PSN_LEN])
{
    if (memcmp(r->person, psn, ZN_PSN_LEN) == 0)
        return true;
    for (uint32_t i = 0; i < r->n_related; i++)
        if (memcmp(r->related[i], psn, ZN_PSN_LEN) == 0)
            return true;
    return false;
}

/* A refresh naming a related person the stored signal does not hold. */
static bool s_new_psn(const zn_signal_rec *old, const zn_signal_add *in)
{
    for (uint32_t i = 0; i < in->n_related; i++)
        if (!s_holds(old, in->related[i]))
            return true;
    return false;
}

static bool s_share(const zn_signal_rec *x, const zn_signal_rec *y)
{
    if (s_holds(y, x->person))
        return true;
    for (uint32_t i = 0; i < x->n_related; i++)
        if (s_holds(y, x->related[i]))
            return true;
    return false;
}

typedef struct {
    zn_match_rec *v;
    size_t n;
} s_matches;

static int s_matches_cb(void *ctx, const zn_match_rec *m)
{
    s_matches *x = ctx;
    x->v[x->n++] = *m;
    return 0;
}

/* The matches of a signal (at most ZN_SIGNALS_CANDIDATES); -1 on failure. */
static int s_matches_of(const zn_signals_env *env, const uint8_t signal[ZN_ID_LEN], s_matches *out)
{
    out->n = 0;
    out->v = malloc(ZN_SIGNALS_CANDIDATES * sizeof *out->v);
    if (!out->v || zn_store_matches_of(env->store, signal, ZN_SIGNALS_CANDIDATES, s_matches_cb, out) < 0) {
        free(out->v);
        out->v = NULL;
        return -1;
    }
    return 0;
}

/* After a refresh: a match whose signals no longer share anyone ends ("match-end"). */
static int s_prune_matches(const zn_signals_env *env, const zn_signal_rec *r)
{
    s_matches ms;
    if (s_matches_of(env, r->id, &ms) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < ms.n && rc == 0; i++) {
        const zn_match_rec *m = &ms.v[i];
        bool mine_a = memcmp(m->a_signal, r->id, ZN_ID_LEN) == 0;
        zn_signal_rec other;
        int got = zn_store_signal_get(env->store, mine_a ? m->b_signal : m->a_signal, &other);
        if (got < 0) {
            rc = -1;
        } else if (got == 0 || !s_share(r, &other)) {
            zn_audit_detail det[] = {zn_det_str("a_partner", m->a_partner), zn_det_str("b_partner", m->b_partner),
                                     zn_det_id("match", m->id), zn_det_bin("subject", m->shared, ZN_PSN_LEN)};
            rc = zn_store_match_delete(env->store, m->id) < 0 ||
                 s_entry(env, NULL, "match-end", r->partner, "no-longer-shared", det, 4) != 0;
        }
    }
    free(ms.v);
    return rc ? -1 : 0;
}

static int s_expire_one(const zn_signals_env *env, const zn_signal_rec *r)
{
    zn_audit_detail det[] = {zn_det_str("network", r->network), zn_det_id("signal", r->id),
                             zn_det_bin("subject", r->person, ZN_PSN_LEN)};
    return zn_store_signal_delete(env->store, r->id) < 0 ||
                   s_entry(env, NULL, "signal-expire", r->partner, NULL, det, 3) != 0
               ? -1
               : 0;
}

static int s_add(const zn_signals_env *env, zn_signals_actor *a, const msgpack_object *body,
                 msgpack_sbuffer *result, zn_err *e)
{
    const zn_convenant *c = env->conv;
    zn_signal_add in;
    if (zn_body_signal_add_parse(body, &in, e) != 0)
        return -1;
    zn_policy_query q = {.action = ZN_ACT_SIGNAL_ADD, .actor = a->p, .network = in.network};
    if (zn_policy_check(c, &q, e) != ZN_E_OK)
        return -1;
    if (in.person[0] != c->netkey_epoch)
        return zn_err_set(e, ZN_E_CONVENANT_OLD,
                          "the pseudonyms were made with network key epoch %u, the convenant uses epoch %llu; "
                          "get the current convenant", in.person[0], (unsigned long long)c->netkey_epoch);
    uint64_t longest = env->now + c->policy.signal_retention_days * S_DAY_MS;
    uint64_t shortest = env->now + c->policy.signal_min_lifetime_d * S_DAY_MS;
    uint64_t until = in.until_ms == 0 || in.until_ms > longest ? longest : in.until_ms;
    if (until <= env->now || until < shortest)
        return zn_err_set(e, ZN_E_NO_LOOKUP,
                          "a signal must stand at least %llu days (the convenant's signal_min_lifetime_d); a "
                          "shorter one would only look others up",
                          (unsigned long long)c->policy.signal_min_lifetime_d);
    if (in.informed_ms > env->now + ZN_SIGNAL_INFORMED_AHEAD_MS)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: the date the family was informed lies in the future");

    zn_signal_rec r;
    int found = zn_store_signal_find(env->store, a->p->id, in.network, in.person, &r);
    if (found < 0 || (found && r.expires_ms <= env->now && s_expire_one(env, &r) != 0))
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (found && r.expires_ms <= env->now)
        found = 0; /* its time had come: this is a new signal */
    /* A refresh that names a person the signal did not hold is a new question: it counts. */
    bool asks = !found || s_new_psn(&r, &in);
    if (asks && s_limit(env, a, in.network, e) != 0)
        return -1;
    if (asks && zn_store_rate_add(env->store, a->p->id, a->handler, env->now) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (!found) {
        memset(&r, 0, sizeof r);
        randombytes_buf(r.id, ZN_ID_LEN);
        snprintf(r.partner, sizeof r.partner, "%s", a->p->id);
        snprintf(r.network, sizeof r.network, "%s", in.network);
        memcpy(r.person, in.person, ZN_PSN_LEN);
        r.created_ms = env->now;
    }
    snprintf(r.handler, sizeof r.handler, "%s", a->handler);
    snprintf(r.contact, sizeof r.contact, "%s", in.contact);
    memcpy(r.related, in.related, sizeof r.related);
    r.n_related = in.n_related;
    r.refreshed_ms = env->now;
    r.expires_ms = until;
    if (in.informed_ms)
        r.informed_ms = in.informed_ms;
    zn_audit_detail det[6];
    size_t n = 0;
    det[n++] = zn_det_u64("expires", r.expires_ms);
    det[n++] = zn_det_u64("informed", r.informed_ms);
    det[n++] = zn_det_str("network", r.network);
    if (r.n_related)
        det[n++] = zn_det_bin("related", &r.related[0][0], (size_t)r.n_related * ZN_PSN_LEN);
    det[n++] = zn_det_id("signal", r.id);
    det[n++] = zn_det_bin("subject", r.person, ZN_PSN_LEN);
    if (zn_store_signal_put(env->store, &r) != 0 ||
        s_entry(env, a, found ? "signal-refresh" : "signal-add", NULL, NULL, det, n) != 0 ||
        (found && s_prune_matches(env, &r) != 0))
        return zn_err_set(e, ZN_E_STORE, NULL);

    zn_match *view = calloc(ZN_SIGNAL_MATCHES_MAX, sizeof *view);
    uint32_t n_view = 0;
    if (!view || s_match_all(env, &r, view, &n_view) != 0) {
        free(view);
        return zn_err_set(e, ZN_E_STORE, NULL);
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, result, msgpack_sbuffer_write);
    zn_result_signal_add_begin(&pk, r.id, found, r.expires_ms, n_view);
    for (uint32_t i = 0; i < n_view; i++)
        zn_pack_match(&pk, &view[i]);
    free(view);
    return 0;
}

/* ---- the partner's own signals ------------------------------------------------------------- */

static int s_own(const zn_signals_env *env, const zn_signals_actor *a, const uint8_t id[ZN_ID_LEN],
                 zn_signal_rec *r, zn_err *e)
{
    int rc = zn_store_signal_get(env->store, id, r);
    if (rc < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (rc == 0 || strcmp(r->partner, a->p->id) != 0 || r->expires_ms <= env->now)
        return zn_err_set(e, ZN_E_UNKNOWN_SIGNAL, NULL);
    return 0;
}

typedef struct {
    zn_signal_row *rows;
    uint32_t n;
    uint64_t grace_ms, now;
} s_rows;

static int s_row_cb(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    (void)link, (void)shared;
    s_rows *x = ctx;
    if (x->n >= ZN_SIGNAL_PAGE)
        return 1;
    zn_signal_row *o = &x->rows[x->n++];
    memset(o, 0, sizeof *o);
    memcpy(o->signal, r->id, ZN_ID_LEN);
    snprintf(o->network, sizeof o->network, "%s", r->network);
    memcpy(o->person, r->person, ZN_PSN_LEN);
    o->n_related = r->n_related;
    o->created_ms = r->created_ms, o->expires_ms = r->expires_ms, o->informed_ms = r->informed_ms;
    snprintf(o->contact, sizeof o->contact, "%s", r->contact);
    snprintf(o->handler, sizeof o->handler, "%s", r->handler);
    o->overdue = r->informed_ms == 0 && r->created_ms + x->grace_ms < x->now;
    return 0;
}

static int s_list(const zn_signals_env *env, const zn_signals_actor *a, const msgpack_object *body,
                  msgpack_sbuffer *result, zn_err *e)
{
    uint64_t offset, total = 0;
    if (zn_body_signal_list_parse(body, &offset, e) != 0)
        return -1;
    s_rows x = {.rows = calloc(ZN_SIGNAL_PAGE, sizeof *x.rows), .now = env->now,
                .grace_ms = env->conv->policy.informed_grace_d * S_DAY_MS};
    int rc = -1;
    if (!x.rows || zn_store_signal_list(env->store, a->p->id, env->now, offset, ZN_SIGNAL_PAGE, &total,
                                        s_row_cb, &x) < 0)
        goto out;
    for (uint32_t i = 0; i < x.n; i++) { /* only the matches this partner may know of */
        s_matches ms;
        if (s_matches_of(env, x.rows[i].signal, &ms) != 0)
            goto out;
        for (size_t k = 0; k < ms.n; k++)
            x.rows[i].matches += s_partners_know(env->conv, &ms.v[k]);
        free(ms.v);
    }
    zn_audit_detail det[] = {zn_det_u64("count", x.n), zn_det_u64("offset", offset)};
    if (s_entry(env, a, "signal-list", NULL, NULL, det, 2) != 0)
        goto out;
    msgpack_packer pk;
    msgpack_packer_init(&pk, result, msgpack_sbuffer_write);
    zn_result_signal_list_begin(&pk, total, x.n);
    for (uint32_t i = 0; i < x.n; i++)
        zn_pack_signal_row(&pk, &x.rows[i]);
    rc = 0;
out:
    free(x.rows);
    return rc == 0 ? 0 : zn_err_set(e, ZN_E_STORE, NULL);
}

static int s_informed(const zn_signals_env *env, const zn_signals_actor *a, const msgpack_object *body,
                      msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    uint64_t when;
    zn_signal_rec r;
    if (zn_body_signal_informed_parse(body, id, &when, e) != 0 || s_own(env, a, id, &r, e) != 0)
        return -1;
    if (when > env->now + ZN_SIGNAL_INFORMED_AHEAD_MS)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-informed: the date lies in the future");
    r.informed_ms = when;
    zn_audit_detail det[] = {zn_det_u64("informed", when), zn_det_id("signal", r.id),
                             zn_det_bin("subject", r.person, ZN_PSN_LEN)};
    if (zn_store_signal_put(env->store, &r) != 0 || s_entry(env, a, "signal-informed", NULL, NULL, det, 3) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    zn_body_id(result, r.id);
    return 0;
}

static int s_withdraw(const zn_signals_env *env, const zn_signals_actor *a, const msgpack_object *body,
                      msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_signal_rec r;
    if (zn_body_id_parse(body, id, e) != 0 || s_own(env, a, id, &r, e) != 0)
        return -1;
    uint64_t lived = env->now > r.created_ms ? env->now - r.created_ms : 0;
    bool early = lived < env->conv->policy.signal_min_lifetime_d * S_DAY_MS;
    zn_audit_detail det[] = {zn_det_u64("early", early), zn_det_u64("lifetime_ms", lived),
                             zn_det_str("network", r.network), zn_det_id("signal", r.id),
                             zn_det_bin("subject", r.person, ZN_PSN_LEN)};
    if (zn_store_signal_delete(env->store, r.id) < 0 ||
        (early && zn_store_rate_add(env->store, a->p->id, a->handler, env->now) != 0) ||
        s_entry(env, a, "signal-withdraw", NULL, early ? "look-up" : NULL, det, 5) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    zn_result_id_bool(result, r.id, early);
    return 0;
}

/* ---- coordinators -------------------------------------------------------------------------- */

/* The match and both signals, for a coordinator of one of its networks. */
static int s_decision(const zn_signals_env *env, const zn_signals_actor *a, const uint8_t id[ZN_ID_LEN],
                      zn_match_rec *m, zn_signal_rec *sa, zn_signal_rec *sb, zn_err *e)
{
    int rc = zn_store_match_get(env->store, id, m);
    if (rc < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (rc == 0)
        return zn_err_set(e, ZN_E_UNKNOWN_MATCH, NULL);
    zn_policy_query q = {.action = ZN_ACT_MATCH_DECIDE, .actor = a->p, .network = m->a_network,
                         .network2 = m->b_network};
    if (zn_policy_check(env->conv, &q, e) != ZN_E_OK)
        return -1;
    int ra = zn_store_signal_get(env->store, m->a_signal, sa), rb = zn_store_signal_get(env->store, m->b_signal, sb);
    if (ra < 0 || rb < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (!ra || !rb) /* deleting a signal deletes its matches; this is only a guard */
        return zn_err_set(e, ZN_E_UNKNOWN_MATCH, NULL);
    return 0;
}

/* Connect the partners of a match (no-op when they know already); *told says whether. */
static int s_connect(const zn_signals_env *env, const zn_signals_actor *a, zn_match_rec *m, const zn_signal_rec *sa,
                     const zn_signal_rec *sb, bool *told)
{
    *told = false;
    if (s_partners_know(env->conv, m))
        return 0;
    m->connected_ms = env->now;
    snprintf(m->connected_by, sizeof m->connected_by, "%s", a->p->id);
    *told = true;
    return zn_store_match_put(env->store, m) != 0 ||
                   s_tell_partners(env, m, sa, sb, s_proposed(env->conv, m, sa->created_ms, sb->created_ms),
                                   a->p->id) != 0
               ? -1
               : 0;
}

static int s_match_connect(const zn_signals_env *env, const zn_signals_actor *a, const msgpack_object *body,
                           msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_match_rec m;
    zn_signal_rec sa, sb;
    bool told;
    if (zn_body_id_parse(body, id, e) != 0 || s_decision(env, a, id, &m, &sa, &sb, e) != 0)
        return -1;
    if (s_connect(env, a, &m, &sa, &sb, &told) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    zn_audit_detail det[] = {zn_det_str("a_partner", m.a_partner), zn_det_str("b_partner", m.b_partner),
                             zn_det_id("match", m.id), zn_det_bin("subject", m.shared, ZN_PSN_LEN)};
    if (s_entry(env, a, "match-connect", NULL, told ? NULL : "already-known", det, 4) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    zn_body_id(result, m.id);
    return 0;
}

static int s_match_lead(const zn_signals_env *env, const zn_signals_actor *a, const msgpack_object *body,
                        msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    char lead[ZN_IDENT_MAX];
    zn_match_rec m;
    zn_signal_rec sa, sb;
    bool told;
    if (zn_body_match_lead_parse(body, id, lead, e) != 0 || s_decision(env, a, id, &m, &sa, &sb, e) != 0)
        return -1;
    if (strcmp(lead, m.a_partner) != 0 && strcmp(lead, m.b_partner) != 0)
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "%s has no signal in this match; the lead is %s or %s", lead,
                          m.a_partner, m.b_partner);
    snprintf(m.lead, sizeof m.lead, "%s", lead);
    /* The lead must know whom to coordinate with: naming one connects the partners. */
    if (zn_store_match_put(env->store, &m) != 0 || s_connect(env, a, &m, &sa, &sb, &told) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    zn_notice_match_lead(&nb, env->now, m.id, lead, a->p->id);
    int rc = s_tell(env, m.a_partner, &nb, m.id, "match-lead") != 0 ||
             s_tell(env, m.b_partner, &nb, m.id, "match-lead") != 0;
    for (size_t i = 0; i < env->conv->n_partners && rc == 0; i++) {
        const zn_partner *p = &env->conv->partners[i];
        if (s_coordinates(env->conv, p, m.a_network, m.b_network) && strcmp(p->id, a->p->id) != 0)
            rc = s_tell(env, p->id, &nb, m.id, "match-lead");
    }
    msgpack_sbuffer_destroy(&nb);
    zn_audit_detail det[] = {zn_det_str("a_partner", m.a_partner), zn_det_str("b_partner", m.b_partner),
                             zn_det_str("lead", lead), zn_det_id("match", m.id),
                             zn_det_bin("subject", m.shared, ZN_PSN_LEN)};
    if (rc != 0 || s_entry(env, a, "match-lead", lead, NULL, det, 5) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    zn_body_id(result, m.id);
    return 0;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

typedef int (*s_handler)(const zn_signals_env *, const zn_signals_actor *, const msgpack_object *,
                         msgpack_sbuffer *, zn_err *);

static int s_lookup(const zn_signals_env *env, const zn_signals_actor *a, const msgpack_object *body,
                    msgpack_sbuffer *result, zn_err *e)
{
    (void)env, (void)a, (void)body, (void)result;
    return zn_err_set(e, ZN_E_NO_LOOKUP, NULL);
}

static const struct {
    const char *kind;
    s_handler fn;
} s_kinds[] = {
    {"signal-list", s_list},         {"signal-informed", s_informed}, {"signal-withdraw", s_withdraw},
    {"match-connect", s_match_connect}, {"match-lead", s_match_lead}, {"lookup", s_lookup},
};

bool zn_signals_handles(const char *kind)
{
    if (strcmp(kind, "signal-add") == 0)
        return true;
    for (size_t i = 0; i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (strcmp(kind, s_kinds[i].kind) == 0)
            return true;
    return false;
}

int zn_signals_request(const zn_signals_env *env, zn_signals_actor *a, const char *kind,
                       const msgpack_object *body, msgpack_sbuffer *result, zn_err *e)
{
    a->limit = NULL;
    if (strcmp(kind, "signal-add") == 0)
        return s_add(env, a, body, result, e);
    for (size_t i = 0; i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (strcmp(kind, s_kinds[i].kind) == 0)
            return s_kinds[i].fn(env, a, body, result, e);
    return zn_err_set(e, ZN_E_UNKNOWN_TYPE, "request kind %s is not known to this broker", kind);
}

int zn_signals_refused(const zn_signals_env *env, zn_signals_actor *a)
{
    if (!a->limit || (*a->last_report_ms && env->now < *a->last_report_ms + ZN_SIGNALS_REPORT_MS))
        return 0;
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    zn_notice_enumeration(&nb, env->now, a->p->id, a->handler, a->limited_network, a->limit, a->count);
    int rc = 0;
    for (size_t i = 0; i < env->conv->n_partners && rc == 0; i++) {
        const zn_partner *p = &env->conv->partners[i];
        int net = zn_convenant_network(env->conv, a->limited_network);
        if (p->auditor || (net >= 0 && zn_partner_has_role(p, net, ZN_ROLE_COORDINATOR))) {
            zn_audit_detail det[] = {zn_det_str("limit", a->limit), zn_det_str("partner", a->p->id)};
            rc = env->notify(env->ctx, p->id, (const uint8_t *)nb.data, nb.size) != 0 ||
                 s_entry(env, NULL, "enumeration-reported", p->id, NULL, det, 2) != 0;
        }
    }
    msgpack_sbuffer_destroy(&nb);
    if (rc == 0)
        *a->last_report_ms = env->now;
    return rc ? -1 : 0;
}

/* ---- expiry -------------------------------------------------------------------------------- */

typedef struct {
    zn_signal_rec *v;
    size_t n;
} s_expired;

static int s_expired_cb(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared)
{
    (void)link, (void)shared;
    s_expired *x = ctx;
    if (x->n >= ZN_SIGNALS_EXPIRE_MAX)
        return 1;
    x->v[x->n++] = *r;
    return 0;
}

int zn_signals_expire(const zn_signals_env *env)
{
    s_expired x = {.v = malloc(ZN_SIGNALS_EXPIRE_MAX * sizeof *x.v)};
    int rc = -1;
    if (!x.v || zn_store_signal_expired(env->store, env->now, ZN_SIGNALS_EXPIRE_MAX, s_expired_cb, &x) < 0 ||
        zn_store_rate_prune(env->store, env->now > S_DAY_MS ? env->now - S_DAY_MS : 0) != 0)
        goto out;
    for (size_t i = 0; i < x.n; i++)
        if (s_expire_one(env, &x.v[i]) != 0)
            goto out;
    rc = (int)x.n;
out:
    free(x.v);
    return rc;
}
