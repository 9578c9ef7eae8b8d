/* zn_consent_report — the consent report of a case and the safety overrides and handovers of a
 * log, from decoded audit entries (see zn_consent_report.h and docs/AUDIT.md, "Consent report and
 * safety overrides"). */
#include "zn_consent_report.h"

#include "zn_case.h"
#include "zn_client_internal.h"
#include "zn_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NOTE_MAX 512

/* ------------------------------------------------------------------ small pieces */

/* Strings live in blocks that are freed together with the report. */
typedef struct s_block {
    struct s_block *next;
    size_t used, cap;
    char data[];
} s_block;

typedef struct {
    s_block *head;
    bool failed;
} s_arena;

#define S_BLOCK 65536u

/* A copy of p[0..n) (NUL-terminated) owned by the arena; "" when memory ran out (a->failed). */
static const char *s_strn(s_arena *a, const char *p, size_t n)
{
    if (!p)
        n = 0;
    if (!a->head || a->head->cap - a->head->used < n + 1) {
        size_t cap = n + 1 > S_BLOCK ? n + 1 : S_BLOCK;
        s_block *b = malloc(sizeof *b + cap);
        if (!b) {
            a->failed = true;
            return "";
        }
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    char *d = a->head->data + a->head->used;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    a->head->used += n + 1;
    return d;
}

static const char *s_str(s_arena *a, const char *s)
{
    return s_strn(a, s, s ? strlen(s) : 0);
}

static void s_arena_free(s_arena *a)
{
    while (a->head) {
        s_block *b = a->head;
        a->head = b->next;
        free(b);
    }
}

/* A list of rows, at most cap kept; the rest counted. */
typedef struct {
    void *v;
    size_t n, alloc;
    uint64_t more;
} s_list;

/* A zeroed slot for one more row, or NULL: over the cap (counted) or out of memory (*oom). */
static void *s_push(s_list *l, size_t size, size_t cap, bool *oom)
{
    if (l->n >= cap) {
        l->more++;
        return NULL;
    }
    if (l->n == l->alloc) {
        size_t alloc = l->alloc ? l->alloc * 2 : 16;
        if (alloc > cap)
            alloc = cap;
        void *v = realloc(l->v, alloc * size);
        if (!v) {
            *oom = true;
            return NULL;
        }
        l->v = v;
        l->alloc = alloc;
    }
    void *slot = (char *)l->v + l->n++ * size;
    memset(slot, 0, size);
    return slot;
}

/* Items found by a 16-byte id at the start of each (overrides): an array and an open
 * addressing index over it (position + 1, 0 empty; slots >= 2 * alloc). */
typedef struct {
    void *v;
    size_t n, alloc;
    uint32_t *slot;
    size_t mask;
} s_track;

static size_t s_hash(const uint8_t id[16])
{
    uint64_t h;
    memcpy(&h, id, sizeof h); /* ids are random */
    return (size_t)(h ^ (h >> 29));
}

static size_t s_track_find(const s_track *t, size_t size, const uint8_t id[16])
{
    size_t i = s_hash(id) & t->mask;
    while (t->slot[i] && memcmp((const char *)t->v + (t->slot[i] - 1) * size, id, 16) != 0)
        i = (i + 1) & t->mask;
    return i;
}

static void *s_track_get(const s_track *t, size_t size, const uint8_t id[16])
{
    if (!t->alloc)
        return NULL;
    size_t i = s_track_find(t, size, id);
    return t->slot[i] ? (char *)t->v + (t->slot[i] - 1) * size : NULL;
}

/* A new zeroed item with this id (not present yet), or NULL: ZN_REPORT_TRACK_MAX reached or
 * out of memory (*oom). */
static void *s_track_add(s_track *t, size_t size, const uint8_t id[16], bool *oom)
{
    if (t->n >= ZN_REPORT_TRACK_MAX)
        return NULL;
    if (t->n == t->alloc) {
        size_t alloc = t->alloc ? t->alloc * 2 : 64;
        void *v = realloc(t->v, alloc * size);
        if (!v) {
            *oom = true;
            return NULL;
        }
        t->v = v;
        uint32_t *slot = calloc(alloc * 2, sizeof *slot);
        if (!slot) {
            *oom = true;
            return NULL;
        }
        free(t->slot);
        t->slot = slot;
        t->alloc = alloc;
        t->mask = alloc * 2 - 1;
        for (size_t k = 0; k < t->n; k++)
            t->slot[s_track_find(t, size, (const uint8_t *)t->v + k * size)] = (uint32_t)(k + 1);
    }
    char *it = (char *)t->v + t->n * size;
    memset(it, 0, size);
    memcpy(it, id, 16);
    t->slot[s_track_find(t, size, id)] = (uint32_t)(++t->n);
    return it;
}

static void s_track_free(s_track *t)
{
    free(t->v);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* ---- entry details */

static const zn_audit_detail *s_detail(const zn_audit_entry *en, const char *key)
{
    for (size_t i = 0; i < en->n_details; i++)
        if (strcmp(en->details[i].key, key) == 0)
            return &en->details[i];
    return NULL;
}

static bool s_u64(const zn_audit_entry *en, const char *key, uint64_t *out)
{
    const zn_audit_detail *d = s_detail(en, key);
    if (!d || d->type != ZN_AUDIT_U64)
        return false;
    *out = d->u64;
    return true;
}

static bool s_id(const zn_audit_entry *en, const char *key, uint8_t out[16])
{
    const zn_audit_detail *d = s_detail(en, key);
    if (!d || d->type != ZN_AUDIT_BIN || d->len != 16)
        return false;
    memcpy(out, d->p, 16);
    return true;
}

/* A text detail (NULL, 0 when absent or not text). */
static const char *s_text(const zn_audit_entry *en, const char *key, size_t *n)
{
    const zn_audit_detail *d = s_detail(en, key);
    if (!d || d->type != ZN_AUDIT_STR) {
        *n = 0;
        return NULL;
    }
    *n = d->len;
    return (const char *)d->p;
}

/* A text detail copied into dst (cap >= 1); "" when absent. false when it does not fit. */
static bool s_text_copy(const zn_audit_entry *en, const char *key, char *dst, size_t cap)
{
    size_t n;
    const char *p = s_text(en, key, &n);
    dst[0] = '\0';
    if (!p)
        return true;
    if (n >= cap)
        return false;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

static bool s_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Append a formatted phrase to note (joined with "; "). */
static void s_note(char *note, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void s_note(char *note, size_t cap, const char *fmt, ...)
{
    size_t k = strlen(note);
    if (k && k + 2 < cap) {
        memcpy(note + k, "; ", 3);
        k += 2;
    }
    if (k + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + k, cap - k, fmt, ap);
    va_end(ap);
}

static void s_hex8(char out[9], const uint8_t id[16])
{
    zn_hex(out, id, 4);
}

/* A consent record from a consent-set entry's details; false (why set) when they break the
 * shapes of zn_case.h (absent text details are empty). */
static bool s_consent_from(const zn_audit_entry *en, zn_consent *c, char *why, size_t cap)
{
    char state[16], scope[ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX + 1], given[64], band[16];
    memset(c, 0, sizeof *c);
    if (!s_text_copy(en, "state", state, sizeof state) || zn_consent_state_parse(state, &c->state) != 0) {
        snprintf(why, cap, "its state is not one of requested, granted, refused, withdrawn");
        return false;
    }
    if (!s_text_copy(en, "scope", scope, sizeof scope)) {
        snprintf(why, cap, "its scope is too long");
        return false;
    }
    for (char *p = scope; *p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (c->n_scope == ZN_CONSENT_SCOPE_MAX || !zn_ident_valid(p)) {
            snprintf(why, cap, "its scope is not a list of at most %d partner ids", ZN_CONSENT_SCOPE_MAX);
            return false;
        }
        memcpy(c->scope[c->n_scope++], p, strlen(p) + 1); /* an identifier: < ZN_IDENT_MAX */
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!s_text_copy(en, "given_by", given, sizeof given) || (given[0] && zn_given_parse(given, &c->given_by) != 0)) {
        snprintf(why, cap, "its given_by is not a list of client, parent, guardian, representative");
        return false;
    }
    if (!s_text_copy(en, "age_band", band, sizeof band) || zn_age_band_parse(band, &c->age_band) != 0) {
        snprintf(why, cap, "its age_band is not 0-11, 12-15 or 16+");
        return false;
    }
    uint64_t until = 0;
    (void)s_u64(en, "until", &until);
    c->until_ms = until;
    return true;
}

/* true when c is granted and not expired at t (the rule of zn_consent_covers, asked for a
 * partner it names). */
static bool s_consent_live(const zn_consent *c, uint64_t t)
{
    return c->state == ZN_CONSENT_GRANTED && c->n_scope > 0 && zn_consent_covers(c, c->scope[0], t);
}

/* ------------------------------------------------------------------ evidence text */

const char *zn_text_status_name(zn_text_status s)
{
    switch (s) {
    case ZN_TEXT_NONE:
        return "none";
    case ZN_TEXT_OPENED:
        return "opened";
    case ZN_TEXT_NOT_FOR_YOU:
        return "not-sealed-to-you";
    case ZN_TEXT_UNREADABLE:
        return "unreadable";
    }
    return "?";
}

static void s_unreadable(zn_evidence_text *out, const char *why)
{
    out->status = ZN_TEXT_UNREADABLE;
    s_note(out->what, sizeof out->what, "%s", why);
}

static void s_mismatch(zn_evidence_text *out, const char *field, const char *req, const char *entry)
{
    char one[128];
    out->mismatch = true;
    snprintf(one, sizeof one, "%s %s in the signed request, %s in the entry", field, req[0] ? req : "(none)",
             entry[0] ? entry : "(none)");
    s_note(out->what, sizeof out->what, "%s", one);
}

/* Compare a 16-byte id of the body with the entry's detail. */
static void s_check_id(zn_evidence_text *out, const zn_audit_entry *en, const char *key, const uint8_t body[16])
{
    uint8_t have[16];
    char a[33], b[33];
    zn_hex(a, body, 16);
    if (!s_id(en, key, have))
        s_mismatch(out, key, a, "");
    else if (memcmp(have, body, 16) != 0) {
        zn_hex(b, have, 16);
        s_mismatch(out, key, a, b);
    }
}

static void s_check_text(zn_evidence_text *out, const zn_audit_entry *en, const char *key, const char *body)
{
    char have[ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX + 1];
    if (!s_text_copy(en, key, have, sizeof have))
        snprintf(have, sizeof have, "(too long)");
    if (strcmp(have, body) != 0)
        s_mismatch(out, key, body, have);
}

static void s_check_u64(zn_evidence_text *out, const zn_audit_entry *en, const char *key, uint64_t body)
{
    uint64_t have = 0;
    char a[24], b[24];
    bool ok = s_u64(en, key, &have);
    if (!ok || have != body) {
        snprintf(a, sizeof a, "%llu", (unsigned long long)body);
        snprintf(b, sizeof b, "%llu", (unsigned long long)have);
        s_mismatch(out, key, a, ok ? b : "");
    }
}

static void s_consent_body_check(zn_evidence_text *out, const zn_audit_entry *en, const zn_consent *c)
{
    char scope[ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX + 1] = "", given[64];
    for (size_t i = 0; i < c->n_scope; i++) {
        size_t k = strlen(scope);
        snprintf(scope + k, sizeof scope - k, "%s%s", i ? "," : "", c->scope[i]);
    }
    zn_given_format(c->given_by, given, sizeof given);
    s_check_text(out, en, "state", zn_consent_state_name(c->state));
    s_check_text(out, en, "scope", scope);
    s_check_text(out, en, "given_by", given);
    s_check_text(out, en, "age_band", zn_age_band_name(c->age_band));
    uint64_t until = 0;
    if (s_u64(en, "until", &until) || c->until_ms)
        s_check_u64(out, en, "until", c->until_ms);
}

/* The sealed text of a request body (the msgpack object) opened with open(ctx, ...). */
static void s_open_sealed(const msgpack_object *sealed, zn_report_open_fn open, void *ctx, zn_evidence_text *out)
{
    zn_sealed s;
    zn_err e;
    zn_err_clear(&e);
    if (zn_sealed_parse(sealed, 1, &s, &e) != 0) {
        out->status = ZN_TEXT_UNREADABLE;
        s_note(out->what, sizeof out->what, "its sealed text cannot be read");
        return;
    }
    out->status = ZN_TEXT_NOT_FOR_YOU;
    if (!open)
        return;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, *sealed) != 0) {
        msgpack_sbuffer_destroy(&sb);
        out->status = ZN_TEXT_UNREADABLE;
        s_note(out->what, sizeof out->what, "its sealed text cannot be read");
        return;
    }
    int rc = open(ctx, (const uint8_t *)sb.data, sb.size, out->text, sizeof out->text);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 1) {
        out->status = ZN_TEXT_OPENED;
        return;
    }
    out->text[0] = '\0';
    if (rc < 0) {
        out->status = ZN_TEXT_UNREADABLE;
        s_note(out->what, sizeof out->what, "its sealed text does not open with this reader's key");
    }
}

void zn_evidence_text_open(const zn_audit_entry *en, zn_report_open_fn open, void *ctx, zn_evidence_text *out)
{
    memset(out, 0, sizeof *out);
    const char *a = en->action;
    bool consent = s_eq(a, "consent-set"), onew = s_eq(a, "override-new"), review = s_eq(a, "override-review"),
         decline = s_eq(a, "handover-decline");
    if (!consent && !onew && !review && !decline)
        return;
    if (!en->evidence_kind || strcmp(en->evidence_kind, "request") != 0 || !en->evidence) {
        s_unreadable(out, "the entry holds no signed request as evidence");
        return;
    }
    zn_doc doc;
    zn_request rq;
    zn_err e;
    zn_err_clear(&e);
    if (zn_request_parse(en->evidence, en->evidence_len, &doc, &rq, &e) != 0) {
        s_unreadable(out, "its evidence is not a readable signed request");
        return;
    }
    if (strcmp(rq.kind, a) != 0) {
        char why[96];
        snprintf(why, sizeof why, "its evidence is a %s request, not %s", rq.kind, a);
        s_unreadable(out, why);
        out->mismatch = true;
        zn_doc_free(&doc);
        return;
    }
    bool allowed = en->decision == ZN_AUDIT_ALLOWED;
    if (en->actor && strcmp(rq.partner, en->actor) != 0)
        s_mismatch(out, "partner", rq.partner, en->actor);
    const msgpack_object *sealed = NULL;
    uint8_t case_id[ZN_ID_LEN], id[ZN_ID_LEN];
    bool has_case = false;
    int rc;
    if (consent) {
        zn_consent c;
        rc = zn_body_consent_set_dec(rq.body, case_id, &c, &sealed, &e);
        has_case = true;
        if (rc == 0 && allowed)
            s_consent_body_check(out, en, &c);
    } else if (onew) {
        zn_override_new_body b;
        rc = zn_body_override_new_dec(rq.body, &b, &sealed, &e);
        if (rc == 0) {
            memcpy(case_id, b.case_id, ZN_ID_LEN);
            has_case = true;
        }
        if (rc == 0 && allowed) {
            s_check_id(out, en, "override", b.id);
            if (!s_eq(en->counterpart, b.to))
                s_mismatch(out, "to", b.to, en->counterpart ? en->counterpart : "");
            s_check_u64(out, en, "step", b.step);
        }
    } else if (review) {
        bool approve = false;
        rc = zn_body_override_review_dec(rq.body, id, &approve, &sealed, &e);
        if (rc == 0 && allowed) {
            s_check_id(out, en, "override", id);
            s_check_text(out, en, "state", approve ? "approved" : "rejected");
        }
    } else {
        rc = zn_body_handover_decline_dec(rq.body, id, &sealed, &e);
        if (rc == 0 && allowed)
            s_check_id(out, en, "handover", id);
    }
    if (rc != 0) {
        char why[160];
        snprintf(why, sizeof why, "its signed request's body cannot be read (%.100s)", e.text);
        s_unreadable(out, why);
        zn_doc_free(&doc);
        return;
    }
    if (has_case && allowed && (!en->case_id || memcmp(en->case_id, case_id, ZN_ID_LEN) != 0)) {
        char x[33], y[33] = "";
        zn_hex(x, case_id, ZN_ID_LEN);
        if (en->case_id)
            zn_hex(y, en->case_id, ZN_ID_LEN);
        s_mismatch(out, "case", x, y);
    }
    if (sealed)
        s_open_sealed(sealed, open, ctx, out);
    zn_doc_free(&doc);
}

/* ------------------------------------------------------------------ consent report */

const char *zn_crep_class_name(zn_crep_class c)
{
    switch (c) {
    case ZN_CREP_CONSENT:
        return "consent";
    case ZN_CREP_OVERRIDE:
        return "safety-override";
    case ZN_CREP_ANONYMOUS:
        return "anonymous";
    case ZN_CREP_REFUSED:
        return "refused";
    case ZN_CREP_INCONSISTENT:
        return "inconsistent";
    }
    return "?";
}

typedef struct {
    uint64_t seq, index;
    zn_consent_state state;
    bool readable;
} s_hist;

typedef struct {
    uint8_t id[16]; /* first: the track's key */
    char author[ZN_IDENT_MAX], to[ZN_IDENT_MAX];
    uint64_t expires_ms;
    zn_override_state state;
    uint64_t end_index; /* the review or expiry that ended it */
} s_ovr;

enum { S_UNKNOWN = 0, S_ANON, S_IDENT };

struct zn_crep {
    size_t cap;
    s_arena a;
    bool oom;
    uint64_t entries;
    bool has_case_new;
    uint64_t created_ms, closed_ms;
    char network[ZN_IDENT_MAX], creator[ZN_IDENT_MAX], regisseur[ZN_IDENT_MAX];
    int identified; /* S_* */
    /* the consent in force: the latest record, and the partner that recorded it */
    bool has_cur, cur_readable;
    uint64_t cur_seq, cur_index;
    zn_consent cur;
    char cur_by[ZN_IDENT_MAX];
    s_hist *hist;
    size_t n_hist, alloc_hist;
    uint64_t last_seq;
    s_track ovr;
    /* the change right before (for drops) */
    bool has_cause;
    uint64_t cause_index;
    char cause[64];
    s_list consent, relied, overrides, anonymous, refused, inconsistent, drops;
};

zn_crep *zn_crep_new(size_t cap)
{
    zn_crep *r = calloc(1, sizeof *r);
    if (r)
        r->cap = cap ? cap : ZN_REPORT_CAP_DEFAULT;
    return r;
}

void zn_crep_free(zn_crep **rp)
{
    if (!rp || !*rp)
        return;
    zn_crep *r = *rp;
    s_list *lists[] = {&r->consent, &r->relied, &r->overrides, &r->anonymous, &r->refused, &r->inconsistent,
                       &r->drops};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        free(lists[i]->v);
    free(r->hist);
    s_track_free(&r->ovr);
    s_arena_free(&r->a);
    free(r);
    *rp = NULL;
}

static bool s_is_exchange(const char *a)
{
    return s_eq(a, "send") || s_eq(a, "handover-offer") || s_eq(a, "handover-accept") || s_eq(a, "case-link");
}

#define S_LIST_MAX (ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX + 1)

/* The fields every row shows, borrowed from the entry (told: room for the partners told of a
 * link); s_add_row copies what it keeps. */
static void s_fill(const zn_audit_entry *en, zn_crep_exchange *x, char told[S_LIST_MAX])
{
    const char *act = en->action;
    x->index = en->index;
    x->time_ms = en->time_ms;
    x->action = act;
    x->actor = en->actor ? en->actor : "";
    x->handler = en->handler ? en->handler : "";
    x->counterpart = en->counterpart ? en->counterpart : "";
    x->basis = en->basis ? en->basis : "";
    x->reason = en->reason ? en->reason : "";
    x->from = x->to = "";
    if (s_eq(act, "send") || s_eq(act, "handover-offer")) {
        x->from = x->actor;
        x->to = x->counterpart;
    } else if (s_eq(act, "handover-accept")) {
        x->from = x->counterpart;
        x->to = x->actor;
    } else if (s_eq(act, "case-link")) {
        if (!s_text_copy(en, "told", told, S_LIST_MAX))
            snprintf(told, S_LIST_MAX, "?");
        x->from = x->actor;
        x->to = told;
    }
    x->has_consent = s_u64(en, "consent", &x->consent_seq);
    x->consent_state = "";
    x->has_override = s_id(en, "override", x->override_id);
    x->override_state = "";
    x->ref_name = "";
    if (s_eq(act, "send") && (x->has_ref = s_id(en, "item", x->ref)))
        x->ref_name = "item";
    else if ((s_eq(act, "handover-offer") || s_eq(act, "handover-accept")) &&
             (x->has_ref = s_id(en, "handover", x->ref)))
        x->ref_name = "handover";
    uint64_t checked = 0;
    x->i_checked = s_u64(en, "i_checked", &checked) && checked == 1;
}

static const s_hist *s_hist_find(const zn_crep *r, uint64_t seq)
{
    for (size_t i = r->n_hist; i-- > 0;)
        if (r->hist[i].seq == seq)
            return &r->hist[i];
    return NULL;
}

/* The rule of the broker's traffic table: the record in force covers the partners in its
 * scope, and the partner that recorded it while that partner still holds the case; not a later
 * regisseur (after a handover) that did not record it. */
static bool s_covered(const zn_crep *r, const char *to, uint64_t t)
{
    bool recorder = r->cur_by[0] && strcmp(to, r->cur_by) == 0 && strcmp(r->cur_by, r->regisseur) == 0;
    return zn_consent_covers(&r->cur, to, t) || (recorder && s_consent_live(&r->cur, t));
}

/* Why `to`, outside the record's scope, was not covered either as the one that recorded it. */
static void s_not_covered(const zn_crep *r, const char *to, unsigned long long seq, char *note, size_t cap)
{
    bool regisseur = r->regisseur[0] && strcmp(to, r->regisseur) == 0;
    bool recorder = r->cur_by[0] && strcmp(to, r->cur_by) == 0;
    if (regisseur && !recorder)
        s_note(note, cap,
               "%s was not in the scope of consent record %llu, which %s recorded (the regisseur is covered "
               "only by a record it recorded itself)",
               to, seq, r->cur_by[0] ? r->cur_by : "another partner");
    else if (recorder && !regisseur)
        s_note(note, cap,
               "%s was not in the scope of consent record %llu, and no longer held the case it recorded that "
               "record on",
               to, seq);
    else
        s_note(note, cap, "%s was not in the scope of consent record %llu", to, seq);
}

/* basis consent: the record claimed must be the one in force, granted, unexpired, and cover
 * every partner the exchange reached. */
static zn_crep_class s_check_consent(const zn_crep *r, zn_crep_exchange *x, char *note, size_t cap)
{
    const s_hist *h = x->has_consent ? s_hist_find(r, x->consent_seq) : NULL;
    if (h)
        x->consent_state = zn_consent_state_name(h->state);
    if (!x->has_consent) {
        s_note(note, cap, "basis consent, but the entry does not name the consent record it relied on");
        return ZN_CREP_INCONSISTENT;
    }
    unsigned long long seq = (unsigned long long)x->consent_seq;
    if (!r->has_cur) {
        s_note(note, cap, "it relies on consent record %llu, but no consent was recorded on the case before it",
               seq);
        return ZN_CREP_INCONSISTENT;
    }
    if (x->consent_seq != r->cur_seq) {
        if (h)
            s_note(note, cap, "consent record %llu was not in force: record %llu (%s, entry #%llu) had replaced it",
                   seq, (unsigned long long)r->cur_seq, zn_consent_state_name(r->cur.state),
                   (unsigned long long)r->cur_index);
        else
            s_note(note, cap, "consent record %llu is not in the case's history (the record in force was %llu)",
                   seq, (unsigned long long)r->cur_seq);
        return ZN_CREP_INCONSISTENT;
    }
    if (!r->cur_readable) {
        s_note(note, cap, "consent record %llu cannot be read (its details break the rules)", seq);
        return ZN_CREP_INCONSISTENT;
    }
    if (r->cur.state != ZN_CONSENT_GRANTED) {
        s_note(note, cap, "consent record %llu was %s, not granted", seq, zn_consent_state_name(r->cur.state));
        return ZN_CREP_INCONSISTENT;
    }
    if (r->cur.n_scope == 0) {
        s_note(note, cap, "consent record %llu names nobody in its scope", seq);
        return ZN_CREP_INCONSISTENT;
    }
    if (!s_consent_live(&r->cur, x->time_ms)) {
        char iso[ZN_ISO_TIME_LEN];
        zn_iso_time(iso, r->cur.until_ms);
        s_note(note, cap, "consent record %llu had expired (until %s)", seq, iso);
        return ZN_CREP_INCONSISTENT;
    }
    zn_crep_class cls = ZN_CREP_CONSENT;
    /* the partners reached: one, or those told of a link (a comma list) */
    char to[ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX + 1];
    snprintf(to, sizeof to, "%s", x->to);
    for (char *p = to; *p;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!s_covered(r, p, x->time_ms)) {
            s_not_covered(r, p, seq, note, cap);
            cls = ZN_CREP_INCONSISTENT;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!to[0] && !s_eq(x->action, "case-link")) {
        s_note(note, cap, "the entry does not name the partner it reached");
        cls = ZN_CREP_INCONSISTENT;
    }
    if (r->identified == S_ANON && !s_eq(x->action, "case-link")) {
        s_note(note, cap, "the case was anonymous at the time: its traffic has basis anonymous");
        cls = ZN_CREP_INCONSISTENT;
    }
    return cls;
}

/* basis safety-override: an override between the two partners (either direction) that was
 * pending or approved and unexpired at the time. */
static zn_crep_class s_check_override(const zn_crep *r, zn_crep_exchange *x, char *note, size_t cap)
{
    char hex[33];
    if (!x->has_override) {
        s_note(note, cap, "basis safety-override, but the entry does not name the override it relied on");
        return ZN_CREP_INCONSISTENT;
    }
    zn_hex(hex, x->override_id, 16);
    const s_ovr *o = s_track_get(&r->ovr, sizeof(s_ovr), x->override_id);
    if (!o) {
        if (r->ovr.n >= ZN_REPORT_TRACK_MAX)
            return ZN_CREP_OVERRIDE; /* beyond what is tracked: nothing to hold it against */
        s_note(note, cap, "override %s is not in this case's log (never recorded on it, or redacted)", hex);
        return ZN_CREP_INCONSISTENT;
    }
    bool expired = o->state == ZN_OVERRIDE_EXPIRED || (o->expires_ms && x->time_ms >= o->expires_ms);
    x->override_state = zn_override_state_name(expired ? ZN_OVERRIDE_EXPIRED : o->state);
    zn_crep_class cls = ZN_CREP_OVERRIDE;
    bool pair = (s_eq(x->from, o->author) && s_eq(x->to, o->to)) || (s_eq(x->from, o->to) && s_eq(x->to, o->author));
    if (!pair) {
        s_note(note, cap, "override %s is from %s to %s, not between %s and %s", hex, o->author, o->to,
               x->from[0] ? x->from : "-", x->to[0] ? x->to : "-");
        cls = ZN_CREP_INCONSISTENT;
    }
    if (o->state == ZN_OVERRIDE_REJECTED) {
        s_note(note, cap, "override %s had been rejected (entry #%llu)", hex, (unsigned long long)o->end_index);
        cls = ZN_CREP_INCONSISTENT;
    } else if (expired) {
        char iso[ZN_ISO_TIME_LEN];
        zn_iso_time(iso, o->expires_ms);
        s_note(note, cap, "override %s had expired (%s)", hex, iso);
        cls = ZN_CREP_INCONSISTENT;
    }
    if (s_eq(x->action, "case-link")) {
        s_note(note, cap, "a link relies on consent alone");
        cls = ZN_CREP_INCONSISTENT;
    }
    if (r->identified == S_ANON) {
        s_note(note, cap, "the case was anonymous at the time: its traffic has basis anonymous");
        cls = ZN_CREP_INCONSISTENT;
    }
    return cls;
}

static zn_crep_class s_classify(const zn_crep *r, zn_crep_exchange *x, char *note, size_t cap)
{
    if (s_eq(x->basis, "consent"))
        return s_check_consent(r, x, note, cap);
    if (s_eq(x->basis, "safety-override"))
        return s_check_override(r, x, note, cap);
    if (s_eq(x->basis, "anonymous")) {
        if (s_eq(x->action, "case-link")) {
            s_note(note, cap, "a link relies on consent alone");
            return ZN_CREP_INCONSISTENT;
        }
        if (r->identified == S_IDENT) {
            s_note(note, cap, "the case was identified at the time: anonymous traffic needs an anonymous case");
            return ZN_CREP_INCONSISTENT;
        }
        return ZN_CREP_ANONYMOUS;
    }
    if (!x->basis[0])
        s_note(note, cap, "no legal basis recorded for an allowed exchange");
    else
        s_note(note, cap, "unknown legal basis '%s'", x->basis);
    return ZN_CREP_INCONSISTENT;
}

static s_list *s_list_of(zn_crep *r, zn_crep_class c)
{
    switch (c) {
    case ZN_CREP_CONSENT:
        return &r->relied;
    case ZN_CREP_OVERRIDE:
        return &r->overrides;
    case ZN_CREP_ANONYMOUS:
        return &r->anonymous;
    case ZN_CREP_REFUSED:
        return &r->refused;
    case ZN_CREP_INCONSISTENT:
        break;
    }
    return &r->inconsistent;
}

/* Keep the row in its class's list (when under the cap), with copies of its strings. */
static void s_add_row(zn_crep *r, const zn_crep_exchange *x, const char *note)
{
    zn_crep_exchange *k = s_push(s_list_of(r, x->cls), sizeof *k, r->cap, &r->oom);
    if (!k)
        return;
    s_arena *a = &r->a;
    bool from_actor = x->from == x->actor, to_actor = x->to == x->actor;
    bool from_cp = x->from == x->counterpart, to_cp = x->to == x->counterpart;
    *k = *x;
    k->action = s_str(a, x->action);
    k->actor = s_str(a, x->actor);
    k->handler = s_str(a, x->handler);
    k->counterpart = s_str(a, x->counterpart);
    k->basis = s_str(a, x->basis);
    k->reason = s_str(a, x->reason);
    k->from = from_actor ? k->actor : from_cp ? k->counterpart : s_str(a, x->from);
    k->to = to_actor ? k->actor : to_cp ? k->counterpart : s_str(a, x->to);
    k->note = note && note[0] ? s_str(a, note) : NULL;
}

static void s_on_exchange(zn_crep *r, const zn_audit_entry *en)
{
    zn_crep_exchange x;
    char note[S_NOTE_MAX] = "", told[S_LIST_MAX];
    memset(&x, 0, sizeof x);
    s_fill(en, &x, told);
    x.cls = s_classify(r, &x, note, sizeof note);
    s_add_row(r, &x, x.cls == ZN_CREP_INCONSISTENT ? note : NULL);
    if (s_eq(en->action, "case-link"))
        r->identified = S_IDENT;
    if (s_eq(en->action, "handover-accept") && en->actor) {
        snprintf(r->regisseur, sizeof r->regisseur, "%s", en->actor);
        /* the change of holder stops what the old regisseur's consent no longer covers: the
         * cause of the drops that follow */
        char hex[9] = "?";
        if (x.has_ref)
            s_hex8(hex, x.ref);
        snprintf(r->cause, sizeof r->cause, "handover %s accepted", hex);
        r->has_cause = true;
        r->cause_index = en->index;
    }
}

static void s_on_consent(zn_crep *r, const zn_audit_entry *en, const zn_evidence_text *ev)
{
    s_arena *a = &r->a;
    char note[S_NOTE_MAX] = "", why[128] = "";
    zn_consent c;
    bool readable = s_consent_from(en, &c, why, sizeof why);
    uint64_t seq = 0;
    bool has_seq = s_u64(en, "seq", &seq);
    size_t n;
    const char *p;

    if (!readable)
        s_note(note, sizeof note, "the record's details cannot be read: %s", why);
    if (!has_seq)
        s_note(note, sizeof note, "the record has no seq");
    else if (r->last_seq && seq <= r->last_seq)
        s_note(note, sizeof note, "seq %llu does not follow seq %llu", (unsigned long long)seq,
               (unsigned long long)r->last_seq);
    if (r->regisseur[0] && en->actor && strcmp(en->actor, r->regisseur) != 0)
        s_note(note, sizeof note, "recorded by %s, who was not the regisseur (%s)", en->actor, r->regisseur);
    if (ev && ev->mismatch)
        s_note(note, sizeof note, "the signed request differs: %s", ev->what);
    else if (ev && ev->status == ZN_TEXT_UNREADABLE)
        s_note(note, sizeof note, "%s", ev->what);

    zn_crep_consent *row = s_push(&r->consent, sizeof *row, r->cap, &r->oom);
    if (row) {
        row->index = en->index;
        row->time_ms = en->time_ms;
        row->actor = s_str(a, en->actor);
        row->handler = s_str(a, en->handler);
        row->seq = seq;
        p = s_text(en, "state", &n);
        row->state = p ? s_strn(a, p, n) : "?";
        p = s_text(en, "scope", &n);
        row->scope = s_strn(a, p, n);
        p = s_text(en, "given_by", &n);
        row->given_by = s_strn(a, p, n);
        p = s_text(en, "age_band", &n);
        row->age_band = s_strn(a, p, n);
        (void)s_u64(en, "until", &row->until_ms);
        row->purpose_status = ev ? ev->status : ZN_TEXT_NONE;
        row->purpose = ev && ev->status == ZN_TEXT_OPENED ? s_str(a, ev->text) : "";
        row->note = note[0] ? s_str(a, note) : NULL;
    }
    if (note[0]) {
        zn_crep_exchange x;
        char told[S_LIST_MAX];
        memset(&x, 0, sizeof x);
        s_fill(en, &x, told);
        x.cls = ZN_CREP_INCONSISTENT;
        x.has_consent = has_seq;
        x.consent_seq = seq;
        x.consent_state = readable ? zn_consent_state_name(c.state) : "";
        s_add_row(r, &x, note);
    }
    /* the record is in force from here on, as the broker accepted it */
    r->has_cur = true;
    r->cur_readable = readable;
    r->cur = c;
    r->cur_seq = seq;
    r->cur_index = en->index;
    snprintf(r->cur_by, sizeof r->cur_by, "%s", en->actor ? en->actor : "");
    if (has_seq && seq > r->last_seq)
        r->last_seq = seq;
    if (r->n_hist < ZN_REPORT_TRACK_MAX) {
        if (r->n_hist == r->alloc_hist) {
            size_t alloc = r->alloc_hist ? r->alloc_hist * 2 : 16;
            s_hist *h = realloc(r->hist, alloc * sizeof *h);
            if (!h) {
                r->oom = true;
                return;
            }
            r->hist = h;
            r->alloc_hist = alloc;
        }
        r->hist[r->n_hist++] = (s_hist){.seq = seq, .index = en->index, .state = c.state, .readable = readable};
    }
    snprintf(r->cause, sizeof r->cause, "consent %llu %s", (unsigned long long)seq,
             readable ? zn_consent_state_name(c.state) : "(unreadable)");
    r->has_cause = true;
    r->cause_index = en->index;
}

/* Mark the exchange that queued item as dropped; its index, or false. */
static bool s_mark_dropped(zn_crep *r, const uint8_t item[16], uint64_t *index)
{
    s_list *lists[] = {&r->relied, &r->overrides, &r->anonymous, &r->inconsistent};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        zn_crep_exchange *v = lists[k]->v;
        for (size_t i = lists[k]->n; i-- > 0;)
            if (v[i].has_ref && strcmp(v[i].ref_name, "item") == 0 && memcmp(v[i].ref, item, 16) == 0) {
                v[i].dropped = true;
                *index = v[i].index;
                return true;
            }
    }
    return false;
}

static void s_on_drop(zn_crep *r, const zn_audit_entry *en)
{
    s_arena *a = &r->a;
    zn_crep_drop *d = s_push(&r->drops, sizeof *d, r->cap, &r->oom);
    uint8_t item[16];
    bool has_item = s_id(en, "item", item);
    uint64_t send = 0;
    bool has_send = has_item && s_mark_dropped(r, item, &send);
    bool caused = r->has_cause && !s_eq(en->reason, "not-in-convenant");
    if (!d)
        return;
    size_t n;
    const char *sender = s_text(en, "sender", &n);
    d->index = en->index;
    d->time_ms = en->time_ms;
    d->recipient = s_str(a, en->counterpart);
    d->sender = s_strn(a, sender, n);
    d->reason = s_str(a, en->reason);
    d->has_item = has_item;
    if (has_item)
        memcpy(d->item, item, 16);
    d->has_msgid = s_id(en, "msgid", d->msgid);
    d->has_cause = caused;
    d->cause_index = caused ? r->cause_index : 0;
    d->cause = caused ? s_str(a, r->cause) : "";
    d->has_send = has_send;
    d->send_index = send;
}

/* Track an override; true when the entry stops what relied on it (a rejection, an expiry):
 * the cause of the drops that follow. */
static bool s_on_override(zn_crep *r, const zn_audit_entry *en)
{
    uint8_t id[16];
    char hex[9];
    if (!s_id(en, "override", id))
        return false;
    s_ovr *o = s_track_get(&r->ovr, sizeof *o, id);
    if (s_eq(en->action, "override-new")) {
        if (o || !(o = s_track_add(&r->ovr, sizeof *o, id, &r->oom)))
            return false;
        snprintf(o->author, sizeof o->author, "%s", en->actor ? en->actor : "");
        snprintf(o->to, sizeof o->to, "%s", en->counterpart ? en->counterpart : "");
        (void)s_u64(en, "expires", &o->expires_ms);
        o->state = ZN_OVERRIDE_PENDING;
        return false;
    }
    s_hex8(hex, id);
    if (s_eq(en->action, "override-review")) {
        size_t n;
        const char *st = s_text(en, "state", &n);
        bool rejected = st && n == 8 && memcmp(st, "rejected", 8) == 0;
        if (o && o->state != ZN_OVERRIDE_EXPIRED) {
            o->state = rejected ? ZN_OVERRIDE_REJECTED : ZN_OVERRIDE_APPROVED;
            o->end_index = en->index;
        }
        if (!rejected)
            return false;
        snprintf(r->cause, sizeof r->cause, "override %s rejected", hex);
    } else { /* override-expire */
        if (o && o->state != ZN_OVERRIDE_REJECTED) {
            o->state = ZN_OVERRIDE_EXPIRED;
            o->end_index = en->index;
        }
        snprintf(r->cause, sizeof r->cause, "override %s expired", hex);
    }
    r->has_cause = true;
    r->cause_index = en->index;
    return true;
}

static void s_on_case(zn_crep *r, const zn_audit_entry *en)
{
    const char *a = en->action;
    if (s_eq(a, "case-new")) {
        r->has_case_new = true;
        r->created_ms = en->time_ms;
        snprintf(r->creator, sizeof r->creator, "%s", en->actor ? en->actor : "");
        snprintf(r->regisseur, sizeof r->regisseur, "%s", en->actor ? en->actor : "");
        if (!s_text_copy(en, "network", r->network, sizeof r->network))
            r->network[0] = '\0';
        r->identified = s_detail(en, "subject") ? S_IDENT : S_ANON;
    } else if (s_eq(a, "case-close") || s_eq(a, "case-delete")) {
        uint64_t closed = 0;
        if (!s_u64(en, "closed", &closed) || !closed)
            closed = en->time_ms;
        if (!r->closed_ms)
            r->closed_ms = closed;
    }
}

int zn_crep_feed(zn_crep *r, const zn_audit_entry *en, const zn_evidence_text *ev)
{
    const char *a = en->action;
    bool cause = false;
    r->entries++;
    if (en->decision != ZN_AUDIT_ALLOWED) {
        zn_crep_exchange x;
        char told[S_LIST_MAX];
        memset(&x, 0, sizeof x);
        s_fill(en, &x, told);
        x.cls = ZN_CREP_REFUSED;
        s_add_row(r, &x, NULL);
    } else if (s_is_exchange(a)) {
        s_on_exchange(r, en);
        cause = s_eq(a, "handover-accept") && en->actor;
    } else if (s_eq(a, "consent-set")) {
        s_on_consent(r, en, ev);
        cause = true;
    } else if (s_eq(a, "drop")) {
        s_on_drop(r, en);
        cause = r->has_cause; /* one change stops several items: they follow it */
    } else if (s_eq(a, "override-new") || s_eq(a, "override-review") || s_eq(a, "override-expire")) {
        cause = s_on_override(r, en);
    } else if (s_eq(a, "consent-expire")) {
        /* the broker's clock: the record in force reached its until; what was queued on it stops */
        uint64_t seq = 0;
        if (s_u64(en, "seq", &seq))
            snprintf(r->cause, sizeof r->cause, "consent %llu expired", (unsigned long long)seq);
        else
            snprintf(r->cause, sizeof r->cause, "consent expired");
        r->has_cause = true;
        r->cause_index = en->index;
        cause = true;
    } else {
        s_on_case(r, en);
    }
    if (!cause)
        r->has_cause = false;
    return r->oom || r->a.failed ? -1 : 0;
}

void zn_crep_view_get(const zn_crep *r, zn_crep_view *v)
{
    memset(v, 0, sizeof *v);
    v->entries = r->entries;
    v->has_case_new = r->has_case_new;
    v->created_ms = r->created_ms;
    v->closed_ms = r->closed_ms;
    v->network = r->network;
    v->creator = r->creator;
    v->regisseur = r->regisseur;
    v->identified = r->identified == S_IDENT;
    v->consent_seq = r->has_cur ? r->cur_seq : 0;
    v->consent_state = r->has_cur ? (r->cur_readable ? zn_consent_state_name(r->cur.state) : "?") : "none";
#define S_VIEW(field, list)                                                                                  \
    do {                                                                                                     \
        v->field = r->list.v;                                                                                \
        v->n_##field.n = r->list.n;                                                                          \
        v->n_##field.more = r->list.more;                                                                    \
    } while (0)
    S_VIEW(consent, consent);
    S_VIEW(relied, relied);
    S_VIEW(overrides, overrides);
    S_VIEW(anonymous, anonymous);
    S_VIEW(refused, refused);
    S_VIEW(inconsistent, inconsistent);
    S_VIEW(drops, drops);
#undef S_VIEW
}

/* ------------------------------------------------------------------ overrides and handovers of a log */

typedef struct {
    uint8_t id[16]; /* first: the track's key */
    size_t row;     /* position in the overrides list + 1; 0: over the cap */
} s_orow;

struct zn_orep {
    size_t cap;
    s_arena a;
    bool oom;
    s_track ids;
    s_list overrides, orphans, handovers, declines;
    s_list *events; /* per kept override, parallel to overrides */
    size_t alloc_events;
};

zn_orep *zn_orep_new(size_t cap)
{
    zn_orep *r = calloc(1, sizeof *r);
    if (r)
        r->cap = cap ? cap : ZN_REPORT_CAP_DEFAULT;
    return r;
}

void zn_orep_free(zn_orep **rp)
{
    if (!rp || !*rp)
        return;
    zn_orep *r = *rp;
    for (size_t i = 0; i < r->overrides.n; i++)
        free(r->events[i].v);
    free(r->events);
    free(r->overrides.v);
    free(r->orphans.v);
    free(r->handovers.v);
    free(r->declines.v);
    s_track_free(&r->ids);
    s_arena_free(&r->a);
    free(r);
    *rp = NULL;
}

static void s_mismatch_of(zn_orep *r, const zn_evidence_text *ev, const char **out)
{
    *out = NULL;
    if (ev && (ev->mismatch || ev->status == ZN_TEXT_UNREADABLE) && ev->what[0])
        *out = s_str(&r->a, ev->what);
}

static void s_orep_new(zn_orep *r, const zn_audit_entry *en, const uint8_t id[16], const zn_evidence_text *ev)
{
    s_arena *a = &r->a;
    if (s_track_get(&r->ids, sizeof(s_orow), id))
        return; /* the same override twice: the first stands */
    s_orow *t = s_track_add(&r->ids, sizeof *t, id, &r->oom);
    if (r->overrides.n < r->cap && r->overrides.n == r->alloc_events) {
        size_t alloc = r->alloc_events ? r->alloc_events * 2 : 16;
        s_list *ev2 = realloc(r->events, alloc * sizeof *ev2);
        if (!ev2) {
            r->oom = true;
            return;
        }
        r->events = ev2;
        r->alloc_events = alloc;
    }
    zn_orep_override *o = s_push(&r->overrides, sizeof *o, r->cap, &r->oom);
    if (!o)
        return;
    memset(&r->events[r->overrides.n - 1], 0, sizeof r->events[0]);
    if (t)
        t->row = r->overrides.n;
    memcpy(o->id, id, 16);
    if ((o->has_case = en->case_id != NULL))
        memcpy(o->case_id, en->case_id, 16);
    o->index = en->index;
    o->time_ms = en->time_ms;
    o->author = s_str(a, en->actor);
    o->handler = s_str(a, en->handler);
    o->to = s_str(a, en->counterpart);
    (void)s_u64(en, "step", &o->step);
    o->step_name = zn_meldcode_step_name(o->step);
    (void)s_u64(en, "expires", &o->expires_ms);
    (void)s_u64(en, "review_by", &o->review_by_ms);
    o->justification_status = ev ? ev->status : ZN_TEXT_NONE;
    o->justification = ev && ev->status == ZN_TEXT_OPENED ? s_str(a, ev->text) : "";
    s_mismatch_of(r, ev, &o->mismatch);
    o->state = "pending";
}

static void s_orep_event(zn_orep *r, const zn_audit_entry *en, const uint8_t id[16], const zn_evidence_text *ev)
{
    s_arena *a = &r->a;
    const s_orow *t = s_track_get(&r->ids, sizeof *t, id);
    zn_orep_override *o = t && t->row ? &((zn_orep_override *)r->overrides.v)[t->row - 1] : NULL;
    bool review = s_eq(en->action, "override-review"), expire = s_eq(en->action, "override-expire");
    size_t n;
    const char *st = s_text(en, "state", &n);
    /* the two states a review records; anything else is copied when the event is kept */
    const char *state = !review ? ""
                        : st && n == 8 && memcmp(st, "approved", 8) == 0 ? "approved"
                        : st && n == 8 && memcmp(st, "rejected", 8) == 0 ? "rejected"
                                                                          : NULL;
    if (o) { /* the state as the log leaves it */
        if (review && strcmp(o->state, "expired") != 0 && (s_eq(state, "approved") || s_eq(state, "rejected")))
            o->state = state;
        else if (expire && strcmp(o->state, "rejected") != 0)
            o->state = "expired";
        else if (!review && !expire)
            o->escalated = true;
    }
    zn_orep_event *e;
    if (o) {
        s_list *l = &r->events[t->row - 1];
        e = s_push(l, sizeof *e, ZN_REPORT_EVENTS_MAX, &r->oom);
        o->events = l->v;
        o->n_events = l->n;
        o->more_events = l->more;
    } else {
        e = s_push(&r->orphans, sizeof *e, r->cap, &r->oom);
    }
    if (!e)
        return;
    e->index = en->index;
    e->time_ms = en->time_ms;
    memcpy(e->override_id, id, 16);
    if ((e->has_case = en->case_id != NULL))
        memcpy(e->case_id, en->case_id, 16);
    e->action = s_str(a, en->action);
    e->actor = s_str(a, en->actor);
    e->handler = s_str(a, en->handler);
    e->state = state ? state : s_strn(a, st, n);
    uint64_t late = 0;
    e->late = review && s_u64(en, "late", &late) && late == 1;
    (void)s_u64(en, "review_by", &e->review_by_ms);
    e->note_status = review && ev ? ev->status : ZN_TEXT_NONE;
    e->note = review && ev && ev->status == ZN_TEXT_OPENED ? s_str(a, ev->text) : "";
    if (review)
        s_mismatch_of(r, ev, &e->mismatch);
}

/* A handover-decline: who declined whose offer, and the reason opened from the evidence. */
static void s_orep_decline(zn_orep *r, const zn_audit_entry *en, const zn_evidence_text *ev)
{
    s_arena *a = &r->a;
    zn_orep_decline *d = s_push(&r->declines, sizeof *d, r->cap, &r->oom);
    if (!d)
        return;
    d->index = en->index;
    d->time_ms = en->time_ms;
    if ((d->has_case = en->case_id != NULL))
        memcpy(d->case_id, en->case_id, 16);
    d->has_handover = s_id(en, "handover", d->handover);
    d->by = s_str(a, en->actor);
    d->handler = s_str(a, en->handler);
    d->offered_by = s_str(a, en->counterpart);
    d->reason_status = ev ? ev->status : ZN_TEXT_NONE;
    d->reason = ev && ev->status == ZN_TEXT_OPENED ? s_str(a, ev->text) : "";
    s_mismatch_of(r, ev, &d->mismatch);
}

int zn_orep_feed(zn_orep *r, const zn_audit_entry *en, const zn_evidence_text *ev)
{
    const char *a = en->action;
    uint8_t id[16];
    if (en->decision != ZN_AUDIT_ALLOWED)
        return 0;
    if (s_eq(a, "handover-escalate")) {
        zn_orep_escalation *h = s_push(&r->handovers, sizeof *h, r->cap, &r->oom);
        if (h) {
            h->index = en->index;
            h->time_ms = en->time_ms;
            if ((h->has_case = en->case_id != NULL))
                memcpy(h->case_id, en->case_id, 16);
            h->from = s_str(&r->a, en->counterpart);
            h->has_handover = s_id(en, "handover", h->handover);
            (void)s_u64(en, "timeout", &h->timeout_ms);
        }
    } else if (s_eq(a, "handover-decline")) {
        s_orep_decline(r, en, ev);
    } else if (s_eq(a, "override-new") || s_eq(a, "override-review") || s_eq(a, "override-escalate") ||
               s_eq(a, "override-expire")) {
        if (!s_id(en, "override", id))
            return 0;
        if (s_eq(a, "override-new"))
            s_orep_new(r, en, id, ev);
        else
            s_orep_event(r, en, id, ev);
    }
    return r->oom || r->a.failed ? -1 : 0;
}

void zn_orep_view_get(const zn_orep *r, zn_orep_view *v)
{
    memset(v, 0, sizeof *v);
    v->overrides = r->overrides.v;
    v->n_overrides.n = r->overrides.n;
    v->n_overrides.more = r->overrides.more;
    v->orphans = r->orphans.v;
    v->n_orphans.n = r->orphans.n;
    v->n_orphans.more = r->orphans.more;
    v->handovers = r->handovers.v;
    v->n_handovers.n = r->handovers.n;
    v->n_handovers.more = r->handovers.more;
    v->declines = r->declines.v;
    v->n_declines.n = r->declines.n;
    v->n_declines.more = r->declines.more;
}
