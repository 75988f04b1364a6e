import Dispatch
import EmbeddedRedis
import Foundation

/// Stops an embedded redis-server when the tool is interrupted (Ctrl-C, SIGTERM), so no
/// private server outlives the command that started it.
enum StopOnSignal {
    /// Signal sources must stay alive; kept here for the life of the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let lock = NSLock()

    static func install(_ server: EmbeddedRedisServer) {
        lock.lock()
        defer { lock.unlock() }
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                server.stop()
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}
