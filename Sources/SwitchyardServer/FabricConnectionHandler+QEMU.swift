import NIOCore
import SwitchyardPackets
import SwitchyardWire

/// A QEMU port's side of the handler: frames in QEMU's framing become PACKET_OUT from the
/// port's endpoint, which the first frame creates with the VM's MAC.
extension FabricConnectionHandler {
    /// Handles every whole frame of `buffer`; false when the connection was closed.
    func readQEMUFrames(_ buffer: inout ByteBuffer, port: QEMUPort, context: ChannelHandlerContext) -> Bool {
        while true {
            if let endpoint = self.qemuEndpointID {
                // Whole frames switch where they lie; the decoder takes what they stop at.
                let switched = buffer.withUnsafeReadableBytes { self.engine.switchQEMUFrames(in: $0, endpoint: endpoint, from: self) }
                buffer.moveReaderIndex(forwardBy: switched)
            }
            let item: QEMUStreamFraming.Item?
            do {
                item = try QEMUStreamFraming.decode(&buffer)
            } catch {
                if port.refused("impossible length") {
                    self.engine.logger.warning("not QEMU framing on a QEMU port: closing it", metadata: ["port": "\(port.address)", "error": "\(error)"])
                }
                context.close(promise: nil)
                return false
            }
            switch item {
            case nil:
                return true
            case .refused(let length)?:
                self.engine.qemuFramesRefused &+= 1
                if port.refused("length") {
                    self.engine.logger.notice(
                        "a VM sent a frame the fabric does not switch (\(length) bytes; 14 to \(ProtocolLimits.maximumFrameLength)): skipped and counted",
                        metadata: ["port": "\(port.address)"]
                    )
                }
            case .frame(let frame)?:
                guard let endpoint = self.portEndpoint(for: frame, port: port) else { continue }
                self.engine.switchTransportFrame(frame, endpoint: endpoint, from: self)
            }
        }
    }

    /// The port's endpoint; the first frame makes it, with the MAC the VM sends from.
    private func portEndpoint(for frame: ByteBuffer, port: QEMUPort) -> UInt32? {
        if let id = self.qemuEndpointID {
            return id
        }
        let source = frame.getBytes(at: frame.readerIndex + 6, length: 6).flatMap { MACAddress(bytes: $0) }
        guard let created = self.engine.attachPortEndpoint(port: port, mac: source, connection: self) else { return nil }
        self.qemuEndpoint = created
        self.qemuEndpointID = created.id
        self.engine.logger.info("VM connected", metadata: ["endpoint": "\(created.name)", "port": "\(port.address)"])
        return created.id
    }
}
