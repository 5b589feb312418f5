import DIPlanClient
import DIPlanCore
import DIPlanTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

/// The C client, built with AddressSanitizer (which fails on any leak at exit), against the real daemon.
@Suite("The C client on libprotobuf-c, under AddressSanitizer", .serialized)
struct CClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Builds a C program with the client library, once per name and test
    /// process, into `.build/c-tests` (built under a name of its own, then
    /// renamed over the last one, so that a test process running it meanwhile
    /// keeps the one it started).
    static func build(_ name: String, _ source: String) throws -> String {
        let directory = root.appendingPathComponent(".build/c-tests").path
        let output = directory + "/" + name
        if built.withLock({ $0.contains(name) }) { return output }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let building = output + ".\(getpid())"
        let client = root.appendingPathComponent("Sources/CDIPlanClient").path
        let generated = try FileManager.default.subpathsOfDirectory(atPath: client + "/generated").filter {
            $0.hasSuffix(".pb-c.c")
        }.sorted()
        let (status, _, text) = try ChildProcess.run(
            "/usr/bin/cc",
            [
                "-g", "-O1", "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-Wall", "-Wextra", "-Werror", "-I",
                client + "/include", "-I", client + "/generated", "-o", building, root.appendingPathComponent(source).path,
                client + "/diplan_client.c",
            ]
                + generated.map { client + "/generated/" + $0 } + ["-lprotobuf-c", "-lpthread"])
        guard status == 0 else { throw TestFailure("cc failed: \(text)") }
        guard rename(building, output) == 0 else { throw TestFailure("rename \(building): errno \(errno)") }
        built.withLock { _ = $0.insert(name) }
        return output
    }

    /// The programs this test process has built.
    static let built = Mutex<Set<String>>([])

    static func run(_ program: String, _ arguments: [String]) throws -> (Int32, String, String) {
        try ChildProcess.run(
            program, arguments,
            environment: ["ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "halt_on_error=1"])
    }

    @Test func queriesUpdatesHoldsWatchDeadlinesAndLimitsWithoutALeak() async throws {
        let program = try Self.build("test", "Tests/c/diplan_client_test.c")
        try await withDaemon(arguments: ["--max-frame-bytes", "65536"]) { daemon, _ in
            let (status, output, errors) = try Self.run(program, [daemon.socketPath, "all"])
            #expect(status == 0, "\(output)\(errors)")
            #expect(output.contains("all: 0 failures"))
            #expect(!errors.contains("LeakSanitizer"), "\(errors)")
        }
    }

    @Test func aDaemonThatGoesAwayMidCallIsUnavailable() async throws {
        let program = try Self.build("test", "Tests/c/diplan_client_test.c")
        let daemon = try TestDaemon()
        let process = try ChildProcess(
            program, [daemon.socketPath, "vanish"], environment: ["ASAN_OPTIONS": "detect_leaks=1"], stdout: .pipe,
            stderr: .pipe)
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("WATCHING") && Date() < deadline {
            let chunk = process.standardOutput!.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text.contains("WATCHING"))
        daemon.stop(signal: SIGKILL)
        text += String(decoding: process.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: process.standardError!.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.wait() == 0, "\(text)\(errors)")
        #expect(text.contains("vanish: 0 failures"))
        #expect(!errors.contains("LeakSanitizer"))
    }

    @Test func theExampleFindsAndHoldsAPlace() async throws {
        let program = try Self.build("example", "examples/c/diplan-c-example.c")
        try await withDaemon { daemon, client in
            for (municipality, existing) in [("karsava", 3), ("balvi", 2)] {
                try await client.apply(
                    .upsertCapacityLine(
                        CapacityLine(
                            key: LineKey(
                                planID: "latgale-2017-2020", municipalityID: municipality, serviceType: .dayCareCentre,
                                targetGroup: .ftChildren),
                            existing: UInt32(existing), occupied: 0)))
            }
            let (status, output, errors) = try Self.run(program, [daemon.socketPath, "ludza", "R-2024-0042"])
            #expect(status == 0, "\(output)\(errors)")
            #expect(output.contains("held 1 place in karsava"), "\(output)")
            #expect(!errors.contains("LeakSanitizer"))
            let line = try await client.export().lines.first {
                $0.key.municipalityID == "karsava" && $0.key.serviceType == .dayCareCentre
            }
            #expect(line?.held == 1)
        }
    }
}
