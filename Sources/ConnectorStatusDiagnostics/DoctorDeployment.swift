import Foundation
import Logging
import RedisClient

/// What `doctor` found about how Redis is deployed: one server, a cluster's masters with their
/// slots and replicas, or the master a set of sentinels names.
public struct DoctorDeployment: Sendable {
    /// One master of a cluster (or the one server).
    public struct Master: Sendable {
        /// `host:port` or the socket path.
        public var address: String
        /// Cluster: the slot ranges it serves.
        public var slots: [ClosedRange<Int>] = []
        /// Its replicas' addresses.
        public var replicas: [String] = []
        /// Whether `INFO server` answered.
        public var reachable = false
        /// `redis_version` from `INFO server`.
        public var version: String?
        /// `redis_mode` from `INFO server`.
        public var mode: String?
        /// Why it could not be read.
        public var error: String?

        /// A master at `address` with nothing read yet.
        public init(address: String, slots: [ClosedRange<Int>] = [], replicas: [String] = []) {
            self.address = address
            self.slots = slots
            self.replicas = replicas
        }

        /// Slots it serves.
        public var slotCount: Int { slots.reduce(0) { $0 + $1.count } }
        /// Its ranges as `0-5460,5461`.
        public var slotText: String {
            slots.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                .joined(separator: ",")
        }
    }

    /// What one sentinel answered to `SENTINEL GET-MASTER-ADDR-BY-NAME`.
    public struct Sentinel: Sendable {
        /// The sentinel's address.
        public var address: String
        /// The master's address it names.
        public var master: String?
        /// Why it named none.
        public var error: String?
    }

    /// One server, a cluster or Sentinel.
    public var kind: RedisDeployment.Kind
    /// The deployment as a URL, password masked.
    public var url: String
    /// Every master (one server: it; Sentinel: the one reached), with `INFO server` of each.
    public var masters: [Master] = []
    /// Cluster: slots served by some master (16384 when complete).
    public var coveredSlots: Int?
    /// Cluster: why the slot map could not be read.
    public var topologyError: String?
    /// Sentinel: the master name.
    public var masterName: String?
    /// Sentinel: each sentinel's answer.
    public var sentinels: [Sentinel] = []
    /// Sentinel: the `ROLE` of the server reached.
    public var role: String?
    /// Sentinel: the replicas the reached master lists.
    public var replicas: [String] = []

    init(kind: RedisDeployment.Kind, url: String) {
        self.kind = kind
        self.url = url
    }

    /// Problems that make the deployment unfit (`doctor` exits 1).
    public var problems: [String] {
        var found: [String] = []
        if let topologyError { found.append("cluster slot map unavailable: \(topologyError)") }
        if let coveredSlots, coveredSlots != HashSlot.count {
            found.append("only \(coveredSlots) of \(HashSlot.count) slots are served")
        }
        for master in masters where !master.reachable {
            found.append("master \(master.address) unreachable: \(master.error ?? "?")")
        }
        if kind == .sentinel {
            if !sentinels.contains(where: { $0.master != nil }) { found.append("no sentinel names the master") }
            if let role, role != "master" { found.append("the server reached says it is a \(role)") }
        }
        return found
    }

    /// The first reachable master's `redis_version`.
    public var version: String? { masters.first { $0.reachable }?.version }
    /// The first reachable master's `redis_mode`.
    public var mode: String? { masters.first { $0.reachable }?.mode }

    // MARK: - Examination

    /// Examines `redis`, a client made from `deployment`. Never throws: what could not be read
    /// is recorded (``Master/error``, ``topologyError``, ``Sentinel/error``).
    ///
    /// Redis commands: `INFO server` on every master; a cluster: `CLUSTER SLOTS`; Sentinel:
    /// `SENTINEL GET-MASTER-ADDR-BY-NAME` on each sentinel (a short-lived connection each,
    /// without the master's credentials), `CLIENT INFO` and `ROLE` on the master reached.
    public static func examine(
        _ deployment: RedisDeployment, redis: any RedisCommandClient, logger: Logger
    ) async -> DoctorDeployment {
        var report = DoctorDeployment(kind: deployment.kind, url: deployment.description)
        switch deployment {
        case .standalone(let configuration):
            report.masters = [Master(address: configuration.endpoint.description)]
            await report.readServerInfo(redis)
        case .cluster:
            await report.readClusterTopology(redis)
            await report.readServerInfo(redis)
        case .sentinel(let sentinels, let masterName, let template):
            report.masterName = masterName
            report.sentinels = await askSentinels(
                sentinels, masterName: masterName, template: template, logger: logger)
            await report.readReachedMaster(redis)
            await report.readServerInfo(redis)
        }
        return report
    }

    /// `CLUSTER SLOTS`, read again: each master with its ranges and replicas.
    private mutating func readClusterTopology(_ redis: any RedisCommandClient) async {
        guard let cluster = redis as? RedisClusterClient else { return }
        do {
            let topology = try await cluster.refreshTopology()
            coveredSlots = topology.coveredSlotCount
            masters = topology.masters.map { endpoint in
                let ranges = topology.ranges.filter { $0.master == endpoint }
                var replicas: [RedisEndpoint] = []
                for replica in ranges.flatMap(\.replicas) where !replicas.contains(replica) { replicas.append(replica) }
                return Master(
                    address: endpoint.description, slots: ranges.map(\.slots), replicas: replicas.map(\.description))
            }
        } catch {
            topologyError = Self.message(error)
        }
    }

    /// `INFO server` on every master (one server: it): reachability, version and mode.
    private mutating func readServerInfo(_ redis: any RedisCommandClient) async {
        let answers = await redis.sendToEveryMaster(RedisCommand("INFO", "server"))
        for (endpoint, result) in answers {
            var index = masters.firstIndex { $0.address == endpoint.description }
            if index == nil, kind != .cluster, masters.count == 1 { index = 0 }  // a pool names its own endpoint
            if index == nil {
                masters.append(Master(address: endpoint.description))
                index = masters.count - 1
            }
            guard let index else { continue }
            switch result {
            case .success(let reply):
                let info = reply.string ?? ""
                masters[index].reachable = true
                masters[index].version = Self.field("redis_version", in: info)
                masters[index].mode = Self.field("redis_mode", in: info)
            case .failure(let error):
                masters[index].error = Self.message(error)
            }
        }
    }

    /// Sentinel: the address of the server the client's connections reached (`CLIENT INFO`
    /// `laddr`), its `ROLE` and replicas.
    private mutating func readReachedMaster(_ redis: any RedisCommandClient) async {
        var address = sentinels.lazy.compactMap(\.master).first
        if let info = try? await redis.send("CLIENT", "INFO").string,
            let local = info.split(separator: " ").first(where: { $0.hasPrefix("laddr=") })
        {
            address = String(local.dropFirst("laddr=".count))
        }
        masters = [Master(address: address ?? "?")]
        do {
            let reply = try await redis.send("ROLE")
            let parts = reply.array ?? []
            role = parts.first?.string
            // A master: ["master", offset, [[host, port, offset], …]].
            if role == "master", parts.count >= 3 {
                replicas = (parts[2].array ?? []).compactMap { entry in
                    guard let fields = entry.array, fields.count >= 2, let host = fields[0].string,
                        let port = fields[1].string
                    else { return nil }
                    return RedisEndpoint.tcp(host: host, port: Int(port) ?? 0).description
                }
            }
        } catch {
            masters[0].error = Self.message(error)
        }
        masters[0].replicas = replicas
    }

    /// Asks every sentinel, each on its own short-lived connection without credentials (the
    /// URL's credentials are the master's), which master it names.
    private static func askSentinels(
        _ sentinels: [RedisEndpoint], masterName: String, template: RedisConfiguration, logger: Logger
    ) async -> [Sentinel] {
        await withTaskGroup(of: (Int, Sentinel).self) { group in
            for (index, endpoint) in sentinels.enumerated() {
                group.addTask {
                    var answer = Sentinel(address: endpoint.description)
                    let configuration = RedisConfiguration(
                        endpoint: endpoint, connectTimeout: template.connectTimeout,
                        commandTimeout: template.connectTimeout, poolSize: 1, tls: template.tls)
                    do {
                        let pool = try RedisConnectionPool(configuration: configuration, logger: logger)
                        defer { Task { await pool.close() } }
                        let reply = try await pool.send("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)
                        if let parts = reply.array, parts.count == 2, let host = parts[0].string,
                            let port = parts[1].string.flatMap({ Int($0) })
                        {
                            answer.master = RedisEndpoint.tcp(host: host, port: port).description
                        } else {
                            answer.error = "does not know a master named '\(masterName)'"
                        }
                    } catch {
                        answer.error = message(error)
                    }
                    return (index, answer)
                }
            }
            var answers: [(Int, Sentinel)] = []
            for await answer in group { answers.append(answer) }
            return answers.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func field(_ name: String, in info: String) -> String? {
        info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("\(name):") }
            .map { String($0.dropFirst(name.count + 1)) }
    }

    /// An error's message without the type name (the library's messages hold no password).
    package static func message(_ error: any Error) -> String {
        switch error {
        case let error as RedisClientError: return error.message
        case let error as RedisServerError: return error.description
        default: return String(describing: error)
        }
    }
}
