import ConnectorStatus
import Foundation

/// Input parsing shared by the operations commands: each failure is a ``ToolFailure`` with exit
/// code 2 whose message names the option.
enum OpsInput {
    /// A validated connector id from `option`'s value.
    static func connector(_ text: String, option: String = "--connector") throws -> ConnectorID {
        do {
            return try ConnectorID(text)
        } catch {
            throw ToolFailure.badInput("\(option): \(error.description)")
        }
    }

    /// A validated line id from `option`'s value.
    static func line(_ value: Int64, option: String = "--line") throws -> LineID {
        do {
            return try LineID(value)
        } catch {
            throw ToolFailure.badInput("\(option): \(error.description)")
        }
    }

    /// A connector flag by its raw value (`newsletter`, `chatGroup`, …).
    static func flag(_ text: String, option: String = "--flag") throws -> ConnectorFlag {
        guard let flag = ConnectorFlag(rawValue: text) else {
            let allowed = ConnectorFlag.allCases.map(\.rawValue).joined(separator: ", ")
            throw ToolFailure.badInput("\(option): unknown flag '\(text)' (one of: \(allowed))")
        }
        return flag
    }

    /// The bytes of `path`, or of standard input when `path` is `-`, reading at most `limit` + 1
    /// bytes (enough to tell that the input is too long: an endless stdin, `/dev/zero`, a huge
    /// file) — never the whole of an input that has no end. The caller refuses more than `limit`.
    static func contents(of path: String, option: String, limit: Int) throws -> [UInt8] {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let file = FileHandle(forReadingAtPath: path) else {
                throw ToolFailure.badInput("\(option): cannot read file '\(path)'")
            }
            handle = file
        }
        defer { if path != "-" { try? handle.close() } }
        var bytes: [UInt8] = []
        do {
            while bytes.count <= limit {
                guard let chunk = try handle.read(upToCount: limit + 1 - bytes.count), !chunk.isEmpty else { break }
                bytes += chunk
            }
        } catch {
            throw ToolFailure.badInput("\(option): cannot read '\(path)': \(error.localizedDescription)")
        }
        return bytes
    }
}

/// Writes one line to standard output and flushes it, so a reader on a pipe sees it at once.
func printLine(_ text: String) {
    print(text)
    fflush(nil)  // every output stream; `stdout` itself is not concurrency-safe to name
}

/// Aligns rows of cells into columns (the first row is the header), two spaces apart. Control
/// characters in cells (text from users or from Redis) are escaped.
func formatTable(_ cells: [[String]]) -> String {
    let rows = cells.map { $0.map(\.escapingControlCharacters) }
    guard let width = rows.map(\.count).max(), width > 0 else { return "" }
    var widths = Array(repeating: 0, count: width)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

extension StatusSnapshot {
    /// The object `status get --json` prints: exactly `connector`, `line`, `active`,
    /// `connection`, `register`, `error`, `configured`, `ready`, `version`, `data` (the DATA
    /// JSON as a value, or `null`).
    var jsonObject: [String: JSONValue] {
        [
            "connector": .string(connector.rawValue),
            "line": .integer(line.rawValue),
            "active": .bool(active),
            "connection": .bool(connection),
            "register": .bool(register),
            "error": .bool(error),
            "configured": .bool(isConfigured),
            "ready": .bool(isReady),
            "version": .integer(version),
            "data": dataValue,
        ]
    }

    /// DATA as a JSON value: parsed when it is JSON, the raw text as a string otherwise.
    var dataValue: JSONValue {
        guard let data else { return .null }
        return (try? JSONValue(parsing: data, field: "DATA")) ?? .string(data)
    }

    /// One readable row: connector, line, the four flags, ready, version.
    var tableRow: [String] {
        func flag(_ value: Bool) -> String { value ? "Y" : "N" }
        return [
            connector.rawValue, String(line.rawValue), flag(active), flag(connection), flag(register), flag(error),
            isReady ? "yes" : "no", String(version),
        ]
    }

    static let tableHeader = ["CONNECTOR", "LINE", "ACTIVE", "CONNECTION", "REGISTER", "ERROR", "READY", "VERSION"]
}
