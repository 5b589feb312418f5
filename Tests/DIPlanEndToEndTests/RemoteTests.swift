import DIPlanTestSupport
import Foundation
import Glibc
import Testing

/// A program on another host reaches the daemon through SSH forwarding of
/// the Unix socket (docs/operations.md). The daemon then sees the uid of the
/// SSH login, not of the program: roles and scopes still apply.
///
/// The remote side is OpenSSH's real sshd, run as root (as it must, to
/// forward to a Unix socket) in a mount namespace of its own, where a
/// passwd and shadow bound over /etc's add its privilege-separation user and
/// the login `ludza-soc` (uid 65534, the Ludza service of ScopeTests) and a
/// tmpfs over /run holds /run/sshd. Nothing outside the namespace changes.
@Suite("Reaching the daemon from another host: SSH forwarding", .serialized)
struct RemoteTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// sshd, installed or unpacked from its Debian package by scripts/deps.sh,
    /// with the directory of the libraries unpacked beside it.
    static func sshd() throws -> (path: String, libraries: String?) {
        if FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") { return ("/usr/sbin/sshd", nil) }
        let unpacked = root.appendingPathComponent(".build/openssh")
        let path = unpacked.appendingPathComponent("usr/sbin/sshd").path
        try #require(FileManager.default.isExecutableFile(atPath: path), "no sshd: run scripts/deps.sh test")
        let libraries = FileManager.default.enumerator(atPath: unpacked.path)?.compactMap { $0 as? String }
            .first { $0.hasSuffix("/libwrap.so.0") }
            .map { unpacked.appendingPathComponent($0).deletingLastPathComponent().path }
        return (path, libraries)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        return UInt16(bigEndian: address.sin_port)
    }

    static func waitFor(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func aForwardedCallerActsAsItsSSHLogin() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        chmod(directory.url.path, 0o755)
        let config = directory.path("diplan.toml")
        try ScopeTests.config(ludza: ["ludza"]).write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try TestDaemon(arguments: ["--config", config], directory: directory)
        defer { daemon.stop() }
        chmod(daemon.socketPath, 0o666)
        for municipality in ["ludza", "balvi"] {
            let set = try diplanctl(
                ["line", "set"] + ScopeTests.key(municipality) + ["--existing", "10", "--occupied", "5"],
                socket: daemon.socketPath)
            #expect(set.status == 0, "\(set.err)")
        }

        // The keys, and the remote host's sshd.
        for key in ["host", "client"] {
            let (status, _, err) = try ChildProcess.run(
                "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", directory.path(key)])
            try #require(status == 0, "\(err)")
        }
        try FileManager.default.copyItem(atPath: directory.path("client.pub"), toPath: directory.path("authorized_keys"))
        let port = try Self.freePort()
        try """
        ListenAddress 127.0.0.1
        Port \(port)
        HostKey \(directory.path("host"))
        AuthorizedKeysFile \(directory.path("authorized_keys"))
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PidFile none
        AllowStreamLocalForwarding no
        AllowTcpForwarding no

        # As docs/operations.md has it.
        Match User ludza-soc
            AllowStreamLocalForwarding local
            AllowTcpForwarding local
            PermitTTY no
            X11Forwarding no
            AllowAgentForwarding no
            ForceCommand /usr/sbin/nologin

        """.write(toFile: directory.path("sshd_config"), atomically: true, encoding: .utf8)
        let remote = """
            set -e
            cp /etc/passwd "$1/passwd"; cp /etc/shadow "$1/shadow"
            echo 'sshd:x:65531:65531::/run/sshd:/usr/sbin/nologin' >> "$1/passwd"
            echo 'ludza-soc:x:\(ScopeTests.ludzaUID):\(ScopeTests.ludzaUID)::/nonexistent:/bin/sh' >> "$1/passwd"
            echo 'sshd:*:20000:0:99999:7:::' >> "$1/shadow"
            echo 'ludza-soc:x:20000:0:99999:7:::' >> "$1/shadow"
            mount --bind "$1/passwd" /etc/passwd
            mount --bind "$1/shadow" /etc/shadow
            mount -t tmpfs -o mode=0755 tmpfs /run
            mkdir -m 0755 /run/sshd
            exec "$2" -D -e -f "$1/sshd_config" 2>"$1/sshd.log"
            """
        let sshd = try Self.sshd()
        var environment = ProcessInfo.processInfo.environment
        if let libraries = sshd.libraries { environment["LD_LIBRARY_PATH"] = libraries }
        let server = try ChildProcess(
            "/usr/bin/unshare",
            ["--mount", "--propagation", "private", "/bin/sh", "-c", remote, "sh", directory.url.path, sshd.path],
            environment: environment, stderr: .null)
        defer { server.signal(SIGTERM) }
        func sshdLog() -> String { (try? String(contentsOfFile: directory.path("sshd.log"), encoding: .utf8)) ?? "" }
        try #require(Self.waitFor { sshdLog().contains("Server listening") }, "\(sshdLog())")

        // The municipal system's side: the exact line docs/operations.md gives.
        let forwarded = directory.path("forwarded.sock")
        let client = try ChildProcess(
            "/usr/bin/ssh",
            [
                "-F", "/dev/null", "-N", "-i", directory.path("client"), "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o",
                "StreamLocalBindUnlink=yes", "-p", "\(port)", "-L", "\(forwarded):\(daemon.socketPath)", "ludza-soc@127.0.0.1",
            ], stderr: .null)
        defer { client.signal(SIGTERM) }
        try #require(Self.waitFor { FileManager.default.fileExists(atPath: forwarded) }, "\(sshdLog())")

        // This process is root; through the tunnel, the daemon sees the login's uid and its scope.
        let held = try diplanctl(
            ["hold", "place", "--key", "remote-1", "--referral", "R-9"] + ScopeTests.key("ludza"), socket: forwarded)
        #expect(held.status == 0, "\(held.err) \(sshdLog())")
        let list = try diplanctl(["hold", "list", "-o", "csv"], socket: forwarded)
        #expect(list.out.contains("uid \(ScopeTests.ludzaUID) (ludza-social-service)"), "\(list.out)")
        let elsewhere = try diplanctl(
            ["hold", "place", "--key", "remote-2", "--referral", "R-9"] + ScopeTests.key("balvi"), socket: forwarded)
        #expect(elsewhere.status == 6)
        #expect(
            elsewhere.err.contains("uid \(ScopeTests.ludzaUID)") && elsewhere.err.contains("ludza-social-service"),
            "\(elsewhere.err)")
        // The same call made here, not through the tunnel, is root's.
        let local = try diplanctl(
            ["hold", "place", "--key", "local-1", "--referral", "R-9"] + ScopeTests.key("balvi"), socket: daemon.socketPath)
        #expect(local.status == 0, "\(local.err)")
    }
}
