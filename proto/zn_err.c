#include "zn_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    zn_class klass;
    const char *hint;
} s_table[] = {
#define ZN_X_ROW(name, wire, klass, hint) {wire, klass, hint},
    ZN_ERRORS(ZN_X_ROW)
#undef ZN_X_ROW
};

int zn_err_set(zn_err *e, zn_code code, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->code = (code < ZN_E__COUNT) ? code : ZN_E_INTERNAL;
    if (!fmt) {
        snprintf(e->text, sizeof e->text, "%s", s_table[e->code].hint);
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    return -1;
}

int zn_err_prefix(zn_err *e, const char *what)
{
    if (e) {
        char tmp[ZN_ERR_TEXT_MAX];
        memcpy(tmp, e->text, sizeof tmp);
        tmp[sizeof tmp - 1] = '\0';
        zn_err_set(e, e->code, "%s: %s", what, tmp);
    }
    return -1;
}

void zn_err_clear(zn_err *e)
{
    if (e) {
        e->code = ZN_E_OK;
        e->text[0] = '\0';
    }
}

const char *zn_code_name(zn_code code)
{
    return code < ZN_E__COUNT ? s_table[code].name : "internal";
}

const char *zn_code_hint(zn_code code)
{
    return code < ZN_E__COUNT ? s_table[code].hint : s_table[ZN_E_INTERNAL].hint;
}

zn_class zn_code_class(zn_code code)
{
    return code < ZN_E__COUNT ? s_table[code].klass : ZN_CLASS_FAULT;
}

zn_code zn_code_from_name(const char *name, size_t len)
{
    for (size_t i = 0; i < ZN_E__COUNT; i++)
        if (strlen(s_table[i].name) == len && memcmp(s_table[i].name, name, len) == 0)
            return (zn_code)i;
    return ZN_E_INTERNAL;
}
