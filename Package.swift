// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The switching path runs on one thread and touches class state per frame; dynamic
/// exclusivity checks cost more than the switching itself there, so release builds of those
/// modules skip them (debug builds and tests keep them).
let hotPathSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

// Linux only: the capture and transports use glibc's stdio and socket calls directly.
let package = Package(
    name: "switchyard",
    products: [
        .executable(name: "switchyardd", targets: ["switchyardd"]),
        .executable(name: "switchyard-echo", targets: ["switchyard-echo"]),
        .executable(name: "switchyard-ping", targets: ["switchyard-ping"]),
        .executable(name: "switchyard-stats", targets: ["switchyard-stats"]),
        .executable(name: "switchyard-replay", targets: ["switchyard-replay"]),
        .executable(name: "switchyard-ntpd", targets: ["switchyard-ntpd"]),
        .executable(name: "switchyard-ntp", targets: ["switchyard-ntp"]),
        .executable(name: "switchyard-arp", targets: ["switchyard-arp"]),
        .executable(name: "switchyard-sniff", targets: ["switchyard-sniff"]),
        .executable(name: "switchyard-ctl", targets: ["switchyard-ctl"]),
        .executable(name: "switchyard-tap", targets: ["switchyard-tap"]),
        .executable(name: "switchyard-dhcpd", targets: ["switchyard-dhcpd"]),
        .executable(name: "switchyard-dns", targets: ["switchyard-dns"]),
        .executable(name: "switchyard-dhcp", targets: ["switchyard-dhcp"]),
        .executable(name: "switchyard-dig", targets: ["switchyard-dig"]),
        .executable(name: "switchyard-extcap", targets: ["switchyard-extcap"]),
        .executable(name: "switchyard-tftpd", targets: ["switchyard-tftpd"]),
        .library(name: "SwitchyardClient", targets: ["SwitchyardClient"]),
        .library(name: "SwitchyardPackets", targets: ["SwitchyardPackets"]),
        .library(name: "SwitchyardBase", targets: ["SwitchyardBase"]),
        .library(name: "SwitchyardWire", targets: ["SwitchyardWire"]),
        .library(name: "SwitchyardFabric", targets: ["SwitchyardFabric"]),
        .library(name: "SwitchyardCapture", targets: ["SwitchyardCapture"]),
        .library(name: "SwitchyardReplay", targets: ["SwitchyardReplay"]),
        .library(name: "SwitchyardRules", targets: ["SwitchyardRules"]),
        .library(name: "SwitchyardServer", targets: ["SwitchyardServer"]),
        .library(name: "SwitchyardServices", targets: ["SwitchyardServices"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Pure protocol and packet code: no I/O.
        .target(
            name: "SwitchyardWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(name: "SwitchyardPackets", swiftSettings: swiftSettings),
        // What Fabric, Rules and Server share: the slot map and the monotonic instant.
        .target(name: "SwitchyardBase", swiftSettings: swiftSettings),
        .target(
            name: "SwitchyardFabric",
            dependencies: ["SwitchyardBase", "SwitchyardWire", "SwitchyardPackets", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: hotPathSettings
        ),

        // libpcap: everything pcap and BPF.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(
            name: "SwitchyardCapture",
            dependencies: [
                "CPcap", "SwitchyardPackets",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings
        ),

        // Rules and impairments: parsing and the decision engine (BPF through the capture's libpcap).
        .target(
            name: "SwitchyardRules",
            dependencies: ["SwitchyardBase", "SwitchyardCapture", "SwitchyardFabric"],
            swiftSettings: hotPathSettings
        ),

        // Linux TAP devices: the ioctls behind a C shim, one owner type.
        .target(name: "CTap"),
        .target(name: "SwitchyardTap", dependencies: ["CTap", "SwitchyardPackets"], swiftSettings: swiftSettings),

        // NIO glue.
        .target(
            name: "SwitchyardServer",
            dependencies: [
                "SwitchyardBase", "SwitchyardFabric", "SwitchyardWire", "SwitchyardCapture", "SwitchyardRules",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "SwitchyardClient",
            dependencies: [
                "SwitchyardWire", "SwitchyardPackets",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwitchyardServices",
            dependencies: [
                "SwitchyardClient", "SwitchyardPackets", "SwitchyardWire", "SwitchyardCapture",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwitchyardReplay",
            dependencies: ["SwitchyardClient", "SwitchyardCapture", "SwitchyardPackets", "SwitchyardWire"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwitchyardCommandLine",
            dependencies: [
                "SwitchyardClient", "SwitchyardServices", "SwitchyardCapture",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // Thin executables.
        .executableTarget(
            name: "switchyardd",
            dependencies: [
                "SwitchyardServer", "SwitchyardRules", "SwitchyardCommandLine", "SwitchyardFabric", "SwitchyardCapture",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-echo",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ntpd",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ntp",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-arp",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardPackets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-replay",
            dependencies: [
                "SwitchyardReplay", "SwitchyardCapture", "SwitchyardCommandLine", "SwitchyardPackets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-stats",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-sniff",
            dependencies: [
                "SwitchyardServices", "SwitchyardCapture", "SwitchyardCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-tap",
            dependencies: [
                "SwitchyardTap", "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardServices", "SwitchyardPackets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ctl",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dhcpd",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dns",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dhcp",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dig",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-extcap",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardCapture", "SwitchyardClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-tftpd",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine", "SwitchyardPackets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ping",
            dependencies: [
                "SwitchyardServices", "SwitchyardCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // Tests.
        // What every test target may share and that needs no process: waits with a bound,
        // requirements as traits, a manual clock, test data.
        .target(name: "SwitchyardTestKit", path: "Tests/SwitchyardTestKit", swiftSettings: swiftSettings),
        // Child processes, tool paths, fabrics to test against, namespaces, shared fixtures.
        .target(
            name: "SwitchyardTestSupport",
            dependencies: [
                "SwitchyardTestKit", "SwitchyardServer", "SwitchyardClient", "SwitchyardPackets", "SwitchyardWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SwitchyardTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardWireTests",
            dependencies: ["SwitchyardWire", .product(name: "NIOTestUtils", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SwitchyardPacketsTests", dependencies: ["SwitchyardPackets", "SwitchyardTestKit"], swiftSettings: swiftSettings),
        .testTarget(name: "SwitchyardCaptureTests", dependencies: ["SwitchyardCapture", "SwitchyardPackets", "SwitchyardTestKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SwitchyardReplayTests",
            dependencies: ["SwitchyardReplay", "SwitchyardCapture", "SwitchyardPackets"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardServerTests",
            dependencies: [
                "SwitchyardServer", "SwitchyardBase", "SwitchyardFabric", "SwitchyardWire", "SwitchyardRules", "SwitchyardTestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardClientTests",
            dependencies: [
                "SwitchyardClient", "SwitchyardWire", "SwitchyardTestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardRulesTests",
            dependencies: ["SwitchyardBase", "SwitchyardRules", "SwitchyardFabric"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwitchyardServicesTests",
            dependencies: ["SwitchyardServices", "SwitchyardClient", "SwitchyardPackets", "SwitchyardTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SwitchyardFabricTests", dependencies: ["SwitchyardBase", "SwitchyardFabric", "SwitchyardWire"], swiftSettings: swiftSettings),

        // Process tests, by concern; each depends on the executables it runs.
        // The tools as a user meets them: conventions, Unix habits, the daemon, rules, services.
        .testTarget(
            name: "SwitchyardToolTests",
            dependencies: [
                "SwitchyardTestSupport", "SwitchyardServer", "SwitchyardClient", "SwitchyardServices", "SwitchyardPackets",
                "SwitchyardCapture", "SwitchyardCommandLine", "SwitchyardWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                "switchyardd", "switchyard-echo", "switchyard-ping", "switchyard-stats", "switchyard-sniff", "switchyard-ntpd",
                "switchyard-ntp", "switchyard-arp", "switchyard-replay", "switchyard-ctl", "switchyard-tap", "switchyard-dhcpd",
                "switchyard-dns", "switchyard-dhcp", "switchyard-dig", "switchyard-extcap", "switchyard-tftpd",
            ],
            swiftSettings: swiftSettings
        ),
        // Recordings and replay: captures read back by libpcap, tcpdump and tshark; replays.
        .testTarget(
            name: "SwitchyardRecordingTests",
            dependencies: [
                "SwitchyardTestSupport", "SwitchyardClient", "SwitchyardPackets", "SwitchyardCapture", "SwitchyardWire",
                "switchyardd", "switchyard-echo", "switchyard-ping", "switchyard-sniff", "switchyard-ntpd", "switchyard-replay",
                "switchyard-dhcpd", "switchyard-dns", "switchyard-dhcp",
            ],
            swiftSettings: swiftSettings
        ),
        // Real clients: QEMU, kernel stacks in namespaces, kernel VXLAN, Wireshark.
        .testTarget(
            name: "SwitchyardRealClientTests",
            dependencies: [
                "SwitchyardTestSupport", "SwitchyardClient", "SwitchyardPackets", "SwitchyardCapture", "SwitchyardWire",
                "switchyardd", "switchyard-echo", "switchyard-ping", "switchyard-arp", "switchyard-ntp", "switchyard-ntpd",
                "switchyard-replay", "switchyard-tap", "switchyard-dhcpd", "switchyard-dns", "switchyard-ctl", "switchyard-stats",
                "switchyard-extcap", "switchyard-tftpd",
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
