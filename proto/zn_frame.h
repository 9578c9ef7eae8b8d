/* zn_frame — every message between client and broker is one ZeroMQ frame holding one msgpack
 * array [protocol version = 1, type u8, corr u32, fields...]. corr is chosen by the client and
 * echoed in the reply; pushed frames (DELIVER, BYE) carry corr 0.
 *
 *   1  HELLO          c->b  [1,1,corr, convenant_version u64, window u32, known_size u64]
 *   2  WELCOME        b->c  [1,2,corr, convenant_version u64, partner_id str, time_ms u64,
 *                            tree_head bin, tree_head_sig bin64, consistency [bin32, ...]]
 *   3  SEND           c->b  [1,3,corr, envelope]
 *   4  ACCEPTED       b->c  [1,4,corr, msgid bin16, duplicate bool, audit_index u64]
 *   5  DELIVER        b->c  [1,5,0, item_id bin16, kind u8 (1 envelope, 2 notice), item]
 *   6  ACK            c->b  [1,6,corr, [item_id bin16, ...] (1..ZN_MAX_ACK)]   (no reply)
 *   7  REQUEST        c->b  [1,7,corr, request bin, signature bin64]
 *   8  RESULT         b->c  [1,8,corr, kind str, body]   ("case-new": [case_id bin16])
 *   9  ERROR          b->c  [1,9,corr, code str, text str]
 *  10  BYE            b->c  [1,10,0, code str, text str]  (the broker ends the session)
 *  11  CONVENANT_GET  c->b  [1,11,corr]
 *  12  CONVENANT      b->c  [1,12,corr, convenant file bin]
 *  13  IDLE           b->c  [1,13,0]   (everything queued for this connection has been pushed;
 *                                      sent once the backlog is drained, again after new pushes)
 *  14  RELEASE        c->b  [1,14,corr, [item_id bin16, ...] (1..ZN_MAX_ACK)]   (no reply)
 *                            items the client leaves queued (e.g. filtered out): their window
 *                            places are freed, the items stay for a later session
 *
 * Notice item: [type str, time_ms u64, fields map]. Type "envelope-dropped" has fields
 *   {"msgid": bin16, "case": bin16, "recipient": str, "reason": str (an error code)}.
 *
 * window in HELLO: how many delivered, unacknowledged items the client accepts at once; 0 means
 * "do not deliver to this connection" (e.g. a one-shot send). known_size: the size of the last
 * signed tree head the client accepted (0: none); WELCOME answers with the broker's latest signed
 * tree head and the consistency proof from known_size to its size (empty when known_size is 0 or
 * not below the head's size). audit_index in ACCEPTED: the audit log entry of the acceptance.
 *
 * Ownership: zn_frame_parse keeps a zn_doc inside the frame that points into the input buffer;
 * keep the buffer alive and call zn_frame_free(). Encoders append one whole frame to an
 * sbuffer the caller owns. */
#ifndef ZN_FRAME_H
#define ZN_FRAME_H

#include "zn_envelope.h"
#include "zn_audit.h"
#include "zn_err.h"
#include "zn_merkle.h"
#include "zn_request.h"
#include "zn_wire.h"

#define ZN_PROTO_VERSION 1
#define ZN_FRAME_MAX (ZN_MAX_CT + 8192u) /* larger frames get "too-large" */
#define ZN_MAX_ACK 1024
#define ZN_MAX_WINDOW 4096
#define ZN_ITEM_ENVELOPE 1
#define ZN_ITEM_NOTICE 2
#define ZN_NOTICE_FIELDS_MAX 16

typedef enum {
    ZN_T_HELLO = 1,
    ZN_T_WELCOME = 2,
    ZN_T_SEND = 3,
    ZN_T_ACCEPTED = 4,
    ZN_T_DELIVER = 5,
    ZN_T_ACK = 6,
    ZN_T_REQUEST = 7,
    ZN_T_RESULT = 8,
    ZN_T_ERROR = 9,
    ZN_T_BYE = 10,
    ZN_T_CONVENANT_GET = 11,
    ZN_T_CONVENANT = 12,
    ZN_T_IDLE = 13,
    ZN_T_RELEASE = 14,
} zn_ftype;

typedef struct {
    char type[ZN_IDENT_MAX];
    uint64_t time_ms;
    const msgpack_object *fields; /* a map; read with zn_obj_map_get */
} zn_notice;

typedef struct {
    zn_doc doc;
    uint32_t type;
    uint32_t corr;
    union {
        struct { uint64_t convenant_version; uint32_t window; uint64_t known_size; } hello;
        struct {
            uint64_t convenant_version;
            char partner[ZN_IDENT_MAX];
            uint64_t time_ms;
            const uint8_t *head; /* signed tree head bytes (verify with zn_tree_head_verify) */
            size_t head_len;
            uint8_t head_sig[ZN_SIG_LEN];
            uint32_t n_proof;              /* consistency hashes; copy with zn_obj_hashes */
            const msgpack_object *proof;
        } welcome;
        struct { zn_envelope env; } send;
        struct { uint8_t msgid[ZN_ID_LEN]; bool duplicate; uint64_t audit_index; } accepted;
        struct {
            uint8_t item_id[ZN_ID_LEN];
            uint32_t kind;
            zn_envelope env;   /* kind ZN_ITEM_ENVELOPE */
            zn_notice notice;  /* kind ZN_ITEM_NOTICE */
        } deliver;
        struct { uint32_t n; const msgpack_object *ids; } ack; /* ACK and RELEASE: each a bin16, checked */
        struct { const uint8_t *req; size_t len; uint8_t sig[ZN_SIG_LEN]; } request;
        struct { char kind[ZN_IDENT_MAX]; const msgpack_object *body; } result;
        struct { zn_code code; char name[ZN_IDENT_MAX]; char text[ZN_ERR_TEXT_MAX]; } error; /* ERROR, BYE */
        struct { const uint8_t *raw; size_t len; } convenant;
    } u;
} zn_frame;

/* Validate a whole frame: version, type, every field's type and length, no trailing bytes.
 * On failure, e says why (ZN_E_MALFORMED, ZN_E_TOO_LARGE, ZN_E_UNKNOWN_TYPE, ZN_E_VERSION) and
 * f->corr holds the correlation id when it could be read (else 0). */
int zn_frame_parse(const uint8_t *p, size_t n, zn_frame *f, zn_err *e) __attribute__((warn_unused_result));
void zn_frame_free(zn_frame *f);
/* Copy the i-th acknowledged or released id (i < u.ack.n). */
void zn_frame_ack_id(const zn_frame *f, uint32_t i, uint8_t out[ZN_ID_LEN]);

/* Encoders. */
void zn_frame_hello(msgpack_sbuffer *b, uint32_t corr, uint64_t convenant_version, uint32_t window,
                    uint64_t known_size);
/* proof: n_proof hashes of 32 bytes end to end. */
void zn_frame_welcome(msgpack_sbuffer *b, uint32_t corr, uint64_t convenant_version,
                      const char *partner, uint64_t time_ms, const uint8_t *head, size_t head_len,
                      const uint8_t head_sig[ZN_SIG_LEN], const uint8_t *proof, size_t n_proof);
/* SEND wraps an already encoded envelope. */
void zn_frame_send(msgpack_sbuffer *b, uint32_t corr, const uint8_t *env, size_t env_len);
void zn_frame_accepted(msgpack_sbuffer *b, uint32_t corr, const uint8_t msgid[ZN_ID_LEN], bool duplicate,
                       uint64_t audit_index);
/* DELIVER wraps an already encoded item (an envelope or a notice). */
void zn_frame_deliver(msgpack_sbuffer *b, const uint8_t item_id[ZN_ID_LEN], uint32_t kind,
                      const uint8_t *item, size_t item_len);
void zn_frame_ack(msgpack_sbuffer *b, uint32_t corr, const uint8_t (*ids)[ZN_ID_LEN], uint32_t n);
void zn_frame_release(msgpack_sbuffer *b, uint32_t corr, const uint8_t (*ids)[ZN_ID_LEN], uint32_t n);
void zn_frame_request(msgpack_sbuffer *b, uint32_t corr, const uint8_t *req, size_t len,
                      const uint8_t sig[ZN_SIG_LEN]);
/* RESULT wraps an already encoded body. */
void zn_frame_result(msgpack_sbuffer *b, uint32_t corr, const char *kind, const uint8_t *body, size_t len);
void zn_frame_error(msgpack_sbuffer *b, uint32_t corr, zn_code code, const char *text);
void zn_frame_bye(msgpack_sbuffer *b, zn_code code, const char *text);
void zn_frame_convenant_get(msgpack_sbuffer *b, uint32_t corr);
void zn_frame_convenant(msgpack_sbuffer *b, uint32_t corr, const uint8_t *raw, size_t len);
void zn_frame_idle(msgpack_sbuffer *b);

/* Notice items. */
int zn_notice_parse(const msgpack_object *o, zn_notice *out) __attribute__((warn_unused_result));
/* A notice item [type str, time_ms u64, {key: value}] with the fields that are set: a STR field
 * whose s is NULL or "" is left out; BIN packs len bytes from p; U64 packs u. Keys are
 * identifiers, written in the order given. Every notice encoder builds on this one. */
typedef struct {
    const char *key;
    enum { ZN_NF_STR, ZN_NF_BIN, ZN_NF_U64 } type;
    const char *s;
    const uint8_t *p;
    size_t len;
    uint64_t u;
} zn_notice_field;
#define ZN_NF_S(k, v) {(k), ZN_NF_STR, (v), NULL, 0, 0}
#define ZN_NF_B(k, v, n) {(k), ZN_NF_BIN, NULL, (v), (n), 0}
#define ZN_NF_ID(k, v) {(k), ZN_NF_BIN, NULL, (v), ZN_ID_LEN, 0}
#define ZN_NF_U(k, v) {(k), ZN_NF_U64, NULL, NULL, 0, (v)}
void zn_notice_build(msgpack_sbuffer *b, const char *type, uint64_t time_ms, const zn_notice_field *f, size_t n);
/* "envelope-dropped" */
void zn_notice_dropped(msgpack_sbuffer *b, uint64_t time_ms, const uint8_t msgid[ZN_ID_LEN],
                       const uint8_t case_id[ZN_ID_LEN], const char *recipient, zn_code reason);

#endif
