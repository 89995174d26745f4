import ArgumentParser
import SwitchyardClient

/// The exit codes every Switchyard tool uses (docs/conventions.md).
public enum ToolExit {
    /// The tool's negative answer: no reply, differences, nobody has that address.
    public static let negative = ExitCode(1)
    /// An error: a bad file, no fabric, the fabric refused.
    public static let error = ExitCode(2)
    /// A usage error (bad flags), as sysexits' EX_USAGE and argument-parser's default.
    public static let usage = ExitCode(64)
}

/// Maps the errors a tool's run can end with to one line on stderr and an exit code.
public enum ToolFailure {
    /// Runs `body`; a `FabricClientError` becomes "`tool`: message" on stderr and exit 1 when it
    /// is the tool's negative answer (a timeout), else 2 (no fabric, refused, protocol error).
    public static func reporting(_ tool: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as FabricClientError {
            StandardOutput.error("\(tool): \(error)")
            throw Self.exitCode(for: error)
        }
    }

    /// 1 for a timeout (nothing answered), 2 for every other failure.
    public static func exitCode(for error: FabricClientError) -> ExitCode {
        error.code == .timeout ? ToolExit.negative : ToolExit.error
    }
}
