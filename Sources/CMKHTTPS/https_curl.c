/*
 * libcmk-https.so: cmk's https transport, C over the system's libcurl.
 *
 * Why C and libcurl rather than URLSession: URLSession brings the whole of Foundation into the
 * process (about 3x the start-up cost and 26-31 MB resident), rounds timeouts down to whole
 * seconds, and cannot be told to ignore the proxy variables for one request. libcurl is already
 * a run-time requirement of the Swift toolchain on Linux (FoundationNetworking links it), so
 * opening it with dlopen adds no dependency, and it needs no headers at build time: the few
 * constants used below are libcurl's stable ABI values (checked against curl 7.88's curl.h).
 * The comparison is measured in docs/benchmarks.md.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk_https_transport.h"

/* ---- libcurl's ABI: option and info numbers from curl.h (stable since they were added) ---- */

typedef void CURL;
typedef void CURLSH;
struct curl_slist;

enum {
    OPT_WRITEDATA = 10001,
    OPT_URL = 10002,
    OPT_PROXY = 10004,
    OPT_ERRORBUFFER = 10010,
    OPT_WRITEFUNCTION = 20011,
    OPT_POSTFIELDS = 10015,
    OPT_HTTPHEADER = 10023,
    OPT_HEADERDATA = 10029,
    OPT_CUSTOMREQUEST = 10036,
    OPT_NOPROGRESS = 43,
    OPT_NOBODY = 44,
    OPT_FOLLOWLOCATION = 52,
    OPT_SSL_VERIFYPEER = 64,
    OPT_CAINFO = 10065,
    OPT_HEADERFUNCTION = 20079,
    OPT_HTTPGET = 80,
    OPT_SSL_VERIFYHOST = 81,
    OPT_HTTP_VERSION = 84,
    OPT_CAPATH = 10097,
    OPT_NOSIGNAL = 99,
    OPT_SHARE = 10100,
    OPT_TIMEOUT_MS = 155,
    OPT_CONNECTTIMEOUT_MS = 156,
    OPT_NOPROXY = 10177,
    OPT_PROXY_CAINFO = 10246,
    OPT_PROXY_CAPATH = 10247,
    OPT_PROXY_SSL_VERIFYPEER = 248,
    OPT_SUPPRESS_CONNECT_HEADERS = 265,
    OPT_POSTFIELDSIZE_LARGE = 30120,
    OPT_PROTOCOLS_STR = 10318,
    OPT_REDIR_PROTOCOLS_STR = 10319,
};

enum {
    INFO_RESPONSE_CODE = 0x200000 + 2,
    INFO_HTTP_CONNECTCODE = 0x200000 + 22,
    INFO_NUM_CONNECTS = 0x200000 + 26,
    INFO_HTTP_VERSION = 0x200000 + 46,
};

enum {
    E_OK = 0,
    E_UNSUPPORTED_PROTOCOL = 1,
    E_URL_MALFORMAT = 3,
    E_COULDNT_RESOLVE_PROXY = 5,
    E_COULDNT_RESOLVE_HOST = 6,
    E_COULDNT_CONNECT = 7,
    E_WRITE_ERROR = 23,
    E_OPERATION_TIMEDOUT = 28,
    E_SSL_CONNECT_ERROR = 35,
    E_PEER_FAILED_VERIFICATION = 60,
    E_SSL_CACERT_BADFILE = 77,
    E_SSL_ISSUER_ERROR = 83,
    E_PROXY = 97,
};

enum { SHOPT_SHARE = 1, SHOPT_LOCKFUNC = 3, SHOPT_UNLOCKFUNC = 4 };
enum { LOCK_DATA_DNS = 3, LOCK_DATA_SSL_SESSION = 4, LOCK_DATA_CONNECT = 5, LOCK_DATA_COUNT = 9 };
enum { HTTP_VERSION_2TLS = 4, GLOBAL_DEFAULT = 3, ERROR_SIZE = 256 };

typedef size_t (*data_fn)(char *, size_t, size_t, void *);
typedef void (*lock_fn)(CURL *, int, int, void *);
typedef void (*unlock_fn)(CURL *, int, void *);

static struct {
    int (*global_init)(long);
    CURL *(*easy_init)(void);
    int (*easy_setopt)(CURL *, int, ...);
    int (*easy_perform)(CURL *);
    int (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(int);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLSH *(*share_init)(void);
    int (*share_setopt)(CURLSH *, int, ...);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[512];
static CURLSH *share;
static pthread_mutex_t share_locks[LOCK_DATA_COUNT];

static void share_lock(CURL *handle, int data, int access, void *user) {
    (void)handle; (void)access; (void)user;
    if (data >= 0 && data < LOCK_DATA_COUNT) pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, int data, void *user) {
    (void)handle; (void)user;
    if (data >= 0 && data < LOCK_DATA_COUNT) pthread_mutex_unlock(&share_locks[data]);
}

#define BIND(field, name)                                                                         \
    do {                                                                                          \
        *(void **)(&curl.field) = dlsym(library, name);                                           \
        if (curl.field == NULL) {                                                                 \
            snprintf(load_error, sizeof load_error, "libcurl.so.4 has no symbol %s", name);       \
            return;                                                                               \
        }                                                                                         \
    } while (0)

static void load_curl(void) {
    void *library = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error,
                 "https needs the system's libcurl (libcurl.so.4; Debian and Ubuntu: package libcurl4): %s",
                 reason ? reason : "dlopen failed");
        return;
    }
    // A run ends at its deadline while requests may still be in a TLS handshake on their threads.
    // OpenSSL's atexit cleanup would then free what those threads use, and the process dies in
    // exit() (SIGSEGV, seen with --isolate against a stalled server): ask OpenSSL, before libcurl
    // initialises it, not to register that cleanup. The process is ending; the OS frees it all.
    void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_NOLOAD);
    if (crypto != NULL) {
        int (*init_crypto)(uint64_t, const void *) = NULL;
        *(void **)(&init_crypto) = dlsym(crypto, "OPENSSL_init_crypto");
        if (init_crypto != NULL) init_crypto(0x00080000ULL /* OPENSSL_INIT_NO_ATEXIT */, NULL);
    }
    BIND(global_init, "curl_global_init");
    BIND(easy_init, "curl_easy_init");
    BIND(easy_setopt, "curl_easy_setopt");
    BIND(easy_perform, "curl_easy_perform");
    BIND(easy_getinfo, "curl_easy_getinfo");
    BIND(easy_cleanup, "curl_easy_cleanup");
    BIND(easy_strerror, "curl_easy_strerror");
    BIND(slist_append, "curl_slist_append");
    BIND(slist_free_all, "curl_slist_free_all");
    BIND(share_init, "curl_share_init");
    BIND(share_setopt, "curl_share_setopt");
    if (curl.global_init(GLOBAL_DEFAULT) != E_OK) {
        snprintf(load_error, sizeof load_error, "libcurl failed to initialise");
        return;
    }
    // One cache of connections, DNS answers and TLS sessions for every request of the process,
    // so that the second call to a host skips the TCP and TLS set-up.
    for (int i = 0; i < LOCK_DATA_COUNT; i++) pthread_mutex_init(&share_locks[i], NULL);
    share = curl.share_init();
    if (share != NULL) {
        curl.share_setopt(share, SHOPT_LOCKFUNC, share_lock);
        curl.share_setopt(share, SHOPT_UNLOCKFUNC, share_unlock);
        curl.share_setopt(share, SHOPT_SHARE, (int)LOCK_DATA_DNS);
        curl.share_setopt(share, SHOPT_SHARE, (int)LOCK_DATA_SSL_SESSION);
        curl.share_setopt(share, SHOPT_SHARE, (int)LOCK_DATA_CONNECT);
    }
    load_error[0] = '\0';
}

/* ---- one request ---- */

typedef struct {
    char *bytes;
    size_t length;
    size_t capacity;
    size_t limit;
    int over_limit;
} buffer;

static int buffer_append(buffer *b, const char *data, size_t count) {
    if (count > b->limit || b->length > b->limit - count) {
        b->over_limit = 1;
        return 0;
    }
    if (b->length + count + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < b->length + count + 1) capacity *= 2;
        char *grown = realloc(b->bytes, capacity);
        if (grown == NULL) return 0;
        b->bytes = grown;
        b->capacity = capacity;
    }
    memcpy(b->bytes + b->length, data, count);
    b->length += count;
    b->bytes[b->length] = '\0';
    return 1;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    size_t total = size * count;
    return buffer_append(user, data, total) ? total : 0;
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
    buffer *headers = user;
    size_t total = size * count;
    // A new status line starts a new response (after 100 Continue): keep only the last one's.
    if (total >= 5 && memcmp(data, "HTTP/", 5) == 0) headers->length = 0;
    return buffer_append(headers, data, total) ? total : 0;
}

static void fail(cmk_https_reply_fn reply, void *context, int32_t error, const char *message) {
    cmk_https_reply outcome;
    memset(&outcome, 0, sizeof outcome);
    outcome.error = error;
    outcome.message = message;
    outcome.headers = "";
    reply(context, &outcome);
}

/* The host part of an https URL, for messages. */
static void url_host(const char *url, char *out, size_t size) {
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    size_t length = strcspn(start, "/?#");
    if (length >= size) length = size - 1;
    memcpy(out, start, length);
    out[length] = '\0';
}

static int32_t classify(int code, long connect_code, int body_over, int headers_over) {
    if (headers_over || body_over) return CMK_HTTPS_TOO_LARGE;
    if (connect_code >= 300) return CMK_HTTPS_PROXY_REFUSED;
    switch (code) {
    case E_OPERATION_TIMEDOUT: return CMK_HTTPS_TIMED_OUT;
    case E_COULDNT_RESOLVE_HOST:
    case E_COULDNT_RESOLVE_PROXY: return CMK_HTTPS_CANNOT_RESOLVE;
    case E_COULDNT_CONNECT: return CMK_HTTPS_CANNOT_CONNECT;
    case E_PEER_FAILED_VERIFICATION:
    case E_SSL_ISSUER_ERROR: return CMK_HTTPS_UNTRUSTED;
    case E_SSL_CONNECT_ERROR: return CMK_HTTPS_TLS_FAILED;
    case E_SSL_CACERT_BADFILE: return CMK_HTTPS_CA_BUNDLE;
    case E_PROXY: return CMK_HTTPS_PROXY_REFUSED;
    case E_UNSUPPORTED_PROTOCOL:
    case E_URL_MALFORMAT: return CMK_HTTPS_BAD_REQUEST;
    default: return CMK_HTTPS_FAILED;
    }
}

__attribute__((visibility("default"))) void cmk_https_perform_v2(const cmk_https_request *request, void *context,
                                                                 cmk_https_reply_fn reply) {
    if (reply == NULL) return;
    if (request == NULL || request->abi_version != CMK_HTTPS_ABI_VERSION ||
        request->struct_size < sizeof(cmk_https_request) || request->url == NULL || request->method == NULL) {
        fail(reply, context, CMK_HTTPS_BAD_REQUEST, "the https transport was given a request it does not understand");
        return;
    }
    if (strncmp(request->url, "https://", 8) != 0) {
        fail(reply, context, CMK_HTTPS_BAD_REQUEST, "the https transport only sends https URLs");
        return;
    }
    pthread_once(&load_once, load_curl);
    if (load_error[0] != '\0') {
        fail(reply, context, CMK_HTTPS_UNAVAILABLE, load_error);
        return;
    }
    CURL *easy = curl.easy_init();
    if (easy == NULL) {
        fail(reply, context, CMK_HTTPS_FAILED, "libcurl could not create a request (out of memory?)");
        return;
    }
    char error_text[ERROR_SIZE] = "";
    buffer body = {.limit = request->max_body_bytes ? request->max_body_bytes : 16u << 20};
    buffer headers = {.limit = request->max_header_bytes ? request->max_header_bytes : 64u << 10};
    struct curl_slist *header_list = NULL;
    if (request->headers != NULL) {
        const char *line = request->headers;
        while (*line != '\0') {
            size_t length = strcspn(line, "\n");
            if (length > 0 && length < 8192) {
                char item[8192];
                memcpy(item, line, length);
                item[length] = '\0';
                if (item[length - 1] == '\r') item[length - 1] = '\0';
                header_list = curl.slist_append(header_list, item);
            }
            line += length;
            if (*line == '\n') line++;
        }
    }
    // No "Expect: 100-continue" round trip before a POST body.
    header_list = curl.slist_append(header_list, "Expect:");

    long timeout = request->timeout_ms > 0 ? (long)request->timeout_ms : 1;
    curl.easy_setopt(easy, OPT_URL, request->url);
    curl.easy_setopt(easy, OPT_PROTOCOLS_STR, "https");
    curl.easy_setopt(easy, OPT_REDIR_PROTOCOLS_STR, "https");
    curl.easy_setopt(easy, OPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(easy, OPT_NOSIGNAL, 1L);
    curl.easy_setopt(easy, OPT_NOPROGRESS, 1L);
    curl.easy_setopt(easy, OPT_TIMEOUT_MS, timeout);
    curl.easy_setopt(easy, OPT_CONNECTTIMEOUT_MS, timeout);
    curl.easy_setopt(easy, OPT_ERRORBUFFER, error_text);
    curl.easy_setopt(easy, OPT_HTTP_VERSION, (long)HTTP_VERSION_2TLS);
    if (share != NULL) curl.easy_setopt(easy, OPT_SHARE, share);
    // Verification is never turned off; only the roots it verifies against can change.
    curl.easy_setopt(easy, OPT_SSL_VERIFYPEER, 1L);
    curl.easy_setopt(easy, OPT_SSL_VERIFYHOST, 2L);
    curl.easy_setopt(easy, OPT_PROXY_SSL_VERIFYPEER, 1L);
    if (request->ca_bundle != NULL && request->ca_bundle[0] != '\0') {
        // Instead of the system's roots, not in addition: clear the built-in directory too.
        curl.easy_setopt(easy, OPT_CAINFO, request->ca_bundle);
        curl.easy_setopt(easy, OPT_CAPATH, (char *)NULL);
        curl.easy_setopt(easy, OPT_PROXY_CAINFO, request->ca_bundle);
        curl.easy_setopt(easy, OPT_PROXY_CAPATH, (char *)NULL);
    }
    // The caller decides the proxy (it knows NO_PROXY and which hosts must never use one); an
    // empty string stops libcurl from reading the proxy variables itself.
    const char *proxy = request->proxy ? request->proxy : "";
    curl.easy_setopt(easy, OPT_PROXY, proxy);
    if (proxy[0] == '\0') curl.easy_setopt(easy, OPT_NOPROXY, "*");
    curl.easy_setopt(easy, OPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl.easy_setopt(easy, OPT_HTTPHEADER, header_list);
    curl.easy_setopt(easy, OPT_WRITEFUNCTION, (data_fn)on_body);
    curl.easy_setopt(easy, OPT_WRITEDATA, &body);
    curl.easy_setopt(easy, OPT_HEADERFUNCTION, (data_fn)on_header);
    curl.easy_setopt(easy, OPT_HEADERDATA, &headers);
    if (strcmp(request->method, "GET") == 0) {
        curl.easy_setopt(easy, OPT_HTTPGET, 1L);
    } else if (strcmp(request->method, "HEAD") == 0) {
        curl.easy_setopt(easy, OPT_NOBODY, 1L);
    } else {
        if (strcmp(request->method, "POST") != 0) curl.easy_setopt(easy, OPT_CUSTOMREQUEST, request->method);
        curl.easy_setopt(easy, OPT_POSTFIELDSIZE_LARGE, (long long)request->body_length);
        curl.easy_setopt(easy, OPT_POSTFIELDS, request->body ? (const char *)request->body : "");
    }

    int code = curl.easy_perform(easy);
    long status = 0, connect_code = 0, version = 0, connects = 0;
    curl.easy_getinfo(easy, INFO_RESPONSE_CODE, &status);
    curl.easy_getinfo(easy, INFO_HTTP_CONNECTCODE, &connect_code);
    curl.easy_getinfo(easy, INFO_HTTP_VERSION, &version);
    curl.easy_getinfo(easy, INFO_NUM_CONNECTS, &connects);

    cmk_https_reply outcome;
    memset(&outcome, 0, sizeof outcome);
    char message[ERROR_SIZE + 256];
    message[0] = '\0';
    if (code == E_OK && !body.over_limit && !headers.over_limit) {
        outcome.error = CMK_HTTPS_OK;
        outcome.status = (int32_t)status;
    } else {
        char host[256];
        url_host(request->url, host, sizeof host);
        outcome.error = classify(code, connect_code, body.over_limit, headers.over_limit);
        const char *detail = error_text[0] ? error_text : curl.easy_strerror(code);
        if (headers.over_limit) {
            snprintf(message, sizeof message, "the response headers from %s are larger than %zu bytes", host,
                     headers.limit);
        } else if (body.over_limit) {
            snprintf(message, sizeof message, "the response body from %s is larger than %zu bytes", host, body.limit);
        } else if (outcome.error == CMK_HTTPS_PROXY_REFUSED && connect_code >= 300) {
            snprintf(message, sizeof message, "the proxy %s refused the tunnel to %s (HTTP %ld)", proxy, host,
                     connect_code);
        } else if (outcome.error == CMK_HTTPS_TIMED_OUT) {
            snprintf(message, sizeof message, "timed out after %ld ms (%s)", timeout, detail);
        } else {
            snprintf(message, sizeof message, "%s", detail);
        }
        outcome.message = message;
    }
    outcome.headers = headers.bytes ? headers.bytes : "";
    outcome.headers_length = headers.length;
    outcome.body = (const uint8_t *)body.bytes;
    outcome.body_length = outcome.error == CMK_HTTPS_OK ? body.length : 0;
    outcome.http_version = version == 1 ? 10 : version == 2 ? 11 : version == 3 ? 20 : version == 30 ? 30 : 0;
    outcome.new_connections = (int32_t)connects;
    if (outcome.message == NULL) outcome.message = "";
    reply(context, &outcome);

    curl.slist_free_all(header_list);
    curl.easy_cleanup(easy);
    free(body.bytes);
    free(headers.bytes);
}
