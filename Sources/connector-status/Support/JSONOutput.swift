import Foundation

/// Prints `value` as one line of JSON with sorted keys (stable output for scripts and tests);
/// with `snakeCase`, property names become `snake_case` keys.
func printJSON<Value: Encodable>(_ value: Value, snakeCase: Bool = false) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
