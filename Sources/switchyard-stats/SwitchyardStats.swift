import ArgumentParser
import Foundation
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardWire
import Synchronization

@main
struct SwitchyardStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-stats",
        abstract: "Print a fabric's counters: frames switched, delivered, dropped, and capture progress.",
        discussion: "Exit 0 with the counters, 2 on errors (no fabric, SIGINT/SIGTERM before the answer), 64 on bad flags.",
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Print the counters as JSON (the STATS payload) for scripts.")
    var json = false

    func run() async throws {
        let connection = self.connection
        let answer = Mutex<StatsReply?>(nil)
        try await ToolFailure.reporting("switchyard-stats") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-stats") { client in
                    let statistics = try await client.statistics()
                    answer.withLock { $0 = statistics }
                }
            }
            guard let statistics = answer.withLock({ $0 }) else {
                StandardOutput.error("switchyard-stats: interrupted before the fabric answered")
                throw ToolExit.error
            }
            if self.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                StandardOutput.line(String(decoding: try encoder.encode(statistics), as: UTF8.self))
            } else {
                Self.describe(statistics).forEach(StandardOutput.line)
            }
        }
    }

    static func describe(_ s: StatsReply) -> [String] {
        let stalled = s.connections.filter(\.stalled).count
        let dropping = s.connections.filter { $0.dropped > 0 }
        var lines = [
            "frames switched:  \(s.framesSwitched) (\(s.framesFlooded) flooded, \(s.framesRejected) refused)",
            "frames delivered: \(s.framesDelivered)",
            "frames dropped:   \(s.framesDropped)" + (dropping.isEmpty ? "" : " (connections \(dropping.map { "\($0.id): \($0.dropped)" }.joined(separator: ", ")))"),
            "endpoints:        \(s.endpoints)",
            "connections:      \(s.connections.count)" + (stalled > 0 ? " (\(stalled) stalled)" : ""),
        ]
        if let buffered = s.bufferedBytes, let budget = s.bufferBudget {
            lines.append("buffered:         \(buffered) bytes of a \(budget / (1024 * 1024)) MiB budget")
        }
        if let capture = s.capture {
            var line = "capture:          \(capture.framesWritten) frames written, \(capture.framesDropped) dropped by capture buffer, \(capture.files) file\(capture.files == 1 ? "" : "s"), \(capture.bytesWritten) bytes"
            if capture.framesFiltered > 0 {
                line += ", \(capture.framesFiltered) filtered out"
            }
            if let file = capture.currentFile {
                line += ", current \(file)"
            }
            lines.append(line)
            if let error = capture.writeError {
                lines.append("capture error:    \(error) (\(capture.framesNotWritten) frames not written)")
            }
        } else {
            lines.append("capture:          off")
        }
        if let seed = s.seed {
            let rules = s.rules ?? []
            lines.append("rules:            \(rules.count) in force, seed \(seed), \(s.framesDroppedByRules ?? 0) frames dropped by rules")
            for rule in rules {
                lines.append("  \(rule.id): \(rule.rule)  (matched \(rule.matched), dropped \(rule.dropped), duplicated \(rule.duplicated), delayed \(rule.delayed), corrupted \(rule.corrupted))")
            }
        }
        return lines
    }
}
