/// Decoding helpers for connector descriptors: each failure becomes
/// ``ConnectorStatusError/invalidDescriptor(field:rule:)`` naming the JSON field and the rule,
/// instead of a `DecodingError` (whose coding path a caller would have to interpret).
enum DescriptorField {
    /// The field name used for the descriptor as a whole.
    static let document = "(document)"

    /// The keyed container of `decoder`, or `field` "must be a JSON object".
    static func object<Key: CodingKey>(
        _ decoder: any Decoder, _ keys: Key.Type, field: String
    ) throws -> KeyedDecodingContainer<Key> {
        do {
            return try decoder.container(keyedBy: Key.self)
        } catch {
            throw ConnectorStatusError.invalidDescriptor(field: field, rule: "must be a JSON object")
        }
    }

    /// A string that must be present and not `null`.
    static func requiredString<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> String {
        guard isPresent(container, key) else {
            throw ConnectorStatusError.invalidDescriptor(field: key.stringValue, rule: "is required")
        }
        return try string(container, key)
    }

    /// A string that may be absent or `null` (both read as `nil`).
    static func optionalString<Key: CodingKey>(
        _ container: KeyedDecodingContainer<Key>, _ key: Key
    ) throws -> String? {
        guard isPresent(container, key) else { return nil }
        return try string(container, key)
    }

    /// A flag: `fallback` when absent; when present it must be a JSON boolean (`null`, `"Y"`,
    /// `"yes"` and `1` are refused, so a typo never silently turns into a default).
    static func flag<Key: CodingKey>(
        _ container: KeyedDecodingContainer<Key>, _ key: Key, default fallback: Bool
    ) throws -> Bool {
        guard container.contains(key) else { return fallback }
        do {
            return try container.decode(Bool.self, forKey: key)
        } catch {
            throw ConnectorStatusError.invalidDescriptor(
                field: key.stringValue, rule: "must be a JSON boolean (true or false)")
        }
    }

    /// A nested value whose own field errors are reported under `key` (`ICON.DATA_IMAGE`).
    static func nested<Key: CodingKey, Value: Decodable>(
        _ container: KeyedDecodingContainer<Key>, _ key: Key, as type: Value.Type
    ) throws -> Value {
        do {
            return try container.decode(Value.self, forKey: key)
        } catch ConnectorStatusError.invalidDescriptor(let field, let rule) {
            let path = field == document ? key.stringValue : "\(key.stringValue).\(field)"
            throw ConnectorStatusError.invalidDescriptor(field: path, rule: rule)
        } catch {
            throw ConnectorStatusError.invalidDescriptor(field: key.stringValue, rule: "must be a JSON object")
        }
    }

    /// `true` when `key` is present and not `null`.
    static func isPresent<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) -> Bool {
        guard container.contains(key) else { return false }
        return !((try? container.decodeNil(forKey: key)) ?? false)
    }

    private static func string<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, _ key: Key) throws -> String {
        do {
            return try container.decode(String.self, forKey: key)
        } catch {
            throw ConnectorStatusError.invalidDescriptor(field: key.stringValue, rule: "must be a JSON string")
        }
    }
}
