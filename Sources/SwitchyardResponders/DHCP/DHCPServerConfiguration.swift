import SwitchyardPackets

/// What `switchyard-dhcpd` hands out: its address, the pool, the options, reservations.
public struct DHCPServerConfiguration: Sendable {
    public static let defaultIP = IPv4Address(10, 0, 0, 4)

    public var ip = Self.defaultIP
    public var subnet = IPv4Subnet("10.0.0.0/24")!
    public var rangeStart = IPv4Address(10, 0, 0, 100)
    public var rangeEnd = IPv4Address(10, 0, 0, 199)
    public var router: IPv4Address?
    /// Defaults to the project's own DNS and NTP services.
    public var dns: [IPv4Address] = [DNSResponder.defaultIP]
    public var ntp: [IPv4Address] = [NTPResponder.defaultIP]
    public var domain: String? = DNSResponder.defaultDomain
    /// Seconds.
    public var leaseTime: UInt32 = 3600
    public var reservations: [Reservation] = []
    public var nextServer: IPv4Address?
    public var bootFile: String?

    public init() {}

    /// An address kept for one client, named by its MAC or by the host name it sends
    /// (option 12), as dnsmasq's `dhcp-host` does.
    public struct Reservation: Hashable, Sendable, CustomStringConvertible {
        public enum Client: Hashable, Sendable {
            case mac(MACAddress)
            case hostName(String)
        }

        public var client: Client
        public var address: IPv4Address

        /// `MAC=IP` or `NAME=IP`.
        public init?(_ text: String) {
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let address = IPv4Address(String(parts[1])) else { return nil }
            let name = String(parts[0])
            self.client = MACAddress(name).map(Client.mac) ?? .hostName(name)
            self.address = address
        }

        public var description: String {
            switch self.client {
            case .mac(let mac): "\(mac)=\(self.address)"
            case .hostName(let name): "\(name)=\(self.address)"
            }
        }
    }

    /// `START-END`.
    public static func parseRange(_ text: String) -> (IPv4Address, IPv4Address)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = IPv4Address(String(parts[0])), let end = IPv4Address(String(parts[1])) else { return nil }
        return (start, end)
    }

    /// The first thing wrong with this configuration, as one line for a usage error.
    public func problem() -> String? {
        guard self.subnet.prefixLength <= 30 else { return "--subnet \(self.subnet) has no room for clients" }
        guard self.subnet.contains(self.ip) else { return "--ip \(self.ip) is not in --subnet \(self.subnet)" }
        guard self.rangeStart.rawValue <= self.rangeEnd.rawValue else { return "--range \(self.rangeStart)-\(self.rangeEnd) ends before it starts" }
        guard self.subnet.contains(self.rangeStart), self.subnet.contains(self.rangeEnd) else {
            return "--range \(self.rangeStart)-\(self.rangeEnd) is not inside --subnet \(self.subnet)"
        }
        for edge in [self.subnet.network, self.subnet.broadcast] where (self.rangeStart.rawValue...self.rangeEnd.rawValue).contains(edge.rawValue) {
            return "--range \(self.rangeStart)-\(self.rangeEnd) includes \(edge), the subnet's \(edge == self.subnet.network ? "network" : "broadcast") address"
        }
        if let router = self.router, !self.subnet.contains(router) {
            return "--router \(router) is not in --subnet \(self.subnet)"
        }
        var seen: [IPv4Address: Reservation] = [:]
        for reservation in self.reservations {
            guard self.subnet.contains(reservation.address), reservation.address != self.subnet.network, reservation.address != self.subnet.broadcast else {
                return "--reserve \(reservation): \(reservation.address) is not a host address in --subnet \(self.subnet)"
            }
            guard reservation.address != self.ip else { return "--reserve \(reservation): \(reservation.address) is the server's own --ip" }
            if let other = seen[reservation.address] {
                return "--reserve \(reservation): \(reservation.address) is already reserved by --reserve \(other)"
            }
            seen[reservation.address] = reservation
        }
        if let bootFile = self.bootFile, bootFile.utf8.count >= 128 {
            return "--boot-file is \(bootFile.utf8.count) bytes; the BOOTP file field holds 127"
        }
        if let domain = self.domain, DNSName(domain) == nil {
            return "--domain \(domain) is not a valid domain name"
        }
        return nil
    }

    /// Addresses the pool may hand out without a reservation, lowest first.
    var pool: ClosedRange<UInt32> { self.rangeStart.rawValue...self.rangeEnd.rawValue }
}
