/*
 * bench/rss_exec.c - run a command and report its peak RSS.
 *
 *     rss_exec REPORT_FILE COMMAND [ARGS...]
 *
 * Runs COMMAND (stdin, stdout, stderr inherited), waits for it, writes
 * "<peak RSS in KiB> <wait status>\n" to REPORT_FILE, and exits with the
 * command's exit status (128 + signal when a signal ended it).
 *
 * Why a C launcher: Linux carries the high-water RSS of the address space
 * a process leaves at exec into its ru_maxrss, and a child forked (or
 * vforked) from the Python bench leaves the bench's address space.  Every
 * measured command would then report at least the bench's own RSS (tens of
 * MiB).  Forked from this small program, the floor is its own ~1 MiB.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rss_exec REPORT_FILE COMMAND [ARGS...]\n");
        return 127;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("rss_exec: fork");
        return 127;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "rss_exec: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("rss_exec: wait4");
            return 127;
        }
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%ld %d\n", ru.ru_maxrss, status) < 0 || fclose(f) != 0) {
        perror("rss_exec: report file");
        return 127;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
