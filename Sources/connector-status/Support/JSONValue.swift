import Foundation

/// Any JSON value, for commands that take or print user JSON (`cache set --value`, DATA).
///
/// Numbers keep their exact text (``numeral(_:)``): `{"id":1234567890123456789}` comes back as
/// it went in, never through a `Double`. Parse with ``init(parsing:field:)`` or
/// ``init(exactly:)`` and print with ``text``; the `Codable` conformance (for `JSONEncoder`
/// and `JSONDecoder`) is exact for integers that fit an `Int64`.
enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, as its JSON text (validated by the parser; from Swift see ``integer(_:)`` and
    /// ``number(_:)``).
    case numeral(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An exact integer.
    static func integer(_ value: Int64) -> JSONValue { .numeral(String(value)) }

    /// A measured quantity; integral values print without a fraction.
    static func number(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        if value.rounded() == value, abs(value) < 1e15 { return .numeral(String(Int64(value))) }
        return .numeral("\(value)")
    }

    /// Parses JSON text exactly (see ``ExactJSONParser``).
    ///
    /// - Throws: ``ToolFailure`` with exit code 2 naming `field` when `text` is not JSON.
    init(parsing text: String, field: String) throws {
        guard let value = JSONValue(exactly: Array(text.utf8)) else {
            throw ToolFailure.badInput("\(field) is not valid JSON")
        }
        self = value
    }

    /// Parses one JSON document from `bytes`, keeping numbers as text; `nil` when it is not JSON.
    init?(exactly bytes: [UInt8]) {
        var parser = ExactJSONParser(bytes)
        guard let value = parser.document() else { return nil }
        self = value
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .numeral(let text):
            if let value = Int64(text) {
                try container.encode(value)
            } else if let value = UInt64(text) {
                try container.encode(value)
            } else if let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) {
                try container.encode(value)
            } else {
                try container.encode(Double(text) ?? 0)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Compact JSON text with sorted keys; numbers exactly as parsed.
    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .numeral(let text): out += text
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (index, name) in fields.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                Self.writeString(name, to: &out)
                out += ":"
                fields[name]!.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// Prints a JSON value as one line, exactly (numbers as they were parsed), sorted keys.
func printJSON(_ value: JSONValue) throws {
    FileHandle.standardOutput.write(Data((value.text + "\n").utf8))
}

/// Prints a JSON object as one line, exactly (numbers as they were parsed), sorted keys.
func printJSON(_ fields: [String: JSONValue]) throws {
    try printJSON(JSONValue.object(fields))
}
