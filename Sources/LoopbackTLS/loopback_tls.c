#define _GNU_SOURCE
/*
 * A TLS front and a CONNECT proxy on loopback, for the emulator and the tests (see the header).
 * Small and blocking on purpose: one thread per connection, poll() to relay both directions.
 */
#include "loopback_tls.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef void SSL_CTX;
typedef void SSL;
typedef void SSL_METHOD;

static struct {
    const SSL_METHOD *(*server_method)(void);
    SSL_CTX *(*ctx_new)(const SSL_METHOD *);
    int (*use_chain)(SSL_CTX *, const char *);
    int (*use_key)(SSL_CTX *, const char *, int);
    int (*check_key)(const SSL_CTX *);
    SSL *(*ssl_new)(SSL_CTX *);
    int (*set_fd)(SSL *, int);
    int (*accept)(SSL *);
    int (*read)(SSL *, void *, int);
    int (*write)(SSL *, const void *, int);
    int (*pending)(const SSL *);
    int (*shutdown)(SSL *);
    void (*free)(SSL *);
    unsigned long (*err_get)(void);
    void (*err_string)(unsigned long, char *, size_t);
} ssl;

static int load_openssl(char *error, size_t size) {
    static int loaded = 0;
    if (loaded) return 0;
    void *library = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        snprintf(error, size, "the TLS front needs OpenSSL 3 (libssl.so.3; Debian: package libssl3): %s", dlerror());
        return -1;
    }
#define BIND(field, name)                                                                 \
    if ((*(void **)(&ssl.field) = dlsym(library, name)) == NULL) {                        \
        snprintf(error, size, "libssl.so.3 has no symbol %s", name);                      \
        return -1;                                                                        \
    }
    BIND(server_method, "TLS_server_method");
    BIND(ctx_new, "SSL_CTX_new");
    BIND(use_chain, "SSL_CTX_use_certificate_chain_file");
    BIND(use_key, "SSL_CTX_use_PrivateKey_file");
    BIND(check_key, "SSL_CTX_check_private_key");
    BIND(ssl_new, "SSL_new");
    BIND(set_fd, "SSL_set_fd");
    BIND(accept, "SSL_accept");
    BIND(read, "SSL_read");
    BIND(write, "SSL_write");
    BIND(pending, "SSL_pending");
    BIND(shutdown, "SSL_shutdown");
    BIND(free, "SSL_free");
    BIND(err_get, "ERR_get_error");
    BIND(err_string, "ERR_error_string_n");
#undef BIND
    loaded = 1;
    return 0;
}

static int listen_loopback(int port, char *error, size_t size, int *bound_port) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) {
        snprintf(error, size, "socket: %s", strerror(errno));
        return -1;
    }
    int reuse = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4096) != 0) { /* ops (issue 11): as LoopbackServer */
        snprintf(error, size, "cannot listen on 127.0.0.1:%d: %s", port, strerror(errno));
        close(listener);
        return -1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    *bound_port = ntohs(address.sin_port);
    return listener;
}

static int connect_loopback(const char *host, int port) {
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0) return -1;
    int descriptor = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (descriptor < 0) return -1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(descriptor, (struct sockaddr *)&address, sizeof address) != 0) {
        close(descriptor);
        return -1;
    }
    return descriptor;
}

/* An idle limit, and no Nagle: a relay that waits for the delayed ACK adds 40 ms to a request. */
static void set_idle_timeout(int descriptor, int seconds) {
    struct timeval timeout = {.tv_sec = seconds};
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int on = 1;
    setsockopt(descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

static int write_all(int descriptor, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t sent = send(descriptor, bytes, count, MSG_NOSIGNAL);
        if (sent <= 0) return -1;
        bytes += sent;
        count -= (size_t)sent;
    }
    return 0;
}

static void start_thread(void *(*body)(void *), void *argument) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, body, argument) == 0) pthread_detach(thread);
}

/* Accepts connections on `listener` for ever, serving each on a thread of its own. */
typedef struct {
    int listener;
    void *owner;
    void *(*serve)(void *); /* gets a malloc'ed `accepted`, which it frees */
} acceptor;

typedef struct {
    void *owner;
    int client;
} accepted;

static void *accept_loop(void *argument) {
    acceptor *loop = argument;
    for (;;) {
        int client = accept4(loop->listener, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return NULL;
        }
        accepted *connection = malloc(sizeof *connection);
        if (connection == NULL) {
            close(client);
            continue;
        }
        connection->owner = loop->owner;
        connection->client = client;
        start_thread(loop->serve, connection);
    }
}

static int start_acceptor(int listener, void *owner, void *(*serve)(void *), char *error, size_t error_size) {
    acceptor *loop = malloc(sizeof *loop);
    if (loop == NULL) {
        close(listener);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    loop->listener = listener;
    loop->owner = owner;
    loop->serve = serve;
    start_thread(accept_loop, loop);
    return 0;
}

/* ---- TLS front ---- */

typedef struct {
    int backend_port;
    SSL_CTX *context;
} front;

static void *serve_tls(void *argument) {
    accepted *connection = argument;
    int client = connection->client;
    front *owner = connection->owner;
    free(connection);
    set_idle_timeout(client, 10);
    SSL *session = ssl.ssl_new(owner->context);
    int backend = -1;
    if (session == NULL || ssl.set_fd(session, client) != 1 || ssl.accept(session) != 1) goto done;
    backend = connect_loopback("127.0.0.1", owner->backend_port);
    if (backend < 0) goto done;
    set_idle_timeout(backend, 10);
    char buffer[16384];
    for (;;) {
        if (ssl.pending(session) <= 0) {
            struct pollfd waiting[2] = {{.fd = client, .events = POLLIN}, {.fd = backend, .events = POLLIN}};
            if (poll(waiting, 2, 10000) <= 0) break;
            if (waiting[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t count = recv(backend, buffer, sizeof buffer, 0);
                if (count <= 0) break;
                if (ssl.write(session, buffer, (int)count) <= 0) break;
                continue;
            }
            if (!(waiting[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        }
        int count = ssl.read(session, buffer, sizeof buffer);
        if (count <= 0) break;
        if (write_all(backend, buffer, (size_t)count) != 0) break;
    }
    ssl.shutdown(session);
done:
    if (session != NULL) ssl.free(session);
    if (backend >= 0) close(backend);
    close(client);
    return NULL;
}

int loopback_tls_front_start(const char *certificate_chain_path, const char *private_key_path, int backend_port,
                             int listen_port, char *error, size_t error_size) {
    if (load_openssl(error, error_size) != 0) return -1;
    // SSL_write uses write(), not send(MSG_NOSIGNAL): a client that hangs up mid-response (cmk
    // giving up at its deadline) would raise SIGPIPE and kill the whole emulator.
    signal(SIGPIPE, SIG_IGN);
    SSL_CTX *context = ssl.ctx_new(ssl.server_method());
    if (context == NULL || ssl.use_chain(context, certificate_chain_path) != 1 ||
        ssl.use_key(context, private_key_path, 1 /* SSL_FILETYPE_PEM */) != 1 || ssl.check_key(context) != 1) {
        char reason[256] = "unknown OpenSSL error";
        unsigned long code = ssl.err_get();
        if (code != 0) ssl.err_string(code, reason, sizeof reason);
        snprintf(error, error_size, "cannot use the certificate %s and key %s: %s", certificate_chain_path,
                 private_key_path, reason);
        return -1;
    }
    int port = 0;
    int listener = listen_loopback(listen_port, error, error_size, &port);
    if (listener < 0) return -1;
    front *owner = malloc(sizeof *owner);
    if (owner == NULL) {
        close(listener);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    owner->backend_port = backend_port;
    owner->context = context;
    return start_acceptor(listener, owner, serve_tls, error, error_size) == 0 ? port : -1;
}

/* ---- CONNECT proxy ---- */

typedef struct {
    int refuse_status;
    volatile int *connect_count;
} proxy;

static void relay(int a, int b) {
    char buffer[16384];
    for (;;) {
        struct pollfd waiting[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        if (poll(waiting, 2, 10000) <= 0) return;
        for (int i = 0; i < 2; i++) {
            if (!(waiting[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t count = recv(waiting[i].fd, buffer, sizeof buffer, 0);
            if (count <= 0) return;
            if (write_all(waiting[1 - i].fd, buffer, (size_t)count) != 0) return;
        }
    }
}

static void *serve_proxy(void *argument) {
    accepted *connection = argument;
    int client = connection->client;
    proxy *owner = connection->owner;
    free(connection);
    set_idle_timeout(client, 10);
    char head[8192];
    size_t length = 0;
    while (length < sizeof head - 1) {
        ssize_t count = recv(client, head + length, sizeof head - 1 - length, 0);
        if (count <= 0) goto done;
        length += (size_t)count;
        head[length] = '\0';
        if (strstr(head, "\r\n\r\n") != NULL) break;
    }
    char method[16], target[512];
    if (sscanf(head, "%15s %511s", method, target) != 2) goto done;
    if (strcmp(method, "CONNECT") == 0 && owner->connect_count != NULL) __sync_fetch_and_add(owner->connect_count, 1);
    if (owner->refuse_status != 0 || strcmp(method, "CONNECT") != 0) {
        char reply[128];
        int status = owner->refuse_status ? owner->refuse_status : 405;
        snprintf(reply, sizeof reply, "HTTP/1.1 %d Refused by the test proxy\r\nContent-Length: 0\r\n\r\n", status);
        write_all(client, reply, strlen(reply));
        goto done;
    }
    char *colon = strrchr(target, ':');
    if (colon == NULL) goto done;
    *colon = '\0';
    int backend = connect_loopback(target, atoi(colon + 1));
    if (backend >= 0) set_idle_timeout(backend, 10);
    if (backend < 0) {
        const char *reply = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
        write_all(client, reply, strlen(reply));
        goto done;
    }
    const char *established = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (write_all(client, established, strlen(established)) == 0) relay(client, backend);
    close(backend);
done:
    close(client);
    return NULL;
}

int loopback_connect_proxy_start(int listen_port, int refuse_status, volatile int *connect_count, char *error,
                                 size_t error_size) {
    int port = 0;
    int listener = listen_loopback(listen_port, error, error_size, &port);
    if (listener < 0) return -1;
    proxy *owner = malloc(sizeof *owner);
    if (owner == NULL) {
        close(listener);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    owner->refuse_status = refuse_status;
    owner->connect_count = connect_count;
    return start_acceptor(listener, owner, serve_proxy, error, error_size) == 0 ? port : -1;
}
