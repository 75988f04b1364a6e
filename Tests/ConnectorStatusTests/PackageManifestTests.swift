import Foundation
import Testing

/// The manifest says what the code supports (issue 16): Linux only, no Apple platform.
@Suite("Package manifest")
struct PackageManifestTests {
    @Test func theManifestDeclaresLinuxOnly() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        for platform in [".macOS(", ".iOS(", ".tvOS(", ".watchOS(", ".visionOS(", ".macCatalyst("] {
            #expect(!manifest.contains(platform), "Package.swift names \(platform)")
        }
        #expect(manifest.contains("#if !os(Linux)") && manifest.contains("#error("))
        let shim = try String(
            contentsOf: root.appendingPathComponent("Sources/CHiredis/shim.h"), encoding: .utf8)
        #expect(shim.contains("#ifndef __linux__"))
    }

    /// The README's module graph, checked against the code: every `import` of a module of this
    /// package under `Sources/<module>/` is one its row allows, so nothing imports upward.
    static let mayImport: [String: Set<String>] = [
        "CHiredis": [], "COpenSSL": [],
        "RedisClient": ["CHiredis", "COpenSSL"],
        "EmbeddedRedis": ["RedisClient"],
        "ConnectorStatus": ["RedisClient"],
        "ConnectorStatusDiagnostics": ["ConnectorStatus", "RedisClient"],
        "ConnectorStatusLoadTest": ["ConnectorStatus", "RedisClient", "EmbeddedRedis"],
        "ConnectorStatusBench": ["ConnectorStatus", "RedisClient"],
        "connector-status": [
            "RedisClient", "ConnectorStatus", "EmbeddedRedis", "ConnectorStatusDiagnostics", "ConnectorStatusLoadTest",
            "ConnectorStatusBench",
        ],
    ]

    @Test func noModuleImportsUpward() throws {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources")
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }
        #expect(Set(modules) == Set(Self.mayImport.keys), "a module under Sources/ is missing from the graph")
        let ours = Set(Self.mayImport.keys).map { $0.replacingOccurrences(of: "-", with: "_") }
        var offenders: [String] = []
        var imports = 0
        for module in modules {
            let allowed = Self.mayImport[module] ?? []
            let folder = sources.appendingPathComponent(module)
            let files = FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String } ?? []
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                        words[..<index].allSatisfy({ $0.hasPrefix("@") || $0 == "package" || $0 == "public" })
                    else { continue }
                    let name = String(words[index + 1])
                    guard ours.contains(name) else { continue }
                    imports += 1
                    if !allowed.contains(name) { offenders.append("\(module)/\(file): import \(name)") }
                }
            }
        }
        #expect(imports > 100, "read \(imports) imports of this package's modules")
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
