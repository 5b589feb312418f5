import DIPlanTestSupport
import Foundation
import Testing

@Suite("Generated code")
struct GeneratedCodeTests {
    /// The package root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func matchesProto() throws {
        let (status, out, err) = try ChildProcess.run(Self.root.appendingPathComponent("scripts/proto-check.sh").path, [])
        #expect(status == 0, "\(out)\(err)")
    }
}
