import DIPlanCore
import Glibc
import Logging

/// The daemon's configuration file (`--config`, e.g. /etc/diplan/diplan.toml):
/// roles and scopes by uid and group, log level and limits. A small TOML subset:
///
///     log_level = "info"
///     max_connections = 1024
///     default_role = "reader"
///
///     [roles.planner]
///     uids = [1000]
///     groups = ["diplan-planners"]
///
///     [scopes.ludza-social-service]
///     role = "operator"
///     users = ["ludza-soc"]
///     municipalities = ["ludza"]
///
/// Root is always admin. A caller that a `[scopes.*]` section names acts
/// with that section's role in its municipalities and regions, and is a
/// reader everywhere else: `default_role` and `[roles.*]` no longer apply to
/// it, so that a group shared by every service cannot widen a scope. Anyone
/// else has the highest of `default_role` and its `[roles.*]`, everywhere.
/// SIGHUP reloads it; a file that does not parse, or names an unknown role,
/// group, region or key, is refused and the old one kept.
package struct DaemonConfig: Sendable, Equatable {
    package var logLevel: Logger.Level = .info
    package var limits = ServerConfiguration()
    /// The role of a caller the file does not name.
    package var defaultRole: Role = .reader
    package var roleByUID: [UInt32: Role] = [:]
    package var roleByGID: [UInt32: Role] = [:]
    /// The `[scopes.*]` sections, in the file's order.
    package var scopes: [ScopeRule] = []

    /// A role within a scope, for the uids and groups a section names.
    package struct ScopeRule: Sendable, Equatable {
        package var scope: Scope
        package var role: Role
        package var uids: Set<UInt32> = []
        package var gids: Set<UInt32> = []
        /// Where the section starts, for errors.
        var line: Int
    }

    package init() {}

    package struct ParseError: Error, CustomStringConvertible {
        package var line: Int
        package var reason: String
        package var description: String { "line \(line): \(reason)" }
    }

    /// What a caller may do where: its scopes, or else its role everywhere.
    package func authority(uid: UInt32, gids: [UInt32]) -> Authority {
        if uid == 0 { return Authority(uid: uid, everywhere: .admin) }
        let grants = scopes.filter { rule in rule.uids.contains(uid) || gids.contains(where: rule.gids.contains) }
            .map { Authority.Grant(scope: $0.scope, role: $0.role) }
        guard grants.isEmpty else { return Authority(uid: uid, everywhere: .reader, grants: grants) }
        return Authority(uid: uid, everywhere: role(uid: uid, gids: gids))
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
                } else if section.hasPrefix("scopes.") {
                    let name = String(section.dropFirst(7))
                    guard Slug.isValid(name) else {
                        throw ParseError(line: number, reason: "a scope's name must be lower-case letters, digits and hyphens")
                    }
                    guard !config.scopes.contains(where: { $0.scope.name == name }) else {
                        throw ParseError(line: number, reason: "[scopes.\(name)] appears twice")
                    }
                    config.scopes.append(ScopeRule(scope: Scope(name: name), role: .reader, line: number))
                } else {
                    throw ParseError(line: number, reason: "unknown section [\(section)] ([roles.NAME] or [scopes.NAME])")
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { throw ParseError(line: number, reason: "expected key = value") }
            let key = String(line[..<equals]).trimmingWhitespace
            let value = try Value(String(line[line.index(after: equals)...]).trimmingWhitespace, line: number)
            if section.isEmpty {
                try config.set(key, value, line: number)
            } else if section.hasPrefix("scopes.") {
                try config.scopes[config.scopes.count - 1].set(key, value, line: number)
            } else {
                let role = Role(name: String(section.dropFirst(6)))!
                switch key {
                case "uids", "users":
                    for uid in try Self.uids(value, line: number) {
                        config.roleByUID[uid] = max(config.roleByUID[uid] ?? .reader, role)
                    }
                case "groups":
                    for gid in try Self.gids(value, line: number) {
                        config.roleByGID[gid] = max(config.roleByGID[gid] ?? .reader, role)
                    }
                default:
                    throw ParseError(line: number, reason: "unknown key \(key) in [\(section)] (users, uids, groups)")
                }
            }
        }
        for rule in config.scopes { try rule.check() }
        return config
    }

    /// Users by number or name.
    static func uids(_ value: Value, line: Int) throws -> [UInt32] {
        try value.list(line: line).map { item in
            guard let uid = try item.number(line: line).flatMap(UInt32.init(exactly:)) ?? Self.uid(named: item.text) else {
                throw ParseError(line: line, reason: "no user \(item)")
            }
            return uid
        }
    }

    /// Groups by number or name.
    static func gids(_ value: Value, line: Int) throws -> [UInt32] {
        try value.list(line: line).map { item in
            guard let gid = try item.number(line: line).flatMap(UInt32.init(exactly:)) ?? Self.gid(named: item.text) else {
                throw ParseError(line: line, reason: "no group \(item)")
            }
            return gid
        }
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

    /// Municipality ids in scopes that the state does not hold: a warning, not
    /// a refusal, since a scope may be written before its municipality is added.
    package func unknownMunicipalities(in state: borrowing PlanState) -> [String] {
        scopes.flatMap { $0.scope.municipalityIDs.sorted() }.filter { state.municipality($0) == nil }
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

extension DaemonConfig.ScopeRule {
    fileprivate mutating func set(_ key: String, _ value: DaemonConfig.Value, line: Int) throws {
        typealias ParseError = DaemonConfig.ParseError
        switch key {
        case "role":
            switch Role(name: value.text) {
            case .operator?, .planner?: role = Role(name: value.text)!
            case .admin?:
                throw ParseError(line: line, reason: "admin is not scoped: name its uid under [roles.admin]")
            case .reader?, nil:
                throw ParseError(line: line, reason: "a scope's role must be operator or planner")
            }
        case "uids", "users": uids.formUnion(try DaemonConfig.uids(value, line: line))
        case "groups": gids.formUnion(try DaemonConfig.gids(value, line: line))
        case "municipalities":
            for item in try value.list(line: line) {
                guard case .string(let id) = item, Slug.isValid(id) else {
                    throw ParseError(line: line, reason: "\(item) is not a municipality id (\"ludza\")")
                }
                scope.municipalityIDs.insert(id)
            }
        case "regions":
            for item in try value.list(line: line) {
                guard let region = Region(rawValue: item.text) else {
                    throw ParseError(
                        line: line,
                        reason: "\(item) is not a region (\(Region.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                scope.regions.insert(region)
            }
        default:
            throw ParseError(
                line: line,
                reason: "unknown key \(key) in [scopes.\(scope.name)] (role, users, uids, groups, municipalities, regions)")
        }
    }

    /// A section says what role, for whom, where.
    fileprivate func check() throws {
        let at = "[scopes.\(scope.name)]"
        guard role >= .operator else {
            throw DaemonConfig.ParseError(line: line, reason: "\(at) needs role = \"operator\" or \"planner\"")
        }
        guard !uids.isEmpty || !gids.isEmpty else {
            throw DaemonConfig.ParseError(line: line, reason: "\(at) names no users, uids or groups")
        }
        guard !scope.municipalityIDs.isEmpty || !scope.regions.isEmpty else {
            throw DaemonConfig.ParseError(line: line, reason: "\(at) names no municipalities or regions")
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
