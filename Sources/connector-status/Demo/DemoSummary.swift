import ConnectorStatus

/// The demo's closing tables, and the checks that make it fail loudly if instances disagree.
struct DemoSummary {
    let statuses: [StatusSnapshot]
    let connectors: [Connector]
    let observations: [DemoObservation]
    let readyOnLineOne: [ConnectorID]

    func render() -> String {
        var out: [String] = []
        var registered = TextTable(["connector", "name", "component", "newsletter", "group chat"])
        for connector in connectors {
            registered.add([
                connector.id.rawValue, connector.name, connector.component, yesNo(connector.newsletter),
                yesNo(connector.chatGroup),
            ])
        }
        out.append("Registered connectors (shared through Redis):")
        out.append(registered.render())
        out.append("")
        var table = TextTable([
            "connector", "line", "ACTIVE", "CONNECTION", "REGISTER", "ERROR", "ready", "VERSION", "DATA",
        ])
        for status in statuses {
            table.add([
                status.connector.rawValue, String(status.line.rawValue), flag(status.active), flag(status.connection),
                flag(status.register), flag(status.error), status.isReady ? "yes" : "no", String(status.version),
                status.data ?? "",
            ])
        }
        out.append("Statuses in Redis at the end:")
        out.append(table.render())
        out.append("Ready on line 1 (one SMEMBERS): \(readyOnLineOne.map(\.rawValue).joined(separator: ", "))")
        out.append("")
        var seen = TextTable([
            "instance", "events (added/updated/deleted)", "resyncs", "readiness checks", "readiness changes seen",
            "cache reads", "cache misses (computed)",
        ])
        for observation in observations {
            let kinds = ["added", "updated", "deleted"].map { kind in
                observation.events.filter { $0.kind == kind }.count
            }
            seen.add([
                observation.instance, kinds.map(String.init).joined(separator: "/"), String(observation.resyncs),
                String(observation.readinessChecks), String(observation.readinessChanges.count),
                String(observation.cacheReads), String(observation.cacheComputations),
            ])
        }
        out.append("What each instance saw:")
        out.append(seen.render())
        if let first = observations.first {
            out.append("")
            out.append("\(first.instance)'s readiness timeline:")
            var timeline = TextTable(["at (ms)", "pair", "ready"])
            for change in first.readinessChanges {
                timeline.add([
                    String(change.atMilliseconds), "\(change.connector)@\(change.line)", change.ready ? "yes" : "no",
                ])
            }
            out.append(timeline.render())
            out.append("")
            out.append("\(first.instance)'s events:")
            var events = TextTable(["line", "seq", "event", "connector", "VERSION", "changed"])
            for event in first.events {
                events.add([
                    String(event.line), String(event.sequence), event.kind, event.connector, String(event.version),
                    event.changed.joined(separator: ","),
                ])
            }
            out.append(events.render())
        }
        return out.joined(separator: "\n")
    }

    /// What must hold at the end; each broken rule is one message.
    static func check(statuses: [StatusSnapshot], observations: [DemoObservation]) -> [String] {
        var problems: [String] = []
        func status(_ connector: ConnectorID, _ line: LineID) -> StatusSnapshot? {
            statuses.first { $0.connector == connector && $0.line == line }
        }
        if status(DemoScenario.telegram, DemoScenario.lineOne)?.isReady != true {
            problems.append("demo_telegram on line 1 should be ready")
        }
        if status(DemoScenario.bot, DemoScenario.lineOne)?.isReady != true {
            problems.append("demo_bot on line 1 should be ready")
        }
        if status(DemoScenario.telegram, DemoScenario.lineTwo)?.isReady != false {
            problems.append("demo_telegram on line 2 should exist and not be ready")
        }
        if status(DemoScenario.bot, DemoScenario.lineTwo) != nil {
            problems.append("demo_bot on line 2 should be deleted")
        }
        guard observations.count == 2 else { return problems + ["expected two observers"] }
        let (first, second) = (observations[0], observations[1])
        let key: (DemoObservation.SeenEvent) -> String = {
            "\($0.line)/\($0.sequence)/\($0.kind)/\($0.connector)/\($0.version)"
        }
        if first.events.map(key) != second.events.map(key) {
            problems.append("the observers saw different events")
        }
        for line in [DemoScenario.lineOne, DemoScenario.lineTwo] {
            // Increasing per line (line-cache writes share the line's sequence, so status events
            // skip their numbers; the subscription itself reports a real gap, counted below).
            let sequences = first.events.filter { $0.line == line.rawValue }.map(\.sequence)
            if zip(sequences, sequences.dropFirst()).contains(where: { $1 <= $0 }) {
                problems.append("line \(line) events are not in order: \(sequences)")
            }
        }
        for observation in observations where observation.missedEvents > 0 {
            problems.append("\(observation.instance) was told it missed events \(observation.missedEvents) times")
        }
        if first.events.isEmpty { problems.append("no events were seen") }
        // Agreement, not timing: how often each observer polled, and which of them happened to
        // compute a cache value, depends on the pace (--pause-ms) and the machine. What must
        // hold is that each ended with the readiness Redis holds, that both ended with the same
        // line info from the shared cache, and that the cache served reads without computing.
        for observation in observations {
            for pair in DemoScenario.pairs {
                let expected = status(pair.connector, pair.line)?.isReady ?? false
                let seen = observation.readinessChanges.last {
                    $0.connector == pair.connector.rawValue && $0.line == pair.line.rawValue
                }
                if seen?.ready != expected {
                    problems.append(
                        "\(observation.instance) did not end with \(pair.connector)@\(pair.line) "
                            + (expected ? "ready" : "not ready"))
                }
            }
        }
        if first.lastLineInfo != second.lastLineInfo {
            problems.append(
                "the observers ended with different line info: \(first.lastLineInfo) vs \(second.lastLineInfo)")
        }
        let reads = observations.reduce(0) { $0 + $1.cacheReads }
        let computations = observations.reduce(0) { $0 + $1.cacheComputations }
        if computations == 0 || reads <= computations {
            problems.append("the shared line cache was not used (\(reads) reads, \(computations) computed)")
        }
        return problems
    }

    private func flag(_ value: Bool) -> String { value ? "Y" : "N" }
    private func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }
}
