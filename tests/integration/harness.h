/* harness — integration tests against the real zorgnetd on loopback.
 *
 * A zh_env is one world: a temporary directory, the keys of an authority, a broker and a few
 * partners (generated in-process and also written as files, so tools run by a test can use them:
 * DIR/keys/{authority,broker,outsider,<party id>}.{key,pub} and DIR/keys/network.key), a signed
 * convenant at DIR/convenant.zc (networks 0-12-binnenstad and 12-18, the network key sealed to
 * every partner and the auditor), a database path and a broker log. zh_broker_start() runs
 * ZN_BIN/zorgnetd --listen tcp://127.0.0.1:PORT --verbose with stdout and stderr appended to
 * DIR/broker.log. Set ZH_KEEP in the environment to keep the directory for a post-mortem.
 *
 * The parties (index into h->party):
 *   school       partner in 0-12-binnenstad
 *   wijkracht    partner in 0-12-binnenstad and 12-18
 *   politie      partner in 0-12-binnenstad and 12-18
 *   ggd          partner in 12-18
 *   coordinator  coordinator in both networks
 *   auditor      auditor
 * h->outsider holds partner keys that no convenant names.
 *
 * Raw clients are ZMQ_DEALER sockets with CURVE client keys and ZMQ_LINGER 0 (so an unsent ACK
 * is lost on close: zh_sync first). Every wait takes a timeout in milliseconds; nothing blocks
 * without one.
 *
 * Ownership: zh_env_new returns an env released by zh_env_destroy(&h) (or zh_env_finish, which
 * also checks the broker's exit), which stops a running broker (SIGKILL if it does not leave on
 * SIGTERM), closes raw clients still open and the ZeroMQ context, and removes the directory.
 * zh_connect's sockets belong to the caller until zh_close(h, &sock). zh_msg holds a received
 * frame and its buffer; release it with zh_msg_free.
 *
 * Tests that speak signed requests at the broker's time, read inboxes and the audit log use the
 * request fixture at the end (zh_fix): its helpers fail the running cmocka test themselves. */
#ifndef ZN_HARNESS_H
#define ZN_HARNESS_H

#include "zn_audit.h"
#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_frame.h"
#include "zn_keys.h"
#include "zn_pseudonym.h"
#include "zn_request.h"
#include "zn_signal.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZH_NET0 "0-12-binnenstad"
#define ZH_NET1 "12-18"
#define ZH_HANDLER "J. de Vries (intern begeleider)"
#define ZH_TIMEOUT 5000 /* ms: ordinary answer */
#define ZH_QUIET 400    /* ms: "nothing arrives" */
#define ZH_PATH_MAX 512
#define ZH_MAX_SOCKS 256 /* open raw clients per env */

enum { ZH_SCHOOL, ZH_WIJKRACHT, ZH_POLITIE, ZH_GGD, ZH_COORD, ZH_AUDITOR, ZH_NPARTY };
#define ZH_BIT(i) (1u << (i))

typedef struct {
    const char *id;
    zn_seckeys keys;
} zh_party;

typedef struct {
    uint64_t version;
    int64_t valid_from;  /* seconds relative to now */
    int64_t valid_until; /* seconds relative to now */
    unsigned exclude;    /* ZH_BIT(party) of parties left out */
    uint64_t queue_quota;
    uint64_t request_window_s;
} zh_conv_spec;

typedef struct {
    char dir[ZH_PATH_MAX];
    char conv_path[ZH_PATH_MAX];
    char key_path[ZH_PATH_MAX]; /* the broker's secret key file */
    char db_path[ZH_PATH_MAX];
    char log_path[ZH_PATH_MAX];
    char endpoint[64];
    int port;
    pid_t pid; /* 0 when no broker runs */
    void *zctx;
    zn_seckeys authority, broker, outsider;
    zn_netkey netkey;
    zh_party party[ZH_NPARTY];
    uint64_t version;     /* version of the convenant last written to conv_path */
    zh_conv_spec spec;    /* and how it was made */
    uint64_t queue_quota; /* used by zh_write_convenant */
    uint64_t request_window_s;
    unsigned mon_seq;
    pthread_mutex_t lock; /* guards socks: threads may open their own sockets */
    void *socks[ZH_MAX_SOCKS];
} zh_env;

typedef struct {
    uint8_t *buf;
    size_t len;
    bool more;   /* the frame had further parts */
    bool parsed; /* f is valid */
    zn_frame f;
    zn_err e;    /* why parsing failed */
} zh_msg;

/* ---- world ---- */

/* queue_quota 0 keeps the policy default. NULL on failure (with a message on stderr). */
zh_env *zh_env_new(uint64_t queue_quota);
void zh_env_destroy(zh_env **h);
/* End of a test: stop a running broker with SIGTERM (it must exit 0), check that its log holds
 * no sanitizer report, then destroy. -1 (with the log on stderr) when either check fails. */
int zh_env_finish(zh_env **h);
uint64_t zh_now_ms(void);

/* The usual start of a test: an env with a running broker, school connected (HELLO, window 0:
 * sends only) and a case of school's in ZH_NET0. */
typedef struct {
    zh_env *h;
    void *school;
    uint8_t kase[ZN_ID_LEN];
} zh_world;
/* NULL on failure (with the broker's log on stderr). */
zh_world *zh_world_new(uint64_t queue_quota);
/* zh_env_finish, then free; NULLs *w; 0 when the broker ended cleanly (or w is NULL). */
int zh_world_finish(zh_world **w);

/* out = h->dir + "/" + name; -1 when it does not fit. */
int zh_path(const zh_env *h, char out[ZH_PATH_MAX], const char *name) __attribute__((warn_unused_result));
void zh_sleep_ms(unsigned ms);

/* Build and sign a convenant; write it to path (NULL: h->conv_path). */
int zh_write_convenant_ex(zh_env *h, const zh_conv_spec *spec, const char *path);
/* Valid from yesterday for a year, h->queue_quota, every party but `exclude`. */
int zh_write_convenant(zh_env *h, uint64_t version, unsigned exclude);

/* ---- broker process ---- */

/* Start zorgnetd with the env's files and wait (bounded) until it has logged "started" and
 * accepts TCP. When another process took the port meanwhile, a new port is chosen (and the
 * convenant rewritten with it) up to twice. 0 when it serves; -1 when it exited or did not
 * listen in time (the log is then dumped to stderr). */
int zh_broker_start(zh_env *h);
/* Start with other files (NULL: the env's) and wait for it to exit within timeout_ms. Returns
 * the exit code, or -1 when it did not exit in time (then it is killed), or -2 on a signal. */
int zh_broker_run_expect_exit(zh_env *h, const char *conv, const char *key, const char *db,
                              int timeout_ms);
/* Send sig and wait up to timeout_ms. Returns the exit code, 128+signal for a signal death, or
 * -1 when it had to be killed. */
int zh_broker_stop(zh_env *h, int sig, int timeout_ms);
int zh_broker_signal(zh_env *h, int sig);
/* True while the started broker has not exited. */
bool zh_broker_alive(zh_env *h);

/* ---- log ---- */

size_t zh_log_size(const zh_env *h);
/* Lines after byte offset `from` containing every needle (needle2 may be NULL). */
int zh_log_count(const zh_env *h, size_t from, const char *needle, const char *needle2);
/* Wait until zh_log_count(...) >= n; 0 when it did, -1 on timeout. */
int zh_log_wait(const zh_env *h, size_t from, const char *needle, const char *needle2, int n,
                int timeout_ms);
/* Copy the first matching line after `from` (without newline) into out; -1 when none. */
int zh_log_line(const zh_env *h, size_t from, const char *needle, char *out, size_t cap);
void zh_log_dump(const zh_env *h); /* to stderr, for a failing test */

/* Write the convenant with `version` and `exclude`, send SIGHUP and wait for the broker's
 * answer in the log: 0 loaded, 1 refused, -1 neither in time. */
int zh_reload(zh_env *h, uint64_t version, unsigned exclude);
int zh_hup_wait(zh_env *h, size_t mark);

/* ---- raw clients ---- */

/* A DEALER connected with the given keys' transport pair; NULL on failure. The env remembers
 * it, so zh_env_destroy closes what a failing test left open. */
void *zh_connect(zh_env *h, const zn_seckeys *keys);
void *zh_connect_party(zh_env *h, int party);
void zh_close(zh_env *h, void **sock);
int zh_send_bytes(void *sock, const void *p, size_t n);
int zh_send_sb(void *sock, const msgpack_sbuffer *sb);
/* Receive one message (all its parts; the first part is kept). 0, or -1 on timeout. */
int zh_recv(void *sock, int timeout_ms, zh_msg *m);
void zh_msg_free(zh_msg *m);
/* True when nothing arrives within ms. */
bool zh_quiet(void *sock, int ms);

/* Wait (bounded) for the outcome of a CURVE handshake on a fresh socket with these keys:
 * 1 refused by the broker (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH), 0 succeeded, -1 neither. */
int zh_handshake(zh_env *h, const zn_seckeys *keys, int timeout_ms);

/* ---- frames ---- */

/* HELLO (corr) and wait for WELCOME; 0 on success. */
int zh_hello(void *sock, uint32_t corr, uint64_t version, uint32_t window);
/* Send sb and receive the reply into m; 0 when something arrived. */
int zh_call(void *sock, const msgpack_sbuffer *sb, zh_msg *m, int timeout_ms);
/* True when m is an ERROR with this code and corr. */
bool zh_is_error(const zh_msg *m, zn_code code, uint32_t corr);
/* Send sb, expect ERROR code with corr; 0 on match, else -1 (with a line on stderr). */
int zh_expect_error(void *sock, const msgpack_sbuffer *sb, zn_code code, uint32_t corr);

/* Sealed envelope from `from` to `to` on case_id; msgid NULL picks a random one (written back
 * when msgid_out is given). *env is malloc'd. */
int zh_seal(zh_env *h, int from, const char *to, const uint8_t case_id[ZN_ID_LEN],
            const uint8_t *msgid, const void *content, size_t len, uint8_t **env, size_t *env_len,
            uint8_t msgid_out[ZN_ID_LEN]);
/* Same, with full control of the header (sender keys from h->party[signer]). */
int zh_seal_header(zh_env *h, int signer, const zn_header *hdr, const uint8_t recipient_box[ZN_KEY_LEN],
                   const void *content, size_t len, uint8_t **env, size_t *env_len);
void zh_frame_send(msgpack_sbuffer *sb, uint32_t corr, const uint8_t *env, size_t len);
/* SEND and wait for ACCEPTED; 0 on success (duplicate flag written when given). */
int zh_send_env(void *sock, uint32_t corr, const uint8_t *env, size_t len, bool *duplicate);

/* A REQUEST frame with every field chosen: [version, kind, partner, ZH_HANDLER, nonce, time_ms,
 * h->version, body] signed by h->party[signer] over ZN_REQUEST_NS || request. */
int zh_request_frame_ex(zh_env *h, msgpack_sbuffer *sb, uint32_t corr, int signer, uint64_t version,
                        const char *kind, const char *partner, const uint8_t nonce[ZN_NONCE_LEN],
                        uint64_t time_ms, const uint8_t *body, size_t body_len);
/* A signed case-new request frame: kind "case-new", partner `claimed` (NULL: signer's id),
 * signed by h->party[signer], at time_ms (0: now), with nonce (NULL: fresh random). */
int zh_case_new_frame(zh_env *h, msgpack_sbuffer *sb, uint32_t corr, int signer, const char *claimed,
                      const uint8_t case_id[ZN_ID_LEN], const char *network, uint64_t time_ms,
                      const uint8_t *nonce);
/* case-new over sock; random case id written to case_id. 0 when RESULT case-new came back. */
int zh_case_new(zh_env *h, void *sock, int party, const char *network, uint8_t case_id[ZN_ID_LEN]);

/* ACK one item id. */
int zh_ack(void *sock, uint32_t corr, const uint8_t item_id[ZN_ID_LEN]);

/* Receive until a frame of `type` arrives (others are skipped and counted in *skipped when
 * given). 0 when found, -1 on timeout or a frame that does not parse. */
int zh_wait_type(void *sock, uint32_t type, int timeout_ms, zh_msg *m, int *skipped);

/* A delivered item, read from a DELIVER frame. */
typedef struct {
    uint8_t item_id[ZN_ID_LEN];
    uint32_t kind;                /* ZN_ITEM_ENVELOPE or ZN_ITEM_NOTICE */
    uint8_t msgid[ZN_ID_LEN];     /* the envelope's, or the notice's "msgid" */
    uint8_t case_id[ZN_ID_LEN];
    char sender[ZN_IDENT_MAX];    /* envelope */
    char recipient[ZN_IDENT_MAX]; /* envelope, or the notice's "recipient" */
    char notice[ZN_IDENT_MAX];    /* notice type */
    char reason[ZN_IDENT_MAX];    /* notice "reason" */
    bool verified;                /* envelope: signature good with the sender's key in the env */
} zh_item;

/* Fill it from a parsed DELIVER; 0 on success. */
int zh_item_from(const zh_env *h, const zh_msg *m, zh_item *it);
/* Receive DELIVERs until IDLE, acknowledging each when ack; at most max are stored in items
 * (may be NULL), all are counted. Returns the count, or -1 when timeout_ms passes without a
 * frame or a frame other than DELIVER/IDLE arrives. */
int zh_drain(const zh_env *h, void *sock, zh_item *items, int max, bool ack, int timeout_ms);
/* CONVENANT_GET round trip: when it returns 0, every frame sent before on this socket has been
 * handled and committed. Pushed frames that arrive meanwhile are dropped and counted. */
int zh_sync(void *sock, uint32_t corr, int *skipped);

/* Random bytes. */
void zh_random(void *p, size_t n);

/* The whole file at path (malloc'd, one spare byte; *len its size), or NULL with *len 0 when it
 * cannot be opened (e.g. a WAL that does not exist). A short read fails the test. */
uint8_t *zh_slurp(const char *path, size_t *len);

/* ---- audit-log tests: broker arguments and convenant policy ---- */

/* zh_broker_start with extra command-line arguments after the usual ones (a NULL-terminated
 * list, at most 8; NULL for none), e.g. {"--clock-offset", "172800", NULL}. When the port was
 * taken meanwhile, the endpoint of the convenant file at h->conv_path is changed in place (other
 * edits of that file are kept). 0 when it serves, -1 otherwise (the log is dumped to stderr). */
int zh_broker_start_args(zh_env *h, const char *const *extra);
/* Change one field of the convenant file at h->conv_path (zn_convenant_set: a policy number such
 * as "retention_days", or "name", "endpoint", ...), keep its version, sign it again with
 * h->authority and write it back. 0 on success. */
int zh_convenant_edit(zh_env *h, const char *key, const char *value);
/* The same for several fields at once (kv: key, value, ..., NULL), signed once: a convenant whose
 * fields must agree with each other (override_review_h below override_lifetime_d) can be moved
 * in one step. 0 on success. */
int zh_convenant_edits(zh_env *h, const char *const *kv);

/* ---- signed requests of any kind ---- */

/* A REQUEST frame of `kind` with an encoded body, for h->party[signer]'s own id, signed by it,
 * with handler (NULL: ZH_HANDLER), a fresh nonce and time_ms (0: now). 0 on success. */
int zh_request_frame_kind(zh_env *h, msgpack_sbuffer *sb, uint32_t corr, int signer, const char *kind,
                          const char *handler, uint64_t time_ms, const uint8_t *body, size_t body_len);
/* Send such a request over sock and wait (timeout_ms) for its answer. 0: a RESULT of `kind` with
 * this corr arrived (in *m, to be freed); 1: an ERROR with this corr arrived (in *m); -1: nothing
 * in time, or a reply that is neither (m freed, a line on stderr). Pushed frames (corr 0:
 * DELIVER, IDLE) that arrive meanwhile are dropped unacknowledged and counted in *skipped when
 * given: use a connection with window 0 for requests. */
int zh_request_call(zh_env *h, void *sock, uint32_t corr, int signer, const char *kind, const char *handler,
                    uint64_t time_ms, const uint8_t *body, size_t body_len, zh_msg *m, int timeout_ms,
                    int *skipped);

/* ---- the request fixture: signed requests at the broker's time, inboxes, the audit log ---- */

/* One world for tests that speak signed requests: an env with a running broker (restarted with a
 * clock running ahead when a test moves time), the convenant as that broker reads it (for
 * sealing), a window-0 request connection per party opened on first use, a corr counter, the
 * audit index of the last accepted envelope and the code and text of the last refusal.
 *
 * Unlike the rest of the harness, these helpers are for cmocka test bodies: anything unexpected
 * (no answer, a reply that does not parse, a refusal without a sentence) fails the running test,
 * so they return only what a test compares. Ownership: zh_fix_setup puts a fixture in *state,
 * zh_fix_teardown releases it (with zh_env_finish: the broker must end cleanly). */
#define ZH_ERR_MAX (ZN_IDENT_MAX + ZN_ERR_TEXT_MAX + 4)
#define ZH_WINDOW 16    /* the window of a connection that takes an inbox */
#define ZH_NOTES_MAX 48 /* items one inbox holds */

typedef struct {
    zh_env *h;
    zn_convenant *conv;        /* the convenant file as the running broker read it */
    void *req[ZH_NPARTY];      /* window-0 connections for requests, opened on first use */
    int64_t offset_s;          /* the running broker's --clock-offset */
    uint32_t corr;
    uint64_t last_index;       /* the audit index the last ACCEPTED of zh_fix_send named */
    bool notices_only;         /* an envelope delivered to an inbox fails the test */
    char last_err[ZH_ERR_MAX]; /* "code: text" of the last refusal; "" after a RESULT */
} zh_fix;

/* cmocka setup and teardown: a fixture with a running broker in *state; 0 on success. */
int zh_fix_setup(void **state);
int zh_fix_teardown(void **state);
/* The running broker's clock: now plus its --clock-offset, in ms. */
uint64_t zh_fix_now(const zh_fix *f);
/* Close the request connections. */
void zh_fix_drop_conns(zh_fix *f);
/* Stop the broker cleanly (when one runs), apply convenant edits (key, value, ..., NULL; signed
 * once, zh_convenant_edits), start it with the clock offset_s seconds ahead and read its
 * convenant again. */
void zh_fix_restart(zh_fix *f, int64_t offset_s, const char *const *edits);
/* Close the request connections, write the convenant anew with `version` leaving out `exclude`
 * (zh_reload: the broker must load it) and read it again. */
void zh_fix_reload(zh_fix *f, uint64_t version, unsigned exclude);
/* party's request connection (HELLO with window 0 on first use). */
void *zh_fix_conn(zh_fix *f, int party);

/* "a RESULT" for ZN_E_OK, else the code's name. */
const char *zh_code_text(zn_code c);
/* A signed request of `kind` by party (handler NULL: ZH_HANDLER) at the broker's time with raw
 * body bytes. ZN_E_OK with the RESULT in *m (when m is given; free it), or the refusal's code
 * (its text in f->last_err). */
zn_code zh_fix_call_raw(zh_fix *f, int party, const char *handler, const char *kind, const void *body, size_t len,
                        zh_msg *m);
zn_code zh_fix_call(zh_fix *f, int party, const char *handler, const char *kind, const msgpack_sbuffer *body,
                    zh_msg *m);
/* Fail the test unless got == want: "WHAT by PARTY: expected ..., got ... (last_err)". */
void zh_fix_want(const zh_fix *f, const char *what, int party, zn_code got, zn_code want);
/* An envelope from `from` to `to` on the case with header flags, at the broker's time, sent over
 * from's request connection (pushed frames meanwhile are skipped). ZN_E_OK (msgid written when
 * given, f->last_index set) or the refusal's code. */
zn_code zh_fix_send(zh_fix *f, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint64_t flags,
                    uint8_t msgid[ZN_ID_LEN]);
/* zh_fix_send with the message id msgid_in (NULL: a random one), e.g. a retry of a message
 * already accepted; *duplicate (when given) gets ACCEPTED's duplicate flag, else a duplicate
 * fails the test (as in zh_fix_send). */
zn_code zh_fix_send_ex(zh_fix *f, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint64_t flags,
                       const uint8_t *msgid_in, uint8_t msgid[ZN_ID_LEN], bool *duplicate);
/* The pseudonym of a test BSN as a partner makes it (with h->netkey). */
void zh_psn(const zh_env *h, const char *bsn, uint8_t out[ZN_PSN_LEN]);

/* What a party received: an envelope (its header's ids and names) or a notice (the fields of the
 * names below that it has; absent ones are "" and 0). */
typedef struct {
    bool envelope;
    char type[ZN_IDENT_MAX]; /* notice type; "" for an envelope */
    uint8_t item[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN], msgid[ZN_ID_LEN], override[ZN_ID_LEN], handover[ZN_ID_LEN];
    uint8_t match[ZN_ID_LEN], signal[ZN_ID_LEN], person[ZN_PSN_LEN];
    bool has_case, has_msgid, has_override, has_handover, has_match, has_signal, has_person;
    char sender[ZN_IDENT_MAX], recipient[ZN_IDENT_MAX]; /* envelope; notice "recipient" */
    char from[ZN_IDENT_MAX], to[ZN_IDENT_MAX], by[ZN_IDENT_MAX], state[ZN_IDENT_MAX], reason[ZN_IDENT_MAX];
    char partner[ZN_IDENT_MAX], network[ZN_IDENT_MAX], link[ZN_IDENT_MAX], disclosure[ZN_IDENT_MAX];
    char lead[ZN_IDENT_MAX], proposed[ZN_IDENT_MAX], connected_by[ZN_IDENT_MAX], limit[ZN_IDENT_MAX];
    char a_partner[ZN_IDENT_MAX], a_network[ZN_IDENT_MAX], b_partner[ZN_IDENT_MAX], b_network[ZN_IDENT_MAX];
    char contact[ZN_SIGNAL_CONTACT_MAX], a_contact[ZN_SIGNAL_CONTACT_MAX], b_contact[ZN_SIGNAL_CONTACT_MAX];
    char handler[ZN_HANDLER_MAX];
    uint64_t flags, step, expires, review_by, timeout, since, count;
} zh_note;

typedef struct {
    int n;
    zh_note v[ZH_NOTES_MAX];
} zh_inbox;

/* Read DELIVERs until IDLE, acknowledging each, into box (appended). */
void zh_fix_take(zh_fix *f, void *sock, zh_inbox *box, int timeout_ms);
/* A connection with window ZH_WINDOW: what was queued is taken (acknowledged) into box (emptied
 * first). The socket is the caller's (zh_close). */
void *zh_fix_listen_keys(zh_fix *f, const zn_seckeys *keys, zh_inbox *box);
void *zh_fix_listen(zh_fix *f, int party, zh_inbox *box);
/* Connect, take everything queued (acknowledged and committed), leave. */
void zh_fix_inbox_keys(zh_fix *f, const zn_seckeys *keys, zh_inbox *box);
void zh_fix_inbox(zh_fix *f, int party, zh_inbox *box);
/* How many notices of `type` (NULL: envelopes) box holds. */
int zh_inbox_count(const zh_inbox *b, const char *type);
/* The only notice of `type` in box (fails the test when there is not exactly one). */
const zh_note *zh_inbox_one(const zh_inbox *b, const char *type, const char *whose);
/* The envelope with this msgid, or NULL. */
const zh_note *zh_inbox_env(const zh_inbox *b, const uint8_t msgid[ZN_ID_LEN]);

/* The audit log's entries that still have their content, decoded (each owns its bytes). */
typedef struct {
    uint8_t *buf;
    zn_doc doc;
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
} zh_ent;

typedef struct {
    zh_ent *e;
    size_t n, cap;
} zh_alog;

/* A filter over entries; NULL fields match anything; actor, reason and basis "" mean "none". */
typedef struct {
    const char *action, *actor, *counterpart, *reason, *basis;
    zn_audit_decision decision; /* 0: any */
    const uint8_t *case_id;     /* NULL: any */
    const char *key;            /* an id detail that must match (with id) */
    const uint8_t *id;
} zh_q;

/* From the database with sqlite3, read-only (the broker may be running). */
void zh_alog_read_db(const zh_env *h, zh_alog *lg);
/* Page by page with "audit-read" requests by the auditor (each itself an entry the broker
 * records: the reading stops at the size the first page named). */
void zh_fix_alog(zh_fix *f, zh_alog *lg);
/* zh_fix_alog until it holds at least n entries matching q (bounded); the log is left in lg. */
void zh_fix_alog_wait(zh_fix *f, zh_alog *lg, zh_q q, int n, int timeout_ms);
void zh_alog_free(zh_alog *lg);
int zh_alog_count(const zh_alog *lg, zh_q q);
/* The only entry matching q (fails the test when there is not exactly one). */
const zh_ent *zh_alog_one(const zh_alog *lg, zh_q q);
/* The entry at index (fails the test when there is none). */
const zh_ent *zh_alog_at(const zh_alog *lg, uint64_t index);

/* s is want (NULL is nothing). */
bool zh_is(const char *s, const char *want);
/* The detail under key, or NULL; the typed ones are true when it is there with that value. */
const zn_audit_detail *zh_det(const zh_ent *x, const char *key);
bool zh_det_str(const zh_ent *x, const char *key, const char *want);
bool zh_det_bin(const zh_ent *x, const char *key, const uint8_t *want, size_t n);
bool zh_det_u64(const zh_ent *x, const char *key, uint64_t want);
/* The number under key (fails the test when there is none). */
uint64_t zh_det_num(const zh_ent *x, const char *key);

#endif
