import ArgumentParser
import SwitchyardClient

/// Maps the errors a tool's run can end with to one line on stderr and an exit code.
public enum ToolFailure {
    /// Runs `body`; a `FabricClientError` becomes "`tool`: message" on stderr and exit 1.
    public static func reporting(_ tool: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as FabricClientError {
            StandardOutput.error("[\(tool)] \(error)")
            throw ExitCode(1)
        }
    }
}
