/// What one observer instance saw during the demo; printed as JSON on its last output line.
struct DemoObservation: Codable, Sendable {
    struct SeenEvent: Codable, Sendable {
        var kind: String
        var connector: String
        var line: Int64
        var version: Int64
        var sequence: Int64
        var changed: [String]
    }

    struct ReadinessChange: Codable, Sendable {
        var connector: String
        var line: Int64
        var ready: Bool
        /// Milliseconds since the observer started.
        var atMilliseconds: Int
    }

    var instance: String
    var events: [SeenEvent] = []
    var resyncs = 0
    /// Resyncs for a line's history: a sequence gap or step back, or an epoch chain break.
    var missedEvents = 0
    var readinessChanges: [ReadinessChange] = []
    var readinessChecks = 0
    var cacheReads = 0
    var cacheComputations = 0
    /// The last line-info value each line's cache returned.
    var lastLineInfo: [String: String] = [:]
}
