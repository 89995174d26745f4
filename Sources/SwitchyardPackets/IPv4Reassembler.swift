/// Puts fragmented IPv4 datagrams back together (RFC 791 section 3.2, "reassembly"), within
/// bounds a hostile sender cannot exceed: a number of datagrams in progress, a number of bytes
/// held for them, the 65,535-byte datagram limit and a timeout by the caller's clock.
///
/// As Linux does (and RFC 5722 asks of IPv6): a fragment that overlaps another drops the whole
/// datagram; an exact duplicate is ignored. Time is the caller's (`now` since any origin), so
/// the same fragments at the same instants give the same decisions.
public struct IPv4Reassembler: Sendable {
    public struct Limits: Hashable, Sendable {
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
    public enum Refusal: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case tooManyDatagrams = "too many datagrams in reassembly"
        case tooManyBytes = "reassembly byte budget exceeded"
        case tooLarge = "reassembled datagram would exceed 65,535 bytes"
        case overlapping = "overlapping fragments"
        case inconsistent = "inconsistent fragments"
        case timedOut = "reassembly timed out"
        case damagedHeader = "fragment header checksum wrong"

        public var description: String { self.rawValue }
    }

    public enum Outcome: Sendable {
        /// The datagram is whole: its first fragment's header, flags and offset cleared.
        case complete(IPv4Packet)
        /// Kept until the rest arrives (or a duplicate, ignored).
        case held
        case refused(Refusal)
    }

    struct Key: Hashable {
        var source: IPv4Address
        var destination: IPv4Address
        var protocolNumber: UInt8
        var identification: UInt16
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
        var first: IPv4Packet?
        var heldBytes = 0
    }

    public var limits: Limits
    private var pending: [Key: Pending] = [:]
    /// Keys in the order their datagrams began: expiry looks at the oldest first.
    private var order: [Key] = []
    public private(set) var heldBytes = 0
    public private(set) var refusals: [Refusal: Int] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Datagrams waiting for fragments.
    public var inProgress: Int { self.pending.count }

    /// Adds `packet`, a fragment (`isFragment`), at `now`.
    public mutating func add(_ packet: IPv4Packet, now: Duration) -> Outcome {
        self.expire(now: now)
        // A fragment with a damaged header is not ours to keep (RFC 1122 3.2.1.2).
        guard packet.isHeaderChecksumValid else { return self.refuse(nil, .damagedHeader) }
        let offset = Int(packet.flagsAndFragmentOffset & 0x1FFF) * 8
        let moreFragments = packet.flagsAndFragmentOffset & 0x2000 != 0
        let key = Key(source: packet.source, destination: packet.destination, protocolNumber: packet.protocolNumber.rawValue, identification: packet.identification)
        let piece = Piece(offset: offset, bytes: packet.payload)
        if offset + piece.bytes.count + packet.headerLength > 65_535 {
            return self.refuse(key, .tooLarge)
        }
        // Every fragment but the last carries a multiple of 8 bytes (RFC 791: offsets are in
        // 8-byte units), and none is empty.
        if piece.bytes.isEmpty || (moreFragments && piece.bytes.count % 8 != 0) {
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
        if let total = entry.totalLength, piece.end > total || (!moreFragments && piece.end != total) {
            self.pending[key] = entry
            return self.refuse(key, .inconsistent)
        }
        if !moreFragments, entry.pieces.contains(where: { $0.end > piece.end }) {
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
        if !moreFragments {
            entry.totalLength = piece.end
        }
        if offset == 0 {
            entry.first = packet
        }
        guard let total = entry.totalLength, var whole = entry.first, Self.isContiguous(entry.pieces, to: total) else {
            self.pending[key] = entry
            return .held
        }
        self.remove(key, entry)
        var payload: [UInt8] = []
        payload.reserveCapacity(total)
        for part in entry.pieces {
            payload += part.bytes
        }
        whole.payload = payload[...]
        whole.flagsAndFragmentOffset = 0
        return .complete(whole)
    }

    /// Drops datagrams older than the timeout; each is counted as `timedOut`.
    public mutating func expire(now: Duration) {
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

    private mutating func evict(_ key: Key, _ refusal: Refusal) {
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
    private mutating func refuse(_ key: Key?, _ refusal: Refusal) -> Outcome {
        self.refusals[refusal, default: 0] += 1
        if let key, let entry = self.pending[key] {
            self.remove(key, entry)
        }
        return .refused(refusal)
    }

    /// What a receiving host makes of `frame`: the frame itself unless it carries an IPv4
    /// fragment; the whole datagram in a frame once its last fragment is in; nil meanwhile
    /// (or when the fragment is refused).
    public mutating func frame(_ frame: EthernetFrame, now: Duration) -> EthernetFrame? {
        guard frame.etherType == .ipv4, let packet = IPv4Packet(parsing: frame.payload), packet.isFragment else { return frame }
        guard case .complete(let whole) = self.add(packet, now: now) else { return nil }
        return EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv4, payload: whole.bytes)
    }
}
