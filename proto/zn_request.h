/* zn_request — signed requests: every change of state (cases, consent, safety overrides,
 * handovers, signals) and every read that must be recorded.
 *
 * Request (msgpack array, exactly 8 fields):
 *   [1, kind str, partner str, handler str, nonce bin16, time u64 (unix ms),
 *    convenant_version u64, body]
 * Signature: Ed25519 by the partner over "zorgnet/v1/request" || request bytes.
 * Bodies per kind: the case, consent, override and handover kinds in zn_case.h; the signal and
 * match kinds in zn_signal.h; "receipt" and "audit-read" in zn_auditreq.h (docs/PROTOCOL.md,
 * sections 5, 11, 12 and 13).
 * The broker refuses a request whose partner is not the connected partner, whose time lies
 * outside the convenant's request_window_s, or whose (partner, nonce) it has seen before.
 *
 * Ownership: zn_request_build returns a malloc'd encoding. A parsed zn_request points into its
 * zn_doc, which points into the input buffer; keep both alive, free the doc with zn_doc_free. */
#ifndef ZN_REQUEST_H
#define ZN_REQUEST_H

#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_keys.h"
#include "zn_wire.h"

#define ZN_REQUEST_NS "zorgnet/v1/request"
#define ZN_MAX_REQUEST 65536u
#define ZN_NONCE_LEN 16

typedef struct {
    char kind[ZN_IDENT_MAX];
    char partner[ZN_IDENT_MAX];
    char handler[ZN_HANDLER_MAX];
    uint8_t nonce[ZN_NONCE_LEN];
    uint64_t time_ms;
    uint64_t convenant_version;
    const msgpack_object *body;
} zn_request;

/* Build and sign: body_raw is the msgpack encoding of the body; nonce is fresh random. */
int zn_request_build(const char *kind, const char *partner, const char *handler,
                     uint64_t time_ms, uint64_t convenant_version, const uint8_t *body_raw,
                     size_t body_len, const zn_seckeys *signer, uint8_t **req, size_t *req_len,
                     uint8_t sig[ZN_SIG_LEN], zn_err *e) __attribute__((warn_unused_result));

int zn_request_parse(const uint8_t *req, size_t len, zn_doc *doc, zn_request *out, zn_err *e)
    __attribute__((warn_unused_result));

int zn_request_verify(const uint8_t *req, size_t len, const uint8_t sig[ZN_SIG_LEN],
                      const uint8_t signer_pk[ZN_KEY_LEN]) __attribute__((warn_unused_result));

#endif
