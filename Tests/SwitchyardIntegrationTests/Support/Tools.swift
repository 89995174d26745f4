import Foundation

/// Where the package's executables and the shared peer live.
enum Tools {
    /// The build products directory: the test binary sits beside the executables.
    static let products: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

    static func executable(_ name: String) -> URL {
        self.products.appendingPathComponent(name)
    }

    /// The package root (this file is Tests/SwitchyardIntegrationTests/Support/Tools.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/peer` beside the checkout: the reference v1 implementation, absent on a
    /// clone elsewhere (tests that need it are skipped then).
    static let peer: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/peer")

    static var peerAvailable: Bool {
        FileManager.default.fileExists(atPath: peer.appendingPathComponent("conformance.py").path) && python3 != nil
    }

    static let python3: URL? = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .map(URL.init(fileURLWithPath:))
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("python3") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    static func peerScript(_ name: String) -> String {
        self.peer.appendingPathComponent(name).path
    }
}

/// A fabric process: ours (`switchyardd`) or the reference peer's, on a free port.
struct FabricProcess {
    let process: ChildProcess
    let port: Int

    static func ours(_ extraArguments: [String] = []) async throws -> FabricProcess {
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--port", "0"] + extraArguments)
        return try await FabricProcess(process: process)
    }

    static func peer() async throws -> FabricProcess {
        let process = try ChildProcess(Tools.python3!, ["-u", Tools.peerScript("switchyardd.py"), "--port", "0", "-q"])
        return try await FabricProcess(process: process)
    }

    private init(process: ChildProcess) async throws {
        self.process = process
        let line = try await process.waitForLine(startingWith: "[fabric] listening on ")
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TestFailure("unreadable ready line: \(line)")
        }
        self.port = port
    }
}
