import Foundation
import SwitchyardPackets
import SwitchyardTestSupport
import Testing

/// The services as hosts, tried by a kernel in a namespace: datagrams it fragments are put
/// back together and echoed (in fragments back, MTU 1500); scapy's fragments in every order,
/// duplicated, overlapping, incomplete and in a storm; IPv6 neighbour discovery, ping, UDP
/// (fragmented too) and DNS (AAAA); and the IPv6 session replays with the namespace gone.
@Suite(.timeLimit(.minutes(5))) struct HostStackTests {
    static var fragmentScript: String { Tools.packageRoot.appendingPathComponent("scripts/lab/fragments.py").path }
    /// Debian's scapy, for the system python3 (another python3 may come first on PATH).
    static let scapy = Requirement.path("/usr/lib/python3/dist-packages/scapy", "scapy (Debian package python3-scapy)")

    /// A printable payload of `count` bytes with the newline `NetworkNamespace.run` adds.
    static func payload(_ count: Int) -> String {
        String((0..<(count - 1)).map { Character(UnicodeScalar(UInt8(65 + $0 % 26))) })
    }

    @Test(.requires(.all(.namespaces, .tshark, .tool("ping", package: "iputils-ping"))), arguments: NamespaceTests.Mode.allCases)
    func datagramsTheKernelFragmentsAreEchoedInFragments(mode: NamespaceTests.Mode) async throws {
        let capture = try temporaryPath("fragments.pcap")
        let lab = try await NamespaceTests.Lab.start(capture: capture, mode: mode)
        // 1,472 bytes fill one 1,500-byte packet; 1,473 and 3,000 do not.
        for size in [1422, 1423, 1472, 1473, 3000] {
            let text = Self.payload(size)
            let echoed = try await lab.namespace.run(["nc", "-u", "-w", "1", "10.0.0.2", "7007"], input: text)
            #expect(echoed.stdout == text + "\n", "\(size) bytes: got \(echoed.stdout.utf8.count)")
        }
        // nc sends at most 16 KiB per datagram; the kernel's socket sends 60,000 bytes as one.
        let large = try await lab.namespace.run(["python3", "-c", """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
            body = bytes(i * 7 % 251 for i in range(60000))
            s.sendto(body, ("10.0.0.2", 7007))
            print("same" if s.recvfrom(65535)[0] == body else "different")
            """])
        #expect(large.stdout == "same\n", "\(large)")
        let ping = try await lab.namespace.run(["ping", "-c", "1", "-W", "2", "-s", "3000", "10.0.0.2"])
        #expect(ping.stdout.contains("3008 bytes from 10.0.0.2: icmp_seq=1 ttl=64"), "\(ping.stdout)")
        try await lab.stop()

        // The echoes left the service in fragments of at most 1,500 bytes, whole once tshark
        // reassembles them (its default), with identifications counted from 1.
        let fragments = try await runCommand("tshark", ["-r", capture, "-o", "ip.defragment:FALSE", "-Y", "ip.src == 10.0.0.2 && (ip.flags.mf == 1 || ip.frag_offset > 0)", "-T", "fields", "-e", "ip.len", "-e", "ip.id"])
        let rows = fragments.stdout.split(separator: "\n").map { $0.split(separator: "\t") }
        #expect(!rows.isEmpty && rows.allSatisfy { Int($0[0]).map { $0 <= 1500 } == true }, "\(fragments.stdout)")
        #expect(Set(rows.map { String($0[1]) }) == ["0x0001", "0x0002", "0x0003", "0x0004"], "1,473, 3,000, 60,000 bytes and the ping: \(fragments.stdout)")
        let whole = try await runCommand("tshark", ["-r", capture, "-Y", "ip.src == 10.0.0.2 && udp.srcport == 7007", "-T", "fields", "-e", "udp.length"])
        #expect(whole.stdout.split(separator: "\n") == ["1430", "1431", "1480", "1481", "3008", "60008"], "\(whole.stdout)")
    }

    @Test(.requires(.all(.namespaces, Self.scapy)))
    func scapysFragmentsInEveryOrderAndHostileOnesAreAnsweredAsTheyMustBe() async throws {
        let lab = try await NamespaceTests.Lab.start()
        let run = try await lab.namespace.run(["/usr/bin/python3", Self.fragmentScript, lab.device, "10.0.0.50", "10.0.0.2", lab.echoMAC, "7007"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "in-order echoed", "reversed echoed", "shuffled echoed", "duplicated echoed", "large-shuffled echoed",
            "overlapping silent", "missing-last silent", "bad-header-checksum silent", "after-storm echoed",
        ], "\(run.stdout) \(run.stderr)")
        try await lab.stop()
        let log = lab.services[0].stderr.split(separator: "\n")
        for refusal in ["overlapping fragments", "fragment header checksum wrong", "too many datagrams in reassembly"] {
            #expect(log.filter { $0.contains("dropped fragments: \(refusal);") }.count == 1, "each refusal logged once: \(refusal)\n\(lab.services[0].stderr)")
        }
    }

    @Test(.requires(.all(.namespaces, .tool("ping", package: "iputils-ping"), .tool("dig", package: "bind9-dnsutils"))))
    func theKernelsIPv6IsAnsweredAndItsSessionReplays() async throws {
        let capture = try temporaryPath("ipv6.pcap")
        do {
            let lab = try await NamespaceTests.Lab.start(capture: capture, ipv6: true)
            let dns = try ChildProcess(Tools.executable("switchyard-dns"), lab.connect + ["--record", "web=fd53:5900::80", "--record", "web=10.0.0.80"])
            defer { dns.signal(SIGKILL) }
            _ = try await dns.waitForLine(startingWith: "[svc_dns] ready")

            let linkLocal = IPv6Address.linkLocal(for: try #require(MACAddress(lab.echoMAC)))
            for address in ["fd53:5900::2", "fd53:5900::3", "\(linkLocal)%\(lab.device)"] {
                let ping = try await lab.namespace.run(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", address])
                #expect(ping.stdout.contains("2 packets transmitted, 2 received"), "\(address): \(ping.stdout) \(ping.stderr)")
            }
            let echoed = try await lab.namespace.run(["nc", "-6", "-u", "-w", "1", "fd53:5900::2", "7007"], input: "hello over IPv6")
            #expect(echoed.stdout == "hello over IPv6\n", "\(echoed)")
            // Larger than the TAP's 1,500 bytes: the kernel sends IPv6 fragments, the echo comes
            // back in fragments.
            let large = try await lab.namespace.run(["python3", "-c", """
                import socket
                s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(3)
                for size in (3000, 60000):
                    body = bytes(i * 7 % 251 for i in range(size))
                    s.sendto(body, ("fd53:5900::2", 7007))
                    print(size, "same" if s.recvfrom(65535)[0] == body else "different")
                """])
            #expect(large.stdout == "3000 same\n60000 same\n", "\(large)")
            let bigPing = try await lab.namespace.run(["ping", "-6", "-c", "1", "-W", "2", "-s", "3000", "fd53:5900::2"])
            #expect(bigPing.stdout.contains("3008 bytes from fd53:5900::2: icmp_seq=1"), "\(bigPing.stdout)")
            let web = try await lab.namespace.run(["dig", "+short", "+time=2", "+tries=1", "@fd53:5900::5", "web.switchyard.test", "AAAA"])
            #expect(web.stdout == "fd53:5900::80\n", "\(web)")
            let echoName = try await lab.namespace.run(["dig", "+short", "+time=2", "+tries=1", "@fd53:5900::5", "echo.switchyard.test", "AAAA"])
            #expect(echoName.stdout == "fd53:5900::2\n", "\(echoName)")
            // Over IPv4 the same name has both records (dig asks ANY over TCP, so one type at a time).
            let overIPv4 = try await lab.namespace.run(["dig", "+short", "+time=2", "+tries=1", "@10.0.0.5", "web.switchyard.test", "AAAA"])
            #expect(overIPv4.stdout == "fd53:5900::80\n", "\(overIPv4)")
            let a = try await lab.namespace.run(["dig", "+short", "+time=2", "+tries=1", "@fd53:5900::5", "web.switchyard.test", "A"])
            #expect(a.stdout == "10.0.0.80\n", "\(a)")
            let neighbours = try await lab.namespace.run(["ip", "-6", "neigh"])
            #expect(neighbours.stdout.contains("fd53:5900::2 dev \(lab.device) lladdr \(lab.echoMAC)"), "neighbour discovery was answered: \(neighbours.stdout)")
            dns.signal(SIGTERM)
            _ = try await dns.waitForExit()
            try await lab.stop()
        }
        // The same session against fresh services, the namespace gone: IPv6 flows match too.
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        var services: [ChildProcess] = []
        defer { services.forEach { $0.signal(SIGKILL) } }
        for (tool, arguments, ready) in [
            ("switchyard-echo", [String](), "[svc_echo] ready"), ("switchyard-ntpd", ["--clock", Fixtures.fixedClock], "[svc_ntp] ready"),
            ("switchyard-dns", ["--record", "web=fd53:5900::80", "--record", "web=10.0.0.80"], "[svc_dns] ready"),
        ] {
            let service = try ChildProcess(Tools.executable(tool), ["--port", "\(fabric.port)"] + arguments)
            services.append(service)
            _ = try await service.waitForLine(startingWith: ready)
        }
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [capture, "--port", "\(fabric.port)", "--expect", "svc_echo", "--expect", "svc_ntp", "--expect", "svc_dns"])
        #expect(try await replay.waitForExit() == 0, "\(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.contains(" 0 differed, 0 missing; 0 unexpected"), "\(replay.stdout)")
        #expect(replay.stdout.contains(" 0 differed, 0 missing; 0 unexpected"), "\(replay.stdout)")
        // Seven pings, three echoes (two in fragments: 45 frames), four DNS answers and the
        // neighbour advertisements, all over IPv6.
        let matched = replay.stdout.firstMatch(of: /expected (\d+) replies: (\d+) matched/)
        #expect(matched.map { $0.output.1 == $0.output.2 && Int($0.output.2)! >= 55 } == true, "\(replay.stdout)")
    }
}
