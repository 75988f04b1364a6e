import Foundation
import Testing

@testable import ConnectorStatus

/// The hand-written event reader (`FlatEventParser`) against `JSONDecoder`, on events as the
/// scripts publish them and on mutants of those (`FuzzTests.fuzz`, `FUZZ_SECONDS`, `FUZZ_SEED`):
/// whatever the fast reader accepts, `JSONDecoder` reads the same; nothing traps.
@Suite("Fuzzing the event reader against JSONDecoder")
struct EventParserFuzzTests {
    /// Events as cjson prints them (`/` escaped), numbers as numbers or exact text.
    static let seeds = [
        #"{"type":"updated","line":7,"seq":12,"pep":"00000000000000aa","ep":"00000000000000ab","connector":"telegram","version":3,"changed":"ACTIVE,ERROR","flags":"YNYY","ts":1796185065330,"dir":"\/imconnector\/infoconnectorsline\/","gen":1796185065330123}"#,
        #"{"type":"cache","op":"set","line":"9223372036854775807","seq":"123456789012345678","pep":"","ep":"0123456789abcdef","dir":"\/a%20b\/","key":"k%3Ax","gen":5,"ts":1}"#,
        #"{"type":"cache","op":"clean","line":1,"seq":2,"pep":"a","ep":"b","dir":"d","gen":-3,"ts":0}"#,
        #"{ "type" : "deleted" , "line" : 42 , "seq" : 1 , "connector" : "bot" , "version" : 1 , "changed" : "" , "ts" : 5 }"#,
        #"{"type":"future","line":1,"seq":1,"extra":"\"quoted\" \\ \b\f\n\r\t"}"#,
    ].map { Array($0.utf8) }

    static let tokens =
        [
            "\"", "\\", "\\/", "\\\"", "\\u00e9", "\\ud800", "{", "}", "[", "]", ",", ":", " ", "\n", "\t", "-", "0",
            "00",
            "1.5", "1e3", "-0", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
            "-9223372036854775809", "18446744073709551616", "null", "true", "false", "\"type\":", "\"line\":",
            "\"seq\":",
            "\"gen\":", "\"ts\":", "\"dir\":", "\"key\":", "\"op\":", "\"connector\":", "\"version\":", "\"type\":1,",
            "\"line\":\"x\",", "é", "\u{0}", "\u{1F}", "\u{7F}", "🚀",
        ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80]]

    @Test func whatTheFastReaderAcceptsJSONDecoderReadsTheSame() {
        // The seeds themselves take the fast path.
        for seed in Self.seeds {
            #expect(FlatEventParser.parse(seed).flatMap(LineEventWire.init(fields:)) != nil)
        }
        var fast = 0
        let runs = FuzzTests.fuzz(
            "event reader", seeds: Self.seeds, tokens: Self.tokens, maximumLength: 2_048
        ) { bytes in
            guard let read = FlatEventParser.parse(bytes).flatMap(LineEventWire.init(fields:)) else {
                _ = LineEventMessage(json: bytes)  // the fallback path must not trap either
                return
            }
            fast += 1
            let slow = try? JSONDecoder().decode(LineEventWire.self, from: Data(bytes))
            #expect(slow == read, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        print("event reader: \(runs) mutants, \(fast) read by the fast path")
        #expect(fast > 0)
    }
}
