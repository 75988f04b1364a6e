import RedisClient
import Testing

/// A node as `CLUSTER SLOTS` lists it on Redis 7: host, port, node id, metadata.
private func node(_ host: String, _ port: Int64, id: String = "07c37dfeb235213a872192d90877d0cd55635b91") -> RedisValue
{
    .array([.bulkString(Array(host.utf8)), .integer(port), .bulkString(Array(id.utf8)), .array([])])
}

/// One entry of the reply: start, end, master, replicas.
private func entry(_ start: Int64, _ end: Int64, _ master: RedisValue, _ replicas: RedisValue...) -> RedisValue {
    .array([.integer(start), .integer(end), master] + replicas)
}

private func endpoint(_ port: Int) -> RedisEndpoint { .tcp(host: "127.0.0.1", port: port) }

/// What a fresh 3-master, 3-replica cluster made by `redis-cli --cluster create` answers (the
/// order of entries is the server's, not sorted by slot).
private let realisticReply: RedisValue = .array([
    entry(10923, 16383, node("127.0.0.1", 7002), node("127.0.0.1", 7003)),
    entry(0, 5460, node("127.0.0.1", 7000), node("127.0.0.1", 7004)),
    entry(5461, 10922, node("127.0.0.1", 7001), node("127.0.0.1", 7005)),
])

/// The error a parse throws, or `nil` when it was accepted.
private func parseError(_ reply: RedisValue, answeredBy host: String? = nil) -> RedisClientError? {
    do {
        _ = try ClusterTopology(slotsReply: reply, answeredBy: host)
        return nil
    } catch {
        return error
    }
}

/// Tests of `ClusterTopology`.
enum ClusterTopologyTests {}

extension ClusterTopologyTests {
    @Suite("ClusterTopology parses CLUSTER SLOTS")
    struct Parsing {
        @Test func realisticReplyOfThreeMastersAndThreeReplicas() throws {
            let topology = try ClusterTopology(slotsReply: realisticReply)
            #expect(topology.ranges.map(\.slots) == [0...5460, 5461...10922, 10923...16383])
            #expect(topology.masters == [endpoint(7000), endpoint(7001), endpoint(7002)])
            #expect(topology.ranges.map(\.replicas) == [[endpoint(7004)], [endpoint(7005)], [endpoint(7003)]])
            #expect(topology.nodes.count == 6)
            #expect(topology.isComplete)
            #expect(topology.coveredSlotCount == 16384)
            #expect(topology.master(forSlot: 0) == endpoint(7000))
            #expect(topology.master(forSlot: 5460) == endpoint(7000))
            #expect(topology.master(forSlot: 5461) == endpoint(7001))
            #expect(topology.master(forSlot: 10923) == endpoint(7002))
            #expect(topology.master(forSlot: 16383) == endpoint(7002))
            #expect(topology.master(forSlot: 16384) == nil)
            #expect(topology.master(forSlot: -1) == nil)
            // "foo" is in slot 12182, "bar" in 5061.
            #expect(topology.master(forKey: "foo") == endpoint(7002))
            #expect(topology.master(forKey: "bar") == endpoint(7000))
            #expect(topology.range(forSlot: 12182)?.replicas == [endpoint(7003)])
            #expect(topology.description.hasPrefix("0-5460 127.0.0.1:7000 (replicas: 127.0.0.1:7004)\n"))
        }

        /// After a reshard a master serves several ranges and slots can be unassigned.
        @Test func masterWithSeveralRangesAndGaps() throws {
            let reply: RedisValue = .array([
                entry(0, 99, node("10.0.0.1", 6379)),
                entry(200, 299, node("10.0.0.2", 6379), node("10.0.0.3", 6379), node("10.0.0.4", 6379)),
                entry(100, 100, node("10.0.0.1", 6379)),
            ])
            let topology = try ClusterTopology(slotsReply: reply)
            #expect(topology.masters == [.tcp(host: "10.0.0.1", port: 6379), .tcp(host: "10.0.0.2", port: 6379)])
            #expect(topology.ranges[2].replicas.count == 2)
            #expect(topology.master(forSlot: 100) == .tcp(host: "10.0.0.1", port: 6379))
            #expect(topology.master(forSlot: 101) == nil)
            #expect(topology.master(forSlot: 250) == .tcp(host: "10.0.0.2", port: 6379))
            #expect(topology.coveredSlotCount == 201)
            #expect(!topology.isComplete)
        }

        @Test func emptyReplyServesNoSlot() throws {
            let topology = try ClusterTopology(slotsReply: .array([]))
            #expect(topology.ranges.isEmpty)
            #expect(topology.masters.isEmpty)
            #expect(!topology.isComplete)
            #expect(topology.master(forSlot: 0) == nil)
        }

        /// Redis 6 lists only host, port and id; Redis 3 only host and port; a hostname may be used.
        @Test func olderNodeFormsAndHostnames() throws {
            let reply: RedisValue = .array([
                .array([
                    .integer(0), .integer(16383),
                    .array([.bulkString(Array("redis-0.cluster.local".utf8)), .integer(6379)]),
                    .array([.simpleString("::1"), .integer(6380), .bulkString(Array("id".utf8))]),
                ])
            ])
            let topology = try ClusterTopology(slotsReply: reply)
            #expect(topology.masters == [.tcp(host: "redis-0.cluster.local", port: 6379)])
            #expect(topology.ranges[0].replicas == [.tcp(host: "::1", port: 6380)])
        }

        /// A null or empty host means "the host you asked"; `?` on a replica means unknown.
        @Test func nullEmptyAndUnknownHosts() throws {
            let reply: RedisValue = .array([
                entry(0, 8191, .array([.null, .integer(7000)]), node("?", 7003), node("", 7004)),
                entry(8192, 16383, node("", 7001)),
            ])
            let topology = try ClusterTopology(slotsReply: reply, answeredBy: "node-a")
            #expect(topology.masters == [.tcp(host: "node-a", port: 7000), .tcp(host: "node-a", port: 7001)])
            #expect(topology.ranges[0].replicas == [.tcp(host: "node-a", port: 7004)])
            #expect(parseError(reply)?.kind == .unexpectedReply)
        }

        @Test func sameRangesAreEqual() throws {
            let parsed = try ClusterTopology(slotsReply: realisticReply)
            let built = try ClusterTopology(ranges: [
                .init(slots: 5461...10922, master: endpoint(7001), replicas: [endpoint(7005)]),
                .init(slots: 0...5460, master: endpoint(7000), replicas: [endpoint(7004)]),
                .init(slots: 10923...16383, master: endpoint(7002), replicas: [endpoint(7003)]),
            ])
            #expect(parsed == built)
            #expect(parsed.hashValue == built.hashValue)
            #expect(parsed != (try ClusterTopology(ranges: [])))
        }

        @Test func rangesBuiltByHandAreChecked() {
            #expect(throws: RedisClientError.self) {
                try ClusterTopology(ranges: [.init(slots: 0...16384, master: endpoint(1))])
            }
            do {
                _ = try ClusterTopology(ranges: [
                    .init(slots: 0...10, master: endpoint(1)), .init(slots: 10...20, master: endpoint(2)),
                ])
                Issue.record("overlapping ranges were accepted")
            } catch {
                #expect(error.kind == .invalidArgument)
                #expect(error.message.contains("overlap"))
            }
        }
    }
}

extension ClusterTopologyTests {
    @Suite("ClusterTopology refuses malformed CLUSTER SLOTS replies with .unexpectedReply")
    struct Malformed {
        @Test(arguments: [
            RedisValue.null,
            .integer(1),
            .simpleString("OK"),
            .bulkString(Array("slots".utf8)),
            .error(RedisServerError(message: "ERR This instance has cluster support disabled")),
        ])
        func notAnArray(reply: RedisValue) {
            #expect(parseError(reply)?.kind == .unexpectedReply)
        }

        @Test func errorReplyIsNamed() {
            let error = parseError(.error(RedisServerError(message: "ERR This instance has cluster support disabled")))
            #expect(error?.message.contains("cluster support disabled") == true)
        }

        @Test(arguments: [
            // An entry that is not an array, or too short.
            RedisValue.array([.integer(0)]),
            .array([.array([.integer(0), .integer(16383)])]),
            // Slots that are not integers, reversed, or out of range.
            .array([.array([.bulkString(Array("0".utf8)), .integer(16383), node("h", 1)])]),
            .array([.array([.integer(0), .null, node("h", 1)])]),
            .array([entry(10, 5, node("h", 1))]),
            .array([entry(-1, 5, node("h", 1))]),
            .array([entry(0, 16384, node("h", 1))]),
            // Overlapping entries.
            .array([entry(0, 100, node("h", 1)), entry(100, 200, node("h", 2))]),
            .array([entry(0, 16383, node("h", 1)), entry(0, 16383, node("h", 1))]),
            // Nodes that are not arrays, too short, or with a bad port or host.
            .array([.array([.integer(0), .integer(1), .bulkString(Array("h".utf8))])]),
            .array([.array([.integer(0), .integer(1), .array([.bulkString(Array("h".utf8))])])]),
            .array([entry(0, 1, node("h", 0))]),
            .array([entry(0, 1, node("h", 65536))]),
            .array([
                .array([
                    .integer(0), .integer(1), .array([.bulkString(Array("h".utf8)), .bulkString(Array("1".utf8))]),
                ])
            ]),
            .array([.array([.integer(0), .integer(1), .array([.integer(1), .integer(1)])])]),
            .array([.array([.integer(0), .integer(1), .array([.bulkString([0xFF]), .integer(1)])])]),
            .array([entry(0, 1, node("bad host", 1))]),
            // A master whose address is unknown.
            .array([entry(0, 1, node("?", 7000))]),
            // A replica that is malformed is not skipped.
            .array([entry(0, 1, node("h", 1), .array([.bulkString(Array("h".utf8)), .integer(-1)]))]),
        ])
        func malformedEntries(reply: RedisValue) {
            let error = parseError(reply, answeredBy: "h")
            #expect(error?.kind == .unexpectedReply)
            #expect(error?.message.hasPrefix("malformed CLUSTER SLOTS reply") == true)
        }
    }
}
