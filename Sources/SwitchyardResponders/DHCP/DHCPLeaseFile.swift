import SwitchyardBase
import SwitchyardPackets

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Leases as text, one per line, in dnsmasq's layout so the same habits read it:
/// `EXPIRY MAC IP HOSTNAME CLIENT-ID`, expiry in Unix seconds, `*` for no host name or client id.
public enum DHCPLeaseFile {
    public struct FormatError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func format(_ leases: [DHCPLease]) -> String {
        leases.map { lease in
            let hostName = lease.hostName.flatMap { Self.isPlainWord($0) ? $0 : nil } ?? "*"
            let clientID = lease.clientKey.isEmpty ? "*" : lease.clientKey.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
            return "\(lease.expiry) \(lease.mac) \(lease.address) \(hostName) \(clientID)\n"
        }.joined()
    }

    /// Parses what `format` wrote (and hand edits: blank lines and `#` comments are skipped).
    public static func parse(_ text: String, path: String) throws(FormatError) -> [DHCPLease] {
        var leases: [DHCPLease] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") {
                continue
            }
            let fields = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 5, let expiry = Int64(fields[0]), let mac = MACAddress(String(fields[1])),
                  let address = IPv4Address(String(fields[2]))
            else {
                throw FormatError(description: "\(path):\(index + 1): expected 'EXPIRY MAC IP HOSTNAME CLIENT-ID', got '\(Self.shortened(line))'")
            }
            var key: [UInt8] = [1] + mac.bytes
            if fields[4] != "*" {
                let octets = fields[4].split(separator: ":").map { UInt8($0, radix: 16) }
                guard !octets.isEmpty, !octets.contains(nil) else {
                    throw FormatError(description: "\(path):\(index + 1): client id '\(Self.shortened(fields[4]))' is not colon-separated hex")
                }
                key = octets.map { $0! }
            }
            let hostName = fields[3] == "*" ? nil : String(fields[3])
            leases.append(DHCPLease(clientKey: key, mac: mac, address: address, expiry: expiry, hostName: hostName, state: .bound))
        }
        return leases
    }

    /// Reads `path`; a missing file is an empty table (the first start).
    public static func load(_ path: String) throws(FormatError) -> [DHCPLease] {
        switch StdioFile.read(path) {
        case .success(let bytes):
            return try Self.parse(String(decoding: bytes, as: UTF8.self), path: path)
        case .failure(let error):
            if error.reason == String(cString: strerror(ENOENT)) {
                return []
            }
            throw FormatError(description: "cannot read leases file \(path): \(error.reason)")
        }
    }

    public static func save(_ leases: [DHCPLease], to path: String) throws(FormatError) {
        if case .failure(let error) = StdioFile.replaceAtomically(path, with: Array(Self.format(leases).utf8)) {
            throw FormatError(description: "cannot write leases file \(path): \(error.reason)")
        }
    }

    private static func isPlainWord(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    private static func shortened<S: StringProtocol>(_ text: S) -> String {
        text.count > 60 ? String(text.prefix(60)) + "…" : String(text)
    }
}
