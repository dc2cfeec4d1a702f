/* cmk_system.c: see cmk_system.h. Everything between fork and execve is async-signal-safe. */
#define _GNU_SOURCE
#include "cmk_system.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* In the child after fork: report errno to the parent through `report`, and end. */
static void child_failed(int report) {
    int code = errno;
    ssize_t ignored = write(report, &code, sizeof code);
    (void)ignored;
    _exit(127);
}

int cmk_spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
              int death_signal, pid_t *pid) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    /* No handler of ours may run in the child before exec: block everything across the fork. */
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        /* Move the three descriptors above 2 first: one of them may itself be 0, 1 or 2. */
        int wanted[3] = {in_fd, out_fd, err_fd};
        int moved[3];
        for (int i = 0; i < 3; i++) {
            moved[i] = fcntl(wanted[i], F_DUPFD_CLOEXEC, 3);
            if (moved[i] < 0) child_failed(report[1]);
        }
        for (int i = 0; i < 3; i++) {
            if (dup2(moved[i], i) < 0) child_failed(report[1]);
        }
        if (setpgid(0, 0) != 0) child_failed(report[1]);
        if (death_signal > 0) {
            if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) child_failed(report[1]);
            /* The parent died before the line above: the signal will never come. */
            if (getppid() != parent) _exit(127);
        }
        /* Handlers would be reset by exec anyway; reset them now so that none runs once signals
           are unblocked below. Ignored signals survive exec: SIGPIPE (cmk ignores it) goes back
           to its default, as a shell would start the program. */
        struct sigaction fallback;
        memset(&fallback, 0, sizeof fallback);
        fallback.sa_handler = SIG_DFL;
        for (int signal = 1; signal < NSIG; signal++) {
            struct sigaction current;
            if (sigaction(signal, NULL, &current) != 0) continue;
            if (signal == SIGPIPE || (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN))
                sigaction(signal, &fallback, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        child_failed(report[1]);
    }
    int forkError = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (child < 0) {
        close(report[0]);
        return forkError;
    }
    int code = 0;
    ssize_t count;
    do count = read(report[0], &code, sizeof code);
    while (count < 0 && errno == EINTR);
    close(report[0]);
    if (count > 0) {
        /* The child failed before or in exec, and has ended (or is about to): reap it. */
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return code != 0 ? code : ECHILD;
    }
    *pid = child;
    return 0;
}

int cmk_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno; }

int cmk_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int cmk_child_has_exited(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid != 0 ? 1 : 0;
}

int cmk_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0) == 0 ? 0 : errno;
}

int cmk_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno; }

static volatile sig_atomic_t wake_descriptor = -1;

static void write_signal_number(int signal) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal;
    if (wake_descriptor >= 0) {
        ssize_t ignored = write(wake_descriptor, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int cmk_write_on_signal(int signal, int fd) {
    wake_descriptor = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = write_signal_number;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signal, &action, NULL) == 0 ? 0 : errno;
}

