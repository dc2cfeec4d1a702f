/*
 * spawn: runs one command as a child with posix_spawn and prints "<wall ms> <max RSS KB> <exit>".
 *
 * bench.py calls it once per sample, so that what is timed is posix_spawn to wait4 of the child
 * alone: not Python's fork (about 3 ms of its own), nor this program's start-up. Its own
 * overhead is measured by the bench in the same run, as the time to spawn `noop` (a static
 * program that exits at once), and reported beside the figures.
 *
 *     spawn COMMAND [ARG...]      stdout and stderr of COMMAND go to /dev/null
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: spawn COMMAND [ARG...]\n");
        return 64;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t child;
    if (posix_spawn(&child, argv[1], &actions, NULL, argv + 1, environ) != 0) {
        perror("posix_spawn");
        return 1;
    }
    int status = 0;
    struct rusage usage;
    if (wait4(child, &status, 0, &usage) < 0) {
        perror("wait4");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%.3f %ld %d\n", ms, usage.ru_maxrss, code);
    return 0;
}
