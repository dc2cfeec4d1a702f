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

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
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
        /* Only 0, 1 and 2 cross exec. A descriptor some library opened without O_CLOEXEC would
           otherwise live as long as the child: a pipe's write end that keeps another reader from
           its end of file, or a file being written that can then not be executed ("Text file
           busy"). `report` closes itself at exec. Before Linux 5.9 close_range fails and
           close-on-exec is all there is. */
        if (report[1] > 3) syscall(SYS_close_range, 3, report[1] - 1, 0);
        syscall(SYS_close_range, report[1] + 1, ~0U, 0);
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

/* The first 32 bits of the fractional parts of the cube roots of the first 64 primes. Aligned:
   the x86 code adds them with paddd from memory, which faults on an unaligned operand. */
static const uint32_t round_constants[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* A macro, not a function: debug builds compile C at -O0, where a call per rotation halves the speed. */
#define rotr(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/* The portable block function: FIPS 180-4 as written. */
static void sha256_blocks_portable(uint32_t state[8], const uint8_t *blocks, size_t count) {
    for (; count > 0; count--, blocks += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++) {
            const uint8_t *p = blocks + 4 * t;
            w[t] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
        }
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int t = 0; t < 64; t++) {
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + round_constants[t] + w[t];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
    }
}

#if defined(__x86_64__)
/* SHA, SSE4.1 and SSSE3, read from cpuid (leaf 7 EBX bit 29; leaf 1 ECX bits 19 and 9). */
static int has_sha_extensions(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 29)) != 0;
}

/* Four rounds: xmm0 = W[4i..4i+3] + K[4i..4i+3]; CDGH (xmm2) and ABEF (xmm1) take two each. */
#define ASM_ROUNDS(w, i)                                                                                      \
    "movdqa " w ", %%xmm0\n\t"                                                                                \
    "paddd " #i "*16(%[k]), %%xmm0\n\t"                                                                       \
    "sha256rnds2 %%xmm0, %%xmm1, %%xmm2\n\t"                                                                  \
    "pshufd $0x0E, %%xmm0, %%xmm0\n\t"                                                                        \
    "sha256rnds2 %%xmm0, %%xmm2, %%xmm1\n\t"
/* The next four schedule words into w0 (the oldest of the last sixteen; w3 the newest):
   w0 = msg2(msg1(w0, w1) + (w3:w2 shifted right by one word), w3). */
#define ASM_SCHEDULE(w0, w1, w2, w3)                                                                          \
    "sha256msg1 " w1 ", " w0 "\n\t"                                                                           \
    "movdqa " w3 ", %%xmm7\n\t"                                                                               \
    "palignr $4, " w2 ", %%xmm7\n\t"                                                                          \
    "paddd %%xmm7, " w0 "\n\t"                                                                                \
    "sha256msg2 " w3 ", " w0 "\n\t"
#define W0 "%%xmm3"
#define W1 "%%xmm4"
#define W2 "%%xmm5"
#define W3 "%%xmm6"

/*
 * The same function with the x86 SHA extensions (Intel's published use of sha256rnds2,
 * sha256msg1 and sha256msg2): the state kept as ABEF and CDGH, four rounds per step, the
 * message schedule four words at a time. One block is one asm statement: debug builds compile
 * C at -O0, where the same code in intrinsics spills every value to the stack (110 MB/s); as
 * assembly it runs at the CPU's speed in every build (1.5 GB/s here).
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_blocks_x86(uint32_t state[8], const uint8_t *blocks,
                                                                           size_t count) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1); /* CDAB */
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B); /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);                                     /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                           /* CDGH */
    for (; count > 0; count--, blocks += 64) {
        __asm__ volatile("movdqa %[abef], %%xmm1\n\t"
                         "movdqa %[cdgh], %%xmm2\n\t"
                         "movdqu 0(%[data]), " W0 "\n\t"
                         "pshufb %[mask], " W0 "\n\t"
                         "movdqu 16(%[data]), " W1 "\n\t"
                         "pshufb %[mask], " W1 "\n\t"
                         "movdqu 32(%[data]), " W2 "\n\t"
                         "pshufb %[mask], " W2 "\n\t"
                         "movdqu 48(%[data]), " W3 "\n\t"
                         "pshufb %[mask], " W3 "\n\t"                                   /* */
                         ASM_ROUNDS(W0, 0) ASM_SCHEDULE(W0, W1, W2, W3)                  /* rounds 0-3 */
                         ASM_ROUNDS(W1, 1) ASM_SCHEDULE(W1, W2, W3, W0)                  /* 4-7 */
                         ASM_ROUNDS(W2, 2) ASM_SCHEDULE(W2, W3, W0, W1)                  /* 8-11 */
                         ASM_ROUNDS(W3, 3) ASM_SCHEDULE(W3, W0, W1, W2)                  /* 12-15 */
                         ASM_ROUNDS(W0, 4) ASM_SCHEDULE(W0, W1, W2, W3)                  /* 16-19 */
                         ASM_ROUNDS(W1, 5) ASM_SCHEDULE(W1, W2, W3, W0)                  /* 20-23 */
                         ASM_ROUNDS(W2, 6) ASM_SCHEDULE(W2, W3, W0, W1)                  /* 24-27 */
                         ASM_ROUNDS(W3, 7) ASM_SCHEDULE(W3, W0, W1, W2)                  /* 28-31 */
                         ASM_ROUNDS(W0, 8) ASM_SCHEDULE(W0, W1, W2, W3)                  /* 32-35 */
                         ASM_ROUNDS(W1, 9) ASM_SCHEDULE(W1, W2, W3, W0)                  /* 36-39 */
                         ASM_ROUNDS(W2, 10) ASM_SCHEDULE(W2, W3, W0, W1)                 /* 40-43 */
                         ASM_ROUNDS(W3, 11) ASM_SCHEDULE(W3, W0, W1, W2)                 /* 44-47 */
                         ASM_ROUNDS(W0, 12) ASM_ROUNDS(W1, 13) ASM_ROUNDS(W2, 14) ASM_ROUNDS(W3, 15) /* 48-63 */
                         "paddd %%xmm1, %[abef]\n\t"
                         "paddd %%xmm2, %[cdgh]\n\t"
                         : [abef] "+x"(state0), [cdgh] "+x"(state1)
                         : [data] "r"(blocks), [k] "r"(round_constants), [mask] "x"(byteswap)
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory");
    }
    tmp = _mm_shuffle_epi32(state0, 0x1B);       /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);    /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* DCBA */
    state1 = _mm_alignr_epi8(state1, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
}
#endif

void cmk_sha256_blocks(uint32_t state[8], const uint8_t *blocks, size_t count) {
#if defined(__x86_64__)
    if (has_sha_extensions()) {
        sha256_blocks_x86(state, blocks, count);
        return;
    }
#endif
    sha256_blocks_portable(state, blocks, count);
}

void cmk_sha256_blocks_portable(uint32_t state[8], const uint8_t *blocks, size_t count) {
    sha256_blocks_portable(state, blocks, count);
}
