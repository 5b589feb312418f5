import Foundation

/// A fresh temporary directory, removed by `remove()`.
package struct TemporaryDirectory {
    package let url: URL

    package init() throws {
        // Short: socket paths must stay under 108 bytes.
        url = URL(fileURLWithPath: "/tmp").appendingPathComponent("diplan-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    package func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    package func remove() { try? FileManager.default.removeItem(at: url) }
}
