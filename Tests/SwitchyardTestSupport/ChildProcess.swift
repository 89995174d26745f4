import Foundation
import NIOConcurrencyHelpers
@_exported import SwitchyardTestKit

/// A real process started from a test: its stdout and stderr are collected, and the test can
/// wait for a line, signal it and wait for its exit status. A process still running when the
/// test lets go of it (a failed expectation, a thrown error) is killed by its PID.
public final class ChildProcess: Sendable {
    private struct Output {
        var stdout = Data()
        var stderr = Data()
    }

    private let process: Process
    private let readers: DispatchGroup
    private let output = NIOLockedValueBox(Output())
    /// With `readStandardOutput: false`: the pipe nobody reads, so the child's writes block.
    private let unreadOutput: Pipe?
    public let command: String

    /// Starts `executable` with `arguments`; `environment` entries are added to this process's.
    /// `readStandardOutput: false` leaves its stdout a pipe that is never read (a stuck consumer).
    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], readStandardOutput: Bool = true) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let (stdout, stderr) = try ProcessLaunch.serialized {
            let stdout = Pipe()
            let stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            process.standardInput = FileHandle.nullDevice
            try process.run()
            return (stdout, stderr)
        }
        let output = self.output
        let readers = DispatchGroup()
        self.unreadOutput = readStandardOutput ? nil : stdout
        let read = readStandardOutput ? [(stdout, true), (stderr, false)] : [(stderr, false)]
        // One reader thread per pipe, each until EOF, so no output is lost however much there is.
        for (pipe, isStdout) in read {
            readers.enter()
            let handle = pipe.fileHandleForReading
            let thread = Thread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty {
                        break
                    }
                    output.withLockedValue { isStdout ? $0.stdout.append(data) : $0.stderr.append(data) }
                }
                // At EOF, not when the test lets go of this object: see `ProcessLaunch`.
                ProcessLaunch.serialized { try? handle.close() }
                readers.leave()
            }
            thread.start()
        }
        self.readers = readers
        self.process = process
        self.command = ([executable.lastPathComponent] + arguments).joined(separator: " ")
    }

    deinit {
        // Killed, not awaited: deinit may run on a thread of the concurrency pool, which must
        // not block (Foundation reaps the child).
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
        }
    }

    /// Closes the unread stdout pipe: the child's next write fails (EPIPE).
    public func closeUnreadOutput() {
        try? self.unreadOutput?.fileHandleForReading.close()
    }

    public var stdout: String { self.output.withLockedValue { String(decoding: $0.stdout, as: UTF8.self) } }
    public var stdoutBytes: [UInt8] { self.output.withLockedValue { Array($0.stdout) } }
    public var stderr: String { self.output.withLockedValue { String(decoding: $0.stderr, as: UTF8.self) } }
    public var processIdentifier: Int32 { self.process.processIdentifier }
    /// The exit status, once `waitForExit` has returned.
    public var exitStatus: Int32 { self.process.terminationStatus }
    public var isRunning: Bool { self.process.isRunning }

    public enum Stream {
        case stdout, stderr
    }

    /// Waits until stdout (or stderr) has a line starting with `prefix`; returns that line.
    public func waitForLine(startingWith prefix: String, on stream: Stream = .stdout, timeout: Duration = .seconds(20)) async throws -> String {
        enum Seen { case line(String), exited }
        let seen: Seen
        do {
            seen = try await eventually("a line starting with \"\(prefix)\"", within: timeout, every: .milliseconds(20)) { () -> Seen? in
                let text = stream == .stdout ? self.stdout : self.stderr
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                    return .line(String(line))
                }
                return self.process.isRunning ? nil : .exited
            }
        } catch is TestFailure {
            seen = .exited
        }
        guard case .line(let line) = seen else {
            throw TestFailure("\(self.command): no line starting with \"\(prefix)\"; stdout: \(self.stdout) stderr: \(self.stderr)")
        }
        return line
    }

    public func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// Waits for the process to exit (killing it after `timeout`) and returns its status.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        do {
            try await eventually("\(self.command) to exit", within: timeout, every: .milliseconds(20)) { !self.process.isRunning }
        } catch is TestFailure {
            // Killed and reaped before the failure is reported, never waited on from a thread
            // of the concurrency pool: `waitUntilExit` would block it.
            self.signal(SIGKILL)
            try? await eventually("\(self.command) to die", within: .seconds(10), every: .milliseconds(20)) { !self.process.isRunning }
            throw TestFailure("\(self.command) did not exit within \(timeout); stderr: \(self.stderr)")
        }
        // The pipes' last bytes: the readers finish at EOF (a grandchild holding a pipe open
        // should not hang a test, hence the bound). Polled, not waited on.
        try? await eventually("\(self.command)'s output to end", within: .seconds(10)) { self.readers.wait(timeout: .now()) == .success }
        return self.process.terminationStatus
    }

    /// Stops the process if it still runs (test clean-up).
    public func stop() async {
        if self.process.isRunning {
            self.signal(SIGKILL)
        }
        _ = try? await self.waitForExit(timeout: .seconds(5))
    }
}

/// Starts the test process's children one at a time.
///
/// Foundation's `Process.run` lists the descriptors open at that moment and closes them in the
/// child. A pipe, or the socket Foundation watches to see a child exit, that another thread
/// creates for its own child between that listing and the spawn leaks into this child. The
/// other child's exit then goes unnoticed (`isRunning` stays true, its pipes never reach EOF)
/// for as long as this one lives: a 40-second QEMU VM started beside a 0.5-second DHCP client
/// made the client "not exit within 30 seconds" in CI.
///
/// The listing reads `/proc/self/fd` copying each entry's whole 256-byte name field, past the
/// end of the last entry. Once the process holds more than about 1,350 descriptors the entries
/// fill glibc's 32 KiB directory buffer and that copy can read past the buffer into an
/// unmapped page: a CI run crashed there (SIGSEGV in `Process.run`), and the suite then held
/// up to 1,900 descriptors, most of them read ends of pipes whose children had exited. So each
/// reader closes its pipe at EOF (through this lock too), and the suite peaks at about 800.
public enum ProcessLaunch {
    private static let lock = NIOLock()

    /// Runs `body`, which creates a child's descriptors and starts it, alone.
    public static func serialized<Result>(_ body: () throws -> Result) rethrows -> Result {
        try self.lock.withLock(body)
    }
}

