import Foundation
import Testing

/// One way to guard shared state (issue 16): `GuardedState` (RedisClient/Support), a pthread
/// mutex ThreadSanitizer understands, or `Atomic` for a single word. No `NSLock`, no
/// `Synchronization.Mutex` (TSan on Linux does not see it), no `nonisolated(unsafe)` statics;
/// `@unchecked Sendable` only on the few types listed here, each with its reason.
@Suite("Shared state")
struct SharedStateTests {
    /// Files (under `Sources/`) that may hold a lock other than `GuardedState`.
    static let otherLocksAllowed: [String: String] = [
        "RedisClient/Support/ConditionLock.swift": "the pthread mutex and condition under GuardedState",
        "RedisClient/Support/GuardedState.swift": "its ConditionLock",
    ]

    /// Files that may declare a type `@unchecked Sendable`, and why the compiler cannot check it.
    static let uncheckedAllowed: [String: String] = [
        "RedisClient/Support/GuardedState.swift": "the primitive: its value is reached only with its lock held",
        "RedisClient/Support/ConditionLock.swift": "pthread objects made once, handed only to pthread calls",
        "RedisClient/Connection/PendingWork.swift": "handed between a caller and an I/O thread by atomics",
        "RedisClient/PubSub/SubscriptionWorker.swift": "owned by its I/O thread; only `stopped` is shared (atomic)",
        "connector-status/ConnectorStatusTool.swift": "hands the parsed command (not Sendable) to its one task",
    ]

    /// Spellings of a lock that is not `GuardedState` (`ConditionLock` is its implementation).
    static let otherLocks = [
        "NSLock", "NSRecursiveLock", "NSCondition", "Mutex<", "Mutex(", "pthread_mutex_t", "os_unfair_lock",
        "ConditionLock(",
    ]

    @Test func sharedStateIsGuardedOneWay() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String } ?? []
        var offenders: [String] = []
        var checked = 0
        var seenOtherLocks: Set<String> = []
        var seenUnchecked: Set<String> = []
        for file in files where file.hasSuffix(".swift") {
            checked += 1
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                let place = "\(file):\(number + 1): \(code)"
                if Self.otherLocks.contains(where: { code.contains($0) }) {
                    seenOtherLocks.insert(file)
                    if Self.otherLocksAllowed[file] == nil {
                        offenders.append("a lock other than GuardedState: \(place)")
                    }
                }
                if code.contains("@unchecked Sendable") {
                    seenUnchecked.insert(file)
                    if Self.uncheckedAllowed[file] == nil { offenders.append("@unchecked Sendable: \(place)") }
                }
                if code.contains("nonisolated(unsafe)") {
                    offenders.append("nonisolated(unsafe) state (use GuardedState): \(place)")
                }
            }
        }
        #expect(checked > 100, "read \(checked) files under \(sources.path)")
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
        // The lists stay honest: an entry whose file no longer needs it is dropped.
        let stale = Set(Self.otherLocksAllowed.keys).subtracting(seenOtherLocks)
            .union(Set(Self.uncheckedAllowed.keys).subtracting(seenUnchecked))
        #expect(stale.isEmpty, "entries no file needs any more: \(stale.sorted())")
    }
}
