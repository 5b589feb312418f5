import ArgumentParser
import DIPlanClient
import DIPlanWire
import Foundation

/// diplan's load generator and benchmark tools. `make bench` runs them all,
/// beside the echo floor and Redis, and writes the report.
@main
struct DIPlanBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diplan-bench",
        abstract: "Load generator and benchmarks for diplan.",
        discussion: """
            Every figure means something only beside its peers measured in the same run: `make bench`
            runs the echo floor (bench/echo-floor.c), diplan and Redis together and writes BENCHMARKS.md.
            """,
        version: DIPlanVersion.current,
        subcommands: [Load.self, Scale.self, Watchers.self, FsyncLoop.self, Report.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drive a daemon (or the echo floor) with C connections × D calls in flight.",
            discussion: """
                Example:
                  diplan-bench load --socket .run/diplan.sock --workload point -c 1 -d 32 --seconds 3
                  diplan-bench load --socket /tmp/echo.sock --echo -c 50 -d 1
                """)

        @Option(help: "The socket to drive.") var socket: String
        @Option(help: "point, aggregate, update, hold or mixed.") var workload = Workload.point
        @Option(name: [.customShort("c"), .long], help: "Connections.") var connections = 1
        @Option(name: [.customShort("d"), .long], help: "Calls in flight per connection.") var depth = 1
        @Option(help: "Seconds measured.") var seconds = 3.0
        @Option(help: "Seconds run first and not counted.") var warmup = 0.5
        @Option(help: "Client threads; connections are shared out among them.") var threads = 1
        @Flag(help: "The peer is the echo floor: send the same frames, check no status, change nothing first.")
        var echo = false
        @Option(help: "What the result is filed under in a report (default: echo or diplan).") var target: String?
        @Flag(help: "Print the result as one line of JSON.") var json = false
        @Option(help: "The server's process id: its CPU time over the measured seconds is reported per call.")
        var serverPid: Int32?

        func validate() throws {
            guard connections > 0, depth > 0, seconds > 0, threads > 0 else {
                throw ValidationError("connections, depth, seconds and threads must be positive")
            }
            if echo && workload.writes { throw ValidationError("the echo floor takes only read workloads") }
        }

        func run() async throws {
            if !echo { try await Self.prepare(socket: socket) }
            let options = LoadOptions(
                socketPath: socket, workload: workload, connections: connections, depth: depth, seconds: seconds,
                warmupSeconds: warmup, threads: threads, echo: echo, target: target, serverPID: serverPid)
            let result = try LoadGenerator.run(options)
            print(json ? result.jsonLine : result.summary)
            if result.errors > 0 { throw ExitCode(1) }
        }

        /// Gives the queried line many free places, so that holds never run out.
        static func prepare(socket: String) async throws {
            let client = try DIPlanClient(socketPath: socket)
            defer { client.close() }
            var request = Diplan_V1_UpsertCapacityLineRequest()
            request.line = BenchLines.line(BenchLines.queried)
            request.line.planned = 1_000_000
            request.line.existing = 1_000_000
            request.line.occupied = 0
            request.replace = true
            _ = try await client.call(
                Method.Plans.upsertCapacityLine, request, as: Diplan_V1_UpsertCapacityLineResponse.self)
        }
    }
}
