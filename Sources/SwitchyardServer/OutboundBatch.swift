import NIOCore
import SwitchyardWire

/// A connection's outgoing bytes since its last flush: frames with its transport's framing
/// ahead of each, and (v1 only) control replies.
///
/// Frames are written through a pointer to the buffer's storage taken once per batch, not
/// through `ByteBuffer`'s writers: each of those checks that the storage is uniquely held and
/// moves the writer index in calls of their own, which cost more than copying a 64-byte frame.
/// The pointer stays valid because nothing else can reach the storage while it is held: the
/// batch cannot be copied (`~Copyable`), a reply commits the frames and drops the pointer
/// before it writes, and `take()` commits before handing the buffer out.
struct OutboundBatch: ~Copyable {
    /// What goes ahead of each frame.
    enum Framing {
        /// A v1 PACKET_IN header.
        case packetIn
        /// QEMU's stream framing: the frame's length, 4 bytes big-endian.
        case qemu
        /// The VXLAN adapter's framing: the destination endpoint and the frame's length.
        case vxlan

        var length: Int {
            switch self {
            case .packetIn: ProtocolLimits.wireHeaderLength
            case .qemu: QEMUStreamFraming.headerLength
            case .vxlan: VXLANAdapter.framingLength
            }
        }
    }

    /// PACKET_IN's type number as a literal: `MessageType.packetIn` lives in another module
    /// and is reached through an accessor per use (OutboundBatchTests decode it as PACKET_IN).
    private static let packetIn: UInt16 = 31

    private let allocator: ByteBufferAllocator
    /// Room reserved when a batch takes its first frame (the handler's: an early flush's worth
    /// and the largest message, so that its batches never regrow).
    private let reservedCapacity: Int
    private var buffer: ByteBuffer
    /// The buffer's storage while frames are written through it, else nil.
    private var storage: UnsafeMutableRawPointer?
    /// Bytes `storage` holds; 0 while it is nil.
    private var capacity = 0
    /// Bytes in the batch: the buffer's, and the frames written past its writer index.
    private(set) var count = 0

    init(allocator: ByteBufferAllocator, reservedCapacity: Int) {
        self.allocator = allocator
        self.reservedCapacity = reservedCapacity
        self.buffer = allocator.buffer(capacity: 0)
    }

    /// Appends `frame` with `framing` ahead of it: a store or two and one copy.
    @inline(__always)
    mutating func appendFrame(_ frame: UnsafeRawBufferPointer, framing: Framing, endpoint: UInt32, flags: MessageFlags) {
        let total = framing.length + frame.count
        if self.count + total > self.capacity {
            self.makeRoom(for: total)
        }
        let out = self.storage.unsafelyUnwrapped + self.count
        switch framing {
        case .packetIn:
            MessageHeader.store(type: Self.packetIn, endpointID: endpoint, flags: flags, payloadLength: frame.count, to: out)
        case .qemu:
            out.storeBytes(of: UInt32(frame.count).bigEndian, as: UInt32.self)
        case .vxlan:
            out.storeBytes(of: endpoint.bigEndian, as: UInt32.self)
            out.storeBytes(of: UInt32(frame.count).bigEndian, toByteOffset: 4, as: UInt32.self)
        }
        if let source = frame.baseAddress, frame.count > 0 {
            (out + framing.length).copyMemory(from: source, byteCount: frame.count)
        }
        self.count += total
    }

    /// Appends a whole message (a control reply).
    mutating func appendMessage(_ message: Message) {
        self.commit()
        self.storage = nil
        self.capacity = 0
        self.buffer.writeMessage(message)
        self.count = self.buffer.readableBytes
    }

    /// A buffer with no bytes, for a write that only marks a place in the channel's queue.
    var emptyBuffer: ByteBuffer {
        self.allocator.buffer(capacity: 0)
    }

    /// The batch's bytes, leaving it empty.
    mutating func take() -> ByteBuffer {
        self.commit()
        let bytes = self.buffer
        self.buffer = self.allocator.buffer(capacity: 0)
        self.storage = nil
        self.capacity = 0
        self.count = 0
        return bytes
    }

    /// Forgets the batch's bytes and lets go of its storage (its connection closed).
    mutating func removeAll() {
        self.storage = nil
        self.capacity = 0
        self.count = 0
        self.buffer = self.allocator.buffer(capacity: 0)
    }

    /// Takes the storage pointer, first reserving room for an early flush's worth and the
    /// largest message (or `bytes` more, whichever is larger): the buffer never regrows, as
    /// doubling would hold twice the bytes it carries, and unused pages cost no memory.
    @inline(never)
    private mutating func makeRoom(for bytes: Int) {
        self.commit()
        self.buffer.reserveCapacity(max(self.reservedCapacity, self.count + bytes))
        // The batch never reads its buffer, so the storage starts at the reader index 0.
        assert(self.buffer.readerIndex == 0)
        self.storage = self.buffer.withVeryUnsafeMutableBytes { $0.baseAddress }
        self.capacity = self.buffer.capacity
    }

    /// Moves the buffer's writer index past the frames written through `storage`.
    private mutating func commit() {
        if self.count > self.buffer.writerIndex {
            self.buffer.moveWriterIndex(to: self.count)
        }
    }
}
