import Foundation
import Glibc

/// A child process for the tests, on `posix_spawn` and `waitpid`.
///
/// Foundation's `Process` on Linux learns that a child has exited when a
/// socketpair it handed the child reaches its end. A child spawned at the same
/// moment from another thread may inherit that descriptor too, and then the
/// exit is never seen (swift-corelibs-foundation #4795): tests running in
/// parallel hung in `waitUntilExit()` with their children already zombies.
/// This asks the kernel instead, and gives a child no descriptor but its three.
package final class ChildProcess: @unchecked Sendable {
    /// What a child's standard stream is connected to.
    package enum Stream: Sendable {
        case null
        /// A pipe whose other end the parent holds (`standardInput`, …).
        case pipe
        /// The parent's own.
        case inherit
    }

    package let pid: pid_t
    /// The parent's ends of the pipes asked for.
    package let standardInput: FileHandle?
    package let standardOutput: FileHandle?
    package let standardError: FileHandle?
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` (a path) with `arguments`.
    package init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Stream = .null,
        stdout: Stream = .null, stderr: Stream = .inherit
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        func connect(_ stream: Stream, to target: Int32, parentReads: Bool) throws -> FileHandle? {
            switch stream {
            case .inherit: return nil
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                return nil
            case .pipe:
                var fds: [Int32] = [0, 0]
                // Close-on-exec at once; a child spawned meanwhile by another thread closes all but its three anyway.
                guard pipe(&fds) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
                for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                let (parent, child) = parentReads ? (fds[0], fds[1]) : (fds[1], fds[0])
                childEnds.append(child)
                posix_spawn_file_actions_adddup2(&actions, child, target)
                return FileHandle(fileDescriptor: parent, closeOnDealloc: true)
            }
        }
        standardInput = try connect(stdin, to: 0, parentReads: false)
        standardOutput = try connect(stdout, to: 1, parentReads: true)
        standardError = try connect(stderr, to: 2, parentReads: true)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in variables { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, variables)
        guard result == 0 else { throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            wait()
        }
    }

    /// Whether the child has not exited yet.
    package var isRunning: Bool { reap(blocking: false) == nil }

    /// Sends `signal` if the child still runs.
    package func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits for the child to exit: its exit code, or 128 + the signal that ended it, as a shell says.
    @discardableResult
    package func wait() -> Int32 {
        while true {
            if let status = reap(blocking: false) { return status }
            // Wait without reaping, so that only `reap` (under the lock) ever reaps.
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno != EINTR { return reap(blocking: false) ?? -1 }
        }
    }

    private func reap(blocking: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, blocking ? 0 : WNOHANG) == pid else { return nil }
        exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return exitStatus
    }

    /// Runs a program to its end, with `input` on its standard input; its status and both outputs.
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil
    ) throws -> (status: Int32, out: String, err: String) {
        let child = try ChildProcess(
            executable, arguments, environment: environment, stdin: input == nil ? .null : .pipe, stdout: .pipe, stderr: .pipe)
        if let input, let handle = child.standardInput {
            let bytes = Data(input.utf8)
            Thread.detachNewThread {
                try? handle.write(contentsOf: bytes)
                try? handle.close()
            }
        }
        let (out, err) = readBoth(child.standardOutput!, child.standardError!)
        let status = child.wait()
        return (status, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// Reads two pipes to their ends at once, so that neither fills while the other is read.
    private static func readBoth(_ first: FileHandle, _ second: FileHandle) -> (Data, Data) {
        var data = [Data(), Data()]
        var fds = [
            pollfd(fd: first.fileDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: second.fileDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while fds.contains(where: { $0.fd >= 0 }) {
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { break }
            for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    data[index].append(contentsOf: buffer[0..<count])
                } else if count == 0 || errno != EINTR {
                    fds[index].fd = -1
                }
            }
        }
        return (data[0], data[1])
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+), which Swift's Glibc module does not show.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()
}

package struct ChildProcessError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}
