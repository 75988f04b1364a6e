import ConnectorStatus
import Foundation
import Testing

/// Connector descriptors without a server: the seed's example decodes, defaults, canonical JSON,
/// and every validation rule refused with the field it concerns.
@Suite("Connector descriptor")
struct ConnectorDescriptorTests {
    /// The seed's `OnImConnectorBuildListHandler` array as PHP's `json_encode` writes it (slashes
    /// escaped), with the long SVG data URIs shortened.
    static let seedJSON = #"""
        {
            "ID": "baseconnector",
            "NAME": "Base connector",
            "ICON": {
                "DATA_IMAGE": "data:image\/svg+xml;charset=US-ASCII,%3Csvg%20version%3D%221.1%22%3E%3Cpath%20fill%3D%22%230C99BA%22\/%3E%3C\/svg%3E%0A",
                "COLOR": "#1900ff",
                "SIZE": "90%",
                "POSITION": "center"
            },
            "ICON_DISABLED": {
                "DATA_IMAGE": "data:image\/svg+xml;charset=US-ASCII,%3Csvg%20version%3D%221.1%22%3E%3Cpath%20fill%3D%22%235c6470%22\/%3E%3C\/svg%3E%0A",
                "SIZE": "90%",
                "POSITION": "center"
            },
            "COMPONENT": "bitrix:imconnector.baseconnector",
            "DEL_EXTERNAL_MESSAGES": true,
            "EDIT_INTERNAL_MESSAGES": true,
            "DEL_INTERNAL_MESSAGES": true,
            "NEWSLETTER": true,
            "NEED_SYSTEM_MESSAGES": true,
            "NEED_SIGNATURE": true,
            "CHAT_GROUP": false
        }
        """#

    static var minimal: [String: Any] {
        [
            "ID": "my_bot",
            "NAME": "My bot",
            "ICON": ["DATA_IMAGE": "data:image/svg+xml,%3Csvg%2F%3E"],
            "COMPONENT": "vendor:my.bot",
        ]
    }

    /// `minimal` with `change` applied, as JSON bytes.
    static func json(_ change: (inout [String: Any]) -> Void = { _ in }) throws -> [UInt8] {
        var object = minimal
        change(&object)
        return Array(try JSONSerialization.data(withJSONObject: object))
    }

    /// The field and rule of the descriptor error `body` throws.
    static func refusal(_ body: () throws(ConnectorStatusError) -> Void) -> (field: String, rule: String)? {
        do {
            try body()
            return nil
        } catch {
            guard case .invalidDescriptor(let field, let rule) = error else { return nil }
            return (field, rule)
        }
    }

    static func refusal(of bytes: [UInt8]) -> (field: String, rule: String)? {
        refusal { () throws(ConnectorStatusError) in _ = try Connector(json: bytes) }
    }

    @Test func seedExampleDecodes() throws {
        let connector = try Connector(json: Array(Self.seedJSON.utf8))
        #expect(connector.id.rawValue == "baseconnector")
        #expect(connector.name == "Base connector")
        #expect(connector.icon.dataImage.hasPrefix("data:image/svg+xml;charset=US-ASCII,%3Csvg"))
        #expect(connector.icon.color == "#1900ff")
        #expect(connector.icon.size == "90%")
        #expect(connector.icon.position == "center")
        #expect(connector.iconDisabled?.color == nil)
        #expect(connector.iconDisabled?.size == "90%")
        #expect(connector.iconDisabled?.dataImage.contains("%235c6470") == true)
        #expect(connector.component == "bitrix:imconnector.baseconnector")
        #expect(connector.deleteExternalMessages && connector.editInternalMessages && connector.deleteInternalMessages)
        #expect(connector.newsletter && connector.needSystemMessages && connector.needSignature)
        #expect(!connector.chatGroup)
    }

    @Test func absentFlagsTakeBitrixDefaults() throws {
        let connector = try Connector(json: Self.json())
        for flag in ConnectorFlag.allCases {
            #expect(connector[flag] == (flag != .chatGroup), "\(flag)")
        }
        #expect(connector.iconDisabled == nil)
        #expect(connector.icon.color == nil)
        let built = Connector(
            id: try ConnectorID("my_bot"), name: "My bot",
            icon: ConnectorIcon(dataImage: "data:image/svg+xml,%3Csvg%2F%3E"), component: "vendor:my.bot")
        #expect(built == connector)
    }

    @Test func presentFlagsAreRead() throws {
        let connector = try Connector(
            json: Self.json {
                $0["NEWSLETTER"] = false
                $0["CHAT_GROUP"] = true
                $0["NEED_SIGNATURE"] = false
            })
        #expect(!connector.newsletter && connector.chatGroup && !connector.needSignature)
        #expect(connector.deleteExternalMessages)
    }

    @Test func roundTripKeepsEveryField() throws {
        let seed = try Connector(json: Array(Self.seedJSON.utf8))
        #expect(try Connector(json: seed.canonicalJSON()) == seed)
        var changed = seed
        changed.chatGroup = true
        changed.newsletter = false
        changed.iconDisabled = nil
        #expect(try Connector(json: changed.canonicalJSON()) == changed)
        // Through plain Codable too.
        let data = try JSONEncoder().encode(changed)
        #expect(try JSONDecoder().decode(Connector.self, from: data) == changed)
    }

    @Test func canonicalJSONHasUpperCaseSortedKeysAndIsStable() throws {
        let seed = try Connector(json: Array(Self.seedJSON.utf8))
        let text = String(decoding: try seed.canonicalJSON(), as: UTF8.self)
        for key in [
            "\"ID\"", "\"NAME\"", "\"ICON\"", "\"ICON_DISABLED\"", "\"DATA_IMAGE\"", "\"COLOR\"", "\"SIZE\"",
            "\"POSITION\"", "\"COMPONENT\"", "\"DEL_EXTERNAL_MESSAGES\"", "\"EDIT_INTERNAL_MESSAGES\"",
            "\"DEL_INTERNAL_MESSAGES\"", "\"NEWSLETTER\"", "\"NEED_SYSTEM_MESSAGES\"", "\"NEED_SIGNATURE\"",
            "\"CHAT_GROUP\"",
        ] {
            #expect(text.contains(key), "\(key)")
        }
        #expect(!text.contains("\"id\"") && !text.contains("dataImage"))
        #expect(text.hasPrefix(#"{"CHAT_GROUP":false,"COMPONENT":"bitrix:imconnector.baseconnector","#))
        // Absent optional fields are left out, not written as null.
        #expect(!text.contains("null"))
        // Equal descriptors, decoded from differently ordered JSON, give equal bytes.
        let reordered = try Connector(json: Self.json { $0["CHAT_GROUP"] = false })
        #expect(try reordered.canonicalJSON() == Connector(json: Self.json()).canonicalJSON())
        #expect(ConnectorFlag.newsletter.descriptorKey == "NEWSLETTER")
        #expect(ConnectorFlag.deleteExternalMessages.descriptorKey == "DEL_EXTERNAL_MESSAGES")
    }

    @Test(arguments: ["ID", "NAME", "ICON", "COMPONENT"])
    func missingRequiredFieldIsRefused(field: String) throws {
        let refused = Self.refusal(of: try Self.json { $0[field] = nil })
        #expect(refused?.field == field)
        #expect(refused?.rule == "is required")
        let null = Self.refusal(of: try Self.json { $0[field] = NSNull() })
        #expect(null?.field == field)
    }

    @Test func missingOrEmptyDataImageIsRefused() throws {
        let missing = Self.refusal(of: try Self.json { $0["ICON"] = ["COLOR": "#fff"] })
        #expect(missing?.field == "ICON.DATA_IMAGE")
        #expect(missing?.rule == "is required")
        let empty = Self.refusal(of: try Self.json { $0["ICON"] = ["DATA_IMAGE": ""] })
        #expect(empty?.field == "ICON.DATA_IMAGE")
        let disabled = Self.refusal(of: try Self.json { $0["ICON_DISABLED"] = ["SIZE": "90%"] })
        #expect(disabled?.field == "ICON_DISABLED.DATA_IMAGE")
        let notObject = Self.refusal(of: try Self.json { $0["ICON"] = "data:image/png;base64,AAAA" })
        #expect(notObject?.field == "ICON")
        #expect(notObject?.rule == "must be a JSON object")
    }

    @Test(arguments: ["NAME", "COMPONENT"])
    func emptyRequiredStringIsRefused(field: String) throws {
        let refused = Self.refusal(of: try Self.json { $0[field] = "" })
        #expect(refused?.field == field)
        #expect(refused?.rule == "must not be empty")
    }

    @Test(arguments: ["my-bot", "telegram.bot", "", "bot bot", "бот"])
    func idOutsideLettersDigitsUnderscoreIsRefused(id: String) throws {
        let refused = Self.refusal(of: try Self.json { $0["ID"] = id })
        #expect(refused?.field == "ID")
        #expect(refused.map { !$0.rule.isEmpty } == true)
    }

    @Test(arguments: ["https://example.com/icon.svg", "image/svg+xml,%3Csvg%2F%3E", "data:no-comma", "<svg/>"])
    func dataImageThatIsNotADataURIIsRefused(image: String) throws {
        let refused = Self.refusal(of: try Self.json { $0["ICON"] = ["DATA_IMAGE": image] })
        #expect(refused?.field == "ICON.DATA_IMAGE")
        #expect(refused?.rule.contains("data: URI") == true)
        let built = Connector(
            id: try ConnectorID("bot"), name: "Bot", icon: ConnectorIcon(dataImage: image), component: "c")
        #expect(Self.refusal { () throws(ConnectorStatusError) in try built.validate() }?.field == "ICON.DATA_IMAGE")
    }

    @Test func upperCaseDataSchemeIsAccepted() throws {
        let connector = try Connector(json: Self.json { $0["ICON"] = ["DATA_IMAGE": "DATA:image/png;base64,AAAA"] })
        #expect(connector.icon.dataImage.hasPrefix("DATA:"))
    }

    @Test(arguments: ConnectorFlag.allCases)
    func flagThatIsNotABooleanIsRefused(flag: ConnectorFlag) throws {
        for value: Any in ["yes", "Y", "true", 1, 0, NSNull(), ["a"]] {
            let refused = Self.refusal(of: try Self.json { $0[flag.descriptorKey] = value })
            #expect(refused?.field == flag.descriptorKey, "\(value)")
            #expect(refused?.rule == "must be a JSON boolean (true or false)", "\(value)")
        }
    }

    @Test func literalNumberAndStringFlagsInRawJSONAreRefused() {
        let number = #"{"ID":"a","NAME":"A","ICON":{"DATA_IMAGE":"data:,x"},"COMPONENT":"c","NEWSLETTER":1}"#
        #expect(Self.refusal(of: Array(number.utf8))?.field == "NEWSLETTER")
        let text = #"{"ID":"a","NAME":"A","ICON":{"DATA_IMAGE":"data:,x"},"COMPONENT":"c","CHAT_GROUP":"yes"}"#
        #expect(Self.refusal(of: Array(text.utf8))?.field == "CHAT_GROUP")
    }

    @Test func nonStringFieldsAreRefused() throws {
        #expect(Self.refusal(of: try Self.json { $0["NAME"] = 42 })?.rule == "must be a JSON string")
        #expect(Self.refusal(of: try Self.json { $0["ID"] = 7 })?.field == "ID")
        let color = Self.refusal(of: try Self.json { $0["ICON"] = ["DATA_IMAGE": "data:,x", "COLOR": 255] })
        #expect(color?.field == "ICON.COLOR")
    }

    @Test func nameLongerThan255CharactersIsRefused() throws {
        #expect(try Connector(json: Self.json { $0["NAME"] = String(repeating: "я", count: 255) }).name.count == 255)
        let refused = Self.refusal(of: try Self.json { $0["NAME"] = String(repeating: "n", count: 256) })
        #expect(refused?.field == "NAME")
        #expect(refused?.rule.contains("at most 255") == true)
    }

    @Test func descriptorOver64KiBIsRefused() throws {
        let image = "data:image/svg+xml," + String(repeating: "a", count: 70 * 1024)
        let refused = Self.refusal(of: try Self.json { $0["ICON"] = ["DATA_IMAGE": image] })
        #expect(refused?.field == "(document)")
        #expect(refused?.rule.contains("65536") == true)
        let built = Connector(
            id: try ConnectorID("bot"), name: "Bot", icon: ConnectorIcon(dataImage: image), component: "c")
        #expect(Self.refusal { () throws(ConnectorStatusError) in try built.validate() }?.field == "(document)")
    }

    @Test(arguments: [
        "", "{", "not json", "[]", "null", "42", #""text""#, #"{"ID" "a"}"#, #"{"ID":"a""#, "{\"ID\":\"\u{1}\"",
        "\u{FEFF}",
    ])
    func malformedJSONIsRefusedWithoutTrapping(text: String) {
        let refused = Self.refusal(of: Array(text.utf8))
        #expect(refused?.field == "(document)")
    }

    @Test func deeplyNestedJSONIsRefusedWithoutTrapping() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(Self.refusal(of: Array(deep.utf8))?.field == "(document)")
        let deepObject = #"{"ID":"a","X":"# + String(repeating: "[", count: 10_000)
        #expect(Self.refusal(of: Array(deepObject.utf8))?.field == "(document)")
    }

    @Test func invalidUTF8IsRefused() {
        #expect(Self.refusal(of: [0x7B, 0xFF, 0xFE, 0x7D])?.field == "(document)")
    }

    @Test func errorDescriptionNamesFieldAndRule() throws {
        let error = ConnectorStatusError.invalidDescriptor(field: "ICON.DATA_IMAGE", rule: "must be a data: URI")
        #expect(error.description.contains("ICON.DATA_IMAGE must be a data: URI"))
        #expect(ConnectorStatusError.registryConflict(try ConnectorID("bot")).description.contains("bot"))
    }

    @Test func realIDIsLowerCasedAndCutAtTheFirstDot() {
        #expect(ConnectorRegistry.realID("Telegram.Bot") == "telegram")
        #expect(ConnectorRegistry.realID("viber") == "viber")
        #expect(ConnectorRegistry.realID("A.b.c") == "a")
        #expect(ConnectorRegistry.realID("") == "")
    }
}
