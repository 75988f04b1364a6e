import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One hiredis connection, used by exactly one thread at a time (its owner's I/O thread).
///
/// All C calls of the client live here and in `RedisValue+Hiredis.swift`. Every call blocks the
/// calling thread, which is why only dedicated I/O threads use this type. After any error the
/// context is dead: the owner frees it and connects anew, which re-applies the socket timeouts
/// (hiredis's own `redisReconnect` would forget them).
///
/// Over TLS (`rediss://`, ``RedisConfiguration/tls``) hiredis still connects the socket, formats
/// the commands and parses the replies, but a ``TLSSession`` moves the bytes: commands are
/// formatted into ``tlsOutput`` and written with `SSL_write`, and what `SSL_read` decrypts is
/// fed to hiredis's reader. Callers see the same methods either way.
final class HiredisContext {
    private let context: UnsafeMutablePointer<redisContext>
    let endpoint: RedisEndpoint
    /// The TLS session over the context's socket; `nil`: hiredis reads and writes it itself.
    private var tls: TLSSession?
    /// Commands formatted for the TLS session and not yet written.
    private var tlsOutput: [UInt8] = []

    /// Connects (TCP or unix), sets socket timeouts, then authenticates and selects the database.
    ///
    /// - Throws: ``RedisClientError`` (refused, host not found, timeout, authentication failed,
    ///   invalid database). The password never appears in the error.
    init(configuration: RedisConfiguration) throws(RedisClientError) {
        endpoint = configuration.endpoint
        if configuration.tls != nil, case .unix = configuration.endpoint {
            // Never plain text when TLS was asked for (validate() refuses this too).
            throw RedisClientError(.invalidArgument, "TLS needs a TCP endpoint (not a unix socket)")
        }
        let connectTimeout = configuration.connectTimeout.timeval
        let made: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            made = redisConnectWithTimeout(host, Int32(port), connectTimeout)
        case .unix(let path):
            made = redisConnectUnixWithTimeout(path, connectTimeout)
        }
        guard let made else {
            throw RedisClientError(.ioError, "could not allocate a hiredis context for \(configuration.endpoint)")
        }
        if chiredis_err(made) != 0 {
            let text = String(cString: chiredis_errstr(made))
            redisFree(made)
            throw Self.connectError(text, endpoint: configuration.endpoint)
        }
        if let options = configuration.tls, case .tcp(let host, _) = configuration.endpoint {
            do {
                tls = try TLSSession(
                    fd: chiredis_fd(made), host: host, options: options, endpoint: configuration.endpoint,
                    deadline: .now + configuration.connectTimeout)
            } catch {
                redisFree(made)
                throw error
            }
        } else {
            tls = nil
        }
        context = made
        // Socket timeouts: a blocked read or write gives up instead of hanging forever. (A TLS
        // socket is non-blocking; its session polls against deadlines.)
        redisSetTimeout(context, configuration.commandTimeout.timeval)
        // On failure `deinit` frees the context (every stored property is set by now).
        try handshake(configuration)
    }

    deinit {
        // The TLS session goes first (its close_notify needs the socket), then hiredis closes
        // the socket: never the other way, or the session could write into a reused descriptor.
        tls = nil
        redisFree(context)
    }

    /// The negotiated TLS session (`nil` for a plain connection).
    var tlsInfo: RedisTLSSessionInfo? { tls?.info }

    /// `AUTH`, `SELECT` and `CLIENT SETNAME` as one pipeline, within the connect timeout.
    private func handshake(_ configuration: RedisConfiguration) throws(RedisClientError) {
        var commands: [RedisCommand] = []
        if let password = configuration.password {
            if let user = configuration.username {
                commands.append(RedisCommand("AUTH", user, password))
            } else {
                commands.append(RedisCommand("AUTH", password))
            }
        }
        if configuration.database != 0 { commands.append(RedisCommand("SELECT", configuration.database)) }
        if let name = configuration.clientName { commands.append(RedisCommand("CLIENT", "SETNAME", name)) }
        guard !commands.isEmpty else { return }
        let deadline = ContinuousClock.now + configuration.connectTimeout
        for command in commands { append(command) }
        try flush(deadline: deadline)
        for command in commands {
            let reply = try readReply(deadline: deadline)
            guard case .error(let error) = reply else { continue }
            switch command.name {
            case "AUTH":
                let who = configuration.username.map { "user '\($0)'" } ?? "the default user"
                throw RedisClientError(
                    .authenticationFailed,
                    "authentication to \(endpoint) as \(who) failed: \(error.message)")
            case "SELECT":
                throw RedisClientError(
                    .invalidDatabase,
                    "SELECT \(configuration.database) on \(endpoint) failed: \(error.message)")
            default:
                throw RedisClientError(.unexpectedReply, "\(command.name) on \(endpoint) failed: \(error.message)")
            }
        }
    }

    /// Set when hiredis could not queue a command; ``flush(deadline:whileWaiting:)`` then throws before it
    /// writes anything.
    private var appendFailure: RedisClientError?
    /// Bytes appended and not yet written by ``flush(deadline:whileWaiting:)``.
    var pendingOutputBytes: Int {
        if tls != nil { return tlsOutput.count }
        return Int(chiredis_pending_output(context))
    }

    /// The longest a wait in ``readReply(deadline:whileWaiting:)`` blocks before it runs its
    /// `whileWaiting` (set by the connection: short while callers wait without a cancellation
    /// handler, longer after).
    var waitSliceMilliseconds: Int32 = 50

    /// Queues one command in hiredis's output buffer (argv form: any bytes, NUL included).
    ///
    /// When hiredis cannot (out of memory), the failure is remembered and the next
    /// ``flush(deadline:whileWaiting:)`` throws it without writing a byte: the context must then be dropped
    /// (other commands may sit in its buffer).
    func append(_ command: RedisCommand) {
        let count = command.argumentCount
        let status = command.storage.withUnsafeBufferPointer { storage in
            let base = storage.baseAddress ?? UnsafePointer(bitPattern: 1)!
            return withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { argv in
                return withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { lengths in
                    var start = 0
                    for index in 0..<count {
                        let end = command.ends[index]
                        argv[index] = UnsafeRawPointer(base + start).assumingMemoryBound(to: CChar.self)
                        lengths[index] = end - start
                        start = end
                    }
                    guard tls != nil else {
                        return redisAppendCommandArgv(context, Int32(count), argv.baseAddress, lengths.baseAddress)
                    }
                    return formatForTLS(count: Int32(count), argv: argv.baseAddress, lengths: lengths.baseAddress)
                }
            }
        }
        if status != REDIS_OK, appendFailure == nil {
            appendFailure = RedisClientError(
                .ioError, "hiredis could not queue \(command.name) for \(endpoint) (out of memory); nothing was written"
            )
        }
    }

    /// Formats one command with hiredis into ``tlsOutput``.
    private func formatForTLS(
        count: Int32, argv: UnsafeMutablePointer<UnsafePointer<CChar>?>?, lengths: UnsafePointer<Int>?
    ) -> Int32 {
        var formatted: UnsafeMutablePointer<CChar>?
        let length = redisFormatCommandArgv(&formatted, count, argv, lengths)
        guard length >= 0, let formatted else { return REDIS_ERR }
        tlsOutput.append(contentsOf: UnsafeRawBufferPointer(start: formatted, count: Int(length)))
        redisFreeCommand(formatted)
        return REDIS_OK
    }

    /// Writes everything queued.
    ///
    /// Throws without writing anything when a command could not be queued (see ``append(_:)``).
    ///
    /// - Throws: ``RedisClientError`` (`timeout`, `connectionClosed`, `ioError`); the context is
    ///   dead afterwards.
    ///
    /// With `whileWaiting`, a wait for the socket is cut in slices of at most
    /// ``waitSliceMilliseconds`` and `whileWaiting` runs between them.
    func flush(deadline: ContinuousClock.Instant, whileWaiting: (() -> Void)? = nil) throws(RedisClientError) {
        if let appendFailure { throw appendFailure }
        if let tls {
            try tls.write(
                tlsOutput, deadline: deadline, sliceMilliseconds: waitSliceMilliseconds, whileWaiting: whileWaiting)
            tlsOutput.removeAll(keepingCapacity: tlsOutput.count <= 256 * 1024)
            return
        }
        var done: Int32 = 0
        while done == 0 {
            var timeout = (deadline - .now).pollMilliseconds
            if whileWaiting != nil { timeout = min(timeout, waitSliceMilliseconds) }
            let ready = chiredis_poll(context, chiredis_pollout(), timeout)
            if ready == 0 {
                if let whileWaiting, ContinuousClock.now < deadline {
                    whileWaiting()
                    continue
                }
                throw RedisClientError(.timeout, "writing to \(endpoint) timed out")
            }
            if ready < 0 { throw currentError(fallback: "poll failed while writing") }
            if redisBufferWrite(context, &done) != REDIS_OK { throw currentError(fallback: "write failed") }
        }
    }

    /// Reads the next reply, waiting at most until `deadline`.
    ///
    /// - Returns: the reply; a server error reply is returned as ``RedisValue/error(_:)``.
    /// - Throws: ``RedisClientError`` (`timeout`, `connectionClosed`, `protocolError`,
    ///   `ioError`); the context is dead afterwards.
    /// With `whileWaiting`, the wait is cut in slices of at most ``waitSliceMilliseconds`` and
    /// `whileWaiting` runs between them (the connection expires queued requests and parks
    /// waiting callers there).
    func readReply(
        deadline: ContinuousClock.Instant, whileWaiting: (() -> Void)? = nil
    ) throws(RedisClientError) -> RedisValue {
        if let value = try bufferedReply() { return value }
        if let tls { return try readReply(over: tls, deadline: deadline, whileWaiting: whileWaiting) }
        while true {
            var timeout = (deadline - .now).pollMilliseconds
            if whileWaiting != nil { timeout = min(timeout, waitSliceMilliseconds) }
            let ready = chiredis_poll(context, chiredis_pollin(), timeout)
            if ready == 0 {
                guard let whileWaiting, ContinuousClock.now < deadline else {
                    throw RedisClientError(.timeout, "no reply from \(endpoint) within the command timeout")
                }
                whileWaiting()
                continue
            }
            if ready < 0 { throw currentError(fallback: "poll failed while reading") }
            if redisBufferRead(context) != REDIS_OK { throw currentError(fallback: "read failed") }
            if let value = try bufferedReply() { return value }
        }
    }

    /// ``readReply(deadline:whileWaiting:)`` over TLS: the same waits, with the bytes read by
    /// `SSL_read` (decrypted bytes OpenSSL already holds are read without polling).
    private func readReply(
        over tls: TLSSession, deadline: ContinuousClock.Instant, whileWaiting: (() -> Void)?
    ) throws(RedisClientError) -> RedisValue {
        while true {
            if !tls.hasBufferedPlaintext {
                var timeout = (deadline - .now).pollMilliseconds
                if whileWaiting != nil { timeout = min(timeout, waitSliceMilliseconds) }
                let ready = tls.waitForSocket(timeoutMilliseconds: timeout)
                if ready == 0 {
                    guard let whileWaiting, ContinuousClock.now < deadline else {
                        throw RedisClientError(.timeout, "no reply from \(endpoint) within the command timeout")
                    }
                    whileWaiting()
                    continue
                }
                if ready < 0 { throw RedisClientError(.ioError, "poll failed while reading from \(endpoint)") }
            }
            if try feedReader(from: tls) > 0, let value = try bufferedReply() { return value }
        }
    }

    /// Reads what the TLS session has now and hands it to hiredis's reader; the byte count.
    private func feedReader(from tls: TLSSession) throws(RedisClientError) -> Int {
        let count = try tls.readAvailable()
        guard count > 0 else { return 0 }
        let bytes = tls.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self)
        if redisReaderFeed(context.pointee.reader, bytes, count) != REDIS_OK {
            throw RedisClientError(.ioError, "hiredis could not buffer a reply from \(endpoint) (out of memory)")
        }
        return count
    }

    /// Whether an idle connection is still usable: nothing may arrive on it between requests,
    /// so a readable socket means the server closed it (EOF, for example after `CLIENT KILL`,
    /// a restart or an idle timeout) or sent garbage. Checked before each write so that a
    /// command is never written into a connection known to be dead (its outcome would then be
    /// unknown, and the caller could not retry safely).
    ///
    /// Also unhealthy: bytes already read into hiredis's reader but never claimed by a caller
    /// (``hasUnreadReplyBytes``).
    func isHealthyWhileIdle() -> Bool {
        if hasUnreadReplyBytes { return false }
        if let tls { return isHealthyWhileIdle(over: tls) }
        let ready = chiredis_poll(context, chiredis_pollin(), 0)
        if ready == 0 { return true }
        if ready < 0 { return false }
        return false
    }

    /// ``isHealthyWhileIdle()`` over TLS: a readable socket may carry records without data (a
    /// TLS 1.3 session ticket or key update), which are consumed here; any decrypted byte, an
    /// EOF or an error means the connection is not usable.
    private func isHealthyWhileIdle(over tls: TLSSession) -> Bool {
        if tls.hasBufferedPlaintext { return false }
        for _ in 0..<8 {
            let ready = tls.socketIsReadable()
            if ready == 0 { return true }
            if ready < 0 { return false }
            guard let count = try? feedReader(from: tls), count == 0 else { return false }
        }
        return false
    }

    /// Whether hiredis's reader holds bytes no caller has taken: between requests that means a
    /// command was answered more often than it was sent (the invariant every reply's routing
    /// rests on is broken).
    var hasUnreadReplyBytes: Bool {
        guard let reader = context.pointee.reader else { return false }
        return reader.pointee.len > reader.pointee.pos
    }

    /// Whether bytes are waiting on the socket right now (used by the subscriber to wait with a
    /// short timeout without killing the connection).
    func waitReadable(timeout: Duration) throws(RedisClientError) -> Bool {
        if let tls {
            if tls.hasBufferedPlaintext { return true }
            let ready = tls.waitForSocket(timeoutMilliseconds: timeout.pollMilliseconds)
            if ready < 0 { throw RedisClientError(.ioError, "poll failed on the connection to \(endpoint)") }
            return ready > 0
        }
        let ready = chiredis_poll(context, chiredis_pollin(), timeout.pollMilliseconds)
        if ready < 0 { throw currentError(fallback: "poll failed") }
        return ready > 0
    }

    /// Reads what the socket holds now and returns a complete reply if one is buffered.
    func readAvailable() throws(RedisClientError) -> RedisValue? {
        if let tls {
            _ = try feedReader(from: tls)
            return try bufferedReply()
        }
        if redisBufferRead(context) != REDIS_OK { throw currentError(fallback: "read failed") }
        return try bufferedReply()
    }

    /// A complete reply already in hiredis's reader buffer, or `nil`.
    func bufferedReply() throws(RedisClientError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        if redisGetReplyFromReader(context, &raw) != REDIS_OK {
            throw currentError(fallback: "protocol error")
        }
        guard let raw else { return nil }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }  // top-level reply only: it frees the nested ones
        return RedisValue(copying: reply)
    }

    /// The context's error as a typed error.
    private func currentError(fallback: String) -> RedisClientError {
        let code = chiredis_err(context)
        let text = code == 0 ? fallback : String(cString: chiredis_errstr(context))
        switch code {
        case REDIS_ERR_EOF:
            return RedisClientError(.connectionClosed, "\(endpoint) closed the connection")
        case REDIS_ERR_PROTOCOL:
            return RedisClientError(.protocolError, "protocol error from \(endpoint): \(text)")
        case REDIS_ERR_IO where text.contains("temporarily unavailable") || text.contains("timed out"):
            return RedisClientError(.timeout, "I/O with \(endpoint) timed out")
        case REDIS_ERR_IO where text.contains("reset") || text.contains("Broken pipe"):
            return RedisClientError(.connectionClosed, "connection to \(endpoint) lost: \(text)")
        default:
            return RedisClientError(.ioError, "I/O error with \(endpoint): \(text)")
        }
    }

    /// Maps hiredis's connect error text to a typed error.
    private static func connectError(_ text: String, endpoint: RedisEndpoint) -> RedisClientError {
        let lowered = text.lowercased()
        if lowered.contains("refused") || lowered.contains("no such file") {
            return RedisClientError(.connectionRefused, "cannot connect to \(endpoint): \(text)")
        }
        if lowered.contains("timed out") || lowered.contains("temporarily unavailable") {
            return RedisClientError(.timeout, "connecting to \(endpoint) timed out")
        }
        if lowered.contains("not known") || lowered.contains("name resolution") || lowered.contains("nodename")
            || lowered.contains("no address")
        {
            return RedisClientError(.hostNotFound, "cannot resolve host of \(endpoint): \(text)")
        }
        return RedisClientError(.ioError, "cannot connect to \(endpoint): \(text)")
    }
}
