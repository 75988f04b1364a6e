import CHiredis
import Foundation
import RedisClient
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The package's one set of `Duration` conversions (`Support/Duration+Units.swift`).
@Suite("Duration units")
struct DurationUnitsTests {
    @Test func wholeUnitsTruncateAndWaitsRoundUp() {
        let d = Duration.milliseconds(1500) + .nanoseconds(700)
        #expect(d.nanoseconds == 1_500_000_700)
        #expect(d.wholeMilliseconds == 1500)
        #expect(d.pollMilliseconds == 1501)
        #expect(d.expiryMilliseconds == 1500)
        #expect(Duration.nanoseconds(1).pollMilliseconds == 1)
        #expect(Duration.zero.pollMilliseconds == 0)
        #expect(Duration.seconds(-3).pollMilliseconds == 0)
        #expect(Duration.seconds(10_000_000).pollMilliseconds == Int32.max)
        // PX refuses 0: a sub-millisecond time to live is 1 ms.
        #expect(Duration.microseconds(300).expiryMilliseconds == 1)
        #expect(Duration.seconds(86_400).expiryMilliseconds == 86_400_000)
    }

    @Test func fractionalUnits() {
        let d = Duration.milliseconds(2250)
        #expect(d.seconds == 2.25)
        #expect(d.milliseconds == 2250)
        #expect(d.microseconds == 2_250_000)
        #expect(Duration.nanoseconds(1500).microseconds == 1.5)
    }

    @Test func cStructures() {
        let d = Duration.seconds(3) + .microseconds(250)
        #expect(d.timeval.tv_sec == 3 && d.timeval.tv_usec == 250)
        #expect(d.timespecValue.tv_sec == 3 && d.timespecValue.tv_nsec == 250_000)
        let negative = Duration.seconds(-1)
        #expect(negative.timespecValue.tv_sec == 0 && negative.timespecValue.tv_nsec == 0)
    }

    /// No other file takes a `Duration` apart by hand.
    @Test func noSourceTakesADurationApartItself() throws {
        let sources = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        let enumerator = try #require(FileManager.default.enumerator(atPath: sources.path))
        var offenders: [String] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".swift"), !relative.hasSuffix("Duration+Units.swift") else { continue }
            let text = try String(contentsOfFile: sources.appendingPathComponent(relative).path, encoding: .utf8)
            for word in ["attoseconds", ".components.seconds", "extension Duration"] where text.contains(word) {
                offenders.append("\(relative): \(word)")
            }
        }
        #expect(offenders.isEmpty, "\(offenders)")
    }
}
