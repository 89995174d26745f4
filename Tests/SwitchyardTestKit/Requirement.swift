import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Something a test needs of the machine (root, a tool, a device), and why it is missing.
public struct Requirement: Sendable {
    /// Why the requirement is not met here, or nil when it is.
    public let missing: @Sendable () -> String?

    public init(missing: @escaping @Sendable () -> String?) {
        self.missing = missing
    }

    /// Met when every one of `requirements` is.
    public static func all(_ requirements: Requirement...) -> Requirement {
        Requirement { requirements.lazy.compactMap { $0.missing() }.first }
    }

    public static let root = Requirement { getuid() == 0 ? nil : "needs root" }

    /// `/dev/net/tun`, for TAP devices.
    public static let tun = Requirement { FileManager.default.fileExists(atPath: "/dev/net/tun") ? nil : "/dev/net/tun is missing" }

    /// An executable on PATH (the package that ships it, for the message).
    public static func tool(_ name: String, package: String? = nil) -> Requirement {
        Requirement { which(name) == nil ? "\(name) is not installed" + (package.map { " (Debian package \($0))" } ?? "") : nil }
    }

    /// A file or directory that must exist.
    public static func path(_ path: String, _ what: String) -> Requirement {
        Requirement { FileManager.default.fileExists(atPath: path) ? nil : "\(what) (\(path)) is missing" }
    }

    /// Whether this run is CI's (`CI` set, as CI services and `.ci/run` set it): there every
    /// requirement is installed, so a missing one fails its test instead of skipping it.
    public static var isCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
        return !["", "0", "false", "no"].contains(value.lowercased())
    }
}

/// A requirement missing in CI: the test fails with this.
public struct RequirementMissing: Error, CustomStringConvertible {
    public var description: String
}

extension Trait where Self == ConditionTrait {
    /// Runs the test where `requirement` is met; elsewhere the runner reports it skipped, with
    /// the reason. In CI a missing requirement is the test's failure, never a skip.
    public static func requires(_ requirement: Requirement) -> Self {
        let missing = requirement.missing()
        return .enabled(if: try Self.evaluate(missing), Comment(rawValue: missing ?? "its requirements are met"))
    }

    private static func evaluate(_ missing: String?) throws -> Bool {
        guard let missing else { return true }
        if Requirement.isCI {
            throw RequirementMissing(description: "CI is set, so this test must run, but \(missing)")
        }
        return false
    }
}

/// The executable `name` on PATH, if any.
public func which(_ name: String) -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin:/usr/sbin:/sbin")
        .split(separator: ":")
        .map { "\($0)/\(name)" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}
