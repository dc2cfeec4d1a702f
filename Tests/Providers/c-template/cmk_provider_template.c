/*
 * cmk_provider_template.c: a complete cmk provider in plain C, to copy and adapt.
 *
 * Build (from the repository root; the README beside this file says more):
 *   cc -shared -fPIC -O2 -I Sources/CMKPluginABI/include -o libcmk-provider-ctemplate.so \
 *      Tests/Providers/c-template/cmk_provider_template.c
 * Check it:
 *   cmk providers verify ./libcmk-provider-ctemplate.so
 * Use it:
 *   CMK_PLUGIN_PATH=$PWD cmk providers
 *
 * What it does, as the fictional "Template Cloud":
 *   describe  declares one option, --key-id (or CMK_CTEMPLATE_KEY_ID);
 *   detect    strong when /sys/class/dmi/id/sys_vendor is "Template Cloud", with the evidence;
 *   status    two checks: the key id (action-required until it is given) and a manual reminder;
 *   anything else, or a request that is not a complete JSON object: {"error": {...}}.
 *
 * The contract (docs/plugin-abi.md): export `cmk_provider_entry`, returning a static descriptor;
 * `call` may run on several threads at once, must copy what it keeps of the request, and must
 * call `reply` exactly once per request, before returning or later from any thread. This file
 * keeps no mutable global state, so it is thread-safe without a lock.
 */
#include "cmk_plugin.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The DMI value that identifies the platform (a real cloud's is documented by its vendor). */
#define TEMPLATE_SYS_VENDOR "Template Cloud"
#define SYS_VENDOR_PATH "/sys/class/dmi/id/sys_vendor"

/* ------------------------------------------------------------------------------------------ */
/* Reading requests.                                                                           */
/*                                                                                             */
/* A template-sized JSON reader, not a parser: it checks that the request is one balanced      */
/* object, then finds a field by searching for its key at a given nesting depth and decoding   */
/* the string after it. That is enough for the few flat fields a provider reads ("op", an      */
/* option, a DMI file). A provider that reads more should use a real JSON parser.              */
/* ------------------------------------------------------------------------------------------ */

static const char *skip_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Appends the UTF-8 encoding of `code` to out[*n] if it fits (cap keeps room for the NUL). */
static void put_utf8(unsigned code, char *out, size_t cap, size_t *n) {
    char bytes[3];
    size_t count;
    if (code < 0x80) {
        bytes[0] = (char)code;
        count = 1;
    } else if (code < 0x800) {
        bytes[0] = (char)(0xC0 | (code >> 6));
        bytes[1] = (char)(0x80 | (code & 0x3F));
        count = 2;
    } else {
        bytes[0] = (char)(0xE0 | (code >> 12));
        bytes[1] = (char)(0x80 | ((code >> 6) & 0x3F));
        bytes[2] = (char)(0x80 | (code & 0x3F));
        count = 3;
    }
    for (size_t i = 0; i < count && *n + 1 < cap; i++) out[(*n)++] = bytes[i];
}

/*
 * Decodes the JSON string that starts at `p` (on its opening quote) into `out`, NUL-terminated
 * and cut to `cap - 1` bytes. Returns the position after the closing quote, or NULL when the
 * string is malformed. `out` may be NULL to skip a string. Surrogate pairs become U+FFFD.
 */
static const char *read_string(const char *p, const char *end, char *out, size_t cap) {
    size_t n = 0;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            if (out) out[n] = '\0';
            return p + 1;
        }
        if (c < 0x20) return NULL; /* a raw control character is not allowed in JSON */
        if (c != '\\') {
            if (out && n + 1 < cap) out[n++] = (char)c;
            continue;
        }
        if (++p >= end) return NULL;
        unsigned code;
        switch (*p) {
        case '"': code = '"'; break;
        case '\\': code = '\\'; break;
        case '/': code = '/'; break; /* encoders may write "\/" for "/" */
        case 'b': code = '\b'; break;
        case 'f': code = '\f'; break;
        case 'n': code = '\n'; break;
        case 'r': code = '\r'; break;
        case 't': code = '\t'; break;
        case 'u':
            if (end - p < 5) return NULL;
            code = 0;
            for (int i = 1; i <= 4; i++) {
                char h = p[i];
                code <<= 4;
                if (h >= '0' && h <= '9') code |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f') code |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') code |= (unsigned)(h - 'A' + 10);
                else return NULL;
            }
            p += 4;
            if (code >= 0xD800 && code <= 0xDFFF) code = 0xFFFD;
            break;
        default: return NULL;
        }
        if (out) put_utf8(code, out, cap, &n);
    }
    return NULL;
}

/* Whether the request is exactly one JSON object with balanced brackets and closed strings. */
static int is_complete_object(const char *json, size_t length) {
    const char *end = json + length;
    const char *p = skip_space(json, end);
    if (p == end || *p != '{') return 0;
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = read_string(p, end, NULL, 0);
            if (!p) return 0;
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        if (*p == '}' || *p == ']') {
            if (--depth < 0) return 0;
            if (depth == 0) return skip_space(p + 1, end) == end;
        }
        p++;
    }
    return 0;
}

/*
 * Finds `"key": "value"` where the key sits at `depth` (1 = the request object itself, 2 = an
 * object inside it, ...) and copies the decoded value to `out`. Returns 1 when found with a
 * string value, 0 otherwise (absent, null, or not a string).
 */
static int find_string(const char *json, size_t length, const char *key, int depth, char *out, size_t cap) {
    const char *end = json + length;
    const char *p = json;
    int level = 0;
    char token[256];
    while (p < end) {
        if (*p == '{' || *p == '[') {
            level++;
        } else if (*p == '}' || *p == ']') {
            level--;
        } else if (*p == '"') {
            const char *after = read_string(p, end, token, sizeof token);
            if (!after) return 0;
            const char *colon = skip_space(after, end);
            if (level == depth && colon < end && *colon == ':' && strcmp(token, key) == 0) {
                const char *value = skip_space(colon + 1, end);
                return value < end && *value == '"' && read_string(value, end, out, cap) != NULL;
            }
            p = after;
            continue;
        }
        p++;
    }
    return 0;
}

/* Removes leading and trailing whitespace in place: sysfs files end with a newline. */
static char *trim(char *text) {
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') text++;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' || text[n - 1] == '\r')) {
        text[--n] = '\0';
    }
    return text;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing replies: a growable buffer and a JSON string writer that escapes what it copies.    */
/* Anything that came from the request or the machine (a DMI value, an option) must go through */
/* put_string, never be pasted between quotes.                                                 */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    int failed; /* an allocation failed: reply with a fixed error instead */
} buffer;

static void put_bytes(buffer *b, const char *bytes, size_t count) {
    if (b->failed) return;
    if (b->length + count > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (capacity < b->length + count) capacity *= 2;
        char *grown = realloc(b->data, capacity);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, bytes, count);
    b->length += count;
}

/* Raw JSON text written by this file (punctuation, keys, constant values). */
static void put_raw(buffer *b, const char *json) { put_bytes(b, json, strlen(json)); }

/* A JSON string: quotes around `text`, with quotes, backslashes and control characters escaped. */
static void put_string(buffer *b, const char *text) {
    static const char hex[] = "0123456789abcdef";
    put_raw(b, "\"");
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        switch (*p) {
        case '"': put_raw(b, "\\\""); break;
        case '\\': put_raw(b, "\\\\"); break;
        case '\n': put_raw(b, "\\n"); break;
        case '\r': put_raw(b, "\\r"); break;
        case '\t': put_raw(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                char escaped[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xF]};
                put_bytes(b, escaped, sizeof escaped);
            } else {
                put_bytes(b, (const char *)p, 1);
            }
        }
    }
    put_raw(b, "\"");
}

/* Hands the reply to the host (which copies it) and frees the buffer: exactly one reply. */
static void send_reply(buffer *b, void *host_context, cmk_reply_fn reply) {
    static const char out_of_memory[] = "{\"error\":{\"code\":\"failed\",\"message\":\"ctemplate: out of memory\"}}";
    if (b->failed || !b->data) {
        reply(host_context, out_of_memory, sizeof out_of_memory - 1);
    } else {
        reply(host_context, b->data, b->length);
    }
    free(b->data);
}

/* {"error": {"code": ..., "message": ...}}: the reply to anything the provider cannot answer. */
static void send_error(const char *code, const char *message, void *host_context, cmk_reply_fn reply) {
    buffer b = {0};
    put_raw(&b, "{\"error\":{\"code\":");
    put_string(&b, code);
    put_raw(&b, ",\"message\":");
    put_string(&b, message);
    put_raw(&b, "}}");
    send_reply(&b, host_context, reply);
}

/* ------------------------------------------------------------------------------------------ */
/* The operations.                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* {"op":"describe"} -> the options `cmk status` offers as --<name>, resolved by the host. */
static void answer_describe(void *host_context, cmk_reply_fn reply) {
    buffer b = {0};
    put_raw(&b, "{\"options\":[{\"name\":\"key-id\",\"environment\":\"CMK_CTEMPLATE_KEY_ID\","
                "\"valueName\":\"ID\","
                "\"help\":\"The Template Cloud key that encrypts the vendor's copy of the data\"}]}");
    send_reply(&b, host_context, reply);
}

/*
 * {"op":"detect","probe":false,"snapshot":{"environment":{...},"files":{path: content}}}
 * -> {"strength","platform"?,"evidence":[],"rejected":[],"details":{}}
 * Local signals only, so it answers at once off-platform. A real provider may confirm a strong
 * hit over the network (through CMK_ENDPOINT_OVERRIDE from snapshot.environment in tests).
 */
static void answer_detect(const char *request, size_t length, void *host_context, cmk_reply_fn reply) {
    char raw[512];
    buffer b = {0};
    /* Depth 3: the request object, then "snapshot", then "files". */
    if (!find_string(request, length, SYS_VENDOR_PATH, 3, raw, sizeof raw)) {
        put_raw(&b, "{\"strength\":\"none\",\"evidence\":[],\"rejected\":[");
        put_string(&b, "no " SYS_VENDOR_PATH " (containers often have no DMI)");
        put_raw(&b, "],\"details\":{}}");
    } else {
        const char *vendor = trim(raw);
        if (strcmp(vendor, TEMPLATE_SYS_VENDOR) == 0) {
            put_raw(&b, "{\"strength\":\"strong\",\"platform\":\"Template Cloud\",\"evidence\":[");
            put_string(&b, SYS_VENDOR_PATH " = \"" TEMPLATE_SYS_VENDOR "\"");
            put_raw(&b, "],\"rejected\":[],\"details\":{}}");
        } else {
            /* The value comes from the machine: build the sentence, then escape it as a whole. */
            char line[700];
            size_t n = 0;
            const char *parts[] = {SYS_VENDOR_PATH " is \"", vendor, "\", not \"" TEMPLATE_SYS_VENDOR "\""};
            for (size_t i = 0; i < 3; i++) {
                for (const char *c = parts[i]; *c && n + 1 < sizeof line; c++) line[n++] = *c;
            }
            line[n] = '\0';
            put_raw(&b, "{\"strength\":\"none\",\"evidence\":[],\"rejected\":[");
            put_string(&b, line);
            put_raw(&b, "],\"details\":{}}");
        }
    }
    send_reply(&b, host_context, reply);
}

/*
 * {"op":"status","platform":{...}|null,"options":{"key-id":"..."},"deadlineMilliseconds":N}
 * -> {"checks":[{"id","state","summary","remediation"?,"evidence"?}]}
 * States: ok, action-required (needs a remediation), warning, manual, unknown, not-applicable.
 */
static void answer_status(const char *request, size_t length, void *host_context, cmk_reply_fn reply) {
    char key_id[256];
    buffer b = {0};
    put_raw(&b, "{\"checks\":[");
    /* Depth 2: the request object, then "options". */
    if (find_string(request, length, "key-id", 2, key_id, sizeof key_id) && *trim(key_id)) {
        put_raw(&b, "{\"id\":\"key-id\",\"state\":\"ok\",\"summary\":");
        put_string(&b, "A Template Cloud key is configured.");
        put_raw(&b, ",\"evidence\":[");
        put_string(&b, trim(key_id)); /* user input: escaped */
        put_raw(&b, "]}");
    } else {
        put_raw(&b, "{\"id\":\"key-id\",\"state\":\"action-required\",\"summary\":");
        put_string(&b, "No Template Cloud key is configured.");
        put_raw(&b, ",\"remediation\":");
        put_string(&b, "Pass --key-id <ID>, set CMK_CTEMPLATE_KEY_ID, or add 'key-id = <ID>' under [ctemplate] "
                       "in ~/.config/cmk/config.");
        put_raw(&b, "}");
    }
    put_raw(&b, ",{\"id\":\"vendor-confirmation\",\"state\":\"manual\",\"summary\":");
    put_string(&b, "The vendor confirms when customer-managed keys are applied; no API can tell.");
    put_raw(&b, ",\"remediation\":");
    put_string(&b, "Open a support ticket with the key id and wait for the vendor's confirmation.");
    put_raw(&b, "}]}");
    send_reply(&b, host_context, reply);
}

/* ------------------------------------------------------------------------------------------ */
/* Slow work on another thread.                                                                */
/*                                                                                             */
/* `call` should return quickly. Status is where a real provider makes network calls, so this  */
/* template answers it from a detached thread, to show the pattern: copy the request (the      */
/* host's buffer is valid only until `call` returns), reply from the thread, free the copy.    */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    char *request;
    size_t length;
    void *host_context;
    cmk_reply_fn reply;
} status_job;

static void *status_worker(void *argument) {
    status_job *job = argument;
    answer_status(job->request, job->length, job->host_context, job->reply);
    free(job->request);
    free(job);
    return NULL;
}

static void start_status(const char *request, size_t length, void *host_context, cmk_reply_fn reply) {
    status_job *job = malloc(sizeof *job);
    char *copy = malloc(length ? length : 1);
    if (job && copy) {
        memcpy(copy, request, length);
        *job = (status_job){copy, length, host_context, reply};
        pthread_attr_t attributes;
        pthread_t thread;
        if (pthread_attr_init(&attributes) == 0) {
            pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
            int started = pthread_create(&thread, &attributes, status_worker, job) == 0;
            pthread_attr_destroy(&attributes);
            if (started) return; /* the worker replies and frees */
        }
    }
    free(job);
    free(copy);
    /* No thread (or no memory for the copy): answer here; the request is still valid. */
    answer_status(request, length, host_context, reply);
}

/* ------------------------------------------------------------------------------------------ */
/* The ABI: one entry point, one static descriptor.                                            */
/* ------------------------------------------------------------------------------------------ */

static void provider_call(const char *request, size_t length, void *host_context, cmk_reply_fn reply) {
    if (!reply) return; /* nowhere to answer */
    if (!request || !is_complete_object(request, length)) {
        send_error("bad-request", "ctemplate: the request is not a complete JSON object", host_context, reply);
        return;
    }
    char op[64];
    if (!find_string(request, length, "op", 1, op, sizeof op)) {
        send_error("bad-request", "ctemplate: the request has no \"op\"", host_context, reply);
    } else if (strcmp(op, "describe") == 0) {
        answer_describe(host_context, reply);
    } else if (strcmp(op, "detect") == 0) {
        answer_detect(request, length, host_context, reply);
    } else if (strcmp(op, "status") == 0) {
        start_status(request, length, host_context, reply);
    } else if (strcmp(op, "ticket") == 0) {
        send_error("unsupported", "ctemplate: Template Cloud needs no support ticket", host_context, reply);
    } else {
        char message[128] = "ctemplate: unknown operation '";
        strncat(message, op, sizeof message - strlen(message) - 2);
        strcat(message, "'");
        send_error("bad-request", message, host_context, reply); /* send_error escapes the op */
    }
}

/* Static storage, immutable: the host reads it from any thread for the life of the process. */
static const cmk_provider descriptor = {
    .abi_version = CMK_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(cmk_provider), /* lets a newer host know which fields this build has */
    .name = "ctemplate",
    .version = "1.0.0",
    .description = "Template Cloud: a provider written in plain C, to copy (Tests/Providers/c-template)",
    .call = provider_call,
};

/* The one exported symbol. Keep initialisation out of it: it is called once, and must not fail. */
__attribute__((visibility("default"))) const cmk_provider *cmk_provider_entry(void) { return &descriptor; }
