/// One ingress rule: which deliveries it matches and what it does to them (docs/rules.md).
///
/// `[from NAME] [to NAME] [match 'BPF'] ACTION [ACTION ...]`. A rule applies to each delivery
/// (sender endpoint, destination endpoint, frame); the first rule that matches decides, and
/// the impairments of that rule combine.
public struct Rule: Hashable, Sendable, CustomStringConvertible {
    public var from: String?
    public var to: String?
    /// A BPF expression in tcpdump's language, compiled by libpcap.
    public var match: String?
    public var actions: [RuleAction]

    public init(from: String? = nil, to: String? = nil, match: String? = nil, actions: [RuleAction]) {
        self.from = from
        self.to = to
        self.match = match
        self.actions = actions
    }

    /// The rule in its canonical text, which parses back to the same rule.
    public var description: String {
        var words: [String] = []
        if let from = self.from {
            words.append("from \(from)")
        }
        if let to = self.to {
            words.append("to \(to)")
        }
        if let match = self.match {
            // Quoted with the quote it does not contain (a quoted word never holds its own).
            words.append(match.contains("'") ? "match \"\(match)\"" : "match '\(match)'")
        }
        words += self.actions.map(\.description)
        return words.joined(separator: " ")
    }

    /// Endpoint names the rule's actions send to (mirror, redirect).
    public var targets: [String] {
        self.actions.compactMap {
            switch $0 {
            case .mirror(let name), .redirect(let name): name
            default: nil
            }
        }
    }
}

/// What a rule does to a delivery it matches.
public enum RuleAction: Hashable, Sendable, CustomStringConvertible {
    case drop
    case pass
    /// Deliver a copy to this endpoint as well.
    case mirror(String)
    /// Deliver to this endpoint instead.
    case redirect(String)
    /// Hold frames so they leave at most at this rate; past `limit` waiting, drop.
    case rate(Rate, limit: Int)
    /// Hold each frame this long, plus or minus up to `jitter` (uniform).
    case delay(Duration, jitter: Duration)
    /// Lose this share of frames; with `burst`, in bursts of that mean length (Gilbert-Elliott).
    case loss(Percentage, burst: Double?)
    case duplicate(Percentage)
    /// Hold this share of frames back so that later ones overtake them.
    case reorder(Percentage)
    /// Flip one bit of this share of frames.
    case corrupt(Percentage)

    public static let defaultRateLimit = 1000

    public var description: String {
        switch self {
        case .drop: "drop"
        case .pass: "pass"
        case .mirror(let name): "mirror \(name)"
        case .redirect(let name): "redirect \(name)"
        case .rate(let rate, let limit): "rate \(rate)" + (limit == Self.defaultRateLimit ? "" : " limit \(limit)")
        case .delay(let delay, let jitter): "delay \(DurationText.format(delay))" + (jitter == .zero ? "" : " jitter \(DurationText.format(jitter))")
        case .loss(let share, let burst): "loss \(share)" + (burst.map { " burst \(NumberText.format($0))" } ?? "")
        case .duplicate(let share): "duplicate \(share)"
        case .reorder(let share): "reorder \(share)"
        case .corrupt(let share): "corrupt \(share)"
        }
    }
}

/// A share of frames, 0 to 100 percent.
public struct Percentage: Hashable, Sendable, CustomStringConvertible {
    /// 0...1.
    public var fraction: Double

    public init(percent: Double) {
        self.fraction = percent / 100
    }

    public var description: String { NumberText.format(self.fraction * 100) + "%" }
}

/// A rate: frames per second, or bits per second.
public enum Rate: Hashable, Sendable, CustomStringConvertible {
    case framesPerSecond(Double)
    case bitsPerSecond(Double)

    public var description: String {
        switch self {
        case .framesPerSecond(let value): NumberText.format(value) + "pps"
        case .bitsPerSecond(let value):
            value >= 1_000_000 && (value / 1_000_000).rounded() == value / 1_000_000
                ? NumberText.format(value / 1_000_000) + "mbit" : NumberText.format(value / 1000) + "kbit"
        }
    }

    /// How long a frame of `bytes` occupies the link at this rate.
    public func cost(bytes: Int) -> Duration {
        switch self {
        case .framesPerSecond(let value): .nanoseconds(Int64((1e9 / value).rounded()))
        case .bitsPerSecond(let value): .nanoseconds(Int64((Double(bytes * 8) * 1e9 / value).rounded()))
        }
    }
}

/// Numbers as the rules language writes them: no trailing ".0".
enum NumberText {
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// Durations as the rules language writes them: `250us`, `10ms`, `1.5s`.
enum DurationText {
    static func format(_ duration: Duration) -> String {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        if nanoseconds % 1_000_000_000 == 0 {
            return "\(nanoseconds / 1_000_000_000)s"
        }
        if nanoseconds >= 1_000_000_000, nanoseconds % 1_000_000 == 0 {
            return NumberText.format(Double(nanoseconds) / 1e9) + "s"
        }
        if nanoseconds % 1_000_000 == 0 {
            return "\(nanoseconds / 1_000_000)ms"
        }
        return NumberText.format(Double(nanoseconds) / 1e3) + "us"
    }
}
