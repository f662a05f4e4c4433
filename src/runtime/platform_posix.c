/*
 * platform_posix.c - platform.h over POSIX: dlopen, pthreads, open(2).
 */
#if !defined(_WIN32)
#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "platform.h"

void *hodurt_lib_open(const char *path, char *why, size_t why_size)
{
    /* dlopen searches the library path for a name without a slash; a model
     * path means a file, so anchor such a name to the current directory. */
    char *anchored = NULL;
    if (strchr(path, '/') == NULL) {
        size_t len = strlen(path);
        anchored = malloc(len + 3);
        if (anchored == NULL) {
            snprintf(why, why_size, "out of memory");
            return NULL;
        }
        memcpy(anchored, "./", 2);
        memcpy(anchored + 2, path, len + 1);
    }
    void *lib = dlopen(anchored != NULL ? anchored : path, RTLD_NOW | RTLD_LOCAL);
    free(anchored);
    if (lib == NULL) {
        const char *e = dlerror();
        snprintf(why, why_size, "%s", e != NULL ? e : "dlopen failed");
    }
    return lib;
}

void *hodurt_lib_symbol(void *lib, const char *name, char *why, size_t why_size)
{
    dlerror(); /* clear any stale message */
    void *sym = dlsym(lib, name);
    if (sym == NULL) {
        const char *e = dlerror();
        snprintf(why, why_size, "%s", e != NULL ? e : "symbol is NULL");
    }
    return sym;
}

void hodurt_lib_close(void *lib) { dlclose(lib); }

#if defined(__linux__)
void *hodurt_lib_stage(const void *bytes, size_t size, char *path, size_t path_size, char *why, size_t why_size)
{
    /* An anonymous file only this process holds, sealed against any
     * further change once written, then loaded through its descriptor. */
    int fd = memfd_create("hodu-package", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        snprintf(why, why_size, "memfd_create failed: %s", strerror(errno));
        return NULL;
    }
    const char *p = bytes;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, why_size, "writing it to memory failed: %s", strerror(errno));
            close(fd);
            return NULL;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        snprintf(why, why_size, "sealing it failed: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return (void *)(intptr_t)(fd + 1); /* never NULL */
}

/* the loaded library keeps its own mapping */
void hodurt_lib_unstage(void *token) { close((int)(intptr_t)token - 1); }
#else
void *hodurt_lib_stage(const void *bytes, size_t size, char *path, size_t path_size, char *why, size_t why_size)
{
    (void)bytes, (void)size, (void)path, (void)path_size;
    snprintf(why, why_size, "loading a library from memory is only implemented on Linux and Windows");
    return NULL;
}

void hodurt_lib_unstage(void *token) { (void)token; }
#endif

void *hodurt_aligned_malloc(size_t align, size_t bytes) { return aligned_alloc(align, bytes); }

void hodurt_aligned_free(void *p) { free(p); }

uint64_t hodurt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int hodurt_open_read(const char *path) { return open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); }

int hodurt_create_new(const char *path) { return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666); }

bool hodurt_replace_file(const char *from, const char *to) { return rename(from, to) == 0; }

long hodurt_process_id(void) { return (long)getpid(); }

void hodurt_mutex_init(hodurt_mutex *m) { pthread_mutex_init(m, NULL); }
void hodurt_mutex_destroy(hodurt_mutex *m) { pthread_mutex_destroy(m); }
void hodurt_mutex_lock(hodurt_mutex *m) { pthread_mutex_lock(m); }
void hodurt_mutex_unlock(hodurt_mutex *m) { pthread_mutex_unlock(m); }
void hodurt_cond_init(hodurt_cond *c) { pthread_cond_init(c, NULL); }
void hodurt_cond_destroy(hodurt_cond *c) { pthread_cond_destroy(c); }
void hodurt_cond_wait(hodurt_cond *c, hodurt_mutex *m) { pthread_cond_wait(c, m); }
void hodurt_cond_signal(hodurt_cond *c) { pthread_cond_signal(c); }
void hodurt_cond_broadcast(hodurt_cond *c) { pthread_cond_broadcast(c); }

bool hodurt_thread_start(hodurt_thread *t, hodurt_thread_fn fn, void *arg)
{
    pthread_attr_t attr;
    bool ok = pthread_attr_init(&attr) == 0;
    if (ok) {
        size_t stack = 0;
        if (pthread_attr_getstacksize(&attr, &stack) == 0 && stack < ((size_t)8 << 20))
            pthread_attr_setstacksize(&attr, (size_t)8 << 20);
        ok = pthread_create(t, &attr, fn, arg) == 0;
        pthread_attr_destroy(&attr);
    }
    return ok;
}

void hodurt_thread_join(hodurt_thread t) { pthread_join(t, NULL); }

void hodurt_yield(void) { sched_yield(); }

#endif
