import NIOCore

/// The fabric's VXLAN uplinks (RFC 7348): one UDP socket, one endpoint per configured remote.
///
/// Confined to the fabric's event loop. The adapter counts here what it refuses; the engine
/// reads the counters for STATS.
final class VXLANPort {
    struct Remote {
        let name: String
        let address: SocketAddress
        /// Its endpoint, once the fabric has made it.
        var endpointID: UInt32?
    }

    /// What encapsulation adds to a frame (its own 14-byte Ethernet header included) to make
    /// the outer IP packet: IPv4 (20) + UDP (8) + VXLAN (8). With the inner Ethernet header,
    /// the 50 bytes of RFC 7348: an outer MTU of 1500 carries inner IP packets of 1450.
    static let overhead = 20 + 8 + 8
    /// Sockets (source ports in 49152–65535) the encapsulated frames are spread over.
    static let sourcePorts = 16
    /// Datagrams one receive system call takes (recvmmsg).
    static let vectorReadMessages = 16
    /// Room per received datagram: any UDP payload (at most 65,527 bytes over IPv6, 65,507
    /// over IPv4) and one byte more. A datagram that fills it was cut by the kernel.
    static let receiveSliceLength = 65_536 + 1

    let vni: UInt32
    /// Largest outer IP packet; larger encapsulations are dropped and counted.
    let mtu: Int
    private(set) var remotes: [Remote]
    private var remoteOfEndpoint: [UInt32: Int] = [:]
    /// Datagrams refused: unknown sender, another VNI, the I flag clear, too short.
    var datagramsRefused: UInt64 = 0
    /// Frames not sent because their encapsulation would pass the MTU.
    var framesTooBig: UInt64 = 0
    private var logged: Set<String> = []

    init(vni: UInt32, mtu: Int, remotes: [(name: String, address: SocketAddress)]) {
        self.vni = vni
        self.mtu = mtu
        self.remotes = remotes.map { Remote(name: $0.name, address: $0.address, endpointID: nil) }
    }

    func setEndpoint(_ id: UInt32, forRemote index: Int) {
        self.remotes[index].endpointID = id
        self.remoteOfEndpoint[id] = index
    }

    /// The remote a datagram came from: by address and port, else by address alone (a kernel
    /// VXLAN device sends from a port hashed per flow).
    func remoteIndex(of sender: SocketAddress) -> Int? {
        if let exact = self.remotes.firstIndex(where: { $0.address == sender }) {
            return exact
        }
        return self.remotes.firstIndex { $0.address.ipAddress == sender.ipAddress }
    }

    func address(ofEndpoint id: UInt32) -> SocketAddress? {
        self.remoteOfEndpoint[id].map { self.remotes[$0].address }
    }

    /// True the first time a kind of refusal is seen (log it then).
    func firstTime(_ kind: String) -> Bool {
        self.logged.insert(kind).inserted
    }
}

@available(*, unavailable)
extension VXLANPort: Sendable {}
