import Foundation

/// Where the package's executables and the shared peer live.
public enum Tools {
    /// The build products directory: the test binary sits beside the executables.
    public static let products: URL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()

    public static func executable(_ name: String) -> URL {
        self.products.appendingPathComponent(name)
    }

    /// The package root (this file is Tests/SwitchyardTestSupport/Tools.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/peer` beside the checkout: the reference v1 implementation, absent on a
    /// clone elsewhere (tests that need it are skipped then).
    public static let peer: URL = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/peer")

    public static var peerAvailable: Bool {
        FileManager.default.fileExists(atPath: peer.appendingPathComponent("conformance.py").path) && python3 != nil
    }

    public static let python3: URL? = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .map(URL.init(fileURLWithPath:))
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        ?? ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("python3") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    public static func peerScript(_ name: String) -> String {
        self.peer.appendingPathComponent(name).path
    }
}

/// A fabric process: ours (`switchyardd`) or the reference peer's, on a free port.
public struct FabricProcess {
    public let process: ChildProcess
    public let port: Int

    public static func ours(_ extraArguments: [String] = [], readyOn stream: ChildProcess.Stream = .stdout) async throws -> FabricProcess {
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--port", "0"] + extraArguments)
        return try await FabricProcess(process: process, readyOn: stream)
    }

    public static func peer() async throws -> FabricProcess {
        let process = try ChildProcess(Tools.python3!, ["-u", Tools.peerScript("switchyardd.py"), "--port", "0", "-q"])
        return try await FabricProcess(process: process)
    }

    /// A fabric some other way started (through a shell, say).
    public static func attach(_ process: ChildProcess, readyOn stream: ChildProcess.Stream = .stdout) async throws -> FabricProcess {
        try await FabricProcess(process: process, readyOn: stream)
    }

    private init(process: ChildProcess, readyOn stream: ChildProcess.Stream = .stdout) async throws {
        self.process = process
        let line = try await process.waitForLine(startingWith: "[fabric] listening on ", on: stream)
        guard let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TestFailure("unreadable ready line: \(line)")
        }
        self.port = port
    }
}

/// Runs a command to completion (tcpdump, tshark, a shell) and returns its status and output.
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, stdout: String, stderr: String) {
    let path = executable.hasPrefix("/") ? executable : (Tools.which(executable) ?? executable)
    let process = try ChildProcess(URL(fileURLWithPath: path), arguments, environment: environment)
    let status = try await process.waitForExit(timeout: .seconds(60))
    return (status, process.stdout, process.stderr)
}

extension Tools {
    public static func which(_ name: String) -> String? {
        SwitchyardTestKit.which(name)
    }

    /// A fresh temporary directory for one test's files.
    public static func temporaryDirectory() throws -> URL {
        try SwitchyardTestKit.temporaryDirectory()
    }
}

extension Requirement {
    /// `../shared/peer` beside the checkout, and python3 to run it.
    public static let peer = Requirement {
        Tools.peerAvailable ? nil : "the reference peer (\(Tools.peer.path)) or python3 is missing"
    }

    /// Network namespaces with TAP devices: root, iproute2, /dev/net/tun.
    public static let namespaces = Requirement.all(.root, .tool("ip", package: "iproute2"), .tun)

    public static let tcpdump = Requirement.tool("tcpdump", package: "tcpdump")
    public static let tshark = Requirement.tool("tshark", package: "tshark")
    public static let qemu = Requirement.tool("qemu-system-x86_64", package: "qemu-system-x86")
}
