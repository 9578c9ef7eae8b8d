/* zn_identifiers — see zn_identifiers.h for the rules. */
#include "zn_identifiers.h"

#include "zn_pseudonym.h"

#include <stdbool.h>
#include <string.h>

typedef struct {
    const char *t;
    size_t n;
} s_text;

static bool s_digit(char c) { return c >= '0' && c <= '9'; }
static bool s_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool s_upper(char c) { return c >= 'A' && c <= 'Z'; }
static char s_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }
static bool s_local(char c) { return s_alpha(c) || s_digit(c) || (c != '\0' && strchr("._%+-", c)); }
static bool s_domain(char c) { return s_alpha(c) || s_digit(c) || c == '.' || c == '-'; }

/* character at i, or '\0' past the end */
static char s_at(const s_text *x, size_t i) { return i < x->n ? x->t[i] : '\0'; }

/* true when a number may start at i (not glued to a word or a longer number) */
static bool s_left_ok(const s_text *x, size_t i)
{
    if (i == 0)
        return true;
    char p = x->t[i - 1];
    if (s_alpha(p) || s_digit(p) || p == '_')
        return false;
    if (i >= 2 && p != '\0' && strchr(".,-/:", p) && s_digit(x->t[i - 2]))
        return false;
    return true;
}

/* number of digits (at most max) starting at i */
static size_t s_digits(const s_text *x, size_t i, size_t max)
{
    size_t k = 0;
    while (k < max && s_digit(s_at(x, i + k)))
        k++;
    return k;
}

static unsigned s_num(const s_text *x, size_t i, size_t k)
{
    unsigned v = 0;
    for (size_t j = 0; j < k; j++)
        v = v * 10 + (unsigned)(x->t[i + j] - '0');
    return v;
}

/* ---- dates ---- */

static bool s_leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static bool s_valid_date(unsigned y, unsigned m, unsigned d)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    unsigned max = mdays[m - 1] + (m == 2 && s_leap(y) ? 1u : 0u);
    return d <= max;
}

/* days since 1970-01-01 of a valid proleptic Gregorian date */
static int64_t s_days(unsigned y, unsigned m, unsigned d)
{
    int64_t yy = (int64_t)y - (m <= 2 ? 1 : 0);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t mp = (int64_t)(m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static const char *const s_months[12] = {"januari", "februari", "maart",     "april",
                                         "mei",     "juni",     "juli",      "augustus",
                                         "september", "oktober", "november", "december"};

/* month name at i: its number (1-12) and length, or 0 */
static unsigned s_month_name(const s_text *x, size_t i, size_t *len)
{
    for (unsigned m = 0; m < 12; m++) {
        size_t k = strlen(s_months[m]), j = 0;
        while (j < k && s_lower(s_at(x, i + j)) == s_months[m][j])
            j++;
        if (j == k && !s_alpha(s_at(x, i + k))) {
            *len = k;
            return m + 1;
        }
    }
    return 0;
}

/* a full date starting at i: its length (0 when none) and whether it is more than a year old */
static size_t s_date(const s_text *x, size_t i, int64_t today, bool *old)
{
    unsigned y = 0, m = 0, d = 0;
    size_t end = 0;
    size_t a = s_digits(x, i, 5);
    char s1 = s_at(x, i + a);
    if (a == 4 && s1 == '-') { /* yyyy-mm-dd */
        size_t b = s_digits(x, i + 5, 3);
        size_t c = (b == 1 || b == 2) && s_at(x, i + 5 + b) == '-' ? s_digits(x, i + 6 + b, 3) : 0;
        if ((b == 1 || b == 2) && (c == 1 || c == 2)) {
            y = s_num(x, i, 4);
            m = s_num(x, i + 5, b);
            d = s_num(x, i + 6 + b, c);
            end = i + 6 + b + c;
        }
    } else if ((a == 1 || a == 2) && (s1 == '-' || s1 == '/' || s1 == '.')) {
        size_t b = s_digits(x, i + a + 1, 3);
        if ((b == 1 || b == 2) && s_at(x, i + a + 1 + b) == s1 &&
            s_digits(x, i + a + 2 + b, 5) == 4) {
            d = s_num(x, i, a);
            m = s_num(x, i + a + 1, b);
            y = s_num(x, i + a + 2 + b, 4);
            end = i + a + 2 + b + 4;
        }
    } else if ((a == 1 || a == 2) && s1 == ' ') {
        size_t ml = 0;
        unsigned mn = s_month_name(x, i + a + 1, &ml);
        size_t yi = i + a + 1 + ml + 1;
        if (mn && s_at(x, yi - 1) == ' ' && s_digits(x, yi, 5) == 4) {
            d = s_num(x, i, a);
            m = mn;
            y = s_num(x, yi, 4);
            end = yi + 4;
        }
    }
    if (end == 0 || !s_valid_date(y, m, d) || s_digit(s_at(x, end)))
        return 0;
    *old = today - s_days(y, m, d) > 365;
    return end - i;
}

/* ---- postcode and house number ---- */

static size_t s_postcode(const s_text *x, size_t i)
{
    if (s_digits(x, i, 5) != 4 || x->t[i] == '0')
        return 0;
    size_t j = i + 4;
    if (s_at(x, j) == ' ')
        j++;
    char l1 = s_at(x, j), l2 = s_at(x, j + 1);
    if (!s_upper(l1) || !s_upper(l2) || s_alpha(s_at(x, j + 2)))
        return 0;
    if (l1 == 'S' && (l2 == 'A' || l2 == 'D' || l2 == 'S'))
        return 0;
    j += 2;
    size_t w = j;
    while (w < x->n && (x->t[w] == ' ' || x->t[w] == '\t' || x->t[w] == '\n' || x->t[w] == '\r'))
        w++;
    if (w == j)
        return 0;
    size_t h = s_digits(x, w, 6);
    if (h < 1 || h > 5)
        return 0;
    j = w + h;
    if (s_alpha(s_at(x, j)) && !s_alpha(s_at(x, j + 1)) && !s_digit(s_at(x, j + 1)))
        j++;
    else if (s_alpha(s_at(x, j)))
        return 0;
    return j - i;
}

/* ---- BSN ---- */

static size_t s_bsn(const s_text *x, size_t i)
{
    char digits[ZN_BSN_LEN + 1];
    size_t end = 0;
    size_t a = s_digits(x, i, 10);
    if (a == 9) {
        memcpy(digits, x->t + i, 9);
        end = i + 9;
    } else if (a == 3 || a == 4) {
        char sep = s_at(x, i + a);
        size_t b = a == 3 ? 3 : 2;
        if ((sep == ' ' || sep == '.' || sep == '-') && s_digits(x, i + a + 1, b + 1) == b &&
            s_at(x, i + a + 1 + b) == sep && s_digits(x, i + a + 2 + b, 4) == 3) {
            memcpy(digits, x->t + i, a);
            memcpy(digits + a, x->t + i + a + 1, b);
            memcpy(digits + a + b, x->t + i + a + 2 + b, 3);
            end = i + a + 2 + b + 3;
        }
    }
    if (end == 0 || s_digit(s_at(x, end)))
        return 0;
    if ((s_at(x, end) == '.' || s_at(x, end) == ',' || s_at(x, end) == '-') &&
        s_digit(s_at(x, end + 1)))
        return 0;
    digits[ZN_BSN_LEN] = '\0';
    return zn_bsn_valid(digits) ? end - i : 0;
}

/* ---- phone ---- */

static size_t s_phone(const s_text *x, size_t i)
{
    size_t j = i, need;
    int open = 0, pairs = 0;
    if (s_at(x, j) == '+' && s_at(x, j + 1) == '3' && s_at(x, j + 2) == '1') {
        j += 3;
        need = 9;
    } else if (s_digits(x, j, 4) == 4 && memcmp(x->t + j, "0031", 4) == 0) {
        j += 4;
        need = 9;
    } else if (s_at(x, j) == '0' || (s_at(x, j) == '(' && s_at(x, j + 1) == '0')) {
        need = 10;
    } else {
        return 0;
    }
    bool first = need == 10; /* no separator before the first digit of a 0-number */
    size_t got = 0;
    while (got < need) {
        if (!first) { /* separators: [)] [ -] [(] */
            if (s_at(x, j) == ')' && open) {
                open = 0;
                j++;
            }
            if (s_at(x, j) == ' ' || s_at(x, j) == '-')
                j++;
            if (s_at(x, j) == '(' && !open && pairs == 0) {
                open = 1;
                pairs++;
                j++;
            }
        } else if (s_at(x, j) == '(') {
            open = 1;
            pairs++;
            j++;
        }
        first = false;
        size_t k = s_digits(x, j, need - got);
        if (k == 0)
            return 0;
        got += k;
        j += k;
    }
    if (s_at(x, j) == ')' && open) {
        open = 0;
        j++;
    }
    if (open || s_digit(s_at(x, j)))
        return 0;
    return j - i;
}

/* ---- e-mail ---- */

static size_t s_email(const s_text *x, size_t i)
{
    size_t j = i;
    while (j < x->n && s_local(x->t[j]))
        j++;
    if (j == i || s_at(x, j) != '@')
        return 0;
    size_t d = ++j;
    while (j < x->n && s_domain(x->t[j]))
        j++;
    while (j > d && (x->t[j - 1] == '.' || x->t[j - 1] == '-'))
        j--;
    size_t tld = j;
    while (tld > d && s_alpha(x->t[tld - 1]))
        tld--;
    if (j - tld < 2 || tld < d + 2 || x->t[tld - 1] != '.' || x->t[tld - 2] == '.')
        return 0;
    return j - i;
}

const char *zn_id_kind_name(zn_id_kind k)
{
    switch (k) {
    case ZN_ID_BSN: return "BSN";
    case ZN_ID_PHONE: return "phone number";
    case ZN_ID_EMAIL: return "e-mail address";
    case ZN_ID_POSTCODE: return "postcode and house number";
    case ZN_ID_BIRTHDATE: return "date more than a year ago";
    }
    return "unknown";
}

size_t zn_identifiers_scan(const char *text, size_t len, int64_t today_days, zn_id_hit *hits,
                           size_t max)
{
    s_text x = {text, text ? len : 0};
    size_t found = 0, i = 0;
    while (i < x.n) {
        char c = x.t[i];
        zn_id_kind kind = 0;
        size_t n = 0;
        if (s_local(c) && (i == 0 || !s_local(x.t[i - 1])) && (n = s_email(&x, i)) > 0) {
            kind = ZN_ID_EMAIL;
        } else if ((s_digit(c) || c == '+' || c == '(') && s_left_ok(&x, i)) {
            bool old = false;
            if ((n = s_date(&x, i, today_days, &old)) > 0) {
                if (!old) { /* a recent date: skip it whole */
                    i += n;
                    continue;
                }
                kind = ZN_ID_BIRTHDATE;
            } else if ((n = s_postcode(&x, i)) > 0) {
                kind = ZN_ID_POSTCODE;
            } else if ((n = s_phone(&x, i)) > 0) {
                kind = ZN_ID_PHONE;
            } else if ((n = s_bsn(&x, i)) > 0) {
                kind = ZN_ID_BSN;
            }
        }
        if (n == 0) {
            i++;
            continue;
        }
        if (found < max && hits) {
            hits[found].kind = kind;
            hits[found].offset = i;
            hits[found].len = n;
        }
        found++;
        i += n;
    }
    return found;
}
