import SwitchyardPackets

/// One client's address: offered (held briefly while the client decides) or bound (ACKed).
public struct DHCPLease: Hashable, Sendable {
    public enum State: Hashable, Sendable {
        case offered
        case bound
    }

    /// Option 61 when the client sent one, else hardware type 1 and the MAC (RFC 2132 section 9.14).
    public var clientKey: [UInt8]
    public var mac: MACAddress
    public var address: IPv4Address
    /// Seconds since the Unix epoch, by the service's clock.
    public var expiry: Int64
    public var hostName: String?
    public var state: State

    public func isActive(at now: Int64) -> Bool { self.expiry > now }
}

/// The server's leases, with the allocation rule that makes sessions reproducible: a client
/// keeps its reservation, else the address it had, else the address it asked for if it is free,
/// else the lowest free address nobody has held, else the lowest free address.
public struct DHCPLeaseTable: Sendable {
    /// How long an offered address is held for the client it was offered to.
    public static let offerHoldSeconds: Int64 = 60

    public private(set) var leases: [DHCPLease] = []
    /// Addresses a client declined (RFC 2131 section 3.1 step 5: in use by someone else).
    public private(set) var declined: Set<IPv4Address> = []

    public init(leases: [DHCPLease] = []) {
        self.leases = leases
    }

    public func lease(for key: [UInt8]) -> DHCPLease? {
        self.leases.first { $0.clientKey == key }
    }

    /// Whether `address` may be given to `key` at `now`: nobody else holds it, it is not
    /// declined, not reserved for another client and not the server's.
    func isFree(_ address: IPv4Address, for key: [UInt8], reservedForOthers: Set<IPv4Address>, configuration: DHCPServerConfiguration, at now: Int64) -> Bool {
        guard address != configuration.ip, address != configuration.router,
              address != configuration.subnet.network, address != configuration.subnet.broadcast,
              configuration.subnet.contains(address),
              !self.declined.contains(address), !reservedForOthers.contains(address)
        else { return false }
        return !self.leases.contains { $0.address == address && $0.clientKey != key && $0.isActive(at: now) }
    }

    /// The address to offer, or nil when the pool is exhausted.
    func choose(
        for key: [UInt8], reserved: IPv4Address?, requested: IPv4Address?,
        reservedForOthers: Set<IPv4Address>, configuration: DHCPServerConfiguration, at now: Int64
    ) -> IPv4Address? {
        if let reserved {
            return reserved
        }
        func free(_ address: IPv4Address) -> Bool {
            self.isFree(address, for: key, reservedForOthers: reservedForOthers, configuration: configuration, at: now)
        }
        if let previous = self.lease(for: key), configuration.pool.contains(previous.address.rawValue), free(previous.address) {
            return previous.address
        }
        if let requested, configuration.pool.contains(requested.rawValue), free(requested) {
            return requested
        }
        // Addresses nobody has held first, so a client whose lease ended (released or expired)
        // still finds its address when it comes back, as long as the pool has others.
        let remembered = Set(self.leases.map(\.address))
        for raw in configuration.pool where !remembered.contains(IPv4Address(rawValue: raw)) && free(IPv4Address(rawValue: raw)) {
            return IPv4Address(rawValue: raw)
        }
        for raw in configuration.pool where free(IPv4Address(rawValue: raw)) {
            return IPv4Address(rawValue: raw)
        }
        return nil
    }

    /// Records `lease`, replacing the client's previous one.
    mutating func record(_ lease: DHCPLease) {
        self.leases.removeAll { $0.clientKey == lease.clientKey }
        // Another client's expired lease on this address is over: the address moved on.
        self.leases.removeAll { $0.address == lease.address }
        self.leases.append(lease)
        self.leases.sort { $0.address.rawValue < $1.address.rawValue }
    }

    /// Ends the client's lease now but remembers the address, so it gets it back next time.
    @discardableResult
    mutating func release(_ key: [UInt8], address: IPv4Address, at now: Int64) -> Bool {
        guard let index = self.leases.firstIndex(where: { $0.clientKey == key && $0.address == address }) else { return false }
        self.leases[index].expiry = min(self.leases[index].expiry, now)
        return true
    }

    mutating func decline(_ key: [UInt8], address: IPv4Address) {
        self.leases.removeAll { $0.clientKey == key }
        self.declined.insert(address)
    }

    /// Bound leases only: offers are not worth keeping across a restart.
    public var boundLeases: [DHCPLease] { self.leases.filter { $0.state == .bound } }
}
