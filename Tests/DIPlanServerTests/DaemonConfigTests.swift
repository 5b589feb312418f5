import DIPlanCore
import DIPlanServer
import Testing

@Suite("The configuration file: roles, scopes, limits")
struct DaemonConfigTests {
    static func parse(_ text: String) throws -> DaemonConfig { try DaemonConfig.parse(text, base: ServerConfiguration()) }

    static func refusal(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static let ludza = """
        default_role = "reader"

        [roles.operator]
        groups = [100]

        [scopes.ludza-social-service]   # the Ludza social service
        role = "operator"
        uids = [1001]
        municipalities = ["ludza"]

        [scopes.latgale-planning]
        role = "planner"
        groups = [200]
        regions = ["latgale"]
        """

    @Test func aCallerAScopeNamesActsInItAndReadsElsewhere() throws {
        let config = try Self.parse(Self.ludza)
        // Named by uid, and in the group every service shares: the scope wins over the group's role.
        let ludza = config.authority(uid: 1001, gids: [100])
        #expect(ludza.everywhere == .reader)
        #expect(ludza.grants == [.init(scope: Scope(name: "ludza-social-service", municipalityIDs: ["ludza"]), role: .operator)])
        #expect(ludza.role(at: Place(region: .latgale, municipalityID: "balvi")).role == .reader)

        let planner = config.authority(uid: 1002, gids: [200])
        #expect(planner.role(at: Place(region: .latgale)).role == .planner)
        #expect(planner.role(at: Place(region: .kurzeme)).role == .reader)
    }

    @Test func callersNoScopeNamesKeepTheirRoleEverywhere() throws {
        let config = try Self.parse(Self.ludza)
        #expect(config.authority(uid: 1003, gids: [100]) == Authority(uid: 1003, everywhere: .operator))
        #expect(config.authority(uid: 1004, gids: []) == Authority(uid: 1004, everywhere: .reader))
        // Root is admin everywhere, whatever the file says.
        #expect(config.authority(uid: 0, gids: [200]) == Authority(uid: 0, everywhere: .admin))
    }

    @Test(arguments: [
        ("[scopes.x]\nrole = \"admin\"\nuids = [5]\nregions = [\"latgale\"]\n", "admin is not scoped"),
        ("[scopes.x]\nrole = \"reader\"\nuids = [5]\nregions = [\"latgale\"]\n", "must be operator or planner"),
        ("[scopes.x]\nuids = [5]\nregions = [\"latgale\"]\n", "needs role"),
        ("[scopes.x]\nrole = \"operator\"\nregions = [\"latgale\"]\n", "names no users, uids or groups"),
        ("[scopes.x]\nrole = \"operator\"\nuids = [5]\n", "names no municipalities or regions"),
        ("[scopes.x]\nrole = \"operator\"\nuids = [5]\nregions = [\"latvia\"]\n", "\"latvia\" is not a region"),
        ("[scopes.x]\nrole = \"operator\"\nuids = [5]\nmunicipalities = [\"Ludza\"]\n", "is not a municipality id"),
        ("[scopes.x]\nrole = \"operator\"\nuids = [5]\nmunicipalities = [\"ludza\"]\nplaces = 3\n", "unknown key places"),
        ("[scopes.Ludza]\n", "lower-case letters"),
        ("[scopes.x]\nrole = \"operator\"\nuids = [5]\nregions = [\"latgale\"]\n[scopes.x]\n", "appears twice"),
        ("[scopes.x]\nrole = \"operator\"\nusers = [\"no-such-user-here\"]\nregions = [\"latgale\"]\n", "no user"),
        ("[people]\n", "unknown section [people]"),
    ])
    func aBadScopeIsRefusedWithItsLine(text: String, reason: String) {
        let refused = Self.refusal(text)
        #expect(refused?.contains(reason) == true, "\(refused ?? "accepted")")
        #expect(refused?.hasPrefix("line ") == true)
    }

    @Test func usersAreNamedByNameOrNumber() throws {
        let config = try Self.parse("[scopes.r]\nrole = \"operator\"\nusers = [\"root\", 7]\nregions = [\"riga\"]\n")
        #expect(config.scopes.first?.uids == [0, 7])
    }
}
