/*
 * hash.h - a string -> int map (open addressing, linear probing).
 *
 * Used wherever the compiler looks names up in a loop (value names in the
 * loader, op types in --inspect), so that hostile inputs with many names
 * cost linear time, not quadratic.  Keys are borrowed: the caller keeps each
 * key string alive, unchanged, for as long as the map holds it.
 */
#ifndef HODU_HASH_H
#define HODU_HASH_H

#include <stddef.h>

typedef struct hd_strmap {
    const char **keys;
    int *vals;
    size_t cap; /* a power of two, or 0 */
    size_t len;
} hd_strmap;

/* A zeroed hd_strmap is an empty map. */
/* The value stored for `key`, or -1 when absent. */
int hd_strmap_get(const hd_strmap *m, const char *key);
/* Sets key -> val, replacing an earlier entry for the same key. */
void hd_strmap_put(hd_strmap *m, const char *key, int val);
void hd_strmap_free(hd_strmap *m);

#endif /* HODU_HASH_H */
