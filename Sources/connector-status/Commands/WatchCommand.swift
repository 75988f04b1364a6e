import ArgumentParser
import ConnectorStatus
import Foundation

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
            `watching …` is printed on stderr once subscribed. Runs until interrupted.

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

    /// How the watch ended.
    enum Ending: Sendable {
        case countReached, streamEnded, timedOut
    }

    func run() async throws {
        let line = try line.map { try OpsInput.line($0) }
        if let count, count <= 0 { throw ToolFailure.badInput("--count must be positive") }
        if let timeout, timeout <= 0 { throw ToolFailure.badInput("--timeout must be positive") }
        let (count, timeout, json) = (count, timeout, json)
        let ending = try await store.withSession { session in
            let events = session.store.events(lines: line.map { [$0] })
            let ending = try await withThrowingTaskGroup(of: Ending.self) { group in
                group.addTask {
                    var seen = 0
                    for await notification in events {
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
                let first = try await group.next() ?? .streamEnded
                events.close()
                group.cancelAll()
                return first
            }
            return ending
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
