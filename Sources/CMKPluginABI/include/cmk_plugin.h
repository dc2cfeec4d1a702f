/*
 * cmk_plugin.h: the boundary between the `cmk` host and a provider library.
 *
 * A provider is a shared library that exports one C function, `cmk_provider_entry`, returning a
 * pointer to a `cmk_provider` struct. The host dlopens the library (RTLD_NOW, never unloaded),
 * reads `abi_version` and `struct_size` before anything else, and talks to the provider only
 * through `call`, with UTF-8 JSON messages (docs/plugin-abi.md lists them with examples).
 *
 * Versioning: `abi_version` changes only when an existing field changes meaning or a message
 * becomes incompatible; the host refuses versions it does not know. New fields are appended at
 * the end without a version change: the host reads a field only when `struct_size` says the
 * provider's struct contains it. A provider must set `struct_size` to `sizeof(cmk_provider)` as
 * it compiled it.
 *
 * Ownership: every pointer in the struct is owned by the provider and must stay valid for the
 * life of the process (static storage). The host never frees them. The host never unloads a
 * provider (Swift libraries cannot be unloaded safely).
 */
#ifndef CMK_PLUGIN_H
#define CMK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define CMK_PLUGIN_ABI_VERSION 1u

/* The symbol every provider library exports. */
#define CMK_PROVIDER_ENTRY_SYMBOL "cmk_provider_entry"

/*
 * Delivers the reply to one request. Call it exactly once per request: before `call` returns
 * or later, from any thread.
 *   host_context: the value the host passed to `call`, unchanged.
 *   reply, length: UTF-8 JSON, `length` bytes (a terminating NUL is allowed but not needed).
 *     Owned by the provider and read only during this call: the host copies it, so the
 *     provider may free or reuse the buffer as soon as the function returns.
 * A reply is either the operation's result object or {"error": {"code": "...", "message": "..."}}.
 */
typedef void (*cmk_reply_fn)(void *host_context, const char *reply, size_t length);

typedef struct cmk_provider {
    /* CMK_PLUGIN_ABI_VERSION the provider was built against. Read first. */
    uint32_t abi_version;
    /* sizeof(cmk_provider) as the provider compiled it. Read second; version 1 needs >= 40. */
    uint32_t struct_size;
    /* Short lowercase identifier, unique among providers: "aws", "azure". Static storage. */
    const char *name;
    /* The provider's own version, e.g. "1.2.0". Static storage. */
    const char *version;
    /* One line for `cmk providers`. Static storage. */
    const char *description;
    /*
     * Handles one request. `request` is UTF-8 JSON of `length` bytes, owned by the host and
     * valid only until `call` returns: copy what you keep. The reply goes to `reply` with
     * `host_context`, exactly once. `call` must be safe to call from several threads at once
     * and should return quickly (do slow work on another thread and reply from there).
     */
    void (*call)(const char *request, size_t length, void *host_context, cmk_reply_fn reply);
} cmk_provider;

/* Returns the provider's descriptor, static storage; must not fail. */
const cmk_provider *cmk_provider_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* CMK_PLUGIN_H */
