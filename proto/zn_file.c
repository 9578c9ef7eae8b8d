#include "zn_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_close(int fd)
{
    int saved = errno;
    (void)close(fd);
    errno = saved;
}

static uint8_t *s_alloc(size_t n, unsigned flags)
{
    if (n == 0)
        n = 1; /* an empty file still gets a buffer the caller can free */
    return (flags & ZN_FILE_SECRET) ? sodium_malloc(n) : malloc(n);
}

void zn_file_free(uint8_t *buf, unsigned flags)
{
    if (!buf)
        return;
    if (flags & ZN_FILE_SECRET)
        sodium_free(buf); /* wipes before it frees */
    else
        free(buf);
}

int zn_file_read(const char *path, size_t max, unsigned flags, uint8_t **buf, size_t *len, zn_err *e)
{
    const bool secret = (flags & ZN_FILE_SECRET) != 0;
    const char *what = secret ? "key file" : "file";
    struct stat st;
    uint8_t *p = NULL;
    int fd;

    *buf = NULL;
    *len = 0;
    if (!path || !*path)
        return zn_err_set(e, ZN_E_USAGE, "no %s path given", what);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return zn_err_set(e, secret ? ZN_E_KEY_FILE : ZN_E_IO, "cannot open %s %s: %s", what, path,
                          strerror(errno));
    if (fstat(fd, &st) != 0) {
        zn_err_set(e, ZN_E_IO, "cannot inspect %s %s: %s", what, path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        zn_err_set(e, secret ? ZN_E_KEY_FILE : ZN_E_IO, "%s %s is not a regular file", what, path);
        goto fail;
    }
    if (secret && (st.st_mode & 077) != 0) {
        zn_err_set(e, ZN_E_KEY_FILE,
                   "key file %s can be read by group or others (mode %04o); run chmod 600 %s", path,
                   (unsigned)(st.st_mode & 07777), path);
        goto fail;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)max) {
        zn_err_set(e, secret ? ZN_E_KEY_FILE : ZN_E_IO,
                   "%s %s is larger than the %zu bytes allowed for it", what, path, max);
        goto fail;
    }
    /* Read the size fstat reported, then probe for one more byte: a file that grew meanwhile is
     * refused rather than cut short. */
    size_t want = (size_t)st.st_size;
    p = s_alloc(want, flags);
    if (!p) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory reading %s %s", what, path);
        goto fail;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, p + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            zn_err_set(e, ZN_E_IO, "cannot read %s %s: %s", what, path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break; /* shrank while reading: take what is there */
        got += (size_t)r;
    }
    for (;;) {
        uint8_t probe;
        ssize_t r = read(fd, &probe, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            zn_err_set(e, ZN_E_IO, "cannot read %s %s: %s", what, path, strerror(errno));
            goto fail;
        }
        if (r > 0) {
            sodium_memzero(&probe, sizeof probe);
            zn_err_set(e, ZN_E_IO, "%s %s changed while it was read; try again", what, path);
            goto fail;
        }
        break;
    }
    (void)close(fd);
    *buf = p;
    *len = got;
    return 0;
fail:
    if (p && !secret)
        free(p);
    else if (p)
        sodium_free(p);
    s_close(fd);
    return -1;
}

static int s_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int s_fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = -1;
    if (fd >= 0) {
        rc = fsync(fd);
        /* Some file systems cannot fsync a directory; the rename itself has happened. */
        if (rc != 0 && (errno == EINVAL || errno == ENOTSUP))
            rc = 0;
        s_close(fd);
    }
    free(copy);
    return rc;
}

int zn_file_write(const char *path, const void *data, size_t len, unsigned mode, int exclusive,
                  zn_err *e)
{
    struct stat st;
    char *tmp = NULL;
    int fd = -1;

    if (!path || !*path)
        return zn_err_set(e, ZN_E_USAGE, "no file path given");
    if (!data && len > 0)
        return zn_err_set(e, ZN_E_INTERNAL, "nothing to write to %s", path);
    if (exclusive && lstat(path, &st) == 0)
        return zn_err_set(e, ZN_E_IO, "%s already exists; refusing to overwrite it", path);
    size_t n = strlen(path);
    tmp = malloc(n + sizeof ".tmp");
    if (!tmp)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory writing %s", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", sizeof ".tmp");

    if (unlink(tmp) != 0 && errno != ENOENT) {
        zn_err_set(e, ZN_E_IO, "cannot remove the stale %s: %s", tmp, strerror(errno));
        goto fail;
    }
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY, (mode_t)(mode & 07777));
    if (fd < 0) {
        zn_err_set(e, ZN_E_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto fail;
    }
    /* The umask may have taken bits away; set exactly what was asked for. */
    if (fchmod(fd, (mode_t)(mode & 07777)) != 0) {
        zn_err_set(e, ZN_E_IO, "cannot set mode %04o on %s: %s", mode & 07777, tmp, strerror(errno));
        goto fail_unlink;
    }
    if (s_write_all(fd, data, len) != 0) {
        zn_err_set(e, ZN_E_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (fsync(fd) != 0) {
        zn_err_set(e, ZN_E_IO, "cannot flush %s to disk: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    if (close(fd) != 0) {
        fd = -1;
        zn_err_set(e, ZN_E_IO, "cannot close %s: %s", tmp, strerror(errno));
        goto fail_unlink;
    }
    fd = -1;
    if (exclusive) {
        /* link() fails when path exists, so a file created since the check above survives. */
        if (link(tmp, path) != 0) {
            if (errno == EEXIST) {
                zn_err_set(e, ZN_E_IO, "%s already exists; refusing to overwrite it", path);
                goto fail_unlink;
            }
            if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != EXDEV) {
                zn_err_set(e, ZN_E_IO, "cannot create %s: %s", path, strerror(errno));
                goto fail_unlink;
            }
            /* No hard links on this file system: fall back to check-then-rename. */
            if (lstat(path, &st) == 0) {
                zn_err_set(e, ZN_E_IO, "%s already exists; refusing to overwrite it", path);
                goto fail_unlink;
            }
            if (rename(tmp, path) != 0) {
                zn_err_set(e, ZN_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
                goto fail_unlink;
            }
        } else {
            (void)unlink(tmp);
        }
    } else if (rename(tmp, path) != 0) {
        zn_err_set(e, ZN_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto fail_unlink;
    }
    if (s_fsync_dir(path) != 0) {
        zn_err_set(e, ZN_E_IO, "wrote %s but could not flush its directory: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
fail_unlink:
    if (fd >= 0)
        s_close(fd);
    (void)unlink(tmp);
    free(tmp);
    return -1;
fail:
    free(tmp);
    return -1;
}
