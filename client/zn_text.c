/* Text output and command-line helpers shared by libzorgnet and the zorgnet CLI. */
#include "zn_client_internal.h"
#include "zn_identifiers.h"
#include "zn_pseudonym.h"
#include "zn_wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static bool s_is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

bool zn_utf8_valid(const uint8_t *p, size_t n, bool allow_nul)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = zn_utf8_next(p + i, n - i, &cp);
        if (k == 0 || (cp == 0 && !allow_nul))
            return false;
        i += k;
    }
    return true;
}

size_t zn_text_sanitize(char *dst, size_t cap, const char *src, size_t n)
{
    const uint8_t *p = (const uint8_t *)src;
    size_t i = 0, o = 0;
    if (cap == 0)
        return 0;
    while (i < n) {
        uint32_t cp;
        size_t k = zn_utf8_next(p + i, n - i, &cp);
        if (k == 0 || s_is_control(cp)) {
            if (o + 1 >= cap)
                break;
            dst[o++] = '?';
            i += k ? k : 1;
            continue;
        }
        if (o + k >= cap)
            break;
        memcpy(dst + o, p + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
    return o;
}

void zn_json_str(FILE *f, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    fputc('"', f);
    while (i < n) {
        uint32_t cp;
        size_t k = zn_utf8_next(p + i, n - i, &cp);
        if (k == 0) {
            fputs("\\ufffd", f);
            i++;
            continue;
        }
        switch (cp) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            /* C1 controls, DEL and the line/paragraph separators are escaped too, so the output
             * is safe for any consumer and any terminal */
            if (s_is_control(cp) || cp == 0x2028 || cp == 0x2029)
                fprintf(f, "\\u%04x", (unsigned)cp);
            else
                fwrite(p + i, 1, k, f);
        }
        i += k;
    }
    fputc('"', f);
}

void zn_text_content(FILE *f, const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = zn_utf8_next(p + i, n - i, &cp);
        if (k == 0) {
            fprintf(f, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (cp == '\\')
            fputs("\\\\", f);
        else if (cp == '\n' || cp == '\t')
            fputc((int)cp, f);
        else if (s_is_control(cp)) {
            if (cp < 0x80)
                fprintf(f, "\\x%02x", (unsigned)cp);
            else
                for (size_t b = 0; b < k; b++)
                    fprintf(f, "\\x%02x", p[i + b]);
        } else
            fwrite(p + i, 1, k, f);
        i += k;
    }
}

void zn_iso_time(char out[ZN_ISO_TIME_LEN], uint64_t unix_ms)
{
    time_t t = (time_t)(unix_ms / 1000u);
    struct tm tm;
    if ((uint64_t)t != unix_ms / 1000u || !gmtime_r(&t, &tm) ||
        strftime(out, ZN_ISO_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, ZN_ISO_TIME_LEN, "@%llu", (unsigned long long)(unix_ms / 1000u));
}

int zn_parse_seconds(const char *s, int min_ms, int max_ms, int *ms)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, nd = 0, nf = 0;
    if (!s)
        return -1;
    for (; s[i] >= '0' && s[i] <= '9'; i++, nd++) {
        whole = whole * 10u + (uint64_t)(s[i] - '0');
        if (whole > 10000000u)
            return -1;
    }
    if (s[i] == '.') {
        i++;
        for (; s[i] >= '0' && s[i] <= '9'; i++, nf++) {
            if (nf >= 3)
                return -1;
            frac = frac * 10u + (uint64_t)(s[i] - '0');
        }
        if (nf == 0)
            return -1;
    }
    if (s[i] != '\0' || nd == 0)
        return -1;
    for (size_t k = nf; k < 3; k++)
        frac *= 10u;
    uint64_t v = whole * 1000u + frac;
    if (v < (uint64_t)(min_ms < 0 ? 0 : min_ms) || v > (uint64_t)(max_ms < 0 ? 0 : max_ms))
        return -1;
    *ms = (int)v;
    return 0;
}

/* n digits at s into *v; -1 when one is not a digit. */
static int s_digits(const char *s, size_t n, unsigned *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10u + (unsigned)(s[i] - '0');
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (y >= 1970). */
static uint64_t s_days_from_civil(unsigned y, unsigned m, unsigned d)
{
    y -= m <= 2;
    uint64_t era = y / 400u;
    uint64_t yoe = y - era * 400u;
    uint64_t doy = (153u * (m > 2 ? m - 3 : m + 9) + 2u) / 5u + d - 1u;
    uint64_t doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
    return era * 146097u + doe - 719468u;
}

int zn_parse_time(const char *s, uint64_t *unix_ms)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    if (!s)
        return -1;
    size_t n = strlen(s);
    if ((n != 10 && n != 20) || s[4] != '-' || s[7] != '-' || s_digits(s, 4, &y) != 0 ||
        s_digits(s + 5, 2, &mo) != 0 || s_digits(s + 8, 2, &d) != 0)
        return -1;
    if (n == 20 && (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
                    s_digits(s + 11, 2, &h) != 0 || s_digits(s + 14, 2, &mi) != 0 ||
                    s_digits(s + 17, 2, &sec) != 0))
        return -1;
    bool leap = (y % 4u == 0 && y % 100u != 0) || y % 400u == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap ? 1u : 0u) || h > 23 || mi > 59 || sec > 59)
        return -1;
    uint64_t t = s_days_from_civil(y, mo, d) * 86400u + h * 3600u + mi * 60u + sec;
    *unix_ms = t * 1000u;
    return 0;
}

int zn_parse_id(const char *s, uint8_t out[ZN_CLIENT_ID_LEN])
{
    if (!s || strlen(s) != 2 * ZN_CLIENT_ID_LEN)
        return -1;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return -1;
    }
    return zn_unhex(out, ZN_CLIENT_ID_LEN, s);
}

int zn_type_filter_parse(zn_type_filter *f, const char *list, zn_err *e)
{
    memset(f, 0, sizeof *f);
    const char *p = list;
    if (!list || !*list)
        return zn_err_set(e, ZN_E_USAGE, "--type needs a list such as envelope,notice");
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char tmp[ZN_CLIENT_IDENT_MAX];
        if (n == 0 || n >= sizeof tmp)
            return zn_err_set(e, ZN_E_USAGE, "--type: empty or overlong item type");
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        if (!zn_ident_valid(tmp))
            return zn_err_set(e, ZN_E_USAGE,
                              "--type: item types are lower-case names such as envelope, notice "
                              "or envelope-dropped");
        if (f->n == ZN_TYPE_FILTER_MAX)
            return zn_err_set(e, ZN_E_USAGE, "--type: at most %d item types", ZN_TYPE_FILTER_MAX);
        memcpy(f->types[f->n++], tmp, n + 1);
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

bool zn_type_filter_match(const zn_type_filter *f, const zn_item *it)
{
    if (f->n == 0)
        return true;
    for (size_t i = 0; i < f->n; i++) {
        const char *t = f->types[i];
        if (it->kind == ZN_ITEM_KIND_ENVELOPE && strcmp(t, "envelope") == 0)
            return true;
        if (it->kind == ZN_ITEM_KIND_NOTICE &&
            (strcmp(t, "notice") == 0 || strcmp(t, it->notice_type) == 0))
            return true;
    }
    return false;
}

int zn_args_parse(int argc, char **argv, const zn_opt_spec *specs, size_t nspecs,
                  const char **values, const char **pos, size_t maxpos, size_t *npos, zn_err *e)
{
    return zn_args_parse_ex(argc, argv, specs, nspecs, NULL, values, NULL, pos, maxpos, npos, e);
}

int zn_args_parse_ex(int argc, char **argv, const zn_opt_spec *specs, size_t nspecs, const bool *repeat,
                     const char **values, zn_arg_list *lists, const char **pos, size_t maxpos,
                     size_t *npos, zn_err *e)
{
    bool only_pos = false;
    *npos = 0;
    for (size_t k = 0; k < nspecs; k++) {
        values[k] = NULL;
        if (lists)
            lists[k].n = 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos == maxpos)
                return zn_err_set(e, ZN_E_USAGE, "too many arguments: '%.64s'", a);
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (a[1] != '-')
            return zn_err_set(e, ZN_E_USAGE, "unknown option '%.64s'; options are written --name",
                              a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        size_t k;
        for (k = 0; k < nspecs; k++)
            if (strlen(specs[k].name) == nlen && strncmp(specs[k].name, name, nlen) == 0)
                break;
        if (k == nspecs)
            return zn_err_set(e, ZN_E_USAGE, "unknown option '--%.*s'", (int)(nlen > 64 ? 64 : nlen),
                              name);
        bool many = repeat && lists && repeat[k] && specs[k].has_arg;
        if (values[k] && !many)
            return zn_err_set(e, ZN_E_USAGE, "option --%s is given more than once", specs[k].name);
        const char *v;
        if (!specs[k].has_arg) {
            if (eq)
                return zn_err_set(e, ZN_E_USAGE, "option --%s takes no value", specs[k].name);
            v = "";
        } else if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc)
                return zn_err_set(e, ZN_E_USAGE, "option --%s needs a value", specs[k].name);
            v = argv[++i];
        }
        if (many) {
            if (lists[k].n == ZN_ARGS_REPEAT_MAX)
                return zn_err_set(e, ZN_E_USAGE, "option --%s is given more than %d times",
                                  specs[k].name, ZN_ARGS_REPEAT_MAX);
            lists[k].v[lists[k].n++] = v;
        }
        if (!values[k])
            values[k] = v;
    }
    return 0;
}

bool zn_text_has_bsn(const char *s, size_t n)
{
    /* the anonymous-mode scanner's rules; only its BSN hits count here (today: no date matters) */
    size_t off = 0;
    while (off < n) {
        zn_id_hit h[32];
        size_t found = zn_identifiers_scan(s + off, n - off, 0, h, 32);
        for (size_t i = 0; i < found && i < 32; i++)
            if (h[i].kind == ZN_ID_BSN)
                return true;
        if (found <= 32)
            return false;
        off += h[31].offset + h[31].len;
    }
    return false;
}

void zn_text_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

const char *zn_shown_name(const char *v)
{
    return zn_text_has_bsn(v, strlen(v)) ? "(a number that looks like a BSN)" : v;
}

static int s_id_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int zn_id_list_parse(const char *list, const char *what, char (*out)[ZN_CLIENT_IDENT_MAX], size_t max, size_t *n,
                     zn_err *e)
{
    *n = 0;
    if (!list || !*list)
        return zn_err_set(e, ZN_E_USAGE, "%s needs a list of partner ids such as ggd,wijkracht", what);
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char tmp[ZN_CLIENT_IDENT_MAX];
        if (len == 0)
            return zn_err_set(e, ZN_E_USAGE, "%s: an empty item in the list (ids are separated by one comma, "
                                             "without spaces)", what);
        if (len >= sizeof tmp)
            return zn_err_set(e, ZN_E_USAGE, "%s: a partner id is at most %d characters", what,
                              ZN_CLIENT_IDENT_MAX - 1);
        memcpy(tmp, p, len);
        tmp[len] = '\0';
        if (!zn_ident_valid(tmp))
            return zn_err_set(e, ZN_E_USAGE,
                              "%s: partner ids are 1 to 63 characters a-z, 0-9, '.', '-', '_' (as 'zorgnet "
                              "partners' lists them), separated by commas",
                              what);
        for (size_t i = 0; i < *n; i++)
            if (strcmp(out[i], tmp) == 0)
                return zn_err_set(e, ZN_E_USAGE, "%s: partner '%s' is given twice", what, zn_shown_name(tmp));
        if (*n == max)
            return zn_err_set(e, ZN_E_USAGE, "%s: at most %zu partners", what, max);
        memcpy(out[(*n)++], tmp, len + 1);
        if (!end)
            break;
        p = end + 1;
    }
    qsort(out, *n, sizeof out[0], s_id_cmp);
    return 0;
}

static bool s_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t zn_text_trim(const char *s, size_t n, size_t *start)
{
    size_t a = 0, b = n;
    while (a < b && s_space(s[a]))
        a++;
    while (b > a && s_space(s[b - 1]))
        b--;
    *start = a;
    return b - a;
}

size_t zn_utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            k++;
    return k;
}
