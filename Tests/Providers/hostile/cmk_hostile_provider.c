/*
 * A hostile provider in plain C, for Tests/CMKTests/HostilePluginTests.swift: each way a
 * provider can misbehave against its host, chosen at run time by the HOSTILE_MODE environment
 * variable and played when the host asks for `status` (describe and detect answer normally):
 *
 *   crash              a SIGSEGV (a write through NULL)
 *   exit0              exit(0) in the middle of the call
 *   fork-holds-stdout  forks a child that keeps stdout and stderr open and sleeps; then replies
 *   close-stdio-hang   closes stdin, stdout and stderr and never replies
 *   setsid-grandchild  a grandchild in a session of its own (setsid, double fork) that keeps
 *                      stdout open and sleeps; never replies
 *   invalid-utf8       a reply whose summary holds the bytes FF FE
 *   huge               a reply of 100 MB (valid JSON)
 *   (unset)            a well-formed ok report
 *
 * HOSTILE_PIDFILE, when set, gets one line per process that plays the mode (the one answering
 * status, and each child it leaves behind), so that tests can tell whether they survived.
 * HOSTILE_SLEEP: how long left-behind processes sleep (default 30 s, so a leak ends by itself).
 *
 * Built with -DHOSTILE_CONSTRUCTOR_MARKER, the library writes the file named by HOSTILE_MARKER
 * from a constructor, that is inside dlopen, before the host could call anything: the "evil"
 * library of the file-swap test, whose marker proves its code ran.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmk_plugin.h"

#ifndef HOSTILE_NAME
#define HOSTILE_NAME "hostile"
#endif

#ifdef HOSTILE_CONSTRUCTOR_MARKER
__attribute__((constructor)) static void mark_that_this_ran(void) {
    const char *marker = getenv("HOSTILE_MARKER");
    if (marker == NULL) return;
    int fd = open(marker, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (n > 0) (void)!write(fd, line, (size_t)n);
    close(fd);
}
#endif

static void reply_text(void *context, cmk_reply_fn reply, const char *text) { reply(context, text, strlen(text)); }

/* Appends this process's pid to HOSTILE_PIDFILE. */
static void record_pid(void) {
    const char *path = getenv("HOSTILE_PIDFILE");
    if (path == NULL) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (n > 0) (void)!write(fd, line, (size_t)n);
    close(fd);
}

static unsigned sleep_seconds(void) {
    const char *text = getenv("HOSTILE_SLEEP");
    return text != NULL ? (unsigned)atoi(text) : 30;
}

static const char *ok_report =
    "{\"checks\":[{\"id\":\"hostile-step\",\"state\":\"ok\",\"summary\":\"The hostile step is ok.\"}]}";

static void status(void *context, cmk_reply_fn reply) {
    const char *mode = getenv("HOSTILE_MODE");
    if (mode == NULL) mode = "";
    if (strcmp(mode, "crash") == 0) {
        record_pid();
        *(volatile int *)0 = 1;
    } else if (strcmp(mode, "exit0") == 0) {
        record_pid();
        exit(0);
    } else if (strcmp(mode, "fork-holds-stdout") == 0) {
        record_pid();
        pid_t child = fork();
        if (child == 0) {
            record_pid();
            sleep(sleep_seconds());
            _exit(0);
        }
        reply_text(context, reply, ok_report);
        return;
    } else if (strcmp(mode, "close-stdio-hang") == 0) {
        record_pid();
        close(0);
        close(1);
        close(2);
        return; /* no reply, ever */
    } else if (strcmp(mode, "setsid-grandchild") == 0) {
        record_pid();
        pid_t child = fork();
        if (child == 0) {
            setsid();
            if (fork() == 0) {
                record_pid();
                sleep(sleep_seconds());
                _exit(0);
            }
            _exit(0);
        }
        if (child > 0) waitpid(child, NULL, 0);
        return; /* no reply, ever */
    } else if (strcmp(mode, "invalid-utf8") == 0) {
        reply_text(context, reply,
                   "{\"checks\":[{\"id\":\"hostile-step\",\"state\":\"ok\",\"summary\":\"bad \xff\xfe bytes\"}]}");
        return;
    } else if (strcmp(mode, "deep") == 0) {
        /* 513 '[': FoundationEssentials' JSONDecoder traps on this instead of throwing. */
        char text[514];
        memset(text, '[', 513);
        text[513] = '\0';
        reply_text(context, reply, text);
        return;
    } else if (strcmp(mode, "huge") == 0) {
        const size_t size = 100u * 1000u * 1000u;
        const char *head = "{\"checks\":[{\"id\":\"hostile-step\",\"state\":\"ok\",\"summary\":\"";
        const char *tail = "\"}]}";
        char *text = malloc(size);
        if (text == NULL) {
            reply_text(context, reply, "{\"error\":{\"code\":\"failed\",\"message\":\"out of memory\"}}");
            return;
        }
        memset(text, 'A', size);
        memcpy(text, head, strlen(head));
        memcpy(text + size - strlen(tail), tail, strlen(tail));
        reply(context, text, size);
        free(text);
        return;
    }
    reply_text(context, reply, ok_report);
}

static void handle(const char *request, size_t length, void *context, cmk_reply_fn reply) {
    char *copy = malloc(length + 1);
    if (copy == NULL) return;
    memcpy(copy, request, length);
    copy[length] = '\0';
    if (strstr(copy, "\"op\":\"status\"") != NULL) {
        free(copy);
        status(context, reply);
        return;
    }
    if (strstr(copy, "\"op\":\"detect\"") != NULL) {
        reply_text(context, reply, "{\"strength\":\"none\",\"evidence\":[],\"rejected\":[],\"details\":{}}");
    } else if (strstr(copy, "\"op\":\"describe\"") != NULL) {
        reply_text(context, reply, "{\"options\":[]}");
    } else {
        reply_text(context, reply, "{\"error\":{\"code\":\"unsupported\",\"message\":\"hostile does not answer this\"}}");
    }
    free(copy);
}

static const cmk_provider descriptor = {
    .abi_version = CMK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(cmk_provider),
    .name = HOSTILE_NAME,
    .version = "0.0.1",
    .description = "a provider that misbehaves on purpose (tests only)",
    .call = handle,
};

const cmk_provider *cmk_provider_entry(void) { return &descriptor; }
