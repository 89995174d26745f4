// swift-tools-version:5.9
// libFuzzer targets for Switchyard's parsers and state machine. A separate package, so that
// the main build never links them (they have no main: libFuzzer supplies it). Build and run
// them with scripts/fuzz.sh.
import PackageDescription

let fuzzSettings: [SwiftSetting] = [.enableExperimentalFeature("Extern")]

let package = Package(
    name: "switchyard-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzFraming",
            dependencies: [
                .product(name: "SwitchyardWire", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzFabricCore",
            dependencies: [
                .product(name: "SwitchyardFabric", package: "main"),
                .product(name: "SwitchyardWire", package: "main"),
                .product(name: "SwitchyardPackets", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzRecording",
            dependencies: [
                .product(name: "SwitchyardReplay", package: "main"),
                .product(name: "SwitchyardCapture", package: "main"),
            ],
            swiftSettings: fuzzSettings
        ),
    ],
    swiftLanguageVersions: [.v5]
)
