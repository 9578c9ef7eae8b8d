#include "cases.h"

#include "audit_detail.h"
#include "zn_case.h"
#include "zn_frame.h"
#include "zn_sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HOUR_MS (3600u * 1000u)
#define S_DAY_MS (24u * S_HOUR_MS)
#define S_VIEW_ROWS 16 /* open handovers and standing overrides in a case view (the arrays' size) */
#define S_LIST_MAX (ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX) /* a comma list of partner ids */

_Static_assert(sizeof(((zn_case_view *)0)->overrides) / sizeof(zn_override_row) == S_VIEW_ROWS,
               "the case view holds S_VIEW_ROWS overrides");
_Static_assert(sizeof(((zn_case_view *)0)->handovers) / sizeof(zn_handover_row) == S_VIEW_ROWS,
               "the case view holds S_VIEW_ROWS handovers");

/* ---- audit entries and notices --------------------------------------------------------------- */

/* An entry on a case: the requesting partner's (its signed request is the evidence) or, with a
 * NULL actor, the broker's own. */
static int s_entry(const zn_cases_env *env, const zn_cases_actor *a, const char *action, const uint8_t *case_id,
                   const char *counterpart, zn_basis basis, const char *reason, const zn_audit_detail *det,
                   size_t n)
{
    zn_audit_entry en = {.action = action, .case_id = case_id, .counterpart = counterpart,
                         .decision = ZN_AUDIT_ALLOWED, .reason = reason, .basis = zn_basis_name(basis),
                         .details = n ? det : NULL, .n_details = n};
    if (a)
        zn_entry_request(&en, a->p->id, a->handler, a->req, a->req_len, a->sig);
    return env->base.audit(env->base.ctx, &en);
}

/* Queue a notice for one partner; nobody to tell when it left the convenant. */
static int s_tell_one(const zn_cases_env *env, const char *to, const msgpack_sbuffer *nb)
{
    if (!zn_convenant_partner(env->base.conv, to))
        return 0;
    return env->base.notify(env->base.ctx, to, (const uint8_t *)nb->data, nb->size);
}

static int s_tell(const zn_cases_env *env, const char *to, const char *type, const zn_notice_field *f, size_t n)
{
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    zn_notice_build(&nb, type, env->base.now, f, n);
    int rc = s_tell_one(env, to, &nb);
    msgpack_sbuffer_destroy(&nb);
    return rc;
}

/* Tell every coordinator of `network` (ZN_READ_COORDINATORS) and/or every auditor. */
static int s_tell_all(const zn_cases_env *env, unsigned who, const char *network, const char *type,
                      const zn_notice_field *f, size_t n)
{
    const zn_convenant *c = env->base.conv;
    int net = network ? zn_convenant_network(c, network) : -1;
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    zn_notice_build(&nb, type, env->base.now, f, n);
    int rc = 0;
    for (size_t i = 0; i < c->n_partners && rc == 0; i++) {
        const zn_partner *p = &c->partners[i];
        if (((who & ZN_READ_AUDITORS) && p->auditor) ||
            ((who & ZN_READ_COORDINATORS) && net >= 0 && zn_partner_has_role(p, net, ZN_ROLE_COORDINATOR)))
            rc = s_tell_one(env, p->id, &nb);
    }
    msgpack_sbuffer_destroy(&nb);
    return rc;
}

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- facts and decisions ---------------------------------------------------------------------- */

/* The facts of a case seen from one sender (and one recipient), and what a decision relies on. */
typedef struct {
    zn_case_facts f;
    bool has_consent;
    zn_consent_row consent;          /* the current record (purpose not kept) */
    uint8_t override_id[ZN_ID_LEN];  /* the standing override between the two, when one stands */
} s_facts;

static bool s_standing(const zn_override_row *r, uint64_t now)
{
    return (r->state == ZN_OVERRIDE_PENDING || r->state == ZN_OVERRIDE_APPROVED) && r->expires_ms > now;
}

/* The state an override has at `now`: a pending or approved one whose lifetime ended is expired
 * even before the clock has recorded it. */
static zn_override_state s_state_at(const zn_override_row *r, uint64_t now)
{
    if ((r->state == ZN_OVERRIDE_PENDING || r->state == ZN_OVERRIDE_APPROVED) && r->expires_ms <= now)
        return ZN_OVERRIDE_EXPIRED;
    return r->state;
}

/* The consent's scope names the partner (c NULL: no consent). */
static bool s_in_scope(const zn_consent *c, const char *who)
{
    for (size_t i = 0; c && i < c->n_scope && i < ZN_CONSENT_SCOPE_MAX; i++)
        if (strcmp(c->scope[i], who) == 0)
            return true;
    return false;
}

/* Granted, unexpired consent (the admission of its scope). */
static bool s_consent_admits(const s_facts *sf, uint64_t now)
{
    return sf->has_consent && sf->consent.c.state == ZN_CONSENT_GRANTED &&
           (sf->consent.c.until_ms == 0 || sf->consent.c.until_ms > now);
}

typedef struct {
    uint64_t now;
    bool seen, standing;
    zn_override_state latest, stand_state;
    uint64_t stand_expires;
    uint8_t stand_id[ZN_ID_LEN];
} s_between;

static int s_between_cb(void *ctx, const zn_override_row *r)
{
    s_between *x = ctx;
    if (!x->seen) { /* newest first: the latest */
        x->seen = true;
        x->latest = s_state_at(r, x->now);
    }
    if (s_standing(r, x->now) && (!x->standing || r->expires_ms > x->stand_expires)) {
        x->standing = true;
        x->stand_state = r->state;
        x->stand_expires = r->expires_ms;
        memcpy(x->stand_id, r->id, ZN_ID_LEN);
    }
    return 0;
}

/* Gather the facts for sender (and recipient, may be NULL) on kase. 0, or -1 on a store failure.
 * send: the facts of an envelope (SEND, and the purge that judges queued ones again). They
 * leave out what cannot change that decision: whether a handover is open (it matters only to
 * offering and closing), and on an anonymous case whose sender is a stored member, consent and
 * overrides (an anonymous case is shared by its members within the network whatever they say:
 * the traffic table's "anonymous" row). That keeps anonymous traffic at two look-ups. */
static int s_gather_for(const zn_cases_env *env, const zn_case *kase, const char *sender, const char *recipient,
                        bool send, s_facts *out)
{
    zn_store *st = env->base.store;
    uint64_t now = env->base.now;
    memset(out, 0, sizeof *out);
    zn_case_facts *f = &out->f;
    f->sender_regisseur = strcmp(kase->regisseur, sender) == 0;
    /* a stored member held the case or acknowledged an envelope on it */
    int rc = zn_store_member_get(st, kase->id, sender, NULL, NULL);
    if (rc < 0)
        return -1;
    f->sender_received = rc == 1;
    f->override = ZN_OVERRIDE_NONE;
    if (send && !kase->identified && (f->sender_regisseur || f->sender_received))
        return 0;
    if ((rc = zn_store_consent_current(st, kase->id, &out->consent)) < 0)
        return -1;
    out->has_consent = rc == 1;
    out->consent.purpose = NULL, out->consent.purpose_len = 0; /* valid only until the next store call */
    const zn_consent *c = out->has_consent ? &out->consent.c : NULL;
    f->consent = c ? c->state : ZN_CONSENT_NONE;
    f->consent_expired = c && c->until_ms != 0 && c->until_ms <= now;
    f->sender_in_scope = s_in_scope(c, sender);
    s_between mine = {.now = now};
    if (zn_store_overrides_between(st, kase->id, sender, NULL, s_between_cb, &mine) < 0)
        return -1;
    f->sender_overridden = mine.standing;
    if (!send) {
        if ((rc = zn_store_handover_open(st, kase->id, NULL)) < 0)
            return -1;
        f->handover_open = rc == 1;
    }
    if (recipient) {
        /* the partner that recorded the consent is covered without naming itself, while it
         * holds the case: not a partner the case was handed over to since */
        f->recipient_recorder = c && strcmp(out->consent.partner, recipient) == 0 &&
                                strcmp(kase->regisseur, recipient) == 0;
        f->recipient_in_scope = s_in_scope(c, recipient);
        s_between both = {.now = now};
        if (zn_store_overrides_between(st, kase->id, sender, recipient, s_between_cb, &both) < 0)
            return -1;
        if (both.standing) {
            f->override = both.stand_state;
            memcpy(out->override_id, both.stand_id, ZN_ID_LEN);
        } else if (both.seen) {
            f->override = both.latest;
        }
    }
    return 0;
}

static int s_gather(const zn_cases_env *env, const zn_case *kase, const char *sender, const char *recipient,
                    s_facts *out)
{
    return s_gather_for(env, kase, sender, recipient, false, out);
}

/* The policy's answer for one action over gathered facts; d (may be NULL) gets what it relied on. */
static int s_decide(const zn_cases_env *env, zn_action act, const zn_partner *actor, const zn_partner *counterpart,
                    const zn_case *kase, const s_facts *sf, zn_case_decision *d, zn_err *e)
{
    zn_policy_query q = {.action = act, .actor = actor, .counterpart = counterpart, .kase = kase, .facts = &sf->f};
    zn_basis basis = ZN_BASIS_NONE;
    if (zn_policy_check_basis(env->base.conv, &q, &basis, e) != ZN_E_OK)
        return -1;
    if (d) {
        memset(d, 0, sizeof *d);
        d->basis = basis;
        if (basis == ZN_BASIS_CONSENT)
            d->consent_seq = sf->consent.seq;
        else if (basis == ZN_BASIS_OVERRIDE)
            memcpy(d->override_id, sf->override_id, ZN_ID_LEN);
    }
    return 0;
}

/* Facts for the actor alone, then the policy's answer for act. */
static int s_allowed(const zn_cases_env *env, const zn_cases_actor *a, zn_action act, const zn_partner *counterpart,
                     const zn_case *kase, s_facts *sf, zn_err *e)
{
    if (s_gather(env, kase, a->p->id, counterpart ? counterpart->id : NULL, sf) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    return s_decide(env, act, a->p, counterpart, kase, sf, NULL, e);
}

size_t zn_cases_decision_details(const zn_case_decision *d, zn_audit_detail *det)
{
    if (d->basis == ZN_BASIS_CONSENT) {
        det[0] = zn_det_u64("consent", d->consent_seq);
        return 1;
    }
    if (d->basis == ZN_BASIS_OVERRIDE) {
        det[0] = zn_det_id("override", d->override_id);
        return 1;
    }
    return 0;
}

/* The n details in det and those of decision d (det has room for one more), in key order: how
 * many. */
static size_t s_with_basis(zn_audit_detail *det, size_t n, const zn_case_decision *d)
{
    n += zn_cases_decision_details(d, &det[n]);
    zn_det_sort(det, n);
    return n;
}

int zn_cases_traffic(const zn_cases_env *env, const zn_partner *sender, const zn_partner *recipient,
                     const zn_case *kase, zn_case_decision *d, zn_err *e)
{
    /* A message to oneself shares nothing and would make the sender a "recipient" member. */
    if (strcmp(sender->id, recipient->id) == 0)
        return zn_err_set(e, ZN_E_USAGE, "%s cannot send to itself on a case; name another partner as recipient",
                          sender->id);
    s_facts sf;
    if (s_gather_for(env, kase, sender->id, recipient->id, true, &sf) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    return s_decide(env, ZN_ACT_SEND, sender, recipient, kase, &sf, d, e);
}

int zn_cases_received(const zn_cases_env *env, const uint8_t case_id[ZN_ID_LEN], const char *recipient)
{
    return zn_store_member_add(env->base.store, case_id, recipient, "received", env->base.now) < 0 ? -1 : 0;
}

/* ---- the purge ---------------------------------------------------------------------------------- *
 * After a change (consent recorded or expired, a rejected or expired override, a handover
 * accepted) every envelope still queued on the case is judged again as if it were sent now; one
 * that would be refused is not delivered. The case is judged as open: closing a case does not
 * stop what was accepted before it closed. An envelope already pushed to the recipient's
 * connected client and not yet acknowledged was delivered before the change: it is left alone. */

typedef struct {
    int64_t seq;
    char recipient[ZN_IDENT_MAX];
    char sender[ZN_IDENT_MAX];
    uint8_t item[ZN_ID_LEN];
    uint8_t msgid[ZN_ID_LEN];
} s_queued;

typedef struct {
    s_queued *v;
    size_t n, cap;
    bool failed;
} s_queue;

static int s_queue_cb(void *ctx, const char *recipient, const zn_queue_item *it)
{
    s_queue *q = ctx;
    if (it->kind != ZN_ITEM_ENVELOPE || !it->sender)
        return 0;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        s_queued *v = realloc(q->v, cap * sizeof *v);
        if (!v) {
            q->failed = true;
            return 1;
        }
        q->v = v, q->cap = cap;
    }
    zn_doc doc = {0};
    zn_envelope env;
    zn_err e;
    if (zn_envelope_parse_bytes(it->body, it->body_len, &doc, &env, &e) != 0) {
        zn_doc_free(&doc); /* the broker stored it; it cannot be judged without its header */
        return 0;
    }
    s_queued *o = &q->v[q->n++];
    o->seq = it->seq;
    snprintf(o->recipient, sizeof o->recipient, "%s", recipient);
    snprintf(o->sender, sizeof o->sender, "%s", it->sender);
    memcpy(o->item, it->item_id, ZN_ID_LEN);
    memcpy(o->msgid, env.h.msgid, ZN_ID_LEN);
    zn_doc_free(&doc);
    return 0;
}

/* Stop one queued envelope: delete it, record the drop, tell the sender. 1 when it was stopped,
 * 0 when it was no longer queued, -1 on failure. */
static int s_drop(const zn_cases_env *env, const zn_case *kase, const s_queued *q, zn_code why)
{
    int n = zn_store_queue_delete(env->base.store, q->recipient, q->seq);
    if (n <= 0)
        return n;
    zn_audit_detail det[] = {zn_det_id("item", q->item), zn_det_id("msgid", q->msgid),
                             zn_det_str("sender", q->sender)};
    if (s_entry(env, NULL, "drop", kase->id, q->recipient, ZN_BASIS_NONE, zn_code_name(why), det, S_N(det)) != 0)
        return -1;
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    zn_notice_dropped(&nb, env->base.now, q->msgid, kase->id, q->recipient, why);
    int rc = s_tell_one(env, q->sender, &nb);
    msgpack_sbuffer_destroy(&nb);
    if (rc != 0)
        return -1;
    if (env->dequeued)
        env->dequeued(env->base.ctx, q->recipient);
    return 1;
}

/* Judge every envelope queued on the case again; returns how many were stopped, or -1. */
static int s_purge(const zn_cases_env *env, const zn_case *kase_now)
{
    zn_case kase = *kase_now;
    kase.closed_ms = 0;
    s_queue q = {0};
    int dropped = 0;
    if (zn_store_queue_case(env->base.store, kase.id, s_queue_cb, &q) < 0 || q.failed) {
        free(q.v);
        return -1;
    }
    const s_queued *last = NULL; /* the previous pair's decision stands for the next item of the same pair */
    zn_code code = ZN_E_OK;
    for (size_t i = 0; i < q.n && dropped >= 0; i++) {
        const s_queued *it = &q.v[i];
        const zn_partner *s = zn_convenant_partner(env->base.conv, it->sender);
        const zn_partner *r = zn_convenant_partner(env->base.conv, it->recipient);
        if (!s || !r)
            continue; /* a reload deals with partners that left */
        if (env->in_flight && env->in_flight(env->base.ctx, it->recipient, it->item))
            continue; /* delivered before the change */
        if (!last || strcmp(last->sender, it->sender) != 0 || strcmp(last->recipient, it->recipient) != 0) {
            s_facts sf;
            zn_err e;
            if (s_gather_for(env, &kase, it->sender, it->recipient, true, &sf) != 0) {
                dropped = -1;
                break;
            }
            code = s_decide(env, ZN_ACT_SEND, s, r, &kase, &sf, NULL, &e) == 0 ? ZN_E_OK : e.code;
            last = it;
        }
        int n = 0;
        if (code == ZN_E_STORE || code == ZN_E_INTERNAL)
            dropped = -1;
        else if (code != ZN_E_OK && (n = s_drop(env, &kase, it, code)) < 0)
            dropped = -1;
        else
            dropped += n; /* only what was still queued counts */
    }
    free(q.v);
    return dropped;
}

/* ---- reading what the store holds --------------------------------------------------------------- */

/* Tell the caller which case the request is about (zn_cases_actor.case_id). */
static void s_about(const zn_cases_actor *a, const uint8_t id[ZN_ID_LEN])
{
    if (a->case_id && a->case_known) {
        memcpy(a->case_id, id, ZN_ID_LEN);
        *a->case_known = true;
    }
}

static int s_case(const zn_cases_env *env, const zn_cases_actor *a, const uint8_t id[ZN_ID_LEN], zn_case *k,
                  zn_err *e)
{
    s_about(a, id);
    int rc = zn_store_case_get(env->base.store, id, k);
    if (rc < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (rc == 0)
        return zn_err_set(e, ZN_E_UNKNOWN_CASE, NULL);
    return 0;
}

/* The case of an override or a handover (`unknown` names which): one whose case was deleted is
 * unknown itself, as there is nothing left to decide. */
static int s_case_of(const zn_cases_env *env, const zn_cases_actor *a, const uint8_t id[ZN_ID_LEN], zn_case *k,
                     zn_code unknown, zn_err *e)
{
    if (s_case(env, a, id, k, e) == 0)
        return 0;
    if (e && e->code == ZN_E_UNKNOWN_CASE)
        zn_err_set(e, unknown, NULL);
    return -1;
}

/* A new override or handover (`what`): `got` is what reading its id answered, 0 when none has it. */
static int s_new_id(int got, const char *what, zn_err *e)
{
    if (got == 0)
        return 0;
    if (got < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    return zn_err_set(e, ZN_E_DUPLICATE_ID, "a %s with this id exists already; make a new request", what);
}

/* A person's pseudonym (the related ones share its epoch: zn_case.c) made with the convenant's
 * network key epoch; convenant-outdated otherwise, as for signals. */
static int s_epoch(const zn_cases_env *env, const uint8_t person[ZN_PSN_LEN], zn_err *e)
{
    uint64_t epoch = env->base.conv->netkey_epoch;
    if (person[0] == epoch)
        return 0;
    return zn_err_set(e, ZN_E_CONVENANT_OLD,
                      "the pseudonyms were made with network key epoch %u, the convenant uses epoch %llu; "
                      "get the current convenant",
                      person[0], (unsigned long long)epoch);
}

static const zn_partner *s_partner(const zn_cases_env *env, const char *id, zn_err *e)
{
    const zn_partner *p = zn_convenant_partner(env->base.conv, id);
    if (!p)
        zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "%s is not in the convenant", id);
    return p;
}

/* A sealed field: parsed, its readers exactly the set the convenant gives for `who`, and its
 * encoding (re-packed as it came) into out. */
static int s_sealed(const zn_cases_env *env, const msgpack_object *o, size_t min_text, unsigned who,
                    const char *network, const char *partner, const char *what, msgpack_sbuffer *out, zn_err *e)
{
    zn_sealed *s = malloc(sizeof *s);
    char (*want)[ZN_IDENT_MAX] = malloc(ZN_SEALED_READERS_MAX * sizeof *want);
    int rc = -1;
    if (!s || !want) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto out;
    }
    int net = network ? zn_convenant_network(env->base.conv, network) : -1;
    int n;
    if (zn_sealed_parse(o, min_text, s, e) != 0 ||
        (n = zn_sealed_readers(env->base.conv, who, net, partner, want, ZN_SEALED_READERS_MAX, e)) < 0 ||
        zn_sealed_check_readers(s, (const char(*)[ZN_IDENT_MAX])want, (size_t)n, e) != 0) {
        zn_err_prefix(e, what);
        goto out;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
    rc = 0;
out:
    free(s);
    free(want);
    return rc;
}

/* "a,b,c" from n ids (cut at cap). */
static void s_join(char *out, size_t cap, const char (*ids)[ZN_IDENT_MAX], size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", ids[i]);
}

/* ---- case-new, case-show, case-close, case-link ------------------------------------------------- */

static void s_result_id(msgpack_sbuffer *result, const uint8_t id[ZN_ID_LEN])
{
    zn_body_id_enc(result, id);
}

/* Start a result [id bin16, second] in result: the caller packs the second through pk. */
static void s_result_pair(msgpack_packer *pk, msgpack_sbuffer *result, const uint8_t id[ZN_ID_LEN])
{
    msgpack_packer_init(pk, result, msgpack_sbuffer_write);
    msgpack_pack_array(pk, 2);
    zn_pack_bin(pk, id, ZN_ID_LEN);
}

/* [id bin16, v u64] */
static void s_result_id_u64(msgpack_sbuffer *result, const uint8_t id[ZN_ID_LEN], uint64_t v)
{
    msgpack_packer pk;
    s_result_pair(&pk, result, id);
    msgpack_pack_uint64(&pk, v);
}

static int s_case_new(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                      msgpack_sbuffer *result, zn_err *e)
{
    zn_case_new_body in;
    if (zn_body_case_new_dec(body, &in, e) != 0)
        return -1;
    s_about(a, in.id);
    zn_policy_query q = {.action = ZN_ACT_CASE_NEW, .actor = a->p, .network = in.network};
    if (zn_policy_check(env->base.conv, &q, e) != ZN_E_OK || (in.identified && s_epoch(env, in.person, e) != 0))
        return -1;
    zn_case k = {.created_ms = env->base.now, .identified = in.identified};
    memcpy(k.id, in.id, ZN_ID_LEN);
    snprintf(k.network, sizeof k.network, "%s", in.network);
    snprintf(k.regisseur, sizeof k.regisseur, "%s", a->p->id);
    if (in.identified) {
        memcpy(k.person, in.person, ZN_PSN_LEN);
        k.n_related = in.n_related;
        memcpy(k.related, in.related, sizeof k.related);
    }
    int rc = zn_store_case_insert(env->base.store, &k);
    if (rc != 0)
        return zn_err_set(e, rc == 1 ? ZN_E_CASE_EXISTS : ZN_E_STORE, NULL);
    zn_audit_detail det[3];
    size_t n = 0;
    det[n++] = zn_det_str("network", k.network);
    if (k.identified && k.n_related)
        det[n++] = zn_det_bin("related", &k.related[0][0], (size_t)k.n_related * ZN_PSN_LEN);
    if (k.identified)
        det[n++] = zn_det_bin("subject", k.person, ZN_PSN_LEN);
    if (zn_store_member_add(env->base.store, k.id, a->p->id, "regisseur", env->base.now) < 0 ||
        s_entry(env, a, "case-new", k.id, NULL, ZN_BASIS_NONE, NULL, det, n) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    s_result_id(result, k.id);
    return 0;
}

/* Sealed bytes a view keeps beyond the store call that gave them (freed after packing). */
typedef struct {
    uint8_t *p[3 * S_VIEW_ROWS];
    size_t n;
    bool failed;
} s_keep;

static const uint8_t *s_keep_bytes(s_keep *k, const uint8_t *p, size_t n)
{
    if (!p || !n)
        return NULL;
    uint8_t *c = k->n < S_N(k->p) ? malloc(n) : NULL;
    if (!c) {
        k->failed = true;
        return NULL;
    }
    memcpy(c, p, n);
    k->p[k->n++] = c;
    return c;
}

static void s_keep_free(s_keep *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->p[i]);
    k->n = 0;
}

typedef struct {
    zn_case_view *v;
    s_keep keep;
    uint64_t now;
} s_view_ctx;

static bool s_listed(const zn_case_view *v, const char *partner)
{
    for (size_t i = 0; i < v->n_members; i++)
        if (strcmp(v->members[i].partner, partner) == 0)
            return true;
    return false;
}

static void s_add_member(zn_case_view *v, const char *partner, const char *how, uint64_t since)
{
    if (v->n_members >= ZN_CASE_PAGE || s_listed(v, partner))
        return;
    zn_member_row *m = &v->members[v->n_members++];
    snprintf(m->partner, sizeof m->partner, "%s", partner);
    snprintf(m->how, sizeof m->how, "%s", how);
    m->since_ms = since;
}

/* Stored members; the view says who holds the case now: its regisseur is "regisseur" whatever
 * made it a member, and a partner that held it before (it created the case, or took it over by
 * a handover) "handed-over". */
static int s_member_cb(void *ctx, const zn_member_row *m)
{
    s_view_ctx *x = ctx;
    bool held = strcmp(m->how, "regisseur") == 0 || strcmp(m->how, "handover") == 0;
    const char *how = strcmp(m->partner, x->v->regisseur) == 0 ? "regisseur" : held ? "handed-over" : m->how;
    s_add_member(x->v, m->partner, how, m->since_ms);
    return x->v->n_members >= ZN_CASE_PAGE;
}

/* A copy of an override row whose sealed fields live in keep; its state as of now. */
static void s_override_copy(zn_override_row *o, const zn_override_row *r, s_keep *keep, uint64_t now)
{
    *o = *r;
    o->state = s_state_at(r, now);
    o->justification = s_keep_bytes(keep, r->justification, r->justification_len);
    o->justification_len = o->justification ? r->justification_len : 0;
    o->note = s_keep_bytes(keep, r->note, r->note_len);
    o->note_len = o->note ? r->note_len : 0;
}

static int s_standing_cb(void *ctx, const zn_override_row *r)
{
    s_view_ctx *x = ctx;
    if (x->v->n_overrides >= S_VIEW_ROWS)
        return 1;
    s_override_copy(&x->v->overrides[x->v->n_overrides++], r, &x->keep, x->now);
    return 0;
}

static int s_case_show(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                       msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_case k;
    s_facts sf;
    if (zn_body_id_dec(body, id, e) != 0 || s_case(env, a, id, &k, e) != 0 ||
        s_allowed(env, a, ZN_ACT_CASE_READ, NULL, &k, &sf, e) != 0)
        return -1;
    zn_store *st = env->base.store;
    uint64_t now = env->base.now;
    s_view_ctx x = {.v = calloc(1, sizeof *x.v), .now = now};
    int rc = -1;
    zn_code fail = ZN_E_STORE;
    if (!x.v) {
        fail = ZN_E_INTERNAL;
        goto out;
    }
    zn_case_view *v = x.v;
    memcpy(v->id, k.id, ZN_ID_LEN);
    snprintf(v->network, sizeof v->network, "%s", k.network);
    snprintf(v->regisseur, sizeof v->regisseur, "%s", k.regisseur);
    v->created_ms = k.created_ms, v->closed_ms = k.closed_ms;
    v->identified = k.identified;
    if (zn_store_members(st, k.id, ZN_CASE_PAGE, s_member_cb, &x) < 0)
        goto out;
    if (sf.has_consent) {
        v->consent_seq = sf.consent.seq;
        v->consent = sf.consent.c;
        v->consent_at_ms = sf.consent.at_ms;
    }
    if (s_consent_admits(&sf, now))
        for (size_t i = 0; i < sf.consent.c.n_scope; i++)
            s_add_member(v, sf.consent.c.scope[i], "consent", sf.consent.at_ms);
    if (zn_store_overrides_standing(st, k.id, now, S_VIEW_ROWS, s_standing_cb, &x) < 0)
        goto out;
    for (size_t i = 0; i < v->n_overrides; i++) {
        s_add_member(v, v->overrides[i].from, "override", v->overrides[i].created_ms);
        s_add_member(v, v->overrides[i].to, "override", v->overrides[i].created_ms);
    }
    zn_handover_row h;
    int open = zn_store_handover_open(st, k.id, &h);
    if (open < 0)
        goto out;
    if (open == 1) {
        v->handovers[0] = h;
        v->handovers[0].reason = s_keep_bytes(&x.keep, h.reason, h.reason_len);
        v->handovers[0].reason_len = v->handovers[0].reason ? h.reason_len : 0;
        v->n_handovers = 1;
    }
    if (x.keep.failed) { /* a sealed text could not be copied */
        fail = ZN_E_INTERNAL;
        goto out;
    }
    if (s_entry(env, a, "case-show", k.id, NULL, ZN_BASIS_NONE, NULL, NULL, 0) != 0)
        goto out;
    msgpack_packer pk;
    msgpack_packer_init(&pk, result, msgpack_sbuffer_write);
    zn_pack_case_view(&pk, v);
    rc = 0;
out:
    s_keep_free(&x.keep);
    free(x.v);
    if (rc == 0)
        return 0;
    return fail == ZN_E_INTERNAL ? zn_err_set(e, ZN_E_INTERNAL, "out of memory while reading the case")
                                 : zn_err_set(e, ZN_E_STORE, NULL);
}

static int s_case_close(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                        msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_case k;
    s_facts sf;
    if (zn_body_id_dec(body, id, e) != 0 || s_case(env, a, id, &k, e) != 0 ||
        s_allowed(env, a, ZN_ACT_CASE_CLOSE, NULL, &k, &sf, e) != 0)
        return -1;
    uint64_t closed = env->base.now;
    zn_audit_detail det[] = {zn_det_u64("closed", closed)};
    if (zn_store_case_close(env->base.store, k.id, closed) < 0 ||
        s_entry(env, a, "case-close", k.id, NULL, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    s_result_id_u64(result, k.id, closed);
    return 0;
}

static int s_case_link(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                       msgpack_sbuffer *result, zn_err *e)
{
    zn_case_link_body in;
    zn_case k;
    s_facts sf;
    if (zn_body_case_link_dec(body, &in, e) != 0 || s_case(env, a, in.case_id, &k, e) != 0 ||
        s_allowed(env, a, ZN_ACT_CASE_LINK, NULL, &k, &sf, e) != 0 || s_epoch(env, in.person, e) != 0)
        return -1;
    if (zn_store_case_link(env->base.store, k.id, in.person, (const uint8_t(*)[ZN_PSN_LEN])in.related,
                           in.n_related) < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    /* only the partners within the consent's scope learn of the link */
    char told[ZN_CONSENT_SCOPE_MAX][ZN_IDENT_MAX];
    size_t n_told = 0;
    const zn_notice_field f[] = {ZN_NF_ID("case", k.id), ZN_NF_S("by", a->p->id),
                                 ZN_NF_B("person", in.person, ZN_PSN_LEN)};
    for (size_t i = 0; i < sf.consent.c.n_scope && i < ZN_CONSENT_SCOPE_MAX; i++) {
        const char *p = sf.consent.c.scope[i];
        if (strcmp(p, a->p->id) == 0 || !zn_convenant_partner(env->base.conv, p))
            continue;
        if (s_tell(env, p, "case-linked", f, S_N(f)) != 0)
            return zn_err_set(e, ZN_E_STORE, NULL);
        snprintf(told[n_told++], ZN_IDENT_MAX, "%s", p);
    }
    char list[S_LIST_MAX];
    s_join(list, sizeof list, (const char(*)[ZN_IDENT_MAX])told, n_told);
    zn_audit_detail det[4];
    size_t n = 0;
    det[n++] = zn_det_u64("consent", sf.consent.seq);
    if (in.n_related)
        det[n++] = zn_det_bin("related", &in.related[0][0], (size_t)in.n_related * ZN_PSN_LEN);
    det[n++] = zn_det_bin("subject", in.person, ZN_PSN_LEN);
    if (n_told)
        det[n++] = zn_det_str("told", list);
    if (s_entry(env, a, "case-link", k.id, NULL, ZN_BASIS_CONSENT, NULL, det, n) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    msgpack_packer pk;
    s_result_pair(&pk, result, k.id);
    msgpack_pack_array(&pk, (uint32_t)n_told);
    for (size_t i = 0; i < n_told; i++)
        zn_pack_str(&pk, told[i]);
    return 0;
}

/* ---- consent ------------------------------------------------------------------------------------- */

static int s_consent_set(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                         msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    const msgpack_object *purpose = NULL;
    zn_consent_row row = {0};
    zn_case k;
    s_facts sf;
    if (zn_body_consent_set_dec(body, id, &row.c, &purpose, e) != 0 || s_case(env, a, id, &k, e) != 0 ||
        s_allowed(env, a, ZN_ACT_CONSENT_SET, NULL, &k, &sf, e) != 0 ||
        zn_consent_check(&row.c, env->base.now, e) != 0)
        return -1;
    int net = zn_convenant_network(env->base.conv, k.network);
    for (size_t i = 0; i < row.c.n_scope; i++) {
        const zn_partner *p = zn_convenant_partner(env->base.conv, row.c.scope[i]);
        if (!p)
            return zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "%s in the consent's scope is not in the convenant",
                              row.c.scope[i]);
        if (!zn_partner_has_role(p, net, ZN_ROLE_PARTNER))
            return zn_err_set(e, ZN_E_NOT_IN_NETWORK,
                              "%s in the consent's scope does not hold the partner role in the case's network %s",
                              p->id, k.network);
    }
    msgpack_sbuffer pb;
    msgpack_sbuffer_init(&pb);
    int rc = -1;
    if (purpose && s_sealed(env, purpose, 1, ZN_READ_AUDITORS, NULL, NULL, "purpose", &pb, e) != 0)
        goto out;
    row.at_ms = env->base.now;
    snprintf(row.handler, sizeof row.handler, "%s", a->handler);
    snprintf(row.partner, sizeof row.partner, "%s", a->p->id); /* the regisseur: covered while it holds the case */
    row.purpose = pb.size ? (const uint8_t *)pb.data : NULL;
    row.purpose_len = pb.size;
    uint64_t seq = 0;
    char scope[S_LIST_MAX], given[64];
    s_join(scope, sizeof scope, (const char(*)[ZN_IDENT_MAX])row.c.scope, row.c.n_scope);
    zn_given_format(row.c.given_by, given, sizeof given);
    const char *band = zn_age_band_name(row.c.age_band);
    if (zn_store_consent_add(env->base.store, k.id, &row, &seq) != 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    zn_audit_detail det[6];
    size_t n = 0;
    if (*band)
        det[n++] = zn_det_str("age_band", band);
    if (*given)
        det[n++] = zn_det_str("given_by", given);
    if (*scope)
        det[n++] = zn_det_str("scope", scope);
    det[n++] = zn_det_u64("seq", seq);
    det[n++] = zn_det_str("state", zn_consent_state_name(row.c.state));
    det[n++] = zn_det_u64("until", row.c.until_ms);
    if (s_entry(env, a, "consent-set", k.id, NULL, ZN_BASIS_NONE, NULL, det, n) != 0 || s_purge(env, &k) < 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    s_result_id_u64(result, k.id, seq);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&pb);
    return rc;
}

typedef struct {
    msgpack_sbuffer rows;
    msgpack_packer pk;
    uint32_t n;
} s_rows;

static void s_rows_init(s_rows *r)
{
    msgpack_sbuffer_init(&r->rows);
    msgpack_packer_init(&r->pk, &r->rows, msgpack_sbuffer_write);
    r->n = 0;
}

/* The packer for one more row (counted), or NULL when the page is full. */
static msgpack_packer *s_rows_next(s_rows *r)
{
    if (r->n >= ZN_CASE_PAGE)
        return NULL;
    r->n++;
    return &r->pk;
}

static int s_consent_row_cb(void *ctx, const zn_consent_row *r)
{
    msgpack_packer *pk = s_rows_next(ctx);
    if (pk)
        zn_pack_consent_row(pk, r);
    return pk == NULL;
}

static int s_consent_show(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                          msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_case k;
    s_facts sf;
    if (zn_body_id_dec(body, id, e) != 0 || s_case(env, a, id, &k, e) != 0)
        return -1;
    /* auditors read the history of any case (a complaint, an inspection) */
    if (!a->p->auditor && s_allowed(env, a, ZN_ACT_CASE_READ, NULL, &k, &sf, e) != 0)
        return -1;
    s_rows x;
    s_rows_init(&x);
    int rc = -1;
    if (zn_store_consent_history(env->base.store, k.id, ZN_CASE_PAGE, s_consent_row_cb, &x) < 0 ||
        s_entry(env, a, "consent-show", k.id, NULL, ZN_BASIS_NONE, NULL, NULL, 0) != 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    msgpack_packer pk;
    s_result_pair(&pk, result, k.id);
    msgpack_pack_array(&pk, x.n);
    msgpack_sbuffer_write(result, x.rows.data, x.rows.size);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&x.rows);
    return rc;
}

/* ---- safety overrides ----------------------------------------------------------------------------- */

static int s_override_new(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                          msgpack_sbuffer *result, zn_err *e)
{
    zn_override_new_body in;
    const msgpack_object *just = NULL;
    zn_case k;
    s_facts sf;
    const zn_partner *to;
    zn_override_row r;
    if (zn_body_override_new_dec(body, &in, &just, e) != 0 || s_case(env, a, in.case_id, &k, e) != 0 ||
        !(to = s_partner(env, in.to, e)) || s_allowed(env, a, ZN_ACT_OVERRIDE_NEW, to, &k, &sf, e) != 0)
        return -1;
    if (s_new_id(zn_store_override_get(env->base.store, in.id, &r), "safety override", e) != 0)
        return -1;
    msgpack_sbuffer jb;
    msgpack_sbuffer_init(&jb);
    int rc = -1;
    if (s_sealed(env, just, ZN_JUSTIFICATION_MIN, ZN_READ_COORDINATORS | ZN_READ_AUDITORS, k.network, NULL,
                 "justification", &jb, e) != 0)
        goto out;
    const zn_policy *pol = &env->base.conv->policy;
    uint64_t now = env->base.now;
    memset(&r, 0, sizeof r);
    memcpy(r.id, in.id, ZN_ID_LEN);
    memcpy(r.case_id, k.id, ZN_ID_LEN);
    snprintf(r.network, sizeof r.network, "%s", k.network);
    snprintf(r.from, sizeof r.from, "%s", a->p->id);
    snprintf(r.handler, sizeof r.handler, "%s", a->handler);
    snprintf(r.to, sizeof r.to, "%s", to->id);
    r.step = in.step;
    r.created_ms = now;
    r.expires_ms = now + pol->override_lifetime_d * S_DAY_MS;
    r.review_by_ms = now + pol->override_review_h * S_HOUR_MS;
    r.state = ZN_OVERRIDE_PENDING;
    r.justification = (const uint8_t *)jb.data;
    r.justification_len = jb.size;
    zn_audit_detail det[] = {zn_det_u64("expires", r.expires_ms), zn_det_id("override", r.id),
                             zn_det_u64("review_by", r.review_by_ms), zn_det_u64("step", r.step)};
    const zn_notice_field f[] = {
        ZN_NF_ID("override", r.id),  ZN_NF_ID("case", r.case_id),     ZN_NF_S("network", r.network),
        ZN_NF_S("from", r.from),     ZN_NF_S("handler", r.handler),   ZN_NF_S("to", r.to),
        ZN_NF_U("step", r.step),     ZN_NF_U("expires", r.expires_ms), ZN_NF_U("review_by", r.review_by_ms),
    };
    if (zn_store_override_put(env->base.store, &r) != 0 ||
        s_entry(env, a, "override-new", k.id, to->id, ZN_BASIS_OVERRIDE, NULL, det, S_N(det)) != 0 ||
        s_tell_all(env, ZN_READ_COORDINATORS, k.network, "override", f, S_N(f)) != 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, result, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_bin(&pk, r.id, ZN_ID_LEN);
    msgpack_pack_uint64(&pk, r.expires_ms);
    msgpack_pack_uint64(&pk, r.review_by_ms);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&jb);
    return rc;
}

typedef struct {
    s_rows rows;
    uint64_t now;
} s_override_rows;

static int s_override_row_cb(void *ctx, const zn_override_row *r)
{
    s_override_rows *x = ctx;
    msgpack_packer *pk = s_rows_next(&x->rows);
    if (pk) {
        zn_override_row o = *r;
        o.state = s_state_at(r, x->now);
        zn_pack_override_row(pk, &o);
    }
    return pk == NULL;
}

/* Two-element list results: [total u64, [row ...]]. */
static void s_pack_list(msgpack_sbuffer *result, uint64_t total, const s_rows *rows)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, result, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, total);
    msgpack_pack_array(&pk, rows->n);
    msgpack_sbuffer_write(result, rows->rows.data, rows->rows.size);
}

static int s_override_list(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                           msgpack_sbuffer *result, zn_err *e)
{
    bool all;
    uint64_t offset, total = 0;
    if (zn_body_override_list_dec(body, &all, &offset, e) != 0)
        return -1;
    const zn_convenant *c = env->base.conv;
    char nets[ZN_MAX_NETWORKS][ZN_IDENT_MAX];
    size_t n_nets = 0;
    const char *from = NULL;
    if (zn_partner_is_coordinator(a->p)) { /* the networks it coordinates */
        for (size_t i = 0; i < c->n_networks && i < ZN_MAX_NETWORKS; i++)
            if (zn_partner_has_role(a->p, (int)i, ZN_ROLE_COORDINATOR))
                snprintf(nets[n_nets++], ZN_IDENT_MAX, "%s", c->networks[i]);
        if (!n_nets) /* not reached: a coordinator coordinates a network; never "every network" */
            return zn_err_set(e, ZN_E_INTERNAL, NULL);
    } else if (!a->p->auditor) {
        from = a->p->id; /* a partner: the overrides it recorded */
    }
    s_override_rows x = {.now = env->base.now};
    s_rows_init(&x.rows);
    int rc = -1;
    zn_audit_detail det[] = {zn_det_u64("offset", offset)};
    if (zn_store_override_list(env->base.store, (const char(*)[ZN_IDENT_MAX])nets, n_nets, from, !all,
                               env->base.now, offset, ZN_CASE_PAGE, &total, s_override_row_cb, &x) < 0 ||
        s_entry(env, a, "override-list", NULL, NULL, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    s_pack_list(result, total, &x.rows);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&x.rows.rows);
    return rc;
}

static int s_override_review(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                             msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    bool approve;
    const msgpack_object *note = NULL;
    zn_override_row r;
    zn_case k;
    s_facts sf;
    if (zn_body_override_review_dec(body, id, &approve, &note, e) != 0)
        return -1;
    int got = zn_store_override_get(env->base.store, id, &r);
    if (got < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (got == 0)
        return zn_err_set(e, ZN_E_UNKNOWN_OVERRIDE, NULL);
    if (s_case_of(env, a, r.case_id, &k, ZN_E_UNKNOWN_OVERRIDE, e) != 0)
        return -1;
    /* the row's sealed fields point into the store's buffer: read again after the checks */
    if (s_allowed(env, a, ZN_ACT_OVERRIDE_REVIEW, NULL, &k, &sf, e) != 0)
        return -1;
    if ((got = zn_store_override_get(env->base.store, id, &r)) != 1)
        return zn_err_set(e, ZN_E_STORE, NULL);
    uint64_t now = env->base.now;
    if (s_state_at(&r, now) == ZN_OVERRIDE_EXPIRED)
        return zn_err_set(e, ZN_E_DECIDED, "the safety override expired before it was reviewed; it no longer stands");
    if (r.state != ZN_OVERRIDE_PENDING)
        return zn_err_set(e, ZN_E_DECIDED, "the safety override was %s already", zn_override_state_name(r.state));
    msgpack_sbuffer jb, nb;
    msgpack_sbuffer_init(&jb);
    msgpack_sbuffer_init(&nb);
    msgpack_sbuffer_write(&jb, (const char *)r.justification, r.justification_len); /* kept across calls */
    int rc = -1;
    if (note && s_sealed(env, note, 1, ZN_READ_PARTNER | ZN_READ_COORDINATORS | ZN_READ_AUDITORS, k.network,
                         r.from, "note", &nb, e) != 0)
        goto out;
    bool late = now > r.review_by_ms;
    r.state = approve ? ZN_OVERRIDE_APPROVED : ZN_OVERRIDE_REJECTED;
    snprintf(r.reviewed_by, sizeof r.reviewed_by, "%s", a->p->id);
    r.reviewed_ms = now;
    r.justification = jb.size ? (const uint8_t *)jb.data : NULL;
    r.justification_len = jb.size;
    r.note = nb.size ? (const uint8_t *)nb.data : NULL;
    r.note_len = nb.size;
    const char *state = zn_override_state_name(r.state);
    zn_audit_detail det[3];
    size_t n = 0;
    if (late)
        det[n++] = zn_det_u64("late", 1);
    det[n++] = zn_det_id("override", r.id);
    det[n++] = zn_det_str("state", state);
    const zn_notice_field f[] = {ZN_NF_ID("override", r.id), ZN_NF_ID("case", r.case_id), ZN_NF_S("to", r.to),
                                 ZN_NF_S("state", state), ZN_NF_S("by", a->p->id)};
    if (zn_store_override_put(env->base.store, &r) != 0 ||
        s_entry(env, a, "override-review", k.id, r.from, ZN_BASIS_NONE, NULL, det, n) != 0 ||
        s_tell(env, r.from, "override-reviewed", f, S_N(f)) != 0 || (!approve && s_purge(env, &k) < 0)) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    msgpack_packer pk;
    s_result_pair(&pk, result, r.id);
    zn_pack_str(&pk, state);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&jb);
    msgpack_sbuffer_destroy(&nb);
    return rc;
}

/* ---- warm handovers ------------------------------------------------------------------------------- */

static int s_handover_offer(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                            msgpack_sbuffer *result, zn_err *e)
{
    zn_handover_offer_body in;
    zn_case k;
    s_facts sf;
    const zn_partner *to;
    zn_case_decision d;
    zn_handover_row h;
    if (zn_body_handover_offer_dec(body, &in, e) != 0 || s_case(env, a, in.case_id, &k, e) != 0 ||
        !(to = s_partner(env, in.to, e)))
        return -1;
    if (s_gather(env, &k, a->p->id, to->id, &sf) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (s_decide(env, ZN_ACT_HANDOVER_OFFER, a->p, to, &k, &sf, &d, e) != 0)
        return -1;
    zn_store *st = env->base.store;
    int got = zn_store_msgid_match(st, a->p->id, in.msgid, to->id, k.id);
    if (got < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (got == 0)
        return zn_err_set(e, ZN_E_UNKNOWN_MESSAGE, NULL);
    if (s_new_id(zn_store_handover_get(st, in.id, &h), "handover", e) != 0)
        return -1;
    uint64_t now = env->base.now;
    memset(&h, 0, sizeof h);
    memcpy(h.id, in.id, ZN_ID_LEN);
    memcpy(h.case_id, k.id, ZN_ID_LEN);
    snprintf(h.from, sizeof h.from, "%s", a->p->id);
    snprintf(h.handler, sizeof h.handler, "%s", a->handler);
    snprintf(h.to, sizeof h.to, "%s", to->id);
    memcpy(h.msgid, in.msgid, ZN_ID_LEN);
    h.offered_ms = now;
    h.timeout_ms = now + env->base.conv->policy.handover_timeout_h * S_HOUR_MS;
    h.state = ZN_HANDOVER_OPEN;
    zn_audit_detail det[4] = {zn_det_id("handover", h.id), zn_det_id("msgid", h.msgid),
                              zn_det_u64("timeout", h.timeout_ms)};
    size_t n = s_with_basis(det, 3, &d);
    const zn_notice_field f[] = {ZN_NF_ID("handover", h.id), ZN_NF_ID("case", h.case_id), ZN_NF_S("from", h.from),
                                 ZN_NF_S("handler", h.handler), ZN_NF_ID("msgid", h.msgid),
                                 ZN_NF_U("timeout", h.timeout_ms)};
    /* the recipient becomes a member when it acknowledges the dossier, or accepts */
    if (zn_store_handover_put(st, &h) != 0 ||
        s_entry(env, a, "handover-offer", k.id, to->id, d.basis, NULL, det, n) != 0 ||
        s_tell(env, to->id, "handover-offer", f, S_N(f)) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    s_result_id_u64(result, h.id, h.timeout_ms);
    return 0;
}

/* An open handover offered to the actor; anyone else learns nothing of it. The row's reason
 * (if any) is not kept. */
static int s_offered(const zn_cases_env *env, const zn_cases_actor *a, const uint8_t id[ZN_ID_LEN],
                     zn_handover_row *h, zn_case *k, zn_err *e)
{
    int got = zn_store_handover_get(env->base.store, id, h);
    if (got < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (got == 0 || strcmp(h->to, a->p->id) != 0)
        return zn_err_set(e, ZN_E_UNKNOWN_HANDOVER, NULL);
    h->reason = NULL, h->reason_len = 0;
    if (s_case_of(env, a, h->case_id, k, ZN_E_UNKNOWN_HANDOVER, e) != 0)
        return -1;
    if (h->state != ZN_HANDOVER_OPEN)
        return zn_err_set(e, ZN_E_DECIDED, "the handover was %s already", zn_handover_state_name(h->state));
    return 0;
}

static int s_handover_accept(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                             msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_handover_row h;
    zn_case k;
    s_facts sf;
    zn_case_decision d;
    if (zn_body_id_dec(body, id, e) != 0 || s_offered(env, a, id, &h, &k, e) != 0)
        return -1;
    /* the offer judged again as traffic from the offering partner to the actor */
    const zn_partner *from = zn_convenant_partner(env->base.conv, h.from);
    if (s_gather(env, &k, h.from, a->p->id, &sf) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    if (s_decide(env, ZN_ACT_HANDOVER_ACCEPT, a->p, from, &k, &sf, &d, e) != 0)
        return -1;
    h.state = ZN_HANDOVER_ACCEPTED;
    h.decided_ms = env->base.now;
    zn_audit_detail det[2] = {zn_det_id("handover", h.id)};
    size_t n = s_with_basis(det, 1, &d);
    const zn_notice_field f[] = {ZN_NF_ID("handover", h.id), ZN_NF_ID("case", h.case_id), ZN_NF_S("to", h.to),
                                 ZN_NF_S("handler", a->handler)};
    zn_store *st = env->base.store;
    if (zn_store_handover_put(st, &h) != 0 || zn_store_case_set_regisseur(st, k.id, a->p->id) < 0 ||
        zn_store_member_add(st, k.id, a->p->id, "handover", h.decided_ms) < 0 ||
        s_entry(env, a, "handover-accept", k.id, h.from, d.basis, NULL, det, n) != 0 ||
        s_tell(env, h.from, "handover-accepted", f, S_N(f)) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    /* who the consent covers changed with the holder (the partner that recorded it no longer
     * holds the case): judge what is queued again */
    snprintf(k.regisseur, sizeof k.regisseur, "%s", a->p->id);
    if (s_purge(env, &k) < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    msgpack_packer pk;
    s_result_pair(&pk, result, h.id);
    zn_pack_bin(&pk, k.id, ZN_ID_LEN);
    return 0;
}

static int s_handover_decline(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                              msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    const msgpack_object *reason = NULL;
    zn_handover_row h;
    zn_case k;
    if (zn_body_handover_decline_dec(body, id, &reason, e) != 0 || s_offered(env, a, id, &h, &k, e) != 0)
        return -1;
    if (!reason)
        return zn_err_set(e, ZN_E_MALFORMED, "handover-decline: a reason is required");
    msgpack_sbuffer rb;
    msgpack_sbuffer_init(&rb);
    int rc = -1;
    if (s_sealed(env, reason, 1, ZN_READ_PARTNER | ZN_READ_AUDITORS, NULL, h.from, "reason", &rb, e) != 0)
        goto out;
    h.state = ZN_HANDOVER_DECLINED;
    h.decided_ms = env->base.now;
    h.reason = (const uint8_t *)rb.data;
    h.reason_len = rb.size;
    zn_audit_detail det[] = {zn_det_id("handover", h.id)};
    const zn_notice_field f[] = {ZN_NF_ID("handover", h.id), ZN_NF_ID("case", h.case_id), ZN_NF_S("to", h.to),
                                 ZN_NF_S("handler", a->handler)};
    if (zn_store_handover_put(env->base.store, &h) != 0 ||
        s_entry(env, a, "handover-decline", k.id, h.from, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0 ||
        s_tell(env, h.from, "handover-declined", f, S_N(f)) != 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    s_result_id(result, h.id);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&rb);
    return rc;
}

/* End an open handover as withdrawn: by the actor's request, or (a NULL actor) by the broker
 * because its recipient left the convenant. The handover's reason is not kept (an open one has
 * none). */
static int s_withdraw(const zn_cases_env *env, const zn_cases_actor *a, zn_handover_row *h)
{
    h->state = ZN_HANDOVER_WITHDRAWN;
    h->decided_ms = env->base.now;
    h->reason = NULL, h->reason_len = 0;
    zn_audit_detail det[] = {zn_det_id("handover", h->id)};
    if (zn_store_handover_put(env->base.store, h) != 0 ||
        s_entry(env, a, "handover-withdraw", h->case_id, h->to, ZN_BASIS_NONE,
                a ? NULL : zn_code_name(ZN_E_NOT_IN_CONVENANT), det, S_N(det)) != 0)
        return -1;
    if (a) {
        const zn_notice_field f[] = {ZN_NF_ID("handover", h->id), ZN_NF_ID("case", h->case_id),
                                     ZN_NF_S("by", a->p->id)};
        return s_tell(env, h->to, "handover-withdrawn", f, S_N(f));
    }
    const zn_notice_field f[] = {ZN_NF_ID("handover", h->id), ZN_NF_ID("case", h->case_id), ZN_NF_S("to", h->to),
                                 ZN_NF_S("reason", zn_code_name(ZN_E_NOT_IN_CONVENANT))};
    return s_tell(env, h->from, "handover-withdrawn", f, S_N(f));
}

static int s_handover_withdraw(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                               msgpack_sbuffer *result, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    zn_handover_row h;
    zn_case k;
    s_facts sf;
    zn_store *st = env->base.store;
    if (zn_body_id_dec(body, id, e) != 0)
        return -1;
    int got = zn_store_handover_get(st, id, &h);
    if (got < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    h.reason = NULL, h.reason_len = 0;
    int kc = got == 1 ? zn_store_case_get(st, h.case_id, &k) : 0;
    if (kc < 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    /* its two partners and the coordinators of the case's network know of it; anyone else
     * learns nothing, as for an id that does not exist */
    bool knows = kc == 1 && (strcmp(h.from, a->p->id) == 0 || strcmp(h.to, a->p->id) == 0 ||
                             zn_partner_has_role(a->p, zn_convenant_network(env->base.conv, k.network),
                                                 ZN_ROLE_COORDINATOR));
    if (!knows)
        return zn_err_set(e, ZN_E_UNKNOWN_HANDOVER, NULL);
    s_about(a, k.id);
    if (h.state != ZN_HANDOVER_OPEN)
        return zn_err_set(e, ZN_E_DECIDED, "the handover was %s already", zn_handover_state_name(h.state));
    if (s_allowed(env, a, ZN_ACT_HANDOVER_WITHDRAW, zn_convenant_partner(env->base.conv, h.from), &k, &sf, e) != 0)
        return -1;
    if (s_withdraw(env, a, &h) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    s_result_id(result, h.id);
    return 0;
}

static int s_handover_row_cb(void *ctx, const zn_handover_row *r)
{
    msgpack_packer *pk = s_rows_next(ctx);
    if (pk)
        zn_pack_handover_row(pk, r);
    return pk == NULL;
}

static int s_handover_list(const zn_cases_env *env, const zn_cases_actor *a, const msgpack_object *body,
                           msgpack_sbuffer *result, zn_err *e)
{
    uint64_t offset, total = 0;
    if (zn_body_offset_dec(body, &offset, e) != 0)
        return -1;
    s_rows x;
    s_rows_init(&x);
    int rc = -1;
    zn_audit_detail det[] = {zn_det_u64("offset", offset)};
    if (zn_store_handover_list(env->base.store, a->p->id, offset, ZN_CASE_PAGE, &total, s_handover_row_cb, &x) < 0 ||
        s_entry(env, a, "handover-list", NULL, NULL, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0) {
        zn_err_set(e, ZN_E_STORE, NULL);
        goto out;
    }
    s_pack_list(result, total, &x);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&x.rows);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------------------------------- */

typedef int (*s_handler)(const zn_cases_env *, const zn_cases_actor *, const msgpack_object *, msgpack_sbuffer *,
                         zn_err *);

static const struct {
    const char *kind;
    s_handler fn;
} s_kinds[] = {
    {"case-new", s_case_new},
    {"case-show", s_case_show},
    {"case-close", s_case_close},
    {"case-link", s_case_link},
    {"consent-set", s_consent_set},
    {"consent-show", s_consent_show},
    {"override-new", s_override_new},
    {"override-list", s_override_list},
    {"override-review", s_override_review},
    {"handover-offer", s_handover_offer},
    {"handover-accept", s_handover_accept},
    {"handover-decline", s_handover_decline},
    {"handover-withdraw", s_handover_withdraw},
    {"handover-list", s_handover_list},
};

bool zn_cases_handles(const char *kind)
{
    for (size_t i = 0; i < S_N(s_kinds); i++)
        if (strcmp(kind, s_kinds[i].kind) == 0)
            return true;
    return false;
}

int zn_cases_request(const zn_cases_env *env, const zn_cases_actor *a, const char *kind,
                     const msgpack_object *body, msgpack_sbuffer *result, zn_err *e)
{
    if (a->case_known)
        *a->case_known = false;
    for (size_t i = 0; i < S_N(s_kinds); i++)
        if (strcmp(kind, s_kinds[i].kind) == 0)
            return s_kinds[i].fn(env, a, body, result, e);
    return zn_err_set(e, ZN_E_UNKNOWN_TYPE, "request kind %s is not known to this broker", kind);
}

/* ---- the clock --------------------------------------------------------------------------------------- */

/* An override whose time came, as the walk rewrote it (sealed fields are not kept). */
typedef struct {
    zn_override_row r;
    bool escalated; /* escalated in this step: pending, never escalated, past its review time */
    bool expired;   /* expired in this step (after its escalation, when both are due) */
} s_due_override;

typedef struct {
    const zn_cases_env *env;
    s_due_override *v;
    size_t n;
    bool failed;
} s_due_overrides;

static int s_override_due_cb(void *ctx, const zn_override_row *r)
{
    s_due_overrides *x = ctx;
    if (x->n >= ZN_CASES_TICK_MAX)
        return 1;
    uint64_t now = x->env->base.now;
    zn_override_row w = *r;
    bool expired = s_state_at(r, now) == ZN_OVERRIDE_EXPIRED;
    /* an override nobody reviewed is escalated, also when its end came too (the broker was
     * down, or the clock jumped): the auditors learn of it before it expires */
    bool escalated = r->state == ZN_OVERRIDE_PENDING && !r->escalated && r->review_by_ms <= now;
    if (!expired && !escalated)
        return 0;
    if (expired)
        w.state = ZN_OVERRIDE_EXPIRED;
    if (escalated)
        w.escalated = true;
    if (zn_store_override_put(x->env->base.store, &w) != 0) {
        x->failed = true;
        return 1;
    }
    s_due_override *o = &x->v[x->n++];
    o->r = w;
    o->r.justification = NULL, o->r.justification_len = 0, o->r.note = NULL, o->r.note_len = 0;
    o->escalated = escalated;
    o->expired = expired;
    return 0;
}

static int s_tick_escalate(const zn_cases_env *env, const zn_override_row *r)
{
    zn_audit_detail det[] = {zn_det_id("override", r->id), zn_det_u64("review_by", r->review_by_ms)};
    const zn_notice_field f[] = {ZN_NF_ID("override", r->id), ZN_NF_ID("case", r->case_id),
                                 ZN_NF_S("network", r->network), ZN_NF_S("from", r->from),
                                 ZN_NF_S("to", r->to), ZN_NF_U("review_by", r->review_by_ms)};
    return s_entry(env, NULL, "override-escalate", r->case_id, r->from, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0 ||
                   s_tell_all(env, ZN_READ_AUDITORS, NULL, "override-escalated", f, S_N(f)) != 0
               ? -1
               : 0;
}

static int s_tick_expire(const zn_cases_env *env, const zn_override_row *r)
{
    zn_audit_detail det[] = {zn_det_str("author", r->from), zn_det_id("override", r->id)};
    const zn_notice_field f[] = {ZN_NF_ID("override", r->id), ZN_NF_ID("case", r->case_id), ZN_NF_S("to", r->to)};
    zn_case k;
    int got = zn_store_case_get(env->base.store, r->case_id, &k);
    return got < 0 ||
                   s_entry(env, NULL, "override-expire", r->case_id, r->to, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0 ||
                   s_tell(env, r->from, "override-expired", f, S_N(f)) != 0 || (got == 1 && s_purge(env, &k) < 0)
               ? -1
               : 0;
}

static int s_tick_override(const zn_cases_env *env, const s_due_override *o)
{
    if (o->escalated && s_tick_escalate(env, &o->r) != 0)
        return -1;
    return o->expired ? s_tick_expire(env, &o->r) : 0;
}

/* ---- consent expiry: the cases whose current (granted) consent reached its until since the
 * last step; the point the last step reached is kept in meta, so each is handled once. */

#define S_META_CONSENT_MS "consent_end_ms"     /* until of the last consent handled, or the time of a step that handled all */
#define S_META_CONSENT_CASE "consent_end_case" /* its case id (all 0xff: every case at that time) */

typedef struct {
    uint8_t case_id[ZN_ID_LEN];
    uint64_t seq, until_ms;
} s_ended;

typedef struct {
    s_ended *v;
    size_t n;
} s_ended_list;

static int s_ended_cb(void *ctx, const uint8_t case_id[ZN_ID_LEN], uint64_t seq, uint64_t until_ms)
{
    s_ended_list *x = ctx;
    if (x->n >= ZN_CASES_TICK_MAX)
        return 1;
    s_ended *o = &x->v[x->n++];
    memcpy(o->case_id, case_id, ZN_ID_LEN);
    o->seq = seq, o->until_ms = until_ms;
    return 0;
}

static int s_tick_consent(const zn_cases_env *env, const s_ended *c)
{
    zn_case k;
    int got = zn_store_case_get(env->base.store, c->case_id, &k);
    if (got <= 0)
        return got;
    zn_audit_detail det[] = {zn_det_u64("seq", c->seq), zn_det_u64("until", c->until_ms)};
    return s_entry(env, NULL, "consent-expire", k.id, NULL, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0 ||
                   s_purge(env, &k) < 0
               ? -1
               : 0;
}

/* One step of consent expiry: how many consents ended, or -1. */
static int s_tick_consents(const zn_cases_env *env, s_ended *v)
{
    zn_store *st = env->base.store;
    uint64_t now = env->base.now, after = 0;
    uint8_t after_case[ZN_ID_LEN] = {0};
    if (zn_store_meta_get_u64(st, S_META_CONSENT_MS, &after) < 0 ||
        zn_store_meta_get_blob(st, S_META_CONSENT_CASE, after_case, ZN_ID_LEN) < 0)
        return -1;
    if (after > now) /* the clock went back: what ended up to `after` was handled */
        return 0;
    s_ended_list x = {.v = v};
    if (zn_store_consents_ended(st, after, after_case, now, ZN_CASES_TICK_MAX, s_ended_cb, &x) < 0)
        return -1;
    for (size_t i = 0; i < x.n; i++)
        if (s_tick_consent(env, &v[i]) != 0)
            return -1;
    if (x.n < ZN_CASES_TICK_MAX) { /* every one up to now */
        after = now;
        memset(after_case, 0xff, ZN_ID_LEN);
    } else { /* the next step goes on after the last one */
        after = v[x.n - 1].until_ms;
        memcpy(after_case, v[x.n - 1].case_id, ZN_ID_LEN);
    }
    if (zn_store_meta_set_u64(st, S_META_CONSENT_MS, after) != 0 ||
        zn_store_meta_set_blob(st, S_META_CONSENT_CASE, after_case, ZN_ID_LEN) != 0)
        return -1;
    return (int)x.n;
}

typedef struct {
    const zn_cases_env *env;
    zn_handover_row *v;
    size_t n;
    bool failed;
} s_due_handovers;

static int s_handover_due_cb(void *ctx, const zn_handover_row *r)
{
    s_due_handovers *x = ctx;
    if (x->n >= ZN_CASES_TICK_MAX)
        return 1;
    zn_handover_row w = *r;
    w.escalated = true;
    if (zn_store_handover_put(x->env->base.store, &w) != 0) {
        x->failed = true;
        return 1;
    }
    x->v[x->n] = w;
    x->v[x->n].reason = NULL, x->v[x->n].reason_len = 0;
    x->n++;
    return 0;
}

static int s_tick_handover(const zn_cases_env *env, const zn_handover_row *h)
{
    zn_case k;
    int got = zn_store_case_get(env->base.store, h->case_id, &k);
    if (got < 0)
        return -1;
    zn_audit_detail det[] = {zn_det_id("handover", h->id), zn_det_u64("timeout", h->timeout_ms)};
    const zn_notice_field f[] = {ZN_NF_ID("handover", h->id), ZN_NF_ID("case", h->case_id), ZN_NF_S("from", h->from),
                                 ZN_NF_S("to", h->to), ZN_NF_U("timeout", h->timeout_ms)};
    if (s_entry(env, NULL, "handover-escalate", h->case_id, h->from, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0)
        return -1;
    return got == 1 ? s_tell_all(env, ZN_READ_COORDINATORS, k.network, "handover-escalated", f, S_N(f)) : 0;
}

typedef struct {
    uint8_t (*v)[ZN_ID_LEN];
    size_t n;
} s_ids;

static int s_closed_cb(void *ctx, const uint8_t id[ZN_ID_LEN])
{
    s_ids *x = ctx;
    if (x->n >= ZN_CASES_TICK_MAX)
        return 1;
    memcpy(x->v[x->n++], id, ZN_ID_LEN);
    return 0;
}

static int s_tick_delete(const zn_cases_env *env, const uint8_t id[ZN_ID_LEN])
{
    zn_case k;
    int got = zn_store_case_get(env->base.store, id, &k);
    if (got <= 0)
        return got;
    zn_audit_detail det[] = {zn_det_u64("closed", k.closed_ms)};
    return zn_store_case_delete(env->base.store, id) < 0 ||
                   s_entry(env, NULL, "case-delete", id, NULL, ZN_BASIS_NONE, NULL, det, S_N(det)) != 0
               ? -1
               : 0;
}

int zn_cases_tick(const zn_cases_env *env)
{
    uint64_t now = env->base.now;
    uint64_t keep = env->base.conv->policy.retention_days * S_DAY_MS;
    s_due_overrides ov = {.env = env, .v = malloc(ZN_CASES_TICK_MAX * sizeof *ov.v)};
    s_due_handovers ho = {.env = env, .v = malloc(ZN_CASES_TICK_MAX * sizeof *ho.v)};
    s_ids closed = {.v = malloc(ZN_CASES_TICK_MAX * sizeof *closed.v)};
    s_ended *ended = malloc(ZN_CASES_TICK_MAX * sizeof *ended);
    int rc = -1, n_ended = 0;
    if (!ov.v || !ho.v || !closed.v || !ended)
        goto out;
    if (zn_store_overrides_due(env->base.store, now, ZN_CASES_TICK_MAX, s_override_due_cb, &ov) < 0 || ov.failed)
        goto out;
    for (size_t i = 0; i < ov.n; i++)
        if (s_tick_override(env, &ov.v[i]) != 0)
            goto out;
    if ((n_ended = s_tick_consents(env, ended)) < 0)
        goto out;
    if (zn_store_handovers_due(env->base.store, now, ZN_CASES_TICK_MAX, s_handover_due_cb, &ho) < 0 || ho.failed)
        goto out;
    for (size_t i = 0; i < ho.n; i++)
        if (s_tick_handover(env, &ho.v[i]) != 0)
            goto out;
    if (now > keep &&
        zn_store_cases_closed_before(env->base.store, now - keep, ZN_CASES_TICK_MAX, s_closed_cb, &closed) < 0)
        goto out;
    for (size_t i = 0; i < closed.n; i++)
        if (s_tick_delete(env, closed.v[i]) != 0)
            goto out;
    rc = (int)(ov.n + (size_t)n_ended + ho.n + closed.n);
out:
    free(ov.v), free(ho.v), free(closed.v), free(ended);
    return rc;
}

typedef struct {
    zn_handover_row *v;
    size_t n;
} s_open_list;

static int s_open_cb(void *ctx, const zn_handover_row *r)
{
    s_open_list *x = ctx;
    if (x->n >= ZN_CASES_TICK_MAX)
        return 1;
    x->v[x->n] = *r;
    x->v[x->n].reason = NULL, x->v[x->n].reason_len = 0; /* an open one has none */
    x->n++;
    return 0;
}

int zn_cases_partner_left(const zn_cases_env *env, const char *partner)
{
    zn_handover_row *v = malloc(ZN_CASES_TICK_MAX * sizeof *v);
    int total = 0;
    if (!v)
        return -1;
    for (;;) { /* each one withdrawn is open no more, so the next page starts after it */
        s_open_list x = {.v = v};
        if (zn_store_handovers_open_to(env->base.store, partner, ZN_CASES_TICK_MAX, s_open_cb, &x) < 0) {
            total = -1;
            break;
        }
        for (size_t i = 0; i < x.n && total >= 0; i++)
            total = s_withdraw(env, NULL, &v[i]) != 0 ? -1 : total + 1;
        if (total < 0 || x.n < ZN_CASES_TICK_MAX)
            break;
    }
    free(v);
    return total;
}
