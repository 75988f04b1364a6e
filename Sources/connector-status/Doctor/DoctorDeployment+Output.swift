import ConnectorStatusDiagnostics
import RedisClient

/// The deployment part of `doctor`'s output.
extension DoctorDeployment {
    var object: JSONValue {
        var object: [String: JSONValue] = [
            "kind": .string(kind.rawValue), "url": .string(url),
            "masters": .array(
                masters.map { master in
                    var fields: [String: JSONValue] = [
                        "address": .string(master.address), "reachable": .bool(master.reachable),
                        "version": master.version.map { .string($0) } ?? .null,
                        "replicas": .array(master.replicas.map { .string($0) }),
                        "error": master.error.map { .string($0) } ?? .null,
                    ]
                    if kind == .cluster {
                        fields["slots"] = .array(
                            master.slots.map {
                                .array([.number(Double($0.lowerBound)), .number(Double($0.upperBound))])
                            }
                        )
                        fields["slot_count"] = .number(Double(master.slotCount))
                    }
                    return .object(fields)
                }),
            "problems": .array(problems.map { .string($0) }),
        ]
        if kind == .cluster {
            object["covered_slots"] = coveredSlots.map { .number(Double($0)) } ?? .null
            if let topologyError { object["topology_error"] = .string(topologyError) }
        }
        if kind == .sentinel {
            object["master_name"] = masterName.map { .string($0) } ?? .null
            object["master"] = masters.first.map { .string($0.address) } ?? .null
            object["role"] = role.map { .string($0) } ?? .null
            object["sentinels"] = .array(
                sentinels.map { sentinel in
                    .object([
                        "address": .string(sentinel.address),
                        "master": sentinel.master.map { .string($0) } ?? .null,
                        "error": sentinel.error.map { .string($0) } ?? .null,
                    ])
                })
        }
        return .object(object)
    }

    var lines: [String] {
        var lines: [String] = []
        switch kind {
        case .cluster:
            let slots = coveredSlots.map { ", \($0)/\(HashSlot.count) slots" } ?? ""
            lines.append("Deployment:    cluster, \(masters.count) master\(masters.count == 1 ? "" : "s")\(slots)")
            if let topologyError { lines.append("  slot map unavailable: \(topologyError)") }
            for master in masters {
                let state = master.reachable ? "redis \(master.version ?? "?")" : "UNREACHABLE (\(master.error ?? "?"))"
                let replicas = master.replicas.isEmpty ? "none" : master.replicas.joined(separator: ",")
                lines.append(
                    "  master \(master.address)  slots \(master.slotText) (\(master.slotCount))  replicas \(replicas)  \(state)"
                )
            }
        case .sentinel:
            let master = masters.first?.address ?? "?"
            lines.append("Deployment:    sentinel, master '\(masterName ?? "?")' at \(master), role \(role ?? "?")")
            lines.append("  replicas \(replicas.isEmpty ? "none" : replicas.joined(separator: ","))")
            for sentinel in sentinels {
                lines.append(
                    "  sentinel \(sentinel.address): "
                        + (sentinel.master.map { "names \($0)" } ?? "FAILED (\(sentinel.error ?? "?"))"))
            }
        case .standalone:
            lines.append("Deployment:    standalone, \(masters.first?.address ?? url)")
        }
        for problem in problems where kind != .standalone { lines.append("  problem: \(problem)") }
        return lines
    }
}
