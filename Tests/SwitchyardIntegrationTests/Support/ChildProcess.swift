import Foundation
import NIOConcurrencyHelpers

/// A real process started from a test: its stdout and stderr are collected, and the test can
/// wait for a line, signal it and wait for its exit status. A process still running when the
/// test lets go of it (a failed expectation, a thrown error) is killed by its PID.
final class ChildProcess: Sendable {
    private struct Output {
        var stdout = Data()
        var stderr = Data()
    }

    private let process: Process
    private let readers: DispatchGroup
    private let output = NIOLockedValueBox(Output())
    /// With `readStandardOutput: false`: the pipe nobody reads, so the child's writes block.
    private let unreadOutput: Pipe?
    let command: String

    /// Starts `executable` with `arguments`; `environment` entries are added to this process's.
    /// `readStandardOutput: false` leaves its stdout a pipe that is never read (a stuck consumer).
    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], readStandardOutput: Bool = true) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
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
                readers.leave()
            }
            thread.start()
        }
        self.readers = readers
        self.process = process
        self.command = ([executable.lastPathComponent] + arguments).joined(separator: " ")
        try process.run()
    }

    deinit {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
    }

    /// Closes the unread stdout pipe: the child's next write fails (EPIPE).
    func closeUnreadOutput() {
        try? self.unreadOutput?.fileHandleForReading.close()
    }

    var stdout: String { self.output.withLockedValue { String(decoding: $0.stdout, as: UTF8.self) } }
    var stdoutBytes: [UInt8] { self.output.withLockedValue { Array($0.stdout) } }
    var stderr: String { self.output.withLockedValue { String(decoding: $0.stderr, as: UTF8.self) } }
    var processIdentifier: Int32 { self.process.processIdentifier }
    /// The exit status, once `waitForExit` has returned.
    var exitStatus: Int32 { self.process.terminationStatus }
    var isRunning: Bool { self.process.isRunning }

    enum Stream {
        case stdout, stderr
    }

    /// Waits until stdout (or stderr) has a line starting with `prefix`; returns that line.
    func waitForLine(startingWith prefix: String, on stream: Stream = .stdout, timeout: Duration = .seconds(20)) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let text = stream == .stdout ? self.stdout : self.stderr
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return String(line)
            }
            if !self.process.isRunning {
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("\(self.command): no line starting with \"\(prefix)\"; stdout: \(self.stdout) stderr: \(self.stderr)")
    }

    func signal(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// Waits for the process to exit (killing it after `timeout`) and returns its status.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while self.process.isRunning {
            if clock.now > deadline {
                self.signal(SIGKILL)
                self.process.waitUntilExit()
                throw TestFailure("\(self.command) did not exit within \(timeout); stderr: \(self.stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        self.process.waitUntilExit()
        // The pipes' last bytes: the readers finish at EOF (a grandchild holding a pipe open
        // should not hang a test, hence the bound).
        _ = self.readers.wait(timeout: .now() + 10)
        return self.process.terminationStatus
    }

    /// Stops the process if it still runs (test clean-up).
    func stop() async {
        if self.process.isRunning {
            self.signal(SIGKILL)
        }
        _ = try? await self.waitForExit(timeout: .seconds(5))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
