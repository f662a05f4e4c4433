/*
 * platform_win32.c - platform.h over Win32 (mingw-w64 builds of the
 * runtime): LoadLibrary, _aligned_malloc, QueryPerformanceCounter, slim
 * reader/writer locks, condition variables and CreateThread.
 */
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <malloc.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "platform.h"

_Static_assert(sizeof(SRWLOCK) == sizeof(void *) && sizeof(CONDITION_VARIABLE) == sizeof(void *),
               "platform.h keeps an SRWLOCK and a CONDITION_VARIABLE in one pointer");

/* The system's message for GetLastError() `code`, without its line break. */
static void last_error(DWORD code, char *why, size_t why_size)
{
    if (why_size == 0)
        return;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, why,
                             (DWORD)(why_size > 0xFFFF ? 0xFFFF : why_size), NULL);
    while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '\r' || why[n - 1] == ' '))
        why[--n] = '\0';
    if (n == 0) {
        snprintf(why, why_size, "Windows error %lu", (unsigned long)code);
        return;
    }
    /* Some messages keep a "%1" for the file's name ("Bad EXE format for
     * %1."); the caller names the file, so the placeholder goes. */
    char *hole = strstr(why, " for %1");
    if (hole != NULL)
        memmove(hole, hole + 7, strlen(hole + 7) + 1);
}

void *hodurt_lib_open(const char *path, char *why, size_t why_size)
{
    /* LoadLibrary searches the DLL path for a relative name and appends
     * ".dll" to a name without an extension: load the full path, with a
     * trailing "." when the name has no extension (meaning "none"). */
    char full[MAX_PATH + 2];
    DWORD n = GetFullPathNameA(path, MAX_PATH, full, NULL);
    if (n == 0 || n >= MAX_PATH) {
        last_error(n == 0 ? GetLastError() : ERROR_FILENAME_EXCED_RANGE, why, why_size);
        return NULL;
    }
    const char *base = full;
    for (const char *s = full; *s; s++)
        if (*s == '\\' || *s == '/')
            base = s + 1;
    if (strchr(base, '.') == NULL) {
        full[n] = '.';
        full[n + 1] = '\0';
    }
    /* No "cannot load" dialog box: the caller reports the failure. */
    DWORD old_mode = 0;
    SetThreadErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX, &old_mode);
    HMODULE lib = LoadLibraryExA(full, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    DWORD code = GetLastError();
    SetThreadErrorMode(old_mode, NULL);
    if (lib == NULL)
        last_error(code, why, why_size);
    return (void *)lib;
}

void *hodurt_lib_symbol(void *lib, const char *name, char *why, size_t why_size)
{
    FARPROC sym = GetProcAddress((HMODULE)lib, name);
    if (sym == NULL) {
        last_error(GetLastError(), why, why_size);
        return NULL;
    }
    void *p;
    memcpy(&p, &sym, sizeof p); /* function to object pointer: same size on Win64 */
    return p;
}

void hodurt_lib_close(void *lib) { FreeLibrary((HMODULE)lib); }

void *hodurt_aligned_malloc(size_t align, size_t bytes) { return _aligned_malloc(bytes, align); }

void hodurt_aligned_free(void *p) { _aligned_free(p); }

uint64_t hodurt_now_ns(void)
{
    static LARGE_INTEGER freq; /* fixed at boot; a racy first write stores the same value */
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)t.QuadPart;
    return c / f * 1000000000u + c % f * 1000000000u / f;
}

/* Windows has no FIFOs on the file system; _O_BINARY keeps the C library
 * from translating line ends in .npy and other binary files. */
int hodurt_open_read(const char *path) { return _open(path, _O_RDONLY | _O_BINARY | _O_NOINHERIT); }

int hodurt_create_new(const char *path)
{
    return _open(path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT, _S_IREAD | _S_IWRITE);
}

bool hodurt_replace_file(const char *from, const char *to)
{
    /* rename() refuses an existing target on Windows. */
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return true;
    errno = GetLastError() == ERROR_ACCESS_DENIED ? EACCES : EIO;
    return false;
}

long hodurt_process_id(void) { return (long)GetCurrentProcessId(); }

void hodurt_mutex_init(hodurt_mutex *m) { InitializeSRWLock((PSRWLOCK)&m->opaque); }
void hodurt_mutex_destroy(hodurt_mutex *m) { (void)m; /* an SRW lock holds no resources */ }
void hodurt_mutex_lock(hodurt_mutex *m) { AcquireSRWLockExclusive((PSRWLOCK)&m->opaque); }
void hodurt_mutex_unlock(hodurt_mutex *m) { ReleaseSRWLockExclusive((PSRWLOCK)&m->opaque); }
void hodurt_cond_init(hodurt_cond *c) { InitializeConditionVariable((PCONDITION_VARIABLE)&c->opaque); }
void hodurt_cond_destroy(hodurt_cond *c) { (void)c; }

void hodurt_cond_wait(hodurt_cond *c, hodurt_mutex *m)
{
    SleepConditionVariableSRW((PCONDITION_VARIABLE)&c->opaque, (PSRWLOCK)&m->opaque, INFINITE, 0);
}

void hodurt_cond_signal(hodurt_cond *c) { WakeConditionVariable((PCONDITION_VARIABLE)&c->opaque); }
void hodurt_cond_broadcast(hodurt_cond *c) { WakeAllConditionVariable((PCONDITION_VARIABLE)&c->opaque); }

bool hodurt_thread_start(hodurt_thread *t, hodurt_thread_fn fn, void *arg)
{
    /* _beginthreadex, not CreateThread: the C library's per-thread state
     * (errno, ...) is then set up for the thread. */
    uintptr_t h = _beginthreadex(NULL, 8u << 20, fn, arg, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (h == 0)
        return false;
    *t = (void *)h;
    return true;
}

void hodurt_thread_join(hodurt_thread t)
{
    WaitForSingleObject((HANDLE)t, INFINITE);
    CloseHandle((HANDLE)t);
}

void hodurt_yield(void) { SwitchToThread(); }

#endif
