import NIOCore
import SwitchyardFabric
import SwitchyardWire

/// VXLAN uplinks (RFC 7348) on one UDP socket: `VXLANAdapter` (ahead of the handler) turns
/// datagrams from configured remotes into `[UInt32 remote index][UInt32 length][frame]`, and
/// the handler's `[UInt32 endpoint][UInt32 length][frame]` into datagrams to that remote.
///
/// Endpoint policy: one endpoint per configured remote, made when the socket starts, owned and
/// subscribed by this connection and marked as an uplink (split horizon: a frame from one
/// remote is never flooded to another).
struct VXLANTransport: FrameTransport {
    let port: VXLANPort

    static let outboundHeader = FrameHeaderWriter(length: VXLANAdapter.framingLength) { out, endpoint, _, length, _, _ in
        out.storeBytes(of: endpoint.bigEndian, as: UInt32.self)
        out.storeBytes(of: length.bigEndian, toByteOffset: 4, as: UInt32.self)
    }

    /// The adapter hands whole frames only, one per datagram.
    static func bytesMissing(from partial: ByteBuffer) -> Int { 0 }

    mutating func readFrames(_ buffer: inout ByteBuffer, on connection: FabricConnection, engine: FabricEngine) -> TransportReadOutcome {
        while let remote = buffer.readInteger(as: UInt32.self), let length = buffer.readInteger(as: UInt32.self),
              let frame = buffer.readSlice(length: Int(length)) {
            guard let endpoint = self.port.remotes[Int(remote)].endpointID else { continue }
            engine.switchFrame(frame, endpoint: endpoint, from: connection)
        }
        return .readOn
    }

    /// Makes the remotes' endpoints for `connection`, the VXLAN socket's.
    func attachUplinks(connection: FabricConnection, engine: FabricEngine) {
        engine.vxlanPort = self.port
        for (index, remote) in self.port.remotes.enumerated() {
            let endpoint: Endpoint
            do {
                endpoint = try engine.makeOwnedEndpoint(name: remote.name, mac: nil, fallingBackToAllocated: false, owner: connection, kind: "VXLAN remote")
            } catch {
                engine.logger.error("cannot make the VXLAN remote's endpoint", metadata: ["remote": "\(remote.name)", "reason": "\(error)"])
                continue
            }
            engine.pipeline.core.markUplink(endpoint.id)
            self.port.setEndpoint(endpoint.id, forRemote: index)
        }
    }
}
