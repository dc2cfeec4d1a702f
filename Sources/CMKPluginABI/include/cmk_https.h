/*
 * cmk_https.h: the HTTPS transport library (libcmk-https.so), loaded by the core's HTTP client
 * on its first https request, so that a `cmk` run that never leaves the machine never loads
 * libcurl. It is not a provider and is not discovered as one.
 *
 * The transport is C over the system's libcurl (opened with dlopen, so no curl headers are
 * needed to build it): no Foundation in the process, deadlines in milliseconds, and trust roots,
 * proxy and limits decided by the caller and passed in each request.
 */
#ifndef CMK_HTTPS_H
#define CMK_HTTPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CMK_HTTPS_ABI_VERSION 2
#define CMK_HTTPS_PERFORM_SYMBOL "cmk_https_perform_v2"

/* Why a request produced no response; CMK_HTTPS_OK when `status` holds one. */
enum {
    CMK_HTTPS_OK = 0,
    CMK_HTTPS_TIMED_OUT = 1,        /* the deadline passed (resolve, connect, TLS, send or receive) */
    CMK_HTTPS_CANNOT_RESOLVE = 2,   /* DNS: the host (or the proxy) has no address */
    CMK_HTTPS_CANNOT_CONNECT = 3,   /* no TCP connection to the host or the proxy */
    CMK_HTTPS_UNTRUSTED = 4,        /* the server's certificate does not verify (CA or host name) */
    CMK_HTTPS_TLS_FAILED = 5,       /* the TLS handshake failed for another reason */
    CMK_HTTPS_PROXY_REFUSED = 6,    /* the proxy answered CONNECT with an error status */
    CMK_HTTPS_TOO_LARGE = 7,        /* headers or body over the request's limits */
    CMK_HTTPS_UNAVAILABLE = 8,      /* libcurl could not be loaded */
    CMK_HTTPS_BAD_REQUEST = 9,      /* the request struct is malformed (version, size, URL) */
    CMK_HTTPS_CA_BUNDLE = 10,       /* the CA bundle file cannot be read or holds no certificate */
    CMK_HTTPS_FAILED = 11           /* anything else; the message says what */
};

/*
 * One request. Check `abi_version` and `struct_size` before reading the rest. Every pointer is
 * owned by the caller and valid until cmk_https_perform returns.
 */
typedef struct cmk_https_request {
    uint32_t abi_version;      /* CMK_HTTPS_ABI_VERSION */
    uint32_t struct_size;      /* sizeof(cmk_https_request) */
    const char *method;        /* "GET", "POST", "PUT", ... */
    const char *url;           /* https://host[:port]/path?query; only https is accepted */
    const char *headers;       /* "Name: value\n" lines, NUL-terminated; may be NULL */
    const uint8_t *body;       /* may be NULL */
    size_t body_length;
    int64_t timeout_ms;        /* the whole request, from the call */
    const char *proxy;         /* NULL or "": direct; else the proxy URL, e.g. http://proxy:3128 */
    const char *ca_bundle;     /* NULL: the system's trust roots; else a PEM file used instead */
    size_t max_header_bytes;   /* 0: 64 KiB */
    size_t max_body_bytes;     /* 0: 16 MiB */
} cmk_https_request;

/* The outcome, valid only during the reply callback. */
typedef struct cmk_https_reply {
    int32_t error;             /* CMK_HTTPS_OK or one of the codes above */
    int32_t status;            /* the HTTP status when error is CMK_HTTPS_OK, else 0 */
    const char *message;       /* NUL-terminated reason when error is not CMK_HTTPS_OK, else "" */
    const char *headers;       /* the final response's header lines ("Name: value\r\n"...) */
    size_t headers_length;
    const uint8_t *body;
    size_t body_length;
    int32_t http_version;      /* 10, 11, 20 or 0 when unknown */
    int32_t new_connections;   /* connections opened for this request: 0 means one was reused */
} cmk_https_reply;

typedef void (*cmk_https_reply_fn)(void *context, const cmk_https_reply *reply);

/*
 * Performs one request on the calling thread, blocking at most about `timeout_ms`, and calls
 * `reply` exactly once before returning. Safe to call from several threads at once;
 * connections, DNS answers and TLS sessions are shared between calls.
 */
typedef void (*cmk_https_perform_fn)(const cmk_https_request *request, void *context, cmk_https_reply_fn reply);

#ifdef __cplusplus
}
#endif

#endif /* CMK_HTTPS_H */
