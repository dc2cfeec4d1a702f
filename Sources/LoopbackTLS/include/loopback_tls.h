/*
 * loopback_tls.h: a TLS front and a CONNECT proxy on 127.0.0.1, for the Azure emulator and the
 * tests, so that cmk's production https transport (TLS, trust roots, proxies) is what they test.
 * OpenSSL (libssl.so.3, which the system's libcurl already needs) is opened with dlopen: no
 * headers or link flags at build time. Never part of cmk itself.
 */
#ifndef LOOPBACK_TLS_H
#define LOOPBACK_TLS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Listens on 127.0.0.1:`listen_port` (0: any free port) and, for each connection, completes a
 * TLS handshake with the PEM certificate chain and key given, then relays the plaintext to
 * 127.0.0.1:`backend_port` over a new connection. Serves on its own threads until the process
 * ends. Returns the port listened on, or -1 with the reason in `error`.
 */
int loopback_tls_front_start(const char *certificate_chain_path, const char *private_key_path, int backend_port,
                             int listen_port, char *error, size_t error_size);

/*
 * An HTTP proxy on 127.0.0.1:`listen_port` (0: any) that answers CONNECT: with `refuse_status`
 * 0 it opens the tunnel (to loopback targets only) and relays bytes both ways; otherwise it
 * answers every request with that status (403: a proxy that refuses). Returns the port, or -1.
 * `connect_count`, when not NULL, is incremented for every CONNECT request received.
 */
int loopback_connect_proxy_start(int listen_port, int refuse_status, volatile int *connect_count, char *error,
                                 size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* LOOPBACK_TLS_H */
