// The OpenSSL header Swift sees (Debian's libssl-dev, OpenSSL 3): the TLS transport of
// RedisClient drives a hiredis reader with bytes it reads through SSL_read. Inline helpers wrap
// what Swift cannot import (function-like macros, option bits built by macros) and keep the few
// multi-step calls (peer certificate text, time formatting) in one place.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <fcntl.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <arpa/inet.h>

/// A new client context: TLS 1.2 or later, partial writes allowed and the write buffer may move
/// between retries (the transport retries a write after SSL_ERROR_WANT_*), and an EOF without
/// close_notify reported as a closed connection (SSL_ERROR_ZERO_RETURN): RESP detects a
/// truncated reply on its own. NULL when OpenSSL cannot allocate one.
static inline SSL_CTX *copenssl_client_context(void) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

/// Sends `name` as the server name indication (SSL_set_tlsext_host_name is a macro).
static inline int copenssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }

/// Checks the peer certificate against `name`: an IP address (v4 or v6) against the
/// certificate's IP SANs, anything else as a DNS name (no partial wildcards). 1 on success.
static inline int copenssl_expect_peer_name(SSL *ssl, const char *name, int is_ip_address) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (is_ip_address) return X509_VERIFY_PARAM_set1_ip_asc(param, name);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, name);
}

/// Sets `*flag` to 1 when the server asks for a client certificate (TLS CertificateRequest),
/// whether or not this client has one. `flag` must outlive the SSL object.
static inline int copenssl_note_certificate_request(SSL *ssl, void *flag) {
    (void)ssl;
    *(int *)flag = 1;
    return 1;
}

static inline void copenssl_watch_certificate_request(SSL *ssl, int *flag) {
    SSL_set_cert_cb(ssl, copenssl_note_certificate_request, flag);
}

/// Whether the session negotiated TLS 1.3.
static inline int copenssl_is_tls13(const SSL *ssl) { return SSL_version(ssl) == TLS1_3_VERSION; }

/// Puts a socket in non-blocking mode (the transport waits with poll(2) against deadlines).
/// 0 on success, -1 with errno set.
static inline int copenssl_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/// Waits until `fd` is readable (`events` = POLLIN) or writable (POLLOUT), at most
/// `timeout_ms`. 1 when ready (or when the peer hung up: the next SSL call reports it), 0 on
/// timeout, -1 on error (errno set). Retries on EINTR.
static inline int copenssl_poll(int fd, short events, int timeout_ms) {
    struct pollfd pfd;
    pfd.fd = fd;
    pfd.events = events;
    pfd.revents = 0;
    for (;;) {
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc > 0 && (pfd.revents & POLLNVAL)) return -1;
        return rc;
    }
}

static inline short copenssl_pollin(void) { return POLLIN; }
static inline short copenssl_pollout(void) { return POLLOUT; }

/// Refuses every passphrase prompt: an encrypted key fails to load instead of OpenSSL reading
/// a passphrase from the terminal (which would block the I/O thread).
static inline int copenssl_no_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return -1;
}

static inline void copenssl_refuse_passphrases(SSL_CTX *ctx) {
    SSL_CTX_set_default_passwd_cb(ctx, copenssl_no_passphrase);
}

/// Whether `text` is an IPv4 or IPv6 address literal.
static inline int copenssl_is_ip_address(const char *text) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, text, buffer) == 1 || inet_pton(AF_INET6, text, buffer) == 1;
}

/// Writes the oldest error of this thread's OpenSSL error queue into `buffer` (and empties the
/// queue); returns its packed code, 0 when the queue was empty.
static inline unsigned long copenssl_pop_error(char *buffer, size_t size) {
    unsigned long first = ERR_get_error();
    if (first != 0 && buffer != NULL && size > 0) ERR_error_string_n(first, buffer, size);
    ERR_clear_error();
    return first;
}

/// A one-line RFC 2253 text of a certificate name into `buffer`; the length written.
static inline int copenssl_name_text(const X509_NAME *name, char *buffer, int size) {
    if (size <= 0) return 0;
    buffer[0] = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return 0;
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    int length = BIO_read(bio, buffer, size - 1);
    if (length < 0) length = 0;
    buffer[length] = 0;
    BIO_free(bio);
    return length;
}

/// The end of a certificate's validity as text ("Dec  1 18:32:32 2026 GMT") into `buffer`,
/// and the seconds from now until then (negative once expired) into `seconds_left`.
static inline int copenssl_not_after(const X509 *cert, char *buffer, int size, long long *seconds_left) {
    if (size <= 0) return 0;
    buffer[0] = 0;
    const ASN1_TIME *end = X509_get0_notAfter(cert);
    if (end == NULL) return 0;
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, NULL, end)) *seconds_left = (long long)days * 86400 + secs;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return 0;
    ASN1_TIME_print(bio, end);
    int length = BIO_read(bio, buffer, size - 1);
    if (length < 0) length = 0;
    buffer[length] = 0;
    BIO_free(bio);
    return length;
}

#endif
