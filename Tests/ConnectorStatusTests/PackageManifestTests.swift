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
}
