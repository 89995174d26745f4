import ArgumentParser
import SwitchyardPackets
import SwitchyardResponders

/// `--mtu` and `--ip6`: how every service is set up as a host (`HostSettings`).
public struct HostOptions: ParsableArguments, Sendable {
    @Option(help: "Path MTU (576 to 65535): larger replies are sent in fragments, unless the request came whole in a larger packet.")
    public var mtu = 1500

    @Option(help: ArgumentHelp(
        "The service's IPv6 unique local address beside its link-local one; 'none' for link-local only. Default: fd53:5900:: with the last octet of its IPv4 address.",
        valueName: "address|none"
    ))
    public var ip6: String?

    public init() {}

    public func validate() throws {
        guard (576...65_535).contains(self.mtu) else {
            throw ValidationError("--mtu must be between 576 and 65535, got \(self.mtu)")
        }
        _ = try self.uniqueLocal()
    }

    public func uniqueLocal() throws -> HostSettings.UniqueLocal {
        guard let text = self.ip6 else { return .derived }
        if text == "none" {
            return .none
        }
        guard let address = IPv6Address(text), !address.isMulticast, !address.isLinkLocal, address != .unspecified else {
            throw ValidationError("--ip6 takes a unicast IPv6 address outside fe80::/10 (like fd53:5900::2) or 'none', got '\(text)'")
        }
        return .address(address)
    }

    /// The settings these flags make (validated already).
    public var settings: HostSettings {
        var settings = HostSettings()
        settings.mtu = self.mtu
        settings.uniqueLocal = (try? self.uniqueLocal()) ?? .derived
        return settings
    }
}
