import Foundation
import Testing

@Suite("Generated code")
struct GeneratedCodeTests {
    /// The package root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func matchesProto() throws {
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("scripts/proto-check.sh")
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
    }
}
