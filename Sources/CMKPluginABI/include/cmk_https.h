/*
 * cmk_https.h: the HTTPS transport library (libcmk-https.so), loaded by the core's HTTP client
 * on its first https request, so that a `cmk` run that never leaves the machine never loads
 * libcurl. It is not a provider and is not discovered as one.
 */
#ifndef CMK_HTTPS_H
#define CMK_HTTPS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CMK_HTTPS_PERFORM_SYMBOL "cmk_https_perform"

/*
 * Reply of one request, delivered exactly once on any thread. `response_json` is
 * {"status": 200, "headers": {"name": "value"}} or {"error": "..."}; `body` is the raw body.
 * Both buffers are owned by the transport and valid only during the call.
 */
typedef void (*cmk_https_done_fn)(void *context, const char *response_json, size_t json_length,
                                  const uint8_t *body, size_t body_length);

/*
 * Starts one request. `request_json` is {"method": "GET", "url": "https://…",
 * "headers": {"name": "value"}, "timeout_ms": 5000}; `body` may be NULL. Buffers are owned
 * by the caller and valid only until the function returns.
 */
typedef void (*cmk_https_perform_fn)(const char *request_json, size_t json_length, const uint8_t *body,
                                     size_t body_length, void *context, cmk_https_done_fn done);

#ifdef __cplusplus
}
#endif

#endif /* CMK_HTTPS_H */
