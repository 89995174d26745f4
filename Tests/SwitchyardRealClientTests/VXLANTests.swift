import Foundation
import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `switchyardd --vxlan`: fabrics joined into one segment over VXLAN (RFC 7348), and the Linux
/// kernel's own VXLAN device as a member.
@Suite(.timeLimit(.minutes(5))) struct VXLANTests {
    /// A UDP port free on loopback now, below both the kernel's ephemeral ports (32768–60999)
    /// and the range a fabric binds its VXLAN senders in (49152–65535): a port the kernel picks
    /// could be taken by another fabric's sender before this test's fabric binds it.
    static func freeUDPPort() -> Int {
        while true {
            let port = Int.random(in: 20_000..<32_768)
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if bound {
                return port
            }
        }
    }

    /// Two fabrics on loopback, each the other's remote; B allocates MACs from its own range.
    static func twoFabrics(captureOnA: String? = nil, extra: [String] = [], ownMACRange: Bool = true) async throws -> (FabricProcess, FabricProcess) {
        let (portA, portB) = (Self.freeUDPPort(), Self.freeUDPPort())
        let a = try await FabricProcess.ours(["--vxlan", "b=127.0.0.1:\(portB)", "--vxlan-listen", "127.0.0.1:\(portA)"] + (captureOnA.map { ["--capture", $0] } ?? []) + extra)
        let b = try await FabricProcess.ours(
            ["--vxlan", "a=127.0.0.1:\(portA)", "--vxlan-listen", "127.0.0.1:\(portB)"] + (ownMACRange ? ["--mac-start", "02:53:59:00:10:01"] : []) + extra
        )
        return (a, b)
    }

    /// Inner frames past 2 KiB, up to what one datagram holds, arrive whole: they were once
    /// cut to 2,040 bytes (the receive buffer split 32 ways) and the cut frame switched.
    @Test func jumboFramesFromARemoteArriveWhole() async throws {
        let remote = try UDPPeer()
        let listen = Self.freeUDPPort()
        let fabric = try await FabricProcess.ours(["--vxlan", "r=127.0.0.1:\(remote.port)", "--vxlan-listen", "127.0.0.1:\(listen)"])
        defer { fabric.process.signal(SIGKILL) }
        let (local, _) = try await Fixtures.endpoint("local", port: fabric.port, subscribe: true)
        let header: [UInt8] = [0x08, 0, 0, 0, 0, 0, 42, 0]
        for size in [1600, 2048, 2100, 9000, 65_000] {
            let inner = MACAddress.broadcast.bytes + [0x02, 0xAA, 0, 0, 0, 1] + [0x88, 0xB5] + (0..<(size - 14)).map { UInt8(truncatingIfNeeded: $0) }
            try remote.send(header + inner, to: listen)
            let received = try await local.nextFrame(timeout: .seconds(5))
            #expect(received?.bytes.count == size, "a \(size)-byte frame arrives as \(received?.bytes.count ?? 0) bytes")
            #expect(received?.bytes == inner)
        }
        #expect(try await local.statistics().vxlanDatagramsRefused == 0)
        await local.close()
    }

    @Test func jumboFramesCrossTwoFabrics() async throws {
        let (a, b) = try await Self.twoFabrics(extra: ["--vxlan-mtu", "9100"])
        defer { a.process.signal(SIGKILL) }
        defer { b.process.signal(SIGKILL) }
        let (sender, s) = try await Fixtures.endpoint("s", port: a.port)
        let (far, _) = try await Fixtures.endpoint("far", port: b.port, subscribe: true)
        let jumbo = MACAddress.broadcast.bytes + MACAddress(s.mac)!.bytes + [0x88, 0xB5] + [UInt8](repeating: 0x6A, count: 9000 - 14)
        try sender.send(frame: jumbo, from: s.endpointID)
        #expect(try await far.nextFrame(timeout: .seconds(5))?.bytes == jumbo)
        await sender.close()
        await far.close()
    }

    /// Two fabrics that allocate from one MAC range: the remote's frames carry a local
    /// endpoint's MAC. Counted, logged once with what to do, never silent.
    @Test func aMACFromTheSameRangeIsAConflictThatIsLoggedOnce() async throws {
        let (a, b) = try await Self.twoFabrics(ownMACRange: false)
        defer { a.process.signal(SIGKILL) }
        defer { b.process.signal(SIGKILL) }
        let (nearClient, near) = try await Fixtures.endpoint("near", port: a.port)
        let (farClient, far) = try await Fixtures.endpoint("far", port: b.port, subscribe: true)
        #expect(near.mac == far.mac, "both fabrics gave out their first MAC")
        let flood = MACAddress.broadcast.bytes + MACAddress(near.mac)!.bytes + [0x88, 0xB5, 1, 2, 3, 4]
        try nearClient.send(frames: [flood, flood], from: near.endpointID)
        _ = try await farClient.nextFrame(timeout: .seconds(5))
        try await eventually("two conflicts counted on b") { try await farClient.statistics().macConflicts == 2 }
        await nearClient.close()
        await farClient.close()
        b.process.signal(SIGTERM)
        _ = try await b.process.waitForExit()
        #expect(b.process.stderr.components(separatedBy: "--mac-start").count == 2, "logged once, with the remedy: \(b.process.stderr)")
        #expect(b.process.stderr.contains("the MAC of local endpoint far"), "\(b.process.stderr)")
    }

    @Test func aPingOnOneFabricReachesTheEchoServiceOnTheOther() async throws {
        let capture = try temporaryPath("a.pcap")
        let (a, b) = try await Self.twoFabrics(captureOnA: capture)
        defer { a.process.signal(SIGKILL) }
        defer { b.process.signal(SIGKILL) }
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(b.port)"])
        defer { echo.signal(SIGKILL) }
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(a.port)", "--resolve", "arp", "--count", "3"])
        #expect(try await ping.waitForExit() == 0, "\(ping.stdout) \(ping.stderr)")
        #expect(ping.stdout.contains("3 packets transmitted, 3 received"))
        let arp = try ChildProcess(Tools.executable("switchyard-arp"), ["who-has", "--port", "\(a.port)", "10.0.0.2"])
        #expect(try await arp.waitForExit() == 0)
        #expect(arp.stdout.hasPrefix("10.0.0.2 is-at 02:53:59:00:10:02 "), "\(arp.stdout)")
        // The remote is an endpoint like any other: looked up, captured at ingress, in the manifest.
        let client = try await FabricClient.connect(port: a.port, clientName: "look")
        #expect(try await client.lookUp(name: "b").name == "b")
        await client.close()
        a.process.signal(SIGTERM)
        #expect(try await a.process.waitForExit() == 0)
        let lines = try PcapReader(path: capture).readAll().map { FrameSummary.describe($0.bytes) }
        #expect(lines.contains { $0.hasPrefix("02:53:59:00:10:02 > ") && $0.contains("10.0.0.2.7007 > 10.0.0.1.12345") }, "the echoes came in over the tunnel: \(lines)")
        let manifest = try RecordingManifest.load(path: RecordingManifest.path(forCapture: capture))
        #expect(manifest.endpoints.map(\.name).contains("b"))
    }

    @Test func aFloodReachesBothSidesOnce() async throws {
        let (a, b) = try await Self.twoFabrics()
        defer { a.process.signal(SIGKILL) }
        defer { b.process.signal(SIGKILL) }
        let (sender, s) = try await Fixtures.endpoint("s", port: a.port)
        let (nearClient, _) = try await Fixtures.endpoint("near", port: a.port, subscribe: true)
        let (farClient, _) = try await Fixtures.endpoint("far", port: b.port, subscribe: true)
        let flood = MACAddress.broadcast.bytes + MACAddress(s.mac)!.bytes + [0x88, 0xB5, 1, 2, 3, 4]
        try sender.send(frame: flood, from: s.endpointID)
        #expect(try await nearClient.nextFrame(timeout: .seconds(5))?.bytes == flood)
        #expect(try await farClient.nextFrame(timeout: .seconds(5))?.bytes == flood)
        #expect(try await nearClient.nextFrame(timeout: .milliseconds(300)) == nil, "once")
        #expect(try await farClient.nextFrame(timeout: .milliseconds(300)) == nil, "once: no loop back over the tunnel")
        for client in [sender, nearClient, farClient] {
            await client.close()
        }
    }

    /// A frame from one remote is not relayed to another (split horizon); bad datagrams are
    /// counted, never switched.
    @Test func splitHorizonAndBadDatagrams() async throws {
        let (r1, r2) = (try UDPPeer(), try UDPPeer())
        let listen = Self.freeUDPPort()
        let fabric = try await FabricProcess.ours(["--vxlan", "r1=127.0.0.1:\(r1.port)", "--vxlan", "r2=127.0.0.1:\(r2.port)", "--vxlan-listen", "127.0.0.1:\(listen)"])
        defer { fabric.process.signal(SIGKILL) }
        let (local, _) = try await Fixtures.endpoint("local", port: fabric.port, subscribe: true)
        let inner = MACAddress.broadcast.bytes + [0x02, 0xAA, 0, 0, 0, 1] + [0x88, 0xB5] + [UInt8](repeating: 9, count: 46)
        let header: [UInt8] = [0x08, 0, 0, 0, 0, 0, 42, 0]
        try r1.send(header + inner, to: listen)
        #expect(try await local.nextFrame(timeout: .seconds(5))?.bytes == inner, "switched to the local endpoint")
        #expect(try await r2.receive(timeoutMilliseconds: 300) == nil, "not relayed from one remote to another")

        try r1.send([0x08, 0, 0, 0, 0, 0, 7, 0] + inner, to: listen)   // another VNI
        try r1.send([0x00, 0, 0, 0, 0, 0, 42, 0] + inner, to: listen)  // I flag clear
        try r1.send([0x08, 0, 0], to: listen)                           // too short
        // Not a configured remote (remotes are known by address: a kernel sends from a port
        // hashed per flow, so another port of a remote's address is that remote).
        let stranger = try UDPPeer(host: "127.0.0.2")
        try stranger.send(header + inner, to: listen)
        try await eventually("four refused datagrams in STATS", within: .seconds(15)) { try await local.statistics().vxlanDatagramsRefused ?? 0 >= 4 }
        #expect(try await local.statistics().vxlanDatagramsRefused == 4)
        #expect(try await local.nextFrame(timeout: .milliseconds(200)) == nil, "none of them switched")

        // A local frame is encapsulated to every remote: I flag, VNI 42.
        let (sender, s) = try await Fixtures.endpoint("s", port: fabric.port)
        let out = MACAddress.broadcast.bytes + MACAddress(s.mac)!.bytes + [0x88, 0xB5] + [UInt8](repeating: 5, count: 46)
        try sender.send(frame: out, from: s.endpointID)
        for peer in [r1, r2] {
            let (datagram, sourcePort) = try #require(try await peer.receiveWithSource(timeoutMilliseconds: 5000))
            #expect(Array(datagram.prefix(8)) == header)
            #expect(Array(datagram.dropFirst(8)) == out)
            #expect((49152...65535).contains(sourcePort), "a source port from the hash range: \(sourcePort)")
        }
        await sender.close()
        await local.close()
    }

    /// A frame whose encapsulation passes --vxlan-mtu is dropped, counted and logged once.
    @Test func framesOverTheMTUAreDroppedAndCounted() async throws {
        let remote = try UDPPeer()
        let listen = Self.freeUDPPort()
        let fabric = try await FabricProcess.ours(["--vxlan", "r=127.0.0.1:\(remote.port)", "--vxlan-listen", "127.0.0.1:\(listen)", "--vxlan-mtu", "136"])
        defer { fabric.process.signal(SIGKILL) }
        let (sender, s) = try await Fixtures.endpoint("s", port: fabric.port)
        let frame = { (size: Int) in MACAddress.broadcast.bytes + MACAddress(s.mac)!.bytes + [0x88, 0xB5] + [UInt8](repeating: 1, count: size - 14) }
        try sender.send(frames: [frame(101), frame(100), frame(101)], from: s.endpointID)
        #expect(try await remote.receive(timeoutMilliseconds: 5000)?.count == 8 + 100, "100 + 36 = 136 fits")
        #expect(try await remote.receive(timeoutMilliseconds: 300) == nil)
        #expect(try await sender.statistics().vxlanFramesTooBig == 2)
        await sender.close()
        fabric.process.signal(SIGTERM)
        _ = try await fabric.process.waitForExit()
        #expect(fabric.process.stderr.components(separatedBy: "over --vxlan-mtu").count == 2, "logged once: \(fabric.process.stderr)")
    }

    /// The Linux kernel as a member: a namespace with a VXLAN device (over a veth pair to the
    /// namespace the fabric runs in) reaches the echo service and learns its MAC behind the tunnel.
    @Test(.requires(.namespaces))
    func theKernelsVXLANDeviceIsAMember() async throws {
        let kernel = try await NetworkNamespace()
        let fabricSide = try await NetworkNamespace()
        let suffix = String(kernel.name.suffix(6))
        let (vethK, vethF) = ("svk\(suffix)", "svf\(suffix)")
        for command in [
            ["link", "add", vethK, "type", "veth", "peer", "name", vethF],
            ["link", "set", vethK, "netns", kernel.name],
            ["link", "set", vethF, "netns", fabricSide.name],
            ["-n", kernel.name, "addr", "add", "192.168.77.1/24", "dev", vethK],
            ["-n", kernel.name, "link", "set", vethK, "mtu", "9100", "up"],
            ["-n", fabricSide.name, "addr", "add", "192.168.77.2/24", "dev", vethF],
            ["-n", fabricSide.name, "link", "set", vethF, "mtu", "9100", "up"],
            ["-n", fabricSide.name, "link", "set", "lo", "up"],
            ["-n", kernel.name, "link", "add", "vx0", "type", "vxlan", "id", "42", "remote", "192.168.77.2", "dstport", "4789", "dev", vethK],
            ["-n", kernel.name, "addr", "add", "10.0.0.50/24", "dev", "vx0"],
            ["-n", kernel.name, "link", "set", "vx0", "mtu", "9000", "up"],
        ] {
            let result = try await runCommand("ip", command)
            #expect(result.status == 0, "ip \(command.joined(separator: " ")): \(result.stderr)")
        }
        let ip = Tools.which("ip")!
        let fabricProcess = try ChildProcess(URL(fileURLWithPath: ip), [
            "netns", "exec", fabricSide.name, Tools.executable("switchyardd").path, "--port", "0",
            "--allow-remote", "--vxlan", "kernel=192.168.77.1", "--vxlan-listen", "192.168.77.2:4789", "--vxlan-mtu", "9100",
        ])
        defer { fabricProcess.signal(SIGKILL) }
        let fabric = try await FabricProcess.attach(fabricProcess)
        let echo = try ChildProcess(URL(fileURLWithPath: ip), ["netns", "exec", fabricSide.name, Tools.executable("switchyard-echo").path, "--port", "\(fabric.port)"])
        defer { echo.signal(SIGKILL) }
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let echoed = try await kernel.run(["nc", "-u", "-w", "1", "10.0.0.2", "7007"], input: "over the tunnel")
        #expect(echoed.stdout == "over the tunnel\n", "\(echoed)")
        // A jumbo datagram both ways through the kernel's VXLAN device at MTU 9000.
        let jumbo = String(repeating: "j", count: 8000)
        let echoedJumbo = try await kernel.run(["nc", "-u", "-w", "1", "10.0.0.2", "7007"], input: jumbo)
        #expect(echoedJumbo.stdout == jumbo + "\n", "\(echoedJumbo.stdout.count) bytes back")
        let fdb = try await kernel.run(["bridge", "fdb", "show", "dev", "vx0"])
        #expect(fdb.stdout.contains("02:53:59:00:00:02 dst 192.168.77.2"), "the kernel learned the echo's MAC behind the tunnel: \(fdb.stdout)")
    }
}

/// A UDP socket on loopback standing for a VXLAN remote. Its receives poll with a timeout, on
/// a thread of their own (never the concurrency pool's).
final class UDPPeer: @unchecked Sendable {
    let descriptor: Int32
    let port: Int

    /// Bound to `host`, a loopback address (127.0.0.2 stands for another machine).
    init(host: String = "127.0.0.1") throws {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else {
            close(descriptor)
            throw TestFailure("cannot bind a UDP socket")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit {
        close(self.descriptor)
    }

    func send(_ bytes: [UInt8], to port: Int) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { sendto(self.descriptor, $0.baseAddress, $0.count, 0, target, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard sent == bytes.count else { throw TestFailure("sendto failed") }
    }

    /// A datagram and the port it came from.
    func receiveWithSource(timeoutMilliseconds: Int32) async throws -> ([UInt8], Int)? {
        try await onOwnThread { self.blockingReceiveWithSource(timeoutMilliseconds: timeoutMilliseconds) }
    }

    func receive(timeoutMilliseconds: Int32) async throws -> [UInt8]? {
        try await onOwnThread { self.blockingReceiveWithSource(timeoutMilliseconds: timeoutMilliseconds)?.0 }
    }

    private func blockingReceiveWithSource(timeoutMilliseconds: Int32) -> ([UInt8], Int)? {
        var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var source = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &source) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                buffer.withUnsafeMutableBytes { recvfrom(self.descriptor, $0.baseAddress, $0.count, 0, address, &length) }
            }
        }
        return count > 0 ? (Array(buffer.prefix(count)), Int(UInt16(bigEndian: source.sin_port))) : nil
    }

}
