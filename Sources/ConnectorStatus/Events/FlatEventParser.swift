/// A fast reader for the events the scripts publish: one flat JSON object whose values are strings
/// or integers, as Redis's cjson prints them (`{"type":"updated","line":7,"dir":"\/a\/",…}`).
///
/// Every process decodes every event of every line, so this is on the near cache's and the event
/// subscribers' hot path: `JSONDecoder` cost about a tenth of a load-test instance's CPU. Anything
/// this reader does not take exactly as JSON would — nesting, `true`/`false`/`null`, fractions or
/// exponents, `\u` escapes, leading zeros, integers beyond `Int64`, a key given twice, bytes after
/// the object, text that is not UTF-8 — makes it answer `nil`, and the caller decodes the payload
/// with `JSONDecoder` instead. So it never decides differently from `JSONDecoder` on what it
/// accepts (`FuzzTests` compares the two on mutated events).
enum FlatEventParser {
    /// One value of the object.
    enum Value: Equatable {
        case string(String)
        case integer(Int64)
    }

    /// The object's fields, or `nil` when the payload is not a flat object this reader takes.
    static func parse(_ payload: [UInt8]) -> [String: Value]? {
        payload.withUnsafeBufferPointer { bytes in
            var reader = Reader(bytes: bytes)
            return reader.object()
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func object() -> [String: Value]? {
            skipWhitespace()
            guard take(UInt8(ascii: "{")) else { return nil }
            var fields: [String: Value] = [:]
            skipWhitespace()
            if take(UInt8(ascii: "}")) { return endOfInput() ? fields : nil }
            while true {
                skipWhitespace()
                guard let key = string() else { return nil }
                skipWhitespace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipWhitespace()
                guard let value = value(), fields.updateValue(value, forKey: key) == nil else { return nil }
                skipWhitespace()
                if take(UInt8(ascii: ",")) { continue }
                guard take(UInt8(ascii: "}")) else { return nil }
                return endOfInput() ? fields : nil
            }
        }

        mutating func value() -> Value? {
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: "\"") { return string().map(Value.string) }
            return integer().map(Value.integer)
        }

        /// `-?(0|[1-9][0-9]*)` fitting `Int64`, followed by a delimiter (no fraction or exponent).
        mutating func integer() -> Int64? {
            var negative = false
            if take(UInt8(ascii: "-")) { negative = true }
            let start = position
            var magnitude: UInt64 = 0
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                let digit = UInt64(bytes[position] - 0x30)
                let (times, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = times.addingReportingOverflow(digit)
                guard !overflowA, !overflowB else { return nil }
                magnitude = sum
                position += 1
            }
            let digits = position - start
            guard digits > 0, digits == 1 || bytes[start] != 0x30 else { return nil }
            if position < bytes.count {
                let next = bytes[position]
                guard next == UInt8(ascii: ",") || next == UInt8(ascii: "}") || Self.isWhitespace(next) else {
                    return nil
                }
            }
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1, magnitude != 0 else { return nil }
                return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            }
            guard magnitude <= UInt64(Int64.max) else { return nil }
            return Int64(magnitude)
        }

        /// A string with the simple escapes (`\" \\ \/ \b \f \n \r \t`); `\u`, raw control bytes
        /// and text that is not UTF-8 answer `nil`.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var text: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: text, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { return nil }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    default: return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    text.append(byte)
                }
            }
            return nil
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func skipWhitespace() {
            while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
        }

        mutating func endOfInput() -> Bool {
            skipWhitespace()
            return position == bytes.count
        }

        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        }
    }
}
