import DIPlanClient
import DIPlanTestSupport
import DIPlanWire
import Foundation
import Glibc
import Synchronization
import Testing

/// Connecting while the daemon's backlog is full: a Unix socket does not
/// connect in the background, so the client must try again, not take an
/// unconnected socket for a connected one.
@Suite("Connecting to a full backlog")
struct ConnectTests {
    @Test func aFullBacklogIsWaitedOutThenTimesOut() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path("full.sock")
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(listener, 0) == 0)
        // Fill the backlog: connections the listener never accepts.
        var held: [Int32] = []
        defer { for fd in held { close(fd) } }
        while let fd = try? ClientSocket.connect(path: path, timeout: .milliseconds(100)) { held.append(fd) }
        #expect(!held.isEmpty)

        // Full: the connect waits, then fails as UNAVAILABLE, timed out.
        let start = ContinuousClock.now
        #expect(throws: RPCError.self) { try ClientSocket.connect(path: path, timeout: .milliseconds(200)) }
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        do {
            _ = try ClientSocket.connect(path: path, timeout: .milliseconds(50))
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("timed out"))
        }

        // Room made while a connect waits: it connects, and the socket is really connected.
        let accepted = Atomic(Int32(-1))
        let acceptor = Thread {
            usleep(100_000)
            accepted.store(accept(listener, nil, nil), ordering: .relaxed)
        }
        acceptor.start()
        let fd = try ClientSocket.connect(path: path, timeout: .seconds(5))
        defer { close(fd) }
        #expect(ClientSocket.writeAll(fd, [1, 2, 3]))
        while accepted.load(ordering: .relaxed) < 0 { usleep(1_000) }
        close(accepted.load(ordering: .relaxed))
    }
}
