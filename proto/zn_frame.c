/* zn_frame — the frames between client and broker (see zn_frame.h and docs/PROTOCOL.md). */
#include "zn_frame.h"

#include <stdlib.h>
#include <string.h>

/* Largest legitimate frame: an ACK of ZN_MAX_ACK ids (about 1030 objects); a notice or a
 * RESULT body is far smaller. The limit bounds the work msgpack-c does for a hostile frame. */
#define S_MAX_OBJECTS 4200
#define S_LAST_TYPE ZN_T_RELEASE

static const struct {
    const char *name;
    uint32_t fields; /* after [version, type, corr] */
    bool pushed;     /* sent by the broker unasked: corr must be 0 */
} s_types[S_LAST_TYPE + 1] = {
    [ZN_T_HELLO] = {"HELLO", 3, false},
    [ZN_T_WELCOME] = {"WELCOME", 6, false},
    [ZN_T_SEND] = {"SEND", 1, false},
    [ZN_T_ACCEPTED] = {"ACCEPTED", 3, false},
    [ZN_T_DELIVER] = {"DELIVER", 3, true},
    [ZN_T_ACK] = {"ACK", 1, false},
    [ZN_T_REQUEST] = {"REQUEST", 2, false},
    [ZN_T_RESULT] = {"RESULT", 2, false},
    [ZN_T_ERROR] = {"ERROR", 2, false},
    [ZN_T_BYE] = {"BYE", 2, true},
    [ZN_T_CONVENANT_GET] = {"CONVENANT_GET", 0, false},
    [ZN_T_CONVENANT] = {"CONVENANT", 1, false},
    [ZN_T_IDLE] = {"IDLE", 0, true},
    [ZN_T_RELEASE] = {"RELEASE", 1, false},
};

/* ---------------------------------------------------------------- notices */

static bool s_map_keys_valid(const msgpack_object *m)
{
    char a[ZN_IDENT_MAX], b[ZN_IDENT_MAX];
    if (!m || m->type != MSGPACK_OBJECT_MAP || m->via.map.size > ZN_NOTICE_FIELDS_MAX)
        return false;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        if (zn_obj_ident(&m->via.map.ptr[i].key, a, sizeof a) != 0)
            return false;
        for (uint32_t j = 0; j < i; j++) {
            if (zn_obj_ident(&m->via.map.ptr[j].key, b, sizeof b) != 0 || strcmp(a, b) == 0)
                return false; /* a repeated key would make the look-up ambiguous */
        }
    }
    return true;
}

int zn_notice_parse(const msgpack_object *o, zn_notice *out)
{
    zn_notice n;
    uint8_t id[ZN_ID_LEN];
    char s[ZN_IDENT_MAX];

    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    memset(&n, 0, sizeof n);
    const msgpack_object *a = zn_obj_array(o, 3);
    if (!a || zn_obj_ident(&a[0], n.type, sizeof n.type) != 0 || zn_obj_u64(&a[1], &n.time_ms) != 0 ||
        !s_map_keys_valid(&a[2]))
        return -1;
    n.fields = &a[2];
    if (strcmp(n.type, "envelope-dropped") == 0) {
        if (n.fields->via.map.size != 4 ||
            zn_obj_bin_fixed(zn_obj_map_get(n.fields, "msgid"), id, ZN_ID_LEN) != 0 ||
            zn_obj_bin_fixed(zn_obj_map_get(n.fields, "case"), id, ZN_ID_LEN) != 0 ||
            zn_obj_ident(zn_obj_map_get(n.fields, "recipient"), s, sizeof s) != 0 ||
            zn_obj_ident(zn_obj_map_get(n.fields, "reason"), s, sizeof s) != 0)
            return -1;
    }
    *out = n;
    return 0;
}

static bool s_field_set(const zn_notice_field *f)
{
    return f->type != ZN_NF_STR || (f->s && f->s[0] != '\0');
}

void zn_notice_build(msgpack_sbuffer *b, const char *type, uint64_t time_ms, const zn_notice_field *f, size_t n)
{
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += s_field_set(&f[i]);
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    zn_pack_str(&pk, type);
    msgpack_pack_uint64(&pk, time_ms);
    msgpack_pack_map(&pk, count);
    for (size_t i = 0; i < n; i++) {
        if (!s_field_set(&f[i]))
            continue;
        zn_pack_str(&pk, f[i].key);
        if (f[i].type == ZN_NF_STR)
            zn_pack_str(&pk, f[i].s);
        else if (f[i].type == ZN_NF_BIN)
            zn_pack_bin(&pk, f[i].p, f[i].len);
        else
            msgpack_pack_uint64(&pk, f[i].u);
    }
}

void zn_notice_dropped(msgpack_sbuffer *b, uint64_t time_ms, const uint8_t msgid[ZN_ID_LEN],
                       const uint8_t case_id[ZN_ID_LEN], const char *recipient, zn_code reason)
{
    const zn_notice_field f[] = {
        ZN_NF_ID("msgid", msgid),
        ZN_NF_ID("case", case_id),
        ZN_NF_S("recipient", recipient),
        ZN_NF_S("reason", zn_code_name(reason)),
    };
    zn_notice_build(b, "envelope-dropped", time_ms, f, sizeof f / sizeof f[0]);
}

/* ---------------------------------------------------------------- parsing */

static int s_parse_fields(zn_frame *f, const msgpack_object *a, zn_err *e)
{
    const char *t = s_types[f->type].name;
    uint64_t v = 0;

    switch (f->type) {
    case ZN_T_HELLO:
        if (zn_obj_u64(&a[0], &f->u.hello.convenant_version) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'convenant_version' is not an unsigned integer", t);
        if (zn_obj_u64_max(&a[1], ZN_MAX_WINDOW, &v) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'window' is not an unsigned integer of at most %d",
                              t, ZN_MAX_WINDOW);
        f->u.hello.window = (uint32_t)v;
        if (zn_obj_u64_max(&a[2], ZN_MERKLE_MAX_SIZE, &f->u.hello.known_size) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'known_size' is not a tree size", t);
        return 0;

    case ZN_T_WELCOME:
        if (zn_obj_u64(&a[0], &f->u.welcome.convenant_version) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'convenant_version' is not an unsigned integer", t);
        if (zn_obj_ident(&a[1], f->u.welcome.partner, sizeof f->u.welcome.partner) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'partner' is not an identifier", t);
        if (zn_obj_u64(&a[2], &f->u.welcome.time_ms) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'time' is not an unsigned integer", t);
        if (zn_obj_bin(&a[3], ZN_TREE_HEAD_MAX, &f->u.welcome.head, &f->u.welcome.head_len) != 0 ||
            f->u.welcome.head_len == 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'tree_head' is not a bin of 1 to %d bytes", t,
                              ZN_TREE_HEAD_MAX);
        if (zn_obj_bin_fixed(&a[4], f->u.welcome.head_sig, ZN_SIG_LEN) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'tree_head_sig' is not a %d-byte bin", t, ZN_SIG_LEN);
        if (zn_obj_hashes(&a[5], ZN_MERKLE_MAX_CONSISTENCY, NULL, &f->u.welcome.n_proof) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'consistency' is not an array of at most %d 32-byte bins",
                              t, ZN_MERKLE_MAX_CONSISTENCY);
        f->u.welcome.proof = &a[5];
        return 0;

    case ZN_T_SEND:
        /* Structure only: the ciphertext hash is the recipient's check (zn_envelope_open). */
        if (zn_envelope_parse(&a[0], &f->u.send.env, e) != 0)
            return zn_err_prefix(e, t);
        return 0;

    case ZN_T_ACCEPTED:
        if (zn_obj_bin_fixed(&a[0], f->u.accepted.msgid, ZN_ID_LEN) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'msgid' is not a %d-byte bin", t, ZN_ID_LEN);
        if (zn_obj_bool(&a[1], &f->u.accepted.duplicate) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'duplicate' is not a boolean", t);
        if (zn_obj_u64_max(&a[2], ZN_MERKLE_MAX_SIZE - 1, &f->u.accepted.audit_index) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'audit_index' is not an unsigned integer", t);
        return 0;

    case ZN_T_DELIVER:
        if (zn_obj_bin_fixed(&a[0], f->u.deliver.item_id, ZN_ID_LEN) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'item_id' is not a %d-byte bin", t, ZN_ID_LEN);
        if (zn_obj_u64(&a[1], &v) != 0 || (v != ZN_ITEM_ENVELOPE && v != ZN_ITEM_NOTICE))
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'kind' is neither %d (envelope) nor %d (notice)",
                              t, ZN_ITEM_ENVELOPE, ZN_ITEM_NOTICE);
        f->u.deliver.kind = (uint32_t)v;
        if (v == ZN_ITEM_ENVELOPE) { /* structure only, as for SEND */
            if (zn_envelope_parse(&a[2], &f->u.deliver.env, e) != 0)
                return zn_err_prefix(e, t);
        } else if (zn_notice_parse(&a[2], &f->u.deliver.notice) != 0) {
            return zn_err_set(e, ZN_E_MALFORMED,
                              "%s: field 'item' is not a notice [type, time, fields map]", t);
        }
        return 0;

    case ZN_T_ACK:
    case ZN_T_RELEASE: {
        uint32_t n = 0;
        const msgpack_object *ids = zn_obj_array_min(&a[0], 1, &n);
        if (!ids || n > ZN_MAX_ACK)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'ids' is not an array of 1 to %d ids", t,
                              ZN_MAX_ACK);
        for (uint32_t i = 0; i < n; i++) {
            if (ids[i].type != MSGPACK_OBJECT_BIN || ids[i].via.bin.size != ZN_ID_LEN)
                return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'ids': id %u is not a %d-byte bin", t, i,
                                  ZN_ID_LEN);
        }
        f->u.ack.n = n;
        f->u.ack.ids = ids;
        return 0;
    }

    case ZN_T_REQUEST: {
        zn_doc rdoc;
        zn_request r;
        if (zn_obj_bin(&a[0], ZN_MAX_REQUEST, &f->u.request.req, &f->u.request.len) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'request' is not a bin of at most %u bytes", t,
                              ZN_MAX_REQUEST);
        if (zn_obj_bin_fixed(&a[1], f->u.request.sig, ZN_SIG_LEN) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'signature' is not a %d-byte bin", t, ZN_SIG_LEN);
        /* The request is checked here as a whole; its body is checked by whoever acts on its kind. */
        if (zn_request_parse(f->u.request.req, f->u.request.len, &rdoc, &r, e) != 0)
            return zn_err_prefix(e, t);
        zn_doc_free(&rdoc);
        return 0;
    }

    case ZN_T_RESULT:
        if (zn_obj_ident(&a[0], f->u.result.kind, sizeof f->u.result.kind) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'kind' is not an identifier", t);
        f->u.result.body = &a[1];
        if (strcmp(f->u.result.kind, "case-new") == 0) {
            const msgpack_object *b = zn_obj_array(&a[1], 1);
            if (!b || b[0].type != MSGPACK_OBJECT_BIN || b[0].via.bin.size != ZN_ID_LEN)
                return zn_err_set(e, ZN_E_MALFORMED, "%s: case-new body is not [case bin%d]", t, ZN_ID_LEN);
        }
        return 0;

    case ZN_T_ERROR:
    case ZN_T_BYE:
        if (zn_obj_ident(&a[0], f->u.error.name, sizeof f->u.error.name) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'code' is not an identifier", t);
        if (zn_obj_text(&a[1], f->u.error.text, sizeof f->u.error.text) != 0)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "%s: field 'text' is not text of 1 to %d bytes without control characters",
                              t, ZN_ERR_TEXT_MAX - 1);
        if (strcmp(f->u.error.name, "ok") == 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'code' must not be 'ok'", t);
        /* A code this side does not know (a newer peer) reads as internal; name keeps it. */
        f->u.error.code = zn_code_from_name(f->u.error.name, strlen(f->u.error.name));
        return 0;

    case ZN_T_CONVENANT_GET:
    case ZN_T_IDLE:
        return 0;

    case ZN_T_CONVENANT:
        if (zn_obj_bin(&a[0], ZN_FRAME_MAX, &f->u.convenant.raw, &f->u.convenant.len) != 0 ||
            f->u.convenant.len == 0)
            return zn_err_set(e, ZN_E_MALFORMED, "%s: field 'convenant' is not a non-empty bin", t);
        return 0;
    }
    return zn_err_set(e, ZN_E_UNKNOWN_TYPE, "frame type %u is not known", (unsigned)f->type);
}

int zn_frame_parse(const uint8_t *p, size_t n, zn_frame *f, zn_err *e)
{
    uint64_t v = 0;
    uint32_t count = 0;

    if (!f)
        return zn_err_set(e, ZN_E_INTERNAL, "frame parse called without a frame");
    memset(f, 0, sizeof *f);
    if (n > ZN_FRAME_MAX)
        return zn_err_set(e, ZN_E_TOO_LARGE, "the frame is %zu bytes; at most %u are accepted", n,
                          ZN_FRAME_MAX);
    if (!p || zn_doc_parse(&f->doc, p, n, ZN_WIRE_MAX_DEPTH, S_MAX_OBJECTS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the frame is not one msgpack object within the limits (no floats or "
                          "extension types, at most %d levels, no trailing bytes)",
                          ZN_WIRE_MAX_DEPTH);

    const msgpack_object *a = zn_obj_array_min(&f->doc.root, 3, &count);
    if (!a) {
        zn_err_set(e, ZN_E_MALFORMED, "the frame is not an array [version, type, corr, ...]");
        goto fail;
    }
    /* corr first, so that even a refused frame is answered under the client's corr */
    if (zn_obj_u64_max(&a[2], UINT32_MAX, &v) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "frame field 'corr' is not an unsigned 32-bit integer");
        goto fail;
    }
    f->corr = (uint32_t)v;
    if (zn_obj_u64(&a[0], &v) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "frame field 'version' is not an unsigned integer");
        goto fail;
    }
    if (v != ZN_PROTO_VERSION) {
        zn_err_set(e, ZN_E_VERSION, "protocol version %llu is not supported (only %d is)",
                   (unsigned long long)v, ZN_PROTO_VERSION);
        goto fail;
    }
    if (zn_obj_u64(&a[1], &v) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "frame field 'type' is not an unsigned integer");
        goto fail;
    }
    if (v == 0 || v > S_LAST_TYPE) {
        zn_err_set(e, ZN_E_UNKNOWN_TYPE, "frame type %llu is not known", (unsigned long long)v);
        goto fail;
    }
    f->type = (uint32_t)v;
    const char *t = s_types[f->type].name;
    if (count != 3 + s_types[f->type].fields) {
        zn_err_set(e, ZN_E_MALFORMED, "%s: the frame has %u fields; it must have %u", t, count,
                   3 + s_types[f->type].fields);
        goto fail;
    }
    if (s_types[f->type].pushed && f->corr != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "%s: field 'corr' must be 0 in a frame the broker pushes", t);
        goto fail;
    }
    if (s_parse_fields(f, a + 3, e) != 0)
        goto fail;
    return 0;

fail:
    zn_doc_free(&f->doc);
    memset(&f->u, 0, sizeof f->u); /* nothing may point into the freed document */
    return -1;
}

void zn_frame_free(zn_frame *f)
{
    if (f) {
        zn_doc_free(&f->doc);
        memset(&f->u, 0, sizeof f->u);
    }
}

void zn_frame_ack_id(const zn_frame *f, uint32_t i, uint8_t out[ZN_ID_LEN])
{
    if (!f || (f->type != ZN_T_ACK && f->type != ZN_T_RELEASE) || i >= f->u.ack.n || !f->u.ack.ids) {
        memset(out, 0, ZN_ID_LEN);
        return;
    }
    memcpy(out, f->u.ack.ids[i].via.bin.ptr, ZN_ID_LEN);
}

/* ---------------------------------------------------------------- encoders */

static void s_head(msgpack_packer *pk, msgpack_sbuffer *b, uint32_t type, uint32_t corr)
{
    msgpack_packer_init(pk, b, msgpack_sbuffer_write);
    msgpack_pack_array(pk, 3 + s_types[type].fields);
    msgpack_pack_uint8(pk, ZN_PROTO_VERSION);
    msgpack_pack_uint8(pk, (uint8_t)type);
    msgpack_pack_uint32(pk, corr);
}

/* ERROR and BYE text: the given sentence if it is valid text (cut to fit at a character
 * boundary), else the code's standard sentence. */
static void s_pack_text(msgpack_packer *pk, zn_code code, const char *text)
{
    size_t n = text ? strnlen(text, ZN_ERR_TEXT_MAX) : 0;
    if (n >= ZN_ERR_TEXT_MAX) {
        n = ZN_ERR_TEXT_MAX - 1;
        while (n > 0 && ((uint8_t)text[n] & 0xc0) == 0x80)
            n--; /* text[n] would start the next character: cut before it */
    }
    if (n == 0 || !zn_text_valid(text, n)) {
        zn_pack_str(pk, zn_code_hint(code));
        return;
    }
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, text, n);
}

void zn_frame_hello(msgpack_sbuffer *b, uint32_t corr, uint64_t convenant_version, uint32_t window,
                    uint64_t known_size)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_HELLO, corr);
    msgpack_pack_uint64(&pk, convenant_version);
    msgpack_pack_uint32(&pk, window);
    msgpack_pack_uint64(&pk, known_size);
}

void zn_frame_welcome(msgpack_sbuffer *b, uint32_t corr, uint64_t convenant_version,
                      const char *partner, uint64_t time_ms, const uint8_t *head, size_t head_len,
                      const uint8_t head_sig[ZN_SIG_LEN], const uint8_t *proof, size_t n_proof)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_WELCOME, corr);
    msgpack_pack_uint64(&pk, convenant_version);
    zn_pack_str(&pk, partner);
    msgpack_pack_uint64(&pk, time_ms);
    zn_pack_bin(&pk, head, head_len);
    zn_pack_bin(&pk, head_sig, ZN_SIG_LEN);
    zn_pack_hashes(&pk, proof, n_proof);
}

void zn_frame_send(msgpack_sbuffer *b, uint32_t corr, const uint8_t *env, size_t env_len)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_SEND, corr);
    zn_pack_raw(&pk, env, env_len);
}

void zn_frame_accepted(msgpack_sbuffer *b, uint32_t corr, const uint8_t msgid[ZN_ID_LEN], bool duplicate,
                       uint64_t audit_index)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_ACCEPTED, corr);
    zn_pack_bin(&pk, msgid, ZN_ID_LEN);
    if (duplicate)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_pack_uint64(&pk, audit_index);
}

void zn_frame_deliver(msgpack_sbuffer *b, const uint8_t item_id[ZN_ID_LEN], uint32_t kind,
                      const uint8_t *item, size_t item_len)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_DELIVER, 0);
    zn_pack_bin(&pk, item_id, ZN_ID_LEN);
    msgpack_pack_uint32(&pk, kind);
    zn_pack_raw(&pk, item, item_len);
}

static void s_ids(msgpack_sbuffer *b, uint32_t type, uint32_t corr, const uint8_t (*ids)[ZN_ID_LEN], uint32_t n)
{
    msgpack_packer pk;
    s_head(&pk, b, type, corr);
    msgpack_pack_array(&pk, n);
    for (uint32_t i = 0; i < n; i++)
        zn_pack_bin(&pk, ids[i], ZN_ID_LEN);
}

void zn_frame_ack(msgpack_sbuffer *b, uint32_t corr, const uint8_t (*ids)[ZN_ID_LEN], uint32_t n)
{
    s_ids(b, ZN_T_ACK, corr, ids, n);
}

void zn_frame_release(msgpack_sbuffer *b, uint32_t corr, const uint8_t (*ids)[ZN_ID_LEN], uint32_t n)
{
    s_ids(b, ZN_T_RELEASE, corr, ids, n);
}

void zn_frame_request(msgpack_sbuffer *b, uint32_t corr, const uint8_t *req, size_t len,
                      const uint8_t sig[ZN_SIG_LEN])
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_REQUEST, corr);
    zn_pack_bin(&pk, req, len);
    zn_pack_bin(&pk, sig, ZN_SIG_LEN);
}

void zn_frame_result(msgpack_sbuffer *b, uint32_t corr, const char *kind, const uint8_t *body, size_t len)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_RESULT, corr);
    zn_pack_str(&pk, kind);
    zn_pack_raw(&pk, body, len);
}

void zn_frame_error(msgpack_sbuffer *b, uint32_t corr, zn_code code, const char *text)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_ERROR, corr);
    zn_pack_str(&pk, zn_code_name(code));
    s_pack_text(&pk, code, text);
}

void zn_frame_bye(msgpack_sbuffer *b, zn_code code, const char *text)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_BYE, 0);
    zn_pack_str(&pk, zn_code_name(code));
    s_pack_text(&pk, code, text);
}

void zn_frame_convenant_get(msgpack_sbuffer *b, uint32_t corr)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_CONVENANT_GET, corr);
}

void zn_frame_convenant(msgpack_sbuffer *b, uint32_t corr, const uint8_t *raw, size_t len)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_CONVENANT, corr);
    zn_pack_bin(&pk, raw, len);
}

void zn_frame_idle(msgpack_sbuffer *b)
{
    msgpack_packer pk;
    s_head(&pk, b, ZN_T_IDLE, 0);
}
