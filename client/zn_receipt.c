/* libzorgnet: receipts — proof that one entry is in the broker's audit log (see zorgnet.h). */
#include "zn_auditreq.h"
#include "zn_client_internal.h"
#include "zn_envelope.h"
#include "zn_merkle.h"
#include "zn_request.h"
#include "zn_wire.h"
#include "zorgnet.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ZN_CLIENT_HASH_LEN == ZN_MERKLE_HASH_LEN && ZN_CLIENT_HASH_LEN == ZN_HASH_LEN,
               "hash length");

/* Header fields [1, msgid, case, sender, ...] and request fields [1, kind, partner, ...]. */
#define S_HEADER_FIELDS 10
#define S_REQUEST_FIELDS 8
#define S_EVIDENCE_OBJECTS 64

/* Who signed the evidence, as its signed bytes say; the message id of an envelope header. */
static int s_evidence_signer(const zn_audit_entry *en, char signer[ZN_IDENT_MAX], bool *has_msgid,
                             uint8_t msgid[ZN_ID_LEN])
{
    zn_doc d;
    int rc = -1;
    *has_msgid = false;
    signer[0] = '\0';
    if (zn_doc_parse(&d, en->evidence, en->evidence_len, ZN_WIRE_MAX_DEPTH, S_EVIDENCE_OBJECTS) != 0)
        return -1;
    if (strcmp(en->evidence_kind, "envelope-header") == 0) {
        const msgpack_object *a = zn_obj_array(&d.root, S_HEADER_FIELDS);
        if (a && zn_obj_bin_fixed(&a[1], msgid, ZN_ID_LEN) == 0 &&
            zn_obj_ident(&a[3], signer, ZN_IDENT_MAX) == 0) {
            *has_msgid = true;
            rc = 0;
        }
    } else if (strcmp(en->evidence_kind, "request") == 0) {
        const msgpack_object *a = zn_obj_array(&d.root, S_REQUEST_FIELDS);
        if (a && zn_obj_ident(&a[2], signer, ZN_IDENT_MAX) == 0)
            rc = 0;
    } else {
        rc = 0; /* a kind this client does not know: nothing more to read */
    }
    zn_doc_free(&d);
    return rc;
}

/* Decode the entry and fill *out; the evidence is checked when this client signed it. */
static int s_read_entry(zn_client *c, uint64_t index, const zn_receipt *r, zn_receipt_info *out,
                        zn_err *e)
{
    uint8_t d[ZN_HASH_LEN];
    zn_audit_commit(d, r->salt, r->entry, r->entry_len);
    if (sodium_memcmp(d, r->d, ZN_HASH_LEN) != 0)
        return zn_err_set(e, ZN_E_HASH_MISMATCH,
                          "entry %llu: its bytes and salt do not hash to the commitment in the log; "
                          "the broker's copy of the entry was altered",
                          (unsigned long long)index);
    zn_doc doc;
    zn_audit_entry en;
    zn_audit_detail details[ZN_AUDIT_DETAILS_MAX];
    zn_err de;
    zn_err_clear(&de);
    if (zn_audit_entry_decode(r->entry, r->entry_len, &doc, &en, details, &de) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "entry %llu does not decode as an audit entry: %.150s",
                          (unsigned long long)index, de.text);
    int rc = 0;
    if (en.index != index) {
        rc = zn_err_set(e, ZN_E_VERIFY, "the entry at index %llu says it is entry %llu",
                        (unsigned long long)index, (unsigned long long)en.index);
        goto done;
    }
    out->time_ms = en.time_ms;
    zn_text_copy(out->actor, sizeof out->actor, en.actor);
    zn_text_copy(out->handler, sizeof out->handler, en.handler);
    zn_text_copy(out->action, sizeof out->action, en.action);
    out->has_case = en.case_id != NULL;
    if (en.case_id)
        memcpy(out->case_id, en.case_id, ZN_ID_LEN);
    zn_text_copy(out->counterpart, sizeof out->counterpart, en.counterpart);
    out->allowed = en.decision == ZN_AUDIT_ALLOWED;
    zn_text_copy(out->reason, sizeof out->reason, en.reason);
    zn_text_copy(out->basis, sizeof out->basis, en.basis);
    if (en.evidence_kind) {
        char signer[ZN_IDENT_MAX];
        zn_text_copy(out->evidence, sizeof out->evidence, en.evidence_kind);
        if (s_evidence_signer(&en, signer, &out->has_msgid, out->msgid) != 0) {
            rc = zn_err_set(e, ZN_E_VERIFY, "entry %llu: its evidence (%s) cannot be read",
                            (unsigned long long)index, en.evidence_kind);
            goto done;
        }
        const char *self = zn_client_self(c);
        if (self && strcmp(signer, self) == 0) {
            const char *ns = out->has_msgid ? ZN_ENVELOPE_NS : ZN_REQUEST_NS;
            if (zn_verify_ns(en.evidence_sig, ns, en.evidence, en.evidence_len, zn_client_sign_pk(c)) != 0) {
                rc = zn_err_set(e, ZN_E_BAD_SIGNATURE,
                                "entry %llu: its evidence names this client (%s) as signer, but the "
                                "signature does not verify with this client's key",
                                (unsigned long long)index, self);
                goto done;
            }
            out->evidence_signed_by_self = true;
        }
    }
done:
    zn_doc_free(&doc);
    return rc;
}

static int s_receipt(zn_client *c, uint64_t index, zn_receipt_info *out, zn_err *e)
{
    bool have = false;
    uint64_t known_size = 0, known_time = 0;
    uint8_t known_root[ZN_HASH_LEN];

    memset(out, 0, sizeof *out);
    out->index = index;
    if (index >= ZN_MERKLE_MAX_SIZE)
        return zn_err_set(e, ZN_E_USAGE, "an audit index is below 2^63");
    /* connect first: the welcome may bring a newer head, and the request must name the head
     * this client holds when it asks */
    if (zn_client_ensure_connected(c, e) != 0 ||
        zn_client_known_head(c, &have, &known_size, known_root, &known_time, e) != 0)
        return -1;
    if (!have)
        known_size = 0;

    msgpack_sbuffer body;
    zn_frame f;
    uint8_t *fbuf = NULL;
    msgpack_sbuffer_init(&body);
    zn_body_receipt(&body, index, known_size);
    int rc = zn_client_request(c, "receipt", (const uint8_t *)body.data, body.size, &f, &fbuf, e);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;

    zn_receipt r;
    zn_tree_head th;
    zn_err pe;
    zn_err_clear(&pe);
    if (zn_result_receipt_parse(f.u.result.body, &r, &pe) != 0) {
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's receipt cannot be read: %.180s", pe.text);
        goto done;
    }
    /* 1. the head: signed by the broker, consistent with what this client saw before */
    if (zn_client_accept_head(c, r.head, r.head_len, r.head_sig, r.consistency, r.n_consistency,
                              known_size, known_root, "the receipt", &th, e) != 0) {
        rc = -1;
        goto done;
    }
    out->known_size = known_size;
    out->tree_size = th.size;
    out->head_time_ms = th.time_ms;
    memcpy(out->root, th.root, ZN_HASH_LEN);
    /* 2. the entry's leaf is in that head */
    if (index >= th.size) {
        rc = zn_err_set(e, ZN_E_VERIFY,
                        "the receipt's signed tree head covers %llu entries, so entry %llu is not "
                        "in it",
                        (unsigned long long)th.size, (unsigned long long)index);
        goto done;
    }
    uint8_t leaf[ZN_MERKLE_HASH_LEN];
    zn_merkle_leaf_hash(leaf, r.d, ZN_HASH_LEN);
    if (zn_merkle_verify_inclusion(leaf, index, th.size, r.inclusion, r.n_inclusion, th.root) != 0) {
        rc = zn_err_set(e, ZN_E_VERIFY,
                        "the inclusion proof of entry %llu in the signed tree of %llu entries "
                        "fails: the receipt does not prove that the entry is in the log",
                        (unsigned long long)index, (unsigned long long)th.size);
        goto done;
    }
    /* 3. the entry itself, unless it was redacted */
    if (!r.entry) {
        out->redacted = true;
        rc = 0;
        goto done;
    }
    rc = s_read_entry(c, index, &r, out, e);
done:
    zn_frame_free(&f);
    free(fbuf);
    return rc;
}

int zn_client_receipt(zn_client *c, uint64_t index, zn_receipt_info *out, zn_err *e)
{
    if (!out)
        return zn_err_set(e, ZN_E_USAGE, "receipt needs a result to fill");
    return s_receipt(c, index, out, e);
}

int zn_client_receipt_msgid(zn_client *c, const uint8_t msgid[ZN_CLIENT_ID_LEN], zn_receipt_info *out,
                            zn_err *e)
{
    char hex[2 * ZN_ID_LEN + 1];
    bool found = false;
    uint64_t index = 0;
    if (!out || !msgid)
        return zn_err_set(e, ZN_E_USAGE, "receipt needs a message id and a result to fill");
    memset(out, 0, sizeof *out);
    if (zn_client_ensure_connected(c, e) != 0) /* also checks that a key is there */
        return -1;
    zn_hex(hex, msgid, ZN_ID_LEN);
    if (zn_client_sent_index(c, msgid, &found, &index, e) != 0)
        return -1;
    if (!found)
        return zn_err_set(e, ZN_E_UNKNOWN_ENTRY,
                          "this client has no record of sending message %s (records are kept %d "
                          "days); give the audit index that 'send' printed instead",
                          hex, ZN_CLIENT_SEEN_DAYS);
    if (s_receipt(c, index, out, e) != 0)
        return -1;
    if (out->redacted)
        return 0; /* inclusion proven; what the entry said is gone */
    const char *self = zn_client_self(c);
    if (strcmp(out->actor, self) != 0 || !out->has_msgid ||
        sodium_memcmp(out->msgid, msgid, ZN_ID_LEN) != 0 || !out->evidence_signed_by_self)
        return zn_err_set(e, ZN_E_VERIFY,
                          "audit entry %llu is not the acceptance of message %s sent by %s (its "
                          "actor is '%s', its evidence %s)",
                          (unsigned long long)index, hex, self, out->actor[0] ? out->actor : "the broker",
                          out->has_msgid ? "the envelope header of another message"
                                         : out->evidence[0] ? out->evidence : "missing");
    return 0;
}
