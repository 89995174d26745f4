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
    private let allocator: ByteBufferAllocator
    /// Room reserved when a batch takes its first frame (the connection's: the largest read
    /// and the largest message, so that one read's batches do not regrow).
    private let reservedCapacity: Int
    private var buffer: ByteBuffer
    /// The buffer's storage while frames are written through it, else nil.
    private var storage: UnsafeMutableRawPointer?
    /// Bytes `storage` holds; 0 while it is nil.
    private var capacity = 0
    /// Bytes in the batch: the buffer's, and the frames written past its writer index.
    private(set) var count = 0
    /// The buffer's bytes were handed out by `take()` and are still in it.
    private var taken = false

    init(allocator: ByteBufferAllocator, reservedCapacity: Int) {
        self.allocator = allocator
        self.reservedCapacity = reservedCapacity
        self.buffer = allocator.buffer(capacity: 0)
    }

    /// Appends `frame` with the transport's `header` ahead of it: the header's stores and
    /// one copy.
    @inline(__always)
    mutating func appendFrame(_ frame: UnsafeRawBufferPointer, header: FrameHeaderWriter, endpoint: UInt32, flags: MessageFlags, offload: (UInt64, UInt16) = (0, 0)) {
        let total = header.length + frame.count
        if self.count + total > self.capacity {
            self.makeRoom(for: total)
        }
        let out = self.storage.unsafelyUnwrapped + self.count
        header.write(out, endpoint, flags.rawValue, UInt32(truncatingIfNeeded: frame.count), offload.0, offload.1)
        if let source = frame.baseAddress, frame.count > 0 {
            (out + header.length).copyMemory(from: source, byteCount: frame.count)
        }
        self.count += total
    }

    /// Appends a whole message (a control reply).
    mutating func appendMessage(_ message: Message) {
        self.clearIfTaken()
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
    ///
    /// The batch keeps its reference to the storage: once the channel has written and let go
    /// of its copy (a TAP device's writes are done before `write` returns, a socket's mostly
    /// are), the next batch is written into the same, already touched, pages. A fresh
    /// allocation per flush cost the switching thread page faults on every batch. An idle
    /// connection keeps its last batch's storage.
    mutating func take() -> ByteBuffer {
        // Nothing added since the last take: hand out no bytes, not those again.
        self.clearIfTaken()
        self.commit()
        let bytes = self.buffer
        self.storage = nil
        self.capacity = 0
        self.count = 0
        self.taken = true
        return bytes
    }

    /// Empties the buffer after `take()`: in place when the channel no longer holds the
    /// bytes taken, else in new storage of the same size (`ByteBuffer.clear()`).
    private mutating func clearIfTaken() {
        if self.taken {
            self.taken = false
            self.buffer.clear()
        }
    }

    /// Forgets the batch's bytes and lets go of its storage (its connection closed).
    mutating func removeAll() {
        self.storage = nil
        self.capacity = 0
        self.count = 0
        self.taken = false
        self.buffer = self.allocator.buffer(capacity: 0)
    }

    /// Takes the storage pointer, first reserving room for the largest read and the largest
    /// message: within that the buffer never regrows (unused pages cost no memory).
    @inline(never)
    private mutating func makeRoom(for bytes: Int) {
        self.clearIfTaken()
        self.commit()
        // Past the reserve (a read's frames for one destination over several reads of one
        // wake-up, or a rule's copies), double: exact growth would copy the batch per frame.
        let needed = self.count + bytes
        self.buffer.reserveCapacity(needed <= self.reservedCapacity ? self.reservedCapacity : max(needed, 2 * self.capacity))
        // The batch never reads its buffer, so the storage starts at the reader index 0.
        assert(self.buffer.readerIndex == 0)
        self.storage = self.buffer.withVeryUnsafeMutableBytes { $0.baseAddress }
        self.capacity = self.buffer.capacity
    }

    /// Moves the buffer's writer index past the frames written through `storage`.
    private mutating func commit() {
        // The unsafe part's invariant (docs/architecture.md, "Unsafe code"): the storage the
        // frames were written through is still the buffer's.
        assert(self.storage == nil || UnsafeRawPointer(self.storage) == self.buffer.withVeryUnsafeBytes { $0.baseAddress }, "an outbound batch's storage moved under its pointer")
        if self.count > self.buffer.writerIndex {
            self.buffer.moveWriterIndex(to: self.count)
        }
    }
}
