import Foundation
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What several suites set up the same way: clients with an endpoint, numbered frames, the
/// golden recordings, services started and replays run as processes.
public enum Fixtures {
    // MARK: - Recordings

    public static let echoSession = Tools.packageRoot.appendingPathComponent("captures/echo-session.pcap").path
    public static let ntpSession = Tools.packageRoot.appendingPathComponent("captures/ntp-session.pcap").path
    public static let namespaceSession = Tools.packageRoot.appendingPathComponent("captures/ns-session.pcap").path
    /// The fixed clock the golden recordings were made with.
    public static let fixedClock = "fixed:2026-01-01T00:00:00Z"

    // MARK: - Clients and frames

    /// Connects a client with one endpoint (and optionally a reading subscription).
    public static func endpoint(_ name: String, port: Int, subscribe: Bool = false) async throws -> (FabricClient, EndpointRecord) {
        let client = try await FabricClient.connect(port: port, clientName: name)
        let record = try await client.createEndpoint(name: name)
        if subscribe {
            try await client.subscribe(endpointID: record.endpointID)
        }
        return (client, record)
    }

    /// Sends `count` numbered frames in bursts of 1000.
    public static func sendNumbered(_ count: Int, from client: FabricClient, _ source: EndpointRecord, to destination: EndpointRecord, size: Int) throws {
        for start in stride(from: 0, to: count, by: 1000) {
            let frames = (start..<min(count, start + 1000)).map { Self.frame(from: source, to: destination, index: $0, size: size) }
            try client.send(frames: frames, from: source.endpointID)
        }
    }

    /// A frame of an unassigned EtherType carrying its index in its first four payload bytes.
    public static func frame(from source: EndpointRecord, to destination: EndpointRecord, index: Int, size: Int = 64) -> [UInt8] {
        var bytes = MACAddress(destination.mac)!.bytes + MACAddress(source.mac)!.bytes + [0x88, 0xB5]
        bytes += [UInt8(index >> 24 & 0xFF), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
        bytes += [UInt8](repeating: 0x5A, count: max(0, size - bytes.count))
        return bytes
    }

    /// The fabric's STATS once its capture has accounted for `count` frames (written, dropped
    /// or not written); fails after 30 s.
    public static func waitForCapture(_ client: FabricClient, written count: UInt64) async throws -> StatsReply {
        try await eventually("the capture to account for \(count) frames", within: .seconds(30), every: .milliseconds(20)) {
            let stats = try await client.statistics()
            let capture = stats.capture
            let accounted = (capture?.framesWritten ?? 0) + (capture?.framesDropped ?? 0) + (capture?.framesNotWritten ?? 0)
            return accounted >= count ? stats : nil
        }
    }

    /// Sends `count` broadcast frames from a fresh endpoint.
    public static func sendFrames(_ count: Int, port: Int) async throws {
        let (client, a) = try await Self.endpoint("sender-\(UUID().uuidString.prefix(8))", port: port)
        let frame = MACAddress.broadcast.bytes + MACAddress(a.mac)!.bytes + [0x88, 0xB5, 1, 2, 3, 4]
        try client.send(frames: [[UInt8]](repeating: frame, count: count), from: a.endpointID)
        _ = try await client.statistics()
        await client.close()
    }

    // MARK: - Processes

    /// Runs switchyard-replay to its end.
    public static func replay(_ arguments: [String]) async throws -> ChildProcess {
        let process = try ChildProcess(Tools.executable("switchyard-replay"), arguments)
        try await process.waitForExit()
        return process
    }

    public static func startEcho(_ port: Int, _ extra: [String] = []) async throws -> ChildProcess {
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(port)"] + extra)
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        return echo
    }

    public static func startNTP(_ port: Int, _ extra: [String] = []) async throws -> ChildProcess {
        let ntpd = try ChildProcess(Tools.executable("switchyard-ntpd"), ["--port", "\(port)", "--clock", Self.fixedClock] + extra)
        _ = try await ntpd.waitForLine(startingWith: "[svc_ntp] ready")
        return ntpd
    }

    /// A fabric with the DHCP and DNS services on it for the duration of `body`.
    public static func withDHCPAndDNS(
        fabricArguments: [String] = [], dhcpArguments: [String] = [],
        _ body: (FabricProcess) async throws -> Void
    ) async throws {
        let fabric = try await FabricProcess.ours(fabricArguments)
        defer { fabric.process.signal(SIGKILL) }
        let dhcpd = try ChildProcess(Tools.executable("switchyard-dhcpd"), ["--port", "\(fabric.port)", "--clock", Self.fixedClock] + dhcpArguments)
        defer { dhcpd.signal(SIGKILL) }
        _ = try await dhcpd.waitForLine(startingWith: "[svc_dhcp] ready")
        let dns = try ChildProcess(Tools.executable("switchyard-dns"), ["--port", "\(fabric.port)"])
        defer { dns.signal(SIGKILL) }
        _ = try await dns.waitForLine(startingWith: "[svc_dns] ready")
        try await body(fabric)
        for service in [dhcpd, dns] {
            service.signal(SIGTERM)
            #expect(try await service.waitForExit() == 0, "\(service.stderr)")
        }
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
    }

    /// Which fabric a test of both runs against: ours or the reference peer's.
    public enum FabricKind: String, CaseIterable, Sendable {
        case ours, peer
    }
}
