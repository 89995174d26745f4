/// IPv6 addresses as RFC 5952 text: lower-case hex, the longest run of two or more zero
/// groups shortened to `::`.
public enum IPv6Text {
    public static func format(_ bytes: ArraySlice<UInt8>) -> String {
        let raw = Array(bytes)
        guard raw.count == 16 else { return "?" }
        let groups = (0..<8).map { UInt16(raw[$0 * 2]) << 8 | UInt16(raw[$0 * 2 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8, groups[end] == 0 {
                end += 1
            }
            if end - index > bestLength, end - index >= 2 {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}
