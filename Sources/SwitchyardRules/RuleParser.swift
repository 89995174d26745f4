/// Reads rules: one per line, `#` starts a comment (outside quotes), blank lines are skipped.
///
/// Every error says what is wrong in words a person can act on; a file's errors name the file
/// and the line. Percentages outside 0–100, negative times, unknown words and contradictions
/// (`drop` with anything else) are errors. BPF expressions are compiled by `RuleSet`, with
/// libpcap's own message for a bad one.
import SwitchyardCapture

public enum RuleParser {
    public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { self.message }

        init(_ message: String) {
            self.message = message
        }

    }

    /// One rule from its text (a comment after it is allowed). nil for a blank or comment line.
    public static func parse(_ line: String) throws(SyntaxError) -> Rule? {
        var words = try Self.words(line)
        guard !words.isEmpty else { return nil }
        var rule = Rule(actions: [])
        // The selectors, in any order, each at most once.
        while let word = words.first, ["from", "to", "match"].contains(word.text), !word.quoted {
            words.removeFirst()
            guard let value = words.first else {
                throw SyntaxError("\(word.text) needs \(word.text == "match" ? "a quoted BPF expression" : "an endpoint name")")
            }
            words.removeFirst()
            switch word.text {
            case "from":
                guard rule.from == nil else { throw SyntaxError("from given twice") }
                rule.from = try Self.endpointName(value.text)
            case "to":
                guard rule.to == nil else { throw SyntaxError("to given twice") }
                rule.to = try Self.endpointName(value.text)
            default:
                guard rule.match == nil else { throw SyntaxError("match given twice") }
                guard !value.text.isEmpty else { throw SyntaxError("match needs a BPF expression, got ''") }
                rule.match = value.text
            }
        }
        guard !words.isEmpty else {
            throw SyntaxError("no action: end the rule with drop, pass, mirror, redirect, rate, delay, loss, duplicate, reorder or corrupt")
        }
        while !words.isEmpty {
            rule.actions.append(try Self.action(&words))
        }
        try Self.check(rule)
        return rule
    }

    /// Every rule of a file's text with its line number; errors are `NAME:LINE: message`.
    /// A BPF expression that libpcap refuses is reported the same way.
    public static func parseFile(_ text: String, name: String) throws(SyntaxError) -> [(line: Int, rule: Rule)] {
        var rules: [(line: Int, rule: Rule)] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let rule: Rule?
            do throws(SyntaxError) {
                rule = try Self.parse(String(line))
            } catch {
                throw SyntaxError("\(name):\(index + 1): \(error.message)")
            }
            guard let rule else { continue }
            if let expression = rule.match {
                do throws(PcapError) {
                    _ = try PcapFilter(expression: expression)
                } catch {
                    throw SyntaxError("\(name):\(index + 1): \(error.message)")
                }
            }
            rules.append((index + 1, rule))
        }
        return rules
    }

    private static func action(_ words: inout [Word]) throws(SyntaxError) -> RuleAction {
        let word = words.removeFirst()
        func argument(_ what: String) throws(SyntaxError) -> String {
            guard let next = words.first else { throw SyntaxError("\(word.text) needs \(what)") }
            words.removeFirst()
            return next.text
        }
        func optional(_ keyword: String) -> Bool {
            guard let next = words.first, next.text == keyword, !next.quoted else { return false }
            words.removeFirst()
            return true
        }
        switch word.text {
        case "drop": return .drop
        case "pass": return .pass
        case "mirror": return .mirror(try Self.endpointName(try argument("an endpoint name")))
        case "redirect": return .redirect(try Self.endpointName(try argument("an endpoint name")))
        case "rate":
            let rate = try Self.rate(try argument("a rate such as 100pps, 512kbit or 10mbit"))
            var limit = RuleAction.defaultRateLimit
            if optional("limit") {
                let text = try argument("a number of frames")
                guard let value = Int(text), value >= 1 else {
                    throw SyntaxError("limit wants a whole number of frames of at least 1, got \(text)")
                }
                limit = value
            }
            return .rate(rate, limit: limit)
        case "delay":
            let delay = try Self.duration(try argument("a time such as 10ms"))
            var jitter = Duration.zero
            if optional("jitter") {
                jitter = try Self.duration(try argument("a time such as 2ms"))
                guard jitter <= delay else {
                    throw SyntaxError("jitter \(DurationText.format(jitter)) is more than the delay \(DurationText.format(delay)): a frame cannot leave before it came")
                }
            }
            return .delay(delay, jitter: jitter)
        case "loss":
            let share = try Self.percentage(try argument("a percentage such as 5%"))
            var burst: Double?
            if optional("burst") {
                let text = try argument("a mean burst length")
                guard let value = Double(text), value >= 1, value.isFinite else {
                    throw SyntaxError("burst wants a mean burst length of at least 1 frame, got \(text)")
                }
                guard share.fraction < 1 else {
                    throw SyntaxError("loss 100% has no bursts: every frame is lost")
                }
                burst = value
            }
            return .loss(share, burst: burst)
        case "duplicate": return .duplicate(try Self.percentage(try argument("a percentage such as 1%")))
        case "reorder": return .reorder(try Self.percentage(try argument("a percentage such as 1%")))
        case "corrupt": return .corrupt(try Self.percentage(try argument("a percentage such as 0.1%")))
        default:
            throw SyntaxError("unknown word \"\(word.text)\": an action is one of drop, pass, mirror, redirect, rate, delay, loss, duplicate, reorder, corrupt")
        }
    }

    private static func check(_ rule: Rule) throws(SyntaxError) {
        let kinds = rule.actions.map { action -> String in
            switch action {
            case .drop: "drop"
            case .pass: "pass"
            case .mirror: "mirror"
            case .redirect: "redirect"
            case .rate: "rate"
            case .delay: "delay"
            case .loss: "loss"
            case .duplicate: "duplicate"
            case .reorder: "reorder"
            case .corrupt: "corrupt"
            }
        }
        for kind in ["drop", "pass"] where kinds.contains(kind) && kinds.count > 1 {
            throw SyntaxError("\(kind) stands alone: it cannot be combined with other actions")
        }
        for kind in Set(kinds) where kind != "mirror" && kinds.filter({ $0 == kind }).count > 1 {
            throw SyntaxError("\(kind) given twice")
        }
    }

    /// Endpoint names in rules: letters, digits and `_ . : -` (what v1 tools name endpoints),
    /// so a rule's text always reads back as the same rule.
    static func endpointName(_ text: String) throws(SyntaxError) -> String {
        let allowed = text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "_.:-".unicodeScalars.contains(scalar))
        }
        guard !text.isEmpty, allowed else {
            throw SyntaxError("\"\(text)\" is not an endpoint name here (letters, digits and _ . : - only)")
        }
        return text
    }

    /// `5%`, `0.5%`, `100%`.
    static func percentage(_ text: String) throws(SyntaxError) -> Percentage {
        guard text.hasSuffix("%"), let value = Double(text.dropLast()), value.isFinite else {
            throw SyntaxError("\(text) is not a percentage (write it as 5% or 0.5%)")
        }
        guard (0...100).contains(value) else {
            throw SyntaxError("\(text) is outside 0%–100%")
        }
        return Percentage(percent: value)
    }

    /// `250us`, `10ms`, `1.5s`.
    static func duration(_ text: String) throws(SyntaxError) -> Duration {
        for (unit, scale) in [("us", 1e3), ("ms", 1e6), ("s", 1e9)] where text.hasSuffix(unit) {
            guard let value = Double(text.dropLast(unit.count)), value.isFinite else { break }
            guard value >= 0 else { throw SyntaxError("\(text): a time cannot be negative") }
            guard value * scale <= 3600e9 else { throw SyntaxError("\(text) is more than an hour") }
            return .nanoseconds(Int64((value * scale).rounded()))
        }
        throw SyntaxError("\(text) is not a time (write it as 250us, 10ms or 1.5s)")
    }

    /// `100pps`, `512kbit`, `10mbit`.
    static func rate(_ text: String) throws(SyntaxError) -> Rate {
        for (unit, scale) in [("pps", 0.0), ("kbit", 1e3), ("mbit", 1e6)] where text.hasSuffix(unit) {
            guard let value = Double(text.dropLast(unit.count)), value.isFinite else { break }
            guard value > 0 else { throw SyntaxError("\(text): a rate must be more than 0") }
            return scale == 0 ? .framesPerSecond(value) : .bitsPerSecond(value * scale)
        }
        throw SyntaxError("\(text) is not a rate (write it as 100pps, 512kbit or 10mbit)")
    }

    struct Word {
        var text: String
        var quoted: Bool
    }

    /// Splits on blanks; '...' and "..." are one word; `#` outside quotes ends the line.
    static func words(_ line: String) throws(SyntaxError) -> [Word] {
        var words: [Word] = []
        var current = ""
        var inWord = false
        var quote: Character?
        for character in line {
            if let open = quote {
                if character == open {
                    words.append(Word(text: current, quoted: true))
                    current = ""
                    quote = nil
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "#":
                if inWord {
                    words.append(Word(text: current, quoted: false))
                }
                return words
            case "'", "\"":
                if inWord {
                    throw SyntaxError("a quote inside a word: \(current)\(character)")
                }
                quote = character
            case " ", "\t", "\r":
                if inWord {
                    words.append(Word(text: current, quoted: false))
                    current = ""
                    inWord = false
                }
            default:
                current.append(character)
                inWord = true
            }
        }
        if let open = quote {
            throw SyntaxError("unterminated quote \(open)\(current)")
        }
        if inWord {
            words.append(Word(text: current, quoted: false))
        }
        return words
    }
}
