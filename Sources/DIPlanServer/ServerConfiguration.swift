import Glibc

/// What the server is allowed and told to do.
package struct ServerConfiguration: Sendable, Equatable {
    /// Frames over this many bytes are refused with RESOURCE_EXHAUSTED and the connection closed.
    package var maximumFrameLength = 4 * 1024 * 1024
    /// Connections beyond this are refused with RESOURCE_EXHAUSTED and closed.
    package var maximumConnections = 1_024
    /// A client that stops mid-frame for this long is disconnected.
    package var readTimeoutMilliseconds = 10_000
    /// A connection with no call and no byte for this long is closed (0: never).
    package var idleTimeoutMilliseconds = 0
    /// A client that does not read its answers for this long is disconnected.
    package var writeTimeoutMilliseconds = 10_000
    /// Streams (watches) one connection may have open at once.
    package var maximumStreamsPerConnection = 64
    /// Event loops that serve connections (read at start; at least one).
    package var eventLoops = ServerConfiguration.defaultEventLoops
    /// An event loop whose last call came back within this many
    /// microseconds polls its sockets this long for the next one before it
    /// sleeps (0: it always sleeps at once). On virtual CPUs waking a
    /// sleeping thread can cost more than a point query (bench/analysis.md,
    /// "One call in flight"). A client that pauses longer between calls costs
    /// at most one window of polling, then none until its calls come back to
    /// back.
    package var busyPollMicroseconds = 50
    /// How long shutdown waits for in-flight calls.
    package var shutdownGraceMilliseconds = 10_000

    package init() {}

    /// One event loop for every two cores: the clients of a Unix socket run on
    /// the same machine, and the commit loop, watchers and snapshots need cores
    /// too: on two cores, two loops and the clients take turns, and one loop
    /// serves more (bench/analysis.md, "Point query, 50 connections × 1").
    package static let defaultEventLoops = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)) / 2)
}
