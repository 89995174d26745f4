import NIOCore
import SwitchyardWire

/// What one kind of connection carries and how: where whole frames are in the bytes read,
/// how many bytes a partial one lacks, what goes ahead of each frame sent, and the transport's
/// endpoint policy (who owns the endpoint, what happens at close).
///
/// `FabricConnectionHandler` is generic over it, so each transport's read loop is its own
/// specialisation: the per-frame work of a read happens inside `readFrames`, in concrete code.
/// Adding a transport is one conforming type (one file here) and its tests.
protocol FrameTransport {
    /// What goes ahead of each frame this transport sends.
    static var outboundHeader: FrameHeaderWriter { get }
    /// This connection's: `outboundHeader` unless it depends on the connection (a TAP device
    /// with virtio-net headers).
    var frameHeader: FrameHeaderWriter { get }
    /// Whether frames may go out as an offloading kernel handed them over (`VirtioNetHeader`:
    /// checksums to fill in, large TCP segments); else the fabric resolves them first.
    var acceptsOffloads: Bool { get }
    /// Whether control replies (ERROR, ENDPOINT_CREATED, STATS, ...) can be sent: v1 only.
    static var carriesReplies: Bool { get }
    /// Writes each frame as it is delivered instead of batching it (a TAP device); nil for
    /// transports whose frames go into the connection's batch.
    var deviceWriter: TapDeviceWriter? { get }

    /// Bytes `partial` (the start of a frame or message not wholly read) lacks to be whole;
    /// 0 when it is whole, or when its length is one `readFrames` refuses (it reports that).
    static func bytesMissing(from partial: ByteBuffer) -> Int

    /// Switches, or hands to the engine, every whole frame or message at the front of `buffer`
    /// and leaves a partial one there. Phase 1 of the read: no I/O (see `FabricEngine`).
    mutating func readFrames(_ buffer: inout ByteBuffer, on connection: FabricConnection, engine: FabricEngine) -> TransportReadOutcome

    /// The connection has joined the fabric (it has its id): the transport may make the
    /// endpoints it owns now (a TAP device's). Outside any read.
    mutating func connectionOpened(_ connection: FabricConnection, engine: FabricEngine)

    /// The connection has closed with `heldBytes` of a partial frame unread.
    mutating func connectionClosed(heldBytes: Int, engine: FabricEngine)
}

/// What the connection does after a read's frames were handled.
enum TransportReadOutcome {
    /// Go on reading.
    case readOn
    /// The framing broke and ERROR is queued: stop reading, close the output once it is
    /// written, and close the connection after a while (so the client reads the ERROR).
    case lingerAfterError
    /// Not this transport's framing at all: close at the end of the read.
    case close
}

/// Writes the bytes ahead of one outgoing frame: a plain C function, so that the outbound
/// batch (which is not generic) calls each transport's writer with no generic or reference
/// counting cost per frame.
struct FrameHeaderWriter {
    /// Bytes written ahead of each frame.
    let length: Int
    /// Writes the header at `out` for a frame of `frameLength` bytes to endpoint `endpoint`
    /// with v1 flags `flags` and, for a transport that accepts offloads, the frame's
    /// virtio-net header as `VirtioNetHeader.words` (zero for a plain frame).
    let write: @convention(c) (_ out: UnsafeMutableRawPointer, _ endpoint: UInt32, _ flags: UInt32, _ frameLength: UInt32, _ offloadLow: UInt64, _ offloadHigh: UInt16) -> Void
}

extension FrameTransport {
    static var carriesReplies: Bool { false }

    var frameHeader: FrameHeaderWriter { Self.outboundHeader }

    var acceptsOffloads: Bool { false }

    var deviceWriter: TapDeviceWriter? { nil }

    mutating func connectionOpened(_ connection: FabricConnection, engine: FabricEngine) {}

    mutating func connectionClosed(heldBytes: Int, engine: FabricEngine) {}
}
