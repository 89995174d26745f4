import Foundation
import SwitchyardCapture
import SwitchyardTestKit
import SwitchyardTestSupport
import Testing

/// Replay of TCP sessions between Linux kernels: a server in one namespace ("web",
/// 10.0.0.60), its clients in another ("cli", 10.0.0.61), both behind switchyard-tap. Each
/// session is recorded, then replayed against a fresh server namespace (a new kernel, new
/// MAC, new initial sequence numbers): replay plays the clients' connections against the live
/// stack and compares what the server said, stream by stream.
@Suite(.timeLimit(.minutes(5))) struct TCPReplayNamespaceTests {
    /// The servers: scripts/lab/lab_server.py (a TCP echo, its changed twin, an HTTP server
    /// with a fixed Date header), or memcached.
    static var serverScript: String { Tools.packageRoot.appendingPathComponent("scripts/lab/lab_server.py").path }

    enum Server {
        case script(port: Int, mode: String)
        case memcached
        /// BusyBox's httpd serving `root` on port 8080: a real server whose Date header changes.
        case busybox(root: String)
        /// dnsmasq as the lab's DHCP and DNS server at 10.0.0.53 (its files in no place: no
        /// lease file, no resolv.conf, no hosts file), answering web.lab with 10.0.0.60.
        case dnsmasq
        case none
    }

    /// A namespace behind switchyard-tap, with a server of `kind` in it when asked.
    struct Host {
        let namespace: NetworkNamespace
        let tap: ChildProcess
        let server: ChildProcess?
        /// A server that made itself a daemon: its PID, from its pid file.
        var daemon: Int32?

        static func start(fabricPort: Int, name: String, address: String, server: Server) async throws -> Host {
            let namespace = try await NetworkNamespace()
            let tap = try ChildProcess(Tools.executable("switchyard-tap"), [
                "--port", "\(fabricPort)", "--name", name, "--netns", namespace.name, "--address", address,
            ])
            _ = try await tap.waitForLine(startingWith: "[tap] ready")
            let ip = Tools.which("ip") ?? "/usr/sbin/ip"
            var process: ChildProcess?
            var daemon: Int32?
            switch server {
            case .script(let port, let mode):
                let script = TCPReplayNamespaceTests.serverScript
                process = try ChildProcess(URL(fileURLWithPath: ip), ["netns", "exec", namespace.name, Tools.which("python3")!, script, "\(port)", mode])
                _ = try await process!.waitForLine(startingWith: "ready")
            case .busybox(let root):
                let binary = Tools.which("busybox") ?? "/usr/bin/busybox"
                process = try ChildProcess(URL(fileURLWithPath: ip), ["netns", "exec", namespace.name, binary, "httpd", "-f", "-p", "10.0.0.60:8080", "-h", root])
                try await eventually("httpd listens", within: .seconds(10)) {
                    try await namespace.run(["ss", "-Hltn", "sport = :8080"]).stdout.contains("8080")
                }
            case .memcached:
                let binary = Tools.which("memcached") ?? "/usr/bin/memcached"
                process = try ChildProcess(URL(fileURLWithPath: ip), ["netns", "exec", namespace.name, binary, "-u", "root", "-l", "10.0.0.60", "-p", "11211", "-U", "0"])
                try await eventually("memcached listens", within: .seconds(10)) {
                    try await namespace.run(["ss", "-Hltn", "sport = :11211"]).stdout.contains("11211")
                }
            case .dnsmasq:
                // dnsmasq runs as the daemon it is (it forks; the pid file says which process
                // to stop): kept in the foreground as a child of the test runner, the runner
                // stopped noticing its other children exit.
                let binary = Tools.which("dnsmasq") ?? "/usr/sbin/dnsmasq"
                let pidFile = try temporaryPath("dnsmasq.pid")
                let started = try await runCommand(ip, [
                    "netns", "exec", namespace.name, binary, "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                    "--leasefile-ro", "--pid-file=\(pidFile)", "--bind-interfaces", "--listen-address=10.0.0.53", "--port=53", "--user=root",
                    "--dhcp-range=10.0.0.100,10.0.0.150,1h", "--address=/web.lab/10.0.0.60", "--log-facility=\(try temporaryPath("dnsmasq.log"))",
                ])
                guard started.status == 0, let pid = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
                    throw TestFailure("dnsmasq did not start: \(started.stderr)")
                }
                daemon = pid
            case .none:
                break
            }
            return Host(namespace: namespace, tap: tap, server: process, daemon: daemon)
        }

        func stop() async throws {
            if let daemon = self.daemon {
                // SIGKILL: children of the test runner inherit its blocked signals, SIGTERM among them.
                kill(daemon, SIGKILL)
                try await eventually("the daemon \(daemon) exits", within: .seconds(10)) { kill(daemon, 0) != 0 }
            }
            if let server = self.server {
                server.signal(SIGKILL)
                _ = try await server.waitForExit()
            }
            self.tap.signal(SIGTERM)
            #expect(try await self.tap.waitForExit() == 0, "\(self.tap.stderr)")
        }
    }

    /// Records `session` (run in the client namespace) between a server of `kind` and the client.
    func record(_ server: Server, server name: String = "web", at address: String = "10.0.0.60/24", _ session: (NetworkNamespace) async throws -> Void) async throws -> String {
        let capture = try temporaryPath("tcp-session.pcap")
        let fabric = try await FabricProcess.ours(["--capture", capture])
        let web = try await Host.start(fabricPort: fabric.port, name: name, address: address, server: server)
        let client = try await Host.start(fabricPort: fabric.port, name: "cli", address: "10.0.0.61/24", server: .none)
        try await session(client.namespace)
        try await client.stop()
        try await web.stop()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        return capture
    }

    /// Replays `capture` against a fresh server namespace running `server`.
    func replay(_ capture: String, against server: Server, server name: String = "web", at address: String = "10.0.0.60/24", _ extra: [String] = []) async throws -> ChildProcess {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let web = try await Host.start(fabricPort: fabric.port, name: name, address: address, server: server)
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [capture, "--port", "\(fabric.port)"] + extra)
        _ = try await replay.waitForExit(timeout: .seconds(120))
        try await web.stop()
        return replay
    }

    @Test(.requires(.all(.namespaces, .tool("python3", package: "python3"))))
    func aTCPEchoReplaysAgainstAFreshKernelAndAChangedServerIsNamed() async throws {
        let message = String(repeating: "the quick brown fox jumps over the lazy dog\n", count: 400)
        let capture = try await self.record(.script(port: 7000, mode: "echo")) { client in
            let echoed = try await client.run(["nc", "-N", "-w", "5", "10.0.0.60", "7000"], input: message)
            #expect(echoed.stdout == message + "\n", "\(echoed.stderr)")
        }
        let same = try await self.replay(capture, against: .script(port: 7000, mode: "echo"))
        #expect(same.exitStatus == 0, "\(same.stdout) \(same.stderr)")
        #expect(same.stdout.contains("played cli: it started tcp.stream 0: 10.0.0.61:"), "\(same.stdout)")
        #expect(same.stdout.contains("expected web: it answered"), "\(same.stdout)")
        #expect(same.stdout.contains("and 1 TCP connection") && same.stdout.contains("streams: 1 matched, 0 differed, 0 missing"), "\(same.stdout)")

        let changed = try await self.replay(capture, against: .script(port: 7000, mode: "upper"))
        #expect(changed.exitStatus == 1, "\(changed.stdout)")
        #expect(changed.stdout.contains(" → 10.0.0.60:7000 differs: line 1 differs at offset 0: expected \"the quick brown fox"), "\(changed.stdout)")
        #expect(changed.stdout.contains("got \"THE QUICK BROWN FOX"), "\(changed.stdout)")

        let nobody = try await self.replay(capture, against: .none)
        #expect(nobody.exitStatus == 1, "\(nobody.stdout)")
        #expect(nobody.stdout.contains("missing: the server refused the connection (RST to the SYN): nothing listens on port 7000"), "\(nobody.stdout)")
    }

    @Test(.requires(.all(.namespaces, .tool("python3", package: "python3"), .tool("curl", package: "curl"))))
    func twentyParallelHTTPConnectionsReplayAndAChangedPageIsNamedByOffset() async throws {
        let capture = try await self.record(.script(port: 8080, mode: "http")) { client in
            // xargs, not the shell's `wait`: children of the test runner inherit a blocked
            // SIGCHLD, and dash's `wait` then sleeps forever.
            let fetch = try await client.run(["sh", "-c", "seq 1 20 | xargs -P 20 -I N curl -sf -o /dev/null http://10.0.0.60:8080/pageN"])
            #expect(fetch.status == 0, "\(fetch.stderr)")
        }
        let same = try await self.replay(capture, against: .script(port: 8080, mode: "http"))
        #expect(same.exitStatus == 0, "\(same.stdout) \(same.stderr)")
        #expect(same.stdout.contains("and 20 TCP connections") && same.stdout.contains("streams: 20 matched, 0 differed, 0 missing"), "\(same.stdout)")

        let changed = try await self.replay(capture, against: .script(port: 8080, mode: "http-changed"))
        #expect(changed.exitStatus == 1)
        #expect(changed.stdout.contains("streams: 0 matched, 20 differed"), "\(changed.stdout)")
        // Compared as HTTP: the body is named, by the offset in the body that changed.
        #expect(changed.stdout.contains(#"differs: response 1 http.body differs at offset 0: expected "page /page1\npage /page1\n", got "PAGE /page1\npage /page1\n""#), "\(changed.stdout)")
    }

    /// A 20 MB download: thousands of server segments, replayed against a fresh server at full
    /// speed (replay acknowledges per batch), compared byte for byte as they arrive.
    @Test(.requires(.all(.namespaces, .tool("python3", package: "python3"), .tool("curl", package: "curl"))))
    func aLargeDownloadReplaysAsOneStream() async throws {
        let size = 20 << 20
        let capture = try await self.record(.script(port: 8080, mode: "http")) { client in
            let fetch = try await client.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}", "http://10.0.0.60:8080/big/\(size)"])
            #expect(fetch.stdout == "\(size)", "\(fetch)")
        }
        let same = try await self.replay(capture, against: .script(port: 8080, mode: "http"))
        #expect(same.exitStatus == 0, "\(same.stdout) \(same.stderr)")
        #expect(same.stdout.contains("streams: 1 matched, 0 differed, 0 missing"), "\(same.stdout)")
    }

    /// The golden TCP recording (captures/tcp-session.pcap, scripts/make-tcp-capture.sh)
    /// replays clean against a fresh echo server, and its JUnit report has the connection.
    @Test(.requires(.all(.namespaces, .tool("python3", package: "python3"))))
    func theGoldenTCPRecordingReplaysClean() async throws {
        let junit = try temporaryPath("tcp.xml")
        let golden = Tools.packageRoot.appendingPathComponent("captures/tcp-session.pcap").path
        let replay = try await self.replay(golden, against: .script(port: 7000, mode: "echo"), ["--junit", junit])
        #expect(replay.exitStatus == 0, "\(replay.stdout) \(replay.stderr)")
        // The fresh server's kernel may send MLD reports while it plays: background, not compared.
        #expect(replay.stdout.contains("streams: 1 matched, 0 differed, 0 missing; 0 unexpected"), "\(replay.stdout)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains(#"tests="2" failures="0""#) && xml.contains(#"name="tcp.stream 0: 10.0.0.61:"#), "the ARP exchange and the connection: \(xml)")
    }

    /// A third-party daemon from Debian, memcached, with its text protocol over TCP. The
    /// server's kernel keeps IPv6 on: its router solicitations and MLD reports are background.
    @Test(.requires(.all(.namespaces, .tool("memcached", package: "memcached"))))
    func aThirdPartyDaemonReplaysAgainstAFreshInstance() async throws {
        let capture = try await self.record(.memcached) { client in
            let session = try await client.run(["sh", "-c", "printf 'set greeting 0 0 5\\r\\nhello\\r\\nget greeting\\r\\nquit\\r\\n' | nc -N -w 5 10.0.0.60 11211"])
            #expect(session.stdout == "STORED\r\nVALUE greeting 0 5\r\nhello\r\nEND\r\n", "\(session)")
        }
        let same = try await self.replay(capture, against: .memcached)
        #expect(same.exitStatus == 0, "\(same.stdout) \(same.stderr)")
        #expect(same.stdout.contains("streams: 1 matched, 0 differed, 0 missing"), "\(same.stdout)")
    }

    /// A real HTTP server's replies change where they should not matter: its Date header. The
    /// replay names the header; learned as noise (or masked by hand), it passes and says what
    /// the mask hid; a mask that hides nothing is stale (fatal with --strict-masks); a changed
    /// file is named by its body offset.
    @Test(.requires(.all(.namespaces, .tool("busybox", package: "busybox"), .tool("curl", package: "curl"))))
    func aRealHTTPServersDateIsNoiseAndAChangedFileIsNot() async throws {
        let root = try Tools.temporaryDirectory()
        let page = root.appendingPathComponent("index.html")
        try Data("a page that stays the same\n".utf8).write(to: page)
        let modified = try FileManager.default.attributesOfItem(atPath: page.path)[.modificationDate]
        let capture = try await self.record(.busybox(root: root.path)) { client in
            let fetch = try await client.run(["curl", "-sf", "http://10.0.0.60:8080/index.html", "http://10.0.0.60:8080/index.html"])
            #expect(fetch.stdout == "a page that stays the same\na page that stays the same\n", "\(fetch)")
        }
        // HTTP dates have whole seconds: the replay's are later ones.
        try await Task.sleep(for: .milliseconds(1100))
        let noisy = try await self.replay(capture, against: .busybox(root: root.path))
        #expect(noisy.exitStatus == 1, "\(noisy.stdout)")
        #expect(noisy.stdout.contains("differs: response 1 http.header.date: expected \""), "\(noisy.stdout)")

        // Learned: two runs against the same server say the Date is noise; the file is then
        // used by every replay of this recording.
        let learning = try await self.replay(capture, against: .busybox(root: root.path), ["--learn-noise", "2"])
        #expect(learning.exitStatus == 0, "\(learning.stdout) \(learning.stderr)")
        let noisePath = String(capture.dropLast(".pcap".count)) + ".noise.json"
        #expect(learning.stdout.hasSuffix("learned 1 noisy field from 2 runs: http.header.date (tcp, 2 of 2); wrote \(noisePath)\n"), "\(learning.stdout)")
        let file = try String(contentsOfFile: noisePath, encoding: .utf8)
        #expect(file.contains(#""field" : "http.header.date""#) && file.contains(#""flows" : "tcp""#) && file.contains(#""runs" : 2"#), "\(file)")
        let withNoise = try await self.replay(capture, against: .busybox(root: root.path))
        #expect(withNoise.exitStatus == 0, "\(withNoise.stdout)")
        #expect(withNoise.stdout.hasSuffix("; masked: http.header.date 2 (noise file)\n"), "\(withNoise.stdout)")
        let without = try await self.replay(capture, against: .busybox(root: root.path), ["--no-noise"])
        #expect(without.exitStatus == 1, "\(without.stdout)")
        try FileManager.default.removeItem(atPath: noisePath)

        let masked = try await self.replay(capture, against: .busybox(root: root.path), ["--ignore", "http.header.Date"])
        #expect(masked.exitStatus == 0, "\(masked.stdout)")
        #expect(masked.stdout.hasSuffix("; masked: http.header.date 2 (--ignore)\n"), "\(masked.stdout)")
        let strict = try await self.replay(capture, against: .busybox(root: root.path), ["--ignore", "http.header.date", "--ignore", "http.header.x-nothing", "--strict-masks"])
        #expect(strict.exitStatus == 1, "\(strict.stdout)")
        #expect(strict.stdout.contains("stale mask: --ignore http.header.x-nothing hid nothing in this run"), "\(strict.stdout)")
        #expect(strict.stderr.contains("--strict-masks: http.header.x-nothing hid nothing in this run"), "\(strict.stderr)")

        // The same length and time, another word: only the body tells.
        try Data("a page that stays the sane\n".utf8).write(to: page)
        try FileManager.default.setAttributes([.modificationDate: modified as Any], ofItemAtPath: page.path)
        let changed = try await self.replay(capture, against: .busybox(root: root.path), ["--ignore", "http.header.date"])
        #expect(changed.exitStatus == 1, "\(changed.stdout)")
        #expect(changed.stdout.contains(#"differs: response 1 http.body differs at offset 24: expected "me\n", got "ne\n""#), "\(changed.stdout)")
    }
}
