import SwitchyardPackets

/// The names `switchyard-dns` is authoritative for: A records under its domain, the PTR records
/// they imply, and the SOA/NS at the apex. Insertion order is answer order, so answers are the
/// same run after run.
public struct DNSZone: Sendable {
    public var domain: DNSName
    /// Names (case-folded) and their addresses, in the order they were added.
    private var addresses: [DNSName: [IPv4Address]] = [:]
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

    /// `NAME=IP`, as `--record` takes it.
    public mutating func add(record text: String) throws(RecordError) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[1])) else {
            throw RecordError(description: "--record \(text): expected NAME=IPV4")
        }
        let name: DNSName
        do {
            name = try self.qualify(String(parts[0]))
        } catch {
            throw RecordError(description: "--record \(text): \(error.description)")
        }
        self.add(name, address)
    }

    /// An /etc/hosts-format file: `IP NAME [ALIAS...]`, `#` comments. IPv6 lines are skipped
    /// (the service answers A only); anything else malformed is an error naming the line.
    public mutating func add(hostsFile text: String, path: String) throws(RecordError) {
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first else { continue }
            if first.contains(":") {
                continue
            }
            guard let address = IPv4Address(String(first)), fields.count >= 2 else {
                throw RecordError(description: "\(path):\(index + 1): expected 'IPV4 NAME [ALIAS...]'")
            }
            for field in fields.dropFirst() {
                do {
                    self.add(try self.qualify(String(field)), address)
                } catch {
                    throw RecordError(description: "\(path):\(index + 1): \(error.description)")
                }
            }
        }
    }

    public func addresses(of name: DNSName) -> [IPv4Address]? {
        self.addresses[name.key]
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
