import SwitchyardReplay

/// Any bytes as two server streams (the first byte says where the recorded one ends): the
/// HTTP decoder and the stream comparison by fields and lines take them without a trap, a
/// stream compared with itself is the same, and messages lie inside the stream in order.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    let split = min(rest.count, Int(first) * rest.count / 255)
    let expected = Array(rest[..<split])
    let received = Array(rest[split...])

    let (messages, remainder) = HTTPMessage.responses(in: expected)
    var previous = -1
    for message in messages {
        precondition(message.offset > previous && message.offset < expected.count, "messages in order, inside the stream")
        previous = message.offset
    }
    precondition(remainder.endIndex == expected.count)

    let comparator = StreamComparator(masks: ["http.header.date", "http.body"])
    if let same = comparator.compare(expected: expected, received: expected) {
        precondition(same.difference == nil && same.hiddenBy.isEmpty, "a stream is the same as itself")
    }
    _ = comparator.compare(expected: expected, received: received)
    if StreamComparator.isText(expected), StreamComparator.isText(received) {
        let common = min(expected.count, received.count)
        let offset = (0..<common).first { expected[$0] != received[$0] } ?? common
        if offset < expected.count {
            _ = StreamComparator.differingLine(at: offset, expected: expected, received: received)
        }
    }
    return 0
}
