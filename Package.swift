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

let package = Package(
    name: "lvsync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lvsync", targets: ["lvsync"]),
        .library(name: "SyncWire", targets: ["SyncWire"]),
        .library(name: "Mirror", targets: ["Mirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // MARK: - Pure core
        .target(name: "SyncWire", swiftSettings: swiftSettings),
        .target(name: "Mirror", dependencies: ["SyncWire"], swiftSettings: swiftSettings),

        // MARK: - I/O edges
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-genl-3-dev", "pkg-config"])]
        ),
        .target(name: "IPVS", dependencies: ["CNetlink", "SyncWire"], swiftSettings: swiftSettings),
        .target(name: "CHostNetwork"),
        .target(name: "HostNetwork", dependencies: ["CHostNetwork", "SyncWire"], swiftSettings: swiftSettings),

        // MARK: - Wiring
        .target(name: "Config", dependencies: ["IPVS", "SyncWire", yams], swiftSettings: swiftSettings),

        // MARK: - Benchmarks and the executable
        .target(name: "LVSyncBench", dependencies: ["SyncWire", "Mirror", "IPVS"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "lvsync",
            dependencies: ["SyncWire", "Mirror", "HostNetwork", "IPVS", "Config", "LVSyncBench", argumentParser],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .testTarget(name: "SyncWireTests", dependencies: ["SyncWire", propertyBased], swiftSettings: swiftSettings),
        .testTarget(name: "MirrorTests", dependencies: ["Mirror", "SyncWire"], swiftSettings: swiftSettings),
        .testTarget(name: "IPVSTests", dependencies: ["IPVS", "CNetlink", "SyncWire"], swiftSettings: swiftSettings),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "IPVS", "SyncWire"], swiftSettings: swiftSettings),
    ]
)
