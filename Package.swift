// swift-tools-version: 6.1
// lvsync: connection mirroring, VIP failover and the IPVS control plane for Linux LVS director pairs.
// Layers point one way: pure core (SyncWire, Mirror) <- I/O edges (HostNetwork) <- wiring <- the executable.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")
let propertyBased: Target.Dependency = .product(name: "PropertyBased", package: "swift-property-based")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
let swiftProtobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let x509: Target.Dependency = .product(name: "X509", package: "swift-certificates")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let dequeModule: Target.Dependency = .product(name: "DequeModule", package: "swift-collections")
let asn1: Target.Dependency = .product(name: "SwiftASN1", package: "swift-asn1")
let histogram: Target.Dependency = .product(name: "Histogram", package: "hdrhistogram-swift")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")

let package = Package(
    name: "lvsync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lvsync", targets: ["lvsync"]),
        .executable(name: "lvsync-bench", targets: ["lvsync-bench"]),
        .library(name: "SyncWire", targets: ["SyncWire"]),
        .library(name: "Mirror", targets: ["Mirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - Pure core
        .target(name: "SyncWire", swiftSettings: swiftSettings),
        .target(name: "Mirror", dependencies: ["SyncWire", "CPrefetch"], swiftSettings: swiftSettings),
        .target(name: "CPrefetch"),
        // The build's git revision, given on the command line by the packaging (see BuildInfo).
        .target(name: "CBuildInfo"),
        // The peer protocol: schema (generated code in Generated/), frames, and the pure sync session machines.
        .target(
            name: "PeerProtocol",
            dependencies: ["SyncWire", swiftProtobuf, nioCore, dequeModule],
            swiftSettings: swiftSettings
        ),
        // The election of the active director: a pure state machine (time passed in, actions out), standard library
        // only.
        .target(name: "Failover", exclude: ["README.md"], swiftSettings: swiftSettings),

        // MARK: - I/O edges
        // Real-server health checks: the checker as a pure state machine (time passed in), and the probes (TCP,
        // HTTP(S), UDP, DNS, a command), each bounded by its timeout.
        .target(
            name: "Health",
            dependencies: [nioCore, nioPosix, nioHTTP1, nioSSL, crypto],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-genl-3-dev", "pkg-config"])]
        ),
        .systemLibrary(
            name: "CNetlinkRoute",
            pkgConfig: "libnl-route-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-route-3-dev", "pkg-config"])]
        ),
        .target(name: "IPVS", dependencies: ["CNetlink", "SyncWire"], swiftSettings: swiftSettings),
        .target(name: "CHostNetwork"),
        .target(
            name: "HostNetwork",
            dependencies: ["CHostNetwork", "CNetlinkRoute", "SyncWire"],
            swiftSettings: swiftSettings
        ),

        // mTLS listener and dialer, certificate identity checks, a private CA for a first setup.
        .target(
            name: "PeerTransport",
            dependencies: ["PeerProtocol", nioCore, nioPosix, nioSSL, nioTLS, x509, asn1, crypto, logging],
            swiftSettings: swiftSettings
        ),

        // The control socket: a JSON-lines protocol over a root-only Unix socket between the CLI and the daemon.
        .target(
            name: "Control",
            dependencies: [nioCore, nioPosix, logging, serviceLifecycle],
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: - Wiring
        .target(name: "Config", dependencies: ["IPVS", "SyncWire", yams], swiftSettings: swiftSettings),
        // `lvsync import`: a keepalived configuration read and turned into lvsync's, with a report.
        .target(name: "KeepalivedImport", dependencies: ["Config", "IPVS", "SyncWire"], swiftSettings: swiftSettings),

        // The daemon: capture, relay, inject, as services under swift-service-lifecycle.
        .target(
            name: "Daemon",
            dependencies: [
                "SyncWire", "Mirror", "PeerProtocol", "PeerTransport", "HostNetwork", "IPVS", "Config", "Failover",
                "Control", "Health", "CBuildInfo",
                nioCore, nioPosix, nioHTTP1, logging, metrics, prometheus, serviceLifecycle, dequeModule, histogram,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"), crypto,
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Test support, benchmarks and the executable
        // The in-memory twins of the kernel and host edges, one test PKI, generators, free ports, and
        // `DaemonHost.inMemory()`: for the tests and the benchmarks, never in the shipped binary.
        .target(
            name: "LVSyncTestSupport",
            dependencies: [
                "Daemon", "IPVS", "HostNetwork", "Mirror", "SyncWire", "Config", "PeerTransport", nioCore, nioPosix,
                x509,
                dequeModule,
            ],
            swiftSettings: swiftSettings
        ),
        // The benchmarks behind BENCHMARKS.md, an executable of their own (`lvsync bench` runs it from beside lvsync).
        .executableTarget(
            name: "lvsync-bench",
            dependencies: [
                "SyncWire", "Mirror", "IPVS", "PeerProtocol", "PeerTransport", "Daemon", "Config", "Failover",
                "HostNetwork", "Control", "LVSyncTestSupport", argumentParser, nioCore, nioPosix, logging,
            ],
            path: "Sources/LVSyncBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lvsync",
            dependencies: [
                "SyncWire", "Mirror", "HostNetwork", "IPVS", "Config", "PeerProtocol", "PeerTransport", "Daemon",
                "Failover", "KeepalivedImport",
                "Control", argumentParser, logging, metrics, prometheus, serviceLifecycle, nioCore,
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .testTarget(name: "SyncWireTests", dependencies: ["SyncWire", propertyBased], swiftSettings: swiftSettings),
        .testTarget(name: "FailoverTests", dependencies: ["Failover"], swiftSettings: swiftSettings),
        .testTarget(
            name: "KeepalivedImportTests",
            dependencies: ["KeepalivedImport", "Config", "IPVS", "SyncWire"],
            exclude: ["Corpus"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HealthTests",
            dependencies: ["Health", "PeerTransport", "LVSyncTestSupport", nioCore, nioPosix, nioSSL],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HostNetworkTests",
            dependencies: ["HostNetwork", "SyncWire", "LVSyncTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MirrorTests", dependencies: ["Mirror", "SyncWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IPVSTests",
            dependencies: ["IPVS", "CNetlink", "SyncWire", "LVSyncTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConfigTests",
            dependencies: ["Config", "IPVS", "SyncWire", "LVSyncTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PeerProtocolTests",
            dependencies: ["PeerProtocol", "SyncWire", "Mirror", nioCore, swiftProtobuf],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PeerTransportTests",
            dependencies: [
                "PeerTransport", "PeerProtocol", "LVSyncTestSupport", nioCore, nioPosix, nioSSL, x509, asn1, crypto,
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ControlTests",
            dependencies: ["Control", nioCore, nioPosix, logging, serviceLifecycle],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "Daemon", "PeerTransport", "PeerProtocol", "Mirror", "SyncWire", "IPVS", "Config", "Control", "Health",
                "LVSyncTestSupport", "Failover", logging, metrics,
                .product(name: "CoreMetrics", package: "swift-metrics"), prometheus, serviceLifecycle,
                nioCore, nioPosix, x509,
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
