import ArgumentParser
import DIPlanClient
import DIPlanWire
import Foundation

@main
struct DIPlanCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diplanctl",
        abstract: "Query and edit the regional DI plans that diplan-server holds.",
        discussion: """
            Talks to the daemon over its Unix socket (--socket, or $DIPLAN_SOCKET, or
            /run/diplan/diplan.sock). Output is an aligned table by default (--no-headers
            leaves the header row out); -o json gives protobuf's JSON mapping of the answer
            (one object per line for `watch` and `call`), -o csv a CSV table. Times in
            tables are ISO 8601, UTC; JSON keeps them as the daemon sends them.

            --socket, -o/--output, --timeout and --no-headers may come before the command
            or after it: diplanctl --socket /tmp/d.sock health

            Exit codes, by the class of the daemon's status:
              0  OK
              1  the daemon is not serving (health)
              3  INVALID_ARGUMENT, OUT_OF_RANGE: the request is wrong
              4  NOT_FOUND
              5  FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS: the state does not allow it
                 (including a failed --expect-revision)
              6  PERMISSION_DENIED, UNAUTHENTICATED
              7  UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, RESOURCE_EXHAUSTED: try again
              8  INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS
              64 the command line is wrong

            Shell completion: diplanctl --generate-completion-script bash|zsh|fish

            Example:
              diplanctl capacity --region latgale --group-by service
            """,
        version: DIPlanVersion.current,
        subcommands: [
            PlanCommand.self, CapacityCommand.self, MunicipalityCommand.self, TargetCommand.self, LineCommand.self,
            FacilityCommand.self, ProjectCommand.self, ProgrammeCommand.self, ApplyCommand.self, ImportCommand.self,
            ExportCommand.self,
            CallCommand.self, HealthCommand.self, AdminCommand.self, FreeCommand.self, HoldCommand.self, WatchCommand.self,
        ])

    /// Global options given before the command are moved after it, where
    /// every command's `ConnectionOptions` reads them (etcdctl, redis-cli and
    /// systemctl take them first).
    static func main() async {
        await main(ConnectionOptions.movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }
}

/// The options every command that talks to the daemon takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: $DIPLAN_SOCKET or /run/diplan/diplan.sock).")
    var socket: String?

    @Option(name: .shortAndLong, help: "Output format: table, json or csv.")
    var output: OutputFormat = .table

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 30

    @Flag(name: .customLong("no-headers"), help: "Leave out a table's header row (and a CSV's).")
    var noHeaders = false

    /// The options that may come before the command, with whether each takes a value.
    static let global: [String: Bool] = [
        "--socket": true, "--output": true, "-o": true, "--timeout": true, "--no-headers": false,
    ]

    /// `arguments` with the global options that lead them moved after the
    /// command's own (before a `--`, if any); anything else as it was.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            let name = first.split(separator: "=", maxSplits: 1).first.map(String.init) ?? first
            guard let takesValue = global[name] else { break }
            leading.append(rest.removeFirst())
            if takesValue && !first.contains("="), let value = rest.first {
                leading.append(value)
                rest.removeFirst()
            }
        }
        guard !leading.isEmpty, !rest.isEmpty else { return arguments }
        var moved = Array(rest)
        moved.insert(contentsOf: leading, at: moved.firstIndex(of: "--") ?? moved.count)
        return moved
    }

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["DIPLAN_SOCKET"] ?? DIPlanClient.defaultSocketPath
    }

    func connect() throws(RPCError) -> DIPlanClient {
        try DIPlanClient(socketPath: socketPath, defaultTimeout: .milliseconds(Int(timeout * 1000)))
    }

    /// Every argument must be UTF-8: Swift would read invalid bytes as U+FFFD, and the daemon would store that.
    func validate() throws {
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) != nil else {
                throw ValidationError("argument \(index) is not valid UTF-8; nothing was sent")
            }
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// A failed call, printed as the daemon said it and exiting with its class's code.
struct Failure: Error, CustomStringConvertible {
    var error: RPCError

    init(_ error: RPCError) { self.error = error }

    var description: String { "diplanctl: \(error.code): \(error.message)" }

    var exitCode: Int32 {
        switch error.code {
        case .ok: 0
        case .invalidArgument, .outOfRange: 3
        case .notFound: 4
        case .failedPrecondition, .aborted, .alreadyExists: 5
        case .permissionDenied, .unauthenticated: 6
        case .unavailable, .deadlineExceeded, .cancelled, .resourceExhausted: 7
        case .internal, .unknown, .unimplemented, .dataLoss: 8
        }
    }
}

extension AsyncParsableCommand {
    /// Runs a call, turning a failure into its message on stderr and its exit code.
    func calling<T>(_ body: () async throws(RPCError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let failure = Failure(error)
            FileHandle.standardError.write(Data((failure.description + "\n").utf8))
            throw ExitCode(failure.exitCode)
        }
    }
}
