import Logging
import SwitchyardCapture
import SwitchyardFabric
import SwitchyardRules
import SwitchyardWire

/// The control requests the engine answers itself rather than the core: RULES_REQUEST (list,
/// add, delete, clear, with the operation typed in Wire) and STATS (through `StatsBuilder`).
struct ControlPlane {
    let logger: Logger

    /// Lists, adds, deletes or clears rules; answers RULES, or ERROR (rules unchanged).
    func answerRulesRequest(_ message: Message, pipeline: FabricEngine.Pipeline) -> Message {
        let request: RulesRequest
        do {
            request = try ControlJSON.decode(RulesRequest.self, from: message.payload)
        } catch {
            return Rejection(.badPayload, "RULES_REQUEST: \(error.description)").message
        }
        let operation: RulesOperation
        switch request.operation {
        case .success(let parsed): operation = parsed
        case .failure(let invalid): return Rejection(.badRule, invalid.message).message
        }
        var added: Int?
        switch operation {
        case .list:
            break
        case .add(let text):
            do {
                guard let rule = try RuleParser.parse(text) else {
                    return Rejection(.badRule, "the rule is empty").message
                }
                added = try pipeline.updateRules { try $0.add(rule) }
            } catch let error as RuleParser.SyntaxError {
                return Rejection(.badRule, error.message).message
            } catch let error as PcapError {
                return Rejection(.badRule, error.message).message
            } catch {
                return Rejection(.badRule, "\(error)").message
            }
            self.logger.info("rule added", metadata: ["id": "\(added ?? 0)", "rule": "\(text)"])
        case .delete(let id):
            guard pipeline.updateRules({ $0.remove(id: id) }) else {
                return Rejection(.unknownRule, "no rule \(id) (switchyard-ctl rules lists them)").message
            }
            self.logger.info("rule deleted", metadata: ["id": "\(id)"])
        case .clear:
            pipeline.updateRules { $0.removeAll() }
            self.logger.info("rules cleared")
        }
        let rules = pipeline.rules
        if operation != .list, let capture = pipeline.capture {
            // An add is told as an add: describing (and copying) every rule in force on each
            // of 10,000 adds would cost more than the adds.
            if case .add = operation {
                capture.ruleAdded(rules.entries[rules.entries.count - 1].rule.description)
            } else {
                capture.rulesChanged(rules.entries.map(\.rule.description))
            }
        }
        if let added {
            // The rule added, not every rule in force: `list` is for that.
            let entry = rules.entries[rules.entries.count - 1]
            return Message(.rules, json: RulesReply(seed: rules.seed, rules: [Self.replyEntry(entry)], added: added))
        }
        return Message(.rules, json: RulesReply(seed: rules.seed, rules: Self.entries(of: rules), added: nil))
    }

    static func entries(of rules: RuleSet) -> [RulesReply.Entry] {
        rules.entries.map(Self.replyEntry)
    }

    private static func replyEntry(_ entry: RuleSet.Entry) -> RulesReply.Entry {
        let c = entry.counters
        return RulesReply.Entry(
            id: entry.id, rule: entry.rule.description, matched: c.matched, dropped: c.dropped, duplicated: c.duplicated,
            delayed: c.delayed, corrupted: c.corrupted, reordered: c.reordered, mirrored: c.mirrored, redirected: c.redirected
        )
    }
}
