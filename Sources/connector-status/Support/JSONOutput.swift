import Foundation

/// Prints `value` as one line of JSON with sorted keys (stable output for scripts and tests);
/// with `snakeCase`, property names become `snake_case` keys.
func printJSON<Value: Encodable>(_ value: Value, snakeCase: Bool = false) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
    // Written straight to the file descriptor: a parent reading a pipe sees it at once, and
    // nothing waits in a stdio buffer if the process exits right after.
    var bytes = try encoder.encode(value)
    bytes.append(UInt8(ascii: "\n"))
    FileHandle.standardOutput.write(bytes)
}
