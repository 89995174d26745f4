import Foundation
import SwitchyardPackets
import SwitchyardTap
import SwitchyardTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fabric carrying TAP devices itself (`switchyard-tap --unix`, descriptor mode): what it
/// refuses, and that a device never outlives the fabric or the tool.
@Suite(.timeLimit(.minutes(3))) struct TapHandoffTests {
    /// A fabric on a Unix socket; its TAP socket beside it.
    static func fabric() async throws -> (process: ChildProcess, path: String) {
        let path = try temporaryPath("fabric.sock")
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--unix", path])
        _ = try await process.waitForLine(startingWith: "[fabric] listening on unix:")
        return (process, path)
    }

    /// A handshake that lies is answered with ERROR and closed, and the fabric goes on: no
    /// descriptor, a descriptor that is no TAP device (a pipe), garbage instead of ATTACH.
    @Test func aHandshakeThatLiesIsRefusedAndTheFabricGoesOn() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        let handoff = TapHandoff.socketPath(forFabricAt: path)
        let mac = MACAddress("02:00:00:00:0a:01")!

        // Descriptors are made and closed as children are started, one at a time
        // (`ProcessLaunch`): Foundation's `Process.run` lists this process's descriptors while
        // it starts a child, and one opened or closed meanwhile by another thread corrupts it.
        func exchange(_ text: String, descriptor: Int32?) throws -> String {
            let socket = try ProcessLaunch.serialized { try TapHandoff.connect(to: handoff).get() }
            defer { ProcessLaunch.serialized { _ = close(socket) } }
            if let descriptor {
                #expect(TapHandoff.send(text, descriptor: descriptor, on: socket) == nil)
            } else {
                #expect(TapHandoff.send(text, on: socket) == nil)
            }
            TapHandoff.setReceiveTimeout(socket, milliseconds: 5000)
            let reply = try TapHandoff.receive(on: socket).get()
            #expect(reply.descriptor == nil)
            // Closed after the ERROR: the next receive sees the end.
            let end = try TapHandoff.receive(on: socket).get()
            #expect(end.text.isEmpty, "the fabric closes after ERROR")
            return reply.text
        }

        let noDescriptor = try exchange(TapHandoff.attachMessage(name: "x", mac: mac, virtio: false), descriptor: nil)
        #expect(noDescriptor.hasPrefix("ERROR no descriptor came with the message"), "\(noDescriptor)")
        var pipeEnds: [Int32] = [0, 0]
        #expect(ProcessLaunch.serialized { pipe(&pipeEnds) } == 0)
        defer { ProcessLaunch.serialized { close(pipeEnds[0]); close(pipeEnds[1]) } }
        let notATap = try exchange(TapHandoff.attachMessage(name: "x", mac: mac, virtio: false), descriptor: pipeEnds[0])
        #expect(notATap.hasPrefix("ERROR the descriptor is not a TAP device"), "\(notATap)")
        let garbage = try exchange("HELLO there", descriptor: pipeEnds[0])
        #expect(garbage.hasPrefix("ERROR want ATTACH MAC FEATURES NAME"), "\(garbage)")

        let stats = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await stats.waitForExit() == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("\"endpoints\":0") || stats.stdout.contains("\"endpoints\" : 0"), "\(stats.stdout)")
        #expect(stats.stdout.contains("tap_writes_refused"), "\(stats.stdout)")
    }

    /// A fabric that goes away (killed) leaves no device: switchyard-tap sees the socket end,
    /// says so, exits 2 and the device goes with its descriptor.
    @Test(.requires(.namespaces))
    func aFabricThatGoesAwayLeavesNoDeviceBehind() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        let namespace = try await NetworkNamespace()
        let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--unix", path, "--name", "gone", "--netns", namespace.name, "--address", "10.0.0.60/24"])
        defer { tap.signal(SIGKILL) }
        _ = try await tap.waitForLine(startingWith: "[tap] mode: descriptor ")
        _ = try await tap.waitForLine(startingWith: "[tap] ready")
        #expect(try await namespace.run(["ip", "-o", "link"]).stdout.contains("tap"))
        fabric.signal(SIGKILL)
        _ = try await fabric.waitForExit()
        #expect(try await tap.waitForExit() == 2)
        #expect(tap.stderr.hasPrefix("switchyard-tap: "), "\(tap.stderr)")
        #expect(tap.stderr.contains("the fabric went away"), "\(tap.stderr)")
        let links = try await namespace.run(["ip", "-o", "link"])
        #expect(!links.stdout.contains("tap"), "no device left: \(links.stdout)")
    }

    /// The device is the fabric's endpoint while it is attached, and gone from the fabric and
    /// from the kernel once switchyard-tap stops (SIGTERM: it asks the fabric to let go first).
    @Test(.requires(.namespaces))
    func aStoppedToolDetachesTheDeviceFromTheFabricAndRemovesIt() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        let namespace = try await NetworkNamespace()
        let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--unix", path, "--name", "ns9", "--netns", namespace.name])
        defer { tap.signal(SIGKILL) }
        let ready = try await tap.waitForLine(startingWith: "[tap] ready")
        #expect(ready.contains(" ns9 mac "), "\(ready)")
        let attached = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await attached.waitForExit() == 0)
        #expect(attached.stdout.contains("\"endpoints\":1") || attached.stdout.contains("\"endpoints\" : 1"), "\(attached.stdout)")
        tap.signal(SIGTERM)
        #expect(try await tap.waitForExit() == 0, "\(tap.stderr)")
        let links = try await namespace.run(["ip", "-o", "link"])
        #expect(!links.stdout.contains("tap"), "the device is removed: \(links.stdout)")
        let detached = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await detached.waitForExit() == 0)
        #expect(detached.stdout.contains("\"endpoints\":0") || detached.stdout.contains("\"endpoints\" : 0"), "\(detached.stdout)")
    }
}

extension TapHandoffTests {
    /// A device that refuses what the fabric writes to it (its link taken down in its
    /// namespace: the kernel answers EIO) costs only itself: its frames are dropped and counted,
    /// the other namespaces go on talking through the fabric, and it works again once up.
    @Test(.requires(.all(.namespaces, .tool("ping", package: "iputils-ping"))))
    func aDeviceThatRefusesFramesCostsOnlyItself() async throws {
        let (fabric, path) = try await Self.fabric()
        defer { fabric.signal(SIGKILL) }
        var namespaces: [NetworkNamespace] = []
        var taps: [ChildProcess] = []
        defer { taps.forEach { $0.signal(SIGKILL) } }
        for host in 71...73 {
            let namespace = try await NetworkNamespace()
            namespaces.append(namespace)
            let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--unix", path, "--name", "ns\(host)", "--netns", namespace.name, "--address", "10.0.0.\(host)/24"])
            taps.append(tap)
            _ = try await tap.waitForLine(startingWith: "[tap] ready")
        }
        let refusing = namespaces[1]
        // `ip -o link`: "N: NAME: <FLAGS> ...", one line per device; the one that is not lo.
        let links = try await refusing.run(["ip", "-o", "link"]).stdout
        let names: [String] = links.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":")
            return fields.count > 1 ? fields[1].trimmingCharacters(in: .whitespaces) : nil
        }
        let device = try #require(names.first { $0 != "lo" }, "\(links)")
        #expect(try await refusing.run(["ip", "link", "set", device, "down"]).status == 0)

        // ARP for the refusing device's address floods to it (refused) and to the third.
        #expect(try await namespaces[0].run(["ping", "-c", "1", "-W", "1", "10.0.0.72"]).status != 0)
        let answered = try await namespaces[0].run(["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.0.0.73"])
        #expect(answered.status == 0, "the others go on: \(answered.stdout)")
        let stats = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await stats.waitForExit() == 0)
        let counters = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any]
        #expect((counters?["tap_writes_refused"] as? Int ?? 0) >= 1, "\(stats.stdout)")
        #expect(fabric.stderr.contains("a TAP device refused a frame (Input/output error)"), "\(fabric.stderr)")

        #expect(try await refusing.run(["ip", "link", "set", device, "up"]).status == 0)
        // Its routes come back with the link and the sender's failed ARP entry is retried.
        try await eventually("up again, it is reached again", within: .seconds(15), every: .milliseconds(200)) {
            try await namespaces[0].run(["ping", "-c", "1", "-W", "1", "10.0.0.72"]).status == 0
        }
    }

    /// A kernel that offloads (virtio-net headers, TSO) hands the fabric 64 KiB TCP segments;
    /// towards a device that takes no offloads the fabric cuts them into wire-size segments
    /// with their checksums (the receiving kernel drops a segment whose checksum is wrong, so
    /// the transfer would stall), and the other way plain frames reach the offloading device.
    /// The capture holds the large segments as they were switched (as tcpdump on an
    /// offloading host shows them).
    @Test(.requires(.all(.namespaces, .tshark)))
    func largeSegmentsFromAnOffloadingDeviceReachOneThatTakesNoneCutToWireSize() async throws {
        let capture = try temporaryPath("offload.pcapng")
        let path = try temporaryPath("fabric.sock")
        let fabric = try ChildProcess(Tools.executable("switchyardd"), ["--unix", path, "--capture", capture, "--capture-format", "pcapng"])
        defer { fabric.signal(SIGKILL) }
        _ = try await fabric.waitForLine(startingWith: "[fabric] listening on unix:")
        let offloading = try await NetworkNamespace()
        let plain = try await NetworkNamespace()
        var taps: [ChildProcess] = []
        defer { taps.forEach { $0.signal(SIGKILL) } }
        for (namespace, address, offloads) in [(offloading, "10.0.0.61/24", "on"), (plain, "10.0.0.62/24", "off")] {
            let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--unix", path, "--name", namespace.name, "--netns", namespace.name, "--address", address, "--offloads", offloads])
            taps.append(tap)
            _ = try await tap.waitForLine(startingWith: "[tap] ready")
        }
        let size = 20 * 1024 * 1024
        // A receiver in each namespace prints the SHA-256 of what it got; the sender sends
        // `size` bytes of a fixed pattern.
        let receive = """
            import hashlib, socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", 5001)); s.listen(1); s.settimeout(30)
            c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
            while True:
                b = c.recv(1 << 20)
                if not b: break
                h.update(b); n += len(b)
            print(n, h.hexdigest())
            """
        let send = """
            import hashlib, socket, sys, time
            data = bytes(i * 31 % 251 for i in range(1 << 20)) * \(size >> 20)
            for _ in range(50):
                try:
                    c = socket.create_connection((sys.argv[1], 5001), timeout=30); break
                except OSError:
                    time.sleep(0.1)
            c.sendall(data); c.close()
            print(len(data), hashlib.sha256(data).hexdigest())
            """
        for (from, to, address) in [(offloading, plain, "10.0.0.62"), (plain, offloading, "10.0.0.61")] {
            let receiver = try ChildProcess(URL(fileURLWithPath: Tools.which("ip")!), ["netns", "exec", to.name, "python3", "-c", receive])
            defer { receiver.signal(SIGKILL) }
            let sent = try await from.run(["python3", "-c", send, address])
            #expect(sent.status == 0, "\(sent.stderr)")
            #expect(try await receiver.waitForExit(timeout: .seconds(60)) == 0, "\(receiver.stderr)")
            #expect(receiver.stdout == sent.stdout, "every byte arrived, in order: \(receiver.stdout) vs \(sent.stdout)")
        }
        let stats = try ChildProcess(Tools.executable("switchyard-stats"), ["--unix", path, "--json"])
        #expect(try await stats.waitForExit() == 0)
        #expect(stats.stdout.contains("\"offloads_unresolved\":0") || stats.stdout.contains("\"offloads_unresolved\" : 0"), "\(stats.stdout)")
        for tap in taps {
            tap.signal(SIGTERM)
            #expect(try await tap.waitForExit() == 0, "\(tap.stderr)")
        }
        fabric.signal(SIGTERM)
        #expect(try await fabric.waitForExit() == 0)
        let large = try await runCommand("tshark", ["-r", capture, "-Y", "frame.len > 1514 && tcp.srcport != 5001", "-T", "fields", "-e", "frame.len"])
        #expect(large.status == 0, "\(large.stderr)")
        #expect(!large.stdout.isEmpty, "the capture holds the large segments as switched")
    }
}
