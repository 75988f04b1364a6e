import Foundation
import RedisClient

/// A private `redis-server` for this process: a unix socket in a fresh temporary directory, no
/// persistence, no TCP port, stopped (and its directory removed) by ``stop()``.
///
/// The command-line tool starts one when no Redis URL is configured; tests use one when they
/// must kill and restart a server without disturbing others.
///
/// ```swift
/// let server = try EmbeddedRedisServer.start()
/// defer { server.stop() }
/// let url = server.url   // "unix:///tmp/embedded-redis-…/redis.sock"
/// ```
public final class EmbeddedRedisServer: Sendable {
    /// The socket path; it stays the same across `restart(timeout:)`.
    public let socketPath: String
    /// The temporary directory holding the socket and the server log.
    public let directory: URL
    /// The `redis-server` binary used.
    public let executable: String
    private let extraArguments: [String]
    private struct Running {
        var process: Process?
        var watchdog: Watchdog?
    }

    private let running = GuardedState(Running())

    /// The server's process id while it runs (for pinning it to CPUs in benchmarks).
    public var processIdentifier: Int32? {
        running.withLock { $0.process?.processIdentifier }
    }

    /// A `unix://` URL for ``socketPath``.
    public var url: String { "unix://\(socketPath)" }

    /// Starts a server and waits (up to `timeout`) until its socket accepts connections.
    ///
    /// - Parameters:
    ///   - executable: the `redis-server` binary; by default the first on `PATH`, else
    ///     `/usr/bin/redis-server`.
    ///   - arguments: extra `redis-server` options, for example `["--requirepass", "pw"]`.
    ///   - timeout: how long to wait for the server to answer `PING`.
    /// - Throws: ``EmbeddedRedisError`` when the binary is missing or the server does not come up
    ///   (the message includes the end of the server's log).
    public static func start(
        executable: String? = nil, arguments: [String] = [], timeout: Duration = .seconds(10)
    ) throws -> EmbeddedRedisServer {
        let binary = try executable ?? findExecutable()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("embedded-redis-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let server = EmbeddedRedisServer(
            executable: binary, directory: directory, socketPath: directory.appendingPathComponent("redis.sock").path,
            extraArguments: arguments)
        do {
            try server.startWatchdog()
            try server.launch(timeout: timeout)
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    private init(executable: String, directory: URL, socketPath: String, extraArguments: [String]) {
        self.executable = executable
        self.directory = directory
        self.socketPath = socketPath
        self.extraArguments = extraArguments
    }

    deinit { stopProcess() }

    /// Kills the server at once (SIGKILL, no shutdown), as a crash would. Its socket stops
    /// answering; `restart(timeout:)` brings it back on the same path.
    public func kill() {
        stopProcess()
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    /// Starts the server again on the same socket (after ``kill()``, or stops it first).
    ///
    /// - Throws: ``EmbeddedRedisError`` when it does not come up.
    public func restart(timeout: Duration = .seconds(10)) throws {
        stopProcess()
        try launch(timeout: timeout)
    }

    /// Stops the server at once and removes its directory.
    /// Safe to call more than once.
    public func stop() {
        stopProcess()
        try? FileManager.default.removeItem(at: directory)
        let watchdog = running.withLock { running -> Watchdog? in
            defer { running.watchdog = nil }
            return running.watchdog
        }
        watchdog?.dismiss()
    }

    /// The guard against a parent that dies without stopping the server (SIGKILL, a crash):
    /// a `/bin/sh` whose standard input is a pipe only this process holds the write end of
    /// (Foundation closes every other descriptor in the children it spawns). When that pipe
    /// ends — this process exited, however — the shell kills the server named by the pid file,
    /// if that process is still this server (its command line names the socket), and removes
    /// the directory. After ``stop()`` the directory is gone and the shell does nothing.
    private struct Watchdog {
        let process: Process
        let pipe: Pipe

        func dismiss() {
            try? pipe.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    private var pidFile: String { directory.appendingPathComponent("redis.pid").path }

    private func startWatchdog() throws {
        let script = """
            read _ignored
            pid=$(cat "$2" 2>/dev/null)
            if [ -n "$pid" ] && grep -qF "$3" "/proc/$pid/cmdline" 2>/dev/null; then kill -9 "$pid"; fi
            rm -rf "$1"
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, "embedded-redis-watchdog", directory.path, pidFile, socketPath]
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EmbeddedRedisError(
                message: "cannot run /bin/sh (the server's watchdog): \(error.localizedDescription)")
        }
        try? pipe.fileHandleForReading.close()  // the shell holds its own copy
        running.withLock { $0.watchdog = Watchdog(process: process, pipe: pipe) }
    }

    /// Ends the server with SIGKILL and reaps it. The server holds only throwaway data (no
    /// persistence), so nothing is lost; and SIGTERM would not do: a child spawned by Foundation's
    /// `Process` inherits the parent's blocked signals, so a Swift process that blocks SIGTERM
    /// (as test runners do) would leave it pending forever.
    private func stopProcess() {
        let process = running.withLock { running -> Process? in
            defer { running.process = nil }
            return running.process
        }
        guard let process else { return }
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    private func launch(timeout: Duration) throws {
        let logPath = directory.appendingPathComponent("redis.log").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments =
            [
                "--port", "0",
                "--unixsocket", socketPath,
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--dir", directory.path,
                "--logfile", logPath,
                "--pidfile", pidFile,
            ] + extraArguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw EmbeddedRedisError(message: "cannot run \(executable): \(error.localizedDescription)")
        }
        running.withLock { $0.process = process }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning { break }
            if Self.answersPing(socketPath) { return }
            usleep(5_000)
        }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let tail = log.split(separator: "\n").suffix(5).joined(separator: " | ")
        throw EmbeddedRedisError(message: "redis-server did not start within \(timeout); log: \(tail)")
    }

    /// Whether a server at the unix socket `path` is ready: it answers `PING` with `PONG` (or
    /// with `NOAUTH` when a password is set); a server still loading its data set answers
    /// `-LOADING` and is not ready yet.
    private static func answersPing(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ping = Array("PING\r\n".utf8)
        guard write(descriptor, ping, ping.count) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &reply, reply.count)
        guard count > 0 else { return false }
        // `-NOAUTH`: up, and protected by a password (or ACL) the caller will send.
        return reply.starts(with: Array("+PONG".utf8)) || reply.starts(with: Array("-NOAUTH".utf8))
    }

    private static func findExecutable() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let candidates =
            path.split(separator: ":").map { "\($0)/redis-server" } + [
                "/usr/bin/redis-server", "/usr/sbin/redis-server",
            ]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw EmbeddedRedisError(
            message: "redis-server not found on PATH; install it (Debian: apt-get install -y redis-server)")
    }
}

/// Why an embedded server could not be started.
public struct EmbeddedRedisError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, with the end of the server's log when there is one.
    public let message: String
    public var description: String { message }
}

extension EmbeddedRedisServer {
    /// ``start(executable:arguments:timeout:)`` for async code: the blocking launch and wait run
    /// on a dedicated thread, never on Swift's cooperative pool.
    public static func start(
        executable: String? = nil, arguments: [String] = [], timeout: Duration = .seconds(10)
    ) async throws -> EmbeddedRedisServer {
        try await offThePool {
            try EmbeddedRedisServer.start(executable: executable, arguments: arguments, timeout: timeout)
        }
    }

    /// ``stop()`` for async code: the kill, the reaping of the process and the removal of the
    /// directory run on a dedicated thread, never on Swift's cooperative pool.
    public func stopOffThePool() async {
        _ = try? await Self.offThePool { self.stop() }
    }

    /// ``kill()`` for async code, off the cooperative pool.
    public func killOffThePool() async {
        _ = try? await Self.offThePool { self.kill() }
    }

    /// ``restart(timeout:)`` for async code, off the cooperative pool.
    public func restart(timeout: Duration = .seconds(10)) async throws {
        try await Self.offThePool { try self.restart(timeout: timeout) }
    }

    /// Runs blocking `work` on a new thread and returns its result.
    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try work() })
            }
            thread.start()
        }
    }
}
