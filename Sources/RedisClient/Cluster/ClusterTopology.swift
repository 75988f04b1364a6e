/// Which node serves which slots of a Redis Cluster: the slot map a cluster client routes by.
///
/// Build one from a [`CLUSTER SLOTS`](https://redis.io/docs/latest/commands/cluster-slots/)
/// reply with ``init(slotsReply:answeredBy:)``, then route a key with
/// ``master(forSlot:)`` and ``HashSlot``. The value is immutable; a client
/// replaces it when a `MOVED` reply or a connection failure says the map is stale.
public struct ClusterTopology: Sendable, Hashable {
    /// A contiguous range of slots and the nodes that hold it.
    public struct SlotRange: Sendable, Hashable {
        /// The slots, within `0...16383`.
        public var slots: ClosedRange<Int>
        /// The master that serves reads and writes of these slots.
        public var master: RedisEndpoint
        /// The replicas of that master, in the order the server listed them (replicas whose
        /// address the server does not know are left out).
        public var replicas: [RedisEndpoint]

        /// Creates a range served by `master`.
        public init(slots: ClosedRange<Int>, master: RedisEndpoint, replicas: [RedisEndpoint] = []) {
            self.slots = slots
            self.master = master
            self.replicas = replicas
        }
    }

    /// The ranges, sorted by their first slot, none overlapping another.
    public let ranges: [SlotRange]

    /// For each slot, the index of its range in ``ranges``, or `-1` when no node serves it.
    private let rangeIndexBySlot: [Int16]

    /// Creates a topology from ranges (sorted here).
    ///
    /// - Throws: ``RedisClientError`` of kind ``RedisClientError/Kind/invalidArgument`` when a
    ///   range leaves `0...16383` or two ranges overlap.
    public init(ranges: [SlotRange]) throws(RedisClientError) {
        do {
            try self.init(validating: ranges)
        } catch {
            throw RedisClientError(.invalidArgument, error.reason)
        }
    }

    /// Parses a `CLUSTER SLOTS` reply.
    ///
    /// Each element of the reply is `[start, end, master, replica…]` and each node is
    /// `[host, port, node-id, metadata…]`; elements after the port are ignored. As the command's
    /// documentation prescribes, a node whose host is null or empty is reached at `host` (the
    /// host the command was sent to), with the port from the reply; a replica whose host is `?`
    /// (unknown) is left out.
    ///
    /// An empty reply (a node that has not joined a cluster yet) gives a topology that serves
    /// no slot; check ``isComplete`` before routing with it.
    ///
    /// - Parameters:
    ///   - slotsReply: the reply to `CLUSTER SLOTS`.
    ///   - host: the host the command was sent to; `nil` makes a null or empty host an error.
    /// - Throws: ``RedisClientError`` of kind ``RedisClientError/Kind/unexpectedReply`` naming
    ///   what is malformed (an error reply, a range out of `0...16383` or overlapping another, a
    ///   port out of `1...65535`, a master whose address is unknown, a wrong element type).
    public init(slotsReply: RedisValue, answeredBy host: String? = nil) throws(RedisClientError) {
        do {
            try self.init(validating: Self.parseRanges(slotsReply, answeredBy: host))
        } catch {
            throw RedisClientError(.unexpectedReply, "malformed CLUSTER SLOTS reply: \(error.reason)")
        }
    }

    /// The master that serves `slot`, or `nil` when no node serves it (or `slot` is not in
    /// `0..<16384`).
    public func master(forSlot slot: Int) -> RedisEndpoint? {
        range(forSlot: slot)?.master
    }

    /// The range that holds `slot`, or `nil` when no node serves it (or `slot` is not in
    /// `0..<16384`).
    public func range(forSlot slot: Int) -> SlotRange? {
        guard (0..<HashSlot.count).contains(slot) else { return nil }
        let index = rangeIndexBySlot[slot]
        return index < 0 ? nil : ranges[Int(index)]
    }

    /// The master that serves `key`'s slot, or `nil` when no node serves it.
    public func master(forKey key: String) -> RedisEndpoint? {
        master(forSlot: HashSlot.slot(for: key))
    }

    /// Every master that serves at least one slot, once each, in the order of the lowest slot
    /// each serves.
    public var masters: [RedisEndpoint] {
        var seen: Set<RedisEndpoint> = []
        return ranges.compactMap { seen.insert($0.master).inserted ? $0.master : nil }
    }

    /// Every node of the map, masters and replicas, once each: masters first (as in
    /// ``masters``), then replicas.
    public var nodes: [RedisEndpoint] {
        var seen: Set<RedisEndpoint> = []
        let all = ranges.map(\.master) + ranges.flatMap(\.replicas)
        return all.filter { seen.insert($0).inserted }
    }

    /// How many of the 16384 slots some node serves.
    public var coveredSlotCount: Int {
        ranges.reduce(0) { $0 + $1.slots.count }
    }

    /// `true` when every slot is served, as in a cluster whose `cluster_state` is `ok`.
    public var isComplete: Bool { coveredSlotCount == HashSlot.count }

    /// Two topologies are equal when they have the same ranges.
    public static func == (lhs: ClusterTopology, rhs: ClusterTopology) -> Bool {
        lhs.ranges == rhs.ranges
    }

    /// Hashes the ranges.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(ranges)
    }
}

extension ClusterTopology: CustomStringConvertible {
    /// One line per range: `0-5460 127.0.0.1:7000 (replicas: 127.0.0.1:7004)`.
    public var description: String {
        ranges.map { range in
            var line = "\(range.slots.lowerBound)-\(range.slots.upperBound) \(range.master)"
            if !range.replicas.isEmpty {
                line += " (replicas: " + range.replicas.map(\.description).joined(separator: ", ") + ")"
            }
            return line
        }.joined(separator: "\n")
    }
}

extension ClusterTopology {
    /// Why a reply or a list of ranges was refused; wrapped into a ``RedisClientError``.
    private struct Malformed: Error {
        var reason: String
    }

    /// Sorts `ranges`, checks bounds and overlaps, and builds the slot index.
    private init(validating ranges: [SlotRange]) throws(Malformed) {
        let sorted = ranges.sorted { $0.slots.lowerBound < $1.slots.lowerBound }
        var index = [Int16](repeating: -1, count: HashSlot.count)
        for (position, range) in sorted.enumerated() {
            guard range.slots.lowerBound >= 0, range.slots.upperBound < HashSlot.count else {
                throw Malformed(reason: "slot range \(range.slots) is outside 0...\(HashSlot.count - 1)")
            }
            if position > 0, sorted[position - 1].slots.upperBound >= range.slots.lowerBound {
                throw Malformed(reason: "slot ranges \(sorted[position - 1].slots) and \(range.slots) overlap")
            }
            for slot in range.slots { index[slot] = Int16(position) }
        }
        self.ranges = sorted
        self.rangeIndexBySlot = index
    }

    /// The ranges of a `CLUSTER SLOTS` reply, unchecked for overlaps.
    private static func parseRanges(_ reply: RedisValue, answeredBy host: String?) throws(Malformed) -> [SlotRange] {
        if case .error(let error) = reply { throw Malformed(reason: "the server answered \(error.message)") }
        guard let entries = reply.array else { throw Malformed(reason: "expected an array, got \(kind(of: reply))") }
        var ranges: [SlotRange] = []
        ranges.reserveCapacity(entries.count)
        for (position, entry) in entries.enumerated() {
            guard let fields = entry.array else {
                throw Malformed(reason: "entry \(position) is \(kind(of: entry)), not an array")
            }
            guard fields.count >= 3 else {
                throw Malformed(
                    reason: "entry \(position) has \(fields.count) elements, expected start, end and a master")
            }
            guard case .integer(let start) = fields[0], case .integer(let end) = fields[1] else {
                throw Malformed(reason: "entry \(position) does not start with two integer slots")
            }
            guard start >= 0, end < HashSlot.count, start <= end else {
                throw Malformed(
                    reason: "entry \(position) has slots \(start)-\(end), not within 0-\(HashSlot.count - 1)")
            }
            guard let master = try node(fields[2], answeredBy: host, in: position) else {
                throw Malformed(reason: "entry \(position): the master's address is unknown ('?')")
            }
            var replicas: [RedisEndpoint] = []
            for field in fields.dropFirst(3) {
                if let replica = try node(field, answeredBy: host, in: position) { replicas.append(replica) }
            }
            ranges.append(SlotRange(slots: Int(start)...Int(end), master: master, replicas: replicas))
        }
        return ranges
    }

    /// One node `[host, port, …]`; `nil` when its host is `?` (unknown).
    private static func node(_ value: RedisValue, answeredBy host: String?, in position: Int) throws(Malformed)
        -> RedisEndpoint?
    {
        guard let fields = value.array, fields.count >= 2 else {
            throw Malformed(reason: "entry \(position) has a node that is not an array of at least host and port")
        }
        guard case .integer(let port) = fields[1], (1...65535).contains(port) else {
            throw Malformed(reason: "entry \(position) has a node whose port is not an integer in 1...65535")
        }
        let reported: String
        switch fields[0] {
        case .null:
            reported = ""
        case .bulkString, .simpleString:
            guard let text = fields[0].string else {
                throw Malformed(reason: "entry \(position) has a node whose host is not UTF-8")
            }
            reported = text
        default:
            throw Malformed(reason: "entry \(position) has a node whose host is \(kind(of: fields[0]))")
        }
        if reported == "?" { return nil }
        if reported.isEmpty {
            guard let host, !host.isEmpty else {
                throw Malformed(
                    reason: "entry \(position) has a node without a host and the answering host is not known")
            }
            return .tcp(host: host, port: Int(port))
        }
        guard reported.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) }) else {
            throw Malformed(reason: "entry \(position) has a node whose host has characters a host name cannot have")
        }
        return .tcp(host: reported, port: Int(port))
    }

    /// The kind of a reply value, for messages.
    private static func kind(of value: RedisValue) -> String {
        switch value {
        case .simpleString: return "a simple string"
        case .error: return "an error"
        case .integer: return "an integer"
        case .bulkString: return "a bulk string"
        case .null: return "null"
        case .array: return "an array"
        }
    }
}
