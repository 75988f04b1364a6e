import ConnectorStatusBench
import Foundation

/// Pins processes to CPUs with `taskset` (util-linux), for repeatable loopback benchmarks.
enum CPUPinning {
    /// Pins every thread of `pid` to `cpu`; `taskset` is waited for off the cooperative pool.
    static func pin(pid: Int32, cpu: Int) async throws {
        try await offThePool { try pinBlocking(pid: pid, cpu: cpu) }
    }

    private static func pinBlocking(pid: Int32, cpu: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        process.arguments = ["-a", "-p", "-c", String(cpu), String(pid)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BenchError("cannot run taskset (util-linux): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("taskset could not pin pid \(pid) to CPU \(cpu)") }
    }

    static func describe(server: Int?, client: Int?) -> [String] {
        guard server != nil || client != nil else { return ["Unpinned: figures swing with CPU placement"] }
        return [
            "Pinned: redis-server on CPU \(server.map(String.init) ?? "any"), "
                + "clients (ours and redis-benchmark) on CPU \(client.map(String.init) ?? "any")"
        ]
    }
}
