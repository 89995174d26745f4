import SwitchyardServer
import Testing

/// The one parser of the daemon's HOST:PORT flags.
@Suite struct HostPortTests {
    @Test func hostsPortsAndBracketedIPv6() throws {
        #expect(try HostPort.parse("127.0.0.1:7000", portRequired: true).get() == HostPort(host: "127.0.0.1", port: 7000))
        #expect(try HostPort.parse("[::1]:7000", portRequired: true).get() == HostPort(host: "::1", port: 7000))
        #expect(try HostPort.parse("::1:7000", portRequired: true).get() == HostPort(host: "::1", port: 7000), "with a port required, the last colon starts it")
        #expect(try HostPort.parse("fd00::1", portRequired: false).get() == HostPort(host: "fd00::1", port: nil), "without, several colons are an IPv6 address")
        #expect(try HostPort.parse("[fd00::1]", portRequired: false).get() == HostPort(host: "fd00::1", port: nil))
        #expect(try HostPort.parse("10.0.0.9", portRequired: false).get() == HostPort(host: "10.0.0.9", port: nil))
        #expect(try HostPort.parse("10.0.0.9:4790", portRequired: false).get() == HostPort(host: "10.0.0.9", port: 4790))
    }

    @Test func badPortsAndMissingHostsAreSaidApart() {
        for text in ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1]", "[::1]7000", "host:"] {
            #expect(HostPort.parse(text, portRequired: true) == .failure(.badPort), "\(text)")
        }
        #expect(HostPort.parse(":7000", portRequired: true) == .failure(.missingHost))
        #expect(HostPort.parse("[]:7000", portRequired: true) == .failure(.missingHost))
        #expect(HostPort.parse("", portRequired: false) == .failure(.missingHost))
    }
}
