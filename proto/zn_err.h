/* zn_err — the one table of error codes.
 *
 * Every refusal carries a stable code (a short name that travels on the wire and in --json
 * output) and one plain sentence that tells a professional what to do next. Each code belongs to
 * a class, and the CLI maps the class to its exit status (see docs/PROTOCOL.md, "Error codes").
 *
 * Ownership: zn_err is a plain value the caller owns (usually on the stack); nothing to free. */
#ifndef ZN_ERR_H
#define ZN_ERR_H

#include <stddef.h>

typedef enum {
    ZN_CLASS_OK = 0,
    ZN_CLASS_FAULT = 1,       /* local fault: file, memory, store */
    ZN_CLASS_USAGE = 2,       /* the user asked for something malformed */
    ZN_CLASS_REFUSED = 3,     /* refused by the broker or by policy */
    ZN_CLASS_UNREACHABLE = 4, /* broker did not answer, or refused the handshake */
    ZN_CLASS_VERIFY = 5,      /* a signature, hash or version check failed */
} zn_class;

/*  X(enum name,        wire code,             class,               what to do next) */
#define ZN_ERRORS(X)                                                                                \
    X(OK,               "ok",                  ZN_CLASS_OK,          "Done.")                       \
    X(USAGE,            "usage",               ZN_CLASS_USAGE,       "Check the command line; 'zorgnet help' lists the options.") \
    X(MALFORMED,        "malformed",           ZN_CLASS_REFUSED,     "The frame could not be read; nothing was stored. Update the client or report the fault.") \
    X(TOO_LARGE,        "too-large",           ZN_CLASS_REFUSED,     "The frame is larger than the broker accepts; content is limited to 1 MiB.") \
    X(UNKNOWN_TYPE,     "unknown-type",        ZN_CLASS_REFUSED,     "The broker does not know this frame type; update the client.") \
    X(VERSION,          "unsupported-version", ZN_CLASS_REFUSED,     "This protocol version is not supported; update the client.") \
    X(SENDER_MISMATCH,  "sender-mismatch",     ZN_CLASS_REFUSED,     "The envelope or request names another sender than the connected partner; it was refused.") \
    X(UNKNOWN_PARTNER,  "unknown-partner",     ZN_CLASS_REFUSED,     "No partner with this id is in the convenant; 'zorgnet partners' lists them.") \
    X(UNKNOWN_NETWORK,  "unknown-network",     ZN_CLASS_REFUSED,     "No network with this name is in the convenant; 'zorgnet partners' lists the networks.") \
    X(UNKNOWN_CASE,     "unknown-case",        ZN_CLASS_REFUSED,     "No case with this id exists; open one with 'zorgnet case new'.") \
    X(CASE_EXISTS,      "case-exists",         ZN_CLASS_REFUSED,     "A case with this id already exists; create the request again.") \
    X(NOT_IN_NETWORK,   "not-in-network",      ZN_CLASS_REFUSED,     "Case messages go only between partners that hold the partner role in the case's network.") \
    X(NOT_PARTNER,      "role-not-allowed",    ZN_CLASS_REFUSED,     "Only partners with the partner role in the network may do this; coordinators and auditors never carry case content.") \
    X(DUPLICATE_ID,     "duplicate-id",        ZN_CLASS_REFUSED,     "This message id was already used for a different message; send it again with a new id.") \
    X(REPLAY,           "replayed-request",    ZN_CLASS_REFUSED,     "This request was seen before (same nonce); make a new request.") \
    X(STALE,            "request-expired",     ZN_CLASS_REFUSED,     "The request's time is too far from the broker's clock; check this computer's clock.") \
    X(BAD_SIGNATURE,    "bad-signature",       ZN_CLASS_VERIFY,      "A signature did not verify; the item was refused and not shown as valid.") \
    X(HASH_MISMATCH,    "hash-mismatch",       ZN_CLASS_VERIFY,      "The content does not match the hash its header names; it was refused.") \
    X(QUOTA,            "quota-exceeded",      ZN_CLASS_REFUSED,     "The recipient's queue is full; try again later or ask the recipient to read its inbox.") \
    X(CONVENANT_OLD,    "convenant-outdated",  ZN_CLASS_VERIFY,      "This convenant is older than one already seen; get the current convenant from the authority.") \
    X(CONVENANT_INVALID, "convenant-invalid",  ZN_CLASS_VERIFY,      "The convenant's signature or validity does not hold; ask the authority for a valid one.") \
    X(NOT_IN_CONVENANT, "not-in-convenant",    ZN_CLASS_REFUSED,     "Your organisation is not (or no longer) in the convenant; contact the authority.") \
    X(FORBIDDEN,        "forbidden",           ZN_CLASS_REFUSED,     "Only auditors read the audit log (a partner only the receipts of its own entries); this refusal was recorded.") \
    X(UNKNOWN_ENTRY,    "unknown-entry",       ZN_CLASS_REFUSED,     "The audit log has no entry with this index; check the number the reply gave.") \
    X(LOG_INCONSISTENT, "log-inconsistent",    ZN_CLASS_VERIFY,      "The broker's audit log does not extend the history this client saw before: it was rewritten or truncated. Stop, and tell the authority and the auditors.") \
    X(NO_LOOKUP,        "no-lookup",           ZN_CLASS_REFUSED,     "zorgnet has no look-up: a partner learns of others only by registering its own signal with 'zorgnet signal add'. This request was recorded.") \
    X(RATE_LIMITED,     "rate-limited",        ZN_CLASS_REFUSED,     "Too many new signals in the last 24 hours for this partner or handler; the coordinators and auditors were told. Try again later or talk to the coordinator.") \
    X(UNKNOWN_SIGNAL,   "unknown-signal",      ZN_CLASS_REFUSED,     "None of your active signals has this id; 'zorgnet signal list' shows them.") \
    X(UNKNOWN_MATCH,    "unknown-match",       ZN_CLASS_REFUSED,     "No match with this id is open to you; 'zorgnet matches' shows the matches you were told of.") \
    X(NOT_COORDINATOR,  "not-coordinator",     ZN_CLASS_REFUSED,     "Only a coordinator of a network the match belongs to may connect its partners or name a lead.") \
    X(NOT_MEMBER,       "not-member",          ZN_CLASS_REFUSED,     "Only members of a case act on it: its regisseur, partners that took it over or acknowledged a message on it, and partners that consent or a safety override admit.") \
    X(CONSENT_REQUIRED, "consent-required",    ZN_CLASS_REFUSED,     "The case is identified and no granted, unexpired consent covers the recipient, nor does a safety override; discuss it on an anonymous case ('zorgnet case new' without --bsn) or ask the regisseur to record consent.") \
    X(CASE_CLOSED,      "case-closed",         ZN_CLASS_REFUSED,     "The case is closed; nothing more is recorded on it. Open a new case to continue.") \
    X(NOT_REGISSEUR,    "not-regisseur",       ZN_CLASS_REFUSED,     "Only the case's regisseur may do this; 'zorgnet case show' names the regisseur.") \
    X(CAPACITY,         "consent-capacity",    ZN_CLASS_REFUSED,     "Consent must be given in the capacity the age requires: under 12 a parent, guardian or representative; 12-15 the client and a parent or guardian; 16 and over the client.") \
    X(CASE_IDENTIFIED,  "case-identified",     ZN_CLASS_REFUSED,     "The case is already linked to a person.") \
    X(CASE_ANONYMOUS,   "case-anonymous",      ZN_CLASS_REFUSED,     "The case is anonymous: it needs no safety override. Link the person ('zorgnet case link') or open an identified case first.") \
    X(UNKNOWN_OVERRIDE, "unknown-override",    ZN_CLASS_REFUSED,     "No safety override with this id is open to you; 'zorgnet override list' shows them.") \
    X(UNKNOWN_HANDOVER, "unknown-handover",    ZN_CLASS_REFUSED,     "No handover with this id is open to you; 'zorgnet handover list' shows them.") \
    X(UNKNOWN_MESSAGE,  "unknown-message",     ZN_CLASS_REFUSED,     "You sent no message with this id to this recipient on this case; send the dossier first.") \
    X(DECIDED,          "already-decided",     ZN_CLASS_REFUSED,     "This was decided already; 'zorgnet override list' or 'zorgnet handover list' shows its state.") \
    X(HANDOVER_OPEN,    "handover-open",       ZN_CLASS_REFUSED,     "The case has an open handover; wait for the recipient's answer (the coordinators are told when it times out).") \
    X(IDENTIFIERS,      "identifiers-found",   ZN_CLASS_USAGE,       "The text looks like it identifies someone, on an anonymous case; remove what was found, or check it and send again with --i-checked (recorded in the audit log).") \
    X(STORE,            "store-failed",        ZN_CLASS_FAULT,       "The broker could not store the request; nothing was accepted. Try again.") \
    X(SHUTDOWN,         "shutting-down",       ZN_CLASS_UNREACHABLE, "The broker is shutting down; try again in a moment.") \
    X(UNREACHABLE,      "unreachable",         ZN_CLASS_UNREACHABLE, "The broker did not answer in time; check the address and try again (retrying is safe).") \
    X(HANDSHAKE,        "handshake-refused",   ZN_CLASS_UNREACHABLE, "The broker refused this key; check that your key is the one in the convenant.") \
    X(VERIFY,           "verification-failed", ZN_CLASS_VERIFY,      "A check of signatures, hashes or keys failed; the item was not accepted as valid.") \
    X(KEY_FILE,         "key-file",            ZN_CLASS_FAULT,       "The key file could not be used; check its path, kind and permissions (mode 0600).") \
    X(IO,               "io",                  ZN_CLASS_FAULT,       "A file could not be read or written; check the path and permissions.") \
    X(INTERNAL,         "internal",            ZN_CLASS_FAULT,       "An internal error occurred; nothing was changed.")

typedef enum {
#define ZN_X_ENUM(name, wire, klass, hint) ZN_E_##name,
    ZN_ERRORS(ZN_X_ENUM)
#undef ZN_X_ENUM
    ZN_E__COUNT
} zn_code;

#define ZN_ERR_TEXT_MAX 256

typedef struct {
    zn_code code;
    char text[ZN_ERR_TEXT_MAX]; /* one plain sentence, NUL-terminated; never a secret */
} zn_err;

/* Set code and text (printf-style). A NULL fmt uses the code's standard sentence. Returns -1 so
 * callers can write `return zn_err_set(e, ...)`. e may be NULL. */
int zn_err_set(zn_err *e, zn_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void zn_err_clear(zn_err *e);
/* Put "what: " before the text already in e, keeping its code. Returns -1. */
int zn_err_prefix(zn_err *e, const char *what);

const char *zn_code_name(zn_code code);  /* wire code, e.g. "quota-exceeded" */
const char *zn_code_hint(zn_code code);  /* the standard sentence */
zn_class zn_code_class(zn_code code);
/* Map a wire code back to the enum; unknown names map to ZN_E_INTERNAL. */
zn_code zn_code_from_name(const char *name, size_t len);

#endif
