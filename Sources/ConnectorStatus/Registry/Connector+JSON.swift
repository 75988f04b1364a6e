import Foundation

/// The descriptor's JSON form: validated decoding from bytes and a canonical encoding.
extension Connector {
    /// Decodes and checks a descriptor from JSON bytes, e.g. PHP's `json_encode` of a Bitrix
    /// `OnImConnectorBuildList` array. Never traps, whatever the bytes.
    ///
    /// - Throws: ``ConnectorStatusError/invalidDescriptor(field:rule:)``: field `(document)` when the
    ///   bytes exceed ``maximumJSONBytes``, are not JSON, or are not a JSON object; otherwise the
    ///   first field that breaks a rule of ``validate()``.
    public init(json: [UInt8]) throws(ConnectorStatusError) {
        if json.count > Self.maximumJSONBytes {
            throw .invalidDescriptor(
                field: DescriptorField.document,
                rule: "must be at most \(Self.maximumJSONBytes) bytes (got \(json.count))")
        }
        do {
            self = try Self.decoder.decode(Connector.self, from: Data(json))
        } catch let error as ConnectorStatusError {
            throw error
        } catch {
            throw .invalidDescriptor(field: DescriptorField.document, rule: "is not valid JSON")
        }
    }

    /// The canonical JSON of this descriptor: Bitrix's upper-case keys, sorted, no whitespace, `/`
    /// not escaped, every flag written, unset optional fields left out. Equal descriptors give
    /// equal bytes, so the registry compares descriptors by comparing these.
    ///
    /// - Throws: ``ConnectorStatusError/encodingFailed(_:)`` if Foundation's encoder fails (not
    ///   expected: every field is a string or a boolean).
    public func canonicalJSON() throws(ConnectorStatusError) -> [UInt8] {
        do {
            return Array(try Self.encoder.encode(self))
        } catch {
            throw .encodingFailed(String(describing: error))
        }
    }

    /// Made once and reused (both are `Sendable`; making them per call costs more than a small
    /// descriptor's coding).
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static let decoder = JSONDecoder()
}
