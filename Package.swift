// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The switching path runs on one thread and touches class state per frame; dynamic
/// exclusivity checks cost more than the switching itself there (64-byte frames: 0.53 of the
/// floor with them, 0.90 without, one compare.py run), so release builds of the fabric's own
/// modules (core, rules, server) skip them; debug builds and tests keep them. SwiftPM refuses
/// a product with unsafe flags from a versioned dependency, so those modules are no library
/// products: every product others can depend on builds without unsafe flags.
let hotPathSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

/// The fabric's own modules as products, for this repository's fuzz package only
/// (scripts/fuzz.sh sets SWITCHYARD_FUZZ_PRODUCTS=1): see `hotPathSettings`.
let fuzzOnlyProducts: [Product] = Context.environment["SWITCHYARD_FUZZ_PRODUCTS"] == "1" ? [
    .library(name: "SwitchyardFabric", targets: ["SwitchyardFabric"]),
    .library(name: "SwitchyardRules", targets: ["SwitchyardRules"]),
    .library(name: "SwitchyardServer", targets: ["SwitchyardServer"]),
] : []

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
        .library(name: "SwitchyardCapture", targets: ["SwitchyardCapture"]),
        .library(name: "SwitchyardReplay", targets: ["SwitchyardReplay"]),
        .library(name: "SwitchyardServices", targets: ["SwitchyardServices"]),
        .library(name: "SwitchyardResponders", targets: ["SwitchyardResponders"]),
        .library(name: "SwitchyardSniffing", targets: ["SwitchyardSniffing"]),
    ] + fuzzOnlyProducts,
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
            swiftSettings: swiftSettings
        ),

        // Copies that bypass the cache, for capture data no core reads again soon.
        .target(name: "CStreamingCopy"),
        // libpcap: everything pcap and BPF.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(
            name: "SwitchyardCapture",
            dependencies: [
                "CPcap", "CStreamingCopy", "SwitchyardBase", "SwitchyardPackets",
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
        .target(name: "SwitchyardTap", dependencies: ["CTap", "SwitchyardBase", "SwitchyardPackets"], swiftSettings: swiftSettings),

        // NIO glue.
        .target(
            name: "SwitchyardServer",
            dependencies: [
                "SwitchyardBase", "SwitchyardFabric", "SwitchyardWire", "SwitchyardCapture", "SwitchyardRules", "SwitchyardTap",
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
        // The services' answers as pure values: frames in, frames out, with their clocks.
        .target(name: "SwitchyardResponders", dependencies: ["SwitchyardBase", "SwitchyardPackets"], swiftSettings: swiftSettings),
        // The services' loops and the clients, on a fabric connection.
        .target(
            name: "SwitchyardServices",
            dependencies: [
                "SwitchyardClient", "SwitchyardPackets", "SwitchyardWire", "SwitchyardResponders",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // switchyard-sniff's and switchyard-extcap's part: a fabric's frames into pcap or text.
        .target(
            name: "SwitchyardSniffing",
            dependencies: ["SwitchyardCapture", "SwitchyardClient", "SwitchyardPackets", "SwitchyardServices", "SwitchyardWire"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwitchyardReplay",
            dependencies: ["SwitchyardClient", "SwitchyardCapture", "SwitchyardPackets", "SwitchyardWire"],
            swiftSettings: swiftSettings
        ),
        // What every tool shares: conventions (docs/conventions.md), connection flags, logging.
        .target(
            name: "SwitchyardCommandLine",
            dependencies: [
                "SwitchyardBase", "SwitchyardClient", "SwitchyardPackets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Flags of the service tools (--mtu, --ip6, --clock) and of the capturing ones (--format).
        .target(
            name: "SwitchyardServiceOptions",
            dependencies: [
                "SwitchyardResponders", "SwitchyardServices", "SwitchyardPackets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwitchyardCaptureOptions",
            dependencies: ["SwitchyardCapture", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),

        // Thin executables.
        .executableTarget(
            name: "switchyardd",
            dependencies: [
                "SwitchyardCapture", "SwitchyardCaptureOptions", "SwitchyardCommandLine", "SwitchyardFabric", "SwitchyardPackets", "SwitchyardRules", "SwitchyardServer", "SwitchyardTap",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-echo",
            dependencies: [
                "SwitchyardCommandLine", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ntpd",
            dependencies: [
                "SwitchyardCommandLine", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ntp",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-arp",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-replay",
            dependencies: [
                "SwitchyardCapture", "SwitchyardCaptureOptions", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-stats",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-sniff",
            dependencies: [
                "SwitchyardCapture", "SwitchyardCaptureOptions", "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardServices", "SwitchyardSniffing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-tap",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardServices", "SwitchyardTap",
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
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dns",
            dependencies: [
                "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dhcp",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-dig",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-extcap",
            dependencies: [
                "SwitchyardCapture", "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardServices", "SwitchyardSniffing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-tftpd",
            dependencies: [
                "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switchyard-ping",
            dependencies: [
                "SwitchyardClient", "SwitchyardCommandLine", "SwitchyardPackets", "SwitchyardResponders", "SwitchyardServiceOptions", "SwitchyardServices",
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
                "SwitchyardServer", "SwitchyardBase", "SwitchyardFabric", "SwitchyardPackets", "SwitchyardWire", "SwitchyardRules", "SwitchyardTestKit",
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
            dependencies: ["SwitchyardServices", "SwitchyardResponders", "SwitchyardClient", "SwitchyardPackets", "SwitchyardTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "SwitchyardFabricTests", dependencies: ["SwitchyardBase", "SwitchyardFabric", "SwitchyardWire"], swiftSettings: swiftSettings),

        // Process tests, by concern; each depends on the executables it runs.
        // The tools as a user meets them: conventions, Unix habits, the daemon, rules, services.
        .testTarget(
            name: "SwitchyardToolTests",
            dependencies: [
                "SwitchyardTestSupport", "SwitchyardServer", "SwitchyardClient", "SwitchyardServices", "SwitchyardResponders", "SwitchyardPackets",
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
                "SwitchyardTestSupport", "SwitchyardTap", "SwitchyardClient", "SwitchyardPackets", "SwitchyardCapture", "SwitchyardWire",
                "switchyardd", "switchyard-echo", "switchyard-ping", "switchyard-arp", "switchyard-ntp", "switchyard-ntpd",
                "switchyard-replay", "switchyard-tap", "switchyard-dhcpd", "switchyard-dns", "switchyard-ctl", "switchyard-stats",
                "switchyard-extcap", "switchyard-tftpd",
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
