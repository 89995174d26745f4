import ArgumentParser
import Foundation
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardWire
import Synchronization

@main
struct SwitchyardCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-ctl",
        abstract: "Control a running fabric: list, add, delete and clear its rules.",
        discussion: "Exit 0 on success, 2 on errors (no fabric, a rule the fabric refuses: its reason is printed), 64 on bad flags.",
        version: SwitchyardVersion.current,
        subcommands: [Rules.self, Add.self, Delete.self, Clear.self]
    )

    /// Options may come before the subcommand too.
    static func main() async {
        await Self.main(SubcommandArguments.reordered(Array(CommandLine.arguments.dropFirst()), subcommands: Set(Self.configuration.subcommands.compactMap { $0.configuration.commandName })))
    }

    func run() async throws {
        throw ValidationError("missing subcommand: rules, add, del or clear")
    }

    /// Sends one RULES_REQUEST and returns the answer; errors end the tool with its conventions.
    static func request(_ request: RulesRequest, connection: ConnectionOptions) async throws -> RulesReply {
        let answer = Mutex<RulesReply?>(nil)
        try await ToolFailure.reporting("switchyard-ctl") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-ctl") { client in
                    let reply = try await client.rules(request)
                    answer.withLock { $0 = reply }
                }
            }
        }
        guard let reply = answer.withLock({ $0 }) else {
            StandardOutput.error("switchyard-ctl: interrupted before the fabric answered")
            throw ToolExit.error
        }
        return reply
    }
}

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "List the rules in force with their counters.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(help: "Print the RULES payload as JSON for scripts.")
    var json = false

    func run() async throws {
        let reply = try await SwitchyardCtl.request(RulesRequest(.list), connection: self.connection)
        if self.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            StandardOutput.line(String(decoding: try encoder.encode(reply), as: UTF8.self))
            return
        }
        StandardOutput.line("seed \(reply.seed), \(reply.rules.count) rule\(reply.rules.count == 1 ? "" : "s")")
        for rule in reply.rules {
            StandardOutput.line(
                "\(rule.id)\t\(rule.rule)\tmatched \(rule.matched) dropped \(rule.dropped) duplicated \(rule.duplicated) delayed \(rule.delayed) "
                    + "corrupted \(rule.corrupted) reordered \(rule.reordered) mirrored \(rule.mirrored) redirected \(rule.redirected)"
            )
        }
    }
}

struct Add: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a rule at the end; prints its id.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Argument(help: "The rule, e.g. 'to svc_echo loss 20%' (one argument, or its words).")
    var rule: [String]

    func run() async throws {
        let reply = try await SwitchyardCtl.request(RulesRequest(.add(self.rule.joined(separator: " "))), connection: self.connection)
        StandardOutput.line("\(reply.added ?? 0)")
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete the rule with this id.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Argument(help: "The rule's id (switchyard-ctl rules lists them).")
    var id: Int

    func run() async throws {
        _ = try await SwitchyardCtl.request(RulesRequest(.delete(self.id)), connection: self.connection)
    }
}

struct Clear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clear", abstract: "Delete every rule.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        _ = try await SwitchyardCtl.request(RulesRequest(.clear), connection: self.connection)
    }
}
