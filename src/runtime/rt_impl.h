/*
 * rt_impl.h - private helpers shared by the libhodu_rt sources.
 *
 * The runtime is compiled with hidden visibility; HODU_RT_API marks the
 * functions of include/hodu_rt.h that the shared library exports.  Nothing
 * here is part of the public interface; the hodurt_ prefix keeps these
 * internal names clear of applications that link the static library.
 */
#ifndef HODU_RT_IMPL_H
#define HODU_RT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hodu_rt.h"

#if defined(_WIN32) && defined(__GNUC__)
/* mingw-w64 (tools/cross_runtime.sh): no ELF visibility.  Building
 * libhodu_rt.dll (HODU_RT_DLL), dllexport marks the public functions, and
 * the linker then exports those alone; the static library marks nothing.
 * The formats are C99's (__USE_MINGW_ANSI_STDIO). */
#ifdef HODU_RT_DLL
#define HODU_RT_API __declspec(dllexport)
#else
#define HODU_RT_API
#endif
#define HODU_RT_PRINTF(fmt_index, first_arg) __attribute__((format(gnu_printf, fmt_index, first_arg)))
#elif defined(__GNUC__) || defined(__clang__)
#define HODU_RT_API                          __attribute__((visibility("default")))
#define HODU_RT_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define HODU_RT_API
#define HODU_RT_PRINTF(fmt_index, first_arg)
#endif

/* Longest "[d0,d1,...]" that hodurt_format_shape writes, NUL included:
 * HODU_MAX_RANK dims of up to 20 characters, commas and brackets. */
#define HODURT_SHAPE_STR_MAX (HODU_MAX_RANK * 21 + 3)

/* Fills *err (when not NULL) with `code` and the formatted message and
 * returns `code`. */
hodu_status hodurt_fail(hodu_error *err, hodu_status code, const char *fmt, ...) HODU_RT_PRINTF(3, 4);

/* Marks *err (when not NULL) as a success and returns HODU_OK. */
hodu_status hodurt_ok(hodu_error *err);

/* Writes "[2,3]" (or "[]" for rank 0) into buf.  A rank outside
 * 0..HODU_MAX_RANK or NULL dims is written as "<invalid rank N>". */
void hodurt_format_shape(char *buf, size_t size, int32_t rank, const int64_t *dims);

/* Element count of a shape: false when the rank is outside 0..HODU_MAX_RANK,
 * dims is NULL for a non-zero rank, a dim is negative or the product does not
 * fit in int64_t. */
bool hodurt_numel(int32_t rank, const int64_t *dims, int64_t *numel);

/* Byte size of a dense tensor: false as for hodurt_numel, for a dtype without a
 * fixed element size (undefined, string, values outside the enum) and when
 * the size does not fit in size_t. */
bool hodurt_nbytes(hodu_dtype dtype, int32_t rank, const int64_t *dims, size_t *nbytes);

/* Allocates `nbytes` zeroed bytes aligned to HODU_ABI_ALIGN (never NULL on
 * success, even for 0 bytes).  Returns NULL when out of memory. */
void *hodurt_alloc_aligned(size_t nbytes);

/* Reads up to n bytes, retrying on EINTR and short reads; returns the
 * number read (less than n only at end of file) or -1 with errno set. */
long hodurt_read_full(int fd, void *buf, size_t n);
/* Writes parts[0..n) one after another to `path` through a new temporary
 * file renamed over it, so a failure leaves no partial file behind and no
 * file or link already there is written through. */
hodu_status hodurt_write_file(const char *path, const void *const *parts, const size_t *sizes, size_t n,
                              hodu_error *err);
/* Reads the whole regular file at `path` (at most max_bytes) into a
 * malloc'ed buffer. */
hodu_status hodurt_read_file(const char *path, size_t max_bytes, uint8_t **bytes, size_t *size, hodu_error *err);

/* Loads the model library at load_path (dlopen's argument) and checks its
 * descriptor; messages name it `path`. */
hodu_status hodurt_model_load(const char *path, const char *load_path, hodu_model **out, hodu_error *err);

/* A JSON number that is an exact integer in [0, 2^53] (safetensors.c;
 * without cJSON, HODU_RT_NO_JSON, there is none). */
struct cJSON;
bool hodurt_json_u53(const struct cJSON *j, uint64_t *out);

/* --- images (image.c) ------------------------------------------------------ */

/* hodu_decode_image with its pixel limit as a parameter (the fuzz target's
 * is smaller) and its error record typed. */
int hodurt_decode_image(hodu_error *err, uint64_t max_pixels, const uint8_t *bytes, uint64_t n_bytes,
                        int32_t pixel_format, void *(*alloc)(void *alloc_ctx, uint64_t bytes), void *alloc_ctx,
                        uint8_t **pixels, int64_t dims[3]);

/* --- the thread pool (pool.c) -------------------------------------------- */

/* Most threads one instance may use; more is taken as a mistake. */
#define HODURT_MAX_THREADS 1024u

typedef struct hodurt_pool hodurt_pool;

/* Starts n_workers - 1 threads; the thread calling parallel_for is the
 * remaining worker (index 0). */
hodu_status hodurt_pool_create(uint32_t n_workers, hodurt_pool **out, hodu_error *err);
/* Stops and joins the threads; NULL-safe.  No parallel_for may be running. */
void hodurt_pool_destroy(hodurt_pool *pool);
/* hodu_exec's parallel_for over a hodurt_pool.  One caller at a time. */
void hodurt_pool_parallel_for(void *pool, uint32_t n_tasks, hodu_task_fn fn, void *ctx);

#endif /* HODU_RT_IMPL_H */
