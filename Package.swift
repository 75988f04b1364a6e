// swift-tools-version: 6.1
import PackageDescription

// Linux only. CHiredis's shim.h names threads with prctl(PR_SET_NAME) and counts CPUs with the
// sched_getaffinity syscall; the tool starts its child processes through /proc/self/exe and reads
// /proc for memory and CPU figures; the C library is Debian's libhiredis-dev 0.14. Elsewhere the
// manifest stops here, with this reason, instead of failing later inside a C header.
#if !os(Linux)
    #error("ConnectorStatus builds on Linux only (prctl, sched_getaffinity, /proc); see Package.swift and the README")
#endif

/// Settings every target of ours shares: Swift 6 mode is the default for tools 6.x; these add
/// the stricter checks the project holds itself to.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "ConnectorStatus",
    // No `platforms`: it would name Apple systems the code does not build on (see above).
    products: [
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .library(name: "EmbeddedRedis", targets: ["EmbeddedRedis"]),
        .library(name: "ConnectorStatus", targets: ["ConnectorStatus"]),
        .library(name: "ConnectorStatusLoadTest", targets: ["ConnectorStatusLoadTest"]),
        .library(name: "ConnectorStatusDiagnostics", targets: ["ConnectorStatusDiagnostics"]),
        .library(name: "ConnectorStatusBench", targets: ["ConnectorStatusBench"]),
        .executable(name: "connector-status", targets: ["connector-status"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // Build-time only: `swift package generate-documentation` (scripts/docs.sh); no target uses it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The only target that sees C: Debian's libhiredis-dev (0.14).
        // No pkgConfig: Debian's hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses
        // with a warning; the headers are in /usr/include/hiredis and the modulemap links it.
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // TLS for rediss:// (Debian's libssl-dev, OpenSSL 3): hiredis 0.14 has none, so the
        // client moves hiredis's formatted commands and replies through SSL_write/SSL_read.
        .systemLibrary(
            name: "COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        // Swift over hiredis: values, errors, configuration, connections, pool, pipelining,
        // scripts, pub/sub. Knows nothing of connectors or lines.
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        // The domain: connector status per (connector, line), readiness, events, line caches, the
        // connector registry, and the one KeySpace that names every key. Every Lua script of
        // lua/ is listed here and embedded into the binary (a directory cannot be listed).
        .target(
            name: "ConnectorStatus",
            dependencies: [
                "RedisClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            resources: [
                .embedInCode("../../lua/status_ready.lua"),
                .embedInCode("../../lua/status_ready_many.lua"),
                .embedInCode("../../lua/status_update.lua"),
                .embedInCode("../../lua/status_delete.lua"),
                .embedInCode("../../lua/status_delete_line.lua"),
                .embedInCode("../../lua/cache_get.lua"),
                .embedInCode("../../lua/cache_set.lua"),
                .embedInCode("../../lua/cache_release_lease.lua"),
                .embedInCode("../../lua/cache_reclaim.lua"),
                .embedInCode("../../lua/cache_clean.lua"),
                .embedInCode("../../lua/cache_remove.lua"),
                .embedInCode("../../lua/registry_register.lua"),
                .embedInCode("../../lua/near_status_get.lua"),
                .embedInCode("../../lua/near_barrier.lua"),
                .embedInCode("../../lua/near_cache_get.lua"),
                // Joined into the write scripts at load time (Redis scripts cannot `require`).
                .embedInCode("../../lua/lib/prelude.lua"),
            ],
            swiftSettings: strictSettings
        ),
        // Starts and stops a private redis-server (unix socket, no persistence) for the CLI's
        // defaults and for tests that must kill and restart a server. RedisClient for its
        // GuardedState (the package's one lock), nothing else.
        .target(
            name: "EmbeddedRedis",
            dependencies: ["RedisClient"],
            swiftSettings: strictSettings
        ),
        // The load test engine: workers, invariants, fault injection, results (README: module graph).
        .target(
            name: "ConnectorStatusLoadTest",
            dependencies: [
                "RedisClient",
                "ConnectorStatus",
                "EmbeddedRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),
        // The doctor's deployment checks: topology, TLS, scripts, ACL, eviction, latency.
        .target(
            name: "ConnectorStatusDiagnostics",
            dependencies: [
                "RedisClient",
                "ConnectorStatus",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The benchmark scenarios (ours against a reference, side by side), their figures and report.
        .target(
            name: "ConnectorStatusBench",
            dependencies: [
                "RedisClient",
                "ConnectorStatus",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),
        // The tool: argument parsing, output formatting and process spawning over the libraries.
        .executableTarget(
            name: "connector-status",
            dependencies: [
                "RedisClient",
                "ConnectorStatus",
                "ConnectorStatusLoadTest",
                "ConnectorStatusDiagnostics",
                "ConnectorStatusBench",
                "EmbeddedRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: ["RedisClient"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConnectorStatusTests",
            dependencies: [
                "ConnectorStatus", "RedisClient", "EmbeddedRedis", "ConnectorStatusLoadTest", "ConnectorStatusDiagnostics",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RedisClientIntegrationTests",
            dependencies: [
                "RedisClient", "EmbeddedRedis", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
