import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// Instances 2 and 3: ordinary app servers. They follow status events, check readiness of
/// every pair and read each line's connector info through the shared line cache, until the
/// coordinator says the demo is over; then they report what they saw.
struct DemoObserver {
    let name: String
    let redis: any RedisCommandClient
    let store: StatusStore
    let cache: LineCache
    let interval: Duration

    func run() async throws -> DemoObservation {
        let started = ContinuousClock.now
        let collected = DemoCollected(instance: name)
        let events = store.events(lines: [DemoScenario.lineOne, DemoScenario.lineTwo])
        let listener = Task {
            for await notification in events {
                switch notification {
                case .subscribed:
                    FileHandle.standardOutput.write(Data("subscribed\n".utf8))
                case .event(let event):
                    collected.add(
                        DemoObservation.SeenEvent(
                            kind: event.kind.rawValue, connector: event.connector.rawValue, line: event.line.rawValue,
                            version: event.version, sequence: event.sequence, changed: event.changedFields))
                case .resyncNeeded(_, let reason):
                    collected.resync()
                    switch reason {
                    case .sequenceGap, .sequenceRegressed, .epochChanged: collected.missed()
                    case .reconnected, .overflow: break
                    }
                }
            }
        }
        var lastReady: [StatusPair: Bool] = [:]
        let doneKey = DemoScenario.doneKey(store.keys)
        while try await redis.send("EXISTS", doneKey).int != 1 {
            let readiness = try await store.readiness(of: DemoScenario.pairs)
            collected.checked(DemoScenario.pairs.count)
            for pair in DemoScenario.pairs {
                let ready = readiness[pair] ?? false
                if lastReady[pair] != ready {
                    lastReady[pair] = ready
                    collected.readinessChanged(
                        DemoObservation.ReadinessChange(
                            connector: pair.connector.rawValue, line: pair.line.rawValue, ready: ready,
                            atMilliseconds: Int((ContinuousClock.now - started).milliseconds)))
                }
            }
            for line in [DemoScenario.lineOne, DemoScenario.lineTwo] {
                let store = self.store
                let info: String = try await cache.value(key: "line-info", in: .infoConnectorsLine, line: line) {
                    collected.computed()
                    let statuses = try await store.statuses(line: line)
                    return statuses.map { "\($0.connector)=\($0.isReady ? "ready" : "down")" }.joined(separator: ", ")
                }
                collected.read(line: line, info: info)
            }
            try await Task.sleep(for: interval)
        }
        // Every event the operator caused is published before the done key is set, but its
        // delivery may lag on a loaded machine: wait (bounded) until each line's last sequence
        // in Redis has been seen, so that what is compared is what happened, not how fast.
        let deadline = ContinuousClock.now + .seconds(10)
        for line in [DemoScenario.lineOne, DemoScenario.lineTwo] {
            let last = try await redis.send("GET", store.keys.lineSequence(line)).string.flatMap { Int64($0) } ?? 0
            while events.lastSequence(line: line) ?? 0 < last, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        events.close()
        listener.cancel()
        return collected.observation
    }
}

/// The observer's findings, shared between its event listener and its polling loop.
final class DemoCollected: Sendable {
    private let value: GuardedState<DemoObservation>

    init(instance: String) { value = GuardedState(DemoObservation(instance: instance)) }

    var observation: DemoObservation { value.withLock { $0 } }
    func add(_ event: DemoObservation.SeenEvent) { value.withLock { $0.events.append(event) } }
    func resync() { value.withLock { $0.resyncs += 1 } }
    func missed() { value.withLock { $0.missedEvents += 1 } }
    func checked(_ count: Int) { value.withLock { $0.readinessChecks += count } }
    func readinessChanged(_ change: DemoObservation.ReadinessChange) {
        value.withLock { $0.readinessChanges.append(change) }
    }
    func computed() { value.withLock { $0.cacheComputations += 1 } }
    func read(line: LineID, info: String) {
        value.withLock {
            $0.cacheReads += 1
            $0.lastLineInfo[String(line.rawValue)] = info
        }
    }
}
