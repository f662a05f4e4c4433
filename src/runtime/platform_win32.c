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

/* Windows has no sealed memfd.  The checked bytes go to a new file in the
 * user's temporary folder, written through a handle that shares nothing,
 * and closed.  The file is then opened again for reading with DELETE
 * access, sharing reading alone, and delete-on-close.  That open fails if
 * anyone else still holds the file open for writing (their access
 * conflicts with our sharing), and while our handle stays open nobody can
 * open it for writing or deleting, nor rename it or another file onto
 * it: its contents and its name are frozen.  What another process may
 * have done between the close and the reopen is caught by reading the
 * file back through the frozen handle and comparing it with the checked
 * bytes.  The loader then opens it for reading (with delete sharing, as
 * it does), and the handle is closed only after the load. */
void *hodurt_lib_stage(const void *bytes, size_t size, char *path, size_t path_size, char *why, size_t why_size)
{
    char dir[MAX_PATH + 1], file[MAX_PATH + 80];
    DWORD n = GetTempPathA(sizeof dir, dir);
    if (n == 0 || n > MAX_PATH) {
        last_error(n == 0 ? GetLastError() : ERROR_FILENAME_EXCED_RANGE, why, why_size);
        return NULL;
    }
    static volatile LONG counter;
    HANDLE w = INVALID_HANDLE_VALUE;
    for (int attempt = 0; attempt < 16 && w == INVALID_HANDLE_VALUE; attempt++) {
        snprintf(file, sizeof file, "%shodu-%lu-%ld-%llx.dll", dir, (unsigned long)GetCurrentProcessId(),
                 (long)InterlockedIncrement(&counter), (unsigned long long)hodurt_now_ns());
        w = CreateFileA(file, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_TEMPORARY, NULL);
        if (w == INVALID_HANDLE_VALUE && GetLastError() != ERROR_FILE_EXISTS)
            break;
    }
    if (w == INVALID_HANDLE_VALUE) {
        last_error(GetLastError(), why, why_size);
        return NULL;
    }
    const char *p = bytes;
    for (size_t left = size; left > 0;) {
        DWORD chunk = left > (1u << 30) ? (1u << 30) : (DWORD)left, done = 0;
        if (!WriteFile(w, p, chunk, &done, NULL) || done == 0) {
            last_error(GetLastError(), why, why_size);
            CloseHandle(w);
            DeleteFileA(file);
            return NULL;
        }
        p += done;
        left -= done;
    }
    CloseHandle(w);
    HANDLE h = CreateFileA(file, GENERIC_READ | DELETE, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           FILE_FLAG_DELETE_ON_CLOSE | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD code = GetLastError();
        DeleteFileA(file);
        last_error(code, why, why_size);
        return NULL;
    }
    /* read back what the file now holds, one byte past the expected end */
    bool same = true;
    char buf[65536];
    const char *q = bytes;
    for (size_t left = size + 1; same && left > 0;) {
        DWORD want = left > sizeof buf ? (DWORD)sizeof buf : (DWORD)left, got = 0;
        if (!ReadFile(h, buf, want, &got, NULL))
            same = false;
        else if (got == 0)
            same = left == 1; /* the end, exactly after the expected bytes */
        else if (got > left - 1 || memcmp(buf, q, got) != 0)
            same = false;
        if (!same || got == 0)
            break;
        q += got;
        left -= got;
    }
    if (!same) {
        CloseHandle(h);
        snprintf(why, why_size, "its temporary copy %s changed before it could be loaded", file);
        return NULL;
    }
    if ((size_t)snprintf(path, path_size, "%s", file) >= path_size) {
        CloseHandle(h);
        snprintf(why, why_size, "the temporary path %s is too long", file);
        return NULL;
    }
    return (void *)h;
}

/* closing the last handle deletes the file (delete-on-close) */
void hodurt_lib_unstage(void *token) { CloseHandle((HANDLE)token); }

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
