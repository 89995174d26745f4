/// Fixed-width decimal text, as the tools print times and file numbers (no Foundation
/// formatters: they are locale-dependent and slow).
public enum DecimalText {
    /// `value` with leading zeros to `width` digits: `zeroPadded(7, width: 5)` is "00007".
    public static func zeroPadded<Value: BinaryInteger>(_ value: Value, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `value` with exactly `decimals` decimals, rounded: `fixed(1.5, decimals: 3)` is "1.500";
    /// negative values keep their sign.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1
        for _ in 0..<decimals {
            scale *= 10
        }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < Double(Int64.max) else { return value < 0 ? "-inf" : "inf" }
        let units = Int64(scaled)
        let sign = value < 0 && units != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(units) }
        return sign + "\(units / Int64(scale))." + Self.zeroPadded(units % Int64(scale), width: decimals)
    }
}
