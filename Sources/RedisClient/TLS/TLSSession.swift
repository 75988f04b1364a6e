import COpenSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One TLS client session over a connected TCP socket (a hiredis context's), used by one thread
/// at a time — the connection's I/O thread.
///
/// hiredis 0.14 cannot speak TLS, so for `rediss://` it only connects the socket, formats the
/// commands and parses the replies; this type moves the bytes between them through OpenSSL. The
/// socket is switched to non-blocking mode and every wait is a `poll(2)` against the caller's
/// deadline, so `SSL_ERROR_WANT_READ`/`WANT_WRITE` never block past it.
///
/// Certificate checks (unless ``RedisTLSOptions/insecure``): the chain must lead to a trusted
/// CA, be valid now, and name the host (or ``RedisTLSOptions/serverName``) — a DNS name checked
/// with `SSL_set1_host`, an IP address against the certificate's IP addresses. A refusal is a
/// ``RedisClientError/Kind/certificateVerificationFailed`` carrying OpenSSL's reason.
final class TLSSession {
    private let ssl: OpaquePointer
    private let fd: Int32
    private let endpoint: RedisEndpoint
    private let verified: Bool
    /// Where decrypted bytes land before they are handed to hiredis's reader.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// What the last SSL call that could not proceed waits for (`POLLIN` or `POLLOUT`).
    private var waitEvents = copenssl_pollin()
    /// Set after a fatal error: no further SSL call (not even a shutdown) is allowed.
    private var failed = false
    /// Set (by OpenSSL, through a callback) when the server asks for a client certificate.
    private let certificateRequested: UnsafeMutablePointer<Int32>

    /// Sets up TLS on `fd` and completes the handshake before `deadline`.
    ///
    /// - Parameters:
    ///   - host: the host connected to; the certificate must name it unless `options` give a
    ///     ``RedisTLSOptions/serverName`` (or ``RedisTLSOptions/insecure``).
    /// - Throws: ``RedisClientError`` of kind `tlsConfigurationInvalid` (a file cannot be
    ///   used), `certificateVerificationFailed`, `tlsHandshakeFailed`, `timeout` or
    ///   `connectionClosed`. The caller still owns (and closes) `fd`.
    init(
        fd: Int32, host: String, options: RedisTLSOptions, endpoint: RedisEndpoint,
        deadline: ContinuousClock.Instant
    ) throws(RedisClientError) {
        self.fd = fd
        self.endpoint = endpoint
        verified = !options.insecure
        ERR_clear_error()
        let context = try TLSContexts.context(for: options)
        defer { SSL_CTX_free(context) }  // the session keeps its own reference
        guard let ssl = SSL_new(context) else {
            throw RedisClientError(.ioError, "OpenSSL could not create a TLS session for \(endpoint)")
        }
        self.ssl = ssl
        readBuffer = .allocate(byteCount: 16 * 1024, alignment: 16)
        certificateRequested = .allocate(capacity: 1)
        certificateRequested.initialize(to: 0)
        // From here on `deinit` frees what was made.
        copenssl_watch_certificate_request(ssl, certificateRequested)
        let name = options.serverName ?? host
        let isAddress = copenssl_is_ip_address(name) == 1
        if !isAddress, copenssl_set_sni(ssl, name) != 1 {
            failed = true
            throw RedisClientError(.tlsConfigurationInvalid, "the TLS server name for \(endpoint) was refused")
        }
        if verified, copenssl_expect_peer_name(ssl, name, isAddress ? 1 : 0) != 1 {
            failed = true
            throw RedisClientError(
                .tlsConfigurationInvalid, "OpenSSL refused '\(name)' as the name to verify for \(endpoint)")
        }
        guard SSL_set_fd(ssl, fd) == 1, copenssl_set_nonblocking(fd) == 0 else {
            failed = true
            throw RedisClientError(.ioError, "cannot set up TLS on the socket to \(endpoint)")
        }
        let started = ContinuousClock.now
        try handshake(deadline: deadline)
        if certificateRequested.pointee != 0, copenssl_is_tls13(ssl) == 1 {
            try awaitClientCertificateVerdict(handshakeTook: .now - started, deadline: deadline)
        }
    }

    deinit {
        if !failed {
            // close_notify, best effort: one non-blocking attempt, no waiting for the answer.
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
        }
        SSL_free(ssl)
        readBuffer.deallocate()
        certificateRequested.deallocate()
        ERR_clear_error()
    }

    /// Loads the trust anchors and the client certificate into `context`.
    static func configure(_ context: OpaquePointer, options: RedisTLSOptions) throws(RedisClientError) {
        copenssl_refuse_passphrases(context)
        if options.insecure {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if options.caCertificatePath != nil || options.caCertificateDirectory != nil {
                if SSL_CTX_load_verify_locations(context, options.caCertificatePath, options.caCertificateDirectory)
                    != 1
                {
                    let source = [options.caCertificatePath, options.caCertificateDirectory].compactMap { $0 }
                    throw RedisClientError(
                        .tlsConfigurationInvalid,
                        "cannot load the CA certificates from \(source.joined(separator: " and ")): "
                            + Self.popError(fallback: "unreadable or not PEM"))
                }
            } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                throw RedisClientError(
                    .tlsConfigurationInvalid,
                    "cannot load the system's trusted CA certificates: " + Self.popError(fallback: "unknown reason"))
            }
        }
        if let certificate = options.certificatePath, let key = options.privateKeyPath {
            if SSL_CTX_use_certificate_chain_file(context, certificate) != 1 {
                throw RedisClientError(
                    .tlsConfigurationInvalid,
                    "cannot load the client certificate \(certificate): "
                        + Self.popError(fallback: "unreadable or not PEM"))
            }
            if SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 {
                throw RedisClientError(
                    .tlsConfigurationInvalid,
                    "cannot load the client key \(key) (it must be unencrypted PEM): "
                        + Self.popError(fallback: "unreadable"))
            }
            if SSL_CTX_check_private_key(context) != 1 {
                throw RedisClientError(
                    .tlsConfigurationInvalid,
                    "the client key \(key) does not match the certificate \(certificate): "
                        + Self.popError(fallback: "mismatch"))
            }
        }
    }

    /// `SSL_connect` until done, waiting for the socket as OpenSSL asks.
    private func handshake(deadline: ContinuousClock.Instant) throws(RedisClientError) {
        while true {
            ERR_clear_error()
            let result = SSL_connect(ssl)
            if result == 1 { return }
            let code = SSL_get_error(ssl, result)
            switch code {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let events = code == SSL_ERROR_WANT_READ ? copenssl_pollin() : copenssl_pollout()
                let ready = copenssl_poll(fd, events, (deadline - .now).pollMilliseconds)
                if ready == 0 {
                    failed = true
                    throw RedisClientError(
                        .timeout, "the TLS handshake with \(endpoint) timed out (does it speak TLS on this port?)")
                }
                if ready < 0 {
                    failed = true
                    throw RedisClientError(.ioError, "poll failed during the TLS handshake with \(endpoint)")
                }
            default:
                throw handshakeFailure(code)
            }
        }
    }

    /// Under TLS 1.3 the client's handshake ends before the server has checked the client's
    /// certificate: a server that refuses it (or its absence, `tls-auth-clients yes`) says so in
    /// its next record, and closes. Written to at that moment, the connection is reset and the
    /// reason lost. So when the server asked for a certificate, this waits for its first
    /// post-handshake record — session tickets when it accepted, an alert when it refused —
    /// before anything is written. A server that sends no tickets costs at most four handshake
    /// durations (at least 20 ms) of waiting, once per connect.
    private func awaitClientCertificateVerdict(
        handshakeTook: Duration, deadline: ContinuousClock.Instant
    ) throws(RedisClientError) {
        let waitUntil = min(deadline, .now + max(.milliseconds(20), handshakeTook * 4))
        while true {
            let ready = copenssl_poll(fd, copenssl_pollin(), (waitUntil - .now).pollMilliseconds)
            if ready <= 0 { return }  // nothing (yet): no tickets from this server; go on
            ERR_clear_error()
            var byte: UInt8 = 0
            let result = SSL_peek(ssl, &byte, 1)
            if result > 0 { return }  // application data cannot come before a request; leave it
            let code = SSL_get_error(ssl, result)
            if code == SSL_ERROR_WANT_READ {
                if hasSeenTicket { return }
                continue
            }
            if code == SSL_ERROR_WANT_WRITE { return }
            failed = true
            let savedErrno = errno
            var buffer = [CChar](repeating: 0, count: 256)
            let packed = copenssl_pop_error(&buffer, buffer.count)
            let text =
                packed != 0
                ? Self.text(buffer) : savedErrno == 0 ? "connection closed" : String(cString: strerror(savedErrno))
            throw RedisClientError(
                .tlsHandshakeFailed,
                "\(endpoint) refused the TLS session after the handshake: \(text) (it asks for a client "
                    + "certificate: none is configured (cert=, key=), or it does not trust this one)")
        }
    }

    /// Whether a TLS 1.3 session ticket has arrived (the server accepted the session).
    private var hasSeenTicket: Bool { SSL_get_session(ssl).map { SSL_SESSION_has_ticket($0) == 1 } ?? false }

    /// The typed error for a failed `SSL_connect`.
    private func handshakeFailure(_ code: Int32) -> RedisClientError {
        failed = true
        let savedErrno = errno
        let verifyResult = SSL_get_verify_result(ssl)
        if verified, verifyResult != Int(X509_V_OK) {
            let reason = String(cString: X509_verify_cert_error_string(verifyResult))
            _ = Self.popError(fallback: "")
            return RedisClientError(
                .certificateVerificationFailed,
                "the TLS certificate of \(endpoint) was refused: \(reason) (X509 error \(verifyResult))")
        }
        if code == SSL_ERROR_SYSCALL || code == SSL_ERROR_ZERO_RETURN {
            // Closed or reset mid-handshake: a server restarting or overloaded (retried like any
            // lost connection), or a port that does not speak TLS.
            let detail = savedErrno == 0 ? "" : " (\(String(cString: strerror(savedErrno))))"
            _ = Self.popError(fallback: "")
            return RedisClientError(
                .connectionClosed,
                "\(endpoint) closed the connection during the TLS handshake\(detail) (does it speak TLS on this port?)")
        }
        let text = Self.popError(fallback: "SSL error \(code)")
        return RedisClientError(
            .tlsHandshakeFailed,
            "the TLS handshake with \(endpoint) failed: \(text) (is this a TLS port, and does the server accept "
                + "this client's certificate?)")
    }

    /// Whether OpenSSL holds decrypted bytes not read yet (then there is no need to poll).
    var hasBufferedPlaintext: Bool { SSL_pending(ssl) > 0 }

    /// Waits up to `timeoutMilliseconds` for what the last SSL call asked for (the socket
    /// readable, or writable during a renegotiation). 1 ready, 0 timeout, -1 error.
    func waitForSocket(timeoutMilliseconds: Int32) -> Int32 {
        copenssl_poll(fd, waitEvents, timeoutMilliseconds)
    }

    /// Whether the socket is readable now (without consuming anything).
    func socketIsReadable() -> Int32 { copenssl_poll(fd, copenssl_pollin(), 0) }

    /// Writes all of `bytes` before `deadline`.
    ///
    /// - Throws: ``RedisClientError`` (`timeout`, `connectionClosed`, `ioError`); the session is
    ///   dead afterwards.
    /// With `whileWaiting`, a wait for the socket is cut in slices of at most `sliceMilliseconds`
    /// and `whileWaiting` runs between them.
    func write(
        _ bytes: [UInt8], deadline: ContinuousClock.Instant, sliceMilliseconds: Int32 = .max,
        whileWaiting: (() -> Void)? = nil
    ) throws(RedisClientError) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let chunk = Int32(clamping: bytes.count - offset)
            let result = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, chunk) }
            if result > 0 {
                offset += Int(result)
                continue
            }
            let code = SSL_get_error(ssl, result)
            guard code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ else {
                throw ioFailure(code, while: "writing to")
            }
            waitEvents = code == SSL_ERROR_WANT_READ ? copenssl_pollin() : copenssl_pollout()
            let ready = waitForSocket(timeoutMilliseconds: min((deadline - .now).pollMilliseconds, sliceMilliseconds))
            if ready == 0 {
                if let whileWaiting, ContinuousClock.now < deadline {
                    whileWaiting()
                    continue
                }
                failed = true
                throw RedisClientError(.timeout, "writing to \(endpoint) timed out")
            }
            if ready < 0 {
                failed = true
                throw RedisClientError(.ioError, "poll failed while writing to \(endpoint)")
            }
        }
    }

    /// Reads the decrypted bytes available now into ``readBuffer`` without waiting; 0 when
    /// there are none yet (a TLS record may have carried no data, e.g. a session ticket).
    ///
    /// - Throws: ``RedisClientError`` (`connectionClosed`, `ioError`).
    func readAvailable() throws(RedisClientError) -> Int {
        ERR_clear_error()
        let result = SSL_read(ssl, readBuffer.baseAddress, Int32(clamping: readBuffer.count))
        if result > 0 { return Int(result) }
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ:
            waitEvents = copenssl_pollin()
            return 0
        case SSL_ERROR_WANT_WRITE:
            waitEvents = copenssl_pollout()
            return 0
        default:
            throw ioFailure(code, while: "reading from")
        }
    }

    /// The typed error for a failed `SSL_read`/`SSL_write`.
    private func ioFailure(_ code: Int32, while action: String) -> RedisClientError {
        failed = true
        let savedErrno = errno
        switch code {
        case SSL_ERROR_ZERO_RETURN:
            _ = Self.popError(fallback: "")
            return RedisClientError(.connectionClosed, "\(endpoint) closed the connection")
        case SSL_ERROR_SYSCALL:
            _ = Self.popError(fallback: "")
            if savedErrno == 0 || savedErrno == ECONNRESET || savedErrno == EPIPE {
                return RedisClientError(.connectionClosed, "connection to \(endpoint) lost")
            }
            if savedErrno == EAGAIN || savedErrno == ETIMEDOUT {
                return RedisClientError(.timeout, "I/O with \(endpoint) timed out")
            }
            return RedisClientError(
                .ioError, "I/O error \(action) \(endpoint): \(String(cString: strerror(savedErrno)))")
        default:
            var buffer = [CChar](repeating: 0, count: 256)
            let packed = copenssl_pop_error(&buffer, buffer.count)
            let text = packed == 0 ? "SSL error \(code)" : Self.text(buffer)
            return RedisClientError(.ioError, "TLS error \(action) \(endpoint): \(text)")
        }
    }

    /// The session's facts for `doctor`: protocol, cipher, and the server certificate's
    /// subject, issuer and end of validity.
    var info: RedisTLSSessionInfo {
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "?"
        var info = RedisTLSSessionInfo(protocolVersion: version, cipher: cipher, verified: verified)
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return info }
        defer { X509_free(certificate) }
        var buffer = [CChar](repeating: 0, count: 1024)
        if let subject = X509_get_subject_name(certificate) {
            copenssl_name_text(subject, &buffer, Int32(buffer.count))
            info.subject = Self.text(buffer)
        }
        if let issuer = X509_get_issuer_name(certificate) {
            copenssl_name_text(issuer, &buffer, Int32(buffer.count))
            info.issuer = Self.text(buffer)
        }
        var secondsLeft: Int64 = 0
        if copenssl_not_after(certificate, &buffer, Int32(buffer.count), &secondsLeft) > 0 {
            info.notAfter = Self.text(buffer)
            info.secondsUntilExpiry = secondsLeft
        }
        return info
    }

    /// The text of a NUL-terminated C string held in `buffer`.
    private static func text(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Empties this thread's OpenSSL error queue and returns its oldest entry as text.
    private static func popError(fallback: String) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        return copenssl_pop_error(&buffer, buffer.count) == 0 ? fallback : Self.text(buffer)
    }
}
