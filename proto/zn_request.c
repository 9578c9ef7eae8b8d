/* zn_request — signed requests that change state (see zn_request.h and docs/PROTOCOL.md). */
#include "zn_request.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_FIELDS 8
/* A request of at most 64 KiB holds fewer objects than this; nesting is bounded by the wire. */
#define S_MAX_OBJECTS 4096

static bool s_ident_ok(const char *s)
{
    return s && strnlen(s, ZN_IDENT_MAX) < ZN_IDENT_MAX && zn_ident_valid(s);
}

static bool s_handler_ok(const char *s)
{
    size_t n = s ? strnlen(s, ZN_HANDLER_MAX) : 0;
    return n > 0 && n < ZN_HANDLER_MAX && zn_text_valid(s, n);
}

/* Ed25519 over NS || req. The request is at most ZN_MAX_REQUEST bytes. */

int zn_request_build(const char *kind, const char *partner, const char *handler,
                     uint64_t time_ms, uint64_t convenant_version, const uint8_t *body_raw,
                     size_t body_len, const zn_seckeys *signer, uint8_t **req, size_t *req_len,
                     uint8_t sig[ZN_SIG_LEN], zn_err *e)
{
    uint8_t nonce[ZN_NONCE_LEN];
    zn_buf b = {.failed = false};
    msgpack_packer pk;
    int rc = -1;

    msgpack_sbuffer_init(&b.sb);
    if (req)
        *req = NULL;
    if (req_len)
        *req_len = 0;
    if (!signer || !req || !req_len || !sig || !body_raw) {
        zn_err_set(e, ZN_E_INTERNAL, "request build called without its arguments");
        goto done;
    }
    if (!s_ident_ok(kind)) {
        zn_err_set(e, ZN_E_USAGE, "the request kind is not an identifier");
        goto done;
    }
    if (!s_ident_ok(partner)) {
        zn_err_set(e, ZN_E_USAGE, "the partner id is not an identifier");
        goto done;
    }
    if (!s_handler_ok(handler)) {
        zn_err_set(e, ZN_E_USAGE, "the handler must be 1 to %d bytes of text without control characters",
                   ZN_HANDLER_MAX - 1);
        goto done;
    }
    if (body_len == 0 || body_len > ZN_MAX_REQUEST ||
        zn_wire_check(body_raw, body_len, ZN_WIRE_MAX_DEPTH - 1, S_MAX_OBJECTS - S_FIELDS) != 0) {
        /* the body sits one level down and next to the request's own fields: what passes here
         * also passes zn_request_parse */
        zn_err_set(e, ZN_E_USAGE, "the request body is not one well-formed msgpack object");
        goto done;
    }

    randombytes_buf(nonce, sizeof nonce);
    msgpack_packer_init(&pk, &b, zn_buf_write);
    msgpack_pack_array(&pk, S_FIELDS);
    msgpack_pack_uint64(&pk, 1);
    zn_pack_str(&pk, kind);
    zn_pack_str(&pk, partner);
    zn_pack_str(&pk, handler);
    zn_pack_bin(&pk, nonce, sizeof nonce);
    msgpack_pack_uint64(&pk, time_ms);
    msgpack_pack_uint64(&pk, convenant_version);
    zn_pack_raw(&pk, body_raw, body_len);
    if (b.failed) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while encoding a request");
        goto done;
    }
    if (b.sb.size > ZN_MAX_REQUEST) {
        zn_err_set(e, ZN_E_TOO_LARGE, "the request is %zu bytes; at most %u are accepted", b.sb.size,
                   ZN_MAX_REQUEST);
        goto done;
    }
    if (zn_sign_ns(sig, ZN_REQUEST_NS, (const uint8_t *)b.sb.data, b.sb.size, signer->sign) != 0) {
        zn_err_set(e, ZN_E_INTERNAL, "signing the request failed");
        goto done;
    }
    *req = (uint8_t *)b.sb.data; /* ownership moves to the caller */
    *req_len = b.sb.size;
    b.sb.data = NULL;
    b.sb.size = b.sb.alloc = 0;
    rc = 0;

done:
    msgpack_sbuffer_destroy(&b.sb);
    return rc;
}

int zn_request_parse(const uint8_t *req, size_t len, zn_doc *doc, zn_request *out, zn_err *e)
{
    uint64_t v = 0;

    if (!doc || !out)
        return zn_err_set(e, ZN_E_INTERNAL, "request parse called without its arguments");
    doc->live = false;
    memset(out, 0, sizeof *out);
    if (!req || len > ZN_MAX_REQUEST)
        return zn_err_set(e, ZN_E_TOO_LARGE, "the request is larger than %u bytes", ZN_MAX_REQUEST);
    if (zn_doc_parse(doc, req, len, ZN_WIRE_MAX_DEPTH, S_MAX_OBJECTS) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "the request is not one well-formed msgpack object");

    const msgpack_object *a = zn_obj_array(&doc->root, S_FIELDS);
    if (!a) {
        zn_err_set(e, ZN_E_MALFORMED, "the request is not an array of exactly %d fields", S_FIELDS);
        goto fail;
    }
    if (zn_obj_u64(&a[0], &v) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'version' is not an unsigned integer");
        goto fail;
    }
    if (v != 1) {
        zn_err_set(e, ZN_E_VERSION, "request version %llu is not supported (only 1 is)",
                   (unsigned long long)v);
        goto fail;
    }
    if (zn_obj_ident(&a[1], out->kind, sizeof out->kind) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'kind' is not an identifier");
        goto fail;
    }
    if (zn_obj_ident(&a[2], out->partner, sizeof out->partner) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'partner' is not an identifier");
        goto fail;
    }
    if (zn_obj_text(&a[3], out->handler, sizeof out->handler) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'handler' is not text of 1 to %d bytes",
                   ZN_HANDLER_MAX - 1);
        goto fail;
    }
    if (zn_obj_bin_fixed(&a[4], out->nonce, ZN_NONCE_LEN) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'nonce' is not a %d-byte bin", ZN_NONCE_LEN);
        goto fail;
    }
    if (zn_obj_u64(&a[5], &out->time_ms) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'time' is not an unsigned integer");
        goto fail;
    }
    if (zn_obj_u64(&a[6], &out->convenant_version) != 0) {
        zn_err_set(e, ZN_E_MALFORMED, "request field 'convenant_version' is not an unsigned integer");
        goto fail;
    }
    out->body = &a[7];
    return 0;

fail:
    zn_doc_free(doc);
    memset(out, 0, sizeof *out);
    return -1;
}

int zn_request_verify(const uint8_t *req, size_t len, const uint8_t sig[ZN_SIG_LEN],
                      const uint8_t signer_pk[ZN_KEY_LEN])
{
    if (!req || !sig || !signer_pk || len == 0 || len > ZN_MAX_REQUEST)
        return -1;
    return zn_verify_ns(sig, ZN_REQUEST_NS, req, len, signer_pk);
}
