/// What the rules make of one delivery: nothing, a plain pass, or a decision with actions.
///
/// Kept apart from `RuleDecision` so that the common outcomes carry nothing to allocate or
/// release on the per-delivery path.
public enum RuleVerdict: Hashable, Sendable {
    /// No rule matched: deliver as is.
    case none
    /// Rule `rule`, a `pass`, matched: deliver as is; no later rule was tried.
    case passed(rule: Int)
    /// A rule with actions matched.
    case decided(RuleDecision)
}
