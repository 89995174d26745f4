/// A domain name as its labels (RFC 1035 section 3.1), kept with the case it came in.
/// Comparisons that matter for lookups go through `key`, which is case-folded (ASCII only,
/// RFC 4343).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// RFC 1035 section 2.3.4.
    public static let maximumLabelLength = 63
    public static let maximumLength = 255

    public var labels: [[UInt8]]

    public static let root = DNSName(labels: [])

    public init(labels: [[UInt8]]) {
        self.labels = labels
    }

    /// Parses `a.b.c` or `a.b.c.`; nil for empty labels, labels over 63 bytes or names over 255.
    public init?(_ text: String) {
        if text == "." {
            self.labels = []
            return
        }
        let trimmed = text.hasSuffix(".") ? String(text.dropLast()) : text
        let parts = trimmed.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.count <= Self.maximumLabelLength }) else { return nil }
        self.labels = parts.map(Array.init)
        guard self.wireLength <= Self.maximumLength else { return nil }
    }

    /// Bytes on the wire uncompressed: a length byte per label, the labels, the root's zero.
    public var wireLength: Int {
        self.labels.reduce(1) { $0 + 1 + $1.count }
    }

    /// Case-folded: the name for lookups and compression.
    public var key: DNSName {
        DNSName(labels: self.labels.map { label in
            label.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        })
    }

    /// This name is `suffix` or below it (case-insensitive).
    public func isSubdomain(of suffix: DNSName) -> Bool {
        guard self.labels.count >= suffix.labels.count else { return false }
        return Array(self.key.labels.suffix(suffix.labels.count)) == suffix.key.labels
    }

    public func prepending(_ label: String) -> DNSName {
        DNSName(labels: [Array(label.utf8)] + self.labels)
    }

    /// Dotted, with a final dot; dots and odd bytes inside labels escaped as dig prints them.
    public var description: String {
        guard !self.labels.isEmpty else { return "." }
        return self.labels.map { label in
            label.map { byte -> String in
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    String(UnicodeScalar(byte))
                default:
                    "\\" + DecimalText.zeroPadded(Int64(byte), width: 3)
                }
            }.joined()
        }.joined(separator: ".") + "."
    }

    /// The reverse-lookup name of an address: `2.0.0.10.in-addr.arpa` (RFC 1035 section 3.5).
    public static func reverse(_ address: IPv4Address) -> DNSName {
        let octets = address.bytes.reversed().map { Array(String($0).utf8) }
        return DNSName(labels: octets + [Array("in-addr".utf8), Array("arpa".utf8)])
    }

    /// The address a reverse-lookup name stands for; nil for anything else.
    public var reverseAddress: IPv4Address? {
        let key = self.key
        guard key.labels.count == 6, key.labels[4] == Array("in-addr".utf8), key.labels[5] == Array("arpa".utf8) else { return nil }
        var octets: [UInt8] = []
        for label in key.labels[0..<4].reversed() {
            guard label.count <= 3, label.allSatisfy({ (0x30...0x39).contains($0) }),
                  let octet = UInt8(String(decoding: label, as: UTF8.self)),
                  label.count == 1 || label.first != UInt8(ascii: "0")
            else { return nil }
            octets.append(octet)
        }
        return IPv4Address(octets[0], octets[1], octets[2], octets[3])
    }
}
