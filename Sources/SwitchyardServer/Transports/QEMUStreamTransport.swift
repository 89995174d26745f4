import NIOCore
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardWire

/// A QEMU NIC on a stream port (`-netdev stream` or the legacy `-netdev socket`): frames only,
/// each behind a 4-byte length (`QEMUStreamFraming`).
///
/// Endpoint policy: the VM's first frame makes its endpoint, named by the port (NAME, NAME-2,
/// ... for VMs connected at once) and with the MAC the VM sends from when that MAC can be an
/// endpoint's; the connection owns it and receives its frames. The name is free again when
/// the VM goes.
struct QEMUStreamTransport: FrameTransport {
    let port: QEMUPort
    /// The VM's endpoint, once its first frame has made it.
    private(set) var endpoint: (id: UInt32, name: String)?

    init(port: QEMUPort) {
        self.port = port
    }

    static let outboundHeader = FrameHeaderWriter(length: QEMUStreamFraming.headerLength) { out, _, _, length, _, _ in
        out.storeBytes(of: length.bigEndian, as: UInt32.self)
    }

    static func bytesMissing(from partial: ByteBuffer) -> Int {
        guard let length = partial.getInteger(at: partial.readerIndex, as: UInt32.self) else {
            return QEMUStreamFraming.headerLength - partial.readableBytes
        }
        guard Int(length) <= QEMUStreamFraming.maximumLength else { return 0 }
        return max(0, QEMUStreamFraming.headerLength + Int(length) - partial.readableBytes)
    }

    mutating func readFrames(_ buffer: inout ByteBuffer, on connection: FabricConnection, engine: FabricEngine) -> TransportReadOutcome {
        while true {
            if let endpoint = self.endpoint?.id {
                // Whole frames switch where they lie; the decoder takes what they stop at.
                let switched = buffer.withUnsafeReadableBytes { Self.switchFrames(in: $0, endpoint: endpoint, from: connection.id, pipeline: engine.pipeline) }
                buffer.moveReaderIndex(forwardBy: switched)
            }
            let item: QEMUStreamFraming.Item?
            do {
                item = try QEMUStreamFraming.decode(&buffer)
            } catch {
                if self.port.refused("impossible length") {
                    engine.logger.warning("not QEMU framing on a QEMU port: closing it", metadata: ["port": "\(self.port.address)", "error": "\(error)"])
                }
                return .close
            }
            switch item {
            case nil:
                return .readOn
            case .refused(let length)?:
                self.refuse(length: length, engine: engine)
            case .frame(let frame)?:
                guard let endpoint = self.endpoint(for: frame, connection: connection, engine: engine) else { continue }
                engine.switchFrame(frame, endpoint: endpoint, from: connection)
            }
        }
    }

    /// One whole frame, as a datagram port reads them: switched from the VM's endpoint (its
    /// first frame makes it), or refused and counted as the stream framing refuses lengths.
    mutating func switchWholeFrame(_ frame: ByteBuffer, on connection: FabricConnection, engine: FabricEngine) {
        guard QEMUStreamFraming.switches(length: frame.readableBytes) else {
            self.refuse(length: frame.readableBytes, engine: engine)
            return
        }
        guard let endpoint = self.endpoint(for: frame, connection: connection, engine: engine) else { return }
        engine.switchFrame(frame, endpoint: endpoint, from: connection)
    }

    /// A frame of a length the fabric does not switch: counted, and logged once per port.
    private func refuse(length: Int, engine: FabricEngine) {
        engine.count(.qemuFrameRefused)
        if self.port.refused("length") {
            engine.logger.notice(
                "a VM sent a frame the fabric does not switch (\(length) bytes; 14 to \(ProtocolLimits.maximumFrameLength)): skipped and counted",
                metadata: ["port": "\(self.port.address)"]
            )
        }
    }

    /// The whole frames at the front of `bytes` from the VM whose endpoint is `endpoint`.
    /// Stops at a length the fabric refuses or cannot be QEMU's, and at a frame not wholly
    /// read: the decoder counts or refuses it.
    @inline(__always)
    private static func switchFrames(in bytes: UnsafeRawBufferPointer, endpoint: EndpointID, from sender: ConnectionID, pipeline: FabricEngine.Pipeline) -> Int {
        let header = QEMUStreamFraming.headerLength
        var offset = 0
        while bytes.count - offset >= header {
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            guard bytes.count - offset - header >= length,
                  pipeline.switchFrame(UnsafeRawBufferPointer(start: bytes.baseAddress! + offset + header, count: length), version: ProtocolLimits.version, endpoint: endpoint, from: sender)
            else { break }
            offset += header + length
        }
        return offset
    }

    /// The VM's endpoint; the first frame makes it, with the MAC the VM sends from.
    private mutating func endpoint(for frame: ByteBuffer, connection: FabricConnection, engine: FabricEngine) -> UInt32? {
        if let id = self.endpoint?.id {
            return id
        }
        let source = frame.getBytes(at: frame.readerIndex + 6, length: 6).flatMap { MACAddress(bytes: $0) }
        let name = self.port.claimName { engine.pipeline.core.endpoint(named: $0) != nil }
        // The VM's own MAC unless it cannot be an endpoint's (a group address, or taken): then
        // an allocated one, and the VM's MAC is learned as any source MAC is.
        let endpoint: Endpoint
        do {
            endpoint = try engine.makeOwnedEndpoint(name: name, mac: source, fallingBackToAllocated: true, owner: connection, kind: "QEMU port")
        } catch {
            self.port.release(name)
            engine.logger.warning("cannot make the VM's endpoint", metadata: ["port": "\(self.port.address)", "reason": "\(error)"])
            return nil
        }
        self.endpoint = (endpoint.id, endpoint.name)
        engine.logger.info("VM connected", metadata: ["endpoint": "\(endpoint.name)", "port": "\(self.port.address)"])
        return endpoint.id
    }

    mutating func connectionClosed(heldBytes: Int, engine: FabricEngine) {
        if heldBytes > 0 {
            engine.count(.qemuFrameRefused)
            if self.port.halfFrameAtClose() {
                engine.logger.notice("a VM left in the middle of a frame: its half is discarded (counted)", metadata: ["port": "\(self.port.address)"])
            }
        }
        if let endpoint = self.endpoint {
            self.port.release(endpoint.name)
            engine.logger.info("VM disconnected", metadata: ["endpoint": "\(endpoint.name)"])
        }
    }
}
