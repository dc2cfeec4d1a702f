/*
 * cmk_system.h: the few Linux calls cmk needs that Swift cannot make itself.
 *
 * prctl and syscall are variadic (Swift imports no variadic C function), and what must happen
 * between fork and exec (a parent-death signal, a process group) must be async-signal-safe C:
 * Swift code in a forked child of a multi-threaded process could take a lock held by a thread
 * that does not exist there. Each function is one wrapper; errors come back as errno values.
 * One exception, for speed: SHA-256's block function, which a debug build of Swift runs at
 * 8 MB/s (hashing both providers cost a second per worker) against 80 MB/s for C at -O0, and
 * 1.5 GB/s with the x86 SHA extensions in assembly.
 */
#ifndef CMK_SYSTEM_H
#define CMK_SYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Mixes `count` 64-byte blocks at `blocks` into `state` (FIPS 180-4, section 6.2.2), with the
   CPU's SHA extensions where it has them (x86-64), else the portable code. */
void cmk_sha256_blocks(uint32_t state[8], const uint8_t *blocks, size_t count);

/* The portable code alone: for the tests that compare the two. */
void cmk_sha256_blocks_portable(uint32_t state[8], const uint8_t *blocks, size_t count);

/*
 * Starts `path` with `argv` and `envp` in a process group of its own, with `in_fd`, `out_fd`
 * and `err_fd` as its standard input, output and error and no other descriptor (close_range on
 * Linux 5.9 and later; close-on-exec before that), no signal blocked, SIGPIPE at its
 * default, and `death_signal` (when > 0) sent to it by the kernel if this process dies
 * (PR_SET_PDEATHSIG: it fires when the calling *thread* ends, so call it from a thread that
 * outlives the child). Returns 0 and the child's pid in *pid, or the errno of what failed,
 * exec included (reported through a close-on-exec pipe before this returns).
 */
int cmk_spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
              int death_signal, pid_t *pid);

/* pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, so that a child another thread
   starts at the same moment never inherits them. 0, or an errno. */
int cmk_pipe(int fds[2]);

/* pidfd_open(2): a descriptor that polls readable once `pid` has exited; -1 with errno. */
int cmk_pidfd_open(pid_t pid);

/* 1 when `pid` (a child) has exited and waits to be reaped, 0 while it runs, -1 with errno.
   The child is not reaped (WNOWAIT): its pid, and so its process group id, cannot be reused
   until the caller reaps it, so the group can still be signalled safely. */
int cmk_child_has_exited(pid_t pid);

/* prctl(PR_SET_PDEATHSIG, signal): 0, or an errno. */
int cmk_set_parent_death_signal(int signal);

/* prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants re-parent to this process. 0, or an errno. */
int cmk_set_child_subreaper(void);

/*
 * Installs a handler for `signal` that writes the signal's number, as one byte, to `fd` (a
 * self-pipe a thread reads): the only async-signal-safe thing a handler may do for Swift code.
 * One descriptor for every signal installed this way. 0, or an errno.
 */
int cmk_write_on_signal(int signal, int fd);

#endif
