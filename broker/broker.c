#include "broker.h"

#include "audit.h"
#include "audit_detail.h"
#include "cases.h"
#include "log.h"
#include "policy.h"
#include "signals.h"
#include "store.h"
#include "zap.h"
#include "zn_auditlog.h"
#include "zn_auditreq.h"
#include "zn_convenant.h"
#include "zn_frame.h"
#include "zn_keys.h"
#include "zn_request.h"
#include "zn_wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define S_RID_MAX 256
#define S_PRUNE_EVERY_MS 60000u
#define S_FETCH_MAX 256
#define S_SESSION_BYTES (32u * 1024 * 1024) /* pushed, unacknowledged bytes per session */

/* An item pushed on a session and not yet acknowledged on it. */
typedef struct {
    uint8_t id[ZN_ID_LEN];
    int64_t seq;
    size_t len; /* bytes of the DELIVER frame */
    bool live;
} s_slot;

/* One delivery session per partner: the latest connection that said HELLO with a window. The
 * ring holds the ids pushed on it in push order; only ACKs on this connection for those ids free
 * places, so neither another connection's ACKs nor made-up ids can widen the window. */
typedef struct {
    uint8_t rid[S_RID_MAX];
    size_t rid_len;
    bool online;
    uint32_t window;      /* items the client accepts unacknowledged */
    s_slot *ring;         /* window slots */
    uint32_t head, span;  /* oldest slot; slots in use from head (some may be acknowledged) */
    uint32_t *index;      /* item id -> ring slot + 1 (0: empty); open addressing, 2^k >= 2 window */
    uint32_t mask;
    size_t bytes;         /* DELIVER bytes pushed and not yet acknowledged or released */
    bool reset;           /* a commit failed after places were freed: start over */
    int64_t last_pushed;  /* highest queue seq pushed on this connection */
    bool backlog;         /* the queue may hold items beyond last_pushed */
    bool idle_due;        /* send IDLE once the backlog is drained */
} s_session;

typedef struct {
    uint8_t key[ZN_KEY_LEN];
    uint32_t idx;
} s_keyidx;

typedef struct {
    uint8_t rid[S_RID_MAX];
    size_t rid_len;
    uint8_t *frame;
    size_t len;
    bool durable; /* promised only once the batch commits */
    uint32_t corr;
} s_pending;

typedef struct {
    uint32_t partner;
    int64_t seq;
    uint8_t item_id[ZN_ID_LEN];
    uint8_t *frame; /* a DELIVER frame */
    size_t len;
    bool stale;     /* an envelope of this recipient left the queue in the batch: push from the queue */
} s_push;

/* A change to a partner's queue count made by the request being handled, undone with it. */
typedef struct {
    uint32_t partner;
    int32_t d; /* +1 a notice queued, -1 an envelope the request stopped */
} s_adj;

/* Item ids waiting for their "deliver" or "ack" entry: one entry per partner lists them. */
typedef struct {
    uint32_t partner;
    uint8_t item_id[ZN_ID_LEN];
} s_item;

typedef struct {
    const char *action;  /* "deliver": the broker pushed to the partner; "ack": the partner acknowledged */
    s_item *v;           /* S_ITEMS_MAX */
    size_t n;
    uint64_t since_ms;   /* when the oldest was added */
} s_itemlog;

#define S_ITEMS_MAX 8192              /* item ids waiting at once, at most */
#define S_PUSHED_DELAY_MS 1000u       /* pushes are recorded with the next batch, or after this long */
#define S_ITEMS_PER_ENTRY 1024        /* item ids in one "deliver" or "ack" entry */
#define S_REDACT_EVERY_MS 60000u
#define S_REDACT_MAX 4096             /* entries looked at per redaction step */
#define S_READ_BYTES (900u * 1024)    /* records in one audit-read result, at most */

struct zn_broker {
    char *convenant_path;
    bool verbose;
    zn_convenant *conv;
    zn_seckeys key;
    zn_store *store;
    zn_zap *zap;
    void *ctx, *router, *zap_sock;
    s_session *sessions; /* per partner, same index as conv->partners */
    s_keyidx *keys;      /* transport key -> partner index, sorted */
    int64_t *queued;     /* items waiting per partner (committed) */
    int64_t *delta;      /* this batch's change to queued */
    s_pending replies[ZN_BATCH_MAX];
    size_t n_replies;
    s_push pushes[ZN_BATCH_MAX];
    size_t n_pushes;
    msgpack_sbuffer sb;
    uint64_t next_prune_ms;
    uint64_t frames, commits; /* since start, for the shutdown line */
    bool fatal;               /* stop serving: the state in memory cannot be trusted */
    zn_audit_log *audit;
    bool poisoned;            /* an audit append failed: this batch must not commit */
    s_itemlog pushed;         /* pushed, recorded with the next transaction */
    s_itemlog acked;          /* acknowledged in this batch, recorded before it commits */
    uint64_t next_redact_ms;
    uint64_t next_expire_ms;
    uint64_t next_cases_ms;
    uint64_t *last_report;    /* per partner: its last enumeration report (signals.h) */
    s_adj *adj;               /* queue counts changed by the request being handled */
    size_t n_adj, cap_adj;
};

/* ---- partner tables ------------------------------------------------------------------- */

static int s_key_cmp(const void *a, const void *b)
{
    return memcmp(((const s_keyidx *)a)->key, ((const s_keyidx *)b)->key, ZN_KEY_LEN);
}

static int s_partner_by_uid(const zn_broker *b, const char *uid)
{
    s_keyidx k;
    if (!uid || zn_unhex(k.key, ZN_KEY_LEN, uid) != 0)
        return -1;
    const s_keyidx *hit = bsearch(&k, b->keys, b->conv->n_partners, sizeof k, s_key_cmp);
    return hit ? (int)hit->idx : -1;
}

static int s_partner_index(const zn_broker *b, const char *id)
{
    const zn_partner *p = zn_convenant_partner(b->conv, id);
    return p ? (int)(p - b->conv->partners) : -1;
}

static void s_session_free(s_session *sessions, size_t n)
{
    for (size_t i = 0; sessions && i < n; i++)
        free(sessions[i].ring), free(sessions[i].index);
    free(sessions);
}

/* ---- the session's index of outstanding item ids ----------------------------------------- *
 * Item ids are random bytes chosen by the broker, so their first bytes are a fair hash; an id in
 * an ACK that matches nothing costs one short probe, not a scan of the window. */

static uint32_t s_hash(const s_session *s, const uint8_t id[ZN_ID_LEN])
{
    uint32_t h;
    memcpy(&h, id, sizeof h);
    return h & s->mask;
}

static void s_index_put(s_session *s, uint32_t slot)
{
    uint32_t i = s_hash(s, s->ring[slot].id);
    while (s->index[i])
        i = (i + 1) & s->mask;
    s->index[i] = slot + 1;
}

/* Position in the index of a live outstanding id, or UINT32_MAX. */
static uint32_t s_index_find(const s_session *s, const uint8_t id[ZN_ID_LEN])
{
    for (uint32_t i = s_hash(s, id), n = 0; s->index[i] && n <= s->mask; i = (i + 1) & s->mask, n++)
        if (memcmp(s->ring[s->index[i] - 1].id, id, ZN_ID_LEN) == 0)
            return i;
    return UINT32_MAX;
}

/* Remove entry i, shifting later entries of its cluster back (no tombstones). */
static void s_index_erase(s_session *s, uint32_t i)
{
    s->index[i] = 0;
    for (uint32_t j = (i + 1) & s->mask; s->index[j]; j = (j + 1) & s->mask) {
        uint32_t k = s_hash(s, s->ring[s->index[j] - 1].id);
        bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->index[i] = s->index[j];
            s->index[j] = 0;
            i = j;
        }
    }
}

/* Start a delivery session on this connection. */
static int s_session_start(s_session *s, const uint8_t *rid, size_t rid_len, uint32_t window)
{
    uint32_t cap = 2;
    while (cap < 2 * window)
        cap <<= 1;
    s_slot *ring = calloc(window, sizeof *ring);
    uint32_t *index = calloc(cap, sizeof *index);
    if (!ring || !index) {
        free(ring), free(index);
        return -1;
    }
    free(s->ring), free(s->index);
    memset(s, 0, sizeof *s);
    memcpy(s->rid, rid, rid_len);
    s->rid_len = rid_len;
    s->online = true;
    s->window = window;
    s->ring = ring;
    s->index = index;
    s->mask = cap - 1;
    s->backlog = true;
    s->idle_due = true;
    return 0;
}

/* Forget what was pushed and push the queue again from its start (the client shows each message
 * once): after a failed commit the ring no longer matches the queue. */
static void s_session_restart(s_session *s)
{
    memset(s->ring, 0, s->window * sizeof *s->ring);
    memset(s->index, 0, (s->mask + 1) * sizeof *s->index);
    s->head = s->span = 0;
    s->bytes = 0;
    s->last_pushed = 0;
    s->backlog = true;
    s->idle_due = true;
    s->reset = false;
}

typedef struct {
    const zn_convenant *conv;
    int64_t *queued;
} s_count_ctx;

static int s_count_cb(void *ctx, const char *recipient, const zn_queue_item *it)
{
    s_count_ctx *c = ctx;
    const zn_partner *p = zn_convenant_partner(c->conv, recipient);
    if (p)
        c->queued[p - c->conv->partners] = it->seq;
    return 0;
}

/* Build the per-partner tables for conv and put conv in force; sessions of partners that stay
 * (same id, same transport key) keep going. On failure nothing of b changes. */
static int s_tables(zn_broker *b, zn_convenant *conv)
{
    const zn_convenant *old = b->conv;
    size_t n = conv->n_partners ? conv->n_partners : 1;
    s_session *sessions = calloc(n, sizeof *sessions);
    s_keyidx *keys = calloc(n, sizeof *keys);
    int64_t *queued = calloc(n, sizeof *queued), *delta = calloc(n, sizeof *delta);
    uint64_t *last_report = calloc(n, sizeof *last_report);
    s_count_ctx cc = {conv, queued};
    if (!sessions || !keys || !queued || !delta || !last_report ||
        zn_store_queue_counts(b->store, s_count_cb, &cc) < 0) {
        free(sessions), free(keys), free(queued), free(delta), free(last_report);
        return -1;
    }
    for (size_t i = 0; i < conv->n_partners; i++) {
        const zn_partner *p = &conv->partners[i];
        memcpy(keys[i].key, p->keys.transport, ZN_KEY_LEN);
        keys[i].idx = (uint32_t)i;
        const zn_partner *was = old ? zn_convenant_partner(old, p->id) : NULL;
        if (was && memcmp(was->keys.transport, p->keys.transport, ZN_KEY_LEN) == 0) {
            sessions[i] = b->sessions[was - old->partners];
            b->sessions[was - old->partners].ring = NULL; /* moved */
            b->sessions[was - old->partners].index = NULL;
            sessions[i].backlog = true; /* re-read the queue: notices may have been added */
        }
    }
    qsort(keys, conv->n_partners, sizeof *keys, s_key_cmp);
    s_session_free(b->sessions, old ? old->n_partners : 0);
    free(b->keys), free(b->queued), free(b->delta), free(b->last_report);
    b->sessions = sessions, b->keys = keys, b->queued = queued, b->delta = delta, b->last_report = last_report;
    b->conv = conv;
    return 0;
}

/* ---- sending ---------------------------------------------------------------------------- */

static int s_send(zn_broker *b, const uint8_t *rid, size_t rid_len, const void *p, size_t n)
{
    if (zmq_send(b->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(b->router, p, n, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

/* Copy the frame in b->sb into a reply to be sent after the batch commits. */
static void s_reply(zn_broker *b, const uint8_t *rid, size_t rid_len, uint32_t corr, bool durable)
{
    if (b->n_replies >= ZN_BATCH_MAX || rid_len > S_RID_MAX)
        return;
    s_pending *r = &b->replies[b->n_replies];
    r->frame = malloc(b->sb.size ? b->sb.size : 1);
    if (!r->frame)
        return;
    memcpy(r->frame, b->sb.data, b->sb.size);
    r->len = b->sb.size;
    memcpy(r->rid, rid, rid_len);
    r->rid_len = rid_len;
    r->durable = durable;
    r->corr = corr;
    b->n_replies++;
}

/* A durable RESULT of `kind` carrying the encoded body. */
static void s_reply_result(zn_broker *b, const uint8_t *rid, size_t rid_len, uint32_t corr, const char *kind,
                           const msgpack_sbuffer *body)
{
    msgpack_sbuffer_clear(&b->sb);
    zn_frame_result(&b->sb, corr, kind, (const uint8_t *)body->data, body->size);
    s_reply(b, rid, rid_len, corr, true);
}

static void s_reply_error(zn_broker *b, const uint8_t *rid, size_t rid_len, uint32_t corr,
                          const char *who, const char *what, const zn_err *e)
{
    msgpack_sbuffer_clear(&b->sb);
    zn_frame_error(&b->sb, corr, e->code, e->text);
    s_reply(b, rid, rid_len, corr, false);
    zn_log("refused partner=%s frame=%s code=%s reason=\"%s\"", who, what, zn_code_name(e->code), e->text);
}

static const char *s_type_name(uint32_t t)
{
    static const char *const names[] = {"?", "HELLO", "WELCOME", "SEND", "ACCEPTED", "DELIVER", "ACK",
                                        "REQUEST", "RESULT", "ERROR", "BYE", "CONVENANT_GET",
                                        "CONVENANT", "IDLE", "RELEASE"};
    return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* ---- delivery --------------------------------------------------------------------------- */

static void s_audit_tick(zn_broker *b, uint64_t now, bool force);

static void s_item_add(s_itemlog *l, uint32_t partner, const uint8_t id[ZN_ID_LEN])
{
    if (l->n >= S_ITEMS_MAX)
        return; /* only when the log's own transaction failed; the entry of these items is lost */
    if (!l->n)
        l->since_ms = zn_now_ms();
    l->v[l->n].partner = partner;
    memcpy(l->v[l->n++].item_id, id, ZN_ID_LEN);
}

typedef struct {
    zn_broker *b;
    s_session *s;
    bool stalled;
} s_fetch_ctx;

static bool s_has_room(const s_session *s)
{
    return s->online && s->span < s->window && s->bytes < S_SESSION_BYTES;
}

static bool s_deliver(zn_broker *b, s_session *s, int64_t seq, const uint8_t item_id[ZN_ID_LEN],
                      const uint8_t *frame, size_t len)
{
    if (s_send(b, s->rid, s->rid_len, frame, len) != 0) {
        if (errno == EHOSTUNREACH)
            s->online = false; /* gone; the queue keeps everything for the next connection */
        s->backlog = true;
        return false;
    }
    uint32_t at = (s->head + s->span++) % s->window;
    s_slot *slot = &s->ring[at];
    memcpy(slot->id, item_id, ZN_ID_LEN);
    slot->seq = seq;
    slot->len = len;
    slot->live = true;
    s->bytes += len;
    s_index_put(s, at);
    s->last_pushed = seq;
    s->idle_due = true;
    if (!zn_audit_off(b->audit)) {
        if (b->pushed.n >= S_ITEMS_MAX)
            s_audit_tick(b, zn_now_ms(), false);
        s_item_add(&b->pushed, (uint32_t)(s - b->sessions), item_id);
    }
    return true;
}

/* An ACK or RELEASE on the session's own connection frees the place of an item pushed on it.
 * Returns the item's queue seq, or 0 when no item with this id is outstanding on the session. */
static int64_t s_free_place(s_session *s, const uint8_t id[ZN_ID_LEN])
{
    uint32_t i = s_index_find(s, id);
    if (i == UINT32_MAX)
        return 0;
    s_slot *slot = &s->ring[s->index[i] - 1];
    int64_t seq = slot->seq;
    slot->live = false;
    s->bytes -= slot->len;
    s_index_erase(s, i);
    while (s->span && !s->ring[s->head].live) {
        s->head = (s->head + 1) % s->window;
        s->span--;
    }
    return seq;
}

static int s_fetch_cb(void *ctx, const char *recipient, const zn_queue_item *it)
{
    (void)recipient;
    s_fetch_ctx *f = ctx;
    msgpack_sbuffer_clear(&f->b->sb);
    zn_frame_deliver(&f->b->sb, it->item_id, (uint32_t)it->kind, it->body, it->body_len);
    if (!s_deliver(f->b, f->s, it->seq, it->item_id, (const uint8_t *)f->b->sb.data, f->b->sb.size)) {
        f->stalled = true;
        return 1;
    }
    return 0;
}

/* Push queued items up to the session's window; IDLE once everything is out. */
static void s_push_backlog(zn_broker *b, uint32_t idx)
{
    s_session *s = &b->sessions[idx];
    const char *id = b->conv->partners[idx].id;
    while (s->backlog && s_has_room(s)) {
        uint32_t want = s->window - s->span;
        if (want > S_FETCH_MAX)
            want = S_FETCH_MAX;
        s_fetch_ctx f = {b, s, false};
        int n = zn_store_queue_fetch(b->store, id, s->last_pushed, (int)want, s_fetch_cb, &f);
        if (n < 0 || f.stalled)
            return;
        if ((uint32_t)n < want)
            s->backlog = false;
    }
    if (s->online && s->window && !s->backlog && s->idle_due) {
        msgpack_sbuffer_clear(&b->sb);
        zn_frame_idle(&b->sb);
        if (s_send(b, s->rid, s->rid_len, b->sb.data, b->sb.size) == 0)
            s->idle_due = false;
        else if (errno == EHOSTUNREACH)
            s->online = false;
    }
}

static bool s_wants_push(const s_session *s)
{
    return s->online && ((s->backlog && s->span < s->window) || (!s->backlog && s->idle_due));
}

static void s_push_all(zn_broker *b)
{
    for (uint32_t i = 0; i < b->conv->n_partners; i++)
        if (s_wants_push(&b->sessions[i]))
            s_push_backlog(b, i);
}

/* ---- transactions ----------------------------------------------------------------------- *
 * The audit log keeps the tree's edge in memory; every rollback tells it, so it reloads the
 * edge when entries were undone. If even that fails, the broker stops (b->fatal). */

static int s_begin(zn_broker *b)
{
    if (zn_store_begin(b->store) != 0)
        return -1;
    zn_audit_tx_begin(b->audit);
    return 0;
}

static void s_undone(zn_broker *b, int rc)
{
    if (rc != 0) {
        zn_log("audit-log-unreadable after a rollback; stopping");
        b->fatal = true;
    }
}

static int s_commit(zn_broker *b)
{
    if (zn_audit_flush(b->audit) == 0 && zn_store_commit(b->store) == 0) {
        zn_audit_tx_end(b->audit);
        return 0;
    }
    if (zn_store_in_tx(b->store))
        zn_store_rollback(b->store);
    s_undone(b, zn_audit_tx_undo(b->audit));
    return -1;
}

static void s_rollback(zn_broker *b)
{
    zn_store_rollback(b->store);
    s_undone(b, zn_audit_tx_undo(b->audit));
}

static int s_savepoint(zn_broker *b)
{
    if (zn_store_savepoint(b->store) != 0)
        return -1;
    zn_audit_mark(b->audit);
    return 0;
}

static void s_rollback_to(zn_broker *b)
{
    zn_store_rollback_to(b->store);
    s_undone(b, zn_audit_undo(b->audit));
}

static int s_tx(zn_broker *b, zn_err *e)
{
    if (!zn_store_in_tx(b->store) && s_begin(b) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    return 0;
}

/* ---- audit entries ------------------------------------------------------------------------ */

/* Append an entry inside the open transaction; idx may be NULL. */
static int s_audit(zn_broker *b, zn_audit_entry *en, uint64_t *idx)
{
    uint64_t i;
    if (zn_audit_append(b->audit, en, zn_now_ms(), idx ? idx : &i) == 0)
        return 0;
    zn_log("audit-append-failed action=%s", en->action);
    b->poisoned = true; /* a change without its entry must not commit */
    return -1;
}

/* Record waiting item ids: one entry per partner and up to S_ITEMS_PER_ENTRY items. A push
 * changes nothing stored, so its "deliver" entry is written with the next transaction (at most
 * S_PUSHED_DELAY_MS later); the recipient's "ack" entry, written in the transaction that deletes
 * the items, records the receipt itself. The caller empties the log once the transaction
 * commits (or, for acknowledgements, when it is rolled back). */
static int s_item_cmp(const void *a, const void *b)
{
    const s_item *x = a, *y = b;
    return x->partner < y->partner ? -1 : x->partner > y->partner;
}

static int s_record_items(zn_broker *b, s_itemlog *l)
{
    if (!l->n)
        return 0;
    qsort(l->v, l->n, sizeof *l->v, s_item_cmp);
    uint8_t *ids = malloc(S_ITEMS_PER_ENTRY * ZN_ID_LEN);
    if (!ids)
        return -1;
    bool ack = strcmp(l->action, "ack") == 0;
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0;) {
        uint32_t p = l->v[i].partner, n = 0;
        for (; i < l->n && l->v[i].partner == p && n < S_ITEMS_PER_ENTRY; i++, n++)
            memcpy(ids + (size_t)n * ZN_ID_LEN, l->v[i].item_id, ZN_ID_LEN);
        const char *who = p < b->conv->n_partners ? b->conv->partners[p].id : NULL;
        zn_audit_detail det[] = {
            {.key = "count", .type = ZN_AUDIT_U64, .u64 = n},
            {.key = "items", .type = ZN_AUDIT_BIN, .p = ids, .len = (size_t)n * ZN_ID_LEN},
        };
        zn_audit_entry en = {.actor = ack ? who : NULL, .action = l->action, .counterpart = ack ? NULL : who,
                             .decision = ZN_AUDIT_ALLOWED, .details = det, .n_details = 2};
        rc = s_audit(b, &en, NULL);
    }
    free(ids);
    return rc;
}

/* Sign a head in the open transaction when one is due (readers get theirs from s_fresh_head). */
static int s_head_if_due(zn_broker *b, uint64_t now)
{
    return zn_audit_head_due(b->audit, now) ? zn_audit_sign_head(b->audit, now) : 0;
}

/* Work for the log outside a batch, in its own transaction: pushed items waiting too long, or a
 * head that is due. */
static void s_audit_tick(zn_broker *b, uint64_t now, bool force)
{
    bool pushed = b->pushed.n && (force || now >= b->pushed.since_ms + S_PUSHED_DELAY_MS ||
                                  b->pushed.n >= S_ITEMS_MAX);
    if (!pushed && !force && !zn_audit_head_due(b->audit, now))
        return;
    if (s_begin(b) != 0 || (pushed && s_record_items(b, &b->pushed) != 0) ||
        (force ? zn_audit_sign_head(b->audit, now) : s_head_if_due(b, now)) != 0 || s_commit(b) != 0) {
        if (zn_store_in_tx(b->store))
            s_rollback(b);
        zn_log("audit-write-failed");
    } else if (pushed) {
        b->pushed.n = 0;
    }
}

/* ---- frame handlers --------------------------------------------------------------------- */

/* One frame being handled. The handlers fill in what a refusal entry should say as soon as they
 * know it (pointers into the frame, valid until it is freed). */
typedef struct {
    zn_broker *b;
    const uint8_t *rid;
    size_t rid_len;
    uint32_t pidx;
    const zn_partner *p;
    uint64_t now;
    const char *action;      /* what was attempted */
    const char *handler;
    const uint8_t *case_id;
    uint8_t case_buf[ZN_ID_LEN]; /* a case id that lives only in a handler's frame */
    const char *counterpart;
    const char *ev_kind;     /* evidence: signed bytes whose signer is this partner */
    const uint8_t *ev, *ev_sig;
    size_t ev_len;
    bool recorded;           /* the refusal entry is written already */
} s_ctx;

static void s_evidence(zn_audit_entry *en, const s_ctx *x)
{
    en->evidence_kind = x->ev_kind;
    en->evidence = x->ev;
    en->evidence_len = x->ev_len;
    en->evidence_sig = x->ev_sig;
}

/* The refusal entry of a frame (in the batch's transaction, after the frame's changes were
 * rolled back). A failure to write it stops nothing else: the refusal stands. */
static void s_record_refusal(s_ctx *x, const zn_err *e, const char *frame)
{
    zn_err te;
    if (x->recorded || zn_audit_off(x->b->audit) || s_tx(x->b, &te) != 0)
        return;
    x->recorded = true;
    zn_audit_detail det = {.key = "frame", .type = ZN_AUDIT_STR, .p = (const uint8_t *)frame, .len = strlen(frame)};
    zn_audit_entry en = {.actor = x->p->id, .handler = x->handler, .action = x->action ? x->action : "frame",
                         .case_id = x->case_id, .counterpart = x->counterpart, .decision = ZN_AUDIT_REFUSED,
                         .reason = zn_code_name(e->code), .details = &det, .n_details = 1};
    s_evidence(&en, x);
    (void)s_audit(x->b, &en, NULL);
}

static int s_on_hello(s_ctx *x, const zn_frame *f, zn_err *e)
{
    zn_broker *b = x->b;
    x->action = "hello";
    size_t head_len;
    const uint8_t *sig;
    zn_tree_head th;
    const uint8_t *head = zn_audit_head(b->audit, &head_len, &sig, &th);
    uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * ZN_HASH_LEN];
    uint32_t n = 0;
    static const uint8_t none[ZN_SIG_LEN];
    if (!head) { /* only with the log switched off (bench builds) */
        static const uint8_t empty[] = {0x94, 0x01, 0x00, 0xc4, 0x00, 0x00};
        head = empty, head_len = sizeof empty, sig = none;
    }
    if (zn_audit_consistency(b->audit, f->u.hello.known_size, th.size, proof, &n) != 0)
        return zn_err_set(e, ZN_E_STORE, "the consistency proof cannot be read from the audit log");
    zn_audit_detail det[] = {
        {.key = "convenant", .type = ZN_AUDIT_U64, .u64 = f->u.hello.convenant_version},
        {.key = "known_size", .type = ZN_AUDIT_U64, .u64 = f->u.hello.known_size},
        {.key = "window", .type = ZN_AUDIT_U64, .u64 = f->u.hello.window},
    };
    zn_audit_entry en = {.actor = x->p->id, .action = "hello", .decision = ZN_AUDIT_ALLOWED, .details = det,
                         .n_details = 3};
    if (s_tx(b, e) != 0 || s_audit(b, &en, NULL) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    msgpack_sbuffer_clear(&b->sb);
    zn_frame_welcome(&b->sb, f->corr, b->conv->version, x->p->id, x->now, head, head_len, sig, proof, n);
    s_reply(b, x->rid, x->rid_len, f->corr, true);
    s_session *s = &b->sessions[x->pidx];
    bool same = s->online && s->rid_len == x->rid_len && memcmp(s->rid, x->rid, x->rid_len) == 0;
    /* A repeated HELLO on the session's own connection keeps the session: pushing everything
     * again would only pile up copies in this connection's send queue. */
    if (f->u.hello.window > 0 && !same)
        (void)s_session_start(s, x->rid, x->rid_len, f->u.hello.window);
    zn_log("connect partner=%s window=%u client-convenant=%llu%s", x->p->id, f->u.hello.window,
           (unsigned long long)f->u.hello.convenant_version,
           f->u.hello.convenant_version > b->conv->version ? " (newer than ours: reload with SIGHUP)" : "");
    return 0;
}

static zn_cases_env s_cases_env(zn_broker *b, uint64_t now);

static int s_on_send(s_ctx *x, const zn_frame *f, zn_err *e)
{
    zn_broker *b = x->b;
    const zn_envelope *env = &f->u.send.env;
    x->action = "send";
    x->case_id = env->h.case_id;
    x->counterpart = env->h.recipient;
    if (strcmp(env->h.sender, x->p->id) != 0)
        return zn_err_set(e, ZN_E_SENDER_MISMATCH,
                          "the envelope names sender %s, but this connection belongs to %s",
                          env->h.sender, x->p->id);
    /* The sender signed this header (recipients verify it); it is the entry's evidence. */
    x->handler = env->h.handler;
    x->ev_kind = "envelope-header", x->ev = env->header_raw, x->ev_len = env->header_len, x->ev_sig = env->sig;
    if (s_tx(b, e) != 0)
        return -1;

    /* The message id first: a retry of an accepted message is accepted again, whatever changed
     * since (consent, an override, the recipient's queue, the convenant), and stored once (with
     * the audit index of its acceptance). */
    char prev_rcpt[ZN_IDENT_MAX];
    uint8_t prev_case[ZN_ID_LEN];
    uint64_t index = zn_audit_size(b->audit);
    if (s_savepoint(b) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    int rc = zn_store_msgid_claim(b->store, x->p->id, env->h.msgid, env->h.recipient, env->h.case_id,
                                  x->now, &index, prev_rcpt, prev_case);
    if (rc != 0) {
        s_rollback_to(b);
        if (rc < 0)
            return zn_err_set(e, ZN_E_STORE, NULL);
        if (strcmp(prev_rcpt, env->h.recipient) != 0 || memcmp(prev_case, env->h.case_id, ZN_ID_LEN) != 0)
            return zn_err_set(e, ZN_E_DUPLICATE_ID, NULL);
        msgpack_sbuffer_clear(&b->sb);
        zn_frame_accepted(&b->sb, f->corr, env->h.msgid, true, index);
        s_reply(b, x->rid, x->rid_len, f->corr, true);
        return 0;
    }
    /* A new message: from here on a refusal undoes the claim. */
    int ridx = s_partner_index(b, env->h.recipient);
    zn_case kase;
    if (ridx < 0) {
        s_rollback_to(b);
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "recipient %s is not in the convenant", env->h.recipient);
    }
    if ((rc = zn_store_case_get(b->store, env->h.case_id, &kase)) != 1) {
        s_rollback_to(b);
        return zn_err_set(e, rc < 0 ? ZN_E_STORE : ZN_E_UNKNOWN_CASE, NULL);
    }
    /* who may send, and on which legal basis: cases.c over the policy's tables */
    zn_cases_env cenv = s_cases_env(b, x->now);
    zn_case_decision dec;
    if (zn_cases_traffic(&cenv, x->p, &b->conv->partners[ridx], &kase, &dec, e) != 0) {
        s_rollback_to(b);
        return -1;
    }
    if ((uint64_t)(b->queued[ridx] + b->delta[ridx]) >= b->conv->policy.queue_quota) {
        s_rollback_to(b);
        return zn_err_set(e, ZN_E_QUOTA, "%s has %llu items waiting, the convenant's quota; try again later",
                          env->h.recipient, (unsigned long long)b->conv->policy.queue_quota);
    }
    uint8_t item_id[ZN_ID_LEN];
    int64_t seq = 0;
    randombytes_buf(item_id, sizeof item_id);
    zn_audit_detail det[3] = {zn_det_id("item", item_id)};
    size_t nd = 1;
    nd += zn_cases_decision_details(&dec, &det[nd]);
    if (env->h.flags & ZN_FLAG_I_CHECKED) /* the sender checked what its client flagged */
        det[nd++] = zn_det_u64("i_checked", 1);
    zn_det_sort(det, nd);
    zn_audit_entry en = {.actor = x->p->id, .handler = x->handler, .action = "send", .case_id = x->case_id,
                         .counterpart = x->counterpart, .decision = ZN_AUDIT_ALLOWED,
                         .basis = zn_basis_name(dec.basis), .details = det, .n_details = nd};
    s_evidence(&en, x);
    msgpack_sbuffer_clear(&b->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->sb, msgpack_sbuffer_write);
    zn_envelope_pack(&pk, env);
    /* the recipient becomes a member when it acknowledges the envelope (s_on_ack) */
    if (zn_store_queue_insert(b->store, env->h.recipient, item_id, ZN_ITEM_ENVELOPE, x->p->id,
                              env->h.case_id, (const uint8_t *)b->sb.data, b->sb.size, x->now, &seq) != 0 ||
        s_audit(b, &en, NULL) != 0 || zn_store_release(b->store) != 0) {
        s_rollback_to(b);
        return zn_err_set(e, ZN_E_STORE, NULL);
    }
    b->delta[ridx]++;
    x->recorded = true;

    /* The DELIVER frame goes out once the batch is durable. */
    msgpack_sbuffer item;
    msgpack_sbuffer_init(&item);
    zn_frame_deliver(&item, item_id, ZN_ITEM_ENVELOPE, (const uint8_t *)b->sb.data, b->sb.size);
    s_push *push = &b->pushes[b->n_pushes++];
    push->partner = (uint32_t)ridx;
    push->seq = seq;
    memcpy(push->item_id, item_id, ZN_ID_LEN);
    push->len = item.size;
    push->stale = false;
    push->frame = (uint8_t *)msgpack_sbuffer_release(&item);

    msgpack_sbuffer_clear(&b->sb);
    zn_frame_accepted(&b->sb, f->corr, env->h.msgid, false, index);
    s_reply(b, x->rid, x->rid_len, f->corr, true);
    if (b->verbose) {
        char mid[2 * ZN_ID_LEN + 1];
        zn_hex(mid, env->h.msgid, ZN_ID_LEN);
        zn_log("accepted msgid=%s from=%s to=%s audit=%llu", mid, x->p->id, env->h.recipient,
               (unsigned long long)index);
    }
    return 0;
}

static bool s_own_session(const s_ctx *x)
{
    const s_session *s = &x->b->sessions[x->pidx];
    return s->online && s->rid_len == x->rid_len && memcmp(s->rid, x->rid, x->rid_len) == 0;
}

/* Acknowledgements count on the delivery session that received the items: an item is removed
 * once the connection it was pushed on acknowledges it. ACKs on any other connection (an older,
 * replaced session) are ignored; those items are pushed again on the current session. An
 * acknowledged envelope on a case makes its recipient a member ("received"), in the same
 * transaction: what was stopped before it arrived does not. */
static int s_on_ack(s_ctx *x, const zn_frame *f, zn_err *e)
{
    zn_broker *b = x->b;
    x->action = "ack";
    if (!s_own_session(x))
        return 0;
    if (s_tx(b, e) != 0)
        return -1;
    zn_cases_env cenv = s_cases_env(b, x->now);
    for (uint32_t i = 0; i < f->u.ack.n; i++) {
        uint8_t id[ZN_ID_LEN], case_id[ZN_ID_LEN];
        int kind = 0;
        bool on_case = false;
        zn_frame_ack_id(f, i, id);
        int64_t seq = s_free_place(&b->sessions[x->pidx], id);
        if (seq)
            b->sessions[x->pidx].reset = true; /* undone below if the batch does not commit */
        int n = seq ? zn_store_queue_remove(b->store, x->p->id, seq, &kind, case_id, &on_case) : 0;
        if (n < 0 || (n > 0 && kind == ZN_ITEM_ENVELOPE && on_case &&
                      zn_cases_received(&cenv, case_id, x->p->id) != 0))
            return zn_err_set(e, ZN_E_STORE, NULL);
        if (n > 0) { /* recorded in one "ack" entry per partner before the batch commits */
            if (b->acked.n >= S_ITEMS_MAX && s_record_items(b, &b->acked) == 0)
                b->acked.n = 0;
            s_item_add(&b->acked, x->pidx, id);
        }
        b->delta[x->pidx] -= n;
    }
    return 0;
}

/* Items the client leaves queued (filtered out): free their places, keep them stored. */
static void s_on_release(s_ctx *x, const zn_frame *f)
{
    if (!s_own_session(x))
        return;
    for (uint32_t i = 0; i < f->u.ack.n; i++) {
        uint8_t id[ZN_ID_LEN];
        zn_frame_ack_id(f, i, id);
        (void)s_free_place(&x->b->sessions[x->pidx], id);
    }
}

/* ---- signals, matches and cases (signals.c, cases.c) ------------------------------------------- */

/* Count a change to a partner's queue for the request being handled (undone with it). When the
 * list cannot grow, the batch cannot be undone request by request: it is poisoned instead, and
 * its rollback resets every count. */
static void s_adjust(zn_broker *b, uint32_t idx, int32_t d)
{
    if (b->n_adj == b->cap_adj) {
        size_t cap = b->cap_adj ? 2 * b->cap_adj : 64;
        s_adj *v = realloc(b->adj, cap * sizeof *v);
        if (!v) { /* not counted either: what is counted can be undone exactly */
            zn_log("out-of-memory: the batch's queue counts cannot be undone one by one; rolling it back");
            b->poisoned = true;
            return;
        }
        b->adj = v, b->cap_adj = cap;
    }
    b->delta[idx] += d;
    b->adj[b->n_adj++] = (s_adj){idx, d};
}

/* Undo the queue counts of a request (or a clock step) that was rolled back. */
static void s_adjust_undo(zn_broker *b)
{
    for (size_t i = 0; i < b->n_adj; i++)
        b->delta[b->adj[i].partner] -= b->adj[i].d;
    b->n_adj = 0;
}

/* Move the queue counts of a clock step that committed from the batch's changes to the counts. */
static void s_adjust_commit(zn_broker *b)
{
    for (size_t i = 0; i < b->n_adj; i++) {
        b->delta[b->adj[i].partner] -= b->adj[i].d;
        b->queued[b->adj[i].partner] += b->adj[i].d;
    }
    b->n_adj = 0;
}

/* A notice queued in the open transaction; pushed from the queue once the batch commits. */
static int s_notify(void *ctx, const char *recipient, const uint8_t *notice, size_t len)
{
    zn_broker *b = ctx;
    int idx = s_partner_index(b, recipient);
    uint8_t item_id[ZN_ID_LEN];
    int64_t seq;
    randombytes_buf(item_id, sizeof item_id);
    if (idx < 0)
        return -1;
    if (zn_store_queue_insert(b->store, recipient, item_id, ZN_ITEM_NOTICE, NULL, NULL, notice, len, zn_now_ms(),
                              &seq) != 0)
        return -1;
    s_adjust(b, (uint32_t)idx, +1);
    b->sessions[idx].backlog = true;
    return 0;
}

/* An envelope a change stopped left the recipient's queue: count it, and push what this batch
 * accepted for the recipient from the queue (where the stopped one no longer is), not directly. */
static void s_dequeued(void *ctx, const char *recipient)
{
    zn_broker *b = ctx;
    int idx = s_partner_index(b, recipient);
    if (idx < 0)
        return;
    s_adjust(b, (uint32_t)idx, -1);
    for (size_t i = 0; i < b->n_pushes; i++)
        if (b->pushes[i].partner == (uint32_t)idx)
            b->pushes[i].stale = true;
}

/* Whether an item was pushed to the recipient's connected client (its delivery session's
 * in-flight index) and not yet acknowledged. A session whose connection is gone does not count:
 * what was pushed on it may never have arrived, and it is pushed again on the next one. */
static bool s_in_flight(void *ctx, const char *recipient, const uint8_t item_id[ZN_ID_LEN])
{
    zn_broker *b = ctx;
    int idx = s_partner_index(b, recipient);
    if (idx < 0)
        return false;
    const s_session *s = &b->sessions[idx];
    return s->online && s->index && s_index_find(s, item_id) != UINT32_MAX;
}

static int s_signals_audit(void *ctx, zn_audit_entry *en)
{
    return s_audit(ctx, en, NULL);
}

static zn_cases_env s_cases_env(zn_broker *b, uint64_t now)
{
    return (zn_cases_env){.base = {.store = b->store, .conv = b->conv, .now = now, .audit = s_signals_audit,
                                   .notify = s_notify, .ctx = b},
                          .dequeued = s_dequeued,
                          .in_flight = s_in_flight};
}

typedef enum { S_MOD_SIGNALS, S_MOD_CASES } s_module;

/* One request of a module, inside its own savepoint with its nonce: on refusal everything it did
 * is rolled back, its queue counts with it. */
static int s_module_request(s_ctx *x, uint32_t corr, const zn_request *rq, s_module mod, zn_err *e)
{
    zn_broker *b = x->b;
    zn_cases_env env = s_cases_env(b, x->now);
    zn_signals_actor sa = {.p = x->p, .handler = x->handler, .req = x->ev, .sig = x->ev_sig, .req_len = x->ev_len,
                           .last_report_ms = &b->last_report[x->pidx]};
    uint8_t case_id[ZN_ID_LEN];
    bool case_known = false;
    zn_cases_actor ca = {.p = x->p, .handler = x->handler, .req = x->ev, .sig = x->ev_sig, .req_len = x->ev_len,
                         .case_id = case_id, .case_known = &case_known};
    if (s_tx(b, e) != 0 || s_savepoint(b) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    b->n_adj = 0;
    int rc = zn_store_nonce_insert(b->store, x->p->id, rq->nonce, rq->time_ms);
    if (rc != 0)
        zn_err_set(e, rc == 1 ? ZN_E_REPLAY : ZN_E_STORE, NULL);
    else if ((rc = mod == S_MOD_CASES ? zn_cases_request(&env, &ca, rq->kind, rq->body, &body, e)
                                      : zn_signals_request(&env.base, &sa, rq->kind, rq->body, &body, e)) == 0 &&
             zn_store_release(b->store) != 0)
        rc = zn_err_set(e, ZN_E_STORE, NULL);
    if (case_known) { /* the refusal's entry names the case too */
        memcpy(x->case_buf, case_id, ZN_ID_LEN);
        x->case_id = x->case_buf;
    }
    if (rc != 0) {
        s_rollback_to(b);
        s_adjust_undo(b);
        if (mod == S_MOD_SIGNALS && zn_signals_refused(&env.base, &sa) != 0)
            zn_log("enumeration-report-failed partner=%s", x->p->id);
    } else {
        x->recorded = true;
        s_reply_result(b, x->rid, x->rid_len, corr, rq->kind, &body);
        zn_case k;
        if (strcmp(rq->kind, "case-new") == 0 && case_known && zn_store_case_get(b->store, case_id, &k) == 1) {
            char cid[2 * ZN_ID_LEN + 1];
            zn_hex(cid, case_id, ZN_ID_LEN);
            zn_log("case-created case=%s partner=%s network=%s%s", cid, x->p->id, k.network,
                   k.identified ? " identified" : "");
        }
    }
    b->n_adj = 0;
    msgpack_sbuffer_destroy(&body);
    return rc;
}

/* A step of a clock (signal expiry, the case clock) that did not commit: roll it back and log
 * `what`; false (nothing more to do now). */
static bool s_clock_failed(zn_broker *b, const char *what)
{
    if (zn_store_in_tx(b->store))
        s_rollback(b);
    b->poisoned = false; /* an append that failed here must not fail the next batch */
    zn_log("%s", what);
    return false;
}

/* One step of signal expiry in its own transaction; true when more may be waiting. */
static bool s_expire(zn_broker *b, uint64_t now)
{
    zn_signals_env env = s_cases_env(b, now).base;
    int n = -1;
    if (s_begin(b) != 0 || (n = zn_signals_expire(&env)) < 0 || s_commit(b) != 0)
        return s_clock_failed(b, "signal-expiry-failed");
    if (n > 0)
        zn_log("signals-expired count=%d", n);
    return n >= ZN_SIGNALS_EXPIRE_MAX;
}

/* One step of the case clock (override expiry and escalation, consent expiry, handover
 * timeouts, retention of closed cases) in its own transaction; true when more may be waiting.
 * Its notices and drops change the queue counts once it commits; when it does not, only its own
 * changes are undone (the same list as a request's). */
static bool s_cases_tick(zn_broker *b, uint64_t now)
{
    zn_cases_env env = s_cases_env(b, now);
    int n = -1;
    b->n_adj = 0;
    bool ok = s_begin(b) == 0 && (n = zn_cases_tick(&env)) >= 0 && !b->poisoned && s_commit(b) == 0;
    if (ok)
        s_adjust_commit(b);
    else
        s_adjust_undo(b);
    if (!ok)
        return s_clock_failed(b, "case-clock-failed");
    if (n > 0)
        zn_log("case-clock handled=%d", n);
    return n >= ZN_CASES_TICK_MAX;
}

/* ---- reading the log ------------------------------------------------------------------------- */

/* Record a read (inside a savepoint with its nonce, so a replayed read is refused). */
static int s_record_read(s_ctx *x, const zn_request *rq, const zn_audit_detail *det, size_t n, zn_err *e)
{
    zn_broker *b = x->b;
    if (s_tx(b, e) != 0 || s_savepoint(b) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    zn_audit_entry en = {.actor = x->p->id, .handler = x->handler, .action = x->action,
                         .decision = ZN_AUDIT_ALLOWED, .details = det, .n_details = n};
    s_evidence(&en, x);
    int rc = zn_store_nonce_insert(b->store, x->p->id, rq->nonce, rq->time_ms);
    if (rc != 0 || s_audit(b, &en, NULL) != 0 || zn_store_release(b->store) != 0) {
        s_rollback_to(b);
        return zn_err_set(e, rc == 1 ? ZN_E_REPLAY : ZN_E_STORE, NULL);
    }
    x->recorded = true;
    return 0;
}

typedef struct {
    uint8_t d[ZN_HASH_LEN], salt[ZN_AUDIT_SALT_LEN];
    uint8_t *entry;
    size_t len;
    bool found;
} s_row_copy;

static int s_row_cb(void *ctx, const zn_audit_row *r)
{
    s_row_copy *c = ctx;
    memcpy(c->d, r->d, ZN_HASH_LEN);
    if (r->entry) {
        memcpy(c->salt, r->salt, ZN_AUDIT_SALT_LEN);
        c->entry = malloc(r->entry_len);
        if (!c->entry)
            return 1;
        memcpy(c->entry, r->entry, r->entry_len);
        c->len = r->entry_len;
    }
    c->found = true;
    return 0;
}

/* The head readers get: signed now when the log has grown since the latest one. */
static int s_fresh_head(zn_broker *b, zn_err *e)
{
    if (s_tx(b, e) != 0 || zn_audit_sign_head(b->audit, zn_now_ms()) != 0)
        return zn_err_set(e, ZN_E_STORE, "the audit log's tree head cannot be signed");
    return 0;
}

static int s_receipt(s_ctx *x, uint32_t corr, const zn_request *rq, zn_err *e)
{
    zn_broker *b = x->b;
    uint64_t index, known;
    if (zn_body_receipt_parse(rq->body, &index, &known, e) != 0)
        return -1;
    if (zn_audit_off(b->audit) || index >= zn_audit_size(b->audit))
        return zn_err_set(e, ZN_E_UNKNOWN_ENTRY, "the audit log has %llu entries; there is no entry %llu",
                          (unsigned long long)zn_audit_size(b->audit), (unsigned long long)index);
    s_row_copy row = {0};
    int rc = -1;
    zn_doc doc = {0};
    zn_receipt r = {0};
    if (zn_audit_flush(b->audit) != 0 || zn_store_audit_scan(b->store, index, index + 1, 1, s_row_cb, &row) != 1 || !row.found) {
        zn_err_set(e, ZN_E_STORE, "audit entry %llu cannot be read", (unsigned long long)index);
        goto out;
    }
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
    bool own = row.entry && zn_audit_entry_decode(row.entry, row.len, &doc, &en, det, NULL) == 0 && en.actor &&
               strcmp(en.actor, x->p->id) == 0;
    if (!own && !x->p->auditor) {
        zn_err_set(e, ZN_E_FORBIDDEN, "entry %llu is not %s's own; only auditors read other entries",
                   (unsigned long long)index, x->p->id);
        goto out;
    }
    zn_tree_head th;
    if (zn_audit_head(b->audit, &r.head_len, &r.head_sig, &th) == NULL || th.size <= index)
        if (s_fresh_head(b, e) != 0)
            goto out;
    r.head = zn_audit_head(b->audit, &r.head_len, &r.head_sig, &th);
    if (zn_audit_inclusion(b->audit, index, th.size, r.inclusion, &r.n_inclusion) != 0 ||
        zn_audit_consistency(b->audit, known, th.size, r.consistency, &r.n_consistency) != 0) {
        zn_err_set(e, ZN_E_STORE, "the proofs for entry %llu cannot be read", (unsigned long long)index);
        goto out;
    }
    r.d = row.d;
    r.salt = row.entry ? row.salt : NULL;
    r.entry = row.entry;
    r.entry_len = row.len;
    zn_audit_detail rd = {.key = "index", .type = ZN_AUDIT_U64, .u64 = index};
    if (s_record_read(x, rq, &rd, 1, e) != 0)
        goto out;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_result_receipt(&body, &r);
    s_reply_result(b, x->rid, x->rid_len, corr, "receipt", &body);
    msgpack_sbuffer_destroy(&body);
    rc = 0;
out:
    zn_doc_free(&doc);
    if (row.entry)
        sodium_memzero(row.salt, sizeof row.salt);
    free(row.entry);
    return rc;
}

/* Records of one audit-read page, each a bin holding the record's bytes. */
typedef struct {
    zn_broker *b;
    const zn_audit_filter *f;
    msgpack_sbuffer out, rec;
    msgpack_packer pk;
    uint32_t n;
    uint64_t next;
    uint8_t leaves[S_ITEMS_PER_ENTRY * ZN_HASH_LEN]; /* a run of commitments not shown */
    uint64_t leaves_first;
    uint32_t n_leaves;
    bool failed; /* a stored record could not be encoded */
} s_page;

/* Add the record just encoded into pg->rec (rc: the encoder's result). */
static void s_page_add(s_page *pg, int rc)
{
    if (rc != 0) {
        pg->failed = true;
        return;
    }
    zn_pack_bin(&pg->pk, pg->rec.data, pg->rec.size);
    msgpack_sbuffer_clear(&pg->rec);
    pg->n++;
}

static void s_page_flush_leaves(s_page *pg)
{
    if (!pg->n_leaves)
        return;
    s_page_add(pg, zn_auditlog_enc_leaves(&pg->rec, pg->leaves_first, pg->leaves, pg->n_leaves, NULL));
    pg->n_leaves = 0;
}

static bool s_page_full(const s_page *pg)
{
    return pg->failed || pg->n >= pg->f->limit || pg->out.size >= S_READ_BYTES;
}

static int s_page_entry_cb(void *ctx, const zn_audit_row *r)
{
    s_page *pg = ctx;
    bool show = false;
    if (r->entry) {
        zn_doc doc = {0};
        zn_audit_entry en;
        zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
        show = zn_audit_entry_decode(r->entry, r->entry_len, &doc, &en, det, NULL) != 0 ||
               zn_audit_filter_match(pg->f, &en); /* an entry that does not decode is shown as it is */
        zn_doc_free(&doc);
    } else {
        show = pg->f->leaves; /* a redacted entry is part of every export */
    }
    if (show) {
        s_page_flush_leaves(pg);
        s_page_add(pg, zn_auditlog_enc_entry(&pg->rec, r->idx, r->d, r->salt, r->entry, r->entry_len, NULL));
    } else if (pg->f->leaves) {
        if (pg->n_leaves == S_ITEMS_PER_ENTRY)
            s_page_flush_leaves(pg);
        if (!pg->n_leaves)
            pg->leaves_first = r->idx;
        memcpy(pg->leaves + (size_t)pg->n_leaves++ * ZN_HASH_LEN, r->d, ZN_HASH_LEN);
    }
    pg->next = r->idx + 1;
    return s_page_full(pg);
}

static int s_page_pair_cb(void *ctx, uint64_t key, const uint8_t *a, size_t alen, const uint8_t *sig, size_t slen)
{
    s_page *pg = ctx;
    if (pg->f->what == ZN_READ_CONVENANTS)
        s_page_add(pg, zn_auditlog_enc_convenant(&pg->rec, a, alen, NULL));
    else
        s_page_add(pg, slen == ZN_SIG_LEN ? zn_auditlog_enc_head(&pg->rec, a, alen, sig, NULL) : -1);
    pg->next = key + 1;
    return s_page_full(pg);
}

static int s_audit_read(s_ctx *x, uint32_t corr, const zn_request *rq, zn_err *e)
{
    zn_broker *b = x->b;
    zn_audit_filter f;
    if (zn_body_audit_read_parse(rq->body, &f, e) != 0)
        return -1;
    if (!x->p->auditor)
        return zn_err_set(e, ZN_E_FORBIDDEN, "%s is not an auditor in the convenant", x->p->id);
    if (f.what == ZN_READ_HEAD && s_fresh_head(b, e) != 0)
        return -1;
    s_page pg = {.b = b, .f = &f, .next = f.from};
    msgpack_sbuffer_init(&pg.out);
    msgpack_sbuffer_init(&pg.rec);
    msgpack_packer_init(&pg.pk, &pg.out, msgpack_sbuffer_write);
    uint64_t size = zn_audit_size(b->audit);
    int n = zn_audit_flush(b->audit);
    switch (f.what) {
    case ZN_READ_ENTRIES: {
        uint64_t upto = f.upto && f.upto < size ? f.upto : size;
        if (n < 0)
            break;
        for (uint64_t from = f.from; n >= 0 && from < upto && !s_page_full(&pg); from = pg.next)
            n = zn_store_audit_scan(b->store, from, upto, S_FETCH_MAX, s_page_entry_cb, &pg);
        s_page_flush_leaves(&pg);
        break;
    }
    case ZN_READ_HEADS:
        n = zn_store_audit_heads(b->store, f.from, f.upto ? f.upto : UINT64_MAX, (int)f.limit, s_page_pair_cb, &pg);
        break;
    case ZN_READ_CONVENANTS:
        n = zn_store_convenants(b->store, f.from, (int)f.limit, s_page_pair_cb, &pg);
        break;
    case ZN_READ_HEAD: {
        size_t len;
        const uint8_t *sig, *head = zn_audit_head(b->audit, &len, &sig, NULL);
        if (head)
            s_page_add(&pg, zn_auditlog_enc_head(&pg.rec, head, len, sig, NULL));
        pg.next = size;
        break;
    }
    }
    int rc = -1;
    if (n < 0 || pg.failed) {
        zn_err_set(e, ZN_E_STORE, "the audit log cannot be read");
        goto out;
    }
    const char *what = zn_read_what_name(f.what);
    zn_audit_detail det[] = {
        {.key = "from", .type = ZN_AUDIT_U64, .u64 = f.from},
        {.key = "records", .type = ZN_AUDIT_U64, .u64 = pg.n},
        {.key = "what", .type = ZN_AUDIT_STR, .p = (const uint8_t *)what, .len = strlen(what)},
    };
    if (s_record_read(x, rq, det, 3, e) != 0)
        goto out;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    zn_result_audit_read_begin(&pk, size, pg.next, pg.n);
    msgpack_sbuffer_write(&body, pg.out.data, pg.out.size);
    s_reply_result(b, x->rid, x->rid_len, corr, "audit-read", &body);
    msgpack_sbuffer_destroy(&body);
    rc = 0;
out:
    msgpack_sbuffer_destroy(&pg.out);
    msgpack_sbuffer_destroy(&pg.rec);
    return rc;
}

static int s_on_request(s_ctx *x, const zn_frame *f, zn_err *e)
{
    zn_broker *b = x->b;
    zn_doc doc = {0};
    zn_request rq;
    int rc = -1;
    x->action = "request";
    if (zn_request_parse(f->u.request.req, f->u.request.len, &doc, &rq, e) != 0)
        goto out;
    if (strcmp(rq.partner, x->p->id) != 0) {
        zn_err_set(e, ZN_E_SENDER_MISMATCH, "the request names partner %s, but this connection belongs to %s",
                   rq.partner, x->p->id);
        goto out;
    }
    x->action = rq.kind;
    x->handler = rq.handler;
    if (zn_request_verify(f->u.request.req, f->u.request.len, f->u.request.sig, x->p->keys.sign) != 0) {
        zn_err_set(e, ZN_E_BAD_SIGNATURE, "the request's signature does not verify with %s's signing key",
                   x->p->id);
        goto out;
    }
    /* Signed by this partner: from here on the request is the evidence of every entry. */
    x->ev_kind = "request", x->ev = f->u.request.req, x->ev_len = f->u.request.len, x->ev_sig = f->u.request.sig;
    uint64_t window = b->conv->policy.request_window_s * 1000u;
    if (rq.time_ms + window < x->now || rq.time_ms > x->now + window) {
        zn_err_set(e, ZN_E_STALE, NULL);
        goto out;
    }
    if (zn_cases_handles(rq.kind))
        rc = s_module_request(x, f->corr, &rq, S_MOD_CASES, e);
    else if (strcmp(rq.kind, "receipt") == 0)
        rc = s_receipt(x, f->corr, &rq, e);
    else if (strcmp(rq.kind, "audit-read") == 0)
        rc = s_audit_read(x, f->corr, &rq, e);
    else if (zn_signals_handles(rq.kind))
        rc = s_module_request(x, f->corr, &rq, S_MOD_SIGNALS, e);
    else
        zn_err_set(e, ZN_E_UNKNOWN_TYPE, "request kind %s is not known to this broker", rq.kind);
out:
    if (rc != 0)
        s_record_refusal(x, e, "REQUEST"); /* while the request's strings are alive */
    zn_doc_free(&doc);
    return rc;
}

/* Handle one frame from one connection; replies wait in b->replies. */
static void s_handle(zn_broker *b, const uint8_t *rid, size_t rid_len, zmq_msg_t *body, bool extra)
{
    s_ctx x = {.b = b, .rid = rid, .rid_len = rid_len, .now = zn_now_ms()};
    zn_frame f;
    zn_err e;
    memset(&f, 0, sizeof f);
    zn_err_clear(&e);
    int pidx = s_partner_by_uid(b, zmq_msg_gets(body, "User-Id"));
    if (pidx < 0) {
        /* authenticated under an earlier convenant that no longer holds this key */
        msgpack_sbuffer_clear(&b->sb);
        zn_frame_bye(&b->sb, ZN_E_NOT_IN_CONVENANT, zn_code_hint(ZN_E_NOT_IN_CONVENANT));
        s_reply(b, rid, rid_len, 0, false);
        return;
    }
    x.pidx = (uint32_t)pidx;
    x.p = &b->conv->partners[pidx];
    int rc = -1;
    if (extra)
        zn_err_set(&e, ZN_E_MALFORMED, "a zorgnet message is exactly one ZeroMQ frame");
    else if (zn_frame_parse(zmq_msg_data(body), zmq_msg_size(body), &f, &e) == 0) {
        switch (f.type) {
        case ZN_T_HELLO: rc = s_on_hello(&x, &f, &e); break;
        case ZN_T_SEND: rc = s_on_send(&x, &f, &e); break;
        case ZN_T_ACK: rc = s_on_ack(&x, &f, &e); break;
        case ZN_T_RELEASE: s_on_release(&x, &f); rc = 0; break;
        case ZN_T_REQUEST: rc = s_on_request(&x, &f, &e); break;
        case ZN_T_CONVENANT_GET:
            msgpack_sbuffer_clear(&b->sb);
            zn_frame_convenant(&b->sb, f.corr, b->conv->raw, b->conv->raw_len);
            s_reply(b, rid, rid_len, f.corr, false);
            rc = 0;
            break;
        default:
            zn_err_set(&e, ZN_E_UNKNOWN_TYPE, "frame type %u (%s) is sent by the broker, not to it",
                       f.type, s_type_name(f.type));
        }
    }
    if (rc != 0) {
        s_record_refusal(&x, &e, s_type_name(f.type));
        s_reply_error(b, rid, rid_len, f.corr, x.p->id, s_type_name(f.type), &e);
    }
    zn_frame_free(&f);
}

/* Drain waiting frames, handle them in one transaction, commit, reply, push. */
static void s_batch(zn_broker *b)
{
    size_t count = 0, bytes = 0;
    while (count < ZN_BATCH_MAX && bytes < ZN_BATCH_BYTES) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, b->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            break;
        }
        zmq_msg_init(&body);
        if (!zmq_msg_more(&rid) || zmq_msg_recv(&body, b->router, 0) < 0) {
            zmq_msg_close(&rid), zmq_msg_close(&body);
            continue;
        }
        bool extra = false;
        while (zmq_msg_more(&body) && !extra) { /* drop surplus parts, refuse the message */
            zmq_msg_t part;
            zmq_msg_init(&part);
            while (zmq_msg_recv(&part, b->router, 0) >= 0 && zmq_msg_more(&part))
                ;
            zmq_msg_close(&part);
            extra = true;
        }
        if (zmq_msg_size(&rid) <= S_RID_MAX)
            s_handle(b, zmq_msg_data(&rid), zmq_msg_size(&rid), &body, extra);
        count++;
        bytes += zmq_msg_size(&body);
        zmq_msg_close(&rid), zmq_msg_close(&body);
    }

    bool failed = false;
    b->frames += count;
    uint64_t now = zn_now_ms();
    if (zn_store_in_tx(b->store)) {
        if (!b->poisoned && (s_record_items(b, &b->acked) != 0 || s_record_items(b, &b->pushed) != 0 ||
                             s_head_if_due(b, now) != 0))
            b->poisoned = true;
        if (b->poisoned) {
            s_rollback(b);
            failed = true;
        } else if (++b->commits, s_commit(b) != 0) {
            failed = true;
        } else {
            b->pushed.n = 0;
        }
    }
    b->acked.n = 0; /* recorded and committed, or rolled back with the deletions */
    if (failed)
        zn_log("store-failed batch=%zu: nothing of it was accepted", count);
    b->poisoned = false;
    for (size_t i = 0; i < b->n_replies; i++) {
        s_pending *r = &b->replies[i];
        if (failed && r->durable) {
            msgpack_sbuffer_clear(&b->sb);
            zn_frame_error(&b->sb, r->corr, ZN_E_STORE, zn_code_hint(ZN_E_STORE));
            (void)s_send(b, r->rid, r->rid_len, b->sb.data, b->sb.size);
        } else {
            (void)s_send(b, r->rid, r->rid_len, r->frame, r->len);
        }
        free(r->frame);
    }
    b->n_replies = 0;
    for (size_t i = 0; i < b->conv->n_partners; i++) {
        s_session *s = &b->sessions[i];
        if (!failed)
            b->queued[i] += b->delta[i];
        else if (s->reset && s->online)
            s_session_restart(s);
        s->reset = false;
        b->delta[i] = 0;
    }
    for (size_t i = 0; i < b->n_pushes; i++) {
        s_push *p = &b->pushes[i];
        s_session *s = &b->sessions[p->partner];
        if (!failed && s->online) {
            if (!p->stale && !s->backlog && s_has_room(s))
                (void)s_deliver(b, s, p->seq, p->item_id, p->frame, p->len);
            else
                s->backlog = true;
        }
        free(p->frame);
    }
    b->n_pushes = 0;
    s_push_all(b);
}

/* ---- convenant ---------------------------------------------------------------------------- */

/* Load and check a convenant file for this broker; `in_force` (may be NULL) pins authority and
 * version. */
static int s_load_convenant(const char *path, const zn_seckeys *key, const zn_convenant *in_force,
                            zn_convenant **out, zn_err *e)
{
    zn_convenant *c = NULL;
    if (zn_convenant_load(path, &c, e) != 0)
        return -1;
    if (zn_convenant_check_time(c, zn_now_ms() / 1000u, e) != 0)
        goto fail;
    if (sodium_memcmp(c->broker_transport, key->pub.transport, ZN_KEY_LEN) != 0 ||
        sodium_memcmp(c->broker_sign, key->pub.sign, ZN_KEY_LEN) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE, "this broker key is not the broker key named in the convenant %s", path);
        goto fail;
    }
    if (in_force) {
        if (sodium_memcmp(c->authority, in_force->authority, ZN_KEY_LEN) != 0) {
            zn_err_set(e, ZN_E_CONVENANT_INVALID, "%s is signed by another authority than the convenant in force", path);
            goto fail;
        }
        if (c->version <= in_force->version) {
            zn_err_set(e, ZN_E_CONVENANT_OLD, "%s has version %llu; version %llu is in force and only a newer one replaces it",
                       path, (unsigned long long)c->version, (unsigned long long)in_force->version);
            goto fail;
        }
    }
    *out = c;
    return 0;
fail:
    zn_convenant_destroy(&c);
    return -1;
}

/* Keep the convenant file and record its loading (in the open transaction). */
static int s_record_convenant(zn_broker *b, const zn_convenant *c, const char *note)
{
    uint8_t digest[ZN_HASH_LEN];
    crypto_hash_sha256(digest, c->raw, c->raw_len);
    zn_audit_detail det[] = {
        {.key = "sha256", .type = ZN_AUDIT_BIN, .p = digest, .len = sizeof digest},
        {.key = "version", .type = ZN_AUDIT_U64, .u64 = c->version},
    };
    zn_audit_entry en = {.action = "convenant-load", .decision = ZN_AUDIT_ALLOWED, .reason = note,
                         .details = det, .n_details = 2};
    if (zn_store_convenant_put(b->store, c->version, c->raw, c->raw_len) != 0)
        return -1;
    return s_audit(b, &en, NULL);
}

/* Remember the authority and the highest version; refuse rollback (also across restarts). */
static int s_pin_convenant(zn_broker *b, const zn_convenant *c, zn_err *e)
{
    uint8_t authority[ZN_KEY_LEN];
    uint64_t seen = 0;
    int ra = zn_store_meta_get_blob(b->store, "authority", authority, sizeof authority);
    int rv = zn_store_meta_get_u64(b->store, "convenant_version", &seen);
    if (ra < 0 || rv < 0)
        return zn_err_set(e, ZN_E_STORE, "the database's record of the convenant cannot be read");
    if (ra == 1 && sodium_memcmp(authority, c->authority, ZN_KEY_LEN) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant is signed by another authority than the one this database serves");
    if (rv == 1 && seen > c->version)
        return zn_err_set(e, ZN_E_CONVENANT_OLD, "the convenant has version %llu, but this broker has already served version %llu",
                          (unsigned long long)c->version, (unsigned long long)seen);
    if (zn_store_meta_set_blob(b->store, "authority", c->authority, ZN_KEY_LEN) != 0 ||
        zn_store_meta_set_u64(b->store, "convenant_version", c->version) != 0)
        return zn_err_set(e, ZN_E_STORE, NULL);
    return 0;
}

typedef struct {
    zn_broker *b;
    const zn_convenant *next;
    size_t dropped;
    int failed;
} s_drop_ctx;

/* An item queued for a partner who left: envelopes become "envelope-dropped" notices to their
 * senders (when those are still in the convenant); notices simply go. */
static int s_drop_cb(void *ctx, const char *recipient, const zn_queue_item *it)
{
    s_drop_ctx *d = ctx;
    if (it->kind != ZN_ITEM_ENVELOPE)
        return 0;
    d->dropped++;
    zn_doc doc = {0};
    zn_envelope env;
    zn_err e;
    if (!it->sender || !zn_convenant_partner(d->next, it->sender) ||
        zn_envelope_parse_bytes(it->body, it->body_len, &doc, &env, &e) != 0) {
        zn_doc_free(&doc);
        return 0;
    }
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    uint64_t now = zn_now_ms();
    zn_audit_detail det[] = {
        {.key = "item", .type = ZN_AUDIT_BIN, .p = it->item_id, .len = ZN_ID_LEN},
        {.key = "msgid", .type = ZN_AUDIT_BIN, .p = env.h.msgid, .len = ZN_ID_LEN},
        {.key = "sender", .type = ZN_AUDIT_STR, .p = (const uint8_t *)it->sender, .len = strlen(it->sender)},
    };
    zn_audit_entry en = {.action = "drop", .case_id = env.h.case_id, .counterpart = recipient,
                         .decision = ZN_AUDIT_ALLOWED, .reason = zn_code_name(ZN_E_NOT_IN_CONVENANT),
                         .details = det, .n_details = 3};
    if (s_audit(d->b, &en, NULL) != 0)
        d->failed = 1;
    zn_notice_dropped(&nb, now, env.h.msgid, env.h.case_id, recipient, ZN_E_NOT_IN_CONVENANT);
    uint8_t item_id[ZN_ID_LEN];
    int64_t seq;
    randombytes_buf(item_id, sizeof item_id);
    if (zn_store_queue_insert(d->b->store, it->sender, item_id, ZN_ITEM_NOTICE, NULL, NULL,
                              (const uint8_t *)nb.data, nb.size, now, &seq) != 0)
        d->failed = 1;
    msgpack_sbuffer_destroy(&nb);
    zn_doc_free(&doc);
    return d->failed;
}

/* A notice queued during a reload: the queue counts are read anew once the new convenant is in
 * force, so nothing is counted here. */
static int s_reload_notify(void *ctx, const char *recipient, const uint8_t *notice, size_t len)
{
    zn_broker *b = ctx;
    uint8_t item_id[ZN_ID_LEN];
    int64_t seq;
    randombytes_buf(item_id, sizeof item_id);
    return zn_store_queue_insert(b->store, recipient, item_id, ZN_ITEM_NOTICE, NULL, NULL, notice, len, zn_now_ms(),
                                 &seq);
}

int zn_broker_reload(zn_broker *b, zn_err *e)
{
    zn_convenant *next = NULL;
    if (s_load_convenant(b->convenant_path, &b->key, b->conv, &next, e) != 0)
        return -1;
    size_t removed = 0;
    int lapsed = 0;
    s_drop_ctx d = {b, next, 0, 0};
    /* the handovers offered to partners that leave lapse; their offering partners are told under
     * the new convenant */
    zn_cases_env lapse = {.base = {.store = b->store, .conv = next, .now = zn_now_ms(), .audit = s_signals_audit,
                                   .notify = s_reload_notify, .ctx = b}};
    if (s_begin(b) != 0 || s_pin_convenant(b, next, e) != 0)
        goto fail;
    /* pushes are recorded under the partner table they were made with, before it changes */
    d.failed = s_record_items(b, &b->pushed) != 0 || s_record_convenant(b, next, "reload") != 0;
    for (size_t i = 0; i < b->conv->n_partners && !d.failed; i++) {
        const zn_partner *p = &b->conv->partners[i];
        if (zn_convenant_partner(next, p->id))
            continue;
        removed++;
        int n = 0;
        if (zn_store_queue_take_all(b->store, p->id, s_drop_cb, &d) < 0 || (n = zn_cases_partner_left(&lapse, p->id)) < 0)
            d.failed = 1;
        lapsed += n > 0 ? n : 0;
    }
    if (d.failed || zn_audit_sign_head(b->audit, zn_now_ms()) != 0 || s_commit(b) != 0) {
        zn_err_set(e, ZN_E_STORE, "the new convenant could not be recorded; version %llu stays in force",
                   (unsigned long long)b->conv->version);
        goto fail;
    }
    b->pushed.n = 0;
    /* Partners that left, or whose transport key changed, lose their session now. */
    for (size_t i = 0; i < b->conv->n_partners; i++) {
        const zn_partner *p = &b->conv->partners[i];
        const zn_partner *q = zn_convenant_partner(next, p->id);
        s_session *s = &b->sessions[i];
        if (s->online && (!q || memcmp(q->keys.transport, p->keys.transport, ZN_KEY_LEN) != 0)) {
            msgpack_sbuffer_clear(&b->sb);
            zn_frame_bye(&b->sb, ZN_E_NOT_IN_CONVENANT, zn_code_hint(ZN_E_NOT_IN_CONVENANT));
            (void)s_send(b, s->rid, s->rid_len, b->sb.data, b->sb.size);
            s->online = false;
            zn_log("disconnect partner=%s reason=%s", p->id, q ? "key-changed" : "not-in-convenant");
        }
    }
    zn_convenant *old = b->conv;
    if (s_tables(b, next) != 0) {
        /* The database already holds the new version; serving on with the old one would let
         * removed partners back in. Stop instead; a restart loads the new version. */
        zn_log("reload-failed reason=\"out of memory or unreadable queue\"; stopping");
        zn_convenant_destroy(&next);
        b->fatal = true;
        return zn_err_set(e, ZN_E_INTERNAL, "the new convenant was recorded but could not be put in force");
    }
    zn_convenant_destroy(&old);
    zn_log("convenant-loaded version=%llu partners=%zu removed=%zu dropped-envelopes=%zu lapsed-handovers=%d",
           (unsigned long long)b->conv->version, b->conv->n_partners, removed, d.dropped, lapsed);
    s_push_all(b);
    return 0;
fail:
    if (zn_store_in_tx(b->store))
        s_rollback(b);
    zn_convenant_destroy(&next);
    return -1;
}

/* ---- audit housekeeping ------------------------------------------------------------------------ */

/* Refused handshakes of one key in one minute: one entry (ZAP counts them). */
static void s_zap_report(void *ctx, const uint8_t *key, uint64_t count, uint64_t minute)
{
    zn_broker *b = ctx;
    if (zn_audit_off(b->audit))
        return;
    zn_audit_detail det[] = {
        {.key = "count", .type = ZN_AUDIT_U64, .u64 = count},
        {.key = "key", .type = ZN_AUDIT_BIN, .p = key, .len = key ? ZN_KEY_LEN : 0},
        {.key = "minute", .type = ZN_AUDIT_U64, .u64 = minute * 60000u},
    };
    zn_audit_entry en = {.action = "handshake-refused", .decision = ZN_AUDIT_REFUSED,
                         .reason = zn_code_name(ZN_E_NOT_IN_CONVENANT), .details = det, .n_details = 3};
    bool own = !zn_store_in_tx(b->store);
    if (own && s_begin(b) != 0)
        return;
    if (s_audit(b, &en, NULL) != 0)
        zn_log("audit-write-failed action=handshake-refused");
    if (own && s_commit(b) != 0)
        zn_log("audit-write-failed action=handshake-refused");
}

/* One step of redaction in its own transaction; true when more may be waiting. After a step
 * that redacted something the WAL is truncated, so the deleted bytes leave the disk. */
static bool s_redact(zn_broker *b, uint64_t now)
{
    uint64_t keep = b->conv->policy.retention_days * 86400000u, n = 0;
    if (zn_audit_off(b->audit) || now <= keep)
        return false;
    if (s_begin(b) != 0 || zn_audit_redact(b->audit, now - keep, now, S_REDACT_MAX, &n) != 0 ||
        (n && zn_audit_sign_head(b->audit, now) != 0) || s_commit(b) != 0) {
        if (zn_store_in_tx(b->store))
            s_rollback(b);
        zn_log("redaction-failed");
        return false;
    }
    if (!n)
        return false;
    if (zn_store_checkpoint_truncate(b->store) != 0)
        zn_log("redaction-checkpoint-failed: the old bytes stay in the WAL until the next checkpoint");
    zn_log("redacted entries=%llu retention-days=%llu", (unsigned long long)n,
           (unsigned long long)b->conv->policy.retention_days);
    return true;
}

/* ---- life cycle --------------------------------------------------------------------------- */

static int s_sockets(zn_broker *b, const char *endpoint, zn_err *e)
{
    /* High-water marks per connection: a window of DELIVERs plus replies going out; incoming
     * frames beyond rcvhwm wait in the client's TCP stream (back-pressure), not in memory. */
    int one = 1, hb_ivl = 5000, hb_timeout = 15000, linger = 1000;
    int sndhwm = 2 * ZN_MAX_WINDOW, rcvhwm = 1024;
    int64_t maxmsg = 2 * (int64_t)ZN_FRAME_MAX; /* beyond this the peer is cut off; below, "too-large" */
    b->ctx = zmq_ctx_new();
    if (!b->ctx)
        return zn_err_set(e, ZN_E_INTERNAL, "cannot create the ZeroMQ context");
    b->zap_sock = zmq_socket(b->ctx, ZMQ_REP);
    b->router = zmq_socket(b->ctx, ZMQ_ROUTER);
    if (!b->zap_sock || !b->router || zmq_bind(b->zap_sock, ZN_ZAP_ENDPOINT) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "cannot start the authentication handler: %s", zmq_strerror(errno));
    if (zmq_setsockopt(b->router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(b->router, ZMQ_CURVE_SECRETKEY, b->key.transport, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(b->router, ZMQ_ZAP_DOMAIN, "zorgnet", 7) != 0 ||
        zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0 ||
        zmq_setsockopt(b->router, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) != 0 ||
        zmq_setsockopt(b->router, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0 ||
        zmq_setsockopt(b->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(b->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(b->router, ZMQ_LINGER, &linger, sizeof linger) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "cannot configure the CurveZMQ socket: %s", zmq_strerror(errno));
    if (zmq_bind(b->router, endpoint) != 0)
        return zn_err_set(e, ZN_E_IO, "cannot listen on %s: %s", endpoint, zmq_strerror(errno));
    return 0;
}

int zn_broker_new(const zn_broker_opts *opts, zn_broker **out, zn_err *e)
{
    zn_convenant *conv = NULL;
    *out = NULL;
    if (sodium_init() < 0)
        return zn_err_set(e, ZN_E_INTERNAL, "libsodium could not start");
    zn_broker *b = calloc(1, sizeof *b);
    if (!b)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    msgpack_sbuffer_init(&b->sb);
    b->verbose = opts->verbose;
    b->convenant_path = strdup(opts->convenant_path);
    if (!b->convenant_path) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (zn_keys_load_secret(opts->key_path, ZN_KIND_BROKER, &b->key, e) != 0 ||
        s_load_convenant(opts->convenant_path, &b->key, NULL, &conv, e) != 0)
        goto fail;
    if (zn_store_open(opts->db_path, &b->store, e) != 0)
        goto fail;
    if (zn_audit_log_open(b->store, &b->key, opts->audit_off, &b->audit, e) != 0) {
        zn_err_prefix(e, opts->db_path);
        goto fail;
    }
    b->pushed = (s_itemlog){.action = "deliver", .v = malloc(S_ITEMS_MAX * sizeof(s_item))};
    b->acked = (s_itemlog){.action = "ack", .v = malloc(S_ITEMS_MAX * sizeof(s_item))};
    if (!b->pushed.v || !b->acked.v) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    if (s_begin(b) != 0) {
        zn_err_set(e, ZN_E_STORE, "the database %s cannot be written", opts->db_path);
        goto fail;
    }
    /* Every start records the convenant in force and signs a head: the tree continues from the
     * last signed head, including entries committed after it before a crash. */
    if (s_pin_convenant(b, conv, e) != 0 || s_record_convenant(b, conv, "start") != 0 ||
        zn_audit_sign_head(b->audit, zn_now_ms()) != 0 || s_commit(b) != 0) {
        if (e && e->code == ZN_E_OK)
            zn_err_set(e, ZN_E_STORE, NULL);
        if (zn_store_in_tx(b->store))
            s_rollback(b);
        goto fail;
    }
    if (s_tables(b, conv) != 0) {
        zn_err_set(e, ZN_E_STORE, "the queue in %s cannot be read", opts->db_path);
        goto fail;
    }
    conv = NULL; /* in force: b owns it */
    b->zap = zn_zap_new();
    if (!b->zap) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        goto fail;
    }
    zn_zap_set_report(b->zap, s_zap_report, b);
    if (s_sockets(b, opts->listen ? opts->listen : b->conv->endpoint, e) != 0)
        goto fail;
    zn_log("started convenant=\"%s\" version=%llu partners=%zu listen=%s", b->conv->name,
           (unsigned long long)b->conv->version, b->conv->n_partners,
           opts->listen ? opts->listen : b->conv->endpoint);
    *out = b;
    return 0;
fail:
    zn_convenant_destroy(&conv);
    zn_broker_destroy(&b);
    return -1;
}

int zn_broker_run(zn_broker *b, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    sig_atomic_t reloads_seen = reload ? *reload : 0;
    while (!(stop && *stop) && !b->fatal) {
        if (reload && *reload != reloads_seen) {
            reloads_seen = *reload;
            zn_err e;
            zn_err_clear(&e);
            if (zn_broker_reload(b, &e) != 0)
                zn_log("reload-refused code=%s reason=\"%s\"", zn_code_name(e.code), e.text);
        }
        zmq_pollitem_t items[2] = {{b->zap_sock, 0, ZMQ_POLLIN, 0}, {b->router, 0, ZMQ_POLLIN, 0}};
        bool waiting = false;
        for (size_t i = 0; i < b->conv->n_partners && !waiting; i++)
            waiting = s_wants_push(&b->sessions[i]);
        int rc = zmq_poll(items, 2, waiting ? 20 : 500);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            zn_log("poll-failed reason=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        uint64_t now = zn_now_ms();
        if (items[0].revents & ZMQ_POLLIN)
            while (zn_zap_handle(b->zap, b->zap_sock, b->conv, now) == 0)
                ;
        if (items[1].revents & ZMQ_POLLIN)
            s_batch(b);
        else if (waiting)
            s_push_all(b);
        zn_zap_flush(b->zap, now, 0);
        if (now >= b->next_prune_ms) {
            uint64_t window = b->conv->policy.request_window_s * 1000u;
            uint64_t keep = (uint64_t)ZN_MSGID_KEEP_DAYS * 86400000u;
            if (s_begin(b) != 0 ||
                zn_store_prune(b->store, now > 2 * window ? now - 2 * window : 0, now > keep ? now - keep : 0) != 0 ||
                s_commit(b) != 0) {
                if (zn_store_in_tx(b->store))
                    s_rollback(b);
                zn_log("prune-failed");
            }
            b->next_prune_ms = now + S_PRUNE_EVERY_MS;
        }
        if (now >= b->next_redact_ms)
            b->next_redact_ms = s_redact(b, now) ? now : now + S_REDACT_EVERY_MS;
        if (now >= b->next_expire_ms)
            b->next_expire_ms = s_expire(b, now) ? now : now + ZN_SIGNALS_EXPIRE_EVERY_MS;
        if (now >= b->next_cases_ms)
            b->next_cases_ms = s_cases_tick(b, now) ? now : now + ZN_CASES_TICK_EVERY_MS;
        s_audit_tick(b, now, false);
    }
    /* Everything accepted was committed before its reply; say goodbye and leave. */
    for (size_t i = 0; i < b->conv->n_partners; i++) {
        s_session *s = &b->sessions[i];
        if (s->online) {
            msgpack_sbuffer_clear(&b->sb);
            zn_frame_bye(&b->sb, ZN_E_SHUTDOWN, zn_code_hint(ZN_E_SHUTDOWN));
            (void)s_send(b, s->rid, s->rid_len, b->sb.data, b->sb.size);
        }
    }
    zn_zap_flush(b->zap, zn_now_ms(), 1);
    if (b->fatal)
        return -1;
    zn_audit_detail det[] = {
        {.key = "commits", .type = ZN_AUDIT_U64, .u64 = b->commits},
        {.key = "frames", .type = ZN_AUDIT_U64, .u64 = b->frames},
    };
    zn_audit_entry en = {.action = "shutdown", .decision = ZN_AUDIT_ALLOWED, .details = det, .n_details = 2};
    /* pushes not yet recorded, the shutdown itself, and a head over everything */
    if (s_begin(b) != 0 || s_record_items(b, &b->pushed) != 0 || s_audit(b, &en, NULL) != 0 ||
        zn_audit_sign_head(b->audit, zn_now_ms()) != 0 || s_commit(b) != 0) {
        if (zn_store_in_tx(b->store))
            s_rollback(b);
        zn_log("audit-write-failed at shutdown");
    }
    zn_log("shutdown frames=%llu commits=%llu handshakes-refused=%llu", (unsigned long long)b->frames,
           (unsigned long long)b->commits, (unsigned long long)zn_zap_refused_total(b->zap));
    return 0;
}

void zn_broker_destroy(zn_broker **bp)
{
    if (!bp || !*bp)
        return;
    zn_broker *b = *bp;
    if (b->router)
        zmq_close(b->router);
    if (b->zap_sock)
        zmq_close(b->zap_sock);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    zn_audit_log_close(&b->audit);
    zn_store_close(&b->store);
    zn_zap_destroy(&b->zap);
    free(b->pushed.v), free(b->acked.v);
    s_session_free(b->sessions, b->conv ? b->conv->n_partners : 0);
    zn_convenant_destroy(&b->conv);
    zn_seckeys_wipe(&b->key);
    free(b->keys), free(b->queued), free(b->delta), free(b->last_report), free(b->adj);
    free(b->convenant_path);
    msgpack_sbuffer_destroy(&b->sb);
    free(b);
    *bp = NULL;
}
