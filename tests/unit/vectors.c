#include "vectors.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zn_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DOC_MAX (1u << 20)

char *zn_test_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    assert_non_null(s);
    zn_hex(s, p, n);
    return s;
}

char *zn_test_doc_vector(const char *file, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/%s", ZN_SOURCE_DIR, file);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *doc = malloc(S_DOC_MAX);
    size_t n = doc ? fread(doc, 1, S_DOC_MAX - 1, fp) : 0;
    fclose(fp);
    if (!doc)
        return NULL;
    doc[n] = '\0';
    char marker[128];
    snprintf(marker, sizeof marker, "<!-- vector: %s -->", name);
    char *at = strstr(doc, marker), *out = NULL;
    if (at) {
        char *open = strstr(at + strlen(marker), "```");
        char *body = open ? strchr(open, '\n') : NULL;
        char *close = body ? strstr(body, "```") : NULL;
        if (close && (out = malloc((size_t)(close - body) + 1)) != NULL) {
            size_t k = 0;
            for (char *c = body; c < close; c++)
                if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))
                    out[k++] = *c;
            out[k] = '\0';
        }
    }
    free(doc);
    return out;
}

void zn_test_check_vector(const char *file, const char *name, const char *expected, const uint8_t *p,
                          size_t n)
{
    char *got = zn_test_hex(p, n);
    if (getenv("ZN_PRINT_VECTORS")) {
        printf("<!-- vector: %s -->\n```\n", name);
        for (size_t i = 0; i < strlen(got); i += 64)
            printf("%.64s\n", got + i);
        printf("```\n");
        free(got);
        return; /* printing, not checking */
    }
    if (expected)
        assert_string_equal(got, expected);
    char *doc = zn_test_doc_vector(file, name);
    if (!doc)
        fail_msg("docs/%s has no vector '%s'", file, name);
    assert_string_equal(got, doc);
    free(doc);
    free(got);
}
