import DIPlanClient
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Testing

@Suite("systemd: units, socket activation, sd_notify", .serialized)
struct SystemdTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs a program to its end: its status, and what it printed on either stream.
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let (status, out, err) = try ChildProcess.run(executable, arguments)
        return (status, out + err)
    }

    /// The units, with ExecStart pointing at the built daemon (verify checks that it exists).
    static func units() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let service = try String(contentsOf: root.appendingPathComponent("systemd/diplan.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/diplan-server", with: try Binaries.url("diplan-server").path)
        try service.write(toFile: directory.path("diplan.service"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: root.appendingPathComponent("systemd/diplan.socket").path, toPath: directory.path("diplan.socket"))
        return directory
    }

    @Test func theUnitsVerifyAndScoreOneOrBetter() throws {
        let directory = try Self.units()
        defer { directory.remove() }
        let (status, output) = try Self.run(
            "/usr/bin/systemd-analyze", ["verify", directory.path("diplan.service"), directory.path("diplan.socket")])
        #expect(status == 0, "\(output)")
        #expect(output.isEmpty, "systemd-analyze verify: \(output)")
        let (_, security) = try Self.run(
            "/usr/bin/systemd-analyze", ["security", "--offline=yes", directory.path("diplan.service")])
        let line = try #require(security.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(score <= 1.0, "\(line)")
    }

    @Test func socketActivationThroughSystemdSocketActivate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socket = directory.path("activated.sock")
        // The daemon is told a socket path it must not bind: it has to adopt the passed one.
        let process = try ChildProcess(
            "/usr/bin/systemd-socket-activate",
            [
                "-l", socket, "--fdname=diplan", try Binaries.url("diplan-server").path, "--socket",
                directory.path("unused.sock"),
                "--state-dir", directory.path("state"),
            ], stderr: .pipe)
        defer { process.signal(SIGKILL) }
        var client: DIPlanClient?
        for _ in 0..<200 where client == nil {
            client = try? DIPlanClient(socketPath: socket, connectTimeout: .seconds(1), defaultTimeout: .seconds(10))
            if client == nil { usleep(20_000) }
        }
        let connected = try #require(client)
        #expect(try await connected.isServing())
        connected.close()
        process.signal(SIGTERM)
        let log = String(decoding: process.standardError!.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.wait() == 0)
        #expect(log.contains("adopted the socket systemd passed"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("unused.sock")))
    }

    @Test func notificationsReadyAfterListenWatchdogReloadStopping() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The service manager's side: a datagram socket.
        let notifyPath = directory.path("notify.sock")
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(notifyPath.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        func receive(timeout: Int32 = 10_000) -> String? {
            var pollfd = pollfd(fd: receiver, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, timeout) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(receiver, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
        }
        func message(startingWith prefix: String) -> String? {
            for _ in 0..<100 {
                guard let message = receive() else { return nil }
                if message.hasPrefix(prefix) { return message }
            }
            return nil
        }

        let socketPath = directory.path("d.sock")
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notifyPath
        environment["WATCHDOG_USEC"] = "200000"
        let process = try ChildProcess(
            try Binaries.url("diplan-server").path, ["--socket", socketPath, "--state-dir", directory.path("state")],
            environment: environment, stderr: .null)
        defer { process.signal(SIGKILL) }

        let ready = try #require(message(startingWith: "READY=1"))
        #expect(ready.contains("STATUS=serving revision 1"))
        // Ready means listening: a connection made now is served.
        let client = try DIPlanClient(socketPath: socketPath, connectTimeout: .milliseconds(200))
        #expect(try await client.isServing())
        client.close()
        #expect(message(startingWith: "WATCHDOG=1") != nil)
        #expect(message(startingWith: "WATCHDOG=1") != nil)

        process.signal(SIGHUP)
        let reloading = try #require(message(startingWith: "RELOADING=1"))
        #expect(reloading.contains("MONOTONIC_USEC="))
        #expect(message(startingWith: "READY=1") != nil)

        process.signal(SIGTERM)
        #expect(message(startingWith: "STOPPING=1") != nil)
        #expect(process.wait() == 0)
    }
    /// The metrics timer's service, as systemd would run it: its units verify
    /// and score 1.0 or better, and its ExecStart leaves node_exporter a whole
    /// file it may read (mode 0644 under any umask), with diplan_up 1 while the
    /// daemon answers and diplan_up 0, exit 7, once it does not.
    @Test func theMetricsTimerWritesATextfile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let unit = try String(contentsOf: Self.root.appendingPathComponent("systemd/diplan-metrics.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/diplanctl", with: try Binaries.url("diplanctl").path)
        try unit.write(toFile: directory.path("diplan-metrics.service"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: Self.root.appendingPathComponent("systemd/diplan-metrics.timer").path,
            toPath: directory.path("diplan-metrics.timer"))
        let (status, output) = try Self.run(
            "/usr/bin/systemd-analyze",
            ["verify", directory.path("diplan-metrics.service"), directory.path("diplan-metrics.timer")])
        #expect(status == 0 && output.isEmpty, "systemd-analyze verify: \(output)")
        let (_, security) = try Self.run(
            "/usr/bin/systemd-analyze", ["security", "--offline=yes", directory.path("diplan-metrics.service")])
        let line = try #require(security.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(score <= 1.0, "\(line)")

        // ExecStart as the unit has it, with the test daemon's socket and file.
        let daemon = try TestDaemon()
        let textfile = directory.path("diplan.prom")
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
            .dropFirst("ExecStart=".count)
            .replacingOccurrences(of: "/run/diplan/diplan.sock", with: daemon.socketPath)
            .replacingOccurrences(of: "${DIPLAN_METRICS_FILE}", with: textfile)
        func scrape() throws -> (status: Int32, figures: [String: String]) {
            let (status, _, _) = try ChildProcess.run("/bin/sh", ["-c", "umask 077; exec \(execStart)"])
            var attributes = stat()
            #expect(stat(textfile, &attributes) == 0 && attributes.st_mode & 0o777 == 0o644)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).filter {
                $0.hasSuffix(".tmp")
            }
            #expect(leftovers.isEmpty, "\(leftovers)")
            var figures: [String: String] = [:]
            for line in try String(contentsOfFile: textfile, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
                // The exposition format: name{labels} value.
                let parts = line.split(separator: " ")
                #expect(parts.count == 2 && Double(parts[1]) != nil, "not a sample: \(line)")
                figures[String(parts[0])] = parts.last.map(String.init)
            }
            return (status, figures)
        }
        let serving = try scrape()
        #expect(serving.status == 0)
        #expect(serving.figures["diplan_up"] == "1")
        #expect(serving.figures["diplan_revision"] == "1", "\(serving.figures)")
        #expect(daemon.stop() == 0)
        let down = try scrape()
        #expect(down.status == 7)
        #expect(down.figures == ["diplan_up": "0"])
    }
}
