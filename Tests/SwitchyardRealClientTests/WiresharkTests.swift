import Foundation
import SwitchyardClient
import SwitchyardTestSupport
import Testing

/// Wireshark's view of Switchyard: the protocol v1 dissector on a loopback capture of a
/// session, and switchyard-extcap as a capture interface run by tshark itself.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WiresharkTests {
    static let dissector = Tools.packageRoot.appendingPathComponent("wireshark/switchyard.lua").path

    /// Capturing on lo, and installing into Wireshark's global extcap folder (Debian's 4.0
    /// reads user folders only for other users), need root.
    static let loopbackCapture = Requirement.all(.tshark, .tcpdump, .root)
    static let install = Requirement.all(.tshark, .root)

    /// A session that sends every message type: HELLO … ERROR, STATS and RULES included, and
    /// frames big enough to be split across TCP segments.
    @Test(.requires(Self.loopbackCapture))
    func theDissectorNamesEveryMessageTypeAndDecodesTheFrames() async throws {
        let capture = try temporaryPath("v1.pcap")
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        // env resets SIGTERM's disposition: this test process ignores it (in-process fabrics
        // handle signals through dispatch), and children inherit that.
        let tcpdump = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["--default-signal=TERM,INT", Tools.which("tcpdump")!, "-i", "lo", "--immediate-mode", "-U", "-w", capture, "tcp port \(fabric.port)"])
        defer { tcpdump.signal(SIGKILL) }
        _ = try await tcpdump.waitForLine(startingWith: "tcpdump: listening on lo", on: .stderr)
        let port = "\(fabric.port)"
        let echo = try await Fixtures.startEcho(fabric.port)
        let big = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", port, "--count", "2"], environment: ["PING_MSG": String(repeating: "x", count: 20000)])
        #expect(try await big.waitForExit() == 0)
        for tool in [("switchyard-stats", [String]()), ("switchyard-ctl", ["rules"])] {
            let process = try ChildProcess(Tools.executable(tool.0), tool.1 + ["--port", port])
            #expect(try await process.waitForExit() == 0)
        }
        await echo.stop()
        // ENDPOINT_LOOKUP of a name nobody has: ERROR.
        let lonely = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", port, "--timeout", "0.2"])
        #expect(try await lonely.waitForExit() == 1)
        // tcpdump drops what it has not written yet when told to stop: wait (bounded) until the
        // last message, the ERROR, is in the file.
        try await eventually("the ERROR in tcpdump's file", every: .milliseconds(50)) {
            (try? Data(contentsOf: URL(fileURLWithPath: capture)))?.range(of: Data(#""error":"#.utf8)) != nil
        }
        fabric.process.signal(SIGTERM)
        _ = try await fabric.process.waitForExit()
        tcpdump.signal(SIGTERM)
        _ = try await tcpdump.waitForExit()

        let base = ["-X", "lua_script:\(Self.dissector)", "-o", "switchyard.port:\(fabric.port)", "-r", capture]
        let types = try await runCommand("tshark", base + ["-Y", "switchyard", "-T", "fields", "-e", "switchyard.type"])
        #expect(types.status == 0, "\(types.stderr)")
        let seen = Set(types.stdout.split(whereSeparator: { $0 == "\n" || $0 == "," }).map(String.init))
        #expect(seen == ["1", "2", "10", "11", "12", "13", "20", "21", "30", "31", "40", "41", "50", "51", "100"], "\(seen)")
        let names = try await runCommand("tshark", base + ["-Y", "switchyard.type == 100", "-T", "fields", "-e", "switchyard.json"])
        #expect(names.stdout.contains(#""error""#), "ERROR's JSON is shown as text: \(names.stdout)")
        let malformed = try await runCommand("tshark", base + ["-Y", "_ws.malformed || _ws.expert.severity >= 8388608"])
        #expect(malformed.status == 0 && malformed.stdout.isEmpty, "\(malformed.stdout)")
        // PACKET_OUT/PACKET_IN carry 20,042-byte frames: reassembled from several segments and
        // handed to Ethernet, IP and UDP.
        let inner = try await runCommand("tshark", base + ["-Y", "switchyard.type == 31 && udp.port == 7007", "-T", "fields", "-e", "udp.length"])
        let lengths = inner.stdout.split(separator: "\n").flatMap { $0.split(separator: ",") }
        #expect(lengths.count == 4 && lengths.allSatisfy { $0 == "20008" }, "two pings, two echoes, each a PACKET_IN: \(inner.stdout)")
    }

    @Test func theExtcapPhasesAnswerAsWiresharkExpects() async throws {
        let extcap = Tools.executable("switchyard-extcap")
        let interfaces = try ChildProcess(extcap, ["--extcap-interfaces", "--extcap-version=4.0"])
        #expect(try await interfaces.waitForExit() == 0)
        #expect(interfaces.stdout.hasSuffix("\ninterface {value=switchyard}{display=Switchyard fabric}\n"), "\(interfaces.stdout)")
        #expect(interfaces.stdout.hasPrefix("extcap {version="))
        let dlts = try ChildProcess(extcap, ["--extcap-interface=switchyard", "--extcap-dlts"])
        #expect(try await dlts.waitForExit() == 0)
        #expect(dlts.stdout == "dlt {number=1}{name=EN10MB}{display=Ethernet}\n")
        let config = try ChildProcess(extcap, ["--extcap-interface", "switchyard", "--extcap-config"])
        #expect(try await config.waitForExit() == 0)
        for call in ["--host", "--port", "--unix", "--name"] {
            #expect(config.stdout.contains("{call=\(call)}"), "\(config.stdout)")
        }
        let bad: [([String], String)] = [
            (["--extcap-interface", "eth0", "--extcap-dlts"], #"no interface "eth0" here"#),
            (["--extcap-interface", "switchyard", "--capture"], "--capture needs --fifo PATH"),
            (["--extcap-dlts"], "--extcap-interface switchyard is needed"),
            ([], "give one of --extcap-interfaces"),
        ]
        for (arguments, message) in bad {
            let process = try ChildProcess(extcap, arguments)
            #expect(try await process.waitForExit() == 64, "\(arguments)")
            #expect(process.stderr.contains(message), "\(arguments): \(process.stderr)")
        }
        let path = try temporaryPath("never.pcapng")
        let noFabric = try ChildProcess(extcap, ["--extcap-interface", "switchyard", "--capture", "--fifo", path, "--port", "1"])
        #expect(try await noFabric.waitForExit() == 2)
        #expect(noFabric.stderr.hasPrefix("switchyard-extcap: cannot reach fabric at 127.0.0.1:1"), "\(noFabric.stderr)")
        let badFilter = try ChildProcess(extcap, ["--extcap-interface", "switchyard", "--capture", "--fifo", path, "--extcap-capture-filter", "udp port"])
        #expect(try await badFilter.waitForExit() == 2)
        #expect(badFilter.stderr.hasPrefix("switchyard-extcap: "), "\(badFilter.stderr)")
    }

    /// Wireshark stops a capture by closing its end of the FIFO: the tool's next write fails
    /// with EPIPE and it exits 0, its endpoint gone.
    @Test func theCaptureEndsWhenTheReaderClosesTheFIFO() async throws {
        let fifo = try temporaryPath("capture.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        // Non-blocking: opening a FIFO for reading would otherwise wait for the writer.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        let extcap = try ChildProcess(Tools.executable("switchyard-extcap"), [
            "--extcap-interface", "switchyard", "--capture", "--fifo", fifo, "--port", "\(fabric.port)", "--name", "fifo-test",
        ])
        defer { extcap.signal(SIGKILL) }
        let watcher = try await FabricClient.connect(port: fabric.port, clientName: "watch")
        _ = try await watcher.lookUp(name: "fifo-test", retryingFor: .seconds(20), every: .milliseconds(50), clock: ContinuousClock())
        var header = [UInt8](repeating: 0, count: 4)
        #expect(read(reader, &header, 4) == 4 && header == [0x0A, 0x0D, 0x0D, 0x0A], "a pcapng section header, at once")
        close(reader)
        let echo = try await Fixtures.startEcho(fabric.port)
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)"])
        _ = try await ping.waitForExit()
        #expect(try await extcap.waitForExit(timeout: .seconds(20)) == 0, "\(extcap.stderr)")
        #expect(extcap.stderr.isEmpty, "\(extcap.stderr)")
        await watcher.close()
        await echo.stop()
    }

    @Test(.requires(Self.install))
    func tsharkListsAndCapturesFromTheInstalledInterface() async throws {
        let install = try await runCommand(Tools.packageRoot.appendingPathComponent("scripts/install-wireshark.sh").path, [], environment: ["EXTCAP_BINARY": Tools.executable("switchyard-extcap").path])
        #expect(install.status == 0, "\(install)")
        let list = try await runCommand("tshark", ["-D"])
        #expect(list.stdout.contains(". switchyard (Switchyard fabric)\n"), "\(list.stdout)")

        // No fabric there: tshark stops with the extcap's one-line error, not waiting forever
        // for a FIFO nobody opens (the extcap opens and closes it).
        let nowhere = try ChildProcess(URL(fileURLWithPath: Tools.which("tshark")!), ["-i", "switchyard", "-o", "extcap.switchyard.port:1", "-c", "1"])
        defer { nowhere.signal(SIGKILL) }
        #expect(try await nowhere.waitForExit(timeout: .seconds(10)) != 0)
        #expect(nowhere.stderr.contains("switchyard-extcap: cannot reach fabric at 127.0.0.1:1"), "\(nowhere.stderr)")

        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let port = "\(fabric.port)"
        let echo = try await Fixtures.startEcho(fabric.port)
        let ntpd = try await Fixtures.startNTP(fabric.port)
        let directory = try Tools.temporaryDirectory()
        let all = directory.appendingPathComponent("all.pcapng").path
        let ntpOnly = directory.appendingPathComponent("ntp.pcapng").path
        let tsharkPath = URL(fileURLWithPath: Tools.which("tshark")!)
        let everything = try ChildProcess(tsharkPath, ["-i", "switchyard", "-o", "extcap.switchyard.port:\(port)", "-o", "extcap.switchyard.name:all", "-c", "6", "-w", all])
        defer { everything.signal(SIGKILL) }
        let filtered = try ChildProcess(tsharkPath, ["-i", "switchyard", "-o", "extcap.switchyard.port:\(port)", "-o", "extcap.switchyard.name:ntp-only", "-f", "udp port 123", "-c", "2", "-w", ntpOnly])
        defer { filtered.signal(SIGKILL) }
        // Both captures are on the fabric once their endpoints are: each extcap is a client.
        let watcher = try await FabricClient.connect(port: fabric.port, clientName: "watch")
        for name in ["all", "ntp-only"] {
            _ = try await watcher.lookUp(name: name, retryingFor: .seconds(30), every: .milliseconds(100), clock: ContinuousClock())
        }
        await watcher.close()
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", port, "--count", "3"])
        #expect(try await ping.waitForExit() == 0)
        let ntp = try ChildProcess(Tools.executable("switchyard-ntp"), ["--port", port])
        #expect(try await ntp.waitForExit() == 0)
        #expect(try await everything.waitForExit(timeout: .seconds(30)) == 0, "\(everything.stderr)")
        #expect(try await filtered.waitForExit(timeout: .seconds(30)) == 0, "\(filtered.stderr)")
        let captured = try await runCommand("tshark", ["-r", all, "-T", "fields", "-e", "udp.dstport"])
        #expect(captured.stdout == "7007\n12345\n7007\n12345\n7007\n12345\n", "\(captured.stdout)")
        let ntpFrames = try await runCommand("tshark", ["-r", ntpOnly, "-T", "fields", "-e", "ntp.flags.mode"])
        #expect(ntpFrames.stdout == "3\n4\n", "the capture filter kept only NTP: \(ntpFrames.stdout)")
        await echo.stop()
        await ntpd.stop()
        await fabric.process.stop()
        let uninstall = try await runCommand(Tools.packageRoot.appendingPathComponent("scripts/install-wireshark.sh").path, ["--uninstall"])
        #expect(uninstall.status == 0)
    }
}
