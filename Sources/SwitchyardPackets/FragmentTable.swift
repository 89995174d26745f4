/// Bounds on reassembly a hostile sender cannot exceed: datagrams at once, bytes held, how long
/// a datagram may wait for its missing fragments.
public struct ReassemblyLimits: Hashable, Sendable {
    /// Datagrams being reassembled at once; a fragment of one more evicts the oldest.
    public var datagrams: Int
    /// Payload bytes held over all of them; older datagrams are evicted to stay within it,
    /// and one datagram that alone would exceed it is refused.
    public var heldBytes: Int
    /// How long a datagram may wait for its missing fragments (Linux's ipfrag_time).
    public var timeout: Duration

    public init(datagrams: Int = 64, heldBytes: Int = 1 << 20, timeout: Duration = .seconds(30)) {
        self.datagrams = datagrams
        self.heldBytes = heldBytes
        self.timeout = timeout
    }
}

/// Why a fragment, or the datagram it belonged to, was dropped.
public enum ReassemblyRefusal: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case tooManyDatagrams = "too many datagrams in reassembly"
    case tooManyBytes = "reassembly byte budget exceeded"
    case tooLarge = "reassembled datagram would exceed 65,535 bytes"
    case overlapping = "overlapping fragments"
    case inconsistent = "inconsistent fragments"
    case timedOut = "reassembly timed out"
    case damagedHeader = "fragment header checksum wrong"
    case unsupportedHeaders = "extension headers before the fragment header"

    public var description: String { self.rawValue }
}

/// The bookkeeping IPv4 and IPv6 reassembly share (RFC 791 section 3.2, RFC 8200 section
/// 4.5): each datagram's pieces by offset, its first fragment's header once seen, the bounds
/// and the timeout. As Linux does (and RFC 5722 asks): a fragment that overlaps another drops
/// the whole datagram; an exact duplicate is ignored. Time is the caller's.
struct FragmentTable<Key: Hashable & Sendable, Header: Sendable>: Sendable {
    enum Outcome {
        case complete(Header, [UInt8])
        case held
        case refused(ReassemblyRefusal)
    }

    struct Piece {
        var offset: Int
        var bytes: ArraySlice<UInt8>
        var end: Int { self.offset + self.bytes.count }
    }

    struct Pending {
        var started: Duration
        /// Sorted by offset, never overlapping.
        var pieces: [Piece] = []
        /// Known once the fragment without "more fragments" arrived.
        var totalLength: Int?
        var header: Header?
        var heldBytes = 0
    }

    var limits: ReassemblyLimits
    private var pending: [Key: Pending] = [:]
    /// Keys in the order their datagrams began: expiry and eviction look at the oldest first.
    private var order: [Key] = []
    private(set) var heldBytes = 0
    private(set) var refusals: [ReassemblyRefusal: Int] = [:]

    init(limits: ReassemblyLimits) {
        self.limits = limits
    }

    var inProgress: Int { self.pending.count }

    /// Adds the fragment of datagram `key` carrying `bytes` at `offset`; `header` is the
    /// datagram's own header, given with the first fragment. `largestEnd` is the most payload
    /// the whole datagram may have.
    mutating func add(_ key: Key, offset: Int, bytes: ArraySlice<UInt8>, more: Bool, header: Header?, largestEnd: Int, now: Duration) -> Outcome {
        self.expire(now: now)
        let piece = Piece(offset: offset, bytes: bytes)
        if piece.end > largestEnd {
            return self.refuse(key, .tooLarge)
        }
        // Every fragment but the last carries a multiple of 8 bytes (offsets are in 8-byte
        // units), and none is empty.
        if piece.bytes.isEmpty || (more && piece.bytes.count % 8 != 0) {
            return self.refuse(key, .inconsistent)
        }
        var entry: Pending
        if let existing = self.pending[key] {
            entry = existing
        } else {
            // Full: the oldest datagram gives way, as Linux evicts under ipfrag_high_thresh. A
            // storm of fresh ids then churns through the table instead of locking it for the
            // timeout, and a datagram whose fragments come close together still completes.
            while self.pending.count >= max(1, self.limits.datagrams), let oldest = self.order.first {
                self.evict(oldest, .tooManyDatagrams)
            }
            entry = Pending(started: now)
            self.order.append(key)
        }
        if let total = entry.totalLength, piece.end > total || (!more && piece.end != total) {
            self.pending[key] = entry
            return self.refuse(key, .inconsistent)
        }
        if !more, entry.pieces.contains(where: { $0.end > piece.end }) {
            self.pending[key] = entry
            return self.refuse(key, .inconsistent)
        }
        let index = entry.pieces.firstIndex { $0.offset >= piece.offset } ?? entry.pieces.count
        if index < entry.pieces.count, entry.pieces[index].offset == piece.offset, entry.pieces[index].bytes.elementsEqual(piece.bytes) {
            self.pending[key] = entry
            return .held
        }
        let overlapsBefore = index > 0 && entry.pieces[index - 1].end > piece.offset
        let overlapsAfter = index < entry.pieces.count && entry.pieces[index].offset < piece.end
        if overlapsBefore || overlapsAfter {
            self.pending[key] = entry
            return self.refuse(key, .overlapping)
        }
        guard entry.heldBytes + piece.bytes.count <= self.limits.heldBytes else {
            self.pending[key] = entry
            return self.refuse(key, .tooManyBytes)
        }
        self.pending[key] = entry
        // Older datagrams give way to keep the bytes held within the budget.
        while self.heldBytes + piece.bytes.count > self.limits.heldBytes, let oldest = self.order.first(where: { $0 != key }) {
            self.evict(oldest, .tooManyBytes)
        }
        entry.pieces.insert(piece, at: index)
        entry.heldBytes += piece.bytes.count
        self.heldBytes += piece.bytes.count
        if !more {
            entry.totalLength = piece.end
        }
        if offset == 0, let header {
            entry.header = header
        }
        guard let total = entry.totalLength, let first = entry.header, Self.isContiguous(entry.pieces, to: total) else {
            self.pending[key] = entry
            return .held
        }
        self.remove(key, entry)
        var payload: [UInt8] = []
        payload.reserveCapacity(total)
        for part in entry.pieces {
            payload += part.bytes
        }
        return .complete(first, payload)
    }

    /// Drops datagrams older than the timeout; each is counted as `timedOut`.
    mutating func expire(now: Duration) {
        while let oldest = self.order.first {
            guard let entry = self.pending[oldest] else {
                self.order.removeFirst()
                continue
            }
            guard now - entry.started >= self.limits.timeout else { return }
            self.remove(oldest, entry)
            self.refusals[.timedOut, default: 0] += 1
        }
    }

    /// Counts `refusal` for a fragment that never reached the table.
    mutating func count(_ refusal: ReassemblyRefusal) {
        self.refusals[refusal, default: 0] += 1
    }

    private mutating func evict(_ key: Key, _ refusal: ReassemblyRefusal) {
        if let entry = self.pending[key] {
            self.remove(key, entry)
        } else if let index = self.order.firstIndex(of: key) {
            self.order.remove(at: index)
        }
        self.refusals[refusal, default: 0] += 1
    }

    private static func isContiguous(_ pieces: [Piece], to total: Int) -> Bool {
        var reached = 0
        for piece in pieces {
            guard piece.offset == reached else { return false }
            reached = piece.end
        }
        return reached == total
    }

    private mutating func remove(_ key: Key, _ entry: Pending) {
        self.pending[key] = nil
        self.heldBytes -= entry.heldBytes
        if let index = self.order.firstIndex(of: key) {
            self.order.remove(at: index)
        }
    }

    /// Counts `refusal` and drops the datagram `key` (if one is in progress): once one of its
    /// fragments is refused it can never be whole.
    private mutating func refuse(_ key: Key, _ refusal: ReassemblyRefusal) -> Outcome {
        self.refusals[refusal, default: 0] += 1
        if let entry = self.pending[key] {
            self.remove(key, entry)
        }
        return .refused(refusal)
    }
}
