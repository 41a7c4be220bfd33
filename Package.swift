// swift-tools-version: 6.1
import PackageDescription

/// The SwiftNIO products every networking target uses.
let nio: [Target.Dependency] = [
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOPosix", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "NIOWebSocket", package: "swift-nio"),
]

let package = Package(
    name: "Plenum",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "plenum", targets: ["plenum"]),
        .executable(name: "plenum-loadgen", targets: ["plenum-loadgen"]),
        .executable(name: "plenum-trendbench", targets: ["plenum-trendbench"]),
    ],
    traits: [
        .trait(
            name: "TLS",
            description: "HTTPS and wss:// through swift-nio-ssl (server.tls in hub.yaml); off: a plaintext-only hub"
        ),
        .default(enabledTraits: ["TLS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .target(name: "PlenumCore"),
        .target(
            name: "PlenumModbus",
            dependencies: ["PlenumCore", "CModbus"]
        ),
        .target(
            name: "PlenumTrends",
            dependencies: [
                "PlenumCore", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PlenumConfig",
            dependencies: ["PlenumCore", "CYAML"]
        ),
        /// Plenum's own C on top of the system Lua: allocator, hooks, trampoline, macro wrappers.
        .target(name: "CPlenumLua", dependencies: ["CLua"]),
        .target(
            name: "PlenumLua",
            dependencies: ["CPlenumLua"]
        ),
        .target(name: "PlenumBACnet", dependencies: ["PlenumCore"]),
        .target(
            name: "PlenumDevices",
            dependencies: [
                "PlenumCore", "PlenumLua", "PlenumModbus", "PlenumBACnet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PlenumServer",
            dependencies: nio + [
                "PlenumCore",
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["TLS"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// The MQTT bridge: change feeds to a broker (and `/set` writes back), over libmosquitto.
        .target(
            name: "PlenumBridge",
            dependencies: [
                "PlenumCore", "CMosquitto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PlenumApp",
            dependencies: [
                "PlenumCore", "PlenumConfig", "PlenumDevices", "PlenumServer", "PlenumLua", "PlenumTrends",
                "PlenumBridge",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "plenum",
            dependencies: [
                "PlenumApp", "PlenumConfig", "PlenumClient", "PlenumCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "PlenumClient",
            dependencies: nio + ["PlenumCore"]
        ),
        .systemLibrary(name: "CEpoll"),
        .executableTarget(
            name: "plenum-loadgen",
            dependencies: ["CEpoll", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "plenum-bacnet-bench", dependencies: ["PlenumBACnet", "PlenumCore"]),
        .executableTarget(
            name: "plenum-trendbench",
            dependencies: [
                "PlenumTrends", "PlenumCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PlenumTestSupport",
            dependencies: [
                "PlenumCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            path: "Tests/PlenumTestSupport"
        ),
        .testTarget(name: "PlenumCoreTests", dependencies: ["PlenumCore"]),
        .testTarget(name: "PlenumBACnetTests", dependencies: ["PlenumBACnet", "PlenumCore", "PlenumTestSupport"]),
        .testTarget(
            name: "PlenumModbusTests",
            dependencies: ["PlenumModbus", "PlenumCore", "PlenumTestSupport"]
        ),
        .testTarget(
            name: "PlenumTrendsTests",
            dependencies: [
                "PlenumTrends", "PlenumCore", "PlenumTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "PlenumLuaTests", dependencies: ["PlenumLua"], exclude: ["lib"]),
        .testTarget(
            name: "PlenumConfigTests",
            dependencies: ["PlenumConfig"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "PlenumDevicesTests",
            dependencies: [
                "PlenumDevices", "PlenumCore", "PlenumModbus", "PlenumBACnet", "PlenumTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "PlenumServerTests",
            dependencies: [
                "PlenumServer", "PlenumCore", "PlenumTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "PlenumBridgeTests",
            dependencies: [
                "PlenumBridge", "PlenumCore", "PlenumTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "PlenumAppTests",
            dependencies: [
                "PlenumApp", "PlenumConfig", "PlenumCore", "PlenumTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "PlenumIntegrationTests",
            dependencies: ["plenum", "PlenumApp", "PlenumCore", "PlenumModbus", "PlenumTestSupport"],
            resources: [.copy("Fixtures")]
        ),
    ]
)

// Fuzz targets (`make fuzz`; docs/reliability.md, "Fuzzing"). Ordinary builds compile them as
// replayers of their inputs, so they stay in step with the code; `make fuzz` builds them with
// libFuzzer and AddressSanitizer in .build-fuzz.
package.targets += [
    .systemLibrary(name: "CLibFuzzer", path: "Tests/Fuzz/CLibFuzzer"),
    .target(name: "PlenumFuzzSupport", dependencies: ["CLibFuzzer"], path: "Tests/Fuzz/Support"),
    .executableTarget(
        name: "plenum-fuzz-config",
        dependencies: ["PlenumConfig", "PlenumCore", "PlenumFuzzSupport"],
        path: "Tests/Fuzz/Config"
    ),
    .executableTarget(
        name: "plenum-fuzz-json",
        dependencies: ["PlenumCore", "PlenumFuzzSupport"],
        path: "Tests/Fuzz/JSON"
    ),
    .executableTarget(
        name: "plenum-fuzz-channel",
        dependencies: ["PlenumCore", "PlenumFuzzSupport"],
        path: "Tests/Fuzz/Channel"
    ),
    .executableTarget(
        name: "plenum-fuzz-bacnet",
        dependencies: ["PlenumBACnet", "PlenumFuzzSupport"],
        path: "Tests/Fuzz/BACnet"
    ),
    .executableTarget(
        name: "plenum-fuzz-websocket",
        dependencies: [
            "PlenumServer", "PlenumCore", "PlenumFuzzSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ],
        path: "Tests/Fuzz/WebSocket"
    ),
]
// This one reaches PlenumServer's internal request parser with `@testable import`, which needs
// `-enable-testing`: only `make fuzz` (PLENUM_FUZZ=1) builds it.
if Context.environment["PLENUM_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "plenum-fuzz-client-request",
            dependencies: ["PlenumServer", "PlenumCore", "PlenumFuzzSupport"],
            path: "Tests/Fuzz/ClientRequest"
        )
    )
}
