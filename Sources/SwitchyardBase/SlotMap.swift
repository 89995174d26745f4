/// A hash map from a 64-bit integer key (a MAC, an endpoint id) to a slot number, flat in one
/// array: open addressing with linear probing, at most half full.
///
/// The switching path looks up two MACs and an endpoint id per frame; here a lookup is one
/// multiply, one masked index and (almost always) one or two adjacent entries, with no
/// `Hasher`, no optionals boxed and nothing retained. The hash is keyed per map from the
/// system's random source, so keys chosen from outside (learned source MACs) cannot be made to
/// collide; the seed changes only where entries sit, never what a lookup returns.
public struct SlotMap: Sendable {
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline var key: UInt64
        /// The slot, or -1 for an empty entry.
        @usableFromInline var value: Int32

        @inlinable
        init(key: UInt64, value: Int32) {
            self.key = key
            self.value = value
        }
    }

    private static let empty = Entry(key: 0, value: -1)

    // Visible to other modules' inlined lookups (the server's connection table).
    @usableFromInline var entries: [Entry]
    @usableFromInline var mask: Int
    @usableFromInline let seed: UInt64
    public private(set) var count = 0

    public init(minimumCapacity: Int = 8) {
        var size = 16
        while size < minimumCapacity * 2 {
            size *= 2
        }
        self.entries = Array(repeating: Self.empty, count: size)
        self.mask = size - 1
        self.seed = UInt64.random(in: .min ... .max) | 1
    }

    @inlinable @inline(__always)
    func home(_ key: UInt64) -> Int {
        var x = (key ^ self.seed) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return Int(truncatingIfNeeded: x) & self.mask
    }

    /// The slot stored for `key`, or nil.
    @inlinable @inline(__always)
    public func value(for key: UInt64) -> Int? {
        self.entries.withUnsafeBufferPointer { entries in
            var index = self.home(key)
            while true {
                let entry = entries[index]
                if entry.value < 0 {
                    return nil
                }
                if entry.key == key {
                    return Int(entry.value)
                }
                index = (index + 1) & self.mask
            }
        }
    }

    public subscript(key: UInt64) -> Int? {
        get { self.value(for: key) }
        set {
            if let newValue {
                self.insert(key, newValue)
            } else {
                self.remove(key)
            }
        }
    }

    /// Stores `value` for `key`, replacing what was there.
    public mutating func insert(_ key: UInt64, _ value: Int) {
        precondition(value >= 0 && value <= Int(Int32.max), "slot numbers are small and not negative")
        if (self.count + 1) * 2 > self.entries.count {
            self.grow()
        }
        var index = self.home(key)
        while self.entries[index].value >= 0 {
            if self.entries[index].key == key {
                self.entries[index].value = Int32(value)
                return
            }
            index = (index + 1) & self.mask
        }
        self.entries[index] = Entry(key: key, value: Int32(value))
        self.count += 1
    }

    /// Removes `key`; the entries after it in its run move back so that no lookup needs a
    /// tombstone (backward-shift deletion).
    public mutating func remove(_ key: UInt64) {
        var index = self.home(key)
        while true {
            let entry = self.entries[index]
            if entry.value < 0 {
                return
            }
            if entry.key == key {
                break
            }
            index = (index + 1) & self.mask
        }
        var hole = index
        var next = (hole + 1) & self.mask
        while self.entries[next].value >= 0 {
            let wanted = self.home(self.entries[next].key)
            // The entry at `next` may fill the hole when its home is not cyclically in (hole, next].
            let distanceToHole = (hole - wanted) & self.mask
            let distanceToNext = (next - wanted) & self.mask
            if distanceToHole < distanceToNext {
                self.entries[hole] = self.entries[next]
                hole = next
            }
            next = (next + 1) & self.mask
        }
        self.entries[hole] = Self.empty
        self.count -= 1
    }

    /// Keeps only the entries `keep` accepts.
    public mutating func filter(_ keep: (_ key: UInt64, _ value: Int) -> Bool) {
        var kept = SlotMap(minimumCapacity: self.count)
        for entry in self.entries where entry.value >= 0 && keep(entry.key, Int(entry.value)) {
            kept.insert(entry.key, Int(entry.value))
        }
        self = kept
    }

    /// Every entry, in no particular order.
    public var pairs: [(key: UInt64, value: Int)] {
        self.entries.lazy.filter { $0.value >= 0 }.map { ($0.key, Int($0.value)) }
    }

    private mutating func grow() {
        let old = self.entries
        self.entries = Array(repeating: Self.empty, count: old.count * 2)
        self.mask = self.entries.count - 1
        self.count = 0
        for entry in old where entry.value >= 0 {
            self.insert(entry.key, Int(entry.value))
        }
    }
}
