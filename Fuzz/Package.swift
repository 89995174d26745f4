// swift-tools-version:5.9
// libFuzzer targets for Switchyard's parsers and state machine. A separate package, so that
// the main build never links them (they have no main: libFuzzer supplies it). Build and run
// them with scripts/fuzz.sh.
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory: whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let fuzzSettings: [SwiftSetting] = [.enableExperimentalFeature("Extern")]

let package = Package(
    name: "switchyard-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: fuzzSettings),
        .executableTarget(
            name: "FuzzFraming",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardWire", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzFabricCore",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardBase", package: root),
                .product(name: "SwitchyardFabric", package: root),
                .product(name: "SwitchyardWire", package: root),
                .product(name: "SwitchyardPackets", package: root),
                .product(name: "SwitchyardRules", package: root),
                .product(name: "SwitchyardServer", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzQEMUFraming",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardServer", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzRules",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardBase", package: root),
                .product(name: "SwitchyardRules", package: root),
                .product(name: "SwitchyardFabric", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzRecording",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardReplay", package: root),
                .product(name: "SwitchyardCapture", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzDHCP",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardResponders", package: root),
                .product(name: "SwitchyardPackets", package: root),
                .product(name: "SwitchyardReplay", package: root),
                .product(name: "SwitchyardServices", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzDNS",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardResponders", package: root),
                .product(name: "SwitchyardPackets", package: root),
                .product(name: "SwitchyardReplay", package: root),
                .product(name: "SwitchyardServices", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzHost",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardResponders", package: root),
                .product(name: "SwitchyardPackets", package: root),
                .product(name: "SwitchyardServices", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzTFTP",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardResponders", package: root),
                .product(name: "SwitchyardPackets", package: root),
                .product(name: "SwitchyardServices", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzICMP",
            dependencies: ["FuzzSupport", .product(name: "SwitchyardPackets", package: root)],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzTransports",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardWire", package: root),
                .product(name: "SwitchyardServer", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzReadLoop",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardFabric", package: root),
                .product(name: "SwitchyardServer", package: root),
                .product(name: "SwitchyardWire", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzPcapng",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardCapture", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzCompare",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardReplay", package: root),
                .product(name: "SwitchyardPackets", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzStreams",
            dependencies: ["FuzzSupport", .product(name: "SwitchyardReplay", package: root)],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzReplayFlows",
            dependencies: [
                "FuzzSupport",
                .product(name: "SwitchyardReplay", package: root),
                .product(name: "SwitchyardPackets", package: root),
                .product(name: "SwitchyardCapture", package: root),
            ],
            swiftSettings: fuzzSettings
        ),
    ],
    swiftLanguageVersions: [.v5]
)
