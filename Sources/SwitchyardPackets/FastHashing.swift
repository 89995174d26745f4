/// Hashing for the fabric's hot tables (MAC table, endpoint and connection maps).
///
/// `Dictionary` hashes keys with SipHash through `Hasher`, which costs more than the rest of
/// switching a frame. Keys that are single integers override the standard library's
/// `_rawHashValue(seed:)` hook with a seeded multiply-xorshift mix: one multiplication, still
/// keyed by the dictionary's per-instance seed so that colliding keys cannot be chosen from
/// outside. `hash(into:)` stays for every other use.
@inlinable
public func fastIntegerHash(_ value: UInt64, seed: Int) -> Int {
    var x = value ^ UInt64(bitPattern: Int64(seed))
    x = (x ^ (x >> 32)) &* 0xD6E8_FEB8_6659_FD93
    x = (x ^ (x >> 32)) &* 0xD6E8_FEB8_6659_FD93
    return Int(bitPattern: UInt(truncatingIfNeeded: x ^ (x >> 32)))
}

extension MACAddress {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.rawValue)
    }

    public func _rawHashValue(seed: Int) -> Int {
        fastIntegerHash(self.rawValue, seed: seed)
    }
}
