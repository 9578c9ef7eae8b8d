/* Test vectors printed in docs/: shared by the unit tests that check the documents byte for
 * byte. A vector is the fenced block after the line "<!-- vector: NAME -->" in docs/FILE; only
 * its hex digits count. */
#ifndef ZN_TEST_VECTORS_H
#define ZN_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of p[0..n); malloc'd, the caller frees. */
char *zn_test_hex(const uint8_t *p, size_t n);
/* The hex of vector NAME in docs/FILE, malloc'd; NULL when the file or the vector is missing. */
char *zn_test_doc_vector(const char *file, const char *name);
/* Check that p[0..n) equals `expected` (when not NULL) and the vector NAME in docs/FILE. With
 * ZN_PRINT_VECTORS set in the environment, print the block for the document instead. */
void zn_test_check_vector(const char *file, const char *name, const char *expected, const uint8_t *p,
                          size_t n);

#endif
