// swift-tools-version:6.0
import PackageDescription

// Dependencies, named once.
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let histogram = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")

let package = Package(
    name: "diplan",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "diplan-server", targets: ["diplan-server"]),
        .executable(name: "diplanctl", targets: ["diplanctl"]),
        .executable(name: "diplan-bench", targets: ["diplan-bench"]),
        .library(name: "DIPlanClient", targets: ["DIPlanClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // The domain: entities, invariants, the in-memory state, queries. No I/O.
        .target(name: "DIPlanCore"),
        // The wire: generated protobuf, framing, status codes, proto ⇄ domain.
        .target(
            name: "DIPlanWire",
            dependencies: ["DIPlanCore", swiftProtobuf],
            exclude: ["Generated/proto.sha256"],
            resources: [
                .embedInCode("Resources/dataset.json"),
                .embedInCode("Resources/diplan.protoset"),
            ]
        ),
        // Durability: the write-ahead log, snapshots, recovery.
        .target(name: "DIPlanStorage"),
        // The durable store: the state and its lock, group commit, the snapshotter, recovery. No sockets.
        .target(name: "DIPlanStore", dependencies: ["DIPlanCore", "DIPlanWire", "DIPlanStorage", logging]),
        // epoll, for the daemon's event loops.
        .target(name: "CEpoll"),
        // The daemon: socket server, dispatch, lifecycle.
        .target(
            name: "DIPlanServer",
            dependencies: [
                "CEpoll", "DIPlanCore", "DIPlanWire", "DIPlanStorage", "DIPlanStore", logging, serviceLifecycle, unixSignals,
            ]
        ),
        // The C client on libprotobuf-c, with the protoc-c code of the whole contract.
        .target(
            name: "CDIPlanClient",
            cSettings: [.headerSearchPath("generated")],
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        // The Swift client library.
        .target(name: "DIPlanClient", dependencies: ["DIPlanCore", "DIPlanWire"]),
        .executableTarget(
            name: "diplan-server",
            dependencies: ["DIPlanServer", "DIPlanStore", "DIPlanWire", argumentParser, logging, serviceLifecycle]),
        .executableTarget(
            name: "diplanctl", dependencies: ["DIPlanClient", "DIPlanWire", "DIPlanStorage", argumentParser, swiftProtobuf]),
        // The load generator, the scale check and the report of `make bench`.
        .executableTarget(
            name: "diplan-bench",
            dependencies: ["CEpoll", "DIPlanCore", "DIPlanWire", "DIPlanClient", argumentParser, swiftProtobuf, histogram]
        ),

        // What the test targets share: a child process that does not hang in parallel tests.
        .target(name: "DIPlanTestSupport", path: "Tests/DIPlanTestSupport"),
        .testTarget(name: "DIPlanCoreTests", dependencies: ["DIPlanCore", "DIPlanTestSupport"]),
        .testTarget(name: "DIPlanWireTests", dependencies: ["DIPlanCore", "DIPlanWire", "DIPlanTestSupport", swiftProtobuf]),
        .testTarget(name: "DIPlanStorageTests", dependencies: ["DIPlanStorage", "DIPlanTestSupport"]),
        .testTarget(
            name: "DIPlanServerTests",
            dependencies: [
                "DIPlanCore", "DIPlanWire", "DIPlanServer", "DIPlanStore", "DIPlanStorage", "DIPlanTestSupport", swiftProtobuf,
                logging,
            ]),
        .testTarget(
            name: "DIPlanEndToEndTests",
            dependencies: [
                "DIPlanCore", "DIPlanWire", "DIPlanClient", "DIPlanServer", "DIPlanStore", "DIPlanStorage", "DIPlanTestSupport",
                swiftProtobuf,
                logging,
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
