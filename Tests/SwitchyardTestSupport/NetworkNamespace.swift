import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A network namespace a test makes for itself: a unique name, deleted when the test lets go
/// of it (also when the test fails), so nothing is left behind and no traffic leaves it.
/// Tests that make one say `.requires(.namespaces)`.
public final class NetworkNamespace: Sendable {
    public let name: String

    public init() async throws {
        self.name = "sy-" + UUID().uuidString.prefix(8).lowercased()
        let result = try await runCommand("ip", ["netns", "add", self.name])
        guard result.status == 0 else {
            throw TestFailure("ip netns add \(self.name): \(result.stderr)")
        }
    }

    deinit {
        // On every path, without waiting: deinit may run on a thread of the concurrency pool,
        // which must not block (a blocked pool of two threads stalls every other test).
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tools.which("ip") ?? "/usr/sbin/ip")
        process.arguments = ["netns", "delete", self.name]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? ProcessLaunch.serialized { try process.run() }
    }

    /// Runs a command inside the namespace (`ip netns exec NAME ...`), with `input` on stdin.
    public func run(_ arguments: [String], input: String? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
        guard let input else {
            return try await runCommand("ip", ["netns", "exec", self.name] + arguments)
        }
        // Through a shell so the input can be piped; arguments are quoted for it.
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return try await runCommand("/bin/sh", ["-c", "printf '%s\\n' \"$0\" | ip netns exec \(self.name) \(quoted)", input])
    }
}
