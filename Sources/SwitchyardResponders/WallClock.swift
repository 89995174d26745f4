import SwitchyardPackets
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where services get the time of day. Injected, so NTP exchanges can be made reproducible
/// (`fixed`) and tests can pin instants.
public protocol WallClock: Sendable {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    func now() -> Int64
}

/// The host's clock (CLOCK_REALTIME).
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

/// Always the same instant: every timestamp written from it is identical, run after run.
public struct FixedWallClock: WallClock {
    public var instant: Int64

    public init(unixNanoseconds: Int64) {
        self.instant = unixNanoseconds
    }

    public func now() -> Int64 { self.instant }
}

/// The host's clock shifted by a fixed amount (to give a client a clock error to measure).
public struct OffsetWallClock: WallClock {
    public var offsetNanoseconds: Int64
    private let base = SystemWallClock()

    public init(offsetNanoseconds: Int64) {
        self.offsetNanoseconds = offsetNanoseconds
    }

    public func now() -> Int64 { self.base.now() + self.offsetNanoseconds }
}

/// A clock named on a command line: `system`, `fixed:2026-01-01T00:00:00Z` or `offset:SECONDS`.
public struct ClockSpecification: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case system
        case fixed(unixNanoseconds: Int64)
        case offset(nanoseconds: Int64)
    }

    public var kind: Kind
    public var description: String

    public init?(_ text: String) {
        self.description = text
        if text == "system" {
            self.kind = .system
        } else if text.hasPrefix("fixed:"), let instant = Self.parseInstant(String(text.dropFirst(6))) {
            self.kind = .fixed(unixNanoseconds: instant)
        } else if text.hasPrefix("offset:"), let seconds = Double(text.dropFirst(7)), seconds.isFinite, abs(seconds) < 1e9 {
            self.kind = .offset(nanoseconds: Int64((seconds * 1e9).rounded()))
        } else {
            return nil
        }
    }

    public var clock: any WallClock {
        switch self.kind {
        case .system: SystemWallClock()
        case .fixed(let instant): FixedWallClock(unixNanoseconds: instant)
        case .offset(let nanoseconds): OffsetWallClock(offsetNanoseconds: nanoseconds)
        }
    }

    /// RFC 3339 / ISO 8601 in UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
    static func parseInstant(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1)
        var whole = String(parts[0])
        var nanoseconds: Int64 = 0
        if parts.count == 2 {
            guard parts[1].hasSuffix("Z") else { return nil }
            let digits = parts[1].dropLast()
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isNumber), let value = Int64(digits) else { return nil }
            nanoseconds = value * Int64(pow(10.0, Double(9 - digits.count)))
            whole += "Z"
        }
        guard let date = try? Date(whole, strategy: .iso8601) else { return nil }
        return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000_000 + nanoseconds
    }

    /// `2026-01-01T00:00:00.000000Z`-style text (microseconds) for an instant.
    public static func format(unixNanoseconds: Int64) -> String {
        let seconds = unixNanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        var wholeSeconds = seconds.quotient
        var nanos = seconds.remainder
        if nanos < 0 {
            nanos += 1_000_000_000
            wholeSeconds -= 1
        }
        let date = Date(timeIntervalSince1970: Double(wholeSeconds))
        let base = date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
        return String(base.dropLast()) + "." + DecimalText.zeroPadded(nanos / 1000, width: 6) + "+00:00"
    }
}
