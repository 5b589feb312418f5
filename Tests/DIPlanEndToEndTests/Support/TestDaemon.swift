import DIPlanClient
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Testing

/// Where the built binaries are: beside the test bundle in .build.
enum Binaries {
    static let directory: URL = {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: bundle.appendingPathComponent("diplan-server").path) { return bundle }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }()

    static func url(_ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestFailure("\(url.path) is not built: run `swift build` before `swift test` (make test does)")
        }
        return url
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The real daemon, started from its binary on a temporary socket and state directory.
final class TestDaemon: @unchecked Sendable {
    let directory: TemporaryDirectory
    let socketPath: String
    let stateDirectory: String
    let process: ChildProcess
    /// What the daemon logs, drained as it comes so that a full pipe never blocks it.
    private let collected = LogBuffer()
    /// Whether the directory is this daemon's to remove (not one that outlives it, as in a crash loop).
    private let ownsDirectory: Bool

    init(arguments: [String] = [], directory: TemporaryDirectory? = nil) throws {
        ownsDirectory = directory == nil
        self.directory = try directory ?? TemporaryDirectory()
        socketPath = self.directory.path("d.sock")
        stateDirectory = self.directory.path("state")
        process = try ChildProcess(
            try Binaries.url("diplan-server").path,
            ["--socket", socketPath, "--state-dir", stateDirectory, "--log-level", "debug"] + arguments,
            stderr: .pipe)
        let reading = process.standardError!
        let buffer = collected
        Thread.detachNewThread { buffer.fill(from: reading) }
        try waitUntilListening()
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            guard process.isRunning else { throw TestFailure("diplan-server exited: \(log)") }
            if let client = try? DIPlanClient(socketPath: socketPath, connectTimeout: .seconds(1)) {
                client.close()
                return
            }
            usleep(20_000)
        }
        throw TestFailure("diplan-server did not listen within 20 s: \(log)")
    }

    func client(timeout: Duration? = .seconds(10)) throws -> DIPlanClient {
        try DIPlanClient(socketPath: socketPath, defaultTimeout: timeout)
    }

    /// What the daemon logged so far (read after it stopped).
    var log: String { collected.text }

    /// Sends SIGTERM and waits; returns the exit status (128 + the signal when one ended it).
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        process.signal(signal)
        let status = process.wait()
        collected.awaitEnd()
        return status
    }

    deinit {
        process.signal(SIGKILL)
        process.wait()
        if ownsDirectory { directory.remove() }
    }
}

/// Collects a pipe's bytes on a thread of its own until it ends.
final class LogBuffer: @unchecked Sendable {
    private let lock = NSCondition()
    private var data = Data()
    private var ended = false

    func fill(from handle: FileHandle) {
        while true {
            let chunk = handle.availableData
            lock.lock()
            if chunk.isEmpty { ended = true } else { data.append(chunk) }
            lock.broadcast()
            lock.unlock()
            if chunk.isEmpty { return }
        }
    }

    func awaitEnd() {
        lock.lock()
        while !ended { lock.wait() }
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Starts a daemon, runs `body` with it and a client, then stops it and checks it exited 0.
func withDaemon(
    arguments: [String] = [], _ body: (TestDaemon, DIPlanClient) async throws -> Void
) async throws {
    let daemon = try TestDaemon(arguments: arguments)
    let client = try daemon.client()
    do {
        try await body(daemon, client)
    } catch {
        client.close()
        daemon.stop()
        throw error
    }
    client.close()
    let status = daemon.stop()
    #expect(status == 0, "diplan-server exited \(status): \(daemon.log)")
}

/// Runs diplanctl against a socket; returns its exit status, standard output and standard error.
func diplanctl(
    _ arguments: [String], socket: String, input: String? = nil, via wrapper: String? = nil
) throws -> (
    status: Int32, out: String, err: String
) {
    var environment = ProcessInfo.processInfo.environment
    environment["DIPLAN_SOCKET"] = socket
    guard let wrapper else {
        return try ChildProcess.run(try Binaries.url("diplanctl").path, arguments, environment: environment, input: input ?? "")
    }
    // e.g. setpriv … -- diplanctl ARGUMENTS: the wrapper's own arguments come first.
    let split = arguments.firstIndex(of: "--") ?? 0
    return try ChildProcess.run(
        wrapper, Array(arguments[1...split]) + [try Binaries.url("diplanctl").path] + Array(arguments[(split + 1)...]),
        environment: environment, input: input ?? "")
}
