import Foundation
import Testing

@testable import ConnectorStatus

/// A fill that read ahead of the applied events, then another history (a failover): found by the
/// review of issue 14's line-cache work; failed before fills were kept as of the head.
extension NearLineTests {
    static func cacheSet(_ sequence: Int64, from previous: String, to epoch: String) -> LineEventMessage {
        cacheEvent(sequence, from: previous, to: epoch, op: "set")
    }

    @Test func anEntryReadAheadOnALostHistoryIsNotProvenByAnotherHistory() {
        let lines = NearCacheLines(options: NearCacheOptions(maxStaleness: .milliseconds(300)), stripeCount: 2)
        let line: Int64 = 7
        let start: UInt64 = 1_000 * Self.second
        let name = NearEntryKey(directory: "d", key: "k")
        // First fill: head (10, a); proven.
        let first = lines.beginFill(line: line, now: start)
        lines.completeFill(first, connector: Self.telegram, link: ChainLink(sequence: 10, epoch: "a"), snapshot: nil)
        _ = lines.confirm(
            line: line, identity: first.identity, link: ChainLink(sequence: 10, epoch: "a"), startedAt: start)
        // A fill reads the old master at (12, c): it holds the value of the set at 11 (old history),
        // whose event never reaches this subscriber.
        let ahead = lines.beginFill(line: line, now: start)
        #expect(
            lines.completeCacheFill(
                ahead, name: name, link: ChainLink(sequence: 12, epoch: "c"),
                entry: NearEntry(
                    generation: 5, payload: Array("old".utf8), decoded: "old", expiresAt: .max, sequence: 0, bytes: 100)
            )
                == .cached)
        // The new master lost 11 and 12; new writes 11' (a set of the same key) and 12' follow (10, a).
        #expect(lines.apply(Self.cacheSet(11, from: "a", to: "b2")) == nil)
        #expect(lines.apply(Self.cacheSet(12, from: "b2", to: "c2")) == nil)
        _ = lines.confirm(
            line: line, identity: first.identity, link: ChainLink(sequence: 12, epoch: "c2"),
            startedAt: start + Self.second / 100)
        let served = lines.cacheEntry(line: line, name: name, now: start + Self.second / 50)
        #expect(served == nil, "the lost history's value is served after the new history's set was applied")
    }
}
