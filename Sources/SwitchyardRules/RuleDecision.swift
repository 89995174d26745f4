/// What the first matching rule decided for one delivery. The caller carries it out: drops,
/// copies, flips the bit, holds the frame until `delay` has passed, and sends to the mirror and
/// redirect targets.
public struct RuleDecision: Hashable, Sendable {
    /// The rule's id.
    public var rule: Int
    /// Not delivered (dropped by `drop`, `loss`, a full `rate` queue or a missing redirect target).
    public var dropped = false
    /// 2 with `duplicate`.
    public var copies = 1
    /// How long to hold the frame before delivering it (delay, jitter, reorder and rate added).
    public var delay: Duration = .zero
    /// With `corrupt`: the byte to change and the bit to flip in it.
    public var corruption: (offset: Int, mask: UInt8)?
    /// Deliver to the redirect target's subscribers instead of the destination.
    public var redirect: UInt32?
    /// Deliver a copy to these endpoints' subscribers as well.
    public var mirrors: [UInt32] = []
    /// Why, in a few words, for the capture's comments and logs ("loss", "rate limit").
    public var reason: String?

    public init(rule: Int) {
        self.rule = rule
    }

    public static func == (lhs: RuleDecision, rhs: RuleDecision) -> Bool {
        lhs.rule == rhs.rule && lhs.dropped == rhs.dropped && lhs.copies == rhs.copies && lhs.delay == rhs.delay
            && lhs.corruption?.offset == rhs.corruption?.offset && lhs.corruption?.mask == rhs.corruption?.mask
            && lhs.redirect == rhs.redirect && lhs.mirrors == rhs.mirrors && lhs.reason == rhs.reason
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.rule)
        hasher.combine(self.dropped)
        hasher.combine(self.copies)
        hasher.combine(self.delay)
        hasher.combine(self.corruption?.offset)
        hasher.combine(self.corruption?.mask)
    }
}

/// A rule's counters (in STATS and `switchyard-ctl rules`).
public struct RuleCounters: Hashable, Sendable, Codable {
    public var matched: UInt64 = 0
    public var dropped: UInt64 = 0
    public var duplicated: UInt64 = 0
    public var delayed: UInt64 = 0
    public var corrupted: UInt64 = 0
    public var reordered: UInt64 = 0
    public var mirrored: UInt64 = 0
    public var redirected: UInt64 = 0

    public init() {}
}
