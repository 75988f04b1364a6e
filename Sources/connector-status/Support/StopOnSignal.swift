import Dispatch
import EmbeddedRedis
import Foundation
import RedisClient

/// How the tool ends on SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal, an ssh session
/// ending): the running command is cancelled, every embedded redis-server is stopped and its
/// temporary directory removed, then the process exits with 128 + the signal number. A command
/// that does not end within ``grace`` after the signal (or a second signal) is cut short — the
/// servers are still stopped first.
enum StopOnSignal {
    /// The signals handled.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// How long a cancelled command may take to wind down.
    static let grace: Duration = .seconds(3)

    private struct State {
        /// The signal sources: they must stay alive for the life of the process.
        var sources: [any DispatchSourceSignal] = []
        var servers: [EmbeddedRedisServer] = []
        var helpers: Set<Int32> = []
        var received: Int32?
        var cancelCommand: (@Sendable () -> Void)?
        var exiting = false
    }

    private static let state = GuardedState(State())

    /// Called once, first thing in `main`. A signal ignored by the parent stays ignored across
    /// `exec` (the demo's and the load test's instances are started by a tool that handles
    /// these signals itself): the defaults are restored, then the handlers installed.
    static func installHandlers() {
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for signalNumber in signals { sigaddset(&unblocked, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        state.withLock { state in
            for signalNumber in signals {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { received(signalNumber) }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    /// Registers the command's task canceller: called on the first signal.
    static func onSignal(_ cancel: @escaping @Sendable () -> Void) {
        state.withLock { $0.cancelCommand = cancel }
    }

    /// Registers an embedded server to stop on a signal (and at a forced exit).
    static func install(_ server: EmbeddedRedisServer) {
        state.withLock { $0.servers.append(server) }
    }

    /// Registers a helper process (redis-benchmark) to kill on a signal: it inherits this
    /// process's blocked signals, so the SIGTERM or SIGINT that stops the tool would not stop
    /// it, and it would go on loading the user's Redis alone. Call ``forgetHelper(_:)`` once
    /// it has exited.
    static func killOnExit(_ pid: Int32) {
        state.withLock { _ = $0.helpers.insert(pid) }
    }

    /// Forgets a helper registered with ``killOnExit(_:)`` (it has exited).
    static func forgetHelper(_ pid: Int32) {
        state.withLock { _ = $0.helpers.remove(pid) }
    }

    /// The signal received, if any.
    static var receivedSignal: Int32? { state.withLock { $0.received } }

    /// Stops every registered embedded server (idempotent).
    static func stopServers() {
        for server in state.withLock({ $0.servers }) { server.stop() }
    }

    /// Stops the servers and exits with 128 + `signalNumber`. Only the first caller exits (the
    /// grace timer and the command's own end may race); any other waits for it.
    static func exitInterrupted(_ signalNumber: Int32) -> Never {
        let first = state.withLock { state -> Bool in
            defer { state.exiting = true }
            return !state.exiting
        }
        guard first else {
            while true { pause() }
        }
        for pid in state.withLock({ $0.helpers }) { kill(pid, SIGKILL) }
        stopServers()
        exit(128 + signalNumber)
    }

    private static func received(_ signalNumber: Int32) {
        let (first, cancel) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            if state.received != nil { return (false, nil) }
            state.received = signalNumber
            return (true, state.cancelCommand)
        }
        guard first else { exitInterrupted(signalNumber) }  // a second signal: now
        guard let cancel else { exitInterrupted(signalNumber) }
        cancel()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(grace.wholeMilliseconds))) {
            exitInterrupted(signalNumber)
        }
    }
}

/// The parent-death watch of an instance process (the demo's and the load test's): its parent
/// gives it a pipe as standard input and never writes to it; when the parent dies, however it
/// dies, the pipe ends and the instance exits instead of running on alone.
enum ParentWatch {
    /// The environment variable a parent sets to ask for the watch.
    static let variable = "CONNECTOR_STATUS_PARENT_PIPE"

    /// Starts the watch when the parent asked for it.
    static func startIfRequested() {
        guard ProcessInfo.processInfo.environment[variable] == "1" else { return }
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(STDIN_FILENO, &byte, 1)
                if count > 0 { continue }
                if count < 0 && errno == EINTR { continue }
                break
            }
            printError("error: the parent process is gone; stopping")
            StopOnSignal.exitInterrupted(SIGHUP)
        }
        thread.start()
    }
}
