#include "zn_uninformed.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t id[16];
    char partner[64], network[64];
    uint64_t index, created_ms, informed_ms;
    bool live;
} s_sig;

struct zn_uninformed {
    s_sig *v;         /* in order of registration */
    size_t n, cap;
    uint32_t *slot;   /* open addressing: position in v + 1, 0 empty */
    size_t mask;      /* slots - 1; slots >= 2 * cap */
};

zn_uninformed *zn_uninformed_new(void)
{
    return calloc(1, sizeof(zn_uninformed));
}

void zn_uninformed_free(zn_uninformed **u)
{
    if (!u || !*u)
        return;
    free((*u)->v);
    free((*u)->slot);
    free(*u);
    *u = NULL;
}

static size_t s_hash(const uint8_t id[16])
{
    uint64_t h;
    memcpy(&h, id, sizeof h); /* ids are random */
    return (size_t)h;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t s_find(const zn_uninformed *u, const uint8_t id[16])
{
    size_t i = s_hash(id) & u->mask;
    while (u->slot[i] && memcmp(u->v[u->slot[i] - 1].id, id, 16) != 0)
        i = (i + 1) & u->mask;
    return i;
}

static int s_grow(zn_uninformed *u)
{
    size_t cap = u->cap ? u->cap * 2 : 256;
    if (cap > UINT32_MAX / 4)
        return -1;
    s_sig *v = realloc(u->v, cap * sizeof *v);
    if (!v)
        return -1;
    u->v = v;
    uint32_t *slot = calloc(cap * 2, sizeof *slot);
    if (!slot)
        return -1;
    free(u->slot);
    u->slot = slot;
    u->cap = cap;
    u->mask = cap * 2 - 1;
    for (size_t k = 0; k < u->n; k++)
        u->slot[s_find(u, u->v[k].id)] = (uint32_t)(k + 1);
    return 0;
}

static const zn_audit_detail *s_detail(const zn_audit_entry *en, const char *key)
{
    for (size_t i = 0; i < en->n_details; i++)
        if (strcmp(en->details[i].key, key) == 0)
            return &en->details[i];
    return NULL;
}

static void s_copy(char *dst, size_t cap, const zn_audit_detail *d)
{
    size_t n = d && d->type == ZN_AUDIT_STR ? d->len : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, d->p, n);
    dst[n] = 0;
}

int zn_uninformed_feed(zn_uninformed *u, const zn_audit_entry *en)
{
    const char *a = en->action;
    bool add = strcmp(a, "signal-add") == 0, refresh = strcmp(a, "signal-refresh") == 0,
         informed = strcmp(a, "signal-informed") == 0,
         end = strcmp(a, "signal-withdraw") == 0 || strcmp(a, "signal-expire") == 0;
    if ((!add && !refresh && !informed && !end) || en->decision != ZN_AUDIT_ALLOWED)
        return 0;
    const zn_audit_detail *id = s_detail(en, "signal"), *when = s_detail(en, "informed");
    if (!id || id->type != ZN_AUDIT_BIN || id->len != 16)
        return 0;
    if (add && u->n == u->cap && s_grow(u) != 0)
        return -1;
    size_t i = u->cap ? s_find(u, id->p) : 0;
    s_sig *s = u->cap && u->slot[i] ? &u->v[u->slot[i] - 1] : NULL;
    if (add && !s) {
        s = &u->v[u->n];
        memset(s, 0, sizeof *s);
        memcpy(s->id, id->p, 16);
        snprintf(s->partner, sizeof s->partner, "%s", en->actor ? en->actor : "");
        s_copy(s->network, sizeof s->network, s_detail(en, "network"));
        s->index = en->index;
        s->created_ms = en->time_ms;
        s->live = true;
        u->slot[i] = (uint32_t)(++u->n);
    }
    if (!s)
        return 0;
    if (end)
        s->live = false;
    else if (when && when->type == ZN_AUDIT_U64 && when->u64)
        s->informed_ms = when->u64;
    return 0;
}

size_t zn_uninformed_list(zn_uninformed *u, uint64_t now_ms, uint64_t grace_ms,
                          void (*cb)(void *ctx, const zn_uninformed_signal *s), void *ctx)
{
    size_t count = 0;
    for (size_t k = 0; k < u->n; k++) {
        const s_sig *s = &u->v[k];
        if (!s->live || s->informed_ms || s->created_ms + grace_ms >= now_ms)
            continue;
        zn_uninformed_signal o = {.partner = s->partner, .network = s->network, .index = s->index,
                                  .created_ms = s->created_ms};
        memcpy(o.signal, s->id, 16);
        if (cb)
            cb(ctx, &o);
        count++;
    }
    return count;
}
