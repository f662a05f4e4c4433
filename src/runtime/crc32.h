/*
 * runtime/crc32.h - the zip CRC-32, shared by libhodu_rt's package reader
 * (package.c) and the compiler's package writer (src/package/write.c).
 * Inline rather than exported: libhodu reaches libhodu_rt only through
 * its public functions.
 */
#ifndef HODU_RT_CRC32_H
#define HODU_RT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The IEEE 802.3 polynomial, reflected, one bit at a time: each entry is
 * checked once, so speed does not matter. */
static inline uint32_t hodurt_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

#endif
