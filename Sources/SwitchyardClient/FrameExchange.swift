/// What a client that sends frames and waits for answers needs of a fabric connection.
/// `FabricClient` is one; tests use an in-memory one with a clock they advance, so resolvers,
/// pings and queries are tested without sockets or real waits.
public protocol FrameExchange: Sendable {
    /// Sends one frame from an endpoint this connection owns.
    func send(frame: [UInt8], from endpointID: UInt32) throws
    /// The next frame delivered to one of the connection's subscriptions, or nil when none
    /// arrives within `timeout`.
    func nextFrame(timeout: Duration) async throws -> ReceivedFrame?
}

extension FabricClient: FrameExchange {}

extension FrameExchange {
    /// Waits until `deadline` on `clock` for the first frame that `answer` accepts (frames it
    /// returns nil for are skipped); nil when the deadline passes first.
    public func awaitFrame<C: Clock, Answer>(
        until deadline: C.Instant,
        on clock: C,
        answer: (ReceivedFrame) -> Answer?
    ) async throws -> Answer? where C.Duration == Duration {
        while clock.now < deadline {
            guard let frame = try await self.nextFrame(timeout: clock.now.duration(to: deadline)) else { return nil }
            if let accepted = answer(frame) {
                return accepted
            }
        }
        return nil
    }

    /// Sends `request` from `endpointID` and waits for the first frame `answer` accepts,
    /// sending it again every `retryInterval`, until `timeout` passes (nil then): how ARP and
    /// neighbour solicitation resolve an address.
    public func ask<C: Clock, Answer>(
        _ request: [UInt8],
        from endpointID: UInt32,
        every retryInterval: Duration,
        for timeout: Duration,
        on clock: C,
        answer: (ReceivedFrame) -> Answer?
    ) async throws -> Answer? where C.Duration == Duration {
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            try self.send(frame: request, from: endpointID)
            let resend = min(clock.now.advanced(by: retryInterval), deadline)
            if let accepted = try await self.awaitFrame(until: resend, on: clock, answer: answer) {
                return accepted
            }
        }
        return nil
    }
}
