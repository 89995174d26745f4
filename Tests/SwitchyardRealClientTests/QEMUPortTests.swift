import Foundation
import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardTestSupport
import Testing

/// `switchyardd --qemu`: VMs' NICs as fabric endpoints. First with a client that speaks QEMU's
/// framing (no QEMU needed), then with unmodified QEMU VMs booting their NIC's iPXE ROM.
@Suite(.timeLimit(.minutes(5))) struct QEMUPortTests {
    static let vmMAC = MACAddress("52:54:00:12:34:56")!

    static func arpRequest(from mac: MACAddress, ip: IPv4Address, asking target: IPv4Address) -> [UInt8] {
        ARPPacket.requestFrame(from: mac, ip: ip, asking: target).bytes
    }

    /// A frame one UDP datagram cannot carry (over 65,507 bytes), switched to a VM's datagram
    /// port, is dropped and counted for that VM, and the port keeps delivering: it once failed
    /// the channel's write and stopped the port for good.
    @Test func aFrameTooBigForADatagramIsDroppedAndThePortGoesOn() async throws {
        let vm = try UDPPeer()
        let number = VXLANTests.freeUDPPort()
        let fabric = try await FabricProcess.ours(["--qemu", "vm=udp:127.0.0.1:\(number)"])
        defer { fabric.process.signal(SIGKILL) }
        let vmMAC = MACAddress("52:54:00:00:00:33")!
        try vm.send(Self.arpRequest(from: vmMAC, ip: IPv4Address(10, 0, 0, 60), asking: IPv4Address(10, 0, 0, 99)), to: number)
        let (client, me) = try await Fixtures.endpoint("sender", port: fabric.port)
        _ = try await client.lookUp(name: "vm", retryingFor: .seconds(10), every: .milliseconds(20), clock: ContinuousClock())
        let frame = { (size: Int) in vmMAC.bytes + MACAddress(me.mac)!.bytes + [0x88, 0xB5] + [UInt8](repeating: 0x3C, count: size - 14) }
        try client.send(frames: [frame(65_549), frame(65_537), frame(65_508), frame(100)], from: me.endpointID)
        #expect(try await vm.receive(timeoutMilliseconds: 5000)?.count == 100, "the small frame after the big ones")
        let stats = try await client.statistics()
        #expect(stats.connections.compactMap(\.tooBig) == [3], "\(stats.connections)")
        #expect(!stats.connections.contains { $0.stalled })
        try client.send(frame: frame(1500), from: me.endpointID)
        #expect(try await vm.receive(timeoutMilliseconds: 5000)?.count == 1500, "and the port goes on")
        await client.close()
        fabric.process.signal(SIGTERM)
        _ = try await fabric.process.waitForExit()
        #expect(fabric.process.stderr.components(separatedBy: "over this connection's limit").count == 2, "logged once: \(fabric.process.stderr)")
    }

    @Test func aVMIsAnEndpointNamedByItsPortWithItsOwnMAC() async throws {
        let directory = try Tools.temporaryDirectory()
        let socket = directory.appendingPathComponent("vm.sock").path
        let fabric = try await FabricProcess.ours(["--qemu", "vm=unix:\(socket)"])
        defer { fabric.process.signal(SIGKILL) }
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        defer { echo.signal(SIGKILL) }
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let client = try await FabricClient.connect(port: fabric.port, clientName: "look")
        await #expect(throws: FabricClientError.self, "no endpoint before the VM's first frame") { try await client.lookUp(name: "vm") }

        let vm = try StreamSocket(unixPath: socket)
        try vm.sendQEMUFrame(Self.arpRequest(from: Self.vmMAC, ip: IPv4Address(10, 0, 0, 50), asking: IPv4Address(10, 0, 0, 2)))
        let reply = try #require(try await vm.receiveQEMUFrame(), "the echo service's ARP reply, in QEMU's framing")
        #expect(Array(reply.prefix(6)) == Self.vmMAC.bytes)
        #expect(try await client.lookUp(name: "vm").mac == "52:54:00:12:34:56")

        // A second VM on the same port is vm-2; garbage lengths are skipped, counted, logged once.
        let second = try StreamSocket(unixPath: socket)
        try second.sendQEMUFrame(Self.arpRequest(from: MACAddress("52:54:00:00:00:02")!, ip: IPv4Address(10, 0, 0, 51), asking: IPv4Address(10, 0, 0, 2)))
        #expect(try await second.receiveQEMUFrame() != nil)
        #expect(try await client.lookUp(name: "vm-2").mac == "52:54:00:00:00:02")
        try second.send([0, 0, 0, 0])
        try second.sendQEMUFrame([1, 2, 3])
        try await eventually("two refused frames in STATS") { try await client.statistics().qemuFramesRefused ?? 0 >= 2 }
        #expect(try await client.statistics().qemuFramesRefused == 2, "counted in STATS")

        // The first VM goes; QEMU restarted on the socket joins under the same name.
        _ = consume vm
        let again = try StreamSocket(unixPath: socket)
        try again.sendQEMUFrame(Self.arpRequest(from: Self.vmMAC, ip: IPv4Address(10, 0, 0, 50), asking: IPv4Address(10, 0, 0, 2)))
        #expect(try await again.receiveQEMUFrame() != nil)
        #expect(try await client.lookUp(name: "vm").mac == "52:54:00:12:34:56")
        #expect(try await client.lookUp(name: "vm-2").mac == "52:54:00:00:00:02", "the other VM is still there")
        await client.close()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        #expect(fabric.process.stderr.components(separatedBy: "does not switch").count == 2, "logged once: \(fabric.process.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket file is removed at exit")
    }

    @Test(arguments: ["vm=tcp:1.2.3.4:5555", "vm=udp:nowhere", "vm", "=unix:/x"])
    func badPortsAreUsageErrors(spec: String) async throws {
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--port", "0", "--qemu", spec])
        #expect(try await process.waitForExit() == 64)
        #expect(process.stderr.contains("--qemu"), "\(process.stderr)")
    }

    // MARK: - Unmodified QEMU

    enum Link: String, CaseIterable, Sendable {
        case unixStream, tcpStream, datagram
    }

    /// QEMU with no disk: its NIC's iPXE ROM broadcasts a DHCP DISCOVER; the capture holds it
    /// with the VM's MAC, and the manifest names the port.
    @Test(.requires(.qemu),
          arguments: [("e1000", Link.unixStream), ("virtio-net-pci", Link.tcpStream), ("e1000", Link.datagram)])
    func anUnmodifiedVMsDHCPDiscoverIsCaptured(nic: String, link: Link) async throws {
        let directory = try Tools.temporaryDirectory()
        let capture = directory.appendingPathComponent("vm.pcap").path
        let socket = directory.appendingPathComponent("vm.sock").path
        let port = Int.random(in: 20_000...40_000)
        let spec: String
        let netdev: String
        switch link {
        case .unixStream:
            spec = "vm=unix:\(socket)"
            netdev = "stream,id=n0,server=off,addr.type=unix,addr.path=\(socket)"
        case .tcpStream:
            spec = "vm=tcp:127.0.0.1:\(port)"
            netdev = "stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=\(port)"
        case .datagram:
            spec = "vm=udp:127.0.0.1:\(port)"
            netdev = "dgram,id=n0,remote.type=inet,remote.host=127.0.0.1,remote.port=\(port),local.type=inet,local.host=127.0.0.1,local.port=\(port + 1)"
        }
        let fabric = try await FabricProcess.ours(["--qemu", spec, "--capture", capture])
        defer { fabric.process.signal(SIGKILL) }
        let vm = try ChildProcess(URL(fileURLWithPath: Tools.which("qemu-system-x86_64")!), [
            "-machine", "pc", "-accel", "tcg", "-m", "128", "-display", "none", "-serial", "null", "-monitor", "none",
            "-no-reboot", "-boot", "n", "-netdev", netdev, "-device", "\(nic),netdev=n0,mac=\(Self.vmMAC)",
        ])
        defer { vm.signal(SIGKILL) }
        // iPXE boots in a few seconds under TCG, then asks for an address.
        let watcher = try await FabricClient.connect(port: fabric.port, clientName: "watch")
        try await eventually("the VM's first frame", within: .seconds(90), every: .milliseconds(200)) {
            try await watcher.statistics().framesSwitched >= 1 || !vm.isRunning
        }
        #expect(try await watcher.lookUp(name: "vm").mac == Self.vmMAC.description)
        await watcher.close()
        vm.signal(SIGKILL)
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        let lines = try PcapReader(path: capture).readAll().map { FrameSummary.describe($0.bytes) }
        #expect(lines.contains { $0.hasPrefix("52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff") && $0.contains("DHCP Discover") }, "\(lines) \(vm.stderr)")
        let manifest = try RecordingManifest.load(path: RecordingManifest.path(forCapture: capture))
        #expect(manifest.endpoints.map(\.name) == ["vm"] && manifest.endpoints.first?.mac == Self.vmMAC.description)
    }
}
