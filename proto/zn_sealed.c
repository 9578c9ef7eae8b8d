/* zn_sealed — free text sealed by the client to the partners who may read it (see zn_sealed.h
 * and docs/PROTOCOL.md, "Sealed text"). */
#include "zn_sealed.h"

#include <string.h>

#define S_BOX_MIN(min_text) (crypto_box_SEALBYTES + (min_text))
#define S_BOX_MAX (crypto_box_SEALBYTES + ZN_SEALED_TEXT_MAX)

/* UTF-8 without control characters other than newline and tab, 1..ZN_SEALED_TEXT_MAX bytes. */
static bool s_text_ok(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    if (!s || len == 0 || len > ZN_SEALED_TEXT_MAX)
        return false;
    for (size_t i = 0, k; i < len; i += k) {
        uint32_t cp;
        k = zn_utf8_next(p + i, len - i, &cp);
        if (k == 0)
            return false;
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return false;
    }
    return true;
}

static bool s_ident_ok(const char *s)
{
    return s && strnlen(s, ZN_IDENT_MAX) < ZN_IDENT_MAX && zn_ident_valid(s);
}

/* Insert id into the ascending set out[0..*n); -1 when it is full (max). */
static int s_insert(char out[][ZN_IDENT_MAX], size_t *n, size_t max, const char *id)
{
    size_t at = 0;
    while (at < *n && strcmp(out[at], id) < 0)
        at++;
    if (at < *n && strcmp(out[at], id) == 0)
        return 0;
    if (*n >= max)
        return -1;
    memmove(out[at + 1], out[at], (*n - at) * sizeof out[0]);
    memcpy(out[at], id, strlen(id) + 1);
    (*n)++;
    return 0;
}

int zn_sealed_readers(const zn_convenant *c, unsigned who, int network, const char *partner,
                      char out[][ZN_IDENT_MAX], size_t max, zn_err *e)
{
    const unsigned known = ZN_READ_AUDITORS | ZN_READ_COORDINATORS | ZN_READ_PARTNER;
    size_t n = 0;

    if (!c || !out)
        return zn_err_set(e, ZN_E_INTERNAL, "sealed-text readers asked without a convenant or room for them");
    if (who == 0 || (who & ~known) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "sealed-text readers asked for an unknown set (0x%x)", who);
    if ((who & ZN_READ_COORDINATORS) && (network < 0 || (size_t)network >= c->n_networks))
        return zn_err_set(e, ZN_E_UNKNOWN_NETWORK, "the text is for the coordinators of a network the "
                                                   "convenant does not hold");
    if ((who & ZN_READ_PARTNER) && !zn_convenant_partner(c, partner))
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "the text is for partner '%s', who is not in the convenant",
                          partner ? partner : "");
    for (size_t i = 0; i < c->n_partners; i++) {
        const zn_partner *p = &c->partners[i];
        bool reads = ((who & ZN_READ_AUDITORS) && p->auditor) ||
                     ((who & ZN_READ_COORDINATORS) && zn_partner_has_role(p, network, ZN_ROLE_COORDINATOR)) ||
                     ((who & ZN_READ_PARTNER) && strcmp(p->id, partner) == 0);
        if (!reads)
            continue;
        if (!s_ident_ok(p->id))
            return zn_err_set(e, ZN_E_INTERNAL, "a reader of the text has no valid id in the convenant");
        if (s_insert(out, &n, max, p->id) != 0)
            return zn_err_set(e, ZN_E_USAGE, "the text would have more than %zu readers; the convenant names "
                                             "too many auditors or coordinators", max);
    }
    if (n == 0)
        return zn_err_set(e, ZN_E_USAGE, "nobody in the convenant may read this text (%s%s%s); ask the "
                                         "authority to name them",
                          (who & ZN_READ_AUDITORS) ? "no auditor" : "",
                          (who & ZN_READ_AUDITORS) && (who & ZN_READ_COORDINATORS) ? ", " : "",
                          (who & ZN_READ_COORDINATORS) ? "no coordinator of the network" : "");
    return (int)n;
}

/* ascending, distinct identifiers: NULL when they are, else what is wrong */
static const char *s_readers_why(const char (*r)[ZN_IDENT_MAX], size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++) {
        *at = i;
        if (!s_ident_ok(r[i]))
            return "is not an identifier";
        if (i > 0 && strcmp(r[i - 1], r[i]) >= 0)
            return "does not come after the one before it (readers go in ascending order, each once)";
    }
    return NULL;
}

int zn_sealed_build(msgpack_packer *pk, const zn_convenant *c, const char (*readers)[ZN_IDENT_MAX],
                    size_t n, const char *text, size_t len, zn_err *e)
{
    uint8_t box[S_BOX_MAX];
    const char *why = NULL;
    size_t at = 0;
    int rc = -1;

    if (!pk || !c || !readers)
        return zn_err_set(e, ZN_E_INTERNAL, "sealing a text called without its arguments");
    if (!s_text_ok(text, len))
        return zn_err_set(e, ZN_E_USAGE, "the text must be 1 to %d bytes of UTF-8 without control characters "
                                         "other than newline and tab", ZN_SEALED_TEXT_MAX);
    if (n == 0 || n > ZN_SEALED_READERS_MAX)
        return zn_err_set(e, ZN_E_USAGE, "a text is sealed to 1 to %d readers, not %zu", ZN_SEALED_READERS_MAX,
                          n);
    if ((why = s_readers_why(readers, n, &at)) != NULL)
        return zn_err_set(e, ZN_E_USAGE, "reader %zu of the text %s", at + 1, why);
    for (size_t i = 0; i < n; i++)
        if (!zn_convenant_partner(c, readers[i]))
            return zn_err_set(e, ZN_E_UNKNOWN_PARTNER, "reader '%s' of the text is not in the convenant",
                              readers[i]);

    zn_buf b = {.failed = false};
    msgpack_packer tmp;
    msgpack_sbuffer_init(&b.sb);
    msgpack_packer_init(&tmp, &b, zn_buf_write);
    msgpack_pack_array(&tmp, n);
    for (size_t i = 0; i < n; i++) {
        const zn_partner *p = zn_convenant_partner(c, readers[i]);
        if (crypto_box_seal(box, (const uint8_t *)text, len, p->keys.box) != 0) {
            zn_err_set(e, ZN_E_VERIFY, "the box key of reader '%s' cannot be used to seal the text", readers[i]);
            goto done;
        }
        msgpack_pack_array(&tmp, 2);
        zn_pack_str(&tmp, readers[i]);
        zn_pack_bin(&tmp, box, crypto_box_SEALBYTES + len);
    }
    if (b.failed) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory while sealing a text");
        goto done;
    }
    zn_pack_raw(pk, b.sb.data, b.sb.size);
    rc = 0;
done:
    msgpack_sbuffer_destroy(&b.sb);
    return rc;
}

int zn_sealed_parse(const msgpack_object *o, size_t min_text, zn_sealed *out, zn_err *e)
{
    if (!out)
        return zn_err_set(e, ZN_E_INTERNAL, "sealed-text parse called without its arguments");
    memset(out, 0, sizeof *out);
    if (min_text == 0)
        min_text = 1;
    if (min_text > ZN_SEALED_TEXT_MAX)
        return zn_err_set(e, ZN_E_INTERNAL, "sealed-text parse asked for texts of at least %zu bytes", min_text);
    if (!o || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 ||
        o->via.array.size > ZN_SEALED_READERS_MAX)
        return zn_err_set(e, ZN_E_MALFORMED, "sealed text is not an array of 1 to %d [reader, box] pairs",
                          ZN_SEALED_READERS_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *a = zn_obj_array(&o->via.array.ptr[i], 2);
        const uint8_t *p = NULL;
        size_t len = 0;
        if (!a) {
            memset(out, 0, sizeof *out);
            return zn_err_set(e, ZN_E_MALFORMED, "sealed text entry %u is not a [reader, box] pair",
                              (unsigned)i + 1);
        }
        if (zn_obj_ident(&a[0], out->reader[i], ZN_IDENT_MAX) != 0) {
            memset(out, 0, sizeof *out);
            return zn_err_set(e, ZN_E_MALFORMED, "sealed text entry %u: the reader is not an identifier",
                              (unsigned)i + 1);
        }
        if (i > 0 && strcmp(out->reader[i - 1], out->reader[i]) >= 0) {
            zn_err_set(e, ZN_E_MALFORMED, "sealed text entry %u: reader '%s' does not come after '%s' (readers "
                                          "go in ascending order, each once)",
                       (unsigned)i + 1, out->reader[i], out->reader[i - 1]);
            memset(out, 0, sizeof *out);
            return -1;
        }
        if (zn_obj_bin(&a[1], S_BOX_MAX, &p, &len) != 0 || len < S_BOX_MIN(min_text)) {
            zn_err_set(e, ZN_E_MALFORMED, "sealed text entry %u: the box for '%s' is not a bin of %zu to %d bytes "
                                          "(a text of %zu to %d bytes)",
                       (unsigned)i + 1, out->reader[i], (size_t)S_BOX_MIN(min_text), (int)S_BOX_MAX, min_text,
                       ZN_SEALED_TEXT_MAX);
            memset(out, 0, sizeof *out);
            return -1;
        }
        if (i > 0 && len != out->box_len[0]) {
            zn_err_set(e, ZN_E_MALFORMED, "sealed text entry %u: the box for '%s' is %zu bytes, the one for '%s' %zu; "
                                          "every reader gets the same text, so every box has the same length",
                       (unsigned)i + 1, out->reader[i], len, out->reader[0], out->box_len[0]);
            memset(out, 0, sizeof *out);
            return -1;
        }
        out->box[i] = p;
        out->box_len[i] = len;
    }
    out->n = o->via.array.size;
    return 0;
}

int zn_sealed_check_readers(const zn_sealed *s, const char (*want)[ZN_IDENT_MAX], size_t n, zn_err *e)
{
    size_t i = 0, j = 0;

    if (!s || (n && !want))
        return zn_err_set(e, ZN_E_INTERNAL, "sealed-text reader check called without its arguments");
    while (i < s->n || j < n) {
        int cmp = i >= s->n ? 1 : j >= n ? -1 : strcmp(s->reader[i], want[j]);
        if (cmp < 0)
            return zn_err_set(e, ZN_E_MALFORMED, "the text is sealed to '%s', who may not read it",
                              s->reader[i]);
        if (cmp > 0)
            return zn_err_set(e, ZN_E_MALFORMED, "the text is not sealed to '%s', who must read it", want[j]);
        i++;
        j++;
    }
    return 0;
}

int zn_sealed_open(const zn_sealed *s, const char *self_id, const zn_seckeys *self, char *text, size_t cap,
                   zn_err *e)
{
    size_t at = 0;

    if (!s || !self_id || !self || !text || cap == 0)
        return zn_err_set(e, ZN_E_INTERNAL, "opening a sealed text called without its arguments");
    text[0] = '\0';
    while (at < s->n && at < ZN_SEALED_READERS_MAX && strcmp(s->reader[at], self_id) != 0)
        at++;
    if (at >= s->n || at >= ZN_SEALED_READERS_MAX)
        return zn_err_set(e, ZN_E_FORBIDDEN, "the text is not sealed to '%s'; only its readers may open it",
                          self_id);
    size_t blen = s->box_len[at];
    if (!s->box[at] || blen <= crypto_box_SEALBYTES || blen > S_BOX_MAX)
        return zn_err_set(e, ZN_E_VERIFY, "the box for '%s' has no valid length", self_id);
    size_t tlen = blen - crypto_box_SEALBYTES;
    if (cap <= tlen)
        return zn_err_set(e, ZN_E_INTERNAL, "no room for a sealed text of %zu bytes", tlen);
    if (crypto_box_seal_open((uint8_t *)text, s->box[at], blen, self->pub.box, self->box) != 0) {
        sodium_memzero(text, cap);
        return zn_err_set(e, ZN_E_VERIFY, "the text sealed to '%s' does not open with its box key", self_id);
    }
    if (!s_text_ok(text, tlen)) {
        sodium_memzero(text, cap);
        return zn_err_set(e, ZN_E_VERIFY, "the text sealed to '%s' is not UTF-8 text without control "
                                          "characters", self_id);
    }
    text[tlen] = '\0';
    return 0;
}
