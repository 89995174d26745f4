import Foundation
import SwitchyardTestKit
import SwitchyardTestSupport
import Testing

/// The replay issue's third-party case: dnsmasq as DHCP and DNS server in one namespace, the
/// kernel's DHCP client (udhcpc, with a script that writes nothing) and dig in another. The
/// kernel's IPv6 chatter and dnsmasq's own ping of the address it offers are background; the
/// offer comes after dnsmasq's 3 s probe, inside the default timeout.
@Suite(.timeLimit(.minutes(5))) struct DaemonReplayTests {
    typealias Lab = TCPReplayNamespaceTests

    @Test(.requires(.all(.namespaces, .tool("dnsmasq", package: "dnsmasq-base"), .tool("udhcpc", package: "udhcpc"), .tool("dig", package: "bind9-dnsutils"))))
    func dnsmasqReplaysAgainstAFreshInstanceAndAStoppedOneIsNamed() async throws {
        let lab = Lab()
        let capture = try await lab.record(.dnsmasq, server: "dhcpdns", at: "10.0.0.53/24") { client in
            let device = try await client.run(["sh", "-c", "ip -o link | awk -F': ' '$2 != \"lo\" {print $2; exit}' | cut -d@ -f1"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let lease = try await client.run(["udhcpc", "-i", device, "-n", "-q", "-f", "-s", "/bin/true", "-t", "3"])
            #expect(lease.status == 0 && lease.stderr.contains("obtained from 10.0.0.53"), "\(lease)")
            let answer = try await client.run(["dig", "+short", "+time=2", "+tries=1", "@10.0.0.53", "web.lab"])
            #expect(answer.stdout == "10.0.0.60\n", "\(answer)")
            // DNS over TCP too (RFC 1035 4.2.2): replay compares its messages field by field.
            let overTCP = try await client.run(["dig", "+tcp", "+short", "+time=2", "+tries=1", "@10.0.0.53", "web.lab"])
            #expect(overTCP.stdout == "10.0.0.60\n", "\(overTCP)")
        }
        // The daemon's IP ids change from run to run: noise, masked here.
        let same = try await lab.replay(capture, against: .dnsmasq, server: "dhcpdns", at: "10.0.0.53/24", ["--ignore", "ipv4.id"])
        #expect(same.exitStatus == 0, "\(same.stdout) \(same.stderr)")
        #expect(same.stdout.contains("expected dhcpdns: it answered dhcp xid 0x"), "\(same.stdout)")
        #expect(same.stdout.contains(" 0 differed, 0 missing; streams: 1 matched, 0 differed, 0 missing; 0 unexpected; ") && same.stdout.contains(" background frames, not compared"), "\(same.stdout)")

        let unmasked = try await lab.replay(capture, against: .dnsmasq, server: "dhcpdns", at: "10.0.0.53/24")
        #expect(unmasked.exitStatus == 1)
        #expect(unmasked.stdout.contains("differs: ipv4.id: expected "), "\(unmasked.stdout)")

        // Learned instead of written by hand: two replays against one dnsmasq name its IP ids
        // as noise, per kind of flow; the next replay masks them from the file.
        let learning = try await lab.replay(capture, against: .dnsmasq, server: "dhcpdns", at: "10.0.0.53/24", ["--learn-noise", "2"])
        #expect(learning.exitStatus == 0, "\(learning.stdout) \(learning.stderr)")
        #expect(learning.stdout.contains("ipv4.id (dhcp, 2 of 2)") && learning.stdout.contains("ipv4.id (dns, 2 of 2)"), "\(learning.stdout)")
        let learned = try await lab.replay(capture, against: .dnsmasq, server: "dhcpdns", at: "10.0.0.53/24")
        #expect(learned.exitStatus == 0, "\(learned.stdout)")
        #expect(learned.stdout.contains("; masked: ipv4.id "), "\(learned.stdout)")
        try FileManager.default.removeItem(atPath: String(capture.dropLast(".pcap".count)) + ".noise.json")

        let stopped = try await lab.replay(capture, against: .none, server: "dhcpdns", at: "10.0.0.53/24", ["--timeout", "1"])
        #expect(stopped.exitStatus == 1)
        #expect(stopped.stdout.contains(") missing: ") && stopped.stdout.contains("DHCP Offer"), "no lease without the daemon: \(stopped.stdout)")
        // The query meets a kernel with nothing on port 53: its ICMP port unreachable joins the
        // DNS flow it quotes, and differs from the recorded answer.
        #expect(stopped.stdout.contains("received: ") && stopped.stdout.contains("10.0.0.53 > 10.0.0.61: ICMP port unreachable"), "\(stopped.stdout)")
    }
}
