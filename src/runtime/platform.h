/*
 * platform.h - what libhodu_rt needs from the operating system, behind one
 * small interface: loading a model library, aligned memory, a monotonic
 * clock, files, and the thread pool's threads, locks and condition
 * variables.  platform_posix.c implements it over dlopen and pthreads,
 * platform_win32.c over LoadLibrary and Win32 threads (mingw-w64 builds);
 * the rest of the runtime uses only this.
 */
#ifndef HODU_RT_PLATFORM_H
#define HODU_RT_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(_WIN32)
#include <pthread.h>
#endif

/* --- model libraries ----------------------------------------------------- */

/* Loads the shared library at `path` (a file path, never searched for);
 * NULL with the loader's reason in why[0..why_size) on failure. */
void *hodurt_lib_open(const char *path, char *why, size_t why_size);
/* The address of `name` in lib; NULL with the reason in why on failure. */
void *hodurt_lib_symbol(void *lib, const char *name, char *why, size_t why_size);
void hodurt_lib_close(void *lib);
/* Puts `size` bytes of a shared library (already checked by the caller)
 * where hodurt_lib_open can load them from the path written to
 * path[0..path_size), such that no other process can change them between
 * the check and the load: a sealed memfd on Linux, a temporary file held
 * open against writers on Windows.  Returns a token for
 * hodurt_lib_unstage, called once hodurt_lib_open is done; NULL with the
 * reason in why when it cannot (or the platform has no such place). */
void *hodurt_lib_stage(const void *bytes, size_t size, char *path, size_t path_size, char *why, size_t why_size);
void hodurt_lib_unstage(void *token);

/* --- memory, time, files ------------------------------------------------- */

/* `bytes` (a non-zero multiple of `align`) aligned to `align`, or NULL;
 * released with hodurt_aligned_free only. */
void *hodurt_aligned_malloc(size_t align, size_t bytes);
void hodurt_aligned_free(void *p);

/* Nanoseconds on a clock that never goes back. */
uint64_t hodurt_now_ns(void);

/* Opens an existing file to read in binary mode without waiting on a FIFO
 * (callers then refuse anything but a regular file); -1 with errno set. */
int hodurt_open_read(const char *path);
/* Creates a new file to write in binary mode, failing when `path` exists
 * (so no file or link already there is written through); -1 with errno. */
int hodurt_create_new(const char *path);
/* Renames `from` onto `to`, replacing a file there; false with errno set. */
bool hodurt_replace_file(const char *from, const char *to);
long hodurt_process_id(void);

/* --- threads ------------------------------------------------------------- */

#if defined(_WIN32)
/* The Win32 SRWLOCK, CONDITION_VARIABLE and thread HANDLE, which are each
 * one pointer; platform_win32.c casts them (windows.h stays out of here). */
typedef struct hodurt_mutex {
    void *opaque;
} hodurt_mutex;
typedef struct hodurt_cond {
    void *opaque;
} hodurt_cond;
typedef void *hodurt_thread;
/* A thread's function: HODURT_THREAD_MAIN(name, arg) { ... HODURT_THREAD_END; } */
#define HODURT_THREAD_MAIN(name, arg) unsigned __stdcall name(void *arg)
#define HODURT_THREAD_END             return 0
typedef unsigned(__stdcall *hodurt_thread_fn)(void *arg);
#else
typedef pthread_mutex_t hodurt_mutex;
typedef pthread_cond_t hodurt_cond;
typedef pthread_t hodurt_thread;
#define HODURT_THREAD_MAIN(name, arg) void *name(void *arg)
#define HODURT_THREAD_END             return NULL
typedef void *(*hodurt_thread_fn)(void *arg);
#endif

void hodurt_mutex_init(hodurt_mutex *m);
void hodurt_mutex_destroy(hodurt_mutex *m);
void hodurt_mutex_lock(hodurt_mutex *m);
void hodurt_mutex_unlock(hodurt_mutex *m);
void hodurt_cond_init(hodurt_cond *c);
void hodurt_cond_destroy(hodurt_cond *c);
/* Waits on c with m held (spurious wake-ups happen: callers loop). */
void hodurt_cond_wait(hodurt_cond *c, hodurt_mutex *m);
void hodurt_cond_signal(hodurt_cond *c);
void hodurt_cond_broadcast(hodurt_cond *c);
/* Starts fn(arg) on a new thread with a stack of at least 8 MiB (the
 * kernels keep GEMM panels on the stack); false when it cannot. */
bool hodurt_thread_start(hodurt_thread *t, hodurt_thread_fn fn, void *arg);
void hodurt_thread_join(hodurt_thread t);
/* Gives the CPU to another runnable thread, if any. */
void hodurt_yield(void);

#endif
