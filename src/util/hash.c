#include "util/hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    /* Fold the high bits in: the table index uses only the low ones. */
    return h ^ (h >> 29);
}

int hd_strmap_get(const hd_strmap *m, const char *key)
{
    if (m->cap == 0)
        return -1;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)str_hash(key) & mask;; i = (i + 1) & mask) {
        if (!m->keys[i])
            return -1;
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    }
}

static void insert_slot(hd_strmap *m, const char *key, int val)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)str_hash(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    if (!m->keys[i])
        m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
}

void hd_strmap_put(hd_strmap *m, const char *key, int val)
{
    /* Keep the load under one half so probe runs stay short. */
    if (2 * (m->len + 1) > m->cap) {
        hd_strmap bigger = {0};
        bigger.cap = m->cap ? 2 * m->cap : 64;
        bigger.keys = hd_xcalloc(bigger.cap, sizeof(*bigger.keys));
        bigger.vals = hd_xcalloc(bigger.cap, sizeof(*bigger.vals));
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                insert_slot(&bigger, m->keys[i], m->vals[i]);
        free(m->keys);
        free(m->vals);
        *m = bigger;
    }
    insert_slot(m, key, val);
}

void hd_strmap_free(hd_strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}
