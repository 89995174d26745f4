import SwitchyardPackets

/// The names `switchyard-dns` is authoritative for: A and AAAA records under its domain, the
/// PTR records the A records imply, and the SOA/NS at the apex. Insertion order is answer order, so answers are the
/// same run after run.
public struct DNSZone: Sendable {
    public var domain: DNSName
    /// Names (case-folded) and their addresses, in the order they were added.
    private var addresses: [DNSName: [IPv4Address]] = [:]
    private var addresses6: [DNSName: [IPv6Address]] = [:]
    /// Each address's names, as first written, for PTR answers.
    private var names: [IPv4Address: [DNSName]] = [:]
    public private(set) var recordCount = 0

    public init(domain: DNSName) {
        self.domain = domain
    }

    public struct RecordError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// A short name (`echo`) is put under the domain; a name ending in the domain is kept;
    /// `name.` is absolute and must be inside the domain.
    public func qualify(_ text: String) throws(RecordError) -> DNSName {
        guard let name = DNSName(text) else { throw RecordError(description: "'\(text)' is not a valid DNS name") }
        if name.isSubdomain(of: self.domain) {
            return name
        }
        guard !text.hasSuffix(".") else { throw RecordError(description: "\(name) is outside the domain \(self.domain)") }
        let qualified = DNSName(labels: name.labels + self.domain.labels)
        guard qualified.wireLength <= DNSName.maximumLength else { throw RecordError(description: "\(text) is too long once the domain is added") }
        return qualified
    }

    public mutating func add(_ name: DNSName, _ address: IPv4Address) {
        let key = name.key
        if self.addresses[key]?.contains(address) == true {
            return
        }
        self.addresses[key, default: []].append(address)
        self.names[address, default: []].append(name)
        self.recordCount += 1
    }

    /// An AAAA record (no PTR: this server has no ip6.arpa zone).
    public mutating func add(_ name: DNSName, _ address: IPv6Address) {
        let key = name.key
        if self.addresses6[key]?.contains(address) == true {
            return
        }
        self.addresses6[key, default: []].append(address)
        self.recordCount += 1
    }

    /// `NAME=IP`, as `--record` takes it: an IPv4 address makes an A record, IPv6 an AAAA.
    public mutating func add(record text: String) throws(RecordError) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw RecordError(description: "--record \(text): expected NAME=IPV4 or NAME=IPV6")
        }
        let value = String(parts[1])
        let name: DNSName
        do {
            name = try self.qualify(String(parts[0]))
        } catch {
            throw RecordError(description: "--record \(text): \(error.description)")
        }
        if let address = IPv4Address(value) {
            self.add(name, address)
        } else if let address = IPv6Address(value) {
            self.add(name, address)
        } else {
            throw RecordError(description: "--record \(text): '\(value)' is neither an IPv4 nor an IPv6 address")
        }
    }

    /// An /etc/hosts-format file: `IP NAME [ALIAS...]`, `#` comments; IPv4 lines make A
    /// records, IPv6 lines AAAA. Lines with a zone id (`fe80::1%eth0`) or an address this
    /// parser refuses are errors naming the line, like anything else malformed.
    public mutating func add(hostsFile text: String, path: String) throws(RecordError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first else { continue }
            let address: IPv4Address?
            let address6: IPv6Address?
            if first.contains(":") {
                (address, address6) = (nil, IPv6Address(String(first)))
            } else {
                (address, address6) = (IPv4Address(String(first)), nil)
            }
            guard address != nil || address6 != nil, fields.count >= 2 else {
                throw RecordError(description: "\(path):\(index + 1): expected 'IP NAME [ALIAS...]'")
            }
            for field in fields.dropFirst() {
                let name: DNSName
                do {
                    name = try self.qualify(String(field))
                } catch {
                    throw RecordError(description: "\(path):\(index + 1): \(error.description)")
                }
                if let address {
                    self.add(name, address)
                }
                if let address6 {
                    self.add(name, address6)
                }
            }
        }
    }

    public func addresses(of name: DNSName) -> [IPv4Address]? {
        self.addresses[name.key]
    }

    public func addresses6(of name: DNSName) -> [IPv6Address]? {
        self.addresses6[name.key]
    }

    /// The name has a record of some type (so a query for another type is NOERROR, not NXDOMAIN).
    public func contains(_ name: DNSName) -> Bool {
        self.addresses[name.key] != nil || self.addresses6[name.key] != nil
    }

    public func names(of address: IPv4Address) -> [DNSName]? {
        self.names[address]
    }

    /// The reverse zones (`0.0.10.in-addr.arpa` for each /24 holding a record) this service is
    /// authoritative for: unknown addresses there are NXDOMAIN, not REFUSED.
    public func reverseZone(of address: IPv4Address) -> DNSName? {
        let network = address.rawValue & 0xFFFF_FF00
        guard self.names.keys.contains(where: { $0.rawValue & 0xFFFF_FF00 == network }) else { return nil }
        let octets = address.bytes
        return DNSName(labels: [octets[2], octets[1], octets[0]].map { Array(String($0).utf8) } + [Array("in-addr".utf8), Array("arpa".utf8)])
    }
}
