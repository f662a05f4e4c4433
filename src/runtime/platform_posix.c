/*
 * platform_posix.c - platform.h over POSIX: dlopen, pthreads, open(2).
 */
#if !defined(_WIN32)
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
