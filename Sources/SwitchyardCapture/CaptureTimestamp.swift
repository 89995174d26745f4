import SwitchyardPackets
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A capture time with nanosecond precision, as a pcap record header holds it.
public struct CaptureTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public init(totalNanoseconds: Int64) {
        self.seconds = totalNanoseconds / 1_000_000_000
        self.nanoseconds = UInt32(totalNanoseconds % 1_000_000_000)
    }

    /// Nanoseconds since the epoch; wraps (rather than traps) for times a damaged file makes up.
    public var totalNanoseconds: Int64 { self.seconds &* 1_000_000_000 &+ Int64(self.nanoseconds) }

    /// The current wall-clock time.
    public static func now() -> CaptureTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return CaptureTimestamp(seconds: Int64(spec.tv_sec), nanoseconds: UInt32(spec.tv_nsec))
    }

    public static func < (lhs: CaptureTimestamp, rhs: CaptureTimestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// `seconds.nnnnnnnnn`.
    public var description: String {
        "\(self.seconds)." + DecimalText.zeroPadded(self.nanoseconds, width: 9)
    }
}
