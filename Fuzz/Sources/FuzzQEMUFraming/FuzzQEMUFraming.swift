import NIOCore
import SwitchyardServer

/// Arbitrary bytes into QEMU's stream framing (what a broken or hostile VM can send), whole and
/// split in two at a point the input chooses: both decode alike, items never claim more bytes
/// than were given, and re-encoding the frames gives back the bytes they came from.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = decode([bytes[...]])
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let split = decode([bytes[..<cut], bytes[cut...]])
    precondition(whole == split, "splitting the input changed what was decoded")
    precondition(whole.consumed <= bytes.count, "decoded more bytes than were given")
    var reencoded = ByteBuffer()
    for item in whole.items {
        switch item {
        case .frame(let frame):
            QEMUStreamFraming.write(frame, to: &reencoded)
        case .refused(let length):
            // Skipped, not switched: its bytes are the input's at this place.
            let start = reencoded.writerIndex + QEMUStreamFraming.headerLength
            reencoded.writeInteger(UInt32(length))
            reencoded.writeBytes(bytes[start..<(start + length)])
        }
    }
    precondition(Array(reencoded.readableBytesView) == Array(bytes.prefix(whole.consumed)), "frames re-encode to their bytes")
    return 0
}

struct Decoded: Equatable {
    var items: [QEMUStreamFraming.Item] = []
    var failure: QEMUStreamFraming.Failure?
    var consumed = 0
}

/// Feeds the chunks as the connection handler does: cumulate, decode all, keep the rest.
func decode(_ chunks: [ArraySlice<UInt8>]) -> Decoded {
    var result = Decoded()
    var buffer = ByteBuffer()
    for chunk in chunks {
        buffer.writeBytes(chunk)
        do {
            while let item = try QEMUStreamFraming.decode(&buffer) {
                result.items.append(item)
            }
        } catch {
            result.failure = error
            result.consumed += buffer.readerIndex
            break
        }
        result.consumed += buffer.readerIndex
        buffer.discardReadBytes()
    }
    return result
}
