/// An NTP timestamp (RFC 5905 section 6): 32 bits of seconds since the era's start, 32 bits of
/// fraction. Era 0 began 1900-01-01T00:00:00Z; era 1 begins 2036-02-07T06:28:16Z.
public struct NTPTimestamp: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Seconds from 1900-01-01 (the NTP prime epoch) to 1970-01-01 (the Unix epoch).
    public static let unixEpochOffset: Int64 = 2_208_988_800
    /// Seconds in one NTP era (2^32).
    public static let eraLength: Int64 = 1 << 32

    public var seconds: UInt32 { UInt32(truncatingIfNeeded: self.rawValue >> 32) }
    public var fraction: UInt32 { UInt32(truncatingIfNeeded: self.rawValue) }

    /// The timestamp of an instant given as nanoseconds since the Unix epoch (any era).
    public init(unixNanoseconds: Int64) {
        let (wholeSeconds, nanoseconds) = unixNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        var seconds = wholeSeconds + Self.unixEpochOffset
        var nanos = nanoseconds
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        // Era-relative seconds: the low 32 bits (RFC 5905 section 6, figure 4).
        let eraSeconds = UInt64(UInt32(truncatingIfNeeded: seconds))
        let fraction = (UInt64(nanos) << 32) / 1_000_000_000
        self.rawValue = eraSeconds << 32 | fraction
    }

    /// Nanoseconds since the Unix epoch, taking the era that puts the instant closest to
    /// `pivotUnixNanoseconds` (by default, now-ish is what callers pass): a timestamp alone
    /// does not say its era.
    public func unixNanoseconds(near pivotUnixNanoseconds: Int64) -> Int64 {
        let pivotSeconds = pivotUnixNanoseconds / 1_000_000_000 + Self.unixEpochOffset
        let pivotEra = pivotSeconds >= 0 ? pivotSeconds / Self.eraLength : (pivotSeconds - Self.eraLength + 1) / Self.eraLength
        var best: Int64 = 0
        var bestDistance = Int64.max
        for era in (pivotEra - 1)...(pivotEra + 1) {
            let candidate = era * Self.eraLength + Int64(self.seconds)
            let distance = abs(candidate - pivotSeconds)
            if distance < bestDistance {
                bestDistance = distance
                best = candidate
            }
        }
        let nanos = (Int64(self.fraction) * 1_000_000_000 + (1 << 31)) >> 32
        return (best - Self.unixEpochOffset) * 1_000_000_000 + nanos
    }

    public static func < (lhs: NTPTimestamp, rhs: NTPTimestamp) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// Seconds and fraction in hex, as RFC 5905 figures show them.
    public var description: String {
        let hex = String(self.rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
