/// Lets a tool with subcommands take its options before the subcommand as well as after it
/// (`switchyard-ctl --port 7000 rules` as `switchyard-ctl rules --port 7000`), as git and ip
/// users expect. Argument-parser parses an option only after the command that declares it;
/// the subcommands declare them, so the words before the subcommand are moved after it.
public enum SubcommandArguments {
    /// Words the root command itself answers: they stay where they are.
    static let rootWords: Set<String> = ["--help", "-h", "--version", "help"]

    /// `arguments` (without the program name) with the options ahead of the first subcommand
    /// name moved to just after it; unchanged when nothing stands before a subcommand.
    public static func reordered(_ arguments: [String], subcommands: Set<String>) -> [String] {
        guard let first = arguments.first, first.hasPrefix("-"), !Self.rootWords.contains(first),
              let index = arguments.firstIndex(where: { subcommands.contains($0) })
        else { return arguments }
        let ahead = arguments[..<index]
        // `--` ends the options; a root flag ahead keeps its meaning only where it is.
        guard !ahead.contains("--"), ahead.allSatisfy({ !Self.rootWords.contains($0) }) else { return arguments }
        return [arguments[index]] + ahead + arguments[(index + 1)...]
    }
}
