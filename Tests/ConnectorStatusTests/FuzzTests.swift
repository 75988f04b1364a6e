import ConnectorStatus
import Foundation
import RedisClient
import Testing

/// Bounded fuzzers for the two parsers that take untrusted text: the Redis URL parser
/// (`RedisDeployment(url:)`, `RedisConfiguration(url:)`) and the connector descriptor reader
/// (`Connector(json:)`). Each mutates a seed corpus with a dictionary of tokens for
/// `FUZZ_SECONDS` (default 2; `.ci/run` gives 20) and checks that nothing traps and that the
/// results keep their promises. A run is reproducible: the seed is printed and `FUZZ_SEED`
/// replays it (a trap ends the test process; rerun with that seed under a debugger).
///
/// Why not libFuzzer (`-sanitize=fuzzer`): it needs a second build of the package with a
/// separate executable target and flags, minutes of CI on a fresh clone and a toolchain detail
/// that differs between platforms; this runs in the normal build, on every platform, in the
/// same test command.
@Suite("Fuzzing the URL parser and the descriptor reader")
struct FuzzTests {
    /// SplitMix64: small, fast, deterministic.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static var budget: Duration {
        let seconds = ProcessInfo.processInfo.environment["FUZZ_SECONDS"].flatMap(Double.init) ?? 2
        return .milliseconds(Int(max(0.1, min(seconds, 600)) * 1000))
    }

    static func generator(_ name: String) -> Generator {
        let seed =
            ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("\(name): FUZZ_SEED=\(seed), \(budget)")
        return Generator(state: seed)
    }

    /// One mutation of `input`: insert a token, delete, replace or duplicate a range, splice a
    /// piece of another seed, or insert random bytes.
    static func mutate(
        _ input: [UInt8], tokens: [[UInt8]], seeds: [[UInt8]], using random: inout Generator
    ) -> [UInt8] {
        var bytes = input
        let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0, 1:
            bytes.insert(contentsOf: tokens.randomElement(using: &random)!, at: position)
        case 2:
            if !bytes.isEmpty {
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let end = min(bytes.count, start + Int.random(in: 1...8, using: &random))
                bytes.removeSubrange(start..<end)
            }
        case 3:
            if !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
        case 4:
            if !bytes.isEmpty {
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let end = min(bytes.count, start + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[start..<end], at: position)
            }
        default:
            let other = seeds.randomElement(using: &random)!
            let start = Int.random(in: 0...other.count, using: &random)
            bytes = Array(bytes.prefix(position)) + other[start...]
        }
        return bytes
    }

    /// Runs `check` on mutants of the seeds until the budget is spent; returns how many ran.
    static func fuzz(
        _ name: String, seeds: [[UInt8]], tokens: [[UInt8]], maximumLength: Int, check: ([UInt8]) throws -> Void
    ) rethrows -> Int {
        var random = generator(name)
        let deadline = ContinuousClock.now + budget
        var runs = 0
        var input = seeds[0]
        while ContinuousClock.now < deadline {
            for _ in 0..<64 {
                if Int.random(in: 0..<8, using: &random) == 0 || input.count > maximumLength {
                    input = seeds.randomElement(using: &random)!
                }
                for _ in 0...Int.random(in: 0..<4, using: &random) {
                    input = mutate(input, tokens: tokens, seeds: seeds, using: &random)
                }
                try check(input)
                runs += 1
            }
        }
        print("\(name): \(runs) inputs")
        return runs
    }

    // MARK: URL parser

    static let secret = "Secr3tPw"
    static let urlSeeds = [
        "redis://user:\(secret)@cache.example.com:6379/2?pool_size=4&connect_timeout_ms=100",
        "redis://\(secret)@[::1]:6380",
        "unix:///tmp/redis.sock?db=3&password=\(secret)&pool_size=1",
        "redis-cluster://u:\(secret)@127.0.0.1:7000,127.0.0.1:7001?pool_size=2&command_timeout_ms=50",
        "redis-sentinel://:\(secret)@10.0.0.1:26379,[::1]:26380/mymaster/1?command_timeout_ms=5",
        "redis://127.0.0.1",
        "rediss://u:\(secret)@localhost:6380/1?cacert=/etc/ca.crt&cert=/c.crt&key=/c.key&sni=redis.internal",
        "rediss-cluster://:\(secret)@127.0.0.1:7950,127.0.0.1:7951?insecure=true",
        "rediss-sentinel://10.0.0.1:26379/mymaster?cacertdir=/etc/ssl/certs&password=\(secret)",
    ].map { Array($0.utf8) }
    static let urlTokens = [
        "://", "@", ":", "/", "//", "?", "&", "=", "%", "%2", "%zz", "%40", "%3A", "%00", "[", "]", ",", "pool_size=",
        "db=", "connect_timeout_ms=", "command_timeout_ms=", "user=", "password=", "999999999999999999",
        "9223372036854775807", "18446744073709551616", "-1", "0", "65535", "65536", "1e9", " ", "\u{0}", "\n", "é",
        "🚀", "redis", "unix", "redis-cluster", "redis-sentinel", "::", "[::1]", secret,
        "rediss", "rediss-cluster", "rediss-sentinel", "cacert=", "cacertdir=", "cert=", "key=", "sni=",
        "insecure=", "true", "no",
    ].map { Array($0.utf8) }

    @Test func urlParserNeverTrapsNorLeaksThePassword() throws {
        let runs = try Self.fuzz("URL parser", seeds: Self.urlSeeds, tokens: Self.urlTokens, maximumLength: 600) {
            bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let deployment = try RedisDeployment(url: text)
                let configuration = deployment.baseConfiguration
                #expect(
                    (1...RedisConfiguration.maximumPoolSize).contains(configuration.poolSize),
                    "pool size \(configuration.poolSize) from \(text.debugDescription)")
                #expect(configuration.connectTimeout > .zero && configuration.commandTimeout > .zero)
                #expect(configuration.database >= 0)
                if case .tcp(_, let port) = configuration.endpoint {
                    #expect((1...65535).contains(port), "port \(port) from \(text.debugDescription)")
                }
                // The password is shown nowhere: the description is the same with another one.
                if configuration.password != nil {
                    let other = deployment.withConfiguration { $0.password = "a-different-password" }
                    #expect("\(deployment)" == "\(other)", "the password shows in \(text.debugDescription)")
                }
            } catch let error as RedisClientError {
                #expect(!error.message.contains(Self.secret), "\(error.message) from \(text.debugDescription)")
            }
            if let configuration = try? RedisConfiguration(url: text) {
                #expect((1...RedisConfiguration.maximumPoolSize).contains(configuration.poolSize))
            }
        }
        #expect(runs > 100)
    }

    // MARK: descriptor reader

    static let descriptorSeeds = [
        ConnectorDescriptorTests.seedJSON,
        #"{"ID":"my_bot","NAME":"My bot","ICON":{"DATA_IMAGE":"data:image/svg+xml,%3Csvg%2F%3E"},"COMPONENT":"c"}"#,
        ##"{"ID":"x","NAME":"n","ICON":{"DATA_IMAGE":"d","COLOR":"#fff","SIZE":"1%","POSITION":"p"},"ICON_DISABLED":{"DATA_IMAGE":"e"},"COMPONENT":"c","NEWSLETTER":false,"CHAT_GROUP":true}"##,
        "[]", "null", "{}",
    ].map { Array($0.utf8) }
    static let descriptorTokens = [
        "{", "}", "[", "]", "\"", ":", ",", "\\", "\\u0000", "\\ud800", "\\n", "1e999", "-0", "0.1", "true", "false",
        "null", "\"ID\":", "\"NAME\":", "\"ICON\":", "\"DATA_IMAGE\":", "\"COMPONENT\":", "\"ICON_DISABLED\":",
        "\"NEWSLETTER\":", "\"CHAT_GROUP\":", "\"x\"", "\"\"", String(repeating: "[", count: 64),
        String(repeating: "a", count: 300), "\u{1B}[31m", "é", "🚀", "\u{0}",
    ].map { Array($0.utf8) }

    @Test func descriptorReaderNeverTrapsAndWhatItAcceptsRoundTrips() throws {
        let runs = try Self.fuzz(
            "descriptor reader", seeds: Self.descriptorSeeds, tokens: Self.descriptorTokens, maximumLength: 4096
        ) { bytes in
            guard let connector = try? Connector(json: bytes) else { return }
            let canonical = try connector.canonicalJSON()
            let again = try Connector(json: canonical)
            #expect(again == connector, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            #expect(try again.canonicalJSON() == canonical)
        }
        #expect(runs > 100)
        // Past the limit, refused by size whatever the content.
        let large = Array(repeating: UInt8(ascii: " "), count: Connector.maximumJSONBytes + 1)
        #expect(throws: ConnectorStatusError.self) { try Connector(json: large) }
    }
}
