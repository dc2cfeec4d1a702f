/*
 * A provider in plain C that the tests build with `cc`, in variants chosen by -D flags, to
 * exercise the host: a good provider, and each way a library can be broken.
 *
 *   -DTEST_NAME='"cstub"'      provider name (default "cstub")
 *   -DTEST_ABI_VERSION=99      claim an ABI version the host does not know
 *   -DTEST_STRUCT_SIZE=16      claim a descriptor smaller than version 1 needs
 *   -DTEST_NO_ENTRY            export no cmk_provider_entry
 *   -DTEST_UNDEFINED           reference a symbol no library defines (fails under RTLD_NOW)
 *   -DTEST_ABORT               abort() when asked for status
 *   -DTEST_HANG                never reply to status
 *   -DTEST_DETECT_SILENT       never reply to detect (return from call without a reply)
 *   -DTEST_DEPENDENCY          report, as status, a string from a private library linked beside it
 *                              (cmk_test_dependency_value, found through the provider's $ORIGIN)
 *
 * Status checks follow the CSTUB_STATE environment variable ("ok" by default,
 * "action-required", "warning", "unknown") so one library covers every exit status.
 * Detection: strong when /sys/class/dmi/id/sys_vendor is "Stub Cloud".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmk_plugin.h"

#ifndef TEST_NAME
#define TEST_NAME "cstub"
#endif
#ifndef TEST_ABI_VERSION
#define TEST_ABI_VERSION CMK_PLUGIN_ABI_VERSION
#endif
#ifndef TEST_STRUCT_SIZE
#define TEST_STRUCT_SIZE sizeof(cmk_provider)
#endif

#ifdef TEST_UNDEFINED
extern void cmk_test_symbol_that_does_not_exist(void);
#endif
#ifdef TEST_DEPENDENCY
extern const char *cmk_test_dependency_value(void);
#endif

static void reply_text(void *context, cmk_reply_fn reply, const char *text) {
    reply(context, text, strlen(text));
}

static void handle(const char *request, size_t length, void *context, cmk_reply_fn reply) {
    /* The request is not NUL-terminated: copy it before using string functions. */
    char *copy = malloc(length + 1);
    if (copy == NULL) return;
    memcpy(copy, request, length);
    copy[length] = '\0';
#ifdef TEST_UNDEFINED
    cmk_test_symbol_that_does_not_exist();
#endif
    if (strstr(copy, "\"op\":\"detect\"") != NULL) {
#ifdef TEST_DETECT_SILENT
        free(copy);
        return; /* never answers detection: the host's deadline must end the wait */
#endif
        if (strstr(copy, "\"\\/sys\\/class\\/dmi\\/id\\/sys_vendor\":\"Stub Cloud") != NULL ||
            strstr(copy, "\"/sys/class/dmi/id/sys_vendor\":\"Stub Cloud") != NULL) {
            reply_text(context, reply,
                       "{\"strength\":\"strong\",\"platform\":\"Stub Cloud\","
                       "\"evidence\":[\"/sys/class/dmi/id/sys_vendor = \\\"Stub Cloud\\\"\"],"
                       "\"rejected\":[],\"details\":{}}");
        } else {
            reply_text(context, reply,
                       "{\"strength\":\"none\",\"evidence\":[],\"rejected\":[\"no Stub Cloud signal\"],\"details\":{}}");
        }
    } else if (strstr(copy, "\"op\":\"status\"") != NULL) {
#ifdef TEST_ABORT
        abort();
#endif
#ifdef TEST_HANG
        free(copy);
        return;
#endif
#ifdef TEST_EXIT
        exit(0); /* ends the whole process, host included, when loaded in process */
#endif
#ifdef TEST_ESCAPES
        /* A summary that would set the title, clear the screen and fake a verdict if printed raw. */
        reply_text(context, reply,
                   "{\"checks\":[{\"id\":\"stub-step\",\"state\":\"ok\",\"summary\":"
                   "\"\\u001b]0;owned\\u0007\\u001b[2J\\u001b[32mReady: all set\\u001b[0m\\r"
                   /* cmk's own colour marks, forged: a clear screen, and a stray start. */
                   " \\uf8f02J\\uf8f1 \\uf8f0\"}]}");
        free(copy);
        return;
#endif
#ifdef TEST_DEPENDENCY
        char answer[256];
        snprintf(answer, sizeof answer,
                 "{\"checks\":[{\"id\":\"stub-dependency\",\"state\":\"ok\",\"summary\":\"The dependency says %s.\"}]}",
                 cmk_test_dependency_value());
        reply_text(context, reply, answer);
        free(copy);
        return;
#endif
        const char *state = getenv("CSTUB_STATE");
        if (state == NULL || (strcmp(state, "action-required") != 0 && strcmp(state, "unknown") != 0 &&
                              strcmp(state, "warning") != 0))
            state = "ok";
        char buffer[512];
        snprintf(buffer, sizeof buffer,
                 "{\"checks\":[{\"id\":\"stub-step\",\"state\":\"%s\",\"summary\":\"The stub step is %s.\","
                 "\"remediation\":\"Run the stub fix.\"},"
                 "{\"id\":\"stub-reminder\",\"state\":\"manual\",\"summary\":\"A reminder.\"}]}",
                 state, state);
        reply_text(context, reply, buffer);
    } else {
        reply_text(context, reply, "{\"error\":{\"code\":\"unsupported\",\"message\":\"cstub does not answer this\"}}");
    }
    free(copy);
}

static const cmk_provider descriptor = {
    .abi_version = TEST_ABI_VERSION,
    .struct_size = TEST_STRUCT_SIZE,
    .name = TEST_NAME,
    .version = "0.0.1",
    .description = "test provider written in C",
    .call = handle,
};

#ifndef TEST_NO_ENTRY
const cmk_provider *cmk_provider_entry(void) { return &descriptor; }
#else
const cmk_provider *not_the_entry_point(void) { return &descriptor; }
#endif
