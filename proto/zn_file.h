/* zn_file — whole-file reads and atomic, durable writes.
 *
 * Ownership: zn_file_read() returns a malloc'd buffer the caller frees (sodium_free for
 * secrets read with ZN_FILE_SECRET, free otherwise). */
#ifndef ZN_FILE_H
#define ZN_FILE_H

#include "zn_err.h"
#include <stddef.h>
#include <stdint.h>

#define ZN_FILE_SECRET 1u /* refuse when group or others may read; buffer from sodium_malloc */

/* Read at most max bytes; a larger file is an error. */
int zn_file_read(const char *path, size_t max, unsigned flags, uint8_t **buf, size_t *len, zn_err *e)
    __attribute__((warn_unused_result));
void zn_file_free(uint8_t *buf, unsigned flags);

/* Write to path.tmp with the given mode, fsync, rename over path, fsync the directory. With
 * exclusive set, refuse when path already exists. */
int zn_file_write(const char *path, const void *data, size_t len, unsigned mode, int exclusive,
                  zn_err *e) __attribute__((warn_unused_result));

#endif
