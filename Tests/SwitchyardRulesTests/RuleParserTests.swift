import SwitchyardRules
import Testing

/// Every form of the rules language, and every error a person can make in it.
@Suite struct RuleParserTests {
    @Test(arguments: [
        ("drop", "drop"),
        ("from cli1 to svc_echo loss 20%  # a lossy cable", "from cli1 to svc_echo loss 20%"),
        ("to svc_echo match 'udp port 7007' pass", "to svc_echo match 'udp port 7007' pass"),
        ("match \"arp\" mirror sniff", "match 'arp' mirror sniff"),
        ("from a redirect b", "from a redirect b"),
        ("rate 100pps", "rate 100pps"),
        ("rate 512kbit limit 50", "rate 512kbit limit 50"),
        ("rate 10mbit", "rate 10mbit"),
        ("delay 10ms", "delay 10ms"),
        ("delay 1.5s jitter 250ms", "delay 1.5s jitter 250ms"),
        ("delay 250us", "delay 250us"),
        ("loss 5% burst 3", "loss 5% burst 3"),
        ("loss 0.5%", "loss 0.5%"),
        ("duplicate 1% reorder 2% corrupt 0.1%", "duplicate 1% reorder 2% corrupt 0.1%"),
        ("to x delay 20ms loss 10% mirror s1 mirror s2", "to x delay 20ms loss 10% mirror s1 mirror s2"),
        ("match \"ether[0] != 'a'\" pass", "match \"ether[0] != 'a'\" pass"),
    ])
    func everyFormParsesAndPrintsBack(text: String, canonical: String) throws {
        let rule = try #require(try RuleParser.parse(text))
        #expect(rule.description == canonical)
        #expect(try RuleParser.parse(rule.description) == rule, "the canonical text parses back to the same rule")
    }

    @Test func blankAndCommentLinesAreNoRule() throws {
        #expect(try RuleParser.parse("") == nil)
        #expect(try RuleParser.parse("   # only a comment") == nil)
    }

    @Test(arguments: [
        ("loss 120%", "120% is outside 0%–100%"),
        ("loss -1%", "-1% is outside 0%–100%"),
        ("loss 5", "5 is not a percentage (write it as 5% or 0.5%)"),
        ("delay -5ms", "-5ms: a time cannot be negative"),
        ("delay 5", "5 is not a time (write it as 250us, 10ms or 1.5s)"),
        ("delay 5ms jitter 10ms", "jitter 10ms is more than the delay 5ms: a frame cannot leave before it came"),
        ("rate 0pps", "0pps: a rate must be more than 0"),
        ("rate fast", "fast is not a rate (write it as 100pps, 512kbit or 10mbit)"),
        ("rate 10pps limit 0", "limit wants a whole number of frames of at least 1, got 0"),
        ("loss 10% burst 0.5", "burst wants a mean burst length of at least 1 frame, got 0.5"),
        ("frobnicate", "unknown word \"frobnicate\": an action is one of drop, pass, mirror, redirect, rate, delay, loss, duplicate, reorder, corrupt"),
        ("from a to b", "no action: end the rule with drop, pass, mirror, redirect, rate, delay, loss, duplicate, reorder or corrupt"),
        ("from", "from needs an endpoint name"),
        ("match 'udp", "unterminated quote 'udp"),
        ("drop delay 1ms", "drop stands alone: it cannot be combined with other actions"),
        ("loss 1% loss 2%", "loss given twice"),
        ("from a from b drop", "from given twice"),
        ("mirror", "mirror needs an endpoint name"),
        // Found by FuzzRules: an empty name printed as nothing and read back as no rule.
        ("from a redirect \"\"", "\"\" is not an endpoint name here (letters, digits and _ . : - only)"),
        ("to 'svc echo' drop", "\"svc echo\" is not an endpoint name here (letters, digits and _ . : - only)"),
    ])
    func mistakesAreExplained(text: String, message: String) {
        let error = #expect(throws: RuleParser.SyntaxError.self) { try RuleParser.parse(text) }
        #expect(error?.message == message)
    }

    @Test func fileErrorsNameTheFileAndLine() throws {
        let text = "# the lab\nto svc_echo loss 5%\n\nfrom x jitter 5ms\n"
        let syntax = #expect(throws: RuleParser.SyntaxError.self) { try RuleParser.parseFile(text, name: "lab.rules") }
        #expect(syntax?.message == "lab.rules:4: unknown word \"jitter\": an action is one of drop, pass, mirror, redirect, rate, delay, loss, duplicate, reorder, corrupt")
        let bpf = #expect(throws: RuleParser.SyntaxError.self) { try RuleParser.parseFile("drop\nmatch 'udp prt 7' drop", name: "f") }
        #expect(bpf?.message.hasPrefix("f:2: invalid filter \"udp prt 7\": ") == true, "libpcap's own words: \(bpf?.message ?? "")")
        #expect(try RuleParser.parseFile(text.replacing("jitter 5ms", with: "drop"), name: "f").map(\.line) == [2, 4])
    }
}
