import EmbeddedRedis
import Foundation
import RedisClient
import Testing

/// `CLIENT SETNAME`, `AUTH` and `SELECT` are sent on every connect and on every reconnect.
@Suite("Connection setup", .timeLimit(.minutes(1)))
struct ConnectionSetupTests {
    @Test func clientNameAppearsInClientList() async throws {
        let name = "itest-\(UUID().uuidString.prefix(8))"
        let configuration = try sharedConfiguration { $0.clientName = name }
        try await withPool(configuration) { pool async throws in
            #expect(try await pool.send("CLIENT", "GETNAME") == .bulk(name))
            let list = try #require(try await pool.send("CLIENT", "LIST").string)
            let ours = list.split(separator: "\n").filter { $0.contains(" name=\(name) ") }
            #expect(ours.count >= 1, "no client named \(name) in:\n\(list)")
        }
    }

    /// The server kills a connection while it is idle (as `timeout`, a proxy or an operator
    /// would): the next command on that pool must run, in the configured database, with AUTH
    /// and the client name applied again.
    @Test func authSelectAndNameAreReappliedAfterTheServerKillsTheConnection() async {
        // In a child process: a client crash (SIGPIPE, double free) fails this test alone.
        await #expect(processExitsWith: .success) {
            try await ConnectionSetupTests.authSelectAndNameAreReappliedAfterTheServerKillsTheConnectionInChild()
        }
    }

    static func authSelectAndNameAreReappliedAfterTheServerKillsTheConnectionInChild() async throws {
        let password = "setup-\(UUID().uuidString)"
        let server = try startPrivateServer(["--requirepass", password])
        defer { stopQuickly(server) }
        var first = try RedisConfiguration(url: "\(server.url)?db=3&password=\(password)")
        first.poolSize = 1
        first.clientName = "itest-db3"
        let other = try RedisConfiguration(url: "\(server.url)?password=\(password)")
        let key = uniqueKey("db3")

        try await withPool(first) { pool async throws in
            try await pool.send("SET", key, "in db 3")
            let idBefore = try #require(try await pool.send("CLIENT", "ID").int)
            try await withPool(other) { killer async throws in
                #expect(try await killer.send("GET", key) == .null, "db 0 must not see the key")
                #expect(try await killer.send("CLIENT", "KILL", "ID", idBefore) == .integer(1))
            }
            var failures: [String] = []
            var reply: RedisValue?
            for _ in 0..<3 where reply == nil {
                do { reply = try await pool.send("GET", key) } catch { failures.append("\(error)") }
            }
            #expect(failures.isEmpty, "the first command after the kill failed: \(failures)")
            #expect(reply == .bulk("in db 3"), "AUTH or SELECT 3 was not re-applied")
            let idAfter = try #require(try await pool.send("CLIENT", "ID").int)
            #expect(idAfter != idBefore)
            #expect(try await pool.send("CLIENT", "GETNAME") == .bulk("itest-db3"))
            #expect(try await pool.send("ACL", "WHOAMI") == .bulk("default"))
        }
    }

    @Test func selectIsAppliedOnEveryConnectionOfThePool() async throws {
        let server = try startPrivateServer()
        defer { stopQuickly(server) }
        var configuration = try RedisConfiguration(url: "\(server.url)?db=5")
        configuration.poolSize = 3
        try await withPool(configuration) { pool async throws in
            let key = uniqueKey("db5")
            try await pool.send("SET", key, "five")
            // Concurrent reads spread over all connections; each must be in db 5.
            let replies = try await withThrowingTaskGroup(of: RedisValue.self) { group in
                for _ in 0..<300 { group.addTask { try await pool.send("GET", key) } }
                var replies: [RedisValue] = []
                for try await reply in group { replies.append(reply) }
                return replies
            }
            #expect(replies.allSatisfy { $0 == .bulk("five") })
            let list = try #require(try await pool.send("CLIENT", "LIST").string)
            let lines = list.split(separator: "\n")
            #expect(lines.count == 3, "\(list)")
            #expect(lines.allSatisfy { $0.contains(" db=5 ") }, "\(list)")
        }
    }
}
