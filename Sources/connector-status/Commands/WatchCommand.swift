import ArgumentParser
import ConnectorStatus
import Foundation
import RedisClient
import Synchronization

/// `watch [--line L]`: prints status events as they happen, from every instance.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print status events (added, updated, deleted) of one line or of every line.",
        discussion: """
            One line per event: `kind connector line version seq changed` (changed: the changed \
            fields, comma-separated, or -). With --json, one JSON object per line: {"kind", \
            "connector", "line", "version", "seq", "changed", "ts"}. When events may have been \
            missed (a sequence gap, a reconnect, an overflow) a resync line is printed: \
            `resync line|* reason` ({"kind":"resync","line":…,"reason":…} with --json). \
            `watching …` is printed on stderr once subscribed. Runs until interrupted; once \
            subscribed it reconnects by itself forever, but the first connect is bounded: a \
            server that cannot be reached, refuses the password or does not confirm the \
            subscription within 15 s exits 3.

            Example:
              connector-status watch --line 5
              connector-status watch --json | jq .
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "Only this line (default: every line).") var line: Int64?
    @Flag(help: "One JSON object per line.") var json = false
    @Option(help: .hidden) var count: Int?
    @Option(help: ArgumentHelp("Stop after this many seconds (exit 1 if --count was not reached).", valueName: "s"))
    var timeout: Double?

    /// How the watch ended (or, `subscribedInTime`, a step on the way).
    enum Ending: Sendable {
        case countReached, streamEnded, timedOut, neverSubscribed, subscribedInTime
    }

    /// The longest `--timeout` accepted, in seconds (a year).
    static let maximumTimeout = 31_536_000.0
    /// How long the first connect and subscription may take before the watch gives up (exit 3).
    static let firstSubscribeTimeout: Duration = .seconds(15)

    func run() async throws {
        let line = try line.map { try OpsInput.line($0) }
        if let count, count <= 0 { throw ToolFailure.badInput("--count must be positive") }
        if let timeout, !(timeout > 0 && timeout <= Self.maximumTimeout) {
            throw ToolFailure.badInput(
                "--timeout must be a number of seconds above 0, at most \(Int(Self.maximumTimeout))")
        }
        let (count, timeout, json) = (count, timeout, json)
        let ending = try await store.withSession { session in
            // The first connect is bounded: an unreachable server or a refused password fails
            // here (exit 3) instead of the subscription retrying forever.
            try await session.redis.send("PING")
            let events = session.store.events(lines: line.map { [$0] })
            let subscribed = SubscribedFlag()
            let ending = try await withThrowingTaskGroup(of: Ending.self) { group in
                group.addTask {
                    let deadline = ContinuousClock.now + Self.firstSubscribeTimeout
                    while !subscribed.isSet {
                        if ContinuousClock.now >= deadline { return .neverSubscribed }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    return .subscribedInTime
                }
                group.addTask {
                    var seen = 0
                    for await notification in events {
                        if case .subscribed = notification { subscribed.set() }
                        if Self.emit(notification, line: line, json: json) {
                            seen += 1
                            if let count, seen >= count { return .countReached }
                        }
                    }
                    return .streamEnded
                }
                if let timeout {
                    group.addTask {
                        try await Task.sleep(for: .seconds(timeout))
                        return .timedOut
                    }
                }
                var first = Ending.streamEnded
                while let next = try await group.next() {
                    if next == .subscribedInTime { continue }
                    first = next
                    break
                }
                events.close()
                group.cancelAll()
                return first
            }
            return ending
        }
        if ending == .neverSubscribed {
            throw ToolFailure(
                code: ToolExit.redisUnavailable,
                message: "the subscription was not confirmed within \(Self.firstSubscribeTimeout); giving up")
        }
        if ending == .timedOut, let count {
            throw ToolFailure.notFound("timed out before \(count) event\(count == 1 ? "" : "s")")
        }
    }

    /// Prints one notification; returns `true` when it was a status event.
    static func emit(_ notification: StatusNotification, line: LineID?, json: Bool) -> Bool {
        switch notification {
        case .subscribed:
            printError("watching \(line.map { "line \($0)" } ?? "every line") (Ctrl-C to stop)")
            return false
        case .event(let event):
            if json {
                let object: JSONValue = .object([
                    "kind": .string(event.kind.rawValue), "connector": .string(event.connector.rawValue),
                    "line": .integer(event.line.rawValue), "version": .integer(event.version),
                    "seq": .integer(event.sequence), "changed": .array(event.changedFields.map { .string($0) }),
                    "ts": .number((event.timestamp.timeIntervalSince1970 * 1000).rounded()),
                ])
                printLine(object.text)
            } else {
                let changed = event.changedFields.isEmpty ? "-" : event.changedFields.joined(separator: ",")
                printLine(
                    "\(event.kind.rawValue) \(event.connector) \(event.line) \(event.version) \(event.sequence) \(changed)"
                )
            }
            return true
        case .resyncNeeded(let resyncLine, let reason):
            let reasonText: String
            var object: [String: JSONValue] = [
                "kind": .string("resync"), "line": resyncLine.map { .integer($0.rawValue) } ?? .null,
            ]
            switch reason {
            case .sequenceGap(let last, let received):
                reasonText = "sequence-gap \(last)->\(received)"
                object["reason"] = .string("sequence-gap")
                object["last"] = .integer(last)
                object["received"] = .integer(received)
            case .sequenceRegressed(let last, let received):
                reasonText = "sequence-regressed \(last)->\(received)"
                object["reason"] = .string("sequence-regressed")
                object["last"] = .integer(last)
                object["received"] = .integer(received)
            case .epochChanged(let expected, let received):
                reasonText = "epoch-changed \(expected.isEmpty ? "-" : expected)->\(received.isEmpty ? "-" : received)"
                object["reason"] = .string("epoch-changed")
                object["expected"] = .string(expected)
                object["received"] = .string(received)
            case .reconnected:
                reasonText = "reconnected"
                object["reason"] = .string(reasonText)
            case .overflow:
                reasonText = "overflow"
                object["reason"] = .string(reasonText)
            }
            printLine(
                json ? JSONValue.object(object).text : "resync \(resyncLine.map(String.init) ?? "*") \(reasonText)")
            return false
        }
    }
}

/// Set once the subscription is confirmed (read by the first-connect watchdog).
final class SubscribedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
