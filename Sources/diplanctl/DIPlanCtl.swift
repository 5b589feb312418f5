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
            /run/diplan/diplan.sock). Output is an aligned table by default; -o json gives
            protobuf's JSON mapping of the answer, -o csv a CSV table.

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
        subcommands: [
            PlanCommand.self, CapacityCommand.self, MunicipalityCommand.self, TargetCommand.self, LineCommand.self,
            FacilityCommand.self, ProjectCommand.self, ApplyCommand.self, ImportCommand.self, ExportCommand.self,
            CallCommand.self, HealthCommand.self, AdminCommand.self, FreeCommand.self, HoldCommand.self, WatchCommand.self,
        ])
}

/// The options every command that talks to the daemon takes.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: $DIPLAN_SOCKET or /run/diplan/diplan.sock).")
    var socket: String?

    @Option(name: .shortAndLong, help: "Output format: table, json or csv.")
    var output: OutputFormat = .table

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 30

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
