import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// The NTP client: endpoint `cli_ntp`, 10.0.0.10:40000, one request to the NTP service and the
/// RFC 5905 offset and delay from its answer.
public struct NTPClient: Sendable {
    public static let endpointName = "cli_ntp"
    public static let defaultIP = IPv4Address(10, 0, 0, 10)
    public static let defaultPort: UInt16 = 40000

    public var timeout: Duration = .seconds(3)
    public var resolution = PingClient.Resolution.lookup
    public var clock: any WallClock = SystemWallClock()
    public var endpointName = Self.endpointName
    public var ip = Self.defaultIP
    public var port = Self.defaultPort
    public var serviceName = NTPResponder.endpointName
    public var serviceIP = NTPResponder.defaultIP

    public init() {}

    /// The answer and what it says about the two clocks.
    public struct Result: Sendable {
        public var response: NTPPacket
        /// Server transmit time (T3), nanoseconds since the Unix epoch.
        public var serverTime: Int64
        /// θ = ((T2 − T1) + (T3 − T4)) / 2, in seconds (RFC 5905 section 8).
        public var offset: Double
        /// δ = (T4 − T1) − (T3 − T2), in seconds.
        public var delay: Double
    }

    /// Offset and delay from the four timestamps, each in nanoseconds since the Unix epoch.
    public static func offsetAndDelay(t1: Int64, t2: Int64, t3: Int64, t4: Int64) -> (offset: Double, delay: Double) {
        let offset = (Double(t2 - t1) + Double(t3 - t4)) / 2 / 1e9
        let delay = (Double(t4 - t1) - Double(t3 - t2)) / 1e9
        return (offset, delay)
    }

    public func query(on client: FabricClient) async throws -> Result {
        try await self.query(on: client, waitingClock: ContinuousClock())
    }

    /// `query` with the clock that measures the timeout (`clock` stamps the packets).
    public func query<C: Clock>(on client: FabricClient, waitingClock: C) async throws -> Result where C.Duration == Duration {
        let me = try await AttachedEndpoint.attach(self.endpointName, on: client)
        let myMAC = me.mac
        let serviceMAC = try await me.locateService(
            self.serviceName, ip: .v4(self.serviceIP), from: .v4(self.ip), resolution: self.resolution,
            timeout: self.timeout, on: client, clock: waitingClock, hint: "switchyard-ntpd"
        )

        var request = NTPPacket(mode: .client)
        let t1 = self.clock.now()
        request.transmitTimestamp = NTPTimestamp(unixNanoseconds: t1)
        let frame = UDPFrame.build(
            from: (myMAC, self.ip, self.port),
            to: (serviceMAC, self.serviceIP, NTPPacket.port),
            payload: request.bytes
        )
        return try await self.exchange(frame.bytes, request: request, t1: t1, from: me.id, on: client, waitingClock: waitingClock)
    }

    /// Sends the request and waits for its answer.
    func exchange<C: Clock>(
        _ frame: [UInt8],
        request: NTPPacket,
        t1: Int64,
        from endpointID: UInt32,
        on exchange: some FrameExchange,
        waitingClock: C
    ) async throws -> Result where C.Duration == Duration {
        try exchange.send(frame: frame, from: endpointID)
        let deadline = waitingClock.now.advanced(by: self.timeout)
        let result = try await exchange.awaitFrame(until: deadline, on: waitingClock) { received -> Result? in
            let t4 = self.clock.now()
            guard let ethernet = EthernetFrame(parsing: received.bytes),
                  let udp = UDPFrame(parsing: ethernet),
                  udp.ip.source == self.serviceIP, udp.udp.sourcePort == NTPPacket.port,
                  udp.udp.destinationPort == self.port,
                  let response = NTPPacket(parsing: udp.udp.payload),
                  response.mode == .server,
                  response.originateTimestamp == request.transmitTimestamp
            else { return nil }
            let t2 = response.receiveTimestamp.unixNanoseconds(near: t1)
            let t3 = response.transmitTimestamp.unixNanoseconds(near: t1)
            let (offset, delay) = Self.offsetAndDelay(t1: t1, t2: t2, t3: t3, t4: t4)
            return Result(response: response, serverTime: t3, offset: offset, delay: delay)
        }
        if let result {
            return result
        }
        throw FabricClientError(.timeout, "timeout: no NTP reply from \(self.serviceIP):\(NTPPacket.port) within \(self.timeout.secondsDescription) s")
    }
}
