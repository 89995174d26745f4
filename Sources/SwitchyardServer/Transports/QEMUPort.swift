import NIOCore

/// One `--qemu NAME=...` port: where QEMU connects, and the names its VMs take.
///
/// A VM connected there is endpoint NAME; a second one at the same time is NAME-2, and so on;
/// a name is free again once its VM has gone, so QEMU restarted on the same socket joins under
/// the same name. Confined to the fabric's event loop.
final class QEMUPort {
    enum Address: Hashable, Sendable, CustomStringConvertible {
        case unix(path: String)
        case tcp(host: String, port: Int)
        case udp(host: String, port: Int)

        var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .tcp(let host, let port): "tcp:\(ListenAddress.describe(host: host, port: port))"
            case .udp(let host, let port): "udp:\(ListenAddress.describe(host: host, port: port))"
            }
        }
    }

    let name: String
    let address: Address
    private var inUse: Set<String> = []
    /// Bad input seen on this port (counted; logged once each kind).
    private(set) var framesRefused: UInt64 = 0
    private(set) var halfFramesAtClose: UInt64 = 0
    private var logged: Set<String> = []

    init(name: String, address: Address) {
        self.name = name
        self.address = address
    }

    /// The lowest free name: NAME, NAME-2, NAME-3, ...; `taken` says whether another
    /// endpoint of the fabric has it already.
    func claimName(taken: (String) -> Bool) -> String {
        var index = 1
        while true {
            let candidate = index == 1 ? self.name : "\(self.name)-\(index)"
            if !self.inUse.contains(candidate), !taken(candidate) {
                self.inUse.insert(candidate)
                return candidate
            }
            index += 1
        }
    }

    func release(_ name: String) {
        self.inUse.remove(name)
    }

    /// Counts a refused frame; true the first time this kind is seen (log it then).
    func refused(_ kind: String) -> Bool {
        self.framesRefused &+= 1
        return self.logged.insert(kind).inserted
    }

    func halfFrameAtClose() -> Bool {
        self.halfFramesAtClose &+= 1
        return self.logged.insert("half frame").inserted
    }
}

@available(*, unavailable)
extension QEMUPort: Sendable {}
