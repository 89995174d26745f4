import ArgumentParser
import Foundation
import SwitchyardCapture
import SwitchyardCaptureOptions
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardReplay
import Synchronization

@main
struct SwitchyardReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-replay",
        abstract: "Replay a recording's clients against live services and diff their replies with the recording.",
        discussion: """
            Roles come from the recording: an endpoint that started exchanges (a TCP SYN, a DHCP \
            DISCOVER, a DNS query, the first datagram of a flow, an ARP request) is a client and is \
            played; one that answered is a service and is expected. --play and --expect override. \
            An expected service that is not on the fabric is named before the first frame, its \
            frames are missing and the exit is 1. Played endpoints answer ARP for their addresses.

            Frames are compared inside their flow (ARP by addresses, IP by protocol and 5-tuple, \
            ICMP echo by id, DHCP by transaction id, DNS by id), so one flow never shifts another. \
            What hosts send on their own (router solicitations, MLD, duplicate-address probes, ARP \
            announcements, mDNS, LLMNR) is background: counted, not compared. Flows that overlapped \
            in the recording run concurrently.

            TCP connections are replayed against the live server's stack: the client's segments \
            carry their recorded bytes, with acknowledgments, window and timestamps for the live \
            server; each waits until the server's stream has reached where it was when the segment \
            was recorded. What is compared is each server's byte stream (and how it ended), not its \
            segments: segmentation, retransmissions, windows, IP ids and timestamps do not count.

            Masks are checked: the summary says in how many comparisons each --ignore field hid a \
            difference, and names a mask that hid nothing (stale; --strict-masks makes that exit 1). \
            Masks that leave nothing compared (every field of every expected frame) are an error.

            Exit status: 0 identical, 1 differences, 2 errors, bad flags and SIGINT/SIGTERM (with \
            the report so far). Progress is shown on a terminal at least every second.

            Fields for --ignore: \(FrameFields.maskable.joined(separator: ", ")). \
            Ignoring a field also ignores the checksums that cover it.
            """,
        version: SwitchyardVersion.current
    )

    @Argument(help: "The recording: a pcap or pcapng file written by switchyardd --capture.")
    var recording: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("The recording's manifest (default: NAME.manifest.json beside NAME.pcap).", valueName: "file"))
    var manifest: String?

    @Option(help: ArgumentHelp("Play this endpoint (name or MAC) even if it is live.", valueName: "name|mac"))
    var play: [String] = []

    @Option(help: ArgumentHelp("Expect this endpoint's frames (name or MAC) instead of playing it.", valueName: "name|mac"))
    var expect: [String] = []

    @Option(help: ArgumentHelp("Map a recorded MAC to the one the endpoint has now.", valueName: "old=new"))
    var map: [String] = []

    @Option(help: "gated: wait for each exchange's replies; recorded: keep the recorded gaps.")
    var timing: ReplayOptions.Timing = .gated

    @Option(parsing: .unconditional, help: "With --timing recorded, play this many times faster.")
    var speed: Double = 1

    @Flag(help: "Send every played frame at once, without waits.")
    var topspeed = false

    @Option(parsing: .unconditional, help: "Seconds a flow waits for a reply before it is missing (after the last send, with --timing recorded or --topspeed). Daemons take their time: dnsmasq probes an address for 3 s before it offers it.")
    var timeout: Double = 5

    @Option(help: ArgumentHelp("Ignore this field when comparing (see the list below).", valueName: "field"))
    var ignore: [String] = []

    @Flag(help: "A mask that hid nothing in this run (stale) fails the replay: exit 1.")
    var strictMasks = false

    @Option(help: ArgumentHelp("Replay N times (2 or more) against the live services and write what differed as noise to the noise file.", valueName: "N"))
    var learnNoise: Int?

    @Option(help: ArgumentHelp("The noise file (default: NAME.noise.json beside NAME.pcap, used when it is there).", valueName: "file"))
    var noise: String?

    @Flag(help: "Do not mask the noise file's fields.")
    var noNoise = false

    @Option(help: ArgumentHelp("Compare only expected frames this BPF filter accepts (tcpdump syntax).", valueName: "expression"))
    var expectFilter: String?

    @Option(help: ArgumentHelp("Write a JUnit XML report here, one test case per flow.", valueName: "file"))
    var junit: String?

    @Option(help: ArgumentHelp("Write the report as one self-contained HTML page: per flow a ladder diagram and each difference's fields side by side.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("Record what replay received to this pcap file.", valueName: "file"))
    var write: String?

    @Flag(name: .shortAndLong, help: "Print only the summary line.")
    var quiet = false

    func validate() throws {
        for field in self.ignoredFields where !FrameFields.isMaskable(field) {
            throw ValidationError("--ignore \(field): no such field (fields: \(FrameFields.maskable.joined(separator: ", ")))")
        }
        for entry in self.map where Self.parseMap(entry) == nil {
            throw ValidationError("--map \(entry): want OLD_MAC=NEW_MAC")
        }
        guard self.speed > 0, self.speed.isFinite else {
            throw ValidationError("--speed must be more than 0, got \(self.speed)")
        }
        try TimeoutOptions.check(self.timeout)
        if let expression = self.expectFilter {
            do {
                _ = try PcapFilter(expression: expression)
            } catch {
                throw ValidationError("--expect-filter: \(error.message)")
            }
        }
        if let runs = self.learnNoise, !(2...100).contains(runs) {
            throw ValidationError("--learn-noise takes 2 to 100 runs, got \(runs)")
        }
        if self.noNoise, self.noise != nil {
            throw ValidationError("--noise and --no-noise contradict each other")
        }
        if self.topspeed, self.timing == .recorded {
            throw ValidationError("--topspeed and --timing recorded contradict each other")
        }
    }

    /// `--ignore` as given, HTTP field names in lower case as they are compared.
    var ignoredFields: [String] {
        self.ignore.map { $0.lowercased().hasPrefix("http.header.") ? $0.lowercased() : $0 }
    }

    static func parseMap(_ entry: String) -> (MACAddress, MACAddress)? {
        let parts = entry.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let old = MACAddress(String(parts[0])), let new = MACAddress(String(parts[1])) else { return nil }
        return (old, new)
    }

    /// Usage errors exit 2 like every other error of this tool (argument-parser's default is 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Self.exit(withError: exit)
        } catch {
            let code = Self.exitCode(for: error)
            if code == .success {
                Self.exit(withError: error)
            }
            StandardOutput.error(Self.fullMessage(for: error))
            Self.exit(withError: ExitCode(2))
        }
    }

    func run() async throws {
        var options = ReplayOptions()
        options.host = self.connection.host
        options.port = self.connection.port
        options.unixPath = self.connection.unix
        options.play = self.play
        options.expect = self.expect
        options.maps = self.map.compactMap(Self.parseMap)
        options.timing = self.timing
        options.speed = self.speed
        options.topSpeed = self.topspeed
        options.timeout = TimeoutOptions.duration(seconds: self.timeout)
        options.ignore = Set(self.ignoredFields)
        options.expectFilter = self.expectFilter
        // With the received frames on stdout (--write -), every line goes to stderr.
        let textOnStderr = self.write == "-"
        let say: @Sendable (String) -> Void = { textOnStderr ? StandardOutput.error($0) : StandardOutput.line($0) }
        let recordingPath = self.recording

        let recording: Recording
        do {
            recording = try Recording.load(path: self.recording, manifestPath: self.manifest)
        } catch {
            StandardOutput.error("switchyard-replay: \(error)")
            self.writeJUnitError(error.description)
            throw ExitCode(2)
        }
        for warning in recording.warnings {
            StandardOutput.error("switchyard-replay: warning: \(warning)")
        }
        var noise: NoiseModel?
        if self.learnNoise == nil {
            do {
                noise = try self.loadNoise()
            } catch {
                StandardOutput.error("switchyard-replay: \(error)")
                self.writeJUnitError(error.description)
                throw ExitCode(2)
            }
        }
        options.noise = noise
        if let runs = self.learnNoise {
            try await self.learn(runs: runs, recording: recording, options: options, say: say)
            return
        }
        let report: ReplayReport
        do {
            report = try await self.replayOnce(recording, options: options, say: say)
        } catch let error as ReplayError {
            StandardOutput.error("switchyard-replay: \(error)")
            self.writeJUnitError(error.description)
            throw ExitCode(2)
        } catch let error as PcapError {
            StandardOutput.error("switchyard-replay: \(error)")
            self.writeJUnitError(error.description)
            throw ExitCode(2)
        }

        if !self.quiet {
            for skipped in report.plan.skipped {
                say("frame \(skipped.frame.number) skipped: \(skipped.reason)")
            }
            report.details().forEach(say)
            if let drift = report.worstSendDrift {
                say("timing: worst send drift \(Int((drift.seconds * 1e6).rounded())) us from the recorded schedule")
            }
        }
        say(report.summary)
        if let junit = self.junit {
            let name = URL(fileURLWithPath: recordingPath).lastPathComponent
            do {
                try JUnitReport.xml(for: report, suiteName: name).write(toFile: junit, atomically: true, encoding: .utf8)
            } catch {
                StandardOutput.error("switchyard-replay: cannot write JUnit report \(junit): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        if let html = self.html {
            let name = URL(fileURLWithPath: recordingPath).lastPathComponent
            do {
                try HTMLReport.page(for: report, title: name).write(toFile: html, atomically: true, encoding: .utf8)
            } catch {
                StandardOutput.error("switchyard-replay: cannot write HTML report \(html): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        if report.interrupted {
            StandardOutput.error("switchyard-replay: interrupted")
            throw ExitCode(2)
        }
        // A replay whose masks hid every field checked nothing: never a pass.
        if report.masksHideEverything {
            StandardOutput.error("switchyard-replay: the masks leave nothing compared: every field of every expected frame is masked")
            throw ExitCode(2)
        }
        if !report.isIdentical {
            throw ExitCode(1)
        }
        if self.strictMasks, !report.staleMasks.isEmpty {
            StandardOutput.error("switchyard-replay: --strict-masks: \(report.staleMasks.map(\.name).joined(separator: ", ")) hid nothing in this run")
            throw ExitCode(1)
        }
    }

    /// One replay of `recording`, its progress on a terminal, what it received to `--write`.
    private func replayOnce(_ recording: Recording, options: ReplayOptions, say: @escaping @Sendable (String) -> Void) async throws -> ReplayReport {
        let quiet = self.quiet
        let writePath = self.write
        let progress = ReplayProgress(enabled: !self.quiet && isatty(2) != 0)
        let outcome = Mutex<Result<ReplayReport, ReplayError>?>(nil)
        let replayer = Replayer(options: options)
        try await runUntilTerminated {
            // The progress line's ticker runs beside the replay and ends with it.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await progress.tick() }
                defer { group.cancelAll() }
                let writer = try writePath.map { (path: String) throws(PcapError) in
                    try CaptureFileOutput(path: path, format: CaptureFormat.implied(by: path), application: "switchyard-replay \(SwitchyardVersion.current)", interface: "switchyard-replay")
                }
                let result: Result<ReplayReport, ReplayError>
                do {
                    result = .success(try await replayer.run(
                        recording,
                        planned: { plan in
                            // Said before the first frame: a person learns at once that a
                            // service is absent, not after every exchange has timed out.
                            if !quiet {
                                plan.notes.forEach(say)
                            }
                        },
                        received: { bytes in
                            bytes.withUnsafeBytes { try? writer?.write($0, originalLength: bytes.count, timestamp: .now()) }
                        },
                        progress: { done, total in progress.update(done: done, total: total) }
                    ))
                } catch let error as ReplayError {
                    result = .failure(error)
                } catch {
                    result = .failure(ReplayError(.fabricRefused, "\(error)"))
                }
                try writer?.close()
                outcome.withLock { $0 = result }
            }
        }
        guard let result = outcome.withLock({ $0 }) else {
            throw ReplayError(.interrupted, "interrupted before the replay began")
        }
        return try result.get()
    }

    /// `--learn-noise N`: N replays against the live services; what differed in them is noise,
    /// written to the noise file. A run that fails outright stops the learning: exit 1.
    private func learn(runs: Int, recording: Recording, options: ReplayOptions, say: @escaping @Sendable (String) -> Void) async throws {
        var model = NoiseModel(recording: URL(fileURLWithPath: self.recording).lastPathComponent)
        for run in 1...runs {
            let report: ReplayReport
            var options = options
            options.run = run - 1
            do {
                report = try await self.replayOnce(recording, options: options, say: say)
            } catch let error as ReplayError {
                StandardOutput.error("switchyard-replay: \(error)")
                throw ExitCode(2)
            }
            say("run \(run) of \(runs): \(report.summary)")
            do {
                try model.learn(from: report)
            } catch {
                report.details().forEach(say)
                StandardOutput.error("switchyard-replay: cannot learn noise: \(error.description)")
                throw ExitCode(1)
            }
        }
        let path = self.noise ?? NoiseModel.path(forRecording: self.recording)
        do {
            try Self.write(model, to: path)
        } catch {
            StandardOutput.error("switchyard-replay: cannot write \(path): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        let fields = model.noise.map { "\($0.field) (\($0.flows), \($0.runs) of \(runs))" }
        say("learned \(model.noise.count) noisy field\(model.noise.count == 1 ? "" : "s") from \(runs) runs\(fields.isEmpty ? "" : ": " + fields.joined(separator: ", ")); wrote \(path)")
    }

    /// The noise file: `--noise FILE`, else NAME.noise.json beside the recording when it is
    /// there; none with `--no-noise`. A file named but unreadable or malformed is an error.
    private func loadNoise() throws(ReplayError) -> NoiseModel? {
        guard !self.noNoise else { return nil }
        let path = self.noise ?? NoiseModel.path(forRecording: self.recording)
        guard self.noise != nil || FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let model = try JSONDecoder().decode(NoiseModel.self, from: data)
            guard model.version == 1 else { throw ReplayError(.badRecording, "\(path): noise file version \(model.version), this replay reads 1") }
            for entry in model.noise where !FrameFields.isMaskable(entry.field) {
                throw ReplayError(.badRecording, "\(path): no such field \(entry.field)")
            }
            return model
        } catch let error as ReplayError {
            throw error
        } catch let error as DecodingError {
            throw ReplayError(.badRecording, "\(path): not a noise file (\(Self.describe(error)))")
        } catch {
            throw ReplayError(.badRecording, "cannot read noise file \(path): \(error.localizedDescription)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "no \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath.map(\.stringValue).joined(separator: ".") + (context.codingPath.isEmpty ? "malformed JSON" : ": wrong type")
        @unknown default: "malformed"
        }
    }

    /// Stable JSON: keys sorted, entries sorted, one per line, for a diff in review.
    static func write(_ model: NoiseModel, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(model)
        data.append(0x0A)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// A replay that could not run still leaves a report CI can read: one failed case.
    private func writeJUnitError(_ message: String) {
        guard let junit = self.junit else { return }
        let name = URL(fileURLWithPath: self.recording).lastPathComponent
        do {
            try JUnitReport.errorXML(message: message, suiteName: name).write(toFile: junit, atomically: true, encoding: .utf8)
        } catch {
            StandardOutput.error("switchyard-replay: cannot write JUnit report \(junit): \(error.localizedDescription)")
        }
    }
}

extension ReplayOptions.Timing: ExpressibleByArgument {}
