import NIOCore
import SwitchyardWire

/// Arbitrary bytes into the v1 framing decoder, whole and split in two at a point the input
/// chooses: both must decode the same messages, and never more bytes than were given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = decode([bytes[...]])
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    let split = decode([bytes[..<cut], bytes[cut...]])
    precondition(whole == split, "splitting the input changed what was decoded")
    let decodedBytes = whole.messages.reduce(0) { $0 + $1.wireLength }
    precondition(decodedBytes <= bytes.count, "decoded more bytes than were given")
    return 0
}

struct Decoded: Equatable {
    var messages: [Message] = []
    var framingError: FramingError?
}

/// Feeds the chunks as a connection handler does: cumulate, decode all, keep the rest.
func decode(_ chunks: [ArraySlice<UInt8>]) -> Decoded {
    var result = Decoded()
    var buffer = ByteBuffer()
    for chunk in chunks {
        buffer.writeBytes(chunk)
        do {
            while let message = try MessageDecoder.decodeMessage(from: &buffer) {
                precondition(message.header.type.rawValue == message.header.type.rawValue)
                result.messages.append(message)
            }
        } catch {
            result.framingError = error
            return result
        }
        buffer.discardReadBytes()
    }
    return result
}
