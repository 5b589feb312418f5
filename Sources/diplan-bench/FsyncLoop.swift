import ArgumentParser
import Foundation
import Glibc

extension DIPlanBench {
    /// The disk's one-at-a-time rate: append a small record and fdatasync it,
    /// again and again. What group commit is measured against.
    struct FsyncLoop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fsync-loop",
            abstract: "Append 100 bytes and fdatasync, in a loop, in a directory; print the rate.",
            discussion: "Example:\n  diplan-bench fsync-loop --directory .build/bench --json")

        @Option(help: "Where to write (the file is removed afterwards).") var directory: String
        @Option(help: "Seconds to run.") var seconds = 2.0
        @Flag(help: "Print the result as one line of JSON, as `load` does.") var json = false

        func run() throws {
            let path = directory + "/fsync-loop.\(getpid())"
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ValidationError("cannot open \(path): \(String(cString: strerror(errno)))") }
            defer {
                close(fd)
                unlink(path)
            }
            let record = [UInt8](repeating: 0x5A, count: 100)
            var tally = Tally()
            let end = Clock.nanoseconds() + UInt64(seconds * 1e9)
            while true {
                let start = Clock.nanoseconds()
                if start >= end { break }
                guard record.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == record.count, fdatasync(fd) == 0 else {
                    throw ValidationError("write or fdatasync failed: \(String(cString: strerror(errno)))")
                }
                tally.calls += 1
                _ = tally.latency.record(Clock.nanoseconds() - start)
            }
            let result = LoadResult(
                target: "fdatasync-loop", workload: "write+fdatasync", connections: 1, depth: 1, tally: tally, seconds: seconds)
            print(json ? result.jsonLine : result.summary)
        }
    }
}
