import Foundation
import RedisClient
import Testing

extension ClusterTests {
    /// A cluster pipeline looked up each command's node separately: when another caller's `MOVED`
    /// changed the slot map between two lookups, `SET k` and `GET k` of one pipeline went to two
    /// nodes; the `SET` came back redirected and was sent again after the `GET` had read the old
    /// value (5 pipelines in 8 s of this storm before the fix). Commands of one slot now go to
    /// one node, in the caller's order.
    @Test func aPipelineKeepsTheOrderOfOneKeyWhileItsSlotMoves() async throws {
        let cluster = try TestCluster.client()
        let masters = try await Self.masters(cluster)
        let tag = "{order-\(UUID().uuidString)}"
        let slot = HashSlot.slot(for: tag)
        var owner = try await cluster.currentTopology().master(forSlot: slot)
        let deadline = ContinuousClock.now + .seconds(6)
        let mover = Task {
            var moves = 0
            while ContinuousClock.now < deadline {
                guard let from = masters.firstIndex(where: { $0.endpoint == owner }) else { break }
                let to = (from + 1) % masters.count
                try await migrate(slot: slot, from: masters[from], to: masters[to], masters: masters)
                owner = masters[to].endpoint
                moves += 1
            }
            return moves
        }
        let wrong = await withTaskGroup(of: [String].self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var wrong: [String] = []
                    let key = "\(tag):w\(worker)"
                    var step = 0
                    while ContinuousClock.now < deadline {
                        step += 1
                        let results = await cluster.pipeline([RedisCommand("SET", key, step), RedisCommand("GET", key)])
                        if case .success(let value) = results[1], value != .bulk("\(step)") {
                            wrong.append("step \(step) read \(value)")
                        }
                    }
                    return wrong
                }
            }
            var all: [String] = []
            for await wrong in group { all += wrong }
            return all
        }
        let moves = try await mover.value
        #expect(moves > 0)
        #expect(wrong.isEmpty, "\(wrong.count) pipelines read before their own SET: \(wrong.prefix(3))")
        await Self.close(masters)
        await cluster.close()
    }
}
