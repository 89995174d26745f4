import SwitchyardPackets

/// The TFTP service's decisions, with no I/O but reading the files it serves: read requests
/// (RFC 1350) with options (RFC 2347: blksize 2348, tsize and timeout 2349, windowsize 7440),
/// fed frames and the service's time, returning the frames to send.
///
/// - Each transfer gets its own server port (TID), chosen deterministically (49152 up, in the
///   order transfers start), so a recorded boot replays bit for bit.
/// - Block numbers roll over past 65,535 (to 0, as tftp-hpa and iPXE expect) for files of any size.
/// - A lost packet is sent again when the transfer's timeout passes (by the service's clock,
///   `timePassed`), at most `maximumRetransmissions` times; a duplicate ACK is never answered
///   by a retransmission (the Sorcerer's Apprentice bug).
/// - Writes are refused: the server is read-only.
public struct TFTPServer {
    public static let endpointName = "svc_tftp"
    public static let defaultIP = IPv4Address(10, 0, 0, 6)
    public static let firstTransferPort: UInt16 = 49152
    public static let maximumRetransmissions = 5
    /// blksize's range (RFC 2348).
    public static let blockSizes = 8...65464
    /// The largest window this server sends before it waits for an ACK.
    public static let maximumWindow = 64

    public var mac: MACAddress
    public var ip: IPv4Address
    public let root: TFTPRoot?
    /// The path MTU: blocks are no larger than what one unfragmented IPv4 datagram carries.
    public var mtu: Int
    /// Sent again after this long without an answer, unless the client asked for another.
    public var defaultTimeout: Duration = .seconds(1)
    /// Files by name, for tests (consulted before `root`).
    public var files: [String: [UInt8]] = [:]

    struct Client: Hashable {
        var mac: MACAddress
        var ip: IPv4Address
        var port: UInt16
    }

    struct Transfer {
        var name: String
        var client: Client
        var port: UInt16
        var file: TFTPFile
        var blockSize: Int
        var window: Int
        var timeout: Duration
        /// The options to acknowledge before block 1, until the client ACKs block 0.
        var optionAcknowledgement: [TFTPPacket.Option]?
        /// Blocks the client has acknowledged, counted from 1 (no rollover here).
        var acknowledged = 0
        var deadline: Duration
        var retransmissions = 0

        /// Blocks in all: the last one is shorter than a block, possibly empty.
        var blockCount: Int { self.file.size / self.blockSize + 1 }
    }

    private var transfers: [UInt16: Transfer] = [:]
    private var transfersStarted = 0

    public init(mac: MACAddress, ip: IPv4Address = Self.defaultIP, root: TFTPRoot?, mtu: Int = 1500) {
        self.mac = mac
        self.ip = ip
        self.root = root
        self.mtu = mtu
    }

    /// Transfers under way.
    public var activeTransfers: Int { self.transfers.count }

    /// When `timePassed` should next be called, if any transfer waits.
    public var nextDeadline: Duration? { self.transfers.values.map(\.deadline).min() }

    /// What happened to one frame, for the service's log.
    public enum Event: Hashable, Sendable {
        case started(file: String, client: String, size: Int, blockSize: Int, window: Int)
        case finished(file: String, client: String)
        case refused(String)
    }

    /// The frames to send for `bytes` (addressed to this service), and what happened.
    public mutating func handle(_ bytes: [UInt8], now: Duration) -> (frames: [EthernetFrame], events: [Event]) {
        guard let frame = EthernetFrame(parsing: bytes), frame.destination == self.mac || frame.destination == .broadcast,
              let udp = UDPFrame(parsing: frame), udp.ip.destination == self.ip
        else { return ([], []) }
        let client = Client(mac: frame.source, ip: udp.ip.source, port: udp.udp.sourcePort)
        let packet: TFTPPacket
        do {
            packet = try TFTPPacket(parsing: udp.udp.payload)
        } catch {
            return ([self.error(TFTPPacket.ErrorCode.illegalOperation, "malformed packet: \(error.description)", from: udp.udp.destinationPort, to: client)], [.refused("malformed packet from \(client.ip):\(client.port): \(error.description)")])
        }
        if udp.udp.destinationPort == TFTPPacket.port {
            return self.request(packet, from: client, now: now)
        }
        guard var transfer = self.transfers[udp.udp.destinationPort] else { return ([], []) }
        guard transfer.client == client else {
            // RFC 1350: a packet to a transfer's port from anyone else gets error 5, and the
            // transfer goes on.
            return ([self.error(TFTPPacket.ErrorCode.unknownTransferID, "unknown transfer ID", from: udp.udp.destinationPort, to: client)], [])
        }
        switch packet {
        case .acknowledgement(let block):
            return self.acknowledged(block, on: &transfer, now: now)
        case .error:
            self.transfers[transfer.port] = nil
            return ([], [.refused("the client at \(client.ip):\(client.port) ended the transfer")])
        default:
            self.transfers[transfer.port] = nil
            return ([self.error(TFTPPacket.ErrorCode.illegalOperation, "only ACK is expected here", from: transfer.port, to: client)], [])
        }
    }

    /// Retransmissions due by `now`: each waiting transfer's unacknowledged window (or OACK),
    /// or its end after `maximumRetransmissions`.
    public mutating func timePassed(now: Duration) -> [EthernetFrame] {
        var frames: [EthernetFrame] = []
        for port in self.transfers.keys.sorted() {
            guard var transfer = self.transfers[port], transfer.deadline <= now else { continue }
            transfer.retransmissions += 1
            if transfer.retransmissions > Self.maximumRetransmissions {
                self.transfers[port] = nil
                continue
            }
            frames += self.window(of: &transfer, now: now)
            self.transfers[port] = transfer
        }
        return frames
    }

    // MARK: - Requests

    private mutating func request(_ packet: TFTPPacket, from client: Client, now: Duration) -> ([EthernetFrame], [Event]) {
        switch packet {
        case .readRequest(let name, let mode, let options):
            if let port = self.transfers.first(where: { $0.value.client == client })?.key, var transfer = self.transfers[port] {
                // The request again: our first answer was lost. Send it again, unless the
                // transfer is under way already.
                guard transfer.acknowledged == 0 else { return ([], []) }
                let frames = self.window(of: &transfer, now: now)
                self.transfers[port] = transfer
                return (frames, [])
            }
            return self.start(name, mode: mode, options: options, for: client, now: now)
        case .writeRequest(let name, _, _):
            return ([self.error(TFTPPacket.ErrorCode.accessViolation, "this server is read-only", from: TFTPPacket.port, to: client)], [.refused("write request for \(name) from \(client.ip)")])
        default:
            return ([self.error(TFTPPacket.ErrorCode.illegalOperation, "only read requests are taken on port 69", from: TFTPPacket.port, to: client)], [])
        }
    }

    private mutating func start(_ name: String, mode: String, options: [TFTPPacket.Option], for client: Client, now: Duration) -> ([EthernetFrame], [Event]) {
        func refuse(_ code: UInt16, _ text: String) -> ([EthernetFrame], [Event]) {
            ([self.error(code, text, from: TFTPPacket.port, to: client)], [.refused("\(name) for \(client.ip): \(text)")])
        }
        let netascii: Bool
        switch mode.lowercased() {
        case "octet": netascii = false
        case "netascii": netascii = true
        default: return refuse(TFTPPacket.ErrorCode.illegalOperation, "mode \"\(mode)\": octet or netascii")
        }
        let file: TFTPFile
        if let bytes = self.files[name] {
            file = TFTPFile(bytes: bytes)
        } else if let root = self.root {
            switch root.open(name) {
            case .success(let opened): file = opened
            case .failure(let refusal): return refuse(refusal.code, refusal.message)
            }
        } else {
            return refuse(TFTPPacket.ErrorCode.fileNotFound, "file not found")
        }
        if netascii {
            file.convertToNetascii()
        }
        // Options (RFC 2347): those understood are acknowledged, the others ignored.
        let largestBlock = max(Self.blockSizes.lowerBound, self.mtu - 20 - 8 - 4)
        var blockSize = TFTPPacket.defaultBlockSize
        var window = 1
        var timeout = self.defaultTimeout
        var acknowledged: [TFTPPacket.Option] = []
        for option in options {
            let name = option.name.lowercased()
            guard ["blksize", "tsize", "timeout", "windowsize"].contains(name) else { continue }
            guard !acknowledged.contains(where: { $0.name.lowercased() == name }) else { continue }
            guard let value = Int(option.value), value >= 0 else {
                return refuse(TFTPPacket.ErrorCode.optionRefused, "\(name) \(option.value) is not a number")
            }
            switch name {
            case "blksize":
                guard Self.blockSizes.contains(value) else {
                    return refuse(TFTPPacket.ErrorCode.optionRefused, "blksize \(value): want \(Self.blockSizes.lowerBound) to \(Self.blockSizes.upperBound)")
                }
                blockSize = min(value, largestBlock)
                acknowledged.append(TFTPPacket.Option(option.name, "\(blockSize)"))
            case "tsize":
                acknowledged.append(TFTPPacket.Option(option.name, "\(file.size)"))
            case "timeout":
                guard (1...255).contains(value) else {
                    return refuse(TFTPPacket.ErrorCode.optionRefused, "timeout \(value): want 1 to 255 seconds")
                }
                timeout = .seconds(value)
                acknowledged.append(option)
            default:
                guard (1...65535).contains(value) else {
                    return refuse(TFTPPacket.ErrorCode.optionRefused, "windowsize \(value): want 1 to 65535")
                }
                window = min(value, Self.maximumWindow)
                acknowledged.append(TFTPPacket.Option(option.name, "\(window)"))
            }
        }
        guard let port = self.nextTransferPort() else {
            return refuse(TFTPPacket.ErrorCode.notDefined, "too many transfers at once")
        }
        var transfer = Transfer(
            name: name, client: client, port: port, file: file, blockSize: blockSize, window: window, timeout: timeout,
            optionAcknowledgement: acknowledged.isEmpty ? nil : acknowledged, deadline: now
        )
        let frames = self.window(of: &transfer, now: now)
        self.transfers[port] = transfer
        return (frames, [.started(file: name, client: "\(client.ip):\(client.port)", size: file.size, blockSize: blockSize, window: window)])
    }

    private mutating func nextTransferPort() -> UInt16? {
        for _ in 0..<16384 {
            let port = Self.firstTransferPort + UInt16(self.transfersStarted % 16384)
            self.transfersStarted += 1
            if self.transfers[port] == nil {
                return port
            }
        }
        return nil
    }

    // MARK: - Data

    private mutating func acknowledged(_ wire: UInt16, on transfer: inout Transfer, now: Duration) -> ([EthernetFrame], [Event]) {
        if transfer.optionAcknowledgement != nil {
            // Only block 0 acknowledges the OACK; anything else is stale.
            guard wire == 0 else { return ([], []) }
            transfer.optionAcknowledgement = nil
            transfer.retransmissions = 0
            let frames = self.window(of: &transfer, now: now)
            self.transfers[transfer.port] = transfer
            return (frames, [])
        }
        // The block this wire number stands for: the one past what was acknowledged, within the
        // window sent, whose number it is (block numbers roll over at 65536).
        let sentThrough = min(transfer.acknowledged + transfer.window, transfer.blockCount)
        let block = transfer.acknowledged + Int(wire &- UInt16(truncatingIfNeeded: transfer.acknowledged))
        guard block > transfer.acknowledged, block <= sentThrough else {
            // A duplicate (or older) ACK: never answered with a retransmission.
            return ([], [])
        }
        transfer.acknowledged = block
        transfer.retransmissions = 0
        if block == transfer.blockCount {
            self.transfers[transfer.port] = nil
            return ([], [.finished(file: transfer.name, client: "\(transfer.client.ip):\(transfer.client.port)")])
        }
        let frames = self.window(of: &transfer, now: now)
        self.transfers[transfer.port] = transfer
        return (frames, [])
    }

    /// What the transfer sends now: its OACK, or the window after the last acknowledged block;
    /// and when it next times out.
    private func window(of transfer: inout Transfer, now: Duration) -> [EthernetFrame] {
        transfer.deadline = now + transfer.timeout
        if let options = transfer.optionAcknowledgement {
            return [self.frame(.optionAcknowledgement(options), from: transfer.port, to: transfer.client)]
        }
        let last = min(transfer.acknowledged + transfer.window, transfer.blockCount)
        guard transfer.acknowledged < last else { return [] }
        return (transfer.acknowledged + 1...last).map { block in
            let data = transfer.file.read(offset: (block - 1) * transfer.blockSize, count: transfer.blockSize)
            return self.frame(.data(block: UInt16(truncatingIfNeeded: block), data: data[...]), from: transfer.port, to: transfer.client)
        }
    }

    private func error(_ code: UInt16, _ message: String, from port: UInt16, to client: Client) -> EthernetFrame {
        self.frame(.error(code: code, message: message), from: port, to: client)
    }

    private func frame(_ packet: TFTPPacket, from port: UInt16, to client: Client) -> EthernetFrame {
        UDPFrame.build(from: (self.mac, self.ip, port), to: (client.mac, client.ip, client.port), payload: packet.bytes)
    }
}
