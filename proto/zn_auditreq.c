/* zn_auditreq — bodies of the audit-log read requests and their results (see zn_auditreq.h). */
#include "zn_auditreq.h"

#include <string.h>

static const char *const s_what[] = {NULL, "entries", "heads", "convenants", "head"};

const char *zn_read_what_name(zn_read_what w)
{
    return w >= ZN_READ_ENTRIES && w <= ZN_READ_HEAD ? s_what[w] : "?";
}

/* ---------------------------------------------------------------- receipt */

void zn_body_receipt(msgpack_sbuffer *out, uint64_t index, uint64_t known_size)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, index);
    msgpack_pack_uint64(&pk, known_size);
}

int zn_body_receipt_parse(const msgpack_object *body, uint64_t *index, uint64_t *known_size, zn_err *e)
{
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: body is not an array of exactly 2 fields (index, known_size)");
    if (zn_obj_u64_max(&a[0], ZN_MERKLE_MAX_SIZE - 1, index) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: body field 'index' is not an unsigned integer");
    if (zn_obj_u64_max(&a[1], ZN_MERKLE_MAX_SIZE, known_size) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: body field 'known_size' is not a tree size");
    return 0;
}

static void s_pack_opt_bin(msgpack_packer *pk, const uint8_t *p, size_t n)
{
    if (p)
        zn_pack_bin(pk, p, n);
    else
        msgpack_pack_nil(pk);
}

void zn_result_receipt(msgpack_sbuffer *out, const zn_receipt *r)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 7);
    zn_pack_bin(&pk, r->d, ZN_HASH_LEN);
    s_pack_opt_bin(&pk, r->salt, ZN_AUDIT_SALT_LEN);
    s_pack_opt_bin(&pk, r->entry, r->entry_len);
    zn_pack_bin(&pk, r->head, r->head_len);
    zn_pack_bin(&pk, r->head_sig, ZN_SIG_LEN);
    zn_pack_hashes(&pk, r->inclusion, r->n_inclusion);
    zn_pack_hashes(&pk, r->consistency, r->n_consistency);
}

static int s_fixed_ptr(const msgpack_object *o, size_t n, const uint8_t **out)
{
    size_t got = 0;
    if (zn_obj_bin(o, n, out, &got) != 0 || got != n)
        return -1;
    return 0;
}

int zn_result_receipt_parse(const msgpack_object *body, zn_receipt *r, zn_err *e)
{
    memset(r, 0, sizeof *r);
    const msgpack_object *a = zn_obj_array(body, 7);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: result is not an array of exactly 7 fields");
    if (s_fixed_ptr(&a[0], ZN_HASH_LEN, &r->d) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: field 'd' is not a %d-byte bin", ZN_HASH_LEN);
    bool redacted = a[1].type == MSGPACK_OBJECT_NIL && a[2].type == MSGPACK_OBJECT_NIL;
    if (!redacted && (s_fixed_ptr(&a[1], ZN_AUDIT_SALT_LEN, &r->salt) != 0 ||
                      zn_obj_bin(&a[2], ZN_AUDIT_MAX_ENTRY, &r->entry, &r->entry_len) != 0 || r->entry_len == 0))
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: fields 'salt' and 'entry' are neither both nil nor a "
                                             "32-byte salt and an entry");
    if (zn_obj_bin(&a[3], ZN_TREE_HEAD_MAX, &r->head, &r->head_len) != 0 || r->head_len == 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: field 'tree_head' is not a bin of 1 to %d bytes",
                          ZN_TREE_HEAD_MAX);
    if (s_fixed_ptr(&a[4], ZN_SIG_LEN, &r->head_sig) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: field 'tree_head_sig' is not a %d-byte bin", ZN_SIG_LEN);
    if (zn_obj_hashes(&a[5], ZN_MERKLE_MAX_INCLUSION, r->inclusion, &r->n_inclusion) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: field 'inclusion' is not an array of at most %d hashes",
                          ZN_MERKLE_MAX_INCLUSION);
    if (zn_obj_hashes(&a[6], ZN_MERKLE_MAX_CONSISTENCY, r->consistency, &r->n_consistency) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "receipt: field 'consistency' is not an array of at most %d hashes",
                          ZN_MERKLE_MAX_CONSISTENCY);
    return 0;
}

/* ---------------------------------------------------------------- audit-read */

static void s_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    zn_pack_str(pk, k);
    msgpack_pack_uint64(pk, v);
}

static void s_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    zn_pack_str(pk, k);
    zn_pack_str(pk, v);
}

int zn_body_audit_read(msgpack_sbuffer *out, const zn_audit_filter *f)
{
    if (f->what < ZN_READ_ENTRIES || f->what > ZN_READ_HEAD || f->limit > ZN_READ_LIMIT ||
        f->subject_len > ZN_SUBJECT_MAX || (f->decision != 0 && f->decision != ZN_AUDIT_ALLOWED &&
                                            f->decision != ZN_AUDIT_REFUSED) ||
        (f->partner[0] && !zn_ident_valid(f->partner)) || (f->action[0] && !zn_ident_valid(f->action)) ||
        (f->basis[0] && !zn_ident_valid(f->basis)) ||
        (f->handler[0] && (strnlen(f->handler, ZN_HANDLER_MAX) == ZN_HANDLER_MAX ||
                           !zn_text_valid(f->handler, strlen(f->handler)))))
        return -1;
    uint32_t n = 1 + (f->from != 0) + (f->upto != 0) + (f->limit != 0) + (f->since_ms != 0) +
                 (f->until_ms != 0) + f->leaves + f->has_case + (f->partner[0] != 0) + (f->handler[0] != 0) +
                 (f->action[0] != 0) + (f->basis[0] != 0) + (f->decision != 0) + (f->subject_len != 0);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    s_kv_str(&pk, "what", zn_read_what_name(f->what));
    if (f->from)
        s_kv_u64(&pk, "from", f->from);
    if (f->upto)
        s_kv_u64(&pk, "upto", f->upto);
    if (f->limit)
        s_kv_u64(&pk, "limit", f->limit);
    if (f->since_ms)
        s_kv_u64(&pk, "since", f->since_ms);
    if (f->until_ms)
        s_kv_u64(&pk, "until", f->until_ms);
    if (f->leaves) {
        zn_pack_str(&pk, "leaves");
        msgpack_pack_true(&pk);
    }
    if (f->has_case) {
        zn_pack_str(&pk, "case");
        zn_pack_bin(&pk, f->case_id, ZN_ID_LEN);
    }
    if (f->partner[0])
        s_kv_str(&pk, "partner", f->partner);
    if (f->handler[0])
        s_kv_str(&pk, "handler", f->handler);
    if (f->action[0])
        s_kv_str(&pk, "action", f->action);
    if (f->basis[0])
        s_kv_str(&pk, "basis", f->basis);
    if (f->decision)
        s_kv_str(&pk, "decision", f->decision == ZN_AUDIT_ALLOWED ? "allowed" : "refused");
    if (f->subject_len) {
        zn_pack_str(&pk, "subject");
        zn_pack_bin(&pk, f->subject, f->subject_len);
    }
    return 0;
}

/* One key of the body; 0 on success, -1 with e set. */
static int s_read_key(const char *k, const msgpack_object *v, zn_audit_filter *f, zn_err *e)
{
    uint64_t u = 0;
    const uint8_t *p = NULL;
    size_t n = 0;
    char s[ZN_IDENT_MAX];

    if (strcmp(k, "what") == 0) {
        for (int w = ZN_READ_ENTRIES; w <= ZN_READ_HEAD; w++)
            if (zn_obj_str_eq(v, s_what[w]))
                f->what = (zn_read_what)w;
        return f->what ? 0 : zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'what' is none of entries, heads, convenants, head");
    }
    if (strcmp(k, "from") == 0)
        return zn_obj_u64(v, &f->from) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'from' is not an unsigned integer") : 0;
    if (strcmp(k, "upto") == 0)
        return zn_obj_u64(v, &f->upto) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'upto' is not an unsigned integer") : 0;
    if (strcmp(k, "since") == 0)
        return zn_obj_u64(v, &f->since_ms) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'since' is not a time in ms") : 0;
    if (strcmp(k, "until") == 0)
        return zn_obj_u64(v, &f->until_ms) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'until' is not a time in ms") : 0;
    if (strcmp(k, "limit") == 0) {
        if (zn_obj_u64_max(v, ZN_READ_LIMIT, &u) != 0 || u == 0)
            return zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'limit' is not 1 to %d", ZN_READ_LIMIT);
        f->limit = (uint32_t)u;
        return 0;
    }
    if (strcmp(k, "leaves") == 0)
        return zn_obj_bool(v, &f->leaves) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'leaves' is not a boolean") : 0;
    if (strcmp(k, "case") == 0) {
        f->has_case = true;
        return zn_obj_bin_fixed(v, f->case_id, ZN_ID_LEN)
                   ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'case' is not a %d-byte bin", ZN_ID_LEN) : 0;
    }
    if (strcmp(k, "partner") == 0 || strcmp(k, "action") == 0 || strcmp(k, "basis") == 0) {
        char *dst = k[0] == 'p' ? f->partner : k[0] == 'a' ? f->action : f->basis;
        return zn_obj_ident(v, dst, ZN_IDENT_MAX) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: '%s' is not an identifier", k) : 0;
    }
    if (strcmp(k, "handler") == 0)
        return zn_obj_text(v, f->handler, sizeof f->handler) ? zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'handler' is not text") : 0;
    if (strcmp(k, "decision") == 0) {
        if (zn_obj_ident(v, s, sizeof s) == 0 && strcmp(s, "allowed") == 0)
            f->decision = ZN_AUDIT_ALLOWED;
        else if (zn_obj_ident(v, s, sizeof s) == 0 && strcmp(s, "refused") == 0)
            f->decision = ZN_AUDIT_REFUSED;
        else
            return zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'decision' is neither allowed nor refused");
        return 0;
    }
    if (strcmp(k, "subject") == 0) {
        if (zn_obj_bin(v, ZN_SUBJECT_MAX, &p, &n) != 0 || n == 0)
            return zn_err_set(e, ZN_E_MALFORMED, "audit-read: 'subject' is not a bin of 1 to %d bytes", ZN_SUBJECT_MAX);
        memcpy(f->subject, p, n);
        f->subject_len = n;
        return 0;
    }
    return zn_err_set(e, ZN_E_MALFORMED, "audit-read: unknown key '%s'", k);
}

int zn_body_audit_read_parse(const msgpack_object *body, zn_audit_filter *f, zn_err *e)
{
    memset(f, 0, sizeof *f);
    if (!body || body->type != MSGPACK_OBJECT_MAP || body->via.map.size > 16)
        return zn_err_set(e, ZN_E_MALFORMED, "audit-read: body is not a map of at most 16 keys");
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        char k[ZN_IDENT_MAX];
        if (zn_obj_ident(&body->via.map.ptr[i].key, k, sizeof k) != 0)
            return zn_err_set(e, ZN_E_MALFORMED, "audit-read: a key is not an identifier");
        for (uint32_t j = 0; j < i; j++)
            if (zn_obj_str_eq(&body->via.map.ptr[j].key, k))
                return zn_err_set(e, ZN_E_MALFORMED, "audit-read: key '%s' appears twice", k);
        if (s_read_key(k, &body->via.map.ptr[i].val, f, e) != 0)
            return -1;
    }
    if (!f->what)
        return zn_err_set(e, ZN_E_MALFORMED, "audit-read: key 'what' is missing");
    if (!f->limit)
        f->limit = ZN_READ_LIMIT;
    return 0;
}

static bool s_opt_eq(const char *want, const char *have)
{
    return !want[0] || (have && strcmp(want, have) == 0);
}

bool zn_audit_filter_match(const zn_audit_filter *f, const zn_audit_entry *en)
{
    if (en->time_ms < f->since_ms || (f->until_ms && en->time_ms >= f->until_ms))
        return false;
    if (f->has_case && (!en->case_id || memcmp(en->case_id, f->case_id, ZN_ID_LEN) != 0))
        return false;
    if (f->partner[0] && !s_opt_eq(f->partner, en->actor) && !s_opt_eq(f->partner, en->counterpart))
        return false;
    if (!s_opt_eq(f->handler, en->handler) || !s_opt_eq(f->action, en->action) || !s_opt_eq(f->basis, en->basis))
        return false;
    if (f->decision && (int)en->decision != f->decision)
        return false;
    if (f->subject_len) {
        /* the subject itself, or one of the persons listed under "related" (pseudonyms of equal
         * length end to end) */
        for (size_t i = 0; i < en->n_details; i++) {
            const zn_audit_detail *d = &en->details[i];
            bool subject = strcmp(d->key, "subject") == 0, related = strcmp(d->key, "related") == 0;
            if ((!subject && !related) || d->type != ZN_AUDIT_BIN || d->len % f->subject_len != 0 ||
                (subject && d->len != f->subject_len))
                continue;
            for (size_t off = 0; off < d->len; off += f->subject_len)
                if (memcmp(d->p + off, f->subject, f->subject_len) == 0)
                    return true;
        }
        return false;
    }
    return true;
}

void zn_result_audit_read_begin(msgpack_packer *pk, uint64_t size, uint64_t next, uint32_t n_records)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint64(pk, size);
    msgpack_pack_uint64(pk, next);
    msgpack_pack_array(pk, n_records);
}

int zn_result_audit_read_parse(const msgpack_object *body, uint64_t *size, uint64_t *next,
                               const msgpack_object **records, uint32_t *n, zn_err *e)
{
    const msgpack_object *a = zn_obj_array(body, 3);
    if (!a || zn_obj_u64(&a[0], size) != 0 || zn_obj_u64(&a[1], next) != 0 ||
        a[2].type != MSGPACK_OBJECT_ARRAY)
        return zn_err_set(e, ZN_E_MALFORMED, "audit-read: result is not [size, next, records]");
    for (uint32_t i = 0; i < a[2].via.array.size; i++)
        if (a[2].via.array.ptr[i].type != MSGPACK_OBJECT_BIN || a[2].via.array.ptr[i].via.bin.size == 0)
            return zn_err_set(e, ZN_E_MALFORMED, "audit-read: record %u is not a bin", i);
    *records = a[2].via.array.ptr;
    *n = a[2].via.array.size;
    return 0;
}
