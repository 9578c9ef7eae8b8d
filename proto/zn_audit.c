/* zn_audit — audit entries, their commitments, and signed tree heads (see zn_audit.h and
 * docs/AUDIT.md). */
#include "zn_audit.h"

#include <sodium.h>
#include <string.h>

#define S_FIELDS 13
#define S_EVIDENCE_FIELDS 3
#define S_HEAD_FIELDS 4
/* The entry array, its 13 fields, the 3 evidence elements, 16 detail keys and values. */
#define S_MAX_OBJECTS (1 + S_FIELDS + S_EVIDENCE_FIELDS + 2 * ZN_AUDIT_DETAILS_MAX)
#define S_MAX_DEPTH 2 /* entry -> evidence array or details map */
/* [1, size u64, root bin32, time u64]: at most 1 + 1 + 9 + (2 + 32) + 9 bytes. */
#define S_HEAD_MAX ZN_TREE_HEAD_MAX
/* Strings a decoded entry holds: five identifiers, the handler, the evidence kind, 16 keys and
 * 16 text values. Each takes its bytes from the input plus one NUL. */
#define S_MAX_STRINGS (7 + 2 * ZN_AUDIT_DETAILS_MAX)

/* ---------------------------------------------------------------- field rules */

static bool s_ident_ok(const char *s)
{
    return s && strnlen(s, ZN_IDENT_MAX) < ZN_IDENT_MAX && zn_ident_valid(s);
}

/* Detail keys: an identifier without '.', i.e. [a-z0-9_-], starting with a letter or digit. */
static bool s_key_ok(const char *s)
{
    return s_ident_ok(s) && strchr(s, '.') == NULL;
}

static bool s_handler_ok(const char *s)
{
    size_t n = s ? strnlen(s, ZN_HANDLER_MAX) : 0;
    return n > 0 && n < ZN_HANDLER_MAX && zn_text_valid(s, n);
}

static const char *s_decision_name(zn_audit_decision d)
{
    return d == ZN_AUDIT_ALLOWED ? "allowed" : d == ZN_AUDIT_REFUSED ? "refused" : NULL;
}

/* Every rule of zn_audit.h except the total size, which only the encoding can tell. */
static int s_entry_check(const zn_audit_entry *en, zn_code code, zn_err *e)
{
    if (en->actor && !s_ident_ok(en->actor))
        return zn_err_set(e, code, "audit entry field 'actor' is not an identifier");
    if (en->handler && !s_handler_ok(en->handler))
        return zn_err_set(e, code,
                          "audit entry field 'handler' is not text of 1 to %d bytes without control "
                          "characters", ZN_HANDLER_MAX - 1);
    if (!s_ident_ok(en->action))
        return zn_err_set(e, code, "audit entry field 'action' is not an identifier");
    if (en->counterpart && !s_ident_ok(en->counterpart))
        return zn_err_set(e, code, "audit entry field 'counterpart' is not an identifier");
    if (!s_decision_name(en->decision))
        return zn_err_set(e, code, "audit entry field 'decision' is neither allowed nor refused");
    if (en->reason && !s_ident_ok(en->reason))
        return zn_err_set(e, code, "audit entry field 'reason' is not an identifier");
    if (en->basis && !s_ident_ok(en->basis))
        return zn_err_set(e, code, "audit entry field 'basis' is not an identifier");

    if (en->evidence_kind) {
        if (!s_ident_ok(en->evidence_kind))
            return zn_err_set(e, code, "audit entry evidence kind is not an identifier");
        if (!en->evidence || en->evidence_len == 0 || en->evidence_len > ZN_AUDIT_MAX_ENTRY)
            return zn_err_set(e, code, "audit entry evidence must be 1 to %u signed bytes",
                              ZN_AUDIT_MAX_ENTRY);
        if (!en->evidence_sig)
            return zn_err_set(e, code, "audit entry evidence has no signature");
    } else if (en->evidence || en->evidence_len || en->evidence_sig) {
        return zn_err_set(e, code, "audit entry evidence is given without a kind");
    }

    if (en->n_details > ZN_AUDIT_DETAILS_MAX)
        return zn_err_set(e, code, "an audit entry holds at most %d details", ZN_AUDIT_DETAILS_MAX);
    if (en->n_details && !en->details)
        return zn_err_set(e, code, "audit entry details are counted but not given");
    for (size_t i = 0; i < en->n_details; i++) {
        const zn_audit_detail *d = &en->details[i];
        if (!s_key_ok(d->key))
            return zn_err_set(e, code, "audit detail key %zu is not made of [a-z0-9_-]", i);
        if (i > 0 && strcmp(en->details[i - 1].key, d->key) >= 0)
            return zn_err_set(e, code,
                              "audit detail key '%s' is repeated or not in ascending order", d->key);
        switch (d->type) {
        case ZN_AUDIT_U64:
            break;
        case ZN_AUDIT_STR:
            if (!d->p || d->len == 0 || d->len > ZN_AUDIT_MAX_ENTRY ||
                !zn_text_valid((const char *)d->p, d->len))
                return zn_err_set(e, code,
                                  "audit detail '%s' is not text without control characters", d->key);
            break;
        case ZN_AUDIT_BIN:
            if ((!d->p && d->len) || d->len > ZN_AUDIT_MAX_ENTRY)
                return zn_err_set(e, code, "audit detail '%s' is not a bin of at most %u bytes",
                                  d->key, ZN_AUDIT_MAX_ENTRY);
            break;
        default:
            return zn_err_set(e, code, "audit detail '%s' has no known type", d->key);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- encoding */

static void s_pack_opt_str(msgpack_packer *pk, const char *s)
{
    if (s)
        zn_pack_str(pk, s);
    else
        msgpack_pack_nil(pk);
}

/* The one encoding of a checked entry. */
static void s_entry_pack(zn_buf *b, const zn_audit_entry *en)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, zn_buf_write);
    msgpack_pack_array(&pk, S_FIELDS);
    msgpack_pack_uint64(&pk, ZN_AUDIT_VERSION);
    msgpack_pack_uint64(&pk, en->index);
    msgpack_pack_uint64(&pk, en->time_ms);
    s_pack_opt_str(&pk, en->actor);
    s_pack_opt_str(&pk, en->handler);
    zn_pack_str(&pk, en->action);
    if (en->case_id)
        zn_pack_bin(&pk, en->case_id, ZN_ID_LEN);
    else
        msgpack_pack_nil(&pk);
    s_pack_opt_str(&pk, en->counterpart);
    zn_pack_str(&pk, s_decision_name(en->decision));
    s_pack_opt_str(&pk, en->reason);
    s_pack_opt_str(&pk, en->basis);
    if (en->evidence_kind) {
        msgpack_pack_array(&pk, S_EVIDENCE_FIELDS);
        zn_pack_str(&pk, en->evidence_kind);
        zn_pack_bin(&pk, en->evidence, en->evidence_len);
        zn_pack_bin(&pk, en->evidence_sig, ZN_SIG_LEN);
    } else {
        msgpack_pack_nil(&pk);
    }
    if (en->n_details == 0) {
        msgpack_pack_nil(&pk); /* no details is nil, never an empty map: one encoding only */
        return;
    }
    msgpack_pack_map(&pk, en->n_details);
    for (size_t i = 0; i < en->n_details; i++) {
        const zn_audit_detail *d = &en->details[i];
        zn_pack_str(&pk, d->key);
        if (d->type == ZN_AUDIT_U64) {
            msgpack_pack_uint64(&pk, d->u64);
        } else if (d->type == ZN_AUDIT_STR) {
            msgpack_pack_str(&pk, d->len);
            msgpack_pack_str_body(&pk, d->p, d->len);
        } else {
            zn_pack_bin(&pk, d->p, d->len);
        }
    }
}

int zn_audit_entry_encode(msgpack_sbuffer *out, const zn_audit_entry *en, zn_err *e)
{
    zn_buf b = {.failed = false};
    int rc = -1;

    if (!out || !en)
        return zn_err_set(e, ZN_E_INTERNAL, "audit entry encode called without its arguments");
    if (s_entry_check(en, ZN_E_USAGE, e) != 0)
        return -1;
    /* packed straight onto the end of out, and cut off again on failure: appended whole or not
     * at all */
    size_t start = out->size;
    b.sb = *out;
    s_entry_pack(&b, en);
    *out = b.sb;
    if (b.failed)
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while encoding an audit entry");
    else if (out->size - start > ZN_AUDIT_MAX_ENTRY)
        zn_err_set(e, ZN_E_USAGE, "the audit entry is %zu bytes; at most %u are allowed", out->size - start,
                   ZN_AUDIT_MAX_ENTRY);
    else
        rc = 0;
    if (rc != 0)
        out->size = start;
    return rc;
}

/* ---------------------------------------------------------------- decoding */

/* NUL-terminated copies of the entry's strings, in one block of the doc's zone. */
typedef struct {
    char *p;
    size_t used, cap;
} s_strings;

static size_t s_room(const s_strings *s, size_t max)
{
    size_t room = s->cap - s->used;
    return room < max ? room : max;
}

static const char *s_take_ident(s_strings *s, const msgpack_object *o)
{
    char *dst = s->p + s->used;
    if (zn_obj_ident(o, dst, s_room(s, ZN_IDENT_MAX)) != 0)
        return NULL;
    s->used += strlen(dst) + 1;
    return dst;
}

static const char *s_take_text(s_strings *s, const msgpack_object *o, size_t cap)
{
    char *dst = s->p + s->used;
    if (zn_obj_text(o, dst, s_room(s, cap)) != 0)
        return NULL;
    s->used += strlen(dst) + 1;
    return dst;
}

static bool s_is_nil(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_NIL;
}

/* An optional identifier field: nil, or an identifier copied to s. */
static int s_opt_ident(s_strings *s, const msgpack_object *o, const char **out)
{
    *out = NULL;
    if (s_is_nil(o))
        return 0;
    *out = s_take_ident(s, o);
    return *out ? 0 : -1;
}

static int s_evidence_parse(s_strings *s, const msgpack_object *o, zn_audit_entry *en, zn_err *e)
{
    const uint8_t *sig = NULL;
    size_t sig_len = 0;

    if (s_is_nil(o))
        return 0;
    const msgpack_object *a = zn_obj_array(o, S_EVIDENCE_FIELDS);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "audit entry field 'evidence' is neither nil nor an array of exactly %d "
                          "fields (kind, signed bytes, signature)", S_EVIDENCE_FIELDS);
    if (!(en->evidence_kind = s_take_ident(s, &a[0])))
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry evidence kind is not an identifier");
    if (zn_obj_bin(&a[1], ZN_AUDIT_MAX_ENTRY, &en->evidence, &en->evidence_len) != 0 ||
        en->evidence_len == 0)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "audit entry evidence is not a bin of 1 to %u signed bytes",
                          ZN_AUDIT_MAX_ENTRY);
    if (zn_obj_bin(&a[2], ZN_SIG_LEN, &sig, &sig_len) != 0 || sig_len != ZN_SIG_LEN)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry evidence signature is not a %d-byte bin",
                          ZN_SIG_LEN);
    en->evidence_sig = sig;
    return 0;
}

static int s_details_parse(s_strings *s, const msgpack_object *o, zn_audit_entry *en,
                           zn_audit_detail details[ZN_AUDIT_DETAILS_MAX], zn_err *e)
{
    if (s_is_nil(o))
        return 0;
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size == 0 ||
        o->via.map.size > ZN_AUDIT_DETAILS_MAX)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "audit entry field 'details' is neither nil nor a map of 1 to %d entries",
                          ZN_AUDIT_DETAILS_MAX);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        zn_audit_detail *d = &details[i];

        memset(d, 0, sizeof *d);
        d->key = s_take_ident(s, k);
        if (!d->key || !s_key_ok(d->key))
            return zn_err_set(e, ZN_E_MALFORMED, "audit detail key %u is not made of [a-z0-9_-]", i);
        if (i > 0 && strcmp(details[i - 1].key, d->key) >= 0)
            return zn_err_set(e, ZN_E_MALFORMED,
                              "audit detail key '%s' is repeated or not in ascending order", d->key);
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            d->type = ZN_AUDIT_U64;
            if (zn_obj_u64(v, &d->u64) != 0)
                return zn_err_set(e, ZN_E_MALFORMED, "audit detail '%s' is no integer", d->key);
            break;
        case MSGPACK_OBJECT_STR: {
            const char *t = s_take_text(s, v, ZN_AUDIT_MAX_ENTRY + 1);
            if (!t)
                return zn_err_set(e, ZN_E_MALFORMED,
                                  "audit detail '%s' is not text without control characters", d->key);
            d->type = ZN_AUDIT_STR;
            d->p = (const uint8_t *)t;
            d->len = strlen(t);
            break;
        }
        case MSGPACK_OBJECT_BIN:
            d->type = ZN_AUDIT_BIN;
            if (zn_obj_bin(v, ZN_AUDIT_MAX_ENTRY, &d->p, &d->len) != 0)
                return zn_err_set(e, ZN_E_MALFORMED, "audit detail '%s' is too large", d->key);
            break;
        default:
            return zn_err_set(e, ZN_E_MALFORMED,
                              "audit detail '%s' is not an unsigned integer, text or bin", d->key);
        }
    }
    en->details = details;
    en->n_details = o->via.map.size;
    return 0;
}

static int s_entry_parse(zn_doc *doc, size_t n, zn_audit_entry *en,
                         zn_audit_detail details[ZN_AUDIT_DETAILS_MAX], zn_err *e)
{
    s_strings s = {.p = NULL, .used = 0, .cap = n + S_MAX_STRINGS};
    uint64_t v = 0;

    const msgpack_object *a = zn_obj_array(&doc->root, S_FIELDS);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "the audit entry is not an array of exactly %d fields",
                          S_FIELDS);
    if (!(s.p = msgpack_zone_malloc(&doc->zone, s.cap)))
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory while decoding an audit entry");
    if (zn_obj_u64(&a[0], &v) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'version' is not an unsigned integer");
    if (v != ZN_AUDIT_VERSION)
        return zn_err_set(e, ZN_E_VERSION, "audit entry version %llu is not supported (only %d is)",
                          (unsigned long long)v, ZN_AUDIT_VERSION);
    if (zn_obj_u64(&a[1], &en->index) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'index' is not an unsigned integer");
    if (zn_obj_u64(&a[2], &en->time_ms) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'time' is not an unsigned integer");
    if (s_opt_ident(&s, &a[3], &en->actor) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'actor' is neither nil nor an identifier");
    if (!s_is_nil(&a[4]) && !(en->handler = s_take_text(&s, &a[4], ZN_HANDLER_MAX)))
        return zn_err_set(e, ZN_E_MALFORMED,
                          "audit entry field 'handler' is neither nil nor text of 1 to %d bytes",
                          ZN_HANDLER_MAX - 1);
    if (!(en->action = s_take_ident(&s, &a[5])))
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'action' is not an identifier");
    if (!s_is_nil(&a[6])) {
        size_t len = 0;
        if (zn_obj_bin(&a[6], ZN_ID_LEN, &en->case_id, &len) != 0 || len != ZN_ID_LEN) {
            en->case_id = NULL;
            return zn_err_set(e, ZN_E_MALFORMED,
                              "audit entry field 'case' is neither nil nor a %d-byte bin", ZN_ID_LEN);
        }
    }
    if (s_opt_ident(&s, &a[7], &en->counterpart) != 0)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "audit entry field 'counterpart' is neither nil nor an identifier");
    if (zn_obj_str_eq(&a[8], "allowed"))
        en->decision = ZN_AUDIT_ALLOWED;
    else if (zn_obj_str_eq(&a[8], "refused"))
        en->decision = ZN_AUDIT_REFUSED;
    else
        return zn_err_set(e, ZN_E_MALFORMED,
                          "audit entry field 'decision' is neither \"allowed\" nor \"refused\"");
    if (s_opt_ident(&s, &a[9], &en->reason) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'reason' is neither nil nor an identifier");
    if (s_opt_ident(&s, &a[10], &en->basis) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "audit entry field 'basis' is neither nil nor an identifier");
    if (s_evidence_parse(&s, &a[11], en, e) != 0)
        return -1;
    return s_details_parse(&s, &a[12], en, details, e);
}

int zn_audit_entry_decode(const uint8_t *p, size_t n, zn_doc *doc, zn_audit_entry *out,
                          zn_audit_detail details[ZN_AUDIT_DETAILS_MAX], zn_err *e)
{
    zn_audit_entry en;
    zn_buf b = {.failed = false};

    if (!doc || !out || !details)
        return zn_err_set(e, ZN_E_INTERNAL, "audit entry decode called without its arguments");
    doc->live = false;
    memset(out, 0, sizeof *out);
    memset(&en, 0, sizeof en);
    msgpack_sbuffer_init(&b.sb);
    if (!p || n == 0)
        return zn_err_set(e, ZN_E_MALFORMED, "the audit entry is empty");
    if (n > ZN_AUDIT_MAX_ENTRY)
        return zn_err_set(e, ZN_E_TOO_LARGE, "the audit entry is %zu bytes; at most %u are allowed",
                          n, ZN_AUDIT_MAX_ENTRY);
    if (zn_doc_parse(doc, p, n, S_MAX_DEPTH, S_MAX_OBJECTS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "the audit entry is not one msgpack array of %d fields (nothing nested "
                          "deeper than evidence and details, nothing after it)", S_FIELDS);
    if (s_entry_parse(doc, n, &en, details, e) != 0)
        goto fail;
    /* What the encoder would refuse is refused here too, and the bytes must be the one encoding
     * of what they hold (smallest integer, string and container forms): an entry has exactly
     * one byte string, so exactly one commitment. */
    if (s_entry_check(&en, ZN_E_MALFORMED, e) != 0)
        goto fail;
    s_entry_pack(&b, &en);
    if (b.failed) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while decoding an audit entry");
        goto fail;
    }
    if (b.sb.size != n || memcmp(b.sb.data, p, n) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "the audit entry is not in its canonical encoding");
        goto fail;
    }
    msgpack_sbuffer_destroy(&b.sb);
    *out = en;
    return 0;

fail:
    msgpack_sbuffer_destroy(&b.sb);
    zn_doc_free(doc);
    return -1;
}

/* ---------------------------------------------------------------- commitment */

void zn_audit_commit(uint8_t d[ZN_HASH_LEN], const uint8_t salt[ZN_AUDIT_SALT_LEN],
                     const uint8_t *entry, size_t len)
{
    crypto_hash_sha256_state st;

    /* SHA-256 cannot fail on valid arguments; the results carry nothing to act on. */
    (void)crypto_hash_sha256_init(&st);
    (void)crypto_hash_sha256_update(&st, salt, ZN_AUDIT_SALT_LEN);
    if (len)
        (void)crypto_hash_sha256_update(&st, entry, len);
    (void)crypto_hash_sha256_final(&st, d);
    sodium_memzero(&st, sizeof st); /* the state holds the salt */
}

/* ---------------------------------------------------------------- tree heads */

static void s_head_pack(zn_buf *b, const zn_tree_head *th)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, zn_buf_write);
    msgpack_pack_array(&pk, S_HEAD_FIELDS);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, th->size);
    zn_pack_bin(&pk, th->root, ZN_HASH_LEN);
    msgpack_pack_uint64(&pk, th->time_ms);
}


int zn_tree_head_sign(msgpack_sbuffer *out, uint8_t sig[ZN_SIG_LEN], const zn_tree_head *th,
                      const zn_seckeys *broker, zn_err *e)
{
    zn_buf b = {.failed = false};
    int rc = -1;

    if (!out || !sig || !th || !broker)
        return zn_err_set(e, ZN_E_INTERNAL, "tree head sign called without its arguments");
    memset(sig, 0, ZN_SIG_LEN);
    if (broker->pub.kind != ZN_KIND_BROKER)
        return zn_err_set(e, ZN_E_USAGE, "tree heads are signed with the broker's key, not a %s key",
                          zn_kind_name(broker->pub.kind));
    msgpack_sbuffer_init(&b.sb);
    s_head_pack(&b, th);
    if (b.failed || b.sb.size > S_HEAD_MAX) {
        zn_err_set(e, ZN_E_INTERNAL, "the tree head could not be encoded");
        goto done;
    }
    if (zn_sign_ns(sig, ZN_TREE_HEAD_NS, (const uint8_t *)b.sb.data, b.sb.size, broker->sign) != 0) {
        memset(sig, 0, ZN_SIG_LEN);
        zn_err_set(e, ZN_E_INTERNAL, "signing the tree head failed");
        goto done;
    }
    if (msgpack_sbuffer_write(out, b.sb.data, b.sb.size) != 0) {
        memset(sig, 0, ZN_SIG_LEN);
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while encoding a tree head");
        goto done;
    }
    rc = 0;
done:
    msgpack_sbuffer_destroy(&b.sb);
    return rc;
}

static int s_head_parse(const uint8_t *p, size_t n, zn_tree_head *th, zn_err *e)
{
    zn_doc doc;
    zn_buf b = {.failed = false};
    uint64_t v = 0;
    int rc = -1;

    if (zn_doc_parse(&doc, p, n, 1, 1 + S_HEAD_FIELDS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "the tree head is not one msgpack array of %d fields",
                          S_HEAD_FIELDS);
    msgpack_sbuffer_init(&b.sb);
    const msgpack_object *a = zn_obj_array(&doc.root, S_HEAD_FIELDS);
    if (!a) {
        zn_err_set(e, ZN_E_MALFORMED, "the tree head is not an array of exactly %d fields",
                   S_HEAD_FIELDS);
        goto done;
    }
    if (zn_obj_u64(&a[0], &v) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "tree head field 'version' is not an unsigned integer");
        goto done;
    }
    if (v != 1) {
        zn_err_set(e, ZN_E_VERSION, "tree head version %llu is not supported (only 1 is)",
                   (unsigned long long)v);
        goto done;
    }
    if (zn_obj_u64(&a[1], &th->size) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "tree head field 'size' is not an unsigned integer");
        goto done;
    }
    if (zn_obj_bin_fixed(&a[2], th->root, ZN_HASH_LEN) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "tree head field 'root' is not a %d-byte bin", ZN_HASH_LEN);
        goto done;
    }
    if (zn_obj_u64(&a[3], &th->time_ms) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "tree head field 'time' is not an unsigned integer");
        goto done;
    }
    s_head_pack(&b, th);
    if (b.failed) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while decoding a tree head");
        goto done;
    }
    if (b.sb.size != n || memcmp(b.sb.data, p, n) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "the tree head is not in its canonical encoding");
        goto done;
    }
    rc = 0;
done:
    msgpack_sbuffer_destroy(&b.sb);
    zn_doc_free(&doc);
    return rc;
}

int zn_tree_head_verify(const uint8_t *p, size_t n, const uint8_t sig[ZN_SIG_LEN],
                        const uint8_t broker_sign_pk[ZN_KEY_LEN], zn_tree_head *out, zn_err *e)
{
    zn_tree_head th;

    if (!sig || !broker_sign_pk || !out)
        return zn_err_set(e, ZN_E_INTERNAL, "tree head verify called without its arguments");
    memset(out, 0, sizeof *out);
    memset(&th, 0, sizeof th);
    if (!p || n == 0 || n > S_HEAD_MAX)
        return zn_err_set(e, ZN_E_MALFORMED, "the tree head is not 1 to %d bytes", S_HEAD_MAX);
    if (s_head_parse(p, n, &th, e) != 0)
        return -1;
    if (zn_verify_ns(sig, ZN_TREE_HEAD_NS, p, n, broker_sign_pk) != 0)
        return zn_err_set(e, ZN_E_BAD_SIGNATURE,
                          "the tree head's signature does not verify with the broker's key");
    *out = th;
    return 0;
}
