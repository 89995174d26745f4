#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardWire

/// A Linux TAP device whose descriptor `switchyard-tap` handed to the fabric (`TapHandoff`):
/// every `read` of it is one frame the kernel sends, every `write` one frame it receives.
///
/// Reading is SwiftNIO's (an input-only pipe channel on the descriptor, up to
/// `readsPerWakeUp` frames per wake-up, each read one frame, so `bytesMissing` is always 0).
/// Writing is `TapDeviceWriter`'s: each frame as it is delivered, with a system call of its
/// own, never through the channel (NIO would gather queued buffers into one `writev`, which a
/// TAP device takes as one frame).
///
/// Endpoint policy: the endpoint is made as the device joins, with the name and MAC
/// `switchyard-tap` asked for (an allocated MAC when that one is taken: the device's MAC is
/// then learned as any source MAC is), owned and subscribed by this connection.
struct TapTransport: FrameTransport {
    /// Room per read: a virtio-net header, the largest frame the fabric switches and one byte
    /// more, so that a frame the device could send beyond it is seen as too long, never cut.
    static let readSize = VirtioNetHeader.length + ProtocolLimits.maximumFrameLength + 1
    /// Frames read per wake-up before other connections get their turn.
    static let readsPerWakeUp = 64

    let name: String
    let mac: MACAddress
    let writer: TapDeviceWriter
    /// Told once whether the endpoint was made.
    let attached: (Result<Endpoint, Rejection>) -> Void
    private(set) var endpoint: UInt32?

    init(name: String, mac: MACAddress, writer: TapDeviceWriter, attached: @escaping (Result<Endpoint, Rejection>) -> Void) {
        self.name = name
        self.mac = mac
        self.writer = writer
        self.attached = attached
    }

    /// The device puts a virtio-net header ahead of every frame (`IFF_VNET_HDR`) and takes
    /// offloaded frames: large TCP segments and checksums to fill in.
    var virtio: Bool { self.writer.virtio }

    var deviceWriter: TapDeviceWriter? { self.writer }

    /// Never used: frames for a TAP device go through `deviceWriter`, not a batch.
    static var outboundHeader: FrameHeaderWriter { QEMUStreamTransport.outboundHeader }

    var acceptsOffloads: Bool { self.virtio }

    static func bytesMissing(from partial: ByteBuffer) -> Int { 0 }

    mutating func readFrames(_ buffer: inout ByteBuffer, on connection: FabricConnection, engine: FabricEngine) -> TransportReadOutcome {
        var frame = buffer
        buffer.moveReaderIndex(to: buffer.writerIndex)
        guard let endpoint = self.endpoint else { return .readOn }
        var offload: VirtioNetHeader?
        if self.virtio {
            guard let header = frame.withUnsafeReadableBytes({ VirtioNetHeader($0) }) else {
                engine.count(.tapFrameRefused)
                return .readOn
            }
            frame.moveReaderIndex(forwardBy: VirtioNetHeader.length)
            offload = header.isPlain ? nil : header
        }
        guard frame.readableBytes <= ProtocolLimits.maximumFrameLength else {
            engine.count(.tapFrameRefused)
            return .readOn
        }
        // A frame shorter than an Ethernet header is refused and counted by the core.
        engine.switchFrame(frame, endpoint: endpoint, from: connection, offload: offload)
        return .readOn
    }

    mutating func connectionOpened(_ connection: FabricConnection, engine: FabricEngine) {
        do {
            let made = try engine.makeOwnedEndpoint(name: self.name, mac: self.mac, fallingBackToAllocated: true, owner: connection, kind: "TAP device")
            self.endpoint = made.id
            engine.logger.info("TAP device attached", metadata: ["endpoint": "\(made.name)", "mac": "\(made.mac)"])
            self.attached(.success(made))
        } catch {
            self.attached(.failure(error))
        }
    }

    mutating func connectionClosed(heldBytes: Int, engine: FabricEngine) {
        if self.endpoint != nil {
            engine.logger.info("TAP device detached", metadata: ["endpoint": "\(self.name)"])
        }
    }
}
