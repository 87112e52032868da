// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top: the C shims (CRabbitMQ, CSimdJSON), the AMQP wrapper, the domain (MinerIndex),
// the service wiring (MinerIndexService, MinerLoadKit), and the executables.
let package = Package(
    name: "miner-index",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "miner-index", targets: ["miner-index"]),
        .library(name: "AMQP", targets: ["AMQP"]),
        .library(name: "MinerIndex", targets: ["MinerIndex"]),
        .executable(name: "miner-load", targets: ["miner-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C layer
        .systemLibrary(
            name: "CRabbitMQ",
            path: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(
            name: "CSimdJSON",
            path: "Sources/CSimdJSON",
            linkerSettings: [.linkedLibrary("simdjson"), .linkedLibrary("stdc++")]
        ),

        // AMQP wrapper: the only Swift code that touches rabbitmq-c.
        // One retry curve for everything that retries.
        .target(name: "Backoff"),

        .target(
            name: "AMQP",
            dependencies: [
                "CRabbitMQ", "Backoff",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Domain: pure Swift, no I/O.
        .target(
            name: "MinerIndex",
            dependencies: ["CSimdJSON"]
        ),

        // State: what survives a restart, behind one protocol (a store) with the rules every backend shares:
        // record formats, write ordering, retries, restore.
        .target(
            name: "MinerIndexState",
            dependencies: [
                "MinerIndex", "Backoff",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedded default backend: one SQLite file through GRDB.
        .target(
            name: "MinerIndexStateSQLite",
            dependencies: [
                "MinerIndexState", "MinerIndex",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The shared backend: PostgreSQL through postgres-nio, with the advisory lock that elects one leader.
        .target(
            name: "MinerIndexStatePostgres",
            dependencies: [
                "MinerIndexState", "MinerIndex",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Which backend `--state` names, opened by its own policy; the service sees the protocols only.
        .target(
            name: "MinerIndexStateStores",
            dependencies: [
                "MinerIndexState", "Backoff", "MinerIndexStateSQLite", "MinerIndexStatePostgres", "MinerIndex",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Service wiring: queue → index actors → throttled fanout snapshots.
        .target(
            name: "MinerIndexService",
            dependencies: [
                "AMQP", "MinerIndex", "MinerIndexState", "MinerIndexStateStores",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // The command line of miner-index: flags over environment variables over the configuration's defaults.
        .target(
            name: "MinerIndexCommandLine",
            dependencies: [
                "AMQP", "MinerIndex", "MinerIndexService", "MinerIndexStateStores",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Executables
        .executableTarget(
            name: "miner-index",
            dependencies: [
                "MinerIndexService", "MinerIndexCommandLine",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Load generator: fleet simulation, pacing, publishing and --verify, as a library so tests can drive it.
        .target(
            name: "MinerLoadKit",
            dependencies: [
                "AMQP", "MinerIndex",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "miner-load",
            dependencies: [
                "MinerLoadKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Service benchmarks' helper: a bare acking consumer on the AMQP layer, queue declaration and depth polling.
        .executableTarget(
            name: "amqp-drain-bench",
            dependencies: [
                "AMQP", "MinerIndex", "MinerIndexService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests. Unit tests need no broker; the integration targets need a real RabbitMQ at AMQP_URL.
        .target(
            name: "BrokerTestSupport",
            dependencies: ["AMQP", .product(name: "Logging", package: "swift-log")],
            path: "Tests/BrokerTestSupport"
        ),
        .testTarget(name: "AMQPUnitTests", dependencies: ["AMQP"]),
        .testTarget(name: "AMQPIntegrationTests", dependencies: ["AMQP", "BrokerTestSupport"]),
        .testTarget(name: "MinerIndexTests", dependencies: ["MinerIndex"]),
        .testTarget(
            name: "StateEndToEndTests",
            dependencies: [
                "MinerLoadKit", "AMQP", "BrokerTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "MinerIndexStateTests",
            dependencies: [
                "MinerIndexState", "MinerIndexStateSQLite", "MinerIndexStatePostgres", "MinerIndexStateStores",
                "MinerIndex",
                "BrokerTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "MinerIndexServiceUnitTests",
            dependencies: ["MinerIndexService", "MinerIndexCommandLine", "MinerIndex", "AMQP", "BrokerTestSupport"]),
        .testTarget(
            name: "MinerIndexServiceTests",
            dependencies: [
                "MinerIndexService", "MinerIndex", "AMQP", "BrokerTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .testTarget(
            name: "MinerLoadTests",
            dependencies: [
                "MinerLoadKit", "MinerIndexService", "MinerIndex", "AMQP", "BrokerTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The state store's checkpoint, disk and restore costs at a given fleet; run in release.
        .executableTarget(
            name: "state-benchmarks",
            dependencies: [
                "MinerIndex", "MinerIndexState", "MinerIndexStateSQLite", "MinerIndexStatePostgres",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/StateBenchmarks"
        ),

        // The cost of a /metrics scrape at a given fleet; run in release.
        .executableTarget(
            name: "service-benchmarks",
            dependencies: ["MinerIndex", "MinerIndexService"],
            path: "Sources/ServiceBenchmarks"
        ),

        // Benchmarks of the domain against Foundation's JSON coders; run in release.
        .executableTarget(
            name: "miner-index-benchmarks",
            dependencies: ["MinerIndex"],
            path: "Sources/MinerIndexBenchmarks"
        ),
    ],
    cxxLanguageStandard: .cxx17
)
