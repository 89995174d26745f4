import NIOCore
import NIOTestUtils
import SwitchyardWire
import Testing

/// Wire vectors made with the reference peer's `sy_v1.encode` (an independent Python
/// implementation of v1 in `../shared/peer`).
struct WireVector: Sendable, CustomTestStringConvertible {
    var name: String
    var message: Message
    var hex: String

    var testDescription: String { self.name }

    static let all: [WireVector] = [
        WireVector(
            name: "HELLO",
            message: Message(.hello, payload: ByteBuffer(string: #"{"client_name":"t"}"#)),
            hex: "0000001f0001000100000000000000007b22636c69656e745f6e616d65223a2274227d"
        ),
        WireVector(
            name: "PACKET_IN with PROMISC",
            message: Message(.packetIn, endpointID: 7, flags: .promiscuous, payload: ByteBuffer(bytes: bytes("ffffffffffff0253590000010806"))),
            hex: "0000001a0001001f0000000700000001ffffffffffff0253590000010806"
        ),
        WireVector(
            name: "SUBSCRIBED",
            message: Message(.subscribed, endpointID: 3, flags: .promiscuous, payload: ByteBuffer(string: "{}")),
            hex: "0000000e0001001500000003000000017b7d"
        ),
        WireVector(
            name: "WELCOME",
            message: Message(.welcome, endpointID: 0, payload: ByteBuffer(string: #"{"server":"switchyardd","version":1}"#)),
            hex: "000000300001000200000000000000007b22736572766572223a227377697463687961726464222c2276657273696f6e223a317d"
        ),
        WireVector(
            name: "ENDPOINT_CREATE",
            message: Message(.endpointCreate, endpointID: 0, payload: ByteBuffer(string: #"{"name":"svc_echo","mac":"02:53:59:00:00:07"}"#)),
            hex: "000000390001000a00000000000000007b226e616d65223a227376635f6563686f222c226d6163223a2230323a35333a35393a30303a30303a3037227d"
        ),
        WireVector(
            name: "ENDPOINT_CREATED",
            message: Message(.endpointCreated, endpointID: 0, payload: ByteBuffer(string: #"{"endpoint_id":1,"name":"svc_echo","mac":"02:53:59:00:00:01"}"#)),
            hex: "000000490001000b00000000000000007b22656e64706f696e745f6964223a312c226e616d65223a227376635f6563686f222c226d6163223a2230323a35333a35393a30303a30303a3031227d"
        ),
        WireVector(
            name: "ENDPOINT_LOOKUP",
            message: Message(.endpointLookup, endpointID: 0, payload: ByteBuffer(string: #"{"name":"svc_echo"}"#)),
            hex: "0000001f0001000c00000000000000007b226e616d65223a227376635f6563686f227d"
        ),
        WireVector(
            name: "ENDPOINT_INFO",
            message: Message(.endpointInfo, endpointID: 0, payload: ByteBuffer(string: #"{"endpoint_id":1,"name":"svc_echo","mac":"02:53:59:00:00:01"}"#)),
            hex: "000000490001000d00000000000000007b22656e64706f696e745f6964223a312c226e616d65223a227376635f6563686f222c226d6163223a2230323a35333a35393a30303a30303a3031227d"
        ),
        WireVector(
            name: "SUBSCRIBE",
            message: Message(.subscribe, endpointID: 2, payload: ByteBuffer(string: #"{"endpoint_id":2,"promisc":false}"#)),
            hex: "0000002d0001001400000002000000007b22656e64706f696e745f6964223a322c2270726f6d697363223a66616c73657d"
        ),
        WireVector(
            name: "ERROR",
            message: Message(.error, endpointID: 0, payload: ByteBuffer(string: #"{"error":"unknown endpoint name: x"}"#)),
            hex: "000000300001006400000000000000007b226572726f72223a22756e6b6e6f776e20656e64706f696e74206e616d653a2078227d"
        ),
        WireVector(
            name: "STATS_REQUEST",
            message: Message(.statsRequest, endpointID: 0, payload: ByteBuffer(string: #"{}"#)),
            hex: "0000000e0001002800000000000000007b7d"
        ),
        WireVector(
            name: "STATS",
            message: Message(.stats, endpointID: 0, payload: ByteBuffer(string: #"{"frames_switched":0}"#)),
            hex: "000000210001002900000000000000007b226672616d65735f7377697463686564223a307d"
        ),
        WireVector(
            name: "PACKET_OUT",
            message: Message(.packetOut, endpointID: 1, payload: ByteBuffer(bytes: bytes("ffffffffffff025359000001080600"))),
            hex: "0000001b0001001e0000000100000000ffffffffffff025359000001080600"
        ),
    ]
}

func bytes(_ hex: String) -> [UInt8] {
    stride(from: 0, to: hex.count, by: 2).map { offset in
        let start = hex.index(hex.startIndex, offsetBy: offset)
        return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
    }
}

@Test(arguments: WireVector.all)
func messagesEncodeToTheReferenceBytes(vector: WireVector) {
    var buffer = ByteBuffer()
    buffer.writeMessage(vector.message)
    #expect(Array(buffer.readableBytesView) == bytes(vector.hex))

    var fast = ByteBuffer()
    fast.writeMessage(vector.message.header, payload: vector.message.payload)
    #expect(fast == buffer, "the one-copy delivery writer produces the same bytes")
}

@Test(arguments: WireVector.all)
func messagesDecodeFromTheReferenceBytes(vector: WireVector) throws {
    var buffer = ByteBuffer(bytes: bytes(vector.hex))
    let decoded = try MessageDecoder.decodeMessage(from: &buffer)
    #expect(decoded == vector.message)
    #expect(buffer.readableBytes == 0)
}

@Test func decoderHandlesByteByByteBatchedAndWholeInput() throws {
    // ByteToMessageDecoderVerifier feeds the input whole, byte by byte and in random batches.
    let inputs = WireVector.all.map { (ByteBuffer(bytes: bytes($0.hex)), [$0.message]) }
    try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: inputs) { MessageDecoder() }
}

@Test func decoderWaitsForTheRestOfAMessage() throws {
    let whole = bytes(WireVector.all[0].hex)
    for cut in 0..<whole.count {
        var partial = ByteBuffer(bytes: whole[..<cut])
        #expect(try MessageDecoder.decodeMessage(from: &partial) == nil, "cut at \(cut)")
        #expect(partial.readableBytes == cut, "nothing consumed")
    }
}

@Test(arguments: [0, 11, 16_777_217, UInt32.max] as [UInt32])
func badMessageLengthsBreakFraming(length: UInt32) {
    var buffer = ByteBuffer()
    buffer.writeInteger(length)
    #expect(throws: FramingError(messageLength: length)) {
        try MessageDecoder.decodeMessage(from: &buffer)
    }
}

@Test func largestMessageLengthIsAccepted() throws {
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt32(ProtocolLimits.maximumMessageLength))
    #expect(try MessageDecoder.decodeMessage(from: &buffer) == nil, "waits for 16 MiB of body")
}

@Test func controlPayloadsUseTheFactsPageFieldNames() throws {
    let record = EndpointRecord(endpointID: 1, name: "svc_echo", mac: "02:53:59:00:00:01")
    #expect(String(buffer: ControlJSON.encode(record)) == #"{"endpoint_id":1,"mac":"02:53:59:00:00:01","name":"svc_echo"}"#)
    #expect(String(buffer: ControlJSON.encode(WelcomeReply())) == #"{"server":"switchyardd","version":1}"#)
    let subscribe = try ControlJSON.decode(SubscribeRequest.self, from: ByteBuffer(string: #"{"endpoint_id": 4, "promisc": true}"#))
    #expect(subscribe == SubscribeRequest(endpointID: 4, promisc: true))
    #expect(try ControlJSON.decode(SubscribeRequest.self, from: ByteBuffer()) == SubscribeRequest(endpointID: nil, promisc: false).withPromisc(nil))
}

@Test(arguments: [
    (#"{"name": "#, "payload is not valid JSON"),
    ("[1, 2]", "payload must be a JSON object"),
    (#"{"name": 5}"#, #""name" must be a string"#),
    ("{}", #"missing "name""#),
])
func badControlPayloadsGiveReadableErrors(payload: String, message: String) {
    #expect(throws: ControlPayloadError(message)) {
        try ControlJSON.decode(EndpointLookupRequest.self, from: ByteBuffer(string: payload))
    }
}

@Test func invalidUTF8IsRejected() {
    #expect(throws: ControlPayloadError("payload is not valid UTF-8 JSON")) {
        try ControlJSON.decode(EndpointLookupRequest.self, from: ByteBuffer(bytes: [0xFF, 0xFE, 0x7B, 0x7D]))
    }
}

extension SubscribeRequest {
    func withPromisc(_ value: Bool?) -> SubscribeRequest {
        var copy = self
        copy.promisc = value
        return copy
    }
}

/// RULES_REQUEST typed: each operation goes out as v1's `op`, `rule` and `id`, and a request
/// that asks nothing a fabric does says why.
@Test func rulesRequestsAreTyped() throws {
    for operation in [RulesOperation.list, .add("to a drop"), .delete(3), .clear] {
        let request = RulesRequest(operation)
        let decoded = try ControlJSON.decode(RulesRequest.self, from: Message(.rulesRequest, json: request).payload)
        #expect(decoded.operation == .success(operation))
    }
    #expect(RulesRequest(.add("to a drop")) == RulesRequest(op: "add", rule: "to a drop"), "the wire is v1's")
    #expect(RulesRequest(op: "add").operation == .failure(.init(message: "add needs \"rule\"")))
    #expect(RulesRequest(op: "delete").operation == .failure(.init(message: "delete needs \"id\"")))
    #expect(RulesRequest(op: "flush").operation == .failure(.init(message: "unknown op \"flush\" (list, add, delete, clear)")))
}
