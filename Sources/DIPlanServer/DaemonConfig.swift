import Glibc
import Logging

/// The daemon's configuration file (`--config`, e.g. /etc/diplan/diplan.toml):
/// roles by uid and group, log level and limits. A small TOML subset:
///
///     log_level = "info"
///     max_connections = 1024
///     default_role = "reader"
///
///     [roles.planner]
///     uids = [1000]
///     groups = ["diplan-planners"]
///
/// Root is always admin. SIGHUP reloads it; a file that does not parse, or
/// names an unknown role, group or key, is refused and the old one kept.
package struct DaemonConfig: Sendable, Equatable {
    package var logLevel: Logger.Level = .info
    package var limits = ServerConfiguration()
    /// The role of a caller the file does not name.
    package var defaultRole: Role = .reader
    package var roleByUID: [UInt32: Role] = [:]
    package var roleByGID: [UInt32: Role] = [:]

    package init() {}

    package struct ParseError: Error, CustomStringConvertible {
        package var line: Int
        package var reason: String
        package var description: String { "line \(line): \(reason)" }
    }

    /// The highest role among the caller's uid and groups.
    package func role(uid: UInt32, gids: [UInt32]) -> Role {
        if uid == 0 { return .admin }
        var role = defaultRole
        if let byUID = roleByUID[uid] { role = max(role, byUID) }
        for gid in gids { if let byGID = roleByGID[gid] { role = max(role, byGID) } }
        return role
    }

    /// Reads and checks a configuration file.
    package static func load(path: String, base: ServerConfiguration) throws -> DaemonConfig {
        guard let file = fopen(path, "r") else {
            throw ParseError(line: 0, reason: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer[..<count] }
        guard ferror(file) == 0 else {
            throw ParseError(line: 0, reason: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), base: base)
    }

    package static func parse(_ text: String, base: ServerConfiguration) throws -> DaemonConfig {
        var config = DaemonConfig()
        config.limits = base
        var section = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = Self.stripComment(String(raw)).trimmingWhitespace
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ParseError(line: number, reason: "a section header must end with ]") }
                section = String(line.dropFirst().dropLast()).trimmingWhitespace
                if section.hasPrefix("roles.") {
                    guard Role(name: String(section.dropFirst(6))) != nil else {
                        throw ParseError(
                            line: number, reason: "unknown role \"\(section.dropFirst(6))\" (reader, operator, planner, admin)")
                    }
                } else {
                    throw ParseError(line: number, reason: "unknown section [\(section)]")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw ParseError(line: number, reason: "expected key = value") }
            let key = String(line[..<equals]).trimmingWhitespace
            let value = try Value(String(line[line.index(after: equals)...]).trimmingWhitespace, line: number)
            if section.isEmpty {
                try config.set(key, value, line: number)
            } else {
                let role = Role(name: String(section.dropFirst(6)))!
                switch key {
                case "uids":
                    for item in try value.list(line: number) {
                        guard let uid = try item.number(line: number).flatMap(UInt32.init(exactly:)) ?? Self.uid(named: item.text)
                        else {
                            throw ParseError(line: number, reason: "no user \(item)")
                        }
                        config.roleByUID[uid] = max(config.roleByUID[uid] ?? .reader, role)
                    }
                case "groups":
                    for item in try value.list(line: number) {
                        guard let gid = try item.number(line: number).flatMap(UInt32.init(exactly:)) ?? Self.gid(named: item.text)
                        else {
                            throw ParseError(line: number, reason: "no group \(item)")
                        }
                        config.roleByGID[gid] = max(config.roleByGID[gid] ?? .reader, role)
                    }
                default:
                    throw ParseError(line: number, reason: "unknown key \(key) in [\(section)] (uids, groups)")
                }
            }
        }
        return config
    }

    private mutating func set(_ key: String, _ value: Value, line: Int) throws {
        func positive() throws -> Int {
            guard let number = try value.number(line: line), number >= 0 else {
                throw ParseError(line: line, reason: "\(key) must be a number ≥ 0")
            }
            return number
        }
        switch key {
        case "log_level":
            guard let level = Logger.Level(rawValue: value.text) else {
                throw ParseError(line: line, reason: "log_level must be trace, debug, info, notice, warning, error or critical")
            }
            logLevel = level
        case "default_role":
            guard let role = Role(name: value.text) else { throw ParseError(line: line, reason: "default_role must be a role") }
            defaultRole = role
        case "max_connections": limits.maximumConnections = max(1, try positive())
        case "max_frame_bytes": limits.maximumFrameLength = max(64, try positive())
        case "read_timeout_ms": limits.readTimeoutMilliseconds = try positive()
        case "idle_timeout_ms": limits.idleTimeoutMilliseconds = try positive()
        case "write_timeout_ms": limits.writeTimeoutMilliseconds = try positive()
        case "max_streams_per_connection": limits.maximumStreamsPerConnection = max(1, try positive())
        default: throw ParseError(line: line, reason: "unknown key \(key)")
        }
    }

    private static func stripComment(_ line: String) -> String {
        var inString = false
        for (offset, character) in line.enumerated() {
            if character == "\"" { inString.toggle() }
            if character == "#" && !inString { return String(line.prefix(offset)) }
        }
        return line
    }

    private static func uid(named name: String) -> UInt32? { getpwnam(name).map { $0.pointee.pw_uid } }
    private static func gid(named name: String) -> UInt32? { getgrnam(name).map { $0.pointee.gr_gid } }

    /// A value: a number, a "string", or a [list] of them.
    indirect enum Value: CustomStringConvertible {
        case number(Int)
        case string(String)
        case list([Value])

        init(_ text: String, line: Int) throws {
            if text.hasPrefix("[") {
                guard text.hasSuffix("]") else { throw ParseError(line: line, reason: "a list must end with ]") }
                let inner = text.dropFirst().dropLast().trimmingWhitespace
                self = .list(
                    try inner.isEmpty
                        ? [] : inner.split(separator: ",").map { try Value(String($0).trimmingWhitespace, line: line) })
            } else if text.hasPrefix("\"") {
                guard text.count >= 2, text.hasSuffix("\"") else {
                    throw ParseError(line: line, reason: "a string must end with \"")
                }
                self = .string(String(text.dropFirst().dropLast()))
            } else if let number = Int(text.replacingUnderscores) {
                self = .number(number)
            } else {
                throw ParseError(line: line, reason: "\(text) is not a number, a \"string\" or a [list]")
            }
        }

        var text: String {
            switch self {
            case .string(let text): text
            case .number(let number): String(number)
            case .list: ""
            }
        }

        func number(line: Int) throws -> Int? {
            switch self {
            case .number(let number): number
            case .string: nil
            case .list: throw ParseError(line: line, reason: "a list where a value was due")
            }
        }

        func list(line: Int) throws -> [Value] {
            guard case .list(let items) = self else { throw ParseError(line: line, reason: "expected a [list]") }
            return items
        }

        var description: String {
            switch self {
            case .number(let number): String(number)
            case .string(let text): "\"\(text)\""
            case .list(let items): "[\(items.map(\.description).joined(separator: ", "))]"
            }
        }
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        String(
            drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed().drop(while: {
                $0 == " " || $0 == "\t" || $0 == "\r"
            }).reversed())
    }
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
