/* libzorgnet: reading the audit log as an auditor — paging "audit-read" requests, writing an
 * export file in the order the offline verifier expects, and verifying one (see
 * zn_client_internal.h, "audit log"). */
#include "zn_auditlog.h"
#include "zn_auditreq.h"
#include "zn_client_internal.h"
#include "zn_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pages one read may take at most: every page must advance `next`, so this only stops a broker
 * that answers forever. */
#define S_MAX_PAGES (UINT64_C(1) << 32)

/* ------------------------------------------------------------------ paging */

int zn_client_audit_read(zn_client *c, const zn_audit_filter *filter, uint64_t bound,
                         zn_audit_record_fn fn, void *ctx, uint64_t *log_size, zn_err *e)
{
    zn_audit_filter f = *filter;
    const char *what = zn_read_what_name(f.what);
    bool first = true;
    if (log_size)
        *log_size = 0;
    for (uint64_t page = 0;; page++) {
        if (page == S_MAX_PAGES)
            return zn_err_set(e, ZN_E_VERIFY, "audit-read %s: the broker's replies never ended", what);
        msgpack_sbuffer body;
        msgpack_sbuffer_init(&body);
        if (zn_body_audit_read(&body, &f) != 0) {
            msgpack_sbuffer_destroy(&body);
            return zn_err_set(e, ZN_E_USAGE, "the audit-read filter breaks a rule (identifiers, text, sizes)");
        }
        zn_frame fr;
        uint8_t *fbuf = NULL;
        int rc = zn_client_request(c, "audit-read", (const uint8_t *)body.data, body.size, &fr, &fbuf, e);
        msgpack_sbuffer_destroy(&body);
        if (rc != 0)
            return -1;
        uint64_t size = 0, next = 0;
        const msgpack_object *recs = NULL;
        uint32_t n = 0;
        zn_err pe;
        zn_err_clear(&pe);
        if (zn_result_audit_read_parse(fr.u.result.body, &size, &next, &recs, &n, &pe) != 0) {
            zn_frame_free(&fr);
            free(fbuf);
            return zn_err_set(e, ZN_E_VERIFY, "the broker's audit-read reply cannot be read: %.150s", pe.text);
        }
        if (size > ZN_MERKLE_MAX_SIZE) {
            zn_frame_free(&fr);
            free(fbuf);
            return zn_err_set(e, ZN_E_VERIFY, "audit-read %s: the broker claims a log of %llu entries", what,
                              (unsigned long long)size);
        }
        if (first) {
            first = false;
            if (log_size)
                *log_size = size;
            if (bound == 0 && f.what == ZN_READ_ENTRIES) {
                /* the log grows with every read (each is recorded): stop at its size now */
                bound = size;
                f.upto = size;
            }
        }
        for (uint32_t i = 0; i < n && rc == 0; i++)
            rc = fn(ctx, (const uint8_t *)recs[i].via.bin.ptr, recs[i].via.bin.size, e);
        zn_frame_free(&fr);
        free(fbuf);
        if (rc != 0)
            return -1;
        if (f.what == ZN_READ_HEAD)
            return 0; /* one record, no paging */
        /* convenants and heads end with an empty page or past their bound (the pinned size, the
         * client's convenant version); entries once `next` reaches the bound (an empty page below
         * it only means that nothing there matched the filter, which cannot happen when every
         * index comes back as an entry or a leaf) */
        if (n == 0 && (f.what != ZN_READ_ENTRIES || next >= bound))
            return 0;
        if (next >= bound && bound && (f.what == ZN_READ_ENTRIES || next > bound))
            return 0;
        if (n == 0 && f.leaves)
            return zn_err_set(e, ZN_E_VERIFY, "audit-read %s: the broker returned an empty page at %llu, below the "
                              "log's end %llu", what, (unsigned long long)f.from, (unsigned long long)bound);
        if (next <= f.from)
            return zn_err_set(e, ZN_E_VERIFY,
                              "audit-read %s: the broker's reply does not advance (next %llu after "
                              "from %llu)",
                              what, (unsigned long long)next, (unsigned long long)f.from);
        f.from = next;
    }
}

/* ------------------------------------------------------------------ export */

typedef struct {
    uint8_t *rec; /* the "head" record bytes */
    size_t len;
    uint64_t size;
    size_t order; /* arrival, to keep heads of one size in the broker's order */
} s_head;

typedef struct {
    zn_client *c;
    FILE *fp;
    zn_auditlog_format fmt;
    const char *what;     /* the read in progress, for errors */
    zn_auditlog_type want; /* the record type that read returns */
    /* heads */
    s_head *heads;
    size_t n_heads, cap_heads, next_head;
    /* entries */
    uint64_t size;        /* N, the pinned head's size */
    uint64_t next_index;  /* the index the next entry or leaf must have */
    uint64_t written_heads;
    zn_client_export_report *r;
    uint8_t pinned[256]; /* the current head's record: a head and a signature */
    size_t pinned_len;
} s_export;

static int s_write_rec(s_export *x, const uint8_t *rec, size_t n, zn_err *e)
{
    if (zn_auditlog_write(x->fp, x->fmt, rec, n, e) != 0)
        return zn_err_prefix(e, "the export file could not be written");
    return 0;
}

/* Write every head whose size is `upto` (heads come sorted by size). */
static int s_place_heads(s_export *x, uint64_t upto, zn_err *e)
{
    while (x->next_head < x->n_heads && x->heads[x->next_head].size <= upto) {
        s_head *h = &x->heads[x->next_head++];
        if (s_write_rec(x, h->rec, h->len, e) != 0)
            return -1;
        x->written_heads++;
        x->r->heads++;
    }
    return 0;
}

/* Parse a record the broker sent and check that it is of the type the read returns. */
static int s_parse_rec(s_export *x, const uint8_t *p, size_t n, zn_doc *doc, zn_auditlog_rec *rec,
                       zn_err *e)
{
    zn_err pe;
    zn_err_clear(&pe);
    if (zn_auditlog_parse(p, n, doc, rec, &pe) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent an unreadable record in reply to the %s read: %.150s",
                          x->what, pe.text);
    bool ok = rec->type == x->want ||
              (x->want == ZN_AUDITLOG_ENTRY && rec->type == ZN_AUDITLOG_LEAVES);
    if (!ok) {
        zn_doc_free(doc);
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent a record of another kind in reply to the %s read",
                          x->what);
    }
    return 0;
}

static int s_on_convenant(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_export *x = ctx;
    zn_doc doc;
    zn_auditlog_rec rec;
    if (s_parse_rec(x, p, n, &doc, &rec, e) != 0)
        return -1;
    zn_doc_free(&doc);
    x->r->convenants++;
    return s_write_rec(x, p, n, e);
}

static int s_add_head(s_export *x, const uint8_t *p, size_t n, uint64_t size, zn_err *e)
{
    if (x->n_heads == x->cap_heads) {
        size_t cap = x->cap_heads ? x->cap_heads * 2 : 64;
        s_head *h = realloc(x->heads, cap * sizeof *h);
        if (!h)
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        x->heads = h;
        x->cap_heads = cap;
    }
    s_head *h = &x->heads[x->n_heads];
    if (!(h->rec = malloc(n)))
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    memcpy(h->rec, p, n);
    h->len = n;
    h->size = size;
    h->order = x->n_heads++;
    return 0;
}

static int s_on_head(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_export *x = ctx;
    zn_doc doc;
    zn_auditlog_rec rec;
    if (s_parse_rec(x, p, n, &doc, &rec, e) != 0)
        return -1;
    uint64_t size = rec.head.size;
    zn_doc_free(&doc);
    if (size > x->size)
        return zn_err_set(e, ZN_E_VERIFY,
                          "the broker sent a tree head of %llu entries for a read bounded at %llu",
                          (unsigned long long)size, (unsigned long long)x->size);
    return s_add_head(x, p, n, size, e);
}

static int s_head_cmp(const void *a, const void *b)
{
    const s_head *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int s_on_entry(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_export *x = ctx;
    zn_doc doc;
    zn_auditlog_rec rec;
    int rc = 0;
    if (s_parse_rec(x, p, n, &doc, &rec, e) != 0)
        return -1;
    uint64_t first = rec.index;
    if (first != x->next_index || first >= x->size) {
        zn_doc_free(&doc);
        return zn_err_set(e, ZN_E_VERIFY,
                          "the broker's reply gave entry %llu where entry %llu was due (of %llu)",
                          (unsigned long long)first, (unsigned long long)x->next_index,
                          (unsigned long long)x->size);
    }
    if (rec.type == ZN_AUDITLOG_ENTRY) {
        rc = s_write_rec(x, p, n, e);
        if (rc == 0) {
            x->next_index++;
            if (rec.bytes)
                x->r->entries++;
            else
                x->r->redacted++;
            rc = s_place_heads(x, x->next_index, e);
        }
        zn_doc_free(&doc);
        return rc;
    }
    /* leaves: split where a head must follow, so every head stands right after its last leaf */
    if (rec.count > x->size - first) {
        zn_doc_free(&doc);
        return zn_err_set(e, ZN_E_VERIFY, "the broker's reply gave leaves beyond entry %llu",
                          (unsigned long long)x->size);
    }
    size_t done = 0;
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    while (rc == 0 && done < rec.count) {
        size_t m = rec.count - done;
        if (x->next_head < x->n_heads) {
            uint64_t stop = x->heads[x->next_head].size; /* > next_index: placed already otherwise */
            if (stop > x->next_index && stop - x->next_index < m)
                m = (size_t)(stop - x->next_index);
        }
        if (m == rec.count) {
            rc = s_write_rec(x, p, n, e);
        } else {
            msgpack_sbuffer_clear(&b);
            rc = zn_auditlog_enc_leaves(&b, x->next_index, rec.d + done * ZN_HASH_LEN, m, e);
            if (rc == 0)
                rc = s_write_rec(x, (const uint8_t *)b.data, b.size, e);
        }
        if (rc == 0) {
            done += m;
            x->next_index += m;
            x->r->leaves += m;
            rc = s_place_heads(x, x->next_index, e);
        }
    }
    msgpack_sbuffer_destroy(&b);
    zn_doc_free(&doc);
    return rc;
}

static int s_on_pinned(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_export *x = ctx;
    zn_doc doc;
    zn_auditlog_rec rec;
    if (x->pinned_len)
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent more than one current tree head");
    if (s_parse_rec(x, p, n, &doc, &rec, e) != 0)
        return -1;
    const zn_convenant *conv = zn_client_convenant(x->c);
    zn_tree_head th;
    zn_err ve;
    int rc = 0;
    if (zn_tree_head_verify(rec.bytes, rec.len, rec.sig, conv->broker_sign, &th, &ve) != 0)
        rc = zn_err_set(e, ZN_E_BAD_SIGNATURE,
                        "the broker's current tree head does not verify with the broker key of "
                        "convenant version %llu (%.100s)",
                        (unsigned long long)conv->version, ve.text);
    else if (n > sizeof x->pinned)
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's current tree head record is too long");
    bool have = false;
    uint64_t known = 0, known_ms = 0;
    uint8_t root[ZN_CLIENT_HASH_LEN];
    if (rc == 0 && zn_client_self(x->c) && zn_client_known_head(x->c, &have, &known, root, &known_ms, e) != 0)
        rc = -1;
    /* the log being exported must extend what this client accepted before */
    if (rc == 0 && have && (th.size < known || (th.size == known && sodium_memcmp(th.root, root, ZN_HASH_LEN) != 0)))
        rc = zn_err_set(e, ZN_E_LOG_INCONSISTENT,
                        "the broker's current tree head (%llu entries) does not extend the one of %llu entries this "
                        "client accepted before: its log was truncated, rolled back or rewritten",
                        (unsigned long long)th.size, (unsigned long long)known);
    if (rc == 0) {
        memcpy(x->pinned, p, n);
        x->pinned_len = n;
        x->size = th.size;
    }
    zn_doc_free(&doc);
    return rc;
}

/* Create path.tmp (0600, replacing a stale one) for writing. */
static FILE *s_open_tmp(const char *tmp, zn_err *e)
{
    /* a stale one goes first: then only a file this call creates is written (no FIFO, no link) */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        zn_err_set(e, ZN_E_IO, "%.200s could not be replaced (%s)", tmp, strerror(errno));
        return NULL;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        zn_err_set(e, ZN_E_IO, "%.200s could not be created (%s)", tmp, strerror(errno));
        return NULL;
    }
    if (fchmod(fd, 0600) != 0) {
        zn_err_set(e, ZN_E_IO, "%.200s could not be made private (%s)", tmp, strerror(errno));
        close(fd);
        return NULL;
    }
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        zn_err_set(e, ZN_E_IO, "%.200s could not be opened (%s)", tmp, strerror(errno));
        close(fd);
    }
    return fp;
}

/* Move the finished tmp file to path. Without force, never replace a file that appeared
 * meanwhile: link() refuses an existing name; where the file system has no hard links, a
 * check and rename() stand in. */
static int s_install(const char *tmp, const char *path, bool force, zn_err *e)
{
    struct stat st;
    if (!force) {
        if (link(tmp, path) == 0) {
            unlink(tmp);
            return 0;
        }
        int err = errno;
        if (err == EEXIST)
            return zn_err_set(e, ZN_E_USAGE, "%.200s exists; give --force to replace it", path);
        if (err != EPERM && err != EOPNOTSUPP && err != ENOSYS && err != EMLINK)
            return zn_err_set(e, ZN_E_IO, "%.200s could not be written (%s)", path, strerror(err));
        if (lstat(path, &st) == 0)
            return zn_err_set(e, ZN_E_USAGE, "%.200s exists; give --force to replace it", path);
    }
    if (rename(tmp, path) != 0)
        return zn_err_set(e, ZN_E_IO, "%.200s could not be written (%s)", path, strerror(errno));
    return 0;
}

/* Write the export to an open stream; x->fp set, x->r zeroed by the caller. */
static int s_export_to(s_export *x, uint64_t since_ms, uint64_t until_ms, zn_err *e)
{
    zn_audit_filter f;
    /* 1. pin the size: the broker's current signed head */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_HEAD;
    x->what = "head";
    x->want = ZN_AUDITLOG_HEAD;
    if (zn_client_audit_read(x->c, &f, 0, s_on_pinned, x, NULL, e) != 0)
        return -1;
    if (!x->pinned_len)
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent no current tree head");
    x->r->size = x->size;
    if (zn_auditlog_write_start(x->fp, x->fmt, e) != 0)
        return zn_err_prefix(e, "the export file could not be written");
    /* 2. every convenant the broker loaded */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_CONVENANTS;
    x->what = "convenants";
    x->want = ZN_AUDITLOG_CONVENANT;
    if (zn_client_audit_read(x->c, &f, zn_client_convenant(x->c)->version, s_on_convenant, x, NULL, e) != 0)
        return -1;
    /* 3. every signed head up to N, sorted by size (the broker's order kept within one size),
     * and the pinned head when the broker did not list it */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_HEADS;
    f.upto = x->size;
    x->what = "heads";
    x->want = ZN_AUDITLOG_HEAD;
    if (x->size > 0 && zn_client_audit_read(x->c, &f, x->size, s_on_head, x, NULL, e) != 0)
        return -1;
    bool listed = false;
    for (size_t i = 0; i < x->n_heads && !listed; i++)
        listed = x->heads[i].len == x->pinned_len && memcmp(x->heads[i].rec, x->pinned, x->pinned_len) == 0;
    if (!listed && s_add_head(x, x->pinned, x->pinned_len, x->size, e) != 0)
        return -1;
    qsort(x->heads, x->n_heads, sizeof *x->heads, s_head_cmp);
    if (s_place_heads(x, 0, e) != 0)
        return -1;
    /* 4. entries [0, N) in index order; those outside the time filter as leaves */
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    f.upto = x->size;
    f.since_ms = since_ms;
    f.until_ms = until_ms;
    f.leaves = true;
    x->what = "entries";
    x->want = ZN_AUDITLOG_ENTRY;
    if (x->size > 0 && zn_client_audit_read(x->c, &f, x->size, s_on_entry, x, NULL, e) != 0)
        return -1;
    if (x->next_index != x->size)
        return zn_err_set(e, ZN_E_VERIFY,
                          "the broker's replies covered %llu of the %llu entries of its signed head",
                          (unsigned long long)x->next_index, (unsigned long long)x->size);
    if (s_place_heads(x, x->size, e) != 0)
        return -1;
    /* 5. the end record */
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    int rc = zn_auditlog_enc_end(&b, x->size, x->written_heads, e);
    if (rc == 0)
        rc = s_write_rec(x, (const uint8_t *)b.data, b.size, e);
    msgpack_sbuffer_destroy(&b);
    return rc;
}

static void s_export_free(s_export *x)
{
    for (size_t i = 0; i < x->n_heads; i++)
        free(x->heads[i].rec);
    free(x->heads);
    x->heads = NULL;
    x->n_heads = x->cap_heads = 0;
}

int zn_client_audit_export(zn_client *c, const char *path, zn_auditlog_format fmt, uint64_t since_ms,
                           uint64_t until_ms, bool force, zn_client_export_report *r, zn_err *e)
{
    s_export x;
    char *tmp = NULL;
    int rc = -1;
    memset(&x, 0, sizeof x);
    memset(r, 0, sizeof *r);
    x.c = c;
    x.fmt = fmt;
    x.r = r;
    int64_t t0 = zn_client_mono_ms();
    if (!path || !*path)
        return zn_err_set(e, ZN_E_USAGE, "audit export needs --out FILE");
    struct stat st;
    if (!force && lstat(path, &st) == 0)
        return zn_err_set(e, ZN_E_USAGE, "%.200s exists; give --force to replace it", path);
    size_t n = strlen(path);
    if (!(tmp = malloc(n + sizeof ".tmp")))
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", sizeof ".tmp");
    if (zn_client_ensure_connected(c, e) != 0)
        goto done;
    if (!(x.fp = s_open_tmp(tmp, e)))
        goto done;
    rc = s_export_to(&x, since_ms, until_ms, e);
    if (rc == 0 && (fflush(x.fp) != 0 || ferror(x.fp) || fsync(fileno(x.fp)) != 0))
        rc = zn_err_set(e, ZN_E_IO, "%.200s could not be written (%s)", tmp, strerror(errno));
    if (fclose(x.fp) != 0 && rc == 0)
        rc = zn_err_set(e, ZN_E_IO, "%.200s could not be written (%s)", tmp, strerror(errno));
    x.fp = NULL;
    if (rc == 0)
        rc = s_install(tmp, path, force, e);
    if (rc != 0)
        unlink(tmp);
done:
    s_export_free(&x);
    free(tmp);
    r->millis = (uint64_t)(zn_client_mono_ms() - t0);
    return rc;
}

/* ------------------------------------------------------------------ verify */

/* The number of leaves the file's last line (its end record) claims, without trusting it: it
 * only decides whether the file can reach the head this client knows. 0 when there is none. */
static uint64_t s_claimed_size(const char *path)
{
    char buf[1024];
    uint64_t claim = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long end = ftell(fp);
        long off = end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0;
        size_t n = 0;
        if (end > 0 && fseek(fp, off, SEEK_SET) == 0)
            n = fread(buf, 1, sizeof buf - 1, fp);
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        if (n >= 2 && buf[n - 1] == '}' && buf[n - 2] == '"') /* JSON lines: ..."raw":"HEX"} */
            n -= 2;
        size_t h = n;
        while (h > 0 && strchr("0123456789abcdef", buf[h - 1]) && buf[h - 1])
            h--;
        uint8_t rec[64];
        size_t hl = n - h;
        zn_doc doc;
        zn_auditlog_rec r;
        buf[n] = '\0';
        if (hl > 0 && hl % 2 == 0 && hl / 2 <= sizeof rec && zn_unhex(rec, hl / 2, buf + h) == 0 &&
            zn_auditlog_parse(rec, hl / 2, &doc, &r, NULL) == 0) {
            if (r.type == ZN_AUDITLOG_END)
                claim = r.entries;
            zn_doc_free(&doc);
        }
    }
    fclose(fp);
    return claim;
}

int zn_client_audit_verify_file(zn_client *c, const char *path, zn_auditlog_report *r, bool *with_known,
                                uint64_t *later_known, zn_err *e)
{
    bool have = false;
    zn_tree_head known;
    memset(&known, 0, sizeof known);
    *with_known = false;
    *later_known = 0;
    if (zn_client_self(c) &&
        zn_client_known_head(c, &have, &known.size, known.root, &known.time_ms, e) != 0)
        return -1;
    if (have) {
        /* an export older than the head this client accepted since is a prefix of the log: it
         * is verified on its own (a file cut short fails without its end record anyway) */
        uint64_t claim = s_claimed_size(path);
        if (claim > 0 && claim < known.size) {
            have = false;
            *later_known = known.size;
        }
    }
    *with_known = have;
    const zn_convenant *conv = zn_client_convenant(c);
    return zn_auditlog_verify_file(path, conv->authority, have ? &known : NULL, 0, r, e);
}

int zn_client_audit_verify_live(zn_client *c, zn_client_export_report *xr, zn_auditlog_report *r,
                                bool *with_known, zn_err *e)
{
    uint64_t later = 0;
    const char *dir = getenv("TMPDIR");
    char path[512];
    if (!dir || !*dir || strlen(dir) > 400)
        dir = "/tmp";
    snprintf(path, sizeof path, "%s/zorgnet-audit-XXXXXX", dir);
    int fd = mkstemp(path); /* mode 0600 */
    if (fd < 0)
        return zn_err_set(e, ZN_E_IO, "a private temporary file could not be made in %.200s (%s)", dir,
                          strerror(errno));
    close(fd);
    int rc = zn_client_audit_export(c, path, ZN_AUDITLOG_JSONL, 0, 0, true, xr, e);
    if (rc == 0)
        rc = zn_client_audit_verify_file(c, path, r, with_known, &later, e);
    unlink(path);
    char tmp[520];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    return rc;
}
